//! # pullsim
//!
//! The harness: scenarios, backends, reports and the command line around the fake Azure
//! of `mock-azure`.
//!
//! # Layout
//! - [`cli`]: what `run` and `explain` do: find, load, select, run, report.
//! - [`run`]: running one scenario: topology through ARM, images, pulls, steps, checks.
//! - [`report`]: human, JSON and JUnit reports; `explain`'s story; `rules`' table.
//! - [`docker`]: the docker backend: ARM, Azure DNS, the ACR and the worker each in a
//!   container on per-VNET networks, `pullsim shell`, `pullsim gc`.
//! - [`embedded`]: the embedded backend: every component in this process on loopback.
//! - [`limits`]: the flags of `serve` that bound connections, time, blobs and uploads.
//! - [`proxy`]: vantage points for real clients (skopeo…): CONNECT proxies on the
//!   internet or inside a VNET.
//! - [`serve`]: `pullsim serve`, the fake Azure on loopback for real clients.
//! - [`state`]: `pullsim state check|salvage`, for a state directory whose journal is damaged.
//! - [`scenario`]: the scenario format, its loader (errors with file:line:column) and the
//!   ARM requests a scenario's topology turns into.

pub mod cli;
pub mod docker;
pub mod embedded;
pub mod limits;
pub mod proxy;
pub mod report;
pub mod run;
pub mod scenario;
pub mod serve;
pub mod state;
