//! Identities and access: user-assigned managed identities, the built-in role
//! definitions (from [`super::roles`]) and role assignments, kept at exactly the scope
//! they were made at (subscription, resource group or resource). What they grant is
//! decided in `authz` (ARM) and the ACR's auth, from the same table.

use serde_json::{Value, json};

use super::authz::covers;
use super::body::str_at;
use super::error::ArmError;
use super::http::{ArmRequest, ArmResponse};
use super::kind::{Ctx, Kind, Loc};
use super::roles::{self, ROLES, Role};
use super::service::Arm;
use crate::model::{ResourceId, Tx, net};

/// The kinds of this provider (Microsoft.ManagedIdentity and Microsoft.Authorization).
pub(super) static KINDS: &[&Kind] = &[&IDENTITY, &ASSIGNMENT, &DEFINITION];

static IDENTITY: Kind = Kind {
    canonical: "Microsoft.ManagedIdentity/userAssignedIdentities",
    tracked: true,
    loc: Loc::Region,
    put: |ctx, _, id, _, _| {
        let key = id.to_ascii_lowercase();
        Ok(json!({"properties": {
            "tenantId": ctx.arm.cfg.tenant_id,
            "principalId": net::guid(&["uami-principal", &key]),
            "clientId": net::guid(&["uami-client", &key]),
        }}))
    },
    ..Kind::BASE
};

static ASSIGNMENT: Kind = Kind {
    canonical: "Microsoft.Authorization/roleAssignments",
    tracked: false,
    loc: Loc::None,
    put: put_assignment,
    list: Some(list_assignments),
    delete_returns_body: true,
    ..Kind::BASE
};

static DEFINITION: Kind = Kind {
    canonical: "Microsoft.Authorization/roleDefinitions",
    tracked: false,
    loc: Loc::None,
    put: |_, _, _, _, _| Err(ArmError::custom_role_definition()),
    delete: |_, _, _, _| Err(ArmError::builtin_role_delete()),
    get: Some(|ctx| definition(ctx.arm, ctx.id).ok_or_else(|| ArmError::role_definition_missing(404, ctx.id.name()))),
    list: Some(list_definitions),
    ..Kind::BASE
};

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12]) && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn role_json(sub: &str, r: &Role) -> Value {
    json!({
        "id": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{}", r.id),
        "name": r.id,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": r.name, "type": "BuiltInRole", "description": r.description, "assignableScopes": ["/"],
            "permissions": [{"actions": r.actions, "notActions": r.not_actions, "dataActions": r.data_actions, "notDataActions": r.not_data_actions}],
        },
    })
}

/// Whether `principal_id` is a principal of this tenant: a service principal, a site's
/// system-assigned identity, or a user-assigned identity.
fn principal_exists(arm: &Arm, tx: &Tx, principal_id: &str) -> bool {
    if arm.cfg.is_service_principal(principal_id) {
        return true;
    }
    !tx.filter(|v| {
        v["identity"]["principalId"].as_str().is_some_and(|p| p.eq_ignore_ascii_case(principal_id))
            || (v["type"] == IDENTITY.canonical
                && v["properties"]["principalId"].as_str().is_some_and(|p| p.eq_ignore_ascii_case(principal_id)))
    })
    .is_empty()
}

fn put_assignment(ctx: &Ctx, tx: &mut Tx, _: &str, body: Value, existing: Option<&Value>) -> Result<Value, ArmError> {
    if existing.is_some() {
        return Err(ArmError::role_assignment_update());
    }
    let name = ctx.id.name();
    if !is_guid(name) {
        return Err(ArmError::role_assignment_id(name));
    }
    let def = str_at(&body, "/properties/roleDefinitionId")?
        .ok_or_else(|| ArmError::invalid_content("properties.roleDefinitionId is required"))?;
    let role = roles::by_id(def)
        .ok_or_else(|| ArmError::role_definition_missing(400, def.rsplit('/').next().unwrap_or(def)))?;
    let principal = str_at(&body, "/properties/principalId")?
        .ok_or_else(|| ArmError::invalid_content("properties.principalId is required"))?;
    if !principal_exists(ctx.arm, tx, principal) {
        return Err(ArmError::principal_not_found(principal, &ctx.arm.cfg.tenant_id));
    }
    // Exactly where it was made: the extended resource, else the resource group, else
    // the subscription.
    let scope = match (&ctx.id.scope, &ctx.id.resource_group) {
        (Some(s), _) => s.as_str().to_string(),
        (None, Some(rg)) => format!("/subscriptions/{}/resourceGroups/{rg}", ctx.id.subscription),
        (None, None) => format!("/subscriptions/{}", ctx.id.subscription),
    };
    let scope_key = scope.to_ascii_lowercase();
    let dup = tx.filter(|v| {
        v["type"] == ASSIGNMENT.canonical
            && v["properties"]["scope"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(&scope_key))
            && v["properties"]["principalId"].as_str().is_some_and(|p| p.eq_ignore_ascii_case(principal))
            && v["properties"]["roleDefinitionId"].as_str().is_some_and(|d| d.to_ascii_lowercase().ends_with(role.id))
    });
    if !dup.is_empty() {
        return Err(ArmError::role_assignment_exists());
    }
    Ok(json!({"properties": {
        "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{}", ctx.id.subscription, role.id),
        "principalId": principal,
        "principalType": body["properties"]["principalType"].as_str().unwrap_or("ServicePrincipal"),
        "scope": scope,
        "condition": null,
        "createdOn": "2021-07-03T00:00:00Z",
    }}))
}

/// `GET {scope}/providers/Microsoft.Authorization/roleDefinitions`: the built-in roles,
/// the same at every scope (`$filter=roleName eq '…'`).
fn list_definitions(ctx: &Ctx, req: &ArmRequest, _: &ResourceId) -> Result<ArmResponse, ArmError> {
    let filter = req.query_param("$filter").unwrap_or_default();
    let wanted = filter_value(&filter, "roleName");
    let roles: Vec<Value> = ROLES
        .iter()
        .filter(|r| wanted.as_ref().is_none_or(|w| w.eq_ignore_ascii_case(r.name)))
        .map(|r| role_json(&ctx.arm.cfg.subscription_id, r))
        .collect();
    Ok(ArmResponse::json(200, &json!({ "value": roles })))
}

/// `GET {scope}/providers/Microsoft.Authorization/roleAssignments`: assignments at the
/// scope, above it (inherited) and, without `atScope()`, below it.
fn list_assignments(ctx: &Ctx, req: &ArmRequest, scope: &ResourceId) -> Result<ArmResponse, ArmError> {
    let filter = req.query_param("$filter").unwrap_or_default();
    let principal = filter_value(&filter, "principalId");
    let at_scope = filter.to_ascii_lowercase().contains("atscope()");
    let skey = scope.key();
    let values: Vec<Value> = ctx.arm.store.filter(|_, v| {
        if v["type"] != ASSIGNMENT.canonical {
            return false;
        }
        let s = v["properties"]["scope"].as_str().unwrap_or_default().to_ascii_lowercase();
        let related = covers(&s, &skey) || (!at_scope && covers(&skey, &s));
        related
            && principal
                .as_ref()
                .is_none_or(|p| v["properties"]["principalId"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(p)))
    });
    Ok(ArmResponse::json(200, &json!({ "value": values })))
}

/// `roleName eq 'AcrPull'` → `AcrPull`.
fn filter_value(filter: &str, field: &str) -> Option<String> {
    let lower = filter.to_ascii_lowercase();
    let at = lower.find(&format!("{} eq '", field.to_ascii_lowercase()))?;
    let rest = &filter[at + field.len() + 5..];
    rest.split_once('\'').map(|(v, _)| v.to_string())
}

/// Built-in role definitions addressed by ID (`GET .../roleDefinitions/{guid}`).
fn definition(arm: &Arm, id: &ResourceId) -> Option<Value> {
    roles::by_id(id.name()).map(|r| role_json(&arm.cfg.subscription_id, r))
}
