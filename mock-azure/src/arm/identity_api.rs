//! The fake Microsoft Entra ID endpoints MSAL (inside the Azure CLI and the SDKs) talks
//! to: OpenID configuration, signing keys, and the client-credentials token endpoint.
//! Errors use Entra's `AADSTS` shapes.

use serde_json::{Value, json};

use super::http::{ArmRequest, ArmResponse};
use super::service::{ARM_AUDIENCES, Arm};
use crate::form::parse_form;

/// Token lifetime in seconds (Entra issues about an hour).
pub const TOKEN_LIFETIME: u64 = 3599;

/// Resources (audiences) the token endpoint issues tokens for.
const RESOURCES: [&str; 3] = [ARM_AUDIENCES[0], ARM_AUDIENCES[1], "https://containerregistry.azure.net/"];

fn aad_error(status: u16, error: &str, code: u32, description: &str) -> ArmResponse {
    ArmResponse::json(
        status,
        &json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description}"),
            "error_codes": [code],
            "timestamp": "",
            "trace_id": "",
            "correlation_id": "",
        }),
    )
}

pub(super) fn handle(arm: &Arm, req: &ArmRequest, path: &str) -> ArmResponse {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some(tenant) = segs.first() else {
        return aad_error(404, "invalid_request", 90002, "No tenant in the request path.");
    };
    let known = [arm.cfg.tenant_id.as_str(), "common", "organizations", "pullsim.onmicrosoft.com"];
    if !known.iter().any(|t| t.eq_ignore_ascii_case(tenant)) {
        return aad_error(
            400,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    let rest: Vec<String> = segs[1..].iter().map(|s| s.to_ascii_lowercase()).collect();
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    match (req.method.as_str(), rest.as_slice()) {
        ("GET", ["v2.0", ".well-known", "openid-configuration"]) => ArmResponse::json(200, &openid(arm, req, true)),
        ("GET", [".well-known", "openid-configuration"]) => ArmResponse::json(200, &openid(arm, req, false)),
        ("GET", ["discovery", "v2.0", "keys"] | ["discovery", "keys"]) => ArmResponse::json(200, &arm.signer.jwks()),
        ("POST", ["oauth2", "v2.0", "token"]) => token(arm, req, true),
        ("POST", ["oauth2", "token"]) => token(arm, req, false),
        _ => aad_error(404, "invalid_request", 900561, &format!("The endpoint '{path}' does not exist.")),
    }
}

fn openid(arm: &Arm, req: &ArmRequest, v2: bool) -> Value {
    let b = &arm.cfg.base_url_for(req);
    let t = &arm.cfg.tenant_id;
    let (issuer, token, auth, v) = if v2 {
        (
            format!("{b}/{t}/v2.0"),
            format!("{b}/{t}/oauth2/v2.0/token"),
            format!("{b}/{t}/oauth2/v2.0/authorize"),
            "v2.0/",
        )
    } else {
        (format!("{b}/{t}/"), format!("{b}/{t}/oauth2/token"), format!("{b}/{t}/oauth2/authorize"), "")
    };
    json!({
        "issuer": issuer,
        "token_endpoint": token,
        "authorization_endpoint": auth,
        "device_authorization_endpoint": format!("{b}/{t}/oauth2/{v}devicecode"),
        "end_session_endpoint": format!("{b}/{t}/oauth2/{v}logout"),
        "jwks_uri": format!("{b}/{t}/discovery/{v}keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "pullsim",
    })
}

fn token(arm: &Arm, req: &ArmRequest, v2: bool) -> ArmResponse {
    let form = parse_form(std::str::from_utf8(&req.body).unwrap_or_default());
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    match get("grant_type") {
        Some("client_credentials") => {}
        Some(other) => {
            return aad_error(
                400,
                "unsupported_grant_type",
                70003,
                &format!("The app requested an unsupported grant type '{other}'."),
            );
        }
        None => {
            return aad_error(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            );
        }
    }
    let Some(client_id) = get("client_id") else {
        return aad_error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    let Some(secret) = arm.cfg.secret_of(client_id) else {
        return aad_error(
            400,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory 'pullsim'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."
            ),
        );
    };
    if get("client_secret") != Some(secret) {
        return aad_error(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.",
        );
    }
    let resource = if v2 {
        match get("scope") {
            Some(s) => s.split(' ').find_map(|x| x.strip_suffix(".default")).unwrap_or(s).to_string(),
            None => {
                return aad_error(
                    400,
                    "invalid_request",
                    90014,
                    "The required field 'scope' is missing from the credential.",
                );
            }
        }
    } else {
        get("resource").unwrap_or_default().to_string()
    };
    let norm = |s: &str| s.trim_end_matches('/').to_ascii_lowercase();
    let graph = super::graph::audience(arm);
    let Some(aud) = RESOURCES.iter().copied().chain([graph.as_str()]).find(|r| norm(r) == norm(&resource)) else {
        return aad_error(
            400,
            "invalid_resource",
            500011,
            &format!("The resource principal named {resource} was not found in the tenant named pullsim."),
        );
    };
    let now = crate::identity::token::now();
    let claims = json!({
        "aud": aud,
        "iss": format!("https://sts.windows.net/{}/", arm.cfg.tenant_id),
        "iat": now, "nbf": now, "exp": now + TOKEN_LIFETIME,
        "appid": client_id,
        "oid": super::service::object_id(client_id),
        "sub": super::service::object_id(client_id),
        "tid": arm.cfg.tenant_id,
        "idtyp": "app",
        "ver": "1.0",
    });
    ArmResponse::json(
        200,
        &json!({
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "ext_expires_in": TOKEN_LIFETIME,
            "access_token": arm.signer.sign(&claims),
        }),
    )
}
