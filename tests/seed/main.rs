//! The seed suite as tests: one test per scenario file of `scenarios/seed` (named after
//! its path, `seed::common::wrong-tag`), so a CI lists which file failed. Each file's
//! scenarios (a matrix's every cell) run on the embedded backend through the library's
//! runner, as `pullsim run` runs them; a test fails with every expectation that did not
//! hold and every error.

use std::path::{Path, PathBuf};
use std::time::Instant;

use libtest_mimic::{Arguments, Failed, Trial};
use pullsim::runner::result::Verdict;

fn seed_files(root: &Path) -> Vec<PathBuf> {
    pullsim::runner::select::scenario_files(&[root.join("scenarios/seed")]).unwrap_or_default()
}

fn run_file(file: &Path) -> Result<(), Failed> {
    let scenarios =
        pullsim::runner::select::load_all(&[file.to_path_buf()], &[], false).map_err(|e| Failed::from(e.rendered))?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let mut problems = Vec::new();
    rt.block_on(async {
        let backend = pullsim::embedded::EmbeddedBackend::start().await?;
        for (i, s) in scenarios.iter().enumerate() {
            if i > 0 {
                pullsim::backend::Backend::reset(&backend).await?;
            }
            let r = pullsim::runner::scenario::run(&backend, s, Instant::now()).await;
            match r.verdict {
                Verdict::Passed => {}
                Verdict::Ran => problems.push(format!("{}: no expectation (a seed scenario states one)", r.name)),
                Verdict::Failed => problems.push(format!("{}:\n  {}", r.name, r.failures.join("\n  "))),
                Verdict::Errored => {
                    problems.push(format!("{}: {}", r.name, r.error.map(|e| e.to_string()).unwrap_or_default()))
                }
            }
        }
        pullsim::backend::Backend::stop(Box::new(backend)).await
    })?;
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n").into()) }
}

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let seed = root.join("scenarios/seed");
    let trials: Vec<Trial> = seed_files(&root)
        .into_iter()
        .map(|f| {
            let rel = f.strip_prefix(&seed).unwrap_or(&f).with_extension("");
            let name = format!("seed::{}", rel.to_string_lossy().replace('/', "::"));
            Trial::test(name, move || run_file(&f))
        })
        .collect();
    if trials.is_empty() {
        eprintln!("no scenario file under {}", seed.display());
        return std::process::ExitCode::FAILURE;
    }
    libtest_mimic::run(&args, trials).exit_code()
}
