//! Problems found in the vault, reported the way rustc does: `file:line:col`, the
//! source line, a caret under the place, and a hint saying what to do.
//!
//! Every stage returns its problems as plain [`Diagnostic`] values; only the command
//! line prints them.

use std::collections::HashMap;
use std::io::{IsTerminal, Write as _};
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
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

/// Where the last [`line_col`] of a thread ended: the text (its address, length and first
/// bytes), the offset, and its line and column. A stage reports the problems of a note in
/// order, so the next one is counted from there: many problems on one long line stay
/// linear.
#[derive(Clone, Copy)]
struct LastPlace {
    text: (usize, usize, u64),
    offset: usize,
    line: usize,
    column: usize,
}

thread_local! {
    static LAST_PLACE: std::cell::Cell<Option<LastPlace>> = const { std::cell::Cell::new(None) };
}

/// A text's identity for [`LastPlace`].
fn text_key(text: &str) -> (usize, usize, u64) {
    let head = text
        .bytes()
        .take(16)
        .fold(0u64, |h, b| h.wrapping_mul(131).wrapping_add(u64::from(b)));
    (text.as_ptr() as usize, text.len(), head)
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let key = text_key(text);
    let (from, mut line, mut column) = match LAST_PLACE.get() {
        Some(last) if last.text == key && last.offset <= offset => {
            (last.offset, last.line, last.column)
        }
        _ => (0, 1, 1),
    };
    let between = &text[from..offset];
    match between.rfind('\n') {
        Some(k) => {
            line += between.bytes().filter(|&b| b == b'\n').count();
            column = between[k + 1..].chars().count() + 1;
        }
        None => column += between.chars().count(),
    }
    LAST_PLACE.set(Some(LastPlace {
        text: key,
        offset,
        line,
        column,
    }));
    (line, column)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The kinds of problem, for the summary: a part of the message that tells the kind
/// (the first that matches wins), and the kind's name in the plural. A message that
/// matches none is one of the [`OTHER`].
pub const KINDS: &[(&str, Kind)] = &[
    ("linked note `", ("broken link", "broken links")),
    ("embedded file or note `", ("broken embed", "broken embeds")),
    ("linked file `", ("missing file", "missing files")),
    (
        "is not a heading or block id",
        ("broken heading link", "broken heading links"),
    ),
    (
        "formula cannot be rendered",
        ("formula not rendered", "formulas not rendered"),
    ),
    ("unclosed `", ("unclosed formula", "unclosed formulas")),
    (
        "wrong derivative identity",
        ("wrong identity", "wrong identities"),
    ),
    ("is taken by", ("address taken", "addresses taken")),
    (
        "too long for a file name",
        ("name too long", "names too long"),
    ),
    ("note is empty", ("empty note", "empty notes")),
    ("flashcard", ("flashcard problem", "flashcard problems")),
    (
        "review comment",
        ("flashcard problem", "flashcard problems"),
    ),
    (
        "front matter",
        ("front matter problem", "front matter problems"),
    ),
    (
        "is not a date",
        ("front matter problem", "front matter problems"),
    ),
    ("macro", ("macro problem", "macro problems")),
    ("cannot read", ("unreadable file", "unreadable files")),
];

/// A kind of problem: its name for one, and for many.
pub type Kind = (&'static str, &'static str);

/// The kind of the problems [`KINDS`] does not name.
pub const OTHER: Kind = ("other warning", "other warnings");

impl Diagnostic {
    /// The kind of problem ([`KINDS`]).
    pub fn kind(&self) -> Kind {
        KINDS
            .iter()
            .find(|(part, _)| self.message.contains(part))
            .map_or(OTHER, |(_, kind)| *kind)
    }
}

/// `2390` → `2,390`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `n` problems of a kind: `1 broken link`, `2,390 broken links`.
fn count(n: usize, (one, many): Kind) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// The problems counted by kind, most frequent first: `2,390 broken links in 612 files,
/// 54 formulas not rendered in 20 files`. Empty when there are none.
pub fn summary(diagnostics: &[Diagnostic]) -> String {
    let mut kinds: Vec<(Kind, usize, std::collections::HashSet<&str>)> = Vec::new();
    for d in diagnostics {
        let kind = d.kind();
        let at = match kinds.iter().position(|(k, _, _)| *k == kind) {
            Some(at) => at,
            None => {
                kinds.push((kind, 0, Default::default()));
                kinds.len() - 1
            }
        };
        kinds[at].1 += 1;
        kinds[at].2.insert(&d.file);
    }
    kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    kinds
        .iter()
        .map(|(kind, n, files)| {
            let files = files.iter().filter(|f| !f.is_empty()).count();
            match files {
                0 => count(*n, *kind),
                1 => format!("{} in 1 file", count(*n, *kind)),
                f => format!("{} in {} files", count(*n, *kind), thousands(f)),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Prints diagnostics to standard error, with the source line and a caret when the
/// file's text is known. Colour only on a terminal.
pub fn print(diagnostics: &[Diagnostic], sources: &HashMap<String, String>) {
    print_some(diagnostics, sources, None);
}

/// Prints at most `max_per_kind` diagnostics of each kind ([`KINDS`], in the order
/// given; all when `None`), then a line per kind saying how many were left out. All
/// is written through one buffer: one write call per few kilobytes, not per line.
pub fn print_some(
    diagnostics: &[Diagnostic],
    sources: &HashMap<String, String>,
    max_per_kind: Option<usize>,
) {
    let choice = if std::io::stderr().is_terminal() {
        termcolor::ColorChoice::Auto
    } else {
        termcolor::ColorChoice::Never
    };
    let mut stream = termcolor::BufferedStandardStream::stderr(choice);
    let mut shown: HashMap<Kind, usize> = HashMap::new();
    let mut left_out: Vec<(Kind, usize)> = Vec::new();
    let chosen: Vec<&Diagnostic> = diagnostics
        .iter()
        .filter(|d| {
            let kind = d.kind();
            let n = shown.entry(kind).or_insert(0);
            *n += 1;
            if max_per_kind.is_some_and(|max| *n > max) {
                match left_out.iter_mut().find(|(k, _)| *k == kind) {
                    Some((_, count)) => *count += 1,
                    None => left_out.push((kind, 1)),
                }
                false
            } else {
                true
            }
        })
        .collect();
    write_all(&mut stream, &chosen, sources);
    for (kind, n) in left_out {
        let _ = writeln!(
            stream,
            "… and {} more {} not shown (--max-warnings N shows N of each kind; --strict shows all)",
            thousands(n),
            if n == 1 { kind.0 } else { kind.1 }
        );
    }
    let _ = stream.flush();
}

fn write_all(
    stream: &mut termcolor::BufferedStandardStream,
    diagnostics: &[&Diagnostic],
    sources: &HashMap<String, String>,
) {
    let mut files = SimpleFiles::new();
    let mut ids = HashMap::new();
    let config = term::Config::default();
    for d in diagnostics.iter().copied() {
        let mut report = match d.severity {
            Severity::Warning => Report::warning(),
            Severity::Error => Report::error(),
        }
        .with_message(escape_controls(&d.message));
        if let Some(hint) = &d.hint {
            report = report.with_notes(vec![format!("hint: {}", escape_controls(hint))]);
        }
        let source = sources.get(&d.file).filter(|_| d.line > 0);
        let printed = match source {
            Some(text) if !plain_line(text, d.range.start) => {
                let _ = write!(stream, "{}", windowed(d, text));
                true
            }
            Some(text) => {
                let id = *ids
                    .entry(d.file.clone())
                    .or_insert_with(|| files.add(d.file.clone(), text.clone()));
                let end = d.range.end.max(d.range.start + 1).min(text.len());
                let start = d.range.start.min(end);
                report = report.with_labels(vec![Label::primary(id, start..end)]);
                term::emit_to_write_style(stream, &config, &files, &report).is_ok()
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
            let _ = writeln!(
                stream,
                "{kind}: {}\n  --> {}{}\n",
                escape_controls(&d.message),
                escape_controls(&d.location()),
                escape_controls(&hint)
            );
        }
    }
}

/// `text` with control characters other than line breaks and tabs shown escaped
/// (`\u{1b}`): a note's text quoted in a message must not drive the terminal.
fn escape_controls(text: &str) -> String {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                c.escape_default().collect()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The widest source line printed whole; a longer one is shown as a window around the
/// caret (a long line repeated for each of its problems made output quadratic).
const WIDEST_LINE: usize = 160;

/// The characters shown either side of the caret in a window.
const WINDOW: usize = 60;

/// The part of the line holding byte `at` of `text` that lies at most `reach` bytes
/// either side of it: its byte range, and whether the line goes on before and after.
/// Bounded, so that many problems on one long line stay linear.
fn line_around(text: &str, at: usize, reach: usize) -> (Range<usize>, bool, bool) {
    let at = floor_char_boundary(text, at.min(text.len()));
    let low = floor_char_boundary(text, at.saturating_sub(reach));
    let high = floor_char_boundary(text, (at + reach).min(text.len()));
    let (start, cut_before) = match text[low..at].rfind('\n') {
        Some(k) => (low + k + 1, false),
        None => (low, low > 0 && text.as_bytes()[low - 1] != b'\n'),
    };
    let (end, cut_after) = match text[at..high].find('\n') {
        Some(k) => (at + k, false),
        None => (high, high < text.len() && text.as_bytes()[high] != b'\n'),
    };
    (start..end, cut_before, cut_after)
}

/// Whether the line holding `at` can be printed as it is: short, without control
/// characters (which would drive the terminal) other than tabs.
fn plain_line(text: &str, at: usize) -> bool {
    let (range, cut_before, cut_after) = line_around(text, at, WIDEST_LINE);
    !cut_before
        && !cut_after
        && range.len() <= WIDEST_LINE
        && !text[range]
            .chars()
            .any(|c| c.is_control() && c != '\t' && c != '\r')
}

/// A diagnostic with a window of its source line around the caret, control characters
/// shown escaped: `warning: …`, `--> file:line:col`, the window, the caret, the hint.
fn windowed(d: &Diagnostic, text: &str) -> String {
    // Characters take at most four bytes: this reach holds `WINDOW` of them each side.
    let (range, cut_before, cut_after) = line_around(text, d.range.start, 4 * WINDOW);
    let at = floor_char_boundary(text, d.range.start.min(text.len()));
    let chars: Vec<(usize, char)> = text[range.clone()]
        .char_indices()
        .map(|(k, c)| (range.start + k, c))
        .collect();
    let caret = chars
        .iter()
        .position(|&(b, _)| b >= at)
        .unwrap_or(chars.len());
    let from = caret.saturating_sub(WINDOW);
    let to = (caret + WINDOW).min(chars.len());
    let show = |c: char| -> String {
        if c.is_control() && c != '\t' {
            c.escape_default().collect()
        } else {
            c.to_string()
        }
    };
    let mut window = String::from(if from > 0 || cut_before { "…" } else { "" });
    let mut pad = window.chars().count();
    for (k, &(_, c)) in chars[from..to].iter().enumerate() {
        let shown = show(c);
        if from + k < caret {
            pad += shown.chars().count();
        }
        window.push_str(&shown);
    }
    if to < chars.len() || cut_after {
        window.push('…');
    }
    let width = d.line.to_string().len();
    let kind = match d.severity {
        Severity::Warning => "warning",
        Severity::Error => "error",
    };
    let hint = d
        .hint
        .as_ref()
        .map(|h| format!("{:width$} = hint: {}\n", "", escape_controls(h)))
        .unwrap_or_default();
    format!(
        "{kind}: {}\n{:width$}--> {}\n{:width$} |\n{} | {window}\n{:width$} | {:pad$}^\n{hint}\n",
        escape_controls(&d.message),
        "",
        escape_controls(&d.location()),
        "",
        d.line,
        "",
        ""
    )
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
    fn a_long_line_is_shown_as_a_window_around_the_caret() {
        let text = format!("{}[[missing]]{}\n", "a ".repeat(5_000), " b".repeat(5_000));
        let at = text.find("[[").unwrap_or(0);
        let d = Diagnostic::warning("n.md", &text, at..at + 11, "broken link");
        assert!(!plain_line(&text, at));
        let shown = windowed(&d, &text);
        assert!(shown.len() < 600, "{shown}");
        assert!(shown.contains("…a a a"), "{shown}");
        assert!(shown.contains("n.md:1:10001"), "{shown}");
        // The caret stands under the `[[`.
        let lines: Vec<&str> = shown.lines().collect();
        let source = lines
            .iter()
            .find(|l| l.contains("[[missing]]"))
            .unwrap_or(&"");
        let caret = lines
            .iter()
            .find(|l| l.trim_end().ends_with('^'))
            .unwrap_or(&"");
        assert_eq!(
            source.find("[[").map(|k| source[..k].chars().count()),
            Some(caret.chars().count() - 1)
        );
    }

    #[test]
    fn control_characters_are_shown_escaped() {
        let text = "x \u{1b}[31m [[y]]\n";
        let d = Diagnostic::warning("n.md", text, 12..17, "broken link");
        assert!(!plain_line(text, 12));
        let shown = windowed(&d, text);
        assert!(!shown.contains('\u{1b}'), "{shown}");
        assert!(shown.contains("\\u{1b}"), "{shown}");
    }

    #[test]
    fn places_counted_on_from_the_last_agree_with_places_counted_afresh() {
        let text = "ab\ncdé f\n\nxyz é\n";
        let offsets: Vec<usize> = (0..=text.len())
            .filter(|&k| text.is_char_boundary(k))
            .collect();
        let fresh: Vec<(usize, usize)> = offsets
            .iter()
            .map(|&k| {
                let before = &text[..k];
                let line = before.matches('\n').count() + 1;
                let start = before.rfind('\n').map_or(0, |i| i + 1);
                (line, before[start..].chars().count() + 1)
            })
            .collect();
        // In order, backwards, and out of order.
        let forward: Vec<_> = offsets.iter().map(|&k| line_col(text, k)).collect();
        let backward: Vec<_> = offsets.iter().rev().map(|&k| line_col(text, k)).collect();
        assert_eq!(forward, fresh);
        assert_eq!(backward.into_iter().rev().collect::<Vec<_>>(), fresh);
        let other = "z\nz";
        assert_eq!(line_col(other, 2), (2, 1));
        assert_eq!(
            line_col(text, 4),
            fresh[offsets.iter().position(|&k| k == 4).unwrap_or(0)]
        );
    }

    #[test]
    fn a_summary_by_kind() {
        let text = "[[a]] [[b]]\n$\\frac{$\n";
        let d = vec![
            Diagnostic::warning("n.md", text, 0..5, "linked note `a` does not exist"),
            Diagnostic::warning("n.md", text, 6..11, "linked note `b` does not exist"),
            Diagnostic::warning("m.md", text, 0..5, "linked note `a` does not exist"),
            Diagnostic::warning("m.md", text, 12..20, "formula cannot be rendered: x"),
            Diagnostic::whole_file(Severity::Warning, "", "something new"),
        ];
        assert_eq!(
            summary(&d),
            "3 broken links in 2 files, 1 formula not rendered in 1 file, 1 other warning"
        );
        assert_eq!(thousands(2390), "2,390");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
    }

    #[test]
    fn location_names_the_place() {
        let d = Diagnostic::warning("a/b.md", "x\n[[y]]", 2..7, "broken link");
        assert_eq!(d.location(), "a/b.md:2:1");
    }
}
