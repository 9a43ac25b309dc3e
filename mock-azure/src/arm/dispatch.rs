//! [`Arm::handle`]: which part of the fake answers a request. Paths that start with a
//! tenant go to the identity endpoints, `/metadata` is public, `/platform` is the App
//! Service platform's MSI endpoint; everything else is ARM proper: a bearer token, an
//! api-version, the caller's authorization (`authz`), a route — subscription-level routes
//! to `subscription`, resources to the generic life cycle in `resources`, with the table
//! of kinds from `kinds`.

use super::authz::{Caller, authorize};
use super::error::ArmError;
use super::http::{ArmRequest, ArmResponse};
use super::kinds::KINDS;
use super::route::Route;
use super::service::{Arm, MAX_BODY};
use super::version::ApiVersion;
use super::{deployments, graph, identity_api, metadata, msi, resources, subscription};

impl Arm {
    /// Answers one request. Never panics on any input; 5xx only if the state journal
    /// cannot be written.
    pub fn handle(&self, req: &ArmRequest) -> ArmResponse {
        let mut resp = self.dispatch(req);
        let request_id = crate::model::net::guid(&["request", &self.store.seq().to_string(), &req.path, &req.method]);
        let correlation =
            req.header_value("x-ms-correlation-request-id").map(str::to_string).unwrap_or_else(|| request_id.clone());
        resp.headers.push(("x-ms-request-id".into(), request_id));
        resp.headers.push(("x-ms-correlation-request-id".into(), correlation));
        resp
    }

    fn dispatch(&self, req: &ArmRequest) -> ArmResponse {
        let path = crate::model::id::normalize_path(&req.path);
        let first = path.split('/').nth(1).unwrap_or_default().to_ascii_lowercase();
        match first.as_str() {
            "metadata" => metadata::handle(self, req, &path),
            "subscriptions" | "tenants" | "providers" => match self.arm_api(req, &path) {
                Ok(r) => r,
                Err(e) => e.into(),
            },
            "platform" => msi::handle(self, req, &path).unwrap_or_else(Into::into),
            "graph" => graph::handle(self, req, &path),
            "" => ArmError::no_route(&req.path).into(),
            _ => identity_api::handle(self, req, &path),
        }
    }

    fn arm_api(&self, req: &ArmRequest, path: &str) -> Result<ArmResponse, ArmError> {
        let caller = Caller::of(&self.authenticate(req)?)?;
        let api = match req.query_param("api-version") {
            None => return Err(ArmError::missing_api_version()),
            Some(v) => ApiVersion::parse(&v)?,
        };
        if req.body.len() > MAX_BODY {
            return Err(ArmError::too_large(MAX_BODY));
        }
        let route = Route::parse(path).ok_or_else(|| ArmError::no_route(path))?;
        // Authorization stands between the token and the route: every request passes
        // here, whatever answers it (a deployment's resources too: each comes back
        // through `handle` with the caller's token).
        let addressed = route.clone();
        authorize(self, &KINDS, req, &addressed, &caller, || self.route(req, api, route))
    }

    fn route(&self, req: &ArmRequest, api: ApiVersion, route: Route) -> Result<ArmResponse, ArmError> {
        // A deployment applies each resource through this same entry point.
        let call = |r: &ArmRequest| self.handle(r);
        if let Some(answer) = deployments::handle(self, &KINDS, &call, req, &route) {
            return answer;
        }
        match route {
            Route::Tenants
            | Route::Subscriptions
            | Route::Subscription(_)
            | Route::Locations(_)
            | Route::Groups(_)
            | Route::Providers { .. } => subscription::handle(self, &KINDS, req, route),
            Route::ProviderOperations(ns) if req.method == "GET" => subscription::provider_operations(&KINDS, &ns),
            Route::SubscriptionType { sub, ns, name } if req.method == "POST" => {
                subscription::provider_action(self, &KINDS, req, &sub, &ns, &name)
            }
            _ => resources::handle(self, &KINDS, req, api, route),
        }
    }
}
