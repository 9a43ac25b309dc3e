//! [`arm_template::Host`] over the fake ARM: each PUT, GET and POST a deployment makes is an
//! ARM request of its own, answered by the same entry point as a client's (with the
//! caller's credentials), so every provider rule and error applies to a template's
//! resources exactly as to direct requests.

use arm_template::{ErrorDetail, Host, HostError, PutRequest, PutResponse, ResourceGroup};
use serde_json::{Value, json};

use super::super::error::ArmError;
use super::super::http::{ArmRequest, ArmResponse};
use super::super::kind::{Kinds, Loc};
use super::super::regions::{known_region, normalize_location};
use super::super::service::Arm;
use crate::model::ResourceId;

/// How ARM answers one request: `Arm::handle`, handed in by the dispatcher.
pub(super) type Call<'a> = &'a dyn Fn(&ArmRequest) -> ArmResponse;

/// The fake ARM as a deployment's host.
pub(super) struct ArmHost<'a> {
    arm: &'a Arm,
    kinds: &'a Kinds,
    call: Call<'a>,
    /// The caller's headers every request carries (credentials, correlation).
    headers: Vec<(String, String)>,
    /// The opaque resources deployed (IDs), for the deployment's warnings.
    pub opaque: Vec<String>,
}

impl<'a> ArmHost<'a> {
    /// A host acting for the client of `req`.
    pub fn new(arm: &'a Arm, kinds: &'a Kinds, call: Call<'a>, req: &ArmRequest) -> ArmHost<'a> {
        let headers = ["authorization", "x-ms-correlation-request-id"]
            .iter()
            .filter_map(|h| req.header_value(h).map(|v| (h.to_string(), v.to_string())))
            .collect();
        ArmHost { arm, kinds, call, headers, opaque: Vec::new() }
    }

    /// One ARM request on the caller's behalf.
    pub fn send(&self, method: &str, path: &str, api: &str, body: Option<&Value>) -> ArmResponse {
        let mut req = ArmRequest::new(method, &format!("{path}?api-version={api}"));
        req.headers.clone_from(&self.headers);
        if let Some(b) = body {
            req = req.json(b);
        }
        (self.call)(&req)
    }
}

/// An ARM error answer as the engine's error (for the operation and `DeploymentFailed`).
fn host_error(resp: &ArmResponse) -> HostError {
    let body = resp.json_body();
    HostError { status: resp.status, error: detail(&body["error"]) }
}

fn detail(e: &Value) -> ErrorDetail {
    let mut d = ErrorDetail::new(
        e["code"].as_str().unwrap_or("InternalServerError"),
        e["message"].as_str().unwrap_or_default(),
    );
    d.target = e["target"].as_str().map(String::from);
    d.details = e["details"].as_array().map(|a| a.iter().map(detail).collect()).unwrap_or_default();
    d
}

fn from_arm(e: ArmError) -> HostError {
    HostError::new(e.status, e.code, e.message)
}

impl Host for ArmHost<'_> {
    fn put(&mut self, r: &PutRequest<'_>) -> Result<PutResponse, HostError> {
        let resp = self.send("PUT", r.id, r.api_version, Some(r.body));
        if !(200..300).contains(&resp.status) {
            return Err(host_error(&resp));
        }
        if self.kinds.get(&r.resource_type.to_ascii_lowercase()).is_some_and(|k| k.opaque) {
            self.opaque.push(r.id.to_string());
        }
        Ok(PutResponse { status: resp.status, body: resp.json_body() })
    }

    /// Azure's preflight as far as pullsim models it: the namespace and type exist, and a
    /// type that needs a region names one Azure has.
    fn validate(&mut self, r: &PutRequest<'_>) -> Result<(), HostError> {
        let (ns, rest) = r.resource_type.split_once('/').unwrap_or((r.resource_type, ""));
        self.kinds.namespace(ns).map_err(from_arm)?;
        let kind = self
            .kinds
            .get(&r.resource_type.to_ascii_lowercase())
            .ok_or_else(|| from_arm(ArmError::unknown_type(rest, ns, r.api_version)))?;
        if kind.loc == Loc::Region {
            match r.body.get("location").and_then(Value::as_str).map(normalize_location) {
                Some(l) if !known_region(&l) => return Err(from_arm(ArmError::bad_location(&l))),
                Some(_) => {}
                // A location may come from the existing resource (an update).
                None if self.arm.store.get_key(&r.id.to_ascii_lowercase()).is_some() => {}
                None => return Err(from_arm(ArmError::location_required())),
            }
        }
        Ok(())
    }

    fn get(&mut self, id: &str, api_version: Option<&str>) -> Result<Option<Value>, HostError> {
        let resp = self.send("GET", id, api_version.unwrap_or(DEFAULT_API), None);
        match resp.status {
            200 => Ok(Some(resp.json_body())),
            404 => Ok(None),
            _ => Err(host_error(&resp)),
        }
    }

    fn post(&mut self, id: &str, action: &str, api_version: &str, body: Option<&Value>) -> Result<Value, HostError> {
        let resp = self.send("POST", &format!("{id}/{action}"), api_version, Some(body.unwrap_or(&json!({}))));
        if (200..300).contains(&resp.status) { Ok(resp.json_body()) } else { Err(host_error(&resp)) }
    }

    fn resource_group(&mut self, subscription: &str, name: &str) -> Result<Option<ResourceGroup>, HostError> {
        Ok(self.arm.store.get(&ResourceId::group(subscription, name)).map(|g| group_of(&g)))
    }

    fn nested_deployment_finished(&mut self, result: &arm_template::DeploymentResult) -> Result<(), HostError> {
        let meta = super::record::Meta {
            location: None,
            correlation: self.headers.iter().find(|(h, _)| h == "x-ms-correlation-request-id").map_or("", |(_, v)| v),
            timestamp: &super::record::now(),
            diagnostics: Vec::new(),
            template: Value::Null,
        };
        super::record::save(self.arm, result, meta).map(|_| ()).map_err(from_arm)
    }

    fn list(&mut self, scope: &str) -> Result<Vec<Value>, HostError> {
        let resp = self.send("GET", &format!("{scope}/resources"), DEFAULT_API, None);
        if resp.status != 200 {
            return Err(host_error(&resp));
        }
        Ok(resp.json_body()["value"].as_array().cloned().unwrap_or_default())
    }

    fn read_only_properties(&self, resource_type: &str) -> Vec<String> {
        read_only(resource_type)
    }
}

/// The api-version of reads the template gives none for.
pub(super) const DEFAULT_API: &str = "2024-11-01";

/// A stored resource group as the engine sees it.
pub(super) fn group_of(g: &Value) -> ResourceGroup {
    let mut rg = ResourceGroup::new(g["name"].as_str().unwrap_or_default(), g["location"].as_str().unwrap_or_default());
    if let Some(t) = g["tags"].as_object() {
        rg.tags = t.clone();
    }
    rg.managed_by = g["managedBy"].as_str().map(String::from);
    rg
}

/// The properties of a type its provider owns (what-if does not report them, export
/// leaves them out): the values ARM computes or adds on its own.
pub(super) fn read_only(resource_type: &str) -> Vec<String> {
    let common = ["properties.provisioningState", "etag", "systemData", "managedBy"];
    let own: &[&str] = match resource_type.to_ascii_lowercase().as_str() {
        "microsoft.web/sites" => &[
            "properties.defaultHostName",
            "properties.outboundIpAddresses",
            "properties.possibleOutboundIpAddresses",
            "properties.state",
            "properties.hostNames",
            "properties.enabledHostNames",
            "properties.hostNameSslStates",
            "properties.usageState",
            "properties.availabilityState",
            "properties.sku",
            "properties.lastModifiedTimeUtc",
            "properties.resourceGroup",
            "properties.inboundIpAddress",
            "properties.customDomainVerificationId",
            "properties.siteConfig",
            "identity.principalId",
            "identity.tenantId",
            "kind",
        ],
        "microsoft.web/serverfarms" => &[
            "properties.status",
            "properties.numberOfSites",
            "properties.resourceGroup",
            "properties.maximumNumberOfWorkers",
            "properties.geoRegion",
        ],
        "microsoft.containerregistry/registries" => &[
            "properties.loginServer",
            "properties.creationDate",
            "properties.privateEndpointConnections",
            "properties.dataEndpointHostNames",
            "properties.status",
            "sku.tier",
        ],
        "microsoft.network/virtualnetworks" => &["properties.resourceGuid", "properties.subnets"],
        "microsoft.network/virtualnetworks/subnets" => {
            &["properties.ipConfigurations", "properties.privateEndpoints", "properties.serviceAssociationLinks"]
        }
        "microsoft.network/privateendpoints" => &[
            "properties.networkInterfaces",
            "properties.customDnsConfigs",
            "properties.privateLinkServiceConnections[*].properties.privateLinkServiceConnectionState",
        ],
        "microsoft.network/privatednszones" => &[
            "properties.maxNumberOfRecordSets",
            "properties.numberOfRecordSets",
            "properties.maxNumberOfVirtualNetworkLinks",
            "properties.numberOfVirtualNetworkLinks",
            "properties.maxNumberOfVirtualNetworkLinksWithRegistration",
            "properties.numberOfVirtualNetworkLinksWithRegistration",
        ],
        "microsoft.network/privatednszones/virtualnetworklinks" => &["properties.virtualNetworkLinkState"],
        "microsoft.managedidentity/userassignedidentities" => {
            &["properties.principalId", "properties.clientId", "properties.tenantId"]
        }
        _ => &[],
    };
    common.iter().chain(own).map(|s| s.to_string()).collect()
}
