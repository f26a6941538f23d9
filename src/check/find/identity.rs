//! One statement read: a definition, a declaration, a condition, or an identity
//! built from its members (with evaluation bars, the constant rule, entries of
//! vectors, abstract functions).

use std::cell::Cell;
use std::collections::BTreeSet;

use crate::check::notation::{Func, is_constant_letter};
use crate::check::syntax::{self, Ctx, Deriv, Expr, PErr, Rel, Sym, Tk, Tok, is_space, plain_text};
use crate::check::{Finding, Layout, Otimes, SkipReason};

use super::indices::{free_indices, resolve, time_derivative_dots};
use super::rates::{PRIME_WITHOUT_VARIABLE, Rates, bare_prime, by_variable};
use super::rewrite::{bind_prime_at, dim_values, show_name, subst_ctx};
use super::scope::{de_unknowns, declaration, define, domain_condition, symmetric_decl};
use super::statements::{
    has_deriv, has_prime_call, has_sub_partial, is_blank_or_prompt, members, sub_partials,
};
use super::{Bar, Def, Ident, Skip, State};

/// A zero written as a literal: `0`, `\mathbf{0}`, `\vec{0}^T`.
fn zero_literal(e: &Expr) -> bool {
    match e {
        Expr::Num(x) => *x == 0.0,
        Expr::ZeroAny | Expr::Zeros(_) => true,
        Expr::Post(a, _) => zero_literal(a),
        _ => false,
    }
}

/// The constant rule `\frac{\partial a}{\partial x} = 0`: one member is the derivative
/// of a bare symbol that the note never defined nor used as a function (no argument
/// list), and every other member is a literal zero. The symbol is then a constant:
/// its operand is marked as an expression (`1 a`) so it is not read as abstract, and
/// an untransposed zero (`0`, `\mathbf{0}`) is the zero of the derivative's shape.
/// Only letters that conventionally name constants count: `a`, `b`, `c`, `k` (plain
/// or bold) and lowercase Greek letters other than the function letters `\phi`,
/// `\varphi`, `\psi`, `\ell`, `\sigma`; the others (`y`, `\mathbf{x}`, uppercase, calligraphic
/// or hatted ones) usually name quantities that depend on the variable, and stay
/// abstract (`\frac{dy}{dx} = 0` is a condition, not an identity).
fn constant_rule(st: &State, parsed: Vec<Result<Expr, PErr>>) -> Vec<Result<Expr, PErr>> {
    let derivs: Vec<usize> = (0..parsed.len())
        .filter(|&i| !matches!(&parsed[i], Ok(e) if zero_literal(e)))
        .collect();
    let [k] = derivs.as_slice() else {
        return parsed;
    };
    let Some(Ok(Expr::Deriv(_, d))) = parsed.get(*k) else {
        return parsed;
    };
    let Expr::Var(s) = &d.of else {
        return parsed;
    };
    let constant = !s.upper
        && is_constant_letter(&s.base)
        && s.base != d.wrt.base
        && !d.wrt.base.is_empty()
        && !st.syms.contains_key(&s.key())
        && !st.funcs.contains_key(&s.key())
        && !st.funcs.contains_key(&s.base);
    if !constant {
        return parsed;
    }
    parsed
        .into_iter()
        .map(|p| match p {
            Ok(Expr::Deriv(id, mut d)) => {
                let of = std::mem::replace(&mut d.of, Expr::ZeroAny);
                d.of = Expr::bin(syntax::BinOp::Mul, Expr::Num(1.0), of);
                Ok(Expr::Deriv(id, d))
            }
            // `0`, `\mathbf{0}` untransposed: the zero of the derivative's shape
            Ok(Expr::Num(_) | Expr::Zeros(_)) => Ok(Expr::ZeroAny),
            other => other,
        })
        .collect()
}

/// `\underbrace{-[y \log p + \dots]}_{=: L(w, b)}`: the brace names what it holds (`=:`
/// defines the name on its right), a definition like `L(w, b) := ...`.
fn underbrace_definitions(st: &mut State, stmt: &[Tok], src: &str) {
    let mut k = 0;
    while k < stmt.len() {
        if !stmt[k].is_cmd("underbrace") {
            k += 1;
            continue;
        }
        let Some(open) = (k + 1..stmt.len()).find(|&j| !is_space(&stmt[j].tk)) else {
            return;
        };
        if stmt[open].tk != Tk::Open {
            k += 1;
            continue;
        }
        let end = crate::check::syntax::skip_group(stmt, open);
        let body = &stmt[open + 1..end.saturating_sub(1)];
        let Some(us) = (end..stmt.len()).find(|&j| !is_space(&stmt[j].tk)) else {
            return;
        };
        if !stmt[us].is_ch('_') {
            k = end;
            continue;
        }
        let Some(sopen) = (us + 1..stmt.len()).find(|&j| !is_space(&stmt[j].tk)) else {
            return;
        };
        if stmt[sopen].tk != Tk::Open {
            k = end;
            continue;
        }
        let send = crate::check::syntax::skip_group(stmt, sopen);
        let sub: Vec<&Tok> = stmt[sopen + 1..send.saturating_sub(1)]
            .iter()
            .filter(|t| !is_space(&t.tk))
            .collect();
        if sub.len() > 2 && sub[0].is_ch('=') && sub[1].is_ch(':') {
            let at = (sopen + 1..send)
                .find(|&j| stmt[j].is_ch(':'))
                .unwrap_or(sopen);
            let head = &stmt[at + 1..send.saturating_sub(1)];
            let funcs = st.func_names();
            let ids = Cell::new(0u32);
            let cx = Ctx::new(&funcs, &ids, src);
            define(st, head, body, &cx);
        }
        k = send;
    }
}

/// Handles one statement: a definition, a declaration, or an identity.
#[allow(clippy::too_many_arguments)]
pub(super) fn statement(
    st: &mut State,
    stmt: &[Tok],
    src: &str,
    span: usize,
    layout: Option<Layout>,
    otimes: Option<Otimes>,
    out: &mut Vec<Finding>,
) -> Option<()> {
    underbrace_definitions(st, stmt, src);
    // `f'' = ...` after `f(x) = ...`: the derivative at the function's parameter
    let with_args = bare_primes(st, stmt, false);
    let stmt: &[Tok] = with_args.as_deref().unwrap_or(stmt);
    let (mut mems, mut rels) = members(stmt);
    if rels.is_empty() {
        return None;
    }
    // `y' - \alpha y = C e^{\beta x}`: a differential equation for y, whose `y` is its
    // unknown, not a `y` defined in an earlier part of the note (under another heading
    // or numbered item: a solution found for another equation); `y'' - 2\alpha y' +
    // \alpha^2 y = 0` (homogeneous) never holds for a `y` defined before
    if rels == [Rel::Eq] {
        let homogeneous = plain_text(mems[1]).trim() == "0";
        for y in de_unknowns(stmt) {
            if homogeneous || st.def_part.get(&y).is_some_and(|&(part, _)| part < st.part) {
                st.syms.remove(&y);
                st.funcs.remove(&y);
            }
        }
    }
    let funcs = st.func_names();
    let ids = Cell::new(0u32);
    let cx = Ctx::new(&funcs, &ids, src);
    // `g(-x) = -g(x)` under a new heading: a property the note gives a function of
    // this part (an odd `g`), not a statement about the `g` another exercise defined
    // (one made in a section enclosing this one is the same `g`)
    if rels == [Rel::Eq]
        && let Some(g) = functional_equation(&mems, &cx)
        && st
            .def_part
            .get(&g)
            .is_some_and(|&(part, _)| !st.encloses(part))
    {
        st.funcs.remove(&g);
        return None;
    }
    // `W = W^\top \in \mathbb{R}^{n \times n}`: symmetric, and declared
    if rels == [Rel::Eq, Rel::Other]
        && let Some(at) = stmt.iter().position(|t| t.is_cmd("in"))
        && let Some(k) = symmetric_decl(st, &stmt[..at], src)
    {
        st.symmetric.insert(k);
        declaration(st, mems[0], mems[2], &cx);
        return None;
    }
    // `\Sigma \succ 0`, `A \succeq 0`: symmetric positive (semi)definite
    if rels == [Rel::Other]
        && stmt.iter().any(|t| t.is_cmd("succ") || t.is_cmd("succeq"))
        && plain_text(mems[1]).trim() == "0"
    {
        for p in syntax::split_top(mems[0], |t| t.is_ch(',')) {
            if let Ok(Expr::Var(s)) = syntax::parse_expr(p, &cx) {
                st.symmetric.insert(s.key());
                st.positive.insert(s.key());
            }
        }
        return None;
    }
    // `... = 2\mathbf{x}^\top \in \mathbb{R}^{1 \times n}`: the shape, said in words
    if rels.len() >= 2
        && rels.last() == Some(&Rel::Other)
        && mems
            .last()
            .is_some_and(|m| plain_text(m).trim_start().starts_with("\\mathbb"))
        && stmt.iter().any(|t| t.is_cmd("in"))
    {
        rels.pop();
        mems.pop();
    }
    // declarations: `x, y \in \mathbb{R}^n`
    if rels.len() == 1 && rels[0] == Rel::Other && stmt.iter().any(|t| t.is_cmd("in")) {
        declaration(st, mems[0], mems[1], &cx);
        return None;
    }
    // positivity: `\lambda > 0`
    if rels.len() == 1 && matches!(rels[0], Rel::Gt | Rel::Ge) {
        if plain_text(mems[1]).trim() == "0" {
            for p in syntax::split_top(mems[0], |t| t.is_ch(',')) {
                if let Ok(Expr::Var(s)) = syntax::parse_expr(p, &cx) {
                    st.positive.insert(s.key());
                }
            }
        } else if !mems.iter().any(|m| has_deriv(m))
            && let Some(c) = domain_condition(st, stmt, src)
        {
            st.conds.push(c);
            st.cond_part.push(st.part);
        }
        return None;
    }
    // other conditions: `0 < \alpha < 1`, `x < 1`
    if rels
        .iter()
        .all(|r| matches!(r, Rel::Lt | Rel::Gt | Rel::Le | Rel::Ge))
        && !mems.iter().any(|m| has_deriv(m))
    {
        if let Some(c) = domain_condition(st, stmt, src) {
            st.conds.push(c);
            st.cond_part.push(st.part);
        }
        return None;
    }
    let derivs: Vec<bool> = mems
        .iter()
        .map(|m| has_deriv(m) || has_prime_call(m, &st.funcs) || has_sub_partial(m, st))
        .collect();
    let any_deriv = derivs.iter().any(|&d| d);
    if let Some(k) = symmetric_decl(st, stmt, src) {
        st.symmetric.insert(k);
        return None;
    }
    // `\sum_k y_k = 1`, `\mathbf{1}^T \mathbf{y} = 1`: y is a probability vector
    if !any_deriv
        && rels.len() == 1
        && rels[0] == Rel::Eq
        && let Some(k) = sums_to_one(mems[0], mems[1], &cx)
    {
        st.simplex.insert(k);
        return None;
    }
    if !any_deriv {
        // a definition `y = ...` / `f(x) = ...` / `y := ...`
        // `c = -2 \pm 3\sqrt{2}`, `c = 0 \lor c = 2`, `c = 0 \land c = 1`: the roots of
        // an equation, a statement about values, not a definition
        let roots = stmt.iter().any(|t| {
            ["pm", "mp", "lor", "vee", "land", "wedge"]
                .iter()
                .any(|c| t.is_cmd(c))
        });
        // `$y = C_1 e^{mx} + C_2 x e^{mx}$ if $m_1 = m_2$`, `$y(x) = ...$ is a
        // solution`: a result about an unknown, not a definition (`:=` always is one)
        let result = st.result_said && rels[0] == Rel::Eq;
        let defs = st.defs;
        if matches!(rels[0], Rel::Eq | Rel::Def)
            && mems.len() >= 2
            && !is_blank_or_prompt(mems[1])
            && !roots
            && !result
        {
            define(st, mems[0], mems[1], &cx);
        }
        // `x^2 + y^2 = 25`: not a definition, a relation between its letters
        if st.defs == defs && rels == [Rel::Eq] && !roots {
            relation(st, mems[0], mems[1], &cx);
        }
        return None;
    }
    // `V''(5) = 24 \cdot 5 - 260 = -140 < 0`: the equalities are the identity; the
    // closing sign is a claim about its value, not checked
    // (`f'(x) = 15x^4 + 7 > 0 + 7 > 0`: a run of them, a bound argued step by step)
    let sign = |r: &Rel| matches!(r, Rel::Lt | Rel::Gt | Rel::Le | Rel::Ge | Rel::Ne);
    let equalities = rels.iter().take_while(|r| **r == Rel::Eq).count();
    if equalities >= 1
        && rels.len() > equalities
        && rels[equalities..].iter().all(sign)
        && (rels[equalities..]
            .iter()
            .all(|r| matches!(r, Rel::Gt | Rel::Ge | Rel::Ne))
            || rels[equalities..]
                .iter()
                .all(|r| matches!(r, Rel::Lt | Rel::Le | Rel::Ne)))
    {
        rels.truncate(equalities);
        mems.truncate(equalities + 1);
    }
    if rels.iter().any(|r| *r != Rel::Eq) {
        if rels.iter().all(|r| matches!(r, Rel::Eq | Rel::Def)) && rels[0] == Rel::Def {
            // `J := \frac{\partial y}{\partial x}`: a name for a derivative
            return None;
        }
        if !rels.contains(&Rel::Eq) {
            return None;
        }
        let first = mems.iter().find(|m| !m.is_empty())?;
        let start = first.first()?.start;
        let end = stmt.last()?.end;
        out.push(skip_finding(
            span,
            start,
            src,
            end,
            layout,
            otimes,
            Skip {
                kind: SkipReason::Unsupported,
                message: "a chain that mixes `=` with other relations".into(),
            },
        ));
        return None;
    }
    // drop fill-in prompts
    let mut keep: Vec<&[Tok]> = mems
        .iter()
        .copied()
        .filter(|m| !is_blank_or_prompt(m))
        .collect();
    if keep.len() < 2 {
        return None;
    }
    let is_deriv =
        |m: &[Tok]| has_deriv(m) || has_prime_call(m, &st.funcs) || has_sub_partial(m, st);
    // a leading label `J = \frac{...} = ...`
    if !is_deriv(keep[0])
        && let Ok(Expr::Var(s)) = syntax::parse_expr(keep[0], &cx)
        && !st.syms.contains_key(&s.key())
    {
        keep.remove(0);
    }
    if keep.len() < 2 || !keep.iter().any(|m| is_deriv(m)) {
        return None;
    }
    let start = keep[0]
        .iter()
        .find(|t| !is_space(&t.tk))
        .map_or(0, |t| t.start);
    let end = keep
        .last()
        .and_then(|m| m.iter().rev().find(|t| !is_space(&t.tk)))
        .map_or(start, |t| t.end);
    // a letter defined in an earlier part, whose definition brings in a quantity
    // the note never gives: maybe a new letter of the same name
    // `\frac{\partial J}{\partial w} = \frac{\partial}{\partial w}(...) = ...` with J
    // never defined and not used again: the first member names the derivative the
    // steps work out, and the steps are checked on their own
    let mut start = start;
    let label = keep.len() >= 3
        && keep[1..].iter().any(|m| is_deriv(m))
        && derivative_label(st, &keep, &cx);
    let steps = if label {
        read_any(st, &keep[1..], &cx, src).ok()
    } else {
        None
    };
    let body = match steps {
        Some(id) => {
            start = keep[1]
                .iter()
                .find(|t| !is_space(&t.tk))
                .map_or(start, |t| t.start);
            Ok(id)
        }
        None => read_any(st, &keep, &cx, src)
            .or_else(|skip| super::stale::without_stale(st, &keep, &cx, src, skip)),
    };
    let f = match body {
        Ok(id) => finding(span, start, src, end, layout, otimes, Ok(id)),
        Err(s) => skip_finding(span, start, src, end, layout, otimes, s),
    };
    out.push(f);
    None
}

/// Is the first member the derivative of a quantity the note never defines and the
/// other members never mention (`\frac{\partial J}{\partial w}`, `\frac{\partial
/// \operatorname{cost}(w, b)}{\partial w_j}`), or such a name applied (`D(x^2)`): a
/// name for what they work out?
fn derivative_label(st: &State, mems: &[&[Tok]], cx: &Ctx) -> bool {
    // `MC = C'(x) = 2ax + b`: capitals written together, a name the note never gives
    // (marginal cost), not a product
    let sig: Vec<&Tok> = mems[0].iter().filter(|t| !is_space(&t.tk)).collect();
    if sig.len() >= 2
        && sig
            .iter()
            .all(|t| matches!(t.tk, Tk::Letter(c) if c.is_ascii_uppercase()))
        && sig.windows(2).all(|w| w[0].end == w[1].start)
    {
        let name: String = sig
            .iter()
            .filter_map(|t| match t.tk {
                Tk::Letter(c) => Some(c),
                _ => None,
            })
            .collect();
        return !st.syms.contains_key(&name) && !st.funcs.contains_key(&name);
    }
    let mut names = BTreeSet::new();
    let wrt = match syntax::parse_expr(mems[0], cx) {
        Ok(Expr::Deriv(_, d)) => {
            if !label_names(&d.of, &mut names) {
                return false;
            }
            Some(d.wrt)
        }
        // `D(x^2) = \frac{d}{dx}[x^2] = 2x`: an operator or a function the note
        // never defines, applied
        Ok(e @ Expr::Apply(..)) => {
            if !label_names(&e, &mut names) {
                return false;
            }
            None
        }
        // `\mathcal{D}(u^3 + u)`, read as a product: a capital written applied
        Ok(Expr::Bin(syntax::BinOp::Mul, a, _))
            if matches!(a.as_ref(), Expr::Var(s) if s.upper || s.base.starts_with("\\math"))
                && mems[0]
                    .iter()
                    .position(|t| t.is_ch('(') || t.is_cmd("left"))
                    .is_some_and(|k| {
                        matches!(syntax::parse_expr(&mems[0][..k], cx), Ok(Expr::Var(_)))
                    }) =>
        {
            label_names(&a, &mut names);
            None
        }
        _ => return false,
    };
    let defined = |k: &String| {
        wrt.as_ref().is_some_and(|w| k == &w.key() || k == &w.base)
            || st.syms.contains_key(k)
            || st.funcs.contains_key(k)
    };
    if names.is_empty() || names.iter().any(defined) {
        return false;
    }
    mems[1..].iter().all(|m| {
        syntax::parse_expr(m, cx).is_ok_and(|e| {
            !e.any(&|x| match x {
                Expr::Var(s) => names.contains(&s.key()) || names.contains(&s.base),
                Expr::Apply(name, _) => names.contains(name),
                _ => false,
            })
        })
    })
}

/// The names a label is made of: letters and functions applied to anything
/// (`L`, `\operatorname{cost}(w, b)`, `L L(w, b)`), else `false`.
fn label_names(e: &Expr, names: &mut BTreeSet<String>) -> bool {
    match e {
        Expr::Var(s) => {
            names.insert(s.key());
            true
        }
        Expr::Apply(name, _) if !syntax::is_notation_apply(name) => {
            names.insert(name.clone());
            true
        }
        Expr::Bin(syntax::BinOp::Mul, a, b) => label_names(a, names) && label_names(b, names),
        _ => false,
    }
}

fn finding(
    span: usize,
    start: usize,
    src: &str,
    end: usize,
    layout: Option<Layout>,
    otimes: Option<Otimes>,
    body: Result<Ident, Skip>,
) -> Finding {
    let latex = src
        .get(start..end.max(start))
        .unwrap_or("")
        .trim()
        .to_string();
    Finding {
        span,
        tex_offset: start,
        latex,
        layout,
        otimes,
        body,
    }
}

fn skip_finding(
    span: usize,
    start: usize,
    src: &str,
    end: usize,
    layout: Option<Layout>,
    otimes: Option<Otimes>,
    s: Skip,
) -> Finding {
    finding(span, start, src, end, layout, otimes, Err(s))
}

/// How many earlier relations of the same part an implicit derivative may also be
/// read on (`x^2 + y^2 = 25`, then a wrong step `2x + 2y = 0`: the curve is the
/// first).
const EARLIER_RELATIONS: usize = 3;

/// Parses and resolves the members of an identity. An abstract function anywhere
/// is reported before a member that does not parse. An implicit derivative is read
/// on the latest relation of the part, and also on the earlier ones.
/// The identity as written, or else read with quantities varying with the
/// variable (related rates, brackets under a prime), or else with the functions the
/// note never defines read as arbitrary smooth ones.
pub(super) fn read_any(
    st: &mut State,
    mems: &[&[Tok]],
    cx: &Ctx,
    src: &str,
) -> Result<Ident, Skip> {
    build(st, mems, cx, src)
        .or_else(|skip| super::rates::build_rates(st, mems, cx, src, skip))
        .or_else(|skip| super::generic::build_generic(st, mems, cx, src, skip))
}

pub(super) fn build(st: &State, mems: &[&[Tok]], cx: &Ctx, src: &str) -> Result<Ident, Skip> {
    let mut id = build_on(st, mems, cx, src, 0, false, None)?;
    if id.implicit.is_some() {
        for back in 1..=EARLIER_RELATIONS {
            let Some(k) = st.relations.len().checked_sub(back + 1) else {
                break;
            };
            if st.relations[k].2 != st.part {
                break;
            }
            if let Ok(alt) = build_on(st, mems, cx, src, back, false, None)
                && alt.implicit.is_some()
            {
                id.implicit_alts.push(alt);
            }
        }
    }
    Ok(id)
}

/// The letter v of statements that prime brackets in v alone and v itself (`x'
/// \sqrt{x^2 - 3} + x (\sqrt{x^2 - 3})'`, a product rule worked out): every
/// derivative is by v, and every prime without a variable is on v.
fn own_prime_variable(parsed: &[Result<Expr, PErr>]) -> Option<Sym> {
    let mut by: Option<Sym> = None;
    let mut bare_on_v = Vec::new();
    let mut other = false;
    for e in parsed.iter().flatten() {
        e.walk(&mut |x| {
            if let Expr::Deriv(_, d) = x {
                if d.wrt.base.is_empty() {
                    match &d.of {
                        Expr::Var(s) => bare_on_v.push(s.key()),
                        _ => other = true,
                    }
                } else if d.total && d.op.is_none() && !d.nabla {
                    match &by {
                        Some(v) if v.key() != d.wrt.key() => other = true,
                        _ => by = Some(d.wrt.clone()),
                    }
                } else {
                    other = true;
                }
            }
        });
    }
    let v = by?;
    (!other && !bare_on_v.is_empty() && bare_on_v.iter().all(|k| *k == v.key())).then_some(v)
}

/// The variable of a `\lim_{h \to 0}` in one member that another member without
/// `\lim` still has (`\lim_{h \to 0} \frac{|h|}{h} = \frac{|h|}{h}`: the writer
/// dropped the limit, not an equality to check).
fn limit_left_behind(mems: &[&[Tok]]) -> Option<char> {
    let mut vars = Vec::new();
    for m in mems {
        for (k, t) in m.iter().enumerate() {
            if t.is_cmd("lim")
                && let Some(v) = m[k + 1..].iter().take(4).find_map(|u| match u.tk {
                    Tk::Letter(c) => Some(c),
                    _ => None,
                })
            {
                vars.push(v);
            }
        }
    }
    if vars.is_empty() {
        return None;
    }
    mems.iter()
        .filter(|m| !m.iter().any(|t| t.is_cmd("lim")))
        .find_map(|m| {
            m.iter().find_map(|t| match t.tk {
                Tk::Letter(c) if vars.contains(&c) => Some(c),
                _ => None,
            })
        })
}

/// [`build`] with the quantities varying as `r` says (`find::rates`).
pub(super) fn build_rates_on(
    st: &State,
    mems: &[&[Tok]],
    cx: &Ctx,
    src: &str,
    r: &Rates,
) -> Result<Ident, Skip> {
    build_on(st, mems, cx, src, 0, false, Some(r))
}

/// [`build`], with an implicit derivative read on the relation `back` places before
/// the latest, an equation for a point read as an identity when `point_read`, and
/// the quantities varying as `rates` says.
fn build_on(
    st: &State,
    mems: &[&[Tok]],
    cx: &Ctx,
    src: &str,
    back: usize,
    point_read: bool,
    rates: Option<&Rates>,
) -> Result<Ident, Skip> {
    if let Some(v) = limit_left_behind(mems) {
        return Err(Skip {
            kind: SkipReason::Ambiguous,
            message: format!(
                "a step keeps the limit's variable {v} without `\\lim` (the limit taken in \
                 the head, not written): the steps are not equal as written"
            ),
        });
    }
    let mut raw = Vec::new();
    let mut texts = Vec::new();
    let mut bars = Vec::new();
    for m in mems {
        let (body, bar) = split_eval_bar(m, cx)?;
        bars.push(bar);
        raw.push(syntax::parse_expr(body, cx));
    }
    // `x' \sqrt{x^2 - 3} + x (\sqrt{x^2 - 3})'`: brackets primed by x, and x primed
    // itself, by x too
    let own = own_prime_variable(&raw);
    let mut parsed = Vec::new();
    for (m, e) in mems.iter().zip(raw) {
        // a prime on a bracket in several letters: by the variable only a reading
        // with varying quantities gives
        parsed.push(e.and_then(|e| {
            if rates.is_some() || !bare_prime(&e) {
                Ok(e)
            } else if let Some(v) = st.prime_var.as_ref().or(own.as_ref()) {
                Ok(by_variable(e, v))
            } else {
                Err(PErr::abstract_(PRIME_WITHOUT_VARIABLE))
            }
        }));
        let a = m.iter().find(|t| !is_space(&t.tk)).map_or(0, |t| t.start);
        let b = m
            .iter()
            .rev()
            .find(|t| !is_space(&t.tk))
            .map_or(a, |t| t.end);
        texts.push(src.get(a..b.max(a)).unwrap_or("").trim().to_string());
    }
    // `f'(c) = 0`: an equation for the point, checked only for a pass (it may hold
    // everywhere, `|\alpha'(t)| = 1` of a curve by arc length); read so, or not at all
    let mut point = None;
    if let Some(s) = point_equation(st, &parsed) {
        // (`f'(c) = 0` holding everywhere says only that the function in force is
        // constant: no evidence of anything)
        let zero = parsed.iter().any(|p| matches!(p, Ok(e) if zero_literal(e)));
        if !point_read && zero {
            return Err(s);
        }
        if !point_read {
            return match build_on(st, mems, cx, src, back, true, rates) {
                Ok(mut id) => {
                    id.point = Some(s.message);
                    Ok(id)
                }
                Err(_) => Err(s),
            };
        }
        point = Some(s.message);
    }
    let parsed = entries_of_vectors(st, parsed);
    let parsed = subscript_partials(st, parsed);
    let parsed = constant_rule(st, parsed);
    // `f'(g(x))` with f defined: the derivative by a fresh variable, whose value at
    // a point is the argument's
    let mut prime_at: Vec<(Sym, Expr)> = Vec::new();
    let parsed: Vec<Result<Expr, PErr>> = parsed
        .into_iter()
        .map(|p| match p {
            Ok(e) => bind_prime_at(e, &mut prime_at).map_err(|m| PErr {
                kind: SkipReason::Unsupported,
                msg: m,
            }),
            Err(e) => Err(e),
        })
        .collect();
    let mut wrts = BTreeSet::new();
    for e in parsed.iter().flatten() {
        e.walk(&mut |x| {
            if let Expr::Deriv(_, d) = x {
                wrts.insert(d.wrt.key());
            }
        });
    }
    // (the dots are rates in a reading with varying quantities)
    if rates.is_none() {
        let ok: Vec<Expr> = parsed.iter().flatten().cloned().collect();
        time_derivative_dots(&ok)?;
    }
    // (as written, before rates or the curve's derivative replace any)
    let written = values_written(&parsed);
    let parsed = match rates {
        Some(r) => super::rates::rewrite(st, parsed, r)?,
        None => parsed,
    };
    let bound = bare_function_params(st, &parsed);
    let stale = stale_name(st, &parsed);
    let used = Cell::new(false);
    // `\frac{dy}{dx}` of a y given by a relation: `-H_x / H_y`
    let (parsed, implicit) = if let Some(r) = rates {
        (parsed, r.implicit())
    } else {
        let ok: Vec<Expr> = parsed.iter().flatten().cloned().collect();
        match implicit_derivatives(st, ok, back) {
            (done, Some(imp)) if parsed.iter().all(Result::is_ok) => {
                (done.into_iter().map(Ok).collect::<Vec<_>>(), Some(imp))
            }
            _ => (parsed, None),
        }
    };
    // `3\frac{dy}{dx} = -3` "at (1, 1)": without any of the curve's letters, about
    // one point of it (only a pass is a verdict)
    let curve_written = |all: bool| {
        implicit.as_ref().is_some_and(|(_, h)| {
            let mut seen = (true, false);
            h.walk(&mut |x| {
                if let Expr::Var(v) = x {
                    let w = written.contains(&v.key());
                    seen = (seen.0 && w, seen.1 || w);
                }
            });
            if all { seen.0 } else { seen.1 }
        })
    };
    let along_curve = curve_written(true);
    if implicit.is_some() && point.is_none() && !curve_written(false) {
        point = Some(
            "an equation at a point of the curve the note states (it writes the \
             derivative without the curve's letters)"
                .to_string(),
        );
    }
    let members = substituted(st, &parsed, &bound, &used)?;
    if let Some(s) = constants_equation(&parsed, &members) {
        return Err(s);
    }
    if implicit.is_none()
        && let Some(s) = defined_without_variable(st, &parsed, &members)
    {
        return Err(s);
    }
    let sums_written = parsed
        .iter()
        .flatten()
        .any(|e| e.any(&|x| matches!(x, Expr::Sum { .. })));
    if !sums_written && let Some(s) = entry_by_sum_entry(&members, &free_indices(&members)) {
        return Err(s);
    }
    let mut deps = defined_variables(st, &wrts, &members, &used)?;
    for (z, u) in prime_at {
        let u = subst_ctx(st, u, &BTreeSet::new(), true, &used)?;
        if let Some(s) = abstract_in(&u) {
            return Err(s);
        }
        deps.push((z, u));
    }
    let n_members = members.len();
    let mut all = members;
    all.extend(deps.iter().map(|(_, e)| e.clone()));
    let (mut all, free) = resolve(all)?;
    let dimnames = dim_values(st, &mut all);
    // (a point `0` is the number zero, not a zero of any shape as a member `0` is)
    let dep_exprs: Vec<Expr> = all
        .split_off(n_members)
        .into_iter()
        .map(|e| match e {
            Expr::ZeroAny => Expr::Num(0.0),
            e => e,
        })
        .collect();
    let members = all;
    let deps: Vec<(Sym, Expr)> = deps.into_iter().map(|(s, _)| s).zip(dep_exprs).collect();
    // the same identity with the defined symbols as plain constants
    let alt = if used.get() {
        as_constants(st, parsed)
    } else {
        None
    };
    let (conds, conds_elsewhere) = standing_conditions(st, &members);
    Ok(Ident {
        stale,
        freed: None,
        members,
        alt,
        texts,
        decls: st.decls.clone(),
        decls_elsewhere: st
            .decl_part
            .iter()
            .filter(|(_, p)| **p != st.part)
            .map(|(k, _)| k.clone())
            .collect(),
        funcs: st.func_names(),
        dimnames,
        positive: st.positive.clone(),
        simplex: st.simplex.clone(),
        onehot: st.onehot.clone(),
        symmetric: st.symmetric.clone(),
        conds,
        conds_elsewhere,
        free,
        deps,
        bars,
        branch_conds: Vec::new(),
        only_if_symmetric: BTreeSet::new(),
        implicit,
        implicit_alts: Vec::new(),
        along_curve,
        point,
        generic: Vec::new(),
        instances: Vec::new(),
        rates: None,
    })
}

/// The letters the members write as values, outside the derivatives of a letter
/// (`y` in `\frac{dy}{dx} = -\frac{x}{y}`, not in `3\frac{dy}{dx} = -3`).
fn values_written(parsed: &[Result<Expr, PErr>]) -> BTreeSet<String> {
    fn visit(e: &Expr, out: &mut BTreeSet<String>) {
        match e {
            Expr::Var(v) => {
                out.insert(v.key());
            }
            Expr::Deriv(_, d) if matches!(d.of, Expr::Var(_)) => {}
            _ => e.for_each_child(&mut |c| visit(c, out)),
        }
    }
    let mut out = BTreeSet::new();
    for e in parsed.iter().flatten() {
        visit(e, &mut out);
    }
    out
}

/// A defined function's derivative written with a prime at a symbol that appears
/// nowhere else in the statement (`f'(c) = 0`, `f'(c) = \frac{f(4) - f(1)}{3}`,
/// `A'(x) = 0`) and that the note does not define: the statement says nothing of
/// the point but through the derivative there, so it is an equation for the point (a
/// critical point, the point of the mean value theorem), true for some values only,
/// not an identity in it. So is a gradient at a point set to zero (`\nabla q(x) =
/// 0`, a stationary point). `f'(a) = n a^{n-1}` names the point on both sides and
/// stays an identity.
fn point_equation(st: &State, parsed: &[Result<Expr, PErr>]) -> Option<Skip> {
    let mut points: Vec<(Sym, String)> = Vec::new();
    // `\nabla q(\mathbf{x}) = \mathbf{0}`: a stationary point (not under a curl or a
    // divergence: `\nabla \times \nabla q = \mathbf{0}` holds everywhere)
    let vector_op = parsed
        .iter()
        .flatten()
        .any(|e| e.any(&|x| matches!(x, Expr::Deriv(_, d) if d.op.is_some())));
    let zero_beside = !vector_op && parsed.iter().any(|p| matches!(p, Ok(e) if zero_literal(e)));
    for e in parsed.iter().flatten() {
        e.walk(&mut |x| {
            if let Expr::Deriv(_, d) = x
                && (d.prime || (d.nabla && zero_beside))
                && let Expr::Apply(name, args) = &d.of
                && let [Expr::Var(p)] = args.as_slice()
                && p.key() == d.wrt.key()
                && matches!(st.funcs.get(name), Some(Def::Func { params, .. })
                    if !super::generic::is_arbitrary(params))
            {
                points.push((p.clone(), name.clone()));
            }
        });
    }
    // (an arbitrary function's derivative at the point uses it as a variable)
    let (p, name) = points.first()?;
    // a member not read (an abstract `g'(x)`) may name the point too
    if parsed.iter().any(Result::is_err) {
        return None;
    }
    let mut uses = 0;
    for e in parsed.iter().flatten() {
        e.walk(&mut |x| match x {
            Expr::Var(s) if s.key() == p.key() => uses += 1,
            // the variable of another derivative (`\frac{ds}{dt} = |\alpha'(t)|`)
            Expr::Deriv(_, d)
                if d.wrt.key() == p.key()
                    && !matches!(&d.of, Expr::Apply(_, a)
                        if matches!(a.as_slice(), [Expr::Var(q)] if q.key() == p.key())) =>
            {
                uses += 1
            }
            _ => {}
        });
    }
    let at_p = points.iter().filter(|(q, _)| q.key() == p.key()).count();
    (uses == at_p).then(|| Skip {
        kind: SkipReason::NotIdentity,
        message: format!(
            "not an identity: an equation for the point {} ({}' is evaluated there, and {} \
             appears nowhere else), such as a critical point",
            p.show(),
            show_name(name),
            p.show()
        ),
    })
}

/// The derivative of a symbol the note defined (`h = 0.4\,\text{m}`, `J = L + S`)
/// by a variable its definition does not have (`\frac{dh}{dt}`, `\partial_t J`):
/// zero by that definition, but the note differentiates it because it varies (a
/// quantity at one instant, a conserved quantity whose dynamics the note gives
/// elsewhere), so the definition does not say what the derivative is.
fn defined_without_variable(
    st: &State,
    parsed: &[Result<Expr, PErr>],
    members: &[Expr],
) -> Option<Skip> {
    let mut ids: Vec<(u32, Sym)> = Vec::new();
    for e in parsed.iter().flatten() {
        e.walk(&mut |x| {
            if let Expr::Deriv(id, d) = x
                && let Expr::Var(s) = &d.of
                && s.key() != d.wrt.key()
                && s.base != d.wrt.base
                && !d.wrt.base.is_empty()
                && st.syms.contains_key(&s.key())
            {
                ids.push((*id, s.clone()));
            }
        });
    }
    if ids.is_empty() {
        return None;
    }
    let mut found: Option<Skip> = None;
    for e in members {
        e.walk(&mut |x| {
            if found.is_some() {
                return;
            }
            let Expr::Deriv(id, d) = x else { return };
            let Some((_, s)) = ids.iter().find(|(i, _)| i == id) else {
                return;
            };
            let mut mentions = false;
            d.of.walk(&mut |y| {
                if let Expr::Var(v) = y
                    && (v.key() == d.wrt.key() || v.base == d.wrt.base)
                {
                    mentions = true;
                }
            });
            if !mentions {
                found = Some(Skip {
                    kind: SkipReason::Abstract,
                    message: format!(
                        "not an identity: {} is defined in this note without {}, yet \
                         differentiated by it (a value at one instant, or a quantity whose \
                         dependence the definition does not give)",
                        s.show(),
                        d.wrt.show()
                    ),
                });
            }
        });
    }
    found
}

/// A derivative by an indexed symbol (`\frac{\partial H}{\partial p_i}`) of an
/// operand that sums entries of the same letter over another index (`H = \sum_j
/// \frac{p_j^2}{2m}`): `p_i` is one of the `p_j`, which only index calculus (a
/// Kronecker delta) ties; read as separate symbols the derivative would be zero.
/// (A sum written in the identity itself, `\frac{\partial}{\partial x_i} \sum_j
/// x_j^2`, is read entry-wise and stays checked.)
fn entry_by_sum_entry(members: &[Expr], free: &[String]) -> Option<Skip> {
    let mut found = None;
    for e in members {
        e.walk(&mut |x| {
            if found.is_some() {
                return;
            }
            let Expr::Deriv(_, d) = x else { return };
            let Some(sub) = &d.wrt.sub else { return };
            // (`\partial x_i` already read as entry i of a vector x is tied)
            // (nor one whose index is free: read as entry i of the vector)
            if !super::indices::entry_letter(sub) || d.entry.is_some() || free.contains(sub) {
                return;
            }
            let mut summed = false;
            d.of.walk(&mut |y| {
                if let Expr::Sum { body, .. } = y {
                    body.walk(&mut |z| match z {
                        Expr::Index(a, _) | Expr::Col(a, _) => {
                            if matches!(&**a, Expr::Var(v) if v.base == d.wrt.base) {
                                summed = true;
                            }
                        }
                        Expr::Var(v) if v.base == d.wrt.base && v.sub.is_some() => summed = true,
                        _ => {}
                    });
                }
            });
            if summed {
                found = Some(Skip {
                    kind: SkipReason::Unsupported,
                    message: format!(
                        "a derivative by the entry {} of an operand summed over the entries of \
                         {} (index notation: the free index and the sum's are not tied)",
                        d.wrt.show(),
                        d.wrt.base
                    ),
                });
            }
        });
    }
    found
}

/// A statement with no symbol of its own (`f'(-3) = 0`, `f(2) = 5`: functions at
/// numbers) that gets symbols only through the definitions it uses (`f(x) = a x^3 +
/// b x^2 + c x + d`, the constants never given values): an equation for those
/// constants (find a, b, c, d such that ...), true for some values only, not an
/// identity. With no such symbols (`f(x) = x^3 - x`, `f'(-1) = 2`) it is a fact
/// about numbers and is checked.
fn constants_equation(parsed: &[Result<Expr, PErr>], members: &[Expr]) -> Option<Skip> {
    // the fresh variable of a prime at a number (`f'(…)#3`) is not the note's
    let symbols = |es: &mut dyn Iterator<Item = &Expr>| {
        let mut out: BTreeSet<String> = BTreeSet::new();
        for e in es {
            e.walk(&mut |x| match x {
                Expr::Var(s) if !s.base.contains('#') => {
                    out.insert(s.show());
                }
                _ => {}
            });
        }
        out
    };
    let own = symbols(&mut parsed.iter().flatten());
    if !own.is_empty() {
        return None;
    }
    let brought = symbols(&mut members.iter());
    if brought.is_empty() {
        return None;
    }
    let names: Vec<String> = brought.into_iter().collect();
    Some(Skip {
        kind: SkipReason::NotIdentity,
        message: format!(
            "not an identity: an equation for {} (symbols of the definitions it uses, \
             never given values), written at particular numbers",
            names.join(", ")
        ),
    })
}

/// The function a functional equation is about: an equation without derivatives that
/// applies one function, and no other, to different arguments in one letter
/// (`g(-x) = -g(x)`, `f(x + T) = f(x)`).
fn functional_equation(mems: &[&[Tok]], cx: &Ctx) -> Option<String> {
    let mut calls: Vec<(String, Expr)> = Vec::new();
    for m in mems {
        if has_deriv(m) || m.iter().any(|t| t.is_ch('\'') || t.is_cmd("prime")) {
            return None;
        }
        let e = syntax::parse_expr(m, cx).ok()?;
        e.walk(&mut |x| {
            if let Expr::Apply(n, args) = x
                && let [a] = args.as_slice()
            {
                calls.push((n.clone(), a.clone()));
            }
        });
    }
    let (name, first) = calls.first()?.clone();
    let letters = |a: &Expr| {
        let mut v = BTreeSet::new();
        a.walk(&mut |x| {
            if let Expr::Var(s) = x {
                v.insert(s.key());
            }
        });
        v
    };
    // one letter in every argument (`f(a) = f(b)` is about two points)
    let shared = calls
        .iter()
        .map(|(_, a)| letters(a))
        .reduce(|a, b| a.intersection(&b).cloned().collect())
        .is_some_and(|v| !v.is_empty());
    let same = calls.iter().all(|(n, _)| *n == name);
    let differ = calls.iter().any(|(_, a)| *a != first);
    (same && differ && shared).then_some(name)
}

/// A defined name the identity uses (a symbol, a function applied or primed) whose
/// definition in force comes from an earlier part of the note, while the note has
/// defined it more than once or defined it inside a numbered list item (an
/// exercise), or while the identity starts as a definition of it would (`F(x) =
/// ...`, under a new heading: maybe a new `F`): which one the identity means is not
/// sure.
fn stale_name(st: &State, parsed: &[Result<Expr, PErr>]) -> Option<String> {
    if let Some(Ok(Expr::Apply(name, args))) = parsed.first()
        && args.iter().all(|a| matches!(a, Expr::Var(_)))
        && st.funcs.contains_key(name)
        && st
            .def_part
            .get(name)
            .is_some_and(|(part, _)| *part < st.part)
    {
        return Some(name.clone());
    }
    let mut out = None;
    for e in parsed.iter().flatten() {
        e.walk(&mut |x| {
            let name = match x {
                // (a bold `\mathbf{y}` is not the plain `y` the note defined)
                Expr::Var(s) => match st.syms.get(&s.key()) {
                    Some(Def::Sym { bold, .. }) if *bold == s.bold => s.key(),
                    _ => return,
                },
                Expr::Apply(n, _) => n.clone(),
                _ => return,
            };
            if out.is_none()
                && (st.syms.contains_key(&name) || st.funcs.contains_key(&name))
                && let Some((part, n)) = st.def_part.get(&name)
                && *part < st.part
                && (*n >= 2 || st.item_parts.contains(part))
            {
                out = Some(name);
            }
        });
    }
    out
}

/// `f_x`, `f_{xy}` for a defined `f(x, y)`: its partial derivatives.
fn subscript_partials(st: &State, parsed: Vec<Result<Expr, PErr>>) -> Vec<Result<Expr, PErr>> {
    parsed
        .into_iter()
        .map(|p| {
            p.and_then(|e| {
                e.map(&mut |x| match x {
                    Expr::Var(s) => match sub_partials(&s, st) {
                        Some(ws) => {
                            let mut e = Expr::Var(Sym {
                                sub: None,
                                ..s.clone()
                            });
                            for w in ws {
                                e = Expr::Deriv(0, Box::new(Deriv::by(e, w)));
                            }
                            Ok(e)
                        }
                        None => Ok(Expr::Var(s)),
                    },
                    other => Ok(other),
                })
                .map_err(PErr::parse)
            })
        })
        .collect()
}

/// A defined function named bare (`\frac{\partial F}{\partial x}` for `F(x,
/// y)`): its parameters are this identity's variables, whatever the note defined
/// under those names.
fn bare_function_params(st: &State, parsed: &[Result<Expr, PErr>]) -> BTreeSet<String> {
    let mut bound = BTreeSet::new();
    for e in parsed.iter().flatten() {
        e.walk(&mut |x| {
            if let Expr::Var(s) = x
                && s.sub.is_none()
                && !st.syms.contains_key(&s.key())
                && let Some(Def::Func { params, .. }) = st.funcs.get(&s.key())
            {
                bound.extend(params.iter().map(Sym::key));
            }
        });
    }
    bound
}

/// The members with the definitions in force substituted. An abstract function
/// anywhere is reported before a member that does not parse.
fn substituted(
    st: &State,
    parsed: &[Result<Expr, PErr>],
    bound: &BTreeSet<String>,
    used: &Cell<bool>,
) -> Result<Vec<Expr>, Skip> {
    let mut members = Vec::new();
    let mut first_err: Option<Skip> = None;
    for p in parsed {
        match p {
            Ok(e) => match subst_ctx(st, e.clone(), bound, true, used) {
                Ok(e) => {
                    if let Some(s) = abstract_in(&e) {
                        return Err(s);
                    }
                    members.push(e);
                }
                Err(s) => {
                    if s.kind == SkipReason::Abstract {
                        return Err(s);
                    }
                    first_err.get_or_insert(s);
                }
            },
            Err(pe) => {
                if pe.kind == SkipReason::Abstract {
                    return Err(pe.clone().into());
                }
                first_err.get_or_insert(pe.clone().into());
            }
        }
    }
    if let Some(s) = first_err {
        return Err(s);
    }
    Ok(members)
}

/// Variables of derivatives that the note defined (`u = x^2`, then `dy/du`): their
/// value at a point is their definition's.
fn defined_variables(
    st: &State,
    wrts: &BTreeSet<String>,
    members: &[Expr],
    used: &Cell<bool>,
) -> Result<Vec<(Sym, Expr)>, Skip> {
    let mut deps: Vec<(Sym, Expr)> = Vec::new();
    for k in wrts {
        if let Some(Def::Sym {
            body: Ok(b),
            bold,
            upper,
        }) = st.syms.get(k)
            && !matches!(b, Expr::Num(_))
        {
            let mut sym = None;
            for e in members {
                e.walk(&mut |x| {
                    if let Expr::Deriv(_, d) = x
                        && d.wrt.key() == *k
                        && (d.wrt.bold == *bold || *upper)
                    {
                        sym = Some(d.wrt.clone());
                    }
                });
            }
            if let Some(sym) = sym {
                let body = subst_ctx(st, b.clone(), &BTreeSet::new(), true, used)?;
                deps.push((sym, body));
            }
        }
    }
    Ok(deps)
}

/// The identity with the symbols defined in the note read as plain constants (for
/// a letter reused later), if that reads.
fn as_constants(st: &State, parsed: Vec<Result<Expr, PErr>>) -> Option<Vec<Expr>> {
    let unused = Cell::new(false);
    parsed
        .into_iter()
        .map(|p| {
            p.map_err(Skip::from)
                .and_then(|e| subst_ctx(st, e, &BTreeSet::new(), false, &unused))
        })
        .collect::<Result<Vec<_>, _>>()
        .ok()
        .filter(|ms| {
            ms.iter()
                .all(|m| abstract_in(m).is_none() && operands_vary(m))
        })
        .and_then(|ms| resolve(ms).ok())
        .map(|(mut ms, _)| {
            dim_values(st, &mut ms);
            ms
        })
}

/// The note's standing conditions about this identity's symbols (all of them), and
/// those of them stated in another part of the note.
fn standing_conditions(st: &State, members: &[Expr]) -> (Vec<syntax::Cond>, Vec<syntax::Cond>) {
    let mut keys = BTreeSet::new();
    for m in members {
        m.walk(&mut |x| {
            if let Expr::Var(s) = x {
                keys.insert(s.key());
            }
        });
    }
    let mut elsewhere = Vec::new();
    let conds = st
        .conds
        .iter()
        .zip(&st.cond_part)
        .filter(|(c, _)| {
            let mut all = true;
            let mut any = false;
            c.walk(&mut |x| {
                if let Expr::Var(s) = x {
                    any = true;
                    all &= keys.contains(&s.key());
                }
            });
            any && all
        })
        .map(|(c, part)| {
            if *part != st.part {
                elsewhere.push(c.clone());
            }
            c.clone()
        })
        .collect();
    (conds, elsewhere)
}

/// A member ending in an evaluation bar (`\frac{d}{dx} \sin x \Big|_{x=0}`,
/// `\left. ... \right|_{x = 1}`): the member without it, and the symbol's key and
/// value (a number; `\mathbf{0}` for a zero vector).
fn split_eval_bar<'t>(m: &'t [Tok], cx: &Ctx) -> Result<(&'t [Tok], Option<Bar>), Skip> {
    let sig: Vec<usize> = (0..m.len()).filter(|&k| !is_space(&m[k].tk)).collect();
    // the subscript: a group (or one token) at the very end, after `|_`
    let Some(&last) = sig.last() else {
        return Ok((m, None));
    };
    let group_start = if m[last].tk == Tk::Close {
        let mut depth = 0i32;
        let mut open = None;
        for k in (0..=last).rev() {
            match m[k].tk {
                Tk::Close => depth += 1,
                Tk::Open => {
                    depth -= 1;
                    if depth == 0 {
                        open = Some(k);
                        break;
                    }
                }
                _ => {}
            }
        }
        match open {
            Some(o) => o,
            None => return Ok((m, None)),
        }
    } else {
        last
    };
    let Some(pos) = sig.iter().position(|&k| k == group_start) else {
        return Ok((m, None));
    };
    if pos < 2 || !m[sig[pos - 1]].is_ch('_') {
        return Ok((m, None));
    }
    let bar = sig[pos - 2];
    if !(m[bar].is_ch('|') || m[bar].is_cmd("vert") || m[bar].is_cmd("rvert")) {
        return Ok((m, None));
    }
    let inner = if m[group_start].tk == Tk::Open {
        m.get(group_start + 1..last).unwrap_or_default()
    } else {
        m.get(group_start..=last).unwrap_or_default()
    };
    let parts = syntax::split_top(inner, |t| t.is_ch('='));
    if parts.len() != 2 {
        return Ok((m, None));
    }
    // a size command or `\right` right before the bar goes with it
    let mut cut = bar;
    if pos >= 3
        && let Tk::Cmd(c) = &m[sig[pos - 3]].tk
        && matches!(
            c.as_str(),
            "big" | "Big" | "bigg" | "Bigg" | "bigr" | "Bigr" | "biggr" | "Biggr" | "right"
        )
    {
        cut = sig[pos - 3];
    }
    let unsupported = |what: &str| Skip {
        kind: SkipReason::Unsupported,
        message: format!("an evaluation bar {what}"),
    };
    let Ok(Expr::Var(s)) = syntax::parse_expr(parts[0], cx) else {
        return Err(unsupported("at an expression"));
    };
    let value = match syntax::parse_expr(parts[1], cx) {
        Ok(Expr::Zeros(_)) => 0.0,
        Ok(e) => const_value(&e).ok_or_else(|| unsupported("at a point that is not a number"))?,
        Err(_) => return Err(unsupported("at a point that is not a number")),
    };
    Ok((&m[..cut], Some((s.key(), value))))
}

/// The value of a constant expression (numbers, `\pi`, `e`, arithmetic).
fn const_value(e: &Expr) -> Option<f64> {
    Some(match e {
        Expr::Num(v) => *v,
        Expr::Neg(a) => -const_value(a)?,
        Expr::Bin(op, a, b) => {
            let (a, b) = (const_value(a)?, const_value(b)?);
            match op {
                syntax::BinOp::Add => a + b,
                syntax::BinOp::Sub => a - b,
                syntax::BinOp::Mul | syntax::BinOp::Cross | syntax::BinOp::Dot => a * b,
                syntax::BinOp::Div => a / b,
                _ => return None,
            }
        }
        Expr::Pow(a, b) => const_value(a)?.powf(const_value(b)?),
        Expr::Call(Func::Sqrt, args) if args.len() == 1 => const_value(&args[0])?.sqrt(),
        Expr::Call(Func::Exp, args) if args.len() == 1 => const_value(&args[0])?.exp(),
        Expr::Call(Func::Ln, args) if args.len() == 1 => const_value(&args[0])?.ln(),
        _ => return None,
    })
}

/// `p_k` next to a vector `\mathbf{p}` (written bold in the identity, or defined
/// bold in the note) is the `k`-th entry of `\mathbf{p}`, the index `k` free (the
/// identity holds for every `k`): rewritten to an entry before the definitions are
/// substituted. Indices bound by a sum are left to `resolve`.
pub(super) fn entries_of_vectors(
    st: &State,
    parsed: Vec<Result<Expr, PErr>>,
) -> Vec<Result<Expr, PErr>> {
    let mut bold_bases = BTreeSet::new();
    let mut taken = BTreeSet::new();
    let mut cands: BTreeSet<(String, String)> = BTreeSet::new();
    for e in parsed.iter().flatten() {
        e.walk(&mut |x| match x {
            Expr::Var(s) if s.bold && !s.upper && s.sub.is_none() => {
                bold_bases.insert(s.base.clone());
            }
            Expr::Var(s) if !s.bold && !s.upper => {
                // any one-letter index: `p_k`, and `p_c` for a class, `x_t`
                if let Some(k) = &s.sub
                    && k.len() == 1
                    && k.chars().all(|c| c.is_ascii_lowercase())
                {
                    cands.insert((s.base.clone(), k.clone()));
                }
            }
            Expr::Sum { idx, .. } => {
                taken.insert(idx.clone());
            }
            Expr::Dots(body, _) => {
                // `\dots x_i \dots` binds its own index
                body.walk(&mut |y| {
                    if let Expr::Var(s) = y
                        && let Some(k) = &s.sub
                    {
                        taken.insert(k.clone());
                    }
                });
            }
            Expr::Deriv(_, d) if d.wrt.sub.is_none() && !d.wrt.upper => {
                bold_bases.insert(d.wrt.base.clone());
            }
            _ => {}
        });
    }
    let (parsed, diag_only) = diag_by_entries(parsed, &cands, &taken);
    taken.extend(diag_only);
    let defined_bold = |b: &str| {
        matches!(
            st.syms.get(b),
            Some(Def::Sym {
                bold: true,
                upper: false,
                ..
            })
        )
    };
    let rewrite: BTreeSet<(String, String)> = cands
        .into_iter()
        .filter(|(b, k)| {
            !taken.contains(k)
                && !st.syms.contains_key(&format!("{b}_{k}"))
                && (bold_bases.contains(b) || defined_bold(b))
        })
        .collect();
    if rewrite.is_empty() {
        return parsed;
    }
    parsed
        .into_iter()
        .map(|p| {
            p.and_then(|e| {
                e.map(&mut |x| match x {
                    Expr::Var(s)
                        if !s.bold
                            && !s.upper
                            && s.sub.as_ref().is_some_and(|k| {
                                rewrite.contains(&(s.base.clone(), k.clone()))
                            }) =>
                    {
                        let k = s.sub.clone().unwrap_or_default();
                        let v = Sym {
                            base: s.base,
                            sub: None,
                            bold: true,
                            upper: false,
                        };
                        Ok(Expr::Index(Expr::Var(v).bx(), vec![k]))
                    }
                    other => Ok(other),
                })
                .map_err(PErr::parse)
            })
        })
        .collect()
}

/// An index only ever inside `diag(...)` builds the diagonal entry by entry
/// (`\operatorname{diag}(\begin{cases} 1 & x_i > 0 \\ 0 & x_i \le 0 \end{cases})`):
/// the members with those `diag`s read over `\dots`, and the indices.
fn diag_by_entries(
    parsed: Vec<Result<Expr, PErr>>,
    cands: &BTreeSet<(String, String)>,
    taken: &BTreeSet<String>,
) -> (Vec<Result<Expr, PErr>>, BTreeSet<String>) {
    let mut diag_only: BTreeSet<String> = BTreeSet::new();
    for k in cands
        .iter()
        .map(|(_, k)| k.clone())
        .collect::<BTreeSet<_>>()
    {
        if taken.contains(&k) {
            continue;
        }
        let (mut all, mut inside) = (0, 0);
        for e in parsed.iter().flatten() {
            all += count_sub(e, &k);
            e.walk(&mut |y| {
                if let Expr::Call(Func::Diag, args) = y
                    && let [a] = args.as_slice()
                    && !matches!(a, Expr::Dots(..))
                {
                    inside += count_sub(a, &k);
                }
            });
        }
        if all > 0 && all == inside {
            diag_only.insert(k);
        }
    }
    let parsed: Vec<Result<Expr, PErr>> = if diag_only.is_empty() {
        parsed
    } else {
        parsed
            .into_iter()
            .map(|p| {
                p.and_then(|e| {
                    e.map(&mut |x| match x {
                        Expr::Call(Func::Diag, mut args)
                            if args.len() == 1
                                && !matches!(args[0], Expr::Dots(..))
                                && diag_only.iter().any(|k| count_sub(&args[0], k) > 0) =>
                        {
                            let a = args.remove(0);
                            Ok(Expr::Call(
                                Func::Diag,
                                vec![Expr::Dots(a.bx(), String::new())],
                            ))
                        }
                        other => Ok(other),
                    })
                    .map_err(PErr::parse)
                })
            })
            .collect()
    };
    (parsed, diag_only)
}

/// How many times a symbol subscripted `k` occurs in `e`.
fn count_sub(e: &Expr, k: &str) -> usize {
    let mut n = 0;
    e.walk(&mut |y| {
        if let Expr::Var(s) = y
            && s.sub.as_deref() == Some(k)
        {
            n += 1;
        }
    });
    n
}

/// Does every derivative's operand mention its variable? (Otherwise reading the
/// defined symbols as constants makes the derivative trivially zero.)
fn operands_vary(e: &Expr) -> bool {
    let mut ok = true;
    e.walk(&mut |x| {
        if let Expr::Deriv(_, d) = x {
            let key = d.wrt.key();
            let mut found = false;
            d.of.walk(&mut |y| {
                if matches!(y, Expr::Var(s) if s.key() == key) {
                    found = true;
                }
            });
            ok &= found;
        }
    });
    ok
}

/// An abstract function, an undefined derivative operand, or a nested derivative.
pub(super) fn abstract_in(e: &Expr) -> Option<Skip> {
    let mut err: Option<Skip> = None;
    e.walk(&mut |x| {
        if err.is_some() {
            return;
        }
        match x {
            // a tuple: a vector where coordinates make it one, else refused (`indices`)
            Expr::Apply(name, _) if syntax::is_notation_apply(name) && name != syntax::PRIME_AT => {
            }
            Expr::Apply(name, _) => {
                err = Some(Skip {
                    kind: SkipReason::Abstract,
                    message: format!("abstract function {}", show_name(name)),
                });
            }
            Expr::Deriv(_, d) => {
                if let Expr::Var(s) = &d.of
                    && d.wrt.base == syntax::COORDINATE_POINT
                {
                    // `\nabla v` by the coordinates of a v the note never defines: a field
                    let message = match d.op {
                        Some(op) => format!(
                            "the {} of {}, which this note does not define as a field",
                            op.name(),
                            s.show()
                        ),
                        None => format!(
                            "the gradient of {}, which this note does not define as a function",
                            s.show()
                        ),
                    };
                    err = Some(Skip {
                        kind: SkipReason::Abstract,
                        message,
                    });
                } else if let Expr::Var(s) = &d.of
                    && s.key() != d.wrt.key()
                    && s.base != d.wrt.base
                    && !d.wrt.base.is_empty()
                {
                    err = Some(Skip {
                        kind: SkipReason::Abstract,
                        message: format!(
                            "abstract function {}: it is not defined in this note",
                            s.show()
                        ),
                    });
                } else if let Some((s, why)) = dependent_quantity(d) {
                    err = Some(Skip {
                        kind: SkipReason::Abstract,
                        message: format!(
                            "not an identity: {} is not defined in this note and may depend \
                             on {}{why}",
                            s.show(),
                            d.wrt.show()
                        ),
                    });
                } else if let Some(s) = implicit_quantity(d) {
                    // `\frac{\partial}{\partial \mu} \log \mathcal{N}`: an operand
                    // without the variable, through a quantity that depends on it
                    err = Some(Skip {
                        kind: SkipReason::Abstract,
                        message: format!(
                            "abstract function {}: it is not defined in this note",
                            s.show()
                        ),
                    });
                }
            }
            _ => {}
        }
    });
    err
}

/// A symbol in a derivative's operand that the note never defined (definitions are
/// substituted by now), that is not the variable and not a constant by convention
/// (`a`, `b`, `c`, `k`, lowercase Greek letters: [`is_constant_letter`]; `n`, `m`:
/// whole numbers, sizes and exponents), so it may depend on the variable and the
/// derivative is not known:
///
/// - by a total derivative (`\frac{d}{dx}(e^{2x} y)`, `2x + 2y\frac{dy}{dx}`,
///   `\frac{d}{dt}\ln(u)`): a letter that conventionally names a variable or an
///   unknown function (`x`, `y`, `z`, `u`, `v`, `w`), since `d/dx` differentiates
///   everything that varies with x (implicit differentiation, differential
///   equations); a partial derivative holds the other variables fixed
///   (`\frac{\partial}{\partial y}(x^2 + y^2)`), so this does not apply to it, and
///   other letters (`r` in `\frac{d}{dt}(1 + r)^t`) are read as parameters;
/// - by any derivative whose operand does not mention the variable at all
///   (`\partial_t J` with `J = L + S`, `\frac{df}{dt}` with `f = g h`): the
///   derivative would be zero only because the checker took the symbols for
///   constants, which the note never said (bold and uppercase letters of matrix
///   calculus excepted when the variable is a vector or a matrix).
///
/// The second string tells which case, for the message.
fn dependent_quantity(d: &syntax::Deriv) -> Option<(Sym, &'static str)> {
    if d.wrt.base.is_empty() {
        return None;
    }
    let key = d.wrt.key();
    let mut mentions = false;
    let mut varying: Option<Sym> = None;
    let mut other: Option<Sym> = None;
    // the indices of sums (`\sum_{t=1}^{n} r^t`) are not quantities
    let mut bound: Vec<String> = Vec::new();
    d.of.walk(&mut |y| {
        if let Expr::Sum { idx, .. } | Expr::Dots(_, idx) | Expr::Col(_, idx) = y {
            bound.push(idx.clone());
        }
    });
    d.of.walk(&mut |y| {
        let Expr::Var(s) = y else { return };
        if s.sub.is_none() && bound.contains(&s.base) {
            return;
        }
        if s.key() == key || s.base == d.wrt.base {
            mentions = true;
            return;
        }
        let conventional = (!s.upper && is_constant_letter(&s.base))
            || (s.sub.is_none() && (s.base == "n" || s.base == "m"))
            || s.base == "e"
            || s.base == "\\pi"
            || s.base.starts_with("\\mathcal{")
            || s.base.starts_with("\\mathscr{")
            || s.base.starts_with("\\hat{")
            || s.base.starts_with("\\widehat{");
        if conventional {
            return;
        }
        // the letters that name variables and unknown functions
        let variable_letter = !s.upper
            && !s.bold
            && s.sub.is_none()
            && ["x", "y", "z", "u", "v", "w"].contains(&s.base.as_str());
        if varying.is_none() && d.total && variable_letter && !bound.contains(&s.base) {
            varying = Some(s.clone());
        }
        let matrix_calculus = (s.bold || s.upper) && (d.wrt.bold || d.wrt.upper);
        if other.is_none() && !matrix_calculus {
            other = Some(s.clone());
        }
    });
    if let Some(s) = varying {
        return Some((s, " (a total derivative)"));
    }
    match other {
        Some(s) if !mentions => Some((s, ": the operand does not mention it")),
        _ => None,
    }
}

/// A calligraphic or hatted symbol (`\mathcal{L}`, `\hat{y}`) in a derivative's
/// operand that does not mention the variable at all: such a symbol names a quantity
/// depending on the variable (a loss, a density, a prediction), not a constant.
fn implicit_quantity(d: &syntax::Deriv) -> Option<Sym> {
    let key = d.wrt.key();
    let mut mentions = false;
    let mut found: Option<Sym> = None;
    d.of.walk(&mut |y| {
        if let Expr::Var(s) = y {
            if s.key() == key || s.base == d.wrt.base {
                mentions = true;
            } else if found.is_none()
                && ["\\mathcal{", "\\mathscr{", "\\hat{", "\\widehat{"]
                    .iter()
                    .any(|p| s.base.starts_with(p))
            {
                found = Some(s.clone());
            }
        }
    });
    if mentions { None } else { found }
}

/// `\sum_k y_k = 1`, `\sum_{k=1}^K y_k = 1`, `\mathbf{1}^T \mathbf{y} = 1`: the
/// key of the vector whose entries sum to one.
fn sums_to_one(lhs: &[Tok], rhs: &[Tok], cx: &Ctx) -> Option<String> {
    if plain_text(rhs).trim() != "1" {
        return None;
    }
    match syntax::parse_expr(lhs, cx).ok()? {
        Expr::Sum {
            idx,
            body,
            prod: false,
            ..
        } => match *body {
            Expr::Var(s) if s.sub.as_deref() == Some(idx.as_str()) && !s.upper => {
                Some(s.base.clone())
            }
            _ => None,
        },
        Expr::Bin(syntax::BinOp::Mul | syntax::BinOp::Dot, a, b) => {
            let ones = matches!(&*a, Expr::Post(o, _) if matches!(**o, Expr::Ones(_)))
                || matches!(&*a, Expr::Ones(_));
            match *b {
                Expr::Var(s) if ones && s.sub.is_none() && !s.upper => Some(s.key()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Records `lhs = rhs` as a relation between its letters (two or more plain scalar
/// letters, no function of the note's).
fn relation(st: &mut State, lhs: &[Tok], rhs: &[Tok], cx: &Ctx) {
    let (Ok(a), Ok(b)) = (syntax::parse_expr(lhs, cx), syntax::parse_expr(rhs, cx)) else {
        return;
    };
    let h = Expr::bin(syntax::BinOp::Sub, a, b);
    let mut keys = BTreeSet::new();
    let mut other = false;
    h.walk(&mut |x| match x {
        Expr::Var(s) if !s.bold && !s.upper && s.sub.is_none() => {
            keys.insert(s.key());
        }
        // (`y'` read as a transpose: a differential equation, not a relation)
        Expr::Var(_) | Expr::Apply(..) | Expr::Deriv(..) | Expr::Sum { .. } | Expr::Post(..) => {
            other = true
        }
        _ => {}
    });
    if !other && keys.len() >= 2 {
        // a curve stated in a new part of the note (`x^2 + y^2 = 25` in a new
        // exercise) ties its letters anew: a `y` an earlier part defined is not this one
        for k in &keys {
            if st.def_part.get(k).is_some_and(|&(part, _)| part < st.part) {
                st.syms.remove(k);
            }
        }
        st.relations.push((h, keys, st.part));
    }
}

/// `\frac{dy}{dx}` of a `y` the note does not define, both letters in the latest
/// relation of this part of the note (`x^2 + y^2 = 25`): `-H_x / H_y`. Returns the
/// members and, if any was replaced, y and H.
fn implicit_derivatives(
    st: &State,
    members: Vec<Expr>,
    back: usize,
) -> (Vec<Expr>, Option<(Sym, Expr)>) {
    let Some((h, keys, part)) = st
        .relations
        .len()
        .checked_sub(back + 1)
        .and_then(|k| st.relations.get(k))
    else {
        return (members, None);
    };
    if *part != st.part {
        return (members, None);
    }
    let mut found: Option<Sym> = None;
    let mut clash = false;
    let original = members.clone();
    let out: Vec<Expr> = members
        .into_iter()
        .map(|m| {
            m.rewrite(&mut |x| match x {
                Expr::Deriv(id, d)
                    if matches!(&d.of, Expr::Var(y) if !y.bold && y.sub.is_none()
                        && keys.contains(&y.key())
                        && !st.syms.contains_key(&y.key())
                        && !st.funcs.contains_key(&y.key()))
                        && keys.contains(&d.wrt.key())
                        && !d.wrt.bold
                        && d.op.is_none()
                        && !d.nabla
                        && d.entry.is_none() =>
                {
                    let Expr::Var(y) = &d.of else {
                        return Expr::Deriv(id, d);
                    };
                    if found.as_ref().is_some_and(|f| f.key() != y.key()) {
                        clash = true;
                    }
                    found = Some(y.clone());
                    let hx = Expr::Deriv(0, Box::new(syntax::Deriv::by(h.clone(), d.wrt.clone())));
                    let hy = Expr::Deriv(0, Box::new(syntax::Deriv::by(h.clone(), y.clone())));
                    Expr::Neg(Expr::bin(syntax::BinOp::Div, hx, hy).bx())
                }
                other => other,
            })
        })
        .collect();
    match found {
        Some(y) if !clash => (out, Some((y, h.clone()))),
        _ => (original, None),
    }
}

/// `f'`, `f''` (primes, no argument) of a function the note defined with one
/// parameter (`f(x) = ...`): the tokens with `(x)` written after the primes. `None`
/// when there is no such prime. Unless `bare_too`, not for a name also written
/// bare in the statement (`Q' = 3Q`: a differential equation, or a symbol).
pub(super) fn bare_primes(st: &State, stmt: &[Tok], bare_too: bool) -> Option<Vec<Tok>> {
    let mut out: Vec<Tok> = Vec::with_capacity(stmt.len() + 3);
    let mut changed = false;
    let mut k = 0;
    while k < stmt.len() {
        let t = &stmt[k];
        out.push(t.clone());
        k += 1;
        let name = match &t.tk {
            Tk::Letter(c) => c.to_string(),
            _ => continue,
        };
        // a letter standing alone (not the end of a word)
        if out.len() >= 2 && matches!(out[out.len() - 2].tk, Tk::Letter(_)) {
            continue;
        }
        let Some(Def::Func { params, .. }) = st.funcs.get(&name) else {
            continue;
        };
        // the name also written bare (`Q' = 3Q`): a differential equation, or a
        // symbol of its own; leave it
        let bare_elsewhere = stmt.iter().enumerate().any(|(i, u)| {
            matches!(&u.tk, Tk::Letter(c) if c.to_string() == name)
                && i + 1 != k
                && !stmt.get(i + 1).is_some_and(|v| {
                    v.is_ch('(') || v.is_ch('\'') || v.is_cmd("prime") || v.is_cmd("left")
                })
        });
        if bare_elsewhere && !bare_too {
            continue;
        }
        let [p] = params.as_slice() else {
            continue;
        };
        if p.sub.is_some() || p.bold {
            continue;
        }
        let mut j = k;
        while stmt
            .get(j)
            .is_some_and(|u| u.is_ch('\'') || u.is_cmd("prime"))
        {
            j += 1;
        }
        if j == k
            || stmt
                .get(j)
                .is_some_and(|u| u.is_ch('(') || u.is_cmd("left"))
        {
            continue;
        }
        let arg = match p.base.strip_prefix('\\') {
            Some(cmd) => Tk::Cmd(cmd.to_string()),
            None => match p.base.chars().collect::<Vec<_>>().as_slice() {
                [c] => Tk::Letter(*c),
                _ => continue,
            },
        };
        out.extend_from_slice(&stmt[k..j]);
        let at = stmt[j - 1].end;
        let tok = |tk: Tk| Tok {
            tk,
            start: at,
            end: at,
        };
        out.push(tok(Tk::Ch('(')));
        out.push(tok(arg));
        out.push(tok(Tk::Ch(')')));
        changed = true;
        k = j;
    }
    changed.then_some(out)
}
