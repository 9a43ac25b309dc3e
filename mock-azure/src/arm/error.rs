//! Every error ARM answers, built in one place, worded as Azure words it (docs/azure.md F for
//! the envelope and codes, parts A and D for the rules ARM enforces). `ArmError::new` is
//! private to this file: a new error is a new named constructor here.
//!
//! The envelope is `{"error":{"code","message","target"?,"details"?}}`.

use serde_json::{Value, json};

/// An ARM error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmError {
    /// HTTP status.
    pub status: u16,
    /// ARM error code, the part clients branch on.
    pub code: String,
    /// Human-readable message, as Azure words it.
    pub message: String,
    /// Optional target (the offending property).
    pub target: Option<String>,
    /// The whole error object when another engine built it (a template error's
    /// `additionalInfo` and `details`); `body()` answers it as is.
    pub inner: Option<Box<Value>>,
}

impl std::fmt::Display for ArmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({}) {} [{}]", self.code, self.message, self.status)
    }
}

impl std::error::Error for ArmError {}

impl From<crate::model::StoreError> for ArmError {
    fn from(e: crate::model::StoreError) -> ArmError {
        // The one case where ARM answers 5xx: our own disk failed, not the client.
        ArmError::new(500, "InternalServerError", format!("The state journal could not be written: {e}"))
    }
}

impl ArmError {
    /// An error with this status, code and message: private, so every error ARM answers
    /// has a named constructor below.
    fn new(status: u16, code: &str, message: impl Into<String>) -> ArmError {
        ArmError { status, code: code.into(), message: message.into(), target: None, inner: None }
    }

    /// Sets the target.
    pub fn with_target(mut self, target: impl Into<String>) -> ArmError {
        self.target = Some(target.into());
        self
    }

    /// The JSON envelope.
    pub fn body(&self) -> Value {
        if let Some(inner) = &self.inner {
            return json!({ "error": **inner });
        }
        let mut e = json!({"code": self.code, "message": self.message});
        if let Some(t) = &self.target {
            e["target"] = json!(t);
        }
        json!({ "error": e })
    }

    /// 400 `MissingApiVersionParameter`.
    pub fn missing_api_version() -> ArmError {
        Self::new(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    }

    /// 400 `InvalidApiVersionParameter`.
    pub fn invalid_api_version(v: &str) -> ArmError {
        Self::new(
            400,
            "InvalidApiVersionParameter",
            format!(
                "The api-version '{v}' is invalid. The supported versions are in the form 'yyyy-mm-dd' optionally followed by '-preview' or another suffix."
            ),
        )
    }

    /// 401 `AuthenticationFailed` (no Authorization header).
    pub fn auth_missing() -> ArmError {
        Self::new(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
    }

    /// 401 `AuthenticationFailed` (the header is not a bearer token).
    pub fn auth_bad_scheme() -> ArmError {
        Self::new(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        )
    }

    /// 401 `InvalidAuthenticationToken`.
    pub fn invalid_token() -> ArmError {
        Self::new(401, "InvalidAuthenticationToken", "The access token is invalid.")
    }

    /// 401 `InvalidAuthenticationTokenAudience`.
    pub fn invalid_audience(aud: &str) -> ArmError {
        Self::new(
            401,
            "InvalidAuthenticationTokenAudience",
            format!(
                "The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.azure.com/'."
            ),
        )
    }

    /// 401 `ExpiredAuthenticationToken`.
    pub fn expired_token() -> ArmError {
        Self::new(
            401,
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time is earlier than current UTC time.",
        )
    }

    /// 400 `InvalidRequestContent` (body not JSON, or wrong shape).
    pub fn invalid_content(detail: impl std::fmt::Display) -> ArmError {
        Self::new(
            400,
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: '{detail}'."),
        )
    }

    /// 413 for a body larger than ARM accepts.
    pub fn too_large(limit: usize) -> ArmError {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("The request content size exceeds the maximum size of {} MB.", limit / (1024 * 1024)),
        )
    }

    /// 404 `SubscriptionNotFound`.
    pub fn subscription_not_found(sub: &str) -> ArmError {
        Self::new(404, "SubscriptionNotFound", format!("The subscription '{sub}' could not be found."))
    }

    /// 404 `ResourceGroupNotFound`.
    pub fn group_not_found(rg: &str) -> ArmError {
        Self::new(404, "ResourceGroupNotFound", format!("Resource group '{rg}' could not be found."))
    }

    /// 404 `ResourceNotFound`; `ty` is the type with nested names, as ARM prints it.
    pub fn not_found(ty_and_name: &str, rg: &str) -> ArmError {
        Self::new(
            404,
            "ResourceNotFound",
            format!(
                "The Resource '{ty_and_name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        )
    }

    /// 400 `InvalidResourceNamespace`.
    pub fn unknown_namespace(ns: &str) -> ArmError {
        Self::new(400, "InvalidResourceNamespace", format!("The resource namespace '{ns}' is invalid."))
    }

    /// 400 `InvalidResourceType`.
    pub fn unknown_type(ty: &str, ns: &str, api: &str) -> ArmError {
        Self::new(
            400,
            "InvalidResourceType",
            format!("The resource type '{ty}' could not be found in the namespace '{ns}' for api version '{api}'."),
        )
    }

    /// 405 for a method the resource does not support.
    pub fn method_not_allowed(method: &str) -> ArmError {
        Self::new(405, "MethodNotAllowed", format!("The requested resource does not support http method '{method}'."))
    }

    /// 404 for a path that is not an ARM route at all.
    pub fn no_route(path: &str) -> ArmError {
        Self::new(
            404,
            "InvalidRequestUri",
            format!("The request URI '{path}' is not a valid Azure Resource Manager URI."),
        )
    }

    /// A template deployment's error as the template engine built it (`InvalidTemplate`,
    /// `InvalidTemplateDeployment`, `DeploymentFailed`…: docs/azure.md F), answered whole.
    pub fn template(status: u16, error: Value) -> ArmError {
        let code = error["code"].as_str().unwrap_or("InvalidTemplate").to_string();
        let message = error["message"].as_str().unwrap_or_default().to_string();
        ArmError { inner: Some(Box::new(error)), ..Self::new(status, &code, message) }
    }

    /// 404 `DeploymentNotFound` (Azure/azure-cli#28834 shows the wording).
    pub fn deployment_not_found(name: &str) -> ArmError {
        Self::new(404, "DeploymentNotFound", format!("Deployment '{name}' could not be found."))
    }

    /// 409 for a cancel of a deployment that is not running (pullsim runs a deployment to
    /// its end within the PUT, so every cancel finds it finished). Wording inferred.
    pub fn deployment_not_running(name: &str, state: &str) -> ArmError {
        Self::new(
            409,
            "DeploymentCannotBeCancelled",
            format!(
                "The deployment '{name}' cannot be cancelled because it is in '{state}' state: only a running deployment can be."
            ),
        )
    }

    /// 400 for `mode: Complete`, which pullsim refuses rather than delete what a template
    /// leaves out.
    pub fn complete_mode_unsupported() -> ArmError {
        Self::new(
            400,
            "InvalidDeploymentMode",
            "pullsim deploys templates in Incremental mode only: Complete mode (deleting the group's resources the template does not name) is not supported. Deploy with --mode Incremental.",
        )
    }

    /// 400 `LocationRequired`.
    pub fn location_required() -> ArmError {
        Self::new(400, "LocationRequired", "The location property is required for this definition.")
    }

    /// 400 `InvalidLocation`-style error for an unknown region.
    pub fn bad_location(loc: &str) -> ArmError {
        Self::new(
            400,
            "LocationNotAvailableForResourceType",
            format!(
                "The provided location '{loc}' is not available for resource type. List of available regions is 'australiaeast,brazilsouth,canadacentral,centralindia,centralus,eastasia,eastus,eastus2,francecentral,germanywestcentral,japaneast,koreacentral,northeurope,norwayeast,southafricanorth,southcentralus,southeastasia,swedencentral,switzerlandnorth,uaenorth,uksouth,westeurope,westus,westus2,westus3'."
            ),
        )
    }

    /// 400 `InvalidResourceName`.
    pub fn bad_name(name: &str, rule: &str) -> ArmError {
        Self::new(400, "InvalidResourceName", format!("Resource name '{name}' is invalid. {rule}"))
    }

    /// 400 `BadRequest` with a message.
    pub fn bad_request(message: impl Into<String>) -> ArmError {
        Self::new(400, "BadRequest", message)
    }

    /// 409 `Conflict`.
    pub fn conflict(message: impl Into<String>) -> ArmError {
        Self::new(409, "Conflict", message)
    }

    /// 409 `CannotDeleteResource` for a private DNS zone with virtual network links
    /// (docs/azure.md A9, exact wording).
    pub fn zone_has_links(zone: &str, link: &str) -> ArmError {
        Self::new(
            409,
            "CannotDeleteResource",
            format!(
                "Cannot delete resource while nested resources exist. Some existing nested resource IDs include: 'Microsoft.Network/privateDnsZones/{zone}/virtualNetworkLinks/{link}'. Please delete all nested resources before deleting this resource."
            ),
        )
    }

    /// 400 `DisablingPublicNetworkAccessNotSupported` (docs/azure.md D, exact wording).
    pub fn acr_public_access_sku(sku: &str) -> ArmError {
        Self::new(
            400,
            "DisablingPublicNetworkAccessNotSupported",
            format!(
                "Disabling public network access is not supported for the SKU {sku}. For more information, please visit https://aka.ms/acr/private-link."
            ),
        )
    }

    /// 400 for network rules on a registry that is not Premium.
    pub fn acr_network_rules_sku(sku: &str) -> ArmError {
        Self::new(
            400,
            "NetworkRuleNotSupported",
            format!(
                "Network rules are not supported for the SKU {sku}. Network rules are only supported for Premium registries. For more information, please visit https://aka.ms/acr/firewall."
            ),
        )
    }

    /// 400 for a private endpoint to a registry that is not Premium. The code is
    /// unconfirmed (\[U\] in docs/azure.md D).
    pub fn acr_private_endpoint_sku(sku: &str) -> ArmError {
        Self::new(
            400,
            "PrivateEndpointNotSupportedForSku",
            format!(
                "Private endpoints are not supported for the SKU {sku}. Private endpoints are only supported for Premium registries. For more information, please visit https://aka.ms/acr/private-link."
            ),
        )
    }

    /// 400 `InUseSubnetCannotBeDeleted`.
    pub fn subnet_in_use(subnet_id: &str, user: &str) -> ArmError {
        Self::new(
            400,
            "InUseSubnetCannotBeDeleted",
            format!(
                "Subnet {} is in use by {user} and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.",
                subnet_id.rsplit('/').next().unwrap_or(subnet_id)
            ),
        )
    }

    /// 409 `RoleAssignmentExists`.
    pub fn role_assignment_exists() -> ArmError {
        Self::new(409, "RoleAssignmentExists", "The role assignment already exists.")
    }

    /// 400 `IdentityNotFound`: the platform's MSI endpoint asked for the system identity
    /// of a site that has none.
    pub fn no_system_identity() -> ArmError {
        Self::new(400, "IdentityNotFound", "The site has no system-assigned managed identity.")
    }

    /// 400 `IdentityNotFound`: no user-assigned identity with this client ID on the site.
    pub fn no_user_identity(client_id: &str) -> ArmError {
        Self::new(
            400,
            "IdentityNotFound",
            format!("No user-assigned managed identity with client ID '{client_id}' is assigned to the site."),
        )
    }

    /// 400 `InvalidAddressPrefixFormat` for a prefix with host bits set (or no prefix at
    /// all); `subnet` names the subnet it was given for.
    pub fn bad_prefix_format(prefix: &str, subnet: Option<&str>) -> ArmError {
        let of = subnet.map(|s| format!(" of subnet {s}")).unwrap_or_default();
        Self::new(
            400,
            "InvalidAddressPrefixFormat",
            format!("Address prefix {prefix}{of} does not have a valid format (host bits must be zero)."),
        )
    }

    /// 400 `VnetAddressSpacesOverlap`: two prefixes of one virtual network overlap.
    pub fn vnet_spaces_overlap(a: &str, b: &str) -> ArmError {
        Self::new(
            400,
            "VnetAddressSpacesOverlap",
            format!("Address prefixes {a} and {b} of the virtual network overlap."),
        )
    }

    /// 400 `VnetAddressSpacesOverlap`: two virtual networks to peer overlap.
    pub fn peering_spaces_overlap(peering: &str, this: &str, remote: &str, a: &str, b: &str) -> ArmError {
        Self::new(
            400,
            "VnetAddressSpacesOverlap",
            format!(
                "Cannot create or update peering {peering}. Virtual networks {this} and {remote} cannot be peered because their address spaces overlap ({a} and {b})."
            ),
        )
    }

    /// 400 `NetcfgSubnetRangeOutsideVnet`.
    pub fn subnet_outside_vnet(subnet: &str, vnet: &str) -> ArmError {
        Self::new(
            400,
            "NetcfgSubnetRangeOutsideVnet",
            format!(
                "Subnet '{subnet}' is not valid because its IP address range is outside the IP address range of virtual network '{vnet}'."
            ),
        )
    }

    /// 400 `InvalidAddressPrefix`: a subnet smaller than a /29.
    pub fn subnet_too_small(subnet: &str, prefix: &str) -> ArmError {
        Self::new(
            400,
            "InvalidAddressPrefix",
            format!(
                "Subnet '{subnet}' has an address prefix {prefix} that is too small. The smallest supported subnet is /29."
            ),
        )
    }

    /// 400 `NetcfgSubnetRangesOverlap`.
    pub fn subnets_overlap(subnet: &str, other: &str, vnet: &str) -> ArmError {
        Self::new(
            400,
            "NetcfgSubnetRangesOverlap",
            format!(
                "Subnet '{subnet}' is not valid because its IP address range overlaps with that of an existing subnet '{other}' in virtual network '{vnet}'."
            ),
        )
    }

    /// 400 `InUseSubnetCannotBeUpdated`: a used subnet's prefix cannot change.
    pub fn subnet_in_use_update(subnet: &str) -> ArmError {
        Self::new(
            400,
            "InUseSubnetCannotBeUpdated",
            format!("Subnet {subnet} is in use and its address prefix cannot be changed."),
        )
    }

    /// 400 `InvalidServiceNameOnDelegation`.
    pub fn bad_delegation(subnet: &str, service: &str) -> ArmError {
        Self::new(
            400,
            "InvalidServiceNameOnDelegation",
            format!("Subnet {subnet} has an invalid delegation service name '{service}'."),
        )
    }

    /// 400 `PrivateEndpointCreationNotAllowedAsSubnetIsDelegated`.
    pub fn endpoint_in_delegated_subnet(endpoint: &str, subnet: &str, service: &str) -> ArmError {
        Self::new(
            400,
            "PrivateEndpointCreationNotAllowedAsSubnetIsDelegated",
            format!("Private endpoint {endpoint} cannot be created as subnet {subnet} is delegated to {service}."),
        )
    }

    /// 400 `PrivateEndpointBadRequest`: group IDs a registry does not have.
    pub fn endpoint_bad_groups(groups: &[String]) -> ArmError {
        Self::new(
            400,
            "PrivateEndpointBadRequest",
            format!(
                "Call to Microsoft.ContainerRegistry/registries failed. Error message: The group ID(s) {groups:?} are invalid; a registry supports only 'registry'."
            ),
        )
    }

    /// 400 `SubnetIsFull`: no address left for a private endpoint.
    pub fn subnet_full(subnet: &str, endpoint: &str) -> ArmError {
        Self::new(
            400,
            "SubnetIsFull",
            format!("Subnet {subnet} has no free address left for private endpoint {endpoint}."),
        )
    }

    /// 403 `AuthorizationFailed`: the caller holds no role that grants `action` at
    /// `scope` or above (Azure's wording, the client and its object ID first).
    pub fn authorization_failed(client: &str, oid: &str, action: &str, scope: &str) -> ArmError {
        Self::new(
            403,
            "AuthorizationFailed",
            format!(
                "The client '{client}' with object id '{oid}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials."
            ),
        )
    }

    /// 409 `AlreadyInUse`: a registry's name is a DNS name, unique across Azure.
    pub fn registry_name_taken(name: &str) -> ArmError {
        Self::new(
            409,
            "AlreadyInUse",
            format!(
                "The registry DNS name {}.azurecr.io is already in use. You can check if the name is already claimed using following API: https://docs.microsoft.com/en-us/rest/api/containerregistry/registries/checknameavailability",
                name.to_ascii_lowercase()
            ),
        )
    }

    /// 409 `Conflict`: a site's name is a host name, unique across Azure.
    pub fn site_name_taken(name: &str) -> ArmError {
        Self::new(409, "Conflict", format!("Website with given name {name} already exists."))
    }

    /// 403 `AuthorizationFailed`: pullsim models built-in roles only.
    pub fn custom_role_definition() -> ArmError {
        Self::new(
            403,
            "AuthorizationFailed",
            "Custom role definitions are not modeled by pullsim; use a built-in role.",
        )
    }

    /// 403 `AuthorizationFailed`: built-in role definitions cannot be deleted.
    pub fn builtin_role_delete() -> ArmError {
        Self::new(403, "AuthorizationFailed", "Built-in role definitions cannot be deleted.")
    }

    /// 400 `RoleAssignmentUpdateNotPermitted`.
    pub fn role_assignment_update() -> ArmError {
        Self::new(
            400,
            "RoleAssignmentUpdateNotPermitted",
            "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
        )
    }

    /// 400 `InvalidRoleAssignmentId`: the assignment's name is not a GUID.
    pub fn role_assignment_id(name: &str) -> ArmError {
        Self::new(
            400,
            "InvalidRoleAssignmentId",
            format!("The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."),
        )
    }

    /// `RoleDefinitionDoesNotExist`: 404 when the definition is addressed, 400 when an
    /// assignment names it.
    pub fn role_definition_missing(status: u16, guid: &str) -> ArmError {
        Self::new(
            status,
            "RoleDefinitionDoesNotExist",
            format!("The specified role definition with ID '{guid}' does not exist."),
        )
    }

    /// 400 `PrincipalNotFound` (Azure prints the principal without dashes).
    pub fn principal_not_found(principal: &str, tenant: &str) -> ArmError {
        Self::new(
            400,
            "PrincipalNotFound",
            format!(
                "Principal {} does not exist in the directory {tenant}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay.",
                principal.replace('-', "")
            ),
        )
    }

    /// 400 `InvalidResourceGroupName`.
    pub fn bad_group_name(name: &str) -> ArmError {
        Self::new(
            400,
            "InvalidResourceGroupName",
            format!(
                "Resource group name '{name}' is invalid. It can include alphanumeric, underscore, parentheses, hyphen, period (except at end), and Unicode characters that match the allowed characters, and be 1-90 characters long."
            ),
        )
    }

    /// 409 `InvalidResourceGroupLocation`: a group cannot move.
    pub fn group_location(given: &str, existing: &str) -> ArmError {
        Self::new(
            409,
            "InvalidResourceGroupLocation",
            format!(
                "Invalid resource group location '{given}'. The Resource group already exists in location '{existing}'."
            ),
        )
    }

    /// 400 `InvalidFilterInQueryString` for a `$filter` outside the supported subset.
    pub fn bad_filter(filter: &str) -> ArmError {
        Self::new(
            400,
            "InvalidFilterInQueryString",
            format!(
                "The $filter '{filter}' is invalid. Supported: resourceGroup, resourceType, name and location with 'eq', joined by 'and'."
            ),
        )
    }

    /// 400 `LinkedInvalidPropertyId`: a property that must hold a resource ID does not.
    pub fn linked_invalid_id(value: &str, path: &str, reason: &str) -> ArmError {
        Self::new(
            400,
            "LinkedInvalidPropertyId",
            format!(
                "Property id '{value}' at path '{path}' is invalid. Expect fully qualified resource Id that start with '/subscriptions/{{subscriptionId}}' or '/providers/{{resourceProviderNamespace}}/'. ({reason})"
            ),
        )
    }

    /// 409 `Conflict`: a plan still has sites.
    pub fn plan_in_use(plan: &str, site: &str) -> ArmError {
        Self::new(
            409,
            "Conflict",
            format!("Server farm '{plan}' cannot be deleted because it has web app(s) {site} assigned to it."),
        )
    }
}
