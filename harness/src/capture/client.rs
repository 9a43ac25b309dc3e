//! ARM as the user reaches it: the endpoint and an access token from their own Azure CLI
//! login (`az cloud show`, `az account get-access-token`; nothing stored), over HTTPS
//! trusting the system's roots and, as the CLI does, `REQUESTS_CA_BUNDLE`. For `pullsim
//! import`, the fake Azure it embeds, as that fake's service principal, trusting its CA.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, bail};
use bytes::Bytes;
use mock_azure::httpc::Conn;
use serde_json::Value;

/// Why ARM could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The Azure CLI could not give a token or an endpoint.
    #[error("the Azure CLI could not {what}: {detail}\n  (is `az` installed and logged in? run `az login`)")]
    Az {
        /// What was asked.
        what: String,
        /// Its error output.
        detail: String,
    },
    /// ARM did not answer.
    #[error("cannot reach ARM at {url}: {detail}")]
    Unreachable {
        /// The endpoint.
        url: String,
        /// Why.
        detail: String,
    },
    /// ARM refused the token.
    #[error(
        "ARM refused the request {request} ({status} {code}): {message}\n  (log in again with `az login`, or ask for Reader on the resource group)"
    )]
    Unauthorized {
        /// The request.
        request: String,
        /// Status.
        status: u16,
        /// ARM's code.
        code: String,
        /// ARM's message.
        message: String,
    },
}

/// An ARM endpoint with a token.
pub struct ArmReader {
    addr: SocketAddr,
    host: String,
    prefix: String,
    url: String,
    token: String,
    tls: Arc<rustls::ClientConfig>,
}

fn az(args: &[&str]) -> Result<String, CaptureError> {
    let out = Command::new("az")
        .args(args)
        .output()
        .map_err(|e| CaptureError::Az { what: args.join(" "), detail: e.to_string() })?;
    if !out.status.success() {
        return Err(CaptureError::Az {
            what: format!("az {}", args.join(" ")),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The system's roots, `REQUESTS_CA_BUNDLE`'s, and `extra` (PEM) when given.
fn tls_roots(extra: Option<&str>) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(c);
    }
    if let Some(pem) = extra {
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(c.context("a certificate of the CA")?).context("adding a CA")?;
        }
    }
    if let Some(bundle) = std::env::var_os("REQUESTS_CA_BUNDLE") {
        let path = std::path::PathBuf::from(bundle);
        for c in rustls::pki_types::CertificateDer::pem_file_iter(&path)
            .with_context(|| format!("reading REQUESTS_CA_BUNDLE {}", path.display()))?
        {
            roots.add(c.context("a certificate of REQUESTS_CA_BUNDLE")?).context("adding a CA")?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

impl ArmReader {
    /// ARM as the user's Azure CLI reaches it (`arm_url` overrides the cloud's endpoint).
    pub async fn from_az(subscription: &str, arm_url: Option<&str>) -> anyhow::Result<ArmReader> {
        let url = match arm_url {
            Some(u) => u.to_string(),
            None => az(&["cloud", "show", "--query", "endpoints.resourceManager", "-o", "tsv"])?,
        };
        let token = az(&[
            "account",
            "get-access-token",
            "--subscription",
            subscription,
            "--query",
            "accessToken",
            "-o",
            "tsv",
        ])?;
        ArmReader::at(url, token, tls_roots(None)?).await
    }

    /// ARM at `arm_url` trusting the CA `ca_pem` (besides the system's roots), with a
    /// token the caller got: how `pullsim import` reads the fake Azure it embeds, as its
    /// service principal.
    pub async fn with_token(arm_url: &str, ca_pem: &str, token: String) -> anyhow::Result<ArmReader> {
        ArmReader::at(arm_url.to_string(), token, tls_roots(Some(ca_pem))?).await
    }

    /// ARM at `arm_url` (trusting `ca_pem` too) as a service principal: the token from
    /// the Entra ID behind the same host (`{arm_url}{tenant}/oauth2/v2.0/token`, client
    /// credentials), as the fake Azure serves it. How `pullsim import` reads the fake
    /// Azure it embeds.
    pub async fn service_principal(
        arm_url: &str,
        ca_pem: &str,
        tenant: &str,
        client_id: &str,
        secret: &str,
    ) -> anyhow::Result<ArmReader> {
        let mut reader = ArmReader::with_token(arm_url, ca_pem, String::new()).await?;
        let enc = |s: &str| {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        };
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
            enc(client_id),
            enc(secret),
            enc("https://management.core.windows.net//.default")
        );
        let mut conn = Conn::open(None, reader.addr, &reader.host, reader.tls.clone())
            .await
            .map_err(|e| CaptureError::Unreachable { url: reader.url.clone(), detail: e.to_string() })?;
        let path = format!("{}/{tenant}/oauth2/v2.0/token", reader.prefix);
        let len = form.len().to_string();
        let r = conn
            .send(
                "POST",
                &path,
                &[("content-type", "application/x-www-form-urlencoded"), ("content-length", &len)],
                Bytes::from(form),
            )
            .await
            .map_err(|e| CaptureError::Unreachable { url: reader.url.clone(), detail: e.to_string() })?;
        let body = r.json();
        match body["access_token"].as_str() {
            Some(t) if r.status == 200 => reader.token = t.to_string(),
            _ => bail!(
                "Entra ID at {} refused the service principal {client_id} ({}): {}",
                reader.url,
                r.status,
                body["error_description"].as_str().unwrap_or_default()
            ),
        }
        Ok(reader)
    }

    async fn at(url: String, token: String, tls: Arc<rustls::ClientConfig>) -> anyhow::Result<ArmReader> {
        let rest = url.strip_prefix("https://").ok_or_else(|| anyhow::anyhow!("ARM endpoint {url} is not https"))?;
        let (hostport, prefix) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
        let prefix = prefix.trim_end_matches('/').to_string();
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if p.parse::<u16>().is_ok() => (h.to_string(), p.parse().unwrap_or(443)),
            _ => (hostport.to_string(), 443),
        };
        let addr = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| CaptureError::Unreachable { url: url.clone(), detail: e.to_string() })?
            .next()
            .ok_or_else(|| CaptureError::Unreachable { url: url.clone(), detail: "no address".into() })?;
        Ok(ArmReader { addr, host, prefix, url, token, tls })
    }

    /// `GET`s (or `POST`s, for list actions) a path with its api-version; `Ok(None)` for a
    /// 404, the body for a 2xx.
    pub async fn call(&self, method: &str, path: &str) -> anyhow::Result<Option<Value>> {
        let mut conn = Conn::open(None, self.addr, &self.host, self.tls.clone())
            .await
            .map_err(|e| CaptureError::Unreachable { url: self.url.clone(), detail: e.to_string() })?;
        let auth = format!("Bearer {}", self.token);
        let full = format!("{}{path}", self.prefix);
        let r = conn
            .send(method, &full, &[("authorization", &auth), ("content-length", "0")], Bytes::new())
            .await
            .map_err(|e| CaptureError::Unreachable { url: self.url.clone(), detail: e.to_string() })?;
        let body = r.json();
        match r.status {
            200..=299 => Ok(Some(body)),
            404 => Ok(None),
            401 | 403 => Err(CaptureError::Unauthorized {
                request: format!("{method} {}", path.split('?').next().unwrap_or(path)),
                status: r.status,
                code: body["error"]["code"].as_str().unwrap_or_default().to_string(),
                message: body["error"]["message"].as_str().unwrap_or_default().to_string(),
            }
            .into()),
            s => bail!(
                "ARM answered {method} {} with {s}: {}",
                path.split('?').next().unwrap_or(path),
                String::from_utf8_lossy(&r.body)
            ),
        }
    }

    /// A resource by ID, `None` if it does not exist.
    pub async fn get(&self, id: &str, api: &str) -> anyhow::Result<Option<Value>> {
        self.call("GET", &format!("{id}?api-version={api}")).await
    }

    /// The `value` of a listing (one page; pullsim's listings and the resources a pull
    /// depends on fit one).
    pub async fn list(&self, path: &str, api: &str) -> anyhow::Result<Vec<Value>> {
        let sep = if path.contains('?') { '&' } else { '?' };
        Ok(self
            .call("GET", &format!("{path}{sep}api-version={api}"))
            .await?
            .and_then(|v| v["value"].as_array().cloned())
            .unwrap_or_default())
    }
}
