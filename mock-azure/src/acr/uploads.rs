//! Upload sessions of the distribution API: what one holds, how long it may stay idle, and
//! the bounds on what uploads may hold. The handlers in [`super::api`] use them; the
//! [`super::Acr`] keeps the table.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::storage::{Repo, Staging};

/// Upload sessions idle for longer are dropped, their staged bytes with them (the
/// distribution registry purges uploads after a week; ACR's period is not documented).
pub const UPLOAD_IDLE: Duration = Duration::from_secs(3600);

/// Bounds on what uploads may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// The largest blob (413 `SIZE_INVALID` beyond); `None`: the store's own
    /// ([`BlobStore::max_blob_size`](super::BlobStore::max_blob_size)). The lower of the two holds.
    pub max_blob: Option<u64>,
    /// An upload session untouched this long is dropped, and its bytes with it; the
    /// client then gets `BLOB_UPLOAD_UNKNOWN`.
    pub session_idle: Duration,
}

impl Default for UploadLimits {
    fn default() -> Self {
        UploadLimits { max_blob: None, session_idle: UPLOAD_IDLE }
    }
}

/// An upload in progress.
pub(crate) struct Session {
    pub(crate) repo: Repo,
    pub(crate) staging: Option<Box<dyn Staging>>,
    pub(crate) last_used: Instant,
}

/// Upload sessions by ID.
pub(crate) type Sessions = std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<Session>>>>;

/// A random identifier (upload sessions).
pub(crate) fn random_id() -> String {
    let mut b = [0u8; 16];
    // The OS RNG does not fail on supported platforms; a zero ID would still be unique
    // enough for the one process that hit that.
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    crate::model::net::uuid_text(&b)
}
