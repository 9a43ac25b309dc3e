//! A JSON reader that keeps the line and column of every value, as ARM's own reader
//! (Newtonsoft.Json) does: Azure names positions in its template errors ("at line '12' and
//! column '9'"), so the template must be read with them.
//!
//! Accepted beyond RFC 8259, as Newtonsoft accepts and ARM therefore does: a UTF-8 byte order
//! mark, `//` and `/* */` comments, and any of `\n`, `\r\n`, `\r` as a line end. A key that
//! appears twice in one object is an error, as it is for Newtonsoft's `JObject`.
//!
//! Positions are 1-based; a value's column is that of its first character (the `{` of an
//! object, the opening `"` of a string), which is what Azure reports for the objects its
//! messages name (resources, parameters, outputs).

use serde_json::{Map, Number, Value};

/// A 1-based line and column in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// Line, from 1. Zero when the value did not come from source text.
    pub line: u32,
    /// Column, from 1, counted in characters.
    pub column: u32,
}

/// A JSON value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the value starts.
    pub pos: Pos,
    /// The value.
    pub kind: NodeKind,
}

/// The kinds of JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number (integers stay integers).
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Node>),
    /// An object, members in source order.
    Object(Vec<Member>),
}

/// One `"key": value` of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Node,
}

/// Why the text is not JSON, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// What went wrong.
    pub message: String,
    /// Where (line and column of the offending character).
    pub pos: Pos,
}

impl Node {
    /// A node with no source position, made from a value (for values computed by expressions).
    pub fn from_value(value: &Value) -> Node {
        let kind = match value {
            Value::Null => NodeKind::Null,
            Value::Bool(b) => NodeKind::Bool(*b),
            Value::Number(n) => NodeKind::Number(n.clone()),
            Value::String(s) => NodeKind::String(s.clone()),
            Value::Array(a) => NodeKind::Array(a.iter().map(Node::from_value).collect()),
            Value::Object(o) => {
                NodeKind::Object(o.iter().map(|(k, v)| Member { key: k.clone(), value: Node::from_value(v) }).collect())
            }
        };
        Node { pos: Pos::default(), kind }
    }

    /// The plain JSON value.
    pub fn to_value(&self) -> Value {
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Number(n) => Value::Number(n.clone()),
            NodeKind::String(s) => Value::String(s.clone()),
            NodeKind::Array(a) => Value::Array(a.iter().map(Node::to_value).collect()),
            NodeKind::Object(members) => {
                let mut map = Map::new();
                for m in members {
                    map.insert(m.key.clone(), m.value.to_value());
                }
                Value::Object(map)
            }
        }
    }

    /// The member `key` of an object, matched case-insensitively as ARM matches template
    /// property names (`"Type"` and `"type"` are the same property).
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Object(members) => members
                .iter()
                .find(|m| m.key == key)
                .or_else(|| members.iter().find(|m| m.key.eq_ignore_ascii_case(key)))
                .map(|m| &m.value),
            _ => None,
        }
    }

    /// The members, when this is an object.
    pub fn members(&self) -> Option<&[Member]> {
        match &self.kind {
            NodeKind::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The elements, when this is an array.
    pub fn elements(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The text, when this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::String(s) => Some(s),
            _ => None,
        }
    }

    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Null)
    }
}

/// Reads a JSON document.
pub fn parse(text: &str) -> Result<Node, JsonError> {
    let mut p = Parser { chars: text.chars().collect(), i: 0, line: 1, col: 1 };
    if p.peek() == Some('\u{feff}') {
        p.i += 1;
    }
    p.skip_ws()?;
    let node = p.value(0)?;
    p.skip_ws()?;
    if let Some(c) = p.peek() {
        return Err(p.err(format!("Additional text encountered after finished reading JSON content: {c}.")));
    }
    Ok(node)
}

/// Deep enough for any template; bounds the recursion on hostile input.
const MAX_DEPTH: usize = 256;

struct Parser {
    chars: Vec<char>,
    i: usize,
    line: u32,
    col: u32,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn pos(&self) -> Pos {
        Pos { line: self.line, column: self.col }
    }

    fn err(&self, message: String) -> JsonError {
        JsonError { message, pos: self.pos() }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        match c {
            '\n' => {
                self.line += 1;
                self.col = 1;
            }
            // A lone CR ends a line; CR LF ends one line, counted at the LF.
            '\r' if self.peek() != Some('\n') => {
                self.line += 1;
                self.col = 1;
            }
            '\r' => {}
            _ => self.col += 1,
        }
        Some(c)
    }

    fn skip_ws(&mut self) -> Result<(), JsonError> {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() || c == '\u{feff}' => {
                    self.bump();
                }
                Some('/') => match self.chars.get(self.i + 1) {
                    Some('/') => {
                        while let Some(c) = self.peek() {
                            if c == '\n' || c == '\r' {
                                break;
                            }
                            self.bump();
                        }
                    }
                    Some('*') => {
                        let start = self.pos();
                        self.bump();
                        self.bump();
                        loop {
                            match self.bump() {
                                Some('*') if self.peek() == Some('/') => {
                                    self.bump();
                                    break;
                                }
                                Some(_) => {}
                                None => {
                                    return Err(JsonError {
                                        message: "Unexpected end while parsing comment.".into(),
                                        pos: start,
                                    });
                                }
                            }
                        }
                    }
                    _ => return Err(self.err("Unexpected character encountered while parsing value: /.".into())),
                },
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err(format!("The JSON is nested deeper than {MAX_DEPTH} levels.")));
        }
        let pos = self.pos();
        let kind = match self.peek() {
            None => return Err(self.err("Unexpected end when reading JSON.".into())),
            Some('{') => self.object(depth)?,
            Some('[') => self.array(depth)?,
            Some('"') => NodeKind::String(self.string()?),
            Some(c) if c == '-' || c.is_ascii_digit() => NodeKind::Number(self.number()?),
            Some(c) if c.is_ascii_alphabetic() => {
                let word = self.word();
                match word.as_str() {
                    "true" => NodeKind::Bool(true),
                    "false" => NodeKind::Bool(false),
                    "null" => NodeKind::Null,
                    _ => {
                        return Err(JsonError {
                            message: format!("Unexpected character encountered while parsing value: {c}."),
                            pos,
                        });
                    }
                }
            }
            Some(c) => return Err(self.err(format!("Unexpected character encountered while parsing value: {c}."))),
        };
        Ok(Node { pos, kind })
    }

    fn word(&mut self) -> String {
        let mut w = String::new();
        while let Some(c) = self.peek() {
            if !c.is_ascii_alphanumeric() {
                break;
            }
            w.push(c);
            self.bump();
        }
        w
    }

    fn object(&mut self, depth: usize) -> Result<NodeKind, JsonError> {
        self.bump();
        let mut members: Vec<Member> = Vec::new();
        self.skip_ws()?;
        if self.peek() == Some('}') {
            self.bump();
            return Ok(NodeKind::Object(members));
        }
        loop {
            self.skip_ws()?;
            let key_pos = self.pos();
            let key = match self.peek() {
                Some('"') => self.string()?,
                // Newtonsoft reads unquoted property names (letters, digits, `_`, `$`): the
                // Azure CLI sends `{"properties": {…, template: {…}}}` to keep the template's
                // text as written.
                Some(c) if c.is_alphanumeric() || c == '_' || c == '$' => {
                    let mut k = String::new();
                    while let Some(c) = self.peek().filter(|c| c.is_alphanumeric() || *c == '_' || *c == '$') {
                        k.push(c);
                        self.bump();
                    }
                    k
                }
                Some(c) => return Err(self.err(format!("Invalid property identifier character: {c}."))),
                None => return Err(self.err("Unexpected end when deserializing object.".into())),
            };
            if members.iter().any(|m| m.key == key) {
                return Err(JsonError {
                    message: format!(
                        "Can not add property {key} to Newtonsoft.Json.Linq.JObject. Property with the same name already exists on object."
                    ),
                    pos: key_pos,
                });
            }
            self.skip_ws()?;
            if self.peek() != Some(':') {
                return Err(self.err(format!(
                    "Invalid character after parsing property name. Expected ':' but got: {}.",
                    self.shown()
                )));
            }
            self.bump();
            self.skip_ws()?;
            let value = self.value(depth + 1)?;
            members.push(Member { key, value });
            self.skip_ws()?;
            match self.peek() {
                Some(',') => {
                    self.bump();
                    self.skip_ws()?;
                    // Newtonsoft accepts a trailing comma before the closing brace.
                    if self.peek() == Some('}') {
                        self.bump();
                        return Ok(NodeKind::Object(members));
                    }
                }
                Some('}') => {
                    self.bump();
                    return Ok(NodeKind::Object(members));
                }
                None => return Err(self.err("Unexpected end when deserializing object.".into())),
                Some(c) => {
                    return Err(
                        self.err(format!("After parsing a value an unexpected character was encountered: {c}."))
                    );
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<NodeKind, JsonError> {
        self.bump();
        let mut items = Vec::new();
        self.skip_ws()?;
        if self.peek() == Some(']') {
            self.bump();
            return Ok(NodeKind::Array(items));
        }
        loop {
            self.skip_ws()?;
            items.push(self.value(depth + 1)?);
            self.skip_ws()?;
            match self.peek() {
                Some(',') => {
                    self.bump();
                    self.skip_ws()?;
                    if self.peek() == Some(']') {
                        self.bump();
                        return Ok(NodeKind::Array(items));
                    }
                }
                Some(']') => {
                    self.bump();
                    return Ok(NodeKind::Array(items));
                }
                None => return Err(self.err("Unexpected end when deserializing array.".into())),
                Some(c) => {
                    return Err(
                        self.err(format!("After parsing a value an unexpected character was encountered: {c}."))
                    );
                }
            }
        }
    }

    fn shown(&self) -> String {
        self.peek().map(|c| c.to_string()).unwrap_or_else(|| "end of text".into())
    }

    fn string(&mut self) -> Result<String, JsonError> {
        let start = self.pos();
        self.bump();
        let mut s = String::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(JsonError { message: "Unterminated string. Expected delimiter: \".".into(), pos: start });
            };
            match c {
                '"' => return Ok(s),
                '\\' => {
                    let esc_pos = self.pos();
                    let Some(e) = self.bump() else {
                        return Err(JsonError {
                            message: "Unterminated string. Expected delimiter: \".".into(),
                            pos: start,
                        });
                    };
                    match e {
                        '"' => s.push('"'),
                        '\\' => s.push('\\'),
                        '/' => s.push('/'),
                        'b' => s.push('\u{8}'),
                        'f' => s.push('\u{c}'),
                        'n' => s.push('\n'),
                        'r' => s.push('\r'),
                        't' => s.push('\t'),
                        'u' => {
                            let hi = self.hex4()?;
                            if (0xD800..0xDC00).contains(&hi)
                                && self.peek() == Some('\\')
                                && self.chars.get(self.i + 1) == Some(&'u')
                            {
                                self.bump();
                                self.bump();
                                let lo = self.hex4()?;
                                let code = 0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF);
                                s.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                            } else {
                                s.push(char::from_u32(hi).unwrap_or('\u{fffd}'));
                            }
                        }
                        other => {
                            return Err(JsonError {
                                message: format!("Bad JSON escape sequence: \\{other}."),
                                pos: esc_pos,
                            });
                        }
                    }
                }
                c => s.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let c = self.peek().and_then(|c| c.to_digit(16));
            match c {
                Some(d) => {
                    v = v * 16 + d;
                    self.bump();
                }
                None => return Err(self.err("Invalid Unicode escape sequence.".into())),
            }
        }
        Ok(v)
    }

    fn number(&mut self) -> Result<Number, JsonError> {
        let start = self.pos();
        let mut text = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E') {
                text.push(c);
                self.bump();
            } else {
                break;
            }
        }
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Number::from(i));
        }
        let bad = || JsonError { message: format!("Input string '{text}' is not a valid number."), pos: start };
        let f: f64 = text.parse().map_err(|_| bad())?;
        Number::from_f64(f).ok_or_else(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Azure CLI writes the template's text after an unquoted `template:` key.
    #[test]
    fn unquoted_property_names_are_read_like_newtonsoft() {
        let node = parse(r#"{"properties": {"mode": "Incremental", template: {"a": 1}, $x_1: 2}}"#).unwrap();
        let p = node.get("properties").unwrap();
        assert_eq!(p.get("template").unwrap().to_value(), serde_json::json!({"a": 1}));
        assert_eq!(p.get("$x_1").unwrap().to_value(), serde_json::json!(2));
        assert!(parse(r#"{-a: 1}"#).unwrap_err().message.contains("Invalid property identifier character: -."));
    }

    #[test]
    fn positions_count_crlf_as_one_line_end() {
        let node = parse("{\r\n  \"a\": {\r\n    \"b\": 1\r\n  }\r\n}").unwrap();
        assert_eq!(node.pos, Pos { line: 1, column: 1 });
        let a = node.get("a").unwrap();
        assert_eq!(a.pos, Pos { line: 2, column: 8 });
        assert_eq!(a.get("b").unwrap().pos, Pos { line: 3, column: 10 });
    }

    #[test]
    fn comments_bom_and_trailing_commas_are_accepted_like_newtonsoft() {
        let node = parse("\u{feff}// head\n{ /* x */ \"a\": [1, 2,], }").unwrap();
        assert_eq!(node.to_value(), serde_json::json!({"a": [1, 2]}));
    }

    #[test]
    fn keys_match_case_insensitively_exact_first() {
        let node = parse(r#"{"Type": 1, "type": 2}"#).unwrap();
        assert_eq!(node.get("type").unwrap().to_value(), 2);
        assert_eq!(node.get("TYPE").unwrap().to_value(), 1);
    }

    #[test]
    fn duplicate_keys_are_refused_with_their_position() {
        let err = parse("{\n \"a\": 1,\n \"a\": 2}").unwrap_err();
        assert_eq!(err.pos, Pos { line: 3, column: 2 });
        assert!(err.message.contains("Property with the same name already exists"));
    }

    #[test]
    fn escapes_and_numbers_round_trip() {
        let node = parse(r#"["a\"b\u00e9\ud83d\ude00", -12, 1.5e3, 9223372036854775807]"#).unwrap();
        assert_eq!(node.to_value(), serde_json::json!(["a\"bé😀", -12, 1500.0, 9223372036854775807i64]));
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        for text in ["", "{", "{\"a\"", "{\"a\":", "[1,", "\"abc", "tru", "{\"a\" 1}", "/* x"] {
            assert!(parse(text).is_err(), "{text:?}");
        }
    }
}
