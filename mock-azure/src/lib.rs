//! # mock-azure
//!
//! Everything in pullsim that pretends to be Azure, over real sockets.
//!
//! # Layout
//! - [`model`]: the resource store (one source of truth) and resource IDs.
//! - [`acr`]: the fake ACR data plane: OCI distribution over TLS per host name, ACR's
//!   auth, firewall, private endpoints and data endpoints.
//! - [`dns`]: the fake Azure DNS (168.63.129.16 per VNET, the public chain, custom DNS
//!   servers) and its query log.
//! - [`arm`]: the fake Azure Resource Manager (HTTPS + JSON) that writes the store.
//! - [`identity`]: the fake Entra ID token endpoint and the token signer.
//! - [`netplan`]: modeled addresses, reachability, and their map to real addresses.
//! - [`appservice`]: the App Service worker that pulls, its rules and traces.
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
