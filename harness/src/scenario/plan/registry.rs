//! The registries' requests, as a user runs them: create (`az acr create`), push the
//! images, then lock the registry down (`az acr update`).

use serde_json::{Map, Value, json};

use super::{Plan, PlanStep};
use crate::scenario::model::*;

impl Plan<'_> {
    /// Every registry; returns those whose admin user is switched off only after the
    /// site's credentials were configured (see [`Plan::site`]).
    pub(super) fn registries(&mut self) -> Vec<String> {
        let admin_needed: Vec<String> = match &self.t.site {
            Some(site) if site.credentials == Credentials::Admin => site.image_registry().into_iter().collect(),
            _ => Vec::new(),
        };
        let mut admin_off_later = Vec::new();
        for r in &self.t.registries {
            // Credentials configured while the admin user was on, then it was switched off:
            // the realistic way a site ends up with credentials of a disabled admin user.
            let needs_admin = admin_needed.iter().any(|n| n.eq_ignore_ascii_case(&r.name));
            if needs_admin && !r.admin_user {
                admin_off_later.push(r.name.clone());
            }
            self.registry(r, needs_admin);
        }
        admin_off_later
    }

    fn registry(&mut self, r: &Registry, needs_admin: bool) {
        let mut props = json!({"adminUserEnabled": r.admin_user || needs_admin});
        if r.data_endpoint {
            props["dataEndpointEnabled"] = json!(true);
        }
        if r.anonymous_pull {
            props["anonymousPullEnabled"] = json!(true);
        }
        let body =
            json!({"location": self.t.registry_location(r), "sku": {"name": r.sku.as_str()}, "properties": props});
        self.call("PUT", self.ids.registry(&r.name), Some(body), format!("create registry {} ({})", r.name, r.sku));
        if !r.images.is_empty() {
            self.out.push(PlanStep::PushImages {
                registry: r.name.clone(),
                login_server: r.login_server(),
                images: r.images.clone(),
            });
        }
        let lock = lock_down(r);
        if !lock.is_empty() {
            let keys: Vec<&str> = lock.keys().map(String::as_str).collect();
            let what = format!("update registry {} ({})", r.name, keys.join(", "));
            self.call("PATCH", self.ids.registry(&r.name), Some(json!({"properties": lock})), what);
        }
    }
}

/// The network properties a registry gets once its images are in.
fn lock_down(r: &Registry) -> Map<String, Value> {
    let mut lock = Map::new();
    if r.public_network_access == PublicNetworkAccess::Disabled {
        lock.insert("publicNetworkAccess".into(), json!("Disabled"));
    }
    if r.default_action == DefaultAction::Deny || !r.ip_rules.is_empty() {
        let rules: Vec<Value> = r.ip_rules.iter().map(|ip| json!({"action": "Allow", "value": ip})).collect();
        lock.insert("networkRuleSet".into(), json!({"defaultAction": r.default_action.as_str(), "ipRules": rules}));
    }
    if let Some(b) = r.network_rule_bypass {
        lock.insert("networkRuleBypassOptions".into(), json!(b.as_str()));
    }
    lock
}
