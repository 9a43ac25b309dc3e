//! `POST {group}/exportTemplate` (`az group export`): the group's resources, read through
//! ARM as a client reads them, written as a template by the engine's export. Left out, as
//! they are not the user's to deploy: what ARM creates on another resource's behalf (a
//! private endpoint's network interface, a registry's private endpoint connections, the
//! record sets a zone group writes), deployment records, and the sites' app settings and
//! connection strings (secrets GET never shows).

use arm_template::{ExportResource, export_template};
use serde_json::{Value, json};

use super::super::error::ArmError;
use super::super::http::{ArmRequest, ArmResponse};
use super::super::kind::Kinds;
use super::super::service::Arm;
use super::host::{ArmHost, Call, read_only};
use crate::model::ResourceId;

/// The api-version the export writes for a type (and reads it at): one the fake serves and
/// Azure documents for the properties pullsim keeps.
fn api_version(full_type: &str) -> &'static str {
    let t = full_type.to_ascii_lowercase();
    match t.split('/').next().unwrap_or_default() {
        "microsoft.web" => "2024-11-01",
        "microsoft.containerregistry" => "2023-07-01",
        "microsoft.network" if t.starts_with("microsoft.network/privatednszones") => "2024-06-01",
        "microsoft.network" => "2024-05-01",
        "microsoft.managedidentity" => "2023-01-31",
        "microsoft.authorization" => "2022-04-01",
        _ => "2023-01-01",
    }
}

/// Whether ARM made this resource for another one (so a template must not).
fn made_by_arm(v: &Value, zone_group_records: &[String]) -> bool {
    let t = v["type"].as_str().unwrap_or_default().to_ascii_lowercase();
    let id = v["id"].as_str().unwrap_or_default().to_ascii_lowercase();
    match t.as_str() {
        "microsoft.resources/deployments" => true,
        "microsoft.network/networkinterfaces" => v["properties"]["privateEndpoint"]["id"].is_string(),
        "microsoft.containerregistry/registries/privateendpointconnections" => true,
        // Secrets are never shown on GET: an export that wrote them empty would wipe them.
        "microsoft.web/sites/config" => {
            id.ends_with("/config/appsettings") || id.ends_with("/config/connectionstrings")
        }
        _ => zone_group_records.contains(&id),
    }
}

/// The export of a group.
pub(super) fn group(
    arm: &Arm,
    kinds: &Kinds,
    call: Call<'_>,
    req: &ArmRequest,
    group: &ResourceId,
) -> Result<ArmResponse, ArmError> {
    let stored = arm.store.scan_prefix(&format!("{}/", group.key()));
    // The record sets each zone group wrote: `{zone id}/A/{name}`.
    let mut zone_group_records = Vec::new();
    for zg in stored.iter().filter(|v| v["type"] == "Microsoft.Network/privateEndpoints/privateDnsZoneGroups") {
        for cfg in zg["properties"]["privateDnsZoneConfigs"].as_array().into_iter().flatten() {
            let zone = cfg["properties"]["privateDnsZoneId"].as_str().unwrap_or_default();
            for rs in cfg["properties"]["recordSets"].as_array().into_iter().flatten() {
                let ty = rs["recordType"].as_str().unwrap_or("A");
                let name = rs["recordSetName"].as_str().unwrap_or_default();
                zone_group_records.push(format!("{zone}/{ty}/{name}").to_ascii_lowercase());
            }
        }
    }
    let host = ArmHost::new(arm, kinds, call, req);
    let mut resources = Vec::new();
    for v in &stored {
        let ty = v["type"].as_str().unwrap_or_default();
        if made_by_arm(v, &zone_group_records) || kinds.get(&ty.to_ascii_lowercase()).is_none() {
            continue;
        }
        let id = v["id"].as_str().unwrap_or_default();
        let api = api_version(ty);
        // Read as a client would, so the export is what GET shows at that api-version.
        let resp = host.send("GET", id, api, None);
        if resp.status == 200 {
            resources.push(ExportResource { resource: resp.json_body(), api_version: api.to_string() });
        }
    }
    let template = export_template(&resources, &|t| read_only(t));
    Ok(ArmResponse::json(200, &json!({ "template": template })))
}
