//! `serve`'s quick rebuilds (`notebuild::live`): an edit that leaves the vault's outline
//! as it was rewrites only what it touches, and the site on disk is then byte for byte
//! what a fresh build writes; an edit that changes the outline asks for a full build
//! and writes nothing.

#[allow(dead_code)]
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{Error, TestResult, fail, temp_vault, write};
use notebuild::live::Live;
use notebuild::pipeline::{self, BuildOptions, Quiet};

fn options(vault: &Path, out: PathBuf) -> BuildOptions {
    BuildOptions {
        vault: vault.to_path_buf(),
        out,
        follow_links: false,
        title: Some("Test".to_string()),
        check: Default::default(),
        cards: Default::default(),
        macros: Default::default(),
        safe_html: false,
        git_dates: false,
        cache: false,
    }
}

/// Every file under `root`, by relative path.
fn files_under(root: &Path) -> Result<BTreeMap<String, Vec<u8>>, Error> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)?
                    .to_string_lossy()
                    .replace('\\', "/");
                files.insert(rel, std::fs::read(&path)?);
            }
        }
    }
    Ok(files)
}

/// The site in `out` is what a fresh build of `vault` writes; that build's report.
fn same_as_fresh(vault: &Path, out: &Path, scratch: &Path) -> Result<pipeline::BuildReport, Error> {
    let fresh = scratch.join("fresh");
    let report = pipeline::build(&options(vault, fresh.clone()), &Quiet)?;
    let served = files_under(out)?;
    let built = files_under(&fresh)?;
    assert_eq!(
        served.keys().collect::<Vec<_>>(),
        built.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &built {
        assert!(served[path] == *bytes, "{path} differs from a fresh build");
    }
    std::fs::remove_dir_all(&fresh)?;
    Ok(report)
}

const ALPHA: &str = "# Alpha\n\nSee [[Missing note]] and #topic.\n\n$\\frac{d}{dx} x^2 = 2x$\n";
const BETA: &str = "# Beta\n\n![[Alpha]]\n\nLinks [[sub/Gamma]].\n";
const GAMMA: &str = "# Gamma\n\n#topic/sub text. $\\frac{d}{dx} x^3 = 3x$\n\n- [[Beta]]\n";
const DELTA: &str = "# Delta\n\n![[Beta]]\n";

#[test]
fn edits_that_keep_the_outline_are_written_as_a_fresh_build_writes_them() -> TestResult {
    let (dir, vault) = temp_vault(&[
        ("Alpha.md", ALPHA),
        ("Beta.md", BETA),
        ("sub/Gamma.md", GAMMA),
        ("Delta.md", DELTA),
    ])?;
    let out = dir.path().join("site");
    let (first, live) = Live::build(&options(&vault, out.clone()), &Quiet)?;
    let mut live = live.ok_or("a build for serve keeps its state")?;
    let mut warnings = vec![first.diagnostics.len()];
    let delta_page = std::fs::read(out.join("delta.html"))?;
    let edits: &[(&str, String, &str)] = &[
        // body text
        (
            "Alpha.md",
            format!("{ALPHA}\nMore text, embedded twice over.\n"),
            "More text",
        ),
        // a formula whose verdict changes (wrong, then right)
        ("sub/Gamma.md", GAMMA.replace("3x$", "3x^2$"), "3x^2"),
        // a note that another embeds (Delta embeds Beta, which embeds Alpha)
        (
            "Beta.md",
            BETA.replace("# Beta\n", "# Beta\n\nA new first paragraph.\n"),
            "A new first paragraph",
        ),
        // a line added above a broken link: its warning moves
        (
            "Alpha.md",
            format!("# Alpha\n\nA line above.\n{}", &ALPHA["# Alpha\n".len()..]),
            "A line above",
        ),
    ];
    for (path, text, shown) in edits {
        write(&vault, path, text)?;
        let report = live
            .update(&options(&vault, out.clone()), None)?
            .ok_or_else(|| fail(format!("an edit of {path}'s text took a full build")))?;
        let fresh = same_as_fresh(&vault, &out, dir.path())?;
        assert_eq!(report.diagnostics, fresh.diagnostics);
        assert_eq!(report.pages, fresh.pages);
        warnings.push(report.diagnostics.len());
        let page = String::from_utf8(std::fs::read(
            out.join(path.to_lowercase().replace(".md", ".html")),
        )?)?;
        assert!(page.contains(shown), "{path}: {page}");
    }
    // the wrong identity of Gamma was a warning until it was put right
    assert_eq!(warnings[1], warnings[0]);
    assert_eq!(warnings[2] + 1, warnings[1]);
    // Delta embeds Beta which embeds Alpha: its page followed both edits
    let delta_now = String::from_utf8(std::fs::read(out.join("delta.html"))?)?;
    assert!(delta_page != delta_now.as_bytes());
    assert!(delta_now.contains("A line above") && delta_now.contains("A new first paragraph"));
    Ok(())
}

/// What a change does, and the change itself.
type Change<'a> = (&'a str, Box<dyn Fn() -> TestResult + 'a>);

#[test]
fn changes_of_the_outline_and_of_the_notes_are_written_as_a_fresh_build_writes_them() -> TestResult
{
    let (dir, vault) = temp_vault(&[
        ("Alpha.md", ALPHA),
        ("Beta.md", BETA),
        ("sub/Gamma.md", GAMMA),
        ("Delta.md", DELTA),
    ])?;
    let out = dir.path().join("site");
    let (_, live) = Live::build(&options(&vault, out.clone()), &Quiet)?;
    let mut live = live.ok_or("a build for serve keeps its state")?;
    let changes: Vec<Change> = vec![
        (
            "a new link",
            Box::new(|| {
                write(
                    &vault,
                    "Alpha.md",
                    ALPHA.replace("# Alpha", "# Alpha\n\n[[Beta]]"),
                )
            }),
        ),
        (
            "another tag",
            Box::new(|| write(&vault, "Alpha.md", ALPHA.replace("#topic", "#other"))),
        ),
        (
            "a title that others' backlinks show",
            Box::new(|| write(&vault, "Alpha.md", format!("---\ntitle: A\n---\n{ALPHA}"))),
        ),
        (
            "a heading",
            Box::new(|| write(&vault, "Beta.md", format!("{BETA}\n## A heading\n"))),
        ),
        (
            "the missing note, created",
            Box::new(|| write(&vault, "Missing note.md", "# Missing\n\n![[sub/Gamma]]\n")),
        ),
        (
            "a new note in a new folder",
            Box::new(|| {
                write(
                    &vault,
                    "new/deep/Epsilon.md",
                    "# Epsilon\n\n[[Delta]] #topic/new\n",
                )
            }),
        ),
        (
            "an embedded note, renamed",
            Box::new(|| {
                Ok(std::fs::rename(
                    vault.join("Beta.md"),
                    vault.join("sub/Beta renamed.md"),
                )?)
            }),
        ),
        (
            "a note unpublished",
            Box::new(|| {
                write(
                    &vault,
                    "Delta.md",
                    format!("---\ndraft: true\n---\n{DELTA}"),
                )
            }),
        ),
        (
            "a note deleted, its folder empty",
            Box::new(|| Ok(std::fs::remove_dir_all(vault.join("new"))?)),
        ),
        (
            "a note deleted that others link to",
            Box::new(|| Ok(std::fs::remove_file(vault.join("sub/Gamma.md"))?)),
        ),
        (
            "an identity added to a note that had none (the quick way)",
            Box::new(|| {
                write(
                    &vault,
                    "Missing note.md",
                    "# Missing\n\n![[sub/Gamma]]\n\n$\\frac{d}{dx} x^2 = 3x$\n",
                )
            }),
        ),
        (
            "the first note deleted: the others' indices, in their badges, move",
            Box::new(|| Ok(std::fs::remove_file(vault.join("Alpha.md"))?)),
        ),
    ];
    for (what, change) in &changes {
        // (the step's name, shown with a failure below)
        eprintln!("step: {what}");
        change()?;
        let report = live
            .update(&options(&vault, out.clone()), None)?
            .ok_or_else(|| fail(format!("{what}: took a full build")))?;
        let fresh = same_as_fresh(&vault, &out, dir.path())?;
        assert_eq!(report.diagnostics, fresh.diagnostics, "{what}");
        assert_eq!(report.pages, fresh.pages, "{what}");
        assert_eq!(report.notes, fresh.notes, "{what}");
        assert!(
            vault.join("new").exists() || !out.join("new").exists(),
            "{what}: an empty folder is left"
        );
    }
    Ok(())
}

#[test]
fn changes_of_attachments_macros_and_cards_ask_for_a_full_build() -> TestResult {
    let (dir, vault) = temp_vault(&[("Alpha.md", ALPHA), ("Beta.md", BETA)])?;
    write(&vault, "pic.png", [1u8, 2, 3])?;
    let out = dir.path().join("site");
    let changes: Vec<Box<dyn Fn() -> TestResult>> = vec![
        Box::new(|| write(&vault, "pic.png", [1u8, 2, 3, 4])),
        Box::new(|| write(&vault, "other.png", [1u8])),
        Box::new(|| write(&vault, "preamble.sty", "\\newcommand{\\R}{\\mathbb{R}}\n")),
        Box::new(|| {
            write(
                &vault,
                "Alpha.md",
                format!("{ALPHA}\n#flashcards\n\nWhat is 1+1::2\n"),
            )
        }),
    ];
    for change in &changes {
        write(&vault, "Alpha.md", ALPHA)?;
        write(&vault, "pic.png", [1u8, 2, 3])?;
        let _ = std::fs::remove_file(vault.join("other.png"));
        let _ = std::fs::remove_file(vault.join("preamble.sty"));
        let (_, live) = Live::build(&options(&vault, out.clone()), &Quiet)?;
        let mut live = live.ok_or("a build for serve keeps its state")?;
        let site_before = files_under(&out)?;
        change()?;
        assert!(live.update(&options(&vault, out.clone()), None)?.is_none());
        assert!(
            files_under(&out)? == site_before,
            "a refused update wrote files"
        );
        // the state is spent: a later update, even of nothing, asks for a build
        assert!(live.update(&options(&vault, out.clone()), None)?.is_none());
    }
    Ok(())
}

/// Waits for the watcher to report the change just made (and for it to settle).
fn seen(
    changes: &std::sync::mpsc::Receiver<notebuild::serve::Seen>,
) -> Result<notebuild::serve::Changed, Error> {
    match notebuild::serve::next_change_within(changes, std::time::Duration::from_secs(10)) {
        Ok(Some(changed)) => Ok(changed),
        Ok(None) => Err(fail("the watcher is gone")),
        Err(()) => Err(fail("the watcher reported nothing within 10 s")),
    }
}

/// What a step does, whether the quick way takes it, and the change itself.
type Step<'a> = (&'a str, bool, Box<dyn Fn() -> TestResult + 'a>);

#[test]
fn with_the_watchers_paths_edits_are_read_alone_and_a_changed_attachment_is_a_full_build()
-> TestResult {
    let (dir, vault) = temp_vault(&[
        ("Alpha.md", ALPHA),
        ("Beta.md", BETA),
        ("sub/Gamma.md", GAMMA),
        ("Delta.md", DELTA),
    ])?;
    write(&vault, "img/pic.png", [1u8, 2, 3])?;
    let out = dir.path().join("site");
    let (_, live) = Live::build(&options(&vault, out.clone()), &Quiet)?;
    let mut live = live.ok_or("a build for serve keeps its state")?;
    let (_watcher, changes) = notebuild::serve::watch(&vault, std::slice::from_ref(&out))?;
    // (quick: whether the change is one the quick way takes)
    let steps: Vec<Step> = vec![
        (
            "a plain write",
            true,
            Box::new(|| write(&vault, "Alpha.md", format!("{ALPHA}\nWritten in place.\n"))),
        ),
        (
            "a save through a temporary file renamed over the note",
            true,
            Box::new(|| {
                write(&vault, "sub/Gamma.md.tmp", GAMMA.replace("3x$", "3x^2$"))?;
                Ok(std::fs::rename(
                    vault.join("sub/Gamma.md.tmp"),
                    vault.join("sub/Gamma.md"),
                )?)
            }),
        ),
        (
            "a save that first tries a file and removes it (vim's 4913)",
            true,
            Box::new(|| {
                write(&vault, "4913", "")?;
                std::fs::remove_file(vault.join("4913"))?;
                write(&vault, "Beta.md", format!("{BETA}\nSaved by vim.\n"))
            }),
        ),
        (
            "an edit in a hidden folder only",
            true,
            Box::new(|| {
                write(&vault, ".obsidian/workspace.json", "{}")?;
                write(
                    &vault,
                    "Delta.md",
                    format!("{DELTA}\nWith a hidden change.\n"),
                )
            }),
        ),
        (
            "a new note",
            true,
            Box::new(|| write(&vault, "New.md", "# New\n\n[[Alpha]]\n")),
        ),
        (
            "a renamed note",
            true,
            Box::new(|| {
                Ok(std::fs::rename(
                    vault.join("New.md"),
                    vault.join("sub/Renamed.md"),
                )?)
            }),
        ),
        (
            "a changed attachment",
            false,
            Box::new(|| write(&vault, "img/pic.png", [1u8, 2, 3, 4])),
        ),
        (
            "a deleted note",
            true,
            Box::new(|| Ok(std::fs::remove_file(vault.join("sub/Renamed.md"))?)),
        ),
        (
            "a new folder of notes",
            true,
            Box::new(|| write(&vault, "more/deep/Note.md", "# Deep\n")),
        ),
        (
            "a removed folder",
            true,
            Box::new(|| Ok(std::fs::remove_dir_all(vault.join("more"))?)),
        ),
        (
            "an edit after the full builds",
            true,
            Box::new(|| write(&vault, "Alpha.md", format!("{ALPHA}\nOnce more.\n"))),
        ),
    ];
    for (what, quick, step) in &steps {
        step()?;
        let changed = seen(&changes)?;
        let options = options(&vault, out.clone());
        match live.update(&options, Some(changed))? {
            Some(report) => {
                assert!(*quick, "{what}: took the quick way");
                let fresh = same_as_fresh(&vault, &out, dir.path())?;
                assert_eq!(report.diagnostics, fresh.diagnostics, "{what}");
                assert_eq!(report.pages, fresh.pages, "{what}");
            }
            None => {
                assert!(!*quick, "{what}: took a full build");
                let (_, state) = Live::build(&options, &Quiet)?;
                live = state.ok_or("a build for serve keeps its state")?;
                same_as_fresh(&vault, &out, dir.path())?;
            }
        }
    }
    Ok(())
}
