//! Resource declarations expanded into instances: copy loops (one instance per index, with
//! `copyIndex()`), child resources (a nested `resources` entry's type and name are relative
//! to its parent's), conditions (a resource whose condition is false is skipped: its body is
//! never evaluated, as in Azure), target scopes (`subscriptionId`, `resourceGroup` of nested
//! deployments, `scope` of extension resources) and IDs.
//!
//! Everything here is evaluated before deploying, where `reference()` cannot run: a body
//! (or condition) that needs it is left for its wave.

use serde_json::{Map, Value};

use crate::error::{ErrorKind, EvalError, TemplateError, msg, wrap};
use crate::eval::{Frame, Frames, NodeError, NodeOptions, Place, Scope, eval_node, join_path};
use crate::ids;
use crate::json::Node;
use crate::template::{ResourceDecl, Template, is_deployment_type};
use crate::value::type_name;

/// Azure's limit on a copy loop's count.
pub(crate) const MAX_COPY: usize = 800;

/// A copy loop's count: an integer from 0 to 800.
pub(crate) fn copy_count(v: &Value) -> Result<usize, EvalError> {
    match v.as_i64() {
        Some(n) if (0..=MAX_COPY as i64).contains(&n) => Ok(n as usize),
        Some(n) => Err(EvalError::new(
            ErrorKind::InvalidCopy,
            format!("The copy count '{n}' is not valid: it must be between 0 and {MAX_COPY}."),
        )),
        None => Err(EvalError::new(
            ErrorKind::InvalidCopy,
            format!("The copy count must be an integer; it is of type '{}'.", type_name(v)),
        )),
    }
}

/// Whether a resource deploys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cond {
    True,
    False,
    /// The condition needs `reference()`: decided when the wave runs.
    Deferred,
}

/// Where an instance sits in its copy loop.
#[derive(Debug, Clone)]
pub(crate) struct CopyPos {
    pub name: String,
    pub index: i64,
    /// `batchSize` of a serial loop.
    pub batch: Option<usize>,
}

/// How a nested deployment evaluates its template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NestedScope {
    Inner,
    Outer,
}

/// The subscription and group a resource deploys into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub subscription: String,
    pub group: Option<String>,
}

impl Target {
    pub fn scope_id(&self) -> String {
        match &self.group {
            Some(g) => format!("/subscriptions/{}/resourceGroups/{g}", self.subscription),
            None => format!("/subscriptions/{}", self.subscription),
        }
    }
}

/// One resource to deploy (or skip, or read).
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub decl: usize,
    pub copy: Option<CopyPos>,
    /// languageVersion 2.0: the symbolic name (`name` or, in a loop, `name[i]`).
    pub symbolic: Option<String>,
    pub condition: Cond,
    pub existing: bool,
    pub ty: String,
    pub name: String,
    pub api_version: String,
    pub id: String,
    pub target: Target,
    pub nested: Option<NestedScope>,
    /// The PUT body, when it could be evaluated before deploying.
    pub body: Option<Value>,
    pub depends: Vec<usize>,
}

impl Instance {
    /// The copy frame of this instance.
    pub fn frames(&self) -> Option<Frames<'_>> {
        self.copy
            .as_ref()
            .map(|c| Frames { frame: Frame::Copy { name: &c.name, index: c.index, named_only: false }, parent: None })
    }

    /// How Azure's messages name the resource: the symbolic name, else the name.
    pub fn display(&self) -> String {
        self.symbolic.clone().unwrap_or_else(|| self.name.clone())
    }
}

/// Members of a resource that are instructions to the deployment engine, not part of the
/// body sent to the resource provider.
const ENGINE_KEYS: &[&str] = &[
    "apiVersion",
    "type",
    "name",
    "dependsOn",
    "copy",
    "condition",
    "comments",
    "resources",
    "scope",
    "existing",
    "subscriptionId",
    "resourceGroup",
    "import",
];

/// Expands the resources of `t` (whose expressions see `sc`) deploying into `target`.
pub(crate) fn expand(t: &Template, sc: Scope<'_>, target: &Target) -> Result<Vec<Instance>, TemplateError> {
    let mut out: Vec<Instance> = Vec::new();
    // For each declaration, the instances it produced (children repeat per parent instance).
    let mut by_decl: Vec<Vec<usize>> = Vec::with_capacity(t.resources.len());
    for (di, decl) in t.resources.iter().enumerate() {
        let mut mine = Vec::new();
        match decl.parent {
            Some(p) => {
                let parents = by_decl[p].clone();
                for pi in parents {
                    let parent = out[pi].clone();
                    mine.extend(expand_decl(di, decl, sc, target, Some(&parent), &mut out)?);
                }
            }
            None => mine.extend(expand_decl(di, decl, sc, target, None, &mut out)?),
        }
        by_decl.push(mine);
    }
    Ok(out)
}

fn resource_error(decl: &ResourceDecl, shown: &str, e: NodeError) -> TemplateError {
    match e.err {
        EvalError::Failed(f) => wrap::resource(f.kind, shown, decl.node.pos, &f.message, e.pos, &e.path),
        EvalError::Deferred => wrap::resource(
            ErrorKind::FunctionNotExpected,
            shown,
            decl.node.pos,
            &msg::function_not_expected("reference"),
            e.pos,
            &e.path,
        ),
    }
}

fn expand_decl(
    di: usize,
    decl: &ResourceDecl,
    sc: Scope<'_>,
    target: &Target,
    parent: Option<&Instance>,
    out: &mut Vec<Instance>,
) -> Result<Vec<usize>, TemplateError> {
    let node = &decl.node;
    let shown0 = decl
        .symbolic
        .clone()
        .unwrap_or_else(|| node.get("name").and_then(Node::as_str).unwrap_or_default().to_string());
    let fail = |e: NodeError| resource_error(decl, &shown0, e);
    let copy = match node.get("copy") {
        Some(c) if parent.is_none() => Some(read_copy(decl, c, sc, &shown0)?),
        _ => None,
    };
    let mut made = Vec::new();
    let count = copy.as_ref().map_or(1, |c| c.1);
    for index in 0..count {
        let copy_pos =
            copy.as_ref().map(|(name, _, batch)| CopyPos { name: name.clone(), index: index as i64, batch: *batch });
        let inherited = parent.and_then(|p| p.copy.clone());
        let pos = copy_pos.clone().or(inherited);
        let frames = pos
            .as_ref()
            .map(|c| Frames { frame: Frame::Copy { name: &c.name, index: c.index, named_only: false }, parent: None });
        let isc = match &frames {
            Some(f) => sc.push(f),
            None => sc,
        };
        let stat = isc.at(Place::Static);
        let symbolic = decl.symbolic.as_ref().map(|s| if copy.is_some() { format!("{s}[{index}]") } else { s.clone() });

        let condition = match node.get("condition") {
            _ if parent.is_some_and(|p| p.condition == Cond::False) => Cond::False,
            None => parent.map_or(Cond::True, |p| p.condition),
            Some(c) => {
                match eval_node(c, isc.at(Place::Runtime), &join_path(&decl.path, "condition"), NodeOptions::default())
                {
                    Ok(Value::Bool(true)) => parent.map_or(Cond::True, |p| p.condition),
                    Ok(Value::Bool(false)) => Cond::False,
                    Ok(other) => {
                        return Err(wrap::resource(
                            ErrorKind::Evaluation,
                            &shown0,
                            node.pos,
                            &format!(
                                "The template condition must evaluate to a boolean; it is of type '{}'.",
                                type_name(&other)
                            ),
                            c.pos,
                            &join_path(&decl.path, "condition"),
                        ));
                    }
                    Err(NodeError { err: EvalError::Deferred, .. }) => Cond::Deferred,
                    Err(e) => return Err(fail(e)),
                }
            }
        };
        let existing = node.get("existing").is_some_and(|e| e.to_value() == Value::Bool(true));

        let statically = |key: &str| -> Result<Option<Value>, NodeError> {
            match node.get(key) {
                None => Ok(None),
                Some(n) => eval_node(n, stat, &join_path(&decl.path, key), NodeOptions::default()).map(Some),
            }
        };
        // A skipped resource is not evaluated; its names are computed only if they can be,
        // so that a dependsOn naming it still resolves.
        let skipped = condition == Cond::False;
        let text = |key: &str| -> Result<String, TemplateError> {
            match statically(key) {
                Ok(Some(Value::String(s))) => Ok(s),
                Ok(Some(other)) => Err(wrap::resource(
                    ErrorKind::Evaluation,
                    &shown0,
                    node.pos,
                    &format!("The template property '{key}' must be a string; it is of type '{}'.", type_name(&other)),
                    node.get(key).map_or(node.pos, |n| n.pos),
                    &join_path(&decl.path, key),
                )),
                Ok(None) => Ok(String::new()),
                Err(e) => Err(fail(e)),
            }
        };
        let names = (|| -> Result<(String, String, String), TemplateError> {
            let raw_ty = text("type")?;
            let raw_name = text("name")?;
            let api = text("apiVersion")?;
            let (ty, name) = match parent {
                Some(p) if !raw_ty.contains('/') => (format!("{}/{raw_ty}", p.ty), format!("{}/{raw_name}", p.name)),
                _ => (raw_ty, raw_name),
            };
            Ok((ty, name, api))
        })();
        let (ty, name, api_version) = match names {
            Ok(n) => n,
            Err(_) if skipped => (String::new(), String::new(), String::new()),
            Err(e) => return Err(e),
        };
        let shown = symbolic.clone().unwrap_or_else(|| name.clone());
        if !skipped {
            let type_segs = ty.split('/').count();
            let name_segs = name.split('/').count();
            if name.is_empty() || type_segs < 2 || name_segs != type_segs - 1 || name.split('/').any(str::is_empty) {
                return Err(wrap::segment_lengths(&name, &ty, node.pos, &decl.path));
            }
        }

        let target = {
            let sub = match statically("subscriptionId") {
                Ok(Some(Value::String(s))) => s,
                Ok(_) => target.subscription.clone(),
                Err(e) if !skipped => return Err(fail(e)),
                Err(_) => target.subscription.clone(),
            };
            let group = match statically("resourceGroup") {
                Ok(Some(Value::String(g))) => Some(g),
                Ok(_) => target.group.clone(),
                Err(e) if !skipped => return Err(fail(e)),
                Err(_) => target.group.clone(),
            };
            Target { subscription: sub, group }
        };
        let scope_id = match statically("scope") {
            Ok(Some(Value::String(s))) => Some(extension_scope(&s, &target, out)),
            Ok(_) => None,
            Err(e) if !skipped => return Err(fail(e)),
            Err(_) => None,
        };
        let id = if name.is_empty() {
            String::new()
        } else {
            match &scope_id {
                Some(s) => ids::resource_id(s, &ty, &name),
                None => ids::resource_id(&target.scope_id(), &ty, &name),
            }
        };

        let nested = if is_deployment_type(&ty) && !existing {
            let props = node.get("properties");
            if let Some(link) = props.and_then(|p| p.get("templateLink")) {
                if !skipped {
                    let uri = link.get("uri").or_else(|| link.get("id")).and_then(Node::as_str).unwrap_or_default();
                    return Err(wrap::linked_template(&shown, uri, node.pos, &decl.path));
                }
                None
            } else if props.and_then(|p| p.get("template")).is_some() {
                let scope_node = props.and_then(|p| p.get("expressionEvaluationOptions")).and_then(|o| o.get("scope"));
                let inner = match scope_node {
                    Some(n) => match eval_node(n, stat, &decl.path, NodeOptions::default()) {
                        Ok(Value::String(s)) => s.eq_ignore_ascii_case("inner"),
                        _ => false,
                    },
                    None => false,
                };
                Some(if inner { NestedScope::Inner } else { NestedScope::Outer })
            } else {
                None
            }
        } else {
            None
        };

        let body = if skipped || existing || condition == Cond::Deferred {
            None
        } else {
            match body(node, isc.at(Place::Runtime), &decl.path, nested.is_some(), false) {
                Ok(v) => Some(v),
                Err(NodeError { err: EvalError::Deferred, .. }) => None,
                Err(e) => return Err(resource_error(decl, &shown, e)),
            }
        };

        made.push(out.len());
        out.push(Instance {
            decl: di,
            copy: pos,
            symbolic,
            condition,
            existing,
            ty,
            name,
            api_version,
            id,
            target,
            nested,
            body,
            depends: Vec::new(),
        });
    }
    Ok(made)
}

/// The `copy` of a resource: name, count, and the batch size of a serial loop.
fn read_copy(
    decl: &ResourceDecl,
    c: &Node,
    sc: Scope<'_>,
    shown: &str,
) -> Result<(String, usize, Option<usize>), TemplateError> {
    let path = join_path(&decl.path, "copy");
    let stat = sc.at(Place::Static);
    let field = |key: &str| -> Result<Option<Value>, TemplateError> {
        match c.get(key) {
            None => Ok(None),
            Some(n) => eval_node(n, stat, &join_path(&path, key), NodeOptions::default())
                .map(Some)
                .map_err(|e| resource_error(decl, shown, e)),
        }
    };
    let bad = |why: String| wrap::copy(shown, &why, decl.node.pos, &path);
    let name = match field("name")? {
        Some(Value::String(s)) if !s.is_empty() => s,
        _ => return Err(bad("The copy loop needs a 'name'.".into())),
    };
    let count = field("count")?.ok_or_else(|| bad("The copy loop needs a 'count'.".into()))?;
    let count = copy_count(&count).map_err(|e| match e {
        EvalError::Failed(f) => bad(f.message),
        EvalError::Deferred => bad("The copy count cannot use 'reference'.".into()),
    })?;
    let batch = match field("mode")? {
        None => None,
        Some(Value::String(m)) if m.eq_ignore_ascii_case("parallel") => None,
        Some(Value::String(m)) if m.eq_ignore_ascii_case("serial") => {
            let size = match field("batchSize")? {
                None => 1,
                Some(v) => match v.as_i64() {
                    Some(n) if n >= 1 => n as usize,
                    _ => return Err(bad("The copy 'batchSize' must be an integer of at least 1.".into())),
                },
            };
            Some(size)
        }
        Some(other) => {
            return Err(bad(format!(
                "The copy mode '{}' is not valid: it must be 'Serial' or 'Parallel'.",
                crate::value::to_text(&other)
            )));
        }
    };
    Ok((name, count, batch))
}

/// The ID of an extension resource's scope: a resource ID, a `Type/name` relative to the
/// target group, or (languageVersion 2.0) a symbolic name of this template.
fn extension_scope(s: &str, target: &Target, made: &[Instance]) -> String {
    if s.starts_with('/') {
        return s.trim_end_matches('/').to_string();
    }
    if let Some(i) = made.iter().find(|i| i.symbolic.as_deref().is_some_and(|sym| sym.eq_ignore_ascii_case(s))) {
        return i.id.clone();
    }
    let segs: Vec<&str> = s.split('/').collect();
    if segs.len() >= 3 && !segs.len().is_multiple_of(2) {
        let ty = std::iter::once(segs[0]).chain(segs[1..].iter().step_by(2).copied()).collect::<Vec<_>>().join("/");
        let name = segs[2..].iter().step_by(2).copied().collect::<Vec<_>>().join("/");
        return ids::resource_id(&target.scope_id(), &ty, &name);
    }
    s.to_string()
}

/// The body sent to the resource provider: the resource minus the engine's keys, with
/// property copy loops expanded inside `properties`. A nested deployment keeps its inline
/// template out (it is deployed, not evaluated here).
pub(crate) fn body(
    node: &Node,
    sc: Scope<'_>,
    path: &str,
    nested: bool,
    keep_deferred: bool,
) -> Result<Value, NodeError> {
    let plain = NodeOptions { property_copy: false, keep_deferred };
    let mut out = Map::new();
    for m in node.members().unwrap_or_default() {
        if ENGINE_KEYS.iter().any(|k| k.eq_ignore_ascii_case(&m.key)) {
            continue;
        }
        let p = join_path(path, &m.key);
        let is_props = m.key.eq_ignore_ascii_case("properties");
        let v = if is_props && nested {
            let mut props = Map::new();
            for pm in m.value.members().unwrap_or_default() {
                if pm.key.eq_ignore_ascii_case("template") {
                    continue;
                }
                props.insert(pm.key.clone(), eval_node(&pm.value, sc, &join_path(&p, &pm.key), plain)?);
            }
            Value::Object(props)
        } else {
            eval_node(&m.value, sc, &p, NodeOptions { property_copy: is_props, keep_deferred })?
        };
        out.insert(m.key.clone(), v);
    }
    Ok(Value::Object(out))
}
