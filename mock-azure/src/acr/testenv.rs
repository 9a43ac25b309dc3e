//! Unit-test support: a store written through the fake ARM, so tests set up registries,
//! VNETs, private endpoints and role assignments the way clients do.
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::arm::{Arm, ArmConfig, ArmRequest, ArmResponse};
use crate::identity::TokenSigner;
use crate::model::Store;
use crate::model::view::{Registry, Views};

pub(crate) const RG: &str = "rg";

pub(crate) struct Env {
    pub store: Store,
    pub arm: Arm,
    pub signer: Arc<TokenSigner>,
    token: String,
}

impl Env {
    pub fn new() -> Env {
        let store = Store::in_memory();
        let signer = Arc::new(TokenSigner::generate().unwrap());
        let arm = Arm::new(store.clone(), signer.clone(), ArmConfig::new("https://arm.invalid"));
        let token = arm.cfg.client_token(&signer, 3600);
        let env = Env { store, arm, signer, token };
        env.call("PUT", &env.rg_id(), json!({"location": "westeurope"}));
        env
    }

    pub fn tenant(&self) -> String {
        self.arm.cfg.tenant_id.clone()
    }

    pub fn rg_id(&self) -> String {
        format!("/subscriptions/{}/resourceGroups/{RG}", self.arm.cfg.subscription_id)
    }

    pub fn registry_id(&self, name: &str) -> String {
        format!("{}/providers/Microsoft.ContainerRegistry/registries/{name}", self.rg_id())
    }

    /// Sends an ARM request and requires a 2xx answer.
    pub fn call(&self, method: &str, path: &str, body: Value) -> ArmResponse {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut req = ArmRequest::new(method, &format!("{path}{sep}api-version=2024-11-01"))
            .header("authorization", &format!("Bearer {}", self.token));
        if !body.is_null() {
            req = req.json(&body);
        }
        let r = self.arm.handle(&req);
        assert!((200..300).contains(&r.status), "{method} {path}: {} {}", r.status, String::from_utf8_lossy(&r.body));
        r
    }

    pub fn registry(&self, name: &str, sku: &str, admin: bool) -> Arc<Registry> {
        self.call(
            "PUT",
            &self.registry_id(name),
            json!({"location": "westeurope", "sku": {"name": sku}, "properties": {"adminUserEnabled": admin}}),
        );
        self.get_registry(name)
    }

    /// The registry as the ACR sees it now.
    pub fn get_registry(&self, name: &str) -> Arc<Registry> {
        Views::of(&self.store).registry(name).unwrap().clone()
    }

    pub fn patch_registry(&self, name: &str, body: Value) {
        self.call("PATCH", &self.registry_id(name), body);
    }

    pub fn public_ips(&self, name: &str) -> Vec<Ipv4Addr> {
        self.get_registry(name).public_ips.clone()
    }

    pub fn vnet_id(&self, name: &str) -> String {
        format!("{}/providers/Microsoft.Network/virtualNetworks/{name}", self.rg_id())
    }

    pub fn vnet_key(&self, name: &str) -> String {
        self.vnet_id(name).to_ascii_lowercase()
    }

    pub fn vnet(&self, name: &str, space: &str, subnets: &[(&str, &str)]) {
        let subnets: Vec<Value> =
            subnets.iter().map(|(n, p)| json!({"name": n, "properties": {"addressPrefix": p}})).collect();
        self.call(
            "PUT",
            &self.vnet_id(name),
            json!({"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": [space]}, "subnets": subnets}}),
        );
    }

    /// Creates a private endpoint to a registry; `manual` leaves its connection Pending.
    pub fn private_endpoint(&self, name: &str, vnet: &str, subnet: &str, registry: &str, manual: bool) -> String {
        let id = format!("{}/providers/Microsoft.Network/privateEndpoints/{name}", self.rg_id());
        let conn = json!([{"name": format!("{name}-conn"), "properties": {
            "privateLinkServiceId": self.registry_id(registry), "groupIds": ["registry"]}}]);
        let key = if manual { "manualPrivateLinkServiceConnections" } else { "privateLinkServiceConnections" };
        self.call(
            "PUT",
            &id,
            json!({"location": "westeurope", "properties": {
                "subnet": {"id": format!("{}/subnets/{subnet}", self.vnet_id(vnet))},
                key: conn,
            }}),
        );
        id
    }

    /// Sets the state of every private endpoint connection of a registry.
    pub fn set_connection_status(&self, registry: &str, status: &str) {
        let key = self.registry_id(registry).to_ascii_lowercase();
        for c in self.store.scan_prefix(&format!("{key}/privateendpointconnections/")) {
            let id = c["id"].as_str().unwrap().to_string();
            self.call(
                "PUT",
                &id,
                json!({"properties": {"privateLinkServiceConnectionState": {"status": status, "description": "test"}}}),
            );
        }
    }

    /// A user-assigned identity; returns its principal ID.
    pub fn identity(&self, name: &str) -> String {
        let id = format!("{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}", self.rg_id());
        let r = self.call("PUT", &id, json!({"location": "westeurope"}));
        r.json_body()["properties"]["principalId"].as_str().unwrap().to_string()
    }

    /// Assigns a built-in role (by GUID) to a principal at a scope.
    pub fn assign(&self, scope: &str, principal: &str, role_guid: &str, n: u8) {
        let name = format!("00000000-0000-4000-8000-0000000000{n:02x}");
        self.call(
            "PUT",
            &format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"),
            json!({"properties": {
                "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}", self.arm.cfg.subscription_id),
                "principalId": principal,
            }}),
        );
    }
}
