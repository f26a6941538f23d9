//! End-to-end tests of `notebuild build`: real vaults in, the HTML site out.
//!
//! Every test runs the compiled binary in a temporary folder (never in the repository)
//! and reads back what it wrote. Expectations are computed from the vault's files where
//! that is reasonable (which notes are published, their slugs, their links), and are
//! written out by hand where the point is a specific construct.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::*;

/// Pages the site writes for itself (not for a note).
const SITE_PAGES: &[&str] = &["index.html", "tags.html", "checks.html", "graph.html"];

/// Builds `vault` into a fresh temporary folder's `site/`.
fn build_into_temp(vault: &Path, extra: &[&str]) -> Result<Built, Error> {
    build_in(tempfile::tempdir()?, vault, extra)
}

fn build_bundled(extra: &[&str]) -> Result<Built, Error> {
    build_into_temp(&bundled_vault(), extra)
}

/// One `<a>` element of a page.
#[derive(Debug)]
struct Link {
    class: String,
    /// The `href` as written.
    href: Option<String>,
    /// The site file (and `#fragment`) the href points at, resolved from the page.
    target: Option<String>,
    text: String,
}

/// The `<a>` elements of `html`, a part of the page `page`.
fn links(html: &str, page: &str) -> Vec<Link> {
    html.match_indices("<a ")
        .filter_map(|(at, _)| element_at(html, at, "a"))
        .map(|element| {
            let tag = &element[..element.find('>').unwrap_or(element.len())];
            let href = attribute(tag, "href");
            let target = href.as_deref().and_then(|h| {
                if h.contains("://") || h.starts_with("mailto:") {
                    return None;
                }
                let (path, fragment) = h.split_once('#').unwrap_or((h, ""));
                let path = if path.is_empty() {
                    page.to_string()
                } else {
                    resolve_relative(page, &percent_decode(path)?)?
                };
                Some(if fragment.is_empty() {
                    path
                } else {
                    format!("{path}#{}", percent_decode(fragment)?)
                })
            });
            Link {
                class: attribute(tag, "class").unwrap_or_default(),
                href,
                target,
                text: text_of(element).trim().to_string(),
            }
        })
        .collect()
}

/// The callout markers of a note's body (`> [!kind]`, `>[!kind]-`, nested `> > [!kind]+`):
/// the fold sign of each (`-`, `+` or none).
fn callout_folds(body: &str) -> Vec<Option<char>> {
    let mut folds = Vec::new();
    let mut in_fence = false;
    for line in body.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        if in_fence {
            continue;
        }
        let mut rest = line.trim_start();
        if !rest.starts_with('>') {
            continue;
        }
        while let Some(r) = rest.strip_prefix('>') {
            rest = r.trim_start();
        }
        if let Some(r) = rest.strip_prefix("[!")
            && let Some(end) = r.find(']')
        {
            folds.push(
                r[end + 1..]
                    .chars()
                    .next()
                    .filter(|c| *c == '-' || *c == '+'),
            );
        }
    }
    folds
}

/// The fenced code blocks of a note's body, as their raw content.
fn fenced_code_blocks(body: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in body.lines() {
        if line.trim_start().starts_with("```") {
            match current.take() {
                Some(block) => blocks.push(block),
                None => current = Some(String::new()),
            }
        } else if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    blocks
}

/// Runs of a note's prose that must show on its page, headings left out (a heading may
/// repeat a title that other notes mention by name).
fn prose_runs(note: &VaultNote) -> Vec<String> {
    let body: String = note
        .body()
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    plain_runs(&body, 30)
}

fn find_note<'a>(notes: &'a [VaultNote], path: &str) -> Result<&'a VaultNote, Error> {
    notes
        .iter()
        .find(|n| n.path == path)
        .ok_or_else(|| fail(format!("the bundled vault has no note {path}")))
}

// =======================================================================================
// 1. The bundled vault
// =======================================================================================

#[test]
fn bundled_vault_builds_with_only_the_deliberate_problems() -> TestResult {
    let b = build_bundled(&[])?;
    b.run.expect_code(0)?;
    // `Start here.md` line 55 holds the one broken link, on purpose.
    b.run
        .expect_diagnostic("Start here.md:55", &["A note that does not exist yet"])?;
    // `Review/Common mistakes.md` line 24 states a wrong identity, on purpose.
    b.run.expect_diagnostic(
        "Review/Common mistakes.md:24:3",
        &["wrong derivative identity", "symmetric"],
    )?;
    let diagnostics = b.run.diagnostics();
    assert_eq!(
        diagnostics.len(),
        2,
        "the bundled vault has exactly two problems, the deliberate broken link and \
         the deliberate wrong identity; got:\n{}",
        b.run.stderr
    );

    let content = note_content(b.site.page("start-here.html")?)?;
    let broken: Vec<Link> = links(content, "start-here.html")
        .into_iter()
        .filter(|l| l.text == "A note that does not exist yet")
        .collect();
    assert_eq!(broken.len(), 1, "the broken link is shown once: {broken:?}");
    assert!(
        broken[0].class.split(' ').any(|c| c == "is-unresolved"),
        "the broken link is marked is-unresolved: {broken:?}"
    );
    assert!(
        broken[0].class.split(' ').any(|c| c == "internal-link"),
        "the broken link is still an internal-link: {broken:?}"
    );
    assert_eq!(broken[0].href, None, "a broken link goes nowhere");
    Ok(())
}

#[test]
fn bundled_vault_with_strict_exits_1_and_still_builds() -> TestResult {
    let b = build_bundled(&["--strict"])?;
    b.run.expect_code(1)?;
    b.run
        .expect_diagnostic("Start here.md:55", &["A note that does not exist yet"])?;
    assert!(b.site.has("index.html"), "the site is still built");
    assert!(
        b.site.has("rules/chain-rule.html"),
        "the site is still built"
    );
    Ok(())
}

#[test]
fn every_published_note_has_a_page_at_its_slug() -> TestResult {
    let notes = vault_notes(&bundled_vault())?;
    let unpublished: Vec<&str> = notes
        .iter()
        .filter(|n| !n.published)
        .map(|n| n.path.as_str())
        .collect();
    assert_eq!(
        unpublished,
        ["Review/Draft - Hessians.md", "Review/Scratchpad.md"],
        "the vault's unpublished notes (read from their front matter)"
    );
    let expected: BTreeSet<String> = notes
        .iter()
        .filter(|n| n.published)
        .map(VaultNote::page)
        .collect();
    assert!(expected.contains("rules/chain-rule.html"));
    assert!(expected.contains("start-here.html"));

    let b = build_bundled(&[])?;
    b.run.expect_code(0)?;
    let note_pages: BTreeSet<String> = b
        .site
        .pages
        .keys()
        .filter(|p| {
            !p.starts_with("tags/") && !p.starts_with("quiz/") && !SITE_PAGES.contains(&p.as_str())
        })
        .cloned()
        .collect();
    assert_eq!(
        note_pages, expected,
        "one page per published note, no other"
    );

    // Each page is the page of its note: it names its source file.
    for note in notes.iter().filter(|n| n.published) {
        let html = b.site.page(&note.page())?;
        let source = format!("<code>{}</code>", note.path);
        assert!(
            html.contains(&source),
            "{} does not say it comes from {}",
            note.page(),
            note.path
        );
    }

    // The index links to every published note.
    let index = b.site.page("index.html")?;
    let targets: BTreeSet<String> = links(index, "index.html")
        .into_iter()
        .filter_map(|l| l.target)
        .collect();
    for page in &expected {
        assert!(targets.contains(page), "index.html does not link to {page}");
    }
    assert!(b.site.has("tags.html"));
    assert!(b.site.has("tags/flashcards.html"));
    assert!(b.site.has("tags/flashcards/calculus.html"));
    assert!(b.site.has(".notebuild-site"), "the site carries its marker");
    Ok(())
}

#[test]
fn unpublished_notes_leave_no_trace() -> TestResult {
    let notes = vault_notes(&bundled_vault())?;
    let b = build_bundled(&[])?;
    b.run.expect_code(0)?;

    // The method finds a published note's prose on its page...
    let chain = find_note(&notes, "Rules/Chain Rule.md")?;
    let runs = prose_runs(chain);
    assert!(runs.len() >= 3, "too few runs to check: {runs:?}");
    let page = b.site.page("rules/chain-rule.html")?;
    for run in &runs {
        assert!(
            page.contains(run.as_str()),
            "published text missing from rules/chain-rule.html: {run:?}"
        );
    }

    // ...and none of an unpublished note's prose anywhere in the site.
    for note in notes.iter().filter(|n| !n.published) {
        let page = note.page();
        assert!(!b.site.has(&page), "{} has a page: {page}", note.path);
        let runs = prose_runs(note);
        assert!(runs.len() >= 3, "too few runs in {}: {runs:?}", note.path);
        for (path, text) in b.site.pages.iter().chain(b.site.styles.iter()) {
            for run in &runs {
                assert!(
                    !text.contains(run.as_str()),
                    "text of unpublished {} appears in {path}: {run:?}",
                    note.path
                );
            }
            let to_it = links(text, path).into_iter().find(|l| {
                l.target
                    .as_deref()
                    .is_some_and(|t| t.split('#').next() == Some(page.as_str()))
            });
            assert!(
                to_it.is_none(),
                "{path} links to the unpublished page {page}: {to_it:?}"
            );
            assert!(
                !text.contains(&format!("<span class=\"note-path\">{}</span>", note.path)),
                "{path} lists unpublished {} (backlinks or tag page)",
                note.path
            );
        }
    }
    // Tags only unpublished notes carry get no page.
    for tag in [
        "tags/private.html",
        "tags/hessian.html",
        "tags/matrix-calculus/draft.html",
    ] {
        assert!(!b.site.has(tag), "{tag} exists, from an unpublished note");
    }
    Ok(())
}

#[test]
fn the_site_works_offline_and_every_link_resolves() -> TestResult {
    let b = build_bundled(&[])?;
    b.run.expect_code(0)?;
    assert!(b.site.has("static/style.css"));
    assert!(b.site.has("static/math/styles.css"));

    let mut checked = 0;
    for (page, html) in &b.site.pages {
        for tag in start_tags(html, "link") {
            let href = attribute(tag, "href").unwrap_or_default();
            assert!(
                !href.starts_with("http://")
                    && !href.starts_with("https://")
                    && !href.starts_with("//"),
                "{page} loads {href} from the network: {tag}"
            );
        }
        for src in attribute_values(html, "src") {
            assert!(
                !src.starts_with("http://")
                    && !src.starts_with("https://")
                    && !src.starts_with("//"),
                "{page} loads {src} from the network"
            );
        }
        // Every page is styled, and styles its math.
        let sheets: Vec<String> = start_tags(html, "link")
            .into_iter()
            .filter_map(|t| attribute(t, "href"))
            .filter_map(|h| resolve_relative(page, &h))
            .collect();
        for sheet in ["static/style.css", "static/math/styles.css"] {
            assert!(
                sheets.iter().any(|s| s == sheet),
                "{page} does not link {sheet}: {sheets:?}"
            );
        }
        checked += attribute_values(html, "href").len() + attribute_values(html, "src").len();
    }
    for (sheet, css) in &b.site.styles {
        for url in css_urls(css) {
            assert!(
                !url.contains("://") && !url.starts_with("//"),
                "{sheet} loads {url} from the network"
            );
        }
    }
    assert!(
        checked > 100,
        "only {checked} links found: the scanner is broken"
    );
    let broken = broken_links(&b.site);
    assert!(
        broken.is_empty(),
        "links that do not resolve:\n{}",
        broken.join("\n")
    );
    Ok(())
}

#[test]
fn every_page_is_well_formed() -> TestResult {
    let b = build_bundled(&[])?;
    b.run.expect_code(0)?;
    let mut problems = Vec::new();
    for (page, html) in &b.site.pages {
        for p in nesting_problems(html) {
            problems.push(format!("{page}: {p}"));
        }
        for id in duplicate_ids(html) {
            problems.push(format!("{page}: id=\"{id}\" is used more than once"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

#[test]
fn wikilinks_resolve_like_obsidian() -> TestResult {
    let b = build_bundled(&[])?;
    b.run.expect_code(0)?;

    // `[[chain rule]]` in lowercase: Chain Rule's page.
    let page = "applications/activation-functions.html";
    let found = links(note_content(b.site.page(page)?)?, page);
    let chain = found
        .iter()
        .find(|l| l.text == "chain rule")
        .ok_or_else(|| fail(format!("no `chain rule` link in {page}: {found:?}")))?;
    assert!(
        chain.class.split(' ').any(|c| c == "internal-link"),
        "{chain:?}"
    );
    assert_eq!(chain.href.as_deref(), Some("../rules/chain-rule.html"));
    assert_eq!(chain.target.as_deref(), Some("rules/chain-rule.html"));

    // `[[Element-wise operations#^diag-rule|the diagonal rule]]`: label and block anchor.
    let diag = found
        .iter()
        .find(|l| l.text == "the diagonal rule")
        .ok_or_else(|| fail(format!("no `the diagonal rule` link in {page}: {found:?}")))?;
    assert_eq!(
        diag.target.as_deref(),
        Some("rules/element-wise-operations.html#^diag-rule"),
        "{diag:?}"
    );

    // A markdown link to a note file, `[...](Element-wise%20operations.md)`.
    let page = "rules/chain-rule.html";
    let found = links(note_content(b.site.page(page)?)?, page);
    let md = found
        .iter()
        .find(|l| l.text == "element-wise operations")
        .ok_or_else(|| fail(format!("no markdown link in {page}: {found:?}")))?;
    assert!(md.class.split(' ').any(|c| c == "internal-link"), "{md:?}");
    assert_eq!(
        md.target.as_deref(),
        Some("rules/element-wise-operations.html")
    );

    // `[[Jacobians|The Jacobian matrix]]` from the home note.
    let page = "start-here.html";
    let found = links(note_content(b.site.page(page)?)?, page);
    let jac = found
        .iter()
        .find(|l| l.text == "The Jacobian matrix")
        .ok_or_else(|| fail(format!("no aliased link in {page}: {found:?}")))?;
    assert_eq!(jac.target.as_deref(), Some("foundations/jacobians.html"));
    Ok(())
}

#[test]
fn backlinks_list_the_notes_linking_here() -> TestResult {
    let notes = vault_notes(&bundled_vault())?;
    // Links to Rules/Chain Rule.md as written in the vault: by name (any case), with a
    // heading or a label, by path, by its alias `Chain rules`, or as a markdown link.
    let forms = [
        "[[chain rule]]",
        "[[chain rule|",
        "[[chain rule#",
        "[[rules/chain rule",
        "[[chain rules]]",
        "[[chain rules|",
        "[[chain rules#",
        "chain%20rule.md",
    ];
    let expected: BTreeSet<String> = notes
        .iter()
        .filter(|n| n.published && n.path != "Rules/Chain Rule.md")
        .filter(|n| {
            let text = n.body().to_lowercase();
            forms.iter().any(|f| text.contains(f))
        })
        .map(|n| n.path.clone())
        .collect();
    assert!(
        expected.len() >= 5,
        "the vault links Chain Rule from many notes: {expected:?}"
    );

    let b = build_bundled(&[])?;
    b.run.expect_code(0)?;
    let page = "rules/chain-rule.html";
    let section = backlinks_section(b.site.page(page)?)?;
    assert!(section.contains("Linked from"), "{section}");
    let listed: BTreeSet<String> = elements(section, "<span class=\"note-path\"")
        .into_iter()
        .map(|e| text_of(e).trim().to_string())
        .collect();
    assert_eq!(listed, expected, "backlinks of {page}");
    // Each backlink goes to the linking note's page.
    let targets: BTreeSet<String> = links(section, page)
        .into_iter()
        .filter_map(|l| l.target)
        .collect();
    let expected_pages: BTreeSet<String> = expected.iter().map(|p| note_page(p)).collect();
    assert_eq!(targets, expected_pages);
    Ok(())
}

#[test]
fn callouts_render_with_their_kind_fold_and_nesting() -> TestResult {
    let notes = vault_notes(&bundled_vault())?;
    let b = build_bundled(&[])?;
    b.run.expect_code(0)?;

    // Chain Rule: `> [!info]+ Worked examples` holds `> > [!tip] Name the intermediate variables`.
    let content = note_content(b.site.page("rules/chain-rule.html")?)?;
    let info = elements(content, "<details class=\"callout\" data-callout=\"info\"");
    assert_eq!(info.len(), 1, "one foldable info callout in Chain Rule");
    let info = info[0];
    let open_tag = &info[..info.find('>').unwrap_or(0) + 1];
    assert!(
        has_boolean_attribute(open_tag, "open"),
        "`+` callouts start open: {open_tag}"
    );
    assert!(
        text_of(info).contains("Worked examples"),
        "the callout's title is shown"
    );
    let tips = elements(info, "<div class=\"callout\" data-callout=\"tip\"");
    assert_eq!(tips.len(), 1, "the tip is nested inside the info callout");
    let tip = text_of(tips[0]);
    assert!(tip.contains("Name the intermediate variables"), "{tip}");
    assert!(
        tip.contains("Each factor stays small enough to check by eye."),
        "{tip}"
    );

    // Jacobians: `> [!question]- Why $A$ and not $A^T$?` is closed, with math in its title.
    let content = note_content(b.site.page("foundations/jacobians.html")?)?;
    let questions = elements(
        content,
        "<details class=\"callout\" data-callout=\"question\"",
    );
    assert_eq!(questions.len(), 1);
    let q = questions[0];
    let open_tag = &q[..q.find('>').unwrap_or(0) + 1];
    assert!(
        !has_boolean_attribute(open_tag, "open"),
        "`-` callouts start closed: {open_tag}"
    );
    let summary = elements(q, "<summary")
        .first()
        .map(|s| s.to_string())
        .ok_or_else(|| fail("a folded callout has a <summary>"))?;
    assert!(summary.contains("<math"), "math in the title: {summary}");

    // Every note (without embedded notes, which bring their own callouts): as many
    // callouts, with the same folds, as its markdown has.
    for note in notes.iter().filter(|n| n.published) {
        if note.body().contains("![[") {
            continue;
        }
        let folds = callout_folds(note.body());
        let content = note_content(b.site.page(&note.page())?)?;
        let details: Vec<&str> = start_tags(content, "details")
            .into_iter()
            .filter(|t| t.contains("class=\"callout"))
            .collect();
        let closed = details
            .iter()
            .filter(|t| !has_boolean_attribute(t, "open"))
            .count();
        let open = details.len() - closed;
        let plain = start_tags(content, "div")
            .into_iter()
            .filter(|t| attribute(t, "class").as_deref() == Some("callout"))
            .count();
        let count = |want: Option<char>| folds.iter().filter(|f| **f == want).count();
        assert_eq!(
            (closed, open, plain),
            (count(Some('-')), count(Some('+')), count(None)),
            "callouts of {} as (closed, open, plain)",
            note.path
        );
        for tag in details
            .iter()
            .copied()
            .chain(start_tags(content, "div"))
            .filter(|t| t.contains("class=\"callout\""))
        {
            let kind = attribute(tag, "data-callout").unwrap_or_default();
            assert!(
                !kind.is_empty() && kind == kind.to_lowercase(),
                "{}: a callout without a kind: {tag}",
                note.path
            );
        }
    }
    Ok(())
}

#[test]
fn math_is_mathml_and_no_markup_is_left_over() -> TestResult {
    let notes = vault_notes(&bundled_vault())?;
    let b = build_bundled(&[])?;
    b.run.expect_code(0)?;

    for (path, html) in &b.site.pages {
        assert!(!html.contains("math-error"), "{path}: a formula failed");
        assert!(!html.contains("<!--SR"), "{path}: a review comment is left");
        assert!(!html.contains("%%"), "{path}: an Obsidian comment is left");
        let prose = prose_text(html);
        assert!(
            !prose.contains("$$"),
            "{path}: `$$` outside code: …{}…",
            context(&prose, "$$")
        );
        assert!(
            !prose.contains('$'),
            "{path}: raw `$` math left: …{}…",
            context(&prose, "$")
        );
    }
    // Every formula of a note is a <math> element on its page.
    let mut total = 0;
    for note in notes.iter().filter(|n| n.published) {
        if note.body().contains("![[") {
            continue; // embedded notes bring their formulas along
        }
        let spans = count_math_spans(note.body());
        let content = note_content(b.site.page(&note.page())?)?;
        // A cloze card shows its text twice: blanked (the front), then filled in.
        let cloze_fronts: usize = elements(content, "<details class=\"flashcard flashcard-cloze")
            .iter()
            .map(|d| {
                d[..d.find("</summary>").unwrap_or(0)]
                    .matches("<math")
                    .count()
            })
            .sum();
        let rendered = content.matches("<math").count() - cloze_fronts;
        assert_eq!(
            rendered, spans,
            "{}: {spans} formulas in the note, {rendered} <math> on its page",
            note.path
        );
        total += spans;
    }
    assert!(total > 50, "the vault has plenty of math ({total})");

    let content = note_content(b.site.page("rules/chain-rule.html")?)?;
    assert!(content.contains("<div class=\"math math-display\"><math display=\"block\""));
    assert!(content.contains("<span class=\"math math-inline\"><math display=\"inline\""));
    // The TeX source stays available.
    assert!(content.contains("annotation encoding=\"application/x-tex\""));

    // `%%comment%%` text is gone, inline and over several lines.
    let notation = find_note(&notes, "Foundations/Notation and layout.md")?;
    assert!(
        notation
            .body()
            .contains("%%redrawn from the one in Parr & Howard%%")
    );
    let page = b.site.page("foundations/notation-and-layout.html")?;
    assert!(!page.contains("redrawn from the one in Parr"));
    Ok(())
}

/// Some text around the first `needle` in `text`, for a failure message.
fn context(text: &str, needle: &str) -> String {
    let at = text.find(needle).unwrap_or(0);
    let before: String = text[..at].chars().rev().take(60).collect();
    let after: String = text[at..].chars().take(60).collect();
    before.chars().rev().chain(after.chars()).collect()
}

#[test]
fn code_blocks_are_kept_literally() -> TestResult {
    let notes = vault_notes(&bundled_vault())?;
    let b = build_bundled(&[])?;
    b.run.expect_code(0)?;

    let content = note_content(b.site.page("start-here.html")?)?;
    let pres = elements(content, "<pre");
    let sample = "The derivative of $x^2$ is $2x$; see [[not a link]] and #not-a-tag for more.";
    let pre = pres
        .iter()
        .find(|p| text_of(p).contains(sample))
        .ok_or_else(|| fail(format!("the sample code block is not literal: {pres:?}")))?;
    assert!(!pre.contains("<math"), "no math in code: {pre}");
    assert!(!pre.contains("<a "), "no links or tags in code: {pre}");
    assert!(!b.site.has("tags/not-a-tag.html"), "#not-a-tag is no tag");

    // Every fenced block of every published note shows verbatim.
    let mut blocks = 0;
    for note in notes.iter().filter(|n| n.published) {
        let content = note_content(b.site.page(&note.page())?)?;
        let shown: Vec<String> = elements(content, "<pre")
            .iter()
            .map(|p| text_of(p))
            .collect();
        for block in fenced_code_blocks(note.body()) {
            blocks += 1;
            assert!(
                shown.iter().any(|s| s.contains(block.trim_end())),
                "{}: code block not shown verbatim:\n{block}\nshown: {shown:?}",
                note.path
            );
        }
    }
    assert!(blocks >= 2);
    Ok(())
}

#[test]
fn headings_get_ids_and_a_table_of_contents() -> TestResult {
    let notes = vault_notes(&bundled_vault())?;
    let note = find_note(&notes, "Rules/Chain Rule.md")?;
    let headings: Vec<(String, String)> = note
        .body()
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| (h.trim().to_string(), slugify(h)))
        .collect();
    assert!(headings.len() >= 4, "{headings:?}");

    let b = build_bundled(&[])?;
    b.run.expect_code(0)?;
    let html = b.site.page("rules/chain-rule.html")?;
    let content = note_content(html)?;
    for (text, id) in &headings {
        let tag = format!("<h2 id=\"{id}\">");
        let at = content
            .find(&tag)
            .ok_or_else(|| fail(format!("no {tag} for `{text}`")))?;
        let heading = element_at(content, at, "h2").unwrap_or_default();
        assert!(text_of(heading).contains(text.as_str()), "{heading}");
        assert!(
            heading.contains(&format!("class=\"heading-anchor\" href=\"#{id}\"")),
            "no anchor link in {heading}"
        );
    }
    // The table of contents lists the headings, in order, outside the note's content.
    let toc_start = html
        .find("<ol class=\"toc-list\">")
        .ok_or_else(|| fail("no table of contents"))?;
    let toc = element_at(html, toc_start, "ol").unwrap_or_default();
    let entries: Vec<(String, String)> = links(toc, "rules/chain-rule.html")
        .into_iter()
        .map(|l| (l.text, l.href.unwrap_or_default()))
        .collect();
    let wanted: Vec<(String, String)> = headings
        .iter()
        .map(|(t, id)| (t.clone(), format!("#{id}")))
        .collect();
    assert_eq!(entries, wanted, "table of contents of Chain Rule");
    Ok(())
}

#[test]
fn images_notes_and_highlights_are_embedded() -> TestResult {
    let notes = vault_notes(&bundled_vault())?;
    let b = build_bundled(&[])?;
    b.run.expect_code(0)?;

    // `![[jacobian-shapes.svg | center|400]]`
    let page = "foundations/jacobians.html";
    let content = note_content(b.site.page(page)?)?;
    let images: Vec<&str> = start_tags(content, "img")
        .into_iter()
        .filter(|t| t.contains("class=\"embed-image"))
        .collect();
    assert_eq!(images.len(), 1, "{images:?}");
    let img = images[0];
    let class = attribute(img, "class").unwrap_or_default();
    assert!(class.split(' ').any(|c| c == "align-center"), "{img}");
    assert_eq!(attribute(img, "width").as_deref(), Some("400"), "{img}");
    // no caption: the file's name without its extension
    assert_eq!(
        attribute(img, "alt").as_deref(),
        Some("jacobian-shapes"),
        "{img}"
    );
    let src = attribute(img, "src").unwrap_or_default();
    let file = resolve_relative(page, &percent_decode(&src).unwrap_or_default());
    assert_eq!(file.as_deref(), Some("attachments/jacobian-shapes.svg"));
    assert_eq!(
        std::fs::read(b.out.join("attachments/jacobian-shapes.svg"))?,
        std::fs::read(bundled_vault().join("attachments/jacobian-shapes.svg"))?,
        "the attachment is copied as it is"
    );

    // `![[Symbols]]`: the whole note, inside an embed-note block.
    let content = note_content(b.site.page("foundations/notation-and-layout.html")?)?;
    let embeds = elements(content, "<div class=\"embed-note\"");
    assert_eq!(embeds.len(), 1, "one transclusion in Notation and layout");
    let symbols = find_note(&notes, "Foundations/Symbols.md")?;
    for run in prose_runs(symbols) {
        assert!(
            embeds[0].contains(run.as_str()),
            "Symbols text missing from its embed: {run:?}"
        );
    }
    let title = links(embeds[0], "foundations/notation-and-layout.html");
    assert!(
        title
            .iter()
            .any(|l| l.target.as_deref() == Some("foundations/symbols.html")),
        "the embed links to its note: {title:?}"
    );

    // `![[Chain Rule#Vector chain rule]]`: that section only.
    let content = note_content(b.site.page("applications/linear-regression.html")?)?;
    let embeds = elements(content, "<div class=\"embed-note\"");
    assert_eq!(embeds.len(), 1);
    let embed = embeds[0];
    let text = text_of(embed);
    assert!(
        nesting_problems(embed).is_empty(),
        "the embedded section is not well-formed: {:?}\n{embed}",
        nesting_problems(embed)
    );
    // Its id is made unique on the page (the page may have a heading of that name).
    let heading_ids: Vec<String> = start_tags(embed, "h2")
        .into_iter()
        .filter_map(|t| attribute(t, "id"))
        .collect();
    assert!(
        heading_ids
            .iter()
            .any(|id| id.ends_with("vector-chain-rule") && id != "vector-chain-rule")
            && embed.contains("</h2>"),
        "the section's heading is embedded, closed: {embed}"
    );
    for wanted in [
        "the Jacobians multiply:",
        "The two rules above are special cases of this one.",
        "Worked examples",
    ] {
        assert!(
            text.contains(wanted),
            "the embedded section `Vector chain rule` lacks {wanted:?}: {embed}"
        );
    }
    assert!(
        embed.contains("<math"),
        "the section's formulas are embedded: {embed}"
    );
    assert!(!text.contains("Almost every derivative in machine learning"));
    assert!(
        !text.contains("Following the tip"),
        "the next section is not embedded"
    );

    // `![[Notation and layout#^numerator-layout]]`: that paragraph only.
    let content = note_content(b.site.page("review/common-mistakes.html")?)?;
    let embeds = elements(content, "<div class=\"embed-note\"");
    assert_eq!(embeds.len(), 1);
    let text = text_of(embeds[0]);
    assert!(text.contains("with one row per output and one column per input."));
    assert!(
        !text.contains("Two conventions are in common use."),
        "{text}"
    );

    // `==...==`
    let content = note_content(b.site.page("foundations/notation-and-layout.html")?)?;
    assert!(content.contains("<mark>Learn this table by heart</mark>"));
    let content = note_content(b.site.page("rules/element-wise-operations.html")?)?;
    assert!(content.contains("<mark>an element-wise operation has a diagonal Jacobian</mark>"));
    Ok(())
}

#[test]
fn tags_have_pages_nested_ones_too() -> TestResult {
    let b = build_bundled(&[])?;
    b.run.expect_code(0)?;

    let page = "tags/flashcards/calculus.html";
    let listed: BTreeSet<String> = links(b.site.page(page)?, page)
        .into_iter()
        .filter_map(|l| l.target)
        .collect();
    assert!(
        listed.contains("review/flashcards-foundations.html"),
        "{page} lists the note tagged flashcards/calculus: {listed:?}"
    );

    let page = "tags/flashcards.html";
    let listed: BTreeSet<String> = links(b.site.page(page)?, page)
        .into_iter()
        .filter_map(|l| l.target)
        .collect();
    for wanted in [
        "tags/flashcards/calculus.html",
        "review/flashcards-foundations.html",
        "review/flashcards-applications.html",
    ] {
        assert!(listed.contains(wanted), "{page} does not link {wanted}");
    }

    // A note's tags link to their pages; an inline `#nested/tag` too.
    let page = "review/flashcards-foundations.html";
    let html = b.site.page(page)?;
    assert!(
        links(html, page)
            .iter()
            .any(|l| l.class == "tag"
                && l.target.as_deref() == Some("tags/flashcards/calculus.html")),
        "{page} links its tag"
    );
    let page = "rules/chain-rule.html";
    let content = note_content(b.site.page(page)?)?;
    assert!(
        links(content, page).iter().any(|l| l.class == "tag"
            && l.text == "#matrix-calculus/rules"
            && l.target.as_deref() == Some("tags/matrix-calculus/rules.html")),
        "the inline tag of Chain Rule"
    );

    // tags.html links every tag page.
    let listed: BTreeSet<String> = links(b.site.page("tags.html")?, "tags.html")
        .into_iter()
        .filter_map(|l| l.target)
        .collect();
    for tag_page in b.site.pages.keys().filter(|p| p.starts_with("tags/")) {
        assert!(
            listed.contains(tag_page),
            "tags.html does not link {tag_page}"
        );
    }
    Ok(())
}

// =======================================================================================
// 2. A vault with bad input
// =======================================================================================

/// A vault with one problem per note, next to a good note and an attachment.
fn bad_vault(root: &Path) -> TestResult {
    write(
        root,
        "latin1.md",
        b"# Latin\n\nfirst line ok\nsecond line caf\xe9 au lait\nthird line fine\n",
    )?;
    write(root, "empty.md", "")?;
    write(
        root,
        "unclosed.md",
        "# Unclosed\n\nIntro text.\n\n$$\nx = 1\nstill going\n",
    )?;
    write(
        root,
        "missing.md",
        "# Missing\n\nText before.\n\n![[nothere.png]]\n\nText after.\n",
    )?;
    write(
        root,
        "badmath.md",
        "# Bad math\n\nBroken: $\\frac{$ end.\n\nUnknown: $\\unknowncommand{x}$ end.\n",
    )?;
    write(root, "cycle/A.md", "# A\n\nText of A.\n\n![[B]]\n")?;
    write(root, "cycle/B.md", "# B\n\nText of B.\n\n![[A]]\n")?;
    write(
        root,
        ".obsidian/workspace.md",
        "obsidian settings note text\n",
    )?;
    write(root, ".obsidian/app.json", "{}\n")?;
    write(root, ".trash/deleted.md", "trashed note text\n")?;
    write(root, "attachments/pic.png", PNG)?;
    write(root, "pics/pic-note.md", "# Pic\n\n![[pic.png]]\n")?;
    write(
        root,
        "good.md",
        "# Good\n\nA fine note, see [[pic-note]] and [[A]].\n",
    )?;
    Ok(())
}

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// Builds the bad vault, written in `dir/vault`, into `dir/site`.
fn build_bad(extra: &[&str]) -> Result<Built, Error> {
    let dir = tempfile::tempdir()?;
    let vault = dir.path().join("vault");
    bad_vault(&vault)?;
    build_in(dir, &vault, extra)
}

#[test]
fn a_note_that_is_not_utf8_is_reported_and_the_rest_built() -> TestResult {
    let b = build_bad(&[])?;
    b.run.expect_code(0)?;
    b.run.expect_diagnostic("latin1.md:4", &["UTF-8"])?;
    let content = note_content(b.site.page("latin1.html")?)?;
    assert!(content.contains("first line ok"));
    assert!(content.contains("third line fine"));
    assert!(b.site.has("good.html"), "the rest of the vault is built");
    Ok(())
}

#[test]
fn an_empty_note_is_reported() -> TestResult {
    let b = build_bad(&[])?;
    b.run.expect_code(0)?;
    b.run.expect_diagnostic("empty.md", &["empty"])?;
    Ok(())
}

#[test]
fn unclosed_display_math_is_reported_and_shown_as_text() -> TestResult {
    let b = build_bad(&[])?;
    b.run.expect_code(0)?;
    b.run.expect_diagnostic("unclosed.md:5", &["$$"])?;
    let content = note_content(b.site.page("unclosed.html")?)?;
    let text = text_of(content);
    for shown in ["Intro text.", "x = 1", "still going"] {
        assert!(text.contains(shown), "`{shown}` not shown: {content}");
    }
    Ok(())
}

#[test]
fn a_missing_embed_is_reported_and_marked() -> TestResult {
    let b = build_bad(&[])?;
    b.run.expect_code(0)?;
    b.run.expect_diagnostic("missing.md:5", &["nothere.png"])?;
    let content = note_content(b.site.page("missing.html")?)?;
    let missing = elements(content, "<span class=\"embed-missing\"");
    assert_eq!(missing.len(), 1, "{content}");
    assert!(text_of(missing[0]).contains("nothere.png"));
    assert!(text_of(content).contains("Text after."));
    Ok(())
}

#[test]
fn a_formula_that_cannot_render_is_reported_and_its_source_shown() -> TestResult {
    let b = build_bad(&[])?;
    b.run.expect_code(0)?;
    b.run.expect_diagnostic("badmath.md:3", &[])?;
    b.run
        .expect_diagnostic("badmath.md:5", &["unknowncommand"])?;
    let content = note_content(b.site.page("badmath.html")?)?;
    let errors: Vec<String> = elements(content, "<code class=\"math-error\"")
        .iter()
        .map(|e| text_of(e))
        .collect();
    assert_eq!(errors.len(), 2, "{content}");
    assert!(errors[0].contains("\\frac{"), "{errors:?}");
    assert!(errors[1].contains("\\unknowncommand{x}"), "{errors:?}");
    assert!(text_of(content).contains("end."), "the text around is kept");
    Ok(())
}

#[test]
fn a_recursive_transclusion_is_stopped_and_reported() -> TestResult {
    let b = build_bad(&[])?;
    b.run.expect_code(0)?;
    let at_a = b.run.diagnostic("cycle/A.md:5", &[]);
    let at_b = b.run.diagnostic("cycle/B.md:5", &[]);
    assert!(
        at_a.is_some() || at_b.is_some(),
        "the cycle is reported at one of its embeds; stderr:\n{}",
        b.run.stderr
    );
    for page in ["cycle/a.html", "cycle/b.html"] {
        let content = note_content(b.site.page(page)?)?;
        assert!(content.contains("embed-recursive"), "{page}: {content}");
        // A embeds B which embeds A: each text is there, a bounded number of times.
        assert!(content.contains("Text of A.") && content.contains("Text of B."));
        assert!(content.matches("Text of A.").count() <= 2, "{content}");
    }
    Ok(())
}

#[test]
fn hidden_folders_are_skipped_and_attachments_copied() -> TestResult {
    let b = build_bad(&[])?;
    b.run.expect_code(0)?;
    for file in &b.site.files {
        assert!(
            !file.contains(".obsidian") && !file.contains(".trash"),
            "hidden file in the site: {file}"
        );
    }
    for (path, html) in &b.site.pages {
        assert!(!html.contains("obsidian settings note text"), "{path}");
        assert!(!html.contains("trashed note text"), "{path}");
    }
    assert!(!b.site.has("obsidian/workspace.html") && !b.site.has("trash/deleted.html"));

    assert_eq!(std::fs::read(b.out.join("attachments/pic.png"))?, PNG);
    let page = "pics/pic-note.html";
    let content = note_content(b.site.page(page)?)?;
    let img = start_tags(content, "img")
        .into_iter()
        .find(|t| t.contains("class=\"embed-image"))
        .ok_or_else(|| fail(format!("no embedded image in {page}: {content}")))?;
    let src = attribute(img, "src").unwrap_or_default();
    assert_eq!(
        resolve_relative(page, &percent_decode(&src).unwrap_or_default()).as_deref(),
        Some("attachments/pic.png"),
        "{img}"
    );
    let broken = broken_links(&b.site);
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    Ok(())
}

#[test]
fn strict_exits_1_on_warnings_and_still_builds() -> TestResult {
    let b = build_bad(&["--strict"])?;
    b.run.expect_code(1)?;
    assert!(b.run.diagnostics().len() >= 7, "{}", b.run.stderr);
    assert!(b.site.has("index.html") && b.site.has("good.html"));

    let b = build_bad(&[])?;
    b.run.expect_code(0)?;
    assert!(b.run.diagnostics().len() >= 7, "{}", b.run.stderr);
    Ok(())
}

#[cfg(unix)]
fn symlink_vault(root: &Path) -> Result<PathBuf, Error> {
    use std::os::unix::fs::symlink;
    let vault = root.join("vault");
    write(&vault, "real.md", "# Real\n\nThe real note text.\n")?;
    write(
        root,
        "outside/far.md",
        "# Far\n\nA note from outside the vault.\n",
    )?;
    symlink("real.md", vault.join("alias.md"))?;
    symlink("../outside", vault.join("ext"))?;
    write(root, "outside/secret.txt", "not for the site")?;
    symlink("../outside/secret.txt", vault.join("secret.txt"))?;
    std::fs::create_dir_all(vault.join("sub"))?;
    write(&vault, "sub/inner.md", "# Inner\n\nInner text.\n")?;
    symlink("..", vault.join("sub/loop"))?;
    Ok(vault)
}

#[cfg(unix)]
#[test]
fn symlinks_are_not_followed_by_default() -> TestResult {
    let dir = tempfile::tempdir()?;
    let vault = symlink_vault(dir.path())?;
    let out = dir.path().join("site");
    let run = build(dir.path(), &vault, &out, &[])?;
    run.expect_code(0)?;
    run.expect_diagnostic("alias.md", &["symbolic link"])?;
    run.expect_diagnostic("ext", &["symbolic link"])?;
    let site = Site::read(&out)?;
    assert!(site.has("real.html") && site.has("sub/inner.html"));
    assert!(!site.has("alias.html"), "a symlink was followed");
    assert!(
        !site
            .files
            .iter()
            .any(|f| f.starts_with("ext/") || f.contains("loop/")),
        "a symlinked folder was followed: {:?}",
        site.files
    );

    // the vault itself given through a link is built, with no warning about it
    let link = dir.path().join("vault-link");
    std::os::unix::fs::symlink(&vault, &link)?;
    let out = dir.path().join("site-2");
    let run = build(dir.path(), &link, &out, &["--strict"])?;
    assert!(
        run.diagnostics().iter().all(|d| !d.contains("<vault>")),
        "{}",
        run.stderr
    );
    assert!(Site::read(&out)?.has("real.html"));
    Ok(())
}

#[cfg(unix)]
#[test]
fn follow_links_follows_symlinks_and_reports_loops() -> TestResult {
    let dir = tempfile::tempdir()?;
    let vault = symlink_vault(dir.path())?;
    let out = dir.path().join("site");
    let run = build(dir.path(), &vault, &out, &["--follow-links"])?;
    run.expect_code(0)?;
    run.expect_diagnostic("sub/loop", &["loop"])?;
    let site = Site::read(&out)?;
    let alias = note_content(site.page("alias.html")?)?;
    assert!(alias.contains("The real note text."));
    // A link out of the vault's folder is never followed: nothing outside is published.
    run.expect_diagnostic("ext", &["outside the vault"])?;
    run.expect_diagnostic("secret.txt", &["outside the vault"])?;
    assert!(
        !site
            .files
            .iter()
            .any(|f| f.contains("far") || f.contains("secret")),
        "something outside the vault was published: {:?}",
        site.files
    );
    assert!(
        !site.files.iter().any(|f| f.contains("loop/")),
        "the loop was walked into: {:?}",
        site.files
    );
    Ok(())
}

// =======================================================================================
// 3. Output safety
// =======================================================================================

/// A small good vault.
fn small_vault(root: &Path) -> TestResult {
    write(root, "a.md", "# A\n\nSee [[b]].\n")?;
    write(root, "b.md", "# B\n\nBack to [[a]].\n")?;
    Ok(())
}

/// Every file under `root` with its bytes.
fn snapshot(root: &Path) -> Result<Vec<(String, Vec<u8>)>, Error> {
    list_files(root)?
        .into_iter()
        .map(|rel| Ok((rel.clone(), std::fs::read(root.join(&rel))?)))
        .collect()
}

#[test]
fn notes_embedding_each_other_many_times_stay_bounded() -> TestResult {
    // Each note embeds the next three times: 3^20 transclusions without a budget.
    let dir = tempfile::tempdir()?;
    let vault = dir.path().join("vault");
    for i in 0..21 {
        let embeds = if i < 20 {
            format!("![[n{}]]\n\n", i + 1).repeat(3)
        } else {
            "the end\n".to_owned()
        };
        write(&vault, &format!("n{i}.md"), format!("# N{i}\n\n{embeds}"))?;
    }
    let out = dir.path().join("site");
    let run = build(dir.path(), &vault, &out, &[])?;
    run.expect_code(0)?;
    run.expect_diagnostic("n0.md", &["not shown", "embeds"])?;
    let page = std::fs::read_to_string(out.join("n0.html"))?;
    assert!(page.len() < 4 << 20, "the page is {} bytes", page.len());
    Ok(())
}

#[test]
fn a_note_name_too_long_for_the_file_system_gets_a_short_page() -> TestResult {
    let dir = tempfile::tempdir()?;
    let vault = dir.path().join("vault");
    let long = "a".repeat(240);
    write(&vault, &format!("{long}.md"), "# Long\n\nThe long one.\n")?;
    write(&vault, "index-note.md", format!("# I\n\n[[{long}]]\n"))?;
    let out = dir.path().join("site");
    let run = build(dir.path(), &vault, &out, &[])?;
    run.expect_code(0)?;
    run.expect_diagnostic(&long, &["too long"])?;
    let pages: Vec<_> = std::fs::read_dir(&out)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("aaaa"))
        .collect();
    assert_eq!(pages.len(), 1, "{pages:?}");
    assert!(pages[0].len() <= 205, "{pages:?}");
    let page = std::fs::read_to_string(out.join(&pages[0]))?;
    assert!(page.contains("The long one."));
    let index = std::fs::read_to_string(out.join("index-note.html"))?;
    assert!(index.contains(&pages[0]), "the link goes to the short page");
    Ok(())
}

#[test]
fn distinct_tags_never_share_a_page() -> TestResult {
    let dir = tempfile::tempdir()?;
    let vault = dir.path().join("vault");
    write(&vault, "one.md", "# One\n\n#a-b\n")?;
    write(&vault, "two.md", "# Two\n\n#a--b\n")?;
    let out = dir.path().join("site");
    let run = build(dir.path(), &vault, &out, &[])?;
    run.expect_code(0)?;
    let single = std::fs::read_to_string(out.join("tags/a-b.html"))?;
    let double = std::fs::read_to_string(out.join("tags/a--b.html"))?;
    assert!(
        single.contains("one.html") && !single.contains("two.html"),
        "{single}"
    );
    assert!(
        double.contains("two.html") && !double.contains("one.html"),
        "{double}"
    );
    Ok(())
}

/// Builds one generated note and returns its page. The inputs are large enough that a
/// cost quadratic in them turns the test from seconds into many minutes, which the CI
/// time limit reports; the test itself times nothing (speed is measured by the
/// benchmarks).
fn build_generated(note: &str, extra: &[&str]) -> Result<(Run, String), Error> {
    let (dir, vault) = temp_vault(&[("n.md", note), ("m.md", "# M\n")])?;
    let out = dir.path().join("site");
    let run = build(dir.path(), &vault, &out, extra)?;
    let page = std::fs::read_to_string(out.join("n.html")).map_err(|e| {
        fail(format!(
            "the build wrote no page for the generated note ({e}); stderr:\n{}",
            run.stderr
        ))
    })?;
    let content = note_content(&page)?.to_string();
    Ok((run, content))
}

#[test]
fn many_nested_list_items_are_written_in_linear_time() -> TestResult {
    // 40,000 lists, each the only item of the one before (finding each item's end made
    // this quadratic).
    let n = 40_000;
    let (run, page) = build_generated(&format!("{}deep\n", "- ".repeat(n)), &["-q"])?;
    run.expect_code(0)?;
    assert_eq!(page.matches("<li>").count(), n);
    assert_eq!(page.matches("</ul>").count(), n);
    Ok(())
}

#[test]
fn many_links_and_dollars_on_one_line_are_read_in_linear_time() -> TestResult {
    // 100,000 wikilinks on one line (its end was searched for once per link), a line of
    // 50,000 `$` that open nothing (each searched the rest of the paragraph for its
    // closing `$`) and a line of 50,000 `==` (each looked for the line's end).
    let n = 100_000;
    let note = format!(
        "{}\n\n{}\n\n{}\n",
        "[[m]] ".repeat(n),
        "$a ".repeat(n / 2),
        "x ==a ".repeat(n / 2)
    );
    let (run, page) = build_generated(&note, &["-q"])?;
    run.expect_code(0)?;
    assert_eq!(page.matches("href=\"m.html\"").count(), n);
    assert_eq!(page.matches("<math").count(), 0);
    // the first `==` opens a highlight that the next one closes; the rest are text
    assert_eq!(page.matches("<mark>").count(), 1);
    // a formula and a highlight after them are still found
    let (_, page) = build_generated(
        &format!("{}\n\n$x$ and ==y==\n", "[[m]] $a b== ".repeat(1000)),
        &["-q"],
    )?;
    assert_eq!(page.matches("href=\"m.html\"").count(), 1000);
    assert_eq!(page.matches("<mark>").count(), 1, "{page}");
    assert_eq!(page.matches("<math").count(), 1, "{page}");
    Ok(())
}

#[test]
fn safe_html_drops_raw_html_and_script_links() -> TestResult {
    let note = "<script>alert(1)</script>\n\nText <img src=x onerror=alert(2)> inline.\n\n\
                [a](javascript:alert(3)) [b]( JaVa\tScRiPt:alert(4)) <javascript:alert(5)>\n\n\
                ![c](javascript:alert(6)) [d](https://example.com/) [e](data:text/html,x)\n\n\
                ![f](data:image/png;base64,AAAA)\n";
    // by default, as in Obsidian, raw HTML and every URL pass through
    let (run, content) = build_generated(note, &["-q"])?;
    run.expect_code(0)?;
    assert!(content.contains("<script>alert(1)"), "{content}");
    assert!(content.contains("href=\"javascript:alert(3)"), "{content}");
    let (run, content) = build_generated(note, &["-q", "--safe-html"])?;
    run.expect_code(0)?;
    for gone in ["<script", "onerror", "alert(1)", "alert(2)"] {
        assert!(!content.contains(gone), "{gone} in {content}");
    }
    let urls = [
        attribute_values(&content, "href"),
        attribute_values(&content, "src"),
    ]
    .concat();
    assert!(
        urls.iter().all(|u| {
            let u = u.to_ascii_lowercase();
            !u.contains("javascript") && !u.starts_with("data:text")
        }),
        "{urls:?}"
    );
    assert_eq!(content.matches("is-unsafe").count(), 3, "{content}");
    assert!(
        content.contains("href=\"https://example.com/\""),
        "{content}"
    );
    assert!(content.contains("data:image/png;base64,AAAA"), "{content}");
    assert!(
        content.contains("Text") && content.contains("inline."),
        "{content}"
    );
    // html: safe in notebuild.yaml does the same
    let (dir, vault) = temp_vault(&[("n.md", note), ("notebuild.yaml", "html: safe\n")])?;
    let out = dir.path().join("site");
    build(dir.path(), &vault, &out, &["-q"])?.expect_code(0)?;
    let page = std::fs::read_to_string(out.join("n.html"))?;
    assert!(
        !note_content(&page)?.contains("href=\"javascript"),
        "{page}"
    );
    assert!(!note_content(&page)?.contains("<script"), "{page}");
    Ok(())
}

#[test]
fn leftovers_of_a_killed_build_are_removed_by_the_next() -> TestResult {
    let dir = tempfile::tempdir()?;
    let vault = dir.path().join("vault");
    small_vault(&vault)?;
    // A process id no system gives out: that build is surely gone.
    let dead_tmp = dir.path().join(".site.notebuild-tmp-4000000000");
    let dead_old = dir.path().join(".site.notebuild-old-4000000000");
    let other = dir.path().join(".other.notebuild-tmp-4000000000");
    for folder in [&dead_tmp, &dead_old, &other] {
        write(folder, "index.html", "half a site")?;
    }
    let run = build(dir.path(), &vault, &dir.path().join("site"), &[])?;
    run.expect_code(0)?;
    if Path::new("/proc/self").exists() {
        assert!(!dead_tmp.exists() && !dead_old.exists());
    }
    // Another output folder's leftovers are not this build's to remove.
    assert!(other.exists());
    Ok(())
}

#[test]
fn out_equal_to_the_vault_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let vault = dir.path().join("vault");
    small_vault(&vault)?;
    let before = snapshot(dir.path())?;
    let run = build(dir.path(), &vault, &vault, &[])?;
    run.expect_code(2)?;
    assert!(!run.stderr.trim().is_empty(), "no message");
    assert_eq!(
        snapshot(dir.path())?,
        before,
        "something was written or deleted"
    );

    // The same, spelled relatively from inside the vault.
    let run = notebuild(&vault, ["build", ".", "--out", "."])?;
    run.expect_code(2)?;
    assert_eq!(
        snapshot(dir.path())?,
        before,
        "something was written or deleted"
    );
    Ok(())
}

#[test]
fn out_containing_the_vault_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let vault = dir.path().join("vault");
    small_vault(&vault)?;
    write(dir.path(), "keep.txt", "mine")?;
    let before = snapshot(dir.path())?;
    let run = build(dir.path(), &vault, dir.path(), &[])?;
    run.expect_code(2)?;
    assert!(!run.stderr.trim().is_empty(), "no message");
    assert_eq!(
        snapshot(dir.path())?,
        before,
        "something was written or deleted"
    );

    let run = notebuild(&vault, ["build", ".", "--out", ".."])?;
    run.expect_code(2)?;
    assert_eq!(
        snapshot(dir.path())?,
        before,
        "something was written or deleted"
    );
    Ok(())
}

#[test]
fn a_folder_not_made_by_notebuild_is_not_replaced() -> TestResult {
    let dir = tempfile::tempdir()?;
    let vault = dir.path().join("vault");
    small_vault(&vault)?;
    let out = dir.path().join("docs");
    write(&out, "precious.txt", "the user's file")?;
    let before = snapshot(dir.path())?;
    let run = build(dir.path(), &vault, &out, &[])?;
    run.expect_code(2)?;
    assert!(!run.stderr.trim().is_empty(), "no message");
    assert_eq!(
        std::fs::read_to_string(out.join("precious.txt"))?,
        "the user's file"
    );
    assert_eq!(
        snapshot(dir.path())?,
        before,
        "something was written or deleted"
    );
    let names: Vec<String> = list_names(dir.path())?;
    assert_eq!(names, ["docs", "vault"], "no temporary folder is left");

    // An output path that is a file is refused too.
    let file = dir.path().join("docs/precious.txt");
    let run = build(dir.path(), &vault, &file, &[])?;
    run.expect_code(2)?;
    assert_eq!(
        snapshot(dir.path())?,
        before,
        "something was written or deleted"
    );
    Ok(())
}

fn list_names(dir: &Path) -> Result<Vec<String>, Error> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

#[test]
fn an_empty_existing_folder_is_used() -> TestResult {
    let dir = tempfile::tempdir()?;
    let vault = dir.path().join("vault");
    small_vault(&vault)?;
    let out = dir.path().join("site");
    std::fs::create_dir_all(&out)?;
    let run = build(dir.path(), &vault, &out, &[])?;
    run.expect_code(0)?;
    assert!(out.join("a.html").is_file() && out.join("index.html").is_file());
    Ok(())
}

#[test]
fn rebuilding_replaces_its_own_site() -> TestResult {
    let dir = tempfile::tempdir()?;
    let vault = dir.path().join("vault");
    small_vault(&vault)?;
    let out = dir.path().join("site");
    build(dir.path(), &vault, &out, &[])?.expect_code(0)?;
    assert!(out.join("b.html").is_file());
    assert!(out.join(".notebuild-site").is_file(), "the site is marked");

    std::fs::remove_file(vault.join("b.md"))?;
    write(&vault, "c.md", "# C\n\nNew note.\n")?;
    write(&out, "stray.txt", "left in the old site")?;
    let run = build(dir.path(), &vault, &out, &[])?;
    run.expect_code(0)?;
    assert!(out.join("a.html").is_file());
    assert!(out.join("c.html").is_file(), "the new note has a page");
    assert!(
        !out.join("b.html").exists(),
        "the deleted note's page is stale"
    );
    assert!(
        !out.join("stray.txt").exists(),
        "the old site was replaced whole"
    );
    assert!(out.join(".notebuild-site").is_file());
    assert_eq!(
        list_names(dir.path())?,
        ["site", "vault"],
        "no temporary or old folder is left next to the site"
    );
    // The link to the deleted note is now broken, and said so.
    run.expect_diagnostic("a.md:3", &["b"])?;
    Ok(())
}

#[test]
fn a_missing_vault_is_an_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("site");
    let run = build(dir.path(), &dir.path().join("no-such-vault"), &out, &[])?;
    run.expect_code(2)?;
    assert!(
        run.stderr.contains("no-such-vault"),
        "the message names the vault: {}",
        run.stderr
    );
    assert!(!out.exists(), "nothing is written");

    // A file is not a vault either.
    write(dir.path(), "note.md", "# Not a folder\n")?;
    let run = build(dir.path(), &dir.path().join("note.md"), &out, &[])?;
    run.expect_code(2)?;
    assert!(!out.exists(), "nothing is written");
    Ok(())
}

#[test]
fn defaults_build_notes_into_site() -> TestResult {
    let dir = tempfile::tempdir()?;
    small_vault(&dir.path().join("notes"))?;
    let run = notebuild(dir.path(), ["build"])?;
    run.expect_code(0)?;
    assert!(dir.path().join("site/index.html").is_file());
    assert!(dir.path().join("site/a.html").is_file());
    Ok(())
}

#[test]
fn output_inside_the_vault_is_not_read_back_as_notes() -> TestResult {
    let dir = tempfile::tempdir()?;
    let vault = dir.path().join("vault");
    small_vault(&vault)?;
    let out = vault.join("public");
    build(dir.path(), &vault, &out, &[])?.expect_code(0)?;
    let run = build(dir.path(), &vault, &out, &[])?;
    run.expect_code(0)?;
    let site = Site::read(&out)?;
    assert!(
        !site.files.iter().any(|f| f.starts_with("public/")),
        "the previous site was copied into the new one: {:?}",
        site.files
    );
    Ok(())
}

#[test]
fn title_and_quiet_options() -> TestResult {
    let dir = tempfile::tempdir()?;
    let vault = dir.path().join("vault");
    small_vault(&vault)?;
    write(&vault, "broken.md", "# Broken\n\n[[nowhere]]\n")?;
    let out = dir.path().join("site");
    let run = build(
        dir.path(),
        &vault,
        &out,
        &["--title", "My Course", "--quiet"],
    )?;
    run.expect_code(0)?;
    let index = std::fs::read_to_string(out.join("index.html"))?;
    let title = elements(&index, "<title>")
        .first()
        .map(|t| text_of(t))
        .unwrap_or_default();
    assert!(title.contains("My Course"), "<title>: {title}");
    run.expect_diagnostic("broken.md:3", &["nowhere"])?;
    assert!(
        !run.stderr.lines().any(|l| l.starts_with("Built ")),
        "--quiet prints no summary: {}",
        run.stderr
    );
    Ok(())
}

// =======================================================================================
// 4. The real seed note
// =======================================================================================

#[test]
fn the_seed_note_renders_every_formula() -> TestResult {
    let Some(seed) = common::shared("seed/matrix-calculus.md")? else {
        return Ok(());
    };
    let text = std::fs::read_to_string(&seed)?;
    let dir = tempfile::tempdir()?;
    let vault = dir.path().join("vault");
    write(&vault, "matrix-calculus.md", &text)?;
    let b = build_in(dir, &vault, &[])?;
    b.run.expect_code(0)?;

    let html = b.site.page("matrix-calculus.html")?;
    let content = note_content(html)?;

    // Every formula renders: as many <math> as `$…$`/`$$…$$` spans (56 today).
    let spans = count_math_spans(&text);
    assert!(spans >= 50, "the seed has {spans} formulas");
    assert_eq!(
        content.matches("<math").count(),
        spans,
        "one <math> per formula"
    );
    assert!(!html.contains("math-error"), "a formula failed to render");
    let prose = prose_text(content);
    assert!(
        !prose.contains('$'),
        "raw math left in the text: …{}…",
        context(&prose, "$")
    );
    let bad = display_math_then_br(content);
    assert!(bad.is_empty(), "display math followed by <br>: {bad:#?}");
    assert!(
        !content.to_ascii_lowercase().contains("</br"),
        "the seed's `</br>` lines are written `<br>`"
    );
    assert!(!html.contains("<!--SR"), "a review comment is left");
    assert!(!html.contains("SR:!2024"), "a review comment is left");

    // `>[!question]-` callouts: closed <details>, the answer inside them.
    let questions = text
        .lines()
        .filter(|l| l.starts_with(">[!question]-"))
        .count();
    let details = elements(
        content,
        "<details class=\"callout\" data-callout=\"question\"",
    );
    assert_eq!(
        details.len(),
        questions,
        "every question callout is a <details>"
    );
    for d in &details {
        let open_tag = &d[..d.find('>').unwrap_or(0) + 1];
        assert!(!has_boolean_attribute(open_tag, "open"), "{open_tag}");
    }
    let gradient = details
        .iter()
        .find(|d| text_of(d).contains("Write gradient of a function of 2 variables"))
        .ok_or_else(|| fail("no callout `Write gradient of a function of 2 variables`"))?;
    let annotations: Vec<String> = elements(gradient, "<annotation")
        .iter()
        .map(|a| text_of(a))
        .collect();
    assert!(
        annotations
            .iter()
            .any(|a| a.contains("\\nabla f(x, y) = \\begin{bmatrix}")),
        "the gradient's bmatrix is inside the callout: {gradient}"
    );
    let jacobian = details
        .iter()
        .find(|d| text_of(d).contains("Write the Jacobian"))
        .ok_or_else(|| fail("no callout `Write the Jacobian`"))?;
    assert!(
        jacobian.contains("J_{x} = \\frac{ \\partial \\mathbf{y} }"),
        "the Jacobian's answer is inside its callout: {jacobian}"
    );
    // The answers with lazy lines (no `>`) are inside too: every callout that is a
    // flashcard (a `?` line, then the answer) has math in its content, not only in its
    // title, and its `?` separator line is not shown.
    let mut answered = 0;
    for d in &details {
        let body = &d[d.find("</summary>").unwrap_or(0)..];
        if d.contains("data-flashcard") {
            answered += 1;
            assert!(
                body.contains("<math"),
                "a question callout lost its answer: {d}"
            );
            assert!(
                !text_of(body).lines().any(|l| l.trim() == "?"),
                "the separator line is not shown: {d}"
            );
            assert!(d.contains("id=\"card-"), "the card's anchor: {d}");
        }
    }
    assert_eq!(
        answered, 7,
        "the seed's seven cards are callouts with `?` then an answer"
    );

    // `#flashcards` is a tag with its page; the `#000000` in an HTML attribute is not.
    let tag = links(content, "matrix-calculus.html")
        .into_iter()
        .find(|l| l.text == "#flashcards")
        .ok_or_else(|| fail("no #flashcards tag link"))?;
    assert_eq!(tag.target.as_deref(), Some("tags/flashcards.html"));
    assert!(b.site.has("tags/flashcards.html"));
    assert!(!b.site.has("tags/000000.html"));

    // The image is not in the vault: reported, and shown as missing.
    b.run.expect_diagnostic(
        "matrix-calculus.md:14",
        &["Pasted image 20240707173504.png"],
    )?;
    let missing = elements(content, "<span class=\"embed-missing\"");
    assert_eq!(missing.len(), 1, "{content}");
    assert!(text_of(missing[0]).contains("Pasted image 20240707173504.png"));

    let broken = broken_links(&b.site);
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    Ok(())
}

// =======================================================================================
// 5. Help
// =======================================================================================

fn assert_mentions_exit_codes(help: &str) {
    let at = help
        .find("Exit codes")
        .unwrap_or_else(|| panic!("no `Exit codes` in the help:\n{help}"));
    let rest = &help[at..];
    for code in ["0", "1", "2"] {
        assert!(
            rest.contains(code),
            "exit code {code} not explained:\n{help}"
        );
    }
    assert!(
        rest.contains("--strict"),
        "exit code 1 is for --strict:\n{help}"
    );
}

#[test]
fn build_help_lists_the_arguments_and_exit_codes() -> TestResult {
    let dir = tempfile::tempdir()?;
    let run = notebuild(dir.path(), ["build", "--help"])?;
    run.expect_code(0)?;
    for word in [
        "VAULT",
        "--out",
        "--strict",
        "--follow-links",
        "--quiet",
        "--title",
    ] {
        assert!(
            run.stdout.contains(word),
            "`{word}` missing:\n{}",
            run.stdout
        );
    }
    assert_mentions_exit_codes(&run.stdout);
    Ok(())
}

#[test]
fn top_level_help_shows_the_build_usage_and_exit_codes() -> TestResult {
    let dir = tempfile::tempdir()?;
    let run = notebuild(dir.path(), ["--help"])?;
    run.expect_code(0)?;
    assert!(run.stdout.contains("build"), "{}", run.stdout);
    assert_mentions_exit_codes(&run.stdout);
    for word in ["VAULT", "--out", "--strict"] {
        assert!(
            run.stdout.contains(word),
            "`notebuild --help` does not mention `{word}`:\n{}",
            run.stdout
        );
    }
    Ok(())
}

#[test]
fn bad_usage_exits_2() -> TestResult {
    let dir = tempfile::tempdir()?;
    let run = notebuild(dir.path(), ["build", "--no-such-flag"])?;
    run.expect_code(2)?;
    let run = notebuild(dir.path(), ["frobnicate"])?;
    run.expect_code(2)?;
    Ok(())
}

// =======================================================================================
// 6. Rendering details
// =======================================================================================

/// Builds a vault of `files` (path, text) written in a fresh temporary folder.
fn build_files(files: &[(&str, &str)]) -> Result<Built, Error> {
    let dir = tempfile::tempdir()?;
    let vault = dir.path().join("vault");
    for (path, text) in files {
        write(&vault, path, text)?;
    }
    build_in(dir, &vault, &[])
}

/// The ids of `html`, failing when one is written twice.
fn unique_ids(html: &str, page: &str) -> Result<BTreeSet<String>, Error> {
    let dups = duplicate_ids(html);
    if !dups.is_empty() {
        return Err(fail(format!(
            "{page}: ids used more than once: {dups:?}\n{html}"
        )));
    }
    Ok(attribute_values(html, "id").into_iter().collect())
}

/// Display formulas (in a paragraph or not) directly followed by a `<br>`.
fn display_math_then_br(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for prefix in [
        "<span class=\"math math-display\"",
        "<div class=\"math math-display\"",
        "<span class=\"math-row\"",
        "<div class=\"math-row\"",
    ] {
        let name = if prefix.starts_with("<span") {
            "span"
        } else {
            "div"
        };
        for (at, _) in html.match_indices(prefix) {
            if let Some(element) = element_at(html, at, name) {
                let after = html[at + element.len()..].trim_start();
                if after.starts_with("<br") {
                    found.push(context(html, element));
                }
            }
        }
    }
    found
}

const OTHER_NOTE: &str = "# Other\n\n## Details\n\nDetail text.[^d] ^keep\n\n### Intro\n\nMore of other.\n\n[^d]: Other's footnote.\n";

#[test]
fn embeds_repeat_no_id_and_the_page_keeps_its_own() -> TestResult {
    let b = build_files(&[
        (
            "Host.md",
            "# Host\n\n## Intro\n\nHost text.[^1] ^hostblock\n\n![[Other]]\n\n![[Other]]\n\n\
             ![[Other#Details]]\n\n![[Other#^keep]]\n\n## Details\n\nThe host's own details.\n\n\
             [^1]: Host footnote.\n",
        ),
        ("Other.md", OTHER_NOTE),
        (
            "Linker.md",
            "# Linker\n\nSee [[Host#Details]], [[Host#Intro]] and [[Host#^hostblock]].\n",
        ),
    ])?;
    b.run.expect_code(0)?;
    assert!(b.run.diagnostics().is_empty(), "{}", b.run.stderr);
    let html = b.site.page("host.html")?;
    let ids = unique_ids(html, "host.html")?;
    let content = note_content(html)?;

    // Four transclusions, three of them holding a `Details` heading of their own.
    let embeds = elements(content, "<div class=\"embed-note\"");
    assert_eq!(embeds.len(), 4, "{content}");
    let details_headings = start_tags(content, "h2")
        .into_iter()
        .filter(|t| attribute(t, "id").is_some_and(|id| id.ends_with("details")))
        .count();
    assert_eq!(
        details_headings, 4,
        "the host's and three embedded: {content}"
    );
    for embed in &embeds {
        assert!(
            embed.contains("Detail text."),
            "the embed shows the note: {embed}"
        );
        for own in ["intro", "details", "^hostblock", "fn-1", "fnref-1"] {
            assert!(
                !attribute_values(embed, "id").contains(&own.to_string()),
                "an embed took the page's id `{own}`: {embed}"
            );
        }
    }

    // The page's own headings, block and footnote keep their ids: links from other
    // notes, the table of contents and the footnote work.
    for own in ["intro", "details", "^hostblock", "fn-1", "fnref-1"] {
        assert!(ids.contains(own), "no id=\"{own}\" on the page: {content}");
    }
    let targets: Vec<String> = links(note_content(b.site.page("linker.html")?)?, "linker.html")
        .into_iter()
        .filter_map(|l| l.target)
        .collect();
    for wanted in [
        "host.html#details",
        "host.html#intro",
        "host.html#^hostblock",
    ] {
        assert!(
            targets.iter().any(|t| t == wanted),
            "{wanted} not linked: {targets:?}"
        );
    }
    // Every in-page link (heading anchors and footnotes inside the embeds too) lands.
    let broken = broken_links(&b.site);
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    Ok(())
}

#[test]
fn embedding_a_missing_heading_or_block_shows_a_missing_embed() -> TestResult {
    let b = build_files(&[
        (
            "Host.md",
            "# Host\n\nBefore.\n\n![[Other#Missing heading]]\n\n![[Other#^nosuchblock]]\n\nAfter.\n",
        ),
        ("Other.md", OTHER_NOTE),
    ])?;
    b.run.expect_code(0)?;
    b.run.expect_diagnostic("Host.md:5", &["Missing heading"])?;
    b.run.expect_diagnostic("Host.md:7", &["nosuchblock"])?;
    let content = note_content(b.site.page("host.html")?)?;
    assert!(
        elements(content, "<div class=\"embed-note\"").is_empty(),
        "nothing is transcluded: {content}"
    );
    assert!(
        !content.contains("Detail text.") && !content.contains("More of other."),
        "the whole note is not embedded instead: {content}"
    );
    let missing = elements(content, "<span class=\"embed-missing\"");
    assert_eq!(missing.len(), 2, "{content}");
    assert!(
        text_of(missing[0]).contains("Missing heading"),
        "{}",
        missing[0]
    );
    assert!(
        text_of(missing[1]).contains("nosuchblock"),
        "{}",
        missing[1]
    );
    assert!(text_of(content).contains("After."));
    let problems = nesting_problems(b.site.page("host.html")?);
    assert!(problems.is_empty(), "{problems:?}");
    Ok(())
}

#[test]
fn a_closing_br_tag_is_written_as_br() -> TestResult {
    let b = build_files(&[(
        "Breaks.md",
        "# Breaks\n\nLine one</br>line two\n\n</br>\n</BR>\n\nthree <br/> four <br /> five </br > six\n",
    )])?;
    b.run.expect_code(0)?;
    let html = b.site.page("breaks.html")?;
    let content = note_content(html)?;
    assert!(
        !content.to_ascii_lowercase().contains("</br"),
        "a `</br>` is left: {content}"
    );
    assert!(content.contains("Line one<br>line two"), "{content}");
    assert!(
        content.contains("three <br/> four <br /> five <br> six"),
        "{content}"
    );
    assert_eq!(content.matches("<br>").count(), 4, "{content}");
    let problems = nesting_problems(html);
    assert!(problems.is_empty(), "{problems:?}");
    Ok(())
}

#[test]
fn a_line_break_after_display_math_adds_no_empty_line() -> TestResult {
    let b = build_files(&[(
        "Math.md",
        "# Math\n\nBefore the formula\n$$\na = b\n$$\nafter the formula\nnext line\n\n\
         > [!note] In a callout\n> $$c = d$$\n> after in the callout\n\n\
         - item\n  $$e = f$$\n  after in the item\n",
    )])?;
    b.run.expect_code(0)?;
    let content = note_content(b.site.page("math.html")?)?;
    assert_eq!(content.matches("<math").count(), 3, "{content}");
    let bad = display_math_then_br(content);
    assert!(bad.is_empty(), "display math followed by <br>: {bad:#?}");
    let text = text_of(content);
    for wanted in [
        "after the formula",
        "after in the callout",
        "after in the item",
    ] {
        assert!(text.contains(wanted), "`{wanted}` lost: {content}");
    }
    // The note's other line breaks are kept, as in Obsidian.
    assert!(content.contains("after the formula<br />"), "{content}");
    Ok(())
}

#[test]
fn footnotes_have_prefixed_ids_and_links_back() -> TestResult {
    let b = build_files(&[(
        "Notes.md",
        "# Notes\n\n## Fn 1\n\nFirst[^1], second[^note], first again[^1].\n\n\
         [^1]: The first footnote.\n[^note]: The second footnote.\n",
    )])?;
    b.run.expect_code(0)?;
    let html = b.site.page("notes.html")?;
    let ids = unique_ids(html, "notes.html")?;
    let content = note_content(html)?;
    for id in ["fn-1", "fn-2", "fnref-1", "fnref-1-2", "fnref-2"] {
        assert!(ids.contains(id), "no id=\"{id}\": {content}");
    }
    assert!(
        !ids.contains("1") && !ids.contains("note"),
        "bare ids: {ids:?}"
    );

    let all = links(content, "notes.html");
    let ref_targets: Vec<&str> = all
        .iter()
        .filter_map(|l| l.target.as_deref())
        .filter(|t| t.contains("#fn-"))
        .collect();
    assert_eq!(
        ref_targets,
        ["notes.html#fn-1", "notes.html#fn-2", "notes.html#fn-1"],
        "{content}"
    );
    let definitions = elements(content, "<div class=\"footnote-definition\"");
    assert_eq!(definitions.len(), 2, "{content}");
    let back = |definition: &str| -> Vec<String> {
        links(definition, "notes.html")
            .into_iter()
            .filter(|l| l.class.contains("footnote-backref"))
            .filter_map(|l| l.target)
            .collect()
    };
    assert!(text_of(definitions[0]).contains("The first footnote."));
    assert_eq!(
        back(definitions[0]),
        ["notes.html#fnref-1", "notes.html#fnref-1-2"],
        "{}",
        definitions[0]
    );
    assert!(text_of(definitions[0]).contains('↩'));
    assert_eq!(back(definitions[1]), ["notes.html#fnref-2"]);
    let broken = broken_links(&b.site);
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    Ok(())
}

#[test]
fn an_empty_callout_has_an_empty_content_div() -> TestResult {
    let b = build_files(&[(
        "Callouts.md",
        "# Callouts\n\n> [!note]- Folded, empty\n\n> [!tip] Open, empty\n\n\
         > [!warning]- With a body\n> Body text.\n",
    )])?;
    b.run.expect_code(0)?;
    let content = note_content(b.site.page("callouts.html")?)?;
    let contents = elements(content, "<div class=\"callout-content\"");
    assert_eq!(contents.len(), 3, "{content}");
    assert_eq!(contents[0], "<div class=\"callout-content\"></div>");
    assert_eq!(contents[1], "<div class=\"callout-content\"></div>");
    assert!(
        text_of(contents[2]).contains("Body text."),
        "{}",
        contents[2]
    );
    Ok(())
}

#[test]
fn a_size_command_keeps_its_argument() -> TestResult {
    let b = build_files(&[(
        "Sizes.md",
        "# Sizes\n\nInline $\\Huge{0}$ end.\n\n\
         $$\n\\begin{bmatrix} 1 & \\Huge{0} \\\\ \\Huge{0} & 1 \\end{bmatrix}\n$$\n",
    )])?;
    b.run.expect_code(0)?;
    assert!(b.run.diagnostics().is_empty(), "{}", b.run.stderr);
    let content = note_content(b.site.page("sizes.html")?)?;
    let shown = without_elements(content, "annotation");
    let maths = elements(&shown, "<math");
    assert_eq!(maths.len(), 2, "{content}");
    assert_eq!(maths[0].matches("<mn>0</mn>").count(), 1, "{}", maths[0]);
    assert_eq!(maths[1].matches("<mn>0</mn>").count(), 2, "{}", maths[1]);
    assert!(!content.contains("math-error"), "{content}");
    Ok(())
}

// =======================================================================================
// The checkers above, checked
// =======================================================================================

#[test]
fn the_checkers_find_what_they_look_for() -> TestResult {
    let dir = tempfile::tempdir()?;
    write(
        dir.path(),
        "a/page.html",
        concat!(
            "<p id=\"top\"><a href=\"../b.html\">ok</a> <a href=\"../missing.html\">x</a>",
            " <a href=\"../b.html#there\">ok</a> <a href=\"../b.html#nowhere\">x</a>",
            " <a href=\"#top\">ok</a> <a href=\"#gone\">x</a> <a href=\"https://e.org/\">ok</a>",
            " <img src=\"c%20d.png\"> <a href=\"../../up.html\">x</a></p>"
        ),
    )?;
    write(dir.path(), "b.html", "<h2 id=\"there\">B</h2>")?;
    write(dir.path(), "a/c d.png", PNG)?;
    let site = Site::read(dir.path())?;
    let broken = broken_links(&site);
    assert_eq!(broken.len(), 4, "{broken:#?}");
    for bad in ["missing.html", "#nowhere", "#gone", "up.html"] {
        assert!(
            broken.iter().any(|b| b.contains(bad)),
            "{bad} not found: {broken:#?}"
        );
    }

    assert!(nesting_problems("<div><p>a<br>b</p><img src=\"x\"><mspace /></div>").is_empty());
    assert_eq!(nesting_problems("<div><h2>x</div>").len(), 1);
    assert_eq!(nesting_problems("<div><p>x</p>").len(), 1);
    assert_eq!(duplicate_ids("<a id=\"x\"></a><b id=\"x\"></b>"), ["x"]);

    let text = "a $x$ b $$y$$ `$z$` \\$ c\n```\n$q$\n```\n$$\nw\n$$\n";
    assert_eq!(count_math_spans(text), 3);

    let run = Run {
        code: Some(0),
        stdout: String::new(),
        stderr: "warning: one\n  --> A.md:30:1\nwarning: two\n  ┌─ sub/B.md:3:2\n".into(),
    };
    assert!(run.diagnostic("A.md:3", &[]).is_none());
    assert!(run.diagnostic("A.md:30", &["one"]).is_some());
    assert!(
        run.diagnostic("B.md:3", &[]).is_none(),
        "B.md is not sub/B.md"
    );
    assert!(run.diagnostic("sub/B.md:3", &["TWO"]).is_some());
    Ok(())
}

#[test]
fn markdown_links_are_relative_to_the_note_and_missing_files_are_reported() -> TestResult {
    let b = build_files(&[
        ("A.md", "# A\n\nSee [B](sub/B.md#Part%20two).\n"),
        (
            "sub/B.md",
            "# B\n\n## Part two\n\nBack to [A](../A.md), the [figure](img/fig.png), \
             ![plot](../plot.png) and ![lost](lost.png), [paper](papers/p.pdf).\n",
        ),
        ("sub/img/fig.png", "png"),
        ("plot.png", "png"),
        (
            "Root.md",
            "# Root\n\nTo [B again](./sub/../sub/B.md), the [plot, page 2](plot.png?v=2#p2).\n",
        ),
    ])?;
    b.run.expect_code(0)?;
    let page = "sub/b.html";
    let content = note_content(b.site.page(page)?)?;
    let found = links(content, page);
    let back = found
        .iter()
        .find(|l| l.text == "A")
        .ok_or_else(|| fail(format!("no link back to A in {page}: {found:?}")))?;
    assert_eq!(back.target.as_deref(), Some("a.html"), "{back:?}");
    let figure = found
        .iter()
        .find(|l| l.text == "figure")
        .ok_or_else(|| fail(format!("no figure link in {page}: {found:?}")))?;
    assert_eq!(
        figure.target.as_deref(),
        Some("sub/img/fig.png"),
        "{figure:?}"
    );
    let images = attribute_values(content, "src");
    assert!(images.iter().any(|s| s == "../plot.png"), "{images:?}");
    // from the vault's root: `.` and `..` segments, and a query and fragment kept
    let root = links(note_content(b.site.page("root.html")?)?, "root.html");
    let again = root
        .iter()
        .find(|l| l.text == "B again")
        .ok_or_else(|| fail(format!("no link to B in root.html: {root:?}")))?;
    assert_eq!(again.target.as_deref(), Some("sub/b.html"), "{again:?}");
    let plot = root
        .iter()
        .find(|l| l.text == "plot, page 2")
        .ok_or_else(|| fail(format!("no plot link in root.html: {root:?}")))?;
    assert_eq!(plot.href.as_deref(), Some("plot.png?v=2#p2"), "{plot:?}");
    let paper = found
        .iter()
        .find(|l| l.text == "paper")
        .ok_or_else(|| fail(format!("no paper link in {page}: {found:?}")))?;
    assert!(paper.class.contains("is-unresolved"), "{paper:?}");
    assert_eq!(
        paper.href, None,
        "a link to a missing file goes nowhere: {paper:?}"
    );
    // the links that name no file of the vault are warnings at their line
    b.run.expect_diagnostic("sub/B.md:5", &["lost.png"])?;
    b.run.expect_diagnostic("sub/B.md:5", &["papers/p.pdf"])?;
    let all = b.run.diagnostics();
    assert_eq!(
        all.len(),
        2,
        "only the missing files are reported: {all:#?}"
    );
    Ok(())
}

#[test]
fn the_vault_settings_file_names_the_site_and_its_card_tags() -> TestResult {
    let b = build_files(&[
        (
            "notebuild.yaml",
            "title: Linear algebra notes\ncard_tags: [srs]\n",
        ),
        ("Cards.md", "# Cards\n\n#srs\n\nWhat is $I^{-1}$::$I$\n"),
        (
            "Plain.md",
            "# Plain\n\n#flashcards\n\nNot a card here::no\n",
        ),
    ])?;
    b.run.expect_code(0)?;
    let index = b.site.page("index.html")?;
    assert!(
        index.contains("<title>Linear algebra notes</title>"),
        "the file's title names the site"
    );
    assert!(
        !b.site.files.iter().any(|f| f.ends_with("notebuild.yaml")),
        "the settings file is not published: {:?}",
        b.site.files
    );
    // only notes tagged #srs hold cards now
    let cards = note_content(b.site.page("cards.html")?)?;
    assert_eq!(
        elements(cards, "<details class=\"flashcard").len(),
        1,
        "{cards}"
    );
    let plain = note_content(b.site.page("plain.html")?)?;
    assert!(
        elements(plain, "<details class=\"flashcard").is_empty(),
        "{plain}"
    );
    Ok(())
}

/// The search index lists every published note (title, address, headings, text with
/// formulas as TeX) and nothing left out of the site; every page loads the search.
#[test]
fn the_search_index_lists_the_published_notes() -> TestResult {
    let b = build_bundled(&[])?;
    b.run.expect_code(0)?;
    let script = std::fs::read_to_string(b.out.join("static/search-index.js"))?;
    let json = script
        .strip_prefix("window.notebuildSearchIndex = ")
        .and_then(|t| t.trim_end().strip_suffix(';'))
        .ok_or_else(|| {
            fail(format!(
                "not an index script: {}",
                &script[..80.min(script.len())]
            ))
        })?;
    let index: serde_json::Value = serde_json::from_str(json)?;
    let entries = index.as_array().ok_or("the index is not a list")?;
    let urls: BTreeSet<String> = entries
        .iter()
        .filter_map(|e| e["u"].as_str().map(str::to_string))
        .collect();
    let notes: BTreeSet<String> = b
        .site
        .pages
        .keys()
        .filter(|p| !p.starts_with("tags/") && !p.starts_with("quiz/"))
        .filter(|p| !SITE_PAGES.contains(&p.as_str()))
        .cloned()
        .collect();
    assert_eq!(urls, notes, "one entry per note page");
    let paths: Vec<&str> = entries.iter().filter_map(|e| e["p"].as_str()).collect();
    assert!(
        !paths.contains(&"Review/Draft - Hessians.md") && !paths.contains(&"Review/Scratchpad.md"),
        "unpublished notes stay out of the index: {paths:?}"
    );
    assert!(paths.contains(&"Rules/Chain Rule.md"), "{paths:?}");
    let chain = entries
        .iter()
        .find(|e| e["t"] == "Chain Rule")
        .ok_or("no Chain Rule entry")?;
    let headings = chain["h"].to_string();
    assert!(headings.contains("vector-chain-rule"), "{headings}");
    let text = chain["x"].as_str().unwrap_or_default();
    assert!(
        text.contains("$\\frac{d}{dx}"),
        "formulas read as TeX: {text}"
    );
    assert!(!text.contains("<math") && !text.contains('✓'), "{text}");
    for (path, html) in &b.site.pages {
        assert!(
            html.contains("static/search.js") && html.contains("class=\"site-search\""),
            "{path} has no search box"
        );
    }
    Ok(())
}

/// A note with a wrong identity says so in its header, linking to the badge; the
/// badge opens its details (hint first, then both sides' numbers) and names its entry
/// in the report, which carries that id; a verified badge is no tab stop.
#[test]
fn a_wrong_identity_is_announced_in_the_header_and_explained() -> TestResult {
    let b = build_bundled(&[])?;
    b.run.expect_code(0)?;
    let page = b.site.page("review/common-mistakes.html")?;
    let line = elements(page, "<p class=\"note-checks")
        .into_iter()
        .next()
        .ok_or("no check line in the note's header")?;
    assert!(text_of(line).contains("1 wrong identity"), "{line}");
    let target = attribute_values(line, "href")
        .into_iter()
        .next()
        .ok_or("the check line links nowhere")?;
    let id = target.trim_start_matches('#');
    let badge = start_tags(page, "span")
        .into_iter()
        .find(|t| attribute(t, "id").as_deref() == Some(id))
        .ok_or_else(|| fail(format!("no badge with id {id}")))?;
    assert!(badge.contains("badge-fail"), "{badge}");
    assert_eq!(
        attribute(badge, "tabindex").as_deref(),
        Some("0"),
        "{badge}"
    );
    let report = attribute(badge, "data-report").ok_or("the badge names no report entry")?;
    let checks = b.site.page("checks.html")?;
    assert!(
        checks.contains(&format!("id=\"{report}\"")),
        "checks.html has no entry {report}"
    );
    // The report lays the failure out the same way: the cause, then both sides.
    let entry = &checks[checks.find(&format!("id=\"{report}\"")).unwrap_or(0)..];
    let cause = entry.find("Likely cause").ok_or("no cause in the report")?;
    let sides = entry.find("right side").ok_or("no sides in the report")?;
    assert!(cause < sides);
    // The details: hint, then the example with both sides, then the seed.
    let at = page.find(&format!("id=\"{id}\"")).ok_or("badge")?;
    let end = page[at..]
        .find("</span></span><span class=\"badge")
        .or_else(|| page[at..].find("gives the same numbers"))
        .unwrap_or(0);
    let detail = &page[at..at + end + 30.min(page.len() - at - end)];
    let (hint, sides, seed) = (
        detail.find("Likely cause").ok_or("no hint")?,
        detail.find("right side").ok_or("no sides")?,
        detail.find("Seed ").ok_or("no seed")?,
    );
    assert!(hint < sides && sides < seed, "{detail}");
    assert!(!detail.contains("value:"), "jargon in {detail}");
    // Verified badges are reachable from the header, not each a tab stop.
    for tag in start_tags(page, "span") {
        if attribute(tag, "class").is_some_and(|c| c.starts_with("badge badge-pass"))
            && attribute(tag, "data-report").is_some()
        {
            assert!(attribute(tag, "tabindex").is_none(), "{tag}");
        }
    }
    // The home page sums up the checks.
    let index = b.site.page("index.html")?;
    let home = elements(index, "<p class=\"home-checks")
        .into_iter()
        .next()
        .ok_or("no check summary on the home page")?;
    assert!(text_of(home).contains("1 wrong"), "{home}");
    Ok(())
}

/// Every note page has previous and next links along the folder order, and the data
/// of the explorer, graph and previews is written as scripts.
#[test]
fn note_pages_link_previous_and_next_and_navigation_data_is_written() -> TestResult {
    let b = build_bundled(&[])?;
    b.run.expect_code(0)?;
    let start = b.site.page("start-here.html")?;
    let nav = elements(start, "<nav class=\"prev-next\"")
        .into_iter()
        .next()
        .ok_or("no previous/next on the first note")?;
    assert!(
        !nav.contains("rel=\"prev\""),
        "the first note has no previous: {nav}"
    );
    assert!(
        nav.contains("href=\"applications/activation-functions.html\""),
        "{nav}"
    );
    // The contents come before the note in the tab order, the explorer after it.
    let chain = b.site.page("rules/chain-rule.html")?;
    let (toc, article, explorer) = (
        chain.find("id=\"nb-toc-title\"").ok_or("no contents")?,
        chain.find("<article").ok_or("no article")?,
        chain.find("class=\"explorer\"").ok_or("no explorer")?,
    );
    assert!(toc < article && article < explorer);
    let second = b.site.page("applications/activation-functions.html")?;
    assert!(second.contains("rel=\"prev\" href=\"../start-here.html\""));
    for file in ["static/nav-data.js", "static/previews.js", "static/nav.js"] {
        assert!(
            b.site.has(file) || b.out.join(file).is_file(),
            "{file} missing"
        );
    }
    let data = std::fs::read_to_string(b.out.join("static/nav-data.js"))?;
    let json = data
        .strip_prefix("window.notebuildNav = ")
        .and_then(|t| t.trim_end().strip_suffix(';'))
        .ok_or("not a nav script")?;
    let nav: serde_json::Value = serde_json::from_str(json)?;
    let pages = nav["p"].as_array().ok_or("no pages")?;
    assert_eq!(pages[0]["u"], "start-here.html");
    assert!(
        !data.contains("Draft - Hessians"),
        "an unpublished note in the data"
    );
    assert!(!nav["l"].as_array().ok_or("no links")?.is_empty());
    let previews = std::fs::read_to_string(b.out.join("static/previews.js"))?;
    assert!(previews.contains("\"rules/chain-rule.html\""));
    assert!(
        !previews.contains(" id=\""),
        "ids would repeat on the page showing a preview"
    );
    Ok(())
}

/// `order:` in notebuild.yaml sets the reading order of previous and next; the notes
/// it does not name follow in folder order.
#[test]
fn previous_and_next_follow_the_order_of_the_settings() -> TestResult {
    let (dir, vault) = temp_vault(&[
        ("notebuild.yaml", "order:\n  - Zeta\n  - B/Alpha.md\n"),
        ("A first.md", "# A first\n\nText.\n"),
        ("Zeta.md", "# Zeta\n\nText.\n"),
        ("B/Alpha.md", "# Alpha\n\nText.\n"),
    ])?;
    let b = build_in(dir, &vault, &[])?;
    b.run.expect_code(0)?;
    let links = |page: &str| -> Result<(Option<String>, Option<String>), Error> {
        let html = b.site.page(page)?;
        let nav = elements(html, "<nav class=\"prev-next\"")
            .into_iter()
            .next()
            .unwrap_or("");
        let find = |rel: &str| {
            start_tags(nav, "a")
                .into_iter()
                .find(|t| attribute(t, "rel").as_deref() == Some(rel))
                .and_then(|t| attribute(t, "href"))
        };
        Ok((find("prev"), find("next")))
    };
    assert_eq!(links("zeta.html")?, (None, Some("b/alpha.html".into())));
    assert_eq!(
        links("b/alpha.html")?,
        (Some("../zeta.html".into()), Some("../a-first.html".into()))
    );
    assert_eq!(links("a-first.html")?, (Some("b/alpha.html".into()), None));
    Ok(())
}

/// On the quiz page and in a note's cards, each identity's badge stands right after
/// the formula that states it, not in a row under the answer.
#[test]
fn card_badges_stand_beside_their_formulas() -> TestResult {
    let b = build_bundled(&[])?;
    b.run.expect_code(0)?;
    for page in ["quiz/index.html", "review/flashcards-foundations.html"] {
        let html = b.site.page(page)?;
        let badges: Vec<usize> = html
            .match_indices("<span class=\"badge badge-")
            .map(|(k, _)| k)
            .collect();
        assert!(!badges.is_empty(), "{page} shows no badge");
        for k in badges {
            let before = &html[..k];
            assert!(
                before.ends_with("</math></span>")
                    || before.ends_with("<span class=\"badges\">")
                    || before.ends_with("</span></span>"),
                "{page}: a badge not beside its formula: …{}",
                &before[before.len().saturating_sub(80)..]
            );
        }
        assert!(!html.contains("class=\"quiz-badges\""), "{page}");
        assert!(!html.contains("class=\"flashcard-badges\""), "{page}");
    }
    Ok(())
}
