//! Running one scenario over any [`Backend`]: build the topology through ARM (and push
//! its images), pull, run the steps, start the app, and hold every answer to its
//! expectation. A problem that stops the scenario becomes its [`ScenarioError`] — never
//! an error of the run: every scenario gets a verdict.

use std::time::{Duration, Instant};

use mock_azure::appservice::worker::PullReport;

use super::check;
use super::origin::{self, DocKey};
use super::result::{ErrorKind, OutcomeJson, ScenarioError, ScenarioResult, StepKind, StepResult, Unmodelled, Verdict};
use super::session::Session;
use crate::backend::Backend;
use crate::scenario::{ArmCall, Scenario, Step, arm_plan};

/// Builds a scenario's topology through ARM (pushing its images, registering its
/// custom DNS servers) on a backend whose Azure is empty, and has the backend serve
/// it; returns the site's ID if the scenario has a site.
pub async fn build(backend: &dyn Backend, s: &Scenario) -> Result<Option<String>, ScenarioError> {
    let session = Session::new(backend, s);
    let sub = backend.subscription_id();
    for step in arm_plan(s, &sub) {
        session.apply(&step).await?;
    }
    backend.settle().await.map_err(|e| session.harness_error("serving the topology", &e, &origin::of_site()))?;
    Ok(site_id(s, &sub))
}

/// Builds `s`'s topology and then sends its control-plane steps (ARM requests and
/// restarts, answers not judged; pulls skipped): the configuration the scenario's last
/// pull sees. For `pullsim serve --load` and `pullsim fix`. Returns the site's ID.
pub async fn prepare(backend: &dyn Backend, s: &Scenario) -> Result<Option<String>, ScenarioError> {
    let site = build(backend, s).await?;
    let session = Session::new(backend, s);
    let sub = backend.subscription_id();
    for (i, step) in s.steps.iter().enumerate() {
        let call = match step {
            Step::Arm(a) => a.call(&sub),
            Step::Restart => match &site {
                Some(id) => ArmCall::new("POST", format!("{id}/restart?api-version=2024-11-01"), None, "restart"),
                None => continue,
            },
            Step::Pull(_) => continue,
        };
        session.send(&call).await.map_err(|e| session.harness_error(&call.what, &e, &origin::of_step(i)))?;
    }
    backend.settle().await.map_err(|e| session.harness_error("serving the topology", &e, &origin::of_site()))?;
    Ok(site)
}

/// Runs `s` on `backend`, whose Azure is empty; `started` is when the suite started (for
/// the result's start time).
pub async fn run(backend: &dyn Backend, s: &Scenario, started: Instant) -> ScenarioResult {
    let t0 = Instant::now();
    let mut r = empty_result(s, backend.name());
    r.started_ms = t0.duration_since(started).as_secs_f64() * 1000.0;
    if let Err(e) = drive(backend, s, &mut r).await {
        r.error = Some(e);
    }
    if s.steps.iter().any(|st| matches!(st, Step::Arm(_))) {
        r.unmodelled = unmodelled(backend).await;
    }
    finish(s, r, t0.elapsed())
}

/// Runs `s` on a fresh embedded environment, stopped afterwards (`pullsim explain`, the
/// benchmarks).
pub async fn run_embedded(s: &Scenario) -> Result<ScenarioResult, crate::backend::BackendError> {
    let backend = crate::embedded::EmbeddedBackend::start().await?;
    let r = run(&backend, s, Instant::now()).await;
    Box::new(backend).stop().await?;
    Ok(r)
}

/// The result of a scenario that did not finish within `limit`.
pub fn timed_out(s: &Scenario, backend: &'static str, limit: Duration, started_ms: f64) -> ScenarioResult {
    let mut r = empty_result(s, backend);
    r.started_ms = started_ms;
    r.error = Some(ScenarioError {
        kind: ErrorKind::Timeout,
        operation: "the scenario".to_string(),
        status: None,
        code: None,
        message: format!("not finished within {} s (--timeout)", limit.as_secs()),
        location: origin::locate(s, &DocKey { top: "name", name: None, index: None, inner: None }),
    });
    finish(s, r, limit)
}

fn empty_result(s: &Scenario, backend: &'static str) -> ScenarioResult {
    ScenarioResult {
        name: s.name.clone(),
        file: s.file.display().to_string(),
        cell: s.cell.clone(),
        backend,
        rules: s.epoch().to_string(),
        verdict: Verdict::Ran,
        passed: false,
        outcome: None,
        trace: Default::default(),
        log: Vec::new(),
        steps: Vec::new(),
        failures: Vec::new(),
        unmodelled: Vec::new(),
        error: None,
        app: None,
        started_ms: 0.0,
        duration_ms: 0.0,
    }
}

/// The verdict, from what happened and what the scenario expects.
fn finish(s: &Scenario, mut r: ScenarioResult, took: Duration) -> ScenarioResult {
    r.duration_ms = took.as_secs_f64() * 1000.0;
    r.verdict = if r.error.is_some() {
        Verdict::Errored
    } else if !r.failures.is_empty() {
        Verdict::Failed
    } else if expects_something(s) {
        Verdict::Passed
    } else {
        Verdict::Ran
    };
    r.passed = r.verdict == Verdict::Passed;
    r
}

/// Whether the scenario states an expectation: `[expect]`, a pull step's `expect`, or an
/// ARM step or restart (which must answer as said, or succeed).
fn expects_something(s: &Scenario) -> bool {
    s.expect.is_some() || s.steps.iter().any(|st| !matches!(st, Step::Pull(None)))
}

fn record(r: &mut ScenarioResult, report: &PullReport) {
    r.outcome = Some(OutcomeJson::from(&report.outcome));
    r.trace = report.trace.clone();
    r.log = report.log.clone();
}

async fn drive(backend: &dyn Backend, s: &Scenario, r: &mut ScenarioResult) -> Result<(), ScenarioError> {
    let session = Session::new(backend, s);
    let epoch = s.epoch();
    let site = build(backend, s).await?;
    let pull = async |label: &str, key: DocKey| -> Result<PullReport, ScenarioError> {
        let Some(site) = &site else {
            return Err(ScenarioError {
                kind: ErrorKind::Harness,
                operation: label.to_string(),
                status: None,
                code: None,
                message: "the scenario has no [site] to pull".to_string(),
                location: origin::locate(s, &key),
            });
        };
        backend.pull(site, epoch).await.map_err(|e| session.harness_error(label, &e, &key))
    };

    let mut last: Option<PullReport> = None;
    if let Some(expect) = &s.expect {
        let report = pull("the pull", origin::of_expect(s)).await?;
        r.failures.extend(check::pull(expect, &report, "the pull"));
        record(r, &report);
        last = Some(report);
    }
    for (i, step) in s.steps.iter().enumerate() {
        let label = format!("step {}", i + 1);
        let key = origin::of_step(i);
        let result = match step {
            Step::Arm(a) => {
                let call = a.call(&backend.subscription_id());
                let answer = match (&a.actor, &site) {
                    (None, _) => session.send(&call).await,
                    (Some(who), Some(site)) => {
                        let token = session.identity_token(who, site, &key).await?;
                        session.send_with(&call, &token).await
                    }
                    (Some(_), None) => {
                        return Err(ScenarioError {
                            kind: ErrorKind::Harness,
                            operation: call.what.clone(),
                            status: None,
                            code: None,
                            message: "a step sent as a managed identity needs the scenario's [site]".to_string(),
                            location: origin::locate(s, &key),
                        });
                    }
                };
                let answer = answer.map_err(|e| session.harness_error(&call.what, &e, &key))?;
                let failures = check::arm(a.expect.as_ref(), &answer, &format!("{label} ({})", call.what));
                arm_step(i, StepKind::Arm, &call, &answer, failures)
            }
            Step::Restart => {
                let Some(id) = &site else { continue };
                let call = ArmCall::new("POST", format!("{id}/restart?api-version=2024-11-01"), None, "restart");
                let answer = session.send(&call).await.map_err(|e| session.harness_error("restart", &e, &key))?;
                let failures = check::arm(None, &answer, &format!("{label} (restart)"));
                arm_step(i, StepKind::Restart, &call, &answer, failures)
            }
            Step::Pull(expect) => {
                let report = pull(&label, key).await?;
                let failures = expect.as_ref().map(|e| check::pull(e, &report, &label)).unwrap_or_default();
                record(r, &report);
                let step = StepResult {
                    step: i + 1,
                    kind: StepKind::Pull,
                    what: "pull".to_string(),
                    status: None,
                    code: None,
                    message: None,
                    outcome: Some(OutcomeJson::from(&report.outcome)),
                    passed: failures.is_empty(),
                };
                last = Some(report);
                (step, failures)
            }
        };
        r.steps.push(result.0);
        r.failures.extend(result.1);
    }
    // A scenario with neither [expect] nor pull steps still pulls once, to show what
    // happens (explain, RAN).
    if last.is_none() && site.is_some() {
        let report = pull("the pull", origin::of_site()).await?;
        record(r, &report);
        last = Some(report);
    }
    if let (Some(report), Some(site)) = (last.as_ref().filter(|p| p.outcome.success), &site) {
        let app = backend.start_app(site, report).await;
        match app.map_err(|e| session.harness_error("starting the app container", &e, &origin::of_site()))? {
            Some(app) if !app.started => {
                r.failures.push(format!("the app container did not start: {}", app.output));
                r.app = Some(app);
            }
            app => r.app = app,
        }
    }
    Ok(())
}

/// The resources of the subscription whose types pullsim keeps opaque (only a
/// scenario's ARM steps can make them). A listing ARM refuses lists nothing: this is a
/// note beside the verdict, not part of it.
async fn unmodelled(backend: &dyn Backend) -> Vec<Unmodelled> {
    let path = format!("/subscriptions/{}/resources?api-version=2021-04-01", backend.subscription_id());
    let req = mock_azure::arm::ArmRequest::new("GET", &path)
        .header("authorization", &format!("Bearer {}", backend.arm_token()));
    let Ok(answer) = backend.arm(&req).await else { return Vec::new() };
    let listed: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    let mut found: Vec<Unmodelled> = listed["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| Some((r["type"].as_str()?, r["id"].as_str()?)))
        .filter(|(t, _)| mock_azure::arm::is_opaque_type(t))
        .map(|(t, id)| Unmodelled { kind: t.to_string(), id: id.to_string() })
        .collect();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found
}

fn arm_step(
    i: usize,
    kind: StepKind,
    call: &ArmCall,
    answer: &mock_azure::arm::ArmResponse,
    failures: Vec<String>,
) -> (StepResult, Vec<String>) {
    let (code, message) = check::arm_error(answer);
    let step = StepResult {
        step: i + 1,
        kind,
        what: call.what.clone(),
        status: Some(answer.status),
        code: (!code.is_empty()).then_some(code),
        message: (!message.is_empty()).then_some(message),
        outcome: None,
        passed: failures.is_empty(),
    };
    (step, failures)
}

/// The resource ID of a scenario's site, if it has one.
pub fn site_id(s: &Scenario, sub: &str) -> Option<String> {
    s.topology.site.as_ref().map(|site| {
        format!(
            "/subscriptions/{sub}/resourceGroups/{}/providers/Microsoft.Web/sites/{}",
            s.topology.resource_group.name, site.name
        )
    })
}
