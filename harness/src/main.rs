//! The `pullsim` command line. The modules live in the library (`src/lib.rs`); this
//! file only parses arguments and sets the exit code: 0 when every expectation holds,
//! 1 when one does not, 2 on usage or infrastructure errors (DESIGN.md).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mock_azure::appservice::rules::Epoch;
use pullsim::cli::Backend;
use pullsim::report::{self, Format, Style};
use pullsim::{cli, serve};

/// Reproduce offline whether an Azure App Service can pull its image from a
/// Private-Endpoint Azure Container Registry, and explain why not.
#[derive(Debug, Parser)]
#[command(name = "pullsim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run scenario files and folders; check every expectation.
    ///
    /// Example:
    ///   pullsim run scenarios/seed
    ///   pullsim run scenarios/seed/route-all-off-2021-07.toml --format json
    ///   pullsim run scenarios/ --filter matrix --partition 1/4 --format junit > report.xml
    Run {
        /// Scenario files or folders (default: scenarios/seed).
        paths: Vec<PathBuf>,
        /// Where the fake Azure runs.
        #[arg(long, value_enum, default_value = "embedded")]
        backend: Backend,
        /// Run every scenario under this rules epoch instead of its own.
        #[arg(long, value_name = "EPOCH")]
        rules: Option<Epoch>,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Only scenarios whose name contains this text.
        #[arg(long)]
        filter: Option<String>,
        /// Run only the k-th of n parts (1-based), to split a suite across CI runners.
        #[arg(long, value_name = "K/N")]
        partition: Option<cli::Partition>,
        /// Scenarios run at once (default: the number of CPUs).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Tell the story of one scenario's pull: each step, the setting that decided it, the
    /// rule behind it (epoch, source, confidence), and the App Service log lines.
    ///
    /// Example:
    ///   pullsim explain scenarios/seed/route-all-off-2021-07.toml
    Explain {
        /// One scenario file (a matrix: use --cell to pick a cell by name).
        scenario: PathBuf,
        /// For a matrix file: the cell whose name contains this text.
        #[arg(long)]
        cell: Option<String>,
        /// Explain under this rules epoch instead of the scenario's own.
        #[arg(long, value_name = "EPOCH")]
        rules: Option<Epoch>,
    },
    /// Print the rule table with sources and confidence.
    ///
    /// Example:
    ///   pullsim rules --epoch 2021-07
    Rules {
        /// Only the rules that hold in this epoch.
        #[arg(long)]
        epoch: Option<Epoch>,
    },
    /// Start the fake Azure (ARM and identity over HTTPS, DNS, ACR, the App Service
    /// worker) for the Azure CLI, dig and skopeo; optionally with a scenario's topology.
    ///
    /// Example:
    ///   pullsim serve --state-dir ./state --ready-file ./state/ready.json
    ///   pullsim serve --load scenarios/fixtures/recipe-2021.toml
    /// then run the printed `az cloud register` / `az login` lines.
    Serve(serve::ServeArgs),
    /// Remove the containers and networks left by pullsim runs that are gone (killed,
    /// crashed), and pullsim images the current binary no longer uses.
    ///
    /// Example:
    ///   pullsim gc
    ///   pullsim gc --all   # also live runs' containers, and every pullsim image
    Gc {
        /// Remove everything labelled by pullsim, live runs' too.
        #[arg(long)]
        all: bool,
    },
    /// Run one component of the fake Azure (inside a container of the docker backend).
    #[command(subcommand, hide = true)]
    Component(pullsim::docker::component::Component),
    /// Start a scenario's topology with Azure DNS in a container on per-VNET Docker
    /// networks; print the networks and addresses; hold until Ctrl-C, then clean up.
    #[command(hide = true)]
    DockerDns {
        /// One scenario file.
        scenario: PathBuf,
    },
}

/// `pullsim docker-dns`: the DNS environment until Ctrl-C or SIGTERM. Every exit path
/// removes what it created: the explicit cleanup below, or the run's drop guard.
async fn docker_dns(path: &std::path::Path) -> anyhow::Result<u8> {
    let scenarios = cli::load_all(&[path.to_path_buf()])?;
    let [scenario] = scenarios.as_slice() else {
        anyhow::bail!("{} must hold exactly one scenario", path.display());
    };
    let docker = pullsim::docker::connect().await?;
    let exe = std::env::current_exe()?;
    let env = tokio::select! {
        env = pullsim::docker::dnsenv::DnsEnv::start(docker, &exe, scenario) => env?,
        _ = shutdown_signal() => return Ok(2),
    };
    println!("run {}", env.run.id());
    for n in &env.networks {
        println!("network {} {} {}", n.name, n.subnet, n.vnet.as_deref().unwrap_or("(public)"));
    }
    for e in env.map.entries() {
        println!("address {} {} -> {}", e.vnet.as_deref().unwrap_or("(public)"), e.ip, e.real);
    }
    println!("ready");
    shutdown_signal().await;
    let removed = env.stop().await?;
    eprintln!("pullsim: {removed}");
    Ok(0)
}

async fn shutdown_signal() {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("PULLSIM_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pullsim: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result: anyhow::Result<u8> = rt.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await.map(|()| 0),
            Command::Rules { epoch } => {
                print!("{}", report::rules_table(epoch));
                Ok(0)
            }
            Command::Run { paths, backend, rules, format, filter, partition, jobs } => {
                let opts =
                    cli::RunOptions { backend, paths, rules, format, filter, partition, jobs, style: Style::detect() };
                cli::run(opts).await
            }
            Command::Explain { scenario, cell, rules } => cli::explain(&scenario, cell.as_deref(), rules).await,
            Command::Gc { all } => {
                let docker = pullsim::docker::connect().await?;
                let exe = std::env::current_exe()?;
                let keep = pullsim::docker::image::BuildContext::for_binary(&exe).ok().map(|c| c.tag());
                let removed = pullsim::docker::gc(&docker, all, keep.as_deref()).await?;
                println!("pullsim gc: {removed}");
                Ok(0)
            }
            Command::Component(c) => pullsim::docker::component::run(c).await,
            Command::DockerDns { scenario } => docker_dns(&scenario).await,
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("pullsim: {e:#}");
            ExitCode::from(2)
        }
    }
}
