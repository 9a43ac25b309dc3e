//! Custom DNS servers: what runs at the addresses of a VNET's `dhcpOptions.dnsServers`.
//!
//! Such a server is a VM or an appliance, not an Azure resource, so ARM does not know
//! it; pullsim keeps it in the same store as its own type, `Pullsim.Dns/customServers`
//! (`/subscriptions/{sub}/providers/Pullsim.Dns/customServers/{name}`), written by
//! [`put_custom_server`] and read at query time like everything else.
//!
//! A custom server answers every query by forwarding (docs/azure.md C: a server that does not
//! forward to 168.63.129.16 does not see the private zones):
//! 1. the conditional forwarder with the longest zone containing the name, if any: its
//!    targets in order (Azure DNS, or another custom server), the next on failure;
//! 2. else its upstream: `AzureDns` — a real query to Azure DNS *sent from the custom
//!    server's own address*, so Azure DNS answers with the custom server's VNET's view
//!    (hub-and-spoke works when the hub is linked, fails when only the spoke is);
//!    `Public` — an internet resolver, i.e. the public view; `None` — SERVFAIL.
//!
//! Like the conditional forwarders of common DNS servers (inferred, not confirmed), it
//! takes from an answer only the records of names that same rule covers, and asks for a
//! CNAME target that another rule covers through that rule — which is why a forwarder
//! for `privatelink.azurecr.io` alone is enough to reach the private address of
//! `<reg>.azurecr.io` while the rest goes to the internet.
//!
//! Every forward has a deadline (`DEFAULT_FORWARD_TIMEOUT` unless the environment sets
//! another); a target that does
//! not answer, is unreachable from the server's VNET, or forwards back in a loop is
//! skipped, and when no target is left the answer is SERVFAIL — never a hang.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::CNAME;
use hickory_proto::rr::{RData, Record, RecordType};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client;
use super::error::DnsError;
use super::names::in_zone;
use super::resolve::{self, View, rcode_name};
use super::snapshot::{Snapshot, fqdn};
use crate::model::net::Cidr;
use crate::model::{ResourceId, Store};
use crate::netplan::{AZURE_DNS, Fabric, Modeled, Plan};

/// Resource type of a custom DNS server in the store.
pub const CUSTOM_SERVER_TYPE: &str = "Pullsim.Dns/customServers";

/// Longest CNAME chain a custom server follows.
const MAX_CHAIN: usize = 16;

/// Where a custom server sends what no conditional forwarder covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Upstream {
    /// Azure DNS (168.63.129.16), asked from the server's own address.
    AzureDns,
    /// An internet resolver: the public view.
    Public,
    /// Nothing: SERVFAIL.
    None,
}

/// A conditional forwarder: names in `zone` go to `targets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConditionalForwarder {
    /// The zone (e.g. `privatelink.azurecr.io`).
    pub zone: String,
    /// Servers asked in order: 168.63.129.16 or custom servers' addresses.
    pub targets: Vec<Ipv4Addr>,
}

/// A custom DNS server as stored (`properties` of a `Pullsim.Dns/customServers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomServer {
    /// Its address in the VNET.
    pub address: Ipv4Addr,
    /// The VNET it runs in (resource ID); empty: a server on the internet, at a public
    /// address (a public resolver the scenario declares).
    #[serde(default)]
    pub vnet: String,
    /// What it does with names no conditional forwarder covers.
    pub upstream: Upstream,
    /// Conditional forwarders.
    #[serde(default)]
    pub conditional_forwarders: Vec<ConditionalForwarder>,
}

impl CustomServer {
    /// A server at `address` in `vnet` forwarding everything to `upstream`.
    pub fn new(address: Ipv4Addr, vnet: &str, upstream: Upstream) -> CustomServer {
        CustomServer { address, vnet: vnet.to_string(), upstream, conditional_forwarders: Vec::new() }
    }

    /// Adds a conditional forwarder.
    pub fn with_forwarder(mut self, zone: &str, targets: &[Ipv4Addr]) -> CustomServer {
        self.conditional_forwarders.push(ConditionalForwarder { zone: zone.to_string(), targets: targets.to_vec() });
        self
    }

    /// Its modeled address (the socket to bind for it is `fabric.map.real(&this)`).
    pub fn modeled(&self) -> Modeled {
        if self.vnet.is_empty() { Modeled::public(self.address) } else { Modeled::private(&self.vnet, self.address) }
    }

    /// The rule covering `name`: the conditional forwarder with the longest zone, else
    /// the upstream (`None`).
    fn rule_for(&self, name: &str) -> Option<usize> {
        self.conditional_forwarders
            .iter()
            .enumerate()
            .filter(|(_, f)| in_zone(name, &zone_key(&f.zone)))
            .fold(None, |best: Option<(usize, usize)>, (i, f)| match best {
                Some((_, len)) if len >= f.zone.len() => best,
                _ => Some((i, f.zone.len())),
            })
            .map(|(i, _)| i)
    }
}

fn zone_key(zone: &str) -> String {
    zone.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether `ip` is an address on the internet: a public unicast address other than
/// Azure DNS's (where a public resolver, or a declared server outside any VNET, runs).
pub fn is_internet_address(ip: Ipv4Addr) -> bool {
    !(ip == AZURE_DNS
        || ip.is_private()
        || ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast())
}

/// The ID of custom server `name` in subscription `sub`.
pub fn custom_server_id(sub: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/providers/{CUSTOM_SERVER_TYPE}/{name}")
}

/// Creates or replaces custom DNS server `name` in one store transaction, checking that
/// its VNET exists and holds its address. Returns the stored resource.
pub fn put_custom_server(store: &Store, sub: &str, name: &str, spec: &CustomServer) -> Result<Value, DnsError> {
    let invalid = |reason: String| DnsError::InvalidCustomServer { name: name.to_string(), reason };
    if sub.is_empty() || sub.contains('/') {
        return Err(invalid(format!("'{sub}' is not a subscription ID")));
    }
    if name.is_empty() || name.len() > 80 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(invalid("names are 1-80 letters, digits, hyphens and underscores".into()));
    }
    if spec.address == AZURE_DNS {
        return Err(invalid("168.63.129.16 is Azure DNS itself".into()));
    }
    for f in &spec.conditional_forwarders {
        if !super::names::valid_dns_name(&f.zone) {
            return Err(invalid(format!("conditional forwarder zone '{}' is not a DNS name", f.zone)));
        }
        if f.targets.is_empty() {
            return Err(invalid(format!("conditional forwarder for '{}' has no target", f.zone)));
        }
    }
    let id = custom_server_id(sub, name);
    if spec.vnet.is_empty() && !is_internet_address(spec.address) {
        return Err(invalid(format!("a server outside any VNET needs a public address, not {}", spec.address)));
    }
    store.transact(|tx| {
        if spec.vnet.is_empty() {
            return put_checked(tx, &id, name, spec.clone());
        }
        let vnet = tx
            .get_key(&spec.vnet.to_ascii_lowercase())
            .filter(|v| v["type"] == "Microsoft.Network/virtualNetworks")
            .ok_or_else(|| DnsError::VnetNotFound { name: name.to_string(), vnet: spec.vnet.clone() })?;
        let inside = vnet["properties"]["addressSpace"]["addressPrefixes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().and_then(Cidr::parse))
            .any(|c| c.contains(spec.address));
        if !inside {
            return Err(invalid(format!(
                "address {} is outside the address space of virtual network {}",
                spec.address,
                vnet["name"].as_str().unwrap_or_default()
            )));
        }
        let mut stored = spec.clone();
        stored.vnet = vnet["id"].as_str().unwrap_or_default().to_string();
        put_checked(tx, &id, name, stored)
    })
}

/// Stores a custom server unless another one already claims its modeled address.
fn put_checked(tx: &mut crate::model::Tx, id: &str, name: &str, stored: CustomServer) -> Result<Value, DnsError> {
    let invalid = |reason: String| DnsError::InvalidCustomServer { name: name.to_string(), reason };
    let taken = tx.filter(|v| {
        v["type"] == CUSTOM_SERVER_TYPE
            && !v["id"].as_str().unwrap_or_default().eq_ignore_ascii_case(id)
            && serde_json::from_value::<CustomServer>(v["properties"].clone())
                .is_ok_and(|o| o.modeled() == stored.modeled())
    });
    if let Some(other) = taken.first() {
        return Err(invalid(format!(
            "address {} is already used by custom DNS server {}",
            stored.address,
            other["name"].as_str().unwrap_or_default()
        )));
    }
    let props = serde_json::to_value(&stored).map_err(|e| invalid(e.to_string()))?;
    let value = json!({"id": id, "name": name, "type": CUSTOM_SERVER_TYPE, "properties": props});
    tx.put(value.clone());
    Ok(value)
}

/// Deletes custom DNS server `name`; `false` when there was none.
pub fn delete_custom_server(store: &Store, sub: &str, name: &str) -> Result<bool, DnsError> {
    let id = ResourceId::parse(&custom_server_id(sub, name))
        .map_err(|e| DnsError::InvalidCustomServer { name: name.to_string(), reason: e.to_string() })?;
    store.transact(|tx| {
        if tx.get(&id).is_none() {
            return Ok(false);
        }
        tx.delete(&id);
        Ok(true)
    })
}

/// Custom DNS servers by modeled address: (resource name, definition); the first in key
/// order when two claim one address (which [`put_custom_server`] refuses). Built once
/// per store sequence number.
pub(crate) struct CustomServers(BTreeMap<Modeled, (String, CustomServer)>);

impl CustomServers {
    /// The index of the store as it is now.
    pub fn of(store: &Store) -> Arc<CustomServers> {
        store.derived(|s| {
            let mut by_address = BTreeMap::new();
            for v in s.filter(|_, v| v["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(CUSTOM_SERVER_TYPE))) {
                if let Ok(spec) = serde_json::from_value::<CustomServer>(v["properties"].clone()) {
                    by_address
                        .entry(spec.modeled())
                        .or_insert((v["name"].as_str().unwrap_or_default().to_string(), spec));
                }
            }
            CustomServers(by_address)
        })
    }

    /// The server defined at this modeled address.
    pub fn at(&self, m: &Modeled) -> Option<&CustomServer> {
        self.0.get(m).map(|(_, spec)| spec)
    }
}

/// Every custom DNS server in the store: (resource ID, definition), in ID order. The
/// environment binds a socket for each (at `fabric.map.real(&spec.modeled())`).
pub fn list_custom_servers(store: &Store) -> Vec<(String, CustomServer)> {
    store
        .filter(|_, v| v["type"] == CUSTOM_SERVER_TYPE)
        .into_iter()
        .filter_map(|v| {
            let spec = serde_json::from_value(v["properties"].clone()).ok()?;
            Some((v["id"].as_str()?.to_string(), spec))
        })
        .collect()
}

/// The modeled address of DNS server `ip` as seen from `vnet` (lower-cased ID; `None`
/// outside any VNET): Azure DNS; an address of that VNET or of a peered one; any other
/// private address is taken as the asking VNET's own (where it reaches nothing); public
/// addresses are public.
pub fn locate_dns_server(plan: &Plan, vnet: Option<&str>, ip: Ipv4Addr) -> Modeled {
    if ip == AZURE_DNS {
        return Modeled::azure_dns();
    }
    let Some(own) = vnet.and_then(|v| plan.vnet(v)) else {
        return match vnet {
            Some(v) if ip.is_private() => Modeled::private(v, ip),
            _ => Modeled::public(ip),
        };
    };
    let holds = |key: &str| plan.vnets.get(key).is_some_and(|v| v.prefixes.iter().any(|p| p.contains(ip)));
    if holds(&own.key) {
        return Modeled::private(&own.key, ip);
    }
    if let Some(peer) = own.peers.iter().find(|p| holds(p)) {
        return Modeled::private(peer, ip);
    }
    if ip.is_private() { Modeled::private(&own.key, ip) } else { Modeled::public(ip) }
}

/// The DNS servers a resource asks, as modeled addresses, in order: `servers` (a site's
/// effective `dnsConfiguration.dnsServers` / `WEBSITE_DNS_SERVER` list) if not empty,
/// else its VNET's `dhcpOptions.dnsServers`, else Azure DNS (docs/azure.md C).
pub fn dns_servers_to_ask(plan: &Plan, vnet: Option<&str>, servers: &[Ipv4Addr]) -> Vec<Modeled> {
    let vnet_servers = vnet.and_then(|v| plan.vnet(v)).map(|v| v.dns_servers.clone()).unwrap_or_default();
    let list = if !servers.is_empty() { servers.to_vec() } else { vnet_servers };
    if list.is_empty() {
        return vec![Modeled::azure_dns()];
    }
    let key = vnet.map(str::to_ascii_lowercase);
    list.into_iter().map(|ip| locate_dns_server(plan, key.as_deref(), ip)).collect()
}

/// A custom server's answer.
pub(crate) struct Forwarded {
    pub rcode: ResponseCode,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
    /// What was asked where, and what came back, in order.
    pub notes: Vec<String>,
}

/// An upstream's answer to one name.
struct Reply {
    rcode: ResponseCode,
    answers: Vec<Record>,
    authority: Vec<Record>,
}

/// What forwarding needs of the environment: the store (the servers, the network),
/// how to reach other servers, and how long to wait for each.
pub(crate) struct Forwarding<'a> {
    /// The store.
    pub store: &'a Store,
    /// The address map and DNS port.
    pub fabric: &'a Fabric,
    /// How long to wait for each server asked.
    pub timeout: Duration,
}

/// The answer of the custom server at `me`, or `None` when no custom server is defined
/// there (nothing runs at that address: no answer at all, as in Azure).
pub(crate) async fn answer(fwd: &Forwarding<'_>, me: &Modeled, qname: &str, qtype: RecordType) -> Option<Forwarded> {
    let servers = CustomServers::of(fwd.store);
    let spec = servers.at(me)?;
    let ctx = Ctx { fwd, servers: &servers, snap: &Snapshot::of(fwd.store), plan: &Plan::of(fwd.store), me };
    let mut out =
        Forwarded { rcode: ResponseCode::NoError, answers: Vec::new(), authority: Vec::new(), notes: Vec::new() };
    let mut name = qname.to_string();
    let mut asked = BTreeSet::new();
    for _ in 0..MAX_CHAIN {
        if !asked.insert(name.clone()) {
            out.notes.push(format!("{name}: CNAME loop"));
            out.rcode = ResponseCode::ServFail;
            return Some(out);
        }
        let rule = spec.rule_for(&name);
        let Some(reply) = ask(&ctx, spec, rule, &name, qtype, &mut out.notes).await else {
            out.rcode = ResponseCode::ServFail;
            return Some(out);
        };
        // Keep the chain while the same rule covers it; a target another rule covers is
        // asked again through that rule.
        let mut current = name.clone();
        let mut next = None;
        for _ in 0..MAX_CHAIN {
            let owned: Vec<&Record> = reply.answers.iter().filter(|r| same_name(r, &current)).collect();
            let cname = owned.iter().find_map(|r| match &r.data {
                RData::CNAME(CNAME(t)) => Some((*r, lower(&t.to_ascii()))),
                _ => None,
            });
            if let (Some((record, target)), false) = (cname, qtype == RecordType::CNAME) {
                out.answers.push(record.clone());
                if spec.rule_for(&target) != rule {
                    next = Some(target);
                    break;
                }
                current = target;
                continue;
            }
            out.answers
                .extend(owned.into_iter().filter(|r| qtype == RecordType::ANY || r.record_type() == qtype).cloned());
            break;
        }
        match next {
            Some(target) => name = target,
            None => {
                out.rcode = reply.rcode;
                out.authority = reply.authority;
                return Some(out);
            }
        }
    }
    out.notes.push(format!("CNAME chain longer than {MAX_CHAIN}"));
    out.rcode = ResponseCode::ServFail;
    Some(out)
}

fn lower(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    name.strip_suffix('.').map(str::to_string).unwrap_or(name)
}

fn same_name(r: &Record, name: &str) -> bool {
    lower(&r.name.to_ascii()) == name
}

/// One forwarding server's context: the environment, the indexes of this sequence
/// number, and the server's own address.
struct Ctx<'a> {
    fwd: &'a Forwarding<'a>,
    servers: &'a CustomServers,
    snap: &'a Snapshot,
    plan: &'a Plan,
    me: &'a Modeled,
}

/// Asks the rule covering `name` (`Some(i)`: conditional forwarder `i`; `None`: the
/// upstream). `None` when nothing answered usefully.
async fn ask(
    ctx: &Ctx<'_>,
    spec: &CustomServer,
    rule: Option<usize>,
    name: &str,
    qtype: RecordType,
    notes: &mut Vec<String>,
) -> Option<Reply> {
    if let Some(f) = rule.and_then(|i| spec.conditional_forwarders.get(i)) {
        notes.push(format!("{name}: conditional forwarder {}", f.zone));
        return forward(ctx, &f.targets, name, qtype, notes).await;
    }
    match spec.upstream {
        Upstream::AzureDns => forward(ctx, &[AZURE_DNS], name, qtype, notes).await,
        Upstream::Public => {
            let r = resolve::resolve(ctx.snap, &View::Public, name, qtype);
            notes.push(format!("{name}: public resolver: {}", rcode_name(r.rcode)));
            Some(Reply { rcode: r.rcode, answers: r.answers, authority: r.authority })
        }
        Upstream::None => {
            notes.push(format!("{name}: no upstream"));
            None
        }
    }
}

/// Forwards to `targets` in order from `me`'s real address; the first answer that is not
/// SERVFAIL wins.
async fn forward(
    ctx: &Ctx<'_>,
    targets: &[Ipv4Addr],
    name: &str,
    qtype: RecordType,
    notes: &mut Vec<String>,
) -> Option<Reply> {
    let (me, plan) = (ctx.me, ctx.plan);
    let qname = fqdn(name)?;
    for &ip in targets {
        let target = locate_dns_server(plan, me.vnet.as_deref(), ip);
        if target == *me {
            notes.push(format!("{name}: {ip} is this server, skipped"));
            continue;
        }
        // 168.63.129.16 answers only inside Azure; elsewhere it is an address of nothing.
        let reachable =
            if target == Modeled::azure_dns() { me.vnet.is_some() } else { plan.reachable(me, &target).is_ok() };
        if !reachable {
            notes.push(format!("{name}: {ip} unreachable from {}", me.vnet.as_deref().unwrap_or("the internet")));
            continue;
        }
        if ctx.servers.at(&target).is_some() && leads_back(ctx.servers, plan, &target, me, name) {
            notes.push(format!("{name}: {ip} forwards back here, skipped"));
            continue;
        }
        let Ok(from) = ctx.fwd.fabric.map.local(me) else {
            notes.push(format!("{name}: this server's address is not configured here"));
            continue;
        };
        let to = ctx.fwd.fabric.dns_addr_from(me, &target);
        match client::query(from, to, &qname, qtype, ctx.fwd.timeout).await {
            Ok(reply) if reply.metadata.response_code == ResponseCode::ServFail => {
                notes.push(format!("{name}: {ip} answered SERVFAIL"));
            }
            Ok(reply) => {
                notes.push(format!("{name}: {ip} answered {}", rcode_name(reply.metadata.response_code)));
                return Some(Reply {
                    rcode: reply.metadata.response_code,
                    answers: reply.answers,
                    authority: reply.authorities,
                });
            }
            Err(e) => notes.push(format!("{name}: {ip}: {e}")),
        }
    }
    None
}

/// Whether custom server `start`, asked for `name`, would forward (through any chain of
/// custom servers) back to `origin`.
fn leads_back(servers: &CustomServers, plan: &Plan, start: &Modeled, origin: &Modeled, name: &str) -> bool {
    let mut stack = vec![start.clone()];
    let mut seen = BTreeSet::new();
    while let Some(m) = stack.pop() {
        if m == *origin {
            return true;
        }
        if !seen.insert(m.clone()) {
            continue;
        }
        let Some(spec) = servers.at(&m) else { continue };
        // Azure DNS and the internet never forward to a custom server.
        let Some(f) = spec.rule_for(name).and_then(|i| spec.conditional_forwarders.get(i)) else { continue };
        stack.extend(f.targets.iter().map(|ip| locate_dns_server(plan, m.vnet.as_deref(), *ip)));
    }
    false
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::StoreError;

    const VNET: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/hub";

    fn store_with_vnet() -> Store {
        let store = Store::in_memory();
        store
            .transact(|tx| {
                tx.put(json!({"id": VNET, "name": "hub", "type": "Microsoft.Network/virtualNetworks",
                    "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}));
                Ok::<_, StoreError>(())
            })
            .unwrap();
        store
    }

    #[test]
    fn a_custom_server_is_stored_under_its_own_type_and_checked() {
        let store = store_with_vnet();
        let spec = CustomServer::new([10, 0, 3, 4].into(), &VNET.to_ascii_lowercase(), Upstream::Public)
            .with_forwarder("privatelink.azurecr.io", &[AZURE_DNS]);
        let v = put_custom_server(&store, "s", "dns1", &spec).unwrap();
        assert_eq!(v["id"], "/subscriptions/s/providers/Pullsim.Dns/customServers/dns1");
        assert_eq!(v["properties"]["vnet"], VNET, "the VNET's ID as stored");
        assert_eq!(v["properties"]["conditionalForwarders"][0]["targets"][0], "168.63.129.16");
        let listed = list_custom_servers(&store);
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].1.modeled(), Modeled::private(VNET, [10, 0, 3, 4].into()));

        let outside = CustomServer::new([10, 1, 0, 4].into(), VNET, Upstream::Public);
        assert!(matches!(put_custom_server(&store, "s", "dns2", &outside), Err(DnsError::InvalidCustomServer { .. })));
        let same_address = CustomServer::new([10, 0, 3, 4].into(), VNET, Upstream::None);
        assert!(matches!(
            put_custom_server(&store, "s", "dns2", &same_address),
            Err(DnsError::InvalidCustomServer { .. })
        ));
        let nowhere = CustomServer::new([10, 0, 3, 5].into(), &VNET.replace("hub", "nope"), Upstream::None);
        assert!(matches!(put_custom_server(&store, "s", "dns2", &nowhere), Err(DnsError::VnetNotFound { .. })));
        assert!(delete_custom_server(&store, "s", "dns1").unwrap());
        assert!(!delete_custom_server(&store, "s", "dns1").unwrap());
        assert!(list_custom_servers(&store).is_empty());
    }

    #[test]
    fn the_longest_conditional_forwarder_covers_a_name() {
        let spec = CustomServer::new([10, 0, 3, 4].into(), VNET, Upstream::None)
            .with_forwarder("azurecr.io", &[AZURE_DNS])
            .with_forwarder("privatelink.azurecr.io.", &[AZURE_DNS]);
        assert_eq!(spec.rule_for("reg.privatelink.azurecr.io"), Some(1));
        assert_eq!(spec.rule_for("reg.azurecr.io"), Some(0));
        assert_eq!(spec.rule_for("example.com"), None);
    }

    #[test]
    fn servers_to_ask_follow_the_site_then_the_vnet_then_azure_dns() {
        let store = store_with_vnet();
        let plan = Plan::from_store(&store);
        let key = VNET.to_ascii_lowercase();
        assert_eq!(dns_servers_to_ask(&plan, Some(&key), &[]), [Modeled::azure_dns()]);
        assert_eq!(
            dns_servers_to_ask(&plan, Some(&key), &[[10, 0, 3, 4].into(), AZURE_DNS]),
            [Modeled::private(&key, [10, 0, 3, 4].into()), Modeled::azure_dns()]
        );
        assert_eq!(dns_servers_to_ask(&plan, None, &[[1, 1, 1, 1].into()]), [Modeled::public([1, 1, 1, 1].into())]);
    }
}
