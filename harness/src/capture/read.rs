//! Follows everything a site's image pull depends on through ARM, from the site outward:
//! its configuration and plan, the integration VNET with its subnets and peered VNETs,
//! the registry its image names, that registry's private endpoints and their zone
//! groups, the private DNS zones involved with their links and records, the site's
//! identities and the role assignments on the registry. Resources in other resource
//! groups are followed by their IDs.

use serde_json::Value;

use super::client::ArmReader;

const WEB: &str = "2024-11-01";
const NET: &str = "2024-05-01";
const DNS: &str = "2024-06-01";
const ACR: &str = "2023-07-01";
const MSI: &str = "2023-01-31";
const AUTHZ: &str = "2022-04-01";

/// What was read.
#[derive(Debug, Default)]
pub struct Captured {
    /// The site, `config/web`'s properties, the app settings.
    pub site: Value,
    /// `config/web` properties.
    pub config: Value,
    /// App settings (values are never written out but the ones pullsim reads).
    pub settings: serde_json::Map<String, Value>,
    /// The App Service plan.
    pub plan: Option<Value>,
    /// VNETs: the integration VNET first, then its peers, each with its peerings.
    pub vnets: Vec<(Value, Vec<Value>)>,
    /// The registry the image names, when it is an ACR of this subscription.
    pub registry: Option<Value>,
    /// Whether the configured admin password is the registry's current one (`None`: no
    /// admin credentials configured, or the registry's cannot be listed).
    pub password_current: Option<bool>,
    /// The registry's private endpoints, each with its zone groups.
    pub endpoints: Vec<(Value, Vec<Value>)>,
    /// Private DNS zones for the registry, each with its links and A records.
    pub zones: Vec<(Value, Vec<Value>, Vec<Value>)>,
    /// User-assigned identities of the site.
    pub identities: Vec<Value>,
    /// Role assignments at the registry's scope and above.
    pub role_assignments: Vec<Value>,
}

impl Captured {
    /// Reads a VNET (and its peerings) not read yet.
    async fn add_vnet(&mut self, arm: &ArmReader, id: &str) -> anyhow::Result<()> {
        if id.is_empty() || self.vnets.iter().any(|(x, _)| s(&x["id"]).eq_ignore_ascii_case(id)) {
            return Ok(());
        }
        if let Some(v) = arm.get(id, NET).await? {
            let peerings = arm.list(&format!("{id}/virtualNetworkPeerings"), NET).await?;
            self.vnets.push((v, peerings));
        }
        Ok(())
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// Reads what the pull of `site` in `rg` of `sub` depends on.
pub async fn capture(arm: &ArmReader, sub: &str, rg: &str, site: &str) -> anyhow::Result<Captured> {
    let site_id = format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{site}");
    let site_v = arm
        .get(&site_id, WEB)
        .await?
        .ok_or_else(|| anyhow::anyhow!("there is no site {site} in resource group {rg} of subscription {sub}"))?;
    let mut c = Captured { site: site_v.clone(), ..Captured::default() };
    c.config =
        arm.get(&format!("{site_id}/config/web"), WEB).await?.map(|v| v["properties"].clone()).unwrap_or_default();
    c.settings = arm
        .call("POST", &format!("{site_id}/config/appsettings/list?api-version={WEB}"))
        .await?
        .and_then(|v| v["properties"].as_object().cloned())
        .unwrap_or_default();
    if let Some(plan) = site_v["properties"]["serverFarmId"].as_str() {
        c.plan = arm.get(plan, WEB).await?;
    }
    // The integration VNET and its peers.
    if let Some(subnet) = site_v["properties"]["virtualNetworkSubnetId"].as_str().filter(|x| !x.is_empty())
        && let Some((vnet_id, _)) = subnet.split_once("/subnets/")
        && let Some(vnet) = arm.get(vnet_id, NET).await?
    {
        let peerings = arm.list(&format!("{vnet_id}/virtualNetworkPeerings"), NET).await?;
        let peers: Vec<String> = peerings
            .iter()
            .filter_map(|p| p["properties"]["remoteVirtualNetwork"]["id"].as_str().map(str::to_string))
            .collect();
        c.vnets.push((vnet, peerings));
        for p in peers {
            c.add_vnet(arm, &p).await?;
        }
    }
    // The registry the image names.
    let host = s(&c.config["linuxFxVersion"])
        .split_once('|')
        .map(|(_, img)| img.split('/').next().unwrap_or_default().to_ascii_lowercase())
        .unwrap_or_default();
    let registries =
        arm.list(&format!("/subscriptions/{sub}/providers/Microsoft.ContainerRegistry/registries"), ACR).await?;
    c.registry = registries.into_iter().find(|r| s(&r["properties"]["loginServer"]).eq_ignore_ascii_case(&host));
    if let Some(reg) = &c.registry {
        let reg_id = s(&reg["id"]).to_string();
        let configured = c
            .settings
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("DOCKER_REGISTRY_SERVER_PASSWORD"))
            .and_then(|(_, v)| v.as_str().map(str::to_string));
        if let Some(pw) = configured
            && reg["properties"]["adminUserEnabled"] == true
            && let Ok(Some(creds)) = arm.call("POST", &format!("{reg_id}/listCredentials?api-version={ACR}")).await
        {
            let current = creds["passwords"].as_array().into_iter().flatten().any(|p| s(&p["value"]) == pw);
            c.password_current = Some(current);
        }
        // Its private endpoints (from its connections), each with its zone groups.
        let pes: Vec<String> = reg["properties"]["privateEndpointConnections"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["properties"]["privateEndpoint"]["id"].as_str().map(str::to_string))
            .collect();
        for pe in pes {
            if let Some(v) = arm.get(&pe, NET).await? {
                let groups = arm.list(&format!("{pe}/privateDnsZoneGroups"), NET).await?;
                // The endpoint's VNET, when it is not one already read.
                if let Some((vnet_id, _)) = s(&v["properties"]["subnet"]["id"]).split_once("/subnets/") {
                    c.add_vnet(arm, vnet_id).await?;
                }
                c.endpoints.push((v, groups));
            }
        }
        // Role assignments at the registry and above.
        c.role_assignments = arm
            .list(&format!("{reg_id}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()"), AUTHZ)
            .await
            .unwrap_or_default();
    }
    // The private DNS zones for ACR in the subscription.
    let zones = arm.list(&format!("/subscriptions/{sub}/providers/Microsoft.Network/privateDnsZones"), DNS).await?;
    for z in zones.into_iter().filter(|z| s(&z["name"]).eq_ignore_ascii_case("privatelink.azurecr.io")) {
        let zid = s(&z["id"]).to_string();
        let links = arm.list(&format!("{zid}/virtualNetworkLinks"), DNS).await?;
        let records = arm.list(&format!("{zid}/A"), DNS).await?;
        // A VNET linked to the zone that is not read yet: kept, so the link stays.
        for l in &links {
            c.add_vnet(arm, s(&l["properties"]["virtualNetwork"]["id"])).await?;
        }
        c.zones.push((z, links, records));
    }
    // User-assigned identities.
    for id in site_v["identity"]["userAssignedIdentities"].as_object().into_iter().flatten().map(|(k, _)| k.clone()) {
        if let Some(v) = arm.get(&id, MSI).await? {
            c.identities.push(v);
        }
    }
    Ok(c)
}
