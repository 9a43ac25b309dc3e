//! The docker backend's container side: `pullsim component arm|azure-dns|acr|worker|app|
//! dig …` (hidden from `--help`). A container gets its configuration from arguments and
//! from the state directory the host mounts (the store's journal, the CA, the token key,
//! the network layout: [`crate::docker::protocol`]), never from the host's network or
//! resolver, and stops on SIGTERM (`docker stop`) through [`crate::shutdown`].
//!
//! # Layout
//! - [`services`]: ARM, Azure DNS, the ACR and the worker as container processes, each
//!   answering the host's control channel.
//! - [`addresses`]: the address plan, configuring this container's interfaces.
//! - [`app`]: the app container's stand-in process.
//! - [`dig`]: one A query, as `dig +short` prints it.

pub mod addresses;
pub mod app;
pub mod dig;
pub mod services;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;

use crate::docker::protocol::state::{READY, STATE};

/// A component to run in this container.
#[derive(Debug, clap::Subcommand)]
pub enum Component {
    /// ARM over the store in `--state` (it writes the journal the others follow).
    Arm {
        /// The state directory.
        #[arg(long, default_value = STATE)]
        state: PathBuf,
    },
    /// Azure DNS and the custom DNS servers, following the store in `--state`.
    AzureDns {
        /// The state directory.
        #[arg(long, default_value = STATE)]
        state: PathBuf,
    },
    /// The ACR's endpoints, following the store in `--state`, its images in the CNCF
    /// registry at `--registry`.
    Acr {
        /// The state directory.
        #[arg(long, default_value = STATE)]
        state: PathBuf,
        /// The registry's address (port 5000, plain HTTP).
        #[arg(long)]
        registry: Ipv4Addr,
    },
    /// The App Service worker, reading sites through ARM at `--arm`.
    Worker {
        /// The state directory.
        #[arg(long, default_value = STATE)]
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
    let stop = crate::shutdown::on_signals();
    match c {
        Component::App { dns, registry } => app::run(dns, &registry, stop).await,
        Component::Idle => {
            println!("{READY}");
            stop.cancelled().await;
            Ok(0)
        }
        Component::ResolvConf { nameserver } => {
            std::fs::write("/etc/resolv.conf", format!("nameserver {nameserver}\n"))
                .context("writing /etc/resolv.conf")?;
            Ok(0)
        }
        Component::Arm { state } => services::arm(state, stop).await.map(|()| 0),
        Component::AzureDns { state } => services::azure_dns(state, stop).await.map(|()| 0),
        Component::Acr { state, registry } => services::acr(state, registry, stop).await.map(|()| 0),
        Component::Worker { state, arm } => services::worker(state, arm, stop).await.map(|()| 0),
        Component::Dig { server, port, name } => {
            let answer = dig::a_records(SocketAddr::new(server, port), &name).await?;
            print!("{answer}");
            Ok(0)
        }
    }
}
