//! `Microsoft.Resources/resourceGroups`: the container every other resource lives in.

use serde_json::json;

use super::error::ArmError;
use super::kind::{Kind, Loc};
use super::regions::normalize_location;

/// The kinds of this provider.
pub(super) static KINDS: &[&Kind] = &[&GROUP];

static GROUP: Kind = Kind {
    canonical: "Microsoft.Resources/resourceGroups",
    tracked: false,
    loc: Loc::Region,
    put: |ctx, _, _, body, existing| {
        let name = ctx.id.name();
        let valid = (1..=90).contains(&name.len())
            && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')'))
            && !name.ends_with('.');
        if !valid {
            return Err(ArmError::bad_group_name(name));
        }
        let mut v = json!({
            "properties": {"provisioningState": "Succeeded"},
        });
        if let Some(m) = body.get("managedBy") {
            v["managedBy"] = m.clone();
        }
        if let Some(e) = existing
            && body.get("location").is_some_and(|l| {
                normalize_location(l.as_str().unwrap_or_default()) != e["location"].as_str().unwrap_or_default()
            })
        {
            return Err(ArmError::group_location(
                body["location"].as_str().unwrap_or_default(),
                e["location"].as_str().unwrap_or_default(),
            ));
        }
        Ok(v)
    },
    ..Kind::BASE
};
