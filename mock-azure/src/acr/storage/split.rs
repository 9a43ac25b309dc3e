//! [`Schema1Aside`]: a store that keeps everything in a main store except Docker schema 1
//! manifests, which go to a second one. The CNCF distribution registry 2.8 refuses to
//! store unsigned schema 1 manifests (see `registry.rs`), yet ACR holds them and App
//! Service refuses them only when it pulls (docs/azure.md E): the docker backend keeps them
//! beside the registry so that refusal still happens where Azure's does.
//!
//! Reads look in the main store first: a tag pushed to both (schema 1, then schema 2)
//! reads as the schema 2 one, as a later push would in the registry.

use std::sync::Arc;

use super::{
    BlobReader, BlobStore, BoxFut, ByteRange, Changeable, Item, Repo, Staging, StorageError, StoredManifest, Times,
};
use crate::acr::oci::{Digest, Reference, media};

/// Everything in `main` but schema 1 manifests, which live in `schema1`.
pub struct Schema1Aside {
    main: Arc<dyn BlobStore>,
    schema1: Arc<dyn BlobStore>,
}

impl Schema1Aside {
    /// Blobs and manifests in `main`; schema 1 manifests in `schema1`.
    pub fn new(main: Arc<dyn BlobStore>, schema1: Arc<dyn BlobStore>) -> Schema1Aside {
        Schema1Aside { main, schema1 }
    }
}

fn is_schema1(media_type: &str) -> bool {
    media_type == media::DOCKER_SCHEMA1 || media_type == media::DOCKER_SCHEMA1_SIGNED
}

impl BlobStore for Schema1Aside {
    fn begin_upload<'a>(&'a self, registry: &'a str) -> BoxFut<'a, Result<Box<dyn Staging>, StorageError>> {
        self.main.begin_upload(registry)
    }

    fn max_blob_size(&self) -> u64 {
        self.main.max_blob_size()
    }

    fn blob_size<'a>(&'a self, repo: &'a Repo, digest: &'a Digest) -> BoxFut<'a, Result<Option<u64>, StorageError>> {
        self.main.blob_size(repo, digest)
    }

    fn open_blob<'a>(
        &'a self,
        repo: &'a Repo,
        digest: &'a Digest,
        range: Option<ByteRange>,
    ) -> BoxFut<'a, Result<Option<BlobReader>, StorageError>> {
        self.main.open_blob(repo, digest, range)
    }

    fn mount_blob<'a>(
        &'a self,
        from: &'a Repo,
        to: &'a Repo,
        digest: &'a Digest,
    ) -> BoxFut<'a, Result<bool, StorageError>> {
        self.main.mount_blob(from, to, digest)
    }

    fn put_manifest<'a>(
        &'a self,
        repo: &'a Repo,
        manifest: &'a StoredManifest,
        tag: Option<&'a str>,
    ) -> BoxFut<'a, Result<(), StorageError>> {
        if is_schema1(&manifest.media_type) {
            self.schema1.put_manifest(repo, manifest, tag)
        } else {
            self.main.put_manifest(repo, manifest, tag)
        }
    }

    fn get_manifest<'a>(
        &'a self,
        repo: &'a Repo,
        reference: &'a Reference,
    ) -> BoxFut<'a, Result<Option<StoredManifest>, StorageError>> {
        Box::pin(async move {
            match self.main.get_manifest(repo, reference).await? {
                Some(m) => Ok(Some(m)),
                None => self.schema1.get_manifest(repo, reference).await,
            }
        })
    }

    fn delete_manifest<'a>(
        &'a self,
        repo: &'a Repo,
        reference: &'a Reference,
    ) -> BoxFut<'a, Result<bool, StorageError>> {
        Box::pin(async move {
            let main = self.main.delete_manifest(repo, reference).await?;
            let aside = self.schema1.delete_manifest(repo, reference).await?;
            Ok(main || aside)
        })
    }

    fn tags<'a>(&'a self, repo: &'a Repo) -> BoxFut<'a, Result<Option<Vec<String>>, StorageError>> {
        Box::pin(async move {
            let (main, aside) = (self.main.tags(repo).await?, self.schema1.tags(repo).await?);
            Ok(match (main, aside) {
                (None, None) => None,
                (a, b) => {
                    let mut all: Vec<String> = a.into_iter().chain(b).flatten().collect();
                    all.sort();
                    all.dedup();
                    Some(all)
                }
            })
        })
    }

    // Blobs live in the main store only (schema 1 manifests keep theirs inside).
    fn unlink_blob<'a>(&'a self, repo: &'a Repo, digest: &'a Digest) -> BoxFut<'a, Result<Option<bool>, StorageError>> {
        self.main.unlink_blob(repo, digest)
    }

    fn manifest_digests<'a>(&'a self, repo: &'a Repo) -> BoxFut<'a, Result<Option<Vec<Digest>>, StorageError>> {
        self.main.manifest_digests(repo)
    }

    fn manifest_times<'a>(
        &'a self,
        repo: &'a Repo,
        digest: &'a Digest,
    ) -> BoxFut<'a, Result<Option<Times>, StorageError>> {
        Box::pin(async move {
            match self.main.manifest_times(repo, digest).await? {
                Some(t) => Ok(Some(t)),
                None => self.schema1.manifest_times(repo, digest).await,
            }
        })
    }

    fn tag_times<'a>(&'a self, repo: &'a Repo, tag: &'a str) -> BoxFut<'a, Result<Option<Times>, StorageError>> {
        Box::pin(async move {
            match self.main.tag_times(repo, tag).await? {
                Some(t) => Ok(Some(t)),
                None => self.schema1.tag_times(repo, tag).await,
            }
        })
    }

    // Attributes are kept beside the schema 1 manifests (the disk store keeps them; the
    // distribution registry cannot).
    fn attributes<'a>(&'a self, repo: &'a Repo, item: &'a Item) -> BoxFut<'a, Result<Changeable, StorageError>> {
        self.schema1.attributes(repo, item)
    }

    fn set_attributes<'a>(
        &'a self,
        repo: &'a Repo,
        item: &'a Item,
        attributes: Changeable,
    ) -> BoxFut<'a, Result<bool, StorageError>> {
        self.schema1.set_attributes(repo, item, attributes)
    }

    fn delete_repository<'a>(&'a self, repo: &'a Repo) -> BoxFut<'a, Result<(), StorageError>> {
        Box::pin(async move {
            self.main.delete_repository(repo).await?;
            self.schema1.delete_repository(repo).await
        })
    }

    fn repositories<'a>(&'a self, registry: &'a str) -> BoxFut<'a, Result<Vec<String>, StorageError>> {
        Box::pin(async move {
            let mut all = self.main.repositories(registry).await?;
            all.extend(self.schema1.repositories(registry).await?);
            all.sort();
            all.dedup();
            Ok(all)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acr::oci::RepoName;
    use crate::acr::storage::MemoryStore;
    use bytes::Bytes;

    fn manifest(bytes: &'static [u8], media_type: &str) -> StoredManifest {
        StoredManifest { digest: Digest::of(bytes), media_type: media_type.into(), bytes: Bytes::from_static(bytes) }
    }

    #[tokio::test]
    async fn schema1_manifests_go_aside_and_read_back_through_the_split_store() {
        let (main, aside) = (Arc::new(MemoryStore::new()), Arc::new(MemoryStore::new()));
        let split = Schema1Aside::new(main.clone(), aside.clone());
        let repo = Repo::new("secureacr2021", RepoName::parse("app").unwrap()).unwrap();
        let v1 = manifest(br#"{"schemaVersion":1}"#, media::DOCKER_SCHEMA1);
        let v2 = manifest(br#"{"schemaVersion":2}"#, media::OCI_MANIFEST);
        split.put_manifest(&repo, &v1, Some("old")).await.unwrap();
        split.put_manifest(&repo, &v2, Some("new")).await.unwrap();
        let tag = |t: &str| Reference::Tag(t.to_string());
        assert!(main.get_manifest(&repo, &tag("old")).await.unwrap().is_none(), "schema 1 is not in the main store");
        assert!(aside.get_manifest(&repo, &tag("new")).await.unwrap().is_none(), "schema 2 is not aside");
        assert_eq!(split.get_manifest(&repo, &tag("old")).await.unwrap(), Some(v1.clone()));
        assert_eq!(split.get_manifest(&repo, &Reference::Digest(v2.digest.clone())).await.unwrap(), Some(v2));
        assert_eq!(split.tags(&repo).await.unwrap(), Some(vec!["new".to_string(), "old".to_string()]));
        assert!(split.delete_manifest(&repo, &tag("old")).await.unwrap());
        assert_eq!(split.get_manifest(&repo, &tag("old")).await.unwrap(), None);
    }
}
