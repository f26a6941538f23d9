//! Quantities that vary with the variable of a total derivative through no formula
//! the note gives: related rates (`V = \pi r^2 h`, then `\frac{dV}{dt} = \pi (2 r
//! \frac{dr}{dt} h + r^2 \frac{dh}{dt})`), implicit differentiation written with
//! primes on brackets (`1 + \frac{dy}{dx} = -\sin(xy) (xy)'`) or along a relation the
//! note states (`x^2 + y^2 = 100`, then `2x \frac{dx}{dt} + 2y \frac{dy}{dt} = 0`).
//!
//! The letters the identity differentiates by the variable (`\frac{dr}{dt}`) vary
//! with it, and so does the letter a relation ties to them; the other letters are
//! held fixed. A letter the note gave a value (`h = 2`: its value at one instant)
//! varies too. The rate of a letter that varies is a free number (`dr/dt`); the rate
//! of a letter defined from them (`V`) is its chain rule; the derivative of a
//! bracket is its partial derivatives times the rates; on a relation `H = 0`, one
//! letter's rate is the relation's (`-H_x \dot x / H_y`) and points are sampled on
//! its curve.
//!
//! Read so only when the identity is a rule (some rate comes from a definition, a
//! bracket or a relation): `\frac{dh}{dt} = -3` states a value, and `\frac{dy}{dt} =
//! k y` a differential equation, not identities. A pass holds whatever the rates;
//! a failure may come from a tie between the quantities that the note leaves
//! unstated, so it is a skip (`ambiguous`, in `verdict`).

use std::cell::Cell;
use std::collections::BTreeSet;

use crate::check::SkipReason;
use crate::check::notation::{ARRAY_MARKS, is_constant_letter};
use crate::check::syntax::{self, BinOp, Ctx, Deriv, Expr, PErr, Sym, Tok};

use super::identity::build_rates_on;
use super::indices::TIME_DOTS;
use super::rewrite::subst_ctx;
use super::scope::uses_symbol;
use super::{Def, Ident, Skip, State};

/// How many relations stated before the identity it may be read on, latest first.
const RELATIONS_TRIED: usize = 3;

/// One reading of an identity with varying quantities.
pub(super) struct Rates {
    /// The variable of the total derivatives (`t`; `x` for implicit differentiation).
    var: Sym,
    /// The letters that vary with it and are not defined from others.
    bases: Vec<Sym>,
    relation: Option<Relation>,
    /// Rates the identity writes with dots (`\dot{x}`, `\ddot{x}` by `t`): the
    /// key of the letter and its rate's symbol.
    dots: Vec<(String, Sym)>,
}

/// A relation `H = 0` the note states between varying letters: `dep`'s rate is the
/// relation's, from the rates of `movers` (the variable's is 1).
struct Relation {
    dep: Sym,
    h: Expr,
    movers: Vec<Sym>,
}

impl Rates {
    /// The letter sampled on the relation's curve, and `H`.
    pub(super) fn implicit(&self) -> Option<(Sym, Expr)> {
        self.relation.as_ref().map(|r| (r.dep.clone(), r.h.clone()))
    }

    /// The reading, for the verdict's message.
    fn describe(&self) -> String {
        let var = self.var.show();
        let names = |v: &[Sym]| v.iter().map(Sym::show).collect::<Vec<_>>().join(", ");
        let free: Vec<Sym> = self
            .bases
            .iter()
            .filter(|b| {
                self.relation
                    .as_ref()
                    .is_none_or(|r| r.dep.key() != b.key())
            })
            .cloned()
            .collect();
        let mut out = if free.is_empty() {
            format!("read with the quantities varying with {var}")
        } else {
            format!(
                "read with {} varying with {var} (any rates), the other letters fixed",
                names(&free)
            )
        };
        if let Some(r) = &self.relation {
            out.push_str(&format!(
                "; {} tied to {} by the relation the note states",
                r.dep.show(),
                names(&r.movers)
            ));
        }
        out
    }
}

/// Why an identity with primes whose variable nothing gives is skipped.
pub(super) const PRIME_WITHOUT_VARIABLE: &str =
    "a derivative written with a prime (f') of an abstract function";

/// `e` with the primes on brackets and plain letters (`(xy)'`, `v'`) taken by `v`.
pub(super) fn by_variable(e: Expr, v: &Sym) -> Expr {
    e.rewrite(&mut |x| match x {
        Expr::Deriv(id, d) if d.wrt.base.is_empty() && d.total && !d.nabla && d.op.is_none() => {
            Expr::Deriv(
                id,
                Box::new(Deriv {
                    wrt: v.clone(),
                    ..*d
                }),
            )
        }
        other => other,
    })
}

/// A derivative written as a prime on a bracket in several letters (`(xy)'`) or on
/// a plain letter (`v'`), whose variable only the note's reading gives.
pub(super) fn bare_prime(e: &Expr) -> bool {
    e.any(&|x| {
        matches!(x, Expr::Deriv(_, d)
            if d.wrt.base.is_empty() && d.total && !d.nabla && d.op.is_none())
    })
}

/// The identity read with varying quantities, when `first` (the skip without) says
/// something is abstract; `first` again when no such reading applies. The first
/// reading that builds is the identity, the others (on earlier relations) are in
/// [`Ident::implicit_alts`].
pub(super) fn build_rates(
    st: &State,
    mems: &[&[Tok]],
    cx: &Ctx,
    src: &str,
    first: Skip,
) -> Result<Ident, Skip> {
    if !(first.kind == SkipReason::Abstract || first.message == TIME_DOTS)
        || writes_arrays(mems, src)
    {
        return Err(first);
    }
    let mut parsed = Vec::new();
    for m in mems {
        match syntax::parse_expr(m, cx) {
            Ok(e) => parsed.push(e),
            Err(_) => return Err(first),
        }
    }
    let Some((var, mut moving)) =
        differentiated(&parsed).or_else(|| primed_on_relation(st, &parsed))
    else {
        return Err(first);
    };
    // `\dot{x}`, `\ddot{x}` next to a derivative by t: x varies, and so does its
    // rate `\dot{x}` when `\ddot{x}` is written
    let dots = if var.base == TIME {
        dotted(&parsed)
    } else {
        Vec::new()
    };
    for (key, _) in &dots {
        if !moving.iter().any(|m| m.key() == *key) {
            moving.push(Sym {
                base: key.clone(),
                sub: None,
                bold: false,
                upper: false,
            });
        }
    }
    let fixed_name = |k: &str| st.funcs.contains_key(k);
    if fixed_name(&var.key())
        || st.syms.contains_key(&var.key())
        || moving.iter().any(|x| fixed_name(&x.key()))
    {
        return Err(first);
    }
    // a value given to a varying letter (`h = 0.4\,\text{m}`, through no other
    // varying letter) is its value at one instant
    let mut st2 = st.clone();
    for x in &moving {
        if let Some(Def::Sym { body: Ok(b), .. }) = st.syms.get(&x.key())
            && !b.any(&|y| matches!(y, Expr::Apply(..) | Expr::Deriv(..)))
            && !uses_symbol(b, &var.key())
            && !moving.iter().any(|m| uses_symbol(b, &m.key()))
        {
            st2.syms.remove(&x.key());
        }
    }
    let bases: Vec<Sym> = moving
        .iter()
        .filter(|x| !st2.syms.contains_key(&x.key()))
        .cloned()
        .collect();
    let mut readings = vec![Rates {
        var: var.clone(),
        bases: bases.clone(),
        relation: None,
        dots: dots.clone(),
    }];
    for (h, keys, _) in st.relations.iter().rev().take(RELATIONS_TRIED) {
        if let Some(rel) = relation_on(h, keys, &var, &bases) {
            let mut b = bases.clone();
            if !b.iter().any(|x| x.key() == rel.dep.key()) {
                b.push(rel.dep.clone());
            }
            readings.push(Rates {
                var: var.clone(),
                bases: b,
                relation: Some(rel),
                dots: dots.clone(),
            });
        }
    }
    let mut built: Vec<Ident> = Vec::new();
    for r in &readings {
        if let Ok(mut id) = build_rates_on(&st2, mems, cx, src, r) {
            id.rates = Some(r.describe());
            built.push(id);
        }
    }
    if built.is_empty() {
        return Err(first);
    }
    let mut id = built.remove(0);
    id.implicit_alts = built;
    Ok(id)
}

/// The letter of time derivatives written with dots.
const TIME: &str = "t";

/// The rates the identity writes with dots: (`x`, `\dot{x}`) for `\dot{x}`, and
/// (`\dot{x}`, `\ddot{x}`) too for `\ddot{x}`. Only plain letters (`\dot{q}`,
/// `\dot\theta`), not ones with subscripts.
fn dotted(parsed: &[Expr]) -> Vec<(String, Sym)> {
    let mut out: Vec<(String, Sym)> = Vec::new();
    let mut add = |key: String, rate: Sym| {
        if !out.iter().any(|(k, _)| *k == key) {
            out.push((key, rate));
        }
    };
    for e in parsed {
        e.walk(&mut |x| {
            let Expr::Var(s) = x else { return };
            if s.sub.is_some() {
                return;
            }
            let plain =
                |inner: &str| !inner.contains(['{', '}', '_', '^', ' ']) && !inner.is_empty();
            if let Some(inner) = s
                .base
                .strip_prefix("\\ddot{")
                .and_then(|r| r.strip_suffix('}'))
                && plain(inner)
            {
                let dot = Sym {
                    base: format!("\\dot{{{inner}}}"),
                    ..s.clone()
                };
                add(dot.key(), s.clone());
                add(inner.to_string(), dot);
            } else if let Some(inner) = s
                .base
                .strip_prefix("\\dot{")
                .and_then(|r| r.strip_suffix('}'))
                && plain(inner)
            {
                add(inner.to_string(), s.clone());
            }
        });
    }
    out
}

/// Does the identity write vectors or matrices or a cross product (where a scalar
/// reading does not apply)?
pub(super) fn writes_arrays(mems: &[&[Tok]], src: &str) -> bool {
    mems.iter()
        .filter_map(|m| src.get(m.first()?.start..m.last()?.end))
        .any(|t| {
            ARRAY_MARKS
                .iter()
                .chain(["\\times"].iter())
                .any(|k| t.contains(k))
        })
}

/// The one variable of the derivatives and the letters differentiated by it
/// (`\frac{dr}{dt}`: `r`). Every derivative is first order, by a plain letter, or a
/// prime on a bracket; each is total, or, in the chain rule through intermediate
/// letters (`\frac{\partial z}{\partial t} = \frac{\partial z}{\partial x}
/// \frac{\partial x}{\partial t} + \dots`), by the variable (the one letter
/// differentiated by that is itself never differentiated) or by a letter that
/// varies with it.
fn differentiated(parsed: &[Expr]) -> Option<(Sym, Vec<Sym>)> {
    // (of, by, total) of each derivative by a letter
    let mut derivs: Vec<(Option<Sym>, Sym, bool)> = Vec::new();
    let mut primed: Vec<Sym> = Vec::new();
    let mut bad = false;
    for e in parsed {
        e.walk(&mut |x| {
            let Expr::Deriv(_, d) = x else { return };
            if d.nabla
                || d.op.is_some()
                || d.entry.is_some()
                || d.vec
                || d.prime
                || !d.held.is_empty()
                || d.of.any(&|y| matches!(y, Expr::Deriv(..)))
            {
                bad = true;
                return;
            }
            if d.wrt.base.is_empty() {
                // `v'`: v varies
                if !d.total {
                    bad = true;
                } else if let Expr::Var(s) = &d.of
                    && !primed.iter().any(|m| m.key() == s.key())
                {
                    primed.push(s.clone());
                }
                return;
            }
            if d.wrt.bold || d.wrt.upper || d.wrt.sub.is_some() {
                bad = true;
                return;
            }
            let of = match &d.of {
                Expr::Var(s) if !s.bold && s.sub.is_none() && s.key() != d.wrt.key() => {
                    Some(s.clone())
                }
                _ => None,
            };
            derivs.push((of, d.wrt.clone(), d.total));
        });
    }
    if bad {
        return None;
    }
    let differentiated_key = |k: &str| {
        derivs
            .iter()
            .any(|(of, _, _)| of.as_ref().is_some_and(|s| s.key() == k))
    };
    let mut outer: Vec<&Sym> = Vec::new();
    for (_, by, _) in &derivs {
        if !differentiated_key(&by.key()) && !outer.iter().any(|o| o.key() == by.key()) {
            outer.push(by);
        }
    }
    let var = match outer.as_slice() {
        [v] => (*v).clone(),
        _ => return None,
    };
    let mut moving = primed;
    for (of, by, _) in &derivs {
        if by.key() == var.key()
            && let Some(s) = of
            && !moving.iter().any(|m| m.key() == s.key())
        {
            moving.push(s.clone());
        }
    }
    // a partial derivative by the variable, or any derivative by another letter,
    // only in the chain rule through the letters that vary with it
    let by_intermediate = derivs.iter().any(|(_, by, _)| by.key() != var.key());
    let all_total = derivs.iter().all(|(_, _, total)| *total);
    if by_intermediate || !all_total {
        let varies = |k: &str| moving.iter().any(|m| m.key() == k);
        if !by_intermediate
            || derivs
                .iter()
                .any(|(_, by, _)| by.key() != var.key() && !varies(&by.key()))
        {
            return None;
        }
    }
    Some((var, moving))
}

/// Implicit differentiation written with primes only (`(x^2 + y^2)' = (25)'`,
/// `2x + 2y y' = 0`): their variable is `x` when a relation this part of the note
/// states ties `x` to the other letters the identity writes, and those vary with it
/// (the primed ones at least).
fn primed_on_relation(st: &State, parsed: &[Expr]) -> Option<(Sym, Vec<Sym>)> {
    const X: &str = "x";
    let mut primed: Vec<Sym> = Vec::new();
    let mut letters: BTreeSet<String> = BTreeSet::new();
    let mut other = false;
    for e in parsed {
        e.walk(&mut |x| match x {
            Expr::Deriv(_, d) => {
                if !(d.wrt.base.is_empty() && d.total && !d.nabla && d.op.is_none()) {
                    other = true;
                } else if let Expr::Var(s) = &d.of
                    && !primed.iter().any(|m| m.key() == s.key())
                {
                    primed.push(s.clone());
                }
            }
            Expr::Var(s) => {
                letters.insert(s.key());
            }
            Expr::Apply(..) => other = true,
            _ => {}
        });
    }
    if other || !letters.contains(X) {
        return None;
    }
    let tied = st.relations.iter().rev().any(|(_, keys, part)| {
        *part == st.part
            && keys.contains(X)
            && letters
                .iter()
                .all(|k| keys.contains(k) || is_constant_letter(k))
    });
    let var = Sym {
        base: X.to_string(),
        sub: None,
        bold: false,
        upper: false,
    };
    (tied && primed.iter().all(|p| p.key() != X)).then_some((var, primed))
}

/// A relation (`H`, its letters) that ties the variable or a varying letter to
/// another letter: the letter it gives (a varying letter, else one that is not a
/// constant by convention) and the letters that move it.
fn relation_on(h: &Expr, keys: &BTreeSet<String>, var: &Sym, bases: &[Sym]) -> Option<Relation> {
    let mut letters: Vec<Sym> = Vec::new();
    h.walk(&mut |x| {
        if let Expr::Var(s) = x
            && keys.contains(&s.key())
            && !letters.iter().any(|l| l.key() == s.key())
        {
            letters.push(s.clone());
        }
    });
    let varies = |s: &Sym| bases.iter().any(|b| b.key() == s.key());
    let has_var = keys.contains(&var.key());
    let candidates: Vec<&Sym> = letters
        .iter()
        .filter(|s| s.key() != var.key())
        .filter(|s| varies(s) || (has_var && !is_constant_letter(&s.base)))
        .collect();
    // the letter given: the last varying one (`y` of `x^2 + y^2 = 100`)
    let dep = (*candidates
        .iter()
        .rev()
        .find(|s| varies(s))
        .or(candidates.last())?)
    .clone();
    let movers: Vec<Sym> = letters
        .iter()
        .filter(|s| s.key() != dep.key() && (s.key() == var.key() || varies(s)))
        .cloned()
        .collect();
    if movers.is_empty() {
        return None;
    }
    Some(Relation {
        dep,
        h: h.clone(),
        movers,
    })
}

/// The members with every derivative by the variable written through the rates;
/// refused (`abstract`) when none comes from a definition, a bracket or a relation.
pub(super) fn rewrite(
    st: &State,
    parsed: Vec<Result<Expr, PErr>>,
    r: &Rates,
) -> Result<Vec<Result<Expr, PErr>>, Skip> {
    let rule = Cell::new(false);
    let mut out = Vec::with_capacity(parsed.len());
    for p in parsed {
        let Ok(e) = p else {
            out.push(p);
            continue;
        };
        let mut err: Option<Skip> = None;
        let e = e.rewrite(&mut |x| match x {
            Expr::Deriv(id, d)
                if (d.total && d.wrt.base.is_empty()) || d.wrt.key() == r.var.key() =>
            {
                let got = match &d.of {
                    Expr::Var(s) if s.sub.is_none() && !s.bold => rate(st, r, s, &rule),
                    of => through(st, r, of, &rule),
                };
                match got {
                    Ok(e) => e,
                    Err(s) => {
                        err.get_or_insert(s);
                        Expr::Deriv(id, d)
                    }
                }
            }
            other => other,
        });
        if let Some(s) = err {
            return Err(s);
        }
        out.push(Ok(e));
    }
    if !rule.get() {
        return Err(Skip {
            kind: SkipReason::Abstract,
            message: "no rate follows from a definition, a bracket or a relation: an equation \
                      for the rates, not an identity"
                .into(),
        });
    }
    Ok(out)
}

/// The rate of letter `x`: 1 for the variable, a free number for a varying letter,
/// the relation's for the letter it gives, the chain rule for a defined letter, 0
/// for a fixed one.
fn rate(st: &State, r: &Rates, x: &Sym, rule: &Cell<bool>) -> Result<Expr, Skip> {
    if x.key() == r.var.key() {
        return Ok(Expr::Num(1.0));
    }
    if let Some(rel) = &r.relation
        && rel.dep.key() == x.key()
    {
        rule.set(true);
        let mut num: Option<Expr> = None;
        for m in &rel.movers {
            let term = times(partial(rel.h.clone(), m), rate(st, r, m, rule)?);
            num = Some(match num {
                Some(a) => Expr::bin(BinOp::Add, a, term),
                None => term,
            });
        }
        let num = num.unwrap_or(Expr::Num(0.0));
        return Ok(Expr::Neg(
            Expr::bin(BinOp::Div, num, partial(rel.h.clone(), &rel.dep)).bx(),
        ));
    }
    if let Some((_, dot)) = r.dots.iter().find(|(k, _)| *k == x.key()) {
        rule.set(true);
        return Ok(Expr::Var(dot.clone()));
    }
    if r.bases.iter().any(|b| b.key() == x.key()) {
        return Ok(Expr::Var(Sym {
            base: format!("d{}/d{}", x.show(), r.var.show()),
            sub: None,
            bold: false,
            upper: false,
        }));
    }
    if st.syms.contains_key(&x.key()) {
        return through(st, r, &Expr::Var(x.clone()), rule);
    }
    Ok(Expr::Num(0.0))
}

/// The derivative by the variable of an expression whose letters vary: the sum of
/// its partial derivatives by them times their rates.
fn through(st: &State, r: &Rates, of: &Expr, rule: &Cell<bool>) -> Result<Expr, Skip> {
    let expanded = subst_ctx(st, of.clone(), &BTreeSet::new(), true, &Cell::new(false))?;
    let mut sum: Option<Expr> = None;
    let movers = std::iter::once(&r.var).chain(r.bases.iter());
    for k in movers {
        if !uses_symbol(&expanded, &k.key()) {
            continue;
        }
        if k.key() != r.var.key() {
            rule.set(true);
        }
        let term = times(partial(of.clone(), k), rate(st, r, k, rule)?);
        sum = Some(match sum {
            Some(a) => Expr::bin(BinOp::Add, a, term),
            None => term,
        });
    }
    Ok(sum.unwrap_or(Expr::Num(0.0)))
}

fn partial(of: Expr, by: &Sym) -> Expr {
    Expr::Deriv(0, Box::new(Deriv::by(of, by.clone())))
}

fn times(a: Expr, b: Expr) -> Expr {
    match b {
        Expr::Num(1.0) => a,
        b => Expr::bin(BinOp::Mul, a, b),
    }
}
