//! The part of Microsoft Graph that the Azure CLI's role commands need (`az role
//! assignment list` names each principal): `POST /v1.0/directoryObjects/getByIds` under the
//! Graph endpoint `/metadata/endpoints` advertises (`{arm}/graph/`), with tokens for that
//! audience. Principals are the ones this tenant has: the service principal that drives
//! ARM and the managed identities (sites' system identities, user-assigned identities).
//! Errors use Graph's shape `{"error":{"code","message"}}`.

use serde_json::{Value, json};

use super::http::{ArmRequest, ArmResponse};
use super::service::Arm;
use crate::model::net;

/// The Graph audience of this cloud (what `/metadata/endpoints` advertises).
pub(super) fn audience(arm: &Arm) -> String {
    format!("{}/graph/", arm.cfg.base_url.trim_end_matches('/'))
}

fn graph_error(status: u16, code: &str, message: &str) -> ArmResponse {
    ArmResponse::json(status, &json!({"error": {"code": code, "message": message}}))
}

/// Answers a request under `/graph`.
pub(super) fn handle(arm: &Arm, req: &ArmRequest, path: &str) -> ArmResponse {
    let Some(token) =
        req.header_value("authorization").and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
    else {
        return graph_error(401, "InvalidAuthenticationToken", "Access token is empty.");
    };
    let aud = audience(arm);
    if arm.signer.verify(token.trim(), &[aud.as_str()], crate::identity::token::now()).is_err() {
        return graph_error(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.");
    }
    let rest = path.trim_start_matches('/').split_once('/').map_or("", |x| x.1).to_ascii_lowercase();
    match (req.method.as_str(), rest.trim_end_matches('/')) {
        ("POST", "v1.0/directoryobjects/getbyids") => get_by_ids(arm, req),
        _ => graph_error(400, "BadRequest", &format!("Resource not found for the segment '{rest}'.")),
    }
}

fn get_by_ids(arm: &Arm, req: &ArmRequest) -> ArmResponse {
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return graph_error(400, "Request_BadRequest", "Invalid JSON in the request body.");
    };
    let Some(ids) = body["ids"].as_array() else {
        return graph_error(400, "Request_BadRequest", "The 'ids' property is required.");
    };
    let principals = principals(arm);
    // Graph leaves out IDs it does not know.
    let value: Vec<Value> = ids
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|id| principals.iter().find(|p| p["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id))))
        .cloned()
        .collect();
    ArmResponse::json(
        200,
        &json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects", "value": value}),
    )
}

/// Every principal of the tenant as Graph describes a service principal.
fn principals(arm: &Arm) -> Vec<Value> {
    let sp = |id: &str, app: &str, name: &str, kind: &str| {
        json!({"@odata.type": "#microsoft.graph.servicePrincipal", "id": id, "appId": app,
               "displayName": name, "servicePrincipalType": kind, "servicePrincipalNames": [app]})
    };
    let c = &arm.cfg;
    let mut out = vec![sp(&c.object_id(), &c.client_id, "pullsim", "Application")];
    out.extend(c.principals.iter().map(|p| sp(&p.object_id(), &p.client_id, &p.name, "Application")));
    for v in
        arm.store.filter(|_, v| v["identity"]["principalId"].is_string() || v["properties"]["clientId"].is_string())
    {
        let name = v["name"].as_str().unwrap_or_default();
        if let Some(p) = v["identity"]["principalId"].as_str() {
            out.push(sp(p, &net::guid(&["app", p]), name, "ManagedIdentity"));
        }
        if v["type"] == "Microsoft.ManagedIdentity/userAssignedIdentities"
            && let (Some(p), Some(app)) =
                (v["properties"]["principalId"].as_str(), v["properties"]["clientId"].as_str())
        {
            out.push(sp(p, app, name, "ManagedIdentity"));
        }
    }
    out
}
