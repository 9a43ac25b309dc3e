//! The parsed document as an owned tree whose every key and value remembers the file and
//! offset it came from, so that a scenario merged over its fixture (and a matrix cell
//! applied over that) still reports each problem where it was written.

use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{LoadError, Pos, did_you_mean};
use super::limits::{MAX_FILE_BYTES, MAX_HINT_WORDS};

/// Where a key or value was written: a file of [`Files`] and a byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct At {
    pub file: usize,
    pub off: usize,
}

/// A value of the document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub at: At,
    pub v: Val,
}

/// A key of a table with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub key: String,
    pub key_at: At,
    pub node: Node,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Str(String),
    /// `None`: an integer TOML accepted that does not fit in 64 bits.
    Int(Option<i64>),
    Float(f64),
    Bool(bool),
    Datetime(String),
    Array(Vec<Node>),
    Table(Vec<Entry>),
}

impl Val {
    /// "a string", "an integer"… for "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Val::Str(_) => "a string",
            Val::Int(_) => "an integer",
            Val::Float(_) => "a float",
            Val::Bool(_) => "a boolean",
            Val::Datetime(_) => "a date-time",
            Val::Array(_) => "an array",
            Val::Table(_) => "a table",
        }
    }
}

impl Node {
    pub fn table(at: At) -> Node {
        Node { at, v: Val::Table(Vec::new()) }
    }

    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.v {
            Val::Table(t) => Some(t),
            _ => None,
        }
    }

    pub fn entries_mut(&mut self) -> Option<&mut Vec<Entry>> {
        match &mut self.v {
            Val::Table(t) => Some(t),
            _ => None,
        }
    }

    /// The value at `key` of a table.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()?.iter().find(|e| e.key == key).map(|e| &e.node)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.entries_mut()?.iter_mut().find(|e| e.key == key).map(|e| &mut e.node)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.v {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A scalar as a label: strings as they are, booleans and numbers as TOML writes them.
    pub fn label(&self) -> Option<String> {
        match &self.v {
            Val::Str(s) => Some(s.clone()),
            Val::Bool(b) => Some(b.to_string()),
            Val::Int(Some(i)) => Some(i.to_string()),
            Val::Float(f) => Some(f.to_string()),
            _ => None,
        }
    }

    /// Plain JSON (for ARM bodies written as TOML tables).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.v {
            Val::Str(s) | Val::Datetime(s) => Value::String(s.clone()),
            Val::Int(Some(i)) => Value::from(*i),
            Val::Int(None) => Value::Null,
            Val::Float(f) => serde_json::Number::from_f64(*f).map(Value::Number).unwrap_or(Value::Null),
            Val::Bool(b) => Value::Bool(*b),
            Val::Array(a) => Value::Array(a.iter().map(Node::to_json).collect()),
            Val::Table(t) => Value::Object(t.iter().map(|e| (e.key.clone(), e.node.to_json())).collect()),
        }
    }
}

/// The files of one load (the scenario first, then its fixture) and what went wrong in
/// them.
#[derive(Debug, Default)]
pub(crate) struct Files {
    paths: Vec<PathBuf>,
    texts: Vec<String>,
    /// Where each line of each file starts (byte offsets), so that a position is found
    /// by a binary search, not by counting from the top of the file for every error.
    line_starts: Vec<Vec<usize>>,
    pub diags: Vec<(At, String)>,
    /// Whole-file problems (unreadable file).
    pub file_errors: Vec<(PathBuf, String)>,
    /// Known words compared for "did you mean" hints so far (see [`Files::hint`]).
    hint_words: usize,
}

impl Files {
    pub fn add(&mut self, path: &Path, text: String) -> usize {
        self.paths.push(path.to_path_buf());
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        self.line_starts.push(starts);
        self.texts.push(text);
        self.paths.len() - 1
    }

    pub fn err(&mut self, at: At, msg: impl Into<String>) {
        self.diags.push((at, msg.into()));
    }

    /// `; did you mean 'x'?` or nothing ([`did_you_mean`]). A load compares at most
    /// [`MAX_HINT_WORDS`] known words: a file with thousands of mistakes gets hints for
    /// the first ones, and its load stays fast.
    pub fn hint(&mut self, got: &str, known: &[&str]) -> String {
        self.hint_words = self.hint_words.saturating_add(known.len());
        if self.hint_words > MAX_HINT_WORDS {
            return String::new();
        }
        did_you_mean(got, known.iter().copied())
    }

    pub fn has_errors(&self) -> bool {
        !self.diags.is_empty() || !self.file_errors.is_empty()
    }

    pub fn error_count(&self) -> usize {
        self.diags.len() + self.file_errors.len()
    }

    /// The file's text and `at`'s offset in it, moved back to a character boundary.
    fn text_at(&self, at: At) -> (&str, usize) {
        let text = self.texts.get(at.file).map(String::as_str).unwrap_or("");
        let mut off = at.off.min(text.len());
        while !text.is_char_boundary(off) {
            off -= 1;
        }
        (text, off)
    }

    /// The 1-based line of a byte offset and the offset that line starts at.
    fn line_of(&self, at: At) -> (usize, usize) {
        let (_, off) = self.text_at(at);
        let starts = self.line_starts.get(at.file).map(Vec::as_slice).unwrap_or(&[0]);
        let line = starts.partition_point(|s| *s <= off).max(1);
        (line, starts.get(line - 1).copied().unwrap_or(0))
    }

    /// The 1-based line of a byte offset.
    pub fn line(&self, at: At) -> usize {
        self.line_of(at).0
    }

    /// 1-based line and character column of a byte offset.
    pub fn pos(&self, at: At) -> Pos {
        let (text, off) = self.text_at(at);
        let (line, start) = self.line_of(at);
        Pos { line, column: text[start..off].chars().count() + 1 }
    }

    /// Every problem, by file then position, each once.
    pub fn into_errors(self) -> Vec<LoadError> {
        let mut diags: Vec<&(At, String)> = self.diags.iter().collect();
        diags.sort_by_key(|(at, _)| *at);
        // In offset order, a column is counted on from the previous error's when both are
        // on one line: thousands of errors on one long line cost one pass over it.
        let mut out: Vec<(usize, Pos, String)> = Vec::with_capacity(diags.len());
        let mut prev: Option<(usize, usize, Pos)> = None;
        for (at, m) in diags {
            let (text, off) = self.text_at(*at);
            let pos = match prev {
                Some((file, prev_off, p)) if file == at.file && p.line == self.line(*at) => {
                    Pos { line: p.line, column: p.column + text[prev_off..off].chars().count() }
                }
                _ => self.pos(*at),
            };
            prev = Some((at.file, off, pos));
            out.push((at.file, pos, m.clone()));
        }
        out.sort();
        out.dedup();
        let mut errors: Vec<LoadError> =
            self.file_errors.into_iter().map(|(file, message)| LoadError { file, pos: None, message }).collect();
        errors.extend(out.into_iter().map(|(f, pos, message)| LoadError {
            file: self.paths.get(f).cloned().unwrap_or_default(),
            pos: Some(pos),
            message,
        }));
        errors
    }

    /// Parses file `file` as TOML. Syntax errors are recorded (all of them) and give
    /// `None`, as does a file larger than [`MAX_FILE_BYTES`].
    pub fn parse(&mut self, file: usize) -> Option<Node> {
        if self.texts.get(file).is_some_and(|t| t.len() > MAX_FILE_BYTES) {
            self.err(
                At { file, off: MAX_FILE_BYTES },
                format!(
                    "the file is larger than {MAX_FILE_BYTES} bytes (1 MiB), the most a scenario or fixture may \
                     hold; the limit is crossed here"
                ),
            );
            return None;
        }
        let text = self.texts.get(file).cloned().unwrap_or_default();
        let (doc, errors) = DeTable::parse_recoverable(&text);
        if !errors.is_empty() {
            for e in errors {
                let off = e.span().map(|s| s.start).unwrap_or(0);
                self.err(At { file, off }, format!("TOML syntax error: {}", e.message()));
            }
            return None;
        }
        let span = doc.span();
        Some(Node { at: At { file, off: span.start }, v: Val::Table(table(file, doc.into_inner())) })
    }
}

fn table(file: usize, t: DeTable<'_>) -> Vec<Entry> {
    t.into_iter()
        .map(|(k, v)| Entry {
            key_at: At { file, off: k.span().start },
            key: k.into_inner().into_owned(),
            node: node(file, v),
        })
        .collect()
}

fn node(file: usize, v: Spanned<DeValue<'_>>) -> Node {
    let at = At { file, off: v.span().start };
    let v = match v.into_inner() {
        DeValue::String(s) => Val::Str(s.into_owned()),
        DeValue::Integer(i) => Val::Int(i64::from_str_radix(i.as_str(), i.radix()).ok()),
        DeValue::Float(f) => Val::Float(f.as_str().parse().unwrap_or(f64::NAN)),
        DeValue::Boolean(b) => Val::Bool(b),
        DeValue::Datetime(d) => Val::Datetime(d.to_string()),
        DeValue::Array(a) => Val::Array(a.into_iter().map(|v| node(file, v)).collect()),
        DeValue::Table(t) => Val::Table(table(file, t)),
    };
    Node { at, v }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters_from_one() {
        let mut f = Files::default();
        let id = f.add(Path::new("x.toml"), "a = 1\nbé = \"x\"\n".into());
        assert_eq!(f.pos(At { file: id, off: 0 }), Pos { line: 1, column: 1 });
        // "bé = " is 6 bytes but 5 characters.
        assert_eq!(f.pos(At { file: id, off: 6 + 6 }), Pos { line: 2, column: 6 });
        // Offsets past the end or inside a character never panic.
        assert_eq!(f.pos(At { file: id, off: 8 }).line, 2);
        assert_eq!(f.pos(At { file: id, off: 999 }).line, 3);
    }

    #[test]
    fn deep_nesting_is_refused_by_the_parser_not_by_the_stack() {
        for open in ["[", "{ a = ", "[{ a = "] {
            let mut f = Files::default();
            let text = format!("x = {}", open.repeat(100_000));
            let id = f.add(Path::new("deep.toml"), text);
            assert!(f.parse(id).is_none());
            assert!(f.has_errors());
        }
        // Balanced, too deep: refused as well (a parser limit), never a stack overflow.
        let mut f = Files::default();
        let id = f.add(Path::new("deep.toml"), format!("x = {}{}", "[".repeat(50_000), "]".repeat(50_000)));
        assert!(f.parse(id).is_none());
    }

    #[test]
    fn every_syntax_error_is_recorded_in_order() {
        let mut f = Files::default();
        let id = f.add(Path::new("x.toml"), "a = 1\na = 2\nb = \n".into());
        assert!(f.parse(id).is_none());
        let errors = f.into_errors();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].pos, Some(Pos { line: 2, column: 1 }));
        assert!(errors[0].message.contains("duplicate key"));
    }
}
