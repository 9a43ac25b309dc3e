//! Section 2: a 256 MiB image (8 layers of 32 MiB) pulled by one client through the fake
//! ACR (TLS, admin token, 307 to the data endpoint), from the CNCF distribution registry
//! (Debian `docker-registry`, TLS with a certificate from the same CA; filesystem and
//! in-memory storage), from a bare rustls server holding the bytes in memory (the
//! ceiling), and read from disk files.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use mock_azure::acr::oci::RepoName;
use mock_azure::acr::{EndpointKind, Image, Repo, generate_image, push_image};
use mock_azure::appservice::worker::sha256_digest;
use mock_azure::httpc::{Conn, Resp};
use pullsim::embedded::{Env, EnvOptions};
use serde_json::json;

use crate::procs::{Proc, free_port, show};
use crate::recipe::{self, ArmClient};
use crate::stats::{Better, Figure, Summary};
use crate::{Cfg, hello};

const MIB: f64 = 1024.0 * 1024.0;
const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// Where a client finds a registry.
struct Target {
    addr: SocketAddr,
    sni: String,
    /// The fake ACR's admin user (then: token, 307 to `data`).
    admin: Option<(String, String)>,
    data: Option<SocketAddr>,
}

async fn send(c: &mut Conn, method: &str, path: &str, headers: &[(&str, &str)], body: Bytes) -> anyhow::Result<Resp> {
    c.send(method, path, headers, body).await.map_err(|e| anyhow::anyhow!("{e}"))
}

/// One pull: ping, (token), manifest, every blob. Returns the bytes of every blob, or
/// only their total when `keep` is false.
async fn pull(t: &Target, tls: &Arc<rustls::ClientConfig>, keep: bool) -> anyhow::Result<(u64, Vec<Bytes>)> {
    let mut c = Conn::open(None, t.addr, &t.sni, tls.clone()).await?;
    let ping = send(&mut c, "GET", "/v2/", &[], Bytes::new()).await?;
    let auth = match &t.admin {
        Some((user, pass)) => {
            anyhow::ensure!(ping.status == 401, "ACR /v2/ answered {}", ping.status);
            let basic = format!(
                "Basic {}",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("{user}:{pass}"))
            );
            let r = send(
                &mut c,
                "GET",
                &format!("/oauth2/token?service={}&scope=repository%3Aapp%3Apull", t.sni),
                &[("authorization", &basic)],
                Bytes::new(),
            )
            .await?;
            let tok = r.json()["access_token"].as_str().with_context(|| format!("no token: {}", r.status))?.to_string();
            Some(format!("Bearer {tok}"))
        }
        None => {
            anyhow::ensure!(ping.status == 200, "/v2/ answered {}", ping.status);
            None
        }
    };
    let mut h: Vec<(&str, &str)> = vec![("accept", ACCEPT)];
    if let Some(a) = &auth {
        h.push(("authorization", a));
    }
    let m = send(&mut c, "GET", "/v2/app/manifests/v1", &h, Bytes::new()).await?;
    anyhow::ensure!(m.status == 200, "manifest: {} {}", m.status, String::from_utf8_lossy(&m.body));
    let manifest = m.json();
    let mut digests = vec![manifest["config"]["digest"].as_str().unwrap_or_default().to_string()];
    digests.extend(
        manifest["layers"].as_array().into_iter().flatten().filter_map(|l| l["digest"].as_str().map(str::to_string)),
    );
    let mut data: Option<Conn> = None;
    let (mut total, mut kept) = (0u64, Vec::new());
    for d in &digests {
        let mut h: Vec<(&str, &str)> = vec![];
        if let Some(a) = &auth {
            h.push(("authorization", a));
        }
        let r = send(&mut c, "GET", &format!("/v2/app/blobs/{d}"), &h, Bytes::new()).await?;
        let body = match r.status {
            200 => r.body,
            307 => {
                let loc = r.header("location").context("307 without location")?.to_string();
                let rest = loc.strip_prefix("https://").context("non-https location")?;
                let (host, path) = rest.split_once('/').context("location without path")?;
                if data.is_none() {
                    let addr = t.data.context("a redirect but no data endpoint")?;
                    data = Some(Conn::open(None, addr, host, tls.clone()).await?);
                }
                let Some(dc) = data.as_mut() else { unreachable!("opened above") };
                let r = send(dc, "GET", &format!("/{path}"), &[], Bytes::new()).await?;
                anyhow::ensure!(r.status == 200, "data endpoint: {} {}", r.status, String::from_utf8_lossy(&r.body));
                r.body
            }
            s => bail!("blob {d}: {s} {}", String::from_utf8_lossy(&r.body)),
        };
        total += body.len() as u64;
        if keep {
            kept.push(body);
        }
    }
    Ok((total, kept))
}

/// Pushes an image into a distribution registry with the same client: monolithic
/// uploads (POST, then PUT with the digest), then the manifest.
async fn push_to_distribution(t: &Target, tls: &Arc<rustls::ClientConfig>, image: &Image) -> anyhow::Result<()> {
    let mut c = Conn::open(None, t.addr, &t.sni, tls.clone()).await?;
    let mut blobs = vec![&image.config];
    blobs.extend(&image.layers);
    for b in blobs {
        let r = send(&mut c, "POST", "/v2/app/blobs/uploads/", &[], Bytes::new()).await?;
        anyhow::ensure!(r.status == 202, "upload start: {} {}", r.status, String::from_utf8_lossy(&r.body));
        let loc = r.header("location").context("no upload location")?;
        let path = match loc.strip_prefix("https://") {
            Some(rest) => format!("/{}", rest.split_once('/').map(|x| x.1).unwrap_or_default()),
            None => loc.to_string(),
        };
        let sep = if path.contains('?') { '&' } else { '?' };
        let r = send(
            &mut c,
            "PUT",
            &format!("{path}{sep}digest={}", b.digest.as_str().replace(':', "%3A")),
            &[("content-type", "application/octet-stream")],
            b.bytes.clone(),
        )
        .await?;
        anyhow::ensure!(r.status == 201, "upload: {} {}", r.status, String::from_utf8_lossy(&r.body));
    }
    let r = send(
        &mut c,
        "PUT",
        "/v2/app/manifests/v1",
        &[("content-type", image.manifest.media_type.as_str())],
        image.manifest.bytes.clone(),
    )
    .await?;
    anyhow::ensure!(r.status == 201, "manifest: {} {}", r.status, String::from_utf8_lossy(&r.body));
    Ok(())
}

fn distribution_config(dir: &Path, port: u16, storage: &str) -> anyhow::Result<std::path::PathBuf> {
    let storage = match storage {
        "filesystem" => format!("  filesystem:\n    rootdirectory: {}\n", dir.join("data").display()),
        _ => "  inmemory: {}\n".to_string(),
    };
    let cfg = format!(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n{storage}  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: pullsim-bench\n  draintimeout: 1s\n  tls:\n    certificate: {}\n    key: {}\n",
        dir.join("cert.pem").display(),
        dir.join("key.pem").display()
    );
    let path = dir.join("config.yml");
    std::fs::write(&path, cfg)?;
    Ok(path)
}

/// Starts a distribution registry and waits until `/v2/` answers over TLS.
async fn start_distribution(
    cfg: &Cfg,
    env: &Env,
    name: &str,
    storage: &str,
    tls: &Arc<rustls::ClientConfig>,
) -> anyhow::Result<(Proc, Target, String)> {
    let dir = cfg.dir(&format!("registry/{name}"))?;
    let leaf = env.ca.issue(&["localhost"], &["127.0.0.1".parse()?])?;
    std::fs::write(dir.join("cert.pem"), &leaf.cert_pem)?;
    std::fs::write(dir.join("key.pem"), &leaf.key_pem)?;
    let port = free_port()?;
    let conf = distribution_config(&dir, port, storage)?;
    let mut cmd = Command::new("docker-registry");
    cmd.arg("serve").arg(&conf);
    let shown = show(&cmd);
    let mut p = Proc::spawn(name, cmd, &dir.join("log"))?;
    let t = Target { addr: SocketAddr::from(([127, 0, 0, 1], port)), sni: "localhost".into(), admin: None, data: None };
    let start = Instant::now();
    loop {
        if let Ok(mut c) = Conn::open(None, t.addr, &t.sni, tls.clone()).await
            && let Ok(r) = send(&mut c, "GET", "/v2/", &[], Bytes::new()).await
            && r.status == 200
        {
            break;
        }
        p.check_alive()?;
        if start.elapsed() > Duration::from_secs(20) {
            bail!("{name} did not answer /v2/ within 20 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok((p, t, shown))
}

/// Reads every blob file from `dir`; the total.
fn read_disk(files: &[std::path::PathBuf]) -> anyhow::Result<u64> {
    let mut total = 0;
    for f in files {
        total += std::fs::read(f)?.len() as u64;
    }
    Ok(total)
}

/// Section 2.
pub async fn run(cfg: &Cfg, out: &mut Vec<Figure>) -> anyhow::Result<()> {
    const S: &str = "2 registry";
    let (layers, layer_size) = if cfg.quick { (4usize, 8usize << 20) } else { (8, 32 << 20) };
    let env = Env::start(EnvOptions::default()).await?;
    let tls = env.ca.client_config()?;
    let image = generate_image(42, layers, layer_size);
    let size: u64 = image.layers.iter().map(|l| l.bytes.len() as u64).sum::<u64>() + image.config.bytes.len() as u64;

    // The fake ACR: a registry with public access, its admin user, the image pushed.
    let sub = env.arm.cfg.subscription_id.clone();
    let reg = "benchthroughput";
    let rg = format!("/subscriptions/{sub}/resourceGroups/throughput");
    let mut c = ArmClient::new(&env.arm);
    c.ok("PUT", &rg, Some(json!({"location": "westeurope"})))?;
    let reg_id = format!("{rg}/providers/Microsoft.ContainerRegistry/registries/{reg}");
    c.ok(
        "PUT",
        &reg_id,
        Some(json!({"location": "westeurope", "sku": {"name": "Premium"}, "properties": {"adminUserEnabled": true, "publicNetworkAccess": "Enabled"}})),
    )?;
    let creds = c.ok("POST", &format!("{reg_id}/listCredentials"), None)?;
    let pass = creds["passwords"][0]["value"].as_str().context("password")?.to_string();
    let repo = Repo::new(reg, RepoName::parse("app").context("repo")?).context("repo")?;
    push_image(env.acr.blobs().as_ref(), &repo, &image, Some("v1")).await?;
    env.reconcile().await?;
    let eps = env.acr.endpoints();
    let addr_of = |k: EndpointKind| {
        eps.iter().find(|e| e.registry == reg && e.kind == k).map(|e| env.fabric.https_addr(&e.address))
    };
    let acr = Target {
        addr: addr_of(EndpointKind::PublicLogin).context("no public login endpoint")?,
        sni: format!("{reg}.azurecr.io"),
        admin: Some((reg.to_string(), pass)),
        data: addr_of(EndpointKind::PublicData),
    };

    // CNCF distribution, twice: filesystem storage (as users run it) and in memory.
    let (_fs, dist_fs, fs_cmd) = start_distribution(cfg, &env, "distribution-fs", "filesystem", &tls).await?;
    let (_mem, dist_mem, mem_cmd) = start_distribution(cfg, &env, "distribution-mem", "inmemory", &tls).await?;
    // A 32 MiB PUT can overrun the client's 10 s request timeout when the shared machine is
    // loaded: try again (uploads are idempotent by digest).
    for t in [&dist_fs, &dist_mem] {
        let mut tries = 0;
        while let Err(e) = push_to_distribution(t, &tls, &image).await {
            tries += 1;
            anyhow::ensure!(tries < 3, "pushing to distribution failed 3 times: {e:#}");
            eprintln!("   push to distribution failed ({e:#}); trying again");
        }
    }

    // The bare rustls server: the same bytes from memory, same TLS settings.
    let mut content = std::collections::HashMap::new();
    content.insert("/v2/app/manifests/v1".to_string(), image.manifest.bytes.clone());
    for b in std::iter::once(&image.config).chain(&image.layers) {
        content.insert(format!("/v2/app/blobs/{}", b.digest), b.bytes.clone());
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let bare = Target { addr: listener.local_addr()?, sni: "localhost".into(), admin: None, data: None };
    let bare_tls = env.ca.server_config(&["localhost"], &["127.0.0.1".parse()?])?;
    let bare_task = tokio::spawn(hello::serve(listener, bare_tls, Arc::new(content)));

    // Disk: the same blobs as files.
    let disk_dir = cfg.dir("registry/disk")?;
    let mut files = Vec::new();
    for b in std::iter::once(&image.config).chain(&image.layers) {
        let p = disk_dir.join(b.digest.hex());
        std::fs::write(&p, &b.bytes)?;
        files.push(p);
    }

    // Warm-up: one pull from each, every blob verified against its digest.
    for (name, t) in [
        ("fake ACR", &acr),
        ("distribution (filesystem)", &dist_fs),
        ("distribution (inmemory)", &dist_mem),
        ("bare rustls", &bare),
    ] {
        let (total, blobs) = pull(t, &tls, true).await.with_context(|| format!("pulling from {name}"))?;
        anyhow::ensure!(total == size, "{name}: {total} bytes, expected {size}");
        let mut want: Vec<String> =
            std::iter::once(&image.config).chain(&image.layers).map(|b| b.digest.to_string()).collect();
        let mut got: Vec<String> = blobs.iter().map(|b| sha256_digest(b)).collect();
        want.sort();
        got.sort();
        anyhow::ensure!(want == got, "{name} served other bytes");
    }
    anyhow::ensure!(tokio::task::block_in_place(|| read_disk(&files))? == size, "disk size");

    let n = cfg.n(15, 3);
    let mut s: [Vec<f64>; 5] = Default::default();
    let rate = |d: Duration| size as f64 / MIB / d.as_secs_f64();
    for _ in 0..n {
        for (i, t) in [&acr, &dist_fs, &dist_mem, &bare].into_iter().enumerate() {
            let t0 = Instant::now();
            let (total, _) = pull(t, &tls, false).await?;
            s[i].push(rate(t0.elapsed()));
            anyhow::ensure!(total == size, "short pull");
        }
        let t0 = Instant::now();
        tokio::task::block_in_place(|| read_disk(&files))?;
        s[4].push(rate(t0.elapsed()));
    }
    bare_task.abort();

    // The worker's own pull of the same image through the July 2021 recipe (DNS from the
    // VNET, private endpoint, 307 to the data endpoint's private address, sha256 verify).
    let (r, _) = recipe::build(&env, 900, &image).await?;
    recipe::pull(&env, &r).await?;
    let mut worker = Vec::new();
    for _ in 0..cfg.n(5, 2) {
        let d = recipe::pull(&env, &r).await?;
        worker.push(size as f64 / MIB / d.as_secs_f64());
    }
    env.stop().await;

    let mib = size as f64 / MIB;
    let client = format!(
        "One client for all (mock_azure::httpc::Conn: rustls with the ring provider trusting pullsim's CA, one kept-alive \
         HTTP/1.1 connection per host, each body collected into memory, no digest check in the timed loop): per sample \
         a new connection, GET /v2/, the manifest and {} blobs ({mib:.1} MiB: config + {layers} gzip layers of \
         {} MiB). Against the fake ACR also the admin token (GET /oauth2/token with Basic) and, per blob, the 307 to \
         the signed data-endpoint URL on a second connection. Warm-up: one pull from each with every blob's sha256 \
         checked. {n} samples, sides interleaved in each round.",
        layers + 1,
        layer_size >> 20
    );
    let acr_note = "Fake ACR: the embedded environment's ACR (in this process, sharing its 2-worker tokio runtime with \
                    the client) with its in-memory blob store (MemoryStore), public endpoint, publicNetworkAccess \
                    Enabled, admin user.";
    let med = |v: &[f64]| Summary::of(v).median;
    let acr_s = s[0].clone();
    let ratio_fs = med(&acr_s) / med(&s[1]);
    let call = "pullsim-bench run --only registry";
    out.push(
        Figure::new(S, "registry.acr_vs_distribution_fs", "MiB/s", Better::Higher, acr_s.clone())
            .method(format!("{client} {acr_note}"), call)
            .peer(
                "CNCF distribution (Debian docker-registry), filesystem storage on disk (page cache), TLS with a leaf from the same CA, a separate process",
                fs_cmd.clone(),
                s[1].clone(),
                "fake ACR / distribution",
            )
            .goal("registry ≥ 1.0× distribution", ratio_fs, 1.0, true),
    );
    out.push(
        Figure::new(S, "registry.acr_vs_distribution_inmemory", "MiB/s", Better::Higher, acr_s.clone())
            .method(format!("As above; the peer keeps blobs in memory (storage: inmemory), like the fake ACR's store. {acr_note}"), call)
            .peer("CNCF distribution, inmemory storage, TLS, a separate process", mem_cmd, s[2].clone(), "fake ACR / distribution (inmemory)"),
    );
    out.push(
        Figure::new(S, "registry.acr_vs_bare_rustls", "MiB/s", Better::Higher, acr_s.clone())
            .method(format!("As above; the peer is the ceiling of bench/README.md: a bare hyper/rustls server in this process answering each path from memory (no auth, no redirect). {acr_note}"), call)
            .peer("bare hyper/rustls serving the same bytes from memory", "hello::serve in process", s[3].clone(), "fake ACR / bare rustls"),
    );
    out.push(
        Figure::new(S, "registry.acr_vs_disk", "MiB/s", Better::Higher, acr_s)
            .method(format!("As above; the peer reads the same blob files with std::fs::read (files written just before: page cache, on the /tmp disk). {acr_note}"), call)
            .peer("reading the same bytes from disk files", "std::fs::read of each blob file", s[4].clone(), "fake ACR / disk read"),
    );
    out.push(
        Figure::new(S, "registry.worker_pull_256mib", "MiB/s", Better::Higher, worker).method(
            format!(
                "The App Service worker's own pull (Env::pull) of the same {mib:.1} MiB image through the July 2021 \
                 recipe: ARM reads, DNS from the VNET, TLS to the private endpoint, admin token, manifest, 307 to the \
                 data endpoint, sha256 of every blob. One warm-up pull."
            ),
            call,
        ).note("For scale only: the worker checks every digest (sha256 on one core), which the client above does not."),
    );
    Ok(())
}
