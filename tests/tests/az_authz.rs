//! Issue 18: ARM authorizes every call as Azure RBAC does, names are global, scopes are
//! kept — driven by the real Azure CLI logged in as two service principals of one
//! `pullsim serve` (the subscription's Owner, and a second principal that starts with
//! Reader on one resource group) — and the surface gaps real commands hit: `az webapp
//! vnet-integration list`, zone redundancy, a bounded container log, a deadline for a
//! proxy's request head.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::io::{Read, Write};
use std::time::Duration;

use mock_azure::appservice::rules::Epoch;
use pullsim::embedded::{Env, EnvOptions};
use pullsim_tests::{ArmFixture, AzCli, Serve};
use serde_json::{Value, json};

const OWNER_ROLE: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// `az` failed with `AuthorizationFailed` naming the caller, the action and the scope.
#[track_caller]
fn refused(stderr: &str, oid: &str, action: &str, scope_ends: &str) {
    assert!(stderr.contains("AuthorizationFailed"), "{stderr}");
    assert!(stderr.contains(&format!("with object id '{oid}'")), "{stderr}");
    assert!(stderr.contains(&format!("perform action '{action}' over scope '")), "{stderr}");
    let scope = stderr.split("over scope '").nth(1).and_then(|r| r.split('\'').next()).unwrap_or_default();
    assert!(scope.to_ascii_lowercase().ends_with(&scope_ends.to_ascii_lowercase()), "scope {scope}: {stderr}");
}

#[test]
fn a_reader_principal_reads_its_group_and_writes_only_while_it_is_contributor() {
    let serve =
        Serve::start_with(&["--load", "scenarios/fixtures/recipe-2021.toml", "--principal", "reader=reader-secret"])
            .unwrap();
    let sub = serve.field("subscription_id");
    let owner_oid = serve.field("object_id");
    let reader = &serve.endpoints["principals"][0];
    let (reader_app, reader_oid) = (s(&reader["client_id"]).to_string(), s(&reader["object_id"]).to_string());
    let team = format!("/subscriptions/{sub}/resourceGroups/team");
    let owner = AzCli::login(&serve).unwrap();

    // The service principal `serve` prints is the subscription's Owner through an
    // ordinary role assignment at the subscription.
    let at_sub = owner
        .ok(&[
            "role",
            "assignment",
            "list",
            "--scope",
            &format!("/subscriptions/{sub}"),
            "--fill-principal-name",
            "false",
        ])
        .unwrap();
    let owner_assignment = at_sub
        .as_array()
        .unwrap()
        .iter()
        .find(|a| s(&a["principalId"]) == owner_oid && s(&a["roleDefinitionId"]).ends_with(OWNER_ROLE))
        .unwrap_or_else(|| panic!("no Owner assignment for {owner_oid} in {at_sub:#}"))
        .clone();
    assert_eq!(s(&owner_assignment["scope"]), format!("/subscriptions/{sub}"));

    owner.ok(&["group", "create", "-n", "team", "-l", "westeurope"]).unwrap();
    owner.ok(&["group", "create", "-n", "other", "-l", "westeurope"]).unwrap();
    // Zone redundancy is kept as created.
    let acr = owner
        .ok(&[
            "acr",
            "create",
            "-n",
            "teamacr01",
            "-g",
            "team",
            "--sku",
            "Premium",
            "--zone-redundancy",
            "enabled",
            "--admin-enabled",
            "true",
        ])
        .unwrap();
    assert_eq!(s(&acr["zoneRedundancy"]), "Enabled");
    assert_eq!(s(&owner.ok(&["acr", "show", "-n", "teamacr01", "-g", "team"]).unwrap()["zoneRedundancy"]), "Enabled");

    // A registry's name is global: taken in another group, refused; check-name agrees.
    let e = owner.fails(&["acr", "create", "-n", "secureacr2021", "-g", "team", "--sku", "Basic"]).unwrap();
    assert!(e.contains("AlreadyInUse"), "{e}");
    assert!(e.contains("The registry DNS name secureacr2021.azurecr.io is already in use."), "{e}");
    let check = owner.ok(&["acr", "check-name", "-n", "secureacr2021"]).unwrap();
    assert_eq!((check["nameAvailable"].as_bool(), s(&check["reason"])), (Some(false), "AlreadyExists"));
    assert_eq!(owner.ok(&["acr", "check-name", "-n", "freshacrname01"]).unwrap()["nameAvailable"], true);

    // `az webapp vnet-integration list` answers from the site's virtualNetworkSubnetId.
    let vi =
        owner.ok(&["webapp", "vnet-integration", "list", "-g", "secureacrsetup", "-n", "secureacrweb2021"]).unwrap();
    let vi = vi.as_array().unwrap();
    assert_eq!(vi.len(), 1, "{vi:?}");
    assert_eq!(s(&vi[0]["name"]), "integration");
    assert!(s(&vi[0]["vnetResourceId"]).ends_with("/virtualNetworks/vnet/subnets/integration"), "{vi:?}");

    // Reader on `team` only; the assignment keeps the group as its scope.
    let ra = owner
        .ok(&[
            "role",
            "assignment",
            "create",
            "--assignee-object-id",
            &reader_oid,
            "--assignee-principal-type",
            "ServicePrincipal",
            "--role",
            "Reader",
            "--scope",
            &team,
        ])
        .unwrap();
    assert_eq!(s(&ra["scope"]), team, "scope kept exactly: {ra:#}");
    // Listed as the CLI lists by default: principal names filled in from Microsoft Graph
    // (`directoryObjects/getByIds` with a token for the Graph audience).
    let listed = owner.ok(&["role", "assignment", "list", "--scope", &team]).unwrap();
    let mine = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|a| s(&a["principalId"]) == reader_oid && s(&a["scope"]) == team)
        .unwrap_or_else(|| panic!("no Reader assignment at {team}: {listed:#}"));
    assert_eq!(s(&mine["principalName"]), reader_app, "{mine:#}");
    assert_eq!(s(&mine["roleDefinitionName"]), "Reader", "{mine:#}");

    let reader = AzCli::login_as(&serve, &reader_app, "reader-secret").unwrap();
    // Reads in the group work; the group listing shows only what it may read.
    assert_eq!(s(&reader.ok(&["group", "show", "-n", "team"]).unwrap()["name"]), "team");
    let groups = reader.ok(&["group", "list"]).unwrap();
    let names: Vec<&str> = groups.as_array().unwrap().iter().map(|g| s(&g["name"])).collect();
    assert_eq!(names, ["team"]);
    assert_eq!(s(&reader.ok(&["acr", "show", "-n", "teamacr01", "-g", "team"]).unwrap()["zoneRedundancy"]), "Enabled");
    // Writes and secrets fail, and nothing is written.
    let vnet = ["network", "vnet", "create", "-g", "team", "-n", "v1", "--address-prefix", "10.9.0.0/16"];
    let e = reader.fails(&vnet).unwrap();
    refused(
        &e,
        &reader_oid,
        "Microsoft.Network/virtualNetworks/write",
        "/resourceGroups/team/providers/Microsoft.Network/virtualNetworks/v1",
    );
    assert_eq!(owner.ok(&["network", "vnet", "list", "-g", "team"]).unwrap(), json!([]));
    let e = reader.fails(&["acr", "credential", "show", "-n", "teamacr01", "-g", "team"]).unwrap();
    refused(&e, &reader_oid, "Microsoft.ContainerRegistry/registries/listCredentials/action", "/registries/teamacr01");
    // Outside the group: 403, for a group that exists as for one that does not.
    let e = reader.fails(&["group", "show", "-n", "secureacrsetup"]).unwrap();
    refused(&e, &reader_oid, "Microsoft.Resources/subscriptions/resourcegroups/read", "/secureacrsetup");
    let e = reader.fails(&["group", "show", "-n", "nosuchgroup"]).unwrap();
    refused(&e, &reader_oid, "Microsoft.Resources/subscriptions/resourcegroups/read", "/nosuchgroup");
    let e = reader.fails(&["acr", "show", "-n", "secureacr2021", "-g", "secureacrsetup"]).unwrap();
    refused(&e, &reader_oid, "Microsoft.ContainerRegistry/registries/read", "/registries/secureacr2021");
    // A reader cannot grant itself more.
    let grant_contributor = [
        "role",
        "assignment",
        "create",
        "--assignee-object-id",
        &reader_oid,
        "--assignee-principal-type",
        "ServicePrincipal",
        "--role",
        "Contributor",
        "--scope",
        &team,
    ];
    let e = reader.fails(&grant_contributor).unwrap();
    assert!(e.contains("AuthorizationFailed"), "{e}");

    // Contributor on the group: writes work.
    let contributor = owner.ok(&grant_contributor).unwrap();
    let v = reader.ok(&vnet).unwrap();
    assert_eq!(s(&v["newVNet"]["name"]), "v1");
    let creds = reader.ok(&["acr", "credential", "show", "-n", "teamacr01", "-g", "team"]).unwrap();
    assert_eq!(s(&creds["username"]), "teamacr01");
    // Deleted again: writes fail again.
    owner.ok(&["role", "assignment", "delete", "--ids", s(&contributor["id"])]).unwrap();
    let e = reader
        .fails(&["network", "vnet", "create", "-g", "team", "-n", "v2", "--address-prefix", "10.8.0.0/16"])
        .unwrap();
    refused(&e, &reader_oid, "Microsoft.Network/virtualNetworks/write", "/virtualNetworks/v2");

    // The Owner assignment is removable like any other: then the first principal's
    // writes fail too.
    owner.ok(&["role", "assignment", "delete", "--ids", s(&owner_assignment["id"])]).unwrap();
    let e = owner.fails(&["group", "create", "-n", "after", "-l", "westeurope"]).unwrap();
    refused(&e, &owner_oid, "Microsoft.Resources/subscriptions/resourcegroups/write", "/after");
}

#[test]
fn a_site_name_taken_in_another_group_is_refused_and_check_name_agrees() {
    let f = ArmFixture::new();
    let api = "api-version=2024-11-01";
    for rg in ["one", "two"] {
        f.ok(
            "PUT",
            &format!("/subscriptions/{{sub}}/resourceGroups/{rg}?{api}"),
            Some(&json!({"location": "westeurope"})),
        );
        f.ok(
            "PUT",
            &format!("/subscriptions/{{sub}}/resourceGroups/{rg}/providers/Microsoft.Web/serverfarms/plan?{api}"),
            Some(&json!({"location": "westeurope", "sku": {"name": "P1v3"}, "kind": "linux"})),
        );
    }
    let site = |rg: &str| {
        (
            format!("/subscriptions/{{sub}}/resourceGroups/{rg}/providers/Microsoft.Web/sites/globalapp?{api}"),
            json!({"location": "westeurope", "properties": {"serverFarmId":
                format!("/subscriptions/{}/resourceGroups/{rg}/providers/Microsoft.Web/serverfarms/plan", f.sub())}}),
        )
    };
    let (path, body) = site("one");
    f.ok("PUT", &path, Some(&body));
    let before = f.store_state();
    let (path, body) = site("two");
    let m = f.err("PUT", &path, Some(&body), 409, "Conflict");
    assert_eq!(m, "Website with given name globalapp already exists.");
    assert_eq!(f.store_state(), before, "a refused request changes nothing");
    let check = f.ok(
        "POST",
        &format!("/subscriptions/{{sub}}/providers/Microsoft.Web/checknameavailability?{api}"),
        Some(&json!({"name": "GlobalApp", "type": "Microsoft.Web/sites"})),
    );
    assert_eq!((check["nameAvailable"].as_bool(), s(&check["reason"])), (Some(false), "AlreadyExists"));
    // The same group is an update, not a conflict.
    let (path, body) = site("one");
    f.ok("PUT", &path, Some(&body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_container_log_keeps_a_bounded_tail_over_many_pulls() {
    let env = Env::start(EnvOptions::default()).await.unwrap();
    let token = env.arm.cfg.client_token(&env.arm.signer, 3600);
    let sub = env.arm.cfg.subscription_id.clone();
    let rg = format!("/subscriptions/{sub}/resourceGroups/logs");
    let call = |method: &str, path: &str, body: Option<Value>| {
        let mut req = mock_azure::arm::ArmRequest::new(method, &format!("{path}?api-version=2024-11-01"))
            .header("authorization", &format!("Bearer {token}"));
        if let Some(b) = &body {
            req = req.json(b);
        }
        let r = env.arm.handle(&req);
        assert!((200..300).contains(&r.status), "{method} {path}: {} {}", r.status, String::from_utf8_lossy(&r.body));
        r
    };
    call("PUT", &rg, Some(json!({"location": "westeurope"})));
    call(
        "PUT",
        &format!("{rg}/providers/Microsoft.Web/serverfarms/plan"),
        Some(json!({"location": "westeurope", "sku": {"name": "P1v3"}, "kind": "linux"})),
    );
    let site = format!("{rg}/providers/Microsoft.Web/sites/logapp18");
    call(
        "PUT",
        &site,
        Some(
            json!({"location": "westeurope", "properties": {"serverFarmId": format!("{rg}/providers/Microsoft.Web/serverfarms/plan"),
            "siteConfig": {"linuxFxVersion": "DOCKER|nosuchacr18.azurecr.io/app:v1"}}}),
        ),
    );
    // A restart storm: many pulls, each failing and logging, until far more was written
    // than the tail keeps.
    let mut written = 0;
    let mut pulls = 0;
    let mut last = Vec::new();
    while written < 3 * mock_azure::arm::LOG_TAIL {
        let report = env.pull(&site, Epoch::LATEST).await.unwrap();
        assert!(!report.outcome.success);
        written += report.log.iter().map(|l| l.len() + 28).sum::<usize>();
        last = report.log.clone();
        pulls += 1;
    }
    let log = String::from_utf8(call("POST", &format!("{site}/containerlogs"), None).body.to_vec()).unwrap();
    assert!(log.len() <= mock_azure::arm::LOG_TAIL, "{} bytes kept after {pulls} pulls", log.len());
    assert!(log.len() > mock_azure::arm::LOG_TAIL / 2, "the tail is kept, not dropped: {} bytes", log.len());
    // Whole lines, ending with the last pull's.
    assert!(log.ends_with('\n'));
    let lines: Vec<&str> = log.lines().collect();
    let tail = &lines[lines.len() - last.len()..];
    for (kept, said) in tail.iter().zip(&last) {
        assert!(kept.ends_with(said.as_str()), "{kept} / {said}");
    }
    let first_stamp = lines[0].split(' ').next().unwrap();
    assert!(first_stamp.starts_with("20") && first_stamp.contains('T'), "the first kept line is whole: {}", lines[0]);
    env.stop().await;
}

#[test]
fn a_proxy_client_trickling_its_request_head_is_cut_at_the_deadline() {
    let serve = Serve::start_with(&["--header-timeout", "2"]).unwrap();
    let url = s(&serve.endpoints["proxies"][0]["url"]).to_string();
    let addr = url.trim_start_matches("http://");
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    // A request head trickled one byte every 300 ms would take about 13 s in all; each
    // byte arrives well within any per-byte timeout, so only a deadline for the whole
    // head cuts it.
    let head = b"CONNECT secureacr2021.azurecr.io:443 HTTP/1.1\r\n\r\n";
    let mut sent = 0;
    let mut answer = Vec::new();
    let cut = loop {
        if sent == head.len() {
            break false;
        }
        if c.write_all(&head[sent..sent + 1]).is_err() {
            break true;
        }
        sent += 1;
        std::thread::sleep(Duration::from_millis(300));
        let mut buf = [0u8; 256];
        match c.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => break true,
        }
    };
    assert!(cut, "the proxy let a trickled head of {} bytes through", head.len());
    assert!(sent < head.len(), "cut before the head was complete ({sent} of {} bytes)", head.len());
    assert!(answer.is_empty(), "no tunnel was opened: {}", String::from_utf8_lossy(&answer));
}
