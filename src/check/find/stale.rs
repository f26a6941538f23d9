//! A letter whose definition in force was made in an earlier part of the note
//! (under another heading or numbered item) and brings in a quantity the note never
//! gives (`y = \sigma(z)` at the start, the label `y` of a loss much later): the
//! identity is read with that letter as one of its own, since the note may have
//! reused the name; so are the letters it differentiates by that such a part gave
//! values (`w = [2.5, -5.0]` in an example, then `\frac{\partial L}{\partial
//! w_j}`). Only a pass on that reading is a verdict (it names the
//! reading); anything else stays the skip the definition led to (`verdict`).

use std::collections::BTreeSet;

use crate::check::SkipReason;
use crate::check::syntax::{self, Ctx, Expr, Tok};

use super::generic::{dependent_name, key_of};
use super::identity::read_any;
use super::rewrite::unreadable_name;
use super::scope::uses_symbol;
use super::{Def, Ident, Skip, State};

/// How deep a chain of definitions is followed to the quantity they bring in.
const MAX_CHAIN: usize = 4;

/// The identity read without the earlier part's definitions of the letters it
/// writes that bring in the quantity `first` says the note never gives; `first`
/// when there are none or the identity stays unreadable.
pub(super) fn without_stale(
    st: &mut State,
    mems: &[&[Tok]],
    cx: &Ctx,
    src: &str,
    first: Skip,
) -> Result<Ident, Skip> {
    if let Some(name) = unreadable_name(&first.message).map(key_of) {
        return without_unreadable(st, mems, cx, src, first, name);
    }
    if first.kind != SkipReason::Abstract {
        return Err(first);
    }
    let Some(missing) = dependent_name(&first.message).map(key_of) else {
        return Err(first);
    };
    let mut written = BTreeSet::new();
    // the letters differentiated by (`w` too for `w_j`, an entry of it)
    let mut by = BTreeSet::new();
    for m in mems {
        if let Ok(e) = syntax::parse_expr(m, cx) {
            e.walk(&mut |x| match x {
                Expr::Var(s) => {
                    written.insert(s.key());
                }
                Expr::Deriv(_, d) => {
                    by.insert(d.wrt.key());
                    by.insert(d.wrt.base.clone());
                }
                _ => {}
            });
        }
    }
    let stale: Vec<String> = written
        .into_iter()
        .chain(by.iter().cloned())
        .collect::<BTreeSet<String>>()
        .into_iter()
        .filter(|k| {
            matches!(st.syms.get(k), Some(Def::Sym { .. }))
                && st.def_part.get(k).is_some_and(|&(part, _)| part < st.part)
                && (brings_in(st, k, &missing, MAX_CHAIN) || by.contains(k))
        })
        .collect();
    if stale.is_empty() {
        return Err(first);
    }
    let mut st2 = st.clone();
    for k in &stale {
        st2.syms.remove(k);
    }
    match read_any(&mut st2, mems, cx, src) {
        Ok(mut id) => {
            let (brought, valued): (Vec<&String>, Vec<&String>) = stale
                .iter()
                .partition(|k| brings_in(st, k, &missing, MAX_CHAIN));
            let list = |ks: &[&String]| ks.iter().map(|k| shown(k)).collect::<Vec<_>>().join(", ");
            let mut why = Vec::new();
            if !brought.is_empty() {
                why.push(format!(
                    "with {} read as a new letter here (its definition in an earlier part \
                     of the note brings in {}, which the note never gives)",
                    list(&brought),
                    shown(&missing)
                ));
            }
            if !valued.is_empty() {
                why.push(format!(
                    "with {} a variable here (an earlier part of the note gave it a value)",
                    list(&valued)
                ));
            }
            id.freed = Some((why.join("; "), first));
            Ok(id)
        }
        Err(_) => Err(first),
    }
}

/// The identity read with `name` a letter of its own, when the definition of it in
/// force, made in an earlier part of the note, could not be read (`m = \pm
/// \sqrt{\dots}` in one section, the mass `m` in another); `first` otherwise.
fn without_unreadable(
    st: &mut State,
    mems: &[&[Tok]],
    cx: &Ctx,
    src: &str,
    first: Skip,
    name: String,
) -> Result<Ident, Skip> {
    let earlier = st
        .def_part
        .get(&name)
        .is_some_and(|&(part, _)| part < st.part);
    if !earlier || !matches!(st.syms.get(&name), Some(Def::Sym { .. })) {
        return Err(first);
    }
    let mut st2 = st.clone();
    st2.syms.remove(&name);
    match read_any(&mut st2, mems, cx, src) {
        Ok(mut id) => {
            let why = format!(
                "with {} read as a new letter here (its definition in an earlier part of \
                 the note could not be read)",
                shown(&name)
            );
            id.freed = Some((why, first));
            Ok(id)
        }
        Err(_) => Err(first),
    }
}

/// Does the definition of `key` use `missing`, directly or through the
/// definitions it uses (at most `depth` deep)?
fn brings_in(st: &State, key: &str, missing: &str, depth: usize) -> bool {
    let Some(Def::Sym { body: Ok(b), .. }) = st.syms.get(key) else {
        return false;
    };
    if uses_symbol(b, missing) {
        return true;
    }
    if depth == 0 {
        return false;
    }
    let mut used = BTreeSet::new();
    b.walk(&mut |x| {
        if let Expr::Var(s) = x {
            used.insert(s.key());
        }
    });
    used.iter()
        .any(|u| u != key && brings_in(st, u, missing, depth - 1))
}

/// A key as messages show it.
fn shown(key: &str) -> String {
    key.trim_start_matches('\\').to_string()
}
