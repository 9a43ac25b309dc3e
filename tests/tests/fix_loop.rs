//! The closed loop of `pullsim fix` (issue 15): for every failing scenario of the seed
//! suite, `pullsim fix` finds a fix, and running its printed `az` commands with the real
//! Azure CLI against `pullsim serve --load <scenario>` (the configuration the scenario's
//! last pull sees) makes the next pull succeed — as the platform shows it, in the site's
//! container log.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pullsim_tests::{ArmClient, AzCli, Serve, pullsim_in, repo_root, two_at_a_time};
use serde_json::Value;

/// `pullsim fix FILE [--cell C] --format json`, parsed; the exit code beside it.
fn fix_json(file: &Path, cell: Option<&str>) -> (i32, Value) {
    let mut args = vec!["fix".to_string(), file.display().to_string(), "--format".into(), "json".into()];
    if let Some(c) = cell {
        args.extend(["--cell".into(), c.to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = pullsim_in(&repo_root(), &args);
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!("pullsim fix {file:?}: not JSON ({e}): {text}\n{}", String::from_utf8_lossy(&out.stderr))
    });
    (out.status.code().unwrap_or(-1), v)
}

/// The seed files that hold one scenario (serve loads one), relative to the root.
fn single_seed_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let root = repo_root();
    for dir in ["scenarios/seed", "scenarios/seed/common"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
            let p = e.path();
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            if p.extension().is_some_and(|x| x == "toml") && !text.contains("[[matrix.axis]]") {
                out.push(PathBuf::from(dir).join(e.file_name()));
            }
        }
    }
    out.sort();
    out
}

/// The last pull's verdict in a container log: `Some(true)` for a success line after the
/// last start of a pull, `Some(false)` for a failure, `None` while it runs.
fn last_pull(log: &str) -> Option<bool> {
    let lines: Vec<&str> = log.lines().collect();
    let start =
        lines.iter().rposition(|l| l.contains("INFO  - Pulling image") || l.contains("Attempting to pull image"))?;
    let rest = &lines[start..];
    if rest.iter().any(|l| l.contains("Pull Image successful")) {
        Some(true)
    } else if rest.iter().any(|l| l.contains("ERROR - Image pull failed: Verify")) {
        Some(false)
    } else {
        None
    }
}

/// Serves `file`, runs `az` lines, restarts the site, and waits for the pull after it.
fn closed_loop(file: &Path, cell: Option<&str>, az_lines: &[String]) -> Result<(), String> {
    let mut extra = vec!["--load".to_string(), file.display().to_string()];
    if let Some(c) = cell {
        extra.extend(["--cell".into(), c.to_string()]);
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let serve = Serve::start_with(&extra).map_err(|e| format!("serve: {e:#}"))?;
    let arm = ArmClient::login(&serve).map_err(|e| format!("{e:#}"))?;
    let az = AzCli::login(&serve).map_err(|e| format!("{e:#}"))?;
    let sites = arm
        .call("GET", "/subscriptions/{sub}/providers/Microsoft.Web/sites", None)
        .map_err(|e| format!("{e:#}"))?
        .json();
    let site = sites["value"][0]["id"].as_str().ok_or("no site served")?.to_string();
    let log_of = || -> Result<String, String> {
        let r = arm.call("POST", &format!("{site}/containerlogs"), None).map_err(|e| format!("{e:#}"))?;
        Ok(r.body)
    };
    // The platform pulled once at start: the scenario's failure.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match last_pull(&log_of()?) {
            Some(false) => break,
            Some(true) => return Err("the served scenario pulls successfully before any fix".into()),
            None if Instant::now() > deadline => return Err("no pull in the container log at start".into()),
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    for line in az_lines {
        let (code, out, err) = az.sh(line).map_err(|e| format!("{e:#}"))?;
        if code != 0 {
            return Err(format!("`{line}` failed ({code}): {out}{err}"));
        }
    }
    let before = log_of()?.lines().count();
    let (code, _, err) = az.sh(&format!("az webapp restart --ids {site}")).map_err(|e| format!("{e:#}"))?;
    if code != 0 {
        return Err(format!("az webapp restart failed: {err}"));
    }
    // Readiness is the log's own line for the pull after the restart, awaited with a
    // deadline (the platform pulls asynchronously, as Azure does).
    loop {
        let log = log_of()?;
        let since: String = log.lines().skip(before).collect::<Vec<_>>().join("\n");
        match last_pull(&since) {
            Some(true) => return Ok(()),
            Some(false) => return Err(format!("the pull after the fix failed:\n{since}")),
            None if Instant::now() > deadline => return Err(format!("no pull after the restart:\n{since}")),
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

#[test]
fn every_failing_seed_scenario_is_fixed_by_the_printed_az_commands() {
    let mut cases: Vec<(PathBuf, Option<&str>)> = single_seed_files().into_iter().map(|f| (f, None)).collect();
    // Cells of a matrix that fail for a cause no single-scenario file has.
    for cell in ["upstream=Public", "upstream=None"] {
        cases.push((PathBuf::from("scenarios/seed/common/custom-dns-forwarding.toml"), Some(cell)));
    }
    let mut failing = Vec::new();
    for (file, cell) in &cases {
        let (code, d) = fix_json(file, *cell);
        if d["failure"].is_null() {
            assert_eq!(code, 0, "{file:?}: a pull that succeeds needs no fix");
            continue;
        }
        assert_eq!(code, 0, "{file:?} {cell:?}: pullsim fix found no fix: {d:#}");
        let az: Vec<String> =
            d["fixes"][0]["az"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect();
        assert!(!az.is_empty(), "{file:?}: the first fix has no az command");
        assert!(!d["cause"].as_array().unwrap().is_empty(), "{file:?}: no cause");
        failing.push((file.clone(), *cell, az));
    }
    // The seed suite's failing scenarios (docs/azure.md A and E), by name: none is skipped.
    let names: Vec<String> = failing
        .iter()
        .map(|(f, c, _)| format!("{}{}", f.display(), c.map(|c| format!(" [{c}]")).unwrap_or_default()))
        .collect();
    assert!(failing.len() >= 15, "expected the seed suite's failing scenarios, found {names:#?}");

    // Two at a time: each runs its own serve and Azure CLI.
    let results = two_at_a_time(&failing, |(file, cell, az)| {
        (format!("{} {cell:?}", file.display()), closed_loop(file, *cell, az))
    });
    let failed: Vec<String> =
        results.iter().filter_map(|(n, r)| r.as_ref().err().map(|e| format!("{n}: {e}"))).collect();
    assert!(failed.is_empty(), "fixes that did not make the pull succeed through az:\n{}", failed.join("\n\n"));
}
