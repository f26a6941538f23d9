//! The recursive-descent parser for the math people write in notes: implicit
//! products, `\frac`, `\sqrt`, functions with and without parentheses, norms,
//! `\sum`, matrix literals, `cases`, and derivatives. One file per construct:
//! `expr` (sums, products, powers, atoms, delimiters), `symbol` (letters, symbols,
//! function application), `command` (TeX commands), `deriv` (derivatives), `env`
//! (sums, environments, `cases`, conditions).

mod command;
mod deriv;
mod env;
mod expr;
mod symbol;

use std::cell::Cell;
use std::collections::BTreeSet;

use crate::check::SkipReason;
use crate::check::notation::{DECOR_CMDS, UNSUPPORTED_CMDS, is_bold, is_text};

use super::ast::{Cond, Expr, PostOp, Rel};
use super::lex::{Tk, Tok, is_space, lex, skip_group};

/// Is this a relation that separates the sides of a statement?
pub(crate) fn relation(tk: &Tk) -> Option<Rel> {
    Some(match tk {
        Tk::Ch('=') => Rel::Eq,
        Tk::Ch('<') => Rel::Lt,
        Tk::Ch('>') => Rel::Gt,
        Tk::Cmd(c) => match c.as_str() {
            "le" | "leq" | "leqslant" | "leqq" => Rel::Le,
            "ge" | "geq" | "geqslant" | "geqq" => Rel::Ge,
            "lt" => Rel::Lt,
            "gt" => Rel::Gt,
            "ne" | "neq" => Rel::Ne,
            "coloneqq" | "coloneq" | "triangleq" | "equiv" | "eqqcolon" | "doteq" | "defeq" => {
                Rel::Def
            }
            "approx" | "simeq" | "sim" | "cong" | "propto" => Rel::Approx,
            "in" | "notin" | "subset" | "subseteq" | "to" | "mapsto" | "rightarrow"
            | "leftarrow" | "succ" | "succeq" | "prec" | "preceq" => Rel::Other,
            _ => return None,
        },
        _ => return None,
    })
}

/// Why parsing stopped.
#[derive(Debug, Clone)]
pub(crate) struct PErr {
    /// `Parse`, `Unsupported` or `Abstract`.
    pub kind: SkipReason,
    pub msg: String,
}

impl PErr {
    pub(crate) fn parse(msg: impl Into<String>) -> PErr {
        PErr {
            kind: SkipReason::Parse,
            msg: msg.into(),
        }
    }
    pub(crate) fn unsupported(msg: impl Into<String>) -> PErr {
        PErr {
            kind: SkipReason::Unsupported,
            msg: msg.into(),
        }
    }
    pub(crate) fn abstract_(msg: impl Into<String>) -> PErr {
        PErr {
            kind: SkipReason::Abstract,
            msg: msg.into(),
        }
    }
}

type PResult<T> = Result<T, PErr>;

/// What the parser needs to know about the note.
pub(crate) struct Ctx<'a> {
    /// Names of functions defined earlier in the note (`activation(\mathbf{x}) = ...`).
    pub funcs: &'a BTreeSet<String>,
    /// Counter for node ids (derivatives, cases, identities, ones vectors).
    pub ids: &'a Cell<u32>,
    /// Current nesting depth of the parser (bounded to keep the stack small).
    pub depth: Cell<u32>,
    /// The TeX the tokens' offsets point into (for quoting source in messages).
    pub src: &'a str,
}

impl<'a> Ctx<'a> {
    /// A context for parsing at the top level of `src`, with the note's functions.
    pub(crate) fn new(funcs: &'a BTreeSet<String>, ids: &'a Cell<u32>, src: &'a str) -> Self {
        Ctx {
            funcs,
            ids,
            src,
            depth: Cell::new(0),
        }
    }
}

impl Ctx<'_> {
    /// The source text of a token range (or its plain text if offsets don't fit).
    pub(crate) fn text(&self, toks: &[Tok]) -> String {
        if let (Some(a), Some(b)) = (toks.first(), toks.last())
            && let Some(s) = self.src.get(a.start..b.end.max(a.start))
            && !s.trim().is_empty()
        {
            return s.trim().to_string();
        }
        plain_text(toks).trim().to_string()
    }
    fn id(&self) -> u32 {
        let v = self.ids.get();
        self.ids.set(v + 1);
        v
    }
}

/// The deepest nesting of atoms the parser accepts.
const MAX_DEPTH: u32 = 60;

/// The text inside a `{...}` group (or a single token) as plain letters/digits, for
/// `\text{sum}`, `\operatorname{diag}`, subscripts.
pub(crate) fn plain_text(toks: &[Tok]) -> String {
    let mut s = String::new();
    for t in toks {
        match &t.tk {
            Tk::Letter(c) | Tk::Digit(c) | Tk::Ch(c) => s.push(*c),
            Tk::Cmd(c) if is_space(&t.tk) || c == " " => s.push(' '),
            Tk::Cmd(c) => {
                s.push('\\');
                s.push_str(c);
            }
            Tk::Open | Tk::Close => {}
        }
    }
    s
}

/// The recursive-descent parser over a token slice.
pub(crate) struct Parser<'t, 'c> {
    toks: &'t [Tok],
    pos: usize,
    cx: &'c Ctx<'c>,
    bold: bool,
    abs_depth: u32,
    norm_depth: u32,
    /// Inside the argument of a function written without parentheses.
    in_bare_arg: bool,
    /// Parsing the operand of an operator-form derivative.
    in_operand: bool,
    /// Parsing the operand of a gradient `\nabla u`, which ends before `\times` and
    /// `\cdot` (`\nabla u \times \mathbf{A}` is `(\nabla u) \times \mathbf{A}`).
    grad_operand: bool,
    /// Parsing a factor after the first of a product (`g` in `f g`): a `\nabla` or
    /// `\partial_x` there applies to the rest of that product only (`f \nabla g +
    /// g \nabla f`).
    later_factor: bool,
    /// The bare argument read so far has no bold vector: a bold vector after it
    /// starts a new factor (`\cos t \mathbf{u}` is `\cos(t)\,\mathbf{u}`).
    bare_scalar: bool,
    /// The indices of the sums being parsed (`^t` inside `\sum_t` is a power).
    bound: Vec<String>,
}

/// Parses a condition like `x > 0` or `0 < x \le 1` (also inside parentheses).
pub(crate) fn parse_condition(toks: &[Tok], cx: &Ctx) -> PResult<Cond> {
    let mut toks = toks;
    loop {
        let sig: Vec<usize> = (0..toks.len())
            .filter(|&k| !is_space(&toks[k].tk))
            .collect();
        let (Some(&a), Some(&b)) = (sig.first(), sig.last()) else {
            return Err(PErr::parse("an empty condition"));
        };
        if toks[a].is_ch('(')
            && toks[b].is_ch(')')
            && split_top(&toks[a + 1..b], |_| false).len() == 1
        {
            toks = &toks[a + 1..b];
            continue;
        }
        break;
    }
    let p = Parser::new(toks, cx);
    p.condition(toks)
}

/// Parses a whole token slice as one expression.
pub(crate) fn parse_expr(toks: &[Tok], cx: &Ctx) -> PResult<Expr> {
    let mut p = Parser::new(toks, cx);
    let e = p.expr()?;
    p.expect_end()?;
    Ok(e)
}

impl<'t, 'c> Parser<'t, 'c> {
    pub(crate) fn new(toks: &'t [Tok], cx: &'c Ctx<'c>) -> Self {
        Parser {
            toks,
            pos: 0,
            cx,
            bold: false,
            abs_depth: 0,
            norm_depth: 0,
            in_bare_arg: false,
            in_operand: false,
            grad_operand: false,
            later_factor: false,
            bare_scalar: false,
            bound: Vec::new(),
        }
    }

    fn sub<'u>(&self, toks: &'u [Tok]) -> Parser<'u, 'c> {
        Parser {
            toks,
            pos: 0,
            cx: self.cx,
            bold: self.bold,
            abs_depth: 0,
            norm_depth: 0,
            in_bare_arg: false,
            in_operand: false,
            grad_operand: false,
            later_factor: false,
            bare_scalar: false,
            bound: self.bound.clone(),
        }
    }

    fn skip_space(&mut self) -> bool {
        let mut any = false;
        while self.pos < self.toks.len() && is_space(&self.toks[self.pos].tk) {
            self.pos += 1;
            any = true;
        }
        any
    }

    fn peek(&mut self) -> Option<&'t Tok> {
        self.skip_space();
        self.toks.get(self.pos)
    }

    fn peek_at(&self, n: usize) -> Option<&'t Tok> {
        let mut k = self.pos;
        let mut seen = 0;
        while k < self.toks.len() {
            if !is_space(&self.toks[k].tk) {
                if seen == n {
                    return Some(&self.toks[k]);
                }
                seen += 1;
            }
            k += 1;
        }
        None
    }

    fn bump(&mut self) -> Option<&'t Tok> {
        self.skip_space();
        let t = self.toks.get(self.pos);
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    fn expect_end(&mut self) -> PResult<()> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(stopped_at(t)),
        }
    }

    fn eat_ch(&mut self, c: char) -> bool {
        if self.peek().is_some_and(|t| t.is_ch(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_cmd(&mut self, name: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_cmd(name)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// The tokens of the next argument: a `{...}` group's inside, or one token.
    fn arg_toks(&mut self) -> PResult<&'t [Tok]> {
        let Some(t) = self.peek() else {
            return Err(PErr::parse("missing argument at the end"));
        };
        if t.tk == Tk::Open {
            let open = self.pos;
            let close = skip_group(self.toks, open);
            if close > self.toks.len() || close <= open + 1 {
                return Err(PErr::parse("unbalanced braces"));
            }
            if !matches!(self.toks.get(close - 1).map(|t| &t.tk), Some(Tk::Close)) {
                return Err(PErr::parse("unbalanced braces"));
            }
            self.pos = close;
            Ok(&self.toks[open + 1..close - 1])
        } else if t.tk == Tk::Close {
            Err(PErr::parse("unbalanced braces"))
        } else {
            let k = self.pos;
            self.pos += 1;
            // `x^\mathsf{T}`, `\nabla_\mathbf{x}`: a font command takes its group along
            if let Tk::Cmd(c) = &t.tk
                && (is_bold(c.as_str()) || is_text(c.as_str()) || DECOR_CMDS.contains(&c.as_str()))
                && self.toks.get(k + 1).is_some_and(|u| u.tk == Tk::Open)
            {
                let close = skip_group(self.toks, k + 1);
                if close <= self.toks.len() {
                    self.pos = close;
                    return Ok(&self.toks[k..close]);
                }
            }
            // `x^\frac{1}{2}`, `e^\sqrt{x}`: a command takes its arguments along
            let groups = match &t.tk {
                Tk::Cmd(c) if matches!(c.as_str(), "frac" | "dfrac" | "tfrac") => 2,
                Tk::Cmd(c) if c == "sqrt" => 1,
                _ => 0,
            };
            let mut end = k + 1;
            for _ in 0..groups {
                if self.toks.get(end).is_none_or(|u| u.tk != Tk::Open) {
                    break;
                }
                let close = skip_group(self.toks, end);
                if close > self.toks.len() {
                    break;
                }
                end = close;
            }
            self.pos = end;
            Ok(&self.toks[k..end])
        }
    }
}

/// A prime after a bold symbol or a matrix letter (`\mathbf{x}'`, `A'`) is a
/// transpose: derivatives are written with primes on functions.
fn transposable(e: &Expr) -> bool {
    match e {
        Expr::Var(s) => s.bold || s.upper,
        Expr::Post(a, PostOp::Transpose | PostOp::Inverse) => transposable(a),
        _ => false,
    }
}

/// Is the letter `c` used as a symbol in the TeX (not only as a superscript `^c`,
/// nor inside `\text{}`-like commands)?
fn letter_used(src: &str, c: char) -> bool {
    let toks = lex(src);
    let sig: Vec<&Tok> = toks.iter().filter(|t| !is_space(&t.tk)).collect();
    let mut text_depth: Option<i32> = None;
    let mut depth = 0i32;
    for (k, t) in sig.iter().enumerate() {
        match &t.tk {
            Tk::Open => depth += 1,
            Tk::Close => {
                depth -= 1;
                if text_depth.is_some_and(|d| depth < d) {
                    text_depth = None;
                }
            }
            Tk::Cmd(name)
                if text_depth.is_none()
                    && is_text(name.as_str())
                    && sig.get(k + 1).is_some_and(|u| u.tk == Tk::Open) =>
            {
                text_depth = Some(depth + 1);
            }
            Tk::Letter(l) if *l == c && text_depth.is_none() => {
                let prev = k.checked_sub(1).and_then(|j| sig.get(j));
                let sup = prev.is_some_and(|p| p.is_ch('^'))
                    || (prev.is_some_and(|p| p.tk == Tk::Open)
                        && k >= 2
                        && sig[k - 2].is_ch('^')
                        && sig.get(k + 1).is_some_and(|u| u.tk == Tk::Close));
                if !sup {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// A bold or uppercase symbol in the expression (a vector or matrix by default).
fn has_array_symbol(e: &Expr) -> bool {
    let mut any = false;
    e.walk(&mut |x| {
        if matches!(x, Expr::Var(s) if s.bold || s.upper) {
            any = true;
        }
    });
    any
}

fn has_bold(e: &Expr) -> bool {
    let mut any = false;
    e.walk(&mut |x| {
        if matches!(x, Expr::Var(s) if s.bold) || matches!(x, Expr::Ones(_) | Expr::Zeros(_)) {
            any = true;
        }
    });
    any
}

fn has_top_relation(toks: &[Tok]) -> bool {
    split_top(toks, |t| {
        matches!(
            relation(&t.tk),
            Some(Rel::Lt | Rel::Gt | Rel::Le | Rel::Ge | Rel::Ne)
        )
    })
    .len()
        > 1
}

fn apply_power(e: Expr, power: Option<Expr>) -> Expr {
    match power {
        None => e,
        Some(p) => Expr::Pow(e.bx(), p.bx()),
    }
}

/// `diag(x_1, \dots, x_n)` → the vector x; other lists are unsupported.
fn list_vector(args: Vec<Expr>) -> PResult<Expr> {
    Err(PErr::unsupported(format!(
        "a list of {} arguments to `diag`",
        args.len()
    )))
}

/// Normalises a subscript's text: `{i}` → `i`, `{1}` → `1`, `{i,j}` → `ij`.
pub(crate) fn norm_sub(toks: &[Tok]) -> String {
    plain_text(toks).replace([' ', ','], "")
}

/// The bound-index names in a subscript: `i` → [i], `ij`/`i,j` → [i, j]; only
/// single lowercase letters count.
fn sub_indices(toks: &[Tok]) -> Vec<String> {
    let s = norm_sub(toks);
    if !s.is_empty() && s.len() <= 2 && s.chars().all(|c| c.is_ascii_lowercase()) {
        s.chars().map(|c| c.to_string()).collect()
    } else {
        Vec::new()
    }
}

fn stopped_at(t: &Tok) -> PErr {
    let what = plain_text(std::slice::from_ref(t));
    match &t.tk {
        Tk::Cmd(c) if UNSUPPORTED_CMDS.contains(&c.as_str()) => {
            PErr::unsupported(format!("stopped at `\\{c}` (not supported by the checker)"))
        }
        Tk::Ch('?') => PErr::parse("a `?` (fill-in prompt)"),
        _ => PErr::parse(format!("stopped at `{}`", what.trim())),
    }
}

/// Splits at `\\` at depth 0 (braces and environments).
pub(crate) fn split_rows(toks: &[Tok]) -> Vec<&[Tok]> {
    split_top(toks, |t| t.is_cmd("\\") || t.is_cmd("cr"))
}

/// Splits at tokens matching `sep` outside braces, brackets and environments.
pub(crate) fn split_top(toks: &[Tok], sep: impl Fn(&Tok) -> bool) -> Vec<&[Tok]> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (k, t) in toks.iter().enumerate() {
        match &t.tk {
            Tk::Open | Tk::Ch('(') | Tk::Ch('[') => depth += 1,
            Tk::Close | Tk::Ch(')') | Tk::Ch(']') => depth -= 1,
            Tk::Cmd(c) if c == "begin" || c == "left" || c == "langle" => depth += 1,
            Tk::Cmd(c) if c == "end" || c == "right" || c == "rangle" => depth -= 1,
            _ => {}
        }
        if depth == 0 && sep(t) && !t.is_cmd("begin") && !t.is_cmd("left") {
            out.push(&toks[start..k]);
            start = k + 1;
        }
    }
    out.push(&toks[start..]);
    out
}

/// Splits a `cases` row into value and condition: at `&`, else at `\qquad`, `\quad`,
/// `\text{if ...}`, or a comma before the condition.
fn split_branch(row: &[Tok]) -> PResult<(&[Tok], &[Tok])> {
    let amp = split_top(row, |t| t.is_ch('&'));
    if amp.len() >= 2 {
        let cond_start = amp[0].len() + 1;
        return Ok((amp[0], &row[cond_start.min(row.len())..]));
    }
    // the first top-level separator
    let mut depth = 0i32;
    for (k, t) in row.iter().enumerate() {
        match &t.tk {
            Tk::Open | Tk::Ch('(') | Tk::Ch('[') => depth += 1,
            Tk::Close | Tk::Ch(')') | Tk::Ch(']') => depth -= 1,
            Tk::Cmd(c) if c == "begin" || c == "left" => depth += 1,
            Tk::Cmd(c) if c == "end" || c == "right" => depth -= 1,
            _ => {}
        }
        if depth != 0 || k == 0 {
            continue;
        }
        let is_sep = match &t.tk {
            Tk::Cmd(c) => {
                matches!(c.as_str(), "qquad" | "quad")
                    || (is_text(c.as_str()) && {
                        let j = k + 1;
                        let e = if row.get(j).is_some_and(|u| u.tk == Tk::Open) {
                            skip_group(row, j)
                        } else {
                            j + 1
                        };
                        let w = plain_text(&row[j.min(row.len())..e.min(row.len())]).to_lowercase();
                        let w = w.trim();
                        w.starts_with("if")
                            || w.starts_with("for")
                            || w.starts_with("when")
                            || w.starts_with("otherwise")
                            || w.starts_with("else")
                    })
            }
            Tk::Ch(',') => true,
            _ => false,
        };
        if is_sep {
            return Ok((&row[..k], &row[k..]));
        }
    }
    Err(PErr::parse(format!(
        "cannot tell the value from the condition in the `cases` row `{}`",
        plain_text(row).trim()
    )))
}
