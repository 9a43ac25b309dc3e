//! ARM template deployments driven by the real Azure CLI (2.91) against one `pullsim
//! serve`: the July 2021 recipe written as a template (`tests/templates/recipe.json`)
//! validated, previewed (what-if) and deployed, the worker pulling through what it
//! built; a variant that fails at the firewall; `az deployment group show` outputs;
//! `az group export` redeployed into a new group; template errors in Azure's shape that
//! write nothing.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pullsim_tests::{ArmClient, AzCli, Serve, push_image, repo_root};
use serde_json::{Value, json};

const RG: &str = "secureacrsetup";
const ACR: &str = "secureacr2021";
const APP: &str = "secureacrweb2021";

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn template(name: &str) -> String {
    repo_root().join("tests/templates").join(name).display().to_string()
}

/// The container log of the site, polled until `want` appears in it (or 30 s pass).
fn wait_for_log(arm: &ArmClient, rg: &str, app: &str, want: &str, count: usize) -> String {
    let site = format!("/subscriptions/{{sub}}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{app}/containerlogs");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = arm.call("POST", &site, None).unwrap().body;
        if log.matches(want).count() >= count {
            return log;
        }
        assert!(Instant::now() < deadline, "no '{want}' (x{count}) in the container log:\n{log}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `(type, name)` of every resource of a group, sorted, as `az resource list` shows them.
fn resources_of(az: &AzCli, rg: &str) -> Vec<(String, String)> {
    let list = az.ok(&["resource", "list", "-g", rg]).unwrap();
    let mut out: Vec<(String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            // A private endpoint's NIC is named with a GUID of its own.
            let name = s(&r["name"]);
            let name = name.split_once(".nic.").map_or(name, |(pe, _)| pe);
            (s(&r["type"]).to_ascii_lowercase(), name.to_string())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn recipe_template_validates_previews_deploys_and_the_worker_pulls_through_the_real_azure_cli() {
    let serve = Serve::start().unwrap();
    let az = AzCli::login(&serve).unwrap();
    let arm = ArmClient::login(&serve).unwrap();
    let dir = tempfile::Builder::new().prefix("pullsim-deploy-").tempdir().unwrap();
    az.ok(&["group", "create", "-n", RG, "-l", "westeurope"]).unwrap();

    // The registry first, open, so the image can be pushed before the recipe closes it.
    let d = az
        .deploy_group(RG, "registry", Path::new(&template("registry.json")), &[&format!("registryName={ACR}")])
        .unwrap();
    assert_eq!(s(&d["properties"]["outputs"]["loginServer"]["value"]), "secureacr2021.azurecr.io");
    let creds = az.ok(&["acr", "credential", "show", "-n", ACR]).unwrap();
    push_image(&serve, dir.path(), ACR, ACR, s(&creds["passwords"][0]["value"]));

    let params = [format!("registryName={ACR}"), format!("siteName={APP}")];
    let recipe = template("recipe.json");
    // `verb -g RG --template-file recipe EXTRA… --parameters PARAMS… MORE…`
    let with = |verb: &[&str], extra: &[&str], more: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = verb.iter().map(|x| x.to_string()).collect();
        a.extend(["-g", RG, "--template-file", &recipe].map(String::from));
        a.extend(extra.iter().map(|x| x.to_string()));
        a.push("--parameters".into());
        a.extend(params.iter().cloned());
        a.extend(more.iter().map(|x| x.to_string()));
        a
    };
    let run = |args: Vec<String>| az.ok(&args.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();

    // Validate: every resource of the recipe, nothing written.
    let before = resources_of(&az, RG);
    let v = run(with(&["deployment", "group", "validate"], &["-n", "recipe"], &[]));
    assert_eq!(s(&v["properties"]["provisioningState"]), "Succeeded", "{v}");
    let validated: Vec<&str> =
        v["properties"]["validatedResources"].as_array().unwrap().iter().map(|r| s(&r["id"])).collect();
    assert_eq!(validated.len(), 9, "{validated:?}");
    assert!(validated.iter().any(|id| id.ends_with("/sites/secureacrweb2021/networkConfig/virtualNetwork")));
    assert_eq!(resources_of(&az, RG), before, "validate writes nothing");

    // What-if: the registry is modified (public access goes), the rest is created.
    let w = run(with(&["deployment", "group", "what-if"], &["-n", "recipe", "--no-pretty-print"], &[]));
    let changes = w["changes"].as_array().unwrap_or_else(|| panic!("{w}"));
    let change = |suffix: &str| {
        changes.iter().find(|c| s(&c["resourceId"]).ends_with(suffix)).unwrap_or_else(|| panic!("{suffix} in {w}"))
    };
    assert_eq!(s(&change("/registries/secureacr2021")["changeType"]), "Modify");
    let delta = change("/registries/secureacr2021")["delta"].as_array().unwrap();
    let public = delta.iter().find(|p| s(&p["path"]) == "properties.publicNetworkAccess").unwrap();
    assert_eq!((s(&public["before"]), s(&public["after"])), ("Enabled", "Disabled"));
    assert_eq!(s(&change("/sites/secureacrweb2021")["changeType"]), "Create");
    assert_eq!(s(&change("/virtualNetworks/vnet")["changeType"]), "Create");
    assert_eq!(resources_of(&az, RG), before, "what-if writes nothing");

    // Create: the recipe deployed; its outputs; the worker pulls over the VNET.
    let d = run(with(&["deployment", "group", "create"], &["-n", "recipe"], &[]));
    assert_eq!(s(&d["properties"]["provisioningState"]), "Succeeded", "{d}");
    let outputs = &d["properties"]["outputs"];
    assert_eq!(s(&outputs["loginServer"]["value"]), "secureacr2021.azurecr.io");
    assert_eq!(s(&outputs["siteHostName"]["value"]), "secureacrweb2021.azurewebsites.net");
    assert_eq!(s(&outputs["privateIp"]["value"]), "10.0.2.4");
    let site = az.ok(&["webapp", "show", "-g", RG, "-n", APP]).unwrap();
    assert!(s(&site["virtualNetworkSubnetId"]).ends_with("/virtualNetworks/vnet/subnets/integration"), "{site}");
    let log = wait_for_log(&arm, RG, APP, "Pull Image successful", 1);
    assert!(log.contains("from VNET"), "{log}");

    // Show and operations.
    let shown = az.ok(&["deployment", "group", "show", "-g", RG, "-n", "recipe"]).unwrap();
    assert_eq!(shown["properties"]["outputs"], *outputs);
    let ops = az.ok(&["deployment", "operation", "group", "list", "-g", RG, "-n", "recipe"]).unwrap();
    let ops = ops.as_array().unwrap();
    assert_eq!(ops.iter().filter(|o| s(&o["properties"]["provisioningOperation"]) == "Create").count(), 9);
    assert!(ops.iter().all(|o| s(&o["properties"]["provisioningState"]) == "Succeeded"));
    let listed = az.ok(&["deployment", "group", "list", "-g", RG]).unwrap();
    let mut names: Vec<&str> = listed.as_array().unwrap().iter().map(|d| s(&d["name"])).collect();
    names.sort();
    assert_eq!(names, ["recipe", "registry"]);

    // The variant that fails at the firewall: the pull is no longer routed over the VNET.
    let d = run(with(&["deployment", "group", "create"], &["-n", "recipe-public"], &["pullImageOverVnet=false"]));
    assert_eq!(s(&d["properties"]["provisioningState"]), "Succeeded", "{d}");
    wait_for_log(&arm, RG, APP, "is not allowed access", 1);

    // Export → redeploy into a new group (new global names) → the same resources.
    let exported = az.ok(&["group", "export", "-n", RG]).unwrap();
    assert!(exported["resources"].as_array().is_some_and(|r| r.len() >= 9), "{exported}");
    let file = dir.path().join("exported.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&exported).unwrap()).unwrap();
    az.ok(&["group", "create", "-n", "copy", "-l", "westeurope"]).unwrap();
    let d = az
        .ok(&[
            "deployment",
            "group",
            "create",
            "-g",
            "copy",
            "-n",
            "roundtrip",
            "--template-file",
            file.to_str().unwrap(),
            "--parameters",
            "registries_secureacr2021_name=secureacr2021copy",
            "sites_secureacrweb2021_name=secureacrweb2021copy",
        ])
        .unwrap();
    assert_eq!(s(&d["properties"]["provisioningState"]), "Succeeded", "{d}");
    let rename =
        |(t, n): (String, String)| (t, n.replace("secureacr2021copy", ACR).replace("secureacrweb2021copy", APP));
    let copy: Vec<(String, String)> = {
        let mut c: Vec<_> = resources_of(&az, "copy").into_iter().map(rename).collect();
        c.sort();
        c
    };
    assert_eq!(copy, resources_of(&az, RG), "the exported template rebuilds the same resources");
}

/// A template file in `dir` from JSON.
fn write_template(dir: &Path, name: &str, t: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(t).unwrap()).unwrap();
    p
}

#[test]
fn template_errors_answer_azures_codes_through_the_real_azure_cli_and_write_nothing() {
    let serve = Serve::start().unwrap();
    let az = AzCli::login(&serve).unwrap();
    let arm = ArmClient::login(&serve).unwrap();
    let dir = tempfile::Builder::new().prefix("pullsim-deploy-").tempdir().unwrap();
    az.ok(&["group", "create", "-n", RG, "-l", "westeurope"]).unwrap();
    let vnet = |name: &str, depends: Value| {
        json!({"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01", "name": name,
               "location": "[resourceGroup().location]", "dependsOn": depends,
               "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}})
    };
    let base = |resources: Value, parameters: Value| {
        json!({"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
               "contentVersion": "1.0.0.0", "parameters": parameters, "resources": resources})
    };
    let state = || arm.call("GET", "/subscriptions/{sub}/resources", None).unwrap().body;
    let before = state();
    let cases = [
        (
            "bad-expression",
            base(json!([vnet("[concat('a', 'b']", json!([]))]), json!({})),
            "InvalidTemplate",
            "expected token 'RightParenthesis'",
        ),
        (
            "cycle",
            base(
                json!([
                    vnet("a", json!(["[resourceId('Microsoft.Network/virtualNetworks', 'b')]"])),
                    vnet("b", json!(["[resourceId('Microsoft.Network/virtualNetworks', 'a')]"]))
                ]),
                json!({}),
            ),
            "InvalidTemplate",
            "Circular dependency",
        ),
        (
            "unknown-namespace",
            base(
                json!([{"type": "Contoso.Nothing/widgets", "apiVersion": "2024-01-01", "name": "w", "location": "westeurope"}]),
                json!({}),
            ),
            "InvalidTemplateDeployment",
            "InvalidResourceNamespace",
        ),
    ];
    for (name, t, code, text) in cases {
        let file = write_template(dir.path(), &format!("{name}.json"), &t);
        for verb in ["validate", "create"] {
            let err = az
                .fails(&["deployment", "group", verb, "-g", RG, "-n", name, "--template-file", file.to_str().unwrap()])
                .unwrap();
            assert!(err.contains(code) && err.contains(text), "{name} {verb}: {err}");
        }
        let shown = az.fails(&["deployment", "group", "show", "-g", RG, "-n", name]).unwrap();
        assert!(shown.contains("DeploymentNotFound"), "{name}: {shown}");
    }
    // A parameter without a value: the CLI asks for it before sending anything, so the
    // request goes as an SDK would send it.
    let t = base(json!([vnet("[parameters('name')]", json!([]))]), json!({"name": {"type": "string"}}));
    let dep = format!("/subscriptions/{{sub}}/resourceGroups/{RG}/providers/Microsoft.Resources/deployments/missing");
    for (method, path) in [("POST", format!("{dep}/validate")), ("PUT", dep.clone())] {
        let r = arm.call(method, &path, Some(&json!({"properties": {"mode": "Incremental", "template": t}}))).unwrap();
        let e = &r.json()["error"];
        assert_eq!((r.status, s(&e["code"])), (400, "InvalidTemplate"), "{}", r.body);
        assert!(s(&e["message"]).contains("'name'"), "{}", r.body);
    }
    assert_eq!(arm.call("GET", &dep, None).unwrap().status, 404);
    assert_eq!(state(), before, "refused deployments write nothing");

    // A resource that fails when deployed: DeploymentFailed with the provider's error as a
    // detail; what deployed before it stays (as in Azure).
    let t = base(
        json!([
            vnet("good", json!([])),
            {"type": "Microsoft.Network/virtualNetworks/subnets", "apiVersion": "2023-09-01", "name": "good/outside",
             "dependsOn": ["[resourceId('Microsoft.Network/virtualNetworks', 'good')]"],
             "properties": {"addressPrefix": "10.9.0.0/24"}}
        ]),
        json!({}),
    );
    let file = write_template(dir.path(), "fails.json", &t);
    let err = az
        .fails(&["deployment", "group", "create", "-g", RG, "-n", "fails", "--template-file", file.to_str().unwrap()])
        .unwrap();
    assert!(err.contains("DeploymentFailed") && err.contains("NetcfgSubnetRangeOutsideVnet"), "{err}");
    let shown = az.ok(&["deployment", "group", "show", "-g", RG, "-n", "fails"]).unwrap();
    assert_eq!(s(&shown["properties"]["provisioningState"]), "Failed");
    assert_eq!(s(&shown["properties"]["error"]["code"]), "DeploymentFailed");
    az.ok(&["network", "vnet", "show", "-g", RG, "-n", "good"]).unwrap();

    // An opaque type deploys, with a warning; an unknown type of a modeled namespace does not.
    let t = base(
        json!([{"type": "Microsoft.Insights/components", "apiVersion": "2020-02-02", "name": "insights",
                "location": "westeurope", "kind": "web", "properties": {"Application_Type": "web"}}]),
        json!({}),
    );
    let file = write_template(dir.path(), "opaque.json", &t);
    let d = az
        .ok(&["deployment", "group", "create", "-g", RG, "-n", "opaque", "--template-file", file.to_str().unwrap()])
        .unwrap();
    assert_eq!(s(&d["properties"]["provisioningState"]), "Succeeded", "{d}");
    assert_eq!(s(&d["properties"]["diagnostics"][0]["code"]), "PullsimOpaqueResource", "{d}");
    let listed = resources_of(&az, RG);
    assert!(listed.contains(&("microsoft.insights/components".into(), "insights".into())), "{listed:?}");
    let t = base(
        json!([{"type": "Microsoft.Web/nonsense", "apiVersion": "2024-01-01", "name": "x", "location": "westeurope"}]),
        json!({}),
    );
    let file = write_template(dir.path(), "unknown-type.json", &t);
    let err = az
        .fails(&["deployment", "group", "validate", "-g", RG, "-n", "u", "--template-file", file.to_str().unwrap()])
        .unwrap();
    assert!(err.contains("InvalidTemplateDeployment") && err.contains("InvalidResourceType"), "{err}");
}

/// A subscription-scope deployment (`az deployment sub`): it creates a resource group and,
/// through an inline nested deployment into that group, a VNET; `show`, `list` and the
/// nested deployment's own record answer as Azure's do.
#[test]
fn subscription_deployment_creates_a_group_and_deploys_into_it_through_the_real_azure_cli() {
    let serve = Serve::start().unwrap();
    let az = AzCli::login(&serve).unwrap();
    let dir = tempfile::Builder::new().prefix("pullsim-deploy-").tempdir().unwrap();
    let t = json!({
        "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"groupName": {"type": "string"}, "location": {"type": "string", "defaultValue": "westeurope"}},
        "resources": [
            {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2022-09-01",
             "name": "[parameters('groupName')]", "location": "[parameters('location')]"},
            {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "network",
             "resourceGroup": "[parameters('groupName')]",
             "dependsOn": ["[subscriptionResourceId('Microsoft.Resources/resourceGroups', parameters('groupName'))]"],
             "properties": {
                "mode": "Incremental",
                "expressionEvaluationOptions": {"scope": "inner"},
                "parameters": {"location": {"value": "[parameters('location')]"}},
                "template": {
                    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                    "contentVersion": "1.0.0.0",
                    "parameters": {"location": {"type": "string"}},
                    "resources": [{"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01",
                        "name": "vnet", "location": "[parameters('location')]",
                        "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                            "subnets": [{"name": "integration", "properties": {"addressPrefix": "10.0.1.0/24"}}]}}],
                    "outputs": {"vnetId": {"type": "string",
                        "value": "[resourceId('Microsoft.Network/virtualNetworks', 'vnet')]"}}
                }
             }}
        ],
        "outputs": {
            "groupId": {"type": "string",
                "value": "[subscriptionResourceId('Microsoft.Resources/resourceGroups', parameters('groupName'))]"},
            "vnetId": {"type": "string",
                "value": "[reference(resourceId(parameters('groupName'), 'Microsoft.Resources/deployments', 'network'), '2022-09-01').outputs.vnetId.value]"}
        }
    });
    let file = write_template(dir.path(), "sub.json", &t);
    let file = file.to_str().unwrap();
    let sub = serve.field("subscription_id");
    let args = ["-l", "westeurope", "-n", "landing", "--template-file", file, "--parameters", "groupName=landing-rg"];
    let v = az.ok(&[&["deployment", "sub", "validate"][..], &args].concat()).unwrap();
    assert_eq!(s(&v["properties"]["provisioningState"]), "Succeeded", "{v}");
    let groups = az.ok(&["group", "list"]).unwrap();
    assert!(groups.as_array().unwrap().is_empty(), "validate creates no group: {groups}");

    let d = az.ok(&[&["deployment", "sub", "create"][..], &args].concat()).unwrap();
    assert_eq!(s(&d["properties"]["provisioningState"]), "Succeeded", "{d}");
    assert_eq!(s(&d["id"]), format!("/subscriptions/{sub}/providers/Microsoft.Resources/deployments/landing"));
    let outputs = &d["properties"]["outputs"];
    // Azure's subscriptionResourceId spells a group's ID with its provider.
    assert_eq!(
        s(&outputs["groupId"]["value"]),
        format!("/subscriptions/{sub}/providers/Microsoft.Resources/resourceGroups/landing-rg")
    );
    assert_eq!(
        s(&outputs["vnetId"]["value"]),
        format!("/subscriptions/{sub}/resourceGroups/landing-rg/providers/Microsoft.Network/virtualNetworks/vnet")
    );
    assert_eq!(s(&az.ok(&["group", "show", "-n", "landing-rg"]).unwrap()["location"]), "westeurope");
    let vnet = az.ok(&["network", "vnet", "show", "-g", "landing-rg", "-n", "vnet"]).unwrap();
    assert_eq!(s(&vnet["subnets"][0]["addressPrefix"]), "10.0.1.0/24", "{vnet}");
    // The nested deployment is recorded in the group it deployed into.
    let nested = az.ok(&["deployment", "group", "show", "-g", "landing-rg", "-n", "network"]).unwrap();
    assert_eq!(s(&nested["properties"]["provisioningState"]), "Succeeded", "{nested}");
    let shown = az.ok(&["deployment", "sub", "show", "-n", "landing"]).unwrap();
    assert_eq!(shown["properties"]["outputs"], *outputs);
    let listed = az.ok(&["deployment", "sub", "list"]).unwrap();
    let names: Vec<&str> = listed.as_array().unwrap().iter().map(|d| s(&d["name"])).collect();
    assert_eq!(names, ["landing"]);
}
