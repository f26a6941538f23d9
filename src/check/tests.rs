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

#[track_caller]
fn skip(tex: &str, kind: &str) {
    let v = one(tex);
    assert_eq!(v.status(), Status::Skip, "{tex}\n{v:#?}");
    assert_eq!(v.kind(), Some(kind), "{tex}\n{v:#?}");
}

#[test]
fn quadratic_form() {
    pass(r"\frac{\partial}{\partial \mathbf{x}}(\mathbf{x}^T A \mathbf{x}) = \mathbf{x}^T(A+A^T)");
    fail(
        r"\frac{\partial}{\partial \mathbf{x}}(\mathbf{x}^T A \mathbf{x}) = 2\mathbf{x}^T A",
        "value",
        Some("symmetric"),
    );
}

#[test]
fn layout_hint() {
    fail(
        r"\frac{\partial (M\mathbf{v})}{\partial \mathbf{v}} = M^\top",
        "shape",
        Some("layout"),
    );
    pass(r"\frac{\partial (M\mathbf{v})}{\partial \mathbf{v}} = M");
}

fn run_notes(spans: &[&str], front: &[(&str, &str)]) -> Vec<(Finding, Verdict)> {
    let front: BTreeMap<String, String> = front
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let note = NoteMath {
        spans: spans
            .iter()
            .map(|t| Span {
                tex: t,
                display: false,
                before: " ",
            })
            .collect(),
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

#[test]
fn scalar_rules() {
    pass(r"\frac{d}{dx} x^3 = 3x^2");
    pass(r"\frac{d}{dx} \sin x = \cos x");
    pass(r"\frac{d}{dx} \sin(x) \cos(x) = \cos^2 x - \sin^2 x");
    pass(r"\frac{d}{dx} e^{2x} = 2e^{2x}");
    pass(r"\frac{d}{dx} \ln x = \frac{1}{x}");
    pass(r"\frac{d}{dx} \log(x^2 + 1) = \frac{2x}{x^2+1}");
    pass(r"\frac{d}{dx}\sigma(x) = \sigma(x)(1-\sigma(x))");
    pass(r"\frac{d}{dx} \tanh x = 1 - \tanh^2 x");
    pass(r"\frac{d}{dx} |x| = \frac{x}{|x|}");
    pass(r"\frac{d}{dx}\sqrt{x} = \frac{1}{2\sqrt{x}}");
    pass(r"\partial (x^2) / \partial x = 2x");
    pass(r"\frac{d}{dx} \frac{1}{1+e^{-x}} = \frac{e^{-x}}{(1+e^{-x})^2}");
    pass(r"\frac{d}{dx} x^{1/2} = \frac{1}{2} x^{-1/2}");
    pass(r"\frac{d}{dx} \exp(x) = \exp(x) = e^x");
    pass(
        r"\dfrac{\partial}{\partial x} \left( \frac{x}{1+x^2} \right) = \frac{1 - x^2}{(1+x^2)^2}",
    );
    pass(r"\frac{d}{dx} x^x = x^x(\ln x + 1)");
    pass(r"\frac{d}{dx} 5 = 0");
    pass(r"\frac{d}{dx} \frac{x^2}{2} = x");
    pass(r"\frac{d}{dx} \sin^2(x) = 2\sin x\cos x");
    pass(r"\frac{d \, \ln x}{dx} = 1/x");
    pass(r"\frac{\mathrm{d}}{\mathrm{d}x} x^2 = 2x");
    pass(r"\tfrac{d}{dt} t^2 = 2t");
    fail(r"\frac{d}{dx} x^2 = x", "value", Some("factor 1/2"));
    fail(r"\frac{d}{dx}\cos x = \sin x", "value", Some("sign"));
    fail(r"\frac{d}{dt} (t^2) = 2t = 3t", "value", None);
}

#[test]
fn kinks_and_cases() {
    pass(r"\frac{d}{dx} \max(0, x) = \begin{cases} 0 & x < 0 \\ 1 & x > 0 \end{cases}");
    pass(
        r"\frac{d}{dx} relu(x) = \begin{cases} 1 & \text{if } x > 0 \\ 0 & \text{otherwise} \end{cases}",
    );
    pass(r"\frac{d}{dx}|x| = \begin{cases} 1, & x > 0 \\ -1, & x < 0 \end{cases}");
    pass(
        r"\frac{d}{dx} \operatorname{ReLU}(x) = \begin{cases} 0 \quad x \le 0 \\ 1 \quad x > 0 \end{cases}",
    );
    fail(
        r"\frac{d}{dx} \max(0, x) = \begin{cases} 1 & x < 0 \\ 0 & x > 0 \end{cases}",
        "value",
        None,
    );
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \lvert \mathbf{a}^T\mathbf{x} \rvert = \operatorname{sign}(\mathbf{a}^T\mathbf{x})\mathbf{a}^T",
    );
}

#[test]
fn vector_rules() {
    pass(r"\frac{\partial}{\partial \mathbf{x}} \mathbf{a}^T\mathbf{x} = \mathbf{a}^T");
    pass(r"\frac{\partial}{\partial \mathbf{x}} \mathbf{a}\cdot\mathbf{x} = \mathbf{a}^T");
    pass(r"\frac{\partial}{\partial \mathbf{x}} \|\mathbf{x}\|^2 = 2\mathbf{x}^T");
    pass(r"\frac{\partial}{\partial \mathbf{x}} \|\mathbf{x}\|_2^2 = 2\mathbf{x}^\top");
    pass(
        r"\frac{\partial \|\mathbf{x}\|_2}{\partial \mathbf{x}} = \frac{\mathbf{x}^T}{\|\mathbf{x}\|_2}",
    );
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \lVert \mathbf{x} \rVert = \frac{\mathbf{x}^{\mathsf T}}{\lVert \mathbf{x} \rVert}",
    );
    pass(r"\frac{\partial}{\partial \mathbf{x}} \sum_{i=1}^{n} x_i^2 = 2\mathbf{x}^T");
    pass(r"\frac{\partial}{\partial \mathbf{x}} \sum_i x_i = \vec{1}^T");
    pass(r"\frac{\partial}{\partial \mathbf{x}} \text{sum}(\mathbf{x}) = \mathbf{1}^\top");
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \exp(\mathbf{x}) = \operatorname{diag}(\exp(\mathbf{x}))",
    );
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} (\mathbf{x} \odot \mathbf{x}) = 2\operatorname{diag}(\mathbf{x})",
    );
    pass(r"\frac{\partial}{\partial \mathbf{x}} \mathbf{x}^2 = 2\,\mathrm{diag}(\mathbf{x})");
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \mathrm{softmax}(\mathbf{x}) = \mathrm{diag}(\mathrm{softmax}(\mathbf{x})) - \mathrm{softmax}(\mathbf{x})\mathrm{softmax}(\mathbf{x})^T",
    );
    pass(r"\nabla_{\mathbf{x}} (\mathbf{a}^T \mathbf{x}) = \mathbf{a}");
    pass(r"\nabla_{\mathbf{x}} (\mathbf{a}^T \mathbf{x}) = \mathbf{a}^T");
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \tanh(\mathbf{x}) = I - \operatorname{diag}(\tanh(\mathbf{x}))^2",
    );
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} (\mathbf{x} \oslash \mathbf{y}) = \operatorname{diag}(\vec{1} \oslash \mathbf{y})",
    );
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}\mathbf{x} = \begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}",
    );
    pass(
        r"\frac{\partial}{\partial x} \begin{bmatrix} x^2 \\ \sin x \end{bmatrix} = \begin{bmatrix} 2x \\ \cos x \end{bmatrix}",
    );
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \|A\mathbf{x} - \mathbf{b}\|_2^2 = 2(A\mathbf{x} - \mathbf{b})^T A",
    );
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \big( \mathbf{x}^T\mathbf{x} \big) = 2\mathbf{x}^T",
    );
    pass(
        r"\frac{\partial}{\partial \boldsymbol{\theta}} \boldsymbol{\theta}^T \boldsymbol{\theta} = 2\boldsymbol{\theta}^T",
    );
    pass(r"\frac{\partial}{\partial \bm{x}} \bm{x}^T\bm{x} = 2\bm{x}^T");
    pass(r"\frac{\partial}{\partial \vec{x}} \vec{x}^T\vec{x} = 2\vec{x}^{T}");
    pass(r"\frac{\partial}{\partial \mathbf{w}} \frac{1}{2}\|\mathbf{w}\|^2 = \mathbf{w}^T");
    pass(r"\frac{\partial}{\partial \mathbf{x}} A\mathbf{x} = A");
    pass(
        r"\frac{\partial (\mathbf{w}\circ\mathbf{x})}{\partial \mathbf{x}} = \operatorname{diag}(\mathbf{w})",
    );
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \sum_{i=1}^n \sum_{j=1}^n x_i A_{ij} x_j = \mathbf{x}^T(A + A^T)",
    );
    pass(r"\frac{\partial}{\partial \mathbf{x}} \mathbf{a}^T\mathbf{b} = 0");
    pass(r"\frac{\partial}{\partial \mathbf{x}} \mathbf{a}^T\mathbf{b} = \mathbf{0}^T");
    pass(r"\frac{\partial}{\partial \mathbf{x}} (c\,\mathbf{x}) = cI");
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} (\mathbf{x}^T\mathbf{a})^2 = 2(\mathbf{x}^T\mathbf{a})\mathbf{a}^T",
    );
    pass(r"\frac{\partial \mathbf{x}}{\partial \mathbf{x}} = I");
    pass(r"\frac{\partial}{\partial \mathbf{w}} \mathbf{w \cdot x} = \mathbf{x}^T");
    pass(r"\frac{\partial}{\partial x} (x \mathbf{v}) = \mathbf{v}");
    pass(r"\frac{\partial}{\partial \mathbf{x}} (\mathbf{x} \cdot \mathbf{x}) = 2\mathbf{x}^T");
    fail(
        r"\frac{\partial}{\partial \mathbf{x}} \mathbf{x}^T \mathbf{x} = \mathbf{x}^T",
        "value",
        Some("factor 1/2"),
    );
    fail(
        r"\frac{\partial}{\partial \mathbf{x}} \mathbf{x}^\top\mathbf{x} = 2\mathbf{x}",
        "shape",
        Some("layout"),
    );
    fail(
        r"\frac{\partial (A\mathbf{x})}{\partial \mathbf{x}} = A^T",
        "shape",
        Some("layout"),
    );
}

#[test]
fn matrix_rules() {
    pass(r"\frac{\partial}{\partial X} \operatorname{tr}(AX) = A");
    pass(r"\frac{\partial}{\partial X} \operatorname{Tr}(X^T A) = A^T");
    pass(r"\frac{\partial}{\partial X}\det X = \det(X) X^{-1}");
    pass(r"\frac{\partial \mathbf{a}^T X \mathbf{b}}{\partial X} = \mathbf{b}\mathbf{a}^T");
    pass(r"\frac{\partial}{\partial X} \log\det X = X^{-1}");
    pass(r"\frac{\partial}{\partial X}\|X\|_F^2 = 2X^T");
    pass(r"\frac{\partial}{\partial X} \operatorname{tr}(X^T X) = 2X^\top");
    pass(r"\frac{\partial}{\partial X} \operatorname{tr}(X A X^T) = (A + A^T)X^T");
    fail(
        r"\frac{\partial}{\partial X} \operatorname{tr}(X A X^T) = 2AX^T",
        "value",
        Some("symmetric"),
    );
    pass(r"\frac{d}{dt} (tA) = A");
    pass(r"\frac{\partial}{\partial X} \operatorname{tr}(X^{-1}) = -X^{-2}");
    pass(r"\frac{\partial}{\partial X} \operatorname{tr}(A X B) = BA");
    fail(
        r"\frac{\partial}{\partial X} \operatorname{tr}(A X B) = A^T B^T",
        "shape",
        Some("layout"),
    );
    fail(
        r"\frac{\partial}{\partial X}\log\det(X) = X^{-T}",
        "value",
        Some("layout"),
    );
    pass(r"\frac{\partial}{\partial X}\log\det(X) = (X^{-\top})^{\mathsf{T}}");
    pass(r"\frac{\partial}{\partial X} \operatorname{trace}(X^2) = 2X");
}

#[test]
fn layout_and_otimes_from_front_matter() {
    let r = run_notes(
        &[r"\frac{\partial}{\partial \mathbf{x}} \mathbf{a}^T\mathbf{x} = \mathbf{a}"],
        &[("layout", "denominator")],
    );
    assert_eq!(r[0].1.status(), Status::Pass, "{r:#?}");
    let r = run_notes(
        &[r"\frac{\partial}{\partial \mathbf{x}} \mathbf{a}^T\mathbf{x} = \mathbf{a}^T"],
        &[("layout", "denominator")],
    );
    assert_eq!(r[0].1.status(), Status::Fail, "{r:#?}");
    assert!(
        r[0].1
            .hint
            .as_deref()
            .unwrap_or("")
            .contains("numerator-layout")
    );
    let r = run_notes(
        &[r"\frac{\partial}{\partial X} \operatorname{tr}(AX) = A^T"],
        &[("layout", "denominator")],
    );
    assert_eq!(r[0].1.status(), Status::Pass, "{r:#?}");
    let r = run_notes(
        &[
            r"\frac{\partial}{\partial \mathbf{x}} (\mathbf{a} \otimes \mathbf{x}) = \mathbf{a} \otimes I",
        ],
        &[("otimes", "kronecker")],
    );
    assert_eq!(r[0].1.status(), Status::Pass, "{r:#?}");
}

#[test]
fn definitions() {
    let r = run_notes(
        &[
            r"y = \text{sum}(\mathbf{x})",
            r"\frac{\partial y}{\partial \mathbf{x}} = \vec{1}^T",
        ],
        &[],
    );
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0].1.status(), Status::Pass, "{r:#?}");
    let r = run_notes(
        &[
            r"\mathbf{s} = \mathrm{softmax}(\mathbf{x})",
            r"\frac{\partial \mathbf{s}}{\partial \mathbf{x}} = \operatorname{diag}(\mathbf{s}) - \mathbf{s}\mathbf{s}^T",
        ],
        &[],
    );
    assert_eq!(r[0].1.status(), Status::Pass, "{r:#?}");
    let r = run_notes(
        &[
            r"z = \mathbf{w}^T\mathbf{x} + b",
            r"\frac{\partial \sigma(z)}{\partial \mathbf{w}} = \sigma(z)(1-\sigma(z))\mathbf{x}^T",
        ],
        &[],
    );
    assert_eq!(r[0].1.status(), Status::Pass, "{r:#?}");
    let r = run_notes(
        &[
            r"f(\mathbf{x}) = \mathbf{x}^T\mathbf{x}",
            r"\frac{\partial f(\mathbf{x})}{\partial \mathbf{x}} = 2\mathbf{x}^T",
        ],
        &[],
    );
    assert_eq!(r[0].1.status(), Status::Pass, "{r:#?}");
    let r = run_notes(
        &[
            r"\mathbf{y} = W\mathbf{x} + \mathbf{b}",
            r"\frac{\partial \mathbf{y}}{\partial \mathbf{x}} = W^T",
        ],
        &[],
    );
    assert_eq!(r[0].1.status(), Status::Fail, "{r:#?}");
    // front matter definition
    let r = run_notes(
        &[r"\frac{\partial y}{\partial \mathbf{x}} = \mathbf{a}^T"],
        &[("y", r"\mathbf{a}^T\mathbf{x}")],
    );
    assert_eq!(r[0].1.status(), Status::Pass, "{r:#?}");
}

#[test]
fn statements_and_chains() {
    assert!(run(r"\frac{d}{dx} x^2 = ?").is_empty());
    assert!(run(r"y = Ax + b").is_empty());
    assert!(run(r"\frac{\partial y}{\partial x} \in \mathbb{R}^{m \times n}").is_empty());
    let r = run(
        r"\begin{align} \frac{\partial}{\partial \mathbf{x}} \mathbf{x}^T\mathbf{x} &= 2\mathbf{x}^T \\ &= \mathbf{x}^T + \mathbf{x}^T \end{align}",
    );
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0].1.status(), Status::Pass);
    let r = run(r"\begin{aligned} \frac{d}{dx}x^2 &= 2x \\ \frac{d}{dx}x^3 &= 3x^2 \end{aligned}");
    assert_eq!(r.len(), 2, "{r:#?}");
    assert!(r.iter().all(|x| x.1.status() == Status::Pass));
    let r =
        run(r"\frac{\partial}{\partial x} x^2 = 2x, \quad \frac{\partial}{\partial x} x^3 = 3x^2");
    assert_eq!(r.len(), 2, "{r:#?}");
    assert!(r.iter().all(|x| x.1.status() == Status::Pass));
    let r = run(r"J = \frac{\partial (A\mathbf{x})}{\partial \mathbf{x}} = A");
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0].1.status(), Status::Pass);
    assert!(r[0].0.latex.starts_with(r"\frac"));
    assert_eq!(r[0].0.tex_offset, 4);
}

#[test]
fn abstract_and_unsupported() {
    skip(r"\frac{\partial}{\partial x} f(x) = f'(x)", "abstract");
    skip(r"\frac{df}{du} = 2u", "abstract");
    skip(
        r"\frac{\partial L}{\partial \mathbf{w}} = \mathbf{x}^T",
        "abstract",
    );
    skip(
        r"\frac{\partial}{\partial x} \int_0^x t\,dt = x",
        "unsupported",
    );
    // a second derivative by a matrix is a 4-dimensional array
    skip(
        r"\frac{\partial^2}{\partial X^2} \operatorname{tr}(X^2) = 2I",
        "unsupported",
    );
}

#[test]
fn more_constructs() {
    pass(r"\frac{\partial |X|}{\partial X} = |X| X^{-1}");
    pass(r"\frac{\partial}{\partial \mathbf{x}} \mathbf{1}_n^T \mathbf{x} = \mathbf{1}_n^T");
    pass(r"\frac{d}{dx} \max(0, x) = \mathbb{1}[x > 0]");
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \operatorname{ReLU}(\mathbf{x}) = \operatorname{diag}(\mathbb{1}_{\mathbf{x} > 0})",
    );
    pass(r"\frac{d}{dx} \tan x = \sec^2 x");
    pass(r"\frac{d}{dx} \tanh(x) = \operatorname{sech}^2(x)");
    pass(r"\frac{d}{dx} \arcsin(x/2) = \frac{1}{\sqrt{4 - x^2}}");
    pass(r"\frac{\partial}{\partial \mathbf{x}} \left\| \mathbf{x} \right\|^2 = 2\mathbf{x}^T");
    pass(r"\frac{\partial}{\partial \mathbf{x}} \Vert \mathbf{x} \Vert_{2}^{2} = 2\mathbf{x}^T");
    pass(r"\frac{d}{dx} \frac12 x^2 = x");
    pass(r"\frac{\partial}{\partial x_1}(x_1 x_2) = x_2");
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \mathbf{x}^{\intercal} A \mathbf{x} = \mathbf{x}^{\top} (A + A^{\mathsf{T}})",
    );
    pass(
        r"\frac{\partial}{\partial X} \mathbf{a}^T X^{-1} \mathbf{b} = -X^{-1}\mathbf{b}\mathbf{a}^T X^{-1}",
    );
    pass(r"\frac{d}{dx} e^{-x^2/2} = -x e^{-x^2/2}");
    pass(r"\frac{d}{dx}\exp\left(-\frac{x^2}{2}\right) = -x\exp\left(-\frac{x^2}{2}\right)");
}

#[test]
fn definitions_more() {
    // a function named with an uppercase letter, used bare in the derivative
    let r = run_notes(
        &[
            r"L(\mathbf{w}) = \|X\mathbf{w} - \mathbf{y}\|^2",
            r"\frac{\partial L}{\partial \mathbf{w}} = 2(X\mathbf{w} - \mathbf{y})^T X",
            r"\nabla_{\mathbf{w}} L(\mathbf{w}) = 2X^T(X\mathbf{w} - \mathbf{y})",
        ],
        &[],
    );
    assert_eq!(r.len(), 2, "{r:#?}");
    assert!(r.iter().all(|x| x.1.status() == Status::Pass), "{r:#?}");
    // a letter reused as a constant after a definition (its definition no longer
    // fits the shapes)
    let r = run_notes(
        &[
            r"u = x^2",
            r"\frac{\partial}{\partial \mathbf{x}} (u\,\mathbf{x}) = uI",
        ],
        &[],
    );
    assert_eq!(r[0].1.status(), Status::Pass, "{r:#?}");
    // but a definition that fits is in force: a missing term is a wrong identity
    for (def, id) in [
        (
            r"a = \max(0, \mathbf{w}^\top \mathbf{x})",
            r"\frac{\partial}{\partial \mathbf{x}} (a\mathbf{x}) = aI",
        ),
        (
            r"z = \mathbf{w}^T\mathbf{x}+b",
            r"\frac{\partial}{\partial \mathbf{x}} (z\,\mathbf{x}) = zI",
        ),
        (r"y = x^2", r"\frac{d}{dx}(x\,y) = y"),
    ] {
        let r = run_notes(&[def, id], &[]);
        assert_eq!(r[0].1.status(), Status::Fail, "{r:#?}");
    }
    let r = run_notes(
        &[
            r"z = \mathbf{w}^T\mathbf{x}+b",
            r"\frac{\partial}{\partial \mathbf{x}} (z\,\mathbf{x}) = zI + \mathbf{x}\mathbf{w}^T",
        ],
        &[],
    );
    assert_eq!(r[0].1.status(), Status::Pass, "{r:#?}");
    // but not to make a derivative trivially zero
    let r = run_notes(
        &[
            r"\mathbf{s} = \mathrm{softmax}(\mathbf{x})",
            r"\frac{\partial \mathbf{s}}{\partial \mathbf{x}} = 0",
        ],
        &[],
    );
    assert_eq!(r[0].1.status(), Status::Fail, "{r:#?}");
    // declarations make plain letters vectors
    let r = run_notes(
        &[
            r"x \in \mathbb{R}^n",
            r"\frac{\partial}{\partial x} \|x\|^2 = 2x^T",
        ],
        &[],
    );
    assert_eq!(r[0].1.status(), Status::Pass, "{r:#?}");
}

#[test]
fn cookbook() {
    pass(r"\frac{\partial}{\partial \mathbf{x}} \mathbf{x}^T A \mathbf{y} = \mathbf{y}^T A^T");
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} (A\mathbf{x} + \mathbf{b})^T C (D\mathbf{x} + \mathbf{e}) = (D\mathbf{x}+\mathbf{e})^T C^T A + (A\mathbf{x}+\mathbf{b})^T C D",
    );
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \|\mathbf{x}\|_1 = \operatorname{sign}(\mathbf{x})^T",
    );
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \log \sum_i e^{x_i} = \operatorname{softmax}(\mathbf{x})^T",
    );
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \frac{\mathbf{a}^T\mathbf{x}}{\mathbf{b}^T\mathbf{x}} = \frac{\mathbf{a}^T (\mathbf{b}^T\mathbf{x}) - (\mathbf{a}^T\mathbf{x})\mathbf{b}^T}{(\mathbf{b}^T\mathbf{x})^2}",
    );
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \sqrt{\mathbf{x}^T\mathbf{x}} = \frac{\mathbf{x}^T}{\sqrt{\mathbf{x}^T\mathbf{x}}}",
    );
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} (\mathbf{a}^T\mathbf{x})\mathbf{x} = \mathbf{x}\mathbf{a}^T + (\mathbf{a}^T\mathbf{x}) I",
    );
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \frac{\mathbf{x}}{\|\mathbf{x}\|} = \frac{I}{\|\mathbf{x}\|} - \frac{\mathbf{x}\mathbf{x}^T}{\|\mathbf{x}\|^3}",
    );
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \mathbf{x} \odot \mathbf{a} = \operatorname{diag}(\mathbf{a})",
    );
    pass(r"\frac{d}{dt} e^{-t}\mathbf{v} = -e^{-t}\mathbf{v}");
    pass(
        r"\frac{d}{dt}\sigma(t\mathbf{w}) = \sigma(t\mathbf{w}) \odot (1 - \sigma(t\mathbf{w})) \odot \mathbf{w}",
    );
    pass(r"\frac{\partial}{\partial X} \operatorname{tr}(X^T A X) = X^T(A + A^T)");
    pass(r"\frac{\partial}{\partial X} \operatorname{tr}(A X^{-1}) = -X^{-1} A X^{-1}");
    pass(
        r"\frac{\partial}{\partial W} \frac{1}{2}\|W\mathbf{x} - \mathbf{y}\|^2 = \mathbf{x}(W\mathbf{x} - \mathbf{y})^T",
    );
    pass(r"\frac{\partial}{\partial X} \mathbf{a}^T X \mathbf{a} = \mathbf{a}\mathbf{a}^T");
    pass(r"\frac{\partial}{\partial X}\sum_{i,j} X_{ij} = \mathbf{1}\mathbf{1}^T");
    pass(r"\frac{\partial}{\partial X} \operatorname{sum}(X) = \mathbf{1}\mathbf{1}^T");
    pass(r"\frac{d}{dx} x \ln x - x = \ln x");
    pass(r"\frac{d}{dx} \ln|x| = \frac{1}{x}");
    pass(r"\frac{d}{dx} a^x = a^x \ln a");
    pass(r"\frac{d}{dx} \frac{\sin x}{x} = \frac{x\cos x - \sin x}{x^2}");
    pass(r"\frac{d}{dx} \cosh x = \sinh x");
    pass(r"\frac{d}{dx} x^n = n x^{n-1}");
    pass(r"\frac{\partial}{\partial X} \det(X)^{-1} = -\det(X)^{-1} X^{-1}");
    pass(r"\frac{\partial}{\partial X} \det(X^2) = 2\det(X)^2 X^{-1}");
    pass(r"\frac{\partial}{\partial X} \operatorname{tr}(X^{-1} A) = -X^{-1} A X^{-1}");
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \mathbf{x}^T A^{-1} \mathbf{x} = \mathbf{x}^T (A^{-1} + A^{-T})",
    );
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \|W \mathbf{x}\|_2 = \frac{\mathbf{x}^T W^T W}{\|W\mathbf{x}\|_2}",
    );
    fail(
        r"\frac{\partial}{\partial X} \operatorname{tr}(X^T A X) = 2X^T A",
        "value",
        Some("symmetric"),
    );
    fail(
        r"\frac{\partial}{\partial \mathbf{x}} (\mathbf{a}^T\mathbf{x})\mathbf{x} = \mathbf{a}\mathbf{x}^T + (\mathbf{a}^T\mathbf{x}) I",
        "value",
        None,
    );
    fail(r"\frac{d}{dx} x \ln x = \ln x", "value", None);
}

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

#[test]
fn components_arrays_norms() {
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \begin{bmatrix} x_1^2 \\ x_1 x_2 \end{bmatrix} = \begin{bmatrix} 2x_1 & 0 \\ x_2 & x_1 \end{bmatrix}",
    );
    fail(
        r"\frac{\partial}{\partial \mathbf{x}} \begin{bmatrix} x_1^2 \\ x_1 x_2 \end{bmatrix} = \begin{bmatrix} 2x_1 & x_2 \\ 0 & x_1 \end{bmatrix}",
        "value",
        Some("layout"),
    );
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} (x_1^2 + 3x_2) = \begin{bmatrix} 2x_1 & 3 \end{bmatrix}",
    );
    pass(r"\frac{\partial}{\partial \mathbf{x}} \|\mathbf{x}\|^2_2 = 2\mathbf{x}^T");
    pass(r"\frac{d}{dx}|x| = \left\{\begin{array}{ll} 1 & x > 0 \\ -1 & x < 0 \end{array}\right.");
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \max\{0, \mathbf{a}^T\mathbf{x}\} = \begin{cases} \mathbf{a}^T & \mathbf{a}^T\mathbf{x} > 0 \\ \mathbf{0}^T & \text{otherwise} \end{cases}",
    );
}

#[test]
fn stated_conditions() {
    pass(r"\frac{d}{dx}|x| = 1, \quad x > 0");
    pass(r"\frac{d}{dx}|x| = -1 \qquad (x < 0)");
    pass(r"\frac{d}{dx} \sqrt{x^2} = \frac{x}{|x|}, \quad x \neq 0");
    fail(r"\frac{d}{dx}|x| = 1, \quad x < 0", "value", Some("sign"));
}

#[test]
fn false_cases_per_construct() {
    fail(
        r"\frac{\partial}{\partial \mathbf{x}} (\mathbf{x} \odot \mathbf{y}) = \operatorname{diag}(\mathbf{x})",
        "value",
        None,
    );
    fail(
        r"\frac{\partial}{\partial \mathbf{x}} (\mathbf{x} \circ \mathbf{y}) = \mathbf{y}^T",
        "shape",
        None,
    );
    fail(
        r"\frac{\partial (\mathbf{w} \otimes \mathbf{x})}{\partial \mathbf{w}} = \operatorname{diag}(\mathbf{w})",
        "value",
        None,
    );
    fail(
        r"\frac{\partial}{\partial \mathbf{x}} (\mathbf{x} \oslash \mathbf{y}) = \operatorname{diag}(\mathbf{y})",
        "value",
        None,
    );
    fail(
        r"\frac{d}{dx} \frac{1}{x} = \frac{1}{x^2}",
        "value",
        Some("sign"),
    );
    fail(r"\frac{d}{dx} 1/x = 1/x^2", "value", Some("sign"));
    fail(
        r"\frac{\partial}{\partial X}\operatorname{tr}(X^{-1}) = -X^{-1}",
        "value",
        None,
    );
    fail(
        r"\frac{\partial}{\partial X}\operatorname{tr}(X^3) = 3X^3",
        "value",
        None,
    );
    fail(r"\frac{d}{dx} x^3 = 3x", "value", None);
    fail(
        r"\frac{\partial}{\partial \mathbf{x}} \text{sum}(\mathbf{x}) = \mathbf{1}",
        "shape",
        Some("layout"),
    );
    fail(
        r"\frac{\partial}{\partial X}\det X = \det(X) X^{-T}",
        "value",
        Some("layout"),
    );
    fail(r"\frac{d}{dx} e^{2x} = e^{2x}", "value", Some("factor 1/2"));
    fail(r"\frac{d}{dx}\tanh x = 1 + \tanh^2 x", "value", None);
    fail(
        r"\frac{d}{dx}\sigma(x) = \sigma(x)(1+\sigma(x))",
        "value",
        None,
    );
    fail(
        r"\frac{\partial}{\partial \mathbf{x}} \mathrm{softmax}(\mathbf{x}) = \mathrm{diag}(\mathrm{softmax}(\mathbf{x})) + \mathrm{softmax}(\mathbf{x})\mathrm{softmax}(\mathbf{x})^T",
        "value",
        None,
    );
    fail(
        r"\frac{d}{dx}\sqrt{x} = \frac{1}{\sqrt{x}}",
        "value",
        Some("factor 2"),
    );
    fail(
        r"\frac{\partial}{\partial \mathbf{x}} \|\mathbf{x}\|_2 = \mathbf{x}^T",
        "value",
        None,
    );
    fail(
        r"\frac{\partial}{\partial X}\|X\|_F^2 = X^T",
        "value",
        Some("factor 1/2"),
    );
    fail(
        r"\frac{\partial}{\partial \mathbf{x}} \sum_{i=1}^n x_i^2 = \mathbf{x}^T",
        "value",
        Some("factor 1/2"),
    );
    fail(
        r"\nabla_{\mathbf{x}} \mathbf{x}^T\mathbf{x} = \mathbf{x}",
        "value",
        Some("factor 1/2"),
    );
    fail(r"\partial (x^3) / \partial x = 3x", "value", None);
    fail(r"\frac{d}{dx} \ln(x) = x", "value", None);
    fail(
        r"\frac{d}{dx} \cos(2x) = -\sin(2x)",
        "value",
        Some("factor 1/2"),
    );
    fail(
        r"\frac{\partial}{\partial \mathbf{w}} \max(0, \mathbf{w}^T\mathbf{x}) = \mathbf{x}^T",
        "value",
        None,
    );
    fail(
        r"\frac{\partial}{\partial \mathbf{x}} A\mathbf{x} = A^T",
        "shape",
        Some("layout"),
    );
    fail(
        r"\frac{\partial}{\partial \mathbf{x}} \mathbf{x}^T \mathbf{x} = 2\mathbf{x}^T = \mathbf{x}^T",
        "value",
        None,
    );
    let r = run(
        r"\begin{align} \frac{\partial}{\partial \mathbf{x}} \mathbf{x}^T\mathbf{x} &= 2\mathbf{x}^T \\ &= 3\mathbf{x}^T \end{align}",
    );
    assert_eq!(r[0].1.status(), Status::Fail, "{r:#?}");
    assert!(r[0].1.message.starts_with("step 2"), "{r:#?}");
    let r = run_notes(
        &[
            r"\frac{\partial}{\partial \mathbf{x}} (\mathbf{a} \otimes \mathbf{x}) = I \otimes \mathbf{a}",
        ],
        &[("otimes", "kronecker")],
    );
    assert_eq!(r[0].1.status(), Status::Fail, "{r:#?}");
}

#[test]
fn sums_over_samples() {
    pass(
        r"\frac{\partial}{\partial \mathbf{w}} \sum_{i=1}^{N} (y_i - \mathbf{w}^T\mathbf{x}_i)^2 = -2\sum_{i=1}^{N} (y_i - \mathbf{w}^T\mathbf{x}_i)\mathbf{x}_i^T",
    );
    pass(
        r"\frac{\partial}{\partial \mathbf{w}} \frac{1}{N}\sum_{i=1}^{N} \log(1 + e^{-y_i \mathbf{w}^T\mathbf{x}_i}) = -\frac{1}{N}\sum_{i=1}^{N} y_i \sigma(-y_i \mathbf{w}^T\mathbf{x}_i)\mathbf{x}_i^T",
    );
    fail(
        r"\frac{\partial}{\partial \mathbf{w}} \sum_{i=1}^{N} (y_i - \mathbf{w}^T\mathbf{x}_i)^2 = 2\sum_{i=1}^{N} (y_i - \mathbf{w}^T\mathbf{x}_i)\mathbf{x}_i^T",
        "value",
        Some("sign"),
    );
}

#[test]
fn differentials() {
    pass(r"\frac{\mathrm d}{\mathrm dx} x^2 = 2x");
    pass(r"\frac{\text{d}}{\text{d}x} x^2 = 2x");
    pass(r"\frac{d(x^2)}{dx} = 2x");
    let r = run_notes(&[r"y = x^2", r"\frac{dy}{dx} = 2x"], &[]);
    assert_eq!(r[0].1.status(), Status::Pass, "{r:#?}");
}

#[test]
fn ambiguous_notation() {
    pass(r"\frac{\partial |\mathbf{x}|}{\partial \mathbf{x}} = \frac{\mathbf{x}^T}{|\mathbf{x}|}");
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \mathbf{1}^T |\mathbf{x}| = \operatorname{sign}(\mathbf{x})^T",
    );
    pass(r"\frac{\partial}{\partial X} \operatorname{sum}(\operatorname{diag}(X)) = I");
}

#[test]
fn undefined_functions_of_one_variable() {
    skip(r"\frac{d}{dt}\mathbf{r}(t) = \mathbf{v}(t)", "abstract");
    skip(r"\frac{d}{dx} y(x)^2 = 2y(x)", "abstract");
    pass(r"\frac{d}{dx} a(x + 1) = a");
    pass(r"\frac{d}{dx} x(1-x) = 1 - 2x");
    let r = run_notes(
        &[
            r"\mathbf{r}(t) = \begin{bmatrix} \cos t \\ \sin t \end{bmatrix}",
            r"\frac{d}{dt}\mathbf{r}(t) = \begin{bmatrix} -\sin t \\ \cos t \end{bmatrix}",
        ],
        &[],
    );
    assert_eq!(r[0].1.status(), Status::Pass, "{r:#?}");
}

/// Equivalent rewrites of the corpus notes must not change any verdict.
#[test]
fn notation_variants_keep_verdicts() {
    let root = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpus/vault"
    ));
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "md") {
                    files.push(p);
                }
            }
        }
    }
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
    for p in files {
        let text = std::fs::read_to_string(&p).unwrap_or_default();
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
    let mut paths: Vec<std::path::PathBuf> = Vec::new();
    for root in [
        concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/vault"),
        concat!(env!("CARGO_MANIFEST_DIR"), "/notes"),
    ] {
        let mut stack = vec![std::path::PathBuf::from(root)];
        while let Some(d) = stack.pop() {
            if let Ok(rd) = std::fs::read_dir(&d) {
                for e in rd.flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|x| x == "md") {
                        paths.push(p);
                    }
                }
            }
        }
    }
    paths.push(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/seed/matrix-calculus.md"
        )
        .into(),
    );
    let mut bad = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap_or_default();
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

#[test]
fn inverses_and_rows() {
    pass(r"\frac{d}{dt} (A + tB)^{-1} = -(A+tB)^{-1} B (A + tB)^{-1}");
    pass(r"\frac{\partial}{\partial X} \log|X| = X^{-1}");
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \frac{1}{\mathbf{a}^T\mathbf{x}} = -\frac{\mathbf{a}^T}{(\mathbf{a}^T\mathbf{x})^2}",
    );
    skip(
        r"\frac{\partial (A\mathbf{x})^T}{\partial \mathbf{x}} = A^T",
        "unsupported",
    );
    skip(
        r"\frac{\partial f}{\partial \mathbf{x}^T} = 2\mathbf{x}",
        "unsupported",
    );
}

#[test]
fn component_partials() {
    pass(r"\frac{\partial}{\partial x_i} \sum_j x_j^2 = 2x_i");
    pass(r"\frac{\partial}{\partial x_i} \mathbf{x}^T\mathbf{x} = 2x_i");
    pass(r"\frac{\partial}{\partial x_i} \mathbf{a}^T\mathbf{x} = a_i");
    fail(
        r"\frac{\partial}{\partial x_i} \sum_j x_j^2 = x_i",
        "value",
        Some("factor 1/2"),
    );
    // unrelated subscripted symbols stay distinct
    pass(r"\frac{\partial}{\partial x_j} x_i = 0");
}

#[test]
fn chain_rule_with_definitions() {
    let r = run_notes(
        &[
            r"u = x^2",
            r"y = \sin(u)",
            r"\frac{dy}{dx} = \frac{dy}{du}\frac{du}{dx} = \cos(u)\, 2x",
        ],
        &[],
    );
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0].1.status(), Status::Pass, "{r:#?}");
    let r = run_notes(
        &[
            r"\mathbf{z} = W\mathbf{x}",
            r"s = \mathbf{1}^T \tanh(\mathbf{z})",
            r"\frac{\partial s}{\partial \mathbf{x}} = \frac{\partial s}{\partial \mathbf{z}} \frac{\partial \mathbf{z}}{\partial \mathbf{x}}",
        ],
        &[],
    );
    assert_eq!(r[0].1.status(), Status::Pass, "{r:#?}");
    let r = run_notes(
        &[
            r"u = x^2",
            r"y = \sin(u)",
            r"\frac{dy}{dx} = \frac{dy}{du} = \cos(u)",
        ],
        &[],
    );
    assert_eq!(r[0].1.status(), Status::Fail, "{r:#?}");
}

#[test]
fn basis_vectors() {
    pass(r"\frac{\partial \mathbf{x}}{\partial x_i} = \mathbf{e}_i");
    pass(r"\frac{\partial}{\partial x_i} A\mathbf{x} = A\mathbf{e}_i");
    fail(
        r"\frac{\partial}{\partial x_i} A\mathbf{x} = A^T\mathbf{e}_i",
        "value",
        None,
    );
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
    let mut paths: Vec<std::path::PathBuf> = vec![
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/seed/matrix-calculus.md"
        )
        .into(),
    ];
    let mut stack = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpus/vault"
    ))];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "md") {
                    paths.push(p);
                }
            }
        }
    }
    let mut bad = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap_or_default();
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
fn sums_of_derivatives_and_domains() {
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \mathbf{a}^T\mathbf{x} + \frac{\partial}{\partial \mathbf{x}} \mathbf{b}^T\mathbf{x} = \mathbf{a}^T + \mathbf{b}^T",
    );
    pass(r"\frac{d}{dx} \ln(-x) = \frac{1}{x}");
    pass(r"\frac{d}{dx} \ln(1 - x) = \frac{-1}{1 - x}");
    pass(r"\frac{d}{dx} \arccos(x) = -\frac{1}{\sqrt{1 - x^2}}");
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

#[test]
fn bare_function_arguments() {
    pass(r"\frac{\partial}{\partial t} \left(\cos t\,\mathbf{u}\right) = -\sin t\,\mathbf{u}");
    pass(
        r"\frac{d}{dt} \left(\cos t \mathbf{u} + \sin t \mathbf{v}\right) = -\sin t \mathbf{u} + \cos t \mathbf{v}",
    );
    pass(
        r"\frac{\partial}{\partial \theta} \left(\cos\theta\,\mathbf{e}_1 + \sin\theta\,\mathbf{e}_2\right) = -\sin\theta\,\mathbf{e}_1 + \cos\theta\,\mathbf{e}_2",
    );
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \exp \mathbf{a}^T\mathbf{x} = \exp(\mathbf{a}^T\mathbf{x})\,\mathbf{a}^T",
    );
    pass(r"\frac{\partial}{\partial X} \operatorname{tr} X^T A = A^T");
    pass(r"\frac{d}{dx} \log_2 x = \frac{1}{x \ln 2}");
}

/// The verdicts of a note's identities (spans in order), by status.
fn statuses(spans: &[&str]) -> Vec<Status> {
    run_notes(spans, &[])
        .into_iter()
        .map(|(_, v)| v.status())
        .collect()
}

#[test]
fn a_condition_in_the_next_span_is_the_identitys_domain_only() {
    use Status::{Fail, Pass};
    // `$...$ for $x > 0$`: the domain of that identity, not a fact for the note
    assert_eq!(
        statuses(&[
            r"\frac{d}{dx}\sqrt{x^2} = 1",
            r"x > 0",
            r"\frac{d}{dx}|x| = 1",
            r"\frac{d}{dx}\sqrt{x^2} = 1",
            r"\frac{d}{dx}|x|^3 = 3x^2",
            r"\frac{d}{dx}\max(0, x) = 1",
            r"\frac{d}{dx}|x| = \begin{cases} -1 & x < 0 \\ 1 & x > 0 \end{cases}",
        ]),
        [Pass, Fail, Fail, Fail, Fail, Pass]
    );
    // the same inside the span
    assert_eq!(
        statuses(&[r"\frac{d}{dx}|x| = 1, \quad x > 0", r"\frac{d}{dx}|x| = 1"]),
        [Pass, Fail]
    );
    // a chained condition: the leaky ReLU's slope below 1
    assert_eq!(
        statuses(&[
            r"\frac{d}{dx}\max(\alpha x, x) = \begin{cases} \alpha & x < 0 \\ 1 & x > 0 \end{cases}",
            r"0 < \alpha < 1",
        ]),
        [Pass]
    );
    assert_eq!(
        statuses(&[
            r"\frac{d}{dx}\max(\alpha x, x) = \begin{cases} 1 & x < 0 \\ \alpha & x > 0 \end{cases}",
            r"0 < \alpha < 1",
        ]),
        [Fail]
    );
    // a declaration that follows no identity still holds for the note
    assert_eq!(
        statuses(&[r"\lambda > 0", r"\frac{d}{d\lambda}|\lambda| = 1"]),
        [Pass]
    );
    // and so does one about symbols the identity before it does not have
    assert_eq!(
        statuses(&[
            r"\frac{d}{dy} y^2 = 2y",
            r"x > 0",
            r"\frac{d}{dx}\sqrt{x^2} = 1"
        ]),
        [Pass, Pass]
    );
}

#[test]
fn the_gradient_of_a_matrix_has_the_matrix_shape() {
    pass(r"\nabla_X \operatorname{tr}(AX) = A^\top");
    fail(r"\nabla_X \operatorname{tr}(AX) = A", "shape", None);
    pass(r"\nabla_X \mathbf{a}^\top X \mathbf{b} = \mathbf{a}\mathbf{b}^\top");
    fail(
        r"\nabla_X \mathbf{a}^\top X \mathbf{b} = \mathbf{b}\mathbf{a}^\top",
        "shape",
        None,
    );
    // a square X: the values decide
    fail(
        r"\nabla_X \operatorname{tr}(X^2 A) = AX + XA",
        "value",
        None,
    );
    pass(r"\nabla_X \operatorname{tr}(X^2 A) = A^\top X^\top + X^\top A^\top");
    // a vector's gradient may be written either way
    pass(r"\nabla_{\mathbf{x}} \mathbf{a}^\top\mathbf{x} = \mathbf{a}");
    pass(r"\nabla_{\mathbf{x}} \mathbf{a}^\top\mathbf{x} = \mathbf{a}^\top");
    fail(
        r"\nabla_{\mathbf{x}} \mathbf{b}^\top A\mathbf{x} = A\mathbf{b}",
        "value",
        None,
    );
}

#[test]
fn upright_e_is_eulers_number() {
    pass(r"\frac{d}{dx}\mathrm{e}^{2x} = 2\mathrm{e}^{2x}");
    pass(r"\frac{d}{dx}\,\mathrm{e}^{-x^2} = -2x\,\mathrm{e}^{-x^2}");
    fail(
        r"\frac{d}{dx}\mathrm{e}^{2x} = \mathrm{e}^{2x}",
        "value",
        None,
    );
}

#[test]
fn a_defined_function_named_bare() {
    let def = r"activation(\mathbf{x}) = \max(0, \mathbf{w} \cdot \mathbf{x} + b)";
    let r = run_notes(
        &[
            def,
            r"\frac{ \partial activation }{ \partial \mathbf{x} } = \begin{cases} \vec{0}^T & \mathbf{w} \cdot \mathbf{x} + b \le 0 \\ \mathbf{w}^T & \mathbf{w} \cdot \mathbf{x} + b > 0 \end{cases}",
            r"\frac{ \partial activation }{ \partial b } = \begin{cases} 0 & \mathbf{w} \cdot \mathbf{x} + b \le 0 \\ 1 & \mathbf{w} \cdot \mathbf{x} + b > 0 \end{cases}",
            r"\frac{ \partial activation }{ \partial \mathbf{x} } = \begin{cases} \vec{0}^T & \mathbf{w} \cdot \mathbf{x} + b \le 0 \\ \mathbf{x}^T & \mathbf{w} \cdot \mathbf{x} + b > 0 \end{cases}",
        ],
        &[],
    );
    let st: Vec<Status> = r.iter().map(|x| x.1.status()).collect();
    assert_eq!(st, [Status::Pass, Status::Pass, Status::Fail], "{r:#?}");
}

#[test]
fn an_operand_through_an_undefined_quantity_is_abstract() {
    skip(
        r"\frac{\partial}{\partial \boldsymbol\mu}\,\log\mathcal{N} = (\mathbf{x}-\boldsymbol\mu)^\top",
        "abstract",
    );
    skip(
        r"\frac{\partial}{\partial \mathbf{w}} \log \hat{y} = (1 - \hat{y})\mathbf{x}^\top",
        "abstract",
    );
    // defined, it is checked
    let r = run_notes(
        &[
            r"\mathcal{L}(\mathbf{w}) = \frac{1}{n}\|X\mathbf{w} - \mathbf{y}\|_2^2",
            r"\nabla_{\mathbf{w}}\mathcal{L} = \frac{2}{n}X^\top(X\mathbf{w} - \mathbf{y})",
            r"\nabla_{\mathbf{w}}\mathcal{L} = \frac{1}{n}X^\top(X\mathbf{w} - \mathbf{y})",
        ],
        &[],
    );
    let st: Vec<Status> = r.iter().map(|x| x.1.status()).collect();
    assert_eq!(st, [Status::Pass, Status::Fail], "{r:#?}");
}

#[test]
fn inner_products() {
    pass(
        r"\frac{\partial}{\partial\mathbf{x}}\langle \mathbf{a}, \mathbf{x}\rangle = \mathbf{a}^\top",
    );
    fail(
        r"\frac{\partial}{\partial\mathbf{x}}\langle \mathbf{a}, \mathbf{x}\rangle = \mathbf{a}",
        "shape",
        None,
    );
    pass(r"\frac{\partial}{\partial X}\left\langle A, X \right\rangle = A^\top");
    fail(
        r"\frac{\partial}{\partial X}\left\langle A, X \right\rangle = A",
        "shape",
        None,
    );
    pass(r"\frac{\partial}{\partial X}\langle X, X\rangle = 2X^\top");
}

#[test]
fn entries_of_vectors_with_a_free_index() {
    let p = r"\mathbf{p} = \operatorname{softmax}(\mathbf{z})";
    assert_eq!(
        statuses(&[
            p,
            r"\frac{\partial}{\partial \mathbf{z}} \left(-\log p_k\right) = \mathbf{p}^\top - \mathbf{e}_k^\top",
            r"\frac{\partial}{\partial \mathbf{z}} \left(-\log p_k\right) = \mathbf{p}^\top",
            r"\frac{\partial p_i}{\partial z_j} = p_i(\delta_{ij} - p_j)",
            r"\frac{\partial p_i}{\partial z_j} = p_i(1 - p_j)",
            r"\frac{\partial}{\partial z_j} \log p_i = \delta_{ij} - p_j",
        ]),
        [
            Status::Pass,
            Status::Fail,
            Status::Pass,
            Status::Fail,
            Status::Pass
        ]
    );
    pass(r"\frac{\partial}{\partial \mathbf{x}} x_k = \mathbf{e}_k^\top");
    fail(
        r"\frac{\partial}{\partial \mathbf{x}} x_k = \mathbf{e}_k",
        "shape",
        None,
    );
    pass(
        r"\frac{\partial}{\partial \mathbf{z}}\left(\log\sum_j e^{z_j} - z_k\right) = \operatorname{softmax}(\mathbf{z})^\top - \mathbf{e}_k^\top",
    );
    fail(
        r"\frac{\partial}{\partial \mathbf{z}}\left(\log\sum_j e^{z_j} - z_k\right) = \operatorname{softmax}(\mathbf{z})^\top",
        "value",
        None,
    );
}

#[test]
fn higher_order_derivatives() {
    pass(r"\frac{d^2}{dx^2}\sin x = -\sin x");
    pass(r"\frac{\partial^2}{\partial x^2} x^3 = 6x");
    pass(r"\frac{d^2}{dx^2} e^{3x} = 9e^{3x}");
    fail(r"\frac{d^2}{dx^2} x^3 = 3x^2", "value", None);
    fail(
        r"\frac{d^2}{dx^2}\ln x = \frac{1}{x^2}",
        "value",
        Some("sign"),
    );
    pass(r"\frac{\partial^2}{\partial x\,\partial y}\, x^2 y^3 = 6xy^2");
    fail(
        r"\frac{\partial^2 (x^2 y^3)}{\partial x\,\partial y} = 6x^2y",
        "value",
        None,
    );
    pass(r"\frac{d^2}{dt^2}(\mathbf{a} + t\mathbf{b} + t^2\mathbf{c}) = 2\mathbf{c}");
    pass(r"\nabla^2_{\mathbf{x}}\, \mathbf{x}^\top A\mathbf{x} = A + A^\top");
    fail(
        r"\nabla^2_{\mathbf{x}}\, \mathbf{x}^\top A\mathbf{x} = 2A",
        "value",
        Some("symmetric"),
    );
    pass(r"\nabla_{\mathbf{x}}^2 \|A\mathbf{x} - \mathbf{b}\|^2 = 2A^\top A");
    pass(
        r"\frac{\partial^2}{\partial \mathbf{x}\,\partial \mathbf{x}^\top}\, \frac{1}{2}\mathbf{x}^\top A\mathbf{x} = \frac{1}{2}(A + A^\top)",
    );
    pass(
        r"\nabla^2_{\mathbf{w}} \log(1 + e^{\mathbf{w}^\top\mathbf{x}}) = \sigma(\mathbf{w}^\top\mathbf{x})(1-\sigma(\mathbf{w}^\top\mathbf{x}))\mathbf{x}\mathbf{x}^\top",
    );
    fail(
        r"\nabla^2_{\mathbf{w}} \log(1 + e^{\mathbf{w}^\top\mathbf{x}}) = \sigma(\mathbf{w}^\top\mathbf{x})\mathbf{x}\mathbf{x}^\top",
        "value",
        None,
    );
    // orders that do not add up
    skip(r"\frac{\partial^2}{\partial x} x^3 = 6x", "unsupported");
}

#[test]
fn matrices_declared_symmetric() {
    let id =
        r"\frac{\partial}{\partial \mathbf{x}}\mathbf{x}^\top S\mathbf{x} = 2\mathbf{x}^\top S";
    assert_eq!(statuses(&[r"S = S^\top", id]), [Status::Pass]);
    assert_eq!(statuses(&[id]), [Status::Fail]);
    assert_eq!(
        statuses(&[
            r"\Sigma \in \mathbb{S}^n_{++}",
            r"\frac{\partial}{\partial \boldsymbol{\mu}} (\mathbf{x}-\boldsymbol{\mu})^\top\Sigma^{-1}(\mathbf{x}-\boldsymbol{\mu}) = -2(\mathbf{x}-\boldsymbol{\mu})^\top\Sigma^{-1}",
        ]),
        [Status::Pass]
    );
    assert_eq!(
        statuses(&[
            r"\frac{\partial}{\partial X}\operatorname{tr}(X^\top C X) = 2X^\top C, \quad C = C^\top"
        ]),
        [Status::Pass]
    );
    assert_eq!(
        statuses(&[r"\frac{\partial}{\partial X}\operatorname{tr}(X^\top C X) = 2X^\top C"]),
        [Status::Fail]
    );
}

#[test]
fn inverse_trigonometric_and_hyperbolic_functions() {
    pass(r"\frac{d}{d\theta}\,\tan^{-1}\theta = \frac{1}{1+\theta^2}");
    pass(r"\frac{d}{dx}\,\sin^{-1}(x) = \frac{1}{\sqrt{1-x^2}}");
    fail(
        r"\frac{d}{dx}\,\cos^{-1}(x) = \frac{1}{\sqrt{1-x^2}}",
        "value",
        Some("sign"),
    );
    pass(r"\frac{d}{dx}\,\coth x = -\operatorname{csch}^2 x");
    fail(
        r"\frac{d}{dx}\,\coth x = \operatorname{csch}^2 x",
        "value",
        Some("sign"),
    );
}

#[test]
fn sigma_as_a_variable() {
    pass(
        r"\frac{\partial}{\partial \sigma}\left(-\log\sigma - \frac{x^2}{2\sigma^2}\right) = -\frac{1}{\sigma} + \frac{x^2}{\sigma^3}",
    );
    fail(
        r"\frac{\partial}{\partial \sigma}\left(-\log\sigma - \frac{x^2}{2\sigma^2}\right) = -\frac{1}{\sigma} - \frac{x^2}{\sigma^3}",
        "value",
        None,
    );
    // `\sigma^2(x)` is still the squared sigmoid
    pass(r"\frac{d}{dx}\sigma^2(x) = 2\sigma(x)^2(1 - \sigma(x))");
}

#[test]
fn a_cases_branch_at_a_single_point_is_not_sampled() {
    pass(r"\frac{d}{dx}|x| = \begin{cases} 1 & x > 0 \\ -1 & x < 0 \\ 0 & x = 0 \end{cases}");
    fail(
        r"\frac{d}{dx}|x| = \begin{cases} -1 & x > 0 \\ 1 & x < 0 \\ 0 & x = 0 \end{cases}",
        "value",
        None,
    );
}

#[test]
fn a_diagonal_written_entry_by_entry() {
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \operatorname{relu}(\mathbf{x}) = \operatorname{diag}\left(\begin{cases} 1 & x_i > 0 \\ 0 & x_i \le 0\end{cases}\right)",
    );
    fail(
        r"\frac{\partial}{\partial \mathbf{x}} \operatorname{relu}(\mathbf{x}) = \operatorname{diag}\left(\begin{cases} 0 & x_i > 0 \\ 1 & x_i \le 0\end{cases}\right)",
        "value",
        None,
    );
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \operatorname{relu}(\mathbf{x}) = \operatorname{diag}(\mathbb{1}[x_i > 0])",
    );
    pass(r"\frac{\partial}{\partial \mathbf{x}} \exp(\mathbf{x}) = \operatorname{diag}(e^{x_i})");
    fail(
        r"\frac{\partial}{\partial \mathbf{x}} \exp(\mathbf{x}) = \operatorname{diag}(x_i e^{x_i})",
        "value",
        None,
    );
}

#[test]
fn more_notation_variants() {
    pass(
        r"\frac{\partial}{\partial \boldsymbol x} \boldsymbol x^\mathsf{T} \boldsymbol x = 2\boldsymbol x^\mathsf{T}",
    );
    fail(
        r"\frac{\partial}{\partial \boldsymbol x} \boldsymbol x^\mathsf{T} \boldsymbol x = 2\boldsymbol x",
        "shape",
        None,
    );
    pass(r"\nabla_\mathbf{x} \mathbf{a}^\top\mathbf{x} = \mathbf{a}");
    pass(r"\frac{\textrm{d}}{\textrm{d}x} x^2 = 2x");
    fail(r"\frac{\textrm{d}}{\textrm{d}x} x^2 = x", "value", None);
    // a prime after a vector or a matrix is a transpose
    pass(r"\frac{\partial}{\partial \mathbf{x}} \mathbf{x}' A \mathbf{x} = \mathbf{x}'(A + A')");
    fail(
        r"\frac{\partial}{\partial \mathbf{x}} \mathbf{x}' A \mathbf{x} = 2\mathbf{x}'A",
        "value",
        Some("symmetric"),
    );
    pass(r"\frac{\partial}{\partial \mathbf{x}}\mathbf{a}^\prime\mathbf{x} = \mathbf{a}^\prime");
    skip(r"\frac{d}{dt}\mathbf{r}(t) = \mathbf{r}'(t)", "abstract");
    // the shape stated after the result
    pass(
        r"\frac{\partial}{\partial \mathbf{x}}\,\mathbf{x}^\top\mathbf{x} = 2\mathbf{x}^\top \in \mathbb{R}^{1\times n}",
    );
    fail(
        r"\frac{\partial}{\partial \mathbf{x}}\,\mathbf{x}^\top\mathbf{x} = \mathbf{x}^\top \in \mathbb{R}^{1\times n}",
        "value",
        None,
    );
}

#[test]
fn a_later_paragraph_does_not_redefine_an_identity() {
    let st = |text: &str| -> Vec<Status> {
        run_note(text, &Settings::default())
            .into_iter()
            .map(|(_, _, v)| v.status())
            .collect()
    };
    // a worked example two paragraphs on fixes A and x at a point: the identity
    // above it stays general (and checked)
    let note = "For any square $A$:\n\n\
        $$\\frac{\\partial}{\\partial \\mathbf{x}}(\\mathbf{x}^T A \\mathbf{x}) = \\mathbf{x}^T(A + A^T)$$\n\n\
        Example. With $A = \\begin{bmatrix} 0 & 1 \\\\ 0 & 0 \\end{bmatrix}$ at $\\mathbf{x} = (1, 0)^T$ the row is $[0, 1]$.\n";
    assert_eq!(st(note), [Status::Pass]);
    // a `where` paragraph right after a display identity reads on from it
    let note = "$$\\frac{\\partial \\hat{y}}{\\partial \\mathbf{w}} = \\hat{y}(1-\\hat{y})\\,\\mathbf{x}^\\top$$\n\n\
        where $\\hat{y} = \\sigma(\\mathbf{w}^\\top\\mathbf{x})$.\n";
    assert_eq!(st(note), [Status::Pass]);
    // a definition under a new heading does not
    let note = "$$\\frac{\\partial \\hat{y}}{\\partial \\mathbf{w}} = \\hat{y}(1-\\hat{y})\\,\\mathbf{x}^\\top$$\n\n\
        ## Next\n\nwhere $\\hat{y} = \\sigma(\\mathbf{w}^\\top\\mathbf{x})$.\n";
    assert_eq!(st(note), [Status::Skip]);
}

#[test]
fn definitions_right_after_the_identity() {
    use Status::{Fail, Pass};
    // in the same span, after `where`
    assert_eq!(
        statuses(&[r"\frac{\partial f}{\partial x} = 2x \text{ where } f = x^2"]),
        [Pass]
    );
    assert_eq!(
        statuses(&[r"\frac{\partial f}{\partial x} = x \text{ where } f = x^2"]),
        [Fail]
    );
    // in the next span
    assert_eq!(
        statuses(&[
            r"\frac{\partial \hat{y}}{\partial \mathbf{w}} = \hat{y}(1-\hat{y})\,\mathbf{x}^\top",
            r"\hat{y} = \sigma(\mathbf{w}^\top\mathbf{x})",
        ]),
        [Pass]
    );
    assert_eq!(
        statuses(&[
            r"\frac{\partial \hat{y}}{\partial \mathbf{w}} = \hat{y}(1-\hat{y})\,\mathbf{x}",
            r"\hat{y} = \sigma(\mathbf{w}^\top\mathbf{x})",
        ]),
        [Fail]
    );
    // a symbol the identity used as a constant until then
    assert_eq!(
        statuses(&[
            r"\frac{\partial}{\partial \mathbf{w}}\sigma(z) = \sigma(z)(1 - \sigma(z))\,\mathbf{x}^\top",
            r"z = \mathbf{w}^\top\mathbf{x} + b",
        ]),
        [Pass]
    );
    // only up to the next identity
    assert_eq!(
        statuses(&[
            r"\frac{\partial \hat{y}}{\partial \mathbf{w}} = \mathbf{x}^\top",
            r"\frac{d}{dx} x^2 = 2x",
            r"\hat{y} = \mathbf{w}^\top\mathbf{x}",
        ]),
        [Status::Skip, Pass]
    );
}

#[test]
fn a_transposed_plain_letter_is_a_vector() {
    pass(r"\frac{\partial}{\partial x} x^T x = 2x^T");
    fail(
        r"\frac{\partial}{\partial x} x^T x = 2x",
        "shape",
        Some("layout"),
    );
    pass(r"\frac{\partial}{\partial x} x^T A x = x^T(A + A^T)");
    // declared a vector, too
    let r = run_notes(
        &[
            r"x \in \mathbb{R}^n",
            r"\frac{\partial}{\partial x} \|x\|^2 = 2x",
        ],
        &[],
    );
    assert_eq!(r[0].1.status(), Status::Fail, "{r:#?}");
    assert_eq!(r[0].1.kind(), Some("shape"), "{r:#?}");
    // a plain letter without such a hint is a scalar
    pass(r"\frac{\partial}{\partial x} x^2 = 2x");
}

#[test]
fn primes_on_functions_defined_in_the_note() {
    use Status::{Fail, Pass, Skip};
    assert_eq!(
        statuses(&[
            r"f(x) = x^2\sin x",
            r"f'(x) = 2x\sin x + x^2\cos x",
            r"f'(x) = 2x\cos x",
            r"f''(x) = 2\sin x + 4x\cos x - x^2\sin x",
            r"f^{\prime}(t) = 2t\sin t + t^2\cos t",
            r"activation(z) = \max(0, z)",
            r"activation'(z) = \begin{cases} 0 & z < 0 \\ 1 & z > 0 \end{cases}",
            r"activation'(z) = \begin{cases} 1 & z < 0 \\ 0 & z > 0 \end{cases}",
        ]),
        [Pass, Fail, Pass, Pass, Pass, Fail]
    );
    // undefined functions stay abstract
    assert_eq!(
        statuses(&[r"\frac{\partial}{\partial x} f(g(x)) = f'(g(x))\,g'(x)"]),
        [Skip]
    );
    // a power of a defined function is no derivative (and no identity)
    assert_eq!(statuses(&[r"g(x) = x^2", r"h(x) = g^{2}(x)"]), []);
}

#[test]
fn evaluation_bars() {
    pass(r"\frac{d}{dx}\,\sin x\,\Big|_{x=0} = 1");
    fail(r"\frac{d}{dx}\,\sin x\,\Big|_{x=0} = 0", "value", None);
    pass(r"\left.\frac{d}{dx} x^3\right|_{x=2} = 12");
    fail(r"\left.\frac{d}{dx} x^3\right|_{x=2} = 8", "value", None);
    pass(r"\frac{d}{dt} e^{at}\Big\vert_{t=0} = a");
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \|\mathbf{x} - \mathbf{a}\|^2 \Big|_{\mathbf{x}=\mathbf{0}} = -2\mathbf{a}^\top",
    );
    fail(
        r"\frac{\partial}{\partial \mathbf{x}} \|\mathbf{x} - \mathbf{a}\|^2 \Big|_{\mathbf{x}=\mathbf{0}} = 2\mathbf{a}^\top",
        "value",
        Some("sign"),
    );
    skip(r"\frac{d}{dx} x^2 \Big|_{x=a+b} = 2(a+b)", "unsupported");
}

#[test]
fn a_function_named_bare_has_its_parameters_as_variables() {
    use Status::{Fail, Pass};
    // `y` defined earlier does not reach into `F(x, y)`'s identities
    assert_eq!(
        statuses(&[
            r"y = \ln(\cos x)",
            r"F(x, y) = x^2 y + \sin(xy)",
            r"\frac{\partial F}{\partial x} = 2xy + y\cos(xy)",
            r"\frac{\partial F}{\partial x} = 2xy + x\cos(xy)",
            r"\frac{\partial F}{\partial y} = x^2 + x\cos(xy)",
        ]),
        [Pass, Fail, Pass]
    );
}

#[test]
fn entries_of_a_vector_in_a_definition() {
    use Status::{Fail, Pass};
    // `s_k` in the definition of `\ell` is entry k of the defined vector `s`
    assert_eq!(
        statuses(&[
            r"\mathbf{s} = \operatorname{softmax}(\mathbf{z})",
            r"\ell = -\log s_k",
            r"\frac{\partial \ell}{\partial \mathbf{z}} = (\mathbf{s} - \mathbf{e}_k)^\top",
            r"\frac{\partial \ell}{\partial \mathbf{z}} = (\mathbf{e}_k - \mathbf{s})^\top",
        ]),
        [Pass, Fail]
    );
}

#[test]
fn the_latest_definition_of_a_name_is_in_force() {
    use Status::{Fail, Pass};
    assert_eq!(
        statuses(&[
            r"J = x^2",
            r"J(x) = x^3",
            r"\frac{dJ}{dx} = 3x^2",
            r"\frac{dJ}{dx} = 2x",
        ]),
        [Pass, Fail]
    );
    assert_eq!(
        statuses(&[
            r"g(x) = x^3",
            r"g = x^2",
            r"\frac{dg}{dx} = 2x",
            r"\frac{dg}{dx} = 3x^2",
        ]),
        [Pass, Fail]
    );
}

#[test]
fn a_standing_condition_holds_for_the_rest_of_the_note() {
    use Status::{Fail, Pass};
    // `0 < \alpha < 1` restricts the later identities in `\alpha` (without it, a
    // slope above 1 breaks the first)
    assert_eq!(
        statuses(&[
            r"0 < \alpha < 1",
            r"\frac{d}{dx}\max(\alpha x, x) = \begin{cases} 1 & x > 0 \\ \alpha & x < 0\end{cases}",
            r"\frac{d}{dx}\max(\alpha x, x) = \begin{cases} \alpha & x > 0 \\ 1 & x < 0\end{cases}",
        ]),
        [Pass, Fail]
    );
    // one about other symbols does not touch an identity
    assert_eq!(
        statuses(&[r"t < -5", r"\frac{d}{dx} x^2 = 2x", r"\frac{d}{dx} x^2 = x"]),
        [Pass, Fail]
    );
}

#[test]
fn cases_inside_a_derivative_are_sampled_per_branch() {
    pass(r"\frac{d}{dx}\begin{cases} x^2 & x \ge 0 \\ -x^2 & x < 0\end{cases} = 2|x|");
    fail(
        r"\frac{d}{dx}\begin{cases} x^2 & x \ge 0 \\ -x^2 & x < 0\end{cases} = 2x",
        "value",
        None,
    );
    assert_eq!(
        statuses(&[
            r"h(r) = \begin{cases} \frac12 r^2 & |r| \le 1 \\ |r| - \frac12 & \text{otherwise}\end{cases}",
            r"h'(r) = \begin{cases} r & |r| \le 1 \\ \operatorname{sign}(r) & \text{otherwise}\end{cases}",
            r"h'(r) = \begin{cases} r & |r| \le 1 \\ 1 & \text{otherwise}\end{cases}",
        ]),
        [Status::Pass, Status::Fail]
    );
}

#[test]
fn a_derivative_by_an_intermediate_quantity() {
    use Status::{Fail, Pass, Skip};
    // `L` is written in `X\mathbf{w}`, which the note named `\hat{\mathbf{y}}`
    assert_eq!(
        statuses(&[
            r"\hat{\mathbf{y}} = X\mathbf{w}",
            r"L = \frac12\|X\mathbf{w} - \mathbf{y}\|^2",
            r"\frac{\partial L}{\partial \hat{\mathbf{y}}} = (\hat{\mathbf{y}} - \mathbf{y})^\top",
            r"\frac{\partial L}{\partial \hat{\mathbf{y}}} = (\mathbf{y} - \hat{\mathbf{y}})^\top",
            r"\frac{\partial L}{\partial \mathbf{w}} = \frac{\partial L}{\partial \hat{\mathbf{y}}}\frac{\partial \hat{\mathbf{y}}}{\partial \mathbf{w}} = (\hat{\mathbf{y}} - \mathbf{y})^\top X",
            r"M = \mathbf{w}^\top X^\top X\mathbf{w}",
            r"\frac{\partial M}{\partial \hat{\mathbf{y}}} = 2\hat{\mathbf{y}}^\top",
        ]),
        [Pass, Fail, Pass, Skip]
    );
}

#[test]
fn any_one_letter_index_of_a_vector() {
    use Status::{Fail, Pass};
    // `p_c` (a class index) next to the vector `\mathbf{p}`: its entry c, for every c
    assert_eq!(
        statuses(&[
            r"\mathbf{p} = \operatorname{softmax}(\mathbf{z})",
            r"L = -\log p_c",
            r"\nabla_{\mathbf{z}} L = \mathbf{p} - \mathbf{e}_c",
            r"\nabla_{\mathbf{z}} L = \mathbf{e}_c - \mathbf{p}",
        ]),
        [Pass, Fail]
    );
}

#[test]
fn a_greek_function_primed() {
    use Status::{Fail, Pass};
    assert_eq!(
        statuses(&[
            r"\phi(x) = \frac{1}{\sqrt{2\pi}}e^{-x^2/2}",
            r"\phi'(x) = -x\,\phi(x)",
            r"\phi'(x) = x\,\phi(x)",
            r"\phi''(x) = (x^2 - 1)\,\phi(x)",
        ]),
        [Pass, Fail, Pass]
    );
}

#[test]
fn a_cases_condition_over_a_sum_index_holds_for_every_index() {
    use Status::{Fail, Pass};
    // the ReLU neuron's loss: a branch condition on `w . x_i + b` with i bound only
    // by the sum in the branches holds for every i; `x_i` next to `\mathbf{x}_i`
    // is the i-th vector
    let c = r"C(\mathbf{w}, b, X, \mathbf{y}) =\frac{1}{N}\sum_{i=1}^N(y_{i} - max(0, \mathbf{w \cdot \mathbf{x}_{i}+b}))^2";
    assert_eq!(
        statuses(&[
            c,
            r"\frac{ \partial C }{ \partial \mathbf{w} } = \begin{cases} \vec{0}^T & \mathbf{w \cdot x_{i} +b \le 0} \\ \frac{2}{N}\sum_{i=1}^{N} (\mathbf{w}\cdot x_{i}+b-y_{i})\mathbf{x}_{i}^T & \mathbf{w} \cdot x_{i} + b > 0 \end{cases}",
            r"\frac{ \partial C }{ \partial \mathbf{w} } = \begin{cases} \vec{0}^T & \mathbf{w \cdot x_{i} +b \le 0} \\ \frac{1}{N}\sum_{i=1}^{N} (\mathbf{w}\cdot x_{i}+b-y_{i})\mathbf{x}_{i}^T & \mathbf{w} \cdot x_{i} + b > 0 \end{cases}",
            r"\frac{ \partial C }{ \partial \mathbf{w} } = \begin{cases} \vec{1}^T & \mathbf{w \cdot x_{i} +b \le 0} \\ \frac{2}{N}\sum_{i=1}^{N} (\mathbf{w}\cdot x_{i}+b-y_{i})\mathbf{x}_{i}^T & \mathbf{w} \cdot x_{i} + b > 0 \end{cases}",
            r"\frac{ \partial C }{ \partial b } = \begin{cases} 0 & \mathbf{w} \cdot \mathbf{x}_{i} +b \le 0 \\ \frac{2}{N}\sum_{i=1}^{N} (\mathbf{w}\cdot \mathbf{x}_{i}+b-y_{i}) & \mathbf{w} \cdot \mathbf{x}_{i} + b > 0 \end{cases}",
            // `otherwise` is "not every i": the sum formula is wrong where signs mix
            r"\frac{ \partial C }{ \partial b } = \begin{cases} 0 & \mathbf{w} \cdot \mathbf{x}_{i} +b < 0 \\ \frac{2}{N}\sum_{i=1}^{N} (\mathbf{w}\cdot \mathbf{x}_{i}+b-y_{i}) & \text{otherwise} \end{cases}",
            // without the condition the active-branch formula is false
            r"\frac{ \partial C }{ \partial \mathbf{w} } = \frac{2}{N}\sum_{i=1}^{N} (\mathbf{w}\cdot x_{i}+b-y_{i})\mathbf{x}_{i}^T",
        ]),
        [Pass, Fail, Fail, Pass, Fail, Fail]
    );
}

#[test]
fn products_and_erf() {
    pass(
        r"\frac{\partial}{\partial \mathbf{x}}\prod_{i=1}^n x_i = \left(\prod_{i=1}^n x_i\right)(\mathbf{1}\oslash\mathbf{x})^{\mathsf{T}}",
    );
    fail(
        r"\frac{\partial}{\partial \mathbf{x}}\prod_{i=1}^n x_i = \left(\prod_{i=1}^n x_i\right)\mathbf{x}^{\mathsf{T}}",
        "value",
        None,
    );
    // a bare index in the body is its value
    pass(r"\frac{d}{dx} \prod_{k=1}^{3} (x + k) = 3x^2 + 12x + 11");
    fail(
        r"\frac{d}{dx} \prod_{k=1}^{3} (x + k) = 3x^2 + 12x + 12",
        "value",
        None,
    );
    pass(r"\frac{d}{dx}\sum_{k=0}^{2} k x^k = 1 + 4x");
    fail(r"\frac{d}{dx}\sum_{k=0}^{2} k x^k = 4x", "value", None);
    pass(r"\frac{d}{dx}\operatorname{erf}(x) = \frac{2}{\sqrt{\pi}} e^{-x^2}");
    fail(
        r"\frac{d}{dx}\operatorname{erf}(x) = \frac{1}{\sqrt{\pi}} e^{-x^2}",
        "value",
        None,
    );
    pass(r"\frac{d}{dx} x\,\mathrm{erf}(x) = \mathrm{erf}(x) + \frac{2x}{\sqrt{\pi}} e^{-x^2}");
    fail(
        r"\frac{d}{dx} x\,\mathrm{erf}(x) = \frac{2x}{\sqrt{\pi}} e^{-x^2}",
        "value",
        None,
    );
}

#[test]
fn chain_rule_in_the_wrong_order_is_a_shape_failure() {
    use Status::{Fail, Pass, Skip};
    let r = run_notes(
        &[
            r"\mathbf{u} = A\mathbf{x}",
            r"q = \mathbf{u}^{\mathsf{T}}\mathbf{u}",
            r"\frac{\partial q}{\partial \mathbf{x}} = \frac{\partial \mathbf{u}}{\partial \mathbf{x}}\frac{\partial q}{\partial \mathbf{u}}",
            r"\frac{\partial q}{\partial \mathbf{x}} = \frac{\partial q}{\partial \mathbf{u}}\frac{\partial \mathbf{u}}{\partial \mathbf{x}}",
            // abstract factors are not judged
            r"\frac{\partial p}{\partial \mathbf{x}} = \frac{\partial \mathbf{v}}{\partial \mathbf{x}}\frac{\partial p}{\partial \mathbf{v}}",
        ],
        &[],
    );
    let st: Vec<Status> = r.iter().map(|(_, v)| v.status()).collect();
    assert_eq!(st, [Fail, Pass, Skip], "{r:#?}");
    assert_eq!(r[0].1.kind(), Some("shape"));
    assert!(r[0].1.hint.as_deref().is_some_and(|h| h.contains("order")));
}

#[test]
fn subscript_partials_of_a_defined_function() {
    use Status::{Fail, Pass};
    assert_eq!(
        statuses(&[
            r"f(x, y) = x^2 y + \sin(y)",
            r"f_x = 2xy",
            r"f_x = 2x",
            r"f_{xy} = 2x",
            r"f_{xy} = 2y",
            r"\partial_{xy} f = 2x",
            r"\partial_{xy} f = 2xy",
            r"f_{yy} = -\sin(y)",
        ]),
        [Pass, Fail, Pass, Fail, Pass, Fail, Pass]
    );
    // index letters are index notation, not variables
    skip(r"\partial_{ij} f = H_{ij}", "unsupported");
}

#[test]
fn the_derivative_of_a_constant_is_zero() {
    pass(r"\frac{\partial a}{\partial x} = 0");
    pass(r"\frac{\partial}{\partial \mathbf{x}}\,\mathbf{a} = \mathbf{0}");
    // not a zero: still an abstract quantity
    skip(r"\frac{\partial a}{\partial x} = 1", "abstract");
    // letters that name functions or dependent quantities stay abstract
    skip(r"\frac{\partial g}{\partial x} = 0", "abstract");
    skip(r"\frac{dy}{dx} = 0", "abstract");
    skip(r"\frac{d\mathbf{x}}{dt} = \mathbf{0}", "abstract");
    pass(r"\frac{\partial \lambda}{\partial \mathbf{w}} = \mathbf{0}^T");
    // a defined symbol is substituted as before
    assert_eq!(
        statuses(&[r"a = x^2", r"\frac{\partial a}{\partial x} = 0"]),
        [Status::Fail]
    );
}

#[test]
fn derivatives_by_vec_with_kronecker_products() {
    use Status::{Fail, Pass, Skip};
    let k = [("otimes", "kronecker")];
    let st = |spans: &[&str], front: &[(&str, &str)]| -> Vec<Status> {
        run_notes(spans, front)
            .into_iter()
            .map(|(_, v)| v.status())
            .collect()
    };
    assert_eq!(
        st(
            &[
                r"\frac{\partial\,\operatorname{vec}(AXB)}{\partial\,\operatorname{vec}(X)} = B^\top \otimes A",
                r"\frac{\partial\,\operatorname{vec}(AXB)}{\partial\,\operatorname{vec}(X)} = A \otimes B^\top",
                r"\frac{\partial \operatorname{vec}(XB)}{\partial \operatorname{vec}(X)} = B^T \otimes I",
                r"\frac{\partial \operatorname{vec}(XB)}{\partial \operatorname{vec}(X)} = B \otimes I",
                r"\frac{\partial \operatorname{vec}(X^2)}{\partial \operatorname{vec}(X)} = I \otimes X + X^T \otimes I",
                r"\frac{\partial \operatorname{vec}(X^2)}{\partial \operatorname{vec}(X)} = 2 I \otimes X",
                r"\frac{\partial \operatorname{tr}(AX)}{\partial \operatorname{vec}(X)} = \operatorname{vec}(A^T)^T",
                r"\frac{\partial \operatorname{tr}(AX)}{\partial \operatorname{vec}(X)} = \operatorname{vec}(A)^T",
                // a matrix by vec(X), or a vector by X itself: not a matrix
                r"\frac{\partial \operatorname{vec}(AX)}{\partial X} = I \otimes A",
            ],
            &k,
        ),
        [Pass, Fail, Pass, Fail, Pass, Fail, Pass, Fail, Skip]
    );
    // denominator layout: the transpose
    assert_eq!(
        st(
            &[
                r"\frac{\partial \operatorname{vec}(AX)}{\partial \operatorname{vec}(X)} = I \otimes A^T",
                r"\frac{\partial \operatorname{vec}(AX)}{\partial \operatorname{vec}(X)} = I \otimes A",
            ],
            &[("otimes", "kronecker"), ("layout", "denominator")],
        ),
        [Pass, Fail]
    );
}

#[test]
fn a_restated_branch_is_skipped_only_when_its_condition_makes_it_true() {
    use Status::{Fail, Pass, Skip};
    let c = r"C(\mathbf{w}, b, X, \mathbf{y}) =\frac{1}{N}\sum_{i=1}^N(y_{i} - max(0, \mathbf{w \cdot \mathbf{x}_{i}+b}))^2";
    let cases = r"\frac{ \partial C }{ \partial \mathbf{w} } = \begin{cases} \vec{0}^T & \mathbf{w \cdot x_{i} +b \le 0} \\ \frac{2}{N}\sum_{i=1}^{N} (\mathbf{w}\cdot x_{i}+b-y_{i})\mathbf{x}_{i}^T & \mathbf{w} \cdot x_{i} + b > 0 \end{cases}";
    // `e_i = ... \implies` the active branch again, without its condition
    assert_eq!(
        statuses(&[
            c,
            cases,
            r"e_{i} = \mathbf{w} \cdot x_{i} +b -y_{i} \implies \frac{ \partial C }{ \partial \mathbf{w} } = \frac{2}{N}\sum_{i=1}^{N}e_{i}\mathbf{x}_{i}^T",
        ]),
        [Pass, Skip]
    );
    // wrong under every branch: a failure
    assert_eq!(
        statuses(&[
            c,
            cases,
            r"e_{i} = \mathbf{w} \cdot x_{i} +b -y_{i} \implies \frac{ \partial C }{ \partial \mathbf{w} } = \frac{1}{N}\sum_{i=1}^{N}e_{i}\mathbf{x}_{i}^T",
        ]),
        [Pass, Fail]
    );
    // not right after a `cases` with that left side: a failure
    assert_eq!(
        statuses(&[
            c,
            r"\frac{ \partial C }{ \partial \mathbf{w} } = \frac{2}{N}\sum_{i=1}^{N} (\mathbf{w}\cdot x_{i}+b-y_{i})\mathbf{x}_{i}^T",
        ]),
        [Fail]
    );
    // the scalar ReLU: `= 1` right after its `cases`
    assert_eq!(
        statuses(&[
            r"\frac{d}{dx}\max(0, x) = \begin{cases} 0 & x < 0 \\ 1 & x > 0 \end{cases}",
            r"\frac{d}{dx}\max(0, x) = 1",
            r"\frac{d}{dx}\max(0, x) = 2",
        ]),
        [Pass, Skip, Fail]
    );
}

#[test]
fn sum_index_as_a_number() {
    // the index written outside a subscript takes the values of the sum's range
    pass(
        r"\frac{d}{dr}\sum_{t=1}^{n}\frac{c}{(1+r)^t} = -\sum_{t=1}^{n}\frac{t\,c}{(1+r)^{t+1}}, \quad r > 0",
    );
    fail(
        r"\frac{d}{dr}\sum_{t=1}^{n}\frac{c}{(1+r)^t} = -\sum_{t=1}^{n}\frac{c}{(1+r)^{t+1}}, \quad r > 0",
        "value",
        None,
    );
    pass(r"\frac{d}{dr}\sum_{t=1}^{3} r^t = 1 + 2r + 3r^2");
    fail(
        r"\frac{d}{dr}\sum_{t=1}^{3} r^t = 1 + r + r^2",
        "value",
        None,
    );
    pass(r"\frac{d}{dr}\sum_{t=1}^{n} t\,r = \frac{n(n+1)}{2}");
    fail(
        r"\frac{d}{dr}\sum_{t=1}^{n} t\,r = \frac{n(n-1)}{2}",
        "value",
        None,
    );
}

#[test]
fn declared_dimension_as_a_value() {
    // `n` names the length of the declared vector: its value is that length
    let st = |r: &[(Finding, Verdict)]| r.iter().map(|x| x.1.status()).collect::<Vec<_>>();
    let r = run_notes(
        &[
            r"\mathbf{v} \in \mathbb{R}^n",
            r"\bar{v} = \frac{1}{n}\mathbf{1}^\top\mathbf{v}",
            r"\frac{\partial}{\partial \mathbf{v}}\,\frac{1}{n}\left\|\mathbf{v} - \bar{v}\,\mathbf{1}\right\|^2 = \frac{2}{n}\left(\mathbf{v} - \bar{v}\,\mathbf{1}\right)^\top",
            r"\frac{\partial}{\partial \mathbf{v}}\,\frac{1}{n}\left\|\mathbf{v} - \bar{v}\,\mathbf{1}\right\|^2 = \frac{1}{n}\left(\mathbf{v} - \bar{v}\,\mathbf{1}\right)^\top",
        ],
        &[],
    );
    assert_eq!(st(&r), [Status::Pass, Status::Fail], "{r:#?}");
    let r = run_notes(
        &[
            r"X \in \mathbb{R}^{n \times n}",
            r"\frac{\partial}{\partial X}\det(2X) = 2^n\det(X)X^{-1}",
            r"\frac{\partial}{\partial X}\det(2X) = 2^{n-1}\det(X)X^{-1}",
        ],
        &[],
    );
    assert_eq!(st(&r), [Status::Pass, Status::Fail], "{r:#?}");
}

#[test]
fn prime_after_parenthesis_is_a_transpose() {
    pass(
        r"\frac{\partial}{\partial \mathbf{b}}\left[(\mathbf{y} - X\mathbf{b})'(\mathbf{y} - X\mathbf{b})\right] = -2(\mathbf{y} - X\mathbf{b})'X",
    );
    fail(
        r"\frac{\partial}{\partial \mathbf{b}}\left[(\mathbf{y} - X\mathbf{b})'(\mathbf{y} - X\mathbf{b})\right] = -(\mathbf{y} - X\mathbf{b})'X",
        "value",
        None,
    );
    // a prime after a parenthesised scalar expression is still a derivative
    let v = one(r"\frac{d}{dx}(u v) = (u v)'");
    assert_eq!(v.status(), Status::Skip, "{v:#?}");
}

#[test]
fn dotted_symbol_is_a_variable() {
    let st = |r: &[(Finding, Verdict)]| r.iter().map(|x| x.1.status()).collect::<Vec<_>>();
    let r = run_notes(
        &[
            r"L = \frac{1}{2}m\dot{q}^2 - \frac{1}{2}kq^2",
            r"\frac{\partial L}{\partial \dot{q}} = m\dot{q}",
            r"\frac{\partial L}{\partial \dot{q}} = \frac{1}{2}m\dot{q}",
            r"\frac{\partial L}{\partial q} = -kq",
            r"\frac{\partial L}{\partial q} = -kq + m\dot q",
        ],
        &[],
    );
    assert_eq!(
        st(&r),
        [Status::Pass, Status::Fail, Status::Pass, Status::Fail],
        "{r:#?}"
    );
    // next to a derivative by the time, the dot is q's time derivative: not checked
    let v = one(r"\frac{d}{dt}(q^2) = 2q\dot{q}");
    assert_eq!(v.status(), Status::Skip, "{v:#?}");
}

#[test]
fn uppercase_scalar_when_no_matrix_reading() {
    let st = |r: &[(Finding, Verdict)]| r.iter().map(|x| x.1.status()).collect::<Vec<_>>();
    let r = run_notes(
        &[
            r"P = \frac{nRT}{V}",
            r"\frac{\partial P}{\partial T} = \frac{nR}{V}",
            r"\frac{\partial P}{\partial T} = \frac{nRT}{V}",
            r"\frac{\partial}{\partial T}\left(C\ln T\right) = \frac{C}{T}",
            r"\frac{\partial}{\partial T}\left(C\ln T\right) = C\ln T",
        ],
        &[],
    );
    assert_eq!(
        st(&r),
        [Status::Pass, Status::Fail, Status::Pass, Status::Fail],
        "{r:#?}"
    );
    let r = run_notes(
        &[
            r"G = \frac{1}{\sqrt{4\pi D t}}\,e^{-x^2/(4Dt)}",
            r"D > 0",
            r"t > 0",
            r"\frac{\partial G}{\partial t} = D\,\frac{\partial^2 G}{\partial x^2}",
            r"\frac{\partial G}{\partial x} = -\frac{x}{2Dt}\,G",
            r"\frac{\partial G}{\partial x} = -\frac{x}{Dt}\,G",
        ],
        &[],
    );
    assert_eq!(st(&r), [Status::Pass, Status::Pass, Status::Fail], "{r:#?}");
}

#[test]
fn inverse_hyperbolic_functions() {
    pass(r"\frac{d}{dx}\operatorname{arsinh} x = \frac{1}{\sqrt{x^2 + 1}}");
    fail(
        r"\frac{d}{dx}\operatorname{arsinh} x = \frac{1}{\sqrt{x^2 - 1}}",
        "value",
        None,
    );
    pass(r"\frac{d}{dx}\operatorname{arcosh} x = \frac{1}{\sqrt{x^2 - 1}}, \quad x > 1");
    pass(r"\frac{d}{dx}\operatorname{artanh} x = \frac{1}{1 - x^2}, \quad |x| < 1");
    fail(
        r"\frac{d}{dx}\operatorname{artanh} x = \frac{1}{1 + x^2}, \quad |x| < 1",
        "value",
        None,
    );
    pass(r"\frac{d}{dx}\sinh^{-1} x = \frac{1}{\sqrt{x^2 + 1}}");
}

#[test]
fn log_of_left_abs() {
    pass(r"\frac{d}{dx}\ln\left|x\right| = \frac{1}{x}, \quad x \neq 0");
    fail(
        r"\frac{d}{dx}\ln\left|x\right| = \frac{1}{|x|}, \quad x \neq 0",
        "value",
        None,
    );
    pass(r"\frac{d}{dx}\ln\left(x^2\right) = \frac{2}{x}");
}

#[test]
fn inner_product_power() {
    pass(
        r"\frac{\partial}{\partial \mathbf{x}} \langle \mathbf{a}, \mathbf{x}\rangle^2 = 2\langle\mathbf{a},\mathbf{x}\rangle\,\mathbf{a}^T",
    );
    fail(
        r"\frac{\partial}{\partial \mathbf{x}} \langle \mathbf{a}, \mathbf{x}\rangle^2 = 2\langle\mathbf{a},\mathbf{x}\rangle\,\mathbf{x}^T",
        "value",
        None,
    );
}

#[test]
fn nabla_of_the_only_vector() {
    let st = |r: &[(Finding, Verdict)]| r.iter().map(|x| x.1.status()).collect::<Vec<_>>();
    let r = run_notes(
        &[
            r"r = \|\mathbf{x}\|",
            r"\nabla \left(\tfrac{1}{2}k r^2\right) = k\mathbf{x}",
            r"\nabla \left(\tfrac{1}{2}k r^2\right) = \tfrac12 k\mathbf{x}",
            r"\nabla \left(k\,\mathbf{a}^T\mathbf{x}\right) = k\mathbf{a}",
        ],
        &[],
    );
    assert_eq!(st(&r), [Status::Pass, Status::Fail, Status::Skip], "{r:#?}");
}

#[test]
fn held_fixed_subscript() {
    let st = |r: &[(Finding, Verdict)]| r.iter().map(|x| x.1.status()).collect::<Vec<_>>();
    let r = run_notes(
        &[
            r"P = \frac{nRT}{V}",
            r"\left(\frac{\partial P}{\partial T}\right)_V = \frac{nR}{V}",
            r"\left(\frac{\partial P}{\partial T}\right)_V = \frac{nRT}{V}",
            r"\left(\frac{\partial P}{\partial T}\right)_S = \frac{nR}{V}",
        ],
        &[],
    );
    assert_eq!(st(&r), [Status::Pass, Status::Fail, Status::Skip], "{r:#?}");
}

#[test]
fn defined_piecewise_inside_a_branch() {
    let st = |r: &[(Finding, Verdict)]| r.iter().map(|x| x.1.status()).collect::<Vec<_>>();
    let r = run_notes(
        &[
            r"\operatorname{elu}(u) = \begin{cases} u & u > 0 \\ \alpha(e^{u} - 1) & u \le 0 \end{cases}",
            r"\frac{d}{du}\operatorname{elu}(u) = \begin{cases} 1 & u > 0 \\ \operatorname{elu}(u) + \alpha & u \le 0 \end{cases}",
            r"\frac{d}{du}\operatorname{elu}(u) = \begin{cases} 1 & u > 0 \\ \operatorname{elu}(u) - \alpha & u \le 0 \end{cases}",
        ],
        &[],
    );
    assert_eq!(st(&r), [Status::Pass, Status::Fail], "{r:#?}");
}

#[test]
fn defined_function_primed_at_an_expression() {
    let st = |r: &[(Finding, Verdict)]| r.iter().map(|x| x.1.status()).collect::<Vec<_>>();
    let r = run_notes(
        &[
            r"f(x) = x^3\sin x",
            r"g(t) = \frac{t}{t^2 + 4}",
            r"\frac{d}{dx}f(g(x)) = f'(g(x))\,g'(x)",
            r"\frac{d}{dx}f(g(x)) = f'(x)\,g'(x)",
            r"\frac{d}{dx}f(2x) = 2f'(2x)",
            r"\frac{d}{dx}f(2x) = f'(2x)",
            r"\frac{d^2}{dx^2}f(2x) = 4f''(2x)",
            r"\frac{d}{dx}\left(f'(2x)\right) = 2f''(2x)",
            r"\frac{\partial}{\partial \mathbf{x}} \mathbf{1}^T f(W\mathbf{x}) = f'(W\mathbf{x})^T W",
        ],
        &[],
    );
    assert_eq!(
        st(&r),
        [
            Status::Pass,
            Status::Fail,
            Status::Pass,
            Status::Fail,
            Status::Pass,
            Status::Skip,
            Status::Skip
        ],
        "{r:#?}"
    );
}

#[test]
fn superscript_t_as_a_power() {
    pass(r"\frac{d}{dt} 2^t = 2^t \ln 2");
    fail(r"\frac{d}{dt} 2^t = 2^t", "value", None);
    pass(r"\frac{d}{dt} (1 + r)^t = (1 + r)^t \ln(1 + r), \quad r > 0");
    fail(
        r"\frac{d}{dt} (1 + r)^t = t(1 + r)^{t-1}, \quad r > 0",
        "value",
        None,
    );
    // on a vector it stays a transpose
    pass(r"\frac{\partial}{\partial \mathbf{x}} \mathbf{x}^t A \mathbf{x} = \mathbf{x}^t(A + A^t)");
}

#[test]
fn symmetric_said_in_prose_after_an_identity() {
    let text = "- $\\frac{\\partial}{\\partial \\mathbf{x}}\\mathbf{x}^\\top A\\mathbf{x} = 2\\mathbf{x}^\\top A$ for symmetric $A$\n\
- $\\frac{\\partial}{\\partial \\mathbf{x}}\\mathbf{x}^\\top A\\mathbf{x} = 2\\mathbf{x}^\\top A$\n\
- $\\frac{\\partial}{\\partial \\mathbf{x}}\\mathbf{x}^\\top A\\mathbf{x} = \\mathbf{x}^\\top A$ for symmetric $A$\n\
- $\\frac{\\partial}{\\partial X}\\operatorname{tr}(X^\\top C X) = 2X^\\top C$ ($C$ symmetric)\n\
- $\\frac{\\partial}{\\partial X}\\operatorname{tr}(X^\\top C X) = X^\\top C$ ($C$ symmetric)\n\
- $\\frac{\\partial}{\\partial X}\\operatorname{tr}(X^\\top C X) = 2X^\\top C$ (true only for symmetric $C$)\n";
    let r = run_note(text, &Settings::default());
    let st: Vec<Status> = r.iter().map(|x| x.2.status()).collect();
    assert_eq!(
        st,
        [
            Status::Pass,
            Status::Fail,
            Status::Fail,
            Status::Pass,
            Status::Fail,
            Status::Fail
        ],
        "{r:#?}"
    );
}

#[test]
fn uppercase_scalar_fallback_not_for_matrix_formulas() {
    // as matrices these are false (A and B need not commute): never read as scalars
    let v = one(r"\frac{d}{dt} e^{tA}e^{tB} = (A + B)e^{tA}e^{tB}");
    assert_ne!(v.status(), Status::Pass, "{v:#?}");
    let v = one(r"\frac{\partial}{\partial A}\operatorname{tr}(e^{A}B) = e^{A}B");
    assert_ne!(v.status(), Status::Pass, "{v:#?}");
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
    assert_eq!(FUNCS.len(), Func::Min as usize + 1);
}
