//! The fake Azure Resource Manager: HTTPS + JSON over the resource store.
//!
//! [`Arm::handle`] is a pure function of the request and the store (no sockets), so the
//! same code serves real clients through [`serve`] and is fuzzed directly by tests. The
//! identity endpoints (OpenID configuration, token) share the listener: their paths
//! start with a tenant, ARM's with `subscriptions`, `tenants`, `providers` or `metadata`.
//!
//! # Layout
//! Dependencies point down this list (a file uses only files below it):
//! - `dispatch`: [`Arm::handle`]: identity, metadata, the MSI endpoint, or ARM proper
//!   (token, api-version, authorization, route → `deployments`, `subscription` or
//!   `resources`).
//! - `deployments`: template deployments and `exportTemplate` (the `arm-template` engine;
//!   each resource applied through the dispatcher, handed in as a function).
//! - [`authz`]: who calls, what the request needs, the caller's role assignments at the
//!   scope or above; 403 `AuthorizationFailed`; listings filtered to what may be read;
//!   the service principal's Owner assignment.
//! - `kinds`: the table of every resource type, namespace and provider action.
//! - `web`, `acr`, `network`, `privatedns`, `rbac`, `groups`: what each provider adds
//!   (its `KINDS`, hooks and actions); `opaque`: real Azure types kept without behaviour.
//! - `subscription`: tenants, the subscription, locations, the resource group listing,
//!   providers and provider actions.
//! - `resources`: the generic resource life cycle (PUT/PATCH/GET/DELETE, cascades,
//!   listings, actions), handed the table of kinds.
//! - `kind`: what a provider contributes per type (`Kind`), its hooks' context, the
//!   table's type.
//! - `body`, `filter`, `regions`, `public_ip`: request bodies and typed properties,
//!   `$filter`, the region table, public address allocation.
//! - `metadata`, `msi`, `identity_api`, `graph`: the cloud metadata endpoint, the
//!   platform's managed-identity endpoint, the fake Entra ID, Microsoft Graph's getByIds.
//! - `owner`: the service principal's Owner assignment, made once per store.
//! - `serve`: HTTPS on a listener the caller bound ([`serve()`], [`serve_with()`]).
//! - `service`, `http`: the [`Arm`] and its configuration, request and answer types.
//! - [`route`], [`version`], [`error`]: path → route, api-versions, every ARM error.
//! - [`roles`]: the built-in role definitions (actions, notActions, dataActions) that
//!   ARM and the ACR data plane both read.

mod acr;
pub mod authz;
mod body;
mod deployments;
mod dispatch;
pub mod error;
mod filter;
mod graph;
mod groups;
mod http;
mod identity_api;
mod kind;
mod kinds;
mod metadata;
mod msi;
mod network;
mod opaque;
mod owner;
mod privatedns;
mod public_ip;
mod rbac;
mod regions;
mod resources;
pub mod roles;
pub mod route;
mod serve;
mod service;
mod subscription;
pub mod version;
mod web;

pub use acr::admin_passwords;

/// Whether ARM keeps resources of this full type (`Microsoft.Insights/components`) as
/// opaque: stored, listed, read and deleted, with no part in the pull's model.
pub fn is_opaque_type(resource_type: &str) -> bool {
    kinds::KINDS.get(&resource_type.to_ascii_lowercase()).is_some_and(|k| k.opaque)
}
pub use error::ArmError;
pub use http::{ArmRequest, ArmResponse};
pub use serve::{serve, serve_with};
pub use service::{
    ARM_AUDIENCES, Arm, ArmConfig, LOG_TAIL, MAX_BODY, PLATFORM_CLIENT_ID, PLATFORM_CLIENT_SECRET, Platform,
    ServicePrincipal,
};

pub use crate::form::parse_form;
