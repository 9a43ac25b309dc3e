//! Every scenario gets a verdict, in every format, read by real consumers: a folder with
//! one passing scenario, one topology ARM refuses (a Basic registry with public access
//! disabled) and one image reference docker refuses (an uppercase repository: a pull
//! failure with its stable code, issue 16) runs to its end in each format with exit 1; the
//! errored one names Azure's code and message and the scenario line. The JSON report is validated against the committed
//! JSON Schema with Python's `jsonschema`; the JUnit report is read with `junitparser`.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pullsim_tests::{pullsim_in, python_tools, repo_root};
use serde_json::Value;

/// The three scenarios of the issue, and the fixture they build on, in a folder.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("fixtures")).unwrap();
    std::fs::copy(
        repo_root().join("scenarios/fixtures/recipe-2021.toml"),
        dir.path().join("fixtures/recipe-2021.toml"),
    )
    .unwrap();
    let files = [
        (
            "pass.toml",
            "name = \"the recipe pulls over the VNET\"\nrules = \"2021-07\"\nfixture = \"recipe-2021\"\n\n[expect]\npull = \"success\"\nroute = \"vnet\"\n",
        ),
        (
            "basic-private.toml",
            "name = \"a Basic registry with public access disabled\"\nrules = \"2021-07\"\nfixture = \"recipe-2021\"\n\n[registry]\nsku = \"Basic\"\n\n[expect]\npull = \"success\"\n",
        ),
        (
            "uppercase.toml",
            "name = \"an uppercase repository\"\nrules = \"2021-07\"\nfixture = \"recipe-2021\"\n\n[site]\nimage = \"secureacr2021.azurecr.io/MyApp:v1\"\n\n[expect]\npull = \"success\"\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn run(dir: &Path, format: &str) -> Output {
    let o = pullsim_in(dir, &["run", ".", "--format", format]);
    assert_eq!(o.status.code(), Some(1), "{format}: {}", String::from_utf8_lossy(&o.stderr));
    o
}

/// Runs a Python script with the tools' interpreter; its stdout (it must exit 0).
fn python(script: &str, args: &[&Path]) -> String {
    let o = Command::new(python_tools()).arg("-c").arg(script).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "python: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn every_scenario_gets_a_verdict_in_human_form_with_its_file_line() {
    let dir = folder();
    let out = String::from_utf8_lossy(&run(dir.path(), "human").stdout).into_owned();
    assert!(out.lines().any(|l| l.starts_with("PASS ") && l.ends_with("the recipe pulls over the VNET")), "{out}");
    assert!(out.contains("./basic-private.toml:5:1 [registry[secureacr2021]]: update registry secureacr2021"), "{out}");
    assert!(out.contains("DisablingPublicNetworkAccessNotSupported"), "{out}");
    assert!(out.contains("IMAGE_REFERENCE_INVALID"), "{out}");
    assert!(out.contains("Summary [") && out.contains("3 scenarios: 1 passed, 1 failed, 1 errored, 0 ran"), "{out}");
    // The recap names the errored files at their line.
    assert!(out.lines().any(|l| l.starts_with("ERROR ./basic-private.toml:5:1: ")), "{out}");
}

#[test]
fn the_json_report_holds_every_verdict_and_matches_the_committed_schema() {
    let dir = folder();
    let o = run(dir.path(), "json");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let by_file = |f: &str| v["results"].as_array().unwrap().iter().find(|r| r["file"] == f).unwrap().clone();
    assert_eq!(by_file("./pass.toml")["verdict"], "passed");
    let basic = by_file("./basic-private.toml");
    assert_eq!(basic["verdict"], "errored");
    assert_eq!(basic["error"]["kind"], "arm_refused");
    assert_eq!(basic["error"]["status"], 400);
    assert_eq!(basic["error"]["code"], "DisablingPublicNetworkAccessNotSupported");
    assert_eq!((&basic["error"]["location"]["line"], &basic["error"]["location"]["column"]), (&5.into(), &1.into()));
    let upper = by_file("./uppercase.toml");
    assert_eq!(upper["verdict"], "failed");
    assert_eq!(
        (&upper["outcome"]["stage"], &upper["outcome"]["code"]),
        (&"config".into(), &"IMAGE_REFERENCE_INVALID".into()),
        "{upper}"
    );
    assert_eq!(
        v["summary"],
        serde_json::json!({"total": 3, "passed": 1, "failed": 1, "errored": 1, "ran": 0,
        "duration_ms": v["summary"]["duration_ms"]})
    );

    // A real validator, against the schema in the repository; and a report with ARM
    // steps, a matrix and a failure too.
    let report = dir.path().join("report.json");
    std::fs::write(&report, &o.stdout).unwrap();
    let seed = pullsim_in(
        &repo_root(),
        &[
            "run",
            "scenarios/seed/a9-zone-delete-needs-links-gone.toml",
            "scenarios/seed/a5-a6-route-matrix-2021-07.toml",
            "--format",
            "json",
        ],
    );
    let seed_report = dir.path().join("seed.json");
    std::fs::write(&seed_report, &seed.stdout).unwrap();
    let steps: Value = serde_json::from_slice(&seed.stdout).unwrap();
    let a9 = steps["results"].as_array().unwrap().iter().find(|r| r["file"].as_str().unwrap().contains("a9-")).unwrap();
    assert!(a9["steps"].as_array().unwrap().iter().any(|s| s["kind"] == "arm" && s["status"] == 409), "{a9}");
    let schema: PathBuf = repo_root().join("docs/report.schema.json");
    let out = python(
        "import json, sys, jsonschema\n\
         schema = json.load(open(sys.argv[1]))\n\
         jsonschema.Draft202012Validator.check_schema(schema)\n\
         for path in sys.argv[2:]:\n    jsonschema.validate(json.load(open(path)), schema, cls=jsonschema.Draft202012Validator)\n\
         print('valid', len(sys.argv) - 2)",
        &[&schema, &report, &seed_report],
    );
    assert_eq!(out.trim(), "valid 2");
}

#[test]
fn junitparser_reads_a_testsuite_per_file_with_errors_failures_and_their_trace() {
    let dir = folder();
    // One failing expectation as well, and a name with a control character XML 1.0
    // forbids.
    std::fs::write(
        dir.path().join("wrong.toml"),
        "name = \"expects success where the firewall refuses \\u0007\"\nrules = \"2021-07\"\nfixture = \"recipe-2021\"\nunset = [\"site.vnet_integration\"]\n[expect]\npull = \"success\"\n",
    )
    .unwrap();
    let o = run(dir.path(), "junit");
    let xml = dir.path().join("report.xml");
    std::fs::write(&xml, &o.stdout).unwrap();
    let out = python(
        "import sys\n\
         from junitparser import JUnitXml, Failure, Error\n\
         xml = JUnitXml.fromfile(sys.argv[1])\n\
         for suite in xml:\n\
         \x20   for case in suite:\n\
         \x20       kinds = [type(r).__name__ for r in case.result]\n\
         \x20       res = case.result[0] if case.result else None\n\
         \x20       print(suite.name, '|', case.classname, '|', ','.join(kinds) or 'Pass', '|',\n\
         \x20             (res.type if res is not None else ''), '|', (res.message if res is not None else ''), '|',\n\
         \x20             ('trace' if res is not None and 'Trace of the last pull' in (res.text or '') else ''), '|',\n\
         \x20             ('log' if 'App Service docker log' in (case.system_out or '') else ''))\n\
         print('errors', xml.errors, 'failures', xml.failures, 'tests', xml.tests)",
        &[&xml],
    );
    let lines: Vec<&str> = out.lines().collect();
    let find = |file: &str| *lines.iter().find(|l| l.starts_with(file)).unwrap_or_else(|| panic!("{file}: {out}"));
    assert!(find("./pass.toml").contains("| pass | Pass |"), "{out}");
    let basic = find("./basic-private.toml");
    assert!(basic.contains("| basic-private | Error | DisablingPublicNetworkAccessNotSupported |"), "{out}");
    assert!(basic.contains("basic-private.toml:5:1"), "{out}");
    let upper = find("./uppercase.toml");
    assert!(upper.contains("| Failure | expectation |") && upper.contains("IMAGE_REFERENCE_INVALID"), "{out}");
    let wrong = find("./wrong.toml");
    assert!(wrong.contains("| Failure | expectation |") && wrong.contains("| trace | log"), "{out}");
    assert_eq!(lines.last(), Some(&"errors 1 failures 2 tests 4"), "{out}");
}
