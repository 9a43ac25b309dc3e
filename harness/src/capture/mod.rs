//! `pullsim capture`: a live site's configuration, read through ARM with the user's own
//! Azure CLI login, written as a self-contained scenario (no secrets, today's rules, no
//! expectation). It works the same against Azure and against `pullsim serve`.
//!
//! # Layout
//! - `client`: ARM over HTTPS with a token from `az account get-access-token`.
//! - `read`: everything the pull depends on, followed from the site.
//! - `emit`: the scenario text, each resource commented with the ID it came from.

pub mod client;
pub mod emit;
pub mod read;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

/// `pullsim capture`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct CaptureArgs {
    /// The subscription's ID.
    #[arg(long)]
    pub subscription: String,
    /// The site's resource group.
    #[arg(long)]
    pub resource_group: String,
    /// The site's name.
    #[arg(long)]
    pub site: String,
    /// Write the scenario here (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// ARM's endpoint (default: the Azure CLI's current cloud).
    #[arg(long, value_name = "URL")]
    pub arm_url: Option<String>,
    /// What a custom DNS server forwards to (`10.0.3.4=168.63.129.16`, `=8.8.8.8` for a
    /// public resolver, `=none`); ARM does not know it. Repeatable.
    #[arg(long, value_name = "IP=TARGET", value_parser = parse_forwarder)]
    pub dns_forwarder: Vec<(Ipv4Addr, String)>,
}

fn parse_forwarder(s: &str) -> Result<(Ipv4Addr, String), String> {
    let (ip, target) = s.split_once('=').ok_or_else(|| format!("expected IP=TARGET, found '{s}'"))?;
    let ip = ip.trim().parse().map_err(|_| format!("'{ip}' is not an IPv4 address"))?;
    Ok((ip, target.trim().to_string()))
}

/// Runs `pullsim capture`.
pub async fn run(args: CaptureArgs) -> anyhow::Result<u8> {
    let arm = client::ArmReader::from_az(&args.subscription, args.arm_url.as_deref()).await?;
    let c = read::capture(&arm, &args.subscription, &args.resource_group, &args.site).await?;
    let forwarders: BTreeMap<Ipv4Addr, String> = args.dns_forwarder.into_iter().collect();
    let text = emit::scenario(&c, &args.subscription, &args.resource_group, &forwarders, &emit::Origin::Capture);
    write_scenario(args.out.as_deref(), &text)?;
    Ok(0)
}

/// Writes a captured or imported scenario to `out` (saying how to run it), or to
/// standard output.
pub fn write_scenario(out: Option<&std::path::Path>, text: &str) -> anyhow::Result<()> {
    match out {
        Some(p) => {
            std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?;
            eprintln!("pullsim: wrote {} (run it: pullsim run {})", p.display(), p.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}
