//! Which way the pull leaves and which DNS servers it asks: pure functions of the site
//! (as read through ARM), the rule epoch and the network plan (docs/azure.md B and C). They
//! return values — the trace renders them, the outcome reads the route's kind from them
//! — so nothing downstream decides from text.

use std::net::Ipv4Addr;

use super::rules::{Epoch, route_rule};
use super::site::SiteView;
use super::trace::RouteKind;
use crate::netplan::{AZURE_DNS, Modeled, Plan};

/// The route of a pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// VNET or public.
    pub kind: RouteKind,
    /// The modeled address the pull leaves from.
    pub source: Modeled,
    /// Where it leaves: the site's outbound address, or a VNET's subnet.
    pub via: Via,
    /// The settings that decided it, as the trace shows them.
    pub deciding_setting: String,
    /// The rule behind the decision (an ID of the rule table).
    pub rule: &'static str,
    /// The DNS servers the pull asks, in order.
    pub resolvers: Resolvers,
    /// What the decision rests on beyond its rule: an unconfirmed reading of a setting.
    pub caveats: Vec<Caveat>,
}

/// An unconfirmed reading the route decision rests on, with the rule that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caveat {
    /// What was read, as the trace shows it.
    pub summary: String,
    /// The rule (of confidence U) behind the reading.
    pub rule: &'static str,
}

/// Where the route leaves from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// The site's public outbound address.
    Public {
        /// The address.
        outbound: Ipv4Addr,
    },
    /// An address of the integration subnet.
    Vnet {
        /// VNET name.
        vnet: String,
        /// Subnet name.
        subnet: String,
        /// The address.
        ip: Ipv4Addr,
    },
}

/// A DNS server the pull asks: its configured address and what that stands for from the
/// route's source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// As configured (`10.1.0.4`, `168.63.129.16`).
    pub ip: Ipv4Addr,
    /// The modeled address it stands for, seen from the route's source.
    pub modeled: Modeled,
}

/// The DNS servers of a route, by precedence (docs/azure.md C): never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolvers {
    /// Asked first.
    pub primary: Server,
    /// Asked in order when the one before does not answer (`dnsAltServer`).
    pub alternates: Vec<Server>,
    /// Which setting chose them.
    pub setting: ResolverSetting,
}

impl Resolvers {
    /// Every server, in the order asked.
    pub fn all(&self) -> impl Iterator<Item = &Server> {
        std::iter::once(&self.primary).chain(&self.alternates)
    }
}

/// Which setting chose the DNS servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolverSetting {
    /// The public route: the platform's resolver, Azure DNS's public view.
    PublicRoute,
    /// `dnsConfiguration.dnsServers` of the site.
    SiteDnsServers,
    /// The app setting `WEBSITE_DNS_SERVER`.
    AppSetting,
    /// The integration VNET's `dhcpOptions.dnsServers`.
    VnetDnsServers {
        /// VNET name.
        vnet: String,
    },
    /// No custom DNS anywhere: Azure DNS in the VNET's view.
    AzureDns,
}

impl ResolverSetting {
    /// The setting as the trace names it.
    pub fn text(&self) -> String {
        match self {
            ResolverSetting::PublicRoute => "public route".into(),
            ResolverSetting::SiteDnsServers => "dnsConfiguration.dnsServers".into(),
            ResolverSetting::AppSetting => "WEBSITE_DNS_SERVER".into(),
            ResolverSetting::VnetDnsServers { vnet } => format!("VNET {vnet} dnsServers"),
            ResolverSetting::AzureDns => "Azure DNS (no custom DNS anywhere)".into(),
        }
    }

    /// Whether the servers are custom ones (which see private zones only by forwarding).
    pub fn is_custom(&self) -> bool {
        matches!(
            self,
            ResolverSetting::SiteDnsServers | ResolverSetting::AppSetting | ResolverSetting::VnetDnsServers { .. }
        )
    }

    /// The rule a failed resolution is charged to: custom DNS or the private zone.
    pub fn failure_rule(&self) -> &'static str {
        if self.is_custom() { "dns.custom" } else { "dns.private-zone" }
    }
}

/// Why no route could be chosen: the platform's own data is missing (a pullsim fault,
/// not a modeled outcome).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The public route needs the site's outbound address.
    #[error("the site {site} has no outboundIpAddresses")]
    NoOutboundAddress {
        /// Site ID.
        site: String,
    },
    /// The integration subnet is not in the network plan.
    #[error("the integration subnet {subnet} is not in the network plan")]
    SubnetNotInPlan {
        /// Subnet ID.
        subnet: String,
    },
    /// The integration subnet has no address for the worker.
    #[error("the integration subnet {subnet} is too small for the worker's address")]
    SubnetTooSmall {
        /// Subnet name.
        subnet: String,
    },
}

/// The route of `view`'s pull under `epoch` (docs/azure.md B), with its DNS servers.
pub fn decide(view: &SiteView, epoch: Epoch, plan: &Plan) -> Result<Route, RouteError> {
    let Some(subnet_id) = &view.subnet_id else {
        let why = "virtualNetworkSubnetId is not set (no VNET integration)".into();
        return public(view, why, "route.integration", Vec::new());
    };
    let (over_vnet, why) = over_vnet(view, epoch);
    let caveats = caveats(view, epoch);
    if !over_vnet {
        return public(view, why, route_rule(epoch).id, caveats);
    }
    let (vnet, subnet) =
        plan.subnet(subnet_id).ok_or_else(|| RouteError::SubnetNotInPlan { subnet: subnet_id.clone() })?;
    let ip = subnet.prefix.nth(4).ok_or_else(|| RouteError::SubnetTooSmall { subnet: subnet.name.clone() })?;
    let source = Modeled::private(&vnet.key, ip);
    let resolvers = vnet_resolvers(view, &vnet.name, &vnet.dns_servers, plan, &source);
    Ok(Route {
        kind: RouteKind::Vnet,
        via: Via::Vnet { vnet: vnet.name.clone(), subnet: subnet.name.clone(), ip },
        source,
        deciding_setting: why,
        rule: route_rule(epoch).id,
        resolvers,
        caveats,
    })
}

fn public(view: &SiteView, why: String, rule: &'static str, caveats: Vec<Caveat>) -> Result<Route, RouteError> {
    let outbound = view.outbound_ip.ok_or_else(|| RouteError::NoOutboundAddress { site: view.id.clone() })?;
    Ok(Route {
        kind: RouteKind::Public,
        source: Modeled::public(outbound),
        via: Via::Public { outbound },
        deciding_setting: why,
        rule,
        resolvers: Resolvers {
            primary: Server { ip: AZURE_DNS, modeled: Modeled::azure_dns() },
            alternates: Vec::new(),
            setting: ResolverSetting::PublicRoute,
        },
        caveats,
    })
}

fn on(b: bool) -> &'static str {
    if b { "true" } else { "unset" }
}

/// Whether the pull takes the VNET in this epoch, and the settings that say so.
fn over_vnet(v: &SiteView, epoch: Epoch) -> (bool, String) {
    let pull_setting = v.setting_true("WEBSITE_PULL_IMAGE_OVER_VNET");
    match epoch {
        Epoch::E2021_07 => {
            let route_all_setting = v.setting_true("WEBSITE_VNET_ROUTE_ALL");
            let ra = if v.route_all {
                "vnetRouteAllEnabled=true"
            } else if route_all_setting {
                "WEBSITE_VNET_ROUTE_ALL=1"
            } else {
                "route-all off"
            };
            let route_all = v.route_all || route_all_setting;
            (pull_setting && route_all, format!("WEBSITE_PULL_IMAGE_OVER_VNET={} and {ra}", on(pull_setting)))
        }
        Epoch::E2021_11 => (pull_setting, format!("WEBSITE_PULL_IMAGE_OVER_VNET={}", on(pull_setting))),
        Epoch::E2022_03 => (
            v.image_pull_property || pull_setting,
            format!(
                "vnetImagePullEnabled={} and WEBSITE_PULL_IMAGE_OVER_VNET={}",
                v.image_pull_property,
                on(pull_setting)
            ),
        ),
        Epoch::E2024_11 => (
            v.all_traffic || v.image_pull_property || pull_setting,
            format!(
                "outboundVnetRouting.allTraffic={}, imagePullTraffic={}, WEBSITE_PULL_IMAGE_OVER_VNET={}{}",
                v.all_traffic,
                v.image_pull_property,
                on(pull_setting),
                if v.route_all { " (applicationTraffic=true does not carry the pull)" } else { "" }
            ),
        ),
    }
}

/// The sourced spellings of the routing app settings (rule `setting.spellings`): the
/// blog writes `WEBSITE_PULL_IMAGE_OVER_VNET=true` and `WEBSITE_VNET_ROUTE_ALL=1`.
pub const SOURCED_SPELLINGS: [(&str, &str); 2] =
    [("WEBSITE_PULL_IMAGE_OVER_VNET", "true"), ("WEBSITE_VNET_ROUTE_ALL", "1")];

/// The unconfirmed readings the decision in `epoch` rests on: a routing setting counted
/// on in a spelling no source shows, and (2022-03) the setting routing the pull while
/// `vnetImagePullEnabled` reads false.
fn caveats(v: &SiteView, epoch: Epoch) -> Vec<Caveat> {
    let mut out = Vec::new();
    for (name, sourced) in SOURCED_SPELLINGS {
        // WEBSITE_VNET_ROUTE_ALL is read in 2021-07 only.
        if name == "WEBSITE_VNET_ROUTE_ALL" && epoch != Epoch::E2021_07 {
            continue;
        }
        if let Some(value) = v.setting(name).filter(|_| v.setting_true(name))
            && value != sourced
        {
            out.push(Caveat {
                summary: format!("{name}={value} counted as on (the sources write {sourced})"),
                rule: "setting.spellings",
            });
        }
    }
    if epoch == Epoch::E2022_03 && !v.image_pull_property && v.setting_true("WEBSITE_PULL_IMAGE_OVER_VNET") {
        out.push(Caveat {
            summary: "vnetImagePullEnabled reads false: the app setting routes the pull (an explicit false is not told from the default)".into(),
            rule: "route.property-false",
        });
    }
    out
}

/// The DNS servers over the VNET, by precedence (docs/azure.md C): the site's
/// `dnsConfiguration.dnsServers`, else `WEBSITE_DNS_SERVER`, else the VNET's servers,
/// else Azure DNS; then `dnsAltServer` (or `WEBSITE_DNS_ALT_SERVER`).
fn vnet_resolvers(
    v: &SiteView,
    vnet_name: &str,
    vnet_servers: &[Ipv4Addr],
    plan: &Plan,
    source: &Modeled,
) -> Resolvers {
    let app_dns: Vec<Ipv4Addr> = v
        .setting("WEBSITE_DNS_SERVER")
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_default();
    let (first, rest, setting) = if let Some((f, r)) = v.dns_servers.split_first() {
        (*f, r.to_vec(), ResolverSetting::SiteDnsServers)
    } else if let Some((f, r)) = app_dns.split_first() {
        (*f, r.to_vec(), ResolverSetting::AppSetting)
    } else if let Some((f, r)) = vnet_servers.split_first() {
        (*f, r.to_vec(), ResolverSetting::VnetDnsServers { vnet: vnet_name.to_string() })
    } else {
        (AZURE_DNS, Vec::new(), ResolverSetting::AzureDns)
    };
    let alt = v.dns_alt_server.or_else(|| v.setting("WEBSITE_DNS_ALT_SERVER").and_then(|s| s.trim().parse().ok()));
    let server = |ip: Ipv4Addr| Server { ip, modeled: plan.locate(source, ip) };
    let primary = server(first);
    let alternates = rest.into_iter().chain(alt).map(server).collect();
    Resolvers { primary, alternates, setting }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(settings: &[(&str, &str)], subnet: Option<&str>) -> SiteView {
        SiteView {
            id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app".into(),
            settings: settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            subnet_id: subnet.map(str::to_string),
            outbound_ip: Some([20, 0, 0, 1].into()),
            ..SiteView::default()
        }
    }

    #[test]
    fn without_vnet_integration_the_route_is_public_whatever_the_epoch() {
        for e in Epoch::ALL {
            let r = decide(&site(&[("WEBSITE_PULL_IMAGE_OVER_VNET", "true")], None), e, &Plan::default()).unwrap();
            assert_eq!((r.kind, r.rule), (RouteKind::Public, "route.integration"));
            assert_eq!(r.resolvers.setting, ResolverSetting::PublicRoute);
            assert_eq!(r.resolvers.setting.failure_rule(), "dns.private-zone");
        }
    }

    #[test]
    fn route_all_alone_keeps_the_2024_pull_public_and_says_why() {
        let mut v = site(&[], Some("/x/subnets/integration"));
        v.route_all = true;
        let r = decide(&v, Epoch::E2024_11, &Plan::default()).unwrap();
        assert_eq!((r.kind, r.rule), (RouteKind::Public, "route.2024-11"));
        assert!(r.deciding_setting.ends_with("(applicationTraffic=true does not carry the pull)"));
    }

    #[test]
    fn a_site_missing_platform_data_is_an_error_not_a_route() {
        let mut v = site(&[], None);
        v.outbound_ip = None;
        assert!(matches!(decide(&v, Epoch::LATEST, &Plan::default()), Err(RouteError::NoOutboundAddress { .. })));
        let v = site(&[("WEBSITE_PULL_IMAGE_OVER_VNET", "true")], Some("/nowhere/subnets/s"));
        assert!(matches!(decide(&v, Epoch::LATEST, &Plan::default()), Err(RouteError::SubnetNotInPlan { .. })));
    }

    #[test]
    fn custom_dns_settings_are_charged_to_the_custom_dns_rule() {
        for s in [
            ResolverSetting::SiteDnsServers,
            ResolverSetting::AppSetting,
            ResolverSetting::VnetDnsServers { vnet: "hub".into() },
        ] {
            assert_eq!(s.failure_rule(), "dns.custom", "{s:?}");
        }
        assert_eq!(ResolverSetting::AzureDns.failure_rule(), "dns.private-zone");
        assert_eq!(ResolverSetting::VnetDnsServers { vnet: "hub".into() }.text(), "VNET hub dnsServers");
    }
}
