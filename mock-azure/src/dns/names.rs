//! Azure's public DNS namespaces as pullsim models them, in one place: which suffixes
//! pullsim answers for, the names of the public chain, and the public TTLs.
//!
//! The public chain of a registry (docs/azure.md C):
//! ```text
//! <reg>.azurecr.io                         CNAME <reg>.privatelink.azurecr.io
//! <reg>.privatelink.azurecr.io             CNAME <reg>.<region>.fe.azcr.io
//! <reg>.<region>.fe.azcr.io                A     <login server public IP>
//! <reg>.<region>.data.azurecr.io           CNAME <reg>.<region>.data.privatelink.azurecr.io
//! <reg>.<region>.data.privatelink.azurecr.io CNAME <reg>.<region>.data.azcr.io
//! <reg>.<region>.data.azcr.io              A     <data endpoint public IP>
//! ```
//! Azure's real frontends are shared per region (`<region>.fe.azcr.io` and friends);
//! pullsim puts the registry's name in the frontend name so the address follows from the
//! name alone, which keeps every answer a function of the store.
//!
//! Azure inserts the `privatelink` CNAME once a registry has private endpoint
//! connections (inferred, not confirmed); pullsim always inserts it, so a private zone
//! record left behind after an endpoint is deleted still decides the answer (docs/azure.md C:
//! a stale link gives NXDOMAIN).

/// Suffixes of the Azure public namespaces pullsim answers. Names under none of them,
/// and in no private DNS zone, get `REFUSED`.
pub const AZURE_SUFFIXES: [&str; 3] = ["azurecr.io", "azcr.io", "azurewebsites.net"];

/// TTL of every public record pullsim makes up. Azure's real TTLs vary per record and
/// come decremented from its resolver cache; one short value keeps a caching client in
/// step with ARM changes within a minute.
pub const PUBLIC_TTL: u32 = 60;

/// Negative-caching TTL (SOA minimum) of the public zones.
pub const PUBLIC_NEGATIVE_TTL: u32 = 60;

/// SOA primary name server of the public zones (Azure DNS hosts them).
pub const PUBLIC_SOA_MNAME: &str = "ns1-01.azure-dns.com";

/// SOA responsible mailbox of the public zones.
pub const PUBLIC_SOA_RNAME: &str = "azuredns-hostmaster.microsoft.com";

/// The ACR public suffix.
pub const ACR_SUFFIX: &str = "azurecr.io";

/// The ACR private-link zone.
pub const ACR_PRIVATELINK: &str = "privatelink.azurecr.io";

/// The ACR frontend suffix.
pub const ACR_FRONTEND_SUFFIX: &str = "azcr.io";

/// The App Service public suffix.
pub const WEB_SUFFIX: &str = "azurewebsites.net";

/// `<reg>.azurecr.io`.
pub fn login_server(registry: &str) -> String {
    format!("{registry}.{ACR_SUFFIX}")
}

/// `<reg>.privatelink.azurecr.io`.
pub fn login_privatelink(registry: &str) -> String {
    format!("{registry}.{ACR_PRIVATELINK}")
}

/// `<reg>.<region>.fe.azcr.io`: the login server's public frontend.
pub fn login_frontend(registry: &str, region: &str) -> String {
    format!("{registry}.{region}.fe.{ACR_FRONTEND_SUFFIX}")
}

/// `<reg>.<region>.data.azurecr.io`: the data endpoint.
pub fn data_endpoint(registry: &str, region: &str) -> String {
    format!("{registry}.{region}.data.{ACR_SUFFIX}")
}

/// `<reg>.<region>.data.privatelink.azurecr.io`.
pub fn data_privatelink(registry: &str, region: &str) -> String {
    format!("{registry}.{region}.data.{ACR_PRIVATELINK}")
}

/// `<reg>.<region>.data.azcr.io`: the data endpoint's public frontend.
pub fn data_frontend(registry: &str, region: &str) -> String {
    format!("{registry}.{region}.data.{ACR_FRONTEND_SUFFIX}")
}

/// Whether `name` is `zone` or inside it (both lower-case, no trailing dot).
pub fn in_zone(name: &str, zone: &str) -> bool {
    name == zone || relative(name, zone).is_some()
}

/// The part of `name` before `.zone` (`None` when `name` is not strictly inside it).
pub fn relative<'a>(name: &'a str, zone: &str) -> Option<&'a str> {
    name.strip_suffix(zone)?.strip_suffix('.')
}

/// The Azure public suffix `name` falls under, if any.
pub fn azure_suffix(name: &str) -> Option<&'static str> {
    AZURE_SUFFIXES.iter().copied().find(|s| in_zone(name, s))
}

/// A DNS name: dot-separated labels (1–63 characters) of letters, digits, `-` and `_`,
/// at most 253 characters, as Azure DNS takes them (a final dot allowed).
pub fn valid_dns_name(name: &str) -> bool {
    let name = name.trim_end_matches('.');
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_membership_is_by_whole_labels() {
        assert!(in_zone("reg.azurecr.io", "azurecr.io"));
        assert!(in_zone("azurecr.io", "azurecr.io"));
        assert!(!in_zone("evilazurecr.io", "azurecr.io"));
        assert_eq!(relative("reg.westeurope.data.azurecr.io", "azurecr.io"), Some("reg.westeurope.data"));
        assert_eq!(relative("azurecr.io", "azurecr.io"), None);
        assert_eq!(azure_suffix("x.fe.azcr.io"), Some("azcr.io"));
        assert_eq!(azure_suffix("example.com"), None);
    }
}
