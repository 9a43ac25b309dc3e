//! Deploys a template file into an in-memory map of resources and prints the plan, the
//! operations and the outputs; with `--repeat N`, times N prepare+execute runs.
//!
//! ```text
//! cargo run --release -p arm-template --example deploy -- template.json [parameters.json] [--repeat 1000]
//! ```

use std::collections::BTreeMap;
use std::time::Instant;

use arm_template::{
    Context, Deployment, Host, HostError, PutRequest, PutResponse, ResourceGroup, Template, read_parameters,
};
use serde_json::{Value, json};

/// The simplest host: a map of IDs to what was PUT.
#[derive(Default)]
struct MapHost(BTreeMap<String, Value>);

impl Host for MapHost {
    fn put(&mut self, r: &PutRequest<'_>) -> Result<PutResponse, HostError> {
        let mut v = r.body.clone();
        v["id"] = json!(r.id);
        v["type"] = json!(r.resource_type);
        self.0.insert(r.id.to_ascii_lowercase(), v.clone());
        Ok(PutResponse { status: 201, body: v })
    }

    fn get(&mut self, id: &str, _api: Option<&str>) -> Result<Option<Value>, HostError> {
        Ok(self.0.get(&id.to_ascii_lowercase()).cloned())
    }

    fn post(&mut self, id: &str, action: &str, _api: &str, _body: Option<&Value>) -> Result<Value, HostError> {
        Err(HostError::new(404, "ResourceNotFound", format!("No action {action} on {id}")))
    }

    fn resource_group(&mut self, _sub: &str, name: &str) -> Result<Option<ResourceGroup>, HostError> {
        Ok(Some(ResourceGroup::new(name, "westeurope")))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let repeat =
        args.iter().position(|a| a == "--repeat").and_then(|i| args.get(i + 1)).map_or(Ok(0), |n| n.parse())?;
    let files: Vec<&String> = args.iter().take_while(|a| *a != "--repeat").collect();
    let Some(template_path) = files.first() else {
        eprintln!("usage: deploy TEMPLATE [PARAMETERS] [--repeat N]");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(template_path)?;
    let params = match files.get(1) {
        Some(p) => read_parameters(&serde_json::from_str(&std::fs::read_to_string(p)?)?)?,
        None => Default::default(),
    };
    let ctx = || {
        Context::resource_group(
            "72f988bf-0000-4000-8000-00000000c0de",
            "00000000-0000-4000-8000-000000000001",
            ResourceGroup::new("secureacrsetup", "westeurope"),
            "example",
            "2021-07-03T12:00:00Z",
        )
    };
    let run = || -> Result<_, arm_template::TemplateError> {
        let d = Deployment::prepare(Template::parse(&text)?, params.clone(), ctx())?;
        let waves = d.waves();
        let mut host = MapHost::default();
        Ok((waves, d.execute(&mut host)))
    };
    let (waves, result) = match run() {
        Ok(r) => r,
        Err(e) => {
            println!("{}", serde_json::to_string_pretty(&json!({"error": e.to_json()}))?);
            std::process::exit(1);
        }
    };
    for (i, w) in waves.iter().enumerate() {
        println!("wave {i}: {}", w.join(", "));
    }
    for op in &result.operations {
        let target = op.target.as_ref().map_or("(outputs)", |t| t.id.as_str());
        println!(
            "{} {} {} {target}",
            op.provisioning_operation.as_str(),
            op.provisioning_state.as_str(),
            op.status_code_name()
        );
    }
    println!("{}", serde_json::to_string_pretty(&result.properties_json())?);
    if repeat > 0 {
        let start = Instant::now();
        for _ in 0..repeat {
            run()?;
        }
        let each = start.elapsed() / repeat;
        println!("{repeat} runs of prepare + execute: {each:?} each");
    }
    Ok(())
}
