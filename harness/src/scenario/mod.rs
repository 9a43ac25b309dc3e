//! Scenario files: the format, the loader, and the ARM plan a topology turns into.
//!
//! A **scenario** is one TOML file: a topology (what exists in Azure), optional steps
//! (ARM requests, restarts, pulls) and what the pull must give. A **fixture**
//! (`scenarios/fixtures/<name>.toml`) is a topology on its own that scenarios build on
//! and change. Words are the ones Azure users know: ARM property names where a table
//! holds ARM JSON (`[site.config]`, `[site.properties]`), the portal's and the CLI's
//! elsewhere.
//!
//! # A complete example
//!
//! ```toml
//! name = "Route-all off in July 2021: the pull goes public and the ACR firewall refuses it"
//! description = "RULES.md A6: route-all is needed in 2021-07."
//! rules = "2021-07"                   # 2021-07 | 2021-11 | 2022-03 | 2024-11 (default: newest)
//! fixture = "recipe-2021"             # scenarios/fixtures/recipe-2021.toml
//! unset = ["site.app_settings.WEBSITE_VNET_ROUTE_ALL"]   # delete what the fixture set
//!
//! [resource_group]
//! name = "secureacrsetup"
//! location = "westeurope"             # every resource's default location
//!
//! [[vnet]]
//! name = "vnet"
//! address_space = ["10.0.0.0/16"]
//! dns_servers = []                    # empty: Azure DNS; else the VNET's custom DNS
//! subnets = [
//!   { name = "integration", prefix = "10.0.1.0/24", delegation = "Microsoft.Web/serverFarms" },
//!   { name = "pe", prefix = "10.0.2.0/24" },
//! ]
//! peerings = [{ name = "vnet-to-hub", remote = "hub", bidirectional = true }]
//!
//! [[vnet]]
//! name = "hub"
//! address_space = ["10.1.0.0/16"]
//! subnets = [{ name = "dns", prefix = "10.1.0.0/24" }]
//!
//! [registry]                          # or [[registry]] for several
//! name = "secureacr2021"
//! sku = "Premium"                     # Basic | Standard | Premium
//! admin_user = true
//! public_network_access = "Disabled"  # Enabled (default) | Disabled
//! default_action = "Allow"            # networkRuleSet.defaultAction: Allow | Deny
//! ip_rules = ["203.0.113.0/24"]
//! network_rule_bypass = "AzureServices"   # AzureServices | None
//! data_endpoint = false               # dedicated data endpoints
//! anonymous_pull = false
//! images = [{ repo = "app", tag = "v1", layers = 3, layer_size = 1024, seed = 1,
//!             schema1 = false, platforms = [] }]   # platforms: push an index
//!
//! [[private_endpoint]]
//! name = "acr-pe"
//! subnet = "vnet/pe"
//! target = "registry:secureacr2021"
//! dns_zone_group = "privatelink.azurecr.io"   # or a list; omit for no zone group
//! manual_approval = false             # true: the connection stays Pending
//!
//! [[private_dns_zone]]
//! name = "privatelink.azurecr.io"
//! links = [{ name = "acrlink", vnet = "vnet", registration = false,
//!            resolution_policy = "Default" }]   # Default | NxDomainRedirect
//! records = [{ name = "other", type = "A", ttl = 10, values = ["10.0.2.9"] }]
//!
//! [[custom_dns]]                      # a DNS server VM (not an ARM resource)
//! name = "dns1"
//! vnet = "hub"
//! address = "10.1.0.4"
//! upstream = "AzureDns"               # AzureDns | Public | None
//! forwarders = [{ zone = "privatelink.azurecr.io", targets = ["AzureDns"] }]
//!
//! [[identity]]                        # user-assigned managed identity
//! name = "pull-identity"
//!
//! [[role_assignment]]
//! principal = "identity:pull-identity"    # or "site" (its system identity)
//! role = "AcrPull"                        # a built-in role
//! scope = "registry:secureacr2021"        # or "resource_group"
//!
//! [plan]
//! name = "plan"
//! sku = "P1v3"                        # always Linux
//!
//! [site]
//! name = "secureacrweb2021"
//! image = "secureacr2021.azurecr.io/app:v1"   # linuxFxVersion = "DOCKER|<image>"
//! vnet_integration = "vnet/integration"
//! credentials = "admin"               # admin | none (default) | managed-identity
//! identity = ["system", "user:pull-identity"]  # "system", "user:<name>" or a list
//! pull_identity = "user:pull-identity"         # which one pulls with managed-identity
//!
//! [site.app_settings]                 # booleans and numbers become strings
//! WEBSITE_PULL_IMAGE_OVER_VNET = true
//!
//! [site.config]                       # siteConfig
//! vnetRouteAllEnabled = false
//!
//! [site.properties]                   # site properties
//! outboundVnetRouting = { imagePullTraffic = false }
//! dnsConfiguration = { dnsServers = ["10.1.0.4"] }
//!
//! [[step]]                            # then the steps, in order
//! arm = "DELETE privateDnsZones/privatelink.azurecr.io"
//! expect = { status = 409, code = "CannotDeleteResource" }
//!
//! [[step]]
//! restart = true
//!
//! [[step]]
//! pull = true
//! expect = { pull = "failure", stage = "firewall" }
//!
//! [expect]                            # the pull once the topology is built, before the steps
//! pull = "failure"                    # success | failure (required)
//! route = "public"                    # vnet | public
//! stage = "firewall"                  # config route dns connect firewall auth manifest blob verify
//! code = "ACR_FIREWALL_DENIED"        # a mock_azure::appservice::trace::Code name
//! message = "is not allowed access"   # substring of the outcome's message
//! log = ["Pulling image"]             # substrings of the App Service log
//! ```
//!
//! # Rules of the format
//!
//! - **Required**: `name` (scenarios), a `[resource_group]` (here or in the fixture),
//!   `name` of every named table, `address_space` of a VNET, `prefix` of a subnet, `sku`
//!   of a registry, `image` of a site (or `linuxFxVersion` in `[site.config]`), a `[plan]`
//!   when there is a `[site]`. Everything else has the default shown or is off.
//! - **References** are by name: `"vnet/subnet"`, `"registry:<name>"`,
//!   `"identity:<name>"`, `"user:<name>"`, zone names, VNET names. Each must exist.
//! - **What the loader checks** is what is a mistake in the file: unknown keys (with a
//!   "did you mean"), types, closed sets of words, prefixes and addresses, undefined
//!   references, duplicates, subnets outside their VNET's space or overlapping. What
//!   Azure refuses (a private endpoint on Basic, a subnet without delegation for VNET
//!   integration, invalid names) is left to ARM, so it fails as Azure fails.
//! - **Strings** in `[site.*]` and step bodies may use `{subscription}` and
//!   `{resource_group}` (e.g. a resource ID put where a client ID belongs).
//! - **`credentials = "admin"`** writes `DOCKER_REGISTRY_SERVER_URL/USERNAME/PASSWORD`
//!   from `listCredentials` after the site exists; app settings the scenario writes itself
//!   win. If the registry's `admin_user = false`, the admin user is switched off *after*
//!   its credentials were configured (a stale configuration, as in real life).
//!   **`"managed-identity"`** sets `acrUseManagedIdentityCreds` and, for a user identity
//!   (`pull_identity`, by default the system identity if any, else the first user one),
//!   `acrUserManagedIdentityID` to its client ID unless `[site.config]` gives one.
//! - **Site properties** `vnetImagePullEnabled`, `vnetRouteAllEnabled`,
//!   `vnetContentShareEnabled` exist only in api-versions 2022-03-01…2024-04-01: the
//!   plan sets them with a PATCH at 2024-04-01; the site itself is PUT at 2024-11-01.
//! - **Steps**: `arm = "METHOD path"` where the path is relative to the resource group
//!   (`privateDnsZones/z/virtualNetworkLinks/l`, starting with one of
//!   virtualNetworks, privateEndpoints, networkInterfaces, privateDnsZones, registries,
//!   sites, serverfarms, userAssignedIdentities, or `providers/...`) or absolute
//!   (`/subscriptions/{subscription}/...`); the api-version is added unless the path or
//!   `api_version` gives one. `body` is a TOML table sent as JSON.
//!
//! # Fixtures and overrides
//!
//! `fixture = "x"` loads `x.toml` from the first `fixtures` directory found in the
//! scenario's own directory or a directory above it (`scenarios/seed/common/a.toml` →
//! `scenarios/seed/common/fixtures/`, `scenarios/seed/fixtures/`,
//! `scenarios/fixtures/x.toml`; the search stops at the repository's root, a directory
//! holding `.git`), then from [`LoadOptions::fixture_dirs`] (`--fixtures DIR`). The
//! current directory plays no part. A fixture holds only a topology (and a
//! `description`); it must be valid on its own, and its errors point into it. Then the
//! scenario is put over it:
//! - tables (`[site]`, `[site.app_settings]`, `[site.config]`, …) merge key by key;
//! - lists of tables merge entry by entry, matched by `name` (images by `repo`+`tag`,
//!   records by `name`+`type`, forwarders by `zone`, role assignments by all three
//!   fields); a new name adds an entry; an entry without its name changes the only
//!   entry there is (`[registry]` `admin_user = false` changes the fixture's registry);
//! - an entry with `remove = true` (and only its name) deletes the fixture's entry;
//! - any other value (strings, arrays of strings such as `address_space`) replaces;
//! - `unset = ["path", ...]` deletes values after the merge. A path is dotted keys, with
//!   `[name]` to pick an entry of a list and quotes for keys with dots:
//!   `registry[secureacr2021].admin_user`, `site.app_settings."my.key"`.
//!
//! # Matrices
//!
//! ```toml
//! [[matrix.axis]]
//! name = "route_all"
//! set = "site.config.vnetRouteAllEnabled"      # a path, or a list of paths
//! values = [true, false]                        # "unset" deletes the value
//!
//! [[matrix.axis]]
//! name = "access"
//! values = [                                    # values that change several things
//!   { name = "public", set = { "registry.public_network_access" = "Enabled" } },
//!   { name = "private", set = { "registry.public_network_access" = "Disabled",
//!                               "registry.default_action" = "Deny" } },
//! ]
//!
//! [[matrix.cell]]
//! when = { route_all = true }                   # partial match; first match wins
//! pull = "success"
//! route = "vnet"
//!
//! [[matrix.cell]]                               # no `when`: every other combination
//! pull = "failure"
//! stage = "firewall"
//! ```
//!
//! The loader expands the cartesian product (at most 1024 combinations) into scenarios
//! named `<name> [route_all=true, access=public]`, each with its cell's expectation. It
//! refuses a matrix where a combination matches no cell (listing them) or where a cell
//! never applies. A matrix scenario has no top-level `[expect]`.
//!
//! # Errors
//!
//! Every problem of a file and its fixture is reported at once, as
//! `FILE:LINE:COLUMN: message` ([`LoadErrors`]); nothing is returned until the file is
//! valid. The loader never panics, whatever the input.
//!
//! # Limits
//!
//! Past any of these a file is refused, at the place where the limit is crossed and
//! before anything runs ([`limits`]); within them a load takes time about linear in the
//! file's size.
//! - **File**: at most 1048576 bytes (1 MiB) per scenario or fixture file.
//! - **Matrix**: at most 16 axes, 1024 combinations (so at most 1024 values per axis),
//!   1024 cells, and 128 paths set by its axis values together.
//! - **Steps**: at most 128 steps per scenario, and 4096 steps per file (each
//!   combination's steps, summed).
//! - **Expansion**: at most 500000 values per file: the document merged with its
//!   fixture (strings, numbers, tables… alike), counted once per combination.
//! - **`unset`**: at most 128 paths.
//! - **App settings**: at most 1024 app settings per site.
//!
//! "Did you mean" hints are looked for among at most 100000 known words per load: a
//! file with thousands of mistakes gets them for its first ones.
//!
//! # Layout
//! - `tree`: the parsed document, each key and value with its file and position.
//! - `merge`: fixture + scenario, and the dotted paths of `unset` and matrix axes.
//! - `schema`: the walk that types and checks the document, collecting every error: its
//!   machinery (`walker`, `refs`), one file per part of the format, and the Azure facts
//!   it needs (`azure`; ARM's own are read from `mock_azure`).
//! - `matrix`: axes, cells and the expansion.
//! - [`model`]: the typed scenario.
//! - `plan`: the ARM plan, one file per kind of resource.
//! - `error`: [`LoadError`], [`LoadErrors`] and the "did you mean" hints.
//! - [`limits`]: the most work a file may ask for.

use std::path::{Path, PathBuf};

mod error;
pub mod limits;
mod matrix;
mod merge;
pub mod model;
mod plan;
mod schema;
mod tree;

pub use error::{LoadError, LoadErrors, Pos};
pub use model::*;
pub use plan::{ArmCall, CustomDnsSpec, Deferred, MissingInAnswer, PlanStep, arm_plan};

use schema::{Checks, DocKind, Walker};
use tree::{Files, Node, Val};

/// Where the loader looks for fixtures besides the `fixtures` directories of the
/// scenario's directory and those above it.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Directories searched in order after those (`--fixtures DIR`).
    pub fixture_dirs: Vec<PathBuf>,
    /// Values set after the merge and `unset`, as `(path, TOML value)` (`pullsim whatif
    /// --set PATH=VALUE`; a value that is not TOML is a string, `unset` deletes).
    pub sets: Vec<(String, String)>,
}

impl LoadOptions {
    /// Adds a directory to search for fixtures.
    pub fn with_fixture_dir(mut self, dir: impl Into<PathBuf>) -> LoadOptions {
        self.fixture_dirs.push(dir.into());
        self
    }
}

/// Loads a scenario file: one scenario, or one per combination of its matrix. Every
/// problem of the file and of its fixture is reported; nothing is returned unless both
/// are valid.
pub fn load(path: &Path, search: &LoadOptions) -> Result<Vec<Scenario>, LoadErrors> {
    match limits::read_text(path) {
        Ok(text) => load_text(path, &text, search),
        Err(e) => Err(LoadErrors(vec![LoadError {
            file: path.to_path_buf(),
            pos: None,
            message: format!("cannot read the scenario: {e}"),
        }])),
    }
}

/// Like [`load`], for a scenario whose text is at hand (from standard input, an editor
/// buffer, a test): `path` names it in errors and places it for the fixture look-up.
pub fn load_text(path: &Path, text: &str, search: &LoadOptions) -> Result<Vec<Scenario>, LoadErrors> {
    let mut f = Files::default();
    let id = f.add(path, text.to_string());
    let Some(mut root) = f.parse(id) else {
        return Err(LoadErrors(f.into_errors()));
    };
    merge::normalize(&mut root);

    // The fixture: found, parsed and valid on its own, or the scenario is only checked
    // for its own shape (its references may point into the missing fixture).
    let mut fixture: Option<(String, PathBuf, Node)> = None;
    let mut base_ok = true;
    if let Some(n) = root.get("fixture") {
        match n.as_str() {
            None => {
                f.err(n.at, format!("'fixture' must be a string (a fixture's name), found {}", n.v.kind()));
                base_ok = false;
            }
            Some(name) => match find_fixture(path, name, search) {
                Ok(fpath) => match load_fixture(&mut f, &fpath) {
                    Some(node) => fixture = Some((name.to_string(), fpath, node)),
                    None => base_ok = false,
                },
                Err(msg) => {
                    f.err(n.at, msg);
                    base_ok = false;
                }
            },
        }
    }
    let matrix_node = root.get("matrix").cloned();
    let unset = unset_paths(&mut f, &root);
    if !base_ok {
        let mut w = Walker::new(&mut f, Checks { whole: false });
        w.root(&root, DocKind::Scenario);
        if let Some(m) = &matrix_node {
            w.matrix(m);
        }
        return Err(LoadErrors(f.into_errors()));
    }
    let fixture_ref = fixture.as_ref().map(|(n, p, _)| (n.clone(), p.clone()));
    let mut merged = match fixture {
        Some((_, _, base)) => merge::merge(&mut f, base, root),
        None => root,
    };
    for (p, at) in unset {
        if let Err(e) = merge::apply(&mut merged, &p, None, at) {
            f.err(at, format!("'unset': {e}"));
        }
    }
    apply_sets(&mut f, &mut merged, &search.sets);

    let mut out = Vec::new();
    let mut w = Walker::new(&mut f, Checks { whole: true });
    match matrix_node {
        None => {
            let (head, topology) = w.root(&merged, DocKind::Scenario);
            out.push(Scenario {
                name: head.name.unwrap_or_default(),
                description: head.description,
                file: path.to_path_buf(),
                fixture: fixture_ref,
                rules: head.rules,
                cell: Vec::new(),
                topology,
                steps: head.steps,
                expect: head.expect,
            });
        }
        Some(m) => out = matrix::scenarios(&mut w, &m, &merged, path, fixture_ref),
    }
    if f.has_errors() {
        return Err(LoadErrors(f.into_errors()));
    }
    Ok(out)
}

/// `--set PATH=VALUE`s, each read as a one-line document `--set` (errors point there).
fn apply_sets(f: &mut Files, merged: &mut Node, sets: &[(String, String)]) {
    for (path, value) in sets {
        let literal = if format!("v = {value}").parse::<toml_edit::DocumentMut>().is_ok() {
            value.clone()
        } else {
            serde_json::Value::from(value.as_str()).to_string()
        };
        let id = f.add(Path::new("--set"), format!("v = {literal}"));
        let Some(doc) = f.parse(id) else { continue };
        let Some(node) = doc.get("v").cloned() else { continue };
        let at = doc.at;
        let value = if node.as_str() == Some("unset") { None } else { Some(node) };
        match merge::parse_path(path) {
            Ok(p) => {
                if let Err(e) = merge::apply(merged, &p, value, at) {
                    f.err(at, format!("--set {path}: {e}"));
                }
            }
            Err(e) => f.err(at, format!("--set {path}: {e}")),
        }
    }
}

/// `unset = [paths]` of the scenario, parsed (errors recorded).
fn unset_paths(f: &mut Files, root: &Node) -> Vec<(Vec<merge::Seg>, tree::At)> {
    let Some(n) = root.get("unset") else { return Vec::new() };
    let Val::Array(items) = &n.v else {
        f.err(n.at, format!("'unset' must be an array of paths, found {}", n.v.kind()));
        return Vec::new();
    };
    if let Some(extra) = items.get(limits::MAX_PATHS) {
        let msg = format!("'unset' lists {} paths; it lists at most {}", items.len(), limits::MAX_PATHS);
        f.err(extra.at, msg);
        return Vec::new();
    }
    let mut out = Vec::new();
    for item in items {
        match item.as_str().map(merge::parse_path) {
            Some(Ok(p)) => out.push((p, item.at)),
            Some(Err(e)) => f.err(item.at, format!("'unset': {e}")),
            None => f.err(item.at, format!("each item of 'unset' must be a string, found {}", item.v.kind())),
        }
    }
    out
}

/// Reads, parses and checks a fixture on its own; `None` if anything is wrong with it.
fn load_fixture(f: &mut Files, path: &Path) -> Option<Node> {
    let before = f.error_count();
    let text = match limits::read_text(path) {
        Ok(t) => t,
        Err(e) => {
            f.file_errors.push((path.to_path_buf(), format!("cannot read the fixture: {e}")));
            return None;
        }
    };
    let id = f.add(path, text);
    let mut node = f.parse(id)?;
    merge::normalize(&mut node);
    Walker::new(f, Checks { whole: true }).root(&node, DocKind::Fixture);
    (f.error_count() == before).then_some(node)
}

/// The directories fixtures are looked up in, in order: `fixtures` in the scenario's
/// directory and in each directory above it, up to the root of the repository holding
/// it (a directory with `.git`) or of the file system; then the `search` directories.
/// Each directory once; shown relative to the current directory.
fn fixture_dirs(scenario: &Path, search: &LoadOptions) -> Vec<PathBuf> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let start = match scenario.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let start = lexical(&cwd.join(start));
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for dir in start.ancestors() {
        let d = dir.join("fixtures");
        if seen.insert(d.clone()) {
            out.push(relative_to(&cwd, &d));
        }
        if dir.join(".git").exists() {
            break;
        }
    }
    for d in &search.fixture_dirs {
        if seen.insert(lexical(&cwd.join(d))) {
            out.push(d.clone());
        }
    }
    out
}

/// `p` with `.` and `..` resolved by their names (no symbolic links followed).
fn lexical(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `target` (absolute, lexical) as seen from `from`: a path under it, or `..` steps.
pub(crate) fn relative_to(from: &Path, target: &Path) -> PathBuf {
    let (from, target) = (lexical(from), lexical(target));
    let common = from.components().zip(target.components()).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return target;
    }
    let mut out = PathBuf::new();
    for _ in from.components().skip(common) {
        out.push("..");
    }
    for c in target.components().skip(common) {
        out.push(c);
    }
    if out.as_os_str().is_empty() { PathBuf::from(".") } else { out }
}

fn find_fixture(scenario: &Path, name: &str, search: &LoadOptions) -> Result<PathBuf, String> {
    let stem = name.strip_suffix(".toml").unwrap_or(name);
    if stem.is_empty() || stem.contains(['/', '\\']) || stem.starts_with('.') {
        return Err(format!("'fixture' must be a fixture's name (a file in a fixtures directory), found '{name}'"));
    }
    let dirs = fixture_dirs(scenario, search);
    for d in &dirs {
        let p = d.join(format!("{stem}.toml"));
        if p.is_file() {
            return Ok(p);
        }
    }
    let mut known = Vec::new();
    for d in &dirs {
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "toml")
                    && let Some(s) = p.file_stem().and_then(|s| s.to_str())
                {
                    known.push(s.to_string());
                }
            }
        }
    }
    known.sort();
    let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Err(format!(
        "unknown fixture '{stem}' (looked in {}){}",
        looked.join(", "),
        error::did_you_mean(stem, known.iter().map(String::as_str))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The TOML blocks of this module's documentation, in order.
    fn doc_blocks() -> Vec<String> {
        let mut blocks = Vec::new();
        let mut current: Option<String> = None;
        for line in include_str!("mod.rs").lines().filter_map(|l| l.strip_prefix("//!")) {
            let line = line.strip_prefix(' ').unwrap_or(line);
            match (&mut current, line) {
                (None, "```toml") => current = Some(String::new()),
                (Some(_), "```") => blocks.extend(current.take()),
                (Some(b), l) => {
                    b.push_str(l);
                    b.push('\n');
                }
                (None, _) => {}
            }
        }
        blocks
    }

    fn fixtures() -> LoadOptions {
        LoadOptions::default().with_fixture_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/fixtures"))
    }

    #[test]
    fn the_documented_example_loads() {
        let blocks = doc_blocks();
        assert_eq!(blocks.len(), 2);
        let s = load_text(Path::new("doc/example.toml"), &blocks[0], &fixtures()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.len(), 1);
        let s = &s[0];
        assert_eq!(s.topology.vnets.len(), 2);
        assert_eq!(s.steps.len(), 3);
        let site = s.topology.site.as_ref().map(|x| (x.system_identity, x.pull_identity.clone()));
        assert_eq!(site, Some((true, Some(PullIdentity::User("pull-identity".into())))));
        assert!(!arm_plan(s, "sub").is_empty());
    }

    #[test]
    fn the_documented_limits_are_the_loaders() {
        let text = include_str!("mod.rs");
        let section = text.split("//! # Limits").nth(1).and_then(|s| s.split("//! # Layout").next()).unwrap_or("");
        let section = section.replace("\n//!  ", " ").replace("\n//!", "");
        for phrase in [
            format!("at most {} bytes", limits::MAX_FILE_BYTES),
            format!("at most {} axes", limits::MAX_AXES),
            format!("{} combinations", limits::MAX_COMBINATIONS),
            format!("at most {} values per axis", limits::MAX_COMBINATIONS),
            format!("{} cells", limits::MAX_CELLS),
            format!("{} paths set by its axis values", limits::MAX_PATHS),
            format!("at most {} steps per scenario", limits::MAX_STEPS),
            format!("{} steps per file", limits::MAX_EXPANDED_STEPS),
            format!("at most {} values per file", limits::MAX_EXPANDED_VALUES),
            format!("`unset`**: at most {} paths", limits::MAX_PATHS),
            format!("at most {} app settings", limits::MAX_APP_SETTINGS),
            format!("at most {} known words", limits::MAX_HINT_WORDS),
        ] {
            assert!(section.contains(&phrase), "the format's documentation does not say '{phrase}':\n{section}");
        }
    }

    #[test]
    fn the_documented_matrix_loads() {
        let text = format!("name = \"m\"\nfixture = \"recipe-2021\"\n{}", doc_blocks()[1]);
        let s = load_text(Path::new("doc/matrix.toml"), &text, &fixtures()).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "m [route_all=true, access=public]",
                "m [route_all=true, access=private]",
                "m [route_all=false, access=public]",
                "m [route_all=false, access=private]"
            ]
        );
    }

    #[test]
    fn fixtures_are_looked_up_from_the_scenario_upward_each_folder_once() {
        let here = std::env::current_dir().unwrap_or_default();
        let opts = LoadOptions::default().with_fixture_dir("../scenarios/fixtures").with_fixture_dir("../fixtures");
        let dirs = fixture_dirs(Path::new("tests/malformed/x.toml"), &opts);
        let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        // From harness/ (cargo runs unit tests in the package's directory): up to the
        // repository's root, then the options not already listed.
        assert!(here.ends_with("harness"), "{}", here.display());
        assert_eq!(
            shown,
            ["tests/malformed/fixtures", "tests/fixtures", "fixtures", "../fixtures", "../scenarios/fixtures"]
        );
        assert_eq!(relative_to(Path::new("/a/b"), Path::new("/a/c/d")), PathBuf::from("../c/d"));
        assert_eq!(relative_to(Path::new("/a/b"), Path::new("/a/b")), PathBuf::from("."));
    }
}
