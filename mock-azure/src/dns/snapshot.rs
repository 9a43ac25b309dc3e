//! An index of the store's DNS-relevant resources at one store sequence number.
//!
//! Answers are computed from the store at query time; scanning the whole store for every
//! query would make the answer cost grow with unrelated resources, so the handler builds
//! this index once per store commit (`store.seq()` is the only cache key) and every query
//! after that commit reads it. No other state is kept: a commit makes the next query
//! rebuild, so an ARM change is visible to the next query.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, PTR, SOA, SRV, TXT};
use hickory_proto::rr::{Name, RData, RecordType};
use serde_json::Value;

use super::custom::{CUSTOM_SERVER_TYPE, CustomServer};
use super::resolve::Resolution;
use crate::model::{PRIVATE, Store};
use crate::netplan::Modeled;

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
    /// Store sequence number the index was built at.
    pub seq: u64,
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
    /// Custom DNS servers by modeled address: (resource name, definition).
    pub custom: BTreeMap<Modeled, (String, CustomServer)>,
    /// Answers already computed from this index, by (VNET or public, name, type): a
    /// resolution depends on nothing else, and the index is rebuilt when the store moves.
    pub answers: Mutex<HashMap<AnswerKey, Arc<Resolution>>>,
}

/// What an answer of Azure DNS depends on besides the index: the view's VNET (`None`:
/// public), the lower-cased name and the type.
pub(crate) type AnswerKey = (Option<String>, String, u16);

/// Answers kept per index at most: names that do not exist are asked too (fuzzers,
/// typos), and each would stay otherwise.
pub(crate) const MAX_ANSWERS: usize = 4096;

const ZONE_TYPE: &str = "microsoft.network/privatednszones";
const LINK_TYPE: &str = "microsoft.network/privatednszones/virtualnetworklinks";

impl Snapshot {
    /// Builds the index from the store as it is now, labelled `seq`.
    pub fn build(store: &Store, seq: u64) -> Snapshot {
        let mut snap = Snapshot { seq, ..Default::default() };
        let relevant = store.filter(|_, v| {
            let t = v["type"].as_str().unwrap_or_default().to_ascii_lowercase();
            t.starts_with(ZONE_TYPE)
                || t == "microsoft.containerregistry/registries"
                || t == "microsoft.web/sites"
                || t == "microsoft.network/virtualnetworks"
                || t == CUSTOM_SERVER_TYPE.to_ascii_lowercase()
        });
        // Zones first, so record sets and links find them whatever the key order.
        let mut records = Vec::new();
        let mut links = Vec::new();
        for v in &relevant {
            let t = v["type"].as_str().unwrap_or_default().to_ascii_lowercase();
            let id = v["id"].as_str().unwrap_or_default().to_ascii_lowercase();
            let name = v["name"].as_str().unwrap_or_default().to_ascii_lowercase();
            match t.as_str() {
                ZONE_TYPE => {
                    let name = name.trim_end_matches('.').to_string();
                    snap.zone_names.insert(name.clone());
                    snap.zones.insert(id, Zone { name, ..Default::default() });
                }
                LINK_TYPE => links.push(v),
                "microsoft.containerregistry/registries" => {
                    let ip = |i: usize| v[PRIVATE]["publicIps"][i].as_str().and_then(|s| s.parse().ok());
                    snap.registries.entry(name).or_insert(Registry {
                        region: v["location"].as_str().unwrap_or_default().to_ascii_lowercase(),
                        login_ip: ip(0),
                        data_ip: ip(1),
                    });
                }
                "microsoft.web/sites" => {
                    let first = v["properties"]["outboundIpAddresses"]
                        .as_str()
                        .and_then(|s| s.split(',').next())
                        .and_then(|s| s.trim().parse().ok());
                    snap.sites.entry(name).or_insert(first);
                }
                "microsoft.network/virtualnetworks" => {
                    snap.vnets.insert(id, v["name"].as_str().unwrap_or_default().to_string());
                }
                t if t == CUSTOM_SERVER_TYPE.to_ascii_lowercase() => {
                    if let Ok(spec) = serde_json::from_value::<CustomServer>(v["properties"].clone()) {
                        snap.custom
                            .entry(spec.modeled())
                            .or_insert((v["name"].as_str().unwrap_or_default().to_string(), spec));
                    }
                }
                _ => records.push(v),
            }
        }
        for v in links {
            let id = v["id"].as_str().unwrap_or_default().to_ascii_lowercase();
            let (Some(zone_key), Some(vnet)) =
                (parent_of(&id), v["properties"]["virtualNetwork"]["id"].as_str().map(str::to_ascii_lowercase))
            else {
                continue;
            };
            if !snap.zones.contains_key(&zone_key) {
                continue;
            }
            snap.links.entry(vnet).or_default().push(Link {
                zone_key,
                name: v["name"].as_str().unwrap_or_default().to_string(),
                nx_redirect: v["properties"]["resolutionPolicy"]
                    .as_str()
                    .is_some_and(|p| p.eq_ignore_ascii_case("NxDomainRedirect")),
            });
        }
        for v in records {
            let id = v["id"].as_str().unwrap_or_default().to_ascii_lowercase();
            let Some(zone_key) = parent_of(&id) else { continue };
            let Some(zone) = snap.zones.get_mut(&zone_key) else { continue };
            let Some(set) = record_set(v) else { continue };
            let rel = v["name"].as_str().unwrap_or_default().to_ascii_lowercase();
            if set.rtype == RecordType::SOA
                && rel == "@"
                && let Some(RData::SOA(soa)) = set.data.first()
            {
                zone.soa = Some((set.ttl, soa.clone()));
            }
            zone.sets.entry(rel).or_default().push(set);
        }
        snap
    }
}

/// The zone ID of a record set or link ID (`{zone}/{type}/{name}`).
fn parent_of(id: &str) -> Option<String> {
    let mut parts = id.rsplitn(3, '/');
    let (_name, _type, parent) = (parts.next()?, parts.next()?, parts.next()?);
    Some(parent.to_string())
}

/// A name from the store as an absolute DNS name (`None` when it is not one).
pub(crate) fn fqdn(s: &str) -> Option<Name> {
    let s = s.strip_suffix('.').unwrap_or(s);
    Name::from_ascii(format!("{s}.")).ok()
}

fn ttl(v: &Value) -> u32 {
    v["properties"]["ttl"].as_u64().map(|t| u32::try_from(t).unwrap_or(u32::MAX)).unwrap_or(3600)
}

fn items<'a>(props: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    props[key].as_array().into_iter().flatten()
}

fn u16_at(v: &Value, key: &str) -> Option<u16> {
    v[key].as_u64().and_then(|n| u16::try_from(n).ok())
}

fn i32_at(v: &Value, key: &str) -> i32 {
    v[key].as_i64().and_then(|n| i32::try_from(n).ok()).unwrap_or(0)
}

/// A stored record set in wire form; entries that do not parse are left out (ARM checks
/// addresses, not every name a user may type).
fn record_set(v: &Value) -> Option<RecordSet> {
    let t = v["type"].as_str()?.rsplit('/').next()?.to_ascii_uppercase();
    let p = &v["properties"];
    let (rtype, data): (RecordType, Vec<RData>) = match t.as_str() {
        "A" => (
            RecordType::A,
            items(p, "aRecords")
                .filter_map(|r| r["ipv4Address"].as_str()?.parse::<Ipv4Addr>().ok())
                .map(|ip| RData::A(A(ip)))
                .collect(),
        ),
        "AAAA" => (
            RecordType::AAAA,
            items(p, "aaaaRecords")
                .filter_map(|r| r["ipv6Address"].as_str()?.parse::<Ipv6Addr>().ok())
                .map(|ip| RData::AAAA(AAAA(ip)))
                .collect(),
        ),
        "CNAME" => (
            RecordType::CNAME,
            p["cnameRecord"]["cname"].as_str().and_then(fqdn).map(|n| RData::CNAME(CNAME(n))).into_iter().collect(),
        ),
        "MX" => (
            RecordType::MX,
            items(p, "mxRecords")
                .filter_map(|r| Some(RData::MX(MX::new(u16_at(r, "preference")?, fqdn(r["exchange"].as_str()?)?))))
                .collect(),
        ),
        "PTR" => (
            RecordType::PTR,
            items(p, "ptrRecords").filter_map(|r| Some(RData::PTR(PTR(fqdn(r["ptrdname"].as_str()?)?)))).collect(),
        ),
        "SRV" => (
            RecordType::SRV,
            items(p, "srvRecords")
                .filter_map(|r| {
                    Some(RData::SRV(SRV::new(
                        u16_at(r, "priority")?,
                        u16_at(r, "weight")?,
                        u16_at(r, "port")?,
                        fqdn(r["target"].as_str()?)?,
                    )))
                })
                .collect(),
        ),
        "TXT" => (
            RecordType::TXT,
            items(p, "txtRecords")
                .map(|r| {
                    RData::TXT(TXT::new(
                        r["value"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|s| s.as_str().map(str::to_string))
                            .collect(),
                    ))
                })
                .collect(),
        ),
        "SOA" => {
            let s = &p["soaRecord"];
            let soa = SOA::new(
                fqdn(s["host"].as_str().unwrap_or("azureprivatedns.net"))?,
                fqdn(s["email"].as_str().unwrap_or("azureprivatedns-host.microsoft.com"))?,
                s["serialNumber"].as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(1),
                i32_at(s, "refreshTime"),
                i32_at(s, "retryTime"),
                i32_at(s, "expireTime"),
                s["minimumTtl"].as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(10),
            );
            (RecordType::SOA, vec![RData::SOA(soa)])
        }
        _ => return None,
    };
    Some(RecordSet { rtype, ttl: ttl(v), data })
}
