//! The fake Azure DNS: 168.63.129.16 as each VNET sees it, the public side of Azure's
//! names, and the custom DNS servers a VNET can point at (issue 3, RULES.md C).
//!
//! pullsim is not a general resolver: it answers the names of Azure's namespaces
//! ([`names::AZURE_SUFFIXES`]) and of private DNS zones, and refuses everything else
//! (`REFUSED`), so a client that leaks a query to the internet learns it at once instead
//! of getting an answer pullsim made up.
//!
//! # Layout
//! - [`names`]: Azure's public namespaces, the names of the public chain, public TTLs.
//! - `snapshot`: the index of the store's DNS-relevant resources, rebuilt when the
//!   store's sequence number moves (the only cache, keyed by `store.seq()`).
//! - `resolve`: the views: a VNET's linked private zones first, then the public view.
//! - [`custom`]: custom DNS servers (`Pullsim.Dns/customServers` in the same store) and
//!   how they forward.
//! - `client`: one DNS query over UDP (TCP on truncation) from a given source, with a
//!   timeout; what a forwarding custom server sends.
//! - [`log`]: the bounded query log (who asked what, which view answered).
//! - [`server`]: the hickory `RequestHandler` per socket role and the server that serves
//!   sockets the caller bound, adding more while it runs.
//!
//! # How a query is answered
//! A socket has a [`Role`]. On the Azure DNS socket the query's *source address* picks
//! the view: the address map turns it into a modeled address; a VNET address gets that
//! VNET's view, anything else the public view. On a custom server's socket the server
//! looks itself up in the store and forwards (conditional forwarders first, then its
//! upstream) — to Azure DNS over a real query sent from its own real address, so Azure
//! DNS sees the custom server's VNET, exactly as hub-and-spoke DNS behaves in Azure.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;

use crate::model::{Store, StoreError};
use crate::netplan::{Fabric, Modeled};

mod client;
pub mod custom;
pub mod log;
pub mod names;
mod resolve;
pub mod server;
mod snapshot;

pub use custom::{
    CUSTOM_SERVER_TYPE, ConditionalForwarder, CustomServer, Upstream, custom_server_id, delete_custom_server,
    dns_servers_to_ask, list_custom_servers, locate_dns_server, put_custom_server,
};
pub use log::{LogEntry, QueryLog};
pub use resolve::{Resolution, rcode_name};
pub use server::{DnsHandle, DnsServer, serve};

use snapshot::Snapshot;

/// How long a custom server waits for the server it forwards to (RULES.md C gives the
/// App Service resolver 3 s per attempt; a forwarder answering within that is useful).
pub const DEFAULT_FORWARD_TIMEOUT: Duration = Duration::from_secs(2);

/// What a DNS socket is: the one Azure DNS service, or a custom DNS server at a modeled
/// address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Azure DNS (modeled address 168.63.129.16): one service whose answers depend on
    /// the VNET the query comes from.
    AzureDns,
    /// A custom DNS server (a VM or appliance in a VNET) at this modeled address; what it
    /// does is read from its `Pullsim.Dns/customServers` resource at query time.
    Custom(Modeled),
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Role::AzureDns => write!(f, "Azure DNS"),
            Role::Custom(m) => write!(f, "custom DNS {}", m.ip),
        }
    }
}

/// Which records a query sees.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum View {
    /// The internet's view: Azure's public records only.
    Public,
    /// A VNET's view: the private DNS zones linked to it, then the public view.
    Vnet {
        /// Lower-cased VNET ID.
        key: String,
        /// VNET name (for logs and traces).
        name: String,
    },
}

impl std::fmt::Display for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            View::Public => write!(f, "public"),
            View::Vnet { name, .. } => write!(f, "vnet {name}"),
        }
    }
}

/// Errors of the DNS component.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The store could not commit.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A custom server definition is not valid.
    #[error("custom DNS server {name}: {reason}")]
    InvalidCustomServer {
        /// Name of the custom server.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The VNET a custom server names does not exist.
    #[error("custom DNS server {name}: virtual network {vnet} not found")]
    VnetNotFound {
        /// Name of the custom server.
        name: String,
        /// The VNET ID as given.
        vnet: String,
    },
    /// Sockets were added to a server that has stopped.
    #[error("the DNS server has stopped; cannot serve {role} on {addr}")]
    Stopped {
        /// Role of the sockets.
        role: Role,
        /// Their local address (if known).
        addr: String,
    },
    /// A serving task failed (its socket closed under it).
    #[error("DNS server for {role} failed: {message}")]
    Serve {
        /// Role of the failed sockets.
        role: Role,
        /// What failed.
        message: String,
    },
}

/// The fake Azure DNS: the answers of every role, computed from the store when asked,
/// and the query log. Shared (`Arc`) by every socket's handler.
pub struct AzureDns {
    store: Store,
    fabric: Fabric,
    log: QueryLog,
    forward_timeout: Duration,
    // The one cache: an index of the store's DNS resources at a store sequence number.
    snapshot: Mutex<Option<Arc<Snapshot>>>,
    started: Instant,
}

impl AzureDns {
    /// Azure DNS over `store`, reaching other DNS servers through `fabric`.
    pub fn new(store: Store, fabric: Fabric) -> AzureDns {
        AzureDns {
            store,
            fabric,
            log: QueryLog::new(log::DEFAULT_CAPACITY),
            forward_timeout: DEFAULT_FORWARD_TIMEOUT,
            snapshot: Mutex::new(None),
            started: Instant::now(),
        }
    }

    /// Sets how long a custom server waits for each server it forwards to.
    pub fn with_forward_timeout(mut self, timeout: Duration) -> AzureDns {
        self.forward_timeout = timeout;
        self
    }

    /// Keeps at most `capacity` entries in the query log (default 10,000).
    pub fn with_log_capacity(mut self, capacity: usize) -> AzureDns {
        self.log = QueryLog::new(capacity);
        self
    }

    /// The store answers are computed from.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The fabric (address map and DNS port).
    pub fn fabric(&self) -> &Fabric {
        &self.fabric
    }

    /// Every query logged so far (oldest first, at most the log's capacity).
    pub fn query_log(&self) -> Vec<LogEntry> {
        self.log.entries()
    }

    /// Logged queries with a sequence number greater than `seq` (for a trace of one step).
    pub fn query_log_since(&self, seq: u64) -> Vec<LogEntry> {
        self.log.since(seq)
    }

    /// The sequence number of the last logged query (0 before the first): remember it
    /// before a step, then read [`AzureDns::query_log_since`] after it.
    pub fn query_log_seq(&self) -> u64 {
        self.log.last_seq()
    }

    /// The view Azure DNS gives a query from this real source address: the VNET of the
    /// modeled address it stands for, or the public view for public and unknown sources.
    pub fn view_of(&self, src: IpAddr) -> View {
        let snap = self.snapshot();
        view_for(&snap, self.fabric.map.modeled(src).as_ref())
    }

    /// Resolves a name in a view as Azure DNS does (no network): the same answer a query
    /// over a socket gets. `name` may end with a dot; case does not matter.
    pub fn resolve(&self, view: &View, name: &str, qtype: RecordType) -> Resolution {
        let snap = self.snapshot();
        let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
        resolve::resolve(&snap, view, &name, qtype)
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        // Read the sequence number before building: a commit racing the build makes the
        // next query rebuild instead of serving a stale index under a newer number.
        let seq = self.store.seq();
        {
            let guard = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(s) = guard.as_ref().filter(|s| s.seq == seq) {
                return s.clone();
            }
        }
        let built = Arc::new(Snapshot::build(&self.store, seq));
        *self.snapshot.lock().unwrap_or_else(|e| e.into_inner()) = Some(built.clone());
        built
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// The view for a modeled source: its VNET's if that VNET exists, else public.
fn view_for(snap: &Snapshot, source: Option<&Modeled>) -> View {
    match source.and_then(|m| m.vnet.as_ref()) {
        Some(key) => match snap.vnets.get(key) {
            Some(name) => View::Vnet { key: key.clone(), name: name.clone() },
            None => View::Public,
        },
        None => View::Public,
    }
}
