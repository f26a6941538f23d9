//! The build, stage by stage: vault → parse → extract → graph → render → site.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::cache::Cache;
use crate::check;
use crate::diagnostics::{self, Diagnostic};
use crate::extract::cards::{self, Card, CardSettings};
use crate::extract::{self, NoteInfo};
use crate::graph;
use crate::parse::{self, ParsedNote};
use crate::render::{self, SiteSettings};
use crate::site;
use crate::tex::macros::Macros;
use crate::vault::{self, WalkOptions};

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub vault: PathBuf,
    pub out: PathBuf,
    pub follow_links: bool,
    /// The site's title; the vault folder's name when not given.
    pub title: Option<String>,
    /// How identities are checked.
    pub check: check::Settings,
    /// Which notes hold flashcards.
    pub cards: CardSettings,
    /// TeX macros of `notebuild.yaml` (name → replacement).
    pub macros: BTreeMap<String, String>,
    /// Drop the notes' raw HTML and script URLs (`html: safe` in notebuild.yaml).
    pub safe_html: bool,
    /// A note without a front-matter date takes its last commit's (`dates: git`).
    pub git_dates: bool,
    /// Read and write the verdict cache at the vault's root (`--no-cache`: false).
    pub cache: bool,
}

/// What a build did.
#[derive(Debug, Clone)]
pub struct BuildReport {
    /// Notes found in the vault.
    pub notes: usize,
    /// Notes left out (`draft: true`, `publish: false`).
    pub unpublished: usize,
    /// HTML pages written.
    pub pages: usize,
    pub attachments: usize,
    /// Verdicts on the identities found, per note.
    pub identities: Vec<Vec<check::Located>>,
    /// The flashcards found, per note.
    pub cards: Vec<Vec<Card>>,
    /// Every problem, sorted by file and line.
    pub diagnostics: Vec<Diagnostic>,
    /// The notes' texts by path, to show source lines in diagnostics.
    pub sources: HashMap<String, String>,
    pub elapsed: Duration,
}

impl BuildReport {
    pub fn warnings(&self) -> usize {
        self.diagnostics.len()
    }
}

/// Why a build failed outright.
#[derive(Debug)]
pub enum BuildError {
    Vault {
        path: PathBuf,
        error: std::io::Error,
    },
    Site(site::SiteError),
    Template(render::TemplateError),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::Vault { path, error } => {
                write!(f, "cannot read the vault {}: {error}", path.display())
            }
            BuildError::Site(e) => write!(f, "{e}"),
            BuildError::Template(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for BuildError {}

impl From<render::TemplateError> for BuildError {
    fn from(e: render::TemplateError) -> Self {
        BuildError::Template(e)
    }
}

/// Progress of a long build, for a progress bar.
pub trait Progress: Sync {
    /// A stage starts, with this many steps.
    fn stage(&self, name: &str, steps: usize);
    /// One step of the current stage is done.
    fn step(&self);
}

/// A build that reports no progress.
pub struct Quiet;

impl Progress for Quiet {
    fn stage(&self, _: &str, _: usize) {}
    fn step(&self) {}
}

/// The vault parsed and extracted: the stages every command shares.
pub struct Analysed {
    /// The vault walked. Its `notes` are empty: their texts are in `notes` (each note's
    /// text held once).
    pub vault: vault::Vault,
    pub notes: Vec<ParsedNote>,
    pub infos: Vec<NoteInfo>,
    /// The flashcards of each note, in document order.
    pub cards: Vec<Vec<Card>>,
    /// Problems found walking and parsing.
    pub diagnostics: Vec<Diagnostic>,
    /// Problems in the flashcards' syntax.
    pub card_diagnostics: Vec<Diagnostic>,
    /// The macros every note starts from ([`vault_macros`]).
    pub macros: Macros,
    /// The verdicts on each note's identities, when [`analyse_with`] was asked to check
    /// them (else empty).
    pub identities: Vec<Vec<check::Located>>,
}

/// How [`analyse_with`] checks each note's identities as it reads it.
pub struct Checking<'a> {
    pub settings: &'a check::Settings,
    pub cache: &'a Cache,
}

/// Walks, parses and extracts the vault (facts and flashcards).
pub fn analyse(
    root: &Path,
    walk: &WalkOptions,
    card_settings: &CardSettings,
    macros: &BTreeMap<String, String>,
    progress: &dyn Progress,
) -> Result<Analysed, BuildError> {
    analyse_with(root, walk, card_settings, macros, true, None, progress)
}

/// [`analyse`]; with `checking`, each note's identities are checked (or their verdicts
/// taken from the cache) as soon as the note is read. Without `keep_nodes`, each note's
/// nodes are let go as soon as its facts, flashcards and verdicts are made (its
/// [`ParsedNote::nodes`] and, once checked, its [`NoteInfo::math`] and its verdicts'
/// [`check::Verdict::reading`] are empty), so that they are never held for every note at
/// once: [`parse::nodes_again`] gives the nodes back.
pub fn analyse_with(
    root: &Path,
    walk: &WalkOptions,
    card_settings: &CardSettings,
    macros: &BTreeMap<String, String>,
    keep_nodes: bool,
    checking: Option<Checking>,
    progress: &dyn Progress,
) -> Result<Analysed, BuildError> {
    let vault = vault::load(root, walk).map_err(|error| BuildError::Vault {
        path: root.to_path_buf(),
        error,
    })?;
    analyse_vault(
        vault,
        card_settings,
        macros,
        keep_nodes,
        checking,
        None,
        progress,
    )
    .map(|(analysed, _)| analysed)
    // (only the spill, not given here, can fail)
    .map_err(|error| BuildError::Vault {
        path: root.to_path_buf(),
        error,
    })
}

/// [`analyse_with`] on the vault walked; with `spill`, each note's text goes there as
/// soon as the note is read (its [`ParsedNote::text`] is empty), and where it went is
/// given, by note.
#[allow(clippy::too_many_arguments)]
fn analyse_vault(
    mut vault: vault::Vault,
    card_settings: &CardSettings,
    macros: &BTreeMap<String, String>,
    keep_nodes: bool,
    checking: Option<Checking>,
    spill: Option<&Spill>,
    progress: &dyn Progress,
) -> Result<(Analysed, Vec<std::ops::Range<u64>>), std::io::Error> {
    let macro_context = crate::cache::macro_context(vault.preamble.as_ref(), macros);
    let (macros, macro_diagnostics) = vault_macros(vault.preamble.as_ref(), macros);
    progress.stage("parsing", vault.notes.len());
    // Each note parsed, read, checked and (without `keep_nodes`) let go of in one step.
    type One = (
        ParsedNote,
        NoteInfo,
        Vec<Card>,
        Vec<Diagnostic>,
        Vec<check::Located>,
    );
    let files = std::mem::take(&mut vault.notes);
    let done: Vec<(One, std::ops::Range<u64>)> = files
        .into_par_iter()
        .map(|file| -> std::io::Result<(One, std::ops::Range<u64>)> {
            let mut note = parse::parse_owned(file);
            parse::macros::expand(&mut note, &macros);
            let mut info = extract::extract(&note);
            let (cards, card_diagnostics) = cards::cards(&note, card_settings);
            let mut identities = match &checking {
                None => Vec::new(),
                Some(c) => {
                    let key = Cache::key(&note.path, &note.text, &macro_context, c.settings);
                    match c.cache.get(key, &note.text) {
                        Some(found) => found,
                        None => {
                            let found = check_note(&note, &info, c.settings, &Quiet);
                            c.cache.put(key, &found);
                            found
                        }
                    }
                }
            };
            if !keep_nodes {
                note.nodes = Vec::new();
                if checking.is_some() {
                    info.math = Vec::new();
                }
                // The readings are for `check --format json` (and the cache, which has
                // them now): the site shows none.
                for located in &mut identities {
                    located.verdict.reading = None;
                }
            }
            let at = match spill {
                Some(spill) => spill.put(std::mem::take(&mut note.text).as_bytes())?,
                None => 0..0,
            };
            progress.step();
            Ok(((note, info, cards, card_diagnostics, identities), at))
        })
        .collect::<std::io::Result<_>>()?;
    let mut notes = Vec::with_capacity(done.len());
    let mut infos = Vec::with_capacity(done.len());
    let mut cards = Vec::with_capacity(done.len());
    let mut identities = Vec::with_capacity(done.len());
    let mut card_diagnostics = Vec::new();
    let mut texts = Vec::with_capacity(if spill.is_some() { done.len() } else { 0 });
    for ((note, info, note_cards, problems, verdicts), at) in done {
        if spill.is_some() {
            texts.push(at);
        }
        notes.push(note);
        infos.push(info);
        cards.push(note_cards);
        card_diagnostics.extend(problems);
        identities.push(verdicts);
    }
    let mut diagnostics = vault.diagnostics.clone();
    diagnostics.extend(macro_diagnostics);
    for note in &notes {
        diagnostics.extend(note.diagnostics.iter().cloned());
    }
    Ok((
        Analysed {
            vault,
            notes,
            infos,
            cards,
            diagnostics,
            card_diagnostics,
            macros,
            identities,
        },
        texts,
    ))
}

/// What `check` reports: the verdicts, one list per note (in the vault's order), and
/// the notes' texts by path.
pub struct Checked {
    pub identities: Vec<Vec<check::Located>>,
    pub sources: HashMap<String, String>,
}

/// Walks the vault and checks its identities, taking the verdicts of unchanged notes
/// from `cache`: only the notes it lacks are parsed and checked.
pub fn check_vault(
    root: &Path,
    walk: &WalkOptions,
    config_macros: &BTreeMap<String, String>,
    settings: &check::Settings,
    cache: &Cache,
    progress: &dyn Progress,
) -> Result<Checked, BuildError> {
    let vault = vault::load(root, walk).map_err(|error| BuildError::Vault {
        path: root.to_path_buf(),
        error,
    })?;
    let context = crate::cache::macro_context(vault.preamble.as_ref(), config_macros);
    let keys: Vec<crate::cache::Key> = vault
        .notes
        .par_iter()
        .map(|f| Cache::key(&f.path, &f.text, &context, settings))
        .collect();
    let mut identities: Vec<Option<Vec<check::Located>>> = keys
        .iter()
        .zip(&vault.notes)
        .map(|(&k, f)| cache.get(k, &f.text))
        .collect();
    let missing: Vec<usize> = (0..vault.notes.len())
        .filter(|&i| identities[i].is_none())
        .collect();
    if !missing.is_empty() {
        let (macros, _) = vault_macros(vault.preamble.as_ref(), config_macros);
        progress.stage("parsing", missing.len());
        let notes: Vec<ParsedNote> = missing
            .par_iter()
            .map(|&i| {
                let mut note = parse::parse(&vault.notes[i]);
                parse::macros::expand(&mut note, &macros);
                progress.step();
                note
            })
            .collect();
        let infos: Vec<NoteInfo> = notes.par_iter().map(extract::extract).collect();
        let all: Vec<usize> = (0..notes.len()).collect();
        let checked = check_some(&notes, &infos, &all, settings, progress);
        for (&i, located) in missing.iter().zip(checked) {
            cache.put(keys[i], &located);
            identities[i] = Some(located);
        }
    }
    let sources = vault.notes.into_iter().map(|f| (f.path, f.text)).collect();
    Ok(Checked {
        identities: identities
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect(),
        sources,
    })
}

/// The macros every note starts from: the built-in ones, then the vault's `preamble.sty`,
/// then the `macros:` of `notebuild.yaml`; and the problems found reading them.
pub fn vault_macros(
    preamble: Option<&vault::SourceFile>,
    config: &BTreeMap<String, String>,
) -> (Macros, Vec<Diagnostic>) {
    let mut macros = Macros::builtin();
    let mut diagnostics = Vec::new();
    if let Some(file) = preamble {
        for error in macros.read_preamble(&file.text, &file.path) {
            let at = error.offset.min(file.text.len());
            let end = file.text[at..]
                .find('\n')
                .map_or(file.text.len(), |k| at + k)
                .max(at + 1)
                .min(file.text.len());
            diagnostics.push(
                Diagnostic::warning(&file.path, &file.text, at..end, error.message).with_hint(
                    "this macro is left undefined; formulas using it show it as written",
                ),
            );
        }
    }
    for (name, body) in config {
        if let Err(message) = macros.define(name, body, crate::config::FILE) {
            diagnostics.push(Diagnostic::whole_file(
                crate::diagnostics::Severity::Warning,
                crate::config::FILE,
                format!("macros: {message}"),
            ));
        }
    }
    (macros, diagnostics)
}

/// With `NOTEBUILD_TIMING` set, prints when a stage of the build ended and the
/// process's peak memory so far.
pub(crate) fn mark(start: Instant, what: &str) {
    if std::env::var_os("NOTEBUILD_TIMING").is_none() {
        return;
    }
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .filter(|l| {
                    ["VmHWM:", "RssAnon:", "RssFile:", "RssShmem:"]
                        .iter()
                        .any(|k| l.starts_with(k))
                })
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .reduce(|a, b| a + ", " + &b)
        })
        .unwrap_or_default();
    eprintln!(
        "build: {what} at {:.1} ms, peak {peak}",
        start.elapsed().as_secs_f64() * 1000.0
    );
}

/// Builds the site.
pub fn build(options: &BuildOptions, progress: &dyn Progress) -> Result<BuildReport, BuildError> {
    build_with(options, progress, false).map(|(report, _)| report)
}

/// Builds the site, and with `keep` returns what it was built from, for
/// [`crate::live::Live::update`] to rebuild only what a change touches.
pub(crate) fn build_with(
    options: &BuildOptions,
    progress: &dyn Progress,
    keep: bool,
) -> Result<(BuildReport, Option<crate::live::Live>), BuildError> {
    let start = Instant::now();
    // Refuse a bad output folder before doing any work.
    site::check_output(&options.out, &options.vault).map_err(BuildError::Site)?;
    let cache = if options.cache {
        Cache::open(&options.vault)
    } else {
        Cache::disabled()
    };
    let out_abs = site::absolute(&options.out).unwrap_or_else(|_| options.out.clone());
    let walk = WalkOptions {
        follow_links: options.follow_links,
        exclude: vec![out_abs],
    };
    let loaded = vault::load(&options.vault, &walk).map_err(|error| BuildError::Vault {
        path: options.vault.clone(),
        error,
    })?;
    // Pages go to disk as they are rendered, into a folder swapped in at the end.
    let staging = site::Staging::new(&options.out, &options.vault).map_err(BuildError::Site)?;
    let spill_error = |e: std::io::Error| BuildError::Site(staging.write_error("(scratch)", e));
    // A cold build keeps neither the notes' texts nor their search entries nor their
    // previews in memory: they go to a scratch file, read back where they are needed.
    let spill = if keep {
        None
    } else {
        Some(std::sync::Arc::new(Spill::new(
            staging.scratch().map_err(BuildError::Site)?,
        )))
    };
    let (analysed, text_at) = analyse_vault(
        loaded,
        &options.cards,
        &options.macros,
        keep,
        Some(Checking {
            settings: &options.check,
            cache: &cache,
        }),
        spill.as_deref(),
        progress,
    )
    .map_err(spill_error)?;
    let texts = spill.as_ref().map(|spill| {
        std::sync::Arc::new(SpilledTexts {
            spill: spill.clone(),
            at: text_at,
            error: std::sync::Mutex::new(None),
        })
    });
    let Analysed {
        vault,
        notes,
        mut infos,
        cards,
        mut diagnostics,
        card_diagnostics,
        macros,
        identities,
    } = analysed;
    diagnostics.extend(card_diagnostics);
    cache.save();
    drop(cache);
    mark(start, "analysed and checked");

    if options.git_dates {
        diagnostics.extend(git_dates(&options.vault, &mut infos));
    }

    diagnostics.extend(fail_diagnostics(&identities));

    let attachment_paths: Vec<String> = vault.attachments.iter().map(|a| a.path.clone()).collect();
    let published: Vec<bool> = infos.iter().map(|i| i.published).collect();
    let generated = render::generated_paths(&cards, &published);
    let (graph, link_diagnostics) = graph::build_with_texts(
        &notes,
        &infos,
        &attachment_paths,
        &generated,
        texts.as_deref().map(|t| t as &dyn parse::NoteTexts),
    );
    diagnostics.extend(link_diagnostics);
    if !keep {
        // The graph has resolved the links and holds the anchors: the pages read neither.
        for info in &mut infos {
            info.links = Vec::new();
            info.headings = Vec::new();
            info.block_ids = Vec::new();
        }
    }
    mark(start, "graph built");

    let title = options
        .title
        .clone()
        .unwrap_or_else(|| site_title(&options.vault));
    let published = graph.pages.iter().filter(|p| p.published).count();
    progress.stage("rendering", published);
    let step = || progress.step();
    let written = std::sync::Mutex::new(HashMap::new());
    let sink = |file: render::OutFile| -> Result<(), BuildError> {
        if keep && let Ok(mut written) = written.lock() {
            written.insert(file.path.clone(), crate::live::fingerprint(&file.contents));
        }
        staging
            .add(&file.path, &file.contents)
            .map_err(BuildError::Site)
    };
    let settings = SiteSettings {
        title,
        safe_html: options.safe_html,
        quiz: false,
        order: crate::config::reading_order(&options.vault),
        reparse: (!keep).then_some(macros),
        texts: texts
            .clone()
            .map(|t| t as std::sync::Arc<dyn parse::NoteTexts>),
    };
    let which: Vec<usize> = (0..notes.len()).collect();
    // The notes' search entries and previews go to the scratch file as the pages are
    // written, and the two files made of them are written from it at the end.
    let kept = render::render_notes_then(
        &notes,
        &infos,
        &graph,
        &identities,
        &cards,
        &settings,
        &which,
        &step,
        &sink,
        &|_, rest| match &spill {
            None => Ok((rest, None)),
            Some(spill) => {
                let search = spill.put(&rest.search_json()).map_err(spill_error)?;
                let (url, json) = rest.preview_json();
                let url = url.to_owned();
                let preview = spill.put(&json).map_err(spill_error)?;
                Ok((
                    rest.slim(),
                    Some(Spilled {
                        search,
                        url,
                        preview,
                    }),
                ))
            }
        },
    )?;
    let (rests, spilled): (Vec<(usize, render::NoteRest)>, Vec<Option<Spilled>>) = kept
        .into_iter()
        .map(|(i, (rest, spilled))| ((i, rest), spilled))
        .unzip();
    mark(start, "notes rendered");
    let list: Vec<&render::NoteRest> = rests.iter().map(|(_, r)| r).collect();
    let remake = if spill.is_some() {
        render::Remake {
            search: false,
            previews: false,
            checks: false,
            ..render::Remake::ALL
        }
    } else {
        render::Remake::ALL
    };
    let rest = render::render_rest_of(
        &notes,
        &infos,
        &graph,
        &identities,
        &cards,
        &settings,
        &list,
        remake,
        &sink,
    )?;
    drop(list);
    if spill.is_some() {
        // The report is written entry by entry, straight into the site.
        let path = render::CHECKS_PAGE;
        let mut w = staging.create(path).map_err(BuildError::Site)?;
        render::write_checks_page(
            &mut w,
            &notes,
            &infos,
            &graph,
            &identities,
            &cards,
            &settings,
        )
        .and_then(|()| std::io::Write::flush(&mut w).map_err(render::WriteError::Io))
        .map_err(|e| match e {
            render::WriteError::Template(e) => BuildError::Template(e),
            render::WriteError::Io(e) => BuildError::Site(staging.write_error(path, e)),
        })?;
        mark(start, "report written");
    }
    if let Some(spill) = &spill {
        let spilled: Vec<Spilled> = spilled.into_iter().flatten().collect();
        spill
            .write_files(&staging, &spilled)
            .map_err(BuildError::Site)?;
    }
    drop(spill);
    // the report counts as a page wherever it is made
    let rendered_pages = rests.len() + rest.pages + usize::from(!keep);
    for (_, r) in &rests {
        diagnostics.extend(r.diagnostics.iter().cloned());
    }
    diagnostics.extend(rest.diagnostics);

    progress.stage("writing", 0);
    // Each attachment goes where the namespace put it.
    let copies: Vec<vault::Attachment> = vault
        .attachments
        .iter()
        .zip(&graph.attachment_urls)
        .map(|(a, url)| vault::Attachment {
            path: url.clone(),
            source: a.source.clone(),
        })
        .collect();
    mark(start, "rest rendered");
    // The texts of the notes the problems are in, to show their lines.
    let mut sources: HashMap<String, String> = HashMap::new();
    if let Some(texts) = &texts {
        let by_path: HashMap<&str, usize> = notes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.path.as_str(), i))
            .collect();
        for d in &diagnostics {
            if !sources.contains_key(&d.file)
                && let Some(&i) = by_path.get(d.file.as_str())
            {
                sources.insert(d.file.clone(), parse::NoteTexts::text(texts.as_ref(), i));
            }
        }
        // A text that could not be read back made a page without it.
        if let Some(error) = texts.error.lock().ok().and_then(|mut e| e.take()) {
            return Err(spill_error(error));
        }
    }
    drop(texts);
    staging.finish(&copies).map_err(BuildError::Site)?;
    mark(start, "swapped");
    let written = written.into_inner().unwrap_or_default();

    sort_diagnostics(&mut diagnostics);
    let note_count = notes.len();
    if !keep {
        if let Some(preamble) = &vault.preamble {
            sources.insert(preamble.path.clone(), preamble.text.clone());
        }
        return Ok((
            BuildReport {
                notes: note_count,
                unpublished: note_count - published,
                pages: rendered_pages,
                attachments: attachment_paths.len(),
                identities,
                cards,
                diagnostics,
                sources,
                elapsed: start.elapsed(),
            },
            None,
        ));
    }
    let sources = sources_of(&notes, vault.preamble.as_ref());
    let report = BuildReport {
        notes: note_count,
        unpublished: note_count - published,
        pages: rendered_pages,
        attachments: attachment_paths.len(),
        identities: identities.clone(),
        cards: cards.clone(),
        diagnostics,
        sources,
        elapsed: start.elapsed(),
    };
    let live = crate::live::Live::new(crate::live::Parts {
        options: options.clone(),
        vault,
        notes,
        infos,
        cards,
        identities,
        rests,
        settings,
        written,
        pages: rendered_pages,
    });
    Ok((report, Some(live)))
}

/// Where a note's search entry and preview went in the [`Spill`].
struct Spilled {
    search: std::ops::Range<u64>,
    /// The note's page, percent-encoded (the previews are by page).
    url: String,
    preview: std::ops::Range<u64>,
}

/// The notes' texts in the [`Spill`], where each went (by note), and the first error
/// reading one back.
#[derive(Debug)]
struct SpilledTexts {
    spill: std::sync::Arc<Spill>,
    at: Vec<std::ops::Range<u64>>,
    error: std::sync::Mutex<Option<std::io::Error>>,
}

impl parse::NoteTexts for SpilledTexts {
    fn text(&self, index: usize) -> String {
        let Some(range) = self.at.get(index) else {
            return String::new();
        };
        let mut buf = Vec::new();
        let read = self.spill.get(range, &mut buf).and_then(|()| {
            String::from_utf8(buf)
                .map_err(|_| std::io::Error::other("a note's text came back changed"))
        });
        match read {
            Ok(text) => text,
            Err(e) => {
                if let Ok(mut first) = self.error.lock() {
                    first.get_or_insert(e);
                }
                String::new()
            }
        }
    }
}

/// A scratch file the notes' texts are written to as they are read (when the build lets
/// them go), and their search entries and previews while their pages are rendered:
/// read back where they are needed, and in order into the two files made of them.
#[derive(Debug)]
struct Spill {
    file: std::sync::Mutex<(std::fs::File, u64)>,
}

impl Spill {
    fn new(file: std::fs::File) -> Spill {
        Spill {
            file: std::sync::Mutex::new((file, 0)),
        }
    }

    /// Appends `bytes`; where they are.
    fn put(&self, bytes: &[u8]) -> std::io::Result<std::ops::Range<u64>> {
        use std::io::Write;
        let mut guard = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("a page's writer panicked"))?;
        let (file, end) = &mut *guard;
        // (reads move the file's position)
        std::io::Seek::seek(file, std::io::SeekFrom::Start(*end))?;
        file.write_all(bytes)?;
        let start = *end;
        *end += bytes.len() as u64;
        Ok(start..*end)
    }

    /// Appends the bytes at `range` to `buf`.
    fn get(&self, range: &std::ops::Range<u64>, buf: &mut Vec<u8>) -> std::io::Result<()> {
        use std::io::{Read, Seek};
        let mut guard = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("a page's writer panicked"))?;
        let (file, _) = &mut *guard;
        file.seek(std::io::SeekFrom::Start(range.start))?;
        let len = usize::try_from(range.end - range.start).map_err(std::io::Error::other)?;
        let at = buf.len();
        buf.resize(at + len, 0);
        file.read_exact(&mut buf[at..])
    }

    /// Writes the search index and the previews' file of the notes `spilled` (the
    /// published ones, in the notes' order) into the site.
    fn write_files(
        &self,
        staging: &site::Staging,
        spilled: &[Spilled],
    ) -> Result<(), site::SiteError> {
        use std::io::Write;
        let path = render::search::INDEX_PATH;
        let mut w = staging.create(path)?;
        render::search::write_index(&mut w, spilled.len(), &mut |k, buf| {
            self.get(&spilled[k].search, buf)
        })
        .and_then(|()| w.flush())
        .map_err(|e| staging.write_error(path, e))?;
        let path = render::nav::PREVIEW_DATA;
        let mut w = staging.create(path)?;
        let urls: Vec<&str> = spilled.iter().map(|s| s.url.as_str()).collect();
        render::nav::write_previews(&mut w, &urls, &mut |k, buf| {
            self.get(&spilled[k].preview, buf)
        })
        .and_then(|()| w.flush())
        .map_err(|e| staging.write_error(path, e))
    }
}

/// Sorts problems by file, line, column and severity.
pub(crate) fn sort_diagnostics(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.file.as_str(), a.line, a.column, a.severity).cmp(&(
            b.file.as_str(),
            b.line,
            b.column,
            b.severity,
        ))
    });
}

/// The notes' texts (and the preamble's) by path, to show source lines in diagnostics.
pub(crate) fn sources_of(
    notes: &[ParsedNote],
    preamble: Option<&vault::SourceFile>,
) -> HashMap<String, String> {
    let mut sources: HashMap<String, String> = notes
        .iter()
        .map(|n| (n.path.clone(), n.text.clone()))
        .collect();
    if let Some(preamble) = preamble {
        sources.insert(preamble.path.clone(), preamble.text.clone());
    }
    sources
}

/// A warning for each identity found wrong (at the identity's place: its line and
/// column were found in the note's text).
pub(crate) fn fail_diagnostics(identities: &[Vec<check::Located>]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for list in identities {
        for identity in list {
            if identity.verdict.status() != check::Status::Fail {
                continue;
            }
            let mut d = Diagnostic {
                severity: diagnostics::Severity::Warning,
                file: identity.file.clone(),
                line: identity.line,
                column: identity.column,
                range: identity.range.clone(),
                message: format!("wrong derivative identity: {}", identity.verdict.message),
                hint: None,
            };
            if let Some(hint) = &identity.verdict.hint {
                d = d.with_hint(hint.clone());
            }
            out.push(d);
        }
    }
    out
}

/// Gives each note without a front-matter date the day of its last commit; a warning
/// when git cannot say.
fn git_dates(root: &Path, infos: &mut [NoteInfo]) -> Option<Diagnostic> {
    let wanted: std::collections::HashSet<&str> = infos
        .iter()
        .filter(|i| i.date.is_none())
        .map(|i| i.path.as_str())
        .collect();
    if wanted.is_empty() {
        return None;
    }
    match crate::dates::from_git(root, &wanted) {
        Ok(days) => {
            for info in infos.iter_mut().filter(|i| i.date.is_none()) {
                info.day = days.get(&info.path).copied();
            }
            None
        }
        Err(reason) => Some(
            Diagnostic::whole_file(
                diagnostics::Severity::Warning,
                crate::config::FILE,
                format!("dates: git, but the vault's history cannot be read: {reason}"),
            )
            .with_hint("notes show their front-matter dates only; is the vault a git repository?"),
        ),
    }
}

/// The vault folder's name, as the site's title.
fn site_title(vault: &Path) -> String {
    site::absolute(vault)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "Notes".to_string())
}

/// A note's formulas as the checker reads them, each with the prose before it.
pub(crate) fn math_spans<'a>(
    text: &'a str,
    math: &'a [crate::parse::Math],
) -> Vec<check::Span<'a>> {
    let mut end = 0;
    math.iter()
        .map(|m| {
            let before = text.get(end..m.range.start).unwrap_or("");
            end = m.range.end;
            check::Span {
                tex: m.tex_to_read(),
                display: m.display,
                before,
            }
        })
        .collect()
}

/// An identity found in a note, and where its math span starts in the note.
type Found = (check::Finding, usize);

/// Finds every identity in the vault and checks them all, in parallel. The result has
/// one list per note, in the notes' order, each in document order.
pub fn check_identities(
    notes: &[ParsedNote],
    infos: &[NoteInfo],
    settings: &check::Settings,
    progress: &dyn Progress,
) -> Vec<Vec<check::Located>> {
    check_identities_cached(notes, infos, settings, &Cache::disabled(), "", progress)
}

/// [`check_identities`], taking the verdicts of the notes `cache` holds from it and
/// checking only the others (whose verdicts it then keeps). `macros` is the vault's
/// [`crate::cache::macro_context`].
pub fn check_identities_cached(
    notes: &[ParsedNote],
    infos: &[NoteInfo],
    settings: &check::Settings,
    cache: &Cache,
    macros: &str,
    progress: &dyn Progress,
) -> Vec<Vec<check::Located>> {
    if !cache.enabled() {
        let all: Vec<usize> = (0..notes.len()).collect();
        return check_some(notes, infos, &all, settings, progress);
    }
    let keys: Vec<crate::cache::Key> = notes
        .par_iter()
        .zip(infos.par_iter())
        .map(|(note, _)| Cache::key(&note.path, &note.text, macros, settings))
        .collect();
    let mut out: Vec<Option<Vec<check::Located>>> = keys
        .iter()
        .zip(notes)
        .map(|(&k, note)| cache.get(k, &note.text))
        .collect();
    let missing: Vec<usize> = (0..notes.len()).filter(|&i| out[i].is_none()).collect();
    if !missing.is_empty() {
        let checked = check_some(notes, infos, &missing, settings, progress);
        for (&i, located) in missing.iter().zip(checked) {
            cache.put(keys[i], &located);
            out[i] = Some(located);
        }
    }
    out.into_iter().map(Option::unwrap_or_default).collect()
}

/// Checks the notes `which` (indices into `notes`); one list per index, in that order.
fn check_some(
    notes: &[ParsedNote],
    infos: &[NoteInfo],
    which: &[usize],
    settings: &check::Settings,
    progress: &dyn Progress,
) -> Vec<Vec<check::Located>> {
    let found: Vec<Vec<Found>> = which
        .par_iter()
        .map(|&i| {
            let (note, info) = (&notes[i], &infos[i]);
            let math = check::NoteMath {
                spans: math_spans(&note.text, &info.math),
                front: &note.front.fields,
            };
            check::find(&math)
                .into_iter()
                .map(|f| {
                    let start = info.math.get(f.span).map_or(0, |m| m.range.start);
                    (f, start)
                })
                .collect()
        })
        .collect();
    let total = found.iter().map(Vec::len).sum();
    progress.stage("checking", total);
    let jobs: Vec<(usize, &check::Finding, usize)> = found
        .iter()
        .enumerate()
        .flat_map(|(n, list)| list.iter().map(move |(f, start)| (n, f, *start)))
        .collect();
    let readings: Vec<check::Readings> = jobs
        .par_iter()
        .map(|(_, finding, _)| {
            let readings = check::read(finding, settings);
            progress.step();
            readings
        })
        .collect();
    // each note's identities weighed together (the layout its identities use)
    let mut by_note: Vec<Vec<check::Readings>> = vec![Vec::new(); which.len()];
    for ((n, _, _), r) in jobs.iter().zip(readings) {
        by_note[*n].push(r);
    }
    let verdicts: Vec<check::Verdict> = by_note.into_iter().flat_map(check::decide_note).collect();
    let mut out: Vec<Vec<check::Located>> = vec![Vec::new(); which.len()];
    for ((n, finding, math_start), verdict) in jobs.into_iter().zip(verdicts) {
        let note = &notes[which[n]];
        let info = &infos[which[n]];
        if let Some(located) = locate(note, info, finding, math_start, verdict) {
            out[n].push(located);
        }
    }
    out
}

/// Checks the identities of one note (its findings read side by side).
fn check_note(
    note: &ParsedNote,
    info: &NoteInfo,
    settings: &check::Settings,
    progress: &dyn Progress,
) -> Vec<check::Located> {
    let math = check::NoteMath {
        spans: math_spans(&note.text, &info.math),
        front: &note.front.fields,
    };
    let found: Vec<Found> = check::find(&math)
        .into_iter()
        .map(|f| {
            let start = info.math.get(f.span).map_or(0, |m| m.range.start);
            (f, start)
        })
        .collect();
    if found.is_empty() {
        return Vec::new();
    }
    let readings: Vec<check::Readings> = found
        .par_iter()
        .map(|(finding, _)| {
            let readings = check::read(finding, settings);
            progress.step();
            readings
        })
        .collect();
    let verdicts = check::decide_note(readings);
    found
        .iter()
        .zip(verdicts)
        .filter_map(|((finding, math_start), verdict)| {
            locate(note, info, finding, *math_start, verdict)
        })
        .collect()
}

/// An identity found in `note` with its verdict, placed in the note's text.
fn locate(
    note: &ParsedNote,
    info: &NoteInfo,
    finding: &check::Finding,
    math_start: usize,
    verdict: check::Verdict,
) -> Option<check::Located> {
    let math = info.math.get(finding.span)?;
    let tex_offset = math.source_offset(finding.tex_offset);
    let range = place(&note.text, math, tex_offset, &finding.latex);
    let (line, column) = diagnostics::line_col(&note.text, range.start);
    Some(check::Located {
        file: note.path.clone(),
        line,
        column,
        range,
        math_start,
        latex: source_latex(math, finding.tex_offset, &finding.latex),
        read_as: finding.latex.clone(),
        verdict,
    })
}

/// The identity's text as the note writes it, when the checker read it with macros
/// expanded (`latex` starts `tex_offset` bytes into the expansion).
fn source_latex(math: &parse::Math, tex_offset: usize, latex: &str) -> String {
    let Some(expanded) = &math.expanded else {
        return latex.to_owned();
    };
    let Some(start) = expanded
        .tex
        .get(tex_offset..)
        .and_then(|rest| rest.find(latex))
        .map(|k| tex_offset + k)
    else {
        return latex.to_owned();
    };
    let range = expanded.source_range(start..start + latex.len());
    match math.tex.get(range) {
        Some(source) if !source.trim().is_empty() => source.trim().to_owned(),
        _ => latex.to_owned(),
    }
}

/// The byte range in the note's text of an identity that starts `tex_offset` bytes into
/// the TeX of `math`. The TeX may have lost `>` markers of a callout on its later lines,
/// so the place is found line by line.
fn place(text: &str, math: &parse::Math, tex_offset: usize, latex: &str) -> std::ops::Range<usize> {
    let open = if math.display { 2 } else { 1 };
    let tex_start = (math.range.start + open).min(text.len());
    let tex = &math.tex;
    let tex_offset = tex_offset.min(tex.len());
    let before = tex.get(..tex_offset).unwrap_or("");
    let newlines = before.matches('\n').count();
    let start = if newlines == 0 {
        tex_start + tex_offset
    } else {
        // The source line holding the offset ends with the TeX's line (a prefix of `>`
        // markers may have been removed).
        let tex_line_start = before.rfind('\n').map_or(0, |k| k + 1);
        let tex_line_end = tex[tex_line_start..]
            .find('\n')
            .map_or(tex.len(), |k| tex_line_start + k);
        let tex_line = &tex[tex_line_start..tex_line_end];
        let mut line_start = tex_start;
        for _ in 0..newlines {
            line_start = text[line_start..]
                .find('\n')
                .map_or(text.len(), |k| line_start + k + 1);
        }
        let line_end = text[line_start..]
            .find('\n')
            .map_or(text.len(), |k| line_start + k);
        let source_line = &text[line_start..line_end];
        let prefix = if source_line.ends_with(tex_line) {
            source_line.len() - tex_line.len()
        } else {
            0
        };
        line_start + prefix + (tex_offset - tex_line_start)
    };
    let start = start.min(text.len());
    let line_end = text[start..].find('\n').map_or(text.len(), |k| start + k);
    let first_line_len = latex.find('\n').unwrap_or(latex.len());
    start
        ..(start + first_line_len.max(1))
            .min(line_end.max(start + 1))
            .min(text.len())
}
