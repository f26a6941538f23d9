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

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A build of a fixture into a fresh temporary folder.
fn build_fixture(name: &str, extra: &[&str]) -> Result<Built, Error> {
    build_in(tempfile::tempdir()?, &fixture(name), extra)
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

/// The bytes of the tag pages of a vault of `notes` notes each carrying `per_note`
/// tags of their own.
fn tag_pages_bytes(notes: usize, per_note: usize) -> Result<usize, Error> {
    let texts: Vec<(String, String)> = (0..notes)
        .map(|n| {
            let tags: Vec<String> = (0..per_note).map(|k| format!("#t{n}x{k}")).collect();
            (
                format!("n{n}.md"),
                format!("Note {n}. {}\n", tags.join(" ")),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = texts
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let (dir, vault) = temp_vault(&refs)?;
    let out = dir.path().join("site");
    let run = build(dir.path(), &vault, &out, &[])?;
    if run.code != Some(0) {
        return Err(fail(run.stderr));
    }
    let site = Site::read(&out)?;
    let tag_pages: Vec<&String> = site
        .pages
        .keys()
        .filter(|p| p.starts_with("tags/"))
        .collect();
    if tag_pages.len() != notes * per_note {
        return Err(fail(format!("{} tag pages", tag_pages.len())));
    }
    Ok(tag_pages.iter().map(|p| site.pages[p.as_str()].len()).sum())
}

/// Each tag page lists its own notes, not every tag of the vault: ten times the tags,
/// about ten times the bytes (with the whole tag list on each page it was a hundred).
#[test]
fn tag_pages_grow_linearly_with_the_tags() -> Result<(), Error> {
    let small = tag_pages_bytes(20, 5)?;
    let large = tag_pages_bytes(200, 5)?;
    let ratio = large as f64 / small as f64;
    assert!(ratio < 12.0, "{small} bytes for 100 tags, {large} for 1000");
    Ok(())
}

/// The date a note page shows, and its `datetime`, if any.
fn shown_date(html: &str) -> Option<(String, Option<String>)> {
    let start = html.find("<span class=\"note-date\">")?;
    let element = element_at(html, start, "span")?;
    let time = start_tags(element, "time")
        .first()
        .and_then(|t| attribute(t, "datetime"));
    let text = text_of(element).replace("Date:", "");
    Some((text.trim().to_string(), time))
}

#[test]
fn dates_come_from_the_front_matter_keys_people_write() -> Result<(), Error> {
    let b = build_fixture("dates", &[])?;
    let day = Some(("2024-08-05".to_string(), Some("2024-08-05".to_string())));
    for page in [
        "iso.html",
        "created.html",
        "slashes.html",
        "words.html",
        "dayfirst.html",
    ] {
        assert_eq!(shown_date(b.site.page(page)?), day, "{page}");
    }
    // What is no date is shown as written, with a warning, and no machine date.
    assert_eq!(
        shown_date(b.site.page("vague.html")?),
        Some(("sometime in spring".to_string(), None))
    );
    assert!(b.run.stderr.contains("`sometime in spring` is not a date"));
    // A note without a date shows none: never the file's modification time.
    assert_eq!(shown_date(b.site.page("undated.html")?), None);
    Ok(())
}

/// Runs git in `dir` with a fixed author and date.
fn git(dir: &Path, args: &[&str], date: &str) -> Result<(), Error> {
    let status = std::process::Command::new("git")
        .args(["-c", "user.name=T", "-c", "user.email=t@example.org"])
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(fail(format!("git {args:?} failed")))
    }
}

#[test]
fn with_dates_git_a_note_without_a_date_shows_its_last_commit() -> Result<(), Error> {
    let (dir, vault) = temp_vault(&[
        ("notebuild.yaml", "dates: git\n"),
        ("a.md", "First.\n"),
        ("sub/b.md", "---\ndate: 2020-02-02\n---\nDated.\n"),
        ("c.md", "Never committed.\n"),
    ])?;
    git(&vault, &["init", "-q"], "2021-03-04T12:00:00Z")?;
    git(&vault, &["add", "a.md", "sub/b.md"], "2021-03-04T12:00:00Z")?;
    git(
        &vault,
        &["commit", "-q", "-m", "one"],
        "2021-03-04T12:00:00Z",
    )?;
    write(&vault, "a.md", "First, changed.\n")?;
    git(
        &vault,
        &["commit", "-q", "-am", "two"],
        "2022-05-06T12:00:00Z",
    )?;
    let out = dir.path().join("site");
    let run = build(dir.path(), &vault, &out, &[])?;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let site = Site::read(&out)?;
    let date = |d: &str| Some((d.to_string(), Some(d.to_string())));
    assert_eq!(shown_date(site.page("a.html")?), date("2022-05-06"));
    assert_eq!(shown_date(site.page("sub/b.html")?), date("2020-02-02"));
    assert_eq!(shown_date(site.page("c.html")?), None);
    // Without `dates: git`, the history is not read.
    write(&vault, "notebuild.yaml", "title: x\n")?;
    let run = build(dir.path(), &vault, &out, &[])?;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let site = Site::read(&out)?;
    assert_eq!(shown_date(site.page("a.html")?), None);
    // Outside a repository, a warning says why there are no dates.
    let (dir, vault) = temp_vault(&[("notebuild.yaml", "dates: git\n"), ("a.md", "x\n")])?;
    let run = build(dir.path(), &vault, &dir.path().join("site"), &[])?;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("history cannot be read"),
        "{}",
        run.stderr
    );
    Ok(())
}

#[test]
fn warnings_are_capped_per_kind_and_summed_up() -> Result<(), Error> {
    let links: String = (0..15).map(|k| format!("[[missing {k}]]\n")).collect();
    let (dir, vault) = temp_vault(&[("a.md", &links), ("b.md", "$\\frac{$\n")])?;
    let out = dir.path().join("site");
    let shown = |run: &Run| run.stderr.matches("warning: linked note").count();
    let run = build(dir.path(), &vault, &out, &[])?;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(shown(&run), 10, "{}", run.stderr);
    assert!(
        run.stderr.contains("… and 5 more broken links not shown"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("Warnings: 15 broken links in 1 file, 1 formula not rendered in 1 file"),
        "{}",
        run.stderr
    );
    let run = build(dir.path(), &vault, &out, &["--max-warnings", "2"])?;
    assert_eq!(shown(&run), 2, "{}", run.stderr);
    assert!(run.stderr.contains("formula cannot be rendered"));
    let run = build(dir.path(), &vault, &out, &["--strict"])?;
    assert_eq!(run.code, Some(1));
    assert_eq!(shown(&run), 15, "{}", run.stderr);
    assert!(!run.stderr.contains("more broken links not shown"));
    let run = build(dir.path(), &vault, &out, &["--max-warnings", "all"])?;
    assert_eq!(shown(&run), 15, "{}", run.stderr);
    Ok(())
}

#[test]
fn math_in_tables_and_links_to_headings_as_obsidian_reads_them() -> Result<(), Error> {
    let b = build_fixture("tables-headings", &[])?;
    assert_eq!(b.run.code, Some(0), "{}", b.run.stderr);
    // No warning: every link resolves, every formula renders.
    assert!(!b.run.stderr.contains("warning:"), "{}", b.run.stderr);
    let page = b.site.page("derivatives-table.html")?;
    let body = note_content(page)?;
    // The table is a table, four rows of cells; no `$` paired across a `|`.
    let table = elements(body, "<table")
        .into_iter()
        .next()
        .ok_or("no table")?;
    assert_eq!(elements(table, "<tr").len(), 5, "{table}");
    assert!(
        !text_of(&without_elements(table, "math")).contains('|'),
        "{table}"
    );
    // `$\|x\|$` in a cell is |x|; the cells `$x^n $` and `costs $5` are text.
    assert!(
        table.contains("<mo>|</mo>") || table.contains(">|<"),
        "{table}"
    );
    assert!(text_of(table).contains("costs $5"), "{table}");
    // The table of contents holds no link inside its links.
    let toc = elements(page, "<ol class=\"toc-list\"")
        .into_iter()
        .next()
        .ok_or("no table of contents")?;
    for entry in elements(toc, "<a ") {
        assert!(
            !entry[2..].contains("<a "),
            "a link inside a contents entry: {entry}"
        );
    }
    assert!(
        text_of(toc).contains("Chain rule for Compositions"),
        "{toc}"
    );
    // The links to the heading lead to it, as Obsidian writes them; `#` alone opens
    // the note.
    let from = b.site.page("compositions.html")?;
    let targets: Vec<String> =
        links_with_class(note_content(from)?, "compositions.html", "internal-link");
    let heading = "derivatives-table.html#chain-rule-for-compositions";
    assert_eq!(
        targets,
        [heading, "derivatives-table.html", heading],
        "{from}"
    );
    Ok(())
}

#[test]
fn badges_only_where_the_checker_has_something_to_say() -> Result<(), Error> {
    let b = build_fixture("badges", &[])?;
    let page = b.site.page("aligned-derivatives.html")?;
    // Five identities in aligned rows verified or wrong, each badge on its row; the
    // product rule inline (verified with f and g any functions: a badge, no row); a
    // law of physics and a critical point show none.
    let rows: Vec<(String, String)> = start_tags(page, "span")
        .into_iter()
        .filter(|t| attribute(t, "class").is_some_and(|c| c.starts_with("badge ")))
        .map(|t| {
            (
                attribute(t, "data-row").unwrap_or_default(),
                attribute(t, "data-rows").unwrap_or_default(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("0", "3"),
        ("1", "3"),
        ("2", "3"),
        ("", ""),
        ("0", "2"),
        ("1", "2"),
    ]
    .iter()
    .map(|(r, n)| (r.to_string(), n.to_string()))
    .collect();
    assert_eq!(rows, want);
    assert!(page.contains("static/badges.js"));
    // The report still lists the skipped ones, linked to their page (no badge to go to).
    let report = b.site.page("checks.html")?;
    assert!(report.contains("\\frac{d p}{d t} = F"), "{report}");
    assert_eq!(broken_links(&b.site), Vec::<String>::new());
    Ok(())
}

/// The headings (`<h1>`…`<h6>`) in a note's body, as text.
fn body_headings(html: &str) -> Result<Vec<String>, Error> {
    let body = note_content(html)?;
    let mut out = Vec::new();
    for level in 1..=6 {
        for h in elements(body, &format!("<h{level}")) {
            out.push(text_of(h).trim().trim_end_matches('#').trim().to_string());
        }
    }
    Ok(out)
}

#[test]
fn titles_as_obsidian_gives_them() -> Result<(), Error> {
    let b = build_fixture("titles", &[])?;
    for (page, title, headings) in [
        // The file name, whatever heading comes first; the heading stays in the body.
        ("chain-rule.html", "Chain rule", vec!["Todo"]),
        ("divergence.html", "Divergence", vec!["Example"]),
        // An H1 equal to the title is not repeated under it.
        ("sub/gradient.html", "Gradient", vec![]),
        // The front matter's title wins.
        ("sub/x.html", "Custom title", vec!["Other heading"]),
    ] {
        let html = b.site.page(page)?;
        assert_eq!(title_of(html).as_deref(), Some(title), "{page}");
        assert_eq!(body_headings(html)?, headings, "{page}");
    }
    Ok(())
}
