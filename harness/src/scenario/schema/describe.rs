//! The scenario format as a JSON Schema (draft-04: the newest draft taplo, the engine of
//! VS Code's "Even Better TOML", reads), for editors: completion, hover text and checks as
//! you type. `pullsim schema` prints it; `docs/scenario.schema.json` is its copy.
//!
//! The loader has no declarative description: each table is read key by key. So this
//! module describes the tables once more, but every closed set of words comes from the
//! types the loader parses them with (epochs, SKUs, codes, stages, roles…), the site's
//! ARM keys from the same tables the loader reads them by ([`SITE_CONFIG`],
//! [`SITE_PROPERTIES`]), and a test walks every seed scenario, fixture and documented
//! example with the loader recording the keys each table asked for (`record_known`):
//! each table's keys here must be those, so a key added to the loader and not here fails.
//! The schema checks shape (keys, types, words); references and addresses are the
//! loader's (`pullsim run` reports them with file:line:column).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use mock_azure::appservice::rules::Epoch;
use mock_azure::appservice::trace::{Code, Stage};
use serde_json::{Map, Value, json};

use super::azure::{SITE_CONFIG, SITE_PROPERTIES, Ty};
use crate::scenario::model::*;

/// What a key holds.
pub(crate) enum Kind {
    Str,
    Words(Vec<String>),
    Bool,
    Int(u64, u64),
    Strs,
    StrOrStrs,
    Table(Table),
    Tables(Table),
    /// `[registry]` or `[[registry]]`.
    TableOrTables(Table),
    /// Keys of the user's choosing, scalar values (`[site.app_settings]`).
    StrMap,
    /// Any table (a step's JSON body, an axis value's `set`, a cell's `when`).
    AnyTable,
    /// An axis value: a scalar or a `[[matrix.axis]].values` table.
    AxisValues(Table),
}

/// A table as the loader reads it: its context (as the loader names it in errors) and
/// its keys.
pub(crate) struct Table {
    pub ctx: String,
    pub keys: Vec<(&'static str, Kind, &'static str)>,
    /// An entry of a list a scenario merges over its fixture's: `remove = true` (read by
    /// the merge, before the loader's walk) deletes the fixture's entry.
    pub removable: bool,
}

fn t(ctx: &str, keys: Vec<(&'static str, Kind, &'static str)>) -> Table {
    Table { ctx: ctx.to_string(), keys, removable: false }
}

fn merged(ctx: &str, keys: Vec<(&'static str, Kind, &'static str)>) -> Table {
    Table { ctx: ctx.to_string(), keys, removable: true }
}

fn words(w: Vec<&'static str>) -> Kind {
    Kind::Words(w.into_iter().map(str::to_string).collect())
}

/// The ARM keys of `[site.config]`, `[site.properties]` and their inner tables.
fn arm_table(ctx: &str, keys: &'static [(&'static str, Ty)]) -> Table {
    let keys = keys
        .iter()
        .map(|(k, ty)| {
            let kind = match ty {
                Ty::Bool => Kind::Bool,
                Ty::Str => Kind::Str,
                Ty::Int => Kind::Int(0, i64::MAX as u64),
                Ty::Ipv4List => Kind::Strs,
                Ty::Table(inner) => Kind::Table(arm_table(&format!("{}.{k}]", ctx.trim_end_matches(']')), inner)),
            };
            (*k, kind, "")
        })
        .collect();
    t(ctx, keys)
}

/// The expectation keys (`[expect]`, a pull step's `expect`, a matrix cell).
fn expect_keys() -> Vec<(&'static str, Kind, &'static str)> {
    vec![
        ("pull", words(PullOutcome::words()), "success or failure"),
        ("route", words(vec!["vnet", "public"]), "the route the pull took"),
        ("stage", words(Stage::ALL.iter().map(|s| s.as_str()).collect()), "the stage a failed pull stopped at"),
        ("code", Kind::Words(Code::ALL.iter().map(|c| c.as_str()).collect()), "the stable failure code"),
        ("message", Kind::Str, "a text the failure's message contains"),
        ("log", Kind::Strs, "texts App Service's log contains, in order"),
    ]
}

/// The whole format: the root table.
pub(crate) fn root() -> Table {
    let roles: Vec<&'static str> = mock_azure::arm::roles::ROLES.iter().map(|r| r.name).collect();
    let mut step_expect = vec![
        ("status", Kind::Int(100, 599), "the HTTP status ARM answers"),
        ("code", Kind::Str, "ARM's error code"),
        ("message", Kind::Str, "a text ARM's message contains"),
    ];
    step_expect.extend(expect_keys().into_iter().filter(|(k, _, _)| !["code", "message"].contains(k)));
    t(
        "",
        vec![
            ("name", Kind::Str, "the scenario's name"),
            ("description", Kind::Str, "what it shows"),
            ("rules", Kind::Words(Epoch::ALL.iter().map(|e| e.as_str().to_string()).collect()), "the rule epoch"),
            ("fixture", Kind::Str, "the fixture this scenario changes (scenarios/fixtures/NAME.toml)"),
            ("unset", Kind::Strs, "paths removed from the fixture (site.config.vnetRouteAllEnabled)"),
            (
                "matrix",
                Kind::Table(t(
                    "[matrix]",
                    vec![
                        (
                            "axis",
                            Kind::Tables(t(
                                "[[matrix.axis]]",
                                vec![
                                    ("name", Kind::Str, "the axis's name"),
                                    ("set", Kind::StrOrStrs, "the path(s) each value is set at"),
                                    (
                                        "values",
                                        Kind::AxisValues(t(
                                            "[[matrix.axis]].values",
                                            vec![
                                                ("name", Kind::Str, "the value's label"),
                                                ("set", Kind::AnyTable, "what it sets"),
                                            ],
                                        )),
                                        "the values",
                                    ),
                                ],
                            )),
                            "an axis of the matrix",
                        ),
                        (
                            "cell",
                            Kind::Tables(t("[[matrix.cell]]", {
                                let mut k = vec![("when", Kind::AnyTable, "axis = value, for the cells it holds for")];
                                k.extend(expect_keys());
                                k
                            })),
                            "what cells expect",
                        ),
                    ],
                )),
                "a matrix: one scenario per combination of its axes",
            ),
            (
                "step",
                Kind::Tables(t(
                    "[[step]]",
                    vec![
                        ("arm", Kind::Str, "\"METHOD path\" (relative to the resource group)"),
                        ("restart", Kind::Bool, "restart the site (its worker pulls)"),
                        ("pull", Kind::Bool, "pull now"),
                        ("body", Kind::AnyTable, "the request's JSON body"),
                        ("api_version", Kind::Str, "the api-version (default: the Azure CLI's)"),
                        ("as", Kind::Str, "who sends it: 'site' or 'identity:NAME'"),
                        ("expect", Kind::Table(t("[[step]].expect", step_expect)), "what the step must give"),
                    ],
                )),
                "a step after the topology is built",
            ),
            ("expect", Kind::Table(t("[expect]", expect_keys())), "what the pull must give"),
            (
                "resource_group",
                Kind::Table(t(
                    "[resource_group]",
                    vec![("name", Kind::Str, "its name"), ("location", Kind::Str, "its region")],
                )),
                "the one resource group",
            ),
            (
                "vnet",
                Kind::Tables(merged(
                    "[[vnet]]",
                    vec![
                        ("name", Kind::Str, "its name"),
                        ("location", Kind::Str, "its region (default: the group's)"),
                        ("address_space", Kind::Strs, "its prefixes"),
                        ("dns_servers", Kind::Strs, "custom DNS servers"),
                        (
                            "subnets",
                            Kind::Tables(merged(
                                "[[vnet]].subnets",
                                vec![
                                    ("name", Kind::Str, "its name"),
                                    ("prefix", Kind::Str, "its prefix"),
                                    ("delegation", Kind::Str, "Microsoft.Web/serverFarms for VNET integration"),
                                ],
                            )),
                            "its subnets",
                        ),
                        (
                            "peerings",
                            Kind::Tables(merged(
                                "[[vnet]].peerings",
                                vec![
                                    ("name", Kind::Str, "its name"),
                                    ("remote", Kind::Str, "the remote VNET"),
                                    ("bidirectional", Kind::Bool, "peered back too"),
                                ],
                            )),
                            "its peerings",
                        ),
                    ],
                )),
                "a virtual network",
            ),
            (
                "registry",
                Kind::TableOrTables(merged(
                    "[registry]",
                    vec![
                        ("name", Kind::Str, "its name"),
                        ("location", Kind::Str, "its region"),
                        ("sku", words(AcrSku::words()), "its SKU"),
                        ("admin_user", Kind::Bool, "adminUserEnabled"),
                        ("public_network_access", words(PublicNetworkAccess::words()), "publicNetworkAccess"),
                        ("default_action", words(DefaultAction::words()), "networkRuleSet.defaultAction"),
                        ("ip_rules", Kind::Strs, "networkRuleSet.ipRules"),
                        ("network_rule_bypass", words(NetworkRuleBypass::words()), "networkRuleBypassOptions"),
                        ("data_endpoint", Kind::Bool, "dataEndpointEnabled"),
                        ("anonymous_pull", Kind::Bool, "anonymousPullEnabled"),
                        (
                            "images",
                            Kind::Tables(merged(
                                "[registry].images",
                                vec![
                                    ("repo", Kind::Str, "the repository"),
                                    ("tag", Kind::Str, "the tag (default latest)"),
                                    ("layers", Kind::Int(1, 64), "how many layers"),
                                    ("layer_size", Kind::Int(1, 64 << 20), "bytes per layer"),
                                    ("seed", Kind::Int(0, i64::MAX as u64), "the content's seed"),
                                    ("schema1", Kind::Bool, "a Docker schema 1 manifest (App Service refuses it)"),
                                    ("platforms", Kind::Strs, "an index of these platforms (linux/amd64)"),
                                ],
                            )),
                            "images pushed to it",
                        ),
                    ],
                )),
                "a container registry",
            ),
            (
                "identity",
                Kind::Tables(merged("[[identity]]", vec![("name", Kind::Str, "its name")])),
                "a user-assigned identity",
            ),
            (
                "private_dns_zone",
                Kind::Tables(merged(
                    "[[private_dns_zone]]",
                    vec![
                        ("name", Kind::Str, "the zone (privatelink.azurecr.io)"),
                        (
                            "links",
                            Kind::Tables(merged(
                                "[[private_dns_zone]].links",
                                vec![
                                    ("name", Kind::Str, "its name"),
                                    ("vnet", Kind::Str, "the linked VNET"),
                                    ("registration", Kind::Bool, "auto-registration"),
                                    ("resolution_policy", words(ResolutionPolicy::words()), "resolutionPolicy"),
                                ],
                            )),
                            "its VNET links",
                        ),
                        (
                            "records",
                            Kind::Tables(merged(
                                "[[private_dns_zone]].records",
                                vec![
                                    ("name", Kind::Str, "the record's name"),
                                    ("type", words(RecordType::words()), "its type"),
                                    ("ttl", Kind::Int(0, 2_147_483_647), "its TTL"),
                                    ("values", Kind::Strs, "its values"),
                                ],
                            )),
                            "records written by hand",
                        ),
                    ],
                )),
                "a private DNS zone",
            ),
            (
                "private_endpoint",
                Kind::Tables(merged(
                    "[[private_endpoint]]",
                    vec![
                        ("name", Kind::Str, "its name"),
                        ("subnet", Kind::Str, "vnet/subnet"),
                        ("target", Kind::Str, "registry:NAME"),
                        ("dns_zone_group", Kind::StrOrStrs, "the zone(s) its zone group writes"),
                        ("manual_approval", Kind::Bool, "a manual connection, pending"),
                    ],
                )),
                "a private endpoint",
            ),
            (
                "custom_dns",
                Kind::Tables(merged(
                    "[[custom_dns]]",
                    vec![
                        ("name", Kind::Str, "its name"),
                        ("vnet", Kind::Str, "the VNET it stands in"),
                        ("address", Kind::Str, "its address"),
                        ("upstream", words(Upstream::words()), "what it forwards the rest to"),
                        (
                            "forwarders",
                            Kind::Tables(merged(
                                "[[custom_dns]].forwarders",
                                vec![("zone", Kind::Str, "a zone"), ("targets", Kind::Strs, "where it forwards it")],
                            )),
                            "conditional forwarders",
                        ),
                    ],
                )),
                "a custom DNS server",
            ),
            (
                "role_assignment",
                Kind::Tables(merged(
                    "[[role_assignment]]",
                    vec![
                        ("principal", Kind::Str, "'site' or 'identity:NAME'"),
                        ("role", words(roles), "the built-in role"),
                        ("scope", Kind::Str, "'resource_group' or 'registry:NAME'"),
                    ],
                )),
                "a role assignment",
            ),
            (
                "plan",
                Kind::Table(t("[plan]", vec![("name", Kind::Str, "its name"), ("sku", Kind::Str, "its SKU (P1v3)")])),
                "the App Service plan",
            ),
            (
                "site",
                Kind::Table(t(
                    "[site]",
                    vec![
                        ("name", Kind::Str, "its name"),
                        ("image", Kind::Str, "registry/repo:tag"),
                        ("vnet_integration", Kind::Str, "vnet/subnet"),
                        ("credentials", words(Credentials::words()), "how it pulls"),
                        ("identity", Kind::StrOrStrs, "'system' and/or 'user:NAME'"),
                        ("pull_identity", Kind::Str, "'system' or 'user:NAME'"),
                        ("app_settings", Kind::StrMap, "app settings"),
                        ("config", Kind::Table(arm_table("[site.config]", SITE_CONFIG)), "siteConfig keys"),
                        ("properties", Kind::Table(arm_table("[site.properties]", SITE_PROPERTIES)), "site properties"),
                    ],
                )),
                "the web app",
            ),
        ],
    )
}

fn kind_schema(k: &Kind) -> Value {
    match k {
        Kind::Str => json!({"type": "string"}),
        Kind::Words(w) => json!({"type": "string", "enum": w}),
        Kind::Bool => json!({"type": "boolean"}),
        Kind::Int(min, max) => json!({"type": "integer", "minimum": min, "maximum": max}),
        Kind::Strs => json!({"type": "array", "items": {"type": "string"}}),
        Kind::StrOrStrs => json!({"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
        Kind::Table(t) => table_schema(t),
        Kind::Tables(t) => json!({"type": "array", "items": table_schema(t)}),
        Kind::TableOrTables(t) => json!({"oneOf": [table_schema(t), {"type": "array", "items": table_schema(t)}]}),
        Kind::StrMap => json!({"type": "object", "additionalProperties": {"type": ["string", "boolean", "number"]}}),
        Kind::AnyTable => json!({"type": "object"}),
        Kind::AxisValues(t) => json!({"type": "array", "items": {"oneOf": [
            {"type": ["string", "boolean", "number"]},
            table_schema(t),
        ]}}),
    }
}

fn table_schema(t: &Table) -> Value {
    let mut props = Map::new();
    for (k, kind, doc) in &t.keys {
        let mut s = kind_schema(kind);
        if !doc.is_empty() {
            s["description"] = json!(doc);
        }
        props.insert(k.to_string(), s);
    }
    if t.removable {
        props.insert(
            "remove".into(),
            json!({"type": "boolean", "description": "delete the fixture's entry of this name"}),
        );
    }
    let mut out = json!({"type": "object", "additionalProperties": false, "properties": props});
    if !t.ctx.is_empty() {
        // The table's name as the loader's errors write it.
        out["title"] = json!(t.ctx);
    }
    out
}

/// The JSON Schema of scenario and fixture files.
pub fn json_schema() -> Value {
    let mut s = table_schema(&root());
    let mut head = Map::new();
    head.insert("$schema".into(), json!("http://json-schema.org/draft-04/schema#"));
    head.insert("title".into(), json!("pullsim scenario"));
    head.insert(
        "description".into(),
        json!("A pullsim scenario or fixture (docs/scenarios.md). Generated by `pullsim schema`; references between resources and addresses are checked by `pullsim run`."),
    );
    if let Value::Object(m) = s.take() {
        head.extend(m);
    }
    Value::Object(head)
}

/// Each table's context and its keys as described (merge-only `remove` aside).
#[cfg(test)]
fn described_keys() -> BTreeMap<String, BTreeSet<String>> {
    fn walk(t: &Table, out: &mut BTreeMap<String, BTreeSet<String>>) {
        out.insert(t.ctx.clone(), t.keys.iter().map(|(k, _, _)| k.to_string()).collect());
        for (_, k, _) in &t.keys {
            match k {
                Kind::Table(i) | Kind::Tables(i) | Kind::TableOrTables(i) | Kind::AxisValues(i) => walk(i, out),
                _ => {}
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&root(), &mut out);
    out
}

thread_local! {
    /// Known keys per table context, while `record_known` runs on this thread.
    static KNOWN: RefCell<Option<BTreeMap<String, BTreeSet<String>>>> = const { RefCell::new(None) };
}

/// Called by the walker when it finishes a table: records the keys it asked for.
pub(super) fn note_known(ctx: &str, known: &[&'static str]) {
    KNOWN.with(|k| {
        if let Some(map) = k.borrow_mut().as_mut() {
            map.entry(ctx.to_string()).or_default().extend(known.iter().map(|s| s.to_string()));
        }
    });
}

/// Runs `f` (loads) recording, per table context, the keys the loader asked for.
#[cfg(test)]
fn record_known<R>(f: impl FnOnce() -> R) -> (R, BTreeMap<String, BTreeSet<String>>) {
    KNOWN.with(|k| *k.borrow_mut() = Some(BTreeMap::new()));
    let r = f();
    let known = KNOWN.with(|k| k.borrow_mut().take()).unwrap_or_default();
    (r, known)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::COLLECTIONS;
    use super::*;
    use crate::scenario::LoadOptions;

    /// Every seed scenario and fixture, and every TOML example of docs/scenarios.md,
    /// loaded with the walker recording: each table's known keys are the schema's.
    #[test]
    fn the_schema_describes_every_table_with_the_keys_the_loader_knows() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let scenarios = root.join("scenarios");
        let files = crate::runner::select::scenario_files(&[scenarios.clone(), scenarios.join("fixtures")])
            .expect("the scenarios folder");
        assert!(files.len() > 20, "{files:?}");
        let doc = std::fs::read_to_string(root.join("docs/scenarios.md")).unwrap_or_default();
        let examples: Vec<String> =
            doc.split("```toml\n").skip(1).filter_map(|b| b.split("```").next()).map(str::to_string).collect();
        assert!(!examples.is_empty());
        let ((), known) = record_known(|| {
            let opts = LoadOptions::default();
            for f in &files {
                let _ = crate::scenario::load(f, &opts);
            }
            let opts = LoadOptions::default().with_fixture_dir(root.join("scenarios/fixtures"));
            for (i, e) in examples.iter().enumerate() {
                let _ = crate::scenario::load_text(&root.join(format!("docs/example-{i}.toml")), e, &opts);
            }
        });
        let described = described_keys();
        let mut problems = Vec::new();
        for (ctx, keys) in &known {
            match described.get(ctx) {
                None => problems.push(format!("table {ctx:?} (keys {keys:?}) is not in the schema")),
                Some(d) if d != keys => problems.push(format!(
                    "table {ctx:?}: the loader knows {:?} that the schema lacks, the schema has {:?} the loader does not know",
                    keys.difference(d).collect::<Vec<_>>(),
                    d.difference(keys).collect::<Vec<_>>()
                )),
                Some(_) => {}
            }
        }
        for ctx in described.keys() {
            if !known.contains_key(ctx) {
                problems.push(format!("table {ctx:?} of the schema was never read by the loader in any file"));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn every_merged_root_list_can_remove_a_fixture_entry() {
        let r = root();
        for key in COLLECTIONS {
            let (_, kind, _) = r.keys.iter().find(|(k, _, _)| k == key).unwrap_or_else(|| panic!("{key}"));
            let removable = match kind {
                Kind::Tables(t) | Kind::TableOrTables(t) => t.removable,
                _ => false,
            };
            assert!(removable, "{key}");
        }
    }
}
