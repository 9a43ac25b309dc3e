//! [`Pull`]: one pull of a site's image: how it ended, every step, App Service's log,
//! and `explain`'s story of it.

use mock_azure::appservice::rules::Epoch;
use mock_azure::appservice::trace::{Outcome, Trace};
use mock_azure::appservice::worker::PullReport;

use crate::runner::result::{OutcomeJson, ScenarioResult, Verdict};

/// One pull of a site's image by the modeled App Service platform. A failed pull is a
/// value, not an error: [`Pull::outcome`] says at which stage and with which code.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Pull {
    /// The site's resource ID.
    pub site_id: String,
    /// The rules epoch the pull followed.
    pub rules: Epoch,
    /// How it ended: success, the route, or the failing stage, its stable code and what
    /// Azure shows.
    pub outcome: Outcome,
    /// Every step, with the setting that decided it and the rule behind it.
    pub trace: Trace,
    /// App Service's docker log lines (what `az webapp log tail` shows), without
    /// timestamps.
    pub log: Vec<String>,
    /// The digest of the manifest pulled, on success.
    pub manifest_digest: Option<String>,
    pub(crate) backend: &'static str,
}

impl Pull {
    pub(crate) fn new(site_id: &str, rules: Epoch, backend: &'static str, r: PullReport) -> Pull {
        Pull {
            site_id: site_id.to_string(),
            rules,
            outcome: r.outcome,
            trace: r.trace,
            log: r.log,
            manifest_digest: r.manifest_digest,
            backend,
        }
    }

    /// Whether the image was pulled and every digest verified.
    pub fn succeeded(&self) -> bool {
        self.outcome.success
    }

    /// The IDs of the rules behind the trace's steps, in order (`A5`, `E1`…), as
    /// `pullsim rules` lists them.
    pub fn rules_applied(&self) -> Vec<&'static str> {
        self.trace.steps.iter().filter_map(|s| s.rule).collect()
    }

    /// The pull as `pullsim explain` tells it: each step, the setting that decided it,
    /// the rule behind it with its epochs and source, the outcome, and App Service's log.
    pub fn explain(&self) -> String {
        let name = self.site_id.rsplit('/').next().unwrap_or(&self.site_id);
        let r = ScenarioResult {
            name: format!("Pull of site {name}"),
            file: String::new(),
            cell: Vec::new(),
            backend: self.backend,
            rules: self.rules.to_string(),
            verdict: Verdict::Ran,
            passed: false,
            outcome: Some(OutcomeJson::from(&self.outcome)),
            trace: self.trace.clone(),
            log: self.log.clone(),
            steps: Vec::new(),
            failures: Vec::new(),
            unmodelled: Vec::new(),
            error: None,
            app: None,
            started_ms: 0.0,
            duration_ms: 0.0,
        };
        crate::report::explain::explain(&r, None)
    }
}
