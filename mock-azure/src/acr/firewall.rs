//! ACR's network rules (docs/azure.md D): which endpoint a request arrived on, from which
//! client address, and whether the registry lets it in. A pure function of the store's
//! typed views (rebuilt when the store moves), evaluated on every request before any
//! authentication.
//!
//! - Arrived on one of the registry's public addresses (`_pullsim.publicIps`: login and
//!   data): `publicNetworkAccess: Disabled` denies; `Enabled` with
//!   `networkRuleSet.defaultAction: Deny` allows only clients inside an `ipRules` CIDR;
//!   otherwise allowed. `networkRuleBypassOptions: AzureServices` changes nothing here:
//!   App Service is not one of ACR's trusted services \[I\].
//! - Arrived on a private endpoint address: allowed when that endpoint's connection to
//!   this registry is `Approved` (public access settings and IP rules do not apply to
//!   private endpoint traffic, as in Azure). The endpoint is found from the registry's
//!   `privateEndpointConnections` → private endpoint → its NIC's ipConfigurations, matching
//!   the address *and* the VNET (two VNETs may reuse 10.0.2.4).
//! - Any other address (another registry's endpoint, an address the network map does
//!   not know) is no endpoint of this registry: denied.
//!
//! Either of an endpoint's two addresses (login member, data member) accepts either
//! host name: ACR's front ends route by host name, not by address.

use std::net::Ipv4Addr;

use crate::model::Store;
use crate::model::net::Cidr;
use crate::model::view::{Registry, Views};
use crate::netplan::Modeled;

/// How a request reached the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival {
    /// On one of the registry's public addresses.
    Public,
    /// On a private endpoint's address.
    PrivateEndpoint {
        /// The private endpoint's resource ID.
        endpoint_id: String,
        /// Its connection's state (`Approved`, `Pending`, `Rejected`, `Disconnected`).
        status: String,
    },
    /// On an address that belongs to no endpoint of this registry.
    Elsewhere,
}

/// Why the firewall decided as it did (for traces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Public access enabled, no IP rules enforced.
    PublicAccessEnabled,
    /// Public access enabled, default action Deny, the client is inside this rule.
    IpRule(Cidr),
    /// Public access disabled.
    PublicAccessDisabled,
    /// Default action Deny and no IP rule holds the client.
    NotInIpRules,
    /// The private endpoint's connection is Approved.
    EndpointApproved,
    /// The private endpoint's connection is not Approved.
    EndpointNotApproved,
    /// The address is no endpoint of this registry.
    UnknownEndpoint,
}

/// The firewall's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may go on.
    pub allowed: bool,
    /// How it arrived.
    pub arrival: Arrival,
    /// Why.
    pub reason: Reason,
}

/// Where a request arrived: `endpoint` is the modeled address the client connected to
/// (`None` when the network map does not know the local address).
pub fn arrival(views: &Views, registry: &Registry, endpoint: Option<&Modeled>) -> Arrival {
    let Some(ep) = endpoint else { return Arrival::Elsewhere };
    match &ep.vnet {
        None if registry.public_ips.contains(&ep.ip) => Arrival::Public,
        None => Arrival::Elsewhere,
        Some(vnet) => private_endpoint(views, registry, vnet, ep.ip).unwrap_or(Arrival::Elsewhere),
    }
}

/// The private endpoint of `registry` holding `ip` in `vnet`, with its connection state.
fn private_endpoint(views: &Views, registry: &Registry, vnet: &str, ip: Ipv4Addr) -> Option<Arrival> {
    let vnet = vnet.to_ascii_lowercase();
    registry.connections.iter().find_map(|conn| {
        let pe = views.endpoint(&conn.endpoint_id)?;
        pe.addresses
            .iter()
            .any(|a| a.ip == ip && a.vnet == vnet)
            .then(|| Arrival::PrivateEndpoint { endpoint_id: conn.endpoint_id.clone(), status: conn.status.clone() })
    })
}

/// Decides whether `client` may use `registry` through `endpoint`.
pub fn decide(store: &Store, registry: &Registry, endpoint: Option<&Modeled>, client: &Modeled) -> Decision {
    let arrival = arrival(&Views::of(store), registry, endpoint);
    let (allowed, reason) = match &arrival {
        Arrival::Elsewhere => (false, Reason::UnknownEndpoint),
        Arrival::PrivateEndpoint { status, .. } if status == "Approved" => (true, Reason::EndpointApproved),
        Arrival::PrivateEndpoint { .. } => (false, Reason::EndpointNotApproved),
        Arrival::Public => public_rules(registry, client.ip),
    };
    Decision { allowed, arrival, reason }
}

fn public_rules(registry: &Registry, client: Ipv4Addr) -> (bool, Reason) {
    if !registry.public_access {
        return (false, Reason::PublicAccessDisabled);
    }
    let Some(allowed) = &registry.allowed_ips else {
        return (true, Reason::PublicAccessEnabled);
    };
    match allowed.iter().find(|c| c.contains(client)) {
        Some(c) => (true, Reason::IpRule(*c)),
        None => (false, Reason::NotInIpRules),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acr::testenv::Env;

    #[test]
    fn public_endpoint_follows_public_access_and_ip_rules() {
        let env = Env::new();
        let reg = env.registry("fwacr01", "Premium", true);
        let login = env.public_ips("fwacr01")[0];
        let data = env.public_ips("fwacr01")[1];
        let me = Modeled::public([20, 50, 0, 7].into());
        let d = decide(&env.store, &reg, Some(&Modeled::public(login)), &me);
        assert_eq!((d.allowed, d.arrival, d.reason), (true, Arrival::Public, Reason::PublicAccessEnabled));
        assert!(decide(&env.store, &reg, Some(&Modeled::public(data)), &me).allowed, "the data address too");

        env.patch_registry("fwacr01", serde_json::json!({"properties": {"networkRuleSet": {"defaultAction": "Deny", "ipRules": [{"action": "Allow", "value": "20.50.0.0/24"}]}}}));
        let reg = env.get_registry("fwacr01");
        let d = decide(&env.store, &reg, Some(&Modeled::public(login)), &me);
        assert_eq!(d.reason, Reason::IpRule(Cidr::parse("20.50.0.0/24").unwrap()));
        let other = Modeled::public([20, 51, 0, 7].into());
        let d = decide(&env.store, &reg, Some(&Modeled::public(login)), &other);
        assert_eq!((d.allowed, d.reason), (false, Reason::NotInIpRules));

        env.patch_registry("fwacr01", serde_json::json!({"properties": {"publicNetworkAccess": "Disabled"}}));
        let reg = env.get_registry("fwacr01");
        let d = decide(&env.store, &reg, Some(&Modeled::public(login)), &me);
        assert_eq!((d.allowed, d.reason), (false, Reason::PublicAccessDisabled));
    }

    #[test]
    fn private_endpoint_needs_an_approved_connection_in_the_same_vnet() {
        let env = Env::new();
        env.vnet("vnet", "10.0.0.0/16", &[("pe", "10.0.2.0/24")]);
        env.registry("fwacr02", "Premium", true);
        env.patch_registry("fwacr02", serde_json::json!({"properties": {"publicNetworkAccess": "Disabled"}}));
        let pe = env.private_endpoint("pe1", "vnet", "pe", "fwacr02", false);
        // The registry as the ACR sees it now: with its endpoint connection.
        let reg = env.get_registry("fwacr02");
        let vnet = env.vnet_key("vnet");
        let client = Modeled::private(&vnet, [10, 0, 1, 4].into());
        let at = |ip: [u8; 4]| Modeled::private(&vnet, ip.into());
        let d = decide(&env.store, &reg, Some(&at([10, 0, 2, 4])), &client);
        assert_eq!(d.reason, Reason::EndpointApproved);
        assert!(
            matches!(d.arrival, Arrival::PrivateEndpoint { ref endpoint_id, .. } if endpoint_id.eq_ignore_ascii_case(&pe))
        );
        assert!(decide(&env.store, &reg, Some(&at([10, 0, 2, 5])), &client).allowed, "the data member's address");
        // The same address in another VNET is not this endpoint.
        let elsewhere = Modeled::private(
            "/subscriptions/x/resourcegroups/y/providers/microsoft.network/virtualnetworks/z",
            [10, 0, 2, 4].into(),
        );
        assert_eq!(decide(&env.store, &reg, Some(&elsewhere), &client).reason, Reason::UnknownEndpoint);
        assert_eq!(decide(&env.store, &reg, Some(&at([10, 0, 2, 9])), &client).reason, Reason::UnknownEndpoint);
        assert_eq!(decide(&env.store, &reg, None, &client).reason, Reason::UnknownEndpoint);
    }

    #[test]
    fn pending_or_rejected_connections_are_denied_until_approved() {
        let env = Env::new();
        env.vnet("vnet", "10.0.0.0/16", &[("pe", "10.0.2.0/24")]);
        env.registry("fwacr03", "Premium", true);
        env.private_endpoint("pe1", "vnet", "pe", "fwacr03", true);
        let reg = env.get_registry("fwacr03");
        let vnet = env.vnet_key("vnet");
        let ep = Modeled::private(&vnet, [10, 0, 2, 4].into());
        let client = Modeled::private(&vnet, [10, 0, 1, 4].into());
        let d = decide(&env.store, &reg, Some(&ep), &client);
        assert_eq!((d.allowed, d.reason), (false, Reason::EndpointNotApproved));
        assert!(matches!(d.arrival, Arrival::PrivateEndpoint { ref status, .. } if status == "Pending"));
        env.set_connection_status("fwacr03", "Approved");
        assert!(decide(&env.store, &env.get_registry("fwacr03"), Some(&ep), &client).allowed);
        env.set_connection_status("fwacr03", "Rejected");
        let d = decide(&env.store, &env.get_registry("fwacr03"), Some(&ep), &client);
        assert_eq!(d.reason, Reason::EndpointNotApproved);
    }

    #[test]
    fn another_registrys_endpoint_is_not_this_registrys() {
        let env = Env::new();
        env.vnet("vnet", "10.0.0.0/16", &[("pe", "10.0.2.0/24")]);
        let mine = env.registry("fwacr04", "Premium", true);
        env.registry("fwacr05", "Premium", true);
        env.private_endpoint("pe-other", "vnet", "pe", "fwacr05", false);
        let vnet = env.vnet_key("vnet");
        let ep = Modeled::private(&vnet, [10, 0, 2, 4].into());
        let d = decide(&env.store, &mine, Some(&ep), &Modeled::private(&vnet, [10, 0, 1, 4].into()));
        assert_eq!((d.allowed, d.reason), (false, Reason::UnknownEndpoint));
        let other_public = env.public_ips("fwacr05")[0];
        let d = decide(&env.store, &mine, Some(&Modeled::public(other_public)), &Modeled::public([1, 2, 3, 4].into()));
        assert_eq!(d.reason, Reason::UnknownEndpoint);
    }
}
