//! The dependency order: explicit `dependsOn` (resource IDs, `Type/name`, plain names, copy
//! loop names, languageVersion 2.0 symbolic names), implicit dependencies of `reference()` and
//! `list*()` on resources of the same template, and the batches of serial copy loops;
//! resolved into waves (resources that could deploy in parallel), or a cycle error.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::error::{EvalError, TemplateError, wrap};
use crate::eval::{NodeOptions, Place, Scope, eval, eval_node, join_path};
use crate::expr::{self, Expr, StringValue};
use crate::ids;
use crate::json::{Node, NodeKind};
use crate::resources::{Cond, Instance};
use crate::template::Template;

/// The instances a `dependsOn` entry or a `reference()` target names; `None` when it names
/// nothing of the template (a copy loop of zero instances names something).
pub(crate) fn resolve_target(t: &Template, instances: &[Instance], target: &str) -> Option<Vec<usize>> {
    let all = |f: &dyn Fn(&Instance) -> bool| -> Vec<usize> {
        instances.iter().enumerate().filter(|(_, i)| f(i)).map(|(k, _)| k).collect()
    };
    let found = |hits: Vec<usize>| if hits.is_empty() { None } else { Some(hits) };
    if t.language_v2 {
        // `name` (every instance of a loop, maybe none) or `name[i]`.
        let decl =
            t.resources.iter().position(|d| d.symbolic.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(target)));
        if let Some(d) = decl {
            return Some(all(&|i| i.decl == d));
        }
        if let Some(hits) = found(all(&|i| i.symbolic.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(target)))) {
            return Some(hits);
        }
    }
    // A copy loop's name: every instance of its declaration.
    let loops: Vec<usize> = t
        .resources
        .iter()
        .enumerate()
        .filter(|(_, d)| {
            d.node
                .get("copy")
                .and_then(|c| c.get("name"))
                .and_then(Node::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(target))
        })
        .map(|(k, _)| k)
        .collect();
    if !loops.is_empty() {
        return Some(all(&|i| loops.contains(&i.decl)));
    }
    if target.starts_with('/') {
        let want = ids::normalize(target);
        return found(all(&|i| !i.id.is_empty() && ids::normalize(&i.id) == want));
    }
    if target.contains('/') {
        let want = target.trim_matches('/').to_ascii_lowercase();
        return found(all(&|i| ids::parse(&i.id).is_some_and(|p| p.type_and_name().eq_ignore_ascii_case(&want))));
    }
    found(all(&|i| i.name.eq_ignore_ascii_case(target)))
}

/// Fills every instance's `depends` (explicit and implicit).
pub(crate) fn link(t: &Template, sc: Scope<'_>, instances: &mut [Instance]) -> Result<(), TemplateError> {
    for k in 0..instances.len() {
        let inst = &instances[k];
        if inst.condition == Cond::False {
            continue;
        }
        let decl = &t.resources[inst.decl];
        let frames = inst.frames();
        let isc = match &frames {
            Some(f) => sc.push(f),
            None => sc,
        };
        let mut deps = BTreeSet::new();
        if let Some(list) = decl.node.get("dependsOn") {
            let path = join_path(&decl.path, "dependsOn");
            let entries = list.elements().unwrap_or_default();
            for (j, entry) in entries.iter().enumerate() {
                let epath = format!("{path}[{j}]");
                let v = eval_node(entry, isc.at(Place::Static), &epath, NodeOptions::default()).map_err(|e| {
                    let (kind, m) = match e.err {
                        EvalError::Failed(f) => (f.kind, f.message),
                        EvalError::Deferred => (
                            crate::error::ErrorKind::FunctionNotExpected,
                            crate::error::msg::function_not_expected("reference"),
                        ),
                    };
                    wrap::resource(kind, &inst.display(), decl.node.pos, &m, e.pos, &e.path)
                })?;
                let Value::String(target) = v else { continue };
                let Some(hits) = resolve_target(t, instances, &target) else {
                    if t.language_v2 && !target.contains('/') {
                        return Err(wrap::reference_not_found(&target, entry.pos, &epath));
                    }
                    return Err(wrap::dependency_not_found(&target, entry.pos, &epath));
                };
                deps.extend(hits.into_iter().filter(|&h| h != k));
            }
        }
        // Implicit: reference()/list*() naming a resource of this template.
        let mut targets = Vec::new();
        collect_runtime_targets(&decl.node, isc, &mut targets);
        for target in targets {
            deps.extend(resolve_target(t, instances, &target).unwrap_or_default().into_iter().filter(|&h| h != k));
        }
        // A child declared inside its parent waits for the parent only when dependsOn says so
        // (Azure does not add it); a serial loop's batch waits for the previous batch.
        if let Some(c) = &inst.copy
            && let Some(size) = c.batch
            && c.index as usize >= size
        {
            let batch = c.index as usize / size;
            for (j, other) in instances.iter().enumerate() {
                if other.decl == inst.decl
                    && let Some(oc) = &other.copy
                    && oc.index as usize / size + 1 == batch
                {
                    deps.insert(j);
                }
            }
        }
        instances[k].depends = deps.into_iter().collect();
    }
    Ok(())
}

/// The targets of `reference(…)`/`list…(…)` calls that can be evaluated before deploying.
fn collect_runtime_targets(node: &Node, sc: Scope<'_>, out: &mut Vec<String>) {
    match &node.kind {
        NodeKind::String(s) => {
            let StringValue::Expression(text) = expr::classify(s) else { return };
            let Ok(e) = expr::parse(text) else { return };
            e.visit_calls(&mut |ns, name, args: &[Expr]| {
                let lower = name.to_ascii_lowercase();
                if ns.is_none()
                    && (lower == "reference" || lower.starts_with("list"))
                    && let Some(first) = args.first()
                    && let Ok(Value::String(target)) = eval(first, sc.at(Place::Runtime))
                {
                    out.push(target);
                }
            });
        }
        NodeKind::Array(items) => items.iter().for_each(|i| collect_runtime_targets(i, sc, out)),
        NodeKind::Object(members) => members
            .iter()
            .filter(|m| !m.key.eq_ignore_ascii_case("resources") && !m.key.eq_ignore_ascii_case("dependsOn"))
            .for_each(|m| collect_runtime_targets(&m.value, sc, out)),
        _ => {}
    }
}

/// Orders instances into waves; a cycle is Azure's `Circular dependency detected on
/// resource` naming the first resource (in template order) that is in one.
pub(crate) fn waves(instances: &[Instance]) -> Result<Vec<Vec<usize>>, TemplateError> {
    let n = instances.len();
    let mut level: Vec<Option<usize>> = vec![None; n];
    let mut remaining: Vec<usize> = (0..n).collect();
    let mut out: Vec<Vec<usize>> = Vec::new();
    while !remaining.is_empty() {
        let ready: Vec<usize> =
            remaining.iter().copied().filter(|&k| instances[k].depends.iter().all(|&d| level[d].is_some())).collect();
        if ready.is_empty() {
            let k = first_in_cycle(instances, &remaining);
            let inst = &instances[k];
            let shown = if inst.id.is_empty() { inst.display() } else { inst.id.clone() };
            return Err(wrap::circular_dependency(&shown));
        }
        let w = out.len();
        for &k in &ready {
            level[k] = Some(w);
        }
        remaining.retain(|k| level[*k].is_none());
        out.push(ready);
    }
    Ok(out)
}

/// The first of `remaining` (template order) that can reach itself.
fn first_in_cycle(instances: &[Instance], remaining: &[usize]) -> usize {
    for &start in remaining {
        let mut stack = instances[start].depends.clone();
        let mut seen = BTreeSet::new();
        while let Some(k) = stack.pop() {
            if k == start {
                return start;
            }
            if seen.insert(k) {
                stack.extend(instances[k].depends.iter().copied());
            }
        }
    }
    remaining[0]
}
