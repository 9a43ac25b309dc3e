//! [`AzureDns`]: the state every DNS socket's handler shares — the store answers are
//! computed from, the fabric other servers are reached through, the query log, and how
//! long a forwarder waits.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;

use super::log::{self, LogEntry, QueryLog};
use super::resolve::{self, Resolution, View, view_for};
use super::snapshot::Snapshot;
use crate::model::Store;
use crate::netplan::Fabric;

/// How long a custom server waits for the server it forwards to (docs/azure.md C gives the
/// App Service resolver 3 s per attempt; a forwarder answering within that is useful).
pub const DEFAULT_FORWARD_TIMEOUT: Duration = Duration::from_secs(2);

/// The fake Azure DNS: the answers of every role, computed from the store when asked,
/// and the query log. Shared (`Arc`) by every socket's handler.
pub struct AzureDns {
    store: Store,
    fabric: Fabric,
    log: QueryLog,
    forward_timeout: Duration,
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
        view_for(&Snapshot::of(&self.store), self.fabric.map.modeled(src).as_ref())
    }

    /// Resolves a name in a view as Azure DNS does (no network): the same answer a query
    /// over a socket gets. `name` may end with a dot; case does not matter.
    pub fn resolve(&self, view: &View, name: &str, qtype: RecordType) -> Resolution {
        let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
        resolve::resolve(&Snapshot::of(&self.store), view, &name, qtype)
    }

    /// How long a custom server waits for each server it forwards to.
    pub fn forward_timeout(&self) -> Duration {
        self.forward_timeout
    }

    /// The query log (the server appends to it).
    pub(crate) fn log(&self) -> &QueryLog {
        &self.log
    }

    /// Milliseconds since the service was created.
    pub(crate) fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}
