//! Every example in `pullsim <command> --help` works as printed: each `pullsim …` line of
//! the "Examples:" section runs from a folder laid out as the repository (its scenarios
//! and templates)
//! and ends without a usage error. `serve` examples run until they say they are ready
//! and are then stopped; `shell` examples need the Docker engine (under `CI=true` an
//! unreachable engine fails the test; elsewhere they are reported as not run); `gc`'s
//! has a test of its own, ignored unless asked for (`make test` asks under `CI=true`): on
//! a shared engine it removes what other people's runs left and their cached images.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use pullsim_tests::{pullsim_bin, pullsim_in, repo_root};

const COMMANDS: [&str; 10] = ["run", "explain", "fix", "whatif", "import", "schema", "rules", "serve", "gc", "shell"];

/// The example lines of a command's help.
fn examples(command: &str) -> Vec<String> {
    let o = pullsim_in(&repo_root(), &[command, "--help"]);
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout).into_owned();
    let section =
        help.split("Examples:\n").nth(1).unwrap_or_else(|| panic!("`{command} --help` has no examples:\n{help}"));
    section
        .lines()
        .take_while(|l| l.starts_with("  ") || l.is_empty())
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| l.starts_with("pullsim "))
        .map(str::to_string)
        .collect()
}

fn engine_reachable() -> bool {
    std::path::Path::new("/var/run/docker.sock").exists() || std::env::var_os("DOCKER_HOST").is_some()
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A folder laid out as the repository, and a `PATH` that finds this `pullsim` first.
fn workplace() -> (tempfile::TempDir, String) {
    let work = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(repo_root().join("scenarios"), work.path().join("scenarios")).unwrap();
    std::fs::create_dir(work.path().join("tests")).unwrap();
    std::os::unix::fs::symlink(repo_root().join("tests/templates"), work.path().join("tests/templates")).unwrap();
    let bin_dir = pullsim_bin().parent().unwrap().to_path_buf();
    (work, format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default()))
}

/// Runs one example line of `command`'s help in `work` and checks how it ended.
fn run_example(command: &str, line: &str, work: &std::path::Path, path: &str) {
    // `exec`: a signal to the shell reaches pullsim itself.
    let mut child = Command::new("bash")
        .args(["-c", &format!("exec {line}")])
        .current_dir(work)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if command == "serve" {
        // Ready once the banner says so; then stopped as a user would (SIGTERM).
        let stdout = child.stdout.take().unwrap();
        let ready = BufReader::new(stdout).lines().map_while(Result::ok).any(|l| l.contains("is ready"));
        assert!(ready, "`{line}` never said it was ready");
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let status = child.wait().unwrap();
        assert!(status.code() != Some(2), "`{line}`: {status}");
        return;
    }
    let out = child.wait_with_output().unwrap();
    let code = out.status.code();
    // 0 or 1 (a scenario's verdict, or an interactive shell without a terminal): never
    // 2, a usage or harness error.
    assert!(
        matches!(code, Some(0 | 1)),
        "`{line}` exited {code:?}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_help_example_runs_as_printed() {
    let (work, path) = workplace();
    let mut ran = 0;
    let mut not_run = Vec::new();
    for command in COMMANDS {
        let lines = examples(command);
        assert!(!lines.is_empty(), "`pullsim {command} --help` shows no example");
        if command == "gc" {
            continue;
        }
        for line in lines {
            if command == "shell" && !engine_reachable() {
                assert!(!in_ci(), "CI=true and no Docker engine for `{line}`");
                not_run.push(line);
                continue;
            }
            run_example(command, &line, work.path(), &path);
            ran += 1;
        }
    }
    if !not_run.is_empty() {
        eprintln!("NOT RUN (no Docker engine): {not_run:?}");
    }
    assert!(ran >= 11, "{ran} examples ran");
}

#[test]
#[ignore = "runs `pullsim gc`, which removes what other pullsim runs on this engine left and their cached \
            images: run with --run-ignored (make test does under CI=true)"]
fn the_gc_example_runs_as_printed() {
    let (work, path) = workplace();
    for line in examples("gc") {
        run_example("gc", &line, work.path(), &path);
    }
}
