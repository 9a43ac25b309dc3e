//! Issue 14: ACR's own `/acr/v1/` API and the data plane's role checks, driven by the
//! real Azure CLI against the July 2021 recipe served by `pullsim serve`. The registry
//! has public access disabled, so `az` reaches it as a client inside the VNET would:
//! through serve's vantage-point proxy for `vnet/integration` (`HTTPS_PROXY`; ARM, on the
//! loopback address, stays out of it through `NO_PROXY`). One served environment, the
//! commands in the order a user would run them: list, show-tags (plain and `--detail`),
//! manifest list-metadata, show, update, untag, delete — then the worker's next pull of
//! the deleted repository fails; from the internet the firewall refuses with ACR's
//! message; a principal without a data role is refused until it gets AcrPull.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::process::Command;
use std::time::{Duration, Instant};

use pullsim_tests::{ArmClient, AzCli, Serve};
use serde_json::{Value, json};

const REG: &str = "secureacr2021";
const SITE: &str = "/subscriptions/{sub}/resourceGroups/secureacrsetup/providers/Microsoft.Web/sites/secureacrweb2021";

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The vantage-point proxy standing `from` (`internet`, `vnet/integration`).
fn proxy(serve: &Serve, from: &str) -> Value {
    serve.endpoints["proxies"].as_array().unwrap().iter().find(|p| p["from"] == from).unwrap().clone()
}

/// Runs one `az` command line through the proxy `via`: (exit code, stdout, stderr).
fn az_via(az: &AzCli, via: &str, args: &str) -> (i32, String, String) {
    az.sh(&format!("HTTPS_PROXY={via} az {args} -o json")).unwrap()
}

/// `az` through `via`, required to succeed; its JSON output.
#[track_caller]
fn ok(az: &AzCli, via: &str, args: &str) -> Value {
    let (code, out, err) = az_via(az, via, args);
    assert_eq!(code, 0, "az {args} failed:\n{err}");
    serde_json::from_str(&out).unwrap_or(Value::Null)
}

/// `az` through `via`, required to fail; its stderr.
#[track_caller]
fn fails(az: &AzCli, via: &str, args: &str) -> String {
    let (code, out, err) = az_via(az, via, args);
    assert_ne!(code, 0, "az {args} succeeded:\n{out}");
    err
}

/// curl through the proxy `via`, trusting serve's CA: (status, body).
fn curl(serve: &Serve, via: &str, args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sS", "--proxy", via, "--cacert", &serve.ca_path().display().to_string(), "-w", "\n%{http_code}"])
        .args(args)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or_default();
    (status.parse().unwrap_or(0), body.to_string())
}

/// What `az` does with an Entra token (exchange it for an ACR refresh token, that for an
/// access token of `scope`), then `METHOD path` with it: (status, body).
fn acr_as_method(serve: &Serve, via: &str, entra: &str, scope: &str, method: &str, path: &str) -> (u16, String) {
    let base = format!("https://{REG}.azurecr.io");
    let service = format!("service={REG}.azurecr.io");
    let (status, body) = curl(
        serve,
        via,
        &[
            "-d",
            "grant_type=access_token",
            "-d",
            &service,
            "--data-urlencode",
            &format!("access_token={entra}"),
            &format!("{base}/oauth2/exchange"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let refresh = serde_json::from_str::<Value>(&body).unwrap()["refresh_token"].as_str().unwrap().to_string();
    let (status, body) = curl(
        serve,
        via,
        &[
            "-d",
            "grant_type=refresh_token",
            "-d",
            &service,
            "--data-urlencode",
            &format!("scope={scope}"),
            "--data-urlencode",
            &format!("refresh_token={refresh}"),
            &format!("{base}/oauth2/token"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let access = serde_json::from_str::<Value>(&body).unwrap()["access_token"].as_str().unwrap().to_string();
    curl(serve, via, &["-X", method, "-H", &format!("Authorization: Bearer {access}"), &format!("{base}{path}")])
}

/// [`acr_as_method`] with `GET`.
fn acr_as(serve: &Serve, via: &str, entra: &str, scope: &str, path: &str) -> (u16, String) {
    acr_as_method(serve, via, entra, scope, "GET", path)
}

/// The container log once it holds `want` `count` times (the worker pulls asynchronously).
fn wait_for_log(arm: &ArmClient, want: &str, count: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = arm.call("POST", &format!("{SITE}/containerlogs"), None).unwrap().body;
        if log.matches(want).count() >= count {
            return log;
        }
        assert!(Instant::now() < deadline, "no '{want}' (x{count}) in the container log:\n{log}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn az_acr_repository_commands_work_from_the_vnet_and_a_deleted_repository_no_longer_pulls() {
    let serve =
        Serve::start_with(&["--load", "scenarios/fixtures/recipe-2021.toml", "--principal", "nobody=nobody-secret"])
            .unwrap();
    let vnet = s(&proxy(&serve, "vnet/integration")["url"]).to_string();
    let az = AzCli::login(&serve).unwrap();
    let arm = ArmClient::login(&serve).unwrap();
    // The recipe's site pulled app:v1 when it was loaded.
    wait_for_log(&arm, "Pull Image successful", 1);

    // The Owner service principal (an ordinary assignment at the subscription) lists the
    // repositories from inside the VNET: its ARM role is honoured by the data plane.
    assert_eq!(ok(&az, &vnet, &format!("acr repository list -n {REG}")), json!(["app"]));
    assert_eq!(ok(&az, &vnet, &format!("acr repository show-tags -n {REG} --repository app")), json!(["v1"]));
    let detail = ok(&az, &vnet, &format!("acr repository show-tags -n {REG} --repository app --detail"));
    let tag = &detail[0];
    assert_eq!(tag["name"], "v1");
    assert!(s(&tag["digest"]).starts_with("sha256:"), "{detail}");
    assert!(s(&tag["createdTime"]).ends_with('Z') && s(&tag["lastUpdateTime"]).len() == 28, "{detail}");
    let all_on = json!({"deleteEnabled": true, "writeEnabled": true, "readEnabled": true, "listEnabled": true});
    assert_eq!(tag["changeableAttributes"], all_on);
    let digest = s(&tag["digest"]).to_string();

    let manifests = ok(&az, &vnet, &format!("acr manifest list-metadata --registry {REG} --name app"));
    assert_eq!(manifests.as_array().unwrap().len(), 1, "{manifests}");
    let m = &manifests[0];
    assert_eq!((s(&m["digest"]), &m["tags"]), (digest.as_str(), &json!(["v1"])));
    assert_eq!((s(&m["architecture"]), s(&m["os"])), ("amd64", "linux"));
    assert!(m["imageSize"].as_u64().unwrap() > 0, "{m}");

    let repo = ok(&az, &vnet, &format!("acr repository show -n {REG} --repository app"));
    assert_eq!(
        (s(&repo["registry"]), s(&repo["imageName"]), &repo["manifestCount"], &repo["tagCount"]),
        ("secureacr2021.azurecr.io", "app", &json!(1), &json!(1))
    );
    let shown = ok(&az, &vnet, &format!("acr repository show -n {REG} --image app:v1"));
    assert_eq!(shown["digest"], digest.as_str());

    // Attributes change through PATCH and read back.
    let updated = ok(&az, &vnet, &format!("acr repository update -n {REG} --image app:v1 --write-enabled false"));
    assert_eq!(updated["changeableAttributes"]["writeEnabled"], false, "{updated}");
    let again = ok(&az, &vnet, &format!("acr repository show -n {REG} --image app:v1"));
    assert_eq!(again["changeableAttributes"]["writeEnabled"], false);

    // A principal with no role on the registry (Reader on another group, so that it can
    // sign in) is refused the catalog with ACR's 401 until it holds AcrPull there. Its
    // Entra token comes from az; az's own commands, and the exchange and calls az makes
    // sent with curl from the same vantage point (for ACR's exact bodies).
    let nobody = &serve.endpoints["principals"][0];
    let (nobody_app, nobody_oid) = (s(&nobody["client_id"]).to_string(), s(&nobody["object_id"]).to_string());
    let sub = serve.field("subscription_id");
    az.ok(&["group", "create", "-n", "team", "-l", "westeurope"]).unwrap();
    let grant = |role: &str, scope: &str| {
        az.ok(&[
            "role",
            "assignment",
            "create",
            "--assignee-object-id",
            &nobody_oid,
            "--assignee-principal-type",
            "ServicePrincipal",
            "--role",
            role,
            "--scope",
            scope,
        ])
        .unwrap();
    };
    grant("Reader", &format!("/subscriptions/{sub}/resourceGroups/team"));
    let other = AzCli::login_as(&serve, &nobody_app, "nobody-secret").unwrap();
    let entra =
        other.ok(&["account", "get-access-token", "--resource", "https://containerregistry.azure.net"]).unwrap();
    let entra = s(&entra["accessToken"]).to_string();
    // az itself: ARM lists nothing this principal may read (an empty list, not a 403,
    // as Azure filters listings), so az goes to the registry by its login server, whose
    // token exchange grants nothing: az reports ACR's 401.
    assert_eq!(other.ok(&["resource", "list"]).unwrap(), json!([]), "a listing filtered to nothing is empty");
    let err = fails(&other, &vnet, &format!("acr repository list -n {REG}"));
    assert!(
        err.contains("Error: authentication required, visit https://aka.ms/acr/authorization for more information."),
        "{err}"
    );
    let catalog = || acr_as(&serve, &vnet, &entra, "registry:catalog:*", "/acr/v1/_catalog");
    assert_eq!(
        catalog(),
        (
            401,
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required, visit https://aka.ms/acr/authorization for more information."}]}"#
                .to_string()
        )
    );
    grant(
        "AcrPull",
        &format!(
            "/subscriptions/{sub}/resourceGroups/secureacrsetup/providers/Microsoft.ContainerRegistry/registries/{REG}"
        ),
    );
    assert_eq!(catalog(), (200, r#"{"repositories":["app"]}"#.to_string()));
    assert_eq!(ok(&other, &vnet, &format!("acr repository list -n {REG}")), json!(["app"]));
    let (status, tags) = acr_as(&serve, &vnet, &entra, "repository:app:metadata_read", "/acr/v1/app/_tags");
    assert_eq!((status, serde_json::from_str::<Value>(&tags).unwrap()["tags"][0]["name"].clone()), (200, json!("v1")));
    // AcrPull reads; it does not delete.
    let (status, body) =
        acr_as_method(&serve, &vnet, &entra, "repository:app:delete", "DELETE", "/acr/v1/app/_tags/v1");
    assert_eq!(status, 401, "{body}");

    // Untag: the tag goes, the manifest stays (untagged).
    ok(&az, &vnet, &format!("acr repository untag -n {REG} --image app:v1"));
    assert_eq!(ok(&az, &vnet, &format!("acr repository show-tags -n {REG} --repository app")), json!([]));
    let manifests = ok(&az, &vnet, &format!("acr manifest list-metadata --registry {REG} --name app"));
    assert_eq!((s(&manifests[0]["digest"]), &manifests[0]["tags"]), (digest.as_str(), &json!([])));

    // Delete the repository: az prints what went; the catalog no longer has it; the
    // worker's next pull fails on the manifest.
    let deleted = ok(&az, &vnet, &format!("acr repository delete -n {REG} --repository app --yes"));
    assert_eq!(deleted, json!({"manifestsDeleted": [digest], "tagsDeleted": []}));
    assert_eq!(ok(&az, &vnet, &format!("acr repository list -n {REG}")), json!([]));
    let err = fails(&az, &vnet, &format!("acr repository show-tags -n {REG} --repository app"));
    assert!(err.contains("repository name not known to registry"), "{err}");
    arm.call("POST", &format!("{SITE}/restart"), None).unwrap();
    let log = wait_for_log(&arm, "Image pull failed", 1);
    assert!(log.contains("secureacr2021.azurecr.io/app:v1"), "{log}");

    // From the internet the firewall answers first: az reports the 403 in its own words,
    // the registry's body is ACR's DENIED naming the client's public address.
    let internet = proxy(&serve, "internet");
    let err = fails(&az, s(&internet["url"]), &format!("acr repository list -n {REG}"));
    assert!(err.contains("Looks like you don't have access to registry 'secureacr2021.azurecr.io'."), "{err}");
    let (status, text) = curl(&serve, s(&internet["url"]), &[&format!("https://{REG}.azurecr.io/acr/v1/_catalog")]);
    assert_eq!(status, 403);
    assert_eq!(
        text,
        format!(
            "{{\"errors\":[{{\"code\":\"DENIED\",\"message\":\"client with IP '{}' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.\"}}]}}",
            s(&internet["modeled"])
        )
    );
}
