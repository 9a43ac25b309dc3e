//! The walker's machinery: reading a table key by key (so the keys asked for are the
//! known keys), typed scalars, lists, prefixes, addresses and names, each problem recorded
//! where it was written and the walk going on. Knows nothing of the format's sections.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use mock_azure::model::net::Cidr;

use super::refs::Refs;
use crate::scenario::tree::{At, Entry, Files, Node, Val};

/// A table being read: the keys asked for are the known keys.
pub(crate) struct Tbl<'n> {
    node: &'n Node,
    pub(super) entries: &'n [Entry],
    pub(super) ctx: String,
    known: Vec<&'static str>,
}

impl<'n> Tbl<'n> {
    /// The value at `key`, which becomes a known key.
    pub(crate) fn get(&mut self, key: &'static str) -> Option<&'n Node> {
        if !self.known.contains(&key) {
            self.known.push(key);
        }
        self.entries.iter().find(|e| e.key == key).map(|e| &e.node)
    }

    /// Whether the table has `key` (without marking it known).
    pub(super) fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|e| e.key == key)
    }

    /// Marks a key as known without reading it here.
    pub(crate) fn allow(&mut self, key: &'static str) {
        let _ = self.get(key);
    }

    /// Where the table was written.
    pub(super) fn at(&self) -> At {
        self.node.at
    }

    /// `'key' in [ctx]` or `'key'` at the top level.
    pub(super) fn place(&self, key: &str) -> String {
        if self.ctx.is_empty() { format!("'{key}'") } else { format!("'{key}' in {}", self.ctx) }
    }
}

/// What a walk checks beyond the shape of each table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checks {
    /// References between resources, required tables.
    pub whole: bool,
}

/// The walk of one document: where its errors go, what it checks, and the references
/// it met (checked once the whole topology is known).
pub(crate) struct Walker<'a> {
    pub f: &'a mut Files,
    pub(super) refs: Refs,
    pub(super) checks: Checks,
}

/// Names already seen in one list, ignoring ASCII case, with where each was first
/// written (a map, so a long list is checked in linear time).
#[derive(Default)]
pub(super) struct Seen(HashMap<String, At>);

/// `a, b, c` for "must be one of …" messages.
pub(super) fn fmt_list(words: &[&str]) -> String {
    words.join(", ")
}

impl<'a> Walker<'a> {
    pub fn new(f: &'a mut Files, checks: Checks) -> Walker<'a> {
        Walker { f, refs: Refs::default(), checks }
    }

    pub(super) fn err(&mut self, at: At, msg: impl Into<String>) {
        self.f.err(at, msg);
    }

    /// Opens `node` as a table named `ctx` (`[site.config]`), or records that it is not.
    pub(crate) fn table<'n>(&mut self, node: &'n Node, ctx: &str) -> Option<Tbl<'n>> {
        match &node.v {
            Val::Table(entries) => Some(Tbl { node, entries, ctx: ctx.to_string(), known: Vec::new() }),
            other => {
                self.err(node.at, format!("{ctx} must be a table, found {}", other.kind()));
                None
            }
        }
    }

    /// Reports the keys of `t` nobody asked for.
    pub(crate) fn finish(&mut self, t: Tbl<'_>) {
        super::describe::note_known(&t.ctx, &t.known);
        for e in t.entries {
            if t.known.contains(&e.key.as_str()) {
                continue;
            }
            let place = if t.ctx.is_empty() { "at the top level".to_string() } else { format!("in {}", t.ctx) };
            let hint = if e.key == "remove" {
                "; `remove = true` only deletes an entry of the scenario's fixture".to_string()
            } else {
                self.f.hint(&e.key, &t.known)
            };
            self.err(e.key_at, format!("unknown key '{}' {place}{hint}", e.key));
        }
    }

    pub(super) fn wrong(&mut self, t: &Tbl<'_>, key: &str, node: &Node, expected: &str) {
        self.err(node.at, format!("{} must be {expected}, found {}", t.place(key), node.v.kind()));
    }

    pub(super) fn missing(&mut self, t: &Tbl<'_>, key: &str) {
        // Checked alone (its fixture is broken), a scenario may leave to the fixture
        // what the fixture gives; only its own `name` is surely missing.
        if !self.checks.whole && !t.ctx.is_empty() {
            return;
        }
        let ctx = if t.ctx.is_empty() { "at the top level".to_string() } else { format!("in {}", t.ctx) };
        self.err(t.at(), format!("missing key '{key}' {ctx}"));
    }

    pub(crate) fn str_node(&mut self, t: &mut Tbl<'_>, key: &'static str) -> Option<(String, At)> {
        let n = t.get(key)?;
        match &n.v {
            Val::Str(s) => Some((s.clone(), n.at)),
            _ => {
                self.wrong(t, key, n, "a string");
                None
            }
        }
    }

    pub(super) fn str(&mut self, t: &mut Tbl<'_>, key: &'static str) -> Option<String> {
        self.str_node(t, key).map(|(s, _)| s)
    }

    /// A required non-empty string (an empty placeholder when missing).
    pub(crate) fn req_str(&mut self, t: &mut Tbl<'_>, key: &'static str) -> (String, At) {
        match t.has(key) {
            false => {
                t.allow(key);
                self.missing(t, key);
                (String::new(), t.at())
            }
            true => match self.str_node(t, key) {
                Some((s, at)) if s.trim().is_empty() => {
                    self.err(at, format!("{} must not be empty", t.place(key)));
                    (s, at)
                }
                Some(x) => x,
                None => (String::new(), t.at()),
            },
        }
    }

    pub(super) fn bool(&mut self, t: &mut Tbl<'_>, key: &'static str) -> Option<bool> {
        let n = t.get(key)?;
        match &n.v {
            Val::Bool(b) => Some(*b),
            _ => {
                self.wrong(t, key, n, "a boolean (true or false)");
                None
            }
        }
    }

    pub(super) fn uint(&mut self, t: &mut Tbl<'_>, key: &'static str, min: u64, max: u64) -> Option<u64> {
        let n = t.get(key)?;
        match &n.v {
            Val::Int(Some(i)) if *i >= 0 && (*i as u64) >= min && (*i as u64) <= max => Some(*i as u64),
            Val::Int(_) => {
                self.err(n.at, format!("{} must be an integer from {min} to {max}", t.place(key)));
                None
            }
            _ => {
                self.wrong(t, key, n, "an integer");
                None
            }
        }
    }

    /// A string from a closed set of words.
    pub(super) fn word<W>(
        &mut self,
        t: &mut Tbl<'_>,
        key: &'static str,
        parse: impl Fn(&str) -> Option<W>,
        words: &[&str],
    ) -> Option<W> {
        let (s, at) = self.str_node(t, key)?;
        match parse(&s) {
            Some(w) => Some(w),
            None => {
                let hint = self.f.hint(&s, words);
                self.err(at, format!("{} must be one of {}, found '{s}'{hint}", t.place(key), fmt_list(words)));
                None
            }
        }
    }

    /// An array of strings (a single string is not accepted: TOML arrays are cheap).
    pub(super) fn str_list(&mut self, t: &mut Tbl<'_>, key: &'static str) -> Option<Vec<(String, At)>> {
        let n = t.get(key)?;
        let Val::Array(items) = &n.v else {
            self.wrong(t, key, n, "an array of strings");
            return None;
        };
        let mut out = Vec::new();
        for item in items {
            match &item.v {
                Val::Str(s) => out.push((s.clone(), item.at)),
                other => {
                    self.err(item.at, format!("each item of {} must be a string, found {}", t.place(key), other.kind()))
                }
            }
        }
        Some(out)
    }

    /// A string or an array of strings.
    pub(crate) fn str_or_list(&mut self, t: &mut Tbl<'_>, key: &'static str) -> Option<Vec<(String, At)>> {
        match t.entries.iter().find(|e| e.key == key).map(|e| &e.node.v) {
            Some(Val::Str(_)) => self.str_node(t, key).map(|x| vec![x]),
            Some(_) => self.str_list(t, key),
            None => {
                t.allow(key);
                None
            }
        }
    }

    /// The tables of an array of tables (`[[x]]` or `x = [{...}]`).
    pub(crate) fn tables<'n>(&mut self, t: &mut Tbl<'n>, key: &'static str) -> Vec<&'n Node> {
        let Some(n) = t.get(key) else { return Vec::new() };
        match &n.v {
            Val::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    if matches!(item.v, Val::Table(_)) {
                        out.push(item);
                    } else {
                        self.err(
                            item.at,
                            format!("each item of {} must be a table, found {}", t.place(key), item.v.kind()),
                        );
                    }
                }
                out
            }
            _ => {
                self.wrong(t, key, n, "an array of tables");
                Vec::new()
            }
        }
    }

    pub(super) fn cidr(&mut self, s: &str, at: At, place: &str) -> Option<Cidr> {
        if !s.contains('/') {
            self.err(at, format!("{place}: '{s}' is not an IPv4 prefix (a.b.c.d/n)"));
            return None;
        }
        if let Some(c) = Cidr::parse(s) {
            return Some(c);
        }
        match Cidr::parse_lenient(s) {
            Some(c) => self.err(at, format!("{place}: '{s}' has host bits set; did you mean '{c}'?")),
            None => self.err(at, format!("{place}: '{s}' is not a valid IPv4 prefix (a.b.c.d/n, n at most 32)")),
        }
        None
    }

    pub(super) fn ipv4(&mut self, s: &str, at: At, place: &str) -> Option<Ipv4Addr> {
        match s.parse::<Ipv4Addr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                self.err(at, format!("{place}: '{s}' is not an IPv4 address"));
                None
            }
        }
    }

    /// Records `name` in `seen`, or an error if it is there already.
    pub(super) fn unique(&mut self, seen: &mut Seen, name: &str, at: At, what: &str) {
        if name.is_empty() {
            return;
        }
        match seen.0.get(&name.to_ascii_lowercase()) {
            Some(first) => {
                let line = self.f.line(*first);
                self.err(at, format!("duplicate {what} '{name}' (the first is on line {line})"));
            }
            None => {
                seen.0.insert(name.to_ascii_lowercase(), at);
            }
        }
    }

    /// `kind:name` references (`registry:acr`, `identity:id`).
    pub(super) fn prefixed<'s>(&mut self, s: &'s str, prefix: &str, at: At, place: &str) -> Option<&'s str> {
        match s.strip_prefix(prefix).and_then(|r| r.strip_prefix(':')) {
            Some(name) if !name.is_empty() => Some(name),
            _ => {
                self.err(at, format!("{place} must be '{prefix}:<name>', found '{s}'"));
                None
            }
        }
    }
}
