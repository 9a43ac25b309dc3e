//! Every error the fake ACR answers, built in this one place.
//!
//! Bodies follow the distribution spec's envelope `{"errors":[{"code","message","detail"?}]}`
//! with its codes and HTTP statuses. The two messages a user of ACR actually sees and
//! searches for are ACR's own, verbatim from docs/azure.md D:
//! - firewall: 403 `DENIED` `client with IP '<ip>' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.`
//! - auth: 401 `UNAUTHORIZED` `authentication required, visit https://aka.ms/acr/authorization for more information.`
//!   with `Www-Authenticate: Bearer realm="https://<reg>.azurecr.io/oauth2/token",service="<reg>.azurecr.io"[,scope="…"]`.
//!
//! Those two carry no `detail` (docs/azure.md gives their bodies exactly). The others use
//! the distribution registry's messages. `MANIFEST_UNKNOWN` by tag uses ACR's wording
//! `manifest tagged by "<tag>" is not found` [I: what docker prints against ACR]. The data
//! endpoint fronts Azure Storage, so its signature errors are Storage's XML
//! (`AuthenticationFailed`) \[U\].

use serde_json::{Value, json};

use super::oci::Digest;

/// ACR's firewall denial message for a client address.
pub fn denied_message(client_ip: &str) -> String {
    format!("client with IP '{client_ip}' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.")
}

/// ACR's message for missing or refused credentials.
pub const UNAUTHORIZED_MESSAGE: &str =
    "authentication required, visit https://aka.ms/acr/authorization for more information.";

/// Largest manifest body accepted (the distribution registry's `maxManifestBodySize`).
pub const MAX_MANIFEST: usize = 4 * 1024 * 1024;

/// A registry error: HTTP status, spec code, message, optional detail and challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryError {
    /// HTTP status.
    pub status: u16,
    /// The spec's error code (`DENIED`, `UNAUTHORIZED`, `BLOB_UNKNOWN`…).
    pub code: &'static str,
    /// The message.
    pub message: String,
    /// Structured detail, when the registry gives one (boxed: errors travel in `Result`s).
    pub detail: Option<Box<Value>>,
    /// `Www-Authenticate` value for 401 answers.
    pub challenge: Option<String>,
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for RegistryError {}

impl RegistryError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> RegistryError {
        RegistryError { status, code, message: message.into(), detail: None, challenge: None }
    }

    fn with_detail(mut self, detail: Value) -> RegistryError {
        self.detail = Some(Box::new(detail));
        self
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut e = json!({"code": self.code, "message": self.message});
        if let Some(d) = &self.detail {
            e["detail"] = (**d).clone();
        }
        json!({ "errors": [e] })
    }

    /// 403 `DENIED`: the firewall refused the client address (docs/azure.md D).
    pub fn firewall_denied(client_ip: &str) -> RegistryError {
        RegistryError::new(403, "DENIED", denied_message(client_ip))
    }

    /// 401 `UNAUTHORIZED` with ACR's challenge; `scope` as in `repository:app:pull`,
    /// `None` for `/v2/` itself.
    pub fn unauthorized(login_server: &str, scope: Option<&str>) -> RegistryError {
        let mut e = RegistryError::new(401, "UNAUTHORIZED", UNAUTHORIZED_MESSAGE);
        e.challenge = Some(challenge(login_server, scope));
        e
    }

    /// 401 `UNAUTHORIZED` from the token endpoints (no challenge: they are the realm).
    pub fn token_refused() -> RegistryError {
        RegistryError::new(401, "UNAUTHORIZED", UNAUTHORIZED_MESSAGE)
    }

    /// 400: a token request that is not one (missing grant type or parameters).
    pub fn token_request_invalid(what: &str) -> RegistryError {
        RegistryError::new(400, "UNSUPPORTED", format!("invalid token request: {what}"))
    }

    /// 404 `BLOB_UNKNOWN`.
    pub fn blob_unknown(digest: &Digest) -> RegistryError {
        RegistryError::new(404, "BLOB_UNKNOWN", "blob unknown to registry").with_detail(json!(digest.as_str()))
    }

    /// 400 `BLOB_UPLOAD_INVALID`.
    pub fn blob_upload_invalid(detail: &str) -> RegistryError {
        RegistryError::new(400, "BLOB_UPLOAD_INVALID", "blob upload invalid").with_detail(json!(detail))
    }

    /// 404 `BLOB_UPLOAD_UNKNOWN`.
    pub fn blob_upload_unknown(id: &str) -> RegistryError {
        RegistryError::new(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry").with_detail(json!(id))
    }

    /// 400 `DIGEST_INVALID`: malformed, missing, or not matching the content.
    pub fn digest_invalid(detail: &str) -> RegistryError {
        RegistryError::new(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
            .with_detail(json!(detail))
    }

    /// 400 `MANIFEST_BLOB_UNKNOWN`: a manifest references a blob or manifest the
    /// repository does not hold.
    pub fn manifest_blob_unknown(digest: &Digest) -> RegistryError {
        RegistryError::new(400, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry").with_detail(json!(digest.as_str()))
    }

    /// 400 `MANIFEST_INVALID`.
    pub fn manifest_invalid(detail: &str) -> RegistryError {
        RegistryError::new(400, "MANIFEST_INVALID", "manifest invalid").with_detail(json!(detail))
    }

    /// 404 `MANIFEST_UNKNOWN` (ACR's wording for a tag).
    pub fn manifest_unknown(reference: &str) -> RegistryError {
        if reference.starts_with("sha256:") {
            RegistryError::new(404, "MANIFEST_UNKNOWN", "manifest unknown").with_detail(json!(reference))
        } else {
            RegistryError::new(404, "MANIFEST_UNKNOWN", format!("manifest tagged by \"{reference}\" is not found"))
                .with_detail(json!({"Tag": reference}))
        }
    }

    /// 404 `TAG_UNKNOWN` (`/acr/v1/<repo>/_tags/<tag>`), ACR's wording \[I\].
    pub fn tag_unknown(tag: &str) -> RegistryError {
        RegistryError::new(404, "TAG_UNKNOWN", "the specified tag does not exist").with_detail(json!({"Tag": tag}))
    }

    /// 400 `TAG_INVALID`: not a tag by the OCI grammar.
    pub fn tag_invalid(tag: &str) -> RegistryError {
        RegistryError::new(400, "TAG_INVALID", "manifest tag did not match URI").with_detail(json!(tag))
    }

    /// 400 `UNSUPPORTED`: a `PATCH /acr/v1/…` body that is not an object of the changeable
    /// attributes' booleans \[U: the code ACR gives\].
    pub fn attributes_invalid(detail: &str) -> RegistryError {
        RegistryError::new(400, "UNSUPPORTED", "invalid changeable attributes").with_detail(json!(detail))
    }

    /// 400 `UNSUPPORTED`: a query parameter of a listing with a value it does not take
    /// (`orderby`) \[U: the code ACR gives\].
    pub fn parameter_invalid(name: &str, value: &str) -> RegistryError {
        RegistryError::new(400, "UNSUPPORTED", format!("invalid value for '{name}'")).with_detail(json!(value))
    }

    /// 400 `NAME_INVALID`.
    pub fn name_invalid(name: &str) -> RegistryError {
        RegistryError::new(400, "NAME_INVALID", "invalid repository name").with_detail(json!(name))
    }

    /// 404 `NAME_UNKNOWN`.
    pub fn name_unknown(name: &str) -> RegistryError {
        RegistryError::new(404, "NAME_UNKNOWN", "repository name not known to registry")
            .with_detail(json!({"name": name}))
    }

    /// 400 `SIZE_INVALID`: the body's length differs from what the request declared.
    pub fn size_invalid(detail: &str) -> RegistryError {
        RegistryError::new(400, "SIZE_INVALID", "provided length did not match content length")
            .with_detail(json!(detail))
    }

    /// 416 `RANGE_INVALID`: a chunk that does not start where the upload stands.
    pub fn range_invalid(offset: u64) -> RegistryError {
        RegistryError::new(416, "RANGE_INVALID", "invalid content range")
            .with_detail(json!(format!("the upload is at offset {offset}")))
    }

    /// 400 `PAGINATION_NUMBER_INVALID`: `n` of a listing is not a number.
    pub fn pagination_invalid(n: &str) -> RegistryError {
        RegistryError::new(400, "PAGINATION_NUMBER_INVALID", "invalid number of results requested")
            .with_detail(json!(n))
    }

    /// 405 `UNSUPPORTED`.
    pub fn unsupported(what: &str) -> RegistryError {
        RegistryError::new(405, "UNSUPPORTED", "The operation is unsupported.").with_detail(json!(what))
    }

    /// 404 for a path that is no registry API.
    pub fn not_found(path: &str) -> RegistryError {
        RegistryError::new(404, "NOT_FOUND", "the requested resource was not found").with_detail(json!(path))
    }

    /// 404: the host name names no registry (it was deleted after the connection began).
    pub fn registry_unknown(host: &str) -> RegistryError {
        RegistryError::new(404, "NAME_UNKNOWN", format!("registry '{host}' not found"))
    }

    /// 413: a body past the limit of a request that is not an upload.
    pub fn too_large(limit: usize) -> RegistryError {
        RegistryError::new(413, "SIZE_INVALID", format!("request body larger than {limit} bytes"))
    }

    /// 413 `SIZE_INVALID`: a blob beyond the store's maximum blob size (ACR's per-layer
    /// limit is 200 GiB; pullsim's stores have their own, see
    /// [`BlobStore::max_blob_size`](super::storage::BlobStore::max_blob_size)).
    pub fn blob_too_large(limit: u64) -> RegistryError {
        RegistryError::new(413, "SIZE_INVALID", format!("blob larger than this registry's limit of {limit} bytes"))
    }

    /// 500: the store failed (never a client's fault).
    pub fn internal(detail: &str) -> RegistryError {
        RegistryError::new(500, "UNKNOWN", "unknown error").with_detail(json!(detail))
    }
}

/// The `Www-Authenticate` challenge of ACR's login server.
pub fn challenge(login_server: &str, scope: Option<&str>) -> String {
    let mut c = format!("Bearer realm=\"https://{login_server}/oauth2/token\",service=\"{login_server}\"");
    if let Some(s) = scope {
        c.push_str(&format!(",scope=\"{s}\""));
    }
    c
}

/// A data-endpoint (Azure Storage) error: status, code and message as Storage's XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageFault {
    /// HTTP status.
    pub status: u16,
    /// Storage error code.
    pub code: &'static str,
    /// Message.
    pub message: &'static str,
}

impl StorageFault {
    /// 403 `AuthenticationFailed`: no, a wrong, or an expired signature.
    pub fn auth_failed(expired: bool) -> StorageFault {
        StorageFault {
            status: 403,
            code: "AuthenticationFailed",
            message: if expired {
                "Server failed to authenticate the request. Signed expiry time has passed."
            } else {
                "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature."
            },
        }
    }

    /// 404 `BlobNotFound`.
    pub fn blob_not_found() -> StorageFault {
        StorageFault { status: 404, code: "BlobNotFound", message: "The specified blob does not exist." }
    }

    /// 416 `InvalidRange`.
    pub fn invalid_range() -> StorageFault {
        StorageFault {
            status: 416,
            code: "InvalidRange",
            message: "The range specified is invalid for the current size of the resource.",
        }
    }

    /// The XML body.
    pub fn body(&self) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{}</Code><Message>{}</Message></Error>",
            self.code, self.message
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acr_messages_are_verbatim() {
        assert_eq!(
            RegistryError::firewall_denied("20.1.2.3").body().to_string(),
            r#"{"errors":[{"code":"DENIED","message":"client with IP '20.1.2.3' is not allowed access. Refer https://aka.ms/acr/firewall to grant access."}]}"#
        );
        let e = RegistryError::unauthorized("reg.azurecr.io", Some("repository:app:pull"));
        assert_eq!(
            e.body().to_string(),
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required, visit https://aka.ms/acr/authorization for more information."}]}"#
        );
        assert_eq!(
            e.challenge.as_deref(),
            Some(
                r#"Bearer realm="https://reg.azurecr.io/oauth2/token",service="reg.azurecr.io",scope="repository:app:pull""#
            )
        );
    }
}
