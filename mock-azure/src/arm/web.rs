//! `Microsoft.Web`: App Service plans and sites, with their configuration children.
//!
//! A site's routing flags are one store of truth seen through several api-versions
//! (docs/azure.md B and F): `siteConfig.vnetRouteAllEnabled` ≡ site-level `vnetRouteAllEnabled`
//! (2022-03…2024-04) ≡ `outboundVnetRouting.applicationTraffic` (2024-11+), kept in
//! `config/web`; `vnetImagePullEnabled` ≡ `outboundVnetRouting.imagePullTraffic` and the
//! other traffic flags are kept on the site as `outboundVnetRouting`.

use serde_json::{Map, Value, json};

use super::body::{as_bool, bool_at, id_at, str_at};
use super::error::ArmError;
use super::http::ArmResponse;
use super::kind::{Ctx, Kind, Loc, ProviderAction, Read};
use super::public_ip::new_public_ips;
use super::resources::{not_found, strip_private};
use super::service::Arm;
use crate::model::{PRIVATE, ResourceId, Tx, net};

/// The kinds of this provider.
pub(super) static KINDS: &[&Kind] = &[&PLAN, &SITE, &CONFIG, &NETWORK_CONFIG, &HOST_NAME_BINDING, &VNET_CONNECTION];

/// Its subscription-level actions.
pub(super) static ACTIONS: &[ProviderAction] =
    &[ProviderAction { namespace: "Microsoft.Web", name: "checkNameAvailability", run: check_name }];

static PLAN: Kind = Kind {
    canonical: "Microsoft.Web/serverfarms",
    tracked: true,
    loc: Loc::Region,
    put: put_plan,
    delete: |ctx, tx, plan, _| {
        let key = plan["id"].as_str().unwrap_or_default().to_ascii_lowercase();
        let sub = format!("/subscriptions/{}/", ctx.id.subscription.to_ascii_lowercase());
        let used = tx.scan_prefix(&sub).into_iter().find(|v| {
            v["type"] == "Microsoft.Web/sites"
                && v["properties"]["serverFarmId"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(&key))
        });
        match used {
            Some(site) => Err(ArmError::plan_in_use(
                plan["name"].as_str().unwrap_or_default(),
                site["name"].as_str().unwrap_or_default(),
            )),
            None => Ok(()),
        }
    },
    ..Kind::BASE
};

static SITE: Kind = Kind {
    canonical: "Microsoft.Web/sites",
    tracked: true,
    loc: Loc::Region,
    put: put_site,
    render: render_site,
    action: site_action,
    ..Kind::BASE
};

static CONFIG: Kind = Kind {
    canonical: "Microsoft.Web/sites/config",
    tracked: false,
    loc: Loc::None,
    put: put_config,
    delete: |ctx, _, _, cascade| {
        if cascade {
            Ok(())
        } else {
            Err(ArmError::method_not_allowed("DELETE").with_target(ctx.id.name().to_string()))
        }
    },
    render: render_config,
    action: config_action,
    ..Kind::BASE
};

/// `sites/networkConfig/virtualNetwork`: regional VNET integration the way templates and
/// SDKs write it (`subnetResourceId`, `swiftSupported`), the same setting as the site's
/// `virtualNetworkSubnetId` (read from the site, never kept twice). The site writes this
/// record whenever it is integrated, so GET and listings find it either way.
static NETWORK_CONFIG: Kind = Kind {
    canonical: "Microsoft.Web/sites/networkConfig",
    tracked: false,
    loc: Loc::None,
    put: |ctx, tx, _, body, _| {
        if !ctx.id.name().eq_ignore_ascii_case("virtualNetwork") {
            return Err(ArmError::bad_request(format!(
                "The network configuration '{}' is not supported: only 'virtualNetwork' is.",
                ctx.id.name()
            )));
        }
        integrate_from_body(ctx, tx, &body)
    },
    delete: |ctx, tx, _, cascade| if cascade { Ok(()) } else { disconnect(ctx, tx) },
    render: render_integration,
    ..Kind::BASE
};

/// `sites/hostNameBindings`: the site's host names. The default one
/// (`{app}.azurewebsites.net`) exists with the site; others are kept as given.
static HOST_NAME_BINDING: Kind = Kind {
    canonical: "Microsoft.Web/sites/hostNameBindings",
    tracked: false,
    loc: Loc::None,
    put: |ctx, _, _, body, existing| {
        let mut props = existing.map(|e| e["properties"].clone()).unwrap_or_else(|| json!({}));
        if let Some(given) = body["properties"].as_object() {
            for (k, v) in given {
                props[k] = v.clone();
            }
        }
        props["siteName"] = json!(ctx.id.name_at(0).unwrap_or_default());
        for (k, v) in [("hostNameType", "Verified"), ("sslState", "Disabled"), ("customHostNameDnsRecordType", "CName")]
        {
            if props.get(k).is_none_or(Value::is_null) {
                props[k] = json!(v);
            }
        }
        Ok(json!({ "properties": props }))
    },
    ..Kind::BASE
};

/// The site's VNET integration, set from a `networkConfig`/`config` body
/// (`properties.subnetResourceId`): the same checks as the site's `virtualNetworkSubnetId`.
fn integrate_from_body(ctx: &Ctx, tx: &mut Tx, body: &Value) -> Result<Value, ArmError> {
    let subnet_id = id_at(body, "/properties/subnetResourceId")?.ok_or_else(|| {
        ArmError::bad_request("The parameter properties.subnetResourceId is required.")
            .with_target("properties.subnetResourceId")
    })?;
    let site_id = ctx.id.parent().ok_or_else(|| not_found(ctx.id))?;
    let mut site = tx.get(&site_id).ok_or_else(|| not_found(&site_id))?;
    let plan_id = site["properties"]["serverFarmId"].as_str().and_then(|p| ResourceId::parse(p).ok());
    let tier = plan_id
        .and_then(|p| tx.get(&p))
        .and_then(|p| p["sku"]["tier"].as_str().map(str::to_string))
        .unwrap_or_else(|| "Standard".into());
    let subnet = integration_subnet(tx, &subnet_id, &tier)?;
    site["properties"]["virtualNetworkSubnetId"] = subnet.clone();
    let sid = site["id"].as_str().unwrap_or_default().to_string();
    tx.put(site);
    if !ctx.id.type_key().ends_with("/networkconfig") {
        tx.put(network_config_record(&sid, &subnet));
    }
    Ok(json!({"properties": {"subnetResourceId": subnet, "swiftSupported": true}}))
}

/// Ends the site's VNET integration (DELETE of its `networkConfig/virtualNetwork`).
fn disconnect(ctx: &Ctx, tx: &mut Tx) -> Result<(), ArmError> {
    let site_id = ctx.id.parent().ok_or_else(|| not_found(ctx.id))?;
    if let Some(mut site) = tx.get(&site_id) {
        site["properties"]["virtualNetworkSubnetId"] = Value::Null;
        tx.put(site);
    }
    Ok(())
}

/// `networkConfig/virtualNetwork` (or `config/virtualNetwork`) as read: the site's subnet.
fn render_integration(_: &Ctx, r: &dyn Read, mut v: Value) -> Value {
    let id = v["id"].as_str().unwrap_or_default().to_ascii_lowercase();
    let site_key = id.rsplitn(3, '/').nth(2).unwrap_or_default().to_string();
    let subnet = r.get_at(&site_key, "/properties/virtualNetworkSubnetId").unwrap_or(Value::Null);
    v["properties"] = json!({"subnetResourceId": subnet, "swiftSupported": true});
    v
}

fn network_config_record(site_id: &str, subnet: &Value) -> Value {
    json!({
        "id": format!("{site_id}/networkConfig/virtualNetwork"), "name": "virtualNetwork",
        "type": "Microsoft.Web/sites/networkConfig",
        "properties": {"subnetResourceId": subnet, "swiftSupported": true},
    })
}

/// A subnet a site of this plan tier may integrate with, or Azure's refusal; its ID as
/// stored.
fn integration_subnet(tx: &Tx, subnet_id: &ResourceId, tier: &str) -> Result<Value, ArmError> {
    let subnet = tx.get(subnet_id).ok_or_else(|| not_found(subnet_id))?;
    let delegated = subnet["properties"]["delegations"].as_array().into_iter().flatten().any(|d| {
        d["properties"]["serviceName"].as_str().is_some_and(|s| s.eq_ignore_ascii_case("Microsoft.Web/serverFarms"))
    });
    if !delegated {
        return Err(ArmError::bad_request(format!(
            "Subnet {} in VNET {} is missing a delegation to Microsoft.Web/serverFarms. Please add the delegation and try again.",
            subnet_id.name(),
            subnet_id.name_at(0).unwrap_or_default()
        ))
        .with_target("properties.virtualNetworkSubnetId"));
    }
    if matches!(tier, "Free" | "Shared" | "Dynamic") {
        return Err(ArmError::bad_request(format!(
            "Virtual network integration is not supported for the {tier} pricing tier."
        )));
    }
    Ok(subnet["id"].clone())
}

/// A site's regional VNET integration as `az webapp vnet-integration list` reads it: one
/// connection, derived from `virtualNetworkSubnetId` (never stored), named
/// `{VNET resourceGuid}_{subnet}` as Azure names regional (swift) connections. The
/// listing is a plain JSON array, as App Service answers it.
static VNET_CONNECTION: Kind = Kind {
    canonical: "Microsoft.Web/sites/virtualNetworkConnections",
    tracked: false,
    loc: Loc::None,
    get: Some(|ctx| {
        let site_id = ctx.id.parent().ok_or_else(|| not_found(ctx.id))?;
        vnet_connection(ctx, &site_id)
            .filter(|c| c["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(ctx.id.name())))
            .ok_or_else(|| not_found(ctx.id))
    }),
    list: Some(|ctx, _, site_id| {
        let connections: Vec<Value> = vnet_connection(ctx, site_id).into_iter().collect();
        Ok(ArmResponse::json(200, &json!(connections)))
    }),
    ..Kind::BASE
};

fn vnet_connection(ctx: &Ctx, site_id: &ResourceId) -> Option<Value> {
    let site = ctx.arm.store.get(site_id)?;
    let subnet_id = site["properties"]["virtualNetworkSubnetId"].as_str()?;
    let subnet = ResourceId::parse(subnet_id).ok()?;
    let vnet = subnet.parent()?;
    let vnet_guid = ctx.arm.store.get_at(&vnet.key(), "/properties/resourceGuid")?;
    let name = format!("{}_{}", vnet_guid.as_str().unwrap_or_default(), subnet.name());
    let location = super::regions::REGIONS
        .iter()
        .find(|(n, _)| site["location"].as_str().is_some_and(|l| l.eq_ignore_ascii_case(n)))
        .map(|(_, display)| *display)
        .unwrap_or_default();
    Some(json!({
        "id": format!("{}/virtualNetworkConnections/{name}", site["id"].as_str().unwrap_or_default()),
        "name": name,
        "type": "Microsoft.Web/sites/virtualNetworkConnections",
        "location": location,
        "properties": {
            "vnetResourceId": subnet_id, "certThumbprint": null, "certBlob": null, "routes": null,
            "resyncRequired": false, "dnsServers": null, "isSwift": true,
        },
    }))
}

/// `(tier, family)` of an App Service plan SKU name.
fn sku_tier(name: &str) -> Option<(&'static str, String)> {
    let n = name.to_ascii_uppercase();
    let tier = match n.as_str() {
        "F1" => "Free",
        "D1" => "Shared",
        "B1" | "B2" | "B3" => "Basic",
        "S1" | "S2" | "S3" => "Standard",
        "P1" | "P2" | "P3" => "Premium",
        "P1V2" | "P2V2" | "P3V2" => "PremiumV2",
        "P0V3" | "P1V3" | "P2V3" | "P3V3" | "P1MV3" | "P2MV3" | "P3MV3" | "P4MV3" | "P5MV3" => "PremiumV3",
        "P0V4" | "P1V4" | "P2V4" | "P3V4" | "P1MV4" | "P2MV4" | "P3MV4" | "P4MV4" | "P5MV4" => "PremiumV4",
        "I1V2" | "I2V2" | "I3V2" | "I4V2" | "I5V2" | "I6V2" => "IsolatedV2",
        "EP1" | "EP2" | "EP3" => "ElasticPremium",
        "Y1" => "Dynamic",
        _ => return None,
    };
    let family =
        n.trim_start_matches(|c: char| c.is_ascii_alphabetic()).trim_start_matches(|c: char| c.is_ascii_digit());
    let family = format!("{}{}", n.chars().next().unwrap_or('P'), family.to_ascii_lowercase());
    Some((tier, family))
}

fn put_plan(ctx: &Ctx, _tx: &mut Tx, _id: &str, body: Value, existing: Option<&Value>) -> Result<Value, ArmError> {
    let sku_name = str_at(&body, "/sku/name")?
        .map(str::to_string)
        .or_else(|| existing.and_then(|e| e["sku"]["name"].as_str().map(str::to_string)))
        .unwrap_or_else(|| "S1".into());
    let (tier, family) = sku_tier(&sku_name).ok_or_else(|| {
        ArmError::bad_request(format!("The pricing tier '{sku_name}' is not allowed in this resource group. Use a supported SKU such as B1, S1, P1v3.")).with_target("sku.name")
    })?;
    let capacity = body["sku"]["capacity"].as_u64().unwrap_or(1);
    let kind = body["kind"].as_str().unwrap_or_default().to_ascii_lowercase();
    let reserved = bool_at(&body, "/properties/reserved")?
        .or_else(|| existing.and_then(|e| e["properties"]["reserved"].as_bool()))
        .unwrap_or(false)
        || kind.contains("linux");
    Ok(json!({
        "kind": if reserved { "linux" } else { "app" },
        "sku": {"name": sku_name, "tier": tier, "size": sku_name, "family": family, "capacity": capacity},
        "properties": {
            "name": ctx.id.name(),
            "status": "Ready",
            "reserved": reserved,
            "isXenon": false,
            "hyperV": false,
            "maximumNumberOfWorkers": 30,
            "numberOfWorkers": capacity,
            "perSiteScaling": false,
            "zoneRedundant": false,
            "provisioningState": "Succeeded",
            "geoRegion": body["location"].as_str().unwrap_or_default(),
        },
    }))
}

/// Settings in `config/web` pullsim validates; others are stored as given.
const CONFIG_BOOLS: &[&str] = &[
    "vnetRouteAllEnabled",
    "acrUseManagedIdentityCreds",
    "alwaysOn",
    "http20Enabled",
    "httpLoggingEnabled",
    "detailedErrorLoggingEnabled",
    "webSocketsEnabled",
    "use32BitWorkerProcess",
    "localMySqlEnabled",
    "remoteDebuggingEnabled",
    "requestTracingEnabled",
];
const CONFIG_STRINGS: &[&str] =
    &["linuxFxVersion", "windowsFxVersion", "acrUserManagedIdentityID", "ftpsState", "minTlsVersion", "appCommandLine"];

/// Read-only or list-valued parts of a site's config that a PUT never sets here.
const CONFIG_SKIP: &[&str] = &["appSettings", "connectionStrings", "azureStorageAccounts", "machineKey"];

fn default_config() -> Map<String, Value> {
    let v = json!({
        "numberOfWorkers": 1,
        "netFrameworkVersion": "v4.0",
        "linuxFxVersion": "",
        "alwaysOn": false,
        "http20Enabled": false,
        "ftpsState": "FtpsOnly",
        "minTlsVersion": "1.2",
        "vnetRouteAllEnabled": false,
        "vnetPrivatePortsCount": 0,
        "acrUseManagedIdentityCreds": false,
        "acrUserManagedIdentityID": null,
        "publicNetworkAccess": null,
        "appCommandLine": "",
        "managedPipelineMode": "Integrated",
        "scmType": "None",
        "use32BitWorkerProcess": true,
        "webSocketsEnabled": false,
        "ipSecurityRestrictions": [{"ipAddress": "Any", "action": "Allow", "priority": 2147483647, "name": "Allow all", "description": "Allow all access"}],
    });
    v.as_object().cloned().unwrap_or_default()
}

/// Applies the writable settings in `given` over `config`, validating types. `null`
/// values mean "not given" (the CLI sends GET results back with nulls in them).
fn apply_config(config: &mut Map<String, Value>, given: &Value, at: &str) -> Result<(), ArmError> {
    let Some(given) = given.as_object() else {
        return if given.is_null() {
            Ok(())
        } else {
            Err(ArmError::invalid_content(format!("'{at}' must be an object")))
        };
    };
    for (k, v) in given {
        if v.is_null() || CONFIG_SKIP.iter().any(|s| s.eq_ignore_ascii_case(k)) {
            continue;
        }
        let key = CONFIG_BOOLS
            .iter()
            .chain(CONFIG_STRINGS)
            .find(|s| s.eq_ignore_ascii_case(k))
            .map(|s| s.to_string())
            .unwrap_or_else(|| k.clone());
        if CONFIG_BOOLS.contains(&key.as_str()) {
            let b = as_bool(v).ok_or_else(|| {
                ArmError::invalid_content(format!("'{at}.{key}' must be a boolean, got {v}"))
                    .with_target(format!("{at}.{key}"))
            })?;
            config.insert(key, json!(b));
        } else if CONFIG_STRINGS.contains(&key.as_str()) {
            let s = v.as_str().ok_or_else(|| {
                ArmError::invalid_content(format!("'{at}.{key}' must be a string, got {v}"))
                    .with_target(format!("{at}.{key}"))
            })?;
            if key == "linuxFxVersion" {
                validate_fx(s)?;
            }
            config.insert(key, json!(s));
        } else {
            config.insert(key, v.clone());
        }
    }
    Ok(())
}

/// `linuxFxVersion` must be `KIND|value` (`DOCKER|reg.azurecr.io/app:v1`, `NODE|20-lts`…).
fn validate_fx(s: &str) -> Result<(), ArmError> {
    if s.is_empty() {
        return Ok(());
    }
    match s.split_once('|') {
        Some((k, v)) if !k.is_empty() && !v.trim().is_empty() => Ok(()),
        _ => Err(ArmError::bad_request(format!("The parameter LinuxFxVersion has an invalid value '{s}'. Expected 'DOCKER|<image>' or '<RUNTIME>|<version>'.")).with_target("siteConfig.linuxFxVersion")),
    }
}

/// App settings as a map of strings; scalars are turned into strings as Azure does.
fn settings_map(v: &Value, at: &str) -> Result<Map<String, Value>, ArmError> {
    let mut out = Map::new();
    let bad = |k: &str| {
        ArmError::invalid_content(format!("'{at}' value of '{k}' must be a string")).with_target(at.to_string())
    };
    let mut add = |k: &str, v: &Value| -> Result<(), ArmError> {
        let s = match v {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::Null => String::new(),
            _ => return Err(bad(k)),
        };
        if k.is_empty() {
            return Err(ArmError::bad_request("App setting names cannot be empty.").with_target(at.to_string()));
        }
        out.insert(k.to_string(), json!(s));
        Ok(())
    };
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                add(k, v)?;
            }
        }
        Value::Array(items) => {
            for item in items {
                let name = item["name"].as_str().ok_or_else(|| bad("?"))?;
                add(name, &item["value"])?;
            }
        }
        Value::Null => {}
        _ => return Err(bad("?")),
    }
    Ok(out)
}

fn config_id(site_id: &str, name: &str) -> String {
    format!("{site_id}/config/{name}")
}

fn put_site(ctx: &Ctx, tx: &mut Tx, id: &str, body: Value, existing: Option<&Value>) -> Result<Value, ArmError> {
    if existing.is_none() && !valid_site_name(ctx.id.name()) {
        return Err(ArmError::bad_name(
            ctx.id.name(),
            "Site names can contain only letters, numbers and hyphens, cannot start or end with a hyphen, and must be 2-60 characters.",
        ));
    }
    // The name is a host name (`<name>.azurewebsites.net`): unique across Azure.
    if existing.is_none() && site_taken(tx, ctx.id.name()) {
        return Err(ArmError::site_name_taken(ctx.id.name()));
    }
    // App Service finds the plan from the end of `serverFarmId` (inferred: Microsoft's
    // Linux managed-identity sample writes `…/resourcegroups/{resourceGroup().id}/providers/…`
    // and deploys): an ID with a full ID inside it is read from the inner one.
    let mut body = body;
    if let Some(f) = body.pointer("/properties/serverFarmId").and_then(Value::as_str)
        && let Some(i) = f.rfind("/subscriptions/").filter(|i| *i > 0)
    {
        let inner = f[i..].to_string();
        body["properties"]["serverFarmId"] = json!(inner);
    }
    let mut props = existing.map(|e| e["properties"].clone()).unwrap_or_else(|| json!({}));
    let given = &body["properties"];
    if !(given.is_null() || given.is_object()) {
        return Err(ArmError::invalid_content("'properties' must be an object"));
    }
    // The plan.
    let plan_id = match id_at(&body, "/properties/serverFarmId")? {
        Some(p) => p,
        None => match existing.and_then(|e| e["properties"]["serverFarmId"].as_str()) {
            Some(p) => ResourceId::parse(p).map_err(|e| ArmError::bad_request(e.to_string()))?,
            None => {
                return Err(ArmError::bad_request(
                    "The parameter properties.serverFarmId has an invalid value: an App Service plan is required.",
                )
                .with_target("properties.serverFarmId"));
            }
        },
    };
    let plan = tx.get(&plan_id).ok_or_else(|| not_found(&plan_id))?;
    let tier = plan["sku"]["tier"].as_str().unwrap_or("Standard").to_string();
    props["serverFarmId"] = plan["id"].clone();
    props["reserved"] = plan["properties"]["reserved"].clone();
    for k in [
        "httpsOnly",
        "clientAffinityEnabled",
        "enabled",
        "keyVaultReferenceIdentity",
        "publicNetworkAccess",
        "clientCertEnabled",
    ] {
        if let Some(v) = given.get(k).filter(|v| !v.is_null()) {
            props[k] = v.clone();
        }
    }
    // DNS settings for the worker (docs/azure.md C): up to five servers.
    if let Some(dns) = given.get("dnsConfiguration").filter(|v| !v.is_null()) {
        if let Some(servers) = dns.get("dnsServers").and_then(Value::as_array)
            && (servers.len() > 5
                || servers.iter().any(|s| s.as_str().and_then(|s| s.parse::<std::net::Ipv4Addr>().ok()).is_none()))
        {
            return Err(ArmError::bad_request("dnsConfiguration.dnsServers must hold at most 5 IPv4 addresses.")
                .with_target("properties.dnsConfiguration.dnsServers"));
        }
        props["dnsConfiguration"] = dns.clone();
    }
    // VNET integration.
    if given.get("virtualNetworkSubnetId").is_some()
        && super::version::known_at("microsoft.web/sites", "/properties/virtualNetworkSubnetId", ctx.api)
    {
        match id_at(&body, "/properties/virtualNetworkSubnetId")? {
            None => props["virtualNetworkSubnetId"] = Value::Null,
            Some(subnet_id) => props["virtualNetworkSubnetId"] = integration_subnet(tx, &subnet_id, &tier)?,
        }
    }
    // The integration as templates and SDKs read it (`networkConfig/virtualNetwork`).
    let nc_id = format!("{id}/networkConfig/virtualNetwork");
    match &props["virtualNetworkSubnetId"] {
        Value::String(_) => tx.put(network_config_record(id, &props["virtualNetworkSubnetId"])),
        _ => {
            if let Ok(nc) = ResourceId::parse(&nc_id) {
                tx.delete(&nc);
            }
        }
    }
    // The configuration children.
    let web_key = config_id(id, "web").to_ascii_lowercase();
    let mut config = match tx.get_key(&web_key) {
        Some(c) => c["properties"].as_object().cloned().unwrap_or_default(),
        None => default_config(),
    };
    let site_config = given.get("siteConfig").cloned().unwrap_or(Value::Null);
    apply_config(&mut config, &site_config, "properties.siteConfig")?;
    let mut routing = props["outboundVnetRouting"].as_object().cloned().unwrap_or_default();
    for k in ["allTraffic", "backupRestoreTraffic", "contentShareTraffic", "imagePullTraffic"] {
        routing.entry(k).or_insert(json!(false));
    }
    let api = ctx.api;
    // Writes are lenient (docs/azure.md F): App Service keeps the site-level flags sent at
    // api-versions older than 2022-03-01, as Microsoft's own samples rely on.
    if api.at_most("2024-04-01") {
        if let Some(b) = bool_at(&body, "/properties/vnetRouteAllEnabled")? {
            config.insert("vnetRouteAllEnabled".into(), json!(b));
        }
        if let Some(b) = bool_at(&body, "/properties/vnetImagePullEnabled")? {
            routing.insert("imagePullTraffic".into(), json!(b));
        }
        if let Some(b) = bool_at(&body, "/properties/vnetContentShareEnabled")? {
            routing.insert("contentShareTraffic".into(), json!(b));
        }
    }
    if api.at_least("2024-11-01")
        && let Some(r) = given.get("outboundVnetRouting").filter(|v| !v.is_null())
    {
        if !r.is_object() {
            return Err(ArmError::invalid_content("'properties.outboundVnetRouting' must be an object"));
        }
        for k in ["allTraffic", "backupRestoreTraffic", "contentShareTraffic", "imagePullTraffic"] {
            if let Some(b) = bool_at(r, &format!("/{k}"))? {
                routing.insert(k.into(), json!(b));
            }
        }
        if let Some(b) = bool_at(r, "/applicationTraffic")? {
            config.insert("vnetRouteAllEnabled".into(), json!(b));
        }
    }
    routing.remove("applicationTraffic");
    props["outboundVnetRouting"] = Value::Object(routing);
    let mut kind = body["kind"]
        .as_str()
        .map(str::to_string)
        .or_else(|| existing.and_then(|e| e["kind"].as_str().map(str::to_string)))
        .unwrap_or_else(|| "app".into());
    if config["linuxFxVersion"].as_str().is_some_and(|f| f.to_ascii_uppercase().starts_with("DOCKER|"))
        && !kind.contains("container")
    {
        kind = "app,linux,container".into();
    } else if props["reserved"] == true && !kind.contains("linux") {
        kind = "app,linux".into();
    }
    let site_pv = existing.map(|e| e[PRIVATE].clone()).unwrap_or_else(|| json!({}));
    tx.put(json!({
        "id": config_id(id, "web"), "name": "web", "type": "Microsoft.Web/sites/config",
        "location": body["location"].as_str().or_else(|| existing.and_then(|e| e["location"].as_str())),
        "properties": config,
    }));
    // Azure answers GETs of these from the first moment; make them exist with the site.
    for (name, props) in [
        ("slotConfigNames", json!({"appSettingNames": [], "connectionStringNames": [], "azureStorageConfigNames": []})),
        ("connectionstrings", json!({})),
    ] {
        let cid = config_id(id, name);
        if tx.get_key(&cid.to_ascii_lowercase()).is_none() {
            tx.put(json!({"id": cid, "name": name, "type": "Microsoft.Web/sites/config", "properties": props}));
        }
    }
    let settings_key = config_id(id, "appsettings");
    if let Some(s) = site_config.get("appSettings").filter(|v| !v.is_null()) {
        let map = settings_map(s, "properties.siteConfig.appSettings")?;
        tx.put(
            json!({"id": settings_key, "name": "appsettings", "type": "Microsoft.Web/sites/config", "properties": map}),
        );
    } else if tx.get_key(&settings_key.to_ascii_lowercase()).is_none() {
        tx.put(
            json!({"id": settings_key, "name": "appsettings", "type": "Microsoft.Web/sites/config", "properties": {}}),
        );
    }
    // Server-owned fields.
    let name = ctx.id.name().to_ascii_lowercase();
    let host = format!("{name}.azurewebsites.net");
    let binding = format!("{id}/hostNameBindings/{host}");
    if tx.get_key(&binding.to_ascii_lowercase()).is_none() {
        tx.put(json!({
            "id": binding, "name": host, "type": "Microsoft.Web/sites/hostNameBindings",
            "properties": {"siteName": ctx.id.name(), "hostNameType": "Verified", "sslState": "Disabled", "customHostNameDnsRecordType": "A"},
        }));
    }
    let (outbound, possible) = match existing {
        Some(e) => {
            (e["properties"]["outboundIpAddresses"].clone(), e["properties"]["possibleOutboundIpAddresses"].clone())
        }
        None => {
            let ips = new_public_ips(tx, &id.to_ascii_lowercase(), 6);
            (json!(ips[..4].join(",")), json!(ips.join(",")))
        }
    };
    let obj = props.as_object_mut().ok_or_else(|| ArmError::invalid_content("'properties' must be an object"))?;
    for (k, v) in [
        ("name", json!(ctx.id.name())),
        ("state", json!("Running")),
        ("hostNames", json!([host])),
        ("enabledHostNames", json!([host, format!("{name}.scm.azurewebsites.net")])),
        (
            "hostNameSslStates",
            json!([
                {"name": host, "sslState": "Disabled", "hostType": "Standard"},
                {"name": format!("{name}.scm.azurewebsites.net"), "sslState": "Disabled", "hostType": "Repository"},
            ]),
        ),
        ("defaultHostName", json!(host)),
        ("usageState", json!("Normal")),
        ("availabilityState", json!("Normal")),
        ("sku", json!(tier)),
        ("outboundIpAddresses", outbound),
        ("possibleOutboundIpAddresses", possible),
        ("resourceGroup", json!(ctx.id.resource_group)),
        ("provisioningState", json!("Succeeded")),
    ] {
        obj.insert(k.into(), v);
    }
    obj.remove("siteConfig");
    obj.entry("httpsOnly").or_insert(json!(false));
    obj.entry("enabled").or_insert(json!(true));
    let identity = site_identity(tx, &ctx.arm.cfg.tenant_id, id, body.get("identity"), existing)?;
    let mut out = json!({"kind": kind, "properties": props, PRIVATE: site_pv});
    if let Some(i) = identity {
        out["identity"] = i;
    }
    Ok(out)
}

/// The site's managed identity block: system-assigned principal derived from the site,
/// user-assigned ones looked up (they must exist).
fn site_identity(
    tx: &Tx,
    tenant: &str,
    site_id: &str,
    given: Option<&Value>,
    existing: Option<&Value>,
) -> Result<Option<Value>, ArmError> {
    let Some(given) = given.filter(|v| !v.is_null()) else {
        return Ok(existing.and_then(|e| e.get("identity").cloned()));
    };
    let ty = given["type"].as_str().unwrap_or("None");
    let norm: String = ty.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    let (system, user) = match norm.as_str() {
        "none" => return Ok(None),
        "systemassigned" => (true, false),
        "userassigned" => (false, true),
        "systemassigned,userassigned" => (true, true),
        _ => return Err(ArmError::bad_request(format!("The identity type '{ty}' is not supported. Use SystemAssigned, UserAssigned or 'SystemAssigned, UserAssigned'.")).with_target("identity.type")),
    };
    let mut out = json!({"type": if system && user { "SystemAssigned, UserAssigned" } else if system { "SystemAssigned" } else { "UserAssigned" }});
    if system {
        out["principalId"] = json!(net::guid(&["site-principal", &site_id.to_ascii_lowercase()]));
        out["tenantId"] = json!(tenant);
    }
    if user {
        let ids = given["userAssignedIdentities"].as_object().ok_or_else(|| {
            ArmError::bad_request("The identity type UserAssigned requires userAssignedIdentities.")
                .with_target("identity.userAssignedIdentities")
        })?;
        let mut m = Map::new();
        for uid in ids.keys() {
            let rid = ResourceId::parse(uid)
                .map_err(|e| ArmError::bad_request(e.to_string()).with_target("identity.userAssignedIdentities"))?;
            let ident = tx
                .get(&rid)
                .filter(|v| v["type"] == "Microsoft.ManagedIdentity/userAssignedIdentities")
                .ok_or_else(|| {
                    ArmError::bad_request(format!("Resource '{uid}' was not found."))
                        .with_target("identity.userAssignedIdentities")
                })?;
            m.insert(
                ident["id"].as_str().unwrap_or(uid).to_string(),
                json!({"principalId": ident["properties"]["principalId"], "clientId": ident["properties"]["clientId"]}),
            );
        }
        out["userAssignedIdentities"] = Value::Object(m);
    }
    Ok(Some(out))
}

fn render_site(_ctx: &Ctx, r: &dyn Read, mut site: Value) -> Value {
    let key = site["id"].as_str().unwrap_or_default().to_ascii_lowercase();
    let config = r.get_at(&format!("{key}/config/web"), "/properties").unwrap_or_else(|| json!({}));
    let route_all = config["vnetRouteAllEnabled"].as_bool().unwrap_or(false);
    let routing = site["properties"]["outboundVnetRouting"].clone();
    let flag = |k: &str| routing[k].as_bool().unwrap_or(false);
    let p = &mut site["properties"];
    p["siteConfig"] = config;
    p["vnetRouteAllEnabled"] = json!(route_all);
    p["vnetImagePullEnabled"] = json!(flag("imagePullTraffic"));
    p["vnetContentShareEnabled"] = json!(flag("contentShareTraffic"));
    p["outboundVnetRouting"] = json!({
        "allTraffic": flag("allTraffic"),
        "applicationTraffic": route_all,
        "backupRestoreTraffic": flag("backupRestoreTraffic"),
        "contentShareTraffic": flag("contentShareTraffic"),
        "imagePullTraffic": flag("imagePullTraffic"),
    });
    if p.get("virtualNetworkSubnetId").is_none() {
        p["virtualNetworkSubnetId"] = Value::Null;
    }
    site
}

fn site_action(
    ctx: &Ctx,
    tx: &mut Tx,
    action: &str,
    site: &Value,
    _body: &Value,
) -> Option<Result<ArmResponse, ArmError>> {
    let key = site["id"].as_str().unwrap_or_default().to_ascii_lowercase();
    Some(match action {
        // A restart is an event the worker watches for; record it as a change of the site.
        "restart" | "start" | "stop" => {
            let mut s = site.clone();
            let n = s[PRIVATE]["restarts"].as_u64().unwrap_or(0);
            if !s[PRIVATE].is_object() {
                s[PRIVATE] = json!({});
            }
            s[PRIVATE]["restarts"] = json!(n + 1);
            s["properties"]["state"] = json!(if action == "stop" { "Stopped" } else { "Running" });
            tx.put(s);
            Ok(ArmResponse::empty(200))
        }
        "publishxml" => Ok(ArmResponse::text(200, "application/xml", publish_xml(ctx.id.name()))),
        "containerlogs" => Ok(ArmResponse::text(200, "application/octet-stream", ctx.arm.platform.log(&key))),
        _ => return None,
    })
}

fn publish_xml(app: &str) -> String {
    let user = format!("${app}");
    let pw = net::guid(&["publish", app]).replace('-', "");
    format!(
        "<publishData><publishProfile profileName=\"{app} - Web Deploy\" publishMethod=\"MSDeploy\" publishUrl=\"{app}.scm.azurewebsites.net:443\" msdeploySite=\"{app}\" userName=\"{user}\" userPWD=\"{pw}\" destinationAppUrl=\"http://{app}.azurewebsites.net\" SQLServerDBConnectionString=\"\" mySQLDBConnectionString=\"\" hostingProviderForumLink=\"\" controlPanelLink=\"https://portal.azure.com\" webSystem=\"WebSites\"><databases /></publishProfile><publishProfile profileName=\"{app} - FTP\" publishMethod=\"FTP\" publishUrl=\"ftps://waws-prod.ftp.azurewebsites.windows.net/site/wwwroot\" ftpPassiveMode=\"True\" userName=\"{app}\\{user}\" userPWD=\"{pw}\" destinationAppUrl=\"http://{app}.azurewebsites.net\" SQLServerDBConnectionString=\"\" mySQLDBConnectionString=\"\" hostingProviderForumLink=\"\" controlPanelLink=\"https://portal.azure.com\" webSystem=\"WebSites\"><databases /></publishProfile></publishData>"
    )
}

const CONFIG_NAMES: &[&str] =
    &["web", "appsettings", "slotconfignames", "connectionstrings", "metadata", "logs", "virtualnetwork"];

fn put_config(ctx: &Ctx, tx: &mut Tx, _id: &str, body: Value, existing: Option<&Value>) -> Result<Value, ArmError> {
    let name = ctx.id.name().to_ascii_lowercase();
    if !CONFIG_NAMES.contains(&name.as_str()) {
        return Err(ArmError::bad_request(format!(
            "The configuration '{}' is not supported. Supported: {}.",
            ctx.id.name(),
            CONFIG_NAMES.join(", ")
        )));
    }
    if name == "virtualnetwork" {
        return integrate_from_body(ctx, tx, &body);
    }
    let props = &body["properties"];
    let stored_props = match name.as_str() {
        "web" => {
            let mut config = existing.and_then(|e| e["properties"].as_object().cloned()).unwrap_or_else(default_config);
            apply_config(&mut config, props, "properties")?;
            Value::Object(config)
        }
        "appsettings" | "connectionstrings" | "metadata" => Value::Object(settings_map(props, "properties")?),
        "slotconfignames" => {
            let mut v = json!({"appSettingNames": [], "connectionStringNames": [], "azureStorageConfigNames": []});
            for k in ["appSettingNames", "connectionStringNames", "azureStorageConfigNames"] {
                match &props[k] {
                    Value::Null => {}
                    Value::Array(a) if a.iter().all(Value::is_string) => v[k] = json!(a),
                    _ => {
                        return Err(ArmError::invalid_content(format!("'properties.{k}' must be a list of strings")));
                    }
                }
            }
            v
        }
        _ => props.clone(),
    };
    let site = tx.get(&ctx.id.parent().ok_or_else(|| not_found(ctx.id))?).ok_or_else(|| not_found(ctx.id))?;
    Ok(json!({"location": site["location"], "properties": stored_props}))
}

fn render_config(ctx: &Ctx, r: &dyn Read, mut v: Value) -> Value {
    if v["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case("virtualNetwork")) {
        return render_integration(ctx, r, v);
    }
    if !ctx.write && (v["name"] == "appsettings" || v["name"] == "connectionstrings") {
        // Azure never shows secrets on GET; the values come from POST .../list.
        v["properties"] = json!({});
    }
    v
}

fn config_action(
    _: &Ctx,
    _tx: &mut Tx,
    action: &str,
    config: &Value,
    _body: &Value,
) -> Option<Result<ArmResponse, ArmError>> {
    if action != "list" {
        return None;
    }
    Some(Ok(ArmResponse::json(200, &strip_private(config.clone()))))
}

/// `POST /subscriptions/{s}/providers/Microsoft.Web/checknameavailability`.
pub(super) fn check_name(arm: &Arm, body: &Value) -> Result<ArmResponse, ArmError> {
    let name = body["name"].as_str().ok_or_else(|| ArmError::invalid_content("'name' is required"))?;
    let taken = !arm
        .store
        .filter(|_, v| {
            v["type"] == "Microsoft.Web/sites" && v["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .is_empty();
    let valid = valid_site_name(name);
    let body = if !valid {
        json!({"nameAvailable": false, "reason": "Invalid", "message": format!("The name '{name}' is not valid. It can contain only letters, numbers and hyphens, and must be 2-60 characters.")})
    } else if taken {
        json!({"nameAvailable": false, "reason": "AlreadyExists", "message": format!("Hostname '{name}' already exists. Please select a different name.")})
    } else {
        json!({"nameAvailable": true, "reason": "", "message": ""})
    };
    Ok(ArmResponse::json(200, &body))
}

/// Whether a site of this name exists anywhere (names ignore case).
fn site_taken(tx: &Tx, name: &str) -> bool {
    !tx.filter(|v| v["type"] == SITE.canonical && v["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .is_empty()
}

/// App Service's rule for site names (they become host names).
fn valid_site_name(name: &str) -> bool {
    (2..=60).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}
