//! `$filter` on resource listings: `field eq 'value'` joined by `and`, on
//! `resourceGroup`, `resourceType`, `name` and `location` (the subset ARM documents for
//! `/resources`).

use serde_json::Value;

use super::error::ArmError;
use crate::model::ResourceId;

/// A parsed `$filter`: every condition must hold.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Filter(Vec<(String, String)>);

impl Filter {
    /// Parses a `$filter` value; an empty one (what `az resource list` sends without
    /// options) filters nothing, as ARM's does.
    pub fn parse(f: &str) -> Result<Filter, ArmError> {
        if f.trim().is_empty() {
            return Ok(Filter::default());
        }
        parse_filter(f).map(Filter)
    }

    /// Whether a stored resource (with its parsed ID) passes every condition.
    pub fn matches(&self, id: &ResourceId, v: &Value) -> bool {
        let rg = id.resource_group.clone().unwrap_or_default();
        self.0.iter().all(|(field, value)| match field.as_str() {
            "resourcegroup" => rg.eq_ignore_ascii_case(value),
            "resourcetype" => id.full_type().eq_ignore_ascii_case(value),
            "name" => id.nested_name().eq_ignore_ascii_case(value) || id.name().eq_ignore_ascii_case(value),
            "location" => v["location"].as_str().is_some_and(|l| l.eq_ignore_ascii_case(value)),
            _ => false,
        })
    }
}

/// Parses `field eq 'value' [and field eq 'value']…` (the subset ARM documents for
/// resource listings).
fn parse_filter(f: &str) -> Result<Vec<(String, String)>, ArmError> {
    let bad = || ArmError::bad_filter(f);
    let mut out = Vec::new();
    let mut rest = f.trim();
    loop {
        let (field, after) = rest.split_once(char::is_whitespace).ok_or_else(bad)?;
        let after = after.trim_start();
        let after = after.strip_prefix("eq").ok_or_else(bad)?.trim_start();
        let after = after.strip_prefix('\'').ok_or_else(bad)?;
        let (value, after) = after.split_once('\'').ok_or_else(bad)?;
        let field = field.to_ascii_lowercase();
        if !["resourcegroup", "resourcetype", "name", "location"].contains(&field.as_str()) {
            return Err(bad());
        }
        out.push((field, value.to_string()));
        let after = after.trim();
        if after.is_empty() {
            return Ok(out);
        }
        rest = after.strip_prefix("and").or_else(|| after.strip_prefix("AND")).ok_or_else(bad)?.trim_start();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_reject_unknown_fields() {
        assert_eq!(
            parse_filter("resourceGroup eq 'rg' and resourceType eq 'Microsoft.Web/sites'").unwrap(),
            vec![("resourcegroup".into(), "rg".into()), ("resourcetype".into(), "Microsoft.Web/sites".into())]
        );
        assert!(parse_filter("tagName eq 'x'").is_err());
        assert!(parse_filter("name eq 'x' or name eq 'y'").is_err());
        assert!(parse_filter("name eq 'x").is_err());
        assert_eq!(Filter::parse(" ").unwrap(), Filter::default(), "an empty $filter filters nothing");
    }
}
