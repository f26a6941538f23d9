//! What is in force at a point of the note: definitions (`y = ...`, `f(x) = ...`),
//! declarations (`x \in \mathbb{R}^n`, symmetric matrices) and conditions (`x > 0`).

use std::cell::Cell;
use std::collections::BTreeSet;

use crate::check::notation::func_by_name;
use crate::check::shape::Kind;
use crate::check::syntax::{
    self, Ctx, Expr, PErr, PostOp, Rel, Sym, Tk, Tok, is_space, plain_text,
};

use super::identity::entries_of_vectors;
use super::statements::{has_deriv, members};
use super::{Def, Ident, State};

/// Whether the prose between two formulas joins them into one statement: they
/// are in one paragraph, or the new paragraph reads on from the last (it starts
/// in lower case: `where ...`, `with ...`). A heading always separates them.
pub(super) fn reads_on(gap: &str) -> bool {
    let mut rest = gap;
    for line in gap.split_inclusive('\n') {
        let body = line.trim().trim_start_matches('>').trim();
        if body.starts_with('#') && body.trim_start_matches('#').starts_with(' ') {
            return false;
        }
    }
    // the text after the last blank line, if there is one
    let mut blank = false;
    let mut at = 0;
    for line in gap.split_inclusive('\n') {
        at += line.len();
        let body = line.trim().trim_start_matches('>').trim();
        if body.is_empty() && at < gap.len() {
            blank = true;
            rest = &gap[at..];
        }
    }
    if !blank {
        return true;
    }
    let first = rest
        .trim_start_matches(|c: char| c.is_whitespace() || c == '>')
        .chars()
        .next();
    first.is_none_or(|c| c.is_lowercase())
}

/// The head of a function definition `name(a, b)`: name and parameter symbols.
pub(super) fn def_head(toks: &[Tok], cx: &Ctx) -> Option<(String, Vec<Sym>)> {
    let sig: Vec<usize> = (0..toks.len())
        .filter(|&k| !is_space(&toks[k].tk))
        .collect();
    let last = *sig.last()?;
    let close = &toks[last];
    if !(close.is_ch(')')) {
        return None;
    }
    // find the opening paren at depth 0
    let mut open = None;
    let mut depth = 0i32;
    for &k in &sig {
        match &toks[k].tk {
            Tk::Open => depth += 1,
            Tk::Close => depth -= 1,
            Tk::Ch('(') if depth == 0 => {
                open = Some(k);
                break;
            }
            _ => {}
        }
    }
    let open = open?;
    let mut name_end = open;
    if name_end > 0 && toks[name_end - 1].is_cmd("left") {
        name_end -= 1;
    }
    let name_toks = &toks[..name_end];
    if name_toks.iter().all(|t| is_space(&t.tk)) {
        return None;
    }
    let mut right_end = last;
    if right_end > 0 && toks[right_end - 1].is_cmd("right") {
        right_end -= 1;
    }
    let inner = &toks[open + 1..right_end.max(open + 1)];
    // the name: a letter run, a symbol, \operatorname{...}
    let name_txt = plain_text(name_toks).replace(' ', "");
    let name = if name_toks
        .iter()
        .filter(|t| !is_space(&t.tk))
        .all(|t| matches!(t.tk, Tk::Letter(_)))
    {
        name_txt.clone()
    } else {
        match syntax::parse_expr(name_toks, cx) {
            Ok(Expr::Var(s)) => s.key(),
            _ => {
                let s = name_txt
                    .trim_start_matches("\\operatorname")
                    .trim_start_matches("\\mathrm")
                    .trim_start_matches("\\text")
                    .to_string();
                if s.chars().all(|c| c.is_ascii_alphabetic()) && !s.is_empty() {
                    s
                } else {
                    return None;
                }
            }
        }
    };
    // (a plain letter is the note's own function even where a command spells a
    // built-in one: `H(v) = ...` is no Heaviside step)
    let one_letter = name.chars().count() == 1 && name_txt.chars().count() == 1;
    if (func_by_name(&name).is_some() && !one_letter) || name == "I" {
        return None;
    }
    let mut params = Vec::new();
    for p in syntax::split_top(inner, |t| t.is_ch(',')) {
        match syntax::parse_expr(p, cx) {
            Ok(Expr::Var(s)) => params.push(s),
            _ => return None,
        }
    }
    if params.is_empty() {
        return None;
    }
    Some((name, params))
}

/// Records a symbol's kind, and the part of the note that says it.
fn declare(st: &mut State, key: String, kind: Kind) {
    st.decl_part.insert(key.clone(), st.part);
    st.decls.insert(key, kind);
}

pub(super) fn declaration(st: &mut State, lhs: &[Tok], rhs: &[Tok], cx: &Ctx) {
    let r = plain_text(rhs).replace(' ', "");
    let kind;
    let mut positive = false;
    let mut names: Vec<String> = Vec::new();
    if let Some(rest) = r
        .strip_prefix("\\mathbbR")
        .or_else(|| r.strip_prefix("\\mathbb{R}"))
        .or_else(|| r.strip_prefix("\\R"))
    {
        let mut rest = rest.replace(['{', '}'], "");
        // `\mathbb{R}^+`, `\mathbb{R}^{+}`: the positive numbers, not a dimension
        if let Some(r) = rest.strip_prefix("^+") {
            rest = format!("_+{r}");
        }
        if rest.contains("_+")
            || rest.contains("_{+}")
            || rest.contains("_{>0}")
            || rest.starts_with("_+")
            || rest.contains(">0")
        {
            positive = true;
        }
        let sup = rest.split_once('^').map(|(_, s)| s.to_string());
        kind = match sup {
            None => Kind::Scalar,
            Some(s) => {
                let s = s.split('_').next().unwrap_or("").to_string();
                let dims: Vec<&str> = s
                    .split(['*', ',', 'x'])
                    .flat_map(|p| p.split("\\times"))
                    .filter(|p| !p.is_empty())
                    .collect();
                names = dims
                    .iter()
                    .filter(|d| **d != "1")
                    .map(|d| d.to_string())
                    .collect();
                match dims.as_slice() {
                    [one] if *one == "1" => Kind::Scalar,
                    [_] => Kind::Vector,
                    [_, c] if *c == "1" => Kind::Vector,
                    [a, _] if *a == "1" => return,
                    [_, _] => Kind::Matrix,
                    _ => return,
                }
            }
        };
    } else if r.starts_with("\\mathbbS") || r.starts_with("\\mathbb{S}") {
        // symmetric matrices `\mathbb{S}^n`, `\mathbb{S}^n_{++}`
        for p in syntax::split_top(lhs, |t| t.is_ch(',')) {
            if let Ok(Expr::Var(s)) = syntax::parse_expr(p, cx) {
                declare(st, s.key(), Kind::Matrix);
                st.symmetric.insert(s.key());
                // `\mathbb{S}^n_{++}`, `\mathbb{S}^n_+`: positive (semi)definite
                if r.contains('+') {
                    st.positive.insert(s.key());
                }
                let n = r
                    .split_once('^')
                    .map(|(_, n)| n.replace(['{', '}'], ""))
                    .unwrap_or_default();
                let n = n.split('_').next().unwrap_or("").to_string();
                st.dimnames.insert(s.key(), vec![n.clone(), n]);
            }
        }
        return;
    } else if r.starts_with("\\{") || r.starts_with("\\lbrace") {
        kind = Kind::Scalar;
    } else {
        return;
    }
    for p in syntax::split_top(lhs, |t| t.is_ch(',')) {
        if let Ok(Expr::Var(s)) = syntax::parse_expr(p, cx) {
            declare(st, s.key(), kind);
            st.dimnames.insert(s.key(), names.clone());
            if positive {
                st.positive.insert(s.key());
            }
        }
    }
}

pub(super) fn define(st: &mut State, head: &[Tok], body: &[Tok], cx: &Ctx) {
    if let Some((name, params)) = def_head(head, cx) {
        // the body may use the function's own name only if recursive: refuse
        let mut funcs = cx.funcs.clone();
        funcs.remove(&name);
        let ids = Cell::new(0);
        let bcx = Ctx {
            funcs: &funcs,
            ids: &ids,
            src: cx.src,
            depth: Cell::new(0),
        };
        let parsed = parse_body(body, &bcx);
        if let Ok(e) = &parsed {
            // `P(x) = 0`, `f(c) = 0`: a root or a value at a point, not a definition
            if is_constant_value(e) {
                return;
            }
            let mut rec = false;
            e.walk(&mut |x| {
                if matches!(x, Expr::Apply(n, _) if *n == name) {
                    rec = true;
                }
            });
            if rec {
                return;
            }
        }
        // `g(x) = 1/(1-x)`, then its series `g(x) = \sum_{n=0}^\infty x^n`: a form
        // the checker cannot read, in the same part, restates the readable one
        if parsed.is_err() && readable_here(st, &name) {
            return;
        }
        st.last_def.clone_from(&name);
        // the latest definition of a name is the one in force
        st.syms.remove(&name);
        let parsed = bind_entries(st, parsed);
        st.funcs.insert(
            name,
            Def::Func {
                params,
                body: parsed,
            },
        );
        st.defs += 1;
        note_part(st);
        return;
    }
    let Ok(Expr::Var(s)) = syntax::parse_expr(head, cx) else {
        return;
    };
    // `x = [x_1, x_2, \dots, x_n]`: the vector's own entries, listed; it says that
    // `x` is a vector with entries `x_i`, and defines nothing to substitute
    if lists_own_entries(&s, body, cx) {
        st.syms.remove(&s.key());
        st.funcs.remove(&s.key());
        if !st.decls.contains_key(&s.key()) {
            declare(st, s.key(), Kind::Vector);
        }
        return;
    }
    let parsed = parse_body(body, cx);
    if let Ok(e) = &parsed {
        let mut rec = false;
        let key = s.key();
        e.walk(&mut |x| {
            if matches!(x, Expr::Var(v) if v.key() == key) {
                rec = true;
            }
        });
        if rec {
            return;
        }
        // `f = g` (on the boundary), `q = g`: two names for one value is a fact
        // about them, not a definition to substitute
        if is_constant_value(e)
            || matches!(e, Expr::Var(v) if !v.bold && !v.upper && !s.bold && !s.upper)
        {
            return;
        }
    }
    if parsed.is_err() && readable_here(st, &s.key()) {
        return;
    }
    st.funcs.remove(&s.key());
    let parsed = bind_entries(st, parsed);
    st.syms.insert(
        s.key(),
        Def::Sym {
            bold: s.bold,
            upper: s.upper,
            body: parsed,
        },
    );
    st.defs += 1;
    st.last_def = s.key();
    note_part(st);
}

/// A definition's body, parsed; a closing bracket at its end that nothing opened
/// (`f(x) = \sin{x})`, a typo) is left out.
fn parse_body(body: &[Tok], cx: &Ctx) -> Result<Expr, syntax::PErr> {
    let first = syntax::parse_expr(body, cx);
    if first.is_ok() {
        return first;
    }
    // `\frac{x}{1+x} (x \neq -1)`: a trailing condition in brackets, not a factor
    if let Some(open) = trailing_condition(body) {
        return syntax::parse_expr(&body[..open], cx).or(first);
    }
    let depth: i64 = body
        .iter()
        .map(|t| i64::from(t.is_ch('(') || t.is_ch('[')) - i64::from(t.is_ch(')') || t.is_ch(']')))
        .sum();
    match body.iter().rposition(|t| !is_space(&t.tk)) {
        Some(end) if depth == -1 && (body[end].is_ch(')') || body[end].is_ch(']')) => {
            syntax::parse_expr(&body[..end], cx).or(first)
        }
        _ => first,
    }
}

/// Where a bracketed condition that ends `body` opens (`(x \neq -1)`, `(x > 0, x
/// \neq 1)`, `(\alpha \in \mathbb{R})`), after something it conditions.
fn trailing_condition(body: &[Tok]) -> Option<usize> {
    let end = body.iter().rposition(|t| !is_space(&t.tk))?;
    if !body[end].is_ch(')') {
        return None;
    }
    let mut depth = 0i32;
    let open = (0..=end).rev().find(|&k| {
        if body[k].is_ch(')') {
            depth += 1;
        } else if body[k].is_ch('(') {
            depth -= 1;
        }
        depth == 0
    })?;
    let inside = &body[open + 1..end];
    let relation = inside
        .iter()
        .any(|t| syntax::relation(&t.tk).is_some_and(|r| r != syntax::Rel::Eq));
    let before = body[..open].iter().any(|t| !is_space(&t.tk));
    (relation && before).then_some(open)
}

/// Has `name` a readable definition made in this part of the note?
fn readable_here(st: &State, name: &str) -> bool {
    let readable = match st.funcs.get(name).or_else(|| st.syms.get(name)) {
        Some(Def::Func { body, .. } | Def::Sym { body, .. }) => body.is_ok(),
        None => false,
    };
    readable
        && st
            .def_part
            .get(name)
            .is_some_and(|&(part, _)| part == st.part)
}

/// Is `body` a listing of the entries of the vector `s` (`[x_1, x_2, \dots, x_n]`,
/// `(\theta_0, \ldots, \theta_n)^T`, a one-column or one-row `bmatrix` of them)?
/// Its members are entries of `s` (same letter, a subscript) and at least one
/// ellipsis (a listing without one, `(x_1, x_2)`, fixes a size: not read here).
fn lists_own_entries(s: &Sym, body: &[Tok], cx: &Ctx) -> bool {
    let mut toks = body;
    // a transpose after the listing
    let n = toks.len();
    if n >= 2
        && toks[n - 2].is_ch('^')
        && (toks[n - 1].tk == Tk::Letter('T')
            || toks[n - 1].is_cmd("top")
            || toks[n - 1].is_cmd("intercal"))
    {
        toks = &toks[..n - 2];
    } else if n >= 4
        && toks[n - 4].is_ch('^')
        && toks[n - 3].tk == Tk::Open
        && toks[n - 1].tk == Tk::Close
        && (toks[n - 2].tk == Tk::Letter('T')
            || toks[n - 2].is_cmd("top")
            || toks[n - 2].is_cmd("intercal"))
    {
        toks = &toks[..n - 4];
    }
    let Some(inner) = delimited_inside(toks) else {
        return false;
    };
    let seps =
        |t: &Tok| t.is_ch(',') || t.is_ch('&') || t.is_ch(';') || t.is_cmd("\\") || t.is_cmd("cr");
    let mut entries = 0;
    let mut dots = 0;
    for m in syntax::split_top(inner, seps) {
        if m.is_empty() {
            continue;
        }
        if m.iter().all(|t| {
            t.is_ch('.')
                || ["dots", "ldots", "cdots", "vdots", "ddots"]
                    .iter()
                    .any(|c| t.is_cmd(c))
        }) {
            dots += 1;
            continue;
        }
        match syntax::parse_expr(m, cx) {
            Ok(Expr::Var(v)) if v.base == s.base && v.sub.is_some() => entries += 1,
            _ => return false,
        }
    }
    entries >= 1 && dots >= 1
}

/// The tokens inside one pair of delimiters around all of `toks`: `( )`, `[ ]`,
/// `\left( \right)`, or a matrix environment (`bmatrix`, `pmatrix`, `array` with
/// its column spec).
fn delimited_inside(toks: &[Tok]) -> Option<&[Tok]> {
    let n = toks.len();
    if n < 2 {
        return None;
    }
    let whole = |inner: &[Tok]| syntax::split_top(inner, |_| false).len() == 1;
    if toks[0].is_cmd("left") && n >= 4 && toks[n - 2].is_cmd("right") {
        let inner = &toks[2..n - 2];
        // `\left( a \right) + \left( b \right)` is not one pair
        return (!inner.iter().any(|t| t.is_cmd("left") || t.is_cmd("right"))).then_some(inner);
    }
    if (toks[0].is_ch('(') && toks[n - 1].is_ch(')'))
        || (toks[0].is_ch('[') && toks[n - 1].is_ch(']'))
    {
        let inner = &toks[1..n - 1];
        let mut depth = 0i32;
        for t in inner {
            match t.tk {
                Tk::Ch('(') | Tk::Ch('[') => depth += 1,
                Tk::Ch(')') | Tk::Ch(']') => depth -= 1,
                _ => {}
            }
            if depth < 0 {
                return None;
            }
        }
        return whole(inner).then_some(inner);
    }
    if toks[0].is_cmd("begin") && toks[n - 1].tk == Tk::Close {
        // `\begin{bmatrix} ... \end{bmatrix}`: the name's braces, then the rows
        let close = toks.iter().position(|t| t.tk == Tk::Close)?;
        let end = toks.iter().rposition(|t| t.is_cmd("end"))?;
        let name: String = toks[1..close]
            .iter()
            .filter_map(|t| match t.tk {
                Tk::Letter(c) => Some(c),
                _ => None,
            })
            .collect();
        if !matches!(
            name.as_str(),
            "bmatrix" | "pmatrix" | "matrix" | "Bmatrix" | "array"
        ) {
            return None;
        }
        let mut from = close + 1;
        // `array`'s column spec `{ccc}`
        if name == "array" && toks.get(from).is_some_and(|t| t.tk == Tk::Open) {
            from += toks[from..].iter().position(|t| t.tk == Tk::Close)? + 1;
        }
        return (from <= end).then(|| &toks[from..end]);
    }
    None
}

/// Records in which part of the note the last definition was made.
/// A numbered exercise whose first formula is an expression, in the one parameter of
/// the function the note defined last (`1. $f(x) = \frac{x - 1}{x + 2}$` before, now
/// `2. $2 \sin x - \cos 2x$`): that function, for this exercise.
pub(super) fn exercise_function(st: &mut State, toks: &[Tok], src: &str) {
    let Some(Def::Func { params, .. }) = st.funcs.get(&st.last_def) else {
        return;
    };
    let [p] = params.as_slice() else {
        return;
    };
    let p = p.clone();
    if toks
        .iter()
        .any(|t| syntax::relation(&t.tk).is_some() || t.is_ch(',') || t.is_ch('&'))
    {
        return;
    }
    let funcs = st.func_names();
    let ids = Cell::new(0);
    let cx = Ctx::new(&funcs, &ids, src);
    let Ok(e) = syntax::parse_expr(toks, &cx) else {
        return;
    };
    // written in the parameter alone, with no function of the note's applied
    let mut letters = BTreeSet::new();
    let mut other = false;
    e.walk(&mut |x| match x {
        Expr::Var(s) => {
            letters.insert(s.key());
        }
        Expr::Apply(..) | Expr::Deriv(..) => other = true,
        _ => {}
    });
    if other || letters.len() != 1 || !letters.contains(&p.key()) {
        return;
    }
    let name = st.last_def.clone();
    st.syms.remove(&name);
    st.funcs.insert(
        name,
        Def::Func {
            params: vec![p],
            body: Ok(e),
        },
    );
    st.defs += 1;
    note_part(st);
}

fn note_part(st: &mut State) {
    let part = st.part;
    let e = st.def_part.entry(st.last_def.clone()).or_insert((part, 0));
    *e = (part, e.1 + 1);
}

/// A definition's body read like an identity's members: `s_k` next to a vector `s`
/// (defined earlier or bold in the body) is its entry `k` (`\ell = -\log s_k`).
fn bind_entries(st: &State, body: Result<Expr, PErr>) -> Result<Expr, PErr> {
    entries_of_vectors(st, vec![body])
        .pop()
        .unwrap_or_else(|| Err(PErr::parse("empty definition".to_string())))
}

/// A body without any symbol (`a = 3`, `c = 1 + \frac{2\sqrt{3}}{3}`, `x = 24`,
/// `P(x) = 0`): a value the symbol takes at one step of a computation (a root
/// found, a quantity at an instant), a fact more often than a definition worth
/// substituting; substituted, it would make the symbol a constant for every
/// derivative by it or through it later in the note. An earlier definition stays
/// in force: the equation is about it (`P(x) = 0` at a root of the defined `P`).
fn is_constant_value(e: &Expr) -> bool {
    !e.any(&|x| {
        matches!(
            x,
            Expr::Var(_) | Expr::Apply(..) | Expr::Deriv(..) | Expr::DimVar(_) | Expr::IdxVal(..)
        )
    })
}

/// Does `e` use the symbol (or function) named `key`?
pub(super) fn uses_symbol(e: &Expr, key: &str) -> bool {
    let mut any = false;
    e.walk(&mut |x| match x {
        Expr::Var(s) if s.key() == key => any = true,
        Expr::Apply(n, _) if n == key => any = true,
        _ => {}
    });
    any
}

/// Does the condition mention a symbol of the identity?
pub(super) fn cond_mentions(id: &Ident, c: &syntax::Cond) -> bool {
    let mut keys = BTreeSet::new();
    for m in &id.members {
        m.walk(&mut |x| match x {
            Expr::Var(s) => {
                keys.insert(s.key());
            }
            Expr::Deriv(_, d) => {
                keys.insert(d.wrt.key());
            }
            _ => {}
        });
    }
    let mut any = false;
    c.walk(&mut |x| {
        if let Expr::Var(s) = x
            && keys.contains(&s.key())
        {
            any = true;
        }
    });
    any
}

/// `S = S^\top`, `A^T = A`: the name of a matrix declared symmetric.
pub(super) fn symmetric_decl(st: &State, stmt: &[Tok], src: &str) -> Option<String> {
    let (mems, rels) = members(stmt);
    if rels != [Rel::Eq] || mems.iter().any(|m| has_deriv(m)) {
        return None;
    }
    let funcs = st.func_names();
    let ids = Cell::new(1000);
    let cx = Ctx::new(&funcs, &ids, src);
    let a = syntax::parse_expr(mems[0], &cx).ok()?;
    let b = syntax::parse_expr(mems[1], &cx).ok()?;
    match (&a, &b) {
        (Expr::Var(s), Expr::Post(t, PostOp::Transpose))
        | (Expr::Post(t, PostOp::Transpose), Expr::Var(s)) => match t.as_ref() {
            Expr::Var(u) if u.key() == s.key() && (s.upper || !s.bold) => Some(s.key()),
            _ => None,
        },
        _ => None,
    }
}

/// A statement that is only a condition (`x > 0`, `x \neq 0`, `0 < t < 1`).
pub(super) fn domain_condition(st: &State, stmt: &[Tok], src: &str) -> Option<syntax::Cond> {
    let (_, rels) = members(stmt);
    if rels.is_empty()
        || !rels
            .iter()
            .all(|r| matches!(r, Rel::Lt | Rel::Gt | Rel::Le | Rel::Ge | Rel::Ne))
    {
        // also `(x \neq 0)`: relations inside one pair of parentheses
        let inner: Vec<Tok> = stmt
            .iter()
            .filter(|t| !t.is_ch('(') && !t.is_ch(')'))
            .cloned()
            .collect();
        let (_, r2) = members(&inner);
        if r2.is_empty()
            || !r2
                .iter()
                .all(|r| matches!(r, Rel::Lt | Rel::Gt | Rel::Le | Rel::Ge | Rel::Ne))
        {
            return None;
        }
    }
    let funcs = st.func_names();
    let ids = Cell::new(1000);
    let cx = Ctx::new(&funcs, &ids, src);
    syntax::parse_condition(stmt, &cx).ok()
}

/// The unknowns of a differential equation the statement writes: a single letter
/// `y` with a derivative of it (`y'`, `y''`, `\frac{dy}{dx}`, `\frac{d^2y}{dx^2}`) and
/// `y` itself elsewhere in it (`y' - \alpha y = 0`, `x^2 y' - 2xy = 4x^5`). A letter
/// applied to an argument (`y(x)`, `y'(x)`) is not counted, nor is anything in a
/// statement with partials, `\nabla` or bold vectors (a prime there is a transpose).
pub(super) fn de_unknowns(stmt: &[Tok]) -> Vec<String> {
    // with partials or vectors about, a prime is a transpose or the statement an
    // identity of several variables
    if stmt.iter().any(|t| {
        ["partial", "mathbf", "boldsymbol", "bm", "vec", "nabla"]
            .iter()
            .any(|c| t.is_cmd(c))
    }) {
        return Vec::new();
    }
    let sig: Vec<&Tok> = stmt.iter().filter(|t| !is_space(&t.tk)).collect();
    let letter = |k: usize| match sig.get(k).map(|t| &t.tk) {
        Some(Tk::Letter(c)) => Some(*c),
        _ => None,
    };
    let mut derived: BTreeSet<char> = BTreeSet::new();
    let mut bare: BTreeSet<char> = BTreeSet::new();
    let mut k = 0;
    while k < sig.len() {
        // `\frac{d y}{...}`, `\frac{d^2 y}{...}`
        if ["frac", "dfrac", "tfrac"].iter().any(|c| sig[k].is_cmd(c))
            && sig.get(k + 1).is_some_and(|t| t.tk == Tk::Open)
            && letter(k + 2) == Some('d')
        {
            let mut j = k + 3;
            if sig.get(j).is_some_and(|t| t.is_ch('^')) {
                j += 2;
            }
            if let Some(c) = letter(j)
                && sig.get(j + 1).is_some_and(|t| t.tk == Tk::Close)
            {
                derived.insert(c);
                k = j + 2;
                continue;
            }
        }
        if let Some(c) = letter(k) {
            let mut j = k + 1;
            let mut primes = 0;
            while sig
                .get(j)
                .is_some_and(|t| t.is_ch('\'') || t.is_cmd("prime"))
            {
                primes += 1;
                j += 1;
            }
            let applied = sig.get(j).is_some_and(|t| t.is_ch('('));
            // `y^2`, `y^{-1}`: a power of the letter itself (not `y^{(4)}`, `y^T`)
            let powered = sig.get(j).is_some_and(|t| t.is_ch('^'))
                && match sig.get(j + 1).map(|t| &t.tk) {
                    Some(Tk::Digit(_)) => true,
                    Some(Tk::Open) => {
                        matches!(sig.get(j + 2).map(|t| &t.tk), Some(Tk::Digit(_)))
                            || sig.get(j + 2).is_some_and(|t| t.is_ch('-'))
                    }
                    _ => false,
                };
            if !applied {
                if primes > 0 {
                    derived.insert(c);
                } else if powered || !sig.get(j).is_some_and(|t| t.is_ch('_') || t.is_ch('^')) {
                    bare.insert(c);
                }
            }
            k = j;
            continue;
        }
        k += 1;
    }
    derived.intersection(&bare).map(|c| c.to_string()).collect()
}

/// Does the prose right after a formula make its equation a result rather than a
/// definition: a condition (`if`, `when`, `for ... \ne`) or "is a solution"?
pub(super) fn says_result(after: &str) -> bool {
    let t = after.trim_start().to_lowercase();
    let t = t.trim_start_matches([',', ';', ':', '(']).trim_start();
    RESULT_WORDS.iter().any(|w| t.starts_with(w))
}

/// Does the prose right before a formula name a curve it is the equation of (`along
/// the parabola $y = x^2$`, `L 为曲线 $y=x^2$`): a relation between its letters, not
/// a definition of one?
pub(super) fn names_a_curve(before: &str) -> bool {
    let b = before.trim_end().to_lowercase();
    let b = b.trim_end_matches(['(', ':', ',']).trim_end();
    CURVE_WORDS.iter().any(|w| b.ends_with(w))
}

/// Words for a curve, as the last of the prose before its equation.
const CURVE_WORDS: &[&str] = &[
    "curve",
    "parabola",
    "arc",
    "path",
    "circle",
    "ellipse",
    "hyperbola",
    "曲线",
    "抛物线",
    "圆",
    "椭圆",
    "kurve",
    "parabel",
    "courbe",
    "curva",
];

/// Does the prose around a formula make it an equation to solve: right before it,
/// "set", "when", "where", "solve" (`Set $f''(x) = 0$`, `(where $f'(x) = 0$)`), or,
/// for an equation whose right side is a number, right after it "when", "where"
/// (`$f''(x) = 0$ when $x = 0$`)?
pub(super) fn says_equation(before: &str, after: &str, to_number: bool) -> bool {
    let b = before.trim_end().to_lowercase();
    let b = b.trim_end_matches(['(', ':']).trim_end();
    let last = b
        .rsplit(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("");
    if EQUATION_WORDS.contains(&last) || EQUATION_PHRASES.iter().any(|p| b.ends_with(p)) {
        return true;
    }
    let a = after.trim_start().to_lowercase();
    to_number
        && ["when ", "where ", "whenever "]
            .iter()
            .any(|w| a.starts_with(w))
}

/// The last word before a formula that makes it an equation to solve.
const EQUATION_WORDS: &[&str] = &[
    "set", "setting", "when", "where", "whenever", "wherever", "solve", "solving", "until",
];

/// Phrases right before a formula that make it a condition to meet (`there is a
/// point $\xi$ such that $f'(\xi) = 0$`).
const EQUATION_PHRASES: &[&str] = &["such that", "so that", "使得"];

/// How prose right after an equation says it is a result (see [`says_result`]).
const RESULT_WORDS: &[&str] = &[
    "if ",
    "when ",
    "whenever ",
    "provided ",
    "is a solution",
    "is the solution",
    "is a general solution",
    "is the general solution",
    "are solutions",
    "solves ",
    "si ",
    "es solución",
    "es una solución",
];
