//! The run's Docker networks: internal bridges on ranges that collide with nothing the
//! host routes and no other Docker network (two runs racing for one retry with the next:
//! the engine refuses overlapping pools). Nothing in the fake Azure reaches the real
//! internet.

use std::net::Ipv4Addr;

use anyhow::{Context, bail};
use bollard::Docker;
use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest};
use bollard::query_parameters::ListNetworksOptions;

use super::run::{Run, call};
use crate::docker::protocol::layout::{Host, Net16};

/// A network of the run: its name and its first `/16`.
#[derive(Debug, Clone)]
pub struct PoolNet {
    /// The Docker network's name.
    pub name: String,
    /// Its first `/16` (the components' own addresses are there).
    pub net: Net16,
}

/// Routes of the host (`/proc/net/route`): destination and prefix length.
pub(crate) fn host_routes() -> Vec<(Ipv4Addr, u8)> {
    let Ok(text) = std::fs::read_to_string("/proc/net/route") else { return vec![] };
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dest = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            // The file holds them in host byte order (little-endian on x86).
            let dest = Ipv4Addr::from(u32::from_be(dest.to_le()));
            let prefix = u32::from_be(mask.to_le()).count_ones() as u8;
            // The default route covers everything and collides with nothing.
            (prefix > 0).then_some((dest, prefix))
        })
        .collect()
}

/// Subnets of existing Docker networks.
pub(crate) async fn docker_subnets(docker: &Docker) -> anyhow::Result<Vec<(Ipv4Addr, u8)>> {
    let nets =
        call(|| "listing Docker networks".to_string(), docker.list_networks(None::<ListNetworksOptions>)).await?;
    Ok(nets
        .iter()
        .filter_map(|n| n.ipam.as_ref()?.config.as_ref())
        .flatten()
        .filter_map(|c| {
            let (ip, p) = c.subnet.as_deref()?.split_once('/')?;
            Some((ip.parse().ok()?, p.parse().ok()?))
        })
        .collect())
}

/// Creates an internal network of the run spanning `slots` `/16`s (1, 2 or 4, aligned),
/// on a range no host route or Docker network uses (`10.200.0.0` upwards); its gateway
/// is [`Host::Gateway`] of its first slot.
pub async fn create_network(run: &Run, label: &str, slots: u8) -> anyhow::Result<PoolNet> {
    let docker = run.docker();
    let routes = host_routes();
    let name = run.name(label);
    let prefix = 16 - slots.trailing_zeros() as u8;
    let mut second = 200u16;
    while second + u16::from(slots) <= 256 {
        let net = Net16([10, second as u8]);
        second += u16::from(slots);
        let used = docker_subnets(docker).await?;
        let covered = (0..slots).map(|i| Net16([10, net.0[1] + i]));
        if covered.clone().any(|n| routes.iter().chain(used.iter()).any(|(ip, p)| n.overlaps(*ip, *p))) {
            continue;
        }
        let req = NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".to_string()),
            internal: Some(true),
            ipam: Some(Ipam {
                config: Some(vec![IpamConfig {
                    subnet: Some(format!("{}/{prefix}", net.at(0))),
                    gateway: Some(net.host(Host::Gateway).to_string()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            labels: Some(run.labels()),
            ..Default::default()
        };
        match docker.create_network(req).await {
            Ok(_) => return Ok(PoolNet { name, net }),
            // Another run took it between the listing and the creation.
            Err(bollard::errors::Error::DockerResponseServerError { message, .. }) if message.contains("overlap") => {
                continue;
            }
            Err(e) => return Err(e).with_context(|| format!("creating the network {name} on {}/{prefix}", net.at(0))),
        }
    }
    bail!("no free /{prefix} left in 10.200.0.0–10.255.255.255 for the network {name}")
}
