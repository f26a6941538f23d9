//! Reading aids around the notes: the check summary in a note's header and on the
//! home page, a verdict badge's details in plain words, the reading order (previous
//! and next), and the data of the explorer, the graphs and the link previews.
//!
//! The data the browser needs on every page (the folder tree, the links, the
//! previews) is written once as scripts, `static/nav-data.js` and
//! `static/previews.js`, each setting a `window.` variable: a `<script>` element loads
//! them from `file://` too, where browsers refuse `fetch`. `static/nav.js` draws the
//! explorer, the graphs, the previews, the theme toggle and the table of contents'
//! highlight from them.

use serde::Serialize;

use super::OutFile;
use super::html::{badge_id, escape_text, has_badge};
use crate::check::{Located, Status, Verdict};
use crate::extract::NoteInfo;
use crate::extract::cards::{Card, Schedule};
use crate::graph::{self, Graph};
use crate::slug;

/// The script with the folder tree and the links between notes.
pub const NAV_DATA: &str = crate::urls::NAV_DATA;
/// The script with each note's first paragraphs, for link previews.
pub const PREVIEW_DATA: &str = crate::urls::PREVIEW_DATA;
/// The script with every card's deck and schedule.
pub const CARDS_DATA: &str = crate::urls::CARDS_DATA;

/// The longest preview kept per note, in bytes of HTML (formulas are verbose MathML).
const MAX_PREVIEW: usize = 12 * 1024;
/// A preview stops after this much visible text.
const PREVIEW_TEXT: usize = 420;

// ---------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------

/// A badge the header links to.
#[derive(Debug, Clone, Serialize)]
pub struct CheckLink {
    /// The badge's id on the page.
    pub id: String,
    pub line: usize,
}

/// The verdicts shown on a note's page, for the line in its header.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckSummary {
    pub fail: usize,
    pub pass: usize,
    /// Skips that carry a badge (ambiguous, or true under a condition only).
    pub unsure: usize,
    pub fails: Vec<CheckLink>,
    pub unsures: Vec<CheckLink>,
    /// The first verified badge (the header's "verified" links to it).
    pub first_pass: Option<String>,
}

/// The summary of the badges of a note's identities.
pub fn check_summary(list: &[Located]) -> CheckSummary {
    let mut s = CheckSummary::default();
    for identity in list.iter().filter(|i| has_badge(i)) {
        let link = CheckLink {
            id: badge_id(identity),
            line: identity.line,
        };
        match identity.verdict.status() {
            Status::Pass => {
                s.pass += 1;
                s.first_pass.get_or_insert(link.id);
            }
            Status::Fail => {
                s.fail += 1;
                s.fails.push(link);
            }
            Status::Skip => {
                s.unsure += 1;
                s.unsures.push(link);
            }
        }
    }
    s
}

/// The verdicts of the whole vault, for the home page.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SiteChecks {
    pub pass: usize,
    pub fail: usize,
    pub skip: usize,
    pub total: usize,
}

pub fn site_checks(identities: &[Vec<Located>]) -> SiteChecks {
    let mut s = SiteChecks::default();
    for identity in identities.iter().flatten() {
        s.total += 1;
        match identity.verdict.status() {
            Status::Pass => s.pass += 1,
            Status::Fail => s.fail += 1,
            Status::Skip => s.skip += 1,
        }
    }
    s
}

/// The id of an identity's entry in the report (`checks.html`): unique in the site
/// (the note's index, then the badge's line and column).
pub fn report_id(note: usize, identity: &Located) -> String {
    format!("report-{note}-{}-{}", identity.line, identity.column)
}

/// The glyph and the words of a verdict's badge.
pub fn badge_look(status: Status) -> (&'static str, &'static str, &'static str) {
    match status {
        Status::Pass => ("badge-pass", "✓", "Identity verified"),
        Status::Fail => ("badge-fail", "✗", "Wrong identity"),
        // Not "?": that is also the question callout's and the flashcards' sign.
        Status::Skip => ("badge-skip", "○", "Identity not checked"),
    }
}

/// A badge's details as HTML (phrasing content only: it sits in a `<span>` inside the
/// paragraph): what went wrong in plain words, the hint first, then an example with
/// both sides' numbers, then the seed that reproduces it.
pub fn badge_detail(v: &Verdict) -> String {
    let (_, _, label) = badge_look(v.status());
    let mut out = format!("<span class=\"bd-title\">{label}</span>");
    match v.status() {
        Status::Pass => {
            out.push_str(&format!(
                "<span class=\"bd-line\">Both sides agree at {} random point{}.</span>",
                v.trials,
                if v.trials == 1 { "" } else { "s" }
            ));
        }
        Status::Fail => {
            if let Some(hint) = &v.hint {
                out.push_str(&format!(
                    "<span class=\"bd-hint\"><strong>Likely cause:</strong> {}</span>",
                    escape_text(hint)
                ));
            }
            let what = match v.kind() {
                Some("value") => "The two sides give different numbers.".to_string(),
                Some("shape") => format!(
                    "The two sides do not have the same shape: {}.",
                    v.message.trim_end_matches('.')
                ),
                _ => v.message.clone(),
            };
            out.push_str(&format!(
                "<span class=\"bd-line\">{}</span>",
                escape_text(&what)
            ));
            if let Some(example) = &v.counterexample {
                out.push_str(&counterexample_html(example));
            }
        }
        Status::Skip => {
            out.push_str(&format!(
                "<span class=\"bd-line\">{}</span>",
                escape_text(&v.message)
            ));
            if let Some(hint) = &v.hint {
                out.push_str(&format!(
                    "<span class=\"bd-hint\">{}</span>",
                    escape_text(hint)
                ));
            }
        }
    }
    out.push_str(&format!(
        "<span class=\"bd-seed\">Seed {0}: <code>notebuild check --seed {0}</code> gives the same numbers.</span>",
        v.seed
    ));
    out
}

/// A failure as the report lays it out (phrasing content): the likely cause, then the
/// example with both sides' numbers; empty for a pass or a skip.
pub fn failure_explained(v: &Verdict) -> String {
    if v.status() != Status::Fail {
        return String::new();
    }
    let mut out = String::new();
    if let Some(hint) = &v.hint {
        out.push_str(&format!(
            "<span class=\"bd-hint\"><strong>Likely cause:</strong> {}</span>",
            escape_text(hint)
        ));
    }
    if let Some(example) = &v.counterexample {
        out.push_str(&counterexample_html(example));
    }
    out
}

/// A failure's counterexample, laid out: the sizes, the entry, both sides' numbers.
/// The checker writes `trial 5: A 3×3, x 3×1; left 0.53 vs right -0.97 at entry (1, 2)
/// (seed 7)` or `sizes: A 3×3, x 3×1 (seed 7)`; anything else is shown as written.
fn counterexample_html(example: &str) -> String {
    let without_seed = match example.rfind(" (seed ") {
        Some(k) if example.ends_with(')') => &example[..k],
        _ => example,
    };
    if let Some(sizes) = without_seed.strip_prefix("sizes: ") {
        return format!(
            "<span class=\"bd-example\"><strong>Example:</strong> with {}.</span>",
            escape_text(sizes)
        );
    }
    let parsed = without_seed.strip_prefix("trial ").and_then(|rest| {
        let (trial, rest) = rest.split_once(": ")?;
        let (sizes, rest) = rest.rsplit_once("; left ")?;
        let (left, rest) = rest.split_once(" vs right ")?;
        let (right, entry) = match rest.split_once(" at entry ") {
            Some((r, e)) => (r, Some(e)),
            None => (rest, None),
        };
        Some((trial, sizes, left, right, entry))
    });
    let Some((trial, sizes, left, right, entry)) = parsed else {
        return format!(
            "<span class=\"bd-example\"><strong>Example:</strong> {}</span>",
            escape_text(example)
        );
    };
    // `sizes` gives each matrix's size and each scalar's value (`A 3×3, x = 1.3380`)
    let mut out = format!(
        "<span class=\"bd-example\"><strong>Example</strong> (random values, trial {}",
        escape_text(trial)
    );
    if !sizes.trim().is_empty() {
        out.push_str(&format!(", with {}", values_html(sizes.trim())));
    }
    out.push(')');
    if let Some(entry) = entry {
        out.push_str(&format!(", entry {} of the result", escape_text(entry)));
    }
    out.push_str(":</span>");
    out.push_str(&format!(
        "<span class=\"bd-sides\"><span class=\"bd-side\"><span class=\"bd-side-name\">left side</span> <span class=\"bd-num\">{}</span></span><span class=\"bd-side\"><span class=\"bd-side-name\">right side</span> <span class=\"bd-num\">{}</span></span></span>",
        escape_text(&minus(left)),
        escape_text(&minus(right))
    ));
    out
}

/// The point of a counterexample (`A = [0.1 0.2; 0.3 0.4] (2×2), x = 1.3380, B 5×5`),
/// each small matrix or vector laid out as one, the rest as written.
fn values_html(values: &str) -> String {
    // split at the commas between values, not inside brackets
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in values.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&values[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&values[start..]);
    parts
        .iter()
        .map(|p| matrix_html(p.trim()).unwrap_or_else(|| escape_text(&minus(p.trim()))))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `A = [0.1 0.2; 0.3 0.4] (2×2)` as the name and a grid of its entries.
fn matrix_html(value: &str) -> Option<String> {
    let (name, rest) = value.split_once(" = [")?;
    let (body, size) = rest.split_once("] (")?;
    size.strip_suffix(')')?;
    let rows: Vec<Vec<&str>> = body
        .split("; ")
        .map(|r| r.split(' ').filter(|x| !x.is_empty()).collect())
        .collect();
    let cols = rows.first()?.len();
    if cols == 0 || rows.iter().any(|r| r.len() != cols) {
        return None;
    }
    let cells: String = rows
        .iter()
        .flatten()
        .map(|x| format!("<span class=\"bd-num\">{}</span>", escape_text(&minus(x))))
        .collect();
    Some(format!(
        "{} = <span class=\"bd-matrix\" style=\"grid-template-columns: repeat({cols}, auto)\" \
         role=\"img\" aria-label=\"{}\">{cells}</span>",
        escape_text(name),
        escape_text(value)
    ))
}

/// A number with a true minus sign.
fn minus(number: &str) -> String {
    match number.strip_prefix('-') {
        Some(rest) => format!("−{rest}"),
        None => number.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Reading order
// ---------------------------------------------------------------------------------------

/// The published notes in reading order: those the vault's `order:` list names first
/// (by vault path, with or without `.md`, case-insensitive), then the rest in the
/// explorer's order (each folder's notes, then its sub-folders, by name).
pub fn reading_order(graph: &Graph, infos: &[NoteInfo], order: &[String]) -> Vec<usize> {
    let mut published: Vec<usize> = (0..infos.len().min(graph.pages.len()))
        .filter(|&i| graph.pages[i].published)
        .collect();
    published.sort_by_cached_key(|&i| tree_key(&infos[i].path));
    let key = |p: &str| {
        let p = p.trim().trim_start_matches('/').to_lowercase();
        p.strip_suffix(".md").map(str::to_string).unwrap_or(p)
    };
    let mut first = Vec::new();
    for wanted in order {
        let wanted = key(wanted);
        if let Some(k) = published.iter().position(|&i| {
            let path = key(&infos[i].path);
            path == wanted || path.rsplit('/').next() == Some(wanted.as_str())
        }) {
            first.push(published.remove(k));
        }
    }
    first.extend(published);
    first
}

/// Sorts a vault path in tree order: a folder's notes before its sub-folders.
fn tree_key(path: &str) -> Vec<(u8, String)> {
    let parts: Vec<&str> = path.split('/').collect();
    parts
        .iter()
        .enumerate()
        .map(|(k, part)| (u8::from(k + 1 < parts.len()), part.to_lowercase()))
        .collect()
}

/// A neighbour in the reading order.
#[derive(Debug, Clone, Serialize)]
pub struct Neighbour {
    pub title: String,
    pub url: String,
}

/// The notes before and after note `i` in `order`, with URLs relative to `from_page`.
pub fn prev_next(
    graph: &Graph,
    infos: &[NoteInfo],
    order: &[usize],
    position: &[Option<usize>],
    i: usize,
) -> (Option<Neighbour>, Option<Neighbour>) {
    let Some(Some(at)) = position.get(i) else {
        return (None, None);
    };
    let from = &graph.pages[i].url;
    let link = |k: usize| Neighbour {
        title: infos[k].title.clone(),
        url: slug::encode_path(&slug::relative_url(from, &graph.pages[k].url)),
    };
    let prev = at
        .checked_sub(1)
        .and_then(|p| order.get(p))
        .map(|&k| link(k));
    let next = order.get(at + 1).map(|&k| link(k));
    (prev, next)
}

/// Per note, its place in `order`.
pub fn positions(order: &[usize], notes: usize) -> Vec<Option<usize>> {
    let mut at = vec![None; notes];
    for (k, &i) in order.iter().enumerate() {
        if let Some(slot) = at.get_mut(i) {
            *slot = Some(k);
        }
    }
    at
}

// ---------------------------------------------------------------------------------------
// Explorer and graph data
// ---------------------------------------------------------------------------------------

#[derive(Serialize)]
struct NavPage<'a> {
    /// Title.
    t: &'a str,
    /// The page from the site's root (percent-encoded).
    u: String,
    /// The folder, `/`-separated (empty at the root).
    f: &'a str,
}

#[derive(Serialize)]
struct NavData<'a> {
    /// Published notes in reading order.
    p: Vec<NavPage<'a>>,
    /// Links, as pairs of indices into `p` (from, to), each once.
    l: Vec<(usize, usize)>,
}

/// `static/nav-data.js`: the notes in reading order (the explorer's tree and the
/// graphs' nodes) and the links between them.
pub fn nav_file(graph: &Graph, infos: &[NoteInfo], order: &[usize]) -> OutFile {
    let position = positions(order, infos.len());
    let pages = order
        .iter()
        .map(|&i| NavPage {
            t: &infos[i].title,
            u: slug::encode_path(&graph.pages[i].url),
            f: graph::folder_of(&infos[i].path),
        })
        .collect();
    let mut links = Vec::new();
    for (to, froms) in graph.backlinks.iter().enumerate() {
        let Some(Some(to)) = position.get(to) else {
            continue;
        };
        for &from in froms {
            if let Some(Some(from)) = position.get(from)
                && from != to
            {
                links.push((*from, *to));
            }
        }
    }
    links.sort_unstable();
    links.dedup();
    script_file(NAV_DATA, "notebuildNav", &NavData { p: pages, l: links })
}

/// `static/previews.js`: per page (from the site's root, percent-encoded), its title
/// and first paragraphs.
pub fn previews_file(previews: &[&(String, String, String)]) -> OutFile {
    let map: std::collections::BTreeMap<&str, (&str, &str)> = previews
        .iter()
        .map(|(url, title, html)| (url.as_str(), (title.as_str(), html.as_str())))
        .collect();
    script_file(PREVIEW_DATA, "notebuildPreviews", &map)
}

/// Writes the previews' file as [`previews_file`] makes it, without holding it: `urls`
/// are the notes' pages, `json(k, buf)` puts the title and preview of the `k`th (as
/// [`super::NoteRest::preview_json`] gives them) in `buf`.
pub fn write_previews(
    w: &mut dyn std::io::Write,
    urls: &[&str],
    json: &mut dyn FnMut(usize, &mut Vec<u8>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    // in the order of a map by page, the last of the notes with one page kept
    let mut order: Vec<usize> = (0..urls.len()).collect();
    order.sort_by(|&a, &b| urls[a].cmp(urls[b]).then(b.cmp(&a)));
    order.dedup_by(|b, a| urls[*a] == urls[*b]);
    w.write_all(b"window.notebuildPreviews = {")?;
    let mut buf = Vec::new();
    for (n, &k) in order.iter().enumerate() {
        if n > 0 {
            w.write_all(b",")?;
        }
        serde_json::to_writer(&mut *w, urls[k])?;
        w.write_all(b":")?;
        buf.clear();
        json(k, &mut buf)?;
        w.write_all(&buf)?;
    }
    w.write_all(b"};\n")
}

/// `static/cards-data.js`: every published card's id, deck and the schedule its note
/// writes (`[id, deck, due, interval]`), for the due and new counts that static/nav.js
/// shows beside the Quiz link and each deck (the learner's history in localStorage
/// overrides the note's schedule, as in static/quiz.js).
pub fn cards_file(cards: &[Vec<Card>], graph: &Graph) -> OutFile {
    let list: Vec<(&str, String, String, String)> = cards
        .iter()
        .zip(&graph.pages)
        .filter(|(_, page)| page.published)
        .flat_map(|(cs, _)| cs)
        .map(|card| {
            let (due, interval) = match &card.schedule {
                Some(Schedule::Sm2 { due, interval, .. }) => (due.clone(), interval.to_string()),
                Some(Schedule::Fsrs { due, interval, .. }) => (
                    due.get(..10).unwrap_or(due).to_string(),
                    format!("{}", interval.round().max(1.0)),
                ),
                None => (String::new(), String::new()),
            };
            (card.id.as_str(), card.deck.join("/"), due, interval)
        })
        .collect();
    script_file(CARDS_DATA, "notebuildCards", &list)
}

fn script_file(path: &str, variable: &str, value: &impl Serialize) -> OutFile {
    // Serialised straight into the file's bytes: the data of a big site is large.
    let mut contents = format!("window.{variable} = ").into_bytes();
    let prefix = contents.len();
    if serde_json::to_writer(&mut contents, value).is_err() {
        contents.truncate(prefix);
        contents.extend_from_slice(b"null");
    }
    contents.extend_from_slice(b";\n");
    OutFile {
        path: path.to_string(),
        contents,
    }
}

/// The preview of a note: its first paragraphs as rendered (without ids, which would
/// repeat on the page showing it, and without verdict badges), a few hundred
/// characters of text at most.
pub fn preview_of(body_html: &str) -> String {
    let mut out = String::new();
    let mut text = 0;
    let mut rest = body_html;
    while let Some(start) = rest.find("<p>") {
        let Some(len) = rest[start..].find("</p>") else {
            break;
        };
        let paragraph = &rest[start..start + len + "</p>".len()];
        rest = &rest[start + len + "</p>".len()..];
        let clean = strip_ids(&strip_badges(paragraph));
        let visible = super::search::visible_text(&clean);
        if visible.trim().is_empty() {
            continue;
        }
        if !out.is_empty() && out.len() + clean.len() > MAX_PREVIEW {
            break;
        }
        if clean.len() > MAX_PREVIEW {
            out.push_str(&format!(
                "<p>{}</p>",
                escape_text(&cut(&visible, PREVIEW_TEXT))
            ));
        } else {
            out.push_str(&clean);
        }
        text += visible.len();
        if text >= PREVIEW_TEXT {
            break;
        }
    }
    out
}

/// `text`'s first `max` bytes or so, cut at a character boundary, with an ellipsis.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// `html` without its verdict badges (`<span class="badge…">…</span>`, nested spans
/// included).
fn strip_badges(html: &str) -> String {
    const OPEN: &str = "<span class=\"badge";
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(k) = rest.find(OPEN) {
        out.push_str(&rest[..k]);
        let mut depth = 0usize;
        let mut at = k;
        loop {
            let tail = &rest[at..];
            let next_open = tail.find("<span");
            let next_close = tail.find("</span>");
            match (next_open, next_close) {
                (Some(o), Some(c)) if o < c => {
                    depth += 1;
                    at += o + "<span".len();
                }
                (_, Some(c)) => {
                    depth = depth.saturating_sub(1);
                    at += c + "</span>".len();
                    if depth == 0 {
                        break;
                    }
                }
                _ => {
                    at = rest.len();
                    break;
                }
            }
        }
        rest = &rest[at..];
    }
    out.push_str(rest);
    out
}

/// `html` without `id="…"` attributes.
fn strip_ids(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(k) = rest.find(" id=\"") {
        out.push_str(&rest[..k]);
        let after = &rest[k + " id=\"".len()..];
        rest = after.find('"').map_or("", |e| &after[e + 1..]);
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_previews_are_the_previews_file() -> Result<(), Box<dyn std::error::Error>> {
        // unsorted pages, one page twice (the later note wins, as in a map), characters
        // JSON escapes
        let previews: Vec<(String, String, String)> = [
            ("b.html", "B", "<p>bee</p>"),
            ("a%20b.html", "A \"quoted\"", "<p>a\\b</p>"),
            ("b.html", "B again", "<p>second</p>"),
            ("\u{e9}t\u{e9}.html", "Été", ""),
        ]
        .iter()
        .map(|(u, t, h)| (u.to_string(), t.to_string(), h.to_string()))
        .collect();
        let refs: Vec<&(String, String, String)> = previews.iter().collect();
        let whole = previews_file(&refs).contents;
        let urls: Vec<&str> = previews.iter().map(|p| p.0.as_str()).collect();
        let mut streamed = Vec::new();
        write_previews(&mut streamed, &urls, &mut |k, buf| {
            serde_json::to_writer(buf, &(&previews[k].1, &previews[k].2))
                .map_err(std::io::Error::other)
        })?;
        assert_eq!(String::from_utf8(streamed)?, String::from_utf8(whole)?);
        let mut empty = Vec::new();
        write_previews(&mut empty, &[], &mut |_, _| Ok(()))?;
        assert_eq!(empty, previews_file(&[]).contents);
        Ok(())
    }

    #[test]
    fn counterexample_laid_out_with_both_sides() {
        let html = counterexample_html(
            "trial 5: A 3×3, x 3×1; left 0.532886 vs right -0.969726 at entry (1, 2) (seed 24301)",
        );
        assert!(html.contains("with A 3×3, x 3×1"), "{html}");
        assert!(html.contains("entry (1, 2) of the result"), "{html}");
        assert!(
            html.contains("<span class=\"bd-num\">−0.969726</span>"),
            "{html}"
        );
        assert!(!html.contains("seed"), "{html}");
        let other = counterexample_html("<b>odd</b>");
        assert!(other.contains("&lt;b&gt;odd"), "{other}");
    }

    #[test]
    fn small_matrices_of_a_counterexample_are_laid_out_as_grids() {
        let html = counterexample_html(
            "trial 2: A = [0.5 -1.25; 2.0 0.125] (2×2), t = 1.5000, B 6×6; left 1.0 vs right -2.0 (seed 7)",
        );
        assert!(
            html.contains(
                "A = <span class=\"bd-matrix\" style=\"grid-template-columns: repeat(2, auto)\""
            ),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"bd-num\">−1.25</span><span class=\"bd-num\">2.0</span>"),
            "{html}"
        );
        assert!(html.contains(", t = 1.5000, B 6×6"), "{html}");
        // a malformed matrix is shown as written
        let ragged = counterexample_html("trial 1: A = [1 2; 3] (2×2); left 1 vs right 2 (seed 7)");
        assert!(!ragged.contains("bd-matrix"), "{ragged}");
        assert!(ragged.contains("A = [1 2; 3] (2×2)"), "{ragged}");
    }

    #[test]
    fn preview_keeps_first_paragraphs_without_ids_or_badges() {
        let body = "<h2 id=\"a\">A</h2>\n<p>First <a id=\"x\" href=\"b.html\">link</a> and <span class=\"math math-inline\">m</span><span class=\"badge badge-pass\" id=\"check-1-1\">✓<span class=\"badge-detail\"><span>d</span></span></span> end.</p>\n<p>Second.</p>";
        let p = preview_of(body);
        assert_eq!(
            p,
            "<p>First <a href=\"b.html\">link</a> and <span class=\"math math-inline\">m</span> end.</p><p>Second.</p>"
        );
    }

    #[test]
    fn tree_order_puts_a_folders_notes_before_its_subfolders() {
        let mut paths = vec!["B/x.md", "a.md", "B/C/y.md", "B/a.md", "z.md"];
        paths.sort_by_key(|p| tree_key(p));
        assert_eq!(paths, ["a.md", "z.md", "B/a.md", "B/x.md", "B/C/y.md"]);
    }
}
