//! The fake Azure's services as the docker backend runs them, one per container
//! (`pullsim component arm|azure-dns|acr|worker`). They share the state directory the
//! host mounts at `/state`: ARM writes the store's journal there and the others follow it
//! ([`Store::follow`]), the CA and the token key are there, the ACR's blobs are there, and
//! so is the network layout ([`Layout`]). Each answers the host's control channel
//! ([`control`]) on its own address, and stops when its cancellation token fires.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow};
use mock_azure::acr::Acr;
use mock_azure::appservice::rules::Epoch;
use mock_azure::appservice::worker::{ArmAccess, Worker};
use mock_azure::arm::{Arm, ArmConfig};
use mock_azure::dns::{AzureDns, DnsHandle, DnsServer, Role, list_custom_servers, public_resolvers, put_custom_server};
use mock_azure::identity::TokenSigner;
use mock_azure::model::Store;
use mock_azure::netplan::{AddressMap, Fabric, Modeled};
use mock_azure::tls::Ca;
use serde_json::Value;
use tokio::net::{TcpListener, UdpSocket};
use tokio_util::sync::CancellationToken;

use super::addresses::{ConfiguringMap, own_addresses};
use crate::docker::protocol::control::{self, Handler, Request};
use crate::docker::protocol::layout::{AddressPlan, Host, Layout};
use crate::docker::protocol::state::{BLOBS, READY, acr_storage};

/// What every service starts from.
struct Common {
    state: PathBuf,
    store: Store,
    fabric: Fabric,
    map: Arc<ConfiguringMap>,
    ca: Arc<Ca>,
    signer: Arc<TokenSigner>,
    cfg: ArmConfig,
}

impl Common {
    fn open(state: &Path, store: Store, arm_url: String) -> anyhow::Result<Common> {
        let layout = Layout::read(state)?;
        let map = Arc::new(ConfiguringMap::new(AddressPlan::new(store.clone(), layout)));
        let fabric = Fabric { map: map.clone() as Arc<dyn AddressMap>, dns_port: 53, https_port: 443 };
        let ca = Arc::new(Ca::load_or_generate(state).context("loading the CA")?);
        let signer = Arc::new(mock_azure::tls::load_or_generate_signer(state).context("loading the token key")?);
        Ok(Common { state: state.to_path_buf(), store, fabric, map, ca, signer, cfg: ArmConfig::new(arm_url) })
    }

    fn reload_layout(&self) -> Result<(), String> {
        let layout = Layout::read(&self.state).map_err(|e| format!("{e:#}"))?;
        self.map.plan.set_layout(layout);
        self.map.plan.check().map_err(|e| format!("{e:#}"))
    }
}

/// This container's own address on the public network, as `host`.
fn own_public(host: Host, state: &Path) -> anyhow::Result<Ipv4Addr> {
    let layout = Layout::read(state)?;
    let public = layout.public.context("the network layout has no public network")?;
    Ok(public.host(host))
}

async fn control_listener(ip: Ipv4Addr) -> anyhow::Result<TcpListener> {
    let addr = SocketAddr::from((ip, control::PORT));
    TcpListener::bind(addr).await.with_context(|| format!("binding the control channel at {addr}"))
}

fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Value, String>> + Send + 'static,
{
    Arc::new(move |req| Box::pin(f(req)))
}

/// ARM (and the identity and platform MSI endpoints) over the store it owns.
pub async fn arm(state: PathBuf, stop: CancellationToken) -> anyhow::Result<()> {
    let ip = own_public(Host::Arm, &state)?;
    let store = Store::open(&state).with_context(|| format!("opening the store in {}", state.display()))?;
    let c = Common::open(&state, store, format!("https://{ip}"))?;
    let tls = c.ca.server_config(&["localhost"], &[IpAddr::V4(ip)]).context("ARM's certificate")?;
    let arm = Arc::new(Arm::new(c.store.clone(), c.signer.clone(), c.cfg.clone()));
    let listener = TcpListener::bind(SocketAddr::from((ip, 443))).await.context("binding ARM")?;
    let control = control_listener(ip).await?;
    let store = c.store.clone();
    let sub = c.cfg.subscription_id.clone();
    let resettable = arm.clone();
    let h = handler(move |req| {
        let (store, sub, arm) = (store.clone(), sub.clone(), resettable.clone());
        async move {
            match req {
                // A fresh Azure, with the service principal its Owner again.
                Request::Reset => arm.reset().map(|()| Value::Null).map_err(|e| e.to_string()),
                Request::CustomDns { name, server } => put_custom_server(&store, &sub, &name, &server)
                    .map_err(|e| format!("custom DNS server {name}: {e}")),
                Request::Sync => Ok(Value::Null),
                other => Err(format!("ARM does not answer {other:?}")),
            }
        }
    });
    tokio::spawn(control::serve(control, h));
    println!("{READY}");
    mock_azure::arm::serve(listener, tls, arm, stop.cancelled_owned()).await;
    Ok(())
}

/// Azure DNS on this container's address on every network it is attached to, and each
/// custom DNS server the store names on that server's modeled address.
pub async fn azure_dns(state: PathBuf, stop: CancellationToken) -> anyhow::Result<()> {
    let ip = own_public(Host::Dns, &state)?;
    let store = Store::follow(&state)?;
    let c = Arc::new(Common::open(&state, store, String::new())?);
    let dns = Arc::new(AzureDns::new(c.store.clone(), c.fabric.clone()));
    let generation = Arc::new(tokio::sync::Mutex::new(DnsGeneration::start(dns.clone(), &stop)));
    generation.lock().await.bind(&c).await.map_err(|e| anyhow!(e))?;
    let control = control_listener(ip).await?;
    let (c2, generation2, stop2) = (c.clone(), generation.clone(), stop.clone());
    let h = handler(move |req| {
        let (c, generation, dns, stop) = (c2.clone(), generation2.clone(), dns.clone(), stop2.clone());
        async move {
            match req {
                Request::Sync => {
                    c.reload_layout()?;
                    generation.lock().await.bind(&c).await.map(|()| Value::Null)
                }
                Request::Reset => {
                    let mut g = generation.lock().await;
                    // New sockets for the next scenario: a custom server's address may
                    // stand for another server (or another container) next time.
                    std::mem::replace(&mut *g, DnsGeneration::start(dns, &stop)).stop().await;
                    c.map.unconfigure_all().map_err(|e| e.to_string())?;
                    g.bind(&c).await.map(|()| Value::Null)
                }
                other => Err(format!("DNS does not answer {other:?}")),
            }
        }
    });
    tokio::spawn(control::serve(control, h));
    println!("{READY}");
    stop.cancelled().await;
    let g = std::mem::replace(&mut *generation.lock().await, DnsGeneration::idle());
    g.stop().await;
    Ok(())
}

/// One set of DNS sockets, stopped together (a child of the component's token: they
/// stop with it, or alone at a reset).
struct DnsGeneration {
    handle: Option<DnsHandle>,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
    bound: BTreeSet<SocketAddr>,
}

impl DnsGeneration {
    fn start(dns: Arc<AzureDns>, parent: &CancellationToken) -> DnsGeneration {
        let server = DnsServer::new(dns);
        let handle = server.handle();
        let stop = parent.child_token();
        let until = stop.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = server.run(until.cancelled_owned()).await {
                tracing::error!(error = %e, "DNS server stopped");
            }
        });
        DnsGeneration { handle: Some(handle), stop, task: Some(task), bound: BTreeSet::new() }
    }

    fn idle() -> DnsGeneration {
        DnsGeneration { handle: None, stop: CancellationToken::new(), task: None, bound: BTreeSet::new() }
    }

    async fn stop(mut self) {
        self.stop.cancel();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    /// Binds Azure DNS on every own address and each custom server and public resolver not
    /// bound yet.
    async fn bind(&mut self, c: &Common) -> Result<(), String> {
        let Some(handle) = &self.handle else { return Err("the DNS server has stopped".into()) };
        let mut wanted: Vec<(Role, SocketAddr)> = own_addresses(Host::Dns)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|(_, ip)| (Role::AzureDns, SocketAddr::from((ip, 53))))
            .collect();
        for (_, s) in list_custom_servers(&c.store) {
            let m: Modeled = s.modeled();
            let ip = c.map.local(&m).map_err(|e| format!("custom DNS {}: {e}", m.ip))?;
            wanted.push((Role::Custom(m), SocketAddr::new(ip, 53)));
        }
        for m in public_resolvers(&c.store).iter() {
            let ip = c.map.local(m).map_err(|e| format!("public resolver {}: {e}", m.ip))?;
            wanted.push((Role::PublicResolver(m.clone()), SocketAddr::new(ip, 53)));
        }
        for (role, addr) in wanted {
            if self.bound.contains(&addr) {
                continue;
            }
            let udp = UdpSocket::bind(addr).await.map_err(|e| format!("binding DNS at {addr}: {e}"))?;
            let tcp = TcpListener::bind(addr).await.map_err(|e| format!("binding DNS at {addr}: {e}"))?;
            handle.add(role, udp, tcp).map_err(|e| e.to_string())?;
            self.bound.insert(addr);
        }
        Ok(())
    }
}

/// The ACR's login servers and data endpoints on every address the store gives them,
/// with the images in the CNCF registry at `registry`.
pub async fn acr(state: PathBuf, registry: Ipv4Addr, stop: CancellationToken) -> anyhow::Result<()> {
    let ip = own_public(Host::Acr, &state)?;
    let store = Store::follow(&state)?;
    let c = Arc::new(Common::open(&state, store, String::new())?);
    let blobs = acr_storage(registry, &state.join(BLOBS))?;
    let acr = Arc::new(
        Acr::new(c.store.clone(), blobs, c.signer.clone(), c.ca.clone(), c.fabric.clone(), c.cfg.tenant_id.clone())
            .context("ACR certificates")?,
    );
    let (handle, listeners) = mock_azure::acr::listeners();
    // One listener for every address: the ACR tells its endpoints apart by the address a
    // connection arrived on, which the configured addresses give.
    let any = TcpListener::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 443))).await.context("binding the ACR")?;
    handle.add(any).map_err(|_| anyhow!("the ACR server stopped"))?;
    let control = control_listener(ip).await?;
    let (c2, acr2) = (c.clone(), acr.clone());
    let h = handler(move |req| {
        let (c, acr) = (c2.clone(), acr2.clone());
        async move {
            match req {
                Request::Sync => {
                    c.reload_layout()?;
                    for e in acr.endpoints() {
                        c.map.local(&e.address).map_err(|err| format!("endpoint {}: {err}", e.address))?;
                    }
                    Ok(Value::Null)
                }
                Request::Reset => c.map.unconfigure_all().map(|()| Value::Null).map_err(|e| e.to_string()),
                other => Err(format!("the ACR does not answer {other:?}")),
            }
        }
    });
    tokio::spawn(control::serve(control, h));
    println!("{READY}");
    mock_azure::acr::serve(listeners, acr, stop.cancelled_owned()).await;
    Ok(())
}

/// The App Service worker: pulls when the host asks, reading the site through ARM.
pub async fn worker(state: PathBuf, arm: Ipv4Addr, stop: CancellationToken) -> anyhow::Result<()> {
    let ip = own_public(Host::Worker, &state)?;
    let store = Store::follow(&state)?;
    let c = Arc::new(Common::open(&state, store, format!("https://{arm}"))?);
    let tls = c.ca.client_config().context("client TLS")?;
    let worker = Arc::new(Worker {
        arm: ArmAccess {
            addr: SocketAddr::from((arm, 443)),
            server_name: arm.to_string(),
            tls: tls.clone(),
            tenant_id: c.cfg.tenant_id.clone(),
            client_id: mock_azure::arm::PLATFORM_CLIENT_ID.to_string(),
            client_secret: mock_azure::arm::PLATFORM_CLIENT_SECRET.to_string(),
        },
        store: c.store.clone(),
        fabric: c.fabric.clone(),
        tls,
    });
    let control = control_listener(ip).await?;
    let c2 = c.clone();
    let h = handler(move |req| {
        let (c, worker) = (c2.clone(), worker.clone());
        async move {
            match req {
                Request::Sync => c.reload_layout().map(|()| Value::Null),
                Request::Reset => c.map.unconfigure_all().map(|()| Value::Null).map_err(|e| e.to_string()),
                Request::Pull { site, epoch } => {
                    let epoch: Epoch = epoch.parse().map_err(|e| format!("{e}"))?;
                    let report = worker.pull(&site, epoch).await.map_err(|e| format!("infrastructure: {e}"))?;
                    serde_json::to_value(&report).map_err(|e| e.to_string())
                }
                other => Err(format!("the worker does not answer {other:?}")),
            }
        }
    });
    tokio::spawn(control::serve(control, h));
    println!("{READY}");
    stop.cancelled().await;
    Ok(())
}
