//! The in-memory [`BlobStore`]: ordered maps behind one lock, for tests and for
//! embedded scenarios that need no persistence.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::{
    BlobReader, BlobStore, BoxFut, ByteRange, Repo, RollingHash, Staging, StorageError, StoredManifest, check_range,
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

#[derive(Default)]
struct Registry {
    blobs: BTreeMap<Digest, Bytes>,
    repos: BTreeMap<String, RepoState>,
}

#[derive(Default)]
struct RepoState {
    links: BTreeSet<Digest>,
    manifests: BTreeMap<Digest, String>,
    tags: BTreeMap<String, Digest>,
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
                out.push(format!("{name} blob {d} {}", b.len()));
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

struct MemoryStaging {
    store: MemoryStore,
    registry: String,
    data: Vec<u8>,
    hash: RollingHash,
}

impl Staging for MemoryStaging {
    fn append<'a>(&'a mut self, data: &'a [u8]) -> BoxFut<'a, Result<(), StorageError>> {
        self.data.extend_from_slice(data);
        self.hash.update(data);
        Box::pin(async { Ok(()) })
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
        let len = self.hash.rollback();
        self.data.truncate(len as usize);
        Box::pin(async { Ok(()) })
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
            let MemoryStaging { store, data, .. } = *self;
            let size = data.len() as u64;
            let mut st = store.lock();
            let reg = st.by_name.entry(repo.registry.clone()).or_default();
            reg.blobs.entry(actual.clone()).or_insert_with(|| Bytes::from(data));
            reg.repos.entry(repo.name.as_str().to_string()).or_default().links.insert(actual);
            Ok(size)
        })
    }
}

fn ready<'a, T: Send + 'a>(v: T) -> BoxFut<'a, T> {
    Box::pin(async move { v })
}

impl BlobStore for MemoryStore {
    fn begin_upload<'a>(&'a self, registry: &'a str) -> BoxFut<'a, Result<Box<dyn Staging>, StorageError>> {
        let s = MemoryStaging {
            store: self.clone(),
            registry: registry.to_ascii_lowercase(),
            data: Vec::new(),
            hash: RollingHash::new(),
        };
        ready(Ok(Box::new(s) as Box<dyn Staging>))
    }

    fn blob_size<'a>(&'a self, repo: &'a Repo, digest: &'a Digest) -> BoxFut<'a, Result<Option<u64>, StorageError>> {
        let st = self.lock();
        let size = st.by_name.get(&repo.registry).and_then(|reg| {
            let linked = reg.repos.get(repo.name.as_str()).is_some_and(|r| r.links.contains(digest));
            linked.then(|| reg.blobs.get(digest).map(|b| b.len() as u64)).flatten()
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
                let size = b.len() as u64;
                check_range(range, size).map(|()| {
                    let part = match range {
                        Some(r) => b.slice(r.start as usize..=r.end as usize),
                        None => b,
                    };
                    Some(BlobReader { size, range, reader: Box::pin(std::io::Cursor::new(part)) })
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
        reg.blobs.entry(actual.clone()).or_insert_with(|| manifest.bytes.clone());
        let r = reg.repos.entry(repo.name.as_str().to_string()).or_default();
        r.manifests.insert(actual.clone(), manifest.media_type.clone());
        if let Some(t) = tag {
            r.tags.insert(t.to_string(), actual);
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
            let bytes = reg.blobs.get(&digest)?.clone();
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
            Reference::Tag(t) => r.tags.remove(t).is_some(),
            Reference::Digest(d) => {
                r.tags.retain(|_, v| v != d);
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
