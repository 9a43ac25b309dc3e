//! The on-disk [`BlobStore`], under one directory:
//!
//! ```text
//! uploads/<id>                                   uploads being staged (removed on commit/cancel)
//! tmp/<id>                                       files being written (renamed into place)
//! registries/<reg>/blobs/sha256/<hh>/<hex>       content, named by its digest
//! registries/<reg>/repositories/<repo>/_layers/sha256/<hex>     blob linked into the repository
//! registries/<reg>/repositories/<repo>/_manifests/sha256/<hex>  manifest record (its media type)
//! registries/<reg>/repositories/<repo>/_tags/<tag>              tag (the manifest digest)
//! registries/<reg>/repositories/<repo>/_attributes/repository.json        changeable attributes
//! registries/<reg>/repositories/<repo>/_attributes/tags/<tag>.json        (ACR's `/acr/v1/`;
//! registries/<reg>/repositories/<repo>/_attributes/manifests/<hex>.json   absent = defaults)
//! ```
//!
//! The times ACR shows (`createdTime`, `lastUpdateTime`) are the records' modification
//! times: a manifest record is written once (a second push of the same manifest leaves
//! it), a tag file each time the tag moves. So a state directory written before the
//! times were shown reads with them, and nothing in the layout changed for them.
//!
//! Every file appears by `rename` of a fsynced file from `tmp/` or `uploads/` (same file
//! system), followed by a fsync of its directory: a reader sees the old state or the
//! new, never a partial file, and a crash loses nothing that was acknowledged. Blob
//! content is verified against its digest before the rename. Paths are built only
//! from validated names (registry: lower-case alphanumerics; repository: the OCI grammar,
//! whose components never start with `_` nor contain `..`; tag: the tag grammar; digest:
//! hex), so nothing is ever written outside the directory. Leftovers of a crash in
//! `uploads/` and `tmp/` are removed when the store is opened.

use std::io::{ErrorKind, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::{
    BlobReader, BlobStore, BoxFut, ByteRange, Changeable, Item, Repo, RollingHash, Staging, StorageError,
    StoredManifest, Times, check_range,
};
use crate::acr::oci::{Digest, Reference, valid_tag};

/// Blobs and manifests in a directory. Cheap to clone (an `Arc`).
#[derive(Clone, Debug)]
pub struct DiskStore {
    root: Arc<PathBuf>,
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StorageError {
    let path = path.to_path_buf();
    move |source| StorageError::Io { op, path, source }
}

fn random_id() -> String {
    let mut b = [0u8; 16];
    // Only the OS RNG failing could stop this; a fixed fallback still works since ids
    // only need to be unique among concurrent uploads, which the rename then checks.
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Fsyncs a directory so a rename or create inside it is durable.
fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    std::fs::File::open(dir).and_then(|f| f.sync_all()).map_err(io("fsync", dir))
}

/// Creates `dir` and its missing ancestors (up to `root`), fsyncing each new entry's parent.
fn ensure_dir(root: &Path, dir: &Path) -> Result<(), StorageError> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent()
        && parent != root
    {
        ensure_dir(root, parent)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(io("mkdir", dir)(e)),
    }
    sync_dir(dir.parent().unwrap_or(root))
}

impl DiskStore {
    /// Opens (or creates) a store in `root`, removing what a crash left half-written.
    pub fn open(root: &Path) -> Result<DiskStore, StorageError> {
        for sub in ["uploads", "tmp", "registries"] {
            let d = root.join(sub);
            std::fs::create_dir_all(&d).map_err(io("mkdir", &d))?;
        }
        for sub in ["uploads", "tmp"] {
            let d = root.join(sub);
            for entry in std::fs::read_dir(&d).map_err(io("list", &d))?.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(DiskStore { root: Arc::new(root.to_path_buf()) })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn registry_dir(&self, registry: &str) -> PathBuf {
        self.root.join("registries").join(registry)
    }

    fn blob_path(&self, registry: &str, d: &Digest) -> PathBuf {
        self.registry_dir(registry).join("blobs/sha256").join(&d.hex()[..2]).join(d.hex())
    }

    fn repo_dir(&self, repo: &Repo) -> PathBuf {
        let mut p = self.registry_dir(&repo.registry).join("repositories");
        for c in repo.name.as_str().split('/') {
            p.push(c);
        }
        p
    }

    fn link_path(&self, repo: &Repo, d: &Digest) -> PathBuf {
        self.repo_dir(repo).join("_layers/sha256").join(d.hex())
    }

    fn manifest_path(&self, repo: &Repo, d: &Digest) -> PathBuf {
        self.repo_dir(repo).join("_manifests/sha256").join(d.hex())
    }

    fn tag_path(&self, repo: &Repo, tag: &str) -> PathBuf {
        self.repo_dir(repo).join("_tags").join(tag)
    }

    fn attributes_path(&self, repo: &Repo, item: &Item) -> PathBuf {
        let dir = self.repo_dir(repo).join("_attributes");
        match item {
            Item::Repository => dir.join("repository.json"),
            Item::Tag(t) => dir.join("tags").join(format!("{t}.json")),
            Item::Manifest(d) => dir.join("manifests").join(format!("{}.json", d.hex())),
        }
    }

    /// Writes `bytes` to `path` atomically (temporary file, fsync, rename, fsync dir).
    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
        use std::io::Write;
        let tmp = self.root.join("tmp").join(random_id());
        let result = (|| {
            let mut f = std::fs::File::create(&tmp).map_err(io("create", &tmp))?;
            f.write_all(bytes).map_err(io("write", &tmp))?;
            f.sync_all().map_err(io("fsync", &tmp))?;
            let dir = path.parent().unwrap_or(&self.root);
            ensure_dir(&self.root, dir)?;
            std::fs::rename(&tmp, path).map_err(io("rename", path))?;
            sync_dir(dir)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    fn linked(&self, repo: &Repo, d: &Digest) -> bool {
        self.link_path(repo, d).is_file()
    }

    /// Runs blocking file work off the async threads.
    fn blocking<'a, T: Send + 'static>(
        &'a self,
        f: impl FnOnce(DiskStore) -> Result<T, StorageError> + Send + 'static,
    ) -> BoxFut<'a, Result<T, StorageError>> {
        let me = self.clone();
        Box::pin(async move {
            match tokio::task::spawn_blocking(move || f(me)).await {
                Ok(r) => r,
                Err(e) => Err(StorageError::Io {
                    op: "run",
                    path: PathBuf::new(),
                    source: std::io::Error::other(e.to_string()),
                }),
            }
        })
    }

    fn read_manifest(&self, repo: &Repo, reference: &Reference) -> Result<Option<StoredManifest>, StorageError> {
        let digest = match reference {
            Reference::Digest(d) => d.clone(),
            Reference::Tag(t) => match read_opt(&self.tag_path(repo, t))? {
                Some(b) => match Digest::parse(String::from_utf8_lossy(&b).trim()) {
                    Some(d) => d,
                    None => return Ok(None),
                },
                None => return Ok(None),
            },
        };
        let Some(mt) = read_opt(&self.manifest_path(repo, &digest))? else {
            return Ok(None);
        };
        let Some(bytes) = read_opt(&self.blob_path(&repo.registry, &digest))? else {
            return Ok(None);
        };
        Ok(Some(StoredManifest {
            digest,
            media_type: String::from_utf8_lossy(&mt).trim().to_string(),
            bytes: Bytes::from(bytes),
        }))
    }
}

fn read_opt(path: &Path) -> Result<Option<Vec<u8>>, StorageError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("read", path)(e)),
    }
}

/// A file's modification time, `None` if it does not exist.
fn modified(path: &Path) -> Result<Option<std::time::SystemTime>, StorageError> {
    match std::fs::metadata(path).and_then(|m| m.modified()) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("stat", path)(e)),
    }
}

fn remove_opt(path: &Path) -> Result<bool, StorageError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io("remove", path)(e)),
    }
}

struct DiskStaging {
    store: DiskStore,
    registry: String,
    path: PathBuf,
    file: Option<tokio::fs::File>,
    hash: RollingHash,
}

impl Drop for DiskStaging {
    fn drop(&mut self) {
        // Cancelled, failed or abandoned: the staged bytes never become visible.
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl DiskStaging {
    fn file(&mut self) -> Result<&mut tokio::fs::File, StorageError> {
        let path = self.path.clone();
        self.file.as_mut().ok_or_else(|| io("write", &path)(std::io::Error::other("upload already finished")))
    }
}

impl Staging for DiskStaging {
    fn append<'a>(&'a mut self, data: &'a [u8]) -> BoxFut<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let path = self.path.clone();
            self.file()?.write_all(data).await.map_err(io("write", &path))?;
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
        self.hash.mark();
    }

    fn rollback(&mut self) -> BoxFut<'_, Result<(), StorageError>> {
        Box::pin(async move {
            let len = self.hash.rollback();
            let path = self.path.clone();
            let f = self.file()?;
            f.flush().await.map_err(io("flush", &path))?;
            f.set_len(len).await.map_err(io("truncate", &path))?;
            f.seek(SeekFrom::Start(len)).await.map_err(io("seek", &path))?;
            Ok(())
        })
    }

    fn commit<'a>(mut self: Box<Self>, repo: &'a Repo, expected: &'a Digest) -> BoxFut<'a, Result<u64, StorageError>> {
        Box::pin(async move {
            if repo.registry != self.registry {
                return Err(StorageError::WrongRegistry {
                    staged: self.registry.clone(),
                    target: repo.registry.clone(),
                });
            }
            let actual = self.hash.digest();
            if &actual != expected {
                return Err(StorageError::DigestMismatch { expected: expected.clone(), actual });
            }
            let path = self.path.clone();
            let f = self.file()?;
            f.flush().await.map_err(io("flush", &path))?;
            f.sync_all().await.map_err(io("fsync", &path))?;
            let size = self.hash.len();
            // From here the file is moved, not removed, so Drop must leave it alone.
            drop(self.file.take());
            let store = self.store.clone();
            let repo = repo.clone();
            let digest = actual;
            let staged = self.path.clone();
            store
                .blocking(move |s| {
                    let target = s.blob_path(&repo.registry, &digest);
                    if target.is_file() {
                        let _ = std::fs::remove_file(&staged);
                    } else {
                        let dir = target.parent().unwrap_or(&s.root).to_path_buf();
                        ensure_dir(&s.root, &dir)?;
                        if let Err(e) = std::fs::rename(&staged, &target) {
                            let _ = std::fs::remove_file(&staged);
                            return Err(io("rename", &target)(e));
                        }
                        sync_dir(&dir)?;
                    }
                    s.write_atomic(&s.link_path(&repo, &digest), b"")?;
                    Ok(size)
                })
                .await
        })
    }
}

impl BlobStore for DiskStore {
    fn begin_upload<'a>(&'a self, registry: &'a str) -> BoxFut<'a, Result<Box<dyn Staging>, StorageError>> {
        Box::pin(async move {
            let path = self.root.join("uploads").join(random_id());
            let file = tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .await
                .map_err(io("create", &path))?;
            Ok(Box::new(DiskStaging {
                store: self.clone(),
                registry: registry.to_ascii_lowercase(),
                path,
                file: Some(file),
                hash: RollingHash::new(),
            }) as Box<dyn Staging>)
        })
    }

    fn blob_size<'a>(&'a self, repo: &'a Repo, digest: &'a Digest) -> BoxFut<'a, Result<Option<u64>, StorageError>> {
        let (repo, digest) = (repo.clone(), digest.clone());
        self.blocking(move |s| {
            if !s.linked(&repo, &digest) {
                return Ok(None);
            }
            let p = s.blob_path(&repo.registry, &digest);
            match std::fs::metadata(&p) {
                Ok(m) => Ok(Some(m.len())),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io("stat", &p)(e)),
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
            if !self.linked(repo, digest) {
                return Ok(None);
            }
            let p = self.blob_path(&repo.registry, digest);
            let mut f = match tokio::fs::File::open(&p).await {
                Ok(f) => f,
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(io("open", &p)(e)),
            };
            let size = f.metadata().await.map_err(io("stat", &p))?.len();
            check_range(range, size)?;
            let reader: std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>> = match range {
                Some(r) => {
                    f.seek(SeekFrom::Start(r.start)).await.map_err(io("seek", &p))?;
                    Box::pin(f.take(r.end - r.start + 1))
                }
                None => Box::pin(f),
            };
            Ok(Some(BlobReader { size, range, reader }))
        })
    }

    fn mount_blob<'a>(
        &'a self,
        from: &'a Repo,
        to: &'a Repo,
        digest: &'a Digest,
    ) -> BoxFut<'a, Result<bool, StorageError>> {
        let (from, to, digest) = (from.clone(), to.clone(), digest.clone());
        self.blocking(move |s| {
            if from.registry != to.registry
                || !s.linked(&from, &digest)
                || !s.blob_path(&from.registry, &digest).is_file()
            {
                return Ok(false);
            }
            if !s.linked(&to, &digest) {
                s.write_atomic(&s.link_path(&to, &digest), b"")?;
            }
            Ok(true)
        })
    }

    fn put_manifest<'a>(
        &'a self,
        repo: &'a Repo,
        manifest: &'a StoredManifest,
        tag: Option<&'a str>,
    ) -> BoxFut<'a, Result<(), StorageError>> {
        let (repo, m, tag) = (repo.clone(), manifest.clone(), tag.map(str::to_string));
        self.blocking(move |s| {
            let actual = Digest::of(&m.bytes);
            if actual != m.digest {
                return Err(StorageError::DigestMismatch { expected: m.digest.clone(), actual });
            }
            if let Some(t) = &tag
                && !valid_tag(t)
            {
                return Err(io("tag", Path::new(t))(std::io::Error::from(ErrorKind::InvalidInput)));
            }
            let blob = s.blob_path(&repo.registry, &actual);
            if !blob.is_file() {
                s.write_atomic(&blob, &m.bytes)?;
            }
            // Media types come from a fixed list, so they are one line of plain text. A
            // record already there is left alone: its modification time is the first push.
            let record = s.manifest_path(&repo, &actual);
            if read_opt(&record)?.is_none_or(|b| b != m.media_type.as_bytes()) {
                s.write_atomic(&record, m.media_type.as_bytes())?;
            }
            if let Some(t) = tag {
                s.write_atomic(&s.tag_path(&repo, &t), actual.as_str().as_bytes())?;
            }
            Ok(())
        })
    }

    fn get_manifest<'a>(
        &'a self,
        repo: &'a Repo,
        reference: &'a Reference,
    ) -> BoxFut<'a, Result<Option<StoredManifest>, StorageError>> {
        let (repo, reference) = (repo.clone(), reference.clone());
        self.blocking(move |s| s.read_manifest(&repo, &reference))
    }

    fn delete_manifest<'a>(
        &'a self,
        repo: &'a Repo,
        reference: &'a Reference,
    ) -> BoxFut<'a, Result<bool, StorageError>> {
        let (repo, reference) = (repo.clone(), reference.clone());
        self.blocking(move |s| match &reference {
            Reference::Tag(t) => {
                remove_opt(&s.attributes_path(&repo, &Item::Tag(t.clone())))?;
                remove_opt(&s.tag_path(&repo, t))
            }
            Reference::Digest(d) => {
                let tags_dir = s.repo_dir(&repo).join("_tags");
                if let Ok(entries) = std::fs::read_dir(&tags_dir) {
                    for e in entries.flatten() {
                        if read_opt(&e.path())?.is_some_and(|b| String::from_utf8_lossy(&b).trim() == d.as_str()) {
                            remove_opt(&e.path())?;
                            let tag = e.file_name().to_string_lossy().into_owned();
                            remove_opt(&s.attributes_path(&repo, &Item::Tag(tag)))?;
                        }
                    }
                }
                remove_opt(&s.attributes_path(&repo, &Item::Manifest(d.clone())))?;
                let found = remove_opt(&s.manifest_path(&repo, d))?;
                if found {
                    sync_dir(&s.repo_dir(&repo).join("_manifests/sha256"))?;
                }
                Ok(found)
            }
        })
    }

    fn unlink_blob<'a>(&'a self, repo: &'a Repo, digest: &'a Digest) -> BoxFut<'a, Result<Option<bool>, StorageError>> {
        let (repo, digest) = (repo.clone(), digest.clone());
        self.blocking(move |s| {
            let found = remove_opt(&s.link_path(&repo, &digest))?;
            if found {
                sync_dir(&s.repo_dir(&repo).join("_layers/sha256"))?;
            }
            Ok(Some(found))
        })
    }

    fn manifest_digests<'a>(&'a self, repo: &'a Repo) -> BoxFut<'a, Result<Option<Vec<Digest>>, StorageError>> {
        let repo = repo.clone();
        self.blocking(move |s| {
            let dir = s.repo_dir(&repo).join("_manifests/sha256");
            let mut out: Vec<Digest> = match std::fs::read_dir(&dir) {
                Ok(entries) => entries
                    .flatten()
                    .filter_map(|e| Digest::parse(&format!("sha256:{}", e.file_name().to_string_lossy())))
                    .collect(),
                Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(io("list", &dir)(e)),
            };
            out.sort();
            Ok(Some(out))
        })
    }

    fn tags<'a>(&'a self, repo: &'a Repo) -> BoxFut<'a, Result<Option<Vec<String>>, StorageError>> {
        let repo = repo.clone();
        self.blocking(move |s| {
            let dir = s.repo_dir(&repo);
            if !dir.is_dir() {
                return Ok(None);
            }
            let mut tags: Vec<String> = match std::fs::read_dir(dir.join("_tags")) {
                Ok(entries) => entries
                    .flatten()
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|t| valid_tag(t))
                    .collect(),
                Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(io("list", &dir)(e)),
            };
            tags.sort();
            Ok(Some(tags))
        })
    }

    fn manifest_times<'a>(
        &'a self,
        repo: &'a Repo,
        digest: &'a Digest,
    ) -> BoxFut<'a, Result<Option<Times>, StorageError>> {
        let path = self.manifest_path(repo, digest);
        self.blocking(move |_| Ok(modified(&path)?.map(|t| Times { created: t, updated: t })))
    }

    fn tag_times<'a>(&'a self, repo: &'a Repo, tag: &'a str) -> BoxFut<'a, Result<Option<Times>, StorageError>> {
        if !valid_tag(tag) {
            return Box::pin(async { Ok(None) });
        }
        let path = self.tag_path(repo, tag);
        self.blocking(move |_| Ok(modified(&path)?.map(|t| Times { created: t, updated: t })))
    }

    fn attributes<'a>(&'a self, repo: &'a Repo, item: &'a Item) -> BoxFut<'a, Result<Changeable, StorageError>> {
        let path = self.attributes_path(repo, item);
        self.blocking(move |_| {
            // A record that does not parse (hand-edited) reads as the defaults.
            Ok(read_opt(&path)?.and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default())
        })
    }

    fn set_attributes<'a>(
        &'a self,
        repo: &'a Repo,
        item: &'a Item,
        attributes: Changeable,
    ) -> BoxFut<'a, Result<bool, StorageError>> {
        if let Item::Tag(t) = item
            && !valid_tag(t)
        {
            return Box::pin(async { Ok(false) });
        }
        let path = self.attributes_path(repo, item);
        self.blocking(move |s| {
            let bytes = serde_json::to_vec(&attributes).map_err(|e| io("encode", &path)(std::io::Error::other(e)))?;
            s.write_atomic(&path, &bytes)?;
            Ok(true)
        })
    }

    fn delete_repository<'a>(&'a self, repo: &'a Repo) -> BoxFut<'a, Result<(), StorageError>> {
        let repo = repo.clone();
        self.blocking(move |s| {
            let dir = s.repo_dir(&repo);
            // Only this repository's own records: nested repositories live beside them.
            for sub in ["_tags", "_manifests", "_layers", "_attributes"] {
                let d = dir.join(sub);
                match std::fs::remove_dir_all(&d) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(io("remove", &d)(e)),
                }
            }
            // Gone entirely unless a nested repository still lives under it.
            if std::fs::remove_dir(&dir).is_ok()
                && let Some(parent) = dir.parent()
            {
                sync_dir(parent)?;
            } else if dir.is_dir() {
                sync_dir(&dir)?;
            }
            Ok(())
        })
    }

    fn repositories<'a>(&'a self, registry: &'a str) -> BoxFut<'a, Result<Vec<String>, StorageError>> {
        let registry = registry.to_ascii_lowercase();
        self.blocking(move |s| {
            let base = s.registry_dir(&registry).join("repositories");
            let mut out = Vec::new();
            walk_repos(&base, "", &mut out)?;
            out.sort();
            Ok(out)
        })
    }
}

/// Collects repositories (directories holding a non-empty `_manifests/sha256`) under `dir`.
fn walk_repos(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), StorageError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io("list", dir)(e)),
    };
    for e in entries.flatten() {
        let Ok(name) = e.file_name().into_string() else { continue };
        if name.starts_with('_') || !e.path().is_dir() {
            continue;
        }
        let full = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        let manifests = e.path().join("_manifests/sha256");
        if std::fs::read_dir(&manifests).is_ok_and(|mut d| d.next().is_some()) {
            out.push(full.clone());
        }
        walk_repos(&e.path(), &full, out)?;
    }
    Ok(())
}
