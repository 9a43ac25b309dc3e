//! The knobs worth turning for a configuration: every [`Change`] pullsim models that
//! would alter what the pull depends on, read from what exists (the site's settings, its
//! registry, the VNETs, zones, endpoints and identities). Which of them, alone or
//! together, make the pull succeed is the search's business, not this module's: it never
//! looks at why the pull failed.

use mock_azure::appservice::oracle::{ImageCatalog, ImageFacts};
use serde_json::Value;

use super::catalog::Catalog;
use super::change::{Change, Principal, zone_id};
use super::facts::{Facts, Vnet};

fn truthy(v: &Value) -> bool {
    v.as_bool().unwrap_or(false) || v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true") || s == "1")
}

/// Every change worth trying, in a stable order.
pub fn candidates(f: &Facts, catalog: &Catalog) -> Vec<Change> {
    let mut out = Vec::new();
    let site = &f.site;
    let routing = &site.props["outboundVnetRouting"];

    // Route.
    if !site.setting("WEBSITE_PULL_IMAGE_OVER_VNET").is_some_and(|v| truthy(&Value::from(v))) {
        out.push(Change::PullOverVnetSetting);
    }
    if !truthy(&routing["imagePullTraffic"]) {
        out.push(Change::ImagePullTraffic);
    }
    if !truthy(&site.config["vnetRouteAllEnabled"]) && !truthy(&routing["applicationTraffic"]) {
        out.push(Change::RouteAll);
    }
    if !truthy(&routing["allTraffic"]) {
        out.push(Change::AllTraffic);
    }
    // The VNETs the pull could leave from: the integration VNET, or those it could be
    // integrated with (a subnet delegated to App Service).
    let mut vnets: Vec<&Vnet> = Vec::new();
    match f.integration_vnet() {
        Some(v) => vnets.push(v),
        None => {
            for v in &f.vnets {
                for s in v.subnets.iter().filter(|s| s.web_delegated) {
                    out.push(Change::VnetIntegration { subnet: s.r.id.clone() });
                    if !vnets.iter().any(|x| x.r.is(&v.r.id)) {
                        vnets.push(v);
                    }
                }
            }
        }
    }

    let Some(reg) = &f.registry else { return out };
    let endpoints: Vec<_> = f.endpoints.iter().filter(|e| e.target.as_deref().is_some_and(|t| reg.r.is(t))).collect();

    // DNS: the resolver, the zone, its links, the endpoints' records.
    let custom_dns = vnets.iter().any(|v| !v.dns_servers.is_empty())
        || site.setting("WEBSITE_DNS_SERVER").is_some_and(|v| v != "168.63.129.16")
        || site.props["dnsConfiguration"]["dnsServers"].as_array().is_some_and(|a| !a.is_empty());
    if custom_dns {
        out.push(Change::AzureDnsServer);
    }
    let zone = match f.acr_zone() {
        Some(z) => z.r.id.clone(),
        None => {
            let rg = if reg.r.rg.is_empty() { site.r.rg.clone() } else { reg.r.rg.clone() };
            out.push(Change::CreateZone { rg: rg.clone() });
            zone_id(&f.sub, &rg)
        }
    };
    let linked = |vnet: &str| f.acr_zone().is_some_and(|z| z.links.iter().any(|(_, v)| v.eq_ignore_ascii_case(vnet)));
    for v in &vnets {
        if !linked(&v.r.id) {
            out.push(Change::ZoneLink { zone: zone.clone(), vnet: v.r.id.clone() });
        }
    }
    for e in &endpoints {
        // A group pointing at a zone that is gone wrote nothing: it is made again.
        if f.acr_zone().is_none() || !e.zone_group_zones.iter().any(|z| z.eq_ignore_ascii_case(&zone)) {
            out.push(Change::ZoneGroup { endpoint: e.r.id.clone(), zone: zone.clone() });
        } else if let Some(z) = f.acr_zone() {
            for (fqdn, ip) in &e.dns {
                let Some(name) =
                    fqdn.trim_end_matches('.').to_ascii_lowercase().strip_suffix(".azurecr.io").map(str::to_string)
                else {
                    continue;
                };
                let present = z.a_records.iter().any(|(n, ips)| n.eq_ignore_ascii_case(&name) && ips.contains(ip));
                if !present {
                    out.push(Change::ARecord { zone: zone.clone(), name, ip: ip.clone() });
                }
            }
        }
    }

    // Reachability: the endpoints' VNETs peered with the pull's, or a new endpoint in it.
    for v in &vnets {
        let reaches = |e: &&&super::facts::Endpoint| {
            f.vnet_of_subnet(&e.subnet).is_some_and(|ev| ev.r.is(&v.r.id) || v.peers.iter().any(|p| ev.r.is(p)))
        };
        for e in &endpoints {
            if let Some(ev) = f.vnet_of_subnet(&e.subnet)
                && !reaches(&e)
                && !out.iter().any(|c| matches!(c, Change::Peering { a, b } if v.r.is(a) && ev.r.is(b)))
            {
                out.push(Change::Peering { a: v.r.id.clone(), b: ev.r.id.clone() });
            }
        }
        if !endpoints.iter().any(|e| reaches(&e)) {
            let taken: Vec<&str> = f.endpoints.iter().map(|e| e.subnet.as_str()).collect();
            let subnet = v
                .subnets
                .iter()
                .filter(|s| !s.web_delegated)
                .max_by_key(|s| taken.iter().any(|t| s.r.is(t)))
                .map(|s| s.r.id.clone());
            if let Some(subnet) = subnet {
                let endpoint = format!(
                    "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/privateEndpoints/{}-pe",
                    f.sub, v.r.rg, reg.r.name
                );
                let exists = f.endpoints.iter().any(|e| e.r.is(&endpoint));
                if !exists {
                    out.push(Change::CreateEndpoint { subnet, endpoint: endpoint.clone() });
                    out.push(Change::ZoneGroup { endpoint, zone: zone.clone() });
                }
            }
        }
    }

    // Credentials.
    let has_pull = |principal: &str| {
        f.role_assignments.iter().any(|(p, scope, role)| {
            p.eq_ignore_ascii_case(principal)
                && reg.r.id.to_ascii_lowercase().starts_with(&scope.to_ascii_lowercase())
                && matches!(role.as_str(), "AcrPull" | "AcrPush" | "Contributor" | "Owner")
        })
    };
    if site.uses_managed_identity() {
        let client = site.config["acrUserManagedIdentityID"].as_str().filter(|s| !s.is_empty());
        match client {
            Some(c) => {
                let known = site.user_identities.iter().any(|(_, cid, _)| cid.eq_ignore_ascii_case(c));
                for (id, _, principal) in &site.user_identities {
                    if !known {
                        out.push(Change::PullIdentityClientId { identity: id.clone() });
                    }
                    if !has_pull(principal) {
                        out.push(Change::AcrPull { principal: Principal::Identity(id.clone()) });
                    }
                }
                if let Some(p) = &site.system_principal {
                    out.push(Change::UseSystemIdentity);
                    if !has_pull(p) {
                        out.push(Change::AcrPull { principal: Principal::Site });
                    }
                }
            }
            None => {
                if site.system_principal.as_deref().is_some_and(|p| !has_pull(p)) {
                    out.push(Change::AcrPull { principal: Principal::Site });
                }
                for (id, _, principal) in &site.user_identities {
                    out.push(Change::PullIdentityClientId { identity: id.clone() });
                    if !has_pull(principal) {
                        out.push(Change::AcrPull { principal: Principal::Identity(id.clone()) });
                    }
                }
            }
        }
        out.push(Change::AdminCredentials);
    } else {
        out.push(Change::AdminCredentials);
        if let Some(p) = &site.system_principal {
            out.push(Change::UseSystemIdentity);
            if !has_pull(p) {
                out.push(Change::AcrPull { principal: Principal::Site });
            }
        }
    }
    if !reg.admin {
        out.push(Change::AdminUser);
    }

    // The registry's public endpoint.
    if !reg.public || reg.default_deny {
        out.push(Change::PublicAccess);
        let mut sources: Vec<std::net::Ipv4Addr> = site.outbound.iter().take(1).copied().collect();
        sources.extend(vnets.iter().filter_map(|v| v.egress));
        sources.dedup();
        for ip in sources {
            out.push(Change::PublicFrom { ip });
        }
    }

    // The image.
    if let Some((_, repo, reference)) = site.image_parts() {
        let name = reg.r.name.to_ascii_lowercase();
        if catalog.facts(&name, &repo, &reference) != ImageFacts::Pullable {
            for tag in catalog.pullable_tags(&name, &repo).into_iter().take(2) {
                out.push(Change::Image { image: format!("{}/{repo}:{tag}", reg.login_server) });
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|c| seen.insert(c.clone()));
    out
}
