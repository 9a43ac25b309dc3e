//! The July 2021 recipe (docs/azure.md A1–A8), built through ARM exactly as
//! `tests/tests/worker_seed.rs` builds it, but with names numbered so that many recipes
//! live side by side in one environment (one resource group, VNET, registry, private
//! endpoint, private DNS zone and site each).
//!
//! ARM is called in process (`Arm::handle`, the pure request → response function the
//! HTTPS server wraps), as the seed tests do; the worker then reads the site over HTTPS
//! and pulls over real sockets.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mock_azure::acr::oci::RepoName;
use mock_azure::acr::{Image, Repo, push_image};
use mock_azure::appservice::rules::Epoch;
use mock_azure::arm::{Arm, ArmRequest};
use pullsim::embedded::Env;
use serde_json::{Value, json};

/// A bearer token ARM accepts, valid for a day.
pub fn arm_token(arm: &Arm) -> String {
    arm.cfg.client_token(&arm.signer, 86_400)
}

/// ARM calls against one environment's ARM, in process.
pub struct ArmClient<'a> {
    /// The ARM.
    pub arm: &'a Arm,
    bearer: String,
    /// Calls made so far.
    pub calls: usize,
}

impl<'a> ArmClient<'a> {
    /// A client with a fresh token.
    pub fn new(arm: &'a Arm) -> ArmClient<'a> {
        ArmClient { bearer: format!("Bearer {}", arm_token(arm)), arm, calls: 0 }
    }

    /// One call that must succeed (2xx); returns the body.
    pub fn ok(&mut self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut req = ArmRequest::new(method, &format!("{path}{sep}api-version=2024-11-01"))
            .header("authorization", &self.bearer);
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.calls += 1;
        let r = self.arm.handle(&req);
        if !(200..300).contains(&r.status) {
            bail!("{method} {path}: {} {}", r.status, String::from_utf8_lossy(&r.body));
        }
        Ok(r.json_body())
    }
}

/// One recipe's names.
#[derive(Debug, Clone)]
pub struct Recipe {
    /// Resource group ID.
    pub rg: String,
    /// Registry name.
    pub registry: String,
    /// Site ID.
    pub site: String,
    /// Image reference host/repo:tag.
    pub image: String,
}

impl Recipe {
    /// The names of recipe number `i` in subscription `sub`.
    pub fn named(sub: &str, i: usize) -> Recipe {
        let rg = format!("/subscriptions/{sub}/resourceGroups/bench-{i:06}");
        let registry = format!("benchacr{i:06}");
        Recipe {
            site: format!("{rg}/providers/Microsoft.Web/sites/benchweb{i:06}"),
            image: format!("{registry}.azurecr.io/app:v1"),
            rg,
            registry,
        }
    }

    fn id(&self, path: &str) -> String {
        format!("{}/providers/{path}", self.rg)
    }
}

/// How long the parts of building one recipe took.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildTimes {
    /// The ARM calls.
    pub arm: Duration,
    /// Pushing the image into the ACR's store.
    pub push: Duration,
    /// Number of ARM calls.
    pub calls: usize,
}

/// Builds recipe `i` through ARM and pushes `image` into its registry (public network
/// access disabled; admin user; private endpoint with its zone group; linked zone;
/// site integrated with route-all and WEBSITE_PULL_IMAGE_OVER_VNET).
pub async fn build(env: &Env, i: usize, image: &Image) -> anyhow::Result<(Recipe, BuildTimes)> {
    let r = Recipe::named(&env.arm.cfg.subscription_id, i);
    let mut c = ArmClient::new(&env.arm);
    let t0 = Instant::now();
    c.ok("PUT", &r.rg, Some(json!({"location": "westeurope"})))?;
    let vnet_id = r.id("Microsoft.Network/virtualNetworks/vnet");
    c.ok(
        "PUT",
        &vnet_id,
        Some(json!({"location": "westeurope", "properties": {
        "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
        "subnets": [
            {"name": "integration", "properties": {"addressPrefix": "10.0.1.0/24",
                "delegations": [{"name": "web", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}]}},
            {"name": "pe", "properties": {"addressPrefix": "10.0.2.0/24"}},
        ]}})),
    )?;
    let reg_id = r.id(&format!("Microsoft.ContainerRegistry/registries/{}", r.registry));
    c.ok(
        "PUT",
        &reg_id,
        Some(json!({"location": "westeurope", "sku": {"name": "Premium"},
            "properties": {"adminUserEnabled": true, "publicNetworkAccess": "Disabled"}})),
    )?;
    let arm_time = t0.elapsed();

    let t_push = Instant::now();
    let repo = Repo::new(&r.registry, RepoName::parse("app").context("repo name")?).context("repo")?;
    push_image(env.acr.blobs().as_ref(), &repo, image, Some("v1")).await.context("pushing the image")?;
    let push = t_push.elapsed();

    let t1 = Instant::now();
    let zone_id = r.id("Microsoft.Network/privateDnsZones/privatelink.azurecr.io");
    c.ok("PUT", &zone_id, Some(json!({"location": "global"})))?;
    c.ok(
        "PUT",
        &format!("{zone_id}/virtualNetworkLinks/acrlink"),
        Some(json!({"location": "global", "properties": {"virtualNetwork": {"id": vnet_id}, "registrationEnabled": false}})),
    )?;
    let pe_id = r.id("Microsoft.Network/privateEndpoints/acr-pe");
    c.ok(
        "PUT",
        &pe_id,
        Some(json!({"location": "westeurope", "properties": {
            "subnet": {"id": format!("{vnet_id}/subnets/pe")},
            "privateLinkServiceConnections": [{"name": "acrconn", "properties": {"privateLinkServiceId": reg_id, "groupIds": ["registry"]}}]}})),
    )?;
    c.ok(
        "PUT",
        &format!("{pe_id}/privateDnsZoneGroups/default"),
        Some(json!({"properties": {"privateDnsZoneConfigs": [{"name": "registry", "properties": {
            "privateDnsZoneId": zone_id}}]}})),
    )?;
    let plan_id = r.id("Microsoft.Web/serverfarms/plan");
    c.ok(
        "PUT",
        &plan_id,
        Some(json!({"location": "westeurope", "kind": "linux", "sku": {"name": "P1v3"}, "properties": {"reserved": true}})),
    )?;
    let creds = c.ok("POST", &format!("{reg_id}/listCredentials"), None)?;
    c.ok(
        "PUT",
        &r.site,
        Some(json!({"location": "westeurope", "properties": {
        "serverFarmId": plan_id,
        "virtualNetworkSubnetId": format!("{vnet_id}/subnets/integration"),
        "siteConfig": {
            "linuxFxVersion": format!("DOCKER|{}", r.image),
            "vnetRouteAllEnabled": true,
            "appSettings": [
                {"name": "DOCKER_REGISTRY_SERVER_URL", "value": format!("https://{}.azurecr.io", r.registry)},
                {"name": "DOCKER_REGISTRY_SERVER_USERNAME", "value": r.registry},
                {"name": "DOCKER_REGISTRY_SERVER_PASSWORD", "value": creds["passwords"][0]["value"]},
                {"name": "WEBSITE_PULL_IMAGE_OVER_VNET", "value": "true"},
            ]}}})),
    )?;
    let arm_time = arm_time + t1.elapsed();
    Ok((r, BuildTimes { arm: arm_time, push, calls: c.calls }))
}

/// Pulls a recipe's site under the July 2021 rules; fails unless the pull succeeds.
pub async fn pull(env: &Env, r: &Recipe) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let report = env.pull(&r.site, Epoch::E2021_07).await.map_err(|e| anyhow::anyhow!("pulling {}: {e}", r.site))?;
    let d = t.elapsed();
    if !report.outcome.success {
        bail!("the pull of {} failed: {:?}\n{:#?}", r.site, report.outcome, report.trace.steps);
    }
    Ok(d)
}
