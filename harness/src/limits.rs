//! The flags of `pullsim serve` that bound what clients may hold: connections, time,
//! blob sizes, upload sessions (defaults in `mock_azure::listen` and `mock_azure::acr`).

use std::time::Duration;

use mock_azure::acr::UploadLimits;
use mock_azure::listen::Limits;

/// Limits of `pullsim serve`, flattened into its options.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// Connections open at once on each listener (ARM, each ACR endpoint, Azure DNS over
    /// TCP, each proxy); more wait in the kernel's backlog.
    #[arg(long, value_name = "N", default_value_t = mock_azure::listen::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Seconds a TLS handshake may take.
    #[arg(long, value_name = "SECS", default_value_t = mock_azure::listen::HANDSHAKE_TIMEOUT.as_secs())]
    pub handshake_timeout: u64,
    /// Seconds a request's headers may take once the server waits for them; a kept-alive
    /// connection idle that long is closed.
    #[arg(long, value_name = "SECS", default_value_t = mock_azure::listen::HEADER_TIMEOUT.as_secs())]
    pub header_timeout: u64,
    /// Largest blob the ACR takes (default: 200 GiB with --state-dir, ACR's per-layer
    /// limit; 2 GiB in memory).
    #[arg(long, value_name = "BYTES")]
    pub max_blob_size: Option<u64>,
    /// Seconds an upload session may stay untouched before it is dropped with what it
    /// staged (the client then gets BLOB_UPLOAD_UNKNOWN).
    #[arg(long, value_name = "SECS", default_value_t = mock_azure::acr::UPLOAD_IDLE.as_secs())]
    pub upload_idle_timeout: u64,
}

impl LimitArgs {
    /// The listener limits.
    pub fn listen(&self) -> Limits {
        Limits {
            max_connections: self.max_connections.max(1),
            handshake_timeout: Duration::from_secs(self.handshake_timeout.max(1)),
            header_timeout: Duration::from_secs(self.header_timeout.max(1)),
        }
    }

    /// The ACR's upload limits.
    pub fn uploads(&self) -> UploadLimits {
        UploadLimits {
            max_blob: self.max_blob_size,
            session_idle: Duration::from_secs(self.upload_idle_timeout.max(1)),
        }
    }
}
