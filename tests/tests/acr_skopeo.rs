//! The fake ACR driven by the real skopeo (Debian package, installed by
//! `scripts/install-test-deps.sh`; missing skopeo fails these tests, it never skips them),
//! and by the real curl for what skopeo does not speak: OCI 1.1's referrers API and blob
//! DELETE (no Debian package of oras or regctl exists).
//!
//! # How skopeo reaches `<reg>.azurecr.io`
//! skopeo resolves names with the system resolver, and the registry must be reached *by
//! its name*: the TLS server name selects the registry and its certificate, and ACR's
//! token realm (`https://<reg>.azurecr.io/oauth2/token`) and blob redirects
//! (`https://<reg>.<region>.data.azurecr.io/...`) name hosts skopeo then dials itself.
//! Remapping a registry's `location` in registries.conf does not work for that: skopeo
//! would then dial, verify the certificate of, and send `Host:` for the remapped
//! address, and the realm and redirect would still name the real hosts.
//!
//! What works, with no change to the machine: skopeo's HTTP client honours `HTTPS_PROXY`,
//! and through a proxy it sends `CONNECT <host>:443` and runs TLS *inside* the tunnel with
//! the original server name. So each test runs a tiny CONNECT proxy that plays the public
//! internet: it resolves `<reg>.azurecr.io` and `<reg>.<region>.data.azurecr.io` the way
//! public DNS would (to the registry's public login and data addresses in the store),
//! maps those modeled addresses to their real loopback listeners, and connects *from*
//! the real address standing for the developer's public address, so the ACR sees that
//! client address (and names it in a firewall denial). skopeo trusts pullsim's CA
//! through `--cert-dir` (a `ca.crt` in a temporary directory). Nothing outside
//! temporary directories is touched (no `/etc/hosts` edit).
//!
//! Each test has its own store, ARM, loopback block, ACR, proxy and temporary
//! directories, so they run in parallel.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mock_azure::acr::oci::{Digest, RepoName};
use mock_azure::acr::{Acr, DiskStore, Image, Repo, generate_image, generate_index, push_image};
use mock_azure::arm::{Arm, ArmConfig, ArmRequest, ArmResponse, admin_passwords};
use mock_azure::identity::TokenSigner;
use mock_azure::model::{PRIVATE, Store};
use mock_azure::netplan::{AddressMap, Fabric, LoopbackMap, Modeled};
use mock_azure::tls::Ca;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The developer's public address: what ACR sees of skopeo.
const CLIENT: Ipv4Addr = Ipv4Addr::new(20, 70, 0, 42);
/// How long one skopeo run may take.
const SKOPEO_TIMEOUT_S: &str = "120";

fn next_block() -> u8 {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = std::process::id().wrapping_mul(11).wrapping_add(N.fetch_add(1, Ordering::Relaxed) * 17);
    (20 + n % 230) as u8
}

/// One fake Azure with one Premium registry (admin user on), its ACR listening on the
/// registry's public login and data addresses, and the proxy skopeo goes through.
struct Env {
    rt: tokio::runtime::Runtime,
    store: Store,
    arm: Arm,
    token: String,
    reg: String,
    acr: Arc<Acr>,
    proxy: SocketAddr,
    /// Host names the proxy refuses to connect to (as if they did not resolve).
    unreachable: Arc<Mutex<HashSet<String>>>,
    dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Env {
    fn new(reg: &str) -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let store = Store::in_memory();
        let signer = Arc::new(TokenSigner::generate().unwrap());
        let arm = Arm::new(store.clone(), signer.clone(), ArmConfig::new("https://127.0.0.1:1"));
        let token = arm.cfg.client_token(&signer, 3600);
        let dir = tempfile::Builder::new().prefix("pullsim-skopeo-").tempdir().unwrap();
        let rg = format!("/subscriptions/{}/resourceGroups/rg", arm.cfg.subscription_id);
        let r = arm_call(&arm, &token, "PUT", &rg, json!({"location": "westeurope"}));
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        let r = arm_call(
            &arm,
            &token,
            "PUT",
            &format!("{rg}/providers/Microsoft.ContainerRegistry/registries/{reg}"),
            json!({"location": "westeurope", "sku": {"name": "Premium"}, "properties": {"adminUserEnabled": true}}),
        );
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        let ips = public_ips(&store, &arm, reg);

        // The login and data addresses listen on one port (the fabric's HTTPS port): 443
        // when it can be bound (tests run as root), else any free port.
        let ca = Arc::new(Ca::generate().unwrap());
        std::fs::create_dir_all(dir.path().join("certs")).unwrap();
        std::fs::write(dir.path().join("certs/ca.crt"), ca.cert_pem()).unwrap();
        let (map, port, listeners) = rt.block_on(async {
            loop {
                let map = Arc::new(LoopbackMap::new(next_block()));
                let login = map.real(&Modeled::public(ips[0]));
                let data = map.real(&Modeled::public(ips[1]));
                for port in [443, 0] {
                    let Ok(l1) = tokio::net::TcpListener::bind(SocketAddr::new(login, port)).await else { continue };
                    let port = l1.local_addr().unwrap().port();
                    if let Ok(l2) = tokio::net::TcpListener::bind(SocketAddr::new(data, port)).await {
                        return (map, port, vec![l1, l2]);
                    }
                }
            }
        });
        let fabric = Fabric { map: map.clone(), dns_port: 53, https_port: port };
        let acr = Arc::new(
            Acr::new(
                store.clone(),
                Arc::new(DiskStore::open(&dir.path().join("acr")).unwrap()),
                signer,
                ca,
                fabric.clone(),
                arm.cfg.tenant_id.clone(),
            )
            .unwrap(),
        );
        let (handle, incoming) = mock_azure::acr::listeners();
        for l in listeners {
            handle.add(l).unwrap();
        }
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let stopped = async move {
            let _ = stopped.await;
        };
        rt.spawn(mock_azure::acr::serve(incoming, acr.clone(), stopped));
        let unreachable = Arc::new(Mutex::new(HashSet::new()));
        let proxy_listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let proxy = proxy_listener.local_addr().unwrap();
        rt.spawn(connect_proxy(proxy_listener, acr.clone(), fabric, unreachable.clone()));
        Env { rt, store, arm, token, reg: reg.to_string(), acr, proxy, unreachable, dir, _stop: stop }
    }

    fn registry_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/{}",
            self.arm.cfg.subscription_id, self.reg
        )
    }

    fn arm(&self, method: &str, path: &str, body: Value) -> ArmResponse {
        arm_call(&self.arm, &self.token, method, path, body)
    }

    fn password(&self) -> String {
        let reg = self.store.get_key(&self.registry_id().to_ascii_lowercase()).unwrap();
        admin_passwords(&reg).unwrap()[0].clone()
    }

    fn creds(&self) -> String {
        format!("{}:{}", self.reg, self.password())
    }

    fn image_ref(&self, repo_tag: &str) -> String {
        format!("docker://{}.azurecr.io/{repo_tag}", self.reg)
    }

    fn cert_dir(&self) -> String {
        self.dir.path().join("certs").display().to_string()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs skopeo with a clean configuration, through the proxy.
    fn skopeo(&self, args: &[&str]) -> (bool, String, String) {
        let conf = self.path("registries.conf");
        std::fs::write(&conf, "").unwrap();
        let out = Command::new("timeout")
            .arg(SKOPEO_TIMEOUT_S)
            .arg(skopeo_path())
            .args(args)
            .env("HTTPS_PROXY", format!("http://{}", self.proxy))
            .env_remove("https_proxy")
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .env("CONTAINERS_REGISTRIES_CONF", &conf)
            .env("REGISTRY_AUTH_FILE", self.path("auth.json"))
            .env("HOME", self.dir.path())
            .output()
            .unwrap();
        let (o, e) =
            (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
        (out.status.success(), o, e)
    }

    #[track_caller]
    fn skopeo_ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.skopeo(args);
        assert!(ok, "skopeo {} failed:\n{err}", args.join(" "));
        out
    }

    #[track_caller]
    fn skopeo_fails(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.skopeo(args);
        assert!(!ok, "skopeo {} succeeded but should have failed:\n{out}", args.join(" "));
        err
    }

    /// Puts an image straight into the registry (fixture), tagged.
    fn push_fixture(&self, repo: &str, tag: &str, image: &Image) {
        let repo = Repo::new(&self.reg, RepoName::parse(repo).unwrap()).unwrap();
        self.rt.block_on(push_image(self.acr.blobs().as_ref(), &repo, image, Some(tag))).unwrap();
    }
}

fn arm_call(arm: &Arm, token: &str, method: &str, path: &str, body: Value) -> ArmResponse {
    let mut req = ArmRequest::new(method, &format!("{path}?api-version=2024-11-01"))
        .header("authorization", &format!("Bearer {token}"));
    if !body.is_null() {
        req = req.json(&body);
    }
    arm.handle(&req)
}

fn public_ips(store: &Store, arm: &Arm, reg: &str) -> [Ipv4Addr; 2] {
    let id = format!(
        "/subscriptions/{}/resourcegroups/rg/providers/microsoft.containerregistry/registries/{reg}",
        arm.cfg.subscription_id
    );
    let v = store.get_key(&id.to_ascii_lowercase()).unwrap();
    let ip = |i: usize| v[PRIVATE]["publicIps"][i].as_str().unwrap().parse().unwrap();
    [ip(0), ip(1)]
}

/// The skopeo binary. Missing is a failure, never a skip: the test command installs it.
fn skopeo_path() -> &'static str {
    let found = Command::new("skopeo").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(
        found,
        "skopeo is not installed: run `make deps` (scripts/install-test-deps.sh installs the Debian package)"
    );
    "skopeo"
}

/// The public internet between skopeo and the registry: an HTTP CONNECT proxy that
/// resolves ACR host names as public DNS does (the registry's public login or data
/// address) and connects from the developer's public address.
async fn connect_proxy(
    listener: tokio::net::TcpListener,
    acr: Arc<Acr>,
    fabric: Fabric,
    unreachable: Arc<Mutex<HashSet<String>>>,
) {
    loop {
        let Ok((mut client, _)) = listener.accept().await else { continue };
        let (acr, fabric, unreachable) = (acr.clone(), fabric.clone(), unreachable.clone());
        tokio::spawn(async move {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                match tokio::time::timeout(Duration::from_secs(10), client.read(&mut byte)).await {
                    Ok(Ok(1)) => head.push(byte[0]),
                    _ => return,
                }
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let target = head.strip_prefix("CONNECT ").and_then(|r| r.split_whitespace().next()).unwrap_or_default();
            let host = target.rsplit_once(':').map_or(target, |(h, _)| h).to_ascii_lowercase();
            let resolved =
                acr.find_host(&host).filter(|_| !unreachable.lock().unwrap().contains(&host)).map(|(reg, kind)| {
                    let i = match kind {
                        mock_azure::acr::HostKind::Login => 0,
                        mock_azure::acr::HostKind::Data => 1,
                    };
                    let ip: Ipv4Addr = reg.public_ips[i];
                    fabric.https_addr(&Modeled::public(ip))
                });
            let Some(dest) = resolved else {
                let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n").await;
                return;
            };
            let sock = tokio::net::TcpSocket::new_v4().unwrap();
            if sock.bind(SocketAddr::new(fabric.map.real(&Modeled::public(CLIENT)), 0)).is_err() {
                return;
            }
            let Ok(Ok(mut upstream)) = tokio::time::timeout(Duration::from_secs(10), sock.connect(dest)).await else {
                let _ = client.write_all(b"HTTP/1.1 504 Gateway Timeout\r\nContent-Length: 0\r\n\r\n").await;
                return;
            };
            if client.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").await.is_ok() {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            }
        });
    }
}

impl Env {
    /// A GET from the developer's machine through the same proxy skopeo uses: status and
    /// body exactly as the ACR answered.
    fn get_through_proxy(&self, host: &str, path: &str) -> (u16, String) {
        use http_body_util::{BodyExt, Empty};
        self.rt.block_on(async {
            let mut tcp = tokio::net::TcpStream::connect(self.proxy).await.unwrap();
            tcp.write_all(format!("CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n").as_bytes()).await.unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                assert_eq!(tcp.read(&mut byte).await.unwrap(), 1, "proxy closed");
                head.push(byte[0]);
            }
            assert!(head.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&head));
            let pem = std::fs::read(self.dir.path().join("certs/ca.crt")).unwrap();
            let mut roots = rustls::RootCertStore::empty();
            use rustls::pki_types::pem::PemObject;
            for der in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
                roots.add(der.unwrap()).unwrap();
            }
            let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
            let name = rustls::pki_types::ServerName::try_from(host.to_string()).unwrap();
            let tls = tokio_rustls::TlsConnector::from(Arc::new(cfg)).connect(name, tcp).await.unwrap();
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls)).await.unwrap();
            tokio::spawn(conn);
            let req = hyper::Request::get(path).header("host", host).body(Empty::<bytes::Bytes>::new()).unwrap();
            let resp = tokio::time::timeout(Duration::from_secs(30), sender.send_request(req)).await.unwrap().unwrap();
            let status = resp.status().as_u16();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8_lossy(&body).into_owned())
        })
    }
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

// ---------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------

/// `skopeo copy` pushes a generated image (an OCI layout) into the fake ACR with the
/// admin credentials, and pulls it back out (blobs through the 307 to the data
/// endpoint): the same bytes come back.
#[test]
fn skopeo_copies_an_image_in_and_out_byte_for_byte() {
    let env = Env::new("skopeoacr01");
    let img = generate_image(42, 3, 300 * 1024);
    let layout = env.path("layout");
    img.write_oci_layout(&layout, "v1").unwrap();
    let creds = env.creds();
    env.skopeo_ok(&[
        "copy",
        "--dest-creds",
        &creds,
        "--dest-cert-dir",
        &env.cert_dir(),
        &format!("oci:{}:v1", layout.display()),
        &env.image_ref("app:v1"),
    ]);
    let out = env.path("out");
    env.skopeo_ok(&[
        "copy",
        "--src-creds",
        &creds,
        "--src-cert-dir",
        &env.cert_dir(),
        &env.image_ref("app:v1"),
        &format!("dir:{}", out.display()),
    ]);
    assert_eq!(read(&out.join("manifest.json")), img.manifest.bytes.to_vec(), "the manifest, byte for byte");
    for b in std::iter::once(&img.config).chain(&img.layers) {
        assert_eq!(read(&out.join(b.digest.hex())), b.bytes.to_vec(), "blob {}", b.digest);
    }
}

/// `skopeo inspect` shows the manifest digest, the layers and the platform; `--raw`
/// shows the manifest exactly as stored.
#[test]
fn skopeo_inspect_shows_the_digest_and_layers() {
    let env = Env::new("skopeoacr02");
    let img = generate_image(7, 2, 64 * 1024);
    env.push_fixture("team/app", "v2", &img);
    let args = ["inspect", "--creds", &env.creds(), "--cert-dir", &env.cert_dir()];
    let out = env.skopeo_ok(&[&args[..], &[&env.image_ref("team/app:v2")]].concat());
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["Digest"], img.manifest.digest.as_str());
    let layers: Vec<&str> = img.layers.iter().map(|l| l.digest.as_str()).collect();
    assert_eq!(v["Layers"], json!(layers));
    assert_eq!((v["Os"].as_str(), v["Architecture"].as_str()), (Some("linux"), Some("amd64")));
    assert_eq!(v["RepoTags"], json!(["v2"]), "from the tags list");
    let raw = env.skopeo_ok(&[&args[..], &["--raw", &env.image_ref("team/app:v2")]].concat());
    assert_eq!(raw.as_bytes(), img.manifest.bytes.as_ref());
}

/// `skopeo copy --all` pushes a multi-arch index with every platform's image and pulls
/// it back whole.
#[test]
fn skopeo_copies_a_multi_arch_index_with_all() {
    let env = Env::new("skopeoacr03");
    let index = generate_index(9, &[("linux", "amd64"), ("linux", "arm64")], 2, 32 * 1024);
    let layout = env.path("layout");
    index.write_oci_layout(&layout, "v1").unwrap();
    let creds = env.creds();
    let cert_dir = env.cert_dir();
    env.skopeo_ok(&[
        "copy",
        "--all",
        "--dest-creds",
        &creds,
        "--dest-cert-dir",
        &cert_dir,
        &format!("oci:{}:v1", layout.display()),
        &env.image_ref("multi:v1"),
    ]);
    let raw =
        env.skopeo_ok(&["inspect", "--raw", "--creds", &creds, "--cert-dir", &cert_dir, &env.image_ref("multi:v1")]);
    assert_eq!(raw.as_bytes(), index.index.bytes.as_ref(), "the index, byte for byte");
    let out = env.path("out");
    env.skopeo_ok(&[
        "copy",
        "--all",
        "--src-creds",
        &creds,
        "--src-cert-dir",
        &cert_dir,
        &env.image_ref("multi:v1"),
        &format!("dir:{}", out.display()),
    ]);
    assert_eq!(read(&out.join("manifest.json")), index.index.bytes.to_vec());
    for img in &index.images {
        assert_eq!(
            read(&out.join(format!("{}.manifest.json", img.manifest.digest.hex()))),
            img.manifest.bytes.to_vec()
        );
        for l in &img.layers {
            assert_eq!(read(&out.join(l.digest.hex())), l.bytes.to_vec());
        }
    }
    // Each platform's image is addressable by digest in the registry too.
    let arm64 = &index.images[1].manifest.digest;
    let raw = env.skopeo_ok(&[
        "inspect",
        "--raw",
        "--creds",
        &creds,
        "--cert-dir",
        &cert_dir,
        &env.image_ref(&format!("multi@{arm64}")),
    ]);
    assert_eq!(Digest::of(raw.as_bytes()), *arm64);
}

/// ACR's firewall denial, exactly as docs/azure.md D gives it, for the developer's address.
const DENIED: &str =
    "client with IP '20.70.0.42' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.";

/// Asserts skopeo was refused by the firewall. ACR denies every request, `/v2/` (the
/// ping) included — docker shows `Get "https://<reg>.azurecr.io/v2/": denied: …` — so the
/// ping is where skopeo stops. Newer skopeo (containers/image ≥ 5.3x) prints the
/// registry's error there (`denied: client with IP …`); Debian 12's skopeo 1.9.3 prints
/// only `invalid status code from registry 403 (Forbidden)` for a failed ping, so with it
/// the exact message is checked on the wire: the same request from the same address
/// through the same proxy gets 403 and ACR's body.
#[track_caller]
fn assert_denied_by_firewall(env: &Env, stderr: &str) {
    let login = format!("{}.azurecr.io", env.reg);
    if !stderr.contains(&format!("denied: {DENIED}")) {
        assert!(
            stderr.contains(&format!(
                "pinging container registry {login}: invalid status code from registry 403 (Forbidden)"
            )),
            "skopeo did not fail at the firewall: {stderr}"
        );
    }
    let (status, body) = env.get_through_proxy(&login, "/v2/");
    assert_eq!(status, 403, "{body}");
    assert_eq!(body, format!(r#"{{"errors":[{{"code":"DENIED","message":"{DENIED}"}}]}}"#));
    let (status, body) = env.get_through_proxy(&login, "/v2/app/manifests/v1");
    assert_eq!((status, body.contains(DENIED)), (403, true), "{body}");
}

/// With public network access disabled (through ARM), skopeo from the public side is
/// refused with ACR's firewall denial naming its address; IP rules let it in only from
/// an allowed range.
#[test]
fn public_access_disabled_denies_skopeo_with_its_client_ip() {
    let env = Env::new("skopeoacr04");
    env.push_fixture("app", "v1", &generate_image(1, 1, 1024));
    let inspect = |env: &Env| {
        vec![
            "inspect".to_string(),
            "--creds".into(),
            env.creds(),
            "--cert-dir".into(),
            env.cert_dir(),
            env.image_ref("app:v1"),
        ]
    };
    let run = |env: &Env| {
        let args = inspect(env);
        env.skopeo(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    assert!(run(&env).0, "reachable before the change");
    let r = env.arm("PATCH", &env.registry_id(), json!({"properties": {"publicNetworkAccess": "Disabled"}}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let (ok, _, err) = run(&env);
    assert!(!ok);
    assert_denied_by_firewall(&env, &err);
    // Enabled again, but only for another address range: still denied; then allowed.
    let rules = |cidr: &str| json!({"properties": {"publicNetworkAccess": "Enabled", "networkRuleSet": {"defaultAction": "Deny", "ipRules": [{"action": "Allow", "value": cidr}]}}});
    assert_eq!(env.arm("PATCH", &env.registry_id(), rules("20.71.0.0/16")).status, 200);
    let (ok, _, err) = run(&env);
    assert!(!ok);
    assert_denied_by_firewall(&env, &err);
    assert_eq!(env.arm("PATCH", &env.registry_id(), rules("20.70.0.0/24")).status, 200);
    let (ok, _, err) = run(&env);
    assert!(ok, "allowed by the IP rule: {err}");
}

/// With the admin user disabled, its credentials get ACR's unauthorized message.
#[test]
fn admin_disabled_gets_the_unauthorized_message() {
    let env = Env::new("skopeoacr05");
    env.push_fixture("app", "v1", &generate_image(1, 1, 1024));
    let creds = env.creds();
    let r = env.arm("PATCH", &env.registry_id(), json!({"properties": {"adminUserEnabled": false}}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let err =
        env.skopeo_fails(&["inspect", "--creds", &creds, "--cert-dir", &env.cert_dir(), &env.image_ref("app:v1")]);
    assert!(
        err.contains(
            "unauthorized: authentication required, visit https://aka.ms/acr/authorization for more information."
        ),
        "{err}"
    );
}

/// A wrong password, and a password that was regenerated, get the same message.
#[test]
fn wrong_or_regenerated_password_gets_the_unauthorized_message() {
    let env = Env::new("skopeoacr06");
    env.push_fixture("app", "v1", &generate_image(1, 1, 1024));
    let wrong = format!("{}:not-the-password", env.reg);
    let err =
        env.skopeo_fails(&["inspect", "--creds", &wrong, "--cert-dir", &env.cert_dir(), &env.image_ref("app:v1")]);
    assert!(
        err.contains(
            "unauthorized: authentication required, visit https://aka.ms/acr/authorization for more information."
        ),
        "{err}"
    );
    let old = env.creds();
    env.skopeo_ok(&["inspect", "--creds", &old, "--cert-dir", &env.cert_dir(), &env.image_ref("app:v1")]);
    let r = env.arm("POST", &format!("{}/regenerateCredential", env.registry_id()), json!({"name": "password"}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let err = env.skopeo_fails(&["inspect", "--creds", &old, "--cert-dir", &env.cert_dir(), &env.image_ref("app:v1")]);
    assert!(err.contains("unauthorized: authentication required"), "{err}");
    env.skopeo_ok(&["inspect", "--creds", &env.creds(), "--cert-dir", &env.cert_dir(), &env.image_ref("app:v1")]);
}

/// When the data endpoint cannot be reached, the manifest still comes from the login
/// server but the pull fails at the first blob, as in Azure.
#[test]
fn an_unreachable_data_endpoint_fails_the_pull_at_the_blob_stage() {
    let env = Env::new("skopeoacr07");
    let img = generate_image(3, 1, 1024);
    env.push_fixture("app", "v1", &img);
    env.unreachable.lock().unwrap().insert(format!("{}.westeurope.data.azurecr.io", env.reg));
    let args = ["inspect", "--creds", &env.creds(), "--cert-dir", &env.cert_dir()];
    let raw = env.skopeo_ok(&[&args[..], &["--raw", &env.image_ref("app:v1")]].concat());
    assert_eq!(raw.as_bytes(), img.manifest.bytes.as_ref());
    // `inspect` without --raw reads the config blob: redirected to the data endpoint.
    let err = env.skopeo_fails(&[&args[..], &[&env.image_ref("app:v1")]].concat());
    assert!(err.contains(&format!("{}.westeurope.data.azurecr.io", env.reg)), "{err}");
}

fn curl_path() -> &'static str {
    let found = Command::new("curl").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(found, "curl is not installed: run `make deps` (scripts/install-test-deps.sh installs the Debian package)");
    "curl"
}

impl Env {
    /// Runs the real curl through the proxy as the admin user (Basic auth straight on the
    /// API, which ACR accepts); the response headers and body, as curl printed them.
    fn curl(&self, args: &[&str]) -> (String, String) {
        let headers = self.path("curl-headers.txt");
        let out = Command::new("timeout")
            .arg(SKOPEO_TIMEOUT_S)
            .arg(curl_path())
            .args(["--silent", "--show-error", "--proxy", &format!("http://{}", self.proxy)])
            .args(["--cacert", &format!("{}/ca.crt", self.cert_dir()), "--user", &self.creds()])
            .args(["--dump-header", &headers.display().to_string()])
            .args(args)
            .env_remove("https_proxy")
            .env_remove("HTTPS_PROXY")
            .output()
            .unwrap();
        assert!(out.status.success(), "curl {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
        (std::fs::read_to_string(&headers).unwrap_or_default(), String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn url(&self, path: &str) -> String {
        format!("https://{}.azurecr.io{path}", self.reg)
    }
}

/// The status of the last HTTP response head curl dumped (after the proxy's `200
/// Connection Established`), and a header's value (any case).
fn head_of(dump: &str, name: &str) -> (u16, Option<String>) {
    let headers = dump.replace("\r\n", "\n");
    let headers = headers.split("\n\n").filter(|b| b.starts_with("HTTP/")).last().unwrap_or_default();
    let status = headers.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let value = headers.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    });
    (status, value)
}

/// Issue 16, OCI distribution-spec 1.1 with real clients: skopeo copies an image in, curl
/// attaches an SBOM to it (a manifest with `subject`: the registry answers `OCI-Subject`),
/// lists it through the referrers API (all, and filtered by `artifactType`), deletes a blob
/// (202, then 404), and skopeo reads the referrer back by digest.
#[test]
fn curl_attaches_and_discovers_a_referrer_and_deletes_a_blob() {
    let env = Env::new("ociacr11");
    let layout = env.path("layout");
    generate_image(11, 2, 512).write_oci_layout(&layout, "v1").unwrap();
    let creds = env.creds();
    let cert_dir = env.cert_dir();
    env.skopeo_ok(&[
        "copy",
        "--dest-creds",
        &creds,
        "--dest-cert-dir",
        &cert_dir,
        &format!("oci:{}:v1", layout.display()),
        &env.image_ref("app:v1"),
    ]);
    let raw =
        env.skopeo_ok(&["inspect", "--raw", "--creds", &creds, "--cert-dir", &cert_dir, &env.image_ref("app:v1")]);
    let subject = Digest::of(raw.as_bytes());
    let media_type = serde_json::from_str::<Value>(&raw).unwrap()["mediaType"].as_str().unwrap().to_string();

    // The empty config blob, uploaded in one request.
    let empty = Digest::of(b"{}");
    let (h, _) = env.curl(&[
        "-X",
        "POST",
        "-H",
        "content-type: application/octet-stream",
        "--data-binary",
        "{}",
        &env.url(&format!("/v2/app/blobs/uploads/?digest={empty}")),
    ]);
    assert_eq!(head_of(&h, "location").0, 201, "{h}");
    let sbom = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/spdx+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty.as_str(), "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty.as_str(), "size": 2}],
        "subject": {"mediaType": media_type, "digest": subject.as_str(), "size": raw.len()}})
    .to_string();
    let sbom_digest = Digest::of(sbom.as_bytes());
    let (h, _) = env.curl(&[
        "-X",
        "PUT",
        "-H",
        "content-type: application/vnd.oci.image.manifest.v1+json",
        "--data-binary",
        &sbom,
        &env.url(&format!("/v2/app/manifests/{sbom_digest}")),
    ]);
    assert_eq!(head_of(&h, "oci-subject"), (201, Some(subject.to_string())), "{h}");

    let (h, body) = env.curl(&[&env.url(&format!("/v2/app/referrers/{subject}"))]);
    assert_eq!(head_of(&h, "content-type"), (200, Some("application/vnd.oci.image.index.v1+json".into())));
    let index: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(index["manifests"][0]["digest"], sbom_digest.as_str(), "{body}");
    assert_eq!(index["manifests"][0]["artifactType"], "application/spdx+json");
    let filtered = format!("/v2/app/referrers/{subject}?artifactType=application%2Fvnd.example.sig");
    let (h, body) = env.curl(&[&env.url(&filtered)]);
    assert_eq!(head_of(&h, "oci-filters-applied"), (200, Some("artifactType".into())));
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["manifests"], json!([]));

    // skopeo reads the referrer back by digest.
    let by_digest = env.image_ref(&format!("app@{sbom_digest}"));
    let got = env.skopeo_ok(&["inspect", "--raw", "--creds", &creds, "--cert-dir", &cert_dir, &by_digest]);
    assert_eq!(Digest::of(got.as_bytes()), sbom_digest);

    // Blob DELETE: 202, then the blob is unknown to the repository.
    let blob = env.url(&format!("/v2/app/blobs/{empty}"));
    let (h, _) = env.curl(&["-X", "DELETE", &blob]);
    assert_eq!(head_of(&h, "x").0, 202, "{h}");
    let (h, body) = env.curl(&["--head", &blob]);
    assert_eq!(head_of(&h, "x").0, 404, "{h}{body}");
}
