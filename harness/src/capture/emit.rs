//! What capture read, as a scenario file: readable, each resource commented with the ID
//! it came from, today's rule epoch, no expectation (the run shows the verdict), and no
//! secret — the admin password becomes "the registry's current password" (`credentials =
//! "admin"`) or "a stale password" (the same, then a step that regenerates it), app
//! settings pullsim does not read are listed by name only.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use mock_azure::appservice::rules::Epoch;
use serde_json::Value;

use super::read::Captured;
use crate::fix::change::q;

/// App settings whose values decide the pull (written with their values).
/// (The registry's URL is no secret, and decides where the platform pulls from — without
/// it, Docker Hub — whatever the credentials.)
const READ_SETTINGS: &[&str] = &[
    "WEBSITE_PULL_IMAGE_OVER_VNET",
    "WEBSITE_VNET_ROUTE_ALL",
    "WEBSITE_DNS_SERVER",
    "WEBSITE_DNS_ALT_SERVER",
    "DOCKER_REGISTRY_SERVER_URL",
];

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn last(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().filter_map(|x| x.as_str().map(q)).collect()
}

fn truthy(v: &Value) -> bool {
    v.as_bool().unwrap_or(false) || v.as_str().is_some_and(|x| x.eq_ignore_ascii_case("true"))
}

/// `vnet/subnet` for a subnet ID.
fn subnet_ref(id: &str) -> String {
    match id.split_once("/subnets/") {
        Some((v, sn)) => format!("{}/{sn}", last(v)),
        None => id.to_string(),
    }
}

/// Where the resources read came from: a live resource group, or a template `pullsim
/// import` deployed into a fake Azure of its own.
#[derive(Debug, Clone)]
pub enum Origin {
    /// `pullsim capture`: ARM as the user's Azure CLI login reads it.
    Capture,
    /// `pullsim import`: the template's path and how its parameters were given (files,
    /// `KEY=VALUE` with secure values hidden), and the templates deployed before it.
    Import {
        /// The template.
        template: String,
        /// Each `--parameters` as given (secure values replaced).
        parameters: Vec<String>,
        /// `--before` templates and `--fixture`.
        before: Vec<String>,
    },
}

/// The scenario text. `forwarders`: what custom DNS servers forward to, as the user said.
pub fn scenario(c: &Captured, sub: &str, rg: &str, forwarders: &BTreeMap<Ipv4Addr, String>, origin: &Origin) -> String {
    let mut o = String::new();
    let site = &c.site;
    let site_name = s(&site["name"]);
    let name = match origin {
        Origin::Capture => {
            let _ =
                writeln!(o, "# Captured by `pullsim capture` from site {site_name} (resource group {rg}) through ARM.");
            let _ = writeln!(
                o,
                "# Values come from ARM as your Azure CLI login reads them; no password or token is written."
            );
            format!("Captured: {site_name}")
        }
        Origin::Import { template, parameters, before } => {
            let _ = writeln!(o, "# Imported by `pullsim import` from the ARM template {template}");
            if !parameters.is_empty() {
                let _ = writeln!(o, "# with the parameters {}", parameters.join(" "));
            }
            if !before.is_empty() {
                let _ = writeln!(o, "# after {}", before.join(", "));
            }
            let _ = writeln!(
                o,
                "# deployed into a fake Azure of its own and read back through its ARM (site {site_name},\n# resource group {rg}); no password or token is written."
            );
            format!("Imported: {site_name}")
        }
    };
    let _ = writeln!(o, "# Everything is placed in one resource group, as a scenario has one; each resource's");
    let _ = writeln!(o, "# comment gives the ID it was read from. No [expect]: `pullsim run` shows the verdict.");
    let _ = writeln!(o, "name = {}", q(&name));
    let _ = writeln!(o, "rules = {}   # today's platform rules", q(Epoch::LATEST.as_str()));
    let _ = writeln!(o, "\n[resource_group]\nname = {}\nlocation = {}", q(rg), q(s(&site["location"])));

    // Networks.
    for (v, peerings) in &c.vnets {
        let p = &v["properties"];
        let _ = writeln!(o, "\n# {}", s(&v["id"]));
        let _ = writeln!(o, "[[vnet]]\nname = {}\nlocation = {}", q(s(&v["name"])), q(s(&v["location"])));
        let _ = writeln!(o, "address_space = [{}]", strs(&p["addressSpace"]["addressPrefixes"]).join(", "));
        let dns = strs(&p["dhcpOptions"]["dnsServers"]);
        if !dns.is_empty() {
            let _ = writeln!(o, "dns_servers = [{}]", dns.join(", "));
        }
        let subnets: Vec<String> = p["subnets"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|sn| {
                let sp = &sn["properties"];
                let prefix =
                    sp["addressPrefix"].as_str().or_else(|| sp["addressPrefixes"][0].as_str()).unwrap_or_default();
                let delegation = sp["delegations"][0]["properties"]["serviceName"]
                    .as_str()
                    .map(|d| format!(", delegation = {}", q(d)))
                    .unwrap_or_default();
                format!("  {{ name = {}, prefix = {}{delegation} }},", q(s(&sn["name"])), q(prefix))
            })
            .collect();
        let _ = writeln!(o, "subnets = [\n{}\n]", subnets.join("\n"));
        // A peering whose remote peers back is written once, both ways.
        let peer_lines: Vec<String> = peerings
            .iter()
            .filter_map(|pe| {
                let remote = s(&pe["properties"]["remoteVirtualNetwork"]["id"]);
                let back =
                    c.vnets.iter().find(|(x, _)| s(&x["id"]).eq_ignore_ascii_case(remote)).and_then(|(_, ps)| {
                        ps.iter().find(|b| {
                            s(&b["properties"]["remoteVirtualNetwork"]["id"]).eq_ignore_ascii_case(s(&v["id"]))
                        })
                    });
                if back.is_some() && s(&v["name"]) > last(remote) {
                    return None;
                }
                Some(format!(
                    "{{ name = {}, remote = {}, bidirectional = {} }}",
                    q(s(&pe["name"])),
                    q(last(remote)),
                    back.is_some()
                ))
            })
            .collect();
        if !peer_lines.is_empty() {
            let _ = writeln!(o, "peerings = [{}]", peer_lines.join(", "));
        }
    }

    // Custom DNS servers the VNETs name.
    for (v, _) in &c.vnets {
        for ip in
            v["properties"]["dhcpOptions"]["dnsServers"].as_array().into_iter().flatten().filter_map(|x| x.as_str())
        {
            let Ok(addr) = ip.parse::<Ipv4Addr>() else { continue };
            match forwarders.get(&addr) {
                Some(target) => {
                    let upstream = match target.as_str() {
                        "168.63.129.16" | "AzureDns" => "AzureDns",
                        "none" | "None" => "None",
                        _ => "Public",
                    };
                    let _ = writeln!(o, "\n# DNS server {ip}: forwards to {target} (--dns-forwarder)");
                    let _ = writeln!(
                        o,
                        "[[custom_dns]]\nname = {}\nvnet = {}\naddress = {}\nupstream = {}",
                        q(&format!("dns-{}", ip.replace('.', "-"))),
                        q(s(&v["name"])),
                        q(ip),
                        q(upstream)
                    );
                }
                None => {
                    let _ = writeln!(
                        o,
                        "\n# DNS server {ip} of VNET {}: what it forwards to is not in ARM; say it with\n# `--dns-forwarder {ip}=168.63.129.16` (or =none). Without it nothing answers there.",
                        s(&v["name"])
                    );
                }
            }
        }
    }

    // The registry.
    let reg_name = c.registry.as_ref().map(|r| s(&r["name"]).to_string());
    if let Some(r) = &c.registry {
        let p = &r["properties"];
        let _ = writeln!(o, "\n# {}", s(&r["id"]));
        let _ = writeln!(o, "[[registry]]\nname = {}\nlocation = {}", q(s(&r["name"])), q(s(&r["location"])));
        let _ = writeln!(o, "sku = {}", q(s(&r["sku"]["name"])));
        let _ = writeln!(o, "admin_user = {}", truthy(&p["adminUserEnabled"]));
        let _ = writeln!(o, "public_network_access = {}", q(p["publicNetworkAccess"].as_str().unwrap_or("Enabled")));
        if let Some(a) = p["networkRuleSet"]["defaultAction"].as_str() {
            let _ = writeln!(o, "default_action = {}", q(a));
        }
        let rules: Vec<String> = p["networkRuleSet"]["ipRules"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x["value"].as_str().map(q))
            .collect();
        if !rules.is_empty() {
            let _ = writeln!(o, "ip_rules = [{}]", rules.join(", "));
        }
        if truthy(&p["dataEndpointEnabled"]) {
            let _ = writeln!(o, "data_endpoint = true");
        }
        if truthy(&p["anonymousPullEnabled"]) {
            let _ = writeln!(o, "anonymous_pull = true");
        }
        if let Some((repo, tag)) = image_repo_tag(&c.config) {
            let _ = writeln!(
                o,
                "# pullsim does not read your registry's content: the site's image is assumed present.\nimages = [{{ repo = {}, tag = {} }}]",
                q(&repo),
                q(&tag)
            );
        }
    }

    // Private endpoints and zones.
    let zone_ids: Vec<String> = c.zones.iter().map(|(z, _, _)| s(&z["id"]).to_ascii_lowercase()).collect();
    let mut group_fqdns: Vec<String> = Vec::new();
    for (pe, groups) in &c.endpoints {
        let p = &pe["properties"];
        let _ = writeln!(o, "\n# {}", s(&pe["id"]));
        let _ = writeln!(
            o,
            "[[private_endpoint]]\nname = {}\nsubnet = {}",
            q(s(&pe["name"])),
            q(&subnet_ref(s(&p["subnet"]["id"])))
        );
        if let Some(r) = &reg_name {
            let _ = writeln!(o, "target = {}", q(&format!("registry:{r}")));
        }
        let zones: Vec<String> = groups
            .iter()
            .flat_map(|g| g["properties"]["privateDnsZoneConfigs"].as_array().cloned().unwrap_or_default())
            .filter_map(|cfg| cfg["properties"]["privateDnsZoneId"].as_str().map(str::to_string))
            .filter(|z| zone_ids.contains(&z.to_ascii_lowercase()))
            .collect();
        if !zones.is_empty() {
            let _ = writeln!(o, "dns_zone_group = {}", q(last(&zones[0])));
            for dc in p["customDnsConfigs"].as_array().into_iter().flatten() {
                group_fqdns.push(s(&dc["fqdn"]).to_ascii_lowercase());
            }
        }
        if p["manualPrivateLinkServiceConnections"].as_array().is_some_and(|a| !a.is_empty()) {
            let _ = writeln!(o, "manual_approval = true");
        }
    }
    let mut deletions = Vec::new();
    for (z, links, records) in &c.zones {
        let zname = s(&z["name"]);
        let _ = writeln!(o, "\n# {}", s(&z["id"]));
        let _ = writeln!(o, "[[private_dns_zone]]\nname = {}", q(zname));
        let link_items: Vec<String> = links
            .iter()
            .map(|l| {
                let policy = l["properties"]["resolutionPolicy"]
                    .as_str()
                    .filter(|p| *p != "Default")
                    .map(|p| format!(", resolution_policy = {}", q(p)))
                    .unwrap_or_default();
                format!(
                    "{{ name = {}, vnet = {}{policy} }}",
                    q(last(s(&l["id"]))),
                    q(last(s(&l["properties"]["virtualNetwork"]["id"])))
                )
            })
            .collect();
        if !link_items.is_empty() {
            let _ = writeln!(o, "links = [{}]", link_items.join(", "));
        }
        // Records a zone group writes are made again by it; the others are written.
        let base = zname.strip_prefix("privatelink.").unwrap_or(zname);
        let from_group = |name: &str| group_fqdns.iter().any(|f| f == &format!("{name}.{base}"));
        let items: Vec<String> = records
            .iter()
            .filter(|r| !from_group(&s(&r["name"]).to_ascii_lowercase()))
            .map(|r| {
                let ips: Vec<String> = r["properties"]["aRecords"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a["ipv4Address"].as_str().map(q))
                    .collect();
                format!("{{ name = {}, type = \"A\", values = [{}] }}", q(s(&r["name"])), ips.join(", "))
            })
            .collect();
        if !items.is_empty() {
            let _ = writeln!(o, "records = [{}]", items.join(", "));
        }
        // A record a zone group would write but that is gone (deleted by hand).
        for f in &group_fqdns {
            if let Some(name) = f.strip_suffix(&format!(".{base}"))
                && !records.iter().any(|r| s(&r["name"]).eq_ignore_ascii_case(name))
            {
                deletions.push(format!("privateDnsZones/{zname}/A/{name}"));
            }
        }
    }

    // Identities and roles.
    for i in &c.identities {
        let _ = writeln!(o, "\n# {}\n[[identity]]\nname = {}", s(&i["id"]), q(s(&i["name"])));
    }
    let site_principal = s(&site["identity"]["principalId"]).to_string();
    for a in &c.role_assignments {
        let p = &a["properties"];
        let role = mock_azure::arm::roles::by_id(s(&p["roleDefinitionId"])).map(|r| r.name);
        let principal = s(&p["principalId"]);
        let who = if !site_principal.is_empty() && principal.eq_ignore_ascii_case(&site_principal) {
            Some("site".to_string())
        } else {
            c.identities
                .iter()
                .find(|i| s(&i["properties"]["principalId"]).eq_ignore_ascii_case(principal))
                .map(|i| format!("identity:{}", s(&i["name"])))
        };
        let scope = s(&p["scope"]).to_ascii_lowercase();
        let scope_word = match &c.registry {
            Some(r) if scope == s(&r["id"]).to_ascii_lowercase() => reg_name.as_ref().map(|n| format!("registry:{n}")),
            _ if scope.ends_with(&format!("/resourcegroups/{}", rg.to_ascii_lowercase())) => {
                Some("resource_group".into())
            }
            _ => None,
        };
        if let (Some(role), Some(who), Some(scope)) = (role, who, scope_word) {
            let _ = writeln!(
                o,
                "\n# {}\n[[role_assignment]]\nprincipal = {}\nrole = {}\nscope = {}",
                s(&a["id"]),
                q(&who),
                q(role),
                q(&scope)
            );
        }
    }

    // The plan and the site.
    if let Some(plan) = &c.plan {
        let _ = writeln!(
            o,
            "\n# {}\n[plan]\nname = {}\nsku = {}",
            s(&plan["id"]),
            q(s(&plan["name"])),
            q(s(&plan["sku"]["name"]))
        );
    }
    let sp = &site["properties"];
    let _ = writeln!(o, "\n# {}\n[site]\nname = {}", s(&site["id"]), q(site_name));
    if let Some(img) = s(&c.config["linuxFxVersion"]).split_once('|').map(|(_, i)| i) {
        let _ = writeln!(o, "image = {}", q(img));
    }
    if let Some(subnet) = sp["virtualNetworkSubnetId"].as_str().filter(|x| !x.is_empty()) {
        let _ = writeln!(o, "vnet_integration = {}", q(&subnet_ref(subnet)));
    }
    let setting = |name: &str| {
        c.settings.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.as_str().map(str::to_string))
    };
    let ty = s(&site["identity"]["type"]).to_ascii_lowercase();
    let mut identities: Vec<String> = Vec::new();
    if ty.contains("systemassigned") {
        identities.push("system".into());
    }
    for i in &c.identities {
        identities.push(format!("user:{}", s(&i["name"])));
    }
    if !identities.is_empty() {
        let _ = writeln!(o, "identity = [{}]", identities.iter().map(|x| q(x)).collect::<Vec<_>>().join(", "));
    }
    let mut config_lines: Vec<String> = Vec::new();
    let mut steps = String::new();
    if truthy(&c.config["acrUseManagedIdentityCreds"]) {
        let _ = writeln!(o, "credentials = \"managed-identity\"");
        let client = s(&c.config["acrUserManagedIdentityID"]);
        let user = c
            .identities
            .iter()
            .find(|i| !client.is_empty() && s(&i["properties"]["clientId"]).eq_ignore_ascii_case(client));
        match user {
            Some(i) => {
                let _ = writeln!(o, "pull_identity = {}", q(&format!("user:{}", s(&i["name"]))));
            }
            None if client.is_empty() => {
                if ty.contains("systemassigned") {
                    let _ = writeln!(o, "pull_identity = \"system\"");
                }
            }
            None => {
                let generic = client.replace(sub, "{subscription}").replace(rg, "{resource_group}");
                config_lines.push(format!(
                    "acrUserManagedIdentityID = {}   # names no identity of the site by its client ID",
                    q(&generic)
                ));
            }
        }
    } else if setting("DOCKER_REGISTRY_SERVER_PASSWORD").is_some() && c.registry.is_some() {
        match c.password_current {
            Some(false) => {
                let _ = writeln!(
                    o,
                    "credentials = \"admin\"   # DOCKER_REGISTRY_SERVER_*: a stale password (regenerated below)"
                );
                let _ = write!(
                    steps,
                    "\n# The configured password is not the registry's current one: it was regenerated.\n[[step]]\narm = {}\nbody = {{ name = \"password\" }}\n",
                    q(&format!("POST registries/{}/regenerateCredential", reg_name.as_deref().unwrap_or_default()))
                );
            }
            _ => {
                let _ = writeln!(
                    o,
                    "credentials = \"admin\"   # DOCKER_REGISTRY_SERVER_*: the registry's current password"
                );
            }
        }
    }
    let mut settings_lines = Vec::new();
    let mut other = Vec::new();
    for (k, v) in &c.settings {
        if READ_SETTINGS.iter().any(|r| r.eq_ignore_ascii_case(k)) {
            settings_lines.push(format!("{k} = {}", q(v.as_str().unwrap_or_default())));
        } else if !k.to_ascii_uppercase().starts_with("DOCKER_REGISTRY_SERVER_") {
            other.push(k.clone());
        }
    }
    if !settings_lines.is_empty() || !other.is_empty() {
        let _ = writeln!(o, "\n[site.app_settings]");
        for l in settings_lines {
            let _ = writeln!(o, "{l}");
        }
        if !other.is_empty() {
            let _ = writeln!(o, "# also set (values not captured): {}", other.join(", "));
        }
    }
    let routing = &sp["outboundVnetRouting"];
    if truthy(&c.config["vnetRouteAllEnabled"]) || truthy(&routing["applicationTraffic"]) {
        config_lines.push("vnetRouteAllEnabled = true".into());
    } else if sp["virtualNetworkSubnetId"].as_str().is_some_and(|x| !x.is_empty()) {
        config_lines.push("vnetRouteAllEnabled = false".into());
    }
    if !config_lines.is_empty() {
        let _ = writeln!(o, "\n[site.config]\n{}", config_lines.join("\n"));
    }
    let mut props = Vec::new();
    let flags: Vec<String> = ["imagePullTraffic", "allTraffic"]
        .iter()
        .filter(|f| truthy(&routing[**f]))
        .map(|f| format!("{f} = true"))
        .collect();
    if !flags.is_empty() {
        props.push(format!("outboundVnetRouting = {{ {} }}", flags.join(", ")));
    }
    let dns = strs(&sp["dnsConfiguration"]["dnsServers"]);
    if !dns.is_empty() {
        props.push(format!("dnsConfiguration = {{ dnsServers = [{}] }}", dns.join(", ")));
    }
    if !props.is_empty() {
        let _ = writeln!(o, "\n[site.properties]\n{}", props.join("\n"));
    }
    for d in deletions {
        let _ = write!(
            steps,
            "\n# A record its zone group wrote is gone from the zone.\n[[step]]\narm = {}\n",
            q(&format!("DELETE {d}"))
        );
    }
    o.push_str(&steps);
    o
}

fn image_repo_tag(config: &Value) -> Option<(String, String)> {
    let img = s(&config["linuxFxVersion"]).split_once('|')?.1;
    let (_, rest) = img.split_once('/')?;
    match rest.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => Some((repo.to_string(), tag.to_string())),
        _ => Some((rest.to_string(), "latest".to_string())),
    }
}
