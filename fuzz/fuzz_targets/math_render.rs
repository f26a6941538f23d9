//! TeX to MathML on any formula: no panic, and the output is math or the escaped source.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;
use common::tolerate_renderer_panics;
use notebuild::render::math::{MathMode, render_or_fallback};

fuzz_target!(|data: &[u8]| {
    tolerate_renderer_panics();
    let Ok(tex) = std::str::from_utf8(data) else {
        return;
    };
    for mode in [MathMode::Inline, MathMode::Display] {
        let (html, _) = render_or_fallback(tex, mode);
        assert!(!html.contains("<img") && !html.contains("<script"), "{html}");
    }
});
