//! The ARM plan: the ordered requests that build a scenario's topology through ARM as
//! the Azure CLI would, so an impossible configuration fails the way Azure fails it.
//!
//! Some requests need values only ARM knows once earlier requests ran — the registry's
//! admin password, a managed identity's principal or client ID. Those are
//! [`Deferred`] steps: the runner sends [`Deferred::lookup`], then sends what
//! [`Deferred::complete`] builds from the answer. What is not ARM at all (pushing images,
//! custom DNS servers) is handed to the runner as data.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde_json::{Map, Value, json};

use super::model::*;
use super::schema::{LEGACY_SITE_PROPERTIES, default_api_version};

/// One ARM request.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmCall {
    /// `GET`, `PUT`, `PATCH`, `POST` or `DELETE`.
    pub method: String,
    /// Absolute path with its `?api-version=`.
    pub path: String,
    /// JSON body, if any.
    pub body: Option<Value>,
    /// What it does, for people (`create subnet vnet/integration`).
    pub what: String,
}

impl ArmCall {
    /// A call; `api-version` is added to the path if it has none.
    pub fn new(method: &str, path: String, body: Option<Value>, what: impl Into<String>) -> ArmCall {
        let path = with_api_version(&path, None);
        ArmCall { method: method.to_string(), path, body, what: what.into() }
    }
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanStep {
    /// Send this request; it must succeed.
    Call(ArmCall),
    /// Push these images into the registry (it exists by now; its network rules are not
    /// applied yet, as a user pushes before locking the registry down).
    PushImages {
        /// Registry name.
        registry: String,
        /// `<name>.azurecr.io`.
        login_server: String,
        /// What to push.
        images: Vec<ImageSpec>,
    },
    /// Register a custom DNS server (`mock_azure::dns::put_custom_server`); its VNET
    /// exists by now.
    CustomDns(CustomDnsSpec),
    /// Write `DOCKER_REGISTRY_SERVER_URL/USERNAME/PASSWORD` from the registry's admin
    /// credentials (what `az webapp create` does for an ACR image).
    AdminCredentials {
        /// Registry name.
        registry: String,
        /// Site name.
        site: String,
        /// `listCredentials`, then the app settings `PUT`.
        step: Deferred,
    },
    /// Assign a role to a principal whose ID ARM gave it.
    RoleAssignment {
        /// Who.
        principal: Principal,
        /// Built-in role name.
        role: String,
        /// The scope's resource ID.
        scope: String,
        /// GET of the principal's resource, then the assignment `PUT`.
        step: Deferred,
    },
    /// Point `acrUserManagedIdentityID` at a user identity's client ID.
    UserIdentityClientId {
        /// Site name.
        site: String,
        /// Identity name.
        identity: String,
        /// GET of the identity, then the `config/web` `PATCH`.
        step: Deferred,
    },
}

/// A custom DNS server for the runner to register.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomDnsSpec {
    /// Name.
    pub name: String,
    /// VNET name.
    pub vnet: String,
    /// VNET resource ID.
    pub vnet_id: String,
    /// Address in the VNET.
    pub address: Ipv4Addr,
    /// Where names no forwarder covers go.
    pub upstream: Upstream,
    /// Conditional forwarders.
    pub forwarders: Vec<Forwarder>,
}

/// A request built from the answer to an earlier one.
#[derive(Debug, Clone, PartialEq)]
pub struct Deferred {
    /// The request whose answer is needed.
    pub lookup: ArmCall,
    fill: Fill,
}

#[derive(Debug, Clone, PartialEq)]
enum Fill {
    /// App settings PUT with the admin credentials added under the scenario's own.
    AdminSettings { path: String, login_server: String, settings: BTreeMap<String, String>, what: String },
    /// Role assignment PUT with the principal ID at `pointer` of the answer.
    Role { path: String, role_definition_id: String, pointer: &'static str, what: String },
    /// `config/web` PATCH with the client ID of the answer.
    ClientId { path: String, what: String },
}

/// The answer to a deferred step's lookup lacks what the step needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingInAnswer {
    /// The lookup's label.
    pub lookup: String,
    /// The JSON pointer that was missing.
    pub pointer: String,
}

impl std::fmt::Display for MissingInAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the answer to '{}' has no {}", self.lookup, self.pointer)
    }
}

impl std::error::Error for MissingInAnswer {}

impl Deferred {
    /// The request to send, given the answer to [`Deferred::lookup`].
    pub fn complete(&self, answer: &Value) -> Result<ArmCall, MissingInAnswer> {
        let get = |pointer: &str| {
            answer
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| MissingInAnswer { lookup: self.lookup.what.clone(), pointer: pointer.to_string() })
        };
        Ok(match &self.fill {
            Fill::AdminSettings { path, login_server, settings, what } => {
                let username = get("/username")?;
                let password = get("/passwords/0/value")?;
                let mut props = Map::new();
                props.insert("DOCKER_REGISTRY_SERVER_URL".into(), json!(format!("https://{login_server}")));
                props.insert("DOCKER_REGISTRY_SERVER_USERNAME".into(), json!(username));
                props.insert("DOCKER_REGISTRY_SERVER_PASSWORD".into(), json!(password));
                // What the scenario writes itself wins (a stale password on purpose).
                for (k, v) in settings {
                    props.insert(k.clone(), json!(v));
                }
                ArmCall::new("PUT", path.clone(), Some(json!({ "properties": props })), what.clone())
            }
            Fill::Role { path, role_definition_id, pointer, what } => {
                let principal = get(pointer)?;
                let body = json!({"properties": {
                    "roleDefinitionId": role_definition_id,
                    "principalId": principal,
                    "principalType": "ServicePrincipal",
                }});
                ArmCall::new("PUT", path.clone(), Some(body), what.clone())
            }
            Fill::ClientId { path, what } => {
                let client = get("/properties/clientId")?;
                let body = json!({"properties": {"acrUserManagedIdentityID": client}});
                ArmCall::new("PATCH", path.clone(), Some(body), what.clone())
            }
        })
    }
}

/// Adds the default api-version for the path's provider unless one is there.
fn with_api_version(path: &str, version: Option<&str>) -> String {
    if path.contains("api-version=") {
        return path.to_string();
    }
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}api-version={}", version.unwrap_or(default_api_version(path)))
}

/// Resource IDs of a scenario in a subscription.
struct Ids {
    sub: String,
    rg: String,
}

impl Ids {
    fn rg(&self) -> String {
        format!("/subscriptions/{}/resourceGroups/{}", self.sub, self.rg)
    }
    fn provider(&self, ns_type: &str, name: &str) -> String {
        format!("{}/providers/{ns_type}/{name}", self.rg())
    }
    fn vnet(&self, name: &str) -> String {
        self.provider("Microsoft.Network/virtualNetworks", name)
    }
    fn subnet(&self, r: &SubnetRef) -> String {
        format!("{}/subnets/{}", self.vnet(&r.vnet), r.subnet)
    }
    fn registry(&self, name: &str) -> String {
        self.provider("Microsoft.ContainerRegistry/registries", name)
    }
    fn identity(&self, name: &str) -> String {
        self.provider("Microsoft.ManagedIdentity/userAssignedIdentities", name)
    }
    fn zone(&self, name: &str) -> String {
        self.provider("Microsoft.Network/privateDnsZones", name)
    }
    fn endpoint(&self, name: &str) -> String {
        self.provider("Microsoft.Network/privateEndpoints", name)
    }
    fn plan(&self, name: &str) -> String {
        self.provider("Microsoft.Web/serverfarms", name)
    }
    fn site(&self, name: &str) -> String {
        self.provider("Microsoft.Web/sites", name)
    }
}

/// Replaces `{subscription}` and `{resource_group}` in every string of `v`.
fn substitute(v: &mut Value, ids: &Ids) {
    match v {
        Value::String(s) if s.contains('{') => {
            *s = s.replace("{subscription}", &ids.sub).replace("{resource_group}", &ids.rg);
        }
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, ids)),
        Value::Object(o) => o.values_mut().for_each(|x| substitute(x, ids)),
        _ => {}
    }
}

impl ArmStep {
    /// The request of this step in `subscription`.
    pub fn call(&self, subscription: &str) -> ArmCall {
        let path = self.path.replace("{subscription}", subscription);
        let mut body = self.body.clone();
        if let Some(b) = body.as_mut() {
            let rg = path.split('/').skip_while(|s| !s.eq_ignore_ascii_case("resourceGroups")).nth(1);
            substitute(b, &Ids { sub: subscription.to_string(), rg: rg.unwrap_or_default().to_string() });
        }
        let what = format!("{} {}", self.method, self.path.split('?').next().unwrap_or_default());
        ArmCall { method: self.method.as_str().to_string(), path, body, what }
    }
}

/// The ordered steps that build `s`'s topology in `subscription`. A pure function of the
/// scenario: the same scenario gives the same plan.
pub fn arm_plan(s: &Scenario, subscription: &str) -> Vec<PlanStep> {
    let t = &s.topology;
    let ids = Ids { sub: subscription.to_string(), rg: t.resource_group.name.clone() };
    let mut out = Vec::new();
    let mut call = |method: &str, path: String, body: Option<Value>, what: String| {
        out.push(PlanStep::Call(ArmCall::new(method, path, body, what)));
    };

    call(
        "PUT",
        ids.rg(),
        Some(json!({"location": t.resource_group.location})),
        format!("create resource group {}", t.resource_group.name),
    );

    // Network: each VNET, then its subnets (as `az network vnet subnet create`).
    for v in &t.vnets {
        let mut props = json!({"addressSpace": {"addressPrefixes": v.address_space.iter().map(|c| c.to_string()).collect::<Vec<_>>()}});
        if !v.dns_servers.is_empty() {
            props["dhcpOptions"] =
                json!({"dnsServers": v.dns_servers.iter().map(|d| d.to_string()).collect::<Vec<_>>()});
        }
        call(
            "PUT",
            ids.vnet(&v.name),
            Some(json!({"location": t.vnet_location(v), "properties": props})),
            format!("create vnet {}", v.name),
        );
        for sn in &v.subnets {
            let mut props = json!({"addressPrefix": sn.prefix.to_string()});
            if let Some(d) = &sn.delegation {
                props["delegations"] = json!([{"name": "delegation", "properties": {"serviceName": d}}]);
            }
            let r = SubnetRef { vnet: v.name.clone(), subnet: sn.name.clone() };
            call("PUT", ids.subnet(&r), Some(json!({"properties": props})), format!("create subnet {r}"));
        }
    }
    for v in &t.vnets {
        for p in &v.peerings {
            let body = |remote: &str| {
                json!({"properties": {
                    "remoteVirtualNetwork": {"id": ids.vnet(remote)},
                    "allowVirtualNetworkAccess": true,
                    "allowForwardedTraffic": false,
                }})
            };
            call(
                "PUT",
                format!("{}/virtualNetworkPeerings/{}", ids.vnet(&v.name), p.name),
                Some(body(&p.remote)),
                format!("peer vnet {} with {} ({})", v.name, p.remote, p.name),
            );
            if p.bidirectional {
                let back = p.reverse_name(&v.name);
                call(
                    "PUT",
                    format!("{}/virtualNetworkPeerings/{back}", ids.vnet(&p.remote)),
                    Some(body(&v.name)),
                    format!("peer vnet {} with {} ({back})", p.remote, v.name),
                );
            }
        }
    }
    for c in &t.custom_dns {
        out.push(PlanStep::CustomDns(CustomDnsSpec {
            name: c.name.clone(),
            vnet: c.vnet.clone(),
            vnet_id: ids.vnet(&c.vnet),
            address: c.address,
            upstream: c.upstream,
            forwarders: c.forwarders.clone(),
        }));
    }

    // Registries: create (`az acr create`), push, then lock down (`az acr update`).
    let admin_needed: Vec<String> = match &t.site {
        Some(site) if site.credentials == Credentials::Admin => site.image_registry().into_iter().collect(),
        _ => Vec::new(),
    };
    let mut admin_off_later = Vec::new();
    for r in &t.registries {
        // Credentials configured while the admin user was on, then it was switched off: the
        // realistic way a site ends up with credentials of a disabled admin user.
        let needs_admin = admin_needed.iter().any(|n| n.eq_ignore_ascii_case(&r.name));
        if needs_admin && !r.admin_user {
            admin_off_later.push(r.name.clone());
        }
        let mut props = json!({"adminUserEnabled": r.admin_user || needs_admin});
        if r.data_endpoint {
            props["dataEndpointEnabled"] = json!(true);
        }
        if r.anonymous_pull {
            props["anonymousPullEnabled"] = json!(true);
        }
        let rl = t.registry_location(r);
        let body = |p: Value| json!({"location": rl, "sku": {"name": r.sku.as_str()}, "properties": p});
        out.push(PlanStep::Call(ArmCall::new(
            "PUT",
            ids.registry(&r.name),
            Some(body(props)),
            format!("create registry {} ({})", r.name, r.sku),
        )));
        if !r.images.is_empty() {
            out.push(PlanStep::PushImages {
                registry: r.name.clone(),
                login_server: r.login_server(),
                images: r.images.clone(),
            });
        }
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
        if !lock.is_empty() {
            let keys: Vec<&str> = lock.keys().map(String::as_str).collect();
            let what = format!("update registry {} ({})", r.name, keys.join(", "));
            out.push(PlanStep::Call(ArmCall::new(
                "PATCH",
                ids.registry(&r.name),
                Some(json!({"properties": lock})),
                what,
            )));
        }
    }

    let mut call = |method: &str, path: String, body: Option<Value>, what: String| {
        out.push(PlanStep::Call(ArmCall::new(method, path, body, what)));
    };
    for i in &t.identities {
        call(
            "PUT",
            ids.identity(&i.name),
            Some(json!({"location": t.resource_group.location})),
            format!("create identity {}", i.name),
        );
    }

    // Private DNS: zones, their links and records, before the endpoints' zone groups.
    for z in &t.private_dns_zones {
        call(
            "PUT",
            ids.zone(&z.name),
            Some(json!({"location": "global"})),
            format!("create private DNS zone {}", z.name),
        );
        for l in &z.links {
            let mut props = json!({"virtualNetwork": {"id": ids.vnet(&l.vnet)}, "registrationEnabled": l.registration});
            if let Some(p) = l.resolution_policy {
                props["resolutionPolicy"] = json!(p.as_str());
            }
            call(
                "PUT",
                format!("{}/virtualNetworkLinks/{}", ids.zone(&z.name), l.name),
                Some(json!({"location": "global", "properties": props})),
                format!("link private DNS zone {} to vnet {} ({})", z.name, l.vnet, l.name),
            );
        }
        for r in &z.records {
            let values = &r.values;
            let mut props = json!({"ttl": r.ttl});
            match r.rtype {
                RecordType::A => {
                    props["aRecords"] = json!(values.iter().map(|v| json!({"ipv4Address": v})).collect::<Vec<_>>())
                }
                RecordType::Aaaa => {
                    props["aaaaRecords"] = json!(values.iter().map(|v| json!({"ipv6Address": v})).collect::<Vec<_>>())
                }
                RecordType::Cname => props["cnameRecord"] = json!({"cname": values.first()}),
                RecordType::Ptr => {
                    props["ptrRecords"] = json!(values.iter().map(|v| json!({"ptrdname": v})).collect::<Vec<_>>())
                }
                RecordType::Txt => {
                    props["txtRecords"] = json!(values.iter().map(|v| json!({"value": [v]})).collect::<Vec<_>>())
                }
            }
            call(
                "PUT",
                format!("{}/{}/{}", ids.zone(&z.name), r.rtype.as_str(), r.name),
                Some(json!({"properties": props})),
                format!("create {} record {} in {}", r.rtype, r.name, z.name),
            );
        }
    }
    for pe in &t.private_endpoints {
        let location =
            t.vnet(&pe.subnet.vnet).map(|v| t.vnet_location(v)).unwrap_or_else(|| t.resource_group.location.clone());
        let connection = json!([{
            "name": pe.name,
            "properties": {
                "privateLinkServiceId": ids.registry(&pe.registry),
                "groupIds": ["registry"],
                "requestMessage": if pe.manual_approval { json!("Please approve") } else { Value::Null },
            },
        }]);
        let list =
            if pe.manual_approval { "manualPrivateLinkServiceConnections" } else { "privateLinkServiceConnections" };
        let mut props = json!({"subnet": {"id": ids.subnet(&pe.subnet)}});
        props[list] = connection;
        call(
            "PUT",
            ids.endpoint(&pe.name),
            Some(json!({"location": location, "properties": props})),
            format!("create private endpoint {} in {} to registry {}", pe.name, pe.subnet, pe.registry),
        );
        if !pe.dns_zone_group.is_empty() {
            let configs: Vec<Value> = pe
                .dns_zone_group
                .iter()
                .map(|z| json!({"name": z.replace('.', "-"), "properties": {"privateDnsZoneId": ids.zone(z)}}))
                .collect();
            call(
                "PUT",
                format!("{}/privateDnsZoneGroups/default", ids.endpoint(&pe.name)),
                Some(json!({"properties": {"privateDnsZoneConfigs": configs}})),
                format!("create DNS zone group of {} ({})", pe.name, pe.dns_zone_group.join(", ")),
            );
        }
    }

    // App Service.
    if let Some(p) = &t.plan {
        call(
            "PUT",
            ids.plan(&p.name),
            Some(
                json!({"location": t.resource_group.location, "kind": "linux", "sku": {"name": p.sku}, "properties": {"reserved": true}}),
            ),
            format!("create App Service plan {} ({}, Linux)", p.name, p.sku),
        );
    }
    if let (Some(site), Some(plan)) = (&t.site, &t.plan) {
        site_steps(&mut out, &ids, t, site, plan, &admin_off_later);
    }

    // Role assignments need principal IDs ARM gave out.
    for ra in &t.role_assignments {
        let scope = match &ra.scope {
            Scope::Registry(r) => ids.registry(r),
            Scope::ResourceGroup => ids.rg(),
        };
        let (lookup, pointer, label) = match &ra.principal {
            Principal::Site => {
                let name = t.site.as_ref().map(|s| s.name.clone()).unwrap_or_default();
                (
                    ArmCall::new("GET", ids.site(&name), None, format!("read site {name}")),
                    "/identity/principalId",
                    format!("site {name}"),
                )
            }
            Principal::Identity(i) => (
                ArmCall::new("GET", ids.identity(i), None, format!("read identity {i}")),
                "/properties/principalId",
                format!("identity {i}"),
            ),
        };
        let role_guid = mock_azure::arm::ROLES.iter().find(|(n, _, _)| *n == ra.role).map(|(_, g, _)| *g).unwrap_or("");
        let name =
            mock_azure::model::net::guid(&["pullsim-role-assignment", &scope.to_ascii_lowercase(), &label, &ra.role]);
        let what = format!("assign {} on {} to {label}", ra.role, scope.rsplit('/').next().unwrap_or_default());
        out.push(PlanStep::RoleAssignment {
            principal: ra.principal.clone(),
            role: ra.role.clone(),
            scope: scope.clone(),
            step: Deferred {
                lookup,
                fill: Fill::Role {
                    path: format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"),
                    role_definition_id: format!(
                        "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}",
                        ids.sub
                    ),
                    pointer,
                    what,
                },
            },
        });
    }
    out
}

fn site_steps(
    out: &mut Vec<PlanStep>,
    ids: &Ids,
    t: &Topology,
    site: &Site,
    plan: &AppServicePlan,
    admin_off_later: &[String],
) {
    let site_id = ids.site(&site.name);
    let mut config = Map::new();
    if let Some(image) = &site.image {
        config.insert("linuxFxVersion".into(), json!(format!("DOCKER|{image}")));
    }
    let explicit_client_id = site.config.contains_key("acrUserManagedIdentityID");
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
    let mut legacy = Map::new();
    for (k, v) in &site.properties {
        if LEGACY_SITE_PROPERTIES.contains(&k.as_str()) {
            legacy.insert(k.clone(), v.clone());
        } else {
            props.insert(k.clone(), v.clone());
        }
    }
    props.insert("siteConfig".into(), Value::Object(config));
    let mut body = json!({"location": t.resource_group.location, "kind": "app,linux,container", "properties": props});
    if site.system_identity || !site.user_identities.is_empty() {
        let ty = match (site.system_identity, site.user_identities.is_empty()) {
            (true, true) => "SystemAssigned",
            (true, false) => "SystemAssigned, UserAssigned",
            _ => "UserAssigned",
        };
        let mut identity = json!({"type": ty});
        if !site.user_identities.is_empty() {
            let users: Map<String, Value> = site.user_identities.iter().map(|u| (ids.identity(u), json!({}))).collect();
            identity["userAssignedIdentities"] = Value::Object(users);
        }
        body["identity"] = identity;
    }
    substitute(&mut body, ids);
    let mut what = format!("create site {} from {}", site.name, site.image.as_deref().unwrap_or("its linuxFxVersion"));
    if let Some(r) = &site.vnet_integration {
        what.push_str(&format!(", integrated into {r}"));
    }
    out.push(PlanStep::Call(ArmCall::new("PUT", site_id.clone(), Some(body), what)));
    if !legacy.is_empty() {
        // These exist only in api-versions 2022-03-01…2024-04-01 (RULES.md B).
        let keys: Vec<String> = legacy.keys().cloned().collect();
        let mut patch = json!({"properties": legacy});
        substitute(&mut patch, ids);
        out.push(PlanStep::Call(ArmCall {
            method: "PATCH".into(),
            path: with_api_version(&site_id, Some("2024-04-01")),
            body: Some(patch),
            what: format!("set site properties {} of {} (api-version 2024-04-01)", keys.join(", "), site.name),
        }));
    }
    if site.credentials == Credentials::Admin
        && let Some(reg) =
            site.image_registry().and_then(|r| t.registries.iter().find(|x| x.name.eq_ignore_ascii_case(&r)))
    {
        let mut settings = site.app_settings.clone();
        for v in settings.values_mut() {
            *v = v.replace("{subscription}", &ids.sub).replace("{resource_group}", &ids.rg);
        }
        out.push(PlanStep::AdminCredentials {
            registry: reg.name.clone(),
            site: site.name.clone(),
            step: Deferred {
                lookup: ArmCall::new(
                    "POST",
                    format!("{}/listCredentials", ids.registry(&reg.name)),
                    None,
                    format!("list admin credentials of registry {}", reg.name),
                ),
                fill: Fill::AdminSettings {
                    path: format!("{site_id}/config/appsettings"),
                    login_server: reg.login_server(),
                    settings,
                    what: format!("write the admin credentials of {} into the app settings of {}", reg.name, site.name),
                },
            },
        });
        if admin_off_later.iter().any(|n| n == &reg.name) {
            out.push(PlanStep::Call(ArmCall::new(
                "PATCH",
                ids.registry(&reg.name),
                Some(json!({"properties": {"adminUserEnabled": false}})),
                format!("disable the admin user of registry {} (after its credentials were configured)", reg.name),
            )));
        }
    }
    if site.credentials == Credentials::ManagedIdentity
        && !explicit_client_id
        && let Some(PullIdentity::User(u)) = &site.pull_identity
    {
        out.push(PlanStep::UserIdentityClientId {
            site: site.name.clone(),
            identity: u.clone(),
            step: Deferred {
                lookup: ArmCall::new("GET", ids.identity(u), None, format!("read identity {u}")),
                fill: Fill::ClientId {
                    path: format!("{site_id}/config/web"),
                    what: format!("set acrUserManagedIdentityID of {} to the client ID of {u}", site.name),
                },
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::scenario::{LoadOptions, load};

    const SUB: &str = "00000000-0000-0000-0000-000000000001";

    fn fixtures() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/fixtures")
    }

    /// Loads `body` as a scenario file in a temporary directory, fixtures from the repo.
    fn scenario(body: &str) -> Scenario {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, body).unwrap();
        let mut s = load(&path, &LoadOptions::default().with_fixture_dir(fixtures())).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.len(), 1);
        s.remove(0)
    }

    fn calls(plan: &[PlanStep]) -> Vec<String> {
        plan.iter()
            .map(|p| match p {
                PlanStep::Call(c) => format!("{} {}", c.method, c.path.replace(&format!("/subscriptions/{SUB}"), "")),
                PlanStep::PushImages { registry, .. } => format!("push images to {registry}"),
                PlanStep::CustomDns(c) => format!("custom dns {}", c.name),
                PlanStep::AdminCredentials { registry, site, .. } => format!("admin credentials {registry} -> {site}"),
                PlanStep::RoleAssignment { role, scope, .. } => {
                    format!("role {role} on {}", scope.rsplit('/').next().unwrap_or_default())
                }
                PlanStep::UserIdentityClientId { identity, .. } => format!("client id of {identity}"),
            })
            .collect()
    }

    fn body<'p>(plan: &'p [PlanStep], suffix: &str) -> &'p Value {
        plan.iter()
            .find_map(|p| match p {
                PlanStep::Call(c) if c.path.split('?').next().unwrap_or_default().ends_with(suffix) => c.body.as_ref(),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no call to {suffix}"))
    }

    #[test]
    fn the_recipe_fixture_is_built_in_the_order_the_cli_builds_it() {
        let s = scenario("name = \"recipe\"\nfixture = \"recipe-2021\"\n");
        let plan = arm_plan(&s, SUB);
        let rg = "/resourceGroups/secureacrsetup";
        assert_eq!(
            calls(&plan),
            [
                format!("PUT {rg}?api-version=2024-03-01"),
                format!("PUT {rg}/providers/Microsoft.Network/virtualNetworks/vnet?api-version=2024-05-01"),
                format!(
                    "PUT {rg}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/integration?api-version=2024-05-01"
                ),
                format!("PUT {rg}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/pe?api-version=2024-05-01"),
                format!(
                    "PUT {rg}/providers/Microsoft.ContainerRegistry/registries/secureacr2021?api-version=2023-07-01"
                ),
                "push images to secureacr2021".to_string(),
                format!(
                    "PATCH {rg}/providers/Microsoft.ContainerRegistry/registries/secureacr2021?api-version=2023-07-01"
                ),
                format!(
                    "PUT {rg}/providers/Microsoft.Network/privateDnsZones/privatelink.azurecr.io?api-version=2024-06-01"
                ),
                format!(
                    "PUT {rg}/providers/Microsoft.Network/privateDnsZones/privatelink.azurecr.io/virtualNetworkLinks/acrlink?api-version=2024-06-01"
                ),
                format!("PUT {rg}/providers/Microsoft.Network/privateEndpoints/acr-pe?api-version=2024-05-01"),
                format!(
                    "PUT {rg}/providers/Microsoft.Network/privateEndpoints/acr-pe/privateDnsZoneGroups/default?api-version=2024-05-01"
                ),
                format!("PUT {rg}/providers/Microsoft.Web/serverfarms/plan?api-version=2024-11-01"),
                format!("PUT {rg}/providers/Microsoft.Web/sites/secureacrweb2021?api-version=2024-11-01"),
                "admin credentials secureacr2021 -> secureacrweb2021".to_string(),
            ]
        );
        assert_eq!(body(&plan, "/resourceGroups/secureacrsetup")["location"], "westeurope");
        assert_eq!(
            body(&plan, "/virtualNetworks/vnet")["properties"]["addressSpace"]["addressPrefixes"],
            json!(["10.0.0.0/16"])
        );
        let integration = body(&plan, "/subnets/integration");
        assert_eq!(integration["properties"]["addressPrefix"], "10.0.1.0/24");
        assert_eq!(
            integration["properties"]["delegations"][0]["properties"]["serviceName"],
            "Microsoft.Web/serverFarms"
        );
        assert!(body(&plan, "/subnets/pe")["properties"].get("delegations").is_none());
        let PlanStep::Call(create) = &plan[4] else { panic!() };
        let reg = create.body.as_ref().unwrap();
        assert_eq!(reg["sku"]["name"], "Premium");
        assert_eq!(reg["properties"]["adminUserEnabled"], true);
        assert!(reg["properties"].get("publicNetworkAccess").is_none(), "created open, locked afterwards");
        let PlanStep::Call(lock) = &plan[6] else { panic!() };
        assert_eq!(lock.body.as_ref().unwrap(), &json!({"properties": {"publicNetworkAccess": "Disabled"}}));
        let PlanStep::PushImages { login_server, images, .. } = &plan[5] else { panic!() };
        assert_eq!(login_server, "secureacr2021.azurecr.io");
        assert_eq!(
            (images[0].repo.as_str(), images[0].tag.as_str(), images[0].layers, images[0].seed),
            ("app", "v1", 3, 1)
        );
        assert_eq!(body(&plan, "/privateDnsZones/privatelink.azurecr.io")["location"], "global");
        let link = body(&plan, "/virtualNetworkLinks/acrlink");
        assert_eq!(link["properties"]["registrationEnabled"], false);
        assert!(link["properties"]["virtualNetwork"]["id"].as_str().unwrap().ends_with("/virtualNetworks/vnet"));
        let pe = body(&plan, "/privateEndpoints/acr-pe");
        assert_eq!(pe["location"], "westeurope");
        assert!(pe["properties"]["subnet"]["id"].as_str().unwrap().ends_with("/virtualNetworks/vnet/subnets/pe"));
        let conn = &pe["properties"]["privateLinkServiceConnections"][0]["properties"];
        assert_eq!(conn["groupIds"], json!(["registry"]));
        assert!(conn["privateLinkServiceId"].as_str().unwrap().ends_with("/registries/secureacr2021"));
        let group = body(&plan, "/privateDnsZoneGroups/default");
        assert!(
            group["properties"]["privateDnsZoneConfigs"][0]["properties"]["privateDnsZoneId"]
                .as_str()
                .unwrap()
                .ends_with("/privateDnsZones/privatelink.azurecr.io")
        );
        let plan_body = body(&plan, "/serverfarms/plan");
        assert_eq!(
            (plan_body["sku"]["name"].as_str(), plan_body["properties"]["reserved"].as_bool()),
            (Some("P1v3"), Some(true))
        );
        let site = body(&plan, "/sites/secureacrweb2021");
        let p = &site["properties"];
        assert!(p["serverFarmId"].as_str().unwrap().ends_with("/serverfarms/plan"));
        assert!(p["virtualNetworkSubnetId"].as_str().unwrap().ends_with("/virtualNetworks/vnet/subnets/integration"));
        assert_eq!(p["siteConfig"]["linuxFxVersion"], "DOCKER|secureacr2021.azurecr.io/app:v1");
        assert_eq!(p["siteConfig"]["vnetRouteAllEnabled"], true);
        assert_eq!(p["siteConfig"]["appSettings"], json!([{"name": "WEBSITE_PULL_IMAGE_OVER_VNET", "value": "true"}]));
        assert!(site.get("identity").is_none());
    }

    #[test]
    fn admin_credentials_are_filled_from_list_credentials_and_explicit_settings_win() {
        let s = scenario(
            "name = \"x\"\nfixture = \"recipe-2021\"\n[site.app_settings]\nDOCKER_REGISTRY_SERVER_PASSWORD = \"stale\"\n",
        );
        let plan = arm_plan(&s, SUB);
        let Some(PlanStep::AdminCredentials { step, .. }) = plan.last() else { panic!("{plan:?}") };
        assert_eq!(step.lookup.method, "POST");
        assert!(step.lookup.path.ends_with("/registries/secureacr2021/listCredentials?api-version=2023-07-01"));
        let answer = json!({"username": "secureacr2021", "passwords": [{"name": "password", "value": "p1"}, {"name": "password2", "value": "p2"}]});
        let put = step.complete(&answer).unwrap();
        assert_eq!(put.method, "PUT");
        assert!(put.path.ends_with("/sites/secureacrweb2021/config/appsettings?api-version=2024-11-01"));
        let props = &put.body.as_ref().unwrap()["properties"];
        assert_eq!(props["DOCKER_REGISTRY_SERVER_URL"], "https://secureacr2021.azurecr.io");
        assert_eq!(props["DOCKER_REGISTRY_SERVER_USERNAME"], "secureacr2021");
        assert_eq!(props["DOCKER_REGISTRY_SERVER_PASSWORD"], "stale");
        assert_eq!(props["WEBSITE_PULL_IMAGE_OVER_VNET"], "true");
        let err = step.complete(&json!({"username": "x"})).unwrap_err();
        assert_eq!(err.pointer, "/passwords/0/value");
    }

    #[test]
    fn a_disabled_admin_user_is_switched_off_after_its_credentials_were_configured() {
        let s = scenario("name = \"x\"\nfixture = \"recipe-2021\"\n[registry]\nadmin_user = false\n");
        let plan = arm_plan(&s, SUB);
        let PlanStep::Call(create) = &plan[4] else { panic!() };
        assert_eq!(create.body.as_ref().unwrap()["properties"]["adminUserEnabled"], true);
        let n = plan.len();
        assert!(matches!(plan[n - 2], PlanStep::AdminCredentials { .. }));
        let PlanStep::Call(off) = &plan[n - 1] else { panic!() };
        assert_eq!(
            (off.method.as_str(), off.body.as_ref().unwrap()),
            ("PATCH", &json!({"properties": {"adminUserEnabled": false}}))
        );
    }

    #[test]
    fn managed_identity_pull_plans_identity_roles_and_client_id() {
        let s = scenario(
            r#"
name = "mi"
fixture = "recipe-2021"
[[identity]]
name = "pull-identity"
[[role_assignment]]
principal = "identity:pull-identity"
role = "AcrPull"
scope = "registry:secureacr2021"
[[role_assignment]]
principal = "site"
role = "AcrPull"
scope = "resource_group"
[site]
credentials = "managed-identity"
identity = ["system", "user:pull-identity"]
pull_identity = "user:pull-identity"
"#,
        );
        let plan = arm_plan(&s, SUB);
        let c = calls(&plan);
        let at = |needle: &str| c.iter().position(|x| x.contains(needle)).unwrap_or_else(|| panic!("{needle}: {c:?}"));
        assert!(at("userAssignedIdentities/pull-identity") < at("sites/secureacrweb2021"));
        assert!(at("sites/secureacrweb2021") < at("client id of pull-identity"));
        assert!(at("client id of pull-identity") < at("role AcrPull on secureacr2021"));
        assert!(at("role AcrPull on secureacr2021") < at("role AcrPull on secureacrsetup"));
        let site = body(&plan, "/sites/secureacrweb2021");
        assert_eq!(site["identity"]["type"], "SystemAssigned, UserAssigned");
        let uid = format!(
            "/subscriptions/{SUB}/resourceGroups/secureacrsetup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/pull-identity"
        );
        assert!(site["identity"]["userAssignedIdentities"].get(&uid).is_some(), "{site}");
        assert_eq!(site["properties"]["siteConfig"]["acrUseManagedIdentityCreds"], true);
        let Some(PlanStep::UserIdentityClientId { step, .. }) =
            plan.iter().find(|p| matches!(p, PlanStep::UserIdentityClientId { .. }))
        else {
            panic!()
        };
        let patch = step.complete(&json!({"properties": {"clientId": "c-1", "principalId": "p-1"}})).unwrap();
        assert!(patch.path.ends_with("/sites/secureacrweb2021/config/web?api-version=2024-11-01"));
        assert_eq!(patch.body.unwrap(), json!({"properties": {"acrUserManagedIdentityID": "c-1"}}));
        let roles: Vec<&Deferred> = plan
            .iter()
            .filter_map(|p| match p {
                PlanStep::RoleAssignment { step, .. } => Some(step),
                _ => None,
            })
            .collect();
        assert!(roles[0].lookup.path.contains("/userAssignedIdentities/pull-identity?"));
        let put = roles[0].complete(&json!({"properties": {"principalId": "p-1"}})).unwrap();
        assert!(put.path.contains("/registries/secureacr2021/providers/Microsoft.Authorization/roleAssignments/"));
        assert!(put.path.ends_with("?api-version=2022-04-01"));
        let b = put.body.unwrap();
        assert_eq!(b["properties"]["principalId"], "p-1");
        assert!(
            b["properties"]["roleDefinitionId"].as_str().unwrap().ends_with("7f951dda-4ed3-4680-a7ca-43fe172d538d")
        );
        assert!(roles[1].lookup.path.contains("/sites/secureacrweb2021?"));
        let put = roles[1].complete(&json!({"identity": {"principalId": "p-2"}})).unwrap();
        assert!(put.path.starts_with(&format!(
            "/subscriptions/{SUB}/resourceGroups/secureacrsetup/providers/Microsoft.Authorization/roleAssignments/"
        )));
        // Same scenario, same plan (role assignment names are derived, not random).
        assert_eq!(arm_plan(&s, SUB), plan);
    }

    #[test]
    fn legacy_site_properties_go_through_api_version_2024_04_01_and_placeholders_are_filled() {
        let s = scenario(
            r#"
name = "x"
fixture = "recipe-2021"
[site.properties]
vnetImagePullEnabled = true
outboundVnetRouting = { imagePullTraffic = true }
[site.config]
acrUserManagedIdentityID = "/subscriptions/{subscription}/resourceGroups/{resource_group}/x"
"#,
        );
        let plan = arm_plan(&s, SUB);
        let site = body(&plan, "/sites/secureacrweb2021");
        assert_eq!(site["properties"]["outboundVnetRouting"], json!({"imagePullTraffic": true}));
        assert!(site["properties"].get("vnetImagePullEnabled").is_none());
        assert_eq!(
            site["properties"]["siteConfig"]["acrUserManagedIdentityID"],
            format!("/subscriptions/{SUB}/resourceGroups/secureacrsetup/x")
        );
        let patch = plan
            .iter()
            .find_map(|p| match p {
                PlanStep::Call(c) if c.method == "PATCH" && c.path.contains("/sites/") => Some(c),
                _ => None,
            })
            .unwrap();
        assert!(patch.path.ends_with("?api-version=2024-04-01"));
        assert_eq!(patch.body.as_ref().unwrap(), &json!({"properties": {"vnetImagePullEnabled": true}}));
    }

    #[test]
    fn peerings_custom_dns_records_and_manual_endpoints() {
        let s = scenario(
            r#"
name = "x"
fixture = "recipe-2021"
[[vnet]]
name = "hub"
address_space = ["10.1.0.0/16"]
subnets = [{ name = "dns", prefix = "10.1.0.0/24" }]
peerings = [{ name = "hub-to-vnet", remote = "vnet", bidirectional = true }]
[[custom_dns]]
name = "dns1"
vnet = "hub"
address = "10.1.0.4"
upstream = "Public"
forwarders = [{ zone = "privatelink.azurecr.io", targets = ["AzureDns", "10.1.0.5"] }]
[[private_dns_zone]]
name = "privatelink.azurecr.io"
records = [{ name = "extra", type = "A", values = ["10.0.2.9"] }, { name = "alias", type = "CNAME", values = ["extra.privatelink.azurecr.io"] }]
[[private_endpoint]]
name = "acr-pe"
manual_approval = true
"#,
        );
        let plan = arm_plan(&s, SUB);
        let c = calls(&plan);
        assert!(c.iter().any(|x| x.contains("/virtualNetworks/hub/virtualNetworkPeerings/hub-to-vnet?")));
        assert!(c.iter().any(|x| x.contains("/virtualNetworks/vnet/virtualNetworkPeerings/vnet-to-hub?")));
        let spec = plan
            .iter()
            .find_map(|p| match p {
                PlanStep::CustomDns(c) => Some(c),
                _ => None,
            })
            .unwrap();
        assert_eq!(spec.address.to_string(), "10.1.0.4");
        assert!(spec.vnet_id.ends_with("/virtualNetworks/hub"));
        assert_eq!(spec.upstream, Upstream::Public);
        assert_eq!(
            spec.forwarders[0].targets.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
            ["168.63.129.16", "10.1.0.5"]
        );
        assert_eq!(body(&plan, "/A/extra")["properties"]["aRecords"], json!([{"ipv4Address": "10.0.2.9"}]));
        assert_eq!(body(&plan, "/CNAME/alias")["properties"]["cnameRecord"]["cname"], "extra.privatelink.azurecr.io");
        let pe = body(&plan, "/privateEndpoints/acr-pe");
        assert!(pe["properties"].get("privateLinkServiceConnections").is_none());
        assert_eq!(
            pe["properties"]["manualPrivateLinkServiceConnections"][0]["properties"]["groupIds"],
            json!(["registry"])
        );
    }

    #[test]
    fn step_paths_relative_to_the_group_become_absolute_calls() {
        let s = scenario(
            r#"
name = "x"
fixture = "recipe-2021"
[[step]]
arm = "PATCH registries/secureacr2021"
body = { properties = { adminUserEnabled = false } }
[[step]]
arm = "GET /subscriptions/{subscription}/resourceGroups/secureacrsetup/providers/Microsoft.Web/sites/secureacrweb2021?api-version=2022-03-01"
"#,
        );
        let Step::Arm(a) = &s.steps[0] else { panic!() };
        let call = a.call(SUB);
        assert_eq!(
            call.path,
            format!(
                "/subscriptions/{SUB}/resourceGroups/secureacrsetup/providers/Microsoft.ContainerRegistry/registries/secureacr2021?api-version=2023-07-01"
            )
        );
        assert_eq!(call.method, "PATCH");
        assert_eq!(call.body.unwrap(), json!({"properties": {"adminUserEnabled": false}}));
        let Step::Arm(b) = &s.steps[1] else { panic!() };
        assert!(b.call(SUB).path.ends_with("/sites/secureacrweb2021?api-version=2022-03-01"));
    }
}
