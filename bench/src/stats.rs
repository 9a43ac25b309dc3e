//! Samples, their summary (median, p95, IQR, min–max) and the figures `results.json` and
//! `results.md` are made of.

use serde::Serialize;

/// Median, spread and extremes of a set of samples.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Median.
    pub median: f64,
    /// 95th percentile (nearest rank).
    pub p95: f64,
    /// First quartile.
    pub q1: f64,
    /// Third quartile.
    pub q3: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// The `q` quantile (0..=1) of sorted samples, linear between ranks.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

impl Summary {
    /// The summary of `samples` (NaNs if empty).
    pub fn of(samples: &[f64]) -> Summary {
        let mut s: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
        s.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        let n = s.len();
        let p95 = if n == 0 { f64::NAN } else { s[((0.95 * n as f64).ceil() as usize).clamp(1, n) - 1] };
        Summary {
            n,
            median: quantile(&s, 0.5),
            p95,
            q1: quantile(&s, 0.25),
            q3: quantile(&s, 0.75),
            min: s.first().copied().unwrap_or(f64::NAN),
            max: s.last().copied().unwrap_or(f64::NAN),
            mean: if n == 0 { f64::NAN } else { s.iter().sum::<f64>() / n as f64 },
        }
    }
}

/// Whether a larger or smaller value is better.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Times, latencies.
    Lower,
    /// Rates, throughputs.
    Higher,
}

/// The peer a figure is compared with, measured in the same run.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Peer {
    /// What it is (`bare hyper/rustls hello-world`, `unbound 1.17.1`...).
    pub name: String,
    /// How it was run.
    pub command: String,
    /// Its samples, in the figure's unit.
    pub samples: Vec<f64>,
    /// Their summary.
    pub summary: Summary,
}

/// A goal of issue 8, reported (never asserted).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Goal {
    /// The goal as the issue states it.
    pub text: String,
    /// Whether this run met it.
    pub met: bool,
    /// By how much it was missed or beaten, in words.
    pub margin: String,
}

/// One figure of the results.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Figure {
    /// Section (`1 scenarios`, `2 registry`...).
    pub section: String,
    /// The `pullsim-bench run --only` name of the part that made it.
    #[serde(default)]
    pub part: String,
    /// Stable name (`arm.get_site.rps`).
    pub name: String,
    /// Unit of the samples.
    pub unit: String,
    /// Which way is better.
    pub better: Better,
    /// `measured`, or `not available` with the reason in `notes`.
    pub status: String,
    /// How it was measured.
    pub method: String,
    /// The exact command (or the call, for in-process measurements).
    pub command: String,
    /// The samples.
    pub samples: Vec<f64>,
    /// Their summary (`None` when not measured).
    pub summary: Option<Summary>,
    /// The peer, if any.
    pub peer: Option<Peer>,
    /// `median / peer median`.
    pub ratio: Option<f64>,
    /// What the ratio means.
    pub ratio_meaning: Option<String>,
    /// The goal, if the issue sets one.
    pub goal: Option<Goal>,
    /// Anything else a reader needs.
    pub notes: String,
}

impl Figure {
    /// A measured figure without a peer.
    pub fn new(section: &str, name: &str, unit: &str, better: Better, samples: Vec<f64>) -> Figure {
        let summary = Some(Summary::of(&samples));
        Figure {
            section: section.into(),
            part: String::new(),
            name: name.into(),
            unit: unit.into(),
            better,
            status: "measured".into(),
            method: String::new(),
            command: String::new(),
            samples,
            summary,
            peer: None,
            ratio: None,
            ratio_meaning: None,
            goal: None,
            notes: String::new(),
        }
    }

    /// Sets how it was measured.
    pub fn method(mut self, method: impl Into<String>, command: impl Into<String>) -> Figure {
        self.method = method.into();
        self.command = command.into();
        self
    }

    /// Adds the peer and the ratio `median / peer median`.
    pub fn peer(mut self, name: &str, command: impl Into<String>, samples: Vec<f64>, meaning: &str) -> Figure {
        let summary = Summary::of(&samples);
        let mine = self.summary.as_ref().map(|s| s.median).unwrap_or(f64::NAN);
        self.ratio = Some(mine / summary.median);
        self.ratio_meaning = Some(meaning.into());
        self.peer = Some(Peer { name: name.into(), command: command.into(), samples, summary });
        self
    }

    /// Adds a note.
    pub fn note(mut self, note: impl Into<String>) -> Figure {
        if !self.notes.is_empty() {
            self.notes.push(' ');
        }
        self.notes.push_str(&note.into());
        self
    }

    /// Reports a goal: `value` (the median or the ratio) against `target`.
    pub fn goal(mut self, text: &str, value: f64, target: f64, higher_is_better: bool) -> Figure {
        let met = if higher_is_better { value >= target } else { value <= target };
        let margin = if higher_is_better {
            if met {
                format!("met: {} ≥ {} ({:.2}× the target)", fmt(value), fmt(target), value / target)
            } else {
                format!(
                    "missed: {} < {} (reaches {:.0}% of the target)",
                    fmt(value),
                    fmt(target),
                    100.0 * value / target
                )
            }
        } else if met {
            format!("met: {} ≤ {} ({:.0}% of the budget)", fmt(value), fmt(target), 100.0 * value / target)
        } else {
            format!("missed: {} > {} ({:.2}× the budget)", fmt(value), fmt(target), value / target)
        };
        self.goal = Some(Goal { text: text.into(), met, margin });
        self
    }
}

/// A number with about three significant digits.
pub fn fmt(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let a = x.abs();
    if a >= 1000.0 {
        format!("{x:.0}")
    } else if a >= 100.0 {
        format!("{x:.1}")
    } else if a >= 10.0 {
        format!("{x:.2}")
    } else if a >= 1.0 {
        format!("{x:.3}")
    } else {
        format!("{x:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_known_samples() {
        let s = Summary::of(&[5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!(s.median, 3.0);
        assert_eq!(s.min, 1.0);
        assert_eq!(s.max, 5.0);
        assert_eq!(s.q1, 2.0);
        assert_eq!(s.q3, 4.0);
        assert_eq!(s.p95, 5.0);
        let s = Summary::of(&(1..=100).map(f64::from).collect::<Vec<_>>());
        assert_eq!(s.p95, 95.0);
    }
}
