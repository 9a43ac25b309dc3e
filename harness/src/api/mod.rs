//! The library API: a fake Azure in a Rust test. [`FakeAzure`] starts one (in this
//! process, or on Docker), applies scenarios, takes ARM calls and pulls; [`Endpoints`]
//! say how real clients reach it; [`Pull`] is a pull's outcome, trace, log and story.
//!
//! # Layout
//! - `fake_azure`: [`FakeAzure`], its [`Builder`], [`Applied`], [`ArmReply`].
//! - `endpoints`: [`Endpoints`], [`Vantage`], the Azure CLI's set-up.
//! - `pull`: [`Pull`] and `explain`.
//! - `error`: [`Error`].

mod endpoints;
mod error;
mod fake_azure;
mod pull;

pub use endpoints::{Endpoints, Vantage};
pub use error::Error;
pub use fake_azure::{Applied, ArmReply, Builder, FakeAzure};
pub use pull::Pull;
