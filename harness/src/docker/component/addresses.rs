//! The addresses a component stands at: the [`AddressPlan`] every side computes, plus
//! the configuration of this container's interfaces. A modeled address a component sends
//! from or listens on is put on its interface when first used ([`AddressMap::local`])
//! with `ip addr add` (the container runs with `NET_ADMIN`), and removed when the
//! environment is reset for the next scenario.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;

use mock_azure::netplan::{AddressMap, Modeled};

use crate::docker::protocol::layout::{AddressPlan, Host, NOWHERE, Net16};
use crate::docker::protocol::state::IP_BINARY;

/// The address plan, configuring on this container's interfaces what it uses.
pub struct ConfiguringMap {
    /// The plan (shared with the host).
    pub plan: AddressPlan,
    configured: Mutex<BTreeSet<Ipv4Addr>>,
}

impl ConfiguringMap {
    /// Configures addresses of `plan` as they are used.
    pub fn new(plan: AddressPlan) -> ConfiguringMap {
        ConfiguringMap { plan, configured: Mutex::new(BTreeSet::new()) }
    }

    /// Puts `ip` on the interface of the network holding it (once).
    fn configure(&self, ip: Ipv4Addr) -> std::io::Result<()> {
        let mut done = self.configured.lock().unwrap_or_else(|e| e.into_inner());
        if done.contains(&ip) {
            return Ok(());
        }
        let (ifname, len) = iface_for(ip)?;
        ip_cmd(&["addr", "add", &format!("{ip}/{len}"), "dev", &ifname])?;
        done.insert(ip);
        Ok(())
    }

    /// Removes every address [`AddressMap::local`] configured and forgets the neighbours
    /// this container knew (the next scenario may put an address on another container).
    pub fn unconfigure_all(&self) -> std::io::Result<()> {
        let mut done = self.configured.lock().unwrap_or_else(|e| e.into_inner());
        for ip in std::mem::take(&mut *done) {
            if let Ok((ifname, len)) = iface_for(ip) {
                ip_cmd(&["addr", "del", &format!("{ip}/{len}"), "dev", &ifname])?;
            }
        }
        ip_cmd(&["neigh", "flush", "all"])
    }
}

impl AddressMap for ConfiguringMap {
    fn real(&self, m: &Modeled) -> IpAddr {
        self.plan.real(m)
    }

    fn modeled(&self, real: IpAddr) -> Option<Modeled> {
        self.plan.modeled(real)
    }

    fn local(&self, m: &Modeled) -> std::io::Result<IpAddr> {
        let real = self.plan.real(m);
        if let IpAddr::V4(ip) = real
            && ip != NOWHERE
        {
            self.configure(ip)?;
        }
        Ok(real)
    }

    fn real_from(&self, from: &Modeled, to: &Modeled) -> IpAddr {
        self.plan.real_from(from, to)
    }
}

/// Runs `ip ARGS…` (iproute2, copied into the component image).
fn ip_cmd(args: &[&str]) -> std::io::Result<()> {
    let out = std::process::Command::new(IP_BINARY).args(args).output()?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    // Adding what is there, or deleting what is gone, is done.
    if err.contains("File exists") || err.contains("Cannot assign requested address") {
        return Ok(());
    }
    Err(std::io::Error::other(format!("ip {}: {}", args.join(" "), err.trim())))
}

/// The interface on whose network `ip` is, and the network's prefix length.
fn iface_for(ip: Ipv4Addr) -> std::io::Result<(String, u8)> {
    for (name, own, len) in interface_addresses()? {
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len.min(32))) };
        if u32::from(own) & mask == u32::from(ip) & mask {
            return Ok((name, len));
        }
    }
    Err(std::io::Error::other(format!("no interface of this container is on the network of {ip}")))
}

/// Every address on this container's interfaces that is a component's own
/// ([`Host`]) — the networks it is attached to, as `(network, own address)`.
pub fn own_addresses(host: Host) -> std::io::Result<Vec<(Net16, Ipv4Addr)>> {
    Ok(interface_addresses()?
        .into_iter()
        .filter_map(|(_, addr, _)| {
            let o = addr.octets();
            let net = Net16([o[0], o[1]]);
            (addr == net.host(host)).then_some((net, addr))
        })
        .collect())
}

/// This container's IPv4 addresses as `ip -o -4 addr show` lists them: (interface,
/// address, prefix length), primaries first on each interface.
fn interface_addresses() -> std::io::Result<Vec<(String, Ipv4Addr, u8)>> {
    let out = std::process::Command::new(IP_BINARY).args(["-o", "-4", "addr", "show"]).output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.lines().filter_map(parse_addr_line).collect())
}

/// One line of `ip -o -4 addr show`: `2: eth0    inet 10.200.255.251/16 brd … scope global eth0`.
fn parse_addr_line(line: &str) -> Option<(String, Ipv4Addr, u8)> {
    let mut f = line.split_whitespace();
    let (Some(_), Some(name), Some("inet"), Some(addr)) = (f.next(), f.next(), f.next(), f.next()) else {
        return None;
    };
    let (own, len) = addr.split_once('/')?;
    Some((name.trim_end_matches(':').to_string(), own.parse().ok()?, len.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_addr_lines_give_interface_address_and_prefix() {
        let line = "2: eth0    inet 10.200.255.251/16 brd 10.200.255.255 scope global eth0\\       valid_lft forever";
        assert_eq!(parse_addr_line(line), Some(("eth0".to_string(), Ipv4Addr::new(10, 200, 255, 251), 16)));
        assert_eq!(parse_addr_line("1: lo    inet6 ::1/128 scope host"), None);
    }
}
