//! The Azure Resource Manager template language, evaluated for real: what
//! `Microsoft.Resources/deployments` (validate, what-if, create) and `exportTemplate` need.
//! It knows nothing of pullsim's store or sockets: the deployment acts on the world through
//! the [`Host`] trait, which the fake ARM implements over its store (and a test over a map).
//!
//! # Layout
//!
//! - `json` — a JSON reader keeping the line and column of every value (Azure's errors name
//!   them), comments and CRLF accepted like Newtonsoft.
//! - `expr` — which strings are expressions (`[…]`, `[[` escapes) and their syntax.
//! - `error` — every error and message the engine answers, worded as Azure words them, with
//!   the sources that confirm each.
//! - `value` — Azure's view of JSON values: type names, case-insensitive members, text.
//! - `hash` — `uniqueString` and `guid`, bit for bit Azure's.
//! - `dotnet` — .NET composite, numeric and date format strings (`format`, `utcNow`).
//! - `context` — the deployment context: subscription, group, tenant, clock, environment.
//! - `eval` — evaluating expressions and template JSON in a scope (copy loops, lambdas,
//!   user-defined functions, the functions allowed where).
//! - `functions` — the template functions by family, one dispatch by name.
//! - `template` — a template read into declarations, structure and syntax checked.
//! - `params` — parameter values: types, user-defined types, allowed values, limits.
//! - `env` — the template level of evaluation: parameters and variables, evaluated once.
//! - `resources` — resources expanded into instances: copy, children, conditions, scopes, IDs.
//! - `graph` — `dependsOn` and implicit dependencies into waves, or a cycle error.
//! - `ids` — resource IDs built and parsed.
//! - `deploy` — [`Deployment::prepare`]: validation and planning; the request body reader.
//! - `exec` — [`Host`], running the waves, nested deployments, operations, results.
//! - `whatif` — the change list of `whatIf`.
//! - `export` — the template of `az group export`.
//!
//! # Example
//!
//! How the fake ARM answers `PUT …/resourceGroups/{rg}/providers/Microsoft.Resources/
//! deployments/{name}` (validate and what-if differ only in the last call):
//!
//! ```
//! use arm_template::{Context, Deployment, DeploymentRequest, Host, HostError, PutRequest, PutResponse, ResourceGroup};
//! use serde_json::{Value, json};
//! use std::collections::HashMap;
//!
//! /// The host: here a map of resource IDs; in pullsim the ARM store.
//! struct Store(HashMap<String, Value>);
//! impl Host for Store {
//!     fn put(&mut self, r: &PutRequest<'_>) -> Result<PutResponse, HostError> {
//!         let mut v = r.body.clone();
//!         v["id"] = json!(r.id);
//!         self.0.insert(r.id.to_lowercase(), v.clone());
//!         Ok(PutResponse { status: 201, body: v })
//!     }
//!     fn get(&mut self, id: &str, _api: Option<&str>) -> Result<Option<Value>, HostError> {
//!         Ok(self.0.get(&id.to_lowercase()).cloned())
//!     }
//!     fn post(&mut self, id: &str, action: &str, _api: &str, _body: Option<&Value>) -> Result<Value, HostError> {
//!         Err(HostError::new(404, "ResourceNotFound", format!("{id}/{action}")))
//!     }
//! }
//!
//! let body = r#"{"properties": {"mode": "Incremental", "template": {
//!     "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
//!     "contentVersion": "1.0.0.0",
//!     "parameters": {"name": {"type": "string"}},
//!     "resources": [{"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01",
//!                    "name": "[parameters('name')]", "location": "[resourceGroup().location]",
//!                    "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}],
//!     "outputs": {"id": {"type": "string", "value": "[resourceId('Microsoft.Network/virtualNetworks', parameters('name'))]"}}},
//!   "parameters": {"name": {"value": "vnet"}}}}"#;
//!
//! // 1. Read the request (a template error here is a 400 with `error.to_json()`).
//! let request = DeploymentRequest::parse(body).unwrap();
//! // 2. Prepare in the caller's context: validation errors are answered before anything runs.
//! let ctx = Context::resource_group(
//!     "72f988bf-0000-4000-8000-00000000c0de",
//!     "00000000-0000-4000-8000-000000000001",
//!     ResourceGroup::new("secureacrsetup", "westeurope"),
//!     "vnet-deployment",
//!     "2021-07-03T12:00:00Z",
//! );
//! let deployment = Deployment::prepare_request(request, ctx).unwrap();
//! let mut host = Store(HashMap::new());
//! // 3. Preflight: the providers' validation (`Host::validate`), `InvalidTemplateDeployment` if refused.
//! deployment.preflight(&mut host).unwrap();
//! // 4. Run it (or `deployment.what_if(&mut host)`; `start()` + `step()` to go wave by wave).
//! let result = deployment.execute(&mut host);
//! assert_eq!(result.provisioning_state.as_str(), "Succeeded");
//! assert_eq!(
//!     result.outputs["id"]["value"],
//!     "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/secureacrsetup/providers/Microsoft.Network/virtualNetworks/vnet"
//! );
//! // `result.properties_json()` and `result.operations_json(now)` are the GET answers.
//! ```

pub mod context;
mod deploy;
mod dotnet;
mod env;
pub mod error;
mod eval;
mod exec;
pub mod export;
pub mod expr;
mod functions;
mod graph;
pub mod hash;
pub mod ids;
pub mod json;
mod params;
mod resources;
mod template;
mod value;
pub mod whatif;

pub use context::{Context, DeploymentScope, Mode, ResourceGroup};
pub use deploy::{Deployment, DeploymentRequest, PlannedResource};
pub use error::{ErrorDetail, ErrorKind, HostError, TemplateError, Violation};
pub use exec::{
    DeploymentResult, Execution, Host, Operation, ProvisioningOperation, ProvisioningState, PutRequest, PutResponse,
    TargetResource,
};
pub use export::{ExportResource, export_template};
pub use params::read_parameters;
pub use template::Template;
pub use whatif::{ChangeType, PropertyChange, PropertyChangeType, WhatIfChange, WhatIfResult};

/// Evaluates one expression string (`"[concat('a', 'b')]"`, or a literal) with no template
/// around it: the functions that need parameters, variables or resources fail. For tests,
/// tools, and hosts that need a value computed the way templates compute it.
pub fn evaluate(text: &str, ctx: &Context) -> Result<serde_json::Value, String> {
    let template = Template::parse("{}").map_err(|e| e.message)?;
    let env = env::Env::new(template, ctx.clone(), serde_json::Map::new());
    let sc = eval::Scope::new(&env, eval::Place::Runtime);
    eval::eval_str(text, sc).map_err(|e| match e {
        error::EvalError::Failed(f) => f.message,
        error::EvalError::Deferred => "The expression needs a running deployment (reference or list*).".into(),
    })
}

#[cfg(test)]
mod tests {
    /// A prepared deployment and a running one can be kept between requests behind a lock.
    #[test]
    fn deployments_and_executions_are_send() {
        fn send<T: Send>() {}
        send::<crate::Deployment>();
        send::<crate::Execution>();
        send::<crate::DeploymentResult>();
    }
}
