//! The template level of evaluation ([`crate::eval::Base`]): bound parameters, variables
//! evaluated once each on first use (with cycle detection), user-defined functions, the
//! deployment context and `deployment()`.
//!
//! Parameters and variables may refer to each other in any order, so both are lazy; the first
//! error found while evaluating one is kept as a placed [`TemplateError`] (Azure names the
//! parameter or variable that failed, not the one that asked).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::context::Context;
use crate::error::{ErrorKind, EvalError, TemplateError, msg, wrap};
use crate::eval::{Base, Frame, Frames, NodeOptions, Place, Scope, eval_node, join_path};
use crate::params;
use crate::template::{Template, UserFunction};

#[derive(Clone)]
enum Slot {
    Pending,
    InProgress,
    Done(Value),
    Failed,
}

/// The template level: one per deployment (copied into outer-scope nested deployments,
/// which see their parent's parameters and variables).
#[derive(Clone)]
pub(crate) struct Env {
    pub template: Template,
    pub ctx: Context,
    /// The parameters as supplied (unwrapped from `{"value": …}`).
    pub supplied: Map<String, Value>,
    params: RefCell<HashMap<String, Slot>>,
    vars: RefCell<HashMap<String, Slot>>,
    /// The first placed error met while evaluating a parameter or variable.
    first_error: RefCell<Option<TemplateError>>,
    sequence: Cell<u64>,
    spent: Cell<u64>,
}

/// The evaluation budget of one deployment (see [`Base::charge`]): far above what real
/// templates use (each template of the corpus spends under 20,000).
const BUDGET: u64 = 4_000_000;

impl Env {
    pub fn new(template: Template, ctx: Context, supplied: Map<String, Value>) -> Env {
        let params = template.parameters.iter().map(|p| (p.name.to_ascii_lowercase(), Slot::Pending)).collect();
        let vars = template.variables.iter().map(|v| (v.name.to_ascii_lowercase(), Slot::Pending)).collect();
        Env {
            template,
            ctx,
            supplied,
            params: RefCell::new(params),
            vars: RefCell::new(vars),
            first_error: RefCell::new(None),
            sequence: Cell::new(0),
            spent: Cell::new(0),
        }
    }

    fn record(&self, e: TemplateError) {
        let mut slot = self.first_error.borrow_mut();
        if slot.is_none() {
            *slot = Some(e);
        }
    }

    /// Binds every parameter and evaluates every variable, in declaration order, as Azure
    /// validates them before anything else.
    pub fn bind_all(&self) -> Result<(), TemplateError> {
        params::check_unknown(&self.template, &self.supplied)?;
        for p in &self.template.parameters {
            if self.parameter(&p.name).is_err() {
                return Err(self.take_error());
            }
        }
        for v in &self.template.variables {
            if self.variable(&v.name).is_err() {
                return Err(self.take_error());
            }
        }
        Ok(())
    }

    fn take_error(&self) -> TemplateError {
        self.first_error
            .borrow_mut()
            .take()
            .unwrap_or_else(|| wrap::plain(ErrorKind::Evaluation, "The template could not be evaluated.".into(), None))
    }

    /// The bound parameter values, in declaration order (after [`Env::bind_all`]).
    pub fn parameter_values(&self) -> Map<String, Value> {
        let slots = self.params.borrow();
        let mut out = Map::new();
        for p in &self.template.parameters {
            if let Some(Slot::Done(v)) = slots.get(&p.name.to_ascii_lowercase()) {
                out.insert(p.name.clone(), v.clone());
            }
        }
        out
    }

    fn bind_parameter(&self, index: usize) -> Result<Value, TemplateError> {
        let p = &self.template.parameters[index];
        let supplied = self.supplied.iter().find(|(k, _)| k.eq_ignore_ascii_case(&p.name)).map(|(_, v)| v.clone());
        let value = match supplied {
            Some(v) => v,
            None => match p.decl.get("defaultValue") {
                Some(d) => {
                    let sc = Scope::new(self, Place::ParameterDefault);
                    let path = join_path(&p.path, "defaultValue");
                    match eval_node(d, sc, &path, NodeOptions::default()) {
                        Ok(v) => v,
                        Err(e) => {
                            return Err(self.placed(e.err, |inner, kind| {
                                wrap::resource(kind, &p.name, p.decl.pos, inner, e.pos, &e.path)
                            }));
                        }
                    }
                }
                None if params::is_nullable(&self.template, &p.decl) => Value::Null,
                None => return Err(wrap::parameter_not_provided(&p.name, p.decl.pos, &p.path)),
            },
        };
        params::check(&self.template, p, &value)?;
        Ok(value)
    }

    /// Places an evaluation failure; a failure that is itself a parameter's or variable's
    /// placed error is that error.
    fn placed(&self, err: EvalError, place: impl Fn(&str, ErrorKind) -> TemplateError) -> TemplateError {
        if let Some(e) = self.first_error.borrow_mut().take() {
            return e;
        }
        match err {
            EvalError::Failed(f) => place(&f.message, f.kind),
            EvalError::Deferred => place(&msg::function_not_expected("reference"), ErrorKind::FunctionNotExpected),
        }
    }

    fn eval_variable(&self, index: usize) -> Result<Value, TemplateError> {
        let v = &self.template.variables[index];
        let sc = Scope::new(self, Place::Variable);
        let opts = NodeOptions { property_copy: true, keep_deferred: false };
        let fail = |e: crate::eval::NodeError| {
            self.placed(e.err, |inner, kind| wrap::variable(kind, &v.name, inner, e.pos, &e.path))
        };
        match &v.copy {
            None => eval_node(&v.value, sc, &v.path, opts).map_err(fail),
            Some(c) => {
                let count_path = join_path(&c.path, "count");
                let count = eval_node(&c.count, sc, &count_path, opts).map_err(fail)?;
                let count = crate::resources::copy_count(&count)
                    .map_err(|err| fail(crate::eval::NodeError { err, pos: c.count.pos, path: count_path.clone() }))?;
                let mut items = Vec::with_capacity(count);
                for i in 0..count {
                    let frames = Frames {
                        frame: Frame::Copy { name: &v.name, index: i as i64, named_only: false },
                        parent: None,
                    };
                    items.push(eval_node(&c.input, sc.push(&frames), &v.path, opts).map_err(fail)?);
                }
                Ok(Value::Array(items))
            }
        }
    }

    fn lazily(
        &self,
        slots: &RefCell<HashMap<String, Slot>>,
        name: &str,
        not_found: impl Fn() -> EvalError,
        cycle: impl Fn() -> TemplateError,
        compute: impl Fn() -> Result<Value, TemplateError>,
    ) -> Result<Value, EvalError> {
        let key = name.to_ascii_lowercase();
        match slots.borrow().get(&key) {
            None => return Err(not_found()),
            Some(Slot::Done(v)) => return Ok(v.clone()),
            Some(Slot::Failed) => return Err(EvalError::eval(format!("'{name}' is not valid."))),
            Some(Slot::InProgress) => {
                self.record(cycle());
                return Err(EvalError::eval(format!("'{name}' refers to itself.")));
            }
            Some(Slot::Pending) => {}
        }
        slots.borrow_mut().insert(key.clone(), Slot::InProgress);
        match compute() {
            Ok(v) => {
                slots.borrow_mut().insert(key, Slot::Done(v.clone()));
                Ok(v)
            }
            Err(e) => {
                slots.borrow_mut().insert(key, Slot::Failed);
                self.record(e);
                Err(EvalError::eval(format!("'{name}' is not valid.")))
            }
        }
    }
}

impl Base for Env {
    fn parameter(&self, name: &str) -> Result<Value, EvalError> {
        let index = self.template.parameters.iter().position(|p| p.name.eq_ignore_ascii_case(name));
        self.lazily(
            &self.params,
            name,
            || EvalError::eval(msg::parameter_not_found(name)),
            || {
                let p = &self.template.parameters[index.unwrap_or_default()];
                wrap::resource(
                    ErrorKind::Evaluation,
                    &p.name,
                    p.decl.pos,
                    &format!("The default value of the parameter '{}' refers to itself.", p.name),
                    p.decl.pos,
                    &p.path,
                )
            },
            || self.bind_parameter(index.unwrap_or_default()),
        )
    }

    fn variable(&self, name: &str) -> Result<Value, EvalError> {
        let index = self.template.variables.iter().position(|v| v.name.eq_ignore_ascii_case(name));
        self.lazily(
            &self.vars,
            name,
            || EvalError::eval(msg::variable_not_found(name)),
            || {
                let v = &self.template.variables[index.unwrap_or_default()];
                wrap::variable(ErrorKind::Evaluation, &v.name, &msg::variable_cycle(&v.name), v.value.pos, &v.path)
            },
            || self.eval_variable(index.unwrap_or_default()),
        )
    }

    fn user_function(&self, namespace: &str, name: &str) -> Option<&UserFunction> {
        self.template.user_function(namespace, name)
    }

    fn context(&self) -> &Context {
        &self.ctx
    }

    fn deployment_object(&self) -> Value {
        let params: Map<String, Value> = self.supplied.iter().map(|(k, v)| (k.clone(), json!({"value": v}))).collect();
        let mut v = json!({
            "name": self.ctx.deployment_name,
            "properties": {
                "template": self.template.header(),
                "templateHash": crate::hash::unique_string(&[&self.template.root.to_value().to_string()]),
                "parameters": params,
                "mode": self.ctx.mode.as_str(),
                "provisioningState": "Accepted",
            },
        });
        if let crate::context::DeploymentScope::Subscription { location } = &self.ctx.scope {
            v["location"] = json!(location);
        }
        v
    }

    fn charge(&self, units: u64) -> Result<(), EvalError> {
        let spent = self.spent.get().saturating_add(units);
        self.spent.set(spent);
        if spent > BUDGET {
            return Err(EvalError::eval(msg::budget_exceeded(BUDGET)));
        }
        Ok(())
    }

    fn next_sequence(&self) -> u64 {
        let n = self.sequence.get();
        self.sequence.set(n + 1);
        n
    }
}
