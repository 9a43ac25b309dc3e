//! The rules of the App Service image pull as data: each with the epochs it holds in,
//! its source and its confidence (docs/azure.md holds the facts; docs/confidence.md lists
//! each rule's confidence beside its fact, and a test holds this table to it). The worker and the oracle cite
//! rules by ID; `pullsim rules` prints this table.

use std::fmt;
use std::str::FromStr;

/// A period in which Azure's rules for the pull were stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Epoch {
    /// July 2021: pull over VNET needs the app setting and route-all; no managed identity.
    #[serde(rename = "2021-07")]
    E2021_07,
    /// November 2021: route-all no longer needed; managed identity over VNET works.
    #[serde(rename = "2021-11")]
    E2021_11,
    /// api-version 2022-03-01: the site property `vnetImagePullEnabled`.
    #[serde(rename = "2022-03")]
    E2022_03,
    /// api-version 2024-11-01: `outboundVnetRouting`.
    #[serde(rename = "2024-11")]
    E2024_11,
}

impl Epoch {
    /// Every epoch, oldest first.
    pub const ALL: [Epoch; 4] = [Epoch::E2021_07, Epoch::E2021_11, Epoch::E2022_03, Epoch::E2024_11];
    /// The newest epoch (the default).
    pub const LATEST: Epoch = Epoch::E2024_11;

    /// `2021-07` etc.
    pub fn as_str(self) -> &'static str {
        match self {
            Epoch::E2021_07 => "2021-07",
            Epoch::E2021_11 => "2021-11",
            Epoch::E2022_03 => "2022-03",
            Epoch::E2024_11 => "2024-11",
        }
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown epoch name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown rules epoch '{0}'; known: 2021-07, 2021-11, 2022-03, 2024-11")]
pub struct UnknownEpoch(pub String);

impl FromStr for Epoch {
    type Err = UnknownEpoch;
    fn from_str(s: &str) -> Result<Epoch, UnknownEpoch> {
        Epoch::ALL.into_iter().find(|e| e.as_str() == s).ok_or_else(|| UnknownEpoch(s.to_string()))
    }
}

/// How sure we are of a rule (docs/azure.md's legend).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Confidence {
    /// Confirmed in a primary source.
    Confirmed,
    /// Inferred from several sources.
    Inferred,
    /// Unconfirmed: modeled, but marked.
    Unconfirmed,
}

impl Confidence {
    /// `[C]`, `[I]`, `[U]` as docs/azure.md writes them.
    pub fn tag(self) -> &'static str {
        match self {
            Confidence::Confirmed => "C",
            Confidence::Inferred => "I",
            Confidence::Unconfirmed => "U",
        }
    }
}

/// One rule.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rule {
    /// Stable ID cited by traces (`route.2021-07`).
    pub id: &'static str,
    /// What it says, in a sentence.
    pub text: &'static str,
    /// First epoch it holds in.
    pub since: Epoch,
    /// Last epoch it holds in (`None`: still holds).
    pub until: Option<Epoch>,
    /// Where it comes from.
    pub source: &'static str,
    /// How sure we are.
    pub confidence: Confidence,
}

impl Rule {
    /// Whether the rule holds in `e`.
    pub fn holds_in(&self, e: Epoch) -> bool {
        e >= self.since && self.until.is_none_or(|u| e <= u)
    }
}

const BLOG_2021: &str =
    "https://azure.github.io/AppService/2021/07/03/Linux-container-from-ACR-with-private-endpoint.html";
const ROUTING_DOC: &str = "https://learn.microsoft.com/azure/app-service/configure-vnet-integration-routing";
const NAME_RESOLUTION: &str = "https://learn.microsoft.com/azure/app-service/overview-name-resolution";
const ACR_PRIVATE_LINK: &str = "https://learn.microsoft.com/azure/container-registry/container-registry-private-link";
const ACR_AAD: &str = "https://github.com/Azure/acr/blob/main/docs/AAD-OAuth.md";
const DOCKER_REFERENCE: &str = "https://github.com/distribution/reference/blob/main/reference.go";

use Confidence::{Confirmed, Inferred, Unconfirmed};
use Epoch::{E2021_07, E2021_11, E2022_03, E2024_11};

/// The rule table.
pub const RULES: &[Rule] = &[
    Rule {
        id: "route.integration",
        text: "The image pull can only use the VNET when the app is VNET-integrated (a subnet delegated to Microsoft.Web/serverFarms); otherwise it leaves by the platform's public outbound addresses.",
        since: E2021_07,
        until: None,
        source: BLOG_2021,
        confidence: Confirmed,
    },
    Rule {
        id: "route.2021-07",
        text: "The pull uses the VNET only with WEBSITE_PULL_IMAGE_OVER_VNET=true AND route-all (vnetRouteAllEnabled or WEBSITE_VNET_ROUTE_ALL=1, either suffices).",
        since: E2021_07,
        until: Some(E2021_07),
        source: BLOG_2021,
        confidence: Confirmed,
    },
    Rule {
        id: "route.2021-11",
        text: "Route-all is no longer needed: WEBSITE_PULL_IMAGE_OVER_VNET=true alone sends the pull through the VNET; without it the pull stays public.",
        since: E2021_11,
        until: Some(E2021_11),
        source: BLOG_2021,
        confidence: Confirmed,
    },
    Rule {
        id: "route.2022-03",
        text: "The site property vnetImagePullEnabled or the app setting WEBSITE_PULL_IMAGE_OVER_VNET=true sends the pull through the VNET; site properties take precedence over the equivalent app settings.",
        since: E2022_03,
        until: Some(E2022_03),
        source: ROUTING_DOC,
        confidence: Confirmed,
    },
    Rule {
        id: "route.property-false",
        text: "vnetImagePullEnabled=false with WEBSITE_PULL_IMAGE_OVER_VNET=true: whether the property's false outvotes the setting is unconfirmed. The API shows an explicit false exactly as the default, so pullsim lets the setting send the pull through the VNET.",
        since: E2022_03,
        until: Some(E2022_03),
        source: ROUTING_DOC,
        confidence: Unconfirmed,
    },
    Rule {
        id: "route.2024-11",
        text: "outboundVnetRouting.imagePullTraffic (was vnetImagePullEnabled) or allTraffic, or the legacy WEBSITE_PULL_IMAGE_OVER_VNET=true, sends the pull through the VNET; applicationTraffic (route-all) alone does NOT: the pull is configuration traffic.",
        since: E2024_11,
        until: None,
        source: ROUTING_DOC,
        confidence: Confirmed,
    },
    Rule {
        id: "route.egress",
        text: "Traffic from the VNET to a public address leaves through the VNET's outbound address (NAT gateway or Azure's default outbound address), not the site's outboundIpAddresses.",
        since: E2021_07,
        until: None,
        source: ROUTING_DOC,
        confidence: Inferred,
    },
    Rule {
        id: "setting.spellings",
        text: "The sources spell the values WEBSITE_PULL_IMAGE_OVER_VNET=true and WEBSITE_VNET_ROUTE_ALL=1. pullsim also counts true in any case and 1 for either setting; that App Service reads these spellings so is unconfirmed.",
        since: E2021_07,
        until: None,
        source: BLOG_2021,
        confidence: Unconfirmed,
    },
    Rule {
        id: "dns.resolver",
        text: "Over the VNET the pull resolves with dnsConfiguration.dnsServers, else WEBSITE_DNS_SERVER, else the VNET's DNS servers, else Azure DNS (168.63.129.16); over the public route with Azure DNS's public view. WEBSITE_DNS_SERVER=168.63.129.16 is not needed.",
        since: E2021_07,
        until: None,
        source: NAME_RESOLUTION,
        confidence: Confirmed,
    },
    Rule {
        id: "dns.private-zone",
        text: "From a VNET linked to privatelink.azurecr.io, <reg>.azurecr.io is a CNAME to <reg>.privatelink.azurecr.io whose A record is the private endpoint's address; linked without the record: NXDOMAIN (unless the link's resolutionPolicy is NxDomainRedirect); unlinked: the public address.",
        since: E2021_07,
        until: None,
        source: ACR_PRIVATE_LINK,
        confidence: Confirmed,
    },
    Rule {
        id: "dns.custom",
        text: "Custom DNS servers see private zones only if they forward to 168.63.129.16 (from a VNET linked to the zone).",
        since: E2021_07,
        until: None,
        source: NAME_RESOLUTION,
        confidence: Confirmed,
    },
    Rule {
        id: "dns.public-resolver",
        text: "A public address named as a DNS server (dnsConfiguration.dnsServers, WEBSITE_DNS_SERVER, a VNET's DNS servers) is an internet resolver: asked over the VNET's outbound path, it answers with the public chain to the registry's public address, so the registry's firewall decides.",
        since: E2021_07,
        until: None,
        source: NAME_RESOLUTION,
        confidence: Inferred,
    },
    Rule {
        id: "dns.zone-group",
        text: "Each private endpoint's zone group writes the record sets of its endpoint's names: a second endpoint for the same registry in the same zone overwrites them, and deleting an endpoint removes the records its zone group wrote.",
        since: E2021_07,
        until: None,
        source: ACR_PRIVATE_LINK,
        confidence: Inferred,
    },
    Rule {
        id: "net.private",
        text: "A private endpoint's address is reachable only from its own VNET or a peered one.",
        since: E2021_07,
        until: None,
        source: BLOG_2021,
        confidence: Confirmed,
    },
    Rule {
        id: "acr.firewall",
        text: "ACR refuses requests on its public endpoint when publicNetworkAccess is Disabled, or when networkRuleSet.defaultAction is Deny and the client address matches no ipRule; on a private endpoint it accepts when the endpoint connection is Approved.",
        since: E2021_07,
        until: None,
        source: ACR_PRIVATE_LINK,
        confidence: Confirmed,
    },
    Rule {
        id: "acr.data-endpoint",
        text: "Blob downloads are redirected (307) to the data endpoint <reg>.<region>.data.azurecr.io, which must resolve and be reachable too; a private endpoint gives it its own address and record.",
        since: E2021_07,
        until: None,
        source: ACR_PRIVATE_LINK,
        confidence: Confirmed,
    },
    Rule {
        id: "auth.admin",
        text: "With DOCKER_REGISTRY_SERVER_URL/USERNAME/PASSWORD the platform authenticates as the ACR admin user, which must be enabled and the password current.",
        since: E2021_07,
        until: None,
        source: BLOG_2021,
        confidence: Confirmed,
    },
    Rule {
        id: "auth.mi-2021-07",
        text: "A managed identity cannot be used for a pull over the VNET: the admin user is required.",
        since: E2021_07,
        until: Some(E2021_07),
        source: BLOG_2021,
        confidence: Confirmed,
    },
    Rule {
        id: "auth.mi",
        text: "acrUseManagedIdentityCreds=true pulls with the system identity, or with the user identity whose client ID is acrUserManagedIdentityID (a resource ID there is a mistake); the identity needs AcrPull on the registry.",
        since: E2021_07,
        until: None,
        source: ACR_AAD,
        confidence: Confirmed,
    },
    Rule {
        id: "auth.mi-over-vnet",
        text: "Managed identity works for a pull over the VNET.",
        since: E2021_11,
        until: None,
        source: BLOG_2021,
        confidence: Confirmed,
    },
    Rule {
        id: "image.dockerhub",
        text: "Without DOCKER_REGISTRY_SERVER_URL the platform treats the image as Docker Hub's and pulls anonymously.",
        since: E2021_07,
        until: None,
        source: BLOG_2021,
        confidence: Confirmed,
    },
    Rule {
        id: "image.manifest",
        text: "The tag must exist; schema 1 manifests are not supported; from an index the platform takes linux/amd64.",
        since: E2021_07,
        until: None,
        source: BLOG_2021,
        confidence: Confirmed,
    },
    Rule {
        id: "image.reference",
        text: "linuxFxVersion's image is a docker reference: repo:tag@sha256:… pulls by digest (the tag is ignored); a repository with upper-case letters is refused by docker before any request (invalid reference format).",
        since: E2021_07,
        until: None,
        source: DOCKER_REFERENCE,
        confidence: Inferred,
    },
    Rule {
        id: "acr.sku",
        text: "Private endpoints and network rules need the Premium SKU.",
        since: E2021_07,
        until: None,
        source: ACR_PRIVATE_LINK,
        confidence: Confirmed,
    },
    Rule {
        id: "acr.sku-endpoint-error",
        text: "Creating a private endpoint to a Basic or Standard registry fails with ARM 400 PrivateEndpointNotSupportedForSku; the code and message are modeled, not observed.",
        since: E2021_07,
        until: None,
        source: ACR_PRIVATE_LINK,
        confidence: Unconfirmed,
    },
    Rule {
        id: "auth.mi-trusted-service",
        text: "App Service is not an ACR trusted service: networkRuleBypassOptions=AzureServices does not let its pull through the firewall.",
        since: E2021_07,
        until: None,
        source: ACR_PRIVATE_LINK,
        confidence: Inferred,
    },
];

/// The rule with this ID.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// The routing rule in force in an epoch.
pub fn route_rule(e: Epoch) -> &'static Rule {
    let id = match e {
        E2021_07 => "route.2021-07",
        E2021_11 => "route.2021-11",
        E2022_03 => "route.2022-03",
        E2024_11 => "route.2024-11",
    };
    // The table holds one routing rule per epoch; a test pins it.
    rule(id).unwrap_or(&RULES[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_epoch_has_exactly_one_routing_rule_and_ids_are_unique() {
        for e in Epoch::ALL {
            let n = RULES.iter().filter(|r| r.id.starts_with("route.20") && r.holds_in(e)).count();
            assert_eq!(n, 1, "{e}");
            assert!(route_rule(e).holds_in(e));
        }
        let mut ids: Vec<_> = RULES.iter().map(|r| r.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
    }

    #[test]
    fn epochs_parse_and_order() {
        assert_eq!("2022-03".parse::<Epoch>(), Ok(Epoch::E2022_03));
        assert!("2023-01".parse::<Epoch>().is_err());
        assert!(Epoch::E2021_07 < Epoch::E2024_11);
    }
}
