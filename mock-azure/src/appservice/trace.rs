//! What a pull did, step by step, and how it ended: the contract traces, scenario
//! expectations, `explain` and the oracle share.

use serde::{Deserialize, Serialize};

/// The stages of a pull, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(strum::VariantArray))]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Reading the site's configuration through ARM.
    Config,
    /// Choosing the route (VNET or public).
    Route,
    /// Resolving the login server.
    Dns,
    /// Opening the connection.
    Connect,
    /// The ACR's network rules.
    Firewall,
    /// The ACR's authentication.
    Auth,
    /// Fetching the manifest.
    Manifest,
    /// Downloading the blobs (through the data endpoint).
    Blob,
    /// Checking every digest.
    Verify,
}

impl Stage {
    /// The lower-case name used in scenario files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Config => "config",
            Stage::Route => "route",
            Stage::Dns => "dns",
            Stage::Connect => "connect",
            Stage::Firewall => "firewall",
            Stage::Auth => "auth",
            Stage::Manifest => "manifest",
            Stage::Blob => "blob",
            Stage::Verify => "verify",
        }
    }

    /// Every stage, in order. A test holds it equal to the variants the enum has.
    pub const ALL: [Stage; 9] = [
        Stage::Config,
        Stage::Route,
        Stage::Dns,
        Stage::Connect,
        Stage::Firewall,
        Stage::Auth,
        Stage::Manifest,
        Stage::Blob,
        Stage::Verify,
    ];
}

/// How a pull failed: stable codes scenarios match on. The list is documented here and
/// nowhere else; [`Code::ALL`] lists every code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(strum::VariantArray))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Code {
    /// `linuxFxVersion` is not `DOCKER|<image>`.
    ImageNotConfigured,
    /// Docker refused the image reference before any request (`invalid reference format`,
    /// e.g. an upper-case repository).
    ImageReferenceInvalid,
    /// The name does not exist in the view that answered.
    DnsNxdomain,
    /// The resolver failed (a custom server that forwards nowhere, a dead forwarder).
    DnsServfail,
    /// The resolver refused the name.
    DnsRefused,
    /// The resolver did not answer in time (unreachable custom DNS server).
    DnsTimeout,
    /// The name exists but has no address.
    DnsNoAddress,
    /// A private address outside the source's VNET and its peers.
    PrivateAddressUnreachable,
    /// Nothing accepts connections at the resolved address.
    ConnectionRefused,
    /// The ACR's network rules refused the client.
    AcrFirewallDenied,
    /// The ACR refused the credentials (or there were none).
    AcrUnauthorized,
    /// 2021-07: a managed identity cannot pull over the VNET.
    MiNotSupportedOverVnet,
    /// The managed identity named by the site does not exist on it.
    MiIdentityNotFound,
    /// The identity lacks a role with pull on the registry.
    MiNoPullRole,
    /// The repository or tag does not exist.
    ManifestUnknown,
    /// A Docker schema 1 manifest.
    ManifestSchema1Unsupported,
    /// An index without linux/amd64.
    NoMatchingPlatform,
    /// A layer the manifest names is missing.
    BlobUnknown,
    /// A downloaded blob does not match its digest.
    DigestMismatch,
}

impl Code {
    /// Every code, in the order of the pull's stages (`pullsim rules --codes` lists
    /// them). The one list: a test holds it equal to the variants the enum has.
    pub const ALL: [Code; 19] = [
        Code::ImageNotConfigured,
        Code::ImageReferenceInvalid,
        Code::DnsNxdomain,
        Code::DnsServfail,
        Code::DnsRefused,
        Code::DnsTimeout,
        Code::DnsNoAddress,
        Code::PrivateAddressUnreachable,
        Code::ConnectionRefused,
        Code::AcrFirewallDenied,
        Code::AcrUnauthorized,
        Code::MiNotSupportedOverVnet,
        Code::MiIdentityNotFound,
        Code::MiNoPullRole,
        Code::ManifestUnknown,
        Code::ManifestSchema1Unsupported,
        Code::NoMatchingPlatform,
        Code::BlobUnknown,
        Code::DigestMismatch,
    ];

    /// `DNS_NXDOMAIN` etc.
    pub fn as_str(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    }

    /// What the code means, in one sentence (the variant's documentation, as data for
    /// `pullsim rules --codes` and docs/rules.md).
    pub fn meaning(self) -> &'static str {
        match self {
            Code::ImageNotConfigured => "linuxFxVersion is not DOCKER|<image>.",
            Code::ImageReferenceInvalid => {
                "Docker refused the image reference (invalid reference format, e.g. an upper-case repository)."
            }
            Code::DnsNxdomain => "The name does not exist in the view that answered.",
            Code::DnsServfail => "The resolver failed (a custom server that forwards nowhere, a dead forwarder).",
            Code::DnsRefused => "The resolver refused the name.",
            Code::DnsTimeout => "The resolver did not answer in time (unreachable custom DNS server).",
            Code::DnsNoAddress => "The name exists but has no address.",
            Code::PrivateAddressUnreachable => "A private address outside the source's VNET and its peers.",
            Code::ConnectionRefused => "Nothing accepts connections at the resolved address.",
            Code::AcrFirewallDenied => "The ACR's network rules refused the client.",
            Code::AcrUnauthorized => "The ACR refused the credentials (or there were none).",
            Code::MiNotSupportedOverVnet => "2021-07: a managed identity cannot pull over the VNET.",
            Code::MiIdentityNotFound => "The managed identity named by the site does not exist on it.",
            Code::MiNoPullRole => "The identity lacks a role with pull on the registry.",
            Code::ManifestUnknown => "The repository or tag does not exist.",
            Code::ManifestSchema1Unsupported => "A Docker schema 1 manifest.",
            Code::NoMatchingPlatform => "An index without linux/amd64.",
            Code::BlobUnknown => "A layer the manifest names is missing.",
            Code::DigestMismatch => "A downloaded blob does not match its digest.",
        }
    }
}

/// The route the pull took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteKind {
    /// Through the VNET integration subnet.
    Vnet,
    /// Through the platform's public outbound addresses.
    Public,
}

/// One step of a trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// The stage it belongs to.
    pub stage: Stage,
    /// What happened, with the modeled values (`secureacr.azurecr.io → 10.0.2.4`).
    pub summary: String,
    /// The setting that decided it (`WEBSITE_PULL_IMAGE_OVER_VNET=true`), if any.
    pub decided_by: Option<String>,
    /// The rule behind it (an ID from the rule table), if any.
    pub rule: Option<&'static str>,
    /// Whether the step failed.
    pub failed: bool,
}

/// How the pull ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// `true` when the image was pulled and verified.
    pub success: bool,
    /// The route taken (known once the route step ran).
    pub route: Option<RouteKind>,
    /// For a failure: the stage.
    pub stage: Option<Stage>,
    /// For a failure: the code.
    pub code: Option<Code>,
    /// What a user would see in Azure (the App Service log line or ACR's message).
    pub message: Option<String>,
}

/// A pull's trace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// Steps in order.
    pub steps: Vec<Step>,
}

impl Trace {
    /// Records a successful step.
    pub fn ok(
        &mut self,
        stage: Stage,
        summary: impl Into<String>,
        decided_by: Option<String>,
        rule: Option<&'static str>,
    ) {
        self.steps.push(Step { stage, summary: summary.into(), decided_by, rule, failed: false });
    }

    /// Records a failed step.
    pub fn fail(
        &mut self,
        stage: Stage,
        summary: impl Into<String>,
        decided_by: Option<String>,
        rule: Option<&'static str>,
    ) {
        self.steps.push(Step { stage, summary: summary.into(), decided_by, rule, failed: true });
    }
}

/// A step as read back from another process (the docker backend's worker): its rule ID
/// must name a rule of the table.
#[derive(Deserialize)]
struct StepWire {
    stage: Stage,
    summary: String,
    decided_by: Option<String>,
    rule: Option<String>,
    failed: bool,
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Step, D::Error> {
        let w = StepWire::deserialize(d)?;
        let rule = match w.rule {
            None => None,
            Some(id) => Some(
                super::rules::rule(&id).ok_or_else(|| serde::de::Error::custom(format!("unknown rule '{id}'")))?.id,
            ),
        };
        Ok(Step { stage: w.stage, summary: w.summary, decided_by: w.decided_by, rule, failed: w.failed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_read_back_is_the_trace_written_and_unknown_rules_are_refused() {
        let mut t = Trace::default();
        t.ok(Stage::Route, "VNET", Some("WEBSITE_PULL_IMAGE_OVER_VNET=true".into()), Some("route.2021-07"));
        t.fail(Stage::Dns, "NXDOMAIN", None, None);
        let back: Trace = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
        let bad = r#"{"steps":[{"stage":"dns","summary":"x","decided_by":null,"rule":"no.such","failed":false}]}"#;
        assert!(serde_json::from_str::<Trace>(bad).unwrap_err().to_string().contains("unknown rule 'no.such'"));
    }

    #[test]
    fn the_lists_of_codes_and_stages_are_the_enums_variants_in_order() {
        // strum enumerates the variants from the enum itself: a code or stage added to the
        // enum and not to the list fails here.
        assert_eq!(Code::ALL.as_slice(), <Code as strum::VariantArray>::VARIANTS);
        assert_eq!(Stage::ALL.as_slice(), <Stage as strum::VariantArray>::VARIANTS);
        let mut sorted = Stage::ALL.to_vec();
        sorted.sort();
        assert_eq!(sorted, Stage::ALL, "ALL is in pipeline order");
        assert!(Stage::ALL.iter().all(|s| serde_json::to_value(s).unwrap() == s.as_str()));
    }

    #[test]
    fn codes_have_stable_screaming_names() {
        assert_eq!(Code::DnsNxdomain.as_str(), "DNS_NXDOMAIN");
        assert_eq!(Code::MiNotSupportedOverVnet.as_str(), "MI_NOT_SUPPORTED_OVER_VNET");
        assert_eq!(Code::AcrFirewallDenied.as_str(), "ACR_FIREWALL_DENIED");
    }

    #[test]
    fn every_code_is_listed_once_with_its_meaning() {
        let names: std::collections::BTreeSet<String> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), Code::ALL.len());
        assert!(Code::ALL.iter().all(|c| c.meaning().ends_with('.')));
    }
}
