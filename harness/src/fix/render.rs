//! A diagnosis as text (the end of `explain`, `pullsim fix`) and as JSON (`fix --format
//! json`): the cause, each fix with its `az` commands and scenario diff, or, when no set
//! of modeled knobs fixes the pull, what pullsim does not model.

use std::fmt::Write as _;

use mock_azure::appservice::trace::{Code, RouteKind, Stage};
use serde_json::{Value, json};

use super::Diagnosis;
use super::change::Change;
use super::diff::diff;

fn route_word(r: Option<RouteKind>) -> &'static str {
    match r {
        Some(RouteKind::Vnet) => "vnet",
        Some(RouteKind::Public) => "public",
        None => "no",
    }
}

/// Where the trace shows a stage: the first step of it (1-based), and whether it failed.
fn step_of(d: &Diagnosis, stage: Stage) -> Option<(usize, bool)> {
    d.trace.steps.iter().position(|s| s.stage == stage).map(|i| (i + 1, d.trace.steps[i].failed))
}

/// The cause: what each change of the best fix changes, and where the trace shows it.
/// Opening the registry's public endpoint undoes a private setup rather than repairing
/// it, so the cause comes from the best fix that keeps it closed, when there is one.
pub fn cause_lines(d: &Diagnosis) -> Vec<String> {
    let private = d.fixes.iter().find(|f| !f.changes.iter().any(Change::opens_registry));
    let Some(best) = private.or(d.fixes.first()) else { return Vec::new() };
    best.changes
        .iter()
        .map(|c| {
            let at = match step_of(d, c.stage()) {
                Some((n, false)) => format!("step {n} ({}), marked ✓ above", c.stage().as_str()),
                Some((n, true)) => format!("step {n} ({}), where the pull failed", c.stage().as_str()),
                None => format!("the {} stage, which the pull never reached", c.stage().as_str()),
            };
            format!("{} — {at}", c.now(&d.facts))
        })
        .collect()
}

/// What pullsim does not model that could still matter for this failure.
pub fn not_modeled(code: Option<Code>) -> Vec<&'static str> {
    let mut out = match code {
        Some(Code::ManifestSchema1Unsupported) => vec![
            "the image itself: a Docker schema 1 manifest must be pushed again as schema 2 or OCI (a current docker or buildx, or `az acr import`); pullsim does not rebuild images",
        ],
        Some(Code::ImageReferenceInvalid) => vec![
            "the image reference itself: docker's grammar wants a lowercase repository (`registry/repo:tag` or `@sha256:…`); write it so in linuxFxVersion (`az webapp config container set --container-image-name …`)",
        ],
        Some(Code::NoMatchingPlatform) => {
            vec!["the image itself: it must be built for linux/amd64; pullsim does not rebuild images"]
        }
        Some(Code::ManifestUnknown | Code::BlobUnknown | Code::DigestMismatch) => vec![
            "what your real registry holds: pullsim knows only the images the scenario pushes (push the tag, or name one that exists)",
        ],
        Some(Code::DnsServfail | Code::DnsTimeout | Code::DnsRefused) => vec![
            "a custom DNS server's own configuration (a VM: make it forward privatelink.azurecr.io, or everything, to 168.63.129.16); pullsim does not change it",
        ],
        _ => Vec::new(),
    };
    out.push("NSGs and route tables (UDRs) on the integration subnet, firewalls and proxies outside Azure, and resource types pullsim does not model");
    out
}

/// Cause and Fix, as `explain` and `pullsim fix` end.
pub fn text(d: &Diagnosis) -> String {
    let mut out = String::new();
    let causes = cause_lines(d);
    if !causes.is_empty() {
        let _ = writeln!(out, "Cause:");
        for c in causes {
            let _ = writeln!(out, "  {c}");
        }
        let _ = writeln!(out);
    }
    if d.fixes.is_empty() {
        let _ = writeln!(
            out,
            "Fix: none within the settings pullsim models ({} knobs, {} combinations of up to {} tried).",
            d.knobs,
            d.evaluated,
            super::search::MAX_SIZE
        );
        let _ = writeln!(out, "Not modeled, and where the fix may lie:");
        for n in not_modeled(d.code()) {
            let _ = writeln!(out, "  - {n}");
        }
    } else {
        let _ = writeln!(
            out,
            "Fix: the smallest changes that make the pull succeed, fewest first, then least privilege\n\
             (found by the oracle among {} knobs, {} combinations; each confirmed by a real pull):",
            d.knobs, d.evaluated
        );
        for (i, fix) in d.fixes.iter().enumerate() {
            let what: Vec<String> = fix.changes.iter().map(|c| c.describe(&d.facts)).collect();
            let _ = writeln!(out, "{:>2}. {}", i + 1, what.join("\n    and "));
            let _ = writeln!(
                out,
                "    confirmed: the pull then succeeds over the {} route",
                route_word(fix.confirmation.outcome.route)
            );
            let _ = writeln!(out, "    az:");
            for c in &fix.changes {
                for line in c.az(&d.facts) {
                    let _ = writeln!(out, "      {line}");
                }
            }
            match diff(d, fix) {
                Ok(text) => {
                    let _ = writeln!(out, "    scenario:");
                    for l in text.trim_end().lines() {
                        if l.is_empty() {
                            let _ = writeln!(out);
                        } else {
                            let _ = writeln!(out, "      {l}");
                        }
                    }
                }
                Err(why) => {
                    let _ = writeln!(out, "    scenario: {why}");
                }
            }
        }
    }
    for (changes, why) in &d.unconfirmed {
        let what: Vec<String> = changes.iter().map(|c| c.describe(&d.facts)).collect();
        let _ = writeln!(
            out,
            "Note: the oracle predicted that '{}' fixes the pull, but the pull did not confirm it ({why}); \
             please report this disagreement.",
            what.join(" and ")
        );
    }
    out
}

/// The diagnosis as JSON (`pullsim fix --format json`).
pub fn json(d: &Diagnosis) -> Value {
    let fixes: Vec<Value> = d
        .fixes
        .iter()
        .map(|fix| {
            let (diff_text, diff_error) = match diff(d, fix) {
                Ok(t) => (Some(t), None),
                Err(e) => (None, Some(e)),
            };
            json!({
                "changes": fix.changes.iter().map(|c| json!({
                    "change": c.describe(&d.facts),
                    "now": c.now(&d.facts),
                    "stage": c.stage().as_str(),
                    "privilege": c.privilege(),
                })).collect::<Vec<_>>(),
                "privilege": fix.privilege,
                "route": route_word(fix.confirmation.outcome.route),
                "az": fix.changes.iter().flat_map(|c| c.az(&d.facts)).collect::<Vec<_>>(),
                "scenario_diff": diff_text,
                "scenario_diff_error": diff_error,
            })
        })
        .collect();
    json!({
        "failure": {
            "stage": d.stage().map(|s| s.as_str()),
            "code": d.code().map(|c| c.as_str()),
            "route": route_word(d.outcome.route),
        },
        "cause": cause_lines(d),
        "fixes": fixes,
        "not_modeled": if d.fixes.is_empty() { not_modeled(d.code()) } else { Vec::new() },
        "unconfirmed": d.unconfirmed.iter().map(|(c, why)| json!({
            "changes": c.iter().map(|x| x.describe(&d.facts)).collect::<Vec<_>>(), "why": why})).collect::<Vec<_>>(),
        "knobs": d.knobs,
        "evaluated": d.evaluated,
    })
}
