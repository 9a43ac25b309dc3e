//! Which requests are about deployments, and their answers. A deployment runs to its end
//! inside its PUT (each resource an ARM request of its own); the PUT answers 201 (200 for
//! an existing name) with the record and an `Azure-AsyncOperation` URL whose status is the
//! outcome, which is how the Azure CLI and SDKs learn that a deployment failed
//! (`{"status":"Failed","error":{"code":"DeploymentFailed",…}}`).

use arm_template::{Context, Deployment, DeploymentRequest, DeploymentScope, Mode, TemplateError};
use serde_json::{Value, json};

use super::super::error::ArmError;
use super::super::http::{ArmRequest, ArmResponse};
use super::super::kind::Kinds;
use super::super::resources::{group_name, strip_private};
use super::super::route::Route;
use super::super::service::Arm;
use super::host::{ArmHost, Call, group_of};
use super::record::{self, Meta};
use crate::model::{PRIVATE, ResourceId};

/// What a deployments request addresses.
enum Target {
    /// A deployment (`…/deployments/{name}`): `scope` is its group or the subscription.
    Deployment { scope: ResourceId, id: ResourceId },
    /// `POST {deployment}/{validate|whatIf|cancel|exportTemplate}`, `GET {deployment}/operations`.
    Sub { scope: ResourceId, id: ResourceId, name: String },
    /// `GET {deployment}/operationStatuses/{op}`: what clients poll.
    Status { id: ResourceId },
    /// `GET {scope}/providers/Microsoft.Resources/deployments`.
    List { scope: ResourceId },
    /// `POST {group}/exportTemplate`.
    Export { group: ResourceId },
}

fn is_deployments(ty: &str) -> bool {
    ty.eq_ignore_ascii_case("Microsoft.Resources/deployments")
}

/// The deployment and the scope it lives at, if `id` is a deployment's.
fn deployment_of(id: &ResourceId) -> Option<(ResourceId, ResourceId)> {
    if !is_deployments(&id.full_type()) || id.scope.is_some() {
        return None;
    }
    let scope = match &id.resource_group {
        Some(rg) => ResourceId::group(&id.subscription, rg),
        None => ResourceId::parse(&format!("/subscriptions/{}", id.subscription)).ok()?,
    };
    Some((scope, id.clone()))
}

fn target(route: &Route) -> Option<Target> {
    match route {
        Route::Resource(id) => {
            if let Some(d) = deployment_of(id) {
                return Some(Target::Deployment { scope: d.0, id: d.1 });
            }
            let parent = id.parent()?;
            let status = id.segments.last().is_some_and(|(t, _)| t.eq_ignore_ascii_case("operationStatuses"));
            (status && deployment_of(&parent).is_some()).then_some(Target::Status { id: parent })
        }
        Route::Sub { parent, name } if parent.is_group() && name.eq_ignore_ascii_case("exportTemplate") => {
            Some(Target::Export { group: parent.clone() })
        }
        Route::Sub { parent, name } => {
            let (scope, id) = deployment_of(parent)?;
            Some(Target::Sub { scope, id, name: name.to_ascii_lowercase() })
        }
        Route::TypeAtScope { scope, ns, ty } if scope.is_group() && is_deployments(&format!("{ns}/{ty}")) => {
            Some(Target::List { scope: scope.clone() })
        }
        Route::SubscriptionType { sub, ns, name } if is_deployments(&format!("{ns}/{name}")) => {
            Some(Target::List { scope: ResourceId::parse(&format!("/subscriptions/{sub}")).ok()? })
        }
        _ => None,
    }
}

/// Answers a deployments request, or `None` when the route is not one.
pub(in super::super) fn handle(
    arm: &Arm,
    kinds: &Kinds,
    call: Call<'_>,
    req: &ArmRequest,
    route: &Route,
) -> Option<Result<ArmResponse, ArmError>> {
    let t = target(route)?;
    let m = req.method.as_str();
    Some((|| match (t, m) {
        (Target::Deployment { scope, id }, "PUT") => put(arm, kinds, call, req, &scope, &id),
        (Target::Deployment { scope, id }, "GET") => {
            check_scope(arm, &scope)?;
            Ok(ArmResponse::json(200, &strip_private(record::load(arm, &id)?)))
        }
        (Target::Deployment { scope, id }, "HEAD") => {
            check_scope(arm, &scope)?;
            Ok(ArmResponse::empty(if record::load(arm, &id).is_ok() { 204 } else { 404 }))
        }
        (Target::Deployment { scope, id }, "DELETE") => {
            check_scope(arm, &scope)?;
            if record::load(arm, &id).is_err() {
                return Ok(ArmResponse::empty(204));
            }
            record::delete(arm, &id)?;
            Ok(ArmResponse::empty(200))
        }
        (Target::Sub { scope, id, name }, _) => sub(arm, kinds, call, req, &scope, &id, &name),
        (Target::Status { id }, "GET") => {
            let rec = record::load(arm, &id)?;
            let mut status = json!({"status": rec["properties"]["provisioningState"]});
            if let Some(e) = rec["properties"].get("error") {
                status["error"] = e.clone();
            }
            Ok(ArmResponse::json(200, &status))
        }
        (Target::List { scope }, "GET") => {
            check_scope(arm, &scope)?;
            Ok(ArmResponse::json(200, &json!({"value": record::list(arm, &scope)})))
        }
        (Target::Export { group }, "POST") => {
            check_scope(arm, &group)?;
            super::export::group(arm, kinds, call, req, &group)
        }
        (_, m) => Err(ArmError::method_not_allowed(m)),
    })())
}

/// The subscription, and the group if the scope is one.
fn check_scope(arm: &Arm, scope: &ResourceId) -> Result<Option<String>, ArmError> {
    arm.check_subscription(&scope.subscription)?;
    match &scope.resource_group {
        Some(rg) => group_name(&arm.store, &scope.subscription, rg).map(Some),
        None => Ok(None),
    }
}

fn template_error(e: TemplateError) -> ArmError {
    ArmError::template(400, e.to_json())
}

/// The request read and prepared in its scope: what `validate`, `whatIf` and PUT share.
fn prepare(arm: &Arm, req: &ArmRequest, scope: &ResourceId, name: &str) -> Result<(Deployment, Prepared), ArmError> {
    let group = check_scope(arm, scope)?;
    let text = std::str::from_utf8(&req.body).map_err(ArmError::invalid_content)?;
    let request = DeploymentRequest::parse(text).map_err(template_error)?;
    if request.mode == Mode::Complete {
        return Err(ArmError::complete_mode_unsupported());
    }
    let cfg = &arm.cfg;
    let now = record::now();
    let (group_rg, location) = match &group {
        Some(g) => {
            let stored = arm.store.get(&ResourceId::group(&scope.subscription, g)).unwrap_or(Value::Null);
            (Some(group_of(&stored)), None)
        }
        None => {
            let l = request.location.clone().ok_or_else(ArmError::location_required)?;
            (None, Some(super::super::regions::normalize_location(&l)))
        }
    };
    let mut ctx = Context::resource_group(
        &cfg.tenant_id,
        &cfg.subscription_id,
        group_rg.clone().unwrap_or_else(|| arm_template::ResourceGroup::new("", "")),
        name,
        &now,
    );
    ctx.subscription_display_name.clone_from(&cfg.subscription_name);
    ctx.tenant_display_name = "pullsim".into();
    if let Some(l) = &location {
        ctx.scope = DeploymentScope::Subscription { location: l.clone() };
    }
    // Read as the engine reads it (the Azure CLI's body is Newtonsoft's JSON, not strict).
    let template = arm_template::json::parse(text)
        .ok()
        .and_then(|n| n.get("properties").and_then(|p| p.get("template")).map(arm_template::json::Node::to_value))
        .unwrap_or(Value::Null);
    let dep = Deployment::prepare_request(request, ctx).map_err(template_error)?;
    Ok((dep, Prepared { location, timestamp: now, template }))
}

struct Prepared {
    location: Option<String>,
    timestamp: String,
    template: Value,
}

fn correlation(req: &ArmRequest) -> String {
    req.header_value("x-ms-correlation-request-id").unwrap_or_default().to_string()
}

fn put(
    arm: &Arm,
    kinds: &Kinds,
    call: Call<'_>,
    req: &ArmRequest,
    scope: &ResourceId,
    id: &ResourceId,
) -> Result<ArmResponse, ArmError> {
    let (dep, p) = prepare(arm, req, scope, id.name())?;
    let mut host = ArmHost::new(arm, kinds, call, req);
    dep.preflight(&mut host).map_err(template_error)?;
    let existed = record::load(arm, id).is_ok();
    let result = dep.execute(&mut host);
    let diagnostics = host
        .opaque
        .iter()
        .map(|r| {
            json!({
                "level": "Warning",
                "code": "PullsimOpaqueResource",
                "target": r,
                "message": format!("'{r}' is a real Azure type pullsim keeps without behaviour (opaque): it is stored, listed and deleted, and takes no part in the image pull."),
            })
        })
        .collect();
    let correlation = correlation(req);
    let meta = Meta {
        location: p.location.as_deref(),
        correlation: &correlation,
        timestamp: &p.timestamp,
        diagnostics,
        template: p.template,
    };
    let rec = record::save(arm, &result, meta)?;
    let mut resp = ArmResponse::json(if existed { 200 } else { 201 }, &rec);
    let api = req.query_param("api-version").unwrap_or_default();
    let op = arm_template::hash::guid(&[&result.id, &p.timestamp]);
    resp.headers.push((
        "azure-asyncoperation".into(),
        format!("{}{}/operationStatuses/{op}?api-version={api}", arm.cfg.base_url.trim_end_matches('/'), result.id),
    ));
    Ok(resp)
}

fn sub(
    arm: &Arm,
    kinds: &Kinds,
    call: Call<'_>,
    req: &ArmRequest,
    scope: &ResourceId,
    id: &ResourceId,
    name: &str,
) -> Result<ArmResponse, ArmError> {
    let m = req.method.as_str();
    match (name, m) {
        ("validate", "POST") => {
            let (dep, _) = prepare(arm, req, scope, id.name())?;
            let mut host = ArmHost::new(arm, kinds, call, req);
            dep.preflight(&mut host).map_err(template_error)?;
            let validated: Vec<Value> = dep
                .resources()
                .iter()
                .filter(|r| r.deploys != Some(false) && !r.existing && !r.id.is_empty())
                .map(|r| json!({"id": r.id}))
                .collect();
            Ok(ArmResponse::json(
                200,
                &json!({
                    "id": dep.id(),
                    "name": dep.name(),
                    "type": record::TYPE,
                    "properties": {
                        "provisioningState": "Succeeded",
                        "mode": dep.mode().as_str(),
                        "templateHash": dep.template_hash(),
                        "parameters": dep.parameters_json(),
                        "dependencies": dep.dependencies_json(),
                        "validatedResources": validated,
                        "timestamp": record::now(),
                        "correlationId": correlation(req),
                    },
                }),
            ))
        }
        ("whatif", "POST") => {
            let (dep, _) = prepare(arm, req, scope, id.name())?;
            let mut host = ArmHost::new(arm, kinds, call, req);
            Ok(ArmResponse::json(200, &dep.what_if(&mut host).to_json()))
        }
        ("operations", "GET") => {
            check_scope(arm, scope)?;
            let rec = record::load(arm, id)?;
            Ok(ArmResponse::json(200, &json!({"value": rec[PRIVATE]["operations"]})))
        }
        ("cancel", "POST") => {
            check_scope(arm, scope)?;
            let rec = record::load(arm, id)?;
            let state = rec["properties"]["provisioningState"].as_str().unwrap_or_default();
            Err(ArmError::deployment_not_running(id.name(), state))
        }
        ("exporttemplate", "POST") => {
            check_scope(arm, scope)?;
            let rec = record::load(arm, id)?;
            Ok(ArmResponse::json(200, &json!({"template": rec[PRIVATE]["template"]})))
        }
        (_, "GET" | "POST") => Err(ArmError::no_route(&req.path)),
        (_, m) => Err(ArmError::method_not_allowed(m)),
    }
}
