//! What a scenario's run gives: a [`Verdict`], the last pull's outcome, trace and log,
//! each step's result, the expectations that did not hold, and — for a scenario the
//! harness could not finish — the [`ScenarioError`] with Azure's words and the line of
//! the scenario that caused it. Plain data (no backend's types): every report is
//! rendered from it, and the JSON report is it, serialized.

use mock_azure::appservice::trace::{Outcome, RouteKind, Trace};
use serde::{Serialize, Serializer};

use crate::backend::AppOutcome;

/// How a scenario ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every expectation held.
    Passed,
    /// An expectation did not hold.
    Failed,
    /// The scenario could not run to its end: Azure refused its topology or an image,
    /// a component failed, or it timed out. Never reported as a pull outcome.
    Errored,
    /// It ran, but it states no expectation: its outcome is shown, not judged.
    Ran,
}

impl Verdict {
    /// `PASS`, `FAIL`, `ERROR`, `RAN`: the word on report lines.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Passed => "PASS",
            Verdict::Failed => "FAIL",
            Verdict::Errored => "ERROR",
            Verdict::Ran => "RAN",
        }
    }
}

/// The result of one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    /// The scenario's name; for a matrix cell, `<name> [axis=value, …]`.
    pub name: String,
    /// The scenario file, as given on the command line (or found in a given folder).
    pub file: String,
    /// For a matrix cell: its axes' values, in axis order; empty otherwise.
    #[serde(serialize_with = "as_object")]
    pub cell: Vec<(String, String)>,
    /// The backend it ran on.
    pub backend: &'static str,
    /// The rules epoch it ran under.
    pub rules: String,
    /// How it ended.
    pub verdict: Verdict,
    /// `verdict == passed` (the report's contract, docs/report.schema.json).
    pub passed: bool,
    /// The last pull's outcome.
    pub outcome: Option<OutcomeJson>,
    /// The last pull's trace.
    pub trace: Trace,
    /// The last pull's App Service log lines.
    pub log: Vec<String>,
    /// Each `[[step]]` that ran, in order.
    pub steps: Vec<StepResult>,
    /// Each expectation that did not hold, in words.
    pub failures: Vec<String>,
    /// Resources of real Azure types the scenario's steps left in the fake's state that
    /// pullsim keeps opaque (stored, no behaviour): they played no part in the verdict.
    pub unmodelled: Vec<Unmodelled>,
    /// Why the scenario could not run to its end.
    pub error: Option<ScenarioError>,
    /// The app container a successful last pull started (docker backend).
    pub app: Option<AppOutcome>,
    /// When it started, in milliseconds since the run started.
    pub started_ms: f64,
    /// Wall time.
    pub duration_ms: f64,
}

/// A resource pullsim stores without behaviour.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Unmodelled {
    /// Its full type, as ARM lists it.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its resource ID.
    pub id: String,
}

fn as_object<S: Serializer>(cell: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(cell.iter().map(|(k, v)| (k, v)))
}

/// A pull's outcome as the JSON report (docs/report.schema.json) spells it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OutcomeJson {
    /// `success` or `failure`.
    pub pull: &'static str,
    /// `vnet` or `public`.
    pub route: Option<&'static str>,
    /// Failure stage.
    pub stage: Option<&'static str>,
    /// Failure code.
    pub code: Option<String>,
    /// What the user would see.
    pub message: Option<String>,
}

/// `vnet` or `public`, as scenario files and JSON write a route.
pub fn route_word(r: RouteKind) -> &'static str {
    match r {
        RouteKind::Vnet => "vnet",
        RouteKind::Public => "public",
    }
}

impl From<&Outcome> for OutcomeJson {
    fn from(o: &Outcome) -> Self {
        OutcomeJson {
            pull: if o.success { "success" } else { "failure" },
            route: o.route.map(route_word),
            stage: o.stage.map(|s| s.as_str()),
            code: o.code.map(|c| c.as_str()),
            message: o.message.clone(),
        }
    }
}

impl OutcomeJson {
    /// `pulled over the vnet route` or `pull failed at firewall (ACR_FIREWALL_DENIED)`.
    pub fn describe(&self) -> String {
        match (self.pull, self.stage, self.code.as_deref()) {
            ("success", _, _) => format!("pulled over the {} route", self.route.unwrap_or("?")),
            (_, Some(stage), Some(code)) => format!("pull failed at {stage} ({code})"),
            _ => "pull failed".to_string(),
        }
    }
}

/// What a `[[step]]` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// An ARM request.
    Arm,
    /// A restart of the site.
    Restart,
    /// A pull.
    Pull,
}

/// The result of one `[[step]]`.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    /// Its number, from 1, in file order.
    pub step: usize,
    /// What it is.
    pub kind: StepKind,
    /// What it did (`DELETE privateDnsZones/privatelink.azurecr.io`).
    pub what: String,
    /// ARM's status (ARM steps and restarts).
    pub status: Option<u16>,
    /// ARM's `error.code`, if it refused.
    pub code: Option<String>,
    /// ARM's `error.message`, if it refused.
    pub message: Option<String>,
    /// The pull's outcome (pull steps).
    pub outcome: Option<OutcomeJson>,
    /// Whether its expectations held.
    pub passed: bool,
}

/// What kind of problem stopped a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// ARM refused a request that builds the topology (the configuration is one Azure
    /// would refuse).
    ArmRefused,
    /// The registry refused an image (its name, reference or content) or a pull's
    /// request in a way the modeled pull does not cover.
    RegistryRefused,
    /// A component of the fake Azure failed, or the harness could not do its part.
    Harness,
    /// The scenario did not finish within the time allowed.
    Timeout,
}

/// Why a scenario could not run to its end.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioError {
    /// What kind of problem.
    pub kind: ErrorKind,
    /// What the runner was doing (`create registry secureacr2021`, `the pull`).
    pub operation: String,
    /// The HTTP status Azure answered, when Azure refused.
    pub status: Option<u16>,
    /// Azure's error code (`DisablingPublicNetworkAccessNotSupported`), when it gave one.
    pub code: Option<String>,
    /// Azure's message, or the harness's error.
    pub message: String,
    /// The scenario line that caused it.
    pub location: Option<Location>,
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(l) = &self.location {
            write!(f, "{l}: ")?;
        }
        write!(f, "{}", self.operation)?;
        f.write_str(match self.kind {
            ErrorKind::ArmRefused => " refused by ARM",
            ErrorKind::RegistryRefused => " refused by the registry",
            ErrorKind::Timeout => " timed out",
            ErrorKind::Harness => " failed",
        })?;
        match (self.status, &self.code) {
            (Some(s), Some(c)) => write!(f, ": {s} {c}")?,
            (Some(s), None) => write!(f, ": {s}")?,
            (None, Some(c)) => write!(f, ": {c}")?,
            (None, None) => {}
        }
        write!(f, ": {}", self.message)
    }
}

/// A place in a scenario (or its fixture) file, and the key written there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file.
    pub file: String,
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
    /// The key in the scenario's words (`registry`, `step[2]`, `expect`).
    pub key: String,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{} [{}]", self.file, self.line, self.column, self.key)
    }
}

/// The counts of a run and its wall time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// Scenarios run.
    pub total: usize,
    /// Passed.
    pub passed: usize,
    /// Failed (an expectation did not hold).
    pub failed: usize,
    /// Errored (could not run to their end).
    pub errored: usize,
    /// Ran without an expectation.
    pub ran: usize,
    /// Wall time of the whole run (not the sum of the scenarios': they run at once).
    pub duration_ms: f64,
}

impl Summary {
    /// The counts of `results`, run in `wall` time.
    pub fn of(results: &[ScenarioResult], wall: std::time::Duration) -> Summary {
        let count = |v: Verdict| results.iter().filter(|r| r.verdict == v).count();
        Summary {
            total: results.len(),
            passed: count(Verdict::Passed),
            failed: count(Verdict::Failed),
            errored: count(Verdict::Errored),
            ran: count(Verdict::Ran),
            duration_ms: wall.as_secs_f64() * 1000.0,
        }
    }

    /// Whether the run is a success: nothing failed or errored (exit 0).
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.errored == 0
    }
}
