//! What ends a pull that is not a modeled outcome: a fault of pullsim itself (a
//! component down or misconfigured), with the error that caused it.

use crate::acr::oci::ManifestError;
use crate::dns::client::ResolveError;
use crate::httpc::HttpError;
use crate::netplan::Modeled;

/// A pullsim component failed; not an outcome of the modeled pull.
#[derive(Debug, thiserror::Error)]
pub enum InfraError {
    /// ARM could not be reached or the request failed on the way.
    #[error("{what} through ARM at {addr}: {source}")]
    ArmUnreachable {
        /// What was being done.
        what: String,
        /// ARM's address.
        addr: std::net::SocketAddr,
        /// What failed.
        source: HttpError,
    },
    /// ARM answered a platform read with an error.
    #[error("reading the site through ARM: {method} {path}: {status} {body}")]
    ArmStatus {
        /// Method.
        method: String,
        /// Path.
        path: String,
        /// Status.
        status: u16,
        /// ARM's answer.
        body: String,
    },
    /// ARM's token endpoint gave no token to the platform.
    #[error("ARM's token endpoint answered {status} without a token")]
    NoArmToken {
        /// Status.
        status: u16,
    },
    /// The route could not be chosen from the site's platform data.
    #[error(transparent)]
    Route(#[from] super::route::RouteError),
    /// A DNS query could not be sent from the route's source.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// A modeled address has no real address to send from in this environment.
    #[error("the modeled address {modeled} has no local address here: {source}")]
    LocalAddress {
        /// The modeled address.
        modeled: Modeled,
        /// Why.
        source: std::io::Error,
    },
    /// A request to the registry failed below HTTP (after the connection was made).
    #[error("{what}: {source}")]
    Registry {
        /// The request.
        what: String,
        /// What failed.
        source: HttpError,
    },
    /// The registry answered with a status the platform does not expect.
    #[error("GET {url}: unexpected {status}: {answer}")]
    UnexpectedStatus {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// The registry's error (`CODE message`), or the status again.
        answer: String,
    },
    /// The registry redirected a blob download somewhere that is not HTTPS.
    #[error("the registry redirected to a non-https location {location}")]
    BadRedirect {
        /// The `Location` header.
        location: String,
    },
    /// The registry served a manifest that does not parse.
    #[error("the manifest at {url} does not parse: {source}")]
    BadManifest {
        /// The URL.
        url: String,
        /// Why.
        source: ManifestError,
    },
    /// Something the worker's caller did for the pull failed (binding the sockets the
    /// configuration needs); the caller's error, its causes kept.
    #[error("preparing the pull failed")]
    Setup(#[source] Box<dyn std::error::Error + Send + Sync>),
}
