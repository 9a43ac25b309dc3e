//! A fix as a scenario diff: for a scenario without steps, TOML merged over it (the
//! changes' parts merged into one with the loader's rules); for one whose steps made the
//! configuration, the requests that make the changes as `[[step]]`s.

use std::fmt::Write as _;

use anyhow::Context;
use serde_json::Value;
use toml_edit::DocumentMut;

use super::change::q;
use super::confirm::Sent;
use super::merge::merge_table;
use super::{Diagnosis, Fix};

/// The scenario diff of a fix: for a scenario without steps, TOML merged over it; with
/// steps (whose changes made the configuration), the requests as `[[step]]`s. `Err`
/// names why it cannot be written.
pub fn diff(d: &Diagnosis, fix: &Fix) -> Result<String, String> {
    if d.has_steps {
        return steps_diff(&d.facts.sub, &fix.confirmation.sent);
    }
    let (text, _) = combined_diff(d, fix).map_err(|e| e.to_string())?;
    Ok(text)
}

fn steps_diff(sub: &str, sent: &[Sent]) -> Result<String, String> {
    let mut out = String::new();
    for s in sent {
        if let Some(b) = &s.body
            && b.to_string().contains("DOCKER_REGISTRY_SERVER_PASSWORD")
        {
            return Err(
                "not written as steps: the request carries the registry's password, which a scenario file must not hold".into()
            );
        }
        let path = s.path.replace(sub, "{subscription}");
        let _ = writeln!(out, "[[step]]\narm = {}", q(&format!("{} {path}", s.method)));
        if let Some(b) = &s.body {
            let _ = writeln!(out, "body = {}", inline_toml(b).replace(sub, "{subscription}"));
        }
        out.push('\n');
    }
    out.push_str("[[step]]\npull = true\nexpect = { pull = \"success\" }\n");
    Ok(out)
}

/// JSON as an inline TOML value.
fn inline_toml(v: &Value) -> String {
    match v {
        Value::Null => "\"\"".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => q(s),
        Value::Array(a) => format!("[{}]", a.iter().map(inline_toml).collect::<Vec<_>>().join(", ")),
        Value::Object(o) => {
            let items: Vec<String> = o
                .iter()
                .map(|(k, v)| {
                    let bare = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    format!("{} = {}", if bare { k.clone() } else { q(k) }, inline_toml(v))
                })
                .collect();
            if items.is_empty() { "{}".into() } else { format!("{{ {} }}", items.join(", ")) }
        }
    }
}

/// The fix's changes as one TOML diff, and the `unset` paths it drops / keys it removes.
pub fn combined_diff(d: &Diagnosis, fix: &Fix) -> anyhow::Result<(String, Vec<String>)> {
    let mut doc = DocumentMut::new();
    let mut notes = Vec::new();
    for c in &fix.changes {
        let diff = c.toml(&d.facts);
        let part: DocumentMut = diff.text.parse().with_context(|| format!("the diff of a change: {}", diff.text))?;
        merge_table(doc.as_table_mut(), part.as_table());
        notes.extend(diff.remove.iter().map(|r| format!("# and remove {r} (the plan then sets the client ID)")));
    }
    let mut text = doc.to_string();
    for n in &notes {
        text.push_str(n);
        text.push('\n');
    }
    Ok((text.trim_start().to_string(), notes))
}
