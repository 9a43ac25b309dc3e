//! The template engine end to end: the public corpus of real templates deployed against an
//! in-memory host, Azure's error messages pinned, the function families through templates,
//! what-if and export, and property tests.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod corpus;
mod errors;
mod export;
mod language;
mod properties;
mod support;
mod whatif;
