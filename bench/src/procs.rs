//! Processes the bench starts (servers and load generators): each is owned by a guard
//! that stops it on drop, and its PID is written to the PID directory `bench/run.sh`
//! reads on exit, failure and Ctrl-C, so nothing outlives the run even if this process
//! is killed before its guards run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Where PID files go (`$BENCH_PIDS`, set by `bench/run.sh`); none when unset.
fn pid_dir() -> Option<PathBuf> {
    std::env::var_os("BENCH_PIDS").map(PathBuf::from)
}

fn record(pid: u32) {
    if let Some(d) = pid_dir() {
        let _ = std::fs::create_dir_all(&d);
        let _ = std::fs::write(d.join(pid.to_string()), b"");
    }
}

fn forget(pid: u32) {
    if let Some(d) = pid_dir() {
        let _ = std::fs::remove_file(d.join(pid.to_string()));
    }
}

/// A running child, stopped (SIGTERM, then SIGKILL after a grace period) on drop.
pub struct Proc {
    child: Option<Child>,
    /// What it is, for messages.
    pub name: String,
}

impl Proc {
    /// Spawns `cmd` with its output going to `log` (stdout and stderr).
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> anyhow::Result<Proc> {
        let out = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {name} ({cmd:?})"))?;
        record(child.id());
        Ok(Proc { child: Some(child), name: name.into() })
    }

    /// Fails if the process has already exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(c) = self.child.as_mut()
            && let Some(status) = c.try_wait()?
        {
            bail!("{} exited early: {status}", self.name);
        }
        Ok(())
    }

    /// Stops the process now and waits for it.
    pub fn stop(&mut self) {
        let Some(mut c) = self.child.take() else { return };
        let pid = c.id();
        // SIGTERM first so servers remove what they wrote; SIGKILL if they linger.
        let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).stderr(Stdio::null()).status();
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            match c.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() > deadline => {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        forget(pid);
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs a load generator to completion (it bounds itself with its own duration option),
/// killed if it overruns `limit`; returns its output.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> anyhow::Result<Output> {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {cmd:?}"))?;
    let pid = child.id();
    record(pid);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(limit) {
        Ok(out) => out,
        Err(_) => {
            let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
            forget(pid);
            bail!("{cmd:?} overran {limit:?} and was killed");
        }
    };
    forget(pid);
    let out = out?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out)
}

/// Shell-quoted command line, for the results.
pub fn show(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| {
        let a = a.to_string_lossy();
        if a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@,%".contains(c)) {
            a.into_owned()
        } else {
            format!("'{}'", a.replace('\'', "'\\''"))
        }
    }));
    parts.join(" ")
}

/// Waits until `path` exists (polling every 100 µs), up to `limit`.
pub fn wait_file(path: &Path, limit: Duration) -> anyhow::Result<Duration> {
    let start = Instant::now();
    while !path.exists() {
        if start.elapsed() > limit {
            bail!("{} did not appear within {limit:?}", path.display());
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    Ok(start.elapsed())
}

/// A free TCP port on 127.0.0.1 (bound and released; the caller binds it next).
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    let u = std::net::UdpSocket::bind(l.local_addr()?)?;
    let port = u.local_addr()?.port();
    drop(l);
    Ok(port)
}
