//! What ARM's expression values are, in terms of JSON values: Azure's type names, its
//! case-insensitive object lookups, and how values turn into text.

use serde_json::{Map, Value};

/// Azure's name for a value's type, as its messages print it (`String`, `Integer`…).
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        Value::Number(_) => "Float",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
    }
}

/// An object member, matched as ARM matches: exactly, then ignoring case.
pub(crate) fn get_ci<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// The key under which `key` is stored, ignoring case.
pub(crate) fn key_ci(map: &Map<String, Value>, key: &str) -> Option<String> {
    if map.contains_key(key) {
        return Some(key.to_string());
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()
}

/// Inserts replacing a member whose key differs only in case (ARM's objects are
/// case-insensitive dictionaries).
pub(crate) fn insert_ci(map: &mut Map<String, Value>, key: &str, value: Value) {
    match key_ci(map, key) {
        Some(existing) => {
            map.insert(existing, value);
        }
        None => {
            map.insert(key.to_string(), value);
        }
    }
}

/// The text of a value as `string()` and `concat()` give it: strings as they are, `True`/
/// `False` for booleans (.NET's spelling), compact JSON for arrays and objects, empty for
/// null.
pub(crate) fn to_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(_) | Value::Object(_) => v.to_string(),
    }
}

/// Deep equality as `equals()` and `contains()` see it: object keys compared ignoring case,
/// strings exactly, an integer equal to a float of the same value.
pub(crate) fn deep_equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| deep_equals(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| get_ci(y, k).is_some_and(|w| deep_equals(v, w)))
        }
        _ => a == b,
    }
}

/// Whether a value counts as empty for `empty()` (and for a nullable parameter left out).
pub(crate) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_of_values_uses_dotnet_spellings() {
        assert_eq!(to_text(&json!(true)), "True");
        assert_eq!(to_text(&json!({"a": [1, "b"]})), r#"{"a":[1,"b"]}"#);
        assert_eq!(to_text(&Value::Null), "");
    }

    #[test]
    fn equality_ignores_key_case_but_not_string_case() {
        assert!(deep_equals(&json!({"Name": "x"}), &json!({"name": "x"})));
        assert!(!deep_equals(&json!("A"), &json!("a")));
        assert!(deep_equals(&json!(1), &json!(1.0)));
    }
}
