//! JUnit XML through `quick-junit` (which escapes what XML 1.0 allows and drops what it
//! forbids): one `<testsuite>` per scenario file, one `<testcase>` per scenario (a
//! matrix cell each). A failed scenario is a `<failure>`, an errored one an `<error>`
//! (its type: Azure's code, or the kind of problem); their text holds the expectations
//! that did not hold or the error, then the pull's trace; the App Service log is the
//! test's `<system-out>`. Times are wall times: a suite's is from its first scenario's
//! start to its last one's end, the report's the whole run's.

use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::runner::result::{ErrorKind, ScenarioResult, Verdict};

/// A JUnit class name for a scenario file: its path without `.toml`, with no dot left
/// (Jenkins and others take the text after the last dot as the class: a path's dots
/// would split it wrongly).
pub fn classname(file: &str) -> String {
    let path = file.strip_prefix("./").unwrap_or(file);
    let path = path.strip_suffix(".toml").unwrap_or(path);
    path.replace('.', "_")
}

fn trace_text(r: &ScenarioResult) -> String {
    let mut out = String::new();
    if r.trace.steps.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\nTrace of the last pull (rules {}):", r.rules);
    for (i, s) in r.trace.steps.iter().enumerate() {
        let mark = if s.failed { "✗" } else { "✓" };
        let _ = writeln!(out, "{:>2}. {mark} {:<8} {}", i + 1, s.stage.as_str(), s.summary);
        if let Some(d) = &s.decided_by {
            let _ = writeln!(out, "             decided by: {d}");
        }
    }
    out
}

fn case(r: &ScenarioResult) -> TestCase {
    let status = match r.verdict {
        Verdict::Passed | Verdict::Ran => TestCaseStatus::success(),
        Verdict::Failed => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(r.failures.first().map(String::as_str).unwrap_or("an expectation did not hold"));
            s.set_type("expectation");
            s.set_description(format!("{}\n{}", r.failures.join("\n"), trace_text(r)));
            s
        }
        Verdict::Errored => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            let (message, ty) = match &r.error {
                Some(e) => (
                    e.to_string(),
                    e.code.clone().unwrap_or_else(|| {
                        match e.kind {
                            ErrorKind::ArmRefused => "arm_refused",
                            ErrorKind::RegistryRefused => "registry_refused",
                            ErrorKind::Harness => "harness",
                            ErrorKind::Timeout => "timeout",
                        }
                        .to_string()
                    }),
                ),
                None => ("the scenario did not run to its end".to_string(), "harness".to_string()),
            };
            s.set_message(message.clone());
            s.set_type(ty);
            s.set_description(format!("{message}\n{}", trace_text(r)));
            s
        }
    };
    let mut c = TestCase::new(r.name.clone(), status);
    c.set_classname(classname(&r.file));
    c.set_time(Duration::from_secs_f64(r.duration_ms / 1000.0));
    c.add_property(("rules", r.rules.as_str()));
    c.add_property(("verdict", r.verdict.label()));
    let mut out = String::new();
    if let Some(o) = &r.outcome {
        let _ = writeln!(out, "Outcome: {}", o.describe());
        if let Some(m) = &o.message {
            let _ = writeln!(out, "What Azure shows: {m}");
        }
    }
    if !r.log.is_empty() {
        let _ = writeln!(out, "App Service docker log:");
        for l in &r.log {
            let _ = writeln!(out, "  {l}");
        }
    }
    if !out.is_empty() {
        c.set_system_out(out);
    }
    c
}

/// The JUnit XML of `results`, run in `wall` time.
pub fn render(results: &[ScenarioResult], wall: Duration) -> Result<String, quick_junit::SerializeError> {
    let mut report = Report::new("pullsim");
    report.set_time(wall);
    let mut files: Vec<&str> = Vec::new();
    for r in results {
        if !files.contains(&r.file.as_str()) {
            files.push(&r.file);
        }
    }
    for file in files {
        let of_file: Vec<&ScenarioResult> = results.iter().filter(|r| r.file == file).collect();
        let mut suite = TestSuite::new(file);
        let start = of_file.iter().map(|r| r.started_ms).fold(f64::INFINITY, f64::min);
        let end = of_file.iter().map(|r| r.started_ms + r.duration_ms).fold(0.0, f64::max);
        suite.set_time(Duration::from_secs_f64(((end - start) / 1000.0).max(0.0)));
        suite.add_test_cases(of_file.into_iter().map(case));
        report.add_test_suite(suite);
    }
    report.to_string()
}
