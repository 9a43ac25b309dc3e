//! The template language through whole templates: function families pinned to Microsoft's
//! documented outputs, copy loops of every kind, waves, conditions, references, lambdas,
//! user-defined functions and types, nested deployments, extension resources, scopes.

use arm_template::{Context, Deployment, DeploymentScope, ProvisioningState, ResourceGroup, evaluate};
use serde_json::{Map, Value, json};

use crate::support::{MemoryHost, SUB, ctx, id, rg_id, template};

fn deploy(t: Value, params: Value) -> (arm_template::DeploymentResult, MemoryHost) {
    let d = Deployment::prepare(template(t), params.as_object().cloned().unwrap_or_default(), ctx("lang")).unwrap();
    let mut host = MemoryHost::with_recipe();
    let r = d.execute(&mut host);
    assert_eq!(r.provisioning_state, ProvisioningState::Succeeded, "{:#?}", r.error);
    (r, host)
}

fn ev(text: &str) -> Value {
    evaluate(text, &ctx("eval")).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Examples of Microsoft's function reference pages (array, comparison, logical, numeric,
/// object, string, date), with the outputs the pages document.
#[test]
fn documented_function_examples_give_the_documented_outputs() {
    let cases = [
        (
            "[concat(createArray('1-1', '1-2', '1-3'), createArray('2-1', '2-2', '2-3'))]",
            json!(["1-1", "1-2", "1-3", "2-1", "2-2", "2-3"]),
        ),
        ("[concat('prefix', '-', 'suffix')]", json!("prefix-suffix")),
        ("[contains('OneTwoThree', 'e')]", json!(true)),
        ("[contains('OneTwoThree', 'z')]", json!(false)),
        ("[contains(createObject('one', 'a', 'two', 'b', 'three', 'c'), 'one')]", json!(true)),
        ("[contains(createArray('one', 'two', 'three'), 'four')]", json!(false)),
        ("[empty(createArray())]", json!(true)),
        ("[empty(createObject())]", json!(true)),
        ("[empty('')]", json!(true)),
        ("[first(createArray('one', 'two', 'three'))]", json!("one")),
        ("[first('One Two Three')]", json!("O")),
        ("[last(createArray('one', 'two', 'three'))]", json!("three")),
        ("[last('One Two Three')]", json!("e")),
        (
            "[intersection(createObject('one', 'a', 'two', 'b', 'three', 'c'), createObject('one', 'a', 'two', 'z', 'three', 'c'))]",
            json!({"one": "a", "three": "c"}),
        ),
        ("[intersection(createArray('one', 'two', 'three'), createArray('two', 'three'))]", json!(["two", "three"])),
        (
            "[union(createObject('one', 'a', 'two', 'b', 'three', 'c1'), createObject('three', 'c2', 'four', 'd', 'five', 'e'))]",
            json!({"one": "a", "two": "b", "three": "c2", "four": "d", "five": "e"}),
        ),
        (
            "[union(createArray('one', 'two', 'three'), createArray('three', 'four'))]",
            json!(["one", "two", "three", "four"]),
        ),
        ("[length(createArray('a', 'b', 'c'))]", json!(3)),
        ("[length('One Two Three')]", json!(13)),
        ("[max(createArray(0, 3, 2, 5, 4))]", json!(5)),
        ("[min(0, 3, 2, 5, 4)]", json!(0)),
        ("[range(1, 3)]", json!([1, 2, 3])),
        ("[skip(createArray('one', 'two', 'three'), 2)]", json!(["three"])),
        ("[skip('one two three', 4)]", json!("two three")),
        ("[take(createArray('one', 'two', 'three'), 2)]", json!(["one", "two"])),
        ("[take('one two three', 2)]", json!("on")),
        ("[coalesce(null(), null(), 1, 2)]", json!(1)),
        ("[equals(createArray('a', 'b'), createArray('a', 'b'))]", json!(true)),
        ("[greater(10, 5)]", json!(true)),
        ("[greaterOrEquals('A', 'a')]", json!(false)),
        ("[less(10, 5)]", json!(false)),
        ("[lessOrEquals('A', 'a')]", json!(true)),
        ("[and(bool('true'), bool('false'))]", json!(false)),
        ("[or(bool('true'), bool('false'))]", json!(true)),
        ("[not(bool('true'))]", json!(false)),
        ("[if(equals('a', 'a'), 'yes', 'no')]", json!("yes")),
        ("[add(5, 3)]", json!(8)),
        ("[sub(7, 3)]", json!(4)),
        ("[mul(5, 3)]", json!(15)),
        ("[div(8, 3)]", json!(2)),
        ("[mod(7, 3)]", json!(1)),
        ("[int('4')]", json!(4)),
        ("[base64('one, two, three')]", json!("b25lLCB0d28sIHRocmVl")),
        ("[base64ToString('b25lLCB0d28sIHRocmVl')]", json!("one, two, three")),
        ("[dataUri('Hello')]", json!("data:text/plain;charset=utf8;base64,SGVsbG8=")),
        ("[dataUriToString('data:;base64,SGVsbG8sIFdvcmxkIQ==')]", json!("Hello, World!")),
        ("[endsWith('abcdef', 'EF')]", json!(true)),
        ("[startsWith('abcdef', 'AB')]", json!(true)),
        ("[indexOf('abcdef', 'CD')]", json!(2)),
        ("[lastIndexOf('abcdef', 'AB')]", json!(0)),
        ("[indexOf('abcdef', 'z')]", json!(-1)),
        ("[padLeft('123', 10, '0')]", json!("0000000123")),
        ("[replace('123-123-1234', '-', '')]", json!("1231231234")),
        ("[split('one,two,three', ',')]", json!(["one", "two", "three"])),
        ("[split('one;two,three', createArray(',', ';'))]", json!(["one", "two", "three"])),
        (
            "[string(createObject('valueA', 10, 'valueB', 'Example Text'))]",
            json!("{\"valueA\":10,\"valueB\":\"Example Text\"}"),
        ),
        ("[string(createArray('a', 'b', 'c'))]", json!("[\"a\",\"b\",\"c\"]")),
        ("[string(5)]", json!("5")),
        ("[substring('one two three', 4, 3)]", json!("two")),
        ("[toLower('One Two Three')]", json!("one two three")),
        ("[toUpper('One Two Three')]", json!("ONE TWO THREE")),
        ("[trim('    one two three   ')]", json!("one two three")),
        (
            "[uri('http://contoso.com/resources/', 'nested/azuredeploy.json')]",
            json!("http://contoso.com/resources/nested/azuredeploy.json"),
        ),
        (
            "[uriComponent('http://contoso.com/resources/nested/azuredeploy.json')]",
            json!("http%3A%2F%2Fcontoso.com%2Fresources%2Fnested%2Fazuredeploy.json"),
        ),
        (
            "[uriComponentToString('http%3A%2F%2Fcontoso.com%2Fresources%2Fnested%2Fazuredeploy.json')]",
            json!("http://contoso.com/resources/nested/azuredeploy.json"),
        ),
        (
            "[format('{0}, {1}. Formatted number: {2:N0}', 'Hello', 'User', 8175133)]",
            json!("Hello, User. Formatted number: 8,175,133"),
        ),
        ("[json('{\"a\": \"b\"}').a]", json!("b")),
        ("[json('null')]", Value::Null),
        ("[objectKeys(createObject('a', 1, 'b', 2))]", json!(["a", "b"])),
        (
            "[shallowMerge(createArray(createObject('one', 'a'), createObject('two', 'b'), createObject('two', 'c')))]",
            json!({"one": "a", "two": "c"}),
        ),
        ("[tryGet(createObject('a', 1), 'b')]", Value::Null),
        (
            "[flatten(createArray(createArray('one', 'two'), createArray('three'), createArray('four', 'five')))]",
            json!(["one", "two", "three", "four", "five"]),
        ),
        ("[dateTimeAdd('2020-04-07 14:53:14Z', 'P3Y')]", json!("2023-04-07T14:53:14Z")),
        ("[dateTimeFromEpoch(1683040573)]", json!("2023-05-02T15:16:13Z")),
        ("[dateTimeToEpoch('2023-05-02T15:16:13Z')]", json!(1683040573)),
        ("[[not an expression]", json!("[not an expression]")),
    ];
    for (text, want) in cases {
        assert_eq!(ev(text), want, "{text}");
    }
}

/// Azure/bicep's evaluated parameters baseline (the lambda and sorting entries).
#[test]
fn lambda_functions_match_azures_baseline() {
    assert_eq!(ev("[filter(createArray(1, 2), lambda('i', less(lambdaVariables('i'), 2)))]"), json!([1]));
    assert_eq!(
        ev("[map(range(0, 3), lambda('i', format('Hi {0}!', lambdaVariables('i'))))]"),
        json!(["Hi 0!", "Hi 1!", "Hi 2!"])
    );
    assert_eq!(
        ev(
            "[reduce(createArray('a', 'b', 'c'), '', lambda('a', 'b', format('{0}-{1}', lambdaVariables('a'), lambdaVariables('b'))))]"
        ),
        json!("-a-b-c")
    );
    assert_eq!(
        ev("[sort(createArray('c', 'd', 'a'), lambda('a', 'b', less(lambdaVariables('a'), lambdaVariables('b'))))]"),
        json!(["a", "c", "d"])
    );
    assert_eq!(
        ev(
            "[toObject(createArray('a', 'b', 'c'), lambda('x', lambdaVariables('x')), lambda('x', format('Hi {0}!', lambdaVariables('x'))))]"
        ),
        json!({"a": "Hi a!", "b": "Hi b!", "c": "Hi c!"})
    );
    assert_eq!(
        ev("[groupBy(createArray('foo', 'bar', 'baz'), lambda('x', substring(lambdaVariables('x'), 0, 1)))]"),
        json!({"f": ["foo"], "b": ["bar", "baz"]})
    );
    assert_eq!(
        ev("[mapValues(createObject('a', 1, 'b', 2), lambda('v', mul(lambdaVariables('v'), 10)))]"),
        json!({"a": 10, "b": 20})
    );
    assert_eq!(
        ev(
            "[map(createArray('a', 'b'), lambda('x', 'i', concat(lambdaVariables('x'), string(lambdaVariables('i')))))]"
        ),
        json!(["a0", "b1"])
    );
    assert!(evaluate("[lambda('x', 1)]", &ctx("e")).unwrap_err().contains("a lambda can only be an argument"));
}

#[test]
fn a_template_building_huge_values_is_an_error_not_an_exhausted_host() {
    let e = evaluate("[map(range(0, 10000), lambda('x', range(0, 10000)))]", &ctx("e")).unwrap_err();
    assert!(e.contains("exceeded its limit of '4000000' operations"), "{e}");
}

#[test]
fn function_names_ignore_case_and_if_evaluates_only_its_branch() {
    assert_eq!(ev("[CONCAT('a', ToLower('B'))]"), json!("ab"));
    assert_eq!(ev("[if(true(), 'ok', createArray()[5])]"), json!("ok"));
    assert_eq!(ev("[and(false(), createArray()[5])]"), json!(false));
    assert_eq!(ev("[createObject('Name', 'x').name]"), json!("x"));
    assert_eq!(ev("[createObject('a', createArray(1, 2))['A'][1]]"), json!(2));
}

#[test]
fn scope_functions_describe_the_deployment() {
    assert_eq!(ev("[resourceGroup().id]"), json!(rg_id()));
    assert_eq!(ev("[resourceGroup().location]"), json!("westeurope"));
    assert_eq!(ev("[subscription().subscriptionId]"), json!(SUB));
    assert_eq!(ev("[subscription().id]"), json!(format!("/subscriptions/{SUB}")));
    assert_eq!(ev("[tenant().tenantId]"), json!(crate::support::TENANT));
    assert_eq!(ev("[environment().suffixes.acrLoginServer]"), json!(".azurecr.io"));
    assert_eq!(ev("[deployment().name]"), json!("eval"));
}

#[test]
fn resource_id_functions_build_azures_ids() {
    assert_eq!(
        ev("[resourceId('Microsoft.Network/virtualNetworks/subnets', 'v', 's')]"),
        json!(id("Microsoft.Network/virtualNetworks/v/subnets/s"))
    );
    assert_eq!(
        ev("[resourceId('otherRG', 'Microsoft.Storage/storageAccounts', 'st')]"),
        json!(format!("/subscriptions/{SUB}/resourceGroups/otherRG/providers/Microsoft.Storage/storageAccounts/st"))
    );
    assert_eq!(
        ev("[resourceId('11111111-1111-1111-1111-111111111111', 'g', 'Microsoft.Web/sites', 'a')]"),
        json!("/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/g/providers/Microsoft.Web/sites/a")
    );
    assert_eq!(
        ev(
            "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '7f951dda-4ed3-4680-a7ca-43fe172d538d')]"
        ),
        json!(format!(
            "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d"
        ))
    );
    assert_eq!(
        ev("[tenantResourceId('Microsoft.Management/managementGroups', 'mg')]"),
        json!("/providers/Microsoft.Management/managementGroups/mg")
    );
    assert_eq!(
        ev(
            "[extensionResourceId(resourceId('Microsoft.ContainerRegistry/registries', 'r'), 'Microsoft.Authorization/locks', 'l')]"
        ),
        json!(id("Microsoft.ContainerRegistry/registries/r/providers/Microsoft.Authorization/locks/l"))
    );
    let e = evaluate("[resourceId('Microsoft.Web/sites/config', 'a')]", &ctx("e")).unwrap_err();
    assert!(e.contains("requires '2' resource name argument(s) but '1' were provided"), "{e}");
}

#[test]
fn unique_string_and_guid_of_scope_values() {
    assert_eq!(ev("[uniqueString('asd', 'asdf', 'asdf')]"), json!("iizpqit7ih3cc"));
    assert_eq!(ev("[guid('asdf')]"), json!("228d27cc-6fdb-5934-b7ac-1efccebade04"));
    assert_eq!(ev("[uniqueString(resourceGroup().id)]"), json!(arm_template::hash::unique_string(&[&rg_id()])));
    assert!(
        evaluate("[uniqueString(1)]", &ctx("e"))
            .unwrap_err()
            .contains("all function arguments must be string literals")
    );
}

#[test]
fn utc_now_formats_the_hosts_clock_and_only_in_parameter_defaults() {
    let t = json!({"parameters": {
        "stamp": {"type": "string", "defaultValue": "[utcNow()]"},
        "day": {"type": "string", "defaultValue": "[utcNow('d')]"},
        "u": {"type": "string", "defaultValue": "[utcNow('u')]"},
        "g1": {"type": "string", "defaultValue": "[newGuid()]"},
        "g2": {"type": "string", "defaultValue": "[newGuid()]"}},
        "resources": []});
    let d = Deployment::prepare(template(t.clone()), Map::new(), ctx("clock")).unwrap();
    let p = d.parameters();
    assert_eq!(p["stamp"], json!("20210703T120000Z"));
    assert_eq!(p["day"], json!("07/03/2021"));
    assert_eq!(p["u"], json!("2021-07-03 12:00:00Z"));
    assert_ne!(p["g1"], p["g2"]);
    let again = Deployment::prepare(template(t), Map::new(), ctx("clock")).unwrap();
    assert_eq!(again.parameters(), p);
    let e = evaluate("[utcNow()]", &ctx("e")).unwrap_err();
    assert!(e.contains("The template function 'utcNow' is not expected at this location"), "{e}");
}

#[test]
fn copy_loops_of_resources_properties_variables_and_outputs() {
    let t = json!({
        "parameters": {"names": {"type": "array", "defaultValue": ["a", "b", "c"]}},
        "variables": {
            "copy": [{"name": "prefixes", "count": 3, "input": "[format('10.{0}.0.0/16', copyIndex('prefixes'))]"}],
            "disks": {"copy": [{"name": "list", "count": 2, "input": {"lun": "[copyIndex('list')]"}}]}
        },
        "resources": [{
            "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01",
            "name": "[concat('vnet-', parameters('names')[copyIndex()])]",
            "copy": {"name": "vnets", "count": "[length(parameters('names'))]"},
            "properties": {
                "addressSpace": {"addressPrefixes": ["[variables('prefixes')[copyIndex()]]"]},
                "copy": [{"name": "subnets", "count": 2, "input": {"name": "[format('s{0}', copyIndex('subnets', 1))]", "properties": {"index": "[copyIndex()]"}}}]
            }
        }],
        "outputs": {
            "ids": {"type": "array", "copy": {"count": "[length(parameters('names'))]", "input": "[resourceId('Microsoft.Network/virtualNetworks', concat('vnet-', parameters('names')[copyIndex()]))]"}},
            "disks": {"type": "object", "value": "[variables('disks')]"}
        }
    });
    let (r, host) = deploy(t, json!({}));
    let b = host.get_id(&id("Microsoft.Network/virtualNetworks/vnet-b")).unwrap();
    assert_eq!(b["properties"]["addressSpace"]["addressPrefixes"], json!(["10.1.0.0/16"]));
    assert_eq!(
        b["properties"]["subnets"],
        json!([{"name": "s1", "properties": {"index": 1}}, {"name": "s2", "properties": {"index": 1}}])
    );
    assert_eq!(r.outputs["ids"]["value"][2], json!(id("Microsoft.Network/virtualNetworks/vnet-c")));
    assert_eq!(r.outputs["disks"]["value"], json!({"list": [{"lun": 0}, {"lun": 1}]}));
}

#[test]
fn serial_copy_loops_deploy_in_batches_and_parallel_ones_together() {
    let t = |mode: Value| {
        json!({"resources": [{"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "[format('v{0}', copyIndex())]",
            "copy": {"name": "loop", "count": 5, "mode": mode, "batchSize": 2}}]})
    };
    let serial = Deployment::prepare(template(t(json!("serial"))), Map::new(), ctx("c")).unwrap();
    let waves: Vec<usize> = serial.waves().iter().map(Vec::len).collect();
    assert_eq!(waves, vec![2, 2, 1]);
    let parallel = Deployment::prepare(template(t(json!("Parallel"))), Map::new(), ctx("c")).unwrap();
    assert_eq!(parallel.waves().len(), 1);
}

#[test]
fn depends_on_accepts_ids_short_forms_names_and_loop_names() {
    let t = json!({"resources": [
        {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "[format('v{0}', copyIndex())]", "copy": {"name": "vnets", "count": 2}},
        {"type": "Microsoft.Web/serverfarms", "apiVersion": "2022-03-01", "name": "plan", "dependsOn": ["vnets"]},
        {"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "a", "dependsOn": ["Microsoft.Web/serverfarms/plan"]},
        {"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "b", "dependsOn": ["a"]},
        {"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "c", "dependsOn": ["[resourceId('Microsoft.Web/sites', 'b')]"]}
    ]});
    let d = Deployment::prepare(template(t), Map::new(), ctx("d")).unwrap();
    let waves = d.waves();
    assert_eq!(waves.len(), 5);
    assert_eq!(waves[4], vec![id("Microsoft.Web/sites/c")]);
    assert_eq!(d.dependencies_json()[0]["resourceName"], json!("plan"));
}

#[test]
fn a_reference_by_name_adds_an_implicit_dependency() {
    let t = json!({"resources": [
        {"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "app", "properties": {"planLocation": "[reference('plan', '2022-03-01', 'Full').location]"}},
        {"type": "Microsoft.Web/serverfarms", "apiVersion": "2022-03-01", "name": "plan", "location": "westeurope", "properties": {}}
    ]});
    let d = Deployment::prepare(template(t), Map::new(), ctx("d")).unwrap();
    assert_eq!(d.waves(), vec![vec![id("Microsoft.Web/serverfarms/plan")], vec![id("Microsoft.Web/sites/app")]]);
    let mut host = MemoryHost::new();
    let r = d.execute(&mut host);
    assert_eq!(r.provisioning_state, ProvisioningState::Succeeded);
    assert_eq!(host.get_id(&id("Microsoft.Web/sites/app")).unwrap()["properties"]["planLocation"], json!("westeurope"));
}

#[test]
fn reference_forms_without_api_version_with_it_full_and_symbolic() {
    let t = json!({
        "languageVersion": "2.0",
        "resources": {
            "vnet": {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "v", "location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}},
            "registry": {"existing": true, "type": "Microsoft.ContainerRegistry/registries", "apiVersion": "2023-07-01", "name": "secureacr2021"}
        },
        "outputs": {
            "symbolic": {"type": "array", "value": "[reference('vnet').addressSpace.addressPrefixes]"},
            "full": {"type": "string", "value": "[reference('vnet', '2023-04-01', 'Full').location]"},
            "byId": {"type": "object", "value": "[reference(resourceId('Microsoft.Network/virtualNetworks', 'v'), '2023-04-01')]"},
            "existing": {"type": "string", "value": "[reference('registry').loginServer]"},
            "creds": {"type": "string", "value": "[listCredentials(resourceId('Microsoft.ContainerRegistry/registries', 'secureacr2021'), '2023-07-01').passwords[1].value]"}
        }
    });
    let (r, host) = deploy(t, json!({}));
    assert_eq!(r.outputs["symbolic"]["value"], json!(["10.0.0.0/16"]));
    assert_eq!(r.outputs["full"]["value"], json!("westeurope"));
    assert_eq!(r.outputs["byId"]["value"]["provisioningState"], json!("Succeeded"));
    assert_eq!(r.outputs["existing"]["value"], json!("secureacr2021.azurecr.io"));
    assert_eq!(r.outputs["creds"]["value"], json!("p2"));
    assert_eq!(
        host.posts,
        vec![(id("Microsoft.ContainerRegistry/registries/secureacr2021"), "listCredentials".to_string())]
    );
    // The existing registry was read, not deployed.
    assert_eq!(host.put_ids(), vec![id("Microsoft.Network/virtualNetworks/v")]);
}

#[test]
fn skipped_resources_are_not_evaluated_and_cannot_be_referenced() {
    let t = json!({
        "parameters": {"deployIt": {"type": "bool", "defaultValue": false}},
        "resources": [
            {"condition": "[parameters('deployIt')]", "type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "skipped",
             "properties": {"broken": "[createArray()[3]]", "unknownType": "[parameters('nope')]"}},
            {"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "kept", "dependsOn": ["skipped"]}
        ],
        "outputs": {"maybe": {"condition": "[parameters('deployIt')]", "type": "string", "value": "[reference('skipped').x]"}}
    });
    let (r, host) = deploy(t.clone(), json!({}));
    assert_eq!(host.put_ids(), vec![id("Microsoft.Web/sites/kept")]);
    assert!(r.outputs.is_empty());
    let d = Deployment::prepare(template(t), json!({"deployIt": true}).as_object().cloned().unwrap(), ctx("x"));
    assert!(d.unwrap_err().message.contains("array index '3' is out of bounds"));
}

#[test]
fn user_defined_functions_see_only_their_parameters() {
    let t = json!({
        "functions": [{"namespace": "naming", "members": {
            "prefix": {"parameters": [{"name": "base", "type": "string"}], "output": {"type": "string", "value": "[concat('pfx-', toLower(parameters('base')))]"}},
            "bad": {"parameters": [], "output": {"type": "string", "value": "[variables('v')]"}}
        }}],
        "variables": {"v": "x"},
        "resources": [],
        "outputs": {"o": {"type": "string", "value": "[naming.prefix('APP')]"}}
    });
    let (r, _) = deploy(t.clone(), json!({}));
    assert_eq!(r.outputs["o"]["value"], json!("pfx-app"));
    let mut t2 = t;
    t2["outputs"]["o"]["value"] = json!("[naming.bad()]");
    let d = Deployment::prepare(template(t2), Map::new(), ctx("f")).unwrap();
    let r = d.execute(&mut MemoryHost::new());
    assert!(
        r.error.unwrap().details[0]
            .message
            .contains("The template function 'variables' is not expected at this location")
    );
}

#[test]
fn user_defined_types_check_parameters() {
    let t = json!({
        "languageVersion": "2.0",
        "definitions": {
            "zone": {"type": "object", "properties": {
                "name": {"type": "string", "nullable": true},
                "id": {"type": "string"},
                "kind": {"type": "string", "allowedValues": ["a", "b"], "nullable": true}
            }}
        },
        "parameters": {"zones": {"type": "array", "items": {"$ref": "#/definitions/zone"}, "minLength": 1}},
        "resources": {}
    });
    let ok = json!({"zones": [{"id": "/x"}, {"id": "/y", "kind": "b"}]});
    assert!(Deployment::prepare(template(t.clone()), ok.as_object().cloned().unwrap(), ctx("t")).is_ok());
    let missing = json!({"zones": [{"name": "n"}]});
    let e = Deployment::prepare(template(t.clone()), missing.as_object().cloned().unwrap(), ctx("t")).unwrap_err();
    assert!(e.message.contains("The property '[0].id' is required but no value was given."), "{}", e.message);
    let kind = json!({"zones": [{"id": "/x", "kind": "c"}]});
    let e = Deployment::prepare(template(t.clone()), kind.as_object().cloned().unwrap(), ctx("t")).unwrap_err();
    assert!(e.message.contains("not part of the allowed value(s): 'a,b'"), "{}", e.message);
    let empty = json!({"zones": []});
    let e = Deployment::prepare(template(t), empty.as_object().cloned().unwrap(), ctx("t")).unwrap_err();
    assert!(e.message.contains("less than the minimum length '1'"), "{}", e.message);
}

#[test]
fn nullable_parameters_may_be_left_out() {
    let t = json!({"languageVersion": "2.0", "parameters": {"tags": {"type": "object", "nullable": true}}, "resources": {},
        "outputs": {"t": {"type": "object", "value": "[coalesce(parameters('tags'), createObject('a', 1))]"}}});
    let (r, _) = deploy(t, json!({}));
    assert_eq!(r.outputs["t"]["value"], json!({"a": 1}));
}

#[test]
fn inner_and_outer_nested_deployments_pass_parameters_and_outputs() {
    let t = json!({
        "parameters": {"prefix": {"type": "string", "defaultValue": "outer"}},
        "variables": {"suffix": "-v"},
        "resources": [
            {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "inner",
             "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
                "parameters": {"prefix": {"value": "[concat(parameters('prefix'), '-in')]"}},
                "template": {"parameters": {"prefix": {"type": "string"}}, "variables": {"suffix": "-inner"},
                    "resources": [{"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "[concat(parameters('prefix'), variables('suffix'))]"}],
                    "outputs": {"name": {"type": "string", "value": "[concat(parameters('prefix'), variables('suffix'))]"}}}}},
            {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "outer",
             "properties": {"mode": "Incremental",
                "template": {"resources": [{"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "[concat(parameters('prefix'), variables('suffix'))]"}]}}}
        ],
        "outputs": {"fromInner": {"type": "string", "value": "[reference('inner').outputs.name.value]"}}
    });
    let (r, host) = deploy(t, json!({}));
    assert!(host.get_id(&id("Microsoft.Network/virtualNetworks/outer-in-inner")).is_some());
    assert!(host.get_id(&id("Microsoft.Network/virtualNetworks/outer-v")).is_some());
    assert_eq!(r.outputs["fromInner"]["value"], json!("outer-in-inner"));
    assert_eq!(host.finished.len(), 2);
    assert_eq!(host.finished[0].outputs["name"], json!({"type": "String", "value": "outer-in-inner"}));
}

#[test]
fn extension_resources_take_their_scope() {
    let t = json!({"resources": [
        {"type": "Microsoft.ContainerRegistry/registries", "apiVersion": "2023-07-01", "name": "reg", "sku": {"name": "Premium"}},
        {"type": "Microsoft.Authorization/roleAssignments", "apiVersion": "2022-04-01",
         "scope": "[resourceId('Microsoft.ContainerRegistry/registries', 'reg')]", "name": "[guid('reg', 'pull')]",
         "dependsOn": ["[resourceId('Microsoft.ContainerRegistry/registries', 'reg')]"],
         "properties": {"principalId": "p"}},
        {"type": "Microsoft.Authorization/locks", "apiVersion": "2020-05-01", "scope": "Microsoft.ContainerRegistry/registries/reg", "name": "lock",
         "dependsOn": ["Microsoft.ContainerRegistry/registries/reg"], "properties": {"level": "CanNotDelete"}}
    ]});
    let (_, host) = deploy(t, json!({}));
    let ra = id(&format!(
        "Microsoft.ContainerRegistry/registries/reg/providers/Microsoft.Authorization/roleAssignments/{}",
        arm_template::hash::guid(&["reg", "pull"])
    ));
    assert!(host.get_id(&ra).is_some(), "{:#?}", host.put_ids());
    assert!(
        host.get_id(&id("Microsoft.ContainerRegistry/registries/reg/providers/Microsoft.Authorization/locks/lock"))
            .is_some()
    );
}

#[test]
fn a_subscription_deployment_creates_a_group_and_deploys_into_it() {
    let t = json!({
        "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
        "resources": [
            {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2022-09-01", "name": "newgroup", "location": "westeurope"},
            {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "into", "resourceGroup": "newgroup",
             "dependsOn": ["[subscriptionResourceId('Microsoft.Resources/resourceGroups', 'newgroup')]"],
             "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
                "template": {"resources": [{"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "v", "location": "[resourceGroup().location]"}]}}}
        ]
    });
    let mut c = Context { scope: DeploymentScope::Subscription { location: "westeurope".into() }, ..ctx("sub") };
    c.deployment_name = "sub".into();
    let d = Deployment::prepare(template(t), Map::new(), c).unwrap();
    assert_eq!(d.id(), format!("/subscriptions/{SUB}/providers/Microsoft.Resources/deployments/sub"));
    struct GroupsFromPuts(MemoryHost);
    impl arm_template::Host for GroupsFromPuts {
        fn put(
            &mut self,
            r: &arm_template::PutRequest<'_>,
        ) -> Result<arm_template::PutResponse, arm_template::HostError> {
            if r.resource_type.eq_ignore_ascii_case("Microsoft.Resources/resourceGroups") {
                self.0
                    .groups
                    .push(ResourceGroup::new(r.id.rsplit('/').next().unwrap(), r.body["location"].as_str().unwrap()));
            }
            self.0.put(r)
        }
        fn get(&mut self, id: &str, api: Option<&str>) -> Result<Option<Value>, arm_template::HostError> {
            self.0.get(id, api)
        }
        fn post(&mut self, id: &str, a: &str, v: &str, b: Option<&Value>) -> Result<Value, arm_template::HostError> {
            self.0.post(id, a, v, b)
        }
        fn resource_group(&mut self, s: &str, n: &str) -> Result<Option<ResourceGroup>, arm_template::HostError> {
            self.0.resource_group(s, n)
        }
    }
    let mut host = GroupsFromPuts(MemoryHost::new());
    let r = d.execute(&mut host);
    assert_eq!(r.provisioning_state, ProvisioningState::Succeeded, "{:#?}", r.error);
    assert_eq!(host.0.put_ids()[0], format!("/subscriptions/{SUB}/resourceGroups/newgroup"));
    let vnet = format!("/subscriptions/{SUB}/resourceGroups/newgroup/providers/Microsoft.Network/virtualNetworks/v");
    assert_eq!(host.0.get_id(&vnet).unwrap()["location"], json!("westeurope"));
}

#[test]
fn execution_goes_wave_by_wave_and_can_be_canceled() {
    let t = json!({"resources": [
        {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "a"},
        {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "b", "dependsOn": ["a"]}
    ]});
    let d = Deployment::prepare(template(t), Map::new(), ctx("w")).unwrap();
    let mut host = MemoryHost::new();
    let mut x = d.start();
    assert!(x.step(&mut host));
    assert_eq!(host.put_ids().len(), 1);
    x.cancel();
    assert!(!x.step(&mut host));
    let r = x.finish(&mut host);
    assert_eq!(r.provisioning_state, ProvisioningState::Canceled);
    assert_eq!(host.put_ids().len(), 1);
    assert_eq!(r.output_resources, vec![id("Microsoft.Network/virtualNetworks/a")]);
}

#[test]
fn deployment_properties_have_azures_shape() {
    let t = json!({"parameters": {"n": {"type": "int", "defaultValue": 3}, "pw": {"type": "securestring", "defaultValue": "x"}},
        "resources": [], "outputs": {"n": {"type": "int", "value": "[parameters('n')]"}, "s": {"type": "securestring", "value": "secret"}}});
    let (r, _) = deploy(t, json!({}));
    let p = r.properties_json();
    assert_eq!(p["provisioningState"], json!("Succeeded"));
    assert_eq!(p["mode"], json!("Incremental"));
    assert_eq!(p["outputs"]["n"], json!({"type": "Int", "value": 3}));
    assert_eq!(p["outputs"]["s"], json!({"type": "SecureString"}));
    assert_eq!(p["parameters"]["n"], json!({"type": "Int", "value": 3}));
    assert_eq!(p["parameters"]["pw"], json!({"type": "SecureString"}));
    let rg = ResourceGroup::new("g", "l");
    assert_eq!(rg.name, "g");
}
