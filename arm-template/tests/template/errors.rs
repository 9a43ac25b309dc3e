//! Errors pinned to their messages, as Azure words them (the sources are in `error.rs`), with
//! the line, column and path of what they are about.

use arm_template::{Deployment, DeploymentRequest, ErrorKind, ProvisioningState, Template, TemplateError};
use serde_json::{Map, Value, json};

use crate::support::{MemoryHost, ctx, id};

fn prepare(text: &str, params: Value) -> Result<Deployment, TemplateError> {
    let t = Template::parse(text)?;
    let params: Map<String, Value> = params.as_object().cloned().unwrap_or_default();
    Deployment::prepare(t, params, ctx("errors"))
}

fn err(text: &str, params: Value) -> TemplateError {
    prepare(text, params).unwrap_err()
}

const HEAD: &str = r#"{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0","#;

#[test]
fn bad_expression_names_its_resource_line_and_column() {
    let text = format!(
        r#"{HEAD}
  "resources": [
    {{
      "type": "Microsoft.Network/virtualNetworks",
      "apiVersion": "2023-04-01",
      "name": "[concat('vnet', uniqueString(resourceGroup().id)]",
      "location": "westeurope"
    }}
  ]
}}"#
    );
    let e = err(&text, json!({}));
    assert_eq!(e.kind, ErrorKind::ExpressionSyntax);
    assert_eq!(e.code, "InvalidTemplate");
    assert_eq!(
        e.message,
        "Deployment template validation failed: 'The template resource '[concat('vnet', uniqueString(resourceGroup().id)]' at line '5' and column '5' is not valid: Unable to parse language expression 'concat('vnet', uniqueString(resourceGroup().id)': expected token 'RightParenthesis' and actual 'EndOfData'.. Please see https://aka.ms/arm-functions for usage details.'."
    );
    let v = e.violation.clone().unwrap();
    assert_eq!((v.line, v.column, v.path.as_str()), (8, 15, "resources[0].name"));
    assert_eq!(
        e.to_json()["additionalInfo"][0]["info"],
        json!({"lineNumber": 8, "linePosition": 15, "path": "resources[0].name"})
    );
}

#[test]
fn a_request_body_error_points_into_properties_template() {
    let body = r#"{"properties": {"mode": "Incremental",
  "template": {"contentVersion": "1.0.0.0", "resources": [
    {"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "app",
     "properties": {"x": "[parameters('nope')"}}]}}}"#;
    let request = DeploymentRequest::parse(body);
    // `[parameters('nope')` does not end with `]`: a literal, not an expression.
    assert!(request.is_ok());
    let body = body.replace("[parameters('nope')\"", "[concatt('a')]\"");
    let e = DeploymentRequest::parse(&body).unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnknownFunction);
    assert_eq!(
        e.message,
        "Deployment template validation failed: 'The template resource 'app' at line '3' and column '5' is not valid: The template function 'concatt' is not valid. Please see https://aka.ms/arm-functions for usage details.. Please see https://aka.ms/arm-functions for usage details.'."
    );
    assert_eq!(e.violation.unwrap().path, "properties.template.resources[0].properties.x");
}

#[test]
fn a_nested_template_is_checked_with_its_parent() {
    let text = format!(
        r#"{HEAD} "resources": [{{"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "n",
      "properties": {{"mode": "Incremental", "expressionEvaluationOptions": {{"scope": "inner"}},
        "parameters": {{"x": {{"value": "[reference('elsewhere').y]"}}}},
        "template": {{"parameters": {{"x": {{"type": "string"}}}}, "resources": [
          {{"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "[concat(parameters('x')]"}}]}}}}}}]}}"#
    );
    let e = err(&text, json!({}));
    assert_eq!(e.kind, ErrorKind::ExpressionSyntax);
    assert_eq!(e.violation.unwrap().path, "resources[0].properties.template.resources[0].name");
}

#[test]
fn unknown_function_is_named() {
    let text =
        format!(r#"{HEAD} "resources": [], "outputs": {{"o": {{"type": "string", "value": "[toUpperCase('a')]"}}}}}}"#);
    let e = err(&text, json!({}));
    assert_eq!(e.kind, ErrorKind::UnknownFunction);
    assert_eq!(
        e.message,
        "Deployment template validation failed: 'The template output 'o' is not valid: The template function 'toUpperCase' is not valid. Please see https://aka.ms/arm-functions for usage details.. Please see https://aka.ms/arm-functions for usage details.'."
    );
}

#[test]
fn missing_parameter_is_not_provided_at_its_declaration() {
    let text = format!(
        r#"{HEAD}
  "parameters": {{
    "siteName": {{ "type": "string" }}
  }},
  "resources": []
}}"#
    );
    let e = err(&text, json!({}));
    assert_eq!(e.kind, ErrorKind::ParameterNotProvided);
    assert_eq!(
        e.message,
        "Deployment template validation failed: 'The value for the template parameter 'siteName' at line '5' and column '17' is not provided. Please see https://aka.ms/arm-create-parameter-file for usage details.'."
    );
    assert_eq!(e.violation.unwrap().path, "parameters.siteName");
}

#[test]
fn wrong_parameter_type_is_a_jtoken_type_error() {
    let text = format!(
        r#"{HEAD} "parameters": {{"count": {{"type": "int"}}, "name": {{"type": "string"}}}}, "resources": []}}"#
    );
    let e = err(&text, json!({"count": "3", "name": "x"}));
    assert_eq!(e.kind, ErrorKind::ParameterType);
    assert_eq!(
        e.message,
        "Deployment template validation failed: 'Template parameter JToken type is not valid. Expected 'Integer'. Actual 'String'. Please see https://aka.ms/resource-manager-parameter-files for usage details.'."
    );
    let e = err(&text, json!({"count": 3, "name": {"a": 1}}));
    assert!(e.message.contains("Expected 'String, Uri'. Actual 'Object'."), "{}", e.message);
}

#[test]
fn disallowed_value_lists_the_allowed_ones() {
    let text = format!(
        r#"{HEAD} "parameters": {{"sku": {{"type": "string", "allowedValues": ["Basic", "Premium"]}}}}, "resources": []}}"#
    );
    let e = err(&text, json!({"sku": "Standard"}));
    assert_eq!(e.kind, ErrorKind::ParameterValue);
    assert_eq!(
        e.message,
        "Deployment template validation failed: 'The provided value 'Standard' for the template parameter 'sku' at line '3' and column '54' is not valid. The parameter value is not part of the allowed value(s): 'Basic,Premium'.'."
    );
}

#[test]
fn min_and_max_limits_are_checked() {
    let text = format!(
        r#"{HEAD} "parameters": {{"n": {{"type": "int", "minValue": 1, "maxValue": 3}}, "s": {{"type": "string", "minLength": 2, "maxLength": 4}}}}, "resources": []}}"#
    );
    assert!(prepare(&text, json!({"n": 2, "s": "abc"})).is_ok());
    let e = err(&text, json!({"n": 4, "s": "abc"}));
    assert!(e.message.contains("The parameter value is greater than the maximum value '3'."), "{}", e.message);
    let e = err(&text, json!({"n": 2, "s": "a"}));
    assert!(
        e.message.contains("The length of the parameter value is less than the minimum length '2'."),
        "{}",
        e.message
    );
}

#[test]
fn parameters_the_template_does_not_declare_are_refused() {
    let text = format!(r#"{HEAD} "parameters": {{"a": {{"type": "string", "defaultValue": "x"}}}}, "resources": []}}"#);
    let e = err(&text, json!({"b": 1, "c": 2}));
    assert_eq!(e.kind, ErrorKind::UnknownParameters);
    assert_eq!(
        e.message,
        "Deployment template validation failed: 'The template parameters 'b, c' in the parameters file are not valid; they are not present in the original template and can therefore not be provided at deployment time. The only supported parameters for this template are 'a'. Please see https://aka.ms/arm-deploy/#parameter-file for usage details.'."
    );
}

#[test]
fn dependency_cycle_names_the_first_resource_in_it() {
    let text = format!(
        r#"{HEAD} "resources": [
      {{"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "a", "dependsOn": ["[resourceId('Microsoft.Network/virtualNetworks', 'b')]"]}},
      {{"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "b", "dependsOn": ["Microsoft.Network/virtualNetworks/a"]}},
      {{"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "c"}}
    ]}}"#
    );
    let e = err(&text, json!({}));
    assert_eq!(e.kind, ErrorKind::CircularDependency);
    assert_eq!(
        e.message,
        format!(
            "Deployment template validation failed: 'Circular dependency detected on resource: '{}'. Please see https://aka.ms/arm-syntax-resources for usage details.'.",
            id("Microsoft.Network/virtualNetworks/a")
        )
    );
}

#[test]
fn depends_on_a_resource_not_in_the_template_is_refused() {
    let text = format!(
        r#"{HEAD} "resources": [{{"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "app", "dependsOn": ["Microsoft.Web/serverfarms/plan"]}}]}}"#
    );
    let e = err(&text, json!({}));
    assert_eq!(e.kind, ErrorKind::DependencyNotFound);
    assert_eq!(
        e.message,
        "Deployment template validation failed: 'The resource 'Microsoft.Web/serverfarms/plan' is not defined in the template. Please see https://aka.ms/arm-syntax-resources for usage details.'."
    );
    assert_eq!(e.violation.unwrap().path, "resources[0].dependsOn[0]");
}

#[test]
fn reference_in_a_name_is_not_expected_there() {
    let text = format!(
        r#"{HEAD} "resources": [{{"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "[reference('x').name]"}}]}}"#
    );
    let e = err(&text, json!({}));
    assert_eq!(e.kind, ErrorKind::FunctionNotExpected);
    assert!(e.message.contains("The template function 'reference' is not expected at this location."), "{}", e.message);
}

#[test]
fn resource_group_function_does_not_exist_in_a_subscription_deployment() {
    let text = format!(r#"{HEAD} "variables": {{"v1": "[RESOURCEGROUP().location]"}}, "resources": []}}"#);
    let mut c = ctx("sub");
    c.scope = arm_template::DeploymentScope::Subscription { location: "westeurope".into() };
    let e = Deployment::prepare(Template::parse(&text).unwrap(), Map::new(), c).unwrap_err();
    assert_eq!(
        e.message,
        "Deployment template validation failed: 'The template variable 'v1' is not valid: The template function 'RESOURCEGROUP' is not expected at this location. Please see https://aka.ms/arm-functions for usage details.. Please see https://aka.ms/arm-functions for usage details.'."
    );
}

#[test]
fn variable_errors_name_the_variable_not_its_user() {
    let text = format!(
        r#"{HEAD} "variables": {{"sizes": {{"small": 1}}, "n": "[variables('sizes').large]"}}, "resources": [
      {{"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "[string(variables('n'))]"}}]}}"#
    );
    let e = err(&text, json!({}));
    assert_eq!(
        e.message,
        "Deployment template validation failed: 'The template variable 'n' is not valid: The language expression property 'large' doesn't exist, available properties are 'small'.. Please see https://aka.ms/arm-functions for usage details.'."
    );
}

#[test]
fn duplicate_resources_are_refused() {
    let text = format!(
        r#"{HEAD} "resources": [
      {{"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "app"}},
      {{"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "APP"}}]}}"#
    );
    let e = err(&text, json!({}));
    assert_eq!(e.kind, ErrorKind::DuplicateResource);
    assert!(e.message.contains("is defined multiple times in a template"), "{}", e.message);
}

#[test]
fn name_and_type_segments_must_match() {
    let text = format!(
        r#"{HEAD} "resources": [{{"type": "Microsoft.Web/sites/config", "apiVersion": "2022-03-01", "name": "web"}}]}}"#
    );
    let e = err(&text, json!({}));
    assert_eq!(e.kind, ErrorKind::SegmentLengths);
    assert!(
        e.message.contains(
            "'web' for type 'Microsoft.Web/sites/config' at line '3' and column '46' has incorrect segment lengths"
        ),
        "{}",
        e.message
    );
}

#[test]
fn linked_templates_are_a_clear_unsupported_error() {
    let text = format!(
        r#"{HEAD} "resources": [{{"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "linked",
      "properties": {{"mode": "Incremental", "templateLink": {{"uri": "https://example.com/t.json"}}}}}}]}}"#
    );
    let e = err(&text, json!({}));
    assert_eq!(e.kind, ErrorKind::LinkedTemplateUnsupported);
    assert!(e.message.contains("'templateLink' 'https://example.com/t.json'"), "{}", e.message);
    let body = r#"{"properties": {"mode": "Incremental", "templateLink": {"uri": "https://example.com/t.json"}}}"#;
    assert_eq!(DeploymentRequest::parse(body).unwrap_err().kind, ErrorKind::LinkedTemplateUnsupported);
}

#[test]
fn key_vault_references_are_refused() {
    let body = r#"{"properties": {"mode": "Incremental", "template": {"resources": []},
      "parameters": {"pw": {"reference": {"keyVault": {"id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v"}, "secretName": "s"}}}}}"#;
    assert_eq!(DeploymentRequest::parse(body).unwrap_err().kind, ErrorKind::KeyVaultReference);
}

#[test]
fn not_json_is_invalid_request_content() {
    let e = DeploymentRequest::parse("{\"properties\": {").unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidJson);
    assert_eq!(e.code, "InvalidRequestContent");
}

#[test]
fn a_reference_to_a_missing_resource_fails_the_deployment_with_resource_not_found() {
    let text = format!(
        r#"{HEAD} "resources": [
      {{"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "app",
        "properties": {{"serverFarmId": "[reference(resourceId('Microsoft.Web/serverfarms', 'plan'), '2022-03-01', 'Full').id]"}}}},
      {{"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "independent"}}]}}"#
    );
    let mut host = MemoryHost::new();
    let r = prepare(&text, json!({})).unwrap().execute(&mut host);
    assert_eq!(r.provisioning_state, ProvisioningState::Failed);
    let e = r.error.unwrap();
    assert_eq!(e.code, "DeploymentFailed");
    assert_eq!(
        e.message,
        "At least one resource deployment operation failed. Please list deployment operations for details. Please see https://aka.ms/arm-deployment-operations for usage details."
    );
    assert_eq!(e.details[0].code, "ResourceNotFound");
    assert_eq!(
        e.details[0].message,
        "The Resource 'Microsoft.Web/serverfarms/plan' under resource group 'secureacrsetup' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
    );
    // The independent resource still deployed; the failed one is an operation with its error.
    assert_eq!(host.put_ids(), vec![id("Microsoft.Network/virtualNetworks/independent")]);
    let failed = r.operations.iter().find(|o| o.provisioning_state == ProvisioningState::Failed).unwrap();
    assert_eq!(failed.status_code_name(), "NotFound");
    let op = failed.to_json(&id("Microsoft.Resources/deployments/errors"), "2021-07-03T12:00:00Z");
    assert_eq!(op["properties"]["statusMessage"]["error"]["code"], json!("ResourceNotFound"));
    assert_eq!(op["properties"]["targetResource"]["id"], json!(id("Microsoft.Web/sites/app")));
}

#[test]
fn a_provider_error_fails_its_resource_and_skips_its_dependents() {
    let text = format!(
        r#"{HEAD} "resources": [
      {{"type": "Microsoft.Web/serverfarms", "apiVersion": "2022-03-01", "name": "plan"}},
      {{"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "app", "dependsOn": ["plan"]}},
      {{"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "v"}}]}}"#
    );
    let mut host = MemoryHost::new();
    host.refuse.push(id("Microsoft.Web/serverfarms/plan").to_ascii_lowercase());
    let r = prepare(&text, json!({})).unwrap().execute(&mut host);
    assert_eq!(r.provisioning_state, ProvisioningState::Failed);
    assert_eq!(r.error.as_ref().unwrap().details.len(), 1);
    assert_eq!(r.error.as_ref().unwrap().details[0].code, "Conflict");
    assert!(!host.put_ids().contains(&id("Microsoft.Web/sites/app")));
    assert!(host.put_ids().contains(&id("Microsoft.Network/virtualNetworks/v")));
    assert_eq!(r.error.unwrap().to_json()["target"], json!(id("Microsoft.Resources/deployments/errors")));
}

#[test]
fn an_expression_failing_while_deploying_is_unable_to_process() {
    let text = format!(
        r#"{HEAD} "resources": [
      {{"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "v", "properties": {{"addressSpace": {{}}}}}},
      {{"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "app", "dependsOn": ["v"],
        "properties": {{"x": "[reference('v').definition]"}}}}]}}"#
    );
    let mut host = MemoryHost::new();
    let r = prepare(&text, json!({})).unwrap().execute(&mut host);
    let e = &r.error.unwrap().details[0];
    assert_eq!(e.code, "InvalidTemplate");
    assert_eq!(
        e.message,
        format!(
            "Unable to process template language expressions for resource '{}' at line '5' and column '7'. 'The language expression property 'definition' doesn't exist, available properties are 'addressSpace, provisioningState'.'",
            id("Microsoft.Web/sites/app")
        )
    );
}

#[test]
fn an_output_of_the_wrong_type_fails_output_evaluation() {
    let text = format!(r#"{HEAD} "resources": [], "outputs": {{"result": {{"type": "int", "value": "[null()]"}}}}}}"#);
    let r = prepare(&text, json!({})).unwrap().execute(&mut MemoryHost::new());
    assert_eq!(r.provisioning_state, ProvisioningState::Failed);
    let e = r.error.unwrap();
    assert_eq!(e.code, "DeploymentOutputEvaluationFailed");
    assert_eq!(e.details[0].target.as_deref(), Some("result"));
    assert_eq!(
        e.details[0].message,
        "The template output 'result' is not valid: Template output JToken type is not valid. Expected 'Integer'. Actual 'Null'.Please see https://aka.ms/arm-template/#outputs for usage details.."
    );
}

#[test]
fn preflight_collects_every_refusal_as_invalid_template_deployment() {
    let text = format!(
        r#"{HEAD} "resources": [
      {{"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "a"}},
      {{"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "b"}},
      {{"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "v"}}]}}"#
    );
    let d = prepare(&text, json!({})).unwrap();
    let mut host = MemoryHost::new();
    assert!(d.preflight(&mut host).is_ok());
    host.invalid_types.push("microsoft.web/sites".into());
    let e = d.preflight(&mut host).unwrap_err();
    assert_eq!(e.kind, ErrorKind::PreflightFailed);
    assert_eq!(e.code, "InvalidTemplateDeployment");
    assert!(
        e.message.starts_with(
            "The template deployment 'errors' is not valid according to the validation procedure. The tracking id is '"
        ),
        "{}",
        e.message
    );
    assert!(e.message.ends_with("'. See inner errors for details."), "{}", e.message);
    assert_eq!(e.details.len(), 2);
    assert_eq!(e.to_json()["details"][0]["code"], json!("InvalidResourceType"));
    assert!(host.put_ids().is_empty());
}

#[test]
fn malformed_templates_never_panic() {
    for text in [
        "[]",
        "{\"resources\": 5}",
        "{\"resources\": [5]}",
        "{\"resources\": [{\"type\": 1, \"name\": \"a\"}]}",
        "{\"resources\": [{\"type\": \"a/b\"}]}",
        "{\"parameters\": [1]}",
        "{\"parameters\": {\"a\": 1}}",
        "{\"functions\": [{\"members\": {}}]}",
        "{\"resources\": [{\"type\": \"a/b\", \"name\": \"x\", \"apiVersion\": \"1\", \"copy\": {\"name\": \"c\", \"count\": -1}}]}",
        "{\"resources\": [{\"type\": \"a/b\", \"name\": \"x\", \"apiVersion\": \"1\", \"copy\": {\"name\": \"c\", \"count\": 801}}]}",
        "{\"resources\": [{\"type\": \"a/b\", \"name\": \"x\", \"apiVersion\": \"1\", \"condition\": \"yes\"}]}",
        "{\"variables\": {\"a\": \"[variables('b')]\", \"b\": \"[variables('a')]\"}}",
    ] {
        assert!(prepare(text, json!({})).is_err(), "{text}");
    }
}
