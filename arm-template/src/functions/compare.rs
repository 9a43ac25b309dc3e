//! Comparison and logical functions. `if`, `and`, `or` and `coalesce` evaluate their
//! arguments only as far as needed: Azure documents that `if` evaluates only the branch taken
//! (so a branch may be invalid when not taken); `and`/`or` stop at the first deciding value
//! and `coalesce` at the first non-null one, which keeps the same guard pattern working.

use std::cmp::Ordering;

use serde_json::Value;

use super::{arity, bool_arg};
use crate::error::{EvalError, msg};
use crate::eval::{Scope, eval};
use crate::expr::Expr;
use crate::value::{deep_equals, type_name};

pub(super) fn equals(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(2))?;
    Ok(Value::Bool(deep_equals(&args[0], &args[1])))
}

fn order(name: &str, args: &[Value]) -> Result<Ordering, EvalError> {
    arity(name, args, 2, Some(2))?;
    match (&args[0], &args[1]) {
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => Ok(x.cmp(&y)),
            _ => Ok(a.as_f64().partial_cmp(&b.as_f64()).unwrap_or(Ordering::Equal)),
        },
        (Value::String(a), Value::String(b)) => Ok(a.cmp(b)),
        (a, b) if type_name(a) != type_name(b) => {
            Err(EvalError::eval(msg::matching_types(name, type_name(a), type_name(b))))
        }
        (a, _) => Err(super::wrong_type(name, 0, "Integer, String", a)),
    }
}

pub(super) fn less(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    Ok(Value::Bool(order(name, args)? == Ordering::Less))
}

pub(super) fn less_or_equals(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    Ok(Value::Bool(order(name, args)? != Ordering::Greater))
}

pub(super) fn greater(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    Ok(Value::Bool(order(name, args)? == Ordering::Greater))
}

pub(super) fn greater_or_equals(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    Ok(Value::Bool(order(name, args)? != Ordering::Less))
}

pub(super) fn not(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    Ok(Value::Bool(!bool_arg(name, args, 0)?))
}

pub(super) fn true_(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 0, Some(0))?;
    Ok(Value::Bool(true))
}

pub(super) fn false_(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 0, Some(0))?;
    Ok(Value::Bool(false))
}

pub(super) fn null(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 0, Some(0))?;
    Ok(Value::Null)
}

fn logical(name: &str, args: &[Expr], sc: Scope<'_>, stop_at: bool) -> Result<Value, EvalError> {
    arity(name, args, 2, None)?;
    for (i, a) in args.iter().enumerate() {
        let v = eval(a, sc)?;
        let Value::Bool(b) = v else { return Err(super::wrong_type(name, i, "Boolean", &v)) };
        if b == stop_at {
            return Ok(Value::Bool(stop_at));
        }
    }
    Ok(Value::Bool(!stop_at))
}

pub(super) fn and(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    logical(name, args, sc, false)
}

pub(super) fn or(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    logical(name, args, sc, true)
}

pub(super) fn if_(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    arity(name, args, 3, Some(3))?;
    let c = eval(&args[0], sc)?;
    let Value::Bool(b) = c else { return Err(super::wrong_type(name, 0, "Boolean", &c)) };
    eval(if b { &args[1] } else { &args[2] }, sc)
}

pub(super) fn coalesce(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    arity(name, args, 1, None)?;
    for a in args {
        let v = eval(a, sc)?;
        if !v.is_null() {
            return Ok(v);
        }
    }
    Ok(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn less_names_mismatched_types_as_azure_does() {
        let EvalError::Failed(f) = less("less", &[json!(1), json!("foo")]).unwrap_err() else { panic!() };
        assert_eq!(
            f.message,
            "The template language function 'less' expects two parameters of matching types. The function was invoked with values of type 'Integer' and 'String' that do not match."
        );
    }

    #[test]
    fn comparisons_order_numbers_and_strings() {
        assert_eq!(less("less", &[json!(1), json!(2)]).unwrap(), json!(true));
        assert_eq!(greater_or_equals("greaterOrEquals", &[json!("b"), json!("a")]).unwrap(), json!(true));
        assert_eq!(less_or_equals("lessOrEquals", &[json!(2), json!(2)]).unwrap(), json!(true));
        assert_eq!(equals("equals", &[json!([1, {"a": 1}]), json!([1, {"A": 1}])]).unwrap(), json!(true));
    }
}
