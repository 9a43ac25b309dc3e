//! What-if against the in-memory host: Create, NoChange, Modify with its delta, Ignore and
//! Delete, unevaluated references, nested templates expanded; and the JSON read by the real
//! Azure CLI's what-if formatter.

use std::io::Write;
use std::process::{Command, Stdio};

use arm_template::{ChangeType, Deployment, Mode, PropertyChangeType, WhatIfResult};
use serde_json::{Map, Value, json};

use crate::support::{MemoryHost, corpus, ctx, id, template};

fn vnet_template(prefix: &str) -> Value {
    json!({"resources": [
        {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "v", "location": "westeurope",
         "properties": {"addressSpace": {"addressPrefixes": [prefix]}, "enableDdosProtection": false}},
        {"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "app", "location": "westeurope",
         "properties": {"note": "[reference('v').addressSpace.addressPrefixes[0]]"}}
    ]})
}

fn what_if(t: Value, mode: Mode, host: &mut MemoryHost) -> WhatIfResult {
    let mut c = ctx("whatif");
    c.mode = mode;
    Deployment::prepare(template(t), Map::new(), c).unwrap().what_if(host)
}

#[test]
fn an_empty_group_gets_creates_with_references_left_unevaluated() {
    let mut host = MemoryHost::new();
    let r = what_if(vnet_template("10.0.0.0/16"), Mode::Incremental, &mut host);
    let kinds: Vec<ChangeType> = r.changes.iter().map(|c| c.change_type).collect();
    assert_eq!(kinds, vec![ChangeType::Create, ChangeType::Create]);
    let app = r.changes[1].after.as_ref().unwrap();
    assert_eq!(app["properties"]["note"], json!("[reference('v').addressSpace.addressPrefixes[0]]"));
    assert_eq!(app["apiVersion"], json!("2022-03-01"));
    assert_eq!(app["id"], json!(id("Microsoft.Web/sites/app")));
    assert!(host.put_ids().is_empty(), "what-if writes nothing");
    let j = r.to_json();
    assert_eq!(j["status"], json!("Succeeded"));
    assert_eq!(j["properties"]["changes"][0]["changeType"], json!("Create"));
}

#[test]
fn a_deployed_template_is_no_change_and_an_edited_one_a_modify_with_its_delta() {
    let mut host = MemoryHost::new();
    let d = Deployment::prepare(template(vnet_template("10.0.0.0/16")), Map::new(), ctx("whatif")).unwrap();
    assert_eq!(d.execute(&mut host).provisioning_state, arm_template::ProvisioningState::Succeeded);
    let same = what_if(vnet_template("10.0.0.0/16"), Mode::Incremental, &mut host);
    assert!(same.changes.iter().all(|c| c.change_type == ChangeType::NoChange), "{:#?}", same.changes);
    let edited = what_if(vnet_template("10.1.0.0/16"), Mode::Incremental, &mut host);
    let vnet = &edited.changes[0];
    assert_eq!(vnet.change_type, ChangeType::Modify);
    assert_eq!(vnet.delta.len(), 1);
    assert_eq!(vnet.delta[0].path, "properties.addressSpace.addressPrefixes");
    assert_eq!(vnet.delta[0].change_type, PropertyChangeType::Array);
    assert_eq!(vnet.delta[0].children[0].before, Some(json!("10.0.0.0/16")));
    assert_eq!(vnet.delta[0].children[0].after, Some(json!("10.1.0.0/16")));
    // The site's note references the vnet, which exists now: evaluated against today's state.
    let app = &edited.changes[1];
    assert_eq!(app.change_type, ChangeType::NoChange);
}

#[test]
fn other_resources_of_the_group_are_ignored_or_deleted_by_mode() {
    let mut host = MemoryHost::new();
    host.insert(json!({"id": id("Microsoft.Network/virtualNetworks/other"), "name": "other", "type": "Microsoft.Network/virtualNetworks", "properties": {}}));
    let t =
        json!({"resources": [{"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "v"}]});
    let inc = what_if(t.clone(), Mode::Incremental, &mut host);
    assert_eq!(inc.changes[1].change_type, ChangeType::Ignore);
    assert_eq!(inc.changes[1].resource_id, id("Microsoft.Network/virtualNetworks/other"));
    let complete = what_if(t, Mode::Complete, &mut host);
    assert_eq!(complete.changes[1].change_type, ChangeType::Delete);
}

#[test]
fn read_only_properties_the_host_marks_are_not_changes() {
    let mut host = MemoryHost::new();
    let t = json!({"resources": [{"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "app", "properties": {"a": 1}}]});
    Deployment::prepare(template(t.clone()), Map::new(), ctx("w")).unwrap().execute(&mut host);
    let site = id("Microsoft.Web/sites/app").to_ascii_lowercase();
    host.resources.get_mut(&site).unwrap()["properties"]["defaultHostName"] = json!("app.azurewebsites.net");
    let noisy = what_if(t.clone(), Mode::Incremental, &mut host);
    assert_eq!(noisy.changes[0].delta[0].change_type, PropertyChangeType::Delete);
    host.read_only.insert("microsoft.web/sites".into(), vec!["properties.defaultHostName".into()]);
    assert_eq!(what_if(t, Mode::Incremental, &mut host).changes[0].change_type, ChangeType::NoChange);
}

#[test]
fn nested_templates_are_expanded_into_their_resources() {
    let Some(c) = corpus("linuxdocs-system-mi-acrpull") else { return };
    let d = Deployment::prepare(c.template, c.parameters, ctx("linuxdocs")).unwrap();
    let mut host = MemoryHost::new();
    let r = d.what_if(&mut host);
    let ids: Vec<&str> = r.changes.iter().map(|c| c.resource_id.as_str()).collect();
    assert!(ids.iter().any(|i| i.contains("/roleAssignments/f413b5ac-09ac-5976-b772-ac45dd737e24")), "{ids:#?}");
    assert!(!ids.iter().any(|i| i.contains("Microsoft.Resources/deployments")), "{ids:#?}");
    let ra = r.changes.iter().find(|c| c.resource_id.contains("roleAssignments")).unwrap();
    // The site does not exist yet: its principal stays an expression.
    assert!(ra.after.as_ref().unwrap()["properties"]["principalId"].as_str().unwrap().starts_with("[reference("));
}

/// The Azure CLI's Python, from the install `scripts/install-test-deps.sh` makes; `None`
/// (the test says it did not run) when absent outside CI; a failure under `CI=true`.
fn az_python() -> Option<std::path::PathBuf> {
    let home = std::env::var("HOME").unwrap_or_default();
    let found = std::fs::read_to_string(format!("{home}/.cache/pullsim/az-path"))
        .ok()
        .map(|p| std::path::PathBuf::from(p.trim()).with_file_name("python3"))
        .filter(|p| p.exists());
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "CI=true and the Azure CLI is not installed (~/.cache/pullsim/az-path): run scripts/install-test-deps.sh"
            );
        }
        eprintln!("NOT RUN: the Azure CLI is not installed (~/.cache/pullsim/az-path)");
    }
    found
}

/// The real CLI's code reads our what-if answer: the SDK model deserializes it and
/// `az deployment group what-if`'s formatter prints it.
#[test]
fn the_azure_clis_what_if_formatter_prints_the_answer() {
    let Some(python) = az_python() else { return };
    let mut host = MemoryHost::new();
    Deployment::prepare(template(vnet_template("10.0.0.0/16")), Map::new(), ctx("w")).unwrap().execute(&mut host);
    host.insert(json!({"id": id("Microsoft.Network/virtualNetworks/other"), "name": "other", "type": "Microsoft.Network/virtualNetworks", "properties": {}}));
    let mut t = vnet_template("10.1.0.0/16");
    t["resources"].as_array_mut().unwrap().push(json!({"type": "Microsoft.Network/privateDnsZones", "apiVersion": "2020-06-01", "name": "z", "location": "global"}));
    let answer = what_if(t, Mode::Incremental, &mut host).to_json();
    let script = "import json, sys\nimport azure.mgmt.resource.deployments.models as M\nfrom azure.cli.command_modules.resource._formatters import format_what_if_operation_result\nr = M.WhatIfOperationResult.deserialize(json.load(sys.stdin))\nprint(format_what_if_operation_result(r, enable_color=False))\n";
    let mut child = Command::new(python)
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(answer.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("Scope: /subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/secureacrsetup"),
        "{text}"
    );
    assert!(text.contains("+ Microsoft.Network/privateDnsZones/z [2020-06-01]"), "{text}");
    assert!(text.contains("~ Microsoft.Network/virtualNetworks/v [2023-04-01]"), "{text}");
    assert!(text.contains("~ 0: \"10.0.0.0/16\" => \"10.1.0.0/16\""), "{text}");
    assert!(text.contains("= Microsoft.Web/sites/app [2022-03-01]"), "{text}");
    assert!(text.contains("* Microsoft.Network/virtualNetworks/other"), "{text}");
    assert!(text.contains("Resource changes: 1 to create, 1 to modify, 1 no change, 1 to ignore."), "{text}");
}
