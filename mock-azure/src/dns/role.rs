//! What a DNS socket is: the one Azure DNS service, a custom DNS server, or a resolver
//! on the internet.

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
    /// A resolver on the internet at this public address (8.8.8.8, …): no resource of
    /// pullsim's, it answers with the public view whoever asks (rule
    /// `dns.public-resolver`).
    PublicResolver(Modeled),
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Role::AzureDns => write!(f, "Azure DNS"),
            Role::Custom(m) => write!(f, "custom DNS {}", m.ip),
            Role::PublicResolver(m) => write!(f, "public resolver {}", m.ip),
        }
    }
}
