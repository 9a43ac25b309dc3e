//! The mechanism's word on a fix: a fresh embedded environment built as the scenario
//! leaves it, the fix's changes sent to its ARM (recorded, for the scenario's steps), and
//! a real pull by the worker. The oracle proposes; only a pull that succeeds confirms.

use std::sync::Mutex;

use mock_azure::appservice::rules::Epoch;
use mock_azure::appservice::trace::Outcome;
use mock_azure::arm::{ArmRequest, ArmResponse};
use serde_json::Value;

use super::change::{Api, Change};
use super::facts::Facts;
use super::search::apply_all;
use crate::backend::Backend;
use crate::embedded::EmbeddedBackend;
use crate::scenario::Scenario;

/// A request a change sent that changed something (reads and `list` actions left out).
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    /// The method.
    pub method: String,
    /// The path with its api-version.
    pub path: String,
    /// The JSON body.
    pub body: Option<Value>,
}

/// A live environment's ARM, in process, recording what changes it.
struct Live<'a> {
    backend: &'a EmbeddedBackend,
    token: String,
    sent: Mutex<Vec<Sent>>,
}

impl Api for Live<'_> {
    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> ArmResponse {
        let mut req = ArmRequest::new(method, path).header("authorization", &format!("Bearer {}", self.token));
        if let Some(b) = body {
            req = req.json(b);
        }
        let reads = method == "GET"
            || (method == "POST"
                && path.split('?').next().is_some_and(|p| p.ends_with("/list") || p.ends_with("/listCredentials")));
        if !reads {
            self.sent.lock().unwrap_or_else(|e| e.into_inner()).push(Sent {
                method: method.to_string(),
                path: path.to_string(),
                body: body.cloned(),
            });
        }
        self.backend.env().arm.handle(&req)
    }
}

/// What the confirming pull gave.
#[derive(Debug, Clone)]
pub struct Confirmation {
    /// The pull's outcome after the changes.
    pub outcome: Outcome,
    /// The requests that made the changes.
    pub sent: Vec<Sent>,
    /// Why the changes could not be made, if ARM refused one.
    pub refused: Option<String>,
}

/// Builds `s` as its last pull sees it on a fresh embedded environment, makes `changes`
/// and pulls.
pub async fn confirm(s: &Scenario, f: &Facts, changes: &[Change], epoch: Epoch) -> anyhow::Result<Confirmation> {
    let backend = EmbeddedBackend::start().await?;
    let result = confirm_on(&backend, s, f, changes, epoch).await;
    Box::new(backend).stop().await?;
    result
}

async fn confirm_on(
    backend: &EmbeddedBackend,
    s: &Scenario,
    f: &Facts,
    changes: &[Change],
    epoch: Epoch,
) -> anyhow::Result<Confirmation> {
    let site = crate::runner::scenario::prepare(backend, s)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .ok_or_else(|| anyhow::anyhow!("the scenario has no site"))?;
    let live = Live { backend, token: backend.arm_token(), sent: Mutex::new(Vec::new()) };
    let refused = apply_all(&live, changes, f).err().map(|r| format!("{} answered {} {}", r.request, r.status, r.code));
    let report = backend.pull(&site, epoch).await?;
    let sent = live.sent.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(Confirmation { outcome: report.outcome, sent, refused })
}
