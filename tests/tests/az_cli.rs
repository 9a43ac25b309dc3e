//! The real Azure CLI (2.91, installed by the test set-up) drives `pullsim serve`
//! through the July 2021 recipe (docs/azure.md A and F); every step asserts the
//! state it leaves.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use pullsim_tests::{ArmClient, AzCli, Serve};
use serde_json::Value;

const RG: &str = "secureacrsetup";
const ACR: &str = "secureacr2021";
const APP: &str = "secureacrweb2021";

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

#[test]
fn july_2021_recipe_runs_through_the_real_azure_cli() {
    let serve = Serve::start().unwrap();
    let az = AzCli::login(&serve).unwrap();
    let sub = serve.field("subscription_id");

    let account = az.ok(&["account", "show"]).unwrap();
    assert_eq!(s(&account["id"]), sub);
    assert_eq!(s(&account["user"]["type"]), "servicePrincipal");

    let g = az.ok(&["group", "create", "-n", RG, "-l", "West Europe"]).unwrap();
    assert_eq!(s(&g["location"]), "westeurope", "display names are normalized");
    assert_eq!(s(&g["properties"]["provisioningState"]), "Succeeded");

    // Network: a VNET with an integration subnet delegated to App Service and a PE subnet.
    let v = az
        .ok(&[
            "network",
            "vnet",
            "create",
            "-g",
            RG,
            "-n",
            "vnet",
            "--address-prefix",
            "10.0.0.0/16",
            "--subnet-name",
            "integration",
            "--subnet-prefix",
            "10.0.1.0/24",
        ])
        .unwrap();
    assert_eq!(v["newVNet"]["addressSpace"]["addressPrefixes"][0], "10.0.0.0/16");
    assert_eq!(s(&v["newVNet"]["subnets"][0]["addressPrefix"]), "10.0.1.0/24");
    az.ok(&[
        "network",
        "vnet",
        "subnet",
        "create",
        "-g",
        RG,
        "--vnet-name",
        "vnet",
        "-n",
        "pe",
        "--address-prefixes",
        "10.0.2.0/24",
    ])
    .unwrap();
    let d = az
        .ok(&[
            "network",
            "vnet",
            "subnet",
            "update",
            "-g",
            RG,
            "--vnet-name",
            "vnet",
            "-n",
            "integration",
            "--delegations",
            "Microsoft.Web/serverFarms",
        ])
        .unwrap();
    assert_eq!(s(&d["delegations"][0]["serviceName"]), "Microsoft.Web/serverFarms");
    // A subnet outside the address space is refused the way Azure refuses it.
    let err = az
        .fails(&[
            "network",
            "vnet",
            "subnet",
            "create",
            "-g",
            RG,
            "--vnet-name",
            "vnet",
            "-n",
            "out",
            "--address-prefixes",
            "10.9.0.0/24",
        ])
        .unwrap();
    assert!(err.contains("NetcfgSubnetRangeOutsideVnet"), "{err}");

    // The registry: Premium with the admin user, then public access off.
    let r = az.ok(&["acr", "create", "-g", RG, "-n", ACR, "--sku", "Premium", "--admin-enabled", "true"]).unwrap();
    assert_eq!(s(&r["loginServer"]), "secureacr2021.azurecr.io");
    assert_eq!(r["adminUserEnabled"], true);
    assert_eq!(s(&r["publicNetworkAccess"]), "Enabled");
    let r = az.ok(&["acr", "update", "-n", ACR, "--public-network-enabled", "false"]).unwrap();
    assert_eq!(s(&r["publicNetworkAccess"]), "Disabled");
    let reg_id = s(&r["id"]).to_string();

    // The private DNS zone, linked to the VNET without auto-registration.
    let z = az.ok(&["network", "private-dns", "zone", "create", "-g", RG, "-n", "privatelink.azurecr.io"]).unwrap();
    assert_eq!(s(&z["location"]), "global");
    let l = az
        .ok(&[
            "network",
            "private-dns",
            "link",
            "vnet",
            "create",
            "-g",
            RG,
            "-z",
            "privatelink.azurecr.io",
            "-n",
            "acrlink",
            "-v",
            "vnet",
            "-e",
            "false",
        ])
        .unwrap();
    assert_eq!(l["registrationEnabled"], false);
    assert_eq!(s(&l["virtualNetworkLinkState"]), "Completed");
    assert!(s(&l["virtualNetwork"]["id"]).ends_with("/virtualNetworks/vnet"));

    // The private endpoint: two addresses from the PE subnet, first usable is .4.
    let pe = az
        .ok(&[
            "network",
            "private-endpoint",
            "create",
            "-g",
            RG,
            "-n",
            "acr-pe",
            "--vnet-name",
            "vnet",
            "--subnet",
            "pe",
            "--private-connection-resource-id",
            &reg_id,
            "--group-id",
            "registry",
            "--connection-name",
            "acrconn",
        ])
        .unwrap();
    let dns: Vec<(String, String)> = pe["customDnsConfigs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (s(&c["fqdn"]).to_string(), s(&c["ipAddresses"][0]).to_string()))
        .collect();
    assert_eq!(
        dns,
        vec![
            ("secureacr2021.azurecr.io".to_string(), "10.0.2.4".to_string()),
            ("secureacr2021.westeurope.data.azurecr.io".to_string(), "10.0.2.5".to_string()),
        ]
    );
    assert_eq!(s(&pe["privateLinkServiceConnections"][0]["privateLinkServiceConnectionState"]["status"]), "Approved");
    let nic = az.ok(&["network", "nic", "show", "--ids", s(&pe["networkInterfaces"][0]["id"])]).unwrap();
    let members: Vec<&str> = nic["ipConfigurations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| s(&c["privateLinkConnectionProperties"]["requiredMemberName"]))
        .collect();
    assert_eq!(members, ["registry", "registry_data_westeurope"]);
    let acr = az.ok(&["acr", "show", "-n", ACR]).unwrap();
    assert_eq!(s(&acr["privateEndpointConnections"][0]["privateLinkServiceConnectionState"]["status"]), "Approved");

    // The zone group writes the endpoint's A records into the zone.
    az.ok(&[
        "network",
        "private-endpoint",
        "dns-zone-group",
        "create",
        "-g",
        RG,
        "--endpoint-name",
        "acr-pe",
        "-n",
        "default",
        "--private-dns-zone",
        "privatelink.azurecr.io",
        "--zone-name",
        "registry",
    ])
    .unwrap();
    let records = az
        .ok(&["network", "private-dns", "record-set", "a", "list", "-g", RG, "-z", "privatelink.azurecr.io"])
        .unwrap();
    let mut a: Vec<(String, String, u64)> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (s(&r["name"]).to_string(), s(&r["aRecords"][0]["ipv4Address"]).to_string(), r["ttl"].as_u64().unwrap())
        })
        .collect();
    a.sort();
    assert_eq!(
        a,
        vec![
            ("secureacr2021".to_string(), "10.0.2.4".to_string(), 10),
            ("secureacr2021.westeurope.data".to_string(), "10.0.2.5".to_string(), 10),
        ]
    );

    // The App Service plan and the web app from the private image.
    let plan = az.ok(&["appservice", "plan", "create", "-g", RG, "-n", "plan", "--is-linux", "--sku", "P1v3"]).unwrap();
    assert_eq!(plan["reserved"], true);
    assert_eq!(s(&plan["sku"]["tier"]), "PremiumV3");
    let app = az
        .ok(&[
            "webapp",
            "create",
            "-g",
            RG,
            "-p",
            "plan",
            "-n",
            APP,
            "--deployment-container-image-name",
            "secureacr2021.azurecr.io/app:v1",
        ])
        .unwrap();
    assert_eq!(s(&app["defaultHostName"]), "secureacrweb2021.azurewebsites.net");
    assert_eq!(s(&app["outboundIpAddresses"]).split(',').count(), 4);
    let cfg = az.ok(&["webapp", "config", "show", "-g", RG, "-n", APP]).unwrap();
    assert_eq!(s(&cfg["linuxFxVersion"]), "DOCKER|secureacr2021.azurecr.io/app:v1");
    // The CLI found the registry and wrote the admin credentials as app settings.
    let creds = az.ok(&["acr", "credential", "show", "-n", ACR]).unwrap();
    assert_eq!(s(&creds["username"]), ACR);
    let password = s(&creds["passwords"][0]["value"]).to_string();
    let settings = app_settings(&serve);
    assert_eq!(
        settings.get("DOCKER_REGISTRY_SERVER_URL").map(String::as_str),
        Some("https://secureacr2021.azurecr.io")
    );
    assert_eq!(settings.get("DOCKER_REGISTRY_SERVER_USERNAME").map(String::as_str), Some(ACR));
    assert_eq!(settings.get("DOCKER_REGISTRY_SERVER_PASSWORD"), Some(&password));

    // VNET integration: today's CLI switches route-all on when it integrates (docs/azure.md F).
    az.ok(&["webapp", "vnet-integration", "add", "-g", RG, "-n", APP, "--vnet", "vnet", "--subnet", "integration"])
        .unwrap();
    let site = az.ok(&["webapp", "show", "-g", RG, "-n", APP]).unwrap();
    assert!(s(&site["virtualNetworkSubnetId"]).ends_with("/virtualNetworks/vnet/subnets/integration"));
    assert_eq!(site["outboundVnetRouting"]["applicationTraffic"], true);
    assert_eq!(site["outboundVnetRouting"]["imagePullTraffic"], false);

    // The two settings of the recipe.
    az.ok(&[
        "webapp",
        "config",
        "appsettings",
        "set",
        "-g",
        RG,
        "-n",
        APP,
        "--settings",
        "WEBSITE_PULL_IMAGE_OVER_VNET=true",
    ])
    .unwrap();
    let settings = app_settings(&serve);
    assert_eq!(settings.get("WEBSITE_PULL_IMAGE_OVER_VNET").map(String::as_str), Some("true"));
    assert_eq!(settings.get("DOCKER_REGISTRY_SERVER_PASSWORD"), Some(&password), "setting one keeps the others");
    let c = az
        .ok(&[
            "webapp",
            "config",
            "set",
            "-g",
            RG,
            "-n",
            APP,
            "--generic-configurations",
            r#"{"vnetRouteAllEnabled": true}"#,
        ])
        .unwrap();
    assert_eq!(c["vnetRouteAllEnabled"], true);

    // docs/azure.md A9: the zone cannot go while its link exists; the link first, then the zone.
    let err = az
        .fails(&["network", "private-dns", "zone", "delete", "-g", RG, "-n", "privatelink.azurecr.io", "--yes"])
        .unwrap();
    assert!(err.contains("(CannotDeleteResource) Cannot delete resource while nested resources exist. Some existing nested resource IDs include: 'Microsoft.Network/privateDnsZones/privatelink.azurecr.io/virtualNetworkLinks/acrlink'. Please delete all nested resources before deleting this resource."), "{err}");
    // The "hidden" link shows in the resource listing as zone/link.
    let listed = az.ok(&["resource", "list", "-g", RG]).unwrap();
    assert!(
        listed.as_array().unwrap().iter().any(|r| s(&r["name"]) == "privatelink.azurecr.io/acrlink"
            && s(&r["type"]) == "Microsoft.Network/privateDnsZones/virtualNetworkLinks"),
        "{listed}"
    );
    az.ok(&[
        "network",
        "private-dns",
        "link",
        "vnet",
        "delete",
        "-g",
        RG,
        "-z",
        "privatelink.azurecr.io",
        "-n",
        "acrlink",
        "--yes",
    ])
    .unwrap();
    az.ok(&["network", "private-dns", "zone", "delete", "-g", RG, "-n", "privatelink.azurecr.io", "--yes"]).unwrap();
    let zones = az.ok(&["network", "private-dns", "zone", "list", "-g", RG]).unwrap();
    assert_eq!(zones, serde_json::json!([]));
}

/// The site's app settings with their values, read straight from ARM (the CLI redacts
/// values when it lists them).
fn app_settings(serve: &Serve) -> std::collections::BTreeMap<String, String> {
    let arm = ArmClient::login(serve).unwrap();
    let r = arm
        .call(
            "POST",
            &format!(
                "/subscriptions/{{sub}}/resourceGroups/{RG}/providers/Microsoft.Web/sites/{APP}/config/appsettings/list"
            ),
            None,
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["properties"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), s(v).to_string())).collect()
}

#[test]
fn managed_identity_and_acr_credentials_through_the_real_azure_cli() {
    let serve = Serve::start().unwrap();
    let az = AzCli::login(&serve).unwrap();
    az.ok(&["group", "create", "-n", RG, "-l", "westeurope"]).unwrap();

    // Disabling public access needs Premium (docs/azure.md D, exact message).
    // The CLI checks the SKU itself for `acr update`; `az rest` sends the PATCH as is.
    let basic = az.ok(&["acr", "create", "-g", RG, "-n", "basicacr01", "--sku", "Basic"]).unwrap();
    let url = format!("{}?api-version=2023-07-01", s(&basic["id"]));
    let err = az
        .fails(&[
            "rest",
            "--method",
            "patch",
            "--url",
            &url,
            "--body",
            r#"{"properties": {"publicNetworkAccess": "Disabled"}}"#,
        ])
        .unwrap();
    assert!(err.contains("DisablingPublicNetworkAccessNotSupported"), "{err}");
    assert!(
        err.contains("Disabling public network access is not supported for the SKU Basic. For more information, please visit https://aka.ms/acr/private-link."),
        "{err}"
    );

    // Admin credentials: regenerating one password changes it and keeps the other.
    let reg = az.ok(&["acr", "create", "-g", RG, "-n", ACR, "--sku", "Premium", "--admin-enabled", "true"]).unwrap();
    let before = az.ok(&["acr", "credential", "show", "-n", ACR]).unwrap();
    let after = az.ok(&["acr", "credential", "renew", "-n", ACR, "--password-name", "password"]).unwrap();
    assert_ne!(before["passwords"][0]["value"], after["passwords"][0]["value"]);
    assert_eq!(before["passwords"][1]["value"], after["passwords"][1]["value"]);
    az.ok(&["acr", "update", "-n", ACR, "--admin-enabled", "false"]).unwrap();
    // The CLI reads adminUserEnabled=false and stops by itself; ARM refuses too.
    let err = az.fails(&["acr", "credential", "show", "-n", ACR]).unwrap();
    assert!(err.contains("to enable admin first"), "{err}");
    let url = format!("{}/listCredentials?api-version=2023-07-01", s(&reg["id"]));
    let err = az.fails(&["rest", "--method", "post", "--url", &url]).unwrap();
    assert!(err.contains("Admin user is disabled for registry 'secureacr2021'"), "{err}");

    // A user-assigned identity given AcrPull on the registry, and a site's system identity.
    let id = az.ok(&["identity", "create", "-g", RG, "-n", "pull-identity"]).unwrap();
    let principal = s(&id["principalId"]).to_string();
    assert_eq!(principal.len(), 36);
    assert_ne!(s(&id["clientId"]), principal, "client ID and principal ID differ");
    let ra = az
        .ok(&[
            "role",
            "assignment",
            "create",
            "--assignee-object-id",
            &principal,
            "--assignee-principal-type",
            "ServicePrincipal",
            "--role",
            "AcrPull",
            "--scope",
            s(&reg["id"]),
        ])
        .unwrap();
    assert!(s(&ra["roleDefinitionId"]).ends_with("7f951dda-4ed3-4680-a7ca-43fe172d538d"), "AcrPull's built-in ID");
    assert_eq!(s(&ra["scope"]), s(&reg["id"]));
    // The common mistake: the client ID is not a principal.
    let err = az
        .fails(&[
            "role",
            "assignment",
            "create",
            "--assignee-object-id",
            s(&id["clientId"]),
            "--assignee-principal-type",
            "ServicePrincipal",
            "--role",
            "AcrPull",
            "--scope",
            s(&reg["id"]),
        ])
        .unwrap();
    assert!(err.contains("PrincipalNotFound"), "{err}");

    az.ok(&["appservice", "plan", "create", "-g", RG, "-n", "plan", "--is-linux", "--sku", "B1"]).unwrap();
    az.ok(&[
        "webapp",
        "create",
        "-g",
        RG,
        "-p",
        "plan",
        "-n",
        APP,
        "--deployment-container-image-name",
        "secureacr2021.azurecr.io/app:v1",
    ])
    .unwrap();
    let ident = az.ok(&["webapp", "identity", "assign", "-g", RG, "-n", APP]).unwrap();
    assert_eq!(s(&ident["type"]), "SystemAssigned");
    assert_eq!(s(&ident["principalId"]).len(), 36);
    let c = az
        .ok(&[
            "webapp",
            "config",
            "set",
            "-g",
            RG,
            "-n",
            APP,
            "--generic-configurations",
            r#"{"acrUseManagedIdentityCreds": true}"#,
        ])
        .unwrap();
    assert_eq!(c["acrUseManagedIdentityCreds"], true);
    // Restart is accepted; the container log is empty until the worker has pulled.
    az.ok(&["webapp", "restart", "-g", RG, "-n", APP]).unwrap();
}
