//! Evaluation: expressions against a scope, and template JSON (with its expressions, property
//! copy loops and positions) to plain JSON.
//!
//! A [`Scope`] is what an expression can see: the template level ([`Base`]: parameters,
//! variables, user functions, the deployment context), where in the template it stands
//! ([`Place`], which decides the functions Azure allows there), the frames of enclosing copy
//! loops, lambdas and user-function calls, and — only while the deployment runs — a
//! [`Resolver`] answering `reference()` and `list*()`. Without a resolver those functions
//! answer [`EvalError::Deferred`]: the value is evaluated when its resource's wave runs.

use serde_json::{Map, Value};

use crate::context::Context;
use crate::error::{EvalError, msg};
use crate::expr::{self, Expr, StringValue};
use crate::functions;
use crate::json::{Node, NodeKind, Pos};
use crate::value::{get_ci, type_name};

/// Where an expression stands, which decides the functions Azure allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// A parameter's `defaultValue`: no `variables`, no `reference`; `utcNow`/`newGuid` allowed.
    ParameterDefault,
    /// A variable: no `reference`/`list*`.
    Variable,
    /// A resource's name, type, apiVersion, copy count, scope, dependsOn: nothing that needs
    /// the deployment to run.
    Static,
    /// A resource's condition, properties, a nested deployment's parameters, an output:
    /// everything.
    Runtime,
    /// Inside a user-defined function: its own parameters only.
    UserFunction,
}

/// The template level of a scope.
pub(crate) trait Base {
    /// A parameter's value.
    fn parameter(&self, name: &str) -> Result<Value, EvalError>;
    /// A variable's value (evaluated once, on first use).
    fn variable(&self, name: &str) -> Result<Value, EvalError>;
    /// A user-defined function.
    fn user_function(&self, namespace: &str, name: &str) -> Option<&crate::template::UserFunction>;
    /// The deployment context (subscription, group, deployment, clock).
    fn context(&self) -> &Context;
    /// `deployment()`.
    fn deployment_object(&self) -> Value;
    /// A counter, for `newGuid()` (different per call, the same per deployment).
    fn next_sequence(&self) -> u64;
    /// Counts the work of an evaluation (the size of each function's result) against a
    /// budget, so that a hostile template (`map(range(0, 10000), … range(0, 10000))`) is an
    /// error instead of exhausting memory.
    fn charge(&self, units: u64) -> Result<(), EvalError>;
}

/// Runtime answers for `reference()` and `list*()`.
pub(crate) trait Resolver {
    /// `reference(target, apiVersion?, 'Full'?)`; `target` as written in the call (a symbolic
    /// name, a resource name of this template, or a resource ID).
    fn reference(&self, target: &str, api_version: Option<&str>, full: bool) -> Result<Value, EvalError>;
    /// `listX(target, apiVersion, body?)`.
    fn list(&self, action: &str, target: &str, api_version: &str, body: Option<&Value>) -> Result<Value, EvalError>;
}

/// A frame of the scope chain.
pub(crate) enum Frame<'a> {
    /// A copy loop; `name` is the loop's name. A property loop answers only
    /// `copyIndex('name')`: an unnamed `copyIndex()` inside it is the resource's loop.
    Copy { name: &'a str, index: i64, named_only: bool },
    /// The variables of a lambda.
    Lambda { vars: Vec<(&'a str, Value)> },
    /// A user-defined function call: its parameters.
    UserFunction { params: Vec<(&'a str, Value)> },
}

/// A linked list of frames, innermost first.
pub(crate) struct Frames<'a> {
    pub frame: Frame<'a>,
    pub parent: Option<&'a Frames<'a>>,
}

/// What an expression can see.
#[derive(Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub base: &'a dyn Base,
    pub place: Place,
    pub frames: Option<&'a Frames<'a>>,
    pub resolver: Option<&'a dyn Resolver>,
}

impl<'a> Scope<'a> {
    pub fn new(base: &'a dyn Base, place: Place) -> Scope<'a> {
        Scope { base, place, frames: None, resolver: None }
    }

    pub fn at(self, place: Place) -> Scope<'a> {
        Scope { place, ..self }
    }

    pub fn push(self, frames: &'a Frames<'a>) -> Scope<'a> {
        Scope { frames: Some(frames), ..self }
    }

    /// The parameters of the innermost user-function call, if inside one.
    pub fn user_function_params(&self) -> Option<&'a [(&'a str, Value)]> {
        let mut f = self.frames;
        while let Some(fr) = f {
            if let Frame::UserFunction { params } = &fr.frame {
                return Some(params);
            }
            f = fr.parent;
        }
        None
    }

    pub fn copy_index(&self, name: Option<&str>) -> Result<i64, EvalError> {
        let mut f = self.frames;
        let mut seen_any = false;
        while let Some(fr) = f {
            if let Frame::Copy { name: loop_name, index, named_only } = &fr.frame {
                seen_any = true;
                match name {
                    None if *named_only => {}
                    None => return Ok(*index),
                    Some(n) if n.eq_ignore_ascii_case(loop_name) => return Ok(*index),
                    Some(_) => {}
                }
            }
            f = fr.parent;
        }
        match name {
            Some(n) if seen_any => Err(EvalError::eval(msg::copy_loop_not_found(n))),
            _ => Err(EvalError::new(crate::error::ErrorKind::FunctionNotExpected, msg::copy_index_outside())),
        }
    }

    pub fn lambda_variable(&self, name: &str) -> Result<Value, EvalError> {
        let mut f = self.frames;
        while let Some(fr) = f {
            if let Frame::Lambda { vars } = &fr.frame
                && let Some((_, v)) = vars.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                return Ok(v.clone());
            }
            f = fr.parent;
        }
        Err(EvalError::eval(msg::lambda_variable_not_found(name)))
    }
}

/// Evaluates an expression.
pub(crate) fn eval(e: &Expr, sc: Scope<'_>) -> Result<Value, EvalError> {
    match e {
        Expr::String(s) => Ok(Value::String(s.clone())),
        Expr::Int(n) => Ok(Value::from(*n)),
        Expr::Call { namespace, name, args } => functions::call(namespace.as_deref(), name, args, sc),
        Expr::Property { target, name } => {
            let v = eval(target, sc)?;
            property(&v, name)
        }
        Expr::Index { target, index } => {
            let v = eval(target, sc)?;
            let i = eval(index, sc)?;
            index_value(&v, &i)
        }
    }
}

/// `v.name`.
pub(crate) fn property(v: &Value, name: &str) -> Result<Value, EvalError> {
    match v {
        Value::Object(map) => get_ci(map, name).cloned().ok_or_else(|| {
            let available: Vec<String> = map.keys().cloned().collect();
            EvalError::eval(msg::property_missing(name, &available))
        }),
        other => Err(EvalError::eval(msg::property_on_non_object(name, type_name(other)))),
    }
}

/// `v[i]`.
pub(crate) fn index_value(v: &Value, i: &Value) -> Result<Value, EvalError> {
    match (v, i) {
        (Value::Array(a), Value::Number(n)) => {
            let Some(k) = n.as_i64() else { return Err(EvalError::eval(msg::index_type(type_name(i)))) };
            usize::try_from(k)
                .ok()
                .and_then(|k| a.get(k))
                .cloned()
                .ok_or_else(|| EvalError::eval(msg::index_out_of_bounds(k)))
        }
        (Value::Array(_), other) => Err(EvalError::eval(msg::index_type(type_name(other)))),
        (Value::Object(_), Value::String(key)) => property(v, key),
        (Value::Object(_), other) => Err(EvalError::eval(msg::index_type(type_name(other)))),
        (other, _) => Err(EvalError::eval(msg::index_on(type_name(other)))),
    }
}

/// A failure placed in the template: the error and the string it came from.
#[derive(Debug, Clone)]
pub(crate) struct NodeError {
    pub err: EvalError,
    pub pos: Pos,
    pub path: String,
}

/// Options of [`eval_node`].
#[derive(Clone, Copy, Default)]
pub(crate) struct NodeOptions {
    /// Expand `"copy": [{name, count, input}]` members (property copy loops), as Azure does
    /// inside a resource's `properties`.
    pub property_copy: bool,
    /// Keep an expression that needs a resource not deployed yet as its text (what-if shows
    /// such values unevaluated).
    pub keep_deferred: bool,
}

/// Evaluates a string of the template: a literal, or an expression (parsed here).
pub(crate) fn eval_str(s: &str, sc: Scope<'_>) -> Result<Value, EvalError> {
    match expr::classify(s) {
        StringValue::Literal(l) => Ok(Value::String(l.into_owned())),
        StringValue::Expression(text) => {
            let e = expr::parse(text).map_err(|m| EvalError::new(crate::error::ErrorKind::ExpressionSyntax, m))?;
            eval(&e, sc)
        }
    }
}

/// Evaluates template JSON: every expression string replaced by its value.
pub(crate) fn eval_node(node: &Node, sc: Scope<'_>, path: &str, opts: NodeOptions) -> Result<Value, NodeError> {
    match &node.kind {
        NodeKind::String(s) => match eval_str(s, sc) {
            Err(EvalError::Deferred) if opts.keep_deferred => Ok(Value::String(s.clone())),
            other => other.map_err(|err| NodeError { err, pos: node.pos, path: path.to_string() }),
        },
        NodeKind::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(eval_node(item, sc, &format!("{path}[{i}]"), opts)?);
            }
            Ok(Value::Array(out))
        }
        NodeKind::Object(members) => {
            let mut out = Map::new();
            for m in members {
                let child_path = join_path(path, &m.key);
                if opts.property_copy && m.key.eq_ignore_ascii_case("copy") && is_property_copy(&m.value) {
                    for (name, value) in property_copy(&m.value, sc, &child_path, opts)? {
                        out.insert(name, value);
                    }
                    continue;
                }
                out.insert(m.key.clone(), eval_node(&m.value, sc, &child_path, opts)?);
            }
            Ok(Value::Object(out))
        }
        _ => Ok(node.to_value()),
    }
}

/// `a.b` JSON path segments, as Azure writes them in `TemplateViolation.path`.
pub(crate) fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn is_property_copy(node: &Node) -> bool {
    node.elements().is_some_and(|items| {
        !items.is_empty()
            && items.iter().all(|i| i.get("name").is_some() && i.get("count").is_some() && i.get("input").is_some())
    })
}

/// Expands property copy loops: each `{name, count, input}` becomes the member `name`, an
/// array of `count` evaluations of `input` with `copyIndex('name')`.
fn property_copy(node: &Node, sc: Scope<'_>, path: &str, opts: NodeOptions) -> Result<Vec<(String, Value)>, NodeError> {
    let mut out = Vec::new();
    for (i, spec) in node.elements().unwrap_or_default().iter().enumerate() {
        let spec_path = format!("{path}[{i}]");
        let fail = |err: EvalError, n: &Node, p: String| NodeError { err, pos: n.pos, path: p };
        let name_node = spec.get("name").unwrap_or(spec);
        let name = match eval_node(name_node, sc, &join_path(&spec_path, "name"), opts)? {
            Value::String(s) => s,
            other => {
                return Err(fail(
                    EvalError::new(
                        crate::error::ErrorKind::InvalidCopy,
                        format!("The copy name must be a string; it is of type '{}'.", type_name(&other)),
                    ),
                    name_node,
                    join_path(&spec_path, "name"),
                ));
            }
        };
        let count_node = spec.get("count").unwrap_or(spec);
        let count_path = join_path(&spec_path, "count");
        let count = eval_node(count_node, sc, &count_path, opts)?;
        let count = crate::resources::copy_count(&count).map_err(|err| fail(err, count_node, count_path.clone()))?;
        let input = spec.get("input").unwrap_or(spec);
        let mut items = Vec::with_capacity(count);
        for k in 0..count {
            let frames =
                Frames { frame: Frame::Copy { name: &name, index: k as i64, named_only: true }, parent: sc.frames };
            items.push(eval_node(input, sc.push(&frames), &join_path(&spec_path, "input"), opts)?);
        }
        out.push((name, Value::Array(items)));
    }
    Ok(out)
}
