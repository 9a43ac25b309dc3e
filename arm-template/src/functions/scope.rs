//! The functions that read the template and its deployment: `parameters`, `variables`,
//! `deployment`, `environment`, `resourceGroup`, `subscription`, `tenant`, and calls of
//! user-defined functions.
//!
//! Azure's rules, enforced here: a parameter default cannot read variables; a user-defined
//! function sees only its own parameters (no variables, no `reference`/`list*`, no other
//! user-defined function); `resourceGroup()` does not exist outside a resource group.

use serde_json::Value;

use super::{arity, wrong_type};
use crate::error::{ErrorKind, EvalError, msg};
use crate::eval::{Frame, Frames, NodeOptions, Place, Scope, eval, eval_node};
use crate::expr::Expr;
use crate::value::type_name;

fn name_arg(function: &str, args: &[Expr], sc: Scope<'_>) -> Result<String, EvalError> {
    arity(function, args, 1, Some(1))?;
    match eval(&args[0], sc)? {
        Value::String(s) => Ok(s),
        other => Err(wrong_type(function, 0, "String", &other)),
    }
}

fn not_expected(name: &str) -> EvalError {
    EvalError::new(ErrorKind::FunctionNotExpected, msg::function_not_expected(name))
}

pub(super) fn parameters(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    let p = name_arg(name, args, sc)?;
    if let Some(params) = sc.user_function_params() {
        return params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&p))
            .map(|(_, v)| v.clone())
            .ok_or_else(|| EvalError::eval(msg::parameter_not_found(&p)));
    }
    sc.base.parameter(&p)
}

pub(super) fn variables(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    if matches!(sc.place, Place::ParameterDefault | Place::UserFunction) {
        return Err(not_expected(name));
    }
    let v = name_arg(name, args, sc)?;
    sc.base.variable(&v)
}

pub(super) fn deployment(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    arity(name, args, 0, Some(0))?;
    Ok(sc.base.deployment_object())
}

pub(super) fn environment(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    arity(name, args, 0, Some(0))?;
    Ok(sc.base.context().environment.clone())
}

pub(super) fn resource_group(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    arity(name, args, 0, Some(0))?;
    sc.base.context().resource_group_object().ok_or_else(|| not_expected(name))
}

pub(super) fn subscription(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    arity(name, args, 0, Some(0))?;
    Ok(sc.base.context().subscription_object())
}

pub(super) fn tenant(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    arity(name, args, 0, Some(0))?;
    Ok(sc.base.context().tenant_object())
}

/// The JSON type a user-defined function's parameter or output declares, checked loosely
/// (Azure's types: string, securestring, int, bool, object, secureObject, array).
fn matches_type(declared: &str, v: &Value) -> bool {
    match declared.to_ascii_lowercase().as_str() {
        "string" | "securestring" => v.is_string(),
        "int" => v.as_i64().is_some(),
        "bool" => v.is_boolean(),
        "object" | "secureobject" => v.is_object(),
        "array" => v.is_array(),
        _ => true,
    }
}

pub(super) fn user_function(ns: &str, name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    if sc.place == Place::UserFunction {
        return Err(not_expected(&format!("{ns}.{name}")));
    }
    let Some(f) = sc.base.user_function(ns, name) else {
        return Err(EvalError::new(ErrorKind::UnknownFunction, msg::user_function_not_found(ns, name)));
    };
    if f.params.len() != args.len() {
        return Err(EvalError::eval(msg::user_function_arity(ns, name, f.params.len(), args.len())));
    }
    let mut params = Vec::with_capacity(args.len());
    for (i, ((pname, ptype), a)) in f.params.iter().zip(args).enumerate() {
        let v = eval(a, sc)?;
        if !matches_type(ptype, &v) {
            return Err(wrong_type(&format!("{ns}.{name}"), i, ptype, &v));
        }
        params.push((pname.as_str(), v));
    }
    let frames = Frames { frame: Frame::UserFunction { params }, parent: None };
    let inner = Scope { base: sc.base, place: Place::UserFunction, frames: Some(&frames), resolver: None };
    let out = eval_node(&f.output, inner, &f.path, NodeOptions::default()).map_err(|e| e.err)?;
    if !matches_type(&f.output_type, &out) {
        return Err(EvalError::eval(crate::error::run::output_type(&f.output_type, type_name(&out))));
    }
    Ok(out)
}
