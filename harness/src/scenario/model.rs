//! The typed, validated scenario the loader produces.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use mock_azure::appservice::rules::Epoch;
use mock_azure::appservice::trace::{Code, RouteKind, Stage};
use mock_azure::model::net::Cidr;
use serde_json::{Map, Value};

/// Declares an enum over a closed set of words a scenario may write, with its spelling.
macro_rules! words {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($(#[$vm])* #[doc = concat!("Written `", $s, "`.")] $v),+ }

        impl $name {
            /// Every value, as written in scenario files.
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            /// The word as written in scenario files (and, where it is one, in ARM).
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }

            pub(crate) fn words() -> Vec<&'static str> {
                Self::ALL.iter().map(|w| w.as_str()).collect()
            }

            pub(crate) fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|w| w.as_str() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

words! {
    /// ACR SKUs.
    AcrSku { Basic = "Basic", Standard = "Standard", Premium = "Premium" }
}

words! {
    /// `publicNetworkAccess` of a registry.
    PublicNetworkAccess { Enabled = "Enabled", Disabled = "Disabled" }
}

words! {
    /// `networkRuleSet.defaultAction` of a registry.
    DefaultAction { Allow = "Allow", Deny = "Deny" }
}

words! {
    /// `networkRuleBypassOptions` of a registry.
    NetworkRuleBypass { AzureServices = "AzureServices", None = "None" }
}

words! {
    /// `resolutionPolicy` of a private DNS zone's virtual network link.
    ResolutionPolicy { Default = "Default", NxDomainRedirect = "NxDomainRedirect" }
}

words! {
    /// Record types a scenario can write into a private DNS zone.
    RecordType { A = "A", Aaaa = "AAAA", Cname = "CNAME", Txt = "TXT", Ptr = "PTR" }
}

words! {
    /// Where a custom DNS server sends what no conditional forwarder covers (the same
    /// three choices as `mock_azure::dns::Upstream`).
    Upstream {
        /// Azure DNS (168.63.129.16), asked from the server's own address.
        AzureDns = "AzureDns",
        /// An internet resolver: the public view.
        Public = "Public",
        /// Nothing: SERVFAIL.
        None = "None",
    }
}

words! {
    /// How the site authenticates to its registry.
    Credentials {
        /// `DOCKER_REGISTRY_SERVER_URL/USERNAME/PASSWORD` from the registry's admin user.
        Admin = "admin",
        /// No registry credentials are configured.
        None = "none",
        /// `acrUseManagedIdentityCreds` (and `acrUserManagedIdentityID` for a user identity).
        ManagedIdentity = "managed-identity",
    }
}

words! {
    /// HTTP methods a `[[step]]` can send.
    Method { Get = "GET", Put = "PUT", Patch = "PATCH", Post = "POST", Delete = "DELETE" }
}

words! {
    /// The outcome a scenario expects of the pull.
    PullOutcome { Success = "success", Failure = "failure" }
}

/// A scenario ready to run: its topology, steps and expectations.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Its name; for a matrix cell, `<name> [axis=value, ...]`.
    pub name: String,
    /// What it shows, if said.
    pub description: Option<String>,
    /// The scenario file.
    pub file: PathBuf,
    /// The fixture it builds on: its name and the file it was found in.
    pub fixture: Option<(String, PathBuf)>,
    /// The rule epoch it pins; `None` means the newest ([`Scenario::epoch`]).
    pub rules: Option<Epoch>,
    /// For a matrix cell: `(axis, value)` in axis order; empty otherwise.
    pub cell: Vec<(String, String)>,
    /// What to build through ARM.
    pub topology: Topology,
    /// What to do after building it, in order.
    pub steps: Vec<Step>,
    /// What the pull must give once the topology is built, before the steps (which
    /// carry their own expectations).
    pub expect: Option<Expect>,
}

impl Scenario {
    /// The epoch to run under: the pinned one or the newest.
    pub fn epoch(&self) -> Epoch {
        self.rules.unwrap_or(Epoch::LATEST)
    }
}

/// The Azure resources of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Topology {
    /// The resource group everything lives in.
    pub resource_group: ResourceGroup,
    /// Virtual networks, in file order.
    pub vnets: Vec<Vnet>,
    /// Container registries.
    pub registries: Vec<Registry>,
    /// User-assigned managed identities.
    pub identities: Vec<Identity>,
    /// Private DNS zones with their links and records.
    pub private_dns_zones: Vec<PrivateDnsZone>,
    /// Private endpoints to registries.
    pub private_endpoints: Vec<PrivateEndpoint>,
    /// Custom DNS servers (VMs in a VNET; not ARM resources).
    pub custom_dns: Vec<CustomDns>,
    /// Role assignments.
    pub role_assignments: Vec<RoleAssignment>,
    /// The App Service plan (Linux).
    pub plan: Option<AppServicePlan>,
    /// The web app.
    pub site: Option<Site>,
}

impl Topology {
    /// The VNET called `name`.
    pub fn vnet(&self, name: &str) -> Option<&Vnet> {
        self.vnets.iter().find(|v| v.name == name)
    }

    /// The registry called `name`.
    pub fn registry(&self, name: &str) -> Option<&Registry> {
        self.registries.iter().find(|r| r.name == name)
    }

    /// The location of a VNET (its own or the resource group's).
    pub fn vnet_location(&self, vnet: &Vnet) -> String {
        vnet.location.clone().unwrap_or_else(|| self.resource_group.location.clone())
    }

    /// The location of a registry (its own or the resource group's).
    pub fn registry_location(&self, registry: &Registry) -> String {
        registry.location.clone().unwrap_or_else(|| self.resource_group.location.clone())
    }
}

/// `[resource_group]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceGroup {
    /// Name.
    pub name: String,
    /// Region (`westeurope`); every resource defaults to it.
    pub location: String,
}

/// `[[vnet]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Vnet {
    /// Name.
    pub name: String,
    /// Region, when not the resource group's.
    pub location: Option<String>,
    /// `addressSpace.addressPrefixes`.
    pub address_space: Vec<Cidr>,
    /// `dhcpOptions.dnsServers` (empty: Azure DNS).
    pub dns_servers: Vec<Ipv4Addr>,
    /// Subnets.
    pub subnets: Vec<Subnet>,
    /// Peerings from this VNET.
    pub peerings: Vec<Peering>,
}

/// A subnet of a VNET.
#[derive(Debug, Clone, PartialEq)]
pub struct Subnet {
    /// Name.
    pub name: String,
    /// `addressPrefix`.
    pub prefix: Cidr,
    /// Service delegation (`Microsoft.Web/serverFarms`), if any.
    pub delegation: Option<String>,
}

/// A peering from a VNET to another of the scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Peering {
    /// Name of the peering on this VNET.
    pub name: String,
    /// The remote VNET's name.
    pub remote: String,
    /// Whether the remote side peers back (`<remote>-to-<this>`), as the portal offers.
    pub bidirectional: bool,
}

impl Peering {
    /// The name of the peering the remote VNET gets when `bidirectional`.
    pub fn reverse_name(&self, this_vnet: &str) -> String {
        format!("{}-to-{this_vnet}", self.remote)
    }
}

/// `[registry]` / `[[registry]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Registry {
    /// Name (the login server is `<name>.azurecr.io`).
    pub name: String,
    /// Region, when not the resource group's.
    pub location: Option<String>,
    /// SKU.
    pub sku: AcrSku,
    /// `adminUserEnabled`.
    pub admin_user: bool,
    /// `publicNetworkAccess`.
    pub public_network_access: PublicNetworkAccess,
    /// `networkRuleSet.defaultAction`.
    pub default_action: DefaultAction,
    /// `networkRuleSet.ipRules` (addresses or prefixes, allowed).
    pub ip_rules: Vec<String>,
    /// `networkRuleBypassOptions`, when set.
    pub network_rule_bypass: Option<NetworkRuleBypass>,
    /// `dataEndpointEnabled`.
    pub data_endpoint: bool,
    /// `anonymousPullEnabled`.
    pub anonymous_pull: bool,
    /// Images the runner pushes.
    pub images: Vec<ImageSpec>,
}

impl Registry {
    /// `<name>.azurecr.io`.
    pub fn login_server(&self) -> String {
        format!("{}.azurecr.io", self.name.to_ascii_lowercase())
    }
}

/// An image to push into a registry, generated from a seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpec {
    /// Repository.
    pub repo: String,
    /// Tag.
    pub tag: String,
    /// Number of layers.
    pub layers: u32,
    /// Size of each layer, in bytes.
    pub layer_size: u64,
    /// Seed of the layer contents.
    pub seed: u64,
    /// Push a Docker schema 1 manifest (which App Service refuses).
    pub schema1: bool,
    /// Push an index with these platforms (`linux/amd64`, `linux/arm64/v8`); empty: a
    /// single manifest.
    pub platforms: Vec<String>,
}

/// `[[identity]]`: a user-assigned managed identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Name.
    pub name: String,
}

/// `vnet/subnet`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetRef {
    /// VNET name.
    pub vnet: String,
    /// Subnet name.
    pub subnet: String,
}

impl std::fmt::Display for SubnetRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.vnet, self.subnet)
    }
}

/// `[[private_endpoint]]` to a registry.
#[derive(Debug, Clone, PartialEq)]
pub struct PrivateEndpoint {
    /// Name.
    pub name: String,
    /// The subnet it takes its addresses from.
    pub subnet: SubnetRef,
    /// The registry it connects to.
    pub registry: String,
    /// Private DNS zones of its zone group (none: no zone group, no records).
    pub dns_zone_group: Vec<String>,
    /// Request the connection manually (it stays `Pending` until approved).
    pub manual_approval: bool,
}

/// `[[private_dns_zone]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PrivateDnsZone {
    /// Zone name (`privatelink.azurecr.io`).
    pub name: String,
    /// Virtual network links.
    pub links: Vec<ZoneLink>,
    /// Record sets written directly (a zone group writes its own).
    pub records: Vec<Record>,
}

/// A virtual network link of a private DNS zone.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneLink {
    /// Name.
    pub name: String,
    /// The linked VNET.
    pub vnet: String,
    /// `registrationEnabled`.
    pub registration: bool,
    /// `resolutionPolicy`, when set.
    pub resolution_policy: Option<ResolutionPolicy>,
}

/// A record set of a private DNS zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Name relative to the zone (`@` for the apex).
    pub name: String,
    /// Type.
    pub rtype: RecordType,
    /// TTL in seconds.
    pub ttl: u32,
    /// Values: addresses for A/AAAA, the target for CNAME/PTR, texts for TXT.
    pub values: Vec<String>,
}

/// `[[custom_dns]]`: a DNS server running in a VNET (what `dhcpOptions.dnsServers`
/// points at), or without a VNET one on the internet at a public address. Not an ARM
/// resource: the runner registers it with the fake DNS.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomDns {
    /// Name.
    pub name: String,
    /// The VNET it runs in; empty: on the internet.
    pub vnet: String,
    /// Its address in that VNET.
    pub address: Ipv4Addr,
    /// What it does with names no forwarder covers.
    pub upstream: Upstream,
    /// Conditional forwarders.
    pub forwarders: Vec<Forwarder>,
}

/// A conditional forwarder of a custom DNS server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarder {
    /// The zone it covers.
    pub zone: String,
    /// Servers asked in order (`168.63.129.16` is Azure DNS).
    pub targets: Vec<Ipv4Addr>,
}

/// Who a role assignment is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The site's system-assigned identity.
    Site,
    /// A user-assigned identity of the scenario.
    Identity(String),
}

/// Where a role assignment applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A registry of the scenario.
    Registry(String),
    /// The resource group.
    ResourceGroup,
}

/// `[[role_assignment]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAssignment {
    /// Who.
    pub principal: Principal,
    /// A built-in role name (`AcrPull`).
    pub role: String,
    /// Where.
    pub scope: Scope,
}

/// `[plan]`: a Linux App Service plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppServicePlan {
    /// Name.
    pub name: String,
    /// SKU name (`P1v3`).
    pub sku: String,
}

/// Which identity pulls when `credentials = "managed-identity"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullIdentity {
    /// The system-assigned identity.
    System,
    /// A user-assigned identity (by name).
    User(String),
}

/// `[site]`: a Linux web app for containers.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// Name.
    pub name: String,
    /// The image (`reg.azurecr.io/app:v1`); `None` when `[site.config] linuxFxVersion` is
    /// given instead.
    pub image: Option<String>,
    /// The integration subnet, if VNET-integrated.
    pub vnet_integration: Option<SubnetRef>,
    /// How it authenticates to the registry.
    pub credentials: Credentials,
    /// Whether it has a system-assigned identity.
    pub system_identity: bool,
    /// Its user-assigned identities (names).
    pub user_identities: Vec<String>,
    /// The identity that pulls with `credentials = "managed-identity"`.
    pub pull_identity: Option<PullIdentity>,
    /// App settings (values as strings).
    pub app_settings: BTreeMap<String, String>,
    /// `siteConfig` keys, as ARM JSON.
    pub config: Map<String, Value>,
    /// Site `properties`, as ARM JSON.
    pub properties: Map<String, Value>,
}

impl Site {
    /// The registry name the image is on, if it is an ACR login server.
    pub fn image_registry(&self) -> Option<String> {
        let image = self.image.as_deref()?;
        let host = image.split('/').next()?;
        host.to_ascii_lowercase().strip_suffix(".azurecr.io").map(str::to_string)
    }
}

/// One `[[step]]`.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// An ARM request, with what it must answer.
    Arm(ArmStep),
    /// `POST .../restart` of the site (the platform pulls again).
    Restart,
    /// A pull, with what it must give.
    Pull(Option<Expect>),
}

/// An ARM request of a `[[step]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmStep {
    /// Method.
    pub method: Method,
    /// Absolute path with `?api-version=`; `{subscription}` stands for the subscription.
    pub path: String,
    /// JSON body.
    pub body: Option<Value>,
    /// What it must answer.
    pub expect: Option<ArmExpect>,
    /// Who sends it (`as = "site"` or `"identity:<name>"`); `None`: the service
    /// principal that built the topology (the subscription's Owner).
    pub actor: Option<Principal>,
}

/// What an ARM step must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmExpect {
    /// HTTP status.
    pub status: Option<u16>,
    /// `error.code`.
    pub code: Option<String>,
    /// A substring of `error.message`.
    pub message: Option<String>,
}

/// What a pull must give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    /// Success or failure.
    pub pull: PullOutcome,
    /// The route it took.
    pub route: Option<RouteKind>,
    /// For a failure: the stage.
    pub stage: Option<Stage>,
    /// For a failure: the code.
    pub code: Option<Code>,
    /// A substring of the outcome's message.
    pub message: Option<String>,
    /// Substrings that must each appear in the App Service log.
    pub log: Vec<String>,
}
