//! The docker backend: components of the fake Azure in their own containers, on one
//! `--internal` Docker network per VNET plus one for the public side (ARCHITECTURE.md,
//! "Backends").
//!
//! # Layout
//! - [`host`]: what runs in the `pullsim` process: the component image, the run's
//!   networks and containers, [`host::DockerBackend`] (the [`crate::backend::Backend`]
//!   the runner drives), the app container, `pullsim shell`'s debug containers and
//!   `pullsim gc`.
//! - [`component`]: what runs inside the containers (`pullsim component …`): ARM, Azure
//!   DNS, the ACR, the worker, the app's stand-in process, `dig`.
//! - [`protocol`]: all the two sides share: the control channel, the network layout and
//!   address plan, the state directory's and the image's file layout.
//!
//! `host` and `component` never import each other: a container knows the host only
//! through [`protocol`] (requests on the control channel, files in the state
//! directory), so either side can change without the other as long as the protocol
//! holds.

pub mod component;
pub mod host;
pub mod protocol;
