//! `pullsim serve`: the whole fake Azure (ARM, identity, DNS, ACR, the App Service worker)
//! on loopback for interactive use with real clients: the Azure CLI, dig, skopeo.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use mock_azure::acr::EndpointKind;
use mock_azure::arm::ServicePrincipal;
use mock_azure::netplan::{AddressMap, Modeled, Plan};
use mock_azure::tls::write_atomic;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::embedded::{Env, EnvOptions};

/// Options of `pullsim serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Loopback only unless --allow-remote is given.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub bind: SocketAddr,
    /// Allow a non-loopback --bind address (the fake Azure has no real security).
    #[arg(long)]
    pub allow_remote: bool,
    /// Keep the resource store, the CA and the token key here across restarts.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Write the endpoints as JSON to this file once ready (for scripts).
    #[arg(long, value_name = "PATH")]
    pub ready_file: Option<PathBuf>,
    /// Print only the endpoints JSON instead of the human help text.
    #[arg(long)]
    pub quiet: bool,
    /// Build this scenario's (or fixture's) topology at start, through ARM.
    #[arg(long, value_name = "SCENARIO")]
    pub load: Option<PathBuf>,
    /// With --load of a matrix file: the cell whose name contains this text.
    #[arg(long, requires = "load")]
    pub cell: Option<String>,
    /// The rules epoch the App Service worker follows (default: the scenario's, else the
    /// newest).
    #[arg(long, value_name = "EPOCH")]
    pub rules: Option<mock_azure::appservice::rules::Epoch>,
    /// Name ARM (in cloud metadata and the OpenID configuration) by the `Host` clients
    /// reach it at, not by --bind: for a container whose port is mapped to another.
    #[arg(long)]
    pub arm_url_from_host: bool,
    /// Also serve Azure DNS (UDP and TCP) here; a client there asks from outside every
    /// VNET, so it gets the public view. Loopback only unless --allow-remote is given.
    #[arg(long, value_name = "ADDR")]
    pub dns_bind: Option<SocketAddr>,
    /// Run the vantage-point proxies here, the internet's on this port and each VNET's
    /// on the next ones (default: free loopback ports). Loopback only unless
    /// --allow-remote is given.
    #[arg(long, value_name = "ADDR")]
    pub proxy_bind: Option<SocketAddr>,
    /// Another service principal of the tenant, `NAME=SECRET` (repeatable). It signs in
    /// like the first (its client and object IDs are in the ready file) and holds only
    /// the roles assigned to it; the first is the subscription's Owner.
    #[arg(long = "principal", value_name = "NAME=SECRET", value_parser = parse_principal)]
    pub principals: Vec<ServicePrincipal>,
    /// Connection, time and size limits (issue 13).
    #[command(flatten)]
    pub limits: crate::limits::LimitArgs,
}

fn parse_principal(s: &str) -> Result<ServicePrincipal, String> {
    match s.split_once('=') {
        Some((name, secret)) if !name.is_empty() && !secret.is_empty() => Ok(ServicePrincipal::named(name, secret)),
        _ => Err(format!("'{s}' is not NAME=SECRET")),
    }
}

/// What `serve` tells clients: the ready file's content.
#[derive(Debug, Serialize)]
pub struct Endpoints {
    /// ARM base URL.
    pub arm_url: String,
    /// Identity (Entra ID) authority host, `{identity_url}{tenant}`.
    pub identity_url: String,
    /// Tenant ID.
    pub tenant_id: String,
    /// Subscription ID.
    pub subscription_id: String,
    /// Service principal client ID.
    pub client_id: String,
    /// Service principal secret.
    pub client_secret: String,
    /// The service principal's object ID (it is the subscription's Owner through a role
    /// assignment, which may be deleted).
    pub object_id: String,
    /// The other service principals (`--principal`).
    pub principals: Vec<PrincipalEntry>,
    /// PEM of pullsim's CA (point `REQUESTS_CA_BUNDLE` here).
    pub ca_cert: PathBuf,
    /// The process ID, so scripts can stop it.
    pub pid: u32,
    /// Shell lines to point the Azure CLI at this fake Azure.
    pub az_setup: Vec<String>,
    /// Azure DNS (168.63.129.16) as a real `address:port`; its view depends on the source.
    pub dns: String,
    /// The rules epoch the worker follows.
    pub rules: String,
    /// Every modeled address mapped so far, with its real loopback address.
    pub addresses: Vec<AddressEntry>,
    /// Registry endpoints listening now.
    pub registry_endpoints: Vec<RegistryEndpoint>,
    /// CONNECT proxies standing where a client would (`HTTPS_PROXY` for skopeo, docker…).
    pub proxies: Vec<ProxyEntry>,
    /// Directory holding `ca.crt` (skopeo's `--cert-dir`).
    pub cert_dir: PathBuf,
    /// Example commands for dig and skopeo against this environment.
    pub examples: Vec<String>,
}

/// A service principal given with `--principal`.
#[derive(Debug, Serialize)]
pub struct PrincipalEntry {
    /// Its name.
    pub name: String,
    /// Application (client) ID: `az login --service-principal -u`.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// Object ID: what `az role assignment create --assignee-object-id` names.
    pub object_id: String,
}

/// A vantage-point proxy.
#[derive(Debug, Serialize)]
pub struct ProxyEntry {
    /// Where it stands: `internet` or `<vnet>/<subnet>`.
    pub from: String,
    /// The modeled source address.
    pub modeled: String,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

/// The modeled public address of a developer's machine on the internet (a documentation
/// address: a label, never a destination).
const INTERNET_CLIENT: std::net::Ipv4Addr = std::net::Ipv4Addr::new(198, 51, 100, 10);

/// A modeled address and the loopback address standing for it.
#[derive(Debug, Serialize)]
pub struct AddressEntry {
    /// The modeled address (`10.0.1.4`, `20.x`, `168.63.129.16`).
    pub modeled: String,
    /// The VNET it belongs to (`None`: public).
    pub vnet: Option<String>,
    /// The real address to use as `dig -b` source or connect to.
    pub real: String,
}

/// One address the fake ACR listens on.
#[derive(Debug, Serialize)]
pub struct RegistryEndpoint {
    /// Registry name.
    pub registry: String,
    /// What it is (`public login`, `private registry_data_westeurope`…).
    pub kind: String,
    /// Modeled address.
    pub modeled: String,
    /// Real `address:port`.
    pub real: String,
}

/// Runs the server until `stop` is cancelled (Ctrl-C or SIGTERM).
pub async fn run(args: ServeArgs, stop: CancellationToken) -> anyhow::Result<()> {
    for addr in std::iter::once(args.bind).chain(args.dns_bind).chain(args.proxy_bind) {
        if !addr.ip().is_loopback() && !args.allow_remote {
            bail!("refusing to listen on {addr} (not loopback); pass --allow-remote to do it anyway");
        }
    }
    let scenario = match &args.load {
        Some(path) => Some(load_one(path, args.cell.as_deref())?),
        None => None,
    };
    let epoch = args
        .rules
        .or_else(|| scenario.as_ref().map(|s| s.epoch()))
        .unwrap_or(mock_azure::appservice::rules::Epoch::LATEST);
    // Without a state directory the CA file lives in a temporary one, removed on exit.
    let temp = match &args.state_dir {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new().prefix("pullsim-serve-").tempdir().context("creating a temporary directory")?,
        ),
    };
    let dir: PathBuf = match (&args.state_dir, &temp) {
        (Some(d), _) => d.clone(),
        (_, Some(t)) => t.path().to_path_buf(),
        (None, None) => unreachable!("one of the two is set"),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let env = Arc::new(
        Env::start(EnvOptions {
            state_dir: args.state_dir.clone(),
            arm_bind: Some(args.bind),
            limits: args.limits.listen(),
            uploads: args.limits.uploads(),
            arm_url_from_host: args.arm_url_from_host,
            principals: args.principals.clone(),
        })
        .await
        .context("starting the fake Azure")?,
    );
    let result = serve_env(&env, &args, &dir, scenario.as_ref(), epoch, &stop).await;
    env.stop().await;
    if let Some(path) = &args.ready_file {
        let _ = std::fs::remove_file(path);
    }
    drop(temp);
    result
}

/// A scenario, or a fixture (a topology without `name`) loaded as one.
fn load_one(path: &Path, cell: Option<&str>) -> anyhow::Result<crate::scenario::Scenario> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut all = if crate::scenario::standalone::is_fixture(&text) {
        crate::scenario::standalone::load(path, &text, &crate::scenario::LoadOptions::default())
            .map_err(|e| anyhow::anyhow!("{}", e.render(false)))?
    } else {
        match crate::runner::select::load_all(&[path.to_path_buf()], &[], false) {
            Ok(s) => s,
            Err(e) => {
                eprint!("{}", e.rendered);
                bail!("{} is not a valid scenario file", path.display());
            }
        }
    };
    if let Some(c) = cell {
        let c = c.to_lowercase();
        all.retain(|s| s.name.to_lowercase().contains(&c));
    }
    match all.len() {
        1 => Ok(all.remove(0)),
        0 => bail!("no scenario in {} matches the cell '{}'", path.display(), cell.unwrap_or_default()),
        n => bail!("{} holds {n} scenarios (a matrix); serve loads one: pick it with --cell", path.display()),
    }
}

async fn serve_env(
    env: &Arc<Env>,
    args: &ServeArgs,
    dir: &Path,
    scenario: Option<&crate::scenario::Scenario>,
    epoch: mock_azure::appservice::rules::Epoch,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    let ca_path = dir.join("ca.pem");
    if !ca_path.exists() {
        write_atomic(&ca_path, env.ca_pem().as_bytes()).context("writing the CA certificate")?;
    }
    if let Some(s) = scenario {
        let backend = crate::embedded::EmbeddedBackend::with_env(env.clone());
        crate::runner::scenario::prepare(&backend, s).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    env.reconcile().await?;
    // The platform pulls every app once at start (a loaded site was just created).
    for site in env.site_ids() {
        if let Err(e) = env.pull(&site, epoch).await {
            tracing::warn!(site = %site, error = %e, "initial pull could not run");
        }
    }
    env.watch_sites(epoch);
    let cert_dir = dir.join("certs");
    std::fs::create_dir_all(&cert_dir).with_context(|| format!("creating {}", cert_dir.display()))?;
    write_atomic(&cert_dir.join("ca.crt"), env.ca_pem().as_bytes()).context("writing certs/ca.crt")?;
    if let Some(addr) = args.dns_bind {
        let udp = tokio::net::UdpSocket::bind(addr).await.with_context(|| format!("binding DNS at {addr} (udp)"))?;
        let tcp = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding DNS at {addr} (tcp)"))?;
        env.add_dns_listener(udp, tcp)?;
    }
    let mut proxies = Vec::new();
    for (i, (from, source)) in vantage_sources(env).into_iter().enumerate() {
        let bind = args.proxy_bind.map(|a| SocketAddr::new(a.ip(), a.port().saturating_add(i as u16)));
        proxies.push(start_proxy(env, from, source, bind).await?);
    }
    let endpoints = endpoints(env, &ca_path, &cert_dir, proxies, epoch);
    // The ready file first, then stdout: whoever sees either may use the other.
    if let Some(path) = &args.ready_file {
        let json = serde_json::to_vec_pretty(&endpoints)?;
        write_atomic(path, &json).with_context(|| format!("writing the ready file {}", path.display()))?;
    }
    if args.quiet {
        println!("{}", serde_json::to_string_pretty(&endpoints)?);
    } else {
        print_banner(&endpoints);
    }
    // Endpoints appear as the configuration does (a private endpoint created through az).
    let mut changes = env.store.subscribe();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            c = changes.recv() => {
                if matches!(c, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                    return Ok(());
                }
                if let Err(e) = env.reconcile().await {
                    tracing::warn!(error = %e, "binding new endpoints failed");
                }
            }
        }
    }
}

/// Where vantage points stand: the internet, and each VNET (at its App Service
/// integration subnet's first address if it has one, else its first subnet's).
pub(crate) fn vantage_sources(env: &Env) -> Vec<(String, Modeled)> {
    let mut sources = vec![("internet".to_string(), Modeled::public(INTERNET_CLIENT))];
    for v in Plan::from_store(&env.store).vnets.values() {
        let subnet = v.subnets.iter().find(|s| s.delegated_to_web).or(v.subnets.first());
        if let Some(sn) = subnet
            && let Some(ip) = sn.prefix.nth(4)
        {
            sources.push((format!("{}/{}", v.name, sn.name), Modeled::private(&v.key, ip)));
        }
    }
    sources
}

/// Starts the CONNECT proxy standing at `source`, on `bind` (a free loopback port when
/// `None`), until the environment stops.
pub(crate) async fn start_proxy(
    env: &Arc<Env>,
    from: String,
    source: Modeled,
    bind: Option<SocketAddr>,
) -> anyhow::Result<ProxyEntry> {
    let addr = bind.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let l =
        tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding the proxy of {from} at {addr}"))?;
    let url = format!("http://{}", l.local_addr()?);
    let entry = ProxyEntry { from, modeled: source.ip.to_string(), url };
    env.spawn(crate::proxy::serve(l, env.clone(), source, env.limits));
    Ok(entry)
}

fn endpoints(
    env: &Env,
    ca: &Path,
    cert_dir: &Path,
    proxies: Vec<ProxyEntry>,
    epoch: mock_azure::appservice::rules::Epoch,
) -> Endpoints {
    let cfg = &env.arm.cfg;
    let b = &cfg.base_url;
    let ca_s = ca.display();
    // Give every subnet's first usable address a real one, so `dig -b` can ask from it.
    let plan = Plan::from_store(&env.store);
    for v in plan.vnets.values() {
        for sn in &v.subnets {
            if let Some(ip) = sn.prefix.nth(4) {
                env.map.real(&Modeled::private(&v.key, ip));
            }
        }
    }
    let vnet_name = |key: &str| plan.vnets.get(key).map(|v| v.name.clone()).unwrap_or_else(|| key.to_string());
    let addresses: Vec<AddressEntry> = env
        .map
        .entries()
        .into_iter()
        .map(|(m, r)| AddressEntry {
            modeled: m.ip.to_string(),
            vnet: m.vnet.as_deref().map(vnet_name),
            real: r.to_string(),
        })
        .collect();
    let registry_endpoints: Vec<RegistryEndpoint> = env
        .acr
        .endpoints()
        .into_iter()
        .map(|e| RegistryEndpoint {
            registry: e.registry.clone(),
            kind: match &e.kind {
                EndpointKind::PublicLogin => "public login server".into(),
                EndpointKind::PublicData => "public data endpoint".into(),
                EndpointKind::Private { member, .. } => format!("private endpoint ({member})"),
            },
            modeled: e.address.ip.to_string(),
            real: env.fabric.https_addr(&e.address).to_string(),
        })
        .collect();
    let dns = env.fabric.dns_addr(&Modeled::azure_dns());
    let mut examples = Vec::new();
    if let Some(a) = addresses.iter().find(|a| a.vnet.is_some()) {
        let reg = registry_endpoints
            .first()
            .map(|r| format!("{}.azurecr.io", r.registry))
            .unwrap_or_else(|| "<registry>.azurecr.io".into());
        examples.push(format!(
            "dig @{} -p {} -b {} {reg}    # asked from {} in VNET {}",
            dns.ip(),
            dns.port(),
            a.real,
            a.modeled,
            a.vnet.as_deref().unwrap_or_default()
        ));
        examples.push(format!(
            "dig @{} -p {} {reg}    # asked from outside any VNET: the public view",
            dns.ip(),
            dns.port()
        ));
        for p in &proxies {
            examples.push(format!(
                "HTTPS_PROXY={} skopeo inspect --cert-dir {} docker://{reg}/app:v1    # from {}",
                p.url,
                cert_dir.display(),
                p.from
            ));
        }
    }
    Endpoints {
        arm_url: format!("{b}/"),
        identity_url: format!("{b}/"),
        tenant_id: cfg.tenant_id.clone(),
        subscription_id: cfg.subscription_id.clone(),
        client_id: cfg.client_id.clone(),
        client_secret: cfg.client_secret.clone(),
        object_id: cfg.object_id(),
        principals: cfg
            .principals
            .iter()
            .map(|p| PrincipalEntry {
                name: p.name.clone(),
                client_id: p.client_id.clone(),
                client_secret: p.secret.clone(),
                object_id: p.object_id(),
            })
            .collect(),
        ca_cert: ca.to_path_buf(),
        pid: std::process::id(),
        az_setup: vec![
            format!("export REQUESTS_CA_BUNDLE={ca_s}"),
            "export AZURE_CORE_INSTANCE_DISCOVERY=false AZURE_CORE_COLLECT_TELEMETRY=false".into(),
            format!(
                "az cloud register -n pullsim --endpoint-resource-manager {b}/ --suffix-acr-login-server-endpoint .azurecr.io"
            ),
            "az cloud set -n pullsim".into(),
            format!(
                "az login --service-principal -u {} -p {} --tenant {}",
                cfg.client_id, cfg.client_secret, cfg.tenant_id
            ),
        ],
        dns: dns.to_string(),
        rules: epoch.to_string(),
        addresses,
        registry_endpoints,
        proxies,
        cert_dir: cert_dir.to_path_buf(),
        examples,
    }
}

fn print_banner(e: &Endpoints) {
    println!("pullsim fake Azure is ready (pid {}, rules {})", e.pid, e.rules);
    println!("  ARM        {}", e.arm_url);
    println!("  identity   {}{}", e.identity_url, e.tenant_id);
    println!("  CA         {}", e.ca_cert.display());
    println!("  Azure DNS  168.63.129.16 = {} (the view depends on the source address)", e.dns);
    println!("  tenant     {}", e.tenant_id);
    println!("  subscription {}", e.subscription_id);
    if !e.registry_endpoints.is_empty() {
        println!();
        println!("Registry endpoints:");
        for r in &e.registry_endpoints {
            println!("  {:<16} {:<36} {} = {}", r.registry, r.kind, r.modeled, r.real);
        }
    }
    if !e.addresses.is_empty() {
        println!();
        println!("Modeled addresses (use the real one as `dig -b` source):");
        for a in &e.addresses {
            println!("  {:<16} {:<12} = {}", a.modeled, a.vnet.as_deref().unwrap_or("public"), a.real);
        }
    }
    println!();
    println!("Use it with the Azure CLI:");
    for l in &e.az_setup {
        println!("  {l}");
    }
    for p in &e.principals {
        println!(
            "  # or as {}: az login --service-principal -u {} -p {} --tenant {}   (object id {}, no role until one is assigned)",
            p.name, p.client_id, p.client_secret, e.tenant_id, p.object_id
        );
    }
    if !e.proxies.is_empty() {
        println!();
        println!("Vantage points for skopeo, docker, curl (HTTPS_PROXY; CA in {}):", e.cert_dir.display());
        for p in &e.proxies {
            println!("  {:<24} from {:<14} {}", p.from, p.modeled, p.url);
        }
    }
    if !e.examples.is_empty() {
        println!();
        println!("Try:");
        for l in &e.examples {
            println!("  {l}");
        }
    }
    println!();
    println!(
        "`az webapp restart` makes the worker pull; `az rest --method post --url <site id>/containerlogs?api-version=2024-11-01` shows its log."
    );
    println!("Ctrl-C stops it.");
}
