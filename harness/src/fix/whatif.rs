//! `pullsim whatif SCENARIO --set PATH=VALUE…`: the scenario and its variant each run on
//! a fresh embedded environment, their verdicts side by side, and the steps of the trace
//! that changed.

use std::fmt::Write as _;

use crate::runner::result::{OutcomeJson, ScenarioResult};

fn verdict(o: Option<&OutcomeJson>) -> String {
    match o {
        Some(o) if o.pull == "success" => format!("pulled over the {} route", o.route.unwrap_or("?")),
        Some(o) => format!(
            "FAILED at {} with {} ({} route)",
            o.stage.unwrap_or("?"),
            o.code.as_deref().unwrap_or("?"),
            o.route.unwrap_or("no")
        ),
        None => "no pull".to_string(),
    }
}

/// The comparison of a scenario's run (`before`) and its variant's (`after`).
pub fn compare(sets: &[(String, String)], before: &ScenarioResult, after: &ScenarioResult) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "What if: {}", sets.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "));
    let (b, a) = (verdict(before.outcome.as_ref()), verdict(after.outcome.as_ref()));
    let _ = writeln!(out, "  now:   {b}");
    let _ = writeln!(out, "  then:  {a}");
    if let Some(e) = &after.error {
        let _ = writeln!(out, "  the variant could not run to its end: {e}");
    }
    let same = before.outcome.as_ref().map(|o| (&o.pull, o.route, o.stage, &o.code))
        == after.outcome.as_ref().map(|o| (&o.pull, o.route, o.stage, &o.code));
    let _ = writeln!(out, "{}", if same { "The verdict does not change." } else { "The verdict changes." });
    let changed: Vec<String> = after
        .trace
        .steps
        .iter()
        .enumerate()
        .filter(|(i, s)| before.trace.steps.get(*i).is_none_or(|b| b.summary != s.summary || b.failed != s.failed))
        .map(|(i, s)| {
            format!("{:>2}. {} {:<8} {}", i + 1, if s.failed { "✗" } else { "✓" }, s.stage.as_str(), s.summary)
        })
        .collect();
    if !changed.is_empty() {
        let _ = writeln!(out, "\nSteps of the variant's pull that differ:");
        for c in changed {
            let _ = writeln!(out, "{c}");
        }
    }
    out
}
