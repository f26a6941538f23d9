//! Finding identities and definitions in a note's math.
//!
//! Each math span is split into statements (at `\\` rows of `align`-like
//! environments, `\implies`, `\quad`, `;`, words in `\text{}` and commas between
//! relations); each statement into members at its top-level relations. A chain of
//! `=` with a derivative in some member is an identity; `name = expr` without a
//! derivative is a definition; `x \in \mathbb{R}^n` is a declaration of kind.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

use super::notation::{
    BOLD, DERIV_CMDS, Func, func_by_name, is_constant_letter, is_frac, is_index_letter,
};
use super::shape::Kind;
use super::syntax::{
    self, Ctx, Deriv, Expr, PErr, PostOp, Rel, Sym, Tk, Tok, is_space, plain_text, skip_group,
};
use super::{Finding, Layout, NoteMath, Otimes, SkipReason};

/// An identity ready to check: the members of its `=` chain, parsed and resolved.
#[derive(Debug, Clone)]
pub(crate) struct Ident {
    pub members: Vec<Expr>,
    /// The members with symbols defined earlier in the note left as constants (when
    /// a definition was used): a safety net for letters reused after a definition.
    pub alt: Option<Vec<Expr>>,
    /// Each member's source text (for messages).
    pub texts: Vec<String>,
    /// Kinds declared in the note (`x \in \mathbb{R}^n`).
    pub decls: BTreeMap<String, Kind>,
    /// Declared symbols whose dimensions are named by a letter the identity uses as
    /// a value (`\mathbf{v} \in \mathbb{R}^n`, then `\frac{1}{n}`): the symbol's key
    /// and, per dimension (rows, columns), that letter.
    pub dimnames: Vec<(String, Vec<Option<String>>)>,
    /// Symbols declared positive (`\lambda > 0`).
    pub positive: BTreeSet<String>,
    /// Matrices declared symmetric (`S = S^\top`, `\Sigma \in \mathbb{S}^n`).
    pub symmetric: BTreeSet<String>,
    /// Conditions stated right after the identity (`, \quad x > 0`): its domain.
    pub conds: Vec<syntax::Cond>,
    /// Free indices (`\frac{\partial}{\partial x_i} ... = 2x_i`): the identity holds
    /// for every entry `i` of the vector; each trial picks one.
    pub free: Vec<String>,
    /// Defined symbols that are also differentiation variables: their value at a
    /// point is their definition's (in terms of the other symbols).
    pub deps: Vec<(Sym, Expr)>,
    /// Per member: an evaluation bar `\Big|_{x=a}` after it (the symbol's key and
    /// the value it takes there, entry-wise).
    pub bars: Vec<Option<Bar>>,
    /// The branch conditions of a `cases` identity with the same left side just
    /// before this one (which has no `cases`): this one may restate one branch.
    pub branch_conds: Vec<syntax::Cond>,
}

/// An evaluation bar: the symbol's key and its value there.
pub(crate) type Bar = (String, f64);

/// Why an identity cannot be checked.
#[derive(Debug, Clone)]
pub(crate) struct Skip {
    pub kind: SkipReason,
    pub message: String,
}

impl From<PErr> for Skip {
    fn from(e: PErr) -> Skip {
        Skip {
            kind: e.kind,
            message: e.msg,
        }
    }
}

#[derive(Debug, Clone)]
enum Def {
    Sym {
        bold: bool,
        upper: bool,
        body: Result<Expr, PErr>,
    },
    Func {
        params: Vec<Sym>,
        body: Result<Expr, PErr>,
    },
}

/// What the note has said so far.
#[derive(Default)]
struct State {
    syms: BTreeMap<String, Def>,
    funcs: BTreeMap<String, Def>,
    decls: BTreeMap<String, Kind>,
    /// The dimensions' names of declared symbols (`\mathbb{R}^{m \times n}`: m, n).
    dimnames: BTreeMap<String, Vec<String>>,
    positive: BTreeSet<String>,
    symmetric: BTreeSet<String>,
    /// Conditions stated on their own (`0 < \alpha < 1`): they hold for the rest
    /// of the note, in every identity that has all their symbols.
    conds: Vec<syntax::Cond>,
    /// How many definitions were read so far, and the last one's name.
    defs: usize,
    last_def: String,
}

impl State {
    fn func_names(&self) -> BTreeSet<String> {
        self.funcs.keys().cloned().collect()
    }
}

const ALIGN_ENVS: &[&str] = &[
    "align",
    "align*",
    "aligned",
    "flalign",
    "flalign*",
    "alignat",
    "alignat*",
    "alignedat",
    "split",
    "gather",
    "gather*",
    "gathered",
    "multline",
    "multline*",
    "eqnarray",
    "eqnarray*",
    "equation",
    "equation*",
    "displaymath",
    "math",
];

/// Front-matter keys that are never definitions.
const META_KEYS: &[&str] = &[
    "layout",
    "otimes",
    "title",
    "tags",
    "tag",
    "aliases",
    "alias",
    "date",
    "created",
    "updated",
    "modified",
    "draft",
    "publish",
    "cssclass",
    "cssclasses",
    "author",
    "status",
    "source",
    "url",
    "type",
    "description",
    "permalink",
    "lang",
    "category",
    "categories",
];

pub(crate) fn find(note: &NoteMath) -> Vec<Finding> {
    let layout = note.front.iter().find_map(|(k, v)| {
        if k.eq_ignore_ascii_case("layout") {
            let v = v.to_ascii_lowercase();
            if v.contains("denominator") {
                Some(Layout::Denominator)
            } else if v.contains("numerator") {
                Some(Layout::Numerator)
            } else {
                None
            }
        } else {
            None
        }
    });
    let otimes = note.front.iter().find_map(|(k, v)| {
        if k.eq_ignore_ascii_case("otimes") {
            let v = v.to_ascii_lowercase();
            if v.contains("kron") {
                Some(Otimes::Kronecker)
            } else if v.contains("element") || v.contains("hadamard") || v.contains("wise") {
                Some(Otimes::ElementWise)
            } else {
                None
            }
        } else {
            None
        }
    });
    let mut st = State::default();
    // front matter definitions
    for (k, v) in note.front {
        if META_KEYS.contains(&k.to_ascii_lowercase().as_str()) {
            continue;
        }
        let v = v.trim().trim_matches('$').trim();
        let text = if v.contains('=') {
            v.to_string()
        } else if k.len() <= 24 && !k.contains(' ') && looks_like_symbol(k) {
            format!("{k} = {v}")
        } else {
            continue;
        };
        let toks = syntax::lex(&text);
        for stmt in statements(&toks) {
            let _ = statement(
                &mut st,
                &stmt,
                &text,
                usize::MAX,
                layout,
                otimes,
                &mut Vec::new(),
            );
        }
    }
    let mut out = Vec::new();
    // the identity that ended the previous span: a span holding only a condition
    // right after it (`... = 1$ for $x > 0$`) is that identity's domain
    let mut prev_last: Option<usize> = None;
    // identities that a definition right after them completes (`$\frac{\partial
    // \hat{y}}{\partial z} = \hat{y}(1 - \hat{y})$, where $\hat{y} = \sigma(z)$`):
    // index in `out`, statement, span, span's TeX
    let mut retry: Vec<(usize, Vec<Tok>, usize, &str)> = Vec::new();
    for (si, span) in note.spans.iter().enumerate() {
        // a new paragraph that does not read on from the last one ends what the
        // formulas before it can be completed by
        if !reads_on(span.before) {
            prev_last = None;
            retry.clear();
        }
        let toks = syntax::lex(span.tex);
        let stmts = statements(&toks);
        // `$...$ for symmetric $A$`, `$...$ ($C$ symmetric)`: that identity's matrix
        // is symmetric
        if let Some(k) = prev_last {
            let before = span.before.trim().to_ascii_lowercase();
            let after = note
                .spans
                .get(si + 1)
                .map_or(String::new(), |s| s.before.trim().to_ascii_lowercase());
            // only these exact phrasings: an assumption, not a caveat ("true only
            // for symmetric $X$" says the identity is false in general)
            let before = before.split_whitespace().collect::<Vec<_>>().join(" ");
            let said = matches!(
                before.as_str(),
                "for symmetric"
                    | "with symmetric"
                    | "for a symmetric"
                    | "with a symmetric"
                    | "(for symmetric"
                    | "(symmetric"
                    | "(with symmetric"
            ) || (matches!(before.as_str(), "(" | "for" | "with" | "where")
                && (after.starts_with("symmetric") || after.starts_with("is symmetric")));
            let cx = Ctx {
                funcs: &BTreeSet::new(),
                ids: &Cell::new(0),
                src: span.tex,
                depth: Cell::new(0),
            };
            if said
                && let Ok(Expr::Var(m)) = syntax::parse_expr(&toks, &cx)
                && let Some(Finding { body: Ok(id), .. }) = out.get_mut(k)
                && id.members.iter().any(|e| uses_symbol(e, &m.key()))
            {
                id.symmetric.insert(m.key());
                continue;
            }
        }
        if let Some(k) = prev_last.take()
            && !stmts.is_empty()
        {
            let conds: Vec<Result<syntax::Cond, String>> = stmts
                .iter()
                .map_while(|stmt| {
                    domain_condition(&st, stmt, span.tex)
                        .map(Ok)
                        .or_else(|| symmetric_decl(&st, stmt, span.tex).map(Err))
                })
                .collect();
            // a condition about symbols the identity does not have is about
            // what follows (`$...$. For $\lambda > 0$: ...`): read as usual
            let about_it = match out.get(k).map(|f: &Finding| &f.body) {
                Some(Ok(id)) => conds.iter().all(|c| match c {
                    Ok(c) => cond_mentions(id, c),
                    Err(_) => true,
                }),
                _ => true,
            };
            if conds.len() == stmts.len() && about_it {
                for c in conds {
                    let found = out
                        .get_mut(k)
                        .and_then(|f: &mut Finding| f.body.as_mut().ok());
                    match c {
                        Ok(c) => {
                            if let Some(id) = found {
                                id.conds.push(c);
                            }
                        }
                        Err(m) => {
                            if let Some(id) = found {
                                id.symmetric.insert(m.clone());
                            }
                            // a symmetric matrix stays symmetric for the rest of the note
                            st.symmetric.insert(m);
                        }
                    }
                }
                prev_last = Some(k);
                continue;
            }
        }
        let mut last: Option<usize> = None;
        for stmt in stmts {
            // `= 1, \quad x > 0`: a condition right after an identity is its domain
            // (for that identity only, not a fact for the rest of the note)
            if let Some(k) = last
                && let Some(c) = domain_condition(&st, &stmt, span.tex)
            {
                if let Some(Finding { body: Ok(id), .. }) = out.get_mut(k) {
                    id.conds.push(c);
                }
                continue;
            }
            // `..., \quad A = A^\top`: a symmetric matrix, from that identity on
            if let Some(k) = last
                && let Some(m) = symmetric_decl(&st, &stmt, span.tex)
            {
                if let Some(Finding { body: Ok(id), .. }) = out.get_mut(k) {
                    id.symmetric.insert(m.clone());
                }
                st.symmetric.insert(m);
                continue;
            }
            let before = out.len();
            let defs = st.defs;
            statement(&mut st, &stmt, span.tex, si, layout, otimes, &mut out);
            last = (out.len() > before).then(|| out.len() - 1);
            if out.len() > before {
                // a new identity ends the reach of the earlier spans' definitions
                retry.retain(|r| r.2 == si);
                retry.push((before, stmt.clone(), si, span.tex));
            } else if st.defs != defs {
                let name = st.last_def.clone();
                for (k, stmt, sj, src) in &retry {
                    let uses = match out.get(*k).map(|f: &Finding| &f.body) {
                        Some(Ok(id)) => id.members.iter().any(|m| uses_symbol(m, &name)),
                        Some(Err(s)) => s.kind == SkipReason::Abstract,
                        None => false,
                    };
                    if !uses {
                        continue;
                    }
                    let mut again = Vec::new();
                    statement(&mut st, stmt, src, *sj, layout, otimes, &mut again);
                    if let Some(f) = again.pop()
                        && !matches!(&f.body, Err(s) if s.kind == SkipReason::Abstract)
                        && let Some(slot) = out.get_mut(*k)
                    {
                        *slot = f;
                    }
                }
            }
        }
        prev_last = last;
    }
    restated_branches(&mut out);
    out
}

/// An identity right after a `cases` identity with the same left side (the same
/// derivative, written the same), without a `cases` of its own, may restate one
/// branch (`\implies \frac{\partial C}{\partial \mathbf{w}} = ...`): it gets that
/// identity's branch conditions (see [`Ident::branch_conds`]).
fn restated_branches(out: &mut [Finding]) {
    let norm = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let mut last: Option<(String, Vec<syntax::Cond>)> = None;
    for f in out.iter_mut() {
        let Ok(id) = &mut f.body else {
            last = None;
            continue;
        };
        let (Some(lhs), Some(first)) = (id.texts.first(), id.members.first()) else {
            last = None;
            continue;
        };
        let lhs = norm(lhs);
        let cases: Vec<syntax::Cond> = id.members[1..]
            .iter()
            .filter_map(|m| match m {
                Expr::Cases(_, brs) => Some(brs),
                _ => None,
            })
            .flatten()
            .filter(|(_, c)| !matches!(c, syntax::Cond::Always))
            .map(|(_, c)| c.clone())
            .collect();
        if !cases.is_empty() && matches!(first, Expr::Deriv(..)) {
            last = Some((lhs, cases));
            continue;
        }
        match &last {
            Some((l, cs)) if *l == lhs => id.branch_conds = cs.clone(),
            _ => last = None,
        }
    }
}

fn looks_like_symbol(k: &str) -> bool {
    let toks = syntax::lex(k);
    let ids = Cell::new(0);
    let funcs = BTreeSet::new();
    let cx = Ctx {
        funcs: &funcs,
        ids: &ids,
        src: k,
        depth: Cell::new(0),
    };
    matches!(syntax::parse_expr(&toks, &cx), Ok(Expr::Var(_))) || def_head(&toks, &cx).is_some()
}

/// Splits a span into statements (owned token lists keeping their offsets).
pub(crate) fn statements(toks: &[Tok]) -> Vec<Vec<Tok>> {
    let mut out: Vec<Vec<Tok>> = Vec::new();
    let mut cur: Vec<Tok> = Vec::new();
    let mut row_break = false;
    let mut env_stack: Vec<String> = Vec::new();
    let mut k = 0;
    let flush = |cur: &mut Vec<Tok>, out: &mut Vec<Vec<Tok>>| {
        if cur.iter().any(|t| !is_space(&t.tk)) {
            out.push(std::mem::take(cur));
        } else {
            cur.clear();
        }
    };
    while k < toks.len() {
        let t = &toks[k];
        // a new row: continue the previous chain only when it starts with a relation
        if row_break && !is_space(&t.tk) && !t.is_ch('&') {
            row_break = false;
            if syntax::relation(&t.tk).is_none() {
                flush(&mut cur, &mut out);
            }
        }
        match &t.tk {
            Tk::Cmd(c) if c == "begin" => {
                let name_end = if toks.get(k + 1).is_some_and(|u| u.tk == Tk::Open) {
                    skip_group(toks, k + 1)
                } else {
                    k + 2
                };
                let name = plain_text(&toks[(k + 1).min(toks.len())..name_end.min(toks.len())])
                    .replace(' ', "");
                if ALIGN_ENVS.contains(&name.as_str()) {
                    env_stack.push(name);
                    k = name_end;
                    // alignat{n}
                    if toks.get(k).is_some_and(|u| u.tk == Tk::Open)
                        && env_stack.last().is_some_and(|n| n.starts_with("alignat"))
                    {
                        k = skip_group(toks, k);
                    }
                    continue;
                }
                // another environment: copy it whole
                let end = env_end(toks, k);
                cur.extend_from_slice(&toks[k..end]);
                k = end;
                continue;
            }
            Tk::Cmd(c) if c == "end" => {
                let name_end = if toks.get(k + 1).is_some_and(|u| u.tk == Tk::Open) {
                    skip_group(toks, k + 1)
                } else {
                    k + 2
                };
                env_stack.pop();
                k = name_end;
                continue;
            }
            Tk::Cmd(c)
                if BOLD.contains(&c.as_str())
                    && toks.get(k + 1).is_some_and(|u| u.tk == Tk::Open) =>
            {
                let end = skip_group(toks, k + 1);
                let inner = &toks[(k + 2).min(end)..end.saturating_sub(1).max(k + 2)];
                // `\mathbf{f(g(x)) = ...}`: lift the relation out of the bold group
                let parts = syntax::split_top(inner, |u| syntax::relation(&u.tk) == Some(Rel::Eq));
                if parts.len() > 1 {
                    let mut at = 0;
                    for (n, p) in parts.iter().enumerate() {
                        if n > 0 {
                            let eq = &inner[at - 1];
                            cur.push(eq.clone());
                        }
                        let mark = p.first().map_or(t.start, |u| u.start);
                        cur.push(Tok {
                            tk: t.tk.clone(),
                            start: mark,
                            end: mark,
                        });
                        cur.push(Tok {
                            tk: Tk::Open,
                            start: mark,
                            end: mark,
                        });
                        cur.extend_from_slice(p);
                        cur.push(Tok {
                            tk: Tk::Close,
                            start: mark,
                            end: mark,
                        });
                        at += p.len() + 1;
                    }
                } else {
                    cur.extend_from_slice(&toks[k..end]);
                }
                k = end;
                continue;
            }
            Tk::Open => {
                let end = skip_group(toks, k);
                cur.extend_from_slice(&toks[k..end]);
                k = end;
                continue;
            }
            Tk::Cmd(c) if c == "\\" || c == "cr" || c == "newline" => {
                row_break = true;
                k += 1;
                continue;
            }
            Tk::Ch('&') => {
                k += 1;
                continue;
            }
            Tk::Cmd(c)
                if matches!(
                    c.as_str(),
                    "implies"
                        | "Rightarrow"
                        | "Longrightarrow"
                        | "iff"
                        | "Leftrightarrow"
                        | "Longleftrightarrow"
                        | "impliedby"
                        | "therefore"
                        | "because"
                        | "quad"
                        | "qquad"
                        | "text"
                        | "textrm"
                        | "mbox"
                        | "textit"
                        | "textbf"
                        | "hbox"
                ) =>
            {
                let is_text = matches!(
                    c.as_str(),
                    "text" | "textrm" | "mbox" | "textit" | "textbf" | "hbox"
                );
                if is_text {
                    let end = if toks.get(k + 1).is_some_and(|u| u.tk == Tk::Open) {
                        skip_group(toks, k + 1)
                    } else {
                        k + 2
                    };
                    let w = plain_text(&toks[(k + 1).min(toks.len())..end.min(toks.len())]);
                    let w = w.trim();
                    let is_word = w.chars().count() >= 2
                        && w.chars()
                            .all(|c| c.is_alphabetic() || c == ' ' || c == ',' || c == '.')
                        && func_by_name(w).is_none()
                        && w.len() <= 40;
                    let followed_by_paren = toks
                        .get(end)
                        .is_some_and(|u| u.is_ch('(') || u.is_cmd("left"));
                    if is_word && !followed_by_paren {
                        flush(&mut cur, &mut out);
                        k = end;
                        continue;
                    }
                    cur.extend_from_slice(&toks[k..end.min(toks.len())]);
                    k = end;
                    continue;
                }
                flush(&mut cur, &mut out);
                k += 1;
                continue;
            }
            Tk::Ch(';') => {
                flush(&mut cur, &mut out);
                k += 1;
                continue;
            }
            _ => {}
        }
        cur.push(t.clone());
        k += 1;
    }
    flush(&mut cur, &mut out);
    // commas between relations separate statements
    let mut res = Vec::new();
    for s in out {
        let pieces = syntax::split_top(&s, |t| t.is_ch(','));
        if pieces.len() == 1 {
            res.push(trim_punct(s));
            continue;
        }
        let mut acc: Vec<Tok> = Vec::new();
        for (n, p) in pieces.iter().enumerate() {
            if n > 0 && !acc.is_empty() {
                // keep the comma when merging a relation-less piece
                if let Some(c) = s
                    .iter()
                    .find(|t| t.is_ch(',') && t.start >= acc.last().map_or(0, |l| l.end))
                {
                    acc.push(c.clone());
                }
            }
            acc.extend_from_slice(p);
            if has_relation(p) || n + 1 == pieces.len() {
                if acc.iter().any(|t| !is_space(&t.tk)) {
                    res.push(trim_punct(std::mem::take(&mut acc)));
                }
                acc.clear();
            }
        }
    }
    res
}

fn trim_punct(mut s: Vec<Tok>) -> Vec<Tok> {
    while s
        .last()
        .is_some_and(|t| t.is_ch('.') || t.is_ch(',') || is_space(&t.tk))
    {
        s.pop();
    }
    s
}

fn has_relation(toks: &[Tok]) -> bool {
    syntax::split_top(toks, |t| syntax::relation(&t.tk).is_some()).len() > 1
}

/// Index after the `\end{..}` matching the `\begin` at `k`.
fn env_end(toks: &[Tok], k: usize) -> usize {
    let mut depth = 0;
    let mut j = k;
    while j < toks.len() {
        if toks[j].is_cmd("begin") {
            depth += 1;
        } else if toks[j].is_cmd("end") {
            depth -= 1;
            if depth == 0 {
                let e = if toks.get(j + 1).is_some_and(|u| u.tk == Tk::Open) {
                    skip_group(toks, j + 1)
                } else {
                    j + 1
                };
                return e;
            }
        }
        j += 1;
    }
    toks.len()
}

/// Does this token list contain a derivative?
pub(crate) fn has_deriv(toks: &[Tok]) -> bool {
    for (k, t) in toks.iter().enumerate() {
        let Tk::Cmd(c) = &t.tk else {
            continue;
        };
        if DERIV_CMDS.contains(&c.as_str()) {
            return true;
        }
        if is_frac(c) && toks.get(k + 1).is_some_and(|u| u.tk == Tk::Open) {
            let e1 = skip_group(toks, k + 1);
            if toks.get(e1).is_some_and(|u| u.tk == Tk::Open) {
                let e2 = skip_group(toks, e1);
                let num = &toks[(k + 2).min(e1)..e1.saturating_sub(1).max(k + 2)];
                let den = &toks[(e1 + 1).min(e2)..e2.saturating_sub(1).max(e1 + 1)];
                if starts_with_d(num) && starts_with_d(den) {
                    return true;
                }
            }
        }
    }
    false
}

/// Whether the prose between two formulas joins them into one statement: they
/// are in one paragraph, or the new paragraph reads on from the last (it starts
/// in lower case: `where ...`, `with ...`). A heading always separates them.
fn reads_on(gap: &str) -> bool {
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

/// The subscript of `f_x`, `f_{xy}` for a function `f(x, y)` defined in the note
/// (every subscript letter one of its parameters): the parameters to differentiate
/// by, in order.
fn sub_partials(s: &Sym, st: &State) -> Option<Vec<Sym>> {
    let sub = s.sub.as_ref()?;
    if s.bold || st.syms.contains_key(&s.key()) {
        return None;
    }
    let Some(Def::Func { params, .. }) = st.funcs.get(&s.base) else {
        return None;
    };
    let mut out = Vec::new();
    for c in sub.chars() {
        let p = params
            .iter()
            .find(|p| p.sub.is_none() && p.base == c.to_string())?;
        out.push(p.clone());
    }
    (!out.is_empty() && out.len() <= 3).then_some(out)
}

/// `f_x`, `f_{xy}` (not followed by `(`) for a function `f(x, y)` defined in the
/// note: a partial derivative.
fn has_sub_partial(toks: &[Tok], st: &State) -> bool {
    let sig: Vec<&Tok> = toks.iter().filter(|t| !is_space(&t.tk)).collect();
    for k in 1..sig.len() {
        if !sig[k].is_ch('_') {
            continue;
        }
        let name = match &sig[k - 1].tk {
            Tk::Letter(c) => c.to_string(),
            Tk::Cmd(c) => format!("\\{c}"),
            _ => continue,
        };
        let (sub, next) = match sig.get(k + 1).map(|t| &t.tk) {
            Some(Tk::Letter(c)) => (c.to_string(), k + 2),
            Some(Tk::Open) => {
                let mut s = String::new();
                let mut j = k + 2;
                while let Some(Tk::Letter(c)) = sig.get(j).map(|t| &t.tk) {
                    s.push(*c);
                    j += 1;
                }
                if sig.get(j).map(|t| &t.tk) != Some(&Tk::Close) {
                    continue;
                }
                (s, j + 1)
            }
            _ => continue,
        };
        if sig.get(next).is_some_and(|t| t.is_ch('(')) {
            continue;
        }
        let s = Sym {
            base: name,
            sub: Some(sub),
            bold: false,
            upper: false,
        };
        if sub_partials(&s, st).is_some() {
            return true;
        }
    }
    false
}

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

/// `f'(x)` for a function defined in the note (a prime after its name, then `(`).
fn has_prime_call(toks: &[Tok], funcs: &BTreeMap<String, Def>) -> bool {
    let sig: Vec<&Tok> = toks.iter().filter(|t| !is_space(&t.tk)).collect();
    for (k, t) in sig.iter().enumerate() {
        let primed = t.is_ch('\'')
            || t.is_cmd("prime")
            || (t.is_ch('^')
                && (sig.get(k + 1).is_some_and(|u| u.is_cmd("prime"))
                    || (sig.get(k + 1).is_some_and(|u| u.tk == Tk::Open)
                        && sig.get(k + 2).is_some_and(|u| u.is_cmd("prime")))));
        if !primed || k == 0 {
            continue;
        }
        // the name before the primes: a letter run or a single letter
        let mut j = k;
        while j > 0 && (sig[j - 1].is_ch('\'') || sig[j - 1].is_cmd("prime")) {
            j -= 1;
        }
        let mut name = String::new();
        let mut i = j;
        while i > 0 {
            if let Tk::Letter(c) = sig[i - 1].tk {
                name.insert(0, c);
                i -= 1;
            } else {
                break;
            }
        }
        // a Greek letter (`\phi'(x)`)
        if name.is_empty()
            && let Some(Tk::Cmd(c)) = j.checked_sub(1).map(|i| &sig[i].tk)
            && funcs.contains_key(&format!("\\{c}"))
        {
            return true;
        }
        if name.is_empty() {
            continue;
        }
        // a single letter, or a glued run (`activation'`)
        let names = [
            name.clone(),
            name.chars().last().map(String::from).unwrap_or_default(),
        ];
        if names.iter().any(|n| funcs.contains_key(n)) {
            return true;
        }
    }
    false
}

fn starts_with_d(toks: &[Tok]) -> bool {
    let sig: Vec<&Tok> = toks.iter().filter(|t| !is_space(&t.tk)).collect();
    match sig.first() {
        Some(t) if t.tk == Tk::Letter('d') => {
            // not `det`, `diag`
            let mut run = String::from("d");
            for u in &sig[1..] {
                if let Tk::Letter(c) = u.tk {
                    run.push(c);
                } else {
                    break;
                }
            }
            !(run.len() >= 2 && func_by_name(&run).is_some())
        }
        Some(t)
            if [
                "mathrm",
                "text",
                "operatorname",
                "textrm",
                "mathit",
                "mathup",
            ]
            .iter()
            .any(|c| t.is_cmd(c)) =>
        {
            sig.get(1).is_some_and(|u| u.tk == Tk::Letter('d'))
                || (sig.get(1).is_some_and(|u| u.tk == Tk::Open)
                    && sig.get(2).is_some_and(|u| u.tk == Tk::Letter('d'))
                    && sig.get(3).is_some_and(|u| u.tk == Tk::Close))
        }
        _ => false,
    }
}

/// Splits a statement into members at top-level relations.
fn members(stmt: &[Tok]) -> (Vec<&[Tok]>, Vec<Rel>) {
    let mut mems = Vec::new();
    let mut rels = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let mut k = 0;
    while k < stmt.len() {
        let t = &stmt[k];
        match &t.tk {
            Tk::Open | Tk::Ch('(') | Tk::Ch('[') => depth += 1,
            Tk::Close | Tk::Ch(')') | Tk::Ch(']') => depth -= 1,
            Tk::Cmd(c) if c == "begin" || c == "left" => depth += 1,
            Tk::Cmd(c) if c == "end" || c == "right" => depth -= 1,
            _ => {}
        }
        // `\left.` / `\right|` carry a delimiter token after them
        if (t.is_cmd("left") || t.is_cmd("right")) && k + 1 < stmt.len() {
            k += 2;
            continue;
        }
        if depth == 0 {
            // `:=`
            if t.is_ch(':') && stmt.get(k + 1).is_some_and(|u| u.is_ch('=')) {
                mems.push(&stmt[start..k]);
                rels.push(Rel::Def);
                start = k + 2;
                k += 2;
                continue;
            }
            // `=:`
            if let Some(r) = syntax::relation(&t.tk) {
                // `\stackrel{def}{=}` is handled as a plain `=` (the group was copied)
                mems.push(&stmt[start..k]);
                rels.push(r);
                start = k + 1;
            }
        }
        k += 1;
    }
    mems.push(&stmt[start.min(stmt.len())..]);
    (mems, rels)
}

fn is_blank_or_prompt(toks: &[Tok]) -> bool {
    let s: String = plain_text(toks).replace(' ', "");
    s.is_empty()
        || s == "?"
        || s == "\\?"
        || s == "\\text?"
        || s == "\\square"
        || s == "\\dots"
        || s == "\\ldots"
        || s == "\\cdots"
        || s.chars().all(|c| c == '_' || c == '\\')
}

/// The head of a function definition `name(a, b)`: name and parameter symbols.
fn def_head(toks: &[Tok], cx: &Ctx) -> Option<(String, Vec<Sym>)> {
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
    if func_by_name(&name).is_some() || name == "I" {
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

/// Handles one statement: a definition, a declaration, or an identity.
#[allow(clippy::too_many_arguments)]
fn statement(
    st: &mut State,
    stmt: &[Tok],
    src: &str,
    span: usize,
    layout: Option<Layout>,
    otimes: Option<Otimes>,
    out: &mut Vec<Finding>,
) -> Option<()> {
    let (mut mems, mut rels) = members(stmt);
    if rels.is_empty() {
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
    let funcs = st.func_names();
    let ids = Cell::new(0u32);
    let cx = Ctx {
        funcs: &funcs,
        ids: &ids,
        src,
        depth: Cell::new(0),
    };
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
    if !any_deriv {
        // a definition `y = ...` / `f(x) = ...` / `y := ...`
        if matches!(rels[0], Rel::Eq | Rel::Def) && mems.len() >= 2 && !is_blank_or_prompt(mems[1])
        {
            define(st, mems[0], mems[1], &cx);
        }
        return None;
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
    let body = build(st, &keep, &cx, src);
    let f = match body {
        Ok(id) => finding(span, start, src, end, layout, otimes, Ok(id)),
        Err(s) => skip_finding(span, start, src, end, layout, otimes, s),
    };
    out.push(f);
    None
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

fn declaration(st: &mut State, lhs: &[Tok], rhs: &[Tok], cx: &Ctx) {
    let r = plain_text(rhs).replace(' ', "");
    let kind;
    let mut positive = false;
    let mut names: Vec<String> = Vec::new();
    if let Some(rest) = r
        .strip_prefix("\\mathbbR")
        .or_else(|| r.strip_prefix("\\mathbb{R}"))
        .or_else(|| r.strip_prefix("\\R"))
    {
        let rest = rest.replace(['{', '}'], "");
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
                st.decls.insert(s.key(), Kind::Matrix);
                st.symmetric.insert(s.key());
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
            st.decls.insert(s.key(), kind);
            st.dimnames.insert(s.key(), names.clone());
            if positive {
                st.positive.insert(s.key());
            }
        }
    }
}

fn define(st: &mut State, head: &[Tok], body: &[Tok], cx: &Ctx) {
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
        let parsed = syntax::parse_expr(body, &bcx);
        if let Ok(e) = &parsed {
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
        return;
    }
    let Ok(Expr::Var(s)) = syntax::parse_expr(head, cx) else {
        return;
    };
    let parsed = syntax::parse_expr(body, cx);
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
        if matches!(e, Expr::Var(_) | Expr::Num(_)) && is_trivial_alias(e) {
            return;
        }
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
}

/// A definition's body read like an identity's members: `s_k` next to a vector `s`
/// (defined earlier or bold in the body) is its entry `k` (`\ell = -\log s_k`).
fn bind_entries(st: &State, body: Result<Expr, PErr>) -> Result<Expr, PErr> {
    entries_of_vectors(st, vec![body])
        .pop()
        .unwrap_or_else(|| Err(PErr::parse("empty definition".to_string())))
}

/// `a = 3` or `y = x` are facts more often than definitions worth substituting.
fn is_trivial_alias(e: &Expr) -> bool {
    matches!(e, Expr::Num(_))
}

/// Parses and resolves the members of an identity. An abstract function anywhere
/// is reported before a member that does not parse.
fn build(st: &State, mems: &[&[Tok]], cx: &Ctx, src: &str) -> Result<Ident, Skip> {
    let mut parsed = Vec::new();
    let mut texts = Vec::new();
    let mut bars = Vec::new();
    for m in mems {
        let (body, bar) = split_eval_bar(m, cx)?;
        bars.push(bar);
        parsed.push(syntax::parse_expr(body, cx));
        let a = m.iter().find(|t| !is_space(&t.tk)).map_or(0, |t| t.start);
        let b = m
            .iter()
            .rev()
            .find(|t| !is_space(&t.tk))
            .map_or(a, |t| t.end);
        texts.push(src.get(a..b.max(a)).unwrap_or("").trim().to_string());
    }
    let parsed = entries_of_vectors(st, parsed);
    // `f_x`, `f_{xy}` for a defined `f(x, y)`: its partial derivatives
    let parsed: Vec<Result<Expr, PErr>> = parsed
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
        .collect();
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
    // a defined function named bare (`\frac{\partial F}{\partial x}` for `F(x,
    // y)`): its parameters are this identity's variables, whatever the note
    // defined under those names
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
    let used = Cell::new(false);
    let mut members = Vec::new();
    let mut first_err: Option<Skip> = None;
    for p in &parsed {
        match p {
            Ok(e) => match subst_ctx(st, e.clone(), &bound, true, &used) {
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
    // variables of derivatives that the note defined (`u = x^2`, then `dy/du`):
    // their value at a point is their definition's
    let mut deps: Vec<(Sym, Expr)> = Vec::new();
    for k in &wrts {
        if let Some(Def::Sym {
            body: Ok(b),
            bold,
            upper,
        }) = st.syms.get(k)
            && !matches!(b, Expr::Num(_))
        {
            let mut sym = None;
            for e in &members {
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
                let body = subst_ctx(st, b.clone(), &BTreeSet::new(), true, &used)?;
                deps.push((sym, body));
            }
        }
    }
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
    let dep_exprs = all.split_off(n_members);
    let members = all;
    let deps: Vec<(Sym, Expr)> = deps.into_iter().map(|(s, _)| s).zip(dep_exprs).collect();
    // the same identity with the defined symbols as plain constants
    let alt = if used.get() {
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
    } else {
        None
    };
    // the note's standing conditions about this identity's symbols
    let mut keys = BTreeSet::new();
    for m in &members {
        m.walk(&mut |x| {
            if let Expr::Var(s) = x {
                keys.insert(s.key());
            }
        });
    }
    let conds: Vec<syntax::Cond> = st
        .conds
        .iter()
        .filter(|c| {
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
        .cloned()
        .collect();
    Ok(Ident {
        members,
        alt,
        texts,
        decls: st.decls.clone(),
        dimnames,
        positive: st.positive.clone(),
        symmetric: st.symmetric.clone(),
        conds,
        free,
        deps,
        bars,
        branch_conds: Vec::new(),
    })
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
                syntax::BinOp::Mul | syntax::BinOp::Dot => a * b,
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
fn entries_of_vectors(st: &State, parsed: Vec<Result<Expr, PErr>>) -> Vec<Result<Expr, PErr>> {
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
    // an index only ever inside `diag(...)` builds the diagonal entry by entry
    // (`\operatorname{diag}(\begin{cases} 1 & x_i > 0 \\ 0 & x_i \le 0 \end{cases})`)
    let count = |e: &Expr, k: &str| {
        let mut n = 0;
        e.walk(&mut |y| {
            if let Expr::Var(s) = y
                && s.sub.as_deref() == Some(k)
            {
                n += 1;
            }
        });
        n
    };
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
            all += count(e, &k);
            e.walk(&mut |y| {
                if let Expr::Call(Func::Diag, args) = y
                    && let [a] = args.as_slice()
                    && !matches!(a, Expr::Dots(..))
                {
                    inside += count(a, &k);
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
                                && diag_only.iter().any(|k| count(&args[0], k) > 0) =>
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

/// Does `e` use the symbol (or function) named `key`?
fn uses_symbol(e: &Expr, key: &str) -> bool {
    let mut any = false;
    e.walk(&mut |x| match x {
        Expr::Var(s) if s.key() == key => any = true,
        Expr::Apply(n, _) if n == key => any = true,
        _ => {}
    });
    any
}

/// Does the condition mention a symbol of the identity?
fn cond_mentions(id: &Ident, c: &syntax::Cond) -> bool {
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
fn symmetric_decl(st: &State, stmt: &[Tok], src: &str) -> Option<String> {
    let (mems, rels) = members(stmt);
    if rels != [Rel::Eq] || mems.iter().any(|m| has_deriv(m)) {
        return None;
    }
    let funcs = st.func_names();
    let ids = Cell::new(1000);
    let cx = Ctx {
        funcs: &funcs,
        ids: &ids,
        src,
        depth: Cell::new(0),
    };
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
fn domain_condition(st: &State, stmt: &[Tok], src: &str) -> Option<syntax::Cond> {
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
    let cx = Ctx {
        funcs: &funcs,
        ids: &ids,
        src,
        depth: Cell::new(0),
    };
    syntax::parse_condition(stmt, &cx).ok()
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
fn abstract_in(e: &Expr) -> Option<Skip> {
    let mut err: Option<Skip> = None;
    e.walk(&mut |x| {
        if err.is_some() {
            return;
        }
        match x {
            Expr::Apply(name, _) => {
                err = Some(Skip {
                    kind: SkipReason::Abstract,
                    message: format!("abstract function {}", show_name(name)),
                });
            }
            Expr::Deriv(_, d) => {
                if let Expr::Var(s) = &d.of
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
                match body {
                    Ok(b) => match substitute(st, b.clone(), wrts, depth + 1, syms, used) {
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
                            message: format!(
                                "uses {}, whose definition could not be read: {}",
                                s.show(),
                                pe.msg
                            ),
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
                _ => Ok(Expr::Var(s)),
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
                    let bound = b.clone().map(&mut |y| match y {
                        Expr::Var(v) => match keys.iter().position(|k| *k == v.key()) {
                            Some(i) => Ok(args[i].clone()),
                            None => Ok(Expr::Var(v)),
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
                        message: format!(
                            "uses {name}, whose definition could not be read: {}",
                            pe.msg
                        ),
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

fn show_name(n: &str) -> String {
    n.trim_start_matches('\\').to_string()
}

/// A letter naming a dimension of a declared symbol in the identity (`\mathbf{v} \in
/// \mathbb{R}^n`) and used as a value (`\frac{1}{n}`) is that dimension's size: it
/// becomes a dimension variable, tied to the symbol's dimension. Not a letter that
/// is a variable of a derivative, declared itself, or also a bold symbol.
fn dim_values(st: &State, members: &mut [Expr]) -> Vec<(String, Vec<Option<String>>)> {
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
        let per: Vec<Option<String>> = names
            .iter()
            .map(|n| is_name(n).then(|| n.clone()))
            .collect();
        if per.iter().any(Option::is_some) {
            used.extend(per.iter().flatten().cloned());
            out.push((k.clone(), per));
        }
    }
    if used.is_empty() {
        return out;
    }
    for e in members.iter_mut() {
        let taken = std::mem::replace(e, Expr::ZeroAny);
        let mapped = taken.clone().map(&mut |x| match x {
            Expr::Var(s) if !s.bold && s.sub.is_none() && used.contains(&s.key()) => {
                Ok(Expr::DimVar(s.key()))
            }
            other => Ok(other),
        });
        *e = mapped.unwrap_or(taken);
    }
    out
}

/// Replaces each `f'(u)` node (`syntax::PRIME_AT`) by its derivative and records the
/// fresh variable with `u`. Refused inside a derivative's operand or a sum (the
/// variable takes one value per point).
fn bind_prime_at(e: Expr, out: &mut Vec<(Sym, Expr)>) -> Result<Expr, String> {
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

/// Abstract functions, indices, dimension variables, ids.
fn resolve(members: Vec<Expr>) -> Result<(Vec<Expr>, Vec<String>), Skip> {
    let mut members = members;
    // `\dot{q}` is a variable of its own (a Lagrangian's velocity), except next to a
    // derivative by the time `t`, where it is q's time derivative
    let (mut dotted, mut by_t) = (false, false);
    for e in &members {
        e.walk(&mut |x| match x {
            Expr::Var(s) if s.base.starts_with("\\dot{") || s.base.starts_with("\\ddot{") => {
                dotted = true
            }
            Expr::Deriv(_, d) if d.wrt.base == "t" => by_t = true,
            _ => {}
        });
    }
    // a partial derivative holding symbols fixed is the plain partial when they are
    // among the operand's symbols (the other variables are then fixed too)
    let mut bad_held = None;
    for e in &members {
        e.walk(&mut |x| {
            if let Expr::Deriv(_, d) = x
                && !d.held.is_empty()
            {
                let mut keys = BTreeSet::new();
                d.of.walk(&mut |y| {
                    if let Expr::Var(s) = y {
                        keys.insert(s.key());
                    }
                });
                if let Some(h) = d.held.iter().find(|h| !keys.contains(&h.key())) {
                    bad_held.get_or_insert_with(|| h.show());
                }
            }
        });
    }
    if let Some(h) = bad_held {
        return Err(Skip {
            kind: SkipReason::Unsupported,
            message: format!(
                "a partial derivative holding {h} fixed, which is not among the variables of \
                 what is differentiated"
            ),
        });
    }
    if dotted && by_t {
        return Err(Skip {
            kind: SkipReason::Unsupported,
            message: "a time derivative `\\dot{}` next to a derivative by t".into(),
        });
    }
    for e in members.iter_mut() {
        let taken = std::mem::replace(e, Expr::ZeroAny);
        *e = fix_nabla(taken)?;
        if let Some(s) = abstract_in(e) {
            return Err(s);
        }
    }
    // dimension variables: the upper limits of sums
    let mut dimvars = BTreeSet::new();
    for e in &members {
        e.walk(&mut |x| {
            if let Expr::Sum { hi: Some(h), .. } = x
                && let Expr::Var(s) = h.as_ref()
                && !s.bold
            {
                dimvars.insert(s.key());
            }
        });
    }
    let comps = components(&members);
    let free = free_indices(&members);
    let members: Vec<Expr> = if free.is_empty() {
        members
    } else {
        members
            .into_iter()
            .map(|e| {
                e.map(&mut |x| match x {
                    Expr::Deriv(id, mut d) => {
                        if let Some(s) = d.wrt.sub.clone()
                            && free.contains(&s)
                        {
                            d.wrt.sub = None;
                            d.entry = Some(s);
                        }
                        Ok(Expr::Deriv(id, d))
                    }
                    other => Ok(other),
                })
            })
            .collect::<Result<_, _>>()
            .map_err(|m| Skip {
                kind: SkipReason::Parse,
                message: m,
            })?
    };
    let mut out = Vec::new();
    for e in members {
        let e = bind_indices(e, &free)?;
        let e = if comps.is_empty() {
            e
        } else {
            e.map(&mut |x| match x {
                Expr::Var(s) if !s.bold => match (&s.sub, comps.get(&s.base)) {
                    (Some(k), Some((base, n))) => match k.parse::<usize>() {
                        Ok(k) if k >= 1 => Ok(Expr::At(Expr::Var(base.clone()).bx(), k, *n)),
                        _ => Ok(Expr::Var(s)),
                    },
                    _ => Ok(Expr::Var(s)),
                },
                other => Ok(other),
            })
            .map_err(|m| Skip {
                kind: SkipReason::Parse,
                message: m,
            })?
        };
        let e = if dimvars.is_empty() {
            e
        } else {
            e.map(&mut |x| match x {
                Expr::Var(s) if dimvars.contains(&s.key()) => Ok(Expr::DimVar(s.key())),
                other => Ok(other),
            })
            .map_err(|m| Skip {
                kind: SkipReason::Parse,
                message: m,
            })?
        };
        let e = match e {
            Expr::Num(0.0) => Expr::ZeroAny,
            e => e,
        };
        out.push(e);
    }
    // `x_i` both as an entry of a vector and as one of several vectors `\mathbf{x}_i`
    let mut cols = BTreeSet::new();
    let mut entries = BTreeSet::new();
    for e in &out {
        e.walk(&mut |x| match x {
            Expr::Col(b, _) => {
                if let Expr::Var(s) = b.as_ref() {
                    cols.insert(s.base.clone());
                }
            }
            Expr::Index(b, _) => {
                if let Expr::Var(s) = b.as_ref() {
                    entries.insert(s.base.clone());
                }
            }
            _ => {}
        });
    }
    // `x` and `\mathbf{x}` in one identity are one symbol: `x_i` next to
    // `\mathbf{x}_i` is the i-th vector too
    let both: BTreeSet<String> = cols.intersection(&entries).cloned().collect();
    let out = if both.is_empty() {
        out
    } else {
        let mut out2 = Vec::new();
        for e in out {
            let e = e
                .map(&mut |x| match x {
                    Expr::Index(b, idx) => match (*b, idx.as_slice()) {
                        (Expr::Var(s), [i]) if both.contains(&s.base) && !s.upper => {
                            let family = Sym {
                                base: s.base.clone(),
                                sub: Some("*".into()),
                                bold: true,
                                upper: false,
                            };
                            Ok(Expr::Col(Expr::Var(family).bx(), i.clone()))
                        }
                        (Expr::Var(s), _) if both.contains(&s.base) => Err(format!(
                            "{}_ij is used as the entry of a matrix and {0}_i as one of several vectors",
                            s.base.trim_start_matches('\\')
                        )),
                        (b, _) => Ok(Expr::Index(b.bx(), idx)),
                    },
                    other => Ok(other),
                })
                .map_err(|m| Skip {
                    kind: SkipReason::Unsupported,
                    message: m,
                })?;
            out2.push(e);
        }
        out2
    };
    // unique ids
    let ids = Cell::new(0u32);
    let next = || {
        let v = ids.get();
        ids.set(v + 1);
        v
    };
    let mut res = Vec::new();
    for e in out {
        let e = e
            .map(&mut |x| {
                Ok(match x {
                    Expr::Ones(_) => Expr::Ones(next()),
                    Expr::Zeros(_) => Expr::Zeros(next()),
                    Expr::Ident(_) => Expr::Ident(next()),
                    Expr::Cases(_, b) => Expr::Cases(next(), b),
                    Expr::Deriv(_, d) => Expr::Deriv(next(), d),
                    other => other,
                })
            })
            .map_err(|m| Skip {
                kind: SkipReason::Parse,
                message: m,
            })?;
        res.push(e);
    }
    Ok((res, free))
}

/// Index letters of derivatives by a component `\partial x_i` of a vector `x`
/// that the identity also uses as a whole (`x`, or `x_j` in a sum over `j`).
fn free_indices(members: &[Expr]) -> Vec<String> {
    let mut cand: Vec<(String, String)> = Vec::new();
    for e in members {
        e.walk(&mut |x| {
            if let Expr::Deriv(_, d) = x
                && let Some(s) = &d.wrt.sub
                && !d.wrt.bold
                && !d.wrt.upper
                && is_index_letter(s)
                && !cand.iter().any(|(_, i)| i == s)
            {
                cand.push((d.wrt.base.clone(), s.clone()));
            }
        });
    }
    let mut out = Vec::new();
    for (base, idx) in cand {
        let mut sum_idx = BTreeSet::new();
        let mut whole = false;
        for e in members {
            e.walk(&mut |x| {
                if let Expr::Sum { idx, .. } = x {
                    sum_idx.insert(idx.clone());
                }
            });
        }
        for e in members {
            e.walk(&mut |x| {
                if let Expr::Var(s) = x
                    && s.base == base
                {
                    match &s.sub {
                        None => whole = true,
                        Some(j) if sum_idx.contains(j) => whole = true,
                        _ => {}
                    }
                }
            });
        }
        if whole && !sum_idx.contains(&idx) {
            out.push(idx);
        }
    }
    // entries `p_k` of vectors outside any sum (see `entries_of_vectors`)
    let mut sum_idx = BTreeSet::new();
    for e in members {
        e.walk(&mut |x| {
            if let Expr::Sum { idx, .. } = x {
                sum_idx.insert(idx.clone());
            }
        });
    }
    for e in members {
        e.walk(&mut |x| {
            if let Expr::Index(_, idxs) = x {
                for i in idxs {
                    if !sum_idx.contains(i) && !out.contains(i) {
                        out.push(i.clone());
                    }
                }
            }
        });
    }
    out
}

/// Vectors differentiated by (`\partial \mathbf{x}`) whose components are written
/// `x_1, x_2, ...` in the identity: base name → (the vector symbol, its length =
/// the largest component index).
fn components(members: &[Expr]) -> BTreeMap<String, (Sym, usize)> {
    let mut wrts: BTreeMap<String, Sym> = BTreeMap::new();
    for e in members {
        e.walk(&mut |x| {
            if let Expr::Deriv(_, d) = x
                && d.wrt.sub.is_none()
                && !d.wrt.upper
            {
                wrts.insert(d.wrt.base.clone(), d.wrt.clone());
            }
        });
    }
    let mut out: BTreeMap<String, (Sym, usize)> = BTreeMap::new();
    if wrts.is_empty() {
        return out;
    }
    for e in members {
        e.walk(&mut |x| {
            if let Expr::Var(s) = x
                && !s.bold
                && let (Some(sub), Some(w)) = (&s.sub, wrts.get(&s.base))
                && let Ok(k) = sub.parse::<usize>()
                && (1..=9).contains(&k)
            {
                let e = out.entry(s.base.clone()).or_insert((w.clone(), 0));
                e.1 = e.1.max(k);
            }
        });
    }
    // a single component does not make a vector
    out.retain(|_, (_, n)| *n >= 2);
    out
}

/// `\nabla f` without a subscript: the variable is the only symbol in `f`.
fn fix_nabla(e: Expr) -> Result<Expr, Skip> {
    let mut err = None;
    let r = e.map(&mut |x| match x {
        Expr::Deriv(id, d) if d.wrt.base.is_empty() => {
            let mut syms: Vec<Sym> = Vec::new();
            d.of.walk(&mut |y| {
                if let Expr::Var(s) = y
                    && !syms.iter().any(|t| t.key() == s.key())
                {
                    syms.push(s.clone());
                }
            });
            // else the only vector among them (`\nabla(\tfrac12 k r^2)`, `r = \|\mathbf{x}\|`)
            if syms.len() > 1 {
                let vectors: Vec<&Sym> = syms.iter().filter(|s| s.bold && !s.upper).collect();
                if let [v] = vectors.as_slice() {
                    let v = (*v).clone();
                    syms = vec![v];
                }
            }
            if syms.len() == 1 {
                Ok(Expr::Deriv(
                    id,
                    Box::new(Deriv {
                        wrt: syms.remove(0),
                        ..*d
                    }),
                ))
            } else {
                err = Some(Skip {
                    kind: SkipReason::Unsupported,
                    message: "`\\nabla` without a subscript (with respect to which variable?)"
                        .into(),
                });
                Err(String::new())
            }
        }
        other => Ok(other),
    });
    r.map_err(|m| {
        err.unwrap_or(Skip {
            kind: SkipReason::Parse,
            message: m,
        })
    })
}

/// Turns `x_i` inside `\sum_i` (or `\dots x_i \dots`) into entry `i` of `x`.
fn bind_indices(e: Expr, bound: &[String]) -> Result<Expr, Skip> {
    match e {
        Expr::Sum {
            idx,
            lo,
            hi,
            body,
            prod,
        } => {
            let mut b = bound.to_vec();
            b.push(idx.clone());
            // the index written as a number (`\sum_{t=1}^n t\,c`): its value
            let body = body
                .map(&mut |x| match x {
                    Expr::Var(s) if !s.bold && s.sub.is_none() && s.base == idx => {
                        Ok(Expr::IdxVal(idx.clone(), lo))
                    }
                    other => Ok(other),
                })
                .map_err(|m| Skip {
                    kind: SkipReason::Parse,
                    message: m,
                })?;
            let body = bind_indices(body, &b)?;
            let hi = match hi {
                Some(h) => Some(bind_indices(*h, bound)?.bx()),
                None => None,
            };
            Ok(Expr::Sum {
                idx,
                lo,
                hi,
                body: body.bx(),
                prod,
            })
        }
        Expr::Dots(body, _) => {
            // the index: the first single-letter subscript i, j, k in the body
            let mut idx = None;
            body.walk(&mut |x| {
                if idx.is_some() {
                    return;
                }
                if let Expr::Var(s) = x
                    && let Some(sub) = &s.sub
                    && sub.len() == 1
                    && is_index_letter(sub)
                {
                    idx = Some(sub.clone());
                }
            });
            let Some(idx) = idx else {
                return Err(Skip {
                    kind: SkipReason::Unsupported,
                    message: "an ellipsis `\\dots` without an indexed entry like x_i".into(),
                });
            };
            let mut b = bound.to_vec();
            b.push(idx.clone());
            let body = bind_indices(*body, &b)?;
            Ok(Expr::Dots(body.bx(), idx))
        }
        Expr::Var(s) => {
            let Some(sub) = &s.sub else {
                return Ok(Expr::Var(s));
            };
            let letters: Vec<String> = sub.chars().map(|c| c.to_string()).collect();
            if !letters.is_empty()
                && letters.len() <= 2
                && letters.iter().all(|l| bound.contains(l))
            {
                if s.base == "\\delta" && !s.bold && letters.len() == 2 {
                    // the Kronecker delta `\delta_{ij}`: an entry of the identity
                    return Ok(Expr::Index(Expr::Ident(0).bx(), letters));
                }
                if s.bold && !s.upper && letters.len() == 1 {
                    // `\mathbf{e}_i`: the i-th standard basis vector
                    if s.base == "e" {
                        return Ok(Expr::Col(Expr::Ident(0).bx(), letters[0].clone()));
                    }
                    // `\mathbf{x}_i` in a sum over i: the i-th column of a matrix
                    let family = Sym {
                        base: s.base.clone(),
                        sub: Some("*".into()),
                        bold: true,
                        upper: false,
                    };
                    return Ok(Expr::Col(Expr::Var(family).bx(), letters[0].clone()));
                }
                let base = Sym {
                    base: s.base.clone(),
                    sub: None,
                    bold: s.bold,
                    upper: s.upper,
                };
                return Ok(Expr::Index(Expr::Var(base).bx(), letters));
            }
            Ok(Expr::Var(s))
        }
        Expr::Cases(id, brs) => {
            // an index that a branch's condition shares with a sum in the branches'
            // values (`\sum_i ... & \mathbf{w} \cdot \mathbf{x}_i + b > 0`): the
            // condition holds for every value of it
            let mut sum_idx: Vec<String> = Vec::new();
            for (v, _) in &brs {
                v.walk(&mut |x| {
                    if let Expr::Sum { idx, .. } = x
                        && !bound.contains(idx)
                        && !sum_idx.contains(idx)
                    {
                        sum_idx.push(idx.clone());
                    }
                });
            }
            let mut out = Vec::new();
            for (v, c) in brs {
                let v = bind_indices(v, bound)?;
                let c = if sum_idx.is_empty() {
                    bind_cond(c, bound)?
                } else {
                    bind_cond_all(c, bound, &sum_idx)?
                };
                out.push((v, c));
            }
            Ok(Expr::Cases(id, out))
        }
        Expr::Deriv(id, d) => {
            let d = *d;
            Ok(Expr::Deriv(
                id,
                Box::new(Deriv {
                    of: bind_indices(d.of, bound)?,
                    ..d
                }),
            ))
        }
        other => {
            // recurse into children with the same bound set
            let mut err = None;
            let r = map_children(other, &mut |c| match bind_indices(c, bound) {
                Ok(c) => Ok(c),
                Err(s) => {
                    err = Some(s);
                    Err(String::new())
                }
            });
            match r {
                Ok(e) => Ok(e),
                Err(m) => Err(err.unwrap_or(Skip {
                    kind: SkipReason::Parse,
                    message: m,
                })),
            }
        }
    }
}

/// `bind_indices` in each expression of a condition.
fn bind_cond(c: syntax::Cond, bound: &[String]) -> Result<syntax::Cond, Skip> {
    Ok(match c {
        syntax::Cond::Always => syntax::Cond::Always,
        syntax::Cond::Rel(es, rs) => syntax::Cond::Rel(
            es.into_iter()
                .map(|e| bind_indices(e, bound))
                .collect::<Result<_, _>>()?,
            rs,
        ),
        syntax::Cond::And(cs) => syntax::Cond::And(
            cs.into_iter()
                .map(|c| bind_cond(c, bound))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// The index letters among `idxs` that `e` uses as a subscript (`x_i`, `A_{ij}`).
fn subscript_indices(e: &Expr, idxs: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    e.walk(&mut |x| {
        if let Expr::Var(s) = x
            && let Some(sub) = &s.sub
            && sub.chars().count() <= 2
        {
            for c in sub.chars() {
                let c = c.to_string();
                if idxs.contains(&c) && !out.contains(&c) {
                    out.push(c);
                }
            }
        }
    });
    out
}

/// A condition whose expressions use an index of a sum (`idxs`) that is not bound
/// around it: each such expression becomes the vector of its values over the index
/// (`\dots`), and the comparison holds entry by entry, so for every value.
fn bind_cond_all(c: syntax::Cond, bound: &[String], idxs: &[String]) -> Result<syntax::Cond, Skip> {
    Ok(match c {
        syntax::Cond::Always => syntax::Cond::Always,
        syntax::Cond::Rel(es, rs) => {
            let mut out = Vec::new();
            for e in es {
                let used = subscript_indices(&e, idxs);
                match used.as_slice() {
                    [] => out.push(bind_indices(e, bound)?),
                    [i] => {
                        let mut b = bound.to_vec();
                        b.push(i.clone());
                        out.push(Expr::Dots(bind_indices(e, &b)?.bx(), i.clone()));
                    }
                    _ => {
                        return Err(Skip {
                            kind: SkipReason::Unsupported,
                            message: format!(
                                "a condition over several sum indices ({})",
                                used.join(", ")
                            ),
                        });
                    }
                }
            }
            syntax::Cond::Rel(out, rs)
        }
        syntax::Cond::And(cs) => syntax::Cond::And(
            cs.into_iter()
                .map(|c| bind_cond_all(c, bound, idxs))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// Applies `f` to the direct children of `e`.
fn map_children(e: Expr, f: &mut dyn FnMut(Expr) -> Result<Expr, String>) -> Result<Expr, String> {
    Ok(match e {
        Expr::Neg(a) => Expr::Neg(f(*a)?.bx()),
        Expr::Post(a, p) => Expr::Post(f(*a)?.bx(), p),
        Expr::Norm(a, k) => Expr::Norm(f(*a)?.bx(), k),
        Expr::Index(a, i) => Expr::Index(f(*a)?.bx(), i),
        Expr::Col(a, i) => Expr::Col(f(*a)?.bx(), i),
        Expr::At(a, k, n) => Expr::At(f(*a)?.bx(), k, n),
        Expr::Bin(op, a, b) => Expr::Bin(op, f(*a)?.bx(), f(*b)?.bx()),
        Expr::Pow(a, b) => Expr::Pow(f(*a)?.bx(), f(*b)?.bx()),
        Expr::Ind(a, r, b) => Expr::Ind(f(*a)?.bx(), r, f(*b)?.bx()),
        Expr::Call(g, args) => {
            Expr::Call(g, args.into_iter().map(&mut *f).collect::<Result<_, _>>()?)
        }
        Expr::Apply(g, args) => {
            Expr::Apply(g, args.into_iter().map(&mut *f).collect::<Result<_, _>>()?)
        }
        Expr::Matrix(rows) => Expr::Matrix(
            rows.into_iter()
                .map(|r| r.into_iter().map(&mut *f).collect::<Result<Vec<_>, _>>())
                .collect::<Result<_, _>>()?,
        ),
        Expr::Cases(id, brs) => {
            let mut out = Vec::new();
            for (v, c) in brs {
                let v = f(v)?;
                let c = map_cond(c, f)?;
                out.push((v, c));
            }
            Expr::Cases(id, out)
        }
        Expr::Sum {
            idx,
            lo,
            hi,
            body,
            prod,
        } => Expr::Sum {
            idx,
            lo,
            prod,
            hi: match hi {
                Some(h) => Some(f(*h)?.bx()),
                None => None,
            },
            body: f(*body)?.bx(),
        },
        Expr::Dots(a, i) => Expr::Dots(f(*a)?.bx(), i),
        other => other,
    })
}

/// Substitutes definitions in context: inside a derivative by `v`, every defined
/// symbol but `v` (a variable there); elsewhere every one.
fn subst_ctx(
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
        other => {
            let mut err = None;
            let r = map_children(
                other,
                &mut |c| match subst_ctx(st, c, exclude, syms, used) {
                    Ok(c) => Ok(c),
                    Err(s) => {
                        err = Some(s);
                        Err(String::new())
                    }
                },
            );
            r.map_err(|m| {
                err.unwrap_or(Skip {
                    kind: SkipReason::Parse,
                    message: m,
                })
            })
        }
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
    let pat = format!("{def:?}");
    let mut hit = false;
    let key = Expr::Var(wrt.clone());
    let of = replace_pre(of, &mut |x| {
        if format!("{x:?}") == pat {
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

/// Replaces the outermost subexpressions that `f` maps (pre-order).
fn replace_pre(e: Expr, f: &mut dyn FnMut(&Expr) -> Option<Expr>) -> Expr {
    if let Some(r) = f(&e) {
        return r;
    }
    let keep = e.clone();
    map_children(e, &mut |c| Ok(replace_pre(c, f))).unwrap_or(keep)
}

fn map_cond(
    c: syntax::Cond,
    f: &mut dyn FnMut(Expr) -> Result<Expr, String>,
) -> Result<syntax::Cond, String> {
    Ok(match c {
        syntax::Cond::Always => syntax::Cond::Always,
        syntax::Cond::Rel(es, rs) => {
            syntax::Cond::Rel(es.into_iter().map(&mut *f).collect::<Result<_, _>>()?, rs)
        }
        syntax::Cond::And(cs) => syntax::Cond::And(
            cs.into_iter()
                .map(|c| map_cond(c, f))
                .collect::<Result<_, _>>()?,
        ),
    })
}
