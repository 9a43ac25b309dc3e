//! The inputs of `pullsim import`: templates and parameters files read as ARM reads them
//! (its reader keeps line and column; `//` comments allowed), and `--parameters` given as
//! the Azure CLI takes them: a deploymentParameters file (`FILE` or `@FILE`), inline JSON,
//! or `KEY=VALUE` typed by the template's declaration of `KEY`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// Why an input cannot be used (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A file could not be read.
    #[error("reading {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file is not JSON as ARM reads it.
    #[error("{}:{line}:{column}: {message}", .path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// The reader's message.
        message: String,
    },
    /// JSON of the wrong shape.
    #[error("{what}: {problem}")]
    Shape {
        /// The file or argument.
        what: String,
        /// What is wrong.
        problem: String,
    },
}

/// A JSON file as ARM's reader reads it (comments allowed), errors with line and column.
pub fn read_json(path: &Path) -> Result<Value, InputError> {
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Read { path: path.into(), source })?;
    parse_json(path, &text)
}

fn parse_json(path: &Path, text: &str) -> Result<Value, InputError> {
    arm_template::json::parse(text).map(|n| n.to_value()).map_err(|e| InputError::Json {
        path: path.into(),
        line: e.pos.line,
        column: e.pos.column,
        message: e.message,
    })
}

/// A template: a JSON object with `resources` (as `az group export` and `az bicep build`
/// write it, or written by hand).
pub fn read_template(path: &Path) -> Result<Value, InputError> {
    let t = read_json(path)?;
    let shape = |problem: &str| InputError::Shape { what: path.display().to_string(), problem: problem.into() };
    if !t.is_object() {
        return Err(shape("an ARM template is a JSON object"));
    }
    if t.get("resources").is_none() {
        return Err(shape("not an ARM template: it has no 'resources'"));
    }
    Ok(t)
}

/// The parameters of `--parameters` arguments, later ones over earlier ones, each
/// `{"value": …}` (or `{"reference": …}`) as a deployment's body takes them; and how
/// each argument is shown in the scenario's header (secure values hidden).
pub fn parameters(template: &Value, args: &[String]) -> Result<(Map<String, Value>, Vec<String>), InputError> {
    let mut out = Map::new();
    let mut shown = Vec::new();
    for a in args {
        let file = a.strip_prefix('@').map(PathBuf::from).or_else(|| {
            let p = PathBuf::from(a);
            (!a.trim_start().starts_with('{') && (p.is_file() || !a.contains('='))).then_some(p)
        });
        if let Some(path) = file {
            merge_file(&mut out, &read_json(&path)?, &path.display().to_string())?;
            shown.push(path.display().to_string());
        } else if a.trim_start().starts_with('{') {
            let v = parse_json(Path::new("--parameters"), a)?;
            merge_file(&mut out, &v, "--parameters")?;
            shown.push("(inline JSON)".into());
        } else if let Some((k, v)) = a.split_once('=') {
            let (decl_name, ty) = declared(template, k);
            let value =
                typed(&ty, v).map_err(|problem| InputError::Shape { what: format!("--parameters {a}"), problem })?;
            let secure = ty.starts_with("secure");
            shown.push(if secure { format!("{k}=(secure)") } else { a.clone() });
            out.insert(decl_name, serde_json::json!({ "value": value }));
        }
    }
    Ok((out, shown))
}

/// The template's name and type (lower case) of a parameter, ignoring case; the name as
/// given and `string` when it declares none (ARM then refuses it by name).
fn declared(template: &Value, key: &str) -> (String, String) {
    template["parameters"]
        .as_object()
        .and_then(|ps| ps.iter().find(|(n, _)| n.eq_ignore_ascii_case(key)))
        .map(|(n, d)| (n.clone(), d["type"].as_str().unwrap_or("string").to_ascii_lowercase()))
        .unwrap_or_else(|| (key.to_string(), "string".into()))
}

/// `VALUE` as the parameter's type takes it: strings as given, the rest as JSON.
fn typed(ty: &str, v: &str) -> Result<Value, String> {
    match ty {
        "string" | "securestring" => Ok(Value::String(v.to_string())),
        "bool" => match v.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("'{v}' is not a bool (true or false)")),
        },
        "int" => v.trim().parse::<i64>().map(Value::from).map_err(|_| format!("'{v}' is not an int")),
        _ => serde_json::from_str(v).map_err(|e| format!("'{v}' is not JSON ({e})")),
    }
}

/// A deploymentParameters document (`{"$schema": …, "parameters": {"p": {"value": …}}}`)
/// or its bare `parameters` object, merged into `out`.
fn merge_file(out: &mut Map<String, Value>, v: &Value, what: &str) -> Result<(), InputError> {
    let shape = |problem: String| InputError::Shape { what: what.to_string(), problem };
    let ps = match v.get("parameters") {
        Some(p) if v.get("$schema").is_some() || v.get("contentVersion").is_some() => p,
        _ => v,
    };
    let ps = ps.as_object().ok_or_else(|| shape("parameters must be a JSON object".into()))?;
    for (k, p) in ps {
        if k == "$schema" || k == "contentVersion" {
            continue;
        }
        if p.get("value").is_none() && p.get("reference").is_none() {
            return Err(shape(format!("parameter '{k}' has neither 'value' nor 'reference'")));
        }
        out.insert(k.clone(), p.clone());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn key_value_parameters_take_the_type_the_template_declares() {
        let t = json!({"parameters": {"Flag": {"type": "bool"}, "n": {"type": "int"}, "pw": {"type": "secureString"}}});
        let args: Vec<String> = ["flag=false", "n=3", "pw=hunter2", "other=x"].map(String::from).to_vec();
        let (p, shown) = parameters(&t, &args).unwrap();
        assert_eq!(p["Flag"], json!({"value": false}));
        assert_eq!(p["n"], json!({"value": 3}));
        assert_eq!(p["other"], json!({"value": "x"}));
        assert_eq!(shown, ["flag=false", "n=3", "pw=(secure)", "other=x"]);
    }

    #[test]
    fn a_bool_parameter_refuses_a_word_that_is_not_one() {
        let t = json!({"parameters": {"flag": {"type": "bool"}}});
        let e = parameters(&t, &["flag=yes".into()]).unwrap_err();
        assert_eq!(e.to_string(), "--parameters flag=yes: 'yes' is not a bool (true or false)");
    }

    #[test]
    fn malformed_json_is_placed_by_line_and_column() {
        let e = parse_json(Path::new("t.json"), "{\n  \"a\": [1,\n  }\n").unwrap_err();
        assert!(e.to_string().starts_with("t.json:3:3: "), "{e}");
    }
}
