//! Typed views of the ARM resources that components other than ARM read: registries
//! (the ACR, DNS), private endpoints and their network interfaces (the ACR's firewall,
//! the worker), sites (DNS), private DNS zones, links and record sets (DNS), VNETs and
//! subnets (the network plan).
//!
//! The store keeps ARM's JSON; reading `v["properties"]["…"]` in every component would
//! turn a typo into a silent `Null`. Here each JSON field is read once, into a named
//! field, and [`Views::of`] builds the whole set once per store sequence number
//! ([`Store::derived`]), so a request reads typed values from an index instead of
//! scanning the store. The oracle (`appservice::oracle`) keeps its own reading of the
//! JSON on purpose: it must not share a mistake with the mechanism.

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use serde_json::Value;

use super::net::{Cidr, admin_password};
use super::{PRIVATE, Store};

/// A container registry.
#[derive(Debug, Clone, PartialEq)]
pub struct Registry {
    /// Resource ID as stored.
    pub id: String,
    /// Lower-cased ID.
    pub key: String,
    /// Name as created.
    pub name: String,
    /// Region (`westeurope`), lower case.
    pub location: String,
    /// `properties.loginServer` (`<name>.azurecr.io`).
    pub login_server: String,
    /// Public addresses: the login server's, then the data endpoint's.
    pub public_ips: Vec<Ipv4Addr>,
    /// `publicNetworkAccess` is not `Disabled`.
    pub public_access: bool,
    /// With `networkRuleSet.defaultAction: Deny`, the CIDRs of its `Allow` IP rules
    /// (the only clients the public endpoint lets in); `None` when the default is Allow.
    pub allowed_ips: Option<Vec<Cidr>>,
    /// `anonymousPullEnabled`.
    pub anonymous_pull: bool,
    /// The admin user's two current passwords; `None` when the admin user is disabled.
    pub admin_passwords: Option<[String; 2]>,
    /// Its private endpoint connections, in key order.
    pub connections: Vec<Connection>,
}

impl Registry {
    /// The name, lower case (what host names and storage use).
    pub fn name_lower(&self) -> String {
        self.name.to_ascii_lowercase()
    }

    /// `<name>.<region>.data.azurecr.io`.
    pub fn data_host(&self) -> String {
        format!("{}.{}.data.azurecr.io", self.name_lower(), self.location)
    }
}

/// A registry's private endpoint connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The private endpoint's resource ID, as the connection names it.
    pub endpoint_id: String,
    /// `privateLinkServiceConnectionState.status` (`Approved`, `Pending`, `Rejected`,
    /// `Disconnected`); `Pending` when absent.
    pub status: String,
}

/// An address a network interface holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NicAddress {
    /// The address.
    pub ip: Ipv4Addr,
    /// Lower-cased ID of its subnet's VNET.
    pub vnet: String,
    /// For a private endpoint's interface, the member it serves (`registry`,
    /// `registry_data_<region>`); empty otherwise.
    pub member: String,
}

/// A private endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateEndpoint {
    /// Resource ID as stored.
    pub id: String,
    /// The addresses of its network interface, in its ipConfigurations' order.
    pub addresses: Vec<NicAddress>,
}

/// A site, as DNS needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// Name as created.
    pub name: String,
    /// The first of `outboundIpAddresses`.
    pub outbound_ip: Option<Ipv4Addr>,
}

/// A VNET.
#[derive(Debug, Clone, PartialEq)]
pub struct Vnet {
    /// Resource ID as stored.
    pub id: String,
    /// Lower-cased ID.
    pub key: String,
    /// Name.
    pub name: String,
    /// Region.
    pub location: String,
    /// `addressSpace.addressPrefixes` that parse.
    pub prefixes: Vec<Cidr>,
    /// `dhcpOptions.dnsServers` that parse: empty means Azure DNS.
    pub dns_servers: Vec<Ipv4Addr>,
    /// Azure's default outbound address of the VNET.
    pub egress: Option<Ipv4Addr>,
    /// Subnets, in key order.
    pub subnets: Vec<Subnet>,
    /// Peerings, in key order.
    pub peerings: Vec<Peering>,
}

/// A subnet.
#[derive(Debug, Clone, PartialEq)]
pub struct Subnet {
    /// Resource ID as stored.
    pub id: String,
    /// Name.
    pub name: String,
    /// `addressPrefix`, if it parses.
    pub prefix: Option<Cidr>,
    /// Delegated to `Microsoft.Web/serverFarms` (usable for VNET integration).
    pub delegated_to_web: bool,
}

/// A VNET peering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peering {
    /// Lower-cased ID of the remote VNET.
    pub remote: Option<String>,
    /// `peeringState` is `Connected` and `allowVirtualNetworkAccess` is not false.
    pub carries_traffic: bool,
}

/// A private DNS zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// Lower-cased ID.
    pub key: String,
    /// Zone name, lower case, no trailing dot.
    pub name: String,
}

/// A virtual network link of a private DNS zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Lower-cased ID of the zone.
    pub zone: String,
    /// Link name.
    pub name: String,
    /// Lower-cased ID of the linked VNET.
    pub vnet: String,
    /// `resolutionPolicy: NxDomainRedirect`.
    pub nx_redirect: bool,
}

/// A record set of a private DNS zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSet {
    /// Lower-cased ID of the zone.
    pub zone: String,
    /// Name relative to the zone, lower case (`@` for the apex).
    pub name: String,
    /// TTL in seconds (3600 when absent).
    pub ttl: u32,
    /// The records; entries that do not parse are left out (ARM checks addresses, not
    /// every name a user may type).
    pub records: Records,
}

/// The records of a record set, by type, as Azure's JSON holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Records {
    /// `aRecords[].ipv4Address`.
    A(Vec<Ipv4Addr>),
    /// `aaaaRecords[].ipv6Address`.
    Aaaa(Vec<Ipv6Addr>),
    /// `cnameRecord.cname`.
    Cname(Option<String>),
    /// `mxRecords[]`: (preference, exchange).
    Mx(Vec<(u16, String)>),
    /// `ptrRecords[].ptrdname`.
    Ptr(Vec<String>),
    /// `srvRecords[]`: (priority, weight, port, target).
    Srv(Vec<(u16, u16, u16, String)>),
    /// `txtRecords[].value`.
    Txt(Vec<Vec<String>>),
    /// `soaRecord`.
    Soa(Soa),
}

/// A zone's SOA record as stored (defaults where Azure's are implied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Soa {
    /// `host`.
    pub host: String,
    /// `email`.
    pub email: String,
    /// `serialNumber`.
    pub serial: u32,
    /// `refreshTime`.
    pub refresh: i32,
    /// `retryTime`.
    pub retry: i32,
    /// `expireTime`.
    pub expire: i32,
    /// `minimumTtl`.
    pub minimum: u32,
}

/// Every view, built from one store sequence number.
#[derive(Debug, Default)]
pub struct Views {
    /// Registries in key order.
    pub registries: Vec<Arc<Registry>>,
    /// Index into `registries` by lower-case name (the first in key order when names
    /// repeat across subscriptions, which Azure's global name uniqueness rules out).
    registry_names: HashMap<String, usize>,
    /// Private endpoints by lower-cased ID.
    pub endpoints: BTreeMap<String, PrivateEndpoint>,
    /// Every address a network interface holds.
    pub nic_addresses: Vec<NicAddress>,
    /// Sites by lower-case name (the first in key order).
    pub sites: BTreeMap<String, Site>,
    /// VNETs by lower-cased ID.
    pub vnets: BTreeMap<String, Vnet>,
    /// Private DNS zones by lower-cased ID.
    pub zones: BTreeMap<String, Zone>,
    /// Virtual network links, in key order.
    pub links: Vec<Link>,
    /// Record sets, in key order.
    pub record_sets: Vec<RecordSet>,
}

const REGISTRY: &str = "microsoft.containerregistry/registries";
const CONNECTION: &str = "microsoft.containerregistry/registries/privateendpointconnections";
const ENDPOINT: &str = "microsoft.network/privateendpoints";
const NIC: &str = "microsoft.network/networkinterfaces";
const SITE: &str = "microsoft.web/sites";
const VNET: &str = "microsoft.network/virtualnetworks";
const SUBNET: &str = "microsoft.network/virtualnetworks/subnets";
const PEERING: &str = "microsoft.network/virtualnetworks/virtualnetworkpeerings";
const ZONE: &str = "microsoft.network/privatednszones";
const LINK: &str = "microsoft.network/privatednszones/virtualnetworklinks";

impl Views {
    /// The views of the store as it is now, built once per sequence number and shared.
    pub fn of(store: &Store) -> Arc<Views> {
        store.derived(Views::build)
    }

    /// Builds every view from the store now.
    pub fn build(store: &Store) -> Views {
        let mut v = Views::default();
        // One pass in key order; children (connections, subnets, peerings, record sets)
        // are attached to their parents afterwards, whatever the key order.
        let mut by_type: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for r in store.filter(|_, r| r["type"].is_string()) {
            let t = r["type"].as_str().unwrap_or_default().to_ascii_lowercase();
            by_type.entry(t).or_default().push(r);
        }
        let take = |t: &str, m: &mut BTreeMap<String, Vec<Value>>| m.remove(t).unwrap_or_default();
        let connections = take(CONNECTION, &mut by_type);
        for r in take(REGISTRY, &mut by_type) {
            let reg = registry(&r, &connections);
            v.registry_names.entry(reg.name_lower()).or_insert(v.registries.len());
            v.registries.push(Arc::new(reg));
        }
        let nics: HashMap<String, Value> = take(NIC, &mut by_type).into_iter().map(|n| (lower(&n["id"]), n)).collect();
        let mut nic_keys: Vec<&String> = nics.keys().collect();
        nic_keys.sort();
        v.nic_addresses = nic_keys.into_iter().flat_map(|k| nic_addresses(&nics[k])).collect();
        for pe in take(ENDPOINT, &mut by_type) {
            let nic = pe[PRIVATE]["nicId"].as_str().and_then(|n| nics.get(&n.to_ascii_lowercase()));
            let id = str_of(&pe["id"]);
            let addresses = nic.map(nic_addresses).unwrap_or_default();
            v.endpoints.insert(id.to_ascii_lowercase(), PrivateEndpoint { id, addresses });
        }
        for s in take(SITE, &mut by_type) {
            let outbound_ip = s["properties"]["outboundIpAddresses"]
                .as_str()
                .and_then(|s| s.split(',').next())
                .and_then(|s| s.trim().parse().ok());
            v.sites.entry(lower(&s["name"])).or_insert(Site { name: str_of(&s["name"]), outbound_ip });
        }
        let subnets = take(SUBNET, &mut by_type);
        let peerings = take(PEERING, &mut by_type);
        for n in take(VNET, &mut by_type) {
            let vnet = vnet(&n, &subnets, &peerings);
            v.vnets.insert(vnet.key.clone(), vnet);
        }
        for z in take(ZONE, &mut by_type) {
            let zone = Zone { key: lower(&z["id"]), name: lower(&z["name"]).trim_end_matches('.').to_string() };
            v.zones.insert(zone.key.clone(), zone);
        }
        v.links = take(LINK, &mut by_type).iter().filter_map(link).collect();
        // What is left under a zone's type prefix are its record sets.
        let zone_prefix = format!("{ZONE}/");
        let mut sets: Vec<Value> = by_type
            .iter()
            .filter(|(t, _)| t.starts_with(&zone_prefix))
            .flat_map(|(_, rs)| rs.iter().cloned())
            .collect();
        sets.sort_by_key(|r| lower(&r["id"]));
        v.record_sets = sets.iter().filter_map(record_set).collect();
        v
    }

    /// The registry with this (any-case) name.
    pub fn registry(&self, name: &str) -> Option<&Arc<Registry>> {
        self.registry_names.get(&name.to_ascii_lowercase()).and_then(|&i| self.registries.get(i))
    }

    /// The private endpoint with this (any-case) ID.
    pub fn endpoint(&self, id: &str) -> Option<&PrivateEndpoint> {
        self.endpoints.get(&id.to_ascii_lowercase())
    }

    /// Whether a network interface holds `ip` in a subnet of `vnet` (lower-cased ID).
    pub fn nic_holds(&self, vnet: &str, ip: Ipv4Addr) -> bool {
        self.nic_addresses.iter().any(|a| a.ip == ip && a.vnet == vnet)
    }
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn lower(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_ascii_lowercase()
}

fn ips(v: &Value) -> Vec<Ipv4Addr> {
    v.as_array().into_iter().flatten().filter_map(|s| s.as_str()?.parse().ok()).collect()
}

/// The resource ID of the parent of a child ID (`{parent}/{type}/{name}`).
fn parent_of(id: &str) -> Option<String> {
    let mut parts = id.rsplitn(3, '/');
    let (_name, _type, parent) = (parts.next()?, parts.next()?, parts.next()?);
    Some(parent.to_string())
}

fn registry(r: &Value, connections: &[Value]) -> Registry {
    let p = &r["properties"];
    let key = lower(&r["id"]);
    let rules = &p["networkRuleSet"];
    let allowed_ips = (rules["defaultAction"] == "Deny").then(|| {
        rules["ipRules"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["action"].as_str().is_none_or(|a| a.eq_ignore_ascii_case("Allow")))
            .filter_map(|r| r["value"].as_str().and_then(Cidr::parse_lenient))
            .collect()
    });
    let admin_passwords = (p["adminUserEnabled"] == true).then(|| {
        let g = |i: usize| r[PRIVATE]["passwordGen"][i].as_u64().unwrap_or(0);
        [admin_password(&key, "password", g(0)), admin_password(&key, "password2", g(1))]
    });
    let prefix = format!("{key}/privateendpointconnections/");
    let mut conns: Vec<&Value> = connections.iter().filter(|c| lower(&c["id"]).starts_with(&prefix)).collect();
    conns.sort_by_key(|c| lower(&c["id"]));
    Registry {
        id: str_of(&r["id"]),
        name: str_of(&r["name"]),
        location: lower(&r["location"]),
        login_server: str_of(&p["loginServer"]),
        public_ips: ips(&r[PRIVATE]["publicIps"]),
        public_access: p["publicNetworkAccess"] != "Disabled",
        allowed_ips,
        anonymous_pull: p["anonymousPullEnabled"] == true,
        admin_passwords,
        connections: conns
            .into_iter()
            .filter_map(|c| {
                let cp = &c["properties"];
                Some(Connection {
                    endpoint_id: cp["privateEndpoint"]["id"].as_str()?.to_string(),
                    status: cp["privateLinkServiceConnectionState"]["status"].as_str().unwrap_or("Pending").to_string(),
                })
            })
            .collect(),
        key,
    }
}

fn nic_addresses(nic: &Value) -> Vec<NicAddress> {
    nic["properties"]["ipConfigurations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let p = &c["properties"];
            let ip = p["privateIPAddress"].as_str()?.parse().ok()?;
            let subnet = p["subnet"]["id"].as_str()?.to_ascii_lowercase();
            let (vnet, _) = subnet.rsplit_once("/subnets/")?;
            Some(NicAddress {
                ip,
                vnet: vnet.to_string(),
                member: str_of(&p["privateLinkConnectionProperties"]["requiredMemberName"]),
            })
        })
        .collect()
}

fn vnet(n: &Value, subnets: &[Value], peerings: &[Value]) -> Vnet {
    let key = lower(&n["id"]);
    let children = |all: &[Value], segment: &str| -> Vec<Value> {
        let prefix = format!("{key}/{segment}/");
        let mut mine: Vec<Value> = all.iter().filter(|s| lower(&s["id"]).starts_with(&prefix)).cloned().collect();
        mine.sort_by_key(|s| lower(&s["id"]));
        mine
    };
    let p = &n["properties"];
    Vnet {
        id: str_of(&n["id"]),
        name: str_of(&n["name"]),
        location: str_of(&n["location"]),
        prefixes: p["addressSpace"]["addressPrefixes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().and_then(Cidr::parse))
            .collect(),
        dns_servers: ips(&p["dhcpOptions"]["dnsServers"]),
        egress: n[PRIVATE]["publicIps"][0].as_str().and_then(|s| s.parse().ok()),
        subnets: children(subnets, "subnets")
            .iter()
            .map(|s| Subnet {
                id: str_of(&s["id"]),
                name: str_of(&s["name"]),
                prefix: s["properties"]["addressPrefix"].as_str().and_then(Cidr::parse),
                delegated_to_web: s["properties"]["delegations"].as_array().into_iter().flatten().any(|d| {
                    d["properties"]["serviceName"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case("Microsoft.Web/serverFarms"))
                }),
            })
            .collect(),
        peerings: children(peerings, "virtualnetworkpeerings")
            .iter()
            .map(|x| Peering {
                remote: x["properties"]["remoteVirtualNetwork"]["id"].as_str().map(str::to_ascii_lowercase),
                carries_traffic: x["properties"]["peeringState"] == "Connected"
                    && x["properties"]["allowVirtualNetworkAccess"] != false,
            })
            .collect(),
        key,
    }
}

fn link(l: &Value) -> Option<Link> {
    Some(Link {
        zone: parent_of(&lower(&l["id"]))?,
        name: str_of(&l["name"]),
        vnet: l["properties"]["virtualNetwork"]["id"].as_str()?.to_ascii_lowercase(),
        nx_redirect: l["properties"]["resolutionPolicy"]
            .as_str()
            .is_some_and(|p| p.eq_ignore_ascii_case("NxDomainRedirect")),
    })
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

fn strings<'a>(props: &'a Value, key: &'a str, field: &'a str) -> impl Iterator<Item = String> + 'a {
    items(props, key).filter_map(move |r| r[field].as_str().map(str::to_string))
}

fn record_set(v: &Value) -> Option<RecordSet> {
    let t = v["type"].as_str()?.rsplit('/').next()?.to_ascii_uppercase();
    let p = &v["properties"];
    let records = match t.as_str() {
        "A" => Records::A(items(p, "aRecords").filter_map(|r| r["ipv4Address"].as_str()?.parse().ok()).collect()),
        "AAAA" => {
            Records::Aaaa(items(p, "aaaaRecords").filter_map(|r| r["ipv6Address"].as_str()?.parse().ok()).collect())
        }
        "CNAME" => Records::Cname(p["cnameRecord"]["cname"].as_str().map(str::to_string)),
        "MX" => Records::Mx(
            items(p, "mxRecords")
                .filter_map(|r| Some((u16_at(r, "preference")?, r["exchange"].as_str()?.to_string())))
                .collect(),
        ),
        "PTR" => Records::Ptr(strings(p, "ptrRecords", "ptrdname").collect()),
        "SRV" => Records::Srv(
            items(p, "srvRecords")
                .filter_map(|r| {
                    Some((
                        u16_at(r, "priority")?,
                        u16_at(r, "weight")?,
                        u16_at(r, "port")?,
                        r["target"].as_str()?.to_string(),
                    ))
                })
                .collect(),
        ),
        "TXT" => Records::Txt(
            items(p, "txtRecords")
                .map(|r| {
                    r["value"].as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_string)).collect()
                })
                .collect(),
        ),
        "SOA" => {
            let s = &p["soaRecord"];
            Records::Soa(Soa {
                host: s["host"].as_str().unwrap_or("azureprivatedns.net").to_string(),
                email: s["email"].as_str().unwrap_or("azureprivatedns-host.microsoft.com").to_string(),
                serial: s["serialNumber"].as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(1),
                refresh: i32_at(s, "refreshTime"),
                retry: i32_at(s, "retryTime"),
                expire: i32_at(s, "expireTime"),
                minimum: s["minimumTtl"].as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(10),
            })
        }
        _ => return None,
    };
    Some(RecordSet {
        zone: parent_of(&lower(&v["id"]))?,
        name: lower(&v["name"]),
        ttl: p["ttl"].as_u64().map(|t| u32::try_from(t).unwrap_or(u32::MAX)).unwrap_or(3600),
        records,
    })
}
