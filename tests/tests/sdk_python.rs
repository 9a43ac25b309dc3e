//! The Azure SDK for Python (azure-identity, azure-mgmt-web/network/containerregistry/
//! privatedns/resource; installed by `scripts/install-test-deps.sh`) runs the July 2021
//! recipe against `pullsim serve` (`tests/python/sdk_recipe.py`): VNET integration the
//! SDK's way (`create_or_update_swift_virtual_network_connection_with_check`), the app
//! settings' answer, and the recipe template deployed through the SDK's poller.

use std::process::Command;

use pullsim_tests::{Serve, python_sdk, repo_root};
use serde_json::Value;

#[test]
fn the_python_sdk_runs_the_recipe_and_deploys_the_recipe_template() {
    let serve = Serve::start().unwrap();
    let out = Command::new(python_sdk())
        .arg(repo_root().join("tests/python/sdk_recipe.py"))
        .args([
            &serve.base_url(),
            &serve.field("tenant_id"),
            &serve.field("client_id"),
            &serve.field("client_secret"),
            &serve.field("subscription_id"),
        ])
        .arg(repo_root().join("tests/templates/recipe.json"))
        .env("REQUESTS_CA_BUNDLE", serve.ca_path())
        .env("AZURE_CORE_INSTANCE_DISCOVERY", "false")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the SDK script failed:\n{stderr}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let integration = "/virtualNetworks/vnet/subnets/integration";
    assert_eq!(r["login_server"], "sdkacr2021.azurecr.io");
    assert_eq!(r["private_ip"], "10.0.2.4");
    assert_eq!(r["host_ssl_states"], serde_json::json!(["Standard", "Repository"]));
    for k in ["swift_subnet", "swift_read", "site_subnet"] {
        assert!(r[k].as_str().is_some_and(|s| s.ends_with(integration)), "{k}: {r}");
    }
    // App Service answers the PUT with the settings it stored, secrets included.
    let answer = &r["settings_answer"];
    assert_eq!(answer["WEBSITE_PULL_IMAGE_OVER_VNET"], "true", "{r}");
    assert_eq!(answer["DOCKER_REGISTRY_SERVER_USERNAME"], "sdkacr2021");
    assert_eq!(answer, &r["settings_listed"]);
    assert_eq!(r["deployment_state"], "Succeeded", "{r}");
    assert_eq!(r["deployment_outputs"]["loginServer"], "sdkacr2021b.azurecr.io");
    assert!(r["operations"].as_u64().is_some_and(|n| n >= 9), "an operation per resource: {r}");
}
