//! The macro expander on any preamble and any formula: no panic, no hang, bounded output.
#![no_main]

use libfuzzer_sys::fuzz_target;
use notebuild::tex::macros::{Macros, max_output};
use notebuild::tex::packages;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The first line is a preamble, the rest three formulas of one note.
    let (preamble, formulas) = text.split_once('\n').unwrap_or(("", text));
    static BASE: std::sync::OnceLock<Macros> = std::sync::OnceLock::new();
    let mut macros = BASE
        .get_or_init(|| {
            let mut base = Macros::builtin();
            if let Some(physics) = packages::package("physics") {
                base.load(physics);
            }
            base
        })
        .clone();
    let _ = macros.read_preamble(preamble, "preamble.sty");
    for formula in formulas.splitn(3, '$') {
        if let Ok(Some(expanded)) = macros.expand(formula) {
            assert!(expanded.tex.len() <= max_output(formula.len()) + 64);
            let _ = expanded.to_source(expanded.tex.len() / 2);
            let _ = expanded.source_range(0..expanded.tex.len());
        }
    }
});
