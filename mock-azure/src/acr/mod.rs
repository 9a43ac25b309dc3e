//! The fake ACR data plane: an OCI distribution registry with ACR's authentication,
//! firewall, private endpoints and data endpoints (docs/azure.md D).
//!
//! # Layout
//! - [`oci`]: digests, repository names, tags, media types, manifest parsing.
//! - [`errors`]: every error body the registry answers (ACR's exact messages included).
//! - [`storage`]: the [`BlobStore`] trait and its in-memory and on-disk stores.
//! - [`host`]: which registry and host a name means, what a connection arrived on, TLS
//!   certificates per registry host name.
//! - [`uploads`]: upload sessions and their bounds.
//! - [`firewall`]: which endpoint a request arrived on and whether the registry's network
//!   rules let the client in.
//! - [`auth`]: admin user, Entra token exchange, ACR tokens and their scopes, signed
//!   data-endpoint URLs.
//! - [`api`]: routing and the distribution API handlers (login server, data endpoint).
//! - `respond`: what the handlers share (responses, small bodies, listing pages).
//! - [`v1`]: ACR's own API under `/acr/v1/` (repositories, tags, manifests: metadata,
//!   attributes, deletes).
//! - [`referrers`]: OCI 1.1's referrers index and the `OCI-Subject` answer.
//! - [`body`]: the response body (in memory or streamed from the store).
//! - [`mod@serve`]: TLS per host name, listeners added while running, connections.
//! - [`image`]: deterministic test images, pushing them, importing `docker save`
//!   archives and OCI layouts.
//!
//! # A pull
//! The environment binds one listener per endpoint address (each registry's public
//! login and data addresses, each private endpoint address) on the fabric's HTTPS port
//! and hands it to [`serve()`]. For each connection the server learns the modeled endpoint
//! (`fabric.map.modeled(local ip)`) and client (`fabric.map.modeled(peer ip)`), picks a
//! certificate by SNI (`<reg>.azurecr.io` or `<reg>.<region>.data.azurecr.io`), and for
//! every request: finds the registry in the store, applies the firewall, then on the
//! login server authenticates and serves manifests, answering blob GETs with a 307 to a
//! signed, expiring data-endpoint URL that the data endpoint checks (after the same
//! firewall) before streaming the blob.

pub mod api;
pub mod auth;
pub mod body;
pub mod errors;
pub mod firewall;
pub mod host;
pub mod image;
pub mod oci;
pub mod referrers;
mod respond;
pub mod serve;
pub mod storage;
pub mod uploads;
pub mod v1;

#[cfg(test)]
mod testenv;
#[cfg(test)]
mod tests;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

pub use api::put_manifest_checked;
pub use body::Body;
pub use errors::RegistryError;
pub use host::{ConnInfo, HostKind, find_host};
pub use image::{
    Blob, Image, ImageError, ImageIndex, Imported, generate_for, generate_image, generate_index, import_docker_archive,
    import_oci_layout, push_image, push_index,
};
pub use serve::{ListenerHandle, Listeners, listeners, serve, serve_with};
pub use storage::{BlobStore, Changeable, DiskStore, Item, MemoryStore, RegistryStore, Repo, Schema1Aside, Times};
pub use uploads::{UPLOAD_IDLE, UploadLimits};

use crate::identity::TokenSigner;
use crate::model::Store;
use crate::model::view::{Registry, Views};
use crate::netplan::{Fabric, Modeled};
use crate::tls::{Ca, TlsError};

/// What an endpoint address is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointKind {
    /// The registry's public login-server address.
    PublicLogin,
    /// The registry's public data-endpoint address.
    PublicData,
    /// A private endpoint's address.
    Private {
        /// The private endpoint's resource ID.
        endpoint_id: String,
        /// `registry` or `registry_data_<region>`.
        member: String,
    },
}

/// An address the environment must listen on for a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The registry's name.
    pub registry: String,
    /// The modeled address.
    pub address: Modeled,
    /// What it is.
    pub kind: EndpointKind,
}

/// The fake ACR: every registry in the store, served from one set of listeners.
pub struct Acr {
    store: Store,
    blobs: Arc<dyn BlobStore>,
    signer: Arc<TokenSigner>,
    fabric: Fabric,
    tenant_id: String,
    tls: Arc<rustls::ServerConfig>,
    urls: auth::BlobUrlSigner,
    uploads: uploads::Sessions,
    limits: UploadLimits,
}

impl Acr {
    /// An ACR over `store` (registries, network, roles) keeping content in `blobs`.
    /// `signer` verifies Entra tokens (from pullsim's identity endpoint) and signs ACR
    /// tokens; `ca` issues the per-host certificates; `fabric` maps real addresses to
    /// modeled ones; `tenant_id` is the tenant Entra tokens must come from.
    pub fn new(
        store: Store,
        blobs: Arc<dyn BlobStore>,
        signer: Arc<TokenSigner>,
        ca: Arc<Ca>,
        fabric: Fabric,
        tenant_id: impl Into<String>,
    ) -> Result<Acr, TlsError> {
        let tls = host::server_config(store.clone(), ca)?;
        Ok(Acr {
            store,
            blobs,
            signer,
            fabric,
            tenant_id: tenant_id.into(),
            tls,
            urls: auth::BlobUrlSigner::generate(),
            uploads: Default::default(),
            limits: UploadLimits::default(),
        })
    }

    /// The same ACR with these upload limits (the default: the store's largest blob,
    /// sessions dropped after [`UPLOAD_IDLE`] idle).
    pub fn with_upload_limits(mut self, limits: UploadLimits) -> Acr {
        self.limits = limits;
        self
    }

    /// The upload limits in force.
    pub fn upload_limits(&self) -> UploadLimits {
        self.limits
    }

    /// The resource store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The content store.
    pub fn blobs(&self) -> &Arc<dyn BlobStore> {
        &self.blobs
    }

    /// The network fabric.
    pub fn fabric(&self) -> &Fabric {
        &self.fabric
    }

    /// The one TLS configuration every listener uses (certificates chosen by SNI).
    pub fn tls_config(&self) -> Arc<rustls::ServerConfig> {
        self.tls.clone()
    }

    /// The registry and host kind a TLS server name names, if any.
    pub fn find_host(&self, host: &str) -> Option<(Arc<Registry>, HostKind)> {
        find_host(&self.store, host)
    }

    /// What the server knows of a connection from `peer` to `local` with this SNI.
    pub fn conn_info(&self, local: SocketAddr, peer: SocketAddr, sni: &str) -> ConnInfo {
        let client = self.fabric.map.modeled(peer.ip()).unwrap_or_else(|| {
            // A client outside the modeled network: seen as the public address it came from.
            Modeled::public(match peer.ip() {
                IpAddr::V4(ip) => ip,
                IpAddr::V6(ip) => ip.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED),
            })
        });
        ConnInfo { host: sni.to_ascii_lowercase(), endpoint: self.fabric.map.modeled(local.ip()), client }
    }

    /// Every endpoint address of every registry in the store, in store order: what the
    /// environment binds listeners on.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        let views = Views::of(&self.store);
        let mut out = Vec::new();
        for reg in &views.registries {
            let name = reg.name_lower();
            for (ip, kind) in reg.public_ips.iter().zip([EndpointKind::PublicLogin, EndpointKind::PublicData]) {
                out.push(Endpoint { registry: name.clone(), address: Modeled::public(*ip), kind });
            }
            for conn in &reg.connections {
                let Some(pe) = views.endpoint(&conn.endpoint_id) else { continue };
                for a in &pe.addresses {
                    out.push(Endpoint {
                        registry: name.clone(),
                        address: Modeled::private(&a.vnet, a.ip),
                        kind: EndpointKind::Private { endpoint_id: conn.endpoint_id.clone(), member: a.member.clone() },
                    });
                }
            }
        }
        out
    }
}
