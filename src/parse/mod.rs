//! Stage 2: Obsidian-flavoured markdown → a flat stream of [`Node`]s.
//!
//! CommonMark (tables, footnotes, task lists, strikethrough) is parsed by pulldown-cmark;
//! the Obsidian constructs are found first by [`scan`] and come out as nodes of their own,
//! each with its place in the note. Callouts (`> [!type]- Title`) are recognised on the
//! parsed blockquotes, and every heading gets a stable id.

pub mod frontmatter;
pub mod macros;
pub mod scan;

use std::collections::HashSet;
use std::ops::Range;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};
use regex::Regex;
use std::sync::LazyLock;

use crate::diagnostics::Diagnostic;
use crate::slug;
use crate::vault::SourceFile;

pub use frontmatter::FrontMatter;
pub use scan::Fragment;

/// Where the notes' texts are kept when the notes do not hold them (a cold build lets
/// each go once it is read, and reads it again for the pages that show it).
pub trait NoteTexts: Send + Sync + std::fmt::Debug {
    /// The text of note `index`.
    fn text(&self, index: usize) -> String;
}

/// A parsed note.
#[derive(Debug, Clone)]
pub struct ParsedNote {
    /// Path relative to the vault, `/`-separated.
    pub path: String,
    /// The note's whole text, for diagnostics.
    pub text: String,
    pub front: FrontMatter,
    pub nodes: Vec<Node>,
    pub modified: Option<std::time::SystemTime>,
    pub diagnostics: Vec<Diagnostic>,
    /// The TeX macros in force at the end of the note (the vault's and the note's own):
    /// for markdown rendered later in its context (flashcards).
    pub macros: crate::tex::macros::Macros,
}

/// One element of a parsed note, in document order.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Plain markdown, as pulldown-cmark gives it.
    Md(Event<'static>),
    Math(Math),
    Link(WikiLink),
    Tag(TagRef),
    /// `^block-id`: an anchor for `[[note#^block-id]]`.
    BlockAnchor(String),
    /// `==` opening or closing a highlight.
    Highlight {
        open: bool,
    },
    CalloutStart(Callout),
    CalloutEnd,
    /// Where the paragraph or list item that follows comes from: its byte range in the
    /// note's text (review comments that end it included). Writes nothing.
    Source(Range<usize>),
}

/// A formula, `$...$` or `$$...$$`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Math {
    pub tex: String,
    pub display: bool,
    /// Byte range of the whole span (delimiters included) in the note's text.
    pub range: Range<usize>,
    /// The TeX with the vault's and the note's macros expanded, when it uses any
    /// ([`macros::expand`]).
    pub expanded: Option<crate::tex::macros::Expanded>,
}

impl Math {
    /// The TeX to render and check: with macros expanded.
    pub fn tex_to_read(&self) -> &str {
        self.expanded.as_ref().map_or(&self.tex, |e| &e.tex)
    }

    /// The byte offset in [`Math::tex`] that produced byte `at` of [`Math::tex_to_read`].
    pub fn source_offset(&self, at: usize) -> usize {
        self.expanded.as_ref().map_or(at, |e| e.to_source(at))
    }
}

/// `[[target#fragment|label]]` or the embed `![[target|options]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WikiLink {
    /// The note or file named; empty for `[[#Heading]]` (this note).
    pub target: String,
    pub fragment: Option<Fragment>,
    /// Shown text; for an embed, its options (`center|600`, `100x200`).
    pub label: Option<String>,
    pub embed: bool,
    pub range: Range<usize>,
}

/// An inline `#tag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRef {
    pub name: String,
    pub range: Range<usize>,
}

/// Whether a callout folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    /// Always open.
    None,
    /// `+`: foldable, open at first.
    Open,
    /// `-`: foldable, closed at first.
    Closed,
}

/// `> [!type]± Title`.
#[derive(Debug, Clone, PartialEq)]
pub struct Callout {
    /// Obsidian's canonical type (`note`, `tip`, `warning`, ...); unknown types are `note`.
    pub kind: &'static str,
    /// The type as written.
    pub written: String,
    pub fold: Fold,
    /// The title's inline nodes; empty when the callout has no title of its own.
    pub title: Vec<Node>,
    /// Byte offset of the `[!` in the note's text.
    pub offset: usize,
}

/// Markdown extensions notebuild turns on.
pub fn markdown_options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
}

/// Parses one note.
pub fn parse(file: &SourceFile) -> ParsedNote {
    let (front, nodes, diagnostics) = parse_text(&file.path, &file.text);
    ParsedNote {
        path: file.path.clone(),
        text: file.text.clone(),
        front,
        nodes,
        modified: file.modified,
        diagnostics,
        macros: crate::tex::macros::Macros::default(),
    }
}

/// Parses one note, taking its text.
pub fn parse_owned(file: SourceFile) -> ParsedNote {
    let (front, nodes, diagnostics) = parse_text(&file.path, &file.text);
    ParsedNote {
        path: file.path,
        text: file.text,
        front,
        nodes,
        modified: file.modified,
        diagnostics,
        macros: crate::tex::macros::Macros::default(),
    }
}

/// The nodes of `note` parsed again from its text, its formulas' macros expanded from
/// `vault` as [`macros::expand`] did: the same nodes as the first time, for a build
/// that let them go after reading what it needed (so that the nodes of every note are
/// never held at once).
pub fn nodes_again(note: &ParsedNote, vault: &crate::tex::macros::Macros) -> Vec<Node> {
    nodes_of(&note.path, &note.text, vault)
}

/// [`nodes_again`] for the note at `path` whose text is `text` (a note that let its
/// text go too).
pub fn nodes_of(path: &str, text: &str, vault: &crate::tex::macros::Macros) -> Vec<Node> {
    let (mut nodes, _) = parse_body(path, text, frontmatter::body_start(text));
    macros::expand_nodes(&mut nodes, vault);
    nodes
}

/// The front matter, the nodes and the problems of the note at `path` with text `text`.
fn parse_text(path: &str, text: &str) -> (FrontMatter, Vec<Node>, Vec<Diagnostic>) {
    let split = frontmatter::split(path, text);
    let (nodes, problems) = parse_body(path, text, split.body_start);
    let mut diagnostics = split.diagnostics;
    diagnostics.extend(problems);
    (split.front, nodes, diagnostics)
}

/// The nodes and the problems of the body of the note at `path` with text `text`, which
/// starts at byte `base`.
fn parse_body(path: &str, text: &str, base: usize) -> (Vec<Node>, Vec<Diagnostic>) {
    let body = &text[base..];
    let mut diagnostics = Vec::new();
    let (protect, drop, tables) = protected_ranges(body);
    let scanned = scan::scan(path, text, base, body, &protect, &drop, &tables);
    let mut nodes = to_nodes(&scanned, base);
    diagnostics.extend(scanned.diagnostics);
    recognise_callouts(&mut nodes);
    assign_heading_ids(&mut nodes);
    // A note's nodes may be kept until the site is written: no slack.
    nodes.shrink_to_fit();
    (nodes, diagnostics)
}

static REVIEW_COMMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<!--SR:[^>]*-->").unwrap_or_else(|_| unreachable!("constant regex"))
});

/// Byte ranges of a note's body.
type Ranges = Vec<Range<usize>>;

/// Ranges of the body the scanner must leave alone (code and raw HTML), the
/// spaced-repetition review comments it must remove, and the tables.
fn protected_ranges(body: &str) -> (Ranges, Ranges, Ranges) {
    let mut protect: Vec<Range<usize>> = Vec::new();
    let mut tables: Vec<Range<usize>> = Vec::new();
    let mut code: Vec<Range<usize>> = Vec::new();
    let mut in_code: Option<usize> = None;
    for (event, range) in Parser::new_ext(body, markdown_options()).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(_)) => in_code = Some(range.start),
            Event::End(TagEnd::CodeBlock) => {
                if let Some(start) = in_code.take() {
                    code.push(start..range.end);
                }
            }
            Event::Code(_) if in_code.is_none() => code.push(range),
            Event::Start(Tag::Table(_)) => tables.push(range),
            Event::Html(_) | Event::InlineHtml(_) if in_code.is_none() => protect.push(range),
            _ => {}
        }
    }
    protect.extend(code.iter().cloned());
    protect.sort_by_key(|r| r.start);
    // A review comment is raw HTML to the markdown parser: drop it unless it sits in code.
    let in_code = |at: usize| code.iter().any(|r| r.start <= at && at < r.end);
    let drop: Vec<Range<usize>> = REVIEW_COMMENT
        .find_iter(body)
        .map(|m| m.range())
        .filter(|r| !in_code(r.start))
        .collect();
    (protect, drop, tables)
}

/// Runs pulldown-cmark on the scanned text and puts the constructs back as nodes; each
/// paragraph is preceded by a [`Node::Source`] giving its place in the note.
fn to_nodes(scanned: &scan::Scan, base: usize) -> Vec<Node> {
    let text = &scanned.text;
    let mut slots: Vec<Option<scan::Located>> = scanned.items.iter().cloned().map(Some).collect();
    let mut nodes = Vec::new();
    let mut pending = String::new();
    // Index in `nodes` of each open paragraph's `Source` marker.
    let mut open_paragraphs: Vec<usize> = Vec::new();
    for (event, range) in Parser::new_ext(text, markdown_options()).into_offset_iter() {
        match event {
            Event::Text(t) => pending.push_str(&t),
            other => {
                flush_text(&mut pending, &mut slots, &mut nodes);
                match &other {
                    Event::Start(Tag::Paragraph | Tag::Item) => {
                        let start = base + scanned.body_offset(range.start);
                        open_paragraphs.push(nodes.len());
                        nodes.push(Node::Source(start..start));
                    }
                    Event::End(TagEnd::Paragraph | TagEnd::Item) => {
                        if let Some(k) = open_paragraphs.pop()
                            && let Some(Node::Source(r)) = nodes.get_mut(k)
                        {
                            r.end = base + scanned.body_offset(range.end);
                        }
                    }
                    _ => {}
                }
                nodes.push(Node::Md(other.into_static()));
            }
        }
    }
    flush_text(&mut pending, &mut slots, &mut nodes);
    nodes
}

fn flush_text(pending: &mut String, slots: &mut [Option<scan::Located>], nodes: &mut Vec<Node>) {
    if pending.is_empty() {
        return;
    }
    let mut rest = pending.as_str();
    while let Some(open) = rest.find(scan::OPEN) {
        let after = &rest[open + scan::OPEN.len_utf8()..];
        let Some(close) = after.find(scan::CLOSE) else {
            break;
        };
        let index: Option<usize> = after[..close].parse().ok();
        let item = index.and_then(|i| slots.get_mut(i)).and_then(Option::take);
        if open > 0 {
            nodes.push(Node::Md(Event::Text(CowStr::from(
                rest[..open].to_string(),
            ))));
        }
        if let Some(located) = item {
            nodes.push(node_of(located));
        }
        rest = &after[close + scan::CLOSE.len_utf8()..];
    }
    if !rest.is_empty() {
        nodes.push(Node::Md(Event::Text(CowStr::from(rest.to_string()))));
    }
    pending.clear();
}

fn node_of(located: scan::Located) -> Node {
    let range = located.range;
    match located.item {
        scan::Item::Math { tex, display } => Node::Math(Math {
            tex,
            display,
            range,
            expanded: None,
        }),
        scan::Item::WikiLink {
            target,
            fragment,
            label,
            embed,
        } => Node::Link(WikiLink {
            target,
            fragment,
            label,
            embed,
            range,
        }),
        scan::Item::Tag(name) => Node::Tag(TagRef { name, range }),
        scan::Item::BlockAnchor(id) => Node::BlockAnchor(id),
        scan::Item::HighlightOpen => Node::Highlight { open: true },
        scan::Item::HighlightClose => Node::Highlight { open: false },
    }
}

static CALLOUT_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*\[!([A-Za-z0-9_-]+)\]([+-]?)[ \t]*")
        .unwrap_or_else(|_| unreachable!("constant regex"))
});

/// Obsidian's callout types and aliases, mapped to the canonical type.
pub fn canonical_callout(kind: &str) -> &'static str {
    match kind.to_ascii_lowercase().as_str() {
        "abstract" | "summary" | "tldr" => "abstract",
        "info" => "info",
        "todo" => "todo",
        "tip" | "hint" | "important" => "tip",
        "success" | "check" | "done" => "success",
        "question" | "help" | "faq" => "question",
        "warning" | "caution" | "attention" => "warning",
        "failure" | "fail" | "missing" => "failure",
        "danger" | "error" => "danger",
        "bug" => "bug",
        "example" => "example",
        "quote" | "cite" => "quote",
        _ => "note",
    }
}

/// Turns blockquotes whose first line is `[!type]` into callouts.
fn recognise_callouts(nodes: &mut Vec<Node>) {
    let mut out: Vec<Node> = Vec::with_capacity(nodes.len());
    // For each open blockquote: is it a callout?
    let mut quotes: Vec<bool> = Vec::new();
    let mut i = 0;
    let source = std::mem::take(nodes);
    while i < source.len() {
        match &source[i] {
            Node::Md(Event::Start(Tag::BlockQuote(_))) => {
                if let Some((callout, next, reopen)) = callout_at(&source, i) {
                    out.push(Node::CalloutStart(callout));
                    if reopen {
                        out.push(Node::Md(Event::Start(Tag::Paragraph)));
                    }
                    quotes.push(true);
                    i = next;
                    continue;
                }
                quotes.push(false);
                out.push(source[i].clone());
            }
            Node::Md(Event::End(TagEnd::BlockQuote(_))) => {
                if quotes.pop() == Some(true) {
                    out.push(Node::CalloutEnd);
                } else {
                    out.push(source[i].clone());
                }
            }
            other => out.push(other.clone()),
        }
        i += 1;
    }
    *nodes = out;
}

/// When the blockquote starting at `i` is a callout: the callout, the index of the
/// first node of its body (the title line consumed), and whether the body starts
/// inside the title's paragraph (which must then be reopened).
fn callout_at(nodes: &[Node], i: usize) -> Option<(Callout, usize, bool)> {
    // The title's paragraph, after its source marker (which says where `[!` is).
    let (i, marker) = match nodes.get(i + 1) {
        Some(Node::Source(range)) => (i + 1, Some(range.start)),
        _ => (i, None),
    };
    if nodes.get(i + 1) != Some(&Node::Md(Event::Start(Tag::Paragraph))) {
        return None;
    }
    let Some(Node::Md(Event::Text(first))) = nodes.get(i + 2) else {
        return None;
    };
    let caps = CALLOUT_MARKER.captures(first)?;
    let written = caps.get(1)?.as_str().to_string();
    let fold = match caps.get(2).map(|m| m.as_str()) {
        Some("-") => Fold::Closed,
        Some("+") => Fold::Open,
        _ => Fold::None,
    };
    let rest = &first[caps.get(0)?.end()..];
    let mut title = Vec::new();
    if !rest.trim().is_empty() {
        title.push(Node::Md(Event::Text(CowStr::from(rest.to_string()))));
    }
    // The title runs to the end of the first line.
    let mut j = i + 3;
    let body_start;
    loop {
        match nodes.get(j) {
            None => return None,
            Some(Node::Md(Event::SoftBreak | Event::HardBreak)) => {
                // The rest of the paragraph is the body's first paragraph.
                body_start = j;
                break;
            }
            Some(Node::Md(Event::End(TagEnd::Paragraph))) => {
                body_start = j + 1;
                break;
            }
            Some(node) => title.push(node.clone()),
        }
        j += 1;
    }
    let offset = marker.or_else(|| first_offset(nodes, i)).unwrap_or(0);
    let callout = Callout {
        kind: canonical_callout(&written),
        written,
        fold,
        title,
        offset,
    };
    // After a line break the rest of the first paragraph is the body's first paragraph.
    let reopen = matches!(
        nodes.get(body_start),
        Some(Node::Md(Event::SoftBreak | Event::HardBreak))
    );
    let next = if reopen { body_start + 1 } else { body_start };
    Some((callout, next, reopen))
}

fn first_offset(nodes: &[Node], from: usize) -> Option<usize> {
    nodes[from..].iter().find_map(|n| match n {
        Node::Math(m) => Some(m.range.start),
        Node::Link(l) => Some(l.range.start),
        Node::Tag(t) => Some(t.range.start),
        _ => None,
    })
}

/// Gives every heading a unique id from its text.
///
/// The ids are unique in the note, and never take a shape the renderer uses for ids of
/// its own on the same page (`fn-1`, `fnref-1-2` for footnotes, `check-3-5` for badges,
/// `nb-…` for the page's template), so that every id of a page stays unique.
fn assign_heading_ids(nodes: &mut [Node]) {
    let mut used: HashSet<String> = HashSet::new();
    // The next suffix to try for each base, so that many equal headings take linear time.
    let mut next_suffix: std::collections::HashMap<String, usize> = Default::default();
    let mut i = 0;
    while i < nodes.len() {
        if let Node::Md(Event::Start(Tag::Heading { .. })) = &nodes[i] {
            let text = plain_text_until_end(&nodes[i + 1..]);
            let mut base = slug::slugify(&text);
            if base.is_empty() {
                base = "section".to_string();
            }
            // `fn` too: its duplicates would be `fn-1`, `fn-2`…
            if is_reserved_id(&base) || is_reserved_id(&format!("{base}-1")) {
                base = format!("h-{base}");
            }
            // `proof`, `proof-1`, `proof-2`…; skipping a suffix another heading took
            // (`# Proof`, `# Proof`, `# Proof 1`).
            let mut id = base.clone();
            let n = next_suffix.entry(base.clone()).or_insert(1);
            while used.contains(&id) {
                id = format!("{base}-{n}");
                *n += 1;
            }
            used.insert(id.clone());
            if let Node::Md(Event::Start(Tag::Heading { id: slot, .. })) = &mut nodes[i] {
                *slot = Some(CowStr::from(id));
            }
        }
        i += 1;
    }
}

/// Whether `id` has the shape of an id the renderer or the page template writes:
/// `fn-N`, `fnref-N(-N)`, `check-N-N`, or anything starting `nb-`.
fn is_reserved_id(id: &str) -> bool {
    if id.starts_with("nb-") {
        return true;
    }
    ["fn", "fnref", "check"].iter().any(|prefix| {
        id.strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|rest| {
                rest.split('-')
                    .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
            })
    })
}

/// The plain text of inline nodes up to the end of the enclosing element.
pub fn plain_text_until_end(nodes: &[Node]) -> String {
    let mut depth = 0usize;
    let mut out = String::new();
    for node in nodes {
        match node {
            Node::Md(Event::Start(_)) => depth += 1,
            Node::Md(Event::End(_)) => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            _ => push_plain(node, &mut out),
        }
    }
    out.trim().to_string()
}

/// Appends the plain text of one inline node.
pub fn push_plain(node: &Node, out: &mut String) {
    match node {
        Node::Md(Event::Text(t) | Event::Code(t)) => out.push_str(t),
        Node::Md(Event::SoftBreak | Event::HardBreak) => out.push(' '),
        Node::Math(m) => out.push_str(m.tex.trim()),
        Node::Link(l) => match (&l.label, l.embed) {
            (Some(label), false) => out.push_str(label),
            _ => out.push_str(&l.target),
        },
        Node::Tag(t) => {
            out.push('#');
            out.push_str(&t.name);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> ParsedNote {
        parse(&SourceFile {
            path: "t.md".into(),
            text: text.into(),
            modified: None,
        })
    }

    #[test]
    fn math_is_never_emphasis() {
        let note = parse_str("a $x_1 * y_2$ and $a_{1}b_{2}$ *real*");
        let maths: Vec<_> = note
            .nodes
            .iter()
            .filter_map(|n| match n {
                Node::Math(m) => Some(m.tex.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(maths, ["x_1 * y_2", "a_{1}b_{2}"]);
        let emphasis = note
            .nodes
            .iter()
            .filter(|n| matches!(n, Node::Md(Event::Start(Tag::Emphasis))))
            .count();
        assert_eq!(emphasis, 1);
    }

    #[test]
    fn callout_with_lazy_lines_and_math() {
        let note = parse_str(
            ">[!question]- Write *gradient* of $f$\n?\n$\\nabla f = \\begin{bmatrix}\na\n\\end{bmatrix}\n$\n<!--SR:!2024-08-05,3,250-->\n\nafter",
        );
        let callout = note.nodes.iter().find_map(|n| match n {
            Node::CalloutStart(c) => Some(c.clone()),
            _ => None,
        });
        let Some(callout) = callout else {
            panic!("no callout in {:?}", note.nodes)
        };
        assert_eq!(callout.kind, "question");
        assert_eq!(callout.fold, Fold::Closed);
        let mut title = String::new();
        for n in &callout.title {
            push_plain(n, &mut title);
        }
        assert_eq!(title, "Write gradient of f");
        // The math and the `?` are inside the callout, before its end.
        let end = note.nodes.iter().position(|n| *n == Node::CalloutEnd);
        let math = note.nodes.iter().position(|n| matches!(n, Node::Math(_)));
        assert!(math < end, "{:?}", note.nodes);
        assert!(!format!("{:?}", note.nodes).contains("SR:"));
    }

    #[test]
    fn headings_get_unique_ids() {
        let note = parse_str("# Chain rule\n## Proof\n## Proof\n");
        let ids: Vec<String> = note
            .nodes
            .iter()
            .filter_map(|n| match n {
                Node::Md(Event::Start(Tag::Heading { id: Some(id), .. })) => Some(id.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(ids, ["chain-rule", "proof", "proof-1"]);
    }

    fn heading_ids(text: &str) -> Vec<String> {
        parse_str(text)
            .nodes
            .iter()
            .filter_map(|n| match n {
                Node::Md(Event::Start(Tag::Heading { id: Some(id), .. })) => Some(id.to_string()),
                _ => None,
            })
            .collect()
    }

    /// Many equal headings get their suffixes in linear time (20,000 took 26 s when each
    /// counted up from 1).
    #[test]
    fn many_equal_headings() {
        let text = vec!["## Same"; 20_000].join("\n\n");
        let ids = heading_ids(&text);
        assert_eq!(ids.len(), 20_000);
        assert_eq!(ids[19_999], "same-19999");
    }

    #[test]
    fn heading_ids_skip_suffixes_already_taken() {
        assert_eq!(
            heading_ids("# Proof 1\n# Proof\n# Proof\n# Proof\n"),
            ["proof-1", "proof", "proof-2", "proof-3"]
        );
    }

    #[test]
    fn heading_ids_never_look_like_the_renderers_ids() {
        assert_eq!(
            heading_ids("# Fn 1\n# Fnref 1 2\n# Check 3 5\n# NB main\n# Fn note\n"),
            [
                "h-fn-1",
                "h-fnref-1-2",
                "h-check-3-5",
                "h-nb-main",
                "fn-note"
            ]
        );
        assert_eq!(heading_ids("# Fn\n# Fn\n"), ["h-fn", "h-fn-1"]);
    }

    #[test]
    fn review_comments_inside_code_stay() {
        let note = parse_str("```\n<!--SR:!2024-08-05,3,250-->\n```\n");
        assert!(format!("{:?}", note.nodes).contains("SR:"));
    }
}
