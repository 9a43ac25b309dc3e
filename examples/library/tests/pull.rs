//! pullsim from a team's test suite, through its public API only: the July 2021 recipe
//! pulls; with route-all off the pull leaves publicly and the ACR firewall refuses it;
//! `explain` names the rule that decided the route.

use pullsim::{Code, Epoch, FakeAzure, RouteKind, Stage};

/// pullsim's fixtures (a team would keep its own beside its scenarios).
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios/fixtures");
const OUR_SCENARIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/route-all-off.toml");

async fn july_2021() -> FakeAzure {
    FakeAzure::builder()
        .with_rules(Epoch::E2021_07)
        .with_fixture_dir(FIXTURES)
        .start()
        .await
        .expect("the fake Azure starts")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_recipe_pulls_and_route_all_off_is_refused_by_the_firewall() {
    let mut azure = july_2021().await;
    let applied = azure.apply_file(format!("{FIXTURES}/recipe-2021.toml")).await.expect("the recipe applies");
    let site = applied.site_id.expect("the recipe has a site");

    let pull = azure.pull().await.expect("the pull runs");
    assert!(pull.succeeded(), "{}", pull.explain());
    assert_eq!(pull.outcome.route, Some(RouteKind::Vnet));
    assert!(pull.manifest_digest.as_deref().is_some_and(|d| d.starts_with("sha256:")));

    // What `az webapp config set --vnet-route-all-enabled false` sends.
    let body = serde_json::json!({"properties": {"vnetRouteAllEnabled": false}});
    let answer = azure.arm("PUT", &format!("{site}/config/web?api-version=2022-03-01"), Some(&body)).await.unwrap();
    assert!(answer.is_success(), "{answer:?}");

    let pull = azure.pull().await.expect("the pull runs");
    assert!(!pull.succeeded());
    assert_eq!(pull.outcome.route, Some(RouteKind::Public));
    assert_eq!(pull.outcome.stage, Some(Stage::Firewall));
    assert_eq!(pull.outcome.code, Some(Code::AcrFirewallDenied));
    assert!(pull.outcome.message.as_deref().is_some_and(|m| m.contains("is not allowed access")), "{:?}", pull.outcome);

    // The route step names the setting and the rule that sent the pull out publicly.
    let route = pull.trace.steps.iter().find(|s| s.stage == Stage::Route).expect("a route step");
    let rule = route.rule.expect("the route step names its rule");
    assert!(route.decided_by.as_deref().is_some_and(|d| d.contains("route-all off")), "{route:?}");
    assert!(rule.starts_with("route."), "{route:?}");
    let story = pull.explain();
    assert!(story.contains(&format!("rule {rule} ")), "{story}");
    assert!(story.contains("Outcome: the pull FAILED at firewall with ACR_FIREWALL_DENIED"), "{story}");
    azure.stop().await.expect("it stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn our_scenario_file_gives_the_same_refusal() {
    let mut azure = july_2021().await;
    let applied = azure.apply_file(OUR_SCENARIO).await.expect("our scenario applies");
    assert_eq!(applied.name, "Route-all off in July 2021");
    assert_eq!(applied.rules, Epoch::E2021_07);
    let pull = azure.pull().await.expect("the pull runs");
    assert_eq!((pull.outcome.stage, pull.outcome.code), (Some(Stage::Firewall), Some(Code::AcrFirewallDenied)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_scenario_is_refused_with_its_line_and_column() {
    let mut azure = july_2021().await;
    let err =
        azure.apply_toml("name = \"typo\"\nfixture = \"recipe-2021\"\n[site]\nimgae = \"x\"\n").await.unwrap_err();
    let pullsim::Error::InvalidScenario { rendered } = &err else { panic!("{err}") };
    assert!(rendered.contains("scenario.toml:4:1"), "{rendered}");
    assert!(rendered.contains("image"), "a did-you-mean: {rendered}");
    // Nothing was built: there is no site to pull.
    assert!(matches!(azure.pull().await, Err(pullsim::Error::NoSite)));
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoints_name_arm_the_ca_and_a_vantage_point_per_vnet() {
    let mut azure = july_2021().await;
    azure.apply_file(format!("{FIXTURES}/recipe-2021.toml")).await.unwrap();
    let e = azure.endpoints().await.unwrap();
    assert!(e.arm_url.starts_with("https://127.0.0.1:") && e.arm_url.ends_with('/'), "{}", e.arm_url);
    assert!(e.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(std::fs::read_to_string(&e.ca_file).unwrap(), e.ca_pem);
    let from = e.vantage_points.iter().map(|v| v.from.as_str()).collect::<Vec<_>>();
    assert_eq!(from, ["internet", "vnet/integration"]);
    assert_eq!(e.vantage("vnet/integration").unwrap().modeled.to_string(), "10.0.1.4");
    let cli = e.azure_cli_setup();
    assert_eq!(cli[0][..2], ["cloud", "register"]);
    assert!(cli[2].contains(&e.client_secret));
    // Dropping it stops every server: ARM's port is free again.
    let port: u16 = e.arm_url.trim_end_matches('/').rsplit(':').next().unwrap().parse().unwrap();
    drop(azure);
    let mut free = false;
    for _ in 0..100 {
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            free = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(free, "ARM still listens on {port} after the drop");
    assert!(!e.ca_file.exists(), "the CA file is removed with it");
}
