//! Who the fake ARM is and what it holds: its configuration (tenant, subscription,
//! service principal), the store, the token signer, the platform's runtime state, and
//! how a request's bearer token is checked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::error::ArmError;
use super::http::ArmRequest;
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
    /// Name ARM by the `Host` a request arrived with, not by [`ArmConfig::base_url`], in
    /// the URLs it hands out (cloud metadata, OpenID configuration): for an ARM behind a
    /// port mapping (a container) whose outside address is not known when it starts.
    pub base_url_from_host: bool,
    /// More service principals of the tenant (`serve --principal NAME=SECRET`): they
    /// sign in like the first one and hold only the roles assigned to them.
    pub principals: Vec<ServicePrincipal>,
}

/// A service principal of the fake tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePrincipal {
    /// Its display name.
    pub name: String,
    /// Application (client) ID.
    pub client_id: String,
    /// Its secret.
    pub secret: String,
}

impl ServicePrincipal {
    /// A principal named `name` with this secret; its client ID is derived from the name,
    /// so the same name is the same principal from run to run.
    pub fn named(name: &str, secret: &str) -> ServicePrincipal {
        ServicePrincipal {
            name: name.to_string(),
            client_id: crate::model::net::guid(&["sp-client", name]),
            secret: secret.to_string(),
        }
    }

    /// Its object ID in the directory (what role assignments name).
    pub fn object_id(&self) -> String {
        object_id(&self.client_id)
    }
}

/// The object ID of the service principal of an application (client) ID.
pub fn object_id(client_id: &str) -> String {
    crate::model::net::guid(&["sp-object", client_id])
}

/// The App Service platform's own application: the worker reads sites and asks for
/// identity tokens as this first-party principal, which customer role assignments do
/// not govern (the ID is App Service's first-party application ID).
pub const PLATFORM_CLIENT_ID: &str = "abfa0a7c-a6b6-4736-8310-5855508787cd";
/// The platform application's secret (pullsim is no security boundary: README).
pub const PLATFORM_CLIENT_SECRET: &str = "pullsim-platform";

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
            base_url_from_host: false,
            principals: Vec::new(),
        }
    }

    /// The base URL to hand out in an answer to `req`: [`ArmConfig::base_url`], or
    /// `https://<Host>` when [`ArmConfig::base_url_from_host`] is set and the request's
    /// `Host` is a plain `host[:port]` (anything else is ignored, never echoed).
    pub fn base_url_for(&self, req: &ArmRequest) -> String {
        let plain = |h: &str| {
            !h.is_empty() && h.len() <= 255 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        };
        match req.header_value("host") {
            Some(h) if self.base_url_from_host && plain(h) => format!("https://{h}"),
            _ => self.base_url.clone(),
        }
    }

    /// The default service principal's object ID (the subscription's Owner).
    pub fn object_id(&self) -> String {
        object_id(&self.client_id)
    }

    /// The secret of an application this tenant knows (the default principal, the
    /// platform, or one of `principals`), `None` for an unknown client ID.
    pub fn secret_of(&self, client_id: &str) -> Option<&str> {
        if client_id == self.client_id {
            return Some(&self.client_secret);
        }
        if client_id == PLATFORM_CLIENT_ID {
            return Some(PLATFORM_CLIENT_SECRET);
        }
        self.principals.iter().find(|p| p.client_id == client_id).map(|p| p.secret.as_str())
    }

    /// Whether `oid` is a service principal of this tenant.
    pub fn is_service_principal(&self, oid: &str) -> bool {
        oid.eq_ignore_ascii_case(&self.object_id())
            || self.principals.iter().any(|p| p.object_id().eq_ignore_ascii_case(oid))
    }

    /// A bearer token ARM accepts from the service principal, signed by `signer` (the
    /// key ARM verifies with) and valid for `valid_secs`: what a client gets from the
    /// identity endpoint, minted directly by those holding the key (the harness, tests).
    pub fn client_token(&self, signer: &TokenSigner, valid_secs: u64) -> String {
        let now = crate::identity::token::now();
        signer.sign(&json!({
            "aud": ARM_AUDIENCES[0], "tid": self.tenant_id, "iat": now, "nbf": now, "exp": now + valid_secs,
            "iss": format!("https://sts.windows.net/{}/", self.tenant_id), "appid": self.client_id,
            "oid": self.object_id(), "idtyp": "app",
        }))
    }
}

/// How much of a site's docker log the platform keeps: the newest bytes, cut at a line
/// boundary. App Service's log stream and `containerlogs` show a tail, not the whole
/// history \[U: the exact size is not documented\]; a restart storm must not grow memory
/// without bound.
pub const LOG_TAIL: usize = 256 * 1024;

/// Runtime state of the modeled App Service platform that ARM exposes but does not
/// persist: the tail of the docker log each site's pulls wrote.
#[derive(Default)]
pub struct Platform {
    logs: Mutex<HashMap<String, String>>,
}

impl Platform {
    /// Appends lines to a site's docker log (`site_key` is the lower-cased site ID),
    /// keeping at most [`LOG_TAIL`] bytes of whole lines.
    pub fn append_log(&self, site_key: &str, text: &str) {
        let mut logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        let log = logs.entry(site_key.to_string()).or_default();
        log.push_str(text);
        if log.len() > LOG_TAIL {
            let mut cut = log.len() - LOG_TAIL;
            while !log.is_char_boundary(cut) {
                cut += 1;
            }
            // Start at the first whole line inside the tail.
            let start = log[cut..].find('\n').map(|i| cut + i + 1).unwrap_or(log.len());
            log.drain(..start);
        }
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

impl Arm {
    /// A fake ARM over `store`. A store that never had it gets the service principal's
    /// Owner assignment on the subscription (see `owner`).
    pub fn new(store: Store, signer: Arc<TokenSigner>, cfg: ArmConfig) -> Arm {
        if let Err(e) = super::owner::bootstrap(&store, &cfg.subscription_id, &cfg.object_id()) {
            // The store's first write failed: every later write will answer 500 too.
            tracing::error!(error = %e, "could not make the service principal the subscription's Owner");
        }
        Arm { store, signer, cfg, platform: Arc::default(), verified: Default::default() }
    }

    /// Empties the store (a fresh Azure between scenarios) and gives the service
    /// principal its Owner assignment again.
    pub fn reset(&self) -> Result<(), crate::model::StoreError> {
        self.store.reset()?;
        super::owner::bootstrap(&self.store, &self.cfg.subscription_id, &self.cfg.object_id())
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

    /// `SubscriptionNotFound` unless `sub` is the one subscription.
    pub(super) fn check_subscription(&self, sub: &str) -> Result<(), ArmError> {
        if sub.eq_ignore_ascii_case(&self.cfg.subscription_id) {
            Ok(())
        } else {
            Err(ArmError::subscription_not_found(sub))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reached_at(host: &str) -> ArmRequest {
        ArmRequest::new("GET", "/metadata/endpoints").header("host", host)
    }

    #[test]
    fn the_base_url_follows_the_host_only_when_told_and_never_echoes_junk() {
        let mut cfg = ArmConfig::new("https://0.0.0.0:8443");
        // By default ARM names itself by its configured URL, whatever the client sent.
        assert_eq!(cfg.base_url_for(&reached_at("127.0.0.1:49153")), "https://0.0.0.0:8443");
        cfg.base_url_from_host = true;
        assert_eq!(cfg.base_url_for(&reached_at("127.0.0.1:49153")), "https://127.0.0.1:49153");
        assert_eq!(cfg.base_url_for(&reached_at("[::1]:49153")), "https://[::1]:49153");
        for junk in ["evil.example/path", "a b", "x\"y", ""] {
            assert_eq!(cfg.base_url_for(&reached_at(junk)), "https://0.0.0.0:8443", "{junk:?}");
        }
        assert_eq!(cfg.base_url_for(&ArmRequest::new("GET", "/")), "https://0.0.0.0:8443");
    }
}
