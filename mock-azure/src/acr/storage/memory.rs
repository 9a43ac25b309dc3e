//! The in-memory [`BlobStore`]: ordered maps behind one lock, for tests and for
//! embedded scenarios that need no persistence.
//!
//! Uploaded content is kept in chunks of at most [`CHUNK`] bytes, each an anonymous
//! memory map filled as the upload arrives: a growing upload never reallocates (a single
//! growing buffer would double, copying everything each time and holding twice its size
//! at the peak), and what a cancelled or expired upload held goes back to the operating
//! system when its maps are dropped (the allocator would keep freed memory for reuse,
//! so the process's RSS would stay at its peak).

use std::collections::{BTreeMap, BTreeSet};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use memmap2::MmapMut;
use tokio::io::{AsyncRead, ReadBuf};

use super::{
    BlobReader, BlobStore, BoxFut, ByteRange, Changeable, Item, Repo, RollingHash, Staging, StorageError,
    StoredManifest, Times, check_range,
};
use crate::acr::oci::{Digest, Reference};

/// Blobs, links, manifests and tags in memory. Cheap to clone (an `Arc`).
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Registries>>,
}

#[derive(Default)]
struct Registries {
    by_name: BTreeMap<String, Registry>,
}

/// Largest chunk of stored content.
const CHUNK: usize = 1 << 20;

/// The largest blob the memory store takes by default: it lives in RAM.
pub const MEMORY_MAX_BLOB: u64 = 2 << 30;

/// Content as a list of chunks. Cheap to clone (shared chunks).
#[derive(Clone, Default)]
struct Content {
    chunks: Vec<Bytes>,
    len: u64,
}

impl Content {
    fn one(b: Bytes) -> Content {
        Content { len: b.len() as u64, chunks: vec![b] }
    }

    /// The bytes in one piece (manifests: small, stored whole anyway).
    fn contiguous(&self) -> Bytes {
        match self.chunks.as_slice() {
            [one] => one.clone(),
            many => Bytes::from(many.concat()),
        }
    }

    /// A reader of `start..start+len`.
    fn reader(&self, start: u64, len: u64) -> ContentReader {
        ContentReader { chunks: self.chunks.clone().into(), skip: start, remaining: len }
    }
}

/// Reads a range of [`Content`].
struct ContentReader {
    chunks: std::collections::VecDeque<Bytes>,
    /// Bytes still to skip before the range starts.
    skip: u64,
    /// Bytes of the range still to give.
    remaining: u64,
}

impl AsyncRead for ContentReader {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let me = &mut *self;
        while me.remaining > 0 && buf.remaining() > 0 {
            let Some(chunk) = me.chunks.front() else { break };
            let len = chunk.len() as u64;
            if me.skip >= len {
                me.skip -= len;
                me.chunks.pop_front();
                continue;
            }
            let from = me.skip as usize;
            let n = (chunk.len() - from).min(buf.remaining()).min(me.remaining as usize);
            buf.put_slice(&chunk[from..from + n]);
            me.skip += n as u64;
            me.remaining -= n as u64;
        }
        Poll::Ready(Ok(()))
    }
}

#[derive(Default)]
struct Registry {
    blobs: BTreeMap<Digest, Content>,
    repos: BTreeMap<String, RepoState>,
}

#[derive(Default)]
struct RepoState {
    links: BTreeSet<Digest>,
    manifests: BTreeMap<Digest, String>,
    tags: BTreeMap<String, Digest>,
    manifest_times: BTreeMap<Digest, Times>,
    tag_times: BTreeMap<String, Times>,
    attributes: BTreeMap<Item, Changeable>,
}

/// First and last write: `now` for a new record, `created` kept for an old one.
fn touch<K: Ord>(map: &mut BTreeMap<K, Times>, key: K, now: SystemTime) {
    map.entry(key).and_modify(|t| t.updated = now).or_insert(Times { created: now, updated: now });
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registries> {
        // Every critical section is a handful of map operations: a panic inside one cannot
        // leave a map half-updated, so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Everything stored, one line per fact, in order: `reg blob <digest> <size>`,
    /// `reg/repo link <digest>`, `reg/repo manifest <digest> <media type>`,
    /// `reg/repo tag <tag> <digest>`. Tests compare it before and after.
    pub fn contents(&self) -> Vec<String> {
        let st = self.lock();
        let mut out = Vec::new();
        for (name, reg) in &st.by_name {
            for (d, b) in &reg.blobs {
                out.push(format!("{name} blob {d} {}", b.len));
            }
            for (repo, r) in &reg.repos {
                out.extend(r.links.iter().map(|d| format!("{name}/{repo} link {d}")));
                out.extend(r.manifests.iter().map(|(d, mt)| format!("{name}/{repo} manifest {d} {mt}")));
                out.extend(r.tags.iter().map(|(t, d)| format!("{name}/{repo} tag {t} {d}")));
            }
        }
        out
    }
}

/// A chunk being filled: an anonymous map of [`CHUNK`] bytes and how many hold data.
struct Filling {
    map: MmapMut,
    len: usize,
}

fn map_error(e: std::io::Error) -> StorageError {
    StorageError::Io { op: "map memory for", path: std::path::PathBuf::from("an upload"), source: e }
}

impl Filling {
    fn new() -> Result<Filling, StorageError> {
        Ok(Filling { map: MmapMut::map_anon(CHUNK).map_err(map_error)?, len: 0 })
    }

    /// The filled part, read-only and shareable.
    fn freeze(self) -> Result<Bytes, StorageError> {
        let len = self.len;
        Ok(Bytes::from_owner(self.map.make_read_only().map_err(map_error)?).slice(..len))
    }
}

struct MemoryStaging {
    store: MemoryStore,
    registry: String,
    /// Full chunks, then the one being filled.
    done: Vec<Bytes>,
    filling: Option<Filling>,
    hash: RollingHash,
}

impl MemoryStaging {
    fn into_content(mut self) -> Result<Content, StorageError> {
        if let Some(f) = self.filling.take().filter(|f| f.len > 0) {
            self.done.push(f.freeze()?);
        }
        Ok(Content { chunks: std::mem::take(&mut self.done), len: self.hash.len() })
    }

    fn write(&mut self, mut data: &[u8]) -> Result<(), StorageError> {
        while !data.is_empty() {
            let f = match &mut self.filling {
                Some(f) if f.len < CHUNK => f,
                slot => {
                    if let Some(full) = slot.take() {
                        self.done.push(full.freeze()?);
                    }
                    self.filling.insert(Filling::new()?)
                }
            };
            let n = (CHUNK - f.len).min(data.len());
            f.map[f.len..f.len + n].copy_from_slice(&data[..n]);
            f.len += n;
            data = &data[n..];
        }
        Ok(())
    }
}

impl Staging for MemoryStaging {
    fn append<'a>(&'a mut self, data: &'a [u8]) -> BoxFut<'a, Result<(), StorageError>> {
        let written = self.write(data);
        if written.is_ok() {
            self.hash.update(data);
        }
        Box::pin(async { written })
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
        let len = self.hash.rollback() as usize;
        // Whole chunks before the mark stay; the chunk holding it is refilled.
        let keep_chunks = len / CHUNK;
        let result = if keep_chunks < self.done.len() {
            let partial = self.done[keep_chunks].slice(..len % CHUNK);
            self.done.truncate(keep_chunks);
            self.filling = None;
            self.write(&partial)
        } else {
            if let Some(f) = &mut self.filling {
                f.len = len - keep_chunks * CHUNK;
            }
            Ok(())
        };
        Box::pin(async { result })
    }

    fn commit<'a>(self: Box<Self>, repo: &'a Repo, expected: &'a Digest) -> BoxFut<'a, Result<u64, StorageError>> {
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
            let store = self.store.clone();
            let content = self.into_content()?;
            let size = content.len;
            let mut st = store.lock();
            let reg = st.by_name.entry(repo.registry.clone()).or_default();
            reg.blobs.entry(actual.clone()).or_insert(content);
            reg.repos.entry(repo.name.as_str().to_string()).or_default().links.insert(actual);
            Ok(size)
        })
    }
}

fn ready<'a, T: Send + 'a>(v: T) -> BoxFut<'a, T> {
    Box::pin(async move { v })
}

impl BlobStore for MemoryStore {
    fn max_blob_size(&self) -> u64 {
        MEMORY_MAX_BLOB
    }

    fn begin_upload<'a>(&'a self, registry: &'a str) -> BoxFut<'a, Result<Box<dyn Staging>, StorageError>> {
        let s = MemoryStaging {
            store: self.clone(),
            registry: registry.to_ascii_lowercase(),
            done: Vec::new(),
            filling: None,
            hash: RollingHash::new(),
        };
        ready(Ok(Box::new(s) as Box<dyn Staging>))
    }

    fn blob_size<'a>(&'a self, repo: &'a Repo, digest: &'a Digest) -> BoxFut<'a, Result<Option<u64>, StorageError>> {
        let st = self.lock();
        let size = st.by_name.get(&repo.registry).and_then(|reg| {
            let linked = reg.repos.get(repo.name.as_str()).is_some_and(|r| r.links.contains(digest));
            linked.then(|| reg.blobs.get(digest).map(|b| b.len)).flatten()
        });
        ready(Ok(size))
    }

    fn open_blob<'a>(
        &'a self,
        repo: &'a Repo,
        digest: &'a Digest,
        range: Option<ByteRange>,
    ) -> BoxFut<'a, Result<Option<BlobReader>, StorageError>> {
        let st = self.lock();
        let blob = st.by_name.get(&repo.registry).and_then(|reg| {
            let linked = reg.repos.get(repo.name.as_str()).is_some_and(|r| r.links.contains(digest));
            linked.then(|| reg.blobs.get(digest).cloned()).flatten()
        });
        drop(st);
        let out = match blob {
            None => Ok(None),
            Some(b) => {
                let size = b.len;
                check_range(range, size).map(|()| {
                    let reader = match range {
                        Some(r) => b.reader(r.start, r.end - r.start + 1),
                        None => b.reader(0, size),
                    };
                    Some(BlobReader { size, range, reader: Box::pin(reader) })
                })
            }
        };
        ready(out)
    }

    fn mount_blob<'a>(
        &'a self,
        from: &'a Repo,
        to: &'a Repo,
        digest: &'a Digest,
    ) -> BoxFut<'a, Result<bool, StorageError>> {
        let mut st = self.lock();
        let ok = from.registry == to.registry
            && st.by_name.get_mut(&from.registry).is_some_and(|reg| {
                let held = reg.blobs.contains_key(digest)
                    && reg.repos.get(from.name.as_str()).is_some_and(|r| r.links.contains(digest));
                if held {
                    reg.repos.entry(to.name.as_str().to_string()).or_default().links.insert(digest.clone());
                }
                held
            });
        ready(Ok(ok))
    }

    fn put_manifest<'a>(
        &'a self,
        repo: &'a Repo,
        manifest: &'a StoredManifest,
        tag: Option<&'a str>,
    ) -> BoxFut<'a, Result<(), StorageError>> {
        let actual = Digest::of(&manifest.bytes);
        if actual != manifest.digest {
            return ready(Err(StorageError::DigestMismatch { expected: manifest.digest.clone(), actual }));
        }
        let mut st = self.lock();
        let reg = st.by_name.entry(repo.registry.clone()).or_default();
        reg.blobs.entry(actual.clone()).or_insert_with(|| Content::one(manifest.bytes.clone()));
        let r = reg.repos.entry(repo.name.as_str().to_string()).or_default();
        let now = SystemTime::now();
        r.manifests.insert(actual.clone(), manifest.media_type.clone());
        touch(&mut r.manifest_times, actual.clone(), now);
        if let Some(t) = tag {
            r.tags.insert(t.to_string(), actual);
            touch(&mut r.tag_times, t.to_string(), now);
        }
        ready(Ok(()))
    }

    fn get_manifest<'a>(
        &'a self,
        repo: &'a Repo,
        reference: &'a Reference,
    ) -> BoxFut<'a, Result<Option<StoredManifest>, StorageError>> {
        let st = self.lock();
        let found = st.by_name.get(&repo.registry).and_then(|reg| {
            let r = reg.repos.get(repo.name.as_str())?;
            let digest = match reference {
                Reference::Tag(t) => r.tags.get(t)?.clone(),
                Reference::Digest(d) => d.clone(),
            };
            let media_type = r.manifests.get(&digest)?.clone();
            let bytes = reg.blobs.get(&digest)?.contiguous();
            Some(StoredManifest { digest, media_type, bytes })
        });
        ready(Ok(found))
    }

    fn delete_manifest<'a>(
        &'a self,
        repo: &'a Repo,
        reference: &'a Reference,
    ) -> BoxFut<'a, Result<bool, StorageError>> {
        let mut st = self.lock();
        let Some(r) = st.by_name.get_mut(&repo.registry).and_then(|reg| reg.repos.get_mut(repo.name.as_str())) else {
            return ready(Ok(false));
        };
        let found = match reference {
            Reference::Tag(t) => {
                r.tag_times.remove(t);
                r.attributes.remove(&Item::Tag(t.clone()));
                r.tags.remove(t).is_some()
            }
            Reference::Digest(d) => {
                let gone: Vec<String> = r.tags.iter().filter(|(_, v)| *v == d).map(|(t, _)| t.clone()).collect();
                for t in gone {
                    r.tags.remove(&t);
                    r.tag_times.remove(&t);
                    r.attributes.remove(&Item::Tag(t));
                }
                r.manifest_times.remove(d);
                r.attributes.remove(&Item::Manifest(d.clone()));
                r.manifests.remove(d).is_some()
            }
        };
        ready(Ok(found))
    }

    fn tags<'a>(&'a self, repo: &'a Repo) -> BoxFut<'a, Result<Option<Vec<String>>, StorageError>> {
        let st = self.lock();
        let tags = st
            .by_name
            .get(&repo.registry)
            .and_then(|reg| reg.repos.get(repo.name.as_str()))
            .map(|r| r.tags.keys().cloned().collect());
        ready(Ok(tags))
    }

    fn unlink_blob<'a>(&'a self, repo: &'a Repo, digest: &'a Digest) -> BoxFut<'a, Result<Option<bool>, StorageError>> {
        let mut st = self.lock();
        let removed = st
            .by_name
            .get_mut(&repo.registry)
            .and_then(|reg| reg.repos.get_mut(repo.name.as_str()))
            .is_some_and(|r| r.links.remove(digest));
        ready(Ok(Some(removed)))
    }

    fn manifest_digests<'a>(&'a self, repo: &'a Repo) -> BoxFut<'a, Result<Option<Vec<Digest>>, StorageError>> {
        let st = self.lock();
        let digests = st
            .by_name
            .get(&repo.registry)
            .and_then(|reg| reg.repos.get(repo.name.as_str()))
            .map(|r| r.manifests.keys().cloned().collect())
            .unwrap_or_default();
        ready(Ok(Some(digests)))
    }

    fn manifest_times<'a>(
        &'a self,
        repo: &'a Repo,
        digest: &'a Digest,
    ) -> BoxFut<'a, Result<Option<Times>, StorageError>> {
        let st = self.lock();
        let t = st
            .by_name
            .get(&repo.registry)
            .and_then(|reg| reg.repos.get(repo.name.as_str()))
            .and_then(|r| r.manifest_times.get(digest).copied());
        ready(Ok(t))
    }

    fn tag_times<'a>(&'a self, repo: &'a Repo, tag: &'a str) -> BoxFut<'a, Result<Option<Times>, StorageError>> {
        let st = self.lock();
        let t = st
            .by_name
            .get(&repo.registry)
            .and_then(|reg| reg.repos.get(repo.name.as_str()))
            .and_then(|r| r.tag_times.get(tag).copied());
        ready(Ok(t))
    }

    fn attributes<'a>(&'a self, repo: &'a Repo, item: &'a Item) -> BoxFut<'a, Result<Changeable, StorageError>> {
        let st = self.lock();
        let a = st
            .by_name
            .get(&repo.registry)
            .and_then(|reg| reg.repos.get(repo.name.as_str()))
            .and_then(|r| r.attributes.get(item).copied())
            .unwrap_or_default();
        ready(Ok(a))
    }

    fn set_attributes<'a>(
        &'a self,
        repo: &'a Repo,
        item: &'a Item,
        attributes: Changeable,
    ) -> BoxFut<'a, Result<bool, StorageError>> {
        let mut st = self.lock();
        let reg = st.by_name.entry(repo.registry.clone()).or_default();
        reg.repos.entry(repo.name.as_str().to_string()).or_default().attributes.insert(item.clone(), attributes);
        ready(Ok(true))
    }

    fn delete_repository<'a>(&'a self, repo: &'a Repo) -> BoxFut<'a, Result<(), StorageError>> {
        let mut st = self.lock();
        if let Some(reg) = st.by_name.get_mut(&repo.registry) {
            reg.repos.remove(repo.name.as_str());
        }
        ready(Ok(()))
    }

    fn repositories<'a>(&'a self, registry: &'a str) -> BoxFut<'a, Result<Vec<String>, StorageError>> {
        let st = self.lock();
        let repos = st
            .by_name
            .get(&registry.to_ascii_lowercase())
            .map(|reg| reg.repos.iter().filter(|(_, r)| !r.manifests.is_empty()).map(|(n, _)| n.clone()).collect())
            .unwrap_or_default();
        ready(Ok(repos))
    }
}
