//! The one interface a fake Azure offers the runner, whatever runs it: [`Backend`].
//!
//! A backend is one running environment — ARM, Azure DNS, the ACR and the App Service
//! worker over one resource store. The runner ([`crate::runner`]) builds a scenario's
//! topology through [`Backend::arm`], pushes its images into [`Backend::blobs`], asks
//! the worker to [`Backend::pull`] and holds the results to the scenario's
//! expectations; it never knows which backend it talks to. The embedded backend
//! ([`crate::embedded`]) runs everything in this process; the docker backend
//! ([`crate::docker::host`]) runs each component in a container;
//! [`crate::backends::Kind::start`] is the one place that chooses between them.
//!
//! The trait is object-safe: the runner holds a `&dyn Backend`.

use std::sync::Arc;

use async_trait::async_trait;
use mock_azure::acr::BlobStore;
use mock_azure::appservice::rules::Epoch;
use mock_azure::appservice::worker::PullReport;
use mock_azure::arm::{ArmRequest, ArmResponse};
use mock_azure::dns::CustomServer;
use serde::Serialize;

/// A running fake Azure.
#[async_trait]
pub trait Backend: Send + Sync {
    /// `embedded` or `docker`, as results and reports name it.
    fn name(&self) -> &'static str;

    /// The subscription every resource lives in.
    fn subscription_id(&self) -> String;

    /// A bearer token ARM accepts for its service principal (valid for an hour).
    fn arm_token(&self) -> String;

    /// Sends one request to ARM. A refusal is an answer (`Ok` with its status); an error
    /// means ARM could not be asked.
    async fn arm(&self, req: &ArmRequest) -> Result<ArmResponse, BackendError>;

    /// The ACR's storage, where a scenario's images are pushed.
    fn blobs(&self) -> Arc<dyn BlobStore>;

    /// Registers a custom DNS server (a VM in a VNET: not an ARM resource).
    async fn put_custom_dns(&self, name: &str, server: CustomServer) -> Result<(), BackendError>;

    /// Serves what the configuration now needs: registry endpoints, custom DNS servers,
    /// networks. The runner calls it after building a topology; [`Backend::pull`] calls
    /// it itself.
    async fn settle(&self) -> Result<(), BackendError>;

    /// Has the App Service worker pull a site's image now, under `epoch`'s rules.
    async fn pull(&self, site_id: &str, epoch: Epoch) -> Result<PullReport, BackendError>;

    /// Starts a successfully pulled image as the site's app; `None` when this backend
    /// does not run apps (the embedded one).
    async fn start_app(&self, _site_id: &str, _report: &PullReport) -> Result<Option<AppOutcome>, BackendError> {
        Ok(None)
    }

    /// Forgets everything: the next scenario starts from an empty Azure.
    async fn reset(&self) -> Result<(), BackendError>;

    /// Stops every component and removes what the backend created.
    async fn stop(self: Box<Self>) -> Result<(), BackendError>;
}

/// The app container a successful pull started (docker backend), as plain data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppOutcome {
    /// Whether the container started and reported.
    pub started: bool,
    /// The image built from the pulled layers.
    pub image: String,
    /// Names of the environment variables it got from the app settings.
    pub settings: Vec<String>,
    /// What the app printed (its environment check and its lookup of the registry).
    pub output: String,
}

/// What a backend was asked to do when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Starting the environment.
    Start,
    /// An ARM request.
    Arm,
    /// Registering a custom DNS server.
    CustomDns,
    /// Serving what the configuration needs.
    Settle,
    /// A pull.
    Pull,
    /// Starting the app container.
    StartApp,
    /// Forgetting the previous scenario.
    Reset,
    /// Stopping and cleaning up.
    Stop,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Start => "starting",
            Operation::Arm => "asking ARM",
            Operation::CustomDns => "registering a custom DNS server",
            Operation::Settle => "serving the configuration",
            Operation::Pull => "pulling",
            Operation::StartApp => "starting the app container",
            Operation::Reset => "resetting",
            Operation::Stop => "stopping",
        }
    }
}

/// A backend could not do what it was asked: the harness failed, not the modeled
/// Azure (whose refusals are answers).
#[derive(Debug, thiserror::Error)]
#[error("{backend} backend: {} failed: {source:#}", .operation.as_str())]
pub struct BackendError {
    /// `embedded` or `docker`.
    pub backend: &'static str,
    /// What it was asked.
    pub operation: Operation,
    /// Why it failed.
    #[source]
    pub source: anyhow::Error,
}

impl BackendError {
    /// An error of `backend` doing `operation`.
    pub fn new(backend: &'static str, operation: Operation, source: impl Into<anyhow::Error>) -> BackendError {
        BackendError { backend, operation, source: source.into() }
    }
}
