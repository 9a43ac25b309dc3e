//! `pullsim rules` labels every rule with the confidence docs/confidence.md gives it beside
//! the fact it rests on (issue 16): a label cannot change without the list, nor a rule be
//! added without a line there.

use pullsim_tests::{pullsim_bin, repo_root};

/// `id → confidence` from docs/confidence.md's table.
fn listed() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo_root().join("docs/confidence.md")).expect("docs/confidence.md");
    text.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let id = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((id.to_string(), cells.get(2)?.to_string()))
        })
        .collect()
}

/// `id → confidence` from `pullsim rules` (lines `id [C] epochs …`).
fn printed() -> Vec<(String, String)> {
    let o = std::process::Command::new(pullsim_bin()).arg("rules").output().expect("running pullsim rules");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let (id, rest) = l.split_once(" [")?;
            let (label, rest) = rest.split_once(']')?;
            rest.starts_with(" epochs").then(|| (id.to_string(), label.to_string()))
        })
        .collect()
}

#[test]
fn every_rules_label_matches_the_list_kept_beside_the_facts() {
    let mut listed = listed();
    let mut printed = printed();
    assert!(printed.len() >= 20, "the rule table did not print: {printed:?}");
    listed.sort();
    printed.sort();
    let only_listed: Vec<_> = listed.iter().filter(|x| !printed.contains(x)).collect();
    let only_printed: Vec<_> = printed.iter().filter(|x| !listed.contains(x)).collect();
    assert!(
        only_listed.is_empty() && only_printed.is_empty(),
        "docs/confidence.md and `pullsim rules` disagree.\n in the list only: {only_listed:?}\n in the table only: {only_printed:?}"
    );
}

#[test]
fn the_unconfirmed_cases_of_issue_16_are_labelled_so() {
    let printed = printed();
    let label = |id: &str| printed.iter().find(|(i, _)| i == id).map(|(_, l)| l.as_str());
    assert_eq!(label("route.2022-03"), Some("C"));
    assert_eq!(label("route.property-false"), Some("U"));
    assert_eq!(label("acr.sku-endpoint-error"), Some("U"));
    assert_eq!(label("auth.mi-trusted-service"), Some("I"));
    assert_eq!(label("setting.spellings"), Some("U"));
}
