//! `az group export`: the exported template deploys back, into a new group, to the same
//! resources.

use arm_template::{Context, Deployment, ExportResource, ProvisioningState, ResourceGroup, export_template};
use serde_json::{Map, Value, json};

use crate::support::{GROUP, MemoryHost, NOW, SUB, TENANT, corpus, ctx};

/// Exports everything the host holds (what the host's exportTemplate would pass).
fn export(host: &MemoryHost) -> Value {
    let resources: Vec<ExportResource> = host
        .puts
        .iter()
        .filter_map(|(id, api)| {
            host.get_id(id).map(|r| ExportResource { resource: r.clone(), api_version: api.clone() })
        })
        .collect();
    export_template(&resources, &|ty| host_read_only(ty))
}

fn host_read_only(ty: &str) -> Vec<String> {
    match ty.to_ascii_lowercase().as_str() {
        "microsoft.network/privateendpoints" => {
            vec!["properties.networkInterfaces".into(), "properties.customDnsConfigs".into()]
        }
        _ => vec![],
    }
}

/// The resources of a host, by ID relative to their group, with the group name in values
/// replaced so two groups compare.
fn relative(host: &MemoryHost, group: &str) -> Vec<(String, Value)> {
    let prefix = format!("/subscriptions/{SUB}/resourcegroups/{}/", group.to_ascii_lowercase());
    let mut out: Vec<(String, Value)> = host
        .resources
        .iter()
        .filter_map(|(k, v)| {
            let rel = k.strip_prefix(&prefix)?.to_string();
            let text = v.to_string().replace(&format!("/resourceGroups/{group}/"), "/resourceGroups/G/");
            Some((rel, serde_json::from_str(&text).unwrap()))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn an_export_deploys_back_to_the_same_resources_in_a_new_group() {
    let Some(c) = corpus("aqt-webapp-pe-vnet-injection-2020") else { return };
    let mut first = MemoryHost::new();
    let r = Deployment::prepare(c.template, c.parameters, ctx("original")).unwrap().execute(&mut first);
    assert_eq!(r.provisioning_state, ProvisioningState::Succeeded);
    let exported = export(&first);
    assert_eq!(
        exported["parameters"]["sites_pullsim_pe_site1_name"],
        json!({"defaultValue": "pullsim-pe-site1", "type": "String"})
    );
    assert_eq!(exported["parameters"]["virtualNetworks_vnet1_name"]["defaultValue"], json!("vnet1"));

    let text = exported.to_string();
    let t = arm_template::Template::parse(&text).unwrap();
    let copy = Context::resource_group(TENANT, SUB, ResourceGroup::new("copygroup", "westeurope"), "redeploy", NOW);
    let d = Deployment::prepare(t, Map::new(), copy).unwrap();
    let mut second = MemoryHost::new();
    second.groups.push(ResourceGroup::new("copygroup", "westeurope"));
    let r = d.execute(&mut second);
    assert_eq!(r.provisioning_state, ProvisioningState::Succeeded, "{:#?}", r.error);
    let before = relative(&first, GROUP);
    let after = relative(&second, "copygroup");
    assert_eq!(before.iter().map(|(k, _)| k).collect::<Vec<_>>(), after.iter().map(|(k, _)| k).collect::<Vec<_>>());
    assert_eq!(before, after);
}

#[test]
fn an_exported_child_depends_on_its_parent() {
    let Some(c) = corpus("aqt-regional-vnet-integration-2020") else { return };
    let mut host = MemoryHost::new();
    Deployment::prepare(c.template, c.parameters, ctx("original")).unwrap().execute(&mut host);
    let exported = export(&host);
    let config = exported["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == json!("Microsoft.Web/sites/config"))
        .unwrap();
    assert_eq!(config["name"], json!("[concat(parameters('sites_pullsim_regional_2020_name'), '/virtualNetwork')]"));
    assert_eq!(
        config["dependsOn"][0],
        json!("[resourceId('Microsoft.Web/sites', parameters('sites_pullsim_regional_2020_name'))]")
    );
    assert_eq!(
        config["properties"]["subnetResourceId"],
        json!(
            "[resourceId('Microsoft.Network/virtualNetworks/subnets', parameters('virtualNetworks_vnet_name'), 'myappservice')]"
        )
    );
}
