//! A scenario's topology with Azure DNS in a container of its own, attached to the public
//! network and to every VNET's network (at `.2` on each), answering by the source address
//! of the query as Azure DNS does. The topology is built through the in-process ARM (the
//! embedded backend's); the DNS container gets a copy of the store and the address map
//! before it starts.
//!
//! [`DnsEnv::dig`] asks from a throwaway client container at `.3` of a network, whose
//! modeled address is a private one of that VNET (or a public one for the public side).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, NetworkConnectRequest, NetworkingConfig,
};
use bollard::query_parameters::{
    CreateContainerOptions, LogsOptions, StartContainerOptions, UploadToContainerOptions, WaitContainerOptions,
};
use futures_util::StreamExt;
use mock_azure::netplan::{AddressMap, Modeled, Plan};

use super::net::{self, DockerMap, Network};
use super::{Run, call, component, image};
use crate::embedded::{Env, EnvOptions};
use crate::scenario::Scenario;

/// Host number of the DNS container on every network.
pub const DNS_HOST: u8 = 2;
/// Host number of a `dig` client container.
pub const CLIENT_HOST: u8 = 3;

/// A modeled public address standing for "somewhere on the internet" (TEST-NET-3).
pub const INTERNET_CLIENT: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);

/// The running environment. Dropping it removes its containers and networks.
pub struct DnsEnv {
    /// The run (its drop removes what it labelled).
    pub run: Run,
    /// The embedded environment the topology was built in (ARM, the store).
    pub env: Env,
    /// The component image's tag.
    pub image: String,
    /// The networks: the public side first, then one per VNET in key order.
    pub networks: Vec<Network>,
    /// The address map (as uploaded to the DNS container).
    pub map: Arc<DockerMap>,
    /// The DNS container's ID.
    pub dns: String,
    _state: tempfile::TempDir,
}

impl DnsEnv {
    /// Builds `scenario`'s topology, the image of `bin` (when not cached), the networks
    /// and the DNS container; returns once the DNS container serves.
    pub async fn start(docker: Docker, bin: &Path, scenario: &Scenario) -> anyhow::Result<DnsEnv> {
        let run = Run::new(docker);
        let state =
            tempfile::Builder::new().prefix(super::STATE_DIR_PREFIX).tempdir().context("creating a state dir")?;
        // Whose it is, so `pullsim gc` can remove it if this process is killed.
        std::fs::write(state.path().join("pid"), std::process::id().to_string())
            .context("writing the state dir's pid")?;
        let env = Env::start(EnvOptions { state_dir: Some(state.path().to_path_buf()), arm_bind: None }).await?;
        crate::run::build(&env, scenario).await?;
        let image = image::ensure(run.docker(), bin).await?;

        let plan = Plan::from_store(&env.store);
        let mut keys = vec![(None, "public".to_string())];
        for (i, v) in plan.vnets.values().enumerate() {
            keys.push((Some(v.key.clone()), format!("vnet{i}-{}", sanitize(&v.name))));
        }
        let networks = net::create(&run, &keys).await?;
        let map = Arc::new(DockerMap::new(&networks, CLIENT_HOST + 1));
        for n in &networks {
            let client = match &n.vnet {
                None => Modeled::public(INTERNET_CLIENT),
                Some(key) => {
                    let ip = plan
                        .vnets
                        .get(key)
                        .and_then(|v| v.prefixes.first())
                        .and_then(|p| p.nth(4))
                        .with_context(|| format!("the VNET {key} has no address space"))?;
                    Modeled::private(key, ip)
                }
            };
            map.set(client, n.subnet.host(CLIENT_HOST));
        }

        let entries = serde_json::to_vec_pretty(&map.entries())?;
        let journal = std::fs::read(state.path().join("journal.jsonl")).context("reading the store's journal")?;
        let attach: Vec<(&Network, Ipv4Addr)> = networks.iter().map(|n| (n, n.subnet.host(DNS_HOST))).collect();
        let dns = create(&run, &image, "dns", &["component", "dns"], &attach).await?;
        upload(run.docker(), &dns, &[("state/journal.jsonl", &journal), ("state/map.json", &entries)]).await?;
        call(
            || format!("starting the DNS container {dns}"),
            run.docker().start_container(&dns, None::<StartContainerOptions>),
        )
        .await?;
        wait_ready(run.docker(), &dns, Duration::from_secs(30)).await?;
        Ok(DnsEnv { run, env, image, networks, map, dns, _state: state })
    }

    /// The network standing for a VNET (by lower-cased ID), or the public one (`None`).
    pub fn network(&self, vnet: Option<&str>) -> Option<&Network> {
        self.networks.iter().find(|n| n.vnet.as_deref() == vnet)
    }

    /// Asks the DNS container for `name`'s A records from a client container on the
    /// network of `vnet` (`None`: the public side); returns what it printed.
    pub async fn dig(&self, vnet: Option<&str>, name: &str) -> anyhow::Result<String> {
        let net = self.network(vnet).with_context(|| format!("no network for {vnet:?}"))?;
        let server = net.subnet.host(DNS_HOST).to_string();
        let args = ["component", "dig", "--server", &server, name];
        let id = create(&self.run, &self.image, "dig", &args, &[(net, net.subnet.host(CLIENT_HOST))]).await?;
        let docker = self.run.docker();
        let result = async {
            call(|| format!("starting {id}"), docker.start_container(&id, None::<StartContainerOptions>)).await?;
            let mut wait = docker.wait_container(&id, None::<WaitContainerOptions>);
            let status = tokio::time::timeout(Duration::from_secs(30), wait.next()).await;
            let (out, err) = logs(docker, &id).await?;
            match status {
                Ok(Some(Ok(s))) if s.status_code == 0 => Ok(out),
                _ => bail!("the dig container {id} failed: {status:?}\n{out}{err}"),
            }
        }
        .await;
        super::remove_container(docker, &id).await?;
        result
    }

    /// Removes the containers and networks now (dropping does the same, from a thread).
    pub async fn stop(mut self) -> anyhow::Result<super::Removed> {
        self.env.stop().await;
        self.run.cleanup().await
    }

    /// The map as the DNS container knows it: which modeled address a container address
    /// stands for.
    pub fn modeled(&self, real: Ipv4Addr) -> Option<Modeled> {
        self.map.modeled(real.into())
    }
}

fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

/// Creates a container of the run from `image` with `args`, attached to each network at
/// the given address (the first at creation, the others before it starts).
pub async fn create(
    run: &Run,
    image: &str,
    what: &str,
    args: &[&str],
    attach: &[(&Network, Ipv4Addr)],
) -> anyhow::Result<String> {
    let docker = run.docker();
    let endpoint = |ip: Ipv4Addr| EndpointSettings {
        ipam_config: Some(EndpointIpamConfig { ipv4_address: Some(ip.to_string()), ..Default::default() }),
        ..Default::default()
    };
    let (first, rest) = attach.split_first().context("a container needs a network")?;
    let name = format!(
        "{}-{:x}",
        run.name(what),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
    );
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(args.iter().map(|s| s.to_string()).collect()),
        labels: Some(run.labels()),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some([(first.0.name.clone(), endpoint(first.1))].into_iter().collect()),
        }),
        ..Default::default()
    };
    let created = call(
        || format!("creating the container {name}"),
        docker.create_container(Some(CreateContainerOptions { name: Some(name.clone()), ..Default::default() }), body),
    )
    .await?;
    for (net, ip) in rest {
        let req = NetworkConnectRequest { container: created.id.clone(), endpoint_config: Some(endpoint(*ip)) };
        call(|| format!("attaching {name} to {} at {ip}", net.name), docker.connect_network(&net.name, req)).await?;
    }
    Ok(created.id)
}

/// Copies files into a container (before it starts), under `/`.
pub async fn upload(docker: &Docker, id: &str, files: &[(&str, &[u8])]) -> anyhow::Result<()> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut dirs: BTreeMap<String, ()> = BTreeMap::new();
    for (path, _) in files {
        if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(format!("{}/", dir.display()), ());
        }
    }
    for dir in dirs.keys() {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        h.set_cksum();
        tar.append_data(&mut h, dir, std::io::empty()).context("building the upload")?;
    }
    for (path, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, path, *bytes).context("building the upload")?;
    }
    let body = tar.into_inner().context("building the upload")?;
    call(
        || format!("uploading files to {id}"),
        docker.upload_to_container(
            id,
            Some(UploadToContainerOptions { path: "/".to_string(), ..Default::default() }),
            bollard::body_full(body.into()),
        ),
    )
    .await
}

/// Waits until the container prints [`component::READY`]; fails with its output if it
/// exits first or the deadline passes.
pub async fn wait_ready(docker: &Docker, id: &str, within: Duration) -> anyhow::Result<()> {
    let opts = LogsOptions { follow: true, stdout: true, stderr: true, ..Default::default() };
    let mut stream = docker.logs(id, Some(opts));
    let mut seen = String::new();
    let found = tokio::time::timeout(within, async {
        while let Some(chunk) = stream.next().await {
            let Ok(chunk) = chunk else { return false };
            seen.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
            if seen.contains(component::READY) {
                return true;
            }
        }
        false
    })
    .await;
    match found {
        Ok(true) => Ok(()),
        Ok(false) => bail!("the container {id} stopped before it was ready:\n{seen}"),
        Err(_) => bail!("the container {id} was not ready within {within:?}:\n{seen}"),
    }
}

/// A container's output so far: stdout and stderr.
pub async fn logs(docker: &Docker, id: &str) -> anyhow::Result<(String, String)> {
    let opts = LogsOptions { stdout: true, stderr: true, ..Default::default() };
    let mut stream = docker.logs(id, Some(opts));
    let (mut out, mut err) = (String::new(), String::new());
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .with_context(|| format!("reading the output of {id}"))?
    {
        match chunk.with_context(|| format!("reading the output of {id}"))? {
            bollard::container::LogOutput::StdErr { message } => err.push_str(&String::from_utf8_lossy(&message)),
            other => out.push_str(&String::from_utf8_lossy(&other.into_bytes())),
        }
    }
    Ok((out, err))
}
