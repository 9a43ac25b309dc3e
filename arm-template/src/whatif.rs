//! What-if: the changes a deployment would make, compared with the host's current state, in
//! the shape of Azure's `WhatIfOperationResult` (what `az deployment group what-if` prints).
//!
//! Each resource the template deploys is `Create` (absent now), `NoChange` or `Modify` (with
//! a `delta` of property changes); resources of the group the template does not name are
//! `Ignore` in Incremental mode and `Delete` in Complete mode. Inline nested deployments are
//! expanded (their resources appear, not the deployment). Properties the host marks as owned
//! by the provider are not compared; a value that needs a resource this deployment creates
//! stays as its expression text, as Azure shows it.

use std::cell::RefCell;

use serde_json::{Map, Value, json};

use crate::context::Mode;
use crate::deploy::Deployment;
use crate::error::{ErrorDetail, EvalError};
use crate::eval::{NodeOptions, join_path};
use crate::exec::{Host, Runtime, scope_for};
use crate::ids;
use crate::resources::{self, Cond};
use crate::value::{deep_equals, get_ci};

/// A resource's predicted change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    /// It will be created.
    Create,
    /// It will be deleted (Complete mode).
    Delete,
    /// It exists and the template does not name it: left alone.
    Ignore,
    /// It will be deployed but what-if cannot predict how it changes.
    Deploy,
    /// Deploying changes nothing.
    NoChange,
    /// Properties will change.
    Modify,
    /// What-if does not support it.
    Unsupported,
}

impl ChangeType {
    /// Azure's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Create => "Create",
            ChangeType::Delete => "Delete",
            ChangeType::Ignore => "Ignore",
            ChangeType::Deploy => "Deploy",
            ChangeType::NoChange => "NoChange",
            ChangeType::Modify => "Modify",
            ChangeType::Unsupported => "Unsupported",
        }
    }
}

/// A property's predicted change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyChangeType {
    /// Added.
    Create,
    /// Removed.
    Delete,
    /// Changed.
    Modify,
    /// An array whose elements change (see the children).
    Array,
    /// Changes that have no effect.
    NoEffect,
}

impl PropertyChangeType {
    /// Azure's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PropertyChangeType::Create => "Create",
            PropertyChangeType::Delete => "Delete",
            PropertyChangeType::Modify => "Modify",
            PropertyChangeType::Array => "Array",
            PropertyChangeType::NoEffect => "NoEffect",
        }
    }
}

/// One entry of a `delta`.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyChange {
    /// Dotted path (`properties.siteConfig.linuxFxVersion`); an array element's index.
    pub path: String,
    /// The change.
    pub change_type: PropertyChangeType,
    /// Value before.
    pub before: Option<Value>,
    /// Value after.
    pub after: Option<Value>,
    /// Changes inside (arrays, and objects inside arrays).
    pub children: Vec<PropertyChange>,
}

impl PropertyChange {
    fn to_json(&self) -> Value {
        let mut v = json!({"path": self.path, "propertyChangeType": self.change_type.as_str()});
        if let Some(b) = &self.before {
            v["before"] = b.clone();
        }
        if let Some(a) = &self.after {
            v["after"] = a.clone();
        }
        if !self.children.is_empty() {
            v["children"] = Value::Array(self.children.iter().map(PropertyChange::to_json).collect());
        }
        v
    }
}

/// One resource's predicted change.
#[derive(Debug, Clone, PartialEq)]
pub struct WhatIfChange {
    /// Full ID.
    pub resource_id: String,
    /// The change.
    pub change_type: ChangeType,
    /// The resource now (with `apiVersion`).
    pub before: Option<Value>,
    /// The resource predicted (with `apiVersion`).
    pub after: Option<Value>,
    /// Property changes of a `Modify`.
    pub delta: Vec<PropertyChange>,
    /// Why it is `Unsupported`.
    pub unsupported_reason: Option<String>,
}

/// What `POST …/deployments/{name}/whatIf` answers.
#[derive(Debug, Clone, PartialEq)]
pub struct WhatIfResult {
    /// The changes, in deployment order then the group's other resources.
    pub changes: Vec<WhatIfChange>,
    /// Set when what-if itself failed.
    pub error: Option<ErrorDetail>,
}

impl WhatIfResult {
    /// Azure's `WhatIfOperationResult` JSON.
    pub fn to_json(&self) -> Value {
        let changes: Vec<Value> = self
            .changes
            .iter()
            .map(|c| {
                let mut v = json!({"resourceId": c.resource_id, "changeType": c.change_type.as_str()});
                if let Some(b) = &c.before {
                    v["before"] = b.clone();
                }
                if let Some(a) = &c.after {
                    v["after"] = a.clone();
                }
                if !c.delta.is_empty() {
                    v["delta"] = Value::Array(c.delta.iter().map(PropertyChange::to_json).collect());
                }
                if let Some(r) = &c.unsupported_reason {
                    v["unsupportedReason"] = json!(r);
                }
                v
            })
            .collect();
        let mut out = json!({
            "status": if self.error.is_some() { "Failed" } else { "Succeeded" },
            "properties": {"changes": changes},
        });
        if let Some(e) = &self.error {
            out["error"] = e.to_json();
        }
        out
    }
}

/// Members never compared: the resource's identity and the metadata ARM adds.
const IDENTITY_KEYS: &[&str] = &["id", "name", "type", "apiVersion", "etag", "systemData"];

impl Deployment {
    /// The changes deploying would make, against the host's current state.
    pub fn what_if(self, host: &mut dyn Host) -> WhatIfResult {
        let mode = self.mode;
        let scope = self.target.scope_id();
        let mut changes = Vec::new();
        predict(self, host, &mut changes);
        let named: Vec<String> = changes.iter().map(|c| ids::normalize(&c.resource_id)).collect();
        match host.list(&scope) {
            Ok(existing) => {
                for r in existing {
                    let Some(id) = r.get("id").and_then(Value::as_str) else { continue };
                    if named.contains(&ids::normalize(id)) {
                        continue;
                    }
                    let change_type = if mode == Mode::Complete { ChangeType::Delete } else { ChangeType::Ignore };
                    changes.push(WhatIfChange {
                        resource_id: id.to_string(),
                        change_type,
                        before: Some(r.clone()),
                        after: None,
                        delta: Vec::new(),
                        unsupported_reason: None,
                    });
                }
                WhatIfResult { changes, error: None }
            }
            Err(e) => WhatIfResult { changes, error: Some(e.error) },
        }
    }
}

fn predict(dep: Deployment, host: &mut dyn Host, out: &mut Vec<WhatIfChange>) {
    let order: Vec<usize> = dep.waves.iter().flatten().copied().collect();
    let x = dep.start();
    for k in order {
        let inst = x.dep_instance(k).clone();
        if inst.condition == Cond::False || inst.existing {
            continue;
        }
        let decl = x.decl_node(k).clone();
        let decl_path = x.decl_path(k).to_string();
        let body = {
            let runtime = Runtime { x: &x, host: RefCell::new(&mut *host), what_if: true };
            let frames = inst.frames();
            let sc = scope_for(x.deployment(), frames.as_ref(), Some(&runtime));
            if inst.condition == Cond::Deferred
                && let Some(c) = decl.get("condition")
                && let Ok(Value::Bool(false)) =
                    crate::eval::eval_node(c, sc, &join_path(&decl_path, "condition"), NodeOptions::default())
            {
                continue;
            }
            match &inst.body {
                Some(b) => Ok(b.clone()),
                None => resources::body(&decl, sc, &decl_path, inst.nested.is_some(), true),
            }
        };
        let body = match body {
            Ok(b) => b,
            Err(e) => {
                let reason = match e.err {
                    EvalError::Failed(f) => f.message,
                    EvalError::Deferred => "The resource's properties could not be evaluated.".into(),
                };
                out.push(unsupported(&inst.id, reason));
                continue;
            }
        };
        if inst.nested.is_some() {
            let child = {
                let groups = RefCell::new(&mut *host);
                let lookup = |sub: &str, g: &str| {
                    x.deployment()
                        .known_group(sub, g)
                        .or_else(|| groups.borrow_mut().resource_group(sub, g).ok().flatten())
                };
                x.deployment().prepare_nested(k, &body, &lookup)
            };
            match child {
                Ok(Some(c)) => predict(c, host, out),
                Ok(None) => out.push(unsupported(
                    &inst.id,
                    "The target resource group of the nested deployment does not exist yet.".into(),
                )),
                Err(e) => out.push(unsupported(&inst.id, e.message)),
            }
            continue;
        }
        let mut after = Map::new();
        after.insert("id".into(), json!(inst.id));
        after.insert("name".into(), json!(inst.name.rsplit('/').next().unwrap_or_default()));
        after.insert("type".into(), json!(inst.ty));
        after.insert("apiVersion".into(), json!(inst.api_version));
        if let Value::Object(b) = body {
            after.extend(b);
        }
        let after = Value::Object(after);
        let before = match host.get(&inst.id, Some(&inst.api_version)) {
            Ok(b) => b,
            Err(e) => {
                out.push(unsupported(&inst.id, e.error.message));
                continue;
            }
        };
        let Some(mut before) = before else {
            out.push(WhatIfChange {
                resource_id: inst.id.clone(),
                change_type: ChangeType::Create,
                before: None,
                after: Some(after),
                delta: Vec::new(),
                unsupported_reason: None,
            });
            continue;
        };
        if let Value::Object(b) = &mut before {
            b.insert("apiVersion".into(), json!(inst.api_version));
        }
        let read_only = host.read_only_properties(&inst.ty);
        let mut delta = Vec::new();
        diff(&comparable(&before), &comparable(&after), "", &read_only, &mut delta);
        let change_type = if delta.is_empty() { ChangeType::NoChange } else { ChangeType::Modify };
        out.push(WhatIfChange {
            resource_id: inst.id.clone(),
            change_type,
            before: Some(before),
            after: Some(after),
            delta,
            unsupported_reason: None,
        });
    }
}

fn unsupported(id: &str, reason: String) -> WhatIfChange {
    WhatIfChange {
        resource_id: id.to_string(),
        change_type: ChangeType::Unsupported,
        before: None,
        after: None,
        delta: Vec::new(),
        unsupported_reason: Some(reason),
    }
}

/// A resource without the members never compared.
fn comparable(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !IDENTITY_KEYS.iter().any(|i| i.eq_ignore_ascii_case(k)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn ignored(path: &str, read_only: &[String]) -> bool {
    path.eq_ignore_ascii_case("properties.provisioningState")
        || read_only.iter().any(|r| {
            path.eq_ignore_ascii_case(r)
                || path.to_ascii_lowercase().starts_with(&format!("{}.", r.to_ascii_lowercase()))
        })
}

fn same(path: &str, a: &Value, b: &Value) -> bool {
    if path.eq_ignore_ascii_case("location")
        && let (Value::String(x), Value::String(y)) = (a, b)
    {
        return x.replace(' ', "").eq_ignore_ascii_case(&y.replace(' ', ""));
    }
    deep_equals(a, b)
}

/// The property changes from `before` to `after` under `path`.
pub(crate) fn diff(before: &Value, after: &Value, path: &str, read_only: &[String], out: &mut Vec<PropertyChange>) {
    if ignored(path, read_only) {
        return;
    }
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            for (k, av) in a {
                let p = join_path(path, k);
                match get_ci(b, k) {
                    Some(bv) => diff(bv, av, &p, read_only, out),
                    None if !ignored(&p, read_only) => out.push(PropertyChange {
                        path: p,
                        change_type: PropertyChangeType::Create,
                        before: None,
                        after: Some(av.clone()),
                        children: Vec::new(),
                    }),
                    None => {}
                }
            }
            for (k, bv) in b {
                let p = join_path(path, k);
                if get_ci(a, k).is_none() && !ignored(&p, read_only) {
                    out.push(PropertyChange {
                        path: p,
                        change_type: PropertyChangeType::Delete,
                        before: Some(bv.clone()),
                        after: None,
                        children: Vec::new(),
                    });
                }
            }
        }
        (Value::Array(b), Value::Array(a)) => {
            if deep_equals(before, after) {
                return;
            }
            let mut children = Vec::new();
            for i in 0..a.len().max(b.len()) {
                let p = i.to_string();
                match (b.get(i), a.get(i)) {
                    (Some(bv), Some(av)) if deep_equals(bv, av) => {}
                    (Some(bv @ Value::Object(_)), Some(av @ Value::Object(_))) => {
                        let mut inner = Vec::new();
                        diff(bv, av, "", &[], &mut inner);
                        children.push(PropertyChange {
                            path: p,
                            change_type: PropertyChangeType::Modify,
                            before: None,
                            after: None,
                            children: inner,
                        });
                    }
                    (Some(bv), Some(av)) => children.push(PropertyChange {
                        path: p,
                        change_type: PropertyChangeType::Modify,
                        before: Some(bv.clone()),
                        after: Some(av.clone()),
                        children: Vec::new(),
                    }),
                    (None, Some(av)) => children.push(PropertyChange {
                        path: p,
                        change_type: PropertyChangeType::Create,
                        before: None,
                        after: Some(av.clone()),
                        children: Vec::new(),
                    }),
                    (Some(bv), None) => children.push(PropertyChange {
                        path: p,
                        change_type: PropertyChangeType::Delete,
                        before: Some(bv.clone()),
                        after: None,
                        children: Vec::new(),
                    }),
                    (None, None) => {}
                }
            }
            out.push(PropertyChange {
                path: path.to_string(),
                change_type: PropertyChangeType::Array,
                before: None,
                after: None,
                children,
            });
        }
        (b, a) if !same(path, b, a) => out.push(PropertyChange {
            path: path.to_string(),
            change_type: PropertyChangeType::Modify,
            before: Some(b.clone()),
            after: Some(a.clone()),
            children: Vec::new(),
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_reports_created_deleted_modified_and_array_changes() {
        let before = json!({"location": "West Europe", "properties": {"a": 1, "gone": true, "list": [1, {"x": 1}], "provisioningState": "Succeeded"}});
        let after = json!({"location": "westeurope", "properties": {"a": 2, "new": "n", "list": [1, {"x": 2}, 3]}});
        let mut d = Vec::new();
        diff(&before, &after, "", &[], &mut d);
        let kinds: Vec<(String, &str)> = d.iter().map(|c| (c.path.clone(), c.change_type.as_str())).collect();
        assert_eq!(
            kinds,
            vec![
                ("properties.a".to_string(), "Modify"),
                ("properties.new".to_string(), "Create"),
                ("properties.list".to_string(), "Array"),
                ("properties.gone".to_string(), "Delete"),
            ]
        );
        let array = &d[2];
        assert_eq!(array.children.len(), 2);
        assert_eq!(array.children[0].children[0].path, "x");
        assert_eq!(array.children[1].change_type, PropertyChangeType::Create);
    }

    #[test]
    fn read_only_paths_are_not_compared() {
        let mut d = Vec::new();
        diff(
            &json!({"properties": {"defaultHostName": "x"}}),
            &json!({"properties": {}}),
            "",
            &["properties.defaultHostName".into()],
            &mut d,
        );
        assert!(d.is_empty());
    }
}
