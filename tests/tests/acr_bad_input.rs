//! The fake ACR refuses bad input the way the distribution registry does: invalid and
//! mismatched digests, path-traversal repository names, oversized manifests, unknown
//! media types, manifests referencing missing blobs, truncated and mis-sized uploads.
//! Each answer is the spec's status and code, never a 5xx, and afterwards the store —
//! the on-disk store's file list, or the in-memory store's contents — is exactly what it
//! was before. Requests go over real TLS with the registry's host name (SNI), from a
//! client address the network map knows, to the registry's public login address.
//!
//! A property test then sends random requests straight to `Acr::handle` and checks that
//! none answers 5xx.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use mock_azure::acr::oci::{Digest, RepoName, media};
use mock_azure::acr::{Acr, BlobStore, ConnInfo, DiskStore, MemoryStore, Repo, generate_image, push_image};
use mock_azure::arm::{Arm, ArmConfig, ArmRequest, admin_passwords};
use mock_azure::identity::TokenSigner;
use mock_azure::model::{PRIVATE, Store};
use mock_azure::netplan::{AddressMap, Fabric, LoopbackMap, Modeled};
use mock_azure::tls::Ca;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use pullsim_tests::client_resources;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const REG: &str = "badinputacr";
/// The client's public address as ACR sees it.
const CLIENT: Ipv4Addr = Ipv4Addr::new(20, 60, 0, 9);

// ---------------------------------------------------------------------------------------
// Environment: store + ARM + one registry + the ACR on its public addresses
// ---------------------------------------------------------------------------------------

/// A loopback block (`127.B.0.0/16`) per environment: from the process ID and a counter,
/// so concurrent tests and test binaries rarely collide; a collision shows as EADDRINUSE
/// and moves on to the next block.
fn next_block() -> u8 {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = std::process::id().wrapping_mul(7).wrapping_add(N.fetch_add(1, Ordering::Relaxed) * 13);
    (20 + n % 230) as u8
}

struct Env {
    rt: tokio::runtime::Runtime,
    store: Store,
    map: Arc<LoopbackMap>,
    acr: Arc<Acr>,
    client_tls: tokio_rustls::TlsConnector,
    login: SocketAddr,
    auth: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Env {
    fn new(blobs: Arc<dyn BlobStore>) -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let store = Store::in_memory();
        let signer = Arc::new(TokenSigner::generate().unwrap());
        let arm = Arm::new(store.clone(), signer.clone(), ArmConfig::new("https://127.0.0.1:1"));
        let token = arm.cfg.client_token(&signer, 3600);
        let call = |method: &str, path: &str, body: Value| {
            let req = ArmRequest::new(method, &format!("{path}?api-version=2024-11-01"))
                .header("authorization", &format!("Bearer {token}"))
                .json(&body);
            let r = arm.handle(&req);
            assert!(
                (200..300).contains(&r.status),
                "{method} {path}: {} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
            r
        };
        let rg = format!("/subscriptions/{}/resourceGroups/rg", arm.cfg.subscription_id);
        call("PUT", &rg, json!({"location": "westeurope"}));
        let reg_id = format!("{rg}/providers/Microsoft.ContainerRegistry/registries/{REG}");
        call(
            "PUT",
            &reg_id,
            json!({"location": "westeurope", "sku": {"name": "Premium"}, "properties": {"adminUserEnabled": true}}),
        );
        let reg = store.get_key(&reg_id.to_ascii_lowercase()).unwrap();
        let [password, _] = admin_passwords(&reg).unwrap();
        let login_ip: Ipv4Addr = reg[PRIVATE]["publicIps"][0].as_str().unwrap().parse().unwrap();
        let ca = Arc::new(Ca::generate().unwrap());
        let client_tls = tokio_rustls::TlsConnector::from(ca.client_config().unwrap());
        let (map, listener) = loop {
            let map = Arc::new(LoopbackMap::new(next_block()));
            let addr = SocketAddr::new(map.real(&Modeled::public(login_ip)), 0);
            if let Ok(l) = rt.block_on(tokio::net::TcpListener::bind(addr)) {
                break (map, l);
            }
        };
        let login = listener.local_addr().unwrap();
        let fabric = Fabric { map: map.clone(), dns_port: 53, https_port: login.port() };
        let acr = Arc::new(Acr::new(store.clone(), blobs, signer, ca, fabric, arm.cfg.tenant_id.clone()).unwrap());
        let (handle, listeners) = mock_azure::acr::listeners();
        handle.add(listener).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        rt.spawn(mock_azure::acr::serve(listeners, acr.clone(), async {
            let _ = stopped.await;
        }));
        let auth = format!("Basic {}", base64(format!("{REG}:{password}").as_bytes()));
        Env { rt, store, map, acr, client_tls, login, auth, _stop: stop }
    }

    /// Sends one request over a fresh TLS connection from the client's address.
    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        self.rt.block_on(async {
            let tcp = self.connect().await;
            let name = rustls::pki_types::ServerName::try_from(format!("{REG}.azurecr.io")).unwrap();
            let tls = tokio::time::timeout(Duration::from_secs(10), self.client_tls.connect(name, tcp))
                .await
                .unwrap()
                .unwrap();
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.unwrap();
            tokio::spawn(conn);
            let mut req = hyper::Request::builder()
                .method(method)
                .uri(path)
                .header("host", format!("{REG}.azurecr.io"))
                .header("authorization", &self.auth);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let req = req.body(Full::new(Bytes::copy_from_slice(body))).unwrap();
            let resp = tokio::time::timeout(Duration::from_secs(30), sender.send_request(req)).await.unwrap().unwrap();
            let status = resp.status().as_u16();
            let headers = resp
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
                .collect();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            Reply { status, headers, body: String::from_utf8_lossy(&body).into_owned() }
        })
    }

    async fn connect(&self) -> tokio::net::TcpStream {
        // From the real address standing for the client's modeled public address.
        let src = self.map.real(&Modeled::public(CLIENT));
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind(SocketAddr::new(src, 0)).unwrap();
        tokio::time::timeout(Duration::from_secs(10), sock.connect(self.login)).await.unwrap().unwrap()
    }

    /// Sends raw request bytes, then closes the sending side (TLS close_notify and TCP
    /// FIN, so the server sees the body end early); returns what came back.
    fn send_raw_then_close(&self, head: &str, body: &[u8]) -> String {
        self.rt.block_on(async {
            let tcp = self.connect().await;
            let name = rustls::pki_types::ServerName::try_from(format!("{REG}.azurecr.io")).unwrap();
            let mut tls = self.client_tls.connect(name, tcp).await.unwrap();
            tls.write_all(head.as_bytes()).await.unwrap();
            tls.write_all(body).await.unwrap();
            tls.flush().await.unwrap();
            let _ = tls.shutdown().await;
            let mut out = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut out)).await;
            String::from_utf8_lossy(&out).into_owned()
        })
    }

    fn push_fixture(&self) -> mock_azure::acr::Image {
        let img = generate_image(1, 2, 2048);
        let repo = Repo::new(REG, RepoName::parse("app").unwrap()).unwrap();
        self.rt.block_on(push_image(self.acr.blobs().as_ref(), &repo, &img, Some("v1"))).unwrap();
        img
    }
}

/// Standard base64 with padding (the tests crate has no base64 dependency).
fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            out.push(if i <= c.len() { A[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Asserts the status and (for non-HEAD answers) the error code; never a 5xx.
#[track_caller]
fn expect(r: &Reply, status: u16, code: Option<&str>) {
    assert!(r.status < 500, "a 5xx for a client mistake: {r:?}");
    assert_eq!(r.status, status, "{r:?}");
    if let Some(code) = code {
        let v: Value = serde_json::from_str(&r.body).unwrap_or_else(|_| panic!("not JSON: {r:?}"));
        assert_eq!(v["errors"][0]["code"], code, "{r:?}");
    }
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
                out.push(format!("{rel} {}", std::fs::metadata(&p).unwrap().len()));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------
// The bad inputs, run against each store
// ---------------------------------------------------------------------------------------

fn throw_bad_input_at(env: &Env, img: &mock_azure::acr::Image) {
    let hello_digest = Digest::of(b"hello");
    let other_digest = Digest::of(b"other");

    // Invalid digests: in a path, in a query, in a mount.
    expect(&env.send("GET", "/v2/app/blobs/sha256:xyz", &[], b""), 400, Some("DIGEST_INVALID"));
    expect(
        &env.send("GET", "/v2/app/blobs/md5:d41d8cd98f00b204e9800998ecf8427e", &[], b""),
        400,
        Some("DIGEST_INVALID"),
    );
    expect(&env.send("GET", "/v2/app/manifests/sha256:ABC", &[], b""), 400, Some("DIGEST_INVALID"));
    expect(&env.send("HEAD", "/v2/app/blobs/sha256:123", &[], b""), 400, None);
    expect(
        &env.send("POST", "/v2/app/blobs/uploads/?digest=sha256:nothex", &[], b"hello"),
        400,
        Some("DIGEST_INVALID"),
    );
    expect(&env.send("POST", "/v2/app/blobs/uploads/?mount=sha256:zz&from=app", &[], b""), 400, Some("DIGEST_INVALID"));

    // A mismatched digest, single-shot: refused and nothing visible.
    let r = env.send("POST", &format!("/v2/app/blobs/uploads/?digest={other_digest}"), &[], b"hello");
    expect(&r, 400, Some("DIGEST_INVALID"));
    expect(&env.send("HEAD", &format!("/v2/app/blobs/{hello_digest}"), &[], b""), 404, None);
    expect(&env.send("HEAD", &format!("/v2/app/blobs/{other_digest}"), &[], b""), 404, None);
    expect(&env.send("GET", &format!("/v2/app/blobs/{other_digest}"), &[], b""), 404, Some("BLOB_UNKNOWN"));

    // A mismatched digest after chunks: refused, the upload is over, nothing visible.
    let r = env.send("POST", "/v2/app/blobs/uploads/", &[], b"");
    expect(&r, 202, None);
    let location = r.header("location").unwrap().to_string();
    let r = env.send("PATCH", &location, &[("content-type", "application/octet-stream")], b"hello");
    expect(&r, 202, None);
    assert_eq!(r.header("range"), Some("0-4"));
    expect(&env.send("PUT", &format!("{location}?digest={other_digest}"), &[], b""), 400, Some("DIGEST_INVALID"));
    expect(&env.send("PUT", &format!("{location}?digest={hello_digest}"), &[], b""), 404, Some("BLOB_UPLOAD_UNKNOWN"));
    expect(&env.send("HEAD", &format!("/v2/app/blobs/{hello_digest}"), &[], b""), 404, None);

    // Path traversal and other malformed repository names.
    for path in [
        "/v2/../../etc/passwd/manifests/latest",
        "/v2/app/../../../etc/blobs/uploads/",
        "/v2/..%2f..%2fetc/manifests/latest",
        "/v2/%2e%2e/tags/list",
        "/v2/a//b/manifests/v1",
        "/v2/App/manifests/v1",
        "/v2/app/./x/blobs/uploads/",
    ] {
        for method in ["GET", "PUT", "POST", "PATCH", "DELETE"] {
            expect(&env.send(method, path, &[], b"{}"), 400, Some("NAME_INVALID"));
        }
    }

    // An oversized manifest (distribution's limit is 4 MiB): MANIFEST_INVALID.
    let mut big =
        br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","annotations":{"x":""#.to_vec();
    big.resize(4 * 1024 * 1024 + 1 - 3, b'a');
    big.extend_from_slice(br#""}}"#);
    let r = env.send("PUT", "/v2/app/manifests/big", &[("content-type", media::OCI_MANIFEST)], &big);
    expect(&r, 400, Some("MANIFEST_INVALID"));

    // Unknown media types, malformed manifests.
    let r = env.send(
        "PUT",
        "/v2/app/manifests/odd",
        &[("content-type", "application/vnd.example.unknown+json")],
        br#"{"schemaVersion":2,"mediaType":"application/vnd.example.unknown+json"}"#,
    );
    expect(&r, 400, Some("MANIFEST_INVALID"));
    expect(
        &env.send("PUT", "/v2/app/manifests/odd", &[("content-type", media::OCI_MANIFEST)], b"not json"),
        400,
        Some("MANIFEST_INVALID"),
    );
    let r = env.send(
        "PUT",
        "/v2/app/manifests/odd",
        &[("content-type", media::DOCKER_MANIFEST)],
        img.manifest.bytes.as_ref(),
    );
    expect(&r, 400, Some("MANIFEST_INVALID")); // the body says OCI, the header Docker
    expect(
        &env.send(
            "PUT",
            "/v2/app/manifests/bad~tag",
            &[("content-type", media::OCI_MANIFEST)],
            img.manifest.bytes.as_ref(),
        ),
        400,
        Some("MANIFEST_INVALID"),
    );

    // A manifest referencing a blob the repository does not hold; an index a manifest.
    let missing = Digest::of(b"missing config");
    let m = json!({"schemaVersion": 2, "mediaType": media::OCI_MANIFEST,
        "config": {"mediaType": media::OCI_CONFIG, "digest": missing.as_str(), "size": 14}, "layers": []});
    let r =
        env.send("PUT", "/v2/app/manifests/broken", &[("content-type", media::OCI_MANIFEST)], m.to_string().as_bytes());
    expect(&r, 400, Some("MANIFEST_BLOB_UNKNOWN"));
    assert!(r.body.contains(missing.as_str()), "{r:?}");
    let idx = json!({"schemaVersion": 2, "mediaType": media::OCI_INDEX,
        "manifests": [{"mediaType": media::OCI_MANIFEST, "digest": missing.as_str(), "size": 10, "platform": {"os": "linux", "architecture": "amd64"}}]});
    let r =
        env.send("PUT", "/v2/app/manifests/broken", &[("content-type", media::OCI_INDEX)], idx.to_string().as_bytes());
    expect(&r, 400, Some("MANIFEST_BLOB_UNKNOWN"));
    // The fixture's own manifest in another repository: its blobs are not linked there.
    let r = env.send(
        "PUT",
        "/v2/elsewhere/manifests/v1",
        &[("content-type", media::OCI_MANIFEST)],
        img.manifest.bytes.as_ref(),
    );
    expect(&r, 400, Some("MANIFEST_BLOB_UNKNOWN"));
    // A manifest pushed by a digest that is not its own.
    let r = env.send(
        "PUT",
        &format!("/v2/app/manifests/{other_digest}"),
        &[("content-type", media::OCI_MANIFEST)],
        img.manifest.bytes.as_ref(),
    );
    expect(&r, 400, Some("DIGEST_INVALID"));

    // A truncated single-shot upload (Content-Length larger than what is sent).
    let full = vec![7u8; 1000];
    let full_digest = Digest::of(&full);
    let head = format!(
        "POST /v2/app/blobs/uploads/?digest={full_digest} HTTP/1.1\r\nHost: {REG}.azurecr.io\r\nAuthorization: {}\r\nContent-Length: 1000\r\n\r\n",
        env.auth
    );
    let answer = env.send_raw_then_close(&head, &full[..500]);
    assert!(answer.starts_with("HTTP/1.1 400") && answer.contains(r#""code":"SIZE_INVALID""#), "{answer}");
    expect(&env.send("HEAD", &format!("/v2/app/blobs/{full_digest}"), &[], b""), 404, None);

    // A truncated chunk: the upload stays where it was.
    let r = env.send("POST", "/v2/app/blobs/uploads/", &[], b"");
    let location = r.header("location").unwrap().to_string();
    expect(&env.send("PATCH", &location, &[], b"first"), 202, None);
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: {REG}.azurecr.io\r\nAuthorization: {}\r\nContent-Length: 1000\r\n\r\n",
        env.auth
    );
    let answer = env.send_raw_then_close(&head, &full[..500]);
    assert!(answer.starts_with("HTTP/1.1 400") && answer.contains(r#""code":"SIZE_INVALID""#), "{answer}");
    let r = env.send("GET", &location, &[], b"");
    expect(&r, 204, None);
    assert_eq!(r.header("range"), Some("0-4"), "only the first chunk is staged");

    // SIZE_INVALID: a Content-Range that does not match the body; RANGE_INVALID: a chunk
    // that does not start where the upload stands.
    expect(&env.send("PATCH", &location, &[("content-range", "5-14")], b"short"), 400, Some("SIZE_INVALID"));
    expect(&env.send("PATCH", &location, &[("content-range", "100-104")], b"later"), 416, Some("RANGE_INVALID"));
    let r = env.send("GET", &location, &[], b"");
    assert_eq!(r.header("range"), Some("0-4"), "refused chunks leave nothing");
    // Finishing with the wrong digest ends it without a trace.
    expect(&env.send("PUT", &format!("{location}?digest={other_digest}"), &[], b""), 400, Some("DIGEST_INVALID"));
    expect(&env.send("HEAD", &format!("/v2/app/blobs/{}", Digest::of(b"first")), &[], b""), 404, None);

    // A cancelled upload leaves nothing either.
    let r = env.send("POST", "/v2/app/blobs/uploads/", &[], b"");
    let location = r.header("location").unwrap().to_string();
    expect(&env.send("PATCH", &location, &[], b"cancel me"), 202, None);
    expect(&env.send("DELETE", &location, &[], b""), 204, None);
    expect(&env.send("PATCH", &location, &[], b"more"), 404, Some("BLOB_UPLOAD_UNKNOWN"));
    expect(&env.send("PATCH", "/v2/app/blobs/uploads/not-a-session", &[], b"x"), 404, Some("BLOB_UPLOAD_UNKNOWN"));
    expect(&env.send("PATCH", "/v2/app/blobs/uploads/..%2f..%2fx", &[], b"x"), 404, Some("BLOB_UPLOAD_UNKNOWN"));

    // Unknown things are 404s with ACR's words.
    let r = env.send("GET", "/v2/app/manifests/v9", &[], b"");
    expect(&r, 404, Some("MANIFEST_UNKNOWN"));
    assert!(r.body.contains(r#"manifest tagged by \"v9\" is not found"#), "{r:?}");
    expect(&env.send("GET", "/v2/nothing/manifests/v1", &[], b""), 404, Some("NAME_UNKNOWN"));
    expect(&env.send("GET", "/v2/nothing/tags/list", &[], b""), 404, Some("NAME_UNKNOWN"));
    expect(&env.send("GET", "/v2/app/tags/list?n=abc", &[], b""), 400, Some("PAGINATION_NUMBER_INVALID"));
    // A blob DELETE is served (OCI 1.1, issue 16): a digest the repository never held is unknown.
    expect(
        &env.send("DELETE", &format!("/v2/app/blobs/{}", Digest::of(b"never pushed")), &[], b""),
        404,
        Some("BLOB_UNKNOWN"),
    );
    expect(&env.send("GET", "/nope", &[], b""), 404, None);

    // What is there is still served.
    let r = env.send("GET", "/v2/app/manifests/v1", &[], b"");
    expect(&r, 200, None);
    assert_eq!(r.header("docker-content-digest"), Some(img.manifest.digest.as_str()));
    let r = env.send("GET", "/v2/app/tags/list", &[], b"");
    assert_eq!(serde_json::from_str::<Value>(&r.body).unwrap(), json!({"name": "app", "tags": ["v1"]}));
}

#[test]
fn bad_input_gets_oci_errors_and_leaves_the_disk_store_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let root: PathBuf = dir.path().join("blobs");
    let env = Env::new(Arc::new(DiskStore::open(&root).unwrap()));
    let img = env.push_fixture();
    let before = files(&root);
    throw_bad_input_at(&env, &img);
    assert_eq!(files(&root), before, "the store directory changed");
    assert_eq!(client_resources(&env.store), 2, "the resource store holds the resource group and the registry only");
}

#[test]
fn bad_input_gets_oci_errors_and_leaves_the_memory_store_unchanged() {
    let mem = MemoryStore::new();
    let env = Env::new(Arc::new(mem.clone()));
    let img = env.push_fixture();
    let before = mem.contents();
    assert!(before.iter().any(|l| l.contains("tag v1")), "{before:?}");
    throw_bad_input_at(&env, &img);
    assert_eq!(mem.contents(), before);
}

// ---------------------------------------------------------------------------------------
// Random requests: never a 5xx
// ---------------------------------------------------------------------------------------

fn arb_path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        Just("app".to_string()),
        Just("..".to_string()),
        Just("blobs".to_string()),
        Just("uploads".to_string()),
        Just("manifests".to_string()),
        Just("tags".to_string()),
        Just("list".to_string()),
        Just("_catalog".to_string()),
        Just(Digest::of(b"x").to_string()),
        Just("sha256:".to_string()),
        "[a-zA-Z0-9._%:~-]{0,12}",
    ];
    proptest::collection::vec(segment, 0..6).prop_map(|s| format!("/v2/{}", s.join("/")))
}

#[test]
fn random_requests_never_get_a_5xx() {
    let env = Env::new(Arc::new(MemoryStore::new()));
    env.push_fixture();
    let reg = env.acr.find_host(&format!("{REG}.azurecr.io")).unwrap().0;
    let login_ip: Ipv4Addr = reg.public_ips[0];
    let conn = ConnInfo {
        host: format!("{REG}.azurecr.io"),
        endpoint: Some(Modeled::public(login_ip)),
        client: Modeled::public(CLIENT),
    };
    let methods = ["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"];
    let ctypes = ["", media::OCI_MANIFEST, media::OCI_INDEX, media::DOCKER_SCHEMA1, "text/plain"];
    let mut runner = TestRunner::new(Config { cases: 2000, failure_persistence: None, ..Config::default() });
    let strategy = (
        proptest::sample::select(methods.to_vec()),
        arb_path(),
        "[a-z=&0-9:._%-]{0,30}",
        proptest::sample::select(ctypes.to_vec()),
        proptest::collection::vec(any::<u8>(), 0..64),
        any::<bool>(),
    );
    runner
        .run(&strategy, |(method, path, query, ctype, body, authed)| {
            let uri = if query.is_empty() { path.clone() } else { format!("{path}?{query}") };
            let Ok(mut req) = hyper::Request::builder().method(method).uri(&uri).body(Full::new(Bytes::from(body)))
            else {
                return Ok(());
            };
            if authed {
                req.headers_mut().insert("authorization", env.auth.parse().unwrap());
            }
            if !ctype.is_empty() {
                req.headers_mut().insert("content-type", ctype.parse().unwrap());
            }
            let resp = env.rt.block_on(env.acr.handle(&conn, req));
            prop_assert!(resp.status().as_u16() < 500, "{method} {uri}: {}", resp.status());
            Ok(())
        })
        .unwrap();
}
