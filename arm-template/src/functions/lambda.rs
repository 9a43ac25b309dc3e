//! Lambda functions: `filter`, `map`, `reduce`, `sort`, `toObject`, `groupBy`, `mapValues`
//! take `lambda('x', body)` arguments whose body sees `lambdaVariables('x')`. A lambda is not
//! a value: anywhere else it is an error, as in Azure.

use serde_json::{Map, Value};

use super::{arity, wrong_type};
use crate::error::{EvalError, msg};
use crate::eval::{Frame, Frames, Scope, eval};
use crate::expr::Expr;
use crate::value::{insert_ci, to_text};

/// A `lambda('a', 'b', body)` argument.
struct Lambda<'e> {
    params: Vec<&'e str>,
    body: &'e Expr,
}

fn lambda_arg<'e>(function: &str, e: &'e Expr, min: usize, max: usize) -> Result<Lambda<'e>, EvalError> {
    let Expr::Call { namespace: None, name, args } = e else {
        return Err(EvalError::eval(msg::lambda_arity(function, min, 0)));
    };
    if !name.eq_ignore_ascii_case("lambda") || args.is_empty() {
        return Err(EvalError::eval(msg::lambda_arity(function, min, 0)));
    }
    let (body, params) = args.split_last().ok_or_else(|| EvalError::eval(msg::lambda_arity(function, min, 0)))?;
    let params = params
        .iter()
        .map(|p| match p {
            Expr::String(s) => Ok(s.as_str()),
            _ => Err(EvalError::eval(msg::lambda_arity(function, min, 0))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if params.len() < min || params.len() > max {
        return Err(EvalError::eval(msg::lambda_arity(function, min, params.len())));
    }
    Ok(Lambda { params, body })
}

impl Lambda<'_> {
    fn apply(&self, sc: Scope<'_>, values: &[Value]) -> Result<Value, EvalError> {
        let vars = self.params.iter().zip(values).map(|(n, v)| (*n, v.clone())).collect();
        let frames = Frames { frame: Frame::Lambda { vars }, parent: sc.frames };
        eval(self.body, sc.push(&frames))
    }
}

fn array_arg(function: &str, e: &Expr, sc: Scope<'_>) -> Result<Vec<Value>, EvalError> {
    match eval(e, sc)? {
        Value::Array(a) => Ok(a),
        other => Err(wrong_type(function, 0, "Array", &other)),
    }
}

pub(super) fn filter(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(2))?;
    let items = array_arg(name, &args[0], sc)?;
    let f = lambda_arg(name, &args[1], 1, 2)?;
    let mut out = Vec::new();
    for (i, x) in items.into_iter().enumerate() {
        match f.apply(sc, &[x.clone(), Value::from(i)])? {
            Value::Bool(true) => out.push(x),
            Value::Bool(false) => {}
            other => return Err(wrong_type(name, 1, "Boolean", &other)),
        }
    }
    Ok(Value::Array(out))
}

pub(super) fn map(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(2))?;
    let items = array_arg(name, &args[0], sc)?;
    let f = lambda_arg(name, &args[1], 1, 2)?;
    let out =
        items.into_iter().enumerate().map(|(i, x)| f.apply(sc, &[x, Value::from(i)])).collect::<Result<Vec<_>, _>>()?;
    Ok(Value::Array(out))
}

pub(super) fn reduce(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    arity(name, args, 3, Some(3))?;
    let items = array_arg(name, &args[0], sc)?;
    let mut acc = eval(&args[1], sc)?;
    let f = lambda_arg(name, &args[2], 2, 3)?;
    for (i, x) in items.into_iter().enumerate() {
        acc = f.apply(sc, &[acc, x, Value::from(i)])?;
    }
    Ok(acc)
}

/// `sort(array, lambda('a', 'b', a-before-b))`, stable.
pub(super) fn sort(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(2))?;
    let mut items = array_arg(name, &args[0], sc)?;
    let f = lambda_arg(name, &args[1], 2, 2)?;
    // Insertion sort: the comparator may fail, and arrays in templates are short.
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 {
            match f.apply(sc, &[items[j].clone(), items[j - 1].clone()])? {
                Value::Bool(true) => {
                    items.swap(j, j - 1);
                    j -= 1;
                }
                Value::Bool(false) => break,
                other => return Err(wrong_type(name, 1, "Boolean", &other)),
            }
        }
    }
    Ok(Value::Array(items))
}

fn key_text(name: &str, v: &Value) -> Result<String, EvalError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(_) | Value::Bool(_) => Ok(to_text(v)),
        other => Err(wrong_type(name, 1, "String", other)),
    }
}

pub(super) fn to_object(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(3))?;
    let items = array_arg(name, &args[0], sc)?;
    let key = lambda_arg(name, &args[1], 1, 1)?;
    let value = args.get(2).map(|a| lambda_arg(name, a, 1, 1)).transpose()?;
    let mut out = Map::new();
    for x in items {
        let k = key_text(name, &key.apply(sc, std::slice::from_ref(&x))?)?;
        let v = match &value {
            Some(f) => f.apply(sc, &[x])?,
            None => x,
        };
        insert_ci(&mut out, &k, v);
    }
    Ok(Value::Object(out))
}

pub(super) fn group_by(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(2))?;
    let items = array_arg(name, &args[0], sc)?;
    let key = lambda_arg(name, &args[1], 1, 1)?;
    let mut out = Map::new();
    for x in items {
        let k = key_text(name, &key.apply(sc, std::slice::from_ref(&x))?)?;
        let slot = crate::value::key_ci(&out, &k).unwrap_or(k);
        match out.entry(slot).or_insert_with(|| Value::Array(Vec::new())) {
            Value::Array(a) => a.push(x),
            _ => unreachable!("only arrays are inserted"),
        }
    }
    Ok(Value::Object(out))
}

pub(super) fn map_values(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(2))?;
    let Value::Object(o) = eval(&args[0], sc)? else {
        return Err(wrong_type(name, 0, "Object", &eval(&args[0], sc)?));
    };
    let f = lambda_arg(name, &args[1], 1, 1)?;
    let mut out = Map::new();
    for (k, v) in o {
        out.insert(k, f.apply(sc, &[v])?);
    }
    Ok(Value::Object(out))
}

pub(super) fn lambda_outside(name: &str, _args: &[Expr], _sc: Scope<'_>) -> Result<Value, EvalError> {
    Err(EvalError::eval(msg::lambda_outside(name)))
}

pub(super) fn lambda_variables(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    let v = eval(&args[0], sc)?;
    let Value::String(var) = &v else { return Err(wrong_type(name, 0, "String", &v)) };
    sc.lambda_variable(var)
}
