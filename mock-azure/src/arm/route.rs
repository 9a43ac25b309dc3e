//! Turning an ARM path into what it addresses. Matching ignores case, as ARM does.

use crate::model::ResourceId;

/// What an ARM path addresses.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// `/tenants`
    Tenants,
    /// `/subscriptions`
    Subscriptions,
    /// `/subscriptions/{s}`
    Subscription(String),
    /// `/subscriptions/{s}/resourcegroups`
    Groups(String),
    /// `/subscriptions/{s}/locations`
    Locations(String),
    /// `/subscriptions/{s}[/resourcegroups/{rg}]/resources`
    Resources {
        /// Subscription.
        sub: String,
        /// Resource group, for the group-level listing.
        rg: Option<String>,
    },
    /// `/subscriptions/{s}/providers[/{ns}]`
    Providers {
        /// Subscription.
        sub: String,
        /// One namespace, or all.
        ns: Option<String>,
    },
    /// `POST /subscriptions/{s}/providers/{ns}/{action}` (e.g. `checkNameAvailability`),
    /// or `GET` of a type across the subscription (`.../providers/Microsoft.Web/sites`).
    SubscriptionType {
        /// Subscription.
        sub: String,
        /// Namespace.
        ns: String,
        /// Type or action name.
        name: String,
    },
    /// `{scope}/providers/{ns}/{type}`: every resource of a type in a resource group, or
    /// extension resources (role assignments) at a scope.
    TypeAtScope {
        /// The resource group or resource the listing is scoped to.
        scope: ResourceId,
        /// Namespace.
        ns: String,
        /// Type.
        ty: String,
    },
    /// `/providers/{ns}/operations`: the operations a provider offers.
    ProviderOperations(String),
    /// A resource (or resource group).
    Resource(ResourceId),
    /// `{parent}/{name}`: children of a type (GET) or an action (POST).
    Sub {
        /// The resource.
        parent: ResourceId,
        /// Child type or action name.
        name: String,
    },
}

impl Route {
    /// Parses a normalized path (`/subscriptions/...`).
    pub fn parse(path: &str) -> Option<Route> {
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
        let l: Vec<&str> = lower.iter().map(String::as_str).collect();
        match l.as_slice() {
            // The legacy spelling of deployments (the Azure CLI lists operations by it):
            // `…/resourcegroups/{rg}/deployments/…` is `…/providers/Microsoft.Resources/deployments/…`.
            ["subscriptions", _, "resourcegroups", _, "deployments", ..] | ["subscriptions", _, "deployments", ..] => {
                let at = if l[2] == "deployments" { 2 } else { 4 };
                let rest = segs[at..].join("/");
                return Route::parse(&format!("/{}/providers/Microsoft.Resources/{rest}", segs[..at].join("/")));
            }
            ["tenants"] => return Some(Route::Tenants),
            ["subscriptions"] => return Some(Route::Subscriptions),
            ["subscriptions", _] => return Some(Route::Subscription(segs[1].into())),
            ["subscriptions", _, "resourcegroups"] => return Some(Route::Groups(segs[1].into())),
            ["subscriptions", _, "locations"] => return Some(Route::Locations(segs[1].into())),
            ["subscriptions", _, "resources"] => {
                return Some(Route::Resources { sub: segs[1].into(), rg: None });
            }
            ["subscriptions", _, "resourcegroups", _, "resources"] => {
                return Some(Route::Resources { sub: segs[1].into(), rg: Some(segs[3].into()) });
            }
            ["subscriptions", _, "providers"] => {
                return Some(Route::Providers { sub: segs[1].into(), ns: None });
            }
            ["subscriptions", _, "providers", _] => {
                return Some(Route::Providers { sub: segs[1].into(), ns: Some(segs[3].into()) });
            }
            ["subscriptions", _, "providers", _, _] => {
                return Some(Route::SubscriptionType { sub: segs[1].into(), ns: segs[3].into(), name: segs[4].into() });
            }
            ["providers", _, "operations"] => return Some(Route::ProviderOperations(segs[1].into())),
            ["subscriptions", ..] => {}
            _ => return None,
        }
        let n = segs.len();
        if n >= 5 && l[n - 3] == "providers" {
            let scope = ResourceId::parse(&format!("/{}", segs[..n - 3].join("/"))).ok()?;
            return Some(Route::TypeAtScope { scope, ns: segs[n - 2].into(), ty: segs[n - 1].into() });
        }
        if let Ok(id) = ResourceId::parse(path) {
            return Some(Route::Resource(id));
        }
        let parent = ResourceId::parse(&format!("/{}", segs[..n - 1].join("/"))).ok()?;
        if parent.segments.is_empty() && !parent.is_group() {
            return None;
        }
        Some(Route::Sub { parent, name: segs[n - 1].into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appsettings_list_is_an_action_on_the_config() {
        let r =
            Route::parse("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/a/config/appsettings/list")
                .unwrap();
        let Route::Sub { parent, name } = r else { panic!("{r:?}") };
        assert_eq!(parent.full_type(), "Microsoft.Web/sites/config");
        assert_eq!(name, "list");
    }

    #[test]
    fn role_assignments_at_a_registry_are_a_scoped_listing() {
        let r = Route::parse(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r/providers/Microsoft.Authorization/roleAssignments",
        )
        .unwrap();
        assert!(matches!(r, Route::TypeAtScope { ref ty, .. } if ty == "roleAssignments"));
        let r = Route::parse("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites").unwrap();
        assert!(matches!(r, Route::TypeAtScope { ref scope, .. } if scope.is_group()));
    }

    #[test]
    fn legacy_deployment_paths_are_the_provider_paths() {
        let legacy = Route::parse("/subscriptions/s/resourcegroups/rg/deployments/d/operations").unwrap();
        let provider =
            Route::parse("/subscriptions/s/resourcegroups/rg/providers/Microsoft.Resources/deployments/d/operations");
        assert_eq!(Some(legacy), provider);
        assert!(matches!(Route::parse("/subscriptions/s/deployments/d"), Some(Route::Resource(_))));
    }

    #[test]
    fn resource_group_is_a_resource() {
        let r = Route::parse("/subscriptions/s/resourcegroups/rg").unwrap();
        assert!(matches!(r, Route::Resource(ref id) if id.is_group()));
    }
}
