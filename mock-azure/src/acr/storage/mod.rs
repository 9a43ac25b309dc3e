//! Content-addressed storage behind the fake ACR: the [`BlobStore`] trait and its three
//! implementations, [`MemoryStore`], [`DiskStore`] and [`RegistryStore`] (a CNCF
//! distribution registry, which the docker backend runs as a container), and
//! [`Schema1Aside`], which keeps the schema 1 manifests such a registry refuses in a
//! second store. The trait stays small, async and object-safe (boxed futures, no generic
//! methods).
//!
//! Blobs are kept once per registry and *linked* into repositories, as the distribution
//! registry does: a blob pushed to `a` is not readable through `b` until it is pushed or
//! mounted there. Manifests are blobs too, with a per-repository record of their media
//! type, and tags point at manifest digests.
//!
//! An upload is staged ([`Staging`]) and becomes visible only through
//! [`Staging::commit`], which checks the staged bytes against the expected digest first:
//! a wrong digest, a cancelled or abandoned upload never leaves a blob behind.

mod disk;
mod memory;
mod registry;
mod split;

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use bytes::Bytes;
use tokio::io::AsyncRead;

pub use disk::DiskStore;
pub use memory::{MEMORY_MAX_BLOB, MemoryStore};
pub use registry::RegistryStore;
pub use split::Schema1Aside;

use super::oci::{Digest, Reference, RepoName};

/// A boxed, sendable future (the trait must stay object-safe).
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A repository of one registry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Repo {
    /// The registry's name, lower case (`secureacr2021`); validated by the caller
    /// against ACR's name rule (5–50 alphanumerics).
    pub registry: String,
    /// The repository.
    pub name: RepoName,
}

impl Repo {
    /// A repository; `None` if the registry name breaks ACR's rule (it becomes a
    /// directory name in the disk store).
    pub fn new(registry: &str, name: RepoName) -> Option<Repo> {
        let registry = registry.to_ascii_lowercase();
        valid_registry(&registry).then_some(Repo { registry, name })
    }
}

impl std::fmt::Display for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.name)
    }
}

/// ACR's registry name rule: 5–50 lower-case alphanumerics (after lower-casing).
pub fn valid_registry(name: &str) -> bool {
    (5..=50).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A manifest as stored: its bytes, their digest and media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredManifest {
    /// Digest of `bytes`.
    pub digest: Digest,
    /// Media type it was pushed with.
    pub media_type: String,
    /// The exact bytes pushed (the digest is over these).
    pub bytes: Bytes,
}

/// When the store wrote a manifest or a tag: ACR's `createdTime` and `lastUpdateTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    /// First written.
    pub created: SystemTime,
    /// Last written.
    pub updated: SystemTime,
}

/// ACR's changeable attributes of a repository, tag or manifest (`changeableAttributes`);
/// every one `true` until a client changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Changeable {
    /// `deleteEnabled`.
    pub delete_enabled: bool,
    /// `writeEnabled`.
    pub write_enabled: bool,
    /// `readEnabled`.
    pub read_enabled: bool,
    /// `listEnabled`.
    pub list_enabled: bool,
}

impl Default for Changeable {
    fn default() -> Changeable {
        Changeable { delete_enabled: true, write_enabled: true, read_enabled: true, list_enabled: true }
    }
}

/// What changeable attributes belong to, inside a repository.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Item {
    /// The repository itself.
    Repository,
    /// A tag (validated by the caller).
    Tag(String),
    /// A manifest.
    Manifest(Digest),
}

/// An inclusive byte range `start..=end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// Last byte (inclusive).
    pub end: u64,
}

/// An open blob: its total size and a reader of the requested bytes.
pub struct BlobReader {
    /// Size of the whole blob.
    pub size: u64,
    /// The range being read (`None` = everything).
    pub range: Option<ByteRange>,
    /// The bytes.
    pub reader: Pin<Box<dyn AsyncRead + Send>>,
}

impl std::fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobReader").field("size", &self.size).field("range", &self.range).finish()
    }
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The staged bytes do not have the expected digest (nothing was stored).
    #[error("digest mismatch: expected {expected}, content is {actual}")]
    DigestMismatch {
        /// What the client said.
        expected: Digest,
        /// What the bytes hash to.
        actual: Digest,
    },
    /// An upload staged for one registry committed into another.
    #[error("upload staged for registry {staged} cannot be committed into {target}")]
    WrongRegistry {
        /// Where it was staged.
        staged: String,
        /// Where it was committed.
        target: String,
    },
    /// A range outside the blob.
    #[error("range {start}-{end} outside a blob of {size} bytes")]
    Range {
        /// Requested start.
        start: u64,
        /// Requested end.
        end: u64,
        /// Blob size.
        size: u64,
    },
    /// The disk failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The registry behind a [`RegistryStore`] refused or failed a request.
    #[error("{op}: {}{message}", status.map(|s| format!("HTTP {s}: ")).unwrap_or_default())]
    Backend {
        /// The request (`PUT /v2/<repository>/manifests/<tag>`).
        op: String,
        /// Its status; `None` if no answer came (refused connection, timeout).
        status: Option<u16>,
        /// The registry's first error code (`MANIFEST_BLOB_UNKNOWN`), for callers to branch on.
        code: Option<String>,
        /// What the registry or the connection said.
        message: String,
    },
}

/// ACR's limit on one layer, the default largest blob of a store that keeps content on
/// disk (the disk store, a distribution registry).
pub const ACR_MAX_BLOB: u64 = 200 << 30;

/// Content-addressed storage of blobs and manifests for any number of registries.
pub trait BlobStore: Send + Sync {
    /// The largest blob an upload may stage: beyond it the registry answers 413
    /// `SIZE_INVALID`. What the store can hold (RAM for the memory store), unless the
    /// server is configured lower.
    fn max_blob_size(&self) -> u64 {
        ACR_MAX_BLOB
    }

    /// Starts staging an upload into `registry`.
    fn begin_upload<'a>(&'a self, registry: &'a str) -> BoxFut<'a, Result<Box<dyn Staging>, StorageError>>;

    /// The size of a blob linked into `repo`, `None` if it is not.
    fn blob_size<'a>(&'a self, repo: &'a Repo, digest: &'a Digest) -> BoxFut<'a, Result<Option<u64>, StorageError>>;

    /// Opens a blob linked into `repo` (a range of it, or all), `None` if it is not.
    fn open_blob<'a>(
        &'a self,
        repo: &'a Repo,
        digest: &'a Digest,
        range: Option<ByteRange>,
    ) -> BoxFut<'a, Result<Option<BlobReader>, StorageError>>;

    /// Links a blob of `from` into `to` (cross-repository mount, same registry);
    /// `false` if `from` does not hold it.
    fn mount_blob<'a>(
        &'a self,
        from: &'a Repo,
        to: &'a Repo,
        digest: &'a Digest,
    ) -> BoxFut<'a, Result<bool, StorageError>>;

    /// Stores a manifest (its digest is checked against its bytes) and, with `tag`,
    /// points the tag at it. The caller has checked what it references.
    fn put_manifest<'a>(
        &'a self,
        repo: &'a Repo,
        manifest: &'a StoredManifest,
        tag: Option<&'a str>,
    ) -> BoxFut<'a, Result<(), StorageError>>;

    /// The manifest a tag or digest names in `repo`.
    fn get_manifest<'a>(
        &'a self,
        repo: &'a Repo,
        reference: &'a Reference,
    ) -> BoxFut<'a, Result<Option<StoredManifest>, StorageError>>;

    /// Deletes a tag, or a manifest (with every tag pointing at it); `false` if absent.
    fn delete_manifest<'a>(
        &'a self,
        repo: &'a Repo,
        reference: &'a Reference,
    ) -> BoxFut<'a, Result<bool, StorageError>>;

    /// The tags of `repo`, sorted; `None` if the repository does not exist.
    fn tags<'a>(&'a self, repo: &'a Repo) -> BoxFut<'a, Result<Option<Vec<String>>, StorageError>>;

    /// The repositories of `registry` that hold at least one manifest, sorted.
    fn repositories<'a>(&'a self, registry: &'a str) -> BoxFut<'a, Result<Vec<String>, StorageError>>;

    /// Unlinks a blob from `repo` (`DELETE /v2/<name>/blobs/<digest>`): the repository no
    /// longer holds it, other repositories' links stay. `Ok(false)` if it was not linked;
    /// `Ok(None)` from a store that cannot delete blobs.
    fn unlink_blob<'a>(&'a self, repo: &'a Repo, digest: &'a Digest) -> BoxFut<'a, Result<Option<bool>, StorageError>> {
        let _ = (repo, digest);
        Box::pin(async { Ok(None) })
    }

    /// When the manifest `digest` of `repo` was first and last written; `Ok(None)` if it
    /// is not there or the store keeps no times.
    fn manifest_times<'a>(
        &'a self,
        repo: &'a Repo,
        digest: &'a Digest,
    ) -> BoxFut<'a, Result<Option<Times>, StorageError>> {
        let _ = (repo, digest);
        Box::pin(async { Ok(None) })
    }

    /// When the tag of `repo` was first and last pointed; `Ok(None)` if it is not there or
    /// the store keeps no times.
    fn tag_times<'a>(&'a self, repo: &'a Repo, tag: &'a str) -> BoxFut<'a, Result<Option<Times>, StorageError>> {
        let _ = (repo, tag);
        Box::pin(async { Ok(None) })
    }

    /// The changeable attributes of an item of `repo` (the defaults until set).
    fn attributes<'a>(&'a self, repo: &'a Repo, item: &'a Item) -> BoxFut<'a, Result<Changeable, StorageError>> {
        let _ = (repo, item);
        Box::pin(async { Ok(Changeable::default()) })
    }

    /// Keeps the changeable attributes of an item the caller found in `repo`; `Ok(false)`
    /// from a store that cannot keep them.
    fn set_attributes<'a>(
        &'a self,
        repo: &'a Repo,
        item: &'a Item,
        attributes: Changeable,
    ) -> BoxFut<'a, Result<bool, StorageError>> {
        let _ = (repo, item, attributes);
        Box::pin(async { Ok(false) })
    }

    /// Removes the repository: its manifests, tags, blob links and attributes (other
    /// repositories, nested ones included, keep theirs). This default deletes every
    /// manifest and tag through the other methods.
    fn delete_repository<'a>(&'a self, repo: &'a Repo) -> BoxFut<'a, Result<(), StorageError>> {
        Box::pin(async move {
            for d in self.manifest_digests(repo).await?.unwrap_or_default() {
                self.delete_manifest(repo, &Reference::Digest(d)).await?;
            }
            for t in self.tags(repo).await?.unwrap_or_default() {
                self.delete_manifest(repo, &Reference::Tag(t)).await?;
            }
            Ok(())
        })
    }

    /// Every manifest digest `repo` holds, sorted (what the referrers API scans);
    /// `Ok(None)` from a store that cannot list them.
    fn manifest_digests<'a>(&'a self, repo: &'a Repo) -> BoxFut<'a, Result<Option<Vec<Digest>>, StorageError>> {
        let _ = repo;
        Box::pin(async { Ok(None) })
    }
}

/// An upload in progress: bytes appended in order, hashed as they come.
pub trait Staging: Send {
    /// Appends bytes.
    fn append<'a>(&'a mut self, data: &'a [u8]) -> BoxFut<'a, Result<(), StorageError>>;

    /// Bytes staged so far.
    fn len(&self) -> u64;

    /// Whether nothing is staged.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Digest of the bytes staged so far.
    fn digest(&self) -> Digest;

    /// Remembers the current length as the point [`Staging::rollback`] returns to (the
    /// start of a chunk).
    fn mark(&mut self);

    /// Drops everything appended since the last [`Staging::mark`] (a chunk whose body did
    /// not arrive whole).
    fn rollback(&mut self) -> BoxFut<'_, Result<(), StorageError>>;

    /// Makes the staged bytes the blob `expected` of `repo`, if they hash to it; either
    /// way the staging is gone afterwards. Returns the blob's size.
    fn commit<'a>(self: Box<Self>, repo: &'a Repo, expected: &'a Digest) -> BoxFut<'a, Result<u64, StorageError>>;
}

/// A SHA-256 context with the state at the last mark, so a chunk can be rolled back.
#[derive(Clone)]
pub(crate) struct RollingHash {
    ctx: ring::digest::Context,
    len: u64,
    marked: (ring::digest::Context, u64),
}

impl RollingHash {
    pub(crate) fn new() -> RollingHash {
        let ctx = ring::digest::Context::new(&ring::digest::SHA256);
        RollingHash { marked: (ctx.clone(), 0), ctx, len: 0 }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        self.ctx.update(data);
        self.len += data.len() as u64;
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn digest(&self) -> Digest {
        Digest::from_ring(self.ctx.clone().finish())
    }

    pub(crate) fn mark(&mut self) {
        self.marked = (self.ctx.clone(), self.len);
    }

    pub(crate) fn rollback(&mut self) -> u64 {
        (self.ctx, self.len) = self.marked.clone();
        self.len
    }
}

/// Checks a range against a size.
pub(crate) fn check_range(range: Option<ByteRange>, size: u64) -> Result<(), StorageError> {
    match range {
        Some(r) if r.start > r.end || r.end >= size => Err(StorageError::Range { start: r.start, end: r.end, size }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
