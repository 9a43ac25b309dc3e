//! Errors of the DNS component.

use super::role::Role;
use crate::model::StoreError;

/// Errors of the DNS component.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The store could not commit.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A custom server definition is not valid.
    #[error("custom DNS server {name}: {reason}")]
    InvalidCustomServer {
        /// Name of the custom server.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The VNET a custom server names does not exist.
    #[error("custom DNS server {name}: virtual network {vnet} not found")]
    VnetNotFound {
        /// Name of the custom server.
        name: String,
        /// The VNET ID as given.
        vnet: String,
    },
    /// Sockets were added to a server that has stopped.
    #[error("the DNS server has stopped; cannot serve {role} on {addr}")]
    Stopped {
        /// Role of the sockets.
        role: Role,
        /// Their local address (if known).
        addr: String,
    },
    /// A serving task failed (its socket closed under it).
    #[error("DNS server for {role} failed: {message}")]
    Serve {
        /// Role of the failed sockets.
        role: Role,
        /// What failed.
        message: String,
    },
}
