//! Where in a scenario a problem comes from: the TOML key that produced an ARM call of
//! the plan (`[registry]` for `update registry secureacr2021`), a `[[step]]`, the
//! `[expect]` pull. The scenario's own file is searched first (what it changes is what
//! it is about), then its fixture's.
//!
//! The plan's calls do not carry positions (the loader's tree is private to
//! [`crate::scenario`]), so a call is traced back by what it addresses: the resource ID
//! in its path names the kind and the name of the scenario's entry.

use std::path::Path;

use toml::de::{DeTable, DeValue};

use super::result::Location;
use crate::scenario::{ArmCall, PlanStep, Pos, Scenario};

/// A key of the scenario's document: a top-level key, optionally the entry of a list
/// (or the only table) with this `name`, optionally a key inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocKey {
    /// `registry`, `site`, `step`…
    pub top: &'static str,
    /// The entry's `name` (`None`: the table, or the first entry).
    pub name: Option<String>,
    /// The `n`-th entry (from 0) of an array of tables, when there is no name to find it.
    pub index: Option<usize>,
    /// A key inside the entry (`images`, `credentials`).
    pub inner: Option<&'static str>,
}

impl DocKey {
    fn new(top: &'static str) -> DocKey {
        DocKey { top, name: None, index: None, inner: None }
    }

    fn named(top: &'static str, name: &str) -> DocKey {
        DocKey { name: Some(name.to_string()), ..DocKey::new(top) }
    }

    fn inner(mut self, key: &'static str) -> DocKey {
        self.inner = Some(key);
        self
    }

    /// The key in the scenario's words: `registry[secureacr2021].images`, `step[2]`.
    pub fn label(&self) -> String {
        let mut out = self.top.to_string();
        if let Some(n) = &self.name {
            out.push_str(&format!("[{n}]"));
        } else if let Some(i) = self.index {
            out.push_str(&format!("[{}]", i + 1));
        }
        if let Some(k) = self.inner {
            out.push('.');
            out.push_str(k);
        }
        out
    }
}

/// The key a plan step comes from.
pub fn of_plan_step(step: &PlanStep) -> DocKey {
    match step {
        PlanStep::Call(c) => of_call(c),
        PlanStep::PushImages { registry, .. } => DocKey::named("registry", registry).inner("images"),
        PlanStep::CustomDns(spec) => DocKey::named("custom_dns", &spec.name),
        PlanStep::AdminCredentials { .. } => DocKey::new("site").inner("credentials"),
        PlanStep::RoleAssignment { .. } => DocKey::new("role_assignment"),
        PlanStep::UserIdentityClientId { .. } => DocKey::new("site").inner("pull_identity"),
    }
}

/// The key an ARM call of the plan comes from, by the resource its path addresses (the
/// last `providers/<namespace>/<type>/<name>` of the ID).
pub fn of_call(call: &ArmCall) -> DocKey {
    let path = call.path.split('?').next().unwrap_or_default();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some(p) = segs.iter().rposition(|s| s.eq_ignore_ascii_case("providers")) else {
        return DocKey::new("resource_group");
    };
    let kind = segs.get(p + 1..p + 3).map(|t| t.join("/").to_ascii_lowercase()).unwrap_or_default();
    let name = segs.get(p + 3).copied().unwrap_or_default();
    match kind.as_str() {
        "microsoft.network/virtualnetworks" => DocKey::named("vnet", name),
        "microsoft.containerregistry/registries" => DocKey::named("registry", name),
        "microsoft.network/privateendpoints" => DocKey::named("private_endpoint", name),
        "microsoft.network/privatednszones" => DocKey::named("private_dns_zone", name),
        "microsoft.managedidentity/userassignedidentities" => DocKey::named("identity", name),
        "microsoft.web/serverfarms" => DocKey::new("plan"),
        "microsoft.web/sites" => DocKey::new("site"),
        "microsoft.authorization/roleassignments" => DocKey::new("role_assignment"),
        _ => DocKey::new("resource_group"),
    }
}

/// The `n`-th `[[step]]` (from 0).
pub fn of_step(n: usize) -> DocKey {
    DocKey { index: Some(n), ..DocKey::new("step") }
}

/// The `[expect]` pull (a matrix's cells are under `[matrix]`).
pub fn of_expect(s: &Scenario) -> DocKey {
    if s.cell.is_empty() { DocKey::new("expect") } else { DocKey::new("matrix") }
}

/// The `[site]` (what a pull without an expectation pulls).
pub fn of_site() -> DocKey {
    DocKey::new("site")
}

/// Where `key` is written: in the scenario's file, else in its fixture's; `None` when
/// neither holds it (or a file cannot be read any more).
pub fn locate(s: &Scenario, key: &DocKey) -> Option<Location> {
    let files = std::iter::once(s.file.as_path()).chain(s.fixture.as_ref().map(|(_, p)| p.as_path()));
    for file in files {
        if let Some(pos) = find_in(file, key) {
            return Some(Location {
                file: file.display().to_string(),
                line: pos.line,
                column: pos.column,
                key: key.label(),
            });
        }
    }
    None
}

fn find_in(file: &Path, key: &DocKey) -> Option<Pos> {
    let text = std::fs::read_to_string(file).ok()?;
    let doc = DeTable::parse(&text).ok()?;
    let (top_key, top) = doc.get_ref().get_key_value(key.top)?;
    // The entry: the table itself, or the list entry with this name (or index).
    let (entry_at, entry) = match top.get_ref() {
        DeValue::Table(t) => (top_key.span().start, t),
        DeValue::Array(items) => {
            let found = items.iter().enumerate().find_map(|(i, v)| {
                let DeValue::Table(t) = v.get_ref() else { return None };
                let by_name = match &key.name {
                    Some(n) => t.get("name").and_then(|x| x.get_ref().as_str()).is_some_and(|x| x == n),
                    None => key.index.is_none_or(|want| want == i),
                };
                by_name.then_some((v.span().start, t))
            });
            found.or_else(|| {
                // A single entry without a name changes the fixture's only one.
                let only = items.first().filter(|_| items.len() == 1)?;
                let DeValue::Table(t) = only.get_ref() else { return None };
                (key.name.is_some() && t.get("name").is_none()).then_some((only.span().start, t))
            })?
        }
        // A plain value (`restart = true`): the key itself.
        _ => return (key.inner.is_none()).then(|| header_pos(&text, top_key.span().start)),
    };
    if let DeValue::Table(_) = top.get_ref() {
        // A table with another name is another entry (`[registry]` of another registry).
        let other = key.name.as_ref().is_some_and(|n| {
            entry.get("name").and_then(|x| x.get_ref().as_str()).is_some_and(|x| !x.eq_ignore_ascii_case(n))
        });
        if other {
            return None;
        }
    }
    let at = match key.inner {
        Some(inner) => entry.get_key_value(inner).map(|(k, _)| k.span().start)?,
        None => entry_at,
    };
    Some(header_pos(&text, at))
}

/// The position of `offset`; on a table header (`[registry]`, `[[step]]`), its first
/// column.
fn header_pos(text: &str, offset: usize) -> Pos {
    let pos = Pos::of_offset(text, offset);
    let line = text.lines().nth(pos.line - 1).unwrap_or_default();
    if line.trim_start().starts_with('[') { Pos { line: pos.line, column: 1 } } else { pos }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{LoadOptions, load};

    #[test]
    fn calls_are_traced_to_the_resource_they_address() {
        let call = |path: &str| ArmCall::new("PUT", path.to_string(), None, "x");
        let rg = "/subscriptions/s/resourceGroups/rg";
        assert_eq!(
            of_call(&call(&format!("{rg}/providers/Microsoft.ContainerRegistry/registries/acr1"))).label(),
            "registry[acr1]"
        );
        assert_eq!(
            of_call(&call(&format!("{rg}/providers/Microsoft.Network/virtualNetworks/v/subnets/s"))).label(),
            "vnet[v]"
        );
        let role = format!(
            "{rg}/providers/Microsoft.ContainerRegistry/registries/a/providers/Microsoft.Authorization/roleAssignments/g"
        );
        assert_eq!(of_call(&call(&role)).label(), "role_assignment");
        assert_eq!(of_call(&call(rg)).label(), "resource_group");
    }

    #[test]
    fn a_key_is_found_in_the_scenario_first_then_in_its_fixture() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let fixtures = dir.path().join("fixtures");
        std::fs::create_dir(&fixtures).unwrap_or_else(|e| panic!("{e}"));
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/fixtures/recipe-2021.toml");
        std::fs::copy(repo, fixtures.join("recipe-2021.toml")).unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("s.toml");
        let text = "name = \"x\"\nfixture = \"recipe-2021\"\n\n[registry]\nsku = \"Basic\"\n\n[[step]]\nrestart = true\n\n[[step]]\npull = true\n";
        std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
        let s = load(&file, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}")).remove(0);
        let at = |k: &DocKey| locate(&s, k).map(|l| (l.file.ends_with("s.toml"), l.line, l.column, l.key));
        assert_eq!(
            at(&DocKey::named("registry", "secureacr2021")),
            Some((true, 4, 1, "registry[secureacr2021]".into()))
        );
        assert_eq!(at(&of_step(1)), Some((true, 10, 1, "step[2]".into())));
        // The fixture's VNET and the registry's images, which the scenario leaves alone.
        assert_eq!(at(&DocKey::named("vnet", "vnet")).map(|l| (l.0, l.1)), Some((false, 9)));
        assert_eq!(
            at(&DocKey::named("registry", "secureacr2021").inner("images")).map(|l| (l.0, l.1, l.2)),
            Some((false, 22, 1))
        );
        assert_eq!(at(&DocKey::named("vnet", "nowhere")), None);
    }
}
