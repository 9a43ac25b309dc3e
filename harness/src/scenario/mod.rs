//! Scenario files (issue 6): work in progress.
