//! A note through the markdown front end, the macro expander, extraction and the checker:
//! no panic, no hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use notebuild::check::Settings;
use notebuild::pipeline::{Quiet, check_identities};
use notebuild::tex::macros::Macros;
use notebuild::vault::SourceFile;
use notebuild::{extract, parse};

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
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut note = parse::parse(&SourceFile {
        path: "note.md".to_owned(),
        text: text.to_owned(),
        modified: None,
    });
    parse::macros::expand(&mut note, &Macros::builtin());
    let info = extract::extract(&note);
    let settings = Settings {
        trials: 5,
        ..Settings::default()
    };
    let _ = check_identities(&[note], &[info], &settings, &Quiet);
});
