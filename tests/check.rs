//! Integration tests of `notebuild check` and of the verdicts on the site: real vaults
//! in, terminal / JSON / GitHub output and HTML out.

#[allow(dead_code)]
mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{Error, Run, TestResult, fail, notebuild, temp_vault, write};
use serde_json::Value;

/// Runs `notebuild check VAULT [args]` in VAULT's parent folder.
fn check(vault: &Path, args: &[&str]) -> Result<Run, Error> {
    let cwd = vault.parent().ok_or("the vault has no parent folder")?;
    let mut all = vec!["check", vault.to_str().ok_or("non-UTF-8 temp path")?];
    all.extend_from_slice(args);
    notebuild(cwd, all)
}

/// `check --format json`, parsed.
fn check_json(vault: &Path, args: &[&str]) -> Result<(Run, Value), Error> {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let run = check(vault, &all)?;
    let json: Value = serde_json::from_str(&run.stdout).map_err(|e| {
        fail(format!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        ))
    })?;
    Ok((run, json))
}

/// The identities of a JSON report.
fn identities(json: &Value) -> Result<&Vec<Value>, Error> {
    json["identities"]
        .as_array()
        .ok_or_else(|| fail(format!("no identities array in {json}")))
}

/// The identity reported at `file:line`, or an error listing what was found.
fn at<'a>(json: &'a Value, file: &str, line: u64) -> Result<&'a Value, Error> {
    let all = identities(json)?;
    all.iter()
        .find(|i| i["file"] == file && i["line"] == line)
        .ok_or_else(|| {
            let found: Vec<String> = all
                .iter()
                .map(|i| format!("{}:{} {}", i["file"], i["line"], i["status"]))
                .collect();
            fail(format!(
                "no identity at {file}:{line}; found {}",
                found.join(", ")
            ))
        })
}

fn status_at(json: &Value, file: &str, line: u64) -> Result<String, Error> {
    Ok(at(json, file, line)?["status"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// Asserts the status of each `(line, status)` of `file`.
fn expect_statuses(json: &Value, file: &str, expected: &[(u64, &str)]) -> TestResult {
    let mut wrong = Vec::new();
    for &(line, status) in expected {
        let got = status_at(json, file, line)?;
        if got != status {
            let i = at(json, file, line)?;
            wrong.push(format!(
                "{file}:{line}: expected {status}, got {got}: {} ({})",
                i["latex"], i["message"]
            ));
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(fail(wrong.join("\n")))
    }
}

// =======================================================================================
// The public corpus and the seed note (in ../shared: skipped without it, failing in CI)
// =======================================================================================

/// Every true identity of the corpus verified, every false one caught, none skipped.
/// Scored in Rust with the scorer's rules (report entries matched by file and line;
/// several on one line: any fail → fail, all pass → pass, else skip), and by the
/// corpus's own `score.py` when Python is there.
#[test]
fn the_public_corpus_scores_without_a_wrong_verdict() -> TestResult {
    let Some(corpus) = common::shared("corpus")? else {
        return Ok(());
    };
    // --no-cache: the shared corpus is read, never written.
    let (run, json) = check_json(&corpus.join("vault"), &["--no-cache"])?;
    // The corpus holds false identities, so the check fails.
    run.expect_code(1)?;
    let key: Value = serde_json::from_str(&std::fs::read_to_string(corpus.join("key.json"))?)?;
    let key = key.as_array().ok_or("key.json is not a list")?;
    let mut by_line: BTreeMap<(String, u64), Vec<String>> = BTreeMap::new();
    for i in identities(&json)? {
        let file = i["file"].as_str().unwrap_or_default().to_string();
        let line = i["line"].as_u64().unwrap_or_default();
        let status = i["status"].as_str().unwrap_or_default().to_string();
        by_line.entry((file, line)).or_default().push(status);
    }
    let mut problems = Vec::new();
    let (mut verified, mut caught) = (0, 0);
    for k in key {
        let file = k["file"].as_str().unwrap_or_default().to_string();
        let line = k["line"].as_u64().unwrap_or_default();
        let expect = k["expect"].as_str().unwrap_or_default();
        let got = match by_line.get(&(file.clone(), line)) {
            None => "missed",
            Some(s) if s.iter().any(|s| s == "fail") => "fail",
            Some(s) if s.iter().all(|s| s == "pass") => "pass",
            Some(_) => "skip",
        };
        match (expect, got) {
            ("pass", "pass") => verified += 1,
            ("fail", "fail") => caught += 1,
            _ => problems.push(format!(
                "{file}:{line} expected {expect}, got {got} ({})",
                k["why"]
            )),
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} key entries wrong:\n{}",
        problems.len(),
        key.len(),
        problems.join("\n")
    );
    assert!(verified + caught == key.len() && !key.is_empty());

    let report = tempfile::NamedTempFile::new()?;
    std::fs::write(report.path(), &run.stdout)?;
    match std::process::Command::new("python3")
        .arg(corpus.join("score.py"))
        .arg(corpus.join("key.json"))
        .arg(report.path())
        .output()
    {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            let last = text.lines().last().unwrap_or_default();
            let n_true = key.iter().filter(|k| k["expect"] == "pass").count();
            let n_false = key.len() - n_true;
            assert_eq!(
                last,
                format!(
                    "true verified {n_true}/{n_true}, false caught {n_false}/{n_false}, \
                     skipped-or-missed 0, wrong verdicts 0"
                ),
                "score.py says:\n{text}"
            );
        }
        Err(_) => println!("score.py not run: no python3"),
    }
    Ok(())
}

/// The seed note: every concrete identity verified (the element-wise table, the four
/// scalar-expansion rules written twice, the ReLU gradient, `2A diag(Ax+b) A`), the
/// chain rules with abstract `f`, `g` skipped with that reason, nothing fails.
#[test]
fn the_seed_notes_concrete_identities_pass_and_abstract_ones_skip() -> TestResult {
    let Some(seed) = common::shared("seed/matrix-calculus.md")? else {
        return Ok(());
    };
    let text = std::fs::read_to_string(seed)?;
    let (_dir, root) = temp_vault(&[("matrix-calculus.md", &text)])?;
    let (run, json) = check_json(&root, &[])?;
    run.expect_code(0)?;
    assert_eq!(json["summary"]["fail"], 0, "{json}");
    let f = "matrix-calculus.md";
    let concrete: Vec<(u64, &str)> = [
        48, 49, 50, 51, // scalar expansion
        110, 111, 112, 113, // element-wise table
        123, 124, 125, 126, // scalar expansion, again
        147, 153, // ReLU gradient
        186, // 2A diag(Ax+b) A
    ]
    .into_iter()
    .map(|l| (l, "pass"))
    .collect();
    expect_statuses(&json, f, &concrete)?;
    for line in [78, 79, 136, 137] {
        let i = at(&json, f, line)?;
        assert_eq!(i["status"], "skip", "{i}");
        assert_eq!(i["kind"], "abstract", "{i}");
        assert!(
            i["message"]
                .as_str()
                .is_some_and(|m| m.contains("abstract function")),
            "the reason names the abstract function: {i}"
        );
    }
    // Every skip says why.
    for i in identities(&json)? {
        if i["status"] == "skip" {
            assert!(i["message"].as_str().is_some_and(|m| m.len() > 10), "{i}");
        }
    }
    Ok(())
}

// =======================================================================================
// Output formats and exit codes
// =======================================================================================

const WRONG: &str = "---\ntitle: Mistakes\n---\n# Mistakes\n\nA true one:\n\n\
$$\\frac{\\partial}{\\partial \\mathbf{x}}(\\mathbf{x}^T A \\mathbf{x}) = \\mathbf{x}^T(A+A^T)$$\n\n\
> [!warning] A wrong one\n\
> The classic slip: $\\frac{\\partial}{\\partial \\mathbf{x}}(\\mathbf{x}^T A \\mathbf{x}) = 2\\mathbf{x}^T A$, for any square $A$.\n";

#[test]
fn human_output_points_at_the_identity_like_a_compiler() -> TestResult {
    let (_dir, root) = temp_vault(&[("Sub folder/Mistakes.md", WRONG)])?;
    let run = check(&root, &[])?;
    run.expect_code(1)?;
    let out = format!("{}{}", run.stdout, run.stderr);
    // Line 11, after `> The classic slip: $`: column 22.
    assert!(
        out.contains("Sub folder/Mistakes.md:11:22"),
        "file:line:col of the left-hand side:\n{out}"
    );
    assert!(
        out.contains("11 | > The classic slip:"),
        "the source line:\n{out}"
    );
    let caret_line = out
        .lines()
        .find(|l| l.trim_start().starts_with('|') && l.contains('^'))
        .ok_or_else(|| fail(format!("no caret line:\n{out}")))?;
    let bar = caret_line.find('|').unwrap_or_default();
    let source_line = out
        .lines()
        .find(|l| l.contains("11 | > The classic slip:"))
        .unwrap_or_default();
    let source_bar = source_line.find('|').unwrap_or_default();
    let caret_col = caret_line.find('^').unwrap_or_default() - bar;
    let frac_col = source_line.find("\\frac").unwrap_or_default() - source_bar;
    assert_eq!(caret_col, frac_col, "the caret is under `\\frac`:\n{out}");
    assert!(out.contains("symmetric"), "the hint:\n{out}");
    assert!(out.contains("--seed"), "how to reproduce:\n{out}");
    assert!(
        out.contains("1 failed") && out.contains("1 passed"),
        "a summary line:\n{out}"
    );
    Ok(())
}

#[test]
fn json_report_has_the_documented_fields() -> TestResult {
    let (_dir, root) = temp_vault(&[("Sub folder/Mistakes.md", WRONG)])?;
    let (run, json) = check_json(&root, &[])?;
    run.expect_code(1)?;
    assert_eq!(json["version"], 1);
    let all = identities(&json)?;
    assert_eq!(all.len(), 2, "{json}");
    for i in all {
        for field in [
            "file",
            "line",
            "column",
            "latex",
            "status",
            "kind",
            "message",
            "max_error",
            "trials",
            "seed",
        ] {
            assert!(i.get(field).is_some(), "{field} missing in {i}");
        }
        assert_eq!(i["file"], "Sub folder/Mistakes.md");
        assert!(i["trials"].as_u64().is_some_and(|t| t >= 5), "{i}");
    }
    let good = at(&json, "Sub folder/Mistakes.md", 8)?;
    assert_eq!(good["status"], "pass");
    assert_eq!(good["column"], 3);
    let bad = at(&json, "Sub folder/Mistakes.md", 11)?;
    assert_eq!(bad["status"], "fail");
    assert_eq!(bad["kind"], "value");
    assert_eq!(bad["column"], 22);
    assert!(
        bad["latex"]
            .as_str()
            .is_some_and(|l| l.starts_with("\\frac{\\partial}")),
        "{bad}"
    );
    assert!(bad["max_error"].as_f64().is_some_and(|e| e > 1e-3), "{bad}");
    assert_eq!(json["summary"]["pass"], 1);
    assert_eq!(json["summary"]["fail"], 1);
    assert_eq!(json["summary"]["skip"], 0);
    Ok(())
}

/// A pass, a fail and a skip (abstract functions: a product rule that holds only for
/// some functions), one per line.
const READINGS: &str = "$\\frac{\\partial}{\\partial \\mathbf{x}}(\\mathbf{a}^T \\mathbf{x}) = \\mathbf{a}^T$\n\n$\\frac{d}{dt}(t^2) = 3t$\n\n$\\frac{d}{dx}\\left(f(x) g(x)\\right) = f'(x) g'(x)$\n";

#[test]
fn json_report_gives_the_reading_of_a_verdict_and_the_reason_of_a_skip() -> TestResult {
    let (_dir, root) = temp_vault(&[("Readings.md", READINGS)])?;
    let (run, json) = check_json(&root, &[])?;
    run.expect_code(1)?;
    let pass = at(&json, "Readings.md", 1)?;
    assert_eq!(pass["status"], "pass", "{pass}");
    assert_eq!(pass["reason"], Value::Null, "{pass}");
    assert_eq!(pass["reading"]["layout"], "numerator", "{pass}");
    assert_eq!(pass["reading"]["kinds"]["x"], "vector", "{pass}");
    assert_eq!(pass["reading"]["kinds"]["a"], "vector", "{pass}");
    let fail = at(&json, "Readings.md", 3)?;
    assert_eq!(fail["status"], "fail", "{fail}");
    assert_eq!(fail["reason"], Value::Null, "{fail}");
    assert_eq!(fail["reading"]["layout"], "numerator", "{fail}");
    assert_eq!(fail["reading"]["kinds"]["t"], "scalar", "{fail}");
    let skip = at(&json, "Readings.md", 5)?;
    assert_eq!(skip["status"], "skip", "{skip}");
    assert!(skip["kind"].is_string(), "{skip}");
    assert_eq!(skip["reason"], skip["kind"], "{skip}");
    assert_eq!(skip["reading"], Value::Null, "{skip}");
    // the new keys come last: the keys before them are the report's first version
    let pos = |key: &str| run.stdout.find(&format!("\"{key}\":"));
    assert!(
        pos("counterexample") < pos("reason") && pos("reason") < pos("reading"),
        "{}",
        run.stdout
    );
    // under the denominator layout, the reading says so
    let (_, json) = check_json(&root, &["--layout", "denominator"])?;
    let i = at(&json, "Readings.md", 3)?;
    assert_eq!(i["reading"]["layout"], "denominator", "{i}");
    Ok(())
}

#[test]
fn github_format_annotates_the_failure() -> TestResult {
    let (_dir, root) = temp_vault(&[("Mistakes.md", WRONG)])?;
    let run = check(&root, &["--format", "github"])?;
    run.expect_code(1)?;
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("::error "))
        .ok_or_else(|| fail(format!("no ::error annotation:\n{}", run.stdout)))?;
    assert!(
        line.contains("Mistakes.md,line=11,col=22"),
        "file and line of the annotation: {line}"
    );
    assert!(line.contains("symmetric"), "{line}");
    Ok(())
}

#[test]
fn exit_codes_distinguish_pass_fail_and_usage_errors() -> TestResult {
    let (_dir, root) = temp_vault(&[(
        "Good.md",
        "$$\\frac{d}{dx} \\sin x = \\cos x$$\n\n$\\nabla_{\\mathbf{x}} \\|\\mathbf{x}\\|_2^2 = 2\\mathbf{x}^T$\n",
    )])?;
    check(&root, &[])?.expect_code(0)?;
    check(&root.join("no such folder"), &[])?.expect_code(2)?;
    check(&root, &["--trials", "2"])?.expect_code(2)?;
    check(&root, &["--format", "xml"])?.expect_code(2)?;
    Ok(())
}

#[test]
fn the_seed_option_reproduces_a_failure() -> TestResult {
    let (_dir, root) = temp_vault(&[("Mistakes.md", WRONG)])?;
    let (_, a) = check_json(&root, &["--seed", "12345"])?;
    let (_, b) = check_json(&root, &["--seed", "12345"])?;
    let (_, c) = check_json(&root, &["--seed", "999"])?;
    let bad = |j: &Value| -> Result<Value, Error> { Ok(at(j, "Mistakes.md", 11)?.clone()) };
    assert_eq!(bad(&a)?, bad(&b)?, "same seed, same report");
    assert_eq!(bad(&a)?["seed"], 12345);
    assert_eq!(bad(&c)?["status"], "fail", "another seed, same verdict");
    assert_ne!(
        bad(&a)?["max_error"],
        bad(&c)?["max_error"],
        "another seed, other numbers"
    );
    Ok(())
}

// =======================================================================================
// What the checker understands, end to end (true and false statements of each kind)
// =======================================================================================

#[test]
fn layout_comes_from_front_matter_or_the_command_line() -> TestResult {
    let numerator = "$$\\frac{\\partial}{\\partial \\mathbf{x}} (\\mathbf{a}^T \\mathbf{x}) = \\mathbf{a}^T$$\n\n\
$$\\frac{\\partial}{\\partial \\mathbf{x}} (\\mathbf{a}^T \\mathbf{x}) = \\mathbf{a}$$\n";
    // a note that states no layout, alone in its vault: either layout
    let (_dir, root) = temp_vault(&[("Num.md", numerator)])?;
    let (run, json) = check_json(&root, &[])?;
    run.expect_code(0)?;
    expect_statuses(&json, "Num.md", &[(1, "pass"), (3, "pass")])?;
    let either = &at(&json, "Num.md", 3)?["reading"]["layout"];
    assert_eq!(either, "denominator", "the pass names its reading");
    // another note's front matter is that note's only
    let denominator = format!("---\nlayout: denominator\n---\n{numerator}");
    let (_dir, root) = temp_vault(&[("Num.md", numerator), ("Den.md", &denominator)])?;
    let (_, json) = check_json(&root, &[])?;
    expect_statuses(&json, "Num.md", &[(1, "pass"), (3, "pass")])?;
    expect_statuses(&json, "Den.md", &[(4, "fail"), (6, "pass")])?;
    let (_, json) = check_json(&root, &["--layout", "numerator"])?;
    expect_statuses(&json, "Num.md", &[(1, "pass"), (3, "fail")])?;
    expect_statuses(&json, "Den.md", &[(4, "fail"), (6, "pass")])?;
    let hint = at(&json, "Num.md", 3)?["hint"].as_str().unwrap_or_default();
    assert!(
        hint.contains("denominator"),
        "the transposed answer is named as the denominator-layout one: {hint}"
    );
    Ok(())
}

/// A layout stated in a note's prose ("numerator layout") is that note's only: the
/// notes that state none may be read in either.
#[test]
fn layout_stated_in_prose() -> TestResult {
    let identities = "$$\\frac{\\partial}{\\partial \\mathbf{x}} (\\mathbf{a}^T \\mathbf{x}) = \\mathbf{a}^T$$\n\n\
$$\\frac{\\partial}{\\partial \\mathbf{x}} (\\mathbf{a}^T \\mathbf{x}) = \\mathbf{a}$$\n";
    let row = format!("We write gradients in numerator layout.\n\n{identities}");
    let column = format!("Here gradients are columns (denominator layout).\n\n{identities}");
    let (_dir, root) = temp_vault(&[
        ("Row.md", &row),
        ("Column.md", &column),
        ("Free.md", identities),
    ])?;
    let (_, json) = check_json(&root, &[])?;
    expect_statuses(&json, "Row.md", &[(3, "pass"), (5, "fail")])?;
    expect_statuses(&json, "Column.md", &[(3, "fail"), (5, "pass")])?;
    expect_statuses(&json, "Free.md", &[(1, "pass"), (3, "pass")])?;
    Ok(())
}

/// `notebuild.yaml` at the vault's root sets the layout (and the seed) for the whole
/// vault; a flag wins over it, and a note's front matter over both.
#[test]
fn the_vault_settings_file_sets_the_layout_and_flags_win() -> TestResult {
    let numerator = "$$\\frac{\\partial}{\\partial \\mathbf{x}} (\\mathbf{a}^T \\mathbf{x}) = \\mathbf{a}^T$$\n";
    let pinned = format!("---\nlayout: numerator\n---\n{numerator}");
    let (_dir, root) = temp_vault(&[
        ("notebuild.yaml", "layout: denominator\nseed: 99\n"),
        ("Num.md", numerator),
        ("Pinned.md", &pinned),
    ])?;
    let (run, json) = check_json(&root, &[])?;
    run.expect_code(1)?;
    expect_statuses(&json, "Num.md", &[(1, "fail")])?;
    expect_statuses(&json, "Pinned.md", &[(4, "pass")])?;
    assert_eq!(
        at(&json, "Num.md", 1)?["seed"],
        99,
        "the file's seed is used"
    );
    let (run, json) = check_json(&root, &["--layout", "numerator", "--seed", "5"])?;
    run.expect_code(0)?;
    expect_statuses(&json, "Num.md", &[(1, "pass")])?;
    assert_eq!(at(&json, "Num.md", 1)?["seed"], 5, "the flag wins");

    // a mistake in the file stops the command with its place and the valid keys
    write(&root, "notebuild.yaml", "seed: 1\nlayuot: denominator\n")?;
    let run = check(&root, &[])?;
    run.expect_code(2)?;
    run.expect_diagnostic("notebuild.yaml:2", &["layuot", "layout"])?;
    Ok(())
}

#[test]
fn definitions_earlier_in_the_note_are_used() -> TestResult {
    let note = "Let $\\mathbf{s} = \\mathrm{softmax}(\\mathbf{x})$.\n\n\
$$\\frac{\\partial \\mathbf{s}}{\\partial \\mathbf{x}} = \\operatorname{diag}(\\mathbf{s}) - \\mathbf{s}\\mathbf{s}^T$$\n\n\
$$\\frac{\\partial \\mathbf{s}}{\\partial \\mathbf{x}} = \\operatorname{diag}(\\mathbf{s})$$\n\n\
where $z = \\mathbf{w}^T\\mathbf{x} + b$:\n\n\
$$\\frac{\\partial z}{\\partial \\mathbf{w}} = \\mathbf{x}^T$$\n\n\
$$\\frac{\\partial z}{\\partial \\mathbf{w}} = \\mathbf{w}^T$$\n";
    let (_dir, root) = temp_vault(&[("Softmax.md", note)])?;
    let (_, json) = check_json(&root, &[])?;
    expect_statuses(
        &json,
        "Softmax.md",
        &[(3, "pass"), (5, "fail"), (9, "pass"), (11, "fail")],
    )?;
    Ok(())
}

#[test]
fn chains_aligned_rows_and_cases_are_each_checked() -> TestResult {
    let note = "$$\\frac{d}{dx} x^3 = 3x^2 = 3 x \\cdot x$$ $$\\frac{d}{dx} x^3 = 3x^2 = 2 x \\cdot x$$\n\n\
$$\\begin{aligned}\n\
\\frac{\\partial}{\\partial \\mathbf{x}} \\|A\\mathbf{x} - \\mathbf{b}\\|^2 &= 2(A\\mathbf{x} - \\mathbf{b})^T A \\\\\n\
&= 2\\mathbf{x}^T A^T A - 2\\mathbf{b}^T A \\\\\n\
&= 2\\mathbf{x}^T A^T A\n\
\\end{aligned}$$\n\n\
$$\\frac{d}{dx} |x| = \\begin{cases} 1 & x > 0 \\\\ -1 & x < 0 \\end{cases}$$\n\n\
$$\\frac{d}{dx} \\max(0, x) = \\begin{cases} 1 & x > 0 \\\\ 1 & x < 0 \\end{cases}$$\n";
    let (_dir, root) = temp_vault(&[("Chains.md", note)])?;
    let (_, json) = check_json(&root, &[])?;
    let lines: Vec<(u64, String)> = identities(&json)?
        .iter()
        .map(|i| {
            (
                i["line"].as_u64().unwrap_or_default(),
                i["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let statuses = |line: u64| -> Vec<&str> {
        lines
            .iter()
            .filter(|(l, _)| *l == line)
            .map(|(_, s)| s.as_str())
            .collect()
    };
    // A chain is one identity whose every `=` is checked: the second fails at its
    // second step.
    assert_eq!(statuses(1), ["pass", "fail"], "chains");
    let chain = identities(&json)?
        .iter()
        .find(|i| i["line"] == 1 && i["status"] == "fail")
        .ok_or("no failing chain")?;
    assert!(
        chain["message"]
            .as_str()
            .is_some_and(|m| m.contains("step 2") && m.contains("2 x \\cdot x")),
        "the failing step is named: {chain}"
    );
    // The rows of `aligned` are one chain, reported where it starts; the third `=`
    // (row 6) is the wrong one, and the report says so.
    assert_eq!(statuses(4), ["fail"], "aligned rows");
    let rows = at(&json, "Chains.md", 4)?;
    assert!(
        rows["message"]
            .as_str()
            .is_some_and(|m| m.contains("step 3")),
        "the wrong row is named: {rows}"
    );
    assert!(statuses(5).is_empty() && statuses(6).is_empty());
    assert_eq!(statuses(9), ["pass"], "cases: each branch where it holds");
    assert_eq!(statuses(11), ["fail"], "a wrong branch");
    Ok(())
}

#[test]
fn transposition_and_abstract_functions() -> TestResult {
    let note = "Numerator layout.\n\n$$\\frac{\\partial (A\\mathbf{x})}{\\partial \\mathbf{x}} = A$$\n\n\
$$\\frac{\\partial (A\\mathbf{x})}{\\partial \\mathbf{x}} = A^T$$\n\n\
$$\\frac{d}{dx} f(g(x)) = f'(g(x))\\, g'(x)$$\n\n\
$$\\frac{\\partial}{\\partial X} \\operatorname{tr}(AX) = A$$\n\n\
$$\\frac{\\partial}{\\partial X} \\log \\det X = X^{-1}$$\n";
    let (_dir, root) = temp_vault(&[("T.md", note)])?;
    let (_, json) = check_json(&root, &[])?;
    expect_statuses(
        &json,
        "T.md",
        &[
            (3, "pass"),
            (5, "fail"),
            (7, "pass"),
            (9, "pass"),
            (11, "pass"),
        ],
    )?;
    let transposed = at(&json, "T.md", 5)?;
    assert_eq!(
        transposed["kind"], "shape",
        "A is m×n with m ≠ n: the transpose cannot have the shape of the Jacobian: {transposed}"
    );
    // the chain rule with f and g never defined: any smooth functions
    let generic = at(&json, "T.md", 7)?;
    assert!(
        generic["message"]
            .as_str()
            .is_some_and(|m| m.contains("f, g any smooth functions")),
        "{generic}"
    );
    Ok(())
}

/// Broken TeX (truncated groups, stray `\end`, an evaluation bar cut short) is
/// skipped or ignored, never a crash, and the note's good identities are still checked.
#[test]
fn malformed_math_never_stops_the_check() -> TestResult {
    let note = "$$\\frac{d}{dx} x^2 = 2x \\Big|_{$$\n\n\
$$\\frac{d}{dx} x^2 \\Big|_{x=1 = 2$$\n\n\
$$\\frac{\\partial}{\\partial \\mathbf{x}} \\right| \\Big|_{} = \\end{cases} {$$\n\n\
$\\frac{d}{dx} \\begin{cases} x & = \\\\ \\end{bmatrix}$\n\n\
$$\\frac{d}{dx} x^3 = 3x^2$$\n";
    let (_dir, root) = temp_vault(&[("Broken.md", note)])?;
    let (run, json) = check_json(&root, &[])?;
    assert!(
        matches!(run.code, Some(0) | Some(1)),
        "check must end with a verdict, not a crash: {:?}\n{}",
        run.code,
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    expect_statuses(&json, "Broken.md", &[(9, "pass")])
}

// =======================================================================================
// On the site
// =======================================================================================

#[test]
fn the_site_shows_badges_and_a_report_page() -> TestResult {
    let (dir, root) = temp_vault(&[
        ("Sub folder/Mistakes.md", WRONG),
        (
            "Abstract.md",
            "$$\\frac{d}{dx} f(g(x)) = f'(x)\\, g'(x)$$\n",
        ),
    ])?;
    let out = dir.path().join("site");
    let run = common::build(dir.path(), &root, &out, &[])?;
    run.expect_code(0)?;
    run.expect_diagnostic(
        "Sub folder/Mistakes.md:11:22",
        &["wrong derivative identity", "symmetric"],
    )?;
    let site = common::Site::read(&out)?;
    let page = site.page("sub-folder/mistakes.html")?;
    let pass = common::elements(page, "span class=\"badge badge-pass\"");
    let fail_badges = common::elements(page, "span class=\"badge badge-fail\"");
    assert_eq!(pass.len(), 1, "one pass badge");
    assert_eq!(fail_badges.len(), 1, "one fail badge");
    assert!(
        fail_badges[0].contains("id=\"check-11-22\""),
        "{}",
        fail_badges[0]
    );
    assert!(
        fail_badges[0].contains("symmetric"),
        "the hint in the tooltip"
    );
    assert!(
        fail_badges[0].contains("tabindex=\"0\""),
        "focusable, so the details show on keyboard focus"
    );
    // The wrong identity sits inside its callout, and its badge with it.
    let callout_at = page.find("data-callout=\"warning\"").ok_or("no callout")?;
    let badge_at = page.find("id=\"check-11-22\"").ok_or("no badge")?;
    assert!(badge_at > callout_at);

    // A skip the checker has nothing to say about (abstract functions) shows no badge:
    // a "?" would read as doubt. The report lists it.
    let skip_page = site.page("abstract.html")?;
    let skip = common::elements(skip_page, "span class=\"badge badge-skip\"");
    assert_eq!(skip.len(), 0);

    let report = site.page("checks.html")?;
    assert!(report.contains("Sub folder/Mistakes.md:11:22"));
    assert!(
        report.contains("href=\"sub-folder/mistakes.html#check-11-22\""),
        "the failure links to its badge"
    );
    assert!(
        report.contains("href=\"abstract.html\""),
        "the skip links to its page"
    );
    assert!(report.contains("symmetric"));
    assert!(
        report.contains("<math"),
        "the identities are shown as rendered math"
    );
    assert!(
        common::broken_links(&site).is_empty(),
        "{:?}",
        common::broken_links(&site)
    );
    Ok(())
}

/// A matrix written out entry by entry costs about the fifth power of its side in a
/// matrix derivative: past 20 × 20 it is a skip at its line, and the note's other
/// identities are still checked (the input is generated, 100 × 100).
#[test]
fn a_huge_matrix_written_out_is_too_costly_not_a_hang() -> TestResult {
    let rows = |t: bool| {
        (0..100)
            .map(|i| {
                (0..100)
                    .map(|j| ((if t { j * 7 + i } else { i * 7 + j }) % 10).to_string())
                    .collect::<Vec<_>>()
                    .join("&")
            })
            .collect::<Vec<_>>()
            .join("\\\\")
    };
    let note = format!(
        "$$\\frac{{\\partial}}{{\\partial X}} \\operatorname{{tr}}\\left(\\begin{{bmatrix}}{}\\end{{bmatrix}} X\\right) = \\begin{{bmatrix}}{}\\end{{bmatrix}}$$\n\n$$\\frac{{d}}{{dx}} x^2 = 2x$$\n",
        rows(false),
        rows(true)
    );
    let (_dir, root) = temp_vault(&[("Big.md", &note)])?;
    let (_, json) = check_json(&root, &[])?;
    let big = at(&json, "Big.md", 1)?;
    assert_eq!(big["status"], "skip", "{big}");
    assert_eq!(big["reason"], "unsupported", "{big}");
    assert!(
        big["message"]
            .as_str()
            .is_some_and(|m| m.contains("too costly") && m.contains("10000 entries")),
        "{big}"
    );
    assert_eq!(at(&json, "Big.md", 3)?["status"], "pass");
    Ok(())
}

/// Derivatives nested deeper than four levels (a defined function primed nine times,
/// beside a product of letters read as arbitrary functions) are refused as too
/// costly; each level multiplied the work, and this formula, found by fuzzing the
/// checker, ran for minutes. The note's other identities are still checked.
#[test]
fn derivatives_nested_deep_are_too_costly_not_a_hang() -> TestResult {
    let note = "Let $g(t) = e^{t}$.\n\n$$g n o'''''''''h g' = 7n7$$\n\n$$g''''(t) = e^{t}$$\n\n$$g'''''(t) = e^{t}$$\n";
    let (_dir, root) = temp_vault(&[("Deep.md", note)])?;
    let (_, json) = check_json(&root, &[])?;
    let deep = at(&json, "Deep.md", 3)?;
    assert_eq!(deep["status"], "skip", "{deep}");
    assert_eq!(at(&json, "Deep.md", 5)?["status"], "pass");
    let fifth = at(&json, "Deep.md", 7)?;
    assert_eq!(fifth["status"], "skip", "{fifth}");
    assert!(
        fifth["message"]
            .as_str()
            .is_some_and(|m| m.contains("too costly") && m.contains("nested 5 deep")),
        "{fifth}"
    );
    Ok(())
}
