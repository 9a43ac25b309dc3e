//! Hardening (issue 13), held against `pullsim serve` as a process: nothing acknowledged
//! is lost to `kill -9`, a damaged journal is refused and salvaged, idle connections do not
//! starve a listener, a proxy does not spin when descriptors run out, uploads are bounded
//! and give their memory back, keys are private and forged token claims refused.
//!
//! Figures (latencies, CPU time, RSS) are printed for the report; what is asserted are
//! outcomes and ratios, never a speed.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Command;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};
use hyper_util::rt::TokioIo;
use pullsim_tests::{ArmClient, ArmFixture, Serve, pullsim_bin};
use serde_json::{Value, json};

const REGISTRY: &str = "hardenacr";

/// A fixture: one Premium registry with public access and the admin user, one image.
fn fixture(dir: &Path) -> PathBuf {
    let path = dir.join("harden.toml");
    std::fs::write(
        &path,
        format!(
            r#"[resource_group]
name = "harden"
location = "westeurope"

[registry]
name = "{REGISTRY}"
sku = "Premium"
admin_user = true
public_network_access = "Enabled"
images = [{{ repo = "app", tag = "v1", layers = 2, seed = 7 }}]
"#
        ),
    )
    .unwrap();
    path
}

/// An HTTPS client that speaks to one address with one TLS server name.
struct Client {
    rt: tokio::runtime::Runtime,
    tls: tokio_rustls::TlsConnector,
    addr: SocketAddr,
    sni: String,
}

/// A whole answer.
struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Client {
    fn new(ca: &Path, addr: SocketAddr, sni: &str) -> Client {
        let pem = std::fs::read(ca).unwrap();
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
        Client {
            rt: tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap(),
            tls: tokio_rustls::TlsConnector::from(Arc::new(cfg)),
            addr,
            sni: sni.to_string(),
        }
    }

    /// The registry's login server, as the ready file lists it.
    fn registry(serve: &Serve) -> Client {
        let e = serve.endpoints["registry_endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["registry"] == REGISTRY && e["kind"] == "public login server")
            .unwrap_or_else(|| panic!("no login server in {}", serve.endpoints));
        Client::new(&serve.ca_path(), e["real"].as_str().unwrap().parse().unwrap(), &format!("{REGISTRY}.azurecr.io"))
    }

    fn send<B>(&self, method: &str, path: &str, headers: &[(&str, String)], body: B) -> anyhow::Result<Answer>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.rt.block_on(async {
            let tcp =
                tokio::time::timeout(Duration::from_secs(10), tokio::net::TcpStream::connect(self.addr)).await??;
            let name = rustls::pki_types::ServerName::try_from(self.sni.clone())?;
            let tls = tokio::time::timeout(Duration::from_secs(10), self.tls.connect(name, tcp)).await??;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
            tokio::spawn(conn);
            let mut req = hyper::Request::builder().method(method).uri(path).header("host", &self.sni);
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            let resp = tokio::time::timeout(Duration::from_secs(600), sender.send_request(req.body(body)?)).await??;
            let (parts, body) = resp.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok(Answer { status: parts.status.as_u16(), headers: parts.headers, body })
        })
    }
}

fn full(b: impl Into<Bytes>) -> http_body_util::Full<Bytes> {
    http_body_util::Full::new(b.into())
}

fn digest_of(bytes: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    format!("sha256:{}", d.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// The admin user's Basic credentials, from ARM's listCredentials.
fn basic(arm: &ArmClient) -> String {
    let creds = arm
        .call(
            "POST",
            &format!("/subscriptions/{{sub}}/resourceGroups/harden/providers/Microsoft.ContainerRegistry/registries/{REGISTRY}/listCredentials"),
            None,
        )
        .unwrap()
        .json();
    let pw = creds["passwords"][0]["value"].as_str().unwrap();
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{REGISTRY}:{pw}")))
}

/// Pushes a one-layer image tagged `tag` (layer bytes derived from the tag); returns
/// the manifest digest once the registry acknowledged it (201).
fn push(acr: &Client, auth: &str, tag: &str) -> anyhow::Result<String> {
    let layer = format!("layer of {tag}").repeat(100).into_bytes();
    let config = format!(r#"{{"architecture":"amd64","os":"linux","tag":"{tag}"}}"#).into_bytes();
    for blob in [&layer, &config] {
        let d = digest_of(blob);
        let r = acr.send(
            "POST",
            &format!("/v2/app/blobs/uploads/?digest={d}"),
            &[("authorization", auth.to_string()), ("content-length", blob.len().to_string())],
            full(blob.clone()),
        )?;
        anyhow::ensure!(r.status == 201, "blob push: {} {}", r.status, String::from_utf8_lossy(&r.body));
    }
    let manifest = json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest_of(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest_of(&layer), "size": layer.len()}],
    })
    .to_string();
    let r = acr.send(
        "PUT",
        &format!("/v2/app/manifests/{tag}"),
        &[("authorization", auth.to_string()), ("content-type", "application/vnd.oci.image.manifest.v1+json".into())],
        full(manifest.clone()),
    )?;
    anyhow::ensure!(r.status == 201, "manifest push: {} {}", r.status, String::from_utf8_lossy(&r.body));
    Ok(digest_of(manifest.as_bytes()))
}

/// Every regular file under `dir` with its inode and modification time.
fn file_stamps(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), m.ino(), m.modified().unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn acknowledged_arm_writes_and_pushes_survive_ten_kill_9s_and_the_fixture_is_not_pushed_again() {
    let temp = tempfile::tempdir().unwrap();
    let state = temp.path().join("state");
    let load = fixture(temp.path());
    let args = ["--load", load.to_str().unwrap()];
    let mut acked_groups: Vec<String> = Vec::new();
    let mut acked_pushes: Vec<(String, String)> = Vec::new();
    let mut fixture_files = None;
    for round in 0..10 {
        let serve = Serve::start_in_with(&state, &args).unwrap();
        let blobs = state.join("acr/registries").join(REGISTRY).join("blobs");
        match &fixture_files {
            None => fixture_files = Some(file_stamps(&blobs)),
            Some(before) => {
                let now: Vec<_> =
                    file_stamps(&blobs).into_iter().filter(|f| before.iter().any(|b| b.0 == f.0)).collect();
                assert_eq!(&now, before, "round {round}: the fixture's blobs are not written again");
            }
        }
        let auth = basic(&ArmClient::login(&serve).unwrap());
        // Writes and pushes from another thread until the kill; each counts once acknowledged.
        let (tx, rx) = std::sync::mpsc::channel::<Result<String, (String, String)>>();
        let writer = {
            let arm = ArmClient::login(&serve).unwrap();
            let acr = Client::registry(&serve);
            let auth = auth.clone();
            std::thread::spawn(move || {
                for i in 0.. {
                    let rg = format!("r{round}w{i}");
                    match arm.call(
                        "PUT",
                        &format!("/subscriptions/{{sub}}/resourcegroups/{rg}"),
                        Some(&json!({"location": "westeurope"})),
                    ) {
                        Ok(r) if r.status == 201 => {
                            if tx.send(Ok(rg)).is_err() {
                                return;
                            }
                        }
                        _ => return,
                    }
                    if i % 4 == 0 {
                        let tag = format!("r{round}p{i}");
                        match push(&acr, &auth, &tag) {
                            Ok(d) => {
                                if tx.send(Err((tag, d))).is_err() {
                                    return;
                                }
                            }
                            Err(_) => return,
                        }
                    }
                }
            })
        };
        // Kill in the middle of the stream, after a few acknowledgements.
        let mut seen = 0;
        while seen < 12 + round * 3 {
            match rx.recv_timeout(Duration::from_secs(60)).unwrap() {
                Ok(rg) => acked_groups.push(rg),
                Err(p) => acked_pushes.push(p),
            }
            seen += 1;
        }
        serve.kill9();
        writer.join().unwrap();
        for m in rx.try_iter() {
            match m {
                Ok(rg) => acked_groups.push(rg),
                Err(p) => acked_pushes.push(p),
            }
        }
    }
    let serve = Serve::start_in_with(&state, &args).unwrap();
    let arm = ArmClient::login(&serve).unwrap();
    let acr = Client::registry(&serve);
    let auth = basic(&arm);
    let lost_groups: Vec<&String> = acked_groups
        .iter()
        .filter(|rg| {
            arm.call("GET", &format!("/subscriptions/{{sub}}/resourcegroups/{rg}"), None).unwrap().status != 200
        })
        .collect();
    let lost_pushes: Vec<&(String, String)> = acked_pushes
        .iter()
        .filter(|(tag, digest)| {
            let r = acr
                .send(
                    "GET",
                    &format!("/v2/app/manifests/{tag}"),
                    &[("authorization", auth.clone()), ("accept", "application/vnd.oci.image.manifest.v1+json".into())],
                    full(Bytes::new()),
                )
                .unwrap();
            r.status != 200 || r.headers.get("docker-content-digest").and_then(|v| v.to_str().ok()) != Some(digest)
        })
        .collect();
    println!(
        "over 10 kill -9: {} acknowledged ARM writes, {} lost; {} acknowledged pushes, {} lost",
        acked_groups.len(),
        lost_groups.len(),
        acked_pushes.len(),
        lost_pushes.len()
    );
    assert!(acked_pushes.len() >= 10 && acked_groups.len() >= 100);
    assert_eq!((lost_groups, lost_pushes), (Vec::<&String>::new(), Vec::<&(String, String)>::new()));
    // The fixture's image is still there, served from the state directory.
    let r = acr.send("GET", "/v2/app/tags/list", &[("authorization", auth)], full(Bytes::new())).unwrap();
    assert!(String::from_utf8_lossy(&r.body).contains("\"v1\""), "{}", String::from_utf8_lossy(&r.body));
}

/// `pullsim serve` on `state` as a process that must refuse to start; its stderr.
fn refused_start(state: &Path) -> String {
    let out = Command::new(pullsim_bin())
        .args(["serve", "--bind", "127.0.0.1:0", "--quiet", "--state-dir"])
        .arg(state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "the start is refused: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn pullsim(args: &[&str], dir: &Path) -> (i32, String) {
    let out = Command::new(pullsim_bin()).args(args).arg(dir).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn mid_journal_damage_refuses_the_start_untouched_and_salvage_keeps_every_valid_record() {
    let temp = tempfile::tempdir().unwrap();
    let state = temp.path().join("state");
    let serve = Serve::start_in(&state).unwrap();
    let arm = ArmClient::login(&serve).unwrap();
    for i in 0..60 {
        let r = arm.call(
            "PUT",
            &format!("/subscriptions/{{sub}}/resourcegroups/g{i}"),
            Some(&json!({"location": "westeurope"})),
        );
        assert_eq!(r.unwrap().status, 201);
    }
    serve.kill9();
    let journal = state.join("journal.jsonl");
    let mut bytes = std::fs::read(&journal).unwrap();
    let lines: Vec<usize> = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i + 1).collect();
    // ARM's first record (the service principal's Owner assignment), then the groups.
    assert_eq!(lines.len(), 61);
    // One flipped byte inside record 31 (a resource group's name).
    let (start, end) = (lines[29], lines[30]);
    let at = start + bytes[start..end].windows(4).position(|w| w == b"g29\"").unwrap() + 1;
    bytes[at] = b'8';
    std::fs::write(&journal, &bytes).unwrap();

    let err = refused_start(&state);
    assert!(err.contains(&format!("record 31 at byte {start}")), "{err}");
    assert!(err.contains("expected the checksum"), "{err}");
    assert_eq!(std::fs::read(&journal).unwrap(), bytes, "the journal is left as it was");

    let (code, report) = pullsim(&["state", "check"], &state);
    assert_eq!(code, 1, "{report}");
    assert!(report.contains(&format!("damaged: record 31 at byte {start}")), "{report}");
    assert!(report.contains("60 records"), "{report}");
    let (code, report) = pullsim(&["state", "salvage"], &state);
    assert_eq!(code, 0, "{report}");
    assert!(report.contains("seq 31"), "the lost record is named: {report}");
    let kept: Vec<PathBuf> = std::fs::read_dir(&state)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("journal.damaged-"))
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(std::fs::read(&kept[0]).unwrap(), bytes, "the damaged file is kept beside the new one");

    let serve = Serve::start_in(&state).unwrap();
    let arm = ArmClient::login(&serve).unwrap();
    let missing: Vec<usize> = (0..60)
        .filter(|i| {
            arm.call("GET", &format!("/subscriptions/{{sub}}/resourcegroups/g{i}"), None).unwrap().status != 200
        })
        .collect();
    println!(
        "mid-journal damage: start refused; salvage kept 59 of 60 records, lost only the damaged one: {missing:?}"
    );
    assert_eq!(missing, vec![29], "every record but the damaged one is back");
}

/// User and system CPU time of a process so far, in seconds (from /proc).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// Resident memory of a process, in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 =
        status.lines().find(|l| l.starts_with("VmRSS:")).unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    kb / 1024.0
}

#[test]
fn a_listener_held_by_2000_idle_connections_still_answers_a_new_client() {
    mock_azure::listen::raise_fd_limit().unwrap();
    let temp = tempfile::tempdir().unwrap();
    let load = fixture(temp.path());
    let serve = Serve::start_with(&["--load", load.to_str().unwrap()]).unwrap();
    let arm_addr: SocketAddr = serve.base_url().trim_start_matches("https://").parse().unwrap();
    let acr = Client::registry(&serve);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let tls = acr.tls.clone();
    // Half of them stop before TLS, half after the handshake; none sends a request.
    let idle = rt.block_on(async {
        let mut held = Vec::new();
        for (i, (addr, sni)) in [(arm_addr, "127.0.0.1".to_string()), (acr.addr, acr.sni.clone())]
            .into_iter()
            .flat_map(|t| std::iter::repeat_n(t, 1000))
            .enumerate()
        {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            if i % 2 == 0 {
                held.push(Box::new(tcp) as Box<dyn std::any::Any + Send>);
            } else {
                let name = rustls::pki_types::ServerName::try_from(sni).unwrap();
                held.push(Box::new(tls.connect(name, tcp).await.unwrap()));
            }
        }
        held
    });
    assert_eq!(idle.len(), 2000);
    let started = Instant::now();
    let arm = ArmClient::login(&serve).unwrap();
    let r = arm.call("GET", "/subscriptions/{sub}/resourcegroups/harden", None).unwrap();
    let arm_ms = started.elapsed().as_millis();
    assert_eq!(r.status, 200, "{}", r.body);
    let started = Instant::now();
    let r = acr.send("GET", "/v2/", &[], full(Bytes::new())).unwrap();
    let acr_ms = started.elapsed().as_millis();
    assert_eq!(r.status, 401, "the login server answers (a challenge)");
    println!(
        "with 2,000 idle connections held (1,000 on ARM, 1,000 on the ACR): ARM login+GET answered in {arm_ms} ms, ACR in {acr_ms} ms"
    );
    drop(idle);
}

#[test]
fn a_proxy_accept_loop_stays_idle_when_descriptors_run_out() {
    // A low hard limit, so the server cannot raise its way out of it.
    let serve = Serve::start_in_memory(&["prlimit", "--nofile=200:200", "--"], &["--header-timeout", "120"])
        .expect("prlimit (util-linux) runs pullsim serve");
    let pid = serve.pid();
    let proxy: SocketAddr =
        serve.endpoints["proxies"][0]["url"].as_str().unwrap().trim_start_matches("http://").parse().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let measure = || {
        let before = cpu_seconds(pid);
        std::thread::sleep(Duration::from_secs(5));
        cpu_seconds(pid) - before
    };
    let idle = measure();
    // Clients that connect and say nothing, until the server runs out of descriptors;
    // the last ones wait in the backlog while it does.
    let mut held = Vec::new();
    for _ in 0..400 {
        // Past the backlog a connect waits for ever: enough are held by then.
        match std::net::TcpStream::connect_timeout(&proxy, Duration::from_secs(2)) {
            Ok(c) => held.push(c),
            Err(_) => break,
        }
    }
    assert!(held.len() > 200, "more clients than the server has descriptors ({} connected)", held.len());
    std::thread::sleep(Duration::from_millis(500));
    let exhausted = measure();
    println!("proxy under fd exhaustion: {exhausted:.2} s CPU over 5 s (idle baseline {idle:.2} s)");
    assert!(exhausted / 5.0 < 0.2, "the accept loop spins: {exhausted:.2} s of CPU in 5 s (idle {idle:.2} s)");
    drop(held);
    // Once descriptors are back, the proxy serves again: a CONNECT gets its answer.
    std::thread::sleep(Duration::from_secs(2));
    let mut c = std::net::TcpStream::connect(proxy).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    use std::io::{Read, Write};
    c.write_all(b"CONNECT example.invalid:80 HTTP/1.1\r\n\r\n").unwrap();
    let mut buf = [0u8; 64];
    let n = c.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 403"), "{}", String::from_utf8_lossy(&buf[..n]));
}

/// A body of `len` bytes: one pseudo-random MiB repeated, produced as it is sent.
struct Pattern {
    chunk: Bytes,
    remaining: u64,
}

impl Pattern {
    fn new(len: u64) -> Pattern {
        let chunk: Vec<u8> = (0u32..1 << 20).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        Pattern { chunk: Bytes::from(chunk), remaining: len }
    }

    /// The digest of the bytes it will send.
    fn digest(&self) -> String {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        let mut left = self.remaining;
        while left > 0 {
            let n = left.min(self.chunk.len() as u64) as usize;
            ctx.update(&self.chunk[..n]);
            left -= n as u64;
        }
        format!("sha256:{}", ctx.finish().as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>())
    }
}

impl Body for Pattern {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let n = self.remaining.min(self.chunk.len() as u64);
        self.remaining -= n;
        Poll::Ready(Some(Ok(Frame::data(self.chunk.slice(..n as usize)))))
    }
}

/// Upload size for the memory tests: `PULLSIM_UPLOAD_MIB` (the report's figure uses
/// 1024 with a release binary), 256 by default.
fn upload_mib() -> u64 {
    std::env::var("PULLSIM_UPLOAD_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
}

#[test]
fn a_large_upload_streams_to_disk_and_rss_stays_near_the_baseline() {
    let temp = tempfile::tempdir().unwrap();
    let load = fixture(temp.path());
    let serve = Serve::start_in_with(&temp.path().join("state"), &["--load", load.to_str().unwrap()]).unwrap();
    let arm = ArmClient::login(&serve).unwrap();
    let acr = Client::registry(&serve);
    let auth = basic(&arm);
    push(&acr, &auth, "warm-up").unwrap();
    let base = rss_mib(serve.pid());
    let mib = upload_mib();
    let body = Pattern::new(mib << 20);
    let digest = body.digest();
    let r = acr
        .send(
            "POST",
            &format!("/v2/app/blobs/uploads/?digest={digest}"),
            &[("authorization", auth.clone()), ("content-length", (mib << 20).to_string())],
            body,
        )
        .unwrap();
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let after = rss_mib(serve.pid());
    println!("disk store: RSS {base:.0} MiB before a {mib} MiB monolithic upload, {after:.0} MiB after");
    assert!(after - base < (mib as f64) / 4.0, "RSS grew by {:.0} MiB for a {mib} MiB upload", after - base);
    let size = std::fs::metadata(
        temp.path()
            .join("state/acr/registries")
            .join(REGISTRY)
            .join("blobs/sha256")
            .join(&digest[7..9])
            .join(&digest[7..]),
    )
    .unwrap()
    .len();
    assert_eq!(size, mib << 20, "the blob is on disk under the state directory");
}

#[test]
fn upload_sessions_give_their_memory_back_when_deleted_and_expire_when_idle() {
    let temp = tempfile::tempdir().unwrap();
    let load = fixture(temp.path());
    let max = 64u64 << 20;
    let idle = 10;
    let serve = Serve::start_in_memory(
        &[],
        &[
            "--load",
            load.to_str().unwrap(),
            "--upload-idle-timeout",
            &idle.to_string(),
            "--max-blob-size",
            &max.to_string(),
        ],
    )
    .unwrap();
    let arm = ArmClient::login(&serve).unwrap();
    let acr = Client::registry(&serve);
    let auth = basic(&arm);
    push(&acr, &auth, "warm-up").unwrap();
    let pid = serve.pid();
    let base = rss_mib(pid);
    // Six sessions of 32 MiB each, staged in memory.
    let each = 32u64 << 20;
    let mut sessions = Vec::new();
    for _ in 0..6 {
        let r =
            acr.send("POST", "/v2/app/blobs/uploads/", &[("authorization", auth.clone())], full(Bytes::new())).unwrap();
        assert_eq!(r.status, 202);
        let location = r.headers["location"].to_str().unwrap().to_string();
        let r = acr
            .send(
                "PATCH",
                &location,
                &[("authorization", auth.clone()), ("content-length", each.to_string())],
                Pattern::new(each),
            )
            .unwrap();
        assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
        sessions.push(location);
    }
    let session = |s: &str| acr.send("GET", s, &[("authorization", auth.clone())], full(Bytes::new())).unwrap();
    for s in &sessions {
        assert_eq!(session(s).status, 204, "every session is still open (staging took under {idle} s)");
    }
    let held = rss_mib(pid);
    // Beyond the maximum blob size: 413 SIZE_INVALID, and the session keeps what it had.
    let over = max - each + 1;
    let r = acr
        .send(
            "PATCH",
            &sessions[5],
            &[("authorization", auth.clone()), ("content-length", over.to_string())],
            Pattern::new(over),
        )
        .unwrap();
    assert_eq!(r.status, 413);
    assert_eq!(serde_json::from_slice::<Value>(&r.body).unwrap()["errors"][0]["code"], "SIZE_INVALID");
    assert_eq!(session(&sessions[5]).headers["range"], format!("0-{}", each - 1).as_str());
    for s in &sessions[..3] {
        let r = acr.send("DELETE", s, &[("authorization", auth.clone())], full(Bytes::new())).unwrap();
        assert_eq!(r.status, 204);
    }
    let deleted = rss_mib(pid);
    // The other three are left to expire.
    std::thread::sleep(Duration::from_secs(idle + 3));
    let after = rss_mib(pid);
    let r = session(&sessions[4]);
    assert_eq!(r.status, 404);
    assert_eq!(serde_json::from_slice::<Value>(&r.body).unwrap()["errors"][0]["code"], "BLOB_UPLOAD_UNKNOWN");
    println!(
        "memory store: RSS {base:.0} MiB; {held:.0} MiB with six {} MiB sessions; {deleted:.0} MiB after deleting three; {after:.0} MiB after the other three expired",
        each >> 20
    );
    let staged = ((6 * each) >> 20) as f64;
    assert!(held - base > staged * 0.8, "the sessions were held in memory");
    assert!(after - base < staged * 0.25, "RSS {after:.0} MiB did not come back near {base:.0} MiB");
}

#[test]
fn keys_and_state_directory_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let temp = tempfile::tempdir().unwrap();
    let state = temp.path().join("state");
    let serve = Serve::start_in(&state).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("ca-key.pem")), 0o600);
    assert_eq!(mode(&state.join("token-key.pk8")), 0o600);
    drop(serve);
}

#[test]
fn arm_refuses_tokens_before_their_nbf_or_issued_for_another_tenant() {
    let f = ArmFixture::new();
    let now = mock_azure::identity::token::now();
    let tenant = f.arm.cfg.tenant_id.clone();
    let token = |claims: Value| format!("Bearer {}", f.arm.signer.sign(&claims));
    let base = json!({"aud": "https://management.core.windows.net/", "tid": tenant, "iat": now, "exp": now + 3600,
        "iss": format!("https://sts.windows.net/{tenant}/"), "oid": f.arm.cfg.object_id()});
    let with = |k: &str, v: Value| {
        let mut c = base.clone();
        c[k] = v;
        c
    };
    let call = |auth: String| {
        let req = mock_azure::arm::ArmRequest::new("GET", "/subscriptions?api-version=2022-12-01")
            .header("authorization", &auth);
        let r = f.arm.handle(&req);
        (r.status, r.json_body()["error"]["code"].as_str().map(str::to_string))
    };
    assert_eq!(call(token(base.clone())).0, 200);
    let refused = (401, Some("InvalidAuthenticationToken".to_string()));
    assert_eq!(call(token(with("nbf", json!(now + 600)))), refused, "not valid yet");
    assert_eq!(
        call(token(with("iss", json!("https://sts.windows.net/00000000-0000-0000-0000-00000000beef/")))),
        refused,
        "issued by another tenant"
    );
}
