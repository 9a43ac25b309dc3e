//! The network plan: every modeled address, what it belongs to, what can reach what, and
//! how modeled addresses map to the real ones components bind and connect from.
//!
//! Modeled addresses are Azure's (10.x private, 20.x public, 168.63.129.16); they are
//! labels, never destinations. A private address is only meaningful inside its VNET
//! (two unpeered VNETs may both use 10.0.0.0/16), so a modeled address is a pair
//! `(vnet, ip)` with `vnet = None` for public addresses.
//!
//! The plan is computed from the store's typed views when asked ([`Plan::of`], once per
//! store sequence number); it is never kept in sync by hand. The [`AddressMap`] is the one piece of state: it hands out real
//! addresses in order and remembers them, so a server bound to a real address keeps it.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;

use crate::model::Store;
use crate::model::net::Cidr;
use crate::model::view::Views;

/// The VNET key of private addresses outside every VNET a source can reach.
pub const OUTSIDE: &str = "(outside the source's VNET and its peers)";

/// The address of Azure's DNS (and metadata) service as seen from every VNET.
pub const AZURE_DNS: Ipv4Addr = Ipv4Addr::new(168, 63, 129, 16);

/// A modeled address: an IPv4 address and the VNET it lives in (`None` = public).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Modeled {
    /// Lower-cased ID of the VNET, `None` for public addresses (and Azure DNS).
    pub vnet: Option<String>,
    /// The address.
    pub ip: Ipv4Addr,
}

impl Modeled {
    /// A public address.
    pub fn public(ip: Ipv4Addr) -> Modeled {
        Modeled { vnet: None, ip }
    }

    /// A private address in a VNET (by lower-cased VNET ID).
    pub fn private(vnet: &str, ip: Ipv4Addr) -> Modeled {
        Modeled { vnet: Some(vnet.to_ascii_lowercase()), ip }
    }

    /// Azure DNS (one service; its view depends on who asks).
    pub fn azure_dns() -> Modeled {
        Modeled::public(AZURE_DNS)
    }
}

impl std::fmt::Display for Modeled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.ip)
    }
}

/// A subnet of a VNET.
#[derive(Debug, Clone)]
pub struct Subnet {
    /// Resource ID as stored.
    pub id: String,
    /// Subnet name.
    pub name: String,
    /// Address prefix.
    pub prefix: Cidr,
    /// Delegated to `Microsoft.Web/serverFarms` (usable for VNET integration).
    pub delegated_to_web: bool,
}

/// A VNET as the network sees it.
#[derive(Debug, Clone)]
pub struct Vnet {
    /// Resource ID as stored.
    pub id: String,
    /// Lower-cased ID.
    pub key: String,
    /// Name.
    pub name: String,
    /// Region.
    pub location: String,
    /// Address space.
    pub prefixes: Vec<Cidr>,
    /// `dhcpOptions.dnsServers`: empty means Azure DNS.
    pub dns_servers: Vec<Ipv4Addr>,
    /// Keys of VNETs peered with this one in state `Connected` with
    /// `allowVirtualNetworkAccess`.
    pub peers: Vec<String>,
    /// The public address traffic from this VNET to the internet leaves with (Azure's
    /// default outbound address).
    pub egress: Option<Ipv4Addr>,
    /// Subnets.
    pub subnets: Vec<Subnet>,
}

impl Vnet {
    /// The subnet holding `ip`, if any.
    pub fn subnet_of(&self, ip: Ipv4Addr) -> Option<&Subnet> {
        self.subnets.iter().find(|s| s.prefix.contains(ip))
    }
}

/// Why a connection cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    /// A private address from the public internet.
    PrivateFromPublic,
    /// A private address in another VNET that is not peered.
    OtherVnet {
        /// Key of the source's VNET.
        from: String,
        /// Key of the destination's VNET.
        to: String,
    },
}

/// Every VNET of the store, computed on demand.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// VNETs by lower-cased ID.
    pub vnets: BTreeMap<String, Vnet>,
}

impl Plan {
    /// The plan of the store as it is now, computed once per store sequence number and
    /// shared by every reader (the worker's pulls, DNS forwarding, the docker backend's
    /// address map).
    pub fn of(store: &Store) -> std::sync::Arc<Plan> {
        store.derived(Plan::from_store)
    }

    /// Computes the plan from the store now (from its typed views).
    pub fn from_store(store: &Store) -> Plan {
        Plan::from_views(&Views::of(store))
    }

    /// The plan of these views: VNETs with their subnets that have an address prefix and
    /// the peers whose peering carries traffic.
    pub fn from_views(views: &Views) -> Plan {
        let vnets = views
            .vnets
            .values()
            .map(|v| {
                let subnets = v
                    .subnets
                    .iter()
                    .filter_map(|s| {
                        Some(Subnet {
                            id: s.id.clone(),
                            name: s.name.clone(),
                            prefix: s.prefix?,
                            delegated_to_web: s.delegated_to_web,
                        })
                    })
                    .collect();
                let peers = v.peerings.iter().filter(|p| p.carries_traffic).filter_map(|p| p.remote.clone()).collect();
                let vnet = Vnet {
                    id: v.id.clone(),
                    key: v.key.clone(),
                    name: v.name.clone(),
                    location: v.location.clone(),
                    prefixes: v.prefixes.clone(),
                    dns_servers: v.dns_servers.clone(),
                    peers,
                    egress: v.egress,
                    subnets,
                };
                (v.key.clone(), vnet)
            })
            .collect();
        Plan { vnets }
    }

    /// The VNET with this (any-case) ID.
    pub fn vnet(&self, id: &str) -> Option<&Vnet> {
        self.vnets.get(&id.to_ascii_lowercase())
    }

    /// The VNET and subnet of a subnet ID.
    pub fn subnet(&self, subnet_id: &str) -> Option<(&Vnet, &Subnet)> {
        let (vnet_id, _) =
            subnet_id.to_ascii_lowercase().rsplit_once("/subnets/").map(|(a, b)| (a.to_string(), b.to_string()))?;
        let vnet = self.vnet(&vnet_id)?;
        let subnet = vnet.subnets.iter().find(|s| s.id.eq_ignore_ascii_case(subnet_id))?;
        Some((vnet, subnet))
    }

    /// Whether `from` can open a connection to `to`. Public addresses are reachable from
    /// anywhere; a private one from its own VNET or a peered one.
    pub fn reachable(&self, from: &Modeled, to: &Modeled) -> Result<(), Unreachable> {
        match (&from.vnet, &to.vnet) {
            (_, None) => Ok(()),
            (None, Some(_)) => Err(Unreachable::PrivateFromPublic),
            (Some(a), Some(b)) if a == b => Ok(()),
            (Some(a), Some(b)) => {
                let peered = self.vnets.get(a).is_some_and(|v| v.peers.contains(b))
                    && self.vnets.get(b).is_some_and(|v| v.peers.contains(a));
                if peered { Ok(()) } else { Err(Unreachable::OtherVnet { from: a.clone(), to: b.clone() }) }
            }
        }
    }

    /// The modeled address an IP (a DNS answer, a configured DNS server) stands for, seen
    /// from `source`: Azure DNS, a private address in the source's VNET or a connected
    /// peer whose space holds it, or a public address. A private address outside all of
    /// them belongs to no VNET the source reaches (Azure routes it nowhere).
    pub fn locate(&self, source: &Modeled, ip: Ipv4Addr) -> Modeled {
        if ip == AZURE_DNS {
            return Modeled::azure_dns();
        }
        if !ip.is_private() {
            return Modeled::public(ip);
        }
        let Some(own) = &source.vnet else {
            return Modeled::private(OUTSIDE, ip);
        };
        let candidates =
            std::iter::once(own.clone()).chain(self.vnets.get(own).map(|v| v.peers.clone()).unwrap_or_default());
        for key in candidates {
            if self.vnets.get(&key).is_some_and(|v| v.prefixes.iter().any(|p| p.contains(ip))) {
                return Modeled::private(&key, ip);
            }
        }
        Modeled::private(OUTSIDE, ip)
    }

    /// The address a destination sees a connection from: traffic from a VNET to a public
    /// address leaves through the VNET's egress address.
    pub fn seen_as(&self, from: &Modeled, to: &Modeled) -> Modeled {
        match (&from.vnet, &to.vnet) {
            (Some(v), None) => match self.vnets.get(v).and_then(|v| v.egress) {
                Some(egress) => Modeled::public(egress),
                None => from.clone(),
            },
            _ => from.clone(),
        }
    }
}

/// How modeled addresses map to real ones. The embedded backend maps each to its own
/// loopback address; the docker backend to container addresses.
pub trait AddressMap: Send + Sync {
    /// The real address standing for a modeled one (allocated on first use).
    fn real(&self, m: &Modeled) -> IpAddr;
    /// The modeled address a real one stands for, if any.
    fn modeled(&self, real: IpAddr) -> Option<Modeled>;
    /// The real address to bind for sending as `m` from this process. A backend whose
    /// addresses must first be configured on an interface (a container's) does so here.
    fn local(&self, m: &Modeled) -> std::io::Result<IpAddr> {
        Ok(self.real(m))
    }
    /// The real address at which `from` reaches `to`. Azure DNS answers at 168.63.129.16
    /// in every VNET, so a map whose VNETs are separate networks places it per network.
    fn real_from(&self, _from: &Modeled, to: &Modeled) -> IpAddr {
        self.real(to)
    }
}

/// Each modeled address gets its own address in `127.B.0.0/16`, in order of first use;
/// `127.B.0.1` is Azure DNS. One block per environment keeps concurrent environments
/// (parallel tests) apart.
pub struct LoopbackMap {
    block: u8,
    inner: Mutex<LoopbackInner>,
}

#[derive(Default)]
struct LoopbackInner {
    forward: BTreeMap<Modeled, Ipv4Addr>,
    back: HashMap<Ipv4Addr, Modeled>,
    next: u32,
}

impl LoopbackMap {
    /// A map in `127.block.0.0/16` (`block` in 1..=254).
    pub fn new(block: u8) -> LoopbackMap {
        let map = LoopbackMap { block, inner: Mutex::new(LoopbackInner { next: 2, ..Default::default() }) };
        {
            let mut inner = map.lock();
            let dns = Ipv4Addr::new(127, block, 0, 1);
            inner.forward.insert(Modeled::azure_dns(), dns);
            inner.back.insert(dns, Modeled::azure_dns());
        }
        map
    }

    /// The block (`B` of `127.B.0.0/16`).
    pub fn block(&self) -> u8 {
        self.block
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LoopbackInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every mapping made so far, in modeled order (for `serve` and traces).
    pub fn entries(&self) -> Vec<(Modeled, Ipv4Addr)> {
        self.lock().forward.iter().map(|(m, r)| (m.clone(), *r)).collect()
    }
}

impl AddressMap for LoopbackMap {
    fn real(&self, m: &Modeled) -> IpAddr {
        let mut inner = self.lock();
        if let Some(r) = inner.forward.get(m) {
            return IpAddr::V4(*r);
        }
        // Skip .0 and .255 in the last octet so no address looks like a network or broadcast.
        let mut n = inner.next;
        while n & 0xff == 0 || n & 0xff == 255 {
            n += 1;
        }
        inner.next = n + 1;
        let r = Ipv4Addr::new(127, self.block, (n >> 8) as u8, (n & 0xff) as u8);
        inner.forward.insert(m.clone(), r);
        inner.back.insert(r, m.clone());
        IpAddr::V4(r)
    }

    fn modeled(&self, real: IpAddr) -> Option<Modeled> {
        let IpAddr::V4(r) = real else { return None };
        self.lock().back.get(&r).cloned()
    }
}

/// Where the components of one environment meet: the address map and the one port each
/// service uses on every real address (so a modeled address is enough to connect).
#[derive(Clone)]
pub struct Fabric {
    /// Modeled ↔ real addresses.
    pub map: std::sync::Arc<dyn AddressMap>,
    /// UDP and TCP port of every DNS server (Azure DNS and custom servers).
    pub dns_port: u16,
    /// TCP port of every HTTPS endpoint (ACR login server, data endpoint).
    pub https_port: u16,
}

impl Fabric {
    /// The real socket address of a modeled DNS server.
    pub fn dns_addr(&self, m: &Modeled) -> std::net::SocketAddr {
        std::net::SocketAddr::new(self.map.real(m), self.dns_port)
    }

    /// The real socket address at which `from` reaches a modeled DNS server.
    pub fn dns_addr_from(&self, from: &Modeled, m: &Modeled) -> std::net::SocketAddr {
        std::net::SocketAddr::new(self.map.real_from(from, m), self.dns_port)
    }

    /// The real socket address of a modeled HTTPS endpoint.
    pub fn https_addr(&self, m: &Modeled) -> std::net::SocketAddr {
        std::net::SocketAddr::new(self.map.real(m), self.https_port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses_are_handed_out_in_order_and_remembered() {
        let map = LoopbackMap::new(9);
        assert_eq!(map.real(&Modeled::azure_dns()), IpAddr::from([127, 9, 0, 1]));
        let a = Modeled::private(
            "/subscriptions/s/resourcegroups/rg/providers/microsoft.network/virtualnetworks/v",
            [10, 0, 1, 4].into(),
        );
        let b = Modeled::public([20, 1, 2, 3].into());
        assert_eq!(map.real(&a), IpAddr::from([127, 9, 0, 2]));
        assert_eq!(map.real(&b), IpAddr::from([127, 9, 0, 3]));
        assert_eq!(map.real(&a), IpAddr::from([127, 9, 0, 2]));
        assert_eq!(map.modeled(IpAddr::from([127, 9, 0, 3])), Some(b));
        assert_eq!(map.modeled(IpAddr::from([127, 9, 0, 99])), None);
    }

    #[test]
    fn private_addresses_are_reachable_only_from_their_vnet_or_a_peer() {
        let mut plan = Plan::default();
        let vnet = |key: &str, peers: &[&str]| Vnet {
            id: key.into(),
            key: key.into(),
            name: key.into(),
            location: "westeurope".into(),
            prefixes: vec![],
            dns_servers: vec![],
            peers: peers.iter().map(|p| p.to_string()).collect(),
            egress: Some([20, 0, 0, 1].into()),
            subnets: vec![],
        };
        plan.vnets.insert("a".into(), vnet("a", &["b"]));
        plan.vnets.insert("b".into(), vnet("b", &["a"]));
        plan.vnets.insert("c".into(), vnet("c", &[]));
        let ip: Ipv4Addr = [10, 0, 2, 4].into();
        let pe = Modeled::private("a", ip);
        assert_eq!(plan.reachable(&Modeled::private("a", ip), &pe), Ok(()));
        assert_eq!(plan.reachable(&Modeled::private("b", ip), &pe), Ok(()));
        assert!(matches!(plan.reachable(&Modeled::private("c", ip), &pe), Err(Unreachable::OtherVnet { .. })));
        assert_eq!(plan.reachable(&Modeled::public([20, 9, 9, 9].into()), &pe), Err(Unreachable::PrivateFromPublic));
        let public = Modeled::public([20, 5, 5, 5].into());
        assert_eq!(plan.seen_as(&Modeled::private("c", ip), &public), Modeled::public([20, 0, 0, 1].into()));
    }
}
