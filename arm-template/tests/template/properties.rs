//! Property tests: random expressions (well-formed call trees over every function, and raw
//! text) never panic, wherever they stand in a template; a random template deploys the same
//! twice (determinism). Seeds are proptest's, printed on failure.

use arm_template::{Deployment, Template, evaluate};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::support::{MemoryHost, ctx, template};

const FUNCTIONS: &[&str] = &[
    "array",
    "concat",
    "contains",
    "createArray",
    "createObject",
    "empty",
    "first",
    "last",
    "flatten",
    "indexOf",
    "lastIndexOf",
    "intersection",
    "union",
    "items",
    "join",
    "length",
    "objectKeys",
    "shallowMerge",
    "skip",
    "take",
    "tryGet",
    "tryIndexFromEnd",
    "equals",
    "less",
    "lessOrEquals",
    "greater",
    "greaterOrEquals",
    "not",
    "true",
    "false",
    "null",
    "and",
    "or",
    "if",
    "coalesce",
    "add",
    "sub",
    "mul",
    "div",
    "mod",
    "min",
    "max",
    "range",
    "copyIndex",
    "bool",
    "int",
    "float",
    "string",
    "json",
    "base64",
    "base64ToString",
    "base64ToJson",
    "dataUri",
    "dataUriToString",
    "uri",
    "uriComponent",
    "uriComponentToString",
    "format",
    "endsWith",
    "startsWith",
    "padLeft",
    "replace",
    "split",
    "substring",
    "toLower",
    "toUpper",
    "trim",
    "uniqueString",
    "guid",
    "newGuid",
    "utcNow",
    "dateTimeAdd",
    "dateTimeFromEpoch",
    "dateTimeToEpoch",
    "filter",
    "map",
    "reduce",
    "sort",
    "toObject",
    "groupBy",
    "mapValues",
    "lambda",
    "lambdaVariables",
    "parameters",
    "variables",
    "deployment",
    "environment",
    "resourceGroup",
    "subscription",
    "tenant",
    "resourceId",
    "subscriptionResourceId",
    "tenantResourceId",
    "extensionResourceId",
    "reference",
    "listKeys",
    "notAFunction",
];

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        (-3i64..12).prop_map(|n| n.to_string()),
        prop_oneof![Just(i64::MAX), Just(i64::MIN + 1), Just(10_001), Just(131_073)].prop_map(|n| n.to_string()),
        "[a-zA-Z0-9 /.,:{}\\-]{0,8}".prop_map(|s| format!("'{}'", s.replace('\'', "''"))),
        prop_oneof![
            Just("'{0}-{1:D3}'"),
            Just("'P1D'"),
            Just("'2021-07-03T12:00:00Z'"),
            Just("'eyJhIjogMX0='"),
            Just("'Microsoft.Web/sites'"),
            Just("'x'"),
            Just("'a'"),
            Just("'{\"a\": [1, 2]}'"),
        ]
        .prop_map(String::from),
    ]
}

/// A well-formed expression (without the outer brackets).
fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        4 => literal(),
        1 => Just("parameters('p')".to_string()),
        1 => Just("variables('v')".to_string()),
        1 => Just("lambdaVariables('x')".to_string()),
    ];
    leaf.prop_recursive(4, 40, 4, |inner| {
        prop_oneof![
            5 => (proptest::sample::select(FUNCTIONS), proptest::collection::vec(inner.clone(), 0..4))
                .prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
            1 => (inner.clone(), "[a-z]{1,5}").prop_map(|(e, p)| format!("createObject('a', {e}).{p}")),
            1 => (inner.clone(), inner.clone()).prop_map(|(e, i)| format!("createArray({e})[{i}]")),
            1 => (proptest::sample::select(&["map", "filter", "sort", "groupBy"][..]), inner.clone(), inner.clone())
                .prop_map(|(f, a, body)| format!("{f}(createArray({a}, 1), lambda('x', {body}))")),
            1 => (inner.clone(), inner).prop_map(|(a, body)| format!("reduce(createArray({a}), 0, lambda('x', 'y', {body}))")),
        ]
    })
}

/// A template with the expression in every kind of place.
fn host_template(expr: &str) -> Value {
    let s = format!("[{expr}]");
    json!({
        "parameters": {"p": {"type": "object", "defaultValue": {"a": [1, "b"], "x": "y"}},
                       "d": {"type": "string", "defaultValue": s.clone()}},
        "variables": {"v": "[createArray(1, 2, 3)]", "w": s.clone()},
        "resources": [
            {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "fixed", "properties": {"x": s.clone()}},
            {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "[concat('n', copyIndex())]",
             "copy": {"name": "loop", "count": 2}, "condition": s.clone(), "properties": {"y": s.clone()}}
        ],
        "outputs": {"o": {"type": "object", "value": s}}
    })
}

fn run_everywhere(expr: &str) {
    let _ = evaluate(&format!("[{expr}]"), &ctx("prop"));
    let text = host_template(expr).to_string();
    if let Ok(t) = Template::parse(&text)
        && let Ok(d) = Deployment::prepare(t, Map::new(), ctx("prop"))
    {
        let _ = d.execute(&mut MemoryHost::with_recipe());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn well_formed_expressions_never_panic(expr in expression()) {
        run_everywhere(&expr);
    }

    #[test]
    fn raw_expression_text_never_panics(text in "[a-zA-Z0-9(),.'\\[\\] \\-_]{0,40}") {
        run_everywhere(&text);
        let _ = arm_template::expr::parse(&text);
    }

    #[test]
    fn mutated_templates_never_panic(text in "[\\[\\]{}\":,a-z0-9 \\\\]{0,60}") {
        let _ = Template::parse(&text);
        let _ = arm_template::DeploymentRequest::parse(&text);
    }

    #[test]
    fn evaluating_a_template_twice_gives_the_same_deployment(
        count in 0i64..4,
        deps in proptest::collection::vec((0usize..5, 0usize..5), 0..5),
        flags in proptest::collection::vec(any::<bool>(), 5),
        base in "[a-z]{1,6}",
    ) {
        let mut resources = Vec::new();
        for (i, flag) in flags.iter().enumerate() {
            let depends: Vec<String> = deps.iter().filter(|(from, _)| *from == i).map(|(_, to)| format!("[resourceId('Microsoft.Network/virtualNetworks', concat(parameters('base'), '{to}'))]")).collect();
            resources.push(json!({
                "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01",
                "name": format!("[concat(parameters('base'), '{i}')]"),
                "condition": flag,
                "dependsOn": depends,
                "properties": {"tag": "[uniqueString(resourceGroup().id, parameters('base'), deployment().name)]",
                               "loop": {"copy": [{"name": "items", "count": "[parameters('count')]", "input": "[guid(string(copyIndex('items')))]"}]}}
            }));
        }
        resources.push(json!({"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "[concat(parameters('base'), '-', copyIndex())]",
            "copy": {"name": "sites", "count": "[parameters('count')]", "mode": "serial", "batchSize": 1}, "properties": {}}));
        let t = json!({"parameters": {"base": {"type": "string"}, "count": {"type": "int"}}, "resources": resources,
            "outputs": {"names": {"type": "array", "copy": {"count": "[parameters('count')]", "input": "[concat(parameters('base'), copyIndex())]"}}}});
        let params: Map<String, Value> = json!({"base": base, "count": count}).as_object().cloned().unwrap();
        let once = || {
            match Deployment::prepare(template(t.clone()), params.clone(), ctx("det")) {
                Ok(d) => {
                    let waves = d.waves();
                    let mut host = MemoryHost::new();
                    let r = d.execute(&mut host);
                    Ok((waves, host.puts, host.resources, r.outputs, r.operations, r.provisioning_state))
                }
                Err(e) => Err(e),
            }
        };
        prop_assert_eq!(once(), once());
    }
}
