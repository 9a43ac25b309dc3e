//! The network's requests: VNETs and subnets, peerings, custom DNS servers (data for the
//! runner), private DNS zones with their links and records, private endpoints with their
//! DNS zone groups.

use serde_json::{Value, json};

use super::{CustomDnsSpec, Plan, PlanStep};
use crate::scenario::model::*;

impl Plan<'_> {
    /// A VNET, then each of its subnets.
    pub(super) fn vnet(&mut self, v: &Vnet) {
        let prefixes: Vec<String> = v.address_space.iter().map(|c| c.to_string()).collect();
        let mut props = json!({"addressSpace": {"addressPrefixes": prefixes}});
        if !v.dns_servers.is_empty() {
            props["dhcpOptions"] =
                json!({"dnsServers": v.dns_servers.iter().map(|d| d.to_string()).collect::<Vec<_>>()});
        }
        let body = json!({"location": self.t.vnet_location(v), "properties": props});
        self.call("PUT", self.ids.vnet(&v.name), Some(body), format!("create vnet {}", v.name));
        for sn in &v.subnets {
            let mut props = json!({"addressPrefix": sn.prefix.to_string()});
            if let Some(d) = &sn.delegation {
                props["delegations"] = json!([{"name": "delegation", "properties": {"serviceName": d}}]);
            }
            let r = SubnetRef { vnet: v.name.clone(), subnet: sn.name.clone() };
            self.call("PUT", self.ids.subnet(&r), Some(json!({"properties": props})), format!("create subnet {r}"));
        }
    }

    /// A VNET's peerings; a bidirectional one also from the remote VNET back.
    pub(super) fn peerings(&mut self, v: &Vnet) {
        for p in &v.peerings {
            let body = |remote: &str| {
                json!({"properties": {
                    "remoteVirtualNetwork": {"id": self.ids.vnet(remote)},
                    "allowVirtualNetworkAccess": true,
                    "allowForwardedTraffic": false,
                }})
            };
            let (there, back_body) = (body(&p.remote), body(&v.name));
            self.call(
                "PUT",
                format!("{}/virtualNetworkPeerings/{}", self.ids.vnet(&v.name), p.name),
                Some(there),
                format!("peer vnet {} with {} ({})", v.name, p.remote, p.name),
            );
            if p.bidirectional {
                let back = p.reverse_name(&v.name);
                self.call(
                    "PUT",
                    format!("{}/virtualNetworkPeerings/{back}", self.ids.vnet(&p.remote)),
                    Some(back_body),
                    format!("peer vnet {} with {} ({back})", p.remote, v.name),
                );
            }
        }
    }

    /// A custom DNS server: not an ARM resource, handed to the runner.
    pub(super) fn custom_dns(&mut self, c: &CustomDns) {
        self.out.push(PlanStep::CustomDns(CustomDnsSpec {
            name: c.name.clone(),
            vnet: c.vnet.clone(),
            vnet_id: if c.vnet.is_empty() { String::new() } else { self.ids.vnet(&c.vnet) },
            address: c.address,
            upstream: c.upstream,
            forwarders: c.forwarders.clone(),
        }));
    }

    /// A private DNS zone, its virtual network links, then its record sets.
    pub(super) fn private_dns_zone(&mut self, z: &PrivateDnsZone) {
        let zone = self.ids.zone(&z.name);
        self.call(
            "PUT",
            zone.clone(),
            Some(json!({"location": "global"})),
            format!("create private DNS zone {}", z.name),
        );
        for l in &z.links {
            let mut props =
                json!({"virtualNetwork": {"id": self.ids.vnet(&l.vnet)}, "registrationEnabled": l.registration});
            if let Some(p) = l.resolution_policy {
                props["resolutionPolicy"] = json!(p.as_str());
            }
            self.call(
                "PUT",
                format!("{zone}/virtualNetworkLinks/{}", l.name),
                Some(json!({"location": "global", "properties": props})),
                format!("link private DNS zone {} to vnet {} ({})", z.name, l.vnet, l.name),
            );
        }
        for r in &z.records {
            self.call(
                "PUT",
                format!("{zone}/{}/{}", r.rtype.as_str(), r.name),
                Some(json!({"properties": record_properties(r)})),
                format!("create {} record {} in {}", r.rtype, r.name, z.name),
            );
        }
    }

    /// A private endpoint to a registry (auto-approved, or a manual request), then its
    /// DNS zone group.
    pub(super) fn private_endpoint(&mut self, pe: &PrivateEndpoint) {
        let t = self.t;
        let location =
            t.vnet(&pe.subnet.vnet).map(|v| t.vnet_location(v)).unwrap_or_else(|| t.resource_group.location.clone());
        let connection = json!([{
            "name": pe.name,
            "properties": {
                "privateLinkServiceId": self.ids.registry(&pe.registry),
                "groupIds": ["registry"],
                "requestMessage": if pe.manual_approval { json!("Please approve") } else { Value::Null },
            },
        }]);
        let list =
            if pe.manual_approval { "manualPrivateLinkServiceConnections" } else { "privateLinkServiceConnections" };
        let mut props = json!({"subnet": {"id": self.ids.subnet(&pe.subnet)}});
        props[list] = connection;
        self.call(
            "PUT",
            self.ids.endpoint(&pe.name),
            Some(json!({"location": location, "properties": props})),
            format!("create private endpoint {} in {} to registry {}", pe.name, pe.subnet, pe.registry),
        );
        if !pe.dns_zone_group.is_empty() {
            let configs: Vec<Value> = pe
                .dns_zone_group
                .iter()
                .map(|z| json!({"name": z.replace('.', "-"), "properties": {"privateDnsZoneId": self.ids.zone(z)}}))
                .collect();
            self.call(
                "PUT",
                format!("{}/privateDnsZoneGroups/default", self.ids.endpoint(&pe.name)),
                Some(json!({"properties": {"privateDnsZoneConfigs": configs}})),
                format!("create DNS zone group of {} ({})", pe.name, pe.dns_zone_group.join(", ")),
            );
        }
    }
}

/// A record set's properties: its TTL and values in the shape of its type.
fn record_properties(r: &Record) -> Value {
    let values = &r.values;
    let mut props = json!({"ttl": r.ttl});
    let list = |f: &dyn Fn(&String) -> Value| Value::Array(values.iter().map(f).collect());
    match r.rtype {
        RecordType::A => props["aRecords"] = list(&|v| json!({"ipv4Address": v})),
        RecordType::Aaaa => props["aaaaRecords"] = list(&|v| json!({"ipv6Address": v})),
        RecordType::Cname => props["cnameRecord"] = json!({"cname": values.first()}),
        RecordType::Ptr => props["ptrRecords"] = list(&|v| json!({"ptrdname": v})),
        RecordType::Txt => props["txtRecords"] = list(&|v| json!({"value": [v]})),
    }
    props
}
