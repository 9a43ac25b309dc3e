//! `Microsoft.ContainerRegistry`: registries, their admin credentials and private
//! endpoint connections, with ACR's SKU rules (docs/azure.md D).

use serde_json::{Value, json};

use super::body::{bool_at, str_at};
use super::error::ArmError;
use super::http::ArmResponse;
use super::kind::{Ctx, Kind, Loc, ProviderAction, Read};
use super::network::set_connection_status;
use super::public_ip::new_public_ips;
use super::regions::normalize_location;
use super::resources::{not_found, strip_private};
use super::service::Arm;
use crate::model::{PRIVATE, ResourceId, Tx, net};

/// The kinds of this provider.
pub(super) static KINDS: &[&Kind] = &[&REGISTRY, &CONNECTION];

/// Its subscription-level actions.
pub(super) static ACTIONS: &[ProviderAction] =
    &[ProviderAction { namespace: "Microsoft.ContainerRegistry", name: "checkNameAvailability", run: check_name }];

static REGISTRY: Kind = Kind {
    canonical: "Microsoft.ContainerRegistry/registries",
    tracked: true,
    loc: Loc::Region,
    put: put_registry,
    render: render_registry,
    action: registry_action,
    ..Kind::BASE
};

/// Connections are stored as children of the registry; the private endpoint creates
/// and removes them, clients approve or reject them with PUT.
static CONNECTION: Kind = Kind {
    canonical: "Microsoft.ContainerRegistry/registries/privateEndpointConnections",
    tracked: false,
    loc: Loc::None,
    put: put_connection,
    delete: |_, tx, conn, _| {
        // Deleting the connection from the registry side leaves the endpoint
        // "Disconnected", as in Azure.
        if let Some(pe) = conn["properties"]["privateEndpoint"]["id"].as_str().and_then(|i| ResourceId::parse(i).ok())
            && let Some(mut v) = tx.get(&pe)
        {
            set_connection_status(&mut v, "Disconnected", "Deleted by the registry owner");
            tx.put(v);
        }
        Ok(())
    },
    ..Kind::BASE
};

const SKUS: [&str; 3] = ["Basic", "Standard", "Premium"];

/// Registry name rule: 5–50 alphanumerics.
fn valid_name(name: &str) -> bool {
    (5..=50).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric())
}

fn put_registry(ctx: &Ctx, tx: &mut Tx, id: &str, body: Value, existing: Option<&Value>) -> Result<Value, ArmError> {
    let name = ctx.id.name();
    if existing.is_none() && !valid_name(name) {
        return Err(ArmError::bad_name(
            name,
            "Registry names may contain only alpha numeric characters and must be between 5 and 50 characters.",
        ));
    }
    // The name is a DNS name (`<name>.azurecr.io`): unique across Azure, not per group.
    if existing.is_none() && name_taken(tx, name) {
        return Err(ArmError::registry_name_taken(name));
    }
    let sku = match str_at(&body, "/sku/name")? {
        Some(s) => SKUS.iter().find(|k| k.eq_ignore_ascii_case(s)).map(|s| s.to_string()).ok_or_else(|| {
            ArmError::invalid_content(format!("The SKU '{s}' is invalid. Allowed: Basic, Standard, Premium."))
                .with_target("sku.name")
        })?,
        None => existing
            .and_then(|e| e["sku"]["name"].as_str().map(str::to_string))
            .ok_or_else(|| ArmError::invalid_content("The sku property is required.").with_target("sku"))?,
    };
    let old = existing.map(|e| e["properties"].clone()).unwrap_or_else(|| json!({}));
    let flag = |ptr: &str, default: bool| -> Result<bool, ArmError> {
        Ok(bool_at(&body, ptr)?
            .or_else(|| old.pointer(ptr.trim_start_matches("/properties")).and_then(Value::as_bool))
            .unwrap_or(default))
    };
    let admin = flag("/properties/adminUserEnabled", false)?;
    let data_endpoint = flag("/properties/dataEndpointEnabled", false)?;
    let anonymous = flag("/properties/anonymousPullEnabled", false)?;
    // Set at creation only (Azure ignores it on update): Enabled or Disabled.
    let zone_redundancy = match (existing, str_at(&body, "/properties/zoneRedundancy")?) {
        (Some(_), _) | (None, None) => old["zoneRedundancy"].as_str().unwrap_or("Disabled").to_string(),
        (None, Some(z)) => ["Enabled", "Disabled"]
            .into_iter()
            .find(|x| x.eq_ignore_ascii_case(z))
            .ok_or_else(|| {
                ArmError::invalid_content(format!("zoneRedundancy '{z}' is invalid; use Enabled or Disabled."))
                    .with_target("properties.zoneRedundancy")
            })?
            .to_string(),
    };
    let public_access = match str_at(&body, "/properties/publicNetworkAccess")? {
        Some(s) if s.eq_ignore_ascii_case("Enabled") => "Enabled",
        Some(s) if s.eq_ignore_ascii_case("Disabled") => "Disabled",
        Some(s) => {
            return Err(ArmError::invalid_content(format!(
                "publicNetworkAccess '{s}' is invalid; use Enabled or Disabled."
            ))
            .with_target("properties.publicNetworkAccess"));
        }
        None => {
            if old["publicNetworkAccess"] == "Disabled" {
                "Disabled"
            } else {
                "Enabled"
            }
        }
    };
    if public_access == "Disabled" && sku != "Premium" {
        return Err(ArmError::acr_public_access_sku(&sku));
    }
    let rules = match body.pointer("/properties/networkRuleSet").filter(|v| !v.is_null()) {
        Some(r) => validate_rules(r)?,
        None => old.get("networkRuleSet").cloned().unwrap_or_else(|| json!({"defaultAction": "Allow", "ipRules": []})),
    };
    let restrictive = rules["defaultAction"] == "Deny" || rules["ipRules"].as_array().is_some_and(|a| !a.is_empty());
    if restrictive && sku != "Premium" {
        return Err(ArmError::acr_network_rules_sku(&sku));
    }
    if data_endpoint && sku != "Premium" {
        return Err(ArmError::bad_request(format!(
            "Dedicated data endpoints are not supported for the SKU {sku}. They are only supported for Premium registries."
        )));
    }
    if sku != "Premium" && has_connections(tx, id) {
        return Err(ArmError::bad_request(format!(
            "The registry has private endpoint connections; it cannot be moved to the SKU {sku}. Delete them first."
        )));
    }
    let bypass = match str_at(&body, "/properties/networkRuleBypassOptions")? {
        Some(s) if s.eq_ignore_ascii_case("AzureServices") => "AzureServices",
        Some(s) if s.eq_ignore_ascii_case("None") => "None",
        Some(s) => {
            return Err(ArmError::invalid_content(format!(
                "networkRuleBypassOptions '{s}' is invalid; use AzureServices or None."
            )));
        }
        None => old["networkRuleBypassOptions"].as_str().unwrap_or("AzureServices"),
    };
    let location = body["location"]
        .as_str()
        .map(normalize_location)
        .or_else(|| existing.and_then(|e| e["location"].as_str().map(str::to_string)))
        .unwrap_or_default();
    let login = format!("{}.azurecr.io", name.to_ascii_lowercase());
    let key = id.to_ascii_lowercase();
    let private = match existing {
        Some(e) => e[PRIVATE].clone(),
        None => {
            // The login server's and the data endpoint's public addresses.
            let ips = new_public_ips(tx, &key, 2);
            json!({"publicIps": ips, "passwordGen": [0, 0]})
        }
    };
    let data_hosts: Vec<String> = if data_endpoint {
        vec![format!("{}.{}.data.azurecr.io", name.to_ascii_lowercase(), location)]
    } else {
        Vec::new()
    };
    Ok(json!({
        "sku": {"name": sku, "tier": sku},
        "properties": {
            "loginServer": login,
            "creationDate": old.get("creationDate").cloned().unwrap_or_else(|| json!(now_rfc3339())),
            "provisioningState": "Succeeded",
            "adminUserEnabled": admin,
            "publicNetworkAccess": public_access,
            "networkRuleSet": rules,
            "networkRuleBypassOptions": bypass,
            "dataEndpointEnabled": data_endpoint,
            "dataEndpointHostNames": data_hosts,
            "anonymousPullEnabled": anonymous,
            "zoneRedundancy": zone_redundancy,
            "policies": {
                "quarantinePolicy": {"status": "disabled"},
                "trustPolicy": {"type": "Notary", "status": "disabled"},
                "retentionPolicy": {"days": 7, "status": "disabled"},
                "exportPolicy": {"status": "enabled"},
            },
            "encryption": {"status": "disabled"},
            "status": null,
        },
        PRIVATE: private,
    }))
}

/// Whether a registry of this name exists anywhere (names ignore case).
fn name_taken(tx: &Tx, name: &str) -> bool {
    !tx.filter(|v| v["type"] == REGISTRY.canonical && v["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .is_empty()
}

fn validate_rules(r: &Value) -> Result<Value, ArmError> {
    let action = match r["defaultAction"].as_str() {
        Some(s) if s.eq_ignore_ascii_case("Allow") => "Allow",
        Some(s) if s.eq_ignore_ascii_case("Deny") => "Deny",
        None => "Allow",
        Some(s) => {
            return Err(ArmError::invalid_content(format!(
                "networkRuleSet.defaultAction '{s}' is invalid; use Allow or Deny."
            )));
        }
    };
    let mut rules = Vec::new();
    for rule in r["ipRules"].as_array().into_iter().flatten() {
        let value = rule["value"].as_str().or_else(|| rule["ipAddressOrRange"].as_str()).unwrap_or_default();
        let cidr = net::Cidr::parse_lenient(value).ok_or_else(|| {
            ArmError::bad_request(format!("Invalid IP address or range '{value}' in networkRuleSet.ipRules."))
                .with_target("properties.networkRuleSet.ipRules")
        })?;
        rules.push(
            json!({"action": "Allow", "value": if cidr.len == 32 { cidr.addr.to_string() } else { cidr.to_string() }}),
        );
    }
    if rules.len() > 200 {
        return Err(ArmError::bad_request("A registry can have at most 200 IP rules."));
    }
    Ok(json!({"defaultAction": action, "ipRules": rules}))
}

fn has_connections(r: &dyn Read, registry_id: &str) -> bool {
    !r.scan_prefix(&format!("{}/privateendpointconnections/", registry_id.to_ascii_lowercase())).is_empty()
}

fn render_registry(_: &Ctx, r: &dyn Read, mut reg: Value) -> Value {
    let key = reg["id"].as_str().unwrap_or_default().to_ascii_lowercase();
    let conns: Vec<Value> =
        r.scan_prefix(&format!("{key}/privateendpointconnections/")).into_iter().map(strip_private).collect();
    reg["properties"]["privateEndpointConnections"] = json!(conns);
    reg
}

fn registry_action(
    _: &Ctx,
    tx: &mut Tx,
    action: &str,
    reg: &Value,
    body: &Value,
) -> Option<Result<ArmResponse, ArmError>> {
    let key = reg["id"].as_str().unwrap_or_default().to_ascii_lowercase();
    Some(match action {
        "listcredentials" => credentials(reg, &key),
        "regeneratecredential" => (|| {
            let which = match body["name"].as_str() {
                Some(n) if n.eq_ignore_ascii_case("password") => 0,
                Some(n) if n.eq_ignore_ascii_case("password2") => 1,
                _ => {
                    return Err(
                        ArmError::invalid_content("'name' must be 'password' or 'password2'").with_target("name")
                    );
                }
            };
            let mut r = reg.clone();
            let g = r[PRIVATE]["passwordGen"][which].as_u64().unwrap_or(0);
            r[PRIVATE]["passwordGen"][which] = json!(g + 1);
            tx.put(r.clone());
            credentials(&r, &key)
        })(),
        "listusages" => Ok(ArmResponse::json(
            200,
            &json!({"value": [
                {"name": "Size", "limit": 536_870_912_000u64, "currentValue": 0, "unit": "Bytes"},
                {"name": "Webhooks", "limit": 500, "currentValue": 0, "unit": "Count"},
            ]}),
        )),
        _ => return None,
    })
}

/// The admin user's current passwords, `None` when the admin user is disabled.
pub fn admin_passwords(reg: &Value) -> Option<[String; 2]> {
    if reg["properties"]["adminUserEnabled"] != true {
        return None;
    }
    let key = reg["id"].as_str().unwrap_or_default().to_ascii_lowercase();
    let g = |i: usize| reg[PRIVATE]["passwordGen"][i].as_u64().unwrap_or(0);
    Some([net::admin_password(&key, "password", g(0)), net::admin_password(&key, "password2", g(1))])
}

fn credentials(reg: &Value, _key: &str) -> Result<ArmResponse, ArmError> {
    let Some([p1, p2]) = admin_passwords(reg) else {
        return Err(ArmError::bad_request(format!(
            "Admin user is disabled for registry '{}'. Enable the admin user to list or regenerate its credentials.",
            reg["name"].as_str().unwrap_or_default()
        )));
    };
    Ok(ArmResponse::json(
        200,
        &json!({
            "username": reg["name"],
            "passwords": [{"name": "password", "value": p1}, {"name": "password2", "value": p2}],
        }),
    ))
}

fn put_connection(ctx: &Ctx, tx: &mut Tx, _id: &str, body: Value, existing: Option<&Value>) -> Result<Value, ArmError> {
    // Connections are created by private endpoints; a client only changes their state.
    let Some(existing) = existing else {
        return Err(not_found(ctx.id));
    };
    let status = match str_at(&body, "/properties/privateLinkServiceConnectionState/status")? {
        Some(s) => ["Approved", "Rejected", "Pending", "Disconnected"]
            .into_iter()
            .find(|x| x.eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                ArmError::invalid_content(format!(
                    "status '{s}' is invalid; use Approved, Rejected, Pending or Disconnected."
                ))
            })?,
        None => existing["properties"]["privateLinkServiceConnectionState"]["status"].as_str().unwrap_or("Approved"),
    };
    let description =
        str_at(&body, "/properties/privateLinkServiceConnectionState/description")?.unwrap_or_default().to_string();
    let mut v = existing.clone();
    v["properties"]["privateLinkServiceConnectionState"] =
        json!({"status": status, "description": description, "actionsRequired": "None"});
    if let Some(pe) = v["properties"]["privateEndpoint"]["id"].as_str().and_then(|i| ResourceId::parse(i).ok())
        && let Some(mut p) = tx.get(&pe)
    {
        set_connection_status(&mut p, status, &description);
        tx.put(p);
    }
    Ok(v)
}

/// `POST /subscriptions/{s}/providers/Microsoft.ContainerRegistry/checkNameAvailability`.
pub(super) fn check_name(arm: &Arm, body: &Value) -> Result<ArmResponse, ArmError> {
    let name = body["name"].as_str().ok_or_else(|| ArmError::invalid_content("'name' is required"))?;
    let out = if !valid_name(name) {
        json!({"nameAvailable": false, "reason": "Invalid", "message": "Registry names may contain only alpha numeric characters and must be between 5 and 50 characters."})
    } else if !arm
        .store
        .filter(|_, v| {
            v["type"] == "Microsoft.ContainerRegistry/registries"
                && v["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .is_empty()
    {
        json!({"nameAvailable": false, "reason": "AlreadyExists", "message": format!("The registry {name} is already in use.")})
    } else {
        json!({"nameAvailable": true})
    };
    Ok(ArmResponse::json(200, &out))
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}
