//! The vault's own TeX macros: `preamble.sty`, `macros:` in `notebuild.yaml`, and
//! `\newcommand` in a note's math, expanded before rendering and before checking.

#[allow(dead_code)] // each test binary uses a part of the helpers
mod common;

use common::{TestResult, fail, notebuild, temp_vault, write};

const PREAMBLE: &str = r"% the vault's macros
\usepackage{amsmath}
\newcommand{\R}{\mathbb{R}}
\newcommand{\pd}[2]{\frac{\partial #1}{\partial #2}}
\DeclareMathOperator{\Span}{span}
\def\vx{\mathbf{x}}
\newcommand{\spin}{\spin\uparrow}
\def\odd#1.{#1}
";

const CONFIG: &str = r#"macros:
  "\\T": "^{\\top}"
  grad: "\\nabla"
"#;

const NOTE: &str = r"# Quadratic forms

Let $\vx \in \R^n$ and $A \in \R^{n \times n}$, with $\Span(\vx)$ a line.

$$\pd{}{\vx} (\vx\T A \vx) = \vx\T (A + A\T)$$

$$\pd{}{\vx} (\vx\T A \vx) = 2 \vx\T A$$

$\newcommand{\sq}[1]{{#1}^{2}}$ and then

$$\frac{d}{dt} \sq{t} = 3t$$

Spin: $\spin$.
";

fn vault() -> Result<(tempfile::TempDir, std::path::PathBuf), common::Error> {
    let (dir, root) = temp_vault(&[("Forms.md", NOTE)])?;
    write(&root, "preamble.sty", PREAMBLE)?;
    write(&root, "notebuild.yaml", CONFIG)?;
    Ok((dir, root))
}

#[test]
fn macros_are_expanded_before_checking() -> TestResult {
    let (_dir, root) = vault()?;
    let run = notebuild(&root, ["check", ".", "--format", "json"])?;
    let report: serde_json::Value = serde_json::from_str(&run.stdout)
        .map_err(|e| fail(format!("{e}: {}\n{}", run.stdout, run.stderr)))?;
    let identities = report["identities"]
        .as_array()
        .ok_or_else(|| fail("no identities"))?;
    let verdicts: Vec<(u64, &str)> = identities
        .iter()
        .map(|i| {
            (
                i["line"].as_u64().unwrap_or(0),
                i["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    // Each identity is found at its line in the note, as written with its macros.
    assert_eq!(
        verdicts,
        vec![(5, "pass"), (7, "fail"), (11, "fail")],
        "{}",
        run.stdout
    );
    // The report quotes the identity as the note writes it.
    assert_eq!(
        identities[0]["latex"].as_str(),
        Some(r"\pd{}{\vx} (\vx\T A \vx) = \vx\T (A + A\T)")
    );
    let hint = identities[1]["hint"].as_str().unwrap_or("");
    assert!(hint.contains("symmetric"), "{hint}");
    run.expect_code(1)
}

#[test]
fn macros_are_expanded_before_rendering() -> TestResult {
    let (dir, root) = vault()?;
    let out = dir.path().join("site");
    let run = common::build(&root, &root, &out, &[])?;
    run.expect_code(0)?;
    let page = std::fs::read_to_string(out.join("forms.html"))?;
    let errors = page.matches("class=\"math-error\"").count();
    // Only the looping macro is shown as written.
    assert_eq!(errors, 1, "{page}");
    assert!(page.contains("⚠ $\\spin$"), "{page}");
    // The annotation keeps the formula as the note writes it.
    assert!(
        page.contains("<annotation encoding=\"application/x-tex\">\\vx \\in \\R^n</annotation>"),
        "{page}"
    );
    assert!(
        page.contains("<mi>span</mi>") || page.contains(">span<"),
        "{page}"
    );
    // The report page renders the identities with the macros expanded.
    let report = std::fs::read_to_string(out.join("checks.html"))?;
    assert_eq!(
        report.matches("class=\"math-error\"").count(),
        0,
        "{report}"
    );
    assert!(report.contains(r"\pd{}{\vx}"), "{report}");
    // The macro file is read, not published.
    assert!(!out.join("preamble.sty").exists());

    run.expect_diagnostic(
        "Forms.md:13",
        &["`\\spin`", "preamble.sty:7", "without end"],
    )?;
    run.expect_diagnostic("preamble.sty:8", &["delimited parameters"])?;
    Ok(())
}

#[test]
fn a_bad_macro_name_in_the_settings_is_a_warning() -> TestResult {
    let (dir, root) = temp_vault(&[("A.md", "$\\R$\n")])?;
    write(&root, "notebuild.yaml", "macros:\n  \"9x\": \"y\"\n")?;
    let out = dir.path().join("site");
    let run = common::build(&root, &root, &out, &[])?;
    run.expect_code(0)?;
    run.expect_diagnostic("notebuild.yaml", &["9x", "macro name"])?;
    Ok(())
}
