//! The harness's modules import each other in one direction: the `use` lines and the
//! `crate::…` / `super::…` paths of `harness/src` (test modules aside) form no cycle.
//! A path is charged to the deepest module it names (`crate::runner::result::Verdict`
//! → `runner::result`); a parent's `mod` lines are not imports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// `a/b.rs` → `a::b`, `a/mod.rs` → `a`, `lib.rs` → the root (``).
fn module_of(rel: &Path) -> String {
    let s = rel.with_extension("").to_string_lossy().replace('/', "::");
    let s = s.strip_suffix("::mod").unwrap_or(&s).to_string();
    if s == "lib" { String::new() } else { s }
}

fn parent(m: &str) -> String {
    m.rsplit_once("::").map(|(p, _)| p.to_string()).unwrap_or_default()
}

fn join(base: &str, rest: &str) -> String {
    match (base.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_string(),
        (_, true) => base.to_string(),
        _ => format!("{base}::{rest}"),
    }
}

/// A file's text without its `#[cfg(test)] mod tests` and its comments.
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.next() {
        if l.trim() == "#[cfg(test)]" && lines.peek().is_some_and(|n| n.trim_start().starts_with("mod tests")) {
            break;
        }
        let l = l.split("//").next().unwrap_or_default();
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// `crate::a::{b, c::d}` → `crate::a::b`, `crate::a::c::d`.
fn expand(path: &str) -> Vec<String> {
    let path: String = path.split_whitespace().collect();
    let Some(open) = path.find('{') else { return vec![path] };
    let (head, rest) = path.split_at(open);
    let inner = &rest[1..rest.rfind('}').unwrap_or(rest.len())];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items.into_iter().filter(|i| !i.is_empty()).flat_map(|i| expand(&format!("{head}{i}"))).collect()
}

/// The modules the paths of `code` (in module `m`) name.
fn imports(m: &str, code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut paths = Vec::new();
    // `use` statements, grouped imports expanded.
    for stmt in code.split(';') {
        if let Some(u) = stmt.trim_start().strip_prefix("pub use ").or_else(|| stmt.trim_start().strip_prefix("use ")) {
            paths.extend(expand(u));
        }
        if let Some(i) = stmt.find("pub(crate) use ") {
            paths.extend(expand(&stmt[i + "pub(crate) use ".len()..]));
        }
    }
    // Paths written inline (`crate::docker::host::run::connect()`).
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        for (i, _) in code.match_indices(start) {
            if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
                continue;
            }
            let end = code[i..].find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).map(|e| i + e);
            paths.push(code[i..end.unwrap_or(code.len())].to_string());
        }
    }
    let mut out = BTreeSet::new();
    for p in paths {
        let p = p.trim().trim_end_matches("::").split(" as ").next().unwrap_or_default().to_string();
        // `super` of `a/mod.rs` (module `a`) is the root; of `a/b.rs` (`a::b`), `a`: the
        // parent of the module either way.
        let (base, rest) = if let Some(r) = p.strip_prefix("crate::") {
            (String::new(), r.to_string())
        } else if let Some(mut r) = p.strip_prefix("super::") {
            let mut base = parent(m);
            while let Some(rr) = r.strip_prefix("super::") {
                base = parent(&base);
                r = rr;
            }
            (base, r.to_string())
        } else if let Some(r) = p.strip_prefix("self::") {
            (m.to_string(), r.to_string())
        } else if modules.contains(&join(m, p.split("::").next().unwrap_or_default())) {
            // A path from a child module (`use backend::DockerBackend;` in `host`).
            (m.to_string(), p.clone())
        } else {
            continue;
        };
        let full = join(&base, &rest);
        // The deepest module the path names.
        let mut target = full.clone();
        while !target.is_empty() && !modules.contains(&target) {
            target = parent(&target);
        }
        if !target.is_empty() && target != m {
            out.insert(target);
        }
    }
    out
}

/// Every cycle of `graph`, as `a → b → a`.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut found = Vec::new();
    for start in graph.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((node, path)) = stack.pop() {
            for next in graph.get(&node).into_iter().flatten() {
                if next == start {
                    found.push(format!("{} → {start}", path.join(" → ")));
                } else if seen.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
    found
}

/// The check finds what it is for: a child using its parent's item while the parent
/// uses the child, and a loop through grouped and inline paths.
#[test]
fn the_import_check_finds_cycles() {
    let modules: BTreeSet<String> = ["a", "a::b", "c"].iter().map(|s| s.to_string()).collect();
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", "pub use b::X;\nuse crate::{c::Z, a::b::Y};"),
        ("a::b", "use super::W;"),
        ("c", "fn f() { crate::a::b::g(); }"),
    ]
    .iter()
    .map(|(m, code)| (m.to_string(), imports(m, code, &modules)))
    .collect();
    assert_eq!(graph["a"], ["a::b", "c"].iter().map(|s| s.to_string()).collect());
    assert_eq!(graph["a::b"], ["a"].iter().map(|s| s.to_string()).collect());
    let found = cycles(&graph);
    assert!(found.contains(&"a → a::b → a".to_string()), "{found:?}");
}

#[test]
fn harness_modules_form_no_import_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../harness/src");
    let mut files = Vec::new();
    let mut todo = vec![src.clone()];
    while let Some(dir) = todo.pop() {
        for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") && p.file_name().is_some_and(|n| n != "main.rs") {
                files.push(p);
            }
        }
    }
    let modules: BTreeSet<String> =
        files.iter().map(|f| module_of(f.strip_prefix(&src).unwrap_or(f))).filter(|m| !m.is_empty()).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let m = module_of(f.strip_prefix(&src).unwrap_or(f));
        let text = std::fs::read_to_string(f).unwrap_or_default();
        graph.insert(m.clone(), imports(&m, &code(&text), &modules));
    }
    assert!(graph.len() > 30, "{} modules found", graph.len());
    let cycles = cycles(&graph);
    // The docker backend's two sides meet only in its protocol.
    let crossing: Vec<String> = graph
        .iter()
        .flat_map(|(m, to)| to.iter().map(move |t| (m, t)))
        .filter(|(m, t)| {
            (m.starts_with("docker::host") && t.starts_with("docker::component"))
                || (m.starts_with("docker::component") && t.starts_with("docker::host"))
        })
        .map(|(m, t)| format!("{m} → {t}"))
        .collect();
    assert!(crossing.is_empty(), "docker host and component import each other: {crossing:?}");
    assert!(cycles.is_empty(), "import cycles in harness/src:\n{}", cycles.join("\n"));
}
