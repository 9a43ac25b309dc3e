//! `pullsim state check DIR` and `pullsim state salvage DIR`: what to do with a state
//! directory whose journal `pullsim serve` refused (the logic is in
//! `mock_azure::model::journal`; this is the command line around it).

use std::path::{Path, PathBuf};

use anyhow::Context;
use mock_azure::model::journal::{self, Scan};

/// The `state` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum StateCommand {
    /// Read a state directory's journal wholly and report: records, resources, every
    /// damaged record (record number, byte offset, what was expected), a torn tail.
    /// Exit 0 when `serve` would start on it, 1 when damage stops it.
    ///
    /// Example:
    ///   pullsim state check ./state
    Check {
        /// The state directory (what `serve --state-dir` was given).
        dir: PathBuf,
    },
    /// Write a new journal from every record that reads (an empty record stands for each
    /// one lost, so sequence numbers stay whole) and keep the damaged file beside it as
    /// `journal.damaged-<time>.jsonl`. Also rewrites a journal from before checksums
    /// with checksums. Refused while a server uses the directory.
    ///
    /// Example:
    ///   pullsim state salvage ./state
    Salvage {
        /// The state directory.
        dir: PathBuf,
    },
}

/// Runs a `state` subcommand; the exit code (0 healthy or repaired, 1 damaged).
pub fn run(cmd: StateCommand) -> anyhow::Result<u8> {
    match cmd {
        StateCommand::Check { dir } => {
            let scan = journal::scan(&journal_path(&dir)?)?;
            print!("{}", describe(&scan));
            Ok(if scan.healthy() { 0 } else { 1 })
        }
        StateCommand::Salvage { dir } => {
            journal_path(&dir)?;
            let out = journal::salvage(&dir)?;
            print!("{}", describe(&out.scan));
            match &out.kept {
                None => println!("nothing to salvage: the journal is whole and checksummed"),
                Some(kept) => {
                    println!(
                        "wrote {} with {} records ({} checksummed); {} lost record(s) noted as empty: {}",
                        out.scan.path.display(),
                        out.written + out.gaps.len(),
                        out.written + out.gaps.len(),
                        out.gaps.len(),
                        if out.gaps.is_empty() {
                            "none".to_string()
                        } else {
                            out.gaps.iter().map(|g| format!("seq {g}")).collect::<Vec<_>>().join(", ")
                        }
                    );
                    println!("the journal as it was is kept at {}", kept.display());
                }
            }
            Ok(0)
        }
    }
}

/// The journal of `dir`, which must exist (a typo must not read as an empty journal).
fn journal_path(dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join(journal::FILE);
    anyhow::ensure!(dir.is_dir(), "{} is not a directory", dir.display());
    std::fs::metadata(&path).with_context(|| format!("no journal in {}", dir.display()))?;
    Ok(path)
}

/// The report: one line of totals, then each problem on its own line.
fn describe(s: &Scan) -> String {
    let mut out = format!(
        "{}: {} bytes, {} records ({} without checksum), last sequence number {}, {} resources\n",
        s.path.display(),
        s.size,
        s.records.len(),
        s.legacy,
        s.last_seq,
        s.resources
    );
    for d in &s.damaged {
        out.push_str(&format!("  damaged: {d}\n"));
    }
    if let Some(t) = s.torn {
        out.push_str(&format!(
            "  torn tail: {} bytes at offset {} (an unacknowledged write; the next start cuts it)\n",
            t.len, t.offset
        ));
    }
    out.push_str(if s.healthy() {
        "  healthy: `pullsim serve` starts on it\n"
    } else {
        "  damaged: `pullsim serve` refuses it; `pullsim state salvage` keeps every record that reads\n"
    });
    out
}
