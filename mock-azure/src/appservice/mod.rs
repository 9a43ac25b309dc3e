//! The modeled App Service platform: the worker that pulls a site's image through the
//! fake ARM, DNS and ACR over real sockets, the rules it follows, and the trace it keeps.
//!
//! - [`rules`]: rule epochs and the rule table (sources, confidence).
//! - [`site`]: the site as read through ARM; image references.
//! - [`worker`]: the pull, step by step.
//! - [`resolve`]: the worker's DNS stub resolver (real queries from the route's source).
//! - [`oracle`]: the same rules as a pure decision procedure, for property tests.
//! - [`trace`]: steps, stages, codes, outcomes.
//! - [`logs`]: the docker log lines App Service writes.

pub mod logs;
pub mod oracle;
pub mod resolve;
pub mod rules;
pub mod site;
pub mod trace;
pub mod worker;
