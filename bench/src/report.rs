//! `results.json` (every figure with its samples) and `results.md` (the table).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::Cfg;
use crate::stats::{Figure, fmt};

fn sh(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// The run's context: when, where, what versions.
pub fn meta(cfg: &Cfg, sections: &[&str]) -> Value {
    let pkg = |p: &str| {
        let v = sh("dpkg-query", &["-W", "-f=${Version}", p]);
        if v.is_empty() { "not installed".to_string() } else { v }
    };
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    json!({
        "date_utc": time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "git_commit": sh("git", &["rev-parse", "HEAD"]),
        "git_dirty": !sh("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty(),
        "kernel": sh("uname", &["-r"]),
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "loadavg_at_start": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
        "rustc": sh("rustc", &["--version"]),
        "profile": "release (debug = line-tables-only)",
        "peers": {
            "wrk": pkg("wrk"),
            "dnsperf": pkg("dnsperf"),
            "unbound": pkg("unbound"),
            "docker-registry (CNCF distribution)": pkg("docker-registry"),
        },
        "pullsim": cfg.pullsim.display().to_string(),
        "sections": sections,
        "quick": cfg.quick,
        "method": "bench/README.md: ratios against a peer in the same run, warm-up, >= 5 samples (>= 15 for throughput), median and spread, load runs <= 20 s, loopback only",
    })
}

/// One line per figure, for the console.
pub fn line(f: &Figure) -> String {
    match &f.summary {
        None => format!("{:<40} {}", f.name, f.status),
        Some(s) => {
            let mut l = format!("{:<40} median {} {} (p95 {}, n={})", f.name, fmt(s.median), f.unit, fmt(s.p95), s.n);
            if let (Some(p), Some(r)) = (&f.peer, f.ratio) {
                l.push_str(&format!("  peer {} → ratio {:.3}", fmt(p.summary.median), r));
            }
            if let Some(g) = &f.goal {
                l.push_str(&format!("  [{}]", g.margin));
            }
            l
        }
    }
}

/// Writes both files (again after every section, so a failure keeps what was measured).
pub fn write(dir: &Path, meta: &Value, figures: &[Figure], failures: &[String], took: Duration) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let doc = json!({
        "meta": meta,
        "duration_s": took.as_secs_f64(),
        "loadavg_at_end": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
        "failures": failures,
        "figures": figures,
    });
    std::fs::write(dir.join("results.json"), serde_json::to_string_pretty(&doc)? + "\n")?;
    std::fs::write(dir.join("results.md"), markdown(meta, figures, failures, took))?;
    Ok(())
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn markdown(meta: &Value, figures: &[Figure], failures: &[String], took: Duration) -> String {
    let mut md = String::new();
    md.push_str("# pullsim benchmarks (`make bench`)\n\n");
    md.push_str(&format!(
        "Run {} on {} ({} cores, kernel {}), commit {}{}; {:.0} s in all; load average at start {} (the machine is \
         shared: other sessions built and tested during the run). Peers: {}.\n\n",
        meta["date_utc"].as_str().unwrap_or(""),
        meta["cpu"].as_str().unwrap_or(""),
        meta["cores"],
        meta["kernel"].as_str().unwrap_or(""),
        &meta["git_commit"].as_str().unwrap_or("")[..meta["git_commit"].as_str().unwrap_or("").len().min(12)],
        if meta["git_dirty"].as_bool() == Some(true) { " (with uncommitted changes)" } else { "" },
        took.as_secs_f64(),
        meta["loadavg_at_start"].as_str().unwrap_or(""),
        meta["peers"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or(""))).collect::<Vec<_>>().join(", "))
            .unwrap_or_default(),
    ));
    md.push_str(
        "Absolute figures on these shared 2-vCPU machines swing 2–3× between runs; the ratios against the peer \
         measured in the same run are what to compare (bench/README.md). Every sample, the exact command and \
         the peer's samples are in `results.json`.\n\n",
    );
    if let Some(m) = meta["merged"].as_str() {
        md.push_str(&format!("**Merged results:** {m}.\n\n"));
    }
    if quick(meta) {
        md.push_str("**Quick mode: fewer samples and smaller sizes; not results.**\n\n");
    }
    if !failures.is_empty() {
        md.push_str("## Failed sections\n\n");
        for f in failures {
            md.push_str(&format!("- {}\n", cell(f)));
        }
        md.push('\n');
    }
    md.push_str("## Results\n\n");
    md.push_str("| section | figure | median | p95 | IQR (min–max) | n | peer median | ratio | goal |\n");
    md.push_str("|---|---|---|---|---|---|---|---|---|\n");
    for f in figures {
        let (median, p95, spread, n) = match &f.summary {
            Some(s) => (
                format!("{} {}", fmt(s.median), f.unit),
                fmt(s.p95),
                format!("{}–{} ({}–{})", fmt(s.q1), fmt(s.q3), fmt(s.min), fmt(s.max)),
                s.n.to_string(),
            ),
            None => (f.status.clone(), "".into(), "".into(), "0".into()),
        };
        let peer =
            f.peer.as_ref().map(|p| format!("{} ({})", fmt(p.summary.median), cell(&p.name))).unwrap_or_default();
        let ratio = f.ratio.map(|r| format!("{r:.3}")).unwrap_or_default();
        let goal = f
            .goal
            .as_ref()
            .map(|g| format!("{}: {}", if g.met { "✅" } else { "❌" }, cell(&g.margin)))
            .unwrap_or_default();
        md.push_str(&format!(
            "| {} | `{}` | {} | {} | {} | {} | {} | {} | {} |\n",
            cell(&f.section),
            f.name,
            median,
            p95,
            spread,
            n,
            peer,
            ratio,
            goal
        ));
    }
    md.push_str("\n## How each figure was measured\n\n");
    for f in figures {
        md.push_str(&format!(
            "**`{}`** ({}, {} is better). {}",
            f.name,
            f.unit,
            if f.better == crate::stats::Better::Lower { "lower" } else { "higher" },
            f.method
        ));
        if !f.command.is_empty() {
            md.push_str(&format!(" Command: `{}`.", f.command.replace('`', "'")));
        }
        if let Some(p) = &f.peer {
            md.push_str(&format!(" Peer: {} — `{}`.", p.name, p.command.replace('`', "'")));
        }
        if let Some(m) = &f.ratio_meaning {
            md.push_str(&format!(" Ratio: {m}."));
        }
        if !f.notes.is_empty() {
            md.push_str(&format!(" {}", f.notes));
        }
        md.push_str("\n\n");
    }
    md
}

fn quick(meta: &Value) -> bool {
    meta["quick"].as_bool() == Some(true)
}
