//! Reports: every format renders [`crate::runner::result`]'s plain data.
//!
//! # Layout
//! - [`human`]: lines for people (100 columns, colours only when asked or on a
//!   terminal), the recap of what did not pass, the summary with the wall time.
//! - [`json`]: the JSON report, `{schema_version, summary, results}`, described by
//!   `docs/report.schema.json`.
//! - [`junit`]: JUnit XML through `quick-junit`: a testsuite per file, failures and
//!   errors with their trace, the App Service log as the test's output.
//! - [`explain`]: `pullsim explain`'s numbered story.
//! - [`rules`]: `pullsim rules`: the rule table, the stable codes, and the markdown of
//!   `docs/rules.md`.

pub mod explain;
pub mod human;
pub mod json;
pub mod junit;
pub mod rules;

/// Output format of `pullsim run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Lines for people, a recap of what did not pass, and the counts.
    Human,
    /// One JSON object: schema version, summary, results (docs/report.schema.json).
    Json,
    /// JUnit XML for CI systems: a testsuite per scenario file.
    Junit,
}
