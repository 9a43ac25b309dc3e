//! The template expression language: which strings are expressions, and their syntax.
//!
//! A JSON string that starts with `[` and ends with `]` is an expression; one that starts
//! with `[[` is a literal whose first `[` is dropped. Inside, an expression is a function call
//! (`name(args)` or `namespace.name(args)` for user-defined functions) followed by any number
//! of property accesses `.name` and indexes `[expr]`; arguments are expressions, string
//! literals `'…'` (a quote doubled is a quote) or integers.
//!
//! Errors carry Azure's wording (built in `error.rs`): `Unable to parse language expression
//! '…': expected token 'RightParenthesis' and actual 'EndOfData'.` for grammar errors and
//! `The language expression '…' is not valid: the string character '{' at position '4' is
//! not expected.` for characters that start no token.

use crate::error::msg;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A string literal.
    String(String),
    /// An integer literal.
    Int(i64),
    /// A function call; `namespace` is set for user-defined functions (`ns.fn(…)`).
    Call {
        /// Namespace of a user-defined function.
        namespace: Option<String>,
        /// Function name as written (lookups are case-insensitive).
        name: String,
        /// Arguments.
        args: Vec<Expr>,
    },
    /// `target.name`.
    Property {
        /// The object.
        target: Box<Expr>,
        /// The property name.
        name: String,
    },
    /// `target[index]`.
    Index {
        /// The array or object.
        target: Box<Expr>,
        /// The index or key.
        index: Box<Expr>,
    },
}

/// What a template string holds.
#[derive(Debug, Clone, PartialEq)]
pub enum StringValue<'a> {
    /// A literal (escapes already removed).
    Literal(std::borrow::Cow<'a, str>),
    /// An expression; the text between the outer brackets.
    Expression(&'a str),
}

/// Classifies a template string as a literal or an expression.
pub fn classify(s: &str) -> StringValue<'_> {
    if let Some(rest) = s.strip_prefix("[[") {
        let mut out = String::with_capacity(rest.len() + 1);
        out.push('[');
        out.push_str(rest);
        return StringValue::Literal(out.into());
    }
    if s.len() >= 2 && s.starts_with('[') && s.ends_with(']') {
        return StringValue::Expression(&s[1..s.len() - 1]);
    }
    StringValue::Literal(s.into())
}

/// Parses the text of an expression (without its outer brackets). The error is the message
/// Azure gives.
pub fn parse(text: &str) -> Result<Expr, String> {
    let tokens = lex(text)?;
    let mut p = ExprParser { text, tokens, i: 0, depth: 0 };
    let e = p.root()?;
    match p.peek() {
        Tok::End => Ok(e),
        other => Err(msg::expected_token(text, "EndOfData", other.name())),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Int(i64),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    End,
}

impl Tok {
    /// The token names Azure's parser uses in its messages (`Identifier`, `RightParenthesis`
    /// and `EndOfData` seen in Azure's answers; the others named in the same scheme).
    fn name(&self) -> &'static str {
        match self {
            Tok::Ident(_) => "Identifier",
            Tok::Str(_) => "String",
            Tok::Int(_) => "Integer",
            Tok::LParen => "LeftParenthesis",
            Tok::RParen => "RightParenthesis",
            Tok::LBracket => "LeftSquareBracket",
            Tok::RBracket => "RightSquareBracket",
            Tok::Comma => "Comma",
            Tok::Dot => "Dot",
            Tok::End => "EndOfData",
        }
    }
}

fn lex(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            '[' => {
                out.push(Tok::LBracket);
                i += 1;
            }
            ']' => {
                out.push(Tok::RBracket);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '.' => {
                out.push(Tok::Dot);
                i += 1;
            }
            '\'' => {
                let start = i;
                i += 1;
                let mut s = String::new();
                loop {
                    match chars.get(i) {
                        None => return Err(msg::unterminated_string(text, start + 1)),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&c) => {
                            s.push(c);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(s));
            }
            c if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) => {
                let start = i;
                i += 1;
                while chars.get(i).is_some_and(|d| d.is_ascii_digit()) {
                    i += 1;
                }
                let lit: String = chars[start..i].iter().collect();
                let n = lit.parse::<i64>().map_err(|_| msg::integer_out_of_range(text, &lit))?;
                out.push(Tok::Int(n));
            }
            c if c.is_alphabetic() || c == '_' || c == '$' => {
                let start = i;
                while chars.get(i).is_some_and(|d| d.is_alphanumeric() || *d == '_' || *d == '$' || *d == '-') {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(msg::unexpected_character(text, other, i + 1)),
        }
    }
    out.push(Tok::End);
    Ok(out)
}

/// Bounds recursion on hostile input; real templates nest a few dozen calls deep at most.
const MAX_DEPTH: usize = 200;

struct ExprParser<'t> {
    text: &'t str,
    tokens: Vec<Tok>,
    i: usize,
    depth: usize,
}

impl ExprParser<'_> {
    fn peek(&self) -> &Tok {
        self.tokens.get(self.i).unwrap_or(&Tok::End)
    }

    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.i < self.tokens.len() {
            self.i += 1;
        }
        t
    }

    fn expect(&mut self, want: Tok) -> Result<(), String> {
        let got = self.next();
        if got == want { Ok(()) } else { Err(msg::expected_token(self.text, want.name(), got.name())) }
    }

    /// The root of an expression must be a function call.
    fn root(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Tok::Ident(_) => self.expression(),
            other => Err(msg::expected_token(self.text, "Identifier", other.name())),
        }
    }

    fn expression(&mut self) -> Result<Expr, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(msg::expression_too_deep(self.text));
        }
        let mut e = self.primary()?;
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.next();
                    match self.next() {
                        Tok::Ident(name) => e = Expr::Property { target: Box::new(e), name },
                        other => return Err(msg::expected_token(self.text, "Identifier", other.name())),
                    }
                }
                Tok::LBracket => {
                    self.next();
                    let index = self.expression()?;
                    self.expect(Tok::RBracket)?;
                    e = Expr::Index { target: Box::new(e), index: Box::new(index) };
                }
                _ => break,
            }
        }
        self.depth -= 1;
        Ok(e)
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Tok::Str(s) => Ok(Expr::String(s)),
            Tok::Int(n) => Ok(Expr::Int(n)),
            Tok::Ident(first) => {
                let (namespace, name) = if self.peek() == &Tok::Dot
                    && matches!(self.tokens.get(self.i + 1), Some(Tok::Ident(_)))
                    && self.tokens.get(self.i + 2) == Some(&Tok::LParen)
                {
                    self.next();
                    let Tok::Ident(second) = self.next() else { unreachable!("checked above") };
                    (Some(first), second)
                } else {
                    (None, first)
                };
                self.expect(Tok::LParen)?;
                let mut args = Vec::new();
                if self.peek() == &Tok::RParen {
                    self.next();
                } else {
                    loop {
                        args.push(self.expression()?);
                        match self.next() {
                            Tok::Comma => {}
                            Tok::RParen => break,
                            other => return Err(msg::expected_token(self.text, "RightParenthesis", other.name())),
                        }
                    }
                }
                Ok(Expr::Call { namespace, name, args })
            }
            other => Err(msg::expected_token(self.text, "Identifier", other.name())),
        }
    }
}

impl Expr {
    /// Calls every function call in the expression, depth first.
    pub fn visit_calls<'e>(&'e self, f: &mut dyn FnMut(Option<&'e str>, &'e str, &'e [Expr])) {
        match self {
            Expr::String(_) | Expr::Int(_) => {}
            Expr::Call { namespace, name, args } => {
                f(namespace.as_deref(), name, args);
                for a in args {
                    a.visit_calls(f);
                }
            }
            Expr::Property { target, .. } => target.visit_calls(f),
            Expr::Index { target, index } => {
                target.visit_calls(f);
                index.visit_calls(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Vec<Expr>) -> Expr {
        Expr::Call { namespace: None, name: name.into(), args }
    }

    #[test]
    fn strings_are_classified_like_arm() {
        assert_eq!(classify("[parameters('a')]"), StringValue::Expression("parameters('a')"));
        assert_eq!(classify("[[not an expression]"), StringValue::Literal("[not an expression]".into()));
        assert_eq!(classify("[starts only"), StringValue::Literal("[starts only".into()));
        assert_eq!(classify("plain"), StringValue::Literal("plain".into()));
        assert_eq!(classify("[]"), StringValue::Expression(""));
    }

    #[test]
    fn calls_properties_indexes_and_escaped_quotes_parse() {
        let e = parse("concat('it''s', parameters('x')[0].name, -3)").unwrap();
        assert_eq!(
            e,
            call(
                "concat",
                vec![
                    Expr::String("it's".into()),
                    Expr::Property {
                        target: Box::new(Expr::Index {
                            target: Box::new(call("parameters", vec![Expr::String("x".into())])),
                            index: Box::new(Expr::Int(0)),
                        }),
                        name: "name".into(),
                    },
                    Expr::Int(-3),
                ]
            )
        );
    }

    #[test]
    fn namespaced_user_functions_parse() {
        let e = parse("main.getResource('a').id").unwrap();
        let Expr::Property { target, name } = e else { panic!() };
        assert_eq!(name, "id");
        assert_eq!(
            *target,
            Expr::Call {
                namespace: Some("main".into()),
                name: "getResource".into(),
                args: vec![Expr::String("a".into())]
            }
        );
    }

    #[test]
    fn a_missing_parenthesis_is_named_as_azure_names_it() {
        assert_eq!(
            parse("concat('ai-', uniqueString(resourceGroup().id)").unwrap_err(),
            "Unable to parse language expression 'concat('ai-', uniqueString(resourceGroup().id)': expected token 'RightParenthesis' and actual 'EndOfData'."
        );
        assert_eq!(
            parse("").unwrap_err(),
            "Unable to parse language expression '': expected token 'Identifier' and actual 'EndOfData'."
        );
    }

    #[test]
    fn an_unexpected_character_is_named_with_its_position() {
        assert_eq!(
            parse("\n  {\n").unwrap_err(),
            "The language expression '\n  {\n' is not valid: the string character '{' at position '4' is not expected."
        );
    }
}
