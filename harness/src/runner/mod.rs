//! The runner: scenarios over any [`crate::backend::Backend`], each ending with a
//! verdict.
//!
//! # Layout
//! - [`scenario`]: one scenario: build, pull, steps, app, checks; problems become the
//!   scenario's error.
//! - [`select`]: the scenario files under the paths given, loaded, filtered,
//!   partitioned.
//! - [`suite`]: many scenarios on as many environments as jobs, with timeouts and
//!   cancellation.
//! - [`session`]: the runner as ARM's client and the plan that builds a topology.
//! - [`check`]: answers held to expectations.
//! - [`origin`]: the scenario key (file, line, column) a problem comes from.
//! - [`result`]: what a run gives ([`result::ScenarioResult`], [`result::Verdict`]),
//!   plain data every report renders.

pub mod check;
pub mod origin;
pub mod result;
pub mod scenario;
pub mod select;
pub mod session;
pub mod suite;
