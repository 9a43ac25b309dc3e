//! The Azure facts the schema needs: which ARM keys of a site a scenario may set and
//! their types, the provider of each resource type a step path may start with, the
//! api-versions the plan sends (as the Azure CLI does), the worker's failure codes, and
//! the shape of DNS names and image references. Where a fact is ARM's own (when a
//! property exists, the built-in roles), it is read from `mock_azure`, not copied.

use mock_azure::arm::version;

/// A value type of a known ARM JSON key.
pub(crate) enum Ty {
    Bool,
    Str,
    Int,
    Ipv4List,
    Table(&'static [(&'static str, Ty)]),
}

/// `siteConfig` keys a scenario may set.
pub(crate) const SITE_CONFIG: &[(&str, Ty)] = &[
    ("vnetRouteAllEnabled", Ty::Bool),
    ("acrUseManagedIdentityCreds", Ty::Bool),
    ("acrUserManagedIdentityID", Ty::Str),
    ("linuxFxVersion", Ty::Str),
    ("alwaysOn", Ty::Bool),
    ("http20Enabled", Ty::Bool),
    ("httpLoggingEnabled", Ty::Bool),
    ("detailedErrorLoggingEnabled", Ty::Bool),
    ("webSocketsEnabled", Ty::Bool),
    ("use32BitWorkerProcess", Ty::Bool),
    ("remoteDebuggingEnabled", Ty::Bool),
    ("requestTracingEnabled", Ty::Bool),
    ("appCommandLine", Ty::Str),
    ("ftpsState", Ty::Str),
    ("minTlsVersion", Ty::Str),
    ("publicNetworkAccess", Ty::Str),
    ("healthCheckPath", Ty::Str),
    ("numberOfWorkers", Ty::Int),
    ("vnetPrivatePortsCount", Ty::Int),
];

/// Site `properties` a scenario may set.
pub(crate) const SITE_PROPERTIES: &[(&str, Ty)] = &[
    ("vnetImagePullEnabled", Ty::Bool),
    ("vnetRouteAllEnabled", Ty::Bool),
    ("vnetContentShareEnabled", Ty::Bool),
    (
        "outboundVnetRouting",
        Ty::Table(&[
            ("allTraffic", Ty::Bool),
            ("applicationTraffic", Ty::Bool),
            ("imagePullTraffic", Ty::Bool),
            ("contentShareTraffic", Ty::Bool),
            ("backupRestoreTraffic", Ty::Bool),
        ]),
    ),
    (
        "dnsConfiguration",
        Ty::Table(&[
            ("dnsServers", Ty::Ipv4List),
            ("dnsAltServer", Ty::Str),
            ("dnsMaxCacheTimeout", Ty::Int),
            ("dnsRetryAttemptCount", Ty::Int),
            ("dnsRetryAttemptTimeout", Ty::Int),
        ]),
    ),
    ("virtualNetworkSubnetId", Ty::Str),
    ("httpsOnly", Ty::Bool),
    ("publicNetworkAccess", Ty::Str),
    ("clientAffinityEnabled", Ty::Bool),
    ("keyVaultReferenceIdentity", Ty::Str),
];

/// The newest api-version that carries site property `key`, for the site properties
/// Azure later removed (`vnetImagePullEnabled`… exist only in 2022-03-01…2024-04-01,
/// docs/azure.md B); `None` for the others. Read from ARM's property-introduction table.
pub(crate) fn legacy_site_property(key: &str) -> Option<&'static str> {
    version::introductions("microsoft.web/sites")
        .iter()
        .find(|i| i.pointer.strip_prefix("/properties/") == Some(key))
        .and_then(|i| i.until)
}

/// Resource types a relative step path may start with, and their provider.
pub(crate) const RELATIVE_TYPES: &[(&str, &str)] = &[
    ("virtualNetworks", "Microsoft.Network"),
    ("privateEndpoints", "Microsoft.Network"),
    ("networkInterfaces", "Microsoft.Network"),
    ("privateDnsZones", "Microsoft.Network"),
    ("registries", "Microsoft.ContainerRegistry"),
    ("sites", "Microsoft.Web"),
    ("serverfarms", "Microsoft.Web"),
    ("userAssignedIdentities", "Microsoft.ManagedIdentity"),
];

/// The api-version the plan and steps use for a path, by its provider.
pub(crate) fn default_api_version(path: &str) -> &'static str {
    let lower = path.to_ascii_lowercase();
    let provider = lower.rsplit("/providers/").next().filter(|_| lower.contains("/providers/")).unwrap_or("");
    if provider.starts_with("microsoft.network/privatednszones") {
        "2024-06-01"
    } else if provider.starts_with("microsoft.network") {
        "2024-05-01"
    } else if provider.starts_with("microsoft.containerregistry") {
        "2023-07-01"
    } else if provider.starts_with("microsoft.web") {
        "2024-11-01"
    } else if provider.starts_with("microsoft.managedidentity") {
        "2023-01-31"
    } else if provider.starts_with("microsoft.authorization") {
        "2022-04-01"
    } else {
        "2024-03-01"
    }
}

/// `host/repo[:tag]` (or a Docker Hub `repo[:tag]`) without spaces. Only the shape: the
/// site's image is what a user types into the portal, and a reference the platform cannot
/// pull is a scenario of its own (the worker's `config` or `manifest` stage judges it).
pub(super) fn valid_image(image: &str) -> bool {
    !image.is_empty()
        && !image.chars().any(char::is_whitespace)
        && !image.starts_with('/')
        && !image.ends_with(['/', ':'])
}

#[cfg(test)]
mod tests {
    use mock_azure::arm::version::{ApiVersion, known_at};

    use super::*;

    /// The plan sends each type at an api-version that has every property a scenario may
    /// set, and each legacy site property at one that still has it.
    #[test]
    fn the_plans_api_versions_carry_the_properties_a_scenario_sets() {
        let rg = "/subscriptions/s/resourceGroups/rg/providers";
        for (type_key, path) in [
            ("microsoft.web/sites", format!("{rg}/Microsoft.Web/sites/app")),
            ("microsoft.web/sites/config", format!("{rg}/Microsoft.Web/sites/app/config/web")),
            ("microsoft.containerregistry/registries", format!("{rg}/Microsoft.ContainerRegistry/registries/acr")),
            (
                "microsoft.network/privatednszones/virtualnetworklinks",
                format!("{rg}/Microsoft.Network/privateDnsZones/z/virtualNetworkLinks/l"),
            ),
        ] {
            let v = ApiVersion::parse(default_api_version(&path)).unwrap_or_else(|e| panic!("{path}: {e:?}"));
            for i in version::introductions(type_key).iter().filter(|i| i.until.is_none()) {
                assert!(v.at_least(i.since), "{path} is sent at {v:?}, before {} ({})", i.since, i.pointer);
            }
        }
        for (key, _) in SITE_PROPERTIES {
            if let Some(until) = legacy_site_property(key) {
                let v = ApiVersion::parse(until).unwrap_or_else(|e| panic!("{until}: {e:?}"));
                assert!(known_at("microsoft.web/sites", &format!("/properties/{key}"), v), "{key} at {until}");
                assert!(!known_at(
                    "microsoft.web/sites",
                    &format!("/properties/{key}"),
                    ApiVersion::parse(default_api_version(&format!("{rg}/Microsoft.Web/sites/app"))).unwrap()
                ));
            }
        }
        assert_eq!(legacy_site_property("vnetImagePullEnabled"), Some("2024-04-01"));
        assert_eq!(legacy_site_property("outboundVnetRouting"), None);
    }
}
