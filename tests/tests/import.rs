//! `pullsim import TEMPLATE` (issue 15), the real binary: the project's recipe template
//! (tests/templates/recipe.json) imported gives the verdict of the same deployment pulled
//! by App Service (the template deployed through ARM into a library `FakeAzure` that holds
//! the image, then its worker's pull: the cheapest comparison that runs the deployment
//! for real rather than a second import); a variant that routes the pull publicly gives
//! the same failing verdict; `az group export` of the served recipe (the real Azure CLI
//! against `pullsim serve`) imported gives the verdict of that export deployed (Azure's
//! export leaves app settings out), and with the app settings put back the recipe's; a
//! template that names a VNET of another group fails with that ID and exit 1, and
//! succeeds with `--before`; malformed JSON is exit 2 with its line and column; nothing
//! secret is written.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::path::{Path, PathBuf};

use pullsim_tests::{AzCli, Serve, pullsim_in, repo_root, verdict};
use serde_json::{Value, json};

const RG: &str = "secureacrsetup";
const ACR: &str = "secureacr2021";
const APP: &str = "secureacrweb2021";

fn template(name: &str) -> PathBuf {
    repo_root().join("tests/templates").join(name)
}

/// `pullsim import ARGS… --out DIR/NAME` in `dir`: exit code, the file's text, stderr.
fn import(dir: &Path, name: &str, args: &[&str]) -> (i32, String, String) {
    let out = dir.join(name);
    let mut all: Vec<&str> = vec!["import"];
    all.extend(args);
    all.extend(["--out", out.to_str().unwrap()]);
    let o = pullsim_in(dir, &all);
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    (o.status.code().unwrap_or(-1), text, String::from_utf8_lossy(&o.stderr).into_owned())
}

/// The verdict App Service reaches on `template` deployed with `parameters`: a library
/// fake Azure holding the registry and its image (`app:v1`), the template deployed over
/// it through ARM, then the worker's pull.
fn deployed_verdict(template: &Path, parameters: Value) -> (String, String, String, String) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut azure = pullsim::FakeAzure::start().await.unwrap();
        azure
            .apply_toml(&format!(
                "name = \"the registry with the image\"\n[resource_group]\nname = \"{RG}\"\nlocation = \"westeurope\"\n\
                 [registry]\nname = \"{ACR}\"\nsku = \"Premium\"\nadmin_user = true\nimages = [{{ repo = \"app\", tag = \"v1\" }}]\n"
            ))
            .await
            .unwrap();
        let t: Value = serde_json::from_str(&std::fs::read_to_string(template).unwrap()).unwrap();
        let body = json!({"properties": {"mode": "Incremental", "template": t, "parameters": parameters}});
        let path = format!("resourceGroups/{RG}/providers/Microsoft.Resources/deployments/recipe?api-version=2022-09-01");
        let r = azure.arm("PUT", &path, Some(&body)).await.unwrap();
        assert_eq!(r.body["properties"]["provisioningState"], "Succeeded", "{}", r.body);
        let site = format!(
            "/subscriptions/{}/resourceGroups/{RG}/providers/Microsoft.Web/sites/{APP}",
            azure.endpoints().await.unwrap().subscription_id
        );
        let pull = azure.pull_site(&site).await.unwrap();
        azure.stop().await.unwrap();
        let o = serde_json::to_value(&pull.outcome).unwrap();
        let f = |k: &str| o[k].as_str().unwrap_or("-").to_string();
        let pulled = if pull.succeeded() { "success" } else { "failure" };
        (pulled.to_string(), f("route"), f("stage"), f("code"))
    })
}

/// Nothing secret: no token, no password value, the credentials named as a source.
fn assert_no_secret(text: &str) {
    assert!(!text.contains("eyJ"), "a token in:\n{text}");
    assert!(
        !text.lines().any(|l| !l.trim_start().starts_with('#') && l.contains("PASSWORD")),
        "a password setting in:\n{text}"
    );
}

#[test]
fn imported_recipe_template_gives_the_verdict_of_the_same_deployment_pulled() {
    let work = tempfile::tempdir().unwrap();
    let recipe = template("recipe.json");
    let cases = [
        ("recipe.toml", vec![], json!({})),
        ("public.toml", vec!["pullImageOverVnet=false"], json!({"pullImageOverVnet": {"value": false}})),
    ];
    let mut verdicts = Vec::new();
    for (name, extra, extra_json) in cases {
        let reg = format!("registryName={ACR}");
        let site = format!("siteName={APP}");
        let mut args = vec![recipe.to_str().unwrap(), "-g", RG, "--parameters", &reg, "--parameters", &site];
        for e in &extra {
            args.extend(["--parameters", e]);
        }
        let (code, text, err) = import(work.path(), name, &args);
        assert_eq!(code, 0, "{err}");
        assert!(text.starts_with("# Imported by `pullsim import` from the ARM template "), "{text}");
        assert!(text.contains(&format!("# with the parameters {reg} {site}")), "{text}");
        assert!(text.contains("credentials = \"admin\""), "{text}");
        assert_no_secret(&text);
        let mut params = json!({"registryName": {"value": ACR}, "siteName": {"value": APP}});
        params.as_object_mut().unwrap().extend(extra_json.as_object().unwrap().clone());
        let want = deployed_verdict(&recipe, params);
        let got = verdict(work.path(), name, None);
        assert_eq!(got, want, "{name}:\n{text}");
        verdicts.push(got);
    }
    let s = |a: &str, b: &str, c: &str, d: &str| (a.to_string(), b.to_string(), c.to_string(), d.to_string());
    assert_eq!(verdicts[0], s("success", "vnet", "-", "-"));
    assert_eq!(verdicts[1], s("failure", "public", "firewall", "ACR_FIREWALL_DENIED"));
}

#[test]
fn imported_az_group_export_of_the_served_recipe_gives_the_same_verdict() {
    let serve = Serve::start().unwrap();
    let az = AzCli::login(&serve).unwrap();
    let work = tempfile::tempdir().unwrap();
    az.ok(&["group", "create", "-n", RG, "-l", "westeurope"]).unwrap();
    let params = [format!("registryName={ACR}"), format!("siteName={APP}")];
    az.deploy_group(RG, "recipe", &template("recipe.json"), &[&params[0], &params[1]]).unwrap();
    let exported = az.ok(&["group", "export", "-n", RG]).unwrap();
    let file = work.path().join("exported.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&exported).unwrap()).unwrap();

    // As exported: Azure's export leaves the app settings out (secrets), so the site has
    // neither WEBSITE_PULL_IMAGE_OVER_VNET nor registry credentials. The import gives the
    // verdict of that template deployed and pulled.
    let (code, text, err) = import(work.path(), "exported.toml", &[file.to_str().unwrap(), "-g", RG]);
    assert_eq!(code, 0, "{err}");
    assert_no_secret(&text);
    assert!(!text.contains("WEBSITE_PULL_IMAGE_OVER_VNET"), "{text}");
    let got = verdict(work.path(), "exported.toml", None);
    assert_eq!(got, deployed_verdict(&file, json!({})), "exported:\n{text}");

    // With the app settings put back as a user does after an export (the recipe's, the
    // password from listCredentials): the recipe's verdict.
    let mut completed = exported.clone();
    let registry = "resourceId('Microsoft.ContainerRegistry/registries', parameters('registries_secureacr2021_name'))";
    completed["resources"].as_array_mut().unwrap().push(json!({
        "type": "Microsoft.Web/sites/config", "apiVersion": "2022-03-01",
        "name": "[concat(parameters('sites_secureacrweb2021_name'), '/appsettings')]",
        "dependsOn": ["[resourceId('Microsoft.Web/sites', parameters('sites_secureacrweb2021_name'))]"],
        "properties": {
            "WEBSITE_PULL_IMAGE_OVER_VNET": "true",
            "DOCKER_REGISTRY_SERVER_URL": format!("https://{ACR}.azurecr.io"),
            "DOCKER_REGISTRY_SERVER_USERNAME": format!("[listCredentials({registry}, '2023-07-01').username]"),
            "DOCKER_REGISTRY_SERVER_PASSWORD": format!("[listCredentials({registry}, '2023-07-01').passwords[0].value]")
        }
    }));
    let completed_file = work.path().join("completed.json");
    std::fs::write(&completed_file, serde_json::to_vec_pretty(&completed).unwrap()).unwrap();
    let (code, text, err) = import(work.path(), "completed.toml", &[completed_file.to_str().unwrap(), "-g", RG]);
    assert_eq!(code, 0, "{err}");
    assert_no_secret(&text);
    let reg = format!("registryName={ACR}");
    let site = format!("siteName={APP}");
    let (code, recipe, err) = import(
        work.path(),
        "recipe.toml",
        &[template("recipe.json").to_str().unwrap(), "-g", RG, "-p", &reg, "-p", &site],
    );
    assert_eq!(code, 0, "{err}");
    let got = verdict(work.path(), "completed.toml", None);
    let want = verdict(work.path(), "recipe.toml", None);
    assert_eq!(got, want, "exported and completed:\n{text}\nrecipe:\n{recipe}");
    assert_eq!(got.0, "success");
}

/// A site (and its plan) integrated with a subnet of VNET `hub` in group `hub`.
fn spoke() -> Value {
    json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [
            {"type": "Microsoft.Web/serverfarms", "apiVersion": "2022-03-01", "name": "plan",
             "location": "[resourceGroup().location]", "kind": "linux", "sku": {"name": "P1v3"},
             "properties": {"reserved": true}},
            {"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "spokeapp",
             "location": "[resourceGroup().location]", "kind": "app,linux,container",
             "dependsOn": ["[resourceId('Microsoft.Web/serverfarms', 'plan')]"],
             "properties": {
                "serverFarmId": "[resourceId('Microsoft.Web/serverfarms', 'plan')]",
                "virtualNetworkSubnetId": "[resourceId('hub', 'Microsoft.Network/virtualNetworks/subnets', 'hub', 'integration')]",
                "siteConfig": {"linuxFxVersion": "DOCKER|secureacr2021.azurecr.io/app:v1"}}}
        ]
    })
}

fn hub() -> Value {
    json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [
            {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01", "name": "hub",
             "location": "[resourceGroup().location]",
             "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
                "subnets": [{"name": "integration", "properties": {"addressPrefix": "10.1.1.0/24",
                    "delegations": [{"name": "web", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}]}}]}}
        ]
    })
}

#[test]
fn a_vnet_the_template_does_not_create_is_named_and_supplied_with_before() {
    let work = tempfile::tempdir().unwrap();
    let spoke_file = work.path().join("spoke.json");
    std::fs::write(&spoke_file, serde_json::to_vec_pretty(&spoke()).unwrap()).unwrap();
    std::fs::write(work.path().join("hub.json"), serde_json::to_vec_pretty(&hub()).unwrap()).unwrap();

    let (code, _, err) = import(work.path(), "spoke.toml", &["spoke.json", "-g", "spoke"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("pullsim: the deployment of spoke.json failed:"), "{err}");
    let missing = "/resourceGroups/hub/providers/Microsoft.Network/virtualNetworks/hub";
    let line =
        err.lines().find(|l| l.starts_with("spoke.json references /subscriptions/")).unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains(missing), "{err}");
    assert!(line.ends_with(", which it does not create: supply it with --before TEMPLATE or --fixture FILE"), "{err}");

    let (code, text, err) =
        import(work.path(), "spoke.toml", &["spoke.json", "-g", "spoke", "--before", "hub:hub.json"]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("# after hub.json (in hub)"), "{text}");
    assert!(text.contains("vnet_integration = \"hub/integration\""), "{text}");
    assert!(text.contains("[[vnet]]\nname = \"hub\""), "{text}");
}

#[test]
fn malformed_templates_and_parameters_are_refused_with_their_position() {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("bad.json"), "{\n  \"resources\": [\n    { \"type\": }\n  ]\n}\n").unwrap();
    let (code, _, err) = import(work.path(), "bad.toml", &["bad.json"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.json:3:15: "), "{err}");
    std::fs::write(work.path().join("params.json"), "{\"parameters\": {\"siteName\": {\"value\": \"x\",}}").unwrap();
    let (code, _, err) =
        import(work.path(), "bad.toml", &[template("recipe.json").to_str().unwrap(), "--parameters", "@params.json"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("params.json:1:"), "{err}");
    let (code, _, err) =
        import(work.path(), "bad.toml", &[template("recipe.json").to_str().unwrap(), "-p", "pullImageOverVnet=maybe"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--parameters pullImageOverVnet=maybe: 'maybe' is not a bool (true or false)"), "{err}");
    assert!(!work.path().join("bad.toml").exists());
}
