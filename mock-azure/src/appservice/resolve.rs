//! The worker's stub resolver: real queries through the one DNS client
//! ([`crate::dns::client`]), sent from the real address that stands for the route's
//! source, so the DNS server sees which VNET asks — as the App Service platform's
//! resolver does.

pub use crate::dns::client::{Answer, ResolveError, STUB_TIMEOUT, query_a};
