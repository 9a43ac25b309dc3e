//! Running a prepared deployment against a [`Host`]: wave by wave, each resource's body
//! evaluated when its wave runs (so `reference()` and `list*()` see resources deployed
//! before), PUT through the host; nested deployments run by this engine itself, recursively,
//! and reported to the host so it can keep their records; then the outputs.
//!
//! A resource whose dependency failed is not attempted; resources independent of the
//! failure still deploy (as Azure does), and the deployment ends `Failed` with
//! `DeploymentFailed` listing each failed resource's error.

use std::cell::RefCell;
use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::context::ResourceGroup;
use crate::deploy::{Deployment, nested_failed, type_label};
use crate::error::{ErrorDetail, EvalError, HostError, msg, run};
use crate::eval::Frames;
use crate::eval::{NodeOptions, Place, Resolver, Scope, eval_node, join_path};
use crate::graph::resolve_target;
use crate::ids;
use crate::json::Node;
use crate::resources::{self, Cond};
use crate::value::type_name;

/// The outside world a deployment acts on. The fake ARM implements it over its store; a
/// test implements it over a `HashMap`.
pub trait Host {
    /// Creates or updates a resource: what ARM's PUT of `request.id` answers (the status and
    /// the resource as the provider returns it), or the provider's error.
    fn put(&mut self, request: &PutRequest<'_>) -> Result<PutResponse, HostError>;

    /// The provider's preflight validation of a PUT (what `validate` and the deployment PUT
    /// ask each provider before deploying anything). The default accepts everything.
    fn validate(&mut self, request: &PutRequest<'_>) -> Result<(), HostError> {
        let _ = request;
        Ok(())
    }

    /// Reads a resource (`None` when it does not exist). `api_version` is the one the
    /// template gave, if any.
    fn get(&mut self, id: &str, api_version: Option<&str>) -> Result<Option<Value>, HostError>;

    /// A POST action on a resource (`listKeys`, `listCredentials`…), for the `list*`
    /// functions.
    fn post(&mut self, id: &str, action: &str, api_version: &str, body: Option<&Value>) -> Result<Value, HostError>;

    /// A resource group, for nested deployments into another group (`resourceGroup()` there
    /// needs its location). The default knows none (such a deployment then fails to run).
    fn resource_group(&mut self, subscription: &str, name: &str) -> Result<Option<ResourceGroup>, HostError> {
        let _ = (subscription, name);
        Ok(None)
    }

    /// A nested deployment finished: the host keeps its record (`Microsoft.Resources/
    /// deployments/{name}` at its scope, with its operations) so GET and listing show it.
    fn nested_deployment_finished(&mut self, result: &DeploymentResult) -> Result<(), HostError> {
        let _ = result;
        Ok(())
    }

    /// The resources under a scope (a group's ID), for what-if in Complete mode.
    fn list(&mut self, scope: &str) -> Result<Vec<Value>, HostError> {
        let _ = scope;
        Ok(Vec::new())
    }

    /// JSON paths (`properties.provisioningState`) of the properties of a type that the
    /// provider owns: what-if does not report them, export leaves them out.
    fn read_only_properties(&self, resource_type: &str) -> Vec<String> {
        let _ = resource_type;
        Vec::new()
    }
}

/// A PUT the deployment makes.
#[derive(Debug, Clone, Copy)]
pub struct PutRequest<'a> {
    /// Full resource ID.
    pub id: &'a str,
    /// Full type.
    pub resource_type: &'a str,
    /// The template's `apiVersion`.
    pub api_version: &'a str,
    /// The body (the resource without the template engine's keys).
    pub body: &'a Value,
}

/// A provider's answer to a PUT.
#[derive(Debug, Clone, PartialEq)]
pub struct PutResponse {
    /// 200 or 201 (or 202 for an accepted long-running operation that completed).
    pub status: u16,
    /// The resource as answered.
    pub body: Value,
}

/// Azure's provisioning states of a deployment and of its operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisioningState {
    /// Not finished.
    Running,
    /// Finished, everything deployed.
    Succeeded,
    /// Finished, something failed.
    Failed,
    /// Stopped by a cancel.
    Canceled,
}

impl ProvisioningState {
    /// Azure's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ProvisioningState::Running => "Running",
            ProvisioningState::Succeeded => "Succeeded",
            ProvisioningState::Failed => "Failed",
            ProvisioningState::Canceled => "Canceled",
        }
    }
}

/// What an operation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisioningOperation {
    /// A PUT of a resource (or a nested deployment).
    Create,
    /// The outputs' evaluation.
    EvaluateDeploymentOutput,
}

impl ProvisioningOperation {
    /// Azure's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ProvisioningOperation::Create => "Create",
            ProvisioningOperation::EvaluateDeploymentOutput => "EvaluateDeploymentOutput",
        }
    }
}

/// The resource an operation acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetResource {
    /// Full ID.
    pub id: String,
    /// Full type.
    pub resource_type: String,
    /// Full name.
    pub resource_name: String,
    /// API version used.
    pub api_version: String,
    /// languageVersion 2.0 symbolic name.
    pub symbolic_name: Option<String>,
}

/// One entry of the deployment's `operations` listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// Stable ID (16 upper-case hex digits derived from the deployment and the resource).
    pub operation_id: String,
    /// What was done.
    pub provisioning_operation: ProvisioningOperation,
    /// How it ended.
    pub provisioning_state: ProvisioningState,
    /// HTTP status the provider answered (0 when nothing was sent).
    pub status_code: u16,
    /// The error, for a failed operation.
    pub error: Option<ErrorDetail>,
    /// The resource.
    pub target: Option<TargetResource>,
}

impl Operation {
    /// `statusCode` as Azure spells it (`OK`, `Created`, `BadRequest`…).
    pub fn status_code_name(&self) -> &'static str {
        match self.status_code {
            200 => "OK",
            201 => "Created",
            202 => "Accepted",
            204 => "NoContent",
            400 => "BadRequest",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "NotFound",
            409 => "Conflict",
            412 => "PreconditionFailed",
            429 => "TooManyRequests",
            500 => "InternalServerError",
            _ => "Unknown",
        }
    }

    /// The operation as `GET …/deployments/{name}/operations` lists it; `timestamp` is the
    /// host's clock.
    pub fn to_json(&self, deployment_id: &str, timestamp: &str) -> Value {
        let mut props = json!({
            "provisioningOperation": self.provisioning_operation.as_str(),
            "provisioningState": self.provisioning_state.as_str(),
            "timestamp": timestamp,
            "duration": "PT0S",
            "trackingId": crate::hash::guid(&["tracking", deployment_id, &self.operation_id]),
        });
        if self.status_code != 0 {
            props["statusCode"] = json!(self.status_code_name());
        }
        if let Some(e) = &self.error {
            props["statusMessage"] = json!({"status": "Failed", "error": e.to_json()});
        }
        if let Some(t) = &self.target {
            let mut target = json!({
                "id": t.id,
                "resourceType": t.resource_type,
                "resourceName": t.resource_name,
                "apiVersion": t.api_version,
            });
            if let Some(s) = &t.symbolic_name {
                target["symbolicName"] = json!(s);
            }
            props["targetResource"] = target;
        }
        json!({
            "id": format!("{deployment_id}/operations/{}", self.operation_id),
            "operationId": self.operation_id,
            "properties": props,
        })
    }
}

/// How a deployment ended.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentResult {
    /// The deployment's resource ID.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Final state.
    pub provisioning_state: ProvisioningState,
    /// `{"name": {"type": "String", "value": …}}`.
    pub outputs: Map<String, Value>,
    /// IDs of the resources deployed.
    pub output_resources: Vec<String>,
    /// The operations, in the order they ran.
    pub operations: Vec<Operation>,
    /// `DeploymentFailed` (or `DeploymentOutputEvaluationFailed`, `DeploymentCanceled`) with
    /// details.
    pub error: Option<ErrorDetail>,
    /// `properties.parameters` (secure values left out).
    pub parameters: Value,
    /// `properties.dependencies`.
    pub dependencies: Value,
    /// `properties.mode`.
    pub mode: crate::Mode,
    /// `properties.templateHash`.
    pub template_hash: String,
    /// Nested deployments that ran inside this one (already reported to the host).
    pub nested: Vec<DeploymentResult>,
}

impl DeploymentResult {
    /// The deployment's `properties` as Azure shows them (the host adds `timestamp`,
    /// `duration` and `correlationId`).
    pub fn properties_json(&self) -> Value {
        let mut p = json!({
            "provisioningState": self.provisioning_state.as_str(),
            "mode": self.mode.as_str(),
            "templateHash": self.template_hash,
            "parameters": self.parameters,
            "outputs": self.outputs,
            "outputResources": self.output_resources.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
            "dependencies": self.dependencies,
        });
        if let Some(e) = &self.error {
            p["error"] = e.to_json();
        }
        p
    }

    /// The operations as `GET …/operations` lists them.
    pub fn operations_json(&self, timestamp: &str) -> Value {
        json!({"value": self.operations.iter().map(|o| o.to_json(&self.id, timestamp)).collect::<Vec<_>>()})
    }
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    Pending,
    Skipped,
    Succeeded,
    Failed,
    /// Not attempted: a dependency failed, or the deployment was canceled.
    NotRun,
}

/// A deployment running: call [`Execution::step`] per wave (or [`Execution::run`]), then
/// [`Execution::finish`]. [`Execution::cancel`] stops it between waves.
pub struct Execution {
    dep: Deployment,
    states: Vec<State>,
    next_wave: usize,
    canceled: bool,
    operations: Vec<Operation>,
    nested_results: HashMap<usize, DeploymentResult>,
    failures: Vec<ErrorDetail>,
}

impl Deployment {
    /// Starts running the deployment.
    pub fn start(self) -> Execution {
        let n = self.instances.len();
        Execution {
            dep: self,
            states: vec![State::Pending; n],
            next_wave: 0,
            canceled: false,
            operations: Vec::new(),
            nested_results: HashMap::new(),
            failures: Vec::new(),
        }
    }

    /// Runs the whole deployment.
    pub fn execute(self, host: &mut dyn Host) -> DeploymentResult {
        let mut x = self.start();
        x.run(host);
        x.finish(host)
    }
}

fn operation_id(deployment_id: &str, resource_id: &str) -> String {
    crate::hash::guid(&[deployment_id, resource_id]).replace('-', "")[..16].to_ascii_uppercase()
}

impl Execution {
    pub(crate) fn deployment(&self) -> &Deployment {
        &self.dep
    }

    pub(crate) fn dep_instance(&self, k: usize) -> &crate::resources::Instance {
        &self.dep.instances[k]
    }

    pub(crate) fn decl_node(&self, k: usize) -> &Node {
        &self.dep.tpl.resources[self.dep.instances[k].decl].node
    }

    pub(crate) fn decl_path(&self, k: usize) -> &str {
        &self.dep.tpl.resources[self.dep.instances[k].decl].path
    }

    /// Whether waves remain.
    pub fn is_done(&self) -> bool {
        self.canceled || self.next_wave >= self.dep.waves.len()
    }

    /// Stops before the next wave: what is not deployed yet will not be.
    pub fn cancel(&mut self) {
        self.canceled = true;
    }

    /// Runs every remaining wave.
    pub fn run(&mut self, host: &mut dyn Host) {
        while self.step(host) {}
    }

    /// Runs the next wave; false when there was none.
    pub fn step(&mut self, host: &mut dyn Host) -> bool {
        if self.is_done() {
            return false;
        }
        let wave = self.dep.waves[self.next_wave].clone();
        self.next_wave += 1;
        for k in wave {
            self.deploy_one(k, host);
        }
        true
    }

    fn deploy_one(&mut self, k: usize, host: &mut dyn Host) {
        let inst = self.dep.instances[k].clone();
        if inst.condition == Cond::False {
            self.states[k] = State::Skipped;
            return;
        }
        if inst.depends.iter().any(|&d| matches!(self.states[d], State::Failed | State::NotRun)) {
            self.states[k] = State::NotRun;
            return;
        }
        let decl = &self.dep.tpl.resources[inst.decl];
        let frames = inst.frames();
        let (outcome, condition) = {
            let runtime = Runtime { x: self, host: RefCell::new(host), what_if: false };
            let sc = scope_for(&self.dep, frames.as_ref(), Some(&runtime));
            let condition = match inst.condition {
                Cond::Deferred => decl
                    .node
                    .get("condition")
                    .map(|c| eval_node(c, sc, &join_path(&decl.path, "condition"), NodeOptions::default())),
                _ => None,
            };
            let condition = match condition {
                None => Ok(true),
                Some(Ok(Value::Bool(b))) => Ok(b),
                Some(Ok(other)) => Err((
                    ErrorDetail::new(
                        "InvalidTemplate",
                        format!(
                            "The template condition must evaluate to a boolean; it is of type '{}'.",
                            type_name(&other)
                        ),
                    ),
                    400,
                )),
                Some(Err(e)) => Err(expression_failure(&inst.id, decl.node.pos, e.err)),
            };
            let outcome = match (&condition, &inst.body) {
                (Ok(true), Some(b)) if !inst.existing => Some(Ok(b.clone())),
                (Ok(true), None) if !inst.existing => Some(
                    resources::body(&decl.node, sc, &decl.path, inst.nested.is_some(), false)
                        .map_err(|e| expression_failure(&inst.id, decl.node.pos, e.err)),
                ),
                _ => None,
            };
            (outcome, condition)
        };
        let condition = match condition {
            Ok(c) => c,
            Err((e, status)) => return self.fail(k, e, status),
        };
        if !condition {
            self.states[k] = State::Skipped;
            return;
        }
        if inst.existing {
            self.states[k] = State::Succeeded;
            return;
        }
        let body = match outcome {
            Some(Ok(b)) => b,
            Some(Err((e, status))) => return self.fail(k, e, status),
            None => {
                return self.fail(
                    k,
                    ErrorDetail::new("InvalidTemplate", "The resource body could not be evaluated."),
                    400,
                );
            }
        };
        if inst.nested.is_some() {
            return self.run_nested(k, &body, host);
        }
        let request = PutRequest { id: &inst.id, resource_type: &inst.ty, api_version: &inst.api_version, body: &body };
        match host.put(&request) {
            Ok(resp) => {
                self.states[k] = State::Succeeded;
                self.operations.push(self.operation(k, ProvisioningState::Succeeded, resp.status, None));
            }
            Err(e) => self.fail(k, e.error, e.status),
        }
    }

    fn run_nested(&mut self, k: usize, body: &Value, host: &mut dyn Host) {
        let prepared = match self.dep.nested.remove(&k) {
            Some(p) => Ok(Some(p)),
            None => {
                let groups = RefCell::new(&mut *host);
                let lookup = |sub: &str, g: &str| {
                    self.dep.known_group(sub, g).or_else(|| groups.borrow_mut().resource_group(sub, g).ok().flatten())
                };
                self.dep.prepare_nested(k, body, &lookup)
            }
        };
        let child = match prepared {
            Ok(Some(c)) => c,
            Ok(None) => {
                let inst = &self.dep.instances[k];
                let group = inst.target.group.clone().unwrap_or_default();
                return self.fail(
                    k,
                    ErrorDetail::new("ResourceGroupNotFound", format!("Resource group '{group}' could not be found.")),
                    404,
                );
            }
            Err(e) => return self.fail(k, nested_failed(&e), 400),
        };
        let result = child.execute(host);
        let _ = host.nested_deployment_finished(&result);
        let state = result.provisioning_state;
        if state == ProvisioningState::Succeeded {
            self.states[k] = State::Succeeded;
            self.operations.push(self.operation(k, ProvisioningState::Succeeded, 200, None));
        } else {
            let err = result.error.clone().unwrap_or_else(|| run::canceled(&result.id));
            self.fail(k, err, 400);
        }
        self.nested_results.insert(k, result);
    }

    fn operation(&self, k: usize, state: ProvisioningState, status: u16, error: Option<ErrorDetail>) -> Operation {
        let inst = &self.dep.instances[k];
        Operation {
            operation_id: operation_id(&self.dep.id, &inst.id),
            provisioning_operation: ProvisioningOperation::Create,
            provisioning_state: state,
            status_code: status,
            error,
            target: Some(TargetResource {
                id: inst.id.clone(),
                resource_type: inst.ty.clone(),
                resource_name: inst.name.clone(),
                api_version: inst.api_version.clone(),
                symbolic_name: inst.symbolic.clone(),
            }),
        }
    }

    fn fail(&mut self, k: usize, error: ErrorDetail, status: u16) {
        self.states[k] = State::Failed;
        self.failures.push(error.clone());
        self.operations.push(self.operation(k, ProvisioningState::Failed, status, Some(error)));
    }

    /// Evaluates the outputs (when everything deployed) and ends the deployment.
    pub fn finish(mut self, host: &mut dyn Host) -> DeploymentResult {
        if self.canceled {
            for s in &mut self.states {
                if *s == State::Pending {
                    *s = State::NotRun;
                }
            }
        }
        let mut outputs = Map::new();
        let mut error = None;
        let mut state = ProvisioningState::Succeeded;
        if !self.failures.is_empty() {
            state = ProvisioningState::Failed;
            error = Some(run::deployment_failed(&self.dep.id, self.failures.clone()));
        } else if self.canceled {
            state = ProvisioningState::Canceled;
            error = Some(run::canceled(&self.dep.id));
        } else {
            match self.outputs(host) {
                Ok(o) => outputs = o,
                Err(details) => {
                    state = ProvisioningState::Failed;
                    self.operations.push(Operation {
                        operation_id: operation_id(&self.dep.id, "outputs"),
                        provisioning_operation: ProvisioningOperation::EvaluateDeploymentOutput,
                        provisioning_state: ProvisioningState::Failed,
                        status_code: 400,
                        error: Some(details[0].clone()),
                        target: None,
                    });
                    error = Some(run::outputs_failed(&self.dep.id, details));
                }
            }
        }
        let output_resources = self
            .dep
            .instances
            .iter()
            .zip(&self.states)
            .filter(|(i, s)| **s == State::Succeeded && !i.existing)
            .map(|(i, _)| i.id.clone())
            .collect();
        let mut nested: Vec<(usize, DeploymentResult)> = self.nested_results.drain().collect();
        nested.sort_by_key(|(k, _)| *k);
        DeploymentResult {
            id: self.dep.id.clone(),
            name: self.dep.name.clone(),
            provisioning_state: state,
            outputs,
            output_resources,
            operations: self.operations.clone(),
            error,
            parameters: self.dep.parameters_json(),
            dependencies: self.dep.dependencies_json(),
            mode: self.dep.mode,
            template_hash: self.dep.template_hash(),
            nested: nested.into_iter().map(|(_, r)| r).collect(),
        }
    }

    fn outputs(&mut self, host: &mut dyn Host) -> Result<Map<String, Value>, Vec<ErrorDetail>> {
        let runtime = Runtime { x: self, host: RefCell::new(host), what_if: false };
        let sc = scope_for(&self.dep, None, Some(&runtime));
        let mut out = Map::new();
        let mut errors = Vec::new();
        for o in &self.dep.tpl.outputs {
            match output_value(o, sc) {
                Ok(Some((ty, v))) => {
                    let mut entry = Map::new();
                    entry.insert("type".into(), Value::String(type_label(&ty)));
                    if !ty.to_ascii_lowercase().starts_with("secure") {
                        entry.insert("value".into(), v);
                    }
                    out.insert(o.name.clone(), Value::Object(entry));
                }
                Ok(None) => {}
                Err(inner) => errors.push(run::output_failed(&o.name, &inner)),
            }
        }
        if errors.is_empty() { Ok(out) } else { Err(errors) }
    }
}

/// One output: its declared type and value (`None` when its condition is false).
fn output_value(o: &crate::template::OutputDecl, sc: Scope<'_>) -> Result<Option<(String, Value)>, String> {
    let text = |e: EvalError| match e {
        EvalError::Failed(f) => format!("{} ", f.message.trim_end()),
        EvalError::Deferred => "The output could not be evaluated. ".into(),
    };
    if let Some(c) = o.node.get("condition") {
        match eval_node(c, sc, &join_path(&o.path, "condition"), NodeOptions::default()) {
            Ok(Value::Bool(false)) => return Ok(None),
            Ok(_) => {}
            Err(e) => return Err(text(e.err)),
        }
    }
    let ty = o.node.get("type").and_then(Node::as_str).unwrap_or("object").to_string();
    let value = match (o.node.get("copy"), o.node.get("value")) {
        (Some(copy), _) => {
            let count_node = copy.get("count").ok_or_else(|| "The output copy needs a 'count'. ".to_string())?;
            let count = eval_node(count_node, sc, &o.path, NodeOptions::default()).map_err(|e| text(e.err))?;
            let count = resources::copy_count(&count).map_err(text)?;
            let input = copy.get("input").ok_or_else(|| "The output copy needs an 'input'. ".to_string())?;
            let mut items = Vec::with_capacity(count);
            for i in 0..count {
                let frames = Frames {
                    frame: crate::eval::Frame::Copy { name: &o.name, index: i as i64, named_only: false },
                    parent: sc.frames,
                };
                items.push(
                    eval_node(input, sc.push(&frames), &o.path, NodeOptions::default()).map_err(|e| text(e.err))?,
                );
            }
            Value::Array(items)
        }
        (None, Some(v)) => {
            eval_node(v, sc, &join_path(&o.path, "value"), NodeOptions::default()).map_err(|e| text(e.err))?
        }
        (None, None) => return Err("The output has no 'value'. ".into()),
    };
    let nullable_null = value.is_null() && o.node.get("nullable").is_some();
    if !(output_type_ok(&ty, &value) || nullable_null) {
        let expected = match ty.to_ascii_lowercase().as_str() {
            "string" | "securestring" => "String",
            "int" => "Integer",
            "bool" => "Boolean",
            "array" => "Array",
            _ => "Object",
        };
        return Err(run::output_type(expected, type_name(&value)));
    }
    Ok(Some((ty, value)))
}

fn output_type_ok(ty: &str, v: &Value) -> bool {
    match ty.to_ascii_lowercase().as_str() {
        "string" | "securestring" => v.is_string(),
        "int" => v.as_i64().is_some(),
        "bool" => v.is_boolean(),
        "object" | "secureobject" => v.is_object(),
        "array" => v.is_array(),
        _ => true,
    }
}

/// An expression failure while deploying a resource, as the operation reports it: the host's
/// error when a host call failed, else Azure's "Unable to process template language
/// expressions".
fn expression_failure(id: &str, pos: crate::json::Pos, err: EvalError) -> (ErrorDetail, u16) {
    match err {
        EvalError::Failed(f) => match f.host {
            Some(h) => (h.error, h.status),
            None => (run::expression_failed(id, pos, &f.message), 400),
        },
        EvalError::Deferred => (run::expression_failed(id, pos, "The expression could not be evaluated."), 400),
    }
}

/// The scope of a running deployment's expressions.
pub(crate) fn scope_for<'a>(
    dep: &'a Deployment,
    frames: Option<&'a Frames<'a>>,
    resolver: Option<&'a dyn Resolver>,
) -> Scope<'a> {
    Scope { base: &*dep.env, place: Place::Runtime, frames, resolver }
}

/// Answers `reference()` and `list*()` while a deployment runs (or for what-if, where a
/// resource that does not exist yet leaves its expression unevaluated).
pub(crate) struct Runtime<'x> {
    pub x: &'x Execution,
    pub host: RefCell<&'x mut dyn Host>,
    pub what_if: bool,
}

impl Runtime<'_> {
    /// The instance of this deployment a target names, if any.
    fn local(&self, target: &str) -> Result<Option<usize>, EvalError> {
        let dep = &self.x.dep;
        match resolve_target(&dep.tpl, &dep.instances, target) {
            Some(hits) if !hits.is_empty() => Ok(Some(hits[0])),
            _ if target.starts_with('/') => Ok(None),
            _ => Err(EvalError::eval(msg::reference_not_found(target))),
        }
    }

    fn not_found(id: &str) -> EvalError {
        let parsed = ids::parse(id);
        let shown = parsed.as_ref().map_or_else(|| id.to_string(), ids::ParsedId::type_and_name);
        let group = parsed.and_then(|p| p.resource_group).unwrap_or_default();
        EvalError::host(HostError::new(404, "ResourceNotFound", msg::resource_not_found(&shown, &group)))
    }
}

impl Resolver for Runtime<'_> {
    fn reference(&self, target: &str, api_version: Option<&str>, full: bool) -> Result<Value, EvalError> {
        let dep = &self.x.dep;
        let (id, api) = match self.local(target)? {
            Some(k) => {
                let inst = &dep.instances[k];
                match &self.x.states[k] {
                    State::Skipped => return Err(EvalError::eval(msg::reference_skipped(target))),
                    _ if inst.condition == Cond::False => return Err(EvalError::eval(msg::reference_skipped(target))),
                    _ => {}
                }
                if inst.nested.is_some() {
                    if let Some(r) = self.x.nested_results.get(&k) {
                        let props = r.properties_json();
                        return Ok(if full {
                            json!({"id": r.id, "name": r.name, "type": "Microsoft.Resources/deployments", "properties": props})
                        } else {
                            props
                        });
                    }
                    if self.what_if {
                        return Err(EvalError::Deferred);
                    }
                }
                (inst.id.clone(), Some(api_version.unwrap_or(&inst.api_version).to_string()))
            }
            None if api_version.is_none() && !self.what_if => {
                return Err(EvalError::eval(msg::reference_needs_api_version(target)));
            }
            None => (target.to_string(), api_version.map(String::from)),
        };
        let got = self.host.borrow_mut().get(&id, api.as_deref()).map_err(EvalError::host)?;
        match got {
            Some(v) => Ok(if full { v } else { v.get("properties").cloned().unwrap_or_else(|| json!({})) }),
            None if self.what_if => Err(EvalError::Deferred),
            None => Err(Runtime::not_found(&id)),
        }
    }

    fn list(&self, action: &str, target: &str, api_version: &str, body: Option<&Value>) -> Result<Value, EvalError> {
        let id = match self.local(target)? {
            Some(k) => self.x.dep.instances[k].id.clone(),
            None => target.to_string(),
        };
        if self.what_if && self.host.borrow_mut().get(&id, Some(api_version)).map_err(EvalError::host)?.is_none() {
            return Err(EvalError::Deferred);
        }
        self.host.borrow_mut().post(&id, action, api_version, body).map_err(EvalError::host)
    }
}
