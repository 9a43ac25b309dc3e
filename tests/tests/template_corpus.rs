//! The template corpus check (`make corpus`, its own step in `.ci/run`): every real public
//! template of `../shared/templates` (outside the repository, never copied in;
//! `PULLSIM_TEMPLATE_CORPUS` names another folder) validates and deploys against one
//! `pullsim serve`, after the resources the corpus's README says they need first. Under
//! `CI=true` a missing corpus fails; elsewhere the check says it was not run.

use std::path::PathBuf;

use pullsim_tests::{ArmClient, Serve, repo_root};
use serde_json::{Value, json};

const RG: &str = "/subscriptions/{sub}/resourceGroups/secureacrsetup";
const API: &str = "api-version=2024-03-01";

fn corpus() -> PathBuf {
    std::env::var_os("PULLSIM_TEMPLATE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/templates"))
}

/// A deployment body around a template's text as published (comments, CRLF and all).
fn body(template: &str, parameters: &str) -> Vec<u8> {
    let t = template.trim_start_matches('\u{feff}');
    format!(r#"{{"properties": {{"mode": "Incremental", "parameters": {parameters}, "template": {t}}}}}"#).into_bytes()
}

/// Validates, then deploys; the deployment's final record, or what went wrong.
fn deploy(arm: &ArmClient, name: &str, body: &[u8]) -> Result<Value, String> {
    let dep = format!("{RG}/providers/Microsoft.Resources/deployments/{name}");
    let v = arm.call_raw("POST", &format!("{dep}/validate?{API}"), body).map_err(|e| e.to_string())?;
    if v.status != 200 {
        return Err(format!("validate: {} {}", v.status, v.body));
    }
    let r = arm.call_raw("PUT", &format!("{dep}?{API}"), body).map_err(|e| e.to_string())?;
    let rec = r.json();
    if !(200..=201).contains(&r.status) || rec["properties"]["provisioningState"] != "Succeeded" {
        return Err(format!("deploy: {} {}", r.status, r.body));
    }
    Ok(rec)
}

#[test]
#[ignore = "the template corpus check: `make corpus` runs it"]
fn every_template_of_the_corpus_validates_and_deploys() {
    let dir = corpus();
    if !dir.is_dir() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(!ci, "CI=true and the template corpus is missing at {}", dir.display());
        eprintln!("NOT RUN: the template corpus is not at {} (set PULLSIM_TEMPLATE_CORPUS)", dir.display());
        return;
    }
    let serve = Serve::start().unwrap();
    let arm = ArmClient::login(&serve).unwrap();
    let r = arm.call("PUT", RG, Some(&json!({"location": "westeurope"}))).unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
    // What the corpus's README says its templates need first, itself a template.
    let needs = json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [
            {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01", "name": "secureacr-vnet",
             "location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}, "subnets": [
                {"name": "integration-subnet", "properties": {"addressPrefix": "10.0.1.0/24",
                  "delegations": [{"name": "web", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}]}},
                {"name": "private-endpoint-subnet", "properties": {"addressPrefix": "10.0.2.0/24"}}]}},
            {"type": "Microsoft.ContainerRegistry/registries", "apiVersion": "2023-07-01", "name": "secureacr2021",
             "location": "westeurope", "sku": {"name": "Premium"}, "properties": {"adminUserEnabled": true}},
            {"type": "Microsoft.Network/privateDnsZones", "apiVersion": "2020-06-01", "name": "privatelink.azurecr.io",
             "location": "global"},
            {"type": "Microsoft.Network/privateDnsZones/virtualNetworkLinks", "apiVersion": "2020-06-01",
             "name": "privatelink.azurecr.io/secureacr-vnet-link", "location": "global",
             "dependsOn": ["[resourceId('Microsoft.Network/privateDnsZones', 'privatelink.azurecr.io')]",
                           "[resourceId('Microsoft.Network/virtualNetworks', 'secureacr-vnet')]"],
             "properties": {"registrationEnabled": false,
                            "virtualNetwork": {"id": "[resourceId('Microsoft.Network/virtualNetworks', 'secureacr-vnet')]"}}}
        ]
    });
    deploy(&arm, "needs-first", &body(&needs.to_string(), "{}")).unwrap();

    let mut folders: Vec<PathBuf> =
        std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    folders.sort();
    assert!(!folders.is_empty(), "no templates in {}", dir.display());
    let mut failed = Vec::new();
    for f in &folders {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let template = std::fs::read_to_string(f.join("template.json")).unwrap();
        let params: Value = std::fs::read_to_string(f.join("parameters.json"))
            .ok()
            .and_then(|p| serde_json::from_str(p.trim_start_matches('\u{feff}')).ok())
            .unwrap_or_else(|| json!({}));
        let params = params.get("parameters").cloned().unwrap_or(params);
        match deploy(&arm, &name, &body(&template, &params.to_string())) {
            Ok(rec) => eprintln!(
                "corpus: {name}: validated and deployed ({} resources)",
                rec["properties"]["outputResources"].as_array().map_or(0, Vec::len)
            ),
            Err(e) => failed.push(format!("{name}: {e}")),
        }
    }
    assert!(failed.is_empty(), "templates of the corpus that did not deploy:\n{}", failed.join("\n\n"));
}
