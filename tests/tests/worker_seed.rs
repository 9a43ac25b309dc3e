//! The seed claims of docs/azure.md A (July 2021) and their later epochs, end to end on the
//! embedded backend: the topology is built through ARM, the image pushed into the fake
//! ACR, and the worker pulls over real sockets (DNS from the route's source address,
//! TLS to the resolved endpoint, the ACR's firewall and auth, the 307 to the data
//! endpoint). Each test asserts outcome, stage, code and the step that decided it, and
//! that the oracle (written apart from the mechanism) predicts the same.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::collections::HashMap;

use mock_azure::acr::{Repo, generate_image, push_image};
use mock_azure::appservice::oracle::{ImageCatalog, ImageFacts, predict};
use mock_azure::appservice::rules::Epoch;
use mock_azure::appservice::trace::{Code, RouteKind, Stage};
use mock_azure::appservice::worker::PullReport;
use mock_azure::arm::{ArmRequest, ArmResponse};
use pullsim::embedded::{Env, EnvOptions};
use serde_json::{Value, json};

const REG: &str = "secureacr2021";

struct World {
    env: Env,
    token: String,
    site: String,
    rg: String,
    catalog: Catalog,
}

#[derive(Default)]
struct Catalog(HashMap<(String, String, String), ImageFacts>);

impl ImageCatalog for Catalog {
    fn facts(&self, registry: &str, repo: &str, reference: &str) -> ImageFacts {
        self.0.get(&(registry.into(), repo.into(), reference.into())).copied().unwrap_or(ImageFacts::Missing)
    }
}

impl World {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> ArmResponse {
        let path = if path.starts_with('/') { path.to_string() } else { format!("{}/providers/{path}", self.rg) };
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut req = ArmRequest::new(method, &format!("{path}{sep}api-version=2024-11-01"))
            .header("authorization", &format!("Bearer {}", self.token));
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.env.arm.handle(&req)
    }

    #[track_caller]
    fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let r = self.call(method, path, body);
        assert!((200..300).contains(&r.status), "{method} {path}: {} {}", r.status, String::from_utf8_lossy(&r.body));
        r.json_body()
    }

    fn id(&self, path: &str) -> String {
        format!("{}/providers/{path}", self.rg)
    }

    fn settings(&self) -> serde_json::Map<String, Value> {
        self.ok("POST", &format!("{}/config/appsettings/list", self.site), None)["properties"]
            .as_object()
            .unwrap()
            .clone()
    }

    fn set_settings(&self, f: impl FnOnce(&mut serde_json::Map<String, Value>)) {
        let mut s = self.settings();
        f(&mut s);
        self.ok("PUT", &format!("{}/config/appsettings", self.site), Some(json!({"properties": s})));
    }

    fn config(&self, patch: Value) {
        self.ok("PATCH", &format!("{}/config/web", self.site), Some(json!({"properties": patch})));
    }

    /// Pulls, and asserts the oracle agrees on success, route, stage and code.
    async fn pull(&self, epoch: Epoch) -> PullReport {
        let report = self.env.pull(&self.site, epoch).await.unwrap();
        let p = predict(&self.env.store, &self.catalog, &self.site, epoch);
        let o = &report.outcome;
        assert_eq!(
            (p.success, p.route, p.stage, p.code),
            (o.success, o.route, o.stage, o.code),
            "oracle disagrees with the mechanism\noracle rules: {:?}\ntrace: {:#?}",
            p.rules,
            report.trace.steps
        );
        report
    }
}

/// The July 2021 recipe, everything in place (docs/azure.md A1–A8).
async fn recipe() -> World {
    let env = Env::start(EnvOptions::default()).await.unwrap();
    let token = env.arm.cfg.client_token(&env.arm.signer, 3600);
    let rg = format!("/subscriptions/{}/resourceGroups/secureacrsetup", env.arm.cfg.subscription_id);
    let site = format!("{rg}/providers/Microsoft.Web/sites/secureacrweb2021");
    let mut w = World { env, token, site, rg: rg.clone(), catalog: Catalog::default() };
    w.ok("PUT", &rg, Some(json!({"location": "westeurope"})));
    w.ok(
        "PUT",
        "Microsoft.Network/virtualNetworks/vnet",
        Some(json!({"location": "westeurope", "properties": {
        "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
        "subnets": [
            {"name": "integration", "properties": {"addressPrefix": "10.0.1.0/24",
                "delegations": [{"name": "web", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}]}},
            {"name": "pe", "properties": {"addressPrefix": "10.0.2.0/24"}},
        ]}})),
    );
    w.ok(
        "PUT",
        &format!("Microsoft.ContainerRegistry/registries/{REG}"),
        Some(json!({"location": "westeurope", "sku": {"name": "Premium"},
            "properties": {"adminUserEnabled": true, "publicNetworkAccess": "Disabled"}})),
    );
    let image = generate_image(1, 3, 4096);
    let repo = Repo::new(REG, mock_azure::acr::oci::RepoName::parse("app").unwrap()).unwrap();
    push_image(w.env.acr.blobs().as_ref(), &repo, &image, Some("v1")).await.unwrap();
    w.catalog.0.insert((REG.into(), "app".into(), "v1".into()), ImageFacts::Pullable);
    w.ok("PUT", "Microsoft.Network/privateDnsZones/privatelink.azurecr.io", Some(json!({"location": "global"})));
    let vnet_id = w.id("Microsoft.Network/virtualNetworks/vnet");
    w.ok(
        "PUT",
        "Microsoft.Network/privateDnsZones/privatelink.azurecr.io/virtualNetworkLinks/acrlink",
        Some(json!({"location": "global", "properties": {"virtualNetwork": {"id": vnet_id}, "registrationEnabled": false}})),
    );
    let reg_id = w.id(&format!("Microsoft.ContainerRegistry/registries/{REG}"));
    w.ok(
        "PUT",
        "Microsoft.Network/privateEndpoints/acr-pe",
        Some(json!({"location": "westeurope", "properties": {
            "subnet": {"id": format!("{vnet_id}/subnets/pe")},
            "privateLinkServiceConnections": [{"name": "acrconn", "properties": {"privateLinkServiceId": reg_id, "groupIds": ["registry"]}}]}})),
    );
    w.ok(
        "PUT",
        "Microsoft.Network/privateEndpoints/acr-pe/privateDnsZoneGroups/default",
        Some(json!({"properties": {"privateDnsZoneConfigs": [{"name": "registry", "properties": {
            "privateDnsZoneId": w.id("Microsoft.Network/privateDnsZones/privatelink.azurecr.io")}}]}})),
    );
    w.ok(
        "PUT",
        "Microsoft.Web/serverfarms/plan",
        Some(json!({"location": "westeurope", "kind": "linux", "sku": {"name": "P1v3"}, "properties": {"reserved": true}})),
    );
    let creds = w.ok("POST", &format!("{reg_id}/listCredentials"), None);
    let site = w.site.clone();
    w.ok(
        "PUT",
        &site,
        Some(json!({"location": "westeurope", "properties": {
        "serverFarmId": w.id("Microsoft.Web/serverfarms/plan"),
        "virtualNetworkSubnetId": format!("{vnet_id}/subnets/integration"),
        "siteConfig": {
            "linuxFxVersion": format!("DOCKER|{REG}.azurecr.io/app:v1"),
            "vnetRouteAllEnabled": true,
            "appSettings": [
                {"name": "DOCKER_REGISTRY_SERVER_URL", "value": format!("https://{REG}.azurecr.io")},
                {"name": "DOCKER_REGISTRY_SERVER_USERNAME", "value": REG},
                {"name": "DOCKER_REGISTRY_SERVER_PASSWORD", "value": creds["passwords"][0]["value"]},
                {"name": "WEBSITE_PULL_IMAGE_OVER_VNET", "value": "true"},
            ]}}})),
    );
    w
}

fn step(r: &PullReport, stage: Stage) -> &mock_azure::appservice::trace::Step {
    r.trace
        .steps
        .iter()
        .rev()
        .find(|s| s.stage == stage)
        .unwrap_or_else(|| panic!("no {stage:?} step in {:#?}", r.trace.steps))
}

#[track_caller]
fn assert_failure(r: &PullReport, route: RouteKind, stage: Stage, code: Code) {
    let o = &r.outcome;
    assert_eq!(
        (o.success, o.route, o.stage, o.code),
        (false, Some(route), Some(stage), Some(code)),
        "{:#?}",
        r.trace.steps
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipe_2021_pulls_over_the_vnet_through_the_private_endpoint() {
    let w = recipe().await;
    let r = w.pull(Epoch::E2021_07).await;
    assert!(r.outcome.success, "{:#?}", r.trace.steps);
    assert_eq!(r.outcome.route, Some(RouteKind::Vnet));
    // A7: no WEBSITE_DNS_SERVER, Azure DNS with the linked zone gives the private address.
    let dns = r
        .trace
        .steps
        .iter()
        .find(|s| s.stage == Stage::Dns && s.summary.contains("secureacr2021.azurecr.io →"))
        .unwrap();
    assert!(dns.summary.contains("10.0.2.4") && dns.summary.contains("privatelink.azurecr.io"), "{}", dns.summary);
    let blob = step(&r, Stage::Blob);
    assert!(blob.summary.contains("secureacr2021.westeurope.data.azurecr.io"), "{}", blob.summary);
    assert!(r.log.iter().any(|l| l.contains("Attempting to pull image secureacr2021.azurecr.io/app:v1 from VNET.")));
    assert_eq!(r.log.last().unwrap(), "INFO  - Pull Image successful, Time taken: 0 Minutes and 0 Seconds");
    w.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_all_off_in_2021_07_fails_at_the_firewall_with_the_site_outbound_address() {
    let w = recipe().await;
    w.config(json!({"vnetRouteAllEnabled": false}));
    let r = w.pull(Epoch::E2021_07).await;
    assert_failure(&r, RouteKind::Public, Stage::Firewall, Code::AcrFirewallDenied);
    let outbound = w.ok("GET", &w.site, None)["properties"]["outboundIpAddresses"]
        .as_str()
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string();
    let m = r.outcome.message.clone().unwrap();
    assert!(m.contains(&format!("client with IP '{outbound}' is not allowed access")), "{m}");
    let route = step(&r, Stage::Route);
    assert!(route.decided_by.as_deref().unwrap().contains("route-all off"), "{route:?}");
    assert_eq!(route.rule, Some("route.2021-07"));
    w.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn website_vnet_route_all_setting_is_as_good_as_the_property_in_2021_07() {
    let w = recipe().await;
    w.config(json!({"vnetRouteAllEnabled": false}));
    w.set_settings(|s| {
        s.insert("WEBSITE_VNET_ROUTE_ALL".into(), json!("1"));
    });
    let r = w.pull(Epoch::E2021_07).await;
    assert!(r.outcome.success, "{:#?}", r.trace.steps);
    assert!(step(&r, Stage::Route).decided_by.as_deref().unwrap().contains("WEBSITE_VNET_ROUTE_ALL=1"));
    w.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_all_is_no_longer_needed_from_2021_11() {
    let w = recipe().await;
    w.config(json!({"vnetRouteAllEnabled": false}));
    let r = w.pull(Epoch::E2021_11).await;
    assert!(r.outcome.success, "{:#?}", r.trace.steps);
    assert_eq!(r.outcome.route, Some(RouteKind::Vnet));
    w.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_all_alone_does_not_carry_the_pull_in_2024_11() {
    let w = recipe().await;
    w.set_settings(|s| {
        s.remove("WEBSITE_PULL_IMAGE_OVER_VNET");
    });
    let r = w.pull(Epoch::E2024_11).await;
    assert_failure(&r, RouteKind::Public, Stage::Firewall, Code::AcrFirewallDenied);
    assert!(
        step(&r, Stage::Route)
            .decided_by
            .as_deref()
            .unwrap()
            .contains("applicationTraffic=true does not carry the pull")
    );
    // imagePullTraffic does.
    w.ok("PATCH", &w.site, Some(json!({"properties": {"outboundVnetRouting": {"imagePullTraffic": true}}})));
    let r = w.pull(Epoch::E2024_11).await;
    assert!(r.outcome.success, "{:#?}", r.trace.steps);
    assert!(r.log.iter().all(|l| !l.contains("ImagePullFailure")));
    w.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_user_disabled_fails_at_auth_with_acrs_unauthorized_message() {
    let w = recipe().await;
    w.ok(
        "PATCH",
        &w.id(&format!("Microsoft.ContainerRegistry/registries/{REG}")),
        Some(json!({"properties": {"adminUserEnabled": false}})),
    );
    let r = w.pull(Epoch::E2021_07).await;
    assert_failure(&r, RouteKind::Vnet, Stage::Auth, Code::AcrUnauthorized);
    let m = r.outcome.message.clone().unwrap();
    assert!(
        m.contains(
            "unauthorized: authentication required, visit https://aka.ms/acr/authorization for more information."
        ),
        "{m}"
    );
    assert!(r.log.iter().any(|l| l.contains("Pulling docker image secureacr2021.azurecr.io/app:v1 over VNET failed.")));
    w.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regenerated_password_makes_the_stored_one_stale() {
    let w = recipe().await;
    w.ok(
        "POST",
        &format!("{}/regenerateCredential", w.id(&format!("Microsoft.ContainerRegistry/registries/{REG}"))),
        Some(json!({"name": "password"})),
    );
    let r = w.pull(Epoch::E2021_07).await;
    assert_failure(&r, RouteKind::Vnet, Stage::Auth, Code::AcrUnauthorized);
    w.env.stop().await;
}

/// A managed identity with AcrPull, used instead of the admin user.
async fn with_managed_identity(w: &World, grant: bool) {
    let site = w.ok("PATCH", &w.site, Some(json!({"identity": {"type": "SystemAssigned"}})));
    let principal = site["identity"]["principalId"].as_str().unwrap().to_string();
    if grant {
        let reg_id = w.id(&format!("Microsoft.ContainerRegistry/registries/{REG}"));
        w.ok(
            "PUT",
            &format!("{reg_id}/providers/Microsoft.Authorization/roleAssignments/3f7c9d5e-1b2a-4c3d-8e4f-5a6b7c8d9e0f"),
            Some(json!({"properties": {
                "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d", w.env.arm.cfg.subscription_id),
                "principalId": principal, "principalType": "ServicePrincipal"}})),
        );
    }
    w.set_settings(|s| {
        s.remove("DOCKER_REGISTRY_SERVER_USERNAME");
        s.remove("DOCKER_REGISTRY_SERVER_PASSWORD");
    });
    w.config(json!({"acrUseManagedIdentityCreds": true}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_identity_cannot_pull_over_the_vnet_in_2021_07() {
    let w = recipe().await;
    with_managed_identity(&w, true).await;
    let r = w.pull(Epoch::E2021_07).await;
    assert_failure(&r, RouteKind::Vnet, Stage::Auth, Code::MiNotSupportedOverVnet);
    assert_eq!(step(&r, Stage::Auth).rule, Some("auth.mi-2021-07"));
    w.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_identity_with_acrpull_pulls_over_the_vnet_from_2021_11() {
    let w = recipe().await;
    with_managed_identity(&w, true).await;
    let r = w.pull(Epoch::E2021_11).await;
    assert!(r.outcome.success, "{:#?}", r.trace.steps);
    assert!(step(&r, Stage::Auth).summary.contains("managed identity"));
    w.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_identity_without_acrpull_is_refused_by_acr() {
    let w = recipe().await;
    with_managed_identity(&w, false).await;
    let r = w.pull(Epoch::E2021_11).await;
    assert_failure(&r, RouteKind::Vnet, Stage::Auth, Code::MiNoPullRole);
    w.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_vnet_integration_public_access_disabled_denies_the_pull() {
    let w = recipe().await;
    w.ok("PATCH", &w.site, Some(json!({"properties": {"virtualNetworkSubnetId": null}})));
    let site = w.ok("GET", &w.site, None);
    assert!(site["properties"]["virtualNetworkSubnetId"].is_null(), "{site}");
    let r = w.pull(Epoch::E2021_07).await;
    assert_failure(&r, RouteKind::Public, Stage::Firewall, Code::AcrFirewallDenied);
    assert_eq!(step(&r, Stage::Route).rule, Some("route.integration"));
    w.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_not_linked_to_the_integration_vnet_resolves_publicly_and_is_denied() {
    let w = recipe().await;
    w.ok("DELETE", "Microsoft.Network/privateDnsZones/privatelink.azurecr.io/virtualNetworkLinks/acrlink", None);
    let r = w.pull(Epoch::E2021_07).await;
    // Over the VNET, the public address leaves through the VNET's egress; ACR refuses it.
    assert_failure(&r, RouteKind::Vnet, Stage::Firewall, Code::AcrFirewallDenied);
    let dns = r.trace.steps.iter().find(|s| s.stage == Stage::Dns && s.summary.contains("→")).unwrap();
    assert!(dns.summary.contains("public address"), "{}", dns.summary);
    w.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_link_after_deleting_the_endpoint_is_nxdomain() {
    let w = recipe().await;
    w.ok("DELETE", "Microsoft.Network/privateEndpoints/acr-pe", None);
    let r = w.pull(Epoch::E2021_07).await;
    assert_failure(&r, RouteKind::Vnet, Stage::Dns, Code::DnsNxdomain);
    assert!(r.outcome.message.clone().unwrap().contains("no such host"));
    w.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_data_endpoint_record_fails_at_the_blob_stage() {
    let w = recipe().await;
    w.ok("DELETE", "Microsoft.Network/privateDnsZones/privatelink.azurecr.io/A/secureacr2021.westeurope.data", None);
    let r = w.pull(Epoch::E2021_07).await;
    assert_failure(&r, RouteKind::Vnet, Stage::Blob, Code::DnsNxdomain);
    w.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_tag_is_manifest_unknown() {
    let w = recipe().await;
    w.config(json!({"linuxFxVersion": "DOCKER|secureacr2021.azurecr.io/app:v2"}));
    let r = w.pull(Epoch::E2021_07).await;
    assert_failure(&r, RouteKind::Vnet, Stage::Manifest, Code::ManifestUnknown);
    assert!(r.outcome.message.clone().unwrap().ends_with("manifest unknown"));
    w.env.stop().await;
}

// Issue 16 (fidelity): scenarios/seed/fidelity/ states each of these as a scenario too.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_resolver_as_dns_server_answers_the_public_chain_and_the_firewall_decides() {
    let w = recipe().await;
    w.set_settings(|s| {
        s.insert("WEBSITE_DNS_SERVER".into(), json!("8.8.8.8"));
    });
    let r = w.pull(Epoch::E2021_11).await;
    // Not a timeout: 8.8.8.8 answers with the registry's public address, which refuses
    // the VNET's egress address.
    assert_failure(&r, RouteKind::Vnet, Stage::Firewall, Code::AcrFirewallDenied);
    let dns = r.trace.steps.iter().find(|s| s.stage == Stage::Dns && s.summary.contains("→")).unwrap();
    assert_eq!(dns.rule, Some("dns.public-resolver"), "{dns:?}");
    assert!(dns.summary.contains("public address, asked 8.8.8.8"), "{}", dns.summary);
    // An open registry serves the same pull.
    w.ok(
        "PATCH",
        &format!("Microsoft.ContainerRegistry/registries/{REG}"),
        Some(json!({"properties": {"publicNetworkAccess": "Enabled"}})),
    );
    let r = w.pull(Epoch::E2021_11).await;
    assert!(r.outcome.success, "{:#?}", r.trace.steps);
    w.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_endpoints_zone_group_takes_the_record_and_its_deletion_leaves_none() {
    let w = recipe().await;
    w.ok(
        "PUT",
        "Microsoft.Network/virtualNetworks/other",
        Some(json!({"location": "westeurope", "properties": {
            "addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
            "subnets": [{"name": "pe", "properties": {"addressPrefix": "10.1.2.0/24"}}]}})),
    );
    let reg_id = w.id(&format!("Microsoft.ContainerRegistry/registries/{REG}"));
    let other = w.id("Microsoft.Network/virtualNetworks/other");
    w.ok(
        "PUT",
        "Microsoft.Network/privateEndpoints/acr-pe2",
        Some(json!({"location": "westeurope", "properties": {
            "subnet": {"id": format!("{other}/subnets/pe")},
            "privateLinkServiceConnections": [{"name": "c2", "properties": {"privateLinkServiceId": reg_id, "groupIds": ["registry"]}}]}})),
    );
    let zone = w.id("Microsoft.Network/privateDnsZones/privatelink.azurecr.io");
    let group = json!({"properties": {"privateDnsZoneConfigs": [{"name": "registry", "properties": {"privateDnsZoneId": zone}}]}});
    w.ok("PUT", "Microsoft.Network/privateEndpoints/acr-pe2/privateDnsZoneGroups/default", Some(group.clone()));
    // The record set holds the second endpoint's address only.
    let a = w.ok("GET", &format!("{zone}/A/{REG}"), None);
    assert_eq!(a["properties"]["aRecords"], json!([{"ipv4Address": "10.1.2.4"}]), "{a}");
    let r = w.pull(Epoch::E2021_11).await;
    assert_failure(&r, RouteKind::Vnet, Stage::Connect, Code::PrivateAddressUnreachable);
    // Deleting the second endpoint removes what its group wrote: nothing is left.
    w.ok("DELETE", "Microsoft.Network/privateEndpoints/acr-pe2", None);
    assert_eq!(w.call("GET", &format!("{zone}/A/{REG}"), None).status, 404);
    let r = w.pull(Epoch::E2021_11).await;
    assert_failure(&r, RouteKind::Vnet, Stage::Dns, Code::DnsNxdomain);
    // The first endpoint's group written again restores the pull.
    w.ok("PUT", "Microsoft.Network/privateEndpoints/acr-pe/privateDnsZoneGroups/default", Some(group));
    assert!(w.pull(Epoch::E2021_11).await.outcome.success);
    w.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_overwritten_endpoint_leaves_the_newer_record() {
    let w = recipe().await;
    let reg_id = w.id(&format!("Microsoft.ContainerRegistry/registries/{REG}"));
    let vnet = w.id("Microsoft.Network/virtualNetworks/vnet");
    w.ok(
        "PUT",
        "Microsoft.Network/privateEndpoints/acr-pe2",
        Some(json!({"location": "westeurope", "properties": {
            "subnet": {"id": format!("{vnet}/subnets/pe")},
            "privateLinkServiceConnections": [{"name": "c2", "properties": {"privateLinkServiceId": reg_id, "groupIds": ["registry"]}}]}})),
    );
    let zone = w.id("Microsoft.Network/privateDnsZones/privatelink.azurecr.io");
    let group = json!({"properties": {"privateDnsZoneConfigs": [{"name": "registry", "properties": {"privateDnsZoneId": zone}}]}});
    w.ok("PUT", "Microsoft.Network/privateEndpoints/acr-pe2/privateDnsZoneGroups/default", Some(group));
    // acr-pe's group wrote the set first; acr-pe2's owns it now: deleting acr-pe leaves it.
    w.ok("DELETE", "Microsoft.Network/privateEndpoints/acr-pe", None);
    let a = w.ok("GET", &format!("{zone}/A/{REG}"), None);
    assert_eq!(a["properties"]["aRecords"], json!([{"ipv4Address": "10.0.2.6"}]), "{a}");
    assert!(w.pull(Epoch::E2021_11).await.outcome.success);
    w.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upper_case_repository_is_a_pull_failure_and_a_digest_beats_the_tag() {
    let mut w = recipe().await;
    w.config(json!({"linuxFxVersion": "DOCKER|secureacr2021.azurecr.io/App:v1"}));
    let r = w.pull(Epoch::E2024_11).await;
    let o = &r.outcome;
    assert_eq!(
        (o.success, o.route, o.stage, o.code),
        (false, None, Some(Stage::Config), Some(Code::ImageReferenceInvalid))
    );
    assert_eq!(o.message.as_deref(), Some("invalid reference format: repository name (App) must be lowercase"));
    assert!(r.log.iter().any(|l| l.contains("invalid reference format")), "{:?}", r.log);
    let ok = w.pull_digest_of_v1().await;
    w.catalog.0.insert((REG.into(), "app".into(), ok.clone()), ImageFacts::Pullable);
    w.config(json!({"linuxFxVersion": format!("DOCKER|secureacr2021.azurecr.io/app:gone@{ok}")}));
    let r = w.pull(Epoch::E2024_11).await;
    assert!(r.outcome.success, "{:#?}", r.trace.steps);
    assert_eq!(r.manifest_digest.as_deref(), Some(ok.as_str()));
    w.env.stop().await;
}

impl World {
    /// The manifest digest of app:v1, from a pull by tag.
    async fn pull_digest_of_v1(&self) -> String {
        self.config(json!({"linuxFxVersion": "DOCKER|secureacr2021.azurecr.io/app:v1"}));
        let r = self.env.pull(&self.site, Epoch::E2024_11).await.unwrap();
        r.manifest_digest.unwrap()
    }
}
