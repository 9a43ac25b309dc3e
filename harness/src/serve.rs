//! `pullsim serve`: the fake Azure on loopback for interactive use with real clients.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use mock_azure::arm::{Arm, ArmConfig};
use mock_azure::identity::TokenSigner;
use mock_azure::model::Store;
use mock_azure::tls::{Ca, write_atomic};
use serde::Serialize;
use tokio::net::TcpListener;

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
    /// PEM of pullsim's CA (point `REQUESTS_CA_BUNDLE` here).
    pub ca_cert: PathBuf,
    /// The process ID, so scripts can stop it.
    pub pid: u32,
    /// Shell lines to point the Azure CLI at this fake Azure.
    pub az_setup: Vec<String>,
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    if !args.bind.ip().is_loopback() && !args.allow_remote {
        bail!("refusing to listen on {} (not loopback); pass --allow-remote to do it anyway", args.bind);
    }
    // Without a state directory the CA lives in a temporary one, removed on exit.
    let temp = match &args.state_dir {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new().prefix("pullsim-serve-").tempdir().context("creating a temporary directory")?,
        ),
    };
    let dir: PathBuf = match (&args.state_dir, &temp) {
        (Some(d), _) => d.clone(),
        (None, Some(t)) => t.path().to_path_buf(),
        (None, None) => unreachable!("one of the two is set"),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let store = match &args.state_dir {
        Some(d) => Store::open(d).with_context(|| format!("opening the store in {}", d.display()))?,
        None => Store::in_memory(),
    };
    let ca = Ca::load_or_generate(&dir).context("preparing the CA")?;
    let signer = load_signer(&dir)?;
    let listener = TcpListener::bind(args.bind).await.with_context(|| format!("binding {}", args.bind))?;
    let addr = listener.local_addr()?;
    let base = format!("https://{}", addr);
    let mut ips: Vec<IpAddr> = vec!["127.0.0.1".parse()?];
    if !ips.contains(&addr.ip()) {
        ips.push(addr.ip());
    }
    let tls =
        ca.server_config(&["localhost", "management.pullsim.local"], &ips).context("issuing the ARM certificate")?;
    let cfg = ArmConfig::new(base.clone());
    let endpoints = endpoints(&cfg, &dir.join("ca.pem"));
    let arm = Arc::new(Arm::new(store, Arc::new(signer), cfg));

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
    mock_azure::arm::serve(listener, tls, arm, shutdown_signal()).await;
    if let Some(path) = &args.ready_file {
        let _ = std::fs::remove_file(path);
    }
    drop(temp);
    Ok(())
}

/// The token signer kept in `dir` (generated and written there the first time).
pub fn load_signer(dir: &Path) -> anyhow::Result<TokenSigner> {
    let path = dir.join("token-key.pk8");
    if let Ok(bytes) = std::fs::read(&path) {
        if let Some(s) = TokenSigner::from_pkcs8(&bytes) {
            return Ok(s);
        }
        tracing::warn!(path = %path.display(), "token key unreadable; generating a new one");
    }
    let s = TokenSigner::generate().map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
    write_atomic(&path, s.pkcs8()).with_context(|| format!("writing {}", path.display()))?;
    Ok(s)
}

fn endpoints(cfg: &ArmConfig, ca: &Path) -> Endpoints {
    let b = &cfg.base_url;
    let ca_s = ca.display();
    Endpoints {
        arm_url: format!("{b}/"),
        identity_url: format!("{b}/"),
        tenant_id: cfg.tenant_id.clone(),
        subscription_id: cfg.subscription_id.clone(),
        client_id: cfg.client_id.clone(),
        client_secret: cfg.client_secret.clone(),
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
    }
}

fn print_banner(e: &Endpoints) {
    println!("pullsim fake Azure is ready (pid {})", e.pid);
    println!("  ARM        {}", e.arm_url);
    println!("  identity   {}{}", e.identity_url, e.tenant_id);
    println!("  CA         {}", e.ca_cert.display());
    println!("  tenant     {}", e.tenant_id);
    println!("  subscription {}", e.subscription_id);
    println!();
    println!("Use it with the Azure CLI:");
    for l in &e.az_setup {
        println!("  {l}");
    }
    println!();
    println!("Ctrl-C stops it.");
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
