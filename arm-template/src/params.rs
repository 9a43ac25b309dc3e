//! Parameter values: unknown names, types (`string`, `securestring`, `int`, `bool`,
//! `object`, `secureObject`, `array`, and languageVersion 2.0 user-defined types through
//! `$ref`, `properties`, `items`, `additionalProperties`, `nullable`), `allowedValues`,
//! `minValue`/`maxValue` and `minLength`/`maxLength`, each refused in Azure's words.
//!
//! Values are checked as given: Azure does not convert `"5"` into an integer (the Azure CLI
//! does, before sending, from the template's types).

use serde_json::{Map, Value};

use crate::error::{TemplateError, wrap};
use crate::json::{Node, NodeKind};
use crate::template::{ParamDecl, Template};
use crate::value::{deep_equals, get_ci, to_text, type_name};

/// Refuses supplied parameters the template does not declare.
pub(crate) fn check_unknown(t: &Template, supplied: &Map<String, Value>) -> Result<(), TemplateError> {
    let unknown: Vec<String> =
        supplied.keys().filter(|k| !t.parameters.iter().any(|p| p.name.eq_ignore_ascii_case(k))).cloned().collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let supported: Vec<String> = t.parameters.iter().map(|p| p.name.clone()).collect();
    Err(wrap::unknown_parameters(&unknown, &supported))
}

/// Reads a parameters object (`{"x": {"value": …}}`, or a whole parameters file with
/// `$schema` and `parameters`) into plain values. Key Vault references are refused.
pub fn read_parameters(v: &Value) -> Result<Map<String, Value>, TemplateError> {
    let map = match v {
        Value::Null => return Ok(Map::new()),
        Value::Object(m) => match m.get("parameters") {
            Some(Value::Object(inner)) if m.contains_key("$schema") || m.contains_key("contentVersion") => inner,
            _ => m,
        },
        other => {
            return Err(wrap::invalid_request(format!(
                "The deployment parameters must be an object; they are of type '{}'.",
                type_name(other)
            )));
        }
    };
    let mut out = Map::new();
    for (k, entry) in map {
        match entry {
            Value::Object(e) if e.contains_key("reference") && !e.contains_key("value") => {
                return Err(wrap::key_vault_reference(k));
            }
            Value::Object(e) if e.contains_key("value") => {
                out.insert(k.clone(), e["value"].clone());
            }
            _ => {
                return Err(wrap::invalid_request(format!(
                    "The value of deployment parameter '{k}' is null or not an object with a 'value'. Please specify the value or use a parameter reference. See https://aka.ms/arm-create-parameter-file for details."
                )));
            }
        }
    }
    Ok(out)
}

/// Whether a parameter may be left out and be null (languageVersion 2.0 `nullable`).
pub(crate) fn is_nullable(t: &Template, decl: &Node) -> bool {
    let spec = resolve(t, decl);
    flag(decl, "nullable") || flag(spec, "nullable")
}

fn flag(n: &Node, key: &str) -> bool {
    n.get(key).is_some_and(|v| matches!(v.kind, NodeKind::Bool(true)))
}

/// Follows `$ref: "#/definitions/name"` to the definition.
fn resolve<'t>(t: &'t Template, spec: &'t Node) -> &'t Node {
    let mut cur = spec;
    for _ in 0..32 {
        let Some(r) = cur.get("$ref").and_then(Node::as_str) else { return cur };
        let name = r.trim_start_matches("#/definitions/");
        match t.definitions.iter().find(|(n, _)| n == name) {
            Some((_, def)) => cur = def,
            None => return cur,
        }
    }
    cur
}

/// Azure's name for a declared type in "Expected '…'".
fn expected_name(ty: &str) -> &'static str {
    match ty.to_ascii_lowercase().as_str() {
        "string" | "securestring" => "String, Uri",
        "int" => "Integer",
        "bool" => "Boolean",
        "object" | "secureobject" => "Object",
        "array" => "Array",
        _ => "Any",
    }
}

fn type_ok(ty: &str, v: &Value) -> bool {
    match ty.to_ascii_lowercase().as_str() {
        "string" | "securestring" => v.is_string(),
        "int" => v.as_i64().is_some(),
        "bool" => v.is_boolean(),
        "object" | "secureobject" => v.is_object(),
        "array" => v.is_array(),
        _ => true,
    }
}

/// Checks one parameter's value against its declaration.
pub(crate) fn check(t: &Template, p: &ParamDecl, value: &Value) -> Result<(), TemplateError> {
    let spec = resolve(t, &p.decl);
    if value.is_null() && (flag(&p.decl, "nullable") || flag(spec, "nullable")) {
        return Ok(());
    }
    let ty = p.decl.get("type").or_else(|| spec.get("type")).and_then(Node::as_str);
    if let Some(ty) = ty
        && !type_ok(ty, value)
    {
        return Err(wrap::parameter_type(expected_name(ty), type_name(value), p.decl.pos, &p.path));
    }
    let shown = shown(value);
    let constraint = |why: String| wrap::parameter_constraint(&p.name, &shown, &why, p.decl.pos, &p.path);
    for node in [&p.decl, spec] {
        if let Some(why) = constraints(node, value) {
            if let Some(allowed) = why.strip_prefix(ALLOWED) {
                return Err(wrap::parameter_not_allowed(&p.name, &shown, allowed, p.decl.pos, &p.path));
            }
            return Err(constraint(why));
        }
    }
    if let Some(why) = structure(t, spec, value, "") {
        return Err(constraint(why));
    }
    Ok(())
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => to_text(other),
    }
}

const ALLOWED: &str = "allowed:";

/// The constraints of one spec node; `Some(reason)` when broken (an `allowed:` reason names
/// the allowed values).
fn constraints(spec: &Node, v: &Value) -> Option<String> {
    if let Some(allowed) = spec.get("allowedValues").and_then(Node::elements) {
        let allowed: Vec<Value> = allowed.iter().map(Node::to_value).collect();
        let ok = match v {
            // For arrays Azure checks each element against the allowed values.
            Value::Array(items) if !allowed.iter().any(Value::is_array) => {
                items.iter().all(|i| allowed.iter().any(|a| deep_equals(a, i)))
            }
            _ => allowed.iter().any(|a| deep_equals(a, v)),
        };
        if !ok {
            let list: Vec<String> = allowed.iter().map(shown).collect();
            return Some(format!("{ALLOWED}{}", list.join(",")));
        }
    }
    let num = |key: &str| spec.get(key).and_then(|n| n.to_value().as_i64());
    if let Some(i) = v.as_i64() {
        if let Some(min) = num("minValue")
            && i < min
        {
            return Some(format!("The parameter value is less than the minimum value '{min}'."));
        }
        if let Some(max) = num("maxValue")
            && i > max
        {
            return Some(format!("The parameter value is greater than the maximum value '{max}'."));
        }
    }
    let len = match v {
        Value::String(s) => Some(s.chars().count() as i64),
        Value::Array(a) => Some(a.len() as i64),
        _ => None,
    };
    if let Some(len) = len {
        if let Some(min) = num("minLength")
            && len < min
        {
            return Some(format!("The length of the parameter value is less than the minimum length '{min}'."));
        }
        if let Some(max) = num("maxLength")
            && len > max
        {
            return Some(format!("The length of the parameter value is greater than the maximum length '{max}'."));
        }
    }
    None
}

/// Checks the inside of a value against a user-defined type: `properties` of objects (each
/// required unless `nullable`), `additionalProperties`, `items` of arrays. `at` is the path
/// inside the value, for the message.
fn structure(t: &Template, spec: &Node, v: &Value, at: &str) -> Option<String> {
    let spec = resolve(t, spec);
    if v.is_null() {
        return None;
    }
    if let Some(ty) = spec.get("type").and_then(Node::as_str)
        && !type_ok(ty, v)
    {
        let place = if at.is_empty() { String::new() } else { format!(" at '{at}'") };
        return Some(format!(
            "The value{place} is of type '{}' but the type '{}' is expected.",
            type_name(v),
            expected_name(ty)
        ));
    }
    if let Some(why) = constraints(spec, v) {
        let place = if at.is_empty() { String::new() } else { format!(" at '{at}'") };
        let why = why
            .strip_prefix(ALLOWED)
            .map_or(why.clone(), |list| format!("The value is not part of the allowed value(s): '{list}'."));
        return Some(format!("{why}{}", if place.is_empty() { String::new() } else { format!(" ({})", place.trim()) }));
    }
    match v {
        Value::Object(map) => {
            if let Some(props) = spec.get("properties").and_then(Node::members) {
                for m in props {
                    let sub = if at.is_empty() { m.key.clone() } else { format!("{at}.{}", m.key) };
                    match get_ci(map, &m.key) {
                        None | Some(Value::Null) => {
                            let inner = resolve(t, &m.value);
                            if !flag(&m.value, "nullable") && !flag(inner, "nullable") {
                                return Some(format!("The property '{sub}' is required but no value was given."));
                            }
                        }
                        Some(pv) => {
                            if let Some(why) = structure(t, &m.value, pv, &sub) {
                                return Some(why);
                            }
                        }
                    }
                }
                match spec.get("additionalProperties") {
                    Some(Node { kind: NodeKind::Bool(false), .. }) => {
                        if let Some(extra) = map.keys().find(|k| !props.iter().any(|m| m.key.eq_ignore_ascii_case(k))) {
                            return Some(format!("The property '{extra}' is not allowed by the parameter's type."));
                        }
                    }
                    Some(add @ Node { kind: NodeKind::Object(_), .. }) => {
                        for (k, pv) in map {
                            if !props.iter().any(|m| m.key.eq_ignore_ascii_case(k))
                                && let Some(why) = structure(t, add, pv, k)
                            {
                                return Some(why);
                            }
                        }
                    }
                    _ => {}
                }
            }
            None
        }
        Value::Array(items) => {
            let item_spec = spec.get("items")?;
            item_spec.members()?;
            items.iter().enumerate().find_map(|(i, item)| structure(t, item_spec, item, &format!("{at}[{i}]")))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parameter_files_and_bare_objects_both_read() {
        let file = json!({"$schema": "x", "contentVersion": "1.0.0.0", "parameters": {"a": {"value": 1}}});
        assert_eq!(read_parameters(&file).unwrap()["a"], json!(1));
        assert_eq!(read_parameters(&json!({"a": {"value": "x"}})).unwrap()["a"], json!("x"));
        let kv = json!({"a": {"reference": {"keyVault": {"id": "/x"}, "secretName": "s"}}});
        assert_eq!(read_parameters(&kv).unwrap_err().kind, crate::ErrorKind::KeyVaultReference);
    }
}
