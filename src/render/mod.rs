//! Stage 5: the site's pages as HTML — one per published note, the index, a page per
//! tag, the tag list and the identity-check report — through the tera templates in `templates/`.

pub mod html;
pub mod math;
pub mod nav;
pub mod quiz;
pub mod search;
pub mod typo;

use std::collections::HashSet;

use rayon::prelude::*;
use serde::Serialize;
use tera::{Context, Tera};

use crate::check::Located;
use crate::diagnostics::Diagnostic;
use crate::extract::NoteInfo;
use crate::extract::cards::Card;
use crate::graph::{self, Graph};
use crate::parse::ParsedNote;
use crate::slug;
use crate::urls;

/// A file of the finished site.
#[derive(Debug, Clone)]
pub struct OutFile {
    /// Site-relative path, `/`-separated.
    pub path: String,
    pub contents: Vec<u8>,
}

/// The rendered site, still in memory.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub files: Vec<OutFile>,
    /// Number of HTML pages among `files`.
    pub pages: usize,
    pub diagnostics: Vec<Diagnostic>,
}

/// Settings of the site as a whole.
#[derive(Debug, Clone)]
pub struct SiteSettings {
    pub title: String,
    /// Drop the notes' raw HTML and script URLs (`html: safe`).
    pub safe_html: bool,
    /// Set by [`render_site`]: whether the site has flashcards, hence quiz pages.
    pub quiz: bool,
    /// The reading order (`order:` in notebuild.yaml): vault paths, `.md` optional.
    pub order: Vec<String>,
    /// The vault's TeX macros when the notes' nodes were let go after the analysis
    /// (a cold build): each page then parses its note again ([`crate::parse::nodes_again`]).
    pub reparse: Option<crate::tex::macros::Macros>,
    /// Where the notes' texts are when the notes let them go (a cold build).
    pub texts: Option<std::sync::Arc<dyn crate::parse::NoteTexts>>,
}

/// The templates, compiled into the binary.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("note.html", include_str!("../../templates/note.html")),
    ("index.html", include_str!("../../templates/index.html")),
    ("tag.html", include_str!("../../templates/tag.html")),
    ("tags.html", include_str!("../../templates/tags.html")),
    ("checks.html", include_str!("../../templates/checks.html")),
    (
        "check_entry.html",
        include_str!("../../templates/check_entry.html"),
    ),
    ("quiz.html", include_str!("../../templates/quiz.html")),
    ("graph.html", include_str!("../../templates/graph.html")),
];

const STYLE: &[u8] = include_bytes!("../../templates/static/style.css");
const QUIZ_STYLE: &[u8] = include_bytes!("../../templates/static/quiz.css");
const QUIZ_SCRIPT: &[u8] = include_bytes!("../../templates/static/quiz.js");
const SEARCH_SCRIPT: &[u8] = include_bytes!("../../templates/static/search.js");
const BADGE_SCRIPT: &[u8] = include_bytes!("../../templates/static/badges.js");
const NAV_SCRIPT: &[u8] = include_bytes!("../../templates/static/nav.js");

/// An error in the templates themselves (a defect of notebuild, not of the vault).
#[derive(Debug)]
pub struct TemplateError(pub String);

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "template error: {}", self.0)
    }
}

impl std::error::Error for TemplateError {}

/// The templates, compiled once per process (each rebuild of `serve` uses them again).
fn engine() -> Result<&'static Tera, TemplateError> {
    static ENGINE: std::sync::OnceLock<Result<Tera, String>> = std::sync::OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let mut tera = Tera::new();
            tera.add_raw_templates(TEMPLATES.iter().copied())
                .map_err(|e| format!("{e:?}"))?;
            Ok(tera)
        })
        .as_ref()
        .map_err(|e| TemplateError(e.clone()))
}

/// With `NOTEBUILD_TIMING` set, prints how long a part of the rendering took.
fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    if std::env::var_os("NOTEBUILD_TIMING").is_none() {
        return f();
    }
    let start = std::time::Instant::now();
    let out = f();
    eprintln!(
        "render: {what} in {:.1} ms",
        start.elapsed().as_secs_f64() * 1000.0
    );
    out
}

#[derive(Serialize)]
struct SiteCtx<'a> {
    title: &'a str,
    /// Whether the site has quiz pages (the navigation links them).
    quiz: bool,
}

#[derive(Serialize)]
struct NoteLink {
    title: String,
    url: String,
    path: String,
}

#[derive(Serialize)]
struct TagLink {
    name: String,
    url: String,
    count: usize,
    depth: usize,
}

#[derive(Serialize)]
struct Crumb {
    name: String,
}

#[derive(Serialize)]
struct TocItem {
    level: u8,
    id: String,
    text: String,
}

#[derive(Serialize)]
struct NoteCtx {
    title: String,
    path: String,
    content: String,
    /// The date as shown, and as `YYYY-MM-DD` when it is a day.
    date: Option<String>,
    date_iso: Option<String>,
    breadcrumbs: Vec<Crumb>,
    tags: Vec<TagLink>,
    aliases: Vec<String>,
    toc: Vec<TocItem>,
    toc_min_level: u8,
    backlinks: Vec<NoteLink>,
    warnings: usize,
    /// Whether badges stand beside rows of aligned blocks (the page loads their script).
    row_badges: bool,
    /// Flashcards in the note, and the quiz pages of their decks.
    cards: usize,
    decks: Vec<DeckCount>,
    /// The page from the site's root (the explorer marks it).
    url: String,
    /// The line in the header about the note's checked identities.
    checks: nav::CheckSummary,
    /// The notes before and after this one in reading order.
    prev: Option<nav::Neighbour>,
    next: Option<nav::Neighbour>,
}

#[derive(Serialize)]
struct DeckCount {
    name: String,
    url: String,
    /// Cards of the whole deck.
    count: usize,
}

#[derive(Serialize)]
struct NotePage<'a> {
    site: SiteCtx<'a>,
    root: String,
    page_title: String,
    generator: &'static str,
    note: NoteCtx,
}

/// Renders every page of the site. `progress` is called once per note written.
pub fn render_site(
    notes: &[ParsedNote],
    infos: &[NoteInfo],
    graph: &Graph,
    identities: &[Vec<Located>],
    cards: &[Vec<Card>],
    settings: &SiteSettings,
    progress: &(dyn Fn() + Sync),
) -> Result<Rendered, TemplateError> {
    let files = std::sync::Mutex::new(Vec::new());
    let sink = |file: OutFile| -> Result<(), TemplateError> {
        files
            .lock()
            .map_err(|_| TemplateError("a page's writer panicked".into()))?
            .push(file);
        Ok(())
    };
    let summary = render_site_to(
        notes, infos, graph, identities, cards, settings, progress, &sink,
    )?;
    let mut files = files
        .into_inner()
        .map_err(|_| TemplateError("a page's writer panicked".into()))?;
    // The pages first, as they were rendered: by path within each kind is enough.
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Rendered {
        files,
        pages: summary.pages,
        diagnostics: summary.diagnostics,
    })
}

/// What [`render_site_to`] rendered: the number of HTML pages and the problems found.
#[derive(Debug, Clone, Default)]
pub struct RenderSummary {
    pub pages: usize,
    pub diagnostics: Vec<Diagnostic>,
}

/// Renders every page of the site and hands each file to `sink` as soon as it is made
/// (from several threads at once), so that the site is never held in memory as a whole.
/// `progress` is called once per note written.
#[allow(clippy::too_many_arguments)]
pub fn render_site_to<E: From<TemplateError> + Send>(
    notes: &[ParsedNote],
    infos: &[NoteInfo],
    graph: &Graph,
    identities: &[Vec<Located>],
    cards: &[Vec<Card>],
    settings: &SiteSettings,
    progress: &(dyn Fn() + Sync),
    sink: &(dyn Fn(OutFile) -> Result<(), E> + Sync),
) -> Result<RenderSummary, E> {
    let which: Vec<usize> = (0..notes.len()).collect();
    let rests = render_notes(
        notes, infos, graph, identities, cards, settings, &which, progress, sink,
    )?;
    let list: Vec<&NoteRest> = rests.iter().map(|(_, r)| r).collect();
    let mut summary = render_rest(
        notes, infos, graph, identities, cards, settings, &list, true, sink,
    )?;
    summary.pages += rests.len();
    summary.diagnostics = rests
        .into_iter()
        .flat_map(|(_, r)| r.diagnostics)
        .chain(summary.diagnostics)
        .collect();
    Ok(summary)
}

/// What a note's page gives the rest of the site: the problems found writing it, the
/// flashcards it anchors, its search entry and its preview.
#[derive(Debug, Clone)]
pub struct NoteRest {
    pub diagnostics: Vec<Diagnostic>,
    cards_shown: Vec<String>,
    search: search::Entry,
    preview: (String, String, String),
}

impl NoteRest {
    /// The note's search entry as the search index writes it (JSON).
    pub fn search_json(&self) -> Vec<u8> {
        serde_json::to_vec(&self.search).unwrap_or_else(|_| b"null".to_vec())
    }

    /// The note's page (from the root, percent-encoded), and its title and preview as
    /// the previews' file writes them (JSON).
    pub fn preview_json(&self) -> (&str, Vec<u8>) {
        let (url, title, html) = &self.preview;
        let json = serde_json::to_vec(&(title, html)).unwrap_or_else(|_| b"null".to_vec());
        (url, json)
    }

    /// This rest without its search entry and preview (written by the caller, from
    /// [`NoteRest::search_json`] and [`NoteRest::preview_json`]): what the other files of
    /// the site read, when those two are not made by [`render_rest_of`].
    pub fn slim(self) -> NoteRest {
        NoteRest {
            diagnostics: self.diagnostics,
            cards_shown: self.cards_shown,
            search: search::Entry::empty(),
            preview: Default::default(),
        }
    }
}

/// What every page is made from: the notes, their graph, identities and cards, and
/// the site's settings (already completed by [`site_settings`]).
fn page_ctx<'a>(
    notes: &'a [ParsedNote],
    infos: &'a [NoteInfo],
    graph: &'a Graph,
    identities: &'a [Vec<Located>],
    cards: &'a [Vec<Card>],
    settings: &'a SiteSettings,
) -> html::Ctx<'a> {
    html::Ctx {
        graph,
        notes,
        infos,
        identities,
        cards,
        safe_html: settings.safe_html,
        reparse: settings.reparse.as_ref(),
        texts: settings.texts.as_deref(),
    }
}

/// The settings with [`SiteSettings::quiz`] set: whether a published note has cards.
pub fn site_settings(settings: &SiteSettings, graph: &Graph, cards: &[Vec<Card>]) -> SiteSettings {
    SiteSettings {
        quiz: cards
            .iter()
            .zip(&graph.pages)
            .any(|(c, page)| page.published && !c.is_empty()),
        ..settings.clone()
    }
}

/// Renders the pages of the published notes among `which` (indices, ascending) and
/// hands each to `sink`; what each gives the rest of the site, by index, in order.
#[allow(clippy::too_many_arguments)]
pub fn render_notes<E: From<TemplateError> + Send>(
    notes: &[ParsedNote],
    infos: &[NoteInfo],
    graph: &Graph,
    identities: &[Vec<Located>],
    cards: &[Vec<Card>],
    settings: &SiteSettings,
    which: &[usize],
    progress: &(dyn Fn() + Sync),
    sink: &(dyn Fn(OutFile) -> Result<(), E> + Sync),
) -> Result<Vec<(usize, NoteRest)>, E> {
    render_notes_then(
        notes,
        infos,
        graph,
        identities,
        cards,
        settings,
        which,
        progress,
        sink,
        &|_, rest| Ok(rest),
    )
}

/// [`render_notes`], keeping of each note's rest what `then` makes of it (called as
/// soon as the note's page is written, from several threads at once).
#[allow(clippy::too_many_arguments)]
pub fn render_notes_then<E: From<TemplateError> + Send, R: Send>(
    notes: &[ParsedNote],
    infos: &[NoteInfo],
    graph: &Graph,
    identities: &[Vec<Located>],
    cards: &[Vec<Card>],
    settings: &SiteSettings,
    which: &[usize],
    progress: &(dyn Fn() + Sync),
    sink: &(dyn Fn(OutFile) -> Result<(), E> + Sync),
    then: &(dyn Fn(usize, NoteRest) -> Result<R, E> + Sync),
) -> Result<Vec<(usize, R)>, E> {
    let tera = engine()?;
    let settings = &site_settings(settings, graph, cards);
    let ctx = page_ctx(notes, infos, graph, identities, cards, settings);
    let order = nav::reading_order(graph, infos, &settings.order);
    let positions = nav::positions(&order, notes.len());
    let reading = (order.as_slice(), positions.as_slice());
    which
        .par_iter()
        .filter(|&&i| graph.pages.get(i).is_some_and(|p| p.published))
        .map(|&i| {
            let out = note_page(tera, &ctx, settings, i, reading)?;
            sink(out.file)?;
            progress();
            let rest = NoteRest {
                diagnostics: out.diagnostics,
                cards_shown: out.cards_shown,
                search: out.search,
                preview: out.preview,
            };
            Ok((i, then(i, rest)?))
        })
        .collect()
}

/// Renders every file of the site but the notes' pages: `rests` are what the published
/// notes' pages gave, in the notes' order. Without `whole`, only the files that read the
/// notes' text, verdicts or cards: not those made of the vault's outline alone (tag
/// pages, the graph page, the explorer's data) nor the fixed files. The summary counts
/// the pages rendered.
#[allow(clippy::too_many_arguments)]
pub fn render_rest<E: From<TemplateError> + Send>(
    notes: &[ParsedNote],
    infos: &[NoteInfo],
    graph: &Graph,
    identities: &[Vec<Located>],
    cards: &[Vec<Card>],
    settings: &SiteSettings,
    rests: &[&NoteRest],
    whole: bool,
    sink: &(dyn Fn(OutFile) -> Result<(), E> + Sync),
) -> Result<RenderSummary, E> {
    let remake = if whole { Remake::ALL } else { Remake::NOTES };
    render_rest_of(
        notes, infos, graph, identities, cards, settings, rests, remake, sink,
    )
}

/// Which of the files [`render_rest`] makes to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remake {
    /// The index page (it reads the verdicts' counts and the home note's text).
    pub index: bool,
    /// The report (every verdict).
    pub checks: bool,
    /// The quiz pages (the cards, and which of them the notes' pages show).
    pub quiz: bool,
    /// The search index (the notes' search entries).
    pub search: bool,
    /// The previews (the notes' previews).
    pub previews: bool,
    /// The cards' data (the cards and where their notes are).
    pub cards: bool,
    /// What is made of the vault's outline alone: the tag list and tag pages, the
    /// graph page, the explorer's data; and the fixed files.
    pub outline: bool,
}

impl Remake {
    /// Every file.
    pub const ALL: Remake = Remake {
        index: true,
        checks: true,
        quiz: true,
        search: true,
        previews: true,
        cards: true,
        outline: true,
    };
    /// The files that read the notes' text, verdicts or cards.
    pub const NOTES: Remake = Remake {
        outline: false,
        ..Remake::ALL
    };
}

/// Which of the files made of the notes' pages can differ after a note's page gave
/// `new` instead of `old`: the search index, the previews.
pub fn rest_changes(old: &NoteRest, new: &NoteRest) -> (bool, bool) {
    (old.search != new.search, old.preview != new.preview)
}

/// [`render_rest`], making only the files `remake` names.
#[allow(clippy::too_many_arguments)]
pub fn render_rest_of<E: From<TemplateError> + Send>(
    notes: &[ParsedNote],
    infos: &[NoteInfo],
    graph: &Graph,
    identities: &[Vec<Located>],
    cards: &[Vec<Card>],
    settings: &SiteSettings,
    rests: &[&NoteRest],
    remake: Remake,
    sink: &(dyn Fn(OutFile) -> Result<(), E> + Sync),
) -> Result<RenderSummary, E> {
    let tera = engine()?;
    let settings = &site_settings(settings, graph, cards);
    let ctx = page_ctx(notes, infos, graph, identities, cards, settings);
    let mut cards_shown: HashSet<String> = HashSet::new();
    let mut entries = Vec::new();
    let mut previews = Vec::new();
    for r in rests {
        previews.push(&r.preview);
        cards_shown.extend(r.cards_shown.iter().cloned());
        entries.push(&r.search);
    }
    // The files, in parts made side by side; each part hands its files to `sink` and
    // says how many HTML pages it made.
    #[derive(Clone, Copy, Debug)]
    enum Part {
        Index,
        Tags,
        Checks,
        Graph,
        Quiz,
        Fixed,
        Search,
        Nav,
        Previews,
        Cards,
    }
    // the slowest first
    let parts: Vec<Part> = [
        (remake.checks, Part::Checks),
        (remake.search, Part::Search),
        (remake.previews, Part::Previews),
        (remake.index, Part::Index),
        (remake.quiz, Part::Quiz),
        (remake.cards, Part::Cards),
        (remake.outline, Part::Tags),
        (remake.outline, Part::Graph),
        (remake.outline, Part::Fixed),
        (remake.outline, Part::Nav),
    ]
    .into_iter()
    .filter_map(|(wanted, part)| wanted.then_some(part))
    .collect();
    let fixed = |path: &str, contents: &[u8]| {
        sink(OutFile {
            path: path.into(),
            contents: contents.to_vec(),
        })
    };
    let make = |part: Part| -> Result<usize, E> {
        Ok(match part {
            Part::Index => {
                sink(index_page(tera, &ctx, settings)?)?;
                1
            }
            Part::Tags => {
                sink(tags_page(tera, graph, infos, settings)?)?;
                // Each tag page lists its own notes and sub-tags only (the whole list is
                // on tags.html): the tag pages together grow as the vault does.
                let tag_pages: Vec<Result<(), E>> = graph
                    .tags
                    .par_iter()
                    .map(|(key, _)| sink(tag_page(tera, graph, infos, settings, key)?))
                    .collect();
                let mut n = 1;
                for written in tag_pages {
                    written?;
                    n += 1;
                }
                n
            }
            Part::Checks => {
                let mut contents = Vec::new();
                checks_page(tera, &ctx, settings, &mut contents).map_err(|e| match e {
                    WriteError::Template(e) => e,
                    // writing to memory
                    WriteError::Io(e) => TemplateError(e.to_string()),
                })?;
                sink(OutFile {
                    path: CHECKS_PAGE.to_string(),
                    contents,
                })?;
                1
            }
            Part::Graph => {
                sink(graph_page(tera, settings)?)?;
                1
            }
            Part::Quiz => {
                let files = quiz::quiz_pages(tera, &ctx, cards, &cards_shown, settings)?;
                let n = files.len();
                for file in files {
                    sink(file)?;
                }
                n
            }
            Part::Fixed => {
                for (path, contents) in [
                    (urls::STYLE, STYLE),
                    (urls::QUIZ_STYLE, QUIZ_STYLE),
                    (urls::QUIZ_SCRIPT, QUIZ_SCRIPT),
                    (urls::SEARCH_SCRIPT, SEARCH_SCRIPT),
                    (urls::BADGE_SCRIPT, BADGE_SCRIPT),
                    (urls::NAV_SCRIPT, NAV_SCRIPT),
                ] {
                    fixed(path, contents)?;
                }
                for (path, bytes) in math::assets() {
                    fixed(&format!("{}/{path}", urls::STATIC_DIR), bytes)?;
                }
                0
            }
            Part::Search => {
                sink(search::index_file(&entries))?;
                0
            }
            Part::Nav => {
                let order = nav::reading_order(graph, infos, &settings.order);
                sink(nav::nav_file(graph, infos, &order))?;
                0
            }
            Part::Previews => {
                sink(nav::previews_file(&previews))?;
                0
            }
            Part::Cards => {
                sink(nav::cards_file(cards, graph))?;
                0
            }
        })
    };
    let made: Vec<Result<usize, E>> = parts
        .par_iter()
        .map(|&part| timed(&format!("{part:?}"), || make(part)))
        .collect();
    let mut summary = RenderSummary::default();
    for pages in made {
        summary.pages += pages?;
    }
    Ok(summary)
}

/// Every file [`render_site`] writes besides the note and tag pages: the fixed ones
/// ([`urls::FIXED`]), the math assets, and the quiz pages of the published notes' cards
/// (`published[i]` for note `i`).
pub fn generated_paths(cards: &[Vec<Card>], published: &[bool]) -> Vec<String> {
    let mut paths: Vec<String> = urls::FIXED.iter().map(|p| p.to_string()).collect();
    paths.extend(
        math::assets()
            .into_iter()
            .map(|(path, _)| format!("{}/{path}", urls::STATIC_DIR)),
    );
    paths.extend(quiz::page_paths(cards, published));
    paths
}

fn render(tera: &Tera, template: &str, context: &impl Serialize) -> Result<Vec<u8>, TemplateError> {
    let context = Context::from_serialize(context).map_err(|e| TemplateError(format!("{e:?}")))?;
    tera.render(template, &context)
        .map(String::into_bytes)
        .map_err(|e| TemplateError(format!("{template}: {e:?}")))
}

/// A note's page, the problems found writing it, the flashcards it anchors and its
/// entry in the search index.
struct NoteOut {
    file: OutFile,
    diagnostics: Vec<Diagnostic>,
    cards_shown: Vec<String>,
    search: search::Entry,
    /// The page (from the root, percent-encoded), title and preview of the note.
    preview: (String, String, String),
}

fn note_page(
    tera: &Tera,
    ctx: &html::Ctx,
    settings: &SiteSettings,
    i: usize,
    reading: (&[usize], &[Option<usize>]),
) -> Result<NoteOut, TemplateError> {
    let info = &ctx.infos[i];
    let url = &ctx.graph.pages[i].url;
    let body = html::render_note(ctx, i, url);
    let preview = (
        slug::encode_path(url),
        info.title.clone(),
        nav::preview_of(&body.html),
    );
    let (prev, next) = nav::prev_next(ctx.graph, ctx.infos, reading.0, reading.1, i);
    let toc_min_level = body.toc.iter().map(|t| t.level).min().unwrap_or(1);
    let row_badges = body.html.contains(" data-row=\"");
    let headings: Vec<(String, String)> = body
        .toc
        .iter()
        .map(|t| (search::visible_text(&t.html), t.id.clone()))
        .collect();
    let search = search::Entry::new(
        &info.title,
        url,
        &info.path,
        &info.tags,
        &headings,
        &body.html,
    );
    let note = NoteCtx {
        title: info.title.clone(),
        path: info.path.clone(),
        content: body.html,
        date: date_of(info).map(|(shown, _)| shown),
        date_iso: date_of(info).and_then(|(_, iso)| iso),
        breadcrumbs: graph::folder_of(&info.path)
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| Crumb {
                name: s.to_string(),
            })
            .collect(),
        tags: info
            .tags
            .iter()
            .map(|t| TagLink {
                name: t.clone(),
                url: slug::encode_path(&slug::relative_url(url, &ctx.graph.tag_url(t))),
                count: 0,
                depth: 0,
            })
            .collect(),
        aliases: info.aliases.clone(),
        toc: body
            .toc
            .into_iter()
            .map(|t| TocItem {
                level: t.level,
                id: t.id,
                text: t.html,
            })
            .collect(),
        toc_min_level,
        backlinks: ctx.graph.backlinks[i]
            .iter()
            .map(|&b| note_link(ctx.graph, ctx.infos, url, b))
            .collect(),
        warnings: 0,
        row_badges,
        cards: ctx.cards.get(i).map_or(0, Vec::len),
        decks: note_decks(ctx, i, url),
        url: slug::encode_path(url),
        checks: ctx
            .identities
            .get(i)
            .map(|list| nav::check_summary(list))
            .unwrap_or_default(),
        prev,
        next,
    };
    let page = NotePage {
        site: SiteCtx {
            title: &settings.title,
            quiz: settings.quiz,
        },
        root: slug::root_prefix(url),
        page_title: info.title.clone(),
        generator: concat!("notebuild ", env!("CARGO_PKG_VERSION")),
        note,
    };
    let contents = render(tera, "note.html", &page)?;
    Ok(NoteOut {
        file: OutFile {
            path: url.clone(),
            contents,
        },
        diagnostics: body.diagnostics,
        cards_shown: body.cards_shown,
        search,
        preview,
    })
}

/// The decks of note `i`'s cards, each with its quiz page and its number of cards.
fn note_decks(ctx: &html::Ctx, i: usize, url: &str) -> Vec<DeckCount> {
    let Some(cards) = ctx.cards.get(i) else {
        return Vec::new();
    };
    let mut decks: Vec<&Vec<String>> = Vec::new();
    for card in cards {
        if !decks
            .iter()
            .any(|d| d.join("/").eq_ignore_ascii_case(&card.deck.join("/")))
        {
            decks.push(&card.deck);
        }
    }
    decks
        .into_iter()
        .map(|deck| {
            let key = deck.join("/").to_lowercase();
            let count = ctx
                .cards
                .iter()
                .zip(&ctx.graph.pages)
                .filter(|(_, page)| page.published)
                .flat_map(|(cs, _)| cs)
                .filter(|c| {
                    let d = c.deck.join("/").to_lowercase();
                    d == key || d.starts_with(&format!("{key}/"))
                })
                .count();
            DeckCount {
                name: deck.join(" › "),
                url: slug::encode_path(&slug::relative_url(url, &quiz::deck_page(deck))),
                count,
            }
        })
        .collect()
}

fn note_link(graph: &Graph, infos: &[NoteInfo], from_page: &str, i: usize) -> NoteLink {
    NoteLink {
        title: infos[i].title.clone(),
        url: slug::encode_path(&slug::relative_url(from_page, &graph.pages[i].url)),
        path: infos[i].path.clone(),
    }
}

/// The note's date as shown, and as a day when it is one (for `<time datetime>` and
/// for ordering). Never the file's modification time: after a checkout that is the
/// same day for every note.
fn date_of(info: &NoteInfo) -> Option<(String, Option<String>)> {
    match (&info.day, &info.date) {
        (Some(day), _) => Some((day.to_string(), Some(day.to_string()))),
        (None, Some(written)) => Some((written.clone(), None)),
        (None, None) => None,
    }
}

#[derive(Serialize)]
struct FolderCtx {
    name: String,
    path: String,
    depth: usize,
    notes: Vec<NoteLink>,
}

#[derive(Serialize)]
struct Recent {
    title: String,
    url: String,
    date: String,
}

#[derive(Serialize)]
struct Home {
    title: String,
    content: String,
    url: String,
}

#[derive(Serialize)]
struct Stats {
    notes: usize,
    tags: usize,
}

#[derive(Serialize)]
struct IndexPage<'a> {
    site: SiteCtx<'a>,
    root: &'static str,
    page_title: String,
    generator: &'static str,
    folders: Vec<FolderCtx>,
    recent: Vec<Recent>,
    tags: Vec<TagLink>,
    stats: Stats,
    home: Option<Home>,
    checks: nav::SiteChecks,
}

fn index_page(
    tera: &Tera,
    ctx: &html::Ctx,
    settings: &SiteSettings,
) -> Result<OutFile, TemplateError> {
    let graph = ctx.graph;
    let infos = ctx.infos;
    let published: Vec<usize> = (0..infos.len())
        .filter(|&i| graph.pages[i].published)
        .collect();

    // Folders in tree order, each with its notes sorted by title.
    let mut by_folder: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
    for &i in &published {
        let folder = graph::folder_of(&infos[i].path).to_string();
        // Every ancestor folder appears, even when it holds no note itself.
        let mut prefix = String::new();
        for part in folder.split('/').filter(|p| !p.is_empty()) {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            by_folder.entry(prefix.clone()).or_default();
        }
        by_folder.entry(folder).or_default().push(i);
    }
    let folders = by_folder
        .into_iter()
        .map(|(path, mut notes)| {
            notes.sort_by_key(|&i| infos[i].title.to_lowercase());
            FolderCtx {
                name: path.rsplit('/').next().unwrap_or("").to_string(),
                depth: if path.is_empty() {
                    0
                } else {
                    path.matches('/').count() + 1
                },
                notes: notes
                    .into_iter()
                    .map(|i| note_link(graph, infos, "index.html", i))
                    .collect(),
                path,
            }
        })
        .collect();

    let mut dated: Vec<(String, usize)> = published
        .iter()
        .filter_map(|&i| infos[i].day.map(|d| (d.to_string(), i)))
        .collect();
    dated.sort_by(|a, b| b.0.cmp(&a.0).then(infos[a.1].title.cmp(&infos[b.1].title)));
    let recent = dated
        .into_iter()
        .take(10)
        .map(|(date, i)| Recent {
            title: infos[i].title.clone(),
            url: slug::encode_path(&graph.pages[i].url),
            date,
        })
        .collect();

    let home = published
        .iter()
        .copied()
        .find(|&i| {
            let path = infos[i].path.to_lowercase();
            matches!(
                path.as_str(),
                "index.md" | "home.md" | "readme.md" | "start here.md" | "welcome.md"
            )
        })
        .map(|i| {
            // Rendered for the index page: every URL relative to the root.
            let body = html::render_note(ctx, i, "index.html");
            Home {
                title: infos[i].title.clone(),
                content: body.html,
                url: slug::encode_path(&graph.pages[i].url),
            }
        });

    let page = IndexPage {
        site: SiteCtx {
            title: &settings.title,
            quiz: settings.quiz,
        },
        root: "",
        page_title: settings.title.clone(),
        generator: concat!("notebuild ", env!("CARGO_PKG_VERSION")),
        folders,
        recent,
        tags: tag_list(graph, "index.html", true),
        stats: Stats {
            notes: published.len(),
            tags: graph.tags.len(),
        },
        home,
        checks: nav::site_checks(ctx.identities),
    };
    Ok(OutFile {
        path: urls::INDEX.into(),
        contents: render(tera, "index.html", &page)?,
    })
}

fn tag_list(graph: &Graph, from_page: &str, top_level_only: bool) -> Vec<TagLink> {
    graph
        .tags
        .iter()
        .filter(|(key, _)| !top_level_only || !key.contains('/'))
        .map(|(_, entry)| TagLink {
            name: entry.name.clone(),
            url: slug::encode_path(&slug::relative_url(from_page, &entry.url)),
            count: entry.all.len(),
            depth: entry.name.matches('/').count(),
        })
        .collect()
}

#[derive(Serialize)]
struct TagsPage<'a> {
    site: SiteCtx<'a>,
    root: &'static str,
    page_title: String,
    generator: &'static str,
    tags: Vec<TagLink>,
}

fn tags_page(
    tera: &Tera,
    graph: &Graph,
    _infos: &[NoteInfo],
    settings: &SiteSettings,
) -> Result<OutFile, TemplateError> {
    let page = TagsPage {
        site: SiteCtx {
            title: &settings.title,
            quiz: settings.quiz,
        },
        root: "",
        page_title: "Tags".into(),
        generator: concat!("notebuild ", env!("CARGO_PKG_VERSION")),
        tags: tag_list(graph, "tags.html", false),
    };
    Ok(OutFile {
        path: urls::TAGS.into(),
        contents: render(tera, "tags.html", &page)?,
    })
}

#[derive(Serialize)]
struct TagCtx {
    name: String,
    notes: Vec<NoteLink>,
    children: Vec<TagLink>,
    parent: Option<TagLink>,
}

#[derive(Serialize)]
struct TagPage<'a> {
    site: SiteCtx<'a>,
    root: String,
    page_title: String,
    generator: &'static str,
    tag: TagCtx,
}

fn tag_page(
    tera: &Tera,
    graph: &Graph,
    infos: &[NoteInfo],
    settings: &SiteSettings,
    key: &str,
) -> Result<OutFile, TemplateError> {
    let entry = &graph.tags[key];
    let url = entry.url.clone();
    let link = |k: &str| {
        graph.tags.get(k).map(|e| TagLink {
            name: e.name.clone(),
            url: slug::encode_path(&slug::relative_url(&url, &e.url)),
            count: e.all.len(),
            depth: e.name.matches('/').count(),
        })
    };
    let mut notes: Vec<NoteLink> = entry
        .all
        .iter()
        .map(|&i| note_link(graph, infos, &url, i))
        .collect();
    notes.sort_by_key(|n| n.title.to_lowercase());
    let parent = key.rsplit_once('/').and_then(|(p, _)| link(p));
    let page = TagPage {
        site: SiteCtx {
            title: &settings.title,
            quiz: settings.quiz,
        },
        root: slug::root_prefix(&url),
        page_title: format!("#{}", entry.name),
        generator: concat!("notebuild ", env!("CARGO_PKG_VERSION")),
        tag: TagCtx {
            name: entry.name.clone(),
            notes,
            children: entry.children.iter().filter_map(|c| link(c)).collect(),
            parent,
        },
    };
    Ok(OutFile {
        path: url,
        contents: render(tera, "tag.html", &page)?,
    })
}

/// The path of the identity-check report page.
pub const CHECKS_PAGE: &str = urls::CHECKS;

#[derive(Serialize)]
struct CheckEntry {
    /// The entry's id on the report page (badges link to it).
    anchor: String,
    /// `file:line:col` in the vault.
    place: String,
    /// Link to the badge on the note's page; `None` for an unpublished note.
    url: Option<String>,
    note_title: String,
    latex: String,
    math: String,
    kind: Option<String>,
    message: String,
    hint: Option<String>,
    counterexample: Option<String>,
    /// A failure laid out: the likely cause, then an example with both sides.
    explained: String,
}

#[derive(Serialize)]
struct CheckGroup {
    /// A sub-heading (the reason of a kind of skip); empty for none.
    heading: String,
    count: usize,
    /// Where the group's entries go in the page (see [`write_checks_page`]).
    rows: String,
}

/// One section of the report: wrong, not checked, verified.
#[derive(Serialize)]
struct CheckSection {
    id: &'static str,
    title: &'static str,
    status: &'static str,
    count: usize,
    /// Shown when the section is empty.
    empty: &'static str,
    /// Folded behind a `<details>` (the long list of verified identities).
    folded: bool,
    groups: Vec<CheckGroup>,
}

#[derive(Serialize)]
struct CheckCounts {
    pass: usize,
    fail: usize,
    skip: usize,
    total: usize,
}

#[derive(Serialize)]
struct ChecksPage<'a> {
    site: SiteCtx<'a>,
    root: &'static str,
    page_title: String,
    generator: &'static str,
    counts: CheckCounts,
    seed: Option<u64>,
    trials: Option<usize>,
    sections: Vec<CheckSection>,
}

#[derive(Serialize)]
struct EntrySection {
    status: &'static str,
}

#[derive(Serialize)]
struct EntryCtx<'a> {
    e: &'a CheckEntry,
    section: EntrySection,
}

/// Why a page written as it is made could not be written.
#[derive(Debug)]
pub enum WriteError {
    Template(TemplateError),
    Io(std::io::Error),
}

impl From<TemplateError> for WriteError {
    fn from(e: TemplateError) -> Self {
        WriteError::Template(e)
    }
}

impl From<std::io::Error> for WriteError {
    fn from(e: std::io::Error) -> Self {
        WriteError::Io(e)
    }
}

/// The entries of the report made side by side this many at a time, then written: the
/// report is never held whole.
const CHECK_ENTRIES_AT_ONCE: usize = 512;

/// The identity-check report (`checks.html`): every failure and skip, linked to its
/// place, written to `w` entry by entry.
#[allow(clippy::too_many_arguments)]
pub fn write_checks_page(
    w: &mut dyn std::io::Write,
    notes: &[ParsedNote],
    infos: &[NoteInfo],
    graph: &Graph,
    identities: &[Vec<Located>],
    cards: &[Vec<Card>],
    settings: &SiteSettings,
) -> Result<(), WriteError> {
    let tera = engine()?;
    let settings = &site_settings(settings, graph, cards);
    let ctx = page_ctx(notes, infos, graph, identities, cards, settings);
    checks_page(tera, &ctx, settings, w)
}

/// Which group of the report an identity's entry goes in: the wrong ones, each reason
/// of a skip (by its heading), the verified ones.
#[derive(Debug, Clone, PartialEq, Eq)]
enum GroupKey {
    Fail,
    Skip(String),
    Pass,
}

fn group_key(identity: &Located) -> GroupKey {
    use crate::check::Status;
    let v = &identity.verdict;
    match v.status() {
        Status::Pass => GroupKey::Pass,
        Status::Fail => GroupKey::Fail,
        Status::Skip => GroupKey::Skip(skip_reason(v.kind())),
    }
}

/// The report of the identity checker: every failure and skip, linked to its place. The
/// page is made around its lists of entries, which are then written group by group, a
/// few entries at a time.
fn checks_page(
    tera: &Tera,
    ctx: &html::Ctx,
    settings: &SiteSettings,
    w: &mut dyn std::io::Write,
) -> Result<(), WriteError> {
    use crate::check::Status;
    let mut counts = CheckCounts {
        pass: 0,
        fail: 0,
        skip: 0,
        total: 0,
    };
    let mut seed = None;
    let mut trials = None;
    // the skip groups in the order their first entries come, with their sizes
    let mut skips: Vec<(String, usize)> = Vec::new();
    for identity in ctx.identities.iter().flatten() {
        let v = &identity.verdict;
        counts.total += 1;
        seed.get_or_insert(v.seed);
        if v.status() == Status::Pass {
            trials.get_or_insert(v.trials);
        }
        match v.status() {
            Status::Pass => counts.pass += 1,
            Status::Fail => counts.fail += 1,
            Status::Skip => {
                counts.skip += 1;
                let reason = skip_reason(v.kind());
                match skips.iter_mut().find(|(heading, _)| *heading == reason) {
                    Some((_, n)) => *n += 1,
                    None => skips.push((reason, 1)),
                }
            }
        }
    }
    // Each group's entries stand in the page made first at a place marked with a
    // character no template nor note can put there.
    let marker = |k: usize| format!("\u{0}rows {k}\u{0}");
    let mut groups: Vec<(GroupKey, &'static str)> = vec![(GroupKey::Fail, "fail")];
    groups.extend(
        skips
            .iter()
            .map(|(heading, _)| (GroupKey::Skip(heading.clone()), "skip")),
    );
    groups.push((GroupKey::Pass, "pass"));
    let group = |k: usize, heading: String, count: usize| CheckGroup {
        heading,
        count,
        rows: marker(k),
    };
    let skip_groups: Vec<CheckGroup> = skips
        .into_iter()
        .enumerate()
        .map(|(k, (heading, n))| group(k + 1, heading, n))
        .collect();
    let page = ChecksPage {
        site: SiteCtx {
            title: &settings.title,
            quiz: settings.quiz,
        },
        root: "",
        page_title: "Identity checks".to_string(),
        generator: concat!("notebuild ", env!("CARGO_PKG_VERSION")),
        sections: vec![
            CheckSection {
                id: "wrong",
                title: "Wrong identities",
                status: "fail",
                count: counts.fail,
                empty: "No identity fails.",
                folded: false,
                groups: vec![group(0, String::new(), counts.fail)],
            },
            CheckSection {
                id: "not-checked",
                title: "Not checked",
                status: "skip",
                count: counts.skip,
                empty: "Every identity found was checked.",
                folded: false,
                groups: skip_groups,
            },
            CheckSection {
                id: "verified",
                title: "Verified",
                status: "pass",
                count: counts.pass,
                empty: "No identity verified.",
                folded: true,
                groups: vec![group(groups.len() - 1, String::new(), counts.pass)],
            },
        ],
        counts,
        seed,
        trials,
    };
    let frame = render(tera, "checks.html", &page)?;
    let mut rest: &[u8] = &frame;
    for (k, (key, status)) in groups.iter().enumerate() {
        // An empty section shows no list: its marker is not in the page.
        let mark = marker(k);
        let Some(at) = memchr::memmem::find(rest, mark.as_bytes()) else {
            continue;
        };
        w.write_all(&rest[..at])?;
        rest = &rest[at + mark.len()..];
        let members: Vec<(usize, &Located)> = ctx
            .identities
            .iter()
            .enumerate()
            .flat_map(|(i, list)| list.iter().map(move |identity| (i, identity)))
            .filter(|(_, identity)| group_key(identity) == *key)
            .collect();
        for chunk in members.chunks(CHECK_ENTRIES_AT_ONCE) {
            // the formulas are the slow part
            let made: Vec<Result<Vec<u8>, TemplateError>> = chunk
                .par_iter()
                .map(|&(i, identity)| {
                    let entry = check_entry(ctx, i, identity);
                    let mut html = render(
                        tera,
                        "check_entry.html",
                        &EntryCtx {
                            e: &entry,
                            section: EntrySection { status },
                        },
                    )?;
                    // the template's last newline
                    if html.last() == Some(&b'\n') {
                        html.pop();
                    }
                    Ok(html)
                })
                .collect();
            for html in made {
                w.write_all(&html?)?;
            }
        }
    }
    w.write_all(rest)?;
    Ok(())
}

/// The report's entry of `identity`, of note `i`.
fn check_entry(ctx: &html::Ctx, i: usize, identity: &Located) -> CheckEntry {
    let page = &ctx.graph.pages[i];
    let v = &identity.verdict;
    CheckEntry {
        anchor: nav::report_id(i, identity),
        place: format!("{}:{}:{}", identity.file, identity.line, identity.column),
        // To the badge, or to the page when the formula shows none.
        url: page.published.then(|| {
            if html::has_badge(identity) {
                format!(
                    "{}#{}",
                    slug::encode_path(&page.url),
                    html::badge_id(identity)
                )
            } else {
                slug::encode_path(&page.url)
            }
        }),
        note_title: ctx.infos[i].title.clone(),
        latex: identity.latex.clone(),
        math: report_math(&identity.read_as, &identity.latex),
        kind: v.kind().map(str::to_string),
        message: v.message.clone(),
        hint: v.hint.clone(),
        counterexample: v.counterexample.clone(),
        explained: nav::failure_explained(v),
    }
}

/// An identity's formula on the report, as [`math::render_or_fallback_expanded`]
/// writes it in display mode (which keeps it for `serve`'s later rebuilds).
fn report_math(read_as: &str, latex: &str) -> String {
    math::render_or_fallback_expanded(read_as, latex, math::MathMode::Display).0
}

#[derive(Serialize)]
struct GraphPage<'a> {
    site: SiteCtx<'a>,
    root: &'static str,
    page_title: String,
    generator: &'static str,
}

/// The graph of every note and its links (drawn by static/nav.js).
fn graph_page(tera: &Tera, settings: &SiteSettings) -> Result<OutFile, TemplateError> {
    let page = GraphPage {
        site: SiteCtx {
            title: &settings.title,
            quiz: settings.quiz,
        },
        root: "",
        page_title: "Graph".to_string(),
        generator: concat!("notebuild ", env!("CARGO_PKG_VERSION")),
    };
    Ok(OutFile {
        path: urls::GRAPH.into(),
        contents: render(tera, "graph.html", &page)?,
    })
}

/// The heading under which skipped identities of a kind are listed.
fn skip_reason(kind: Option<&str>) -> String {
    match kind {
        Some("abstract") => "Abstract functions (no definition to evaluate)".to_string(),
        Some("unsupported") => "Notation the checker does not support yet".to_string(),
        Some("parse") => "Formulas the checker could not read".to_string(),
        Some("domain") => "No sample point where both sides are defined".to_string(),
        Some(other) => {
            let mut s = other.replace(['_', '-'], " ");
            if let Some(first) = s.get(..1) {
                s = first.to_uppercase() + &s[1..];
            }
            s
        }
        None => "Not checked".to_string(),
    }
}
