//! Every template of the shared corpus (real public templates, read from `shared/templates`
//! above the repository, never copied in) prepares and deploys against the in-memory host,
//! with specific facts checked.

use arm_template::{Deployment, ProvisioningState, ResourceGroup};
use serde_json::{Value, json};

use crate::support::{GROUP, MemoryHost, SUB, corpus, ctx, id, line_col, rg_id};

fn succeeded(r: &arm_template::DeploymentResult) {
    assert_eq!(r.provisioning_state, ProvisioningState::Succeeded, "{:#?}", r.error);
}

#[test]
fn regional_vnet_integration_deploys_in_dependency_order() {
    let Some(c) = corpus("aqt-regional-vnet-integration-2020") else { return };
    let d = Deployment::prepare(c.template, c.parameters, ctx("aqt-regional")).unwrap();
    let site = id("Microsoft.Web/sites/pullsim-regional-2020");
    let plan = id("Microsoft.Web/serverFarms/pullsim-regional-2020-plan");
    let vnet = id("Microsoft.Network/virtualNetworks/vnet");
    let config = id("Microsoft.Web/sites/pullsim-regional-2020/config/virtualNetwork");
    let waves = d.waves();
    assert_eq!(waves.len(), 3, "{waves:?}");
    assert!(
        waves[0].iter().any(|w| w.eq_ignore_ascii_case(&vnet))
            && waves[0].iter().any(|w| w.eq_ignore_ascii_case(&plan))
    );
    assert_eq!(waves[1], vec![site.clone()]);
    // The child declared inside the site: type and name relative to the parent's.
    assert_eq!(waves[2], vec![config.clone()]);
    let mut host = MemoryHost::new();
    let r = d.execute(&mut host);
    succeeded(&r);
    assert_eq!(
        host.get_id(&config).unwrap()["properties"]["subnetResourceId"],
        json!(id("Microsoft.Network/virtualNetworks/vnet/subnets/myappservice"))
    );
    assert_eq!(
        host.get_id(&site).unwrap()["properties"]["serverFarmId"],
        json!(id("Microsoft.Web/serverFarms/pullsim-regional-2020-plan"))
    );
    assert_eq!(r.operations.len(), 4);
    assert!(r.operations.iter().all(|o| o.status_code == 201));
}

#[test]
fn regional_vnet_integration_defaults_use_unique_string_of_the_group() {
    let Some(c) = corpus("aqt-regional-vnet-integration-2020") else { return };
    let d = Deployment::prepare(c.template, Default::default(), ctx("aqt-regional")).unwrap();
    let params = d.parameters();
    assert_eq!(params["appName"], json!(arm_template::hash::unique_string(&[&rg_id()])));
    assert_eq!(params["appServicePlanName"], json!(arm_template::hash::unique_string(&[SUB])));
    assert_eq!(params["location"], json!("westeurope"));
}

#[test]
fn webapp_with_private_endpoint_deploys_sixteen_resources_from_a_crlf_file() {
    let Some(c) = corpus("aqt-webapp-pe-vnet-injection-2020") else { return };
    assert!(c.text.contains("\r\n"), "the corpus file is the CRLF one");
    let d = Deployment::prepare(c.template, c.parameters, ctx("aqt-pe")).unwrap();
    let mut host = MemoryHost::new();
    let r = d.execute(&mut host);
    succeeded(&r);
    let puts = host.put_ids();
    assert_eq!(puts.len(), 16, "{puts:#?}");
    let pos = |needle: &str| {
        puts.iter().position(|p| p.eq_ignore_ascii_case(&id(needle))).unwrap_or_else(|| panic!("{needle} not deployed"))
    };
    let subnet1 = pos("Microsoft.Network/virtualNetworks/vnet1/subnets/Subnet1");
    let subnet2 = pos("Microsoft.Network/virtualNetworks/vnet1/subnets/Subnet2");
    assert!(pos("Microsoft.Network/virtualNetworks/vnet1") < subnet1 && subnet1 < subnet2);
    // `type: config` inside the site: Microsoft.Web/sites/config named site2/appsettings.
    let settings = pos("Microsoft.Web/sites/pullsim-pe-site2/config/appsettings");
    assert!(pos("Microsoft.Web/sites/pullsim-pe-site2") < settings);
    assert!(
        pos("Microsoft.Network/privateEndpoints/PrivateEndpoint1")
            < pos("Microsoft.Network/privateEndpoints/PrivateEndpoint1/privateDnsZoneGroups/dnsgroupname")
    );
    assert!(subnet2 < pos("Microsoft.Web/sites/pullsim-pe-site2/networkConfig/VirtualNetwork"));
    pos("Microsoft.Web/sites/pullsim-pe-site1/hostNameBindings/pullsim-pe-site1.azurewebsites.net");
    let pe = host.get_id(&id("Microsoft.Network/privateEndpoints/PrivateEndpoint1")).unwrap();
    assert_eq!(
        pe["properties"]["privateLinkServiceConnections"][0]["properties"]["privateLinkServiceId"],
        json!(id("Microsoft.Web/sites/pullsim-pe-site1"))
    );
}

#[test]
fn webapp_with_private_endpoint_refuses_a_disallowed_sku_at_its_crlf_line() {
    let Some(mut c) = corpus("aqt-webapp-pe-vnet-injection-2020") else { return };
    c.parameters.insert("SKU_name".into(), json!("S1"));
    let e = Deployment::prepare(c.template, c.parameters, ctx("aqt-pe")).unwrap_err();
    let (line, col) = line_col(&c.text, "\"SKU_name\": {");
    let col = col + "\"SKU_name\": ".len() as u32;
    assert_eq!(
        e.message,
        format!(
            "Deployment template validation failed: 'The provided value 'S1' for the template parameter 'SKU_name' at line '{line}' and column '{col}' is not valid. The parameter value is not part of the allowed value(s): 'P1v2,P2v2,P3v2'.'."
        )
    );
    assert_eq!(e.kind, arm_template::ErrorKind::ParameterValue);
}

#[test]
fn linuxdocs_role_assignment_is_named_by_azures_guid_in_the_nested_cross_group_deployment() {
    let Some(c) = corpus("linuxdocs-system-mi-acrpull") else { return };
    let d = Deployment::prepare(c.template, c.parameters, ctx("linuxdocs")).unwrap();
    let mut host = MemoryHost::new();
    let r = d.execute(&mut host);
    succeeded(&r);
    // guid(concat('Microsoft.Web/sites/', 'pullsim-mi-web')) with Azure's algorithm (pinned in
    // hash.rs to Azure's own guid('asdf')).
    let name = arm_template::hash::guid(&["Microsoft.Web/sites/pullsim-mi-web"]);
    assert_eq!(name, "f413b5ac-09ac-5976-b772-ac45dd737e24");
    let ra = host.get_id(&id(&format!("Microsoft.Authorization/roleAssignments/{name}"))).unwrap();
    let site = host.get_id(&id("Microsoft.Web/sites/pullsim-mi-web")).unwrap();
    assert_eq!(ra["properties"]["principalId"], site["identity"]["principalId"]);
    assert_eq!(
        ra["properties"]["roleDefinitionId"],
        json!(format!(
            "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d"
        ))
    );
    // The nested deployment ran after the site, in the group acrRG names, and was reported.
    let nested = &host.finished[0];
    assert_eq!(nested.id, id("Microsoft.Resources/deployments/acrPUll_Permission"));
    let puts = host.put_ids();
    assert!(
        puts.iter().position(|p| p.contains("/sites/")).unwrap()
            < puts.iter().position(|p| p.contains("roleAssignments")).unwrap()
    );
    assert_eq!(
        host.get_id(&id("Microsoft.Web/sites/pullsim-mi-web")).unwrap()["properties"]["siteConfig"]["linuxFxVersion"],
        json!("DOCKER|secureacr2021.azurecr.io/app:v1")
    );
}

#[test]
fn linuxdocs_nested_deployment_targets_another_group_when_acr_rg_names_one() {
    let Some(mut c) = corpus("linuxdocs-system-mi-acrpull") else { return };
    c.parameters.insert("acrRG".into(), json!("acr-group"));
    let d = Deployment::prepare(c.template, c.parameters, ctx("linuxdocs")).unwrap();
    let mut host = MemoryHost::new();
    host.groups.push(ResourceGroup::new("acr-group", "northeurope"));
    let r = d.execute(&mut host);
    succeeded(&r);
    let name = arm_template::hash::guid(&["Microsoft.Web/sites/pullsim-mi-web"]);
    let ra = format!(
        "/subscriptions/{SUB}/resourceGroups/acr-group/providers/Microsoft.Authorization/roleAssignments/{name}"
    );
    assert!(host.get_id(&ra).is_some(), "{:#?}", host.put_ids());
    assert_eq!(
        host.finished[0].id,
        format!(
            "/subscriptions/{SUB}/resourceGroups/acr-group/providers/Microsoft.Resources/deployments/acrPUll_Permission"
        )
    );
    // Outer scope: the reference to the site resolved in the parent's group.
    let site = host.get_id(&id("Microsoft.Web/sites/pullsim-mi-web")).unwrap();
    assert_eq!(host.get_id(&ra).unwrap()["properties"]["principalId"], site["identity"]["principalId"]);
}

#[test]
fn jamesdld_private_endpoint_uses_its_user_defined_function_and_conditional_child() {
    let Some(c) = corpus("jamesdld-private-endpoint") else { return };
    let d = Deployment::prepare(c.template, c.parameters, ctx("jamesdld")).unwrap();
    let mut host = MemoryHost::with_recipe();
    let r = d.execute(&mut host);
    succeeded(&r);
    let pe_id = id("Microsoft.Network/privateEndpoints/secureacr2021-pe1");
    let pe = host.get_id(&pe_id).unwrap();
    assert_eq!(
        pe["properties"]["subnet"]["id"],
        json!(id("Microsoft.Network/virtualNetworks/secureacr-vnet/subnets/private-endpoint-subnet"))
    );
    assert_eq!(
        pe["properties"]["privateLinkServiceConnections"][0]["properties"]["privateLinkServiceId"],
        json!(id("Microsoft.ContainerRegistry/registries/secureacr2021"))
    );
    assert_eq!(pe["tags"], json!({"source": "jamesdld"}));
    assert_eq!(pe["properties"]["manualPrivateLinkServiceConnections"], Value::Null);
    let zg = host.get_id(&format!("{pe_id}/privateDnsZoneGroups/privatelink.azurecr.io")).unwrap();
    assert_eq!(
        zg["properties"]["privateDnsZoneConfigs"][0]["properties"]["privateDnsZoneId"],
        json!(id("Microsoft.Network/privateDnsZones/privatelink.azurecr.io"))
    );
    assert_eq!(
        r.outputs["networkInterfaceId"]["value"],
        json!(id("Microsoft.Network/networkInterfaces/secureacr2021-pe1.nic"))
    );
    assert_eq!(r.outputs["privateLinkServiceName"], json!({"type": "String", "value": "secureacr2021"}));
}

#[test]
fn jamesdld_zone_group_is_skipped_when_no_zone_is_named() {
    let Some(mut c) = corpus("jamesdld-private-endpoint") else { return };
    c.parameters.remove("privateDnsZoneName");
    let d = Deployment::prepare(c.template, c.parameters, ctx("jamesdld")).unwrap();
    let mut host = MemoryHost::with_recipe();
    succeeded(&d.execute(&mut host));
    assert!(!host.put_ids().iter().any(|p| p.contains("privateDnsZoneGroups")), "{:#?}", host.put_ids());
}

#[test]
fn avm_private_endpoint_deploys_its_zone_group_through_an_inner_nested_deployment() {
    let Some(c) = corpus("avm-private-endpoint") else { return };
    let d = Deployment::prepare(c.template, c.parameters, ctx("avm-pe")).unwrap();
    let plan = d.resources();
    // Telemetry off, no lock, no role assignments: skipped or zero instances.
    assert!(
        plan.iter().filter(|p| p.symbolic_name.as_deref() == Some("avmTelemetry")).all(|p| p.deploys == Some(false))
    );
    assert!(
        plan.iter()
            .all(|p| p.symbolic_name.as_deref().is_none_or(|s| !s.starts_with("privateEndpoint_roleAssignments")))
    );
    let mut host = MemoryHost::with_recipe();
    let r = d.execute(&mut host);
    succeeded(&r);
    let pe_id = id("Microsoft.Network/privateEndpoints/secureacr-pe");
    let pe = host.get_id(&pe_id).unwrap();
    assert_eq!(pe["properties"]["privateLinkServiceConnections"][0]["name"], json!("secureacr-pc"));
    assert_eq!(pe["properties"]["customNetworkInterfaceName"], json!(""));
    let zg = host.get_id(&format!("{pe_id}/privateDnsZoneGroups/secureacr-zg")).unwrap();
    // name: last(split(zoneId, '/')), in a property copy loop.
    assert_eq!(
        zg["properties"]["privateDnsZoneConfigs"],
        json!([{"name": "privatelink.azurecr.io", "properties": {"privateDnsZoneId": id("Microsoft.Network/privateDnsZones/privatelink.azurecr.io")}}])
    );
    let nested_name = format!("{}-PrivateEndpoint-PrivateDnsZoneGroup", arm_template::hash::unique_string(&["avm-pe"]));
    assert_eq!(host.finished[0].id, id(&format!("Microsoft.Resources/deployments/{nested_name}")));
    assert_eq!(r.outputs["groupId"]["value"], json!("registry"));
    assert_eq!(r.outputs["location"]["value"], json!("westeurope"));
    assert_eq!(
        r.outputs["networkInterfaceResourceIds"]["value"],
        json!([id("Microsoft.Network/networkInterfaces/secureacr-pe.nic")])
    );
    assert_eq!(r.outputs["resourceId"]["value"], json!(pe_id));
}

#[test]
fn avm_container_registry_expands_its_copy_loops_conditions_and_nested_modules() {
    let Some(c) = corpus("avm-container-registry") else { return };
    let d = Deployment::prepare(c.template, c.parameters, ctx("avm-acr")).unwrap();
    let plan = d.resources();
    let count = |prefix: &str| {
        plan.iter().filter(|p| p.symbolic_name.as_deref().is_some_and(|s| s.starts_with(prefix))).count()
    };
    assert_eq!(count("registry_privateEndpoints["), 1);
    assert_eq!(count("registry_replications["), 0);
    assert_eq!(count("registry_roleAssignments["), 0);
    // Existing key vault resources whose condition is false are skipped, never evaluated.
    assert!(plan.iter().filter(|p| p.existing).all(|p| p.deploys == Some(false)));
    let pe_deployment =
        format!("{}-registry-PrivateEndpoint-0", arm_template::hash::unique_string(&["avm-acr", "westeurope"]));
    let pe_plan = plan.iter().find(|p| p.symbolic_name.as_deref() == Some("registry_privateEndpoints[0]")).unwrap();
    assert_eq!(pe_plan.id, id(&format!("Microsoft.Resources/deployments/{pe_deployment}")));
    assert_eq!(pe_plan.depends_on, vec![id("Microsoft.ContainerRegistry/registries/secureacr2021")]);
    let mut host = MemoryHost::with_recipe();
    let r = d.execute(&mut host);
    succeeded(&r);
    let reg = host.get_id(&id("Microsoft.ContainerRegistry/registries/secureacr2021")).unwrap();
    assert_eq!(reg["sku"], json!({"name": "Premium"}));
    assert_eq!(reg["properties"]["publicNetworkAccess"], json!("Disabled"));
    assert_eq!(reg["properties"]["adminUserEnabled"], json!(true));
    assert_eq!(reg["properties"]["networkRuleSet"], Value::Null);
    assert!(
        host.get_id(&id("Microsoft.Network/privateEndpoints/secureacr-pe/privateDnsZoneGroups/secureacr-zg")).is_some()
    );
    assert_eq!(r.outputs["loginServer"]["value"], json!("secureacr2021.azurecr.io"));
    assert_eq!(r.outputs["privateEndpoints"]["value"][0]["name"], json!("secureacr-pe"));
    assert_eq!(r.outputs["privateEndpoints"]["value"][0]["groupId"], json!("registry"));
    assert_eq!(r.outputs["credentialSetsResourceIds"]["value"], json!([]));
    // Two nested deployments deep: registry → private endpoint module → zone group module.
    assert_eq!(host.finished.len(), 2, "{:?}", host.finished.iter().map(|f| &f.id).collect::<Vec<_>>());
    assert_eq!(r.nested.len(), 1);
    assert_eq!(r.nested[0].nested.len(), 1);
    assert!(r.output_resources.iter().all(|o| o.starts_with(&format!("/subscriptions/{SUB}/resourceGroups/{GROUP}/"))));
}

#[test]
fn every_corpus_template_deploys_the_same_twice() {
    for name in [
        "aqt-regional-vnet-integration-2020",
        "aqt-webapp-pe-vnet-injection-2020",
        "avm-container-registry",
        "avm-private-endpoint",
        "jamesdld-private-endpoint",
        "linuxdocs-system-mi-acrpull",
    ] {
        let Some(c) = corpus(name) else { return };
        let run = || {
            let d = Deployment::prepare(c.template.clone(), c.parameters.clone(), ctx(name)).unwrap();
            let mut host = MemoryHost::with_recipe();
            let r = d.execute(&mut host);
            succeeded(&r);
            (host.resources, r.outputs, r.operations)
        };
        assert_eq!(run(), run(), "{name}");
    }
}
