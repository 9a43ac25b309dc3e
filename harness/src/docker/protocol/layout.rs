//! The docker backend's address map: modeled addresses → addresses on the run's Docker
//! networks, computed the same way in every container from the store (a follower of ARM's
//! journal) and the network layout the host writes (`/state/networks.json`).
//!
//! Every VNET gets a `/16` *slot*: its private address lands at its offset in the VNET's
//! address space (`10.0.2.4` in `10.0.0.0/16` → `<slot>.2.4`), so a VNET's addresses
//! never collide. Peered VNETs share one Docker network (a `/14`, four slots), because
//! Docker drops what a bridge carries from outside its subnet; VNETs that are not peered
//! are on different networks, with no route between them. A public address lands at its
//! low 16 bits on the public network (a `/16`; the addresses pullsim draws are scattered
//! over `20.0.0.0/8`; [`AddressPlan::check`] reports the rare two that would share a
//! place). The top of every network's first slot holds the components' own addresses
//! ([`Host`]). Azure DNS (168.63.129.16) is the DNS container's address on the asking
//! side's network.
//!
//! The host computes the same plan to check a configuration and lay the networks out; a
//! component wraps it to configure the addresses it uses on its own interfaces
//! (`crate::docker::component`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::{Arc, RwLock};

use anyhow::{Context, bail};
use mock_azure::model::{PRIVATE, Store};
use mock_azure::netplan::{AddressMap, Modeled, Plan};
use serde::{Deserialize, Serialize};

/// A component's own address on every network it is attached to: `<net>.255.<host>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Host {
    /// The network's gateway (the host's side of the bridge).
    Gateway = 254,
    /// Azure DNS (and the public resolver on the public network).
    Dns = 253,
    /// The fake ACR.
    Acr = 252,
    /// The App Service worker.
    Worker = 251,
    /// The CNCF distribution registry (the ACR's storage).
    Registry = 250,
    /// The fake ARM.
    Arm = 249,
    /// The app container started after a pull.
    App = 248,
    /// A debug shell (`pullsim shell`).
    Shell = 247,
}

/// Offsets at and above this (`x.y.255.240`) are the components' own.
const RESERVED: u32 = 0xfff0;

/// Where nothing answers: a modeled address with no place on any network.
pub const NOWHERE: Ipv4Addr = Ipv4Addr::new(127, 255, 255, 254);

/// A `/16` Docker network, by its first two octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Net16(pub [u8; 2]);

impl Net16 {
    /// The address at `offset` (0..65536) in this network.
    pub fn at(self, offset: u32) -> Ipv4Addr {
        Ipv4Addr::new(self.0[0], self.0[1], (offset >> 8) as u8, offset as u8)
    }

    /// A component's own address here.
    pub fn host(self, h: Host) -> Ipv4Addr {
        self.at(0xff00 | h as u32)
    }

    /// Whether `ip` is in this network.
    pub fn contains(self, ip: Ipv4Addr) -> bool {
        ip.octets()[..2] == self.0
    }

    /// `ip`'s offset, if it is in this network.
    pub fn offset(self, ip: Ipv4Addr) -> Option<u32> {
        self.contains(ip).then(|| u32::from(ip) & 0xffff)
    }

    /// Whether the `/16` overlaps `net/prefix`.
    pub fn overlaps(self, net: Ipv4Addr, prefix: u8) -> bool {
        let common = prefix.min(16);
        let mask = if common == 0 { 0 } else { u32::MAX << (32 - u32::from(common)) };
        (u32::from(self.at(0)) & mask) == (u32::from(net) & mask)
    }
}

impl std::fmt::Display for Net16 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.0.0/16", self.0[0], self.0[1])
    }
}

/// Where a VNET is: its slot, on a network whose first slot is `network`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// The VNET's addresses.
    pub slot: Net16,
    /// The network's first slot (the components' own addresses are there).
    pub network: Net16,
}

/// Which network stands for the public side and for each VNET (by lower-cased ID).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// The public side (the internet, public endpoints, outbound addresses).
    pub public: Option<Net16>,
    /// Each VNET's place.
    pub vnets: BTreeMap<String, Place>,
}

impl Layout {
    /// The layout file's name in the state directory.
    pub const FILE: &'static str = "networks.json";

    /// Reads `dir/networks.json` (an absent file is an empty layout).
    pub fn read(dir: &Path) -> anyhow::Result<Layout> {
        let path = dir.join(Self::FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Layout::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes `dir/networks.json` atomically.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec_pretty(self)?;
        mock_azure::tls::write_atomic(&dir.join(Self::FILE), &bytes).context("writing the network layout")
    }

    /// The slot a modeled address's side maps into.
    pub fn slot_of(&self, m: &Modeled) -> Option<Net16> {
        match &m.vnet {
            None => self.public,
            Some(k) => self.vnets.get(k).map(|p| p.slot),
        }
    }

    /// The first slot of the network a modeled address's side is on.
    pub fn network_of(&self, m: &Modeled) -> Option<Net16> {
        match &m.vnet {
            None => self.public,
            Some(k) => self.vnets.get(k).map(|p| p.network),
        }
    }
}

/// What the map derives from the store, rebuilt when the store moves.
struct Derived {
    plan: Arc<Plan>,
    /// Public addresses the store knows, by their slot on the public network.
    public: BTreeMap<u32, BTreeSet<Ipv4Addr>>,
}

/// The modeled ↔ container address map, computed alike by the host and every container.
pub struct AddressPlan {
    store: Store,
    layout: RwLock<Layout>,
}

/// Public addresses that stand for clients outside Azure (`serve`'s vantage points).
const WELL_KNOWN_PUBLIC: [Ipv4Addr; 2] = [Ipv4Addr::new(203, 0, 113, 10), Ipv4Addr::new(198, 51, 100, 10)];

impl AddressPlan {
    /// A map over `store` and `layout`.
    pub fn new(store: Store, layout: Layout) -> AddressPlan {
        AddressPlan { store, layout: RwLock::new(layout) }
    }

    /// Replaces the layout (after the host wrote a new one).
    pub fn set_layout(&self, layout: Layout) {
        *self.layout.write().unwrap_or_else(|e| e.into_inner()) = layout;
    }

    /// The layout in force.
    pub fn layout(&self) -> Layout {
        self.layout.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn derived(&self) -> Arc<Derived> {
        self.store.derived(Derived::build)
    }

    /// Modeled addresses that cannot have a place of their own on the networks: two
    /// public addresses sharing a slot, or an address on a component's reserved slot.
    pub fn check(&self) -> anyhow::Result<()> {
        let d = self.derived();
        for (slot, ips) in &d.public {
            if ips.len() > 1 {
                let list: Vec<String> = ips.iter().map(Ipv4Addr::to_string).collect();
                bail!(
                    "the public addresses {} share one place on the docker backend's public network; \
                     rename one of the resources they belong to",
                    list.join(" and ")
                );
            }
            if *slot >= RESERVED {
                bail!(
                    "the public address {} falls on a place the docker backend reserves",
                    ips.iter().next().unwrap_or(&NOWHERE)
                );
            }
        }
        Ok(())
    }

    fn vnet_offset(d: &Derived, vnet: &str, ip: Ipv4Addr) -> Option<u32> {
        let mut base = 0u64;
        for p in &d.plan.vnets.get(vnet)?.prefixes {
            if p.contains(ip) {
                let off = base + u64::from(u32::from(ip) - u32::from(p.addr));
                return (off < u64::from(RESERVED)).then_some(off as u32);
            }
            base += p.size();
        }
        None
    }

    fn vnet_address(d: &Derived, vnet: &str, offset: u32) -> Option<Ipv4Addr> {
        let mut base = 0u64;
        let offset = u64::from(offset);
        for p in &d.plan.vnets.get(vnet)?.prefixes {
            if offset < base + p.size() {
                return Some(Ipv4Addr::from(u32::from(p.addr) + (offset - base) as u32));
            }
            base += p.size();
        }
        None
    }
}

impl Derived {
    fn build(store: &Store) -> Derived {
        let plan = Plan::of(store);
        let mut known: BTreeSet<Ipv4Addr> = WELL_KNOWN_PUBLIC.into_iter().collect();
        known.extend(plan.vnets.values().filter_map(|v| v.egress));
        for v in store
            .filter(|_, v| v["type"] == "Microsoft.ContainerRegistry/registries" || v["type"] == "Microsoft.Web/sites")
        {
            let addresses = v[PRIVATE]["publicIps"].as_array().into_iter().flatten().filter_map(|a| a.as_str());
            let outbound = ["outboundIpAddresses", "possibleOutboundIpAddresses"]
                .into_iter()
                .filter_map(|k| v["properties"][k].as_str())
                .flat_map(|s| s.split(','));
            known.extend(addresses.chain(outbound).filter_map(|a| a.trim().parse::<Ipv4Addr>().ok()));
        }
        let mut public: BTreeMap<u32, BTreeSet<Ipv4Addr>> = BTreeMap::new();
        for ip in known {
            public.entry(u32::from(ip) & 0xffff).or_default().insert(ip);
        }
        Derived { plan, public }
    }
}

impl AddressMap for AddressPlan {
    fn real(&self, m: &Modeled) -> IpAddr {
        let layout = self.layout.read().unwrap_or_else(|e| e.into_inner());
        if *m == Modeled::azure_dns() {
            return IpAddr::V4(layout.public.map(|n| n.host(Host::Dns)).unwrap_or(NOWHERE));
        }
        let Some(net) = layout.slot_of(m) else { return IpAddr::V4(NOWHERE) };
        let off = match &m.vnet {
            None => Some(u32::from(m.ip) & 0xffff).filter(|o| *o < RESERVED),
            Some(k) => Self::vnet_offset(&self.derived(), k, m.ip),
        };
        IpAddr::V4(off.map(|o| net.at(o)).unwrap_or(NOWHERE))
    }

    fn modeled(&self, real: IpAddr) -> Option<Modeled> {
        let IpAddr::V4(real) = real else { return None };
        let layout = self.layout.read().unwrap_or_else(|e| e.into_inner());
        let d = self.derived();
        if let Some(off) = layout.public.and_then(|n| n.offset(real)) {
            if off == 0xff00 | Host::Dns as u32 {
                return Some(Modeled::azure_dns());
            }
            let ips = d.public.get(&off)?;
            return if ips.len() == 1 { ips.iter().next().map(|ip| Modeled::public(*ip)) } else { None };
        }
        if layout.vnets.values().any(|p| real == p.network.host(Host::Dns)) {
            return Some(Modeled::azure_dns());
        }
        let (key, off) = layout.vnets.iter().find_map(|(k, p)| Some((k, p.slot.offset(real)?)))?;
        Some(Modeled::private(key, Self::vnet_address(&d, key, off)?))
    }

    /// The plan alone configures nothing: a modeled address is used where it lands.
    fn local(&self, m: &Modeled) -> std::io::Result<IpAddr> {
        Ok(self.real(m))
    }

    fn real_from(&self, from: &Modeled, to: &Modeled) -> IpAddr {
        if *to == Modeled::azure_dns() {
            let layout = self.layout.read().unwrap_or_else(|e| e.into_inner());
            return IpAddr::V4(layout.network_of(from).map(|n| n.host(Host::Dns)).unwrap_or(NOWHERE));
        }
        self.real(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mock_azure::model::Store;
    use serde_json::json;

    const VNET: &str = "/subscriptions/s/resourcegroups/rg/providers/microsoft.network/virtualnetworks/v";

    fn store() -> Store {
        let s = Store::in_memory();
        s.transact(|tx| {
            tx.put(json!({"id": VNET, "type": "Microsoft.Network/virtualNetworks", "name": "v", "location": "westeurope",
                "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16", "10.1.0.0/24"]}},
                PRIVATE: {"publicIps": ["20.7.1.9"]}}));
            tx.put(json!({"id": "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ContainerRegistry/registries/r",
                "type": "Microsoft.ContainerRegistry/registries", "name": "r", PRIVATE: {"publicIps": ["20.1.2.3", "20.9.4.5"]}}));
            Ok::<_, mock_azure::model::StoreError>(())
        })
        .unwrap();
        s
    }

    fn layout() -> Layout {
        let place = Place { slot: Net16([10, 205]), network: Net16([10, 204]) };
        Layout { public: Some(Net16([10, 200])), vnets: [(VNET.to_string(), place)].into_iter().collect() }
    }

    #[test]
    fn private_addresses_land_at_their_offset_in_the_vnet_and_come_back() {
        let map = AddressPlan::new(store(), layout());
        let pe = Modeled::private(VNET, [10, 0, 2, 4].into());
        assert_eq!(map.real(&pe), IpAddr::from([10, 205, 2, 4]));
        assert_eq!(map.modeled(IpAddr::from([10, 205, 2, 4])), Some(pe));
        // The second prefix follows the first (65,536 addresses later… past the network,
        // so it has no place here).
        assert_eq!(map.real(&Modeled::private(VNET, [10, 1, 0, 4].into())), IpAddr::V4(NOWHERE));
        // Outside the VNET's space, or a VNET without a network: nowhere.
        assert_eq!(map.real(&Modeled::private(VNET, [10, 9, 0, 4].into())), IpAddr::V4(NOWHERE));
        assert_eq!(map.real(&Modeled::private("other", [10, 0, 0, 4].into())), IpAddr::V4(NOWHERE));
    }

    #[test]
    fn public_addresses_the_store_knows_come_back_and_azure_dns_is_per_network() {
        let map = AddressPlan::new(store(), layout());
        let login = Modeled::public([20, 1, 2, 3].into());
        assert_eq!(map.real(&login), IpAddr::from([10, 200, 2, 3]));
        assert_eq!(map.modeled(IpAddr::from([10, 200, 2, 3])), Some(login.clone()));
        assert_eq!(map.modeled(IpAddr::from([10, 200, 1, 9])), Some(Modeled::public([20, 7, 1, 9].into())));
        assert_eq!(map.modeled(IpAddr::from([10, 200, 8, 8])), None, "no known address there");
        let inside = Modeled::private(VNET, [10, 0, 1, 4].into());
        let dns = Modeled::azure_dns();
        // The DNS container's address on the VNET's network (its first slot).
        assert_eq!(map.real_from(&inside, &dns), IpAddr::from([10, 204, 255, 253]));
        assert_eq!(map.real_from(&login, &dns), IpAddr::from([10, 200, 255, 253]));
        assert_eq!(map.modeled(IpAddr::from([10, 204, 255, 253])), Some(dns));
        map.check().unwrap();
    }

    #[test]
    fn two_public_addresses_on_one_slot_are_reported() {
        let s = store();
        s.transact(|tx| {
            tx.put(json!({"id": "/subscriptions/s/resourcegroups/rg/providers/Microsoft.Web/sites/a",
                "type": "Microsoft.Web/sites", "name": "a", "properties": {"outboundIpAddresses": "20.44.2.3"}}));
            Ok::<_, mock_azure::model::StoreError>(())
        })
        .unwrap();
        let map = AddressPlan::new(s, layout());
        let err = map.check().unwrap_err().to_string();
        assert!(err.contains("20.1.2.3 and 20.44.2.3"), "{err}");
        assert_eq!(map.modeled(IpAddr::from([10, 200, 2, 3])), None, "ambiguous");
    }
}
