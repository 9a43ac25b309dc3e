//! The docker backend against the real Docker engine (issue 7): the seed suite gives the
//! same verdicts and traces as the embedded backend (and starts each pulled image as the
//! app); Azure DNS in its container answers by the network a query comes from (dig from
//! client containers started with testcontainers, nslookup from `pullsim shell`'s); the
//! images live in the CNCF registry; nothing pullsim labels outlives a run — removed by
//! the run itself (normal end, SIGTERM), by `pullsim gc` after a SIGKILL.
//!
//! The engine must be reachable under `CI=true` (an unreachable engine fails the test);
//! elsewhere a test without an engine says so and passes.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pullsim::backend::Backend;
use pullsim::docker::host::run::{self as docker, LABEL_PID, LABEL_RUN};
use pullsim::docker::host::{DockerBackend, env::DockerEnv};
use pullsim::docker::protocol::state::READY;
use pullsim_tests::pullsim_bin;
use serde_json::Value;

const A8: &str = "scenarios/seed/a8-private-address-over-vnet.toml";
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

fn labelled(rt: &tokio::runtime::Runtime, d: &docker::Docker, label: &str) -> docker::Removed {
    rt.block_on(docker::list_labelled(d, label)).unwrap()
}

/// `pullsim run --backend BACKEND --format json scenarios/seed`: its output, its results
/// and its process ID.
fn run_json(backend: &str) -> (std::process::Output, Vec<Value>, u32) {
    let child = Command::new(pullsim_bin())
        .args(["run", "--backend", backend, "--format", "json", "scenarios/seed"])
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{backend}: {e}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    let results = report["results"].as_array().cloned().unwrap_or_default();
    (out, results, pid)
}

/// Seed scenarios the docker backend cannot run yet, with the reason at their use.
const DOCKER_GAPS: [&str; 2] =
    ["fidelity/public-resolver-as-dns-server.toml", "fidelity/public-resolver-declared.toml"];

#[test]
fn seed_suite_gives_the_same_outcome_stage_code_route_and_trace_on_docker_as_embedded() {
    let rt = runtime();
    let Some(d) = engine(&rt) else { return };
    let (docker_out, on_docker, pid) = run_json("docker");
    let (embedded_out, embedded, _) = run_json("embedded");
    // Known gap (issue 16): the docker backend gives a VNET's network no route to a public
    // resolver's address yet, so these scenarios time out at DNS there. They are named here
    // and must fail on docker (a fix makes this list shrink), and pass embedded.
    let gap = |r: &Value| r["file"].as_str().is_some_and(|f| DOCKER_GAPS.iter().any(|g| f.ends_with(g)));
    let failing: Vec<&str> =
        on_docker.iter().filter(|r| r["passed"] != true).filter_map(|r| r["file"].as_str()).collect();
    assert!(
        on_docker.iter().filter(|r| !gap(r)).all(|r| r["passed"] == true),
        "docker: failing outside the known gaps: {failing:?}\n{}",
        String::from_utf8_lossy(&docker_out.stderr)
    );
    assert!(
        on_docker.iter().filter(|r| gap(r)).all(|r| r["passed"] != true),
        "a known gap now passes: shrink DOCKER_GAPS"
    );
    let on_docker: Vec<Value> = on_docker.into_iter().filter(|r| !gap(r)).collect();
    let embedded: Vec<Value> = embedded.into_iter().filter(|r| !gap(r)).collect();
    assert!(embedded_out.status.success(), "embedded: {}", String::from_utf8_lossy(&embedded_out.stderr));
    assert_eq!(on_docker.len(), embedded.len());
    assert!(on_docker.len() >= 60, "the whole seed suite: {}", on_docker.len());
    for (dk, em) in on_docker.iter().zip(&embedded) {
        let name = em["name"].as_str().unwrap();
        assert_eq!(dk["name"], em["name"]);
        assert_eq!(dk["backend"], "docker", "{name}");
        assert_eq!(dk["passed"], true, "{name}: {}", dk["failures"]);
        // Outcome (pull, route, stage, code, message), every trace step with its modeled
        // addresses, and App Service's log lines: the same on both backends.
        assert_eq!(dk["outcome"], em["outcome"], "{name}");
        assert_eq!(dk["trace"], em["trace"], "{name}");
        assert_eq!(dk["log"], em["log"], "{name}");
        // After a successful pull the image runs as the app, without the registry's
        // credentials in its environment (docs/azure.md E), resolving the registry as the app
        // sees it; no app after a failed pull.
        if dk["outcome"]["pull"] == "success" {
            let app = &dk["app"];
            assert_eq!(app["started"], true, "{name}: {app}");
            let out = app["output"].as_str().unwrap();
            assert!(out.contains("no DOCKER_REGISTRY_SERVER_* setting"), "{name}: {out}");
            assert!(out.contains(".azurecr.io resolves to "), "{name}: {out}");
            let settings: Vec<&str> = app["settings"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
            assert!(!settings.iter().any(|k| k.starts_with("DOCKER_REGISTRY_SERVER_")), "{name}: {settings:?}");
        } else {
            assert!(dk["app"].is_null(), "{name}: an app after a failed pull");
        }
    }
    // Both outcomes occur, so the comparison covers failures too.
    let codes: std::collections::BTreeSet<&str> =
        on_docker.iter().filter_map(|r| r["outcome"]["code"].as_str()).collect();
    assert!(codes.len() >= 8, "failure codes covered: {codes:?}");
    assert!(on_docker.iter().any(|r| r["outcome"]["pull"] == "success"));
    // A run that ended normally leaves nothing behind, without gc.
    assert_eq!(labelled(&rt, &d, &format!("{LABEL_PID}={pid}")), docker::Removed::default());
    assert!(state_dirs_of(&pid.to_string()).is_empty(), "the run removed its state directory");
}

#[test]
fn azure_dns_answers_the_private_endpoint_inside_the_vnet_and_the_public_address_outside() {
    let rt = runtime();
    let Some(d) = engine(&rt) else { return };
    let scenarios = pullsim::runner::select::load_all(&[repo().join(A8)], &[], false).unwrap();
    let backend = DockerBackend::new(rt.block_on(DockerEnv::start(d.clone(), &pullsim_bin())).unwrap(), false);
    let env = backend.env();
    let run = env.run_id().to_string();
    let answers = rt.block_on(async {
        pullsim::runner::scenario::build(&backend, &scenarios[0]).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let vnet = env
            .store()
            .filter(|_, v| v["type"] == "Microsoft.Network/virtualNetworks")
            .first()
            .and_then(|v| v["id"].as_str().map(str::to_string))
            .unwrap();
        // dig from clients testcontainers starts on the VNET's network and on the public
        // one (addresses from Docker's allocator: Azure DNS tells them apart by network).
        let (dig_in, dig_out) = (dig_from(env, Some(&vnet)).await?, dig_from(env, None).await?);
        // busybox's nslookup in `pullsim shell`'s debug container, inside the VNET.
        let inside = env.debug_container(Some(&vnet)).await?;
        let nslookup = inside.exec(&["/bin/nslookup", LOGIN]).await?;
        let catalog = http_get(env.registry_addr(), "/v2/_catalog").await?;
        anyhow::Ok((dig_in, dig_out, nslookup, catalog))
    });
    let (inside, outside, nslookup, catalog) = answers.unwrap();
    // The image lives in the CNCF registry behind the ACR.
    assert!(catalog.contains(r#""secureacr2021/app""#), "{catalog}");
    // docs/azure.md A8: the private endpoint's address inside the linked VNET…
    assert_eq!(inside.trim(), "10.0.2.4", "from the VNET network");
    // …as busybox's nslookup shows it, through the privatelink CNAME…
    assert!(nslookup.contains("secureacr2021.privatelink.azurecr.io") && nslookup.contains("10.0.2.4"), "{nslookup}");
    // …and the registry's public address from the internet.
    let public: std::net::Ipv4Addr = outside.trim().parse().unwrap_or_else(|_| panic!("public answer {outside:?}"));
    assert!(!public.is_private(), "from the public network: {public}");

    let state = env.state_dir().to_path_buf();
    rt.block_on(Box::new(backend).stop()).unwrap();
    assert!(!state.exists(), "the state directory is removed");
    assert_eq!(labelled(&rt, &d, &format!("{LABEL_RUN}={run}")), docker::Removed::default());
}

/// `pullsim component dig LOGIN` in a client container testcontainers starts from the
/// component image on the network of `vnet` (the public one for `None`), removed when
/// done; what it printed.
async fn dig_from(env: &DockerEnv, vnet: Option<&str>) -> anyhow::Result<String> {
    use testcontainers::core::{ExecCommand, WaitFor};
    use testcontainers::runners::AsyncRunner;
    use testcontainers::{GenericImage, ImageExt};
    let (network, _, dns) = env.network(vnet).await?;
    let (name, tag) = env.image().split_once(':').unwrap();
    let client = GenericImage::new(name, tag)
        .with_entrypoint("/pullsim")
        .with_wait_for(WaitFor::message_on_stdout(READY))
        .with_cmd(["component", "idle"])
        .with_network(network)
        .with_label(LABEL_RUN, env.run_id())
        .with_label(docker::LABEL_APP, "1")
        .with_label(LABEL_PID, std::process::id().to_string())
        .start()
        .await?;
    let mut out =
        client.exec(ExecCommand::new(["/pullsim", "component", "dig", "--server", &dns.to_string(), LOGIN])).await?;
    let answer = String::from_utf8(out.stdout_to_vec().await?)?;
    client.rm().await?;
    Ok(answer)
}

/// A plain HTTP GET (the registry speaks HTTP on the run's network); the whole answer.
async fn http_get(addr: std::net::SocketAddr, path: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: registry\r\n\r\n").as_bytes()).await?;
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut out)).await??;
    Ok(out)
}

/// `pullsim run --backend docker` on the seed suite, started and awaited until its
/// containers exist (polling the engine, up to 60 s).
fn start_run(rt: &tokio::runtime::Runtime, d: &docker::Docker) -> Child {
    let child = Command::new(pullsim_bin())
        .args(["run", "--backend", "docker", "scenarios/seed"])
        .current_dir(repo())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let label = format!("{LABEL_PID}={}", child.id());
    let deadline = Instant::now() + Duration::from_secs(60);
    while labelled(rt, d, &label).containers.len() < 5 {
        assert!(Instant::now() < deadline, "the run did not start its five containers within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

#[test]
fn gc_removes_what_a_killed_run_left_and_a_stopped_run_leaves_nothing() {
    let rt = runtime();
    let Some(d) = engine(&rt) else { return };

    // SIGTERM (as `docker stop` or a CI runner sends): the run cleans up after itself.
    let child = start_run(&rt, &d);
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "an interrupted run is an infrastructure exit");
    assert_eq!(labelled(&rt, &d, &format!("{LABEL_PID}={pid}")), docker::Removed::default(), "after SIGTERM");
    assert!(state_dirs_of(&pid).is_empty(), "the stopped run removed its state directory");

    // SIGKILL: nothing runs in the process any more; `pullsim gc` removes the leftovers.
    let mut child = start_run(&rt, &d);
    let killed = child.id().to_string();
    child.kill().unwrap();
    child.wait().unwrap();
    let left = labelled(&rt, &d, &format!("{LABEL_PID}={killed}"));
    assert!(left.containers.len() >= 5 && !left.networks.is_empty(), "what the killed run left: {left}");
    assert_eq!(state_dirs_of(&killed).len(), 1, "the killed run's state directory is left");
    let gc = Command::new(pullsim_bin()).arg("gc").output().unwrap();
    assert!(gc.status.success(), "{}", String::from_utf8_lossy(&gc.stderr));
    assert_eq!(labelled(&rt, &d, &format!("{LABEL_PID}={killed}")), docker::Removed::default(), "after gc");
    assert!(state_dirs_of(&killed).is_empty(), "gc removes the killed run's state directory");
    // The cached component image is kept for the next run; no image carries a run label.
    let images = labelled(&rt, &d, LABEL_RUN).images;
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
