//! `Microsoft.Resources/deployments`: ARM template deployments at resource-group and
//! subscription scope (PUT, `validate`, `whatIf`, GET, list, `operations`, `cancel`,
//! DELETE, the `operationStatuses` clients poll) and a group's `exportTemplate`, on the
//! `arm-template` engine.
//!
//! Each resource of a template is applied by an ARM request of its own through the same
//! entry point as a client's (`Arm::handle`, handed in by `dispatch` as a function so this
//! module does not import it back): every provider rule, error and check applies, and a
//! deployment is no more atomic than Azure's. Template errors are answered before anything
//! is written.
//!
//! # Layout
//! Dependencies point down this list:
//! - `api`: which requests are deployments', and their answers.
//! - `export`: `POST {group}/exportTemplate` (`az group export`).
//! - `host`: [`arm_template::Host`] over ARM: PUT/GET/POST as ARM requests, preflight
//!   validation from the table of kinds, the resource groups, the read-only properties.
//! - `record`: the deployment records in the store (properties, operations, template).

mod api;
mod export;
mod host;
mod record;

pub(super) use api::handle;
