//! The library on Docker (issue 17): `pullsim::testcontainers` — `pullsim serve` in a
//! container built locally and started by testcontainers — driven from the host through
//! the ports Docker mapped, by the real Azure CLI (cloud registration and login, the
//! recipe's resources, a restart that makes the worker pull, App Service's log), dig
//! (Azure DNS's public view over UDP and TCP) and skopeo (through the vantage points);
//! and `FakeAzure` on the docker backend, the same API as embedded.
//!
//! The engine must be reachable under `CI=true` (an unreachable engine fails the test);
//! elsewhere a test without an engine says that it did not run.

use std::process::Command;
use std::time::Duration;

use pullsim::testcontainers::{PullsimServe, endpoints};
use pullsim::{Code, Epoch, FakeAzure, RouteKind, Stage};
use pullsim_tests::{AzCli, pullsim_bin, repo_root};
use testcontainers::runners::AsyncRunner;

const RG: &str = "secureacrsetup";
const APP: &str = "secureacrweb2021";
const REGISTRY: &str = "secureacr2021";

/// Whether the engine answers; under `CI=true` it must.
async fn engine_present() -> bool {
    match pullsim::docker::host::run::connect().await {
        Ok(_) => true,
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true and the Docker engine is unreachable: {e:#}")
        }
        Err(e) => {
            eprintln!("NOT RUN: the Docker engine is unreachable: {e:#}");
            false
        }
    }
}

fn recipe() -> std::path::PathBuf {
    repo_root().join("scenarios/fixtures/recipe-2021.toml")
}

/// `dig` from the host at a mapped port: its whole output.
fn dig(port: u16, extra: &[&str]) -> String {
    let out = Command::new("dig")
        .args(["@127.0.0.1", "-p", &port.to_string(), "+tries=1", "+time=5"])
        .args(extra)
        .arg(format!("{REGISTRY}.azurecr.io"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run dig ({e}): install Debian dnsutils with scripts/install-test-deps.sh"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_serve_container_is_driven_by_az_dig_and_skopeo_through_mapped_ports() {
    if !engine_present().await {
        return;
    }
    let image = PullsimServe::build(pullsim_bin()).await.expect("the image builds").with_scenario_file(recipe());
    let container = image.start().await.expect("the container starts and prints its banner");
    let e = endpoints(&container).await.expect("its endpoints");
    assert!(e.arm_url.starts_with("https://127.0.0.1:"), "{}", e.arm_url);

    // The Azure CLI: register the mapped ARM as a cloud (its metadata names the mapped
    // address), log in through its Entra ID, read what --load built.
    let (arm_url, ca, id, secret, tenant) =
        (e.arm_url.clone(), e.ca_file.clone(), e.client_id.clone(), e.client_secret.clone(), e.tenant_id.clone());
    let az = tokio::task::spawn_blocking(move || AzCli::login_to(&arm_url, &ca, &id, &secret, &tenant).unwrap())
        .await
        .unwrap();
    let az = std::sync::Arc::new(az);
    let run = |args: Vec<&'static str>| {
        let az = az.clone();
        tokio::task::spawn_blocking(move || az.ok(&args).unwrap())
    };
    let site = run(vec!["webapp", "show", "-g", RG, "-n", APP]).await.unwrap();
    assert!(site["virtualNetworkSubnetId"].as_str().unwrap().ends_with("/subnets/integration"), "{site}");
    let acr = run(vec!["acr", "show", "-n", REGISTRY]).await.unwrap();
    assert_eq!(acr["publicNetworkAccess"], "Disabled");
    let creds = run(vec!["acr", "credential", "show", "-n", REGISTRY]).await.unwrap();
    let password = creds["passwords"][0]["value"].as_str().unwrap().to_string();

    // A restart makes the worker in the container pull again: a second success in the log.
    let site_id = site["id"].as_str().unwrap().to_string();
    let logs = {
        let az = az.clone();
        let url = format!("{site_id}/containerlogs?api-version=2024-11-01");
        move || {
            let (code, out, err) = az.run(&["rest", "--method", "post", "--url", &url]).unwrap();
            assert_eq!(code, 0, "{err}");
            out.matches("Pull Image successful").count()
        }
    };
    let before = tokio::task::spawn_blocking(logs.clone()).await.unwrap();
    assert!(before >= 1, "serve pulls every site at start");
    run(vec!["webapp", "restart", "-g", RG, "-n", APP]).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = tokio::task::spawn_blocking(logs.clone()).await.unwrap();
        if now > before {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no new pull in the log 30 s after the restart");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // dig: from the host, outside every VNET, Azure DNS gives the public chain: the
    // privatelink CNAME, then the registry's public address, never the private one.
    for (port, extra) in [(e.dns.port(), vec![]), (e.dns_tcp.port(), vec!["+tcp"])] {
        let out = dig(port, &extra);
        assert!(out.contains("status: NOERROR"), "{out}");
        assert!(out.contains(&format!("CNAME\t{REGISTRY}.privatelink.azurecr.io.")), "{out}");
        assert!(!out.contains("10.0.2.4"), "the public view shows no private address: {out}");
    }

    // skopeo through the vantage points: served inside the VNET, refused from the
    // internet (public access is disabled).
    let certs = tempfile::tempdir().unwrap();
    std::fs::write(certs.path().join("ca.crt"), &e.ca_pem).unwrap();
    let skopeo = |from: &str| {
        let proxy = e.vantage(from).unwrap_or_else(|| panic!("a vantage point {from}: {:?}", e.vantage_points));
        Command::new("skopeo")
            .args(["inspect", "--cert-dir"])
            .arg(certs.path())
            .args(["--creds", &format!("{REGISTRY}:{password}")])
            .arg(format!("docker://{REGISTRY}.azurecr.io/app:v1"))
            .env("HTTPS_PROXY", &proxy.proxy_url)
            .env_remove("NO_PROXY")
            .output()
            .expect("running skopeo (scripts/install-test-deps.sh installs it)")
    };
    let inside = skopeo("vnet/integration");
    assert!(inside.status.success(), "{}", String::from_utf8_lossy(&inside.stderr));
    assert!(String::from_utf8_lossy(&inside.stdout).contains("\"Digest\": \"sha256:"));
    let outside = skopeo("internet");
    assert!(!outside.status.success());
    // skopeo shows only the status of its failed ping (ACR's body says "is not allowed
    // access"; tests/tests/acr_skopeo.rs reads it).
    let why = String::from_utf8_lossy(&outside.stderr);
    assert!(why.contains("invalid status code from registry 403 (Forbidden)"), "{why}");
    container.rm().await.expect("the container is removed");
}

#[tokio::test(flavor = "multi_thread")]
async fn fake_azure_on_the_docker_backend_gives_the_embedded_verdicts() {
    if !engine_present().await {
        return;
    }
    let mut azure = FakeAzure::builder()
        .with_rules(Epoch::E2021_07)
        .with_docker_backend(pullsim_bin())
        .start()
        .await
        .expect("the docker backend starts");
    assert_eq!(azure.backend_name(), "docker");
    let site = azure.apply_file(recipe()).await.expect("the recipe applies").site_id.unwrap();
    let pull = azure.pull().await.unwrap();
    assert!(pull.succeeded(), "{}", pull.explain());
    assert_eq!(pull.outcome.route, Some(RouteKind::Vnet));

    let body = serde_json::json!({"properties": {"vnetRouteAllEnabled": false}});
    let r = azure.arm("PUT", &format!("{site}/config/web?api-version=2022-03-01"), Some(&body)).await.unwrap();
    assert!(r.is_success(), "{r:?}");
    let pull = azure.pull().await.unwrap();
    assert_eq!((pull.outcome.stage, pull.outcome.code), (Some(Stage::Firewall), Some(Code::AcrFirewallDenied)));
    assert!(matches!(azure.endpoints().await, Err(pullsim::Error::Unsupported { .. })));
    azure.stop().await.expect("everything it made is removed");
}
