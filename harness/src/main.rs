//! The `pullsim` command line. The modules live in the library (`src/lib.rs`); this
//! file only parses arguments and sets the exit code: 0 when every expectation holds,
//! 1 when one does not, 2 on usage or infrastructure errors (DESIGN.md).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: the servers allocate per request on every worker thread, where glibc's
/// allocator contends on its arena locks (profile of issue 8).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
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
        /// (docker) Do not start the pulled image as the app container after a
        /// successful pull (faster; the pull's outcome is the same).
        #[arg(long)]
        no_app: bool,
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
    /// Check or salvage a state directory's journal (what `serve --state-dir` keeps).
    #[command(subcommand)]
    State(pullsim::state::StateCommand),
    /// Run one component of the fake Azure (inside a container of the docker backend).
    #[command(subcommand, hide = true)]
    Component(pullsim::docker::component::Component),
    /// Open a shell in a debug container standing in a scenario's VNET (docker backend),
    /// where the registry's name resolves as the app sees it (RULES.md A8).
    ///
    /// Example:
    ///   pullsim shell scenarios/seed/a8-private-address-over-vnet.toml
    ///   pullsim shell scenarios/seed/a8-private-address-over-vnet.toml -c 'nslookup secureacr2021.azurecr.io'
    Shell {
        /// One scenario file (a matrix: the first cell, or --cell).
        scenario: PathBuf,
        /// Pick a matrix cell by a text its name contains.
        #[arg(long)]
        cell: Option<String>,
        /// The VNET to stand in (its name; default: the site's integration VNET).
        #[arg(long)]
        vnet: Option<String>,
        /// Run this command (with busybox's sh) instead of an interactive shell.
        #[arg(short = 'c', long = "command")]
        command: Option<String>,
    },
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
            Command::Run { paths, backend, no_app, rules, format, filter, partition, jobs } => {
                let opts = cli::RunOptions {
                    backend,
                    start_app: !no_app,
                    paths,
                    rules,
                    format,
                    filter,
                    partition,
                    jobs,
                    style: Style::detect(),
                };
                cli::run(opts).await
            }
            Command::Explain { scenario, cell, rules } => cli::explain(&scenario, cell.as_deref(), rules).await,
            Command::Gc { all } => {
                let docker = pullsim::docker::connect().await?;
                let exe = std::env::current_exe()?;
                let keep = pullsim::docker::image::BuildContext::for_binary(&exe).ok().map(|c| c.hash().to_string());
                let removed = pullsim::docker::gc(&docker, all, keep.as_deref()).await?;
                println!("pullsim gc: {removed}");
                Ok(0)
            }
            Command::State(c) => pullsim::state::run(c),
            Command::Component(c) => pullsim::docker::component::run(c).await,
            Command::Shell { scenario, cell, vnet, command } => {
                cli::shell(&scenario, cell.as_deref(), vnet.as_deref(), command.as_deref()).await
            }
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
