//! Conversions: `bool`, `int`, `float`, `string`, `json`, base64, data URIs and URIs.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::{arity, limited, str_arg, wrong_type};
use crate::error::{EvalError, msg};
use crate::value::to_text;

pub(super) fn bool_(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    match &args[0] {
        Value::Bool(b) => Ok(Value::Bool(*b)),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
        Value::Number(n) if n.as_i64().is_some() => Ok(Value::Bool(n.as_i64() != Some(0))),
        _ => Err(EvalError::eval(msg::bool_conversion())),
    }
}

pub(super) fn int(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    match &args[0] {
        Value::Number(n) => match n.as_i64() {
            Some(i) => Ok(Value::from(i)),
            None => Ok(Value::from(n.as_f64().unwrap_or_default().trunc() as i64)),
        },
        Value::String(s) => {
            s.trim().parse::<i64>().map(Value::from).map_err(|_| EvalError::eval(msg::int_conversion(s)))
        }
        other => Err(EvalError::eval(msg::int_conversion(&to_text(other)))),
    }
}

pub(super) fn float(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    let f = match &args[0] {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    f.and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| wrong_type(name, 0, "String, Integer", &args[0]))
}

pub(super) fn string(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    Ok(Value::String(to_text(&args[0])))
}

pub(super) fn json(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    let s = str_arg(name, args, 0)?;
    parse_json(name, s)
}

fn parse_json(name: &str, s: &str) -> Result<Value, EvalError> {
    crate::json::parse(s).map(|n| n.to_value()).map_err(|e| EvalError::eval(msg::json_invalid(name, &e.message)))
}

pub(super) fn base64(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    Ok(Value::String(STANDARD.encode(str_arg(name, args, 0)?)))
}

fn decode(name: &str, args: &[Value]) -> Result<String, EvalError> {
    arity(name, args, 1, Some(1))?;
    let bytes = STANDARD.decode(str_arg(name, args, 0)?).map_err(|_| EvalError::eval(msg::base64_invalid(name)))?;
    String::from_utf8(bytes).map_err(|_| EvalError::eval(msg::base64_invalid(name)))
}

pub(super) fn base64_to_string(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    Ok(Value::String(decode(name, args)?))
}

pub(super) fn base64_to_json(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    let text = decode(name, args)?;
    parse_json(name, &text)
}

/// `data:text/plain;charset=utf8;base64,…`, as Microsoft documents `dataUri('Hello')`.
pub(super) fn data_uri(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    Ok(Value::String(format!("data:text/plain;charset=utf8;base64,{}", STANDARD.encode(str_arg(name, args, 0)?))))
}

pub(super) fn data_uri_to_string(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    let s = str_arg(name, args, 0)?;
    let bad = || EvalError::eval(msg::data_uri_invalid(s));
    let rest = s.strip_prefix("data:").ok_or_else(bad)?;
    let (meta, data) = rest.split_once(',').ok_or_else(bad)?;
    if meta.split(';').any(|p| p.eq_ignore_ascii_case("base64")) {
        let bytes = STANDARD.decode(data).map_err(|_| bad())?;
        String::from_utf8(bytes).map(Value::String).map_err(|_| bad())
    } else {
        percent_decode(data).map(Value::String).ok_or_else(bad)
    }
}

/// `uri(base, relative)`: RFC 3986 reference resolution, as .NET's `new Uri(baseUri, relative)`.
pub(super) fn uri(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(2))?;
    let base = str_arg(name, args, 0)?;
    let rel = str_arg(name, args, 1)?;
    let Some((scheme, after)) = base.split_once("://") else { return Err(EvalError::eval(msg::uri_invalid(base))) };
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
        return Err(EvalError::eval(msg::uri_invalid(base)));
    }
    if rel.contains("://") {
        return limited(rel.to_string());
    }
    let (authority, path) = match after.find('/') {
        Some(i) => (&after[..i], &after[i..]),
        None => (after, "/"),
    };
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let merged = if rel.starts_with("//") {
        return limited(format!("{scheme}:{rel}"));
    } else if rel.starts_with('/') {
        rel.to_string()
    } else {
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!("{dir}{rel}")
    };
    limited(format!("{scheme}://{authority}{}", remove_dot_segments(&merged)))
}

fn remove_dot_segments(path: &str) -> String {
    let (p, tail) = match path.find(['?', '#']) {
        Some(i) => (&path[..i], &path[i..]),
        None => (path, ""),
    };
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = p.split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." => {
                if i == segments.len() - 1 {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if i == segments.len() - 1 {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    format!("{}{tail}", out.join("/"))
}

/// .NET's `Uri.EscapeDataString`: everything but RFC 3986's unreserved characters escaped.
pub(super) fn uri_component(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    let s = str_arg(name, args, 0)?;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    limited(out)
}

pub(super) fn uri_component_to_string(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    let s = str_arg(name, args, 0)?;
    percent_decode(s).map(Value::String).ok_or_else(|| wrong_type(name, 0, "URI component", &args[0]))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The values of Azure/bicep's evaluated `Expressions` parameters baseline.
    #[test]
    fn conversions_match_azures_baseline() {
        let b = base64("base64", &[json!("abc")]).unwrap();
        assert_eq!(base64_to_string("base64ToString", &[b]).unwrap(), json!("abc"));
        let j = base64("base64", &[json!(r#"{"hi": "there"}"#)]).unwrap();
        assert_eq!(base64_to_json("base64ToJson", &[j]).unwrap()["hi"], json!("there"));
        let d = data_uri("dataUri", &[json!("abc")]).unwrap();
        assert_eq!(data_uri_to_string("dataUriToString", &[d]).unwrap(), json!("abc"));
        assert_eq!(
            uri("uri", &[json!("https://github.com"), json!("Azure/bicep")]).unwrap(),
            json!("https://github.com/Azure/bicep")
        );
        assert_eq!(
            uri_component("uriComponent", &[json!("UB*8h 0+=_)9h9n")]).unwrap(),
            json!("UB%2A8h%200%2B%3D_%299h9n")
        );
        assert_eq!(uri_component_to_string("uriComponentToString", &[json!("%20%25%20")]).unwrap(), json!(" % "));
        assert_eq!(int("int", &[json!(123)]).unwrap(), json!(123));
        assert_eq!(string("string", &[json!("asdf")]).unwrap(), json!("asdf"));
        assert_eq!(bool_("bool", &[json!(true)]).unwrap(), json!(true));
    }

    /// Microsoft's `uri` examples: the base's last segment is replaced unless it ends in `/`.
    #[test]
    fn uri_resolves_like_dotnet() {
        assert_eq!(
            uri("uri", &[json!("http://contoso.org/firstpath"), json!("myscript.sh")]).unwrap(),
            json!("http://contoso.org/myscript.sh")
        );
        assert_eq!(
            uri("uri", &[json!("http://contoso.org/firstpath/"), json!("myscript.sh")]).unwrap(),
            json!("http://contoso.org/firstpath/myscript.sh")
        );
        let EvalError::Failed(f) = uri("uri", &[json!("github.com"), json!("Azure/bicep")]).unwrap_err() else {
            panic!()
        };
        assert!(f.message.starts_with("The template language function 'uri' expects its first argument to be a uri string. The provided value is 'github.com'."));
    }

    #[test]
    fn failed_conversions_use_azures_words() {
        let EvalError::Failed(f) = int("int", &[json!("asdf")]).unwrap_err() else { panic!() };
        assert_eq!(
            f.message,
            "The template language function 'int' cannot convert provided value 'asdf' to integer value. Please see https://aka.ms/arm-function-int for usage details."
        );
        let EvalError::Failed(f) = bool_("bool", &[json!("sdf")]).unwrap_err() else { panic!() };
        assert_eq!(
            f.message,
            "The template language function 'bool' was invoked with a parameter that is not valid. The value cannot be converted to the target type."
        );
        let EvalError::Failed(f) = base64_to_string("base64ToString", &[json!("YWJj@")]).unwrap_err() else { panic!() };
        assert!(f.message.ends_with("The value cannot be decoded from base64 representation."));
    }

    #[test]
    fn json_of_null_is_null() {
        assert_eq!(json("json", &[json!("null")]).unwrap(), Value::Null);
        assert_eq!(bool_("bool", &[json!("False")]).unwrap(), json!(false));
    }
}
