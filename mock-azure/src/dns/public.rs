//! The internet's resolvers: any public address the configuration names as a DNS server
//! (a site's `dnsConfiguration`, `WEBSITE_DNS_SERVER` / `WEBSITE_DNS_ALT_SERVER`, a
//! VNET's `dhcpOptions.dnsServers`, a custom server's forwarder target) runs a resolver
//! that answers Azure's public names with the public view (rule `dns.public-resolver`,
//! docs/azure.md F: 8.8.8.8 answers over the VNET's outbound path with the public chain).
//!
//! pullsim does not ask the real internet: the environment binds a socket for each of
//! these addresses ([`public_resolvers`], read from the store when asked), and the DNS
//! server answers there in the role [`Role::PublicResolver`](super::Role). A public
//! address a scenario declared as a custom server is that server instead.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::Arc;

use serde_json::Value;

use super::custom::{CustomServers, is_internet_address};
use crate::model::Store;
use crate::netplan::Modeled;

/// The app settings that name DNS servers (comma-separated lists).
const DNS_SETTINGS: [&str; 2] = ["WEBSITE_DNS_SERVER", "WEBSITE_DNS_ALT_SERVER"];

/// The public resolvers the configuration names, in address order: what the environment
/// binds in the role `PublicResolver`. Computed once per store sequence number.
pub fn public_resolvers(store: &Store) -> Arc<Vec<Modeled>> {
    store.derived(|s| {
        let declared = CustomServers::of(s);
        let mut out = BTreeSet::new();
        for v in s.filter(|_, v| v["type"].is_string()) {
            for ip in named_servers(&v) {
                let m = Modeled::public(ip);
                if is_internet_address(ip) && declared.at(&m).is_none() {
                    out.insert(m);
                }
            }
        }
        out.into_iter().collect()
    })
}

/// The DNS servers a stored resource names.
fn named_servers(v: &Value) -> Vec<Ipv4Addr> {
    let ty = v["type"].as_str().unwrap_or_default().to_ascii_lowercase();
    let p = &v["properties"];
    let list = |x: &Value| -> Vec<Ipv4Addr> {
        x.as_array().into_iter().flatten().filter_map(|s| s.as_str()?.trim().parse().ok()).collect()
    };
    let text = |x: &Value| -> Vec<Ipv4Addr> {
        x.as_str().unwrap_or_default().split(',').filter_map(|s| s.trim().parse().ok()).collect()
    };
    match ty.as_str() {
        "microsoft.network/virtualnetworks" => list(&p["dhcpOptions"]["dnsServers"]),
        "microsoft.web/sites" => {
            let mut out = list(&p["dnsConfiguration"]["dnsServers"]);
            out.extend(text(&p["dnsConfiguration"]["dnsAltServer"]));
            out
        }
        "microsoft.web/sites/config" if v["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case("appsettings")) => p
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| DNS_SETTINGS.iter().any(|s| s.eq_ignore_ascii_case(k)))
            .flat_map(|(_, x)| text(x))
            .collect(),
        t if t.eq_ignore_ascii_case(super::CUSTOM_SERVER_TYPE) => {
            p["conditionalForwarders"].as_array().into_iter().flatten().flat_map(|f| list(&f["targets"])).collect()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::StoreError;

    #[test]
    fn every_public_address_named_as_a_dns_server_is_a_resolver() {
        let store = Store::in_memory();
        let site = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app";
        store
            .transact(|tx| {
                tx.put(json!({"id": format!("{site}/config/appsettings"), "name": "appsettings",
                    "type": "Microsoft.Web/sites/config",
                    "properties": {"website_dns_server": "8.8.8.8, 10.0.3.4", "WEBSITE_DNS_ALT_SERVER": "1.1.1.1"}}));
                tx.put(json!({"id": site, "name": "app", "type": "Microsoft.Web/sites",
                    "properties": {"dnsConfiguration": {"dnsServers": ["168.63.129.16", "9.9.9.9"]}}}));
                tx.put(
                    json!({"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v",
                    "name": "v", "type": "Microsoft.Network/virtualNetworks",
                    "properties": {"dhcpOptions": {"dnsServers": ["8.8.8.8", "127.0.0.1"]}}}),
                );
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let got: Vec<String> = public_resolvers(&store).iter().map(|m| m.ip.to_string()).collect();
        assert_eq!(got, ["1.1.1.1", "8.8.8.8", "9.9.9.9"], "Azure DNS, private and loopback addresses are not");
    }
}
