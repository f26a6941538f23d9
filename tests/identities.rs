//! The checker's cases as data, in the manner of pulldown-cmark's spec tests: every
//! file `tests/identities/*.md` is a real note, and every identity in it carries its
//! expected verdict right after it, in an HTML comment a reader sees at once:
//!
//! ```text
//! $$\frac{d}{dx} x^3 = 3x^2$$ <!-- expect: pass -->
//! $$\frac{d}{dx} x^2 = x$$ <!-- expect: fail value hint: factor 1/2 -->
//! $$\frac{d}{dx} f(x) = 2f(x)$$ <!-- expect: skip abstract -->
//! $$y = Ax + b$$ <!-- expect: none -->
//! $$\frac{d}{dx}x^2 = 2x, \quad \frac{d}{dx}x^3 = 3x$$ <!-- expect: pass; fail value -->
//! ```
//!
//! Each file is built as a one-note vault and checked by the `notebuild` binary
//! (`check VAULT --format json`). An expectation claims the identities that start
//! after the expectation before it (or the start of the file) and before itself, in
//! order: one verdict each, `none` for no identity at all. So every identity the
//! checker finds needs an expectation after it, and every expectation must meet as many
//! identities as it names: a missing or an extra one fails with its `file:line`.
//!
//! A verdict is `pass` (optionally followed by `message: TEXT`), or `fail KIND` or `skip KIND` optionally followed by
//! `hint: TEXT` and `message: TEXT`; any may end with `latex: TEXT`. The status and
//! the kind (`value`, `shape`, `abstract`, `unsupported`, ...) must be the reported
//! ones, the hint and the message, when given, parts of the reported ones, and the
//! identity's TeX must start with the `latex:` text. Every identity must also be
//! reported where its TeX is (at its `line:column`, the TeX's first line starts).
//! Every mismatch of every file is listed before the test fails.

#[allow(dead_code)]
mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::{Error, TestResult, fail, notebuild, temp_vault};
use serde_json::Value;

/// One expected verdict.
#[derive(Debug, Clone, PartialEq)]
struct Verdict {
    status: String,
    kind: Option<String>,
    hint: Option<String>,
    message: Option<String>,
    /// How the identity's TeX starts.
    latex: Option<String>,
}

/// An `<!-- expect: ... -->` comment: where it starts (1-based line, column in
/// characters, as the checker reports places) and the verdicts it names in order
/// (none for `expect: none`).
#[derive(Debug)]
struct Expectation {
    line: usize,
    column: usize,
    verdicts: Vec<Verdict>,
}

/// An identity as the checker reported it.
#[derive(Debug)]
struct Found {
    line: usize,
    column: usize,
    latex: String,
    status: String,
    kind: Option<String>,
    hint: Option<String>,
    message: String,
}

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.status)?;
        if let Some(kind) = &self.kind {
            write!(f, " {kind}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, " hint: {hint}")?;
        }
        write!(f, " — `{}`", self.latex)?;
        if !self.message.is_empty() {
            write!(f, " ({})", self.message)?;
        }
        Ok(())
    }
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/identities")
}

/// `(line, column)` of byte `at` of `text`: 1-based, the column in characters.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |k| k + 1);
    (line, before[start..].chars().count() + 1)
}

/// Reads one verdict: `pass`, `fail KIND`, `skip KIND`, followed by clauses: for a
/// failure or a skip `hint: TEXT` and `message: TEXT` (parts of the reported hint and
/// message), for any `latex: TEXT` (how the identity's TeX starts).
fn parse_verdict(text: &str) -> Result<Verdict, String> {
    let mut head = text;
    let mut hint = None;
    let mut message = None;
    let mut latex = None;
    // the clauses, last first
    loop {
        let at = ["hint:", "message:", "latex:"]
            .iter()
            .filter_map(|key| head.rfind(key).map(|k| (k, *key)))
            .max();
        let Some((k, key)) = at else { break };
        let value = head[k + key.len()..].trim();
        if value.is_empty() {
            return Err(format!("`{key}` with no text"));
        }
        let slot = match key {
            "hint:" => &mut hint,
            "message:" => &mut message,
            _ => &mut latex,
        };
        if slot.replace(value.to_string()).is_some() {
            return Err(format!("`{key}` given twice"));
        }
        head = &head[..k];
    }
    let words: Vec<&str> = head.split_whitespace().collect();
    match words.as_slice() {
        ["pass"] if hint.is_none() => Ok(Verdict {
            status: "pass".into(),
            kind: None,
            hint: None,
            message,
            latex,
        }),
        [status @ ("fail" | "skip"), kind] => Ok(Verdict {
            status: status.to_string(),
            kind: Some(kind.to_string()),
            hint,
            message,
            latex,
        }),
        [status @ ("fail" | "skip")] => Err(format!(
            "`{status}` needs its kind (`{status} value`, `{status} abstract`, ...)"
        )),
        _ => Err(format!(
            "cannot read `{}`: write `pass [message: TEXT] [latex: TEXT]`, \
             `fail KIND [hint: TEXT] [message: TEXT] [latex: TEXT]`, `skip KIND [...]` or `none`",
            text.trim()
        )),
    }
}

/// Every expectation of a note, in order, or the problems with them (`line: what`).
fn expectations(text: &str) -> Result<Vec<Expectation>, Vec<String>> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut rest = 0;
    while let Some(k) = text[rest..].find("<!--") {
        let at = rest + k;
        let (line, column) = line_col(text, at);
        let Some(end) = text[at..].find("-->") else {
            problems.push(format!("{line}: a comment that is never closed"));
            break;
        };
        let body = text[at + 4..at + end].trim();
        rest = at + end + 3;
        let Some(word) = body.get(..6) else { continue };
        if !word.eq_ignore_ascii_case("expect") {
            continue;
        }
        let Some(list) = body[6..].trim_start().strip_prefix(':') else {
            problems.push(format!("{line}: `{body}`: write `expect: ...`"));
            continue;
        };
        let list = list.trim();
        if list == "none" {
            out.push(Expectation {
                line,
                column,
                verdicts: Vec::new(),
            });
            continue;
        }
        let mut verdicts = Vec::new();
        for part in list.split(';') {
            match parse_verdict(part) {
                Ok(v) => verdicts.push(v),
                Err(e) => problems.push(format!("{line}: {e}")),
            }
        }
        out.push(Expectation {
            line,
            column,
            verdicts,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Checks the one-note vault holding `text` as `name`; the identities found, in order.
fn check_note(name: &str, text: &str) -> Result<Vec<Found>, Error> {
    let (_dir, root) = temp_vault(&[(name, text)])?;
    let cwd = root.parent().ok_or("the vault has no parent folder")?;
    let run = notebuild(
        cwd,
        [
            "check",
            root.to_str().ok_or("non-UTF-8 temp path")?,
            "--format",
            "json",
        ],
    )?;
    if !matches!(run.code, Some(0 | 1)) {
        return Err(fail(format!(
            "`notebuild check` ended with {:?}:\n{}",
            run.code, run.stderr
        )));
    }
    let json: Value = serde_json::from_str(&run.stdout)
        .map_err(|e| fail(format!("stdout is not JSON ({e}):\n{}", run.stdout)))?;
    let list = json["identities"]
        .as_array()
        .ok_or_else(|| fail(format!("no identities array in {json}")))?;
    let text_of = |v: &Value| v.as_str().map(str::to_string);
    let mut found = Vec::new();
    for i in list {
        if i["file"] != name {
            return Err(fail(format!("an identity of another file: {i}")));
        }
        let number = |key: &str| -> Result<usize, Error> {
            i[key]
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| fail(format!("no {key} in {i}")))
        };
        found.push(Found {
            line: number("line")?,
            column: number("column")?,
            latex: text_of(&i["latex"]).unwrap_or_default(),
            status: text_of(&i["status"]).ok_or_else(|| fail(format!("no status in {i}")))?,
            kind: text_of(&i["kind"]),
            hint: text_of(&i["hint"]),
            message: text_of(&i["message"]).unwrap_or_default(),
        });
    }
    found.sort_by_key(|f| (f.line, f.column));
    Ok(found)
}

/// The identities whose reported place is not where their TeX is: at `line:column` of
/// the note, the first line of the identity's TeX must start.
fn misplaced(path: &str, text: &str, found: &[Found]) -> Vec<String> {
    let mut problems = Vec::new();
    for f in found {
        let first = f.latex.lines().next().unwrap_or_default();
        let at = text
            .lines()
            .nth(f.line.saturating_sub(1))
            .and_then(|line| line.char_indices().nth(f.column.saturating_sub(1)))
            .map(|(k, _)| k);
        let source = text
            .lines()
            .nth(f.line.saturating_sub(1))
            .unwrap_or_default();
        let ok = at.is_some_and(|k| source[k..].starts_with(first));
        if !ok {
            problems.push(format!(
                "{path}:{}:{}: the identity `{first}` is reported here, but the line is `{source}`",
                f.line, f.column
            ));
        }
    }
    problems
}

/// How many verdicts of each kind the files expect.
#[derive(Default)]
struct Tally {
    pass: usize,
    fail: usize,
    skip: usize,
    none: usize,
}

/// Compares what the checker found in one file with what the file expects; every
/// problem as `path:line: what`.
fn compare(path: &str, expected: &[Expectation], found: &[Found]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut claimed: Vec<Vec<&Found>> = vec![Vec::new(); expected.len()];
    for f in found {
        let owner = expected
            .iter()
            .position(|e| (e.line, e.column) > (f.line, f.column));
        match owner {
            Some(k) => claimed[k].push(f),
            None => problems.push(format!(
                "{path}:{}:{}: an identity with no expectation after it: {f}",
                f.line, f.column
            )),
        }
    }
    for (e, got) in expected.iter().zip(&claimed) {
        let at = format!("{path}:{}", e.line);
        if e.verdicts.len() != got.len() {
            let mut message = format!(
                "{at}: expected {} identit{}, the checker found {}",
                e.verdicts.len(),
                if e.verdicts.len() == 1 { "y" } else { "ies" },
                got.len()
            );
            for f in got {
                let _ = write!(message, "\n    {path}:{}:{}: {f}", f.line, f.column);
            }
            problems.push(message);
            continue;
        }
        for (want, f) in e.verdicts.iter().zip(got) {
            let status_ok = want.status == f.status;
            let kind_ok = want.kind.is_none() || want.kind == f.kind;
            let hint_ok = want
                .hint
                .as_deref()
                .is_none_or(|h| f.hint.as_deref().is_some_and(|got| got.contains(h)));
            let message_ok = want
                .message
                .as_deref()
                .is_none_or(|m| f.message.contains(m));
            let latex_ok = want.latex.as_deref().is_none_or(|l| f.latex.starts_with(l));
            if !(status_ok && kind_ok && hint_ok && message_ok && latex_ok) {
                let mut want_text = want.status.clone();
                if let Some(kind) = &want.kind {
                    let _ = write!(want_text, " {kind}");
                }
                if let Some(hint) = &want.hint {
                    let _ = write!(want_text, " hint: {hint}");
                }
                if let Some(message) = &want.message {
                    let _ = write!(want_text, " message: {message}");
                }
                if let Some(latex) = &want.latex {
                    let _ = write!(want_text, " latex: {latex}");
                }
                problems.push(format!(
                    "{at}: expected {want_text}, got {f} (identity at {path}:{}:{})",
                    f.line, f.column
                ));
            }
        }
    }
    problems
}

#[test]
fn every_identity_in_the_case_files_gets_its_expected_verdict() -> TestResult {
    let dir = cases_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| fail(format!("{}: {e}", dir.display())))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|x| x == "md"));
    files.sort();
    if files.is_empty() {
        return Err(fail(format!("no case files `*.md` in {}", dir.display())));
    }
    let mut problems = Vec::new();
    let mut tally = Tally::default();
    for file in &files {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or("a non-UTF-8 file name")?;
        let path = format!("tests/identities/{name}");
        let text = std::fs::read_to_string(file)?;
        let expected = match expectations(&text) {
            Ok(e) => e,
            Err(list) => {
                problems.extend(list.into_iter().map(|p| format!("{path}:{p}")));
                continue;
            }
        };
        if expected.is_empty() {
            problems.push(format!("{path}: no `<!-- expect: ... -->` in the file"));
            continue;
        }
        for e in &expected {
            if e.verdicts.is_empty() {
                tally.none += 1;
            }
            for v in &e.verdicts {
                match v.status.as_str() {
                    "pass" => tally.pass += 1,
                    "fail" => tally.fail += 1,
                    _ => tally.skip += 1,
                }
            }
        }
        let found = check_note(name, &text).map_err(|e| fail(format!("{path}: {e}")))?;
        problems.extend(misplaced(&path, &text, &found));
        problems.extend(compare(&path, &expected, &found));
    }
    let total = tally.pass + tally.fail + tally.skip + tally.none;
    println!(
        "{} files, {total} cases: {} pass, {} fail, {} skip, {} none",
        files.len(),
        tally.pass,
        tally.fail,
        tally.skip,
        tally.none
    );
    if tally.pass + tally.fail + tally.skip == 0 {
        problems.push(format!(
            "{}: no identity is expected anywhere",
            dir.display()
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    // Listed on stderr as they are (a returned error is shown escaped, on one line).
    eprintln!("{}", problems.join("\n"));
    Err(fail(format!(
        "{} mismatch{} between the case files and the checker (listed above)",
        problems.len(),
        if problems.len() == 1 { "" } else { "es" },
    )))
}

// ---------------------------------------------------------------------------------------
// The runner itself
// ---------------------------------------------------------------------------------------

#[test]
fn expectations_are_read_in_order_with_their_places() {
    let text = "# T\n\n$a$ <!-- expect: pass -->\n\
$b$ <!-- expect: fail value hint: factor 1/2; skip abstract message: step 2 hint: f -->\n\
<!-- a plain comment --> $c$ <!--expect:none-->\n";
    let list = expectations(text).unwrap_or_default();
    let places: Vec<(usize, usize, usize)> = list
        .iter()
        .map(|e| (e.line, e.column, e.verdicts.len()))
        .collect();
    assert_eq!(places, [(3, 5, 1), (4, 5, 2), (5, 30, 0)]);
    assert_eq!(
        list[1].verdicts[0],
        Verdict {
            status: "fail".into(),
            kind: Some("value".into()),
            hint: Some("factor 1/2".into()),
            message: None,
            latex: None,
        }
    );
    assert_eq!(
        list[1].verdicts[1],
        Verdict {
            status: "skip".into(),
            kind: Some("abstract".into()),
            hint: Some("f".into()),
            message: Some("step 2".into()),
            latex: None,
        }
    );
}

#[test]
fn malformed_expectations_are_errors_with_their_line() {
    for (text, needle) in [
        ("$a$ <!-- expect: fail -->", "needs its kind"),
        ("$a$ <!-- expect: passes -->", "cannot read"),
        ("$a$ <!-- expect pass -->", "expect: ..."),
        ("\n$a$ <!-- expect: pass hint: x -->", "cannot read"),
        ("$a$ <!-- expect: skip abstract hint: -->", "no text"),
        ("$a$ <!-- expect: fail value hint: a hint: b -->", "twice"),
        ("$a$ <!-- expect: pass", "never closed"),
    ] {
        let problems = expectations(text).err().unwrap_or_default();
        assert!(
            problems.len() == 1 && problems[0].contains(needle),
            "{text}: {problems:?}"
        );
        let line = text.matches('\n').count() + 1;
        assert!(problems[0].starts_with(&format!("{line}:")), "{problems:?}");
    }
}

#[test]
fn a_missing_or_an_extra_identity_is_reported_at_its_place() {
    let found = |line, column, status: &str| Found {
        line,
        column,
        latex: "x".into(),
        status: status.into(),
        kind: None,
        hint: None,
        message: String::new(),
    };
    let text = "$a$ <!-- expect: pass -->\n$b$ <!-- expect: none -->\n$c$\n";
    let expected = expectations(text).unwrap_or_default();
    // one identity too many under `none`, one after the last expectation
    let problems = compare(
        "f.md",
        &expected,
        &[
            found(1, 1, "pass"),
            found(2, 1, "pass"),
            found(3, 1, "pass"),
        ],
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("f.md:3:1: an identity with no expectation"));
    assert!(problems[1].starts_with("f.md:2: expected 0 identities"));
    // an expected identity the checker did not find
    let problems = compare("f.md", &expected, &[]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("f.md:1: expected 1 identity, the checker found 0"));
    // a wrong status
    let problems = compare("f.md", &expected, &[found(1, 1, "fail")]);
    assert!(
        problems.len() == 1 && problems[0].starts_with("f.md:1: expected pass, got fail"),
        "{problems:?}"
    );
}

#[test]
fn an_identity_reported_away_from_its_tex_is_a_mismatch() {
    let text = "# T\n\nSo $\\frac{d}{dx} x = 1$ <!-- expect: pass -->\n";
    let at = |line, column| Found {
        line,
        column,
        latex: "\\frac{d}{dx} x = 1".into(),
        status: "pass".into(),
        kind: None,
        hint: None,
        message: String::new(),
    };
    assert!(misplaced("f.md", text, &[at(3, 5)]).is_empty());
    let problems = misplaced("f.md", text, &[at(3, 4), at(9, 1)]);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("f.md:3:4: the identity"));
}
