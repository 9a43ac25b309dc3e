//! The schema: a walk of the document tree that builds the typed scenario and records
//! every problem on the way (unknown keys with a "did you mean", wrong types, bad
//! values, undefined references) instead of stopping at the first.
//!
//! Each table is read through a [`Tbl`] that learns the keys the walk asks for, so the
//! list of known keys behind "unknown key … did you mean" is the code itself.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use mock_azure::appservice::rules::Epoch;
use mock_azure::appservice::trace::{Code, RouteKind, Stage};
use mock_azure::model::net::Cidr;
use serde_json::{Map, Value, json};

use super::error::did_you_mean;
use super::model::*;
use super::tree::{At, Entry, Files, Node, Val};

/// Root keys that hold a list of named tables; `[registry]` may be written as one table.
pub(crate) const COLLECTIONS: &[&str] =
    &["vnet", "registry", "private_endpoint", "private_dns_zone", "custom_dns", "identity", "role_assignment"];

/// Root keys that describe the topology (what a fixture may hold).
pub(crate) const TOPOLOGY_KEYS: &[&str] = &[
    "resource_group",
    "vnet",
    "registry",
    "private_endpoint",
    "private_dns_zone",
    "custom_dns",
    "identity",
    "role_assignment",
    "plan",
    "site",
];

/// Azure DNS's address, as custom DNS forwarders write it.
pub(crate) const AZURE_DNS: Ipv4Addr = Ipv4Addr::new(168, 63, 129, 16);

/// What the document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocKind {
    /// A scenario (merged with its fixture, a matrix cell applied).
    Scenario,
    /// A fixture on its own: a topology only.
    Fixture,
}

/// What a walk checks beyond the shape of each table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checks {
    /// References between resources, required tables.
    pub whole: bool,
}

/// A table being read: the keys asked for are the known keys.
pub(crate) struct Tbl<'n> {
    node: &'n Node,
    entries: &'n [Entry],
    ctx: String,
    known: Vec<&'static str>,
}

impl<'n> Tbl<'n> {
    pub(crate) fn get(&mut self, key: &'static str) -> Option<&'n Node> {
        if !self.known.contains(&key) {
            self.known.push(key);
        }
        self.entries.iter().find(|e| e.key == key).map(|e| &e.node)
    }

    /// Marks a key as known without reading it here.
    pub(crate) fn allow(&mut self, key: &'static str) {
        let _ = self.get(key);
    }

    fn at(&self) -> At {
        self.node.at
    }

    /// `'key' in [ctx]` or `'key'` at the top level.
    fn place(&self, key: &str) -> String {
        if self.ctx.is_empty() { format!("'{key}'") } else { format!("'{key}' in {}", self.ctx) }
    }
}

/// A reference to check once the whole topology is known.
enum Ref {
    Vnet { name: String, at: At, place: String },
    Subnet { r: SubnetRef, at: At, place: String },
    Registry { name: String, at: At, place: String },
    Zone { name: String, at: At, place: String },
    Identity { name: String, at: At, place: String },
    AddressInVnet { vnet: String, ip: Ipv4Addr, at: At, place: String },
}

/// The scenario-level parts of a root table.
#[derive(Debug, Default)]
pub(crate) struct Head {
    pub name: Option<String>,
    pub description: Option<String>,
    pub rules: Option<Epoch>,
    pub steps: Vec<Step>,
    pub expect: Option<Expect>,
}

pub(crate) struct Walker<'a> {
    pub f: &'a mut Files,
    refs: Vec<Ref>,
    checks: Checks,
    /// `site` principal of role assignments (needs a system identity), checked at the end.
    site_principal_uses: Vec<At>,
}

fn fmt_list(words: &[&str]) -> String {
    words.join(", ")
}

impl<'a> Walker<'a> {
    pub fn new(f: &'a mut Files, checks: Checks) -> Walker<'a> {
        Walker { f, refs: Vec::new(), checks, site_principal_uses: Vec::new() }
    }

    fn err(&mut self, at: At, msg: impl Into<String>) {
        self.f.err(at, msg);
    }

    // ---- tables and scalars -------------------------------------------------------

    /// Opens `node` as a table named `ctx` (`[site.config]`), or records that it is not.
    pub(crate) fn table<'n>(&mut self, node: &'n Node, ctx: &str) -> Option<Tbl<'n>> {
        match &node.v {
            Val::Table(entries) => Some(Tbl { node, entries, ctx: ctx.to_string(), known: Vec::new() }),
            other => {
                self.err(node.at, format!("{ctx} must be a table, found {}", other.kind()));
                None
            }
        }
    }

    /// Reports the keys of `t` nobody asked for.
    pub(crate) fn finish(&mut self, t: Tbl<'_>) {
        for e in t.entries {
            if t.known.contains(&e.key.as_str()) {
                continue;
            }
            let place = if t.ctx.is_empty() { "at the top level".to_string() } else { format!("in {}", t.ctx) };
            let hint = if e.key == "remove" {
                "; `remove = true` only deletes an entry of the scenario's fixture".to_string()
            } else {
                did_you_mean(&e.key, t.known.iter().copied())
            };
            self.err(e.key_at, format!("unknown key '{}' {place}{hint}", e.key));
        }
    }

    fn wrong(&mut self, t: &Tbl<'_>, key: &str, node: &Node, expected: &str) {
        self.err(node.at, format!("{} must be {expected}, found {}", t.place(key), node.v.kind()));
    }

    fn missing(&mut self, t: &Tbl<'_>, key: &str) {
        // Checked alone (its fixture is broken), a scenario may leave to the fixture
        // what the fixture gives; only its own `name` is surely missing.
        if !self.checks.whole && !t.ctx.is_empty() {
            return;
        }
        let ctx = if t.ctx.is_empty() { "at the top level".to_string() } else { format!("in {}", t.ctx) };
        self.err(t.at(), format!("missing key '{key}' {ctx}"));
    }

    pub(crate) fn str_node(&mut self, t: &mut Tbl<'_>, key: &'static str) -> Option<(String, At)> {
        let n = t.get(key)?;
        match &n.v {
            Val::Str(s) => Some((s.clone(), n.at)),
            _ => {
                self.wrong(t, key, n, "a string");
                None
            }
        }
    }

    fn str(&mut self, t: &mut Tbl<'_>, key: &'static str) -> Option<String> {
        self.str_node(t, key).map(|(s, _)| s)
    }

    /// A required non-empty string (an empty placeholder when missing).
    pub(crate) fn req_str(&mut self, t: &mut Tbl<'_>, key: &'static str) -> (String, At) {
        match t.entries.iter().any(|e| e.key == key) {
            false => {
                t.allow(key);
                self.missing(t, key);
                (String::new(), t.at())
            }
            true => match self.str_node(t, key) {
                Some((s, at)) if s.trim().is_empty() => {
                    self.err(at, format!("{} must not be empty", t.place(key)));
                    (s, at)
                }
                Some(x) => x,
                None => (String::new(), t.at()),
            },
        }
    }

    fn bool(&mut self, t: &mut Tbl<'_>, key: &'static str) -> Option<bool> {
        let n = t.get(key)?;
        match &n.v {
            Val::Bool(b) => Some(*b),
            _ => {
                self.wrong(t, key, n, "a boolean (true or false)");
                None
            }
        }
    }

    fn uint(&mut self, t: &mut Tbl<'_>, key: &'static str, min: u64, max: u64) -> Option<u64> {
        let n = t.get(key)?;
        match &n.v {
            Val::Int(Some(i)) if *i >= 0 && (*i as u64) >= min && (*i as u64) <= max => Some(*i as u64),
            Val::Int(_) => {
                self.err(n.at, format!("{} must be an integer from {min} to {max}", t.place(key)));
                None
            }
            _ => {
                self.wrong(t, key, n, "an integer");
                None
            }
        }
    }

    /// A string from a closed set of words.
    fn word<W>(
        &mut self,
        t: &mut Tbl<'_>,
        key: &'static str,
        parse: impl Fn(&str) -> Option<W>,
        words: &[&str],
    ) -> Option<W> {
        let (s, at) = self.str_node(t, key)?;
        match parse(&s) {
            Some(w) => Some(w),
            None => {
                let hint = did_you_mean(&s, words.iter().copied());
                self.err(at, format!("{} must be one of {}, found '{s}'{hint}", t.place(key), fmt_list(words)));
                None
            }
        }
    }

    /// An array of strings (a single string is not accepted: TOML arrays are cheap).
    fn str_list(&mut self, t: &mut Tbl<'_>, key: &'static str) -> Option<Vec<(String, At)>> {
        let n = t.get(key)?;
        let Val::Array(items) = &n.v else {
            self.wrong(t, key, n, "an array of strings");
            return None;
        };
        let mut out = Vec::new();
        for item in items {
            match &item.v {
                Val::Str(s) => out.push((s.clone(), item.at)),
                other => {
                    self.err(item.at, format!("each item of {} must be a string, found {}", t.place(key), other.kind()))
                }
            }
        }
        Some(out)
    }

    /// A string or an array of strings.
    pub(crate) fn str_or_list(&mut self, t: &mut Tbl<'_>, key: &'static str) -> Option<Vec<(String, At)>> {
        match t.entries.iter().find(|e| e.key == key).map(|e| &e.node.v) {
            Some(Val::Str(_)) => self.str_node(t, key).map(|x| vec![x]),
            Some(_) => self.str_list(t, key),
            None => {
                t.allow(key);
                None
            }
        }
    }

    /// The tables of an array of tables (`[[x]]` or `x = [{...}]`).
    pub(crate) fn tables<'n>(&mut self, t: &mut Tbl<'n>, key: &'static str) -> Vec<&'n Node> {
        let Some(n) = t.get(key) else { return Vec::new() };
        match &n.v {
            Val::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    if matches!(item.v, Val::Table(_)) {
                        out.push(item);
                    } else {
                        self.err(
                            item.at,
                            format!("each item of {} must be a table, found {}", t.place(key), item.v.kind()),
                        );
                    }
                }
                out
            }
            _ => {
                self.wrong(t, key, n, "an array of tables");
                Vec::new()
            }
        }
    }

    fn cidr(&mut self, s: &str, at: At, place: &str) -> Option<Cidr> {
        if !s.contains('/') {
            self.err(at, format!("{place}: '{s}' is not an IPv4 prefix (a.b.c.d/n)"));
            return None;
        }
        if let Some(c) = Cidr::parse(s) {
            return Some(c);
        }
        match Cidr::parse_lenient(s) {
            Some(c) => self.err(at, format!("{place}: '{s}' has host bits set; did you mean '{c}'?")),
            None => self.err(at, format!("{place}: '{s}' is not a valid IPv4 prefix (a.b.c.d/n, n at most 32)")),
        }
        None
    }

    fn ipv4(&mut self, s: &str, at: At, place: &str) -> Option<Ipv4Addr> {
        match s.parse::<Ipv4Addr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                self.err(at, format!("{place}: '{s}' is not an IPv4 address"));
                None
            }
        }
    }

    fn unique(&mut self, seen: &mut Vec<(String, At)>, name: &str, at: At, what: &str) {
        if name.is_empty() {
            return;
        }
        if let Some((_, first)) = seen.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            let line = self.f.pos(*first).line;
            self.err(at, format!("duplicate {what} '{name}' (the first is on line {line})"));
        } else {
            seen.push((name.to_string(), at));
        }
    }

    fn subnet_ref(&mut self, s: &str, at: At, place: &str) -> SubnetRef {
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

    /// `kind:name` references (`registry:acr`, `identity:id`).
    fn prefixed<'s>(&mut self, s: &'s str, prefix: &str, at: At, place: &str) -> Option<&'s str> {
        match s.strip_prefix(prefix).and_then(|r| r.strip_prefix(':')) {
            Some(name) if !name.is_empty() => Some(name),
            _ => {
                self.err(at, format!("{place} must be '{prefix}:<name>', found '{s}'"));
                None
            }
        }
    }

    // ---- the root ------------------------------------------------------------------

    /// Walks a root table: the scenario head (for scenarios) and the topology.
    pub(crate) fn root(&mut self, root: &Node, kind: DocKind) -> (Head, Topology) {
        let mut head = Head::default();
        let Some(mut t) = self.table(root, "") else {
            return (head, empty_topology());
        };
        if kind == DocKind::Scenario {
            let name = self.req_str(&mut t, "name").0;
            head.name = Some(name);
            head.description = self.str(&mut t, "description");
            head.rules = self.rules(&mut t);
            // Read before the walk (they shape the tree this walk sees).
            t.allow("fixture");
            t.allow("unset");
            t.allow("matrix");
            let steps = self.tables(&mut t, "step");
            // Relative step paths live in the resource group.
            let rg_name = root.get("resource_group").and_then(|n| n.get("name")).and_then(Node::as_str);
            let rg_name = rg_name.unwrap_or("").to_string();
            head.steps = steps.into_iter().filter_map(|s| self.step(s, &rg_name)).collect();
            if let Some(n) = t.get("expect") {
                if root.get("matrix").is_some() {
                    self.err(n.at, "[expect] cannot be used with [matrix]: each [[matrix.cell]] says what to expect");
                } else if let Some(mut e) = self.table(n, "[expect]") {
                    head.expect = self.expect(&mut e, true);
                    self.finish(e);
                }
            }
        } else {
            t.allow("description");
        }
        let topo = self.topology(&mut t, kind);
        self.finish(t);
        if self.checks.whole {
            self.check_refs(&topo);
        }
        (head, topo)
    }

    /// `rules`: an epoch; for a date that is not one, the epoch in force then.
    fn rules(&mut self, t: &mut Tbl<'_>) -> Option<Epoch> {
        let (s, at) = self.str_node(t, "rules")?;
        if let Ok(e) = s.parse::<Epoch>() {
            return Some(e);
        }
        let words: Vec<&str> = Epoch::ALL.iter().map(|e| e.as_str()).collect();
        let is_month = s.len() == 7
            && s.char_indices().all(|(i, c)| if i == 4 { c == '-' } else { c.is_ascii_digit() })
            && matches!(s.get(5..), Some(m) if ("01"..="12").contains(&m));
        let hint = match Epoch::ALL.iter().rev().find(|e| is_month && e.as_str() < s.as_str()) {
            Some(e) => format!("; in {s} the rules of '{e}' held"),
            None if is_month => "; the oldest epoch is '2021-07'".to_string(),
            None => did_you_mean(&s, words.iter().copied()),
        };
        self.err(at, format!("'rules' must be one of {}, found '{s}'{hint}", fmt_list(&words)));
        None
    }

    fn topology(&mut self, t: &mut Tbl<'_>, kind: DocKind) -> Topology {
        let mut topo = empty_topology();
        match t.get("resource_group") {
            Some(n) => {
                if let Some(mut rg) = self.table(n, "[resource_group]") {
                    topo.resource_group.name = self.req_str(&mut rg, "name").0;
                    topo.resource_group.location = self.req_str(&mut rg, "location").0;
                    self.finish(rg);
                }
            }
            None if self.checks.whole && kind == DocKind::Scenario => {
                self.err(t.at(), "missing [resource_group] (name and location), here or in the fixture");
            }
            None => {}
        }
        let mut seen = Vec::new();
        for n in self.tables(t, "vnet") {
            if let Some(v) = self.vnet(n, &mut seen) {
                topo.vnets.push(v);
            }
        }
        let mut seen = Vec::new();
        for n in self.tables(t, "registry") {
            if let Some(r) = self.registry(n, &mut seen) {
                topo.registries.push(r);
            }
        }
        let mut seen = Vec::new();
        for n in self.tables(t, "identity") {
            if let Some(mut it) = self.table(n, "[[identity]]") {
                let (name, at) = self.req_str(&mut it, "name");
                self.unique(&mut seen, &name, at, "identity");
                self.finish(it);
                topo.identities.push(Identity { name });
            }
        }
        let mut seen = Vec::new();
        for n in self.tables(t, "private_dns_zone") {
            if let Some(z) = self.zone(n, &mut seen) {
                topo.private_dns_zones.push(z);
            }
        }
        let mut seen = Vec::new();
        for n in self.tables(t, "private_endpoint") {
            if let Some(p) = self.endpoint(n, &mut seen) {
                topo.private_endpoints.push(p);
            }
        }
        let mut seen = Vec::new();
        for n in self.tables(t, "custom_dns") {
            if let Some(c) = self.custom_dns(n, &mut seen) {
                topo.custom_dns.push(c);
            }
        }
        for n in self.tables(t, "role_assignment") {
            if let Some(r) = self.role_assignment(n) {
                topo.role_assignments.push(r);
            }
        }
        if let Some(n) = t.get("plan")
            && let Some(mut p) = self.table(n, "[plan]")
        {
            let name = self.req_str(&mut p, "name").0;
            let sku = self.str(&mut p, "sku").unwrap_or_else(|| "P1v3".to_string());
            self.finish(p);
            topo.plan = Some(AppServicePlan { name, sku });
        }
        if let Some(n) = t.get("site") {
            topo.site = self.site(n);
            if self.checks.whole && topo.plan.is_none() && topo.site.is_some() {
                self.err(n.at, "a [site] needs a [plan] (name, sku) to run on");
            }
        }
        topo
    }

    // ---- network -------------------------------------------------------------------

    fn vnet(&mut self, n: &Node, seen: &mut Vec<(String, At)>) -> Option<Vnet> {
        let mut t = self.table(n, "[[vnet]]")?;
        let (name, at) = self.req_str(&mut t, "name");
        self.unique(seen, &name, at, "vnet");
        let location = self.str(&mut t, "location");
        let mut space = Vec::new();
        match self.str_list(&mut t, "address_space") {
            Some(list) if list.is_empty() => {
                self.err(
                    n.get("address_space").map(|x| x.at).unwrap_or(n.at),
                    "'address_space' in [[vnet]] must not be empty",
                );
            }
            Some(list) => {
                for (s, at) in list {
                    if let Some(c) = self.cidr(&s, at, "'address_space' in [[vnet]]") {
                        space.push(c);
                    }
                }
            }
            None => {
                if !t.entries.iter().any(|e| e.key == "address_space") {
                    self.missing(&t, "address_space");
                }
            }
        }
        let mut dns_servers = Vec::new();
        for (s, at) in self.str_list(&mut t, "dns_servers").unwrap_or_default() {
            if let Some(ip) = self.ipv4(&s, at, "'dns_servers' in [[vnet]]") {
                dns_servers.push(ip);
            }
        }
        let mut subnets: Vec<Subnet> = Vec::new();
        let mut seen_subnets = Vec::new();
        let mut prefixes: Vec<(String, Cidr)> = Vec::new();
        for sn in self.tables(&mut t, "subnets") {
            let Some(mut st) = self.table(sn, "[[vnet]].subnets") else { continue };
            let (sname, sat) = self.req_str(&mut st, "name");
            self.unique(&mut seen_subnets, &sname, sat, &format!("subnet of vnet '{name}'"));
            let (p, pat) = self.req_str(&mut st, "prefix");
            let prefix = if p.is_empty() { None } else { self.cidr(&p, pat, "'prefix' in [[vnet]].subnets") };
            let delegation = self.str(&mut st, "delegation");
            self.finish(st);
            if let Some(prefix) = prefix {
                if !space.is_empty() && !space.iter().any(|c| c.covers(&prefix)) {
                    let spaces: Vec<String> = space.iter().map(|c| c.to_string()).collect();
                    self.err(
                        pat,
                        format!(
                            "subnet '{sname}' ({prefix}) is outside the address space of vnet '{name}' ({})",
                            spaces.join(", ")
                        ),
                    );
                } else if let Some((other, _)) = prefixes.iter().find(|(_, c)| c.overlaps(&prefix)) {
                    self.err(pat, format!("subnet '{sname}' ({prefix}) overlaps subnet '{other}' of vnet '{name}'"));
                }
                prefixes.push((sname.clone(), prefix));
            }
            // Kept even with a bad prefix, so references to it do not fail too.
            let prefix = prefix.unwrap_or(Cidr { addr: Ipv4Addr::UNSPECIFIED, len: 32 });
            subnets.push(Subnet { name: sname, prefix, delegation });
        }
        let mut peerings = Vec::new();
        let mut seen_peerings = Vec::new();
        for pn in self.tables(&mut t, "peerings") {
            let Some(mut pt) = self.table(pn, "[[vnet]].peerings") else { continue };
            let (pname, pat) = self.req_str(&mut pt, "name");
            self.unique(&mut seen_peerings, &pname, pat, &format!("peering of vnet '{name}'"));
            let (remote, rat) = self.req_str(&mut pt, "remote");
            if !remote.is_empty() {
                if remote == name {
                    self.err(rat, format!("vnet '{name}' cannot be peered with itself"));
                }
                self.refs.push(Ref::Vnet {
                    name: remote.clone(),
                    at: rat,
                    place: "'remote' of [[vnet]].peerings".into(),
                });
            }
            let bidirectional = self.bool(&mut pt, "bidirectional").unwrap_or(false);
            self.finish(pt);
            peerings.push(Peering { name: pname, remote, bidirectional });
        }
        self.finish(t);
        Some(Vnet { name, location, address_space: space, dns_servers, subnets, peerings })
    }

    fn endpoint(&mut self, n: &Node, seen: &mut Vec<(String, At)>) -> Option<PrivateEndpoint> {
        let mut t = self.table(n, "[[private_endpoint]]")?;
        let (name, at) = self.req_str(&mut t, "name");
        self.unique(seen, &name, at, "private endpoint");
        let (s, sat) = self.req_str(&mut t, "subnet");
        let subnet = if s.is_empty() {
            SubnetRef { vnet: String::new(), subnet: String::new() }
        } else {
            self.subnet_ref(&s, sat, "'subnet' in [[private_endpoint]]")
        };
        let (target, tat) = self.req_str(&mut t, "target");
        let mut registry = String::new();
        if !target.is_empty()
            && let Some(r) = self.prefixed(&target, "registry", tat, "'target' in [[private_endpoint]]")
        {
            registry = r.to_string();
            self.refs.push(Ref::Registry {
                name: registry.clone(),
                at: tat,
                place: "'target' of [[private_endpoint]]".into(),
            });
        }
        let mut zones = Vec::new();
        for (z, zat) in self.str_or_list(&mut t, "dns_zone_group").unwrap_or_default() {
            self.refs.push(Ref::Zone {
                name: z.clone(),
                at: zat,
                place: "'dns_zone_group' of [[private_endpoint]]".into(),
            });
            zones.push(z);
        }
        if zones.len() > 5 {
            let at = n.get("dns_zone_group").map(|x| x.at).unwrap_or(n.at);
            self.err(at, "'dns_zone_group' in [[private_endpoint]] names at most 5 zones");
        }
        let manual_approval = self.bool(&mut t, "manual_approval").unwrap_or(false);
        self.finish(t);
        Some(PrivateEndpoint { name, subnet, registry, dns_zone_group: zones, manual_approval })
    }

    fn zone(&mut self, n: &Node, seen: &mut Vec<(String, At)>) -> Option<PrivateDnsZone> {
        let mut t = self.table(n, "[[private_dns_zone]]")?;
        let (name, at) = self.req_str(&mut t, "name");
        self.unique(seen, &name, at, "private DNS zone");
        if !name.is_empty() && !valid_dns_name(&name) {
            self.err(at, format!("'name' in [[private_dns_zone]]: '{name}' is not a DNS name"));
        }
        let mut links = Vec::new();
        let mut seen_links = Vec::new();
        let mut linked_vnets: Vec<(String, At)> = Vec::new();
        for ln in self.tables(&mut t, "links") {
            let Some(mut lt) = self.table(ln, "[[private_dns_zone]].links") else { continue };
            let (lname, lat) = self.req_str(&mut lt, "name");
            self.unique(&mut seen_links, &lname, lat, &format!("link of zone '{name}'"));
            let (vnet, vat) = self.req_str(&mut lt, "vnet");
            if !vnet.is_empty() {
                self.refs.push(Ref::Vnet {
                    name: vnet.clone(),
                    at: vat,
                    place: "'vnet' of [[private_dns_zone]].links".into(),
                });
                self.unique(&mut linked_vnets, &vnet, vat, &format!("link of zone '{name}' to vnet"));
            }
            let registration = self.bool(&mut lt, "registration").unwrap_or(false);
            let resolution_policy =
                self.word(&mut lt, "resolution_policy", ResolutionPolicy::parse, &ResolutionPolicy::words());
            self.finish(lt);
            links.push(ZoneLink { name: lname, vnet, registration, resolution_policy });
        }
        let mut records = Vec::new();
        let mut seen_records = Vec::new();
        for rn in self.tables(&mut t, "records") {
            let Some(mut rt) = self.table(rn, "[[private_dns_zone]].records") else { continue };
            let (rname, rat) = self.req_str(&mut rt, "name");
            let rtype = match rt.entries.iter().any(|e| e.key == "type") {
                true => self.word(&mut rt, "type", RecordType::parse, &RecordType::words()),
                false => {
                    rt.allow("type");
                    self.missing(&rt, "type");
                    None
                }
            };
            let ttl = self.uint(&mut rt, "ttl", 0, 2_147_483_647).unwrap_or(3600) as u32;
            let values = match self.str_list(&mut rt, "values") {
                Some(v) => v,
                None => {
                    if !rt.entries.iter().any(|e| e.key == "values") {
                        self.missing(&rt, "values");
                    }
                    Vec::new()
                }
            };
            if let Some(rtype) = rtype {
                self.unique(&mut seen_records, &format!("{rname} {rtype}"), rat, "record set");
                self.record_values(rtype, &values, rn.at);
                records.push(Record { name: rname, rtype, ttl, values: values.into_iter().map(|(v, _)| v).collect() });
            }
            self.finish(rt);
        }
        self.finish(t);
        Some(PrivateDnsZone { name, links, records })
    }

    fn record_values(&mut self, rtype: RecordType, values: &[(String, At)], at: At) {
        if values.is_empty() {
            self.err(at, format!("a {rtype} record set needs at least one value"));
        }
        for (v, vat) in values {
            let ok = match rtype {
                RecordType::A => v.parse::<Ipv4Addr>().is_ok(),
                RecordType::Aaaa => v.parse::<std::net::Ipv6Addr>().is_ok(),
                RecordType::Cname | RecordType::Ptr => valid_dns_name(v),
                RecordType::Txt => true,
            };
            if !ok {
                let what = match rtype {
                    RecordType::A => "an IPv4 address",
                    RecordType::Aaaa => "an IPv6 address",
                    _ => "a DNS name",
                };
                self.err(*vat, format!("a {rtype} record value must be {what}, found '{v}'"));
            }
        }
        if matches!(rtype, RecordType::Cname) && values.len() > 1 {
            self.err(at, "a CNAME record set holds exactly one value");
        }
    }

    fn custom_dns(&mut self, n: &Node, seen: &mut Vec<(String, At)>) -> Option<CustomDns> {
        let mut t = self.table(n, "[[custom_dns]]")?;
        let (name, at) = self.req_str(&mut t, "name");
        self.unique(seen, &name, at, "custom DNS server");
        let (vnet, vat) = self.req_str(&mut t, "vnet");
        if !vnet.is_empty() {
            self.refs.push(Ref::Vnet { name: vnet.clone(), at: vat, place: "'vnet' of [[custom_dns]]".into() });
        }
        let (a, aat) = self.req_str(&mut t, "address");
        let address = if a.is_empty() { None } else { self.ipv4(&a, aat, "'address' in [[custom_dns]]") };
        if let Some(ip) = address
            && !vnet.is_empty()
        {
            self.refs.push(Ref::AddressInVnet {
                vnet: vnet.clone(),
                ip,
                at: aat,
                place: format!("custom DNS server '{name}'"),
            });
        }
        let upstream = self.word(&mut t, "upstream", Upstream::parse, &Upstream::words()).unwrap_or(Upstream::AzureDns);
        let mut forwarders = Vec::new();
        for fnode in self.tables(&mut t, "forwarders") {
            let Some(mut ft) = self.table(fnode, "[[custom_dns]].forwarders") else { continue };
            let (zone, zat) = self.req_str(&mut ft, "zone");
            if !zone.is_empty() && !valid_dns_name(&zone) {
                self.err(zat, format!("'zone' in [[custom_dns]].forwarders: '{zone}' is not a DNS name"));
            }
            let mut targets = Vec::new();
            match self.str_list(&mut ft, "targets") {
                Some(list) => {
                    if list.is_empty() {
                        self.err(fnode.at, "a forwarder needs at least one target");
                    }
                    for (s, sat) in list {
                        if s == "AzureDns" {
                            targets.push(AZURE_DNS);
                        } else if let Some(ip) =
                            self.ipv4(&s, sat, "'targets' in [[custom_dns]].forwarders (or \"AzureDns\")")
                        {
                            targets.push(ip);
                        }
                    }
                }
                None => {
                    if !ft.entries.iter().any(|e| e.key == "targets") {
                        self.missing(&ft, "targets");
                    }
                }
            }
            self.finish(ft);
            forwarders.push(Forwarder { zone, targets });
        }
        self.finish(t);
        Some(CustomDns { name, vnet, address: address.unwrap_or(Ipv4Addr::UNSPECIFIED), upstream, forwarders })
    }

    // ---- registry ------------------------------------------------------------------

    fn registry(&mut self, n: &Node, seen: &mut Vec<(String, At)>) -> Option<Registry> {
        let mut t = self.table(n, "[registry]")?;
        let (name, at) = self.req_str(&mut t, "name");
        self.unique(seen, &name, at, "registry");
        let location = self.str(&mut t, "location");
        let sku = match t.entries.iter().any(|e| e.key == "sku") {
            true => self.word(&mut t, "sku", AcrSku::parse, &AcrSku::words()).unwrap_or(AcrSku::Premium),
            false => {
                t.allow("sku");
                self.missing(&t, "sku");
                AcrSku::Premium
            }
        };
        let admin_user = self.bool(&mut t, "admin_user").unwrap_or(false);
        let public_network_access = self
            .word(&mut t, "public_network_access", PublicNetworkAccess::parse, &PublicNetworkAccess::words())
            .unwrap_or(PublicNetworkAccess::Enabled);
        let default_action = self
            .word(&mut t, "default_action", DefaultAction::parse, &DefaultAction::words())
            .unwrap_or(DefaultAction::Allow);
        let mut ip_rules = Vec::new();
        for (s, sat) in self.str_list(&mut t, "ip_rules").unwrap_or_default() {
            if Cidr::parse_lenient(&s).is_some() {
                ip_rules.push(s);
            } else {
                self.err(sat, format!("'ip_rules' in [registry]: '{s}' is not an IPv4 address or prefix"));
            }
        }
        let network_rule_bypass =
            self.word(&mut t, "network_rule_bypass", NetworkRuleBypass::parse, &NetworkRuleBypass::words());
        let data_endpoint = self.bool(&mut t, "data_endpoint").unwrap_or(false);
        let anonymous_pull = self.bool(&mut t, "anonymous_pull").unwrap_or(false);
        let mut images = Vec::new();
        let mut seen_images = Vec::new();
        for inode in self.tables(&mut t, "images") {
            if let Some(i) = self.image(inode, &mut seen_images) {
                images.push(i);
            }
        }
        self.finish(t);
        Some(Registry {
            name,
            location,
            sku,
            admin_user,
            public_network_access,
            default_action,
            ip_rules,
            network_rule_bypass,
            data_endpoint,
            anonymous_pull,
            images,
        })
    }

    fn image(&mut self, n: &Node, seen: &mut Vec<(String, At)>) -> Option<ImageSpec> {
        let mut t = self.table(n, "[registry].images")?;
        let (repo, rat) = self.req_str(&mut t, "repo");
        if !repo.is_empty() && !valid_repo(&repo) {
            self.err(
                rat,
                format!("'repo' in [registry].images: '{repo}' is not a repository name (lower-case path components)"),
            );
        }
        let tag = match self.str_node(&mut t, "tag") {
            Some((tag, tat)) => {
                if !valid_tag(&tag) {
                    self.err(tat, format!("'tag' in [registry].images: '{tag}' is not a valid tag"));
                }
                tag
            }
            None => "latest".to_string(),
        };
        self.unique(seen, &format!("{repo}:{tag}"), rat, "image");
        let layers = self.uint(&mut t, "layers", 1, 64).unwrap_or(1) as u32;
        let layer_size = self.uint(&mut t, "layer_size", 1, 64 << 20).unwrap_or(1024);
        let seed = self.uint(&mut t, "seed", 0, i64::MAX as u64).unwrap_or(0);
        let schema1 = self.bool(&mut t, "schema1").unwrap_or(false);
        let mut platforms = Vec::new();
        let plat_at = n.get("platforms").map(|p| p.at);
        for (p, pat) in self.str_list(&mut t, "platforms").unwrap_or_default() {
            let parts: Vec<&str> = p.split('/').collect();
            if !(2..=3).contains(&parts.len()) || parts.iter().any(|s| s.is_empty()) {
                self.err(pat, format!("'platforms' in [registry].images: '{p}' is not os/arch[/variant]"));
            }
            platforms.push(p);
        }
        if schema1 && !platforms.is_empty() {
            self.err(plat_at.unwrap_or(n.at), "a schema 1 image cannot have platforms (schema 1 has no index)");
        }
        self.finish(t);
        Some(ImageSpec { repo, tag, layers, layer_size, seed, schema1, platforms })
    }

    // ---- identities and roles ------------------------------------------------------

    fn role_assignment(&mut self, n: &Node) -> Option<RoleAssignment> {
        let mut t = self.table(n, "[[role_assignment]]")?;
        let (p, pat) = self.req_str(&mut t, "principal");
        let principal = if p == "site" {
            self.site_principal_uses.push(pat);
            Principal::Site
        } else if p.is_empty() {
            Principal::Site
        } else {
            match self.prefixed(&p, "identity", pat, "'principal' in [[role_assignment]] ('site' or)") {
                Some(name) => {
                    self.refs.push(Ref::Identity {
                        name: name.to_string(),
                        at: pat,
                        place: "'principal' of [[role_assignment]]".into(),
                    });
                    Principal::Identity(name.to_string())
                }
                None => Principal::Site,
            }
        };
        let roles: Vec<&str> = mock_azure::arm::ROLES.iter().map(|(n, _, _)| *n).collect();
        let role = match t.entries.iter().any(|e| e.key == "role") {
            true => self.word(&mut t, "role", |s| roles.iter().find(|r| **r == s).map(|r| r.to_string()), &roles),
            false => {
                t.allow("role");
                self.missing(&t, "role");
                None
            }
        };
        let (s, sat) = self.req_str(&mut t, "scope");
        let scope = if s == "resource_group" || s.is_empty() {
            Scope::ResourceGroup
        } else {
            match self.prefixed(&s, "registry", sat, "'scope' in [[role_assignment]] ('resource_group' or)") {
                Some(name) => {
                    self.refs.push(Ref::Registry {
                        name: name.to_string(),
                        at: sat,
                        place: "'scope' of [[role_assignment]]".into(),
                    });
                    Scope::Registry(name.to_string())
                }
                None => Scope::ResourceGroup,
            }
        };
        self.finish(t);
        Some(RoleAssignment { principal, role: role.unwrap_or_default(), scope })
    }

    // ---- the site ------------------------------------------------------------------

    fn site(&mut self, n: &Node) -> Option<Site> {
        let mut t = self.table(n, "[site]")?;
        let name = self.req_str(&mut t, "name").0;
        let image = self.str_node(&mut t, "image");
        let vnet_integration = self
            .str_node(&mut t, "vnet_integration")
            .map(|(s, at)| self.subnet_ref(&s, at, "'vnet_integration' in [site]"));
        let credentials =
            self.word(&mut t, "credentials", Credentials::parse, &Credentials::words()).unwrap_or(Credentials::None);
        let mut system_identity = false;
        let mut user_identities = Vec::new();
        for (s, at) in self.str_or_list(&mut t, "identity").unwrap_or_default() {
            if s == "system" {
                system_identity = true;
            } else if let Some(u) = self.prefixed(&s, "user", at, "'identity' in [site] ('system' or)") {
                self.refs.push(Ref::Identity { name: u.to_string(), at, place: "'identity' of [site]".into() });
                user_identities.push(u.to_string());
            }
        }
        let pull_identity = match self.str_node(&mut t, "pull_identity") {
            Some((s, at)) if s == "system" => {
                if !system_identity {
                    self.err(at, "'pull_identity' in [site] is 'system' but the site has no system identity (identity = \"system\")");
                }
                Some(PullIdentity::System)
            }
            Some((s, at)) => {
                match self.prefixed(&s, "user", at, "'pull_identity' in [site] ('system' or)") {
                    Some(u) => {
                        if !user_identities.iter().any(|x| x == u) {
                            self.err(at, format!("'pull_identity' in [site] names 'user:{u}', which is not among the site's identities"));
                        }
                        Some(PullIdentity::User(u.to_string()))
                    }
                    None => None,
                }
            }
            None if system_identity => Some(PullIdentity::System),
            None => user_identities.first().map(|u| PullIdentity::User(u.clone())),
        };
        let mut app_settings = BTreeMap::new();
        if let Some(sn) = t.get("app_settings")
            && let Some(st) = self.table(sn, "[site.app_settings]")
        {
            for e in st.entries {
                let v = match &e.node.v {
                    Val::Str(s) => Some(s.clone()),
                    Val::Bool(b) => Some(b.to_string()),
                    Val::Int(Some(i)) => Some(i.to_string()),
                    Val::Float(f) => Some(f.to_string()),
                    other => {
                        self.err(
                            e.node.at,
                            format!(
                                "app setting '{}' in [site.app_settings] must be a string (or a boolean or number), found {}",
                                e.key,
                                other.kind()
                            ),
                        );
                        None
                    }
                };
                if e.key.is_empty() {
                    self.err(e.key_at, "app setting names cannot be empty");
                }
                if let Some(v) = v {
                    app_settings.insert(e.key.clone(), v);
                }
            }
        }
        let config = match t.get("config") {
            Some(c) => self.json_schema(c, "[site.config]", SITE_CONFIG),
            None => Map::new(),
        };
        let properties = match t.get("properties") {
            Some(p) => self.json_schema(p, "[site.properties]", SITE_PROPERTIES),
            None => Map::new(),
        };
        match (&image, config.get("linuxFxVersion")) {
            (Some((img, at)), _) if !valid_image(img) => {
                self.err(*at, format!("'image' in [site]: '{img}' is not an image reference (registry/repo:tag)"));
            }
            (Some((_, at)), Some(_)) => {
                self.err(*at, "give either 'image' in [site] or linuxFxVersion in [site.config], not both");
            }
            (None, None) => self.missing(&t, "image"),
            _ => {}
        }
        if vnet_integration.is_some() && properties.contains_key("virtualNetworkSubnetId") {
            let at = n.get("vnet_integration").map(|x| x.at).unwrap_or(n.at);
            self.err(
                at,
                "give either 'vnet_integration' in [site] or virtualNetworkSubnetId in [site.properties], not both",
            );
        }
        let site = Site {
            name,
            image: image.as_ref().map(|(s, _)| s.clone()),
            vnet_integration,
            credentials,
            system_identity,
            user_identities,
            pull_identity,
            app_settings,
            config,
            properties,
        };
        if credentials == Credentials::Admin
            && let Some((_, at)) = &image
        {
            match site.image_registry() {
                Some(r) => self.refs.push(Ref::Registry {
                    name: r,
                    at: *at,
                    place: "the image of [site] (credentials = \"admin\" reads its admin user)".into(),
                }),
                None => self.err(
                    *at,
                    "credentials = \"admin\" needs an image on a registry of the scenario (<name>.azurecr.io/...)",
                ),
            }
        }
        self.finish(t);
        Some(site)
    }

    /// A table of ARM JSON whose keys and value types are known.
    fn json_schema(&mut self, n: &Node, ctx: &str, schema: &'static [(&'static str, Ty)]) -> Map<String, Value> {
        let mut out = Map::new();
        let Some(mut t) = self.table(n, ctx) else { return out };
        for (key, ty) in schema {
            let Some(v) = t.get(key) else { continue };
            let value = match ty {
                Ty::Bool => match &v.v {
                    Val::Bool(b) => Some(json!(b)),
                    _ => {
                        self.wrong(&t, key, v, "a boolean (true or false)");
                        None
                    }
                },
                Ty::Str => match &v.v {
                    Val::Str(s) => Some(json!(s)),
                    _ => {
                        self.wrong(&t, key, v, "a string");
                        None
                    }
                },
                Ty::Int => match &v.v {
                    Val::Int(Some(i)) => Some(json!(i)),
                    _ => {
                        self.wrong(&t, key, v, "an integer");
                        None
                    }
                },
                Ty::Ipv4List => match &v.v {
                    Val::Array(items) => {
                        let mut list = Vec::new();
                        for item in items {
                            match item.as_str() {
                                Some(s) => {
                                    if self.ipv4(s, item.at, &t.place(key)).is_some() {
                                        list.push(json!(s));
                                    }
                                }
                                None => self.err(
                                    item.at,
                                    format!("each item of {} must be a string, found {}", t.place(key), item.v.kind()),
                                ),
                            }
                        }
                        Some(Value::Array(list))
                    }
                    _ => {
                        self.wrong(&t, key, v, "an array of IPv4 addresses");
                        None
                    }
                },
                Ty::Table(inner) => {
                    let sub = format!("{}.{key}", ctx.trim_end_matches(']'));
                    let sub = format!("{sub}]");
                    Some(Value::Object(self.json_schema(v, &sub, inner)))
                }
            };
            if let Some(value) = value {
                out.insert(key.to_string(), value);
            }
        }
        self.finish(t);
        out
    }

    // ---- steps and expectations -----------------------------------------------------

    fn step(&mut self, n: &Node, rg: &str) -> Option<Step> {
        let mut t = self.table(n, "[[step]]")?;
        let arm = self.str_node(&mut t, "arm");
        let restart = t.get("restart");
        let pull = t.get("pull");
        let body = t.get("body");
        let api_version = self.str_node(&mut t, "api_version");
        let expect = t.get("expect");
        let kinds = [arm.is_some(), restart.is_some(), pull.is_some()].iter().filter(|x| **x).count();
        if kinds != 1 {
            self.err(n.at, "a [[step]] is exactly one of: arm = \"METHOD path\", restart = true, pull = true");
            self.finish(t);
            return None;
        }
        for (key, node) in [("restart", restart), ("pull", pull)] {
            if let Some(node) = node
                && node.v != Val::Bool(true)
            {
                self.err(node.at, format!("'{key}' in [[step]] must be true"));
            }
        }
        if arm.is_none() {
            if let Some(b) = body {
                self.err(b.at, "'body' in [[step]] goes with arm = \"...\" only");
            }
            if let Some((_, at)) = &api_version {
                self.err(*at, "'api_version' in [[step]] goes with arm = \"...\" only");
            }
        }
        let step = if let Some((line, at)) = arm {
            let parsed = self.arm_line(&line, at, rg, api_version.as_ref().map(|(s, _)| s.as_str()));
            let body = match body {
                Some(b) if matches!(b.v, Val::Table(_)) => Some(b.to_json()),
                Some(b) => {
                    self.wrong(&t, "body", b, "a table (the JSON body)");
                    None
                }
                None => None,
            };
            let expect = expect.and_then(|e| self.table(e, "[[step]].expect")).map(|mut et| {
                let status = self.uint(&mut et, "status", 100, 599).map(|s| s as u16);
                let code = self.str(&mut et, "code");
                let message = self.str(&mut et, "message");
                self.finish(et);
                ArmExpect { status, code, message }
            });
            parsed.map(|(method, path)| Step::Arm(ArmStep { method, path, body, expect }))
        } else if restart.is_some() {
            if let Some(e) = expect {
                self.err(e.at, "a restart step has no 'expect'; add a pull = true step after it");
            }
            Some(Step::Restart)
        } else {
            let expect = expect.and_then(|e| self.table(e, "[[step]].expect")).and_then(|mut et| {
                let x = self.expect(&mut et, true);
                self.finish(et);
                x
            });
            Some(Step::Pull(expect))
        };
        self.finish(t);
        step
    }

    /// `METHOD path` of an ARM step; the path gets its provider and api-version.
    fn arm_line(&mut self, line: &str, at: At, rg: &str, api: Option<&str>) -> Option<(Method, String)> {
        let mut parts = line.split_whitespace();
        let (Some(m), Some(path), None) = (parts.next(), parts.next(), parts.next()) else {
            self.err(at, format!("'arm' in [[step]] must be \"METHOD path\", found '{line}'"));
            return None;
        };
        let Some(method) = Method::parse(&m.to_ascii_uppercase()) else {
            let words = Method::words();
            let hint = did_you_mean(m, words.iter().copied());
            self.err(at, format!("'arm' in [[step]]: unknown method '{m}'; use one of {}{hint}", fmt_list(&words)));
            return None;
        };
        let (path, query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        let full = if path.starts_with("/subscriptions/") {
            path.to_string()
        } else if path.starts_with('/') {
            self.err(at, format!("'arm' in [[step]]: an absolute path starts with /subscriptions/, found '{path}'"));
            return None;
        } else if let Some(rest) = path.strip_prefix("providers/") {
            format!("/subscriptions/{{subscription}}/resourceGroups/{rg}/providers/{rest}")
        } else {
            let first = path.split('/').next().unwrap_or_default();
            let Some((ty, ns)) = RELATIVE_TYPES.iter().find(|(t, _)| t.eq_ignore_ascii_case(first)) else {
                let words: Vec<&str> = RELATIVE_TYPES.iter().map(|(t, _)| *t).collect();
                let hint = did_you_mean(first, words.iter().copied());
                self.err(
                    at,
                    format!(
                        "'arm' in [[step]]: unknown resource type '{first}'; a relative path starts with one of {}{hint}",
                        fmt_list(&words)
                    ),
                );
                return None;
            };
            let rest = &path[first.len()..];
            format!("/subscriptions/{{subscription}}/resourceGroups/{rg}/providers/{ns}/{ty}{rest}")
        };
        let has_version = query.is_some_and(|q| q.split('&').any(|kv| kv.starts_with("api-version=")));
        let mut out = full.clone();
        let mut sep = '?';
        if let Some(q) = query {
            out.push('?');
            out.push_str(q);
            sep = '&';
        }
        if !has_version {
            out.push(sep);
            out.push_str("api-version=");
            out.push_str(api.unwrap_or(default_api_version(&full)));
        }
        Some((method, out))
    }

    /// The expectation fields of `[expect]`, a pull step's `expect` or a matrix cell.
    pub(crate) fn expect(&mut self, t: &mut Tbl<'_>, required: bool) -> Option<Expect> {
        let present = t.entries.iter().any(|e| e.key == "pull");
        let pull = self.word(t, "pull", PullOutcome::parse, &PullOutcome::words());
        let routes = ["vnet", "public"];
        let route = self.word(
            t,
            "route",
            |s| match s {
                "vnet" => Some(RouteKind::Vnet),
                "public" => Some(RouteKind::Public),
                _ => None,
            },
            &routes,
        );
        let stages: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
        let stage_at = t.entries.iter().find(|e| e.key == "stage").map(|e| e.node.at);
        let stage = self.word(t, "stage", |s| Stage::ALL.iter().copied().find(|x| x.as_str() == s), &stages);
        let code_names: Vec<String> = CODES.iter().map(|c| c.as_str()).collect();
        let code_words: Vec<&str> = code_names.iter().map(String::as_str).collect();
        let code_at = t.entries.iter().find(|e| e.key == "code").map(|e| e.node.at);
        let code = self.word(t, "code", |s| CODES.iter().copied().find(|c| c.as_str() == s), &code_words);
        let message = self.str(t, "message");
        let log = self.str_list(t, "log").unwrap_or_default().into_iter().map(|(s, _)| s).collect();
        if !present && required {
            t.allow("pull");
            self.missing(t, "pull");
        }
        if pull == Some(PullOutcome::Success) {
            for (what, at) in
                [("stage", stage_at.filter(|_| stage.is_some())), ("code", code_at.filter(|_| code.is_some()))]
            {
                if let Some(at) = at {
                    self.err(
                        at,
                        format!("a successful pull has no failure {what}; drop it or expect pull = \"failure\""),
                    );
                }
            }
        }
        pull.map(|pull| Expect { pull, route, stage, code, message, log })
    }

    // ---- references ------------------------------------------------------------------

    fn check_refs(&mut self, topo: &Topology) {
        let vnets: Vec<&str> = topo.vnets.iter().map(|v| v.name.as_str()).collect();
        let registries: Vec<&str> = topo.registries.iter().map(|r| r.name.as_str()).collect();
        let zones: Vec<&str> = topo.private_dns_zones.iter().map(|z| z.name.as_str()).collect();
        let identities: Vec<&str> = topo.identities.iter().map(|i| i.name.as_str()).collect();
        let undefined = |what: &str, name: &str, place: &str, known: &[&str]| {
            format!("undefined {what} '{name}' in {place}{}", did_you_mean(name, known.iter().copied()))
        };
        for r in std::mem::take(&mut self.refs) {
            match r {
                Ref::Vnet { name, at, place } => {
                    if !vnets.contains(&name.as_str()) {
                        self.err(at, undefined("vnet", &name, &place, &vnets));
                    }
                }
                Ref::Subnet { r, at, place } => match topo.vnet(&r.vnet) {
                    None => self.err(at, undefined("vnet", &r.vnet, &place, &vnets)),
                    Some(v) => {
                        if !v.subnets.iter().any(|s| s.name == r.subnet) {
                            let subnets: Vec<&str> = v.subnets.iter().map(|s| s.name.as_str()).collect();
                            self.err(
                                at,
                                format!(
                                    "undefined subnet '{}' of vnet '{}' in {place}{}",
                                    r.subnet,
                                    r.vnet,
                                    did_you_mean(&r.subnet, subnets.iter().copied())
                                ),
                            );
                        }
                    }
                },
                Ref::Registry { name, at, place } => {
                    if !registries.iter().any(|r| r.eq_ignore_ascii_case(&name)) {
                        self.err(at, undefined("registry", &name, &place, &registries));
                    }
                }
                Ref::Zone { name, at, place } => {
                    if !zones.contains(&name.as_str()) {
                        self.err(at, undefined("private DNS zone", &name, &place, &zones));
                    }
                }
                Ref::Identity { name, at, place } => {
                    if !identities.contains(&name.as_str()) {
                        self.err(at, undefined("identity", &name, &place, &identities));
                    }
                }
                Ref::AddressInVnet { vnet, ip, at, place } => {
                    if let Some(v) = topo.vnet(&vnet)
                        && !v.address_space.iter().any(|c| c.contains(ip))
                    {
                        self.err(at, format!("{place}: address {ip} is outside the address space of vnet '{vnet}'"));
                    }
                }
            }
        }
        let has_system = topo.site.as_ref().is_some_and(|s| s.system_identity);
        for at in std::mem::take(&mut self.site_principal_uses) {
            if !has_system {
                self.err(at, "principal 'site' needs a [site] with a system identity (identity = \"system\")");
            }
        }
    }
}

/// A value type of a known ARM JSON key.
pub(crate) enum Ty {
    Bool,
    Str,
    Int,
    Ipv4List,
    Table(&'static [(&'static str, Ty)]),
}

/// `siteConfig` keys a scenario may set.
pub(crate) const SITE_CONFIG: &[(&str, Ty)] = &[
    ("vnetRouteAllEnabled", Ty::Bool),
    ("acrUseManagedIdentityCreds", Ty::Bool),
    ("acrUserManagedIdentityID", Ty::Str),
    ("linuxFxVersion", Ty::Str),
    ("alwaysOn", Ty::Bool),
    ("http20Enabled", Ty::Bool),
    ("httpLoggingEnabled", Ty::Bool),
    ("detailedErrorLoggingEnabled", Ty::Bool),
    ("webSocketsEnabled", Ty::Bool),
    ("use32BitWorkerProcess", Ty::Bool),
    ("remoteDebuggingEnabled", Ty::Bool),
    ("requestTracingEnabled", Ty::Bool),
    ("appCommandLine", Ty::Str),
    ("ftpsState", Ty::Str),
    ("minTlsVersion", Ty::Str),
    ("publicNetworkAccess", Ty::Str),
    ("healthCheckPath", Ty::Str),
    ("numberOfWorkers", Ty::Int),
    ("vnetPrivatePortsCount", Ty::Int),
];

/// Site `properties` a scenario may set.
pub(crate) const SITE_PROPERTIES: &[(&str, Ty)] = &[
    ("vnetImagePullEnabled", Ty::Bool),
    ("vnetRouteAllEnabled", Ty::Bool),
    ("vnetContentShareEnabled", Ty::Bool),
    (
        "outboundVnetRouting",
        Ty::Table(&[
            ("allTraffic", Ty::Bool),
            ("applicationTraffic", Ty::Bool),
            ("imagePullTraffic", Ty::Bool),
            ("contentShareTraffic", Ty::Bool),
            ("backupRestoreTraffic", Ty::Bool),
        ]),
    ),
    (
        "dnsConfiguration",
        Ty::Table(&[
            ("dnsServers", Ty::Ipv4List),
            ("dnsAltServer", Ty::Str),
            ("dnsMaxCacheTimeout", Ty::Int),
            ("dnsRetryAttemptCount", Ty::Int),
            ("dnsRetryAttemptTimeout", Ty::Int),
        ]),
    ),
    ("virtualNetworkSubnetId", Ty::Str),
    ("httpsOnly", Ty::Bool),
    ("publicNetworkAccess", Ty::Str),
    ("clientAffinityEnabled", Ty::Bool),
    ("keyVaultReferenceIdentity", Ty::Str),
];

/// Site properties only api-versions 2022-03-01…2024-04-01 carry (RULES.md B).
pub(crate) const LEGACY_SITE_PROPERTIES: &[&str] =
    &["vnetImagePullEnabled", "vnetRouteAllEnabled", "vnetContentShareEnabled"];

/// Resource types a relative step path may start with, and their provider.
pub(crate) const RELATIVE_TYPES: &[(&str, &str)] = &[
    ("virtualNetworks", "Microsoft.Network"),
    ("privateEndpoints", "Microsoft.Network"),
    ("networkInterfaces", "Microsoft.Network"),
    ("privateDnsZones", "Microsoft.Network"),
    ("registries", "Microsoft.ContainerRegistry"),
    ("sites", "Microsoft.Web"),
    ("serverfarms", "Microsoft.Web"),
    ("userAssignedIdentities", "Microsoft.ManagedIdentity"),
];

/// The api-version the plan and steps use for a path, by its provider.
pub(crate) fn default_api_version(path: &str) -> &'static str {
    let lower = path.to_ascii_lowercase();
    let provider = lower.rsplit("/providers/").next().filter(|_| lower.contains("/providers/")).unwrap_or("");
    if provider.starts_with("microsoft.network/privatednszones") {
        "2024-06-01"
    } else if provider.starts_with("microsoft.network") {
        "2024-05-01"
    } else if provider.starts_with("microsoft.containerregistry") {
        "2023-07-01"
    } else if provider.starts_with("microsoft.web") {
        "2024-11-01"
    } else if provider.starts_with("microsoft.managedidentity") {
        "2023-01-31"
    } else if provider.starts_with("microsoft.authorization") {
        "2022-04-01"
    } else {
        "2024-03-01"
    }
}

/// Every failure code (`mock_azure::appservice::trace::Code`).
pub(crate) const CODES: &[Code] = &[
    Code::ImageNotConfigured,
    Code::DnsNxdomain,
    Code::DnsServfail,
    Code::DnsRefused,
    Code::DnsTimeout,
    Code::DnsNoAddress,
    Code::PrivateAddressUnreachable,
    Code::ConnectionRefused,
    Code::AcrFirewallDenied,
    Code::AcrUnauthorized,
    Code::MiNotSupportedOverVnet,
    Code::MiIdentityNotFound,
    Code::MiNoPullRole,
    Code::ManifestUnknown,
    Code::ManifestSchema1Unsupported,
    Code::NoMatchingPlatform,
    Code::BlobUnknown,
    Code::DigestMismatch,
];

/// Fails to compile when `Code` gains a variant [`CODES`] does not list.
#[allow(dead_code)]
fn codes_are_all_listed(c: Code) {
    match c {
        Code::ImageNotConfigured
        | Code::DnsNxdomain
        | Code::DnsServfail
        | Code::DnsRefused
        | Code::DnsTimeout
        | Code::DnsNoAddress
        | Code::PrivateAddressUnreachable
        | Code::ConnectionRefused
        | Code::AcrFirewallDenied
        | Code::AcrUnauthorized
        | Code::MiNotSupportedOverVnet
        | Code::MiIdentityNotFound
        | Code::MiNoPullRole
        | Code::ManifestUnknown
        | Code::ManifestSchema1Unsupported
        | Code::NoMatchingPlatform
        | Code::BlobUnknown
        | Code::DigestMismatch => {}
    }
}

fn empty_topology() -> Topology {
    Topology {
        resource_group: ResourceGroup { name: String::new(), location: String::new() },
        vnets: Vec::new(),
        registries: Vec::new(),
        identities: Vec::new(),
        private_dns_zones: Vec::new(),
        private_endpoints: Vec::new(),
        custom_dns: Vec::new(),
        role_assignments: Vec::new(),
        plan: None,
        site: None,
    }
}

pub(crate) fn valid_dns_name(name: &str) -> bool {
    let name = name.trim_end_matches('.');
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

fn valid_repo(repo: &str) -> bool {
    repo.split('/').all(|c| {
        !c.is_empty()
            && c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
            && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
    })
}

fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 128
        && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && tag.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// `host/repo[:tag]` (or a Docker Hub `repo[:tag]`) without spaces.
fn valid_image(image: &str) -> bool {
    !image.is_empty()
        && !image.chars().any(char::is_whitespace)
        && !image.starts_with('/')
        && !image.ends_with(['/', ':'])
}
