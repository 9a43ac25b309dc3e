//! # pullsim
//!
//! Reproduce, offline, whether an Azure App Service (Linux container) can pull its
//! image from an Azure Container Registry behind a Private Endpoint — and explain why
//! not. pullsim runs a miniature of the Azure pieces involved over real sockets: a fake
//! Azure Resource Manager with Entra ID (the real `az` CLI and Azure SDKs drive it),
//! Azure DNS with private zones, an ACR (a real OCI registry with ACR's auth and
//! firewall) and the App Service worker that pulls.
//!
//! It is not Azure and not a security boundary: tokens are signed by a key it makes,
//! and anything on loopback can call it.
//!
//! # In a Rust test
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread")]
//! # async fn main() -> Result<(), pullsim::Error> {
//! let mut azure = pullsim::FakeAzure::start().await?;
//! # let recipe = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/fixtures/recipe-2021.toml");
//! azure.apply_file(recipe).await?;
//! let pull = azure.pull().await?;
//! assert!(pull.succeeded());
//! assert_eq!(pull.outcome.route, Some(pullsim::RouteKind::Vnet));
//! println!("{}", pull.explain());
//! # Ok(())
//! # }
//! ```
//!
//! - [`FakeAzure`] starts one (in this process, or on Docker with
//!   [`Builder::with_docker_backend`]), applies scenario files or TOML, takes ARM calls
//!   ([`FakeAzure::arm`]) and pulls ([`FakeAzure::pull`]); dropping it stops everything.
//! - [`Endpoints`] tell real clients where it listens: ARM's URL, the CA, the service
//!   principal, Azure DNS, and vantage-point proxies on the internet and in each VNET.
//! - [`Pull`] is a pull's [`Outcome`] (success, or the [`Stage`] and stable [`Code`] of
//!   the failure), its [`Trace`] and App Service's log; [`Pull::explain`] tells it.
//! - `pullsim::testcontainers` (cargo feature `testcontainers`): `pullsim serve` in a
//!   container, as a [testcontainers](https://docs.rs/testcontainers) image.
//!
//! The scenario format is documented in the repository's `docs/scenarios.md`; the rules
//! (by epoch, with sources) in `docs/rules.md` and `pullsim rules`.
//!
//! # Cargo features
//! - `docker` (default): the docker backend (`bollard`, `tar`).
//! - `testcontainers`: the `pullsim::testcontainers` module (implies `docker`).
//!
//! # Layout
//! The public API is `api` (re-exported here) and `testcontainers`. The rest serves the
//! `pullsim` binary and the project's tests and is hidden from the documentation; it
//! follows no semver promise:
//! - `scenario`: the scenario format, its loader (errors with file:line:column) and the
//!   ARM requests a scenario's topology turns into.
//! - `backend`: the `Backend` trait every backend implements.
//! - `embedded`: the embedded backend: every component in this process on loopback.
//! - `docker`: the docker backend: ARM, Azure DNS, the ACR and the worker each in a
//!   container on per-VNET networks (its host side, its container side, the protocol
//!   between them), `pullsim shell`, `pullsim gc`.
//! - `backends`: which backend (`--backend`), and the one place that starts either.
//! - `runner`: scenarios over `&dyn Backend`: build, pull, steps, checks; a verdict for
//!   every scenario; suites with jobs, timeouts and cancellation.
//! - `report`: human, JSON and JUnit reports; `explain`'s story; `rules`' tables.
//! - `capture`: `pullsim capture`, a live site read through ARM as a scenario.
//! - `import`: `pullsim import`, an ARM template deployed into an embedded fake Azure and
//!   read back by `capture`.
//! - `fix`: the cause of a failing pull and its smallest fixes (oracle search, each
//!   confirmed by a pull, with `az` commands and the scenario diff); `whatif`.
//! - `serve`: `pullsim serve`, the fake Azure on loopback for real clients, and
//!   `proxy`: its vantage points (CONNECT proxies on the internet or inside a VNET);
//!   `limits`: the flags of `serve` that bound connections, time, blobs and uploads.
//! - `state`: `pullsim state check|salvage`, for a state directory whose journal is
//!   damaged.
//! - `shutdown`: the one cancellation token Ctrl-C and SIGTERM cancel.
//! - `cli`: the command line.
//!
//! No module imports one that imports it back, directly or not (`cli` uses everything,
//! `api` uses `serve`, `runner` and the backends; `runner` uses `backends`, `backend`
//! and `scenario`, each backend uses `backend`): a test of the tests crate checks that
//! the `use` lines of `harness/src` form no cycle.

mod api;
#[cfg(feature = "testcontainers")]
pub mod testcontainers;

pub use api::{Applied, ArmReply, Builder, Endpoints, Error, FakeAzure, Pull, Vantage};
/// A period in which Azure's rules for the pull were stable (`2021-07`, `2021-11`,
/// `2022-03`, `2024-11`); a scenario pins one.
pub use mock_azure::appservice::rules::Epoch;
/// A pull's outcome, stages, stable failure codes, route and trace.
pub use mock_azure::appservice::trace::{Code, Outcome, RouteKind, Stage, Step, Trace};

#[doc(hidden)]
pub mod backend;
#[doc(hidden)]
pub mod backends;
#[doc(hidden)]
pub mod capture;
#[doc(hidden)]
pub mod cli;
#[doc(hidden)]
pub mod docker;
#[doc(hidden)]
pub mod embedded;
#[doc(hidden)]
pub mod fix;
#[doc(hidden)]
pub mod import;
#[doc(hidden)]
pub mod limits;
#[doc(hidden)]
pub mod proxy;
#[doc(hidden)]
pub mod report;
#[doc(hidden)]
pub mod runner;
#[doc(hidden)]
pub mod scenario;
#[doc(hidden)]
pub mod serve;
#[doc(hidden)]
pub mod shutdown;
#[doc(hidden)]
pub mod state;
