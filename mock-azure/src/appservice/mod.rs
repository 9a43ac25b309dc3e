//! The modeled App Service platform: the worker that pulls a site's image through the
//! fake ARM, DNS and ACR over real sockets, the rules it follows, and the trace it keeps.
//!
//! # Layout
//! Dependencies point down this list (a file uses only files below it):
//! - [`worker`]: the pull: the stages in order, the report.
//! - `auth`: one unit per credential kind (managed identity, admin user, anonymous),
//!   chosen by [`auth::Credential::of`].
//! - `fetch`: the manifest (the ACR's OCI rules) and the blobs through the data endpoint.
//! - `pull`: one pull in progress: its trace and log, the "fail this stage with this
//!   code" helper, resolving and connecting from the route's source.
//! - [`resolve`]: the worker's stub resolver (the DNS client, servers in order).
//! - [`route`]: the route and the DNS servers, decided as values from the site and the
//!   epoch.
//! - `arm_client`: how the platform reads the site and its identity's token through ARM.
//! - [`site`]: the site as read through ARM.
//! - `error`: [`worker::InfraError`], a fault of pullsim rather than a modeled outcome.
//! - [`oracle`]: the same rules as a pure decision procedure, for property tests (it
//!   reads the store its own way, on purpose).
//! - [`logs`]: the docker log lines App Service writes, docker's error text.
//! - [`trace`]: steps, stages, codes, outcomes.
//! - [`rules`]: rule epochs and the rule table (sources, confidence).

mod arm_client;
pub mod auth;
mod error;
mod fetch;
pub mod logs;
pub mod oracle;
mod pull;
pub mod resolve;
pub mod route;
pub mod rules;
pub mod site;
pub mod trace;
pub mod worker;
