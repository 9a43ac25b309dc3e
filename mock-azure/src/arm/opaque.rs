//! Resources of real Azure types that the pull's model does not need (Application
//! Insights, Key Vault, locks, diagnostic settings, NSGs…): accepted as **opaque** —
//! stored, read, listed and deleted like any resource, with no behaviour — so the
//! templates people really deploy go through. A deployment says which of its resources
//! were opaque (`properties.diagnostics`). A namespace or type outside these lists keeps
//! Azure's `InvalidResourceNamespace` / `InvalidResourceType`.

use serde_json::{Value, json};

use super::kind::{Kind, Loc, Opaque};
use super::regions::normalize_location;

/// Real Azure namespaces none of whose types pullsim models: every type in them is opaque.
pub(super) static NAMESPACES: &[&str] = &[
    "Microsoft.Insights",
    "Microsoft.OperationalInsights",
    "Microsoft.OperationsManagement",
    "Microsoft.KeyVault",
    "Microsoft.Storage",
    "Microsoft.Sql",
    "Microsoft.DBforPostgreSQL",
    "Microsoft.DBforMySQL",
    "Microsoft.DocumentDB",
    "Microsoft.Cache",
    "Microsoft.ServiceBus",
    "Microsoft.EventHub",
    "Microsoft.EventGrid",
    "Microsoft.Compute",
    "Microsoft.ContainerService",
    "Microsoft.ContainerInstance",
    "Microsoft.App",
    "Microsoft.AppConfiguration",
    "Microsoft.Cdn",
    "Microsoft.Logic",
    "Microsoft.Security",
    "Microsoft.Monitor",
    "Microsoft.AlertsManagement",
    "Microsoft.Automation",
    "Microsoft.RecoveryServices",
    "Microsoft.SignalRService",
    "Microsoft.CognitiveServices",
    "Microsoft.Search",
    "Microsoft.ApiManagement",
    "Microsoft.Dashboard",
    "Microsoft.Portal",
];

/// Real Azure types in the namespaces pullsim models, whose instances it keeps opaque.
pub(super) static TYPES: &[&str] = &[
    "Microsoft.Network/networkSecurityGroups",
    "Microsoft.Network/networkSecurityGroups/securityRules",
    "Microsoft.Network/publicIPAddresses",
    "Microsoft.Network/natGateways",
    "Microsoft.Network/routeTables",
    "Microsoft.Network/routeTables/routes",
    "Microsoft.Network/applicationGateways",
    "Microsoft.Network/loadBalancers",
    "Microsoft.Network/bastionHosts",
    "Microsoft.Network/azureFirewalls",
    "Microsoft.Network/dnsZones",
    "Microsoft.Network/frontDoors",
    "Microsoft.Network/networkWatchers",
    "Microsoft.Network/privateLinkServices",
    "Microsoft.Network/applicationSecurityGroups",
    "Microsoft.Network/ddosProtectionPlans",
    "Microsoft.Network/dnsResolvers",
    "Microsoft.Web/certificates",
    "Microsoft.Web/staticSites",
    "Microsoft.Web/sites/slots",
    "Microsoft.Web/sites/slots/config",
    "Microsoft.Web/sites/extensions",
    "Microsoft.Web/sites/siteextensions",
    "Microsoft.Web/sites/sourcecontrols",
    "Microsoft.Web/sites/basicPublishingCredentialsPolicies",
    "Microsoft.Web/sites/privateEndpointConnections",
    "Microsoft.Web/sites/hybridConnectionNamespaces",
    "Microsoft.ContainerRegistry/registries/replications",
    "Microsoft.ContainerRegistry/registries/webhooks",
    "Microsoft.ContainerRegistry/registries/scopeMaps",
    "Microsoft.ContainerRegistry/registries/tokens",
    "Microsoft.ContainerRegistry/registries/tasks",
    "Microsoft.ContainerRegistry/registries/agentPools",
    "Microsoft.ContainerRegistry/registries/cacheRules",
    "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
    "Microsoft.Authorization/locks",
    "Microsoft.Authorization/policyAssignments",
    "Microsoft.Resources/tags",
];

/// The opaque part of the table of kinds.
pub(super) static TABLE: Opaque = Opaque { kind: &OPAQUE, namespaces: NAMESPACES, types: TYPES };

/// The kind of every opaque type: the body kept as sent (the location normalized), with
/// `provisioningState: Succeeded`. Its `type` and ID keep the request's spelling.
pub(super) static OPAQUE: Kind = Kind { opaque: true, loc: Loc::None, put: put_opaque, ..Kind::BASE };

fn put_opaque(
    _: &super::kind::Ctx,
    _: &mut crate::model::Tx,
    _: &str,
    body: Value,
    _: Option<&Value>,
) -> Result<Value, super::error::ArmError> {
    let mut v = body;
    let Some(obj) = v.as_object_mut() else {
        return Err(super::error::ArmError::invalid_content("the resource must be a JSON object"));
    };
    for k in ["id", "name", "type", "apiVersion"] {
        obj.remove(k);
    }
    if let Some(Value::String(l)) = obj.get("location") {
        let l = normalize_location(l);
        obj.insert("location".into(), json!(l));
    }
    let props = obj.entry("properties").or_insert_with(|| json!({}));
    if let Some(p) = props.as_object_mut() {
        p.insert("provisioningState".into(), json!("Succeeded"));
    }
    Ok(v)
}
