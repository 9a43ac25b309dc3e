//! The docker backend's pieces against the real Docker engine (issue 7): Azure DNS in its
//! own container answers by the network a query comes from, and nothing pullsim labels
//! outlives its run — removed by the run itself on SIGTERM, by `pullsim gc` after a
//! SIGKILL.
//!
//! The engine must be reachable under `CI=true` (an unreachable engine fails the test);
//! elsewhere a test without an engine says so and passes.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use pullsim::docker::{self, LABEL_RUN};
use pullsim_tests::pullsim_bin;

const SCENARIO: &str = "scenarios/seed/a8-private-address-over-vnet.toml";
const LOGIN: &str = "secureacr2021.azurecr.io";

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

/// The engine, or `None` (test skipped) when it is unreachable outside CI.
fn engine(rt: &tokio::runtime::Runtime) -> Option<docker::Docker> {
    match rt.block_on(docker::connect()) {
        Ok(d) => Some(d),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true and the Docker engine is unreachable: {e:#}")
        }
        Err(e) => {
            eprintln!("skipped: the Docker engine is unreachable: {e:#}");
            None
        }
    }
}

fn leftovers(rt: &tokio::runtime::Runtime, d: &docker::Docker, run: &str) -> docker::Removed {
    rt.block_on(docker::list_labelled(d, &format!("{LABEL_RUN}={run}"))).unwrap()
}

#[test]
fn dns_container_answers_the_private_endpoint_on_the_vnet_network_and_the_public_address_outside() {
    let rt = runtime();
    let Some(d) = engine(&rt) else { return };
    let scenarios = pullsim::cli::load_all(&[repo().join(SCENARIO)]).unwrap();
    let env = rt.block_on(docker::dnsenv::DnsEnv::start(d.clone(), &pullsim_bin(), &scenarios[0])).unwrap();
    let run = env.run.id().to_string();
    let vnet = env.networks.iter().find_map(|n| n.vnet.clone()).expect("a VNET network");

    let inside = rt.block_on(env.dig(Some(&vnet), LOGIN)).unwrap();
    let outside = rt.block_on(env.dig(None, LOGIN)).unwrap();
    // RULES.md A8: the private endpoint's address inside the linked VNET…
    assert_eq!(inside.trim(), "10.0.2.4", "from the VNET network");
    // …and the registry's public address from the internet.
    let public: std::net::Ipv4Addr = outside.trim().parse().unwrap_or_else(|_| panic!("public answer {outside:?}"));
    assert!(!public.is_private(), "from the public network: {public}");

    let removed = rt.block_on(env.stop()).unwrap();
    assert_eq!((removed.containers.len(), removed.networks.len()), (1, 2), "{removed}");
    assert_eq!(leftovers(&rt, &d, &run), docker::Removed::default());
}

/// `pullsim docker-dns` started and read up to its `ready` line; returns its run ID.
fn start_held_run() -> (Child, String) {
    let mut child = Command::new(pullsim_bin())
        .args(["docker-dns", SCENARIO])
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut run = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(id) = line.strip_prefix("run ") {
            run = Some(id.to_string());
        }
        if line == "ready" {
            break;
        }
    }
    let run = run.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("pullsim docker-dns ended before it was ready: {:?}", child.wait())
    });
    // Keep draining its stdout so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, run)
}

#[test]
fn gc_removes_what_a_killed_run_left_and_a_stopped_run_leaves_nothing() {
    let rt = runtime();
    let Some(d) = engine(&rt) else { return };

    // SIGTERM (as `docker stop` or a CI runner sends): the run cleans up after itself.
    let (child, run) = start_held_run();
    let pid = child.id().to_string();
    assert!(!leftovers(&rt, &d, &run).containers.is_empty(), "the run has a DNS container");
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(leftovers(&rt, &d, &run), docker::Removed::default(), "after SIGTERM, without gc");

    // SIGKILL: nothing runs in the process any more; `pullsim gc` removes the leftovers.
    let (mut child, run) = start_held_run();
    let killed = child.id().to_string();
    child.kill().unwrap();
    child.wait().unwrap();
    let left = leftovers(&rt, &d, &run);
    assert_eq!((left.containers.len(), left.networks.len()), (1, 2), "what the killed run left");
    assert_eq!(state_dirs_of(&killed).len(), 1, "the killed run's state directory is left");
    let gc = Command::new(pullsim_bin()).arg("gc").output().unwrap();
    assert!(gc.status.success(), "{}", String::from_utf8_lossy(&gc.stderr));
    assert_eq!(leftovers(&rt, &d, &run), docker::Removed::default(), "after gc");
    assert!(state_dirs_of(&killed).is_empty(), "gc removes the killed run's state directory");
    // The cached component image is kept for the next run; no image carries a run label.
    let images = rt.block_on(docker::list_labelled(&d, LABEL_RUN)).unwrap().images;
    assert!(images.is_empty(), "images with a run label: {images:?}");
}

/// The docker runs' state directories that name `pid` as their owner.
fn state_dirs_of(pid: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(docker::STATE_DIR_PREFIX)))
        .filter(|p| std::fs::read_to_string(p.join("pid")).is_ok_and(|s| s.trim() == pid))
        .collect()
}
