//! One knob of the configuration turned: a [`Change`]. Each says, from typed data, what
//! it changes and how much it opens up ([`Change::privilege`]), sends the ARM requests the
//! Azure CLI sends for it ([`Change::apply`], through any [`Api`]: a scratch copy of the
//! store for the search, a live environment for the confirming pull), prints the `az`
//! commands that do it to the user's own resources ([`Change::az`]) and the scenario
//! diff ([`Change::toml`]).

use std::net::Ipv4Addr;

use mock_azure::appservice::trace::Stage;
use mock_azure::arm::ArmResponse;
use serde_json::{Value, json};

use super::facts::{ACR_ZONE, Facts};

/// Microsoft.Web's api-version for the requests a change sends.
pub const WEB_API: &str = "2024-11-01";
const NET_API: &str = "2024-05-01";
const DNS_API: &str = "2024-06-01";
const ACR_API: &str = "2023-07-01";
const AUTHZ_API: &str = "2022-04-01";
/// AcrPull's built-in role definition.
const ACR_PULL: &str = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
/// Azure DNS as every VNET sees it.
const AZURE_DNS: &str = "168.63.129.16";

/// Something that answers ARM requests in process: a scratch copy of a store, or a live
/// environment's ARM.
pub trait Api {
    /// Sends one request (the path carries its api-version).
    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> ArmResponse;
}

/// ARM refused a request of a change: the change cannot be made in this configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The request.
    pub request: String,
    /// ARM's status.
    pub status: u16,
    /// ARM's error code.
    pub code: String,
}

fn call(api: &dyn Api, method: &str, path: &str, body: Option<&Value>) -> Result<Value, Refused> {
    let r = api.send(method, path, body);
    if (200..300).contains(&r.status) {
        return Ok(r.json_body());
    }
    let code = r.json_body()["error"]["code"].as_str().unwrap_or_default().to_string();
    Err(Refused { request: format!("{method} {path}"), status: r.status, code })
}

/// Who a role is assigned to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Principal {
    /// The site's system-assigned identity.
    Site,
    /// A user-assigned identity (its resource ID).
    Identity(String),
}

/// One change to the configuration, in the terms of the Azure resources it touches.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    /// App setting `WEBSITE_PULL_IMAGE_OVER_VNET=true`.
    PullOverVnetSetting,
    /// Site property `outboundVnetRouting.imagePullTraffic=true` (was `vnetImagePullEnabled`).
    ImagePullTraffic,
    /// `siteConfig.vnetRouteAllEnabled=true` (route-all, `applicationTraffic`).
    RouteAll,
    /// `outboundVnetRouting.allTraffic=true`.
    AllTraffic,
    /// Regional VNET integration into this subnet (with route-all on, as
    /// `az webapp vnet-integration add` does).
    VnetIntegration {
        /// The subnet's ID.
        subnet: String,
    },
    /// App setting `WEBSITE_DNS_SERVER=168.63.129.16`: the pull asks Azure DNS from the
    /// integration VNET instead of the VNET's custom DNS servers.
    AzureDnsServer,
    /// Creates the `privatelink.azurecr.io` zone in a resource group.
    CreateZone {
        /// The resource group.
        rg: String,
    },
    /// Links the ACR zone to a VNET.
    ZoneLink {
        /// The zone's ID.
        zone: String,
        /// The VNET's ID.
        vnet: String,
    },
    /// A zone group on a private endpoint that writes its records into the ACR zone.
    ZoneGroup {
        /// The endpoint's ID.
        endpoint: String,
        /// The zone's ID.
        zone: String,
    },
    /// An A record in the ACR zone.
    ARecord {
        /// The zone's ID.
        zone: String,
        /// The record's name relative to the zone.
        name: String,
        /// Its address.
        ip: String,
    },
    /// Peers two VNETs, both directions.
    Peering {
        /// One VNET's ID.
        a: String,
        /// The other's.
        b: String,
    },
    /// A private endpoint for the registry in a subnet.
    CreateEndpoint {
        /// The subnet's ID.
        subnet: String,
        /// The new endpoint's ID.
        endpoint: String,
    },
    /// The AcrPull role on the registry.
    AcrPull {
        /// Who gets it.
        principal: Principal,
    },
    /// `acrUserManagedIdentityID` set to this user identity's client ID.
    PullIdentityClientId {
        /// The identity's resource ID.
        identity: String,
    },
    /// `acrUseManagedIdentityCreds=true` with the system identity.
    UseSystemIdentity,
    /// `DOCKER_REGISTRY_SERVER_URL/USERNAME/PASSWORD` from the registry's current admin
    /// credentials (`listCredentials`), managed identity off.
    AdminCredentials,
    /// The registry's admin user on.
    AdminUser,
    /// The registry's public endpoint opened to one address only (public access
    /// Enabled, default action Deny, an IP rule).
    PublicFrom {
        /// The address.
        ip: Ipv4Addr,
    },
    /// The registry's public endpoint opened to everyone.
    PublicAccess,
    /// Another image reference (one the registry holds).
    Image {
        /// `<login server>/<repo>:<tag>`.
        image: String,
    },
}

fn last(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

fn rg_of(id: &str) -> String {
    mock_azure::model::id::ResourceId::parse(id).ok().and_then(|r| r.resource_group).unwrap_or_default()
}

/// The VNET part of a subnet ID and the subnet's name.
fn split_subnet(subnet: &str) -> (&str, &str) {
    subnet.rsplit_once("/subnets/").unwrap_or((subnet, ""))
}

/// `vnet/subnet` as a scenario names a subnet.
fn subnet_ref(subnet: &str) -> String {
    let (vnet, s) = split_subnet(subnet);
    format!("{}/{s}", last(vnet))
}

/// A TOML string.
pub fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

impl Change {
    /// How much the change opens up, for ranking fixes of the same size: settings that
    /// touch only the pull first, then wider routing, credentials, and last the
    /// registry's public endpoint.
    pub fn privilege(&self) -> u32 {
        match self {
            Change::PullOverVnetSetting
            | Change::ImagePullTraffic
            | Change::AzureDnsServer
            | Change::CreateZone { .. }
            | Change::ZoneLink { .. }
            | Change::ZoneGroup { .. }
            | Change::ARecord { .. }
            | Change::AcrPull { .. }
            | Change::PullIdentityClientId { .. }
            | Change::UseSystemIdentity
            | Change::Image { .. } => 1,
            Change::RouteAll
            | Change::VnetIntegration { .. }
            | Change::Peering { .. }
            | Change::CreateEndpoint { .. } => 2,
            Change::AllTraffic | Change::AdminCredentials => 3,
            Change::AdminUser => 4,
            Change::PublicFrom { .. } => 5,
            Change::PublicAccess => 8,
        }
    }

    /// Whether the change opens the registry's public endpoint.
    pub fn opens_registry(&self) -> bool {
        matches!(self, Change::PublicAccess | Change::PublicFrom { .. })
    }

    /// The stage of the pull the change acts on (where its cause shows in the trace).
    pub fn stage(&self) -> Stage {
        match self {
            Change::PullOverVnetSetting
            | Change::ImagePullTraffic
            | Change::RouteAll
            | Change::AllTraffic
            | Change::VnetIntegration { .. } => Stage::Route,
            Change::AzureDnsServer
            | Change::CreateZone { .. }
            | Change::ZoneLink { .. }
            | Change::ZoneGroup { .. }
            | Change::CreateEndpoint { .. } => Stage::Dns,
            Change::ARecord { .. } => Stage::Blob,
            Change::Peering { .. } => Stage::Connect,
            Change::AcrPull { .. }
            | Change::PullIdentityClientId { .. }
            | Change::UseSystemIdentity
            | Change::AdminCredentials
            | Change::AdminUser => Stage::Auth,
            Change::PublicFrom { .. } | Change::PublicAccess => Stage::Firewall,
            Change::Image { .. } => Stage::Manifest,
        }
    }

    /// The order changes of one fix are made in (a zone before its links, an endpoint
    /// before its zone group).
    pub fn order(&self) -> u8 {
        match self {
            Change::CreateZone { .. } | Change::CreateEndpoint { .. } | Change::Peering { .. } => 0,
            Change::VnetIntegration { .. } | Change::AdminUser => 1,
            Change::ZoneLink { .. } | Change::ZoneGroup { .. } => 2,
            _ => 3,
        }
    }

    /// Whether two changes set the same thing differently (never both in one fix).
    pub fn conflicts(&self, other: &Change) -> bool {
        use Change::*;
        matches!(
            (self, other),
            (Image { .. }, Image { .. })
                | (PublicFrom { .. } | PublicAccess, PublicFrom { .. } | PublicAccess)
                | (VnetIntegration { .. }, VnetIntegration { .. })
                | (AdminCredentials, AcrPull { .. } | PullIdentityClientId { .. } | UseSystemIdentity)
                | (AcrPull { .. } | PullIdentityClientId { .. } | UseSystemIdentity, AdminCredentials)
                | (UseSystemIdentity, PullIdentityClientId { .. })
                | (PullIdentityClientId { .. }, UseSystemIdentity)
        )
    }

    /// What the change does, in a line.
    pub fn describe(&self, f: &Facts) -> String {
        let reg = f.registry.as_ref().map(|r| r.r.name.as_str()).unwrap_or("the registry");
        match self {
            Change::PullOverVnetSetting => "set app setting WEBSITE_PULL_IMAGE_OVER_VNET=true".into(),
            Change::ImagePullTraffic => {
                "route the image pull through the VNET (outboundVnetRouting.imagePullTraffic=true)".into()
            }
            Change::RouteAll => "turn route-all on (siteConfig.vnetRouteAllEnabled=true)".into(),
            Change::AllTraffic => "route all traffic through the VNET (outboundVnetRouting.allTraffic=true)".into(),
            Change::VnetIntegration { subnet } => {
                format!("integrate the app with subnet {} (route-all on, as the CLI does)", subnet_ref(subnet))
            }
            Change::AzureDnsServer => {
                format!(
                    "set app setting WEBSITE_DNS_SERVER={AZURE_DNS}: the pull asks Azure DNS, which sees the linked private zones"
                )
            }
            Change::CreateZone { rg } => format!("create the private DNS zone {ACR_ZONE} in resource group {rg}"),
            Change::ZoneLink { vnet, .. } => format!("link {ACR_ZONE} to VNET {}", last(vnet)),
            Change::ZoneGroup { endpoint, .. } => {
                format!(
                    "give private endpoint {} a DNS zone group for {ACR_ZONE} (it writes the A records)",
                    last(endpoint)
                )
            }
            Change::ARecord { name, ip, .. } => format!("add the A record {name}.{ACR_ZONE} → {ip}"),
            Change::Peering { a, b } => format!("peer VNETs {} and {} (both directions)", last(a), last(b)),
            Change::CreateEndpoint { subnet, endpoint } => {
                format!("create private endpoint {} for {reg} in subnet {}", last(endpoint), subnet_ref(subnet))
            }
            Change::AcrPull { principal } => {
                format!("grant {} the AcrPull role on {reg}", principal_words(principal, f))
            }
            Change::PullIdentityClientId { identity } => {
                format!("set acrUserManagedIdentityID to the client ID of identity {}", last(identity))
            }
            Change::UseSystemIdentity => {
                "pull with the site's system identity (acrUseManagedIdentityCreds=true)".into()
            }
            Change::AdminCredentials => {
                format!(
                    "configure {reg}'s current admin credentials (DOCKER_REGISTRY_SERVER_*) instead of what is there"
                )
            }
            Change::AdminUser => format!("enable {reg}'s admin user"),
            Change::PublicFrom { ip } => {
                format!("open {reg}'s public endpoint to {ip} only (public access on, default Deny, an IP rule)")
            }
            Change::PublicAccess => format!("open {reg}'s public endpoint to every address"),
            Change::Image { image } => format!("pull {image}, which the registry holds"),
        }
    }

    /// What is there now that the change changes: the cause, when it is part of the
    /// smallest fix.
    pub fn now(&self, f: &Facts) -> String {
        let s = &f.site;
        let reg = f.registry.as_ref();
        let reg_name = reg.map(|r| r.r.name.as_str()).unwrap_or("the registry");
        match self {
            Change::PullOverVnetSetting => format!(
                "app setting WEBSITE_PULL_IMAGE_OVER_VNET is {}",
                s.setting("WEBSITE_PULL_IMAGE_OVER_VNET").map(|v| format!("'{v}'")).unwrap_or("not set".into())
            ),
            Change::ImagePullTraffic => "outboundVnetRouting.imagePullTraffic is off".into(),
            Change::RouteAll => "route-all (siteConfig.vnetRouteAllEnabled) is off".into(),
            Change::AllTraffic => "outboundVnetRouting.allTraffic is off".into(),
            Change::VnetIntegration { .. } => format!("site {} has no VNET integration", s.r.name),
            Change::AzureDnsServer => {
                let servers = f.integration_vnet().map(|v| v.dns_servers.join(", ")).unwrap_or_default();
                match s.setting("WEBSITE_DNS_SERVER") {
                    Some(v) => format!(
                        "the pull asks DNS server {v} (WEBSITE_DNS_SERVER), which does not answer with the private zone"
                    ),
                    None => format!(
                        "the integration VNET's custom DNS servers ({servers}) answer the pull's lookups and do not resolve the private zone (they do not forward it to {AZURE_DNS})"
                    ),
                }
            }
            Change::CreateZone { .. } => format!("there is no {ACR_ZONE} zone"),
            Change::ZoneLink { vnet, .. } => format!("{ACR_ZONE} is not linked to VNET {}", last(vnet)),
            Change::ZoneGroup { endpoint, .. } => {
                format!("private endpoint {} has no zone group writing its records into {ACR_ZONE}", last(endpoint))
            }
            Change::ARecord { name, .. } => format!("{ACR_ZONE} has no A record for {name}"),
            Change::Peering { a, b } => format!("VNETs {} and {} are not peered", last(a), last(b)),
            Change::CreateEndpoint { subnet, .. } => {
                let (vnet, _) = split_subnet(subnet);
                format!("{reg_name} has no private endpoint the site's VNET {} reaches", last(vnet))
            }
            Change::AcrPull { principal } => {
                format!("{} has no role with pull permission on {reg_name}", principal_words(principal, f))
            }
            Change::PullIdentityClientId { .. } => format!(
                "acrUserManagedIdentityID is '{}', which is not the client ID of an identity of the site",
                s.config["acrUserManagedIdentityID"].as_str().unwrap_or_default()
            ),
            Change::UseSystemIdentity => "the site does not pull with its managed identity".into(),
            Change::AdminCredentials => {
                if s.uses_managed_identity() {
                    "the site pulls with a managed identity (acrUseManagedIdentityCreds)".into()
                } else if s.setting("DOCKER_REGISTRY_SERVER_PASSWORD").is_some() {
                    format!("DOCKER_REGISTRY_SERVER_PASSWORD is not {reg_name}'s current admin password (stale)")
                } else {
                    "no registry credentials are configured".into()
                }
            }
            Change::AdminUser => format!("{reg_name}'s admin user is disabled"),
            Change::PublicFrom { .. } | Change::PublicAccess => match reg {
                Some(r) if !r.public => format!("{reg_name}'s public network access is Disabled"),
                Some(r) if r.default_deny => {
                    format!("{reg_name}'s firewall denies by default and allows only {}", r.ip_rules.join(", "))
                }
                _ => format!("{reg_name}'s public endpoint refuses this client"),
            },
            Change::Image { .. } => {
                format!("the image {} is not one the registry can serve", s.image.as_deref().unwrap_or_default())
            }
        }
    }

    /// Makes the change through ARM, as the Azure CLI does it.
    pub fn apply(&self, api: &dyn Api, f: &Facts) -> Result<(), Refused> {
        let site = &f.site.r.id;
        let reg = f.registry.as_ref();
        let reg_id = reg.map(|r| r.r.id.clone()).unwrap_or_default();
        match self {
            Change::PullOverVnetSetting => set_settings(api, site, &[("WEBSITE_PULL_IMAGE_OVER_VNET", "true".into())]),
            Change::AzureDnsServer => set_settings(api, site, &[("WEBSITE_DNS_SERVER", AZURE_DNS.into())]),
            Change::RouteAll => patch_config(api, site, json!({"vnetRouteAllEnabled": true})),
            Change::UseSystemIdentity => {
                patch_config(api, site, json!({"acrUseManagedIdentityCreds": true, "acrUserManagedIdentityID": ""}))
            }
            Change::PullIdentityClientId { identity } => {
                let client =
                    call(api, "GET", &format!("{identity}?api-version=2023-01-31"), None)?["properties"]["clientId"]
                        .clone();
                patch_config(api, site, json!({"acrUserManagedIdentityID": client}))
            }
            Change::Image { image } => patch_config(api, site, json!({"linuxFxVersion": format!("DOCKER|{image}")})),
            Change::ImagePullTraffic | Change::AllTraffic => {
                let flag = if *self == Change::AllTraffic { "allTraffic" } else { "imagePullTraffic" };
                let body = json!({"properties": {"outboundVnetRouting": {flag: true}}});
                call(api, "PATCH", &format!("{site}?api-version={WEB_API}"), Some(&body)).map(drop)
            }
            Change::VnetIntegration { subnet } => {
                let body = json!({"properties": {"virtualNetworkSubnetId": subnet,
                    "outboundVnetRouting": {"applicationTraffic": true}}});
                call(api, "PATCH", &format!("{site}?api-version={WEB_API}"), Some(&body)).map(drop)
            }
            Change::CreateZone { rg } => {
                let id = zone_id(&f.sub, rg);
                call(api, "PUT", &format!("{id}?api-version={DNS_API}"), Some(&json!({"location": "global"}))).map(drop)
            }
            Change::ZoneLink { zone, vnet } => {
                let body = json!({"location": "global",
                    "properties": {"virtualNetwork": {"id": vnet}, "registrationEnabled": false}});
                let path = format!("{zone}/virtualNetworkLinks/{}?api-version={DNS_API}", link_name(vnet));
                call(api, "PUT", &path, Some(&body)).map(drop)
            }
            Change::ZoneGroup { endpoint, zone } => {
                let body = json!({"properties": {"privateDnsZoneConfigs": [
                    {"name": ACR_ZONE.replace('.', "-"), "properties": {"privateDnsZoneId": zone}}]}});
                let path = format!("{endpoint}/privateDnsZoneGroups/{}?api-version={NET_API}", group_name(f, endpoint));
                call(api, "PUT", &path, Some(&body)).map(drop)
            }
            Change::ARecord { zone, name, ip } => {
                let path = format!("{zone}/A/{name}?api-version={DNS_API}");
                let mut records: Vec<Value> = match call(api, "GET", &path, None) {
                    Ok(v) => v["properties"]["aRecords"].as_array().cloned().unwrap_or_default(),
                    Err(_) => Vec::new(),
                };
                records.push(json!({"ipv4Address": ip}));
                let body = json!({"properties": {"ttl": 3600, "aRecords": records}});
                call(api, "PUT", &path, Some(&body)).map(drop)
            }
            Change::Peering { a, b } => {
                for (from, to) in [(a, b), (b, a)] {
                    let body =
                        json!({"properties": {"remoteVirtualNetwork": {"id": to}, "allowVirtualNetworkAccess": true}});
                    let path =
                        format!("{from}/virtualNetworkPeerings/{}-to-{}?api-version={NET_API}", last(from), last(to));
                    call(api, "PUT", &path, Some(&body))?;
                }
                Ok(())
            }
            Change::CreateEndpoint { subnet, endpoint } => {
                let (vnet, _) = split_subnet(subnet);
                let location = f.vnets.iter().find(|v| v.r.is(vnet)).map(|v| v.location.clone()).unwrap_or_default();
                let body = json!({"location": location, "properties": {"subnet": {"id": subnet},
                    "privateLinkServiceConnections": [{"name": format!("{}-conn", last(endpoint)),
                        "properties": {"privateLinkServiceId": reg_id, "groupIds": ["registry"]}}]}});
                call(api, "PUT", &format!("{endpoint}?api-version={NET_API}"), Some(&body)).map(drop)
            }
            Change::AcrPull { principal } => {
                let pid = match principal {
                    Principal::Site => {
                        call(api, "GET", &format!("{site}?api-version={WEB_API}"), None)?["identity"]["principalId"]
                            .clone()
                    }
                    Principal::Identity(id) => {
                        call(api, "GET", &format!("{id}?api-version=2023-01-31"), None)?["properties"]["principalId"]
                            .clone()
                    }
                };
                let pid = pid.as_str().unwrap_or_default().to_string();
                let name = mock_azure::model::net::guid(&["pullsim-fix", &reg_id.to_ascii_lowercase(), &pid]);
                let body = json!({"properties": {
                    "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL}", f.sub),
                    "principalId": pid, "principalType": "ServicePrincipal"}});
                let path = format!(
                    "{reg_id}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version={AUTHZ_API}"
                );
                call(api, "PUT", &path, Some(&body)).map(drop)
            }
            Change::AdminCredentials => {
                let creds = call(api, "POST", &format!("{reg_id}/listCredentials?api-version={ACR_API}"), None)?;
                let user = creds["username"].as_str().unwrap_or_default().to_string();
                let pass = creds["passwords"][0]["value"].as_str().unwrap_or_default().to_string();
                let login = reg.map(|r| r.login_server.clone()).unwrap_or_default();
                set_settings(
                    api,
                    site,
                    &[
                        ("DOCKER_REGISTRY_SERVER_URL", format!("https://{login}")),
                        ("DOCKER_REGISTRY_SERVER_USERNAME", user),
                        ("DOCKER_REGISTRY_SERVER_PASSWORD", pass),
                    ],
                )?;
                if f.site.uses_managed_identity() {
                    patch_config(api, site, json!({"acrUseManagedIdentityCreds": false}))?;
                }
                Ok(())
            }
            Change::AdminUser => patch_registry(api, &reg_id, json!({"adminUserEnabled": true})),
            Change::PublicAccess => patch_registry(
                api,
                &reg_id,
                json!({"publicNetworkAccess": "Enabled", "networkRuleSet": {"defaultAction": "Allow"}}),
            ),
            Change::PublicFrom { ip } => {
                let mut rules: Vec<Value> = reg
                    .map(|r| r.ip_rules.iter().map(|v| json!({"action": "Allow", "value": v})).collect())
                    .unwrap_or_default();
                rules.push(json!({"action": "Allow", "value": ip.to_string()}));
                patch_registry(
                    api,
                    &reg_id,
                    json!({"publicNetworkAccess": "Enabled", "networkRuleSet": {"defaultAction": "Deny", "ipRules": rules}}),
                )
            }
        }
    }

    /// The `az` commands that make the change to the user's resources (a POSIX shell
    /// runs them as printed: values ARM knows are read with `$(az … -o tsv)`).
    pub fn az(&self, f: &Facts) -> Vec<String> {
        let s = &f.site.r;
        let app = format!("-g {} -n {}", s.rg, s.name);
        let (reg_name, reg_rg, reg_id, login) = f
            .registry
            .as_ref()
            .map(|r| (r.r.name.clone(), r.r.rg.clone(), r.r.id.clone(), r.login_server.clone()))
            .unwrap_or_default();
        let acr = format!("-n {reg_name} -g {reg_rg}");
        match self {
            Change::PullOverVnetSetting => {
                vec![format!("az webapp config appsettings set {app} --settings WEBSITE_PULL_IMAGE_OVER_VNET=true")]
            }
            Change::AzureDnsServer => {
                vec![format!("az webapp config appsettings set {app} --settings WEBSITE_DNS_SERVER={AZURE_DNS}")]
            }
            Change::RouteAll => {
                vec![format!("az webapp config set {app} --generic-configurations '{{\"vnetRouteAllEnabled\": true}}'")]
            }
            Change::UseSystemIdentity => vec![format!(
                "az webapp config set {app} --generic-configurations '{{\"acrUseManagedIdentityCreds\": true, \"acrUserManagedIdentityID\": \"\"}}'"
            )],
            Change::PullIdentityClientId { identity } => vec![format!(
                "az webapp config set {app} --generic-configurations \"{{\\\"acrUserManagedIdentityID\\\": \\\"$(az identity show -g {} -n {} --query clientId -o tsv)\\\"}}\"",
                rg_of(identity),
                last(identity)
            )],
            Change::Image { image } => vec![format!("az webapp config set {app} --linux-fx-version 'DOCKER|{image}'")],
            Change::ImagePullTraffic => vec![format!(
                "az resource update --ids {} --api-version {WEB_API} --set properties.outboundVnetRouting.imagePullTraffic=true",
                s.id
            )],
            Change::AllTraffic => vec![format!(
                "az resource update --ids {} --api-version {WEB_API} --set properties.outboundVnetRouting.allTraffic=true",
                s.id
            )],
            Change::VnetIntegration { subnet } => {
                let (vnet, name) = split_subnet(subnet);
                vec![format!("az webapp vnet-integration add {app} --vnet {vnet} --subnet {name}")]
            }
            Change::CreateZone { rg } => vec![format!("az network private-dns zone create -g {rg} -n {ACR_ZONE}")],
            Change::ZoneLink { zone, vnet } => vec![format!(
                "az network private-dns link vnet create -g {} -z {ACR_ZONE} -n {} -v {vnet} -e false",
                rg_of(zone),
                link_name(vnet)
            )],
            Change::ZoneGroup { endpoint, zone } => vec![format!(
                "az network private-endpoint dns-zone-group create -g {} --endpoint-name {} -n {} --private-dns-zone {zone} --zone-name {}",
                rg_of(endpoint),
                last(endpoint),
                group_name(f, endpoint),
                ACR_ZONE.replace('.', "-")
            )],
            Change::ARecord { zone, name, ip } => vec![format!(
                "az network private-dns record-set a add-record -g {} -z {ACR_ZONE} -n {name} -a {ip}",
                rg_of(zone)
            )],
            Change::Peering { a, b } => [(a, b), (b, a)]
                .iter()
                .map(|(from, to)| {
                    format!(
                        "az network vnet peering create -g {} -n {}-to-{} --vnet-name {} --remote-vnet {to} --allow-vnet-access true",
                        rg_of(from),
                        last(from),
                        last(to),
                        last(from)
                    )
                })
                .collect(),
            Change::CreateEndpoint { subnet, endpoint } => vec![format!(
                "az network private-endpoint create -g {} -n {} --subnet {subnet} --private-connection-resource-id {reg_id} --group-id registry --connection-name {}-conn",
                rg_of(endpoint),
                last(endpoint),
                last(endpoint)
            )],
            Change::AcrPull { principal } => {
                let who = match principal {
                    Principal::Site => format!("$(az webapp identity show {app} --query principalId -o tsv)"),
                    Principal::Identity(id) => {
                        format!("$(az identity show -g {} -n {} --query principalId -o tsv)", rg_of(id), last(id))
                    }
                };
                vec![format!(
                    "az role assignment create --assignee-object-id \"{who}\" --assignee-principal-type ServicePrincipal --role AcrPull --scope {reg_id}"
                )]
            }
            Change::AdminCredentials => {
                let mut out = vec![format!(
                    "az webapp config appsettings set {app} --settings DOCKER_REGISTRY_SERVER_URL=https://{login} \
                     DOCKER_REGISTRY_SERVER_USERNAME=\"$(az acr credential show {acr} --query username -o tsv)\" \
                     DOCKER_REGISTRY_SERVER_PASSWORD=\"$(az acr credential show {acr} --query 'passwords[0].value' -o tsv)\""
                )];
                if f.site.uses_managed_identity() {
                    out.push(format!(
                        "az webapp config set {app} --generic-configurations '{{\"acrUseManagedIdentityCreds\": false}}'"
                    ));
                }
                out
            }
            Change::AdminUser => vec![format!("az acr update {acr} --admin-enabled true")],
            Change::PublicAccess => {
                vec![format!("az acr update {acr} --public-network-enabled true --default-action Allow")]
            }
            Change::PublicFrom { ip } => vec![
                format!("az acr update {acr} --public-network-enabled true --default-action Deny"),
                format!("az acr network-rule add {acr} --ip-address {ip}"),
            ],
        }
    }

    /// The change in the scenario format: TOML that, merged over the scenario (tables
    /// key by key, named entries by name), describes the changed configuration.
    pub fn toml(&self, f: &Facts) -> TomlDiff {
        let (text, unset) = self.toml_parts(f);
        let remove = match self {
            Change::PullIdentityClientId { .. } => vec!["site.config.acrUserManagedIdentityID".to_string()],
            _ => Vec::new(),
        };
        TomlDiff { text, unset, remove }
    }

    fn toml_parts(&self, f: &Facts) -> (String, Vec<String>) {
        let reg_name = f.registry.as_ref().map(|r| r.r.name.clone()).unwrap_or_default();
        let registry = |body: &str| format!("[[registry]]\nname = {}\n{body}", q(&reg_name));
        let zone = |body: &str| format!("[[private_dns_zone]]\nname = {}\n{body}", q(ACR_ZONE));
        let setting = |k: &str, v: &str| {
            (format!("[site.app_settings]\n{k} = {}\n", q(v)), vec![format!("site.app_settings.{k}")])
        };
        match self {
            Change::PullOverVnetSetting => setting("WEBSITE_PULL_IMAGE_OVER_VNET", "true"),
            Change::AzureDnsServer => setting("WEBSITE_DNS_SERVER", AZURE_DNS),
            Change::RouteAll => {
                ("[site.config]\nvnetRouteAllEnabled = true\n".into(), vec!["site.config.vnetRouteAllEnabled".into()])
            }
            Change::UseSystemIdentity => (
                "[site]\ncredentials = \"managed-identity\"\nidentity = \"system\"\npull_identity = \"system\"\n"
                    .into(),
                vec!["site.credentials".into()],
            ),
            Change::PullIdentityClientId { identity } => {
                (format!("[site]\npull_identity = {}\n", q(&format!("user:{}", last(identity)))), Vec::new())
            }
            Change::Image { image } => (format!("[site]\nimage = {}\n", q(image)), vec!["site.image".into()]),
            Change::ImagePullTraffic => (
                "[site.properties]\noutboundVnetRouting = { imagePullTraffic = true }\n".into(),
                vec!["site.properties.outboundVnetRouting".into()],
            ),
            Change::AllTraffic => (
                "[site.properties]\noutboundVnetRouting = { allTraffic = true }\n".into(),
                vec!["site.properties.outboundVnetRouting".into()],
            ),
            Change::VnetIntegration { subnet } => (
                format!(
                    "[site]\nvnet_integration = {}\n\n[site.config]\nvnetRouteAllEnabled = true\n",
                    q(&subnet_ref(subnet))
                ),
                vec!["site.vnet_integration".into(), "site.config.vnetRouteAllEnabled".into()],
            ),
            Change::CreateZone { .. } => (zone(""), Vec::new()),
            Change::ZoneLink { vnet, .. } => (
                zone(&format!("links = [{{ name = {}, vnet = {} }}]\n", q(&link_name(vnet)), q(last(vnet)))),
                Vec::new(),
            ),
            Change::ZoneGroup { endpoint, .. } => (
                format!("[[private_endpoint]]\nname = {}\ndns_zone_group = {}\n", q(last(endpoint)), q(ACR_ZONE)),
                Vec::new(),
            ),
            Change::ARecord { name, ip, .. } => (
                zone(&format!("records = [{{ name = {}, type = \"A\", values = [{}] }}]\n", q(name), q(ip))),
                Vec::new(),
            ),
            Change::Peering { a, b } => (
                format!(
                    "[[vnet]]\nname = {}\npeerings = [{{ name = {}, remote = {}, bidirectional = true }}]\n",
                    q(last(a)),
                    q(&format!("{}-to-{}", last(a), last(b))),
                    q(last(b))
                ),
                Vec::new(),
            ),
            Change::CreateEndpoint { subnet, endpoint } => (
                format!(
                    "[[private_endpoint]]\nname = {}\nsubnet = {}\ntarget = {}\n",
                    q(last(endpoint)),
                    q(&subnet_ref(subnet)),
                    q(&format!("registry:{reg_name}"))
                ),
                Vec::new(),
            ),
            Change::AcrPull { principal } => {
                let who = match principal {
                    Principal::Site => "site".to_string(),
                    Principal::Identity(id) => format!("identity:{}", last(id)),
                };
                (
                    format!(
                        "[[role_assignment]]\nprincipal = {}\nrole = \"AcrPull\"\nscope = {}\n",
                        q(&who),
                        q(&format!("registry:{reg_name}"))
                    ),
                    Vec::new(),
                )
            }
            Change::AdminCredentials => ("[site]\ncredentials = \"admin\"\n".into(), vec!["site.credentials".into()]),
            Change::AdminUser => (registry("admin_user = true\n"), vec![format!("registry[{reg_name}].admin_user")]),
            Change::PublicAccess => (
                registry("public_network_access = \"Enabled\"\ndefault_action = \"Allow\"\n"),
                vec![format!("registry[{reg_name}].public_network_access")],
            ),
            Change::PublicFrom { ip } => {
                let mut rules: Vec<String> =
                    f.registry.as_ref().map(|r| r.ip_rules.iter().map(|v| q(v)).collect()).unwrap_or_default();
                rules.push(q(&format!("{ip}/32")));
                (
                    registry(&format!(
                        "public_network_access = \"Enabled\"\ndefault_action = \"Deny\"\nip_rules = [{}]\n",
                        rules.join(", ")
                    )),
                    vec![format!("registry[{reg_name}].public_network_access")],
                )
            }
        }
    }
}

/// A change as a scenario diff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TomlDiff {
    /// TOML to merge over the scenario.
    pub text: String,
    /// `unset` paths of the scenario that would undo it, to drop.
    pub unset: Vec<String>,
    /// Keys to delete from the scenario (dotted paths).
    pub remove: Vec<String>,
}

fn principal_words(p: &Principal, f: &Facts) -> String {
    match p {
        Principal::Site => format!("site {}'s system identity", f.site.r.name),
        Principal::Identity(id) => format!("identity {}", last(id)),
    }
}

/// The ID of the ACR zone in a resource group.
pub fn zone_id(sub: &str, rg: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/privateDnsZones/{ACR_ZONE}")
}

/// The endpoint's zone group's name (a new one: `default`).
fn group_name(f: &Facts, endpoint: &str) -> String {
    f.endpoints.iter().find(|e| e.r.is(endpoint)).and_then(|e| e.zone_group.clone()).unwrap_or_else(|| "default".into())
}

/// The name a change gives the link of the ACR zone to a VNET.
fn link_name(vnet: &str) -> String {
    format!("{}-link", last(vnet))
}

fn set_settings(api: &dyn Api, site: &str, pairs: &[(&str, String)]) -> Result<(), Refused> {
    let cur = call(api, "POST", &format!("{site}/config/appsettings/list?api-version={WEB_API}"), None)?;
    let mut props = cur["properties"].as_object().cloned().unwrap_or_default();
    for (k, v) in pairs {
        props.retain(|name, _| !name.eq_ignore_ascii_case(k));
        props.insert((*k).to_string(), json!(v));
    }
    let body = json!({"properties": props});
    call(api, "PUT", &format!("{site}/config/appsettings?api-version={WEB_API}"), Some(&body)).map(drop)
}

fn patch_config(api: &dyn Api, site: &str, props: Value) -> Result<(), Refused> {
    let body = json!({"properties": props});
    call(api, "PATCH", &format!("{site}/config/web?api-version={WEB_API}"), Some(&body)).map(drop)
}

fn patch_registry(api: &dyn Api, reg: &str, props: Value) -> Result<(), Refused> {
    let body = json!({"properties": props});
    call(api, "PATCH", &format!("{reg}?api-version={ACR_API}"), Some(&body)).map(drop)
}
