//! The documentation in `docs/` holds: every TOML block of `docs/scenarios.md` is a
//! scenario the loader accepts (a matrix block on top of the seed fixture), and nothing
//! a user reads points outside the repository.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::path::Path;

use pullsim::scenario::{LoadOptions, load_text};
use pullsim_tests::repo_root;

/// The fenced blocks of `lang` in a markdown text, in order.
fn blocks(text: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_end()) {
            (None, l) if l == format!("```{lang}") => current = Some(String::new()),
            (Some(_), "```") => out.extend(current.take()),
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    out
}

#[test]
fn every_toml_block_of_docs_scenarios_md_loads() {
    let text = std::fs::read_to_string(repo_root().join("docs/scenarios.md")).unwrap();
    let opts = LoadOptions::default().with_fixture_dir(repo_root().join("scenarios/fixtures"));
    let toml = blocks(&text, "toml");
    assert!(toml.len() >= 2, "{} TOML blocks", toml.len());
    for (i, b) in toml.iter().enumerate() {
        // A block without a top-level name (before its first table) is a part (the
        // matrix): on top of the seed fixture.
        let named = b.lines().take_while(|l| !l.starts_with('[')).any(|l| l.starts_with("name = "));
        let doc = if named { b.clone() } else { format!("name = \"block {i}\"\nfixture = \"recipe-2021\"\n{b}") };
        let loaded = load_text(Path::new(&format!("docs/scenarios.md#{i}.toml")), &doc, &opts);
        assert!(loaded.is_ok_and(|s| !s.is_empty()), "block {i} of docs/scenarios.md does not load:\n{doc}");
    }
}

#[test]
fn nothing_a_user_reads_points_outside_the_repository() {
    let root = repo_root();
    let mut read = vec![root.join("README.md"), root.join("ARCHITECTURE.md")];
    read.extend(std::fs::read_dir(root.join("docs")).unwrap().flatten().map(|e| e.path()));
    for f in read {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            assert!(
                !line.contains("../shared") && !line.contains("shared/RULES.md") && !line.contains("shared/DESIGN.md"),
                "{}:{}: points outside the repository: {line}",
                f.display(),
                n + 1
            );
        }
    }
}
