//! The query log: who asked what, on which server, which view answered, and what came
//! back. A bounded ring in memory (the newest entries win), read by traces and by
//! `pullsim serve`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hickory_proto::rr::RecordType;
use hickory_server::net::xfer::Protocol;
use serde_json::{Value, json};

use super::resolve::{Resolution, View, rcode_name, summarize};
use super::role::Role;
use crate::netplan::Modeled;

/// Entries kept by default: enough for every query of a long interactive session, small
/// enough (a few MB) to keep in memory.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// One answered (or deliberately unanswered) query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Position in the log since the server started (1, 2, …): orders entries
    /// deterministically where wall-clock times would not.
    pub seq: u64,
    /// Milliseconds since the DNS service was created.
    pub elapsed_ms: u64,
    /// The server that was asked.
    pub role: Role,
    /// `udp` or `tcp`.
    pub protocol: String,
    /// Real source address and port.
    pub source: SocketAddr,
    /// The modeled address the source stands for, if it is one.
    pub source_modeled: Option<Modeled>,
    /// The view Azure DNS answered from (`None` for a custom server, which forwards).
    pub view: Option<View>,
    /// Question name (lower-case, no trailing dot).
    pub qname: String,
    /// Question type.
    pub qtype: String,
    /// Response code as `dig` prints it; `None` when no answer was sent (no custom server
    /// is defined at the address asked).
    pub rcode: Option<String>,
    /// The answer section, one `name TYPE data` per record.
    pub answers: Vec<String>,
    /// Where each name was answered from (zones, views, forwards), in order.
    pub notes: Vec<String>,
}

impl LogEntry {
    /// The entry as JSON (stable field names, for `serve` and reports).
    pub fn to_json(&self) -> Value {
        json!({
            "seq": self.seq,
            "elapsed_ms": self.elapsed_ms,
            "server": self.role.to_string(),
            "server_vnet": match &self.role { Role::Custom(m) => json!(m.vnet), Role::AzureDns | Role::PublicResolver(_) => Value::Null },
            "protocol": self.protocol,
            "source": self.source.to_string(),
            "source_modeled": self.source_modeled.as_ref().map(|m| m.ip.to_string()),
            "source_vnet": self.source_modeled.as_ref().and_then(|m| m.vnet.clone()),
            "view": self.view.as_ref().map(ToString::to_string),
            "qname": self.qname,
            "qtype": self.qtype,
            "rcode": self.rcode,
            "answers": self.answers,
            "notes": self.notes,
        })
    }
}

/// An entry as the server records it: the answer shared with the reply, formatted into a
/// [`LogEntry`] only when the log is read (formatting every answer cost a tenth of the
/// server's time under load; issue 8).
#[derive(Debug)]
pub(crate) struct Raw {
    pub elapsed_ms: u64,
    pub role: Role,
    pub protocol: Protocol,
    pub source: SocketAddr,
    pub source_modeled: Option<Modeled>,
    pub view: Option<View>,
    pub qname: String,
    pub qtype: RecordType,
    /// The reply; `None` when none was sent.
    pub reply: Option<Arc<Resolution>>,
}

impl Raw {
    fn entry(&self, seq: u64) -> LogEntry {
        LogEntry {
            seq,
            elapsed_ms: self.elapsed_ms,
            role: self.role.clone(),
            protocol: match self.protocol {
                Protocol::Udp => "udp".into(),
                Protocol::Tcp => "tcp".into(),
                other => other.to_string(),
            },
            source: self.source,
            source_modeled: self.source_modeled.clone(),
            view: self.view.clone(),
            qname: self.qname.clone(),
            qtype: self.qtype.to_string(),
            rcode: self.reply.as_ref().map(|r| rcode_name(r.rcode)),
            answers: self.reply.as_ref().map(|r| r.answers.iter().map(summarize).collect()).unwrap_or_default(),
            notes: self.reply.as_ref().map(|r| r.sources.clone()).unwrap_or_default(),
        }
    }
}

#[derive(Debug)]
enum Item {
    Entry(LogEntry),
    Raw(u64, Raw),
}

impl Item {
    fn seq(&self) -> u64 {
        match self {
            Item::Entry(e) => e.seq,
            Item::Raw(seq, _) => *seq,
        }
    }

    fn entry(&self) -> LogEntry {
        match self {
            Item::Entry(e) => e.clone(),
            Item::Raw(seq, r) => r.entry(*seq),
        }
    }
}

/// A bounded ring of [`LogEntry`].
#[derive(Debug)]
pub struct QueryLog {
    capacity: usize,
    // A std Mutex: pushes and copies are short and never cross an await.
    inner: Mutex<Ring>,
}

#[derive(Debug, Default)]
struct Ring {
    entries: VecDeque<Item>,
    next_seq: u64,
}

impl QueryLog {
    /// An empty log keeping at most `capacity` entries (at least one).
    pub fn new(capacity: usize) -> QueryLog {
        QueryLog { capacity: capacity.max(1), inner: Mutex::new(Ring { entries: VecDeque::new(), next_seq: 1 }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        // A panic elsewhere while holding the lock leaves a consistent ring.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends an entry, numbering it; drops the oldest past the capacity.
    pub fn push(&self, mut entry: LogEntry) {
        self.push_item(|seq| {
            entry.seq = seq;
            Item::Entry(entry)
        });
    }

    /// Appends what the server recorded, formatted when read.
    pub(crate) fn push_raw(&self, raw: Raw) {
        self.push_item(|seq| Item::Raw(seq, raw));
    }

    fn push_item(&self, item: impl FnOnce(u64) -> Item) {
        let mut ring = self.lock();
        let seq = ring.next_seq;
        ring.next_seq += 1;
        if ring.entries.len() >= self.capacity {
            ring.entries.pop_front();
        }
        ring.entries.push_back(item(seq));
    }

    /// Every entry kept, oldest first.
    pub fn entries(&self) -> Vec<LogEntry> {
        self.lock().entries.iter().map(Item::entry).collect()
    }

    /// Entries with a sequence number above `seq`, oldest first.
    pub fn since(&self, seq: u64) -> Vec<LogEntry> {
        self.lock().entries.iter().filter(|e| e.seq() > seq).map(Item::entry).collect()
    }

    /// The sequence number the next entry will get, minus one (0 when empty): pass it to
    /// [`QueryLog::since`] later to get what was logged in between.
    pub fn last_seq(&self) -> u64 {
        self.lock().next_seq - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(q: &str) -> LogEntry {
        LogEntry {
            seq: 0,
            elapsed_ms: 0,
            role: Role::AzureDns,
            protocol: "udp".into(),
            source: SocketAddr::from(([127, 0, 0, 1], 5353)),
            source_modeled: None,
            view: Some(View::Public),
            qname: q.into(),
            qtype: "A".into(),
            rcode: Some("NOERROR".into()),
            answers: vec![],
            notes: vec![],
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_entries_in_order() {
        let log = QueryLog::new(2);
        for q in ["a", "b", "c"] {
            log.push(entry(q));
        }
        let kept: Vec<(u64, String)> = log.entries().into_iter().map(|e| (e.seq, e.qname)).collect();
        assert_eq!(kept, [(2, "b".to_string()), (3, "c".to_string())]);
        assert_eq!(log.since(2).len(), 1);
        assert_eq!(log.last_seq(), 3);
        assert_eq!(log.entries()[0].to_json()["view"], "public");
    }
}
