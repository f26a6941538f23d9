//! TeX packages a vault may load (`\require{physics}` or `\usepackage{physics}` in its
//! `preamble.sty` or in a formula): their macros, as a table.
//!
//! Macros whose arguments TeX's `#1` cannot describe — a variable number of arguments
//! (`\pdv{x}`, `\pdv{f}{x}`, `\pdv{f}{x}{y}`), or delimiters chosen by the writer
//! (`\qty(…)`, `\qty[…]`, `\mqty[…]`) — are small functions reading their own arguments;
//! the others are plain TeX definitions.

use super::macros::Args;

/// A macro written as a function: it reads its arguments and returns its expansion, or
/// `None` when they are not there.
pub type Native = fn(&mut Args<'_>) -> Option<String>;

/// A package: its name, its plain TeX definitions, and its native macros (name, alias…).
pub struct Package {
    pub name: &'static str,
    pub definitions: &'static str,
    pub native: &'static [(&'static [&'static str], Native)],
}

/// The packages notebuild knows.
pub const PACKAGES: &[Package] = &[PHYSICS];

/// The package called `name`.
pub fn package(name: &str) -> Option<&'static Package> {
    PACKAGES.iter().find(|p| p.name == name.trim())
}

/// The `physics` package, as MathJax's `physics` extension defines it.
const PHYSICS: Package = Package {
    name: "physics",
    definitions: r"
\newcommand{\vdot}{\cdot}
\newcommand{\dotproduct}{\cdot}
\newcommand{\cross}{\times}
\newcommand{\crossproduct}{\times}
\newcommand{\grad}{\nabla}
\newcommand{\gradient}{\nabla}
\renewcommand{\div}{\nabla\cdot}
\newcommand{\divergence}{\nabla\cdot}
\newcommand{\curl}{\nabla\times}
\newcommand{\laplacian}{\nabla^{2}}
\newcommand{\Tr}{\operatorname{Tr}}
\newcommand{\trace}{\operatorname{tr}}
\newcommand{\Trace}{\operatorname{Tr}}
\newcommand{\tr}{\operatorname{tr}}
\newcommand{\rank}{\operatorname{rank}}
\newcommand{\erf}{\operatorname{erf}}
\renewcommand{\Re}{\operatorname{Re}}
\renewcommand{\Im}{\operatorname{Im}}
\newcommand{\Res}{\operatorname{Res}}
\newcommand{\qc}{,\quad}
\newcommand{\qcc}{,\quad}
\newcommand{\qand}{\quad\text{and}\quad}
\newcommand{\qor}{\quad\text{or}\quad}
\newcommand{\qif}{\quad\text{if}\quad}
\newcommand{\qfor}{\quad\text{for}\quad}
\newcommand{\qthen}{\quad\text{then}\quad}
\newcommand{\qotherwise}{\quad\text{otherwise}\quad}
\newcommand{\qqtext}[1]{\qquad\text{#1}\qquad}
",
    native: &[
        (&["qty", "quantity"], qty),
        (&["pqty"], |a| group_in(a, "(", ")")),
        (&["bqty"], |a| group_in(a, "[", "]")),
        (&["vqty"], |a| group_in(a, "|", "|")),
        (&["Bqty"], |a| group_in(a, "\\{", "\\}")),
        (&["abs", "absolutevalue"], |a| sized(a, "|", "|")),
        (&["norm"], |a| sized(a, "\\|", "\\|")),
        (&["eval", "evaluated"], eval),
        (&["order"], |a| {
            let x = a.argument()?;
            Some(format!("\\mathcal{{O}}\\left({x}\\right)"))
        }),
        (&["comm", "commutator"], |a| pair(a, "[", "]")),
        (&["acomm", "anticommutator", "pb", "poissonbracket"], |a| {
            pair(a, "\\{", "\\}")
        }),
        (&["vb", "vectorbold"], |a| {
            let star = a.star();
            let x = a.argument()?;
            let bold = if star || x.trim_start().starts_with('\\') {
                "boldsymbol"
            } else {
                "mathbf"
            };
            Some(format!("\\{bold}{{{x}}}"))
        }),
        (&["va", "vectorarrow"], |a| {
            a.star();
            Some(format!("\\vec{{{}}}", a.argument()?))
        }),
        (&["vu", "vectorunit"], |a| {
            a.star();
            Some(format!("\\hat{{\\mathbf{{{}}}}}", a.argument()?))
        }),
        (&["dd", "differential"], dd),
        (&["dv", "derivative"], |a| derivative(a, "\\mathrm{d}")),
        (&["pdv", "partialderivative"], |a| {
            derivative(a, "\\partial")
        }),
        (&["fdv", "functionalderivative"], |a| {
            derivative(a, "\\delta")
        }),
        // Bra-ket notation at the text's size, each in a group with plain bars: the
        // renderer spaces stretched brackets and operator bars apart (`| ψ ⟩`).
        (&["bra"], |a| {
            a.star();
            Some(format!("{{\\langle{{{}}}|}}", a.argument()?))
        }),
        (&["ket"], |a| {
            a.star();
            Some(format!("{{|{{{}}}\\rangle}}", a.argument()?))
        }),
        (&["braket", "ip", "innerproduct"], |a| {
            a.star();
            let x = a.argument()?;
            let y = a.group().unwrap_or_else(|| x.clone());
            Some(format!("{{\\langle{{{x}}}|{{{y}}}\\rangle}}"))
        }),
        (&["ketbra", "op", "outerproduct", "dyad"], |a| {
            a.star();
            let x = a.argument()?;
            let y = a.group().unwrap_or_else(|| x.clone());
            Some(format!("{{|{{{x}}}\\rangle\\langle{{{y}}}|}}"))
        }),
        (&["ev", "expval", "expectationvalue"], |a| {
            a.star();
            let x = a.argument()?;
            Some(match a.group() {
                Some(psi) => format!("{{\\langle{{{psi}}}|{{{x}}}|{{{psi}}}\\rangle}}"),
                None => format!("{{\\langle{{{x}}}\\rangle}}"),
            })
        }),
        (&["mel", "matrixel", "matrixelement"], |a| {
            a.star();
            let (n, op, m) = (a.argument()?, a.group()?, a.group()?);
            Some(format!("{{\\langle{{{n}}}|{{{op}}}|{{{m}}}\\rangle}}"))
        }),
        (&["mqty", "matrixquantity"], |a| {
            a.star();
            let (open, inner) = a.delimited()?;
            let env = match open {
                '(' => "pmatrix",
                '[' => "bmatrix",
                '|' => "vmatrix",
                _ => "matrix",
            };
            Some(format!("\\begin{{{env}}}{inner}\\end{{{env}}}"))
        }),
        (&["var", "variation"], |a| {
            a.star();
            Some(match a.group() {
                Some(x) => format!("\\delta{{{x}}}"),
                None => "\\delta".to_owned(),
            })
        }),
        (&["smqty"], |a| {
            let (open, inner) = a.delimited()?;
            let (l, r) = match open {
                '(' => ("\\left(", "\\right)"),
                '[' => ("\\left[", "\\right]"),
                '|' => ("\\left|", "\\right|"),
                _ => ("", ""),
            };
            Some(small_matrix(&inner, l, r))
        }),
        (&["spmqty"], |a| {
            Some(small_matrix(&a.group()?, "\\left(", "\\right)"))
        }),
        (&["sbmqty"], |a| {
            Some(small_matrix(&a.group()?, "\\left[", "\\right]"))
        }),
        (&["svmqty"], |a| {
            Some(small_matrix(&a.group()?, "\\left|", "\\right|"))
        }),
        (&["imat", "identitymatrix"], |a| {
            let n = a.argument()?.trim().parse::<usize>().ok()?;
            Some(filled_matrix(n, n, |i, j| {
                if i == j { "1" } else { "0" }.to_owned()
            }))
        }),
        (&["xmat", "xmatrix"], |a| {
            a.star();
            let x = a.argument()?;
            let rows = a.argument()?.trim().parse::<usize>().ok()?.clamp(1, 20);
            let columns = a.argument()?.trim().parse::<usize>().ok()?.clamp(1, 20);
            let cell = |i: usize, j: usize| match (rows, columns) {
                (1, _) => format!("{x}_{{{}}}", j + 1),
                (_, 1) => format!("{x}_{{{}}}", i + 1),
                _ => format!("{x}_{{{}{}}}", i + 1, j + 1),
            };
            Some(filled_matrix(rows, columns, cell))
        }),
        (&["zmat", "zeromatrix"], |a| {
            let rows = a.argument()?.trim().parse::<usize>().ok()?;
            let columns = a.argument()?.trim().parse::<usize>().ok()?;
            Some(filled_matrix(rows, columns, |_, _| "0".to_owned()))
        }),
        (&["pmqty"], |a| matrix(a, "pmatrix")),
        (&["bmqty"], |a| matrix(a, "bmatrix")),
        (&["vmqty"], |a| matrix(a, "vmatrix")),
        (&["Pmqty"], |a| {
            let inner = a.group()?;
            Some(format!(
                "\\left(\\begin{{matrix}}{inner}\\end{{matrix}}\\right)"
            ))
        }),
        (&["qq"], |a| {
            a.star();
            match a.group() {
                Some(text) => Some(format!("\\quad\\text{{{text}}}\\quad")),
                None => Some("\\qquad".to_owned()),
            }
        }),
    ],
};

/// `\qty(…)`, `\qty[…]`, `\qty|…|`, `\qty{…}`: the content between delimiters sized to it.
fn qty(a: &mut Args<'_>) -> Option<String> {
    a.star();
    let (open, inner) = a.delimited()?;
    let (l, r) = match open {
        '(' => ("(", ")"),
        '[' => ("[", "]"),
        '|' => ("|", "|"),
        _ => ("\\{", "\\}"),
    };
    Some(format!("\\left{l}{inner}\\right{r}"))
}

fn group_in(a: &mut Args<'_>, l: &str, r: &str) -> Option<String> {
    a.star();
    let inner = a.argument()?;
    Some(format!("\\left{l}{inner}\\right{r}"))
}

/// `\abs{x}` sized; `\abs*{x}` at the text's size.
fn sized(a: &mut Args<'_>, l: &str, r: &str) -> Option<String> {
    let star = a.star();
    let inner = match a.delimited() {
        Some((_, inner)) => inner,
        None => a.argument()?,
    };
    Some(if star {
        format!("{l}{inner}{r}")
    } else {
        format!("\\left{l}{inner}\\right{r}")
    })
}

/// `\eval{x}_a^b`, `\eval(x)|_a^b`: the bar of an evaluation.
fn eval(a: &mut Args<'_>) -> Option<String> {
    a.star();
    let (open, inner) = a.delimited()?;
    let left = match open {
        '(' => "(",
        '[' => "[",
        _ => ".",
    };
    // The closing `|` of `\eval(x)|` belongs to the command.
    if open != '{' {
        a.skip_char('|');
    }
    Some(format!("\\left{left}{inner}\\right|"))
}

fn pair(a: &mut Args<'_>, l: &str, r: &str) -> Option<String> {
    a.star();
    let x = a.argument()?;
    let y = a.group()?;
    Some(format!("\\left{l}{x},{y}\\right{r}"))
}

/// The cells of an `rows`×`columns` matrix (at most 20×20, as a page can show).
fn filled_matrix(rows: usize, columns: usize, cell: impl Fn(usize, usize) -> String) -> String {
    let (rows, columns) = (rows.clamp(1, 20), columns.clamp(1, 20));
    (0..rows)
        .map(|i| {
            (0..columns)
                .map(|j| cell(i, j))
                .collect::<Vec<_>>()
                .join(" & ")
        })
        .collect::<Vec<_>>()
        .join(" \\\\ ")
}

fn small_matrix(inner: &str, l: &str, r: &str) -> String {
    format!("{l}\\begin{{smallmatrix}}{inner}\\end{{smallmatrix}}{r}")
}

fn matrix(a: &mut Args<'_>, env: &str) -> Option<String> {
    a.star();
    let inner = a.group()?;
    Some(format!("\\begin{{{env}}}{inner}\\end{{{env}}}"))
}

/// `\dd`, `\dd x`, `\dd{x}`, `\dd[3]{x}`: the upright differential.
fn dd(a: &mut Args<'_>) -> Option<String> {
    let power = a
        .optional()
        .map(|n| format!("^{{{n}}}"))
        .unwrap_or_default();
    Some(match a.group() {
        Some(x) => format!("\\mathrm{{d}}{power}{x}"),
        None => format!("\\mathrm{{d}}{power}"),
    })
}

/// `\dv{x}` (the operator), `\dv{f}{x}`, `\dv[n]{f}{x}`, and for partial derivatives also
/// `\pdv{f}{x}{y}` (mixed): a fraction written with `d`.
fn derivative(a: &mut Args<'_>, d: &str) -> Option<String> {
    a.star();
    let order = a.optional();
    let first = a.argument()?;
    let second = a.group();
    let third = second.as_ref().and_then(|_| a.group());
    let up = |n: &Option<String>| n.as_ref().map(|n| format!("^{{{n}}}")).unwrap_or_default();
    Some(match (second, third) {
        (None, _) => format!("\\frac{{{d}{}}}{{{d} {first}{}}}", up(&order), up(&order)),
        (Some(x), None) => format!(
            "\\frac{{{d}{} {first}}}{{{d} {x}{}}}",
            up(&order),
            up(&order)
        ),
        (Some(x), Some(y)) => format!("\\frac{{{d}^{{2}} {first}}}{{{d} {x} {d} {y}}}"),
    })
}
