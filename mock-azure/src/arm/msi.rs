//! The App Service managed-identity endpoint, as the platform uses it to pull with an
//! identity: `GET /platform/msi/token?site=<site id>&resource=<aud>[&client_id=<id>]`,
//! authenticated with an ARM token. It answers like the in-app endpoint
//! (`IDENTITY_ENDPOINT`): the system identity when no client ID is given, else the
//! user-assigned identity with that client ID — which must be assigned to the site.

use serde_json::json;

use super::error::ArmError;
use super::http::{ArmRequest, ArmResponse};
use super::identity_api::TOKEN_LIFETIME;
use super::resources::not_found;
use super::service::Arm;
use crate::model::ResourceId;

pub(super) fn handle(arm: &Arm, req: &ArmRequest, path: &str) -> Result<ArmResponse, ArmError> {
    if !path.eq_ignore_ascii_case("/platform/msi/token") || req.method != "GET" {
        return Err(ArmError::no_route(path));
    }
    arm.authenticate(req)?;
    let site_id = req.query_param("site").ok_or_else(|| ArmError::bad_request("The 'site' parameter is required."))?;
    let resource =
        req.query_param("resource").ok_or_else(|| ArmError::bad_request("The 'resource' parameter is required."))?;
    let id = ResourceId::parse(&site_id).map_err(|e| ArmError::bad_request(e.to_string()))?;
    let site = arm.store.get(&id).ok_or_else(|| not_found(&id))?;
    let identity = &site["identity"];
    // The token carries the identity's principal (`oid`): ARM and the ACR authorize it
    // by that principal's role assignments.
    let (principal, app) = match req.query_param("client_id") {
        None => {
            let p = identity["principalId"].as_str().map(str::to_string).ok_or_else(ArmError::no_system_identity)?;
            let app = crate::model::net::guid(&["system-identity-client", &p]);
            (p, app)
        }
        Some(client) => identity["userAssignedIdentities"]
            .as_object()
            .into_iter()
            .flatten()
            .find(|(_, v)| v["clientId"].as_str().is_some_and(|c| c.eq_ignore_ascii_case(&client)))
            .and_then(|(_, v)| v["principalId"].as_str().map(|p| (p.to_string(), client.clone())))
            .ok_or_else(|| ArmError::no_user_identity(&client))?,
    };
    let now = crate::identity::token::now();
    let exp = now + TOKEN_LIFETIME;
    let claims = json!({
        "aud": resource, "iss": format!("https://sts.windows.net/{}/", arm.cfg.tenant_id),
        "iat": now, "nbf": now, "exp": exp,
        "oid": principal, "sub": principal, "appid": app, "tid": arm.cfg.tenant_id, "idtyp": "app",
        "xms_mirid": site_id,
    });
    Ok(ArmResponse::json(
        200,
        &json!({"access_token": arm.signer.sign(&claims), "expires_on": exp.to_string(), "resource": resource, "token_type": "Bearer"}),
    ))
}
