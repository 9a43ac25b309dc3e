//! The command line: arguments ([`Cli`]) and what each command does. `run` finds the
//! scenario files, loads them all (nothing runs until every file is valid), selects,
//! runs them on a backend and reports; `explain` tells one scenario's story; `rules`
//! prints the rule table or the codes; `shell` opens a shell in a scenario's VNET on the
//! docker backend; `serve` is in [`crate::serve`].
//!
//! Exit codes: 0 when every scenario passed or ran, 1 when one failed or errored, 2 for
//! a usage error, an invalid scenario file (nothing runs) or a harness that cannot run
//! (ARCHITECTURE.md).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use mock_azure::appservice::rules::Epoch;

use crate::backends::{Kind, StartOptions};
use crate::report::human::{self, ColorChoice, Style};
use crate::report::{self, Format};
use crate::runner::result::{Summary, Verdict};
use crate::runner::select::{self, Partition, load_all, scenario_files};
use crate::runner::suite::{self, SuiteError, SuiteOptions};
use crate::scenario::Scenario;

/// Reproduce offline whether an Azure App Service can pull its image from a
/// Private-Endpoint Azure Container Registry, and explain why not.
#[derive(Debug, Parser)]
#[command(name = "pullsim", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenario files and folders; check every expectation.
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Tell the story of one scenario's pull: each step, the setting that decided it, the
    /// rule behind it (epoch, source, confidence), and the App Service log lines.
    #[command(after_help = EXPLAIN_EXAMPLES)]
    Explain(ExplainArgs),
    /// The cause of a scenario's failing pull and the smallest changes that fix it: each
    /// found by the oracle, confirmed by a real pull, with the `az` commands for your
    /// resources and the scenario diff; `--write` puts the best one into the file.
    #[command(after_help = FIX_EXAMPLES)]
    Fix(FixArgs),
    /// Read a live site (Azure, or `pullsim serve`) through ARM with your Azure CLI login
    /// and write it as a scenario: everything its image pull depends on, no secrets.
    #[command(after_help = CAPTURE_EXAMPLES)]
    Capture(crate::capture::CaptureArgs),
    /// Deploy an ARM template (yours, `az group export`'s, `az bicep build`'s) into an
    /// embedded fake Azure and write its site as a scenario, as `capture` would read it.
    #[command(after_help = IMPORT_EXAMPLES)]
    Import(crate::import::ImportArgs),
    /// Run a variant of a scenario (`--set PATH=VALUE`, paths as in `unset` and matrix
    /// axes) and show how the verdict changes.
    #[command(after_help = WHATIF_EXAMPLES)]
    Whatif(WhatifArgs),
    /// Print the rule table with sources and confidence, or the stable failure codes.
    #[command(after_help = RULES_EXAMPLES)]
    Rules(RulesArgs),
    /// Start the fake Azure (ARM and identity over HTTPS, DNS, ACR, the App Service
    /// worker) for the Azure CLI, dig and skopeo; optionally with a scenario's topology.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(crate::serve::ServeArgs),
    /// Remove the containers, networks and state directories left by pullsim runs that
    /// are gone (killed, crashed), and pullsim images the current binary no longer uses.
    #[command(after_help = GC_EXAMPLES)]
    Gc(GcArgs),
    /// Check or salvage a state directory's journal (what `serve --state-dir` keeps).
    #[command(subcommand)]
    State(crate::state::StateCommand),
    /// Open a shell in a debug container standing in a scenario's VNET (docker backend),
    /// where the registry's name resolves as the app sees it (docs/azure.md A8).
    #[command(after_help = SHELL_EXAMPLES)]
    Shell(ShellArgs),
    /// Print the JSON Schema of scenario and fixture files (docs/scenario.schema.json),
    /// for editors: taplo, VS Code's Even Better TOML.
    #[command(after_help = SCHEMA_EXAMPLES)]
    Schema,
    /// Run one component of the fake Azure (inside a container of the docker backend).
    #[command(subcommand, hide = true)]
    Component(crate::docker::component::Component),
}

// Examples are printed verbatim (clap does not reflow `after_help`); a test runs every
// `pullsim …` line of every command's help from the repository's root.
const RUN_EXAMPLES: &str = "\
Examples:
  pullsim run scenarios/seed
  pullsim run scenarios/seed/a6-route-all-off-2021-07.toml --format json
  pullsim run scenarios/seed --filter a8 --filter matrix
  pullsim run scenarios/seed --partition 2/4 --format junit
  pullsim run scenarios/seed/matrix-2021-07.toml --rules 2021-07 --color never

Exit status: 0 every scenario passed (or ran without expectation), 1 one failed or
errored, 2 usage error, invalid scenario file (nothing runs) or harness failure.";

const EXPLAIN_EXAMPLES: &str = "\
Examples:
  pullsim explain scenarios/seed/a6-route-all-off-2021-07.toml
  pullsim explain scenarios/seed/a5-a6-route-matrix-2021-07.toml --cell 'route_all=false, pull_over_vnet=true'
  pullsim explain scenarios/seed/a8-private-address-over-vnet.toml --rules 2024-11";

const FIX_EXAMPLES: &str = "\
Examples:
  pullsim fix scenarios/seed/a6-route-all-off-2021-07.toml
  pullsim fix scenarios/seed/common/route-all-only-2024-11.toml --format json
Exit status: 0 a fix was found (or the pull succeeds), 1 no fix within the modeled knobs,
2 usage error or invalid scenario file.";

const CAPTURE_EXAMPLES: &str = "\
Examples (after `az login`; against `pullsim serve`, after its printed az lines):
  pullsim capture --subscription 00000000-0000-4000-8000-000000000001 --resource-group secureacrsetup --site secureacrweb2021 --out captured.toml
  pullsim capture --subscription $SUB --resource-group rg --site app --dns-forwarder 10.0.3.4=168.63.129.16";

const IMPORT_EXAMPLES: &str = "\
Examples:
  pullsim import tests/templates/recipe.json -p registryName=secureacr2021 -p siteName=secureacrweb2021 --out imported.toml
  pullsim import tests/templates/recipe.json -p registryName=secureacr2021 -p siteName=secureacrweb2021 -p pullImageOverVnet=false
(from the repository's root; the second imports a variant that fails at the firewall)
With your own files (`az group export -n RG > exported.json`, `az bicep build`'s JSON):
  pullsim import exported.json --resource-group secureacrsetup --before hub:hub-vnet.json --out imported.toml
  pullsim import main.json --parameters @main.parameters.json --fixture scenarios/fixtures/recipe-2021.toml

Exit status: 0 the scenario was written, 1 a deployment failed (ARM's error, its details,
and each resource the template references without creating it), 2 usage error or
unreadable template or parameters (file:line:column).";

const SCHEMA_EXAMPLES: &str = "\
Examples:
  pullsim schema
Scenario files then name it in their first line: #:schema ./docs/scenario.schema.json
(docs/scenarios.md, \"Editors\").";

const WHATIF_EXAMPLES: &str = "\
Examples:
  pullsim whatif scenarios/seed/a6-route-all-off-2021-07.toml --set site.config.vnetRouteAllEnabled=true
  pullsim whatif scenarios/seed/a8-private-address-over-vnet.toml --set registry.admin_user=false --set rules=2024-11";

const RULES_EXAMPLES: &str = "\
Examples:
  pullsim rules --epoch 2021-07
  pullsim rules --codes
  pullsim rules --format markdown";

const SERVE_EXAMPLES: &str = "\
Examples:
  pullsim serve --load scenarios/fixtures/recipe-2021.toml --bind 127.0.0.1:0
  pullsim serve --bind 127.0.0.1:0 --state-dir ./state --ready-file ./state/ready.json
Then run the printed `az cloud register` / `az login` lines.";

const GC_EXAMPLES: &str = "\
Examples:
  pullsim gc";

const SHELL_EXAMPLES: &str = "\
Examples:
  pullsim shell scenarios/seed/a8-private-address-over-vnet.toml -c 'nslookup secureacr2021.azurecr.io'
  pullsim shell scenarios/seed/a8-private-address-over-vnet.toml";

/// A rules epoch as an argument, its values listed in `--help`.
fn epoch_parser() -> impl TypedValueParser<Value = Epoch> {
    PossibleValuesParser::new(Epoch::ALL.map(Epoch::as_str)).try_map(|s| Epoch::from_str(&s))
}

/// `pullsim run`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Scenario files or folders (default: the project's scenarios/seed, when run inside
    /// the project).
    pub paths: Vec<PathBuf>,
    /// Where the fake Azure runs.
    #[arg(long, value_enum, default_value = "embedded")]
    pub backend: Kind,
    /// (docker) Do not start the pulled image as the app container after a successful
    /// pull (faster; the pull's outcome is the same).
    #[arg(long)]
    pub no_app: bool,
    /// Run every scenario under this rules epoch instead of its own.
    #[arg(long, value_name = "EPOCH", value_parser = epoch_parser())]
    pub rules: Option<Epoch>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Only scenarios whose name or file path contains this text (any case); repeat to
    /// run what matches any.
    #[arg(long, value_name = "TEXT")]
    pub filter: Vec<String>,
    /// Run only the k-th of n parts (1-based), to split a suite across CI runners; a
    /// part may be empty.
    #[arg(long, value_name = "K/N")]
    pub partition: Option<Partition>,
    /// Scenarios run at once (default: the number of CPUs; the docker backend runs one).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// The most one scenario may take, in seconds; past it the scenario errors.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub timeout: u64,
    /// Also look for fixtures here (after the scenario's own folder and those above it);
    /// repeatable.
    #[arg(long, value_name = "DIR")]
    pub fixtures: Vec<PathBuf>,
    /// When to colour the human report (NO_COLOR is honoured by `auto`).
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
}

/// `pullsim explain`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// One scenario file (a matrix: use --cell to pick a cell).
    pub scenario: PathBuf,
    /// For a matrix file: the cell whose name contains this text.
    #[arg(long)]
    pub cell: Option<String>,
    /// Explain under this rules epoch instead of the scenario's own.
    #[arg(long, value_name = "EPOCH", value_parser = epoch_parser())]
    pub rules: Option<Epoch>,
    /// Also look for fixtures here; repeatable.
    #[arg(long, value_name = "DIR")]
    pub fixtures: Vec<PathBuf>,
}

/// How `pullsim fix` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FixFormat {
    /// Text for the terminal.
    #[default]
    Human,
    /// JSON: the cause, each fix with its changes, `az` commands and scenario diff.
    Json,
}

/// `pullsim fix`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct FixArgs {
    /// One scenario file (a matrix: use --cell to pick a cell).
    pub scenario: PathBuf,
    /// For a matrix file: the cell whose name contains this text.
    #[arg(long)]
    pub cell: Option<String>,
    /// Write the best fix into the scenario file (its expectation becomes the confirmed
    /// pull).
    #[arg(long)]
    pub write: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: FixFormat,
    /// Also look for fixtures here; repeatable.
    #[arg(long, value_name = "DIR")]
    pub fixtures: Vec<PathBuf>,
}

/// `pullsim whatif`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct WhatifArgs {
    /// One scenario file (a matrix: use --cell to pick a cell).
    pub scenario: PathBuf,
    /// A change, `PATH=VALUE` (a TOML value, else a string; `unset` removes); repeatable.
    #[arg(long = "set", value_name = "PATH=VALUE", required = true, value_parser = parse_set)]
    pub sets: Vec<(String, String)>,
    /// For a matrix file: the cell whose name contains this text.
    #[arg(long)]
    pub cell: Option<String>,
    /// Also look for fixtures here; repeatable.
    #[arg(long, value_name = "DIR")]
    pub fixtures: Vec<PathBuf>,
}

fn parse_set(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected PATH=VALUE, found '{s}'")),
    }
}

/// How `pullsim rules` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RulesFormat {
    /// Text for the terminal.
    #[default]
    Text,
    /// Markdown: docs/rules.md (rules, codes, log lines).
    Markdown,
}

/// `pullsim rules`' arguments.
#[derive(Debug, Clone, Args)]
pub struct RulesArgs {
    /// Only the rules that hold in this epoch.
    #[arg(long, value_parser = epoch_parser())]
    pub epoch: Option<Epoch>,
    /// List the stable failure codes scenarios match on (`code = …` in `[expect]`).
    #[arg(long, conflicts_with_all = ["epoch", "format"])]
    pub codes: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: RulesFormat,
}

/// `pullsim gc`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct GcArgs {
    /// Remove everything labelled by pullsim, live runs' too, and every pullsim image
    /// (stops other pullsim runs on this engine).
    #[arg(long)]
    pub all: bool,
}

/// `pullsim shell`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct ShellArgs {
    /// One scenario file (a matrix: the first cell, or --cell).
    pub scenario: PathBuf,
    /// Pick a matrix cell by a text its name contains.
    #[arg(long)]
    pub cell: Option<String>,
    /// The VNET to stand in (its name; default: the site's integration VNET).
    #[arg(long)]
    pub vnet: Option<String>,
    /// Run this command (with busybox's sh) instead of an interactive shell.
    #[arg(short = 'c', long = "command")]
    pub command: Option<String>,
}

/// Runs a parsed command line; returns the exit code.
pub async fn execute(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Run(args) => run(args).await,
        Command::Explain(args) => explain(args).await,
        Command::Fix(args) => fix(args).await,
        Command::Whatif(args) => whatif(args).await,
        Command::Capture(args) => crate::capture::run(args).await,
        Command::Import(args) => crate::import::run(args).await,
        Command::Schema => {
            let text = serde_json::to_string_pretty(&crate::scenario::json_schema())?;
            println!("{text}");
            Ok(0)
        }
        Command::Rules(args) => {
            if args.codes {
                print!("{}", report::rules::codes_table());
            } else if args.format == RulesFormat::Markdown {
                print!("{}", report::rules::markdown());
            } else {
                print!("{}", report::rules::rules_table(args.epoch));
            }
            Ok(0)
        }
        Command::Serve(args) => crate::serve::run(args, crate::shutdown::on_signals()).await.map(|()| 0),
        #[cfg(not(feature = "docker"))]
        Command::Gc(_) | Command::Shell(_) => Err(crate::backends::without_docker()),
        #[cfg(feature = "docker")]
        Command::Gc(args) => {
            let docker = crate::docker::host::run::connect().await?;
            let exe = std::env::current_exe()?;
            let keep = crate::docker::host::image::BuildContext::for_binary(&exe).ok().map(|c| c.hash().to_string());
            let removed = crate::docker::host::run::gc(&docker, args.all, keep.as_deref()).await?;
            println!("pullsim gc: {removed}");
            Ok(0)
        }
        Command::State(c) => crate::state::run(c),
        #[cfg(feature = "docker")]
        Command::Shell(args) => shell(args).await,
        Command::Component(c) => crate::docker::component::run(c).await,
    }
}

/// The project's `scenarios/seed`, when the current directory is inside the project.
fn default_paths() -> anyhow::Result<Vec<PathBuf>> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    for dir in cwd.ancestors() {
        let seed = dir.join("scenarios/seed");
        if seed.is_dir() && dir.join("scenarios/fixtures").is_dir() {
            return Ok(vec![crate::scenario::relative_to(&cwd, &seed)]);
        }
    }
    bail!(
        "no scenario given, and {} is not inside a pullsim project (no scenarios/seed here or above); \
         pass the scenario files or folders to run, e.g. `pullsim run path/to/scenarios`",
        cwd.display()
    )
}

/// `pullsim run`.
pub async fn run(args: RunArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let style = Style::detect(args.color);
    let paths = if args.paths.is_empty() { default_paths()? } else { args.paths.clone() };
    let files = scenario_files(&paths)?;
    let mut scenarios = match load_all(&files, &args.fixtures, use_color_on_stderr(args.color)) {
        Ok(s) => s,
        Err(e) => {
            eprint!("{}", e.rendered);
            bail!("invalid scenario files ({} error{}); nothing was run", e.count, if e.count == 1 { "" } else { "s" });
        }
    };
    scenarios.retain(|s| select::matches(s, &args.filter));
    if let Some(p) = args.partition {
        scenarios = p.of(scenarios);
    }
    if let Some(e) = args.rules {
        for s in &mut scenarios {
            s.rules = Some(e);
        }
    }
    if scenarios.is_empty() {
        eprintln!("pullsim: no scenario selected (filters: {:?}, partition: {:?})", args.filter, args.partition);
    }
    let opts = SuiteOptions {
        kind: args.backend,
        jobs: args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)),
        start: StartOptions { start_app: !args.no_app },
        timeout: Duration::from_secs(args.timeout.max(1)),
    };
    let cancel = crate::shutdown::on_signals();
    let human = args.format == Format::Human;
    let results = suite::run(scenarios, &opts, &cancel, |r| {
        if human {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", human::block(r, style));
        }
    })
    .await;
    let results = match results {
        Ok(r) => r,
        Err(SuiteError::Interrupted) => bail!("interrupted; what the run had made is removed"),
        Err(e) => return Err(e.into()),
    };
    let wall = started.elapsed();
    match args.format {
        Format::Human => print!("{}", human::recap(&results, wall, style)),
        Format::Json => println!("{}", report::json::render(&results, wall)?),
        Format::Junit => print!("{}", report::junit::render(&results, wall)?),
    }
    Ok(if Summary::of(&results, wall).ok() { 0 } else { 1 })
}

fn use_color_on_stderr(choice: ColorChoice) -> bool {
    use std::io::IsTerminal;
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// Loads one file's scenarios and picks one (a matrix: by `cell`, else the only one).
fn one_scenario(path: &Path, cell: Option<&str>, fixtures: &[PathBuf], pick_first: bool) -> anyhow::Result<Scenario> {
    one_scenario_with(path, cell, fixtures, &[], pick_first)
}

/// [`one_scenario`], with `--set` values applied.
fn one_scenario_with(
    path: &Path,
    cell: Option<&str>,
    fixtures: &[PathBuf],
    sets: &[(String, String)],
    pick_first: bool,
) -> anyhow::Result<Scenario> {
    let mut scenarios =
        match select::load_all_with(&[path.to_path_buf()], fixtures, sets, use_color_on_stderr(ColorChoice::Auto)) {
            Ok(s) => s,
            Err(e) => {
                eprint!("{}", e.rendered);
                bail!("{} is not a valid scenario file", path.display());
            }
        };
    if let Some(c) = cell {
        let c = c.to_lowercase();
        scenarios.retain(|s| s.name.to_lowercase().contains(&c));
    }
    match scenarios.len() {
        0 => bail!("no scenario in {} matches the cell '{}'", path.display(), cell.unwrap_or_default()),
        1 => Ok(scenarios.remove(0)),
        _ if pick_first => Ok(scenarios.remove(0)),
        n => bail!(
            "{} holds {n} scenarios (a matrix); pick one with --cell, e.g. --cell '{}'",
            path.display(),
            scenarios[0].cell.iter().map(|(a, v)| format!("{a}={v}")).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// `pullsim explain`: prints the story; exit 0 when the scenario passed or ran.
pub async fn explain(args: ExplainArgs) -> anyhow::Result<u8> {
    let mut s = one_scenario(&args.scenario, args.cell.as_deref(), &args.fixtures, false)?;
    if let Some(e) = args.rules {
        s.rules = Some(e);
    }
    let cancel = crate::shutdown::on_signals();
    let backend = Kind::Embedded.start(&StartOptions::default(), &cancel).await?;
    let r = crate::runner::scenario::run(backend.as_ref(), &s, Instant::now()).await;
    backend.stop().await?;
    print!("{}", report::explain::explain(&r, s.description.as_deref()));
    if r.outcome.as_ref().is_some_and(|o| o.pull == "failure")
        && let Some(d) = crate::fix::diagnose(&s).await?
    {
        print!("\n{}", crate::fix::render::text(&d));
    }
    Ok(match r.verdict {
        Verdict::Passed | Verdict::Ran => 0,
        Verdict::Failed | Verdict::Errored => 1,
    })
}

/// `pullsim fix`: the diagnosis of the scenario's last pull; exit 0 when a fix was found
/// or the pull succeeds, 1 when nothing modeled fixes it.
pub async fn fix(args: FixArgs) -> anyhow::Result<u8> {
    let s = one_scenario(&args.scenario, args.cell.as_deref(), &args.fixtures, false)?;
    let Some(d) = crate::fix::diagnose(&s).await? else {
        match args.format {
            FixFormat::Human => {
                println!("{}: the pull succeeds (or the scenario has no site): nothing to fix.", s.name)
            }
            FixFormat::Json => println!("{}", serde_json::json!({"failure": null, "fixes": []})),
        }
        return Ok(0);
    };
    match args.format {
        FixFormat::Human => {
            println!("{}  [rules {}]", s.name, s.epoch());
            println!(
                "The pull fails at {} with {}.\n",
                d.stage().map(|x| x.as_str()).unwrap_or("?"),
                d.code().map(|c| c.as_str()).unwrap_or_default()
            );
            print!("{}", crate::fix::render::text(&d));
        }
        FixFormat::Json => println!("{}", serde_json::to_string_pretty(&crate::fix::render::json(&d))?),
    }
    if args.write {
        let all = load_all(std::slice::from_ref(&args.scenario), &args.fixtures, false).map(|v| v.len()).unwrap_or(0);
        crate::fix::write::check_writable(all)?;
        let best = d.fixes.first().context("no fix to write")?;
        crate::fix::write::write(&args.scenario, &d, best)?;
        eprintln!("pullsim: wrote fix 1 into {}", args.scenario.display());
    }
    Ok(if d.fixes.is_empty() { 1 } else { 0 })
}

/// `pullsim whatif`: the scenario and its variant, their verdicts side by side.
pub async fn whatif(args: WhatifArgs) -> anyhow::Result<u8> {
    let before = one_scenario(&args.scenario, args.cell.as_deref(), &args.fixtures, false)?;
    let after = one_scenario_with(&args.scenario, args.cell.as_deref(), &args.fixtures, &args.sets, false)?;
    let b = crate::runner::scenario::run_embedded(&before).await?;
    let a = crate::runner::scenario::run_embedded(&after).await?;
    print!("{}", crate::fix::whatif::compare(&args.sets, &b, &a));
    Ok(0)
}

#[cfg(feature = "docker")]
/// `pullsim shell`: builds a scenario's topology on the docker backend and opens a shell
/// (or runs `command`) in a debug container standing in its VNET; removes everything
/// when the shell ends, on failure and on Ctrl-C or SIGTERM.
pub async fn shell(args: ShellArgs) -> anyhow::Result<u8> {
    let s = one_scenario(&args.scenario, args.cell.as_deref(), &[], true)?;
    let cancel = crate::shutdown::on_signals();
    let backend = crate::docker::host::DockerBackend::start(false).await?;
    let work = shell_in(&backend, &s, args.vnet.as_deref(), args.command.as_deref());
    let outcome = tokio::select! {
        r = work => r,
        _ = cancel.cancelled() => Err(anyhow::anyhow!("interrupted")),
    };
    let removed = crate::backend::Backend::stop(Box::new(backend)).await;
    let code = outcome?;
    removed.context("removing the docker environment")?;
    Ok(code)
}

#[cfg(feature = "docker")]
async fn shell_in(
    backend: &crate::docker::host::DockerBackend,
    s: &Scenario,
    vnet: Option<&str>,
    command: Option<&str>,
) -> anyhow::Result<u8> {
    let env = backend.env();
    let site = crate::runner::scenario::build(backend, s).await.map_err(|e| anyhow::anyhow!("{e}"))?;
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
}
