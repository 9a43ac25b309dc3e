//! The human report, nextest's way: one block per scenario as it completes, lines of at
//! most [`WIDTH`] columns; then a recap of what did not pass, with its file; then the
//! counts and the run's wall time.
//!
//! ```text
//! PASS  [   0.035s] A1: without VNET integration the pull leaves publicly and the locked regi…
//!       pull failed at firewall (ACR_FIREWALL_DENIED), as expected
//!       · scenarios/seed/a1-vnet-integration-required.toml · rules 2021-07
//! ```

use std::fmt::Write as _;
use std::time::Duration;

use crate::runner::result::{ScenarioResult, Summary, Verdict};

/// The widest a line gets.
pub const WIDTH: usize = 100;
/// Where a block's lines after the first start.
const INDENT: &str = "      ";

/// When to colour: `--color auto|always|never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Always (even when `NO_COLOR` is set: the flag is the more specific).
    Always,
    /// Never.
    Never,
}

/// ANSI colours, or none.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    on: bool,
}

impl Style {
    /// Colours as `choice` says for standard output.
    pub fn detect(choice: ColorChoice) -> Style {
        use std::io::IsTerminal;
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let on = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::io::stdout().is_terminal() && !no_color,
        };
        Style { on }
    }

    /// No colours.
    pub fn plain() -> Style {
        Style { on: false }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.on { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
    }

    fn mark(&self, v: Verdict) -> String {
        let label = format!("{:<5}", v.label());
        match v {
            Verdict::Passed => self.paint("32", &label),
            Verdict::Failed => self.paint("31;1", &label),
            Verdict::Errored => self.paint("35;1", &label),
            Verdict::Ran => self.paint("33", &label),
        }
    }

    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
}

/// `s` cut to `max` characters, ending with `…` when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `text` in lines of at most [`WIDTH`] columns, each starting with [`INDENT`], broken
/// at spaces (a word longer than a line is cut).
fn wrap(text: &str) -> Vec<String> {
    let room = WIDTH - INDENT.len();
    let mut lines = Vec::new();
    for para in text.lines() {
        let mut line = String::new();
        for word in para.split(' ') {
            let len = line.chars().count();
            if len > 0 && len + 1 + word.chars().count() > room {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines.into_iter().map(|l| format!("{INDENT}{}", cut(&l, room))).collect()
}

/// A matrix cell as its name shows it: `[axis=value, …]`.
fn cell_label(r: &ScenarioResult) -> Option<String> {
    (!r.cell.is_empty())
        .then(|| format!("[{}]", r.cell.iter().map(|(a, v)| format!("{a}={v}")).collect::<Vec<_>>().join(", ")))
}

/// The scenario's title within `room` columns, and what did not fit: its name; for a
/// matrix cell `name [cell]` with the name shortened first, or — when even the cell is
/// too wide — the name alone, the cell returned for a line of its own.
pub fn title(r: &ScenarioResult, room: usize) -> (String, Option<String>) {
    let Some(cell) = cell_label(r) else { return (cut(&r.name, room), None) };
    let base = r.name.strip_suffix(&cell).unwrap_or(&r.name).trim_end();
    let cell_len = cell.chars().count();
    if cell_len + 13 > room {
        return (cut(base, room), Some(cell));
    }
    (format!("{} {cell}", cut(base, room - cell_len - 1)), None)
}

fn seconds(ms: f64) -> String {
    format!("[{:>8.3}s]", ms / 1000.0)
}

/// What happened, in words: `pull failed at firewall (ACR_FIREWALL_DENIED), as expected`.
fn what_happened(r: &ScenarioResult) -> String {
    let outcome = r.outcome.as_ref().map(|o| o.describe());
    match r.verdict {
        Verdict::Passed => match outcome {
            Some(o) => format!("{o}, as expected"),
            None => "every step answered as expected".to_string(),
        },
        Verdict::Ran => format!("{}; no expectation", outcome.unwrap_or_else(|| "nothing pulled".to_string())),
        Verdict::Failed => outcome.unwrap_or_else(|| "nothing pulled".to_string()),
        Verdict::Errored => r.error.as_ref().map(ToString::to_string).unwrap_or_default(),
    }
}

/// One scenario's block.
pub fn block(r: &ScenarioResult, style: Style) -> String {
    let head = format!("{} {} ", style.mark(r.verdict), seconds(r.duration_ms));
    // The mark is padded to five columns: the head is 18 columns without colours.
    let (title, rest) = title(r, WIDTH - 18);
    let mut out = format!("{head}{title}");
    for l in rest.iter().flat_map(|cell| wrap(cell)) {
        let _ = write!(out, "\n{l}");
    }
    for l in wrap(&what_happened(r)) {
        let _ = write!(out, "\n{l}");
    }
    for f in &r.failures {
        for l in wrap(f) {
            let _ = write!(out, "\n{}", if style.on { style.paint("31", &l) } else { l });
        }
    }
    let mut place = format!("· {}", r.file);
    if !r.cell.iter().any(|(axis, _)| axis == "rules") {
        let _ = write!(place, " · rules {}", r.rules);
    }
    for l in wrap(&place) {
        let _ = write!(out, "\n{}", style.dim(&l));
    }
    out
}

/// The recap of what did not pass and the summary line with the wall time.
pub fn recap(results: &[ScenarioResult], wall: Duration, style: Style) -> String {
    let s = Summary::of(results, wall);
    let mut out = String::new();
    let _ = writeln!(out, "{}", style.dim(&"─".repeat(WIDTH)));
    let _ = writeln!(
        out,
        "Summary {} {} scenario{}: {} passed, {} failed, {} errored, {} ran without expectation",
        seconds(s.duration_ms),
        s.total,
        if s.total == 1 { "" } else { "s" },
        s.passed,
        s.failed,
        s.errored,
        s.ran
    );
    for r in results.iter().filter(|r| matches!(r.verdict, Verdict::Failed | Verdict::Errored)) {
        let place = match r.error.as_ref().and_then(|e| e.location.as_ref()) {
            Some(l) => format!("{}:{}:{}", l.file, l.line, l.column),
            None => r.file.clone(),
        };
        let head = format!("{} {place}: ", style.mark(r.verdict));
        let room = WIDTH.saturating_sub(6 + place.chars().count() + 2).max(20);
        let (title, cell) = title(r, room);
        let _ = writeln!(out, "{head}{title}");
        for l in cell.iter().flat_map(|c| wrap(c)) {
            let _ = writeln!(out, "{l}");
        }
    }
    out
}
