//! What a DNS socket is: the one Azure DNS service, or a custom DNS server.

use crate::netplan::Modeled;

/// What a DNS socket is: the one Azure DNS service, or a custom DNS server at a modeled
/// address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Azure DNS (modeled address 168.63.129.16): one service whose answers depend on
    /// the VNET the query comes from.
    AzureDns,
    /// A custom DNS server (a VM or appliance in a VNET) at this modeled address; what it
    /// does is read from its `Pullsim.Dns/customServers` resource at query time.
    Custom(Modeled),
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Role::AzureDns => write!(f, "Azure DNS"),
            Role::Custom(m) => write!(f, "custom DNS {}", m.ip),
        }
    }
}
