//! The network sections: `[[vnet]]` (subnets, peerings), `[[private_endpoint]]`,
//! `[[private_dns_zone]]` (links, records) and `[[custom_dns]]`.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use mock_azure::dns::valid_dns_name;
use mock_azure::model::net::Cidr;
use mock_azure::netplan::AZURE_DNS;

use super::refs::Ref;
use super::walker::{Seen, Tbl, Walker};
use crate::scenario::model::*;
use crate::scenario::tree::{At, Node};

impl Walker<'_> {
    pub(super) fn vnet(&mut self, n: &Node, seen: &mut Seen) -> Option<Vnet> {
        let mut t = self.table(n, "[[vnet]]")?;
        let (name, at) = self.req_str(&mut t, "name");
        self.unique(seen, &name, at, "vnet");
        let location = self.str(&mut t, "location");
        let mut space = Vec::new();
        match self.str_list(&mut t, "address_space") {
            Some(list) if list.is_empty() => {
                self.err(
                    n.get("address_space").map(|x| x.at).unwrap_or(n.at),
                    "'address_space' in [[vnet]] must not be empty",
                );
            }
            Some(list) => {
                for (s, at) in list {
                    if let Some(c) = self.cidr(&s, at, "'address_space' in [[vnet]]") {
                        space.push(c);
                    }
                }
            }
            None => {
                if !t.has("address_space") {
                    self.missing(&t, "address_space");
                }
            }
        }
        let mut dns_servers = Vec::new();
        for (s, at) in self.str_list(&mut t, "dns_servers").unwrap_or_default() {
            if let Some(ip) = self.ipv4(&s, at, "'dns_servers' in [[vnet]]") {
                dns_servers.push(ip);
            }
        }
        let subnets = self.subnets(&mut t, &name, &space);
        let peerings = self.peerings(&mut t, &name);
        self.finish(t);
        Some(Vnet { name, location, address_space: space, dns_servers, subnets, peerings })
    }

    /// `subnets` of a VNET: unique names, prefixes inside the address space, no overlaps.
    fn subnets(&mut self, t: &mut Tbl<'_>, name: &str, space: &[Cidr]) -> Vec<Subnet> {
        let mut subnets: Vec<Subnet> = Vec::new();
        let mut seen_subnets = Seen::default();
        let mut prefixes = Prefixes::default();
        for sn in self.tables(t, "subnets") {
            let Some(mut st) = self.table(sn, "[[vnet]].subnets") else { continue };
            let (sname, sat) = self.req_str(&mut st, "name");
            self.unique(&mut seen_subnets, &sname, sat, &format!("subnet of vnet '{name}'"));
            let (p, pat) = self.req_str(&mut st, "prefix");
            let prefix = if p.is_empty() { None } else { self.cidr(&p, pat, "'prefix' in [[vnet]].subnets") };
            let delegation = self.str(&mut st, "delegation");
            self.finish(st);
            if let Some(prefix) = prefix {
                if !space.is_empty() && !space.iter().any(|c| c.covers(&prefix)) {
                    let spaces: Vec<String> = space.iter().map(|c| c.to_string()).collect();
                    self.err(
                        pat,
                        format!(
                            "subnet '{sname}' ({prefix}) is outside the address space of vnet '{name}' ({})",
                            spaces.join(", ")
                        ),
                    );
                } else if let Some(other) = prefixes.first_overlapping(prefix) {
                    self.err(pat, format!("subnet '{sname}' ({prefix}) overlaps subnet '{other}' of vnet '{name}'"));
                }
                prefixes.push(&sname, prefix);
            }
            // Kept even with a bad prefix, so references to it do not fail too.
            let prefix = prefix.unwrap_or(Cidr { addr: Ipv4Addr::UNSPECIFIED, len: 32 });
            subnets.push(Subnet { name: sname, prefix, delegation });
        }
        subnets
    }

    /// `peerings` of a VNET, each to another VNET of the scenario.
    fn peerings(&mut self, t: &mut Tbl<'_>, name: &str) -> Vec<Peering> {
        let mut peerings = Vec::new();
        let mut seen_peerings = Seen::default();
        for pn in self.tables(t, "peerings") {
            let Some(mut pt) = self.table(pn, "[[vnet]].peerings") else { continue };
            let (pname, pat) = self.req_str(&mut pt, "name");
            self.unique(&mut seen_peerings, &pname, pat, &format!("peering of vnet '{name}'"));
            let (remote, rat) = self.req_str(&mut pt, "remote");
            if !remote.is_empty() {
                if remote == name {
                    self.err(rat, format!("vnet '{name}' cannot be peered with itself"));
                }
                self.refs.push(Ref::Vnet {
                    name: remote.clone(),
                    at: rat,
                    place: "'remote' of [[vnet]].peerings".into(),
                });
            }
            let bidirectional = self.bool(&mut pt, "bidirectional").unwrap_or(false);
            self.finish(pt);
            peerings.push(Peering { name: pname, remote, bidirectional });
        }
        peerings
    }

    pub(super) fn endpoint(&mut self, n: &Node, seen: &mut Seen) -> Option<PrivateEndpoint> {
        let mut t = self.table(n, "[[private_endpoint]]")?;
        let (name, at) = self.req_str(&mut t, "name");
        self.unique(seen, &name, at, "private endpoint");
        let (s, sat) = self.req_str(&mut t, "subnet");
        let subnet = if s.is_empty() {
            SubnetRef { vnet: String::new(), subnet: String::new() }
        } else {
            self.subnet_ref(&s, sat, "'subnet' in [[private_endpoint]]")
        };
        let (target, tat) = self.req_str(&mut t, "target");
        let mut registry = String::new();
        if !target.is_empty()
            && let Some(r) = self.prefixed(&target, "registry", tat, "'target' in [[private_endpoint]]")
        {
            registry = r.to_string();
            self.refs.push(Ref::Registry {
                name: registry.clone(),
                at: tat,
                place: "'target' of [[private_endpoint]]".into(),
            });
        }
        let mut zones = Vec::new();
        for (z, zat) in self.str_or_list(&mut t, "dns_zone_group").unwrap_or_default() {
            self.refs.push(Ref::Zone {
                name: z.clone(),
                at: zat,
                place: "'dns_zone_group' of [[private_endpoint]]".into(),
            });
            zones.push(z);
        }
        if zones.len() > 5 {
            let at = n.get("dns_zone_group").map(|x| x.at).unwrap_or(n.at);
            self.err(at, "'dns_zone_group' in [[private_endpoint]] names at most 5 zones");
        }
        let manual_approval = self.bool(&mut t, "manual_approval").unwrap_or(false);
        self.finish(t);
        Some(PrivateEndpoint { name, subnet, registry, dns_zone_group: zones, manual_approval })
    }

    pub(super) fn zone(&mut self, n: &Node, seen: &mut Seen) -> Option<PrivateDnsZone> {
        let mut t = self.table(n, "[[private_dns_zone]]")?;
        let (name, at) = self.req_str(&mut t, "name");
        self.unique(seen, &name, at, "private DNS zone");
        if !name.is_empty() && !valid_dns_name(&name) {
            self.err(at, format!("'name' in [[private_dns_zone]]: '{name}' is not a DNS name"));
        }
        let mut links = Vec::new();
        let mut seen_links = Seen::default();
        let mut linked_vnets = Seen::default();
        for ln in self.tables(&mut t, "links") {
            let Some(mut lt) = self.table(ln, "[[private_dns_zone]].links") else { continue };
            let (lname, lat) = self.req_str(&mut lt, "name");
            self.unique(&mut seen_links, &lname, lat, &format!("link of zone '{name}'"));
            let (vnet, vat) = self.req_str(&mut lt, "vnet");
            if !vnet.is_empty() {
                self.refs.push(Ref::Vnet {
                    name: vnet.clone(),
                    at: vat,
                    place: "'vnet' of [[private_dns_zone]].links".into(),
                });
                self.unique(&mut linked_vnets, &vnet, vat, &format!("link of zone '{name}' to vnet"));
            }
            let registration = self.bool(&mut lt, "registration").unwrap_or(false);
            let resolution_policy =
                self.word(&mut lt, "resolution_policy", ResolutionPolicy::parse, &ResolutionPolicy::words());
            self.finish(lt);
            links.push(ZoneLink { name: lname, vnet, registration, resolution_policy });
        }
        let mut records = Vec::new();
        let mut seen_records = Seen::default();
        for rn in self.tables(&mut t, "records") {
            let Some(mut rt) = self.table(rn, "[[private_dns_zone]].records") else { continue };
            let (rname, rat) = self.req_str(&mut rt, "name");
            let rtype = match rt.has("type") {
                true => self.word(&mut rt, "type", RecordType::parse, &RecordType::words()),
                false => {
                    rt.allow("type");
                    self.missing(&rt, "type");
                    None
                }
            };
            let ttl = self.uint(&mut rt, "ttl", 0, 2_147_483_647).unwrap_or(3600) as u32;
            let values = match self.str_list(&mut rt, "values") {
                Some(v) => v,
                None => {
                    if !rt.has("values") {
                        self.missing(&rt, "values");
                    }
                    Vec::new()
                }
            };
            if let Some(rtype) = rtype {
                self.unique(&mut seen_records, &format!("{rname} {rtype}"), rat, "record set");
                self.record_values(rtype, &values, rn.at);
                records.push(Record { name: rname, rtype, ttl, values: values.into_iter().map(|(v, _)| v).collect() });
            }
            self.finish(rt);
        }
        self.finish(t);
        Some(PrivateDnsZone { name, links, records })
    }

    pub(super) fn record_values(&mut self, rtype: RecordType, values: &[(String, At)], at: At) {
        if values.is_empty() {
            self.err(at, format!("a {rtype} record set needs at least one value"));
        }
        for (v, vat) in values {
            let ok = match rtype {
                RecordType::A => v.parse::<Ipv4Addr>().is_ok(),
                RecordType::Aaaa => v.parse::<std::net::Ipv6Addr>().is_ok(),
                RecordType::Cname | RecordType::Ptr => valid_dns_name(v),
                RecordType::Txt => true,
            };
            if !ok {
                let what = match rtype {
                    RecordType::A => "an IPv4 address",
                    RecordType::Aaaa => "an IPv6 address",
                    _ => "a DNS name",
                };
                self.err(*vat, format!("a {rtype} record value must be {what}, found '{v}'"));
            }
        }
        if matches!(rtype, RecordType::Cname) && values.len() > 1 {
            self.err(at, "a CNAME record set holds exactly one value");
        }
    }

    pub(super) fn custom_dns(&mut self, n: &Node, seen: &mut Seen) -> Option<CustomDns> {
        let mut t = self.table(n, "[[custom_dns]]")?;
        let (name, at) = self.req_str(&mut t, "name");
        self.unique(seen, &name, at, "custom DNS server");
        // Without a VNET, a server on the internet (a public resolver the scenario
        // declares, rule dns.public-resolver): its address must then be public.
        let (vnet, vat) = match self.str_node(&mut t, "vnet") {
            Some(x) => x,
            None => (String::new(), t.at()),
        };
        if !vnet.is_empty() {
            self.refs.push(Ref::Vnet { name: vnet.clone(), at: vat, place: "'vnet' of [[custom_dns]]".into() });
        }
        let (a, aat) = self.req_str(&mut t, "address");
        let address = if a.is_empty() { None } else { self.ipv4(&a, aat, "'address' in [[custom_dns]]") };
        if let Some(ip) = address
            && vnet.is_empty()
            && ip.is_private()
        {
            self.err(aat, format!("custom DNS server '{name}' has no 'vnet', so it is on the internet: its address {ip} must be public"));
        }
        if let Some(ip) = address
            && !vnet.is_empty()
        {
            self.refs.push(Ref::AddressInVnet {
                vnet: vnet.clone(),
                ip,
                at: aat,
                place: format!("custom DNS server '{name}'"),
            });
        }
        let upstream = self.word(&mut t, "upstream", Upstream::parse, &Upstream::words()).unwrap_or(Upstream::AzureDns);
        let mut forwarders = Vec::new();
        for fnode in self.tables(&mut t, "forwarders") {
            let Some(mut ft) = self.table(fnode, "[[custom_dns]].forwarders") else { continue };
            let (zone, zat) = self.req_str(&mut ft, "zone");
            if !zone.is_empty() && !valid_dns_name(&zone) {
                self.err(zat, format!("'zone' in [[custom_dns]].forwarders: '{zone}' is not a DNS name"));
            }
            let mut targets = Vec::new();
            match self.str_list(&mut ft, "targets") {
                Some(list) => {
                    if list.is_empty() {
                        self.err(fnode.at, "a forwarder needs at least one target");
                    }
                    for (s, sat) in list {
                        if s == "AzureDns" {
                            targets.push(AZURE_DNS);
                        } else if let Some(ip) =
                            self.ipv4(&s, sat, "'targets' in [[custom_dns]].forwarders (or \"AzureDns\")")
                        {
                            targets.push(ip);
                        }
                    }
                }
                None => {
                    if !ft.has("targets") {
                        self.missing(&ft, "targets");
                    }
                }
            }
            self.finish(ft);
            forwarders.push(Forwarder { zone, targets });
        }
        self.finish(t);
        Some(CustomDns { name, vnet, address: address.unwrap_or(Ipv4Addr::UNSPECIFIED), upstream, forwarders })
    }
}

/// A VNET's subnet prefixes so far, indexed so that the first one overlapping a new
/// prefix is found in constant time (a VNET may have thousands of subnets). Two prefixes
/// overlap when one holds the other, so the earlier ones overlapping `p` are those equal
/// to one of `p`'s (at most 33) enclosing prefixes, and those strictly inside `p`.
#[derive(Default)]
struct Prefixes {
    names: Vec<String>,
    /// Each prefix → the first subnet that has it.
    exact: HashMap<(u32, u8), usize>,
    /// Each prefix → the first subnet strictly inside it.
    inside: HashMap<(u32, u8), usize>,
}

/// `c`'s enclosing prefix of length `len` (at most `c.len`).
fn enclosing(c: Cidr, len: u8) -> (u32, u8) {
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) };
    (u32::from(c.addr) & mask, len)
}

impl Prefixes {
    /// The name of the first subnet so far that overlaps `p`.
    fn first_overlapping(&self, p: Cidr) -> Option<&str> {
        let holding = (0..=p.len).filter_map(|len| self.exact.get(&enclosing(p, len)));
        let held = self.inside.get(&enclosing(p, p.len));
        let first = holding.chain(held).min()?;
        self.names.get(*first).map(String::as_str)
    }

    fn push(&mut self, name: &str, p: Cidr) {
        let i = self.names.len();
        self.names.push(name.to_string());
        self.exact.entry(enclosing(p, p.len)).or_insert(i);
        for len in 0..p.len {
            self.inside.entry(enclosing(p, len)).or_insert(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Cidr {
        Cidr::parse(s).unwrap_or_else(|| panic!("{s}"))
    }

    #[test]
    fn the_first_overlapping_subnet_is_found_whether_it_holds_or_is_inside_the_new_one() {
        let mut p = Prefixes::default();
        p.push("a", cidr("10.0.1.0/24"));
        p.push("b", cidr("10.0.2.0/25"));
        p.push("c", cidr("10.0.2.0/24"));
        assert_eq!(p.first_overlapping(cidr("10.0.3.0/24")), None);
        assert_eq!(p.first_overlapping(cidr("10.0.1.128/25")), Some("a"), "held by a");
        assert_eq!(p.first_overlapping(cidr("10.0.1.0/24")), Some("a"), "equal to a");
        assert_eq!(p.first_overlapping(cidr("10.0.0.0/16")), Some("a"), "holds a, b and c: a is first");
        assert_eq!(p.first_overlapping(cidr("10.0.2.0/26")), Some("b"), "inside b and c: b is first");
        assert_eq!(p.first_overlapping(cidr("10.0.2.128/25")), Some("c"));
        assert_eq!(p.first_overlapping(cidr("0.0.0.0/0")), Some("a"));
    }
}
