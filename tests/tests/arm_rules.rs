//! The Azure rules that live in ARM (docs/azure.md A, D and F), each through ARM requests:
//! private endpoint addresses and their life cycle, SKU rules, subnets in use, peering.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use pullsim_tests::ArmFixture;
use pullsim_tests::client_resources;
use serde_json::{Value, json};

const RG: &str = "/subscriptions/{sub}/resourceGroups/rg";
const V: &str = "?api-version=2024-11-01";

fn net(path: &str) -> String {
    format!("{RG}/providers/Microsoft.Network/{path}{V}")
}

fn registry_path(name: &str) -> String {
    format!("{RG}/providers/Microsoft.ContainerRegistry/registries/{name}{V}")
}

/// A resource group, a VNET (integration subnet delegated to App Service, PE subnet),
/// a Premium registry and a private DNS zone linked to the VNET.
fn topology() -> ArmFixture {
    let f = ArmFixture::new();
    f.ok("PUT", &format!("{RG}{V}"), Some(&json!({"location": "westeurope"})));
    f.ok(
        "PUT",
        &net("virtualNetworks/vnet"),
        Some(&json!({"location": "westeurope", "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [
                {"name": "integration", "properties": {"addressPrefix": "10.0.1.0/24",
                    "delegations": [{"name": "web", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}]}},
                {"name": "pe", "properties": {"addressPrefix": "10.0.2.0/24"}},
            ],
        }})),
    );
    f.ok("PUT", &registry_path("secureacr2021"), Some(&json!({"location": "westeurope", "sku": {"name": "Premium"}})));
    f.ok("PUT", &net("privateDnsZones/privatelink.azurecr.io"), Some(&json!({"location": "global"})));
    f
}

fn endpoint_body(f: &ArmFixture, subnet: &str, registry: &str) -> Value {
    json!({"location": "westeurope", "properties": {
        "subnet": {"id": format!("/subscriptions/{}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/{subnet}", f.sub())},
        "privateLinkServiceConnections": [{"name": "conn", "properties": {
            "privateLinkServiceId": format!("/subscriptions/{}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/{registry}", f.sub()),
            "groupIds": ["registry"]}}],
    }})
}

fn dns_ips(pe: &Value) -> Vec<String> {
    pe["properties"]["customDnsConfigs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["ipAddresses"][0].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn private_endpoints_take_the_lowest_free_addresses_from_dot_four() {
    let f = topology();
    let a = f.ok("PUT", &net("privateEndpoints/pe-a"), Some(&endpoint_body(&f, "pe", "secureacr2021")));
    assert_eq!(dns_ips(&a), ["10.0.2.4", "10.0.2.5"]);
    let b = f.ok("PUT", &net("privateEndpoints/pe-b"), Some(&endpoint_body(&f, "pe", "secureacr2021")));
    assert_eq!(dns_ips(&b), ["10.0.2.6", "10.0.2.7"]);
    // Deleting the first frees .4/.5 for the next one.
    f.ok("DELETE", &net("privateEndpoints/pe-a"), None);
    let c = f.ok("PUT", &net("privateEndpoints/pe-c"), Some(&endpoint_body(&f, "pe", "secureacr2021")));
    assert_eq!(dns_ips(&c), ["10.0.2.4", "10.0.2.5"]);
}

#[test]
fn deleting_a_private_endpoint_removes_its_nic_connection_and_zone_records() {
    let f = topology();
    let pe = f.ok("PUT", &net("privateEndpoints/acr-pe"), Some(&endpoint_body(&f, "pe", "secureacr2021")));
    let nic = pe["properties"]["networkInterfaces"][0]["id"].as_str().unwrap().to_string();
    let zone_id = format!(
        "/subscriptions/{}/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/privatelink.azurecr.io",
        f.sub()
    );
    f.ok(
        "PUT",
        &net("privateEndpoints/acr-pe/privateDnsZoneGroups/default"),
        Some(&json!({"properties": {"privateDnsZoneConfigs": [{"name": "registry", "properties": {"privateDnsZoneId": zone_id}}]}})),
    );
    let records = f.ok("GET", &net("privateDnsZones/privatelink.azurecr.io/A"), None);
    assert_eq!(records["value"].as_array().unwrap().len(), 2);
    let reg = f.ok("GET", &registry_path("secureacr2021"), None);
    assert_eq!(reg["properties"]["privateEndpointConnections"].as_array().unwrap().len(), 1);

    f.ok("DELETE", &net("privateEndpoints/acr-pe"), None);
    f.err("GET", &format!("{nic}{V}"), None, 404, "ResourceNotFound");
    let reg = f.ok("GET", &registry_path("secureacr2021"), None);
    assert_eq!(reg["properties"]["privateEndpointConnections"], json!([]));
    let records = f.ok("GET", &net("privateDnsZones/privatelink.azurecr.io/A"), None);
    assert_eq!(records["value"], json!([]), "the zone group's records went with the endpoint");
    // The link (if any) stays: the stale-link case of docs/azure.md E is then NXDOMAIN.
    f.ok("GET", &net("privateDnsZones/privatelink.azurecr.io"), None);
}

#[test]
fn private_endpoints_need_a_premium_registry_and_an_undelegated_subnet() {
    let f = topology();
    f.ok("PUT", &registry_path("standardacr1"), Some(&json!({"location": "westeurope", "sku": {"name": "Standard"}})));
    let before = f.store_state();
    let m = f.err(
        "PUT",
        &net("privateEndpoints/pe"),
        Some(&endpoint_body(&f, "pe", "standardacr1")),
        400,
        "PrivateEndpointNotSupportedForSku",
    );
    assert!(m.contains("SKU Standard"), "{m}");
    f.err(
        "PUT",
        &net("privateEndpoints/pe"),
        Some(&endpoint_body(&f, "integration", "secureacr2021")),
        400,
        "PrivateEndpointCreationNotAllowedAsSubnetIsDelegated",
    );
    assert_eq!(f.store_state(), before, "refused creations leave nothing behind");
}

#[test]
fn network_rules_need_premium_and_deny_lists_take_cidrs() {
    let f = topology();
    f.ok("PUT", &registry_path("basicacr01"), Some(&json!({"location": "westeurope", "sku": {"name": "Basic"}})));
    let m = f.err(
        "PATCH",
        &registry_path("basicacr01"),
        Some(&json!({"properties": {"networkRuleSet": {"defaultAction": "Deny"}}})),
        400,
        "NetworkRuleNotSupported",
    );
    assert!(m.contains("SKU Basic"), "{m}");
    let r = f.ok(
        "PATCH",
        &registry_path("secureacr2021"),
        Some(&json!({"properties": {"networkRuleSet": {"defaultAction": "Deny", "ipRules": [{"action": "Allow", "value": "20.1.2.3"}, {"action": "Allow", "value": "20.9.0.0/16"}]}}})),
    );
    assert_eq!(r["properties"]["networkRuleSet"]["ipRules"][1]["value"], "20.9.0.0/16");
    f.err(
        "PATCH",
        &registry_path("secureacr2021"),
        Some(
            &json!({"properties": {"networkRuleSet": {"defaultAction": "Deny", "ipRules": [{"value": "not-an-ip"}]}}}),
        ),
        400,
        "BadRequest",
    );
}

#[test]
fn a_subnet_in_use_by_a_private_endpoint_cannot_be_deleted() {
    let f = topology();
    f.ok("PUT", &net("privateEndpoints/acr-pe"), Some(&endpoint_body(&f, "pe", "secureacr2021")));
    let m = f.err("DELETE", &net("virtualNetworks/vnet/subnets/pe"), None, 400, "InUseSubnetCannotBeDeleted");
    assert!(m.contains("acr-pe"), "{m}");
    f.err("DELETE", &net("virtualNetworks/vnet"), None, 400, "InUseSubnetCannotBeDeleted");
    // Deleting the whole resource group takes everything, in order.
    f.ok("DELETE", &format!("{RG}{V}"), None);
    assert_eq!(client_resources(&f.arm.store), 0);
}

#[test]
fn peering_connects_only_when_both_directions_exist_and_spaces_do_not_overlap() {
    let f = topology();
    f.ok(
        "PUT",
        &net("virtualNetworks/hub"),
        Some(&json!({"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]}}})),
    );
    f.ok(
        "PUT",
        &net("virtualNetworks/clash"),
        Some(
            &json!({"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.128.0/17"]}}}),
        ),
    );
    let id = |v: &str| {
        format!("/subscriptions/{}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/{v}", f.sub())
    };
    let one = f.ok(
        "PUT",
        &net("virtualNetworks/vnet/virtualNetworkPeerings/to-hub"),
        Some(&json!({"properties": {"remoteVirtualNetwork": {"id": id("hub")}, "allowVirtualNetworkAccess": true}})),
    );
    assert_eq!(one["properties"]["peeringState"], "Initiated");
    let two = f.ok(
        "PUT",
        &net("virtualNetworks/hub/virtualNetworkPeerings/to-vnet"),
        Some(&json!({"properties": {"remoteVirtualNetwork": {"id": id("vnet")}, "allowVirtualNetworkAccess": true}})),
    );
    assert_eq!(two["properties"]["peeringState"], "Connected");
    let back = f.ok("GET", &net("virtualNetworks/vnet/virtualNetworkPeerings/to-hub"), None);
    assert_eq!(back["properties"]["peeringState"], "Connected");
    f.err(
        "PUT",
        &net("virtualNetworks/vnet/virtualNetworkPeerings/to-clash"),
        Some(&json!({"properties": {"remoteVirtualNetwork": {"id": id("clash")}}})),
        400,
        "VnetAddressSpacesOverlap",
    );
}

#[test]
fn site_reads_agree_on_route_all_across_api_versions() {
    let f = topology();
    let plan = format!("{RG}/providers/Microsoft.Web/serverfarms/plan");
    f.ok("PUT", &format!("{plan}{V}"), Some(&json!({"location": "westeurope", "kind": "linux", "sku": {"name": "P1v3"}, "properties": {"reserved": true}})));
    let site = format!("{RG}/providers/Microsoft.Web/sites/app");
    let plan_id = plan.replace("{sub}", f.sub());
    f.ok(
        "PUT",
        &format!("{site}?api-version=2022-03-01"),
        Some(&json!({"location": "westeurope", "properties": {"serverFarmId": plan_id, "vnetRouteAllEnabled": true, "vnetImagePullEnabled": true,
            "siteConfig": {"linuxFxVersion": "DOCKER|secureacr2021.azurecr.io/app:v1"}}})),
    );
    let at = |v: &str| f.ok("GET", &format!("{site}?api-version={v}"), None);
    assert_eq!(at("2022-03-01")["properties"]["vnetRouteAllEnabled"], true);
    assert_eq!(at("2024-11-01")["properties"]["outboundVnetRouting"]["applicationTraffic"], true);
    assert_eq!(at("2024-11-01")["properties"]["outboundVnetRouting"]["imagePullTraffic"], true);
    assert!(at("2024-11-01")["properties"].get("vnetRouteAllEnabled").is_none(), "gone from 2024-11-01");
    assert!(at("2021-02-01")["properties"].get("outboundVnetRouting").is_none(), "not yet in 2021-02-01");
    let web = f.ok("GET", &format!("{site}/config/web?api-version=2021-02-01"), None);
    assert_eq!(web["properties"]["vnetRouteAllEnabled"], true);
    // Turning it off through outboundVnetRouting is seen by every api-version.
    f.ok(
        "PATCH",
        &format!("{site}{V}"),
        Some(&json!({"properties": {"outboundVnetRouting": {"applicationTraffic": false}}})),
    );
    assert_eq!(at("2023-01-01")["properties"]["vnetRouteAllEnabled"], false);
}
