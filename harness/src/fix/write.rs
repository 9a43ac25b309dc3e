//! `pullsim fix --write`: a fix's scenario diff merged into the scenario file, its
//! comments and layout kept (`toml_edit`), with the loader's merge rules — tables key by
//! key, entries of lists of tables matched by `name` (records by `name` and `type`) — and
//! the expectation turned to what the confirming pull gave.

use std::path::Path;

use anyhow::{Context, bail};
use toml_edit::{DocumentMut, Item, Table};

use super::merge::merge_table;
use super::{Diagnosis, Fix, diff};

/// Writes `fix` into the scenario file at `path`.
pub fn write(path: &Path, d: &Diagnosis, fix: &Fix) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let out = if d.has_steps {
        let steps = diff::diff(d, fix).map_err(|e| anyhow::anyhow!("{e}"))?;
        format!(
            "{}\n# Added by `pullsim fix --write`: the changes that make the pull succeed.\n{steps}",
            text.trim_end()
        )
    } else {
        let mut doc: DocumentMut = text.parse().with_context(|| format!("parsing {}", path.display()))?;
        let mut unset = Vec::new();
        let mut remove = Vec::new();
        for c in &fix.changes {
            let diff = c.toml(&d.facts);
            let part: DocumentMut = diff.text.parse().context("the diff of a change")?;
            merge_table(doc.as_table_mut(), part.as_table());
            unset.extend(diff.unset);
            remove.extend(diff.remove);
        }
        drop_unset(&mut doc, &unset);
        for r in &remove {
            remove_path(doc.as_table_mut(), r);
        }
        let mut expect = Table::new();
        expect.insert("pull", toml_edit::value("success"));
        if let Some(route) = fix.confirmation.outcome.route {
            let word = if route == mock_azure::appservice::trace::RouteKind::Vnet { "vnet" } else { "public" };
            expect.insert("route", toml_edit::value(word));
        }
        expect.decor_mut().set_prefix("\n# Set by `pullsim fix --write`: the confirmed pull after the fix.\n");
        doc.insert("expect", Item::Table(expect));
        doc.to_string()
    };
    let tmp = path.with_extension("toml.pullsim-fix");
    std::fs::write(&tmp, out).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

/// Refuses what `--write` cannot do: a cell of a matrix.
pub fn check_writable(cells: usize) -> anyhow::Result<()> {
    if cells > 1 {
        bail!("the file is a matrix: a fix of one cell is not written into it (use the printed diff)");
    }
    Ok(())
}

/// Drops the file's `unset` entries a change sets again (or that lie under one).
fn drop_unset(doc: &mut DocumentMut, paths: &[String]) {
    let Some(arr) = doc.get_mut("unset").and_then(|i| i.as_array_mut()) else { return };
    arr.retain(|v| {
        let Some(u) = v.as_str() else { return true };
        !paths.iter().any(|p| u == p || u.starts_with(&format!("{p}.")) || p.starts_with(&format!("{u}.")))
    });
    if arr.is_empty() {
        doc.remove("unset");
    }
}

/// Removes a dotted key path from the document, if there.
fn remove_path(t: &mut Table, path: &str) {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    match rest {
        None => {
            t.remove(head);
        }
        Some(r) => {
            if let Some(Item::Table(inner)) = t.get_mut(head) {
                remove_path(inner, r);
            }
        }
    }
}
