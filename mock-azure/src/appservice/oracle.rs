//! The oracle: the same rules as a pure decision procedure over the configuration,
//! written apart from the mechanism (it never calls the worker, the DNS server or the
//! ACR). Property tests hold the two to the same verdicts; a disagreement is a bug in
//! one of them. It also answers `pullsim rules` and, later, the minimal-fix search.
//!
//! Input: the store (what ARM wrote) and an [`ImageCatalog`] (what the registries hold,
//! which lives in the ACR's storage, not in ARM).

use std::net::Ipv4Addr;

use serde_json::Value;

use super::rules::Epoch;
use super::trace::{Code, RouteKind, Stage};
use crate::model::net::Cidr;
use crate::model::{PRIVATE, Store};

/// What a registry holds for one reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFacts {
    /// No such repository or tag.
    Missing,
    /// A schema 2 / OCI manifest (or an index with linux/amd64).
    Pullable,
    /// A Docker schema 1 manifest.
    Schema1,
    /// An index without linux/amd64.
    NoAmd64,
}

/// What the registries hold (the ACR's storage).
pub trait ImageCatalog {
    /// Facts about `repo:reference` in the registry named `registry`.
    fn facts(&self, registry: &str, repo: &str, reference: &str) -> ImageFacts;
}

/// The oracle's verdict.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Prediction {
    /// Whether the pull succeeds.
    pub success: bool,
    /// The route, once decided (`None` only for a configuration failure).
    pub route: Option<RouteKind>,
    /// Failure stage.
    pub stage: Option<Stage>,
    /// Failure code.
    pub code: Option<Code>,
    /// The rules that decided it, in order.
    pub rules: Vec<&'static str>,
}

/// Where a name resolution is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
enum View {
    Public,
    Vnet(String),
    /// A custom DNS server (its stored resource): per name, the conditional forwarder
    /// with the longest zone holding the name, else its upstream.
    Custom(Value),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Resolved {
    Ip(Ipv4Addr),
    Fail(Code),
}

/// Longest CNAME chain (and deepest forwarding) followed before giving up with SERVFAIL.
const MAX_CHAIN: usize = 16;

struct Ctx<'a> {
    store: &'a Store,
    rules: Vec<&'static str>,
}

fn lower(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_ascii_lowercase()
}

fn truthy(v: &Value) -> bool {
    v.as_bool().unwrap_or(false) || v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true"))
}

/// Predicts the pull of `site_id` under `epoch`.
pub fn predict(store: &Store, catalog: &dyn ImageCatalog, site_id: &str, epoch: Epoch) -> Prediction {
    let mut cx = Ctx { store, rules: Vec::new() };
    let out = cx.run(catalog, site_id, epoch);
    let (route, result) = out;
    match result {
        Ok(()) => Prediction { success: true, route, stage: None, code: None, rules: cx.rules },
        Err((stage, code)) => {
            Prediction { success: false, route, stage: Some(stage), code: Some(code), rules: cx.rules }
        }
    }
}

type Verdict = Result<(), (Stage, Code)>;

impl Ctx<'_> {
    fn get(&self, key: &str) -> Value {
        self.store.get_key(&key.to_ascii_lowercase()).unwrap_or(Value::Null)
    }

    fn of_type(&self, ty: &str) -> Vec<Value> {
        self.store.filter(|_, v| v["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(ty)))
    }

    fn run(&mut self, catalog: &dyn ImageCatalog, site_id: &str, epoch: Epoch) -> (Option<RouteKind>, Verdict) {
        let site = self.get(site_id);
        let key = site_id.to_ascii_lowercase();
        let web = self.get(&format!("{key}/config/web"))["properties"].clone();
        let settings = self.get(&format!("{key}/config/appsettings"))["properties"].clone();
        let setting = |name: &str| -> Option<String> {
            settings
                .as_object()?
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.as_str().map(str::to_string))
        };
        let setting_on = |name: &str| setting(name).is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");

        // Image.
        let fx = web["linuxFxVersion"].as_str().unwrap_or_default();
        let Some(img) = fx.strip_prefix("DOCKER|").or_else(|| fx.strip_prefix("docker|")) else {
            return (None, Err((Stage::Config, Code::ImageNotConfigured)));
        };
        // Docker's reading (rule image.reference): a digest wins over a tag written beside
        // it; an upper-case repository is refused before anything is sent.
        let (named, digest) = match img.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (img, None),
        };
        let (name, tag) = match named.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, Some(t)),
            _ => (named, None),
        };
        let reference = digest.or(tag).unwrap_or("latest").to_string();
        let (host, repo) = match name.split_once('/') {
            Some((h, r)) if h.contains('.') => (h.to_ascii_lowercase(), r.to_string()),
            _ => ("index.docker.io".to_string(), name.to_string()),
        };
        if repo.chars().any(|c| c.is_ascii_uppercase()) {
            self.rules.push("image.reference");
            return (None, Err((Stage::Config, Code::ImageReferenceInvalid)));
        }

        // Route.
        let p = &site["properties"];
        let route_all = truthy(&web["vnetRouteAllEnabled"]);
        let image_pull = truthy(&p["outboundVnetRouting"]["imagePullTraffic"]);
        let all_traffic = truthy(&p["outboundVnetRouting"]["allTraffic"]);
        let pull_setting = setting_on("WEBSITE_PULL_IMAGE_OVER_VNET");
        let subnet = p["virtualNetworkSubnetId"].as_str().filter(|s| !s.is_empty()).map(str::to_ascii_lowercase);
        let over_vnet = subnet.is_some()
            && match epoch {
                Epoch::E2021_07 => pull_setting && (route_all || setting_on("WEBSITE_VNET_ROUTE_ALL")),
                Epoch::E2021_11 => pull_setting,
                Epoch::E2022_03 => pull_setting || image_pull,
                Epoch::E2024_11 => pull_setting || image_pull || all_traffic,
            };
        self.rules.push(if subnet.is_none() { "route.integration" } else { super::rules::route_rule(epoch).id });
        // Unconfirmed readings the route rests on: spellings no source shows, and (2022-03)
        // the setting routing while the property reads false.
        let odd = |name: &str, sourced: &str| setting_on(name) && setting(name).is_some_and(|v| v != sourced);
        if subnet.is_some()
            && (odd("WEBSITE_PULL_IMAGE_OVER_VNET", "true")
                || (epoch == Epoch::E2021_07 && odd("WEBSITE_VNET_ROUTE_ALL", "1")))
        {
            self.rules.push("setting.spellings");
        }
        if subnet.is_some() && epoch == Epoch::E2022_03 && pull_setting && !image_pull {
            self.rules.push("route.property-false");
        }
        let route = if over_vnet { RouteKind::Vnet } else { RouteKind::Public };
        let src_vnet = if over_vnet {
            subnet.as_deref().and_then(|s| s.rsplit_once("/subnets/")).map(|(v, _)| v.to_string())
        } else {
            None
        };
        let outbound: Option<Ipv4Addr> =
            p["outboundIpAddresses"].as_str().and_then(|s| s.split(',').next()).and_then(|s| s.trim().parse().ok());
        let client_public = match &src_vnet {
            Some(v) => self.get(v)[PRIVATE]["publicIps"][0].as_str().and_then(|s| s.parse().ok()),
            None => outbound,
        };

        // The registry the image names.
        let registry = self
            .of_type("Microsoft.ContainerRegistry/registries")
            .into_iter()
            .find(|r| lower(&r["properties"]["loginServer"]) == host);

        // The resolvers, in the order they are asked.
        let view = self.resolvers(&site, &settings, src_vnet.as_deref());
        self.rules.push("dns.resolver");

        // Login server: DNS, connect, firewall.
        if let Err((stage, code)) = self.endpoint(
            &view,
            src_vnet.as_deref(),
            client_public,
            &host,
            registry.as_ref(),
            false,
            (Stage::Dns, Stage::Connect, Stage::Firewall),
        ) {
            return (Some(route), Err((stage, code)));
        }
        let Some(registry) = registry else {
            return (Some(route), Err((Stage::Dns, Code::DnsNxdomain)));
        };
        let reg_name = lower(&registry["name"]);

        // Auth.
        let use_mi = truthy(&web["acrUseManagedIdentityCreds"]);
        if use_mi {
            self.rules.push("auth.mi");
            if epoch == Epoch::E2021_07 && over_vnet {
                self.rules.push("auth.mi-2021-07");
                return (Some(route), Err((Stage::Auth, Code::MiNotSupportedOverVnet)));
            }
            let principal = match web["acrUserManagedIdentityID"].as_str().filter(|s| !s.is_empty()) {
                Some(client) => site["identity"]["userAssignedIdentities"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .find(|(_, v)| v["clientId"].as_str().is_some_and(|c| c.eq_ignore_ascii_case(client)))
                    .and_then(|(_, v)| v["principalId"].as_str().map(str::to_string)),
                None => site["identity"]["principalId"].as_str().map(str::to_string),
            };
            let Some(principal) = principal else {
                return (Some(route), Err((Stage::Auth, Code::MiIdentityNotFound)));
            };
            let reg_id = lower(&registry["id"]);
            let granted = self.of_type("Microsoft.Authorization/roleAssignments").iter().any(|a| {
                let pr = &a["properties"];
                let scope = lower(&pr["scope"]);
                pr["principalId"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(&principal))
                    && (reg_id == scope || reg_id.starts_with(&format!("{scope}/")))
                    && crate::arm::roles::by_id(pr["roleDefinitionId"].as_str().unwrap_or_default())
                        .is_some_and(|r| r.permits(crate::arm::roles::ACR_PULL))
            });
            if !granted {
                return (Some(route), Err((Stage::Auth, Code::MiNoPullRole)));
            }
        } else {
            let url_ok = setting("DOCKER_REGISTRY_SERVER_URL").is_some_and(|u| {
                u.trim_start_matches("https://")
                    .trim_start_matches("http://")
                    .trim_end_matches('/')
                    .eq_ignore_ascii_case(&host)
            });
            let user = setting("DOCKER_REGISTRY_SERVER_USERNAME");
            let pass = setting("DOCKER_REGISTRY_SERVER_PASSWORD");
            match (url_ok, user, pass) {
                (true, Some(u), Some(pw)) => {
                    self.rules.push("auth.admin");
                    let ok = u.eq_ignore_ascii_case(&reg_name)
                        && crate::arm::admin_passwords(&registry).is_some_and(|ps| ps.contains(&pw));
                    if !ok {
                        return (Some(route), Err((Stage::Auth, Code::AcrUnauthorized)));
                    }
                }
                _ => {
                    self.rules.push("image.dockerhub");
                    if !truthy(&registry["properties"]["anonymousPullEnabled"]) {
                        return (Some(route), Err((Stage::Auth, Code::AcrUnauthorized)));
                    }
                }
            }
        }

        // Manifest.
        self.rules.push("image.manifest");
        match catalog.facts(&reg_name, &repo, &reference) {
            ImageFacts::Missing => return (Some(route), Err((Stage::Manifest, Code::ManifestUnknown))),
            ImageFacts::Schema1 => return (Some(route), Err((Stage::Manifest, Code::ManifestSchema1Unsupported))),
            ImageFacts::NoAmd64 => return (Some(route), Err((Stage::Manifest, Code::NoMatchingPlatform))),
            ImageFacts::Pullable => {}
        }

        // Blobs through the data endpoint.
        self.rules.push("acr.data-endpoint");
        let data_host = format!("{reg_name}.{}.data.azurecr.io", lower(&registry["location"]));
        if let Err(e) = self.endpoint(
            &view,
            src_vnet.as_deref(),
            client_public,
            &data_host,
            Some(&registry),
            true,
            (Stage::Blob, Stage::Blob, Stage::Blob),
        ) {
            return (Some(route), Err(e));
        }
        (Some(route), Ok(()))
    }

    /// Resolve, connect, firewall for one endpoint of the registry.
    #[allow(clippy::too_many_arguments)]
    fn endpoint(
        &mut self,
        view: &[Option<View>],
        src_vnet: Option<&str>,
        client_public: Option<Ipv4Addr>,
        host: &str,
        registry: Option<&Value>,
        data: bool,
        stages: (Stage, Stage, Stage),
    ) -> Verdict {
        let ip = match self.lookup(view, host) {
            Resolved::Ip(ip) => ip,
            Resolved::Fail(code) => return Err((stages.0, code)),
        };
        self.rules.push("dns.private-zone");
        if ip.is_private() {
            self.rules.push("net.private");
            let Some(src) = src_vnet else {
                return Err((stages.1, Code::PrivateAddressUnreachable));
            };
            let Some(dest_vnet) = self.vnet_holding(src, ip) else {
                return Err((stages.1, Code::PrivateAddressUnreachable));
            };
            // Which endpoint listens there: a NIC of a private endpoint in that VNET.
            let Some((pe_id, member)) = self.nic_owning(&dest_vnet, ip) else {
                return Err((stages.1, Code::ConnectionRefused));
            };
            self.rules.push("acr.firewall");
            let Some(reg) = registry else { return Err((stages.2, Code::AcrFirewallDenied)) };
            let reg_key = lower(&reg["id"]);
            // The PE must lead to this registry, with an approved connection.
            let approved = self.store.scan_prefix(&format!("{reg_key}/privateendpointconnections/")).iter().any(|c| {
                lower(&c["properties"]["privateEndpoint"]["id"]) == pe_id
                    && c["properties"]["privateLinkServiceConnectionState"]["status"] == "Approved"
            });
            let member_ok = if data { member.starts_with("registry_data_") } else { member == "registry" };
            if !approved || !member_ok {
                return Err((stages.2, Code::AcrFirewallDenied));
            }
            return Ok(());
        }
        // A public address: which registry endpoint is it?
        let owner = self.of_type("Microsoft.ContainerRegistry/registries").into_iter().find(|r| {
            r[PRIVATE]["publicIps"]
                .as_array()
                .is_some_and(|ips| ips.iter().any(|x| x.as_str() == Some(&ip.to_string())))
        });
        let Some(owner) = owner else { return Err((stages.1, Code::ConnectionRefused)) };
        self.rules.push("acr.firewall");
        if registry.is_none_or(|r| lower(&r["id"]) != lower(&owner["id"])) {
            return Err((stages.2, Code::AcrFirewallDenied));
        }
        let p = &owner["properties"];
        if p["publicNetworkAccess"] == "Disabled" {
            return Err((stages.2, Code::AcrFirewallDenied));
        }
        if p["networkRuleSet"]["defaultAction"] == "Deny" {
            let allowed = client_public.is_some_and(|c| {
                p["networkRuleSet"]["ipRules"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|r| r["value"].as_str().and_then(Cidr::parse_lenient).is_some_and(|cidr| cidr.contains(c)))
            });
            if !allowed {
                return Err((stages.2, Code::AcrFirewallDenied));
            }
        }
        Ok(())
    }

    /// Among the source VNET and its connected peers, the one whose space holds `ip`.
    fn vnet_holding(&self, src: &str, ip: Ipv4Addr) -> Option<String> {
        let holds = |key: &str| {
            let v = self.get(key);
            v["properties"]["addressSpace"]["addressPrefixes"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p.as_str().and_then(Cidr::parse).is_some_and(|c| c.contains(ip)))
        };
        if holds(src) {
            return Some(src.to_string());
        }
        let peers_of = |key: &str| -> Vec<String> {
            self.store
                .scan_prefix(&format!("{key}/virtualnetworkpeerings/"))
                .iter()
                .filter(|p| {
                    p["properties"]["peeringState"] == "Connected"
                        && p["properties"]["allowVirtualNetworkAccess"] != false
                })
                .map(|p| lower(&p["properties"]["remoteVirtualNetwork"]["id"]))
                .collect()
        };
        peers_of(src).into_iter().find(|peer| peers_of(peer).iter().any(|b| b == src) && holds(peer))
    }

    /// The private endpoint (lower-cased ID) and member whose NIC holds `ip` in `vnet`.
    fn nic_owning(&self, vnet: &str, ip: Ipv4Addr) -> Option<(String, String)> {
        let ip = ip.to_string();
        self.of_type("Microsoft.Network/networkInterfaces").iter().find_map(|nic| {
            nic["properties"]["ipConfigurations"].as_array()?.iter().find_map(|c| {
                let pr = &c["properties"];
                let in_vnet = lower(&pr["subnet"]["id"]).starts_with(&format!("{vnet}/subnets/"));
                (in_vnet && pr["privateIPAddress"].as_str() == Some(&ip)).then(|| {
                    (
                        lower(&nic["properties"]["privateEndpoint"]["id"]),
                        pr["privateLinkConnectionProperties"]["requiredMemberName"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    )
                })
            })
        })
    }

    /// The resolvers the pull asks, in order, following the resolver precedence: the view
    /// each answers with, `None` for one that cannot answer (unreachable, or nothing runs
    /// at its address).
    fn resolvers(&mut self, site: &Value, settings: &Value, src_vnet: Option<&str>) -> Vec<Option<View>> {
        let Some(vnet) = src_vnet else { return vec![Some(View::Public)] };
        let p = &site["properties"];
        let list = |v: &Value| -> Vec<Ipv4Addr> {
            v.as_array().into_iter().flatten().filter_map(|s| s.as_str()?.parse().ok()).collect()
        };
        let app = |name: &str| -> Vec<Ipv4Addr> {
            settings
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .flat_map(|(_, v)| {
                    v.as_str().unwrap_or_default().split(',').filter_map(|x| x.trim().parse().ok()).collect::<Vec<_>>()
                })
                .collect()
        };
        let mut servers = list(&p["dnsConfiguration"]["dnsServers"]);
        if servers.is_empty() {
            servers = app("WEBSITE_DNS_SERVER");
        }
        if servers.is_empty() {
            servers = list(&self.get(vnet)["properties"]["dhcpOptions"]["dnsServers"]);
        }
        if servers.is_empty() {
            return vec![Some(View::Vnet(vnet.to_string()))];
        }
        let alt = p["dnsConfiguration"]["dnsAltServer"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .into_iter()
            .chain(app("WEBSITE_DNS_ALT_SERVER"));
        servers.extend(alt.take(1));
        self.rules.push("dns.custom");
        servers.into_iter().map(|s| self.server_view(vnet, s, None)).collect()
    }

    /// What answers at DNS server `ip` asked from `from_vnet`: Azure DNS with that VNET's
    /// view, or the custom server there (reachable from that VNET: its own or a connected
    /// peer); `None` when nothing can answer. `me` is the asking custom server, which does
    /// not ask itself.
    fn server_view(&self, from_vnet: &str, ip: Ipv4Addr, me: Option<&Value>) -> Option<View> {
        if ip == crate::netplan::AZURE_DNS {
            // 168.63.129.16 answers inside Azure only: not a server on the internet.
            return (!from_vnet.is_empty()).then(|| View::Vnet(from_vnet.to_string()));
        }
        let server = self.of_type("Pullsim.Dns/customServers").into_iter().find(|c| {
            c["properties"]["address"].as_str() == Some(&ip.to_string())
                && (!ip.is_private()
                    || self.vnet_holding(from_vnet, ip).is_some_and(|v| v == lower(&c["properties"]["vnet"])))
        });
        match server {
            Some(s) if me.is_some_and(|m| lower(&m["id"]) == lower(&s["id"])) => None,
            Some(s) => Some(View::Custom(s)),
            // Any other public address is a resolver on the internet, reached through the
            // VNET's outbound path: the public view (rule dns.public-resolver).
            None if !(ip.is_private() || ip.is_loopback() || ip.is_unspecified() || ip.is_link_local()) => {
                Some(View::Public)
            }
            None => None,
        }
    }

    /// Resolves `name` through the resolvers in order: a resolver that does not answer,
    /// fails (SERVFAIL) or refuses is followed by the next; the last one's failure stands.
    fn lookup(&self, resolvers: &[Option<View>], name: &str) -> Resolved {
        let mut last = Resolved::Fail(Code::DnsTimeout);
        for r in resolvers {
            let Some(view) = r else {
                last = Resolved::Fail(Code::DnsTimeout);
                continue;
            };
            match self.resolve(view, name, 0) {
                f @ Resolved::Fail(Code::DnsServfail | Code::DnsRefused) => last = f,
                answer => return answer,
            }
        }
        last
    }

    /// Resolves `name` in `view`, following CNAMEs.
    fn resolve(&self, view: &View, name: &str, depth: usize) -> Resolved {
        self.chain(view, name, depth).1
    }

    /// Resolves `name` in `view`: the CNAME targets followed, in order, and how it ended.
    /// In a VNET's view each name of the chain is looked up in the VNET's linked private
    /// zones first (longest zone), then in pullsim's public namespace.
    fn chain(&self, view: &View, name: &str, depth: usize) -> (Vec<String>, Resolved) {
        if depth > MAX_CHAIN {
            return (Vec::new(), Resolved::Fail(Code::DnsServfail));
        }
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let then = |target: String, depth: usize, view: &View| {
            let (mut rest, r) = self.chain(view, &target, depth + 1);
            rest.insert(0, target);
            (rest, r)
        };
        if let View::Custom(server) = view {
            return self.custom_answer(server, &name, depth);
        }
        if let View::Vnet(v) = view
            && let Some((zone, link)) = self.linked_zone(v, &name)
        {
            let zname = lower(&zone["name"]);
            let rel = if name == zname { "@".to_string() } else { name[..name.len() - zname.len() - 1].to_string() };
            let zkey = lower(&zone["id"]);
            if let Some(a) = self.store.get_key(&format!("{zkey}/a/{rel}")) {
                if let Some(ip) = a["properties"]["aRecords"][0]["ipv4Address"].as_str().and_then(|s| s.parse().ok()) {
                    return (Vec::new(), Resolved::Ip(ip));
                }
                return (Vec::new(), Resolved::Fail(Code::DnsNoAddress));
            }
            if let Some(c) = self.store.get_key(&format!("{zkey}/cname/{rel}")) {
                let target = lower(&c["properties"]["cnameRecord"]["cname"]).trim_end_matches('.').to_string();
                return then(target, depth, view);
            }
            if link["properties"]["resolutionPolicy"] != "NxDomainRedirect" {
                return (Vec::new(), Resolved::Fail(Code::DnsNxdomain));
            }
            return self.chain(&View::Public, &name, depth + 1);
        }
        // The public namespace pullsim models (docs/azure.md C): login and data names CNAME to
        // their privatelink names, which CNAME to the registry's frontends in azcr.io.
        for r in self.of_type("Microsoft.ContainerRegistry/registries") {
            let reg = lower(&r["name"]);
            let region = lower(&r["location"]);
            let ip_at = |i: usize| {
                r[PRIVATE]["publicIps"][i]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .map(Resolved::Ip)
                    .unwrap_or(Resolved::Fail(Code::DnsNxdomain))
            };
            let step = match name.as_str() {
                n if n == format!("{reg}.azurecr.io") => format!("{reg}.privatelink.azurecr.io"),
                n if n == format!("{reg}.{region}.data.azurecr.io") => {
                    format!("{reg}.{region}.data.privatelink.azurecr.io")
                }
                n if n == format!("{reg}.privatelink.azurecr.io") => format!("{reg}.{region}.fe.azcr.io"),
                n if n == format!("{reg}.{region}.data.privatelink.azurecr.io") => {
                    format!("{reg}.{region}.data.azcr.io")
                }
                n if n == format!("{reg}.{region}.fe.azcr.io") => return (Vec::new(), ip_at(0)),
                n if n == format!("{reg}.{region}.data.azcr.io") => return (Vec::new(), ip_at(1)),
                _ => continue,
            };
            return then(step, depth, view);
        }
        const AZURE_SUFFIXES: [&str; 3] = ["azurecr.io", "azcr.io", "azurewebsites.net"];
        if AZURE_SUFFIXES.iter().any(|s| name == *s || name.ends_with(&format!(".{s}"))) {
            (Vec::new(), Resolved::Fail(Code::DnsNxdomain))
        } else {
            (Vec::new(), Resolved::Fail(Code::DnsRefused))
        }
    }

    /// The answer of a custom DNS server (docs/azure.md C: it sees the private zones only
    /// through what it forwards to 168.63.129.16). Each name goes to the rule covering it
    /// — the conditional forwarder with the longest zone holding it, else the upstream —
    /// and the answer is kept only while its CNAME chain stays under that rule; a target
    /// another rule covers is asked again through that rule (a forwarder for
    /// `privatelink.azurecr.io` alone makes `<reg>.azurecr.io` private).
    fn custom_answer(&self, server: &Value, name: &str, depth: usize) -> (Vec<String>, Resolved) {
        let mut followed = Vec::new();
        let mut name = name.to_string();
        let mut asked = std::collections::BTreeSet::new();
        for _ in 0..MAX_CHAIN {
            if !asked.insert(name.clone()) {
                break;
            }
            let rule = forwarder_for(server, &name);
            let Some((chain, result)) = self.ask(server, rule, &name, depth) else {
                return (followed, Resolved::Fail(Code::DnsServfail));
            };
            let mut next = None;
            for target in chain {
                followed.push(target.clone());
                if forwarder_for(server, &target) != rule {
                    next = Some(target);
                    break;
                }
            }
            match next {
                Some(t) => name = t,
                None => return (followed, result),
            }
        }
        (followed, Resolved::Fail(Code::DnsServfail))
    }

    /// Asks the rule covering a name: conditional forwarder `rule` (its targets in order,
    /// the next when one cannot answer or answers SERVFAIL), or the upstream. `None` when
    /// nothing answered usefully.
    fn ask(&self, server: &Value, rule: Option<usize>, name: &str, depth: usize) -> Option<(Vec<String>, Resolved)> {
        let vnet = lower(&server["properties"]["vnet"]);
        let targets: Vec<Ipv4Addr> = match rule {
            Some(i) => server["properties"]["conditionalForwarders"][i]["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str()?.parse().ok())
                .collect(),
            None => match server["properties"]["upstream"].as_str().unwrap_or("AzureDns") {
                "AzureDns" => vec![crate::netplan::AZURE_DNS],
                "Public" => return Some(self.chain(&View::Public, name, depth + 1)),
                _ => return None,
            },
        };
        for ip in targets {
            let Some(view) = self.server_view(&vnet, ip, Some(server)) else { continue };
            let answer = self.chain(&view, name, depth + 1);
            if answer.1 != Resolved::Fail(Code::DnsServfail) {
                return Some(answer);
            }
        }
        None
    }

    /// The longest private zone linked to `vnet` that contains `name`, with its link.
    fn linked_zone(&self, vnet: &str, name: &str) -> Option<(Value, Value)> {
        self.of_type("Microsoft.Network/privateDnsZones/virtualNetworkLinks")
            .into_iter()
            .filter(|l| lower(&l["properties"]["virtualNetwork"]["id"]) == vnet)
            .filter_map(|l| {
                let zone_id = lower(&l["id"]).rsplit_once("/virtualnetworklinks/")?.0.to_string();
                let zone = self.store.get_key(&zone_id)?;
                let z = lower(&zone["name"]);
                (name == z || name.ends_with(&format!(".{z}"))).then_some((zone, l))
            })
            .max_by_key(|(z, _)| z["name"].as_str().map(str::len).unwrap_or(0))
    }
}

/// The conditional forwarder of a custom DNS server (stored resource) covering `name`: the
/// one with the longest zone holding it; `None` means the upstream.
fn forwarder_for(server: &Value, name: &str) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (i, f) in server["properties"]["conditionalForwarders"].as_array().into_iter().flatten().enumerate() {
        let zone = lower(&f["zone"]).trim_end_matches('.').to_string();
        let holds = name == zone || name.ends_with(&format!(".{zone}"));
        if holds && best.is_none_or(|(_, len)| zone.len() > len) {
            best = Some((i, zone.len()));
        }
    }
    best.map(|(i, _)| i)
}
