//! Preparing a deployment: what Azure validates before deploying anything (template
//! structure and expression syntax, parameters, variables, every resource's name, type,
//! apiVersion, scope and copy loop, `dependsOn`, cycles, duplicate IDs, inline nested
//! templates), and the resulting plan of waves.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::context::{Context, DeploymentScope, Mode, ResourceGroup};
use crate::env::Env;
use crate::error::{ErrorKind, TemplateError, wrap};
use crate::eval::{Place, Scope, join_path};
use crate::graph;
use crate::json::{self, Node};
use crate::params::read_parameters;
use crate::resources::{self, Cond, Instance, NestedScope, Target};
use crate::template::Template;

/// The body of a deployment request (`PUT`, `validate`, `whatIf` on
/// `Microsoft.Resources/deployments`), read with positions: Azure's line and column in
/// template errors are those of this body.
#[derive(Debug, Clone)]
pub struct DeploymentRequest {
    /// `properties.template`.
    pub template: Template,
    /// `properties.parameters`, unwrapped from `{"value": …}`.
    pub parameters: Map<String, Value>,
    /// `properties.mode`.
    pub mode: Mode,
    /// `location` (subscription-scope deployments).
    pub location: Option<String>,
}

impl DeploymentRequest {
    /// Reads a request body. A `templateLink` is refused: there is no network to fetch from.
    pub fn parse(body: &str) -> Result<DeploymentRequest, TemplateError> {
        let root = json::parse(body).map_err(|e| wrap::invalid_json(&e.message, e.pos))?;
        let Some(props) = root.get("properties") else {
            return Err(wrap::invalid_request(
                "The request content was invalid: the 'properties' of the deployment are missing.".into(),
            ));
        };
        if let Some(link) = props.get("templateLink") {
            let uri = link.get("uri").or_else(|| link.get("id")).and_then(Node::as_str).unwrap_or_default();
            return Err(wrap::linked_template("(deployment)", uri, link.pos, "properties.templateLink"));
        }
        if props.get("parametersLink").is_some() {
            return Err(wrap::invalid_request(
                "The deployment uses 'parametersLink', and pullsim has no network to fetch parameters from. Pass 'parameters' inline.".into(),
            ));
        }
        let Some(template) = props.get("template") else {
            return Err(wrap::invalid_request(
                "The request content was invalid: the deployment has neither 'template' nor 'templateLink'.".into(),
            ));
        };
        let template = Template::from_node(template.clone(), "properties.template", None)?;
        let parameters = read_parameters(&props.get("parameters").map(Node::to_value).unwrap_or(Value::Null))?;
        let mode = match props.get("mode").and_then(Node::as_str) {
            None => Mode::Incremental,
            Some(m) if m.eq_ignore_ascii_case("incremental") => Mode::Incremental,
            Some(m) if m.eq_ignore_ascii_case("complete") => Mode::Complete,
            Some(m) => {
                return Err(wrap::invalid_request(format!(
                    "The deployment mode '{m}' is not valid: it must be 'Incremental' or 'Complete'."
                )));
            }
        };
        let location = root.get("location").and_then(Node::as_str).map(String::from);
        Ok(DeploymentRequest { template, parameters, mode, location })
    }
}

/// A prepared deployment: validated, expanded into resource instances ordered in waves.
/// Execute it with [`Deployment::start`], preview it with [`Deployment::what_if`].
pub struct Deployment {
    pub(crate) env: Box<Env>,
    /// The template whose resources and outputs this deployment deploys (the nested one for
    /// an outer-scope nested deployment, whose expressions still see the parent's `env`).
    pub(crate) tpl: Template,
    pub(crate) target: Target,
    pub(crate) name: String,
    pub(crate) id: String,
    pub(crate) mode: Mode,
    pub(crate) instances: Vec<Instance>,
    pub(crate) waves: Vec<Vec<usize>>,
    /// Nested deployments prepared ahead (their inputs needed no `reference()`).
    pub(crate) nested: HashMap<usize, Deployment>,
}

impl std::fmt::Debug for Deployment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deployment").field("id", &self.id).field("resources", &self.instances.len()).finish()
    }
}

/// A resource of a prepared deployment, as the host may want to list it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedResource {
    /// Full resource ID (empty for a skipped resource whose name could not be evaluated).
    pub id: String,
    /// Full type.
    pub resource_type: String,
    /// Full name.
    pub name: String,
    /// API version.
    pub api_version: String,
    /// languageVersion 2.0 symbolic name.
    pub symbolic_name: Option<String>,
    /// Whether it deploys: `Some(false)` skipped by its condition, `None` decided at run time.
    pub deploys: Option<bool>,
    /// `existing: true`: read, not deployed.
    pub existing: bool,
    /// The wave it runs in (0 first).
    pub wave: usize,
    /// IDs it waits for.
    pub depends_on: Vec<String>,
}

impl Deployment {
    /// Validates a template with its parameters in a context and plans the deployment. The
    /// error is what Azure answers to `validate`, `whatIf` and the deployment PUT.
    pub fn prepare(
        template: Template,
        parameters: Map<String, Value>,
        ctx: Context,
    ) -> Result<Deployment, TemplateError> {
        let name = ctx.deployment_name.clone();
        let id = ctx.deployment_id();
        let mode = ctx.mode;
        let target = Target { subscription: ctx.subscription_id.clone(), group: ctx.group().map(|g| g.name.clone()) };
        let env = Box::new(Env::new(template.clone(), ctx, parameters));
        env.bind_all()?;
        Deployment::plan(env, template, target, name, id, mode)
    }

    /// Prepares a deployment request.
    pub fn prepare_request(request: DeploymentRequest, mut ctx: Context) -> Result<Deployment, TemplateError> {
        ctx.mode = request.mode;
        if let (DeploymentScope::Subscription { location }, Some(l)) = (&mut ctx.scope, &request.location) {
            *location = l.clone();
        }
        Deployment::prepare(request.template, request.parameters, ctx)
    }

    fn plan(
        env: Box<Env>,
        tpl: Template,
        target: Target,
        name: String,
        id: String,
        mode: Mode,
    ) -> Result<Deployment, TemplateError> {
        let sc = Scope::new(&*env, Place::Static);
        let mut instances = resources::expand(&tpl, sc, &target)?;
        graph::link(&tpl, sc, &mut instances)?;
        check_duplicates(&tpl, &instances)?;
        let waves = graph::waves(&instances)?;
        let mut d = Deployment { env, tpl, target, name, id, mode, instances, waves, nested: HashMap::new() };
        d.prepare_nested_ahead()?;
        Ok(d)
    }

    /// Prepares the nested deployments whose inputs are known before deploying, so their
    /// errors are validation errors, as in Azure.
    fn prepare_nested_ahead(&mut self) -> Result<(), TemplateError> {
        for k in 0..self.instances.len() {
            let inst = &self.instances[k];
            if inst.nested.is_none() || inst.condition != Cond::True {
                continue;
            }
            let Some(body) = inst.body.clone() else { continue };
            let groups = |sub: &str, g: &str| self.known_group(sub, g);
            if let Some(child) = self.prepare_nested(k, &body, &groups)? {
                self.nested.insert(k, child);
            }
        }
        Ok(())
    }

    /// The group `g` as the context knows it (the deployment's own group, or one of
    /// `known_groups`).
    pub(crate) fn known_group(&self, sub: &str, g: &str) -> Option<ResourceGroup> {
        let ctx = &self.env.ctx;
        if !sub.eq_ignore_ascii_case(&ctx.subscription_id) {
            return ctx
                .known_groups
                .iter()
                .find(|(s, kg)| s.eq_ignore_ascii_case(sub) && kg.name.eq_ignore_ascii_case(g))
                .map(|(_, kg)| kg.clone());
        }
        if let Some(own) = ctx.group()
            && own.name.eq_ignore_ascii_case(g)
        {
            return Some(own.clone());
        }
        ctx.known_groups
            .iter()
            .find(|(s, kg)| s.eq_ignore_ascii_case(sub) && kg.name.eq_ignore_ascii_case(g))
            .map(|(_, kg)| kg.clone())
    }

    /// Prepares the nested deployment of instance `k` from its evaluated body; `None` when its
    /// target group is not known yet (prepared when it runs).
    pub(crate) fn prepare_nested(
        &self,
        k: usize,
        body: &Value,
        groups: &dyn Fn(&str, &str) -> Option<ResourceGroup>,
    ) -> Result<Option<Deployment>, TemplateError> {
        let inst = &self.instances[k];
        let decl = &self.tpl.resources[inst.decl];
        let Some(tnode) = decl.node.get("properties").and_then(|p| p.get("template")) else { return Ok(None) };
        let tpath = join_path(&join_path(&decl.path, "properties"), "template");
        let scope = inst.nested.unwrap_or(NestedScope::Outer);
        let child_target = inst.target.clone();
        let child_id = inst.id.clone();
        let mode = match body.pointer("/properties/mode").and_then(Value::as_str) {
            Some(m) if m.eq_ignore_ascii_case("complete") => Mode::Complete,
            _ => Mode::Incremental,
        };
        match scope {
            NestedScope::Outer => {
                let child_tpl = Template::from_node(tnode.clone(), &tpath, Some(&self.env.template.functions))?;
                let env = Box::new((*self.env).clone());
                Deployment::plan(env, child_tpl, child_target, inst.name.clone(), child_id, mode).map(Some)
            }
            NestedScope::Inner => {
                let child_tpl = Template::from_node(tnode.clone(), &tpath, None)?;
                let params = match body.pointer("/properties/parameters") {
                    Some(p) => read_parameters(p)?,
                    None => Map::new(),
                };
                let parent = &self.env.ctx;
                let scope = match &child_target.group {
                    Some(g) => match groups(&child_target.subscription, g) {
                        Some(rg) => DeploymentScope::ResourceGroup(rg),
                        None => return Ok(None),
                    },
                    None => DeploymentScope::Subscription {
                        location: match &parent.scope {
                            DeploymentScope::Subscription { location } => location.clone(),
                            DeploymentScope::ResourceGroup(g) => g.location.clone(),
                        },
                    },
                };
                let ctx = Context {
                    subscription_id: child_target.subscription.clone(),
                    scope,
                    deployment_name: inst.name.clone(),
                    mode,
                    ..parent.clone()
                };
                let env = Box::new(Env::new(child_tpl.clone(), ctx, params));
                env.bind_all()?;
                Deployment::plan(env, child_tpl, child_target, inst.name.clone(), child_id, mode).map(Some)
            }
        }
    }

    /// Asks the host's providers to validate every resource whose body is known before
    /// deploying (nested deployments prepared ahead included), as Azure's preflight does; the
    /// refusals are the details of one `InvalidTemplateDeployment`.
    pub fn preflight(&self, host: &mut dyn crate::Host) -> Result<(), TemplateError> {
        let mut details = Vec::new();
        self.collect_preflight(host, &mut details);
        if details.is_empty() {
            return Ok(());
        }
        let tracking = crate::hash::guid(&["preflight", &self.id]);
        Err(wrap::invalid_deployment(&self.name, &tracking, details))
    }

    fn collect_preflight(&self, host: &mut dyn crate::Host, details: &mut Vec<crate::ErrorDetail>) {
        for (k, i) in self.instances.iter().enumerate() {
            if i.condition == Cond::False || i.existing {
                continue;
            }
            if i.nested.is_some() {
                if let Some(child) = self.nested.get(&k) {
                    child.collect_preflight(host, details);
                }
                continue;
            }
            let Some(body) = &i.body else { continue };
            let request = crate::PutRequest { id: &i.id, resource_type: &i.ty, api_version: &i.api_version, body };
            if let Err(e) = host.validate(&request) {
                details.push(e.error);
            }
        }
    }

    /// The deployment's resource ID.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The deployment's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The deployment mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The bound parameter values (supplied or defaults), in declaration order.
    pub fn parameters(&self) -> Map<String, Value> {
        self.env.parameter_values()
    }

    /// Parameters as the deployment's `properties.parameters` shows them:
    /// `{"name": {"type": "String", "value": …}}` (secure values left out, as Azure does).
    pub fn parameters_json(&self) -> Value {
        let values = self.env.parameter_values();
        let mut out = Map::new();
        for p in &self.env.template.parameters {
            let ty = p.decl.get("type").and_then(Node::as_str).unwrap_or("Object");
            let mut entry = Map::new();
            entry.insert("type".into(), Value::String(type_label(ty)));
            if !ty.to_ascii_lowercase().starts_with("secure")
                && let Some(v) = values.get(&p.name)
            {
                entry.insert("value".into(), v.clone());
            }
            out.insert(p.name.clone(), Value::Object(entry));
        }
        Value::Object(out)
    }

    /// The resources of the plan, in template order.
    pub fn resources(&self) -> Vec<PlannedResource> {
        let wave_of = |k: usize| self.waves.iter().position(|w| w.contains(&k)).unwrap_or_default();
        self.instances
            .iter()
            .enumerate()
            .map(|(k, i)| PlannedResource {
                id: i.id.clone(),
                resource_type: i.ty.clone(),
                name: i.name.clone(),
                api_version: i.api_version.clone(),
                symbolic_name: i.symbolic.clone(),
                deploys: match i.condition {
                    Cond::True => Some(true),
                    Cond::False => Some(false),
                    Cond::Deferred => None,
                },
                existing: i.existing,
                wave: wave_of(k),
                depends_on: i.depends.iter().map(|&d| self.instances[d].id.clone()).collect(),
            })
            .collect()
    }

    /// The waves: IDs of the resources that may deploy together, in order (resources skipped
    /// by their condition and `existing` ones, which are read, not deployed, left out).
    pub fn waves(&self) -> Vec<Vec<String>> {
        self.waves
            .iter()
            .map(|w| {
                w.iter()
                    .map(|&k| &self.instances[k])
                    .filter(|i| i.condition != Cond::False && !i.existing)
                    .map(|i| i.id.clone())
                    .collect::<Vec<_>>()
            })
            .filter(|w| !w.is_empty())
            .collect()
    }

    /// The template hash Azure reports (`properties.templateHash`): here the `uniqueString`
    /// of the template's JSON, stable for the same template.
    pub fn template_hash(&self) -> String {
        crate::hash::unique_string(&[&self.tpl.root.to_value().to_string()])
    }

    /// `properties.dependencies` of the deployment, in Azure's shape.
    pub fn dependencies_json(&self) -> Value {
        let mut out = Vec::new();
        for i in &self.instances {
            if i.depends.is_empty() || i.condition == Cond::False || i.existing {
                continue;
            }
            let deps: Vec<Value> = i
                .depends
                .iter()
                .map(|&d| {
                    let o = &self.instances[d];
                    serde_json::json!({"id": o.id, "resourceType": o.ty, "resourceName": o.name})
                })
                .collect();
            out.push(serde_json::json!({"dependsOn": deps, "id": i.id, "resourceType": i.ty, "resourceName": i.name}));
        }
        Value::Array(out)
    }
}

/// Azure's capitalisation of a declared type in parameters and outputs (`String`, `Int`,
/// `Bool`, `Object`, `Array`, `SecureString`, `SecureObject`).
pub(crate) fn type_label(ty: &str) -> String {
    match ty.to_ascii_lowercase().as_str() {
        "string" => "String".into(),
        "int" => "Int".into(),
        "bool" => "Bool".into(),
        "object" => "Object".into(),
        "array" => "Array".into(),
        "securestring" => "SecureString".into(),
        "secureobject" => "SecureObject".into(),
        other => {
            let mut c = other.chars();
            c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
        }
    }
}

fn check_duplicates(t: &Template, instances: &[Instance]) -> Result<(), TemplateError> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (k, i) in instances.iter().enumerate() {
        if i.condition == Cond::False || i.existing || i.id.is_empty() {
            continue;
        }
        if seen.insert(crate::ids::normalize(&i.id), k).is_some() {
            let decl = &t.resources[i.decl];
            return Err(wrap::duplicate_resource(&i.id, decl.node.pos, &decl.path));
        }
    }
    Ok(())
}

/// An error for a nested deployment that failed to prepare when it ran.
pub(crate) fn nested_failed(e: &TemplateError) -> crate::error::ErrorDetail {
    let mut d = e.to_detail();
    if e.kind == ErrorKind::InvalidJson {
        d.code = "InvalidTemplate".into();
    }
    d
}
