//! The JSON report: one object, `{schema_version, pullsim_version, summary, results}`,
//! described by the JSON Schema in `docs/report.schema.json` (a test validates real
//! reports against it). `schema_version` changes when a field is removed or changes
//! meaning; new fields may appear within a version.

use std::time::Duration;

use serde::Serialize;

use crate::runner::result::{ScenarioResult, Summary};

/// The version of the report's shape.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Report<'a> {
    schema_version: u32,
    pullsim_version: &'static str,
    summary: Summary,
    results: &'a [ScenarioResult],
}

/// The report of `results`, run in `wall` time, pretty-printed.
pub fn render(results: &[ScenarioResult], wall: Duration) -> serde_json::Result<String> {
    let report = Report {
        schema_version: SCHEMA_VERSION,
        pullsim_version: env!("CARGO_PKG_VERSION"),
        summary: Summary::of(results, wall),
        results,
    };
    serde_json::to_string_pretty(&report)
}
