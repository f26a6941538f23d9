//! The verdict cache (`.notebuild/verdicts.json` at the vault's root): a warm run reports
//! exactly what a cold one does, an edited note is checked again, a corrupt cache is
//! ignored and rewritten, `--no-cache` neither reads nor writes it, and `build` and
//! `check` share it.

#[allow(dead_code)]
mod common;

use std::path::Path;

use common::{Error, TestResult, fail, notebuild, temp_vault, write};

const CALCULUS: &str = "---\ntitle: Calculus\n---\n# Rules\n\n\
    The power rule: $\\frac{d}{dx} x^3 = 3x^2$.\n\n\
    A wrong one: $$\\frac{d}{dx} \\sin(2x) = \\cos(2x)$$\n\n\
    Abstract: $\\frac{d}{dx} f(g(x)) = f'(g(x)) g'(x)$\n";

const VECTORS: &str = "Numerator layout.\n\n\
    $$\\frac{\\partial}{\\partial \\mathbf{x}} (\\mathbf{a}^T \\mathbf{x}) = \\mathbf{a}^T$$\n";

fn cache_file(vault: &Path) -> std::path::PathBuf {
    vault.join(".notebuild/verdicts.json")
}

/// `check VAULT --format json [args]`: its stdout and exit code.
fn check(vault: &Path, args: &[&str]) -> Result<(String, Option<i32>), Error> {
    let cwd = vault.parent().ok_or("the vault has no parent folder")?;
    let mut all = vec![
        "check",
        vault.to_str().ok_or("non-UTF-8 temp path")?,
        "--format",
        "json",
    ];
    all.extend_from_slice(args);
    let run = notebuild(cwd, all)?;
    if run.stdout.trim().is_empty() {
        return Err(fail(format!("no report; stderr:\n{}", run.stderr)));
    }
    Ok((run.stdout, run.code))
}

#[test]
fn a_warm_check_reports_exactly_what_a_cold_one_does() -> TestResult {
    let (_dir, vault) = temp_vault(&[("calculus.md", CALCULUS), ("sub/vectors.md", VECTORS)])?;
    let uncached = check(&vault, &["--no-cache"])?;
    assert!(
        !vault.join(".notebuild").exists(),
        "--no-cache wrote a cache"
    );
    let cold = check(&vault, &[])?;
    assert!(cache_file(&vault).is_file(), "no cache was written");
    let warm = check(&vault, &[])?;
    assert_eq!(cold, uncached);
    assert_eq!(warm, cold);
    // The cache's folder ignores itself in git.
    let ignore = std::fs::read_to_string(vault.join(".notebuild/.gitignore"))?;
    assert!(ignore.lines().any(|l| l == "*"));
    Ok(())
}

#[test]
fn an_edited_note_and_changed_settings_are_checked_again() -> TestResult {
    let (_dir, vault) = temp_vault(&[("calculus.md", CALCULUS), ("sub/vectors.md", VECTORS)])?;
    check(&vault, &[])?;
    write(
        &vault,
        "calculus.md",
        CALCULUS
            .replace("3x^2", "3x^3")
            .replace("\\cos(2x)$$", "2\\cos(2x)$$"),
    )?;
    let warm = check(&vault, &[])?;
    let fresh = check(&vault, &["--no-cache"])?;
    assert_eq!(warm, fresh);
    assert!(warm.0.contains("3x^3"), "{}", warm.0);
    // Another seed is another key.
    let seeded = check(&vault, &["--seed", "7"])?;
    assert_eq!(seeded, check(&vault, &["--seed", "7", "--no-cache"])?);
    assert!(seeded.0.contains("\"seed\": 7") || seeded.0.contains("\"seed\":7"));
    Ok(())
}

#[test]
fn a_corrupt_cache_is_ignored_and_written_again() -> TestResult {
    let (_dir, vault) = temp_vault(&[("calculus.md", CALCULUS)])?;
    let fresh = check(&vault, &["--no-cache"])?;
    for garbage in [
        &b"{\"format\": 1, \"notes\": [tru"[..],
        b"\xff\xfe\x00",
        b"",
    ] {
        write(&vault, ".notebuild/verdicts.json", garbage)?;
        assert_eq!(check(&vault, &[])?, fresh);
        let text = std::fs::read_to_string(cache_file(&vault))?;
        serde_json::from_str::<serde_json::Value>(&text)
            .map_err(|e| fail(format!("the cache was not rewritten: {e}")))?;
    }
    // A cache that parses but holds nonsense for a key is not trusted either.
    check(&vault, &[])?;
    let text = std::fs::read_to_string(cache_file(&vault))?;
    let mut json: serde_json::Value = serde_json::from_str(&text)?;
    let notes = json["notes"]
        .as_object_mut()
        .ok_or("no notes in the cache")?;
    for entries in notes.values_mut() {
        for entry in entries.as_array_mut().ok_or("entries are not a list")? {
            entry["status"] = "maybe".into();
        }
    }
    std::fs::write(cache_file(&vault), serde_json::to_vec(&json)?)?;
    assert_eq!(check(&vault, &[])?, fresh);
    // Nor one whose places are outside the note (the human report underlines them).
    check(&vault, &[])?;
    let text = std::fs::read_to_string(cache_file(&vault))?;
    let mut json: serde_json::Value = serde_json::from_str(&text)?;
    let notes = json["notes"]
        .as_object_mut()
        .ok_or("no notes in the cache")?;
    for entries in notes.values_mut() {
        for entry in entries.as_array_mut().ok_or("entries are not a list")? {
            entry["start"] = 1_000_000.into();
            entry["end"] = 1_000_001.into();
        }
    }
    std::fs::write(cache_file(&vault), serde_json::to_vec(&json)?)?;
    assert_eq!(check(&vault, &[])?, fresh);
    let cwd = vault.parent().ok_or("no parent")?;
    let human = notebuild(cwd, ["check", vault.to_str().ok_or("path")?])?;
    assert_eq!(human.code, Some(1), "{}", human.stderr);
    Ok(())
}

#[test]
fn no_cache_bypasses_it_and_build_shares_it() -> TestResult {
    let (dir, vault) = temp_vault(&[("calculus.md", CALCULUS)])?;
    let fresh = check(&vault, &["--no-cache"])?;
    check(&vault, &[])?;
    // Mark every cached message: a run that reads the cache shows the mark.
    let text = std::fs::read_to_string(cache_file(&vault))?;
    let marked = text.replace("\"message\":\"", "\"message\":\"MARK ");
    assert_ne!(marked, text);
    std::fs::write(cache_file(&vault), &marked)?;
    let (cached, _) = check(&vault, &[])?;
    assert!(
        cached.contains("MARK "),
        "the cache was not read:\n{cached}"
    );
    assert_eq!(check(&vault, &["--no-cache"])?, fresh);
    assert_eq!(std::fs::read_to_string(cache_file(&vault))?, marked);
    // `build` reads the same cache, and with --no-cache does not.
    let out = dir.path().join("site");
    let run = common::build(dir.path(), &vault, &out, &[])?;
    run.expect_code(0)?;
    let report = std::fs::read_to_string(out.join("checks.html"))?;
    assert!(report.contains("MARK "), "build did not read the cache");
    let run = common::build(dir.path(), &vault, &out, &["--no-cache"])?;
    run.expect_code(0)?;
    let report = std::fs::read_to_string(out.join("checks.html"))?;
    assert!(!report.contains("MARK "), "build --no-cache read the cache");
    // The cache is never part of the site.
    assert!(!out.join(".notebuild").exists());
    Ok(())
}
