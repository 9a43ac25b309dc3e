//! The plan of the recipe and of each feature, call by call.

use std::path::PathBuf;

use serde_json::{Value, json};

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
            format!("PUT {rg}/providers/Microsoft.ContainerRegistry/registries/secureacr2021?api-version=2023-07-01"),
            "push images to secureacr2021".to_string(),
            format!("PATCH {rg}/providers/Microsoft.ContainerRegistry/registries/secureacr2021?api-version=2023-07-01"),
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
    assert_eq!(integration["properties"]["delegations"][0]["properties"]["serviceName"], "Microsoft.Web/serverFarms");
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
    assert!(b["properties"]["roleDefinitionId"].as_str().unwrap().ends_with("7f951dda-4ed3-4680-a7ca-43fe172d538d"));
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
