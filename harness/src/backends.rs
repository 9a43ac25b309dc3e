//! Which backend: [`Kind`], as `--backend` names it, and the one place that starts
//! either ([`Kind::start`]).

use tokio_util::sync::CancellationToken;

use crate::backend::{Backend, BackendError, Operation};

/// Which backend, as `--backend` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Kind {
    /// Every component in this process, each modeled address on its own loopback address.
    #[default]
    Embedded,
    /// One container per component, a Docker network per VNET (needs a Docker engine).
    Docker,
}

/// How a backend is started.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// (docker) Start the pulled image as the app container after a successful pull.
    pub start_app: bool,
}

impl Kind {
    /// Starts one environment; gives up (removing what it made) when `cancel` fires.
    // Without the docker backend, no option applies to the embedded one.
    #[cfg_attr(not(feature = "docker"), allow(unused_variables))]
    pub async fn start(
        self,
        opts: &StartOptions,
        cancel: &CancellationToken,
    ) -> Result<Box<dyn Backend>, BackendError> {
        let started = async {
            Ok::<Box<dyn Backend>, BackendError>(match self {
                Kind::Embedded => Box::new(crate::embedded::EmbeddedBackend::start().await?),
                #[cfg(feature = "docker")]
                Kind::Docker => Box::new(crate::docker::host::DockerBackend::start(opts.start_app).await?),
                #[cfg(not(feature = "docker"))]
                Kind::Docker => return Err(BackendError::new("docker", Operation::Start, without_docker())),
            })
        };
        tokio::select! {
            b = started => b,
            _ = cancel.cancelled() => Err(BackendError::new(self.name(), Operation::Start, anyhow::anyhow!("interrupted"))),
        }
    }

    /// How many environments of this kind a suite runs at once, at most: the embedded
    /// backend one per job; the docker backend one (reset between scenarios), since an
    /// environment is five containers and its networks.
    pub fn max_parallel(self) -> usize {
        match self {
            Kind::Embedded => usize::MAX,
            Kind::Docker => 1,
        }
    }

    /// `embedded` or `docker`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Embedded => "embedded",
            Kind::Docker => "docker",
        }
    }
}

/// Why a docker command cannot run in a pullsim built without the `docker` feature.
pub fn without_docker() -> anyhow::Error {
    anyhow::anyhow!("this pullsim was built without the `docker` cargo feature (the docker backend)")
}
