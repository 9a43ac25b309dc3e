//! `Microsoft.Network/privateDnsZones`: zones, record sets and virtual network links.
//! The zone cannot be deleted while links exist (docs/azure.md A9); links are tracked
//! resources and show in `/resources` listings as `zone/link`.

use serde_json::{Value, json};

use super::body::{bool_at, id_at, str_at};
use super::error::ArmError;
use super::kind::{Ctx, Kind, Loc, Read};
use super::resources::not_found;
use crate::model::{ResourceId, Tx, net};

/// The kinds of this provider: zones, links, and a record set kind per record type.
pub(super) static KINDS: &[&Kind] = &[
    &ZONE,
    &LINK,
    &RECORD_KINDS[0],
    &RECORD_KINDS[1],
    &RECORD_KINDS[2],
    &RECORD_KINDS[3],
    &RECORD_KINDS[4],
    &RECORD_KINDS[5],
    &RECORD_KINDS[6],
    &RECORD_KINDS[7],
];

/// `GET {zone}/ALL` and `{zone}/recordsets` list the record sets of every type.
fn record_listing(name: &str) -> Option<fn(&str) -> bool> {
    fn is_record_set(t: &str) -> bool {
        t.starts_with("Microsoft.Network/privateDnsZones/")
            && t != "Microsoft.Network/privateDnsZones/virtualNetworkLinks"
    }
    matches!(name, "all" | "recordsets").then_some(is_record_set as fn(&str) -> bool)
}

static ZONE: Kind = Kind {
    canonical: "Microsoft.Network/privateDnsZones",
    tracked: true,
    loc: Loc::Global,
    put: put_zone,
    delete: |_, tx, zone, cascade| {
        if cascade {
            return Ok(());
        }
        let key = zone["id"].as_str().unwrap_or_default().to_ascii_lowercase();
        match tx.scan_prefix(&format!("{key}/virtualnetworklinks/")).first() {
            Some(link) => Err(ArmError::zone_has_links(
                zone["name"].as_str().unwrap_or_default(),
                link["name"].as_str().unwrap_or_default(),
            )),
            None => Ok(()),
        }
    },
    render: render_zone,
    child_listing: Some(record_listing),
    ..Kind::BASE
};

static LINK: Kind = Kind {
    canonical: "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
    tracked: true,
    loc: Loc::Global,
    put: put_link,
    ..Kind::BASE
};

macro_rules! record_kind {
    ($t:literal) => {
        Kind {
            canonical: concat!("Microsoft.Network/privateDnsZones/", $t),
            tracked: false,
            loc: Loc::None,
            put: put_record,
            delete: |ctx, _, _, cascade| {
                if !cascade && ctx.id.name() == "@" && ctx.id.type_key().ends_with("/soa") {
                    return Err(ArmError::bad_request("The SOA record set of a zone cannot be deleted."));
                }
                Ok(())
            },
            ..Kind::BASE
        }
    };
}

static RECORD_KINDS: [Kind; 8] = [
    record_kind!("A"),
    record_kind!("AAAA"),
    record_kind!("CNAME"),
    record_kind!("MX"),
    record_kind!("PTR"),
    record_kind!("SOA"),
    record_kind!("SRV"),
    record_kind!("TXT"),
];

/// A DNS name pullsim accepts for a zone: at least two labels of letters, digits, hyphens.
fn valid_zone_name(name: &str) -> bool {
    let labels: Vec<&str> = name.trim_end_matches('.').split('.').collect();
    name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

fn put_zone(ctx: &Ctx, tx: &mut Tx, id: &str, _body: Value, existing: Option<&Value>) -> Result<Value, ArmError> {
    let name = ctx.id.name();
    if !valid_zone_name(name) {
        return Err(ArmError::bad_name(
            name,
            "A private DNS zone name must be a valid domain name with at least two labels.",
        ));
    }
    if existing.is_none() {
        let soa = format!("{id}/SOA/@");
        tx.put(json!({
            "id": soa, "name": "@", "type": "Microsoft.Network/privateDnsZones/SOA",
            "properties": {
                "ttl": 3600, "fqdn": format!("{name}."), "isAutoRegistered": false,
                "soaRecord": {"email": "azureprivatedns-host.microsoft.com", "expireTime": 2419200, "host": "azureprivatedns.net", "minimumTtl": 10, "refreshTime": 3600, "retryTime": 300, "serialNumber": 1},
            },
        }));
    }
    Ok(json!({
        "properties": {
            "maxNumberOfRecordSets": 25000,
            "maxNumberOfVirtualNetworkLinks": 1000,
            "maxNumberOfVirtualNetworkLinksWithRegistration": 100,
            "provisioningState": "Succeeded",
            "internalId": net::guid(&["zone", &id.to_ascii_lowercase()]),
        },
    }))
}

fn render_zone(_: &Ctx, r: &dyn Read, mut z: Value) -> Value {
    let key = z["id"].as_str().unwrap_or_default().to_ascii_lowercase();
    let children = r.scan_prefix(&format!("{key}/"));
    let links: Vec<&Value> = children.iter().filter(|c| c["type"] == LINK.canonical).collect();
    z["properties"]["numberOfVirtualNetworkLinks"] = json!(links.len());
    z["properties"]["numberOfVirtualNetworkLinksWithRegistration"] =
        json!(links.iter().filter(|l| l["properties"]["registrationEnabled"] == true).count());
    z["properties"]["numberOfRecordSets"] = json!(children.len() - links.len());
    z
}

fn put_link(ctx: &Ctx, tx: &mut Tx, id: &str, body: Value, existing: Option<&Value>) -> Result<Value, ArmError> {
    let vnet_id = match id_at(&body, "/properties/virtualNetwork/id")? {
        Some(v) => v,
        None => match existing {
            Some(e) => ResourceId::parse(e["properties"]["virtualNetwork"]["id"].as_str().unwrap_or_default())
                .map_err(|e| ArmError::bad_request(e.to_string()))?,
            None => {
                return Err(ArmError::bad_request("A virtual network link needs properties.virtualNetwork.id.")
                    .with_target("properties.virtualNetwork"));
            }
        },
    };
    let vnet = tx.get(&vnet_id).filter(|v| v["type"] == "Microsoft.Network/virtualNetworks").ok_or_else(|| {
        ArmError::bad_request(format!("Virtual network resource not found for '{}'.", vnet_id.as_str()))
            .with_target("properties.virtualNetwork.id")
    })?;
    if let Some(e) = existing
        && !e["properties"]["virtualNetwork"]["id"].as_str().unwrap_or_default().eq_ignore_ascii_case(vnet_id.as_str())
    {
        return Err(ArmError::bad_request("The virtual network of a link cannot be changed."));
    }
    let zone_id = ctx.id.parent().ok_or_else(|| not_found(ctx.id))?;
    let dup = tx.scan_prefix(&format!("{}/virtualnetworklinks/", zone_id.key())).into_iter().find(|l| {
        !l["id"].as_str().unwrap_or_default().eq_ignore_ascii_case(id)
            && l["properties"]["virtualNetwork"]["id"]
                .as_str()
                .is_some_and(|v| v.eq_ignore_ascii_case(vnet_id.as_str()))
    });
    if let Some(d) = dup {
        return Err(ArmError::conflict(format!(
            "A virtual network cannot be linked to the same private DNS zone more than once. Virtual network '{}' is already linked to zone '{}' by link '{}'.",
            vnet_id.name(),
            zone_id.name(),
            d["name"].as_str().unwrap_or_default()
        )));
    }
    let registration = bool_at(&body, "/properties/registrationEnabled")?
        .or_else(|| existing.and_then(|e| e["properties"]["registrationEnabled"].as_bool()))
        .unwrap_or(false);
    let policy = if super::version::known_at(
        "microsoft.network/privatednszones/virtualnetworklinks",
        "/properties/resolutionPolicy",
        ctx.api,
    ) {
        match str_at(&body, "/properties/resolutionPolicy")? {
            Some(p) if p.eq_ignore_ascii_case("Default") => "Default",
            Some(p) if p.eq_ignore_ascii_case("NxDomainRedirect") => "NxDomainRedirect",
            Some(p) => {
                return Err(ArmError::invalid_content(format!(
                    "resolutionPolicy '{p}' is invalid; use Default or NxDomainRedirect."
                ))
                .with_target("properties.resolutionPolicy"));
            }
            None => existing.and_then(|e| e["properties"]["resolutionPolicy"].as_str()).unwrap_or("Default"),
        }
    } else {
        existing.and_then(|e| e["properties"]["resolutionPolicy"].as_str()).unwrap_or("Default")
    };
    Ok(json!({
        "properties": {
            "virtualNetwork": {"id": vnet["id"]},
            "registrationEnabled": registration,
            "resolutionPolicy": policy,
            "virtualNetworkLinkState": "Completed",
            "provisioningState": "Succeeded",
        },
    }))
}

fn put_record(ctx: &Ctx, tx: &mut Tx, _id: &str, body: Value, existing: Option<&Value>) -> Result<Value, ArmError> {
    let zone_id = ctx.id.parent().ok_or_else(|| not_found(ctx.id))?;
    let zone_name = zone_id.name().to_string();
    let rtype = ctx.id.segments.last().map(|(t, _)| t.to_ascii_uppercase()).unwrap_or_default();
    let name = ctx.id.name();
    if name != "@"
        && !name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '*')
        })
    {
        return Err(ArmError::bad_name(
            name,
            "Record set names are relative DNS names made of letters, digits, hyphens and underscores.",
        ));
    }
    let props = &body["properties"];
    let ttl = match props.get("ttl") {
        None | Some(Value::Null) => existing.and_then(|e| e["properties"]["ttl"].as_u64()).unwrap_or(3600),
        Some(v) => v.as_u64().filter(|t| *t <= 2_147_483_647).ok_or_else(|| {
            ArmError::invalid_content("'properties.ttl' must be a non-negative integer").with_target("properties.ttl")
        })?,
    };
    // CNAME cannot share a name with another type.
    let siblings: Vec<Value> = tx
        .scan_prefix(&format!("{}/", zone_id.key()))
        .into_iter()
        .filter(|r| r["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)) && r["type"] != LINK.canonical)
        .filter(|r| {
            !r["type"]
                .as_str()
                .unwrap_or_default()
                .eq_ignore_ascii_case(&format!("Microsoft.Network/privateDnsZones/{rtype}"))
        })
        .collect();
    if !siblings.is_empty()
        && (rtype == "CNAME" || siblings.iter().any(|s| s["type"] == "Microsoft.Network/privateDnsZones/CNAME"))
    {
        return Err(ArmError::conflict(format!(
            "The record set {name} of type {rtype} conflicts with a record set of another type at the same name; a CNAME must be alone at its name."
        )));
    }
    let mut out = json!({"ttl": ttl, "fqdn": if name == "@" { format!("{zone_name}.") } else { format!("{name}.{zone_name}.") }, "isAutoRegistered": false});
    if let Some(m) = props.get("metadata").filter(|m| m.is_object()) {
        out["metadata"] = m.clone();
    }
    match rtype.as_str() {
        "A" => {
            let recs = props["aRecords"].as_array().cloned().unwrap_or_default();
            for r in &recs {
                if r["ipv4Address"].as_str().and_then(|s| s.parse::<std::net::Ipv4Addr>().ok()).is_none() {
                    return Err(ArmError::bad_request(format!("The A record {r} does not hold a valid ipv4Address."))
                        .with_target("properties.aRecords"));
                }
            }
            out["aRecords"] = json!(recs);
        }
        "AAAA" => {
            let recs = props["aaaaRecords"].as_array().cloned().unwrap_or_default();
            for r in &recs {
                if r["ipv6Address"].as_str().and_then(|s| s.parse::<std::net::Ipv6Addr>().ok()).is_none() {
                    return Err(ArmError::bad_request(format!(
                        "The AAAA record {r} does not hold a valid ipv6Address."
                    ))
                    .with_target("properties.aaaaRecords"));
                }
            }
            out["aaaaRecords"] = json!(recs);
        }
        "CNAME" => {
            let c = str_at(&body, "/properties/cnameRecord/cname")?.unwrap_or_default();
            if c.is_empty() {
                return Err(ArmError::bad_request("A CNAME record set needs properties.cnameRecord.cname.")
                    .with_target("properties.cnameRecord"));
            }
            out["cnameRecord"] = json!({"cname": c});
        }
        "SOA" => {
            out["soaRecord"] =
                existing.map(|e| e["properties"]["soaRecord"].clone()).unwrap_or_else(|| props["soaRecord"].clone());
        }
        other => {
            let key = format!("{}Records", other.to_ascii_lowercase());
            out[key.as_str()] = props[key.as_str()].clone();
        }
    }
    Ok(json!({"properties": out}))
}
