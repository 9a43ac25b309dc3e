//! The template functions, by family, and the one dispatch that finds them (by name, ignoring
//! case, as Azure does).
//!
//! Most functions take evaluated arguments ([`Pure`]); a few see their argument expressions
//! and the scope: `if`, `and`, `or`, `coalesce` evaluate only what they need (Azure's `if`
//! evaluates only the branch taken), the lambda functions evaluate their lambda per element,
//! and the functions that read the scope (`parameters`, `copyIndex`, `resourceGroup`,
//! `reference`…) need it.

mod collection;
mod compare;
mod convert;
mod date;
mod lambda;
mod numeric;
mod resource;
mod scope;
mod string;

use serde_json::Value;

use crate::error::{ErrorKind, EvalError, msg};
use crate::eval::{Scope, eval};
use crate::expr::Expr;
use crate::value::type_name;

/// A function over evaluated arguments; `name` is the name as written (for messages).
pub(crate) type Pure = fn(name: &str, args: &[Value]) -> Result<Value, EvalError>;

/// A function that sees its argument expressions and the scope.
pub(crate) type Special = fn(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError>;

enum Builtin {
    Pure(Pure),
    Special(Special),
}

/// Real Azure functions this engine does not implement: named as unsupported rather than
/// unknown, so nobody takes the message for a typo.
const UNSUPPORTED: &[&str] = &[
    "cidrhost",
    "cidrsubnet",
    "parsecidr",
    "pickzones",
    "providers",
    "references",
    "managementgroup",
    "externalinput",
    "loadfileasbase64",
    "loadjsoncontent",
    "loadtextcontent",
];

fn builtin(lower: &str) -> Option<Builtin> {
    use Builtin::{Pure as P, Special as S};
    Some(match lower {
        // array and object
        "array" => P(collection::array),
        "concat" => P(collection::concat),
        "contains" => P(collection::contains),
        "createarray" => P(collection::create_array),
        "createobject" => P(collection::create_object),
        "empty" => P(collection::empty),
        "first" => P(collection::first),
        "last" => P(collection::last),
        "flatten" => P(collection::flatten),
        "indexof" => P(collection::index_of),
        "lastindexof" => P(collection::last_index_of),
        "intersection" => P(collection::intersection),
        "union" => P(collection::union),
        "items" => P(collection::items),
        "join" => P(collection::join),
        "length" => P(collection::length),
        "objectkeys" => P(collection::object_keys),
        "shallowmerge" => P(collection::shallow_merge),
        "skip" => P(collection::skip),
        "take" => P(collection::take),
        "tryget" => P(collection::try_get),
        "tryindexfromend" => P(collection::try_index_from_end),
        // comparison and logic
        "equals" => P(compare::equals),
        "less" => P(compare::less),
        "lessorequals" => P(compare::less_or_equals),
        "greater" => P(compare::greater),
        "greaterorequals" => P(compare::greater_or_equals),
        "not" => P(compare::not),
        "true" => P(compare::true_),
        "false" => P(compare::false_),
        "null" => P(compare::null),
        "and" => S(compare::and),
        "or" => S(compare::or),
        "if" => S(compare::if_),
        "coalesce" => S(compare::coalesce),
        // numbers
        "add" => P(numeric::add),
        "sub" => P(numeric::sub),
        "mul" => P(numeric::mul),
        "div" => P(numeric::div),
        "mod" => P(numeric::modulo),
        "min" => P(numeric::min),
        "max" => P(numeric::max),
        "range" => P(numeric::range),
        "copyindex" => S(numeric::copy_index),
        // conversions
        "bool" => P(convert::bool_),
        "int" => P(convert::int),
        "float" => P(convert::float),
        "string" => P(convert::string),
        "json" => P(convert::json),
        "base64" => P(convert::base64),
        "base64tostring" => P(convert::base64_to_string),
        "base64tojson" => P(convert::base64_to_json),
        "datauri" => P(convert::data_uri),
        "datauritostring" => P(convert::data_uri_to_string),
        "uri" => P(convert::uri),
        "uricomponent" => P(convert::uri_component),
        "uricomponenttostring" => P(convert::uri_component_to_string),
        // strings
        "format" => P(string::format),
        "endswith" => P(string::ends_with),
        "startswith" => P(string::starts_with),
        "padleft" => P(string::pad_left),
        "replace" => P(string::replace),
        "split" => P(string::split),
        "substring" => P(string::substring),
        "tolower" => P(string::to_lower),
        "toupper" => P(string::to_upper),
        "trim" => P(string::trim),
        "uniquestring" => P(string::unique_string),
        "guid" => P(string::guid),
        "newguid" => S(date::new_guid),
        // dates
        "utcnow" => S(date::utc_now),
        "datetimeadd" => P(date::date_time_add),
        "datetimefromepoch" => P(date::date_time_from_epoch),
        "datetimetoepoch" => P(date::date_time_to_epoch),
        // lambdas
        "filter" => S(lambda::filter),
        "map" => S(lambda::map),
        "reduce" => S(lambda::reduce),
        "sort" => S(lambda::sort),
        "toobject" => S(lambda::to_object),
        "groupby" => S(lambda::group_by),
        "mapvalues" => S(lambda::map_values),
        "lambda" => S(lambda::lambda_outside),
        "lambdavariables" => S(lambda::lambda_variables),
        // the template and its deployment
        "parameters" => S(scope::parameters),
        "variables" => S(scope::variables),
        "deployment" => S(scope::deployment),
        "environment" => S(scope::environment),
        "resourcegroup" => S(scope::resource_group),
        "subscription" => S(scope::subscription),
        "tenant" => S(scope::tenant),
        // resources
        "resourceid" => S(resource::resource_id),
        "subscriptionresourceid" => S(resource::subscription_resource_id),
        "tenantresourceid" => S(resource::tenant_resource_id),
        "extensionresourceid" => S(resource::extension_resource_id),
        "managementgroupresourceid" => S(resource::management_group_resource_id),
        "reference" => S(resource::reference),
        _ if lower.starts_with("list") => S(resource::list),
        _ => return None,
    })
}

/// Whether a function of this name exists (builtin, list action, or declared user function
/// when `namespace` is set — the caller checks those).
pub(crate) fn is_known(name: &str) -> Known {
    let lower = name.to_ascii_lowercase();
    if UNSUPPORTED.contains(&lower.as_str()) {
        Known::Unsupported
    } else if builtin(&lower).is_some() {
        Known::Yes
    } else {
        Known::No
    }
}

/// Whether a function name is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Known {
    Yes,
    No,
    Unsupported,
}

/// Calls a function.
pub(crate) fn call(namespace: Option<&str>, name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    if let Some(ns) = namespace {
        return scope::user_function(ns, name, args, sc);
    }
    let lower = name.to_ascii_lowercase();
    let result = match builtin(&lower) {
        Some(Builtin::Pure(f)) => {
            let values = args.iter().map(|a| eval(a, sc)).collect::<Result<Vec<_>, _>>()?;
            f(name, &values)
        }
        Some(Builtin::Special(f)) => f(name, args, sc),
        None if UNSUPPORTED.contains(&lower.as_str()) => {
            Err(EvalError::new(ErrorKind::UnsupportedFunction, msg::function_unsupported(name)))
        }
        None => Err(EvalError::new(ErrorKind::UnknownFunction, msg::function_not_valid(name))),
    }?;
    sc.base.charge(cost(&result))?;
    Ok(result)
}

/// The work a result stands for: its elements, members, or characters (by 32).
fn cost(v: &Value) -> u64 {
    match v {
        Value::Array(a) => a.len() as u64 + 1,
        Value::Object(o) => o.len() as u64 + 1,
        Value::String(s) => s.len() as u64 / 32 + 1,
        _ => 1,
    }
}

/// Checks the argument count; `max` of `None` means unbounded.
pub(crate) fn arity<T>(name: &str, args: &[T], min: usize, max: Option<usize>) -> Result<(), EvalError> {
    let n = args.len();
    if n >= min && max.is_none_or(|m| n <= m) {
        return Ok(());
    }
    let requires = match max {
        Some(m) if m == min => format!("{min}"),
        Some(m) => format!("between {min} and {m}"),
        None => format!("at least {min}"),
    };
    Err(EvalError::eval(msg::arity(name, &requires, n)))
}

/// A type error for argument `i` (0-based).
pub(crate) fn wrong_type(name: &str, i: usize, expected: &str, got: &Value) -> EvalError {
    EvalError::eval(msg::arg_type(name, i + 1, expected, type_name(got)))
}

pub(crate) fn str_arg<'v>(name: &str, args: &'v [Value], i: usize) -> Result<&'v str, EvalError> {
    match &args[i] {
        Value::String(s) => Ok(s),
        other => Err(wrong_type(name, i, "String", other)),
    }
}

pub(crate) fn int_arg(name: &str, args: &[Value], i: usize) -> Result<i64, EvalError> {
    match &args[i] {
        Value::Number(n) if n.as_i64().is_some() => Ok(n.as_i64().unwrap_or_default()),
        other => Err(wrong_type(name, i, "Integer", other)),
    }
}

pub(crate) fn bool_arg(name: &str, args: &[Value], i: usize) -> Result<bool, EvalError> {
    match &args[i] {
        Value::Bool(b) => Ok(*b),
        other => Err(wrong_type(name, i, "Boolean", other)),
    }
}

/// The literal length limit of Azure's engine (131,072 characters: its
/// `TemplateLiteralLimitExceeded`), applied to strings built by expressions; it also keeps a
/// hostile `padLeft` from exhausting memory.
pub(crate) const MAX_STRING: usize = 131_072;

pub(crate) fn limited(s: String) -> Result<Value, EvalError> {
    if s.len() > MAX_STRING && s.chars().count() > MAX_STRING {
        return Err(EvalError::eval(msg::too_long(MAX_STRING, s.chars().count())));
    }
    Ok(Value::String(s))
}
