//! Problems found in the vault, reported the way rustc does: `file:line:col`, the
//! source line, a caret under the place, and a hint saying what to do.
//!
//! Every stage returns its problems as plain [`Diagnostic`] values; only the command
//! line prints them.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as Report, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor};
use serde::Serialize;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The site was still built; `--strict` turns warnings into a failed build.
    Warning,
    /// Something could not be done at all (an unreadable file, for example).
    Error,
}

/// One problem, located in a note of the vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Path relative to the vault, `/`-separated; empty for problems with the vault itself.
    pub file: String,
    /// 1-based line; 0 when the problem has no place in a file.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// Byte range in the file's text that the caret underlines.
    #[serde(skip)]
    pub range: Range<usize>,
    pub message: String,
    /// What the user can do about it.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A warning at a byte range of a file's text.
    pub fn warning(
        file: &str,
        text: &str,
        range: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = line_col(text, range.start);
        Diagnostic {
            severity: Severity::Warning,
            file: file.to_string(),
            line,
            column,
            range,
            message: message.into(),
            hint: None,
        }
    }

    /// A problem with a whole file or with the vault (no place to point at).
    pub fn whole_file(severity: Severity, file: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            file: file.to_string(),
            line: 0,
            column: 0,
            range: 0..0,
            message: message.into(),
            hint: None,
        }
    }

    /// The same problem with a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `file:line:col`, or just the file when there is no place.
    pub fn location(&self) -> String {
        match (self.file.is_empty(), self.line) {
            (true, _) => String::from("<vault>"),
            (false, 0) => self.file.clone(),
            (false, line) => format!("{}:{}:{}", self.file, line, self.column),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Prints diagnostics to standard error, with the source line and a caret when the
/// file's text is known. Colour only on a terminal.
pub fn print(diagnostics: &[Diagnostic], sources: &HashMap<String, String>) {
    let mut files = SimpleFiles::new();
    let mut ids = HashMap::new();
    let config = term::Config::default();
    let choice = if std::io::stderr().is_terminal() {
        termcolor::ColorChoice::Auto
    } else {
        termcolor::ColorChoice::Never
    };
    let mut stream = termcolor::StandardStream::stderr(choice);
    for d in diagnostics {
        let mut report = match d.severity {
            Severity::Warning => Report::warning(),
            Severity::Error => Report::error(),
        }
        .with_message(&d.message);
        if let Some(hint) = &d.hint {
            report = report.with_notes(vec![format!("hint: {hint}")]);
        }
        let source = sources.get(&d.file).filter(|_| d.line > 0);
        let printed = match source {
            Some(text) => {
                let id = *ids
                    .entry(d.file.clone())
                    .or_insert_with(|| files.add(d.file.clone(), text.clone()));
                let end = d.range.end.max(d.range.start + 1).min(text.len());
                let start = d.range.start.min(end);
                report = report.with_labels(vec![Label::primary(id, start..end)]);
                term::emit_to_write_style(&mut stream, &config, &files, &report).is_ok()
            }
            None => false,
        };
        if !printed {
            let hint = d
                .hint
                .as_ref()
                .map(|h| format!("\n  = hint: {h}"))
                .unwrap_or_default();
            let kind = match d.severity {
                Severity::Warning => "warning",
                Severity::Error => "error",
            };
            eprintln!("{kind}: {}\n  --> {}{hint}\n", d.message, d.location());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let text = "ab\ncdé f\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        // 'f' comes after a two-byte character.
        assert_eq!(line_col(text, text.find('f').unwrap_or(0)), (2, 5));
    }

    #[test]
    fn location_names_the_place() {
        let d = Diagnostic::warning("a/b.md", "x\n[[y]]", 2..7, "broken link");
        assert_eq!(d.location(), "a/b.md:2:1");
    }
}
