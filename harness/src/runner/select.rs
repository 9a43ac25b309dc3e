//! Which scenarios a run runs: the files under the paths given, loaded all at once
//! (every error of every file before anything runs), then filtered and partitioned.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, bail};

use crate::scenario::{LoadOptions, Scenario, load};

/// Scenario files under `paths` (folders recursively; `fixtures` folders hold fixtures,
/// not scenarios), sorted, each once.
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

/// Invalid scenario files: every error of every file, rendered.
#[derive(Debug, thiserror::Error)]
#[error("invalid scenario files ({count} errors); nothing was run")]
pub struct InvalidFiles {
    /// The errors as a compiler shows them.
    pub rendered: String,
    /// How many.
    pub count: usize,
}

/// Loads every file (fixtures from each file's folder upward, then `fixtures`); all
/// errors of all files are reported before anything runs.
pub fn load_all(files: &[PathBuf], fixtures: &[PathBuf], color: bool) -> Result<Vec<Scenario>, InvalidFiles> {
    load_all_with(files, fixtures, &[], color)
}

/// [`load_all`] with `--set PATH=VALUE`s applied to every file (`pullsim whatif`).
pub fn load_all_with(
    files: &[PathBuf],
    fixtures: &[PathBuf],
    sets: &[(String, String)],
    color: bool,
) -> Result<Vec<Scenario>, InvalidFiles> {
    let mut opts = fixtures.iter().fold(LoadOptions::default(), |o, d| o.with_fixture_dir(d));
    opts.sets = sets.to_vec();
    let mut scenarios = Vec::new();
    let (mut rendered, mut count) = (String::new(), 0);
    for f in files {
        match load(f, &opts) {
            Ok(s) => scenarios.extend(s),
            Err(e) => {
                rendered.push_str(&e.render(color));
                count += e.errors().len();
            }
        }
    }
    if count > 0 {
        return Err(InvalidFiles { rendered, count });
    }
    Ok(scenarios)
}

/// Whether a scenario matches one of the filters (any case, name or file path).
pub fn matches(s: &Scenario, filters: &[String]) -> bool {
    if filters.is_empty() {
        return true;
    }
    let name = s.name.to_lowercase();
    let file = s.file.display().to_string().to_lowercase();
    filters.iter().map(|f| f.to_lowercase()).any(|f| name.contains(&f) || file.contains(&f))
}

/// `k/n`: the k-th of n parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// Which part, 1-based.
    pub k: usize,
    /// How many parts.
    pub n: usize,
}

impl Partition {
    /// The scenarios of this part: every n-th from the k-th, in order.
    pub fn of(self, scenarios: Vec<Scenario>) -> Vec<Scenario> {
        scenarios.into_iter().enumerate().filter(|(i, _)| i % self.n == self.k - 1).map(|(_, s)| s).collect()
    }
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
