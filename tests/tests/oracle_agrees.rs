//! The oracle agrees with the mechanism (issue 5, "Must show"): a property test draws
//! random configurations over every knob of the pull, builds each topology through ARM on
//! the embedded backend, pulls under all four rule epochs over real sockets, and asserts
//! the oracle (`appservice::oracle::predict`) predicts the same success, route, stage and
//! code. The knobs:
//! - routing: `WEBSITE_PULL_IMAGE_OVER_VNET` and `WEBSITE_VNET_ROUTE_ALL` (unset / on /
//!   off); route-all as `siteConfig.vnetRouteAllEnabled`, site-level `vnetRouteAllEnabled`
//!   (api 2022-03-01…2024-04-01) or `outboundVnetRouting.applicationTraffic` (2024-11-01);
//!   `vnetImagePullEnabled` (2022-03-01…2024-04-01) or `outboundVnetRouting.imagePullTraffic`;
//!   `allTraffic`; VNET integration on or off;
//! - the registry: SKU (a non-Premium one has no endpoint, no IP rules, public access on);
//!   region; `publicNetworkAccess`; `networkRuleSet` Deny with IP rules (or /24s) naming the
//!   site's outbound address, the VNET's egress address, both or neither; anonymous pull;
//!   admin user; right / second / wrong / stale password (regenerated after it was written)
//!   / none / no `DOCKER_REGISTRY_SERVER_URL`; managed identity (system, missing, user by
//!   client ID, user by resource ID) with AcrPull on the registry or the group, Reader, or
//!   nothing; the tag (present, missing, a multi-arch index, an index without amd64);
//! - private link: the endpoint in the same, an unpeered (overlapping or not) or a peered
//!   VNET, auto-approved or pending; `privatelink.azurecr.io` linked to the integration
//!   VNET, the endpoint's, both or neither; login and data records present or deleted;
//!   `NxDomainRedirect`; the peering connected, one-way or blocked on either side; a second
//!   endpoint (same, unpeered or peered VNET) whose zone group overwrites the zone's records,
//!   deleted again (its records with it) or not;
//! - DNS: the VNET's `dhcpOptions.dnsServers`, `WEBSITE_DNS_SERVER`, the site's
//!   `dnsConfiguration.dnsServers`, the alternate server (app setting or property), each
//!   Azure DNS, a custom server or a public resolver (8.8.8.8; 1.1.1.1 on the VNET); the custom server in the integration VNET, the hub or an
//!   unpeered VNET, forwarding to Azure DNS, the internet or nowhere, with or without a
//!   conditional forwarder (`privatelink.azurecr.io` or `azurecr.io`) to 168.63.129.16
//!   directly or through a second custom server in the hub.
//!
//! One environment serves every case: each case first deletes the previous case's
//! resource group (and its custom DNS servers) and rebuilds with the same names, so the
//! store stays small and modeled addresses repeat (no socket is bound twice). Sockets bound
//! for an earlier case stay bound, as in a long-running `pullsim serve`; a mechanism that
//! let them answer for what is gone would show here.
//!
//! `PULLSIM_ORACLE_SEED=<u64>` replays a run; `PULLSIM_ORACLE_CASES=<n>` changes the
//! number of configurations (default 600, each pulled under the 4 epochs: 2,400 cases).
//! A failure prints the seed, the shrunk configuration and the mechanism's trace.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::time::Instant;

use mock_azure::acr::{Repo, generate_image, generate_index, push_image, push_index};
use mock_azure::appservice::oracle::{ImageCatalog, ImageFacts, predict};
use mock_azure::appservice::rules::Epoch;
use mock_azure::appservice::trace::{Code, RouteKind};
use mock_azure::arm::{ArmRequest, ArmResponse};
use mock_azure::dns::{CustomServer, Upstream, delete_custom_server, put_custom_server};
use mock_azure::model::PRIVATE;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use pullsim::embedded::{Env, EnvOptions};
use serde_json::{Value, json};

const RG: &str = "oracleprop";
const REG: &str = "oracleacr";
const SITE: &str = "oracleapp";
const DNS_SERVER: &str = "oracledns";
const HUB_DNS_SERVER: &str = "oraclehubdns";
const ZONE: &str = "privatelink.azurecr.io";
const ACR_PULL: &str = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const DEFAULT_CONFIGS: u32 = 600;

/// The failure codes the knobs reach. Not reached: `IMAGE_NOT_CONFIGURED` (the site always
/// names an image), `DNS_REFUSED` and `DNS_NO_ADDRESS` (every name asked is in Azure's
/// namespaces and ends in an address or NXDOMAIN), `MANIFEST_SCHEMA1_UNSUPPORTED`,
/// `BLOB_UNKNOWN` and `DIGEST_MISMATCH` (the registry's storage is not corrupted here).
const REACHABLE_CODES: [Code; 12] = [
    Code::DnsNxdomain,
    Code::DnsServfail,
    Code::DnsTimeout,
    Code::PrivateAddressUnreachable,
    Code::ConnectionRefused,
    Code::AcrFirewallDenied,
    Code::AcrUnauthorized,
    Code::MiNotSupportedOverVnet,
    Code::MiIdentityNotFound,
    Code::MiNoPullRole,
    Code::ManifestUnknown,
    Code::NoMatchingPlatform,
];

// ---------------------------------------------------------------------------------
// The knobs. Each strategy lists the July 2021 recipe's value (or the neutral one) first:
// proptest shrinks toward it, so a minimal failing case differs from the recipe only where
// it matters.

/// An app setting: absent, on, or explicitly off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flag {
    Unset,
    On,
    Off,
}

/// Where route-all (`vnetRouteAllEnabled` ≡ `applicationTraffic`) is switched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RouteAll {
    Off,
    /// `siteConfig.vnetRouteAllEnabled` (api-version 2020-06-01+).
    SiteConfig,
    /// Site-level `vnetRouteAllEnabled` at an api-version of 2022-03-01…2024-04-01.
    SiteLevel(&'static str),
    /// `outboundVnetRouting.applicationTraffic` (2024-11-01).
    ApplicationTraffic,
}

/// Where image-pull routing is switched on as a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImagePull {
    Off,
    /// Site-level `vnetImagePullEnabled` at an api-version of 2022-03-01…2024-04-01.
    SiteLevel(&'static str),
    /// `outboundVnetRouting.imagePullTraffic` (2024-11-01).
    OutboundVnetRouting,
}

#[derive(Debug, Clone)]
struct Routing {
    integration: bool,
    /// `WEBSITE_PULL_IMAGE_OVER_VNET`.
    pull_setting: Flag,
    /// `WEBSITE_VNET_ROUTE_ALL`.
    route_all_setting: Flag,
    route_all: RouteAll,
    image_pull: ImagePull,
    /// `outboundVnetRouting.allTraffic`.
    all_traffic: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sku {
    Premium,
    Basic,
    Standard,
}

/// Which addresses the registry's IP rules (`defaultAction: Deny`) allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IpRules {
    /// `defaultAction: Allow`.
    None,
    /// Deny, allowing only an unrelated address.
    Neither,
    /// Deny, allowing the site's outbound address.
    SiteOutbound,
    /// Deny, allowing the integration VNET's egress address.
    VnetEgress,
    /// Deny, allowing both.
    Both,
}

/// The credentials in `DOCKER_REGISTRY_SERVER_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Creds {
    /// The admin user's current first password.
    Right,
    /// None at all (Docker Hub is assumed).
    None,
    /// The current second password.
    Password2,
    /// A password that never was.
    Wrong,
    /// The first password, regenerated after it was written.
    Stale,
    /// Username and password but no `DOCKER_REGISTRY_SERVER_URL`.
    NoUrl,
}

/// How the site authenticates with a managed identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mi {
    Off,
    /// `acrUseManagedIdentityCreds` with the system identity.
    System,
    /// `acrUseManagedIdentityCreds` but the site has no identity at all.
    SystemMissing,
    /// A user-assigned identity named by its client ID.
    UserClientId,
    /// A user-assigned identity named by its resource ID (the common mistake).
    UserResourceId,
}

/// What the identity in use is granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    None,
    AcrPullOnRegistry,
    AcrPullOnGroup,
    ReaderOnRegistry,
}

#[derive(Debug, Clone)]
struct Registry {
    sku: Sku,
    region: &'static str,
    public_access: bool,
    ip_rules: IpRules,
    /// The IP rules name a /24 around each address rather than the address.
    ip_rules_24: bool,
    /// `anonymousPullEnabled` (Standard and Premium).
    anonymous_pull: bool,
    admin: bool,
    creds: Creds,
    mi: Mi,
    grant: Grant,
    tag: Tag,
}

/// The tag `linuxFxVersion` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    /// `v1`: a single-platform image.
    Present,
    /// `v2`: no such tag.
    Missing,
    /// `multi`: an index with linux/amd64 and linux/arm64.
    MultiArch,
    /// `armonly`: an index without linux/amd64.
    ArmOnly,
}

impl Tag {
    fn name(self) -> &'static str {
        match self {
            Tag::Present => "v1",
            Tag::Missing => "v2",
            Tag::MultiArch => "multi",
            Tag::ArmOnly => "armonly",
        }
    }
}

/// Where the registry's private endpoint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pe {
    None,
    /// In the integration VNET (another subnet).
    SameVnet,
    /// In an unpeered VNET; `overlap`: with the same address space as the integration VNET.
    OtherVnet {
        overlap: bool,
    },
    /// In a VNET peered with the integration VNET.
    PeeredVnet,
}

/// Which VNETs `privatelink.azurecr.io` is linked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ZoneLink {
    Integration,
    None,
    /// The endpoint's VNET only (when it is another one).
    PeVnetOnly,
    Both,
}

#[derive(Debug, Clone)]
struct PrivateLink {
    pe: Pe,
    zone_link: ZoneLink,
    /// The endpoint's connection was requested manually and is still `Pending`.
    pending: bool,
    login_record: bool,
    data_record: bool,
    /// `resolutionPolicy: NxDomainRedirect` on every link (api-version 2024-06-01).
    nx_redirect: bool,
    /// The peering between the integration VNET and the hub (when there is a hub).
    peering: Peering,
    /// A second endpoint for the registry whose zone group writes the same zone (its
    /// records overwrite the first's: rule dns.zone-group).
    second_pe: Pe,
    /// The second endpoint is deleted again (removing the records its group wrote).
    delete_second: bool,
}

/// The peering of the integration VNET (spoke) and the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peering {
    /// Both sides, `Connected`, with virtual network access.
    Connected,
    /// Only the spoke's side: `Initiated`, no traffic.
    OneWay,
    /// Both sides, the spoke's with `allowVirtualNetworkAccess: false`.
    BlockedBySpoke,
    /// Both sides, the hub's with `allowVirtualNetworkAccess: false`.
    BlockedByHub,
}

/// `WEBSITE_DNS_SERVER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WebsiteDns {
    Unset,
    AzureDns,
    CustomServer,
    /// 8.8.8.8: a resolver on the internet (rule dns.public-resolver).
    PublicResolver,
}

#[derive(Debug, Clone)]
struct Dns {
    /// The VNET's `dhcpOptions.dnsServers` names the custom server.
    vnet_custom: bool,
    /// Else the VNET's `dhcpOptions.dnsServers` names a public resolver (1.1.1.1).
    vnet_public: bool,
    website_dns: WebsiteDns,
    /// The site property `dnsConfiguration.dnsServers` (wins over the app setting).
    site_dns: WebsiteDns,
    /// `WEBSITE_DNS_ALT_SERVER`, appended to the servers.
    alt_dns: WebsiteDns,
    /// The alternate server as the site property `dnsConfiguration.dnsAltServer` instead.
    alt_as_property: bool,
    /// What the custom server forwards to.
    upstream: Upstream,
    /// A conditional forwarder on the custom server: this zone goes to 168.63.129.16.
    forwarder: Option<&'static str>,
    /// The forwarder's target is a second custom server in the hub (upstream Azure DNS)
    /// rather than 168.63.129.16: spoke DNS → hub DNS → Azure DNS.
    forward_via_hub: bool,
    /// Where the custom server runs.
    home: DnsHome,
}

/// Where the custom DNS server (a VM) runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DnsHome {
    /// In the integration VNET.
    Integration,
    /// In the VNET peered with the integration VNET (hub and spoke).
    Hub,
    /// In a VNET not peered with the integration VNET: the site cannot reach it.
    Unpeered,
}

#[derive(Debug, Clone)]
struct Knobs {
    routing: Routing,
    registry: Registry,
    link: PrivateLink,
    dns: Dns,
}

const SITE_LEVEL_APIS: [&str; 4] = ["2022-03-01", "2022-09-01", "2023-12-01", "2024-04-01"];

/// An app setting, on more often than not (the VNET route is the interesting one).
fn flag() -> impl Strategy<Value = Flag> {
    prop_oneof![3 => Just(Flag::On), 1 => Just(Flag::Unset), 1 => Just(Flag::Off)]
}

/// A yes/no knob that is `usual` with probability `1 - p` and shrinks to `usual`.
fn knob(usual: bool, p: f64) -> impl Strategy<Value = bool> {
    let p = (p * 1000.0) as u32;
    prop_oneof![(1000 - p) => Just(usual), p => Just(!usual)]
}

prop_compose! {
    fn routing()(
        integration in knob(true, 0.2),
        pull_setting in flag(),
        route_all_setting in prop_oneof![2 => Just(Flag::Unset), 2 => Just(Flag::On), 1 => Just(Flag::Off)],
        route_all in prop_oneof![
            Just(RouteAll::Off),
            Just(RouteAll::SiteConfig),
            select(SITE_LEVEL_APIS.to_vec()).prop_map(RouteAll::SiteLevel),
            Just(RouteAll::ApplicationTraffic),
        ],
        image_pull in prop_oneof![
            2 => Just(ImagePull::Off),
            1 => select(SITE_LEVEL_APIS.to_vec()).prop_map(ImagePull::SiteLevel),
            1 => Just(ImagePull::OutboundVnetRouting),
        ],
        all_traffic in knob(false, 0.2),
    ) -> Routing {
        Routing { integration, pull_setting, route_all_setting, route_all, image_pull, all_traffic }
    }
}

prop_compose! {
    fn registry()(
        sku in prop_oneof![4 => Just(Sku::Premium), 1 => Just(Sku::Basic), 1 => Just(Sku::Standard)],
        region in select(vec!["westeurope", "northeurope"]),
        public_access in knob(true, 0.5),
        ip_rules in select(vec![IpRules::None, IpRules::Neither, IpRules::SiteOutbound, IpRules::VnetEgress, IpRules::Both]),
        ip_rules_24 in knob(false, 0.2),
        anonymous_pull in knob(false, 0.15),
        admin in knob(true, 0.2),
        creds in prop_oneof![
            6 => Just(Creds::Right),
            1 => Just(Creds::None),
            1 => Just(Creds::Password2),
            1 => Just(Creds::Wrong),
            1 => Just(Creds::Stale),
            1 => Just(Creds::NoUrl),
        ],
        mi in prop_oneof![
            4 => Just(Mi::Off),
            3 => Just(Mi::System),
            1 => Just(Mi::SystemMissing),
            2 => Just(Mi::UserClientId),
            1 => Just(Mi::UserResourceId),
        ],
        grant in prop_oneof![
            3 => Just(Grant::AcrPullOnRegistry),
            1 => Just(Grant::None),
            1 => Just(Grant::AcrPullOnGroup),
            1 => Just(Grant::ReaderOnRegistry),
        ],
        tag in prop_oneof![
            12 => Just(Tag::Present),
            2 => Just(Tag::Missing),
            2 => Just(Tag::MultiArch),
            2 => Just(Tag::ArmOnly),
        ],
    ) -> Registry {
        // A non-Premium registry has no private endpoint, no IP rules, and public access
        // it cannot disable (ARM refuses; docs/azure.md D).
        let premium = sku == Sku::Premium;
        Registry {
            sku,
            region,
            public_access: public_access || !premium,
            ip_rules: if premium { ip_rules } else { IpRules::None },
            ip_rules_24: ip_rules_24 && premium && ip_rules != IpRules::None,
            anonymous_pull: anonymous_pull && sku != Sku::Basic,
            admin,
            creds,
            mi,
            grant: if mi == Mi::Off || mi == Mi::SystemMissing { Grant::None } else { grant },
            tag,
        }
    }
}

prop_compose! {
    fn private_link()(
        pe in prop_oneof![
            4 => Just(Pe::SameVnet),
            1 => Just(Pe::None),
            1 => Just(Pe::OtherVnet { overlap: false }),
            1 => Just(Pe::OtherVnet { overlap: true }),
            2 => Just(Pe::PeeredVnet),
        ],
        zone_link in prop_oneof![
            4 => Just(ZoneLink::Integration),
            1 => Just(ZoneLink::None),
            1 => Just(ZoneLink::PeVnetOnly),
            1 => Just(ZoneLink::Both),
        ],
        pending in knob(false, 0.1),
        login_record in knob(true, 0.15),
        data_record in knob(true, 0.15),
        nx_redirect in knob(false, 0.25),
        peering in prop_oneof![
            12 => Just(Peering::Connected),
            1 => Just(Peering::OneWay),
            1 => Just(Peering::BlockedBySpoke),
            1 => Just(Peering::BlockedByHub),
        ],
        second_pe in prop_oneof![
            8 => Just(Pe::None),
            1 => Just(Pe::SameVnet),
            1 => Just(Pe::OtherVnet { overlap: false }),
            1 => Just(Pe::PeeredVnet),
        ],
        delete_second in knob(false, 0.4),
    ) -> PrivateLink {
        PrivateLink { pe, zone_link, pending, login_record, data_record, nx_redirect, peering, second_pe, delete_second }
    }
}

prop_compose! {
    fn dns()(
        vnet_custom in knob(false, 0.3),
        vnet_public in knob(false, 0.15),
        website_dns in prop_oneof![
            3 => Just(WebsiteDns::Unset),
            1 => Just(WebsiteDns::AzureDns),
            1 => Just(WebsiteDns::CustomServer),
            1 => Just(WebsiteDns::PublicResolver),
        ],
        site_dns in prop_oneof![
            6 => Just(WebsiteDns::Unset),
            1 => Just(WebsiteDns::AzureDns),
            1 => Just(WebsiteDns::CustomServer),
            1 => Just(WebsiteDns::PublicResolver),
        ],
        alt_dns in prop_oneof![
            6 => Just(WebsiteDns::Unset),
            1 => Just(WebsiteDns::AzureDns),
            1 => Just(WebsiteDns::CustomServer),
            1 => Just(WebsiteDns::PublicResolver),
        ],
        alt_as_property in knob(false, 0.5),
        upstream in select(vec![Upstream::AzureDns, Upstream::Public, Upstream::None]),
        forwarder in prop_oneof![
            4 => Just(None),
            2 => Just(Some("privatelink.azurecr.io")),
            1 => Just(Some("azurecr.io")),
        ],
        forward_via_hub in knob(false, 0.3),
        home in prop_oneof![6 => Just(DnsHome::Integration), 3 => Just(DnsHome::Hub), 1 => Just(DnsHome::Unpeered)],
    ) -> Dns {
        Dns {
            vnet_custom,
            vnet_public: vnet_public && !vnet_custom,
            website_dns,
            site_dns,
            alt_dns,
            alt_as_property,
            upstream,
            forwarder,
            forward_via_hub: forward_via_hub && forwarder.is_some() && home == DnsHome::Integration,
            home,
        }
    }
}

prop_compose! {
    fn knobs()(routing in routing(), registry in registry(), link in private_link(), dns in dns()) -> Knobs {
        let mut link = link;
        if registry.sku != Sku::Premium {
            link.pe = Pe::None;
        }
        // Without an endpoint in another VNET, "the endpoint's VNET" is no other VNET.
        if !matches!(link.pe, Pe::OtherVnet { .. } | Pe::PeeredVnet) {
            link.zone_link = match link.zone_link {
                ZoneLink::PeVnetOnly => ZoneLink::None,
                ZoneLink::Both => ZoneLink::Integration,
                z => z,
            };
        }
        if link.pe == Pe::None {
            link.second_pe = Pe::None;
        }
        if link.second_pe == Pe::None {
            link.delete_second = false;
        }
        if link.pe == Pe::None {
            link.pending = false;
            link.login_record = false;
            link.data_record = false;
        }
        Knobs { routing, registry, link, dns }
    }
}

impl Knobs {
    fn custom_server(&self) -> bool {
        self.dns.vnet_custom
            || [self.dns.website_dns, self.dns.site_dns, self.dns.alt_dns].contains(&WebsiteDns::CustomServer)
    }

    /// The peered (hub) VNET exists when the endpoint or the custom DNS server is there.
    fn hub(&self) -> bool {
        self.link.pe == Pe::PeeredVnet
            || self.link.second_pe == Pe::PeeredVnet
            || (self.custom_server() && (self.dns.home == DnsHome::Hub || self.dns.forward_via_hub))
    }

    /// The unpeered VNET exists when the endpoint or the custom DNS server is there.
    fn other(&self) -> bool {
        matches!(self.link.pe, Pe::OtherVnet { .. })
            || matches!(self.link.second_pe, Pe::OtherVnet { .. })
            || (self.custom_server() && self.dns.home == DnsHome::Unpeered)
    }

    /// The unpeered VNET reuses the integration VNET's address space.
    fn overlap(&self) -> bool {
        self.link.pe == (Pe::OtherVnet { overlap: true })
    }

    /// The custom DNS server's VNET and address. In an overlapping unpeered VNET it takes
    /// an address no case ever gives a server in the integration VNET.
    fn dns_server(&self) -> (&'static str, &'static str) {
        match self.dns.home {
            DnsHome::Integration => ("vnet", "10.0.3.4"),
            DnsHome::Hub => ("hub", "10.2.3.4"),
            DnsHome::Unpeered if self.overlap() => ("other", "10.0.3.5"),
            DnsHome::Unpeered => ("other", "10.1.3.4"),
        }
    }
}

// ---------------------------------------------------------------------------------
// Building a configuration through ARM.

struct Catalog;

impl ImageCatalog for Catalog {
    fn facts(&self, registry: &str, repo: &str, reference: &str) -> ImageFacts {
        match (registry == REG && repo == "app", reference) {
            (true, "v1" | "multi") => ImageFacts::Pullable,
            (true, "armonly") => ImageFacts::NoAmd64,
            _ => ImageFacts::Missing,
        }
    }
}

struct Fixture {
    env: Env,
    token: String,
    sub: String,
    rg: String,
    site: String,
    /// Resources in the store before any case: a reset must come back to exactly these.
    baseline: usize,
    rt: tokio::runtime::Runtime,
}

#[derive(Default)]
struct Stats {
    outcomes: BTreeMap<String, usize>,
    routes: BTreeMap<&'static str, usize>,
    pulls: usize,
    /// Time spent building configurations through ARM, and pulling (with the oracle).
    building: std::time::Duration,
    pulling: std::time::Duration,
}

impl Fixture {
    fn call(&self, method: &str, path: &str, api: &str, body: Option<Value>) -> ArmResponse {
        let path = if path.starts_with('/') { path.to_string() } else { format!("{}/providers/{path}", self.rg) };
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut req = ArmRequest::new(method, &format!("{path}{sep}api-version={api}"))
            .header("authorization", &format!("Bearer {}", self.token));
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.env.arm.handle(&req)
    }

    /// A call that must succeed (the generator only makes configurations Azure accepts).
    fn ok_at(&self, method: &str, path: &str, api: &str, body: Option<Value>) -> Result<Value, TestCaseError> {
        let r = self.call(method, path, api, body);
        if !(200..300).contains(&r.status) {
            return Err(TestCaseError::fail(format!(
                "ARM refused a configuration step: {method} {path} (api-version {api}): {} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            )));
        }
        Ok(if r.body.is_empty() { Value::Null } else { r.json_body() })
    }

    fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, TestCaseError> {
        self.ok_at(method, path, "2024-11-01", body)
    }

    fn id(&self, path: &str) -> String {
        format!("{}/providers/{path}", self.rg)
    }

    /// Removes the previous case: its resource group and its custom DNS server.
    fn reset(&self) -> Result<(), TestCaseError> {
        for name in [DNS_SERVER, HUB_DNS_SERVER] {
            delete_custom_server(&self.env.store, &self.sub, name)
                .map_err(|e| TestCaseError::fail(format!("deleting the custom DNS server {name}: {e}")))?;
        }
        let r = self.call("DELETE", &self.rg.clone(), "2021-04-01", None);
        if !(200..300).contains(&r.status) && r.status != 404 {
            return Err(TestCaseError::fail(format!(
                "deleting the resource group: {} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            )));
        }
        // Nothing of the previous case survives in the store (only sockets stay bound).
        prop_assert_eq!(self.env.store.len(), self.baseline, "the store after deleting the previous case");
        Ok(())
    }

    fn vnet(&self, name: &str, space: &str, subnets: Value, dns: &[String]) -> Result<(), TestCaseError> {
        self.ok(
            "PUT",
            &format!("Microsoft.Network/virtualNetworks/{name}"),
            Some(json!({"location": "westeurope", "properties": {
                "addressSpace": {"addressPrefixes": [space]},
                "dhcpOptions": {"dnsServers": dns},
                "subnets": subnets}})),
        )?;
        Ok(())
    }

    /// Peers `spoke` and `hub` (both sides unless one way).
    fn peer(&self, spoke: &str, hub: &str, how: Peering) -> Result<(), TestCaseError> {
        let sides = [(spoke, hub, how != Peering::BlockedBySpoke), (hub, spoke, how != Peering::BlockedByHub)];
        let sides = if how == Peering::OneWay { &sides[..1] } else { &sides[..] };
        for (from, to, access) in sides {
            self.ok(
                "PUT",
                &format!("Microsoft.Network/virtualNetworks/{from}/virtualNetworkPeerings/{from}-to-{to}"),
                Some(json!({"properties": {
                    "remoteVirtualNetwork": {"id": self.id(&format!("Microsoft.Network/virtualNetworks/{to}"))},
                    "allowVirtualNetworkAccess": access}})),
            )?;
        }
        Ok(())
    }

    /// Builds the configuration through ARM (and the custom DNS server in the store).
    fn build(&self, k: &Knobs) -> Result<(), TestCaseError> {
        self.reset()?;
        self.ok_at("PUT", &self.rg.clone(), "2021-04-01", Some(json!({"location": "westeurope"})))?;

        // Networks. The integration VNET; another unpeered one; a peered hub.
        let (dns_home, dns_ip) = k.dns_server();
        let vnet_dns: Vec<String> = if k.dns.vnet_custom {
            vec![dns_ip.into()]
        } else if k.dns.vnet_public {
            vec!["1.1.1.1".into()]
        } else {
            vec![]
        };
        self.vnet(
            "vnet",
            "10.0.0.0/16",
            json!([
                {"name": "integration", "properties": {"addressPrefix": "10.0.1.0/24",
                    "delegations": [{"name": "web", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}]}},
                {"name": "pe", "properties": {"addressPrefix": "10.0.2.0/24"}},
                {"name": "dns", "properties": {"addressPrefix": "10.0.3.0/24"}},
            ]),
            &vnet_dns,
        )?;
        let pe_vnet = match k.link.pe {
            Pe::None => None,
            Pe::SameVnet => Some("vnet"),
            Pe::OtherVnet { .. } => Some("other"),
            Pe::PeeredVnet => Some("hub"),
        };
        if k.other() {
            let b = if k.overlap() { 0 } else { 1 };
            self.vnet(
                "other",
                &format!("10.{b}.0.0/16"),
                json!([
                    {"name": "pe", "properties": {"addressPrefix": format!("10.{b}.2.0/24")}},
                    {"name": "dns", "properties": {"addressPrefix": format!("10.{b}.3.0/24")}},
                ]),
                &[],
            )?;
        }
        if k.hub() {
            self.vnet(
                "hub",
                "10.2.0.0/16",
                json!([
                    {"name": "pe", "properties": {"addressPrefix": "10.2.2.0/24"}},
                    {"name": "dns", "properties": {"addressPrefix": "10.2.3.0/24"}},
                ]),
                &[],
            )?;
            self.peer("vnet", "hub", k.link.peering)?;
        }
        if k.custom_server() {
            let spec = CustomServer::new(
                dns_ip.parse().unwrap(),
                &self.id(&format!("Microsoft.Network/virtualNetworks/{dns_home}")),
                k.dns.upstream,
            );
            let target: Ipv4Addr = if k.dns.forward_via_hub {
                let hub = CustomServer::new(
                    [10, 2, 3, 5].into(),
                    &self.id("Microsoft.Network/virtualNetworks/hub"),
                    Upstream::AzureDns,
                );
                put_custom_server(&self.env.store, &self.sub, HUB_DNS_SERVER, &hub)
                    .map_err(|e| TestCaseError::fail(format!("hub DNS server: {e}")))?;
                [10, 2, 3, 5].into()
            } else {
                mock_azure::netplan::AZURE_DNS
            };
            let spec = match k.dns.forwarder {
                Some(zone) => spec.with_forwarder(zone, &[target]),
                None => spec,
            };
            put_custom_server(&self.env.store, &self.sub, DNS_SERVER, &spec)
                .map_err(|e| TestCaseError::fail(format!("custom DNS server: {e}")))?;
        }

        // The registry, with the admin user on until its credentials are taken.
        let r = &k.registry;
        let reg_path = format!("Microsoft.ContainerRegistry/registries/{REG}");
        let reg_id = self.id(&reg_path);
        let sku = format!("{:?}", r.sku);
        self.ok(
            "PUT",
            &reg_path,
            Some(json!({"location": r.region, "sku": {"name": sku},
                "properties": {"adminUserEnabled": true, "anonymousPullEnabled": r.anonymous_pull}})),
        )?;
        let creds = self.ok("POST", &format!("{reg_id}/listCredentials"), None)?;
        let password = |i: usize| creds["passwords"][i]["value"].as_str().unwrap_or_default().to_string();

        // The private endpoint, its zone group, the zone's links and records.
        let zone_path = format!("Microsoft.Network/privateDnsZones/{ZONE}");
        let needs_zone = pe_vnet.is_some() || k.link.zone_link != ZoneLink::None;
        if needs_zone {
            self.ok("PUT", &zone_path, Some(json!({"location": "global"})))?;
        }
        if let Some(v) = pe_vnet {
            let vnet_id = self.id(&format!("Microsoft.Network/virtualNetworks/{v}"));
            let list =
                if k.link.pending { "manualPrivateLinkServiceConnections" } else { "privateLinkServiceConnections" };
            self.ok(
                "PUT",
                "Microsoft.Network/privateEndpoints/acr-pe",
                Some(json!({"location": "westeurope", "properties": {
                    "subnet": {"id": format!("{vnet_id}/subnets/pe")},
                    list: [{"name": "acrconn",
                        "properties": {"privateLinkServiceId": reg_id, "groupIds": ["registry"]}}]}})),
            )?;
            self.ok(
                "PUT",
                "Microsoft.Network/privateEndpoints/acr-pe/privateDnsZoneGroups/default",
                Some(json!({"properties": {"privateDnsZoneConfigs": [{"name": "registry",
                    "properties": {"privateDnsZoneId": self.id(&zone_path)}}]}})),
            )?;
            if !k.link.login_record {
                self.ok("DELETE", &format!("{zone_path}/A/{REG}"), None)?;
            }
            if !k.link.data_record {
                self.ok("DELETE", &format!("{zone_path}/A/{REG}.{}.data", r.region), None)?;
            }
        }
        let second_vnet = match k.link.second_pe {
            Pe::None => None,
            Pe::SameVnet => Some("vnet"),
            Pe::OtherVnet { .. } => Some("other"),
            Pe::PeeredVnet => Some("hub"),
        };
        if let Some(v) = second_vnet {
            let vnet_id = self.id(&format!("Microsoft.Network/virtualNetworks/{v}"));
            self.ok(
                "PUT",
                "Microsoft.Network/privateEndpoints/acr-pe2",
                Some(json!({"location": "westeurope", "properties": {
                    "subnet": {"id": format!("{vnet_id}/subnets/pe")},
                    "privateLinkServiceConnections": [{"name": "acrconn2",
                        "properties": {"privateLinkServiceId": reg_id, "groupIds": ["registry"]}}]}})),
            )?;
            self.ok(
                "PUT",
                "Microsoft.Network/privateEndpoints/acr-pe2/privateDnsZoneGroups/default",
                Some(json!({"properties": {"privateDnsZoneConfigs": [{"name": "registry",
                    "properties": {"privateDnsZoneId": self.id(&zone_path)}}]}})),
            )?;
            if k.link.delete_second {
                self.ok("DELETE", "Microsoft.Network/privateEndpoints/acr-pe2", None)?;
            }
        }
        let mut linked = Vec::new();
        if matches!(k.link.zone_link, ZoneLink::Integration | ZoneLink::Both) {
            linked.push("vnet");
        }
        if matches!(k.link.zone_link, ZoneLink::PeVnetOnly | ZoneLink::Both)
            && let Some(v) = pe_vnet.filter(|v| *v != "vnet")
        {
            linked.push(v);
        }
        for v in linked {
            let policy = if k.link.nx_redirect { "NxDomainRedirect" } else { "Default" };
            self.ok_at(
                "PUT",
                &format!("{zone_path}/virtualNetworkLinks/link-{v}"),
                "2024-06-01",
                Some(json!({"location": "global", "properties": {
                    "virtualNetwork": {"id": self.id(&format!("Microsoft.Network/virtualNetworks/{v}"))},
                    "registrationEnabled": false, "resolutionPolicy": policy}})),
            )?;
        }

        // The user-assigned identity.
        let uami_path = "Microsoft.ManagedIdentity/userAssignedIdentities/oracleid";
        let uami = if matches!(r.mi, Mi::UserClientId | Mi::UserResourceId) {
            Some(self.ok("PUT", uami_path, Some(json!({"location": "westeurope"})))?)
        } else {
            None
        };

        // The site.
        self.ok(
            "PUT",
            "Microsoft.Web/serverfarms/plan",
            Some(json!({"location": "westeurope", "kind": "linux", "sku": {"name": "P1v3"}, "properties": {"reserved": true}})),
        )?;
        let tag = r.tag.name();
        let mut settings = serde_json::Map::new();
        let mut set = |k: &str, v: &str| {
            settings.insert(k.into(), json!(v));
        };
        if !matches!(r.creds, Creds::None | Creds::NoUrl) {
            set("DOCKER_REGISTRY_SERVER_URL", &format!("https://{REG}.azurecr.io"));
        }
        let pw = match r.creds {
            Creds::None => None,
            Creds::Right | Creds::Stale | Creds::NoUrl => Some(password(0)),
            Creds::Password2 => Some(password(1)),
            Creds::Wrong => Some("not-the-password-of-this-registry".into()),
        };
        if let Some(pw) = pw {
            set("DOCKER_REGISTRY_SERVER_USERNAME", REG);
            set("DOCKER_REGISTRY_SERVER_PASSWORD", &pw);
        }
        for (name, f, on) in [
            ("WEBSITE_PULL_IMAGE_OVER_VNET", k.routing.pull_setting, "true"),
            ("WEBSITE_VNET_ROUTE_ALL", k.routing.route_all_setting, "1"),
        ] {
            match f {
                Flag::Unset => {}
                Flag::On => set(name, on),
                Flag::Off => set(name, if on == "1" { "0" } else { "false" }),
            }
        }
        let server = |w: WebsiteDns| match w {
            WebsiteDns::Unset => None,
            WebsiteDns::AzureDns => Some("168.63.129.16"),
            WebsiteDns::CustomServer => Some(dns_ip),
            WebsiteDns::PublicResolver => Some("8.8.8.8"),
        };
        if let Some(ip) = server(k.dns.website_dns) {
            set("WEBSITE_DNS_SERVER", ip);
        }
        if let Some(ip) = server(k.dns.alt_dns).filter(|_| !k.dns.alt_as_property) {
            set("WEBSITE_DNS_ALT_SERVER", ip);
        }
        let mut site_config = json!({
            "linuxFxVersion": format!("DOCKER|{REG}.azurecr.io/app:{tag}"),
            "appSettings": settings,
        });
        if k.routing.route_all == RouteAll::SiteConfig {
            site_config["vnetRouteAllEnabled"] = json!(true);
        }
        let mut site_body = json!({"location": "westeurope", "properties": {
            "serverFarmId": self.id("Microsoft.Web/serverfarms/plan"),
            "siteConfig": site_config}});
        let mut dns_config = serde_json::Map::new();
        if let Some(ip) = server(k.dns.site_dns) {
            dns_config.insert("dnsServers".into(), json!([ip]));
        }
        if let Some(ip) = server(k.dns.alt_dns).filter(|_| k.dns.alt_as_property) {
            dns_config.insert("dnsAltServer".into(), json!(ip));
        }
        if !dns_config.is_empty() {
            site_body["properties"]["dnsConfiguration"] = Value::Object(dns_config);
        }
        if k.routing.integration {
            site_body["properties"]["virtualNetworkSubnetId"] =
                json!(format!("{}/subnets/integration", self.id("Microsoft.Network/virtualNetworks/vnet")));
        }
        let uami_id = self.id(uami_path);
        match r.mi {
            Mi::Off => {}
            Mi::System => {
                site_body["identity"] = json!({"type": "SystemAssigned"});
                site_body["properties"]["siteConfig"]["acrUseManagedIdentityCreds"] = json!(true);
            }
            Mi::SystemMissing => {
                site_body["properties"]["siteConfig"]["acrUseManagedIdentityCreds"] = json!(true);
            }
            Mi::UserClientId | Mi::UserResourceId => {
                site_body["identity"] =
                    json!({"type": "UserAssigned", "userAssignedIdentities": {uami_id.clone(): {}}});
                let named = if r.mi == Mi::UserClientId {
                    uami.as_ref().and_then(|u| u["properties"]["clientId"].as_str()).unwrap_or_default().to_string()
                } else {
                    uami_id.clone()
                };
                site_body["properties"]["siteConfig"]["acrUseManagedIdentityCreds"] = json!(true);
                site_body["properties"]["siteConfig"]["acrUserManagedIdentityID"] = json!(named);
            }
        }
        let site = self.ok("PUT", &self.site.clone(), Some(site_body))?;

        // Routing properties, each through the api-version that has it.
        match k.routing.route_all {
            RouteAll::SiteLevel(api) => {
                self.ok_at(
                    "PATCH",
                    &self.site.clone(),
                    api,
                    Some(json!({"properties": {"vnetRouteAllEnabled": true}})),
                )?;
            }
            RouteAll::ApplicationTraffic => {
                self.ok(
                    "PATCH",
                    &self.site.clone(),
                    Some(json!({"properties": {"outboundVnetRouting": {"applicationTraffic": true}}})),
                )?;
            }
            RouteAll::Off | RouteAll::SiteConfig => {}
        }
        match k.routing.image_pull {
            ImagePull::SiteLevel(api) => {
                self.ok_at(
                    "PATCH",
                    &self.site.clone(),
                    api,
                    Some(json!({"properties": {"vnetImagePullEnabled": true}})),
                )?;
            }
            ImagePull::OutboundVnetRouting => {
                self.ok(
                    "PATCH",
                    &self.site.clone(),
                    Some(json!({"properties": {"outboundVnetRouting": {"imagePullTraffic": true}}})),
                )?;
            }
            ImagePull::Off => {}
        }
        if k.routing.all_traffic {
            self.ok(
                "PATCH",
                &self.site.clone(),
                Some(json!({"properties": {"outboundVnetRouting": {"allTraffic": true}}})),
            )?;
        }
        // Each way of writing a flag lands in the one property (docs/azure.md F): read back.
        let now = self.ok("GET", &self.site.clone(), None)?;
        let routing = &now["properties"]["outboundVnetRouting"];
        let want =
            (k.routing.route_all != RouteAll::Off, k.routing.image_pull != ImagePull::Off, k.routing.all_traffic);
        let got =
            (routing["applicationTraffic"] == true, routing["imagePullTraffic"] == true, routing["allTraffic"] == true);
        prop_assert_eq!(got, want, "outboundVnetRouting read back at 2024-11-01: {}", routing);

        // The identity's role.
        let principal = match r.mi {
            Mi::System => site["identity"]["principalId"].as_str().map(str::to_string),
            Mi::UserClientId | Mi::UserResourceId => {
                uami.as_ref().and_then(|u| u["properties"]["principalId"].as_str()).map(str::to_string)
            }
            Mi::Off | Mi::SystemMissing => None,
        };
        if let Some(principal) = principal {
            let (scope, role) = match r.grant {
                Grant::None => (None, ACR_PULL),
                Grant::AcrPullOnRegistry => (Some(reg_id.clone()), ACR_PULL),
                Grant::AcrPullOnGroup => (Some(self.rg.clone()), ACR_PULL),
                Grant::ReaderOnRegistry => (Some(reg_id.clone()), READER),
            };
            if let Some(scope) = scope {
                self.ok(
                    "PUT",
                    &format!("{scope}/providers/Microsoft.Authorization/roleAssignments/3f7c9d5e-1b2a-4c3d-8e4f-5a6b7c8d9e0f"),
                    Some(json!({"properties": {
                        "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{role}", self.sub),
                        "principalId": principal, "principalType": "ServicePrincipal"}})),
                )?;
            }
        }

        // Credentials go stale; the admin user goes off.
        if r.creds == Creds::Stale {
            self.ok("POST", &format!("{reg_id}/regenerateCredential"), Some(json!({"name": "password"})))?;
        }
        if !r.admin {
            self.ok("PATCH", &reg_id, Some(json!({"properties": {"adminUserEnabled": false}})))?;
        }

        // Public access and IP rules, naming the addresses the pull may come from.
        let outbound = site["properties"]["outboundIpAddresses"]
            .as_str()
            .and_then(|s| s.split(',').next())
            .unwrap_or_default()
            .to_string();
        let egress = self
            .env
            .store
            .get_key(&self.id("Microsoft.Network/virtualNetworks/vnet").to_ascii_lowercase())
            .and_then(|v| v[PRIVATE]["publicIps"][0].as_str().map(str::to_string))
            .unwrap_or_default();
        prop_assert!(outbound.parse::<Ipv4Addr>().is_ok() && egress.parse::<Ipv4Addr>().is_ok());
        let widen = |ip: String| {
            if r.ip_rules_24 {
                let o: Vec<&str> = ip.split('.').collect();
                format!("{}.{}.{}.0/24", o[0], o[1], o[2])
            } else {
                ip
            }
        };
        let allowed: Vec<String> = match r.ip_rules {
            IpRules::None => vec![],
            IpRules::Neither => vec!["203.0.113.7".into()],
            IpRules::SiteOutbound => vec![outbound],
            IpRules::VnetEgress => vec![egress],
            IpRules::Both => vec![outbound, egress],
        };
        let allowed: Vec<String> = allowed.into_iter().map(widen).collect();
        let mut props = json!({"publicNetworkAccess": if r.public_access { "Enabled" } else { "Disabled" }});
        if r.ip_rules != IpRules::None {
            props["networkRuleSet"] = json!({"defaultAction": "Deny",
                "ipRules": allowed.iter().map(|ip| json!({"action": "Allow", "value": ip})).collect::<Vec<_>>()});
        }
        self.ok("PATCH", &reg_id, Some(json!({"properties": props})))?;
        Ok(())
    }

    /// One configuration: build it, pull under every epoch, compare with the oracle.
    fn case(&self, k: &Knobs, stats: &Mutex<Stats>) -> Result<(), TestCaseError> {
        let t0 = Instant::now();
        let built = self.build(k);
        stats.lock().unwrap_or_else(|e| e.into_inner()).building += t0.elapsed();
        built?;
        let t0 = Instant::now();
        let pulled = self.pulls(stats);
        stats.lock().unwrap_or_else(|e| e.into_inner()).pulling += t0.elapsed();
        pulled
    }

    fn pulls(&self, stats: &Mutex<Stats>) -> Result<(), TestCaseError> {
        for epoch in Epoch::ALL {
            let report = self
                .rt
                .block_on(self.env.pull(&self.site, epoch))
                .map_err(|e| TestCaseError::fail(format!("{epoch}: an infrastructure fault, not an outcome: {e}")))?;
            let p = predict(&self.env.store, &Catalog, &self.site, epoch);
            let o = &report.outcome;
            {
                let mut s = stats.lock().unwrap_or_else(|e| e.into_inner());
                s.pulls += 1;
                *s.outcomes.entry(o.code.map(|c| c.as_str()).unwrap_or_else(|| "SUCCESS".into())).or_default() += 1;
                let route = match o.route {
                    Some(RouteKind::Vnet) => "vnet",
                    Some(RouteKind::Public) => "public",
                    None => "none",
                };
                *s.routes.entry(route).or_default() += 1;
            }
            if (p.success, p.route, p.stage, p.code) != (o.success, o.route, o.stage, o.code) {
                let steps: Vec<String> = report
                    .trace
                    .steps
                    .iter()
                    .map(|s| {
                        format!(
                            "  {}{:<9} {}{}{}",
                            if s.failed { "✗ " } else { "  " },
                            s.stage.as_str(),
                            s.summary,
                            s.decided_by.as_deref().map(|d| format!("  [by {d}]")).unwrap_or_default(),
                            s.rule.map(|r| format!("  (rule {r})")).unwrap_or_default(),
                        )
                    })
                    .collect();
                return Err(TestCaseError::fail(format!(
                    "epoch {epoch}: the oracle and the mechanism disagree\n  oracle:    success={} route={:?} stage={:?} code={:?} rules={:?}\n  mechanism: success={} route={:?} stage={:?} code={:?}\n  message:   {}\nmechanism trace:\n{}",
                    p.success,
                    p.route,
                    p.stage,
                    p.code,
                    p.rules,
                    o.success,
                    o.route,
                    o.stage,
                    o.code,
                    o.message.as_deref().unwrap_or("-"),
                    steps.join("\n")
                )));
            }
        }
        Ok(())
    }
}

fn fixture() -> Fixture {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let env = rt.block_on(Env::start(EnvOptions::default())).unwrap();
    let token = env.arm.cfg.client_token(&env.arm.signer, 86_400);
    let sub = env.arm.cfg.subscription_id.clone();
    let rg = format!("/subscriptions/{sub}/resourceGroups/{RG}");
    let site = format!("{rg}/providers/Microsoft.Web/sites/{SITE}");
    // The image lives in the ACR's storage, which outlives the registry resource: pushed
    // once, it is there for every case that recreates the registry.
    let image = generate_image(5, 2, 2048);
    let repo = Repo::new(REG, mock_azure::acr::oci::RepoName::parse("app").unwrap()).unwrap();
    rt.block_on(push_image(env.acr.blobs().as_ref(), &repo, &image, Some("v1"))).unwrap();
    let multi = generate_index(6, &[("linux", "amd64"), ("linux", "arm64")], 1, 1024);
    rt.block_on(push_index(env.acr.blobs().as_ref(), &repo, &multi, Some("multi"))).unwrap();
    let arm = generate_index(7, &[("linux", "arm64")], 1, 1024);
    rt.block_on(push_index(env.acr.blobs().as_ref(), &repo, &arm, Some("armonly"))).unwrap();
    let baseline = env.store.len();
    Fixture { env, token, sub, rg, site, baseline, rt }
}

/// Writes a line to the real stderr, past the test harness's capture: the seed, the rate
/// and the outcome distribution show in every CI log, passing or not.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

fn seed() -> u64 {
    match std::env::var("PULLSIM_ORACLE_SEED") {
        Ok(s) => s.trim().parse().unwrap_or_else(|_| panic!("PULLSIM_ORACLE_SEED={s} is not a u64")),
        Err(_) => {
            let t =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
            // splitmix64 of the clock and the process: different every run.
            let mut z = (t as u64) ^ u64::from(std::process::id()).rotate_left(32);
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
    }
}

#[test]
fn oracle_and_mechanism_agree_on_random_configurations() {
    let configs: u32 =
        std::env::var("PULLSIM_ORACLE_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_CONFIGS);
    let seed = seed();
    say!(
        "oracle_agrees: seed {seed} ({configs} configurations × {} epochs; replay with PULLSIM_ORACLE_SEED={seed})",
        Epoch::ALL.len()
    );
    let fx = fixture();
    let stats = Mutex::new(Stats::default());
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config { cases: configs, failure_persistence: None, max_shrink_iters: 1024, ..Config::default() },
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    );
    let started = Instant::now();
    let result = runner.run(&knobs(), |k| fx.case(&k, &stats));
    let elapsed = started.elapsed().as_secs_f64();
    let s = stats.into_inner().unwrap_or_else(|e| e.into_inner());
    say!(
        "oracle_agrees: {} pulls ({} configurations) in {elapsed:.1} s: {:.0} cases/s",
        s.pulls,
        s.pulls / Epoch::ALL.len(),
        s.pulls as f64 / elapsed.max(1e-9)
    );
    say!(
        "oracle_agrees: {:.1} s building through ARM, {:.1} s pulling and predicting",
        s.building.as_secs_f64(),
        s.pulling.as_secs_f64()
    );
    say!("oracle_agrees: outcomes {:?}", s.outcomes);
    say!("oracle_agrees: routes {:?}", s.routes);
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, k)) => {
            panic!(
                "oracle and mechanism disagree (seed {seed}; replay with PULLSIM_ORACLE_SEED={seed})\nminimal configuration:\n{k:#?}\n{why}"
            )
        }
        Err(TestError::Abort(why)) => panic!("aborted (seed {seed}): {why}"),
    }
    assert!(s.pulls >= configs as usize * Epoch::ALL.len(), "only {} cases ran", s.pulls);
    if configs < DEFAULT_CONFIGS {
        return; // a short run (PULLSIM_ORACLE_CASES) proves agreement, not coverage
    }
    // The generator is not degenerate: both routes, success, and every failure code the
    // knobs can produce (each is expected dozens of times in a default run).
    assert!(s.pulls >= 2000, "only {} cases ran; at least 2,000 are required", s.pulls);
    assert!(s.routes.get("vnet").is_some_and(|n| *n > 0) && s.routes.get("public").is_some_and(|n| *n > 0));
    let missing: Vec<String> = std::iter::once("SUCCESS".to_string())
        .chain(REACHABLE_CODES.iter().map(|c| c.as_str()))
        .filter(|c| !s.outcomes.contains_key(c))
        .collect();
    assert!(missing.is_empty(), "never seen: {missing:?} (seen: {:?})", s.outcomes);
    let codes = s.outcomes.keys().filter(|c| *c != "SUCCESS").count();
    assert!(codes >= 8, "only {codes} distinct failure codes: {:?}", s.outcomes);
    let Fixture { env, rt, .. } = fx;
    rt.block_on(env.stop());
}
