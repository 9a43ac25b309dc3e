//! ARM as the user reaches it: the endpoint and an access token from their own Azure CLI
//! login (`az cloud show`, `az account get-access-token`; nothing stored), over HTTPS
//! trusting the system's roots and, as the CLI does, `REQUESTS_CA_BUNDLE`.

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

fn tls_roots() -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(c);
    }
    if let Some(bundle) = std::env::var_os("REQUESTS_CA_BUNDLE") {
        use rustls::pki_types::pem::PemObject;
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
        Ok(ArmReader { addr, host, prefix, url, token, tls: tls_roots()? })
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
