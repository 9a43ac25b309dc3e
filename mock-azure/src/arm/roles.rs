//! The built-in role definitions pullsim knows, as Azure defines them (Azure's built-in
//! roles pages, "General", "Containers", "Networking", "Web and Mobile"): their GUIDs,
//! `actions`, `notActions`, `dataActions` and `notDataActions`, and how an operation is
//! matched against them (`*` matches any run of characters, ignoring case). ARM's
//! authorization and the ACR data plane both read this one table.
//!
//! The ACR's data plane is authorized by control-plane actions in Azure (a registry whose
//! role-assignment mode is not ABAC): a pull needs
//! `Microsoft.ContainerRegistry/registries/pull/read`, a push `…/push/write`, a delete
//! `…/artifacts/delete` — so Reader (`*/read`) pulls, Contributor and Owner (`*`) push and
//! delete, as the ACR roles table says.

/// One built-in role definition.
#[derive(Debug, PartialEq, Eq)]
pub struct Role {
    /// `roleName`.
    pub name: &'static str,
    /// The definition's GUID (the same in every subscription).
    pub id: &'static str,
    /// `description`, as Azure words it.
    pub description: &'static str,
    /// `permissions[0].actions`.
    pub actions: &'static [&'static str],
    /// `permissions[0].notActions`.
    pub not_actions: &'static [&'static str],
    /// `permissions[0].dataActions`.
    pub data_actions: &'static [&'static str],
    /// `permissions[0].notDataActions`.
    pub not_data_actions: &'static [&'static str],
}

/// The type of role assignments in the store.
pub const ASSIGNMENT_TYPE: &str = "Microsoft.Authorization/roleAssignments";

/// Pull from a registry (AcrPull, AcrPush, Reader, Contributor, Owner).
pub const ACR_PULL: &str = "Microsoft.ContainerRegistry/registries/pull/read";
/// Push to a registry (AcrPush, Contributor, Owner).
pub const ACR_PUSH: &str = "Microsoft.ContainerRegistry/registries/push/write";
/// Delete from a registry (AcrDelete, Contributor, Owner).
pub const ACR_DELETE: &str = "Microsoft.ContainerRegistry/registries/artifacts/delete";

const NONE: &[&str] = &[];

/// Every built-in role pullsim models.
pub static ROLES: &[Role] = &[
    Role {
        name: "Owner",
        id: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
        actions: &["*"],
        not_actions: NONE,
        data_actions: NONE,
        not_data_actions: NONE,
    },
    Role {
        name: "Contributor",
        id: "b24988ac-6180-42a0-ab88-20f7382dd24c",
        description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
        actions: &["*"],
        not_actions: &[
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
            "Microsoft.Purview/consents/write",
            "Microsoft.Purview/consents/delete",
        ],
        data_actions: NONE,
        not_data_actions: NONE,
    },
    Role {
        name: "Reader",
        id: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        description: "View all resources, but does not allow you to make any changes.",
        actions: &["*/read"],
        not_actions: NONE,
        data_actions: NONE,
        not_data_actions: NONE,
    },
    Role {
        name: "User Access Administrator",
        id: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        description: "Lets you manage user access to Azure resources.",
        actions: &["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
        not_actions: NONE,
        data_actions: NONE,
        not_data_actions: NONE,
    },
    Role {
        name: "AcrPull",
        id: "7f951dda-4ed3-4680-a7ca-43fe172d538d",
        description: "acr pull",
        actions: &[ACR_PULL],
        not_actions: NONE,
        data_actions: NONE,
        not_data_actions: NONE,
    },
    Role {
        name: "AcrPush",
        id: "8311e382-0749-4cb8-b61a-304f252e45ec",
        description: "acr push",
        actions: &[ACR_PULL, ACR_PUSH],
        not_actions: NONE,
        data_actions: NONE,
        not_data_actions: NONE,
    },
    Role {
        name: "AcrDelete",
        id: "c2f4ef07-c644-48eb-af81-4b1b4947fb11",
        description: "acr delete",
        actions: &[ACR_DELETE],
        not_actions: NONE,
        data_actions: NONE,
        not_data_actions: NONE,
    },
    Role {
        name: "Network Contributor",
        id: "4d97b98b-1d4f-4787-a291-c67834d212e7",
        description: "Lets you manage networks, but not access to them.",
        actions: &[
            "Microsoft.Authorization/*/read",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Network/*",
            "Microsoft.ResourceHealth/availabilityStatuses/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Support/*",
        ],
        not_actions: NONE,
        data_actions: NONE,
        not_data_actions: NONE,
    },
    Role {
        name: "Website Contributor",
        id: "de139f84-1756-47ae-9be6-808fbbe84772",
        description: "Lets you manage websites (not web plans), but not access to them.",
        actions: &[
            "Microsoft.Authorization/*/read",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Insights/components/*",
            "Microsoft.ResourceHealth/availabilityStatuses/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Support/*",
            "Microsoft.Web/certificates/*",
            "Microsoft.Web/listSitesAssignedToHostName/read",
            "Microsoft.Web/serverFarms/join/action",
            "Microsoft.Web/serverFarms/read",
            "Microsoft.Web/sites/*",
        ],
        not_actions: NONE,
        data_actions: NONE,
        not_data_actions: NONE,
    },
    Role {
        name: "Private DNS Zone Contributor",
        id: "b12aa53e-6015-4669-85d0-8515ebb3ae7f",
        description: "Lets you manage private DNS zone resources, but not the virtual networks they are linked to.",
        actions: &[
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Support/*",
            "Microsoft.Network/privateDnsZones/*",
            "Microsoft.Network/privateDnsOperationResults/*",
            "Microsoft.Network/privateDnsOperationStatuses/*",
            "Microsoft.Network/virtualNetworks/read",
            "Microsoft.Network/virtualNetworks/join/action",
            "Microsoft.Authorization/*/read",
        ],
        not_actions: NONE,
        data_actions: NONE,
        not_data_actions: NONE,
    },
];

impl Role {
    /// Whether the role grants the control-plane operation `op` (in `actions`, not in
    /// `notActions`).
    pub fn permits(&self, op: &str) -> bool {
        self.actions.iter().any(|p| matches(p, op)) && !self.not_actions.iter().any(|p| matches(p, op))
    }

    /// Whether the role grants the data-plane operation `op`.
    pub fn permits_data(&self, op: &str) -> bool {
        self.data_actions.iter().any(|p| matches(p, op)) && !self.not_data_actions.iter().any(|p| matches(p, op))
    }
}

/// The built-in role a definition ID (or bare GUID) names.
pub fn by_id(def: &str) -> Option<&'static Role> {
    let guid = def.rsplit('/').next().unwrap_or(def);
    ROLES.iter().find(|r| r.id.eq_ignore_ascii_case(guid))
}

/// The built-in role with this name (ignoring case).
pub fn by_name(name: &str) -> Option<&'static Role> {
    ROLES.iter().find(|r| r.name.eq_ignore_ascii_case(name))
}

/// Whether an Azure permission pattern matches an operation: `*` stands for any run of
/// characters (slashes included), everything else compares ignoring case.
pub fn matches(pattern: &str, op: &str) -> bool {
    let (p, o) = (pattern.to_ascii_lowercase(), op.to_ascii_lowercase());
    let parts: Vec<&str> = p.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return p == o;
    };
    let Some(mut rest) = o.strip_prefix(first) else { return false };
    for m in middle {
        match rest.find(m) {
            Some(at) => rest = &rest[at + m.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_azure_documents_them() {
        assert!(matches("*", "Microsoft.Web/sites/write"));
        assert!(matches("*/read", "Microsoft.Web/sites/config/read"));
        assert!(!matches("*/read", "Microsoft.Web/sites/write"));
        assert!(matches("Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write"));
        assert!(matches("Microsoft.Network/*", "microsoft.network/virtualnetworks/subnets/write"));
        assert!(!matches("Microsoft.Network/*", "Microsoft.NetworkX/a"));
        assert!(matches("Microsoft.Web/sites/*", "Microsoft.Web/sites/restart/action"));
        assert!(!matches("Microsoft.Web/sites/*", "Microsoft.Web/serverfarms/write"));
    }

    #[test]
    fn roles_grant_what_their_definitions_say() {
        let role = |n| by_name(n).unwrap();
        assert!(role("Owner").permits("Microsoft.Authorization/roleAssignments/write"));
        assert!(!role("Contributor").permits("Microsoft.Authorization/roleAssignments/write"));
        assert!(role("Contributor").permits("Microsoft.Web/sites/write"));
        assert!(role("Reader").permits("Microsoft.Resources/subscriptions/resourcegroups/read"));
        assert!(!role("Reader").permits("Microsoft.ContainerRegistry/registries/listCredentials/action"));
        assert!(role("User Access Administrator").permits("Microsoft.Authorization/roleAssignments/delete"));
        assert!(!role("User Access Administrator").permits("Microsoft.Web/sites/write"));
        assert!(!role("Network Contributor").permits("Microsoft.Web/sites/write"));
        assert!(role("Network Contributor").permits("Microsoft.Network/virtualNetworks/subnets/write"));
        assert!(role("Private DNS Zone Contributor").permits("Microsoft.Network/privateDnsZones/A/write"));
        assert!(!role("Private DNS Zone Contributor").permits("Microsoft.Network/virtualNetworks/write"));
        assert!(role("Website Contributor").permits("Microsoft.Web/sites/config/list/action"));
        // The ACR's table: Reader, Contributor and Owner pull; only AcrPush and the two
        // general writers push; AcrPull neither pushes nor reads ARM.
        for (n, pull, push, delete) in [
            ("Owner", true, true, true),
            ("Contributor", true, true, true),
            ("Reader", true, false, false),
            ("AcrPull", true, false, false),
            ("AcrPush", true, true, false),
            ("AcrDelete", false, false, true),
        ] {
            let r = role(n);
            assert_eq!((r.permits(ACR_PULL), r.permits(ACR_PUSH), r.permits(ACR_DELETE)), (pull, push, delete), "{n}");
        }
        assert!(!role("AcrPull").permits("Microsoft.ContainerRegistry/registries/read"));
        assert_eq!(by_id("/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/7F951DDA-4ED3-4680-A7CA-43FE172D538D").map(|r| r.name), Some("AcrPull"));
    }
}
