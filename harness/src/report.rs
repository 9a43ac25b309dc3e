//! Reports of a run: human (colours only on a terminal, never with `NO_COLOR`), JSON
//! (DESIGN.md's contract, one object per scenario), JUnit XML; `explain`'s numbered
//! story; `rules`' table.

use std::fmt::Write as _;

use mock_azure::appservice::rules::{Epoch, RULES, Rule, rule};
use mock_azure::appservice::trace::Step;

use crate::run::ScenarioResult;

/// Output format of `pullsim run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Lines for people, ending with `N passed, N failed`.
    Human,
    /// A JSON array of results.
    Json,
    /// JUnit XML for CI systems.
    Junit,
}

/// ANSI colours, or none.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    on: bool,
}

impl Style {
    /// Colours when stdout is a terminal and `NO_COLOR` is not set.
    pub fn detect() -> Style {
        use std::io::IsTerminal;
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style { on: std::io::stdout().is_terminal() && !no_color }
    }

    /// No colours.
    pub fn plain() -> Style {
        Style { on: false }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.on { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
    }

    fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }

    fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }

    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
}

/// One scenario's line(s) as the run goes.
pub fn human_line(r: &ScenarioResult, style: Style) -> String {
    let mut out = String::new();
    let outcome = r
        .outcome
        .as_ref()
        .map(|o| match (&o.stage, &o.code) {
            (Some(s), Some(c)) => format!("{} at {s}: {c}", o.pull),
            _ => format!("{} ({})", o.pull, o.route.as_deref().unwrap_or("-")),
        })
        .unwrap_or_else(|| "no pull".into());
    let mark = if r.passed { style.green("PASS") } else { style.red("FAIL") };
    let _ =
        write!(out, "{mark} {} {}", r.name, style.dim(&format!("[{}] {outcome} ({:.1} ms)", r.rules, r.duration_ms)));
    for f in &r.failures {
        let _ = write!(out, "\n     {}", style.red(f));
    }
    out
}

/// The closing line: `N passed, N failed`.
pub fn summary(results: &[ScenarioResult]) -> String {
    let passed = results.iter().filter(|r| r.passed).count();
    format!("{passed} passed, {} failed", results.len() - passed)
}

/// JUnit XML of a run.
pub fn junit(results: &[ScenarioResult]) -> String {
    let failures = results.iter().filter(|r| !r.passed).count();
    let total: f64 = results.iter().map(|r| r.duration_ms).sum::<f64>() / 1000.0;
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"pullsim\" tests=\"{}\" failures=\"{failures}\" time=\"{total:.3}\">",
        results.len()
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"pullsim\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{total:.3}\">",
        results.len()
    );
    for r in results {
        let _ = write!(
            x,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            esc(&r.file),
            esc(&r.name),
            r.duration_ms / 1000.0
        );
        if r.passed {
            x.push_str("/>\n");
        } else {
            let _ = writeln!(
                x,
                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                esc(r.failures.first().map(String::as_str).unwrap_or("failed")),
                esc(&r.failures.join("\n"))
            );
        }
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

fn esc(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => format!("&#{};", c as u32),
            c => c.to_string(),
        })
        .collect()
}

fn epochs(r: &Rule) -> String {
    match r.until {
        Some(u) if u == r.since => r.since.to_string(),
        Some(u) => format!("{}…{}", r.since, u),
        None => format!("{}…", r.since),
    }
}

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
            let _ =
                writeln!(out, "Outcome: the image was pulled over the {} route.", o.route.as_deref().unwrap_or("?"));
        }
        Some(o) => {
            let _ = writeln!(
                out,
                "Outcome: the pull FAILED at {} with {} ({} route).",
                o.stage.as_deref().unwrap_or("?"),
                o.code.as_deref().unwrap_or("?"),
                o.route.as_deref().unwrap_or("no")
            );
            if let Some(m) = &o.message {
                let _ = writeln!(out, "What Azure shows: {m}");
            }
        }
        None => {
            let _ = writeln!(out, "Outcome: the scenario has no site to pull.");
        }
    }
    if !r.log.is_empty() {
        let _ = writeln!(out, "\nApp Service docker log (what `az webapp log tail` would show):");
        for l in &r.log {
            let _ = writeln!(out, "  {l}");
        }
    }
    if !r.failures.is_empty() {
        let _ = writeln!(out, "\nExpectations that did not hold:");
        for f in &r.failures {
            let _ = writeln!(out, "  - {f}");
        }
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

/// `rules`: the table, optionally for one epoch.
pub fn rules_table(epoch: Option<Epoch>) -> String {
    let mut out = String::new();
    let _ =
        writeln!(out, "Confidence: C confirmed in a primary source, I inferred, U unconfirmed (modeled, marked).\n");
    for r in RULES.iter().filter(|r| epoch.is_none_or(|e| r.holds_in(e))) {
        let _ = writeln!(out, "{} [{}] epochs {}", r.id, r.confidence.tag(), epochs(r));
        let _ = writeln!(out, "    {}", r.text);
        let _ = writeln!(out, "    source: {}\n", r.source);
    }
    out
}
