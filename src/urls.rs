//! The site's URL namespace: where every file of the site goes.
//!
//! The pages and files notebuild generates (the index, the tag list, the report, the
//! quiz, the static files, the search index) have fixed paths, listed here. Notes, tags
//! and attachments get their paths from their names ([`slug::note_page`],
//! [`slug::tag_page`], the attachment's vault path), in that order of precedence:
//!
//! 1. the generated files, which the templates link at fixed places;
//! 2. note pages, in vault order (what readers link to and bookmark);
//! 3. tag pages;
//! 4. attachments.
//!
//! A name already taken (compared case-insensitively, as some file systems do), or one
//! that would need a taken file as a folder, gets a distinct path (`-1`, `-2`… before
//! its extension) and a warning: nothing the vault holds is ever overwritten or lost.
//! The writer ([`crate::site`]) refuses two files with one path as a last guard.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::diagnostics::{Diagnostic, Severity};
use crate::slug;

/// The home page.
pub const INDEX: &str = "index.html";
/// The list of every tag.
pub const TAGS: &str = "tags.html";
/// The folder of the tag pages.
pub const TAG_DIR: &str = "tags";
/// The identity-check report.
pub const CHECKS: &str = "checks.html";
/// The folder of the quiz pages.
pub const QUIZ_DIR: &str = "quiz";
/// The quiz of every flashcard.
pub const QUIZ_INDEX: &str = "quiz/index.html";
/// The folder of the static files (styles, scripts, fonts, the search index).
pub const STATIC_DIR: &str = "static";
/// The search index, a script.
pub const SEARCH_INDEX: &str = "static/search-index.js";
/// The site's style sheet, the quiz's style and script, the search script.
pub const STYLE: &str = "static/style.css";
pub const QUIZ_STYLE: &str = "static/quiz.css";
pub const QUIZ_SCRIPT: &str = "static/quiz.js";
pub const SEARCH_SCRIPT: &str = "static/search.js";
/// The script placing verdict badges on the rows of aligned blocks.
pub const BADGE_SCRIPT: &str = "static/badges.js";
/// The graph of every note.
pub const GRAPH: &str = "graph.html";
/// The script of the explorer, graphs, link previews, theme and contents, and its data.
pub const NAV_SCRIPT: &str = "static/nav.js";
pub const NAV_DATA: &str = "static/nav-data.js";
pub const PREVIEW_DATA: &str = "static/previews.js";
pub const CARDS_DATA: &str = "static/cards-data.js";

/// The generated files every site has (the math assets and the quiz pages, which vary,
/// are added by the renderer's [`crate::render::generated_paths`]).
pub const FIXED: &[&str] = &[
    INDEX,
    TAGS,
    CHECKS,
    SEARCH_INDEX,
    STYLE,
    QUIZ_STYLE,
    QUIZ_SCRIPT,
    SEARCH_SCRIPT,
    BADGE_SCRIPT,
    GRAPH,
    NAV_SCRIPT,
    NAV_DATA,
    PREVIEW_DATA,
    CARDS_DATA,
];

/// A note as the namespace sees it.
pub struct NoteName<'a> {
    /// Vault path.
    pub path: &'a str,
    /// Only published notes have pages; an unpublished note's path is never written.
    pub published: bool,
}

/// Every path of the site.
#[derive(Debug, Clone, Default)]
pub struct Namespace {
    /// Per note, its page.
    pub notes: Vec<String>,
    /// Per tag (lowercased name, as the graph keys tags), its page.
    pub tags: BTreeMap<String, String>,
    /// Per attachment, where it is copied.
    pub attachments: Vec<String>,
}

/// The paths taken so far (each with what took it, for the warnings), and the folders
/// they need.
#[derive(Default)]
struct Taken {
    files: HashMap<String, String>,
    folders: HashSet<String>,
}

impl Taken {
    /// Whether `path` is free: no file has it, no file's folder is it, and none of its
    /// folders is a file.
    fn free(&self, path: &str) -> bool {
        let key = path.to_lowercase();
        !self.files.contains_key(&key)
            && !self.folders.contains(&key)
            && !folders_of(&key).any(|f| self.files.contains_key(f))
    }

    fn take(&mut self, path: &str, owner: &str) {
        let key = path.to_lowercase();
        for folder in folders_of(&key) {
            if !self.folders.insert(folder.to_string()) {
                break;
            }
        }
        self.files.insert(key, owner.to_string());
    }

    /// What took `path` (or a folder of it, or a file under it).
    fn owner(&self, path: &str) -> String {
        let key = path.to_lowercase();
        self.files
            .get(&key)
            .or_else(|| folders_of(&key).find_map(|f| self.files.get(f)))
            .cloned()
            .unwrap_or_else(|| "files in a folder of that name".to_string())
    }

    /// `wanted` if free, else a free path like it (`stem-N.ext`, and a folder that is a
    /// file renamed the same way); taken either way.
    fn claim(&mut self, wanted: &str, owner: &str) -> String {
        let mut path = wanted.to_string();
        // Outermost first, each folder of the path that is a file is renamed.
        while let Some(end) = folders_of(&path)
            .map(str::len)
            .filter(|&end| self.files.contains_key(&path[..end].to_lowercase()))
            .last()
        {
            let mut n = 1;
            path = loop {
                let folder = numbered(&path[..end], n);
                if !self.files.contains_key(&folder.to_lowercase()) {
                    break format!("{folder}{}", &path[end..]);
                }
                n += 1;
            };
        }
        let base = path.clone();
        let mut n = 1;
        while !self.free(&path) {
            path = numbered(&base, n);
            n += 1;
        }
        self.take(&path, owner);
        path
    }
}

/// `a/b/c.html` → `a/b`, `a` (nearest first).
fn folders_of(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').rev().map(move |(k, _)| &path[..k])
}

/// `a/b.html`, 2 → `a/b-2.html`; `a/b` → `a/b-2`.
fn numbered(path: &str, n: usize) -> String {
    let name_start = path.rfind('/').map_or(0, |k| k + 1);
    match path[name_start..].rfind('.').filter(|&k| k > 0) {
        Some(k) => {
            let dot = name_start + k;
            format!("{}-{n}{}", &path[..dot], &path[dot..])
        }
        None => format!("{path}-{n}"),
    }
}

/// Assigns every path. `generated` lists the generated files (the [`FIXED`] ones and
/// the others); `tags` are `(key, name)` in the graph's order.
pub fn assign(
    generated: &[String],
    notes: &[NoteName],
    tags: &[(&str, &str)],
    attachments: &[String],
) -> (Namespace, Vec<Diagnostic>) {
    let mut taken = Taken::default();
    let mut diagnostics = Vec::new();
    for path in generated {
        taken.take(path, "a page notebuild generates");
    }
    let mut out = Namespace {
        notes: vec![String::new(); notes.len()],
        ..Namespace::default()
    };
    // Published notes first (an unpublished one never takes a name from them), the
    // shortest path first: `Bash.md` keeps `bash.html` before `Bash &.md` asks for it.
    let mut order: Vec<usize> = (0..notes.len()).collect();
    order.sort_by_key(|&i| (!notes[i].published, notes[i].path.len(), notes[i].path));
    for i in order {
        let note = &notes[i];
        let wanted = slug::note_page(note.path);
        let url = if note.published {
            let before = taken.owner(&wanted);
            let url = taken.claim(&wanted, &format!("the note `{}`", note.path));
            if url != wanted {
                diagnostics.push(
                    Diagnostic::whole_file(
                        Severity::Warning,
                        note.path,
                        format!("the note's page `{wanted}` is taken by {before}: its page is `{url}`"),
                    )
                    .with_hint("links to the note lead there; a name of its own gives it the address its name asks for"),
                );
            }
            url
        } else {
            wanted.clone()
        };
        if url == wanted && slug::shortened(note.path) {
            diagnostics.push(
                Diagnostic::whole_file(
                    Severity::Warning,
                    note.path,
                    format!("the note's name is too long for a file name: its page is `{url}`"),
                )
                .with_hint("a shorter name gives the page a readable address"),
            );
        }
        out.notes[i] = url;
    }
    for (key, name) in tags {
        let wanted = slug::tag_page(name);
        let before = taken.owner(&wanted);
        let url = taken.claim(&wanted, &format!("the tag #{name}"));
        if url != wanted {
            diagnostics.push(
                Diagnostic::whole_file(
                    Severity::Warning,
                    "",
                    format!(
                        "the page of the tag #{name}, `{wanted}`, is taken by {before}: the tag's page is `{url}`"
                    ),
                )
                .with_hint("the notes' tags link to it there"),
            );
        }
        out.tags.insert((*key).to_string(), url);
    }
    for path in attachments {
        let before = taken.owner(path);
        let url = taken.claim(path, &format!("the file `{path}`"));
        if url != *path {
            diagnostics.push(
                Diagnostic::whole_file(
                    Severity::Warning,
                    path,
                    format!(
                        "the file's place `{path}` is taken by {before}: it is copied to `{url}`"
                    ),
                )
                .with_hint("embeds and links to the file lead there"),
            );
        }
        out.attachments.push(url);
    }
    (out, diagnostics)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(path: &str) -> NoteName<'_> {
        NoteName {
            path,
            published: true,
        }
    }

    #[test]
    fn generated_pages_first_then_notes_tags_and_files() {
        let generated: Vec<String> = FIXED
            .iter()
            .map(|s| s.to_string())
            .chain([QUIZ_INDEX.to_string()])
            .collect();
        let (ns, d) = assign(
            &generated,
            &[
                note("checks.md"),
                note("quiz/index.md"),
                note("static/x.md"),
                note("tags/foo.md"),
                note("Checks!.md"),
                NoteName {
                    path: "index.md",
                    published: false,
                },
            ],
            &[("foo", "foo"), ("foo-1", "foo-1")],
            &["static/style.css".to_string(), "a.png".to_string()],
        );
        assert_eq!(
            ns.notes,
            [
                "checks-1.html",
                "quiz/index-1.html",
                "static/x.html",
                "tags/foo.html",
                "checks-2.html",
                "index.html",
            ]
        );
        assert_eq!(ns.tags["foo"], "tags/foo-1.html");
        assert_eq!(ns.tags["foo-1"], "tags/foo-1-1.html");
        assert_eq!(ns.attachments, ["static/style-1.css", "a.png"]);
        assert_eq!(d.len(), 6, "{d:?}");
    }

    #[test]
    fn a_file_never_needs_a_taken_file_as_its_folder() {
        let mut taken = Taken::default();
        let mut claim = |path: &str| taken.claim(path, "test");
        assert_eq!(claim("a.html"), "a.html");
        assert_eq!(claim("a.html/b.png"), "a-1.html/b.png");
        assert_eq!(claim("x/y.html"), "x/y.html");
        assert_eq!(claim("x"), "x-1");
        assert_eq!(claim("X/Y.HTML"), "X/Y-1.HTML");
    }
}
