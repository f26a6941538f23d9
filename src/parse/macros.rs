//! A note's math with the vault's TeX macros expanded.
//!
//! Runs after [`super::parse`], in document order: a `\newcommand` written in one formula
//! holds for the formulas after it, as on a MathJax page. Each formula keeps its source
//! ([`super::Math::tex`]) and gains its expansion ([`super::Math::expanded`]), which the
//! renderer shows and the checker reads. A formula whose macros cannot be expanded (one
//! that loops, or grows without end) is a warning at its place and is left as written.

use crate::diagnostics::Diagnostic;
use crate::tex::macros::Macros;

use super::{Node, ParsedNote};

/// Expands the macros of every formula of `note`, starting from `vault`'s macros, and
/// records the macros in force at its end in [`ParsedNote::macros`].
pub fn expand(note: &mut ParsedNote, vault: &Macros) {
    let (macros, problems) = expand_nodes(&mut note.nodes, vault);
    for (at, message) in problems {
        note.diagnostics.push(
            Diagnostic::warning(&note.path, &note.text, at..at + 1, message)
                .with_hint("the formula is shown as written; fix the macro's definition"),
        );
    }
    note.macros = macros;
}

/// Expands the macros of every formula of `nodes`, starting from `vault`'s macros: the
/// macros in force at the end, and the problems found (offset in the note, message).
pub fn expand_nodes(nodes: &mut [Node], vault: &Macros) -> (Macros, Vec<(usize, String)>) {
    let mut macros = vault.clone();
    let mut problems = Vec::new();
    for node in nodes {
        match node {
            Node::Math(m) => expand_one(m, &mut macros, &mut problems),
            Node::CalloutStart(callout) => {
                for node in &mut callout.title {
                    if let Node::Math(m) = node {
                        expand_one(m, &mut macros, &mut problems);
                    }
                }
            }
            _ => {}
        }
    }
    (macros, problems)
}

fn expand_one(m: &mut super::Math, macros: &mut Macros, problems: &mut Vec<(usize, String)>) {
    match macros.expand(&m.tex) {
        Ok(expanded) => m.expanded = expanded,
        Err(error) => {
            m.expanded = None;
            problems.push((m.range.start, error.message));
        }
    }
}
