//! Stage 6: write the site, atomically.
//!
//! The site is written into a temporary folder next to the output folder and swapped in
//! only when every file is written, so a failed build never leaves a half-written site.
//! Nothing outside the output folder (and that temporary sibling) is written or
//! deleted: an existing output folder is replaced only when notebuild made it.

use std::io;
use std::path::{Component, Path, PathBuf};

use rayon::prelude::*;

use crate::render::OutFile;
use crate::vault::Attachment;

/// The file that marks a folder as a site notebuild wrote (and may replace).
pub const MARKER: &str = ".notebuild-site";

/// Why the site could not be written.
#[derive(Debug)]
pub enum SiteError {
    /// The output folder is the vault or contains it.
    OutputContainsVault {
        out: PathBuf,
        vault: PathBuf,
    },
    /// The output folder exists, is not empty and was not made by notebuild.
    NotOurs(PathBuf),
    /// A path the site would write is not a plain relative path.
    BadPath(String),
    /// Two files of the site would have one path (a defect: [`crate::urls`] gives every
    /// file its own).
    Duplicate(String),
    Io {
        path: PathBuf,
        error: io::Error,
    },
}

impl std::fmt::Display for SiteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SiteError::OutputContainsVault { out, vault } => write!(
                f,
                "the output folder {} is the vault {} or contains it; choose another with --out",
                out.display(),
                vault.display()
            ),
            SiteError::NotOurs(out) => write!(
                f,
                "{} exists and was not made by notebuild; refusing to replace it (choose an empty or new folder with --out, or delete it)",
                out.display()
            ),
            SiteError::BadPath(p) => write!(f, "refusing to write outside the output folder: {p}"),
            SiteError::Duplicate(p) => write!(
                f,
                "two files of the site would be written to {p}: refusing to overwrite one with the other"
            ),
            SiteError::Io { path, error } => write!(f, "cannot write {}: {error}", path.display()),
        }
    }
}

impl std::error::Error for SiteError {}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SiteError + '_ {
    move |error| SiteError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// An absolute, normalised form of `path` (which need not exist).
pub fn absolute(path: &Path) -> io::Result<PathBuf> {
    let abs = std::path::absolute(path)?;
    // Resolve symbolic links in the part that exists.
    let mut existing = abs.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut out = existing.canonicalize().unwrap_or(existing);
    for part in rest.into_iter().rev() {
        out.push(part);
    }
    Ok(out)
}

/// Checks that `out` may be used as the output folder of `vault`.
pub fn check_output(out: &Path, vault: &Path) -> Result<(), SiteError> {
    let out_abs = absolute(out).map_err(io_err(out))?;
    let vault_abs = absolute(vault).map_err(io_err(vault))?;
    if vault_abs.starts_with(&out_abs) {
        return Err(SiteError::OutputContainsVault {
            out: out.to_path_buf(),
            vault: vault.to_path_buf(),
        });
    }
    if out_abs.exists() {
        if !out_abs.is_dir() {
            return Err(SiteError::NotOurs(out.to_path_buf()));
        }
        let mut entries = std::fs::read_dir(&out_abs).map_err(io_err(out))?;
        let empty = entries.next().is_none();
        if !empty && !out_abs.join(MARKER).is_file() {
            return Err(SiteError::NotOurs(out.to_path_buf()));
        }
    }
    Ok(())
}

/// Writes `files` and copies `attachments` (from the vault) into `out`, atomically.
pub fn write(
    out: &Path,
    vault: &Path,
    files: &[OutFile],
    attachments: &[Attachment],
) -> Result<(), SiteError> {
    // Every path is checked before anything is written.
    let mut seen = std::collections::HashSet::new();
    for path in files
        .iter()
        .map(|f| f.path.as_str())
        .chain(attachments.iter().map(|a| a.path.as_str()))
    {
        if !is_plain_relative(path) {
            return Err(SiteError::BadPath(path.to_string()));
        }
        if !seen.insert(path.to_lowercase()) {
            return Err(SiteError::Duplicate(path.to_string()));
        }
    }
    let staging = Staging::new(out, vault)?;
    files
        .par_iter()
        .try_for_each(|f| staging.add(&f.path, &f.contents))?;
    staging.finish(attachments)
}

/// A site being written: files go into a temporary folder next to the output folder as
/// they come, and [`Staging::finish`] swaps it in. Dropped unfinished (an error, a
/// panic), the temporary folder is removed and the previous site stays as it was.
pub struct Staging {
    tmp: PathBuf,
    old: PathBuf,
    out: PathBuf,
    /// The paths written so far, lowercased (some file systems ignore case).
    seen: std::sync::Mutex<std::collections::HashSet<String>>,
    /// The folders made so far, as the site's paths name them.
    folders: std::sync::Mutex<std::collections::HashSet<String>>,
    finished: bool,
}

impl Staging {
    /// Checks `out` and prepares an empty temporary folder beside it.
    pub fn new(out: &Path, vault: &Path) -> Result<Staging, SiteError> {
        check_output(out, vault)?;
        let out_abs = absolute(out).map_err(io_err(out))?;
        let parent = out_abs
            .parent()
            .map(Path::to_path_buf)
            .ok_or_else(|| SiteError::BadPath(out.display().to_string()))?;
        let name = out_abs
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| SiteError::BadPath(out.display().to_string()))?;
        std::fs::create_dir_all(&parent).map_err(io_err(&parent))?;
        remove_leftovers(&parent, &name);
        let pid = std::process::id();
        let tmp = parent.join(format!(".{name}.notebuild-tmp-{pid}"));
        let old = parent.join(format!(".{name}.notebuild-old-{pid}"));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
        }
        std::fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
        Ok(Staging {
            tmp,
            old,
            out: out_abs,
            seen: Default::default(),
            folders: Default::default(),
            finished: false,
        })
    }

    /// Claims `path` for one file of the site.
    fn claim(&self, path: &str) -> Result<PathBuf, SiteError> {
        if !is_plain_relative(path) {
            return Err(SiteError::BadPath(path.to_string()));
        }
        let fresh = self
            .seen
            .lock()
            .map_err(|_| SiteError::BadPath(path.to_string()))?
            .insert(path.to_lowercase());
        if !fresh {
            return Err(SiteError::Duplicate(path.to_string()));
        }
        let full = self.tmp.join(path);
        // Each folder is made once (most files of a site share a few folders).
        let folder = path.rsplit_once('/').map_or("", |(folder, _)| folder);
        let folders = || {
            self.folders
                .lock()
                .map_err(|_| SiteError::BadPath(path.to_string()))
        };
        if !folder.is_empty()
            && !folders()?.contains(folder)
            && let Some(dir) = full.parent()
        {
            // made before it is marked made: another file of it may be written meanwhile
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
            folders()?.insert(folder.to_string());
        }
        Ok(full)
    }

    /// Writes one file of the site (safe to call from several threads).
    pub fn add(&self, path: &str, contents: &[u8]) -> Result<(), SiteError> {
        let full = self.claim(path)?;
        std::fs::write(&full, contents).map_err(io_err(&full))
    }

    /// Opens one file of the site for writing (safe to call from several threads): for a
    /// file too large to make in memory first.
    pub fn create(&self, path: &str) -> Result<std::io::BufWriter<std::fs::File>, SiteError> {
        let full = self.claim(path)?;
        std::fs::File::create(&full)
            .map(std::io::BufWriter::new)
            .map_err(io_err(&full))
    }

    /// The error of writing the file `path` of the site.
    pub fn write_error(&self, path: &str, error: std::io::Error) -> SiteError {
        SiteError::Io {
            path: self.tmp.join(path),
            error,
        }
    }

    /// A scratch file, read and written, that is never part of the site (it is gone
    /// when the folder is swapped in, or removed with it).
    pub fn scratch(&self) -> Result<std::fs::File, SiteError> {
        let path = self.tmp.join(SCRATCH);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(io_err(&path))?;
        // Where the system allows it, the file is unnamed at once (it lives as long as
        // it is open); elsewhere `finish` removes it.
        let _ = std::fs::remove_file(&path);
        Ok(file)
    }

    /// Copies the attachments, marks the folder as notebuild's and swaps it in.
    pub fn finish(mut self, attachments: &[Attachment]) -> Result<(), SiteError> {
        let _ = std::fs::remove_file(self.tmp.join(SCRATCH));
        attachments.par_iter().try_for_each(|a| {
            let path = self.claim(&a.path)?;
            std::fs::copy(&a.source, &path)
                .map(|_| ())
                .map_err(io_err(&a.source))
        })?;
        let marker = self.tmp.join(MARKER);
        std::fs::write(
            &marker,
            "This folder was written by notebuild; `notebuild build` replaces it.\n",
        )
        .map_err(io_err(&marker))?;
        swap(&self.tmp, &self.old, &self.out)?;
        self.finished = true;
        Ok(())
    }
}

/// The name of [`Staging::scratch`]'s file in the temporary folder (a site's paths never
/// start with a dot and a hyphen).
const SCRATCH: &str = ".-notebuild-scratch";

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Removes the temporary folders of builds into `parent/name` that were killed before
/// they could clean up (`.NAME.notebuild-tmp-PID`, `.NAME.notebuild-old-PID` whose process
/// is gone). A process is known to be gone only where `/proc` lists the running ones;
/// elsewhere nothing is removed.
fn remove_leftovers(parent: &Path, name: &str) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        let Some(rest) = file_name
            .strip_prefix('.')
            .and_then(|r| r.strip_prefix(name))
            .and_then(|r| {
                r.strip_prefix(".notebuild-tmp-")
                    .or_else(|| r.strip_prefix(".notebuild-old-"))
            })
        else {
            continue;
        };
        let Ok(pid) = rest.parse::<u32>() else {
            continue;
        };
        if pid != std::process::id() && !proc.join(pid.to_string()).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn swap(tmp: &Path, old: &Path, out: &Path) -> Result<(), SiteError> {
    if out.exists() {
        if old.exists() {
            std::fs::remove_dir_all(old).map_err(io_err(old))?;
        }
        std::fs::rename(out, old).map_err(io_err(out))?;
        if let Err(error) = std::fs::rename(tmp, out) {
            // Put the previous site back.
            let _ = std::fs::rename(old, out);
            return Err(SiteError::Io {
                path: out.to_path_buf(),
                error,
            });
        }
        std::fs::remove_dir_all(old).map_err(io_err(old))?;
    } else {
        std::fs::rename(tmp, out).map_err(io_err(out))?;
    }
    Ok(())
}

/// A relative path with no `..`, no root and no drive.
fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> OutFile {
        OutFile {
            path: path.into(),
            contents: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn writes_and_replaces_its_own_site() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let vault = dir.path().join("vault");
        std::fs::create_dir_all(&vault)?;
        let out = dir.path().join("site");
        write(
            &out,
            &vault,
            &[file("a/b.html", "one"), file("stale.html", "x")],
            &[],
        )?;
        write(&out, &vault, &[file("a/b.html", "two")], &[])?;
        assert_eq!(std::fs::read_to_string(out.join("a/b.html"))?, "two");
        assert!(!out.join("stale.html").exists());
        // No temporary folder is left behind.
        let left: Vec<_> = std::fs::read_dir(dir.path())?.collect();
        assert_eq!(left.len(), 2);
        Ok(())
    }

    #[test]
    fn refuses_foreign_folders_and_the_vault() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let vault = dir.path().join("vault");
        std::fs::create_dir_all(&vault)?;
        std::fs::write(dir.path().join("keep.txt"), "mine")?;
        let err = write(dir.path(), &vault, &[file("x.html", "")], &[]);
        assert!(matches!(err, Err(SiteError::OutputContainsVault { .. })));
        let foreign = dir.path().join("docs");
        std::fs::create_dir_all(&foreign)?;
        std::fs::write(foreign.join("precious.txt"), "mine")?;
        let err = write(&foreign, &vault, &[file("x.html", "")], &[]);
        assert!(matches!(err, Err(SiteError::NotOurs(_))));
        assert!(foreign.join("precious.txt").exists());
        let err = write(&dir.path().join("s"), &vault, &[file("../x.html", "")], &[]);
        assert!(matches!(err, Err(SiteError::BadPath(_))));
        let err = write(
            &dir.path().join("s"),
            &vault,
            &[file("a.html", "1"), file("A.html", "2")],
            &[],
        );
        assert!(matches!(err, Err(SiteError::Duplicate(_))));
        assert!(!dir.path().join("s").exists());
        Ok(())
    }
}
