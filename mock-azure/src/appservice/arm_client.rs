//! How the platform talks to ARM, as any client does: a token from the identity
//! endpoint, then the site's configuration (site, `config/web`, app settings) and, for a
//! managed-identity pull, a token for the site's identity from the platform's MSI
//! endpoint.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

use super::error::InfraError;
use super::site::SiteView;
use crate::form::encode as enc;
use crate::httpc::Conn;

/// The Entra audience of ACR tokens.
pub const ACR_AUDIENCE: &str = "https://containerregistry.azure.net/";

/// How the worker reaches ARM: the platform authenticates like any client, as its own
/// first-party application (which customer role assignments do not govern).
#[derive(Clone)]
pub struct ArmAccess {
    /// ARM's real socket address.
    pub addr: SocketAddr,
    /// The name its certificate holds (`127.0.0.1` or `localhost`).
    pub server_name: String,
    /// TLS trusting pullsim's CA.
    pub tls: Arc<rustls::ClientConfig>,
    /// Tenant.
    pub tenant_id: String,
    /// The platform application's client ID.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
}

/// What the MSI endpoint said about the site's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityToken {
    /// An Entra token for the identity.
    Issued(String),
    /// No token: the identity is not on the site (ARM's message).
    Refused(String),
}

impl ArmAccess {
    /// A connection to ARM with a bearer token of the service principal.
    async fn session(&self, what: &str) -> Result<(Conn, String), InfraError> {
        let unreachable = |source| InfraError::ArmUnreachable { what: what.to_string(), addr: self.addr, source };
        let mut conn = Conn::open(None, self.addr, &self.server_name, self.tls.clone()).await.map_err(unreachable)?;
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fmanagement.core.windows.net%2F%2F.default",
            self.client_id, self.client_secret
        );
        let path = format!("/{}/oauth2/v2.0/token", self.tenant_id);
        let headers = [("content-type", "application/x-www-form-urlencoded")];
        let r = conn.send("POST", &path, &headers, Bytes::from(form)).await.map_err(unreachable)?;
        let token = r.json()["access_token"].as_str().map(str::to_string);
        let token = token.ok_or(InfraError::NoArmToken { status: r.status })?;
        Ok((conn, format!("Bearer {token}")))
    }

    /// Reads the site, its `config/web` and its app settings.
    pub async fn read_site(&self, site_id: &str) -> Result<SiteView, InfraError> {
        let (mut conn, auth) = self.session("reading the site").await?;
        let [site, web, settings] = SiteView::reads(site_id);
        let site = self.read(&mut conn, &auth, site).await?;
        let web = self.read(&mut conn, &auth, web).await?;
        let settings = self.read(&mut conn, &auth, settings).await?;
        Ok(SiteView::from_arm(&site, &web, &settings))
    }

    /// One platform read; anything but 200 is a fault (the site was just configured).
    async fn read(&self, conn: &mut Conn, auth: &str, (method, path): (&str, String)) -> Result<Value, InfraError> {
        let r = conn
            .send(method, &format!("{path}?api-version=2024-11-01"), &[("authorization", auth)], Bytes::new())
            .await
            .map_err(|source| InfraError::ArmUnreachable {
                what: format!("{method} {path}"),
                addr: self.addr,
                source,
            })?;
        if r.status != 200 {
            let body = String::from_utf8_lossy(&r.body).into_owned();
            return Err(InfraError::ArmStatus { method: method.into(), path, status: r.status, body });
        }
        Ok(r.json())
    }

    /// An Entra token for the site's managed identity (the system identity, or the
    /// user-assigned one with this client ID), from the platform's MSI endpoint.
    pub async fn identity_token(&self, site_id: &str, client_id: Option<&str>) -> Result<IdentityToken, InfraError> {
        let (mut conn, auth) = self.session("asking for the site's identity token").await?;
        let mut q = format!("/platform/msi/token?site={}&resource={}", enc(site_id), enc(ACR_AUDIENCE));
        if let Some(c) = client_id {
            q.push_str(&format!("&client_id={}", enc(c)));
        }
        let r = conn.send("GET", &q, &[("authorization", &auth)], Bytes::new()).await.map_err(|source| {
            InfraError::ArmUnreachable { what: "GET /platform/msi/token".into(), addr: self.addr, source }
        })?;
        let v = r.json();
        Ok(match (r.status, v["access_token"].as_str()) {
            (200, Some(t)) => IdentityToken::Issued(t.to_string()),
            (200, None) => IdentityToken::Refused("no access token".into()),
            _ => IdentityToken::Refused(v["error"]["message"].as_str().unwrap_or("identity not found").to_string()),
        })
    }
}
