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

fn providers(arm: &Arm, kinds: &Kinds, ns: Option<&str>) -> Result<ArmResponse, ArmError> {
    let sub = &arm.cfg.subscription_id;
    let one = |n: &str| {
        json!({
            "id": format!("/subscriptions/{sub}/providers/{n}"),
            "namespace": n,
            "registrationState": "Registered",
            "registrationPolicy": "RegistrationRequired",
            "resourceTypes": [],
        })
    };
    match ns {
        None => {
            Ok(ArmResponse::json(200, &json!({"value": kinds.namespaces.iter().map(|n| one(n)).collect::<Vec<_>>()})))
        }
        Some(ns) => Ok(ArmResponse::json(200, &one(kinds.namespace(ns)?))),
    }
}
