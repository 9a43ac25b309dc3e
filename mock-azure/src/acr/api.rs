//! The registry's HTTP surface: routing, the OCI distribution API on the login server,
//! ACR's token endpoints, and the data endpoint.
//!
//! Every request goes: host (from SNI) → registry in the store → firewall → (data
//! endpoint: signed URL → blob) | (login server: token endpoints, or route → auth →
//! handler; ACR's own `/acr/v1/` routes are parsed and answered by `v1.rs`). Client mistakes are 4xx with the spec's codes; only a failing disk is 5xx.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, Method, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;

use super::Acr;
use super::auth::{self, Action, AuthCtx, BLOB_URL_LIFETIME, Credentials, Need, UrlError};
use super::body::Body;
use super::errors::{MAX_MANIFEST, RegistryError, StorageFault};
use super::firewall;
use super::host::{ConnInfo, HostKind};
use super::oci::{Digest, GrammarError, Manifest, Reference, RepoName, media, parse_manifest};
use super::referrers;
use super::respond::{
    BODY_IDLE_TIMEOUT, MAX_DRAIN, MAX_FORM, Read, builder, drain, error_response, finish, header, internal,
    json_response, page, read_limited,
};
use super::storage::{BlobStore, ByteRange, Repo, Staging, StorageError, StoredManifest};
use super::uploads::Session;
use super::v1;
use crate::model::view::Registry;

/// A route of the distribution API.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Base,
    Catalog,
    Tags(RepoName),
    Manifest(RepoName, Result<Reference, String>),
    Blob(RepoName, Digest),
    UploadStart(RepoName),
    Upload(RepoName, String),
    Referrers(RepoName, Digest),
}

fn repo_name(s: &str) -> Result<RepoName, RegistryError> {
    RepoName::parse(s).ok_or_else(|| RegistryError::name_invalid(s))
}

/// The challenge of a refused cross-repository mount names the source's pull scope
/// beside the target's push scope, as the distribution registry's does: a client that
/// follows it gets a token that allows the mount (201) instead of a plain upload.
fn mount_challenge(e: RegistryError, registry: &Registry, route: &Route, query: &[(String, String)]) -> RegistryError {
    let Route::UploadStart(to) = route else { return e };
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let (Some(_), Some(from)) = (get("mount"), get("from").and_then(RepoName::parse)) else { return e };
    if e.status != 401 {
        return e;
    }
    let scope = format!("repository:{to}:pull,push repository:{from}:pull");
    RegistryError::unauthorized(&auth::login_server(registry), Some(&scope))
}

fn upload_id_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Parses a `/v2/...` path (not percent-decoded: a `%2e%2e` is not a name).
fn parse_route(path: &str) -> Result<Route, RegistryError> {
    let Some(rest) = path.strip_prefix("/v2/").or_else(|| (path == "/v2").then_some("")) else {
        return Err(RegistryError::not_found(path));
    };
    if rest.is_empty() {
        return Ok(Route::Base);
    }
    if rest == "_catalog" {
        return Ok(Route::Catalog);
    }
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Ok(Route::Tags(repo_name(name)?));
    }
    if let Some(name) = rest.strip_suffix("/blobs/uploads/").or_else(|| rest.strip_suffix("/blobs/uploads")) {
        return Ok(Route::UploadStart(repo_name(name)?));
    }
    if let Some((name, id)) = rest.rsplit_once("/blobs/uploads/")
        && !id.contains('/')
    {
        let name = repo_name(name)?;
        return Ok(Route::Upload(name, id.to_string()));
    }
    if let Some((name, digest)) = rest.rsplit_once("/referrers/")
        && !digest.contains('/')
    {
        let name = repo_name(name)?;
        let d = Digest::parse(digest)
            .ok_or_else(|| RegistryError::digest_invalid(&format!("invalid digest '{digest}'")))?;
        return Ok(Route::Referrers(name, d));
    }
    if let Some((name, reference)) = rest.rsplit_once("/manifests/")
        && !reference.contains('/')
    {
        let name = repo_name(name)?;
        return match Reference::parse(reference) {
            Ok(r) => Ok(Route::Manifest(name, Ok(r))),
            Err(GrammarError::BadDigest(_)) => {
                Err(RegistryError::digest_invalid(&format!("invalid digest '{reference}'")))
            }
            Err(_) => Ok(Route::Manifest(name, Err(reference.to_string()))),
        };
    }
    if let Some((name, digest)) = rest.rsplit_once("/blobs/")
        && !digest.contains('/')
    {
        let name = repo_name(name)?;
        let d = Digest::parse(digest)
            .ok_or_else(|| RegistryError::digest_invalid(&format!("invalid digest '{digest}'")))?;
        return Ok(Route::Blob(name, d));
    }
    // A path that names no API route: if its repository part is malformed, say so.
    Err(RegistryError::not_found(path))
}

fn need(route: &Route, method: &Method) -> Result<Need, RegistryError> {
    let repo = |r: &RepoName, a| Ok(Need::Repo(r.clone(), a));
    let read = method == Method::GET || method == Method::HEAD;
    match route {
        Route::Base if read => Ok(Need::Base),
        Route::Catalog if method == Method::GET => Ok(Need::Catalog),
        Route::Tags(r) if method == Method::GET => repo(r, Action::Pull),
        Route::Referrers(r, _) if method == Method::GET => repo(r, Action::Pull),
        Route::Manifest(r, _) if read => repo(r, Action::Pull),
        Route::Manifest(r, _) if method == Method::PUT => repo(r, Action::Push),
        Route::Manifest(r, _) if method == Method::DELETE => repo(r, Action::Delete),
        Route::Blob(r, _) if read => repo(r, Action::Pull),
        Route::Blob(r, _) if method == Method::DELETE => repo(r, Action::Delete),
        Route::UploadStart(r) if method == Method::POST => repo(r, Action::Push),
        Route::Upload(r, _) if [Method::GET, Method::PATCH, Method::PUT, Method::DELETE].contains(method) => {
            repo(r, Action::Push)
        }
        _ => Err(RegistryError::unsupported(&format!("{method} is not supported here"))),
    }
}

pub(crate) use crate::form::parse_form;

fn storage_response(f: &StorageFault) -> Response<Body> {
    finish(
        Response::builder()
            .status(StatusCode::from_u16(f.status).unwrap_or(StatusCode::FORBIDDEN))
            .header("content-type", "application/xml")
            .header("x-ms-error-code", f.code),
        Body::bytes(f.body()),
    )
}

/// Appends a request body to an upload as one chunk, as it arrives; on any failure the
/// chunk is rolled back, so a truncated or refused chunk leaves the upload as it was. An
/// upload that would grow past `max` bytes is refused (413) before or as it crosses it.
async fn stage_chunk<B>(
    staging: &mut dyn Staging,
    body: &mut B,
    headers: &HeaderMap,
    max: u64,
) -> Result<u64, RegistryError>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
{
    let start = staging.len();
    let declared_len = header(headers, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
    if declared_len.is_some_and(|n| start.saturating_add(n) > max) {
        return Err(RegistryError::blob_too_large(max));
    }
    if let Some(range) = header(headers, "content-range") {
        let parsed = range
            .trim()
            .trim_start_matches("bytes ")
            .split_once('-')
            .and_then(|(a, b)| Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?)));
        match parsed {
            Some((a, _)) if a != start => {
                drain(body, MAX_DRAIN).await;
                return Err(RegistryError::range_invalid(start));
            }
            None => {
                drain(body, MAX_DRAIN).await;
                return Err(RegistryError::blob_upload_invalid(&format!("malformed Content-Range '{range}'")));
            }
            _ => {}
        }
    }
    staging.mark();
    let outcome: Result<(), RegistryError> = async {
        loop {
            match tokio::time::timeout(BODY_IDLE_TIMEOUT, body.frame()).await {
                Err(_) => return Err(RegistryError::size_invalid("the request body stopped arriving")),
                Ok(Some(Err(_))) => {
                    return Err(RegistryError::size_invalid("the request body ended before its declared length"));
                }
                Ok(None) => return Ok(()),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        if staging.len() + data.len() as u64 > max {
                            return Err(RegistryError::blob_too_large(max));
                        }
                        staging.append(&data).await.map_err(|e| internal(&e))?;
                    }
                }
            }
        }
    }
    .await;
    let received = staging.len() - start;
    let range_len = header(headers, "content-range")
        .and_then(|r| {
            r.trim().trim_start_matches("bytes ").split_once('-').map(|(a, b)| (a.to_string(), b.to_string()))
        })
        .and_then(|(a, b)| Some(b.trim().parse::<u64>().ok()?.checked_sub(a.trim().parse::<u64>().ok()?)? + 1));
    let outcome = outcome.and_then(|()| match (declared_len, range_len) {
        (Some(n), _) if n != received => {
            Err(RegistryError::size_invalid(&format!("Content-Length is {n} but {received} bytes arrived")))
        }
        (_, Some(n)) if n != received => {
            Err(RegistryError::size_invalid(&format!("Content-Range covers {n} bytes but {received} arrived")))
        }
        _ => Ok(()),
    });
    match outcome {
        Ok(()) => Ok(received),
        Err(e) => {
            staging.rollback().await.map_err(|e| internal(&e))?;
            Err(e)
        }
    }
}

fn upload_response(status: u16, repo: &RepoName, id: &str, len: u64) -> Response<Body> {
    let end = len.saturating_sub(1);
    finish(
        builder(status)
            .header("location", format!("/v2/{repo}/blobs/uploads/{id}"))
            .header("range", format!("0-{end}"))
            .header("docker-upload-uuid", id)
            .header("content-length", "0"),
        Body::empty(),
    )
}

fn created_blob(repo: &RepoName, digest: &Digest) -> Response<Body> {
    finish(
        builder(201)
            .header("location", format!("/v2/{repo}/blobs/{digest}"))
            .header("docker-content-digest", digest.as_str())
            .header("content-length", "0"),
        Body::empty(),
    )
}

/// Stores a manifest after checking it the way the registry checks a PUT: known media
/// type, well-formed, digest matching the reference if one is given, and every blob or
/// child manifest it references present in the repository. Used by the API and by
/// image import, so both refuse the same things.
pub async fn put_manifest_checked(
    blobs: &dyn BlobStore,
    repo: &Repo,
    bytes: Bytes,
    content_type: Option<&str>,
    reference: &Reference,
) -> Result<Digest, RegistryError> {
    if bytes.len() > MAX_MANIFEST {
        return Err(RegistryError::manifest_invalid(&format!("manifest larger than {MAX_MANIFEST} bytes")));
    }
    let parsed = parse_manifest(&bytes, content_type).map_err(|e| RegistryError::manifest_invalid(&e.to_string()))?;
    let digest = Digest::of(&bytes);
    if let Reference::Digest(d) = reference
        && *d != digest
    {
        return Err(RegistryError::digest_invalid(&format!("the manifest's digest is {digest}, not {d}")));
    }
    let mut blob_refs: Vec<&Digest> = Vec::new();
    let mut manifest_refs: Vec<&Digest> = Vec::new();
    match &parsed.manifest {
        Manifest::Image { config, layers } => {
            blob_refs.push(&config.digest);
            blob_refs.extend(layers.iter().filter(|l| !l.foreign).map(|l| &l.digest));
        }
        Manifest::Index { manifests } => manifest_refs.extend(manifests.iter().map(|m| &m.digest)),
        Manifest::Schema1 { blobs } => blob_refs.extend(blobs.iter()),
    }
    for d in blob_refs {
        if blobs.blob_size(repo, d).await.map_err(|e| internal(&e))?.is_none() {
            return Err(RegistryError::manifest_blob_unknown(d));
        }
    }
    for d in manifest_refs {
        let r = Reference::Digest(d.clone());
        if blobs.get_manifest(repo, &r).await.map_err(|e| internal(&e))?.is_none() {
            return Err(RegistryError::manifest_blob_unknown(d));
        }
    }
    let tag = match reference {
        Reference::Tag(t) => Some(t.as_str()),
        Reference::Digest(_) => None,
    };
    let stored = StoredManifest { digest: digest.clone(), media_type: parsed.media_type, bytes };
    blobs.put_manifest(repo, &stored, tag).await.map_err(|e| internal(&e))?;
    Ok(digest)
}

fn parse_range(h: Option<&str>, size: u64) -> Result<Option<ByteRange>, ()> {
    let Some(spec) = h.and_then(|v| v.trim().strip_prefix("bytes=")) else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (a, b) = (a.trim(), b.trim());
    let r = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 || size == 0 {
            return Err(());
        }
        ByteRange { start: size.saturating_sub(n), end: size - 1 }
    } else {
        let start: u64 = a.parse().map_err(|_| ())?;
        let end = if b.is_empty() {
            size.saturating_sub(1)
        } else {
            b.parse::<u64>().map_err(|_| ())?.min(size.saturating_sub(1))
        };
        ByteRange { start, end }
    };
    if size == 0 || r.start > r.end || r.start >= size { Err(()) } else { Ok(Some(r)) }
}

impl Acr {
    fn auth_ctx(&self) -> AuthCtx<'_> {
        AuthCtx {
            store: &self.store,
            signer: &self.signer,
            tenant: &self.tenant_id,
            now: crate::identity::token::now(),
        }
    }

    /// Answers one request that arrived on `conn`. Never panics; 5xx only when the
    /// store fails.
    pub async fn handle<B>(&self, conn: &ConnInfo, req: http::Request<B>) -> Response<Body>
    where
        B: hyper::body::Body<Data = Bytes> + Send + Unpin,
        B::Error: std::fmt::Display,
    {
        let (parts, mut body) = req.into_parts();
        let head = parts.method == Method::HEAD;
        let mut resp = match self.find_host(&conn.host) {
            None => error_response(&RegistryError::registry_unknown(&conn.host)),
            Some((registry, kind)) => {
                let verdict = firewall::decide(&self.store, &registry, conn.endpoint.as_ref(), &conn.client);
                if !verdict.allowed {
                    tracing::debug!(host = %conn.host, client = %conn.client, reason = ?verdict.reason, "ACR firewall denied");
                    drain(&mut body, MAX_DRAIN).await;
                    error_response(&RegistryError::firewall_denied(&conn.client.ip.to_string()))
                } else {
                    match kind {
                        HostKind::Data => self.data_endpoint(&registry, &parts).await,
                        HostKind::Login => match self.login_server(&registry, &parts, &mut body).await {
                            Ok(r) => r,
                            Err(e) => {
                                drain(&mut body, MAX_DRAIN).await;
                                error_response(&e)
                            }
                        },
                    }
                }
            }
        };
        tracing::debug!(host = %conn.host, method = %parts.method, path = %parts.uri.path(), status = resp.status().as_u16(), "ACR");
        if head {
            *resp.body_mut() = Body::empty();
        }
        resp
    }

    async fn login_server<B>(
        &self,
        registry: &Registry,
        parts: &Parts,
        body: &mut B,
    ) -> Result<Response<Body>, RegistryError>
    where
        B: hyper::body::Body<Data = Bytes> + Send + Unpin,
    {
        let path = parts.uri.path();
        let query = parse_form(parts.uri.query().unwrap_or_default());
        let creds = Credentials::parse(header(&parts.headers, "authorization"));
        let ctx = self.auth_ctx();
        match path {
            "/oauth2/token" | "/oauth2/exchange" => {
                let is_post = parts.method == Method::POST;
                if !(is_post || path == "/oauth2/token" && parts.method == Method::GET) {
                    return Err(RegistryError::unsupported(&format!("{} {path}", parts.method)));
                }
                let out = if is_post {
                    let form = match read_limited(body, MAX_FORM).await {
                        Read::Done(b) => parse_form(&String::from_utf8_lossy(&b)),
                        Read::TooLarge => return Err(RegistryError::too_large(MAX_FORM)),
                        Read::Broken => return Err(RegistryError::token_request_invalid("the form did not arrive")),
                    };
                    if path == "/oauth2/exchange" {
                        auth::exchange(&ctx, registry, &form)?
                    } else {
                        auth::token_post(&ctx, registry, &form)?
                    }
                } else {
                    auth::token_get(&ctx, registry, &creds, &query)?
                };
                return Ok(json_response(200, &out));
            }
            _ => {}
        }
        if let Some(route) = v1::parse(path) {
            let route = route?;
            auth::authorize(&ctx, registry, &creds, &v1::need(&route, &parts.method)?)?;
            return self.acr_v1(registry, route, &query, parts, body).await;
        }
        let route = parse_route(path)?;
        let need = need(&route, &parts.method)?;
        auth::authorize(&ctx, registry, &creds, &need).map_err(|e| mount_challenge(e, registry, &route, &query))?;
        let reg_name = registry.name_lower();
        let repo_of = |name: &RepoName| {
            Repo::new(&reg_name, name.clone()).ok_or_else(|| RegistryError::registry_unknown(&reg_name))
        };
        let blobs = self.blobs.as_ref();
        match route {
            Route::Base => Ok(json_response(200, &json!({}))),
            Route::Catalog => {
                let all = blobs.repositories(&reg_name).await.map_err(|e| internal(&e))?;
                let (items, next) = page(&query, all)?;
                let mut b = builder(200).header("content-type", "application/json; charset=utf-8");
                if let Some((n, last)) = next {
                    b = b.header("link", format!("</v2/_catalog?n={n}&last={last}>; rel=\"next\""));
                }
                Ok(finish(b, Body::bytes(json!({ "repositories": items }).to_string())))
            }
            Route::Tags(name) => {
                let repo = repo_of(&name)?;
                let all = blobs
                    .tags(&repo)
                    .await
                    .map_err(|e| internal(&e))?
                    .ok_or_else(|| RegistryError::name_unknown(name.as_str()))?;
                let (items, next) = page(&query, all)?;
                let mut b = builder(200).header("content-type", "application/json; charset=utf-8");
                if let Some((n, last)) = next {
                    b = b.header("link", format!("</v2/{name}/tags/list?n={n}&last={last}>; rel=\"next\""));
                }
                Ok(finish(b, Body::bytes(json!({"name": name.as_str(), "tags": items}).to_string())))
            }
            Route::Manifest(name, reference) => {
                let repo = repo_of(&name)?;
                self.manifest(&repo, reference, parts, body).await
            }
            Route::Referrers(name, subject) => {
                let repo = repo_of(&name)?;
                let filter = query.iter().find(|(k, _)| k == "artifactType").map(|(_, v)| v.as_str());
                let index = referrers::index(blobs, &repo, &subject, filter).await?;
                let mut b = builder(200).header("content-type", media::OCI_INDEX);
                if filter.is_some() {
                    b = b.header(referrers::OCI_FILTERS_APPLIED, "artifactType");
                }
                Ok(finish(b, Body::bytes(index.to_string())))
            }
            Route::Blob(name, digest) => {
                let repo = repo_of(&name)?;
                if parts.method == Method::DELETE {
                    // The repository's link goes; other repositories keep theirs (202, as
                    // the distribution spec answers a delete).
                    return match blobs.unlink_blob(&repo, &digest).await.map_err(|e| internal(&e))? {
                        Some(true) => Ok(finish(builder(202).header("content-length", "0"), Body::empty())),
                        Some(false) => Err(RegistryError::blob_unknown(&digest)),
                        None => Err(RegistryError::unsupported("deleting blobs")),
                    };
                }
                let size = blobs
                    .blob_size(&repo, &digest)
                    .await
                    .map_err(|e| internal(&e))?
                    .ok_or_else(|| RegistryError::blob_unknown(&digest))?;
                // HEAD is answered here, without a redirect: pushing clients ask it to
                // learn whether a blob exists, and need no content [U].
                if parts.method == Method::HEAD {
                    return Ok(finish(
                        builder(200)
                            .header("content-type", "application/octet-stream")
                            .header("content-length", size.to_string())
                            .header("docker-content-digest", digest.as_str()),
                        Body::empty(),
                    ));
                }
                let location = self.data_url(registry, &repo, &digest);
                Ok(finish(
                    builder(307).header("location", location).header("docker-content-digest", digest.as_str()),
                    Body::empty(),
                ))
            }
            Route::UploadStart(name) => {
                let repo = repo_of(&name)?;
                self.upload_start(registry, &repo, &query, parts, body).await
            }
            Route::Upload(name, id) => {
                let repo = repo_of(&name)?;
                self.upload(&repo, &id, &query, parts, body).await
            }
        }
    }

    /// The signed data-endpoint URL a blob GET is redirected to. The URL carries Azure's
    /// name and port (443); the network (the worker's dialer, the test's proxy) maps the
    /// endpoint's modeled address and port to the real listener.
    ///
    /// Always the data endpoint, whatever `dataEndpointEnabled` says: without dedicated
    /// data endpoints Azure redirects to the registry's storage account instead \[I\], but
    /// behind a private endpoint (what pullsim is about) clients reach the
    /// `registry_data_<region>` member, and the data endpoint is where that pull fails
    /// when its record or address is missing.
    fn data_url(&self, registry: &Registry, repo: &Repo, digest: &Digest) -> String {
        let expiry = crate::identity::token::now() + BLOB_URL_LIFETIME;
        let sig = self.urls.sign(&repo.registry, repo.name.as_str(), digest, expiry);
        format!("https://{}/v2/{}/blobs/{digest}?se={expiry}&sig={sig}", registry.data_host(), repo.name)
    }

    async fn manifest<B>(
        &self,
        repo: &Repo,
        reference: Result<Reference, String>,
        parts: &Parts,
        body: &mut B,
    ) -> Result<Response<Body>, RegistryError>
    where
        B: hyper::body::Body<Data = Bytes> + Send + Unpin,
    {
        let blobs = self.blobs.as_ref();
        if parts.method == Method::PUT {
            let reference = reference.map_err(|r| RegistryError::manifest_invalid(&format!("invalid tag '{r}'")))?;
            if header(&parts.headers, "content-length")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .is_some_and(|n| n > MAX_MANIFEST as u64)
            {
                return Err(RegistryError::manifest_invalid(&format!("manifest larger than {MAX_MANIFEST} bytes")));
            }
            let bytes = match read_limited(body, MAX_MANIFEST).await {
                Read::Done(b) => b,
                Read::TooLarge => {
                    return Err(RegistryError::manifest_invalid(&format!("manifest larger than {MAX_MANIFEST} bytes")));
                }
                Read::Broken => return Err(RegistryError::size_invalid("the manifest body did not arrive whole")),
            };
            let ct = header(&parts.headers, "content-type");
            let subject = referrers::subject_of(&bytes);
            let digest = put_manifest_checked(blobs, repo, bytes, ct, &reference).await?;
            let mut b = builder(201)
                .header("location", format!("/v2/{}/manifests/{digest}", repo.name))
                .header("docker-content-digest", digest.as_str())
                .header("content-length", "0");
            // OCI 1.1: the registry tells the client it indexed the subject (so the client
            // need not keep the referrers tag itself).
            if let Some(subject) = subject {
                b = b.header(referrers::OCI_SUBJECT, subject);
            }
            return Ok(finish(b, Body::empty()));
        }
        let reference = match reference {
            Ok(r) => r,
            Err(r) => return Err(RegistryError::manifest_unknown(&r)),
        };
        if parts.method == Method::DELETE {
            return if blobs.delete_manifest(repo, &reference).await.map_err(|e| internal(&e))? {
                Ok(finish(builder(202).header("content-length", "0"), Body::empty()))
            } else {
                Err(RegistryError::manifest_unknown(&reference.to_string()))
            };
        }
        match blobs.get_manifest(repo, &reference).await.map_err(|e| internal(&e))? {
            Some(m) => Ok(finish(
                builder(200)
                    .header("content-type", &m.media_type)
                    .header("content-length", m.bytes.len().to_string())
                    .header("docker-content-digest", m.digest.as_str())
                    .header("etag", format!("\"{}\"", m.digest)),
                Body::bytes(m.bytes),
            )),
            None => {
                if blobs.tags(repo).await.map_err(|e| internal(&e))?.is_none() {
                    Err(RegistryError::name_unknown(repo.name.as_str()))
                } else {
                    Err(RegistryError::manifest_unknown(&reference.to_string()))
                }
            }
        }
    }

    async fn upload_start<B>(
        &self,
        registry: &Registry,
        repo: &Repo,
        query: &[(String, String)],
        parts: &Parts,
        body: &mut B,
    ) -> Result<Response<Body>, RegistryError>
    where
        B: hyper::body::Body<Data = Bytes> + Send + Unpin,
    {
        let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let blobs = self.blobs.as_ref();
        // Cross-repository mount: only from a repository the caller may pull; otherwise
        // (or when the source lacks the blob) a plain upload starts, as the spec says.
        if let (Some(mount), Some(from)) = (get("mount"), get("from")) {
            let digest = Digest::parse(mount)
                .ok_or_else(|| RegistryError::digest_invalid(&format!("invalid digest '{mount}'")))?;
            let from = repo_name(from)?;
            let creds = Credentials::parse(header(&parts.headers, "authorization"));
            let may_pull =
                auth::authorize(&self.auth_ctx(), registry, &creds, &Need::Repo(from.clone(), Action::Pull)).is_ok();
            if let Some(from_repo) = Repo::new(&repo.registry, from)
                && may_pull
                && blobs.mount_blob(&from_repo, repo, &digest).await.map_err(|e| internal(&e))?
            {
                drain(body, MAX_DRAIN).await;
                return Ok(created_blob(&repo.name, &digest));
            }
        }
        let monolithic = match get("digest") {
            Some(d) => {
                Some(Digest::parse(d).ok_or_else(|| RegistryError::digest_invalid(&format!("invalid digest '{d}'")))?)
            }
            None => None,
        };
        let mut staging = blobs.begin_upload(&repo.registry).await.map_err(|e| internal(&e))?;
        if let Some(digest) = monolithic {
            // Monolithic single-request upload.
            stage_chunk(staging.as_mut(), body, &parts.headers, self.max_blob()).await?;
            return match staging.commit(repo, &digest).await {
                Ok(_) => Ok(created_blob(&repo.name, &digest)),
                Err(StorageError::DigestMismatch { actual, .. }) => {
                    Err(RegistryError::digest_invalid(&format!("the content's digest is {actual}, not {digest}")))
                }
                Err(e) => Err(internal(&e)),
            };
        }
        drain(body, MAX_DRAIN).await;
        let id = super::uploads::random_id();
        self.purge_idle_uploads();
        let session = Session { repo: repo.clone(), staging: Some(staging), last_used: Instant::now() };
        self.uploads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), Arc::new(tokio::sync::Mutex::new(session)));
        Ok(upload_response(202, &repo.name, &id, 0))
    }

    /// The largest blob an upload may stage here.
    fn max_blob(&self) -> u64 {
        let store = self.blobs.max_blob_size();
        self.limits.max_blob.map_or(store, |m| m.min(store))
    }

    /// Drops the upload sessions idle for longer than the limit, and their staged bytes
    /// (a session in use is never idle). The server calls it periodically; returns how
    /// many were dropped.
    pub fn purge_idle_uploads(&self) -> usize {
        let idle = self.limits.session_idle;
        let mut expired = Vec::new();
        {
            let mut map = self.uploads.lock().unwrap_or_else(|e| e.into_inner());
            map.retain(|_, s| match s.try_lock() {
                Ok(st) if st.last_used.elapsed() >= idle => {
                    expired.push(s.clone());
                    false
                }
                _ => true,
            });
        }
        // Staged bytes are freed (or their files removed) outside the map's lock.
        let n = expired.len();
        drop(expired);
        if n > 0 {
            tracing::debug!(sessions = n, "expired idle upload sessions");
        }
        n
    }

    async fn upload<B>(
        &self,
        repo: &Repo,
        id: &str,
        query: &[(String, String)],
        parts: &Parts,
        body: &mut B,
    ) -> Result<Response<Body>, RegistryError>
    where
        B: hyper::body::Body<Data = Bytes> + Send + Unpin,
    {
        let unknown = || RegistryError::blob_upload_unknown(id);
        if !upload_id_ok(id) {
            return Err(unknown());
        }
        let session = self.uploads.lock().unwrap_or_else(|e| e.into_inner()).get(id).cloned().ok_or_else(unknown)?;
        let mut s = session.lock().await;
        if s.repo != *repo {
            return Err(unknown());
        }
        if s.last_used.elapsed() >= self.limits.session_idle {
            s.staging = None;
            drop(s);
            self.uploads.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
            return Err(unknown());
        }
        s.last_used = Instant::now();
        match parts.method {
            Method::GET => {
                let n = s.staging.as_ref().map_or(0, |st| st.len());
                Ok(upload_response(204, &repo.name, id, n))
            }
            Method::DELETE => {
                s.staging = None;
                drop(s);
                self.uploads.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
                Ok(finish(builder(204), Body::empty()))
            }
            Method::PATCH => {
                let max = self.max_blob();
                let staging = s.staging.as_mut().ok_or_else(unknown)?;
                stage_chunk(staging.as_mut(), body, &parts.headers, max).await?;
                let n = staging.len();
                Ok(upload_response(202, &repo.name, id, n))
            }
            Method::PUT => {
                let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
                let digest = match get("digest") {
                    None => return Err(RegistryError::digest_invalid("the digest parameter is missing")),
                    Some(d) => Digest::parse(d)
                        .ok_or_else(|| RegistryError::digest_invalid(&format!("invalid digest '{d}'")))?,
                };
                {
                    let max = self.max_blob();
                    let staging = s.staging.as_mut().ok_or_else(unknown)?;
                    stage_chunk(staging.as_mut(), body, &parts.headers, max).await?;
                }
                // The upload ends here whatever the outcome, as in the distribution registry.
                let staging = s.staging.take().ok_or_else(unknown)?;
                drop(s);
                self.uploads.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
                match staging.commit(repo, &digest).await {
                    Ok(_) => Ok(created_blob(&repo.name, &digest)),
                    Err(StorageError::DigestMismatch { actual, .. }) => {
                        Err(RegistryError::digest_invalid(&format!("the content's digest is {actual}, not {digest}")))
                    }
                    Err(e) => Err(internal(&e)),
                }
            }
            _ => Err(RegistryError::unsupported(&format!("{} on an upload", parts.method))),
        }
    }

    async fn data_endpoint(&self, registry: &Registry, parts: &Parts) -> Response<Body> {
        if parts.method != Method::GET && parts.method != Method::HEAD {
            return storage_response(&StorageFault::blob_not_found());
        }
        let Ok(Route::Blob(name, digest)) = parse_route(parts.uri.path()) else {
            return storage_response(&StorageFault::blob_not_found());
        };
        let query = parse_form(parts.uri.query().unwrap_or_default());
        let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let reg_name = registry.name_lower();
        let (Some(expiry), Some(sig)) = (get("se").and_then(|s| s.parse::<u64>().ok()), get("sig")) else {
            return storage_response(&StorageFault::auth_failed(false));
        };
        let now = crate::identity::token::now();
        match self.urls.verify(&reg_name, name.as_str(), &digest, expiry, sig, now) {
            Ok(()) => {}
            Err(UrlError::Expired) => return storage_response(&StorageFault::auth_failed(true)),
            Err(UrlError::BadSignature) => return storage_response(&StorageFault::auth_failed(false)),
        }
        let Some(repo) = Repo::new(&reg_name, name) else {
            return storage_response(&StorageFault::blob_not_found());
        };
        let size = match self.blobs.blob_size(&repo, &digest).await {
            Ok(Some(s)) => s,
            Ok(None) => return storage_response(&StorageFault::blob_not_found()),
            Err(e) => return error_response(&internal(&e)),
        };
        let range = match parse_range(header(&parts.headers, "range"), size) {
            Ok(r) => r,
            Err(()) => return storage_response(&StorageFault::invalid_range()),
        };
        let opened =
            if parts.method == Method::HEAD { Ok(None) } else { self.blobs.open_blob(&repo, &digest, range).await };
        let reader = match opened {
            Ok(r) => r,
            Err(StorageError::Range { .. }) => return storage_response(&StorageFault::invalid_range()),
            Err(e) => return error_response(&internal(&e)),
        };
        let (status, len) = match range {
            Some(r) => (206, r.end - r.start + 1),
            None => (200, size),
        };
        let mut b = Response::builder()
            .status(status)
            .header("content-type", "application/octet-stream")
            .header("content-length", len.to_string())
            .header("accept-ranges", "bytes")
            .header("x-ms-blob-type", "BlockBlob")
            .header("etag", format!("\"{digest}\""));
        if let Some(r) = range {
            b = b.header("content-range", format!("bytes {}-{}/{size}", r.start, r.end));
        }
        let body = match reader {
            Some(r) => Body::Stream { reader: r.reader, remaining: len },
            None if parts.method == Method::HEAD => Body::empty(),
            None => return storage_response(&StorageFault::blob_not_found()),
        };
        finish(b, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_split_at_the_last_api_keyword_and_validate_names() {
        let d = Digest::of(b"x");
        assert_eq!(parse_route("/v2/"), Ok(Route::Base));
        assert_eq!(
            parse_route(&format!("/v2/a/blobs/b/blobs/{d}")),
            Ok(Route::Blob(RepoName::parse("a/blobs/b").unwrap(), d.clone()))
        );
        assert_eq!(parse_route("/v2/a/blobs/uploads/"), Ok(Route::UploadStart(RepoName::parse("a").unwrap())));
        assert_eq!(
            parse_route("/v2/a/blobs/uploads/abc-1"),
            Ok(Route::Upload(RepoName::parse("a").unwrap(), "abc-1".into()))
        );
        assert_eq!(parse_route("/v2/../../etc/manifests/x").unwrap_err().code, "NAME_INVALID");
        assert_eq!(parse_route("/v2/%2e%2e/blobs/uploads/").unwrap_err().code, "NAME_INVALID");
        assert_eq!(parse_route("/v2/a/blobs/sha256:zz").unwrap_err().code, "DIGEST_INVALID");
        assert_eq!(parse_route("/v2/a/manifests/sha256:zz").unwrap_err().code, "DIGEST_INVALID");
        assert_eq!(parse_route("/v3/a").unwrap_err().status, 404);
    }

    #[test]
    fn forms_decode_percent_escapes_at_the_end_too() {
        assert_eq!(
            parse_form("scope=repository%3Aapp%3Apull&service=r.azurecr.io&x=%2F"),
            vec![
                ("scope".into(), "repository:app:pull".into()),
                ("service".into(), "r.azurecr.io".into()),
                ("x".into(), "/".into())
            ]
        );
        assert_eq!(parse_form("a=%zz&b=%4"), vec![("a".into(), "%zz".into()), ("b".into(), "%4".into())]);
    }

    #[test]
    fn ranges_follow_http_rules() {
        assert_eq!(parse_range(Some("bytes=0-9"), 100), Ok(Some(ByteRange { start: 0, end: 9 })));
        assert_eq!(parse_range(Some("bytes=90-"), 100), Ok(Some(ByteRange { start: 90, end: 99 })));
        assert_eq!(parse_range(Some("bytes=-10"), 100), Ok(Some(ByteRange { start: 90, end: 99 })));
        assert_eq!(parse_range(Some("bytes=95-200"), 100), Ok(Some(ByteRange { start: 95, end: 99 })));
        assert_eq!(parse_range(Some("bytes=100-"), 100), Err(()));
        assert_eq!(parse_range(None, 100), Ok(None));
    }
}
