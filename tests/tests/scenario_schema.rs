//! The JSON Schema of the scenario format (issue 15): `docs/scenario.schema.json` is what
//! `pullsim schema` prints; every seed scenario and fixture, read by Python's tomllib, is
//! valid under it for the `jsonschema` package (draft-04, what taplo reads); files with
//! an unknown key, a wrong type or a word outside an enum are not. (That each table's
//! keys are the ones the loader knows is a unit test of harness/src/scenario/schema.)

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::path::PathBuf;
use std::process::Command;

use pullsim_tests::{pullsim_in, python_tools, repo_root};

#[test]
fn the_committed_schema_is_what_pullsim_schema_prints() {
    let o = pullsim_in(&repo_root(), &["schema"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let committed = std::fs::read_to_string(repo_root().join("docs/scenario.schema.json")).unwrap();
    assert!(
        committed == String::from_utf8_lossy(&o.stdout),
        "docs/scenario.schema.json differs from `pullsim schema`: run `make docs`"
    );
}

/// Validates each file (TOML, read by tomllib) against the schema: one line per file,
/// `ok` or the first error's path and message.
const VALIDATE: &str = r#"
import json, sys, tomllib, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft4Validator.check_schema(schema)
v = jsonschema.Draft4Validator(schema)
for f in sys.argv[2:]:
    doc = tomllib.load(open(f, "rb"))
    errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
    print(f, "ok" if not errors else "error at %s: %s" % ("/".join(map(str, errors[0].path)), errors[0].message))
"#;

fn validate(files: &[PathBuf]) -> Vec<(String, String)> {
    let o = Command::new(python_tools())
        .arg("-c")
        .arg(VALIDATE)
        .arg(repo_root().join("docs/scenario.schema.json"))
        .args(files)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            let (f, r) = l.split_once(' ').unwrap();
            (f.to_string(), r.to_string())
        })
        .collect()
}

#[test]
fn every_seed_scenario_and_fixture_is_valid_under_the_schema() {
    let scenarios = repo_root().join("scenarios");
    let files = pullsim::runner::select::scenario_files(&[scenarios.clone(), scenarios.join("fixtures")]).unwrap();
    assert!(files.len() > 20, "{files:?}");
    let results = validate(&files);
    assert_eq!(results.len(), files.len());
    let bad: Vec<String> = results.iter().filter(|(_, r)| r != "ok").map(|(f, r)| format!("{f}: {r}")).collect();
    assert!(bad.is_empty(), "{} of {} files are invalid under the schema:\n{}", bad.len(), files.len(), bad.join("\n"));
}

#[test]
fn the_schema_refuses_an_unknown_key_a_wrong_type_and_a_word_outside_its_set() {
    let work = tempfile::tempdir().unwrap();
    let cases = [
        (
            "unknown-key",
            "name = \"x\"\n[site]\nname = \"app\"\nvnet_integraton = \"vnet/integration\"\n",
            "site: Additional properties are not allowed ('vnet_integraton' was unexpected)",
        ),
        (
            "wrong-type",
            "name = \"x\"\n[registry]\nname = \"acr\"\nadmin_user = \"yes\"\n",
            "registry: 'yes' is not of type 'boolean'",
        ),
        ("bad-epoch", "name = \"x\"\nrules = \"2020-01\"\n", "rules: '2020-01' is not one of"),
        (
            "bad-code",
            "name = \"x\"\n[expect]\npull = \"failure\"\ncode = \"ACR_DENIED\"\n",
            "expect/code: 'ACR_DENIED' is not one of",
        ),
        (
            "bad-subnet-key",
            "[[vnet]]\nname = \"v\"\nsubnets = [{ name = \"a\", prefx = \"10.0.0.0/24\" }]\n",
            "vnet/0/subnets/0: Additional properties are not allowed ('prefx' was unexpected)",
        ),
    ];
    let files: Vec<PathBuf> = cases
        .iter()
        .map(|(name, text, _)| {
            let p = work.path().join(format!("{name}.toml"));
            std::fs::write(&p, text).unwrap();
            p
        })
        .collect();
    let results = validate(&files);
    for ((name, _, want), (_, got)) in cases.iter().zip(&results) {
        assert!(got.starts_with("error at "), "{name}: {got}");
        let got = got.trim_start_matches("error at ");
        // The registry is one table or a list: jsonschema names the oneOf's failure.
        if *name == "wrong-type" {
            assert!(
                got.starts_with("registry: ") && got.contains("is not valid under any of the given schemas"),
                "{name}: {got}"
            );
        } else {
            assert!(got.starts_with(want), "{name}: {got}\n(wanted {want})");
        }
    }
}
