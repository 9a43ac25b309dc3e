//! The cause of a failing pull and the smallest changes that fix it: the **Cause** and
//! **Fix** that end `pullsim explain`, `pullsim fix` and `pullsim whatif`.
//!
//! A diagnosis builds the scenario as its last pull sees it, reads what exists
//! ([`facts`]), lists every modeled knob that could matter ([`knobs`]), searches the
//! minimal sets of them the oracle says make the pull succeed ([`search`], on scratch
//! copies of the store through a real ARM), ranks them (fewest changes, then least
//! privilege), and has the mechanism confirm each with a real pull (`confirm`). Each
//! fix carries the `az` commands that apply it to the user's resources and the scenario
//! diff ([`change`]); [`render`] prints them, [`write`] merges one into the scenario file.
//!
//! # Layout
//! - `facts`: what the search needs of a configuration, read from the store's JSON.
//! - `catalog`: what the registries hold, for the oracle.
//! - `change`: one knob turned — ARM requests, `az` commands, scenario diff, privilege.
//! - `knobs`: the changes worth trying for a configuration.
//! - `search`: the oracle over scratch stores; minimal fixes, ranked.
//! - `confirm`: a fix applied to a live environment and pulled for real.
//! - `diff`: a fix as a scenario diff (TOML, or steps).
//! - `render`: Cause and Fix as text and JSON.
//! - `merge`: TOML merged as the loader merges (on `toml_edit`, comments kept).
//! - `write`: `fix --write`, the diff merged into the file.
//! - `whatif`: `pullsim whatif`, a variant's verdict beside the scenario's.

pub mod catalog;
pub mod change;
pub mod confirm;
pub mod diff;
pub mod facts;
pub mod knobs;
pub mod merge;
pub mod render;
pub mod search;
pub mod whatif;
pub mod write;

use mock_azure::appservice::trace::{Code, Outcome, Stage, Trace};

use crate::backend::Backend;
use crate::embedded::EmbeddedBackend;
use crate::scenario::Scenario;
use catalog::Catalog;
use change::Change;
use confirm::{Confirmation, confirm};
use facts::Facts;

/// Fixes confirmed and shown, at most.
pub const MAX_FIXES: usize = 4;

/// One fix: changes that together make the pull succeed, confirmed by a pull.
#[derive(Debug, Clone)]
pub struct Fix {
    /// The changes, in the order they are made.
    pub changes: Vec<Change>,
    /// Sum of the changes' privileges (the rank among fixes of one size).
    pub privilege: u32,
    /// The confirming pull and the requests that made the changes.
    pub confirmation: Confirmation,
}

/// Why a pull failed and what fixes it.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    /// What exists.
    pub facts: Facts,
    /// The failed pull.
    pub outcome: Outcome,
    /// Its trace.
    pub trace: Trace,
    /// Confirmed fixes, best first.
    pub fixes: Vec<Fix>,
    /// Sets the oracle proposed and the pull did not confirm (a disagreement to report).
    pub unconfirmed: Vec<(Vec<Change>, String)>,
    /// Knobs tried.
    pub knobs: usize,
    /// Candidate sets judged by the oracle.
    pub evaluated: usize,
    /// Whether the search stopped at its limit.
    pub truncated: bool,
    /// Whether the scenario has steps (its diff is then written as steps).
    pub has_steps: bool,
}

impl Diagnosis {
    /// The failed stage.
    pub fn stage(&self) -> Option<Stage> {
        self.outcome.stage
    }

    /// The failure's code.
    pub fn code(&self) -> Option<Code> {
        self.outcome.code
    }
}

/// Diagnoses `s`'s last pull on a fresh embedded environment: `None` when it succeeds,
/// has no site, or the scenario cannot be built (its run reports why).
pub async fn diagnose(s: &Scenario) -> anyhow::Result<Option<Diagnosis>> {
    let backend = EmbeddedBackend::start().await?;
    let result = diagnose_on(&backend, s).await;
    Box::new(backend).stop().await?;
    let Some((facts, outcome, trace, resources)) = result? else { return Ok(None) };
    let epoch = s.epoch();
    let catalog = Catalog::of(s);
    let knobs = knobs::candidates(&facts, &catalog);
    let site = facts.site.r.id.clone();
    let found = tokio::task::block_in_place(|| search::search(&resources, &facts, &knobs, &catalog, &site, epoch))?;
    let mut fixes = Vec::new();
    let mut unconfirmed = Vec::new();
    for (changes, _) in found.fixes {
        if fixes.len() >= MAX_FIXES {
            break;
        }
        let c = confirm(s, &facts, &changes, epoch).await?;
        if c.outcome.success {
            let privilege = changes.iter().map(Change::privilege).sum();
            fixes.push(Fix { changes, privilege, confirmation: c });
        } else {
            let why = match (&c.refused, c.outcome.code) {
                (Some(r), _) => r.clone(),
                (None, Some(code)) => format!("the pull still failed with {}", code.as_str()),
                (None, None) => "the pull still failed".to_string(),
            };
            unconfirmed.push((changes, why));
        }
    }
    Ok(Some(Diagnosis {
        facts,
        outcome,
        trace,
        fixes,
        unconfirmed,
        knobs: found.knobs,
        evaluated: found.evaluated,
        truncated: found.truncated,
        has_steps: !s.steps.is_empty(),
    }))
}

type Prepared = (Facts, Outcome, Trace, Vec<serde_json::Value>);

async fn diagnose_on(backend: &EmbeddedBackend, s: &Scenario) -> anyhow::Result<Option<Prepared>> {
    let Ok(Some(site)) = crate::runner::scenario::prepare(backend, s).await else { return Ok(None) };
    let report = backend.pull(&site, s.epoch()).await?;
    if report.outcome.success {
        return Ok(None);
    }
    let resources = backend.env().store.filter(|_, _| true);
    let Some(facts) = Facts::read(&resources, &backend.subscription_id(), &site) else { return Ok(None) };
    Ok(Some((facts, report.outcome, report.trace, resources)))
}
