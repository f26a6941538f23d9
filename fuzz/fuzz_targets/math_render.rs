//! TeX to MathML on any formula: no panic, and the output is math or the escaped source.
#![no_main]

use libfuzzer_sys::fuzz_target;
use notebuild::render::math::{MathMode, render_or_fallback};

/// The math renderer (pulldown-latex) panics on some input; notebuild catches that and
/// shows the formula as written. libFuzzer's hook would abort on the caught panic: keep
/// it for every other panic.
fn tolerate_renderer_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_renderer = info
                .location()
                .is_some_and(|l| l.file().contains("pulldown-latex"));
            if !in_renderer {
                fuzzer_hook(info);
            }
        }));
    });
}

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
