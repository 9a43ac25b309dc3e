//! `[matrix]`: axes whose values each change the scenario, and cells that say what to
//! expect for the combinations they match. The loader expands the cartesian product and
//! refuses a matrix that leaves a combination without a cell.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::limits::{MAX_AXES, MAX_CELLS, MAX_COMBINATIONS, MAX_EXPANDED_STEPS, MAX_EXPANDED_VALUES, MAX_PATHS};
use super::merge::{self, Seg, parse_path};
use super::model::{Expect, Scenario};
use super::schema::{DocKind, Walker};
use super::tree::{At, Node, Val};

/// A change an axis value makes: set (or, with `None`, remove) the value at a path.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub path: Vec<Seg>,
    pub value: Option<Node>,
    /// Where the path was written (errors about the path and new keys point here).
    pub at: At,
}

#[derive(Debug, Clone)]
pub(crate) struct AxisValue {
    pub label: String,
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone)]
pub(crate) struct Axis {
    pub name: String,
    pub values: Vec<AxisValue>,
    /// More values than a matrix may expand to: they are not read.
    pub over_limit: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Cell {
    /// `(axis index, value index)` pairs that must all hold.
    pub when: Vec<(usize, usize)>,
    pub expect: Option<Expect>,
    pub at: At,
    /// `when` had errors: coverage is not judged on a guess of what it meant.
    pub broken: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Matrix {
    pub axes: Vec<Axis>,
    pub cells: Vec<Cell>,
    pub at: At,
    /// More axes or cells than the limits allow: refused, never expanded.
    pub over_limit: bool,
}

/// One expanded combination: value index per axis, and the cell that applies.
pub(crate) struct Combination {
    pub values: Vec<usize>,
    pub cell: usize,
}

impl Matrix {
    /// `axis=value` labels of a combination.
    pub fn labels(&self, values: &[usize]) -> Vec<(String, String)> {
        self.axes
            .iter()
            .zip(values)
            .map(|(a, v)| (a.name.clone(), a.values.get(*v).map(|x| x.label.clone()).unwrap_or_default()))
            .collect()
    }

    /// Every combination with its cell; records the uncovered ones (and cells that never
    /// apply) as errors.
    pub fn expand(&self, w: &mut Walker<'_>) -> Vec<Combination> {
        if self.over_limit
            || self.axes.is_empty()
            || self.axes.iter().any(|a| a.values.is_empty())
            || self.cells.iter().any(|c| c.broken)
        {
            return Vec::new();
        }
        let total = self.axes.iter().try_fold(1usize, |acc, a| acc.checked_mul(a.values.len()));
        match total {
            Some(n) if n <= MAX_COMBINATIONS => {}
            _ => {
                w.f.err(self.at, format!("[matrix] expands to more than {MAX_COMBINATIONS} combinations"));
                return Vec::new();
            }
        }
        let mut out = Vec::new();
        let mut uncovered = Vec::new();
        let mut used = vec![false; self.cells.len()];
        let mut values = vec![0usize; self.axes.len()];
        loop {
            let cell = self.cells.iter().position(|c| c.when.iter().all(|(a, v)| values.get(*a) == Some(v)));
            match cell {
                Some(c) => {
                    used[c] = true;
                    out.push(Combination { values: values.clone(), cell: c });
                }
                None => uncovered.push(values.clone()),
            }
            // Next combination, the last axis fastest.
            let mut i = self.axes.len();
            loop {
                if i == 0 {
                    break;
                }
                i -= 1;
                values[i] += 1;
                if values[i] < self.axes[i].values.len() {
                    break;
                }
                values[i] = 0;
                if i == 0 {
                    i = usize::MAX;
                    break;
                }
            }
            if i == usize::MAX {
                break;
            }
        }
        self.report_uncovered(w, &uncovered, out.len() + uncovered.len());
        for (c, used) in self.cells.iter().zip(used) {
            if !used {
                w.f.err(
                    c.at,
                    "this [[matrix.cell]] never applies: the cells before it take every combination it matches",
                );
            }
        }
        out
    }

    /// Records the combinations no cell matches (the first ten of them).
    fn report_uncovered(&self, w: &mut Walker<'_>, uncovered: &[Vec<usize>], total: usize) {
        if uncovered.is_empty() {
            return;
        }
        let shown: Vec<String> = uncovered
            .iter()
            .take(10)
            .map(|v| {
                let l: Vec<String> = self.labels(v).into_iter().map(|(a, x)| format!("{a}={x}")).collect();
                format!("[{}]", l.join(", "))
            })
            .collect();
        let more = if uncovered.len() > 10 { format!(" and {} more", uncovered.len() - 10) } else { String::new() };
        w.f.err(
            self.at,
            format!(
                "{} of {total} matrix combinations match no [[matrix.cell]]: {}{more}",
                uncovered.len(),
                shown.join(", ")
            ),
        );
    }

    /// Most values one combination's document can hold: the merged document, plus what
    /// the largest value of each axis sets.
    fn values_per_combination(&self, merged: &Node) -> usize {
        let changes = |v: &AxisValue| v.changes.iter().map(|c| c.value.as_ref().map_or(0, count_values)).sum::<usize>();
        let axes: usize = self.axes.iter().map(|a| a.values.iter().map(changes).max().unwrap_or(0)).sum();
        count_values(merged) + axes
    }
}

/// The scenarios of a file with a `[matrix]` (node `m`) over the document `merged`: one
/// per combination, with its cell's expectation. The work is bounded before it is done:
/// a matrix that would expand past [`MAX_EXPANDED_VALUES`] is refused unexpanded.
pub(crate) fn scenarios(
    w: &mut Walker<'_>,
    m: &Node,
    merged: &Node,
    file: &Path,
    fixture: Option<(String, PathBuf)>,
) -> Vec<Scenario> {
    let matrix = w.matrix(m);
    let mut combos = matrix.as_ref().map(|mx| mx.expand(w)).unwrap_or_default();
    if let Some(mx) = &matrix
        && !combos.is_empty()
    {
        let each = mx.values_per_combination(merged);
        if combos.len().saturating_mul(each) > MAX_EXPANDED_VALUES {
            w.f.err(
                mx.at,
                format!(
                    "[matrix] expands to {} combinations of up to {each} values each, more than the \
                     {MAX_EXPANDED_VALUES} values a file may expand to: fewer combinations or a smaller scenario",
                    combos.len()
                ),
            );
            combos.clear();
        }
    }
    let Some(mx) = matrix.filter(|_| !combos.is_empty()) else {
        // Still report what is wrong outside the matrix.
        w.root(merged, DocKind::Scenario);
        return Vec::new();
    };
    let mut out = Vec::with_capacity(combos.len());
    for c in combos {
        let mut doc = merged.clone();
        for (ai, vi) in c.values.iter().enumerate() {
            let Some(v) = mx.axes.get(ai).and_then(|a| a.values.get(*vi)) else { continue };
            for ch in &v.changes {
                if let Err(e) = merge::apply(&mut doc, &ch.path, ch.value.clone(), ch.at) {
                    w.f.err(ch.at, format!("matrix axis '{}': {e}", mx.axes[ai].name));
                }
            }
        }
        let (head, topology) = w.root(&doc, DocKind::Scenario);
        let cell = mx.labels(&c.values);
        let labels: Vec<String> = cell.iter().map(|(a, v)| format!("{a}={v}")).collect();
        out.push(Scenario {
            name: format!("{} [{}]", head.name.unwrap_or_default(), labels.join(", ")),
            description: head.description,
            file: file.to_path_buf(),
            fixture: fixture.clone(),
            rules: head.rules,
            cell,
            topology,
            steps: head.steps,
            expect: mx.cells.get(c.cell).and_then(|x| x.expect.clone()),
        });
    }
    let steps: usize = out.iter().map(|s| s.steps.len()).sum();
    if steps > MAX_EXPANDED_STEPS {
        w.f.err(
            mx.at,
            format!(
                "[matrix] expands to {steps} steps ({} combinations), more than the {MAX_EXPANDED_STEPS} steps \
                 a file may expand to",
                out.len()
            ),
        );
    }
    out
}

/// How many values (strings, numbers, tables, arrays…) `n` holds, itself included.
fn count_values(n: &Node) -> usize {
    1 + match &n.v {
        Val::Array(items) => items.iter().map(count_values).sum(),
        Val::Table(entries) => entries.iter().map(|e| count_values(&e.node)).sum(),
        _ => 0,
    }
}

impl<'a> Walker<'a> {
    /// Reads `[matrix]` (axes and cells) from the scenario's own root table.
    pub(crate) fn matrix(&mut self, n: &Node) -> Option<Matrix> {
        let mut t = self.table(n, "[matrix]")?;
        let mut axis_nodes = self.tables(&mut t, "axis");
        let mut cell_nodes = self.tables(&mut t, "cell");
        self.finish(t);
        // Past a limit the rest is not read: the matrix is refused anyway.
        let mut over_limit = false;
        if let Some(extra) = axis_nodes.get(MAX_AXES) {
            let msg = format!("[matrix] has {} axes; a matrix has at most {MAX_AXES}", axis_nodes.len());
            self.f.err(extra.at, msg);
            axis_nodes.truncate(MAX_AXES);
            over_limit = true;
        }
        if let Some(extra) = cell_nodes.get(MAX_CELLS) {
            let msg = format!(
                "[matrix] has {} cells; a matrix has at most {MAX_CELLS} (each combination takes one)",
                cell_nodes.len()
            );
            self.f.err(extra.at, msg);
            cell_nodes.truncate(MAX_CELLS);
            over_limit = true;
        }
        let mut axes: Vec<Axis> = Vec::new();
        for an in &axis_nodes {
            if let Some(a) = self.axis(an, &axes) {
                axes.push(a);
            }
        }
        if axis_nodes.is_empty() {
            self.f.err(n.at, "[matrix] needs at least one [[matrix.axis]]");
        }
        let changes = || axes.iter().flat_map(|a| &a.values).flat_map(|v| &v.changes);
        if let Some(extra) = changes().nth(MAX_PATHS) {
            let msg = format!(
                "the values of [matrix]'s axes set {} paths; they set at most {MAX_PATHS} together",
                changes().count()
            );
            self.f.err(extra.at, msg);
            over_limit = true;
        }
        if cell_nodes.is_empty() {
            self.f.err(n.at, "[matrix] needs at least one [[matrix.cell]] saying what to expect");
        }
        let mut cells = Vec::new();
        for cn in cell_nodes {
            if let Some(c) = self.cell(cn, &axes) {
                cells.push(c);
            }
        }
        Some(Matrix { axes, cells, at: n.at, over_limit })
    }

    fn axis(&mut self, n: &Node, before: &[Axis]) -> Option<Axis> {
        let mut t = self.table(n, "[[matrix.axis]]")?;
        let (name, name_at) = self.req_str(&mut t, "name");
        if before.iter().any(|a| a.name == name) {
            self.f.err(name_at, format!("duplicate axis '{name}'"));
        }
        let set = self.str_or_list(&mut t, "set");
        let mut paths = Vec::new();
        for (p, at) in set.unwrap_or_default() {
            match parse_path(&p) {
                Ok(path) => paths.push((path, at)),
                Err(e) => self.f.err(at, format!("'set' in [[matrix.axis]]: {e}")),
            }
        }
        let values_node = t.get("values");
        self.finish(t);
        let mut values: Vec<AxisValue> = Vec::new();
        match values_node.map(|v| (&v.v, v.at)) {
            None => self.f.err(n.at, format!("missing key 'values' in [[matrix.axis]] '{name}'")),
            Some((Val::Array(items), at)) => {
                if items.is_empty() {
                    self.f.err(at, format!("axis '{name}' has no values"));
                }
                if let Some(extra) = items.get(MAX_COMBINATIONS) {
                    // Not read: with no values the matrix is never expanded.
                    let msg = format!(
                        "axis '{name}' has {} values; a matrix expands to at most {MAX_COMBINATIONS} combinations",
                        items.len()
                    );
                    self.f.err(extra.at, msg);
                    return Some(Axis { name, values, over_limit: true });
                }
                let mut labels = HashSet::new();
                for item in items {
                    let Some(v) = self.axis_value(item, &name, &paths) else { continue };
                    if !labels.insert(v.label.clone()) {
                        self.f.err(item.at, format!("axis '{name}' lists the value '{}' twice", v.label));
                        continue;
                    }
                    values.push(v);
                }
            }
            Some((other, at)) => {
                self.f.err(at, format!("'values' in [[matrix.axis]] must be an array, found {}", other.kind()))
            }
        }
        Some(Axis { name, values, over_limit: false })
    }

    fn axis_value(&mut self, item: &Node, axis: &str, paths: &[(Vec<Seg>, At)]) -> Option<AxisValue> {
        let sentinel = |n: &Node| if n.as_str() == Some("unset") { None } else { Some(n.clone()) };
        match &item.v {
            Val::Table(_) => {
                let mut t = self.table(item, "[[matrix.axis]].values")?;
                let (label, _) = self.req_str(&mut t, "name");
                let set = t.get("set");
                self.finish(t);
                let mut changes = Vec::new();
                match set {
                    Some(Node { v: Val::Table(entries), .. }) => {
                        for e in entries {
                            match parse_path(&e.key) {
                                Ok(path) => changes.push(Change { path, value: sentinel(&e.node), at: e.key_at }),
                                Err(err) => {
                                    self.f.err(e.key_at, format!("'set' of axis '{axis}' value '{label}': {err}"))
                                }
                            }
                        }
                    }
                    Some(other) => self.f.err(
                        other.at,
                        format!("'set' of an axis value must be a table of path = value, found {}", other.v.kind()),
                    ),
                    None => {
                        self.f.err(item.at, format!("axis '{axis}' value '{label}' needs set = {{ path = value }}"))
                    }
                }
                Some(AxisValue { label, changes })
            }
            Val::Array(_) | Val::Datetime(_) | Val::Int(None) => {
                self.f.err(
                    item.at,
                    format!(
                        "a value of axis '{axis}' must be a string, boolean, number or {{ name, set }} table, found {}",
                        item.v.kind()
                    ),
                );
                None
            }
            _ => {
                let label = item.label()?;
                if paths.is_empty() {
                    self.f.err(item.at, format!("axis '{axis}' needs set = \"path\" to say what its values change"));
                }
                let changes =
                    paths.iter().map(|(p, at)| Change { path: p.clone(), value: sentinel(item), at: *at }).collect();
                Some(AxisValue { label, changes })
            }
        }
    }

    fn cell(&mut self, n: &Node, axes: &[Axis]) -> Option<Cell> {
        let mut t = self.table(n, "[[matrix.cell]]")?;
        let when_node = t.get("when");
        let expect = self.expect(&mut t, true);
        self.finish(t);
        let mut when = Vec::new();
        let errors_before = self.f.error_count();
        match when_node {
            None => {}
            Some(Node { v: Val::Table(entries), .. }) => {
                for e in entries {
                    let Some(ai) = axes.iter().position(|a| a.name == e.key) else {
                        let names: Vec<&str> = axes.iter().map(|a| a.name.as_str()).collect();
                        let hint = self.f.hint(&e.key, &names);
                        self.f.err(
                            e.key_at,
                            format!("'when' in [[matrix.cell]] names an unknown axis '{}'{hint}", e.key),
                        );
                        continue;
                    };
                    let axis = &axes[ai];
                    if axis.over_limit {
                        continue;
                    }
                    let Some(label) = e.node.label() else {
                        self.f.err(e.node.at, format!("'{}' in 'when' must be one of the axis's values", e.key));
                        continue;
                    };
                    match axis.values.iter().position(|v| v.label == label) {
                        Some(vi) => when.push((ai, vi)),
                        None => {
                            let labels: Vec<&str> = axis.values.iter().map(|v| v.label.as_str()).collect();
                            let hint = self.f.hint(&label, &labels);
                            self.f.err(
                                e.node.at,
                                format!(
                                    "axis '{}' has no value '{label}' (its values: {}){hint}",
                                    axis.name,
                                    labels.join(", ")
                                ),
                            );
                        }
                    }
                }
            }
            Some(other) => self.f.err(
                other.at,
                format!("'when' in [[matrix.cell]] must be a table of axis = value, found {}", other.v.kind()),
            ),
        }
        let broken = self.f.error_count() != errors_before;
        Some(Cell { when, expect, at: n.at, broken })
    }
}
