//! The fake Azure Resource Manager: HTTPS + JSON over the resource store.
//!
//! [`Arm::handle`] is a pure function of the request and the store (no sockets), so the
//! same code serves real clients through [`serve`] and is fuzzed directly by tests. The
//! identity endpoints (OpenID configuration, token) share the listener: their paths
//! start with a tenant, ARM's with `subscriptions`, `tenants`, `providers` or `metadata`.
//!
//! - [`error`]: every ARM error, in one place.
//! - [`version`]: api-versions and the property-introduction table.
//! - `route`: turning a path into a [`route::Route`].
//! - `resources`: the generic resource life cycle (PUT/PATCH/GET/DELETE, listings).
//! - `web`, `acr`, `network`, `privatedns`, `rbac`: what each provider adds.

mod acr;
pub mod error;
mod identity_api;
mod msi;
mod network;
mod privatedns;
mod rbac;
mod resources;
pub mod route;
mod serve;
pub mod version;
mod web;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::{Value, json};

pub use acr::admin_passwords;
pub use error::ArmError;
pub use rbac::{ROLES, role_by_definition_id};
pub use serve::{serve, serve_with};

use crate::identity::TokenSigner;
use crate::model::Store;

/// Audiences ARM accepts tokens for.
pub const ARM_AUDIENCES: [&str; 2] = ["https://management.core.windows.net/", "https://management.azure.com/"];

/// Largest request body ARM reads; larger ones get 413.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// Who the fake Azure is: its tenant, subscription, service principal and address.
#[derive(Debug, Clone)]
pub struct ArmConfig {
    /// `https://host:port` at which clients reach ARM and the identity endpoints.
    pub base_url: String,
    /// The tenant ID.
    pub tenant_id: String,
    /// The one subscription.
    pub subscription_id: String,
    /// Its display name.
    pub subscription_name: String,
    /// The service principal's application (client) ID.
    pub client_id: String,
    /// The service principal's secret.
    pub client_secret: String,
}

impl ArmConfig {
    /// The fixed identities pullsim uses, at this base URL. Fixed (not random) so scripts,
    /// docs and traces stay the same from run to run.
    pub fn new(base_url: impl Into<String>) -> ArmConfig {
        ArmConfig {
            base_url: base_url.into(),
            tenant_id: "72f988bf-0000-4000-8000-00000000c0de".into(),
            subscription_id: "00000000-0000-4000-8000-000000000001".into(),
            subscription_name: "pullsim".into(),
            client_id: "11111111-0000-4000-8000-00000000a11c".into(),
            client_secret: "pullsim-secret".into(),
        }
    }

    /// A bearer token ARM accepts from the service principal, signed by `signer` (the
    /// key ARM verifies with) and valid for `valid_secs`: what a client gets from the
    /// identity endpoint, minted directly by those holding the key (the harness, tests).
    pub fn client_token(&self, signer: &TokenSigner, valid_secs: u64) -> String {
        let now = crate::identity::token::now();
        signer.sign(&json!({
            "aud": ARM_AUDIENCES[0], "tid": self.tenant_id, "iat": now, "nbf": now, "exp": now + valid_secs,
            "iss": format!("https://sts.windows.net/{}/", self.tenant_id), "appid": self.client_id,
        }))
    }
}

/// Runtime state of the modeled App Service platform that ARM exposes but does not
/// persist: the docker log each site's pulls wrote.
#[derive(Default)]
pub struct Platform {
    logs: Mutex<HashMap<String, String>>,
}

impl Platform {
    /// Appends lines to a site's docker log (`site_key` is the lower-cased site ID).
    pub fn append_log(&self, site_key: &str, text: &str) {
        let mut logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        logs.entry(site_key.to_string()).or_default().push_str(text);
    }

    /// The docker log of a site, empty if it never pulled.
    pub fn log(&self, site_key: &str) -> String {
        let logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        logs.get(site_key).cloned().unwrap_or_default()
    }
}

/// The fake ARM (and identity) service.
pub struct Arm {
    /// The resource store it writes.
    pub store: Store,
    /// Signs and verifies access tokens.
    pub signer: Arc<TokenSigner>,
    /// Tenant, subscription, service principal, address.
    pub cfg: ArmConfig,
    /// Runtime platform state (container logs).
    pub platform: Arc<Platform>,
    /// Tokens whose signature was already checked (ES256 verification is most of a
    /// request's cost; clients reuse one token for an hour).
    verified: crate::identity::token::VerifiedCache,
}

/// An HTTP request as ARM sees it.
#[derive(Debug, Clone)]
pub struct ArmRequest {
    /// Method, upper case.
    pub method: String,
    /// Path, not decoded.
    pub path: String,
    /// Raw query string (without `?`).
    pub query: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Bytes,
}

impl ArmRequest {
    /// A request with no headers or body.
    pub fn new(method: &str, path_and_query: &str) -> ArmRequest {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        ArmRequest {
            method: method.to_ascii_uppercase(),
            path: path.into(),
            query: query.into(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> ArmRequest {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// Sets a JSON body.
    pub fn json(mut self, body: &Value) -> ArmRequest {
        self.body = Bytes::from(body.to_string());
        self.headers.push(("content-type".into(), "application/json".into()));
        self
    }

    /// The first value of a header.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Decoded query parameters, keys lower-cased.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        parse_form(&self.query).into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect()
    }

    /// A decoded query parameter (key case-insensitive).
    pub fn query_param(&self, key: &str) -> Option<String> {
        let key = key.to_ascii_lowercase();
        self.query_pairs().into_iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct ArmResponse {
    /// Status code.
    pub status: u16,
    /// Extra headers (content type included).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Bytes,
}

impl ArmResponse {
    /// A JSON answer.
    pub fn json(status: u16, body: &Value) -> ArmResponse {
        ArmResponse {
            status,
            headers: vec![("content-type".into(), "application/json; charset=utf-8".into())],
            body: Bytes::from(body.to_string()),
        }
    }

    /// An empty answer.
    pub fn empty(status: u16) -> ArmResponse {
        ArmResponse { status, headers: Vec::new(), body: Bytes::new() }
    }

    /// A text answer with this content type.
    pub fn text(status: u16, content_type: &str, body: impl Into<Bytes>) -> ArmResponse {
        ArmResponse { status, headers: vec![("content-type".into(), content_type.into())], body: body.into() }
    }

    /// The body parsed as JSON (`Null` if it is not JSON).
    pub fn json_body(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

impl From<ArmError> for ArmResponse {
    fn from(e: ArmError) -> ArmResponse {
        let mut r = ArmResponse::json(e.status, &e.body());
        if e.status == 401 {
            r.headers.push((
                "www-authenticate".into(),
                format!("Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\", error_description=\"{}\"", e.message.replace('"', "'")),
            ));
        }
        r
    }
}

impl Arm {
    /// A fake ARM over `store`.
    pub fn new(store: Store, signer: Arc<TokenSigner>, cfg: ArmConfig) -> Arm {
        Arm { store, signer, cfg, platform: Arc::default(), verified: Default::default() }
    }

    /// Answers one request. Never panics on any input; 5xx only if the state journal
    /// cannot be written.
    pub fn handle(&self, req: &ArmRequest) -> ArmResponse {
        let mut resp = self.dispatch(req);
        let request_id = crate::model::net::guid(&["request", &self.store.seq().to_string(), &req.path, &req.method]);
        let correlation =
            req.header_value("x-ms-correlation-request-id").map(str::to_string).unwrap_or_else(|| request_id.clone());
        resp.headers.push(("x-ms-request-id".into(), request_id));
        resp.headers.push(("x-ms-correlation-request-id".into(), correlation));
        resp
    }

    fn dispatch(&self, req: &ArmRequest) -> ArmResponse {
        let path = crate::model::id::normalize_path(&req.path);
        let first = path.split('/').nth(1).unwrap_or_default().to_ascii_lowercase();
        match first.as_str() {
            "metadata" => self.metadata(req, &path),
            "subscriptions" | "tenants" | "providers" => match self.arm_api(req, &path) {
                Ok(r) => r,
                Err(e) => e.into(),
            },
            "platform" => msi::handle(self, req, &path).unwrap_or_else(Into::into),
            "" => ArmError::no_route(&req.path).into(),
            _ => identity_api::handle(self, req, &path),
        }
    }

    fn metadata(&self, req: &ArmRequest, path: &str) -> ArmResponse {
        if !path.eq_ignore_ascii_case("/metadata/endpoints") || req.method != "GET" {
            return ArmError::no_route(path).into();
        }
        let b = &self.cfg.base_url;
        let audiences = json!(ARM_AUDIENCES);
        // The document's shape depends on the api-version: from 2022-09-01 one cloud object
        // (what `az cloud register` reads), from 2019-05-01 an array of clouds, before that
        // the old single object with an `authentication` block.
        let api = req.query_param("api-version").and_then(|v| version::ApiVersion::parse(&v).ok());
        let cloud = json!({
            "name": "pullsim",
            "portal": b,
            "authentication": {
                "loginEndpoint": format!("{b}/"),
                "audiences": audiences,
                "tenant": "common",
                "identityProvider": "AAD",
            },
            "media": b,
            "graphAudience": format!("{b}/graph/"),
            "graph": format!("{b}/graph/"),
            "batch": b,
            "resourceManager": format!("{b}/"),
            "microsoftGraphResourceId": format!("{b}/graph/"),
            "activeDirectoryDataLake": b,
            "sqlManagement": b,
            "gallery": format!("{b}/"),
            "suffixes": {
                "acrLoginServer": "azurecr.io",
                "keyVaultDns": "vault.azure.net",
                "storage": "core.windows.net",
                "sqlServerHostname": "database.windows.net",
            },
        });
        match api {
            Some(v) if v.at_least("2022-09-01") => return ArmResponse::json(200, &cloud),
            Some(v) if v.at_least("2019-05-01") => return ArmResponse::json(200, &json!([cloud])),
            _ => {}
        }
        ArmResponse::json(
            200,
            &json!({
                "galleryEndpoint": format!("{b}/"),
                "graphEndpoint": format!("{b}/graph/"),
                "portalEndpoint": b,
                "authentication": {"loginEndpoint": format!("{b}/"), "audiences": audiences},
            }),
        )
    }

    fn arm_api(&self, req: &ArmRequest, path: &str) -> Result<ArmResponse, ArmError> {
        self.authenticate(req)?;
        let api = match req.query_param("api-version") {
            None => return Err(ArmError::missing_api_version()),
            Some(v) => version::ApiVersion::parse(&v)?,
        };
        if req.body.len() > MAX_BODY {
            return Err(ArmError::too_large(MAX_BODY));
        }
        let route = route::Route::parse(path).ok_or_else(|| ArmError::no_route(path))?;
        resources::handle(self, req, api, route)
    }

    pub(crate) fn authenticate(&self, req: &ArmRequest) -> Result<Value, ArmError> {
        let header = req.header_value("authorization").ok_or_else(ArmError::auth_missing)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(ArmError::auth_bad_scheme)?;
        let token = token.trim();
        let now = crate::identity::token::now();
        if let Some(claims) = self.verified.get(token, now) {
            return Ok(claims);
        }
        let claims = self.signer.verify(token, &ARM_AUDIENCES, now).map_err(|e| match e {
            crate::identity::TokenError::Expired => ArmError::expired_token(),
            crate::identity::TokenError::Audience(a) => ArmError::invalid_audience(&a),
            _ => ArmError::invalid_token(),
        })?;
        if claims["tid"].as_str() != Some(self.cfg.tenant_id.as_str()) {
            return Err(ArmError::invalid_token());
        }
        self.verified.put(token, &claims);
        Ok(claims)
    }
}

pub use crate::form::parse_form;
