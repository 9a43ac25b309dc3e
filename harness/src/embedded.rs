//! The embedded backend: every component of the fake Azure in this process, on real
//! sockets. Each modeled address gets its own loopback address in one `127.B.0.0/16`
//! block per environment (so parallel environments never collide), and every DNS
//! server and HTTPS endpoint of the environment uses the same port on its address.
//!
//! The environment binds; the servers serve (STYLE rule 2). Endpoints appear as the
//! configuration does: [`Env::reconcile`] binds a listener for every registry endpoint
//! (public and private addresses) and a socket for every custom DNS server the store
//! names, and hands them to the running servers.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use mock_azure::acr::{Acr, BlobStore, DiskStore, ListenerHandle, MemoryStore, UploadLimits};
use mock_azure::appservice::rules::Epoch;
use mock_azure::appservice::worker::{ArmAccess, InfraError, PullReport, Worker};
use mock_azure::arm::{Arm, ArmConfig, ArmRequest, ArmResponse};
use mock_azure::dns::{
    AzureDns, CustomServer, DnsHandle, DnsServer, Role, list_custom_servers, public_resolvers, put_custom_server,
};
use mock_azure::identity::TokenSigner;
use mock_azure::listen::Limits;
use mock_azure::model::Store;
use mock_azure::netplan::{AddressMap, Fabric, LoopbackMap, Modeled};
use mock_azure::tls::Ca;
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::backend::{Backend, BackendError, Operation};

/// A running embedded environment.
pub struct Env {
    /// The resource store.
    pub store: Store,
    /// pullsim's CA.
    pub ca: Arc<Ca>,
    /// The fake ARM.
    pub arm: Arc<Arm>,
    /// Where ARM listens.
    pub arm_addr: SocketAddr,
    /// The modeled → loopback map.
    pub map: Arc<LoopbackMap>,
    /// Map and ports.
    pub fabric: Fabric,
    /// The fake Azure DNS.
    pub dns: Arc<AzureDns>,
    /// The fake ACR.
    pub acr: Arc<Acr>,
    /// The App Service worker.
    pub worker: Arc<Worker>,
    /// The listener limits every server of the environment (and its proxies) runs under.
    pub limits: Limits,
    dns_handle: DnsHandle,
    acr_handle: ListenerHandle,
    bound: Mutex<BTreeSet<(u8, Modeled)>>,
    /// The store sequence number the last complete reconcile saw; nothing to bind while
    /// the store has not moved. A tokio mutex: held across the binds so two concurrent
    /// pulls never race to bind the same new endpoint.
    reconciled: tokio::sync::Mutex<Option<u64>>,
    shutdown: CancellationToken,
    tasks: Mutex<JoinSet<()>>,
}

/// Options of an environment.
#[derive(Debug, Clone, Default)]
pub struct EnvOptions {
    /// Keep the store (and the CA and token key) here; in memory when `None`.
    pub state_dir: Option<std::path::PathBuf>,
    /// Where ARM listens (`127.0.0.1:0` when `None`).
    pub arm_bind: Option<SocketAddr>,
    /// Listener limits (connection caps, timeouts) of every server.
    pub limits: Limits,
    /// Upload limits of the ACR (largest blob, idle sessions).
    pub uploads: UploadLimits,
    /// ARM names itself by the `Host` clients reach it at (behind a container's port
    /// mapping) instead of by its listening address.
    pub arm_url_from_host: bool,
    /// Service principals besides the default one (`serve --principal`).
    pub principals: Vec<mock_azure::arm::ServicePrincipal>,
}

const KIND_DNS: u8 = 0;
const KIND_HTTPS: u8 = 1;
const KIND_PUBLIC_DNS: u8 = 2;

impl Env {
    /// Starts ARM, DNS, the ACR and the worker.
    pub async fn start(opts: EnvOptions) -> anyhow::Result<Env> {
        // Descriptors for many clients (issue 13).
        if let Err(e) = mock_azure::listen::raise_fd_limit() {
            tracing::warn!(error = %e, "could not raise the open-file limit");
        }
        let (store, ca, signer) = match &opts.state_dir {
            Some(dir) => (
                Store::open(dir).with_context(|| format!("opening the store in {}", dir.display()))?,
                Arc::new(Ca::load_or_generate(dir).context("preparing the CA")?),
                Arc::new(mock_azure::tls::load_or_generate_signer(dir).context("preparing the token key")?),
            ),
            None => {
                let (ca, signer) = process_keys()?;
                (Store::in_memory(), ca, signer)
            }
        };
        // After the store, which makes the state directory private.
        let blobs: Arc<dyn BlobStore> = match &opts.state_dir {
            Some(dir) => Arc::new(DiskStore::open(&dir.join("acr")).context("opening the ACR's content store")?),
            None => Arc::new(MemoryStore::new()),
        };
        let shutdown = CancellationToken::new();
        let mut tasks = JoinSet::new();

        // The block and the ports, claimed by binding Azure DNS's sockets.
        let (map, dns_udp, dns_tcp, dns_port, https_port) = claim_block().await?;
        let map = Arc::new(map);
        let fabric = Fabric { map: map.clone() as Arc<dyn AddressMap>, dns_port, https_port };

        // ARM.
        let arm_listener = TcpListener::bind(opts.arm_bind.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))))
            .await
            .context("binding ARM")?;
        let arm_addr = arm_listener.local_addr()?;
        // Listening on every interface (in a container), clients come through loopback.
        let mut arm_ips = vec![arm_addr.ip()];
        if arm_addr.ip().is_unspecified() {
            arm_ips.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        let arm_tls = ca.server_config(&["localhost"], &arm_ips).context("ARM certificate")?;
        let mut cfg = ArmConfig::new(format!("https://{arm_addr}"));
        cfg.base_url_from_host = opts.arm_url_from_host;
        cfg.principals = opts.principals.clone();
        let arm = Arc::new(Arm::new(store.clone(), signer.clone(), cfg.clone()));
        let limits = opts.limits;
        tasks.spawn(mock_azure::arm::serve_with(
            arm_listener,
            arm_tls,
            arm.clone(),
            limits,
            shutdown.clone().cancelled_owned(),
        ));

        // DNS.
        let dns = Arc::new(AzureDns::new(store.clone(), fabric.clone()));
        let server = DnsServer::new(dns.clone()).with_limits(limits);
        let dns_handle = server.handle();
        server.add(Role::AzureDns, dns_udp, dns_tcp).context("serving Azure DNS")?;
        let stop = shutdown.clone();
        tasks.spawn(async move {
            if let Err(e) = server.run(stop.cancelled_owned()).await {
                tracing::error!(error = %e, "DNS server stopped");
            }
        });

        // ACR.
        let acr = Arc::new(
            Acr::new(store.clone(), blobs, signer.clone(), ca.clone(), fabric.clone(), cfg.tenant_id.clone())
                .context("ACR certificates")?
                .with_upload_limits(opts.uploads),
        );
        let (acr_handle, listeners) = mock_azure::acr::listeners();
        tasks.spawn(mock_azure::acr::serve_with(listeners, acr.clone(), limits, shutdown.clone().cancelled_owned()));

        let client_tls = ca.client_config().context("client TLS")?;
        let worker = Arc::new(Worker {
            arm: ArmAccess {
                addr: arm_addr,
                server_name: arm_addr.ip().to_string(),
                tls: client_tls.clone(),
                tenant_id: cfg.tenant_id.clone(),
                // The platform reads sites as its own first-party application.
                client_id: mock_azure::arm::PLATFORM_CLIENT_ID.to_string(),
                client_secret: mock_azure::arm::PLATFORM_CLIENT_SECRET.to_string(),
            },
            store: store.clone(),
            fabric: fabric.clone(),
            tls: client_tls,
        });
        Ok(Env {
            store,
            ca,
            arm,
            arm_addr,
            map,
            fabric,
            dns,
            acr,
            worker,
            limits,
            dns_handle,
            acr_handle,
            bound: Mutex::new(BTreeSet::new()),
            reconciled: tokio::sync::Mutex::new(None),
            shutdown,
            tasks: Mutex::new(tasks),
        })
    }

    /// Binds what the configuration now needs and is not bound yet: a listener per
    /// registry endpoint, a socket pair per custom DNS server and per public resolver.
    pub async fn reconcile(&self) -> anyhow::Result<()> {
        let mut seen = self.reconciled.lock().await;
        let seq = self.store.seq();
        if *seen == Some(seq) {
            return Ok(());
        }
        self.bind_needed().await?;
        *seen = Some(seq);
        Ok(())
    }

    async fn bind_needed(&self) -> anyhow::Result<()> {
        let mut wanted: Vec<(u8, Modeled)> =
            self.acr.endpoints().into_iter().map(|e| (KIND_HTTPS, e.address)).collect();
        wanted.extend(list_custom_servers(&self.store).into_iter().map(|(_, s)| (KIND_DNS, s.modeled())));
        wanted.extend(public_resolvers(&self.store).iter().map(|m| (KIND_PUBLIC_DNS, m.clone())));
        for (kind, m) in wanted {
            if self.is_bound(kind, &m) {
                continue;
            }
            let ip = self.map.real(&m);
            if kind == KIND_HTTPS {
                let l = TcpListener::bind(SocketAddr::new(ip, self.fabric.https_port))
                    .await
                    .with_context(|| format!("binding the endpoint {m} at {ip}:{}", self.fabric.https_port))?;
                if self.acr_handle.add(l).is_err() {
                    bail!("the ACR server has stopped");
                }
            } else {
                let role = if kind == KIND_DNS { Role::Custom(m.clone()) } else { Role::PublicResolver(m.clone()) };
                let addr = SocketAddr::new(ip, self.fabric.dns_port);
                let udp = UdpSocket::bind(addr).await.with_context(|| format!("binding {role} at {addr}"))?;
                let tcp = TcpListener::bind(addr).await.with_context(|| format!("binding {role} at {addr}"))?;
                self.dns_handle.add(role, udp, tcp).context("the DNS server has stopped")?;
            }
            self.bound.lock().unwrap_or_else(|e| e.into_inner()).insert((kind, m));
        }
        Ok(())
    }

    fn is_bound(&self, kind: u8, m: &Modeled) -> bool {
        self.bound.lock().unwrap_or_else(|e| e.into_inner()).contains(&(kind, m.clone()))
    }

    /// Pulls a site's image now (after binding what the configuration needs).
    pub async fn pull(&self, site_id: &str, epoch: Epoch) -> Result<PullReport, InfraError> {
        self.reconcile().await.map_err(|e| InfraError::Setup(e.into()))?;
        let report = self.worker.pull(site_id, epoch).await?;
        let key = site_id.to_ascii_lowercase();
        let stamp = now_stamp();
        let text: String = report.log.iter().map(|l| format!("{stamp} {l}\n")).collect();
        self.arm.platform.append_log(&key, &text);
        Ok(report)
    }

    /// Also serves Azure DNS on these sockets (`serve --dns-bind`): a query from an
    /// address that stands for no modeled one gets the public view.
    pub fn add_dns_listener(&self, udp: UdpSocket, tcp: TcpListener) -> anyhow::Result<()> {
        self.dns_handle.add(Role::AzureDns, udp, tcp).context("the DNS server has stopped")
    }

    /// Tells every server to stop, without waiting (what a drop can do).
    pub fn cancel(&self) {
        self.shutdown.cancel();
    }

    /// Stops every server and waits for them.
    pub async fn stop(&self) {
        self.shutdown.cancel();
        let mut tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        while tasks.join_next().await.is_some() {}
    }

    /// The platform's reaction to configuration, as in Azure: creating a site, changing
    /// its configuration or app settings, or restarting it makes the worker pull again;
    /// the pull's log lines go to the site's container log. Runs until the environment
    /// stops.
    pub fn watch_sites(self: &Arc<Self>, epoch: Epoch) {
        let env = self.clone();
        let mut changes = self.store.subscribe();
        let stop = self.shutdown.clone();
        let task = async move {
            loop {
                let first = tokio::select! {
                    _ = stop.cancelled() => return,
                    c = changes.recv() => c,
                };
                let mut ids = match first {
                    Ok(c) => c.ids,
                    // Missed changes: pull every site (what a platform restart would do).
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => env.site_ids(),
                    Err(_) => return,
                };
                // Coalesce what arrived together (one `az` command often writes several).
                while let Ok(c) = changes.try_recv() {
                    ids.extend(c.ids);
                }
                let mut sites: Vec<String> = ids.iter().filter_map(|id| site_of(id)).collect();
                sites.sort();
                sites.dedup();
                for site in sites {
                    if env.store.get_key(&site.to_ascii_lowercase()).is_none() {
                        continue;
                    }
                    match env.pull(&site, epoch).await {
                        Ok(r) => {
                            tracing::info!(site = %site, success = r.outcome.success, code = ?r.outcome.code, "pulled")
                        }
                        Err(e) => tracing::warn!(site = %site, error = %e, "pull could not run"),
                    }
                }
            }
        };
        self.tasks.lock().unwrap_or_else(|e| e.into_inner()).spawn(task);
    }

    /// Runs a task until the environment stops (it is aborted then).
    pub fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        let stop = self.shutdown.clone();
        self.tasks.lock().unwrap_or_else(|e| e.into_inner()).spawn(async move {
            tokio::select! {
                _ = task => {},
                _ = stop.cancelled() => {},
            }
        });
    }

    /// Every site's ID.
    pub fn site_ids(&self) -> Vec<String> {
        self.store
            .filter(|_, v| v["type"] == "Microsoft.Web/sites")
            .into_iter()
            .filter_map(|v| v["id"].as_str().map(str::to_string))
            .collect()
    }

    /// The CA certificate in PEM.
    pub fn ca_pem(&self) -> &str {
        self.ca.cert_pem()
    }

    /// Writes the CA certificate to `path` (for clients such as skopeo or the CLI).
    pub fn write_ca(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::write(path, self.ca.cert_pem()).with_context(|| format!("writing {}", path.display()))
    }
}

/// The embedded backend: an [`Env`] behind the [`Backend`] interface. A reset replaces
/// the environment with a fresh one (new store, addresses and servers), which is what a
/// scenario costs anyway and leaves nothing of the previous scenario listening.
pub struct EmbeddedBackend {
    env: std::sync::RwLock<Arc<Env>>,
}

const EMBEDDED: &str = "embedded";

impl EmbeddedBackend {
    /// Starts an in-memory environment.
    pub async fn start() -> Result<EmbeddedBackend, BackendError> {
        let env =
            Env::start(EnvOptions::default()).await.map_err(|e| BackendError::new(EMBEDDED, Operation::Start, e))?;
        Ok(EmbeddedBackend { env: std::sync::RwLock::new(Arc::new(env)) })
    }

    /// The backend over an environment already running (`pullsim serve`'s).
    pub fn with_env(env: Arc<Env>) -> EmbeddedBackend {
        EmbeddedBackend { env: std::sync::RwLock::new(env) }
    }

    /// The environment now in use.
    pub fn env(&self) -> Arc<Env> {
        self.env.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait::async_trait]
impl Backend for EmbeddedBackend {
    fn name(&self) -> &'static str {
        EMBEDDED
    }

    fn subscription_id(&self) -> String {
        self.env().arm.cfg.subscription_id.clone()
    }

    fn arm_token(&self) -> String {
        let env = self.env();
        env.arm.cfg.client_token(&env.arm.signer, 3600)
    }

    async fn arm(&self, req: &ArmRequest) -> Result<ArmResponse, BackendError> {
        // In process: the same `Arm::handle` the HTTPS server calls, without the socket.
        Ok(self.env().arm.handle(req))
    }

    fn blobs(&self) -> Arc<dyn BlobStore> {
        self.env().acr.blobs().clone()
    }

    async fn put_custom_dns(&self, name: &str, server: CustomServer) -> Result<(), BackendError> {
        let env = self.env();
        put_custom_server(&env.store, &env.arm.cfg.subscription_id, name, &server).map(|_| ()).map_err(|e| {
            BackendError::new(EMBEDDED, Operation::CustomDns, anyhow::anyhow!("custom DNS server {name}: {e}"))
        })
    }

    async fn settle(&self) -> Result<(), BackendError> {
        self.env().reconcile().await.map_err(|e| BackendError::new(EMBEDDED, Operation::Settle, e))
    }

    async fn pull(&self, site_id: &str, epoch: Epoch) -> Result<PullReport, BackendError> {
        self.env().pull(site_id, epoch).await.map_err(|e| BackendError::new(EMBEDDED, Operation::Pull, e))
    }

    async fn reset(&self) -> Result<(), BackendError> {
        let fresh =
            Env::start(EnvOptions::default()).await.map_err(|e| BackendError::new(EMBEDDED, Operation::Reset, e))?;
        let old = std::mem::replace(&mut *self.env.write().unwrap_or_else(|e| e.into_inner()), Arc::new(fresh));
        old.stop().await;
        Ok(())
    }

    async fn stop(self: Box<Self>) -> Result<(), BackendError> {
        self.env().stop().await;
        Ok(())
    }
}

/// The CA and token key every in-memory environment of this process shares: each
/// environment is its own store, addresses and servers, but generating keys and issuing
/// certificates for each scenario anew was a tenth of a scenario's time (issue 8).
fn process_keys() -> anyhow::Result<(Arc<Ca>, Arc<TokenSigner>)> {
    static KEYS: std::sync::OnceLock<(Arc<Ca>, Arc<TokenSigner>)> = std::sync::OnceLock::new();
    if let Some(k) = KEYS.get() {
        return Ok(k.clone());
    }
    let ca = Arc::new(Ca::generate().context("generating the CA")?);
    let signer = Arc::new(TokenSigner::generate().map_err(|_| anyhow::anyhow!("the system random generator failed"))?);
    Ok(KEYS.get_or_init(|| (ca, signer)).clone())
}

/// Finds a free `127.B.0.0/16` block by binding Azure DNS at `127.B.0.1`: port 53 when
/// allowed (then HTTPS uses 443), else a free port shared by every DNS socket (and
/// another for HTTPS).
async fn claim_block() -> anyhow::Result<(LoopbackMap, UdpSocket, TcpListener, u16, u16)> {
    let seed = std::process::id() as u64
        ^ (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0));
    let mut last_err = None;
    for attempt in 0..64u64 {
        let block = 2
            + ((seed.wrapping_mul(6364136223846793005).wrapping_add(attempt * 1442695040888963407) >> 33) % 252) as u8;
        let dns_ip = IpAddr::V4(Ipv4Addr::new(127, block, 0, 1));
        for (dns_port, https_port) in [(53u16, 443u16), (0, 0)] {
            let udp = match UdpSocket::bind(SocketAddr::new(dns_ip, dns_port)).await {
                Ok(u) => u,
                Err(e) => {
                    last_err = Some(e);
                    continue;
                }
            };
            let port = udp.local_addr()?.port();
            let tcp = match TcpListener::bind(SocketAddr::new(dns_ip, port)).await {
                Ok(t) => t,
                Err(e) => {
                    last_err = Some(e);
                    continue;
                }
            };
            // The HTTPS port must be free on this block's addresses; check on one.
            let https_port = if https_port == 443 {
                match TcpListener::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, block, 255, 254)), 443)).await {
                    Ok(_) => 443,
                    Err(e) => {
                        last_err = Some(e);
                        continue;
                    }
                }
            } else {
                TcpListener::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, block, 255, 254)), 0))
                    .await?
                    .local_addr()?
                    .port()
            };
            return Ok((LoopbackMap::new(block), udp, tcp, port, https_port));
        }
    }
    bail!("no free 127.x.0.0/16 block for the environment: {last_err:?}")
}

/// `2026-11-29T01:23:45.678Z`, as App Service stamps its log lines.
fn now_stamp() -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    time::OffsetDateTime::now_utc().format(&fmt).unwrap_or_default()
}

/// The site a changed resource belongs to, for the changes that restart an app: the site
/// itself, its `config/web` and `config/appsettings`.
fn site_of(id: &str) -> Option<String> {
    let lower = id.to_ascii_lowercase();
    let at = lower.find("/providers/microsoft.web/sites/")?;
    let rest = &lower[at + "/providers/microsoft.web/sites/".len()..];
    let mut parts = rest.split('/');
    let name_len = parts.next()?.len();
    let site_end = at + "/providers/microsoft.web/sites/".len() + name_len;
    match (parts.next(), parts.next(), parts.next()) {
        (None, _, _) => Some(id[..site_end].to_string()),
        (Some("config"), Some("web" | "appsettings"), None) => Some(id[..site_end].to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::site_of;

    #[test]
    fn configuration_changes_restart_their_site_and_nothing_else_does() {
        let site = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/App";
        assert_eq!(site_of(site).as_deref(), Some(site));
        assert_eq!(site_of(&format!("{site}/config/appsettings")).as_deref(), Some(site));
        assert_eq!(site_of(&format!("{site}/config/web")).as_deref(), Some(site));
        assert_eq!(site_of(&format!("{site}/config/slotConfigNames")), None);
        assert_eq!(site_of("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan"), None);
    }
}
