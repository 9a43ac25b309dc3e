//! The generic resource life cycle every provider shares: PUT (create or replace, keeping
//! server-owned fields), PATCH (merge, then the same validation as PUT), GET, DELETE
//! (cascading to children, with each provider's hooks), listings (by type, children,
//! `/resources` with `$filter`) and POST actions. What a type adds comes from its
//! [`Kind`], looked up in the [`Kinds`] table this file is handed; it knows no provider.

use serde_json::{Map, Value, json};

use super::body::{merge_patch, parse_body};
use super::error::ArmError;
use super::filter::Filter;
use super::http::{ArmRequest, ArmResponse};
use super::kind::{Ctx, Kind, Kinds, Loc, Read};
use super::regions::{known_region, normalize_location};
use super::route::Route;
use super::service::Arm;
use super::version::{ApiVersion, shape};
use crate::model::{PRIVATE, ResourceId, Tx};

/// Answers a route that addresses resources: `/resources` listings, a type across the
/// subscription or at a scope, one resource, its children or an action on it.
pub(super) fn handle(
    arm: &Arm,
    kinds: &Kinds,
    req: &ArmRequest,
    api: ApiVersion,
    route: Route,
) -> Result<ArmResponse, ArmError> {
    let m = req.method.as_str();
    let get_only = |m: &str| {
        if m == "GET" { Ok(()) } else { Err(ArmError::method_not_allowed(m)) }
    };
    match route {
        Route::Resources { sub, rg } => {
            get_only(m)?;
            arm.check_subscription(&sub)?;
            if let Some(rg) = &rg {
                group_name(&arm.store, &sub, rg)?;
            }
            list_resources(arm, kinds, req, &sub, rg.as_deref())
        }
        Route::SubscriptionType { sub, ns, name } => {
            arm.check_subscription(&sub)?;
            kinds.namespace(&ns)?;
            get_only(m)?;
            if kinds.is_extension(&ns) {
                let scope = ResourceId::parse(&format!("/subscriptions/{sub}"))
                    .map_err(|e| ArmError::bad_request(e.to_string()))?;
                return list_extension(arm, kinds, req, api, &scope, &ns, &name);
            }
            let type_key = format!("{ns}/{name}").to_ascii_lowercase();
            kinds
                .get(&type_key)
                .filter(|k| k.tracked || k.opaque)
                .ok_or_else(|| ArmError::unknown_type(&name, &ns, &api_str(req)))?;
            let prefix = format!("/subscriptions/{}/", sub.to_ascii_lowercase());
            list_of_type(arm, kinds, api, &prefix, &type_key)
        }
        Route::TypeAtScope { scope, ns, ty } => {
            get_only(m)?;
            arm.check_subscription(&scope.subscription)?;
            kinds.namespace(&ns)?;
            if kinds.is_extension(&ns) {
                return list_extension(arm, kinds, req, api, &scope, &ns, &ty);
            }
            if !scope.is_group() {
                return Err(ArmError::no_route(scope.as_str()));
            }
            group_name(&arm.store, &scope.subscription, scope.name())?;
            let type_key = format!("{ns}/{ty}").to_ascii_lowercase();
            kinds.get(&type_key).ok_or_else(|| ArmError::unknown_type(&ty, &ns, &api_str(req)))?;
            list_of_type(arm, kinds, api, &format!("{}/", scope.key()), &type_key)
        }
        Route::Resource(id) => resource(arm, kinds, req, api, &id),
        Route::Sub { parent, name } => match m {
            "GET" => list_children(arm, kinds, req, api, &parent, &name),
            "POST" => action(arm, kinds, req, api, &parent, &name),
            _ => Err(ArmError::method_not_allowed(m)),
        },
        _ => Err(ArmError::no_route(&req.path)),
    }
}

/// A listing of extension resources (types that live at any scope), answered by the
/// type's provider.
fn list_extension(
    arm: &Arm,
    kinds: &Kinds,
    req: &ArmRequest,
    api: ApiVersion,
    scope: &ResourceId,
    ns: &str,
    ty: &str,
) -> Result<ArmResponse, ArmError> {
    if !scope.segments.is_empty() && arm.store.get(scope).is_none() {
        return Err(not_found(scope));
    }
    let type_key = format!("{ns}/{ty}").to_ascii_lowercase();
    let list = kinds
        .get(&type_key)
        .and_then(|k| k.list)
        .ok_or_else(|| ArmError::unknown_type(ty, kinds.namespace(ns).unwrap_or(ns), &api_str(req)))?;
    list(&Ctx { arm, api, id: scope, kinds, write: false }, req, scope)
}

fn api_str(req: &ArmRequest) -> String {
    req.query_param("api-version").unwrap_or_default()
}

/// The resource group's name as created, or `ResourceGroupNotFound`.
pub(super) fn group_name(r: &dyn Read, sub: &str, rg: &str) -> Result<String, ArmError> {
    r.get_at(&ResourceId::group(sub, rg).key(), "/name")
        .map(|n| n.as_str().unwrap_or(rg).to_string())
        .ok_or_else(|| ArmError::group_not_found(rg))
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
    let mut v = match ctx.kinds.get(&type_key) {
        Some(k) => (k.render)(ctx, r, stored),
        None => stored,
    };
    v = strip_private(v);
    shape(&type_key, ctx.api, &mut v);
    v
}

/// Checks subscription, resource group and parent exist; returns the group's name.
fn check_ancestry(arm: &Arm, r: &dyn Read, id: &ResourceId) -> Result<Option<String>, ArmError> {
    arm.check_subscription(&id.subscription)?;
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

/// The type a resource of this kind is stored with: Azure's casing, or for an opaque
/// type the request's.
fn type_of(kind: &Kind, id: &ResourceId) -> String {
    if kind.opaque { id.full_type() } else { kind.canonical.to_string() }
}

/// Whether a stored resource is of this (lower-cased) type.
fn is_type(v: &Value, type_key: &str) -> bool {
    v["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(type_key))
}

/// The ID with Azure's casing for types and the creation casing for names.
fn canonical_id(kind: &Kind, id: &ResourceId, rg_name: Option<&str>) -> String {
    if id.is_group() {
        return format!("/subscriptions/{}/resourceGroups/{}", id.subscription, id.name());
    }
    let full_type = type_of(kind, id);
    let mut parts = full_type.split('/');
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

fn resource(
    arm: &Arm,
    kinds: &Kinds,
    req: &ArmRequest,
    api: ApiVersion,
    id: &ResourceId,
) -> Result<ArmResponse, ArmError> {
    let type_key = id.type_key();
    if let Some(ns) = &id.namespace {
        kinds.namespace(ns)?;
    }
    let kind = kinds.get(&type_key).ok_or_else(|| {
        let ty = id.full_type();
        let (ns, rest) = ty.split_once('/').unwrap_or(("", &ty));
        ArmError::unknown_type(rest, ns, &api_str(req))
    })?;
    let ctx = Ctx { arm, api, id, kinds, write: matches!(req.method.as_str(), "PUT" | "PATCH") };
    match req.method.as_str() {
        "GET" if kind.get.is_some() => {
            arm.check_subscription(&id.subscription)?;
            let get = kind.get.ok_or_else(|| ArmError::method_not_allowed("GET"))?;
            get(&ctx).map(|v| ArmResponse::json(200, &v))
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
            if kind.delete_returns_body {
                return Ok(ArmResponse::json(200, &render(&ctx, tx, existing)));
            }
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
    obj.insert("type".into(), json!(type_of(kind, id)));
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
    if let Some(k) = ctx.kinds.get(&type_key) {
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
        if let Some(k) = ctx.kinds.get(&dk) {
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
    kinds: &Kinds,
    req: &ArmRequest,
    api: ApiVersion,
    parent: &ResourceId,
    name: &str,
) -> Result<ArmResponse, ArmError> {
    // A name that lists several child types at once (a zone's `ALL`).
    let several = kinds
        .get(&parent.type_key())
        .and_then(|k| k.child_listing)
        .and_then(|listing| listing(&name.to_ascii_lowercase()));
    if let Some(lists_type) = several {
        check_ancestry(arm, &arm.store, parent)?;
        arm.store.get(parent).ok_or_else(|| not_found(parent))?;
        let ctx = Ctx { arm, api, id: parent, kinds, write: false };
        let values: Vec<Value> = arm
            .store
            .scan_prefix(&format!("{}/", parent.key()))
            .into_iter()
            .filter(|v| v["type"].as_str().is_some_and(lists_type))
            .map(|v| render(&ctx, &arm.store, v))
            .collect();
        return Ok(ArmResponse::json(200, &json!({ "value": values })));
    }
    let id = parent.child(name, "_");
    let type_key = id.type_key();
    let kind = kinds.get(&type_key).ok_or_else(|| {
        ArmError::unknown_type(&id.full_type(), parent.namespace.as_deref().unwrap_or_default(), &api_str(req))
    })?;
    check_ancestry(arm, &arm.store, parent)?;
    if arm.store.get(parent).is_none() {
        return Err(not_found(parent));
    }
    // A child type whose instances are derived, not stored, lists itself.
    if let Some(list) = kind.list {
        return list(&Ctx { arm, api, id: parent, kinds, write: false }, req, parent);
    }
    let depth = parent.segments.len() + 1;
    let ctx = Ctx { arm, api, id: parent, kinds, write: false };
    let values: Vec<Value> = arm
        .store
        .scan_prefix(&format!("{}/{}/", parent.key(), name.to_ascii_lowercase()))
        .into_iter()
        .filter(|v| is_type(v, &type_key))
        .filter(|v| ResourceId::parse(v["id"].as_str().unwrap_or_default()).is_ok_and(|i| i.segments.len() == depth))
        .map(|v| render(&ctx, &arm.store, v))
        .collect();
    Ok(ArmResponse::json(200, &json!({ "value": values })))
}

fn list_of_type(
    arm: &Arm,
    kinds: &Kinds,
    api: ApiVersion,
    prefix: &str,
    type_key: &str,
) -> Result<ArmResponse, ArmError> {
    let values: Vec<Value> = arm
        .store
        .scan_prefix(prefix)
        .into_iter()
        .filter(|v| is_type(v, type_key))
        .map(|v| {
            let id =
                ResourceId::parse(v["id"].as_str().unwrap_or_default()).unwrap_or_else(|_| ResourceId::group("_", "_"));
            render(&Ctx { arm, api, id: &id, kinds, write: false }, &arm.store, v)
        })
        .collect();
    Ok(ArmResponse::json(200, &json!({ "value": values })))
}

fn action(
    arm: &Arm,
    kinds: &Kinds,
    req: &ArmRequest,
    api: ApiVersion,
    target: &ResourceId,
    name: &str,
) -> Result<ArmResponse, ArmError> {
    let type_key = target.type_key();
    let kind = kinds.get(&type_key).ok_or_else(|| {
        ArmError::unknown_type(&target.full_type(), target.namespace.as_deref().unwrap_or_default(), &api_str(req))
    })?;
    let body = parse_body(req)?;
    let ctx = Ctx { arm, api, id: target, kinds, write: false };
    arm.store.transact(|tx| {
        check_ancestry(arm, tx, target)?;
        let existing = tx.get(target).ok_or_else(|| not_found(target))?;
        (kind.action)(&ctx, tx, &name.to_ascii_lowercase(), &existing, &body)
            .unwrap_or_else(|| Err(ArmError::no_route(&format!("{}/{name}", target.as_str()))))
    })
}

/// `/resources` listings: tracked resources (nested tracked types such as virtual
/// network links included, with `parent/child` names), filtered by `$filter`.
fn list_resources(
    arm: &Arm,
    kinds: &Kinds,
    req: &ArmRequest,
    sub: &str,
    rg: Option<&str>,
) -> Result<ArmResponse, ArmError> {
    let filter = match req.query_param("$filter") {
        Some(f) => Filter::parse(&f)?,
        None => Filter::default(),
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
            kinds.get(&t).is_some_and(|k| k.tracked || (k.opaque && v["location"].is_string()))
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
            filter.matches(&id, &v).then_some(Value::Object(out))
        })
        .collect();
    Ok(ArmResponse::json(200, &json!({ "value": values })))
}
