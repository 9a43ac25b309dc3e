//! What runs inside a container: `pullsim component arm|azure-dns|acr|worker|dig …`
//! (hidden from `--help`; the services are in [`super::services`]). A container gets its
//! configuration from arguments and from the state directory the host mounts (the store's
//! journal, the CA, the token key, the network layout), never from the host's network or
//! resolver.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use hickory_proto::rr::{Name, RData, RecordType};
use mock_azure::dns::client;

/// The line a component prints on stdout once it serves (the host waits for it).
pub const READY: &str = "pullsim component ready";

/// A component to run in this container.
#[derive(Debug, clap::Subcommand)]
pub enum Component {
    /// ARM over the store in `--state` (it writes the journal the others follow).
    Arm {
        /// The state directory.
        #[arg(long, default_value = super::services::STATE)]
        state: PathBuf,
    },
    /// Azure DNS and the custom DNS servers, following the store in `--state`.
    AzureDns {
        /// The state directory.
        #[arg(long, default_value = super::services::STATE)]
        state: PathBuf,
    },
    /// The ACR's endpoints, following the store in `--state`, its images in the CNCF
    /// registry at `--registry`.
    Acr {
        /// The state directory.
        #[arg(long, default_value = super::services::STATE)]
        state: PathBuf,
        /// The registry's address (port 5000, plain HTTP).
        #[arg(long)]
        registry: Ipv4Addr,
    },
    /// The App Service worker, reading sites through ARM at `--arm`.
    Worker {
        /// The state directory.
        #[arg(long, default_value = super::services::STATE)]
        state: PathBuf,
        /// ARM's address.
        #[arg(long)]
        arm: Ipv4Addr,
    },
    /// The app container's process: reports its environment and the registry's address
    /// as the VNET resolves it, then idles.
    App {
        /// Azure DNS on the app's network.
        #[arg(long)]
        dns: Ipv4Addr,
        /// The registry's login server.
        #[arg(long)]
        registry: String,
    },
    /// Prints that it is ready and waits for SIGTERM (a debug container's main process).
    Idle,
    /// Points this container's resolver at one server (rewrites `/etc/resolv.conf`).
    ResolvConf {
        /// The server's address.
        #[arg(long)]
        nameserver: Ipv4Addr,
    },
    /// One A query, as `dig +short` prints it: one address per line, or `status: CODE`
    /// when the answer is not NOERROR.
    Dig {
        /// The DNS server's address.
        #[arg(long)]
        server: IpAddr,
        /// Its port.
        #[arg(long, default_value_t = 53)]
        port: u16,
        /// The name to ask for.
        name: String,
    },
}

/// Runs a component until it is done (`dig`) or until SIGTERM / Ctrl-C (servers).
pub async fn run(c: Component) -> anyhow::Result<u8> {
    match c {
        Component::App { dns, registry } => super::app::run_app(dns, &registry).await,
        Component::Idle => {
            println!("{READY}");
            terminated().await;
            Ok(0)
        }
        Component::ResolvConf { nameserver } => {
            std::fs::write("/etc/resolv.conf", format!("nameserver {nameserver}\n"))
                .context("writing /etc/resolv.conf")?;
            Ok(0)
        }
        Component::Arm { state } => super::services::arm(state).await.map(|()| 0),
        Component::AzureDns { state } => super::services::azure_dns(state).await.map(|()| 0),
        Component::Acr { state, registry } => super::services::acr(state, registry).await.map(|()| 0),
        Component::Worker { state, arm } => super::services::worker(state, arm).await.map(|()| 0),
        Component::Dig { server, port, name } => {
            let answer = dig(SocketAddr::new(server, port), &name).await?;
            print!("{answer}");
            Ok(0)
        }
    }
}

/// Completes on SIGTERM (what `docker stop` sends; PID 1 ignores it unless handled) or
/// Ctrl-C.
pub(crate) async fn terminated() {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
}

/// Asks `server` for the A records of `name` with pullsim's DNS client (UDP, TCP when
/// truncated; three tries, 2 s each); returns `dig +short`'s output, or `status:
/// NXDOMAIN` and the like.
pub async fn dig(server: SocketAddr, name: &str) -> anyhow::Result<String> {
    let qname = Name::from_str(name).with_context(|| format!("{name:?} is not a DNS name"))?;
    let from = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    for _ in 0..3 {
        let answer = match client::query(from, server, &qname, RecordType::A, Duration::from_secs(2)).await {
            Ok(a) => a,
            Err(client::QueryError::Timeout { .. }) => continue,
            Err(e) => return Err(e).with_context(|| format!("asking {server}")),
        };
        let code = answer.metadata.response_code;
        if code != hickory_proto::op::ResponseCode::NoError {
            return Ok(format!("status: {code}\n"));
        }
        let mut out = String::new();
        for r in &answer.answers {
            if let RData::A(a) = &r.data {
                out.push_str(&format!("{}\n", a.0));
            }
        }
        return Ok(out);
    }
    bail!("no answer from {server} within 3 tries of 2 s")
}
