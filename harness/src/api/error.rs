//! [`Error`]: what went wrong, by operation, with the ids and Azure's words.

use std::path::PathBuf;

/// Why a [`crate::FakeAzure`] operation failed. A refusal by the modeled Azure while
/// building a topology is [`Error::Apply`] (with Azure's status, code and message); a
/// pull that fails is not an error at all, but a [`crate::Pull`] whose outcome says why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The fake Azure could not start (ports, keys, the Docker engine…).
    #[error("starting the fake Azure: {source}")]
    Start {
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A scenario or fixture file could not be read.
    #[error("reading {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A scenario is invalid: every problem, each with its `file:line:column`.
    #[error("invalid scenario:\n{rendered}")]
    InvalidScenario {
        /// The problems, rendered as `pullsim run` shows them (without colour).
        rendered: String,
    },
    /// A file holds a matrix (several scenarios); `apply` takes one.
    #[error("{} holds {count} scenarios (a matrix); apply takes one", .path.display())]
    Matrix {
        /// The file.
        path: PathBuf,
        /// How many scenarios it expands to.
        count: usize,
    },
    /// Building the topology stopped: Azure refused a request or an image, or a
    /// component failed. `status` and `code` are Azure's when Azure refused.
    #[error("applying {scenario}: {message}")]
    Apply {
        /// The scenario's name.
        scenario: String,
        /// The HTTP status Azure answered, when Azure refused.
        status: Option<u16>,
        /// Azure's error code (`DisablingPublicNetworkAccessNotSupported`), when it gave
        /// one.
        code: Option<String>,
        /// The whole story: what was being done, where in the file, Azure's message.
        message: String,
    },
    /// [`crate::FakeAzure::pull`] with no applied scenario naming a site.
    #[error("no site to pull: the applied scenario has no [site] (or nothing was applied)")]
    NoSite,
    /// The fake Azure could not carry out a request (not a refusal: a failure of the
    /// harness, such as a component that stopped).
    #[error("{operation}: {source}")]
    Backend {
        /// What was asked (`pulling`, `asking ARM`).
        operation: &'static str,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// What was asked is not available on this backend or with these options.
    #[error("{what}")]
    Unsupported {
        /// What, and why not.
        what: &'static str,
    },
}

impl Error {
    pub(crate) fn backend(operation: &'static str, e: crate::backend::BackendError) -> Error {
        Error::Backend { operation, source: Box::new(e) }
    }
}
