//! Array and object functions (and the ones shared with strings: `concat`, `contains`,
//! `empty`, `first`, `last`, `indexOf`, `length`, `skip`, `take`).

use serde_json::{Map, Value};

use super::{arity, int_arg, limited, str_arg, wrong_type};
use crate::error::{EvalError, msg};
use crate::value::{deep_equals, get_ci, insert_ci, is_empty, key_ci, to_text};

pub(super) fn array(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    Ok(match &args[0] {
        Value::Array(a) => Value::Array(a.clone()),
        other => Value::Array(vec![other.clone()]),
    })
}

/// Arrays concatenate; anything else joins as text (null adds nothing).
pub(super) fn concat(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, None)?;
    if args.iter().all(|a| matches!(a, Value::Array(_) | Value::Null)) && args.iter().any(Value::is_array) {
        let mut out = Vec::new();
        for a in args {
            if let Value::Array(items) = a {
                out.extend(items.iter().cloned());
            }
        }
        return Ok(Value::Array(out));
    }
    let mut s = String::new();
    for (i, a) in args.iter().enumerate() {
        match a {
            Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => s.push_str(&to_text(a)),
            other => return Err(wrong_type(name, i, "String", other)),
        }
    }
    limited(s)
}

pub(super) fn contains(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(2))?;
    let found = match (&args[0], &args[1]) {
        (Value::String(s), item) => match item {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => s.contains(&to_text(item)),
            other => return Err(wrong_type(name, 1, "String", other)),
        },
        (Value::Array(a), item) => a.iter().any(|x| deep_equals(x, item)),
        (Value::Object(o), item) => match item {
            Value::String(_) | Value::Number(_) => key_ci(o, &to_text(item)).is_some(),
            other => return Err(wrong_type(name, 1, "String", other)),
        },
        (Value::Null, _) => false,
        (other, _) => return Err(wrong_type(name, 0, "Array, Object, String", other)),
    };
    Ok(Value::Bool(found))
}

pub(super) fn create_array(_name: &str, args: &[Value]) -> Result<Value, EvalError> {
    Ok(Value::Array(args.to_vec()))
}

pub(super) fn create_object(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    if !args.len().is_multiple_of(2) {
        return Err(EvalError::eval(msg::arity(name, "an even number of", args.len())));
    }
    let mut map = Map::new();
    for (i, pair) in args.chunks(2).enumerate() {
        let Value::String(k) = &pair[0] else { return Err(wrong_type(name, 2 * i, "String", &pair[0])) };
        insert_ci(&mut map, k, pair[1].clone());
    }
    Ok(Value::Object(map))
}

pub(super) fn empty(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    match &args[0] {
        Value::Number(_) | Value::Bool(_) => Err(wrong_type(name, 0, "Array, Object, String", &args[0])),
        v => Ok(Value::Bool(is_empty(v))),
    }
}

pub(super) fn first(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    Ok(match &args[0] {
        Value::String(s) => Value::String(s.chars().next().map(String::from).unwrap_or_default()),
        Value::Array(a) => a.first().cloned().unwrap_or(Value::Null),
        Value::Null => Value::Null,
        other => return Err(wrong_type(name, 0, "Array, String", other)),
    })
}

pub(super) fn last(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    Ok(match &args[0] {
        Value::String(s) => Value::String(s.chars().last().map(String::from).unwrap_or_default()),
        Value::Array(a) => a.last().cloned().unwrap_or(Value::Null),
        Value::Null => Value::Null,
        other => return Err(wrong_type(name, 0, "Array, String", other)),
    })
}

pub(super) fn flatten(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    let Value::Array(outer) = &args[0] else { return Err(wrong_type(name, 0, "Array", &args[0])) };
    let mut out = Vec::new();
    for item in outer {
        match item {
            Value::Array(inner) => out.extend(inner.iter().cloned()),
            other => return Err(wrong_type(name, 0, "Array of arrays", other)),
        }
    }
    Ok(Value::Array(out))
}

/// Position of a substring (ignoring case, as Microsoft documents `indexOf`) or of an array
/// element; -1 when absent.
fn find(name: &str, args: &[Value], from_end: bool) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(2))?;
    let pos: i64 = match (&args[0], &args[1]) {
        (Value::String(s), Value::String(needle)) => {
            let hay: Vec<char> = s.to_lowercase().chars().collect();
            let nee: Vec<char> = needle.to_lowercase().chars().collect();
            if nee.is_empty() {
                if from_end { hay.len().saturating_sub(1) as i64 } else { 0 }
            } else {
                let hits: Vec<usize> = (0..hay.len().saturating_sub(nee.len() - 1))
                    .filter(|&i| hay.len() >= nee.len() && hay[i..i + nee.len()] == nee[..])
                    .collect();
                let hit = if from_end { hits.last() } else { hits.first() };
                hit.map(|&i| i as i64).unwrap_or(-1)
            }
        }
        (Value::String(_), other) => return Err(wrong_type(name, 1, "String", other)),
        (Value::Array(a), item) => {
            let mut hits = a.iter().enumerate().filter(|(_, x)| deep_equals(x, item)).map(|(i, _)| i as i64);
            let hit = if from_end { hits.next_back() } else { hits.next() };
            hit.unwrap_or(-1)
        }
        (other, _) => return Err(wrong_type(name, 0, "Array, String", other)),
    };
    Ok(Value::from(pos))
}

pub(super) fn index_of(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    find(name, args, false)
}

pub(super) fn last_index_of(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    find(name, args, true)
}

/// Arrays: the elements of the first found in all the others; objects: the members equal in
/// all.
pub(super) fn intersection(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 2, None)?;
    match &args[0] {
        Value::Array(first) => {
            let mut out: Vec<Value> = Vec::new();
            for (i, other) in args.iter().enumerate().skip(1) {
                if !other.is_array() {
                    return Err(wrong_type(name, i, "Array", other));
                }
            }
            for x in first {
                let in_all =
                    args[1..].iter().all(|o| o.as_array().is_some_and(|a| a.iter().any(|y| deep_equals(x, y))));
                if in_all && !out.iter().any(|y| deep_equals(x, y)) {
                    out.push(x.clone());
                }
            }
            Ok(Value::Array(out))
        }
        Value::Object(first) => {
            for (i, other) in args.iter().enumerate().skip(1) {
                if !other.is_object() {
                    return Err(wrong_type(name, i, "Object", other));
                }
            }
            let mut out = Map::new();
            for (k, v) in first {
                let in_all = args[1..]
                    .iter()
                    .all(|o| o.as_object().and_then(|m| get_ci(m, k)).is_some_and(|w| deep_equals(v, w)));
                if in_all {
                    out.insert(k.clone(), v.clone());
                }
            }
            Ok(Value::Object(out))
        }
        other => Err(wrong_type(name, 0, "Array, Object", other)),
    }
}

/// Arrays: all elements once, in order of first appearance; objects: merged, later members
/// winning, nested objects merged recursively (Azure's documented deep merge), key order of
/// first appearance kept.
pub(super) fn union(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, None)?;
    let objects = args.iter().any(Value::is_object);
    if objects {
        let mut out = Map::new();
        for (i, a) in args.iter().enumerate() {
            match a {
                Value::Object(o) => merge_deep(&mut out, o),
                Value::Null => {}
                other => return Err(wrong_type(name, i, "Object", other)),
            }
        }
        return Ok(Value::Object(out));
    }
    let mut out: Vec<Value> = Vec::new();
    for (i, a) in args.iter().enumerate() {
        match a {
            Value::Array(items) => {
                for x in items {
                    if !out.iter().any(|y| deep_equals(x, y)) {
                        out.push(x.clone());
                    }
                }
            }
            Value::Null => {}
            other => return Err(wrong_type(name, i, "Array", other)),
        }
    }
    Ok(Value::Array(out))
}

fn merge_deep(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (k, v) in from {
        match (key_ci(into, k), v) {
            (Some(existing), Value::Object(src)) if into.get(&existing).is_some_and(Value::is_object) => {
                if let Some(Value::Object(dst)) = into.get_mut(&existing) {
                    merge_deep(dst, src);
                }
            }
            (Some(existing), _) => {
                into.insert(existing, v.clone());
            }
            (None, _) => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

/// `[{key, value}…]`, sorted by key (Azure's order: the Bicep baseline shows `bar` before
/// `foo` for `{foo, bar}`).
pub(super) fn items(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    let Value::Object(o) = &args[0] else { return Err(wrong_type(name, 0, "Object", &args[0])) };
    let mut keys: Vec<&String> = o.keys().collect();
    keys.sort_by(|a, b| a.to_lowercase().cmp(&b.to_lowercase()).then_with(|| a.cmp(b)));
    Ok(Value::Array(keys.into_iter().map(|k| serde_json::json!({"key": k, "value": o[k.as_str()]})).collect()))
}

pub(super) fn join(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(2))?;
    let Value::Array(a) = &args[0] else { return Err(wrong_type(name, 0, "Array", &args[0])) };
    let sep = str_arg(name, args, 1)?;
    let mut parts = Vec::with_capacity(a.len());
    for x in a {
        match x {
            Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => parts.push(to_text(x)),
            other => return Err(wrong_type(name, 0, "Array of strings", other)),
        }
    }
    limited(parts.join(sep))
}

pub(super) fn length(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    Ok(Value::from(match &args[0] {
        Value::String(s) => s.chars().count(),
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        other => return Err(wrong_type(name, 0, "Array, Object, String", other)),
    }))
}

pub(super) fn object_keys(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    let Value::Object(o) = &args[0] else { return Err(wrong_type(name, 0, "Object", &args[0])) };
    Ok(Value::Array(o.keys().cloned().map(Value::String).collect()))
}

pub(super) fn shallow_merge(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    let Value::Array(a) = &args[0] else { return Err(wrong_type(name, 0, "Array", &args[0])) };
    let mut out = Map::new();
    for x in a {
        match x {
            Value::Object(o) => {
                for (k, v) in o {
                    insert_ci(&mut out, k, v.clone());
                }
            }
            Value::Null => {}
            other => return Err(wrong_type(name, 0, "Array of objects", other)),
        }
    }
    Ok(Value::Object(out))
}

fn clamp_count(n: i64, len: usize) -> usize {
    usize::try_from(n.max(0)).unwrap_or(usize::MAX).min(len)
}

pub(super) fn skip(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(2))?;
    let n = int_arg(name, args, 1)?;
    Ok(match &args[0] {
        Value::String(s) => {
            let k = clamp_count(n, s.chars().count());
            Value::String(s.chars().skip(k).collect())
        }
        Value::Array(a) => Value::Array(a[clamp_count(n, a.len())..].to_vec()),
        other => return Err(wrong_type(name, 0, "Array, String", other)),
    })
}

pub(super) fn take(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(2))?;
    let n = int_arg(name, args, 1)?;
    Ok(match &args[0] {
        Value::String(s) => {
            let k = clamp_count(n, s.chars().count());
            Value::String(s.chars().take(k).collect())
        }
        Value::Array(a) => Value::Array(a[..clamp_count(n, a.len())].to_vec()),
        other => return Err(wrong_type(name, 0, "Array, String", other)),
    })
}

/// `tryGet(value, key1, key2…)`: null as soon as something is missing.
pub(super) fn try_get(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 2, None)?;
    let mut cur = args[0].clone();
    for (i, k) in args.iter().enumerate().skip(1) {
        cur = match (&cur, k) {
            (Value::Null, _) => return Ok(Value::Null),
            (Value::Object(o), Value::String(key)) => get_ci(o, key).cloned().unwrap_or(Value::Null),
            (Value::Array(a), Value::Number(n)) => {
                n.as_i64().and_then(|n| usize::try_from(n).ok()).and_then(|n| a.get(n)).cloned().unwrap_or(Value::Null)
            }
            (Value::Object(_) | Value::Array(_), other) => return Err(wrong_type(name, i, "String, Integer", other)),
            (other, _) => return Err(wrong_type(name, 0, "Array, Object", other)),
        };
    }
    Ok(cur)
}

pub(super) fn try_index_from_end(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(2))?;
    let Value::Array(a) = &args[0] else { return Err(wrong_type(name, 0, "Array", &args[0])) };
    let n = int_arg(name, args, 1)?;
    let len = a.len() as i64;
    if n < 1 || n > len {
        return Ok(Value::Null);
    }
    Ok(a[(len - n) as usize].clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn union_merges_nested_objects_and_deduplicates_arrays() {
        assert_eq!(
            union("union", &[json!({"a": {"x": 1, "y": 2}, "b": [1]}), json!({"a": {"y": 3}, "b": [2]})]).unwrap(),
            json!({"a": {"x": 1, "y": 3}, "b": [2]})
        );
        assert_eq!(union("union", &[json!([1, 2]), json!([2, 3])]).unwrap(), json!([1, 2, 3]));
    }

    #[test]
    fn items_are_sorted_by_key_as_in_azures_baseline() {
        assert_eq!(
            items("items", &[json!({"foo": "abc", "bar": 123})]).unwrap(),
            json!([{"key": "bar", "value": 123}, {"key": "foo", "value": "abc"}])
        );
    }

    #[test]
    fn index_of_ignores_case_and_finds_array_elements() {
        assert_eq!(index_of("indexOf", &[json!("abcDEF"), json!("cd")]).unwrap(), json!(2));
        assert_eq!(last_index_of("lastIndexOf", &[json!("abcba"), json!("b")]).unwrap(), json!(3));
        assert_eq!(index_of("indexOf", &[json!([1, 2, 3]), json!(4)]).unwrap(), json!(-1));
    }

    #[test]
    fn contains_is_case_sensitive_for_strings_but_not_for_keys() {
        assert_eq!(contains("contains", &[json!("OneTwoThree"), json!("e")]).unwrap(), json!(true));
        assert_eq!(contains("contains", &[json!("OneTwoThree"), json!("z")]).unwrap(), json!(false));
        assert_eq!(contains("contains", &[json!({"one": "a"}), json!("ONE")]).unwrap(), json!(true));
    }

    #[test]
    fn try_get_walks_keys_and_indexes_and_stops_at_null() {
        let v = json!({"a": [{"b": "x"}]});
        assert_eq!(try_get("tryGet", &[v.clone(), json!("a"), json!(0), json!("B")]).unwrap(), json!("x"));
        assert_eq!(try_get("tryGet", &[v, json!("missing"), json!("b")]).unwrap(), Value::Null);
        assert_eq!(try_get("tryGet", &[Value::Null, json!("a")]).unwrap(), Value::Null);
    }

    #[test]
    fn concat_joins_arrays_or_text() {
        assert_eq!(concat("concat", &[json!(["abc"]), json!(["def"])]).unwrap(), json!(["abc", "def"]));
        assert_eq!(concat("concat", &[json!("a"), json!(1), json!(true)]).unwrap(), json!("a1True"));
        assert!(concat("concat", &[json!("a"), json!({})]).is_err());
    }

    #[test]
    fn skip_and_take_clamp_counts() {
        assert_eq!(skip("skip", &[json!([1, 2, 3]), json!(1)]).unwrap(), json!([2, 3]));
        assert_eq!(take("take", &[json!([1, 2, 3]), json!(2)]).unwrap(), json!([1, 2]));
        assert_eq!(take("take", &[json!("abc"), json!(-1)]).unwrap(), json!(""));
        assert_eq!(skip("skip", &[json!("abc"), json!(9)]).unwrap(), json!(""));
    }

    #[test]
    fn type_errors_name_the_function_and_position() {
        let err = length("length", &[json!(1)]).unwrap_err();
        let EvalError::Failed(f) = err else { panic!() };
        assert!(f.message.contains("'length'") && f.message.contains("'Integer'"), "{}", f.message);
    }
}
