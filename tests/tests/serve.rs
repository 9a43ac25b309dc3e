//! `pullsim serve` as a process: persistence across `kill -9`, the ready file, and
//! the loopback-only default.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::process::Command;

use pullsim_tests::{ArmClient, Serve, pullsim_bin};
use serde_json::json;

#[test]
fn state_survives_kill_9_after_a_committed_write() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let serve = Serve::start_in(&state).unwrap();
    let ca_before = std::fs::read_to_string(serve.ca_path()).unwrap();
    let arm = ArmClient::login(&serve).unwrap();
    let r =
        arm.call("PUT", "/subscriptions/{sub}/resourcegroups/rg", Some(&json!({"location": "westeurope"}))).unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
    let reg = "/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/persistacr";
    let r = arm
        .call("PUT", reg, Some(&json!({"location": "westeurope", "sku": {"name": "Premium"}, "properties": {"adminUserEnabled": true}})))
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
    let creds = arm.call("POST", &format!("{reg}/listCredentials"), None).unwrap().json();
    // The answer came back, so the write is committed: a SIGKILL now must not lose it.
    serve.kill9();

    let serve = Serve::start_in(&state).unwrap();
    assert_eq!(
        std::fs::read_to_string(serve.ca_path()).unwrap(),
        ca_before,
        "the CA survives, so clients keep trusting it"
    );
    let arm = ArmClient::login(&serve).unwrap();
    let r = arm.call("GET", reg, None).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["properties"]["loginServer"], "persistacr.azurecr.io");
    let again = arm.call("POST", &format!("{reg}/listCredentials"), None).unwrap().json();
    assert_eq!(creds, again, "the admin passwords are the same after the restart");
}

#[test]
fn ready_file_holds_the_endpoints_and_the_az_lines() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready.json");
    let mut child = Command::new(pullsim_bin())
        .args(["serve", "--bind", "127.0.0.1:0", "--quiet", "--ready-file"])
        .arg(&ready)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // stdout's JSON comes after the ready file is written: read one to await the other.
    let mut out = child.stdout.take().unwrap();
    let mut text = String::new();
    let endpoints = loop {
        let mut buf = [0u8; 4096];
        let n = std::io::Read::read(&mut out, &mut buf).unwrap();
        assert!(n > 0, "serve exited before it was ready");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
            break v;
        }
    };
    let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&ready).unwrap()).unwrap();
    assert_eq!(file, endpoints);
    let arm = file["arm_url"].as_str().unwrap();
    assert!(arm.starts_with("https://127.0.0.1:"), "{arm}");
    let lines: Vec<&str> = file["az_setup"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("az cloud register -n pullsim --endpoint-resource-manager https://127.0.0.1:"))
    );
    assert!(lines.iter().any(|l| l.starts_with("az login --service-principal")));
    assert!(std::path::Path::new(file["ca_cert"].as_str().unwrap()).is_file());
    // SIGTERM: serve stops and removes its ready file and temporary CA directory.
    let ca_dir = std::path::Path::new(file["ca_cert"].as_str().unwrap()).parent().unwrap().to_path_buf();
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!ready.exists(), "ready file removed on shutdown");
    assert!(!ca_dir.exists(), "temporary CA directory removed on shutdown");
}

#[test]
fn serve_refuses_a_non_loopback_address_unless_told() {
    let out = Command::new(pullsim_bin()).args(["serve", "--bind", "0.0.0.0:0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to listen on 0.0.0.0:0 (not loopback); pass --allow-remote"), "{err}");
}

#[test]
fn serve_loads_the_recipe_answers_dig_and_the_worker_pulls_on_restart() {
    let serve = Serve::start_with(&["--load", "scenarios/fixtures/recipe-2021.toml", "--rules", "2021-07"]).unwrap();
    let e = &serve.endpoints;
    assert_eq!(e["rules"], "2021-07");
    // The DNS answers as Azure DNS does, by source: the printed dig line from the VNET.
    let dns = e["dns"].as_str().unwrap();
    let (dns_ip, dns_port) = dns.rsplit_once(':').unwrap();
    let vnet_src = e["addresses"].as_array().unwrap().iter().find(|a| a["modeled"] == "10.0.1.4").unwrap()["real"]
        .as_str()
        .unwrap()
        .to_string();
    let dig = |src: Option<&str>| {
        let mut c = Command::new("dig");
        c.args([&format!("@{dns_ip}"), "-p", dns_port, "+short", "secureacr2021.azurecr.io"]);
        if let Some(s) = src {
            c.args(["-b", s]);
        }
        String::from_utf8(c.output().expect("dig (run make deps)").stdout).unwrap()
    };
    assert_eq!(dig(Some(&vnet_src)), "secureacr2021.privatelink.azurecr.io.\n10.0.2.4\n");
    assert!(dig(None).ends_with(&format!("{}\n", e["registry_endpoints"][0]["modeled"].as_str().unwrap())));

    // skopeo through the vantage-point proxies: refused from the internet (public access
    // is disabled), served from inside the VNET with the admin credentials.
    let arm = ArmClient::login(&serve).unwrap();
    let creds = arm
        .call("POST", "/subscriptions/{sub}/resourceGroups/secureacrsetup/providers/Microsoft.ContainerRegistry/registries/secureacr2021/listCredentials", None)
        .unwrap()
        .json();
    let password = creds["passwords"][0]["value"].as_str().unwrap().to_string();
    let proxy = |from: &str| {
        e["proxies"].as_array().unwrap().iter().find(|p| p["from"] == from).unwrap()["url"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let skopeo = |from: &str| {
        Command::new("skopeo")
            .env("HTTPS_PROXY", proxy(from))
            .args([
                "inspect",
                "--cert-dir",
                e["cert_dir"].as_str().unwrap(),
                "--creds",
                &format!("secureacr2021:{password}"),
            ])
            .arg("docker://secureacr2021.azurecr.io/app:v1")
            .output()
            .expect("skopeo (run make deps)")
    };
    let inside = skopeo("vnet/integration");
    assert!(inside.status.success(), "{}", String::from_utf8_lossy(&inside.stderr));
    let info: serde_json::Value = serde_json::from_slice(&inside.stdout).unwrap();
    assert_eq!(info["Layers"].as_array().unwrap().len(), 3);
    let outside = skopeo("internet");
    assert!(!outside.status.success());
    assert!(String::from_utf8_lossy(&outside.stderr).contains("403"), "{}", String::from_utf8_lossy(&outside.stderr));

    // The site was pulled at start; a restart pulls again; both land in the container log.
    let site = "/subscriptions/{sub}/resourceGroups/secureacrsetup/providers/Microsoft.Web/sites/secureacrweb2021";
    let logs = || arm.call("POST", &format!("{site}/containerlogs"), None).unwrap().body;
    let pulls = |text: &str| text.matches("Pull Image successful").count();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while pulls(&logs()) < 1 {
        assert!(std::time::Instant::now() < deadline, "no pull in the log: {}", logs());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(arm.call("POST", &format!("{site}/restart"), None).unwrap().status, 200);
    while pulls(&logs()) < 2 {
        assert!(std::time::Instant::now() < deadline, "no pull after restart: {}", logs());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Turning route-all off through ARM restarts the app; in 2021-07 the pull now fails.
    let r = arm
        .call("PATCH", &format!("{site}/config/web"), Some(&json!({"properties": {"vnetRouteAllEnabled": false}})))
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    while !logs().contains("is not allowed access") {
        assert!(std::time::Instant::now() < deadline, "no failed pull after the change: {}", logs());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let text = logs();
    let line = text.lines().find(|l| l.contains("DockerApiException")).unwrap();
    assert!(line.len() > 25 && line.as_bytes()[4] == b'-' && line.contains("Z ERROR - "), "timestamped: {line}");
}
