//! Stage 1: walk the vault. Every `.md` file becomes a [`SourceFile`]; every other
//! file is an [`Attachment`] to copy into the site so that embeds work.
//!
//! Hidden files and folders (`.obsidian`, `.git`, `.trash`) and the vault's settings
//! file (`notebuild.yaml` at its root) are skipped, symbolic links are not followed
//! unless asked, and a file that cannot be read is reported and skipped — the rest of
//! the vault is still built.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rayon::prelude::*;
use walkdir::WalkDir;

use crate::diagnostics::{Diagnostic, Severity};

/// How to walk.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Follow symbolic links (loops are detected and reported).
    pub follow_links: bool,
    /// Folders never to enter, such as the output folder when it sits inside the vault.
    pub exclude: Vec<PathBuf>,
}

/// A markdown note, read.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the vault, `/`-separated, with its `.md` extension.
    pub path: String,
    /// The text; invalid UTF-8 was replaced (and reported).
    pub text: String,
    /// Last modification time, when the file system knows it.
    pub modified: Option<SystemTime>,
}

/// A file that is not a note: an image, a PDF, anything else.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// Path relative to the vault, `/`-separated.
    pub path: String,
    /// Where to copy it from.
    pub source: PathBuf,
}

/// The vault, walked and read.
#[derive(Debug, Clone)]
pub struct Vault {
    pub root: PathBuf,
    pub notes: Vec<SourceFile>,
    pub attachments: Vec<Attachment>,
    /// `preamble.sty` at the vault's root: the vault's own TeX macros.
    pub preamble: Option<SourceFile>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The name of the vault's macro file, at its root (the convention of Obsidian's Extended
/// MathJax plugin).
pub const PREAMBLE: &str = "preamble.sty";

/// Walks `root` and reads every note, in parallel.
///
/// Fails only when `root` itself cannot be walked; problems with single files are
/// returned as diagnostics.
pub fn load(root: &Path, options: &WalkOptions) -> std::io::Result<Vault> {
    let meta = std::fs::metadata(root)?;
    if !meta.is_dir() {
        return Err(std::io::Error::other(format!(
            "{} is not a folder",
            root.display()
        )));
    }
    let exclude: Vec<PathBuf> = options
        .exclude
        .iter()
        .map(|p| p.canonicalize().unwrap_or_else(|_| p.clone()))
        .collect();
    let root_canon = root.canonicalize()?;

    let mut diagnostics = Vec::new();
    let mut note_paths = Vec::new();
    let mut attachments = Vec::new();
    let mut preamble_path = None;

    // Links followed out of the vault's folder (`--follow-links` never publishes what lies
    // outside it, such as `/etc/passwd`).
    let outside = std::cell::RefCell::new(Vec::new());
    let walker = WalkDir::new(root)
        .follow_links(options.follow_links)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            if entry.depth() == 0 {
                return true;
            }
            if entry.file_name().to_string_lossy().starts_with('.') {
                return false;
            }
            if entry.path_is_symlink() {
                let inside = entry
                    .path()
                    .canonicalize()
                    .is_ok_and(|target| target.starts_with(&root_canon));
                if !inside {
                    outside
                        .borrow_mut()
                        .push(relative(&root_canon, root, entry.path()));
                    return false;
                }
            }
            if entry.file_type().is_dir() && !exclude.is_empty() {
                let canon = entry
                    .path()
                    .canonicalize()
                    .unwrap_or_else(|_| entry.path().to_path_buf());
                if exclude.contains(&canon) {
                    return false;
                }
            }
            true
        });

    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                let path = err
                    .path()
                    .map(|p| relative(&root_canon, root, p))
                    .unwrap_or_default();
                let message = if err.loop_ancestor().is_some() {
                    "symbolic link loop: skipped".to_string()
                } else {
                    format!("cannot read: {err}")
                };
                diagnostics.push(Diagnostic::whole_file(Severity::Warning, &path, message));
                continue;
            }
        };
        let rel = relative(&root_canon, root, entry.path());
        // the vault itself may be given through a link: only links inside it count
        if entry.depth() > 0 && entry.file_type().is_symlink() {
            diagnostics.push(
                Diagnostic::whole_file(
                    Severity::Warning,
                    &rel,
                    "symbolic link not followed: skipped",
                )
                .with_hint("pass --follow-links to follow symbolic links"),
            );
            continue;
        }
        if !entry.file_type().is_file() {
            continue;
        }
        // the vault's settings file is read by the command, not published
        if entry.depth() == 1 && entry.file_name() == crate::config::FILE {
            continue;
        }
        // the vault's macros are read into every formula, not published
        if entry.depth() == 1 && entry.file_name() == PREAMBLE {
            preamble_path = Some((rel, entry.path().to_path_buf()));
            continue;
        }
        let is_note = entry
            .path()
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("md"));
        if is_note {
            note_paths.push((rel, entry.path().to_path_buf()));
        } else {
            attachments.push(Attachment {
                path: rel,
                source: entry.path().to_path_buf(),
            });
        }
    }

    for path in outside.into_inner() {
        diagnostics.push(
            Diagnostic::whole_file(
                Severity::Warning,
                &path,
                "symbolic link to a place outside the vault: skipped",
            )
            .with_hint("only what lies inside the vault's folder is published; copy it in"),
        );
    }

    let read: Vec<Result<(SourceFile, Option<Diagnostic>), Diagnostic>> = note_paths
        .into_par_iter()
        .map(|(rel, abs)| read_note(rel, &abs))
        .collect();
    let mut notes = Vec::with_capacity(read.len());
    for item in read {
        match item {
            Ok((note, warning)) => {
                diagnostics.extend(warning);
                notes.push(note);
            }
            Err(d) => diagnostics.push(d),
        }
    }

    let preamble = match preamble_path.map(|(rel, abs)| read_note(rel, &abs)) {
        Some(Ok((file, warning))) => {
            diagnostics.extend(warning);
            Some(file)
        }
        Some(Err(d)) => {
            diagnostics.push(d);
            None
        }
        None => None,
    };

    Ok(Vault {
        root: root.to_path_buf(),
        notes,
        attachments,
        preamble,
        diagnostics,
    })
}

/// Builds a vault from notes held in memory (tests, and the bundled default vault).
pub fn from_memory(root: &Path, files: &[(&str, &str)]) -> Vault {
    let notes = files
        .iter()
        .map(|(path, text)| SourceFile {
            path: path.to_string(),
            text: text.to_string(),
            modified: None,
        })
        .collect();
    Vault {
        root: root.to_path_buf(),
        notes,
        attachments: Vec::new(),
        preamble: None,
        diagnostics: Vec::new(),
    }
}

/// Reads one note (`rel`, its vault-relative path, found at `abs`): the note and the
/// warning the walk gives it (not UTF-8, empty), or the error when it cannot be read.
pub(crate) fn read_note(
    rel: String,
    abs: &Path,
) -> Result<(SourceFile, Option<Diagnostic>), Diagnostic> {
    let bytes = std::fs::read(abs).map_err(|err| {
        Diagnostic::whole_file(Severity::Error, &rel, format!("cannot read note: {err}"))
            .with_hint("check the file's permissions; the note was left out of the site")
    })?;
    let modified = std::fs::metadata(abs).and_then(|m| m.modified()).ok();
    let (text, warning) = match String::from_utf8(bytes) {
        Ok(text) => (text, None),
        Err(err) => {
            let valid_up_to = err.utf8_error().valid_up_to();
            let bytes = err.into_bytes();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let prefix = String::from_utf8_lossy(&bytes[..valid_up_to]);
            let warning = Diagnostic::warning(
                &rel,
                &text,
                prefix.len()..prefix.len() + 1,
                "note is not valid UTF-8: invalid bytes were replaced with �",
            )
            .with_hint("save the note as UTF-8");
            (text, Some(warning))
        }
    };
    let warning = warning.or_else(|| {
        text.trim().is_empty().then(|| {
            Diagnostic::whole_file(Severity::Warning, &rel, "note is empty")
                .with_hint("write something in it, or delete it")
        })
    });
    Ok((
        SourceFile {
            path: rel,
            text,
            modified,
        },
        warning,
    ))
}

/// The path of `path` relative to the vault root, `/`-separated.
fn relative(root_canon: &Path, root: &Path, path: &Path) -> String {
    let rel = path
        .strip_prefix(root)
        .or_else(|_| path.strip_prefix(root_canon))
        .unwrap_or(path);
    relative_text(rel)
}

/// A path relative to the vault as the walk names it: `/`-separated, bytes that are
/// not UTF-8 written `%XX`.
pub fn relative_text(rel: &Path) -> String {
    rel.components()
        .map(|c| name_text(c.as_os_str()))
        .collect::<Vec<_>>()
        .join("/")
}

/// A file name as text. Bytes that are not UTF-8 are written `%XX`, one by one, so that
/// two names differing only there stay two names (a lossy conversion made both `�`).
fn name_text(name: &std::ffi::OsStr) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let mut out = String::new();
        for chunk in name.as_bytes().utf8_chunks() {
            out.push_str(chunk.valid());
            for b in chunk.invalid() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
    #[cfg(not(unix))]
    {
        name.to_string_lossy().into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn names_that_are_not_utf8_stay_distinct() {
        use std::os::unix::ffi::OsStrExt;
        let a = name_text(std::ffi::OsStr::from_bytes(b"img\xff.png"));
        let b = name_text(std::ffi::OsStr::from_bytes(b"img\xfe.png"));
        assert_eq!(a, "img%FF.png");
        assert_ne!(a, b);
        assert_eq!(name_text(std::ffi::OsStr::new("été.png")), "été.png");
    }

    #[test]
    fn walks_notes_and_attachments_and_skips_hidden_folders() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        std::fs::create_dir_all(root.join(".obsidian"))?;
        std::fs::create_dir_all(root.join("sub"))?;
        std::fs::write(root.join(".obsidian/app.md"), "hidden")?;
        std::fs::write(root.join("a.md"), "# A")?;
        std::fs::write(root.join("sub/b.MD"), "b")?;
        std::fs::write(root.join("sub/pic.png"), [0u8, 1, 2])?;
        std::fs::write(root.join("bad.md"), [b'o', b'k', b'\n', 0xff, b'x'])?;
        let vault = load(root, &WalkOptions::default())?;
        let mut paths: Vec<_> = vault.notes.iter().map(|n| n.path.as_str()).collect();
        paths.sort();
        assert_eq!(paths, ["a.md", "bad.md", "sub/b.MD"]);
        assert_eq!(vault.attachments.len(), 1);
        assert_eq!(vault.attachments[0].path, "sub/pic.png");
        let bad = vault
            .diagnostics
            .iter()
            .find(|d| d.file == "bad.md")
            .map(|d| (d.line, d.message.contains("UTF-8")));
        assert_eq!(bad, Some((2, true)));
        Ok(())
    }
}
