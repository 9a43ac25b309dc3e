//! One pull in progress: what it has recorded (the trace, App Service's docker log), how
//! it ends early (a modeled failure with its stage and code, or a fault of pullsim
//! itself), and the network steps every stage shares: resolving a name through the
//! route's DNS servers and connecting from the route's source.

use std::sync::Arc;

use hickory_proto::op::ResponseCode;

use super::arm_client::ArmAccess;
use super::error::InfraError;
use super::resolve::{self, Answer, Asked};
use super::route::Route;
use super::rules::Epoch;
use super::site::SiteView;
use super::trace::{Code, Stage, Trace};
use crate::httpc::{Conn, HttpError, Resp};
use crate::model::Store;
use crate::model::view::Views;
use crate::netplan::{Fabric, Modeled, Plan, Unreachable};

/// A modeled failure: where the pull stopped and what App Service shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fail {
    pub stage: Stage,
    pub code: Code,
    /// What docker/App Service would say (`Get https://…: denied: …`).
    pub message: String,
}

/// How a pull ends early.
#[derive(Debug)]
pub(crate) enum PullError {
    /// As it would in Azure.
    Modeled(Fail),
    /// A pullsim fault (boxed: it is rare, and large).
    Infra(Box<InfraError>),
}

impl<E: Into<InfraError>> From<E> for PullError {
    fn from(e: E) -> Self {
        PullError::Infra(Box::new(e.into()))
    }
}

/// Why a step failed, as the trace records it: a summary with the modeled values, the
/// setting that decided it and the rule behind it.
pub(crate) struct Why {
    summary: String,
    decided_by: Option<String>,
    rule: Option<&'static str>,
}

/// A failed step's summary.
pub(crate) fn why(summary: impl Into<String>) -> Why {
    Why { summary: summary.into(), decided_by: None, rule: None }
}

impl Why {
    /// The setting that decided it.
    pub fn by(mut self, setting: impl Into<String>) -> Why {
        self.decided_by = Some(setting.into());
        self
    }

    /// The rule behind it.
    pub fn rule(mut self, rule: &'static str) -> Why {
        self.rule = Some(rule);
        self
    }
}

/// A host name resolved to a modeled address.
pub(crate) struct Target {
    pub host: String,
    pub dest: Modeled,
}

/// One pull in progress.
pub(crate) struct Pull<'a> {
    /// How the platform reaches ARM.
    pub arm: &'a ArmAccess,
    /// The store, for the network only (VNETs, interfaces).
    pub store: &'a Store,
    /// Address map and ports.
    pub fabric: &'a Fabric,
    /// TLS trusting pullsim's CA, for the ACR.
    pub tls: &'a Arc<rustls::ClientConfig>,
    /// The rules in force.
    pub epoch: Epoch,
    /// The site as read through ARM.
    pub view: SiteView,
    /// The network when the pull started.
    pub plan: Arc<Plan>,
    /// Every step so far.
    pub trace: Trace,
    /// App Service's docker log so far.
    pub log: Vec<String>,
}

impl Pull<'_> {
    /// Records the failed step and ends the pull at `stage` with `code`: what every
    /// modeled failure does.
    pub fn fail(&mut self, stage: Stage, code: Code, why: Why, message: impl Into<String>) -> PullError {
        self.trace.fail(stage, why.summary, why.decided_by, why.rule);
        PullError::Modeled(Fail { stage, code, message: message.into() })
    }

    /// A GET on an open connection to the registry.
    pub async fn get(&self, conn: &mut Conn, path: &str, headers: &[(&str, &str)]) -> Result<Resp, PullError> {
        conn.send("GET", path, headers, bytes::Bytes::new())
            .await
            .map_err(|source| InfraError::Registry { what: format!("GET {path}"), source }.into())
    }

    /// A form POST on an open connection to the registry.
    pub async fn post_form(&self, conn: &mut Conn, path: &str, form: String) -> Result<Resp, PullError> {
        conn.send("POST", path, &[("content-type", "application/x-www-form-urlencoded")], bytes::Bytes::from(form))
            .await
            .map_err(|source| InfraError::Registry { what: format!("POST {path}"), source }.into())
    }

    /// Resolves `host` through the route's DNS servers, recording the step in `stage`.
    pub async fn resolve(&mut self, route: &Route, host: &str, stage: Stage) -> Result<Target, PullError> {
        let asked = resolve::ask(self.fabric, &self.plan, route, host).await?;
        let decided = route.resolvers.setting.text();
        let Asked { server, modeled, answer } = asked;
        // An internet resolver answered (rule dns.public-resolver): the public chain.
        let public_resolver = modeled.vnet.is_none() && modeled != Modeled::azure_dns();
        let chain = |chain: &[String]| {
            if chain.is_empty() { String::new() } else { format!(" (via {})", chain.join(" → ")) }
        };
        let lookup = |what: &str| format!("Get https://{host}/v2/: dial tcp: lookup {host} on {server}:53: {what}");
        let (code, message, summary) = match &answer {
            Answer::Addresses { chain: c, addrs } => {
                let dest = self.plan.locate(&route.source, addrs[0]);
                let view = if addrs[0].is_private() { "private" } else { "public" };
                let summary = format!("{host} → {}{} ({view} address, asked {server})", addrs[0], chain(c));
                let rule = if public_resolver { "dns.public-resolver" } else { "dns.private-zone" };
                self.trace.ok(stage, summary, Some(decided), Some(rule));
                return Ok(Target { host: host.to_string(), dest });
            }
            Answer::NxDomain { chain: c } => {
                (Code::DnsNxdomain, lookup("no such host"), format!("{host}{}: NXDOMAIN from {server}", chain(c)))
            }
            Answer::NoAddress { chain: c } => {
                (Code::DnsNoAddress, lookup("no such host"), format!("{host}{}: no address from {server}", chain(c)))
            }
            Answer::Failed(ResponseCode::Refused) => {
                (Code::DnsRefused, lookup("server misbehaving"), format!("{host}: REFUSED by {server}"))
            }
            Answer::Failed(rc) => {
                (Code::DnsServfail, lookup("server misbehaving"), format!("{host}: {rc} from {server}"))
            }
            Answer::Timeout => (
                Code::DnsTimeout,
                lookup("i/o timeout"),
                format!("{host}: no answer from {server} (unreachable or silent)"),
            ),
        };
        let rule = if public_resolver { "dns.public-resolver" } else { route.resolvers.setting.failure_rule() };
        Err(self.fail(stage, code, why(summary).by(decided).rule(rule), message))
    }

    /// Opens TLS to `t` from the route's source, recording the step in `stage`.
    pub async fn connect(&mut self, route: &Route, t: &Target, stage: Stage) -> Result<Conn, PullError> {
        const PORT: u16 = 443;
        let timeout = format!("Get https://{}/v2/: dial tcp {}:{PORT}: i/o timeout", t.host, t.dest.ip);
        if let Err(unreachable) = self.plan.reachable(&route.source, &t.dest) {
            let reason = match unreachable {
                Unreachable::PrivateFromPublic => "a private address cannot be reached from the public route",
                Unreachable::OtherVnet { .. } => {
                    "the address is in a VNET that is neither the source's nor peered with it"
                }
            };
            let w = why(format!("{}:{PORT} from {}: {reason}", t.dest.ip, route.source.ip)).rule("net.private");
            return Err(self.fail(stage, Code::PrivateAddressUnreachable, w, timeout));
        }
        // A private address no network interface holds is nobody's: in Azure the SYN goes
        // unanswered. Decided from the network (the store's NICs), not by trying: a socket
        // once bound for an endpoint that is gone must not answer for it (found by
        // tests/oracle_agrees.rs: after an endpoint moved to another VNET with the same
        // address space, its old address still reached the ACR, which denied the client).
        if let Some(vnet) = &t.dest.vnet
            && !Views::of(self.store).nic_holds(vnet, t.dest.ip)
        {
            let w = why(format!("{}:{PORT}: no network interface holds this address in the VNET", t.dest.ip))
                .rule("net.private");
            return Err(self.fail(stage, Code::ConnectionRefused, w, timeout));
        }
        let seen = self.plan.seen_as(&route.source, &t.dest);
        let from = self.local(&seen)?;
        match Conn::open(Some(from), self.fabric.https_addr(&t.dest), &t.host, self.tls.clone()).await {
            Ok(c) => {
                let egress = seen != route.source;
                let via = if egress { format!(" (leaving the VNET as {})", seen.ip) } else { String::new() };
                let summary = format!("TLS to {} at {}:{PORT} from {}{via}", t.host, t.dest.ip, route.source.ip);
                self.trace.ok(stage, summary, None, egress.then_some("route.egress"));
                Ok(c)
            }
            Err(HttpError::Connect { err, .. }) if err.kind() == std::io::ErrorKind::ConnectionRefused => {
                let m =
                    format!("Get https://{}/v2/: dial tcp {}:{PORT}: connect: connection refused", t.host, t.dest.ip);
                Err(self.fail(
                    stage,
                    Code::ConnectionRefused,
                    why(format!("nothing listens at {}:{PORT}", t.dest.ip)),
                    m,
                ))
            }
            Err(source) => Err(InfraError::Registry { what: format!("connecting to {}", t.host), source }.into()),
        }
    }

    /// The real address to send from as `m`.
    pub fn local(&self, m: &Modeled) -> Result<std::net::IpAddr, PullError> {
        self.fabric.map.local(m).map_err(|source| InfraError::LocalAddress { modeled: m.clone(), source }.into())
    }
}
