//! The engine client and a run's resources in it: labels, the drop-guard cleanup of a
//! [`Run`], and `pullsim gc` for what runs that are gone left behind.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
/// The engine client (re-exported so callers need no `bollard` dependency of their own).
pub use bollard::Docker;
use bollard::query_parameters::{
    ListContainersOptions, ListImagesOptions, ListNetworksOptions, RemoveContainerOptions, RemoveImageOptions,
};

/// Label on everything pullsim creates in the engine.
pub const LABEL_APP: &str = "pullsim";
/// Label naming the run a container or network belongs to.
pub const LABEL_RUN: &str = "pullsim.run";
/// Label holding the process ID of the run's owner (for `gc`).
pub const LABEL_PID: &str = "pullsim.pid";
/// Label carrying a cached image's content hash (component and platform images).
pub const LABEL_HASH: &str = "pullsim.hash";

/// Every call to the engine gets this long (image builds excepted: they stream).
pub const API_TIMEOUT: Duration = Duration::from_secs(60);

/// Connects to the engine over its unix socket (`DOCKER_HOST=unix://…` or
/// `/var/run/docker.sock`; no TLS) and agrees on an API version with it.
pub async fn connect() -> anyhow::Result<Docker> {
    let docker = Docker::connect_with_unix_defaults().context("connecting to the Docker engine")?;
    let docker = tokio::time::timeout(Duration::from_secs(10), docker.negotiate_version())
        .await
        .context("the Docker engine did not answer within 10 s")?
        .context("asking the Docker engine for its API version")?;
    tokio::time::timeout(Duration::from_secs(10), docker.ping())
        .await
        .context("the Docker engine did not answer a ping within 10 s")?
        .context("pinging the Docker engine")?;
    Ok(docker)
}

/// Runs an engine call under [`API_TIMEOUT`], naming the operation on failure.
pub(crate) async fn call<T, E>(
    what: impl FnOnce() -> String,
    fut: impl std::future::Future<Output = Result<T, E>>,
) -> anyhow::Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    match tokio::time::timeout(API_TIMEOUT, fut).await {
        Ok(r) => r.with_context(what),
        Err(_) => Err(anyhow::anyhow!("{}: no answer within {API_TIMEOUT:?}", what())),
    }
}

/// One run's resources in the engine. Cleaned up by [`Run::cleanup`], or on drop (from a
/// thread of its own, so dropping inside a runtime works) unless [`Run::keep`] was set.
pub struct Run {
    docker: Docker,
    id: String,
    keep: bool,
    cleaned: bool,
}

impl Run {
    /// A new run with a fresh ID (`<pid>-<time>`).
    pub fn new(docker: Docker) -> Run {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let id = format!("{}-{:x}", std::process::id(), nanos & 0xffff_ffff_ffff);
        Run { docker, id, keep: false, cleaned: false }
    }

    /// The run's ID (the value of [`LABEL_RUN`]).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The engine client.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Keeps everything after the run (for debugging); `pullsim gc` removes it later.
    pub fn keep(mut self, keep: bool) -> Run {
        self.keep = keep;
        self
    }

    /// The labels every container and network of this run carries.
    pub fn labels(&self) -> HashMap<String, String> {
        HashMap::from([
            (LABEL_APP.to_string(), "1".to_string()),
            (LABEL_RUN.to_string(), self.id.clone()),
            (LABEL_PID.to_string(), std::process::id().to_string()),
        ])
    }

    /// A name for a resource of this run (`pullsim-<run>-<what>`).
    pub fn name(&self, what: &str) -> String {
        format!("pullsim-{}-{what}", self.id)
    }

    /// Removes every container and network of this run.
    pub async fn cleanup(&mut self) -> anyhow::Result<Removed> {
        let removed = remove_labelled(&self.docker, &format!("{LABEL_RUN}={}", self.id)).await?;
        self.cleaned = true;
        Ok(removed)
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if self.cleaned || self.keep {
            return;
        }
        // The client's connections belong to the runtime that made them, which may be
        // the one being dropped: clean up with a new client on a runtime of our own.
        let filter = format!("{LABEL_RUN}={}", self.id);
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let docker = connect().await.ok()?;
                remove_labelled(&docker, &filter).await.ok()
            })
        })
        .join();
        if !matches!(done, Ok(Some(_))) {
            eprintln!("pullsim: could not remove the containers of run {}; `pullsim gc` will", self.id);
        }
    }
}

/// What a cleanup removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Removed {
    /// Container IDs.
    pub containers: Vec<String>,
    /// Network IDs.
    pub networks: Vec<String>,
    /// Image IDs.
    pub images: Vec<String>,
    /// State directories of runs that are gone.
    pub dirs: Vec<std::path::PathBuf>,
}

/// Prefix of a docker run's state directory under the temporary directory; it holds a
/// `pid` file naming the process it belongs to.
pub const STATE_DIR_PREFIX: &str = "pullsim-docker-";

/// Removes the state directories of runs whose process is gone (all of them with `all`).
fn remove_stale_state_dirs(all: bool) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return Vec::new() };
    let mut removed = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        if !e.file_name().to_string_lossy().starts_with(STATE_DIR_PREFIX) || !path.is_dir() {
            continue;
        }
        let pid = std::fs::read_to_string(path.join("pid")).ok().and_then(|p| p.trim().parse::<u32>().ok());
        if (all || !pid.is_some_and(process_alive)) && std::fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

impl std::fmt::Display for Removed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "removed {} container(s), {} network(s), {} image(s), {} state dir(s)",
            self.containers.len(),
            self.networks.len(),
            self.images.len(),
            self.dirs.len()
        )
    }
}

fn label_filter(label: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![label.to_string()])])
}

/// Removes every container (forcibly, with its volumes) and then every network that
/// carries `label` (`key` or `key=value`).
pub async fn remove_labelled(docker: &Docker, label: &str) -> anyhow::Result<Removed> {
    let found = list_labelled(docker, label).await?;
    let mut removed = Removed::default();
    for id in found.containers {
        remove_container(docker, &id).await?;
        removed.containers.push(id);
    }
    for id in found.networks {
        call(|| format!("removing network {id}"), docker.remove_network(&id)).await?;
        removed.networks.push(id);
    }
    // The run's own images (apps built from pulled layers), with their untagged parents;
    // one already gone with another's parents is done.
    for id in found.images {
        let opts = RemoveImageOptions { force: true, ..Default::default() };
        match docker.remove_image(&id, Some(opts), None).await {
            Ok(_) => removed.images.push(id),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {}
            Err(e) => return Err(e).with_context(|| format!("removing image {id}")),
        }
    }
    Ok(removed)
}

/// What carries `label` (`key` or `key=value`) in the engine now: containers (running
/// or not), networks and images.
pub async fn list_labelled(docker: &Docker, label: &str) -> anyhow::Result<Removed> {
    let containers = call(
        || format!("listing containers labelled {label}"),
        docker.list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(label_filter(label)),
            ..Default::default()
        })),
    )
    .await?;
    let networks = call(
        || format!("listing networks labelled {label}"),
        docker.list_networks(Some(ListNetworksOptions { filters: Some(label_filter(label)) })),
    )
    .await?;
    let images = call(
        || format!("listing images labelled {label}"),
        docker.list_images(Some(ListImagesOptions {
            all: true,
            filters: Some(label_filter(label)),
            ..Default::default()
        })),
    )
    .await?;
    Ok(Removed {
        containers: containers.into_iter().filter_map(|c| c.id).collect(),
        networks: networks.into_iter().filter_map(|n| n.id).collect(),
        images: images.into_iter().map(|i| i.id).collect(),
        dirs: Vec::new(),
    })
}

/// Removes a container forcibly; one already gone is not an error.
pub(crate) async fn remove_container(docker: &Docker, id: &str) -> anyhow::Result<()> {
    let r = call(
        || format!("removing container {id}"),
        docker.remove_container(id, Some(RemoveContainerOptions { force: true, v: true, ..Default::default() })),
    )
    .await;
    match r {
        // Gone, or going: the engine finishes a removal a killed run asked for.
        Err(e) if is_not_found(&e) || is_removal_in_progress(&e) => Ok(()),
        r => r,
    }
}

/// A forced removal answered 409: the engine is already removing the container.
fn is_removal_in_progress(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<bollard::errors::Error>(),
            Some(bollard::errors::Error::DockerResponseServerError { status_code: 409, .. })
        )
    })
}

fn is_not_found(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<bollard::errors::Error>(),
            Some(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })
        )
    })
}

/// `pullsim gc`: removes the containers, networks and images of runs whose process is
/// gone (or of every run with `all`), and the cached images (component, platform) of
/// other binaries than the one with content hash `keep_hash`, when no container uses them.
pub async fn gc(docker: &Docker, all: bool, keep_hash: Option<&str>) -> anyhow::Result<Removed> {
    let mut runs = std::collections::BTreeSet::new();
    let containers = call(
        || "listing pullsim containers".to_string(),
        docker.list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(label_filter(LABEL_APP)),
            ..Default::default()
        })),
    )
    .await?;
    let networks = call(
        || "listing pullsim networks".to_string(),
        docker.list_networks(Some(ListNetworksOptions { filters: Some(label_filter(LABEL_APP)) })),
    )
    .await?;
    let labels =
        containers.iter().filter_map(|c| c.labels.as_ref()).chain(networks.iter().filter_map(|n| n.labels.as_ref()));
    for l in labels {
        let Some(run) = l.get(LABEL_RUN) else { continue };
        let alive = l.get(LABEL_PID).and_then(|p| p.parse::<u32>().ok()).is_some_and(process_alive);
        if all || !alive {
            runs.insert(run.clone());
        }
    }
    let mut removed = Removed { dirs: remove_stale_state_dirs(all), ..Default::default() };
    for run in runs {
        let r = remove_labelled(docker, &format!("{LABEL_RUN}={run}")).await?;
        removed.containers.extend(r.containers);
        removed.networks.extend(r.networks);
        removed.images.extend(r.images);
    }
    let images = call(
        || "listing pullsim images".to_string(),
        docker.list_images(Some(ListImagesOptions {
            all: true,
            filters: Some(label_filter(LABEL_APP)),
            ..Default::default()
        })),
    )
    .await?;
    for img in images {
        // A run's own images (apps) go with their run, above; a live run's stay.
        if img.labels.contains_key(LABEL_RUN) {
            continue;
        }
        let keep = keep_hash.is_some_and(|k| img.labels.get(LABEL_HASH).is_some_and(|h| h == k));
        if keep && !all {
            continue;
        }
        let r = call(
            || format!("removing image {}", img.id),
            docker.remove_image(&img.id, Some(RemoveImageOptions { force: false, ..Default::default() }), None),
        )
        .await;
        match r {
            Ok(_) => removed.images.push(img.id),
            // In use by a live run's container (409), or gone already (404): leave it.
            Err(e) => tracing::info!(image = %img.id, error = %format!("{e:#}"), "image kept"),
        }
    }
    Ok(removed)
}

/// Whether a process with this ID runs on this machine (the engine is local: its
/// containers' owners are our processes). A killed process not yet reaped (a zombie,
/// state `Z` in `/proc/<pid>/stat`) is gone.
fn process_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    // `pid (comm) S …`: the state follows the last `)` (comm may hold one).
    let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, Some("Z" | "X"))
}
