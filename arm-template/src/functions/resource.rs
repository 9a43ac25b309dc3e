//! Resource functions: the resource ID builders (`resourceId`, `subscriptionResourceId`,
//! `tenantResourceId`, `extensionResourceId`, `managementGroupResourceId`) and the runtime
//! ones, `reference` and `list*`, which only a running deployment can answer.

use serde_json::Value;

use super::{arity, wrong_type};
use crate::error::{ErrorKind, EvalError, msg};
use crate::eval::{Place, Scope, eval};
use crate::expr::Expr;
use crate::ids;

/// The arguments, which must all be strings.
fn strings(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Vec<String>, EvalError> {
    args.iter()
        .map(|a| match eval(a, sc)? {
            Value::String(s) => Ok(s),
            _ => Err(EvalError::eval(msg::string_literals(name))),
        })
        .collect()
}

/// Splits `[scope parts…, type, names…]` at the type (the first argument with a `/`).
fn split_at_type<'s>(name: &str, args: &'s [String]) -> Result<(&'s [String], &'s str, Vec<&'s str>), EvalError> {
    let Some(t) = args.iter().position(|a| a.contains('/')) else {
        return Err(EvalError::eval(msg::resource_type_invalid(name, args.first().map_or("", String::as_str))));
    };
    let names: Vec<&str> = args[t + 1..].iter().flat_map(|n| n.split('/')).collect();
    Ok((&args[..t], &args[t], names))
}

fn provider_path(name: &str, ty: &str, names: &[&str]) -> Result<String, EvalError> {
    let segs = ty.split('/').count();
    if segs < 2 || ty.split('/').any(str::is_empty) {
        return Err(EvalError::eval(msg::resource_type_invalid(name, ty)));
    }
    if names.len() != segs - 1 {
        return Err(EvalError::eval(msg::resource_id_args(name, ty, segs - 1, names.len())));
    }
    Ok(ids::provider_path(ty, names))
}

pub(super) fn resource_id(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    arity(name, args, 2, None)?;
    let args = strings(name, args, sc)?;
    let (scope, ty, names) = split_at_type(name, &args)?;
    let ctx = sc.base.context();
    let base = match scope {
        [] => ctx.scope_id(),
        [rg] => format!("/subscriptions/{}/resourceGroups/{rg}", ctx.subscription_id),
        [sub, rg] => format!("/subscriptions/{sub}/resourceGroups/{rg}"),
        _ => return Err(EvalError::eval(msg::arity(name, "at most 2 scope and then type and name", args.len()))),
    };
    Ok(Value::String(format!("{base}{}", provider_path(name, ty, &names)?)))
}

pub(super) fn subscription_resource_id(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    arity(name, args, 2, None)?;
    let args = strings(name, args, sc)?;
    let (scope, ty, names) = split_at_type(name, &args)?;
    let sub = match scope {
        [] => sc.base.context().subscription_id.clone(),
        [sub] => sub.clone(),
        _ => return Err(EvalError::eval(msg::arity(name, "at most 1 scope and then type and name", args.len()))),
    };
    Ok(Value::String(format!("/subscriptions/{sub}{}", provider_path(name, ty, &names)?)))
}

pub(super) fn tenant_resource_id(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    arity(name, args, 2, None)?;
    let args = strings(name, args, sc)?;
    let (scope, ty, names) = split_at_type(name, &args)?;
    if !scope.is_empty() {
        return Err(EvalError::eval(msg::resource_type_invalid(name, &scope[0])));
    }
    Ok(Value::String(provider_path(name, ty, &names)?))
}

pub(super) fn extension_resource_id(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    arity(name, args, 3, None)?;
    let args = strings(name, args, sc)?;
    let scope = args[0].trim_end_matches('/');
    let (_, ty, names) = split_at_type(name, &args[1..])?;
    Ok(Value::String(format!("{scope}{}", provider_path(name, ty, &names)?)))
}

pub(super) fn management_group_resource_id(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    arity(name, args, 3, None)?;
    let args = strings(name, args, sc)?;
    let (scope, ty, names) = split_at_type(name, &args)?;
    let [mg] = scope else {
        return Err(EvalError::new(ErrorKind::FunctionNotExpected, msg::function_not_expected(name)));
    };
    Ok(Value::String(format!(
        "/providers/Microsoft.Management/managementGroups/{mg}{}",
        provider_path(name, ty, &names)?
    )))
}

/// `reference` and `list*` exist only where the deployment runs: elsewhere they are "not
/// expected at this location"; at validation time they are deferred.
fn runtime_only(name: &str, sc: Scope<'_>) -> Result<(), EvalError> {
    match sc.place {
        Place::Runtime => Ok(()),
        _ => Err(EvalError::new(ErrorKind::FunctionNotExpected, msg::function_not_expected(name))),
    }
}

pub(super) fn reference(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    runtime_only(name, sc)?;
    arity(name, args, 1, Some(3))?;
    let values = args.iter().map(|a| eval(a, sc)).collect::<Result<Vec<_>, _>>()?;
    let Value::String(target) = &values[0] else { return Err(wrong_type(name, 0, "String", &values[0])) };
    let api = match values.get(1) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(other) => return Err(wrong_type(name, 1, "String", other)),
    };
    let full = match values.get(2) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("full") => true,
        Some(other) => return Err(wrong_type(name, 2, "'Full'", other)),
    };
    let resolver = sc.resolver.ok_or(EvalError::Deferred)?;
    resolver.reference(target, api, full)
}

pub(super) fn list(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    runtime_only(name, sc)?;
    arity(name, args, 2, Some(3))?;
    let values = args.iter().map(|a| eval(a, sc)).collect::<Result<Vec<_>, _>>()?;
    let Value::String(target) = &values[0] else { return Err(wrong_type(name, 0, "String", &values[0])) };
    let Value::String(api) = &values[1] else { return Err(wrong_type(name, 1, "String", &values[1])) };
    let resolver = sc.resolver.ok_or(EvalError::Deferred)?;
    resolver.list(name, target, api, values.get(2))
}
