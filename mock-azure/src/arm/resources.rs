//! The generic resource life cycle every provider shares: PUT (create or replace, keeping
//! server-owned fields), PATCH (merge, then the same validation as PUT), GET, DELETE
//! (cascading to children, with each provider's hooks), and listings with `$filter`.

use serde_json::{Map, Value, json};

use super::error::ArmError;
use super::route::Route;
use super::version::{ApiVersion, shape};
use super::{Arm, ArmRequest, ArmResponse, acr, network, privatedns, rbac, web};
use crate::model::{PRIVATE, ResourceId, Store, Tx};

/// Read access shared by the store and a transaction, so rendering works in both.
pub(super) trait Read {
    /// Only part of a resource (a JSON pointer): reads on every request copy no more
    /// than they need.
    fn get_at(&self, key: &str, pointer: &str) -> Option<Value>;
    fn scan_prefix(&self, prefix: &str) -> Vec<Value>;
}

impl Read for Store {
    fn get_at(&self, key: &str, pointer: &str) -> Option<Value> {
        Store::get_at(self, key, pointer)
    }
    fn scan_prefix(&self, prefix: &str) -> Vec<Value> {
        Store::scan_prefix(self, prefix)
    }
}

impl Read for Tx<'_> {
    fn get_at(&self, key: &str, pointer: &str) -> Option<Value> {
        Tx::get_at(self, key, pointer)
    }
    fn scan_prefix(&self, prefix: &str) -> Vec<Value> {
        Tx::scan_prefix(self, prefix)
    }
}

/// Everything a provider hook needs to know about the request.
pub(super) struct Ctx<'a> {
    pub arm: &'a Arm,
    pub api: ApiVersion,
    pub id: &'a ResourceId,
}

/// Where a type's `location` comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Loc {
    /// Required on create (a region).
    Region,
    /// Always `global` (private DNS zones and their links).
    Global,
    /// No location (proxy resources: config, subnets, record sets…).
    None,
}

/// `(ctx, tx, canonical id, body, existing)` → the resource to store.
type PutFn = fn(&Ctx, &mut Tx, &str, Value, Option<&Value>) -> Result<Value, ArmError>;
type DeleteFn = fn(&Ctx, &mut Tx, &Value, bool) -> Result<(), ArmError>;
type RenderFn = fn(&Ctx, &dyn Read, Value) -> Value;
type ActionFn = fn(&Ctx, &mut Tx, &str, &Value, &Value) -> Option<Result<ArmResponse, ArmError>>;

/// What a provider contributes for one resource type.
pub(super) struct Kind {
    /// Type with Azure's casing, e.g. `Microsoft.Network/privateDnsZones/virtualNetworkLinks`.
    pub canonical: &'static str,
    /// Tracked resources appear in `/resources` listings.
    pub tracked: bool,
    pub loc: Loc,
    /// Builds the stored resource from the request body and the existing one (validating).
    pub put: PutFn,
    /// Checks and cascades before the resource goes; `cascade` is true when a parent is
    /// being deleted.
    pub delete: DeleteFn,
    /// Adds what is derived at read time (a VNET's subnets, a site's siteConfig).
    pub render: RenderFn,
    /// POST actions on the resource.
    pub action: ActionFn,
}

pub(super) fn no_delete_hook(_: &Ctx, _: &mut Tx, _: &Value, _: bool) -> Result<(), ArmError> {
    Ok(())
}

pub(super) fn plain_render(_: &Ctx, _: &dyn Read, v: Value) -> Value {
    v
}

pub(super) fn no_action(_: &Ctx, _: &mut Tx, _: &str, _: &Value, _: &Value) -> Option<Result<ArmResponse, ArmError>> {
    None
}

/// Every type pullsim's ARM knows, by lower-cased full type.
pub(super) fn kind(type_key: &str) -> Option<&'static Kind> {
    web::kind(type_key)
        .or_else(|| acr::kind(type_key))
        .or_else(|| network::kind(type_key))
        .or_else(|| privatedns::kind(type_key))
        .or_else(|| rbac::kind(type_key))
        .or_else(|| (type_key == "microsoft.resources/resourcegroups").then_some(&GROUP))
}

/// Namespaces pullsim's ARM knows.
pub(super) const NAMESPACES: [&str; 6] = [
    "Microsoft.Web",
    "Microsoft.ContainerRegistry",
    "Microsoft.Network",
    "Microsoft.ManagedIdentity",
    "Microsoft.Authorization",
    "Microsoft.Resources",
];

static GROUP: Kind = Kind {
    canonical: "Microsoft.Resources/resourceGroups",
    tracked: false,
    loc: Loc::Region,
    put: |ctx, _, _, body, existing| {
        let name = ctx.id.name();
        let valid = (1..=90).contains(&name.len())
            && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')'))
            && !name.ends_with('.');
        if !valid {
            return Err(ArmError::bad_group_name(name));
        }
        let mut v = json!({
            "properties": {"provisioningState": "Succeeded"},
        });
        if let Some(m) = body.get("managedBy") {
            v["managedBy"] = m.clone();
        }
        if let Some(e) = existing
            && body.get("location").is_some_and(|l| {
                normalize_location(l.as_str().unwrap_or_default()) != e["location"].as_str().unwrap_or_default()
            })
        {
            return Err(ArmError::group_location(
                body["location"].as_str().unwrap_or_default(),
                e["location"].as_str().unwrap_or_default(),
            ));
        }
        Ok(v)
    },
    delete: no_delete_hook,
    render: plain_render,
    action: no_action,
};

/// Azure regions pullsim accepts: `(name, display name)`.
pub(super) const REGIONS: &[(&str, &str)] = &[
    ("australiacentral", "Australia Central"),
    ("australiaeast", "Australia East"),
    ("australiasoutheast", "Australia Southeast"),
    ("brazilsouth", "Brazil South"),
    ("canadacentral", "Canada Central"),
    ("canadaeast", "Canada East"),
    ("centralindia", "Central India"),
    ("centralus", "Central US"),
    ("eastasia", "East Asia"),
    ("eastus", "East US"),
    ("eastus2", "East US 2"),
    ("francecentral", "France Central"),
    ("germanywestcentral", "Germany West Central"),
    ("israelcentral", "Israel Central"),
    ("italynorth", "Italy North"),
    ("japaneast", "Japan East"),
    ("japanwest", "Japan West"),
    ("koreacentral", "Korea Central"),
    ("koreasouth", "Korea South"),
    ("mexicocentral", "Mexico Central"),
    ("northcentralus", "North Central US"),
    ("northeurope", "North Europe"),
    ("norwayeast", "Norway East"),
    ("polandcentral", "Poland Central"),
    ("qatarcentral", "Qatar Central"),
    ("southafricanorth", "South Africa North"),
    ("southcentralus", "South Central US"),
    ("southeastasia", "Southeast Asia"),
    ("southindia", "South India"),
    ("spaincentral", "Spain Central"),
    ("swedencentral", "Sweden Central"),
    ("switzerlandnorth", "Switzerland North"),
    ("uaenorth", "UAE North"),
    ("uksouth", "UK South"),
    ("ukwest", "UK West"),
    ("westcentralus", "West Central US"),
    ("westeurope", "West Europe"),
    ("westindia", "West India"),
    ("westus", "West US"),
    ("westus2", "West US 2"),
    ("westus3", "West US 3"),
];

/// Whether a normalized location is a region pullsim knows.
pub(super) fn known_region(l: &str) -> bool {
    REGIONS.iter().any(|(n, _)| *n == l)
}

/// `West Europe` → `westeurope`.
pub(super) fn normalize_location(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase()
}

pub(super) fn handle(arm: &Arm, req: &ArmRequest, api: ApiVersion, route: Route) -> Result<ArmResponse, ArmError> {
    let m = req.method.as_str();
    let get_only = |m: &str| {
        if m == "GET" { Ok(()) } else { Err(ArmError::method_not_allowed(m)) }
    };
    match route {
        Route::Tenants => {
            get_only(m)?;
            Ok(ArmResponse::json(200, &json!({"value": [tenant_json(arm)]})))
        }
        Route::Subscriptions => {
            get_only(m)?;
            Ok(ArmResponse::json(200, &json!({"value": [subscription_json(arm)]})))
        }
        Route::Subscription(s) => {
            get_only(m)?;
            check_sub(arm, &s)?;
            Ok(ArmResponse::json(200, &subscription_json(arm)))
        }
        Route::Locations(s) => {
            get_only(m)?;
            check_sub(arm, &s)?;
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
            get_only(m)?;
            check_sub(arm, &s)?;
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
        Route::Resources { sub, rg } => {
            get_only(m)?;
            check_sub(arm, &sub)?;
            if let Some(rg) = &rg {
                group_name(&arm.store, &sub, rg)?;
            }
            list_resources(arm, req, &sub, rg.as_deref())
        }
        Route::Providers { sub, ns } => {
            get_only(m)?;
            check_sub(arm, &sub)?;
            providers(arm, ns.as_deref())
        }
        Route::SubscriptionType { sub, ns, name } => {
            check_sub(arm, &sub)?;
            known_namespace(&ns)?;
            if m == "POST" {
                let body = parse_body(req)?;
                return match ns.to_ascii_lowercase().as_str() {
                    "microsoft.web" if name.eq_ignore_ascii_case("checknameavailability") => {
                        web::check_name(arm, &body)
                    }
                    "microsoft.containerregistry" if name.eq_ignore_ascii_case("checknameavailability") => {
                        acr::check_name(arm, &body)
                    }
                    _ => Err(ArmError::unknown_type(&name, &ns, &req.query_param("api-version").unwrap_or_default())),
                };
            }
            get_only(m)?;
            let type_key = format!("{ns}/{name}").to_ascii_lowercase();
            if type_key.starts_with("microsoft.authorization/") {
                let scope = ResourceId::parse(&format!("/subscriptions/{sub}"))
                    .map_err(|e| ArmError::bad_request(e.to_string()))?;
                return rbac::list_at_scope(arm, req, api, &scope, &name);
            }
            let kind = kind(&type_key)
                .filter(|k| k.tracked)
                .ok_or_else(|| ArmError::unknown_type(&name, &ns, &api_str(req)))?;
            let prefix = format!("/subscriptions/{}/", sub.to_ascii_lowercase());
            list_of_type(arm, api, &prefix, kind)
        }
        Route::TypeAtScope { scope, ns, ty } => {
            get_only(m)?;
            check_sub(arm, &scope.subscription)?;
            known_namespace(&ns)?;
            if ns.eq_ignore_ascii_case("Microsoft.Authorization") {
                return rbac::list_at_scope(arm, req, api, &scope, &ty);
            }
            if !scope.is_group() {
                return Err(ArmError::no_route(scope.as_str()));
            }
            group_name(&arm.store, &scope.subscription, scope.name())?;
            let type_key = format!("{ns}/{ty}").to_ascii_lowercase();
            let kind = kind(&type_key).ok_or_else(|| ArmError::unknown_type(&ty, &ns, &api_str(req)))?;
            list_of_type(arm, api, &format!("{}/", scope.key()), kind)
        }
        Route::Resource(id) => resource(arm, req, api, &id),
        Route::Sub { parent, name } => match m {
            "GET" => list_children(arm, req, api, &parent, &name),
            "POST" => action(arm, req, api, &parent, &name),
            _ => Err(ArmError::method_not_allowed(m)),
        },
    }
}

fn api_str(req: &ArmRequest) -> String {
    req.query_param("api-version").unwrap_or_default()
}

fn known_namespace(ns: &str) -> Result<(), ArmError> {
    if NAMESPACES.iter().any(|n| n.eq_ignore_ascii_case(ns)) { Ok(()) } else { Err(ArmError::unknown_namespace(ns)) }
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

pub(super) fn check_sub(arm: &Arm, sub: &str) -> Result<(), ArmError> {
    if sub.eq_ignore_ascii_case(&arm.cfg.subscription_id) { Ok(()) } else { Err(ArmError::subscription_not_found(sub)) }
}

/// The resource group's name as created, or `ResourceGroupNotFound`.
pub(super) fn group_name(r: &dyn Read, sub: &str, rg: &str) -> Result<String, ArmError> {
    r.get_at(&ResourceId::group(sub, rg).key(), "/name")
        .map(|n| n.as_str().unwrap_or(rg).to_string())
        .ok_or_else(|| ArmError::group_not_found(rg))
}

fn providers(arm: &Arm, ns: Option<&str>) -> Result<ArmResponse, ArmError> {
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
        None => Ok(ArmResponse::json(200, &json!({"value": NAMESPACES.iter().map(|n| one(n)).collect::<Vec<_>>()}))),
        Some(ns) => {
            let n = NAMESPACES
                .iter()
                .find(|n| n.eq_ignore_ascii_case(ns))
                .ok_or_else(|| ArmError::unknown_namespace(ns))?;
            Ok(ArmResponse::json(200, &one(n)))
        }
    }
}

/// Parses the body as a JSON object; empty bodies are `{}`.
pub(super) fn parse_body(req: &ArmRequest) -> Result<Value, ArmError> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    let v: Value = serde_json::from_slice(&req.body).map_err(ArmError::invalid_content)?;
    if !v.is_object() {
        return Err(ArmError::invalid_content("the request body must be a JSON object"));
    }
    Ok(v)
}

/// The resource without pullsim's private fields.
pub(super) fn strip_private(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove(PRIVATE);
    }
    v
}

/// Renders a stored resource for a response at this api-version.
pub(super) fn render(ctx: &Ctx, r: &dyn Read, stored: Value) -> Value {
    let type_key = stored["type"].as_str().unwrap_or_default().to_ascii_lowercase();
    let mut v = match kind(&type_key) {
        Some(k) => (k.render)(ctx, r, stored),
        None => stored,
    };
    v = strip_private(v);
    shape(&type_key, ctx.api, &mut v);
    v
}

/// Checks subscription, resource group and parent exist; returns the group's name.
fn check_ancestry(arm: &Arm, r: &dyn Read, id: &ResourceId) -> Result<Option<String>, ArmError> {
    check_sub(arm, &id.subscription)?;
    if let Some(scope) = &id.scope
        && !scope.segments.is_empty()
        && r.get_at(&scope.key(), "/id").is_none()
    {
        return Err(not_found(scope));
    }
    let rg = match (&id.resource_group, id.is_group()) {
        (Some(rg), false) => Some(group_name(r, &id.subscription, rg)?),
        _ => None,
    };
    let mut p = id.parent();
    while let Some(parent) = p {
        if r.get_at(&parent.key(), "/id").is_none() {
            return Err(not_found(&parent));
        }
        p = parent.parent();
    }
    Ok(rg)
}

/// `ResourceNotFound` for this ID, worded as ARM words it.
pub(super) fn not_found(id: &ResourceId) -> ArmError {
    let mut t = id.namespace.clone().unwrap_or_default();
    for (i, (ty, name)) in id.segments.iter().enumerate() {
        t.push('/');
        t.push_str(ty);
        if i + 1 < id.segments.len() {
            t.push('/');
            t.push_str(name);
        }
    }
    ArmError::not_found(&format!("{t}/{}", id.name()), id.resource_group.as_deref().unwrap_or_default())
}

/// The ID with Azure's casing for types and the creation casing for names.
fn canonical_id(kind: &Kind, id: &ResourceId, rg_name: Option<&str>) -> String {
    if id.is_group() {
        return format!("/subscriptions/{}/resourceGroups/{}", id.subscription, id.name());
    }
    let mut parts = kind.canonical.split('/');
    let ns = parts.next().unwrap_or_default();
    let mut out = match (&id.scope, rg_name) {
        (Some(scope), _) => format!("{}/providers/{ns}", scope.as_str()),
        (None, Some(rg)) => format!("/subscriptions/{}/resourceGroups/{rg}/providers/{ns}", id.subscription),
        (None, None) => format!("/subscriptions/{}/providers/{ns}", id.subscription),
    };
    for (ty, (_, name)) in parts.zip(&id.segments) {
        out.push('/');
        out.push_str(ty);
        out.push('/');
        out.push_str(name);
    }
    out
}

fn resource(arm: &Arm, req: &ArmRequest, api: ApiVersion, id: &ResourceId) -> Result<ArmResponse, ArmError> {
    let type_key = id.type_key();
    if let Some(ns) = &id.namespace {
        known_namespace(ns)?;
    }
    let kind = kind(&type_key).ok_or_else(|| {
        let ty = id.full_type();
        let (ns, rest) = ty.split_once('/').unwrap_or(("", &ty));
        ArmError::unknown_type(rest, ns, &api_str(req))
    })?;
    let ctx = Ctx { arm, api, id };
    match req.method.as_str() {
        "GET" if type_key == "microsoft.authorization/roledefinitions" => {
            check_sub(arm, &id.subscription)?;
            rbac::definition(arm, id)
                .map(|d| ArmResponse::json(200, &d))
                .ok_or_else(|| ArmError::role_definition_missing(404, id.name()))
        }
        "GET" | "HEAD" => {
            check_ancestry(arm, &arm.store, id)?;
            let stored = arm
                .store
                .get(id)
                .ok_or_else(|| if id.is_group() { ArmError::group_not_found(id.name()) } else { not_found(id) })?;
            if req.method == "HEAD" {
                return Ok(ArmResponse::empty(204));
            }
            Ok(ArmResponse::json(200, &render(&ctx, &arm.store, stored)))
        }
        "PUT" | "PATCH" => {
            let body = parse_body(req)?;
            let patch = req.method == "PATCH";
            arm.store.transact(|tx| {
                let rg = check_ancestry(arm, tx, id)?;
                let existing = tx.get(id);
                let body = match (&existing, patch) {
                    (None, true) => return Err(not_found(id)),
                    (Some(e), true) => {
                        let mut merged = render(&ctx, tx, e.clone());
                        merge_patch(&mut merged, &body);
                        merged
                    }
                    _ => body,
                };
                let stored = put_resource(&ctx, tx, kind, rg.as_deref(), body, existing.as_ref())?;
                // App Service answers a create with 200, not 201 (its SDK refuses 201).
                let status = if existing.is_some() || kind.canonical.starts_with("Microsoft.Web/") { 200 } else { 201 };
                Ok(ArmResponse::json(status, &render(&ctx, tx, stored)))
            })
        }
        "DELETE" => arm.store.transact(|tx| {
            check_ancestry(arm, tx, id)?;
            let Some(existing) = tx.get(id) else {
                return Ok(ArmResponse::empty(204));
            };
            delete_resource(&ctx, tx, &existing, false)?;
            Ok(ArmResponse::empty(200))
        }),
        m => Err(ArmError::method_not_allowed(m)),
    }
}

/// Validates and stores one resource (used by PUT/PATCH and by providers creating
/// resources on a client's behalf). Returns what was stored.
pub(super) fn put_resource(
    ctx: &Ctx,
    tx: &mut Tx,
    kind: &Kind,
    rg: Option<&str>,
    body: Value,
    existing: Option<&Value>,
) -> Result<Value, ArmError> {
    let id = ctx.id;
    if let Some(tags) = body.get("tags")
        && !(tags.is_null() || tags.as_object().is_some_and(|t| t.values().all(Value::is_string)))
    {
        return Err(ArmError::invalid_content("tags must be an object of strings").with_target("tags"));
    }
    let location = match kind.loc {
        Loc::None => None,
        Loc::Global => Some("global".to_string()),
        Loc::Region => {
            let given = body.get("location").and_then(Value::as_str).map(normalize_location);
            match (given, existing.and_then(|e| e["location"].as_str())) {
                (Some(l), _) if !known_region(&l) => return Err(ArmError::bad_location(&l)),
                (Some(l), _) => Some(l),
                (None, Some(l)) => Some(l.to_string()),
                (None, None) => return Err(ArmError::location_required()),
            }
        }
    };
    let canonical =
        existing.and_then(|e| e["id"].as_str().map(str::to_string)).unwrap_or_else(|| canonical_id(kind, id, rg));
    let mut stored = (kind.put)(ctx, tx, &canonical, body.clone(), existing)?;
    let obj = stored.as_object_mut().ok_or_else(|| ArmError::invalid_content("not an object"))?;
    obj.insert("id".into(), json!(canonical));
    obj.insert("name".into(), json!(id.name()));
    obj.insert("type".into(), json!(kind.canonical));
    if let Some(l) = location {
        obj.insert("location".into(), json!(l));
    }
    if kind.loc != Loc::None || id.is_group() {
        let tags = body
            .get("tags")
            .filter(|t| t.is_object())
            .cloned()
            .or_else(|| existing.map(|e| e["tags"].clone()).filter(Value::is_object))
            .unwrap_or_else(|| json!({}));
        obj.insert("tags".into(), tags);
    }
    tx.put(stored.clone());
    Ok(stored)
}

/// Deletes a resource and everything under it, children first, running each type's hook.
pub(super) fn delete_resource(ctx: &Ctx, tx: &mut Tx, existing: &Value, cascade: bool) -> Result<(), ArmError> {
    let type_key = existing["type"].as_str().unwrap_or_default().to_ascii_lowercase();
    if let Some(k) = kind(&type_key) {
        (k.delete)(ctx, tx, existing, cascade)?;
    }
    let id_str = existing["id"].as_str().unwrap_or_default();
    let Ok(id) = ResourceId::parse(id_str) else {
        return Ok(());
    };
    let mut descendants = tx.scan_prefix(&format!("{}/", id.key()));
    descendants.reverse();
    for d in descendants {
        // A hook may already have removed it.
        let Some(d) = d["id"].as_str().and_then(|k| tx.get_key(&k.to_ascii_lowercase())) else {
            continue;
        };
        let dk = d["type"].as_str().unwrap_or_default().to_ascii_lowercase();
        if let Some(k) = kind(&dk) {
            (k.delete)(ctx, tx, &d, true)?;
        }
        if let Ok(did) = ResourceId::parse(d["id"].as_str().unwrap_or_default()) {
            tx.delete(&did);
        }
    }
    tx.delete(&id);
    Ok(())
}

fn list_children(
    arm: &Arm,
    req: &ArmRequest,
    api: ApiVersion,
    parent: &ResourceId,
    name: &str,
) -> Result<ArmResponse, ArmError> {
    // `privateDnsZones/{zone}/ALL` (or `recordsets`) lists record sets of every type.
    if parent.type_key() == "microsoft.network/privatednszones"
        && (name.eq_ignore_ascii_case("all") || name.eq_ignore_ascii_case("recordsets"))
    {
        check_ancestry(arm, &arm.store, parent)?;
        arm.store.get(parent).ok_or_else(|| not_found(parent))?;
        let ctx = Ctx { arm, api, id: parent };
        let values: Vec<Value> = arm
            .store
            .scan_prefix(&format!("{}/", parent.key()))
            .into_iter()
            .filter(|v| {
                v["type"].as_str().is_some_and(|t| {
                    t.starts_with("Microsoft.Network/privateDnsZones/")
                        && t != "Microsoft.Network/privateDnsZones/virtualNetworkLinks"
                })
            })
            .map(|v| render(&ctx, &arm.store, v))
            .collect();
        return Ok(ArmResponse::json(200, &json!({ "value": values })));
    }
    let id = parent.child(name, "_");
    let type_key = id.type_key();
    let kind = kind(&type_key).ok_or_else(|| {
        ArmError::unknown_type(&id.full_type(), parent.namespace.as_deref().unwrap_or_default(), &api_str(req))
    })?;
    check_ancestry(arm, &arm.store, parent)?;
    if arm.store.get(parent).is_none() {
        return Err(not_found(parent));
    }
    let depth = parent.segments.len() + 1;
    let ctx = Ctx { arm, api, id: parent };
    let values: Vec<Value> = arm
        .store
        .scan_prefix(&format!("{}/{}/", parent.key(), name.to_ascii_lowercase()))
        .into_iter()
        .filter(|v| v["type"] == kind.canonical)
        .filter(|v| ResourceId::parse(v["id"].as_str().unwrap_or_default()).is_ok_and(|i| i.segments.len() == depth))
        .map(|v| render(&ctx, &arm.store, v))
        .collect();
    Ok(ArmResponse::json(200, &json!({ "value": values })))
}

fn list_of_type(arm: &Arm, api: ApiVersion, prefix: &str, kind: &Kind) -> Result<ArmResponse, ArmError> {
    let values: Vec<Value> = arm
        .store
        .scan_prefix(prefix)
        .into_iter()
        .filter(|v| v["type"] == kind.canonical)
        .map(|v| {
            let id =
                ResourceId::parse(v["id"].as_str().unwrap_or_default()).unwrap_or_else(|_| ResourceId::group("_", "_"));
            render(&Ctx { arm, api, id: &id }, &arm.store, v)
        })
        .collect();
    Ok(ArmResponse::json(200, &json!({ "value": values })))
}

fn action(
    arm: &Arm,
    req: &ArmRequest,
    api: ApiVersion,
    target: &ResourceId,
    name: &str,
) -> Result<ArmResponse, ArmError> {
    let type_key = target.type_key();
    let kind = kind(&type_key).ok_or_else(|| {
        ArmError::unknown_type(&target.full_type(), target.namespace.as_deref().unwrap_or_default(), &api_str(req))
    })?;
    let body = parse_body(req)?;
    let ctx = Ctx { arm, api, id: target };
    arm.store.transact(|tx| {
        check_ancestry(arm, tx, target)?;
        let existing = tx.get(target).ok_or_else(|| not_found(target))?;
        (kind.action)(&ctx, tx, &name.to_ascii_lowercase(), &existing, &body)
            .unwrap_or_else(|| Err(ArmError::no_route(&format!("{}/{name}", target.as_str()))))
    })
}

/// `/resources` listings: tracked resources (nested tracked types such as virtual
/// network links included, with `parent/child` names), filtered by `$filter`.
fn list_resources(arm: &Arm, req: &ArmRequest, sub: &str, rg: Option<&str>) -> Result<ArmResponse, ArmError> {
    let filter = match req.query_param("$filter") {
        Some(f) => parse_filter(&f)?,
        None => Vec::new(),
    };
    let prefix = match rg {
        Some(rg) => format!("{}/", ResourceId::group(sub, rg).key()),
        None => format!("/subscriptions/{}/", sub.to_ascii_lowercase()),
    };
    let values: Vec<Value> = arm
        .store
        .scan_prefix(&prefix)
        .into_iter()
        .filter(|v| {
            let t = v["type"].as_str().unwrap_or_default().to_ascii_lowercase();
            kind(&t).is_some_and(|k| k.tracked)
        })
        .filter_map(|v| {
            let id = ResourceId::parse(v["id"].as_str().unwrap_or_default()).ok()?;
            let mut out = Map::new();
            out.insert("id".into(), v["id"].clone());
            out.insert("name".into(), json!(id.nested_name()));
            out.insert("type".into(), v["type"].clone());
            for k in ["kind", "location", "sku", "identity", "tags", "managedBy"] {
                if let Some(x) = v.get(k).filter(|x| !x.is_null()) {
                    out.insert(k.into(), x.clone());
                }
            }
            let rg = id.resource_group.clone().unwrap_or_default();
            let ok = filter.iter().all(|(field, value)| match field.as_str() {
                "resourcegroup" => rg.eq_ignore_ascii_case(value),
                "resourcetype" => id.full_type().eq_ignore_ascii_case(value),
                "name" => id.nested_name().eq_ignore_ascii_case(value) || id.name().eq_ignore_ascii_case(value),
                "location" => v["location"].as_str().is_some_and(|l| l.eq_ignore_ascii_case(value)),
                _ => false,
            });
            ok.then_some(Value::Object(out))
        })
        .collect();
    Ok(ArmResponse::json(200, &json!({ "value": values })))
}

/// Parses `field eq 'value' [and field eq 'value']…` (the subset ARM documents for
/// resource listings).
fn parse_filter(f: &str) -> Result<Vec<(String, String)>, ArmError> {
    let bad = || ArmError::bad_filter(f);
    let mut out = Vec::new();
    let mut rest = f.trim();
    loop {
        let (field, after) = rest.split_once(char::is_whitespace).ok_or_else(bad)?;
        let after = after.trim_start();
        let after = after.strip_prefix("eq").ok_or_else(bad)?.trim_start();
        let after = after.strip_prefix('\'').ok_or_else(bad)?;
        let (value, after) = after.split_once('\'').ok_or_else(bad)?;
        let field = field.to_ascii_lowercase();
        if !["resourcegroup", "resourcetype", "name", "location"].contains(&field.as_str()) {
            return Err(bad());
        }
        out.push((field, value.to_string()));
        let after = after.trim();
        if after.is_empty() {
            return Ok(out);
        }
        rest = after.strip_prefix("and").or_else(|| after.strip_prefix("AND")).ok_or_else(bad)?.trim_start();
    }
}

/// `n` new modeled public addresses for the resource `seed` (its lower-cased ID), none of
/// them already held by another resource: site outbound addresses and every address
/// listed under `_pullsim.publicIps`.
pub(super) fn new_public_ips(tx: &Tx, seed: &str, n: usize) -> Vec<String> {
    let mut taken: std::collections::HashSet<String> = tx
        .filter(|v| v[PRIVATE]["publicIps"].is_array() || v["type"] == "Microsoft.Web/sites")
        .iter()
        .flat_map(|v| {
            let outbound = v["properties"]["possibleOutboundIpAddresses"].as_str().unwrap_or_default();
            let listed = v[PRIVATE]["publicIps"].as_array().cloned().unwrap_or_default();
            outbound
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .chain(listed.iter().filter_map(|i| i.as_str().map(str::to_string)))
                .collect::<Vec<_>>()
        })
        .collect();
    (0..n)
        .map(|i| {
            let ip =
                crate::model::net::public_ip(&format!("{seed}#{i}"), &|ip| taken.contains(&ip.to_string())).to_string();
            taken.insert(ip.clone());
            ip
        })
        .collect()
}

/// A merge patch: objects merge recursively; other values replace. Unlike RFC 7386, a
/// `null` is kept rather than removing the key, so the type's validation sees it: a
/// property that can be cleared (`virtualNetworkSubnetId`) is cleared by it; for the
/// others it means "not given", as in a PUT.
pub(super) fn merge_patch(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        _ => *target = patch.clone(),
    }
}

/// A property as a boolean, accepting the strings `"true"`/`"false"` the CLI sends.
pub(super) fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A boolean property at `pointer` in `body`: absent → `None`; wrong type → 400.
pub(super) fn bool_at(body: &Value, pointer: &str) -> Result<Option<bool>, ArmError> {
    match body.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => as_bool(v).map(Some).ok_or_else(|| {
            ArmError::invalid_content(format!("'{pointer}' must be a boolean"))
                .with_target(pointer.trim_start_matches('/').replace('/', "."))
        }),
    }
}

/// A string property at `pointer`: absent → `None`; wrong type → 400.
pub(super) fn str_at<'a>(body: &'a Value, pointer: &str) -> Result<Option<&'a str>, ArmError> {
    match body.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ArmError::invalid_content(format!("'{pointer}' must be a string"))
            .with_target(pointer.trim_start_matches('/').replace('/', "."))),
    }
}

/// A resource ID property at `pointer` (`.../subnet/id`), parsed.
pub(super) fn id_at(body: &Value, pointer: &str) -> Result<Option<ResourceId>, ArmError> {
    match str_at(body, pointer)? {
        None => Ok(None),
        Some(s) => ResourceId::parse(s)
            .map(Some)
            .map_err(|e| ArmError::linked_invalid_id(s, &pointer.trim_start_matches('/').replace('/', "."), &e.reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_reject_unknown_fields() {
        assert_eq!(
            parse_filter("resourceGroup eq 'rg' and resourceType eq 'Microsoft.Web/sites'").unwrap(),
            vec![("resourcegroup".into(), "rg".into()), ("resourcetype".into(), "Microsoft.Web/sites".into())]
        );
        assert!(parse_filter("tagName eq 'x'").is_err());
        assert!(parse_filter("name eq 'x' or name eq 'y'").is_err());
        assert!(parse_filter("name eq 'x").is_err());
    }

    #[test]
    fn merge_patch_merges_objects_and_keeps_nulls_for_validation() {
        let mut t = json!({"a": {"b": 1, "c": 2}, "d": 3});
        merge_patch(&mut t, &json!({"a": {"b": 5, "c": null}}));
        assert_eq!(t, json!({"a": {"b": 5, "c": null}, "d": 3}));
    }
}
