//! The pull itself, step by step over real sockets, as the App Service platform does
//! it (../shared/DESIGN.md "The mechanism"): read the site through ARM, choose the
//! route, resolve, connect from the route's source, pass the ACR's firewall and auth,
//! fetch the manifest, follow the 307s to the data endpoint, verify every digest.
//!
//! A modeled failure (what would fail in Azure) ends the pull with an [`Outcome`]; an
//! infrastructure fault (a pullsim component down or misconfigured) is an
//! [`InfraError`], never dressed up as a modeled outcome.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

use super::logs;
use super::resolve::{self, Answer};
use super::rules::{Epoch, route_rule};
use super::site::{ImageRef, SiteView};
use super::trace::{Code, Outcome, RouteKind, Stage, Trace};
use crate::form::encode as enc;
use crate::httpc::{Conn, HttpError, Resp};
use crate::model::Store;
use crate::netplan::{AZURE_DNS, Fabric, Modeled, Plan, Unreachable};

/// The Entra audience of ACR tokens.
pub const ACR_AUDIENCE: &str = "https://containerregistry.azure.net/";

/// How the worker reaches ARM: the platform authenticates like any client.
#[derive(Clone)]
pub struct ArmAccess {
    /// ARM's real socket address.
    pub addr: SocketAddr,
    /// The name its certificate holds (`127.0.0.1` or `localhost`).
    pub server_name: String,
    /// TLS trusting pullsim's CA.
    pub tls: Arc<rustls::ClientConfig>,
    /// Tenant.
    pub tenant_id: String,
    /// Service principal client ID.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
}

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

/// A pullsim component failed; not an outcome of the modeled pull.
#[derive(Debug, thiserror::Error)]
pub enum InfraError {
    /// ARM could not be reached or answered unexpectedly.
    #[error("reading the site through ARM: {0}")]
    Arm(String),
    /// A local socket could not be set up.
    #[error("{0}")]
    Io(String),
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

/// A failure inside a pull, carried to the end.
struct Fail {
    stage: Stage,
    code: Code,
    /// What docker/App Service would say (`Get https://…: denied: …`).
    message: String,
}

fn fail(stage: Stage, code: Code, message: impl Into<String>) -> Fail {
    Fail { stage, code, message: message.into() }
}

/// A connection target: a host name resolved to a modeled address.
struct Target {
    host: String,
    dest: Modeled,
}

impl Worker {
    /// Pulls the image of `site_id` under `epoch`.
    pub async fn pull(&self, site_id: &str, epoch: Epoch) -> Result<PullReport, InfraError> {
        let view = self.read_site(site_id).await?;
        let mut p =
            PullRun { w: self, epoch, view, trace: Trace::default(), log: Vec::new(), plan: Plan::of(&self.store) };
        let result = p.run().await;
        let PullRun { trace, mut log, view, epoch, .. } = p;
        let image = view.image().map(|i| i.to_string()).unwrap_or_else(|| view.linux_fx.clone());
        let route = trace
            .steps
            .iter()
            .find(|s| s.stage == Stage::Route)
            .map(|s| if s.summary.starts_with("VNET") { RouteKind::Vnet } else { RouteKind::Public });
        let (outcome, digest) = match result {
            Ok(Some(digest)) => {
                log.push(logs::success());
                (Outcome { success: true, route, stage: None, code: None, message: None }, Some(digest))
            }
            Ok(None) => unreachable!("a pull ends with a digest or a failure"),
            Err(PullError::Modeled(f)) => {
                log.extend(logs::failure(&image, route == Some(RouteKind::Vnet), &f.message, epoch));
                (
                    Outcome {
                        success: false,
                        route,
                        stage: Some(f.stage),
                        code: Some(f.code),
                        message: Some(f.message),
                    },
                    None,
                )
            }
            Err(PullError::Infra(e)) => return Err(e),
        };
        Ok(PullReport { outcome, trace, log, manifest_digest: digest })
    }

    async fn arm_conn(&self) -> Result<Conn, InfraError> {
        Conn::open(None, self.arm.addr, &self.arm.server_name, self.arm.tls.clone())
            .await
            .map_err(|e| InfraError::Arm(e.to_string()))
    }

    async fn arm_token(&self, conn: &mut Conn) -> Result<String, InfraError> {
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fmanagement.core.windows.net%2F%2F.default",
            self.arm.client_id, self.arm.client_secret
        );
        let r = conn
            .send(
                "POST",
                &format!("/{}/oauth2/v2.0/token", self.arm.tenant_id),
                &[("content-type", "application/x-www-form-urlencoded")],
                Bytes::from(form),
            )
            .await
            .map_err(|e| InfraError::Arm(e.to_string()))?;
        r.json()["access_token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| InfraError::Arm(format!("no token: {}", r.status)))
    }

    /// Reads the site, its `config/web` and its app settings through ARM.
    async fn read_site(&self, site_id: &str) -> Result<SiteView, InfraError> {
        let mut conn = self.arm_conn().await?;
        let token = self.arm_token(&mut conn).await?;
        let auth = format!("Bearer {token}");
        let mut get = async |method: &str, path: String| -> Result<Value, InfraError> {
            let r = conn
                .send(method, &format!("{path}?api-version=2024-11-01"), &[("authorization", &auth)], Bytes::new())
                .await
                .map_err(|e| InfraError::Arm(e.to_string()))?;
            if r.status != 200 {
                return Err(InfraError::Arm(format!(
                    "{method} {path}: {} {}",
                    r.status,
                    String::from_utf8_lossy(&r.body)
                )));
            }
            Ok(r.json())
        };
        let [a, b, c] = SiteView::reads(site_id);
        Ok(SiteView::from_arm(&get(a.0, a.1).await?, &get(b.0, b.1).await?, &get(c.0, c.1).await?))
    }

    /// An Entra token for the site's managed identity, from the platform's MSI endpoint.
    async fn identity_token(
        &self,
        site_id: &str,
        client_id: Option<&str>,
    ) -> Result<Result<String, String>, InfraError> {
        let mut conn = self.arm_conn().await?;
        let token = self.arm_token(&mut conn).await?;
        let mut q = format!("/platform/msi/token?site={}&resource={}", enc(site_id), enc(ACR_AUDIENCE));
        if let Some(c) = client_id {
            q.push_str(&format!("&client_id={}", enc(c)));
        }
        let r = conn
            .send("GET", &q, &[("authorization", &format!("Bearer {token}"))], Bytes::new())
            .await
            .map_err(|e| InfraError::Arm(e.to_string()))?;
        Ok(match r.status {
            200 => r.json()["access_token"].as_str().map(str::to_string).ok_or_else(|| "no access token".to_string()),
            _ => Err(r.json()["error"]["message"].as_str().unwrap_or("identity not found").to_string()),
        })
    }
}

enum PullError {
    Modeled(Fail),
    Infra(InfraError),
}

impl From<Fail> for PullError {
    fn from(f: Fail) -> Self {
        PullError::Modeled(f)
    }
}

impl From<InfraError> for PullError {
    fn from(e: InfraError) -> Self {
        PullError::Infra(e)
    }
}

struct PullRun<'a> {
    w: &'a Worker,
    epoch: Epoch,
    view: SiteView,
    trace: Trace,
    log: Vec<String>,
    plan: std::sync::Arc<Plan>,
}

/// The route's source and how names are resolved on it.
struct Route {
    kind: RouteKind,
    source: Modeled,
    resolvers: Vec<Modeled>,
    resolver_setting: String,
}

impl PullRun<'_> {
    async fn run(&mut self) -> Result<Option<String>, PullError> {
        // 1. Config.
        let Some(image) = self.view.image() else {
            let m = format!("linuxFxVersion is '{}', not DOCKER|<image>", self.view.linux_fx);
            self.trace.fail(Stage::Config, &m, Some("siteConfig.linuxFxVersion".into()), None);
            return Err(fail(Stage::Config, Code::ImageNotConfigured, m).into());
        };
        let registry_url = self.view.setting("DOCKER_REGISTRY_SERVER_URL").map(str::to_string);
        let url_matches = registry_url.as_deref().is_some_and(|u| {
            u.trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .eq_ignore_ascii_case(&image.host)
        });
        self.log.push(logs::pulling(&image.to_string()));
        if !url_matches {
            self.log.push(logs::docker_hub(&image.to_string()));
        }
        self.trace.ok(
            Stage::Config,
            format!("image {image} from linuxFxVersion"),
            Some(format!("linuxFxVersion=DOCKER|{image}")),
            None,
        );

        // 2. Route.
        let route = self.route()?;
        if route.kind == RouteKind::Vnet {
            self.log.push(logs::over_vnet(&image.to_string()));
        }

        // 3–5. Resolve, connect, firewall: the /v2/ ping tells the firewall's verdict.
        let login = self.resolve(&route, &image.host, Stage::Dns).await?;
        let mut conn = self.connect(&route, &login, Stage::Connect).await?;
        let ping = self.send(&mut conn, "GET", "/v2/", &[], Stage::Firewall).await?;
        if ping.status == 403 {
            let m = docker_message(&format!("https://{}/v2/", image.host), &ping);
            self.trace.fail(
                Stage::Firewall,
                format!("ACR refused the client: {}", acr_error(&ping)),
                Some(self.firewall_setting(&route, &login)),
                Some("acr.firewall"),
            );
            return Err(fail(Stage::Firewall, Code::AcrFirewallDenied, m).into());
        }
        self.trace.ok(
            Stage::Firewall,
            format!("ACR accepted the client (GET /v2/ → {})", ping.status),
            None,
            Some("acr.firewall"),
        );

        // 6. Auth.
        let manifest_path = format!("/v2/{}/manifests/{}", image.repo, image.reference);
        let token = self.authenticate(&mut conn, &route, &image, url_matches, &ping).await?;
        let auth_header = token.as_ref().map(|t| format!("Bearer {t}"));

        // 7. Manifest.
        let (manifest, digest) = self.manifest(&mut conn, &image, &manifest_path, auth_header.as_deref()).await?;

        // 8–9. Blobs through the data endpoint, verified.
        self.blobs(&mut conn, &route, &image, &manifest, auth_header.as_deref()).await?;
        Ok(Some(digest))
    }

    fn route(&mut self) -> Result<Route, PullError> {
        let v = &self.view;
        let pull_setting = v.setting_true("WEBSITE_PULL_IMAGE_OVER_VNET");
        let route_all_setting = v.setting_true("WEBSITE_VNET_ROUTE_ALL");
        let rule = route_rule(self.epoch);
        let public = |why: String, rule_id: &'static str, this: &mut Self| -> Result<Route, PullError> {
            let ip =
                this.view.outbound_ip.ok_or_else(|| InfraError::Arm("the site has no outboundIpAddresses".into()))?;
            this.trace.ok(
                Stage::Route,
                format!("public: the pull leaves from the site's outbound address {ip}"),
                Some(why),
                Some(rule_id),
            );
            this.trace.ok(
                Stage::Dns,
                "resolver: Azure DNS, public view (the platform's resolver)",
                None,
                Some("dns.resolver"),
            );
            Ok(Route {
                kind: RouteKind::Public,
                source: Modeled::public(ip),
                resolvers: vec![Modeled::azure_dns()],
                resolver_setting: "public route".into(),
            })
        };
        let Some(subnet_id) = v.subnet_id.clone() else {
            return public("virtualNetworkSubnetId is not set (no VNET integration)".into(), "route.integration", self);
        };
        let (over_vnet, why) = match self.epoch {
            Epoch::E2021_07 => {
                let route_all = v.route_all || route_all_setting;
                let ra = if v.route_all {
                    "vnetRouteAllEnabled=true"
                } else if route_all_setting {
                    "WEBSITE_VNET_ROUTE_ALL=1"
                } else {
                    "route-all off"
                };
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
        };
        if !over_vnet {
            return public(why, rule.id, self);
        }
        let Some((vnet, subnet)) = self.plan.subnet(&subnet_id) else {
            return Err(
                InfraError::Arm(format!("the integration subnet {subnet_id} is not in the network plan")).into()
            );
        };
        let ip = subnet.prefix.nth(4).ok_or_else(|| InfraError::Io(format!("subnet {} too small", subnet.name)))?;
        let source = Modeled::private(&vnet.key, ip);
        self.trace.ok(
            Stage::Route,
            format!("VNET: the pull leaves from {ip} in {}/{}", vnet.name, subnet.name),
            Some(why),
            Some(rule.id),
        );
        // The resolver, by precedence (RULES.md C).
        let alt = v.dns_alt_server.or_else(|| v.setting("WEBSITE_DNS_ALT_SERVER").and_then(|s| s.trim().parse().ok()));
        let app_dns: Vec<Ipv4Addr> = v
            .setting("WEBSITE_DNS_SERVER")
            .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
            .unwrap_or_default();
        let (servers, setting): (Vec<Ipv4Addr>, String) = if !v.dns_servers.is_empty() {
            (v.dns_servers.clone(), "dnsConfiguration.dnsServers".into())
        } else if !app_dns.is_empty() {
            (app_dns, "WEBSITE_DNS_SERVER".into())
        } else if !vnet.dns_servers.is_empty() {
            (vnet.dns_servers.clone(), format!("VNET {} dnsServers", vnet.name))
        } else {
            (vec![AZURE_DNS], "Azure DNS (no custom DNS anywhere)".into())
        };
        let mut servers = servers;
        if let Some(a) = alt {
            servers.push(a);
        }
        let resolvers: Vec<Modeled> = servers.iter().map(|ip| self.locate(&source, *ip)).collect();
        let list = servers.iter().map(Ipv4Addr::to_string).collect::<Vec<_>>().join(", ");
        self.trace.ok(Stage::Dns, format!("resolver: {list}"), Some(setting.clone()), Some("dns.resolver"));
        Ok(Route { kind: RouteKind::Vnet, source, resolvers, resolver_setting: setting })
    }

    /// The modeled address an IP stands for, seen from `source`: Azure DNS, a private
    /// address in the source's VNET or a peer, or a public address.
    fn locate(&self, source: &Modeled, ip: Ipv4Addr) -> Modeled {
        self.plan.locate(source, ip)
    }

    async fn resolve(&mut self, route: &Route, host: &str, stage: Stage) -> Result<Target, PullError> {
        let mut last = None;
        for server in &route.resolvers {
            // An unreachable server never answers: the query times out (modeled, not waited for).
            if self.plan.reachable(&route.source, server).is_err() {
                last = Some((server.clone(), Answer::Timeout));
                continue;
            }
            let src = self.w.fabric.map.local(&route.source).map_err(|e| InfraError::Io(e.to_string()))?;
            let answer = resolve::query_a(src, self.w.fabric.dns_addr_from(&route.source, server), host)
                .await
                .map_err(|e| InfraError::Io(e.to_string()))?;
            match answer {
                // A resolver moves on to the next server only when one does not answer.
                Answer::Timeout | Answer::Failed(_) => last = Some((server.clone(), answer)),
                a => {
                    last = Some((server.clone(), a));
                    break;
                }
            }
        }
        let Some((server, answer)) = last else {
            return Err(InfraError::Io("no resolver configured".into()).into());
        };
        let chain_str = |chain: &[String]| {
            if chain.is_empty() { String::new() } else { format!(" (via {})", chain.join(" → ")) }
        };
        let lookup_err =
            |what: &str| format!("Get https://{host}/v2/: dial tcp: lookup {host} on {}:53: {what}", server.ip);
        let decided = Some(route.resolver_setting.clone());
        let (code, m, summary) = match &answer {
            Answer::Addresses { chain, addrs } => {
                let dest = self.locate(&route.source, addrs[0]);
                let view = if addrs[0].is_private() { "private" } else { "public" };
                self.trace.ok(
                    stage,
                    format!("{host} → {}{} ({view} address, asked {})", addrs[0], chain_str(chain), server.ip),
                    decided,
                    Some("dns.private-zone"),
                );
                return Ok(Target { host: host.to_string(), dest });
            }
            Answer::NxDomain { chain } => (
                Code::DnsNxdomain,
                lookup_err("no such host"),
                format!("{host}{}: NXDOMAIN from {}", chain_str(chain), server.ip),
            ),
            Answer::NoAddress { chain } => (
                Code::DnsNoAddress,
                lookup_err("no such host"),
                format!("{host}{}: no address from {}", chain_str(chain), server.ip),
            ),
            Answer::Failed(rc) if *rc == hickory_proto::op::ResponseCode::Refused => {
                (Code::DnsRefused, lookup_err("server misbehaving"), format!("{host}: REFUSED by {}", server.ip))
            }
            Answer::Failed(rc) => {
                (Code::DnsServfail, lookup_err("server misbehaving"), format!("{host}: {rc} from {}", server.ip))
            }
            Answer::Timeout => (
                Code::DnsTimeout,
                lookup_err("i/o timeout"),
                format!("{host}: no answer from {} (unreachable or silent)", server.ip),
            ),
        };
        self.trace.fail(
            stage,
            summary,
            decided,
            Some(if route.resolver_setting.contains("dnsServers") || route.resolver_setting.contains("WEBSITE_DNS") {
                "dns.custom"
            } else {
                "dns.private-zone"
            }),
        );
        Err(fail(stage, code, m).into())
    }

    async fn connect(&mut self, route: &Route, t: &Target, stage: Stage) -> Result<Conn, PullError> {
        let port = 443;
        if let Err(why) = self.plan.reachable(&route.source, &t.dest) {
            let reason = match why {
                Unreachable::PrivateFromPublic => {
                    "a private address cannot be reached from the public route".to_string()
                }
                Unreachable::OtherVnet { .. } => {
                    "the address is in a VNET that is neither the source's nor peered with it".to_string()
                }
            };
            self.trace.fail(
                stage,
                format!("{}:{port} from {}: {reason}", t.dest.ip, route.source.ip),
                None,
                Some("net.private"),
            );
            let m = format!("Get https://{}/v2/: dial tcp {}:{port}: i/o timeout", t.host, t.dest.ip);
            return Err(fail(stage, Code::PrivateAddressUnreachable, m).into());
        }
        // A private address no network interface holds is nobody's: in Azure the SYN goes
        // unanswered. Decided from the network (the store's NICs), not by trying: a socket
        // once bound for an endpoint that is gone must not answer for it (found by
        // tests/oracle_agrees.rs: after an endpoint moved to another VNET with the same
        // address space, its old address still reached the ACR, which denied the client).
        if let Some(vnet) = &t.dest.vnet
            && !nic_holds(&self.w.store, vnet, t.dest.ip)
        {
            self.trace.fail(
                stage,
                format!("{}:{port}: no network interface holds this address in the VNET", t.dest.ip),
                None,
                Some("net.private"),
            );
            let m = format!("Get https://{}/v2/: dial tcp {}:{port}: i/o timeout", t.host, t.dest.ip);
            return Err(fail(stage, Code::ConnectionRefused, m).into());
        }
        let seen = self.plan.seen_as(&route.source, &t.dest);
        let from = self.w.fabric.map.local(&seen).map_err(|e| InfraError::Io(e.to_string()))?;
        let to = self.w.fabric.https_addr(&t.dest);
        match Conn::open(Some(from), to, &t.host, self.w.tls.clone()).await {
            Ok(c) => {
                let via =
                    if seen != route.source { format!(" (leaving the VNET as {})", seen.ip) } else { String::new() };
                self.trace.ok(
                    stage,
                    format!("TLS to {} at {}:{port} from {}{via}", t.host, t.dest.ip, route.source.ip),
                    None,
                    if seen != route.source { Some("route.egress") } else { None },
                );
                Ok(c)
            }
            Err(HttpError::Connect { err, .. }) if err.kind() == std::io::ErrorKind::ConnectionRefused => {
                self.trace.fail(stage, format!("nothing listens at {}:{port}", t.dest.ip), None, None);
                let m =
                    format!("Get https://{}/v2/: dial tcp {}:{port}: connect: connection refused", t.host, t.dest.ip);
                Err(fail(stage, Code::ConnectionRefused, m).into())
            }
            Err(e) => Err(InfraError::Io(e.to_string()).into()),
        }
    }

    async fn send(
        &mut self,
        conn: &mut Conn,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        stage: Stage,
    ) -> Result<Resp, PullError> {
        let _ = stage;
        conn.send(method, path, headers, Bytes::new()).await.map_err(|e| InfraError::Io(e.to_string()).into())
    }

    fn firewall_setting(&self, route: &Route, t: &Target) -> String {
        if t.dest.vnet.is_some() {
            "private endpoint connection state".into()
        } else {
            let seen = self.plan.seen_as(&route.source, &t.dest);
            format!("publicNetworkAccess / networkRuleSet (client {})", seen.ip)
        }
    }

    async fn authenticate(
        &mut self,
        conn: &mut Conn,
        route: &Route,
        image: &ImageRef,
        url_matches: bool,
        ping: &Resp,
    ) -> Result<Option<String>, PullError> {
        let host = &image.host;
        let scope = format!("repository:{}:pull", image.repo);
        let unauthorized = |body: &Resp| {
            docker_message(&format!("https://{host}/v2/{}/manifests/{}", image.repo, image.reference), body)
        };
        if ping.status == 200 {
            self.trace.ok(Stage::Auth, "the registry needs no authentication", None, None);
            return Ok(None);
        }
        if self.view.use_managed_identity {
            let which = match &self.view.user_identity_client_id {
                Some(c) => format!("acrUserManagedIdentityID={c}"),
                None => "acrUseManagedIdentityCreds=true (system identity)".into(),
            };
            if self.epoch == Epoch::E2021_07 && route.kind == RouteKind::Vnet {
                self.trace.fail(
                    Stage::Auth,
                    "a managed identity cannot be used for a pull over the VNET in this epoch",
                    Some(which),
                    Some("auth.mi-2021-07"),
                );
                let anonymous = self
                    .send(conn, "GET", &format!("/v2/{}/manifests/{}", image.repo, image.reference), &[], Stage::Auth)
                    .await?;
                return Err(fail(Stage::Auth, Code::MiNotSupportedOverVnet, unauthorized(&anonymous)).into());
            }
            let site_id = self.view.id.clone();
            let entra = match self.w.identity_token(&site_id, self.view.user_identity_client_id.as_deref()).await? {
                Ok(t) => t,
                Err(why) => {
                    self.trace.fail(
                        Stage::Auth,
                        format!("no token for the identity: {why}"),
                        Some(which),
                        Some("auth.mi"),
                    );
                    let anonymous = self
                        .send(
                            conn,
                            "GET",
                            &format!("/v2/{}/manifests/{}", image.repo, image.reference),
                            &[],
                            Stage::Auth,
                        )
                        .await?;
                    return Err(fail(Stage::Auth, Code::MiIdentityNotFound, unauthorized(&anonymous)).into());
                }
            };
            let form = format!(
                "grant_type=access_token&service={}&tenant={}&access_token={}",
                enc(host),
                enc(&self.w.arm.tenant_id),
                enc(&entra)
            );
            let ex = conn
                .send(
                    "POST",
                    "/oauth2/exchange",
                    &[("content-type", "application/x-www-form-urlencoded")],
                    Bytes::from(form),
                )
                .await
                .map_err(|e| InfraError::Io(e.to_string()))?;
            let refresh = ex.json()["refresh_token"].as_str().map(str::to_string);
            let access = match refresh {
                Some(r) => {
                    let form = format!(
                        "grant_type=refresh_token&service={}&scope={}&refresh_token={}",
                        enc(host),
                        enc(&scope),
                        enc(&r)
                    );
                    let t = conn
                        .send(
                            "POST",
                            "/oauth2/token",
                            &[("content-type", "application/x-www-form-urlencoded")],
                            Bytes::from(form),
                        )
                        .await
                        .map_err(|e| InfraError::Io(e.to_string()))?;
                    t.json()["access_token"].as_str().map(str::to_string).ok_or(t)
                }
                None => Err(ex),
            };
            return match access {
                Ok(t) => {
                    self.trace.ok(
                        Stage::Auth,
                        "managed identity token exchanged for an ACR token",
                        Some(which),
                        Some("auth.mi"),
                    );
                    Ok(Some(t))
                }
                Err(resp) => {
                    self.trace.fail(
                        Stage::Auth,
                        format!("ACR refused the identity's token: {}", acr_error(&resp)),
                        Some(which),
                        Some("auth.mi"),
                    );
                    Err(fail(Stage::Auth, Code::MiNoPullRole, unauthorized(&resp)).into())
                }
            };
        }
        let user = self.view.setting("DOCKER_REGISTRY_SERVER_USERNAME").map(str::to_string);
        let pass = self.view.setting("DOCKER_REGISTRY_SERVER_PASSWORD").map(str::to_string);
        let (Some(user), Some(pass), true) = (user, pass, url_matches) else {
            let why = if url_matches {
                "no DOCKER_REGISTRY_SERVER_USERNAME/PASSWORD"
            } else {
                "no DOCKER_REGISTRY_SERVER_URL for this registry"
            };
            let anonymous = self
                .send(conn, "GET", &format!("/v2/{}/manifests/{}", image.repo, image.reference), &[], Stage::Auth)
                .await?;
            if anonymous.status == 401 {
                self.trace.fail(
                    Stage::Auth,
                    format!("anonymous pull refused: {}", acr_error(&anonymous)),
                    Some(why.into()),
                    Some("image.dockerhub"),
                );
                return Err(fail(Stage::Auth, Code::AcrUnauthorized, unauthorized(&anonymous)).into());
            }
            self.trace.ok(Stage::Auth, "anonymous pull allowed", Some(why.into()), None);
            return Ok(None);
        };
        let basic = format!(
            "Basic {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("{user}:{pass}"))
        );
        let t = conn
            .send(
                "GET",
                &format!("/oauth2/token?service={}&scope={}", enc(host), enc(&scope)),
                &[("authorization", &basic)],
                Bytes::new(),
            )
            .await
            .map_err(|e| InfraError::Io(e.to_string()))?;
        match t.json()["access_token"].as_str() {
            Some(tok) if t.status == 200 => {
                self.trace.ok(
                    Stage::Auth,
                    format!("admin user {user} got a token for {scope}"),
                    Some("DOCKER_REGISTRY_SERVER_USERNAME/PASSWORD".into()),
                    Some("auth.admin"),
                );
                Ok(Some(tok.to_string()))
            }
            _ => {
                self.trace.fail(
                    Stage::Auth,
                    format!("ACR refused the admin credentials of {user}: {}", acr_error(&t)),
                    Some("DOCKER_REGISTRY_SERVER_USERNAME/PASSWORD".into()),
                    Some("auth.admin"),
                );
                Err(fail(Stage::Auth, Code::AcrUnauthorized, unauthorized(&t)).into())
            }
        }
    }

    async fn manifest(
        &mut self,
        conn: &mut Conn,
        image: &ImageRef,
        path: &str,
        auth: Option<&str>,
    ) -> Result<(Value, String), PullError> {
        const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.v1+prettyjws";
        let mut path = path.to_string();
        for _ in 0..2 {
            let mut headers = vec![("accept", ACCEPT)];
            if let Some(a) = auth {
                headers.push(("authorization", a));
            }
            let r = self.send(conn, "GET", &path, &headers, Stage::Manifest).await?;
            let url = format!("https://{}{path}", image.host);
            if r.status == 404 {
                self.trace.fail(
                    Stage::Manifest,
                    format!("{}:{} not found: {}", image.repo, image.reference, acr_error(&r)),
                    Some(format!("linuxFxVersion tag {}", image.reference)),
                    Some("image.manifest"),
                );
                return Err(fail(
                    Stage::Manifest,
                    Code::ManifestUnknown,
                    format!("{}: manifest unknown", docker_message(&url, &r).trim_end_matches(": manifest unknown")),
                )
                .into());
            }
            if r.status == 401 || r.status == 403 {
                // ACR issues an identity without a pull role a token with no access, and
                // refuses it here, at the first repository request.
                let (code, rule) = if self.view.use_managed_identity {
                    (Code::MiNoPullRole, "auth.mi")
                } else {
                    (Code::AcrUnauthorized, "auth.admin")
                };
                self.trace.fail(
                    Stage::Auth,
                    format!("ACR refused the token for {}: {}", image.repo, acr_error(&r)),
                    None,
                    Some(rule),
                );
                return Err(fail(Stage::Auth, code, docker_message(&url, &r)).into());
            }
            if r.status != 200 {
                return Err(InfraError::Io(format!("GET {url}: unexpected {}: {}", r.status, acr_error(&r))).into());
            }
            let media = r.header("content-type").unwrap_or_default().to_string();
            let digest =
                r.header("docker-content-digest").map(str::to_string).unwrap_or_else(|| sha256_digest(&r.body));
            let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            let media =
                if media.is_empty() { body["mediaType"].as_str().unwrap_or_default().to_string() } else { media };
            if media.contains("docker.distribution.manifest.v1") || body["schemaVersion"] == 1 {
                self.trace.fail(Stage::Manifest, "schema 1 manifest", None, Some("image.manifest"));
                return Err(fail(Stage::Manifest, Code::ManifestSchema1Unsupported, "Unsupported image manifest. The manifest with version 'application/vnd.docker.distribution.manifest.v1+json' has not been supported yet.").into());
            }
            if media.contains("index") || media.contains("manifest.list") {
                let chosen = body["manifests"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|m| m["platform"]["os"] == "linux" && m["platform"]["architecture"] == "amd64");
                let Some(chosen) = chosen.and_then(|m| m["digest"].as_str()) else {
                    self.trace.fail(
                        Stage::Manifest,
                        "the index has no linux/amd64 image",
                        None,
                        Some("image.manifest"),
                    );
                    return Err(fail(
                        Stage::Manifest,
                        Code::NoMatchingPlatform,
                        "no matching manifest for linux/amd64 in the manifest list entries",
                    )
                    .into());
                };
                self.trace.ok(
                    Stage::Manifest,
                    format!("index {digest}: picked linux/amd64 {chosen}"),
                    None,
                    Some("image.manifest"),
                );
                path = format!("/v2/{}/manifests/{chosen}", image.repo);
                continue;
            }
            let layers = body["layers"].as_array().map(Vec::len).unwrap_or(0);
            self.trace.ok(Stage::Manifest, format!("manifest {digest} ({layers} layers)"), None, None);
            return Ok((body, digest));
        }
        Err(fail(Stage::Manifest, Code::NoMatchingPlatform, "nested manifest lists are not supported").into())
    }

    async fn blobs(
        &mut self,
        conn: &mut Conn,
        route: &Route,
        image: &ImageRef,
        manifest: &Value,
        auth: Option<&str>,
    ) -> Result<(), PullError> {
        let mut digests: Vec<String> = Vec::new();
        if let Some(d) = manifest["config"]["digest"].as_str() {
            digests.push(d.to_string());
        }
        digests.extend(
            manifest["layers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|l| l["digest"].as_str().map(str::to_string)),
        );
        let mut data: Option<(String, Conn)> = None;
        let mut total = 0usize;
        for digest in &digests {
            let mut headers = vec![];
            if let Some(a) = auth {
                headers.push(("authorization", a));
            }
            let r =
                self.send(conn, "GET", &format!("/v2/{}/blobs/{digest}", image.repo), &headers, Stage::Blob).await?;
            let body = match r.status {
                200 => r.body,
                307 | 302 | 301 => {
                    let loc = r.header("location").unwrap_or_default().to_string();
                    let Some(rest) = loc.strip_prefix("https://") else {
                        return Err(InfraError::Io(format!("redirect to a non-https location {loc}")).into());
                    };
                    let (host, path) = rest
                        .split_once('/')
                        .map(|(h, p)| (h.to_string(), format!("/{p}")))
                        .unwrap_or((rest.to_string(), "/".into()));
                    if data.as_ref().is_none_or(|(h, _)| *h != host) {
                        let t = self.resolve(route, &host, Stage::Blob).await?;
                        let c = self.connect(route, &t, Stage::Blob).await?;
                        data = Some((host.clone(), c));
                    }
                    let Some((_, dconn)) = data.as_mut() else { unreachable!("set above") };
                    let d =
                        dconn.send("GET", &path, &[], Bytes::new()).await.map_err(|e| InfraError::Io(e.to_string()))?;
                    if d.status == 403 {
                        let m = docker_message(
                            &format!("https://{host}{}", path.split('?').next().unwrap_or_default()),
                            &d,
                        );
                        self.trace.fail(
                            Stage::Blob,
                            format!("the data endpoint {host} refused the client: {}", acr_error(&d)),
                            None,
                            Some("acr.data-endpoint"),
                        );
                        return Err(fail(Stage::Blob, Code::AcrFirewallDenied, m).into());
                    }
                    if d.status != 200 {
                        self.trace.fail(
                            Stage::Blob,
                            format!("{digest}: {} from the data endpoint", d.status),
                            None,
                            Some("acr.data-endpoint"),
                        );
                        return Err(
                            fail(Stage::Blob, Code::BlobUnknown, format!("blob {digest}: {}", acr_error(&d))).into()
                        );
                    }
                    d.body
                }
                404 => {
                    self.trace.fail(Stage::Blob, format!("{digest} is missing"), None, None);
                    return Err(fail(Stage::Blob, Code::BlobUnknown, format!("blob unknown: {digest}")).into());
                }
                s => return Err(InfraError::Io(format!("blob {digest}: unexpected {s}")).into()),
            };
            let got = sha256_digest(&body);
            if &got != digest {
                self.trace.fail(Stage::Verify, format!("{digest} arrived as {got}"), None, None);
                return Err(fail(
                    Stage::Verify,
                    Code::DigestMismatch,
                    format!("filesystem layer verification failed for digest {digest}"),
                )
                .into());
            }
            total += body.len();
        }
        let via = data.as_ref().map(|(h, _)| format!(" through {h}")).unwrap_or_default();
        self.trace.ok(
            Stage::Blob,
            format!("{} blobs, {total} bytes{via}", digests.len()),
            None,
            Some("acr.data-endpoint"),
        );
        self.trace.ok(Stage::Verify, "every digest matches", None, None);
        Ok(())
    }
}

/// Whether a network interface (a private endpoint's) has `ip` in a subnet of `vnet`
/// (lower-cased VNET ID).
fn nic_holds(store: &Store, vnet: &str, ip: Ipv4Addr) -> bool {
    let ip = ip.to_string();
    let subnets = format!("{vnet}/subnets/");
    !store
        .filter(|_, v| {
            v["type"] == "Microsoft.Network/networkInterfaces"
                && v["properties"]["ipConfigurations"].as_array().is_some_and(|cs| {
                    cs.iter().any(|c| {
                        c["properties"]["privateIPAddress"].as_str() == Some(ip.as_str())
                            && c["properties"]["subnet"]["id"]
                                .as_str()
                                .is_some_and(|s| s.to_ascii_lowercase().starts_with(&subnets))
                    })
                })
        })
        .is_empty()
}

fn on(b: bool) -> &'static str {
    if b { "true" } else { "unset" }
}

/// The first ACR error message of a response body.
fn acr_error(r: &Resp) -> String {
    let v = r.json();
    match v["errors"][0]["message"].as_str() {
        Some(m) => format!("{} {}", v["errors"][0]["code"].as_str().unwrap_or_default(), m),
        None => format!("HTTP {}", r.status),
    }
}

/// What docker prints for a registry error: `Get <url>: <code lower-case>: <message>`.
fn docker_message(url: &str, r: &Resp) -> String {
    let v = r.json();
    let code = v["errors"][0]["code"].as_str().unwrap_or("error").to_ascii_lowercase().replace('_', " ");
    let msg = v["errors"][0]["message"].as_str().unwrap_or("unexpected response");
    format!("Get {url}: {code}: {msg}")
}

/// `sha256:<hex>` of the bytes.
pub fn sha256_digest(b: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, b);
    let hex: String = d.as_ref().iter().map(|x| format!("{x:02x}")).collect();
    format!("sha256:{hex}")
}
