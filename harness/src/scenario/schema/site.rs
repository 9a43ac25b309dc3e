//! The App Service sections: `[plan]`, `[site]` with its identities, app settings,
//! `[site.config]` and `[site.properties]` (ARM JSON whose keys and types are known).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::azure::{SITE_CONFIG, SITE_PROPERTIES, Ty, valid_image};
use super::refs::Ref;
use super::walker::{Tbl, Walker};
use crate::scenario::limits::MAX_APP_SETTINGS;
use crate::scenario::model::*;
use crate::scenario::tree::{At, Node, Val};

impl Walker<'_> {
    pub(super) fn plan(&mut self, n: &Node) -> Option<AppServicePlan> {
        let mut p = self.table(n, "[plan]")?;
        let name = self.req_str(&mut p, "name").0;
        let sku = self.str(&mut p, "sku").unwrap_or_else(|| "P1v3".to_string());
        self.finish(p);
        Some(AppServicePlan { name, sku })
    }

    pub(super) fn site(&mut self, n: &Node) -> Option<Site> {
        let mut t = self.table(n, "[site]")?;
        let name = self.req_str(&mut t, "name").0;
        let image = self.str_node(&mut t, "image");
        let vnet_integration = self
            .str_node(&mut t, "vnet_integration")
            .map(|(s, at)| self.subnet_ref(&s, at, "'vnet_integration' in [site]"));
        let credentials =
            self.word(&mut t, "credentials", Credentials::parse, &Credentials::words()).unwrap_or(Credentials::None);
        let (system_identity, user_identities) = self.site_identities(&mut t);
        let pull_identity = self.pull_identity(&mut t, system_identity, &user_identities);
        let app_settings = match t.get("app_settings") {
            Some(sn) => self.app_settings(sn),
            None => BTreeMap::new(),
        };
        let config = match t.get("config") {
            Some(c) => self.json_schema(c, "[site.config]", SITE_CONFIG),
            None => Map::new(),
        };
        let properties = match t.get("properties") {
            Some(p) => self.json_schema(p, "[site.properties]", SITE_PROPERTIES),
            None => Map::new(),
        };
        self.image_or_fx(&t, image.as_ref(), &config);
        if vnet_integration.is_some() && properties.contains_key("virtualNetworkSubnetId") {
            let at = n.get("vnet_integration").map(|x| x.at).unwrap_or(n.at);
            self.err(
                at,
                "give either 'vnet_integration' in [site] or virtualNetworkSubnetId in [site.properties], not both",
            );
        }
        let site = Site {
            name,
            image: image.as_ref().map(|(s, _)| s.clone()),
            vnet_integration,
            credentials,
            system_identity,
            user_identities,
            pull_identity,
            app_settings,
            config,
            properties,
        };
        if credentials == Credentials::Admin
            && let Some((_, at)) = &image
        {
            self.admin_image(&site, *at);
        }
        self.finish(t);
        Some(site)
    }

    /// `identity`: `"system"`, `"user:<name>"` or a list of them.
    fn site_identities(&mut self, t: &mut Tbl<'_>) -> (bool, Vec<String>) {
        let mut system_identity = false;
        let mut user_identities = Vec::new();
        for (s, at) in self.str_or_list(t, "identity").unwrap_or_default() {
            if s == "system" {
                system_identity = true;
            } else if let Some(u) = self.prefixed(&s, "user", at, "'identity' in [site] ('system' or)") {
                self.refs.push(Ref::Identity { name: u.to_string(), at, place: "'identity' of [site]".into() });
                user_identities.push(u.to_string());
            }
        }
        (system_identity, user_identities)
    }

    /// `pull_identity`, by default the system identity if any, else the first user one.
    fn pull_identity(&mut self, t: &mut Tbl<'_>, system_identity: bool, users: &[String]) -> Option<PullIdentity> {
        match self.str_node(t, "pull_identity") {
            Some((s, at)) if s == "system" => {
                if !system_identity {
                    self.err(at, "'pull_identity' in [site] is 'system' but the site has no system identity (identity = \"system\")");
                }
                Some(PullIdentity::System)
            }
            Some((s, at)) => {
                match self.prefixed(&s, "user", at, "'pull_identity' in [site] ('system' or)") {
                    Some(u) => {
                        if !users.iter().any(|x| x == u) {
                            self.err(at, format!("'pull_identity' in [site] names 'user:{u}', which is not among the site's identities"));
                        }
                        Some(PullIdentity::User(u.to_string()))
                    }
                    None => None,
                }
            }
            None if system_identity => Some(PullIdentity::System),
            None => users.first().map(|u| PullIdentity::User(u.clone())),
        }
    }

    /// `[site.app_settings]`: booleans and numbers become strings.
    fn app_settings(&mut self, n: &Node) -> BTreeMap<String, String> {
        let mut app_settings = BTreeMap::new();
        if let Some(st) = self.table(n, "[site.app_settings]") {
            if let Some(extra) = st.entries.get(MAX_APP_SETTINGS) {
                let msg = format!(
                    "[site.app_settings] has {} settings; a site has at most {MAX_APP_SETTINGS}",
                    st.entries.len()
                );
                self.err(extra.key_at, msg);
            }
            // Past the limit the rest is not read: the scenario is refused anyway.
            for e in st.entries.iter().take(MAX_APP_SETTINGS) {
                let v = match &e.node.v {
                    Val::Str(s) => Some(s.clone()),
                    Val::Bool(b) => Some(b.to_string()),
                    Val::Int(Some(i)) => Some(i.to_string()),
                    Val::Float(f) => Some(f.to_string()),
                    other => {
                        self.err(
                            e.node.at,
                            format!(
                                "app setting '{}' in [site.app_settings] must be a string (or a boolean or number), found {}",
                                e.key,
                                other.kind()
                            ),
                        );
                        None
                    }
                };
                if e.key.is_empty() {
                    self.err(e.key_at, "app setting names cannot be empty");
                }
                if let Some(v) = v {
                    app_settings.insert(e.key.clone(), v);
                }
            }
        }
        app_settings
    }

    /// The image comes from `image` or from `linuxFxVersion`, exactly one of them.
    fn image_or_fx(&mut self, t: &Tbl<'_>, image: Option<&(String, At)>, config: &Map<String, Value>) {
        match (image, config.get("linuxFxVersion")) {
            (Some((img, at)), _) if !valid_image(img) => {
                self.err(*at, format!("'image' in [site]: '{img}' is not an image reference (registry/repo:tag)"));
            }
            (Some((_, at)), Some(_)) => {
                self.err(*at, "give either 'image' in [site] or linuxFxVersion in [site.config], not both");
            }
            (None, None) => self.missing(t, "image"),
            _ => {}
        }
    }

    /// `credentials = "admin"` reads the admin user of the image's registry: it must be
    /// one of the scenario's.
    fn admin_image(&mut self, site: &Site, at: At) {
        match site.image_registry() {
            Some(r) => self.refs.push(Ref::Registry {
                name: r,
                at,
                place: "the image of [site] (credentials = \"admin\" reads its admin user)".into(),
            }),
            None => self.err(
                at,
                "credentials = \"admin\" needs an image on a registry of the scenario (<name>.azurecr.io/...)",
            ),
        }
    }

    /// A table of ARM JSON whose keys and value types are known.
    pub(super) fn json_schema(
        &mut self,
        n: &Node,
        ctx: &str,
        schema: &'static [(&'static str, Ty)],
    ) -> Map<String, Value> {
        let mut out = Map::new();
        let Some(mut t) = self.table(n, ctx) else { return out };
        for (key, ty) in schema {
            let Some(v) = t.get(key) else { continue };
            let value = match ty {
                Ty::Bool => match &v.v {
                    Val::Bool(b) => Some(json!(b)),
                    _ => {
                        self.wrong(&t, key, v, "a boolean (true or false)");
                        None
                    }
                },
                Ty::Str => match &v.v {
                    Val::Str(s) => Some(json!(s)),
                    _ => {
                        self.wrong(&t, key, v, "a string");
                        None
                    }
                },
                Ty::Int => match &v.v {
                    Val::Int(Some(i)) => Some(json!(i)),
                    _ => {
                        self.wrong(&t, key, v, "an integer");
                        None
                    }
                },
                Ty::Ipv4List => match &v.v {
                    Val::Array(items) => {
                        let mut list = Vec::new();
                        for item in items {
                            match item.as_str() {
                                Some(s) => {
                                    if self.ipv4(s, item.at, &t.place(key)).is_some() {
                                        list.push(json!(s));
                                    }
                                }
                                None => self.err(
                                    item.at,
                                    format!("each item of {} must be a string, found {}", t.place(key), item.v.kind()),
                                ),
                            }
                        }
                        Some(Value::Array(list))
                    }
                    _ => {
                        self.wrong(&t, key, v, "an array of IPv4 addresses");
                        None
                    }
                },
                Ty::Table(inner) => {
                    let sub = format!("{}.{key}", ctx.trim_end_matches(']'));
                    let sub = format!("{sub}]");
                    Some(Value::Object(self.json_schema(v, &sub, inner)))
                }
            };
            if let Some(value) = value {
                out.insert(key.to_string(), value);
            }
        }
        self.finish(t);
        out
    }
}
