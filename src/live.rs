//! `serve`'s rebuilds: what the last build was made of, kept in memory, so that a
//! change to the vault re-reads, re-parses and re-checks only the notes it touches and
//! writes only the files whose bytes changed.
//!
//! What changed is known from the paths `serve`'s watcher names
//! ([`crate::serve::Changed`], passed to [`Live::update`]); when it names a folder, a
//! symbolic link or lost track (or no watcher's list is given) the vault is walked
//! again.
//!
//! An edit takes the quickest way when everything the rest of the site reads of the
//! note stays as it was: its title, aliases, tags, headings, block ids, links (where
//! they lead, not where they are written), whether it is published and its date, and
//! its cards; then the link graph is the same. The pages that can differ are the
//! note's own, the pages that embed it (through any number of embeds) and the pages made
//! from every note (index, report, quiz pages, search index, previews), each made again
//! only when what it is made of changed.
//!
//! Notes that come, go or are renamed, and edits of a note's outline, take a longer way
//! (`Live::restructure`): the link graph is made anew, and the pages rendered again are
//! those whose inputs from other notes changed (`page_inputs`), with the pages
//! embedding them and every page made of the whole vault. Changes to attachments, the
//! preamble, the settings or the cards are a full build ([`crate::pipeline::build`]),
//! which swaps in a whole new site. Each file whose bytes changed is replaced through a
//! temporary file in its folder and a rename.
//!
//! Verdicts of notes checked again here are not written to the verdict cache (its file
//! keeps the entries of the last full run); the next full build checks those notes once
//! more.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use rayon::prelude::*;

use crate::check;
use crate::diagnostics::Diagnostic;
use crate::extract::cards::{self, Card};
use crate::extract::{self, LinkKind, NoteInfo};
use crate::graph::{self, Graph, Resolved};
use crate::parse::{self, ParsedNote};
use crate::pipeline::{self, BuildError, BuildOptions, BuildReport};
use crate::render::{self, NoteRest, OutFile, SiteSettings};
use crate::site::{self, SiteError};
use crate::tex::macros::Macros;
use crate::vault::{self, WalkOptions};

/// With `NOTEBUILD_TIMING` set, prints how long each step of an update took.
fn lap(start: Instant, what: &str) {
    if std::env::var_os("NOTEBUILD_TIMING").is_some() {
        eprintln!(
            "update: {what} at {:.1} ms",
            start.elapsed().as_secs_f64() * 1000.0
        );
    }
}

/// A file's length and a hash of its bytes.
pub type Fingerprint = (usize, u64);

/// The fingerprint of a file's bytes.
pub fn fingerprint(bytes: &[u8]) -> Fingerprint {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    bytes.hash(&mut h);
    (bytes.len(), h.finish())
}

/// What a full build hands over.
pub(crate) struct Parts {
    pub options: BuildOptions,
    pub vault: vault::Vault,
    pub notes: Vec<ParsedNote>,
    pub infos: Vec<NoteInfo>,
    pub cards: Vec<Vec<Card>>,
    pub identities: Vec<Vec<check::Located>>,
    pub rests: Vec<(usize, NoteRest)>,
    pub settings: SiteSettings,
    pub written: HashMap<String, Fingerprint>,
    pub pages: usize,
}

/// An attachment as last seen: its path, where it is, its size and modification time.
type AttachmentState = (String, PathBuf, Option<(u64, SystemTime)>);

/// The last build, in memory.
pub struct Live {
    options: BuildOptions,
    preamble: Option<vault::SourceFile>,
    attachments: Vec<AttachmentState>,
    /// Index of each note, and of each attachment, by vault path.
    note_index: HashMap<String, usize>,
    attachment_index: HashMap<String, usize>,
    walk_diagnostics: Vec<Diagnostic>,
    macros: Macros,
    macro_diagnostics: Vec<Diagnostic>,
    notes: Vec<ParsedNote>,
    infos: Vec<NoteInfo>,
    cards: Vec<Vec<Card>>,
    card_diagnostics: Vec<Vec<Diagnostic>>,
    identities: Vec<Vec<check::Located>>,
    graph: Graph,
    /// The warnings of each note's links, and the graph's others (clashing paths).
    link_diagnostics: Vec<Vec<Diagnostic>>,
    graph_diagnostics: Vec<Diagnostic>,
    rests: Vec<Option<NoteRest>>,
    settings: SiteSettings,
    /// Every file the site's pages were rendered into (attachments aside).
    written: HashMap<String, Fingerprint>,
    /// HTML pages of the site.
    pages: usize,
    /// An update gave up or failed half-way: this state is no longer the site's.
    spent: bool,
    /// Each note's [`page_inputs`], once a change of the outline needed them.
    inputs: Option<Vec<(u64, u64)>>,
}

fn attachment_state(a: &vault::Attachment) -> AttachmentState {
    let meta = std::fs::metadata(&a.source)
        .ok()
        .and_then(|m| Some((m.len(), m.modified().ok()?)));
    (a.path.clone(), a.source.clone(), meta)
}

fn attachment_paths(attachments: &[AttachmentState]) -> Vec<String> {
    attachments.iter().map(|(p, _, _)| p.clone()).collect()
}

fn build_graph(
    notes: &[ParsedNote],
    infos: &[NoteInfo],
    cards: &[Vec<Card>],
    attachments: &[String],
) -> (Graph, Vec<Vec<Diagnostic>>, Vec<Diagnostic>) {
    let published: Vec<bool> = infos.iter().map(|i| i.published).collect();
    let generated = render::generated_paths(cards, &published);
    graph::build_parts(notes, infos, attachments, &generated)
}

/// What the watcher's paths tell of a change.
enum Reread {
    /// Only notes' texts may have changed: these, read again (index, file).
    Notes(Vec<(usize, vault::SourceFile)>),
    /// The paths do not tell enough: walk the vault.
    Walk,
    /// Notes or attachments came, went or changed otherwise: a full build.
    Full,
}

impl Live {
    pub(crate) fn new(parts: Parts) -> Live {
        let Parts {
            options,
            vault,
            notes,
            infos,
            cards,
            identities,
            rests,
            settings,
            written,
            pages,
        } = parts;
        let (macros, macro_diagnostics) =
            pipeline::vault_macros(vault.preamble.as_ref(), &options.macros);
        let card_diagnostics = notes
            .par_iter()
            .map(|n| cards::cards(n, &options.cards).1)
            .collect();
        let attachments: Vec<AttachmentState> =
            vault.attachments.iter().map(attachment_state).collect();
        let (graph, link_diagnostics, graph_diagnostics) =
            build_graph(&notes, &infos, &cards, &attachment_paths(&attachments));
        let note_index = notes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.path.clone(), i))
            .collect();
        let attachment_index = attachments
            .iter()
            .enumerate()
            .map(|(i, (p, _, _))| (p.clone(), i))
            .collect();
        let mut by_note: Vec<Option<NoteRest>> = vec![None; notes.len()];
        for (i, r) in rests {
            if let Some(slot) = by_note.get_mut(i) {
                *slot = Some(r);
            }
        }
        Live {
            options,
            preamble: vault.preamble,
            attachments,
            note_index,
            attachment_index,
            walk_diagnostics: vault.diagnostics,
            macros,
            macro_diagnostics,
            notes,
            infos,
            cards,
            card_diagnostics,
            identities,
            graph,
            link_diagnostics,
            graph_diagnostics,
            rests: by_note,
            settings,
            written,
            pages,
            spent: false,
            inputs: None,
        }
    }

    /// The flashcards of each note.
    pub fn cards(&self) -> &[Vec<Card>] {
        &self.cards
    }

    /// Builds the site from scratch and keeps what it was built from.
    pub fn build(
        options: &BuildOptions,
        progress: &dyn pipeline::Progress,
    ) -> Result<(BuildReport, Option<Live>), BuildError> {
        pipeline::build_with(options, progress, true)
    }

    /// Reads again the files the watcher named, when that is enough to know what
    /// changed: notes whose text may differ (the others as they were), or that a full
    /// build is needed.
    fn reread(&self, changed: &crate::serve::Changed) -> Reread {
        if changed.rescan {
            return Reread::Walk;
        }
        let mut notes = Vec::new();
        for (rel, abs) in &changed.paths {
            if rel.is_empty()
                || rel == vault::PREAMBLE
                || self.preamble.as_ref().is_some_and(|p| p.path == *rel)
            {
                return Reread::Walk;
            }
            // the vault's settings are read by the command (the options compared above)
            if rel == crate::config::FILE {
                continue;
            }
            let meta = match std::fs::symlink_metadata(abs) {
                Ok(meta) => meta,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let inside = format!("{rel}/");
                    let known = self.note_index.contains_key(rel)
                        || self.attachment_index.contains_key(rel)
                        || self.notes.iter().any(|n| n.path.starts_with(&inside))
                        || self
                            .attachments
                            .iter()
                            .any(|(p, _, _)| p.starts_with(&inside));
                    if known {
                        return Reread::Full;
                    }
                    // a file that came and went (an editor's temporary file)
                    continue;
                }
                Err(_) => return Reread::Walk,
            };
            if meta.file_type().is_symlink() || meta.is_dir() {
                return Reread::Walk;
            }
            if !meta.is_file() {
                // the walk skips what is neither a file nor a folder
                continue;
            }
            if let Some(&i) = self.note_index.get(rel) {
                let Ok((file, warning)) = vault::read_note(rel.clone(), abs) else {
                    return Reread::Walk;
                };
                // the walk's warnings about this note (empty, not UTF-8) as they were
                let before: Vec<&Diagnostic> = self
                    .walk_diagnostics
                    .iter()
                    .filter(|d| d.file == *rel)
                    .collect();
                if before != warning.iter().collect::<Vec<_>>() {
                    return Reread::Walk;
                }
                notes.push((i, file));
            } else if let Some(&k) = self.attachment_index.get(rel) {
                let (path, source, _) = &self.attachments[k];
                let now = attachment_state(&vault::Attachment {
                    path: path.clone(),
                    source: source.clone(),
                });
                if now != self.attachments[k] {
                    return Reread::Full;
                }
            } else {
                // a new note or attachment
                return Reread::Full;
            }
        }
        Reread::Notes(notes)
    }

    /// Brings the site up to date after a change in the vault. `Ok(None)` when the
    /// change is not one this can do (then nothing was written): a full build is needed.
    /// After an error the site on disk may hold some of the new files: a full build
    /// puts it right. After either, this state is spent (every later update is
    /// `Ok(None)`): a full build makes a new one.
    pub fn update(
        &mut self,
        options: &BuildOptions,
        watched: Option<crate::serve::Changed>,
    ) -> Result<Option<BuildReport>, BuildError> {
        let start = Instant::now();
        if self.spent {
            return Ok(None);
        }
        self.spent = true;
        if format!("{options:?}") != format!("{:?}", self.options) || options.git_dates {
            return Ok(None);
        }
        // only into the site the last build wrote (a folder that lost its marker is no
        // longer notebuild's; one that is gone is written afresh)
        site::check_output(&options.out, &options.vault).map_err(BuildError::Site)?;
        if !options.out.join(site::MARKER).is_file() {
            return Ok(None);
        }
        let settings = SiteSettings {
            order: crate::config::reading_order(&options.vault),
            ..self.settings.clone()
        };
        if settings.order != self.settings.order {
            return Ok(None);
        }
        let reread = match watched {
            Some(changed) => self.reread(&changed),
            None => Reread::Walk,
        };
        let read: Vec<(usize, vault::SourceFile)> = match reread {
            Reread::Full => return self.restructure(options, &settings, None, start),
            Reread::Notes(notes) => {
                lap(start, "read the changed files");
                notes
            }
            Reread::Walk => match self.walk(options)? {
                Ok(notes) => {
                    lap(start, "walked");
                    notes
                }
                Err(vault) => return self.restructure(options, &settings, Some(vault), start),
            },
        };
        let read: Vec<(usize, vault::SourceFile)> = read
            .into_iter()
            .filter(|(i, file)| file.text != self.notes[*i].text)
            .collect();
        let changed: Vec<usize> = read.iter().map(|(i, _)| *i).collect();

        // the changed notes, parsed and extracted again
        let fresh: Vec<(ParsedNote, NoteInfo, Vec<Card>, Vec<Diagnostic>)> = read
            .par_iter()
            .map(|(_, file)| {
                let mut note = parse::parse(file);
                parse::macros::expand(&mut note, &self.macros);
                let info = extract::extract(&note);
                let (cards, diagnostics) = cards::cards(&note, &options.cards);
                (note, info, cards, diagnostics)
            })
            .collect();
        for ((_, info, c, _), &i) in fresh.iter().zip(&changed) {
            // (cards changed: the quiz pages may change in number)
            if !same_outline(info, &self.infos[i]) || *c != self.cards[i] {
                return self.restructure(options, &settings, None, start);
            }
        }
        lap(start, "parsed");
        for ((note, info, c, d), &i) in fresh.into_iter().zip(&changed) {
            self.notes[i] = note;
            self.infos[i] = info;
            self.cards[i] = c;
            self.card_diagnostics[i] = d;
        }
        // The graph is made of the notes' outlines, paths and cards, all as they were:
        // it is the same. Only the warnings of the changed notes' links (their places
        // in the text) are found again.
        for &i in &changed {
            self.link_diagnostics[i] =
                self.graph
                    .link_diagnostics(i, &self.notes[i], &self.infos[i]);
        }
        let (notes, infos, cards) = (&self.notes, &self.infos, &self.cards);
        let graph = &self.graph;
        lap(start, "links");
        // verdicts of the changed notes
        let identities = &mut self.identities;
        let mut verdicts_changed = false;
        if !changed.is_empty() {
            let sub_notes: Vec<ParsedNote> = changed.iter().map(|&i| notes[i].clone()).collect();
            let sub_infos: Vec<NoteInfo> = changed.iter().map(|&i| infos[i].clone()).collect();
            let checked = pipeline::check_identities(
                &sub_notes,
                &sub_infos,
                &options.check,
                &pipeline::Quiet,
            );
            for (&i, list) in changed.iter().zip(checked) {
                // (the report shows each identity's place, text and verdict)
                verdicts_changed |= format!("{list:?}") != format!("{:?}", identities[i]);
                identities[i] = list;
            }
        }

        lap(start, "checked");
        // (whether a changed note has identities may have changed)
        if let Some(inputs) = self.inputs.as_mut() {
            let order = render::nav::reading_order(&self.graph, &self.infos, &settings.order);
            let positions = render::nav::positions(&order, self.notes.len());
            for &i in &changed {
                if let Some(slot) = inputs.get_mut(i) {
                    *slot = page_inputs(
                        &self.graph,
                        &self.infos,
                        &self.identities,
                        (&positions, &order),
                        i,
                    );
                }
            }
        }
        // the pages that can differ: the changed notes' and those embedding them
        let identities = &self.identities;
        let affected = embedders(graph, infos, &changed);
        let files = Collected::default();
        let sink = |file: OutFile| files.push(file);
        let new_rests = render::render_notes(
            notes,
            infos,
            graph,
            identities,
            cards,
            &settings,
            &affected,
            &|| {},
            &sink,
        )?;
        lap(start, "notes rendered");
        // the notes' pages first: the page being edited is on disk the soonest
        let pages = files.take()?;
        if pages.iter().any(|f| !self.written.contains_key(&f.path)) {
            return Ok(None);
        }
        self.write_changed(&options.out, &pages)?;
        lap(start, "notes written");
        // what is made of the outline only (tag pages, the graph, the explorer's data,
        // fixed files) and of the cards (the cards' data) is as it was; the report as
        // well when no verdict changed, the search index and the previews when no
        // page's entry in them did
        let mut remake = render::Remake {
            checks: verdicts_changed,
            search: false,
            previews: false,
            cards: false,
            ..render::Remake::NOTES
        };
        for (i, r) in new_rests {
            match &self.rests[i] {
                Some(old) => {
                    let (search, previews) = render::rest_changes(old, &r);
                    remake.search |= search;
                    remake.previews |= previews;
                }
                None => {
                    remake.search = true;
                    remake.previews = true;
                }
            }
            self.rests[i] = Some(r);
        }
        let list: Vec<&NoteRest> = self.rests.iter().flatten().collect();
        let rest = render::render_rest_of(
            &self.notes,
            &self.infos,
            &self.graph,
            &self.identities,
            &self.cards,
            &settings,
            &list,
            remake,
            &sink,
        )?;
        drop(list);
        lap(start, "rest rendered");
        let files = files.take()?;
        // every file must be one the site already has (the set of files is as it was)
        if files.iter().any(|f| !self.written.contains_key(&f.path)) {
            return Ok(None);
        }
        self.write_changed(&options.out, &files)?;
        lap(start, "written");
        self.spent = false;
        Ok(Some(self.report(rest.diagnostics, start)))
    }

    /// Brings the site up to date after notes came, went, were renamed or changed their
    /// outline: the vault (`vault`, or walked again) must have the same preamble and
    /// attachments, and every note the same cards (a new or gone note none). Notes whose
    /// text is as it was are kept as they are; the others are parsed and checked
    /// again; the link graph is made anew. The pages rendered again are those of
    /// the notes whose text changed or that other notes give something else (see
    /// [`page_inputs`]), with the pages embedding them, and every file made of the
    /// vault as a whole; pages of notes no longer published are removed.
    fn restructure(
        &mut self,
        options: &BuildOptions,
        settings: &SiteSettings,
        vault: Option<vault::Vault>,
        start: Instant,
    ) -> Result<Option<BuildReport>, BuildError> {
        let vault = match vault {
            Some(v) => v,
            None => walk_vault(options)?,
        };
        lap(start, "walked for a new outline");
        let same_rest = vault.preamble.as_ref().map(|p| (&p.path, &p.text))
            == self.preamble.as_ref().map(|p| (&p.path, &p.text))
            && vault.attachments.len() == self.attachments.len()
            && vault
                .attachments
                .iter()
                .zip(&self.attachments)
                .all(|(a, b)| attachment_state(a) == *b);
        if !same_rest {
            return Ok(None);
        }
        // each new note: the old note it keeps (same path and text), if any
        let kept: Vec<Option<usize>> = vault
            .notes
            .iter()
            .map(|f| {
                self.note_index
                    .get(&f.path)
                    .copied()
                    .filter(|&j| self.notes[j].text == f.text)
            })
            .collect();
        let fresh_at: Vec<usize> = (0..vault.notes.len())
            .filter(|&k| kept[k].is_none())
            .collect();
        let fresh: Vec<(ParsedNote, NoteInfo, Vec<Card>, Vec<Diagnostic>)> = fresh_at
            .par_iter()
            .map(|&k| {
                let mut note = parse::parse(&vault.notes[k]);
                parse::macros::expand(&mut note, &self.macros);
                let info = extract::extract(&note);
                let (cards, diagnostics) = cards::cards(&note, &options.cards);
                (note, info, cards, diagnostics)
            })
            .collect();
        // the cards as they were (a note that came or went had none)
        for ((_, _, c, _), &k) in fresh.iter().zip(&fresh_at) {
            let before = self
                .note_index
                .get(&vault.notes[k].path)
                .map_or(&[][..], |&j| self.cards[j].as_slice());
            if c.as_slice() != before {
                return Ok(None);
            }
        }
        let now: HashSet<&str> = vault.notes.iter().map(|f| f.path.as_str()).collect();
        if self
            .notes
            .iter()
            .zip(&self.cards)
            .any(|(n, c)| !c.is_empty() && !now.contains(n.path.as_str()))
        {
            return Ok(None);
        }
        lap(start, "parsed");
        let sub_notes: Vec<ParsedNote> = fresh.iter().map(|f| f.0.clone()).collect();
        let sub_infos: Vec<NoteInfo> = fresh.iter().map(|f| f.1.clone()).collect();
        let checked =
            pipeline::check_identities(&sub_notes, &sub_infos, &options.check, &pipeline::Quiet);
        drop((sub_notes, sub_infos));
        lap(start, "checked");

        // the old state, taken apart
        let old_notes = std::mem::take(&mut self.notes);
        let old_infos = std::mem::take(&mut self.infos);
        let old_cards = std::mem::take(&mut self.cards);
        let mut old_card_diagnostics = std::mem::take(&mut self.card_diagnostics);
        let mut old_identities = std::mem::take(&mut self.identities);
        let mut old_rests = std::mem::take(&mut self.rests);
        let old_graph = std::mem::take(&mut self.graph);
        let old_order = render::nav::reading_order(&old_graph, &old_infos, &settings.order);
        let old_positions = render::nav::positions(&old_order, old_notes.len());
        let old_inputs: Vec<(u64, u64)> = match self.inputs.take() {
            Some(inputs) if inputs.len() == old_notes.len() => inputs,
            _ => (0..old_notes.len())
                .into_par_iter()
                .map(|j| {
                    page_inputs(
                        &old_graph,
                        &old_infos,
                        &old_identities,
                        (&old_positions, &old_order),
                        j,
                    )
                })
                .collect(),
        };
        let old_quiz = render::site_settings(settings, &old_graph, &old_cards).quiz;
        let old_published: Vec<bool> = old_graph.pages.iter().map(|p| p.published).collect();
        let old_generated = render::generated_paths(&old_cards, &old_published);
        // the notes with identities (those below are moved out of the list)
        let old_with: Vec<usize> = (0..old_identities.len())
            .filter(|&j| !old_identities[j].is_empty())
            .collect();
        lap(start, "old pages' inputs");

        let mut old_notes: Vec<Option<ParsedNote>> = old_notes.into_iter().map(Some).collect();
        let mut fresh = fresh.into_iter().zip(checked);
        let n = vault.notes.len();
        let mut notes = Vec::with_capacity(n);
        let mut infos = Vec::with_capacity(n);
        let mut cards = Vec::with_capacity(n);
        let mut card_diagnostics = Vec::with_capacity(n);
        let mut identities = Vec::with_capacity(n);
        let mut rests: Vec<Option<NoteRest>> = Vec::with_capacity(n);
        for &old in &kept {
            match old {
                Some(j) => {
                    let Some(note) = old_notes[j].take() else {
                        return Ok(None);
                    };
                    notes.push(note);
                    infos.push(old_infos[j].clone());
                    cards.push(old_cards[j].clone());
                    card_diagnostics.push(std::mem::take(&mut old_card_diagnostics[j]));
                    identities.push(std::mem::take(&mut old_identities[j]));
                    rests.push(old_rests[j].take());
                }
                None => {
                    let Some(((note, info, c, d), list)) = fresh.next() else {
                        return Ok(None);
                    };
                    notes.push(note);
                    infos.push(info);
                    cards.push(c);
                    card_diagnostics.push(d);
                    identities.push(list);
                    rests.push(None);
                }
            }
        }
        lap(start, "notes gathered");
        let (graph, link_diagnostics, graph_diagnostics) =
            build_graph(&notes, &infos, &cards, &attachment_paths(&self.attachments));
        let published: Vec<bool> = graph.pages.iter().map(|p| p.published).collect();
        if graph.attachment_urls != old_graph.attachment_urls
            || render::site_settings(settings, &graph, &cards).quiz != old_quiz
            || render::generated_paths(&cards, &published) != old_generated
        {
            return Ok(None);
        }
        lap(start, "graph");
        // the report is as it was when the notes with identities are the same, at the
        // same places among the notes, with the same titles, addresses and identities
        let new_with: Vec<usize> = (0..identities.len())
            .filter(|&k| !identities[k].is_empty())
            .collect();
        // (a note not kept still has its old identities in `old_identities`)
        let report_same = new_with == old_with
            && new_with.iter().all(|&k| {
                old_infos[k].path == infos[k].path
                    && old_infos[k].title == infos[k].title
                    && old_graph.pages[k] == graph.pages[k]
                    && (kept[k] == Some(k)
                        || format!("{:?}", identities[k]) == format!("{:?}", old_identities[k]))
            });
        let order = render::nav::reading_order(&graph, &infos, &settings.order);
        let positions = render::nav::positions(&order, notes.len());
        // the notes whose page may differ: new text, or other notes give it
        // something else
        let inputs: Vec<(u64, u64)> = (0..notes.len())
            .into_par_iter()
            .map(|k| page_inputs(&graph, &infos, &identities, (&positions, &order), k))
            .collect();
        // (a note whose content is as it was changes no page embedding it)
        let content_changed: Vec<usize> = (0..notes.len())
            .filter(|&k| kept[k].is_none_or(|j| inputs[k].0 != old_inputs[j].0))
            .collect();
        let mut affected = embedders(&graph, &infos, &content_changed);
        affected.extend((0..notes.len()).filter(|&k| {
            kept[k].is_some_and(|j| {
                inputs[k].1 != old_inputs[j].1 || rests[k].is_some() != published[k]
            })
        }));
        affected.sort_unstable();
        affected.dedup();
        lap(start, "found the pages to render");

        let files = Collected::default();
        let sink = |file: OutFile| files.push(file);
        let new_rests = render::render_notes(
            &notes,
            &infos,
            &graph,
            &identities,
            &cards,
            settings,
            &affected,
            &|| {},
            &sink,
        )?;
        for &k in &affected {
            rests[k] = None;
        }
        for (k, r) in new_rests {
            rests[k] = Some(r);
        }
        lap(start, "notes rendered");
        let pages = files.take()?;
        self.write_changed(&options.out, &pages)?;
        // the pages of notes gone or no longer published
        let urls: HashSet<&str> = graph
            .pages
            .iter()
            .filter(|p| p.published)
            .map(|p| p.url.as_str())
            .collect();
        for page in old_graph.pages.iter().filter(|p| p.published) {
            if !urls.contains(page.url.as_str()) && self.written.remove(&page.url).is_some() {
                remove_from_site(&options.out, &page.url).map_err(BuildError::Site)?;
            }
        }
        drop(urls);
        lap(start, "notes written");
        let list: Vec<&NoteRest> = rests.iter().flatten().collect();
        let rest = render::render_rest_of(
            &notes,
            &infos,
            &graph,
            &identities,
            &cards,
            settings,
            &list,
            render::Remake {
                checks: !report_same,
                ..render::Remake::ALL
            },
            &sink,
        )?;
        drop(list);
        lap(start, "rest rendered");
        let files = files.take()?;
        self.write_changed(&options.out, &files)?;
        // what the site no longer has: pages of notes gone or unpublished, tag pages
        // of tags gone
        let mut wanted: HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
        if report_same {
            // (not made again: as it was)
            wanted.insert(render::CHECKS_PAGE);
        }
        for (page, &p) in graph.pages.iter().zip(&published) {
            if p {
                wanted.insert(page.url.as_str());
            }
        }
        let gone: Vec<String> = self
            .written
            .keys()
            .filter(|p| !wanted.contains(p.as_str()))
            .cloned()
            .collect();
        drop(wanted);
        for path in gone {
            remove_from_site(&options.out, &path).map_err(BuildError::Site)?;
            self.written.remove(&path);
        }
        lap(start, "written");

        self.note_index = notes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.path.clone(), i))
            .collect();
        self.notes = notes;
        self.infos = infos;
        self.cards = cards;
        self.card_diagnostics = card_diagnostics;
        self.identities = identities;
        self.rests = rests;
        self.link_diagnostics = link_diagnostics;
        self.graph_diagnostics = graph_diagnostics;
        self.walk_diagnostics = vault.diagnostics;
        self.preamble = vault.preamble;
        // (the report, when not made again, is one page all the same)
        self.pages =
            published.iter().filter(|&&p| p).count() + rest.pages + usize::from(report_same);
        self.graph = graph;
        self.inputs = Some(inputs);
        self.spent = false;
        Ok(Some(self.report(rest.diagnostics, start)))
    }

    /// The report of the site as it now is.
    fn report(&self, rest: Vec<Diagnostic>, start: Instant) -> BuildReport {
        let mut diagnostics = self.walk_diagnostics.clone();
        diagnostics.extend(self.macro_diagnostics.iter().cloned());
        for note in &self.notes {
            diagnostics.extend(note.diagnostics.iter().cloned());
        }
        diagnostics.extend(self.card_diagnostics.iter().flatten().cloned());
        diagnostics.extend(pipeline::fail_diagnostics(&self.identities));
        diagnostics.extend(self.link_diagnostics.iter().flatten().cloned());
        diagnostics.extend(self.graph_diagnostics.iter().cloned());
        for r in self.rests.iter().flatten() {
            diagnostics.extend(r.diagnostics.iter().cloned());
        }
        diagnostics.extend(rest);
        pipeline::sort_diagnostics(&mut diagnostics);
        lap(start, "diagnostics");
        let published = self.graph.pages.iter().filter(|p| p.published).count();
        BuildReport {
            notes: self.notes.len(),
            unpublished: self.notes.len() - published,
            pages: self.pages,
            attachments: self.attachments.len(),
            identities: self.identities.clone(),
            cards: self.cards.clone(),
            diagnostics,
            sources: pipeline::sources_of(&self.notes, self.preamble.as_ref()),
            elapsed: start.elapsed(),
        }
    }
}

impl Live {
    /// Walks the vault: the notes (index, file) when it holds the same notes,
    /// attachments, preamble and walk warnings as the last build, else what it holds.
    #[allow(clippy::type_complexity)]
    fn walk(
        &self,
        options: &BuildOptions,
    ) -> Result<Result<Vec<(usize, vault::SourceFile)>, vault::Vault>, BuildError> {
        let vault = walk_vault(options)?;
        let same_vault = vault.preamble.as_ref().map(|p| (&p.path, &p.text))
            == self.preamble.as_ref().map(|p| (&p.path, &p.text))
            && vault.diagnostics == self.walk_diagnostics
            && vault.notes.len() == self.notes.len()
            && vault
                .notes
                .iter()
                .zip(&self.notes)
                .all(|(a, b)| a.path == b.path)
            && vault.attachments.len() == self.attachments.len()
            && vault
                .attachments
                .iter()
                .zip(&self.attachments)
                .all(|(a, b)| attachment_state(a) == *b);
        Ok(if same_vault {
            Ok(vault.notes.into_iter().enumerate().collect())
        } else {
            Err(vault)
        })
    }

    /// Writes each of `files` whose bytes differ from the site's.
    fn write_changed(&mut self, out: &Path, files: &[OutFile]) -> Result<(), BuildError> {
        for file in files {
            let print = fingerprint(&file.contents);
            if self.written.get(&file.path) == Some(&print) {
                continue;
            }
            self.written.remove(&file.path);
            write_atomically(out, &file.path, &file.contents).map_err(BuildError::Site)?;
            self.written.insert(file.path.clone(), print);
        }
        Ok(())
    }
}

fn walk_vault(options: &BuildOptions) -> Result<vault::Vault, BuildError> {
    let out_abs = site::absolute(&options.out).unwrap_or_else(|_| options.out.clone());
    let walk = WalkOptions {
        follow_links: options.follow_links,
        exclude: vec![out_abs],
    };
    vault::load(&options.vault, &walk).map_err(|error| BuildError::Vault {
        path: options.vault.clone(),
        error,
    })
}

/// Hashes of what other notes give note `i`'s page (besides its own text, verdicts and
/// cards, and the pages it embeds). First what its content (also where it is
/// embedded) reads: its path, title and address, where each of its links leads (the
/// note's path, title, address and whether it is published, or the attachment, or why
/// the link is broken), its tags' pages, and, when it has identities, its index among
/// the notes (the badges' links into the report name it). Then all of that and what
/// only its own page shows: its backlinks and its neighbours in the reading order.
/// Two states of the site in which a note has the same text, cards and verdicts and
/// the same second hash, and whose embedded notes have the same text, verdicts and
/// first hash (through any number of embeds), give it the same page.
fn page_inputs(
    graph: &Graph,
    infos: &[NoteInfo],
    identities: &[Vec<check::Located>],
    (positions, order): (&[Option<usize>], &[usize]),
    i: usize,
) -> (u64, u64) {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    identities
        .get(i)
        .is_some_and(|list| !list.is_empty())
        .then_some(i)
        .hash(&mut h);
    let note = |k: usize, h: &mut std::hash::DefaultHasher| {
        infos[k].path.hash(h);
        infos[k].title.hash(h);
        graph.pages[k].url.hash(h);
        graph.pages[k].published.hash(h);
    };
    note(i, &mut h);
    let resolved = |r: Result<Resolved, graph::LinkError>, h: &mut std::hash::DefaultHasher| match r
    {
        Ok(Resolved::Note { index, anchor }) => {
            0u8.hash(h);
            note(index, h);
            anchor.hash(h);
        }
        Ok(Resolved::Attachment(k)) => {
            1u8.hash(h);
            graph.attachments.get(k).hash(h);
            graph.attachment_urls.get(k).hash(h);
        }
        Err(graph::LinkError::MissingNote) => 2u8.hash(h),
        Err(graph::LinkError::MissingAnchor(a)) => {
            3u8.hash(h);
            a.hash(h);
        }
    };
    for link in &infos[i].links {
        let r = graph.resolve(i, &link.target, link.fragment.as_ref());
        // (a link to a missing heading goes to the note's top)
        let top = matches!(r, Err(graph::LinkError::MissingAnchor(_)));
        resolved(r, &mut h);
        if top {
            resolved(graph.resolve(i, &link.target, None), &mut h);
        }
    }
    0xffu8.hash(&mut h);
    for tag in &infos[i].tags {
        graph.tag_url(tag).hash(&mut h);
    }
    let content = h.finish();
    0xffu8.hash(&mut h);
    if let Some(Some(at)) = positions.get(i) {
        for k in [at.checked_sub(1), Some(at + 1)] {
            match k.and_then(|k| order.get(k)) {
                Some(&k) => note(k, &mut h),
                None => 0xfeu8.hash(&mut h),
            }
        }
    }
    0xffu8.hash(&mut h);
    for &b in &graph.backlinks[i] {
        note(b, &mut h);
    }
    (content, h.finish())
}

/// Whether what other pages read of a note is the same in `a` and `b`.
fn same_outline(a: &NoteInfo, b: &NoteInfo) -> bool {
    let links = |i: &NoteInfo| -> Vec<(LinkKind, String, Option<parse::Fragment>)> {
        i.links
            .iter()
            .map(|l| (l.kind, l.target.clone(), l.fragment.clone()))
            .collect()
    };
    a.path == b.path
        && a.title == b.title
        && a.aliases == b.aliases
        && a.tags == b.tags
        && a.headings == b.headings
        && a.block_ids == b.block_ids
        && a.published == b.published
        && a.date == b.date
        && a.day == b.day
        && links(a) == links(b)
}

/// `changed` and every note whose page embeds one of them, through any number of
/// embeds; ascending.
fn embedders(graph: &Graph, infos: &[NoteInfo], changed: &[usize]) -> Vec<usize> {
    // who embeds whom
    let mut embedded_by: HashMap<usize, Vec<usize>> = HashMap::new();
    for (j, info) in infos.iter().enumerate() {
        for link in &info.links {
            if matches!(link.kind, LinkKind::Wiki | LinkKind::Markdown) {
                continue;
            }
            if let Ok(Resolved::Note { index, .. }) =
                graph.resolve(j, &link.target, link.fragment.as_ref())
            {
                embedded_by.entry(index).or_default().push(j);
            }
        }
    }
    let mut seen: HashSet<usize> = changed.iter().copied().collect();
    let mut todo: Vec<usize> = changed.to_vec();
    while let Some(i) = todo.pop() {
        for &j in embedded_by.get(&i).into_iter().flatten() {
            if seen.insert(j) {
                todo.push(j);
            }
        }
    }
    let mut out: Vec<usize> = seen.into_iter().collect();
    out.sort_unstable();
    out
}

/// Removes `out/path`, and the folders holding it that it leaves empty.
fn remove_from_site(out: &Path, path: &str) -> Result<(), SiteError> {
    if path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
        || path.contains('\\')
    {
        return Err(SiteError::BadPath(path.to_string()));
    }
    let full = out.join(path);
    match std::fs::remove_file(&full) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(SiteError::Io { path: full, error }),
    }
    let mut dir = full.parent();
    while let Some(d) = dir {
        if d == out || !d.starts_with(out) {
            break;
        }
        // only an empty folder goes
        if std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    Ok(())
}

/// Replaces `out/path` by `contents` through a temporary file beside it and a rename.
fn write_atomically(out: &Path, path: &str, contents: &[u8]) -> Result<(), SiteError> {
    if path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
        || path.contains('\\')
    {
        return Err(SiteError::BadPath(path.to_string()));
    }
    let full = out.join(path);
    let dir = full.parent().unwrap_or(out).to_path_buf();
    let name = full
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.notebuild-part-{}", std::process::id()));
    let io = |error: std::io::Error| SiteError::Io {
        path: full.clone(),
        error,
    };
    // (a new note's page may be the first of its folder)
    std::fs::create_dir_all(&dir).map_err(io)?;
    std::fs::write(&tmp, contents).map_err(io)?;
    if let Err(e) = std::fs::rename(&tmp, &full) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(())
}

/// The files a render gives from its threads, gathered in the order they come.
#[derive(Default)]
struct Collected(std::sync::Mutex<Vec<OutFile>>);

impl Collected {
    fn push(&self, file: OutFile) -> Result<(), BuildError> {
        self.0.lock().map_err(|_| writer_panicked())?.push(file);
        Ok(())
    }

    /// The files gathered so far (leaving none).
    fn take(&self) -> Result<Vec<OutFile>, BuildError> {
        Ok(std::mem::take(
            &mut *self.0.lock().map_err(|_| writer_panicked())?,
        ))
    }
}

fn writer_panicked() -> BuildError {
    BuildError::Template(render::TemplateError("a page's writer panicked".into()))
}
