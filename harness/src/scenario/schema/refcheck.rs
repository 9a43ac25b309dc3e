//! The check at the end of a walk: every reference recorded in [`super::refs`] against
//! the whole topology, with a hint from the names that exist.

use std::collections::{HashMap, HashSet};

use super::refs::Ref;
use super::walker::Walker;
use crate::scenario::model::{SubnetRef, Topology, Vnet};
use crate::scenario::tree::At;

/// One kind of name of the topology: in order (for hints) and as a set.
struct Names<'t> {
    list: Vec<&'t str>,
    set: HashSet<&'t str>,
}

impl<'t> Names<'t> {
    fn new(list: Vec<&'t str>) -> Names<'t> {
        let set = list.iter().copied().collect();
        Names { list, set }
    }
}

/// The topology's names, indexed once (a file may hold thousands of references).
struct Known<'t> {
    vnets: Names<'t>,
    /// The first VNET of each name, as `Topology::vnet` finds it.
    vnet_by_name: HashMap<&'t str, &'t Vnet>,
    registries: Vec<&'t str>,
    /// Registry names compare ignoring case, as Azure's do.
    registries_lower: HashSet<String>,
    zones: Names<'t>,
    identities: Names<'t>,
    /// Subnet names per VNET, listed when first asked (most VNETs are never named).
    subnets: HashMap<&'t str, Names<'t>>,
}

impl<'t> Known<'t> {
    fn new(topo: &'t Topology) -> Known<'t> {
        let mut vnet_by_name = HashMap::new();
        for v in &topo.vnets {
            vnet_by_name.entry(v.name.as_str()).or_insert(v);
        }
        Known {
            vnets: Names::new(topo.vnets.iter().map(|v| v.name.as_str()).collect()),
            vnet_by_name,
            registries: topo.registries.iter().map(|r| r.name.as_str()).collect(),
            registries_lower: topo.registries.iter().map(|r| r.name.to_ascii_lowercase()).collect(),
            zones: Names::new(topo.private_dns_zones.iter().map(|z| z.name.as_str()).collect()),
            identities: Names::new(topo.identities.iter().map(|i| i.name.as_str()).collect()),
            subnets: HashMap::new(),
        }
    }

    fn subnets(&mut self, v: &'t Vnet) -> &Names<'t> {
        self.subnets
            .entry(v.name.as_str())
            .or_insert_with(|| Names::new(v.subnets.iter().map(|s| s.name.as_str()).collect()))
    }
}

impl Walker<'_> {
    /// `vnet/subnet`, recorded for the check at the end.
    pub(super) fn subnet_ref(&mut self, s: &str, at: At, place: &str) -> SubnetRef {
        match s.split_once('/') {
            Some((v, n)) if !v.is_empty() && !n.is_empty() && !n.contains('/') => {
                let r = SubnetRef { vnet: v.to_string(), subnet: n.to_string() };
                self.refs.push(Ref::Subnet { r: r.clone(), at, place: place.to_string() });
                r
            }
            _ => {
                self.err(at, format!("{place} must be 'vnet/subnet', found '{s}'"));
                SubnetRef { vnet: String::new(), subnet: String::new() }
            }
        }
    }

    /// Checks every reference recorded during the walk against `topo`.
    pub(super) fn check_refs(&mut self, topo: &Topology) {
        let mut known = Known::new(topo);
        for r in std::mem::take(&mut self.refs.list) {
            match r {
                Ref::Vnet { name, at, place } => {
                    if !known.vnets.set.contains(name.as_str()) {
                        self.undefined(at, "vnet", &name, &place, &known.vnets.list);
                    }
                }
                Ref::Subnet { r, at, place } => match known.vnet_by_name.get(r.vnet.as_str()).copied() {
                    None => self.undefined(at, "vnet", &r.vnet, &place, &known.vnets.list),
                    Some(v) => {
                        let subnets = known.subnets(v);
                        if !subnets.set.contains(r.subnet.as_str()) {
                            let hint = self.f.hint(&r.subnet, &subnets.list);
                            let msg = format!("undefined subnet '{}' of vnet '{}' in {place}{hint}", r.subnet, r.vnet);
                            self.err(at, msg);
                        }
                    }
                },
                Ref::Registry { name, at, place } => {
                    if !known.registries_lower.contains(&name.to_ascii_lowercase()) {
                        self.undefined(at, "registry", &name, &place, &known.registries);
                    }
                }
                Ref::Zone { name, at, place } => {
                    if !known.zones.set.contains(name.as_str()) {
                        self.undefined(at, "private DNS zone", &name, &place, &known.zones.list);
                    }
                }
                Ref::Identity { name, at, place } => {
                    if !known.identities.set.contains(name.as_str()) {
                        self.undefined(at, "identity", &name, &place, &known.identities.list);
                    }
                }
                Ref::AddressInVnet { vnet, ip, at, place } => {
                    if let Some(v) = known.vnet_by_name.get(vnet.as_str())
                        && !v.address_space.iter().any(|c| c.contains(ip))
                    {
                        self.err(at, format!("{place}: address {ip} is outside the address space of vnet '{vnet}'"));
                    }
                }
            }
        }
        let has_system = topo.site.as_ref().is_some_and(|s| s.system_identity);
        for at in std::mem::take(&mut self.refs.site_principal_uses) {
            if !has_system {
                self.err(at, "principal 'site' needs a [site] with a system identity (identity = \"system\")");
            }
        }
    }

    fn undefined(&mut self, at: At, what: &str, name: &str, place: &str, known: &[&str]) {
        let hint = self.f.hint(name, known);
        self.err(at, format!("undefined {what} '{name}' in {place}{hint}"));
    }
}
