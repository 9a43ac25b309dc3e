//! The pull itself, step by step over real sockets, as the App Service platform does it:
//! read the site through ARM, choose the route, resolve, connect from the route's
//! source, pass the ACR's firewall and auth, fetch the manifest, follow the 307s to the
//! data endpoint, verify every digest.
//!
//! Each stage is a unit of its own: the route is a pure decision ([`super::route`]),
//! authentication one unit per credential kind ([`super::auth`]), the manifest and the
//! blobs read with the ACR's OCI rules (`fetch`); this file runs them in order.
//! A modeled failure (what would fail in Azure) ends the pull with an [`Outcome`]; an
//! infrastructure fault (a pullsim component down or misconfigured) is an
//! [`InfraError`], never dressed up as a modeled outcome.

use std::sync::Arc;

pub use super::arm_client::{ACR_AUDIENCE, ArmAccess};
pub use super::error::InfraError;

use super::auth::authenticate;
use super::fetch;
use super::logs::{self, docker_error, registry_error};
use super::pull::{Pull, PullError, Target, why};
use super::route::{self, ResolverSetting, Route, Via};
use super::rules::Epoch;
use super::trace::{Code, Outcome, RouteKind, Stage, Trace};
use crate::acr::oci::{Digest, ImageRef};
use crate::httpc::{Conn, Resp};
use crate::model::Store;
use crate::netplan::{Fabric, Plan};

/// The worker of one environment.
pub struct Worker {
    /// ARM access.
    pub arm: ArmAccess,
    /// The store, read only for the network (VNETs, peerings, DNS servers) — never for
    /// the site's configuration, which comes through ARM.
    pub store: Store,
    /// Address map and ports.
    pub fabric: Fabric,
    /// TLS trusting pullsim's CA, for the ACR.
    pub tls: Arc<rustls::ClientConfig>,
}

/// What one pull produced.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PullReport {
    /// How it ended.
    pub outcome: Outcome,
    /// Every step.
    pub trace: Trace,
    /// The App Service docker log lines, without timestamps.
    pub log: Vec<String>,
    /// Digest of the image manifest pulled, on success.
    pub manifest_digest: Option<String>,
}

impl Worker {
    /// Pulls the image of `site_id` under `epoch`.
    pub async fn pull(&self, site_id: &str, epoch: Epoch) -> Result<PullReport, InfraError> {
        let view = self.arm.read_site(site_id).await?;
        let mut p = Pull {
            arm: &self.arm,
            store: &self.store,
            fabric: &self.fabric,
            tls: &self.tls,
            epoch,
            view,
            plan: Plan::of(&self.store),
            trace: Trace::default(),
            log: Vec::new(),
        };
        let mut route_kind = None;
        let result = run(&mut p, &mut route_kind).await;
        let image = match p.view.image() {
            Some(Ok(i)) => i.to_string(),
            // What the user wrote, as App Service's log shows it.
            _ => p.view.linux_fx.split_once('|').map_or(p.view.linux_fx.as_str(), |(_, r)| r.trim()).to_string(),
        };
        let (outcome, manifest_digest) = match result {
            Ok(digest) => {
                p.log.push(logs::success());
                (Outcome { success: true, route: route_kind, stage: None, code: None, message: None }, Some(digest))
            }
            Err(PullError::Modeled(f)) => {
                p.log.extend(logs::failure(&image, route_kind == Some(RouteKind::Vnet), &f.message, epoch));
                let outcome = Outcome {
                    success: false,
                    route: route_kind,
                    stage: Some(f.stage),
                    code: Some(f.code),
                    message: Some(f.message),
                };
                (outcome, None)
            }
            Err(PullError::Infra(e)) => return Err(*e),
        };
        Ok(PullReport { outcome, trace: p.trace, log: p.log, manifest_digest })
    }
}

/// The stages in order; the route's kind is kept as soon as it is known, for the outcome.
async fn run(p: &mut Pull<'_>, route_kind: &mut Option<RouteKind>) -> Result<String, PullError> {
    // 1. Config.
    let (image, url_matches) = config(p)?;
    // 2. Route.
    let route = route::decide(&p.view, p.epoch, &p.plan)?;
    *route_kind = Some(route.kind);
    record_route(p, &route, &image);
    // 3–5. Resolve, connect, firewall: the /v2/ ping tells the firewall's verdict.
    let login = p.resolve(&route, &image.host, Stage::Dns).await?;
    let mut conn = p.connect(&route, &login, Stage::Connect).await?;
    let ping = firewall(p, &mut conn, &route, &login, &image).await?;
    // 6. Auth.
    let token = authenticate(p, &mut conn, &route, &image, url_matches, &ping).await?;
    let auth = token.map(|t| format!("Bearer {t}"));
    // 7. Manifest.
    let pullable = fetch::manifest(p, &mut conn, &image, auth.as_deref()).await?;
    // 8–9. Blobs through the data endpoint, verified.
    fetch::blobs(p, &mut conn, &route, &image, &pullable.blobs, auth.as_deref()).await?;
    Ok(pullable.digest)
}

/// The image from `linuxFxVersion`, and whether `DOCKER_REGISTRY_SERVER_URL` names its
/// registry (else the platform takes it for Docker Hub's).
fn config(p: &mut Pull<'_>) -> Result<(ImageRef, bool), PullError> {
    let image = match p.view.image() {
        Some(Ok(image)) => image,
        // Docker refuses the reference itself, before any request (rule image.reference).
        Some(Err(e)) if e.is_docker_refusal() => {
            let written = p.view.linux_fx.split_once('|').map_or("", |(_, r)| r.trim()).to_string();
            p.log.push(logs::pulling(&written));
            let w = why(format!("docker refuses the image reference '{written}': {e}"))
                .by("siteConfig.linuxFxVersion")
                .rule("image.reference");
            return Err(p.fail(Stage::Config, Code::ImageReferenceInvalid, w, e.to_string()));
        }
        _ => {
            let m = format!("linuxFxVersion is '{}', not DOCKER|<image>", p.view.linux_fx);
            let w = why(m.clone()).by("siteConfig.linuxFxVersion");
            return Err(p.fail(Stage::Config, Code::ImageNotConfigured, w, m));
        }
    };
    let url_matches = p.view.setting("DOCKER_REGISTRY_SERVER_URL").is_some_and(|u| {
        u.trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .eq_ignore_ascii_case(&image.host)
    });
    p.log.push(logs::pulling(&image.to_string()));
    if !url_matches {
        p.log.push(logs::docker_hub(&image.to_string()));
    }
    let summary = format!("image {image} from linuxFxVersion");
    p.trace.ok(Stage::Config, summary, Some(format!("linuxFxVersion=DOCKER|{image}")), None);
    Ok((image, url_matches))
}

/// The route and its DNS servers, as the trace shows them.
fn record_route(p: &mut Pull<'_>, route: &Route, image: &ImageRef) {
    let summary = match &route.via {
        Via::Public { outbound } => format!("public: the pull leaves from the site's outbound address {outbound}"),
        Via::Vnet { vnet, subnet, ip } => format!("VNET: the pull leaves from {ip} in {vnet}/{subnet}"),
    };
    p.trace.ok(Stage::Route, summary, Some(route.deciding_setting.clone()), Some(route.rule));
    for c in &route.caveats {
        p.trace.ok(Stage::Route, c.summary.clone(), None, Some(c.rule));
    }
    match &route.resolvers.setting {
        ResolverSetting::PublicRoute => {
            let summary = "resolver: Azure DNS, public view (the platform's resolver)";
            p.trace.ok(Stage::Dns, summary, None, Some("dns.resolver"));
        }
        setting => {
            let list: Vec<String> = route.resolvers.all().map(|s| s.ip.to_string()).collect();
            p.trace.ok(
                Stage::Dns,
                format!("resolver: {}", list.join(", ")),
                Some(setting.text()),
                Some("dns.resolver"),
            );
        }
    }
    if route.kind == RouteKind::Vnet {
        p.log.push(logs::over_vnet(&image.to_string()));
    }
}

/// `GET /v2/`: a 403 is the ACR's firewall refusing the client.
async fn firewall(
    p: &mut Pull<'_>,
    conn: &mut Conn,
    route: &Route,
    login: &Target,
    image: &ImageRef,
) -> Result<Resp, PullError> {
    let ping = p.get(conn, "/v2/", &[]).await?;
    if ping.status == 403 {
        let setting = if login.dest.vnet.is_some() {
            "private endpoint connection state".to_string()
        } else {
            let seen = p.plan.seen_as(&route.source, &login.dest);
            format!("publicNetworkAccess / networkRuleSet (client {})", seen.ip)
        };
        let w = why(format!("ACR refused the client: {}", registry_error(&ping))).by(setting).rule("acr.firewall");
        let m = docker_error(&format!("https://{}/v2/", image.host), &ping);
        return Err(p.fail(Stage::Firewall, Code::AcrFirewallDenied, w, m));
    }
    let summary = format!("ACR accepted the client (GET /v2/ → {})", ping.status);
    p.trace.ok(Stage::Firewall, summary, None, Some("acr.firewall"));
    Ok(ping)
}

/// `sha256:<hex>` of the bytes (the digest [`Digest::of`] computes, as text).
pub fn sha256_digest(b: &[u8]) -> String {
    Digest::of(b).to_string()
}
