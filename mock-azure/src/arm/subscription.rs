//! What lives above resource groups: tenants, the one subscription, its locations, its
//! resource groups (the listing), the providers it has registered, and POST actions on a
//! provider namespace (`checkNameAvailability`).

use serde_json::{Value, json};

use super::body::parse_body;
use super::error::ArmError;
use super::http::{ArmRequest, ArmResponse};
use super::kind::Kinds;
use super::regions::REGIONS;
use super::resources::strip_private;
use super::route::Route;
use super::service::Arm;

/// Answers a subscription-level route (`Tenants`, `Subscriptions`, `Subscription`,
/// `Locations`, `Groups`, `Providers`).
pub(super) fn handle(arm: &Arm, kinds: &Kinds, req: &ArmRequest, route: Route) -> Result<ArmResponse, ArmError> {
    let m = req.method.as_str();
    if m != "GET" {
        return Err(ArmError::method_not_allowed(m));
    }
    match route {
        Route::Tenants => Ok(ArmResponse::json(200, &json!({"value": [tenant_json(arm)]}))),
        Route::Subscriptions => Ok(ArmResponse::json(200, &json!({"value": [subscription_json(arm)]}))),
        Route::Subscription(s) => {
            arm.check_subscription(&s)?;
            Ok(ArmResponse::json(200, &subscription_json(arm)))
        }
        Route::Locations(s) => {
            arm.check_subscription(&s)?;
            let values: Vec<Value> = REGIONS
                .iter()
                .map(|(n, d)| {
                    json!({
                        "id": format!("/subscriptions/{s}/locations/{n}"), "name": n, "type": "Region",
                        "displayName": d, "regionalDisplayName": d,
                        "metadata": {"regionType": "Physical", "regionCategory": "Recommended"},
                    })
                })
                .collect();
            Ok(ArmResponse::json(200, &json!({ "value": values })))
        }
        Route::Groups(s) => {
            arm.check_subscription(&s)?;
            let prefix = format!("/subscriptions/{}/resourcegroups/", s.to_ascii_lowercase());
            let groups: Vec<Value> = arm
                .store
                .scan_prefix(&prefix)
                .into_iter()
                .filter(|v| v["type"] == "Microsoft.Resources/resourceGroups")
                .map(strip_private)
                .collect();
            Ok(ArmResponse::json(200, &json!({ "value": groups })))
        }
        Route::Providers { sub, ns } => {
            arm.check_subscription(&sub)?;
            providers(arm, kinds, ns.as_deref())
        }
        _ => Err(ArmError::no_route(&req.path)),
    }
}

/// `POST /subscriptions/{s}/providers/{ns}/{name}`: a provider's action.
pub(super) fn provider_action(
    arm: &Arm,
    kinds: &Kinds,
    req: &ArmRequest,
    sub: &str,
    ns: &str,
    name: &str,
) -> Result<ArmResponse, ArmError> {
    arm.check_subscription(sub)?;
    kinds.namespace(ns)?;
    let body = parse_body(req)?;
    match kinds.action(ns, name) {
        Some(action) => (action.run)(arm, &body),
        None => Err(ArmError::unknown_type(name, ns, &req.query_param("api-version").unwrap_or_default())),
    }
}

fn tenant_json(arm: &Arm) -> Value {
    let t = &arm.cfg.tenant_id;
    json!({
        "id": format!("/tenants/{t}"),
        "tenantId": t,
        "countryCode": "US",
        "displayName": "pullsim",
        "domains": ["pullsim.onmicrosoft.com"],
        "tenantCategory": "Home",
        "defaultDomain": "pullsim.onmicrosoft.com",
        "tenantType": "AAD",
    })
}

fn subscription_json(arm: &Arm) -> Value {
    let s = &arm.cfg.subscription_id;
    json!({
        "id": format!("/subscriptions/{s}"),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": s,
        "tenantId": arm.cfg.tenant_id,
        "displayName": arm.cfg.subscription_name,
        "state": "Enabled",
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
    })
}

/// The api-versions a namespace's types are offered at, newest first (what `az resource`
/// picks from when no `--api-version` is given).
fn api_versions(ns: &str, resource_type: &str) -> &'static [&'static str] {
    match ns.to_ascii_lowercase().as_str() {
        "microsoft.web" => &["2024-11-01", "2024-04-01", "2023-12-01", "2022-03-01", "2021-02-01", "2020-12-01"],
        "microsoft.containerregistry" => &["2023-07-01", "2023-01-01-preview", "2021-09-01", "2019-12-01-preview"],
        "microsoft.network" if resource_type.to_ascii_lowercase().starts_with("privatednszones") => {
            &["2024-06-01", "2020-06-01", "2018-09-01"]
        }
        "microsoft.network" => &["2024-05-01", "2023-09-01", "2022-07-01", "2021-05-01"],
        "microsoft.managedidentity" => &["2023-01-31", "2018-11-30"],
        "microsoft.authorization" => &["2022-04-01", "2020-04-01-preview"],
        "microsoft.resources" => &["2024-03-01", "2022-09-01", "2021-04-01"],
        _ => &["2023-01-01"],
    }
}

/// One registered provider: its resource types (from the table of kinds) with their
/// api-versions and locations.
fn provider_json(arm: &Arm, kinds: &Kinds, ns: &str) -> Value {
    let sub = &arm.cfg.subscription_id;
    let locations: Vec<&str> = REGIONS.iter().map(|(_, d)| *d).collect();
    let mut types: Vec<String> = kinds
        .kinds
        .iter()
        .flat_map(|ks| ks.iter())
        .filter_map(|k| {
            k.canonical.split_once('/').filter(|(n, _)| n.eq_ignore_ascii_case(ns)).map(|(_, t)| t.to_string())
        })
        .collect();
    if ns.eq_ignore_ascii_case("Microsoft.Resources") {
        types.extend(["deployments", "deployments/operations", "deployments/operationStatuses"].map(String::from));
    }
    if let Some(o) = kinds.opaque {
        types.extend(
            o.types.iter().filter_map(|t| {
                t.split_once('/').filter(|(n, _)| n.eq_ignore_ascii_case(ns)).map(|(_, t)| t.to_string())
            }),
        );
    }
    let resource_types: Vec<Value> = types
        .iter()
        .map(|t| json!({"resourceType": t, "locations": locations, "apiVersions": api_versions(ns, t), "capabilities": "None"}))
        .collect();
    json!({
        "id": format!("/subscriptions/{sub}/providers/{ns}"),
        "namespace": ns,
        "registrationState": "Registered",
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": resource_types,
    })
}

fn providers(arm: &Arm, kinds: &Kinds, ns: Option<&str>) -> Result<ArmResponse, ArmError> {
    match ns {
        None => {
            let all = kinds.namespaces.iter().chain(kinds.opaque.map_or(&[][..], |o| o.namespaces));
            Ok(ArmResponse::json(200, &json!({"value": all.map(|n| provider_json(arm, kinds, n)).collect::<Vec<_>>()})))
        }
        Some(ns) => Ok(ArmResponse::json(200, &provider_json(arm, kinds, kinds.namespace(ns)?))),
    }
}

/// `GET /providers/{ns}/operations`: the operations a provider offers (`{type}/read`,
/// `write`, `delete` per type), in one page.
pub(super) fn provider_operations(kinds: &Kinds, ns: &str) -> Result<ArmResponse, ArmError> {
    let ns = kinds.namespace(ns)?;
    let mut ops = Vec::new();
    for k in kinds.kinds.iter().flat_map(|ks| ks.iter()) {
        if !k.canonical.split('/').next().is_some_and(|n| n.eq_ignore_ascii_case(ns)) {
            continue;
        }
        for (verb, what) in [("read", "Read"), ("write", "Create or Update"), ("delete", "Delete")] {
            let ty = k.canonical.split_once('/').map_or("", |(_, t)| t);
            ops.push(json!({
                "name": format!("{}/{verb}", k.canonical),
                "isDataAction": false,
                "display": {"provider": ns, "resource": ty, "operation": format!("{what} {ty}"), "description": format!("{what} {ty}.")},
                "origin": "user,system",
            }));
        }
    }
    Ok(ArmResponse::json(200, &json!({ "value": ops })))
}
