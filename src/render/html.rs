//! A note's nodes → HTML: markdown through pulldown-cmark, and the Obsidian constructs
//! (math as MathML, wikilinks, embeds and transclusions, callouts, tags, highlights,
//! block anchors) written here.
//!
//! Every id on a page is unique: what an embed writes (headings, block anchors,
//! footnotes) has its ids prefixed `embed-N--` (a heading slug never holds `--`), and
//! footnotes are `fn-N` with references `fnref-N` (`fnref-N-2`… when repeated).

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::LazyLock;

use pulldown_cmark::{CowStr, Event, LinkType, Tag, TagEnd};
use regex::Regex;

use crate::check::Located;
use crate::check::Status;
use crate::diagnostics::Diagnostic;
use crate::extract::cards::Card;
use crate::extract::{self, NoteInfo};
use crate::graph::{Graph, LinkError, Resolved};
use crate::parse::{self, Callout, Fold, Fragment, Node, ParsedNote, WikiLink};
use crate::render::math::{self, MathMode};
use crate::render::quiz;
use crate::slug;
use crate::vault::SourceFile;

/// Everything the renderer reads.
pub struct Ctx<'a> {
    pub graph: &'a Graph,
    pub notes: &'a [ParsedNote],
    pub infos: &'a [NoteInfo],
    /// Checked identities per note, for the badges beside formulas.
    pub identities: &'a [Vec<Located>],
    /// Flashcards per note, shown as cards on the note's page.
    pub cards: &'a [Vec<Card>],
    /// `html: safe`: the notes' raw HTML is dropped and script URLs are not linked.
    pub safe_html: bool,
    /// When set, the notes' nodes were let go: they are parsed again, with these
    /// macros, where they are needed.
    pub reparse: Option<&'a crate::tex::macros::Macros>,
    /// When set, the notes' texts were let go too: they are read from here.
    pub texts: Option<&'a dyn parse::NoteTexts>,
}

impl<'a> Ctx<'a> {
    /// The nodes of note `index`.
    pub fn nodes(&self, index: usize) -> std::borrow::Cow<'a, [Node]> {
        let note = &self.notes[index];
        match self.reparse {
            Some(macros) => {
                std::borrow::Cow::Owned(parse::nodes_of(&note.path, &self.text(index), macros))
            }
            None => std::borrow::Cow::Borrowed(&note.nodes),
        }
    }

    /// The text of note `index`.
    pub fn text(&self, index: usize) -> std::borrow::Cow<'a, str> {
        match self.texts {
            Some(texts) => std::borrow::Cow::Owned(texts.text(index)),
            None => std::borrow::Cow::Borrowed(&self.notes[index].text),
        }
    }
}

/// A note's body as HTML, with its table of contents.
#[derive(Debug, Clone, Default)]
pub struct Body {
    pub html: String,
    pub toc: Vec<TocEntry>,
    pub diagnostics: Vec<Diagnostic>,
    /// Ids of the flashcards that have an anchor (`card-<id>`) on the page.
    pub cards_shown: Vec<String>,
}

/// One heading in the table of contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TocEntry {
    pub level: u8,
    pub id: String,
    /// The heading's content as HTML (math included).
    pub html: String,
}

/// What is being embedded, to detect an embed that embeds itself.
type EmbedKey = (usize, Option<Fragment>);

/// Renders note `index` for the page `page` (its own, or the index for the home note).
pub fn render_note(ctx: &Ctx, index: usize, page: &str) -> Body {
    let all = ctx.nodes(index);
    let mut nodes: &[Node] = &all;
    // The page shows the title as its heading: drop a first H1 that repeats it.
    let mut skip = None;
    if let Some(start) = nodes
        .iter()
        .position(|n| matches!(n, Node::Md(Event::Start(Tag::Heading { .. }))))
        && let Node::Md(Event::Start(Tag::Heading { level, .. })) = &nodes[start]
        && *level == pulldown_cmark::HeadingLevel::H1
        && parse::plain_text_until_end(&nodes[start + 1..])
            .eq_ignore_ascii_case(&ctx.infos[index].title)
    {
        let end = matching_end(nodes, start);
        skip = Some(start..=end);
    }
    let owned: Vec<Node>;
    if let Some(skip) = skip {
        owned = nodes
            .iter()
            .enumerate()
            .filter(|(k, _)| !skip.contains(k))
            .map(|(_, n)| n.clone())
            .collect();
        nodes = &owned;
    }
    let mut writer = Writer::new(ctx, page, index, false);
    writer.toc = Some(Vec::new());
    writer.footnotes = Footnotes::plan(nodes);
    let html = super::typo::keep_punctuation(&writer.blocks(nodes));
    let mut diagnostics = writer.diagnostics;
    dedup(&mut diagnostics);
    Body {
        html,
        toc: writer.toc.unwrap_or_default(),
        diagnostics,
        cards_shown: writer.cards_shown,
    }
}

fn dedup(diagnostics: &mut Vec<Diagnostic>) {
    let mut seen = std::collections::HashSet::new();
    diagnostics.retain(|d| seen.insert((d.file.clone(), d.range.clone(), d.message.clone())));
}

/// Index of the node that closes the element opened at `start`.
fn matching_end(nodes: &[Node], start: usize) -> usize {
    let mut depth = 0usize;
    for (k, node) in nodes.iter().enumerate().skip(start) {
        match node {
            Node::Md(Event::Start(_)) | Node::CalloutStart(_) => depth += 1,
            Node::Md(Event::End(_)) | Node::CalloutEnd => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return k;
                }
            }
            _ => {}
        }
    }
    nodes.len().saturating_sub(1)
}

/// For the list item opened at `start`: the index of the node that closes it, when it
/// holds inline content only (no paragraph, list, callout or other block); else `None`.
/// The walk stops at the first block, so a note of many nested items is read in linear
/// time (finding each item's end first made 100,000 nested items quadratic).
fn plain_item_end(nodes: &[Node], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, node) in nodes.iter().enumerate().skip(start) {
        match node {
            Node::Md(Event::Start(
                Tag::Emphasis | Tag::Strong | Tag::Strikethrough | Tag::Link { .. },
            )) => depth += 1,
            Node::Md(Event::Start(_)) | Node::CalloutStart(_) if k == start => depth += 1,
            Node::Md(Event::Start(_)) | Node::CalloutStart(_) | Node::Source(_) => return None,
            Node::Md(Event::End(_)) | Node::CalloutEnd => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    Some(nodes.len().saturating_sub(1))
}

struct Writer<'a> {
    ctx: &'a Ctx<'a>,
    /// The page being written: every URL is relative to it.
    page: &'a str,
    /// The note whose nodes are being written (links resolve from its folder).
    from: usize,
    stack: Vec<EmbedKey>,
    diagnostics: Vec<Diagnostic>,
    /// Collects headings when writing a page's own body.
    toc: Option<Vec<TocEntry>>,
    /// Whether problems found (formulas that do not render) are reported: only for the
    /// note's own body, not for what it embeds.
    report: bool,
    /// Put before every id written: empty for the page's own note, `embed-N--` inside
    /// the page's N-th embed (a heading slug never holds `--`), so that a note embedded
    /// twice, or embedding a note with the same headings, repeats no id.
    id_prefix: String,
    /// Whether ids are written at all: not in the copy of a heading made for the table
    /// of contents.
    ids: bool,
    /// Embeds written so far on the page, to number their id prefixes.
    embeds: usize,
    /// Bytes of notes transcluded so far on the page, against [`EMBED_BUDGET`].
    embedded_bytes: usize,
    /// Whether the page was already warned about its embeds beyond the budget.
    embed_budget_warned: bool,
    /// Block anchor ids written so far on the page (a note may repeat a `^id`).
    used_ids: HashSet<String>,
    /// The footnotes of the note being written.
    footnotes: Footnotes,
    /// Writing a piece of a note out of its place (a flashcard's side on a quiz page):
    /// no badges (the formulas' offsets are not the note's) and no cards.
    fragment: bool,
    /// Set after a callout that is a flashcard opens: its `?` separator line is not shown.
    drop_question_mark: bool,
    /// Set when the flashcard callout's question goes on below its title: those lines
    /// are shown in the title (the card's front), so the body drops them up to the `?`.
    drop_until_question: bool,
    /// Ids of the flashcards given an anchor so far.
    cards_shown: Vec<String>,
    /// The markdown of the fragment being written.
    fragment_text: Option<String>,
    /// While writing a flashcard's answer: the card's range in the note, whose
    /// identities' badges go beside the formulas of the answer that state them, and
    /// whether they carry their ids.
    card_badges: Option<(std::ops::Range<usize>, bool)>,
    /// Where the identities placed so far beside a card's formulas start.
    placed: Vec<usize>,
    /// For each note whose formulas were written: its identities by the offset of
    /// their formula (found once, not by a scan of the note's list per formula).
    badge_index: HashMap<usize, HashMap<usize, Vec<usize>>>,
    /// The texts of the notes written, each read once ([`Ctx::text`]).
    texts: HashMap<usize, std::sync::Arc<str>>,
}

/// The footnotes of one note as written on a page: numbered in order of first
/// appearance (reference or definition), as pulldown-cmark numbers them.
#[derive(Debug, Clone, Default)]
struct Footnotes {
    /// Number of each label (labels compared case-insensitively, as CommonMark does).
    numbers: HashMap<String, usize>,
    /// How many references each label has in the note.
    references: HashMap<String, usize>,
    /// References written so far, per label (the k-th gets the id `fnref-N-k`).
    written: HashMap<String, usize>,
    /// Labels of the definitions being written (a definition may hold another).
    open: Vec<String>,
}

impl Footnotes {
    fn plan(nodes: &[Node]) -> Footnotes {
        let mut f = Footnotes::default();
        f.scan(nodes);
        f
    }

    fn scan(&mut self, nodes: &[Node]) {
        for node in nodes {
            match node {
                Node::Md(Event::FootnoteReference(label)) => {
                    let key = label.to_lowercase();
                    self.number(&key);
                    *self.references.entry(key).or_insert(0) += 1;
                }
                Node::Md(Event::Start(Tag::FootnoteDefinition(label))) => {
                    self.number(&label.to_lowercase());
                }
                Node::CalloutStart(callout) => self.scan(&callout.title),
                _ => {}
            }
        }
    }

    fn number(&mut self, key: &str) -> usize {
        let next = self.numbers.len() + 1;
        *self.numbers.entry(key.to_string()).or_insert(next)
    }
}

/// `</br>` (a closing tag with no opening one, which people write for a line break).
static CLOSING_BR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)</br\s*>").unwrap_or_else(|_| unreachable!("constant regex"))
});

impl<'a> Writer<'a> {
    /// A writer of note `index` for `page`: its own body, or a `fragment` of it written
    /// out of its place (no ids, no badges, no cards, no problems reported).
    fn new(ctx: &'a Ctx<'a>, page: &'a str, index: usize, fragment: bool) -> Self {
        Writer {
            ctx,
            page,
            from: index,
            stack: vec![(index, None)],
            diagnostics: Vec::new(),
            toc: None,
            report: !fragment,
            id_prefix: String::new(),
            ids: !fragment,
            embeds: 0,
            embedded_bytes: 0,
            embed_budget_warned: false,
            used_ids: HashSet::new(),
            footnotes: Footnotes::default(),
            fragment,
            drop_question_mark: false,
            drop_until_question: false,
            cards_shown: Vec::new(),
            fragment_text: None,
            card_badges: None,
            placed: Vec::new(),
            badge_index: HashMap::new(),
            texts: HashMap::new(),
        }
    }
}

impl Writer<'_> {
    /// The text of note `index`.
    fn text(&mut self, index: usize) -> std::sync::Arc<str> {
        let ctx = self.ctx;
        self.texts
            .entry(index)
            .or_insert_with(|| std::sync::Arc::from(ctx.text(index)))
            .clone()
    }

    fn url(&self, site_path: &str) -> String {
        slug::encode_path(&slug::relative_url(self.page, site_path))
    }

    /// Writes a sequence of block-level nodes.
    fn blocks(&mut self, nodes: &[Node]) -> String {
        let events = self.events(nodes);
        let mut html = String::new();
        pulldown_cmark::html::push_html(&mut html, events.into_iter());
        html
    }

    /// Writes inline nodes (a title, a heading's text) without block wrappers.
    fn inline(&mut self, nodes: &[Node]) -> String {
        let toc = self.toc.take();
        let html = self.blocks(nodes);
        self.toc = toc;
        html
    }

    fn events(&mut self, nodes: &[Node]) -> Vec<Event<'static>> {
        let unwrap = paragraphs_to_unwrap(self, nodes);
        let mut out: Vec<Event<'static>> = Vec::with_capacity(nodes.len());
        let mut in_paragraph = false;
        let mut callouts: Vec<Fold> = Vec::new();
        let mut headings: Vec<String> = Vec::new();
        // Whether the last node written was display math (a block already ending its line).
        let mut after_display_math = false;
        // The paragraph written as flashcards ends at this node (skipped up to it).
        let mut skip_to: Option<usize> = None;
        // A flashcard callout's `?` line was dropped: so is the line break after it.
        let mut drop_break = false;
        let mut line_start = true;
        for (k, node) in nodes.iter().enumerate() {
            if unwrap.contains(&k) || skip_to.is_some_and(|end| k <= end) {
                continue;
            }
            if let Node::Source(range) = node {
                // A list item is written as cards only when it holds no other block.
                let item = nodes.get(k + 1) == Some(&Node::Md(Event::Start(Tag::Item)));
                let end = if item {
                    match plain_item_end(nodes, k + 1) {
                        Some(end) => end,
                        None => continue,
                    }
                } else {
                    nodes[k + 1..]
                        .iter()
                        .position(|n| *n == Node::Md(Event::End(TagEnd::Paragraph)))
                        .map_or(k, |p| k + 1 + p)
                };
                // A card whose answer runs on into the lists after its paragraph
                // (`?` then a bulleted answer) takes those lists along.
                let (range, end) = if item {
                    (range.clone(), end)
                } else {
                    self.extend_over_lists(nodes, range.clone(), end)
                };
                match self.cards_in_paragraph(range) {
                    Some(ParagraphCards::Replace(html)) => {
                        skip_to = Some(end);
                        let html = if item {
                            format!("<li class=\"flashcard-item\">{html}</li>\n")
                        } else {
                            html
                        };
                        out.push(Event::Html(CowStr::from(html)));
                    }
                    Some(ParagraphCards::Anchors(html)) => {
                        out.push(Event::Html(CowStr::from(html)));
                    }
                    None => {}
                }
                continue;
            }
            // Whether this node starts a line (the `?` separator is a line of its own).
            let at_line_start = std::mem::replace(
                &mut line_start,
                matches!(
                    node,
                    Node::Md(Event::Start(Tag::Paragraph) | Event::SoftBreak | Event::HardBreak)
                        | Node::CalloutStart(_)
                ),
            );
            if self.drop_until_question {
                match node {
                    Node::Md(Event::Text(t)) if at_line_start && t.trim() == "?" => {
                        self.drop_until_question = false
                    }
                    Node::Md(Event::Start(Tag::Paragraph)) => {}
                    Node::Md(
                        Event::Text(_)
                        | Event::SoftBreak
                        | Event::HardBreak
                        | Event::Code(_)
                        | Event::InlineMath(_),
                    )
                    | Node::Math(_)
                    | Node::Link(_)
                    | Node::Tag(_) => continue,
                    _ => self.drop_until_question = false,
                }
            }
            let display_math_before = std::mem::replace(
                &mut after_display_math,
                matches!(node, Node::Math(m) if m.display),
            );
            match node {
                Node::Md(event) => match event {
                    Event::Start(Tag::Paragraph) => {
                        in_paragraph = true;
                        out.push(event.clone());
                    }
                    Event::End(TagEnd::Paragraph) => {
                        in_paragraph = false;
                        out.push(event.clone());
                    }
                    // The `?` line of a callout written as a flashcard separates its
                    // front (the title) from its back: not shown.
                    Event::Text(t)
                        if self.drop_question_mark && at_line_start && t.trim() == "?" =>
                    {
                        self.drop_question_mark = false;
                        drop_break = true;
                    }
                    Event::SoftBreak | Event::HardBreak if drop_break => drop_break = false,
                    // Obsidian keeps the note's line breaks; after display math (a block)
                    // a break would add an empty line.
                    Event::SoftBreak if display_math_before => out.push(Event::SoftBreak),
                    Event::SoftBreak => out.push(Event::HardBreak),
                    Event::Start(Tag::Heading {
                        id,
                        level,
                        classes,
                        attrs,
                    }) => {
                        let id = id.as_deref().unwrap_or_default().to_string();
                        if self.toc.is_some() {
                            let end = matching_end(nodes, k);
                            let saved_ids = std::mem::replace(&mut self.ids, false);
                            let html = self.inline(&nodes[k + 1..end]);
                            self.ids = saved_ids;
                            if let Some(toc) = &mut self.toc {
                                toc.push(TocEntry {
                                    level: *level as u8,
                                    id: id.clone(),
                                    // The entry is a link itself: the heading's own
                                    // links are kept as their text.
                                    html: without_links(html.trim()),
                                });
                            }
                        }
                        let id = format!("{}{id}", self.id_prefix);
                        out.push(Event::Start(Tag::Heading {
                            level: *level,
                            id: Some(CowStr::from(id.clone())),
                            classes: classes.clone(),
                            attrs: attrs.clone(),
                        }));
                        headings.push(id);
                    }
                    Event::End(TagEnd::Heading(_)) => {
                        if let Some(id) = headings.pop() {
                            out.push(Event::InlineHtml(CowStr::from(format!(
                                " <a class=\"heading-anchor\" href=\"#{}\" aria-label=\"Link to this section\">#</a>",
                                escape_attr(&id)
                            ))));
                        }
                        out.push(event.clone());
                    }
                    Event::Start(Tag::Link {
                        link_type,
                        dest_url,
                        title,
                        ..
                    }) => out.push(Event::InlineHtml(CowStr::from(
                        self.markdown_link(*link_type, dest_url, title),
                    ))),
                    Event::End(TagEnd::Link) => out.push(Event::InlineHtml(CowStr::from("</a>"))),
                    Event::FootnoteReference(label) => {
                        out.push(Event::InlineHtml(CowStr::from(
                            self.footnote_reference(label),
                        )));
                    }
                    Event::Start(Tag::FootnoteDefinition(label)) => {
                        let html = self.footnote_definition_open(label);
                        out.push(Event::Html(CowStr::from(html)));
                    }
                    Event::End(TagEnd::FootnoteDefinition) => {
                        self.footnote_definition_close(&mut out)
                    }
                    Event::Html(_) | Event::InlineHtml(_) if self.ctx.safe_html => {}
                    Event::Html(html) => out.push(Event::Html(normalise_html(html))),
                    Event::InlineHtml(html) => out.push(Event::InlineHtml(normalise_html(html))),
                    Event::Start(Tag::Image {
                        link_type,
                        dest_url,
                        title,
                        id,
                    }) => {
                        let dest = match self.attachment_url(dest_url) {
                            Some(url) => url,
                            None if self.ctx.safe_html && runs_script(dest_url, true) => {
                                String::new()
                            }
                            None => dest_url.to_string(),
                        };
                        out.push(Event::Start(Tag::Image {
                            link_type: *link_type,
                            dest_url: CowStr::from(dest),
                            title: title.clone(),
                            id: id.clone(),
                        }));
                    }
                    other => out.push(other.clone()),
                },
                Node::Math(m) => {
                    let mode = if m.display {
                        MathMode::Display
                    } else {
                        MathMode::Inline
                    };
                    let (mathml, error) =
                        math::render_or_fallback_expanded(m.tex_to_read(), &m.tex, mode);
                    if let Some(error) = error
                        && self.report
                    {
                        let note = &self.ctx.notes[self.from];
                        let text = self.text(self.from);
                        self.diagnostics.push(
                            Diagnostic::warning(
                                &note.path,
                                &text,
                                m.range.clone(),
                                format!("formula cannot be rendered: {}", error.message),
                            )
                            .with_hint("the LaTeX source is shown on the page instead"),
                        );
                    }
                    let badges = self.badges(m);
                    let html = match (m.display, in_paragraph, badges.is_empty()) {
                        (false, _, _) => {
                            format!("<span class=\"math math-inline\">{mathml}</span>{badges}")
                        }
                        (true, true, true) => {
                            format!("<span class=\"math math-display\">{mathml}</span>")
                        }
                        (true, false, true) => {
                            format!("<div class=\"math math-display\">{mathml}</div>\n")
                        }
                        // The badges sit beside the formula, outside its scroll box
                        // (which would clip their tooltips).
                        (true, true, false) => format!(
                            "<span class=\"math-row\"><span class=\"math math-display\">{mathml}</span><span class=\"badges\">{badges}</span></span>"
                        ),
                        (true, false, false) => format!(
                            "<div class=\"math-row\"><div class=\"math math-display\">{mathml}</div><span class=\"badges\">{badges}</span></div>\n"
                        ),
                    };
                    push_html(&mut out, html, in_paragraph || !m.display);
                }
                Node::Link(link) if link.embed => {
                    let (html, block) = self.embed(link);
                    if block && in_paragraph {
                        out.push(Event::InlineHtml(CowStr::from("</p>\n")));
                        out.push(Event::InlineHtml(CowStr::from(html)));
                        out.push(Event::InlineHtml(CowStr::from("<p>")));
                    } else {
                        push_html(&mut out, html, !block);
                    }
                }
                Node::Link(link) => out.push(Event::InlineHtml(CowStr::from(self.wikilink(link)))),
                Node::Tag(tag) => {
                    let href = self.url(&self.ctx.graph.tag_url(&tag.name));
                    out.push(Event::InlineHtml(CowStr::from(format!(
                        "<a class=\"tag\" href=\"{}\">#{}</a>",
                        escape_attr(&href),
                        escape_text(&tag.name)
                    ))));
                }
                Node::BlockAnchor(id) => {
                    let id = format!("{}^{id}", self.id_prefix);
                    // Not in a table of contents, and once per page.
                    if self.ids && self.used_ids.insert(id.clone()) {
                        out.push(Event::InlineHtml(CowStr::from(format!(
                            "<a class=\"block-anchor\" id=\"{}\"></a>",
                            escape_attr(&id)
                        ))));
                    }
                }
                Node::Highlight { open } => out.push(Event::InlineHtml(CowStr::from(if *open {
                    "<mark>"
                } else {
                    "</mark>"
                }))),
                Node::CalloutStart(callout) => {
                    callouts.push(callout.fold);
                    let mut html = self.callout_open(callout);
                    if let Some((anchor, more)) = self.callout_card(callout) {
                        // The callout is the card: its title the front, its body the back.
                        let attr = format!("data-callout=\"{}\"", callout.kind);
                        html = html.replacen(
                            &attr,
                            &format!("{attr} data-flashcard id=\"{}\"", escape_attr(&anchor)),
                            1,
                        );
                        if let Some(more) = more {
                            let more = as_inline(&self.fragment_html(&more));
                            html = html.replacen(
                                "</span></summary>",
                                &format!("<br>{more}</span></summary>"),
                                1,
                            );
                            self.drop_until_question = true;
                        }
                        self.drop_question_mark = true;
                    }
                    out.push(Event::Html(CowStr::from(html)));
                }
                Node::Source(_) => {}
                Node::CalloutEnd => {
                    self.drop_question_mark = false;
                    self.drop_until_question = false;
                    let close = match callouts.pop() {
                        Some(Fold::None) | None => "</div></div>\n",
                        Some(_) => "</div></details>\n",
                    };
                    out.push(Event::Html(CowStr::from(close)));
                }
            }
        }
        out
    }

    /// The anchor of the flashcard a callout is, if any (only on the note's own body),
    /// and the lines of its question below the title, if it has some.
    fn callout_card(&mut self, callout: &Callout) -> Option<(String, Option<String>)> {
        if !self.report || self.fragment {
            return None;
        }
        let card = self.ctx.cards.get(self.from)?.iter().find(|c| {
            c.callout.is_some() && c.range.start <= callout.offset && callout.offset < c.range.end
        })?;
        self.cards_shown.push(card.id.clone());
        let more = card
            .front
            .split_once('\n')
            .map(|(_, rest)| rest.trim().to_string())
            .filter(|rest| !rest.is_empty());
        Some((quiz::card_anchor(card), more))
    }

    /// The paragraph whose source is `range`, written as flashcards, when it holds cards
    /// (`::`, `:::`, `?`, `??`; clozes stay highlighted text in the note, and callout
    /// cards are their callouts). Lines of the paragraph that are no card are kept.
    fn cards_in_paragraph(&mut self, range: std::ops::Range<usize>) -> Option<ParagraphCards> {
        if !self.report || self.fragment {
            return None;
        }
        let ctx = self.ctx;
        let all = ctx.cards.get(self.from)?;
        // The paragraph's first line, `>` markers included (a card in a quote starts
        // at its line).
        let text = self.text(self.from);
        let line_start = text
            .get(..range.start)
            .and_then(|t| t.rfind('\n'))
            .map_or(0, |k| k + 1);
        let inside = |c: &&Card| {
            c.callout.is_none() && line_start <= c.range.start && c.range.start < range.end
        };
        let mut cards: Vec<&Card> = all.iter().filter(inside).collect();
        if cards.is_empty() {
            return None;
        }
        // A card running past its paragraph (a back with a list) stays text: an anchor
        // marks its place.
        if cards.iter().any(|c| c.range.end > range.end + 1) {
            let mut html = String::new();
            for card in cards {
                if !self.cards_shown.contains(&card.id) {
                    self.cards_shown.push(card.id.clone());
                    html.push_str(&format!(
                        "<span class=\"card-anchor\" id=\"{}\"></span>",
                        escape_attr(&quiz::card_anchor(card))
                    ));
                }
            }
            return Some(ParagraphCards::Anchors(html));
        }
        cards.dedup_by(|b, a| a.range == b.range);
        let mut html = String::new();
        let mut at = range.start;
        for card in cards {
            if card.range.start > at {
                html.push_str(&self.source_fragment(text.get(at..card.range.start).unwrap_or("")));
            }
            html.push_str(&self.card_html(card));
            at = at.max(card.range.end);
        }
        if at < range.end {
            html.push_str(&self.source_fragment(text.get(at..range.end).unwrap_or("")));
        }
        Some(ParagraphCards::Replace(html))
    }

    /// When a card starting in the paragraph (source `range`, ending at node `end`)
    /// runs past it, the lists right after it that the card covers: the range and the
    /// last node of the whole, else the paragraph's own.
    fn extend_over_lists(
        &self,
        nodes: &[Node],
        range: std::ops::Range<usize>,
        end: usize,
    ) -> (std::ops::Range<usize>, usize) {
        let unchanged = (range.clone(), end);
        if !self.report || self.fragment {
            return unchanged;
        }
        let Some(cards) = self.ctx.cards.get(self.from) else {
            return unchanged;
        };
        let card_end = cards
            .iter()
            .filter(|c| {
                c.callout.is_none() && range.start <= c.range.start && c.range.start < range.end
            })
            .map(|c| c.range.end)
            .max();
        let Some(card_end) = card_end.filter(|&e| e > range.end + 1) else {
            return unchanged;
        };
        let (mut covered, mut last) = (range.end, end);
        while let Some(Node::Md(Event::Start(Tag::List(_)))) = nodes.get(last + 1) {
            let list_end = matching_end(nodes, last + 1);
            let sources: Vec<&std::ops::Range<usize>> = nodes[last + 1..=list_end]
                .iter()
                .filter_map(|n| match n {
                    Node::Source(r) => Some(r),
                    _ => None,
                })
                .collect();
            match (sources.first(), sources.iter().map(|r| r.end).max()) {
                (Some(first), Some(list_covered)) if first.start < card_end => {
                    covered = list_covered;
                    last = list_end;
                }
                _ => break,
            }
        }
        if covered + 1 >= card_end {
            (range.start..covered.max(card_end), last)
        } else {
            unchanged
        }
    }

    /// Source lines of the note written out of their place: `>` markers and review
    /// comments removed.
    fn source_fragment(&mut self, source: &str) -> String {
        let lines: Vec<&str> = source
            .lines()
            .map(|l| {
                let t = l.trim_start();
                let mut rest = t;
                while let Some(r) = rest.strip_prefix('>') {
                    rest = r.trim_start();
                }
                if rest.len() < t.len() { rest } else { l }
            })
            .collect();
        let joined = lines.join("\n");
        let cleaned = REVIEW_COMMENT_TEXT.replace_all(&joined, "");
        if cleaned.trim().is_empty() {
            return String::new();
        }
        self.fragment_html(&cleaned)
    }

    /// A flashcard on its note's page: the front, the answer behind a click (works
    /// without JavaScript), the badges of the identities it states.
    fn card_html(&mut self, card: &Card) -> String {
        let (front, back) = card_sides(card, &self.text(self.from), true);
        let front = as_inline(&self.fragment_html(&front));
        let (back, badges) = self.card_back(&back, card.range.clone(), true);
        let badges = if badges.is_empty() {
            String::new()
        } else {
            format!("<p class=\"flashcard-badges\">{badges}</p>")
        };
        // Its reverse sibling (`:::`, `??`) is the same card here: it gets an anchor.
        let siblings: Vec<&Card> = self.ctx.cards[self.from]
            .iter()
            .filter(|c| c.range == card.range && c.id != card.id)
            .collect();
        let mut anchors = String::new();
        for sibling in &siblings {
            self.cards_shown.push(sibling.id.clone());
            anchors.push_str(&format!(
                "<span class=\"card-anchor\" id=\"{}\"></span>",
                escape_attr(&quiz::card_anchor(sibling))
            ));
        }
        self.cards_shown.push(card.id.clone());
        let reversible = if card.cloze.is_some() {
            " flashcard-cloze"
        } else if siblings.is_empty() {
            ""
        } else {
            " flashcard-reversible"
        };
        format!(
            "<details class=\"flashcard{reversible}\" id=\"{}\">{anchors}<summary class=\"flashcard-front\">{front}</summary><div class=\"flashcard-back\">{back}{badges}</div></details>\n",
            escape_attr(&quiz::card_anchor(card))
        )
    }

    /// Markdown written in the context of the current note (links resolve from it), as a
    /// fragment: no cards, no badges, each line break kept.
    fn fragment_html(&mut self, markdown: &str) -> String {
        let note = &self.ctx.notes[self.from];
        let mut parsed = parse::parse(&SourceFile {
            path: note.path.clone(),
            text: markdown.to_string(),
            modified: None,
        });
        parse::macros::expand(&mut parsed, &note.macros);
        let saved_fragment = std::mem::replace(&mut self.fragment, true);
        let saved_report = std::mem::replace(&mut self.report, false);
        let saved_toc = self.toc.take();
        let saved_text = self.fragment_text.replace(markdown.to_string());
        let html = self.blocks(&parsed.nodes);
        self.fragment_text = saved_text;
        self.toc = saved_toc;
        self.report = saved_report;
        self.fragment = saved_fragment;
        html
    }

    /// The verdict badges of the identities in the formula `math`; in an `aligned` (or
    /// `align*`…) block, each says the row it belongs to.
    fn badges(&mut self, math: &parse::Math) -> String {
        if self.fragment {
            return self.card_answer_badges(math);
        }
        let Some(list) = self.ctx.identities.get(self.from) else {
            return String::new();
        };
        let text = self.text(self.from);
        let source = text.get(math.range.clone()).unwrap_or("");
        let mut out = String::new();
        let index = self.badge_index.entry(self.from).or_insert_with(|| {
            let mut by_start: HashMap<usize, Vec<usize>> = HashMap::new();
            for (k, i) in list.iter().enumerate() {
                by_start.entry(i.math_start).or_default().push(k);
            }
            by_start
        });
        let here = index.get(&math.range.start).map_or(&[][..], Vec::as_slice);
        for identity in here
            .iter()
            .filter_map(|&k| list.get(k))
            .filter(|i| has_badge(i))
        {
            let at = identity.range.start.saturating_sub(math.range.start);
            let row = if math.display {
                aligned_row(source, at)
            } else {
                None
            };
            out.push_str(&badge(identity, self.from, self.report && self.ids, row));
        }
        out
    }

    /// In a flashcard's answer: the badges of the card's identities stated by the
    /// formula `math` (the note's formula with the same source), each placed once.
    fn card_answer_badges(&mut self, math: &parse::Math) -> String {
        let (Some((range, ids)), Some(fragment)) =
            (self.card_badges.clone(), self.fragment_text.as_deref())
        else {
            return String::new();
        };
        let Some(list) = self.ctx.identities.get(self.from) else {
            return String::new();
        };
        let source = fragment.get(math.range.clone()).unwrap_or("").to_owned();
        if source.is_empty() {
            return String::new();
        }
        let text = self.text(self.from);
        let mut out = String::new();
        let mut placed = std::mem::take(&mut self.placed);
        for identity in list {
            let here = range.contains(&identity.math_start)
                && has_badge(identity)
                && !placed.contains(&identity.range.start)
                && text
                    .get(identity.math_start..)
                    .is_some_and(|t| t.starts_with(source.as_str()));
            if !here {
                continue;
            }
            let at = identity.range.start.saturating_sub(identity.math_start);
            let row = if math.display {
                aligned_row(&source, at)
            } else {
                None
            };
            out.push_str(&badge(identity, self.from, ids, row));
            placed.push(identity.range.start);
        }
        self.placed = placed;
        out
    }

    /// A flashcard's answer with its identities' badges beside their formulas, and the
    /// badges of those it could not place (in a row under it).
    fn card_back(
        &mut self,
        back: &str,
        range: std::ops::Range<usize>,
        ids: bool,
    ) -> (String, String) {
        self.card_badges = Some((range.clone(), ids));
        self.placed.clear();
        let html = self.fragment_html(back);
        self.card_badges = None;
        let rest = self
            .ctx
            .identities
            .get(self.from)
            .map(|list| {
                list.iter()
                    .filter(|i| range.contains(&i.math_start) && has_badge(i))
                    .filter(|i| !self.placed.contains(&i.range.start))
                    .map(|i| badge(i, self.from, ids, None))
                    .collect()
            })
            .unwrap_or_default();
        (html, rest)
    }

    /// `[^label]`: `<sup>` linking to the definition, with an id the definition links
    /// back to (`fnref-N`, then `fnref-N-2`… when the note refers to it again).
    fn footnote_reference(&mut self, label: &str) -> String {
        let key = label.to_lowercase();
        let Some(&n) = self.footnotes.numbers.get(&key) else {
            return escape_text(&format!("[^{label}]"));
        };
        if !self.ids {
            // A copy (the table of contents): no id, and no link inside its link.
            return format!("<sup class=\"footnote-reference\">{n}</sup>");
        }
        let written = self.footnotes.written.entry(key).or_insert(0);
        *written += 1;
        let id = footnote_reference_id(&self.id_prefix, n, *written);
        format!(
            "<sup class=\"footnote-reference\"><a href=\"#{}\" id=\"{}\">{n}</a></sup>",
            escape_attr(&format!("{}fn-{n}", self.id_prefix)),
            escape_attr(&id)
        )
    }

    fn footnote_definition_open(&mut self, label: &str) -> String {
        let key = label.to_lowercase();
        let n = self.footnotes.number(&key);
        self.footnotes.open.push(key);
        format!(
            "<div class=\"footnote-definition\" id=\"{}\"><sup class=\"footnote-definition-label\">{n}</sup>",
            escape_attr(&format!("{}fn-{n}", self.id_prefix))
        )
    }

    /// Ends a footnote definition with its links back to the references (`↩`, `↩²`…),
    /// inside its last paragraph when it ends with one.
    fn footnote_definition_close(&mut self, out: &mut Vec<Event<'static>>) {
        let key = self.footnotes.open.pop().unwrap_or_default();
        let n = self.footnotes.numbers.get(&key).copied().unwrap_or(0);
        let count = self.footnotes.references.get(&key).copied().unwrap_or(0);
        let mut back = String::new();
        for k in 1..=count {
            let id = footnote_reference_id(&self.id_prefix, n, k);
            let (shown, label) = if k == 1 {
                ("↩".to_string(), format!("Back to reference {n}"))
            } else {
                (
                    format!("↩<sup>{k}</sup>"),
                    format!("Back to reference {n} ({k})"),
                )
            };
            let _ = write!(
                back,
                " <a class=\"footnote-backref\" href=\"#{}\" aria-label=\"{label}\">{shown}</a>",
                escape_attr(&id)
            );
        }
        if !back.is_empty() {
            if out.last() == Some(&Event::End(TagEnd::Paragraph)) {
                let at = out.len() - 1;
                out.insert(at, Event::InlineHtml(CowStr::from(back)));
            } else {
                out.push(Event::Html(CowStr::from(format!(
                    "<p>{}</p>\n",
                    back.trim()
                ))));
            }
        }
        out.push(Event::Html(CowStr::from("</div>\n")));
    }

    fn callout_open(&mut self, callout: &Callout) -> String {
        let title = if callout.title.is_empty() {
            let mut t = callout.written.clone();
            if let Some(first) = t.get(..1) {
                t = first.to_uppercase() + &t[1..];
            }
            escape_text(&t)
        } else {
            strip_paragraph(&self.inline(&callout.title))
        };
        let icon = callout_icon(callout.kind);
        let inner = format!(
            "<span class=\"callout-icon\" aria-hidden=\"true\">{icon}</span><span class=\"callout-title-inner\">{title}</span>"
        );
        match callout.fold {
            Fold::None => format!(
                "<div class=\"callout\" data-callout=\"{}\">\n<div class=\"callout-title\">{inner}</div>\n<div class=\"callout-content\">",
                callout.kind
            ),
            fold => format!(
                "<details class=\"callout\" data-callout=\"{}\"{}>\n<summary class=\"callout-title\">{inner}</summary>\n<div class=\"callout-content\">",
                callout.kind,
                if fold == Fold::Open { " open" } else { "" }
            ),
        }
    }

    fn markdown_link(&self, link_type: LinkType, dest: &str, title: &str) -> String {
        let title_attr = if title.is_empty() {
            String::new()
        } else {
            format!(" title=\"{}\"", escape_attr(title))
        };
        if link_type == LinkType::Email {
            return format!("<a href=\"mailto:{}\"{title_attr}>", escape_attr(dest));
        }
        if let Some((target, fragment)) = extract::internal_markdown_link(dest) {
            return match self.ctx.graph.resolve(self.from, &target, fragment.as_ref()) {
                Ok(resolved) => match self.href(&resolved) {
                    Some(href) => format!(
                        "<a class=\"internal-link\" href=\"{}\"{title_attr}>",
                        escape_attr(&href)
                    ),
                    None => "<a class=\"internal-link is-unpublished\" title=\"This note is not published\">".to_string(),
                },
                Err(_) => format!(
                    "<a class=\"internal-link is-unresolved\" title=\"No note named “{}” in the vault\">",
                    escape_attr(&target)
                ),
            };
        }
        if let Some(url) = self.attachment_url(dest) {
            return format!(
                "<a class=\"internal-link\" href=\"{}\"{title_attr}>",
                escape_attr(&url)
            );
        }
        if let Some(path) = extract::file_link(dest) {
            return format!(
                "<a class=\"internal-link is-unresolved\" title=\"No file “{}” in the vault\">",
                escape_attr(&path)
            );
        }
        if self.ctx.safe_html && runs_script(dest, false) {
            return "<a class=\"external-link is-unsafe\" title=\"This link's URL runs a script: it was left out\">".to_string();
        }
        format!(
            "<a class=\"external-link\" href=\"{}\" rel=\"noopener\"{title_attr}>",
            escape_attr(dest)
        )
    }

    /// A relative file path written in markdown (`![](img/a.png)`), when it names an
    /// attachment of the vault: its URL from this page.
    fn attachment_url(&self, dest: &str) -> Option<String> {
        if dest.contains("://") || dest.starts_with("data:") || dest.starts_with('#') {
            return None;
        }
        // the path, and what follows it (`?v=2`, `#page=3`), kept on the URL
        let cut = dest.find(['#', '?']).unwrap_or(dest.len());
        let (raw, rest) = dest.split_at(cut);
        let path = extract::percent_decode(raw);
        match self.ctx.graph.resolve(self.from, &path, None) {
            Ok(Resolved::Attachment(i)) => {
                Some(self.url(&self.ctx.graph.attachment_urls[i]) + rest)
            }
            _ => None,
        }
    }

    /// The URL of a resolved link from this page; `None` for an unpublished note.
    fn href(&self, resolved: &Resolved) -> Option<String> {
        match resolved {
            Resolved::Attachment(i) => Some(self.url(&self.ctx.graph.attachment_urls[*i])),
            Resolved::Note { index, anchor } => {
                let page = &self.ctx.graph.pages[*index];
                if !page.published {
                    return None;
                }
                let anchor = anchor
                    .as_ref()
                    .map(|a| format!("#{}", fragment_encode(a)))
                    .unwrap_or_default();
                if page.url == self.page && !anchor.is_empty() {
                    Some(anchor)
                } else {
                    Some(format!("{}{anchor}", self.url(&page.url)))
                }
            }
        }
    }

    fn wikilink(&mut self, link: &WikiLink) -> String {
        let shown = match (&link.label, &link.fragment) {
            (Some(label), _) if !label.is_empty() => label.clone(),
            (_, Some(Fragment::Heading(h))) if link.target.is_empty() => h.clone(),
            (_, Some(Fragment::Block(b))) if link.target.is_empty() => format!("^{b}"),
            (_, Some(Fragment::Heading(h))) => format!("{} › {h}", link.target),
            (_, Some(Fragment::Block(b))) => format!("{} › ^{b}", link.target),
            _ => link.target.clone(),
        };
        let shown = escape_text(&shown);
        match self
            .ctx
            .graph
            .resolve(self.from, &link.target, link.fragment.as_ref())
        {
            Ok(resolved) => match self.href(&resolved) {
                Some(href) => format!(
                    "<a class=\"internal-link\" href=\"{}\">{shown}</a>",
                    escape_attr(&href)
                ),
                None => format!(
                    "<span class=\"internal-link is-unpublished\" title=\"This note is not published\">{shown}</span>"
                ),
            },
            Err(crate::graph::LinkError::MissingAnchor(_)) => {
                // The note exists: link to its top.
                match self.ctx.graph.resolve(self.from, &link.target, None) {
                    Ok(resolved) => match self.href(&resolved) {
                        Some(href) => format!(
                            "<a class=\"internal-link\" href=\"{}\">{shown}</a>",
                            escape_attr(&href)
                        ),
                        None => {
                            format!("<span class=\"internal-link is-unpublished\">{shown}</span>")
                        }
                    },
                    Err(_) => unresolved(&link.target, &shown),
                }
            }
            Err(crate::graph::LinkError::MissingNote) => unresolved(&link.target, &shown),
        }
    }

    /// An embed: the HTML, and whether it is a block (a transclusion) or inline (an image).
    fn embed(&mut self, link: &WikiLink) -> (String, bool) {
        let resolved = self
            .ctx
            .graph
            .resolve(self.from, &link.target, link.fragment.as_ref());
        match resolved {
            Ok(Resolved::Attachment(i)) => (self.file_embed(i, link), false),
            Ok(Resolved::Note { index, anchor }) => (self.transclude(index, anchor, link), true),
            // The note is there, the heading or block is not (reported with the links).
            Err(LinkError::MissingAnchor(_)) => {
                let (what, name, shown) = match &link.fragment {
                    Some(Fragment::Block(b)) => ("block", format!("^{b}"), format!("^{b}")),
                    Some(Fragment::Heading(h)) => ("heading", h.clone(), h.clone()),
                    None => ("part", String::new(), String::new()),
                };
                let target = if link.target.is_empty() {
                    self.ctx.infos[self.from].title.clone()
                } else {
                    link.target.clone()
                };
                (
                    format!(
                        "<span class=\"embed-missing\" title=\"No {what} “{}” in “{}”\">⚠ {} › {}</span>",
                        escape_attr(&name),
                        escape_attr(&target),
                        escape_text(&target),
                        escape_text(&shown)
                    ),
                    false,
                )
            }
            Err(LinkError::MissingNote) => (
                format!(
                    "<span class=\"embed-missing\" title=\"Nothing named “{}” in the vault\">⚠ {}</span>",
                    escape_attr(&link.target),
                    escape_text(&link.target)
                ),
                false,
            ),
        }
    }

    fn file_embed(&self, i: usize, link: &WikiLink) -> String {
        let path = &self.ctx.graph.attachments[i];
        let src = escape_attr(&self.url(&self.ctx.graph.attachment_urls[i]));
        let name = path.rsplit('/').next().unwrap_or(path);
        let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
        let mut width = None;
        let mut height = None;
        let mut align = None;
        let mut alt = None;
        for part in link
            .label
            .as_deref()
            .unwrap_or("")
            .split('|')
            .map(str::trim)
        {
            if part.is_empty() {
                continue;
            }
            if let Some((w, h)) = part.split_once('x')
                && let (Ok(w), Ok(h)) = (w.trim().parse::<u32>(), h.trim().parse::<u32>())
            {
                width = Some(w);
                height = Some(h);
            } else if let Ok(w) = part.parse::<u32>() {
                width = Some(w);
            } else if matches!(part, "center" | "left" | "right") {
                align = Some(part);
            } else {
                alt = Some(part.to_string());
            }
        }
        let mut attrs = String::new();
        if let Some(w) = width {
            let _ = write!(attrs, " width=\"{w}\"");
        }
        if let Some(h) = height {
            let _ = write!(attrs, " height=\"{h}\"");
        }
        let class = match align {
            Some(a) => format!(" align-{a}"),
            None => String::new(),
        };
        // The embed's caption, else the file's name without its extension.
        let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
        let alt = escape_attr(alt.as_deref().unwrap_or(stem));
        match ext.as_str() {
            "png" | "jpg" | "jpeg" | "gif" | "svg" | "webp" | "bmp" | "avif" | "ico" => format!(
                "<img class=\"embed-image{class}\" src=\"{src}\" alt=\"{alt}\" loading=\"lazy\"{attrs}>"
            ),
            "mp3" | "wav" | "ogg" | "m4a" | "flac" => {
                format!("<audio class=\"embed-audio\" controls src=\"{src}\"></audio>")
            }
            "mp4" | "webm" | "ogv" | "mov" | "mkv" => {
                format!("<video class=\"embed-video\" controls src=\"{src}\"{attrs}></video>")
            }
            "pdf" => format!(
                "<a class=\"internal-link embed-file\" href=\"{src}\">📄 {}</a>",
                escape_text(name)
            ),
            _ => format!(
                "<a class=\"internal-link embed-file\" href=\"{src}\">{}</a>",
                escape_text(name)
            ),
        }
    }

    fn transclude(&mut self, index: usize, anchor: Option<String>, link: &WikiLink) -> String {
        let key: EmbedKey = (index, link.fragment.clone());
        let title = &self.ctx.infos[index].title;
        let cycle = self.stack.contains(&key);
        if cycle || self.stack.len() > MAX_EMBED_DEPTH {
            let note = &self.ctx.notes[self.from];
            let (message, hint) = if cycle {
                (
                    format!(
                        "embed of `{}` embeds itself: recursion stopped here",
                        link.target
                    ),
                    "remove one of the embeds in the cycle".to_owned(),
                )
            } else {
                (
                    format!(
                        "embed of `{}` is nested more than {MAX_EMBED_DEPTH} embeds deep: stopped here",
                        link.target
                    ),
                    format!("a page shows embeds {MAX_EMBED_DEPTH} levels deep at most"),
                )
            };
            let text = self.text(self.from);
            self.diagnostics.push(
                Diagnostic::warning(&note.path, &text, link.range.clone(), message).with_hint(hint),
            );
            return format!(
                "<div class=\"embed-note embed-recursive\"><div class=\"embed-title\">⚠ Recursive embed of “{}” stopped</div></div>\n",
                escape_text(title)
            );
        }
        let target_len = self.text(index).len();
        if self.embeds >= EMBED_BUDGET.0 || self.embedded_bytes + target_len > EMBED_BUDGET.1 {
            if self.report && !self.embed_budget_warned {
                self.embed_budget_warned = true;
                let note = &self.ctx.notes[self.from];
                let text = self.text(self.from);
                self.diagnostics.push(
                    Diagnostic::warning(
                        &note.path,
                        &text,
                        link.range.clone(),
                        format!(
                            "embed of `{}` not shown: the page already shows {} embeds ({} KB)",
                            link.target,
                            self.embeds,
                            self.embedded_bytes / 1024
                        ),
                    )
                    .with_hint(format!(
                        "a page shows at most {} embeds and {} MB of embedded notes, nested ones included",
                        EMBED_BUDGET.0,
                        EMBED_BUDGET.1 >> 20
                    )),
                );
            }
            return format!(
                "<div class=\"embed-note embed-recursive\"><div class=\"embed-title\">⚠ Embed of “{}” not shown: this page shows too many embeds</div></div>\n",
                escape_text(title)
            );
        }
        self.embedded_bytes += target_len;
        let target_nodes = self.ctx.nodes(index);
        let mut nodes: Vec<Node> = match (&link.fragment, &anchor) {
            (Some(Fragment::Heading(_)), Some(id)) => section(&target_nodes, id),
            (Some(Fragment::Block(_)), Some(id)) => {
                block(&target_nodes, id.trim_start_matches('^'))
            }
            _ => target_nodes.to_vec(),
        };
        if link.fragment.is_some() {
            add_footnote_definitions(&mut nodes, &target_nodes);
        }
        let published = self.ctx.graph.pages[index].published;
        let heading = match &link.fragment {
            Some(Fragment::Heading(h)) => format!("{} › {}", escape_text(title), escape_text(h)),
            _ => escape_text(title),
        };
        let title_html = match self.href(&Resolved::Note { index, anchor }) {
            Some(href) if published => {
                format!(
                    "<a class=\"internal-link\" href=\"{}\">{heading}</a>",
                    escape_attr(&href)
                )
            }
            _ => heading,
        };
        self.stack.push(key);
        self.embeds += 1;
        let prefix = format!("embed-{}--", self.embeds);
        let saved_prefix = std::mem::replace(&mut self.id_prefix, prefix);
        let saved_footnotes = std::mem::replace(&mut self.footnotes, Footnotes::plan(&nodes));
        let saved_from = std::mem::replace(&mut self.from, index);
        let saved_report = std::mem::replace(&mut self.report, false);
        let saved_toc = self.toc.take();
        let inner = self.blocks(&nodes);
        self.toc = saved_toc;
        self.report = saved_report;
        self.from = saved_from;
        self.footnotes = saved_footnotes;
        self.id_prefix = saved_prefix;
        self.stack.pop();
        format!(
            "<div class=\"embed-note\">\n<div class=\"embed-title\">{title_html}</div>\n<div class=\"embed-content\">\n{inner}</div>\n</div>\n"
        )
    }
}

/// The most a page shows of other notes: embeds (nested ones included) and bytes of
/// their notes. Notes that embed each other several times over would otherwise make a
/// page grow exponentially.
const EMBED_BUDGET: (usize, usize) = (1_000, 8 << 20);

/// How deep embeds may nest.
const MAX_EMBED_DEPTH: usize = 16;

/// A review comment, removed from text written out of its place.
static REVIEW_COMMENT_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<!--SR:[^>]*-->").unwrap_or_else(|_| unreachable!("constant regex"))
});

/// A piece of note `index`'s markdown (a flashcard's side) written as on the note's
/// page, with URLs relative to `page`.
pub fn render_fragment(ctx: &Ctx, index: usize, page: &str, markdown: &str) -> String {
    let mut writer = Writer::new(ctx, page, index, true);
    super::typo::keep_punctuation(&writer.fragment_html(markdown))
}

/// A flashcard's answer (a piece of note `index`'s markdown, the card at `range`) with
/// its identities' badges (without ids) beside the formulas stating them, and the
/// badges it could not place there.
pub fn render_card_back(
    ctx: &Ctx,
    index: usize,
    page: &str,
    markdown: &str,
    range: std::ops::Range<usize>,
) -> (String, String) {
    let mut writer = Writer::new(ctx, page, index, true);
    let (html, rest) = writer.card_back(markdown, range, false);
    (super::typo::keep_punctuation(&html), rest)
}

/// The badges (without ids) of the identities of note `index` stated in `range`.
pub fn badges_in(ctx: &Ctx, index: usize, range: std::ops::Range<usize>) -> String {
    badges_with_ids(ctx, index, range, false)
}

fn badges_with_ids(ctx: &Ctx, index: usize, range: std::ops::Range<usize>, ids: bool) -> String {
    ctx.identities
        .get(index)
        .map(|list| {
            list.iter()
                .filter(|i| range.start <= i.math_start && i.math_start < range.end)
                .filter(|i| has_badge(i))
                .map(|i| badge(i, index, ids, None))
                .collect()
        })
        .unwrap_or_default()
}

/// The markdown of a card's two sides as shown: the front without a list item's marker
/// (`- Q::A`);
/// for a cloze on its note's page (`whole`), every deletion blanked in front and filled
/// in behind, else the card's own sides (its asked deletions blanked).
pub fn card_sides(card: &Card, note_text: &str, whole: bool) -> (String, String) {
    if whole {
        let blanked = card.cloze_text(note_text, |d, _| {
            format!("==[{}]==", d.hint.as_deref().unwrap_or("..."))
        });
        let filled = card.cloze_text(note_text, |d, _| format!("=={}==", d.answer));
        if let (Some(front), Some(back)) = (blanked, filled) {
            return (front, back);
        }
    }
    (
        LIST_MARKER.replace(&card.front, "").into_owned(),
        card.back.clone(),
    )
}

/// A list item's marker at the start of a card's side.
static LIST_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+(?:\[[ xX]\]\s+)?")
        .unwrap_or_else(|_| unreachable!("constant regex"))
});

/// How a paragraph holding flashcards is written on its note's page.
enum ParagraphCards {
    /// Instead of the paragraph: its cards (and any other lines of it).
    Replace(String),
    /// Before the paragraph, which is written as usual: anchors for its cards.
    Anchors(String),
}

/// The anchor id of an identity's badge on its note's page.
pub fn badge_id(identity: &Located) -> String {
    format!("check-{}-{}", identity.line, identity.column)
}

static LINK_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<a(?:\s[^>]*)?>|</a>").unwrap_or_else(|_| unreachable!("constant regex"))
});

/// `html` without its `<a>` tags (their content kept): for a table of contents entry,
/// which is a link and may not hold one.
fn without_links(html: &str) -> String {
    LINK_TAG.replace_all(html, "").into_owned()
}

/// The skips that still carry a badge on the page: the checker read the identity and
/// has something to say (a failure under one reading of its notation; a truth under
/// the note's own condition). Every other skip — an equation that is no identity, a
/// law of physics with abstract functions, notation the checker does not read — shows
/// nothing on the page: a "?" on each would read as doubt. The report lists them all.
const SKIPS_WITH_BADGE: &[&str] = &["ambiguous", "condition"];

/// Whether an identity shows a badge beside its formula.
pub fn has_badge(identity: &Located) -> bool {
    match identity.verdict.status() {
        Status::Pass | Status::Fail => true,
        Status::Skip => identity
            .verdict
            .reason()
            .is_some_and(|r| SKIPS_WITH_BADGE.contains(&r)),
    }
}

/// The environments whose rows a badge can stand beside (each row a line of the
/// formula, rows split by `\\`).
const ALIGNED_ENVS: &[&str] = &[
    "aligned",
    "align",
    "align*",
    "alignat",
    "alignat*",
    "gathered",
    "gather",
    "gather*",
    "split",
    "eqnarray",
    "eqnarray*",
    "flalign",
    "flalign*",
    "multline",
    "multline*",
];

/// For byte `at` of a formula's source (delimiters included): the row of its first
/// row-aligned environment it falls in, and that environment's number of rows; `None`
/// when it is not in one. Rows of environments nested in it (matrices, cases) are not
/// counted.
fn aligned_row(source: &str, at: usize) -> Option<(usize, usize)> {
    let (start, name) = ALIGNED_ENVS
        .iter()
        .filter_map(|env| {
            source
                .find(&format!("\\begin{{{env}}}"))
                .map(|k| (k + env.len() + "\\begin{}".len(), *env))
        })
        .min()?;
    if at < start {
        return None;
    }
    let end_tag = format!("\\end{{{name}}}");
    let bytes = source.as_bytes();
    let (mut depth, mut separators, mut last_separator) = (0usize, 0usize, start);
    let mut row_of_at = None;
    let mut k = start;
    loop {
        if k >= bytes.len() {
            return None; // not closed
        }
        if row_of_at.is_none() && k >= at {
            row_of_at = Some(separators);
        }
        let rest = &source[k..];
        if depth == 0 && rest.starts_with(end_tag.as_str()) {
            break;
        }
        if rest.starts_with("\\begin{") {
            depth += 1;
            k += "\\begin{".len();
        } else if rest.starts_with("\\end{") {
            depth = depth.saturating_sub(1);
            k += "\\end{".len();
        } else if rest.starts_with("\\\\") {
            if depth == 0 {
                separators += 1;
                last_separator = k + 2;
            }
            k += 2;
        } else if bytes[k] == b'\\' {
            k += 2;
        } else {
            k += 1;
        }
    }
    // A `\\` that ends the last row opens none.
    let trailing = separators > 0 && source[last_separator..k].trim().is_empty();
    let rows = separators + 1 - usize::from(trailing);
    row_of_at.filter(|r| *r < rows).map(|r| (r, rows))
}

/// A verdict badge: ✓, ✗ or ○, with its details ([`super::nav::badge_detail`]) in a
/// tooltip shown on hover (static/nav.js opens them in place on a click or a key);
/// `row` is its row of an aligned block and the block's rows. A wrong or unchecked
/// identity's badge is a tab stop, a verified one is not (the header links to each).
fn badge(identity: &Located, note: usize, with_id: bool, row: Option<(usize, usize)>) -> String {
    let v = &identity.verdict;
    let (class, glyph, label) = super::nav::badge_look(v.status());
    let detail = super::nav::badge_detail(v);
    let id = if with_id {
        format!(" id=\"{}\"", badge_id(identity))
    } else {
        String::new()
    };
    let row = row
        .map(|(row, rows)| format!(" data-row=\"{row}\" data-rows=\"{rows}\""))
        .unwrap_or_default();
    let focus = if v.status() == Status::Pass {
        ""
    } else {
        " tabindex=\"0\" role=\"button\" aria-expanded=\"false\""
    };
    let report = super::nav::report_id(note, identity);
    format!(
        "<span class=\"badge {class}\"{id}{row}{focus} data-report=\"{report}\" aria-label=\"{label}\">{glyph}<span class=\"badge-detail\" role=\"tooltip\">{detail}</span></span>"
    )
}

fn unresolved(target: &str, shown: &str) -> String {
    format!(
        "<a class=\"internal-link is-unresolved\" title=\"No note named “{}” in the vault\">{shown}</a>",
        escape_attr(target)
    )
}

/// Pushes prepared HTML as an inline or a block event.
fn push_html(out: &mut Vec<Event<'static>>, html: String, inline: bool) {
    out.push(if inline {
        Event::InlineHtml(CowStr::from(html))
    } else {
        Event::Html(CowStr::from(html))
    });
}

/// Paragraphs that hold nothing but display math or transclusions are written without
/// `<p>` (a block inside a paragraph is not valid HTML); returns the indices of their
/// paragraph events and line breaks.
fn paragraphs_to_unwrap(w: &Writer, nodes: &[Node]) -> std::collections::HashSet<usize> {
    let mut skip = std::collections::HashSet::new();
    let mut k = 0;
    while k < nodes.len() {
        if nodes[k] == Node::Md(Event::Start(Tag::Paragraph)) {
            let Some(len) = nodes[k + 1..]
                .iter()
                .position(|n| *n == Node::Md(Event::End(TagEnd::Paragraph)))
            else {
                break;
            };
            let end = k + 1 + len;
            let inner = &nodes[k + 1..end];
            let mut blocks = 0;
            let only_blocks = inner.iter().all(|n| match n {
                Node::Math(m) if m.display => {
                    blocks += 1;
                    true
                }
                Node::Link(l) if l.embed && is_note_embed(w, l) => {
                    blocks += 1;
                    true
                }
                Node::Md(Event::SoftBreak | Event::HardBreak) => true,
                Node::Md(Event::Text(t)) => t.trim().is_empty(),
                _ => false,
            });
            if only_blocks && blocks > 0 {
                skip.insert(k);
                skip.insert(end);
                for (j, n) in inner.iter().enumerate() {
                    if matches!(
                        n,
                        Node::Md(Event::SoftBreak | Event::HardBreak | Event::Text(_))
                    ) {
                        skip.insert(k + 1 + j);
                    }
                }
            }
            k = end + 1;
        } else {
            k += 1;
        }
    }
    skip
}

/// Whether the embed is a transclusion (written as a block); an embed of a missing
/// heading is an inline marker, like any missing embed.
fn is_note_embed(w: &Writer, link: &WikiLink) -> bool {
    matches!(
        w.ctx
            .graph
            .resolve(w.from, &link.target, link.fragment.as_ref()),
        Ok(Resolved::Note { .. })
    )
}

/// The id of the `k`-th reference (from 1) to footnote `n`.
fn footnote_reference_id(prefix: &str, n: usize, k: usize) -> String {
    if k <= 1 {
        format!("{prefix}fnref-{n}")
    } else {
        format!("{prefix}fnref-{n}-{k}")
    }
}

/// Raw HTML as written, with `</br>` (which browsers read as `<br>`) written `<br>`.
/// Whether a browser would run `url` as script (or show it as a page of its own, for
/// `data:`) instead of fetching it: `javascript:`, `vbscript:`, and `data:` other than an
/// image's (`image` when the URL is an image's source). The scheme is read as browsers
/// read it: case aside, with tabs and line breaks inside it and spaces or control
/// characters before it ignored.
pub(crate) fn runs_script(url: &str, image: bool) -> bool {
    let scheme: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .take_while(|&c| c != ':')
        .take(16)
        .collect::<String>()
        .to_ascii_lowercase();
    if !url.contains(':') {
        return false;
    }
    match scheme.as_str() {
        "javascript" | "vbscript" => true,
        "data" => {
            let rest = url.split_once(':').map_or("", |(_, r)| r).trim_start();
            !(image
                && rest.to_ascii_lowercase().starts_with("image/")
                && !rest.to_ascii_lowercase().starts_with("image/svg"))
        }
        _ => false,
    }
}

fn normalise_html(html: &CowStr<'static>) -> CowStr<'static> {
    if CLOSING_BR.is_match(html) {
        CowStr::from(CLOSING_BR.replace_all(html, "<br>").into_owned())
    } else {
        html.clone()
    }
}

/// Appends to `part` (a section or block of `whole`) the definitions of the footnotes it
/// refers to but does not hold, so that its references lead somewhere.
fn add_footnote_definitions(part: &mut Vec<Node>, whole: &[Node]) {
    let mut defined: HashSet<String> = HashSet::new();
    let mut wanted: Vec<String> = Vec::new();
    for node in part.iter() {
        match node {
            Node::Md(Event::Start(Tag::FootnoteDefinition(label))) => {
                defined.insert(label.to_lowercase());
            }
            Node::Md(Event::FootnoteReference(label)) => wanted.push(label.to_lowercase()),
            _ => {}
        }
    }
    for (k, node) in whole.iter().enumerate() {
        if let Node::Md(Event::Start(Tag::FootnoteDefinition(label))) = node {
            let key = label.to_lowercase();
            if wanted.contains(&key) && defined.insert(key) {
                let end = matching_end(whole, k);
                part.extend(whole[k..=end].iter().cloned());
            }
        }
    }
}

/// The nodes of the section under the heading with id `id`, heading included.
fn section(nodes: &[Node], id: &str) -> Vec<Node> {
    let Some(start) = nodes.iter().position(|n| {
        matches!(n, Node::Md(Event::Start(Tag::Heading { id: Some(h), .. })) if h.as_ref() == id)
    }) else {
        return Vec::new();
    };
    let Node::Md(Event::Start(Tag::Heading { level, .. })) = &nodes[start] else {
        return Vec::new();
    };
    let level = *level;
    let mut depth = 0usize;
    let mut end = nodes.len();
    for (k, n) in nodes
        .iter()
        .enumerate()
        .skip(matching_end(nodes, start) + 1)
    {
        match n {
            Node::Md(Event::Start(Tag::Heading { level: l, .. })) if depth == 0 && *l <= level => {
                end = k;
                break;
            }
            Node::Md(Event::Start(_)) | Node::CalloutStart(_) => depth += 1,
            Node::Md(Event::End(_)) | Node::CalloutEnd => {
                if depth == 0 {
                    // The heading sat inside a container: the section ends with it.
                    end = k;
                    break;
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    nodes[start..end].to_vec()
}

/// The nodes of the paragraph or list item that carries `^id`.
fn block(nodes: &[Node], id: &str) -> Vec<Node> {
    let Some(at) = nodes
        .iter()
        .position(|n| matches!(n, Node::BlockAnchor(b) if b.eq_ignore_ascii_case(id)))
    else {
        return Vec::new();
    };
    // Walk back to the start of the innermost element around the anchor.
    let mut depth = 0usize;
    let mut start = None;
    for k in (0..at).rev() {
        match &nodes[k] {
            Node::Md(Event::End(_)) | Node::CalloutEnd => depth += 1,
            Node::Md(Event::Start(_)) | Node::CalloutStart(_) => {
                if depth == 0 {
                    start = Some(k);
                    break;
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    let Some(mut start) = start else {
        return Vec::new();
    };
    // A paragraph inside a list item stands for the item.
    if start > 0 && nodes[start - 1] == Node::Md(Event::Start(Tag::Item)) {
        start -= 1;
    }
    let end = matching_end(nodes, start);
    let mut out = nodes[start..=end].to_vec();
    if nodes[start] == Node::Md(Event::Start(Tag::Item)) {
        out.insert(0, Node::Md(Event::Start(Tag::List(None))));
        out.push(Node::Md(Event::End(TagEnd::List(false))));
    }
    out
}

fn callout_icon(kind: &str) -> &'static str {
    match kind {
        "abstract" => "☰",
        "info" => "ℹ",
        "todo" => "☐",
        "tip" => "✦",
        "success" => "✓",
        "question" => "?",
        "warning" => "⚠",
        "failure" => "✗",
        "danger" => "⚡",
        "bug" => "🐞",
        "example" => "▤",
        "quote" => "❝",
        _ => "✎",
    }
}

/// `<p>x</p>` → `x` (inline content rendered through the block writer).
fn strip_paragraph(html: &str) -> String {
    let t = html.trim();
    t.strip_prefix("<p>")
        .and_then(|s| s.strip_suffix("</p>"))
        .unwrap_or(t)
        .to_string()
}

/// HTML of paragraphs as phrasing content (for a `<summary>`): the outer `<p>` removed
/// and paragraph breaks written as line breaks.
pub fn as_inline(html: &str) -> String {
    strip_paragraph(html).replace("</p>\n<p>", "<br><br>")
}

/// Escapes text for HTML content.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes text for a double-quoted HTML attribute.
pub fn escape_attr(s: &str) -> String {
    escape_text(s).replace('"', "&quot;")
}

/// Encodes an anchor for a URL fragment (`^` and spaces stay readable where allowed).
fn fragment_encode(anchor: &str) -> String {
    anchor.replace(' ', "%20").replace('"', "%22")
}

#[cfg(test)]
mod tests {
    use super::aligned_row;

    #[test]
    fn rows_of_aligned_blocks() {
        let src = "$$\\begin{aligned}\na &= b \\\\\nc &= \\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix} \\\\\ne &= f \\\\\n\\end{aligned} g = h$$";
        let at = |needle: &str| src.find(needle).unwrap_or(0);
        assert_eq!(aligned_row(src, at("a &=")), Some((0, 3)));
        assert_eq!(aligned_row(src, at("c &=")), Some((1, 3)));
        assert_eq!(aligned_row(src, at("e &=")), Some((2, 3)));
        assert_eq!(aligned_row(src, at("g =")), None);
        assert_eq!(aligned_row("$$x = y$$", 2), None);
        assert_eq!(aligned_row("$$\\begin{align*} a = b", 18), None);
    }
}
