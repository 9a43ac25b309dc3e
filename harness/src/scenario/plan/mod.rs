//! The ARM plan: the ordered requests that build a scenario's topology through ARM as
//! the Azure CLI would, so an impossible configuration fails the way Azure fails it.
//!
//! Some requests need values only ARM knows once earlier requests ran — the registry's
//! admin password, a managed identity's principal or client ID. Those are
//! [`Deferred`] steps: the runner sends [`Deferred::lookup`], then sends what
//! [`Deferred::complete`] builds from the answer. What is not ARM at all (pushing images,
//! custom DNS servers) is handed to the runner as data.
//!
//! - `step`: the plan's vocabulary ([`ArmCall`], [`PlanStep`], [`Deferred`]).
//! - this module: [`arm_plan`], the order of the whole, and resource IDs.
//! - `network`, `registry`, `rbac`, `site`: the requests of each kind of resource.

mod network;
mod rbac;
mod registry;
mod site;
mod step;
#[cfg(test)]
mod tests;

use serde_json::Value;

use step::Fill;
pub use step::{ArmCall, CustomDnsSpec, Deferred, MissingInAnswer, PlanStep};

use super::model::*;
use super::schema::default_api_version;

/// The ordered steps that build `s`'s topology in `subscription`. A pure function of the
/// scenario: the same scenario gives the same plan.
pub fn arm_plan(s: &Scenario, subscription: &str) -> Vec<PlanStep> {
    let t = &s.topology;
    let mut p =
        Plan { t, ids: Ids { sub: subscription.to_string(), rg: t.resource_group.name.clone() }, out: Vec::new() };
    p.resource_group();
    // Network: each VNET with its subnets (as `az network vnet subnet create`), then the
    // peerings, which need both ends.
    for v in &t.vnets {
        p.vnet(v);
    }
    for v in &t.vnets {
        p.peerings(v);
    }
    for c in &t.custom_dns {
        p.custom_dns(c);
    }
    let admin_off_later = p.registries();
    for i in &t.identities {
        p.identity(i);
    }
    // Private DNS: zones, their links and records, before the endpoints' zone groups.
    for z in &t.private_dns_zones {
        p.private_dns_zone(z);
    }
    for pe in &t.private_endpoints {
        p.private_endpoint(pe);
    }
    if let Some(plan) = &t.plan {
        p.app_service_plan(plan);
    }
    if let (Some(site), Some(plan)) = (&t.site, &t.plan) {
        p.site(site, plan, &admin_off_later);
    }
    // Role assignments need principal IDs ARM gave out.
    for ra in &t.role_assignments {
        p.role_assignment(ra);
    }
    p.out
}

/// A plan being built: the topology, its resource IDs, the steps so far.
struct Plan<'t> {
    t: &'t Topology,
    ids: Ids,
    out: Vec<PlanStep>,
}

impl Plan<'_> {
    /// Adds a request that must succeed.
    fn call(&mut self, method: &str, path: String, body: Option<Value>, what: String) {
        self.out.push(PlanStep::Call(ArmCall::new(method, path, body, what)));
    }

    fn resource_group(&mut self) {
        let rg = &self.t.resource_group;
        let body = serde_json::json!({"location": rg.location});
        self.call("PUT", self.ids.rg(), Some(body), format!("create resource group {}", rg.name));
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
