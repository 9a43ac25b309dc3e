//! Every error the template engine answers, built in one place, worded as Azure words it.
//!
//! Sources for the wording (confirmed = seen in an Azure answer quoted in a public issue or
//! produced by Microsoft's own ARM template library in a public test; inferred = the same
//! scheme applied to a case no source shows):
//! - `Deployment template validation failed: '…'.` wrapping, `The template resource 'X' at
//!   line 'L' and column 'C' is not valid: ….. Please see https://aka.ms/arm-functions for
//!   usage details.` (the doubled period is Azure's): confirmed, Azure-Samples/
//!   azure-search-openai-demo#2321 (2025), Azure/AI-PredictiveMaintenance#141.
//! - parameter defaults are named `The template resource '<parameter>'` too: confirmed,
//!   microsoft/vscode-azurearmtools#531 and Azure/template-analyzer#184 (Microsoft's library).
//! - `Unable to parse language expression '…': expected token 'RightParenthesis' and actual
//!   'EndOfData'.`: confirmed, mspnp/microservices-reference-implementation#217,
//!   Azure/azure-cnab-quickstarts#32 (`'Identifier'` for `[]`).
//! - `The language expression '…' is not valid: the string character '{' at position '4' is
//!   not expected.`: confirmed, Azure/azure-api-management-devops-resource-kit#561.
//! - `The template function 'environment' is not valid.`: confirmed, vscode-azurearmtools#531.
//! - `The template function 'RESOURCEGROUP' is not expected at this location.` (the name as
//!   written): confirmed, vscode-azurearmtools tests.
//! - `The template variable 'x' is not found.` / `The template parameter 'x' is not found.`:
//!   confirmed, microsoft/MCW-Continuous-delivery-in-Azure-DevOps#53, vscode-azurearmtools tests.
//! - `The value for the template parameter 'x' at line 'L' and column 'C' is not provided.
//!   Please see https://aka.ms/arm-create-parameter-file for usage details.` and the
//!   `TemplateViolation` additional info (`lineNumber`, `linePosition`, `path`): confirmed,
//!   microsoft/fabric-toolbox#398 (2026).
//! - `Template parameter JToken type is not valid. Expected 'String, Uri'. Actual 'Object'.
//!   Please see https://aka.ms/resource-manager-parameter-files for usage details.`:
//!   confirmed, vscode-azurearmtools tests and a PowerShell user's log.
//! - `The provided value … for the template parameter 'x' at line 'L' and column 'C' is not
//!   valid. The parameter value is not part of the allowed value(s)`: confirmed (2016,
//!   Azure/azure-quickstart-templates#760; Microsoft's troubleshooting page); the value and
//!   the list after a colon: inferred from Azure/azure-powershell#22869's title.
//! - `The template parameters 'a' in the parameters file are not valid; they are not present in
//!   the original template and can therefore not be provided at deployment time. The only
//!   supported parameters for this template are '…'.`: confirmed,
//!   Azure/azure-quickstart-templates#7528.
//! - `Circular dependency detected on resource: '<id>'. Please see
//!   https://aka.ms/arm-syntax-resources for usage details.`: confirmed, akshata29/entaoai#15
//!   (2023), polymind-inc/acmebot#1089 (2026).
//! - `The resource 'Microsoft.Compute/virtualMachines/x' is not defined in the template.`:
//!   confirmed, vscode-azurearmtools#493.
//! - `The template reference 'x' is not valid: could not find template resource or resource
//!   copy with this name.`: confirmed, MicrosoftDocs/azure-docs#112757.
//! - `The language expression property 'x' doesn't exist, available properties are '…'.` and
//!   `The language expression property array index '2' is out of bounds.`: confirmed,
//!   F5Networks/f5-azure-arm-templates#238, azure-search-openai-demo#2321.
//! - `Unable to process template language expressions for resource '<id>' at line 'L' and
//!   column 'C'. '…'` (code InvalidTemplate, inside DeploymentFailed): confirmed, F5#238.
//! - `At least one resource deployment operation failed. Please list deployment operations for
//!   details. Please see https://aka.ms/arm-deployment-operations for usage details.`:
//!   confirmed (F5#238 shows the older link `https://aka.ms/DeployOperations`).
//! - `The template output 'x' is not valid: Template output JToken type is not valid.
//!   Expected 'Integer'. Actual 'Null'.Please see https://aka.ms/arm-template/#outputs for
//!   usage details..` with code DeploymentOutputEvaluationFailed: confirmed (a Microsoft
//!   sample's doc comment).
//! - function errors `Unable to evaluate template language function 'toObject': function
//!   requires between 2 and 3 argument(s) while 1 were provided.`, `The template language
//!   function 'int' cannot convert provided value 'asdf' to integer value.`, `The template
//!   language function 'bool' was invoked with a parameter that is not valid. The value cannot
//!   be converted to the target type.`, `Unable to evaluate language function 'format': the
//!   format is invalid: '…'.`, `The template language function 'less' expects two parameters
//!   of matching types.`, the `substring` and `uri` messages: confirmed, Azure/bicep's
//!   evaluated parameter baselines (Microsoft's ARM engine) and
//!   Azure-Samples/chat-with-your-data-solution-accelerator#89.
//! - Everything else here follows the same scheme and is inferred.

use serde_json::{Value, json};

use crate::json::Pos;

/// What kind of template error this is: the value callers branch on (never the text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request or template is not JSON.
    InvalidJson,
    /// A required template property (`type`, `name`, `apiVersion`, `resources`…) is missing
    /// or has the wrong JSON type.
    InvalidStructure,
    /// An expression does not parse.
    ExpressionSyntax,
    /// An expression names a function that does not exist.
    UnknownFunction,
    /// A real Azure function this engine does not implement.
    UnsupportedFunction,
    /// A function used where Azure does not allow it (`reference` in a name…).
    FunctionNotExpected,
    /// An expression failed while being evaluated.
    Evaluation,
    /// A required parameter has no value.
    ParameterNotProvided,
    /// The parameters name parameters the template does not declare.
    UnknownParameters,
    /// A parameter value has the wrong type.
    ParameterType,
    /// A parameter value breaks `allowedValues`, `minValue`/`maxValue`, `minLength`/`maxLength`
    /// or a user-defined type.
    ParameterValue,
    /// A Key Vault reference as a parameter value.
    KeyVaultReference,
    /// Resources depend on each other in a cycle.
    CircularDependency,
    /// `dependsOn` names a resource that is not in the template.
    DependencyNotFound,
    /// `reference()` names a symbolic name or resource that is not in the template.
    ReferenceNotFound,
    /// Two resources of the template have the same ID.
    DuplicateResource,
    /// A resource's name and type have mismatched segment counts.
    SegmentLengths,
    /// A copy loop is malformed (count not an integer, out of range, bad mode).
    InvalidCopy,
    /// A nested deployment uses `templateLink` (no network to fetch it from).
    LinkedTemplateUnsupported,
    /// An output's value does not match its declared type.
    OutputType,
    /// The deployment request itself is malformed (no template, bad mode…).
    InvalidRequest,
    /// A resource provider refused a resource in preflight validation.
    PreflightFailed,
}

/// Where a template error points: Azure's `TemplateViolation` additional info.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Line (1-based; 0 when Azure gives none).
    pub line: u32,
    /// Column (1-based; 0 when Azure gives none).
    pub column: u32,
    /// JSON path of the offending value in the request, e.g.
    /// `properties.template.resources[1].dependsOn[0]`.
    pub path: String,
}

/// An error in Azure's error shape (`code`, `message`, `target`, `details`): what a resource
/// provider answers, and what the details of a failed deployment hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorDetail {
    /// Error code (`ResourceNotFound`, `InvalidTemplate`…).
    pub code: String,
    /// Message.
    pub message: String,
    /// Target, if any.
    pub target: Option<String>,
    /// Inner errors.
    pub details: Vec<ErrorDetail>,
}

impl ErrorDetail {
    /// An error with this code and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> ErrorDetail {
        ErrorDetail { code: code.into(), message: message.into(), target: None, details: Vec::new() }
    }

    /// The JSON Azure answers.
    pub fn to_json(&self) -> Value {
        let mut v = json!({"code": self.code, "message": self.message});
        if let Some(t) = &self.target {
            v["target"] = json!(t);
        }
        if !self.details.is_empty() {
            v["details"] = Value::Array(self.details.iter().map(ErrorDetail::to_json).collect());
        }
        v
    }
}

/// An error a [`crate::Host`] answers for a resource request: the HTTP status and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError {
    /// HTTP status (400, 404, 409…).
    pub status: u16,
    /// The ARM error.
    pub error: ErrorDetail,
}

impl HostError {
    /// An error with this status, code and message.
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> HostError {
        HostError { status, error: ErrorDetail::new(code, message) }
    }
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.error.code, self.status, self.error.message)
    }
}

impl std::error::Error for HostError {}

/// A template error: what `validate`, `what-if` and the deployment PUT answer (HTTP 400) when
/// the template cannot be deployed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct TemplateError {
    /// The kind, for callers to branch on.
    pub kind: ErrorKind,
    /// Azure's error code (`InvalidTemplate`, `InvalidTemplateDeployment`,
    /// `InvalidRequestContent`…).
    pub code: &'static str,
    /// The message, as Azure words it.
    pub message: String,
    /// Where in the request, when known.
    pub violation: Option<Violation>,
    /// Inner errors.
    pub details: Vec<ErrorDetail>,
}

impl TemplateError {
    /// The JSON Azure answers inside `{"error": …}`.
    pub fn to_json(&self) -> Value {
        let mut v = json!({"code": self.code, "message": self.message});
        if let Some(at) = &self.violation {
            v["additionalInfo"] = json!([{
                "type": "TemplateViolation",
                "info": {"lineNumber": at.line, "linePosition": at.column, "path": at.path}
            }]);
        }
        if !self.details.is_empty() {
            v["details"] = Value::Array(self.details.iter().map(ErrorDetail::to_json).collect());
        }
        v
    }

    /// The same error as an [`ErrorDetail`] (for the details of a failed nested deployment).
    pub fn to_detail(&self) -> ErrorDetail {
        ErrorDetail {
            code: self.code.into(),
            message: self.message.clone(),
            target: None,
            details: self.details.clone(),
        }
    }
}

/// A failure while evaluating an expression, before it is placed in a template: the inner
/// message, its kind, and, for failures a host answered, the host's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub kind: ErrorKind,
    pub message: String,
    /// Set when a host call (GET for `reference`, POST for `list*`) failed: that error is what
    /// the deployment operation reports.
    pub host: Option<HostError>,
}

/// Why an evaluation stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EvalError {
    /// It needs the deployment to be running (`reference`, `list*`): evaluate it when the
    /// resource's wave runs, as Azure does.
    Deferred,
    /// It failed (boxed: the error travels up deep recursions).
    Failed(Box<Failure>),
}

impl EvalError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> EvalError {
        EvalError::Failed(Box::new(Failure { kind, message: message.into(), host: None }))
    }

    pub(crate) fn eval(message: impl Into<String>) -> EvalError {
        EvalError::new(ErrorKind::Evaluation, message)
    }

    pub(crate) fn host(err: HostError) -> EvalError {
        EvalError::Failed(Box::new(Failure {
            kind: ErrorKind::Evaluation,
            message: err.error.message.clone(),
            host: Some(err),
        }))
    }
}

/// The link every expression error points to.
pub(crate) const FUNCTIONS_LINK: &str = "https://aka.ms/arm-functions";

/// Message texts. Functions return the inner message; the wrappers below place it.
pub(crate) mod msg {
    use super::FUNCTIONS_LINK;

    pub fn expected_token(text: &str, want: &str, got: &str) -> String {
        format!("Unable to parse language expression '{text}': expected token '{want}' and actual '{got}'.")
    }

    pub fn unexpected_character(text: &str, c: char, position: usize) -> String {
        format!(
            "The language expression '{text}' is not valid: the string character '{c}' at position '{position}' is not expected."
        )
    }

    pub fn unterminated_string(text: &str, position: usize) -> String {
        format!(
            "The language expression '{text}' is not valid: the string literal starting at position '{position}' is not terminated."
        )
    }

    pub fn integer_out_of_range(text: &str, lit: &str) -> String {
        format!("The language expression '{text}' is not valid: the integer literal '{lit}' is out of range.")
    }

    pub fn expression_too_deep(text: &str) -> String {
        format!("The language expression '{text}' is not valid: it is nested too deeply.")
    }

    pub fn function_not_valid(name: &str) -> String {
        format!("The template function '{name}' is not valid. Please see {FUNCTIONS_LINK} for usage details.")
    }

    pub fn function_unsupported(name: &str) -> String {
        format!(
            "The template function '{name}' is not supported by pullsim's template engine. Please see {FUNCTIONS_LINK} for usage details."
        )
    }

    pub fn function_not_expected(name: &str) -> String {
        format!(
            "The template function '{name}' is not expected at this location. Please see {FUNCTIONS_LINK} for usage details."
        )
    }

    pub fn arity(name: &str, requires: &str, got: usize) -> String {
        format!(
            "Unable to evaluate template language function '{name}': function requires {requires} argument(s) while {got} were provided. Please see {FUNCTIONS_LINK}#{name} for usage details."
        )
    }

    pub fn arg_type(name: &str, index: usize, expected: &str, actual: &str) -> String {
        format!(
            "The template language function '{name}' expects its parameter at position '{index}' to be of type '{expected}'. The provided value is of type '{actual}'. Please see {FUNCTIONS_LINK}#{name} for usage details."
        )
    }

    pub fn matching_types(name: &str, a: &str, b: &str) -> String {
        format!(
            "The template language function '{name}' expects two parameters of matching types. The function was invoked with values of type '{a}' and '{b}' that do not match."
        )
    }

    pub fn string_literals(name: &str) -> String {
        format!(
            "Unable to evaluate template language function '{name}': all function arguments must be string literals. Please see {FUNCTIONS_LINK}#{name} for usage details."
        )
    }

    pub fn int_conversion(value: &str) -> String {
        format!(
            "The template language function 'int' cannot convert provided value '{value}' to integer value. Please see https://aka.ms/arm-function-int for usage details."
        )
    }

    pub fn bool_conversion() -> String {
        "The template language function 'bool' was invoked with a parameter that is not valid. The value cannot be converted to the target type.".into()
    }

    pub fn base64_invalid(name: &str) -> String {
        format!(
            "The template language function '{name}' was invoked with a parameter that is not valid. The value cannot be decoded from base64 representation."
        )
    }

    pub fn json_invalid(name: &str, err: &str) -> String {
        format!(
            "The template language function '{name}' was invoked with a parameter that is not valid. The value cannot be parsed as JSON: {err}"
        )
    }

    pub fn format_invalid(reason: &str) -> String {
        format!(
            "Unable to evaluate language function 'format': the format is invalid: '{reason}'. Please see https://aka.ms/arm-function-format for usage details."
        )
    }

    pub fn substring_range(start: i64, length: i64, len: usize) -> String {
        format!(
            "Unable to evaluate the template language function 'substring'. The index and length parameters must refer to a location within the string. The index parameter: '{start}', the length parameter: '{length}', the length of the string parameter: '{len}'. Please see https://aka.ms/arm-function-substring for usage details."
        )
    }

    pub fn uri_invalid(value: &str) -> String {
        format!(
            "The template language function 'uri' expects its first argument to be a uri string. The provided value is '{value}'. Please see https://aka.ms/arm-function-datauri for usage details."
        )
    }

    pub fn data_uri_invalid(value: &str) -> String {
        format!(
            "The template language function 'dataUriToString' expects its parameter to be formatted as a valid data URI. The provided value '{value}' was not formatted correctly. Please see https://aka.ms/arm-functions#dataUriToString for usage details."
        )
    }

    pub fn division_by_zero(name: &str) -> String {
        format!(
            "The template language function '{name}' cannot divide by zero. Please see {FUNCTIONS_LINK}#{name} for usage details."
        )
    }

    pub fn overflow(name: &str) -> String {
        format!(
            "The template language function '{name}' overflowed the range of a 64-bit integer. Please see {FUNCTIONS_LINK}#{name} for usage details."
        )
    }

    pub fn range_invalid(start: i64, count: i64) -> String {
        format!(
            "The template language function 'range' was invoked with invalid parameters: start index '{start}', count '{count}'. The count must be between 0 and 10000 and the sum of start index and count must be less than 2147483647. Please see {FUNCTIONS_LINK}#range for usage details."
        )
    }

    pub fn empty_collection(name: &str) -> String {
        format!(
            "The template language function '{name}' cannot be invoked on an empty array. Please see {FUNCTIONS_LINK}#{name} for usage details."
        )
    }

    pub fn property_missing(name: &str, available: &[String]) -> String {
        format!(
            "The language expression property '{name}' doesn't exist, available properties are '{}'.",
            available.join(", ")
        )
    }

    pub fn property_on_non_object(name: &str, actual: &str) -> String {
        format!(
            "The language expression property '{name}' can't be evaluated, the value is of type '{actual}' and has no properties."
        )
    }

    pub fn index_out_of_bounds(index: i64) -> String {
        format!("The language expression property array index '{index}' is out of bounds.")
    }

    pub fn index_type(actual: &str) -> String {
        format!("The language expression array index must be an integer; the index is of type '{actual}'.")
    }

    pub fn index_on(actual: &str) -> String {
        format!("The language expression index can't be applied to a value of type '{actual}'.")
    }

    pub fn parameter_not_found(name: &str) -> String {
        format!(
            "The template parameter '{name}' is not found. Please see https://aka.ms/arm-template/#parameters for usage details."
        )
    }

    pub fn variable_not_found(name: &str) -> String {
        format!(
            "The template variable '{name}' is not found. Please see https://aka.ms/arm-template/#variables for usage details."
        )
    }

    pub fn variable_cycle(name: &str) -> String {
        format!(
            "The template variable '{name}' is not valid: it references itself through other variables. Please see https://aka.ms/arm-template/#variables for usage details."
        )
    }

    pub fn copy_index_outside() -> String {
        "The template function 'copyIndex' is not expected at this location. The function can only be used in a resource, property, variable or output with copy specified. Please see https://aka.ms/arm-copy for usage details.".into()
    }

    pub fn copy_loop_not_found(name: &str) -> String {
        format!(
            "The template function 'copyIndex' is not valid: the copy loop '{name}' is not found at this location. Please see https://aka.ms/arm-copy for usage details."
        )
    }

    pub fn lambda_outside(name: &str) -> String {
        format!(
            "The template function '{name}' is not expected at this location: a lambda can only be an argument of filter, map, reduce, sort, toObject, groupBy or mapValues. Please see {FUNCTIONS_LINK} for usage details."
        )
    }

    pub fn lambda_variable_not_found(name: &str) -> String {
        format!(
            "The template lambda variable '{name}' is not found. Please see {FUNCTIONS_LINK}#lambdaVariables for usage details."
        )
    }

    pub fn lambda_arity(function: &str, want: usize, got: usize) -> String {
        format!(
            "The template function '{function}' expects a lambda with {want} parameter(s) but the lambda declares {got}. Please see {FUNCTIONS_LINK}#{function} for usage details."
        )
    }

    pub fn user_function_not_found(ns: &str, name: &str) -> String {
        format!(
            "The template function '{ns}.{name}' is not valid: the user-defined function is not declared in the template's 'functions'. Please see https://aka.ms/arm-syntax-functions for usage details."
        )
    }

    pub fn user_function_arity(ns: &str, name: &str, want: usize, got: usize) -> String {
        format!(
            "The template function '{ns}.{name}' expects {want} parameter(s) but was invoked with {got}. Please see https://aka.ms/arm-syntax-functions for usage details."
        )
    }

    pub fn resource_id_args(name: &str, ty: &str, want: usize, got: usize) -> String {
        format!(
            "Unable to evaluate template language function '{name}': the type '{ty}' requires '{want}' resource name argument(s) but '{got}' were provided. Please see https://aka.ms/arm-resource-functions/#{name} for usage details."
        )
    }

    pub fn resource_type_invalid(name: &str, ty: &str) -> String {
        format!(
            "Unable to evaluate template language function '{name}': the resource type '{ty}' is not valid. Please see https://aka.ms/arm-resource-functions/#{name} for usage details."
        )
    }

    pub fn reference_not_found(name: &str) -> String {
        format!(
            "The template reference '{name}' is not valid: could not find template resource or resource copy with this name. Please see https://aka.ms/arm-function-reference for usage details."
        )
    }

    pub fn reference_skipped(name: &str) -> String {
        format!(
            "The template reference '{name}' is not valid: the resource is not deployed because its 'condition' evaluated to false. Please see https://aka.ms/arm-function-reference for usage details."
        )
    }

    /// Azure: "The template resource 'storageAccount' reference to 'vnet' requires an API
    /// version." (quoted by a troubleshooting guide); the referring resource is not named here.
    pub fn reference_needs_api_version(name: &str) -> String {
        format!(
            "The template reference to '{name}' requires an API version. Please see https://aka.ms/arm-function-reference for usage details."
        )
    }

    pub fn resource_not_found(type_and_name: &str, group: &str) -> String {
        format!(
            "The Resource '{type_and_name}' under resource group '{group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        )
    }

    pub fn date_invalid(name: &str, value: &str) -> String {
        format!(
            "The template function '{name}' has an invalid parameter. The value '{value}' is not a valid ISO 8601 date time. Please see https://aka.ms/arm-syntax-functions ."
        )
    }

    pub fn duration_invalid(value: &str) -> String {
        format!(
            "The template function 'dateTimeAdd' has an invalid parameter. The second parameter '{value}' is not a valid ISO8601 Duration string. Please see https://aka.ms/arm-syntax-functions ."
        )
    }

    pub fn budget_exceeded(limit: u64) -> String {
        format!(
            "The template language expression evaluation exceeded its limit of '{limit}' operations: the template builds values too large to evaluate."
        )
    }

    pub fn too_long(limit: usize, got: usize) -> String {
        format!("The template language expression result exceeds the limit of '{limit}' characters: '{got}'.")
    }
}

/// Wrappers that place an inner message in a template.
pub(crate) mod wrap {
    use super::*;

    pub const VALIDATION: &str = "Deployment template validation failed";

    fn validation(kind: ErrorKind, inner: String, violation: Option<Violation>) -> TemplateError {
        TemplateError {
            kind,
            code: "InvalidTemplate",
            message: format!("{VALIDATION}: '{inner}'."),
            violation,
            details: Vec::new(),
        }
    }

    fn at(pos: Pos, path: &str) -> Violation {
        Violation { line: pos.line, column: pos.column, path: path.into() }
    }

    /// An expression error inside a resource (or a parameter default, which Azure names the
    /// same way).
    pub fn resource(kind: ErrorKind, name: &str, decl: Pos, inner: &str, value: Pos, path: &str) -> TemplateError {
        validation(
            kind,
            format!(
                "The template resource '{name}' at line '{}' and column '{}' is not valid: {inner}. Please see {FUNCTIONS_LINK} for usage details.",
                decl.line, decl.column
            ),
            Some(at(value, path)),
        )
    }

    /// An expression error in a variable.
    pub fn variable(kind: ErrorKind, name: &str, inner: &str, value: Pos, path: &str) -> TemplateError {
        validation(
            kind,
            format!(
                "The template variable '{name}' is not valid: {inner}. Please see {FUNCTIONS_LINK} for usage details."
            ),
            Some(at(value, path)),
        )
    }

    /// An expression error in an output, found before deploying.
    pub fn output(kind: ErrorKind, name: &str, inner: &str, value: Pos, path: &str) -> TemplateError {
        validation(
            kind,
            format!(
                "The template output '{name}' is not valid: {inner}. Please see {FUNCTIONS_LINK} for usage details."
            ),
            Some(at(value, path)),
        )
    }

    /// An expression error in a user-defined function.
    pub fn function(kind: ErrorKind, name: &str, inner: &str, value: Pos, path: &str) -> TemplateError {
        validation(
            kind,
            format!(
                "The template function '{name}' is not valid: {inner}. Please see https://aka.ms/arm-syntax-functions for usage details."
            ),
            Some(at(value, path)),
        )
    }

    /// An error with no declaration to name.
    pub fn plain(kind: ErrorKind, inner: String, violation: Option<Violation>) -> TemplateError {
        validation(kind, inner, violation)
    }

    pub fn parameter_not_provided(name: &str, pos: Pos, path: &str) -> TemplateError {
        validation(
            ErrorKind::ParameterNotProvided,
            format!(
                "The value for the template parameter '{name}' at line '{}' and column '{}' is not provided. Please see https://aka.ms/arm-create-parameter-file for usage details.",
                pos.line, pos.column
            ),
            Some(at(pos, path)),
        )
    }

    /// Azure's type names in this message: `String, Uri` for strings, then `Integer`,
    /// `Boolean`, `Object`, `Array`.
    pub fn parameter_type(expected: &str, actual: &str, pos: Pos, path: &str) -> TemplateError {
        validation(
            ErrorKind::ParameterType,
            format!(
                "Template parameter JToken type is not valid. Expected '{expected}'. Actual '{actual}'. Please see https://aka.ms/resource-manager-parameter-files for usage details."
            ),
            Some(at(pos, path)),
        )
    }

    pub fn parameter_not_allowed(name: &str, value: &str, allowed: &str, pos: Pos, path: &str) -> TemplateError {
        validation(
            ErrorKind::ParameterValue,
            format!(
                "The provided value '{value}' for the template parameter '{name}' at line '{}' and column '{}' is not valid. The parameter value is not part of the allowed value(s): '{allowed}'.",
                pos.line, pos.column
            ),
            Some(at(pos, path)),
        )
    }

    /// A `minValue`/`maxValue`/`minLength`/`maxLength` or user-defined type violation; `why`
    /// completes "The parameter value …".
    pub fn parameter_constraint(name: &str, value: &str, why: &str, pos: Pos, path: &str) -> TemplateError {
        validation(
            ErrorKind::ParameterValue,
            format!(
                "The provided value '{value}' for the template parameter '{name}' at line '{}' and column '{}' is not valid. {why}",
                pos.line, pos.column
            ),
            Some(at(pos, path)),
        )
    }

    pub fn unknown_parameters(unknown: &[String], supported: &[String]) -> TemplateError {
        validation(
            ErrorKind::UnknownParameters,
            format!(
                "The template parameters '{}' in the parameters file are not valid; they are not present in the original template and can therefore not be provided at deployment time. The only supported parameters for this template are '{}'. Please see https://aka.ms/arm-deploy/#parameter-file for usage details.",
                unknown.join(", "),
                supported.join(", ")
            ),
            Some(Violation { line: 0, column: 0, path: String::new() }),
        )
    }

    pub fn key_vault_reference(name: &str) -> TemplateError {
        validation(
            ErrorKind::KeyVaultReference,
            format!(
                "The value of the template parameter '{name}' is a Key Vault reference; pullsim's template engine has no Key Vault to resolve it from. Pass the value itself."
            ),
            None,
        )
    }

    pub fn circular_dependency(id: &str) -> TemplateError {
        validation(
            ErrorKind::CircularDependency,
            format!(
                "Circular dependency detected on resource: '{id}'. Please see https://aka.ms/arm-syntax-resources for usage details."
            ),
            Some(Violation { line: 0, column: 0, path: String::new() }),
        )
    }

    pub fn dependency_not_found(target: &str, pos: Pos, path: &str) -> TemplateError {
        validation(
            ErrorKind::DependencyNotFound,
            format!(
                "The resource '{target}' is not defined in the template. Please see https://aka.ms/arm-syntax-resources for usage details."
            ),
            Some(at(pos, path)),
        )
    }

    pub fn reference_not_found(name: &str, pos: Pos, path: &str) -> TemplateError {
        validation(ErrorKind::ReferenceNotFound, msg::reference_not_found(name), Some(at(pos, path)))
    }

    pub fn duplicate_resource(id: &str, pos: Pos, path: &str) -> TemplateError {
        validation(
            ErrorKind::DuplicateResource,
            format!(
                "The resource '{id}' at line '{}' and column '{}' is defined multiple times in a template. Please see https://aka.ms/arm-syntax-resources for usage details.",
                pos.line, pos.column
            ),
            Some(at(pos, path)),
        )
    }

    pub fn segment_lengths(name: &str, ty: &str, pos: Pos, path: &str) -> TemplateError {
        validation(
            ErrorKind::SegmentLengths,
            format!(
                "The template resource '{name}' for type '{ty}' at line '{}' and column '{}' has incorrect segment lengths. A nested resource type must have identical number of segments as its resource name. A root resource type must have segment length one greater than its resource name. Please see https://aka.ms/arm-syntax-resources for usage details.",
                pos.line, pos.column
            ),
            Some(at(pos, path)),
        )
    }

    /// A required property missing or of the wrong JSON type.
    pub fn structure(what: &str, pos: Pos, path: &str) -> TemplateError {
        TemplateError {
            kind: ErrorKind::InvalidStructure,
            code: "InvalidTemplate",
            message: format!(
                "Deployment template parse failed: '{what} Path '{path}', line {}, position {}.'.",
                pos.line, pos.column
            ),
            violation: Some(at(pos, path)),
            details: Vec::new(),
        }
    }

    pub fn copy(name: &str, why: &str, pos: Pos, path: &str) -> TemplateError {
        validation(
            ErrorKind::InvalidCopy,
            format!(
                "The template resource '{name}' at line '{}' and column '{}' is not valid: {why} Please see https://aka.ms/arm-copy for usage details.",
                pos.line, pos.column
            ),
            Some(at(pos, path)),
        )
    }

    pub fn linked_template(name: &str, uri: &str, pos: Pos, path: &str) -> TemplateError {
        validation(
            ErrorKind::LinkedTemplateUnsupported,
            format!(
                "The template resource '{name}' at line '{}' and column '{}' is not valid: it is a linked template ('templateLink' '{uri}'), and pullsim has no network to fetch templates from. Put the template inline in 'properties.template'.",
                pos.line, pos.column
            ),
            Some(at(pos, path)),
        )
    }

    pub fn invalid_json(message: &str, pos: Pos) -> TemplateError {
        TemplateError {
            kind: ErrorKind::InvalidJson,
            code: "InvalidRequestContent",
            message: format!(
                "The request content was invalid and could not be deserialized: '{message} Path '', line {}, position {}.'.",
                pos.line, pos.column
            ),
            violation: None,
            details: Vec::new(),
        }
    }

    /// Azure's preflight failure (confirmed: Azure/azure-powershell#23850, 2024):
    /// `InvalidTemplateDeployment`, the providers' errors as details.
    pub fn invalid_deployment(name: &str, tracking_id: &str, details: Vec<ErrorDetail>) -> TemplateError {
        TemplateError {
            kind: ErrorKind::PreflightFailed,
            code: "InvalidTemplateDeployment",
            message: format!(
                "The template deployment '{name}' is not valid according to the validation procedure. The tracking id is '{tracking_id}'. See inner errors for details."
            ),
            violation: None,
            details,
        }
    }

    pub fn invalid_request(message: String) -> TemplateError {
        TemplateError {
            kind: ErrorKind::InvalidRequest,
            code: "InvalidRequestContent",
            message,
            violation: None,
            details: Vec::new(),
        }
    }
}

/// Messages of a running deployment (operations and the deployment's own error).
pub(crate) mod run {
    use super::*;

    pub fn deployment_failed(target: &str, details: Vec<ErrorDetail>) -> ErrorDetail {
        ErrorDetail {
            code: "DeploymentFailed".into(),
            message: "At least one resource deployment operation failed. Please list deployment operations for details. Please see https://aka.ms/arm-deployment-operations for usage details.".into(),
            target: Some(target.into()),
            details,
        }
    }

    pub fn expression_failed(id: &str, pos: Pos, inner: &str) -> ErrorDetail {
        ErrorDetail::new(
            "InvalidTemplate",
            format!(
                "Unable to process template language expressions for resource '{id}' at line '{}' and column '{}'. '{inner}'",
                pos.line, pos.column
            ),
        )
    }

    pub fn output_failed(name: &str, inner: &str) -> ErrorDetail {
        ErrorDetail {
            code: "DeploymentOutputEvaluationFailed".into(),
            message: format!(
                "The template output '{name}' is not valid: {inner}Please see https://aka.ms/arm-template/#outputs for usage details.."
            ),
            target: Some(name.into()),
            details: Vec::new(),
        }
    }

    pub fn outputs_failed(target: &str, details: Vec<ErrorDetail>) -> ErrorDetail {
        ErrorDetail {
            code: "DeploymentOutputEvaluationFailed".into(),
            message: "Unable to evaluate template outputs. Please see error details and deployment operations. Please see https://aka.ms/arm-deployment-operations for usage details.".into(),
            target: Some(target.into()),
            details,
        }
    }

    pub fn output_type(expected: &str, actual: &str) -> String {
        format!("Template output JToken type is not valid. Expected '{expected}'. Actual '{actual}'.")
    }

    pub fn canceled(id: &str) -> ErrorDetail {
        ErrorDetail::new(
            "DeploymentCanceled",
            format!("The deployment '{id}' was canceled before this resource was deployed."),
        )
    }
}
