//! Tests for the checker: true and false cases per construct, and the seed note and
//! the corpus read by both the pipeline's parser and a plain scan.

use std::collections::BTreeMap;

use super::*;

/// Math spans of a markdown note with their byte offsets, and its front matter.
/// A simple scanner for tests: `$$...$$` and `$...$`, skipping fenced code; the `>`
/// quote markers of callout lines inside a span are blanked (offsets are kept).
#[allow(clippy::type_complexity)]
pub(crate) fn scan(text: &str) -> (Vec<(usize, String, bool)>, BTreeMap<String, String>) {
    let mut front = BTreeMap::new();
    let mut body_start = 0;
    if let Some(rest) = text.strip_prefix("---\n")
        && let Some(end) = rest.find("\n---")
    {
        for line in rest[..end].lines() {
            if let Some((k, v)) = line.split_once(':') {
                let v = v.trim();
                if !v.is_empty() && !k.starts_with(' ') {
                    front.insert(k.trim().to_string(), v.trim_matches('"').to_string());
                }
            }
        }
        body_start = 4 + end + 4;
    }
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = body_start;
    let mut in_code = false;
    while i < b.len() {
        // fenced code at line start
        if (i == 0 || b[i - 1] == b'\n') && text[i..].starts_with("```") {
            in_code = !in_code;
            i += 3;
            continue;
        }
        if in_code {
            i += 1;
            continue;
        }
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == b'`'
            && let Some(e) = text[i + 1..].find('`')
        {
            i += e + 2;
            continue;
        }
        if b[i] == b'$' {
            let display = b.get(i + 1) == Some(&b'$');
            let open = if display { 2 } else { 1 };
            let start = i + open;
            let mut j = start;
            let mut found = None;
            while j < b.len() {
                if b[j] == b'\\' {
                    j += 2;
                    continue;
                }
                if b[j] == b'$' {
                    if display {
                        if b.get(j + 1) == Some(&b'$') {
                            found = Some(j);
                            break;
                        }
                    } else {
                        found = Some(j);
                        break;
                    }
                }
                if !display && b[j] == b'\n' && b.get(j + 1) == Some(&b'\n') {
                    break;
                }
                j += 1;
            }
            if let Some(e) = found {
                let raw = &text[start..e];
                let mut tex = String::new();
                for (n, line) in raw.split_inclusive('\n').enumerate() {
                    if n > 0 {
                        let t = line.trim_start();
                        if let Some(rest) = t.strip_prefix('>') {
                            let lead = line.len() - t.len();
                            tex.push_str(&" ".repeat(lead + 1));
                            tex.push_str(rest);
                            continue;
                        }
                    }
                    tex.push_str(line);
                }
                out.push((start, tex, display));
                i = e + open;
                continue;
            }
        }
        i += 1;
    }
    (out, front)
}

/// Runs find + check over a note's text; (line, finding, verdict).
pub(crate) fn run_note(text: &str, settings: &Settings) -> Vec<(usize, Finding, Verdict)> {
    let (spans, front) = scan(text);
    let mut end = 0;
    let note = NoteMath {
        spans: spans
            .iter()
            .map(|(start, t, d)| {
                let open = if *d { 2 } else { 1 };
                let before = text.get(end..start - open).unwrap_or("");
                end = start + t.len() + open;
                Span {
                    tex: t.as_str(),
                    display: *d,
                    before,
                }
            })
            .collect(),
        front: &front,
    };
    let mut out = Vec::new();
    for f in find(&note) {
        let off = spans[f.span].0 + f.tex_offset;
        let line = text[..off.min(text.len())].matches('\n').count() + 1;
        let v = check(&f, settings);
        out.push((line, f, v));
    }
    out
}

fn run(tex: &str) -> Vec<(Finding, Verdict)> {
    let front = BTreeMap::new();
    let note = NoteMath {
        spans: vec![Span {
            tex,
            display: false,
            before: "",
        }],
        front: &front,
    };
    find(&note)
        .into_iter()
        .map(|f| {
            let v = check(&f, &Settings::default());
            (f, v)
        })
        .collect()
}

fn one(tex: &str) -> Verdict {
    let r = run(tex);
    assert_eq!(r.len(), 1, "expected one identity in {tex}: {r:#?}");
    r.into_iter()
        .next()
        .map(|x| x.1)
        .unwrap_or_else(|| unreachable!())
}

#[track_caller]
fn pass(tex: &str) {
    let v = one(tex);
    assert_eq!(v.status(), Status::Pass, "{tex}\n{v:#?}");
}

#[track_caller]
fn fail(tex: &str, kind: &str, hint: Option<&str>) {
    let v = one(tex);
    assert_eq!(v.status(), Status::Fail, "{tex}\n{v:#?}");
    assert_eq!(v.kind(), Some(kind), "{tex}\n{v:#?}");
    if let Some(h) = hint {
        assert!(
            v.hint.as_deref().is_some_and(|x| x.contains(h)),
            "{tex}: hint should mention {h:?}\n{v:#?}"
        );
    }
}

/// A formula framed 100,000 times over is read as the formula (frames are unwrapped in
/// one pass: nested ones once cost a pass each, quadratic in their count).
#[test]
fn deeply_framed_formula_is_read() {
    let n = 100_000;
    let tex = format!(
        r"{}\frac{{d}}{{dx}} x^2 = 2x{}",
        r"\boxed{".repeat(n),
        "}".repeat(n)
    );
    let r = run(&tex);
    assert_eq!(r.len(), 1, "one identity inside the frames");
    assert_eq!(r[0].1.status(), Status::Pass, "{:?}", r[0].1);
}

#[track_caller]
#[test]
fn never_crashes() {
    let deep = format!(
        r"\frac{{d}}{{dx}} {}x{} = 1",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    let r = run(&deep);
    assert!(
        r.iter().all(|x| x.1.status() == Status::Skip),
        "{:?}",
        r.len()
    );
    let braces = format!(
        r"\frac{{d}}{{dx}} {}x{} = 1",
        "{".repeat(3000),
        "}".repeat(3000)
    );
    let _ = run(&braces);
    for junk in [
        r"\frac{\partial}{\partial",
        r"\frac{\partial}{\partial x} = ",
        r"= \frac{d}{dx}",
        r"\frac{d}{dx} x^{ = 2",
        r"\frac{d}{dx} \left( x = 2",
        r"\frac{d}{dx} \begin{cases} x = 2",
        r"\frac{d}{dx} \begin{bmatrix} 1 & 2 \\ 3 \end{bmatrix} = 0",
        r"\frac{d}{dx} | x = 1",
        r"\frac{d}{dx} \| x = 1",
        r"\frac{\partial}{\partial \mathbf{x}} \mathbf{x}_{ = 2",
        "\\frac{d}{dx} \u{2212}x = -1",
        r"\frac{d}{d} x = 1",
        r"\frac{d}{dx}\sum_{i=1}^{0} x_i = 0",
        r"\frac{d}{dx}\sum_{i=1}^{-3} x = 0",
        r"\nabla = 2",
        r"\frac{\partial}{\partial I} I = 1",
        r"\frac{\partial}{\partial X} X^{1.5} = 1",
        r"\frac{\partial}{\partial X} \exp(X) = \exp(X)",
        r"\frac{\partial}{\partial \mathbf{x}} \mathbf{x}\mathbf{x} = 1",
        r"\frac{\partial}{\partial X} (X \otimes X) = 0",
        "\\frac{d}{dx} é = 0",
    ] {
        let _ = run(junk);
    }
}

/// The notes of the shared corpus and seed note (and any other folders given, relative
/// to the crate), read. `None` (a skip, said on the output) when `../shared` is missing
/// outside CI; under CI (`CI` set) a missing `../shared` fails the test, and so does an
/// unreadable file or an empty corpus: these tests never pass on nothing.
fn shared_notes(folders: &[&str], with_seed: bool) -> Option<Vec<(std::path::PathBuf, String)>> {
    let crate_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = crate_dir.join("../shared");
    if !shared.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing: the corpus and the seed note are needed under CI",
            shared.display()
        );
        println!("skipped: {} not found", shared.display());
        return None;
    }
    let mut paths = Vec::new();
    let mut stack: Vec<std::path::PathBuf> = std::iter::once("../shared/corpus/vault")
        .chain(folders.iter().copied())
        .map(|f| crate_dir.join(f))
        .collect();
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot read {}: {e}", d.display()));
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                paths.push(p);
            }
        }
    }
    if with_seed {
        paths.push(crate_dir.join("../shared/seed/matrix-calculus.md"));
    }
    paths.sort();
    let notes: Vec<(std::path::PathBuf, String)> = paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            (p, text)
        })
        .collect();
    let identities: usize = notes
        .iter()
        .map(|(_, text)| run_note(text, &Settings::default()).len())
        .sum();
    assert!(identities > 0, "no identity found in the shared corpus");
    Some(notes)
}

/// Equivalent rewrites of the corpus notes must not change any verdict.
#[test]
fn notation_variants_keep_verdicts() {
    let Some(notes) = shared_notes(&[], false) else {
        return;
    };
    let rewrites: &[(&str, &str)] = &[
        (r"^\top", r"^{\mathsf{T}}"),
        (r"^T", r"^{\top}"),
        (r"\mathbf{", r"\boldsymbol{"),
        (r"\operatorname{tr}", r"\mathrm{tr}"),
        (r"\operatorname{diag}", r"\text{diag}"),
        (r"\frac{\partial}{\partial", r"\dfrac{\partial}{\partial"),
        (r"\left(", r"\big("),
        (r"\right)", r"\big)"),
        (r"\lVert", r"\|"),
        (r"\rVert", r"\|"),
        (r" = ", r" =\, "),
        (r"\cdot", r" \cdot "),
        (r"\vec{1}", r"\mathbf{1}"),
    ];
    let mut bad = Vec::new();
    for (p, text) in notes {
        let base: Vec<(usize, Status)> = run_note(&text, &Settings::default())
            .into_iter()
            .map(|(l, _, v)| (l, v.status()))
            .collect();
        for (a, b) in rewrites {
            let t2 = text.replace(a, b);
            let got: Vec<(usize, Status)> = run_note(&t2, &Settings::default())
                .into_iter()
                .map(|(l, _, v)| (l, v.status()))
                .collect();
            if got != base {
                bad.push(format!("{}: {a} -> {b}: {base:?} vs {got:?}", p.display()));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Verdicts must not depend on the seed.
#[test]
fn verdicts_stable_across_seeds() {
    let Some(notes) = shared_notes(&["notes"], true) else {
        return;
    };
    let mut bad = Vec::new();
    for (p, text) in notes {
        let base: Vec<(usize, Status)> = run_note(&text, &Settings::default())
            .into_iter()
            .map(|(l, _, v)| (l, v.status()))
            .collect();
        for seed in 1..9u64 {
            let s = Settings {
                seed: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                ..Settings::default()
            };
            let got: Vec<(usize, Status, String)> = run_note(&text, &s)
                .into_iter()
                .map(|(l, _, v)| (l, v.status(), v.message))
                .collect();
            for ((l, st), (_, st2, m)) in base.iter().zip(got.iter()) {
                if st != st2 {
                    bad.push(format!(
                        "{}:{l} seed {seed}: {st:?} -> {st2:?} {m}",
                        p.display()
                    ));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Runs a note through the project's own parser (as the pipeline will) and returns
/// (line, finding, verdict).
fn run_with_pipeline_parser(path: &str, text: &str) -> Vec<(usize, Finding, Verdict)> {
    let file = crate::vault::SourceFile {
        path: path.to_string(),
        text: text.to_string(),
        modified: None,
    };
    let parsed = crate::parse::parse(&file);
    let info = crate::extract::extract(&parsed);
    let note = NoteMath {
        spans: crate::pipeline::math_spans(&parsed.text, &info.math),
        front: &parsed.front.fields,
    };
    let mut out = Vec::new();
    for f in find(&note) {
        let m = &info.math[f.span];
        // where the TeX starts inside the span's source range
        let open = if m.display { 2 } else { 1 };
        let off = (m.range.start + open + f.tex_offset).min(text.len());
        let line = text[..off].matches('\n').count() + 1;
        let v = check(&f, &Settings::default());
        out.push((line, f, v));
    }
    out
}

/// The pipeline's parser gives the same verdicts on the seed note and the corpus.
#[test]
fn same_verdicts_with_pipeline_parser() {
    let Some(notes) = shared_notes(&[], true) else {
        return;
    };
    let mut bad = Vec::new();
    for (p, text) in notes {
        let a: Vec<(usize, Status)> = run_note(&text, &Settings::default())
            .into_iter()
            .map(|(l, _, v)| (l, v.status()))
            .collect();
        let b: Vec<(usize, Status)> = run_with_pipeline_parser("n.md", &text)
            .into_iter()
            .map(|(l, _, v)| (l, v.status()))
            .collect();
        if a != b {
            bad.push(format!(
                "{}:\n  test scanner {a:?}\n  pipeline     {b:?}",
                p.display()
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn api_is_thread_safe_and_serializable() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Finding>();
    send_sync::<Verdict>();
    send_sync::<Settings>();
    let v = one(r"\frac{d}{dx} x^2 = x");
    let j = serde_json::to_value(&v).unwrap_or_default();
    assert_eq!(j["status"], "fail");
    assert_eq!(j["kind"], "value");
    assert_eq!(j["seed"], DEFAULT_SEED);
    assert!(
        j["counterexample"]
            .as_str()
            .is_some_and(|c| c.contains("seed"))
    );
    let v = one(r"\frac{\partial}{\partial x} f(x) = 1");
    let j = serde_json::to_value(&v).unwrap_or_default();
    assert_eq!(j["status"], "skip");
    // a panic inside is a skip, never a crash
    let s = Settings::default();
    let f = Finding {
        span: 0,
        tex_offset: 0,
        latex: String::new(),
        layout: None,
        otimes: None,
        body: Err(find::Skip {
            kind: SkipReason::Parse,
            message: "x".into(),
        }),
    };
    assert_eq!(check(&f, &s).status(), Status::Skip);
}

// The notation table: spellings added with it.

#[test]
fn cfrac_is_a_derivative() {
    fail(r"\cfrac{d}{dx} x^3 = 2x^2", "value", None);
    pass(r"\cfrac{d}{dx} x^3 = 3x^2");
    pass(r"\cfrac{\partial}{\partial x} \sin x = \cos x");
}

#[test]
fn bold_is_bold() {
    pass(r"\frac{\partial}{\partial \bold{x}} (\bold{a}^T \bold{x}) = \bold{a}^T");
    fail(
        r"\frac{\partial}{\partial \bold{x}} (\bold{x}^T \bold{x}) = \bold{x}^T",
        "value",
        None,
    );
}

#[test]
fn size_switches_are_ignored() {
    pass(r"\frac{d}{dx}{\tiny x^3} = 3x^2");
    pass(r"\frac{d}{dx}{\scriptsize x^3} = {\footnotesize 3x^2}");
    fail(r"\frac{d}{dx}{\tiny x^3} = 2x^2", "value", None);
}

#[test]
fn hbox_textup_emph_are_text() {
    pass(r"\frac{d}{dx} \hbox{exp}(x) = \textup{exp}(x)");
    pass(r"\frac{d}{dx} \emph{sin}(x) = \cos x");
    pass(r"\frac{d}{d\textup{x}} \textup{x}^2 = 2\emph{x}");
}

#[test]
fn emph_and_textup_words_separate_statements() {
    for tex in [
        r"\frac{d}{dx} x^2 = 2x \emph{and} \frac{d}{dx} x^3 = 3x^2",
        r"\frac{d}{dx} x^2 = 2x \textup{and} \frac{d}{dx} x^3 = 3x^2",
        r"\frac{d}{dx} x^2 = 2x \hbox{and} \frac{d}{dx} x^3 = 3x^2",
    ] {
        let r = run(tex);
        assert_eq!(r.len(), 2, "{tex}: {r:#?}");
        assert!(
            r.iter().all(|x| x.1.status() == Status::Pass),
            "{tex}: {r:#?}"
        );
    }
}

#[test]
fn the_function_table_is_in_func_order() {
    use super::notation::{FUNCS, Func, func_by_name, func_command};
    for (k, info) in FUNCS.iter().enumerate() {
        assert_eq!(info.func as usize, k, "{} is out of place", info.name);
        assert_eq!(info.func.info().name, info.name);
        for s in info.spellings {
            assert_eq!(func_by_name(s), Some(info.func), "spelling {s}");
        }
        for c in info.commands {
            assert_eq!(func_command(c), Some(info.func), "command {c}");
        }
    }
    assert_eq!(FUNCS.len(), Func::ExpEntries as usize + 1);
}
