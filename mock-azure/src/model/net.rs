//! IPv4 prefixes and the deterministic values Azure derives for resources (addresses,
//! GUIDs), computed from the resource ID so the same scenario always gets the same ones.

use std::net::Ipv4Addr;

/// An IPv4 prefix such as `10.0.1.0/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    /// The network address (host bits cleared).
    pub addr: Ipv4Addr,
    /// Prefix length, 0..=32.
    pub len: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`; a bare address is a /32. Host bits must be zero, as Azure requires
    /// for address prefixes.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, l.parse::<u8>().ok()?),
            None => (s, 32),
        };
        let addr: Ipv4Addr = a.parse().ok()?;
        if l > 32 {
            return None;
        }
        let c = Cidr { addr, len: l };
        (u32::from(addr) & !c.mask() == 0).then_some(c)
    }

    /// Like [`Cidr::parse`] but clears host bits instead of refusing them (ACR IP rules
    /// accept `1.2.3.4/24`).
    pub fn parse_lenient(s: &str) -> Option<Cidr> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, l.parse::<u8>().ok()?),
            None => (s, 32),
        };
        let addr: Ipv4Addr = a.parse().ok()?;
        if l > 32 {
            return None;
        }
        let mut c = Cidr { addr, len: l };
        c.addr = Ipv4Addr::from(u32::from(addr) & c.mask());
        Some(c)
    }

    fn mask(&self) -> u32 {
        if self.len == 0 { 0 } else { u32::MAX << (32 - self.len) }
    }

    /// Number of addresses in the prefix.
    pub fn size(&self) -> u64 {
        1u64 << (32 - self.len)
    }

    /// Whether `ip` is inside the prefix.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.addr)
    }

    /// Whether `other` lies entirely inside this prefix.
    pub fn covers(&self, other: &Cidr) -> bool {
        other.len >= self.len && self.contains(other.addr)
    }

    /// Whether the two prefixes share any address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.covers(other) || other.covers(self)
    }

    /// The `n`-th address of the prefix, if inside it.
    pub fn nth(&self, n: u64) -> Option<Ipv4Addr> {
        (n < self.size()).then(|| Ipv4Addr::from(u32::from(self.addr).wrapping_add(n as u32)))
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// The ACR admin user's password `which` (`password`, `password2`) of the registry with
/// this lower-cased ID at this generation (regenerating moves the generation): derived,
/// not random, so the same configuration gives the same trace.
pub fn admin_password(registry_key: &str, which: &str, generation: u64) -> String {
    let d = digest(&["acr-admin-password", registry_key, which, &generation.to_string()]);
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    d.iter().chain(d.iter().rev()).take(52).map(|b| alphabet[(*b as usize) % 64] as char).collect()
}

/// SHA-256 of the parts joined by `\n`.
pub fn digest(parts: &[&str]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            ctx.update(b"\n");
        }
        ctx.update(p.as_bytes());
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// A GUID derived from the parts (version-4 layout), stable across runs.
pub fn guid(parts: &[&str]) -> String {
    let d = digest(parts);
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid_text(&b)
}

/// 16 bytes as a GUID's text (`8-4-4-4-12` lower-case hex digits), written digit by
/// digit: ARM stamps every response with one (issue 8's profile).
pub fn uuid_text(b: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(HEX[usize::from(x >> 4)] as char);
        out.push(HEX[usize::from(x & 0xf)] as char);
    }
    out
}

/// A modeled public address in 20.0.0.0/8 (Azure's public range in these scenarios),
/// derived from `seed`; `taken` is consulted so two resources never share one.
pub fn public_ip(seed: &str, taken: &dyn Fn(Ipv4Addr) -> bool) -> Ipv4Addr {
    for attempt in 0u32.. {
        let d = digest(&[seed, &attempt.to_string()]);
        let ip = Ipv4Addr::new(20, d[0], d[1], 1 + d[2] % 254);
        if !taken(ip) {
            return ip;
        }
    }
    unreachable!("2^24 public addresses cannot all be taken")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_contain_and_overlap() {
        let vnet = Cidr::parse("10.0.0.0/16").unwrap();
        let a = Cidr::parse("10.0.1.0/24").unwrap();
        let b = Cidr::parse("10.0.1.128/25").unwrap();
        assert!(vnet.covers(&a) && a.overlaps(&b) && !a.overlaps(&Cidr::parse("10.0.2.0/24").unwrap()));
        assert_eq!(a.nth(4), Some("10.0.1.4".parse().unwrap()));
        assert!(Cidr::parse("10.0.1.1/24").is_none(), "host bits set");
        assert_eq!(Cidr::parse_lenient("10.0.1.1/24"), Some(a));
    }

    #[test]
    fn guids_are_stable_and_well_formed() {
        assert_eq!(guid(&["a"]), guid(&["a"]));
        assert_ne!(guid(&["a"]), guid(&["b"]));
        assert_eq!(guid(&["a"]).len(), 36);
    }
}
