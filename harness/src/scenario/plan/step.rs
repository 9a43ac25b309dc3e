//! The plan's vocabulary: an ARM request, a step of the plan, and the requests that are
//! completed from the answer to an earlier one ([`Deferred`]).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde_json::{Map, Value, json};

use super::with_api_version;
use crate::scenario::model::*;

/// One ARM request.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmCall {
    /// `GET`, `PUT`, `PATCH`, `POST` or `DELETE`.
    pub method: String,
    /// Absolute path with its `?api-version=`.
    pub path: String,
    /// JSON body, if any.
    pub body: Option<Value>,
    /// What it does, for people (`create subnet vnet/integration`).
    pub what: String,
}

impl ArmCall {
    /// A call; `api-version` is added to the path if it has none.
    pub fn new(method: &str, path: String, body: Option<Value>, what: impl Into<String>) -> ArmCall {
        let path = with_api_version(&path, None);
        ArmCall { method: method.to_string(), path, body, what: what.into() }
    }
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanStep {
    /// Send this request; it must succeed.
    Call(ArmCall),
    /// Push these images into the registry (it exists by now; its network rules are not
    /// applied yet, as a user pushes before locking the registry down).
    PushImages {
        /// Registry name.
        registry: String,
        /// `<name>.azurecr.io`.
        login_server: String,
        /// What to push.
        images: Vec<ImageSpec>,
    },
    /// Register a custom DNS server (`mock_azure::dns::put_custom_server`); its VNET
    /// exists by now.
    CustomDns(CustomDnsSpec),
    /// Write `DOCKER_REGISTRY_SERVER_URL/USERNAME/PASSWORD` from the registry's admin
    /// credentials (what `az webapp create` does for an ACR image).
    AdminCredentials {
        /// Registry name.
        registry: String,
        /// Site name.
        site: String,
        /// `listCredentials`, then the app settings `PUT`.
        step: Deferred,
    },
    /// Assign a role to a principal whose ID ARM gave it.
    RoleAssignment {
        /// Who.
        principal: Principal,
        /// Built-in role name.
        role: String,
        /// The scope's resource ID.
        scope: String,
        /// GET of the principal's resource, then the assignment `PUT`.
        step: Deferred,
    },
    /// Point `acrUserManagedIdentityID` at a user identity's client ID.
    UserIdentityClientId {
        /// Site name.
        site: String,
        /// Identity name.
        identity: String,
        /// GET of the identity, then the `config/web` `PATCH`.
        step: Deferred,
    },
}

/// A custom DNS server for the runner to register.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomDnsSpec {
    /// Name.
    pub name: String,
    /// VNET name.
    pub vnet: String,
    /// VNET resource ID.
    pub vnet_id: String,
    /// Address in the VNET.
    pub address: Ipv4Addr,
    /// Where names no forwarder covers go.
    pub upstream: Upstream,
    /// Conditional forwarders.
    pub forwarders: Vec<Forwarder>,
}

/// A request built from the answer to an earlier one.
#[derive(Debug, Clone, PartialEq)]
pub struct Deferred {
    /// The request whose answer is needed.
    pub lookup: ArmCall,
    pub(super) fill: Fill,
}

/// How a deferred request is built from the answer.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Fill {
    /// App settings PUT with the admin credentials added under the scenario's own.
    AdminSettings { path: String, login_server: String, settings: BTreeMap<String, String>, what: String },
    /// Role assignment PUT with the principal ID at `pointer` of the answer.
    Role { path: String, role_definition_id: String, pointer: &'static str, what: String },
    /// `config/web` PATCH with the client ID of the answer.
    ClientId { path: String, what: String },
}

/// The answer to a deferred step's lookup lacks what the step needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingInAnswer {
    /// The lookup's label.
    pub lookup: String,
    /// The JSON pointer that was missing.
    pub pointer: String,
}

impl std::fmt::Display for MissingInAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the answer to '{}' has no {}", self.lookup, self.pointer)
    }
}

impl std::error::Error for MissingInAnswer {}

impl Deferred {
    /// The request to send, given the answer to [`Deferred::lookup`].
    pub fn complete(&self, answer: &Value) -> Result<ArmCall, MissingInAnswer> {
        let get = |pointer: &str| {
            answer
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| MissingInAnswer { lookup: self.lookup.what.clone(), pointer: pointer.to_string() })
        };
        Ok(match &self.fill {
            Fill::AdminSettings { path, login_server, settings, what } => {
                let username = get("/username")?;
                let password = get("/passwords/0/value")?;
                let mut props = Map::new();
                props.insert("DOCKER_REGISTRY_SERVER_URL".into(), json!(format!("https://{login_server}")));
                props.insert("DOCKER_REGISTRY_SERVER_USERNAME".into(), json!(username));
                props.insert("DOCKER_REGISTRY_SERVER_PASSWORD".into(), json!(password));
                // What the scenario writes itself wins (a stale password on purpose).
                for (k, v) in settings {
                    props.insert(k.clone(), json!(v));
                }
                ArmCall::new("PUT", path.clone(), Some(json!({ "properties": props })), what.clone())
            }
            Fill::Role { path, role_definition_id, pointer, what } => {
                let principal = get(pointer)?;
                let body = json!({"properties": {
                    "roleDefinitionId": role_definition_id,
                    "principalId": principal,
                    "principalType": "ServicePrincipal",
                }});
                ArmCall::new("PUT", path.clone(), Some(body), what.clone())
            }
            Fill::ClientId { path, what } => {
                let client = get("/properties/clientId")?;
                let body = json!({"properties": {"acrUserManagedIdentityID": client}});
                ArmCall::new("PATCH", path.clone(), Some(body), what.clone())
            }
        })
    }
}
