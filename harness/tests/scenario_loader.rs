//! The scenario loader: the fixture and the seed examples load, overrides and matrices
//! do what the format says, every malformed file in `tests/malformed/` is refused with
//! the exact position and message, and no input makes the loader panic.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::path::{Path, PathBuf};

use mock_azure::appservice::rules::Epoch;
use mock_azure::appservice::trace::{Code, RouteKind, Stage};
use pullsim::scenario::*;

/// Fixtures: the repository's, and `tests/malformed` (for the broken one).
fn options() -> LoadOptions {
    LoadOptions::default().with_fixture_dir("../scenarios/fixtures").with_fixture_dir("tests/malformed")
}

fn seed(name: &str) -> Vec<Scenario> {
    let path = format!("../scenarios/seed/{name}.toml");
    // Seeds find the fixture beside their own directory, with no options.
    load(Path::new(&path), &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Loads a scenario written into a temporary directory (fixtures from the repository).
fn scenario(text: &str) -> Result<Vec<Scenario>, LoadErrors> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, text).unwrap();
    let fixtures = std::fs::canonicalize("../scenarios/fixtures").unwrap();
    load(&path, &LoadOptions::default().with_fixture_dir(fixtures))
}

fn one(text: &str) -> Scenario {
    let mut s = scenario(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.len(), 1);
    s.remove(0)
}

// ---- what loads -----------------------------------------------------------------------

#[test]
fn the_recipe_fixture_loads_as_the_july_2021_recipe() {
    let s = one("name = \"recipe\"\nfixture = \"recipe-2021\"\n");
    assert_eq!(s.fixture.as_ref().map(|(n, _)| n.as_str()), Some("recipe-2021"));
    assert_eq!(s.rules, None);
    assert_eq!(s.epoch(), Epoch::E2024_11, "the newest epoch by default");
    let t = &s.topology;
    assert_eq!((t.resource_group.name.as_str(), t.resource_group.location.as_str()), ("secureacrsetup", "westeurope"));
    let v = t.vnet("vnet").unwrap();
    assert_eq!(v.address_space.iter().map(|c| c.to_string()).collect::<Vec<_>>(), ["10.0.0.0/16"]);
    let subnets: Vec<(&str, String, Option<&str>)> =
        v.subnets.iter().map(|s| (s.name.as_str(), s.prefix.to_string(), s.delegation.as_deref())).collect();
    assert_eq!(
        subnets,
        [
            ("integration", "10.0.1.0/24".to_string(), Some("Microsoft.Web/serverFarms")),
            ("pe", "10.0.2.0/24".to_string(), None)
        ]
    );
    let r = t.registry("secureacr2021").unwrap();
    assert_eq!((r.sku, r.admin_user, r.public_network_access), (AcrSku::Premium, true, PublicNetworkAccess::Disabled));
    assert_eq!(r.login_server(), "secureacr2021.azurecr.io");
    assert_eq!(
        r.images,
        [ImageSpec {
            repo: "app".into(),
            tag: "v1".into(),
            layers: 3,
            layer_size: 1024,
            seed: 1,
            schema1: false,
            platforms: vec![]
        }]
    );
    let pe = &t.private_endpoints[0];
    assert_eq!(
        (pe.name.as_str(), pe.subnet.to_string(), pe.registry.as_str()),
        ("acr-pe", "vnet/pe".into(), "secureacr2021")
    );
    assert_eq!(pe.dns_zone_group, ["privatelink.azurecr.io"]);
    let z = &t.private_dns_zones[0];
    assert_eq!(
        (z.name.as_str(), z.links[0].name.as_str(), z.links[0].vnet.as_str()),
        ("privatelink.azurecr.io", "acrlink", "vnet")
    );
    assert!(!z.links[0].registration);
    assert_eq!(t.plan.as_ref().map(|p| (p.name.as_str(), p.sku.as_str())), Some(("plan", "P1v3")));
    let site = t.site.as_ref().unwrap();
    assert_eq!(site.name, "secureacrweb2021");
    assert_eq!(site.image.as_deref(), Some("secureacr2021.azurecr.io/app:v1"));
    assert_eq!(site.image_registry().as_deref(), Some("secureacr2021"));
    assert_eq!(site.vnet_integration.as_ref().map(ToString::to_string).as_deref(), Some("vnet/integration"));
    assert_eq!(site.credentials, Credentials::Admin);
    assert_eq!(site.app_settings.get("WEBSITE_PULL_IMAGE_OVER_VNET").map(String::as_str), Some("true"));
    assert_eq!(site.config.get("vnetRouteAllEnabled"), Some(&serde_json::json!(true)));
    assert!(s.steps.is_empty() && s.expect.is_none());
}

#[test]
fn route_all_off_seed_overrides_one_config_key_and_expects_the_firewall() {
    let s = seed("a6-route-all-off-2021-07");
    let s = &s[0];
    assert_eq!(s.rules, Some(Epoch::E2021_07));
    let site = s.topology.site.as_ref().unwrap();
    assert_eq!(site.config.get("vnetRouteAllEnabled"), Some(&serde_json::json!(false)));
    assert_eq!(
        site.app_settings.get("WEBSITE_PULL_IMAGE_OVER_VNET").map(String::as_str),
        Some("true"),
        "kept from the fixture"
    );
    assert_eq!(site.credentials, Credentials::Admin, "kept from the fixture");
    let e = s.expect.as_ref().unwrap();
    assert_eq!(e.pull, PullOutcome::Failure);
    assert_eq!(e.route, Some(RouteKind::Public));
    assert_eq!(e.stage, Some(Stage::Firewall));
    assert_eq!(e.code, Some(Code::AcrFirewallDenied));
    assert_eq!(e.message.as_deref(), Some("is not allowed access"));
    assert!(s.description.as_deref().unwrap().contains("docs/azure.md A5/A6"));
    assert!(s.file.ends_with("scenarios/seed/a6-route-all-off-2021-07.toml"));
    assert!(s.fixture.as_ref().unwrap().1.ends_with("scenarios/fixtures/recipe-2021.toml"));
}

#[test]
fn zone_delete_seed_has_its_steps_in_order_with_absolute_paths() {
    let s = seed("a9-zone-delete-needs-links-gone");
    let s = &s[0];
    assert_eq!(s.steps.len(), 5);
    let Step::Arm(first) = &s.steps[0] else { panic!("{:?}", s.steps[0]) };
    assert_eq!(first.method, Method::Delete);
    assert_eq!(
        first.path,
        "/subscriptions/{subscription}/resourceGroups/secureacrsetup/providers/Microsoft.Network/privateDnsZones/privatelink.azurecr.io?api-version=2024-06-01"
    );
    assert_eq!(
        first.expect,
        Some(ArmExpect {
            status: Some(409),
            code: Some("CannotDeleteResource".into()),
            message: Some("Please delete all nested resources".into())
        })
    );
    let Step::Arm(link) = &s.steps[1] else { panic!() };
    assert!(link.path.contains("/privateDnsZones/privatelink.azurecr.io/virtualNetworkLinks/acrlink?"));
    assert_eq!(s.steps[3], Step::Restart);
    let Step::Pull(Some(e)) = &s.steps[4] else { panic!() };
    assert_eq!((e.pull, e.route, e.code), (PullOutcome::Failure, Some(RouteKind::Vnet), Some(Code::AcrFirewallDenied)));
    assert_eq!(s.expect.as_ref().map(|e| e.pull), Some(PullOutcome::Success));
}

#[test]
fn matrix_seed_expands_to_four_named_cells_with_first_match_expectations() {
    let cells = seed("a5-a6-route-matrix-2021-07");
    let names: Vec<&str> = cells.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "July 2021: route-all x pull over VNET [route_all=true, pull_over_vnet=true]",
            "July 2021: route-all x pull over VNET [route_all=true, pull_over_vnet=unset]",
            "July 2021: route-all x pull over VNET [route_all=false, pull_over_vnet=true]",
            "July 2021: route-all x pull over VNET [route_all=false, pull_over_vnet=unset]",
        ]
    );
    let outcome: Vec<(PullOutcome, Option<Code>)> =
        cells.iter().map(|s| s.expect.as_ref().map(|e| (e.pull, e.code)).unwrap()).collect();
    assert_eq!(
        outcome,
        [
            (PullOutcome::Success, None),
            (PullOutcome::Failure, Some(Code::AcrFirewallDenied)),
            (PullOutcome::Failure, Some(Code::AcrFirewallDenied)),
            (PullOutcome::Failure, Some(Code::AcrFirewallDenied)),
        ]
    );
    assert_eq!(
        cells[1].cell,
        [("route_all".to_string(), "true".to_string()), ("pull_over_vnet".to_string(), "unset".to_string())]
    );
    let site = |i: usize| cells[i].topology.site.clone().unwrap();
    assert_eq!(site(2).config.get("vnetRouteAllEnabled"), Some(&serde_json::json!(false)));
    assert_eq!(site(0).app_settings.get("WEBSITE_PULL_IMAGE_OVER_VNET").map(String::as_str), Some("true"));
    assert!(
        !site(1).app_settings.contains_key("WEBSITE_PULL_IMAGE_OVER_VNET"),
        "\"unset\" removes the fixture's setting"
    );
}

// ---- overrides -------------------------------------------------------------------------

#[test]
fn overrides_merge_tables_by_key_lists_by_name_and_remove_entries() {
    let s = one(r#"
name = "overrides"
fixture = "recipe-2021"
unset = ["site.app_settings.WEBSITE_PULL_IMAGE_OVER_VNET", "private_dns_zone[privatelink.azurecr.io].links[acrlink].registration"]

[registry]
admin_user = false
images = [{ repo = "app", tag = "v2" }]

[[vnet]]
name = "vnet"
dns_servers = ["10.0.3.4"]
subnets = [{ name = "pe", prefix = "10.0.4.0/24" }, { name = "dns", prefix = "10.0.3.0/24" }]

[[vnet]]
name = "hub"
address_space = ["10.1.0.0/16"]

[[private_endpoint]]
name = "acr-pe"
remove = true

[site.app_settings]
WEBSITE_VNET_ROUTE_ALL = 1
WEBSITE_DNS_SERVER = "10.0.3.4"
"#);
    let t = &s.topology;
    let r = &t.registries[0];
    assert_eq!(r.name, "secureacr2021", "an unnamed [registry] changes the fixture's only registry");
    assert!(!r.admin_user);
    assert_eq!(r.sku, AcrSku::Premium, "untouched keys stay");
    let tags: Vec<&str> = r.images.iter().map(|i| i.tag.as_str()).collect();
    assert_eq!(tags, ["v1", "v2"], "images merge by repo:tag");
    let names: Vec<&str> = t.vnets.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["vnet", "hub"]);
    let v = &t.vnets[0];
    assert_eq!(v.dns_servers.iter().map(|d| d.to_string()).collect::<Vec<_>>(), ["10.0.3.4"]);
    let subnets: Vec<(&str, String)> = v.subnets.iter().map(|s| (s.name.as_str(), s.prefix.to_string())).collect();
    assert_eq!(
        subnets,
        [("integration", "10.0.1.0/24".into()), ("pe", "10.0.4.0/24".into()), ("dns", "10.0.3.0/24".into())]
    );
    assert_eq!(v.subnets[0].delegation.as_deref(), Some("Microsoft.Web/serverFarms"), "merged entries keep their keys");
    assert!(t.private_endpoints.is_empty(), "remove = true deletes the fixture's endpoint");
    let settings = &t.site.as_ref().unwrap().app_settings;
    let kv: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(kv, [("WEBSITE_DNS_SERVER", "10.0.3.4"), ("WEBSITE_VNET_ROUTE_ALL", "1")], "numbers become strings");
    assert_eq!(t.private_dns_zones[0].links.len(), 1);
}

#[test]
fn a_scenario_without_fixture_stands_alone_and_steps_take_bodies() {
    let s = one(r#"
name = "alone"
rules = "2024-11"
[resource_group]
name = "rg"
location = "northeurope"
[[identity]]
name = "id"
[[step]]
arm = "PATCH registries/r1"
body = { properties = { adminUserEnabled = false } }
expect = { status = 404, code = "ResourceNotFound" }
"#);
    assert_eq!(s.rules, Some(Epoch::E2024_11));
    assert!(s.fixture.is_none());
    assert_eq!(s.topology.identities, [Identity { name: "id".into() }]);
    let Step::Arm(a) = &s.steps[0] else { panic!() };
    assert_eq!(a.method, Method::Patch);
    assert_eq!(a.body, Some(serde_json::json!({"properties": {"adminUserEnabled": false}})));
    assert!(
        a.path
            .ends_with("/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r1?api-version=2023-07-01")
    );
}

#[test]
fn matrix_values_can_change_several_paths_and_a_cell_without_when_catches_the_rest() {
    let cells = scenario(
        r#"
name = "access"
fixture = "recipe-2021"
[[matrix.axis]]
name = "access"
values = [
  { name = "open", set = { "registry.public_network_access" = "Enabled", "registry.default_action" = "Allow" } },
  { name = "firewalled", set = { "registry.public_network_access" = "Enabled", "registry.default_action" = "Deny" } },
  { name = "closed", set = { "registry.public_network_access" = "Disabled" } },
]
[[matrix.axis]]
name = "admin"
set = ["registry[secureacr2021].admin_user"]
values = [true, false]
[[matrix.cell]]
when = { access = "open", admin = true }
pull = "success"
route = "vnet"
[[matrix.cell]]
when = { admin = false }
pull = "failure"
stage = "auth"
[[matrix.cell]]
pull = "success"
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cells.len(), 6);
    let firewalled = cells.iter().find(|c| c.name == "access [access=firewalled, admin=false]").unwrap();
    let r = &firewalled.topology.registries[0];
    assert_eq!(
        (r.public_network_access, r.default_action, r.admin_user),
        (PublicNetworkAccess::Enabled, DefaultAction::Deny, false)
    );
    assert_eq!(firewalled.expect.as_ref().unwrap().stage, Some(Stage::Auth));
    let closed = cells.iter().find(|c| c.name == "access [access=closed, admin=true]").unwrap();
    assert_eq!(closed.expect.as_ref().unwrap().pull, PullOutcome::Success);
    assert_eq!(closed.topology.registries[0].public_network_access, PublicNetworkAccess::Disabled);
}

#[test]
fn a_matrix_axis_can_pin_the_epoch_and_a_bad_epoch_value_is_reported_where_it_is_written() {
    let text = |values: &str| {
        format!(
            "name = \"epochs\"\nfixture = \"recipe-2021\"\n[[matrix.axis]]\nname = \"rules\"\nset = \"rules\"\nvalues = {values}\n[[matrix.cell]]\nwhen = {{ rules = \"2021-07\" }}\npull = \"success\"\n[[matrix.cell]]\npull = \"failure\"\n"
        )
    };
    let cells = scenario(&text("[\"2021-07\", \"2024-11\"]")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cells.iter().map(|c| c.rules).collect::<Vec<_>>(), [Some(Epoch::E2021_07), Some(Epoch::E2024_11)]);
    let e = scenario(&text("[\"2021-07\", \"2023-01\"]")).unwrap_err();
    assert_eq!(e.0.len(), 1, "{e}");
    assert_eq!(e.0[0].pos, Some(Pos { line: 6, column: 22 }));
    assert_eq!(
        e.0[0].message,
        "'rules' must be one of 2021-07, 2021-11, 2022-03, 2024-11, found '2023-01'; in 2023-01 the rules of '2022-03' held"
    );
}

#[test]
fn scenario_text_at_hand_loads_like_a_file() {
    let s = load_text(
        Path::new("../scenarios/seed/inline.toml"),
        "name = \"inline\"\nfixture = \"recipe-2021\"\n",
        &LoadOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s[0].name, "inline");
    assert!(s[0].fixture.as_ref().unwrap().1.ends_with("scenarios/fixtures/recipe-2021.toml"));
}

#[test]
fn a_matrix_with_an_uncovered_combination_is_refused_with_the_combinations_listed() {
    let e = scenario(
        r#"
name = "uncovered"
fixture = "recipe-2021"
[[matrix.axis]]
name = "a"
set = "site.config.vnetRouteAllEnabled"
values = [true, false]
[[matrix.axis]]
name = "b"
set = "registry.admin_user"
values = [true, false]
[[matrix.cell]]
when = { a = true, b = true }
pull = "success"
"#,
    )
    .unwrap_err();
    assert_eq!(e.0.len(), 1, "{e}");
    assert_eq!(
        e.0[0].message,
        "3 of 4 matrix combinations match no [[matrix.cell]]: [a=true, b=false], [a=false, b=true], [a=false, b=false]"
    );
}

// ---- the ARM plan through the fake ARM -----------------------------------------------------

mod through_arm {
    use std::sync::Arc;

    use mock_azure::arm::{Arm, ArmConfig, ArmRequest, ArmResponse};
    use mock_azure::identity::TokenSigner;
    use mock_azure::model::Store;
    use serde_json::{Value, json};

    use super::*;

    struct Fake {
        arm: Arm,
        token: String,
    }

    impl Fake {
        fn new() -> Fake {
            let signer = Arc::new(TokenSigner::generate().unwrap());
            let cfg = ArmConfig::new("https://127.0.0.1:1");
            let t = mock_azure::identity::token::now();
            let token = signer.sign(
                &json!({"aud": "https://management.azure.com/", "tid": cfg.tenant_id, "iat": t - 60, "exp": t + 3600,
                    "oid": cfg.object_id()}),
            );
            Fake { arm: Arm::new(Store::in_memory(), signer, cfg), token }
        }

        fn sub(&self) -> String {
            self.arm.cfg.subscription_id.clone()
        }

        fn send(&self, c: &ArmCall) -> ArmResponse {
            let mut req =
                ArmRequest::new(&c.method, &c.path).header("authorization", &format!("Bearer {}", self.token));
            if let Some(b) = &c.body {
                req = req.json(b);
            }
            self.arm.handle(&req)
        }

        /// Sends `c`, which must succeed; its JSON answer.
        fn ok(&self, c: &ArmCall) -> Value {
            let r = self.send(c);
            assert!(
                (200..300).contains(&r.status),
                "{} ({} {}): {} {}",
                c.what,
                c.method,
                c.path,
                r.status,
                r.json_body()
            );
            r.json_body()
        }

        /// Runs a plan: ARM calls and deferred steps; images and DNS servers are not ARM's.
        fn build(&self, s: &Scenario) {
            for step in arm_plan(s, &self.sub()) {
                match step {
                    PlanStep::Call(c) => {
                        self.ok(&c);
                    }
                    PlanStep::AdminCredentials { step, .. }
                    | PlanStep::RoleAssignment { step, .. }
                    | PlanStep::UserIdentityClientId { step, .. } => {
                        let answer = self.ok(&step.lookup);
                        self.ok(&step.complete(&answer).unwrap());
                    }
                    PlanStep::PushImages { .. } | PlanStep::CustomDns(_) => {}
                }
            }
        }

        /// GET (POST for `list` actions) of a path under the resource group's providers.
        fn get(&self, path: &str) -> Value {
            let bare = path.split('?').next().unwrap_or_default();
            let method = if bare.ends_with("/list") || bare.ends_with("/listCredentials") { "POST" } else { "GET" };
            self.ok(&ArmCall {
                method: method.into(),
                path: format!("/subscriptions/{}/resourceGroups/secureacrsetup/providers/{path}", self.sub()),
                body: None,
                what: format!("read {bare}"),
            })
        }
    }

    #[test]
    fn the_recipe_plan_builds_the_recipe_in_the_fake_arm() {
        let s = one("name = \"recipe\"\nfixture = \"recipe-2021\"\n");
        let fake = Fake::new();
        fake.build(&s);
        let pe = fake.get("Microsoft.Network/privateEndpoints/acr-pe?api-version=2024-05-01");
        let ips: Vec<&str> = pe["properties"]["customDnsConfigs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["ipAddresses"][0].as_str().unwrap())
            .collect();
        assert_eq!(ips, ["10.0.2.4", "10.0.2.5"]);
        let record =
            fake.get("Microsoft.Network/privateDnsZones/privatelink.azurecr.io/A/secureacr2021?api-version=2024-06-01");
        assert_eq!(record["properties"]["aRecords"], json!([{"ipv4Address": "10.0.2.4"}]));
        let reg = fake.get("Microsoft.ContainerRegistry/registries/secureacr2021?api-version=2023-07-01");
        assert_eq!(
            (reg["properties"]["publicNetworkAccess"].as_str(), reg["properties"]["adminUserEnabled"].as_bool()),
            (Some("Disabled"), Some(true))
        );
        let site = fake.get("Microsoft.Web/sites/secureacrweb2021?api-version=2024-11-01");
        assert!(site["properties"]["virtualNetworkSubnetId"].as_str().unwrap().ends_with("/subnets/integration"));
        assert_eq!(site["properties"]["siteConfig"]["linuxFxVersion"], "DOCKER|secureacr2021.azurecr.io/app:v1");
        assert_eq!(site["properties"]["outboundVnetRouting"]["applicationTraffic"], true, "vnetRouteAllEnabled");
        let settings = fake.get("Microsoft.Web/sites/secureacrweb2021/config/appsettings/list?api-version=2024-11-01");
        let creds =
            fake.get("Microsoft.ContainerRegistry/registries/secureacr2021/listCredentials?api-version=2023-07-01");
        assert_eq!(settings["properties"]["DOCKER_REGISTRY_SERVER_URL"], "https://secureacr2021.azurecr.io");
        assert_eq!(settings["properties"]["DOCKER_REGISTRY_SERVER_USERNAME"], "secureacr2021");
        assert_eq!(settings["properties"]["DOCKER_REGISTRY_SERVER_PASSWORD"], creds["passwords"][0]["value"]);
        assert_eq!(settings["properties"]["WEBSITE_PULL_IMAGE_OVER_VNET"], "true");
    }

    #[test]
    fn every_seed_example_and_matrix_cell_builds_in_the_fake_arm() {
        let mut arm_steps = 0;
        for name in ["a6-route-all-off-2021-07", "a9-zone-delete-needs-links-gone", "a5-a6-route-matrix-2021-07"] {
            for s in seed(name) {
                let fake = Fake::new();
                fake.build(&s);
                // ARM steps answer what they expect (restarts and pulls are the runner's).
                for step in &s.steps {
                    let Step::Arm(a) = step else { continue };
                    let call = a.call(&fake.sub());
                    let r = fake.send(&call);
                    let body = r.json_body();
                    if let Some(e) = &a.expect {
                        assert_eq!(e.status, Some(r.status), "{}: {body}", call.what);
                        if let Some(code) = &e.code {
                            assert_eq!(body["error"]["code"].as_str(), Some(code.as_str()), "{}", call.what);
                        }
                        if let Some(m) = &e.message {
                            assert!(
                                body["error"]["message"].as_str().unwrap_or_default().contains(m.as_str()),
                                "{body}"
                            );
                        }
                    }
                    arm_steps += 1;
                }
            }
        }
        assert_eq!(arm_steps, 3);
    }

    #[test]
    fn managed_identity_roles_legacy_properties_and_a_disabled_admin_user_build_in_the_fake_arm() {
        let s = one(r#"
name = "everything deferred"
fixture = "recipe-2021"
[registry]
admin_user = false
data_endpoint = true
default_action = "Deny"
ip_rules = ["203.0.113.0/24"]
[[vnet]]
name = "hub"
address_space = ["10.1.0.0/16"]
subnets = [{ name = "dns", prefix = "10.1.0.0/24" }]
peerings = [{ name = "hub-to-vnet", remote = "vnet", bidirectional = true }]
[[identity]]
name = "pull-identity"
[[role_assignment]]
principal = "identity:pull-identity"
role = "AcrPull"
scope = "registry:secureacr2021"
[[role_assignment]]
principal = "site"
role = "Reader"
scope = "resource_group"
[[private_dns_zone]]
name = "privatelink.azurecr.io"
links = [{ name = "hublink", vnet = "hub", resolution_policy = "NxDomainRedirect" }]
records = [{ name = "extra", type = "A", values = ["10.0.2.9"] }]
[site]
identity = ["system", "user:pull-identity"]
[site.properties]
vnetImagePullEnabled = true
dnsConfiguration = { dnsServers = ["10.1.0.4"] }
"#);
        let fake = Fake::new();
        fake.build(&s);
        let reg = fake.get("Microsoft.ContainerRegistry/registries/secureacr2021?api-version=2023-07-01");
        assert_eq!(reg["properties"]["adminUserEnabled"], false, "switched off after the credentials were written");
        assert_eq!(reg["properties"]["networkRuleSet"]["defaultAction"], "Deny");
        let settings = fake.get("Microsoft.Web/sites/secureacrweb2021/config/appsettings/list?api-version=2024-11-01");
        assert!(settings["properties"]["DOCKER_REGISTRY_SERVER_PASSWORD"].is_string());
        let site = fake.get("Microsoft.Web/sites/secureacrweb2021?api-version=2024-11-01");
        assert_eq!(
            site["properties"]["outboundVnetRouting"]["imagePullTraffic"], true,
            "set at api-version 2024-04-01"
        );
        assert_eq!(site["identity"]["type"], "SystemAssigned, UserAssigned");
        let peering = fake
            .get("Microsoft.Network/virtualNetworks/vnet/virtualNetworkPeerings/vnet-to-hub?api-version=2024-05-01");
        assert_eq!(peering["properties"]["peeringState"], "Connected");

        // The user identity pulls: its client ID lands in acrUserManagedIdentityID.
        let s = one(r#"
name = "user identity"
fixture = "recipe-2021"
[[identity]]
name = "pull-identity"
[site]
credentials = "managed-identity"
identity = "user:pull-identity"
"#);
        let fake = Fake::new();
        fake.build(&s);
        let id = fake.get("Microsoft.ManagedIdentity/userAssignedIdentities/pull-identity?api-version=2023-01-31");
        let web = fake.get("Microsoft.Web/sites/secureacrweb2021/config/web?api-version=2024-11-01");
        assert_eq!(web["properties"]["acrUseManagedIdentityCreds"], true);
        assert_eq!(web["properties"]["acrUserManagedIdentityID"], id["properties"]["clientId"]);
    }
}

// ---- malformed files -------------------------------------------------------------------

/// Loads `tests/malformed/<name>.toml` and checks it is refused with exactly these
/// `(line, column, message)` errors, all in that file.
fn refused(name: &str, expected: &[(usize, usize, &str)]) {
    let path = PathBuf::from(format!("tests/malformed/{name}.toml"));
    let errors = match load(&path, &options()) {
        Ok(s) => panic!("{name} loaded: {:?}", s.iter().map(|s| &s.name).collect::<Vec<_>>()),
        Err(e) => e,
    };
    let got: Vec<(String, usize, usize, String)> = errors
        .0
        .iter()
        .map(|e| {
            let p = e.pos.unwrap_or(Pos { line: 0, column: 0 });
            (e.file.display().to_string(), p.line, p.column, e.message.clone())
        })
        .collect();
    let want: Vec<(String, usize, usize, String)> =
        expected.iter().map(|(l, c, m)| (path.display().to_string(), *l, *c, m.to_string())).collect();
    assert_eq!(got, want, "\n{errors}");
}

#[test]
fn unknown_key_in_site_config_suggests_the_real_one() {
    refused(
        "unknown-key-in-site-config",
        &[(6, 1, "unknown key 'vnetRouteAll' in [site.config]; did you mean 'vnetRouteAllEnabled'?")],
    );
}

#[test]
fn a_misspelled_name_is_unknown_and_name_is_missing() {
    refused(
        "unknown-top-level-key",
        &[
            (1, 1, "missing key 'name' at the top level"),
            (2, 1, "unknown key 'nmae' at the top level; did you mean 'name'?"),
        ],
    );
}

#[test]
fn a_string_where_a_boolean_belongs_is_a_type_error() {
    refused(
        "wrong-type-boolean-as-string",
        &[(6, 23, "'vnetRouteAllEnabled' in [site.config] must be a boolean (true or false), found a string")],
    );
}

#[test]
fn a_string_where_an_array_belongs_is_a_type_error() {
    refused(
        "wrong-type-string-for-array",
        &[(10, 17, "'address_space' in [[vnet]] must be an array of strings, found a string")],
    );
}

#[test]
fn a_prefix_length_past_32_is_not_a_prefix() {
    refused(
        "bad-cidr",
        &[(7, 36, "'prefix' in [[vnet]].subnets: '10.0.2.0/33' is not a valid IPv4 prefix (a.b.c.d/n, n at most 32)")],
    );
}

#[test]
fn a_prefix_with_host_bits_set_suggests_the_network() {
    refused(
        "cidr-with-host-bits",
        &[(7, 18, "'address_space' in [[vnet]]: '10.0.0.5/16' has host bits set; did you mean '10.0.0.0/16'?")],
    );
}

#[test]
fn an_unknown_epoch_lists_the_epochs() {
    refused(
        "unknown-epoch",
        &[(
            3,
            9,
            "'rules' must be one of 2021-07, 2021-11, 2022-03, 2024-11, found '2021-08'; in 2021-08 the rules of '2021-07' held",
        )],
    );
}

#[test]
fn an_unknown_failure_code_suggests_the_real_one() {
    refused(
        "unknown-code",
        &[(
            7,
            8,
            "'code' in [expect] must be one of IMAGE_NOT_CONFIGURED, IMAGE_REFERENCE_INVALID, DNS_NXDOMAIN, DNS_SERVFAIL, DNS_REFUSED, DNS_TIMEOUT, DNS_NO_ADDRESS, PRIVATE_ADDRESS_UNREACHABLE, CONNECTION_REFUSED, ACR_FIREWALL_DENIED, ACR_UNAUTHORIZED, MI_NOT_SUPPORTED_OVER_VNET, MI_IDENTITY_NOT_FOUND, MI_NO_PULL_ROLE, MANIFEST_UNKNOWN, MANIFEST_SCHEMA1_UNSUPPORTED, NO_MATCHING_PLATFORM, BLOB_UNKNOWN, DIGEST_MISMATCH, found 'DNS_NXDOMIAN'; did you mean 'DNS_NXDOMAIN'?",
        )],
    );
}

#[test]
fn an_unknown_stage_suggests_the_real_one() {
    refused(
        "unknown-stage",
        &[(
            7,
            9,
            "'stage' in [expect] must be one of config, route, dns, connect, firewall, auth, manifest, blob, verify, found 'firewal'; did you mean 'firewall'?",
        )],
    );
}

#[test]
fn an_undefined_subnet_is_reported_with_the_vnets_subnets() {
    refused(
        "undefined-subnet",
        &[(7, 10, "undefined subnet 'pee' of vnet 'vnet' in 'subnet' in [[private_endpoint]]; did you mean 'pe'?")],
    );
}

#[test]
fn a_zone_link_to_an_undefined_vnet_is_reported() {
    refused(
        "undefined-vnet-in-link",
        &[(7, 37, "undefined vnet 'vnet2' in 'vnet' of [[private_dns_zone]].links; did you mean 'vnet'?")],
    );
}

#[test]
fn a_private_endpoint_to_an_undefined_registry_is_reported() {
    refused(
        "undefined-registry",
        &[(7, 10, "undefined registry 'secureacr' in 'target' of [[private_endpoint]]; did you mean 'secureacr2021'?")],
    );
}

#[test]
fn vnets_without_name_or_address_space_are_reported_at_their_headers() {
    refused(
        "missing-name-of-vnet",
        &[(8, 1, "missing key 'name' in [[vnet]]"), (11, 1, "missing key 'address_space' in [[vnet]]")],
    );
}

#[test]
fn every_toml_syntax_error_is_reported_with_its_position() {
    refused(
        "toml-syntax-error",
        &[
            (3, 9, "TOML syntax error: invalid date-time, expected `T` between date and time"),
            (7, 12, "TOML syntax error: unclosed array, expected `]`"),
        ],
    );
}

#[test]
fn a_key_given_twice_is_a_toml_error() {
    refused("duplicate-toml-key", &[(4, 1, "TOML syntax error: duplicate key")]);
}

#[test]
fn duplicate_vnet_names_are_refused_ignoring_case() {
    refused("duplicate-vnet-names", &[(13, 8, "duplicate vnet 'VNET' (the first is on line 9)")]);
}

#[test]
fn a_subnet_outside_its_vnets_space_is_refused() {
    refused(
        "subnet-outside-address-space",
        &[(7, 37, "subnet 'out' (10.9.0.0/24) is outside the address space of vnet 'vnet' (10.0.0.0/16)")],
    );
}

#[test]
fn expect_pull_is_success_or_failure() {
    refused(
        "bad-expect-pull",
        &[(6, 8, "'pull' in [expect] must be one of success, failure, found 'failed'; did you mean 'failure'?")],
    );
}

#[test]
fn a_matrix_axis_without_values_is_refused() {
    refused("empty-matrix-axis", &[(8, 10, "axis 'route_all' has no values")]);
}

#[test]
fn a_matrix_cell_naming_an_unknown_axis_is_refused() {
    refused(
        "matrix-cell-unknown-axis",
        &[(11, 10, "'when' in [[matrix.cell]] names an unknown axis 'route'; did you mean 'route_all'?")],
    );
}

#[test]
fn a_matrix_cell_naming_an_unknown_value_lists_the_values() {
    refused("matrix-cell-unknown-value", &[(11, 22, "axis 'route_all' has no value 'yes' (its values: true, false)")]);
}

#[test]
fn a_matrix_cell_that_never_applies_is_refused() {
    refused(
        "matrix-cell-that-never-applies",
        &[(13, 1, "this [[matrix.cell]] never applies: the cells before it take every combination it matches")],
    );
}

#[test]
fn an_uncovered_matrix_combination_is_refused() {
    refused(
        "uncovered-matrix-combination",
        &[(6, 3, "1 of 4 matrix combinations match no [[matrix.cell]]: [route_all=false, pull_over_vnet=unset]")],
    );
}

#[test]
fn a_matrix_axis_setting_an_unknown_key_is_reported_where_the_path_is_written() {
    refused(
        "matrix-set-unknown-key",
        &[(7, 7, "unknown key 'vnetRouteAll' in [site.config]; did you mean 'vnetRouteAllEnabled'?")],
    );
}

#[test]
fn an_unknown_fixture_says_where_it_looked_and_suggests_one() {
    refused(
        "unknown-fixture",
        &[(
            3,
            11,
            "unknown fixture 'recipe-2012' (looked in tests/malformed/fixtures, tests/fixtures, fixtures, ../fixtures, ../scenarios/fixtures, tests/malformed); did you mean 'recipe-2021'?",
        )],
    );
}

#[test]
fn errors_inside_the_fixture_point_into_the_fixture_and_the_scenarios_own_are_reported_too() {
    let errors = load(Path::new("tests/malformed/error-in-fixture.toml"), &options()).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "tests/malformed/error-in-fixture.toml:6:1: unknown key 'nam' in [site]; did you mean 'name'?\n\
         tests/malformed/broken-fixture.toml:9:51: unknown key 'delegaton' in [[vnet]].subnets; did you mean 'delegation'?\n\
         tests/malformed/broken-fixture.toml:13:7: 'sku' in [plan] must be a string, found an integer"
    );
}

#[test]
fn every_error_of_a_file_is_reported_not_only_the_first() {
    refused(
        "several-errors",
        &[
            (
                3,
                9,
                "'rules' must be one of 2021-07, 2021-11, 2022-03, 2024-11, found '2021-7'; did you mean '2021-07'?",
            ),
            (
                7,
                7,
                "'sku' in [registry] must be one of Basic, Standard, Premium, found 'premium'; did you mean 'Premium'?",
            ),
            (8, 14, "'admin_user' in [registry] must be a boolean (true or false), found a string"),
            (
                11,
                15,
                "'credentials' in [site] must be one of admin, none, managed-identity, found 'adminuser'; did you mean 'admin'?",
            ),
            (15, 9, "'route' in [expect] must be one of vnet, public, found 'private'"),
        ],
    );
}

#[test]
fn a_step_is_one_action() {
    refused(
        "step-with-two-actions",
        &[(5, 1, "a [[step]] is exactly one of: arm = \"METHOD path\", restart = true, pull = true")],
    );
}

#[test]
fn a_step_path_with_an_unknown_type_suggests_the_plural() {
    refused(
        "step-unknown-resource-type",
        &[(
            6,
            7,
            "'arm' in [[step]]: unknown resource type 'privateDnsZone'; a relative path starts with one of virtualNetworks, privateEndpoints, networkInterfaces, privateDnsZones, registries, sites, serverfarms, userAssignedIdentities; did you mean 'privateDnsZones'?",
        )],
    );
}

#[test]
fn a_step_with_an_unknown_method_is_refused() {
    refused(
        "step-unknown-method",
        &[(6, 7, "'arm' in [[step]]: unknown method 'REMOVE'; use one of GET, PUT, PATCH, POST, DELETE")],
    );
}

#[test]
fn a_successful_pull_cannot_expect_a_failure_stage_or_code() {
    refused(
        "success-with-failure-stage",
        &[
            (7, 9, "a successful pull has no failure stage; drop it or expect pull = \"failure\""),
            (8, 8, "a successful pull has no failure code; drop it or expect pull = \"failure\""),
        ],
    );
}

#[test]
fn expect_beside_a_matrix_is_refused() {
    refused(
        "expect-beside-matrix",
        &[(5, 1, "[expect] cannot be used with [matrix]: each [[matrix.cell]] says what to expect")],
    );
}

#[test]
fn a_dns_server_must_be_an_ipv4_address() {
    refused("bad-dns-server-address", &[(7, 16, "'dns_servers' in [[vnet]]: '10.0.0.300' is not an IPv4 address")]);
}

#[test]
fn a_custom_dns_server_outside_its_vnet_and_a_misspelled_upstream_are_both_reported() {
    refused(
        "custom-dns-outside-its-vnet",
        &[
            (8, 11, "custom DNS server 'dns1': address 10.1.0.4 is outside the address space of vnet 'vnet'"),
            (
                9,
                12,
                "'upstream' in [[custom_dns]] must be one of AzureDns, Public, None, found 'AzureDNS'; did you mean 'AzureDns'?",
            ),
        ],
    );
}

#[test]
fn an_app_setting_cannot_be_a_table() {
    refused(
        "app-setting-table-value",
        &[(
            6,
            32,
            "app setting 'WEBSITE_PULL_IMAGE_OVER_VNET' in [site.app_settings] must be a string (or a boolean or number), found a table",
        )],
    );
}

#[test]
fn remove_without_a_fixture_is_explained() {
    refused(
        "remove-without-fixture",
        &[(11, 1, "unknown key 'remove' in [[vnet]]; `remove = true` only deletes an entry of the scenario's fixture")],
    );
}

#[test]
fn removing_what_the_fixture_lacks_is_refused() {
    refused("remove-what-the-fixture-lacks", &[(5, 1, "remove = true: the fixture has no vnet 'hub' to remove")]);
}

#[test]
fn the_site_principal_needs_a_system_identity() {
    refused(
        "site-principal-without-system-identity",
        &[(6, 13, "principal 'site' needs a [site] with a system identity (identity = \"system\")")],
    );
}

#[test]
fn an_unset_path_with_an_empty_key_is_refused() {
    refused("bad-unset-path", &[(4, 10, "'unset': empty key in path 'site..config'")]);
}

#[test]
fn a_scenario_without_fixture_needs_a_resource_group() {
    refused(
        "missing-resource-group",
        &[(1, 1, "missing [resource_group] (name and location), here or in the fixture")],
    );
}

#[test]
fn a_site_needs_a_plan() {
    refused("site-without-plan", &[(8, 1, "a [site] needs a [plan] (name, sku) to run on")]);
}

#[test]
fn a_table_written_as_a_string_is_a_type_error() {
    refused("table-written-as-string", &[(4, 8, "[site] must be a table, found a string")]);
}

#[test]
fn a_registry_sku_in_the_wrong_case_suggests_azures_spelling() {
    refused(
        "registry-sku-wrong-case",
        &[(
            6,
            7,
            "'sku' in [registry] must be one of Basic, Standard, Premium, found 'premium'; did you mean 'Premium'?",
        )],
    );
}

#[test]
fn an_integer_out_of_range_gives_the_range() {
    refused("integer-out-of-range", &[(6, 48, "'layers' in [registry].images must be an integer from 1 to 64")]);
}

#[test]
fn a_subnet_reference_names_its_vnet() {
    refused(
        "subnet-reference-without-vnet",
        &[(6, 20, "'vnet_integration' in [site] must be 'vnet/subnet', found 'integration'")],
    );
}

#[test]
fn admin_credentials_need_an_image_on_a_registry_of_the_scenario() {
    refused(
        "admin-credentials-for-docker-hub-image",
        &[(6, 9, "credentials = \"admin\" needs an image on a registry of the scenario (<name>.azurecr.io/...)")],
    );
}

#[test]
fn an_unreadable_file_is_reported_without_position() {
    let e = load(Path::new("tests/malformed/does-not-exist.toml"), &options()).unwrap_err();
    assert_eq!(e.0.len(), 1);
    assert_eq!(e.0[0].pos, None);
    assert!(e.to_string().starts_with("tests/malformed/does-not-exist.toml: cannot read the scenario: "), "{e}");
}

#[test]
fn every_malformed_file_is_refused() {
    let mut n = 0;
    for entry in std::fs::read_dir("tests/malformed").unwrap() {
        let path = entry.unwrap().path();
        assert!(load(&path, &options()).is_err(), "{} loaded", path.display());
        n += 1;
    }
    assert!(n >= 30, "{n} malformed files");
}

// ---- bounded work: each limit refused where it is crossed ------------------------------

/// Loads `text` (written to a temporary file, fixtures from the repository) and returns
/// its errors as `(line, column, message)`.
fn refused_text(text: &str) -> Vec<(usize, usize, String)> {
    let errors = match scenario(text) {
        Ok(s) => panic!("loaded: {:?}", s.iter().map(|s| &s.name).collect::<Vec<_>>()),
        Err(e) => e,
    };
    errors
        .0
        .iter()
        .map(|e| {
            let p = e.pos.unwrap_or(Pos { line: 0, column: 0 });
            (p.line, p.column, e.message.clone())
        })
        .collect()
}

fn errors(list: &[(usize, usize, &str)]) -> Vec<(usize, usize, String)> {
    list.iter().map(|(l, c, m)| (*l, *c, m.to_string())).collect()
}

const TOO_LARGE: &str =
    "the file is larger than 1048576 bytes (1 MiB), the most a scenario or fixture may hold; the limit is crossed here";

#[test]
fn a_file_over_one_mebibyte_is_refused_where_the_limit_is_crossed() {
    // Lines of 1024 bytes: the 1,048,577th byte is the first of line 1025.
    let pad = |s: &str| format!("{s:<1023}\n");
    let mut text = pad("name = \"big\"") + &pad("fixture = \"recipe-2021\"");
    text.push_str(&pad(&format!("#{}", "x".repeat(1000))).repeat(1100));
    assert_eq!(refused_text(&text), errors(&[(1025, 1, TOO_LARGE)]), "read from a file");
    let e = load_text(Path::new("big.toml"), &text, &options()).unwrap_err();
    assert_eq!(e.to_string(), format!("big.toml:1025:1: {TOO_LARGE}"), "text at hand");
}

/// Issue 13's case: a matrix axis with a million values ran for minutes. Such a file is
/// 7.9 MB: refused on its size, before it is parsed.
#[test]
fn a_matrix_axis_of_a_million_values_is_refused_before_it_is_parsed() {
    let values: Vec<String> = (0..1_000_000).map(|i| i.to_string()).collect();
    let text = format!(
        "name = \"m\"\nfixture = \"recipe-2021\"\n[[matrix.axis]]\nname = \"n\"\nset = \"site.app_settings.N\"\nvalues = [{}]\n[[matrix.cell]]\npull = \"success\"\n",
        values.join(", ")
    );
    let e = load_text(Path::new("axis.toml"), &text, &options()).unwrap_err();
    let e: Vec<String> = e.0.iter().map(|e| e.message.clone()).collect();
    assert_eq!(e, [TOO_LARGE]);
}

#[test]
fn a_matrix_axis_with_more_values_than_combinations_is_refused_at_the_first_value_too_many() {
    let values: String = (0..1025).map(|i| format!("{i},\n")).collect();
    let text = format!(
        "name = \"m\"\nfixture = \"recipe-2021\"\n[[matrix.axis]]\nname = \"n\"\nset = \"site.app_settings.N\"\nvalues = [\n{values}]\n[[matrix.cell]]\nwhen = {{ n = 3 }}\npull = \"success\"\n[[matrix.cell]]\npull = \"failure\"\n"
    );
    // Value 1024 is on line 7 + 1024; the cell naming one of the values is not judged.
    assert_eq!(
        refused_text(&text),
        errors(&[(1031, 1, "axis 'n' has 1025 values; a matrix expands to at most 1024 combinations")])
    );
}

#[test]
fn a_matrix_with_more_than_sixteen_axes_is_refused_at_the_axis_too_many() {
    let axes: String = (0..17)
        .map(|i| format!("[[matrix.axis]]\nname = \"a{i}\"\nset = \"site.app_settings.A{i}\"\nvalues = [true]\n"))
        .collect();
    let text = format!("name = \"m\"\nfixture = \"recipe-2021\"\n{axes}[[matrix.cell]]\npull = \"success\"\n");
    assert_eq!(refused_text(&text), errors(&[(67, 1, "[matrix] has 17 axes; a matrix has at most 16")]));
}

#[test]
fn a_matrix_with_more_cells_than_combinations_can_take_is_refused_at_the_cell_too_many() {
    let cells = "[[matrix.cell]]\npull = \"success\"\n".repeat(1025);
    let text = format!(
        "name = \"m\"\nfixture = \"recipe-2021\"\n[[matrix.axis]]\nname = \"a\"\nset = \"site.app_settings.A\"\nvalues = [true, false]\n{cells}"
    );
    // Cell 1025 starts on line 7 + 2 × 1024; no "never applies" for the others.
    assert_eq!(
        refused_text(&text),
        errors(&[(2055, 1, "[matrix] has 1025 cells; a matrix has at most 1024 (each combination takes one)")])
    );
}

#[test]
fn axis_values_setting_more_than_128_paths_are_refused_at_the_path_too_many() {
    let set: String = (0..129).map(|i| format!("\"site.app_settings.S{i}\" = \"x\",\n")).collect();
    let text = format!(
        "name = \"m\"\nfixture = \"recipe-2021\"\n[[matrix.axis]]\nname = \"a\"\nvalues = [{{ name = \"one\", set = {{\n{set}}} }}]\n[[matrix.cell]]\npull = \"success\"\n"
    );
    assert_eq!(
        refused_text(&text),
        errors(&[(134, 1, "the values of [matrix]'s axes set 129 paths; they set at most 128 together")])
    );
}

#[test]
fn unset_with_more_than_128_paths_is_refused_at_the_path_too_many() {
    let paths: String = (0..129).map(|i| format!("\"site.app_settings.S{i}\",\n")).collect();
    let text = format!("name = \"u\"\nfixture = \"recipe-2021\"\nunset = [\n{paths}]\n");
    assert_eq!(refused_text(&text), errors(&[(132, 1, "'unset' lists 129 paths; it lists at most 128")]));
}

#[test]
fn a_scenario_with_more_than_128_steps_is_refused_at_the_step_too_many() {
    let text = format!("name = \"s\"\nfixture = \"recipe-2021\"\n{}", "[[step]]\nrestart = true\n".repeat(129));
    assert_eq!(refused_text(&text), errors(&[(259, 1, "the scenario has 129 steps; a scenario has at most 128")]));
}

/// Ten boolean axes: 1024 combinations.
fn ten_axes() -> String {
    (0..10)
        .map(|i| {
            format!("[[matrix.axis]]\nname = \"a{i}\"\nset = \"site.app_settings.A{i}\"\nvalues = [true, false]\n")
        })
        .collect()
}

#[test]
fn a_matrix_expanding_to_more_than_4096_steps_is_refused_at_the_matrix() {
    let text = format!(
        "name = \"m\"\nfixture = \"recipe-2021\"\n{}[[matrix.cell]]\npull = \"success\"\n{}",
        ten_axes(),
        "[[step]]\npull = true\n".repeat(5)
    );
    assert_eq!(
        refused_text(&text),
        errors(&[(
            3,
            3,
            "[matrix] expands to 5120 steps (1024 combinations), more than the 4096 steps a file may expand to"
        )])
    );
}

#[test]
fn a_matrix_expanding_to_more_than_500000_values_is_refused_before_it_is_expanded() {
    // 1071 values (the root, 3 in the resource group, 1001 in the identities, 66 in the
    // matrix) and one per axis for what its largest value sets.
    let identities: String = (0..500).map(|i| format!("[[identity]]\nname = \"id{i}\"\n")).collect();
    let text = format!(
        "name = \"m\"\n[resource_group]\nname = \"rg\"\nlocation = \"westeurope\"\n{}[[matrix.cell]]\npull = \"success\"\n{identities}",
        ten_axes()
    );
    assert_eq!(
        refused_text(&text),
        errors(&[(
            5,
            3,
            "[matrix] expands to 1024 combinations of up to 1081 values each, more than the 500000 values a file may expand to: fewer combinations or a smaller scenario"
        )])
    );
}

#[test]
fn a_site_with_more_than_1024_app_settings_is_refused_at_the_setting_too_many() {
    // The fixture has one setting; the scenario's come after it.
    let settings: String = (0..1024).map(|i| format!("S{i} = \"v\"\n")).collect();
    let text = format!("name = \"a\"\nfixture = \"recipe-2021\"\n[site.app_settings]\n{settings}");
    assert_eq!(
        refused_text(&text),
        errors(&[(1027, 1, "[site.app_settings] has 1025 settings; a site has at most 1024")])
    );
}

#[test]
fn an_image_repository_the_acr_would_refuse_is_refused() {
    // The OCI grammar of the fake ACR: a component ends with a letter or digit.
    let text =
        "name = \"r\"\nfixture = \"recipe-2021\"\n[registry]\nimages = [{ repo = \"team/app-\", tag = \"v1\" }]\n";
    assert_eq!(
        refused_text(text),
        errors(&[(
            4,
            20,
            "'repo' in [registry].images: 'team/app-' is not a repository name (lower-case path components)"
        )])
    );
}

// ---- no input makes the loader panic ---------------------------------------------------

mod fuzz {
    use proptest::prelude::*;

    use super::*;

    /// Keys of the format, a few ARM ones, and look-alikes.
    const KEYS: &[&str] = &[
        "name",
        "description",
        "rules",
        "fixture",
        "unset",
        "resource_group",
        "location",
        "vnet",
        "address_space",
        "dns_servers",
        "subnets",
        "prefix",
        "delegation",
        "peerings",
        "remote",
        "bidirectional",
        "registry",
        "sku",
        "admin_user",
        "public_network_access",
        "default_action",
        "ip_rules",
        "network_rule_bypass",
        "data_endpoint",
        "anonymous_pull",
        "images",
        "repo",
        "tag",
        "layers",
        "layer_size",
        "seed",
        "schema1",
        "platforms",
        "private_endpoint",
        "subnet",
        "target",
        "dns_zone_group",
        "manual_approval",
        "private_dns_zone",
        "links",
        "registration",
        "resolution_policy",
        "records",
        "type",
        "ttl",
        "values",
        "custom_dns",
        "address",
        "upstream",
        "forwarders",
        "zone",
        "targets",
        "identity",
        "role_assignment",
        "principal",
        "role",
        "scope",
        "plan",
        "site",
        "image",
        "vnet_integration",
        "credentials",
        "pull_identity",
        "app_settings",
        "config",
        "properties",
        "vnetRouteAllEnabled",
        "outboundVnetRouting",
        "dnsConfiguration",
        "dnsServers",
        "imagePullTraffic",
        "linuxFxVersion",
        "step",
        "arm",
        "body",
        "expect",
        "restart",
        "pull",
        "api_version",
        "status",
        "code",
        "message",
        "route",
        "stage",
        "log",
        "matrix",
        "axis",
        "cell",
        "when",
        "set",
        "remove",
        "x",
        "nam",
    ];

    /// Values that are valid somewhere, and near misses.
    const STRINGS: &[&str] = &[
        "",
        "vnet",
        "vnet/pe",
        "vnet/integration",
        "registry:secureacr2021",
        "identity:id",
        "user:id",
        "system",
        "site",
        "10.0.0.0/16",
        "10.0.1.0/24",
        "10.0.2.5/24",
        "300.1.1.1/8",
        "10.0.0.4",
        "2021-07",
        "2024-11",
        "2021-7",
        "Premium",
        "Basic",
        "Disabled",
        "Deny",
        "admin",
        "managed-identity",
        "AcrPull",
        "AzureDns",
        "success",
        "failure",
        "vnet",
        "public",
        "firewall",
        "ACR_FIREWALL_DENIED",
        "DNS_NXDOMAIN",
        "unset",
        "recipe-2021",
        "missing-fixture",
        "../x",
        "site.config.vnetRouteAllEnabled",
        "registry.admin_user",
        "registry[secureacr2021].sku",
        "site..x",
        "a[",
        "DELETE privateDnsZones/privatelink.azurecr.io",
        "GET /subscriptions/{subscription}/x",
        "PUT sites/a?x=1",
        "BAD path",
        "privatelink.azurecr.io",
        "secureacr2021.azurecr.io/app:v1",
        "nginx",
        "A",
        "CNAME",
        "é",
        "\u{0}",
        "linux/amd64",
    ];

    #[derive(Debug, Clone)]
    enum V {
        Str(String),
        Int(i64),
        Float(f64),
        Bool(bool),
        Array(Vec<V>),
        Table(Vec<(String, V)>),
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => proptest::sample::select(KEYS).prop_map(str::to_string),
            1 => "[a-zA-Z_.\\- ]{0,6}",
        ]
    }

    fn value() -> impl Strategy<Value = V> {
        let leaf = prop_oneof![
            4 => proptest::sample::select(STRINGS).prop_map(|s| V::Str(s.to_string())),
            1 => ".{0,8}".prop_map(V::Str),
            2 => any::<bool>().prop_map(V::Bool),
            2 => prop_oneof![any::<i64>(), -3i64..2000].prop_map(V::Int),
            1 => (-1e6f64..1e6).prop_map(V::Float),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(V::Array),
                proptest::collection::vec((key(), inner), 0..6).prop_map(|kv| V::Table(dedup(kv))),
            ]
        })
    }

    fn dedup(kv: Vec<(String, V)>) -> Vec<(String, V)> {
        let mut seen = std::collections::HashSet::new();
        kv.into_iter().filter(|(k, _)| seen.insert(k.clone())).collect()
    }

    fn render_key(k: &str) -> String {
        if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            k.to_string()
        } else {
            serde_json::to_string(k).unwrap()
        }
    }

    fn render(v: &V) -> String {
        match v {
            V::Str(s) => serde_json::to_string(s).unwrap(),
            V::Int(i) => i.to_string(),
            V::Float(f) => format!("{f:?}"),
            V::Bool(b) => b.to_string(),
            V::Array(a) => format!("[{}]", a.iter().map(render).collect::<Vec<_>>().join(", ")),
            V::Table(t) => {
                let kv: Vec<String> = t.iter().map(|(k, v)| format!("{} = {}", render_key(k), render(v))).collect();
                format!("{{ {} }}", kv.join(", "))
            }
        }
    }

    /// A document: top-level pairs, then `[header]` / `[[header]]` sections.
    fn document() -> impl Strategy<Value = String> {
        let pairs = proptest::collection::vec((key(), value()), 0..8).prop_map(dedup);
        let section = (
            proptest::collection::vec(key(), 1..3),
            any::<bool>(),
            proptest::collection::vec((key(), value()), 0..5).prop_map(dedup),
        );
        (pairs, proptest::collection::vec(section, 0..5), any::<bool>()).prop_map(|(top, sections, with_fixture)| {
            let mut out = String::new();
            if with_fixture && !top.iter().any(|(k, _)| k == "fixture") {
                out.push_str("fixture = \"recipe-2021\"\n");
            }
            for (k, v) in &top {
                out.push_str(&format!("{} = {}\n", render_key(k), render(v)));
            }
            for (path, array, kv) in &sections {
                let header = path.iter().map(|k| render_key(k)).collect::<Vec<_>>().join(".");
                out.push_str(&if *array { format!("[[{header}]]\n") } else { format!("[{header}]\n") });
                for (k, v) in kv {
                    out.push_str(&format!("{} = {}\n", render_key(k), render(v)));
                }
            }
            out
        })
    }

    /// Runs the loader (and the plan of whatever loads) on 2,000 values of `strategy`,
    /// each turned into scenario texts by `texts`.
    fn never_panics<S: Strategy>(strategy: S, texts: impl Fn(&S::Value) -> Vec<String>) {
        let path = Path::new("fuzz/scenario.toml");
        let options = LoadOptions::default().with_fixture_dir("../scenarios/fixtures");
        let config = ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() };
        let mut runner = proptest::test_runner::TestRunner::new(config);
        let result = runner.run(&strategy, |value| {
            for text in texts(&value) {
                if let Ok(scenarios) = load_text(path, &text, &options) {
                    for s in &scenarios {
                        let _ = arm_plan(s, "00000000-0000-0000-0000-000000000000");
                    }
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    }

    #[test]
    fn random_documents_from_the_schemas_words_never_panic() {
        never_panics(document(), |doc| vec![doc.clone()]);
    }

    #[test]
    fn random_bytes_never_panic() {
        never_panics(proptest::collection::vec(any::<u8>(), 0..300), |bytes| {
            vec![String::from_utf8_lossy(bytes).into_owned()]
        });
    }

    #[test]
    fn mutated_seed_files_never_panic() {
        let files = ["a6-route-all-off-2021-07", "a9-zone-delete-needs-links-gone", "a5-a6-route-matrix-2021-07"];
        let texts: Vec<String> =
            files.iter().map(|f| std::fs::read_to_string(format!("../scenarios/seed/{f}.toml")).unwrap()).collect();
        never_panics((0usize..3, any::<proptest::sample::Index>(), ".{0,4}"), |(seed, cut, insert)| {
            let text = &texts[*seed];
            let mut at = cut.index(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            vec![format!("{}{insert}{}", &text[..at], &text[at..])]
        });
    }
}
