//! The `pullsim` command line as a user runs it: the seed suite, reports, explain
//! goldens, exit codes.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pullsim_tests::pullsim_bin;
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn pullsim(args: &[&str]) -> Output {
    Command::new(pullsim_bin()).args(args).current_dir(repo()).env("NO_COLOR", "1").output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn seed_suite_passes_on_the_embedded_backend() {
    let o = pullsim(&["run", "scenarios/seed", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
    let results: Vec<Value> = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(results.len() >= 50, "{} scenarios", results.len());
    for r in &results {
        assert_eq!(r["passed"], true, "{r}");
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
fn human_output_ends_with_the_counts_and_has_no_colour_under_no_color() {
    let o = pullsim(&[
        "run",
        "scenarios/seed/a1-vnet-integration-required.toml",
        "scenarios/seed/a8-private-address-over-vnet.toml",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert_eq!(out.lines().last(), Some("2 passed, 0 failed"), "{out}");
    assert!(!out.contains('\x1b'), "colours despite NO_COLOR and no terminal");
}

#[test]
fn junit_report_is_valid_xml_with_one_testcase_per_scenario() {
    let o = pullsim(&["run", "scenarios/seed/a5-a6-route-matrix-2021-07.toml", "--format", "junit"]);
    assert_eq!(o.status.code(), Some(0));
    let xml = stdout(&o);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), 4);
    assert!(cases.iter().all(|c| c.attribute("classname").unwrap().ends_with("a5-a6-route-matrix-2021-07.toml")));
    let suite = doc.descendants().find(|n| n.has_tag_name("testsuite")).unwrap();
    assert_eq!((suite.attribute("tests"), suite.attribute("failures")), (Some("4"), Some("0")));
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
}

#[test]
fn an_invalid_scenario_exits_2_and_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.toml", "name = \"x\"\nrules = \"2021-08\"\n");
    let good = repo().join("scenarios/seed/a8-private-address-over-vnet.toml");
    let o = pullsim(&["run", good.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o), "", "nothing ran");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.toml:2:9:"), "{err}");
}

#[test]
fn partitions_split_the_suite_without_overlap() {
    let names = |args: &[&str]| -> Vec<String> {
        let o = pullsim(args);
        assert_eq!(o.status.code(), Some(0));
        let v: Vec<Value> = serde_json::from_str(&stdout(&o)).unwrap();
        v.iter().map(|r| r["name"].as_str().unwrap().to_string()).collect()
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
}

#[test]
fn rules_table_cites_sources_and_confidence() {
    let o = pullsim(&["rules", "--epoch", "2021-07"]);
    let out = stdout(&o);
    assert!(out.contains("route.2021-07 [C] epochs 2021-07"), "{out}");
    assert!(!out.contains("route.2024-11"), "2024-11 rules are not in force in 2021-07");
    assert!(out.contains("auth.mi-trusted-service [U]"));
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
