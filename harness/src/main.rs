//! The `pullsim` command line.
//!
//! The modules live in the library (`src/lib.rs`); this file only parses arguments.

use clap::{Parser, Subcommand};
use pullsim::serve;

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
    /// Start the fake Azure (ARM and identity over HTTPS) for the Azure CLI, SDKs and scripts.
    ///
    /// Example:
    ///   pullsim serve --state-dir ./state --ready-file ./state/ready.json
    /// then run the printed `az cloud register` / `az login` lines.
    Serve(serve::ServeArgs),
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("PULLSIM_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pullsim: cannot start the runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pullsim: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
