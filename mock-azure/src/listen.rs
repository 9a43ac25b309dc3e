//! Accepting connections under limits: the one accept loop of every TCP listener of the
//! fake Azure (ARM and the platform's MSI endpoint it serves, the ACR's endpoints, Azure
//! DNS over TCP, the vantage-point CONNECT proxies), so no client can starve the process.
//!
//! - **A cap per listener.** A connection holds a slot of its listener until it closes;
//!   with every slot taken the listener stops accepting, and new connections wait in the
//!   kernel's backlog (or are refused by it when that is full) until one closes. The
//!   default leaves most of the process's file descriptors to everything else.
//! - **Timeouts.** A TLS handshake must finish within [`Limits::handshake_timeout`]; a
//!   request's headers must arrive within [`Limits::header_timeout`] of the server being
//!   ready for them — after the handshake, and again after each answer on a kept-alive
//!   connection, so a connection idle that long is closed.
//! - **No spinning.** When `accept` fails because descriptors or memory ran out
//!   (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`), the loop waits before trying again,
//!   doubling the wait from 10 ms up to 1 s, instead of failing again at once forever.
//! - **Descriptors.** [`raise_fd_limit`] lifts the soft `RLIMIT_NOFILE` to the hard limit
//!   at start (commonly 1,024 soft for a much higher hard limit).

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Concurrent connections per listener by default.
pub const MAX_CONNECTIONS: usize = 4096;
/// A TLS handshake not finished by then is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A request's headers (the first, or the next on a kept-alive connection) not complete by
/// then end the connection.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// The first and the longest wait after an `accept` that failed for lack of resources.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(1));

/// Limits of one server's listeners (`pullsim serve --max-connections …` sets them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once on one listener; further ones wait in the backlog.
    pub max_connections: usize,
    /// Time allowed for a TLS handshake.
    pub handshake_timeout: Duration,
    /// Time allowed for a request's headers once the server waits for them (also the
    /// keep-alive idle timeout).
    pub header_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: MAX_CONNECTIONS,
            handshake_timeout: HANDSHAKE_TIMEOUT,
            header_timeout: HEADER_TIMEOUT,
        }
    }
}

/// A connection's place under its listener's cap, given back when dropped (keep it as
/// long as the connection is open).
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
}

/// A listener and its cap.
#[derive(Debug)]
pub struct Acceptor {
    listener: TcpListener,
    slots: Arc<Semaphore>,
    what: &'static str,
}

impl Acceptor {
    /// Accepts on `listener` at most `limits.max_connections` at a time; `what` names the
    /// server in logs (`ARM`, `ACR`, `proxy`…).
    pub fn new(listener: TcpListener, limits: &Limits, what: &'static str) -> Acceptor {
        Acceptor { listener, slots: Arc::new(Semaphore::new(limits.max_connections.max(1))), what }
    }

    /// The listener's address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The next connection, once a slot is free. Never returns an error: a failed
    /// `accept` is retried (after a growing pause when resources ran out).
    pub async fn accept(&self) -> (TcpStream, SocketAddr, Slot) {
        // The semaphore is never closed, so acquiring cannot fail; the loop keeps the
        // type honest without an unwrap.
        let permit = loop {
            if let Ok(p) = self.slots.clone().acquire_owned().await {
                break p;
            }
        };
        let mut pause = BACKOFF.0;
        loop {
            match self.listener.accept().await {
                Ok((tcp, peer)) => return (tcp, peer, Slot { _permit: permit }),
                Err(e) if out_of_resources(&e) => {
                    tracing::warn!(server = self.what, error = %e, pause_ms = pause.as_millis() as u64, "accept failed: out of resources; pausing");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(BACKOFF.1);
                }
                // A connection reset before it was accepted and the like: that one is
                // gone, the next may be fine.
                Err(e) => tracing::debug!(server = self.what, error = %e, "accept failed"),
            }
        }
    }
}

/// Whether an `accept` error means the process or system ran out of something that only
/// time (connections closing) gives back.
fn out_of_resources(e: &std::io::Error) -> bool {
    // EMFILE, ENFILE, ENOBUFS, ENOMEM on Linux.
    matches!(e.raw_os_error(), Some(24 | 23 | 105 | 12)) || e.kind() == ErrorKind::OutOfMemory
}

/// Raises the soft limit on open files to the hard limit; returns the limit now in force.
pub fn raise_fd_limit() -> std::io::Result<u64> {
    let (soft, hard) = rlimit::Resource::NOFILE.get()?;
    if soft < hard {
        rlimit::Resource::NOFILE.set(hard, hard)?;
        tracing::debug!(from = soft, to = hard, "raised the open-file limit");
    }
    Ok(rlimit::Resource::NOFILE.get()?.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_listener_waits_for_a_slot_and_serves_the_next_connection_when_one_frees() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let acc = Acceptor::new(l, &Limits { max_connections: 1, ..Limits::default() }, "test");
        let _a = TcpStream::connect(addr).await.unwrap();
        let (_, _, slot) = acc.accept().await;
        let _b = TcpStream::connect(addr).await.unwrap();
        let waiting = tokio::time::timeout(Duration::from_millis(200), acc.accept()).await;
        assert!(waiting.is_err(), "no second slot while the first is held");
        drop(slot);
        tokio::time::timeout(Duration::from_secs(5), acc.accept()).await.unwrap();
    }

    #[test]
    fn only_resource_exhaustion_pauses_the_loop() {
        assert!(out_of_resources(&std::io::Error::from_raw_os_error(24)));
        assert!(out_of_resources(&std::io::Error::from_raw_os_error(23)));
        assert!(!out_of_resources(&std::io::Error::from_raw_os_error(103)), "ECONNABORTED");
    }

    #[test]
    fn the_soft_open_file_limit_is_raised_to_the_hard_one() {
        let limit = raise_fd_limit().unwrap();
        assert_eq!(limit, rlimit::Resource::NOFILE.get().unwrap().1);
    }
}
