//! Public addresses Azure would allocate at random (a site's outbound addresses, a
//! registry's endpoints, a VNET's default outbound address), derived from the resource
//! ID instead and never handed out twice.

use crate::model::{PRIVATE, Tx};

/// `n` new modeled public addresses for the resource `seed` (its lower-cased ID), none of
/// them already held by another resource: site outbound addresses and every address
/// listed under `_pullsim.publicIps`.
pub(super) fn new_public_ips(tx: &Tx, seed: &str, n: usize) -> Vec<String> {
    let mut taken: std::collections::HashSet<String> = tx
        .filter(|v| v[PRIVATE]["publicIps"].is_array() || v["type"] == "Microsoft.Web/sites")
        .iter()
        .flat_map(|v| {
            let outbound = v["properties"]["possibleOutboundIpAddresses"].as_str().unwrap_or_default();
            let listed = v[PRIVATE]["publicIps"].as_array().cloned().unwrap_or_default();
            outbound
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .chain(listed.iter().filter_map(|i| i.as_str().map(str::to_string)))
                .collect::<Vec<_>>()
        })
        .collect();
    (0..n)
        .map(|i| {
            let ip =
                crate::model::net::public_ip(&format!("{seed}#{i}"), &|ip| taken.contains(&ip.to_string())).to_string();
            taken.insert(ip.clone());
            ip
        })
        .collect()
}
