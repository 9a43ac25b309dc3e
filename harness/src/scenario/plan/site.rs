//! App Service's requests: the plan, the site (PUT at the newest api-version, then the
//! properties only older api-versions carry), and what needs ARM's answers — the admin
//! credentials written into the app settings, a user identity's client ID.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{ArmCall, Deferred, Fill, Plan, PlanStep, substitute, with_api_version};
use crate::scenario::model::*;
use crate::scenario::schema::legacy_site_property;

impl Plan<'_> {
    pub(super) fn app_service_plan(&mut self, p: &AppServicePlan) {
        let body = json!({"location": self.t.resource_group.location, "kind": "linux", "sku": {"name": p.sku}, "properties": {"reserved": true}});
        self.call(
            "PUT",
            self.ids.plan(&p.name),
            Some(body),
            format!("create App Service plan {} ({}, Linux)", p.name, p.sku),
        );
    }

    /// The site and what follows it. `admin_off_later`: registries whose admin user is
    /// switched off once the site's credentials are configured.
    pub(super) fn site(&mut self, site: &Site, plan: &AppServicePlan, admin_off_later: &[String]) {
        let site_id = self.ids.site(&site.name);
        let (mut body, legacy) = self.site_body(site, plan);
        substitute(&mut body, &self.ids);
        let mut what =
            format!("create site {} from {}", site.name, site.image.as_deref().unwrap_or("its linuxFxVersion"));
        if let Some(r) = &site.vnet_integration {
            what.push_str(&format!(", integrated into {r}"));
        }
        self.call("PUT", site_id.clone(), Some(body), what);
        // Properties that exist only in older api-versions (docs/azure.md B), each PATCHed at
        // the newest api-version that still has it.
        for (version, props) in legacy {
            let keys: Vec<String> = props.keys().cloned().collect();
            let mut patch = json!({"properties": props});
            substitute(&mut patch, &self.ids);
            self.out.push(PlanStep::Call(ArmCall {
                method: "PATCH".into(),
                path: with_api_version(&site_id, Some(version)),
                body: Some(patch),
                what: format!("set site properties {} of {} (api-version {version})", keys.join(", "), site.name),
            }));
        }
        if site.credentials == Credentials::Admin {
            self.admin_credentials(site, admin_off_later);
        }
        if site.credentials == Credentials::ManagedIdentity
            && !site.config.contains_key("acrUserManagedIdentityID")
            && let Some(PullIdentity::User(u)) = &site.pull_identity
        {
            self.user_identity_client_id(site, u);
        }
    }

    /// The site's PUT body, and the properties it cannot carry, by the api-version that can.
    fn site_body(&self, site: &Site, plan: &AppServicePlan) -> (Value, BTreeMap<&'static str, Map<String, Value>>) {
        let ids = &self.ids;
        let mut config = Map::new();
        if let Some(image) = &site.image {
            config.insert("linuxFxVersion".into(), json!(format!("DOCKER|{image}")));
        }
        if site.credentials == Credentials::ManagedIdentity {
            config.insert("acrUseManagedIdentityCreds".into(), json!(true));
        }
        for (k, v) in &site.config {
            config.insert(k.clone(), v.clone());
        }
        let settings: Vec<Value> = site.app_settings.iter().map(|(k, v)| json!({"name": k, "value": v})).collect();
        config.insert("appSettings".into(), Value::Array(settings));
        let mut props = Map::new();
        props.insert("serverFarmId".into(), json!(ids.plan(&plan.name)));
        if let Some(r) = &site.vnet_integration {
            props.insert("virtualNetworkSubnetId".into(), json!(ids.subnet(r)));
        }
        let mut legacy: BTreeMap<&'static str, Map<String, Value>> = BTreeMap::new();
        for (k, v) in &site.properties {
            match legacy_site_property(k) {
                Some(version) => legacy.entry(version).or_default().insert(k.clone(), v.clone()),
                None => props.insert(k.clone(), v.clone()),
            };
        }
        props.insert("siteConfig".into(), Value::Object(config));
        let mut body =
            json!({"location": self.t.resource_group.location, "kind": "app,linux,container", "properties": props});
        if site.system_identity || !site.user_identities.is_empty() {
            let ty = match (site.system_identity, site.user_identities.is_empty()) {
                (true, true) => "SystemAssigned",
                (true, false) => "SystemAssigned, UserAssigned",
                _ => "UserAssigned",
            };
            let mut identity = json!({"type": ty});
            if !site.user_identities.is_empty() {
                let users: Map<String, Value> =
                    site.user_identities.iter().map(|u| (ids.identity(u), json!({}))).collect();
                identity["userAssignedIdentities"] = Value::Object(users);
            }
            body["identity"] = identity;
        }
        (body, legacy)
    }

    /// `listCredentials` of the image's registry, written into the app settings (what
    /// `az webapp create` does for an ACR image); then, if the scenario's registry has
    /// its admin user off, switching it off.
    fn admin_credentials(&mut self, site: &Site, admin_off_later: &[String]) {
        let t = self.t;
        let Some(reg) =
            site.image_registry().and_then(|r| t.registries.iter().find(|x| x.name.eq_ignore_ascii_case(&r)))
        else {
            return;
        };
        let ids = &self.ids;
        let mut settings = site.app_settings.clone();
        for v in settings.values_mut() {
            *v = v.replace("{subscription}", &ids.sub).replace("{resource_group}", &ids.rg);
        }
        let lookup = ArmCall::new(
            "POST",
            format!("{}/listCredentials", ids.registry(&reg.name)),
            None,
            format!("list admin credentials of registry {}", reg.name),
        );
        let fill = Fill::AdminSettings {
            path: format!("{}/config/appsettings", ids.site(&site.name)),
            login_server: reg.login_server(),
            settings,
            what: format!("write the admin credentials of {} into the app settings of {}", reg.name, site.name),
        };
        self.out.push(PlanStep::AdminCredentials {
            registry: reg.name.clone(),
            site: site.name.clone(),
            step: Deferred { lookup, fill },
        });
        if admin_off_later.iter().any(|n| n == &reg.name) {
            self.call(
                "PATCH",
                self.ids.registry(&reg.name),
                Some(json!({"properties": {"adminUserEnabled": false}})),
                format!("disable the admin user of registry {} (after its credentials were configured)", reg.name),
            );
        }
    }

    /// `acrUserManagedIdentityID` set to the client ID ARM gave user identity `u`.
    fn user_identity_client_id(&mut self, site: &Site, u: &str) {
        let lookup = ArmCall::new("GET", self.ids.identity(u), None, format!("read identity {u}"));
        let fill = Fill::ClientId {
            path: format!("{}/config/web", self.ids.site(&site.name)),
            what: format!("set acrUserManagedIdentityID of {} to the client ID of {u}", site.name),
        };
        self.out.push(PlanStep::UserIdentityClientId {
            site: site.name.clone(),
            identity: u.to_string(),
            step: Deferred { lookup, fill },
        });
    }
}
