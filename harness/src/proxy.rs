//! Vantage points for real clients: an HTTP CONNECT proxy that stands where a client
//! would stand in Azure — on the internet, or at an address inside a VNET — so tools
//! that cannot be told which DNS server or source address to use (skopeo, docker,
//! curl) see what a client there sees. Pointed at with `HTTPS_PROXY`, the client sends
//! `CONNECT <reg>.azurecr.io:443` and runs TLS inside the tunnel with Azure's name, so
//! certificates, token realms and the 307 to the data endpoint keep their names.
//!
//! The proxy resolves the name over real DNS from its source address (Azure DNS, or
//! the VNET's custom DNS servers) and connects from that source, applying the network's
//! reachability and the VNET's egress address exactly as the App Service worker does.
//!
//! Clients are accepted under the listener limits of `mock_azure::listen` (a cap on
//! tunnels, a pause instead of a spin when descriptors run out); the CONNECT line must
//! arrive within the header timeout.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use mock_azure::appservice::resolve::{Answer, query_a};
use mock_azure::listen::{Acceptor, Limits};
use mock_azure::netplan::{AZURE_DNS, AddressMap, Modeled, Plan};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::embedded::Env;

/// Serves CONNECT tunnels from `source`, under `limits`, until the task is dropped.
pub async fn serve(listener: TcpListener, env: Arc<Env>, source: Modeled, limits: Limits) {
    let listener = Acceptor::new(listener, &limits, "proxy");
    let mut tunnels = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            (client, _, slot) = listener.accept() => {
                let env = env.clone();
                let source = source.clone();
                tunnels.spawn(async move {
                    let _slot = slot;
                    if let Err(e) = tunnel(client, &env, &source, limits.header_timeout).await {
                        tracing::debug!(error = %e, "proxy tunnel ended");
                    }
                });
            }
            // Reap finished tunnels so the set does not grow without bound.
            Some(_) = tunnels.join_next(), if !tunnels.is_empty() => {}
        }
    }
}

async fn tunnel(mut client: TcpStream, env: &Env, source: &Modeled, header_timeout: Duration) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    let deadline = tokio::time::Instant::now() + header_timeout;
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8192 {
            return reply(&mut client, "431 Request Header Fields Too Large").await;
        }
        match tokio::time::timeout_at(deadline, client.read(&mut byte)).await {
            Ok(Ok(1)) => head.push(byte[0]),
            _ => return Ok(()),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let Some(target) = head.strip_prefix("CONNECT ").and_then(|r| r.split_whitespace().next()) else {
        return reply(&mut client, "405 Method Not Allowed").await;
    };
    let (host, port) = target.rsplit_once(':').unwrap_or((target, "443"));
    if port != "443" {
        return reply(&mut client, "403 Forbidden").await;
    }
    let plan = Plan::of(&env.store);
    let Some(dest) = resolve(env, &plan, source, host).await else {
        return reply(&mut client, "502 Bad Gateway").await;
    };
    if plan.reachable(source, &dest).is_err() {
        return reply(&mut client, "504 Gateway Timeout").await;
    }
    let seen = plan.seen_as(source, &dest);
    let sock = TcpSocket::new_v4()?;
    sock.bind(std::net::SocketAddr::new(env.map.real(&seen), 0))?;
    let upstream = tokio::time::timeout(Duration::from_secs(10), sock.connect(env.fabric.https_addr(&dest))).await;
    let Ok(Ok(mut upstream)) = upstream else {
        return reply(&mut client, "504 Gateway Timeout").await;
    };
    client.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await.map(|_| ())
}

async fn reply(client: &mut TcpStream, status: &str) -> std::io::Result<()> {
    client.write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes()).await
}

/// The modeled address `host` resolves to from `source`: over real DNS, asking the
/// VNET's DNS servers (or Azure DNS) from the source's real address.
async fn resolve(env: &Env, plan: &Plan, source: &Modeled, host: &str) -> Option<Modeled> {
    let servers: Vec<Ipv4Addr> = match source.vnet.as_deref().and_then(|v| plan.vnets.get(v)) {
        Some(v) if !v.dns_servers.is_empty() => v.dns_servers.clone(),
        _ => vec![AZURE_DNS],
    };
    for server in servers {
        let m = plan.locate(source, server);
        let answer = query_a(env.map.real(source), env.fabric.dns_addr(&m), host).await.ok()?;
        if let Answer::Addresses { addrs, .. } = answer {
            return Some(plan.locate(source, addrs[0]));
        }
    }
    None
}
