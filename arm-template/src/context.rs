//! The deployment context: what `subscription()`, `resourceGroup()`, `tenant()`,
//! `deployment()`, `environment()` and `utcNow()` answer. The host gives it; nothing here
//! reads a clock or the network, so the same context gives the same deployment.

use serde_json::{Map, Value, json};

/// A resource group, as `resourceGroup()` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceGroup {
    /// Name.
    pub name: String,
    /// Location (`westeurope`).
    pub location: String,
    /// Tags.
    pub tags: Map<String, Value>,
    /// `managedBy`, when set.
    pub managed_by: Option<String>,
}

impl ResourceGroup {
    /// A group with this name and location and no tags.
    pub fn new(name: impl Into<String>, location: impl Into<String>) -> ResourceGroup {
        ResourceGroup { name: name.into(), location: location.into(), tags: Map::new(), managed_by: None }
    }
}

/// The scope a deployment runs at.
#[derive(Debug, Clone, PartialEq)]
pub enum DeploymentScope {
    /// A resource group deployment (`az deployment group create`).
    ResourceGroup(ResourceGroup),
    /// A subscription deployment (`az deployment sub create`), with its location.
    Subscription {
        /// The deployment's location (where its metadata lives).
        location: String,
    },
}

/// Deployment mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Resources not in the template are left alone.
    #[default]
    Incremental,
    /// Resources of the group not in the template are deleted (what-if shows them as Delete).
    Complete,
}

impl Mode {
    /// Azure's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Incremental => "Incremental",
            Mode::Complete => "Complete",
        }
    }
}

/// Everything a deployment needs from the world.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    /// Tenant ID.
    pub tenant_id: String,
    /// Tenant display name (`tenant().displayName`).
    pub tenant_display_name: String,
    /// Subscription ID.
    pub subscription_id: String,
    /// Subscription display name.
    pub subscription_display_name: String,
    /// Where the deployment runs.
    pub scope: DeploymentScope,
    /// The deployment's name.
    pub deployment_name: String,
    /// Deployment mode.
    pub mode: Mode,
    /// The clock, as an RFC 3339 UTC time (`2021-07-03T12:00:00Z`): `utcNow()` formats it.
    pub now: String,
    /// `environment()`; [`Context::public_cloud`] by default.
    pub environment: Value,
    /// Other resource groups known before deploying (subscription ID, group): a nested
    /// deployment into one of them is validated with the rest; one into a group not listed
    /// here is prepared when it runs, asking the host for the group.
    pub known_groups: Vec<(String, ResourceGroup)>,
}

impl Context {
    /// A resource-group deployment in the public cloud.
    pub fn resource_group(
        tenant_id: impl Into<String>,
        subscription_id: impl Into<String>,
        group: ResourceGroup,
        deployment_name: impl Into<String>,
        now: impl Into<String>,
    ) -> Context {
        Context {
            tenant_id: tenant_id.into(),
            tenant_display_name: "Default Directory".into(),
            subscription_id: subscription_id.into(),
            subscription_display_name: "Azure subscription 1".into(),
            scope: DeploymentScope::ResourceGroup(group),
            deployment_name: deployment_name.into(),
            mode: Mode::Incremental,
            now: now.into(),
            environment: Context::public_cloud(),
            known_groups: Vec::new(),
        }
    }

    /// The group, for resource-group deployments.
    pub fn group(&self) -> Option<&ResourceGroup> {
        match &self.scope {
            DeploymentScope::ResourceGroup(g) => Some(g),
            DeploymentScope::Subscription { .. } => None,
        }
    }

    /// `/subscriptions/{id}`.
    pub fn subscription_resource_id(&self) -> String {
        format!("/subscriptions/{}", self.subscription_id)
    }

    /// The ID of the scope resources deploy into: the group, or the subscription.
    pub fn scope_id(&self) -> String {
        match &self.scope {
            DeploymentScope::ResourceGroup(g) => {
                format!("/subscriptions/{}/resourceGroups/{}", self.subscription_id, g.name)
            }
            DeploymentScope::Subscription { .. } => self.subscription_resource_id(),
        }
    }

    /// The deployment's own resource ID.
    pub fn deployment_id(&self) -> String {
        format!("{}/providers/Microsoft.Resources/deployments/{}", self.scope_id(), self.deployment_name)
    }

    /// `subscription()`.
    pub fn subscription_object(&self) -> Value {
        json!({
            "id": self.subscription_resource_id(),
            "subscriptionId": self.subscription_id,
            "tenantId": self.tenant_id,
            "displayName": self.subscription_display_name,
        })
    }

    /// `resourceGroup()`, for resource-group deployments.
    pub fn resource_group_object(&self) -> Option<Value> {
        let g = self.group()?;
        let mut v = json!({
            "id": self.scope_id(),
            "name": g.name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": g.location,
            "tags": g.tags,
            "properties": {"provisioningState": "Succeeded"},
        });
        if let Some(m) = &g.managed_by {
            v["managedBy"] = json!(m);
        }
        Some(v)
    }

    /// `tenant()`.
    pub fn tenant_object(&self) -> Value {
        json!({
            "id": format!("/tenants/{}", self.tenant_id),
            "tenantId": self.tenant_id,
            "countryCode": "US",
            "displayName": self.tenant_display_name,
        })
    }

    /// The public cloud's `environment()`, as Microsoft documents it.
    pub fn public_cloud() -> Value {
        json!({
            "name": "AzureCloud",
            "gallery": "https://gallery.azure.com/",
            "graph": "https://graph.windows.net/",
            "portal": "https://portal.azure.com",
            "graphAudience": "https://graph.windows.net/",
            "activeDirectoryDataLake": "https://datalake.azure.net/",
            "batch": "https://batch.core.windows.net/",
            "media": "https://rest.media.azure.net",
            "sqlManagement": "https://management.core.windows.net:8443/",
            "vmImageAliasDoc": "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/master/arm-compute/quickstart-templates/aliases.json",
            "resourceManager": "https://management.azure.com/",
            "authentication": {
                "loginEndpoint": "https://login.microsoftonline.com/",
                "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
                "tenant": "common",
                "identityProvider": "AAD"
            },
            "suffixes": {
                "acrLoginServer": ".azurecr.io",
                "azureDatalakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
                "azureDatalakeStoreFileSystem": "azuredatalakestore.net",
                "azureFrontDoorEndpointSuffix": "azurefd.net",
                "keyvaultDns": ".vault.azure.net",
                "sqlServerHostname": ".database.windows.net",
                "storage": "core.windows.net"
            }
        })
    }
}
