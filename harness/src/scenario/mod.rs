//! Scenario files: the format, the loader, and the ARM plan a topology turns into.
//!
//! A **scenario** is one TOML file: a topology (what exists in Azure), optional steps
//! (ARM requests, restarts, pulls) and what the pull must give. A **fixture**
//! (`scenarios/fixtures/<name>.toml`) is a topology on its own that scenarios build on
//! and change. Words are the ones Azure users know: ARM property names where a table
//! holds ARM JSON (`[site.config]`, `[site.properties]`), the portal's and the CLI's
//! elsewhere.
//!
//! The format — an example of every table, its rules, fixtures and overrides, matrices,
//! errors and limits — is documented once, for users, in `docs/scenarios.md`; the tests
//! below load its examples and hold its limits to [`limits`].
//!
//! # Layout
//! - `tree`: the parsed document, each key and value with its file and position.
//! - `merge`: fixture + scenario, and the dotted paths of `unset` and matrix axes.
//! - `schema`: the walk that types and checks the document, collecting every error: its
//!   machinery (`walker`, `refs`, `refcheck`), one file per part of the format, the Azure facts
//!   it needs (`azure`; ARM's own are read from `mock_azure`).
//! - `matrix`: axes, cells and the expansion.
//! - [`model`]: the typed scenario.
//! - `plan`: the ARM plan, one file per kind of resource.
//! - `error`: [`LoadError`], [`LoadErrors`] and the "did you mean" hints.
//! - [`limits`]: the most work a file may ask for.
//! - [`standalone`]: a file that is a scenario or a fixture, loaded as a scenario.

use std::path::{Path, PathBuf};

mod error;
pub mod limits;
mod matrix;
mod merge;
pub mod model;
mod plan;
mod schema;
pub mod standalone;
mod tree;

pub use error::{LoadError, LoadErrors, Pos};
pub use model::*;
pub use plan::{ArmCall, CustomDnsSpec, Deferred, MissingInAnswer, PlanStep, arm_plan};

pub use schema::describe::json_schema;
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

    /// The format's documentation, `docs/scenarios.md`.
    fn format_doc() -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/scenarios.md");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The TOML blocks of the format's documentation, in order.
    fn doc_blocks() -> Vec<String> {
        let mut blocks = Vec::new();
        let mut current: Option<String> = None;
        for line in format_doc().lines() {
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
        assert_eq!(s.steps.len(), 4);
        let site = s.topology.site.as_ref().map(|x| (x.system_identity, x.pull_identity.clone()));
        assert_eq!(site, Some((true, Some(PullIdentity::User("pull-identity".into())))));
        assert!(!arm_plan(s, "sub").is_empty());
    }

    #[test]
    fn the_documented_limits_are_the_loaders() {
        let text = format_doc();
        let section = text.split("## Limits").nth(1).and_then(|s| s.split("\n## ").next()).unwrap_or("");
        let section = section.replace("\n  ", " ").replace('\n', " ");
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
