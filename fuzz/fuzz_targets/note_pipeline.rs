//! A note through the markdown front end, the macro expander, extraction and the checker:
//! no panic, no hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;
use common::tolerate_renderer_panics;
use notebuild::check::Settings;
use notebuild::pipeline::{Quiet, check_identities};
use notebuild::tex::macros::Macros;
use notebuild::vault::SourceFile;
use notebuild::{extract, parse};

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
