//! Holding answers to expectations: a pull to its `expect` (outcome, route, stage, code,
//! message, log lines), an ARM answer to a step's `expect` (status, code, message).
//! Each returns what differs, in words; nothing means the expectation held.

use mock_azure::appservice::worker::PullReport;
use mock_azure::arm::ArmResponse;

use super::result::{OutcomeJson, route_word};
use crate::scenario::{ArmExpect, Expect, PullOutcome};

/// What differs between a pull and its expectation.
pub fn pull(e: &Expect, r: &PullReport, label: &str) -> Vec<String> {
    let mut failures = Vec::new();
    let o = &r.outcome;
    let got = OutcomeJson::from(o);
    let describe = || {
        format!(
            "got {}{}{}{}",
            got.pull,
            got.route.map(|x| format!(", route {x}")).unwrap_or_default(),
            got.stage.map(|x| format!(", stage {x}")).unwrap_or_default(),
            got.code.as_deref().map(|x| format!(", code {x}")).unwrap_or_default(),
        )
    };
    if o.success != (e.pull == PullOutcome::Success) {
        failures.push(format!("{label}: expected {}, {}", e.pull.as_str(), describe()));
    }
    if let Some(route) = e.route
        && o.route != Some(route)
    {
        failures.push(format!("{label}: expected route {}, {}", route_word(route), describe()));
    }
    if let Some(stage) = e.stage
        && o.stage != Some(stage)
    {
        failures.push(format!("{label}: expected stage {}, {}", stage.as_str(), describe()));
    }
    if let Some(code) = e.code
        && o.code != Some(code)
    {
        failures.push(format!("{label}: expected code {}, {}", code.as_str(), describe()));
    }
    if let Some(m) = &e.message {
        let msg = o.message.clone().unwrap_or_default();
        if !msg.contains(m.as_str()) {
            failures.push(format!("{label}: expected the message to contain {m:?}, got {msg:?}"));
        }
    }
    for line in &e.log {
        if !r.log.iter().any(|l| l.contains(line.as_str())) {
            failures.push(format!("{label}: expected a log line containing {line:?}"));
        }
    }
    failures
}

/// ARM's error code and message in an answer (empty when it has none).
pub fn arm_error(r: &ArmResponse) -> (String, String) {
    let body = r.json_body();
    let field = |k: &str| body["error"][k].as_str().unwrap_or_default().to_string();
    (field("code"), field("message"))
}

/// What differs between an ARM answer and a step's expectation (none: it must succeed).
pub fn arm(e: Option<&ArmExpect>, r: &ArmResponse, label: &str) -> Vec<String> {
    let mut failures = Vec::new();
    let (code, message) = arm_error(r);
    let Some(e) = e else {
        if r.status >= 300 {
            failures.push(format!("{label}: expected success, got {} {code}: {message}", r.status));
        }
        return failures;
    };
    match e.status {
        Some(s) if r.status != s => failures.push(format!("{label}: expected status {s}, got {} {code}", r.status)),
        None if r.status >= 300 && e.code.is_none() => {
            failures.push(format!("{label}: expected success, got {} {code}: {message}", r.status));
        }
        _ => {}
    }
    if let Some(c) = &e.code
        && &code != c
    {
        failures.push(format!("{label}: expected code {c}, got {code:?} ({})", r.status));
    }
    if let Some(m) = &e.message
        && !message.contains(m.as_str())
    {
        failures.push(format!("{label}: expected the message to contain {m:?}, got {message:?}"));
    }
    failures
}
