//! Integer functions (ARM's numbers are 64-bit integers) and `copyIndex`.

use serde_json::Value;

use super::{arity, int_arg, wrong_type};
use crate::error::{EvalError, msg};
use crate::eval::{Scope, eval};
use crate::expr::Expr;

fn binary(name: &str, args: &[Value], op: fn(i64, i64) -> Option<i64>) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(2))?;
    let (a, b) = (int_arg(name, args, 0)?, int_arg(name, args, 1)?);
    op(a, b).map(Value::from).ok_or_else(|| EvalError::eval(msg::overflow(name)))
}

pub(super) fn add(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    binary(name, args, i64::checked_add)
}

pub(super) fn sub(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    binary(name, args, i64::checked_sub)
}

pub(super) fn mul(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    binary(name, args, i64::checked_mul)
}

/// Integer division, truncating toward zero (.NET's `/`).
pub(super) fn div(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(2))?;
    if int_arg(name, args, 1)? == 0 {
        return Err(EvalError::eval(msg::division_by_zero(name)));
    }
    binary(name, args, i64::checked_div)
}

pub(super) fn modulo(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(2))?;
    if int_arg(name, args, 1)? == 0 {
        return Err(EvalError::eval(msg::division_by_zero(name)));
    }
    binary(name, args, i64::checked_rem)
}

/// The integers of `min`/`max`: the arguments, or the elements of a single array argument.
fn numbers(name: &str, args: &[Value]) -> Result<Vec<i64>, EvalError> {
    arity(name, args, 1, None)?;
    let items: &[Value] = match args {
        [Value::Array(a)] => a,
        _ => args,
    };
    if items.is_empty() {
        return Err(EvalError::eval(msg::empty_collection(name)));
    }
    items.iter().enumerate().map(|(i, v)| v.as_i64().ok_or_else(|| wrong_type(name, i, "Integer", v))).collect()
}

pub(super) fn min(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    Ok(Value::from(numbers(name, args)?.into_iter().min().unwrap_or_default()))
}

pub(super) fn max(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    Ok(Value::from(numbers(name, args)?.into_iter().max().unwrap_or_default()))
}

/// `range(start, count)`: Azure allows a count up to 10,000 and an end below 2^31.
pub(super) fn range(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(2))?;
    let (start, count) = (int_arg(name, args, 0)?, int_arg(name, args, 1)?);
    if !(0..=10_000).contains(&count) || start.checked_add(count).is_none_or(|end| end > i64::from(i32::MAX)) {
        return Err(EvalError::eval(msg::range_invalid(start, count)));
    }
    Ok(Value::Array((start..start + count).map(Value::from).collect()))
}

/// `copyIndex()`, `copyIndex(offset)`, `copyIndex('loop')`, `copyIndex('loop', offset)`.
pub(super) fn copy_index(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    arity(name, args, 0, Some(2))?;
    let values = args.iter().map(|a| eval(a, sc)).collect::<Result<Vec<_>, _>>()?;
    let (loop_name, offset) = match values.as_slice() {
        [] => (None, 0),
        [Value::String(n)] => (Some(n.as_str()), 0),
        [Value::Number(_)] => (None, int_arg(name, &values, 0)?),
        [Value::String(n), _] => (Some(n.as_str()), int_arg(name, &values, 1)?),
        [other, ..] => return Err(wrong_type(name, 0, "String, Integer", other)),
    };
    let i = sc.copy_index(loop_name)?;
    i.checked_add(offset).map(Value::from).ok_or_else(|| EvalError::eval(msg::overflow(name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arithmetic_is_integer_and_checked() {
        assert_eq!(div("div", &[json!(7), json!(2)]).unwrap(), json!(3));
        assert_eq!(div("div", &[json!(-7), json!(2)]).unwrap(), json!(-3));
        assert_eq!(modulo("mod", &[json!(7), json!(3)]).unwrap(), json!(1));
        assert!(div("div", &[json!(1), json!(0)]).is_err());
        assert!(add("add", &[json!(i64::MAX), json!(1)]).is_err());
    }

    #[test]
    fn min_max_take_arguments_or_one_array() {
        assert_eq!(min("min", &[json!([5, 3, 9])]).unwrap(), json!(3));
        assert_eq!(max("max", &[json!(1), json!(2), json!(3)]).unwrap(), json!(3));
    }

    #[test]
    fn range_is_bounded_like_azure() {
        assert_eq!(range("range", &[json!(0), json!(3)]).unwrap(), json!([0, 1, 2]));
        assert!(range("range", &[json!(0), json!(10_001)]).is_err());
        assert!(range("range", &[json!(0), json!(-1)]).is_err());
    }
}
