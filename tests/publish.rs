//! Publishing real vaults faithfully: titles as Obsidian gives them, one URL per file
//! (no note loses its page to a generated one), tag pages that grow linearly, dates from
//! front matter, math in tables, heading links, badges and the warnings' summary.
//!
//! Each vault is a fixture folder under `tests/fixtures/`, written for these tests in
//! the shapes real vaults have.

#[allow(dead_code)] // each test binary uses a part of the helpers
mod common;

use std::path::{Path, PathBuf};

use common::*;
use tempfile::TempDir;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A build of a fixture and what it wrote; the temporary folder lives as long as this.
struct Built {
    _dir: TempDir,
    run: Run,
    site: Site,
}

fn build_fixture(name: &str, extra: &[&str]) -> Result<Built, Error> {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("site");
    let run = build(dir.path(), &fixture(name), &out, extra)?;
    if !out.is_dir() {
        return Err(fail(format!(
            "no site was written (exit code {:?}); stderr:\n{}",
            run.code, run.stderr
        )));
    }
    let site = Site::read(&out)?;
    Ok(Built {
        _dir: dir,
        run,
        site,
    })
}

/// The vault path a note page says it shows (its "Source:" line).
fn source_of(html: &str) -> Option<String> {
    let start = html.find("<p class=\"note-source\">Source: <code>")?;
    let rest = &html[start + "<p class=\"note-source\">Source: <code>".len()..];
    Some(unescape(&rest[..rest.find("</code>")?]))
}

/// The page (site path) showing each note, by the note's vault path.
fn pages_by_source(site: &Site) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (page, html) in &site.pages {
        if let Some(source) = source_of(html) {
            out.entry(source).or_default().push(page.clone());
        }
    }
    out
}

/// The `<h1 class="note-title">` text of a page.
fn title_of(html: &str) -> Option<String> {
    let start = html.find("<h1 class=\"note-title\">")?;
    let element = element_at(html, start, "h1")?;
    Some(text_of(element).trim().to_string())
}

#[test]
fn no_note_loses_its_page_to_a_generated_one() -> Result<(), Error> {
    let b = build_fixture("namespace", &[])?;
    assert_eq!(b.run.code, Some(0), "{}", b.run.stderr);
    let by_source = pages_by_source(&b.site);
    for note in [
        "checks.md",
        "quiz/index.md",
        "static/x.md",
        "tags/foo.md",
        "home.md",
    ] {
        let pages = by_source.get(note).cloned().unwrap_or_default();
        assert_eq!(pages.len(), 1, "{note}: shown on {pages:?}");
    }
    // The generated pages are where the templates link them.
    assert!(b.site.page("checks.html")?.contains("Identity checks"));
    assert!(b.site.page("quiz/index.html")?.contains("All flashcards"));
    assert!(
        b.site
            .page("tags.html")?
            .contains("<h1 class=\"note-title\">Tags</h1>")
    );
    // The notes named like them have pages of their own.
    assert_eq!(by_source["checks.md"], ["checks-1.html"]);
    assert_eq!(by_source["quiz/index.md"], ["quiz/index-1.html"]);
    assert_eq!(by_source["static/x.md"], ["static/x.html"]);
    assert_eq!(by_source["tags/foo.md"], ["tags/foo.html"]);
    // The tag #foo has its page elsewhere, and the notes' tags link it.
    let tag_page = "tags/foo-1.html";
    assert!(
        b.site.page(tag_page)?.contains("tag-hash"),
        "{tag_page} is not the tag's page"
    );
    let checks_note = b.site.page("checks-1.html")?;
    let tag_links: Vec<String> = links_with_class(checks_note, "checks-1.html", "tag");
    assert!(
        !tag_links.is_empty() && tag_links.iter().all(|t| t == tag_page),
        "{tag_links:?}"
    );
    // The vault's own static/style.css is copied beside notebuild's, not over it.
    let css = std::fs::read_to_string(b._dir.path().join("site/static/style.css"))?;
    assert!(
        !css.contains("color: red"),
        "the site's style sheet was replaced"
    );
    assert!(b.site.has("static/style-1.css"));
    // Every link of the site leads somewhere, and each move was reported.
    assert_eq!(broken_links(&b.site), Vec::<String>::new());
    for moved in ["checks-1.html", "quiz/index-1.html", "tags/foo-1.html"] {
        assert!(
            b.run.stderr.contains(&format!("`{moved}`")),
            "no warning names {moved}:\n{}",
            b.run.stderr
        );
    }
    Ok(())
}

/// The site paths the `<a class="CLASS">` links of `html` (on page `page`) lead to.
fn links_with_class(html: &str, page: &str, class: &str) -> Vec<String> {
    start_tags(html, "a")
        .into_iter()
        .filter(|tag| attribute(tag, "class").is_some_and(|c| c.split(' ').any(|c| c == class)))
        .filter_map(|tag| attribute(tag, "href"))
        .filter_map(|href| resolve_relative(page, &percent_decode(&href)?))
        .collect()
}
