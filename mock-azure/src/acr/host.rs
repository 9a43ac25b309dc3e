//! Which registry and which of its hosts a name means (`<reg>.azurecr.io`, the login
//! server; `<reg>.<region>.data.azurecr.io`, the data endpoint), what a connection arrived
//! on, and the TLS configuration that issues a certificate per registry host name.

use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::storage;
use crate::model::Store;
use crate::model::view::{Registry, Views};
use crate::netplan::Modeled;
use crate::tls::{Ca, TlsError};

/// What the server knows of a connection when a request arrives on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnInfo {
    /// The TLS server name the client asked for, lower case. It alone picks the registry
    /// and host kind (the certificate was chosen by it); the `Host` header, which real
    /// clients set to the same name, is not consulted.
    pub host: String,
    /// The modeled address the client connected to; `None` if the map does not know the
    /// local address (then no registry accepts the request).
    pub endpoint: Option<Modeled>,
    /// The modeled client address: what ACR sees and names in a denial.
    pub client: Modeled,
}

/// Which of a registry's host names a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// `<reg>.azurecr.io`.
    Login,
    /// `<reg>.<region>.data.azurecr.io`.
    Data,
}

/// The registry a host name names: `<reg>.azurecr.io` (login server) or
/// `<reg>.<region>.data.azurecr.io` (data endpoint, region = the registry's location).
pub fn find_host(store: &Store, host: &str) -> Option<(Arc<Registry>, HostKind)> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let stem = host.strip_suffix(".azurecr.io")?;
    let (name, kind, region) = match stem.split('.').collect::<Vec<_>>().as_slice() {
        [name] => (name.to_string(), HostKind::Login, None),
        [name, region, "data"] => (name.to_string(), HostKind::Data, Some(region.to_string())),
        _ => return None,
    };
    if !storage::valid_registry(&name) {
        return None;
    }
    // Every request looks its host up here: an index built once per store commit.
    let reg = Views::of(store).registry(&name)?.clone();
    if let Some(region) = region
        && !reg.location.eq_ignore_ascii_case(&region)
    {
        return None;
    }
    Some((reg, kind))
}

/// Issues a certificate per registry host name, on first use, and keeps it.
struct CertResolver {
    store: Store,
    ca: Arc<Ca>,
}

impl std::fmt::Debug for CertResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertResolver").finish_non_exhaustive()
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = hello.server_name()?.to_ascii_lowercase();
        find_host(&self.store, &name)?;
        match self.ca.certified(&name) {
            Ok(k) => Some(k),
            Err(e) => {
                tracing::warn!(%name, error = %e, "issuing an ACR certificate failed");
                None
            }
        }
    }
}

/// The TLS configuration of the fake ACR: HTTP/1.1, certificates per registry host name.
pub(crate) fn server_config(store: Store, ca: Arc<Ca>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = crate::tls::provider();
    let resolver = CertResolver { store, ca };
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}
