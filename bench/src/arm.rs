//! Section 3 (ARM `GET site` under `wrk`, beside the bare hello server) and the store-size
//! half of section 7 (`GET site` latency with 10, 1,000 and 100,000 resources).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use mock_azure::acr::generate_image;
use mock_azure::arm::ArmRequest;
use mock_azure::httpc::Conn;
use mock_azure::model::{Store, StoreError};
use mock_azure::tls::Ca;
use pullsim::embedded::{Env, EnvOptions};
use serde_json::{Value, json};

use crate::procs::{Proc, run_bounded, show, wait_file};
use crate::recipe::{self, ArmClient};
use crate::stats::{Better, Figure, Summary};
use crate::{Cfg, ms};

const API: &str = "api-version=2024-11-01";

/// What one `wrk` run printed.
#[derive(Debug, Clone, Copy)]
pub struct WrkRun {
    /// Requests per second.
    pub rps: f64,
    /// Latency percentiles, ms.
    pub p50: f64,
    /// 99th percentile, ms.
    pub p99: f64,
}

fn to_ms(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        return None;
    };
    num.parse::<f64>().ok().map(|x| x * mult)
}

/// Parses `wrk --latency` output; fails on non-2xx answers or socket errors.
pub fn parse_wrk(text: &str) -> anyhow::Result<WrkRun> {
    if let Some(l) = text.lines().find(|l| l.contains("Non-2xx or 3xx responses")) {
        bail!("wrk saw errors: {l}\n{text}");
    }
    if let Some(l) = text.lines().find(|l| l.contains("Socket errors")) {
        // Only timeouts and connect errors disqualify; a read error at the end of a run is
        // wrk closing its connections.
        if !l.contains("connect 0") || !l.contains("timeout 0") {
            bail!("wrk saw socket errors: {l}\n{text}");
        }
    }
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .with_context(|| format!("no Requests/sec in wrk output:\n{text}"))?;
    let pct = |p: &str| {
        text.lines()
            .find_map(|l| {
                let mut it = l.split_whitespace();
                (it.next() == Some(p)).then(|| it.next().and_then(to_ms)).flatten()
            })
            .with_context(|| format!("no {p} latency in wrk output:\n{text}"))
    };
    Ok(WrkRun { rps, p50: pct("50%")?, p99: pct("99%")? })
}

/// Runs `wrk` for `secs` seconds.
pub fn wrk(threads: usize, conns: usize, secs: u64, script: &Path, url: &str) -> anyhow::Result<(WrkRun, String)> {
    let mut c = Command::new("wrk");
    c.arg(format!("-t{threads}"))
        .arg(format!("-c{conns}"))
        .arg(format!("-d{secs}s"))
        .arg("--timeout")
        .arg("5s")
        .arg("--latency")
        .arg("-s")
        .arg(script)
        .arg(url);
    let shown = show(&c);
    let out = run_bounded(c, Duration::from_secs(secs + 15))?;
    Ok((parse_wrk(&String::from_utf8_lossy(&out.stdout))?, shown))
}

/// An HTTPS client for ARM over one kept-alive connection.
struct Https {
    conn: Conn,
    bearer: String,
}

impl Https {
    async fn call(&mut self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let auth = self.bearer.clone();
        let mut headers = vec![("authorization", auth.as_str())];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        let b = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let r = self.conn.send(method, &format!("{path}{sep}{API}"), &headers, b).await?;
        if !(200..300).contains(&r.status) {
            bail!("{method} {path}: {} {}", r.status, String::from_utf8_lossy(&r.body));
        }
        Ok(r.json())
    }
}

/// A plan and a site in a resource group, through ARM over HTTPS (the real client path).
async fn make_site(h: &mut Https, sub: &str, rg_name: &str) -> anyhow::Result<String> {
    let rg = format!("/subscriptions/{sub}/resourceGroups/{rg_name}");
    h.call("PUT", &rg, Some(json!({"location": "westeurope"}))).await?;
    let plan = format!("{rg}/providers/Microsoft.Web/serverfarms/plan");
    h.call(
        "PUT",
        &plan,
        Some(json!({"location": "westeurope", "kind": "linux", "sku": {"name": "P1v3"}, "properties": {"reserved": true}})),
    )
    .await?;
    let site = format!("{rg}/providers/Microsoft.Web/sites/benchsite");
    h.call(
        "PUT",
        &site,
        Some(json!({"location": "westeurope", "properties": {"serverFarmId": plan,
            "siteConfig": {"linuxFxVersion": "DOCKER|benchacr.azurecr.io/app:v1",
                "appSettings": [{"name": "WEBSITE_PULL_IMAGE_OVER_VNET", "value": "true"}]}}})),
    )
    .await?;
    Ok(site)
}

fn lua(dir: &Path, bearer: &str) -> anyhow::Result<std::path::PathBuf> {
    let path = dir.join("auth.lua");
    std::fs::write(&path, format!("wrk.headers[\"Authorization\"] = \"{bearer}\"\n"))?;
    Ok(path)
}

/// `wrk` with 64 connections: `GET site` on `pullsim serve` vs the bare hello server.
pub async fn load(cfg: &Cfg, out: &mut Vec<Figure>) -> anyhow::Result<()> {
    let dir = cfg.dir("arm")?;
    let state = dir.join("state");
    let ready = dir.join("serve-ready.json");
    let mut serve_cmd = Command::new(&cfg.pullsim);
    serve_cmd
        .args(["serve", "--bind", "127.0.0.1:0", "--quiet", "--state-dir"])
        .arg(&state)
        .arg("--ready-file")
        .arg(&ready);
    let serve_shown = show(&serve_cmd);
    let _serve = Proc::spawn("pullsim serve", serve_cmd, &dir.join("serve.log"))?;
    wait_file(&ready, Duration::from_secs(20))?;
    let ep: Value = serde_json::from_slice(&std::fs::read(&ready)?)?;
    // The bare server presents a certificate from the same CA (serve's state dir).
    let hello_ready = dir.join("hello-ready.json");
    let mut hello_cmd = Command::new(&cfg.me);
    hello_cmd
        .args(["hello-server", "--bind", "127.0.0.1:0", "--ca-dir"])
        .arg(&state)
        .arg("--ready-file")
        .arg(&hello_ready);
    let hello_shown = show(&hello_cmd);
    let _hello = Proc::spawn("hello-server", hello_cmd, &dir.join("hello.log"))?;
    wait_file(&hello_ready, Duration::from_secs(20))?;
    let hello_url = serde_json::from_slice::<Value>(&std::fs::read(&hello_ready)?)?["url"]
        .as_str()
        .context("hello url")?
        .to_string();

    let base = ep["arm_url"].as_str().context("arm_url")?.trim_end_matches('/').to_string();
    let addr: SocketAddr = base.trim_start_matches("https://").parse()?;
    let tls = Ca::load_or_generate(&state)?.client_config()?;
    let mut conn = Conn::open(None, addr, "localhost", tls).await?;
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fmanagement.core.windows.net%2F%2F.default",
        ep["client_id"].as_str().unwrap_or_default(),
        ep["client_secret"].as_str().unwrap_or_default()
    );
    let tenant = ep["tenant_id"].as_str().unwrap_or_default();
    let t = conn
        .send(
            "POST",
            &format!("/{tenant}/oauth2/v2.0/token"),
            &[("content-type", "application/x-www-form-urlencoded")],
            Bytes::from(form),
        )
        .await?;
    let token = t.json()["access_token"].as_str().with_context(|| format!("no token: {}", t.status))?.to_string();
    let mut h = Https { conn, bearer: format!("Bearer {token}") };
    let sub = ep["subscription_id"].as_str().unwrap_or_default().to_string();
    let site = make_site(&mut h, &sub, "benchrg").await?;
    let body = h.call("GET", &site, None).await?;
    let site_bytes = body.to_string().len();
    let script = lua(&dir, &h.bearer)?;
    let url = format!("{base}{site}?{API}");

    let (secs, n) = (cfg.n(2, 1) as u64, cfg.n(15, 3));
    let (mut rps, mut p99, mut hrps, mut hp99) = (vec![], vec![], vec![], vec![]);
    let (mut cmd_p, mut cmd_h) = (String::new(), String::new());
    tokio::task::block_in_place(|| -> anyhow::Result<()> {
        wrk(2, 64, 1, &script, &url)?; // warm-up
        wrk(2, 64, 1, &script, &hello_url)?;
        for _ in 0..n {
            let (a, c) = wrk(2, 64, secs, &script, &url)?;
            let (b, d) = wrk(2, 64, secs, &script, &hello_url)?;
            rps.push(a.rps);
            p99.push(a.p99);
            hrps.push(b.rps);
            hp99.push(b.p99);
            (cmd_p, cmd_h) = (c, d);
        }
        Ok(())
    })?;
    let ratio = Summary::of(&rps).median / Summary::of(&hrps).median;
    let how = format!(
        "wrk (Debian) with 2 threads and 64 kept-alive HTTPS connections, {secs} s per sample, {n} samples alternating \
         with the peer after a 1 s warm-up of each; the Lua script sets `Authorization: Bearer <token>` (a token from \
         pullsim's identity endpoint). Target: `pullsim serve` (release, state dir) answering GET site (a Linux site \
         with a plan, {site_bytes} B of JSON) — token verification (ES256), api-version, route, store read, render. \
         Both servers are separate processes with tokio's default 2 workers, TLS 1.3 with an ECDSA P-256 leaf from the \
         same CA, ring provider; wrk shares the 2 cores."
    );
    out.push(
        Figure::new("3 ARM", "arm.get_site.rps", "req/s", Better::Higher, rps)
            .method(how.clone(), format!("{serve_shown}; {cmd_p}"))
            .peer(
                "bare hyper/rustls hello-world (11 B body)",
                format!("{hello_shown}; {cmd_h}"),
                hrps,
                "pullsim / bare hyper",
            )
            .goal("ARM ≥ 0.5× bare hyper", ratio, 0.5, true),
    );
    out.push(
        Figure::new("3 ARM", "arm.get_site.p99", "ms", Better::Lower, p99)
            .method(format!("The p99 latency wrk reports for the same runs. {how}"), cmd_p)
            .peer("bare hyper/rustls hello-world", cmd_h, hp99, "pullsim p99 / bare p99"),
    );
    Ok(())
}

/// A copy of every resource under `rg_key` with the recipe number replaced by `i`.
fn renumbered(template: &[String], i: usize) -> Vec<Value> {
    template
        .iter()
        .filter_map(|t| {
            let n = format!("{i:06}");
            let s = t
                .replace("bench-000000", &format!("bench-{n}"))
                .replace("benchacr000000", &format!("benchacr{n}"))
                .replace("benchweb000000", &format!("benchweb{n}"));
            serde_json::from_str(&s).ok()
        })
        .collect()
}

/// Fills `store` up to `n` resources with renumbered copies of `template`.
fn fill(store: &Store, template: &[String], n: usize) -> anyhow::Result<()> {
    let mut i = 1;
    while store.len() < n {
        let want = n - store.len();
        let mut batch = Vec::new();
        while batch.len() < want.min(5000) {
            let mut copy = renumbered(template, i);
            i += 1;
            copy.truncate(want.min(5000) - batch.len());
            batch.extend(copy);
        }
        store
            .transact(|tx| {
                for v in batch {
                    tx.put(v);
                }
                Ok::<_, StoreError>(())
            })
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    anyhow::ensure!(store.len() == n, "filled to {} not {n}", store.len());
    Ok(())
}

/// One store size's samples: size, in-process µs, HTTPS p50 and p99 ms, wrk command, fill seconds.
type SizeResult = (usize, Vec<f64>, Vec<f64>, Vec<f64>, String, f64);

/// `GET site` latency with 10, 1,000 and 100,000 resources in the store.
pub async fn growth(cfg: &Cfg, out: &mut Vec<Figure>) -> anyhow::Result<()> {
    let dir = cfg.dir("growth")?;
    // The template: one July 2021 recipe built through ARM in a scratch environment.
    let scratch = Env::start(EnvOptions::default()).await?;
    let (r, _) = recipe::build(&scratch, 0, &generate_image(0, 1, 64)).await?;
    let template: Vec<String> =
        scratch.store.scan_prefix(&r.rg.to_ascii_lowercase()).iter().map(Value::to_string).collect();
    let per_recipe = template.len();
    scratch.stop().await;

    let sizes: Vec<usize> = if cfg.quick { vec![10, 1000, 10_000] } else { vec![10, 1000, 100_000] };
    let (n_wrk, n_inproc, calls) = (cfg.n(7, 3), cfg.n(15, 5), 2000);
    let mut results: Vec<SizeResult> = Vec::new();
    for &n in &sizes {
        let env = Env::start(EnvOptions::default()).await?;
        // The site asked for: a plan and a site in their own resource group, through ARM.
        let mut c = ArmClient::new(&env.arm);
        let sub = env.arm.cfg.subscription_id.clone();
        let rg = format!("/subscriptions/{sub}/resourceGroups/target");
        c.ok("PUT", &rg, Some(json!({"location": "westeurope"})))?;
        let plan = format!("{rg}/providers/Microsoft.Web/serverfarms/plan");
        c.ok(
            "PUT",
            &plan,
            Some(json!({"location": "westeurope", "kind": "linux", "sku": {"name": "P1v3"}, "properties": {"reserved": true}})),
        )?;
        let site = format!("{rg}/providers/Microsoft.Web/sites/benchsite");
        c.ok(
            "PUT",
            &site,
            Some(json!({"location": "westeurope", "properties": {"serverFarmId": plan,
                "siteConfig": {"linuxFxVersion": "DOCKER|benchacr.azurecr.io/app:v1"}}})),
        )?;
        let t_fill = Instant::now();
        fill(&env.store, &template, n)?;
        let fill_s = t_fill.elapsed().as_secs_f64();
        // In process: Arm::handle alone, `calls` calls per sample.
        let bearer = format!("Bearer {}", recipe::arm_token(&env.arm));
        let req = ArmRequest::new("GET", &format!("{site}?{API}")).header("authorization", &bearer);
        anyhow::ensure!(env.arm.handle(&req).status == 200, "GET site failed");
        let mut inproc = Vec::new();
        for _ in 0..=n_inproc {
            let t = Instant::now();
            for _ in 0..calls {
                std::hint::black_box(env.arm.handle(&req));
            }
            inproc.push(ms(t.elapsed()) * 1000.0 / calls as f64);
        }
        inproc.remove(0); // warm-up
        // Over HTTPS: wrk with one connection, one request at a time.
        let script = lua(&dir, &bearer)?;
        let url = format!("https://{}{site}?{API}", env.arm_addr);
        let (mut p50, mut p99, mut cmd) = (vec![], vec![], String::new());
        tokio::task::block_in_place(|| -> anyhow::Result<()> {
            wrk(1, 1, 1, &script, &url)?;
            for _ in 0..n_wrk {
                let (r, c) = wrk(1, 1, cfg.n(2, 1) as u64, &script, &url)?;
                p50.push(r.p50);
                p99.push(r.p99);
                cmd = c;
            }
            Ok(())
        })?;
        env.stop().await;
        results.push((n, inproc, p50, p99, cmd, fill_s));
    }
    let (_, base_in, base_50, base_99, _, _) = results[0].clone();
    for (n, inproc, p50, p99, cmd, fill_s) in results {
        let how = format!(
            "A fresh environment whose store holds {n} resources: the asked site (resource group, plan and site created \
             through ARM) plus copies of one July 2021 recipe ({per_recipe} resources: RG, VNET, subnets, registry, \
             private endpoint, NIC, zone, link, zone group, A records, plan, site, config…; built once through ARM, then \
             renumbered and written directly with Store::transact in batches of 5,000 — filling took {fill_s:.1} s)."
        );
        let mut f = Figure::new("7 growth", &format!("growth.get_site.{n}.inproc"), "µs", Better::Lower, inproc).method(
            format!("{how} Sample = mean time of one Arm::handle(GET site) over {calls} calls in process (no TLS, no socket); {n_inproc} samples after one warm-up."),
            "Arm::handle(GET /subscriptions/…/sites/benchsite?api-version=2024-11-01)",
        );
        let mut g = Figure::new("7 growth", &format!("growth.get_site.{n}.https_p50"), "ms", Better::Lower, p50).method(
            format!("{how} Sample = median latency wrk reports with 1 thread and 1 kept-alive HTTPS connection (one request at a time) for {}s; {n_wrk} samples after a 1 s warm-up. p99 medians: {:.3} ms here, {:.3} ms with 10 resources.", cfg.n(2, 1), Summary::of(&p99).median, Summary::of(&base_99).median),
            cmd,
        );
        if n != 10 {
            f = f.peer(
                "the same with 10 resources",
                "growth.get_site.10.inproc",
                base_in.clone(),
                "t(n) / t(10): 1.0 is flat",
            );
            g = g.peer(
                "the same with 10 resources",
                "growth.get_site.10.https_p50",
                base_50.clone(),
                "t(n) / t(10): 1.0 is flat",
            );
        }
        out.push(f);
        out.push(g);
    }
    Ok(())
}
