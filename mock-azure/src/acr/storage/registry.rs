//! The [`BlobStore`] kept in a CNCF distribution registry (2.8), spoken to over its
//! plain-HTTP API v2: the docker backend runs one as a container behind the fake ACR.
//! [`RegistryStore::config`] is the configuration that registry needs.
//!
//! Repository `name` of registry `reg` is the distribution repository
//! `<prefix>/reg/name`. Uploads are staged in `<prefix>/reg` itself (never a repository
//! of the trait, whose names always go one level deeper) and mounted into their
//! repository on commit, because [`BlobStore::begin_upload`] names only the registry
//! while a distribution upload belongs to one repository. The staging repository keeps
//! its link to every blob committed through it: unlinking would race with a concurrent
//! commit of the same content, and nothing collects garbage in a simulation.
//!
//! Where distribution 2.8 differs from the [`MemoryStore`](super::MemoryStore):
//! - It checks manifests itself and refuses, as [`StorageError::Backend`] with status 400:
//!   one whose blobs or child manifests are not in the repository
//!   (`MANIFEST_BLOB_UNKNOWN`), and every unsigned schema 1 manifest (`MANIFEST_INVALID`,
//!   logged as "missing signature key" whatever `compatibility.schema1` says). A signed
//!   one would be stored under the digest of its payload without the signatures, where
//!   the trait cannot address it; so schema 1 images cannot be pushed to this store.
//! - It cannot delete a tag alone: the tag is pointed at an empty index (a tombstone)
//!   which is then deleted by digest, taking the tag with it. Meanwhile a reader of the
//!   tag gets the empty index.
//! - It cannot list a repository's manifests: [`BlobStore::tags`] is `None` for a
//!   repository that never had a tag, and [`BlobStore::repositories`] lists those that
//!   did.
//! - The bytes of an upload it refused (wrong digest) stay in its upload area, out of
//!   reach of the API, until it purges old uploads (`storage.maintenance.uploadpurging`,
//!   a week by default).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as _, Incoming};
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, ReadBuf};

use super::{
    BlobReader, BlobStore, BoxFut, ByteRange, Repo, RollingHash, Staging, StorageError, StoredManifest, check_range,
};
use crate::acr::oci::{Digest, Reference, media, valid_tag};

/// A request must be answered and a whole body sent or read within this; a streamed
/// blob fails when no bytes arrive for this long.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Catalog entries asked for per page (distribution's default maximum is 1000).
const PAGE: usize = 100;

/// Blobs and manifests in a distribution registry. Cheap to clone (an `Arc`).
#[derive(Clone, Debug)]
pub struct RegistryStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `host:port` of the registry.
    authority: String,
    /// Repository path prefix, without slashes at the ends; empty for none.
    prefix: String,
}

/// An answer with its body read.
struct Answer {
    /// The request, for errors (`PUT /v2/<repository>/manifests/<tag>`).
    op: String,
    status: u16,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The first error code of distribution's error body.
    fn code(&self) -> Option<String> {
        let v: Value = serde_json::from_slice(&self.body).ok()?;
        v["errors"][0]["code"].as_str().map(str::to_string)
    }

    /// The failure this answer means, with the registry's errors as the message.
    fn error(&self) -> StorageError {
        let errors = serde_json::from_slice::<Value>(&self.body).ok().and_then(|v| v["errors"].as_array().cloned());
        let message = match errors {
            Some(errors) => errors
                .iter()
                .map(|e| {
                    let (code, message) =
                        (e["code"].as_str().unwrap_or("?"), e["message"].as_str().unwrap_or_default());
                    match e["detail"].as_str().filter(|d| !d.is_empty()) {
                        Some(detail) => format!("{code}: {message} ({detail})"),
                        None => format!("{code}: {message}"),
                    }
                })
                .collect::<Vec<_>>()
                .join("; "),
            None if self.body.is_empty() => "no error body".to_string(),
            None => String::from_utf8_lossy(&self.body[..self.body.len().min(200)]).into_owned(),
        };
        StorageError::Backend { op: self.op.clone(), status: Some(self.status), code: self.code(), message }
    }

    /// A failure of an answer whose status looked right but whose content did not.
    fn unexpected(&self, message: String) -> StorageError {
        StorageError::Backend { op: self.op.clone(), status: Some(self.status), code: None, message }
    }

    /// The path and query of the upload session named by `Location` (distribution
    /// answers with an absolute URL).
    fn location(&self) -> Result<String, StorageError> {
        self.header("location")
            .and_then(|l| l.find("/v2/").map(|i| l[i..].to_string()))
            .ok_or_else(|| self.unexpected("no upload location in the answer".into()))
    }
}

/// `METHOD /path` without the query (which carries long upload state tokens).
fn op_name(method: &Method, path_and_query: &str) -> String {
    format!("{method} {}", path_and_query.split('?').next().unwrap_or_default())
}

fn no_answer(op: String, message: String) -> StorageError {
    StorageError::Backend { op, status: None, code: None, message }
}

impl RegistryStore {
    /// A store in the registry at `base` (`host:port` or `http://host:port`; plain HTTP
    /// only), keeping every repository under `prefix` (empty for none, otherwise valid
    /// repository path components such as `pullsim/run1`).
    pub fn new(base: impl std::fmt::Display, prefix: &str) -> RegistryStore {
        let base = base.to_string();
        let authority = base.trim_start_matches("http://").trim_end_matches('/').to_string();
        RegistryStore { inner: Arc::new(Inner { authority, prefix: prefix.trim_matches('/').to_string() }) }
    }

    /// The configuration (distribution's YAML) of a registry this store can use: listening
    /// on `addr` (`host:port`), keeping its data under the directory `root`, with deletes
    /// enabled (for [`BlobStore::delete_manifest`]).
    pub fn config(addr: &str, root: &str) -> String {
        // JSON strings are YAML strings, so any path is quoted correctly.
        let (addr, root) = (Value::from(addr), Value::from(root));
        format!(
            "\
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: {addr}
"
        )
    }

    /// The distribution repository holding `registry`'s repositories (and its uploads).
    fn root(&self, registry: &str) -> String {
        match self.inner.prefix.as_str() {
            "" => registry.to_string(),
            p => format!("{p}/{registry}"),
        }
    }

    fn path(&self, repo: &Repo) -> String {
        format!("{}/{}", self.root(&repo.registry), repo.name)
    }

    /// Sends a request; the answer's head must arrive within [`TIMEOUT`]. One connection
    /// per request: a streamed blob keeps its own until it is read.
    async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Response<Incoming>, StorageError> {
        let op = op_name(&method, path_and_query);
        let authority = self.inner.authority.as_str();
        let exchange = async {
            let tcp =
                tokio::net::TcpStream::connect(authority).await.map_err(|e| format!("connect {authority}: {e}"))?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.map_err(|e| e.to_string())?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            let mut req = Request::builder().method(method).uri(path_and_query).header(http::header::HOST, authority);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let req = req.body(Full::new(body)).map_err(|e| e.to_string())?;
            sender.send_request(req).await.map_err(|e| e.to_string())
        };
        match tokio::time::timeout(TIMEOUT, exchange).await {
            Ok(r) => r.map_err(|m| no_answer(op, m)),
            Err(_) => Err(no_answer(op, format!("no answer within {}s", TIMEOUT.as_secs()))),
        }
    }

    /// Reads a whole answer within [`TIMEOUT`].
    async fn read(op: String, resp: Response<Incoming>) -> Result<Answer, StorageError> {
        let (parts, body) = resp.into_parts();
        let status = parts.status.as_u16();
        let fail =
            |message: String| StorageError::Backend { op: op.clone(), status: Some(status), code: None, message };
        let body = match tokio::time::timeout(TIMEOUT, body.collect()).await {
            Ok(Ok(b)) => b.to_bytes(),
            Ok(Err(e)) => return Err(fail(format!("reading the answer: {e}"))),
            Err(_) => return Err(fail(format!("the answer did not arrive within {}s", TIMEOUT.as_secs()))),
        };
        Ok(Answer { op, status, headers: parts.headers, body })
    }

    /// Sends a request and reads the whole answer.
    async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Answer, StorageError> {
        let op = op_name(&method, path_and_query);
        let resp = self.send(method, path_and_query, headers, body).await?;
        Self::read(op, resp).await
    }

    /// Ends an upload session; failures are ignored because the registry also purges
    /// abandoned uploads itself (`storage.maintenance.uploadpurging`).
    async fn cancel(&self, location: &str) {
        let _ = self.call(Method::DELETE, location, &[], Bytes::new()).await;
    }

    /// Links a blob of the distribution repository `from` into `to`; `false` if `from`
    /// does not hold it.
    async fn mount(&self, from: &str, to: &str, digest: &Digest) -> Result<bool, StorageError> {
        let path = format!("/v2/{to}/blobs/uploads/?mount={digest}&from={from}");
        let a = self.call(Method::POST, &path, &[], Bytes::new()).await?;
        match a.status {
            201 => Ok(true),
            // Not in `from`: the registry opened a plain upload instead, which nobody wants.
            202 => {
                if let Ok(location) = a.location() {
                    self.cancel(&location).await;
                }
                Ok(false)
            }
            _ => Err(a.error()),
        }
    }

    /// The tags of a distribution repository, sorted; `None` if it never had one.
    async fn tags_at(&self, path: &str) -> Result<Option<Vec<String>>, StorageError> {
        let a = self.call(Method::GET, &format!("/v2/{path}/tags/list"), &[], Bytes::new()).await?;
        match a.status {
            200 => {}
            404 => return Ok(None),
            _ => return Err(a.error()),
        }
        let v: Value = serde_json::from_slice(&a.body).map_err(|e| a.unexpected(format!("tag list: {e}")))?;
        // Distribution answers `"tags": null` once the last tag is gone.
        let mut tags: Vec<String> = match &v["tags"] {
            Value::Null => Vec::new(),
            Value::Array(tags) => tags.iter().filter_map(|t| t.as_str().map(str::to_string)).collect(),
            other => return Err(a.unexpected(format!("tag list is {other}"))),
        };
        tags.sort();
        Ok(Some(tags))
    }
}

/// The manifest a deleted tag points at just before it is deleted with it (the tag in
/// it keeps tombstones of different tags apart).
fn tombstone(tag: &str) -> StoredManifest {
    let index = json!({"schemaVersion": 2, "mediaType": media::OCI_INDEX, "manifests": [],
        "annotations": {"io.pullsim.deleted-tag": tag}});
    let bytes = Bytes::from(index.to_string());
    StoredManifest { digest: Digest::of(&bytes), media_type: media::OCI_INDEX.into(), bytes }
}

fn accept() -> String {
    media::MANIFESTS.join(", ")
}

/// An upload session of the registry. Distribution cannot truncate an upload, so the
/// bytes since the last [`Staging::mark`] (the chunk that may be rolled back) stay here
/// until the chunk is complete; with no mark at all, that is the whole blob.
struct RegistryStaging {
    store: RegistryStore,
    registry: String,
    /// Path and query of the session; `None` once it is over.
    location: Option<String>,
    hash: RollingHash,
    /// Bytes the registry has.
    sent: u64,
    /// Bytes of complete chunks not yet sent.
    settled: Vec<u8>,
    /// Bytes since the last mark.
    pending: Vec<u8>,
}

impl Drop for RegistryStaging {
    fn drop(&mut self) {
        // Cancelled, failed or abandoned: end the session so its bytes go at once.
        if let (Some(location), Ok(rt)) = (self.location.take(), tokio::runtime::Handle::try_current()) {
            let store = self.store.clone();
            rt.spawn(async move { store.cancel(&location).await });
        }
    }
}

impl RegistryStaging {
    fn over(&self) -> StorageError {
        no_answer(format!("upload to {}", self.registry), "the upload is already over".into())
    }

    /// Sends the complete chunks.
    async fn send_settled(&mut self) -> Result<(), StorageError> {
        let location = self.location.take().ok_or_else(|| self.over())?;
        let body = Bytes::from(std::mem::take(&mut self.settled));
        let len = body.len() as u64;
        let range = format!("{}-{}", self.sent, self.sent + len - 1);
        let headers = [("content-type", "application/octet-stream"), ("content-range", range.as_str())];
        let a = match self.store.call(Method::PATCH, &location, &headers, body).await {
            Ok(a) => a,
            Err(e) => {
                self.store.cancel(&location).await;
                return Err(e);
            }
        };
        if a.status != 202 {
            self.store.cancel(&location).await;
            return Err(a.error());
        }
        self.location = Some(a.location()?);
        self.sent += len;
        Ok(())
    }
}

impl Staging for RegistryStaging {
    fn append<'a>(&'a mut self, data: &'a [u8]) -> BoxFut<'a, Result<(), StorageError>> {
        Box::pin(async move {
            if !self.settled.is_empty() {
                self.send_settled().await?;
            }
            self.pending.extend_from_slice(data);
            self.hash.update(data);
            Ok(())
        })
    }

    fn len(&self) -> u64 {
        self.hash.len()
    }

    fn digest(&self) -> Digest {
        self.hash.digest()
    }

    fn mark(&mut self) {
        self.settled.append(&mut self.pending);
        self.hash.mark();
    }

    fn rollback(&mut self) -> BoxFut<'_, Result<(), StorageError>> {
        self.pending.clear();
        self.hash.rollback();
        Box::pin(async { Ok(()) })
    }

    fn commit<'a>(mut self: Box<Self>, repo: &'a Repo, expected: &'a Digest) -> BoxFut<'a, Result<u64, StorageError>> {
        Box::pin(async move {
            if repo.registry != self.registry {
                return Err(StorageError::WrongRegistry {
                    staged: self.registry.clone(),
                    target: repo.registry.clone(),
                });
            }
            let location = self.location.take().ok_or_else(|| self.over())?;
            let mut body = std::mem::take(&mut self.settled);
            body.append(&mut self.pending);
            let sep = if location.contains('?') { '&' } else { '?' };
            let put = format!("{location}{sep}digest={expected}");
            let headers = [("content-type", "application/octet-stream")];
            // The registry checks the digest and, refusing, drops the upload: nothing is
            // visible before this answer, nothing stays after a refusal.
            let a = self.store.call(Method::PUT, &put, &headers, Bytes::from(body)).await?;
            let actual = self.hash.digest();
            match a.status {
                201 => {}
                400 if a.code().as_deref() == Some("DIGEST_INVALID") && actual != *expected => {
                    return Err(StorageError::DigestMismatch { expected: expected.clone(), actual });
                }
                _ => return Err(a.error()),
            }
            let root = self.store.root(&self.registry);
            if !self.store.mount(&root, &self.store.path(repo), expected).await? {
                return Err(a.unexpected(format!("{expected} vanished from {root} once uploaded")));
            }
            Ok(self.hash.len())
        })
    }
}

/// A blob's answer body as an [`AsyncRead`]; fails when no bytes arrive for [`TIMEOUT`].
struct BodyReader {
    body: Incoming,
    chunk: Bytes,
    idle: Pin<Box<tokio::time::Sleep>>,
}

impl AsyncRead for BodyReader {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let me = &mut *self;
        while me.chunk.is_empty() {
            match Pin::new(&mut me.body).poll_frame(cx) {
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(std::io::Error::other(e))),
                Poll::Ready(Some(Ok(frame))) => {
                    me.idle.as_mut().reset(tokio::time::Instant::now() + TIMEOUT);
                    me.chunk = frame.into_data().unwrap_or_default();
                }
                Poll::Pending => {
                    return match me.idle.as_mut().poll(cx) {
                        Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "the registry stopped sending the blob",
                        ))),
                        Poll::Pending => Poll::Pending,
                    };
                }
            }
        }
        let n = me.chunk.len().min(buf.remaining());
        buf.put_slice(&me.chunk.split_to(n));
        Poll::Ready(Ok(()))
    }
}

impl BlobStore for RegistryStore {
    fn begin_upload<'a>(&'a self, registry: &'a str) -> BoxFut<'a, Result<Box<dyn Staging>, StorageError>> {
        Box::pin(async move {
            let registry = registry.to_ascii_lowercase();
            let path = format!("/v2/{}/blobs/uploads/", self.root(&registry));
            let a = self.call(Method::POST, &path, &[], Bytes::new()).await?;
            if a.status != 202 {
                return Err(a.error());
            }
            Ok(Box::new(RegistryStaging {
                store: self.clone(),
                registry,
                location: Some(a.location()?),
                hash: RollingHash::new(),
                sent: 0,
                settled: Vec::new(),
                pending: Vec::new(),
            }) as Box<dyn Staging>)
        })
    }

    fn blob_size<'a>(&'a self, repo: &'a Repo, digest: &'a Digest) -> BoxFut<'a, Result<Option<u64>, StorageError>> {
        Box::pin(async move {
            let path = format!("/v2/{}/blobs/{digest}", self.path(repo));
            let a = self.call(Method::HEAD, &path, &[], Bytes::new()).await?;
            match a.status {
                200 => match a.header("content-length").and_then(|v| v.parse().ok()) {
                    Some(size) => Ok(Some(size)),
                    None => Err(a.unexpected("no Content-Length".into())),
                },
                404 => Ok(None),
                _ => Err(a.error()),
            }
        })
    }

    fn open_blob<'a>(
        &'a self,
        repo: &'a Repo,
        digest: &'a Digest,
        range: Option<ByteRange>,
    ) -> BoxFut<'a, Result<Option<BlobReader>, StorageError>> {
        Box::pin(async move {
            // Asked first: distribution answers a range past the end with a broken 416.
            let Some(size) = self.blob_size(repo, digest).await? else {
                return Ok(None);
            };
            check_range(range, size)?;
            let path = format!("/v2/{}/blobs/{digest}", self.path(repo));
            let bytes = range.map(|r| format!("bytes={}-{}", r.start, r.end));
            let headers: Vec<(&str, &str)> = bytes.iter().map(|b| ("range", b.as_str())).collect();
            let resp = self.send(Method::GET, &path, &headers, Bytes::new()).await?;
            match (resp.status().as_u16(), range) {
                (200, None) | (206, Some(_)) => {
                    let idle = Box::pin(tokio::time::sleep(TIMEOUT));
                    let reader = Box::pin(BodyReader { body: resp.into_body(), chunk: Bytes::new(), idle });
                    Ok(Some(BlobReader { size, range, reader }))
                }
                (404, _) => Ok(None),
                _ => Err(Self::read(op_name(&Method::GET, &path), resp).await?.error()),
            }
        })
    }

    fn mount_blob<'a>(
        &'a self,
        from: &'a Repo,
        to: &'a Repo,
        digest: &'a Digest,
    ) -> BoxFut<'a, Result<bool, StorageError>> {
        Box::pin(async move {
            if from.registry != to.registry {
                return Ok(false);
            }
            self.mount(&self.path(from), &self.path(to), digest).await
        })
    }

    fn put_manifest<'a>(
        &'a self,
        repo: &'a Repo,
        manifest: &'a StoredManifest,
        tag: Option<&'a str>,
    ) -> BoxFut<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let actual = Digest::of(&manifest.bytes);
            if actual != manifest.digest {
                return Err(StorageError::DigestMismatch { expected: manifest.digest.clone(), actual });
            }
            let path = format!("/v2/{}/manifests/{}", self.path(repo), tag.unwrap_or(actual.as_str()));
            if let Some(t) = tag.filter(|t| !valid_tag(t)) {
                // Checked here because a tag is a path segment of the request.
                return Err(StorageError::Backend {
                    op: op_name(&Method::PUT, &path),
                    status: None,
                    code: Some("TAG_INVALID".into()),
                    message: format!("'{t}' is not a tag"),
                });
            }
            let headers = [("content-type", manifest.media_type.as_str())];
            let a = self.call(Method::PUT, &path, &headers, manifest.bytes.clone()).await?;
            if a.status != 201 {
                return Err(a.error());
            }
            // A registry rewriting what it stores (distribution does, for signed schema 1)
            // files it under a digest the trait would never ask for.
            match a.header("docker-content-digest") {
                Some(d) if d == actual.as_str() => Ok(()),
                other => Err(a.unexpected(format!("stored as {}, not {actual}", other.unwrap_or("nothing")))),
            }
        })
    }

    fn get_manifest<'a>(
        &'a self,
        repo: &'a Repo,
        reference: &'a Reference,
    ) -> BoxFut<'a, Result<Option<StoredManifest>, StorageError>> {
        Box::pin(async move {
            let path = format!("/v2/{}/manifests/{reference}", self.path(repo));
            // Without an Accept naming it, distribution hides an OCI manifest (404).
            let a = self.call(Method::GET, &path, &[("accept", &accept())], Bytes::new()).await?;
            match a.status {
                200 => {}
                404 => return Ok(None),
                _ => return Err(a.error()),
            }
            let Some(media_type) = a.header("content-type").map(str::to_string) else {
                return Err(a.unexpected("no Content-Type".into()));
            };
            let digest = Digest::of(&a.body);
            if let Reference::Digest(d) = reference
                && *d != digest
            {
                return Err(a.unexpected(format!("the manifest answered is {digest}")));
            }
            Ok(Some(StoredManifest { digest, media_type, bytes: a.body }))
        })
    }

    fn delete_manifest<'a>(
        &'a self,
        repo: &'a Repo,
        reference: &'a Reference,
    ) -> BoxFut<'a, Result<bool, StorageError>> {
        Box::pin(async move {
            let base = format!("/v2/{}/manifests", self.path(repo));
            let digest = match reference {
                Reference::Digest(d) => d.clone(),
                Reference::Tag(t) => {
                    let a =
                        self.call(Method::HEAD, &format!("{base}/{t}"), &[("accept", &accept())], Bytes::new()).await?;
                    match a.status {
                        200 => {}
                        404 => return Ok(false),
                        _ => return Err(a.error()),
                    }
                    let tombstone = tombstone(t);
                    self.put_manifest(repo, &tombstone, Some(t)).await?;
                    tombstone.digest
                }
            };
            // Distribution deletes the tags pointing at a manifest with it.
            let a = self.call(Method::DELETE, &format!("{base}/{digest}"), &[], Bytes::new()).await?;
            match (a.status, reference) {
                (202, _) => Ok(true),
                // A concurrent deletion of the same tag deleted the tombstone first.
                (404, Reference::Tag(_)) => Ok(true),
                (404, Reference::Digest(_)) => Ok(false),
                _ => Err(a.error()),
            }
        })
    }

    fn tags<'a>(&'a self, repo: &'a Repo) -> BoxFut<'a, Result<Option<Vec<String>>, StorageError>> {
        Box::pin(async move { self.tags_at(&self.path(repo)).await })
    }

    fn repositories<'a>(&'a self, registry: &'a str) -> BoxFut<'a, Result<Vec<String>, StorageError>> {
        Box::pin(async move {
            let under = format!("{}/", self.root(&registry.to_ascii_lowercase()));
            let mut candidates = Vec::new();
            let mut last = String::new();
            loop {
                let path = format!("/v2/_catalog?n={PAGE}&last={last}");
                let a = self.call(Method::GET, &path, &[], Bytes::new()).await?;
                if a.status != 200 {
                    return Err(a.error());
                }
                let v: Value = serde_json::from_slice(&a.body).map_err(|e| a.unexpected(format!("catalog: {e}")))?;
                let page: Vec<&str> =
                    v["repositories"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                candidates.extend(page.iter().filter_map(|r| r.strip_prefix(&under)).map(str::to_string));
                // Distribution links the next page only when there may be one.
                match page.last() {
                    Some(l) if a.header("link").is_some() => last = l.to_string(),
                    _ => break,
                }
            }
            // The catalog also lists repositories holding only blobs.
            let mut out = Vec::new();
            for name in candidates {
                if self.tags_at(&format!("{under}{name}")).await?.is_some() {
                    out.push(name);
                }
            }
            out.sort();
            Ok(out)
        })
    }
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
