//! An in-memory host (a map of resource IDs to JSON) and the corpus of shared templates.

use std::collections::BTreeMap;
use std::path::PathBuf;

use arm_template::{
    Context, DeploymentResult, Host, HostError, PutRequest, PutResponse, ResourceGroup, Template, read_parameters,
};
use serde_json::{Map, Value, json};

pub const TENANT: &str = "72f988bf-0000-4000-8000-00000000c0de";
pub const SUB: &str = "00000000-0000-4000-8000-000000000001";
pub const GROUP: &str = "secureacrsetup";
pub const NOW: &str = "2021-07-03T12:00:00Z";

pub fn rg_id() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{GROUP}")
}

/// A resource ID in the recipe's group.
pub fn id(path: &str) -> String {
    format!("{}/providers/{path}", rg_id())
}

/// The context of a deployment named `name` into the recipe's group.
pub fn ctx(name: &str) -> Context {
    Context::resource_group(TENANT, SUB, ResourceGroup::new(GROUP, "westeurope"), name, NOW)
}

/// A host that stores what is PUT and answers GETs from it, adding the few server-owned
/// properties the corpus's templates read back (a site's principal, an endpoint's NIC, a
/// registry's login server), as the providers do.
#[derive(Default)]
pub struct MemoryHost {
    pub resources: BTreeMap<String, Value>,
    /// Every PUT, in order: (ID, api-version).
    pub puts: Vec<(String, String)>,
    /// Every POST: (ID, action).
    pub posts: Vec<(String, String)>,
    pub groups: Vec<ResourceGroup>,
    pub finished: Vec<DeploymentResult>,
    /// PUTs of these IDs (lower case) fail with 409 Conflict.
    pub refuse: Vec<String>,
    /// Preflight validation refuses these types (lower case).
    pub invalid_types: Vec<String>,
    pub read_only: BTreeMap<String, Vec<String>>,
}

impl MemoryHost {
    pub fn new() -> MemoryHost {
        MemoryHost { groups: vec![ResourceGroup::new(GROUP, "westeurope")], ..Default::default() }
    }

    /// The recipe's resources the corpus says must exist first (its README's "needs first").
    pub fn with_recipe() -> MemoryHost {
        let mut h = MemoryHost::new();
        let vnet = id("Microsoft.Network/virtualNetworks/secureacr-vnet");
        h.insert(json!({"id": vnet, "name": "secureacr-vnet", "type": "Microsoft.Network/virtualNetworks", "location": "westeurope",
            "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}));
        h.insert(json!({"id": format!("{vnet}/subnets/private-endpoint-subnet"), "name": "private-endpoint-subnet",
            "type": "Microsoft.Network/virtualNetworks/subnets", "properties": {"addressPrefix": "10.0.2.0/24"}}));
        h.insert(json!({"id": id("Microsoft.Network/privateDnsZones/privatelink.azurecr.io"), "name": "privatelink.azurecr.io",
            "type": "Microsoft.Network/privateDnsZones", "location": "global", "properties": {}}));
        h.insert(json!({"id": id("Microsoft.ContainerRegistry/registries/secureacr2021"), "name": "secureacr2021",
            "type": "Microsoft.ContainerRegistry/registries", "location": "westeurope", "sku": {"name": "Premium"},
            "properties": {"loginServer": "secureacr2021.azurecr.io", "adminUserEnabled": true}}));
        h
    }

    pub fn insert(&mut self, v: Value) {
        let id = v["id"].as_str().unwrap().to_ascii_lowercase();
        self.resources.insert(id, v);
    }

    pub fn get_id(&self, id: &str) -> Option<&Value> {
        self.resources.get(&id.to_ascii_lowercase())
    }

    /// The IDs PUT, in order.
    pub fn put_ids(&self) -> Vec<String> {
        self.puts.iter().map(|(id, _)| id.clone()).collect()
    }
}

impl Host for MemoryHost {
    fn put(&mut self, r: &PutRequest<'_>) -> Result<PutResponse, HostError> {
        self.puts.push((r.id.to_string(), r.api_version.to_string()));
        if self.refuse.contains(&r.id.to_ascii_lowercase()) {
            return Err(HostError::new(
                409,
                "Conflict",
                format!("The resource '{}' is refused by the test host.", r.id),
            ));
        }
        let existed = self.get_id(r.id).is_some();
        let mut v = r.body.clone();
        v["id"] = json!(r.id);
        v["name"] = json!(r.id.rsplit('/').next().unwrap());
        v["type"] = json!(r.resource_type);
        let ty = r.resource_type.to_ascii_lowercase();
        if ty == "microsoft.web/sites" && v.pointer("/identity/type").and_then(Value::as_str) == Some("SystemAssigned")
        {
            v["identity"]["principalId"] = json!(arm_template::hash::guid(&["principal", r.id]));
        }
        if ty == "microsoft.network/privateendpoints" {
            let (scope, name) = r.id.split_once("/providers/Microsoft.Network/privateEndpoints/").unwrap();
            let nic = format!("{scope}/providers/Microsoft.Network/networkInterfaces/{name}.nic");
            v["properties"]["networkInterfaces"] = json!([{"id": nic}]);
            if v["properties"].get("customDnsConfigs").is_none() {
                v["properties"]["customDnsConfigs"] = json!([]);
            }
        }
        if ty == "microsoft.containerregistry/registries" {
            v["properties"]["loginServer"] = json!(format!("{}.azurecr.io", r.id.rsplit('/').next().unwrap()));
        }
        if let Some(p) = v.get_mut("properties").and_then(Value::as_object_mut) {
            p.insert("provisioningState".into(), json!("Succeeded"));
        }
        self.insert(v.clone());
        Ok(PutResponse { status: if existed { 200 } else { 201 }, body: v })
    }

    fn validate(&mut self, r: &PutRequest<'_>) -> Result<(), HostError> {
        if self.invalid_types.contains(&r.resource_type.to_ascii_lowercase()) {
            return Err(HostError::new(
                400,
                "InvalidResourceType",
                format!("The resource type '{}' is refused by the test host.", r.resource_type),
            ));
        }
        Ok(())
    }

    fn get(&mut self, id: &str, _api: Option<&str>) -> Result<Option<Value>, HostError> {
        Ok(self.get_id(id).cloned())
    }

    fn post(&mut self, id: &str, action: &str, _api: &str, _body: Option<&Value>) -> Result<Value, HostError> {
        self.posts.push((id.to_string(), action.to_string()));
        let Some(r) = self.get_id(id) else {
            return Err(HostError::new(404, "ResourceNotFound", format!("The Resource '{id}' was not found.")));
        };
        match action.to_ascii_lowercase().as_str() {
            "listcredentials" => Ok(
                json!({"username": r["name"], "passwords": [{"name": "password", "value": "p1"}, {"name": "password2", "value": "p2"}]}),
            ),
            "listkeys" => Ok(json!({"keys": [{"keyName": "key1", "value": "k1"}]})),
            _ => Err(HostError::new(400, "InvalidAction", format!("No action '{action}' on '{id}'."))),
        }
    }

    fn resource_group(&mut self, _sub: &str, name: &str) -> Result<Option<ResourceGroup>, HostError> {
        Ok(self.groups.iter().find(|g| g.name.eq_ignore_ascii_case(name)).cloned())
    }

    fn nested_deployment_finished(&mut self, result: &DeploymentResult) -> Result<(), HostError> {
        self.insert(json!({"id": result.id, "name": result.name, "type": "Microsoft.Resources/deployments", "properties": result.properties_json()}));
        self.finished.push(result.clone());
        Ok(())
    }

    fn list(&mut self, scope: &str) -> Result<Vec<Value>, HostError> {
        let prefix = format!("{}/providers/", scope.to_ascii_lowercase());
        Ok(self
            .resources
            .iter()
            .filter(|(k, v)| k.starts_with(&prefix) && v["type"].as_str().is_some_and(|t| t.matches('/').count() == 1))
            .map(|(_, v)| v.clone())
            .collect())
    }

    fn read_only_properties(&self, resource_type: &str) -> Vec<String> {
        let mut out = vec!["properties.provisioningState".to_string()];
        out.extend(self.read_only.get(&resource_type.to_ascii_lowercase()).cloned().unwrap_or_default());
        out
    }
}

/// The folder `PULLSIM_TEMPLATE_CORPUS` names, else `shared/templates` found by walking up
/// from the repository; `None` (the test says it did not run) when absent outside CI; a
/// failure under `CI=true`.
pub fn corpus_dir() -> Option<PathBuf> {
    if let Some(named) = std::env::var_os("PULLSIM_TEMPLATE_CORPUS").map(PathBuf::from)
        && named.is_dir()
    {
        return Some(named);
    }
    let mut dir = Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    while let Some(d) = dir {
        let candidate = d.join("shared").join("templates");
        if candidate.is_dir() {
            return Some(candidate);
        }
        dir = d.parent().map(PathBuf::from);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true and the template corpus (shared/templates above the repository) is missing");
    }
    eprintln!("NOT RUN: the template corpus (shared/templates above the repository) is missing");
    None
}

/// A corpus template and its parameters file.
pub struct CorpusEntry {
    pub text: String,
    pub template: Template,
    pub parameters: Map<String, Value>,
}

pub fn corpus(name: &str) -> Option<CorpusEntry> {
    let dir = corpus_dir()?.join(name);
    let text = std::fs::read_to_string(dir.join("template.json")).unwrap();
    let template = Template::parse(&text).unwrap_or_else(|e| panic!("{name}: {}", e.message));
    let params: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("parameters.json")).unwrap()).unwrap();
    Some(CorpusEntry { text, template, parameters: read_parameters(&params).unwrap() })
}

/// The 1-based line of the first line of `text` containing `needle`, and the column of the
/// first character of `needle` on it.
pub fn line_col(text: &str, needle: &str) -> (u32, u32) {
    for (i, line) in text.lines().enumerate() {
        if let Some(c) = line.find(needle) {
            return (i as u32 + 1, line[..c].chars().count() as u32 + 1);
        }
    }
    panic!("{needle} not found")
}

/// A template from JSON.
pub fn template(v: Value) -> Template {
    Template::parse(&v.to_string()).unwrap_or_else(|e| panic!("{}", e.message))
}
