//! `pullsim capture` round trip on configurations built with the real Azure CLI (issue
//! 15): the July 2021 recipe deployed with `az deployment group create` into one `pullsim
//! serve`, then changed one way after another with everyday `az` commands (a public
//! resolver, a renewed password, the admin user off, a managed identity with and without
//! AcrPull, route-all off, the image pull off the VNET, public access with IP rules, the
//! zone's link and the endpoint's zone group removed, a custom DNS server). For each
//! configuration the site is restarted and the platform's pull is read from its
//! container log; the captured scenario's run must show the same pull, line for line
//! (the route, the stage and Azure's message are all in those lines), and the captured
//! file holds no password and no token.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::time::{Duration, Instant};

use pullsim_tests::{ArmClient, AzCli, Serve, pullsim_bin, pullsim_in, push_image, repo_root};
use serde_json::Value;

const RG: &str = "secureacrsetup";
const ACR: &str = "secureacr2021";
const APP: &str = "secureacrweb2021";

/// One configuration: `az` lines that make it from the one before, and whether the platform's pull succeeds there (`None`: the rules epoch
/// decides; the comparison alone holds it).
struct Config {
    name: &'static str,
    az: Vec<String>,
    pulls: Option<bool>,
}

fn config(name: &'static str, az: &[&str], pulls: Option<bool>) -> Config {
    Config { name, az: az.iter().map(|l| l.to_string()).collect(), pulls }
}

/// A log line without the platform's timestamp: from its level on.
fn unstamped(line: &str) -> &str {
    ["INFO  - ", "ERROR - ", "WARN  - "].iter().filter_map(|lvl| line.find(lvl)).min().map_or(line, |i| &line[i..])
}

/// The lines of the last pull in a docker log (from its "Pulling image" line), once it
/// has ended; `None` while it runs.
fn last_pull(log: &str) -> Option<Vec<String>> {
    let lines: Vec<&str> = log.lines().map(unstamped).collect();
    let start = lines.iter().rposition(|l| l.starts_with("INFO  - Pulling image"))?;
    let pull: Vec<String> = lines[start..].iter().map(|l| l.to_string()).collect();
    let ended = pull.iter().any(|l| l.contains("Pull Image successful") || l.contains("Image pull failed: Verify"));
    ended.then_some(pull)
}

struct Lab {
    serve: Serve,
    az: AzCli,
    arm: ArmClient,
    work: tempfile::TempDir,
    /// The CLI's access token (the one `pullsim capture` uses).
    token: String,
}

impl Lab {
    /// Runs `az` lines with a shell (command substitution allowed); each must succeed.
    fn run(&self, lines: &[String]) {
        for line in lines {
            let (code, out, err) = self.az.sh(line).unwrap();
            assert_eq!(code, 0, "`{line}` failed:\n{out}\n{err}");
        }
    }

    fn log(&self) -> String {
        let path =
            format!("/subscriptions/{{sub}}/resourceGroups/{RG}/providers/Microsoft.Web/sites/{APP}/containerlogs");
        self.arm.call("POST", &path, None).unwrap().body
    }

    /// Restarts the site (as `az webapp restart`) and returns the lines of the pull the
    /// platform makes after it.
    fn served_pull(&self) -> Vec<String> {
        let starts = |log: &str| log.matches("Pulling image").count();
        let before = starts(&self.log());
        self.run(&[format!("az webapp restart -g {RG} -n {APP}")]);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let log = self.log();
            if starts(&log) > before
                && let Some(pull) = last_pull(&log)
            {
                return pull;
            }
            assert!(Instant::now() < deadline, "no pull ended after the restart:\n{log}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Captures the site through the Azure CLI's login, checks the file holds no secret,
    /// runs it under the served rules, and returns its App Service log and the file.
    fn captured_pull(&self, name: &str) -> (Vec<String>, String) {
        let slug: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        let file = self.work.path().join(format!("{slug}.toml"));
        let line = format!(
            "{} capture --subscription {} --resource-group {RG} --site {APP} --out {}",
            pullsim_bin().display(),
            self.serve.field("subscription_id"),
            file.display()
        );
        let (code, _, err) = self.az.sh(&line).unwrap();
        assert_eq!(code, 0, "{name}: capture failed: {err}");
        let text = std::fs::read_to_string(&file).unwrap();
        self.assert_no_secret(name, &text);
        let rules = self.serve.field("rules");
        let out = pullsim_in(self.work.path(), &["run", file.to_str().unwrap(), "--rules", &rules, "--format", "json"]);
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{name}: run: {e}: {}", String::from_utf8_lossy(&out.stderr)));
        let log = v["results"][0]["log"].as_array().unwrap_or_else(|| panic!("{name}: no log in {v}"));
        let lines: Vec<String> = log.iter().map(|l| unstamped(l.as_str().unwrap()).to_string()).collect();
        (lines, text)
    }

    fn assert_no_secret(&self, name: &str, text: &str) {
        let (_, pws, _) =
            self.az.sh(&format!("az acr credential show -n {ACR} --query 'passwords[].value' -o tsv")).unwrap();
        for pw in pws.lines().map(str::trim).filter(|p| !p.is_empty()) {
            assert!(!text.contains(pw), "{name}: the captured file holds a registry password:\n{text}");
        }
        let token = &self.token;
        assert!(!text.contains(token) && !text.contains("eyJ"), "{name}: the captured file holds a token:\n{text}");
    }
}

/// The recipe, built with the real Azure CLI: the registry open, an image pushed with
/// skopeo, then the recipe template closing it.
fn recipe() -> Lab {
    let serve = Serve::start().unwrap();
    let az = AzCli::login(&serve).unwrap();
    let arm = ArmClient::login(&serve).unwrap();
    let work = tempfile::Builder::new().prefix("pullsim-capture-az-").tempdir().unwrap();
    let template = |f: &str| repo_root().join("tests/templates").join(f);
    az.ok(&["group", "create", "-n", RG, "-l", "westeurope"]).unwrap();
    az.deploy_group(RG, "registry", &template("registry.json"), &[&format!("registryName={ACR}")]).unwrap();
    let creds = az.ok(&["acr", "credential", "show", "-n", ACR]).unwrap();
    push_image(&serve, work.path(), ACR, ACR, creds["passwords"][0]["value"].as_str().unwrap());
    let params = [format!("registryName={ACR}"), format!("siteName={APP}")];
    az.deploy_group(RG, "recipe", &template("recipe.json"), &[&params[0], &params[1]]).unwrap();
    let (_, token, _) = az.sh("az account get-access-token --query accessToken -o tsv").unwrap();
    let token = token.trim().to_string();
    assert!(token.len() > 20, "no token from the CLI");
    Lab { serve, az, arm, work, token }
}

/// The configurations, in order: each is made from the one before by its `az` lines.
fn configurations() -> Vec<Config> {
    let site = format!("-g {RG} -n {APP}");
    let password = |i: usize| format!("\"$(az acr credential show -n {ACR} --query 'passwords[{i}].value' -o tsv)\"");
    vec![
        config("recipe", &[], Some(true)),
        config(
            "public resolver in WEBSITE_DNS_SERVER",
            &[&format!("az webapp config appsettings set {site} --settings WEBSITE_DNS_SERVER=8.8.8.8")],
            Some(false),
        ),
        config(
            "renewed admin password (the site's is stale)",
            &[
                &format!("az webapp config appsettings delete {site} --setting-names WEBSITE_DNS_SERVER"),
                &format!("az acr credential renew -n {ACR} --password-name password"),
            ],
            Some(false),
        ),
        config(
            "the site holds the second password",
            &[&format!(
                "az webapp config appsettings set {site} --settings DOCKER_REGISTRY_SERVER_PASSWORD={}",
                password(1)
            )],
            Some(true),
        ),
        config("admin user disabled", &[&format!("az acr update -n {ACR} --admin-enabled false")], Some(false)),
        config(
            "managed identity without AcrPull",
            &[
                &format!("az webapp identity assign {site}"),
                &format!("az webapp config set {site} --acr-use-identity true"),
            ],
            Some(false),
        ),
        config(
            "managed identity with AcrPull",
            &[&format!(
                "az role assignment create --role AcrPull --assignee-principal-type ServicePrincipal \
                 --assignee-object-id \"$(az webapp identity show {site} --query principalId -o tsv)\" \
                 --scope \"$(az acr show -n {ACR} --query id -o tsv)\""
            )],
            Some(true),
        ),
        config("route-all off", &[&format!("az webapp config set {site} --vnet-route-all-enabled false")], None),
        config(
            "image pull off the VNET",
            &[
                &format!("az webapp config set {site} --vnet-route-all-enabled true"),
                &format!("az webapp config appsettings set {site} --settings WEBSITE_PULL_IMAGE_OVER_VNET=false"),
            ],
            Some(false),
        ),
        config(
            "public access with an IP rule for another address",
            &[
                &format!("az acr update -n {ACR} --public-network-enabled true --default-action Deny"),
                &format!("az acr network-rule add -n {ACR} --ip-address 203.0.113.7"),
            ],
            Some(false),
        ),
        config(
            "public access with an IP rule for the site's outbound address",
            &[&format!(
                "az acr network-rule add -n {ACR} --ip-address \
                 \"$(az webapp show {site} --query outboundIpAddresses -o tsv | cut -d, -f1)\""
            )],
            None,
        ),
        config(
            "zone not linked to the integration VNET",
            &[
                &format!("az acr update -n {ACR} --public-network-enabled false"),
                &format!("az webapp config appsettings set {site} --settings WEBSITE_PULL_IMAGE_OVER_VNET=true"),
                &format!("az network private-dns link vnet delete -g {RG} -z privatelink.azurecr.io -n acrlink --yes"),
            ],
            Some(false),
        ),
        config(
            "endpoint's zone group removed",
            &[
                &format!(
                    "az network private-dns link vnet create -g {RG} -z privatelink.azurecr.io -n acrlink -v vnet -e false"
                ),
                &format!("az network private-endpoint dns-zone-group delete -g {RG} --endpoint-name acr-pe -n default"),
            ],
            Some(false),
        ),
        config(
            "custom DNS server the VNET names, unreachable",
            &[
                &format!(
                    "az network private-endpoint dns-zone-group create -g {RG} --endpoint-name acr-pe -n default \
                     --private-dns-zone privatelink.azurecr.io --zone-name acr"
                ),
                &format!("az network vnet update -g {RG} -n vnet --dns-servers 10.0.3.4"),
            ],
            Some(false),
        ),
    ]
}

#[test]
fn captures_of_configurations_built_with_the_azure_cli_pull_as_the_platform_did() {
    let lab = recipe();
    let configs = configurations();
    let mut differ = vec![];
    let mut failures = std::collections::BTreeSet::new();
    for c in &configs {
        lab.run(&c.az);
        let served = lab.served_pull();
        let succeeded = served.iter().any(|l| l.contains("Pull Image successful"));
        if let Some(want) = c.pulls {
            assert_eq!(succeeded, want, "{}: the platform's pull:\n{}", c.name, served.join("\n"));
        }
        if !succeeded {
            failures.insert(served.iter().find(|l| l.contains("DockerApiException")).cloned().unwrap_or_default());
        }
        let (captured, text) = lab.captured_pull(c.name);
        if captured != served {
            differ.push(format!(
                "{}:\n  served:\n    {}\n  captured:\n    {}\n  the capture:\n{text}",
                c.name,
                served.join("\n    "),
                captured.join("\n    ")
            ));
        }
    }
    assert!(configs.len() >= 12);
    assert!(failures.len() >= 4, "the failing configurations should fail in different ways: {failures:#?}");
    assert!(differ.is_empty(), "{} of {} captures differ:\n{}", differ.len(), configs.len(), differ.join("\n\n"));
}
