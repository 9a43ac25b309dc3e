//! `pullsim-bench`: the measurements of `make bench` (issue 8), each beside a peer
//! measured in the same run (bench/README.md), written to `bench/results.json` and
//! `bench/results.md`.
//!
//! `bench/run.sh` installs the peer tools, builds this in release, gives it a temporary
//! directory and a PID directory, and stops whatever it started on exit. Run alone:
//! `pullsim-bench run --tmp DIR --pullsim target/release/pullsim [--only a,b] [--quick]`.

mod arm;
mod dns;
mod docker;
mod hello;
mod procs;
mod recipe;
mod registry;
mod report;
mod scenario;
mod startup;
mod stats;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

/// The allocator `pullsim` itself uses (the in-process sections measure its servers).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use stats::Figure;

#[derive(Debug, Parser)]
#[command(name = "pullsim-bench", about = "pullsim's benchmarks, side by side with their peers")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Runs the benchmarks and writes the results.
    Run(RunArgs),
    /// The bare hyper/rustls hello-world peer, as a process.
    HelloServer(hello::HelloArgs),
}

/// Every section, in the order they run.
const SECTIONS: [&str; 11] =
    ["startup", "seed", "scenarios", "matrix", "shared", "layers", "registry", "arm", "growth", "dns", "docker"];

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Sections to run (comma-separated), of: startup, seed, scenarios, matrix, shared,
    /// layers, registry, arm, growth, dns, docker. All when not given.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Fewer samples and smaller sizes, to try the bench out (not for results).
    #[arg(long)]
    quick: bool,
    /// Scratch directory (removed by run.sh).
    #[arg(long)]
    tmp: PathBuf,
    /// The `pullsim` binary (release).
    #[arg(long)]
    pullsim: PathBuf,
    /// Where results.json and results.md go.
    #[arg(long, default_value = "bench")]
    out: PathBuf,
    /// Batch sizes of the `shared` section (default 64,256; quick 16,64).
    #[arg(long, value_delimiter = ',')]
    batch_sizes: Vec<usize>,
    /// Samples per batch size (default 5).
    #[arg(long)]
    batch_samples: Option<usize>,
    /// Keep the figures of the parts not run from the existing results.json (to re-run
    /// one part after a failure).
    #[arg(long)]
    merge: bool,
}

/// What every section needs.
pub struct Cfg {
    /// Fewer samples.
    pub quick: bool,
    /// Scratch directory.
    pub tmp: PathBuf,
    /// `pullsim` binary.
    pub pullsim: PathBuf,
    /// This binary (for `hello-server`).
    pub me: PathBuf,
    /// Batch sizes, if not the default.
    pub batch_sizes: Vec<usize>,
    /// Samples per batch size, if not the default.
    pub batch_samples: Option<usize>,
}

impl Cfg {
    /// `full` samples, or `quick` ones in quick mode.
    pub fn n(&self, full: usize, quick: usize) -> usize {
        if self.quick { quick } else { full }
    }

    /// A new scratch subdirectory.
    pub fn dir(&self, name: &str) -> anyhow::Result<PathBuf> {
        let d = self.tmp.join(name);
        std::fs::create_dir_all(&d)?;
        Ok(d)
    }
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::HelloServer(a) => hello::main(a),
        Cmd::Run(a) => run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pullsim-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(a: RunArgs) -> anyhow::Result<()> {
    let cfg = Cfg {
        quick: a.quick,
        tmp: std::fs::canonicalize(&a.tmp)?,
        pullsim: std::fs::canonicalize(&a.pullsim)?,
        me: std::env::current_exe()?,
        batch_sizes: a.batch_sizes.clone(),
        batch_samples: a.batch_samples,
    };
    let chosen: Vec<&str> =
        SECTIONS.iter().copied().filter(|s| a.only.is_empty() || a.only.iter().any(|o| o == s)).collect();
    for o in &a.only {
        anyhow::ensure!(SECTIONS.contains(&o.as_str()), "unknown section {o}; sections: {}", SECTIONS.join(", "));
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let mut meta = report::meta(&cfg, &chosen);
    let mut figures: Vec<Figure> = Vec::new();
    if a.merge
        && let Ok(text) = std::fs::read_to_string(a.out.join("results.json"))
    {
        let old: serde_json::Value = serde_json::from_str(&text)?;
        meta["merged"] = serde_json::json!(format!(
            "only {} re-run on {}; every other figure is from the run of {} ({:.0} s, load average at start {})",
            chosen.join(", "),
            meta["date_utc"].as_str().unwrap_or(""),
            old["meta"]["date_utc"].as_str().unwrap_or("?"),
            old["duration_s"].as_f64().unwrap_or(0.0),
            old["meta"]["loadavg_at_start"].as_str().unwrap_or("?")
        ));
        let old: Vec<Figure> = serde_json::from_value(old["figures"].clone())?;
        figures.extend(old.into_iter().filter(|f| !chosen.contains(&f.part.as_str())));
    }
    let mut failures = Vec::new();
    let started = Instant::now();
    for s in &chosen {
        let t = Instant::now();
        let before = figures.len();
        eprintln!("== {s}");
        let r = rt.block_on(async {
            match *s {
                "startup" => startup::run(&cfg, &mut figures).await,
                "scenarios" => scenario::single(&cfg, &mut figures).await,
                "seed" => scenario::seed(&cfg, &mut figures).await,
                "matrix" => scenario::matrix(&cfg, &mut figures).await,
                "shared" => scenario::shared(&cfg, &mut figures).await,
                "layers" => scenario::layers(&cfg, &mut figures).await,
                "registry" => registry::run(&cfg, &mut figures).await,
                "arm" => arm::load(&cfg, &mut figures).await,
                "growth" => arm::growth(&cfg, &mut figures).await,
                "dns" => dns::run(&cfg, &mut figures).await,
                "docker" => docker::run(&cfg, &mut figures).await,
                _ => unreachable!("checked above"),
            }
        });
        for f in &mut figures[before..] {
            f.part = s.to_string();
        }
        if let Err(e) = r {
            eprintln!("!! {s} failed: {e:#}");
            failures.push(format!("{s}: {e:#}"));
        }
        eprintln!("== {s} done in {:.1} s", t.elapsed().as_secs_f64());
        report::write(&a.out, &meta, &figures, &failures, started.elapsed())?;
    }
    for f in &figures {
        eprintln!("{}", report::line(f));
    }
    anyhow::ensure!(failures.is_empty(), "{} section(s) failed: {}", failures.len(), failures.join("; "));
    Ok(())
}
