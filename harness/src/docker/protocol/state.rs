//! The files the host and the containers share: the state directory the host mounts at
//! [`STATE`] in every component (the store's journal, the CA, the token key, the network
//! layout, the ACR's storage) and the paths of the programs in the component image.

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use mock_azure::acr::{BlobStore, DiskStore, RegistryStore, Schema1Aside};

/// Where the host mounts the state directory.
pub const STATE: &str = "/state";
/// The blobs directory under the state directory (schema 1 manifests only, beside the
/// registry).
pub const BLOBS: &str = "blobs";
/// The CNCF registry's data directory under the state directory.
pub const REGISTRY_DATA: &str = "registry-data";
/// The CNCF registry's configuration file under the state directory.
pub const REGISTRY_CONFIG: &str = "registry.yml";
/// The CNCF registry's port.
pub const REGISTRY_PORT: u16 = 5000;

/// The line a component prints on stdout once it serves (the host waits for it).
pub const READY: &str = "pullsim component ready";
/// The line the app's stand-in process prints once it has looked around.
pub const APP_READY: &str = "pullsim app started";

/// Where the component image keeps pullsim's binary.
pub const PULLSIM_BINARY: &str = "/pullsim";
/// Where the component image keeps iproute2's `ip` (components configure their
/// addresses with it).
pub const IP_BINARY: &str = "/usr/sbin/ip";
/// Where the image (and Debian's docker-registry) keeps the CNCF distribution registry.
pub const REGISTRY_BINARY: &str = "/usr/bin/docker-registry";
/// Where the image (and Debian's busybox-static) keeps busybox.
pub const BUSYBOX: &str = "/bin/busybox";

/// The ACR's storage: the CNCF registry at `registry`, with the schema 1 manifests it
/// refuses kept in `blobs` (the same on the host, which pushes, and in the ACR's
/// container, which serves).
pub fn acr_storage(registry: Ipv4Addr, blobs: &Path) -> anyhow::Result<Arc<dyn BlobStore>> {
    let main = Arc::new(RegistryStore::new(format!("http://{registry}:{REGISTRY_PORT}"), ""));
    let aside = Arc::new(DiskStore::open(blobs).context("opening the blob store for schema 1 manifests")?);
    Ok(Arc::new(Schema1Aside::new(main, aside)))
}

/// App settings App Service never passes into the app's container (docs/azure.md E): the host
/// leaves them out, the app's stand-in process reports any it finds.
pub fn withheld(name: &str) -> bool {
    name.to_ascii_uppercase().starts_with("DOCKER_REGISTRY_SERVER_")
}

#[cfg(test)]
mod tests {
    use super::withheld;

    #[test]
    fn registry_credentials_are_withheld_and_other_settings_pass() {
        assert!(withheld("DOCKER_REGISTRY_SERVER_PASSWORD"));
        assert!(withheld("docker_registry_server_url"));
        assert!(!withheld("WEBSITE_PULL_IMAGE_OVER_VNET"));
        assert!(!withheld("DOCKER_ENABLE_CI"));
    }
}
