//! Docker networks standing for VNETs and the public side, and the address map between
//! modeled addresses and container addresses on them.
//!
//! Every network is a `/24` from `10.243.0.0/16`, skipping any that overlaps a host route
//! or another Docker network; two runs racing for the same one retry with the next
//! (the engine refuses overlapping pools). Every network is `--internal`: nothing in
//! the fake Azure reaches the real internet.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;

use anyhow::{Context, bail};
use bollard::Docker;
use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest};
use bollard::query_parameters::ListNetworksOptions;
use mock_azure::netplan::{AddressMap, Modeled};
use serde::{Deserialize, Serialize};

use super::{Run, call};

/// A `/24` subnet, by its first three octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Subnet24(pub [u8; 3]);

impl Subnet24 {
    /// The `n`-th address (`.n`).
    pub fn host(&self, n: u8) -> Ipv4Addr {
        Ipv4Addr::new(self.0[0], self.0[1], self.0[2], n)
    }

    /// Whether `ip` is in it.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        ip.octets()[..3] == self.0
    }

    fn overlaps(&self, net: Ipv4Addr, prefix: u8) -> bool {
        let mask = |p: u8| if p == 0 { 0 } else { u32::MAX << (32 - u32::from(p.min(32))) };
        let common = mask(prefix.min(24));
        (u32::from(self.host(0)) & common) == (u32::from(net) & common)
    }
}

impl std::fmt::Display for Subnet24 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}.0/24", self.0[0], self.0[1], self.0[2])
    }
}

/// The gateway (the host's side of the bridge) is `.1`; containers start at `.2`.
pub const FIRST_HOST: u8 = 2;

/// One Docker network of a run.
#[derive(Debug, Clone)]
pub struct Network {
    /// Lower-cased VNET ID, `None` for the public side.
    pub vnet: Option<String>,
    /// Docker's name for it.
    pub name: String,
    /// Docker's ID.
    pub id: String,
    /// Its subnet.
    pub subnet: Subnet24,
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

/// Creates one internal network per key (`None` = the public side), in order, each on a
/// `/24` that collides with no host route and no other network.
pub async fn create(run: &Run, keys: &[(Option<String>, String)]) -> anyhow::Result<Vec<Network>> {
    let docker = run.docker();
    let routes = host_routes();
    let mut out: Vec<Network> = Vec::new();
    let mut third: u16 = 0;
    for (vnet, label) in keys {
        let name = run.name(label);
        loop {
            let taken = docker_subnets(docker).await?;
            let subnet = loop {
                if third > 255 {
                    bail!("no free /24 left in 10.243.0.0/16 for the network {name}");
                }
                let s = Subnet24([10, 243, third as u8]);
                third += 1;
                if !routes.iter().chain(taken.iter()).any(|(ip, p)| s.overlaps(*ip, *p)) {
                    break s;
                }
            };
            let req = NetworkCreateRequest {
                name: name.clone(),
                driver: Some("bridge".to_string()),
                internal: Some(true),
                ipam: Some(Ipam {
                    config: Some(vec![IpamConfig {
                        subnet: Some(subnet.to_string()),
                        gateway: Some(subnet.host(1).to_string()),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                labels: Some(run.labels()),
                ..Default::default()
            };
            match docker.create_network(req).await {
                Ok(r) => {
                    out.push(Network { vnet: vnet.clone(), name: name.clone(), id: r.id, subnet });
                    break;
                }
                // Another run took the pool between our look and our create: next one.
                Err(bollard::errors::Error::DockerResponseServerError { message, .. })
                    if message.contains("overlap") =>
                {
                    continue;
                }
                Err(e) => return Err(e).with_context(|| format!("creating the network {name} on {subnet}")),
            }
        }
    }
    Ok(out)
}

/// One entry of the map as written for a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Lower-cased VNET ID, absent for public addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vnet: Option<String>,
    /// The modeled address.
    pub ip: Ipv4Addr,
    /// The container address standing for it.
    pub real: Ipv4Addr,
}

/// Modeled ↔ container addresses. A modeled address gets the next free address of its
/// VNET's network (the public network for public ones), in order of first use, so the
/// same scenario gets the same addresses. A map loaded in a container
/// ([`DockerMap::from_entries`]) knows no networks: it answers only what it was given.
pub struct DockerMap {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Subnet and next host number per network key.
    nets: BTreeMap<Option<String>, (Subnet24, u8)>,
    forward: BTreeMap<Modeled, Ipv4Addr>,
    back: HashMap<Ipv4Addr, Modeled>,
}

impl DockerMap {
    /// A map handing out addresses on these networks, starting at `.first` on each.
    pub fn new(networks: &[Network], first: u8) -> DockerMap {
        let nets = networks.iter().map(|n| (n.vnet.clone(), (n.subnet, first))).collect();
        DockerMap { inner: Mutex::new(Inner { nets, ..Default::default() }) }
    }

    /// A fixed map (what a container loads).
    pub fn from_entries(entries: &[Entry]) -> DockerMap {
        let map = DockerMap { inner: Mutex::new(Inner::default()) };
        for e in entries {
            map.set(Modeled { vnet: e.vnet.clone(), ip: e.ip }, e.real);
        }
        map
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Maps `m` to `real` (an address pullsim placed a container at itself).
    pub fn set(&self, m: Modeled, real: Ipv4Addr) {
        let mut inner = self.lock();
        if let Some(old) = inner.forward.insert(m.clone(), real) {
            inner.back.remove(&old);
        }
        inner.back.insert(real, m);
    }

    /// Every mapping, in modeled order.
    pub fn entries(&self) -> Vec<Entry> {
        self.lock().forward.iter().map(|(m, r)| Entry { vnet: m.vnet.clone(), ip: m.ip, real: *r }).collect()
    }
}

impl AddressMap for DockerMap {
    fn real(&self, m: &Modeled) -> IpAddr {
        let mut inner = self.lock();
        if let Some(r) = inner.forward.get(m) {
            return IpAddr::V4(*r);
        }
        let Some(&(subnet, next)) = inner.nets.get(&m.vnet) else {
            // No network stands for this VNET: nothing can connect there.
            tracing::warn!(modeled = %m, vnet = ?m.vnet, "no container address for a modeled address");
            return IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        };
        let mut n = next;
        while inner.back.contains_key(&subnet.host(n)) && n < 254 {
            n += 1;
        }
        let r = subnet.host(n);
        inner.nets.insert(m.vnet.clone(), (subnet, n.saturating_add(1)));
        inner.forward.insert(m.clone(), r);
        inner.back.insert(r, m.clone());
        IpAddr::V4(r)
    }

    fn modeled(&self, real: IpAddr) -> Option<Modeled> {
        let IpAddr::V4(r) = real else { return None };
        self.lock().back.get(&r).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modeled_addresses_get_the_next_address_of_their_vnets_network() {
        let net = |vnet: Option<&str>, third| Network {
            vnet: vnet.map(str::to_string),
            name: String::new(),
            id: String::new(),
            subnet: Subnet24([10, 243, third]),
        };
        let map = DockerMap::new(&[net(None, 0), net(Some("a"), 1)], 10);
        let pe = Modeled::private("a", [10, 0, 1, 4].into());
        let public = Modeled::public([20, 1, 2, 3].into());
        assert_eq!(map.real(&pe), IpAddr::from([10, 243, 1, 10]));
        assert_eq!(map.real(&public), IpAddr::from([10, 243, 0, 10]));
        assert_eq!(map.real(&Modeled::private("a", [10, 0, 1, 5].into())), IpAddr::from([10, 243, 1, 11]));
        assert_eq!(map.real(&pe), IpAddr::from([10, 243, 1, 10]));
        assert_eq!(map.modeled(IpAddr::from([10, 243, 0, 10])), Some(public));
        assert_eq!(map.real(&Modeled::private("b", [10, 0, 1, 4].into())), IpAddr::from([0, 0, 0, 0]));
        let copy = DockerMap::from_entries(&map.entries());
        assert_eq!(copy.modeled(IpAddr::from([10, 243, 1, 10])), Some(pe));
    }

    #[test]
    fn subnets_that_overlap_a_route_are_recognised() {
        let s = Subnet24([10, 243, 5]);
        assert!(s.overlaps([10, 0, 0, 0].into(), 8));
        assert!(s.overlaps([10, 243, 5, 128].into(), 25));
        assert!(!s.overlaps([10, 243, 6, 0].into(), 24));
        assert!(!s.overlaps([172, 17, 0, 0].into(), 16));
    }
}
