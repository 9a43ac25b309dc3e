//! The CI recipes of examples/ci (issue 17): their YAML, read by a real parser, holds to
//! the schema of its CI system (check-jsonschema's GitHub Actions workflow and GitLab CI
//! schemas), and a broken copy does not; the suite command they run works here, and
//! its partitions cover the suite once.

use std::path::Path;
use std::process::Command;

use pullsim_tests::{check_jsonschema, pullsim_in, repo_root};

/// check-jsonschema's verdict on `file` against its built-in `schema`: (success, output).
fn validate(schema: &str, file: &Path) -> (bool, String) {
    let out = Command::new(check_jsonschema())
        .args(["--builtin-schema", schema, "--no-cache"])
        .arg(file)
        .output()
        .expect("running check-jsonschema (scripts/install-test-deps.sh installs it)");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[test]
fn the_github_and_gitlab_recipes_hold_to_their_schemas_and_broken_copies_do_not() {
    let dir = repo_root().join("examples/ci");
    let temp = tempfile::tempdir().unwrap();
    for (file, schema, key, typo) in [
        ("github-actions.yml", "vendor.github-workflows", "runs-on:", "runs_on:"),
        ("gitlab-ci.yml", "vendor.gitlab-ci", "parallel: 3", "parallel: three"),
    ] {
        let path = dir.join(file);
        let (ok, out) = validate(schema, &path);
        assert!(ok, "{file} against {schema}:\n{out}");
        // The validator sees what matters: the same file with one key broken fails.
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(key), "{file} has {key}");
        let broken = temp.path().join(file);
        std::fs::write(&broken, text.replacen(key, typo, 1)).unwrap();
        let (ok, out) = validate(schema, &broken);
        assert!(!ok, "{file} with {typo} passed {schema}:\n{out}");
    }
}

#[test]
fn the_recipes_partitions_cover_the_suite_once_with_junit_reports() {
    let dir = repo_root().join("examples/ci");
    let github = std::fs::read_to_string(dir.join("github-actions.yml")).unwrap();
    let gitlab = std::fs::read_to_string(dir.join("gitlab-ci.yml")).unwrap();
    // Both split the suite in three and ask for JUnit.
    assert!(github.contains("part: [1, 2, 3]") && github.contains("--partition ${{ matrix.part }}/3"));
    assert!(gitlab.contains("parallel: 3") && gitlab.contains("--partition \"$CI_NODE_INDEX/$CI_NODE_TOTAL\""));
    assert!(github.contains("--format junit") && gitlab.contains("--format junit"));
    // The command they run, here: three JUnit reports whose test cases are the suite's.
    let whole = pullsim_in(&repo_root(), &["run", "scenarios/seed", "--format", "junit"]);
    let count = |xml: &[u8]| {
        let text = String::from_utf8_lossy(xml).into_owned();
        let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("JUnit XML: {e}\n{text}"));
        let mut names: Vec<String> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .map(|n| n.attribute("name").unwrap_or_default().to_string())
            .collect();
        names.sort();
        names
    };
    assert!(whole.status.success(), "{}", String::from_utf8_lossy(&whole.stderr));
    let all = count(&whole.stdout);
    assert!(all.len() > 3, "{all:?}");
    let mut parts = Vec::new();
    for k in 1..=3 {
        let out =
            pullsim_in(&repo_root(), &["run", "scenarios/seed", "--partition", &format!("{k}/3"), "--format", "junit"]);
        assert!(out.status.success(), "part {k}: {}", String::from_utf8_lossy(&out.stderr));
        let names = count(&out.stdout);
        assert!(!names.is_empty(), "part {k} is empty");
        parts.extend(names);
    }
    parts.sort();
    assert_eq!(parts, all, "the three parts together are the suite, each scenario once");
}
