//! The checker on any formula, inside a small note that gives it a context (a
//! definition, declared matrices, a stated layout): no panic, no hang, no unbounded
//! allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;
use common::tolerate_renderer_panics;
use notebuild::check::Settings;
use notebuild::pipeline::{Quiet, check_identities};
use notebuild::vault::SourceFile;
use notebuild::{extract, parse};

/// What the note says before the formula; the input's first byte picks one.
const CONTEXTS: [&str; 6] = [
    "",
    "Let $f(x) = x^2 \\sin x$ and $g(t) = e^{t}$.\n\n",
    "Let $A, B \\in \\mathbb{R}^{n \\times n}$ and $\\mathbf{x} \\in \\mathbb{R}^n$, with $A$ symmetric.\n\n",
    "---\nlayout: denominator\n---\n\n",
    "Define $\\sigma(z) = \\frac{1}{1 + e^{-z}}$ and $L = \\sum_{i=1}^{n} (y_i - w x_i)^2$.\n\n",
    "1. For $x > 0$:\n\n",
];

fuzz_target!(|data: &[u8]| {
    tolerate_renderer_panics();
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(formula) = std::str::from_utf8(rest) else {
        return;
    };
    let context = CONTEXTS[first as usize % CONTEXTS.len()];
    let note = parse::parse(&SourceFile {
        path: "note.md".to_owned(),
        text: format!("{context}$${formula}$$\n"),
        modified: None,
    });
    let info = extract::extract(&note);
    let settings = Settings {
        trials: 5,
        ..Settings::default()
    };
    let _ = check_identities(&[note], &[info], &settings, &Quiet);
});
