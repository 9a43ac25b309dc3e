//! `pullsim capture` against `pullsim serve` (issue 15), through the real Azure CLI's
//! login: for each configuration the capture's run gives the same verdict (pull, route,
//! stage, code) as the worker on the served state, the captured file holds no password
//! and no token, and an unreachable or unauthorized ARM fails with a clear message.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use pullsim_tests::{ArmClient, AzCli, Serve, pullsim_bin, pullsim_in, repo_root, two_at_a_time, verdict};
use serde_json::Value;

const SUB_RG_SITE: (&str, &str) = ("secureacrsetup", "secureacrweb2021");

/// Serves `file`, captures its site through the Azure CLI's login, and compares.
fn round_trip(file: &str, cell: Option<&str>, extra: &[&str]) -> Result<(), String> {
    let mut args = vec!["--load", file];
    if let Some(c) = cell {
        args.extend(["--cell", c]);
    }
    let serve = Serve::start_with(&args).map_err(|e| format!("{e:#}"))?;
    let az = AzCli::login(&serve).map_err(|e| format!("{e:#}"))?;
    let sub = serve.field("subscription_id");
    let rules = serve.field("rules");
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = work.path().join("captured.toml");
    let line = format!(
        "{} capture --subscription {sub} --resource-group {} --site {} --out {} {}",
        pullsim_bin().display(),
        SUB_RG_SITE.0,
        SUB_RG_SITE.1,
        out.display(),
        extra.join(" ")
    );
    let (code, _, err) = az.sh(&line).map_err(|e| format!("{e:#}"))?;
    if code != 0 {
        return Err(format!("capture failed ({code}): {err}"));
    }
    let text = std::fs::read_to_string(&out).map_err(|e| e.to_string())?;
    // No secret: neither of the registry's passwords, nor the CLI's token.
    let arm = ArmClient::login(&serve).map_err(|e| format!("{e:#}"))?;
    let creds = arm
        .call("POST", &format!("/subscriptions/{{sub}}/resourceGroups/{}/providers/Microsoft.ContainerRegistry/registries/secureacr2021/listCredentials?api-version=2023-07-01", SUB_RG_SITE.0), None)
        .map_err(|e| format!("{e:#}"))?
        .json();
    for p in creds["passwords"].as_array().into_iter().flatten() {
        let pw = p["value"].as_str().unwrap_or_default();
        if !pw.is_empty() && text.contains(pw) {
            return Err(format!("the captured file holds a registry password:\n{text}"));
        }
    }
    let (_, token, _) =
        az.sh("az account get-access-token --query accessToken -o tsv").map_err(|e| format!("{e:#}"))?;
    let token = token.trim();
    if token.len() < 20 || text.contains(token) || text.contains("eyJ") {
        return Err(format!("the captured file holds a token (or none was issued):\n{text}"));
    }
    // The capture's run under the served epoch = the worker's verdict on the served state.
    let want = match cell {
        None => verdict(&repo_root(), file, None),
        Some(c) => {
            let out = pullsim_in(&repo_root(), &["run", file, "--filter", c, "--format", "json"]);
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            let o = &v["results"][0]["outcome"];
            let f = |k: &str| o[k].as_str().unwrap_or("-").to_string();
            (f("pull"), f("route"), f("stage"), f("code"))
        }
    };
    let got = verdict(work.path(), out.to_str().unwrap(), Some(&rules));
    if got != want {
        return Err(format!("served {want:?}, captured {got:?}; the capture:\n{text}"));
    }
    Ok(())
}

#[test]
fn captured_scenarios_give_the_served_verdict_and_hold_no_secret() {
    let cases: Vec<(&str, Option<&str>, Vec<&str>)> = vec![
        ("scenarios/seed/a8-private-address-over-vnet.toml", None, vec![]),
        ("scenarios/seed/a1-vnet-integration-required.toml", None, vec![]),
        ("scenarios/seed/a6-route-all-off-2021-07.toml", None, vec![]),
        ("scenarios/seed/a2-endpoint-in-a-peered-vnet.toml", None, vec![]),
        ("scenarios/seed/a2-endpoint-in-an-unpeered-vnet.toml", None, vec![]),
        ("scenarios/seed/a4-admin-user-disabled.toml", None, vec![]),
        ("scenarios/seed/a4-managed-identity-without-acrpull.toml", None, vec![]),
        ("scenarios/seed/a9-zone-delete-needs-links-gone.toml", None, vec![]),
        ("scenarios/seed/common/client-id-vs-resource-id.toml", None, vec![]),
        ("scenarios/seed/common/route-all-only-2024-11.toml", None, vec![]),
        ("scenarios/seed/common/stale-admin-password.toml", None, vec![]),
        ("scenarios/seed/common/stale-link-after-deleting-endpoint.toml", None, vec![]),
        ("scenarios/seed/common/zone-not-linked-to-integration-vnet.toml", None, vec![]),
        ("scenarios/seed/common/data-endpoint-record-missing.toml", None, vec![]),
        (
            "scenarios/seed/common/custom-dns-forwarding.toml",
            Some("upstream=AzureDns"),
            vec!["--dns-forwarder", "10.0.3.4=168.63.129.16"],
        ),
        (
            "scenarios/seed/common/custom-dns-forwarding.toml",
            Some("upstream=None"),
            vec!["--dns-forwarder", "10.0.3.4=none"],
        ),
    ];
    let results = two_at_a_time(&cases, |(f, c, extra)| (format!("{f} {c:?}"), round_trip(f, *c, extra)));
    let failed: Vec<String> =
        results.iter().filter_map(|(n, r)| r.as_ref().err().map(|e| format!("{n}: {e}"))).collect();
    assert!(failed.is_empty(), "{} of {} captures differ:\n{}", failed.len(), results.len(), failed.join("\n\n"));
}

#[test]
fn capture_says_clearly_when_arm_is_unreachable_or_refuses_the_token() {
    let serve = Serve::start_with(&["--load", "scenarios/fixtures/recipe-2021.toml"]).unwrap();
    let az = AzCli::login(&serve).unwrap();
    let sub = serve.field("subscription_id");
    let bin = pullsim_bin();
    // Nothing listens there.
    let (code, _, err) = az
        .sh(&format!(
            "{} capture --subscription {sub} --resource-group secureacrsetup --site secureacrweb2021 --arm-url https://127.0.0.1:9/",
            bin.display()
        ))
        .unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot reach ARM at https://127.0.0.1:9/"), "{err}");
    // Another fake Azure, trusted (both CAs in the bundle): its ARM does not know this
    // CLI's token.
    let other = Serve::start().unwrap();
    let work = tempfile::tempdir().unwrap();
    let bundle = work.path().join("both.pem");
    let pem = |p: std::path::PathBuf| std::fs::read_to_string(p).unwrap();
    std::fs::write(&bundle, format!("{}\n{}", pem(serve.ca_path()), pem(other.ca_path()))).unwrap();
    let (code, _, err) = az
        .sh(&format!(
            "REQUESTS_CA_BUNDLE={} {} capture --subscription {sub} --resource-group secureacrsetup --site secureacrweb2021 --arm-url {}",
            bundle.display(),
            bin.display(),
            other.base_url()
        ))
        .unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("ARM refused the request GET") && err.contains("401 InvalidAuthenticationToken"), "{err}");
    assert!(err.contains("az login"), "{err}");
    // A site that does not exist.
    let (code, _, err) = az
        .sh(&format!("{} capture --subscription {sub} --resource-group secureacrsetup --site nosuchapp", bin.display()))
        .unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("there is no site nosuchapp in resource group secureacrsetup"), "{err}");
}
