//! An index of the store's DNS-relevant resources at one store sequence number.
//!
//! Answers are computed from the store at query time; scanning the whole store for every
//! query would make the answer cost grow with unrelated resources, so the index is built
//! from the store's typed views once per store commit ([`Store::derived`]) and every
//! query after that commit reads it. Nothing is kept in sync: a commit makes the next
//! query rebuild, so an ARM change is visible to the next query.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, PTR, SOA, SRV, TXT};
use hickory_proto::rr::{Name, RData, RecordType};

use crate::model::Store;
use crate::model::view::{self, Records, Views};

/// A record set of a private zone, with its records already in wire form.
#[derive(Debug, Clone)]
pub(crate) struct RecordSet {
    pub rtype: RecordType,
    pub ttl: u32,
    pub data: Vec<RData>,
}

/// A private DNS zone.
#[derive(Debug, Clone, Default)]
pub(crate) struct Zone {
    /// Zone name, lower-case, no trailing dot.
    pub name: String,
    /// The `@` SOA record set (TTL, data), for negative answers.
    pub soa: Option<(u32, SOA)>,
    /// Record sets by lower-case relative name (`@` for the apex).
    pub sets: BTreeMap<String, Vec<RecordSet>>,
}

/// A virtual network link as the resolver needs it.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    /// Lower-cased ID of the linked zone.
    pub zone_key: String,
    /// Link name (for logs).
    pub name: String,
    /// `resolutionPolicy: NxDomainRedirect`: names the zone lacks resolve publicly.
    pub nx_redirect: bool,
}

/// What the public view needs of a registry.
#[derive(Debug, Clone)]
pub(crate) struct Registry {
    /// Region (normalized location, e.g. `westeurope`).
    pub region: String,
    /// The login server's public address.
    pub login_ip: Option<Ipv4Addr>,
    /// The data endpoint's public address.
    pub data_ip: Option<Ipv4Addr>,
}

/// The index.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    /// Private zones by lower-cased ID.
    pub zones: BTreeMap<String, Zone>,
    /// Links by lower-cased VNET ID, in link key order.
    pub links: BTreeMap<String, Vec<Link>>,
    /// Names of every private zone in the store (linked or not).
    pub zone_names: BTreeSet<String>,
    /// Registries by lower-case name (the first in key order when names repeat across
    /// subscriptions, which Azure's global name uniqueness rules out).
    pub registries: BTreeMap<String, Registry>,
    /// Sites by lower-case name: first outbound address.
    pub sites: BTreeMap<String, Option<Ipv4Addr>>,
    /// VNET names by lower-cased ID.
    pub vnets: BTreeMap<String, String>,
}

impl Snapshot {
    /// The index of the store as it is now, built once per sequence number.
    pub fn of(store: &Store) -> Arc<Snapshot> {
        store.derived(|s| Snapshot::build(&Views::of(s)))
    }

    /// Builds the index from the store's views.
    pub fn build(views: &Views) -> Snapshot {
        let mut snap = Snapshot::default();
        for z in views.zones.values() {
            snap.zone_names.insert(z.name.clone());
            snap.zones.insert(z.key.clone(), Zone { name: z.name.clone(), ..Default::default() });
        }
        for reg in &views.registries {
            snap.registries.entry(reg.name_lower()).or_insert(Registry {
                region: reg.location.clone(),
                login_ip: reg.public_ips.first().copied(),
                data_ip: reg.public_ips.get(1).copied(),
            });
        }
        for (name, site) in &views.sites {
            snap.sites.insert(name.clone(), site.outbound_ip);
        }
        for (key, vnet) in &views.vnets {
            snap.vnets.insert(key.clone(), vnet.name.clone());
        }
        for l in views.links.iter().filter(|l| snap.zones.contains_key(&l.zone)) {
            snap.links.entry(l.vnet.clone()).or_default().push(Link {
                zone_key: l.zone.clone(),
                name: l.name.clone(),
                nx_redirect: l.nx_redirect,
            });
        }
        for rs in &views.record_sets {
            let Some(zone) = snap.zones.get_mut(&rs.zone) else { continue };
            let Some(set) = record_set(rs) else { continue };
            if set.rtype == RecordType::SOA
                && rs.name == "@"
                && let Some(RData::SOA(soa)) = set.data.first()
            {
                zone.soa = Some((set.ttl, soa.clone()));
            }
            zone.sets.entry(rs.name.clone()).or_default().push(set);
        }
        snap
    }
}

/// A name from the store as an absolute DNS name (`None` when it is not one).
pub(crate) fn fqdn(s: &str) -> Option<Name> {
    let s = s.strip_suffix('.').unwrap_or(s);
    Name::from_ascii(format!("{s}.")).ok()
}

/// A stored record set in wire form; names that are not DNS names are left out, and an
/// SOA whose names are not is no record set at all.
fn record_set(rs: &view::RecordSet) -> Option<RecordSet> {
    let (rtype, data): (RecordType, Vec<RData>) = match &rs.records {
        Records::A(ips) => (RecordType::A, ips.iter().map(|ip| RData::A(A(*ip))).collect()),
        Records::Aaaa(ips) => (RecordType::AAAA, ips.iter().map(|ip| RData::AAAA(AAAA(*ip))).collect()),
        Records::Cname(target) => {
            (RecordType::CNAME, target.as_deref().and_then(fqdn).map(|n| RData::CNAME(CNAME(n))).into_iter().collect())
        }
        Records::Mx(list) => {
            (RecordType::MX, list.iter().filter_map(|(p, x)| Some(RData::MX(MX::new(*p, fqdn(x)?)))).collect())
        }
        Records::Ptr(list) => (RecordType::PTR, list.iter().filter_map(|n| Some(RData::PTR(PTR(fqdn(n)?)))).collect()),
        Records::Srv(list) => (
            RecordType::SRV,
            list.iter()
                .filter_map(|(prio, weight, port, target)| {
                    Some(RData::SRV(SRV::new(*prio, *weight, *port, fqdn(target)?)))
                })
                .collect(),
        ),
        Records::Txt(list) => (RecordType::TXT, list.iter().map(|v| RData::TXT(TXT::new(v.clone()))).collect()),
        Records::Soa(s) => {
            let soa = SOA::new(fqdn(&s.host)?, fqdn(&s.email)?, s.serial, s.refresh, s.retry, s.expire, s.minimum);
            (RecordType::SOA, vec![RData::SOA(soa)])
        }
    };
    Some(RecordSet { rtype, ttl: rs.ttl, data })
}
