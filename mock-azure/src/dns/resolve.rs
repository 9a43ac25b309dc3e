//! The views of Azure DNS (docs/azure.md C), as a pure function of the store's index.
//!
//! In a VNET's view the private DNS zones linked to that VNET are consulted first: the
//! linked zone with the longest name containing the query name answers it (record sets,
//! wildcards, empty non-terminals; NODATA for a type the name lacks). A name the zone does
//! not hold is NXDOMAIN — the "unresolvable host" of a stale link — unless the link's
//! `resolutionPolicy` is `NxDomainRedirect`, which sends the name to the public view.
//! Names outside every linked zone go to the public view. CNAMEs are followed inside one
//! answer, each name of the chain starting again from the asking VNET's linked zones
//! (that is how `<reg>.azurecr.io`, public, reaches `<reg>.privatelink.azurecr.io`,
//! private), and the answer section holds the whole chain, as Azure DNS gives it.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, CNAME, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::names::{self, in_zone, relative};
use super::snapshot::{Link, RecordSet, Snapshot, Zone, fqdn};
use crate::model::Store;

/// Which records a query sees.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum View {
    /// The internet's view: Azure's public records only.
    Public,
    /// A VNET's view: the private DNS zones linked to it, then the public view.
    Vnet {
        /// Lower-cased VNET ID.
        key: String,
        /// VNET name (for logs and traces).
        name: String,
    },
}

impl std::fmt::Display for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            View::Public => write!(f, "public"),
            View::Vnet { name, .. } => write!(f, "vnet {name}"),
        }
    }
}

/// Answers already computed from one snapshot, by (VNET or public, name, type): a
/// resolution depends on nothing else, so the answers are kept as long as the snapshot
/// is, one value per store sequence number ([`Store::derived`]).
pub(crate) struct Answers {
    /// The index the answers come from.
    pub snap: Arc<Snapshot>,
    memo: Mutex<HashMap<AnswerKey, Arc<Resolution>>>,
}

/// What an answer of Azure DNS depends on besides the index: the view's VNET (`None`:
/// public), the lower-cased name and the type.
type AnswerKey = (Option<String>, String, u16);

/// Answers kept per snapshot at most: names that do not exist are asked too (fuzzers,
/// typos), and each would stay otherwise.
pub(crate) const MAX_ANSWERS: usize = 4096;

impl Answers {
    /// The answers of the store as it is now (empty until asked).
    pub fn of(store: &Store) -> Arc<Answers> {
        store.derived(|s| Answers::new(Snapshot::of(s)))
    }

    /// No answer yet, from `snap`.
    pub fn new(snap: Arc<Snapshot>) -> Answers {
        Answers { snap, memo: Mutex::default() }
    }

    /// [`resolve`] in this snapshot, remembered (up to [`MAX_ANSWERS`]): the same question
    /// in the same view gets the same answer until the store moves.
    pub fn resolve(&self, view: &View, qname: &str, qtype: RecordType) -> Arc<Resolution> {
        let key = (
            match view {
                View::Public => None,
                View::Vnet { key, .. } => Some(key.clone()),
            },
            qname.to_string(),
            u16::from(qtype),
        );
        if let Some(r) = self.memo.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return r.clone();
        }
        let r = Arc::new(resolve(&self.snap, view, qname, qtype));
        let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        if memo.len() < MAX_ANSWERS {
            memo.insert(key, r.clone());
        }
        r
    }

    /// How many answers are remembered.
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.memo.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// The view for a modeled source: its VNET's if that VNET exists, else public.
pub(crate) fn view_for(snap: &Snapshot, source: Option<&crate::netplan::Modeled>) -> View {
    match source.and_then(|m| m.vnet.as_ref()) {
        Some(key) => match snap.vnets.get(key) {
            Some(name) => View::Vnet { key: key.clone(), name: name.clone() },
            None => View::Public,
        },
        None => View::Public,
    }
}

/// Longest CNAME chain followed in one answer; longer is a loop in all but name.
const MAX_CHAIN: usize = 16;

/// The answer to one question in one view.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// The view the question was asked in.
    pub view: View,
    /// The response code (NOERROR also for NODATA).
    pub rcode: ResponseCode,
    /// The answer section: the CNAME chain, then the records of the asked type.
    pub answers: Vec<Record>,
    /// The authority section: the SOA of the zone that denied the name or type.
    pub authority: Vec<Record>,
    /// Where each name of the chain was answered from, in order (for logs and traces),
    /// e.g. `reg.privatelink.azurecr.io: private zone privatelink.azurecr.io (link acrlink)`.
    pub sources: Vec<String>,
}

impl Resolution {
    /// The IPv4 addresses in the answer section (the end of the chain).
    pub fn addresses(&self) -> Vec<std::net::Ipv4Addr> {
        self.answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(a) => Some(a.0),
                _ => None,
            })
            .collect()
    }

    /// One line per answer record, `name TYPE data` (for logs).
    pub fn summary(&self) -> Vec<String> {
        self.answers.iter().map(summarize).collect()
    }
}

/// `name TYPE data` for one record.
pub(crate) fn summarize(r: &Record) -> String {
    let name = r.name.to_string();
    format!("{} {} {}", name.strip_suffix('.').unwrap_or(&name), r.record_type(), r.data)
}

/// The mnemonic of a response code as `dig` prints it.
pub fn rcode_name(rcode: ResponseCode) -> String {
    match rcode {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::BADVERS => "BADVERS".into(),
        other => format!("RCODE{}", u16::from(other)),
    }
}

/// What one name of the chain resolved to.
enum Step {
    /// Final records (the asked type, or everything for ANY).
    Records(Vec<Record>),
    /// A CNAME to follow.
    Cname(Record, String),
    /// The name exists without the asked type; the SOA of its zone.
    NoData(Option<Record>),
    /// The name does not exist; the SOA of its zone.
    NxDomain(Option<Record>),
    /// pullsim does not serve this name.
    Refused,
}

/// Resolves `qname` (lower-case, no trailing dot) in `view`.
pub(crate) fn resolve(snap: &Snapshot, view: &View, qname: &str, qtype: RecordType) -> Resolution {
    let mut res = Resolution {
        view: view.clone(),
        rcode: ResponseCode::NoError,
        answers: Vec::new(),
        authority: Vec::new(),
        sources: Vec::new(),
    };
    let mut current = view.clone();
    let mut name = qname.to_string();
    let mut seen = BTreeSet::new();
    for _ in 0..MAX_CHAIN {
        if !seen.insert(name.clone()) {
            res.sources.push(format!("{name}: CNAME loop"));
            res.rcode = ResponseCode::ServFail;
            return res;
        }
        // A name that does not round-trip cannot be in any zone pullsim serves.
        let Some(owner) = fqdn(&name) else {
            res.sources.push(format!("{name}: not a name pullsim serves"));
            if res.answers.is_empty() {
                res.rcode = ResponseCode::Refused;
            }
            return res;
        };
        let mut step = None;
        if let View::Vnet { key, .. } = &current {
            match private_step(snap, key, &name, &owner, qtype) {
                Private::Outside => {}
                Private::Answer(s, note) => {
                    res.sources.push(note);
                    step = Some(*s);
                }
                Private::Redirect(note) => {
                    // NxDomainRedirect: Azure DNS resolves the name on the internet instead.
                    res.sources.push(note);
                    current = View::Public;
                }
            }
        }
        let step = match step {
            Some(s) => s,
            None => {
                let (s, note) = public_step(snap, &name, &owner, qtype);
                res.sources.push(note);
                s
            }
        };
        match step {
            Step::Records(records) => {
                res.answers.extend(records);
                return res;
            }
            Step::Cname(record, target) => {
                res.answers.push(record);
                if qtype == RecordType::CNAME {
                    return res;
                }
                name = target;
            }
            Step::NoData(soa) => {
                res.authority.extend(soa);
                return res;
            }
            Step::NxDomain(soa) => {
                res.rcode = ResponseCode::NXDomain;
                res.authority.extend(soa);
                return res;
            }
            Step::Refused => {
                // A chain that leaves Azure's namespaces ends where pullsim's knowledge
                // ends: the client sees the chain so far and asks for the rest itself.
                if res.answers.is_empty() {
                    res.rcode = ResponseCode::Refused;
                }
                return res;
            }
        }
    }
    res.sources.push(format!("CNAME chain longer than {MAX_CHAIN}"));
    res.rcode = ResponseCode::ServFail;
    res
}

enum Private {
    /// No linked zone holds the name.
    Outside,
    /// A linked zone answered.
    Answer(Box<Step>, String),
    /// The zone lacks the name and the link redirects to the public view.
    Redirect(String),
}

/// The linked zone (longest name first, then link order) holding `name`, if any.
fn linked_zone<'a>(snap: &'a Snapshot, vnet: &str, name: &str) -> Option<(&'a Link, &'a Zone)> {
    let mut best: Option<(&Link, &Zone)> = None;
    for link in snap.links.get(vnet).into_iter().flatten() {
        let Some(zone) = snap.zones.get(&link.zone_key) else { continue };
        if in_zone(name, &zone.name) && best.is_none_or(|(_, b)| zone.name.len() > b.name.len()) {
            best = Some((link, zone));
        }
    }
    best
}

fn private_step(snap: &Snapshot, vnet: &str, name: &str, owner: &Name, qtype: RecordType) -> Private {
    let Some((link, zone)) = linked_zone(snap, vnet, name) else {
        return Private::Outside;
    };
    let rel = relative(name, &zone.name).unwrap_or("@");
    let soa = zone_soa(zone);
    let whence = format!("{name}: private zone {} (link {})", zone.name, link.name);
    match find_node(zone, rel) {
        Some(sets) => Private::Answer(Box::new(node_step(sets, owner, qtype, soa)), whence),
        None if link.nx_redirect => Private::Redirect(format!("{whence}: no record, NxDomainRedirect to public")),
        None => Private::Answer(Box::new(Step::NxDomain(soa)), format!("{whence}: no record")),
    }
}

/// The record sets answering `rel` in `zone`: its own, a wildcard's (RFC 4592), or none
/// for an existing name without records (the apex or an empty non-terminal). `None`
/// means the name does not exist.
fn find_node<'a>(zone: &'a Zone, rel: &str) -> Option<&'a [RecordSet]> {
    const EMPTY: &[RecordSet] = &[];
    if let Some(sets) = zone.sets.get(rel) {
        return Some(sets);
    }
    if rel == "@" || node_exists(zone, rel) {
        return Some(EMPTY);
    }
    // The closest existing ancestor decides: its wildcard child answers, else NXDOMAIN.
    let mut parent = rel;
    loop {
        parent = parent.split_once('.').map_or("@", |(_, rest)| rest);
        let wildcard = if parent == "@" { "*".to_string() } else { format!("*.{parent}") };
        if let Some(sets) = zone.sets.get(&wildcard) {
            return Some(sets);
        }
        if parent == "@" || node_exists(zone, parent) {
            return None;
        }
    }
}

/// Whether `rel` has records or names below it (an empty non-terminal).
fn node_exists(zone: &Zone, rel: &str) -> bool {
    let below = format!(".{rel}");
    zone.sets.contains_key(rel) || zone.sets.keys().any(|k| k.ends_with(&below))
}

fn node_step(sets: &[RecordSet], owner: &Name, qtype: RecordType, soa: Option<Record>) -> Step {
    let record = |set: &RecordSet, data: &RData| Record::from_rdata(owner.clone(), set.ttl, data.clone());
    if qtype != RecordType::CNAME
        && let Some(set) = sets.iter().find(|s| s.rtype == RecordType::CNAME)
        && let Some(data @ RData::CNAME(CNAME(target))) = set.data.first()
    {
        let target = target.to_ascii().to_ascii_lowercase();
        return Step::Cname(record(set, data), target.strip_suffix('.').unwrap_or(&target).to_string());
    }
    let records: Vec<Record> = sets
        .iter()
        .filter(|s| qtype == RecordType::ANY || s.rtype == qtype)
        .flat_map(|s| s.data.iter().map(move |d| record(s, d)))
        .collect();
    if records.is_empty() { Step::NoData(soa) } else { Step::Records(records) }
}

/// The zone's SOA for a negative answer, its TTL capped at the SOA minimum (RFC 2308 §3).
fn zone_soa(zone: &Zone) -> Option<Record> {
    let (ttl, soa) = zone.soa.as_ref()?;
    Some(Record::from_rdata(fqdn(&zone.name)?, (*ttl).min(soa.minimum), RData::SOA(soa.clone())))
}

/// The synthesized SOA of a public zone.
fn public_soa(zone: &str) -> Option<Record> {
    let soa = SOA::new(
        fqdn(names::PUBLIC_SOA_MNAME)?,
        fqdn(names::PUBLIC_SOA_RNAME)?,
        1,
        3600,
        300,
        2_419_200,
        names::PUBLIC_NEGATIVE_TTL,
    );
    Some(Record::from_rdata(fqdn(zone)?, names::PUBLIC_NEGATIVE_TTL, RData::SOA(soa)))
}

fn cname(owner: &Name, target: String) -> Option<Step> {
    let data = RData::CNAME(CNAME(fqdn(&target)?));
    Some(Step::Cname(Record::from_rdata(owner.clone(), names::PUBLIC_TTL, data), target))
}

fn address(owner: &Name, qtype: RecordType, ip: Option<std::net::Ipv4Addr>, zone: &str) -> Step {
    match ip {
        Some(ip) if matches!(qtype, RecordType::A | RecordType::ANY) => {
            Step::Records(vec![Record::from_rdata(owner.clone(), names::PUBLIC_TTL, RData::A(A(ip)))])
        }
        _ => Step::NoData(public_soa(zone)),
    }
}

/// The public view of one name.
fn public_step(snap: &Snapshot, name: &str, owner: &Name, qtype: RecordType) -> (Step, String) {
    let Some(zone) = names::azure_suffix(name) else {
        if snap.zone_names.iter().any(|z| in_zone(name, z)) {
            // A private zone's name seen from outside it: the internet does not have it.
            return (Step::NxDomain(None), format!("{name}: public (private zone not linked here)"));
        }
        return (Step::Refused, format!("{name}: outside Azure's namespaces, refused"));
    };
    let whence = format!("{name}: public");
    let nx = || Step::NxDomain(public_soa(zone));
    let Some(rel) = relative(name, zone) else {
        // The apex of a public zone: only its SOA.
        let step = match (qtype, public_soa(zone)) {
            (RecordType::SOA | RecordType::ANY, Some(soa)) => Step::Records(vec![soa]),
            (_, soa) => Step::NoData(soa),
        };
        return (step, whence);
    };
    let labels: Vec<&str> = rel.split('.').collect();
    let registry = |reg: &str| snap.registries.get(reg);
    let in_region = |reg: &str, region: &str| registry(reg).filter(|r| r.region == region);
    let step = match (zone, labels.as_slice()) {
        (names::ACR_SUFFIX, ["privatelink"]) => Some(Step::NoData(public_soa(zone))),
        (names::ACR_SUFFIX, [reg]) => registry(reg).and_then(|_| cname(owner, names::login_privatelink(reg))),
        (names::ACR_SUFFIX, [reg, "privatelink"]) => {
            registry(reg).and_then(|r| cname(owner, names::login_frontend(reg, &r.region)))
        }
        (names::ACR_SUFFIX, [reg, region, "data"]) => {
            in_region(reg, region).and_then(|_| cname(owner, names::data_privatelink(reg, region)))
        }
        (names::ACR_SUFFIX, [reg, region, "data", "privatelink"]) => {
            in_region(reg, region).and_then(|_| cname(owner, names::data_frontend(reg, region)))
        }
        (names::ACR_FRONTEND_SUFFIX, [reg, region, "fe"]) => {
            in_region(reg, region).map(|r| address(owner, qtype, r.login_ip, zone))
        }
        (names::ACR_FRONTEND_SUFFIX, [reg, region, "data"]) => {
            in_region(reg, region).map(|r| address(owner, qtype, r.data_ip, zone))
        }
        // A site's name answers with its first outbound address (pullsim does not model
        // App Service's inbound frontends; nothing in a pull connects to the site).
        (names::WEB_SUFFIX, [app] | [app, "scm"]) => snap.sites.get(*app).map(|ip| address(owner, qtype, *ip, zone)),
        _ => None,
    };
    (step.unwrap_or_else(nx), whence)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::model::{Store, StoreError};

    const RG: &str = "/subscriptions/s/resourceGroups/rg";
    const REG: &str = "myacr2021";

    fn vnet_id(name: &str) -> String {
        format!("{RG}/providers/Microsoft.Network/virtualNetworks/{name}")
    }

    fn zone_id(zone: &str) -> String {
        format!("{RG}/providers/Microsoft.Network/privateDnsZones/{zone}")
    }

    fn put(store: &Store, values: Vec<Value>) {
        store
            .transact(|tx| {
                for v in values {
                    tx.put(v);
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
    }

    fn a_record(zone: &str, name: &str, ip: &str, ttl: u64) -> Value {
        json!({"id": format!("{}/A/{name}", zone_id(zone)), "name": name, "type": "Microsoft.Network/privateDnsZones/A",
               "properties": {"ttl": ttl, "aRecords": [{"ipv4Address": ip}]}})
    }

    fn zone(zone: &str) -> Vec<Value> {
        vec![
            json!({"id": zone_id(zone), "name": zone, "type": "Microsoft.Network/privateDnsZones", "properties": {}}),
            json!({"id": format!("{}/SOA/@", zone_id(zone)), "name": "@", "type": "Microsoft.Network/privateDnsZones/SOA",
                   "properties": {"ttl": 3600, "soaRecord": {"email": "azureprivatedns-host.microsoft.com", "host": "azureprivatedns.net", "minimumTtl": 10, "serialNumber": 1, "refreshTime": 3600, "retryTime": 300, "expireTime": 2419200}}}),
        ]
    }

    fn link(zone: &str, name: &str, vnet: &str, policy: &str) -> Value {
        json!({"id": format!("{}/virtualNetworkLinks/{name}", zone_id(zone)), "name": name,
               "type": "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
               "properties": {"virtualNetwork": {"id": vnet_id(vnet)}, "registrationEnabled": false, "resolutionPolicy": policy}})
    }

    /// A registry with a private endpoint's records in `privatelink.azurecr.io`, linked to
    /// VNET `hub`; VNET `spoke` is not linked.
    fn fixture() -> Store {
        let store = Store::in_memory();
        let mut values = vec![
            json!({"id": vnet_id("hub"), "name": "hub", "type": "Microsoft.Network/virtualNetworks"}),
            json!({"id": vnet_id("spoke"), "name": "spoke", "type": "Microsoft.Network/virtualNetworks"}),
            json!({"id": format!("{RG}/providers/Microsoft.ContainerRegistry/registries/MyAcr2021"), "name": "MyAcr2021",
                   "type": "Microsoft.ContainerRegistry/registries", "location": "westeurope",
                   "_pullsim": {"publicIps": ["20.1.0.1", "20.1.0.2"]}}),
            json!({"id": format!("{RG}/providers/Microsoft.Web/sites/web"), "name": "web", "type": "Microsoft.Web/sites",
                   "properties": {"outboundIpAddresses": "20.2.0.1,20.2.0.2"}}),
        ];
        values.extend(zone(names::ACR_PRIVATELINK));
        values.push(a_record(names::ACR_PRIVATELINK, REG, "10.0.2.4", 10));
        values.push(a_record(names::ACR_PRIVATELINK, &format!("{REG}.westeurope.data"), "10.0.2.5", 10));
        values.push(link(names::ACR_PRIVATELINK, "acrlink", "hub", "Default"));
        put(&store, values);
        store
    }

    fn view(vnet: &str) -> View {
        View::Vnet { key: vnet_id(vnet).to_ascii_lowercase(), name: vnet.into() }
    }

    fn ask(store: &Store, view: &View, name: &str, qtype: RecordType) -> Resolution {
        resolve(&Snapshot::of(store), view, name, qtype)
    }

    fn chain(r: &Resolution) -> Vec<String> {
        r.summary()
    }

    #[test]
    fn linked_vnet_gets_the_cname_and_the_private_address() {
        let store = fixture();
        let r = ask(&store, &view("hub"), &names::login_server(REG), RecordType::A);
        assert_eq!(r.rcode, ResponseCode::NoError);
        assert_eq!(
            chain(&r),
            [
                "myacr2021.azurecr.io CNAME myacr2021.privatelink.azurecr.io.",
                "myacr2021.privatelink.azurecr.io A 10.0.2.4"
            ]
        );
        assert_eq!(r.answers[1].ttl, 10, "the record set's TTL");
        assert!(r.sources[1].contains("private zone privatelink.azurecr.io (link acrlink)"), "{:?}", r.sources);
    }

    #[test]
    fn unlinked_vnet_and_the_internet_get_the_public_chain() {
        let store = fixture();
        for v in [view("spoke"), View::Public] {
            let r = ask(&store, &v, &names::login_server(REG), RecordType::A);
            assert_eq!(r.rcode, ResponseCode::NoError);
            assert_eq!(
                chain(&r),
                [
                    "myacr2021.azurecr.io CNAME myacr2021.privatelink.azurecr.io.",
                    "myacr2021.privatelink.azurecr.io CNAME myacr2021.westeurope.fe.azcr.io.",
                    "myacr2021.westeurope.fe.azcr.io A 20.1.0.1"
                ],
                "{v}"
            );
        }
        let r = ask(&store, &View::Public, &names::data_endpoint(REG, "westeurope"), RecordType::A);
        assert_eq!(r.addresses(), [std::net::Ipv4Addr::new(20, 1, 0, 2)]);
    }

    #[test]
    fn linked_zone_without_the_record_is_nxdomain_with_the_zone_soa() {
        let store = fixture();
        let r = ask(&store, &view("hub"), "otheracr.privatelink.azurecr.io", RecordType::A);
        assert_eq!(r.rcode, ResponseCode::NXDomain);
        assert_eq!(r.authority.len(), 1);
        assert_eq!(r.authority[0].record_type(), RecordType::SOA);
        assert_eq!(r.authority[0].ttl, 10, "capped at the SOA minimum");
        // The registry exists publicly, but the linked zone lacks its record.
        let r = ask(&store, &view("hub"), &names::data_endpoint(REG, "northeurope"), RecordType::A);
        assert_eq!(r.rcode, ResponseCode::NXDomain, "wrong region: no such data endpoint");
    }

    #[test]
    fn nx_domain_redirect_falls_back_to_the_public_view() {
        let store = fixture();
        store
            .transact(|tx| {
                tx.delete(
                    &crate::model::ResourceId::parse(&format!("{}/A/{REG}", zone_id(names::ACR_PRIVATELINK))).unwrap(),
                );
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let hub = view("hub");
        assert_eq!(ask(&store, &hub, &names::login_server(REG), RecordType::A).rcode, ResponseCode::NXDomain);
        put(&store, vec![link(names::ACR_PRIVATELINK, "acrlink", "hub", "NxDomainRedirect")]);
        let r = ask(&store, &hub, &names::login_server(REG), RecordType::A);
        assert_eq!(r.rcode, ResponseCode::NoError);
        assert_eq!(r.addresses(), [std::net::Ipv4Addr::new(20, 1, 0, 1)]);
        // The data record is still in the zone: the private address.
        let r = ask(&store, &hub, &names::data_endpoint(REG, "westeurope"), RecordType::A);
        assert_eq!(r.addresses(), [std::net::Ipv4Addr::new(10, 0, 2, 5)]);
    }

    #[test]
    fn names_outside_azure_are_refused_and_unknown_registries_do_not_exist() {
        let store = fixture();
        let hub = view("hub");
        assert_eq!(ask(&store, &hub, "example.com", RecordType::A).rcode, ResponseCode::Refused);
        assert_eq!(ask(&store, &View::Public, "", RecordType::A).rcode, ResponseCode::Refused);
        assert_eq!(ask(&store, &hub, "nosuchacr.azurecr.io", RecordType::A).rcode, ResponseCode::NXDomain);
        assert_eq!(ask(&store, &View::Public, "evilazurecr.io", RecordType::A).rcode, ResponseCode::Refused);
        let apex = ask(&store, &View::Public, "azurecr.io", RecordType::SOA);
        assert_eq!((apex.rcode, apex.answers.len()), (ResponseCode::NoError, 1));
    }

    #[test]
    fn a_type_the_name_lacks_is_nodata_at_the_end_of_the_chain() {
        let store = fixture();
        for v in [view("hub"), View::Public] {
            let r = ask(&store, &v, &names::login_server(REG), RecordType::AAAA);
            assert_eq!(r.rcode, ResponseCode::NoError);
            assert!(r.answers.iter().all(|a| a.record_type() == RecordType::CNAME), "{:?}", chain(&r));
            assert_eq!(r.authority.len(), 1, "SOA of the zone that has no AAAA");
        }
        let r = ask(&store, &View::Public, &names::login_server(REG), RecordType::CNAME);
        assert_eq!(
            chain(&r),
            ["myacr2021.azurecr.io CNAME myacr2021.privatelink.azurecr.io."],
            "CNAME asked: not chased"
        );
    }

    #[test]
    fn the_longest_linked_zone_answers_with_wildcards_and_empty_non_terminals() {
        let store = fixture();
        let mut values = zone("contoso.internal");
        values.extend(zone("dev.contoso.internal"));
        values.push(a_record("contoso.internal", "app.dev", "10.9.9.9", 300));
        values.push(a_record("dev.contoso.internal", "app", "10.0.5.5", 300));
        values.push(a_record("dev.contoso.internal", "*.svc", "10.0.6.6", 60));
        values.push(a_record("dev.contoso.internal", "x.y", "10.0.7.7", 60));
        values.push(link("contoso.internal", "l1", "hub", "Default"));
        values.push(link("dev.contoso.internal", "l2", "hub", "Default"));
        put(&store, values);
        let hub = view("hub");
        assert_eq!(
            ask(&store, &hub, "app.dev.contoso.internal", RecordType::A).addresses(),
            [std::net::Ipv4Addr::new(10, 0, 5, 5)]
        );
        let wild = ask(&store, &hub, "a.b.svc.dev.contoso.internal", RecordType::A);
        assert_eq!(chain(&wild), ["a.b.svc.dev.contoso.internal A 10.0.6.6"]);
        let ent = ask(&store, &hub, "y.dev.contoso.internal", RecordType::A);
        assert_eq!((ent.rcode, ent.answers.len()), (ResponseCode::NoError, 0), "empty non-terminal: NODATA");
        assert_eq!(ask(&store, &hub, "z.y.dev.contoso.internal", RecordType::A).rcode, ResponseCode::NXDomain);
        // Not linked to spoke: the internet has no such zone.
        let r = ask(&store, &view("spoke"), "app.dev.contoso.internal", RecordType::A);
        assert_eq!(r.rcode, ResponseCode::NXDomain);
    }

    #[test]
    fn private_cnames_are_followed_across_zones_and_loops_fail() {
        let store = fixture();
        let mut values = zone("contoso.internal");
        values.push(json!({"id": format!("{}/CNAME/registry", zone_id("contoso.internal")), "name": "registry",
            "type": "Microsoft.Network/privateDnsZones/CNAME", "properties": {"ttl": 30, "cnameRecord": {"cname": "MyAcr2021.azurecr.io"}}}));
        values.push(json!({"id": format!("{}/CNAME/loop", zone_id("contoso.internal")), "name": "loop",
            "type": "Microsoft.Network/privateDnsZones/CNAME", "properties": {"ttl": 30, "cnameRecord": {"cname": "loop.contoso.internal"}}}));
        values.push(link("contoso.internal", "l1", "hub", "Default"));
        put(&store, values);
        let r = ask(&store, &view("hub"), "registry.contoso.internal", RecordType::A);
        assert_eq!(
            chain(&r),
            [
                "registry.contoso.internal CNAME MyAcr2021.azurecr.io.",
                "myacr2021.azurecr.io CNAME myacr2021.privatelink.azurecr.io.",
                "myacr2021.privatelink.azurecr.io A 10.0.2.4"
            ]
        );
        let r = ask(&store, &view("hub"), "loop.contoso.internal", RecordType::A);
        assert_eq!(r.rcode, ResponseCode::ServFail, "a CNAME loop in the zone is the zone's fault");
    }

    #[test]
    fn a_site_resolves_to_its_first_outbound_address() {
        let store = fixture();
        let r = ask(&store, &View::Public, "web.azurewebsites.net", RecordType::A);
        assert_eq!(r.addresses(), [std::net::Ipv4Addr::new(20, 2, 0, 1)]);
        assert_eq!(ask(&store, &View::Public, "nosite.azurewebsites.net", RecordType::A).rcode, ResponseCode::NXDomain);
    }

    #[test]
    fn an_arm_change_is_seen_by_the_next_snapshot() {
        let store = fixture();
        let snap = Snapshot::of(&store);
        put(&store, vec![a_record(names::ACR_PRIVATELINK, REG, "10.0.2.9", 10)]);
        assert!(!Arc::ptr_eq(&snap, &Snapshot::of(&store)), "a commit moves the cache key");
        let r = ask(&store, &view("hub"), &names::login_server(REG), RecordType::A);
        assert_eq!(r.addresses(), [std::net::Ipv4Addr::new(10, 0, 2, 9)]);
    }

    #[test]
    fn answers_are_remembered_per_view_and_name_and_the_memory_is_bounded() {
        let store = fixture();
        let answers = Answers::of(&store);
        assert!(Arc::ptr_eq(&answers, &Answers::of(&store)), "one memory per sequence number");
        let login = names::login_server(REG);
        let first = answers.resolve(&view("hub"), &login, RecordType::A);
        let again = answers.resolve(&view("hub"), &login, RecordType::A);
        assert!(Arc::ptr_eq(&first, &again), "the second ask is the remembered answer");
        let public = answers.resolve(&View::Public, &login, RecordType::A);
        assert_ne!(public.addresses(), first.addresses(), "views are remembered apart");
        for i in 0..MAX_ANSWERS + 100 {
            answers.resolve(&View::Public, &format!("n{i}.azurecr.io"), RecordType::A);
        }
        assert_eq!(answers.remembered(), MAX_ANSWERS, "at most MAX_ANSWERS answers are kept");
        // Past the bound an answer is still right, only not remembered.
        let late = answers.resolve(&view("hub"), &format!("{REG}.westeurope.data.azurecr.io"), RecordType::A);
        assert_eq!(late.addresses(), [std::net::Ipv4Addr::new(10, 0, 2, 5)]);
    }
}
