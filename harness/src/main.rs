//! The `pullsim` binary: parses the command line and sets the exit code; everything else
//! is in the library ([`pullsim::cli`]). 0: every scenario passed or ran; 1: one failed
//! or errored; 2: a usage error, an invalid scenario file, or a harness that cannot run.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: the servers allocate per request on every worker thread, where glibc's
/// allocator contends on its arena locks (profile of issue 8).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("PULLSIM_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = pullsim::cli::Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pullsim: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(pullsim::cli::execute(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("pullsim: {e:#}");
            ExitCode::from(2)
        }
    }
}
