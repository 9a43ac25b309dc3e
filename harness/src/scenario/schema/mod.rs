//! The schema: a walk of the document tree that builds the typed scenario and records
//! every problem on the way (unknown keys with a "did you mean", wrong types, bad
//! values, undefined references) instead of stopping at the first.
//!
//! Each table is read through a [`Tbl`] that learns the keys the walk asks for, so the
//! list of known keys behind "unknown key … did you mean" is the code itself.
//!
//! - `walker`: the machinery — tables, typed scalars, lists, addresses, duplicates.
//! - `refs`: references between resources, recorded during the walk; `refcheck` checks them
//!   once the whole topology is known.
//! - this module: the root table (the scenario's head, the topology's sections in order).
//! - `network`, `registry`, `identity`, `site`, `steps`: one part of the format each.
//! - `azure`: the Azure facts the schema needs; ARM's own are read from `mock_azure`.
//! - `describe`: the format as a JSON Schema for editors, held to the walk by a test
//!   that records the keys each table asks for.
//!
//! `[matrix]` is read by `super::matrix`, with the same walker.

mod azure;
pub(crate) mod describe;
mod identity;
mod network;
mod refcheck;
mod refs;
mod registry;
mod site;
mod steps;
mod walker;

use mock_azure::appservice::rules::Epoch;

pub(crate) use azure::{default_api_version, legacy_site_property};
pub(crate) use walker::{Checks, Tbl, Walker};
use walker::{Seen, fmt_list};

use super::limits::MAX_STEPS;
use super::model::*;
use super::tree::Node;

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

/// What the document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocKind {
    /// A scenario (merged with its fixture, a matrix cell applied).
    Scenario,
    /// A fixture on its own: a topology only.
    Fixture,
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

impl Walker<'_> {
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
            let mut steps = self.tables(&mut t, "step");
            if let Some(extra) = steps.get(MAX_STEPS) {
                // The rest is not read: the scenario is refused anyway.
                self.err(
                    extra.at,
                    format!("the scenario has {} steps; a scenario has at most {MAX_STEPS}", steps.len()),
                );
                steps.truncate(MAX_STEPS);
            }
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
            None => self.f.hint(&s, &words),
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
        let mut seen = Seen::default();
        for n in self.tables(t, "vnet") {
            if let Some(v) = self.vnet(n, &mut seen) {
                topo.vnets.push(v);
            }
        }
        let mut seen = Seen::default();
        for n in self.tables(t, "registry") {
            if let Some(r) = self.registry(n, &mut seen) {
                topo.registries.push(r);
            }
        }
        let mut seen = Seen::default();
        for n in self.tables(t, "identity") {
            if let Some(i) = self.identity(n, &mut seen) {
                topo.identities.push(i);
            }
        }
        let mut seen = Seen::default();
        for n in self.tables(t, "private_dns_zone") {
            if let Some(z) = self.zone(n, &mut seen) {
                topo.private_dns_zones.push(z);
            }
        }
        let mut seen = Seen::default();
        for n in self.tables(t, "private_endpoint") {
            if let Some(p) = self.endpoint(n, &mut seen) {
                topo.private_endpoints.push(p);
            }
        }
        let mut seen = Seen::default();
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
        if let Some(n) = t.get("plan") {
            topo.plan = self.plan(n);
        }
        if let Some(n) = t.get("site") {
            topo.site = self.site(n);
            if self.checks.whole && topo.plan.is_none() && topo.site.is_some() {
                self.err(n.at, "a [site] needs a [plan] (name, sku) to run on");
            }
        }
        topo
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
