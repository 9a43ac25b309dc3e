//! [`FakeAzure`] and its [`Builder`]: start, apply, call ARM, pull, stop.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mock_azure::appservice::rules::Epoch;
use mock_azure::arm::ArmRequest;
use mock_azure::netplan::AddressMap;
use serde_json::Value;

use super::endpoints::{Endpoints, Vantage};
use super::error::Error;
use super::pull::Pull;
use crate::backend::{Backend, BackendError};
use crate::embedded::{EmbeddedBackend, Env, EnvOptions};
use crate::runner::result::ScenarioError;
use crate::scenario::{LoadOptions, Scenario};

/// How to start a [`FakeAzure`]: consuming `with_*` setters, then [`Builder::start`].
#[derive(Debug, Clone, Default)]
pub struct Builder {
    rules: Option<Epoch>,
    state_dir: Option<PathBuf>,
    fixture_dirs: Vec<PathBuf>,
    #[cfg(feature = "docker")]
    docker: Option<PathBuf>,
}

impl Builder {
    /// The rules epoch every pull follows, whatever the applied scenarios pin (default:
    /// the last applied scenario's `rules`, else the newest epoch).
    pub fn with_rules(mut self, rules: Epoch) -> Builder {
        self.rules = Some(rules);
        self
    }

    /// Keep the resource store, the ACR's content, the CA and the token key in `dir`,
    /// so a later fake Azure on the same directory starts where this one stopped
    /// (default: everything in memory). Embedded backend only.
    pub fn with_state_dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.state_dir = Some(dir.into());
        self
    }

    /// Also look for fixtures here (after the `fixtures` folders beside and above the
    /// scenario file), as `pullsim run --fixtures DIR` does.
    pub fn with_fixture_dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.fixture_dirs.push(dir.into());
        self
    }

    /// Run on the docker backend: each component in its own container, a Docker network
    /// per VNET. The component image is built (once, cached by content) from
    /// `pullsim_binary`, a `pullsim` executable (`cargo install --path harness`); nothing
    /// is pulled from a registry. Needs a Docker engine (`DOCKER_HOST` or
    /// `/var/run/docker.sock`).
    #[cfg(feature = "docker")]
    pub fn with_docker_backend(mut self, pullsim_binary: impl Into<PathBuf>) -> Builder {
        self.docker = Some(pullsim_binary.into());
        self
    }

    /// Starts the fake Azure: ARM and Entra ID, Azure DNS, the ACR and the App Service
    /// worker, empty until a scenario is applied.
    pub async fn start(self) -> Result<FakeAzure, Error> {
        let start_err = |e: BackendError| Error::Start { source: Box::new(e) };
        let io_err = |e: std::io::Error| Error::Start { source: Box::new(e) };
        let files = tempfile::Builder::new().prefix("pullsim-lib-").tempdir().map_err(io_err)?;
        #[cfg(feature = "docker")]
        if let Some(bin) = &self.docker {
            if self.state_dir.is_some() {
                return Err(Error::Unsupported { what: "a state directory is kept by the embedded backend only" });
            }
            let op = |e| start_err(BackendError::new("docker", crate::backend::Operation::Start, e));
            let engine = crate::docker::host::run::connect().await.map_err(op)?;
            let env = crate::docker::host::env::DockerEnv::start(engine, bin).await.map_err(op)?;
            let backend = crate::docker::host::DockerBackend::new(env, false);
            return Ok(FakeAzure::new(self, Box::new(backend), None, files));
        }
        let env = Env::start(EnvOptions { state_dir: self.state_dir.clone(), ..Default::default() })
            .await
            .map_err(|e| start_err(BackendError::new("embedded", crate::backend::Operation::Start, e)))?;
        let env = Arc::new(env);
        let ca_file = files.path().join("ca.pem");
        std::fs::write(&ca_file, env.ca_pem()).map_err(io_err)?;
        let backend = EmbeddedBackend::with_env(env.clone());
        Ok(FakeAzure::new(self, Box::new(backend), Some(env), files))
    }
}

/// A running fake Azure: the pieces an App Service image pull from a Private-Endpoint
/// ACR touches (ARM with Entra ID, Azure DNS with private zones, the ACR with its
/// firewall and auth, the App Service worker), over real sockets on loopback, or in
/// containers on the docker backend.
///
/// Apply a scenario (a topology in the words an Azure user knows, see
/// `docs/scenarios.md`), change it through [`FakeAzure::arm`] as a client would, and
/// [`FakeAzure::pull`] to see whether App Service gets its image and why not. Dropping
/// it stops everything; [`FakeAzure::stop`] does the same and waits.
///
/// ```
/// # #[tokio::main(flavor = "multi_thread")]
/// # async fn main() -> Result<(), pullsim::Error> {
/// use pullsim::{Code, Epoch, FakeAzure, Stage};
///
/// let mut azure = FakeAzure::builder().with_rules(Epoch::E2021_07).start().await?;
/// # let recipe = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/fixtures/recipe-2021.toml");
/// azure.apply_file(recipe).await?; // the July 2021 recipe: everything in place
/// let pull = azure.pull().await?;
/// assert!(pull.succeeded(), "{}", pull.explain());
///
/// // Route-all off: under the July 2021 rules the pull leaves publicly, and the
/// // registry's firewall refuses it.
/// let site = pull.site_id.clone();
/// let body = serde_json::json!({"properties": {"vnetRouteAllEnabled": false}});
/// azure.arm("PUT", &format!("{site}/config/web?api-version=2022-03-01"), Some(&body)).await?;
/// let pull = azure.pull().await?;
/// assert_eq!(pull.outcome.stage, Some(Stage::Firewall));
/// assert_eq!(pull.outcome.code, Some(Code::AcrFirewallDenied));
/// azure.stop().await?;
/// # Ok(())
/// # }
/// ```
pub struct FakeAzure {
    backend: Option<Box<dyn Backend>>,
    env: Option<Arc<Env>>,
    files: tempfile::TempDir,
    rules: Option<Epoch>,
    load: LoadOptions,
    applied_rules: Epoch,
    site: Option<String>,
    vantage: tokio::sync::Mutex<Vec<Vantage>>,
}

/// What [`FakeAzure::apply_file`] and [`FakeAzure::apply_toml`] built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Applied {
    /// The scenario's name (a fixture's: its file name).
    pub name: String,
    /// The rules epoch the scenario pins.
    pub rules: Epoch,
    /// The site's resource ID, when the scenario has a `[site]`.
    pub site_id: Option<String>,
}

/// An answer of the fake ARM.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ArmReply {
    /// The HTTP status.
    pub status: u16,
    /// The body as JSON (`Null` when empty).
    pub body: Value,
}

impl ArmReply {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// ARM's `error.code` of a refusal (`CannotDeleteResource`).
    pub fn error_code(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }
}

const NOT_ON_DOCKER: &str = "endpoints are not available on the docker backend: its components live on internal Docker networks (use the embedded backend, or the testcontainers module)";

impl FakeAzure {
    /// How to start one with options.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Starts an empty fake Azure in this process (the embedded backend, in memory).
    pub async fn start() -> Result<FakeAzure, Error> {
        Builder::default().start().await
    }

    fn new(b: Builder, backend: Box<dyn Backend>, env: Option<Arc<Env>>, files: tempfile::TempDir) -> FakeAzure {
        let mut load = LoadOptions::default();
        for d in b.fixture_dirs {
            load = load.with_fixture_dir(d);
        }
        FakeAzure {
            backend: Some(backend),
            env,
            files,
            rules: b.rules,
            load,
            applied_rules: Epoch::LATEST,
            site: None,
            vantage: tokio::sync::Mutex::new(Vec::new()),
        }
    }

    fn backend(&self) -> &dyn Backend {
        // Only `stop` takes it, and `stop` consumes `self`.
        self.backend.as_deref().expect("the backend is there until stop")
    }

    /// `embedded` or `docker`.
    pub fn backend_name(&self) -> &'static str {
        self.backend().name()
    }

    /// The rules epoch pulls follow now: the builder's, else the last applied
    /// scenario's, else the newest.
    pub fn rules(&self) -> Epoch {
        self.rules.unwrap_or(self.applied_rules)
    }

    /// Where it listens and the credentials it accepts (embedded backend). Vantage
    /// points are started for every VNET that exists now.
    pub async fn endpoints(&self) -> Result<Endpoints, Error> {
        let Some(env) = &self.env else {
            return Err(Error::Unsupported { what: NOT_ON_DOCKER });
        };
        let mut vantage = self.vantage.lock().await;
        for (from, source) in crate::serve::vantage_sources(env) {
            if vantage.iter().any(|v| v.from == from) {
                continue;
            }
            let e = crate::serve::start_proxy(env, from, source.clone(), None)
                .await
                .map_err(|e| Error::Backend { operation: "starting a vantage point", source: e.into() })?;
            vantage.push(Vantage {
                from: e.from,
                modeled: std::net::IpAddr::V4(source.ip),
                proxy_url: e.url,
                dns_source: Some(env.map.real(&source)),
            });
        }
        let cfg = &env.arm.cfg;
        Ok(Endpoints {
            arm_url: format!("{}/", cfg.base_url),
            ca_pem: env.ca_pem().to_string(),
            ca_file: self.files.path().join("ca.pem"),
            tenant_id: cfg.tenant_id.clone(),
            subscription_id: cfg.subscription_id.clone(),
            client_id: cfg.client_id.clone(),
            client_secret: cfg.client_secret.clone(),
            dns: env.fabric.dns_addr(&mock_azure::netplan::Modeled::azure_dns()),
            vantage_points: vantage.clone(),
        })
    }

    /// Builds the topology of a scenario or fixture file through ARM (pushing its
    /// images), over what is there already (ARM's PUTs create or update). The file's
    /// `[expect]` and `[[step]]` are not run: that is `pullsim run`'s job. Fixtures are
    /// found as `pullsim run` finds them.
    pub async fn apply_file(&mut self, path: impl AsRef<Path>) -> Result<Applied, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
        self.apply_text(path, &text).await
    }

    /// Like [`FakeAzure::apply_file`], for a scenario at hand: fixtures are found in the
    /// current directory's `fixtures` folders (and those above) and the builder's
    /// fixture directories.
    ///
    /// ```
    /// # #[tokio::main(flavor = "multi_thread")]
    /// # async fn main() -> Result<(), pullsim::Error> {
    /// # let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/fixtures");
    /// let mut azure = pullsim::FakeAzure::builder().with_fixture_dir(fixtures).start().await?;
    /// let applied = azure
    ///     .apply_toml(
    ///         r#"
    ///         name = "Route-all off in July 2021"
    ///         rules = "2021-07"
    ///         fixture = "recipe-2021"
    ///
    ///         [site.config]
    ///         vnetRouteAllEnabled = false
    ///         "#,
    ///     )
    ///     .await?;
    /// assert_eq!(applied.rules, pullsim::Epoch::E2021_07);
    /// let pull = azure.pull().await?;
    /// assert_eq!(pull.outcome.stage, Some(pullsim::Stage::Firewall));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn apply_toml(&mut self, text: &str) -> Result<Applied, Error> {
        self.apply_text(Path::new("scenario.toml"), text).await
    }

    async fn apply_text(&mut self, path: &Path, text: &str) -> Result<Applied, Error> {
        let mut all = crate::scenario::standalone::load(path, text, &self.load)
            .map_err(|e| Error::InvalidScenario { rendered: e.render(false) })?;
        if all.len() != 1 {
            return Err(Error::Matrix { path: path.to_path_buf(), count: all.len() });
        }
        let s: Scenario = all.remove(0);
        let site = crate::runner::scenario::build(self.backend(), &s).await.map_err(|e| apply_error(&s, e))?;
        self.applied_rules = s.epoch();
        if site.is_some() {
            self.site.clone_from(&site);
        }
        Ok(Applied { name: s.name.clone(), rules: s.epoch(), site_id: site })
    }

    /// Sends one request to ARM as the service principal, as a client would. `path` is
    /// absolute (`/subscriptions/…`) or relative to the subscription
    /// (`resourceGroups/rg/providers/…`), with its `api-version`. A refusal is an
    /// answer (look at [`ArmReply::status`]); an error means ARM could not be asked.
    pub async fn arm(&self, method: &str, path: &str, body: Option<&Value>) -> Result<ArmReply, Error> {
        let backend = self.backend();
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/subscriptions/{}/{path}", backend.subscription_id())
        };
        let mut req =
            ArmRequest::new(method, &path).header("authorization", &format!("Bearer {}", backend.arm_token()));
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = backend.arm(&req).await.map_err(|e| Error::backend("asking ARM", e))?;
        Ok(ArmReply { status: r.status, body: r.json_body() })
    }

    /// Has App Service pull the image of the last applied scenario's site now.
    pub async fn pull(&self) -> Result<Pull, Error> {
        let site = self.site.clone().ok_or(Error::NoSite)?;
        self.pull_site(&site).await
    }

    /// Has App Service pull the image of the site with this resource ID now.
    pub async fn pull_site(&self, site_id: &str) -> Result<Pull, Error> {
        let backend = self.backend();
        let rules = self.rules();
        let report = backend.pull(site_id, rules).await.map_err(|e| Error::backend("pulling", e))?;
        Ok(Pull::new(site_id, rules, backend.name(), report))
    }

    /// Stops every component and removes what it made (containers, networks, temporary
    /// files), and waits for that.
    pub async fn stop(mut self) -> Result<(), Error> {
        if let Some(backend) = self.backend.take() {
            backend.stop().await.map_err(|e| Error::backend("stopping", e))?;
        }
        Ok(())
    }
}

impl Drop for FakeAzure {
    fn drop(&mut self) {
        // The servers hold the environment themselves: they stop when told, not when
        // the last handle goes. The docker backend's run removes its containers on drop.
        if let Some(env) = &self.env {
            env.cancel();
        }
    }
}

fn apply_error(s: &Scenario, e: ScenarioError) -> Error {
    Error::Apply { scenario: s.name.clone(), status: e.status, code: e.code.clone(), message: e.to_string() }
}
