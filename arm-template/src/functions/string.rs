//! String functions. Microsoft documents `startsWith`, `endsWith` and `indexOf` as ignoring
//! case; `contains` and `replace` do not.

use serde_json::Value;

use super::{arity, int_arg, limited, str_arg, wrong_type};
use crate::error::{EvalError, msg};

pub(super) fn format(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, None)?;
    let fmt = str_arg(name, args, 0)?;
    let s = crate::dotnet::composite_format(fmt, &args[1..])
        .map_err(|reason| EvalError::eval(msg::format_invalid(&reason)))?;
    limited(s)
}

fn two_strings<'v>(name: &str, args: &'v [Value]) -> Result<(&'v str, &'v str), EvalError> {
    arity(name, args, 2, Some(2))?;
    Ok((str_arg(name, args, 0)?, str_arg(name, args, 1)?))
}

pub(super) fn ends_with(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    let (s, suffix) = two_strings(name, args)?;
    Ok(Value::Bool(s.to_lowercase().ends_with(&suffix.to_lowercase())))
}

pub(super) fn starts_with(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    let (s, prefix) = two_strings(name, args)?;
    Ok(Value::Bool(s.to_lowercase().starts_with(&prefix.to_lowercase())))
}

/// `padLeft(value, totalLength, char = ' ')`; the value may be an integer.
pub(super) fn pad_left(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(3))?;
    let value = match &args[0] {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_i64() => n.to_string(),
        other => return Err(wrong_type(name, 0, "String, Integer", other)),
    };
    let total = int_arg(name, args, 1)?;
    let pad = match args.get(2) {
        None => ' ',
        Some(Value::String(p)) if p.chars().count() == 1 => p.chars().next().unwrap_or(' '),
        Some(other) => return Err(wrong_type(name, 2, "String of one character", other)),
    };
    let len = value.chars().count();
    let total = usize::try_from(total).unwrap_or(0);
    if total > super::MAX_STRING {
        return Err(EvalError::eval(msg::too_long(super::MAX_STRING, total)));
    }
    let mut out: String = std::iter::repeat_n(pad, total.saturating_sub(len)).collect();
    out.push_str(&value);
    limited(out)
}

pub(super) fn replace(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 3, Some(3))?;
    let s = str_arg(name, args, 0)?;
    let old = str_arg(name, args, 1)?;
    let new = str_arg(name, args, 2)?;
    if old.is_empty() {
        return Err(wrong_type(name, 1, "non-empty String", &args[1]));
    }
    limited(s.replace(old, new))
}

/// `split(text, delimiter | [delimiters])`; empty parts are kept.
pub(super) fn split(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(2))?;
    let s = str_arg(name, args, 0)?;
    let delims: Vec<String> = match &args[1] {
        Value::String(d) => vec![d.clone()],
        Value::Array(a) => a
            .iter()
            .map(|d| match d {
                Value::String(d) => Ok(d.clone()),
                other => Err(wrong_type(name, 1, "String", other)),
            })
            .collect::<Result<_, _>>()?,
        other => return Err(wrong_type(name, 1, "String, Array", other)),
    };
    let delims: Vec<&str> = delims.iter().map(String::as_str).filter(|d| !d.is_empty()).collect();
    if delims.is_empty() {
        return Ok(Value::Array(vec![Value::String(s.to_string())]));
    }
    let mut parts = Vec::new();
    let mut rest = s;
    'outer: loop {
        let mut best: Option<(usize, usize)> = None;
        for d in &delims {
            if let Some(i) = rest.find(d)
                && best.is_none_or(|(bi, _)| i < bi)
            {
                best = Some((i, d.len()));
            }
        }
        match best {
            Some((i, l)) => {
                parts.push(Value::String(rest[..i].to_string()));
                rest = &rest[i + l..];
            }
            None => {
                parts.push(Value::String(rest.to_string()));
                break 'outer;
            }
        }
    }
    Ok(Value::Array(parts))
}

pub(super) fn substring(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(3))?;
    let s = str_arg(name, args, 0)?;
    let start = int_arg(name, args, 1)?;
    let chars: Vec<char> = s.chars().collect();
    let len = chars.len() as i64;
    let length = match args.get(2) {
        None | Some(Value::Null) => len.saturating_sub(start),
        Some(_) => int_arg(name, args, 2)?,
    };
    if start < 0 || length < 0 || start > len || start.checked_add(length).is_none_or(|end| end > len) {
        return Err(EvalError::eval(msg::substring_range(start, length, chars.len())));
    }
    Ok(Value::String(chars[start as usize..(start + length) as usize].iter().collect()))
}

pub(super) fn to_lower(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    Ok(Value::String(str_arg(name, args, 0)?.to_lowercase()))
}

pub(super) fn to_upper(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    Ok(Value::String(str_arg(name, args, 0)?.to_uppercase()))
}

pub(super) fn trim(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    Ok(Value::String(str_arg(name, args, 0)?.trim().to_string()))
}

/// The string arguments of `uniqueString`/`guid` (Azure accepts only strings).
fn string_args<'v>(name: &str, args: &'v [Value]) -> Result<Vec<&'v str>, EvalError> {
    arity(name, args, 1, None)?;
    args.iter()
        .map(|a| match a {
            Value::String(s) => Ok(s.as_str()),
            _ => Err(EvalError::eval(msg::string_literals(name))),
        })
        .collect()
}

pub(super) fn unique_string(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    let parts = string_args(name, args)?;
    let total: usize = parts.iter().map(|p| p.len() + 1).sum();
    if total > super::MAX_STRING {
        return Err(EvalError::eval(msg::too_long(super::MAX_STRING, total)));
    }
    Ok(Value::String(crate::hash::unique_string(&parts)))
}

pub(super) fn guid(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    let parts = string_args(name, args)?;
    Ok(Value::String(crate::hash::guid(&parts)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The values of Azure/bicep's evaluated `Expressions` parameters baseline.
    #[test]
    fn string_functions_match_azures_baseline() {
        assert_eq!(format("format", &[json!("->{0}<-"), json!(123)]).unwrap(), json!("->123<-"));
        assert_eq!(pad_left("padLeft", &[json!(13), json!(5)]).unwrap(), json!("   13"));
        assert_eq!(replace("replace", &[json!("abc"), json!("b"), json!("/")]).unwrap(), json!("a/c"));
        assert_eq!(split("split", &[json!("a/b/c"), json!("/")]).unwrap(), json!(["a", "b", "c"]));
        assert_eq!(substring("substring", &[json!("asdfasf"), json!(3)]).unwrap(), json!("fasf"));
        assert_eq!(to_lower("toLower", &[json!("AiKInIniIN")]).unwrap(), json!("aikininiin"));
        assert_eq!(to_upper("toUpper", &[json!("AiKInIniIN")]).unwrap(), json!("AIKININIIN"));
        assert_eq!(trim("trim", &[json!("  adf asdf  ")]).unwrap(), json!("adf asdf"));
        assert_eq!(ends_with("endsWith", &[json!("foo"), json!("o")]).unwrap(), json!(true));
        assert_eq!(starts_with("startsWith", &[json!("abc"), json!("a")]).unwrap(), json!(true));
        assert_eq!(
            unique_string("uniqueString", &[json!("asd"), json!("asdf"), json!("asdf")]).unwrap(),
            json!("iizpqit7ih3cc")
        );
        assert_eq!(guid("guid", &[json!("asdf")]).unwrap(), json!("228d27cc-6fdb-5934-b7ac-1efccebade04"));
    }

    /// Azure-Samples/chat-with-your-data-solution-accelerator#89 quotes this message.
    #[test]
    fn substring_out_of_range_is_worded_as_in_azure() {
        let EvalError::Failed(f) = substring("substring", &[json!("a".repeat(22)), json!(0), json!(24)]).unwrap_err()
        else {
            panic!()
        };
        assert_eq!(
            f.message,
            "Unable to evaluate the template language function 'substring'. The index and length parameters must refer to a location within the string. The index parameter: '0', the length parameter: '24', the length of the string parameter: '22'. Please see https://aka.ms/arm-function-substring for usage details."
        );
    }

    #[test]
    fn split_accepts_several_delimiters_and_keeps_empty_parts() {
        assert_eq!(split("split", &[json!("a,b;;c"), json!([",", ";"])]).unwrap(), json!(["a", "b", "", "c"]));
        assert_eq!(
            split("split", &[json!("/subscriptions/s/resourceGroups/rg"), json!("/")]).unwrap(),
            json!(["", "subscriptions", "s", "resourceGroups", "rg"])
        );
    }

    #[test]
    fn starts_and_ends_with_ignore_case() {
        assert_eq!(starts_with("startsWith", &[json!("ABC"), json!("ab")]).unwrap(), json!(true));
        assert_eq!(ends_with("endsWith", &[json!("ABC"), json!("bc")]).unwrap(), json!(true));
    }

    #[test]
    fn unique_string_refuses_non_strings() {
        assert!(unique_string("uniqueString", &[json!(1)]).is_err());
    }
}
