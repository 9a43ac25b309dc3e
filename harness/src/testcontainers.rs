//! `pullsim serve` in a container, as a [testcontainers](https://docs.rs/testcontainers)
//! image: a fake Azure for a `#[tokio::test]` in one line, reached by real clients
//! through the ports Docker maps to the host.
//!
//! The image is built locally from a `pullsim` binary (`FROM scratch`: the binary and
//! the libraries it loads, as the docker backend builds its component image, cached by
//! content hash); nothing is pulled from a registry. The container runs `pullsim serve`
//! with ARM on port 8443, Azure DNS on 5353 (UDP and TCP) and the vantage-point proxies
//! from 3128 up (the internet's, then one per VNET; [`MAX_VANTAGE_POINTS`] at most), and
//! is ready when it prints its banner. ARM names itself by the address a client
//! reached it at, so the mapped port works for the Azure CLI's cloud registration and
//! login.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use testcontainers::runners::AsyncRunner;
//!
//! let image = pullsim::testcontainers::PullsimServe::build("/usr/local/bin/pullsim")
//!     .await?
//!     .with_scenario_file("scenarios/fixtures/recipe-2021.toml");
//! let container = image.start().await?;
//! let endpoints = pullsim::testcontainers::endpoints(&container).await?;
//! for args in endpoints.azure_cli_setup() {
//!     std::process::Command::new("az").args(&args).envs(endpoints.azure_cli_env()).status()?;
//! }
//! # Ok(())
//! # }
//! ```

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use ::testcontainers::core::{ContainerPort, CopyToContainer, WaitFor};
use ::testcontainers::{ContainerAsync, Image};
use serde_json::Value;

use crate::{Endpoints, Epoch, Error, Vantage};

/// ARM's port in the container.
pub const ARM_PORT: u16 = 8443;
/// Azure DNS's port in the container (UDP and TCP).
pub const DNS_PORT: u16 = 5353;
/// The first vantage-point proxy's port in the container (the internet's); each VNET's
/// follows.
pub const PROXY_PORT: u16 = 3128;
/// How many vantage points are exposed: the internet and up to seven VNETs.
pub const MAX_VANTAGE_POINTS: u16 = 8;

const STATE: &str = "/pullsim-state";
const READY_FILE: &str = "/pullsim-state/ready.json";
const SCENARIO_DIR: &str = "/scenario";
const READY_LINE: &str = "pullsim fake Azure is ready";

/// `pullsim serve` as a testcontainers [`Image`]: empty, or with a scenario's (or
/// fixture's) topology built at start.
#[derive(Debug, Clone)]
pub struct PullsimServe {
    tag: String,
    load: Option<String>,
    rules: Option<Epoch>,
    copies: Vec<CopyToContainer>,
    cmd: Vec<String>,
    ports: Vec<ContainerPort>,
}

impl PullsimServe {
    /// Builds the image from `pullsim_binary` unless an image of the same content
    /// exists; needs a Docker engine (`DOCKER_HOST` or `/var/run/docker.sock`).
    pub async fn build(pullsim_binary: impl AsRef<Path>) -> Result<PullsimServe, Error> {
        let start = |e: anyhow::Error| Error::Start { source: e.into() };
        let engine = crate::docker::host::run::connect().await.map_err(start)?;
        let image = crate::docker::host::image::ensure(&engine, pullsim_binary.as_ref()).await.map_err(start)?;
        let tag = image.rsplit(':').next().unwrap_or_default().to_string();
        let mut ports = vec![ContainerPort::Tcp(ARM_PORT), ContainerPort::Udp(DNS_PORT), ContainerPort::Tcp(DNS_PORT)];
        ports.extend((0..MAX_VANTAGE_POINTS).map(|i| ContainerPort::Tcp(PROXY_PORT + i)));
        let mut s = PullsimServe { tag, load: None, rules: None, copies: Vec::new(), cmd: Vec::new(), ports };
        s.cmd = s.command();
        Ok(s)
    }

    /// Builds this scenario's (or fixture's) topology at start. The file is copied in
    /// when the container starts, with the `.toml` files of the nearest `fixtures`
    /// folder beside or above it (where `pullsim run` finds fixtures).
    pub fn with_scenario_file(mut self, path: impl Into<PathBuf>) -> PullsimServe {
        let path: PathBuf = path.into();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "scenario.toml".into());
        let target = format!("{SCENARIO_DIR}/{name}");
        if let Some(fixtures) = path.parent().and_then(nearest_fixtures) {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&fixtures)
                .map(|rd| {
                    rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect()
                })
                .unwrap_or_default();
            files.sort();
            for f in files {
                let file = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                self.copies.push(CopyToContainer::new(f, format!("{SCENARIO_DIR}/fixtures/{file}")));
            }
        }
        self.copies.push(CopyToContainer::new(path, target.clone()));
        self.load = Some(target);
        self.cmd = self.command();
        self
    }

    /// The rules epoch the App Service worker follows (default: the scenario's, else
    /// the newest).
    pub fn with_rules(mut self, rules: Epoch) -> PullsimServe {
        self.rules = Some(rules);
        self.cmd = self.command();
        self
    }

    fn command(&self) -> Vec<String> {
        let mut c: Vec<String> =
            ["serve", "--allow-remote", "--arm-url-from-host", "--state-dir", STATE, "--ready-file", READY_FILE]
                .iter()
                .map(|s| s.to_string())
                .collect();
        c.extend(["--bind".into(), format!("0.0.0.0:{ARM_PORT}")]);
        c.extend(["--dns-bind".into(), format!("0.0.0.0:{DNS_PORT}")]);
        c.extend(["--proxy-bind".into(), format!("0.0.0.0:{PROXY_PORT}")]);
        if let Some(l) = &self.load {
            c.extend(["--load".into(), l.clone()]);
        }
        if let Some(r) = self.rules {
            c.extend(["--rules".into(), r.to_string()]);
        }
        c
    }
}

/// The nearest `fixtures` folder in `dir` or above it.
fn nearest_fixtures(dir: &Path) -> Option<PathBuf> {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    dir.ancestors().map(|d| d.join("fixtures")).find(|d| d.is_dir())
}

impl Image for PullsimServe {
    fn name(&self) -> &str {
        crate::docker::host::image::REPOSITORY
    }

    fn tag(&self) -> &str {
        &self.tag
    }

    fn ready_conditions(&self) -> Vec<WaitFor> {
        // Printed after the ready file is written and every listener is bound.
        vec![WaitFor::message_on_stdout(READY_LINE)]
    }

    fn cmd(&self) -> impl IntoIterator<Item = impl Into<Cow<'_, str>>> {
        self.cmd.iter().map(String::as_str)
    }

    fn copy_to_sources(&self) -> impl IntoIterator<Item = &CopyToContainer> {
        &self.copies
    }

    fn expose_ports(&self) -> &[ContainerPort] {
        &self.ports
    }
}

/// What a running [`PullsimServe`] container tells clients on the host: its
/// [`Endpoints`] with the mapped ports (it dereferences to them), and Azure DNS over
/// TCP. The CA file lives as long as this value.
#[derive(Debug)]
pub struct ContainerEndpoints {
    endpoints: Endpoints,
    /// Azure DNS over TCP on the host ([`Endpoints::dns`] is its UDP side: Docker maps
    /// the two to different ports).
    pub dns_tcp: SocketAddr,
    _files: tempfile::TempDir,
}

impl std::ops::Deref for ContainerEndpoints {
    type Target = Endpoints;
    fn deref(&self) -> &Endpoints {
        &self.endpoints
    }
}

/// Reads a started container's endpoints (its ready file and CA) and maps them to the
/// host's ports.
pub async fn endpoints(c: &ContainerAsync<PullsimServe>) -> Result<ContainerEndpoints, Error> {
    let failed = |e: Box<dyn std::error::Error + Send + Sync>| Error::Backend {
        operation: "reading the container's endpoints",
        source: e,
    };
    let ready: Vec<u8> = c.copy_file_from(READY_FILE, Vec::new()).await.map_err(|e| failed(e.into()))?;
    let ready: Value = serde_json::from_slice(&ready).map_err(|e| failed(e.into()))?;
    let field = |k: &str| ready[k].as_str().unwrap_or_default().to_string();
    let ca_pem: Vec<u8> = c.copy_file_from(field("ca_cert"), Vec::new()).await.map_err(|e| failed(e.into()))?;
    let files = tempfile::Builder::new().prefix("pullsim-tc-").tempdir().map_err(|e| failed(e.into()))?;
    let ca_file = files.path().join("ca.pem");
    std::fs::write(&ca_file, &ca_pem).map_err(|e| failed(e.into()))?;
    // Docker maps to the host's IPv4 loopback; ARM's certificate names 127.0.0.1.
    let host = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let port = |p: ContainerPort| async move { c.get_host_port_ipv4(p).await.map_err(|e| failed(e.into())) };
    let arm = port(ContainerPort::Tcp(ARM_PORT)).await?;
    let dns = port(ContainerPort::Udp(DNS_PORT)).await?;
    let dns_tcp = port(ContainerPort::Tcp(DNS_PORT)).await?;
    let mut vantage_points = Vec::new();
    for p in ready["proxies"].as_array().into_iter().flatten() {
        let inner: Option<u16> =
            p["url"].as_str().and_then(|u| u.rsplit(':').next()).and_then(|port| port.parse().ok());
        let (Some(inner), Some(modeled)) = (inner, p["modeled"].as_str().and_then(|m| m.parse().ok())) else {
            continue;
        };
        // Past MAX_VANTAGE_POINTS a proxy has no mapped port: it is not listed.
        let Ok(mapped) = c.get_host_port_ipv4(ContainerPort::Tcp(inner)).await else {
            continue;
        };
        vantage_points.push(Vantage {
            from: p["from"].as_str().unwrap_or_default().to_string(),
            modeled,
            proxy_url: format!("http://{host}:{mapped}"),
            dns_source: None,
        });
    }
    Ok(ContainerEndpoints {
        endpoints: Endpoints {
            arm_url: format!("https://{host}:{arm}/"),
            ca_pem: String::from_utf8_lossy(&ca_pem).into_owned(),
            ca_file,
            tenant_id: field("tenant_id"),
            subscription_id: field("subscription_id"),
            client_id: field("client_id"),
            client_secret: field("client_secret"),
            dns: SocketAddr::new(host, dns),
            vantage_points,
        },
        dns_tcp: SocketAddr::new(host, dns_tcp),
        _files: files,
    })
}
