//! Section 5: `pullsim serve --ready-file` from spawn to the ready file, beside the bare
//! hello server started the same way.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::procs::{Proc, show, wait_file};
use crate::stats::{Better, Figure};
use crate::{Cfg, ms};

/// Spawns `cmd` and times it until `ready` exists; stops it.
fn once(name: &str, cmd: Command, ready: &std::path::Path, log: &std::path::Path) -> anyhow::Result<Duration> {
    let _ = std::fs::remove_file(ready);
    let t = Instant::now();
    let mut p = Proc::spawn(name, cmd, log)?;
    let r = wait_file(ready, Duration::from_secs(20));
    let d = t.elapsed();
    if r.is_err() {
        p.check_alive()?;
    }
    r?;
    p.stop();
    Ok(d)
}

/// Median of 20 start-ups of each, interleaved, after one warm-up each.
pub async fn run(cfg: &Cfg, out: &mut Vec<Figure>) -> anyhow::Result<()> {
    let dir = cfg.dir("startup")?;
    let n = cfg.n(20, 5);
    let serve_cmd = |i: usize| {
        let mut c = Command::new(&cfg.pullsim);
        c.args(["serve", "--bind", "127.0.0.1:0", "--quiet", "--ready-file"]).arg(dir.join(format!("serve-{i}.json")));
        c
    };
    let hello_cmd = |i: usize| {
        let mut c = Command::new(&cfg.me);
        c.args(["hello-server", "--bind", "127.0.0.1:0", "--ca-dir"])
            .arg(dir.join(format!("hello-ca-{i}")))
            .arg("--ready-file")
            .arg(dir.join(format!("hello-{i}.json")));
        c
    };
    let serve_shown = show(&serve_cmd(0));
    let hello_shown = show(&hello_cmd(0));
    let (mut serve, mut hello) = (Vec::new(), Vec::new());
    tokio::task::block_in_place(|| -> anyhow::Result<()> {
        for i in 0..=n {
            let s = once("pullsim serve", serve_cmd(i), &dir.join(format!("serve-{i}.json")), &dir.join("serve.log"))?;
            let h = once("hello-server", hello_cmd(i), &dir.join(format!("hello-{i}.json")), &dir.join("hello.log"))?;
            if i > 0 {
                serve.push(ms(s));
                hello.push(ms(h));
            }
        }
        Ok(())
    })?;
    let med = crate::stats::Summary::of(&serve).median;
    out.push(
        Figure::new("5 start-up", "startup.serve_ready", "ms", Better::Lower, serve)
            .method(
                format!(
                    "Wall time from spawning `pullsim serve` (no state dir: a temporary one, CA and token key generated \
                     and written with fsync) to its ready file existing (polled every 100 µs), then SIGTERM. {n} \
                     samples after one warm-up, interleaved with the peer."
                ),
                serve_shown,
            )
            .peer(
                "bare hyper/rustls hello server started the same way (fresh CA dir: CA generated and written, leaf \
                 issued, bind, ready file written atomically)",
                hello_shown,
                hello,
                "pullsim serve / bare server",
            )
            .goal("serve ready ≤ 100 ms", med, 100.0, false),
    );
    Ok(())
}
