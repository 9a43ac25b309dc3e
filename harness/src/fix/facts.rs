//! What the fix search needs to know of a configuration, read from the store's JSON
//! (what ARM wrote): the site, the registry its image names, the networks, private DNS
//! zones, private endpoints and identities — each with its ID, name and resource group,
//! so a change can name the user's own resources.

use std::net::Ipv4Addr;

use mock_azure::model::PRIVATE;
use mock_azure::model::id::ResourceId;
use serde_json::{Map, Value};

/// A resource's ID, name and resource group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The resource ID as ARM wrote it.
    pub id: String,
    /// Its name (for a nested one, the last segment).
    pub name: String,
    /// Its resource group.
    pub rg: String,
}

impl Named {
    fn of(v: &Value) -> Named {
        let id = v["id"].as_str().unwrap_or_default().to_string();
        let parsed = ResourceId::parse(&id).ok();
        Named {
            name: v["name"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| parsed.as_ref().map(|p| p.name().to_string()).unwrap_or_default()),
            rg: parsed.and_then(|p| p.resource_group).unwrap_or_default(),
            id,
        }
    }

    /// Whether `other` (any case) is this resource's ID.
    pub fn is(&self, other: &str) -> bool {
        self.id.eq_ignore_ascii_case(other)
    }
}

/// The site.
#[derive(Debug, Clone)]
pub struct Site {
    /// Its ID, name and resource group.
    pub r: Named,
    /// `virtualNetworkSubnetId`, when VNET-integrated.
    pub subnet: Option<String>,
    /// App settings by name.
    pub settings: Map<String, Value>,
    /// `config/web` properties.
    pub config: Value,
    /// Site properties.
    pub props: Value,
    /// The system identity's principal, if it has one.
    pub system_principal: Option<String>,
    /// User identities assigned to it: resource ID, client ID, principal ID.
    pub user_identities: Vec<(String, String, String)>,
    /// The platform's outbound addresses (the public route's source).
    pub outbound: Vec<Ipv4Addr>,
    /// The image (`linuxFxVersion` without `DOCKER|`).
    pub image: Option<String>,
}

impl Site {
    /// An app setting, if set (names are case-insensitive).
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.as_str())
    }

    /// The image's registry host, repository and tag or digest.
    pub fn image_parts(&self) -> Option<(String, String, String)> {
        let img = self.image.as_deref()?;
        let (name, reference) = match img.split_once('@') {
            Some((n, d)) => (n, d.to_string()),
            None => match img.rsplit_once(':') {
                Some((n, t)) if !t.contains('/') => (n, t.to_string()),
                _ => (img, "latest".to_string()),
            },
        };
        let (host, repo) = name.split_once('/').filter(|(h, _)| h.contains('.'))?;
        Some((host.to_ascii_lowercase(), repo.to_string(), reference))
    }

    /// Whether the site pulls with a managed identity.
    pub fn uses_managed_identity(&self) -> bool {
        truthy(&self.config["acrUseManagedIdentityCreds"])
    }
}

/// The registry the image names.
#[derive(Debug, Clone)]
pub struct Registry {
    /// Its ID, name and resource group.
    pub r: Named,
    /// `loginServer`.
    pub login_server: String,
    /// Its region.
    pub location: String,
    /// `adminUserEnabled`.
    pub admin: bool,
    /// `publicNetworkAccess` is Enabled.
    pub public: bool,
    /// `networkRuleSet.defaultAction` is Deny.
    pub default_deny: bool,
    /// `networkRuleSet.ipRules` values.
    pub ip_rules: Vec<String>,
    /// The SKU's name.
    pub sku: String,
}

/// A subnet.
#[derive(Debug, Clone)]
pub struct Subnet {
    /// Its ID, name and resource group.
    pub r: Named,
    /// Delegated to `Microsoft.Web/serverFarms`.
    pub web_delegated: bool,
}

/// A virtual network.
#[derive(Debug, Clone)]
pub struct Vnet {
    /// Its ID, name and resource group.
    pub r: Named,
    /// `dhcpOptions.dnsServers` (empty: Azure DNS).
    pub dns_servers: Vec<String>,
    /// Its subnets.
    pub subnets: Vec<Subnet>,
    /// Remote VNET IDs of its connected peerings.
    pub peers: Vec<String>,
    /// The public address its traffic to the internet leaves from.
    pub egress: Option<Ipv4Addr>,
    /// Its region.
    pub location: String,
}

/// A private DNS zone.
#[derive(Debug, Clone)]
pub struct Zone {
    /// Its ID, name and resource group.
    pub r: Named,
    /// `(link name, VNET ID)` of its virtual network links.
    pub links: Vec<(String, String)>,
    /// A record sets: relative name → addresses.
    pub a_records: Vec<(String, Vec<String>)>,
}

/// A private endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Its ID, name and resource group.
    pub r: Named,
    /// The resource it connects to.
    pub target: Option<String>,
    /// Its subnet's ID.
    pub subnet: String,
    /// `(fqdn, address)` of each member (`customDnsConfigs`).
    pub dns: Vec<(String, String)>,
    /// Zone IDs its zone group writes to.
    pub zone_group_zones: Vec<String>,
    /// Its zone group's name, if it has one.
    pub zone_group: Option<String>,
}

/// A user-assigned identity.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Its ID, name and resource group.
    pub r: Named,
    /// Its client ID.
    pub client_id: String,
    /// Its principal ID.
    pub principal_id: String,
}

/// Everything the knobs are made from.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The subscription.
    pub sub: String,
    /// The site.
    pub site: Site,
    /// The registry the image names, if it is an ACR of this Azure.
    pub registry: Option<Registry>,
    /// Every VNET.
    pub vnets: Vec<Vnet>,
    /// Every private DNS zone.
    pub zones: Vec<Zone>,
    /// Every private endpoint.
    pub endpoints: Vec<Endpoint>,
    /// Every user-assigned identity.
    pub identities: Vec<Identity>,
    /// `(principal ID, scope, role name)` of every role assignment.
    pub role_assignments: Vec<(String, String, String)>,
}

fn truthy(v: &Value) -> bool {
    v.as_bool().unwrap_or(false) || v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true"))
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().filter_map(|x| x.as_str().map(str::to_string)).collect()
}

fn of_type<'a>(all: &'a [Value], ty: &str) -> impl Iterator<Item = &'a Value> {
    let ty = ty.to_string();
    all.iter().filter(move |v| v["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(&ty)))
}

fn by_key<'a>(all: &'a [Value], id: &str) -> Option<&'a Value> {
    all.iter().find(|v| v["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
}

impl Facts {
    /// Reads the facts from every resource of a store (`Store::filter(|_, _| true)`);
    /// `None` when the site is not there.
    pub fn read(all: &[Value], sub: &str, site_id: &str) -> Option<Facts> {
        let site_v = by_key(all, site_id)?;
        let config = by_key(all, &format!("{site_id}/config/web")).map(|c| c["properties"].clone()).unwrap_or_default();
        let settings = by_key(all, &format!("{site_id}/config/appsettings"))
            .and_then(|c| c["properties"].as_object().cloned())
            .unwrap_or_default();
        let props = site_v["properties"].clone();
        let user_identities = site_v["identity"]["userAssignedIdentities"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(id, v)| {
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                (id.clone(), s("clientId"), s("principalId"))
            })
            .collect();
        let site = Site {
            r: Named::of(site_v),
            subnet: props["virtualNetworkSubnetId"].as_str().filter(|s| !s.is_empty()).map(str::to_string),
            settings,
            image: config["linuxFxVersion"]
                .as_str()
                .and_then(|fx| fx.strip_prefix("DOCKER|").or_else(|| fx.strip_prefix("docker|")))
                .map(str::to_string),
            config,
            system_principal: site_v["identity"]["principalId"].as_str().map(str::to_string),
            user_identities,
            outbound: props["outboundIpAddresses"]
                .as_str()
                .unwrap_or_default()
                .split(',')
                .filter_map(|s| s.trim().parse().ok())
                .collect(),
            props,
        };
        let host = site.image_parts().map(|(h, _, _)| h);
        let registry = of_type(all, "Microsoft.ContainerRegistry/registries")
            .find(|r| {
                host.as_deref()
                    .is_some_and(|h| r["properties"]["loginServer"].as_str().is_some_and(|l| l.eq_ignore_ascii_case(h)))
            })
            .map(|r| {
                let p = &r["properties"];
                Registry {
                    r: Named::of(r),
                    login_server: p["loginServer"].as_str().unwrap_or_default().to_string(),
                    location: r["location"].as_str().unwrap_or_default().to_ascii_lowercase(),
                    admin: truthy(&p["adminUserEnabled"]),
                    public: p["publicNetworkAccess"] != "Disabled",
                    default_deny: p["networkRuleSet"]["defaultAction"] == "Deny",
                    ip_rules: p["networkRuleSet"]["ipRules"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|r| r["value"].as_str().map(str::to_string))
                        .collect(),
                    sku: r["sku"]["name"].as_str().unwrap_or_default().to_string(),
                }
            });
        let vnets = of_type(all, "Microsoft.Network/virtualNetworks")
            .map(|v| {
                let key = v["id"].as_str().unwrap_or_default().to_ascii_lowercase();
                let subnets = of_type(all, "Microsoft.Network/virtualNetworks/subnets")
                    .filter(|s| {
                        s["id"].as_str().is_some_and(|i| i.to_ascii_lowercase().starts_with(&format!("{key}/")))
                    })
                    .map(|s| Subnet {
                        r: Named::of(s),
                        web_delegated: s["properties"]["delegations"].as_array().into_iter().flatten().any(|d| {
                            d["properties"]["serviceName"]
                                .as_str()
                                .is_some_and(|n| n.eq_ignore_ascii_case("Microsoft.Web/serverFarms"))
                        }),
                    })
                    .collect();
                let peers = of_type(all, "Microsoft.Network/virtualNetworks/virtualNetworkPeerings")
                    .filter(|p| {
                        p["id"].as_str().is_some_and(|i| i.to_ascii_lowercase().starts_with(&format!("{key}/")))
                    })
                    .filter(|p| p["properties"]["peeringState"] == "Connected")
                    .filter_map(|p| p["properties"]["remoteVirtualNetwork"]["id"].as_str().map(str::to_string))
                    .collect();
                Vnet {
                    r: Named::of(v),
                    dns_servers: strs(&v["properties"]["dhcpOptions"]["dnsServers"]),
                    subnets,
                    peers,
                    egress: v[PRIVATE]["publicIps"][0].as_str().and_then(|s| s.parse().ok()),
                    location: v["location"].as_str().unwrap_or_default().to_string(),
                }
            })
            .collect();
        let zones = of_type(all, "Microsoft.Network/privateDnsZones")
            .map(|z| {
                let key = z["id"].as_str().unwrap_or_default().to_ascii_lowercase();
                let under = |v: &&Value| {
                    v["id"].as_str().is_some_and(|i| i.to_ascii_lowercase().starts_with(&format!("{key}/")))
                };
                Zone {
                    r: Named::of(z),
                    links: of_type(all, "Microsoft.Network/privateDnsZones/virtualNetworkLinks")
                        .filter(under)
                        .map(|l| {
                            let name = Named::of(l).id.rsplit('/').next().unwrap_or_default().to_string();
                            (name, l["properties"]["virtualNetwork"]["id"].as_str().unwrap_or_default().to_string())
                        })
                        .collect(),
                    a_records: of_type(all, "Microsoft.Network/privateDnsZones/A")
                        .filter(under)
                        .map(|a| {
                            let name =
                                a["id"].as_str().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_string();
                            let ips = a["properties"]["aRecords"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|r| r["ipv4Address"].as_str().map(str::to_string))
                                .collect();
                            (name, ips)
                        })
                        .collect(),
                }
            })
            .collect();
        let endpoints = of_type(all, "Microsoft.Network/privateEndpoints")
            .map(|pe| {
                let key = pe["id"].as_str().unwrap_or_default().to_ascii_lowercase();
                let p = &pe["properties"];
                let target = p["privateLinkServiceConnections"][0]["properties"]["privateLinkServiceId"]
                    .as_str()
                    .or_else(|| {
                        p["manualPrivateLinkServiceConnections"][0]["properties"]["privateLinkServiceId"].as_str()
                    })
                    .map(str::to_string);
                let groups: Vec<&Value> = of_type(all, "Microsoft.Network/privateEndpoints/privateDnsZoneGroups")
                    .filter(|g| {
                        g["id"].as_str().is_some_and(|i| i.to_ascii_lowercase().starts_with(&format!("{key}/")))
                    })
                    .collect();
                let zone_group = groups
                    .first()
                    .and_then(|g| g["id"].as_str())
                    .and_then(|i| i.rsplit('/').next())
                    .map(str::to_string);
                let zone_group_zones = groups
                    .iter()
                    .flat_map(|g| {
                        g["properties"]["privateDnsZoneConfigs"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|c| c["properties"]["privateDnsZoneId"].as_str().map(str::to_string))
                            .collect::<Vec<_>>()
                    })
                    .collect();
                Endpoint {
                    r: Named::of(pe),
                    target,
                    subnet: p["subnet"]["id"].as_str().unwrap_or_default().to_string(),
                    dns: p["customDnsConfigs"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|c| {
                            Some((c["fqdn"].as_str()?.to_string(), c["ipAddresses"][0].as_str()?.to_string()))
                        })
                        .collect(),
                    zone_group_zones,
                    zone_group,
                }
            })
            .collect();
        let identities = of_type(all, "Microsoft.ManagedIdentity/userAssignedIdentities")
            .map(|i| Identity {
                r: Named::of(i),
                client_id: i["properties"]["clientId"].as_str().unwrap_or_default().to_string(),
                principal_id: i["properties"]["principalId"].as_str().unwrap_or_default().to_string(),
            })
            .collect();
        let role_assignments = of_type(all, "Microsoft.Authorization/roleAssignments")
            .map(|a| {
                let p = &a["properties"];
                let role = mock_azure::arm::roles::by_id(p["roleDefinitionId"].as_str().unwrap_or_default())
                    .map(|r| r.name.to_string())
                    .unwrap_or_default();
                (
                    p["principalId"].as_str().unwrap_or_default().to_string(),
                    p["scope"].as_str().unwrap_or_default().to_string(),
                    role,
                )
            })
            .collect();
        Some(Facts { sub: sub.to_string(), site, registry, vnets, zones, endpoints, identities, role_assignments })
    }

    /// The VNET holding a subnet ID.
    pub fn vnet_of_subnet(&self, subnet: &str) -> Option<&Vnet> {
        let (vnet, _) = subnet.rsplit_once("/subnets/")?;
        self.vnets.iter().find(|v| v.r.is(vnet))
    }

    /// The site's integration VNET.
    pub fn integration_vnet(&self) -> Option<&Vnet> {
        self.vnet_of_subnet(self.site.subnet.as_deref()?)
    }

    /// The privatelink zone for ACR, if it exists.
    pub fn acr_zone(&self) -> Option<&Zone> {
        self.zones.iter().find(|z| z.r.name.eq_ignore_ascii_case(ACR_ZONE))
    }
}

/// The private DNS zone of ACR's private endpoints.
pub const ACR_ZONE: &str = "privatelink.azurecr.io";
