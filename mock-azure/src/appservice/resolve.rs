//! The worker's stub resolver: real queries through the one DNS client
//! ([`crate::dns::client`]), sent from the real address that stands for the route's
//! source, so the DNS server sees which VNET asks — as the App Service platform's
//! resolver does. The route's servers are asked in order; the next one only when one
//! does not answer (times out, or fails).

use std::net::Ipv4Addr;

pub use crate::dns::client::{Answer, ResolveError, STUB_TIMEOUT, query_a};

use super::error::InfraError;
use super::route::{Route, Server};
use crate::netplan::{Fabric, Modeled, Plan};

/// The server that had the last word, and what it said.
pub(crate) struct Asked {
    /// Its address as configured.
    pub server: Ipv4Addr,
    /// What that address stands for from the route's source.
    pub modeled: Modeled,
    /// Its answer.
    pub answer: Answer,
}

/// Asks the route's DNS servers for `host`, in order, until one answers.
pub(crate) async fn ask(fabric: &Fabric, plan: &Plan, route: &Route, host: &str) -> Result<Asked, InfraError> {
    let mut asked = ask_one(fabric, plan, route, &route.resolvers.primary, host).await?;
    for server in &route.resolvers.alternates {
        // A resolver moves on to the next server only when one does not answer.
        if !matches!(asked.answer, Answer::Timeout | Answer::Failed(_)) {
            break;
        }
        asked = ask_one(fabric, plan, route, server, host).await?;
    }
    Ok(asked)
}

async fn ask_one(
    fabric: &Fabric,
    plan: &Plan,
    route: &Route,
    server: &Server,
    host: &str,
) -> Result<Asked, InfraError> {
    let answer = if plan.reachable(&route.source, &server.modeled).is_err() {
        // An unreachable server never answers: the query times out (modeled, not waited for).
        Answer::Timeout
    } else {
        let src = fabric
            .map
            .local(&route.source)
            .map_err(|source| InfraError::LocalAddress { modeled: route.source.clone(), source })?;
        query_a(src, fabric.dns_addr_from(&route.source, &server.modeled), host).await?
    };
    Ok(Asked { server: server.modeled.ip, modeled: server.modeled.clone(), answer })
}
