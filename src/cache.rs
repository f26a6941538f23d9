//! The verdict cache: the identities found in a note and their verdicts, kept between
//! runs so that `build`, `check` and `serve` check again only the notes that changed.
//!
//! A note's verdicts depend on nothing but the note (the checker reads each note on its
//! own: its formulas, the prose between them, its front matter) and the settings. So an
//! entry is keyed by a 128-bit hash of, conservatively, everything the checker and the
//! placing of its findings see: the note's path and whole text, each formula's TeX as
//! written and as read (the vault's macros expanded, with the map back to the source),
//! the check settings (seed, trials, layout, `\otimes`), the crate's version and a hash
//! of notebuild's source code taken at compile time (so any change to the checker, or to
//! anything else, starts a fresh cache).
//!
//! The cache is one file, `.notebuild/verdicts.json` at the vault's root (the vault walk
//! skips hidden folders, so it is never read as a note, and the folder holds a
//! `.gitignore` of `*`). It is written to a temporary file and renamed into place, so a
//! concurrent run sees the old file or the new one, never half of one; a file that cannot
//! be read or parsed, or was written by another version, is ignored and replaced. When
//! the folder cannot be written (a read-only vault), the run simply checks everything.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::check::{self, FailKind, Kind, Layout, Located, Outcome, Reading, SkipReason, Verdict};

/// The cache's folder, at the vault's root.
pub const DIR: &str = ".notebuild";
/// The cache's file in [`DIR`].
pub const FILE: &str = "verdicts.json";
/// The version of the file's format.
const FORMAT: u32 = 1;
/// notebuild's version and its source code's hash: entries of any other build are stale.
const BUILD: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "+",
    env!("NOTEBUILD_SOURCE_HASH")
);

/// A note's key: a hash of everything its verdicts depend on.
pub type Key = u128;

/// Verdicts of earlier runs, and those of this run.
pub struct Cache {
    /// The file, or `None` for a cache that is neither read nor written (`--no-cache`).
    file: Option<PathBuf>,
    /// Entries read from the file.
    old: HashMap<Key, Vec<Entry>>,
    /// The keys of the entries of `old` used in this run: written back.
    used: Mutex<std::collections::HashSet<Key>>,
    /// Entries made in this run: written back.
    new: Mutex<HashMap<Key, Vec<Entry>>>,
    /// Whether this run checked a note again (the file needs writing).
    dirty: AtomicBool,
}

/// The vault's own macros, which every note's formulas are read with: `preamble.sty`
/// and the `macros:` of notebuild.yaml (the built-in ones are part of the code).
pub fn macro_context(
    preamble: Option<&crate::vault::SourceFile>,
    config: &BTreeMap<String, String>,
) -> String {
    let mut text = String::new();
    if let Some(file) = preamble {
        text.push_str(&format!("preamble {:?} {} ", file.path, file.text.len()));
        text.push_str(&file.text);
    }
    for (name, body) in config {
        text.push_str(&format!("\nmacro {name:?} {body:?}"));
    }
    text
}

/// The settings and the build, hashed once into each key.
fn settings_text(settings: &check::Settings) -> String {
    format!(
        "{BUILD}|{FORMAT}|seed {}|trials {}|layout {:?}|otimes {:?}",
        settings.seed, settings.trials, settings.layout, settings.otimes
    )
}

impl Cache {
    /// A cache that checks everything and keeps nothing.
    pub fn disabled() -> Cache {
        Cache {
            file: None,
            old: HashMap::new(),
            used: Mutex::new(Default::default()),
            new: Mutex::new(HashMap::new()),
            dirty: AtomicBool::new(false),
        }
    }

    /// The cache of the vault at `root`, read from its file when there is a good one.
    pub fn open(root: &Path) -> Cache {
        let file = root.join(DIR).join(FILE);
        let old = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
            .filter(|f| f.format == FORMAT && f.build == BUILD)
            .map(|f| {
                f.notes
                    .into_iter()
                    .filter_map(|(key, entries)| Some((key.0?, entries)))
                    .collect()
            })
            .unwrap_or_default();
        Cache {
            file: Some(file),
            old,
            used: Mutex::new(Default::default()),
            new: Mutex::new(HashMap::new()),
            dirty: AtomicBool::new(false),
        }
    }

    /// The key of the note at `path` with text `text`, in a vault whose macros are
    /// `macros` (see [`macro_context`]), under `settings`.
    pub fn key(path: &str, text: &str, macros: &str, settings: &check::Settings) -> Key {
        let settings = settings_text(settings);
        let hash = |salt: u64| {
            let mut h = std::hash::DefaultHasher::new();
            salt.hash(&mut h);
            settings.hash(&mut h);
            macros.hash(&mut h);
            path.hash(&mut h);
            text.hash(&mut h);
            h.finish()
        };
        (u128::from(hash(0x6e62_5f31)) << 64) | u128::from(hash(0x6e62_5f32))
    }

    /// The verdicts of the note with key `key` and text `text`, if an earlier run left
    /// them (and every place they name is a place in `text`: the file may have been
    /// edited by hand).
    pub fn get(&self, key: Key, text: &str) -> Option<Vec<Located>> {
        let entries = self.old.get(&key)?;
        let located: Option<Vec<Located>> = entries.iter().map(|e| e.to_located(text)).collect();
        let located = located?;
        if let Ok(mut used) = self.used.lock() {
            used.insert(key);
        }
        Some(located)
    }

    /// Keeps the verdicts of a note just checked.
    pub fn put(&self, key: Key, located: &[Located]) {
        if self.file.is_none() {
            return;
        }
        // A verdict the cache cannot write back exactly is not kept.
        let Some(entries) = located.iter().map(Entry::of).collect::<Option<Vec<_>>>() else {
            return;
        };
        if let Ok(mut new) = self.new.lock() {
            new.insert(key, entries);
            self.dirty.store(true, Ordering::Relaxed);
        }
    }

    /// Writes the entries of this run (those read and not used are dropped), atomically;
    /// a cache that cannot be written is left as it was.
    pub fn save(&self) {
        let Some(file) = &self.file else {
            return;
        };
        let (Ok(new), Ok(used)) = (self.new.lock(), self.used.lock()) else {
            return;
        };
        let unchanged = !self.dirty.load(Ordering::Relaxed) && used.len() == self.old.len();
        if unchanged {
            return;
        }
        let notes: BTreeMap<String, &Vec<Entry>> = used
            .iter()
            .filter(|k| !new.contains_key(k))
            .filter_map(|k| Some((k, self.old.get(k)?)))
            .chain(new.iter())
            .map(|(k, v)| (format!("{k:032x}"), v))
            .collect();
        let data = SavedFile {
            format: FORMAT,
            build: BUILD,
            notes,
        };
        let Ok(bytes) = serde_json::to_vec(&data) else {
            return;
        };
        let _ = write_atomically(file, &bytes);
    }

    /// Whether the cache is read and written.
    pub fn enabled(&self) -> bool {
        self.file.is_some()
    }
}

/// Writes `bytes` to `file` through a temporary file in its folder and a rename; creates
/// the folder (with a `.gitignore` that ignores it all) if needed.
fn write_atomically(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = file
        .parent()
        .ok_or_else(|| std::io::Error::other("no folder"))?;
    if !dir.is_dir() {
        // A vault whose folder is read-only is left as it is.
        let root = dir
            .parent()
            .ok_or_else(|| std::io::Error::other("no vault"))?;
        if std::fs::metadata(root)?.permissions().readonly() {
            return Err(std::io::Error::other("the vault is read-only"));
        }
        std::fs::create_dir(dir)?;
    }
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        let _ = std::fs::write(
            &ignore,
            "# notebuild's verdict cache: safe to delete, never to commit.\n*\n",
        );
    }
    let tmp = dir.join(format!(
        ".{FILE}.tmp-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, file));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[derive(Deserialize)]
struct CacheFile {
    format: u32,
    build: String,
    notes: HashMap<HexKey, Vec<Entry>>,
}

/// A key as the file writes it (32 hexadecimal digits); `None` for any other text.
#[derive(PartialEq, Eq, Hash)]
struct HexKey(Option<Key>);

impl<'de> Deserialize<'de> for HexKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = HexKey;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a hexadecimal key")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<HexKey, E> {
                Ok(HexKey(u128::from_str_radix(v, 16).ok()))
            }
        }
        d.deserialize_str(Visit)
    }
}

#[derive(Serialize)]
struct SavedFile<'a> {
    format: u32,
    build: &'static str,
    notes: BTreeMap<String, &'a Vec<Entry>>,
}

/// One identity of a note, as the cache keeps it: every field of [`Located`].
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    file: String,
    line: usize,
    column: usize,
    start: usize,
    end: usize,
    math_start: usize,
    latex: String,
    read_as: String,
    status: String,
    kind: Option<String>,
    message: String,
    hint: Option<String>,
    /// The bits of the f64 (NaN and infinities survive).
    max_error: Option<u64>,
    trials: usize,
    seed: u64,
    counterexample: Option<String>,
    reading: Option<SavedReading>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SavedReading {
    layout: String,
    kinds: BTreeMap<String, String>,
    families: Vec<(String, String)>,
}

const LAYOUTS: [Layout; 2] = [Layout::Numerator, Layout::Denominator];
const KINDS: [Kind; 3] = [Kind::Scalar, Kind::Vector, Kind::Matrix];
const FAILS: [FailKind; 2] = [FailKind::Shape, FailKind::Value];
const SKIPS: [SkipReason; 9] = [
    SkipReason::Abstract,
    SkipReason::Unsupported,
    SkipReason::Parse,
    SkipReason::Types,
    SkipReason::Domain,
    SkipReason::Internal,
    SkipReason::NotIdentity,
    SkipReason::Ambiguous,
    SkipReason::Condition,
];
/// The kinds' names a reading's families use.
const FAMILY_NAMES: [&str; 3] = ["scalar", "vector", "matrix"];

fn family_name(name: &str) -> Option<&'static str> {
    FAMILY_NAMES.iter().copied().find(|n| *n == name)
}

impl Entry {
    /// `None` when some part of the verdict has no exact saved form.
    fn of(l: &Located) -> Option<Entry> {
        let v = &l.verdict;
        let (status, kind) = match v.outcome {
            Outcome::Pass => ("pass", None),
            Outcome::Fail(k) => {
                FAILS.contains(&k).then_some(())?;
                ("fail", Some(k.as_str().to_string()))
            }
            Outcome::Skip(r) => {
                SKIPS.contains(&r).then_some(())?;
                ("skip", Some(r.as_str().to_string()))
            }
        };
        let reading = match &v.reading {
            None => None,
            Some(r) => Some(SavedReading {
                layout: format!("{:?}", r.layout),
                kinds: r
                    .kinds
                    .iter()
                    .map(|(k, kind)| (k.clone(), kind.as_str().to_string()))
                    .collect(),
                families: r
                    .families
                    .iter()
                    .map(|(a, b)| Some((family_name(a)?.to_string(), family_name(b)?.to_string())))
                    .collect::<Option<Vec<_>>>()?,
            }),
        };
        Some(Entry {
            file: l.file.clone(),
            line: l.line,
            column: l.column,
            start: l.range.start,
            end: l.range.end,
            math_start: l.math_start,
            latex: l.latex.clone(),
            read_as: l.read_as.clone(),
            status: status.to_string(),
            kind,
            message: v.message.clone(),
            hint: v.hint.clone(),
            max_error: v.max_error.map(f64::to_bits),
            trials: v.trials,
            seed: v.seed,
            counterexample: v.counterexample.clone(),
            reading,
        })
    }

    fn to_located(&self, text: &str) -> Option<Located> {
        let in_text = |at: usize| text.is_char_boundary(at);
        (in_text(self.start) && in_text(self.end) && in_text(self.math_start)).then_some(())?;
        let outcome = match (self.status.as_str(), self.kind.as_deref()) {
            ("pass", None) => Outcome::Pass,
            ("fail", Some(k)) => Outcome::Fail(FAILS.into_iter().find(|f| f.as_str() == k)?),
            ("skip", Some(k)) => Outcome::Skip(SKIPS.into_iter().find(|r| r.as_str() == k)?),
            _ => return None,
        };
        let reading = match &self.reading {
            None => None,
            Some(r) => Some(Reading {
                layout: LAYOUTS.into_iter().find(|l| format!("{l:?}") == r.layout)?,
                kinds: r
                    .kinds
                    .iter()
                    .map(|(k, kind)| {
                        Some((k.clone(), KINDS.into_iter().find(|x| x.as_str() == kind)?))
                    })
                    .collect::<Option<BTreeMap<_, _>>>()?,
                families: r
                    .families
                    .iter()
                    .map(|(a, b)| Some((family_name(a)?, family_name(b)?)))
                    .collect::<Option<BTreeSet<_>>>()?,
            }),
        };
        (self.start <= self.end).then_some(())?;
        Some(Located {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            range: self.start..self.end,
            math_start: self.math_start,
            latex: self.latex.clone(),
            read_as: self.read_as.clone(),
            verdict: Verdict {
                outcome,
                message: self.message.clone(),
                hint: self.hint.clone(),
                max_error: self.max_error.map(f64::from_bits),
                trials: self.trials,
                seed: self.seed,
                counterexample: self.counterexample.clone(),
                reading,
            },
        })
    }
}
