//! Both stores pass the same tests; the disk store's atomicity is checked on its files.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use super::*;
use crate::acr::oci::media;

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
    use tokio::io::AsyncReadExt;
    let mut b = s.open_blob(r, d, range).await.unwrap()?;
    let mut out = Vec::new();
    b.reader.read_to_end(&mut out).await.unwrap();
    Some(out)
}

fn files(root: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            if p.is_dir() {
                out.push(format!("{rel}/"));
                walk(base, &p, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

async fn behaves_as_a_content_addressed_store(s: &dyn BlobStore) {
    let a = repo("team/app");
    let b = repo("other");
    let d = upload(s, &a, b"layer bytes").await;
    assert_eq!(s.blob_size(&a, &d).await.unwrap(), Some(11));
    assert_eq!(s.blob_size(&b, &d).await.unwrap(), None, "blobs are linked per repository");
    assert_eq!(read_all(s, &a, &d, Some(ByteRange { start: 6, end: 10 })).await.unwrap(), b"bytes");
    assert!(s.open_blob(&a, &d, Some(ByteRange { start: 5, end: 11 })).await.is_err());
    assert!(s.mount_blob(&a, &b, &d).await.unwrap());
    assert_eq!(read_all(s, &b, &d, None).await.unwrap(), b"layer bytes");
    assert!(!s.mount_blob(&a, &b, &Digest::of(b"absent")).await.unwrap());

    let body = Bytes::from_static(br#"{"schemaVersion":2}"#);
    let m = StoredManifest { digest: Digest::of(&body), media_type: media::OCI_MANIFEST.into(), bytes: body };
    s.put_manifest(&a, &m, Some("v1")).await.unwrap();
    s.put_manifest(&a, &m, Some("latest")).await.unwrap();
    assert_eq!(s.get_manifest(&a, &Reference::Tag("v1".into())).await.unwrap(), Some(m.clone()));
    assert_eq!(s.get_manifest(&a, &Reference::Digest(m.digest.clone())).await.unwrap(), Some(m.clone()));
    assert_eq!(s.get_manifest(&b, &Reference::Tag("v1".into())).await.unwrap(), None);
    assert_eq!(s.tags(&a).await.unwrap(), Some(vec!["latest".into(), "v1".into()]));
    assert_eq!(s.tags(&repo("nothing")).await.unwrap(), None);
    assert_eq!(s.repositories("storeacr").await.unwrap(), vec!["team/app".to_string()]);
    assert!(s.delete_manifest(&a, &Reference::Tag("latest".into())).await.unwrap());
    assert_eq!(s.tags(&a).await.unwrap(), Some(vec!["v1".into()]));
    assert!(s.delete_manifest(&a, &Reference::Digest(m.digest.clone())).await.unwrap());
    assert_eq!(s.tags(&a).await.unwrap(), Some(vec![]), "deleting a manifest removes its tags");
    assert!(!s.delete_manifest(&a, &Reference::Digest(m.digest.clone())).await.unwrap());

    let wrong = StoredManifest { digest: Digest::of(b"other"), ..m };
    assert!(matches!(s.put_manifest(&a, &wrong, None).await, Err(StorageError::DigestMismatch { .. })));
}

async fn a_wrong_digest_or_a_dropped_upload_leaves_nothing(s: &dyn BlobStore) {
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

    // A chunk rolled back is as if never sent.
    let mut st = s.begin_upload("storeacr").await.unwrap();
    st.append(b"good ").await.unwrap();
    st.mark();
    st.append(b"half a chu").await.unwrap();
    st.rollback().await.unwrap();
    st.append(b"end").await.unwrap();
    assert_eq!(st.digest(), Digest::of(b"good end"));
    st.commit(&a, &Digest::of(b"good end")).await.unwrap();
    assert_eq!(read_all(s, &a, &Digest::of(b"good end"), None).await.unwrap(), b"good end");

    let st = s.begin_upload("storeacr").await.unwrap();
    assert!(matches!(
        st.commit(&repo("app").clone_into_registry("otheracr"), &Digest::of(b"")).await,
        Err(StorageError::WrongRegistry { .. })
    ));
}

impl Repo {
    fn clone_into_registry(&self, registry: &str) -> Repo {
        Repo { registry: registry.into(), name: self.name.clone() }
    }
}

#[tokio::test]
async fn memory_store_is_content_addressed() {
    let s = MemoryStore::new();
    behaves_as_a_content_addressed_store(&s).await;
    a_wrong_digest_or_a_dropped_upload_leaves_nothing(&s).await;
}

#[tokio::test]
async fn disk_store_is_content_addressed() {
    let dir = tempfile::tempdir().unwrap();
    let s = DiskStore::open(dir.path()).unwrap();
    behaves_as_a_content_addressed_store(&s).await;
}

#[tokio::test]
async fn disk_store_writes_nothing_visible_for_failed_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let s = DiskStore::open(dir.path()).unwrap();
    let before = files(dir.path());
    a_wrong_digest_or_a_dropped_upload_leaves_nothing(&s).await;
    let after = files(dir.path());
    let new: Vec<&String> = after.iter().filter(|f| !before.contains(f)).collect();
    // Only the one committed blob ("good end") and its link appeared; no staging or temp file stayed.
    let hex = Digest::of(b"good end").hex().to_string();
    assert!(new.iter().all(|f| f.ends_with('/') || f.ends_with(&hex)), "{new:#?}");
    assert_eq!(new.iter().filter(|f| f.ends_with(&hex)).count(), 2, "{new:#?}");
    assert!(std::fs::read_dir(dir.path().join("uploads")).unwrap().next().is_none());
    assert!(std::fs::read_dir(dir.path().join("tmp")).unwrap().next().is_none());
}

#[tokio::test]
async fn disk_store_drops_crash_leftovers_on_open_and_keeps_what_was_committed() {
    let dir = tempfile::tempdir().unwrap();
    let a = repo("app");
    let d = {
        let s = DiskStore::open(dir.path()).unwrap();
        let d = upload(&s, &a, b"kept").await;
        // As if the process died mid-upload and mid-write.
        let mut st = s.begin_upload("storeacr").await.unwrap();
        st.append(b"half").await.unwrap();
        std::mem::forget(st);
        std::fs::write(dir.path().join("tmp/partial"), b"x").unwrap();
        d
    };
    let s = DiskStore::open(dir.path()).unwrap();
    assert!(std::fs::read_dir(dir.path().join("uploads")).unwrap().next().is_none());
    assert!(std::fs::read_dir(dir.path().join("tmp")).unwrap().next().is_none());
    assert_eq!(read_all(&s, &a, &d, None).await.unwrap(), b"kept");
}

#[tokio::test]
async fn disk_store_paths_stay_inside_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let s = DiskStore::open(&root).unwrap();
    let deep = repo("a/b.c/d-e/f__g");
    let d = upload(&s, &deep, b"deep").await;
    let body = Bytes::from_static(br#"{"schemaVersion":2}"#);
    let m = StoredManifest { digest: Digest::of(&body), media_type: media::OCI_MANIFEST.into(), bytes: body };
    s.put_manifest(&deep, &m, Some("Tag_1.0-x")).await.unwrap();
    assert_eq!(read_all(&s, &deep, &d, None).await.unwrap(), b"deep");
    // Nothing but the store directory appeared next to it.
    let siblings: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(siblings, vec![std::ffi::OsString::from("store")]);
    assert!(files(&root).iter().all(|f| !f.contains("..")));
}

/// Content larger than a memory chunk, a chunk rolled back in the middle, ranges across
/// chunk boundaries: both stores give back exactly what was committed.
async fn large_uploads_roll_back_and_read_across_chunks(s: &dyn BlobStore) {
    let r = repo("big");
    let data: Vec<u8> = (0..(3 << 20) + 12345).map(|i: u32| (i % 251) as u8).collect();
    let mut st = s.begin_upload(&r.registry).await.unwrap();
    st.append(&data[..1_500_000]).await.unwrap();
    st.mark();
    st.append(&data[1_500_000..2_500_000]).await.unwrap();
    st.rollback().await.unwrap();
    assert_eq!(st.len(), 1_500_000);
    st.append(&data[1_500_000..]).await.unwrap();
    let d = Digest::of(&data);
    assert_eq!(st.commit(&r, &d).await.unwrap(), data.len() as u64);
    assert_eq!(read_all(s, &r, &d, None).await.unwrap(), data);
    let range = ByteRange { start: (1 << 20) - 10, end: (2 << 20) + 10 };
    let part = read_all(s, &r, &d, Some(range)).await.unwrap();
    assert_eq!(part, &data[range.start as usize..=range.end as usize]);
}

#[tokio::test]
async fn memory_store_keeps_large_uploads_in_chunks() {
    large_uploads_roll_back_and_read_across_chunks(&MemoryStore::new()).await;
}

#[tokio::test]
async fn disk_store_keeps_large_uploads() {
    let dir = tempfile::tempdir().unwrap();
    large_uploads_roll_back_and_read_across_chunks(&DiskStore::open(dir.path()).unwrap()).await;
}

/// Times, attributes and whole-repository deletes, the same in both stores: a second
/// push keeps the first write's time, attributes stick until the item goes, and deleting
/// `team/app` leaves `team/app/web` (nested) and `other` whole.
async fn keeps_times_and_attributes_and_deletes_whole_repositories(s: &dyn BlobStore) {
    let app = repo("team/app");
    let web = repo("team/app/web");
    let body = Bytes::from_static(br#"{"schemaVersion":2}"#);
    let m = StoredManifest { digest: Digest::of(&body), media_type: media::OCI_MANIFEST.into(), bytes: body };
    assert_eq!(s.manifest_times(&app, &m.digest).await.unwrap(), None);
    s.put_manifest(&app, &m, Some("v1")).await.unwrap();
    let first = s.manifest_times(&app, &m.digest).await.unwrap().expect("a pushed manifest has times");
    assert!(first.created <= first.updated);
    s.put_manifest(&app, &m, Some("v2")).await.unwrap();
    let again = s.manifest_times(&app, &m.digest).await.unwrap().unwrap();
    assert_eq!(again.created, first.created, "a second push keeps the first write's time");
    assert!(s.tag_times(&app, "v2").await.unwrap().is_some());
    assert_eq!(s.tag_times(&app, "v3").await.unwrap(), None);

    let item = Item::Tag("v1".into());
    assert_eq!(s.attributes(&app, &item).await.unwrap(), Changeable::default());
    let locked = Changeable { delete_enabled: false, write_enabled: false, ..Changeable::default() };
    assert!(s.set_attributes(&app, &item, locked).await.unwrap());
    assert!(s.set_attributes(&app, &Item::Repository, locked).await.unwrap());
    assert_eq!(s.attributes(&app, &item).await.unwrap(), locked);
    assert_eq!(s.attributes(&app, &Item::Tag("v2".into())).await.unwrap(), Changeable::default());
    // An untagged tag forgets its attributes: a new tag of that name starts unlocked.
    assert!(s.delete_manifest(&app, &Reference::Tag("v1".into())).await.unwrap());
    assert_eq!(s.attributes(&app, &item).await.unwrap(), Changeable::default());

    s.put_manifest(&web, &m, Some("v1")).await.unwrap();
    s.put_manifest(&repo("other"), &m, Some("v1")).await.unwrap();
    s.delete_repository(&app).await.unwrap();
    assert_eq!(s.tags(&app).await.unwrap().unwrap_or_default(), Vec::<String>::new());
    assert_eq!(s.get_manifest(&app, &Reference::Digest(m.digest.clone())).await.unwrap(), None);
    assert_eq!(s.attributes(&app, &Item::Repository).await.unwrap(), Changeable::default());
    assert_eq!(s.repositories("storeacr").await.unwrap(), vec!["other".to_string(), "team/app/web".to_string()]);
    assert_eq!(s.tags(&web).await.unwrap(), Some(vec!["v1".into()]));
}

#[tokio::test]
async fn memory_store_keeps_times_and_attributes() {
    keeps_times_and_attributes_and_deletes_whole_repositories(&MemoryStore::new()).await;
}

#[tokio::test]
async fn disk_store_keeps_times_and_attributes() {
    let dir = tempfile::tempdir().unwrap();
    keeps_times_and_attributes_and_deletes_whole_repositories(&DiskStore::open(dir.path()).unwrap()).await;
}

#[tokio::test]
async fn disk_state_written_before_attributes_existed_reads_with_times_and_defaults() {
    // The layout of a state directory from before `/acr/v1/`: a manifest record, a tag,
    // a link, the blob — no `_attributes`. It opens as it was, and reads with times (the
    // records' modification times) and default attributes; attributes set later survive
    // a reopen.
    let dir = tempfile::tempdir().unwrap();
    let body = br#"{"schemaVersion":2}"#;
    let d = Digest::of(body);
    let reg = dir.path().join("registries/storeacr");
    let repo_dir = reg.join("repositories/team/app");
    for (path, bytes) in [
        (reg.join(format!("blobs/sha256/{}/{}", &d.hex()[..2], d.hex())), &body[..]),
        (repo_dir.join(format!("_manifests/sha256/{}", d.hex())), media::OCI_MANIFEST.as_bytes()),
        (repo_dir.join(format!("_layers/sha256/{}", d.hex())), b""),
        (repo_dir.join("_tags/v1"), d.as_str().as_bytes()),
    ] {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
    }
    let app = repo("team/app");
    let s = DiskStore::open(dir.path()).unwrap();
    assert_eq!(s.tags(&app).await.unwrap(), Some(vec!["v1".into()]));
    let t = s.manifest_times(&app, &d).await.unwrap().expect("times from the record");
    assert_eq!(
        t.created,
        std::fs::metadata(repo_dir.join(format!("_manifests/sha256/{}", d.hex()))).unwrap().modified().unwrap()
    );
    assert!(s.tag_times(&app, "v1").await.unwrap().is_some());
    assert_eq!(s.attributes(&app, &Item::Manifest(d.clone())).await.unwrap(), Changeable::default());
    let locked = Changeable { read_enabled: false, ..Changeable::default() };
    assert!(s.set_attributes(&app, &Item::Manifest(d.clone()), locked).await.unwrap());
    drop(s);
    let s = DiskStore::open(dir.path()).unwrap();
    assert_eq!(s.attributes(&app, &Item::Manifest(d.clone())).await.unwrap(), locked);
    assert_eq!(s.manifest_times(&app, &d).await.unwrap(), Some(t));
}
