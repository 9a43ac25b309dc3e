//! `pullsim explain`: a scenario's last pull as a numbered story — each step, the
//! setting that decided it, the rule behind it (epochs, confidence, source) — then the
//! outcome, what Azure shows, the App Service log and what did not hold.

use std::fmt::Write as _;

use mock_azure::appservice::rules::rule;
use mock_azure::appservice::trace::Step;

use super::rules::epochs;
use crate::runner::result::{ScenarioResult, Unmodelled};

/// `explain`: the trace as a numbered story with the rule behind each step, ending with
/// the App Service log lines.
pub fn explain(r: &ScenarioResult, description: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}  [rules {}]", r.name, r.rules);
    if let Some(d) = description {
        for l in d.lines() {
            let _ = writeln!(out, "  {}", l.trim());
        }
    }
    let _ = writeln!(out);
    for (i, s) in r.trace.steps.iter().enumerate() {
        out.push_str(&explain_step(i + 1, s));
    }
    let _ = writeln!(out);
    match &r.outcome {
        Some(o) if o.pull == "success" => {
            let _ = writeln!(out, "Outcome: the image was pulled over the {} route.", o.route.unwrap_or("?"));
        }
        Some(o) => {
            let _ = writeln!(
                out,
                "Outcome: the pull FAILED at {} with {} ({} route).",
                o.stage.unwrap_or("?"),
                o.code.as_deref().unwrap_or("?"),
                o.route.unwrap_or("no")
            );
            if let Some(m) = &o.message {
                let _ = writeln!(out, "What Azure shows: {m}");
            }
        }
        None if r.error.is_some() => {}
        None => {
            let _ = writeln!(out, "Outcome: the scenario has no site to pull.");
        }
    }
    if let Some(e) = &r.error {
        let _ = writeln!(out, "The scenario could not run to its end: {e}");
    }
    if !r.log.is_empty() {
        let _ = writeln!(out, "\nApp Service docker log (what `az webapp log tail` would show):");
        for l in &r.log {
            let _ = writeln!(out, "  {l}");
        }
    }
    out.push_str(&unmodelled(&r.unmodelled));
    if !r.failures.is_empty() {
        let _ = writeln!(out, "\nExpectations that did not hold:");
        for f in &r.failures {
            let _ = writeln!(out, "  - {f}");
        }
    }
    out
}

/// The resources pullsim stores without behaviour, and what of them could matter in
/// Azure: rules of a network security group, a route table's routes or a firewall can
/// still block a pull that passes here.
fn unmodelled(found: &[Unmodelled]) -> String {
    let mut out = String::new();
    if found.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\nNot modelled (stored by the fake ARM, no part in this verdict):");
    for u in found {
        let _ = writeln!(out, "  - {} {}", u.kind, u.id.rsplit('/').next().unwrap_or(&u.id));
        let _ = writeln!(out, "      {}", u.id);
    }
    // Types whose rules sit on a pull's network path in Azure, in words.
    let network = [
        ("Microsoft.Network/networkSecurityGroups", "a network security group's rules"),
        ("Microsoft.Network/routeTables", "a route table's routes"),
        ("Microsoft.Network/azureFirewalls", "a firewall's rules"),
        ("Microsoft.Network/natGateways", "a NAT gateway"),
    ];
    let on_path: std::collections::BTreeSet<&str> = network
        .iter()
        .filter(|(t, _)| found.iter().any(|u| u.kind.eq_ignore_ascii_case(t)))
        .map(|(_, words)| *words)
        .collect();
    if !on_path.is_empty() {
        let words: Vec<&str> = on_path.into_iter().collect();
        let _ = writeln!(
            out,
            "  In Azure, {} can still block a pull that passes here: pullsim does not model them.",
            words.join(", ")
        );
    }
    out
}

fn explain_step(n: usize, s: &Step) -> String {
    let mut out = String::new();
    let mark = if s.failed { "✗" } else { "✓" };
    let _ = writeln!(out, "{n:>2}. {mark} {:<8} {}", s.stage.as_str(), s.summary);
    if let Some(d) = &s.decided_by {
        let _ = writeln!(out, "              decided by: {d}");
    }
    if let Some(r) = s.rule.and_then(rule) {
        let _ = writeln!(out, "              rule {} [{}, epochs {}]: {}", r.id, r.confidence.tag(), epochs(r), r.text);
        let _ = writeln!(out, "              source: {}", r.source);
    }
    out
}
