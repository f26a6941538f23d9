//! Golden output: the fixture vault `tests/golden/vault` (callouts, wikilinks, cards,
//! math with a matrix and `cases`, identities that pass, fail and are skipped) is built
//! and checked, and what notebuild writes is compared with the snapshots committed in
//! `tests/snapshots/`, so that any change in the rendering or in the report shows as a
//! diff to review.
//!
//! The snapshots are plain files checked by `insta`; `cargo insta` is not needed to run
//! the tests. When a snapshot differs, the test fails and insta writes the new output
//! beside it as `.snap.new` (review it, then rename it over the `.snap`, or run
//! `cargo insta review` where cargo-insta is installed). When the environment variable
//! `CI` is set, insta writes nothing (`INSTA_UPDATE=no`): a missing or different
//! snapshot only fails.
//!
//! What would differ between two runs or two machines is fixed or redacted: the notes'
//! modification times (a note without `date:` is dated by its file) are set to one
//! instant, and the rounding-level errors of passing identities (`1.4e-16`), which
//! depend on the floating-point kernels the CPU selects, are redacted. Everything else,
//! counterexamples included, is fixed by the seed.

#[allow(dead_code)]
mod common;

use std::path::{Path, PathBuf};

use common::{Error, TestResult, element_at, fail, notebuild};
use regex::Regex;
use serde_json::Value;

/// 2024-01-15 12:00 UTC.
const FIXED_MTIME: u64 = 1_705_320_000;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/vault")
}

/// A copy of the fixture vault in a temporary folder (so that nothing is written next
/// to the fixture), and that folder.
fn vault_copy() -> Result<(tempfile::TempDir, PathBuf), Error> {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("vault");
    let mut count = 0;
    // Every file gets one fixed modification time: a note without a `date:` must show
    // no date at all (never its file's time, which after a checkout is that day's).
    let noon = std::time::UNIX_EPOCH + std::time::Duration::from_secs(FIXED_MTIME);
    for rel in common::list_files(&fixture())? {
        common::write(&root, &rel, std::fs::read(fixture().join(&rel))?)?;
        std::fs::File::options()
            .write(true)
            .open(root.join(&rel))?
            .set_modified(noon)?;
        count += 1;
    }
    if count < 2 {
        return Err(fail(format!(
            "the fixture vault {} holds {count} files",
            fixture().display()
        )));
    }
    Ok((dir, root))
}

/// Numbers of the size of rounding errors (`1.4e-16`, `0.0e0`): how small they are is
/// stable, their digits are not.
fn redact_noise(text: &str) -> Result<String, Error> {
    let tiny = Regex::new(r"\b\d(?:\.\d+)?e-(?:[1-9]\d|9)\b|\b0\.0e0\b")?;
    Ok(tiny.replace_all(text, "[rounding]").into_owned())
}

/// The `<main>` element of a page, whole.
fn main_element(html: &str) -> Result<&str, Error> {
    let start = html
        .find("<main")
        .ok_or_else(|| fail("the page has no <main>"))?;
    element_at(html, start, "main").ok_or_else(|| fail("the <main> is not closed"))
}

#[test]
fn the_note_pages_render_as_before() -> TestResult {
    let (dir, root) = vault_copy()?;
    let out = dir.path().join("site");
    let run = common::build(dir.path(), &root, &out, &["--quiet"])?;
    run.expect_code(0)?;
    let site = common::Site::read(&out)?;
    for (page, name) in [
        ("quadratic-forms.html", "quadratic_forms_page"),
        ("symmetric-matrices.html", "symmetric_matrices_page"),
    ] {
        let html = site.page(page)?;
        let main = redact_noise(main_element(html)?)?;
        assert!(
            main.contains("<math"),
            "{page}: the page has no rendered math"
        );
        insta::assert_snapshot!(name, main);
    }
    Ok(())
}

#[test]
fn the_check_report_is_as_before() -> TestResult {
    let (dir, root) = vault_copy()?;
    let run = notebuild(
        dir.path(),
        [
            "check",
            root.to_str().ok_or("non-UTF-8 temp path")?,
            "--format",
            "json",
        ],
    )?;
    run.expect_code(1)?;
    let json: Value = serde_json::from_str(&run.stdout)
        .map_err(|e| fail(format!("stdout is not JSON ({e}):\n{}", run.stdout)))?;
    let summary = &json["summary"];
    assert!(
        summary["pass"].as_u64() >= Some(2)
            && summary["fail"].as_u64() >= Some(1)
            && summary["skip"].as_u64() >= Some(1),
        "the fixture has identities that pass, fail and skip: {summary}"
    );
    let pretty = serde_json::to_string_pretty(&json)?;
    insta::assert_snapshot!("check_json", redact_noise(&pretty)?);
    Ok(())
}

#[test]
fn noise_is_redacted_and_real_numbers_are_kept() -> TestResult {
    assert_eq!(
        redact_noise("largest error 1.4e-16, 0.0e0, 3e-9; kept: 1.739, 2.0e-3, 1e-8, 10e-20")?,
        "largest error [rounding], [rounding], [rounding]; kept: 1.739, 2.0e-3, 1e-8, 10e-20"
    );
    Ok(())
}
