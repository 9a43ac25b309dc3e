//! What `pullsim run` and `pullsim explain` do: find scenario files, load them all
//! (nothing runs until every file is valid), select, run concurrently, report in input
//! order.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use anyhow::{Context, bail};
use mock_azure::appservice::rules::Epoch;

use crate::report::{self, Format, Style};
use crate::run::{ScenarioResult, run_scenario};
use crate::scenario::{LoadOptions, Scenario, load};

/// `k/n`: the k-th of n parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// Which part, 1-based.
    pub k: usize,
    /// How many parts.
    pub n: usize,
}

impl FromStr for Partition {
    type Err = String;
    fn from_str(s: &str) -> Result<Partition, String> {
        let bad = || format!("'{s}' is not a partition; write K/N with 1 <= K <= N, e.g. 2/4");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n): (usize, usize) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if n == 0 || k == 0 || k > n {
            return Err(bad());
        }
        Ok(Partition { k, n })
    }
}

/// Options of `pullsim run`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where the scenarios run.
    pub backend: Backend,
    /// (docker) Start the pulled image as the app container after a successful pull.
    pub start_app: bool,
    /// Files and folders.
    pub paths: Vec<PathBuf>,
    /// Epoch override.
    pub rules: Option<Epoch>,
    /// Output format.
    pub format: Format,
    /// Name filter.
    pub filter: Option<String>,
    /// Partition.
    pub partition: Option<Partition>,
    /// Concurrency.
    pub jobs: Option<usize>,
    /// Colours.
    pub style: Style,
}

/// Scenario files under `paths` (folders recursively; `fixtures` folders are fixtures, not
/// scenarios), sorted.
pub fn scenario_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out).with_context(|| format!("reading {}", p.display()))?;
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            bail!("{}: no such file or folder", p.display());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "fixtures") {
                walk(&p, out)?;
            }
        } else if p.extension().is_some_and(|e| e == "toml") {
            out.push(p);
        }
    }
    Ok(())
}

/// Loads every file; all errors of all files are printed before anything runs.
pub fn load_all(files: &[PathBuf]) -> anyhow::Result<Vec<Scenario>> {
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        let mut opts = LoadOptions::default();
        if let Some(dir) = f.parent() {
            opts = opts.with_fixture_dir(dir.join("fixtures"));
            if let Some(up) = dir.parent() {
                opts = opts.with_fixture_dir(up.join("fixtures"));
            }
        }
        opts = opts.with_fixture_dir("scenarios/fixtures");
        match load(f, &opts) {
            Ok(s) => scenarios.extend(s),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        bail!("invalid scenario files; nothing was run:\n{}", errors.join("\n"));
    }
    Ok(scenarios)
}

/// Where scenarios run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Backend {
    /// Every component in this process, on loopback addresses.
    #[default]
    Embedded,
    /// One container per component, a Docker network per VNET (scenarios run one after
    /// the other in one environment, reset between them).
    Docker,
}

/// `pullsim run`: returns the exit code (0 all passed, 1 some failed).
pub async fn run(opts: RunOptions) -> anyhow::Result<u8> {
    let paths = if opts.paths.is_empty() { vec![PathBuf::from("scenarios/seed")] } else { opts.paths.clone() };
    let files = scenario_files(&paths)?;
    let mut scenarios = load_all(&files)?;
    if let Some(f) = &opts.filter {
        scenarios.retain(|s| s.name.contains(f.as_str()));
    }
    if let Some(p) = opts.partition {
        scenarios = scenarios.into_iter().enumerate().filter(|(i, _)| i % p.n == p.k - 1).map(|(_, s)| s).collect();
    }
    if let Some(e) = opts.rules {
        for s in &mut scenarios {
            s.rules = Some(e);
        }
    }
    if scenarios.is_empty() {
        bail!(
            "no scenario matched in {}",
            paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    let jobs = opts.jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)).max(1);
    let each = |r: &ScenarioResult| {
        if opts.format == Format::Human {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", report::human_line(r, opts.style));
        }
    };
    let results = match opts.backend {
        Backend::Embedded => run_all(scenarios, jobs, each).await?,
        Backend::Docker => run_all_docker(scenarios, opts.start_app, each).await?,
    };
    match opts.format {
        Format::Human => println!("{}", report::summary(&results)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&results)?),
        Format::Junit => print!("{}", report::junit(&results)),
    }
    Ok(if results.iter().all(|r| r.passed) { 0 } else { 1 })
}

/// Runs scenarios `jobs` at a time; `each` sees results in input order as they complete.
pub async fn run_all(
    scenarios: Vec<Scenario>,
    jobs: usize,
    mut each: impl FnMut(&ScenarioResult),
) -> anyhow::Result<Vec<ScenarioResult>> {
    let sem = Arc::new(tokio::sync::Semaphore::new(jobs));
    let mut handles = Vec::new();
    for s in scenarios {
        let sem = sem.clone();
        handles.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await;
            run_scenario(&s).await.with_context(|| format!("scenario '{}' ({})", s.name, s.file.display()))
        }));
    }
    let mut results = Vec::new();
    for h in handles {
        let r = h.await.context("a scenario task panicked")??;
        each(&r);
        results.push(r);
    }
    Ok(results)
}

/// Starts a docker environment from this binary, giving up on Ctrl-C or SIGTERM (what
/// was created by then is removed by the run's drop guard).
async fn start_docker_env() -> anyhow::Result<crate::docker::backend::DockerEnv> {
    let docker = crate::docker::connect().await?;
    let exe = std::env::current_exe().context("finding pullsim's own binary")?;
    tokio::select! {
        env = crate::docker::backend::DockerEnv::start(docker, &exe) => env.context("starting the docker environment"),
        _ = crate::docker::component::terminated() => bail!("interrupted while starting the docker environment"),
    }
}

/// `work`, or an error if Ctrl-C or SIGTERM comes first (the caller then cleans up).
async fn until_interrupted<T>(work: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::select! {
        r = work => r,
        _ = crate::docker::component::terminated() => Err(anyhow::anyhow!("interrupted")),
    }
}

/// Runs scenarios one after the other in one docker environment, removed at the end, on
/// failure and on Ctrl-C or SIGTERM.
pub async fn run_all_docker(
    scenarios: Vec<Scenario>,
    start_app: bool,
    mut each: impl FnMut(&ScenarioResult),
) -> anyhow::Result<Vec<ScenarioResult>> {
    let env = start_docker_env().await?;
    let work = async {
        let mut results = Vec::new();
        for s in &scenarios {
            let r = crate::run::run_scenario_docker(&env, s, start_app)
                .await
                .with_context(|| format!("scenario '{}' ({})", s.name, s.file.display()))?;
            each(&r);
            results.push(r);
        }
        Ok::<_, anyhow::Error>(results)
    };
    let outcome = until_interrupted(work).await;
    let removed = env.stop().await;
    let results = outcome?;
    removed.context("removing the docker environment")?;
    Ok(results)
}

/// `pullsim explain`: prints the story; exit 0 when the scenario's expectations hold.
pub async fn explain(path: &Path, cell: Option<&str>, rules: Option<Epoch>) -> anyhow::Result<u8> {
    let mut scenarios = load_all(&[path.to_path_buf()])?;
    if let Some(c) = cell {
        scenarios.retain(|s| s.name.contains(c));
    }
    let mut s = match scenarios.len() {
        0 => bail!("no scenario in {} matches the cell '{}'", path.display(), cell.unwrap_or_default()),
        1 => scenarios.remove(0),
        n => bail!(
            "{} holds {n} scenarios (a matrix); pick one with --cell, e.g. --cell '{}'",
            path.display(),
            scenarios[0].cell.iter().map(|(a, v)| format!("{a}={v}")).collect::<Vec<_>>().join(", ")
        ),
    };
    if let Some(e) = rules {
        s.rules = Some(e);
    }
    let r = run_scenario(&s).await?;
    print!("{}", report::explain(&r, s.description.as_deref()));
    Ok(if r.passed { 0 } else { 1 })
}

/// `pullsim shell`: builds a scenario's topology on the docker backend and opens a shell
/// (or runs `command`) in a debug container standing in its VNET; removes everything
/// when the shell ends, on failure and on Ctrl-C.
pub async fn shell(path: &Path, cell: Option<&str>, vnet: Option<&str>, command: Option<&str>) -> anyhow::Result<u8> {
    let mut scenarios = load_all(&[path.to_path_buf()])?;
    if let Some(c) = cell {
        scenarios.retain(|s| s.name.contains(c));
    }
    let s = scenarios.into_iter().next().with_context(|| format!("no scenario in {}", path.display()))?;
    let env = start_docker_env().await?;
    let work = async {
        let site = crate::run::build_docker(&env, &s).await?;
        env.sync().await?;
        let plan = mock_azure::netplan::Plan::from_store(env.store());
        let key = match vnet {
            Some(name) => plan
                .vnets
                .values()
                .find(|v| v.name.eq_ignore_ascii_case(name))
                .map(|v| v.key.clone())
                .with_context(|| format!("the scenario has no VNET named {name}"))?,
            None => {
                let subnet = site
                    .and_then(|id| env.store().get_key(&id.to_ascii_lowercase()))
                    .and_then(|v| v["properties"]["virtualNetworkSubnetId"].as_str().map(str::to_string))
                    .context("the scenario's site has no VNET integration; pick a VNET with --vnet")?;
                plan.subnet(&subnet).map(|(v, _)| v.key.clone()).context("the integration subnet is not in the plan")?
            }
        };
        let c = env.debug_container(Some(&key)).await?;
        let name = plan.vnets.get(&key).map(|v| v.name.clone()).unwrap_or_default();
        match command {
            Some(cmd) => {
                print!("{}", c.exec(&["/bin/sh", "-c", cmd]).await?);
                Ok(0)
            }
            None => {
                eprintln!(
                    "pullsim: a shell in VNET {name} at {}, resolving through Azure DNS ({}); exit to remove it",
                    c.ip, c.dns
                );
                let id = c.id.clone();
                let status = tokio::task::spawn_blocking(move || {
                    std::process::Command::new("docker").args(["exec", "-it", &id, "/bin/sh"]).status()
                })
                .await?
                .context("running `docker exec -it` (the interactive shell needs the docker CLI)")?;
                Ok(if status.success() { 0 } else { 1 })
            }
        }
    };
    let outcome = until_interrupted(work).await;
    let removed = env.stop().await;
    let code = outcome?;
    removed.context("removing the docker environment")?;
    Ok(code)
}
