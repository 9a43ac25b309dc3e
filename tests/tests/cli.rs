//! The `pullsim` command line as a user runs it: the seed suite from anywhere, selection,
//! exit codes, explain goldens, the rule table and its generated documentation.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::path::{Path, PathBuf};
use std::process::Output;

use pullsim_tests::{pullsim_in, repo_root};
use serde_json::Value;

fn repo() -> PathBuf {
    repo_root()
}

fn pullsim(args: &[&str]) -> Output {
    pullsim_in(&repo(), args)
}

fn json(o: &Output) -> Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(o), stderr(o)))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn names(v: &Value) -> Vec<String> {
    v["results"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn seed_suite_passes_on_the_embedded_backend() {
    let o = pullsim(&["run", "scenarios/seed", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let report = json(&o);
    let results = report["results"].as_array().unwrap();
    assert!(results.len() >= 60, "{} scenarios", results.len());
    assert_eq!(report["summary"]["passed"], results.len());
    assert_eq!(report["schema_version"], 1);
    for r in results {
        assert_eq!((r["verdict"].as_str(), &r["passed"]), (Some("passed"), &Value::Bool(true)), "{r}");
        assert_eq!(r["backend"], "embedded");
        assert!(r["outcome"]["pull"] == "success" || r["outcome"]["pull"] == "failure");
        assert!(r["trace"]["steps"].as_array().is_some_and(|s| !s.is_empty()));
        assert!(r["duration_ms"].as_f64().is_some());
    }
    // Both verdicts and several codes appear: the suite is not one outcome repeated.
    let codes: std::collections::BTreeSet<&str> =
        results.iter().filter_map(|r| r["outcome"]["code"].as_str()).collect();
    assert!(codes.len() >= 9, "{codes:?}");
    assert!(results.iter().any(|r| r["outcome"]["pull"] == "success"));
}

#[test]
fn human_output_names_each_file_fits_100_columns_and_ends_with_the_summary() {
    let o = pullsim(&[
        "run",
        "scenarios/seed/a1-vnet-integration-required.toml",
        "scenarios/seed/matrix-2024-11.toml",
        "--filter",
        "a1-vnet",
        "--filter",
        "route_all=false, pull_over_vnet=unset, admin=false",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let last = out.lines().last().unwrap();
    assert!(last.starts_with("Summary ["), "{out}");
    assert!(last.ends_with("s] 3 scenarios: 3 passed, 0 failed, 0 errored, 0 ran without expectation"), "{out}");
    assert!(!out.contains('\x1b'), "colours despite NO_COLOR and no terminal");
    assert!(out.lines().all(|l| l.chars().count() <= 100), "a line over 100 columns:\n{out}");
    assert!(out.contains("pull failed at firewall (ACR_FIREWALL_DENIED), as expected"), "{out}");
    assert!(out.contains("· scenarios/seed/a1-vnet-integration-required.toml · rules 2021-07"), "{out}");
    // A matrix cell keeps its whole cell, the name is shortened before it.
    assert!(out.contains("[route_all=false, pull_over_vnet=unset, admin=false, public_access=Enabled]"), "{out}");
    let coloured = pullsim(&["run", "scenarios/seed/a1-vnet-integration-required.toml", "--color", "always"]);
    assert!(stdout(&coloured).contains("\x1b[32mPASS"), "--color always colours even under NO_COLOR");
}

#[test]
fn a_failing_expectation_exits_1_and_says_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "wrong.toml",
        r#"name = "expects success where the firewall refuses"
rules = "2021-07"
fixture = "recipe-2021"
unset = ["site.vnet_integration"]
[expect]
pull = "success"
"#,
    );
    let fixtures = repo().join("scenarios/fixtures");
    std::fs::create_dir(dir.path().join("fixtures")).unwrap();
    std::fs::copy(fixtures.join("recipe-2021.toml"), dir.path().join("fixtures/recipe-2021.toml")).unwrap();
    let o = pullsim(&["run", f.to_str().unwrap(), "--format", "junit"]);
    assert_eq!(o.status.code(), Some(1));
    let xml = stdout(&o);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let failure = doc.descendants().find(|n| n.has_tag_name("failure")).unwrap();
    assert_eq!(
        failure.attribute("message"),
        Some("the pull: expected success, got failure, route public, stage firewall, code ACR_FIREWALL_DENIED")
    );
    let text = failure.text().unwrap_or_default();
    assert!(text.contains("Trace of the last pull") && text.contains("✗ firewall"), "{text}");
    let human = pullsim(&["run", f.to_str().unwrap()]);
    assert_eq!(human.status.code(), Some(1));
    let out = stdout(&human);
    assert!(out.contains("FAIL ") && out.lines().any(|l| l.starts_with("FAIL ") && l.contains("wrong.toml")), "{out}");
}

#[test]
fn an_invalid_scenario_exits_2_and_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.toml", "name = \"x\"\nrules = \"2021-08\"\n");
    let good = repo().join("scenarios/seed/a8-private-address-over-vnet.toml");
    let o = pullsim(&["run", good.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o), "", "nothing ran");
    let err = stderr(&o);
    // As a compiler shows it: the label, the message, the place, the line and a caret.
    assert!(err.contains("error: 'rules' must be one of 2021-07, 2021-11, 2022-03, 2024-11, found '2021-08'"), "{err}");
    assert!(err.contains("bad.toml:2:9"), "{err}");
    assert!(err.contains("rules = \"2021-08\""), "{err}");
    assert!(err.lines().any(|l| l.trim_start().starts_with('|') && l.contains('^')), "{err}");
}

#[test]
fn partitions_split_the_suite_without_overlap() {
    let names = |args: &[&str]| -> Vec<String> {
        let o = pullsim(args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        names(&json(&o))
    };
    let all = names(&["run", "scenarios/seed/matrix-2021-07.toml", "--format", "json"]);
    let mut parts: Vec<String> = (1..=3)
        .flat_map(|k| {
            names(&["run", "scenarios/seed/matrix-2021-07.toml", "--format", "json", "--partition", &format!("{k}/3")])
        })
        .collect();
    parts.sort();
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all.len(), 16);
    assert_eq!(parts, sorted);
    let o = pullsim(&["run", "scenarios/seed", "--partition", "4/3"]);
    assert_eq!(o.status.code(), Some(2));
    // More parts than scenarios: some are empty, and an empty part is fine.
    let o = pullsim(&["run", "scenarios/seed/matrix-2021-07.toml", "--partition", "70/100", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["summary"]["total"], 0);
}

#[test]
fn the_seed_suite_runs_from_any_directory_and_filters_ignore_case_over_name_and_path() {
    let elsewhere = tempfile::tempdir().unwrap();
    let seed = repo().join("scenarios/seed").canonicalize().unwrap();
    let o = pullsim_in(elsewhere.path(), &["run", seed.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let all = json(&o);
    assert_eq!(all["summary"]["passed"], all["summary"]["total"]);
    assert!(all["summary"]["total"].as_u64().unwrap() >= 60);
    let o = pullsim_in(elsewhere.path(), &["run", seed.to_str().unwrap(), "--filter", "a8", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let a8 = names(&json(&o));
    assert!(!a8.is_empty() && a8.iter().all(|n| n.starts_with("A8")), "{a8:?}");
    // Without paths, outside the project: a usage error that says what to pass.
    let o = pullsim_in(elsewhere.path(), &["run"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("pass the scenario files or folders to run"), "{}", stderr(&o));
    // Inside it, from a subfolder: the project's seed suite.
    let o = pullsim_in(&repo().join("scenarios/seed/common"), &["run", "--format", "json", "--filter", "wrong-tag"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["results"][0]["file"], "../common/wrong-tag.toml");
}

#[test]
fn an_unknown_fixture_lists_each_folder_looked_in_once() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "s.toml", "name = \"x\"\nfixture = \"nowhere\"\n");
    let o = pullsim_in(dir.path(), &["run", "s.toml", "--fixtures", ".", "--fixtures", "fixtures"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    let line = err.lines().find(|l| l.contains("unknown fixture 'nowhere'")).unwrap_or_else(|| panic!("{err}"));
    let looked = line.split("(looked in ").nth(1).and_then(|r| r.split(')').next()).unwrap();
    let dirs: Vec<&str> = looked.split(", ").collect();
    let unique: std::collections::BTreeSet<&&str> = dirs.iter().collect();
    assert_eq!(unique.len(), dirs.len(), "a folder listed twice: {dirs:?}");
    assert_eq!(dirs.first(), Some(&"fixtures"), "{dirs:?}");
    drop(f);
}

#[test]
fn the_codes_are_listed_with_their_meaning() {
    let o = pullsim(&["rules", "--codes"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), mock_azure::appservice::trace::Code::ALL.len());
    assert!(out.contains("ACR_FIREWALL_DENIED") && out.contains("The ACR's network rules refused the client."));
}

/// docs/rules.md is `pullsim rules --format markdown`: regenerate it when the rule table
/// changes (the test says how).
#[test]
fn docs_rules_md_is_the_generated_rule_table() {
    let o = pullsim(&["rules", "--format", "markdown"]);
    assert_eq!(o.status.code(), Some(0));
    let committed = std::fs::read_to_string(repo().join("docs/rules.md")).unwrap_or_default();
    assert!(
        stdout(&o) == committed,
        "docs/rules.md differs from the rule table: run `cargo run -p pullsim -- rules --format markdown > docs/rules.md`"
    );
}

#[test]
fn rules_table_cites_sources_and_confidence() {
    let o = pullsim(&["rules", "--epoch", "2021-07"]);
    let out = stdout(&o);
    assert!(out.contains("route.2021-07 [C] epochs 2021-07"), "{out}");
    assert!(!out.contains("route.2024-11"), "2024-11 rules are not in force in 2021-07");
    assert!(out.contains("auth.mi-trusted-service [I]"));
    assert!(out.contains(
        "source: https://azure.github.io/AppService/2021/07/03/Linux-container-from-ACR-with-private-endpoint.html"
    ));
}

/// `explain` for every single (non-matrix) seed scenario, against reviewed goldens in
/// tests/golden/explain. `UPDATE_GOLDEN=1` rewrites them (then review the diff).
#[test]
fn explain_matches_the_reviewed_goldens() {
    let seed = repo().join("scenarios/seed");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&seed)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.extend(std::fs::read_dir(seed.join("common")).unwrap().map(|e| e.unwrap().path()));
    files.extend(std::fs::read_dir(seed.join("fidelity")).unwrap().map(|e| e.unwrap().path()));
    files.sort();
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut checked = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        if text.contains("[[matrix.axis]]") {
            continue;
        }
        let rel = f.strip_prefix(repo()).unwrap().to_str().unwrap().to_string();
        let o = pullsim(&["explain", &rel]);
        assert_eq!(o.status.code(), Some(0), "{rel}: {}", String::from_utf8_lossy(&o.stderr));
        let golden = repo().join("tests/golden/explain").join(f.file_stem().unwrap()).with_extension("txt");
        if update {
            std::fs::write(&golden, stdout(&o)).unwrap();
        } else {
            let want = std::fs::read_to_string(&golden)
                .unwrap_or_else(|_| panic!("no golden {}; run with UPDATE_GOLDEN=1", golden.display()));
            assert_eq!(stdout(&o), want, "{rel} differs from {}", golden.display());
        }
        checked += 1;
    }
    assert!(checked >= 15, "{checked} goldens");
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}
