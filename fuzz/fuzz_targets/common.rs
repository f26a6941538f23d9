//! What the fuzz targets share.

/// The math renderer (pulldown-latex) panics on some input; notebuild catches that and
/// shows the formula as written. libFuzzer's hook would abort on the caught panic: keep
/// it for every other panic.
pub fn tolerate_renderer_panics() {
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
