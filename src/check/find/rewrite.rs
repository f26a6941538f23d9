//! Rewrites of an identity's members: definitions substituted, dimensions bound,
//! primed calls bound, intermediate quantities read as symbols.

use std::cell::Cell;
use std::collections::BTreeSet;

use crate::check::SkipReason;
use crate::check::syntax::{self, Deriv, Expr, Sym};

use super::indices::entry_letter;
use super::scope::uses_symbol;
use super::{Def, Skip, State};

/// The skip of an identity that uses a definition the checker could not read.
fn unreadable(name: &str, why: &str) -> String {
    format!("uses {name}, whose definition could not be read: {why}")
}

/// The name [`unreadable`] names in a skip's message.
pub(super) fn unreadable_name(message: &str) -> Option<&str> {
    message
        .strip_prefix("uses ")?
        .split_once(", whose definition could not be read: ")
        .map(|(name, _)| name)
}

/// Replaces defined functions (always) and defined symbols (when `syms`; `used`
/// records whether one was replaced).
fn substitute(
    st: &State,
    e: Expr,
    wrts: &BTreeSet<String>,
    depth: u32,
    syms: bool,
    used: &Cell<bool>,
) -> Result<Expr, Skip> {
    if depth > 8 {
        return Err(Skip {
            kind: SkipReason::Unsupported,
            message: "definitions nested too deeply".into(),
        });
    }
    let mut err: Option<Skip> = None;
    let r = e.map(&mut |x| match x {
        Expr::Var(s) if !wrts.contains(&s.key()) => match st.syms.get(&s.key()) {
            Some(Def::Sym { bold, upper, body }) if syms && (*bold == s.bold || *upper) => {
                // definitions that refer to each other (`a = -b - c`, then `b = 2a`)
                // are a system of equations: inside its own definition's expansion,
                // a name stays a name
                let mut within = wrts.clone();
                within.insert(s.key());
                match body {
                    Ok(b) => match substitute(st, b.clone(), &within, depth + 1, syms, used) {
                        Ok(b) => {
                            used.set(true);
                            Ok(b)
                        }
                        Err(e) => {
                            err = Some(e);
                            Err(String::new())
                        }
                    },
                    Err(pe) => {
                        err = Some(Skip {
                            kind: pe.kind,
                            message: unreadable(&s.show(), &pe.msg),
                        });
                        Err(String::new())
                    }
                }
            }
            _ => match st.funcs.get(&s.key()) {
                // `\frac{\partial C}{\partial w}` for a function `C(w, b)`
                Some(Def::Func { params, .. }) if s.sub.is_none() => {
                    let args = params.iter().map(|p| Expr::Var(p.clone())).collect();
                    // named bare, the function is of its own parameters: they are
                    // its variables, not the note's symbols of the same name (`y`
                    // defined earlier does not reach into `F(x, y)`)
                    let mut bound = wrts.clone();
                    bound.extend(params.iter().map(Sym::key));
                    match substitute(
                        st,
                        Expr::Apply(s.key(), args),
                        &bound,
                        depth + 1,
                        syms,
                        used,
                    ) {
                        Ok(b) => Ok(b),
                        Err(e) => {
                            err = Some(e);
                            Err(String::new())
                        }
                    }
                }
                _ => match entry_definition(st, &s).filter(|_| syms) {
                    // `s_j` with `s_i = \frac{e^{z_i}}{\sum_k e^{z_k}}` defined
                    Some(b) => match substitute(st, b, wrts, depth + 1, syms, used) {
                        Ok(b) => {
                            used.set(true);
                            Ok(b)
                        }
                        Err(e) => {
                            err = Some(e);
                            Err(String::new())
                        }
                    },
                    None => Ok(Expr::Var(s)),
                },
            },
        },
        Expr::Apply(name, args) => match st.funcs.get(&name) {
            Some(Def::Func { params, body }) => match body {
                Ok(b) => {
                    if params.len() != args.len() {
                        err = Some(Skip {
                            kind: SkipReason::Parse,
                            message: format!(
                                "{name} is defined with {} argument(s) but used with {}",
                                params.len(),
                                args.len()
                            ),
                        });
                        return Err(String::new());
                    }
                    let keys: Vec<String> = params.iter().map(Sym::key).collect();
                    // an entry of a parameter (`x_j` in `h(x) = \sum_j \theta_j x_j`) is
                    // that entry of a symbol argument (`z_j` in `h(z)`)
                    let entry_of = |v: &Sym| {
                        let k = params
                            .iter()
                            .position(|p| p.sub.is_none() && v.sub.is_some() && p.base == v.base)?;
                        Some(match &args[k] {
                            Expr::Var(a) if a.base == params[k].base => Ok(Expr::Var(v.clone())),
                            Expr::Var(a) if a.sub.is_none() => Ok(Expr::Var(Sym {
                                base: a.base.clone(),
                                sub: v.sub.clone(),
                                bold: v.bold,
                                upper: v.upper,
                            })),
                            _ => Err(format!(
                                "{name} uses entries of its parameter {}, and is applied to an \
                                 expression",
                                params[k].show()
                            )),
                        })
                    };
                    let bound = b.clone().map(&mut |y| match y {
                        Expr::Var(v) => match keys.iter().position(|k| *k == v.key()) {
                            Some(i) => Ok(args[i].clone()),
                            None => entry_of(&v).unwrap_or(Ok(Expr::Var(v))),
                        },
                        other => Ok(other),
                    });
                    match bound {
                        Ok(b) => match substitute(st, b, wrts, depth + 1, syms, used) {
                            Ok(b) => Ok(b),
                            Err(e) => {
                                err = Some(e);
                                Err(String::new())
                            }
                        },
                        Err(m) => Err(m),
                    }
                }
                Err(pe) => {
                    err = Some(Skip {
                        kind: pe.kind,
                        message: unreadable(&name, &pe.msg),
                    });
                    Err(String::new())
                }
            },
            _ => Ok(Expr::Apply(name, args)),
        },
        other => Ok(other),
    });
    match r {
        Ok(e) => Ok(e),
        Err(m) => Err(err.unwrap_or(Skip {
            kind: SkipReason::Parse,
            message: m,
        })),
    }
}

pub(super) fn show_name(n: &str) -> String {
    n.trim_start_matches('\\').to_string()
}

/// A letter naming a dimension of a declared symbol in the identity (`\mathbf{v} \in
/// \mathbb{R}^n`) and used as a value (`\frac{1}{n}`) is that dimension's size: it
/// becomes a dimension variable, tied to the symbol's dimension. Not a letter that
/// is a variable of a derivative, declared itself, or also a bold symbol.
pub(super) fn dim_values(st: &State, members: &mut [Expr]) -> Vec<(String, Vec<Option<String>>)> {
    if st.dimnames.is_empty() {
        return Vec::new();
    }
    let mut keys = BTreeSet::new();
    let mut plain = BTreeSet::new();
    let mut blocked = BTreeSet::new();
    for e in members.iter() {
        e.walk(&mut |x| match x {
            Expr::Var(s) => {
                keys.insert(s.key());
                if s.bold || s.sub.is_some() {
                    blocked.insert(s.base.clone());
                } else {
                    plain.insert(s.key());
                }
            }
            Expr::Deriv(_, d) => {
                blocked.insert(d.wrt.base.clone());
            }
            _ => {}
        });
    }
    let is_name = |n: &str| {
        n.len() == 1
            && n.chars().all(|c| c.is_ascii_alphabetic())
            && plain.contains(n)
            && !blocked.contains(n)
            && !st.decls.contains_key(n)
    };
    let mut out = Vec::new();
    let mut used = BTreeSet::new();
    for (k, names) in &st.dimnames {
        if !keys.contains(k) || names.iter().any(|n| n == k) {
            continue;
        }
        // a name the identity does not use at all still ties the dimensions it
        // names (`A, B \in \mathbb{R}^{n \times n}`: square, of one size)
        let absent = |n: &str| {
            !n.is_empty()
                && n.chars().all(|c| c.is_ascii_alphabetic())
                && !keys.iter().any(|key| key.split('_').next() == Some(n))
                && !blocked.contains(n)
        };
        let per: Vec<Option<String>> = names
            .iter()
            .map(|n| (is_name(n) || absent(n)).then(|| n.clone()))
            .collect();
        if per.iter().any(Option::is_some) {
            used.extend(names.iter().filter(|n| is_name(n)).cloned());
            out.push((k.clone(), per));
        }
    }
    if used.is_empty() {
        return out;
    }
    for e in members.iter_mut() {
        let taken = std::mem::replace(e, Expr::ZeroAny);
        *e = taken.rewrite(&mut |x| match x {
            Expr::Var(s) if !s.bold && s.sub.is_none() && used.contains(&s.key()) => {
                Expr::DimVar(s.key())
            }
            other => other,
        });
    }
    out
}

/// Replaces each `f'(u)` node (`syntax::PRIME_AT`) by its derivative and records the
/// fresh variable with `u`. Refused inside a derivative's operand or a sum (the
/// variable takes one value per point).
pub(super) fn bind_prime_at(e: Expr, out: &mut Vec<(Sym, Expr)>) -> Result<Expr, String> {
    let mut inner = false;
    e.walk(&mut |x| match x {
        Expr::Deriv(_, d) => d.of.walk(&mut |y| {
            if matches!(y, Expr::Apply(n, _) if n == syntax::PRIME_AT) {
                inner = true;
            }
        }),
        Expr::Sum { body, .. } | Expr::Dots(body, _) => body.walk(&mut |y| {
            if matches!(y, Expr::Apply(n, _) if n == syntax::PRIME_AT) {
                inner = true;
            }
        }),
        _ => {}
    });
    if inner {
        return Err("a primed function at an expression inside a derivative or a sum".into());
    }
    e.map(&mut |x| match x {
        Expr::Apply(n, mut args) if n == syntax::PRIME_AT && args.len() == 2 => {
            let u = args.pop().unwrap_or(Expr::ZeroAny);
            let d = args.pop().unwrap_or(Expr::ZeroAny);
            let mut z = None;
            d.walk(&mut |y| {
                if let Expr::Deriv(_, dd) = y {
                    z = Some(dd.wrt.clone());
                }
            });
            // at a vector the prime would be a Jacobian, often meant entry-wise
            let mut array = false;
            u.walk(&mut |y| {
                if matches!(y, Expr::Var(s) if s.bold || s.upper) {
                    array = true;
                }
            });
            if array {
                return Err("a primed function at a vector or matrix expression".into());
            }
            match z {
                Some(z) => {
                    out.push((z, u));
                    Ok(d)
                }
                None => Err("a primed function at an expression".into()),
            }
        }
        other => Ok(other),
    })
}

/// Substitutes definitions in context: inside a derivative by `v`, every defined
/// symbol but `v` (a variable there); elsewhere every one.
pub(super) fn subst_ctx(
    st: &State,
    e: Expr,
    exclude: &BTreeSet<String>,
    syms: bool,
    used: &Cell<bool>,
) -> Result<Expr, Skip> {
    match e {
        Expr::Deriv(id, d) => {
            let d = *d;
            let mut ex = exclude.clone();
            ex.insert(d.wrt.key());
            let mut of = subst_ctx(st, d.of, &ex, syms, used)?;
            if syms {
                of = as_intermediate(st, of, &d.wrt, &ex, used)?;
            }
            Ok(Expr::Deriv(id, Box::new(Deriv { of, ..d })))
        }
        Expr::Var(_) => substitute(st, e, exclude, 0, syms, used),
        Expr::Apply(name, args) => {
            let args = args
                .into_iter()
                .map(|a| subst_ctx(st, a, exclude, syms, used))
                .collect::<Result<Vec<_>, _>>()?;
            substitute(st, Expr::Apply(name, args), exclude, 0, syms, used)
        }
        other => other.map_children(&mut |c| subst_ctx(st, c, exclude, syms, used)),
    }
}

/// A derivative by a defined symbol (an intermediate quantity, `\hat{\mathbf{y}} =
/// X\mathbf{w}` in `\frac{\partial \mathcal{L}}{\partial \hat{\mathbf{y}}}`): the
/// operand's occurrences of the definition are that symbol (the operand is a
/// function of it, the rest held fixed). An operand that still does not mention it
/// but shares its definition's symbols is written in terms the checker cannot
/// match: refused rather than read as a constant.
fn as_intermediate(
    st: &State,
    of: Expr,
    wrt: &Sym,
    exclude: &BTreeSet<String>,
    used: &Cell<bool>,
) -> Result<Expr, Skip> {
    let Some(Def::Sym {
        bold,
        upper,
        body: Ok(b),
    }) = st.syms.get(&wrt.key())
    else {
        return Ok(of);
    };
    if !(*bold == wrt.bold || *upper) || matches!(b, Expr::Num(_)) {
        return Ok(of);
    }
    if uses_symbol(&of, &wrt.key()) {
        return Ok(of);
    }
    let def = subst_ctx(st, b.clone(), exclude, true, used)?;
    if matches!(def, Expr::Var(_)) {
        return Ok(of);
    }
    let mut hit = false;
    let key = Expr::Var(wrt.clone());
    let of = replace_pre(of, &mut |x| {
        if *x == def {
            hit = true;
            Some(key.clone())
        } else {
            None
        }
    });
    if hit {
        return Ok(of);
    }
    let mut shared = false;
    let mut names = BTreeSet::new();
    def.walk(&mut |x| {
        if let Expr::Var(s) = x {
            names.insert(s.key());
        }
    });
    of.walk(&mut |x| {
        if let Expr::Var(s) = x
            && names.contains(&s.key())
        {
            shared = true;
        }
    });
    if shared {
        return Err(Skip {
            kind: SkipReason::Unsupported,
            message: format!(
                "a derivative by {}, which the note defined, of an expression not written in terms of it",
                wrt.show()
            ),
        });
    }
    Ok(of)
}

/// Replaces, top-down, the first sub-expressions for which `f` gives a
/// replacement. Not inside a nested derivative: its operand is left as written.
fn replace_pre(e: Expr, f: &mut dyn FnMut(&Expr) -> Option<Expr>) -> Expr {
    if let Some(r) = f(&e) {
        return r;
    }
    if matches!(e, Expr::Deriv(..)) {
        return e;
    }
    e.map_children(&mut |c| Ok::<_, std::convert::Infallible>(replace_pre(c, f)))
        .unwrap_or_else(|never| match never {})
}

/// An entry of a vector defined entry-wise (`s_i = \frac{e^{z_i}}{\sum_k e^{z_k}}`:
/// a definition of `s_i` whose body has entries with the same index): the body for
/// entry `s_j`, its index renamed. `None` when there is no such definition, or the
/// body already uses the new index (a sum over it, another entry of it).
fn entry_definition(st: &State, s: &Sym) -> Option<Expr> {
    if s.upper {
        return None;
    }
    // the whole vector `\mathbf{s}` (bold): its entries over the definition's index
    let Some(j) = s.sub.as_deref() else {
        if !s.bold {
            return None;
        }
        for (key, def) in &st.syms {
            if let Some(i) = key
                .strip_prefix(s.base.as_str())
                .and_then(|r| r.strip_prefix('_'))
                && entry_letter(i)
                && let Def::Sym {
                    bold: false,
                    upper: false,
                    body: Ok(b),
                } = def
                && entry_wise(b, &s.base, i)
            {
                return Some(Expr::Dots(b.clone().bx(), i.to_string()));
            }
        }
        return None;
    };
    if s.bold || !entry_letter(j) {
        return None;
    }
    for (key, def) in &st.syms {
        let Some(i) = key
            .strip_prefix(s.base.as_str())
            .and_then(|r| r.strip_prefix('_'))
        else {
            continue;
        };
        if i == j || !entry_letter(i) {
            continue;
        }
        let Def::Sym {
            bold: false,
            upper: false,
            body: Ok(b),
        } = def
        else {
            continue;
        };
        // the body's own sum over the new index (`\sum_j e^{z_j}` for `s_j`) is
        // renamed to a letter it does not use
        let b = &rename_sums(b.clone(), j, i);
        let (mut uses_i, mut uses_j) = (false, false);
        b.walk(&mut |x| match x {
            Expr::Var(v) => {
                uses_i |= v.sub.as_deref().is_some_and(|t| t.contains(i));
                uses_j |= v.sub.as_deref().is_some_and(|t| t.contains(j)) || v.base == j;
            }
            Expr::Sum { idx, .. } | Expr::Dots(_, idx) => uses_j |= idx == j,
            Expr::Index(_, idxs) => {
                uses_i |= idxs.iter().any(|t| t == i);
                uses_j |= idxs.iter().any(|t| t == j);
            }
            _ => {}
        });
        if !uses_i || uses_j || !entry_wise(b, &s.base, i) {
            continue;
        }
        return Some(rename_index(b.clone(), i, j));
    }
    None
}

/// The sums and `\dots` over `from` in `e` rebound to a letter `e` does not use
/// (nor `keep`); `e` unchanged when every candidate letter is taken.
fn rename_sums(e: Expr, from: &str, keep: &str) -> Expr {
    let mut has = false;
    let mut taken: BTreeSet<String> = BTreeSet::new();
    e.walk(&mut |x| match x {
        Expr::Sum { idx, .. } | Expr::Dots(_, idx) => {
            has |= idx == from;
            taken.insert(idx.clone());
        }
        Expr::Var(v) => {
            if let Some(t) = &v.sub {
                taken.extend(t.chars().map(String::from));
            }
            taken.insert(v.base.clone());
        }
        _ => {}
    });
    if !has {
        return e;
    }
    let Some(to) = ["k", "l", "m", "p", "q", "r", "u", "v"]
        .into_iter()
        .find(|c| !taken.contains(*c) && *c != from && *c != keep)
    else {
        return e;
    };
    rebind(e, from, to)
}

/// `e` with the index `from` renamed `to`, in subscripts (`x_{from}`) and entries.
fn rename_index(e: Expr, from: &str, to: &str) -> Expr {
    e.rewrite(&mut |x| match x {
        Expr::Var(mut v) => {
            if let Some(t) = &v.sub
                && t.len() <= 2
                && t.contains(from)
            {
                v.sub = Some(t.replace(from, to));
            }
            Expr::Var(v)
        }
        Expr::Index(a, idxs) => Expr::Index(
            a,
            idxs.into_iter()
                .map(|t| if t == from { to.to_string() } else { t })
                .collect(),
        ),
        other => other,
    })
}

/// `e` with the sums over `from` rebound to `to` (their bodies' `x_from` renamed).
fn rebind(e: Expr, from: &str, to: &str) -> Expr {
    match e {
        Expr::Sum {
            idx,
            lo,
            hi,
            body,
            prod,
        } if idx == from => Expr::Sum {
            idx: to.to_string(),
            lo,
            hi,
            body: rename_index(*body, from, to).bx(),
            prod,
        },
        Expr::Dots(body, idx) if idx == from => {
            Expr::Dots(rename_index(*body, from, to).bx(), to.to_string())
        }
        other => other
            .map_children(&mut |c| Ok::<Expr, ()>(rebind(c, from, to)))
            .unwrap_or(Expr::ZeroAny),
    }
}

/// Is a definition of `base_i` with this body entry-wise: it has entries of other
/// vectors at `i` (`z_i`) and never mentions `base` itself (a recurrence in time,
/// `x_t = x_{t-1} + ...`, is not).
fn entry_wise(body: &Expr, base: &str, i: &str) -> bool {
    let mut other = false;
    let mut own = false;
    body.walk(&mut |x| {
        if let Expr::Var(v) = x {
            if v.base == base {
                own = true;
            } else if v.sub.as_deref() == Some(i) {
                other = true;
            }
        }
    });
    other && !own
}
