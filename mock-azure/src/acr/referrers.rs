//! OCI distribution-spec 1.1's referrers: the manifests of a repository whose `subject`
//! names a digest (`GET /v2/<name>/referrers/<digest>[?artifactType=…]`), and the
//! `OCI-Subject` answer to a pushed manifest that has a subject. ACR passes the 1.1
//! conformance suite, so pullsim answers as the spec says:
//! - the answer is an image index (`application/vnd.oci.image.index.v1+json`) of
//!   descriptors, each with the referrer's `artifactType` (its own, else its config's media
//!   type) and `annotations`;
//! - an unknown digest is not an error: the index is empty;
//! - `artifactType=` filters, and the answer says so with `OCI-Filters-Applied`.
//!
//! A store that cannot list a repository's manifests (the distribution registry behind
//! the docker backend) has no referrers API: 404, which tells a client to fall back to
//! the spec's referrers tag schema.

use serde_json::{Value, json};

use super::errors::RegistryError;
use super::oci::{Digest, Reference, media};
use super::storage::{BlobStore, Repo, StorageError};

/// The header a registry answers a manifest push with when the manifest has a subject.
pub const OCI_SUBJECT: &str = "oci-subject";

/// The header that says which filters the referrers answer applied.
pub const OCI_FILTERS_APPLIED: &str = "oci-filters-applied";

/// The referrers of `subject` in `repo` (filtered by `artifact_type`), as an image index.
pub(super) async fn index(
    blobs: &dyn BlobStore,
    repo: &Repo,
    subject: &Digest,
    artifact_type: Option<&str>,
) -> Result<Value, RegistryError> {
    let internal = |e: StorageError| RegistryError::internal(&e.to_string());
    let Some(digests) = blobs.manifest_digests(repo).await.map_err(internal)? else {
        return Err(RegistryError::not_found(&format!("/v2/{}/referrers/{subject}", repo.name)));
    };
    let mut manifests = Vec::new();
    for d in digests {
        let Some(m) = blobs.get_manifest(repo, &Reference::Digest(d.clone())).await.map_err(internal)? else {
            continue;
        };
        let Ok(v) = serde_json::from_slice::<Value>(&m.bytes) else { continue };
        if v["subject"]["digest"].as_str() != Some(subject.as_str()) {
            continue;
        }
        let kind = v["artifactType"].as_str().or_else(|| v["config"]["mediaType"].as_str()).unwrap_or_default();
        if artifact_type.is_some_and(|t| t != kind) {
            continue;
        }
        let mut desc = json!({"mediaType": m.media_type, "digest": d.as_str(), "size": m.bytes.len()});
        if !kind.is_empty() {
            desc["artifactType"] = json!(kind);
        }
        if v["annotations"].is_object() {
            desc["annotations"] = v["annotations"].clone();
        }
        manifests.push(desc);
    }
    Ok(json!({"schemaVersion": 2, "mediaType": media::OCI_INDEX, "manifests": manifests}))
}

/// The subject a manifest's bytes name, for the `OCI-Subject` header.
pub(super) fn subject_of(bytes: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let d = v["subject"]["digest"].as_str()?;
    Digest::parse(d).map(|d| d.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::acr::oci::RepoName;
    use crate::acr::storage::{MemoryStore, StoredManifest};

    fn manifest(v: Value) -> StoredManifest {
        let bytes = Bytes::from(v.to_string());
        StoredManifest { digest: Digest::of(&bytes), media_type: media::OCI_MANIFEST.into(), bytes }
    }

    #[tokio::test]
    async fn referrers_are_the_manifests_naming_the_subject_filtered_by_artifact_type() {
        let store = MemoryStore::new();
        let repo = Repo::new("referrersacr", RepoName::parse("app").unwrap()).unwrap();
        let image = manifest(json!({"schemaVersion": 2, "config": {"mediaType": media::OCI_CONFIG}}));
        let subject =
            json!({"mediaType": media::OCI_MANIFEST, "digest": image.digest.as_str(), "size": image.bytes.len()});
        let sbom = manifest(json!({"schemaVersion": 2, "artifactType": "application/spdx+json", "subject": subject,
            "annotations": {"org.example": "1"}}));
        let sig = manifest(json!({"schemaVersion": 2, "config": {"mediaType": "application/vnd.example.sig"},
            "subject": subject}));
        for m in [&image, &sbom, &sig] {
            store.put_manifest(&repo, m, None).await.unwrap();
        }
        let all = index(&store, &repo, &image.digest, None).await.unwrap();
        let kinds: Vec<&str> =
            all["manifests"].as_array().unwrap().iter().map(|d| d["artifactType"].as_str().unwrap()).collect();
        assert_eq!(kinds.len(), 2);
        assert!(kinds.contains(&"application/spdx+json") && kinds.contains(&"application/vnd.example.sig"));
        let one = index(&store, &repo, &image.digest, Some("application/spdx+json")).await.unwrap();
        assert_eq!(one["manifests"][0]["digest"], sbom.digest.as_str());
        assert_eq!(one["manifests"][0]["annotations"]["org.example"], "1");
        assert_eq!(one["manifests"].as_array().unwrap().len(), 1);
        let none = index(&store, &repo, &Digest::of(b"nothing"), None).await.unwrap();
        assert_eq!(none, json!({"schemaVersion": 2, "mediaType": media::OCI_INDEX, "manifests": []}));
        assert_eq!(subject_of(&sbom.bytes).as_deref(), Some(image.digest.as_str()));
        assert_eq!(subject_of(&image.bytes), None);
    }
}
