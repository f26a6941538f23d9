//! How `notebuild check` prints its verdicts: for people (rustc style), as JSON, or as
//! GitHub Actions annotations.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde::Serialize;

use crate::check::Status;
use crate::check::{Layout, Located, Reading};

/// Counts of verdicts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub skip: usize,
}

impl Summary {
    pub fn of<'a>(identities: impl IntoIterator<Item = &'a Located>) -> Summary {
        let mut s = Summary::default();
        for i in identities {
            match i.verdict.status() {
                Status::Pass => s.pass += 1,
                Status::Fail => s.fail += 1,
                Status::Skip => s.skip += 1,
            }
        }
        s
    }

    pub fn total(&self) -> usize {
        self.pass + self.fail + self.skip
    }
}

#[derive(Serialize)]
struct JsonIdentity<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    latex: &'a str,
    status: Status,
    kind: Option<&'a str>,
    message: &'a str,
    hint: Option<&'a str>,
    max_error: Option<f64>,
    trials: usize,
    seed: u64,
    counterexample: Option<&'a str>,
    /// For a skip, why (its kind); null for a pass or a fail.
    reason: Option<&'a str>,
    /// For a pass or a fail, the reading the verdict rests on; null for a skip.
    reading: Option<JsonReading<'a>>,
}

#[derive(Serialize)]
struct JsonReading<'a> {
    layout: &'static str,
    kinds: BTreeMap<&'a str, &'static str>,
}

impl<'a> JsonReading<'a> {
    fn of(r: &'a Reading) -> JsonReading<'a> {
        JsonReading {
            layout: match r.layout {
                Layout::Numerator => "numerator",
                Layout::Denominator => "denominator",
            },
            kinds: r
                .kinds
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    identities: Vec<JsonIdentity<'a>>,
    summary: Summary,
}

/// The JSON report: `{"version":1, "identities":[...], "summary":{...}}`.
pub fn json(identities: &[&Located]) -> String {
    let report = JsonReport {
        version: 1,
        identities: identities
            .iter()
            .map(|i| JsonIdentity {
                file: &i.file,
                line: i.line,
                column: i.column,
                latex: &i.latex,
                status: i.verdict.status(),
                kind: i.verdict.kind(),
                message: &i.verdict.message,
                hint: i.verdict.hint.as_deref(),
                max_error: i.verdict.max_error.filter(|e| e.is_finite()),
                trials: i.verdict.trials,
                seed: i.verdict.seed,
                counterexample: i.verdict.counterexample.as_deref(),
                reason: i.verdict.reason(),
                reading: i.verdict.reading.as_ref().map(JsonReading::of),
            })
            .collect(),
        summary: Summary::of(identities.iter().copied()),
    };
    serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// GitHub Actions workflow commands: an `::error` per failure, a `::notice` per skip.
pub fn github(identities: &[&Located], vault_prefix: &str) -> String {
    let mut out = String::new();
    for i in identities {
        let (level, title) = match i.verdict.status() {
            Status::Pass => continue,
            Status::Fail => ("error", "wrong identity"),
            Status::Skip => ("notice", "identity not checked"),
        };
        let mut message = i.verdict.message.clone();
        if let Some(hint) = &i.verdict.hint {
            let _ = write!(message, " (hint: {hint})");
        }
        if i.verdict.status() == Status::Fail {
            let _ = write!(message, " [seed {}]", i.verdict.seed);
        }
        let _ = writeln!(
            out,
            "::{level} file={},line={},col={},title={}::{}",
            escape_property(&format!("{vault_prefix}{}", i.file)),
            i.line,
            i.column,
            escape_property(title),
            escape_data(&format!("{}: {message}", i.latex.replace('\n', " ")))
        );
    }
    out
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Human output, in the style of rustc: a block per failure (and per skip when
/// `show_skips`), with the source line and a caret, then a summary line.
pub fn human(
    identities: &[&Located],
    sources: &HashMap<String, String>,
    show_skips: bool,
    color: bool,
) -> String {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    for i in identities {
        let v = &i.verdict;
        let head = match v.status() {
            Status::Pass => continue,
            Status::Fail => paint("1;31", "error"),
            Status::Skip if show_skips => paint("1;33", "skipped"),
            Status::Skip => continue,
        };
        let kind = v.kind().map(|k| format!("[{k}]")).unwrap_or_default();
        let what = match v.status() {
            Status::Fail => "wrong derivative identity",
            _ => "identity not checked",
        };
        let _ = writeln!(out, "{head}{kind}: {}", paint("1", what));
        let _ = writeln!(
            out,
            "  {} {}:{}:{}",
            paint("1;34", "-->"),
            i.file,
            i.line,
            i.column
        );
        if let Some(text) = sources.get(&i.file) {
            let line_text = text.lines().nth(i.line.saturating_sub(1)).unwrap_or("");
            let gutter = i.line.to_string();
            let pad = " ".repeat(gutter.len());
            let col = i.column.saturating_sub(1);
            let width = text
                .get(i.range.clone())
                .map_or(1, |s| s.chars().count().max(1))
                .min(line_text.chars().count().saturating_sub(col).max(1));
            let _ = writeln!(out, "{pad} {}", paint("1;34", "|"));
            let _ = writeln!(
                out,
                "{} {} {line_text}",
                paint("1;34", &gutter),
                paint("1;34", "|")
            );
            let caret = format!("{}{}", " ".repeat(col), "^".repeat(width));
            let colour = if v.status() == Status::Fail {
                "1;31"
            } else {
                "1;33"
            };
            let _ = writeln!(
                out,
                "{pad} {} {}",
                paint("1;34", "|"),
                paint(colour, &caret)
            );
            let _ = writeln!(out, "{pad} {}", paint("1;34", "|"));
            let _ = writeln!(out, "{pad} = {}", v.message);
            if let Some(hint) = &v.hint {
                let _ = writeln!(out, "{pad} = {}: {hint}", paint("1", "hint"));
            }
            if let Some(example) = &v.counterexample {
                let _ = writeln!(out, "{pad} = counterexample: {example}");
            }
            if v.status() == Status::Fail {
                let error = v
                    .max_error
                    .map(|e| format!(", largest error {e:.3e}"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{pad} = note: {} trials{error}; reproduce with --seed {}",
                    v.trials, v.seed
                );
            }
        } else {
            let _ = writeln!(out, "  = {}", v.message);
        }
        out.push('\n');
    }
    let s = Summary::of(identities.iter().copied());
    let verdict = if s.fail > 0 {
        paint("1;31", "FAILED")
    } else {
        paint("1;32", "ok")
    };
    let _ = writeln!(
        out,
        "check {verdict}: {} {}, {} passed, {} failed, {} skipped",
        s.total(),
        if s.total() == 1 {
            "identity"
        } else {
            "identities"
        },
        s.pass,
        s.fail,
        s.skip
    );
    out
}
