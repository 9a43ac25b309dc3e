//! The deployment records: a finished deployment kept in the store under its own ID
//! (`…/providers/Microsoft.Resources/deployments/{name}`, so deleting its group deletes
//! it), with its operations and template under the private key. Records are not tracked
//! resources: `/resources` listings never show them, as Azure's do not.

use serde_json::{Value, json};

use super::super::error::ArmError;
use super::super::resources::strip_private;
use super::super::service::Arm;
use crate::model::{PRIVATE, ResourceId};

/// The type of a deployment record, with Azure's casing.
pub(super) const TYPE: &str = "Microsoft.Resources/deployments";

/// What ARM adds to the engine's result when it keeps the record.
pub(super) struct Meta<'a> {
    /// The deployment's location (subscription-scope deployments have one).
    pub location: Option<&'a str>,
    /// `x-ms-correlation-request-id` of the request that ran it.
    pub correlation: &'a str,
    /// When it ran (RFC 3339).
    pub timestamp: &'a str,
    /// `properties.diagnostics`: warnings (opaque resources).
    pub diagnostics: Vec<Value>,
    /// The template it deployed (for the record; never answered).
    pub template: Value,
}

/// The current time as ARM prints it.
pub(super) fn now() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Keeps a finished deployment; returns it as GET answers it.
pub(super) fn save(arm: &Arm, result: &arm_template::DeploymentResult, meta: Meta<'_>) -> Result<Value, ArmError> {
    let mut props = result.properties_json();
    props["timestamp"] = json!(meta.timestamp);
    props["duration"] = json!("PT0S");
    props["correlationId"] = json!(meta.correlation);
    if !meta.diagnostics.is_empty() {
        props["diagnostics"] = Value::Array(meta.diagnostics);
    }
    let operations = result.operations_json(meta.timestamp)["value"].take();
    let mut record = json!({
        "id": result.id,
        "name": result.name,
        "type": TYPE,
        "properties": props,
        PRIVATE: {"operations": operations, "template": meta.template},
    });
    if let Some(l) = meta.location {
        record["location"] = json!(l);
    }
    arm.store.transact(|tx| {
        tx.put(record.clone());
        Ok::<_, ArmError>(())
    })?;
    Ok(strip_private(record))
}

/// A record as stored (private fields included), or `DeploymentNotFound`.
pub(super) fn load(arm: &Arm, id: &ResourceId) -> Result<Value, ArmError> {
    arm.store.get(id).filter(|v| v["type"] == TYPE).ok_or_else(|| ArmError::deployment_not_found(id.name()))
}

/// Every record directly at a scope (a group's or the subscription's deployments).
pub(super) fn list(arm: &Arm, scope: &ResourceId) -> Vec<Value> {
    let prefix = format!("{}/providers/microsoft.resources/deployments/", scope.key());
    arm.store
        .scan_prefix(&prefix)
        .into_iter()
        .filter(|v| v["type"] == TYPE)
        .filter(|v| v["id"].as_str().is_some_and(|id| !id[prefix.len()..].contains('/')))
        .map(strip_private)
        .collect()
}

/// Removes a record (nothing if absent).
pub(super) fn delete(arm: &Arm, id: &ResourceId) -> Result<(), ArmError> {
    arm.store.transact(|tx| {
        tx.delete(id);
        Ok::<_, ArmError>(())
    })
}
