//! # pullsim
//!
//! The harness: scenarios, backends, reports and the command line around the fake Azure
//! of `mock-azure`.
//!
//! # Layout
//! - [`embedded`]: the embedded backend: every component in this process on loopback.
//! - [`serve`]: `pullsim serve`, the fake Azure on loopback for real clients.
//! - [`scenario`]: the scenario format, its loader (errors with file:line:column) and the
//!   ARM requests a scenario's topology turns into.

pub mod embedded;
pub mod scenario;
pub mod serve;
