//! Integration tests of `notebuild cards`: vaults in, Anki import files and JSON out.

#[allow(dead_code)]
mod common;

use std::path::Path;

use common::{Error, Run, TestResult, fail, notebuild, write};
use serde_json::Value;

fn cards(vault: &Path, args: &[&str]) -> Result<Run, Error> {
    let cwd = vault.parent().ok_or("the vault has no parent folder")?;
    let mut all = vec!["cards", vault.to_str().ok_or("non-UTF-8 temp path")?];
    all.extend_from_slice(args);
    notebuild(cwd, all)
}

fn cards_json(vault: &Path) -> Result<Value, Error> {
    let run = cards(vault, &["--format", "json"])?;
    run.expect_code(0)?;
    serde_json::from_str(&run.stdout).map_err(|e| fail(format!("not JSON ({e}):\n{}", run.stdout)))
}

fn vault(notes: &[(&str, &str)]) -> Result<(tempfile::TempDir, std::path::PathBuf), Error> {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("vault");
    std::fs::create_dir_all(&root)?;
    for (path, text) in notes {
        write(&root, path, text)?;
    }
    Ok((dir, root))
}

const DECK: &str = "---\ntags: [flashcards/math/calculus]\n---\n# Derivatives\n\n\
Derivative of $x^2$::$2x$ <!--SR:!2024-08-05,3,250-->\n\n\
Sine and cosine:::$\\sin' = \\cos$\n<!--SR:!2024-08-01,1,230!2024-08-02,4,270-->\n\n\
The gradient of\n$\\mathbf{a}^T\\mathbf{x}$\n?\n$\\mathbf{a}^T$ in numerator layout\n\n\
The ==1;;Jacobian== of $\\mathbf{f}$ is ==2;;$m \\times n$;;shape==.\n\n\
`a::b` in code is no card, nor is $x::y$ in math.\n";

#[test]
fn json_lists_every_card_with_place_deck_and_schedule() -> TestResult {
    let (_dir, root) = vault(&[
        ("Calculus/Derivatives.md", DECK),
        ("Untagged.md", "Q::A is no card without the tag\n"),
    ])?;
    let json = cards_json(&root)?;
    let list = json["cards"].as_array().ok_or("no cards")?;
    // 1 basic, 2 siblings, 1 multi-line, 2 clozes.
    assert_eq!(list.len(), 6, "{json:#}");
    for c in list {
        assert_eq!(c["file"], "Calculus/Derivatives.md");
        assert_eq!(c["deck"], "flashcards/math/calculus");
        assert!(c["id"].as_str().is_some_and(|id| id.len() == 16));
    }
    assert_eq!(list[0]["line"], 6);
    assert_eq!(list[0]["front"], "Derivative of $x^2$");
    assert_eq!(list[0]["back"], "$2x$");
    assert_eq!(list[0]["schedule"]["due"], "2024-08-05");
    assert_eq!(list[1]["kind"], "basic");
    assert_eq!(list[2]["kind"], "reversed");
    assert_eq!(list[2]["schedule"]["interval"], 4, "the second `!` entry");
    assert_eq!(list[2]["schedule"]["ease"], 270);
    assert_eq!(
        list[3]["line"], 11,
        "a multi-line card starts at its first line"
    );
    assert_eq!(
        list[3]["front"],
        "The gradient of\n$\\mathbf{a}^T\\mathbf{x}$"
    );
    assert!(list[3]["schedule"].is_null(), "a new card");
    assert_eq!(list[4]["kind"], "cloze");
    assert_eq!(json["summary"]["cards"], 6);
    Ok(())
}

#[test]
fn anki_export_is_an_importable_text_file() -> TestResult {
    let (_dir, root) = vault(&[("Calculus/Derivatives.md", DECK)])?;
    let run = cards(&root, &["--format", "anki"])?;
    run.expect_code(0)?;
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        &lines[..6],
        [
            "#separator:tab",
            "#html:true",
            "#guid column:1",
            "#notetype column:2",
            "#deck column:3",
            "#tags column:4"
        ]
    );
    let rows: Vec<Vec<&str>> = lines[6..].iter().map(|l| l.split('\t').collect()).collect();
    // Siblings make one Anki note: basic, reversed pair, multi-line, cloze.
    assert_eq!(rows.len(), 4, "{}", run.stdout);
    assert!(rows.iter().all(|r| r.len() == 6), "6 columns: {rows:?}");
    assert!(rows.iter().all(|r| r[2] == "flashcards::math::calculus"));
    assert_eq!(rows[0][1], "Basic");
    assert_eq!(rows[0][4], "Derivative of \\(x^2\\)");
    assert_eq!(rows[0][5], "\\(2x\\)");
    assert_eq!(rows[1][1], "Basic (and reversed card)");
    assert_eq!(
        rows[2][4],
        "The gradient of<br>\\(\\mathbf{a}^T\\mathbf{x}\\)"
    );
    assert_eq!(rows[3][1], "Cloze");
    assert_eq!(
        rows[3][4],
        "The {{c1::Jacobian}} of \\(\\mathbf{f}\\) is {{c2::\\(m \\times n\\)::shape}}."
    );
    // GUIDs are the cards' stable ids: the same after an unrelated edit.
    let json = cards_json(&root)?;
    assert_eq!(rows[0][0], json["cards"][0]["id"]);
    let edited = DECK.replace(
        "# Derivatives",
        "# Derivatives, revised\n\nA new paragraph.",
    );
    write(&root, "Calculus/Derivatives.md", edited)?;
    let again = cards(&root, &["--format", "anki"])?;
    let guids = |s: &str| -> Vec<String> {
        s.lines()
            .skip(6)
            .filter_map(|l| l.split('\t').next().map(str::to_string))
            .collect()
    };
    assert_eq!(guids(&run.stdout), guids(&again.stdout));
    Ok(())
}

#[test]
fn card_tags_are_configurable_and_output_can_go_to_a_file() -> TestResult {
    let (dir, root) = vault(&[(
        "Drill.md",
        "#drill/linear-algebra\n\nTrace of $AB$::equals the trace of $BA$\n",
    )])?;
    let none = cards_json(&root)?;
    assert_eq!(none["summary"]["cards"], 0, "not tagged #flashcards");
    let out = dir.path().join("deck.txt");
    let run = cards(
        &root,
        &[
            "--card-tag",
            "drill",
            "--format",
            "anki",
            "-o",
            out.to_str().ok_or("path")?,
        ],
    )?;
    run.expect_code(0)?;
    let text = std::fs::read_to_string(&out)?;
    assert!(text.contains("\tdrill::linear-algebra\t"), "{text}");
    assert!(run.stderr.contains("1 card"), "{}", run.stderr);
    Ok(())
}

#[test]
fn the_seed_notes_callout_cards_are_found() -> TestResult {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/seed/matrix-calculus.md");
    if !seed.is_file() {
        println!("skipped: {} does not exist", seed.display());
        return Ok(());
    }
    let (_dir, root) = vault(&[("matrix-calculus.md", &std::fs::read_to_string(&seed)?)])?;
    let json = cards_json(&root)?;
    let list = json["cards"].as_array().ok_or("no cards")?;
    assert_eq!(list.len(), 7, "{json:#}");
    for c in list {
        assert_eq!(c["deck"], "flashcards");
        assert_eq!(c["schedule"]["due"], "2024-08-05");
        assert!(!c["back"].as_str().unwrap_or_default().is_empty(), "{c}");
    }
    Ok(())
}

#[test]
fn bundled_vault_cards() -> TestResult {
    let json = cards_json(&common::bundled_vault())?;
    assert_eq!(json["summary"]["cards"], 28, "{:#}", json["summary"]);
    Ok(())
}
