//! `Microsoft.Network` (except private DNS): virtual networks with subnets and
//! peerings, private endpoints with their network interfaces and DNS zone groups.
//!
//! A private endpoint to a registry takes two addresses from its subnet, lowest free
//! first starting at `.4` (Azure reserves `.0`–`.3` and the last address): one for the
//! login server (`registry`) and one for the data endpoint (`registry_data_<region>`).

use std::net::Ipv4Addr;

use serde_json::{Value, json};

use super::body::{id_at, str_at};
use super::error::ArmError;
use super::kind::{Ctx, Kind, Loc, Read};
use super::public_ip::new_public_ips;
use super::regions::normalize_location;
use super::resources::{not_found, put_resource, strip_private};
use crate::model::net::{Cidr, guid};
use crate::model::{PRIVATE, ResourceId, Tx};

/// The kinds of this provider (private DNS is `privatedns`).
pub(super) static KINDS: &[&Kind] = &[&VNET, &SUBNET, &PEERING, &ENDPOINT, &ZONE_GROUP, &NIC];

static VNET: Kind = Kind {
    canonical: "Microsoft.Network/virtualNetworks",
    tracked: true,
    loc: Loc::Region,
    put: put_vnet,
    delete: |_, tx, vnet, cascade| {
        if cascade {
            return Ok(());
        }
        let key = vnet["id"].as_str().unwrap_or_default().to_ascii_lowercase();
        for subnet in tx.scan_prefix(&format!("{key}/subnets/")) {
            check_subnet_unused(tx, &subnet)?;
        }
        Ok(())
    },
    render: render_vnet,
    ..Kind::BASE
};

static SUBNET: Kind = Kind {
    canonical: "Microsoft.Network/virtualNetworks/subnets",
    tracked: false,
    loc: Loc::None,
    put: put_subnet,
    delete: |_, tx, subnet, cascade| {
        if cascade { Ok(()) } else { check_subnet_unused(tx, subnet) }
    },
    render: render_subnet,
    ..Kind::BASE
};

static PEERING: Kind = Kind {
    canonical: "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
    tracked: false,
    loc: Loc::None,
    put: put_peering,
    delete: |_, tx, peering, _| {
        // The other side's peering falls back to Disconnected.
        if let Some(back) = reverse_peering(tx, peering) {
            let mut b = back;
            b["properties"]["peeringState"] = json!("Disconnected");
            tx.put(b);
        }
        Ok(())
    },
    ..Kind::BASE
};

static ENDPOINT: Kind = Kind {
    canonical: "Microsoft.Network/privateEndpoints",
    tracked: true,
    loc: Loc::Region,
    put: put_endpoint,
    delete: |_, tx, pe, _| {
        for key in ["nicId", "connectionId"] {
            if let Some(id) = pe[PRIVATE][key].as_str().and_then(|i| ResourceId::parse(i).ok()) {
                tx.delete(&id);
            }
        }
        Ok(())
    },
    ..Kind::BASE
};

static ZONE_GROUP: Kind = Kind {
    canonical: "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
    tracked: false,
    loc: Loc::None,
    put: put_zone_group,
    delete: |_, tx, group, _| {
        remove_group_records(tx, group);
        Ok(())
    },
    ..Kind::BASE
};

static NIC: Kind = Kind {
    canonical: "Microsoft.Network/networkInterfaces",
    tracked: true,
    loc: Loc::Region,
    put: |_, _, _, _, _| {
        Err(ArmError::bad_request(
            "Network interfaces of private endpoints are managed by the private endpoint and cannot be created or changed directly.",
        ))
    },
    delete: |_, _, nic, cascade| {
        if !cascade && nic["properties"]["privateEndpoint"]["id"].is_string() {
            return Err(ArmError::bad_request(format!(
                "Network interface {} is used by private endpoint {} and cannot be deleted. Delete the private endpoint instead.",
                nic["id"].as_str().unwrap_or_default(),
                nic["properties"]["privateEndpoint"]["id"].as_str().unwrap_or_default()
            )));
        }
        Ok(())
    },
    ..Kind::BASE
};

fn cidrs(v: &Value, at: &str) -> Result<Vec<Cidr>, ArmError> {
    let list =
        v.as_array().ok_or_else(|| ArmError::invalid_content(format!("'{at}' must be a list of address prefixes")))?;
    list.iter()
        .map(|p| {
            let s = p.as_str().unwrap_or_default();
            Cidr::parse(s).ok_or_else(|| ArmError::bad_prefix_format(s, None).with_target(at.to_string()))
        })
        .collect()
}

fn vnet_space(vnet: &Value) -> Vec<Cidr> {
    cidrs(&vnet["properties"]["addressSpace"]["addressPrefixes"], "").unwrap_or_default()
}

fn put_vnet(ctx: &Ctx, tx: &mut Tx, id: &str, body: Value, existing: Option<&Value>) -> Result<Value, ArmError> {
    let props = &body["properties"];
    let space = match props.pointer("/addressSpace/addressPrefixes") {
        Some(v) if !v.is_null() => cidrs(v, "properties.addressSpace.addressPrefixes")?,
        _ => match existing {
            Some(e) => vnet_space(e),
            None => {
                return Err(ArmError::bad_request(
                    "The virtual network must have at least one address prefix in addressSpace.addressPrefixes.",
                )
                .with_target("properties.addressSpace"));
            }
        },
    };
    if space.is_empty() {
        return Err(ArmError::bad_request(
            "The virtual network must have at least one address prefix in addressSpace.addressPrefixes.",
        ));
    }
    for (i, a) in space.iter().enumerate() {
        if let Some(b) = space[i + 1..].iter().find(|b| a.overlaps(b)) {
            return Err(ArmError::vnet_spaces_overlap(&a.to_string(), &b.to_string()));
        }
    }
    let dns = match props.pointer("/dhcpOptions/dnsServers") {
        Some(Value::Array(a)) => {
            for s in a {
                if s.as_str().and_then(|s| s.parse::<Ipv4Addr>().ok()).is_none() {
                    return Err(ArmError::bad_request(format!("DNS server {s} is not a valid IPv4 address."))
                        .with_target("properties.dhcpOptions.dnsServers"));
                }
            }
            json!(a)
        }
        Some(Value::Null) | None => existing
            .map(|e| e["properties"]["dhcpOptions"]["dnsServers"].clone())
            .filter(Value::is_array)
            .unwrap_or_else(|| json!([])),
        Some(_) => {
            return Err(ArmError::invalid_content("'properties.dhcpOptions.dnsServers' must be a list"));
        }
    };
    let key = id.to_ascii_lowercase();
    // Existing subnets must stay inside the (possibly new) address space.
    for s in tx.scan_prefix(&format!("{key}/subnets/")) {
        if let Some(p) = subnet_prefix(&s)
            && !space.iter().any(|c| c.covers(&p))
        {
            return Err(ArmError::subnet_outside_vnet(s["name"].as_str().unwrap_or_default(), ctx.id.name()));
        }
    }
    let vnet = json!({
        "properties": {
            "addressSpace": {"addressPrefixes": space.iter().map(|c| c.to_string()).collect::<Vec<_>>()},
            "dhcpOptions": {"dnsServers": dns},
            "enableDdosProtection": false,
            "provisioningState": "Succeeded",
            "resourceGuid": guid(&["vnet", &key]),
        },
        // Azure's default outbound address: what the internet sees of traffic leaving the VNET.
        PRIVATE: {"publicIps": match existing {
            Some(e) => e[PRIVATE]["publicIps"].clone(),
            None => json!(new_public_ips(tx, &key, 1)),
        }},
    });
    // Inline subnets: the list is the whole truth when given.
    if let Some(list) = props.get("subnets").filter(|v| !v.is_null()) {
        let list = list.as_array().ok_or_else(|| ArmError::invalid_content("'properties.subnets' must be a list"))?;
        let mut stored = vnet.clone();
        stored["id"] = json!(id);
        stored["name"] = json!(ctx.id.name());
        stored["type"] = json!(VNET.canonical);
        tx.put(stored);
        let mut names = Vec::new();
        for s in list {
            let name = s["name"].as_str().ok_or_else(|| {
                ArmError::invalid_content("every subnet needs a name").with_target("properties.subnets")
            })?;
            names.push(name.to_ascii_lowercase());
            let sid =
                ResourceId::parse(&format!("{id}/subnets/{name}")).map_err(|e| ArmError::bad_request(e.to_string()))?;
            let sctx = Ctx { arm: ctx.arm, api: ctx.api, id: &sid, kinds: ctx.kinds, write: ctx.write };
            let existing_subnet = tx.get(&sid);
            put_resource(&sctx, tx, &SUBNET, ctx.id.resource_group.as_deref(), s.clone(), existing_subnet.as_ref())?;
        }
        for s in tx.scan_prefix(&format!("{key}/subnets/")) {
            if !names.contains(&s["name"].as_str().unwrap_or_default().to_ascii_lowercase()) {
                check_subnet_unused(tx, &s)?;
                if let Ok(sid) = ResourceId::parse(s["id"].as_str().unwrap_or_default()) {
                    tx.delete(&sid);
                }
            }
        }
    }
    // Inline `virtualNetworkPeerings` are not read: peerings are managed through their
    // own child resource, as the CLI does.
    Ok(vnet)
}

fn subnet_prefix(s: &Value) -> Option<Cidr> {
    let p = &s["properties"];
    p["addressPrefix"].as_str().or_else(|| p["addressPrefixes"][0].as_str()).and_then(Cidr::parse)
}

const DELEGATIONS: &[&str] = &[
    "Microsoft.Web/serverFarms",
    "Microsoft.ContainerInstance/containerGroups",
    "Microsoft.Sql/managedInstances",
    "Microsoft.Netapp/volumes",
    "Microsoft.App/environments",
    "Microsoft.DBforPostgreSQL/flexibleServers",
];

fn put_subnet(ctx: &Ctx, tx: &mut Tx, id: &str, body: Value, existing: Option<&Value>) -> Result<Value, ArmError> {
    let vnet_id = ctx.id.parent().ok_or_else(|| not_found(ctx.id))?;
    let vnet = tx.get(&vnet_id).ok_or_else(|| not_found(&vnet_id))?;
    let props = &body["properties"];
    let prefix_str = str_at(&body, "/properties/addressPrefix")?
        .map(str::to_string)
        .or_else(|| props["addressPrefixes"][0].as_str().map(str::to_string))
        .or_else(|| existing.and_then(|e| e["properties"]["addressPrefix"].as_str().map(str::to_string)))
        .ok_or_else(|| {
            ArmError::bad_request("The subnet must have an addressPrefix.").with_target("properties.addressPrefix")
        })?;
    let prefix =
        Cidr::parse(&prefix_str).ok_or_else(|| ArmError::bad_prefix_format(&prefix_str, Some(ctx.id.name())))?;
    let name = ctx.id.name();
    if prefix.len > 29 {
        return Err(ArmError::subnet_too_small(name, &prefix.to_string()));
    }
    if !vnet_space(&vnet).iter().any(|c| c.covers(&prefix)) {
        return Err(ArmError::subnet_outside_vnet(name, vnet_id.name()));
    }
    let key = id.to_ascii_lowercase();
    for sib in tx.scan_prefix(&format!("{}/subnets/", vnet_id.key())) {
        if sib["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(&key)) {
            continue;
        }
        if subnet_prefix(&sib).is_some_and(|p| p.overlaps(&prefix)) {
            return Err(ArmError::subnets_overlap(name, sib["name"].as_str().unwrap_or_default(), vnet_id.name()));
        }
    }
    if let Some(e) = existing
        && subnet_prefix(e) != Some(prefix)
        && !users_of_subnet(tx, &key).is_empty()
    {
        return Err(ArmError::subnet_in_use_update(name));
    }
    let delegations = match props.get("delegations").filter(|v| !v.is_null()) {
        Some(d) => {
            let list =
                d.as_array().ok_or_else(|| ArmError::invalid_content("'properties.delegations' must be a list"))?;
            let mut out = Vec::new();
            for (i, del) in list.iter().enumerate() {
                let service = del["properties"]["serviceName"]
                    .as_str()
                    .or_else(|| del["serviceName"].as_str())
                    .unwrap_or_default();
                let known = DELEGATIONS
                    .iter()
                    .find(|s| s.eq_ignore_ascii_case(service))
                    .ok_or_else(|| ArmError::bad_delegation(name, service))?;
                let dname = del["name"].as_str().map(str::to_string).unwrap_or_else(|| format!("delegation{i}"));
                out.push(json!({
                    "id": format!("{id}/delegations/{dname}"),
                    "name": dname,
                    "type": "Microsoft.Network/virtualNetworks/subnets/delegations",
                    "properties": {"serviceName": known, "provisioningState": "Succeeded", "actions": ["Microsoft.Network/virtualNetworks/subnets/action"]},
                }));
            }
            if out.len() > 1 {
                return Err(ArmError::bad_request(format!("Subnet {name} can have at most one delegation.")));
            }
            out
        }
        None => existing.and_then(|e| e["properties"]["delegations"].as_array().cloned()).unwrap_or_default(),
    };
    let policy = |k: &str, default: &str| -> Value {
        props[k]
            .as_str()
            .map(|s| json!(s))
            .or_else(|| existing.map(|e| e["properties"][k].clone()).filter(Value::is_string))
            .unwrap_or_else(|| json!(default))
    };
    Ok(json!({
        "properties": {
            "addressPrefix": prefix.to_string(),
            "delegations": delegations,
            "privateEndpointNetworkPolicies": policy("privateEndpointNetworkPolicies", "Disabled"),
            "privateLinkServiceNetworkPolicies": policy("privateLinkServiceNetworkPolicies", "Enabled"),
            "provisioningState": "Succeeded",
        },
    }))
}

/// What uses a subnet: private endpoint NICs and VNET-integrated sites (IDs).
fn users_of_subnet(r: &Tx, subnet_key: &str) -> Vec<String> {
    r.filter(|v| {
        let t = v["type"].as_str().unwrap_or_default();
        (t == "Microsoft.Network/privateEndpoints"
            && v["properties"]["subnet"]["id"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(subnet_key)))
            || (t == "Microsoft.Web/sites"
                && v["properties"]["virtualNetworkSubnetId"]
                    .as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(subnet_key)))
    })
    .into_iter()
    .filter_map(|v| v["id"].as_str().map(str::to_string))
    .collect()
}

fn check_subnet_unused(tx: &Tx, subnet: &Value) -> Result<(), ArmError> {
    let id = subnet["id"].as_str().unwrap_or_default();
    match users_of_subnet(tx, &id.to_ascii_lowercase()).first() {
        Some(user) => Err(ArmError::subnet_in_use(id, user)),
        None => Ok(()),
    }
}

fn render_subnet(_: &Ctx, r: &dyn Read, mut s: Value) -> Value {
    let key = s["id"].as_str().unwrap_or_default().to_ascii_lowercase();
    let vnet_key = key.rsplit_once("/subnets/").map(|(v, _)| v.to_string()).unwrap_or_default();
    let rg_prefix = vnet_key.split("/providers/").next().unwrap_or_default().to_string();
    // NIC ip configurations in this subnet, as Azure lists them on the subnet.
    let ipconfigs: Vec<Value> = r
        .scan_prefix(&format!("{rg_prefix}/providers/microsoft.network/networkinterfaces/"))
        .into_iter()
        .flat_map(|nic| nic["properties"]["ipConfigurations"].as_array().cloned().unwrap_or_default())
        .filter(|c| c["properties"]["subnet"]["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(&key)))
        .map(|c| json!({"id": c["id"]}))
        .collect();
    if !ipconfigs.is_empty() {
        s["properties"]["ipConfigurations"] = json!(ipconfigs);
    }
    s
}

fn render_vnet(ctx: &Ctx, r: &dyn Read, mut v: Value) -> Value {
    let key = v["id"].as_str().unwrap_or_default().to_ascii_lowercase();
    let subnets: Vec<Value> = r
        .scan_prefix(&format!("{key}/subnets/"))
        .into_iter()
        .map(|s| render_subnet(ctx, r, strip_private(s)))
        .collect();
    let peerings: Vec<Value> =
        r.scan_prefix(&format!("{key}/virtualnetworkpeerings/")).into_iter().map(strip_private).collect();
    v["properties"]["subnets"] = json!(subnets);
    v["properties"]["virtualNetworkPeerings"] = json!(peerings);
    v
}

fn reverse_peering(tx: &Tx, peering: &Value) -> Option<Value> {
    let this_vnet = peering["id"]
        .as_str()?
        .rsplit_once("/virtualNetworkPeerings/")
        .or_else(|| peering["id"].as_str()?.rsplit_once("/virtualnetworkpeerings/"))?
        .0
        .to_ascii_lowercase();
    let remote = peering["properties"]["remoteVirtualNetwork"]["id"].as_str()?.to_ascii_lowercase();
    tx.scan_prefix(&format!("{remote}/virtualnetworkpeerings/")).into_iter().find(|p| {
        p["properties"]["remoteVirtualNetwork"]["id"].as_str().is_some_and(|r| r.eq_ignore_ascii_case(&this_vnet))
    })
}

fn put_peering(ctx: &Ctx, tx: &mut Tx, id: &str, body: Value, existing: Option<&Value>) -> Result<Value, ArmError> {
    let remote_id = match id_at(&body, "/properties/remoteVirtualNetwork/id")? {
        Some(r) => r,
        None => {
            return Err(ArmError::bad_request("remoteVirtualNetwork.id is required.")
                .with_target("properties.remoteVirtualNetwork"));
        }
    };
    let remote = tx.get(&remote_id).filter(|v| v["type"] == VNET.canonical).ok_or_else(|| not_found(&remote_id))?;
    let this_id = ctx.id.parent().ok_or_else(|| not_found(ctx.id))?;
    let this = tx.get(&this_id).ok_or_else(|| not_found(&this_id))?;
    if remote_id.key() == this_id.key() {
        return Err(ArmError::bad_request("A virtual network cannot be peered with itself."));
    }
    for a in vnet_space(&this) {
        if let Some(b) = vnet_space(&remote).into_iter().find(|b| a.overlaps(b)) {
            return Err(ArmError::peering_spaces_overlap(
                ctx.id.name(),
                this_id.name(),
                remote_id.name(),
                &a.to_string(),
                &b.to_string(),
            ));
        }
    }
    if let Some(e) = existing
        && e["properties"]["remoteVirtualNetwork"]["id"]
            .as_str()
            .is_some_and(|r| !r.eq_ignore_ascii_case(remote_id.as_str()))
    {
        return Err(ArmError::bad_request("The remote virtual network of a peering cannot be changed."));
    }
    let flag = |k: &str, d: bool| body["properties"][k].as_bool().unwrap_or(d);
    let mut v = json!({
        "properties": {
            "remoteVirtualNetwork": {"id": remote["id"]},
            "allowVirtualNetworkAccess": flag("allowVirtualNetworkAccess", true),
            "allowForwardedTraffic": flag("allowForwardedTraffic", false),
            "allowGatewayTransit": flag("allowGatewayTransit", false),
            "useRemoteGateways": flag("useRemoteGateways", false),
            "remoteAddressSpace": remote["properties"]["addressSpace"],
            "peeringState": "Initiated",
            "peeringSyncLevel": "FullyInSync",
            "provisioningState": "Succeeded",
        },
    });
    let probe = json!({"id": id, "properties": v["properties"].clone()});
    if let Some(mut back) = reverse_peering(tx, &probe) {
        v["properties"]["peeringState"] = json!("Connected");
        back["properties"]["peeringState"] = json!("Connected");
        tx.put(back);
    }
    Ok(v)
}

/// Sets the state of the endpoint's connection (auto-approved or manual).
pub(super) fn set_connection_status(pe: &mut Value, status: &str, description: &str) {
    for list in ["privateLinkServiceConnections", "manualPrivateLinkServiceConnections"] {
        if let Some(conns) = pe["properties"][list].as_array_mut() {
            for c in conns {
                c["properties"]["privateLinkServiceConnectionState"] =
                    json!({"status": status, "description": description, "actionsRequired": "None"});
            }
        }
    }
}

fn put_endpoint(ctx: &Ctx, tx: &mut Tx, id: &str, body: Value, existing: Option<&Value>) -> Result<Value, ArmError> {
    if let Some(e) = existing {
        // Subnet and target are fixed once created; tags and the like may change.
        let mut v = e.clone();
        if let Some(sid) = id_at(&body, "/properties/subnet/id")?
            && !sid.as_str().eq_ignore_ascii_case(e["properties"]["subnet"]["id"].as_str().unwrap_or_default())
        {
            return Err(ArmError::bad_request("The subnet of a private endpoint cannot be changed."));
        }
        v.as_object_mut().map(|o| o.remove("tags"));
        return Ok(v);
    }
    let subnet_id = id_at(&body, "/properties/subnet/id")?.ok_or_else(|| {
        ArmError::bad_request("Private endpoint needs a subnet (properties.subnet.id).")
            .with_target("properties.subnet")
    })?;
    let subnet = tx.get(&subnet_id).filter(|v| v["type"] == SUBNET.canonical).ok_or_else(|| not_found(&subnet_id))?;
    // A delegated subnet belongs to the service it is delegated to (App Service's
    // integration subnet included) and takes no private endpoints.
    if let Some(service) = subnet["properties"]["delegations"][0]["properties"]["serviceName"].as_str() {
        return Err(ArmError::endpoint_in_delegated_subnet(ctx.id.name(), subnet_id.name(), service));
    }
    let vnet_id = subnet_id.parent().ok_or_else(|| not_found(&subnet_id))?;
    let vnet = tx.get(&vnet_id).ok_or_else(|| not_found(&vnet_id))?;
    let location = body["location"].as_str().map(normalize_location).unwrap_or_default();
    if vnet["location"].as_str().is_some_and(|l| l != location) {
        return Err(ArmError::bad_request(format!(
            "Private endpoint {} must be in the same region as its virtual network {} ({}).",
            ctx.id.name(),
            vnet_id.name(),
            vnet["location"].as_str().unwrap_or_default()
        )));
    }
    let auto = body["properties"]["privateLinkServiceConnections"].as_array().cloned().unwrap_or_default();
    let manual = body["properties"]["manualPrivateLinkServiceConnections"].as_array().cloned().unwrap_or_default();
    let (conn, is_manual) = match (auto.as_slice(), manual.as_slice()) {
        ([c], []) => (c.clone(), false),
        ([], [c]) => (c.clone(), true),
        _ => {
            return Err(ArmError::bad_request("A private endpoint needs exactly one private link service connection.")
                .with_target("properties.privateLinkServiceConnections"));
        }
    };
    let conn_name = conn["name"].as_str().unwrap_or(ctx.id.name()).to_string();
    let target_id = id_at(&conn, "/properties/privateLinkServiceId")?
        .ok_or_else(|| ArmError::bad_request("privateLinkServiceId is required."))?;
    let target = tx.get(&target_id).ok_or_else(|| not_found(&target_id))?;
    let groups: Vec<String> = conn["properties"]["groupIds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g.as_str().map(str::to_ascii_lowercase))
        .collect();
    // A registry (the pull's) or a web app (inbound to a site, `groupIds: ["sites"]`:
    // templates deploy it; the pull never uses it).
    let target_name = target["name"].as_str().unwrap_or_default().to_ascii_lowercase();
    let region = target["location"].as_str().unwrap_or_default().to_string();
    let (group_id, members): (&str, Vec<(String, Vec<String>)>) = match target["type"].as_str() {
        Some("Microsoft.ContainerRegistry/registries") => {
            if groups != ["registry"] {
                return Err(ArmError::endpoint_bad_groups(&groups));
            }
            let sku = target["sku"]["name"].as_str().unwrap_or_default();
            if sku != "Premium" {
                return Err(ArmError::acr_private_endpoint_sku(sku));
            }
            let target_key = target["id"].as_str().unwrap_or_default().to_ascii_lowercase();
            if tx.scan_prefix(&format!("{target_key}/privateendpointconnections/")).len() >= 10 {
                return Err(ArmError::bad_request("A registry supports at most 10 private endpoints."));
            }
            (
                "registry",
                vec![
                    ("registry".to_string(), vec![format!("{target_name}.azurecr.io")]),
                    (format!("registry_data_{region}"), vec![format!("{target_name}.{region}.data.azurecr.io")]),
                ],
            )
        }
        Some("Microsoft.Web/sites") if groups == ["sites"] => (
            "sites",
            vec![(
                "sites".to_string(),
                vec![format!("{target_name}.azurewebsites.net"), format!("{target_name}.scm.azurewebsites.net")],
            )],
        ),
        Some("Microsoft.Web/sites") => return Err(ArmError::endpoint_bad_groups(&groups)),
        other => {
            return Err(ArmError::bad_request(format!(
                "pullsim models private endpoints to container registries and web apps only, not to '{}'.",
                other.unwrap_or_default()
            )));
        }
    };
    // Addresses: lowest free from .4, skipping the last (broadcast) address.
    let prefix = subnet_prefix(&subnet).ok_or_else(|| ArmError::bad_request("The subnet has no address prefix."))?;
    let subnet_key = subnet_id.key();
    let used: Vec<String> = tx
        .filter(|v| v["type"] == NIC.canonical)
        .into_iter()
        .flat_map(|nic| nic["properties"]["ipConfigurations"].as_array().cloned().unwrap_or_default())
        .filter(|c| c["properties"]["subnet"]["id"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(&subnet_key)))
        .filter_map(|c| c["properties"]["privateIPAddress"].as_str().map(str::to_string))
        .collect();
    let mut addrs = Vec::new();
    let mut n = 4;
    while addrs.len() < members.len() {
        let ip = match prefix.nth(n) {
            Some(ip) if n + 1 < prefix.size() => ip.to_string(),
            _ => {
                return Err(ArmError::subnet_full(subnet_id.name(), ctx.id.name()));
            }
        };
        if !used.contains(&ip) {
            addrs.push(ip);
        }
        n += 1;
    }
    let rg = ctx.id.resource_group.clone().unwrap_or_default();
    let pe_key = id.to_ascii_lowercase();
    let nic_name = format!("{}.nic.{}", ctx.id.name(), guid(&["nic", &pe_key]));
    let nic_id = format!(
        "/subscriptions/{}/resourceGroups/{rg}/providers/Microsoft.Network/networkInterfaces/{nic_name}",
        ctx.id.subscription
    );
    let ipconfigs: Vec<Value> = members
        .iter()
        .zip(&addrs)
        .enumerate()
        .map(|(i, ((member, fqdns), ip))| {
            let cname = format!("privateEndpointIpConfig.{}", guid(&["ipconfig", &pe_key, member]));
            json!({
                "id": format!("{nic_id}/ipConfigurations/{cname}"),
                "name": cname,
                "type": "Microsoft.Network/networkInterfaces/ipConfigurations",
                "properties": {
                    "privateIPAddress": ip,
                    "privateIPAllocationMethod": "Dynamic",
                    "privateIPAddressVersion": "IPv4",
                    "primary": i == 0,
                    "subnet": {"id": subnet["id"]},
                    "privateLinkConnectionProperties": {"groupId": group_id, "requiredMemberName": member, "fqdns": fqdns},
                    "provisioningState": "Succeeded",
                },
            })
        })
        .collect();
    tx.put(json!({
        "id": nic_id, "name": nic_name, "type": NIC.canonical, "location": location, "tags": {},
        "properties": {
            "ipConfigurations": ipconfigs,
            "privateEndpoint": {"id": id},
            "macAddress": "", "enableAcceleratedNetworking": false, "enableIPForwarding": false,
            "nicType": "Standard", "provisioningState": "Succeeded",
        },
    }));
    let (status, description) = if is_manual {
        ("Pending", conn["properties"]["requestMessage"].as_str().unwrap_or("Awaiting approval").to_string())
    } else {
        ("Approved", "Auto-Approved".to_string())
    };
    let state = json!({"status": status, "description": description, "actionsRequired": "None"});
    let connection_name = format!("{}.{}", ctx.id.name().to_ascii_lowercase(), &guid(&["connection", &pe_key])[..8]);
    // The registry keeps its side of the connection (a web app's is not modeled).
    let connection_id = (group_id == "registry")
        .then(|| format!("{}/privateEndpointConnections/{connection_name}", target["id"].as_str().unwrap_or_default()));
    if let Some(cid) = &connection_id {
        tx.put(json!({
            "id": cid, "name": connection_name,
            "type": "Microsoft.ContainerRegistry/registries/privateEndpointConnections",
            "properties": {
                "privateEndpoint": {"id": id},
                "privateLinkServiceConnectionState": state,
                "groupIds": ["registry"],
                "provisioningState": "Succeeded",
            },
        }));
    }
    let connection = json!({
        "id": format!("{id}/privateLinkServiceConnections/{conn_name}"),
        "name": conn_name,
        "type": "Microsoft.Network/privateEndpoints/privateLinkServiceConnections",
        "properties": {
            "privateLinkServiceId": target["id"],
            "groupIds": [group_id],
            "privateLinkServiceConnectionState": state,
            "requestMessage": conn["properties"]["requestMessage"],
            "provisioningState": "Succeeded",
        },
    });
    let (autos, manuals) = if is_manual { (json!([]), json!([connection])) } else { (json!([connection]), json!([])) };
    let dns_configs: Vec<Value> = members
        .iter()
        .zip(&addrs)
        .flat_map(|((_, fqdns), ip)| fqdns.iter().map(move |fqdn| json!({"fqdn": fqdn, "ipAddresses": [ip]})))
        .collect();
    Ok(json!({
        "properties": {
            "subnet": {"id": subnet["id"]},
            "networkInterfaces": [{"id": nic_id}],
            "privateLinkServiceConnections": autos,
            "manualPrivateLinkServiceConnections": manuals,
            "customDnsConfigs": dns_configs,
            "ipConfigurations": [],
            "customNetworkInterfaceName": "",
            "provisioningState": "Succeeded",
            "resourceGuid": guid(&["pe", &pe_key]),
        },
        PRIVATE: {"nicId": nic_id, "connectionId": connection_id},
    }))
}

/// The record name of `fqdn` in `zone`: `reg.azurecr.io` in `privatelink.azurecr.io` is
/// `reg`, the data endpoint `reg.westeurope.data`. `None` when the zone does not fit.
fn record_name(fqdn: &str, zone: &str) -> Option<String> {
    let fqdn = fqdn.trim_end_matches('.').to_ascii_lowercase();
    let zone = zone.to_ascii_lowercase();
    let base = zone.strip_prefix("privatelink.").unwrap_or(&zone);
    fqdn.strip_suffix(&format!(".{zone}")).or_else(|| fqdn.strip_suffix(&format!(".{base}"))).map(str::to_string)
}

fn put_zone_group(ctx: &Ctx, tx: &mut Tx, id: &str, body: Value, existing: Option<&Value>) -> Result<Value, ArmError> {
    let pe_id = ctx.id.parent().ok_or_else(|| not_found(ctx.id))?;
    let pe = tx.get(&pe_id).ok_or_else(|| not_found(&pe_id))?;
    let others = tx
        .scan_prefix(&format!("{}/privatednszonegroups/", pe_id.key()))
        .into_iter()
        .any(|g| !g["id"].as_str().unwrap_or_default().eq_ignore_ascii_case(id));
    if others {
        return Err(ArmError::bad_request(format!(
            "Private endpoint {} already has a private DNS zone group; only one is supported.",
            pe_id.name()
        )));
    }
    let configs = body["properties"]["privateDnsZoneConfigs"].as_array().cloned().unwrap_or_default();
    if configs.is_empty() || configs.len() > 5 {
        return Err(ArmError::bad_request("A private DNS zone group needs between 1 and 5 privateDnsZoneConfigs.")
            .with_target("properties.privateDnsZoneConfigs"));
    }
    if let Some(e) = existing {
        remove_group_records(tx, e);
    }
    let creator = format!(
        "created by private endpoint {} with resource guid {}",
        pe_id.name(),
        pe["properties"]["resourceGuid"].as_str().unwrap_or_default()
    );
    let mut out_configs = Vec::new();
    for (i, c) in configs.iter().enumerate() {
        let zone_id = id_at(c, "/properties/privateDnsZoneId")?.ok_or_else(|| {
            ArmError::bad_request("privateDnsZoneId is required.")
                .with_target(format!("properties.privateDnsZoneConfigs[{i}]"))
        })?;
        let zone = tx
            .get(&zone_id)
            .filter(|z| z["type"] == "Microsoft.Network/privateDnsZones")
            .ok_or_else(|| not_found(&zone_id))?;
        let zone_name = zone["name"].as_str().unwrap_or_default().to_string();
        let mut record_sets = Vec::new();
        for dc in pe["properties"]["customDnsConfigs"].as_array().into_iter().flatten() {
            let Some(rname) = dc["fqdn"].as_str().and_then(|f| record_name(f, &zone_name)) else {
                continue;
            };
            let ips: Vec<String> = dc["ipAddresses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect();
            let rid = format!("{}/A/{rname}", zone["id"].as_str().unwrap_or_default());
            // The zone group owns the record set it writes (rule dns.zone-group, [I]): a
            // second endpoint's group for the same name overwrites the addresses and the
            // creator, it does not add to them.
            let mut rs = tx.get_key(&rid.to_ascii_lowercase()).unwrap_or_else(|| {
                json!({"id": rid, "name": rname, "type": "Microsoft.Network/privateDnsZones/A",
                       "properties": {"ttl": 10, "fqdn": format!("{rname}.{zone_name}."), "isAutoRegistered": false}})
            });
            rs["properties"]["aRecords"] = ips.iter().map(|ip| json!({"ipv4Address": ip})).collect();
            rs["properties"]["metadata"] = json!({"creator": creator});
            tx.put(rs);
            record_sets.push(json!({"recordType": "A", "recordSetName": rname, "fqdn": format!("{rname}.{zone_name}"), "ttl": 10, "ipAddresses": ips, "provisioningState": "Succeeded"}));
        }
        let cname = c["name"].as_str().map(str::to_string).unwrap_or_else(|| zone_name.replace('.', "-"));
        out_configs.push(json!({
            "id": format!("{id}/privateDnsZoneConfigs/{cname}"),
            "name": cname,
            "properties": {"privateDnsZoneId": zone["id"], "recordSets": record_sets},
        }));
    }
    Ok(json!({
        "properties": {"privateDnsZoneConfigs": out_configs, "provisioningState": "Succeeded"},
        PRIVATE: {"creator": creator},
    }))
}

/// Removes the addresses a zone group put into its zones; record sets left empty go. A
/// set another group has overwritten since holds none of this group's addresses and stays.
fn remove_group_records(tx: &mut Tx, group: &Value) {
    for c in group["properties"]["privateDnsZoneConfigs"].as_array().into_iter().flatten() {
        let zone = c["properties"]["privateDnsZoneId"].as_str().unwrap_or_default();
        for rs in c["properties"]["recordSets"].as_array().into_iter().flatten() {
            let rid = format!("{zone}/A/{}", rs["recordSetName"].as_str().unwrap_or_default());
            let Some(mut set) = tx.get_key(&rid.to_ascii_lowercase()) else {
                continue;
            };
            // Overwritten by another endpoint's group since: its records, not this one's.
            let creator = &group[PRIVATE]["creator"];
            if creator.is_string() && set["properties"]["metadata"]["creator"] != *creator {
                continue;
            }
            let ips: Vec<&Value> = rs["ipAddresses"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
            if let Some(list) = set["properties"]["aRecords"].as_array_mut() {
                list.retain(|r| !ips.contains(&&r["ipv4Address"]));
                let empty = list.is_empty();
                if empty {
                    if let Ok(id) = ResourceId::parse(&rid) {
                        tx.delete(&id);
                    }
                    continue;
                }
            }
            tx.put(set);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_names_strip_the_public_suffix() {
        assert_eq!(record_name("reg.azurecr.io", "privatelink.azurecr.io").as_deref(), Some("reg"));
        assert_eq!(
            record_name("reg.westeurope.data.azurecr.io", "privatelink.azurecr.io").as_deref(),
            Some("reg.westeurope.data")
        );
        assert_eq!(record_name("reg.azurecr.io", "privatelink.blob.core.windows.net"), None);
    }
}
