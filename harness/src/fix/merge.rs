//! TOML merged the way the scenario loader merges a scenario over its fixture — tables
//! key by key, entries of lists of tables (and of inline arrays of tables) matched by
//! `name` (records by `name` and `type`), any other value replaced — on `toml_edit`
//! documents, so a file keeps its comments and layout.

use toml_edit::{ArrayOfTables, InlineTable, Item, Table, Value};

fn identity(t: &dyn toml_edit::TableLike) -> Option<String> {
    let s = |k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_string);
    match (s("name"), s("type")) {
        (Some(n), Some(ty)) => Some(format!("{n}\u{0}{ty}")),
        (n, _) => n,
    }
}

/// Merges `src` into `dst` with the loader's rules.
pub fn merge_table(dst: &mut Table, src: &Table) {
    for (k, v) in src.iter() {
        match (dst.get_mut(k), v) {
            (Some(Item::Table(dt)), Item::Table(st)) => merge_table(dt, st),
            (Some(Item::Value(Value::InlineTable(dt))), Item::Value(Value::InlineTable(st))) => merge_inline(dt, st),
            (Some(Item::ArrayOfTables(da)), Item::ArrayOfTables(sa)) => {
                for s in sa.iter() {
                    let id = identity(s);
                    let found = da.iter().position(|d| id.is_some() && identity(d) == id);
                    match found {
                        Some(i) => {
                            if let Some(d) = da.get_mut(i) {
                                merge_table(d, s);
                            }
                        }
                        None => da.push(s.clone()),
                    }
                }
            }
            // `[registry]` written as one table, the diff as `[[registry]]`.
            (Some(Item::Table(dt)), Item::ArrayOfTables(sa)) => {
                let mut rest = ArrayOfTables::new();
                for s in sa.iter() {
                    let (a, b) = (identity(dt), identity(s));
                    if a.is_none() || a == b {
                        merge_table(dt, s);
                    } else {
                        rest.push(s.clone());
                    }
                }
                if !rest.is_empty() {
                    let mut all = ArrayOfTables::new();
                    all.push(dt.clone());
                    for s in rest.iter() {
                        all.push(s.clone());
                    }
                    dst.insert(k, Item::ArrayOfTables(all));
                }
            }
            (Some(Item::Value(Value::Array(da))), Item::Value(Value::Array(sa)))
                if sa.iter().all(|x| x.as_inline_table().is_some_and(|t| identity(t).is_some())) =>
            {
                for s in sa.iter() {
                    let Some(st) = s.as_inline_table() else { continue };
                    let id = identity(st);
                    let found = da.iter().position(|d| d.as_inline_table().is_some_and(|d| identity(d) == id));
                    match found {
                        Some(i) => {
                            if let Some(d) = da.get_mut(i).and_then(|d| d.as_inline_table_mut()) {
                                merge_inline(d, st);
                            }
                        }
                        None => {
                            let mut v = s.clone();
                            v.decor_mut().set_prefix(" ");
                            da.push_formatted(v);
                        }
                    }
                }
            }
            (_, v) => {
                let mut v = v.clone();
                if let Item::Table(t) = &mut v {
                    t.decor_mut().set_prefix("\n");
                }
                dst.insert(k, v);
            }
        }
    }
}

fn merge_inline(dst: &mut InlineTable, src: &InlineTable) {
    for (k, v) in src.iter() {
        match (dst.get_mut(k), v) {
            (Some(Value::InlineTable(d)), Value::InlineTable(s)) => merge_inline(d, s),
            _ => {
                dst.insert(k, v.clone());
            }
        }
    }
}
