//! `az group export`: a template, in the shape Azure's `exportTemplate` produces, that
//! deploys back to the state of the resources given.
//!
//! Each top-level resource's name becomes a parameter `{type}_{name}_name` (the last type
//! segment and the name, other characters replaced by `_`: `sites_myapp_name`) with the name as
//! `defaultValue`; a child's name is `[concat(parameters('…'), '/child')]`. A resource ID inside
//! the properties that names an exported resource becomes a `resourceId(…)` expression and a
//! `dependsOn`; one that names a resource outside the export becomes a parameter
//! `{type}_{name}_externalid`. Children depend on their parents. Read-only properties (the
//! identity members, `provisioningState`, and what the host marks) are left out.

use serde_json::{Map, Value, json};

use crate::ids::{self, ParsedId};

/// A resource to export: the resource as ARM answers a GET, and the API version to write.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportResource {
    /// The resource (`id`, `name`, `type`, `location`, `properties`…).
    pub resource: Value,
    /// The `apiVersion` the template gives it.
    pub api_version: String,
}

/// The members of a resource that are never written: identity, and metadata ARM adds.
const NEVER: &[&str] = &["id", "name", "type", "etag", "systemData", "apiVersion", "resourceGroup"];

struct Entry {
    parsed: ParsedId,
    resource: Value,
    api_version: String,
}

fn sanitize(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

fn last_type(ty: &str) -> &str {
    ty.rsplit('/').next().unwrap_or(ty)
}

/// The export of `resources`; `read_only(type)` gives the JSON paths a type's provider owns.
pub fn export_template(resources: &[ExportResource], read_only: &dyn Fn(&str) -> Vec<String>) -> Value {
    let mut entries: Vec<Entry> = resources
        .iter()
        .filter_map(|r| {
            let id = r.resource.get("id")?.as_str()?;
            Some(Entry { parsed: ids::parse(id)?, resource: r.resource.clone(), api_version: r.api_version.clone() })
        })
        .collect();
    entries.sort_by(|a, b| {
        (a.parsed.resource_type.to_ascii_lowercase(), a.parsed.name.to_ascii_lowercase())
            .cmp(&(b.parsed.resource_type.to_ascii_lowercase(), b.parsed.name.to_ascii_lowercase()))
    });
    let ids_exported: Vec<String> = entries.iter().map(|e| ids::normalize(&full_id(&e.parsed))).collect();

    let mut parameters = Map::new();
    // The parameter of each top-level resource name, by normalized top-level ID.
    let mut name_params: Vec<(String, String)> = Vec::new();
    for e in &entries {
        let top_type = top_type(&e.parsed.resource_type);
        let top_name = e.parsed.name.split('/').next().unwrap_or_default().to_string();
        let top_id = ids::normalize(&ids::resource_id(&e.parsed.scope, &top_type, &top_name));
        if name_params.iter().any(|(id, _)| *id == top_id) {
            continue;
        }
        let pname = format!("{}_{}_name", last_type(&top_type), sanitize(&top_name));
        parameters.insert(pname.clone(), json!({"defaultValue": top_name, "type": "String"}));
        name_params.push((top_id, pname));
    }
    let param_for = |p: &ParsedId| -> Option<String> {
        let top_type = top_type(&p.resource_type);
        let top_name = p.name.split('/').next().unwrap_or_default();
        let top_id = ids::normalize(&ids::resource_id(&p.scope, &top_type, top_name));
        name_params.iter().find(|(id, _)| *id == top_id).map(|(_, n)| n.clone())
    };

    let mut out_resources = Vec::new();
    for e in &entries {
        let p = &e.parsed;
        let Some(pname) = param_for(p) else { continue };
        let rest: Vec<&str> = p.name.split('/').skip(1).collect();
        let name_expr = if rest.is_empty() {
            format!("[parameters('{pname}')]")
        } else {
            format!("[concat(parameters('{pname}'), '/{}')]", rest.join("/"))
        };
        let mut depends: Vec<String> = Vec::new();
        // A child depends on its parent when the parent is exported.
        let types: Vec<&str> = p.resource_type.split('/').collect();
        if types.len() > 2 {
            let parent_type = types[..types.len() - 1].join("/");
            let parent_name = p.name.rsplit_once('/').map_or("", |(a, _)| a);
            let parent_id = ids::resource_id(&p.scope, &parent_type, parent_name);
            if ids_exported.contains(&ids::normalize(&parent_id))
                && let Some(parsed) = ids::parse(&parent_id)
                && let Some(expr) = resource_id_expr(&parsed, &param_for)
            {
                depends.push(format!("[{expr}]"));
            }
        }
        let ro = read_only(&p.resource_type);
        let mut body = Map::new();
        body.insert("type".into(), json!(p.resource_type));
        body.insert("apiVersion".into(), json!(e.api_version));
        body.insert("name".into(), json!(name_expr));
        if let Value::Object(m) = &e.resource {
            for (k, v) in m {
                if NEVER.iter().any(|n| n.eq_ignore_ascii_case(k)) {
                    continue;
                }
                let Some(v) = strip(v, k, &ro) else { continue };
                let own = ids::normalize(&full_id(p));
                let v = rewrite(&v, &own, &ids_exported, &param_for, &mut depends, &mut parameters);
                body.insert(k.clone(), v);
            }
        }
        if !depends.is_empty() {
            depends.dedup();
            body.insert("dependsOn".into(), json!(depends));
        }
        out_resources.push(Value::Object(body));
    }
    json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": parameters,
        "variables": {},
        "resources": out_resources,
    })
}

/// The parent of a child resource (`None` for a top-level one).
fn parent_of(p: &ParsedId) -> Option<ParsedId> {
    let (ty, _) = p.resource_type.rsplit_once('/')?;
    if !ty.contains('/') {
        return None;
    }
    let (name, _) = p.name.rsplit_once('/')?;
    Some(ParsedId { resource_type: ty.to_string(), name: name.to_string(), ..p.clone() })
}

fn top_type(ty: &str) -> String {
    ty.split('/').take(2).collect::<Vec<_>>().join("/")
}

fn full_id(p: &ParsedId) -> String {
    ids::resource_id(&p.scope, &p.resource_type, &p.name)
}

/// `resourceId('Type', parameters('…'), 'child')` for an exported resource.
fn resource_id_expr(p: &ParsedId, param_for: &dyn Fn(&ParsedId) -> Option<String>) -> Option<String> {
    let pname = param_for(p)?;
    let mut args = vec![format!("'{}'", p.resource_type), format!("parameters('{pname}')")];
    args.extend(p.name.split('/').skip(1).map(|n| format!("'{}'", n.replace('\'', "''"))));
    Some(format!("resourceId({})", args.join(", ")))
}

/// The value without read-only members (`path` is its JSON path); `None` to drop it.
fn strip(v: &Value, path: &str, read_only: &[String]) -> Option<Value> {
    let is_ro = |p: &str| {
        p.eq_ignore_ascii_case("properties.provisioningState") || read_only.iter().any(|r| r.eq_ignore_ascii_case(p))
    };
    if is_ro(path) {
        return None;
    }
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, child) in m {
                if let Some(c) = strip(child, &format!("{path}.{k}"), read_only) {
                    out.insert(k.clone(), c);
                }
            }
            Some(Value::Object(out))
        }
        other => Some(other.clone()),
    }
}

/// Replaces resource IDs inside a value with expressions (and records the dependencies and
/// the external-ID parameters they need).
fn rewrite(
    v: &Value,
    own: &str,
    exported: &[String],
    param_for: &dyn Fn(&ParsedId) -> Option<String>,
    depends: &mut Vec<String>,
    parameters: &mut Map<String, Value>,
) -> Value {
    match v {
        Value::String(s) if s.starts_with("/subscriptions/") => {
            let Some(p) = ids::parse(s) else { return v.clone() };
            let norm = ids::normalize(s);
            if norm == own {
                return v.clone();
            }
            // An exported resource, or a child of one (a subnet declared inside its VNET):
            // `resourceId(…)`, and a dependency on the nearest exported one.
            if let Some(expr) = resource_id_expr(&p, param_for) {
                let mut ancestor = Some(p.clone());
                while let Some(a) = ancestor {
                    let a_norm = ids::normalize(&full_id(&a));
                    if exported.contains(&a_norm) {
                        if let Some(dep) = resource_id_expr(&a, param_for) {
                            let dep = format!("[{dep}]");
                            if !depends.contains(&dep) && !own.starts_with(&format!("{a_norm}/")) && a_norm != own {
                                depends.push(dep);
                            }
                        }
                        break;
                    }
                    ancestor = parent_of(&a);
                }
                return json!(format!("[{expr}]"));
            }
            let pname = format!("{}_{}_externalid", last_type(&p.resource_type), sanitize(&p.name.replace('/', "_")));
            parameters.entry(pname.clone()).or_insert_with(|| json!({"defaultValue": s, "type": "String"}));
            json!(format!("[parameters('{pname}')]"))
        }
        Value::Array(a) => {
            Value::Array(a.iter().map(|x| rewrite(x, own, exported, param_for, depends, parameters)).collect())
        }
        Value::Object(m) => Value::Object(
            m.iter().map(|(k, x)| (k.clone(), rewrite(x, own, exported, param_for, depends, parameters))).collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_parameters_and_ids_become_resource_id_expressions() {
        let rg = "/subscriptions/s/resourceGroups/g";
        let plan = json!({"id": format!("{rg}/providers/Microsoft.Web/serverfarms/my-plan"), "name": "my-plan", "type": "Microsoft.Web/serverfarms", "location": "westeurope", "sku": {"name": "P1v2"}, "properties": {"provisioningState": "Succeeded"}});
        let site = json!({"id": format!("{rg}/providers/Microsoft.Web/sites/app"), "name": "app", "type": "Microsoft.Web/sites", "location": "westeurope",
            "properties": {"serverFarmId": format!("{rg}/providers/Microsoft.Web/serverfarms/my-plan"), "virtualNetworkSubnetId": "/subscriptions/s/resourceGroups/other/providers/Microsoft.Network/virtualNetworks/v/subnets/i", "defaultHostName": "app.azurewebsites.net"}});
        let t = export_template(
            &[
                ExportResource { resource: site, api_version: "2023-01-01".into() },
                ExportResource { resource: plan, api_version: "2022-09-01".into() },
            ],
            &|ty| if ty == "Microsoft.Web/sites" { vec!["properties.defaultHostName".into()] } else { vec![] },
        );
        assert_eq!(t["parameters"]["sites_app_name"], json!({"defaultValue": "app", "type": "String"}));
        assert_eq!(t["parameters"]["serverfarms_my_plan_name"]["defaultValue"], json!("my-plan"));
        assert_eq!(t["parameters"]["subnets_v_i_externalid"]["type"], json!("String"));
        let site = &t["resources"][1];
        assert_eq!(site["name"], json!("[parameters('sites_app_name')]"));
        assert_eq!(
            site["properties"]["serverFarmId"],
            json!("[resourceId('Microsoft.Web/serverfarms', parameters('serverfarms_my_plan_name'))]")
        );
        assert_eq!(
            site["dependsOn"],
            json!(["[resourceId('Microsoft.Web/serverfarms', parameters('serverfarms_my_plan_name'))]"])
        );
        assert!(site["properties"].get("defaultHostName").is_none());
        assert!(t["resources"][0]["properties"].get("provisioningState").is_none());
    }
}
