//! `pullsim import TEMPLATE`: an ARM template (written by hand, `az group export`'s output,
//! `az bicep build`'s JSON) deployed into a fake Azure of its own, embedded in this
//! process, and its site read back through that fake's ARM by `capture`'s reader and
//! written by `capture`'s emitter: the same scenario `pullsim capture` would write of the
//! same deployment in Azure. No `az`, no network beyond loopback.
//!
//! A template that names resources it does not create (an existing VNET, a registry of
//! another group) fails to deploy, as it would into an empty resource group; the failure
//! says which ID is missing, and `--before TEMPLATE` or `--fixture FILE` supply it.
//!
//! # Layout
//! - `params`: templates and parameters read as ARM and the Azure CLI read them.
//! - `failure`: a failed deployment's error tree, and the missing resources in it.

pub mod failure;
pub mod params;

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{Map, Value, json};

use self::failure::ArmFailure;
use self::params::InputError;
use crate::api::FakeAzure;
use crate::capture::client::ArmReader;
use crate::capture::emit::{self, Origin};

const GROUPS_API: &str = "2022-09-01";
const WEB_API: &str = "2024-11-01";

/// `pullsim import`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The ARM template (JSON; `az group export` and `az bicep build` output are templates).
    pub template: PathBuf,
    /// Parameters as `az deployment group create` takes them: a parameters file (`FILE` or
    /// `@FILE`, `{"parameters": {"p": {"value": …}}}`), inline JSON, or `KEY=VALUE` (typed
    /// by the template's declaration). Repeatable; later ones win.
    #[arg(long, short = 'p', value_name = "FILE|@FILE|KEY=VALUE")]
    pub parameters: Vec<String>,
    /// The resource group to deploy into (created first).
    #[arg(long, short = 'g', default_value = "imported")]
    pub resource_group: String,
    /// The resource group's location.
    #[arg(long, short = 'l', default_value = "westeurope")]
    pub location: String,
    /// The site to read when the template deploys several.
    #[arg(long)]
    pub site: Option<String>,
    /// A template deployed first, for resources TEMPLATE references but does not create
    /// (`GROUP:FILE` deploys it into GROUP, created in --location). Repeatable, in order.
    #[arg(long, value_name = "[GROUP:]TEMPLATE")]
    pub before: Vec<String>,
    /// A scenario or fixture file whose topology is built first (as `pullsim run` builds it).
    #[arg(long, value_name = "FILE")]
    pub fixture: Option<PathBuf>,
    /// Write the scenario here (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// A template to deploy and where.
struct Planned {
    group: String,
    path: PathBuf,
    template: Value,
}

/// `[GROUP:]FILE`: the group only when FILE alone is not a file.
fn before_arg(arg: &str, default_group: &str) -> Result<Planned, InputError> {
    let (group, path) = match arg.split_once(':') {
        Some((g, p)) if !Path::new(arg).exists() && !g.is_empty() => (g.to_string(), PathBuf::from(p)),
        _ => (default_group.to_string(), PathBuf::from(arg)),
    };
    let template = params::read_template(&path)?;
    Ok(Planned { group, path, template })
}

/// Runs `pullsim import`: 0 written, 1 a deployment failed (what and why on standard
/// error), an error (exit 2) for unusable input.
pub async fn run(args: ImportArgs) -> anyhow::Result<u8> {
    let template = params::read_template(&args.template)?;
    let (parameters, shown) = params::parameters(&template, &args.parameters)?;
    let befores: Vec<Planned> =
        args.before.iter().map(|b| before_arg(b, &args.resource_group)).collect::<Result<_, _>>()?;

    let mut azure = FakeAzure::start().await?;
    let result = import(&mut azure, &args, template, parameters, shown, befores).await;
    azure.stop().await?;
    let text = match result? {
        Ok(text) => text,
        Err(failed) => {
            eprint!("{failed}");
            return Ok(1);
        }
    };
    crate::capture::write_scenario(args.out.as_deref(), &text)?;
    Ok(0)
}

/// The scenario, or what to tell the user when a deployment failed.
async fn import(
    azure: &mut FakeAzure,
    args: &ImportArgs,
    template: Value,
    parameters: Map<String, Value>,
    shown: Vec<String>,
    befores: Vec<Planned>,
) -> anyhow::Result<Result<String, String>> {
    let mut before_shown = Vec::new();
    if let Some(f) = &args.fixture {
        azure.apply_file(f).await?;
        before_shown.push(format!("the fixture {}", f.display()));
    }
    for (i, b) in befores.iter().enumerate() {
        ensure_group(azure, &b.group, &args.location).await?;
        let name = format!("pullsim-before-{i}");
        if let Err(e) = deploy(azure, &b.group, &name, &b.template, &Map::new()).await? {
            let missing = missing(azure, &b.group, &name, &b.template, &Map::new(), &e).await?;
            return Ok(Err(failed(&b.path, &e, &missing)));
        }
        before_shown.push(format!("{} (in {})", b.path.display(), b.group));
    }
    let rg = &args.resource_group;
    ensure_group(azure, rg, &args.location).await?;
    let outputs = match deploy(azure, rg, "pullsim-import", &template, &parameters).await? {
        Ok(record) => record,
        Err(e) => {
            let missing = missing(azure, rg, "pullsim-import", &template, &parameters, &e).await?;
            return Ok(Err(failed(&args.template, &e, &missing)));
        }
    };
    let site = pick_site(azure, args, &outputs).await?;

    let ep = azure.endpoints().await?;
    let reader =
        ArmReader::service_principal(&ep.arm_url, &ep.ca_pem, &ep.tenant_id, &ep.client_id, &ep.client_secret).await?;
    let c = crate::capture::read::capture(&reader, &ep.subscription_id, rg, &site).await?;
    let origin =
        Origin::Import { template: args.template.display().to_string(), parameters: shown, before: before_shown };
    Ok(Ok(emit::scenario(&c, &ep.subscription_id, rg, &Default::default(), &origin)))
}

/// Creates the group unless it exists (a fixture may have made it).
async fn ensure_group(azure: &FakeAzure, rg: &str, location: &str) -> anyhow::Result<()> {
    let path = format!("resourcegroups/{rg}?api-version={GROUPS_API}");
    if azure.arm("GET", &path, None).await?.is_success() {
        return Ok(());
    }
    let r = azure.arm("PUT", &path, Some(&json!({ "location": location }))).await?;
    if !r.is_success() {
        let e = ArmFailure::from_json(&r.body);
        anyhow::bail!("creating resource group {rg} in {location}:\n{}", e.render());
    }
    Ok(())
}

fn deployment_path(rg: &str, name: &str, action: &str) -> String {
    format!("resourcegroups/{rg}/providers/Microsoft.Resources/deployments/{name}{action}?api-version={GROUPS_API}")
}

fn deployment_body(template: &Value, parameters: &Map<String, Value>) -> Value {
    json!({"properties": {"mode": "Incremental", "template": template, "parameters": parameters}})
}

/// Deploys a template into a group; the deployment record, or ARM's error.
async fn deploy(
    azure: &FakeAzure,
    rg: &str,
    name: &str,
    template: &Value,
    parameters: &Map<String, Value>,
) -> anyhow::Result<Result<Value, ArmFailure>> {
    let body = deployment_body(template, parameters);
    let r = azure.arm("PUT", &deployment_path(rg, name, ""), Some(&body)).await?;
    if !r.is_success() {
        return Ok(Err(ArmFailure::from_json(&r.body)));
    }
    let props = &r.body["properties"];
    match props["provisioningState"].as_str() {
        Some("Succeeded") => Ok(Ok(r.body)),
        _ => Ok(Err(ArmFailure::from_json(&props["error"]))),
    }
}

/// The resources a failed deployment names without creating them: the errors' targets
/// when they name them; when a "not found" error names none, the IDs the template's
/// resources reference (as what-if evaluates them) that neither the template creates nor
/// the subscription holds.
async fn missing(
    azure: &FakeAzure,
    rg: &str,
    name: &str,
    template: &Value,
    parameters: &Map<String, Value>,
    e: &ArmFailure,
) -> anyhow::Result<Vec<String>> {
    let mut ids = e.missing_resources();
    if !e.untargeted_missing() {
        return Ok(ids);
    }
    let body = deployment_body(template, parameters);
    let what_if = azure.arm("POST", &deployment_path(rg, name, "/whatIf"), Some(&body)).await?;
    let listed = azure.arm("GET", "resources?api-version=2021-04-01", None).await?;
    let existing: Vec<String> = listed.body["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect();
    for id in failure::outside_references(&what_if.body, &existing) {
        if !ids.iter().any(|i| i.eq_ignore_ascii_case(&id)) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// What the user reads when a deployment failed: ARM's error with every detail, then
/// each resource the template names without creating it.
fn failed(template: &Path, e: &ArmFailure, missing: &[String]) -> String {
    let mut o = format!("pullsim: the deployment of {} failed:\n{}", template.display(), e.render());
    for id in missing {
        o.push_str(&format!(
            "{} references {id}, which it does not create: supply it with --before TEMPLATE or --fixture FILE\n",
            template.display()
        ));
    }
    o
}

/// The site to read: `--site`, else the only one of the group; otherwise an error that
/// lists what there is.
async fn pick_site(azure: &FakeAzure, args: &ImportArgs, record: &Value) -> anyhow::Result<String> {
    let rg = &args.resource_group;
    let listed = azure
        .arm("GET", &format!("resourcegroups/{rg}/providers/Microsoft.Web/sites?api-version={WEB_API}"), None)
        .await?;
    let sites: Vec<String> = listed.body["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str().map(str::to_string))
        .collect();
    if let Some(want) = &args.site {
        return match sites.iter().find(|s| s.eq_ignore_ascii_case(want)) {
            Some(s) => Ok(s.clone()),
            None => anyhow::bail!(
                "there is no site {want} in what {} deployed (sites: {})",
                args.template.display(),
                list_or_none(&sites)
            ),
        };
    }
    match sites.as_slice() {
        [one] => Ok(one.clone()),
        [] => {
            let deployed: Vec<String> = record["properties"]["outputResources"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["id"].as_str())
                .map(|id| id.split_once("/providers/").map_or(id, |(_, rest)| rest).to_string())
                .collect();
            anyhow::bail!(
                "{} deploys no site (Microsoft.Web/sites), so there is no pull to import; it deployed: {}",
                args.template.display(),
                list_or_none(&deployed)
            )
        }
        many => anyhow::bail!(
            "{} deploys {} sites ({}): say which with --site NAME",
            args.template.display(),
            many.len(),
            many.join(", ")
        ),
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() { "nothing".into() } else { items.join(", ") }
}
