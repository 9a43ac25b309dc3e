//! The app container's process: pullsim's generated images hold files but no program,
//! so the platform image the pulled layers are committed onto runs `pullsim component
//! app`. It reports what App Service's app would see — its environment (never the
//! registry's credentials) and the registry's address through the VNET's resolver — and
//! idles like a web app until the next scenario.

use std::net::Ipv4Addr;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::docker::protocol::state::{APP_READY, withheld};

/// `pullsim component app`: what runs as the app — checks its environment, looks the
/// registry up through the VNET's resolver, reports, and idles until stopped.
pub async fn run(dns: Ipv4Addr, registry: &str, stop: CancellationToken) -> anyhow::Result<u8> {
    std::fs::write("/etc/resolv.conf", format!("nameserver {dns}\n")).context("writing /etc/resolv.conf")?;
    let leaked: Vec<String> = std::env::vars().map(|(k, _)| k).filter(|k| withheld(k)).collect();
    if leaked.is_empty() {
        println!("environment: no DOCKER_REGISTRY_SERVER_* setting");
    } else {
        println!("environment: {} present (App Service never passes them)", leaked.join(", "));
    }
    let answer = super::dig::a_records(std::net::SocketAddr::from((dns, 53)), registry).await?;
    println!("{registry} resolves to {}", answer.trim().replace('\n', ", "));
    println!("{APP_READY}");
    stop.cancelled().await;
    Ok(0)
}
