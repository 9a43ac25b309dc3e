//! The registry section: `[registry]` / `[[registry]]` and the images pushed into it.
//! Repository names and tags follow the OCI rules of the fake ACR (`mock_azure::acr::oci`),
//! so an image the loader accepts is one the registry takes.

use mock_azure::acr::oci;
use mock_azure::model::net::Cidr;

use super::walker::{Seen, Walker};
use crate::scenario::model::*;
use crate::scenario::tree::Node;

impl Walker<'_> {
    pub(super) fn registry(&mut self, n: &Node, seen: &mut Seen) -> Option<Registry> {
        let mut t = self.table(n, "[registry]")?;
        let (name, at) = self.req_str(&mut t, "name");
        self.unique(seen, &name, at, "registry");
        let location = self.str(&mut t, "location");
        let sku = match t.has("sku") {
            true => self.word(&mut t, "sku", AcrSku::parse, &AcrSku::words()).unwrap_or(AcrSku::Premium),
            false => {
                t.allow("sku");
                self.missing(&t, "sku");
                AcrSku::Premium
            }
        };
        let admin_user = self.bool(&mut t, "admin_user").unwrap_or(false);
        let public_network_access = self
            .word(&mut t, "public_network_access", PublicNetworkAccess::parse, &PublicNetworkAccess::words())
            .unwrap_or(PublicNetworkAccess::Enabled);
        let default_action = self
            .word(&mut t, "default_action", DefaultAction::parse, &DefaultAction::words())
            .unwrap_or(DefaultAction::Allow);
        let mut ip_rules = Vec::new();
        for (s, sat) in self.str_list(&mut t, "ip_rules").unwrap_or_default() {
            if Cidr::parse_lenient(&s).is_some() {
                ip_rules.push(s);
            } else {
                self.err(sat, format!("'ip_rules' in [registry]: '{s}' is not an IPv4 address or prefix"));
            }
        }
        let network_rule_bypass =
            self.word(&mut t, "network_rule_bypass", NetworkRuleBypass::parse, &NetworkRuleBypass::words());
        let data_endpoint = self.bool(&mut t, "data_endpoint").unwrap_or(false);
        let anonymous_pull = self.bool(&mut t, "anonymous_pull").unwrap_or(false);
        let mut images = Vec::new();
        let mut seen_images = Seen::default();
        for inode in self.tables(&mut t, "images") {
            if let Some(i) = self.image(inode, &mut seen_images) {
                images.push(i);
            }
        }
        self.finish(t);
        Some(Registry {
            name,
            location,
            sku,
            admin_user,
            public_network_access,
            default_action,
            ip_rules,
            network_rule_bypass,
            data_endpoint,
            anonymous_pull,
            images,
        })
    }

    pub(super) fn image(&mut self, n: &Node, seen: &mut Seen) -> Option<ImageSpec> {
        let mut t = self.table(n, "[registry].images")?;
        let (repo, rat) = self.req_str(&mut t, "repo");
        if !repo.is_empty() && oci::RepoName::parse(&repo).is_none() {
            self.err(
                rat,
                format!("'repo' in [registry].images: '{repo}' is not a repository name (lower-case path components)"),
            );
        }
        let tag = match self.str_node(&mut t, "tag") {
            Some((tag, tat)) => {
                if !oci::valid_tag(&tag) {
                    self.err(tat, format!("'tag' in [registry].images: '{tag}' is not a valid tag"));
                }
                tag
            }
            None => "latest".to_string(),
        };
        self.unique(seen, &format!("{repo}:{tag}"), rat, "image");
        let layers = self.uint(&mut t, "layers", 1, 64).unwrap_or(1) as u32;
        let layer_size = self.uint(&mut t, "layer_size", 1, 64 << 20).unwrap_or(1024);
        let seed = self.uint(&mut t, "seed", 0, i64::MAX as u64).unwrap_or(0);
        let schema1 = self.bool(&mut t, "schema1").unwrap_or(false);
        let mut platforms = Vec::new();
        let plat_at = n.get("platforms").map(|p| p.at);
        for (p, pat) in self.str_list(&mut t, "platforms").unwrap_or_default() {
            let parts: Vec<&str> = p.split('/').collect();
            if !(2..=3).contains(&parts.len()) || parts.iter().any(|s| s.is_empty()) {
                self.err(pat, format!("'platforms' in [registry].images: '{p}' is not os/arch[/variant]"));
            }
            platforms.push(p);
        }
        if schema1 && !platforms.is_empty() {
            self.err(plat_at.unwrap_or(n.at), "a schema 1 image cannot have platforms (schema 1 has no index)");
        }
        self.finish(t);
        Some(ImageSpec { repo, tag, layers, layer_size, seed, schema1, platforms })
    }
}
