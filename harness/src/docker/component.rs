//! What runs inside a container: `pullsim component arm|azure-dns|acr|worker|dns|dig …`
//! (hidden from `--help`; the services are in [`super::services`]).
//! A container gets its configuration from arguments and from files the host uploads
//! before starting it (`/state/journal.jsonl`: the store; `/state/map.json`: the address
//! map), never from the host's network or resolver.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use hickory_proto::op::{Message, MessageType, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use mock_azure::dns::{AzureDns, DnsServer, Role};
use mock_azure::model::Store;
use mock_azure::netplan::{AddressMap, Fabric};
use tokio::net::{TcpListener, UdpSocket};

use super::net::{DockerMap, Entry};

/// The line a component prints on stdout once it serves (the host waits for it).
pub const READY: &str = "pullsim component ready";

/// A component to run in this container.
#[derive(Debug, clap::Subcommand)]
pub enum Component {
    /// Azure DNS over the store in `--state`, on port 53 of every interface: the view a
    /// query gets depends on its source address, through the address map.
    Dns {
        /// Directory holding `journal.jsonl` (the store).
        #[arg(long, default_value = "/state")]
        state: PathBuf,
        /// The address map (a JSON list of `{vnet, ip, real}`).
        #[arg(long, default_value = "/state/map.json")]
        map: PathBuf,
        /// UDP and TCP port.
        #[arg(long, default_value_t = 53)]
        port: u16,
    },
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
    /// The ACR's endpoints, following the store in `--state`.
    Acr {
        /// The state directory.
        #[arg(long, default_value = super::services::STATE)]
        state: PathBuf,
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
        Component::Dns { state, map, port } => dns(state, map, port).await.map(|()| 0),
        Component::Arm { state } => super::services::arm(state).await.map(|()| 0),
        Component::AzureDns { state } => super::services::azure_dns(state).await.map(|()| 0),
        Component::Acr { state } => super::services::acr(state).await.map(|()| 0),
        Component::Worker { state, arm } => super::services::worker(state, arm).await.map(|()| 0),
        Component::Dig { server, port, name } => {
            let answer = dig(SocketAddr::new(server, port), &name).await?;
            print!("{answer}");
            Ok(0)
        }
    }
}

async fn dns(state: PathBuf, map: PathBuf, port: u16) -> anyhow::Result<()> {
    let store = Store::open(&state).with_context(|| format!("opening the store in {}", state.display()))?;
    let text = std::fs::read_to_string(&map).with_context(|| format!("reading {}", map.display()))?;
    let entries: Vec<Entry> = serde_json::from_str(&text).with_context(|| format!("parsing {}", map.display()))?;
    let map = Arc::new(DockerMap::from_entries(&entries));
    let fabric = Fabric { map: map as Arc<dyn AddressMap>, dns_port: port, https_port: 443 };
    let dns = Arc::new(AzureDns::new(store, fabric));
    let addr = SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
    let udp = UdpSocket::bind(addr).await.with_context(|| format!("binding UDP {addr}"))?;
    let tcp = TcpListener::bind(addr).await.with_context(|| format!("binding TCP {addr}"))?;
    let server = DnsServer::new(dns);
    server.add(Role::AzureDns, udp, tcp).context("serving Azure DNS")?;
    println!("{READY}");
    server.run(terminated()).await.context("serving DNS")?;
    Ok(())
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

/// Asks `server` for the A records of `name` over UDP (three tries, 2 s each); returns
/// `dig +short`'s output, or `status: NXDOMAIN` and the like.
pub async fn dig(server: SocketAddr, name: &str) -> anyhow::Result<String> {
    let qname = Name::from_str(name).with_context(|| format!("{name:?} is not a DNS name"))?;
    let mut msg = Message::query();
    msg.metadata.recursion_desired = true;
    let id = msg.metadata.id;
    msg.add_query(Query::query(qname, RecordType::A));
    let bytes = msg.to_vec().context("encoding the query")?;
    let sock = UdpSocket::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))).await.context("binding UDP")?;
    let mut buf = vec![0u8; 4096];
    for _ in 0..3 {
        sock.send_to(&bytes, server).await.with_context(|| format!("sending to {server}"))?;
        let Ok(got) = tokio::time::timeout(Duration::from_secs(2), sock.recv_from(&mut buf)).await else {
            continue;
        };
        let (n, _) = got.with_context(|| format!("receiving from {server}"))?;
        let answer = Message::from_vec(&buf[..n]).context("decoding the answer")?;
        if answer.metadata.id != id || answer.metadata.message_type != MessageType::Response {
            continue;
        }
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
