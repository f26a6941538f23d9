//! The build, stage by stage: vault → parse → extract → graph → render → site.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::diagnostics::Diagnostic;
use crate::extract::{self, NoteInfo};
use crate::graph;
use crate::parse::{self, ParsedNote};
use crate::render::{self, SiteSettings};
use crate::site;
use crate::vault::{self, WalkOptions};

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub vault: PathBuf,
    pub out: PathBuf,
    pub follow_links: bool,
    /// The site's title; the vault folder's name when not given.
    pub title: Option<String>,
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
    pub vault: vault::Vault,
    pub notes: Vec<ParsedNote>,
    pub infos: Vec<NoteInfo>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Walks, parses and extracts the vault.
pub fn analyse(
    root: &Path,
    walk: &WalkOptions,
    progress: &dyn Progress,
) -> Result<Analysed, BuildError> {
    let vault = vault::load(root, walk).map_err(|error| BuildError::Vault {
        path: root.to_path_buf(),
        error,
    })?;
    progress.stage("parsing", vault.notes.len());
    let notes: Vec<ParsedNote> = vault
        .notes
        .par_iter()
        .map(|file| {
            let note = parse::parse(file);
            progress.step();
            note
        })
        .collect();
    let infos: Vec<NoteInfo> = notes.par_iter().map(extract::extract).collect();
    let mut diagnostics = vault.diagnostics.clone();
    for note in &notes {
        diagnostics.extend(note.diagnostics.iter().cloned());
    }
    Ok(Analysed {
        vault,
        notes,
        infos,
        diagnostics,
    })
}

/// Builds the site.
pub fn build(options: &BuildOptions, progress: &dyn Progress) -> Result<BuildReport, BuildError> {
    let start = Instant::now();
    // Refuse a bad output folder before doing any work.
    site::check_output(&options.out, &options.vault).map_err(BuildError::Site)?;
    let out_abs = site::absolute(&options.out).unwrap_or_else(|_| options.out.clone());
    let walk = WalkOptions {
        follow_links: options.follow_links,
        exclude: vec![out_abs],
    };
    let Analysed {
        vault,
        notes,
        infos,
        mut diagnostics,
    } = analyse(&options.vault, &walk, progress)?;

    let attachment_paths: Vec<String> = vault.attachments.iter().map(|a| a.path.clone()).collect();
    let (graph, link_diagnostics) = graph::build(&notes, &infos, &attachment_paths);
    diagnostics.extend(link_diagnostics);

    let title = options
        .title
        .clone()
        .unwrap_or_else(|| site_title(&options.vault));
    let published = graph.pages.iter().filter(|p| p.published).count();
    progress.stage("rendering", published);
    let step = || progress.step();
    let rendered = render::render_site(&notes, &infos, &graph, &SiteSettings { title }, &step)
        .map_err(BuildError::Template)?;
    diagnostics.extend(rendered.diagnostics);

    progress.stage("writing", 0);
    site::write(
        &options.out,
        &options.vault,
        &rendered.files,
        &vault.attachments,
    )
    .map_err(BuildError::Site)?;

    diagnostics.sort_by(|a, b| {
        (a.file.as_str(), a.line, a.column, a.severity).cmp(&(
            b.file.as_str(),
            b.line,
            b.column,
            b.severity,
        ))
    });
    let sources = notes
        .iter()
        .map(|n| (n.path.clone(), n.text.clone()))
        .collect();
    Ok(BuildReport {
        notes: notes.len(),
        unpublished: notes.len() - published,
        pages: rendered.pages,
        attachments: vault.attachments.len(),
        diagnostics,
        sources,
        elapsed: start.elapsed(),
    })
}

/// The vault folder's name, as the site's title.
fn site_title(vault: &Path) -> String {
    site::absolute(vault)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "Notes".to_string())
}
