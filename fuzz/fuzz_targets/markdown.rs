//! The markdown front end on any note: parsing, macros, extraction, flashcards, links
//! and the note's HTML page. No panic, no hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;
use common::tolerate_renderer_panics;
use notebuild::extract::cards::{self, CardSettings};
use notebuild::render::html::{Ctx, render_note};
use notebuild::tex::macros::Macros;
use notebuild::vault::SourceFile;
use notebuild::{extract, graph, parse};

fuzz_target!(|data: &[u8]| {
    tolerate_renderer_panics();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // the note, and a second one it may link to or embed
    let files = [
        SourceFile {
            path: "folder/note.md".to_owned(),
            text: text.to_owned(),
            modified: None,
        },
        SourceFile {
            path: "other.md".to_owned(),
            text: "# Other\n\n## Part\n\ntext ^block\n\n#flashcards\nq::a\n".to_owned(),
            modified: None,
        },
    ];
    let macros = Macros::builtin();
    let notes: Vec<_> = files
        .iter()
        .map(|file| {
            let mut note = parse::parse(file);
            parse::macros::expand(&mut note, &macros);
            note
        })
        .collect();
    let infos: Vec<_> = notes.iter().map(extract::extract).collect();
    let settings = CardSettings::default();
    let cards: Vec<_> = notes.iter().map(|n| cards::cards(n, &settings).0).collect();
    let (graph, _) = graph::build(&notes, &infos, &["image.png".to_owned()], &[]);
    let identities = vec![Vec::new(); notes.len()];
    let ctx = Ctx {
        graph: &graph,
        notes: &notes,
        infos: &infos,
        identities: &identities,
        cards: &cards,
        safe_html: data.len() % 2 == 0,
    };
    let _ = render_note(&ctx, 0, "folder/note.html");
});
