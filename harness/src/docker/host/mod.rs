//! The docker backend's host side: what the `pullsim` process does with the engine.
//!
//! # Layout
//! - [`run`]: the engine client, labels, a run's drop-guard cleanup, `pullsim gc`.
//! - [`image`]: the component image, built through the Docker API from an in-memory tar
//!   context `FROM scratch` (pullsim's binary and the libraries it loads, iproute2's
//!   `ip`, the CNCF registry, busybox), tagged by a content hash so it is rebuilt only
//!   when the binary changed; the platform image app containers are committed onto.
//! - [`net`]: the run's internal networks, on ranges that collide with nothing.
//! - [`container`]: creating, starting and awaiting one container; its output.
//! - [`env`]: [`env::DockerEnv`], the environment: state directory, networks, the four
//!   components and the registry, reset / sync / pull, debug containers.
//! - [`app`]: the pulled image committed and started as the app container.
//! - [`backend`]: [`DockerBackend`], the environment behind [`crate::backend::Backend`].
//!
//! Everything created carries the labels `pullsim=1` and `pullsim.run=<run id>` (plus
//! `pullsim.pid`, so `pullsim gc` can tell a crashed run from a live one). A
//! [`run::Run`] removes what carries its label when it is cleaned up or dropped. The
//! component image is a cache shared by runs: it carries `pullsim=1` but no run label,
//! and `gc` removes the ones that no longer match the binary.

pub mod app;
pub mod backend;
pub mod container;
pub mod env;
pub mod image;
pub mod net;
pub mod run;

pub use backend::DockerBackend;
