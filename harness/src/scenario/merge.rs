//! Putting a scenario over its fixture, and the dotted paths `unset` and matrix axes
//! use to change one value.
//!
//! Both work on the document tree, before the schema walk, so a merged value keeps the
//! file and position it was written at.

use std::collections::{BTreeSet, HashMap};

use super::schema::{COLLECTIONS, TOPOLOGY_KEYS};
use super::tree::{At, Entry, Files, Node, Val};

/// `[registry]` written as one table becomes a list of one, like `[[registry]]`.
pub(crate) fn normalize(root: &mut Node) {
    let Some(entries) = root.entries_mut() else { return };
    for e in entries.iter_mut() {
        if COLLECTIONS.contains(&e.key.as_str()) && matches!(e.node.v, Val::Table(_)) {
            let at = e.node.at;
            let table = std::mem::replace(&mut e.node, Node::table(at));
            e.node = Node { at, v: Val::Array(vec![table]) };
        }
    }
}

/// The fields that identify an entry of a list of tables, by the list's key.
fn identity_fields(list: &str) -> &'static [&'static str] {
    match list {
        "images" => &["repo", "tag"],
        "records" => &["name", "type"],
        "forwarders" => &["zone"],
        "role_assignment" => &["principal", "role", "scope"],
        _ => &["name"],
    }
}

/// Lists of tables that merge entry by entry (the others are replaced whole).
const MERGED_LISTS: &[&str] = &["subnets", "peerings", "images", "links", "records", "forwarders"];

/// The entry's identity (`name`, `repo:tag`, `name:TYPE`…), if its fields are there.
pub(crate) fn identity(list: &str, entry: &Node) -> Option<String> {
    let fields = identity_fields(list);
    let mut parts = Vec::new();
    for f in fields {
        match (entry.get(f).and_then(Node::as_str), *f) {
            (Some(v), "type") => parts.push(v.to_ascii_uppercase()),
            (Some(v), _) => parts.push(v.to_string()),
            (None, "tag") => parts.push("latest".to_string()),
            (None, _) => return None,
        }
    }
    Some(parts.join(":"))
}

/// Merges the scenario `over` onto the fixture `base` (both root tables). Topology
/// tables merge key by key, lists of named tables entry by entry (by name), everything
/// else in the scenario replaces the fixture's. The fixture's `description` stays
/// behind.
pub(crate) fn merge(f: &mut Files, base: Node, over: Node) -> Node {
    let mut out = base;
    if let Some(entries) = out.entries_mut() {
        entries.retain(|e| TOPOLOGY_KEYS.contains(&e.key.as_str()));
    }
    let Val::Table(over_entries) = over.v else { return out };
    if let Some(entries) = out.entries_mut() {
        merge_entries(f, entries, over_entries);
    }
    out.at = over.at;
    out
}

/// Merges a table's entries key by key, the keys found through a map built once (a
/// table may hold thousands, e.g. app settings).
fn merge_entries(f: &mut Files, entries: &mut Vec<Entry>, over: Vec<Entry>) {
    let mut index: HashMap<String, usize> = HashMap::with_capacity(entries.len() + over.len());
    for (i, e) in entries.iter().enumerate() {
        index.entry(e.key.clone()).or_insert(i);
    }
    for e in over {
        match index.get(&e.key).and_then(|i| entries.get_mut(*i)) {
            Some(existing) => {
                let key = e.key.clone();
                merge_value(f, &key, &mut existing.node, e.node);
            }
            None => {
                index.insert(e.key.clone(), entries.len());
                entries.push(e);
            }
        }
    }
}

fn merge_value(f: &mut Files, key: &str, base: &mut Node, over: Node) {
    match (&mut base.v, over.v) {
        (Val::Table(entries), Val::Table(over_entries)) => merge_entries(f, entries, over_entries),
        (Val::Array(items), Val::Array(over_items))
            if (COLLECTIONS.contains(&key) || MERGED_LISTS.contains(&key))
                && over_items.iter().all(|i| matches!(i.v, Val::Table(_))) =>
        {
            merge_list(f, key, items, over_items);
        }
        (_, v) => *base = Node { at: over.at, v },
    }
}

/// A list of tables being merged: removed entries leave a hole until the end, so the
/// positions in the identity index stay valid and each entry is found in constant time.
struct ListIndex {
    slots: Vec<Option<Node>>,
    /// Identity → positions of the entries that have it, the first one first.
    by_id: HashMap<String, BTreeSet<usize>>,
    live: BTreeSet<usize>,
}

impl ListIndex {
    fn new(key: &str, items: Vec<Node>) -> ListIndex {
        let mut index = ListIndex { slots: Vec::new(), by_id: HashMap::new(), live: BTreeSet::new() };
        for item in items {
            index.push(key, item);
        }
        index
    }

    fn push(&mut self, key: &str, item: Node) {
        let i = self.slots.len();
        if let Some(id) = identity(key, &item) {
            self.by_id.entry(id).or_default().insert(i);
        }
        self.live.insert(i);
        self.slots.push(Some(item));
    }

    /// The first entry with identity `id`.
    fn find(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).and_then(|set| set.first().copied())
    }

    fn remove(&mut self, id: &str, i: usize) {
        if let Some(set) = self.by_id.get_mut(id) {
            set.remove(&i);
        }
        self.live.remove(&i);
        self.slots[i] = None;
    }

    fn get_mut(&mut self, i: usize) -> Option<&mut Node> {
        self.slots.get_mut(i).and_then(Option::as_mut)
    }

    fn into_items(self) -> Vec<Node> {
        self.slots.into_iter().flatten().collect()
    }
}

fn merge_list(f: &mut Files, key: &str, items: &mut Vec<Node>, over: Vec<Node>) {
    let mut list = ListIndex::new(key, std::mem::take(items));
    for mut item in over {
        let remove = match take_remove(f, &mut item) {
            Ok(r) => r,
            Err(()) => continue,
        };
        let id = identity(key, &item);
        let found = id.as_deref().and_then(|id| list.find(id));
        match (id, found, remove) {
            (Some(id), Some(i), true) => {
                if item.entries().is_some_and(|e| e.len() > identity_fields(key).len()) {
                    f.err(item.at, format!("an entry of '{key}' with remove = true holds only what identifies it"));
                }
                list.remove(&id, i);
            }
            (Some(id), None, true) => {
                f.err(item.at, format!("remove = true: the fixture has no {key} '{id}' to remove"));
            }
            (Some(_), Some(i), false) => {
                if let Some(base) = list.get_mut(i) {
                    merge_value(f, key, base, item);
                }
            }
            (Some(_), None, false) => list.push(key, item),
            (None, _, true) => {
                let fields = identity_fields(key).join(", ");
                f.err(item.at, format!("an entry of '{key}' with remove = true needs {fields} to say which"));
            }
            (None, _, false) => match list.live.len() {
                1 => {
                    let only = list.live.first().copied().unwrap_or_default();
                    if let Some(base) = list.get_mut(only) {
                        merge_value(f, key, base, item);
                    }
                }
                0 => list.push(key, item),
                n => f.err(
                    item.at,
                    format!(
                        "the fixture has {n} entries in '{key}': say which one this changes ({})",
                        identity_fields(key).join(", ")
                    ),
                ),
            },
        }
    }
    *items = list.into_items();
}

/// Takes `remove` out of a list entry: `Ok(true)` for `remove = true`.
fn take_remove(f: &mut Files, item: &mut Node) -> Result<bool, ()> {
    let Some(entries) = item.entries_mut() else { return Ok(false) };
    let Some(i) = entries.iter().position(|e| e.key == "remove") else { return Ok(false) };
    let e = entries.remove(i);
    match e.node.v {
        Val::Bool(b) => Ok(b),
        other => {
            f.err(e.node.at, format!("'remove' must be a boolean (true or false), found {}", other.kind()));
            Err(())
        }
    }
}

// ---- paths ---------------------------------------------------------------------------

/// One step of a path: a key, and for a list of tables, which entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seg {
    pub key: String,
    pub sel: Option<String>,
}

/// Parses `site.config.vnetRouteAllEnabled`, `registry[acr].admin_user`,
/// `site.app_settings."A.B"`.
pub(crate) fn parse_path(s: &str) -> Result<Vec<Seg>, String> {
    let mut segs = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        let mut key = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(c) => key.push(c),
                    None => return Err(format!("unclosed quote in path '{s}'")),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' || c == '[' {
                    break;
                }
                if !(c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                    return Err(format!("unexpected '{c}' in path '{s}' (quote keys with other characters)"));
                }
                key.push(c);
                chars.next();
            }
        }
        if key.is_empty() {
            return Err(format!("empty key in path '{s}'"));
        }
        let mut sel = None;
        if chars.peek() == Some(&'[') {
            chars.next();
            let mut v = String::new();
            loop {
                match chars.next() {
                    Some(']') => break,
                    Some(c) => v.push(c),
                    None => return Err(format!("unclosed '[' in path '{s}'")),
                }
            }
            if v.is_empty() {
                return Err(format!("empty [] in path '{s}'"));
            }
            sel = Some(v);
        }
        segs.push(Seg { key, sel });
        match chars.next() {
            None => return Ok(segs),
            Some('.') => {}
            Some(c) => return Err(format!("unexpected '{c}' in path '{s}'")),
        }
    }
}

/// Sets (`Some`) or removes (`None`) the value at `path` under `root`. Tables on the
/// way are created; a list of tables needs `[name]` unless it has one entry. New keys
/// are placed at `at` (where the path was written).
pub(crate) fn apply(root: &mut Node, path: &[Seg], value: Option<Node>, at: At) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else { return Err("empty path".into()) };
    let mut cur = root;
    for seg in parents {
        if cur.entries().is_none() {
            return Err(format!("'{}' is not inside a table", seg.key));
        }
        if cur.get(&seg.key).is_none() {
            if value.is_none() {
                return Ok(());
            }
            if seg.sel.is_some() {
                return Err(format!("there is no '{}' to pick [{}] from", seg.key, seg.sel.as_deref().unwrap_or("")));
            }
            if let Some(entries) = cur.entries_mut() {
                entries.push(Entry { key: seg.key.clone(), key_at: at, node: Node::table(at) });
            }
        }
        let Some(next) = cur.get_mut(&seg.key) else { return Err(format!("cannot reach '{}'", seg.key)) };
        cur = select(next, seg)?;
    }
    if last.sel.is_some() {
        return Err(format!("the last key of a path cannot pick an entry ('{}[...]')", last.key));
    }
    let Some(entries) = cur.entries_mut() else {
        return Err(format!("'{}' is not inside a table", last.key));
    };
    let pos = entries.iter().position(|e| e.key == last.key);
    match (pos, value) {
        (Some(i), Some(v)) => entries[i].node = v,
        (None, Some(v)) => entries.push(Entry { key: last.key.clone(), key_at: at, node: v }),
        (Some(i), None) => {
            entries.remove(i);
        }
        (None, None) => {}
    }
    Ok(())
}

fn select<'n>(node: &'n mut Node, seg: &Seg) -> Result<&'n mut Node, String> {
    if matches!(node.v, Val::Table(_)) {
        return match &seg.sel {
            None => Ok(node),
            Some(s) => Err(format!("'{}' is a table, not a list: drop [{s}]", seg.key)),
        };
    }
    match (&mut node.v, &seg.sel) {
        (Val::Array(items), None) => {
            if items.len() == 1 {
                Ok(&mut items[0])
            } else {
                Err(format!("'{}' has {} entries: say which, e.g. {}[name]", seg.key, items.len(), seg.key))
            }
        }
        (Val::Array(items), Some(s)) => {
            let known: Vec<String> = items.iter().filter_map(|i| identity(&seg.key, i)).collect();
            match items.iter_mut().find(|i| identity(&seg.key, i).as_deref() == Some(s.as_str())) {
                Some(i) => Ok(i),
                None => Err(format!(
                    "'{}' has no entry '{s}'{}",
                    seg.key,
                    super::error::did_you_mean(s, known.iter().map(String::as_str))
                )),
            }
        }
        (other, _) => Err(format!("'{}' is {}, not a table", seg.key, other.kind())),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn doc(f: &mut Files, text: &str) -> Node {
        let id = f.add(Path::new("t.toml"), text.to_string());
        let mut n = f.parse(id).unwrap();
        normalize(&mut n);
        n
    }

    #[test]
    fn tables_merge_key_by_key_and_lists_by_name() {
        let mut f = Files::default();
        let base = doc(
            &mut f,
            r#"
description = "fixture"
[site]
name = "app"
[site.app_settings]
A = "1"
B = "2"
[[vnet]]
name = "v"
address_space = ["10.0.0.0/16"]
subnets = [{ name = "a", prefix = "10.0.1.0/24" }, { name = "b", prefix = "10.0.2.0/24" }]
[[vnet]]
name = "w"
address_space = ["10.1.0.0/16"]
"#,
        );
        let over = doc(
            &mut f,
            r#"
name = "s"
[site.app_settings]
B = "3"
C = "4"
[[vnet]]
name = "v"
address_space = ["10.0.0.0/8"]
subnets = [{ name = "b", prefix = "10.0.3.0/24" }, { name = "c", prefix = "10.0.4.0/24" }]
[[vnet]]
name = "w"
remove = true
[[vnet]]
name = "x"
address_space = ["10.2.0.0/16"]
"#,
        );
        let m = merge(&mut f, base, over);
        assert!(!f.has_errors(), "{:?}", f.diags);
        assert!(m.get("description").is_none(), "the fixture's description stays behind");
        assert_eq!(m.get("name").and_then(Node::as_str), Some("s"));
        let settings = m.get("site").unwrap().get("app_settings").unwrap();
        let kv: Vec<(String, String)> =
            settings.entries().unwrap().iter().map(|e| (e.key.clone(), e.node.as_str().unwrap().to_string())).collect();
        assert_eq!(kv, [("A".into(), "1".into()), ("B".into(), "3".into()), ("C".into(), "4".into())]);
        let Val::Array(vnets) = &m.get("vnet").unwrap().v else { panic!() };
        let names: Vec<_> = vnets.iter().map(|v| v.get("name").unwrap().as_str().unwrap()).collect();
        assert_eq!(names, ["v", "x"], "w removed, x appended");
        let v = &vnets[0];
        let Val::Array(space) = &v.get("address_space").unwrap().v else { panic!() };
        assert_eq!(space.len(), 1, "arrays of values are replaced");
        assert_eq!(space[0].as_str(), Some("10.0.0.0/8"));
        let Val::Array(subnets) = &v.get("subnets").unwrap().v else { panic!() };
        let s: Vec<_> = subnets
            .iter()
            .map(|s| (s.get("name").unwrap().as_str().unwrap(), s.get("prefix").unwrap().as_str().unwrap()))
            .collect();
        assert_eq!(s, [("a", "10.0.1.0/24"), ("b", "10.0.3.0/24"), ("c", "10.0.4.0/24")]);
    }

    #[test]
    fn an_unnamed_entry_changes_the_only_one_and_is_refused_when_there_are_several() {
        let mut f = Files::default();
        let base = doc(
            &mut f,
            "[registry]\nname = \"r\"\nsku = \"Premium\"\n[[vnet]]\nname = \"a\"\n[[vnet]]\nname = \"b\"\n",
        );
        let over = doc(&mut f, "[registry]\nadmin_user = false\n[[vnet]]\ndns_servers = [\"10.0.0.4\"]\n");
        let m = merge(&mut f, base, over);
        let Val::Array(regs) = &m.get("registry").unwrap().v else { panic!() };
        assert_eq!(regs.len(), 1);
        assert_eq!(regs[0].get("name").unwrap().as_str(), Some("r"));
        assert_eq!(regs[0].get("admin_user").unwrap().v, Val::Bool(false));
        assert_eq!(f.diags.len(), 1);
        assert!(f.diags[0].1.contains("the fixture has 2 entries in 'vnet'"), "{}", f.diags[0].1);
    }

    #[test]
    fn removing_what_the_fixture_lacks_is_an_error() {
        let mut f = Files::default();
        let base = doc(&mut f, "[[identity]]\nname = \"a\"\n");
        let over = doc(&mut f, "[[identity]]\nname = \"b\"\nremove = true\n");
        let _ = merge(&mut f, base, over);
        assert_eq!(f.diags[0].1, "remove = true: the fixture has no identity 'b' to remove");
    }

    #[test]
    fn paths_parse_quoted_keys_and_selectors() {
        assert_eq!(
            parse_path("private_dns_zone[privatelink.azurecr.io].links[l].vnet").unwrap(),
            vec![
                Seg { key: "private_dns_zone".into(), sel: Some("privatelink.azurecr.io".into()) },
                Seg { key: "links".into(), sel: Some("l".into()) },
                Seg { key: "vnet".into(), sel: None },
            ]
        );
        assert_eq!(parse_path("site.app_settings.\"a.b\"").unwrap()[2].key, "a.b");
        for bad in ["", "a..b", "a[", "a[]", "a b", "\"a", "a.b]"] {
            assert!(parse_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn apply_sets_creates_and_removes() {
        let mut f = Files::default();
        let mut root = doc(&mut f, "[registry]\nname = \"r\"\n[site]\nname = \"s\"\n");
        let at = root.at;
        let t = Node { at, v: Val::Bool(true) };
        apply(&mut root, &parse_path("site.config.vnetRouteAllEnabled").unwrap(), Some(t.clone()), at).unwrap();
        assert_eq!(root.get("site").unwrap().get("config").unwrap().get("vnetRouteAllEnabled").unwrap().v, t.v);
        apply(&mut root, &parse_path("registry.admin_user").unwrap(), Some(t.clone()), at).unwrap();
        apply(&mut root, &parse_path("registry[r].admin_user").unwrap(), None, at).unwrap();
        let Val::Array(regs) = &root.get("registry").unwrap().v else { panic!() };
        assert!(regs[0].get("admin_user").is_none());
        let err = apply(&mut root, &parse_path("registry[q].admin_user").unwrap(), Some(t), at).unwrap_err();
        assert_eq!(err, "'registry' has no entry 'q'");
        // Removing under something absent is a no-op.
        apply(&mut root, &parse_path("plan.sku").unwrap(), None, at).unwrap();
    }
}
