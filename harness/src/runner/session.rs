//! The runner as a client of the fake Azure: ARM requests with a token, the plan that
//! builds a topology (ARM calls, deferred calls, image pushes, custom DNS servers), each
//! failure turned into the scenario's [`ScenarioError`] with Azure's words and the key
//! of the scenario that produced it.

use bytes::Bytes;
use mock_azure::acr::oci::{Reference, RepoName, media};
use mock_azure::acr::{
    BlobStore, ImageError, RegistryError, Repo, generate_image, generate_index, push_image, push_index,
    put_manifest_checked,
};
use mock_azure::arm::{ArmRequest, ArmResponse};
use mock_azure::dns::{ConditionalForwarder, CustomServer, Upstream as DnsUpstream};
use serde_json::{Value, json};

use super::check::arm_error;
use super::origin::{self, DocKey};
use super::result::{ErrorKind, ScenarioError};
use crate::backend::{Backend, BackendError};
use crate::scenario::{ArmCall, CustomDnsSpec, ImageSpec, PlanStep, Principal, Scenario, Upstream};

/// One scenario's conversation with a backend.
pub struct Session<'a> {
    /// The backend.
    pub backend: &'a dyn Backend,
    /// The scenario (for locating what fails).
    pub scenario: &'a Scenario,
    token: String,
}

impl<'a> Session<'a> {
    /// A session with a fresh token.
    pub fn new(backend: &'a dyn Backend, scenario: &'a Scenario) -> Session<'a> {
        Session { backend, scenario, token: backend.arm_token() }
    }

    /// A harness error while doing `operation`, placed at `key`.
    pub fn harness_error(&self, operation: &str, e: &BackendError, key: &DocKey) -> ScenarioError {
        ScenarioError {
            kind: ErrorKind::Harness,
            operation: operation.to_string(),
            status: None,
            code: None,
            message: format!("{e}"),
            location: origin::locate(self.scenario, key),
        }
    }

    /// Sends `call`; a transport failure is an error, any answer is returned.
    pub async fn send(&self, call: &ArmCall) -> Result<ArmResponse, BackendError> {
        let mut req =
            ArmRequest::new(&call.method, &call.path).header("authorization", &format!("Bearer {}", self.token));
        if let Some(b) = &call.body {
            req = req.json(b);
        }
        self.backend.arm(&req).await
    }

    /// Sends `call` with another bearer token (a managed identity's).
    pub async fn send_with(&self, call: &ArmCall, token: &str) -> Result<ArmResponse, BackendError> {
        let mut req = ArmRequest::new(&call.method, &call.path).header("authorization", &format!("Bearer {token}"));
        if let Some(b) = &call.body {
            req = req.json(b);
        }
        self.backend.arm(&req).await
    }

    /// An ARM token for one of the site's managed identities, from the platform's MSI
    /// endpoint, as code running in the app would get it: the system identity, or the
    /// user-assigned identity (by its client ID, read through ARM).
    pub async fn identity_token(&self, who: &Principal, site_id: &str, key: &DocKey) -> Result<String, ScenarioError> {
        let enc = mock_azure::form::encode;
        let mut path =
            format!("/platform/msi/token?site={}&resource={}", enc(site_id), enc("https://management.azure.com/"));
        if let Principal::Identity(name) = who {
            let sub = self.backend.subscription_id();
            let rg = &self.scenario.topology.resource_group.name;
            let id = format!(
                "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
            );
            let identity = self.must(&ArmCall::new("GET", id, None, format!("read identity {name}")), key).await?;
            let client = identity["properties"]["clientId"].as_str().unwrap_or_default();
            path.push_str(&format!("&client_id={}", enc(client)));
        }
        let call = ArmCall { method: "GET".into(), path, body: None, what: "a token for the step's identity".into() };
        let answer = self.must(&call, key).await?;
        answer["access_token"].as_str().map(str::to_string).ok_or_else(|| ScenarioError {
            kind: ErrorKind::Harness,
            operation: call.what.clone(),
            status: None,
            code: None,
            message: "the MSI endpoint answered without an access token".into(),
            location: origin::locate(self.scenario, key),
        })
    }

    /// Sends a call that must succeed; returns its body, or the refusal as the
    /// scenario's error placed at `key`.
    async fn must(&self, call: &ArmCall, key: &DocKey) -> Result<Value, ScenarioError> {
        let r = self.send(call).await.map_err(|e| self.harness_error(&call.what, &e, key))?;
        if (200..300).contains(&r.status) {
            return Ok(r.json_body());
        }
        let (code, message) = arm_error(&r);
        Err(ScenarioError {
            kind: ErrorKind::ArmRefused,
            operation: call.what.clone(),
            status: Some(r.status),
            code: (!code.is_empty()).then_some(code),
            message: if message.is_empty() { String::from_utf8_lossy(&r.body).into_owned() } else { message },
            location: origin::locate(self.scenario, key),
        })
    }

    /// Carries out one step of the topology's plan.
    pub async fn apply(&self, step: &PlanStep) -> Result<(), ScenarioError> {
        let key = origin::of_plan_step(step);
        match step {
            PlanStep::Call(c) => {
                self.must(c, &key).await?;
            }
            PlanStep::PushImages { registry, images, .. } => {
                let blobs = self.backend.blobs();
                for img in images {
                    push(blobs.as_ref(), registry, img).await.map_err(|p| self.push_error(registry, img, p, &key))?;
                }
            }
            PlanStep::CustomDns(spec) => {
                let what = format!("register custom DNS server {}", spec.name);
                self.backend
                    .put_custom_dns(&spec.name, custom_server(spec))
                    .await
                    .map_err(|e| self.harness_error(&what, &e, &key))?;
            }
            PlanStep::AdminCredentials { step, .. }
            | PlanStep::RoleAssignment { step, .. }
            | PlanStep::UserIdentityClientId { step, .. } => {
                let answer = self.must(&step.lookup, &key).await?;
                let call = step.complete(&answer).map_err(|e| ScenarioError {
                    kind: ErrorKind::Harness,
                    operation: step.lookup.what.clone(),
                    status: None,
                    code: None,
                    message: e.to_string(),
                    location: origin::locate(self.scenario, &key),
                })?;
                self.must(&call, &key).await?;
            }
        }
        Ok(())
    }

    fn push_error(&self, registry: &str, img: &ImageSpec, p: PushError, key: &DocKey) -> ScenarioError {
        let operation = format!("push {registry}.azurecr.io/{}:{}", img.repo, img.tag);
        let location = origin::locate(self.scenario, key);
        match p {
            PushError::Refused(e) => ScenarioError {
                kind: ErrorKind::RegistryRefused,
                operation,
                status: Some(e.status),
                code: Some(e.code.to_string()),
                message: e.message,
                location,
            },
            // The loader checks names, so this is the harness's own limit, not Azure's.
            PushError::Name(what) => ScenarioError {
                kind: ErrorKind::Harness,
                operation,
                status: None,
                code: None,
                message: format!("'{what}' is not a name the harness can push to"),
                location,
            },
            PushError::Store(e) => ScenarioError {
                kind: ErrorKind::Harness,
                operation,
                status: None,
                code: None,
                message: e.to_string(),
                location,
            },
        }
    }
}

/// Why an image could not be pushed.
enum PushError {
    /// The registry refused a manifest.
    Refused(RegistryError),
    /// A repository or registry name the registry does not take.
    Name(String),
    /// The storage failed.
    Store(ImageError),
}

impl From<ImageError> for PushError {
    fn from(e: ImageError) -> Self {
        match e {
            ImageError::Manifest { source, .. } => PushError::Refused(source),
            other => PushError::Store(other),
        }
    }
}

/// Pushes one generated image (a Docker schema 1 manifest, an image, or an index).
async fn push(blobs: &dyn BlobStore, registry: &str, img: &ImageSpec) -> Result<(), PushError> {
    let name = RepoName::parse(&img.repo).ok_or_else(|| PushError::Name(img.repo.clone()))?;
    let repo = Repo::new(registry, name).ok_or_else(|| PushError::Name(registry.to_string()))?;
    let (layers, size) = (img.layers as usize, img.layer_size as usize);
    if img.schema1 {
        // A Docker schema 1 manifest over one generated layer.
        let base = generate_image(img.seed, 1, size.max(1));
        push_image(blobs, &repo, &base, None).await?;
        let m = json!({"schemaVersion": 1, "name": img.repo, "tag": img.tag, "architecture": "amd64",
            "fsLayers": [{"blobSum": base.layers[0].digest.as_str()}], "history": [{"v1Compatibility": "{}"}]});
        let tag = Reference::Tag(img.tag.clone());
        put_manifest_checked(blobs, &repo, Bytes::from(m.to_string()), Some(media::DOCKER_SCHEMA1), &tag)
            .await
            .map_err(PushError::Refused)?;
    } else if img.platforms.is_empty() {
        push_image(blobs, &repo, &generate_image(img.seed, layers, size), Some(&img.tag)).await?;
    } else {
        let platforms: Vec<(&str, &str)> = img
            .platforms
            .iter()
            .map(|p| {
                let mut it = p.split('/');
                (it.next().unwrap_or("linux"), it.next().unwrap_or("amd64"))
            })
            .collect();
        push_index(blobs, &repo, &generate_index(img.seed, &platforms, layers, size), Some(&img.tag)).await?;
    }
    Ok(())
}

fn custom_server(spec: &CustomDnsSpec) -> CustomServer {
    let upstream = match spec.upstream {
        Upstream::AzureDns => DnsUpstream::AzureDns,
        Upstream::Public => DnsUpstream::Public,
        Upstream::None => DnsUpstream::None,
    };
    let mut server = CustomServer::new(spec.address, &spec.vnet_id, upstream);
    server.conditional_forwarders = spec
        .forwarders
        .iter()
        .map(|f| ConditionalForwarder { zone: f.zone.clone(), targets: f.targets.clone() })
        .collect();
    server
}
