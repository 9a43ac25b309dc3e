//! `GET /metadata/endpoints`: the cloud's endpoints, as `az cloud register` and the
//! SDKs read them. Public (no token).

use serde_json::json;

use super::error::ArmError;
use super::http::{ArmRequest, ArmResponse};
use super::service::{ARM_AUDIENCES, Arm};
use super::version::ApiVersion;

/// Answers the metadata endpoint.
pub(super) fn handle(arm: &Arm, req: &ArmRequest, path: &str) -> ArmResponse {
    if !path.eq_ignore_ascii_case("/metadata/endpoints") || req.method != "GET" {
        return ArmError::no_route(path).into();
    }
    let b = &arm.cfg.base_url_for(req);
    let audiences = json!(ARM_AUDIENCES);
    // The document's shape depends on the api-version: from 2022-09-01 one cloud object
    // (what `az cloud register` reads), from 2019-05-01 an array of clouds, before that
    // the old single object with an `authentication` block.
    let api = req.query_param("api-version").and_then(|v| ApiVersion::parse(&v).ok());
    let cloud = json!({
        "name": "pullsim",
        "portal": b,
        "authentication": {
            "loginEndpoint": format!("{b}/"),
            "audiences": audiences,
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "media": b,
        "graphAudience": format!("{b}/graph/"),
        "graph": format!("{b}/graph/"),
        "batch": b,
        "resourceManager": format!("{b}/"),
        "microsoftGraphResourceId": format!("{b}/graph/"),
        "activeDirectoryDataLake": b,
        "sqlManagement": b,
        "gallery": format!("{b}/"),
        "suffixes": {
            "acrLoginServer": "azurecr.io",
            "keyVaultDns": "vault.azure.net",
            "storage": "core.windows.net",
            "sqlServerHostname": "database.windows.net",
        },
    });
    match api {
        Some(v) if v.at_least("2022-09-01") => return ArmResponse::json(200, &cloud),
        Some(v) if v.at_least("2019-05-01") => return ArmResponse::json(200, &json!([cloud])),
        _ => {}
    }
    ArmResponse::json(
        200,
        &json!({
            "galleryEndpoint": format!("{b}/"),
            "graphEndpoint": format!("{b}/graph/"),
            "portalEndpoint": b,
            "authentication": {"loginEndpoint": format!("{b}/"), "audiences": audiences},
        }),
    )
}
