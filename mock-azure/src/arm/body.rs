//! Reading a request body: parsing it, merging a PATCH into the stored resource, and
//! typed properties with Azure's errors for the wrong type.

use serde_json::{Value, json};

use super::error::ArmError;
use super::http::ArmRequest;
use crate::model::ResourceId;

/// Parses the body as a JSON object; empty bodies are `{}`.
pub(super) fn parse_body(req: &ArmRequest) -> Result<Value, ArmError> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    let v: Value = serde_json::from_slice(&req.body).map_err(ArmError::invalid_content)?;
    if !v.is_object() {
        return Err(ArmError::invalid_content("the request body must be a JSON object"));
    }
    Ok(v)
}

/// A merge patch: objects merge recursively; other values replace. Unlike RFC 7386, a
/// `null` is kept rather than removing the key, so the type's validation sees it: a
/// property that can be cleared (`virtualNetworkSubnetId`) is cleared by it; for the
/// others it means "not given", as in a PUT.
pub(super) fn merge_patch(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        _ => *target = patch.clone(),
    }
}

/// A property as a boolean, accepting the strings `"true"`/`"false"` the CLI sends.
pub(super) fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A boolean property at `pointer` in `body`: absent → `None`; wrong type → 400.
pub(super) fn bool_at(body: &Value, pointer: &str) -> Result<Option<bool>, ArmError> {
    match body.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => as_bool(v).map(Some).ok_or_else(|| {
            ArmError::invalid_content(format!("'{pointer}' must be a boolean"))
                .with_target(pointer.trim_start_matches('/').replace('/', "."))
        }),
    }
}

/// A string property at `pointer`: absent → `None`; wrong type → 400.
pub(super) fn str_at<'a>(body: &'a Value, pointer: &str) -> Result<Option<&'a str>, ArmError> {
    match body.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ArmError::invalid_content(format!("'{pointer}' must be a string"))
            .with_target(pointer.trim_start_matches('/').replace('/', "."))),
    }
}

/// A resource ID property at `pointer` (`.../subnet/id`), parsed.
pub(super) fn id_at(body: &Value, pointer: &str) -> Result<Option<ResourceId>, ArmError> {
    match str_at(body, pointer)? {
        None => Ok(None),
        Some(s) => ResourceId::parse(s)
            .map(Some)
            .map_err(|e| ArmError::linked_invalid_id(s, &pointer.trim_start_matches('/').replace('/', "."), e.reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_merges_objects_and_keeps_nulls_for_validation() {
        let mut t = json!({"a": {"b": 1, "c": 2}, "d": 3});
        merge_patch(&mut t, &json!({"a": {"b": 5, "c": null}}));
        assert_eq!(t, json!({"a": {"b": 5, "c": null}, "d": 3}));
    }
}
