//! api-versions: any well-formed one is accepted (clients send versions newer than the
//! published specs), and responses are shaped by when each property was introduced
//! (docs/azure.md F, "Property introduction").

use super::error::ArmError;

/// A parsed api-version: its date and whether it carries a suffix such as `-preview`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion {
    /// `(year, month, day)`.
    pub date: (u16, u8, u8),
}

impl ApiVersion {
    /// Parses `YYYY-MM-DD` optionally followed by `-suffix`.
    pub fn parse(s: &str) -> Result<ApiVersion, ArmError> {
        let bad = || ArmError::invalid_api_version(s);
        let date = s.get(..10).ok_or_else(bad)?;
        let rest = &s[10..];
        if !(rest.is_empty()
            || (rest.starts_with('-')
                && rest.len() > 1
                && rest[1..].chars().all(|c| c.is_ascii_alphanumeric() || c == '-')))
        {
            return Err(bad());
        }
        let mut it = date.split('-');
        let (Some(y), Some(m), Some(d), None) = (it.next(), it.next(), it.next(), it.next()) else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let y: u16 = y.parse().map_err(|_| bad())?;
        let m: u8 = m.parse().map_err(|_| bad())?;
        let d: u8 = d.parse().map_err(|_| bad())?;
        if !(2014..=2099).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
            return Err(bad());
        }
        Ok(ApiVersion { date: (y, m, d) })
    }

    /// Whether this version is at or after `other` (`YYYY-MM-DD`).
    pub fn at_least(&self, other: &str) -> bool {
        ApiVersion::parse(other).is_ok_and(|o| *self >= o)
    }

    /// Whether this version is at or before `other` (`YYYY-MM-DD`).
    pub fn at_most(&self, other: &str) -> bool {
        ApiVersion::parse(other).is_ok_and(|o| *self <= o)
    }
}

/// When a property appeared (and, for a few, disappeared) from the API.
pub struct Introduced {
    /// JSON pointer under the resource (`/properties/vnetRouteAllEnabled`).
    pub pointer: &'static str,
    /// Oldest api-version carrying it.
    pub since: &'static str,
    /// Newest api-version carrying it, if it was later removed.
    pub until: Option<&'static str>,
}

/// The property-introduction table of docs/azure.md F, by lower-cased resource type.
pub fn introductions(type_key: &str) -> &'static [Introduced] {
    const fn p(pointer: &'static str, since: &'static str, until: Option<&'static str>) -> Introduced {
        Introduced { pointer, since, until }
    }
    const SITES: &[Introduced] = &[
        p("/properties/siteConfig/acrUseManagedIdentityCreds", "2019-08-01", None),
        p("/properties/siteConfig/acrUserManagedIdentityID", "2019-08-01", None),
        p("/properties/siteConfig/vnetRouteAllEnabled", "2020-06-01", None),
        p("/properties/virtualNetworkSubnetId", "2020-12-01", None),
        p("/properties/vnetRouteAllEnabled", "2022-03-01", Some("2024-04-01")),
        p("/properties/vnetImagePullEnabled", "2022-03-01", Some("2024-04-01")),
        p("/properties/vnetContentShareEnabled", "2022-03-01", Some("2024-04-01")),
        p("/properties/outboundVnetRouting", "2024-11-01", None),
    ];
    const SITE_CONFIG: &[Introduced] = &[
        p("/properties/acrUseManagedIdentityCreds", "2019-08-01", None),
        p("/properties/acrUserManagedIdentityID", "2019-08-01", None),
        p("/properties/vnetRouteAllEnabled", "2020-06-01", None),
    ];
    const REGISTRIES: &[Introduced] = &[
        p("/properties/publicNetworkAccess", "2019-12-01", None),
        p("/properties/privateEndpointConnections", "2019-12-01", None),
        p("/properties/dataEndpointEnabled", "2019-12-01", None),
        p("/properties/dataEndpointHostNames", "2019-12-01", None),
        p("/properties/networkRuleBypassOptions", "2019-12-01", None),
    ];
    const LINKS: &[Introduced] = &[p("/properties/resolutionPolicy", "2024-06-01", None)];
    match type_key {
        "microsoft.web/sites" => SITES,
        "microsoft.web/sites/config" => SITE_CONFIG,
        "microsoft.containerregistry/registries" => REGISTRIES,
        "microsoft.network/privatednszones/virtualnetworklinks" => LINKS,
        _ => &[],
    }
}

/// Whether a property at `pointer` exists at this api-version for this type.
pub fn known_at(type_key: &str, pointer: &str, v: ApiVersion) -> bool {
    introductions(type_key)
        .iter()
        .filter(|i| i.pointer.eq_ignore_ascii_case(pointer))
        .all(|i| v.at_least(i.since) && i.until.is_none_or(|u| v.at_most(u)))
}

/// Removes from a rendered resource every property its api-version does not have.
pub fn shape(type_key: &str, v: ApiVersion, body: &mut serde_json::Value) {
    for i in introductions(type_key) {
        if !known_at(type_key, i.pointer, v) {
            remove_pointer(body, i.pointer);
        }
    }
}

fn remove_pointer(body: &mut serde_json::Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    if let Some(obj) = body.pointer_mut(parent).and_then(|p| p.as_object_mut()) {
        obj.remove(last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_and_future_versions_are_well_formed() {
        assert!(ApiVersion::parse("2026-09-01-preview").is_ok());
        assert!(ApiVersion::parse("2025-05-01").is_ok());
        for bad in ["", "2021", "2021-13-01", "latest", "2021-01-01preview", "2021-1-01"] {
            assert!(ApiVersion::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn site_level_route_all_exists_only_between_2022_03_and_2024_04() {
        let t = "microsoft.web/sites";
        let at = |s| ApiVersion::parse(s).unwrap();
        assert!(!known_at(t, "/properties/vnetRouteAllEnabled", at("2021-02-01")));
        assert!(known_at(t, "/properties/vnetRouteAllEnabled", at("2022-03-01")));
        assert!(known_at(t, "/properties/vnetRouteAllEnabled", at("2024-04-01")));
        assert!(!known_at(t, "/properties/vnetRouteAllEnabled", at("2024-11-01")));
        assert!(known_at(t, "/properties/outboundVnetRouting", at("2025-05-01")));
    }
}
