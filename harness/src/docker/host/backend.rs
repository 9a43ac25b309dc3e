//! The docker environment behind [`Backend`]: what the runner drives when `--backend
//! docker` is given. One environment serves a whole run; [`Backend::reset`] empties it
//! between scenarios (store, images, configured addresses, the previous app).

use std::sync::Arc;

use async_trait::async_trait;
use mock_azure::acr::BlobStore;
use mock_azure::appservice::rules::Epoch;
use mock_azure::appservice::worker::PullReport;
use mock_azure::arm::{ArmRequest, ArmResponse};
use mock_azure::dns::CustomServer;

use super::env::DockerEnv;
use crate::backend::{AppOutcome, Backend, BackendError, Operation};

const DOCKER: &str = "docker";

/// A [`DockerEnv`] as a [`Backend`].
pub struct DockerBackend {
    env: DockerEnv,
    start_app: bool,
}

impl DockerBackend {
    /// Connects to the engine, builds the component image from this very binary (unless
    /// cached) and starts the environment. With `start_app`, a successful pull's image is
    /// started as the app container.
    pub async fn start(start_app: bool) -> Result<DockerBackend, BackendError> {
        let err = |e| BackendError::new(DOCKER, Operation::Start, e);
        let docker = super::run::connect().await.map_err(err)?;
        let exe =
            std::env::current_exe().map_err(|e| err(anyhow::Error::new(e).context("finding pullsim's own binary")))?;
        let env = DockerEnv::start(docker, &exe).await.map_err(err)?;
        Ok(DockerBackend { env, start_app })
    }

    /// A backend over an environment already started (from another pullsim binary, for
    /// example: the component image is built from the binary `DockerEnv::start` got).
    pub fn new(env: DockerEnv, start_app: bool) -> DockerBackend {
        DockerBackend { env, start_app }
    }

    /// The environment (for what only the docker backend has: debug containers,
    /// networks).
    pub fn env(&self) -> &DockerEnv {
        &self.env
    }
}

#[async_trait]
impl Backend for DockerBackend {
    fn name(&self) -> &'static str {
        DOCKER
    }

    fn subscription_id(&self) -> String {
        self.env.cfg().subscription_id.clone()
    }

    fn arm_token(&self) -> String {
        self.env.cfg().client_token(self.env.signer(), 3600)
    }

    async fn arm(&self, req: &ArmRequest) -> Result<ArmResponse, BackendError> {
        self.env.arm(req).await.map_err(|e| BackendError::new(DOCKER, Operation::Arm, e))
    }

    fn blobs(&self) -> Arc<dyn BlobStore> {
        self.env.blobs()
    }

    async fn put_custom_dns(&self, name: &str, server: CustomServer) -> Result<(), BackendError> {
        self.env.custom_dns(name, server).await.map_err(|e| BackendError::new(DOCKER, Operation::CustomDns, e))
    }

    async fn settle(&self) -> Result<(), BackendError> {
        self.env.sync().await.map_err(|e| BackendError::new(DOCKER, Operation::Settle, e))
    }

    async fn pull(&self, site_id: &str, epoch: Epoch) -> Result<PullReport, BackendError> {
        self.env.pull(site_id, epoch).await.map_err(|e| BackendError::new(DOCKER, Operation::Pull, e))
    }

    async fn start_app(&self, site_id: &str, report: &PullReport) -> Result<Option<AppOutcome>, BackendError> {
        if !self.start_app {
            return Ok(None);
        }
        let app = super::app::start(&self.env, site_id, report).await;
        app.map(Some).map_err(|e| BackendError::new(DOCKER, Operation::StartApp, e))
    }

    async fn reset(&self) -> Result<(), BackendError> {
        self.env.reset().await.map_err(|e| BackendError::new(DOCKER, Operation::Reset, e))
    }

    async fn stop(self: Box<Self>) -> Result<(), BackendError> {
        self.env.stop().await.map(|_| ()).map_err(|e| BackendError::new(DOCKER, Operation::Stop, e))
    }
}
