//! What the loader reports: every error of a file (and of its fixture) at once, each
//! with `FILE:LINE:COLUMN`, and the "did you mean" hints.

use std::fmt;
use std::path::PathBuf;

/// A line and column in a file, both counted from 1 (columns in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl Pos {
    /// The line and column of byte `offset` in `text` (clamped to the text, and back to
    /// a character boundary).
    pub fn of_offset(text: &str, offset: usize) -> Pos {
        let mut off = offset.min(text.len());
        while !text.is_char_boundary(off) {
            off -= 1;
        }
        let before = &text[..off];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        Pos { line, column: before[line_start..].chars().count() + 1 }
    }

    /// The byte offset of this position in `text`, if the text has it.
    pub fn offset_in(&self, text: &str) -> Option<usize> {
        let mut start = 0;
        for _ in 1..self.line {
            start += text[start..].find('\n')? + 1;
        }
        let line = &text[start..];
        let line = &line[..line.find('\n').unwrap_or(line.len())];
        let col = line.char_indices().nth(self.column - 1).map(|(i, _)| i).unwrap_or(line.len());
        Some(start + col)
    }
}

/// One problem in a scenario or fixture file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The file the problem is in, as the loader was given it (or as the fixture was
    /// found).
    pub file: PathBuf,
    /// Where in the file; `None` when the file as a whole is the problem (unreadable).
    pub pos: Option<Pos>,
    /// What is wrong, in one sentence.
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) => write!(f, "{}:{}:{}: {}", self.file.display(), p.line, p.column, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Every problem found in a file and its fixture, ordered by file and position. Shown
/// as one error per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadErrors(pub Vec<LoadError>);

impl LoadErrors {
    /// The errors, in order.
    pub fn errors(&self) -> &[LoadError] {
        &self.0
    }
}

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadErrors {}

impl LoadErrors {
    /// Every error as a compiler shows one: `error: message`, `--> file:line:column`, the
    /// source line with a caret under the place (positions and messages as
    /// [`LoadErrors`]' `Display`, which stays one line per error). Colours with `color`.
    pub fn render(&self, color: bool) -> String {
        use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};
        let renderer = if color { Renderer::styled() } else { Renderer::plain() };
        let mut out = String::new();
        for e in &self.0 {
            let text = std::fs::read_to_string(&e.file).ok();
            let place = e.pos.zip(text.as_deref()).and_then(|(p, t)| Some((t, p.offset_in(t)?)));
            let path = e.file.display().to_string();
            let rendered = match place {
                Some((text, at)) => {
                    let span = at..at + token_len(&text[at..]);
                    let report = [Level::ERROR
                        .primary_title(&e.message)
                        .element(Snippet::source(text).path(&path).annotation(AnnotationKind::Primary.span(span)))];
                    renderer.render(&report)
                }
                None => {
                    renderer.render(&[annotate_snippets::Group::with_title(Level::ERROR.primary_title(format!("{e}")))])
                }
            };
            out.push_str(&rendered);
            out.push_str("\n\n");
        }
        out
    }
}

/// The length in bytes of the token starting a text (a key, a word, a quoted value up
/// to its end), at least one character.
fn token_len(s: &str) -> usize {
    let mut chars = s.char_indices();
    let Some((_, first)) = chars.next() else { return 0 };
    if first == '"' || first == '\'' {
        let end = s[1..].find(first).map(|i| i + 2);
        return end.unwrap_or(first.len_utf8()).min(s.find('\n').unwrap_or(s.len()).max(1));
    }
    let word = s.find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))).unwrap_or(s.len());
    if word == 0 { first.len_utf8() } else { word }
}

/// The known word closest to `got`, if it is close enough to be what was meant.
pub(crate) fn suggest<'a>(got: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = got.to_ascii_lowercase();
    let mut best: Option<(f64, &'a str)> = None;
    for k in known {
        if k == got {
            continue;
        }
        let kl = k.to_ascii_lowercase();
        let score = if kl == lower {
            2.0
        } else {
            let edits = strsim::damerau_levenshtein(&lower, &kl);
            let longest = kl.chars().count().max(lower.chars().count());
            let near = longest >= 3 && edits <= (longest / 4).max(1);
            let jw = strsim::jaro_winkler(&lower, &kl);
            if near { 1.0 + jw } else { jw }
        };
        if score >= 0.86 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, k));
        }
    }
    best.map(|(_, k)| k)
}

/// `; did you mean 'x'?` or nothing.
pub(crate) fn did_you_mean<'a>(got: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    match suggest(got, known) {
        Some(s) => format!("; did you mean '{s}'?"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_prefixes_and_case_but_not_unrelated_words() {
        let keys = ["vnetRouteAllEnabled", "acrUseManagedIdentityCreds", "linuxFxVersion"];
        assert_eq!(suggest("vnetRouteAll", keys), Some("vnetRouteAllEnabled"));
        assert_eq!(suggest("vnetrouteallenabled", keys), Some("vnetRouteAllEnabled"));
        assert_eq!(suggest("linuxFxVerison", keys), Some("linuxFxVersion"));
        assert_eq!(suggest("zzz", keys), None);
        assert_eq!(suggest("q", ["r"]), None, "one letter is no hint");
        assert_eq!(suggest("2021-7", ["2021-07", "2021-11", "2022-03", "2024-11"]), Some("2021-07"));
    }

    #[test]
    fn errors_print_one_per_line_with_position() {
        let e = LoadErrors(vec![
            LoadError { file: "a.toml".into(), pos: Some(Pos { line: 3, column: 5 }), message: "bad".into() },
            LoadError { file: "b.toml".into(), pos: None, message: "unreadable".into() },
        ]);
        assert_eq!(e.to_string(), "a.toml:3:5: bad\nb.toml: unreadable");
    }
}
