//! The docker backend's environment: ARM, Azure DNS, the ACR and the worker, each in its
//! own container, on a public network and one `--internal` network per VNET.
//!
//! The containers share a state directory on the host (mounted at `/state`): ARM owns the
//! store and writes its journal there; the others follow it; the host follows it too (to
//! lay out the networks) and writes the images into the ACR's blob directory. The host
//! drives everything through ARM (HTTPS, as any client) and the control channel
//! ([`crate::docker::protocol::control`]): `reset` between scenarios, `sync` after the configuration
//! moved, `pull` on the worker.
//!
//! Networks are pooled across the scenarios of a run: the public one, and as many VNET
//! networks as the largest scenario needs (VNETs peered together share one: see
//! [`crate::docker::protocol::layout`]). DNS and the ACR are attached to all of them; the worker only to the
//! network of its sites' integration VNETs, so a VNET it is not in is one the kernel has
//! no route to.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, NetworkConnectRequest,
    NetworkDisconnectRequest, NetworkingConfig,
};
use mock_azure::acr::{BlobStore, RegistryStore};
use mock_azure::appservice::rules::Epoch;
use mock_azure::appservice::worker::PullReport;
use mock_azure::arm::{ArmConfig, ArmRequest, ArmResponse};
use mock_azure::dns::CustomServer;
use mock_azure::httpc::Conn;
use mock_azure::identity::TokenSigner;
use mock_azure::model::Store;
use mock_azure::netplan::Plan;
use mock_azure::tls::Ca;
use tokio::sync::Mutex;

use super::container::wait_ready;
use super::image;
use super::net::{PoolNet, create_network};
use super::run::{Removed, Run, STATE_DIR_PREFIX, call, remove_container};
use crate::docker::protocol::control::{self, Request};
use crate::docker::protocol::layout::{AddressPlan, Host, Layout, Net16, Place};
use crate::docker::protocol::state::{
    BLOBS, PULLSIM_BINARY, REGISTRY_BINARY, REGISTRY_CONFIG, REGISTRY_DATA, REGISTRY_PORT, STATE, acr_storage,
};

/// How long a component gets to start.
const READY_WITHIN: Duration = Duration::from_secs(30);
/// How long a control request may take (a pull included).
const CONTROL_WITHIN: Duration = Duration::from_secs(120);

/// The running docker environment. [`DockerEnv::stop`] removes everything; dropping it
/// does too (from the [`Run`]'s guard).
pub struct DockerEnv {
    run: Run,
    state: tempfile::TempDir,
    docker: Docker,
    public: PoolNet,
    pool: Mutex<Vec<PoolNet>>,
    worker_nets: Mutex<BTreeSet<String>>,
    ids: Ids,
    image: String,
    store: Store,
    map: Arc<AddressPlan>,
    blobs: Arc<dyn BlobStore>,
    signer: TokenSigner,
    cfg: ArmConfig,
    tls: Arc<rustls::ClientConfig>,
    arm_conn: Mutex<Option<Conn>>,
    /// App containers started and their images, removed before the next scenario.
    apps: Mutex<Vec<(String, String)>>,
}

/// A debug container on one of the run's networks (removed with the run).
pub struct DebugContainer {
    /// Its ID.
    pub id: String,
    docker: Docker,
    /// The DNS server it asks (Azure DNS on its network).
    pub dns: Ipv4Addr,
    /// Its address.
    pub ip: Ipv4Addr,
}

impl DebugContainer {
    /// Runs a command in it; returns what it printed (stdout and stderr), failing if it
    /// exits non-zero.
    pub async fn exec(&self, cmd: &[&str]) -> anyhow::Result<String> {
        use bollard::exec::{CreateExecOptions, StartExecResults};
        use futures_util::StreamExt;
        let what = || format!("running {cmd:?} in {}", self.id);
        let opts = CreateExecOptions {
            cmd: Some(cmd.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let exec = call(what, self.docker.create_exec(&self.id, opts)).await?;
        let mut out = String::new();
        if let StartExecResults::Attached { output: mut stream, .. } =
            call(what, self.docker.start_exec(&exec.id, None)).await?
        {
            while let Some(chunk) = tokio::time::timeout(CONTROL_WITHIN, stream.next()).await.with_context(what)? {
                out.push_str(&String::from_utf8_lossy(&chunk.with_context(what)?.into_bytes()));
            }
        }
        let code = call(what, self.docker.inspect_exec(&exec.id)).await?.exit_code;
        if code != Some(0) {
            bail!("{} exited with {code:?}:\n{out}", what());
        }
        Ok(out)
    }
}

/// The component containers.
struct Ids {
    dns: String,
    acr: String,
    worker: String,
}

impl DockerEnv {
    /// Builds the component image of `bin` (unless cached), creates the public network
    /// and starts the four components; returns once each answers.
    pub async fn start(docker: Docker, bin: &Path) -> anyhow::Result<DockerEnv> {
        let run = Run::new(docker.clone());
        let state = tempfile::Builder::new().prefix(STATE_DIR_PREFIX).tempdir().context("creating a state dir")?;
        // Whose it is, so `pullsim gc` can remove it if this process is killed.
        std::fs::write(state.path().join("pid"), std::process::id().to_string())
            .context("writing the state dir's pid")?;
        std::fs::create_dir_all(state.path().join(BLOBS)).context("creating the blob directory")?;
        let ca = Ca::load_or_generate(state.path()).context("preparing the CA")?;
        let signer = mock_azure::tls::load_or_generate_signer(state.path()).context("preparing the token key")?;
        let tls = ca.client_config().context("client TLS")?;
        let image = image::ensure(&docker, bin).await?;

        let public = create_network(&run, "public", 1).await?;
        let layout = Layout { public: Some(public.net), vnets: Default::default() };
        layout.write(state.path())?;
        let arm_ip = public.net.host(Host::Arm);
        let registry_ip = public.net.host(Host::Registry);
        std::fs::create_dir_all(state.path().join(REGISTRY_DATA)).context("creating the registry's directory")?;
        let config = RegistryStore::config(&format!("0.0.0.0:{REGISTRY_PORT}"), &format!("{STATE}/{REGISTRY_DATA}"));
        std::fs::write(state.path().join(REGISTRY_CONFIG), config).context("writing the registry's configuration")?;
        let src = state.path().to_string_lossy().into_owned();
        let arm_arg = arm_ip.to_string();
        let worker_args = ["component", "worker", "--arm", arm_arg.as_str()];
        let registry_arg = registry_ip.to_string();
        let acr_args = ["component", "acr", "--registry", registry_arg.as_str()];
        let registry_config = format!("{STATE}/{REGISTRY_CONFIG}");
        let registry_args = [REGISTRY_BINARY, "serve", registry_config.as_str()];
        let (_arm, dns, acr, worker, _registry) = tokio::try_join!(
            service(&run, &image, &src, "arm", &["component", "arm"], &public, Host::Arm),
            service(&run, &image, &src, "dns", &["component", "azure-dns"], &public, Host::Dns),
            service(&run, &image, &src, "acr", &acr_args, &public, Host::Acr),
            service(&run, &image, &src, "worker", &worker_args, &public, Host::Worker),
            registry(&run, &image, &src, &registry_args, &public),
        )?;
        let store = Store::follow(state.path())?;
        let map = Arc::new(AddressPlan::new(store.clone(), layout));
        let blobs = acr_storage(registry_ip, &state.path().join(BLOBS))?;
        Ok(DockerEnv {
            run,
            state,
            docker,
            public,
            pool: Mutex::new(Vec::new()),
            worker_nets: Mutex::new(BTreeSet::new()),
            ids: Ids { dns, acr, worker },
            image,
            store,
            map,
            blobs,
            signer,
            cfg: ArmConfig::new(format!("https://{arm_ip}")),
            tls,
            arm_conn: Mutex::new(None),
            apps: Mutex::new(Vec::new()),
        })
    }

    /// The run's ID (the value of the `pullsim.run` label).
    pub fn run_id(&self) -> &str {
        self.run.id()
    }

    /// ARM's identities (tenant, subscription, client).
    pub fn cfg(&self) -> &ArmConfig {
        &self.cfg
    }

    /// The key ARM's tokens are signed with (the host signs its own ARM token with it).
    pub fn signer(&self) -> &TokenSigner {
        &self.signer
    }

    /// The ACR's storage: the CNCF registry container (schema 1 manifests beside it in
    /// the state directory), as the ACR container sees it.
    pub fn blobs(&self) -> Arc<dyn BlobStore> {
        self.blobs.clone()
    }

    /// The component image's tag.
    pub fn image(&self) -> &str {
        &self.image
    }

    /// The engine client.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// The labels of everything this run creates.
    pub fn labels(&self) -> std::collections::HashMap<String, String> {
        self.run.labels()
    }

    /// A name for something of this run.
    pub fn run_name(&self, what: &str) -> String {
        self.run.name(what)
    }

    /// Where a container standing in a subnet's VNET goes (the public network without
    /// one): the network's name, an address of its own in the VNET's slot
    /// ([`Host::App`]), and Azure DNS's address on that network.
    pub async fn place_of(&self, subnet_id: Option<&str>) -> anyhow::Result<(String, Ipv4Addr, Ipv4Addr)> {
        let plan = Plan::of(&self.store);
        let vnet = subnet_id.and_then(|s| plan.subnet(s)).map(|(v, _)| v.key.as_str());
        let (name, slot, dns) = self.network(vnet).await?;
        Ok((name, slot.host(Host::App), dns))
    }

    /// The network a VNET (by lower-cased ID; the public side for `None`) is on: its
    /// name, the VNET's slot, and Azure DNS's address there.
    pub async fn network(&self, vnet: Option<&str>) -> anyhow::Result<(String, Net16, Ipv4Addr)> {
        let Some(key) = vnet else {
            return Ok((self.public.name.clone(), self.public.net, self.public.net.host(Host::Dns)));
        };
        let place =
            *self.map.layout().vnets.get(&key.to_ascii_lowercase()).with_context(|| format!("no VNET {key}"))?;
        let pool = self.pool.lock().await;
        let n = pool.iter().find(|p| p.net == place.network).context("the VNET's network is gone")?;
        Ok((n.name.clone(), place.slot, place.network.host(Host::Dns)))
    }

    /// The CNCF registry's address (plain HTTP), reachable from the host.
    pub fn registry_addr(&self) -> SocketAddr {
        SocketAddr::from((self.public.net.host(Host::Registry), REGISTRY_PORT))
    }

    /// The host's view of the store (a follower of ARM's journal).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The state directory on the host.
    pub fn state_dir(&self) -> &Path {
        self.state.path()
    }

    fn control_addr(&self, host: Host) -> SocketAddr {
        SocketAddr::from((self.public.net.host(host), control::PORT))
    }

    async fn control(&self, host: Host, req: &Request) -> anyhow::Result<serde_json::Value> {
        control::call(self.control_addr(host), req, CONTROL_WITHIN).await
    }

    /// Sends one request to ARM over HTTPS (one kept-alive connection, reopened if it
    /// broke).
    pub async fn arm(&self, req: &ArmRequest) -> anyhow::Result<ArmResponse> {
        let addr = SocketAddr::from((self.public.net.host(Host::Arm), 443));
        let path = if req.query.is_empty() { req.path.clone() } else { format!("{}?{}", req.path, req.query) };
        let headers: Vec<(&str, &str)> = req.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut conn = self.arm_conn.lock().await;
        for attempt in 0..2 {
            if conn.is_none() {
                *conn = Some(Conn::open(None, addr, &addr.ip().to_string(), self.tls.clone()).await?);
            }
            let Some(c) = conn.as_mut() else { continue };
            match c.send(&req.method, &path, &headers, req.body.clone()).await {
                Ok(r) => return Ok(ArmResponse { status: r.status, headers: r.headers, body: r.body }),
                Err(e) if attempt == 0 => {
                    tracing::debug!(error = %e, "ARM connection broke; reopening");
                    *conn = None;
                }
                Err(e) => return Err(e.into()),
            }
        }
        bail!("ARM at {addr} did not answer")
    }

    /// Stores a custom DNS server (through ARM's container, which owns the store).
    pub async fn custom_dns(&self, name: &str, server: CustomServer) -> anyhow::Result<()> {
        self.control(Host::Arm, &Request::CustomDns { name: name.to_string(), server }).await?;
        Ok(())
    }

    /// Remembers an app container and its image, to remove before the next scenario.
    pub async fn track_app(&self, container: &str, image: &str) {
        self.apps.lock().await.push((container.to_string(), image.to_string()));
    }

    /// Removes the app containers started so far and their images.
    pub async fn remove_apps(&self) -> anyhow::Result<()> {
        let apps = std::mem::take(&mut *self.apps.lock().await);
        for (id, image) in apps {
            remove_container(&self.docker, &id).await?;
            let opts = bollard::query_parameters::RemoveImageOptions { force: true, ..Default::default() };
            if let Err(e) = self.docker.remove_image(&image, Some(opts), None).await {
                tracing::debug!(%image, error = %e, "app image already gone");
            }
        }
        Ok(())
    }

    /// Forgets the previous scenario: an empty store, no blobs, no addresses configured,
    /// no app running.
    pub async fn reset(&self) -> anyhow::Result<()> {
        self.remove_apps().await?;
        self.control(Host::Arm, &Request::Reset).await?;
        tokio::try_join!(
            self.control(Host::Dns, &Request::Reset),
            self.control(Host::Acr, &Request::Reset),
            self.control(Host::Worker, &Request::Reset),
        )?;
        // Every image goes: the registry's data (it keeps no cache: it reads its files on
        // every request) and the schema 1 manifests beside it; the directories stay.
        for dir in [self.state.path().join(REGISTRY_DATA), self.state.path().join(BLOBS).join("registries")] {
            for e in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
                let p = e?.path();
                std::fs::remove_dir_all(&p).with_context(|| format!("removing {}", p.display()))?;
            }
        }
        *self.arm_conn.lock().await = None;
        Ok(())
    }

    /// Lays the networks out for the store as it is now (a network per VNET, the worker
    /// on its sites' VNETs) and has every component serve what the store needs.
    pub async fn sync(&self) -> anyhow::Result<()> {
        let plan = Plan::of(&self.store);
        let groups = peering_groups(&plan)?;
        let mut pool = self.pool.lock().await;
        while pool.len() < groups.len() {
            let n = create_network(&self.run, &format!("vnets{}", pool.len()), SLOTS).await?;
            for (id, host) in [(&self.ids.dns, Host::Dns), (&self.ids.acr, Host::Acr)] {
                connect(&self.docker, &n, id, host).await?;
            }
            pool.push(n);
        }
        let mut layout = Layout { public: Some(self.public.net), vnets: Default::default() };
        let mut network_of: BTreeMap<String, String> = BTreeMap::new();
        for (group, n) in groups.iter().zip(pool.iter()) {
            for (i, key) in group.iter().enumerate() {
                let slot = Net16([n.net.0[0], n.net.0[1] + i as u8]);
                layout.vnets.insert(key.clone(), Place { slot, network: n.net });
                network_of.insert(key.clone(), n.name.clone());
            }
        }
        // The worker stands in its sites' integration VNETs (and so in the VNETs peered
        // with them: they share the network).
        let mut wanted: BTreeSet<String> = BTreeSet::new();
        for site in self.store.filter(|_, v| v["type"] == "Microsoft.Web/sites") {
            let Some(subnet) = site["properties"]["virtualNetworkSubnetId"].as_str() else { continue };
            let Some((vnet, _)) = plan.subnet(subnet) else { continue };
            wanted.extend(network_of.get(&vnet.key).cloned());
        }
        let mut attached = self.worker_nets.lock().await;
        for name in attached.difference(&wanted).cloned().collect::<Vec<_>>() {
            let req = NetworkDisconnectRequest { container: self.ids.worker.clone(), force: Some(true) };
            call(|| format!("detaching the worker from {name}"), self.docker.disconnect_network(&name, req)).await?;
            attached.remove(&name);
        }
        for n in pool.iter().filter(|p| wanted.contains(&p.name)) {
            if !attached.contains(&n.name) {
                connect(&self.docker, n, &self.ids.worker, Host::Worker).await?;
                attached.insert(n.name.clone());
            }
        }
        drop(pool);
        layout.write(self.state.path())?;
        self.map.set_layout(layout);
        self.map.check()?;
        tokio::try_join!(
            self.control(Host::Dns, &Request::Sync),
            self.control(Host::Acr, &Request::Sync),
            self.control(Host::Worker, &Request::Sync),
        )?;
        Ok(())
    }

    /// Has the worker pull a site's image now (after laying out what the store needs).
    pub async fn pull(&self, site_id: &str, epoch: Epoch) -> anyhow::Result<PullReport> {
        self.sync().await?;
        let v = self
            .control(Host::Worker, &Request::Pull { site: site_id.to_string(), epoch: epoch.as_str().to_string() })
            .await?;
        serde_json::from_value(v).context("reading the worker's report")
    }

    /// Starts a debug container standing in `vnet`'s network (the public one for `None`),
    /// at a VNET address of its own, whose resolver is Azure DNS as that VNET sees it — the
    /// place from which people run `nslookup` in Azure (docs/azure.md A8). It carries busybox
    /// when the host has it (`/bin/busybox`), and pullsim's `dig`.
    pub async fn debug_container(&self, vnet: Option<&str>) -> anyhow::Result<DebugContainer> {
        let (network, slot, dns) = self.network(vnet).await?;
        let ip = slot.host(Host::Shell);
        let name = self.run.name(&format!("shell-{}", network.rsplit('-').next().unwrap_or("net")));
        let body = ContainerCreateBody {
            image: Some(self.image.clone()),
            entrypoint: Some(vec![PULLSIM_BINARY.to_string()]),
            cmd: Some(vec!["component".into(), "idle".into()]),
            labels: Some(self.run.labels()),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some([(network.clone(), endpoint(ip))].into_iter().collect()),
            }),
            ..Default::default()
        };
        let docker = &self.docker;
        let id = super::container::create_and_start(docker, &name, body).await?;
        wait_ready(docker, &id, READY_WITHIN).await?;
        let c = DebugContainer { id, docker: docker.clone(), dns, ip };
        // Docker writes its own resolver in; the VNET's is Azure DNS.
        c.exec(&[PULLSIM_BINARY, "component", "resolv-conf", "--nameserver", &dns.to_string()]).await?;
        Ok(c)
    }

    /// Removes every container and network of the run and the state directory.
    pub async fn stop(mut self) -> anyhow::Result<Removed> {
        let mut removed = self.run.cleanup().await?;
        let dir = self.state.path().to_path_buf();
        drop(self.state);
        removed.dirs.push(dir);
        Ok(removed)
    }
}

/// How many VNET slots (`/16`s) a VNET network has: VNETs peered together share one.
const SLOTS: u8 = 4;

/// The VNETs in groups that peerings connect (each group shares a network), in key order.
fn peering_groups(plan: &Plan) -> anyhow::Result<Vec<Vec<String>>> {
    let mut seen: BTreeSet<&String> = BTreeSet::new();
    let mut groups = Vec::new();
    for start in plan.vnets.keys() {
        if !seen.insert(start) {
            continue;
        }
        let mut group = vec![start.clone()];
        let mut todo = vec![start];
        while let Some(k) = todo.pop() {
            for peer in plan.vnets.get(k).map(|v| v.peers.iter()).into_iter().flatten() {
                if let Some((key, _)) = plan.vnets.get_key_value(peer)
                    && seen.insert(key)
                {
                    group.push(key.clone());
                    todo.push(key);
                }
            }
        }
        group.sort();
        if group.len() > usize::from(SLOTS) {
            bail!(
                "{} VNETs are peered together ({}); the docker backend puts at most {SLOTS} on one network",
                group.len(),
                group.join(", ")
            );
        }
        groups.push(group);
    }
    Ok(groups)
}

fn endpoint(ip: Ipv4Addr) -> EndpointSettings {
    EndpointSettings {
        ipam_config: Some(EndpointIpamConfig { ipv4_address: Some(ip.to_string()), ..Default::default() }),
        ..Default::default()
    }
}

async fn connect(docker: &Docker, n: &PoolNet, id: &str, host: Host) -> anyhow::Result<()> {
    let ip = n.net.host(host);
    let req = NetworkConnectRequest { container: id.to_string(), endpoint_config: Some(endpoint(ip)) };
    call(|| format!("attaching {id} to {} at {ip}", n.name), docker.connect_network(&n.name, req)).await
}

/// Starts the CNCF distribution registry (the ACR's storage) on the public network at
/// [`Host::Registry`], its data in the state directory; waits until `GET /v2/` answers.
async fn registry(run: &Run, image: &str, state: &str, args: &[&str], public: &PoolNet) -> anyhow::Result<String> {
    let docker = run.docker();
    let name = run.name("registry");
    let ip = public.net.host(Host::Registry);
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        entrypoint: Some(args.iter().map(|s| s.to_string()).collect()),
        labels: Some(run.labels()),
        host_config: Some(HostConfig { binds: Some(vec![format!("{state}:{STATE}")]), ..Default::default() }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some([(public.name.clone(), endpoint(ip))].into_iter().collect()),
        }),
        ..Default::default()
    };
    let id = super::container::create_and_start(docker, &name, body).await?;
    let addr = SocketAddr::from((ip, REGISTRY_PORT));
    let deadline = tokio::time::Instant::now() + READY_WITHIN;
    loop {
        if answers_v2(addr).await {
            return Ok(id);
        }
        if tokio::time::Instant::now() > deadline {
            let (out, err) = super::container::logs(docker, &id).await.unwrap_or_default();
            bail!("the registry at {addr} did not answer GET /v2/ within {READY_WITHIN:?}:\n{out}{err}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether a registry answers `GET /v2/` with 200 at `addr` (one try, 1 s).
async fn answers_v2(addr: SocketAddr) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let probe = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(b"GET /v2/ HTTP/1.0\r\nHost: registry\r\n\r\n").await.ok()?;
        let mut buf = [0u8; 16];
        let n = s.read(&mut buf).await.ok()?;
        Some(buf[..n].starts_with(b"HTTP/1.0 200") || buf[..n].starts_with(b"HTTP/1.1 200"))
    };
    matches!(tokio::time::timeout(Duration::from_secs(1), probe).await, Ok(Some(true)))
}

/// Creates and starts a component container on the public network at `host`, with the
/// state directory mounted and the right to configure its own addresses; waits until it
/// prints that it is ready.
async fn service(
    run: &Run,
    image: &str,
    state: &str,
    what: &str,
    args: &[&str],
    public: &PoolNet,
    host: Host,
) -> anyhow::Result<String> {
    let docker = run.docker();
    let name = run.name(what);
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(args.iter().map(|s| s.to_string()).collect()),
        labels: Some(run.labels()),
        env: Some(vec![format!("PULLSIM_LOG={}", std::env::var("PULLSIM_LOG").unwrap_or_else(|_| "warn".into()))]),
        host_config: Some(HostConfig {
            binds: Some(vec![format!("{state}:{STATE}")]),
            cap_add: Some(vec!["NET_ADMIN".to_string()]),
            // A peered VNET is a second network the worker stands in: its packets may
            // leave by one interface with a source address of another, which strict
            // reverse-path filtering would drop.
            sysctls: Some(
                [("net.ipv4.conf.all.rp_filter", "0"), ("net.ipv4.conf.default.rp_filter", "0")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some([(public.name.clone(), endpoint(public.net.host(host)))].into_iter().collect()),
        }),
        ..Default::default()
    };
    let id = super::container::create_and_start(docker, &name, body).await?;
    wait_ready(docker, &id, READY_WITHIN).await.with_context(|| format!("starting {what}"))?;
    Ok(id)
}
