//! # pullsim
//!
//! The harness: scenarios, backends, the runner, reports and the command line around
//! the fake Azure of `mock-azure`.
//!
//! # Layout
//! - [`scenario`]: the scenario format, its loader (errors with file:line:column) and the
//!   ARM requests a scenario's topology turns into.
//! - [`backend`]: the [`backend::Backend`] trait every backend implements.
//! - [`embedded`]: the embedded backend: every component in this process on loopback.
//! - [`docker`]: the docker backend: ARM, Azure DNS, the ACR and the worker each in a
//!   container on per-VNET networks (its host side, its container side, the protocol
//!   between them), `pullsim shell`, `pullsim gc`.
//! - [`backends`]: which backend (`--backend`), and the one place that starts either.
//! - [`runner`]: scenarios over `&dyn Backend`: build, pull, steps, checks; a verdict for
//!   every scenario; suites with jobs, timeouts and cancellation.
//! - [`report`]: human, JSON and JUnit reports; `explain`'s story; `rules`' tables.
//! - [`capture`]: `pullsim capture`, a live site read through ARM as a scenario.
//! - [`fix`]: the cause of a failing pull and its smallest fixes (oracle search, each
//!   confirmed by a pull, with `az` commands and the scenario diff); `whatif`.
//! - [`serve`]: `pullsim serve`, the fake Azure on loopback for real clients, and
//!   [`proxy`]: its vantage points (CONNECT proxies on the internet or inside a VNET);
//!   [`limits`]: the flags of `serve` that bound connections, time, blobs and uploads.
//! - [`state`]: `pullsim state check|salvage`, for a state directory whose journal is
//!   damaged.
//! - [`shutdown`]: the one cancellation token Ctrl-C and SIGTERM cancel.
//! - [`cli`]: the command line.
//!
//! No module imports one that imports it back, directly or not (`cli` uses everything,
//! `runner` uses `backends`, `backend` and `scenario`, each backend uses `backend`): a
//! test of the tests crate checks that the `use` lines of `harness/src` form no cycle
//! (it lists the one known exception, inside `scenario`'s schema walker).

pub mod backend;
pub mod backends;
pub mod capture;
pub mod cli;
pub mod docker;
pub mod embedded;
pub mod fix;
pub mod limits;
pub mod proxy;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod serve;
pub mod shutdown;
pub mod state;
