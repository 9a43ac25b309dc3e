//! # mock-azure
//!
//! Everything in pullsim that pretends to be Azure, over real sockets.
//!
//! # Layout
//! Listed from the bottom up: a module uses only modules above it in this list (the
//! leaves `form`, `httpc`, `tls`, `identity` anywhere); `tests/module_graph.rs` checks
//! there is no import cycle.
//! - [`model`]: the resource store (one source of truth), resource IDs, derived values,
//!   and the typed views of the resources other components read.
//! - [`identity`]: the fake Entra ID's token signer.
//! - [`arm`]: the fake Azure Resource Manager (HTTPS + JSON) that writes the store.
//! - [`netplan`]: modeled addresses, reachability, and their map to real addresses.
//! - [`dns`]: the fake Azure DNS (168.63.129.16 per VNET, the public chain, custom DNS
//!   servers), its query log, and the one DNS client pullsim's components use.
//! - [`acr`]: the fake ACR data plane: OCI distribution over TLS per host name, ACR's
//!   auth, firewall, private endpoints and data endpoints; the OCI rules (`acr::oci`).
//! - [`appservice`]: the App Service worker that pulls, its rules, traces and oracle.
//! - [`form`]: form/query encoding shared by ARM, the ACR and the worker.
//! - [`httpc`]: the HTTPS client pullsim's own components use.
//! - [`listen`]: the accept loop every listener shares: connection caps, timeouts,
//!   back-off when descriptors run out, the open-file limit.
//! - [`tls`]: pullsim's certificate authority and TLS configurations.

pub mod acr;
pub mod appservice;
pub mod arm;
pub mod dns;
pub mod form;
pub mod httpc;
pub mod identity;
pub mod listen;
pub mod model;
pub mod netplan;
pub mod tls;
