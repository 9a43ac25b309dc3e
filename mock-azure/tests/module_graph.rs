//! The crate's modules depend on each other in one direction: no import cycle.
//!
//! Every file of `src/` is a node. A file depends on another when its code names an item
//! that file defines (`use crate::…`, `use super::…`, `super::x::f(…)`, a child module
//! named directly); a name a module re-exports (`pub use child::Item`) is followed to the
//! file that defines it, so reaching a sibling through the parent's re-exports is still a
//! dependency on the sibling. A re-export itself is the module's interface, not a use:
//! `mod.rs` listing what its children offer does not make the children depend on it.
//! Test-only code (`#[cfg(test)]`) is left out; a test module may reach anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Cycles known and accepted for now, each with its reason. The test fails when one of
/// them is gone (delete it here) as when a new one appears.
const KNOWN: &[(&[&str], &str)] = &[];

/// A module path inside the crate (`["arm", "resources"]`); the crate root is empty.
type ModPath = Vec<String>;

struct Crate {
    /// File modules and inline modules, each with the file that holds it.
    modules: BTreeMap<ModPath, PathBuf>,
    /// Names each module re-exports: the path as written and the module it is written in.
    reexports: BTreeMap<ModPath, BTreeMap<String, (Vec<String>, ModPath)>>,
}

/// `segments` as written in module `current`, resolved to the module that defines the
/// item they name; `None` for paths outside the crate (std, dependencies, locals).
fn resolve(krate: &Crate, current: &ModPath, segments: &[String], depth: usize) -> Option<ModPath> {
    let first = segments.first()?;
    let mut at = match first.as_str() {
        "crate" => Vec::new(),
        "self" => current.clone(),
        "super" => {
            let mut m = current.clone();
            m.pop();
            m
        }
        name => {
            // A child module named without `self::`.
            let mut m = current.clone();
            m.push(name.to_string());
            if !krate.modules.contains_key(&m) {
                return None;
            }
            m
        }
    };
    let mut rest = &segments[1..];
    while first == "super" && rest.first().is_some_and(|s| s == "super") {
        at.pop();
        rest = &rest[1..];
    }
    for (i, s) in rest.iter().enumerate() {
        let mut next = at.clone();
        next.push(s.clone());
        if krate.modules.contains_key(&next) {
            at = next;
            continue;
        }
        // An item of `at`: defined there, or re-exported from elsewhere.
        if let Some((path, written_in)) = krate.reexports.get(&at).and_then(|r| r.get(s))
            && depth < 16
        {
            let mut full = path.clone();
            full.extend(rest[i + 1..].iter().cloned());
            return resolve(krate, written_in, &full, depth + 1).or(Some(at));
        }
        break;
    }
    Some(at)
}

/// Every name a `use` tree brings in: (name, path as written).
fn use_leaves(prefix: Vec<String>, tree: &syn::UseTree, out: &mut Vec<(String, Vec<String>, usize)>) {
    match tree {
        syn::UseTree::Path(p) => {
            let mut next = prefix;
            next.push(p.ident.to_string());
            use_leaves(next, &p.tree, out);
        }
        syn::UseTree::Name(n) => {
            let mut full = prefix;
            let name = if n.ident == "self" {
                full.last().cloned().unwrap_or_default()
            } else {
                full.push(n.ident.to_string());
                n.ident.to_string()
            };
            out.push((name, full, n.ident.span().start().line));
        }
        syn::UseTree::Rename(r) => {
            let mut full = prefix;
            full.push(r.ident.to_string());
            out.push((r.rename.to_string(), full, r.ident.span().start().line));
        }
        syn::UseTree::Glob(g) => out.push(("*".into(), prefix, g.star_token.spans[0].start().line)),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                use_leaves(prefix.clone(), t, out);
            }
        }
    }
}

/// The re-exports (`pub use`, `pub(crate) use`…) at the top of module `m`'s items and
/// of its inline modules.
fn collect_reexports(
    m: &ModPath,
    items: &[syn::Item],
    out: &mut BTreeMap<ModPath, BTreeMap<String, (Vec<String>, ModPath)>>,
) {
    for item in items {
        match item {
            syn::Item::Use(u) if !matches!(u.vis, syn::Visibility::Inherited) => {
                let mut leaves = Vec::new();
                use_leaves(Vec::new(), &u.tree, &mut leaves);
                for (name, path, _) in leaves {
                    out.entry(m.clone()).or_default().insert(name, (path, m.clone()));
                }
            }
            syn::Item::Mod(inner) => {
                if let Some((_, items)) = &inner.content {
                    let mut p = m.clone();
                    p.push(inner.ident.to_string());
                    collect_reexports(&p, items, out);
                }
            }
            _ => {}
        }
    }
}

fn module_of(src: &Path, file: &Path) -> ModPath {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().expect("a file name");
    match last.as_str() {
        "lib.rs" | "mod.rs" => {}
        other => parts.push(other.trim_end_matches(".rs").to_string()),
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs
        .iter()
        .any(|a| a.path().is_ident("cfg") && a.meta.require_list().is_ok_and(|l| l.tokens.to_string().contains("test")))
}

/// Collects the paths one file names, resolved to absolute module paths.
struct Collector<'a> {
    krate: &'a Crate,
    /// The module being visited (the file's, then inline modules inside it).
    current: ModPath,
    /// Absolute paths named, with the line of each.
    named: Vec<(ModPath, usize)>,
}

impl Collector<'_> {
    fn record(&mut self, segments: Vec<String>, line: usize) {
        if let Some(m) = resolve(self.krate, &self.current, &segments, 0) {
            self.named.push((m, line));
        }
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Use(u) => &u.attrs,
            syn::Item::Const(c) => &c.attrs,
            syn::Item::Static(s) => &s.attrs,
            syn::Item::Struct(s) => &s.attrs,
            syn::Item::Enum(e) => &e.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if is_test_only(attrs) {
            return;
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if m.content.is_none() {
            return;
        }
        self.current.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.current.pop();
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        // A re-export is the module's interface, not a use by its code.
        if !matches!(u.vis, syn::Visibility::Inherited) {
            return;
        }
        let mut leaves = Vec::new();
        use_leaves(Vec::new(), &u.tree, &mut leaves);
        for (_, path, line) in leaves {
            self.record(path, line);
        }
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        if p.leading_colon.is_none() && p.segments.len() > 1 {
            let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
            self.record(segments, p.segments[0].ident.span().start().line);
        }
        syn::visit::visit_path(self, p);
    }
}

/// The inline modules of a file (`mod name { … }`), as absolute paths.
fn inline_modules(base: &ModPath, items: &[syn::Item], out: &mut Vec<ModPath>) {
    for item in items {
        if let syn::Item::Mod(m) = item
            && let Some((_, inner)) = &m.content
        {
            let mut p = base.clone();
            p.push(m.ident.to_string());
            out.push(p.clone());
            inline_modules(&p, inner, out);
        }
    }
}

#[test]
fn the_crate_has_no_import_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let parsed: Vec<(PathBuf, ModPath, syn::File)> = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).expect("readable source");
            let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            (f.clone(), module_of(&src, f), ast)
        })
        .collect();
    let mut krate = Crate { modules: BTreeMap::new(), reexports: BTreeMap::new() };
    for (file, m, ast) in &parsed {
        krate.modules.insert(m.clone(), file.clone());
        let mut inline = Vec::new();
        inline_modules(m, &ast.items, &mut inline);
        for i in inline {
            krate.modules.insert(i, file.clone());
        }
    }
    for (_, m, ast) in &parsed {
        let mut reexports = BTreeMap::new();
        collect_reexports(m, &ast.items, &mut reexports);
        krate.reexports.extend(reexports);
    }
    // Edges between files, each with one example of where it comes from.
    let mut edges: BTreeMap<PathBuf, BTreeMap<PathBuf, usize>> = BTreeMap::new();
    for (file, m, ast) in &parsed {
        let mut c = Collector { krate: &krate, current: m.clone(), named: Vec::new() };
        c.visit_file(ast);
        for (target, line) in c.named {
            let Some(to) = krate.modules.get(&target) else { continue };
            if to != file {
                edges.entry(file.clone()).or_default().entry(to.clone()).or_insert(line);
            }
        }
    }
    let rel = |p: &PathBuf| p.strip_prefix(&src).unwrap_or(p).display().to_string();
    let mut known: Vec<BTreeSet<String>> =
        KNOWN.iter().map(|(files, _)| files.iter().map(|f| f.to_string()).collect()).collect();
    let cycles: Vec<BTreeSet<PathBuf>> = strongly_connected(&edges)
        .into_iter()
        .filter(|scc| {
            let names: BTreeSet<String> = scc.iter().map(rel).collect();
            let before = known.len();
            known.retain(|k| *k != names);
            known.len() == before
        })
        .collect();
    assert!(known.is_empty(), "these known cycles are gone; remove them from KNOWN: {known:?}");
    let report: Vec<String> = cycles
        .iter()
        .map(|scc| {
            let mut lines = Vec::new();
            for a in scc {
                for (b, line) in edges.get(a).into_iter().flatten() {
                    if scc.contains(b) {
                        lines.push(format!("    {}:{line} → {}", rel(a), rel(b)));
                    }
                }
            }
            format!("  cycle of {} files:\n{}", scc.len(), lines.join("\n"))
        })
        .collect();
    let edge_count: usize = edges.values().map(BTreeMap::len).sum();
    eprintln!("module_graph: {} files, {edge_count} edges between them", parsed.len());
    assert!(report.is_empty(), "import cycles in mock-azure/src:\n{}", report.join("\n"));
}

/// Tarjan's strongly connected components with more than one node.
fn strongly_connected(edges: &BTreeMap<PathBuf, BTreeMap<PathBuf, usize>>) -> Vec<BTreeSet<PathBuf>> {
    struct State<'a> {
        edges: &'a BTreeMap<PathBuf, BTreeMap<PathBuf, usize>>,
        index: BTreeMap<&'a PathBuf, usize>,
        low: BTreeMap<&'a PathBuf, usize>,
        stack: Vec<&'a PathBuf>,
        on_stack: BTreeSet<&'a PathBuf>,
        next: usize,
        out: Vec<BTreeSet<PathBuf>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a PathBuf) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.edges.get(v).into_iter().flat_map(BTreeMap::keys) {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut scc = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                scc.insert(w.clone());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                s.out.push(scc);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    let nodes: Vec<&PathBuf> = edges.keys().collect();
    for v in nodes {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}
