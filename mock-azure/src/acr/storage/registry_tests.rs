//! The registry store against a real `docker-registry` (distribution 2.8) process that
//! each test starts on a free port, with its data in a temporary directory. The suite
//! in `tests.rs` cannot be run as it is: distribution refuses its manifest
//! (`{"schemaVersion":2}` references no config), so its checks are repeated here with
//! an image manifest.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;

use super::*;
use crate::acr::image::{generate_image, generate_index, push_image, push_index};
use crate::acr::oci::RepoName;

const BINARY: &str = "/usr/bin/docker-registry";

/// A `docker-registry` process, killed when dropped (a failing test included).
struct LocalRegistry {
    child: Child,
    dir: tempfile::TempDir,
    addr: SocketAddr,
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LocalRegistry {
    /// Starts a registry and waits until `GET /v2/` answers; `None` when the binary is
    /// missing, unless `CI=true` (then its absence fails the test).
    async fn start() -> Option<LocalRegistry> {
        if !Path::new(BINARY).is_file() {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "{BINARY} is missing (apt-get install docker-registry)"
            );
            eprintln!("skipped: {BINARY} is missing (apt-get install docker-registry)");
            return None;
        }
        let mut last_log = String::new();
        // The port is free when picked but the registry binds it itself (it cannot be
        // handed a listener), so another process may take it first: then try another.
        for _ in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
            let config = dir.path().join("config.yml");
            let data = dir.path().join("data");
            std::fs::write(&config, RegistryStore::config(&addr.to_string(), data.to_str().unwrap())).unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let child = Command::new(BINARY)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap();
            let mut reg = LocalRegistry { child, dir, addr };
            if reg.ready().await {
                return Some(reg);
            }
            last_log = reg.log();
        }
        panic!("docker-registry did not start:\n{last_log}");
    }

    /// Whether `GET /v2/` answers 200 before the process exits or 20 s pass.
    async fn ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        let probe = self.store("");
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if probe.call(Method::GET, "/v2/", &[], Bytes::new()).await.is_ok_and(|a| a.status == 200) {
                return true;
            }
            // The interval between probes, not a guess at how long starting takes.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    fn store(&self, prefix: &str) -> RegistryStore {
        RegistryStore::new(format!("http://{}", self.addr), prefix)
    }
}

fn repo(name: &str) -> Repo {
    Repo::new("storeacr", RepoName::parse(name).unwrap()).unwrap()
}

async fn upload(s: &dyn BlobStore, r: &Repo, data: &[u8]) -> Digest {
    let mut st = s.begin_upload(&r.registry).await.unwrap();
    st.append(data).await.unwrap();
    let d = Digest::of(data);
    st.commit(r, &d).await.unwrap();
    d
}

async fn read_all(s: &dyn BlobStore, r: &Repo, d: &Digest, range: Option<ByteRange>) -> Option<Vec<u8>> {
    let mut b = s.open_blob(r, d, range).await.unwrap()?;
    let mut out = Vec::new();
    b.reader.read_to_end(&mut out).await.unwrap();
    Some(out)
}

/// An OCI image manifest over a config and one layer.
fn image_manifest(config: &[u8], layer: &[u8]) -> StoredManifest {
    let m = serde_json::json!({"schemaVersion": 2, "mediaType": media::OCI_MANIFEST,
        "config": {"mediaType": media::OCI_CONFIG, "digest": Digest::of(config).as_str(), "size": config.len()},
        "layers": [{"mediaType": media::OCI_LAYER_TAR, "digest": Digest::of(layer).as_str(), "size": layer.len()}]});
    let bytes = Bytes::from(m.to_string());
    StoredManifest { digest: Digest::of(&bytes), media_type: media::OCI_MANIFEST.into(), bytes }
}

#[tokio::test]
async fn registry_store_is_content_addressed() {
    let Some(reg) = LocalRegistry::start().await else { return };
    let s = &reg.store("pullsim/test");
    let a = repo("team/app");
    let b = repo("other");
    let d = upload(s, &a, b"layer bytes").await;
    assert_eq!(s.blob_size(&a, &d).await.unwrap(), Some(11));
    assert_eq!(s.blob_size(&b, &d).await.unwrap(), None, "blobs are linked per repository");
    assert_eq!(read_all(s, &a, &d, Some(ByteRange { start: 6, end: 10 })).await.unwrap(), b"bytes");
    assert!(matches!(
        s.open_blob(&a, &d, Some(ByteRange { start: 5, end: 11 })).await,
        Err(StorageError::Range { start: 5, end: 11, size: 11 })
    ));
    assert!(s.mount_blob(&a, &b, &d).await.unwrap());
    assert_eq!(read_all(s, &b, &d, None).await.unwrap(), b"layer bytes");
    assert!(!s.mount_blob(&a, &b, &Digest::of(b"absent")).await.unwrap());

    upload(s, &a, b"{}").await;
    let m = image_manifest(b"{}", b"layer bytes");
    s.put_manifest(&a, &m, Some("v1")).await.unwrap();
    s.put_manifest(&a, &m, Some("latest")).await.unwrap();
    assert_eq!(s.get_manifest(&a, &Reference::Tag("v1".into())).await.unwrap(), Some(m.clone()));
    assert_eq!(s.get_manifest(&a, &Reference::Digest(m.digest.clone())).await.unwrap(), Some(m.clone()));
    assert_eq!(s.get_manifest(&b, &Reference::Tag("v1".into())).await.unwrap(), None);
    assert_eq!(s.blob_size(&a, &m.digest).await.unwrap(), None, "a manifest is not a blob of the repository");
    assert_eq!(s.tags(&a).await.unwrap(), Some(vec!["latest".into(), "v1".into()]));
    assert_eq!(s.tags(&repo("nothing")).await.unwrap(), None);
    assert_eq!(s.repositories("storeacr").await.unwrap(), vec!["team/app".to_string()]);

    assert!(s.delete_manifest(&a, &Reference::Tag("latest".into())).await.unwrap());
    assert_eq!(s.tags(&a).await.unwrap(), Some(vec!["v1".into()]));
    assert_eq!(s.get_manifest(&a, &Reference::Tag("v1".into())).await.unwrap(), Some(m.clone()));
    assert!(!s.delete_manifest(&a, &Reference::Tag("latest".into())).await.unwrap());
    assert!(s.delete_manifest(&a, &Reference::Digest(m.digest.clone())).await.unwrap());
    assert_eq!(s.tags(&a).await.unwrap(), Some(vec![]), "deleting a manifest removes its tags");
    assert_eq!(s.get_manifest(&a, &Reference::Digest(m.digest.clone())).await.unwrap(), None);
    assert!(!s.delete_manifest(&a, &Reference::Digest(m.digest.clone())).await.unwrap());

    let wrong = StoredManifest { digest: Digest::of(b"other"), ..m };
    assert!(matches!(s.put_manifest(&a, &wrong, None).await, Err(StorageError::DigestMismatch { .. })));
}

#[tokio::test]
async fn registry_store_leaves_nothing_for_a_wrong_digest_or_a_dropped_upload() {
    let Some(reg) = LocalRegistry::start().await else { return };
    let s = &reg.store("");
    let a = repo("app");
    let mut st = s.begin_upload("storeacr").await.unwrap();
    st.append(b"hello").await.unwrap();
    let claimed = Digest::of(b"something else");
    match st.commit(&a, &claimed).await {
        Err(StorageError::DigestMismatch { expected, actual }) => {
            assert_eq!((expected, actual), (claimed.clone(), Digest::of(b"hello")));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.blob_size(&a, &Digest::of(b"hello")).await.unwrap(), None);
    assert_eq!(s.blob_size(&a, &claimed).await.unwrap(), None);

    let mut st = s.begin_upload("storeacr").await.unwrap();
    st.append(b"abandoned").await.unwrap();
    drop(st);
    assert_eq!(s.blob_size(&a, &Digest::of(b"abandoned")).await.unwrap(), None);

    // A chunk rolled back is as if never sent, though the chunk before it was.
    let mut st = s.begin_upload("storeacr").await.unwrap();
    st.mark();
    st.append(b"good ").await.unwrap();
    st.mark();
    st.append(b"half a chu").await.unwrap();
    st.rollback().await.unwrap();
    st.append(b"end").await.unwrap();
    assert_eq!(st.digest(), Digest::of(b"good end"));
    st.commit(&a, &Digest::of(b"good end")).await.unwrap();
    assert_eq!(read_all(s, &a, &Digest::of(b"good end"), None).await.unwrap(), b"good end");

    let st = s.begin_upload("storeacr").await.unwrap();
    let elsewhere = Repo { registry: "otheracr".into(), name: a.name.clone() };
    assert!(matches!(st.commit(&elsewhere, &Digest::of(b"")).await, Err(StorageError::WrongRegistry { .. })));
}

#[tokio::test]
async fn a_dropped_upload_is_cancelled_in_the_registry() {
    let Some(reg) = LocalRegistry::start().await else { return };
    let s = &reg.store("");
    let mut st = s.begin_upload("storeacr").await.unwrap();
    st.mark();
    st.append(b"sent ").await.unwrap();
    st.mark();
    st.append(b"held").await.unwrap();
    // distribution 2.8 keeps an upload's bytes in `_uploads/<id>/data` until it ends.
    let uploads = reg.dir.path().join("data/docker/registry/v2/repositories/storeacr/_uploads");
    let staged = || std::fs::read_dir(&uploads).unwrap().flatten().filter(|e| e.path().join("data").exists()).count();
    assert_eq!(staged(), 1);
    drop(st);
    // The cancellation runs in the background: wait for it, within a deadline.
    let deadline = Instant::now() + Duration::from_secs(10);
    while staged() > 0 {
        assert!(Instant::now() < deadline, "the upload is still in the registry");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn registry_store_sends_chunks_in_order_and_serves_ranges_across_them() {
    let Some(reg) = LocalRegistry::start().await else { return };
    let s = &reg.store("");
    let a = repo("big");
    let blob: Vec<u8> = (0..900_000u32).map(|i| (i % 251) as u8).collect();
    let mut st = s.begin_upload("storeacr").await.unwrap();
    for chunk in blob.chunks(300_000) {
        st.mark();
        st.append(&chunk[..1000]).await.unwrap();
        st.append(&chunk[1000..]).await.unwrap();
    }
    let size = st.commit(&a, &Digest::of(&blob)).await.unwrap();
    assert_eq!(size, 900_000);
    assert_eq!(read_all(s, &a, &Digest::of(&blob), None).await.unwrap(), blob);
    let across = ByteRange { start: 299_990, end: 600_009 };
    assert_eq!(read_all(s, &a, &Digest::of(&blob), Some(across)).await.unwrap(), &blob[299_990..=600_009]);
}

#[tokio::test]
async fn registry_store_refuses_a_manifest_whose_blobs_are_not_in_the_repository() {
    let Some(reg) = LocalRegistry::start().await else { return };
    let s = &reg.store("");
    let (a, b) = (repo("has"), repo("lacks"));
    upload(s, &a, b"{}").await;
    upload(s, &a, b"layer").await;
    let m = image_manifest(b"{}", b"layer");
    s.put_manifest(&a, &m, Some("v1")).await.unwrap();
    let err = s.put_manifest(&b, &m, Some("v1")).await.unwrap_err();
    assert!(
        matches!(&err, StorageError::Backend { status: Some(400), code: Some(c), .. } if c == "MANIFEST_BLOB_UNKNOWN"),
        "{err:?}"
    );
    // Distribution names every missing reference, the config first.
    let (config, layer) = (Digest::of(b"{}"), Digest::of(b"layer"));
    let unknown = "MANIFEST_BLOB_UNKNOWN: blob unknown to registry";
    assert_eq!(
        err.to_string(),
        format!("PUT /v2/storeacr/lacks/manifests/v1: HTTP 400: {unknown} ({config}); {unknown} ({layer})")
    );
    assert_eq!(s.get_manifest(&b, &Reference::Tag("v1".into())).await.unwrap(), None);
}

/// Pins a limitation: distribution 2.8 accepts only signed schema 1 manifests, so the
/// scenario pushing an unsigned one cannot run on this store.
#[tokio::test]
async fn registry_store_cannot_store_an_unsigned_schema1_manifest() {
    let Some(reg) = LocalRegistry::start().await else { return };
    let s = &reg.store("");
    let a = repo("old");
    let layer = upload(s, &a, b"v1 layer").await;
    let m = serde_json::json!({"schemaVersion": 1, "name": "old", "tag": "v1", "architecture": "amd64",
        "fsLayers": [{"blobSum": layer.as_str()}], "history": [{"v1Compatibility": "{}"}]});
    let bytes = Bytes::from(m.to_string());
    let m = StoredManifest { digest: Digest::of(&bytes), media_type: media::DOCKER_SCHEMA1.into(), bytes };
    match s.put_manifest(&a, &m, Some("v1")).await {
        Err(StorageError::Backend { status: Some(400), code: Some(code), .. }) => assert_eq!(code, "MANIFEST_INVALID"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn registry_store_keeps_the_exact_bytes_and_media_type_of_every_manifest_kind() {
    let Some(reg) = LocalRegistry::start().await else { return };
    let s = &reg.store("");
    let a = repo("kinds");
    let image = generate_image(3, 2, 100);
    let digest = push_image(s, &a, &image, Some("oci")).await.unwrap();
    let index = generate_index(4, &[("linux", "amd64"), ("linux", "arm64")], 1, 50);
    let index_digest = push_index(s, &a, &index, Some("multi")).await.unwrap();

    upload(s, &a, b"{ }").await;
    // Not canonical JSON on purpose: the digest is over these bytes, so they must come back as they are.
    let docker = format!(
        "{{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"{}\",\n  \"config\": {{ \"mediaType\": \"{}\", \"size\": 3, \
         \"digest\": \"{}\" }},\n  \"layers\": []\n}}\n",
        media::DOCKER_MANIFEST,
        media::DOCKER_CONFIG,
        Digest::of(b"{ }")
    );
    let docker = StoredManifest {
        digest: Digest::of(docker.as_bytes()),
        media_type: media::DOCKER_MANIFEST.into(),
        bytes: Bytes::from(docker),
    };
    s.put_manifest(&a, &docker, Some("docker")).await.unwrap();
    let list = serde_json::json!({"schemaVersion": 2, "mediaType": media::DOCKER_LIST, "manifests": [{
        "mediaType": media::DOCKER_MANIFEST, "size": docker.bytes.len(), "digest": docker.digest.as_str(),
        "platform": {"architecture": "amd64", "os": "linux"}}]});
    let list = Bytes::from(serde_json::to_string_pretty(&list).unwrap());
    let list = StoredManifest { digest: Digest::of(&list), media_type: media::DOCKER_LIST.into(), bytes: list };
    s.put_manifest(&a, &list, Some("list")).await.unwrap();

    let expected = [
        ("oci", digest, image.manifest.bytes, media::OCI_MANIFEST),
        ("multi", index_digest, index.index.bytes, media::OCI_INDEX),
        ("docker", docker.digest, docker.bytes, media::DOCKER_MANIFEST),
        ("list", list.digest, list.bytes, media::DOCKER_LIST),
    ];
    for (tag, digest, bytes, media_type) in expected {
        let got = s.get_manifest(&a, &Reference::Tag(tag.into())).await.unwrap().unwrap();
        assert_eq!(got, StoredManifest { digest, media_type: media_type.into(), bytes }, "{tag}");
    }
    assert_eq!(s.tags(&a).await.unwrap().unwrap(), ["docker", "list", "multi", "oci"]);
}

#[tokio::test]
async fn registry_store_keeps_registries_and_prefixes_apart() {
    let Some(reg) = LocalRegistry::start().await else { return };
    let (one, two) = (reg.store("run1"), reg.store("run2"));
    let a = repo("app");
    let longer = Repo::new("storeacr2", a.name.clone()).unwrap();
    for (s, r) in [(&one, &a), (&one, &longer), (&two, &a)] {
        upload(s, r, b"{}").await;
        upload(s, r, b"layer").await;
        s.put_manifest(r, &image_manifest(b"{}", b"layer"), Some(&r.registry)).await.unwrap();
    }
    assert_eq!(one.tags(&a).await.unwrap(), Some(vec!["storeacr".into()]));
    assert_eq!(one.tags(&longer).await.unwrap(), Some(vec!["storeacr2".into()]));
    assert_eq!(one.repositories("storeacr").await.unwrap(), ["app"]);
    assert_eq!(one.repositories("storeacr2").await.unwrap(), ["app"]);
    assert_eq!(two.repositories("storeacr2").await.unwrap(), Vec::<String>::new());
    assert!(!one.mount_blob(&a, &longer, &Digest::of(b"layer")).await.unwrap(), "no mount across registries");
}

#[tokio::test]
async fn an_unreachable_registry_is_a_backend_error_without_a_status() {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let s = RegistryStore::new("127.0.0.1:1", "");
    match s.blob_size(&repo("app"), &Digest::of(b"x")).await {
        Err(StorageError::Backend { status: None, op, .. }) => {
            assert_eq!(op, format!("HEAD /v2/storeacr/app/blobs/{}", Digest::of(b"x")));
        }
        other => panic!("{other:?}"),
    }
}
