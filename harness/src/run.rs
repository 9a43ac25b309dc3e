//! Running scenarios: build the topology through ARM on a fresh environment, push the
//! images, pull, run the steps, and hold every result to its expectations.
//!
//! An expectation that does not hold is a failed scenario (exit 1); an environment that
//! cannot be built or a component that fails is an infrastructure error (exit 2),
//! never reported as a pull outcome.

use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use mock_azure::acr::oci::{Reference, RepoName};
use mock_azure::acr::{Repo, generate_image, generate_index, push_image, push_index, put_manifest_checked};
use mock_azure::appservice::trace::{Outcome, Trace};
use mock_azure::appservice::worker::PullReport;
use mock_azure::arm::{ArmRequest, ArmResponse};
use mock_azure::dns::{ConditionalForwarder, CustomServer, Upstream as DnsUpstream, put_custom_server};
use serde::Serialize;
use serde_json::{Value, json};

use crate::docker::backend::DockerEnv;
use crate::embedded::{Env, EnvOptions};
use crate::scenario::{
    ArmCall, ArmExpect, CustomDnsSpec, Expect, ImageSpec, PlanStep, PullOutcome, Scenario, Step, Upstream, arm_plan,
};

/// The result of one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    /// Scenario name.
    pub name: String,
    /// File it came from.
    pub file: String,
    /// Backend it ran on.
    pub backend: &'static str,
    /// Rules epoch.
    pub rules: String,
    /// Whether every expectation held.
    pub passed: bool,
    /// The last pull's outcome.
    pub outcome: Option<OutcomeJson>,
    /// The last pull's trace.
    pub trace: Trace,
    /// The last pull's App Service log lines.
    pub log: Vec<String>,
    /// Each expectation that did not hold, in words.
    pub failures: Vec<String>,
    /// Wall time.
    pub duration_ms: f64,
    /// The docker backend's app container, started after a successful last pull.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<crate::docker::app::AppStart>,
}

/// The outcome as DESIGN.md's JSON contract spells it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OutcomeJson {
    /// `success` or `failure`.
    pub pull: &'static str,
    /// `vnet` or `public`.
    pub route: Option<String>,
    /// Failure stage.
    pub stage: Option<String>,
    /// Failure code.
    pub code: Option<String>,
    /// What the user would see.
    pub message: Option<String>,
}

impl From<&Outcome> for OutcomeJson {
    fn from(o: &Outcome) -> Self {
        OutcomeJson {
            pull: if o.success { "success" } else { "failure" },
            route: o
                .route
                .map(|r| serde_json::to_value(r).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()),
            stage: o.stage.map(|s| s.as_str().to_string()),
            code: o.code.map(|c| c.as_str()),
            message: o.message.clone(),
        }
    }
}

/// Runs one scenario on a fresh embedded environment.
pub async fn run_scenario(s: &Scenario) -> anyhow::Result<ScenarioResult> {
    let start = Instant::now();
    let env = Env::start(EnvOptions::default()).await.context("starting the embedded environment")?;
    let result = run_in(&env, s).await;
    env.stop().await;
    let mut r = result?;
    r.duration_ms = start.elapsed().as_secs_f64() * 1000.0;
    Ok(r)
}

/// What a run left for `explain`: the result plus the last full report.
pub struct Detailed {
    /// The result.
    pub result: ScenarioResult,
    /// The last pull's report.
    pub report: Option<PullReport>,
}

async fn run_in(env: &Env, s: &Scenario) -> anyhow::Result<ScenarioResult> {
    Ok(run_detailed(env, s).await?.result)
}

/// Runs one scenario on the docker environment `env` (reset first; the environment is
/// reused across the scenarios of a run); with `start_app`, a successful last pull's
/// image is started as the app container, and a start that fails fails the scenario.
pub async fn run_scenario_docker(env: &DockerEnv, s: &Scenario, start_app: bool) -> anyhow::Result<ScenarioResult> {
    let start = Instant::now();
    env.reset().await.context("resetting the docker environment")?;
    let d = run_on(Target::Docker(env), s).await?;
    let mut r = d.result;
    let succeeded = d.report.as_ref().filter(|p| p.outcome.success && start_app);
    if let (Some(report), Some(site)) = (succeeded, site_id(s, &env.cfg().subscription_id)) {
        let app = crate::docker::app::start(env, &site, report).await.context("starting the app container")?;
        if !app.started {
            r.passed = false;
            r.failures.push(format!("the app container did not start: {}", app.output));
        }
        r.app = Some(app);
    }
    r.duration_ms = start.elapsed().as_secs_f64() * 1000.0;
    Ok(r)
}

/// Where a scenario runs: the environment of either backend.
#[derive(Clone, Copy)]
pub enum Target<'a> {
    /// Every component in this process.
    Embedded(&'a Env),
    /// Every component in its own container.
    Docker(&'a DockerEnv),
}

impl Target<'_> {
    fn backend(self) -> &'static str {
        match self {
            Target::Embedded(_) => "embedded",
            Target::Docker(_) => "docker",
        }
    }

    fn subscription_id(self) -> String {
        match self {
            Target::Embedded(env) => env.arm.cfg.subscription_id.clone(),
            Target::Docker(env) => env.cfg().subscription_id.clone(),
        }
    }

    async fn pull(self, site_id: &str, epoch: mock_azure::appservice::rules::Epoch) -> anyhow::Result<PullReport> {
        match self {
            Target::Embedded(env) => env.pull(site_id, epoch).await.map_err(|e| anyhow!("infrastructure failure: {e}")),
            Target::Docker(env) => env.pull(site_id, epoch).await,
        }
    }

    async fn reconcile(self) -> anyhow::Result<()> {
        match self {
            Target::Embedded(env) => env.reconcile().await,
            Target::Docker(env) => env.sync().await,
        }
    }
}

/// Runs a scenario in `env` and keeps the last report.
pub async fn run_detailed(env: &Env, s: &Scenario) -> anyhow::Result<Detailed> {
    run_on(Target::Embedded(env), s).await
}

/// Runs a scenario on either backend and keeps the last report.
pub async fn run_on(env: Target<'_>, s: &Scenario) -> anyhow::Result<Detailed> {
    let session = Session::new(env)?;
    let sub = env.subscription_id();
    let epoch = s.epoch();
    let mut failures = Vec::new();

    let site_id = build_on(env, s).await?;

    let mut last: Option<PullReport> = None;
    let pull = |label: String| {
        let site_id = site_id.clone();
        async move {
            let site_id = site_id.ok_or_else(|| anyhow!("{label}: the scenario has no [site] to pull"))?;
            env.pull(&site_id, epoch).await.with_context(|| label.clone())
        }
    };
    if let Some(expect) = &s.expect {
        let report = pull("the pull".into()).await?;
        check_pull(expect, &report, "the pull", &mut failures);
        last = Some(report);
    }
    for (i, step) in s.steps.iter().enumerate() {
        let label = format!("step {}", i + 1);
        match step {
            Step::Arm(a) => {
                let call = a.call(&sub);
                let r = session.send(&call).await?;
                check_arm(a.expect.as_ref(), &r, &format!("{label} ({})", call.what), &mut failures);
            }
            Step::Restart => {
                if let Some(id) = &site_id {
                    let r = session
                        .send(&ArmCall::new("POST", format!("{id}/restart?api-version=2024-11-01"), None, "restart"))
                        .await?;
                    if r.status != 200 {
                        failures.push(format!("{label} (restart): {} {}", r.status, body_text(&r)));
                    }
                }
            }
            Step::Pull(expect) => {
                let report = pull(label.clone()).await?;
                if let Some(e) = expect {
                    check_pull(e, &report, &label, &mut failures);
                }
                last = Some(report);
            }
        }
    }
    // A scenario with neither [expect] nor pull steps still pulls once, for explain.
    if last.is_none() && site_id.is_some() {
        last = Some(pull("the pull".into()).await?);
    }
    let result = ScenarioResult {
        name: s.name.clone(),
        file: s.file.display().to_string(),
        backend: env.backend(),
        rules: epoch.to_string(),
        passed: failures.is_empty(),
        outcome: last.as_ref().map(|r| OutcomeJson::from(&r.outcome)),
        trace: last.as_ref().map(|r| r.trace.clone()).unwrap_or_default(),
        log: last.as_ref().map(|r| r.log.clone()).unwrap_or_default(),
        failures,
        duration_ms: 0.0,
        app: None,
    };
    Ok(Detailed { result, report: last })
}

/// Builds a scenario's topology in `env` through ARM (and pushes its images, registers
/// its custom DNS servers); returns the site's ID if it has one.
pub async fn build(env: &Env, s: &Scenario) -> anyhow::Result<Option<String>> {
    build_on(Target::Embedded(env), s).await
}

/// Builds a scenario's topology in the docker environment `env` (reset first) and lays
/// the networks out for it; returns the site's ID if it has one.
pub async fn build_docker(env: &DockerEnv, s: &Scenario) -> anyhow::Result<Option<String>> {
    env.reset().await.context("resetting the docker environment")?;
    build_on(Target::Docker(env), s).await
}

async fn build_on(env: Target<'_>, s: &Scenario) -> anyhow::Result<Option<String>> {
    let session = Session::new(env)?;
    let sub = env.subscription_id();
    for step in arm_plan(s, &sub) {
        session.apply(&step).await.with_context(|| format!("{}: building the topology", s.file.display()))?;
    }
    env.reconcile().await?;
    Ok(site_id(s, &sub))
}

/// The resource ID of a scenario's site, if it has one.
fn site_id(s: &Scenario, sub: &str) -> Option<String> {
    s.topology.site.as_ref().map(|site| {
        format!(
            "/subscriptions/{sub}/resourceGroups/{}/providers/Microsoft.Web/sites/{}",
            s.topology.resource_group.name, site.name
        )
    })
}

/// Holds a pull to its expectation; appends what differs.
fn check_pull(e: &Expect, r: &PullReport, label: &str, failures: &mut Vec<String>) {
    let o = &r.outcome;
    let want_success = e.pull == PullOutcome::Success;
    let got = OutcomeJson::from(o);
    let describe = || {
        format!(
            "got {}{}{}{}",
            got.pull,
            got.route.as_deref().map(|x| format!(", route {x}")).unwrap_or_default(),
            got.stage.as_deref().map(|x| format!(", stage {x}")).unwrap_or_default(),
            got.code.as_deref().map(|x| format!(", code {x}")).unwrap_or_default(),
        )
    };
    if o.success != want_success {
        failures.push(format!("{label}: expected {}, {}", e.pull.as_str(), describe()));
    }
    if let Some(route) = e.route
        && o.route != Some(route)
    {
        failures.push(format!("{label}: expected route {}, {}", json_word(&route), describe()));
    }
    if let Some(stage) = e.stage
        && o.stage != Some(stage)
    {
        failures.push(format!("{label}: expected stage {}, {}", stage.as_str(), describe()));
    }
    if let Some(code) = e.code
        && o.code != Some(code)
    {
        failures.push(format!("{label}: expected code {}, {}", code.as_str(), describe()));
    }
    if let Some(m) = &e.message {
        let msg = o.message.clone().unwrap_or_default();
        if !msg.contains(m.as_str()) {
            failures.push(format!("{label}: expected the message to contain {m:?}, got {msg:?}"));
        }
    }
    for line in &e.log {
        if !r.log.iter().any(|l| l.contains(line.as_str())) {
            failures.push(format!("{label}: expected a log line containing {line:?}"));
        }
    }
}

fn json_word<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn check_arm(e: Option<&ArmExpect>, r: &ArmResponse, label: &str, failures: &mut Vec<String>) {
    let body = r.json_body();
    let code = body["error"]["code"].as_str().unwrap_or_default();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    let Some(e) = e else {
        if r.status >= 300 {
            failures.push(format!("{label}: expected success, got {} {code}: {message}", r.status));
        }
        return;
    };
    match e.status {
        Some(s) if r.status != s => failures.push(format!("{label}: expected status {s}, got {} {code}", r.status)),
        None if r.status >= 300 && e.code.is_none() => {
            failures.push(format!("{label}: expected success, got {} {code}: {message}", r.status));
        }
        _ => {}
    }
    if let Some(c) = &e.code
        && code != c
    {
        failures.push(format!("{label}: expected code {c}, got {:?} ({})", code, r.status));
    }
    if let Some(m) = &e.message
        && !message.contains(m.as_str())
    {
        failures.push(format!("{label}: expected the message to contain {m:?}, got {message:?}"));
    }
}

fn body_text(r: &ArmResponse) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// Talks to the environment's ARM as a client with a token.
struct Session<'a> {
    env: Target<'a>,
    token: String,
}

impl<'a> Session<'a> {
    fn new(env: Target<'a>) -> anyhow::Result<Session<'a>> {
        let token = match env {
            Target::Embedded(e) => e.arm.cfg.client_token(&e.arm.signer, 3600),
            Target::Docker(e) => e.cfg().client_token(e.signer(), 3600),
        };
        Ok(Session { env, token })
    }

    async fn send(&self, call: &ArmCall) -> anyhow::Result<ArmResponse> {
        let mut req =
            ArmRequest::new(&call.method, &call.path).header("authorization", &format!("Bearer {}", self.token));
        if let Some(b) = &call.body {
            req = req.json(b);
        }
        match self.env {
            Target::Embedded(env) => Ok(env.arm.handle(&req)),
            Target::Docker(env) => env.arm(&req).await.with_context(|| format!("{}: ARM did not answer", call.what)),
        }
    }

    /// Sends a call that must succeed; returns its body.
    async fn must(&self, call: &ArmCall) -> anyhow::Result<Value> {
        let r = self.send(call).await?;
        if !(200..300).contains(&r.status) {
            let b = r.json_body();
            bail!(
                "{} refused by ARM: {} {}: {}",
                call.what,
                r.status,
                b["error"]["code"].as_str().unwrap_or_default(),
                b["error"]["message"].as_str().unwrap_or(&body_text(&r))
            );
        }
        Ok(r.json_body())
    }

    async fn apply(&self, step: &PlanStep) -> anyhow::Result<()> {
        match step {
            PlanStep::Call(c) => {
                self.must(c).await?;
            }
            PlanStep::PushImages { registry, images, .. } => {
                for img in images {
                    self.push(registry, img).await?;
                }
            }
            PlanStep::CustomDns(spec) => self.custom_dns(spec).await?,
            PlanStep::AdminCredentials { step, .. }
            | PlanStep::RoleAssignment { step, .. }
            | PlanStep::UserIdentityClientId { step, .. } => {
                let answer = self.must(&step.lookup).await?;
                let call = step.complete(&answer).map_err(|e| anyhow!("{e}"))?;
                self.must(&call).await?;
            }
        }
        Ok(())
    }

    async fn push(&self, registry: &str, img: &ImageSpec) -> anyhow::Result<()> {
        let name = RepoName::parse(&img.repo).ok_or_else(|| anyhow!("'{}' is not a repository name", img.repo))?;
        let repo = Repo::new(registry, name).ok_or_else(|| anyhow!("'{registry}' is not a registry name"))?;
        let blobs = match self.env {
            Target::Embedded(env) => env.acr.blobs().as_ref(),
            Target::Docker(env) => env.blobs(),
        };
        let (layers, size) = (img.layers as usize, img.layer_size as usize);
        let what = || format!("pushing {registry}/{}:{}", img.repo, img.tag);
        if img.schema1 {
            // A Docker schema 1 manifest over one generated layer.
            let base = generate_image(img.seed, 1, size.max(1));
            push_image(blobs, &repo, &base, None).await.with_context(what)?;
            let m = json!({"schemaVersion": 1, "name": img.repo, "tag": img.tag, "architecture": "amd64",
                "fsLayers": [{"blobSum": base.layers[0].digest.as_str()}], "history": [{"v1Compatibility": "{}"}]});
            put_manifest_checked(
                blobs,
                &repo,
                bytes::Bytes::from(m.to_string()),
                Some(mock_azure::acr::oci::media::DOCKER_SCHEMA1),
                &Reference::Tag(img.tag.clone()),
            )
            .await
            .map_err(|e| anyhow!("{}: {e:?}", what()))?;
        } else if img.platforms.is_empty() {
            push_image(blobs, &repo, &generate_image(img.seed, layers, size), Some(&img.tag))
                .await
                .with_context(what)?;
        } else {
            let platforms: Vec<(&str, &str)> = img
                .platforms
                .iter()
                .map(|p| {
                    let mut it = p.split('/');
                    (it.next().unwrap_or("linux"), it.next().unwrap_or("amd64"))
                })
                .collect();
            push_index(blobs, &repo, &generate_index(img.seed, &platforms, layers, size), Some(&img.tag))
                .await
                .with_context(what)?;
        }
        Ok(())
    }

    async fn custom_dns(&self, spec: &CustomDnsSpec) -> anyhow::Result<()> {
        let upstream = match spec.upstream {
            Upstream::AzureDns => DnsUpstream::AzureDns,
            Upstream::Public => DnsUpstream::Public,
            Upstream::None => DnsUpstream::None,
        };
        let mut server = CustomServer::new(spec.address, &spec.vnet_id, upstream);
        server.conditional_forwarders = spec
            .forwarders
            .iter()
            .map(|f| ConditionalForwarder { zone: f.zone.clone(), targets: f.targets.clone() })
            .collect();
        match self.env {
            Target::Embedded(env) => {
                put_custom_server(&env.store, &env.arm.cfg.subscription_id, &spec.name, &server)
                    .map_err(|e| anyhow!("custom DNS server {}: {e}", spec.name))?;
            }
            Target::Docker(env) => env.custom_dns(&spec.name, server).await?,
        }
        Ok(())
    }
}
