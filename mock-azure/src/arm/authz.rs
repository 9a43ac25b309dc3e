//! Authorization: every ARM request is checked, before anything is read or written,
//! against the caller's role assignments at the addressed scope or any scope above it,
//! as Azure RBAC does; the ACR data plane asks the same question ([`permits`]) of the
//! same table ([`super::roles`]).
//!
//! - **Who calls**: the token's `oid` (object ID): the subscription's service principal,
//!   another principal of `serve --principal`, or a managed identity (tokens from the
//!   platform's MSI endpoint carry the identity's principal). The App Service platform's
//!   own application is first-party and not governed by customer role assignments.
//! - **What it needs**: the operation Azure names for the request —
//!   `{type}/read|write|delete` for a resource (`Microsoft.Resources/subscriptions/resourcegroups/…`
//!   for a group), `{type}/{action}/action` for a POST, `{ns}/checkNameAvailability/read`
//!   for that provider action — at the resource's ID.
//! - **A refusal** is 403 `AuthorizationFailed` naming the caller, the operation and the
//!   scope, answered before the request is looked at (so nothing is written, and a
//!   resource the caller may not see is not revealed to exist: 403, not 404).
//! - **Listings** answer what the caller may read: everything when it may read the
//!   listed type at the listing's scope, else the items it may read one by one (a
//!   principal with Reader on one group lists that group; an empty list when it holds a
//!   role at or below the listing's scope that reads none of them, as `az acr repository
//!   list` meets when it looks a registry up), and 403 when it holds no role there.
//! - Subscription-level reads (the subscription, its locations and providers) need any
//!   role assignment in the subscription; the tenant list and the built-in role
//!   definitions are readable by every caller.
//!
//! The service principal `serve` prints is the subscription's Owner through an ordinary
//! role assignment, made when the store is new or reset (`owner`): it can be listed and
//! deleted like any other, and is not made again once deleted.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::error::ArmError;
use super::http::{ArmRequest, ArmResponse};
use super::kind::Kinds;
use super::roles::{self, ASSIGNMENT_TYPE, Role};
use super::route::Route;
use super::service::{Arm, PLATFORM_CLIENT_ID};
use crate::model::{ResourceId, Store};

/// Who makes a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The App Service platform (first party).
    Platform,
    /// A principal of the tenant, by object ID; `client` is how Azure's messages name it.
    Principal {
        /// Object ID (`oid`).
        oid: String,
        /// The client named in refusals (the application ID, else the object ID).
        client: String,
    },
}

impl Caller {
    /// The caller a verified token's claims name; a token without an object ID is not
    /// one Entra issues.
    pub fn of(claims: &Value) -> Result<Caller, ArmError> {
        if claims["appid"].as_str() == Some(PLATFORM_CLIENT_ID) {
            return Ok(Caller::Platform);
        }
        let oid = claims["oid"].as_str().filter(|o| !o.is_empty()).ok_or_else(ArmError::invalid_token)?;
        Ok(Caller::Principal { oid: oid.to_string(), client: oid.to_string() })
    }
}

/// Every role assignment, by principal (lower case): `(scope key, role)`. Built once per
/// store sequence number.
pub struct Assignments {
    by_principal: HashMap<String, Vec<(String, &'static Role)>>,
}

impl Assignments {
    /// The assignments of the store as it is now.
    pub fn of(store: &Store) -> Arc<Assignments> {
        store.derived(Assignments::build)
    }

    fn build(store: &Store) -> Assignments {
        let mut by_principal: HashMap<String, Vec<(String, &'static Role)>> = HashMap::new();
        for a in store.filter(|_, v| v["type"] == ASSIGNMENT_TYPE) {
            let p = &a["properties"];
            let (Some(principal), Some(scope), Some(role)) =
                (p["principalId"].as_str(), p["scope"].as_str(), p["roleDefinitionId"].as_str().and_then(roles::by_id))
            else {
                continue;
            };
            by_principal.entry(principal.to_ascii_lowercase()).or_default().push((scope_key(scope), role));
        }
        Assignments { by_principal }
    }

    /// The roles `principal` holds at `scope` (a resource ID or scope path), inherited
    /// from above included.
    pub fn roles_at<'a>(&'a self, principal: &str, scope: &str) -> impl Iterator<Item = &'static Role> + 'a {
        let target = scope_key(scope);
        self.by_principal
            .get(&principal.to_ascii_lowercase())
            .into_iter()
            .flatten()
            .filter(move |(s, _)| covers(s, &target))
            .map(|(_, r)| *r)
    }

    /// Whether `principal` may perform the control-plane operation `op` at `scope`.
    pub fn permits(&self, principal: &str, op: &str, scope: &str) -> bool {
        self.roles_at(principal, scope).any(|r| r.permits(op))
    }

    /// Whether `principal` holds any role in subscription `sub`.
    pub fn any_in(&self, principal: &str, sub: &str) -> bool {
        let prefix = scope_key(&format!("/subscriptions/{sub}"));
        self.by_principal
            .get(&principal.to_ascii_lowercase())
            .is_some_and(|v| v.iter().any(|(s, _)| covers(&prefix, s) || covers(s, &prefix)))
    }

    /// Whether `principal` holds any role at `scope` or below it.
    pub fn any_within(&self, principal: &str, scope: &str) -> bool {
        let scope = scope_key(scope);
        self.by_principal.get(&principal.to_ascii_lowercase()).is_some_and(|v| v.iter().any(|(s, _)| covers(&scope, s)))
    }
}

/// Whether `principal` may perform `op` at `scope` now (the ACR data plane's question).
pub fn permits(store: &Store, principal: &str, op: &str, scope: &str) -> bool {
    Assignments::of(store).permits(principal, op, scope)
}

fn scope_key(scope: &str) -> String {
    crate::model::id::normalize_path(scope).to_ascii_lowercase()
}

/// Whether scope `s` covers `target` (both lower-cased paths): equal, or an ancestor
/// at a `/` boundary (`…/rg` does not cover `…/rg2`).
pub fn covers(s: &str, target: &str) -> bool {
    s == "/" || target == s || target.strip_prefix(s).is_some_and(|rest| rest.starts_with('/'))
}

/// What a request needs of its caller.
enum Need {
    /// Nothing (the tenant list, built-in role definitions, the platform's endpoints).
    Nothing,
    /// Some role in the subscription.
    AnyRole { sub: String, op: &'static str },
    /// `op` at `scope`.
    Op { op: String, scope: String },
    /// A listing of `op`-readable items under `scope`.
    List { op: String, scope: String },
    /// A listing of subscriptions: those the caller holds a role in.
    Subscriptions,
}

fn verb(method: &str) -> &'static str {
    match method {
        "PUT" | "PATCH" => "write",
        "DELETE" => "delete",
        _ => "read",
    }
}

/// The operation name of a type (Azure's casing where the table knows the type).
fn type_op(kinds: &Kinds, full_type: &str) -> String {
    if full_type.eq_ignore_ascii_case("Microsoft.Resources/resourceGroups") {
        return "Microsoft.Resources/subscriptions/resourcegroups".to_string();
    }
    kinds.get(&full_type.to_ascii_lowercase()).map(|k| k.canonical.to_string()).unwrap_or_else(|| full_type.to_string())
}

fn need(kinds: &Kinds, req: &ArmRequest, route: &Route) -> Need {
    let m = req.method.as_str();
    let read = |ty: &str| format!("{}/read", type_op(kinds, ty));
    match route {
        // Tenant-level reads any signed-in caller may make.
        Route::Tenants | Route::ProviderOperations(_) => Need::Nothing,
        Route::Subscriptions => Need::Subscriptions,
        Route::Subscription(s) => Need::AnyRole { sub: s.clone(), op: "Microsoft.Resources/subscriptions/read" },
        Route::Locations(s) => Need::AnyRole { sub: s.clone(), op: "Microsoft.Resources/subscriptions/locations/read" },
        Route::Providers { sub, .. } => {
            Need::AnyRole { sub: sub.clone(), op: "Microsoft.Resources/subscriptions/providers/read" }
        }
        Route::Groups(s) => Need::List {
            op: "Microsoft.Resources/subscriptions/resourcegroups/read".into(),
            scope: format!("/subscriptions/{s}"),
        },
        Route::Resources { sub, rg } => Need::List {
            op: "Microsoft.Resources/subscriptions/resourceGroups/resources/read".into(),
            scope: match rg {
                Some(rg) => ResourceId::group(sub, rg).as_str().to_string(),
                None => format!("/subscriptions/{sub}"),
            },
        },
        Route::SubscriptionType { sub, ns, name } if m == "POST" => {
            let op = if name.eq_ignore_ascii_case("checkNameAvailability") {
                format!("{ns}/checkNameAvailability/read")
            } else {
                format!("{ns}/{name}/action")
            };
            Need::Op { op, scope: format!("/subscriptions/{sub}") }
        }
        Route::SubscriptionType { sub, ns, name } => {
            Need::List { op: read(&format!("{ns}/{name}")), scope: format!("/subscriptions/{sub}") }
        }
        Route::TypeAtScope { ns, ty, .. }
            if ns.eq_ignore_ascii_case("Microsoft.Authorization") && ty.eq_ignore_ascii_case("roleDefinitions") =>
        {
            Need::Nothing
        }
        Route::TypeAtScope { scope, ns, ty } if kinds.is_extension(ns) => {
            Need::Op { op: read(&format!("{ns}/{ty}")), scope: scope.as_str().to_string() }
        }
        Route::TypeAtScope { scope, ns, ty } => {
            Need::List { op: read(&format!("{ns}/{ty}")), scope: scope.as_str().to_string() }
        }
        Route::Resource(id) if id.full_type().eq_ignore_ascii_case("Microsoft.Authorization/roleDefinitions") => {
            Need::Nothing
        }
        Route::Resource(id) => {
            Need::Op { op: format!("{}/{}", type_op(kinds, &id.full_type()), verb(m)), scope: id.as_str().to_string() }
        }
        Route::Sub { parent, name } if m == "POST" => Need::Op {
            op: format!("{}/{name}/action", type_op(kinds, &parent.full_type())),
            scope: parent.as_str().to_string(),
        },
        Route::Sub { parent, name } => Need::List {
            op: format!("{}/{name}/read", type_op(kinds, &parent.full_type())),
            scope: parent.as_str().to_string(),
        },
    }
}

/// A request authorized for its caller: `answer` runs it; listings come back filtered
/// to what the caller may read.
pub(super) fn authorize(
    arm: &Arm,
    kinds: &Kinds,
    req: &ArmRequest,
    route: &Route,
    caller: &Caller,
    answer: impl FnOnce() -> Result<ArmResponse, ArmError>,
) -> Result<ArmResponse, ArmError> {
    let Caller::Principal { oid, client } = caller else {
        return answer();
    };
    let grants = Assignments::of(&arm.store);
    let refuse = |op: &str, scope: &str| ArmError::authorization_failed(client, oid, op, scope);
    match need(kinds, req, route) {
        Need::Nothing => answer(),
        Need::AnyRole { sub, op } => {
            if grants.any_in(oid, &sub) {
                answer()
            } else {
                Err(refuse(op, &format!("/subscriptions/{sub}")))
            }
        }
        Need::Op { op, scope } => {
            if grants.permits(oid, &op, &scope) {
                answer()
            } else {
                Err(refuse(&op, &scope))
            }
        }
        Need::Subscriptions => {
            let mut r = answer()?;
            filter_values(&mut r, |v| v["subscriptionId"].as_str().is_some_and(|s| grants.any_in(oid, s)));
            Ok(r)
        }
        Need::List { op, scope } => {
            if grants.permits(oid, &op, &scope) {
                return answer();
            }
            let mut r = answer()?;
            let any = filter_values(&mut r, |v| {
                let id = v["id"].as_str().unwrap_or_default();
                let ty = v["type"].as_str().unwrap_or_default();
                grants.permits(oid, &format!("{}/read", type_op(kinds, ty)), id)
            });
            if any || grants.any_within(oid, &scope) { Ok(r) } else { Err(refuse(&op, &scope)) }
        }
    }
}

/// Keeps the items of a 200 listing (its `value`, or the body itself when App Service
/// answers a plain array) that `keep` accepts; whether any is left.
fn filter_values(r: &mut ArmResponse, keep: impl Fn(&Value) -> bool) -> bool {
    if r.status != 200 {
        return true;
    }
    let mut body = r.json_body();
    let items = match &mut body {
        Value::Array(items) => items,
        Value::Object(o) => match o.get_mut("value").and_then(Value::as_array_mut) {
            Some(items) => items,
            None => return true,
        },
        _ => return true,
    };
    items.retain(|v| keep(v));
    let any = !items.is_empty();
    *r = ArmResponse { status: 200, headers: r.headers.clone(), body: bytes::Bytes::from(body.to_string()) };
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_cover_themselves_and_what_is_below_them_only() {
        assert!(covers("/subscriptions/s", "/subscriptions/s/resourcegroups/rg"));
        assert!(covers("/subscriptions/s/resourcegroups/rg", "/subscriptions/s/resourcegroups/rg"));
        assert!(!covers("/subscriptions/s/resourcegroups/rg", "/subscriptions/s/resourcegroups/rg2"));
        assert!(!covers("/subscriptions/s/resourcegroups/rg", "/subscriptions/s"));
        assert!(covers("/", "/subscriptions/s"));
    }
}
