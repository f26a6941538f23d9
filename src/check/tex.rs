//! TeX → tokens → expression trees.
//!
//! The lexer keeps byte offsets into the span's TeX so that findings can point at the
//! source. The parser is a small recursive-descent parser for the math people write
//! in notes: implicit products, `\frac`, `\sqrt`, functions with and without
//! parentheses, norms, `\sum`, matrix literals, `cases`, and derivatives.

use std::cell::Cell;
use std::collections::BTreeSet;

use super::SkipReason;
pub(crate) use super::notation::{BOLD, FUNC_LETTERS, Func, func_by_name};
use super::notation::{
    DECOR_CMDS, DERIV_CMDS, PARTIAL_INDEX_LETTERS, TEXT_CMDS, TEXT_MODE_CMDS, UNSUPPORTED_CMDS,
    UPRIGHT_D_CMDS, func_command, greek, is_frac,
};

/// A token's kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tk {
    /// `\name`, or `\c` for a single non-letter character (`\,`, `\\`, `\{`, `\|`).
    Cmd(String),
    Letter(char),
    Digit(char),
    /// Any other single character: `+ - * / = ( ) [ ] < > , ; : ! ' | ^ _ & ~ ? .`
    Ch(char),
    /// `{`
    Open,
    /// `}`
    Close,
}

/// A token and where it is in the span's TeX (byte offsets).
#[derive(Debug, Clone)]
pub(crate) struct Tok {
    pub tk: Tk,
    pub start: usize,
    pub end: usize,
}

impl Tok {
    pub(crate) fn is_cmd(&self, name: &str) -> bool {
        matches!(&self.tk, Tk::Cmd(c) if c == name)
    }
    pub(crate) fn is_ch(&self, c: char) -> bool {
        self.tk == Tk::Ch(c)
    }
}

fn unicode_cmd(c: char) -> Option<&'static str> {
    Some(match c {
        '∂' => "partial",
        '∇' => "nabla",
        '≤' => "le",
        '≥' => "ge",
        '≠' => "ne",
        '⊙' => "odot",
        '∘' => "circ",
        '⊗' => "otimes",
        '⊘' => "oslash",
        '·' | '⋅' => "cdot",
        '×' => "times",
        '⊤' => "top",
        '∑' => "sum",
        '…' => "dots",
        '⋯' => "cdots",
        '∈' => "in",
        '→' => "to",
        '⇒' => "implies",
        'α' => "alpha",
        'β' => "beta",
        'γ' => "gamma",
        'δ' => "delta",
        'ε' => "epsilon",
        'η' => "eta",
        'θ' => "theta",
        'κ' => "kappa",
        'λ' => "lambda",
        'μ' => "mu",
        'ν' => "nu",
        'ξ' => "xi",
        'π' => "pi",
        'ρ' => "rho",
        'σ' => "sigma",
        'τ' => "tau",
        'φ' => "phi",
        'ψ' => "psi",
        'ω' => "omega",
        'Σ' => "Sigma",
        'Λ' => "Lambda",
        'Θ' => "Theta",
        'Φ' => "Phi",
        'Ω' => "Omega",
        _ => return None,
    })
}

/// Splits TeX into tokens. Comments (`% ...`) are dropped; whitespace separates tokens.
pub(crate) fn lex(src: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let end_of = |k: usize| chars.get(k).map_or(src.len(), |&(b, _)| b);
    let mut k = 0;
    while k < chars.len() {
        let (b, c) = chars[k];
        if c.is_whitespace() {
            k += 1;
            continue;
        }
        if c == '%' {
            while k < chars.len() && chars[k].1 != '\n' {
                k += 1;
            }
            continue;
        }
        if c == '\\' {
            let mut j = k + 1;
            while j < chars.len() && chars[j].1.is_ascii_alphabetic() {
                j += 1;
            }
            if j > k + 1 {
                let name: String = chars[k + 1..j].iter().map(|&(_, c)| c).collect();
                // `\operatorname*` and friends: the star belongs to the command.
                let mut e = j;
                if e < chars.len() && chars[e].1 == '*' && name == "operatorname" {
                    e += 1;
                }
                out.push(Tok {
                    tk: Tk::Cmd(name),
                    start: b,
                    end: end_of(e),
                });
                k = e;
            } else if j < chars.len() {
                let c2 = chars[j].1;
                let name = if c2.is_whitespace() {
                    " ".to_string()
                } else {
                    c2.to_string()
                };
                out.push(Tok {
                    tk: Tk::Cmd(name),
                    start: b,
                    end: end_of(j + 1),
                });
                k = j + 1;
            } else {
                k += 1;
            }
            continue;
        }
        let tk = if c.is_ascii_alphabetic() {
            Tk::Letter(c)
        } else if c.is_ascii_digit() {
            Tk::Digit(c)
        } else if c == '{' {
            Tk::Open
        } else if c == '}' {
            Tk::Close
        } else if c == '−' || c == '–' {
            Tk::Ch('-')
        } else if let Some(name) = unicode_cmd(c) {
            Tk::Cmd(name.to_string())
        } else {
            Tk::Ch(c)
        };
        out.push(Tok {
            tk,
            start: b,
            end: end_of(k + 1),
        });
        k += 1;
    }
    clean(out)
}

/// Commands whose braced argument is dropped together with the command.
const DROP_WITH_ARG: &[&str] = &[
    "label", "tag", "hspace", "vspace", "phantom", "hphantom", "vphantom", "color",
];

/// Drops `\label{..}`, `\tag{..}`, `\hspace{..}`, `\phantom{..}`, `\color{..}`, and turns
/// `\textcolor{c}{x}` into `x`.
fn clean(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out = Vec::with_capacity(toks.len());
    let mut k = 0;
    while k < toks.len() {
        let t = &toks[k];
        if let Tk::Cmd(c) = &t.tk
            && (DROP_WITH_ARG.contains(&c.as_str()) || c == "textcolor")
        {
            let mut j = k + 1;
            if toks.get(j).is_some_and(|t| t.is_ch('*')) {
                j += 1;
            }
            if toks.get(j).is_some_and(|t| t.tk == Tk::Open) {
                j = skip_group(&toks, j);
            }
            k = j;
            continue;
        }
        out.push(t.clone());
        k += 1;
    }
    out
}

/// Given `toks[open]` is `{`, the index after its matching `}` (or the end).
pub(crate) fn skip_group(toks: &[Tok], open: usize) -> usize {
    let mut depth = 0i32;
    let mut j = open;
    while j < toks.len() {
        match toks[j].tk {
            Tk::Open => depth += 1,
            Tk::Close => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    toks.len()
}

/// Spacing and size commands that carry no meaning for the math.
pub(crate) fn is_space(tk: &Tk) -> bool {
    match tk {
        Tk::Cmd(c) => matches!(
            c.as_str(),
            "," | ";"
                | ":"
                | "!"
                | " "
                | ">"
                | "quad"
                | "qquad"
                | "displaystyle"
                | "textstyle"
                | "scriptstyle"
                | "limits"
                | "nolimits"
                | "Huge"
                | "huge"
                | "LARGE"
                | "Large"
                | "large"
                | "small"
                | "footnotesize"
                | "scriptsize"
                | "tiny"
                | "normalsize"
                | "thinspace"
                | "medspace"
                | "thickspace"
                | "enspace"
                | "nonumber"
                | "notag"
                | "mathstrut"
                | "strut"
                | "mathop"
                | "mathord"
                | "mathbin"
                | "mathrel"
                | "bigl"
                | "bigr"
                | "Bigl"
                | "Bigr"
                | "biggl"
                | "biggr"
                | "Biggl"
                | "Biggr"
                | "big"
                | "Big"
                | "bigg"
                | "Bigg"
                | "bigm"
                | "Bigm"
        ),
        Tk::Ch('~') => true,
        _ => false,
    }
}

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
            | "leftarrow" => Rel::Other,
            _ => return None,
        },
        _ => return None,
    })
}

/// A relation between two expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rel {
    Eq,
    Lt,
    Gt,
    Le,
    Ge,
    Ne,
    /// `:=`, `\coloneqq`, `\triangleq`, `\equiv`
    Def,
    Approx,
    Other,
}

/// A symbol: a letter (Latin or Greek), possibly decorated, bold and subscripted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sym {
    /// The base name: `x`, `A`, `\theta`, `\hat{x}`, `\mathcal{L}`.
    pub base: String,
    /// The subscript's text, normalised (`i`, `1`, `ij`), if any.
    pub sub: Option<String>,
    /// Written bold (`\mathbf`, `\boldsymbol`, `\bm`, `\vec`).
    pub bold: bool,
    /// Uppercase Latin or Greek.
    pub upper: bool,
}

impl Sym {
    /// The identity of the symbol: base and subscript (the font does not matter, so
    /// `x` and `\mathbf{x}` in one identity are one symbol).
    pub(crate) fn key(&self) -> String {
        match &self.sub {
            Some(s) => format!("{}_{}", self.base, s),
            None => self.base.clone(),
        }
    }
    /// How the symbol reads in messages.
    pub(crate) fn show(&self) -> String {
        if self.sub.as_deref() == Some("*") {
            return format!("[{0}_1 {0}_2 ...]", self.base.trim_start_matches('\\'));
        }
        let k = self.key();
        let k = k.trim_start_matches('\\');
        if self.bold && !self.upper {
            format!("**{k}**").replace("**", "")
        } else {
            k.to_string()
        }
    }
}

/// `Apply(PRIME_AT, [d, u])`: the derivative `d` (by a fresh variable) taken where
/// that variable equals `u` (`f'(g(x))`); `find` turns it into `d` and binds the
/// variable.
pub(crate) const PRIME_AT: &str = "\\prime-at";

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    /// Implicit product, `\times`, `*`: scalar times anything, else a matrix product.
    Mul,
    /// `\cdot`: the dot product between two vectors, else like `Mul`.
    Dot,
    /// `\odot`, `\circ`: element-wise product.
    Had,
    /// `\otimes`, `\bigotimes`: element-wise or Kronecker product (by setting).
    Kron,
    /// `\oslash`: element-wise division.
    Oslash,
    /// `\frac`, `/`: division by a scalar (or element-wise between equal shapes).
    Div,
}

/// Postfix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PostOp {
    Transpose,
    Inverse,
    InvTranspose,
}

/// Which norm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NormKind {
    /// `\|x\|` (no subscript): 2-norm of a vector, Frobenius norm of a matrix.
    Plain,
    Two,
    Fro,
    One,
    Inf,
}

/// A branch condition of `cases`.
#[derive(Debug, Clone)]
pub(crate) enum Cond {
    /// `\text{otherwise}`, `\text{else}`.
    Always,
    /// `a < b \le c`: each consecutive pair must hold.
    Rel(Vec<Expr>, Vec<Rel>),
    And(Vec<Cond>),
}

/// A derivative.
#[derive(Debug, Clone)]
pub(crate) struct Deriv {
    pub of: Expr,
    pub wrt: Sym,
    /// Written with `\nabla`: a gradient, whose orientation conventions differ.
    pub nabla: bool,
    /// `\partial x_i` with `x` a vector: the derivative by entry `i` of `wrt`.
    pub entry: Option<String>,
    /// By `\operatorname{vec}(X)`: the variable's entries in column order, a column
    /// vector (`\frac{\partial \operatorname{vec}(F)}{\partial \operatorname{vec}(X)}`).
    pub vec: bool,
    /// `\left(\frac{\partial P}{\partial T}\right)_V`: symbols held fixed
    /// (thermodynamics), checked against the operand once definitions are in.
    pub held: Vec<Sym>,
}

impl Deriv {
    /// The plain derivative of `of` by `wrt` (not a gradient, not by an entry or by
    /// `vec`, nothing held fixed).
    pub(crate) fn by(of: Expr, wrt: Sym) -> Deriv {
        Deriv {
            of,
            wrt,
            nabla: false,
            entry: None,
            vec: false,
            held: Vec::new(),
        }
    }
}

/// An expression.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Num(f64),
    Var(Sym),
    /// `\vec{1}`, `\mathbf{1}`: a vector of ones (id for its size).
    Ones(u32),
    /// `\vec{0}`, `\mathbf{0}`: a vector of zeros.
    Zeros(u32),
    /// `I`: the identity matrix.
    Ident(u32),
    /// A plain `0` standing for a whole side or branch: a zero of any shape.
    ZeroAny,
    Neg(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    Pow(Box<Expr>, Box<Expr>),
    Post(Box<Expr>, PostOp),
    Call(Func, Vec<Expr>),
    /// A function the parser does not know: user-defined (substituted later) or
    /// abstract (`f(x)`).
    Apply(String, Vec<Expr>),
    Norm(Box<Expr>, NormKind),
    /// `\sum_{i=lo}^{hi} body` over entries (`\prod` when `prod`: a product of
    /// scalars).
    Sum {
        idx: String,
        lo: i64,
        hi: Option<Box<Expr>>,
        body: Box<Expr>,
        prod: bool,
    },
    /// Entry of a vector/matrix at bound indices (`x_i` inside a sum).
    Index(Box<Expr>, Vec<String>),
    /// `\dots e_i \dots`: the vector of entries e_i over the index.
    Dots(Box<Expr>, String),
    Matrix(Vec<Vec<Expr>>),
    Cases(u32, Vec<(Expr, Cond)>),
    Deriv(u32, Box<Deriv>),
    /// A scalar that is the size of a dimension (the `n` in `\sum_{i=1}^n`), bound later.
    DimVar(String),
    /// The value of a sum's index used as a number (`t` in `\sum_{t=1}^n t\,c`):
    /// the index's position plus the sum's lower limit.
    IdxVal(String, i64),
    /// `\mathbf{x}_i` inside a sum over `i`: column `i` of the matrix whose columns
    /// are the vectors `\mathbf{x}_1, \mathbf{x}_2, ...`.
    Col(Box<Expr>, String),
    /// Entry `k` (1-based) of a vector written as a component (`x_2` next to a
    /// derivative by `\mathbf{x}`), the vector having `n` entries.
    At(Box<Expr>, usize, usize),
    /// An indicator `\mathbb{1}[a > b]`, entry-wise: 1 where the relation holds, else 0.
    Ind(Box<Expr>, Rel, Box<Expr>),
}

impl Expr {
    pub(crate) fn bx(self) -> Box<Expr> {
        Box::new(self)
    }
    pub(crate) fn bin(op: BinOp, a: Expr, b: Expr) -> Expr {
        Expr::Bin(op, a.bx(), b.bx())
    }
    /// Visits every sub-expression (pre-order).
    pub(crate) fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Neg(a) | Expr::Post(a, _) | Expr::Norm(a, _) | Expr::Index(a, _) => a.walk(f),
            Expr::At(a, _, _) | Expr::Col(a, _) => a.walk(f),
            Expr::Dots(a, _) => a.walk(f),
            Expr::Bin(_, a, b) | Expr::Pow(a, b) | Expr::Ind(a, _, b) => {
                a.walk(f);
                b.walk(f);
            }
            Expr::Call(_, args) | Expr::Apply(_, args) => args.iter().for_each(|a| a.walk(f)),
            Expr::Sum { hi, body, .. } => {
                if let Some(h) = hi {
                    h.walk(f);
                }
                body.walk(f);
            }
            Expr::Matrix(rows) => rows.iter().flatten().for_each(|a| a.walk(f)),
            Expr::Cases(_, brs) => {
                for (v, c) in brs {
                    v.walk(f);
                    c.walk(f);
                }
            }
            Expr::Deriv(_, d) => d.of.walk(f),
            _ => {}
        }
    }
    /// Rebuilds the tree bottom-up through `f` (post-order); `f` may replace nodes.
    pub(crate) fn map(
        self,
        f: &mut dyn FnMut(Expr) -> Result<Expr, String>,
    ) -> Result<Expr, String> {
        let e = match self {
            Expr::Neg(a) => Expr::Neg(a.map(f)?.bx()),
            Expr::Post(a, p) => Expr::Post(a.map(f)?.bx(), p),
            Expr::Norm(a, k) => Expr::Norm(a.map(f)?.bx(), k),
            Expr::Index(a, i) => Expr::Index(a.map(f)?.bx(), i),
            Expr::At(a, k, n) => Expr::At(a.map(f)?.bx(), k, n),
            Expr::Col(a, i) => Expr::Col(a.map(f)?.bx(), i),
            Expr::Dots(a, i) => Expr::Dots(a.map(f)?.bx(), i),
            Expr::Bin(op, a, b) => Expr::Bin(op, a.map(f)?.bx(), b.map(f)?.bx()),
            Expr::Pow(a, b) => Expr::Pow(a.map(f)?.bx(), b.map(f)?.bx()),
            Expr::Ind(a, r, b) => Expr::Ind(a.map(f)?.bx(), r, b.map(f)?.bx()),
            Expr::Call(g, args) => Expr::Call(
                g,
                args.into_iter()
                    .map(|a| a.map(f))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Apply(g, args) => Expr::Apply(
                g,
                args.into_iter()
                    .map(|a| a.map(f))
                    .collect::<Result<_, _>>()?,
            ),
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
                    Some(h) => Some(h.map(f)?.bx()),
                    None => None,
                },
                body: body.map(f)?.bx(),
            },
            Expr::Matrix(rows) => Expr::Matrix(
                rows.into_iter()
                    .map(|r| {
                        r.into_iter()
                            .map(|a| a.map(f))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Cases(id, brs) => Expr::Cases(
                id,
                brs.into_iter()
                    .map(|(v, c)| Ok((v.map(f)?, c.map(f)?)))
                    .collect::<Result<_, String>>()?,
            ),
            Expr::Deriv(id, d) => {
                let d = *d;
                Expr::Deriv(
                    id,
                    Box::new(Deriv {
                        of: d.of.map(f)?,
                        ..d
                    }),
                )
            }
            other => other,
        };
        f(e)
    }
}

impl Cond {
    pub(crate) fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        match self {
            Cond::Always => {}
            Cond::Rel(es, _) => es.iter().for_each(|e| e.walk(f)),
            Cond::And(cs) => cs.iter().for_each(|c| c.walk(f)),
        }
    }
    pub(crate) fn map(
        self,
        f: &mut dyn FnMut(Expr) -> Result<Expr, String>,
    ) -> Result<Cond, String> {
        Ok(match self {
            Cond::Always => Cond::Always,
            Cond::Rel(es, rs) => Cond::Rel(
                es.into_iter().map(|e| e.map(f)).collect::<Result<_, _>>()?,
                rs,
            ),
            Cond::And(cs) => Cond::And(cs.into_iter().map(|c| c.map(f)).collect::<Result<_, _>>()?),
        })
    }
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
                && (BOLD.contains(&c.as_str())
                    || TEXT_CMDS.contains(&c.as_str())
                    || DECOR_CMDS.contains(&c.as_str()))
                && self.toks.get(k + 1).is_some_and(|u| u.tk == Tk::Open)
            {
                let close = skip_group(self.toks, k + 1);
                if close <= self.toks.len() {
                    self.pos = close;
                    return Ok(&self.toks[k..close]);
                }
            }
            Ok(&self.toks[k..k + 1])
        }
    }

    // expr := ['-'|'+'] term (('+'|'-') term)*
    pub(crate) fn expr(&mut self) -> PResult<Expr> {
        let mut lhs = if self.eat_ch('-') {
            Expr::Neg(self.term()?.bx())
        } else {
            self.eat_ch('+');
            self.term()?
        };
        loop {
            // an operator-form derivative's operand ends before `+ \frac{d}{dx} ...`
            if self.in_operand
                && self.peek().is_some_and(|t| t.is_ch('+') || t.is_ch('-'))
                && self.deriv_ahead(1)
            {
                return Ok(lhs);
            }
            if self.eat_ch('+') {
                let r = self.term()?;
                lhs = Expr::bin(BinOp::Add, lhs, r);
            } else if self.eat_ch('-') {
                let r = self.term()?;
                lhs = Expr::bin(BinOp::Sub, lhs, r);
            } else if self
                .peek()
                .is_some_and(|t| t.is_cmd("pm") || t.is_cmd("mp"))
            {
                return Err(PErr::unsupported("`\\pm` (two formulas in one)"));
            } else {
                return Ok(lhs);
            }
        }
    }

    fn mul_op(&mut self) -> Option<BinOp> {
        let t = self.peek()?;
        let op = match &t.tk {
            Tk::Cmd(c) => match c.as_str() {
                "cdot" | "bullet" | "centerdot" => BinOp::Dot,
                "times" => BinOp::Mul,
                "odot" | "circ" | "bigodot" => BinOp::Had,
                "otimes" | "bigotimes" => BinOp::Kron,
                "oslash" | "bigoslash" => BinOp::Oslash,
                "div" => BinOp::Div,
                _ => return None,
            },
            Tk::Ch('*') => BinOp::Mul,
            Tk::Ch('/') => BinOp::Div,
            _ => return None,
        };
        Some(op)
    }

    // term := jterm (mulop jterm)*
    fn term(&mut self) -> PResult<Expr> {
        let mut lhs = self.jterm()?;
        loop {
            if self
                .peek()
                .is_some_and(|t| t.is_cmd("bigcirc") || t.is_cmd("diamond"))
            {
                return Err(PErr::abstract_("an abstract operator (`\\bigcirc`)"));
            }
            let Some(op) = self.mul_op() else {
                return Ok(lhs);
            };
            self.pos += 1;
            // `a / -b`
            let rhs = if self.eat_ch('-') {
                Expr::Neg(self.jterm()?.bx())
            } else {
                self.jterm()?
            };
            lhs = Expr::bin(op, lhs, rhs);
        }
    }

    // jterm := factor factor*   (juxtaposition binds tighter than \cdot, \odot, /)
    fn jterm(&mut self) -> PResult<Expr> {
        let mut lhs = self.factor()?;
        loop {
            // (check the raw next token before `at_factor_start` skips spacing)
            if self.in_bare_arg && self.bare_arg_stops() {
                break;
            }
            if !self.at_factor_start() {
                break;
            }
            let rhs = self.factor()?;
            lhs = Expr::bin(BinOp::Mul, lhs, rhs);
        }
        Ok(lhs)
    }

    /// Inside a function argument written without parentheses (`\sin x \cos x`), a
    /// further factor ends the argument when it is a function, a fraction, a
    /// parenthesised group or comes after explicit spacing (`\cos t\,\mathbf{u}`).
    fn bare_arg_stops(&mut self) -> bool {
        // explicit spacing right before the next token (`\cos t\,\mathbf{u}`)
        let mut k = self.pos;
        while k < self.toks.len() && is_space(&self.toks[k].tk) {
            k += 1;
        }
        if k > 0 && self.toks.get(k - 1).is_some_and(|t| is_space(&t.tk)) {
            return true;
        }
        if self.bare_scalar
            && let Some(t) = self.toks.get(k)
            && let Tk::Cmd(c) = &t.tk
            && BOLD.contains(&c.as_str())
        {
            // the bold group's first letter
            let inner = self.toks.get(k + 1).and_then(|u| {
                if u.tk == Tk::Open {
                    self.toks.get(k + 2)
                } else {
                    Some(u)
                }
            });
            if inner.is_some_and(|u| matches!(u.tk, Tk::Letter(ch) if ch.is_ascii_lowercase())) {
                return true;
            }
        }
        let Some(t) = self.peek() else { return true };
        match &t.tk {
            Tk::Cmd(c) => {
                func_command(c).is_some()
                    || TEXT_CMDS.contains(&c.as_str())
                    || is_frac(c)
                    || DERIV_CMDS.contains(&c.as_str())
                    || matches!(c.as_str(), "sum" | "prod" | "left" | "sqrt" | "sigma")
            }
            Tk::Ch('(') | Tk::Ch('[') => true,
            Tk::Letter(_) => self.letter_run_is_function(),
            _ => false,
        }
    }

    /// Does a derivative start at the `n`-th significant token from here?
    fn deriv_ahead(&self, n: usize) -> bool {
        let Some(t) = self.peek_at(n) else {
            return false;
        };
        let Tk::Cmd(c) = &t.tk else {
            return false;
        };
        if DERIV_CMDS.contains(&c.as_str()) {
            return true;
        }
        if is_frac(c) {
            let k = self
                .toks
                .iter()
                .position(|u| std::ptr::eq(u, t))
                .unwrap_or(0);
            if self.toks.get(k + 1).is_some_and(|u| u.tk == Tk::Open) {
                let e1 = skip_group(self.toks, k + 1);
                if self.toks.get(e1).is_some_and(|u| u.tk == Tk::Open) {
                    let e2 = skip_group(self.toks, e1);
                    let num = &self.toks[(k + 2).min(e1)..e1.saturating_sub(1).max(k + 2)];
                    let den = &self.toks[(e1 + 1).min(e2)..e2.saturating_sub(1).max(e1 + 1)];
                    return self.differential(num).is_some() && self.differential(den).is_some();
                }
            }
        }
        false
    }

    fn letter_run(&self) -> String {
        // the run of letters at pos (after spaces) with no whitespace inside
        let mut k = self.pos;
        while k < self.toks.len() && is_space(&self.toks[k].tk) {
            k += 1;
        }
        let mut s = String::new();
        let mut prev_end = None;
        while let Some(t) = self.toks.get(k) {
            let Tk::Letter(c) = t.tk else { break };
            if let Some(e) = prev_end
                && t.start != e
            {
                break;
            }
            s.push(c);
            prev_end = Some(t.end);
            k += 1;
        }
        s
    }

    fn letter_run_is_function(&self) -> bool {
        let run = self.letter_run();
        run.len() >= 2 && (func_by_name(&run).is_some() || self.cx.funcs.contains(&run))
    }

    fn at_factor_start(&mut self) -> bool {
        let abs = self.abs_depth;
        let norm = self.norm_depth;
        let Some(t) = self.peek() else { return false };
        match &t.tk {
            Tk::Letter(_) | Tk::Digit(_) | Tk::Open => true,
            Tk::Ch('(') | Tk::Ch('[') => true,
            Tk::Ch('|') => abs == 0,
            Tk::Ch('.') => false,
            Tk::Ch(_) | Tk::Close => false,
            Tk::Cmd(c) => match c.as_str() {
                "|" | "Vert" => norm == 0,
                "vert" => abs == 0,
                "lVert" | "lvert" | "left" => true,
                "right" | "rVert" | "rvert" | "\\" | "end" | "}" | "rbrace" | "rbrack"
                | "rangle" => false,
                "cdot" | "times" | "odot" | "circ" | "otimes" | "bigotimes" | "oslash" | "div"
                | "bigodot" | "bullet" | "centerdot" | "bigoslash" => false,
                "pm" | "mp" => false,
                "dots" | "cdots" | "ldots" | "vdots" | "ddots" => false,
                _ => relation(&t.tk).is_none() && !matches!(c.as_str(), "implies" | "iff"),
            },
        }
    }

    // factor := atom postfix*
    fn factor(&mut self) -> PResult<Expr> {
        let atom = self.atom()?;
        self.postfix(atom)
    }

    fn postfix(&mut self, mut e: Expr) -> PResult<Expr> {
        loop {
            let Some(t) = self.peek() else { return Ok(e) };
            if t.is_ch('^') {
                self.pos += 1;
                let sup = self.arg_toks()?;
                e = self.apply_sup(e, sup)?;
            } else if t.is_ch('\'') || t.is_cmd("prime") {
                // `\mathbf{x}'`, `A'`: a transpose (econometrics); `f'` a derivative
                // `(\mathbf{y} - X\mathbf{b})'`: a parenthesised vector/matrix expression
                let after_paren = self.pos > 0
                    && self.toks[..self.pos]
                        .iter()
                        .rev()
                        .find(|t| !is_space(&t.tk))
                        .is_some_and(|t| t.is_ch(')') || t.is_ch(']'))
                    && !matches!(e, Expr::Apply(..) | Expr::Call(..))
                    && has_array_symbol(&e);
                if (transposable(&e) || after_paren) && !self.single_symbol_paren_at(self.pos + 1) {
                    self.pos += 1;
                    e = Expr::Post(e.bx(), PostOp::Transpose);
                    continue;
                }
                return Err(PErr::abstract_(
                    "a derivative written with a prime (f') of an abstract function",
                ));
            } else if t.is_ch('_') {
                // (A x)_i: an entry of an expression
                let closed = self.toks[..self.pos]
                    .iter()
                    .rev()
                    .find(|t| !is_space(&t.tk))
                    .is_some_and(|t| t.is_ch(')'));
                self.pos += 1;
                let sub = self.arg_toks()?;
                // `\left(\frac{\partial P}{\partial T}\right)_V`: V held fixed
                if closed && let Expr::Deriv(_, d) = &mut e {
                    let ids = Cell::new(0);
                    let cx = Ctx {
                        funcs: self.cx.funcs,
                        ids: &ids,
                        src: self.cx.src,
                        depth: Cell::new(self.cx.depth.get()),
                    };
                    let held: Vec<Sym> = split_top(sub, |t| t.is_ch(','))
                        .into_iter()
                        .filter_map(|p| match parse_expr(p, &cx) {
                            Ok(Expr::Var(v)) if v.key() != d.wrt.key() => Some(v),
                            _ => None,
                        })
                        .collect();
                    if !held.is_empty() && held.len() == split_top(sub, |t| t.is_ch(',')).len() {
                        d.held.extend(held);
                        continue;
                    }
                }
                let idx = sub_indices(sub);
                if idx.is_empty() {
                    return Err(PErr::unsupported(format!(
                        "subscript `{}` on an expression",
                        plain_text(sub)
                    )));
                }
                e = Expr::Index(e.bx(), idx);
            } else if t.is_ch('!') {
                return Err(PErr::unsupported("factorial `!`"));
            } else {
                return Ok(e);
            }
        }
    }

    /// Interprets a superscript: transpose, inverse, power.
    fn apply_sup(&mut self, base: Expr, sup: &[Tok]) -> PResult<Expr> {
        let sig: Vec<&Tok> = sup.iter().filter(|t| !is_space(&t.tk)).collect();
        let txt = plain_text(sup).replace(' ', "");
        let is_t = |s: &str| {
            matches!(
                s,
                "T" | "\\top"
                    | "\\intercal"
                    | "\\mathsfT"
                    | "\\mathrmT"
                    | "\\textT"
                    | "\\mathitT"
                    | "\\textsfT"
                    | "t"
                    | "\\mathbfT"
                    | "\\rmT"
                    | "\\sfT"
                    | "\\mathtt T"
                    | "*"
                    | "\\ast"
                    | "H"
                    | "\\mathsf{T}"
            )
        };
        // `^t` is a power inside a sum over t, on a number (`2^t`), and on a scalar
        // expression when `t` is a variable of the formula (`(1+r)^t`, `\frac{d}{dt}`)
        let t_power = txt == "t"
            && (self.bound.contains(&txt)
                || matches!(base, Expr::Num(_))
                || (!has_array_symbol(&base) && letter_used(self.cx.src, 't')));
        if is_t(&txt) && !t_power {
            return Ok(Expr::Post(base.bx(), PostOp::Transpose));
        }
        if let Some(rest) = txt.strip_prefix('-') {
            if rest == "1" {
                return Ok(Expr::Post(base.bx(), PostOp::Inverse));
            }
            if is_t(rest) {
                return Ok(Expr::Post(base.bx(), PostOp::InvTranspose));
            }
        }
        if txt == "\\prime" || txt == "'" {
            if transposable(&base) {
                return Ok(Expr::Post(base.bx(), PostOp::Transpose));
            }
            return Err(PErr::abstract_("a derivative written with a prime (f')"));
        }
        if txt == "\\dagger" || txt == "+" {
            return Err(PErr::unsupported("the pseudo-inverse"));
        }
        if sig.is_empty() {
            return Err(PErr::parse("empty superscript"));
        }
        let mut p = self.sub(sup);
        p.bold = false;
        let e = p.expr()?;
        p.expect_end()?;
        Ok(Expr::Pow(base.bx(), e.bx()))
    }

    fn atom(&mut self) -> PResult<Expr> {
        let d = self.cx.depth.get();
        if d > MAX_DEPTH {
            return Err(PErr::unsupported("an expression nested too deeply"));
        }
        self.cx.depth.set(d + 1);
        let r = self.atom_inner();
        self.cx.depth.set(d);
        r
    }

    fn atom_inner(&mut self) -> PResult<Expr> {
        let Some(t) = self.peek() else {
            return Err(PErr::parse("expression ends too early"));
        };
        match &t.tk {
            Tk::Digit(_) => self.number(),
            Tk::Ch('.') if matches!(self.peek_at(1).map(|t| &t.tk), Some(Tk::Digit(_))) => {
                self.number()
            }
            Tk::Letter(_) => self.letter(),
            Tk::Open => {
                let inner = self.arg_toks()?;
                self.group(inner)
            }
            Tk::Ch('(') | Tk::Ch('[') => {
                self.pos += 1;
                self.paren_body()
            }
            Tk::Ch('|') => {
                self.pos += 1;
                self.abs_body(false)
            }
            Tk::Ch('?') => Err(PErr::parse("a `?` (fill-in prompt)")),
            Tk::Cmd(c) => {
                let c = c.clone();
                self.command(&c)
            }
            _ => Err(stopped_at(t)),
        }
    }

    fn number(&mut self) -> PResult<Expr> {
        let mut s = String::new();
        let mut prev_end: Option<usize> = None;
        while let Some(t) = self.toks.get(self.pos) {
            let contiguous = prev_end.is_none_or(|e| e == t.start);
            match t.tk {
                Tk::Digit(c) if contiguous => s.push(c),
                Tk::Ch('.')
                    if contiguous
                        && !s.contains('.')
                        && matches!(
                            self.toks.get(self.pos + 1).map(|t| &t.tk),
                            Some(Tk::Digit(_))
                        ) =>
                {
                    s.push('.')
                }
                _ => break,
            }
            prev_end = Some(t.end);
            self.pos += 1;
        }
        s.parse::<f64>()
            .map(Expr::Num)
            .map_err(|_| PErr::parse(format!("bad number `{s}`")))
    }

    /// The inside of `{...}`: usually an expression; `\dots e \dots` is a vector.
    fn group(&mut self, inner: &[Tok]) -> PResult<Expr> {
        let mut p = self.sub(inner);
        if p.peek().is_none() {
            return Err(PErr::parse("empty group `{}`"));
        }
        let e = p.dots_or_expr()?;
        p.expect_end()?;
        Ok(e)
    }

    fn is_dots(t: &Tok) -> bool {
        matches!(&t.tk, Tk::Cmd(c) if matches!(c.as_str(), "dots" | "cdots" | "ldots" | "dotsc" | "dotsb"))
    }

    /// `\dots e \dots` → the vector of the entries `e`; else an expression.
    fn dots_or_expr(&mut self) -> PResult<Expr> {
        if self.peek().is_some_and(Self::is_dots) {
            self.pos += 1;
            let e = self.expr()?;
            if !self.peek().is_some_and(Self::is_dots) {
                return Err(PErr::unsupported("`\\dots` without a closing `\\dots`"));
            }
            self.pos += 1;
            return Ok(Expr::Dots(e.bx(), String::new()));
        }
        self.expr()
    }

    /// After an opening `(` or `[`: the expression and the closing delimiter.
    fn paren_body(&mut self) -> PResult<Expr> {
        let saved = self.in_operand;
        self.in_operand = false;
        let e = self.dots_or_expr();
        self.in_operand = saved;
        let e = e?;
        if self.peek().is_some_and(|t| t.is_ch(',')) {
            return Err(PErr::unsupported("a tuple `(a, b)`"));
        }
        self.close_delim()?;
        Ok(e)
    }

    /// `\langle a, b \rangle`: the inner product, `sum(a ⊙ b)` (the dot product of
    /// vectors, `tr(AᵀB)` of matrices).
    fn inner_product(&mut self) -> PResult<Expr> {
        let saved = (self.in_operand, self.abs_depth, self.norm_depth);
        self.in_operand = false;
        self.abs_depth = 0;
        self.norm_depth = 0;
        let a = self.expr();
        let r = a.and_then(|a| {
            if !self.eat_ch(',') {
                return Err(PErr::unsupported("`\\langle` without two arguments"));
            }
            let b = self.expr()?;
            Ok((a, b))
        });
        (self.in_operand, self.abs_depth, self.norm_depth) = saved;
        let (a, b) = r?;
        self.eat_cmd("right");
        if !self.eat_cmd("rangle") {
            return match self.peek() {
                Some(t) => Err(stopped_at(t)),
                None => Err(PErr::parse("missing `\\rangle`")),
            };
        }
        Ok(Expr::Call(Func::Sum, vec![Expr::bin(BinOp::Had, a, b)]))
    }

    fn close_delim(&mut self) -> PResult<()> {
        let Some(t) = self.peek() else {
            return Err(PErr::parse("missing closing bracket"));
        };
        if t.is_ch(')') || t.is_ch(']') || t.is_cmd("}") || t.is_cmd("rbrack") {
            self.pos += 1;
            return Ok(());
        }
        if t.is_cmd("right") {
            self.pos += 1;
            // the delimiter after \right
            if self.peek().is_some() {
                self.pos += 1;
            }
            return Ok(());
        }
        Err(stopped_at(t))
    }

    /// `| x |`; `left` says the opener was `\left|`.
    fn abs_body(&mut self, left: bool) -> PResult<Expr> {
        self.abs_depth += 1;
        let e = self.expr();
        self.abs_depth -= 1;
        let e = e?;
        let Some(t) = self.peek() else {
            return Err(PErr::parse("missing closing `|`"));
        };
        if t.is_ch('|') || t.is_cmd("rvert") || t.is_cmd("vert") {
            self.pos += 1;
        } else if t.is_cmd("right") {
            self.pos += 1;
            self.bump();
        } else {
            return Err(stopped_at(t));
        }
        let _ = left;
        Ok(Expr::Call(Func::Abs, vec![e]))
    }

    fn norm_body(&mut self) -> PResult<Expr> {
        self.norm_depth += 1;
        let saved_abs = self.abs_depth;
        self.abs_depth = 0;
        let e = self.expr();
        self.norm_depth -= 1;
        self.abs_depth = saved_abs;
        let e = e?;
        let Some(t) = self.peek() else {
            return Err(PErr::parse("missing closing `\\|`"));
        };
        if t.is_cmd("|") || t.is_cmd("rVert") || t.is_cmd("Vert") {
            self.pos += 1;
        } else if t.is_cmd("right")
            || (t.is_ch('|') && self.peek_at(1).is_some_and(|u| u.is_ch('|')))
        {
            self.pos += 1;
            self.bump();
        } else {
            return Err(stopped_at(t));
        }
        let mut kind = NormKind::Plain;
        // `\|x\|^2_2`: the power may come before the subscript
        let mut power = None;
        if self.peek().is_some_and(|t| t.is_ch('^'))
            && self.peek_at(2).is_some_and(|t| t.is_ch('_'))
        {
            self.pos += 1;
            let sup = self.arg_toks()?;
            let mut p = self.sub(sup);
            let e = p.expr()?;
            p.expect_end()?;
            power = Some(e);
        }
        if self.eat_ch('_') {
            let sub = self.arg_toks()?;
            let s = plain_text(sub).replace(' ', "");
            kind = match s.as_str() {
                "2" => NormKind::Two,
                "F" | "\\mathrmF" | "\\textF" | "\\mathrm{F}" | "Fro" | "\\text{F}" | "f" => {
                    NormKind::Fro
                }
                "1" => NormKind::One,
                "\\infty" | "\\inf" | "max" => NormKind::Inf,
                _ => {
                    return Err(PErr::unsupported(format!(
                        "the norm `\\|\\cdot\\|_{{{s}}}`"
                    )));
                }
            };
        }
        Ok(apply_power(Expr::Norm(e.bx(), kind), power))
    }

    fn letter(&mut self) -> PResult<Expr> {
        let run = self.letter_run();
        if run.len() >= 2 {
            if let Some(f) = func_by_name(&run) {
                self.skip_letters(run.len());
                return self.call(f);
            }
            if self.cx.funcs.contains(&run) {
                let paren = self.paren_after_letters(run.len());
                self.skip_letters(run.len());
                if let Some(r) = self.prime_call(&run, &run) {
                    return r;
                }
                if !paren {
                    // `\frac{\partial activation}{\partial \mathbf{x}}`: a defined
                    // function named bare stands for it applied to its parameters
                    return Ok(Expr::Var(Sym {
                        base: run,
                        sub: None,
                        bold: self.bold,
                        upper: false,
                    }));
                }
                let args = self.call_args(&run)?;
                return Ok(Expr::Apply(run, args));
            }
            if run.len() >= 3 && self.paren_after_letters(run.len()) {
                self.skip_letters(run.len());
                let args = self.abstract_args(&run)?;
                return Ok(Expr::Apply(run, args));
            }
        }
        let Some(Tk::Letter(c)) = self.bump().map(|t| &t.tk) else {
            return Err(PErr::parse("expected a letter"));
        };
        let c = *c;
        let name = c.to_string();
        // e^{...}
        if c == 'e' && !self.bold && self.peek().is_some_and(|t| t.is_ch('^')) {
            self.pos += 1;
            let sup = self.arg_toks()?;
            let mut p = self.sub(sup);
            let e = p.expr()?;
            p.expect_end()?;
            return Ok(Expr::Call(Func::Exp, vec![e]));
        }
        self.symbol_tail(name, c.is_ascii_uppercase(), self.bold)
    }

    fn skip_letters(&mut self, n: usize) {
        self.skip_space();
        self.pos += n;
    }

    fn paren_after_letters(&self, n: usize) -> bool {
        let mut k = self.pos;
        while k < self.toks.len() && is_space(&self.toks[k].tk) {
            k += 1;
        }
        k += n;
        while k < self.toks.len() && is_space(&self.toks[k].tk) {
            k += 1;
        }
        self.toks
            .get(k)
            .is_some_and(|t| t.is_ch('(') || t.is_cmd("left"))
    }

    /// A symbol named `base` has been read: its subscript, and whether it is applied
    /// to arguments (an abstract or defined function).
    fn symbol_tail(&mut self, base: String, upper: bool, bold: bool) -> PResult<Expr> {
        let mut sub = None;
        if self.peek().is_some_and(|t| t.is_ch('_')) {
            self.pos += 1;
            let s = self.arg_toks()?;
            sub = Some(norm_sub(s));
        }
        // `^` before `_` (x^2_i) is left to postfix; the subscript may come after.
        let sym = Sym {
            base: base.clone(),
            sub,
            bold,
            upper,
        };
        if base == "I"
            && sym
                .sub
                .as_deref()
                .is_none_or(|s| s.chars().all(|c| c.is_alphanumeric()))
        {
            return Ok(Expr::Ident(self.cx.id()));
        }
        if let Some(r) = self.prime_call(&sym.key(), &base) {
            return r;
        }
        let paren_next = self.peek().is_some_and(|t| {
            t.is_ch('(') || t.is_cmd("left") || t.is_cmd("big") || t.is_cmd("Big")
        });
        if paren_next {
            let key = sym.key();
            if self.cx.funcs.contains(&key) || self.cx.funcs.contains(&base) {
                let name = if self.cx.funcs.contains(&key) {
                    key
                } else {
                    base
                };
                let args = self.call_args(&name)?;
                return Ok(Expr::Apply(name, args));
            }
            if FUNC_LETTERS.contains(&base.as_str()) {
                let args = self.abstract_args(&base)?;
                return Ok(Expr::Apply(sym.key(), args));
            }
            // Uppercase letter applied to several arguments: a function (L(w, b)).
            if upper && self.paren_has_comma() {
                let args = self.abstract_args(&base)?;
                return Ok(Expr::Apply(sym.key(), args));
            }
            // `y(x)`, `\mathbf{r}(t)`: a lowercase letter glued to one symbol in
            // parentheses is a function of it (a product would be written `y\,x`)
            if !upper && base.len() == 1 && self.glued_single_symbol_arg() {
                let args = self.abstract_args(&base)?;
                return Ok(Expr::Apply(sym.key(), args));
            }
        }
        Ok(Expr::Var(sym))
    }

    /// Is the next token a `(` right after the previous one (no space), holding a
    /// single symbol and closed by `)`?
    fn glued_single_symbol_arg(&self) -> bool {
        let k = self.pos;
        let (Some(open), Some(prev)) = (
            self.toks.get(k),
            k.checked_sub(1).and_then(|j| self.toks.get(j)),
        ) else {
            return false;
        };
        if !open.is_ch('(') || open.start != prev.end {
            return false;
        }
        let mut depth = 0i32;
        let mut close = None;
        for (j, t) in self.toks.iter().enumerate().skip(k) {
            if t.is_ch('(') {
                depth += 1;
            } else if t.is_ch(')') {
                depth -= 1;
                if depth == 0 {
                    close = Some(j);
                    break;
                }
            }
        }
        let Some(close) = close else { return false };
        let inner = &self.toks[k + 1..close];
        let ids = Cell::new(0);
        let cx = Ctx {
            funcs: self.cx.funcs,
            ids: &ids,
            src: self.cx.src,
            depth: Cell::new(self.cx.depth.get()),
        };
        matches!(parse_expr(inner, &cx), Ok(Expr::Var(_)))
    }

    /// `f'(x)`, `f''(t)`, `f^{\prime}(x)` for a function `f` defined in the note: its
    /// derivative by the symbol it is applied to. `None` when no prime follows.
    fn prime_call(&mut self, key: &str, base: &str) -> Option<PResult<Expr>> {
        let name = if self.cx.funcs.contains(key) {
            key
        } else if self.cx.funcs.contains(base) {
            base
        } else {
            return None;
        };
        let save = self.pos;
        let mut order = 0;
        loop {
            if self.eat_ch('\'') || self.eat_cmd("prime") {
                order += 1;
            } else if self.peek().is_some_and(|t| t.is_ch('^'))
                && self.toks.get(self.pos + 1).is_some_and(|t| {
                    t.is_cmd("prime")
                        || (t.tk == Tk::Open
                            && self
                                .toks
                                .get(self.pos + 2)
                                .is_some_and(|u| u.is_cmd("prime")))
                })
            {
                self.pos += 1;
                let Ok(sup) = self.arg_toks() else {
                    self.pos = save;
                    return None;
                };
                order += sup.iter().filter(|t| t.is_cmd("prime")).count();
            } else {
                break;
            }
        }
        let paren_at = |k: usize| {
            let mut k = k;
            if self.toks.get(k).is_some_and(|t| t.is_cmd("left")) {
                k += 1;
            }
            self.toks.get(k).is_some_and(|t| t.is_ch('('))
        };
        if order == 0 || !(self.single_symbol_paren_at(self.pos) || paren_at(self.pos)) {
            self.pos = save;
            return None;
        }
        let name = name.to_string();
        Some(self.call_args(&name).and_then(|args| {
            let [arg] = args.as_slice() else {
                return Err(PErr::unsupported("a prime derivative of several arguments"));
            };
            let Expr::Var(v) = arg else {
                // `f'(g(x))`: the derivative by a fresh variable, taken where it
                // equals the argument (`find` binds it: a `PRIME_AT` node)
                let id = self.cx.id();
                let z = Sym {
                    base: format!("{}'(…)#{id}", name.trim_start_matches('\\')),
                    sub: None,
                    bold: false,
                    upper: false,
                };
                let mut e = Expr::Apply(name, vec![Expr::Var(z.clone())]);
                for _ in 0..order {
                    e = Expr::Deriv(self.cx.id(), Box::new(Deriv::by(e, z.clone())));
                }
                return Ok(Expr::Apply(PRIME_AT.into(), vec![e, arg.clone()]));
            };
            let v = v.clone();
            let mut e = Expr::Apply(name, args);
            for _ in 0..order {
                e = Expr::Deriv(self.cx.id(), Box::new(Deriv::by(e, v.clone())));
            }
            Ok(e)
        }))
    }

    /// Is there `(v)` at `k`, holding one symbol (`\mathbf{r}'(t)`: a derivative of a
    /// function, while `\mathbf{x}'(A + A')` is a product)?
    fn single_symbol_paren_at(&self, k: usize) -> bool {
        if !self.toks.get(k).is_some_and(|t| t.is_ch('(')) {
            return false;
        }
        let Some(close) = self.toks[k..].iter().position(|t| t.is_ch(')')) else {
            return false;
        };
        let inner = &self.toks[k + 1..k + close];
        let ids = Cell::new(0);
        let cx = Ctx {
            funcs: self.cx.funcs,
            ids: &ids,
            src: self.cx.src,
            depth: Cell::new(self.cx.depth.get()),
        };
        matches!(parse_expr(inner, &cx), Ok(Expr::Var(_)))
    }

    fn paren_has_comma(&self) -> bool {
        let mut k = self.pos;
        while k < self.toks.len() && is_space(&self.toks[k].tk) {
            k += 1;
        }
        if self.toks.get(k).is_some_and(|t| t.is_cmd("left")) {
            k += 1;
        }
        if !self.toks.get(k).is_some_and(|t| t.is_ch('(')) {
            return false;
        }
        let mut depth = 0i32;
        for t in &self.toks[k..] {
            match &t.tk {
                Tk::Ch('(') | Tk::Ch('[') | Tk::Open => depth += 1,
                Tk::Ch(')') | Tk::Ch(']') | Tk::Close => {
                    depth -= 1;
                    if depth == 0 {
                        return false;
                    }
                }
                Tk::Ch(',') if depth == 1 => return true,
                _ => {}
            }
        }
        false
    }

    /// Arguments of an abstract or user function: like `call_args`, but arguments
    /// that do not parse (`f(u_1, \dots, u_n)`) are dropped: the function is
    /// abstract anyway, or its definition decides.
    fn abstract_args(&mut self, name: &str) -> PResult<Vec<Expr>> {
        let save = self.pos;
        match self.call_args(name) {
            Ok(a) => Ok(a),
            Err(e) => {
                self.pos = save;
                // skip to the matching closing parenthesis
                let mut depth = 0i32;
                let mut k = self.pos;
                while k < self.toks.len() {
                    match &self.toks[k].tk {
                        Tk::Ch('(') | Tk::Ch('[') | Tk::Open => depth += 1,
                        Tk::Ch(')') | Tk::Ch(']') | Tk::Close => {
                            depth -= 1;
                            if depth <= 0 {
                                self.pos = k + 1;
                                return if self.cx.funcs.contains(name) {
                                    Err(e)
                                } else {
                                    Ok(Vec::new())
                                };
                            }
                        }
                        _ => {}
                    }
                    k += 1;
                }
                Err(e)
            }
        }
    }

    /// Arguments in parentheses: `(a, b)`, `\left(a\right)`, `\big(a\big)`.
    fn call_args(&mut self, name: &str) -> PResult<Vec<Expr>> {
        self.eat_size();
        let open = self.eat_cmd("left");
        let Some(t) = self.peek() else {
            return Err(PErr::parse(format!("`{name}` without arguments")));
        };
        if !(t.is_ch('(') || t.is_ch('[') || t.is_cmd("{")) {
            return Err(PErr::parse(format!(
                "`{name}` without parenthesised arguments"
            )));
        }
        let _ = open;
        self.pos += 1;
        let mut args = Vec::new();
        let saved = (self.abs_depth, self.norm_depth, self.in_bare_arg);
        self.abs_depth = 0;
        self.norm_depth = 0;
        self.in_bare_arg = false;
        loop {
            let a = self.dots_or_expr();
            let a = match a {
                Ok(a) => a,
                Err(e) => {
                    (self.abs_depth, self.norm_depth, self.in_bare_arg) = saved;
                    return Err(e);
                }
            };
            args.push(a);
            if self.eat_ch(',') {
                continue;
            }
            break;
        }
        (self.abs_depth, self.norm_depth, self.in_bare_arg) = saved;
        self.eat_size();
        self.close_delim()?;
        Ok(args)
    }

    fn eat_size(&mut self) {
        // \big etc. are spacing for us; nothing to do (skip_space handles them)
        self.skip_space();
    }

    /// A built-in function: `f(args)`, `f^2(x)`, `\sin x`.
    fn call(&mut self, f: Func) -> PResult<Expr> {
        let mut power: Option<Expr> = None;
        if self.peek().is_some_and(|t| t.is_ch('_')) {
            let save = self.pos;
            self.pos += 1;
            let sub = self.arg_toks()?;
            let s = plain_text(sub).replace(' ', "");
            if f == Func::Ln && s == "e" {
                // \log_e
            } else if f == Func::Ln
                && let Ok(b) = s.parse::<f64>()
                && b > 0.0
                && b != 1.0
            {
                // \log_2 x = \ln x / \ln 2
                let e = self.call(f)?;
                return Ok(Expr::bin(BinOp::Div, e, Expr::Num(b.ln())));
            } else if matches!(f, Func::Max | Func::Min | Func::Sum) {
                return Err(PErr::unsupported(format!(
                    "`\\{}_{{{s}}}` over an index",
                    f.name()
                )));
            } else {
                self.pos = save;
                return Err(PErr::unsupported(format!(
                    "`{}` with a subscript `{s}`",
                    f.name()
                )));
            }
        }
        if self.peek().is_some_and(|t| t.is_ch('^')) {
            self.pos += 1;
            let sup = self.arg_toks()?;
            let s = plain_text(sup).replace(' ', "");
            if s == "-1" {
                // `\sin^{-1} x`, `\tan^{-1}`: the inverse functions
                let Some(inv) = f.info().inverse else {
                    return Err(PErr::unsupported(format!(
                        "the inverse function `{}^{{-1}}`",
                        f.name()
                    )));
                };
                return self.call(inv);
            }
            let mut p = self.sub(sup);
            let e = p.expr()?;
            p.expect_end()?;
            power = Some(e);
        }
        let paren = {
            let t = self.peek();
            let opens = |t: &Tok| t.is_ch('(') || t.is_ch('[') || t.is_cmd("{");
            // `\ln\left|x\right|` is a bare argument, `\ln\left(x\right)` a call
            let after_left = || {
                self.toks[self.pos..]
                    .iter()
                    .filter(|t| !is_space(&t.tk))
                    .nth(1)
                    .is_some_and(opens)
            };
            t.is_some_and(|t| opens(t) || (t.is_cmd("left") && after_left()))
        };
        let args = if paren {
            self.call_args(f.name())?
        } else if self.peek().is_some_and(|t| t.tk == Tk::Open) {
            let inner = self.arg_toks()?;
            vec![self.group(inner)?]
        } else {
            if !self.at_factor_start() {
                return Err(PErr::parse(format!("`{}` without an argument", f.name())));
            }
            let saved = (self.in_bare_arg, self.bare_scalar);
            self.in_bare_arg = false;
            let first = self.factor();
            self.in_bare_arg = true;
            self.bare_scalar = first.as_ref().is_ok_and(|e| !has_bold(e));
            let mut e = match first {
                Ok(e) => e,
                Err(err) => {
                    (self.in_bare_arg, self.bare_scalar) = saved;
                    return Err(err);
                }
            };
            while !self.bare_arg_stops() && self.at_factor_start() {
                match self.factor() {
                    Ok(g) => e = Expr::bin(BinOp::Mul, e, g),
                    Err(err) => {
                        (self.in_bare_arg, self.bare_scalar) = saved;
                        return Err(err);
                    }
                }
            }
            (self.in_bare_arg, self.bare_scalar) = saved;
            vec![e]
        };
        let want = f.info().arity;
        if args.len() != want {
            if matches!(f, Func::Max | Func::Min) && args.len() == 1 {
                return Err(PErr::unsupported(format!(
                    "`{}` of a single argument (the largest entry)",
                    f.name()
                )));
            }
            if f == Func::Diag && args.len() > 1 {
                return Ok(apply_power(Expr::Call(f, vec![list_vector(args)?]), power));
            }
            return Err(PErr::parse(format!(
                "`{}` takes {want} argument(s), got {}",
                f.name(),
                args.len()
            )));
        }
        Ok(apply_power(Expr::Call(f, args), power))
    }

    fn command(&mut self, c: &str) -> PResult<Expr> {
        let start = self.pos;
        self.pos += 1; // the command itself
        if let Some(upper) = greek(c) {
            let name = format!("\\{c}");
            if c == "sigma" && !self.bold {
                let paren = self
                    .peek()
                    .is_some_and(|t| t.is_ch('(') || t.is_cmd("left") || t.tk == Tk::Open);
                // `\sigma^2(x)` is a power of the sigmoid; `\sigma^2` alone a
                // variance
                let pow_paren = self.peek().is_some_and(|t| t.is_ch('^')) && {
                    let k = self.pos;
                    let e = if self.toks.get(k + 1).is_some_and(|u| u.tk == Tk::Open) {
                        skip_group(self.toks, k + 1)
                    } else {
                        k + 2
                    };
                    let mut j = e;
                    while j < self.toks.len() && is_space(&self.toks[j].tk) {
                        j += 1;
                    }
                    self.toks
                        .get(j)
                        .is_some_and(|t| t.is_ch('(') || t.is_cmd("left") || t.tk == Tk::Open)
                };
                if paren || pow_paren {
                    return self.call(Func::Sigmoid);
                }
            }
            return self.symbol_tail(name, upper, self.bold);
        }
        match c {
            "pi" => Ok(Expr::Num(std::f64::consts::PI)),
            _ if is_frac(c) => self.frac(),
            "sqrt" => {
                let mut root = None;
                if self.eat_ch('[') {
                    let mut k = self.pos;
                    while k < self.toks.len() && !self.toks[k].is_ch(']') {
                        k += 1;
                    }
                    let inner = &self.toks[self.pos..k.min(self.toks.len())];
                    let mut p = self.sub(inner);
                    root = Some(p.expr()?);
                    p.expect_end()?;
                    self.pos = (k + 1).min(self.toks.len());
                }
                let inner = self.arg_toks()?;
                let e = self.group(inner)?;
                Ok(match root {
                    None => Expr::Call(Func::Sqrt, vec![e]),
                    Some(r) => Expr::Pow(e.bx(), Expr::bin(BinOp::Div, Expr::Num(1.0), r).bx()),
                })
            }
            "left" => {
                let Some(d) = self.bump() else {
                    return Err(PErr::parse("`\\left` at the end"));
                };
                if d.is_ch('(') || d.is_ch('[') || d.is_cmd("{") || d.is_cmd("lbrack") {
                    self.paren_body()
                } else if d.is_cmd("langle") {
                    self.inner_product()
                } else if d.is_ch('|') || d.is_cmd("vert") || d.is_cmd("lvert") {
                    self.abs_body(true)
                } else if d.is_cmd("|") || d.is_cmd("Vert") || d.is_cmd("lVert") {
                    self.norm_body()
                } else if d.is_ch('.') {
                    let e = self.expr()?;
                    if self.eat_cmd("right") {
                        if self.peek().is_some_and(|t| t.is_ch('|')) {
                            return Err(PErr::unsupported("evaluation bar `\\right|`"));
                        }
                        self.bump();
                    }
                    Ok(e)
                } else {
                    Err(PErr::unsupported(format!(
                        "`\\left` with delimiter `{}`",
                        plain_text(std::slice::from_ref(d))
                    )))
                }
            }
            "langle" => self.inner_product(),
            "|" | "Vert" | "lVert" => self.norm_body(),
            "lvert" | "vert" => self.abs_body(false),
            "{" | "lbrack" => self.paren_body(),
            "lbrace" => self.paren_body(),
            "sum" => self.sum(false),
            "prod" => self.sum(true),
            "partial" => self.inline_partial(),
            "nabla" => self.nabla(),
            "begin" => self.env(),
            "mathbb" => {
                let inner = self.arg_toks()?;
                let s = plain_text(inner).replace(' ', "");
                match s.as_str() {
                    "1" => {
                        let e = Expr::Ones(self.cx.id());
                        self.after_ones(e)
                    }
                    "0" => {
                        let e = Expr::Zeros(self.cx.id());
                        self.after_ones(e)
                    }
                    "I" => {
                        let e = Expr::Ident(self.cx.id());
                        self.after_ones(e)
                    }
                    "E" => Err(PErr::unsupported("an expectation `\\mathbb{E}`")),
                    _ => Err(PErr::unsupported(format!(
                        "`\\mathbb{{{s}}}` in an expression"
                    ))),
                }
            }
            "mathcal" | "mathscr" | "mathfrak" => {
                let inner = self.arg_toks()?;
                let s = plain_text(inner).replace(' ', "");
                let upper = false;
                self.symbol_tail(format!("\\{c}{{{s}}}"), upper, self.bold)
            }
            "dots" | "cdots" | "ldots" | "vdots" | "ddots" => {
                Err(PErr::unsupported("an ellipsis `\\dots` here"))
            }
            "operatorname" | "operatorname*" => {
                let inner = self.arg_toks()?;
                let name = plain_text(inner).replace(' ', "");
                self.named(&name)
            }
            _ if func_command(c).is_some() => self.named(c),
            _ if TEXT_CMDS.contains(&c) => {
                let inner = self.arg_toks()?;
                let name = plain_text(inner).replace(' ', "");
                if inner.iter().any(|t| matches!(t.tk, Tk::Cmd(_))) && !TEXT_MODE_CMDS.contains(&c)
                {
                    // \mathrm{\mathbf{x}} and the like: parse the inside
                    let e = self.group(inner)?;
                    return self.postfix_sym_sub(e);
                }
                if name.chars().count() == 1 {
                    let ch = name.chars().next().unwrap_or('x');
                    if ch == 'e' && !self.bold {
                        // an upright `\mathrm{e}` is Euler's number
                        if self.peek().is_some_and(|t| t.is_ch('^')) {
                            self.pos += 1;
                            let sup = self.arg_toks()?;
                            let mut p = self.sub(sup);
                            let e = p.expr()?;
                            p.expect_end()?;
                            return Ok(Expr::Call(Func::Exp, vec![e]));
                        }
                        if !self.peek().is_some_and(|t| t.is_ch('_')) {
                            return Ok(Expr::Num(std::f64::consts::E));
                        }
                    }
                    if ch.is_ascii_digit() {
                        return Ok(Expr::Num(f64::from(ch.to_digit(10).unwrap_or(0))));
                    }
                    if ch.is_ascii_alphabetic() {
                        return self.symbol_tail(name, ch.is_ascii_uppercase(), self.bold);
                    }
                }
                if name.is_empty() {
                    return Err(PErr::parse(format!("empty `\\{c}{{}}`")));
                }
                if name.chars().all(|c| c.is_ascii_digit() || c == '.') {
                    return name
                        .parse::<f64>()
                        .map(Expr::Num)
                        .map_err(|_| PErr::parse(format!("bad number `{name}`")));
                }
                self.named(&name)
            }
            _ if BOLD.contains(&c) => {
                let inner = self.arg_toks()?;
                self.bold_arg(inner)
            }
            _ if DECOR_CMDS.contains(&c) || c == "dot" || c == "ddot" => {
                let inner = self.arg_toks()?;
                let mut p = self.sub(inner);
                let e = p.factor()?;
                p.expect_end()?;
                match e {
                    Expr::Var(s) => {
                        let base = format!("\\{c}{{{}}}", s.key());
                        self.symbol_tail(base, s.upper, s.bold || self.bold)
                    }
                    _ => Err(PErr::unsupported(format!("`\\{c}` over an expression"))),
                }
            }
            "mathbf{}" => Err(PErr::parse("empty bold")),
            "infty" => Err(PErr::unsupported("`\\infty`")),
            "?" => Err(PErr::parse("a `?` (fill-in prompt)")),
            "bigcirc" | "diamond" => Err(PErr::abstract_("an abstract operator (`\\bigcirc`)")),
            "square" | "Box" | "blacksquare" | "_" => Err(PErr::parse("a blank to fill in")),
            "mathbb{R}" => Err(PErr::unsupported("a set")),
            _ if UNSUPPORTED_CMDS.contains(&c) => Err(PErr::unsupported(format!(
                "stopped at `\\{c}` (not supported by the checker)"
            ))),
            _ => {
                self.pos = start;
                Err(PErr::unsupported(format!(
                    "stopped at the command `\\{c}` (unknown to the checker)"
                )))
            }
        }
    }

    /// `\mathrm{x}_i` etc.: a subscript after a font group whose content was a symbol.
    fn postfix_sym_sub(&mut self, e: Expr) -> PResult<Expr> {
        if let Expr::Var(mut s) = e {
            if s.sub.is_none() && self.peek().is_some_and(|t| t.is_ch('_')) {
                self.pos += 1;
                let sub = self.arg_toks()?;
                s.sub = Some(norm_sub(sub));
            }
            return Ok(Expr::Var(s));
        }
        Ok(e)
    }

    /// A name from `\operatorname{}`, `\text{}`, `\mathrm{}` or a command.
    fn named(&mut self, name: &str) -> PResult<Expr> {
        if let Some(f) = func_by_name(name) {
            return self.call(f);
        }
        if self.cx.funcs.contains(name) {
            let args = self.call_args(name)?;
            return Ok(Expr::Apply(name.to_string(), args));
        }
        match name {
            "d" => Err(PErr::unsupported("a differential `d` outside a fraction")),
            "if" | "otherwise" | "else" | "for" | "where" | "and" | "when" => {
                Err(PErr::parse(format!("the word `{name}`")))
            }
            "logdet" => {
                let inner = self.call(Func::Det)?;
                Ok(Expr::Call(Func::Ln, vec![inner]))
            }
            _ => {
                let paren = self
                    .peek()
                    .is_some_and(|t| t.is_ch('(') || t.is_cmd("left"));
                if paren {
                    let args = self.abstract_args(name)?;
                    return Ok(Expr::Apply(name.to_string(), args));
                }
                Err(PErr::unsupported(format!("the operator `{name}`")))
            }
        }
    }

    /// After a ones vector (`\mathbf{1}`, `\mathbb{1}`): a size subscript
    /// (`\mathbf{1}_n`, ignored) or an indicator (`\mathbb{1}[x > 0]`,
    /// `\mathbb{1}_{x > 0}`).
    fn after_ones(&mut self, e: Expr) -> PResult<Expr> {
        if self.peek().is_some_and(|t| t.is_ch('_')) {
            self.pos += 1;
            let sub = self.arg_toks()?;
            if has_top_relation(sub) {
                return self.indicator(sub);
            }
            return Ok(e);
        }
        let Some(t) = self.peek() else { return Ok(e) };
        if !(t.is_ch('(') || t.is_ch('[') || t.is_cmd("{") || t.is_cmd("left")) {
            return Ok(e);
        }
        let mut k = self.pos;
        if self.toks[k].is_cmd("left") {
            k += 1;
        }
        let open = k;
        let mut depth = 0i32;
        let mut close = None;
        while k < self.toks.len() {
            let t = &self.toks[k];
            if t.is_ch('(') || t.is_ch('[') || t.is_cmd("{") {
                depth += 1;
            } else if t.is_ch(')') || t.is_ch(']') || t.is_cmd("}") {
                depth -= 1;
                if depth == 0 {
                    close = Some(k);
                    break;
                }
            }
            k += 1;
        }
        let Some(close) = close else { return Ok(e) };
        let mut inner_end = close;
        if inner_end > open + 1 && self.toks[inner_end - 1].is_cmd("right") {
            inner_end -= 1;
        }
        let inner = &self.toks[open + 1..inner_end.max(open + 1)];
        if !has_top_relation(inner) {
            return Ok(e);
        }
        self.pos = close + 1;
        self.indicator(inner)
    }

    fn indicator(&self, toks: &[Tok]) -> PResult<Expr> {
        let parts = split_top(toks, |t| {
            matches!(
                relation(&t.tk),
                Some(Rel::Lt | Rel::Gt | Rel::Le | Rel::Ge | Rel::Eq | Rel::Ne)
            )
        });
        if parts.len() != 2 {
            return Err(PErr::unsupported(format!(
                "the indicator condition `{}`",
                self.cx.text(toks)
            )));
        }
        let rel_tok = &toks[parts[0].len()];
        let Some(rel) = relation(&rel_tok.tk) else {
            return Err(PErr::parse("an indicator without a relation"));
        };
        let mut p = self.sub(parts[0]);
        let a = p.expr()?;
        p.expect_end()?;
        let mut p = self.sub(parts[1]);
        let b = p.expr()?;
        p.expect_end()?;
        Ok(Expr::Ind(a.bx(), rel, b.bx()))
    }

    /// The inside of `\mathbf{...}`.
    fn bold_arg(&mut self, inner: &[Tok]) -> PResult<Expr> {
        let sig: Vec<&Tok> = inner.iter().filter(|t| !is_space(&t.tk)).collect();
        if sig.len() == 1 {
            match &sig[0].tk {
                Tk::Digit('1') => {
                    let e = Expr::Ones(self.cx.id());
                    return self.after_ones(e);
                }
                Tk::Digit('0') => {
                    let e = Expr::Zeros(self.cx.id());
                    return self.after_ones(e);
                }
                Tk::Letter('I') => {
                    // \mathbf{I}: identity, unless subscripted oddly
                    return self.symbol_tail("I".into(), true, true);
                }
                Tk::Letter(c) => {
                    let c = *c;
                    return self.symbol_tail(c.to_string(), c.is_ascii_uppercase(), true);
                }
                Tk::Cmd(c) => {
                    if let Some(upper) = greek(c) {
                        let name = format!("\\{c}");
                        return self.symbol_tail(name, upper, true);
                    }
                }
                _ => {}
            }
        }
        let mut p = self.sub(inner);
        p.bold = true;
        let e = p.dots_or_expr()?;
        p.expect_end()?;
        self.postfix_sym_sub(e)
    }

    /// `\frac{N}{D}`: a derivative or a division.
    fn frac(&mut self) -> PResult<Expr> {
        let num = self.arg_toks()?;
        let den = self.arg_toks()?;
        if let (Some((_, nrest, norder)), Some((_, drest, _))) =
            (self.differential(num), self.differential(den))
        {
            return self.derivative(nrest, norder, drest);
        }
        let n = self.group(num)?;
        let d = self.group(den)?;
        Ok(Expr::bin(BinOp::Div, n, d))
    }

    /// If `toks` starts with `\partial`, `d` or `\mathrm{d}`: (kind, rest, order).
    fn differential<'u>(&self, toks: &'u [Tok]) -> Option<(bool, &'u [Tok], u32)> {
        let mut k = 0;
        while k < toks.len() && is_space(&toks[k].tk) {
            k += 1;
        }
        let t = toks.get(k)?;
        let partial;
        let mut rest_at;
        if t.is_cmd("partial") {
            partial = true;
            rest_at = k + 1;
        } else if t.tk == Tk::Letter('d') {
            // a letter run like `diag` or `det` is not a differential
            let mut j = k + 1;
            let mut run = String::from("d");
            while let Some(u) = toks.get(j) {
                match u.tk {
                    Tk::Letter(c) if u.start == toks[j - 1].end => {
                        run.push(c);
                        j += 1;
                    }
                    _ => break,
                }
            }
            if run.len() >= 2 && (func_by_name(&run).is_some() || self.cx.funcs.contains(&run)) {
                return None;
            }
            partial = false;
            rest_at = k + 1;
        } else if let Tk::Cmd(c) = &t.tk {
            if UPRIGHT_D_CMDS.contains(&c.as_str()) {
                let j = k + 1;
                let inner_end = if toks.get(j).is_some_and(|u| u.tk == Tk::Open) {
                    skip_group(toks, j)
                } else {
                    j + 1
                };
                let inner = &toks[j.min(toks.len())..inner_end.min(toks.len())];
                if plain_text(inner).replace(['{', '}', ' '], "") != "d" {
                    return None;
                }
                partial = false;
                rest_at = inner_end;
            } else {
                return None;
            }
        } else {
            return None;
        };
        let mut order = 1;
        // \partial^2
        let mut j = rest_at;
        while j < toks.len() && is_space(&toks[j].tk) {
            j += 1;
        }
        if toks.get(j).is_some_and(|u| u.is_ch('^')) {
            let e = if toks.get(j + 1).is_some_and(|u| u.tk == Tk::Open) {
                skip_group(toks, j + 1)
            } else {
                j + 2
            };
            let s = plain_text(&toks[(j + 1).min(toks.len())..e.min(toks.len())]);
            order = s.replace(['{', '}', ' '], "").parse::<u32>().unwrap_or(2);
            rest_at = e.min(toks.len());
        }
        Some((partial, &toks[rest_at.min(toks.len())..], order))
    }

    /// Builds a derivative from the fraction's numerator rest and denominator rest.
    fn derivative(&mut self, nrest: &[Tok], order: u32, drest: &[Tok]) -> PResult<Expr> {
        // by `\operatorname{vec}(X)`: X's entries in column order
        let by_vec = if order == 1 {
            let mut p = self.sub(drest);
            p.bold = false;
            match p.factor() {
                Ok(Expr::Call(Func::Vec, args)) if p.at_end() => match args.as_slice() {
                    [Expr::Var(s)] => Some(s.clone()),
                    _ => None,
                },
                _ => None,
            }
        } else {
            None
        };
        let wrts = if let Some(s) = &by_vec {
            vec![s.clone()]
        } else if order == 1 {
            vec![self.wrt(drest)?]
        } else {
            self.wrts(drest, order)?
        };
        let of = if nrest.iter().all(|t| is_space(&t.tk)) {
            // operator form: the operand follows, up to the relation (or the next
            // derivative term)
            let saved = (self.in_bare_arg, self.in_operand);
            self.in_bare_arg = false;
            self.in_operand = true;
            let e = self.expr();
            (self.in_bare_arg, self.in_operand) = saved;
            e?
        } else {
            let mut p = self.sub(nrest);
            let e = p.expr()?;
            p.expect_end()?;
            e
        };
        if let Some(wrt) = by_vec {
            return Ok(Expr::Deriv(
                self.cx.id(),
                Box::new(Deriv {
                    vec: true,
                    ..Deriv::by(of, wrt)
                }),
            ));
        }
        Ok(self.nest(of, wrts))
    }

    /// `of` differentiated by each variable, the last one first. Twice by one vector,
    /// the inner derivative is a gradient (either orientation), so that the outer one
    /// is the Hessian (symmetric, whatever the layout).
    fn nest(&self, of: Expr, wrts: Vec<Sym>) -> Expr {
        let n = wrts.len();
        // (only a Hessian, twice by one vector, is symmetric)
        let hessian = wrts.windows(2).all(|w| w[0].key() == w[1].key());
        let mut e = of;
        for (k, wrt) in wrts.into_iter().enumerate().rev() {
            let nabla = n > 1 && k > 0 && hessian && wrt.bold && !wrt.upper;
            e = Expr::Deriv(
                self.cx.id(),
                Box::new(Deriv {
                    nabla,
                    ..Deriv::by(e, wrt)
                }),
            );
        }
        e
    }

    /// The variables of a higher-order derivative's denominator: `x^2`,
    /// `x \partial y`, `\mathbf{x} \partial \mathbf{x}^\top`; their orders must add
    /// up to the numerator's.
    fn wrts(&self, toks: &[Tok], order: u32) -> PResult<Vec<Sym>> {
        let mut out = Vec::new();
        for piece in split_top(toks, |t| t.is_cmd("partial")) {
            if piece.iter().all(|t| is_space(&t.tk)) {
                continue;
            }
            let mut p = self.sub(piece);
            p.bold = false;
            let e = p.factor()?;
            if !p.at_end() {
                return Err(PErr::unsupported(format!(
                    "derivative with respect to `{}`",
                    self.cx.text(piece)
                )));
            }
            let (s, k) = match e {
                Expr::Var(s) => (s, 1),
                Expr::Post(v, PostOp::Transpose) if matches!(*v, Expr::Var(_)) => match *v {
                    Expr::Var(s) => (s, 1),
                    _ => unreachable!(),
                },
                Expr::Pow(v, k) => match (*v, *k) {
                    (Expr::Var(s), Expr::Num(k)) if k >= 1.0 && k.fract() == 0.0 && k <= 4.0 => {
                        (s, k as u32)
                    }
                    _ => return Err(PErr::unsupported("a higher-order derivative")),
                },
                _ => {
                    return Err(PErr::unsupported(format!(
                        "derivative with respect to the expression `{}`",
                        self.cx.text(piece)
                    )));
                }
            };
            for _ in 0..k {
                out.push(s.clone());
            }
        }
        if out.len() != order as usize || out.is_empty() || order > 4 {
            return Err(PErr::unsupported(
                "a higher-order derivative whose orders do not add up",
            ));
        }
        Ok(out)
    }

    /// The variable after `\partial` / `d` in a denominator.
    fn wrt(&self, toks: &[Tok]) -> PResult<Sym> {
        if toks.iter().any(|t| t.is_cmd("partial")) {
            return Err(PErr::unsupported("a mixed second derivative"));
        }
        let mut p = self.sub(toks);
        p.bold = false;
        let e = p.factor()?;
        if !p.at_end() {
            return Err(PErr::unsupported(format!(
                "derivative with respect to `{}`",
                self.cx.text(toks)
            )));
        }
        match e {
            Expr::Var(s) => Ok(s),
            Expr::Pow(..) => Err(PErr::unsupported("a higher-order derivative")),
            Expr::Ident(_) => Ok(Sym {
                base: "I".into(),
                sub: None,
                bold: false,
                upper: true,
            }),
            _ => Err(PErr::unsupported(format!(
                "derivative with respect to the expression `{}`",
                self.cx.text(toks)
            ))),
        }
    }

    /// `\partial f / \partial x` or `\partial_x f`.
    fn inline_partial(&mut self) -> PResult<Expr> {
        if self.eat_ch('_') {
            let sub = self.arg_toks()?;
            // `\partial_{xy} f`: by x, then by y (not index letters: `\partial_{ij}`
            // is index notation)
            let letters: Vec<char> = sub
                .iter()
                .filter(|t| !is_space(&t.tk))
                .map(|t| match t.tk {
                    Tk::Letter(c) => c,
                    _ => '\0',
                })
                .collect();
            if (2..=3).contains(&letters.len())
                && letters
                    .iter()
                    .all(|c| c.is_ascii_lowercase() && !PARTIAL_INDEX_LETTERS.contains(*c))
            {
                let mut e = self.expr()?;
                for c in letters {
                    e = Expr::Deriv(
                        self.cx.id(),
                        Box::new(Deriv::by(
                            e,
                            Sym {
                                base: c.to_string(),
                                sub: None,
                                bold: false,
                                upper: false,
                            },
                        )),
                    );
                }
                return Ok(e);
            }
            let wrt = self.wrt(sub)?;
            let of = self.expr()?;
            return Ok(Expr::Deriv(self.cx.id(), Box::new(Deriv::by(of, wrt))));
        }
        let of = self.factor()?;
        if !self.eat_ch('/') {
            return Err(PErr::unsupported("a lone `\\partial`"));
        }
        if !self.eat_cmd("partial") {
            return Err(PErr::unsupported(
                "`\\partial ... /` without `\\partial` below",
            ));
        }
        let start = self.pos;
        let _ = self.factor()?;
        let wrt = self.wrt(&self.toks[start..self.pos])?;
        Ok(Expr::Deriv(self.cx.id(), Box::new(Deriv::by(of, wrt))))
    }

    fn nabla(&mut self) -> PResult<Expr> {
        // `\nabla^2_{\mathbf{x}}`, `\nabla_{\mathbf{x}}^2`: the Hessian
        let mut hessian = false;
        let mut wrt = None;
        for _ in 0..2 {
            if self.peek().is_some_and(|t| t.is_ch('^')) && !hessian {
                self.pos += 1;
                let sup = self.arg_toks()?;
                if plain_text(sup).replace(' ', "") != "2" {
                    return Err(PErr::unsupported("a power of `\\nabla`"));
                }
                hessian = true;
            } else if wrt.is_none() && self.eat_ch('_') {
                let sub = self.arg_toks()?;
                wrt = Some(self.wrt(sub)?);
            }
        }
        let of = self.expr()?;
        let wrt = match wrt {
            Some(w) => w,
            None => match &of {
                Expr::Apply(_, args) if args.len() == 1 => match &args[0] {
                    Expr::Var(s) => s.clone(),
                    _ => return Err(PErr::unsupported("`\\nabla` without a subscript")),
                },
                _ => Sym {
                    base: String::new(),
                    sub: None,
                    bold: false,
                    upper: false,
                },
            },
        };
        let grad = Expr::Deriv(
            self.cx.id(),
            Box::new(Deriv {
                nabla: true,
                ..Deriv::by(of, wrt.clone())
            }),
        );
        if !hessian {
            return Ok(grad);
        }
        Ok(Expr::Deriv(self.cx.id(), Box::new(Deriv::by(grad, wrt))))
    }

    /// `\sum_{i=1}^{n} body` (`\prod_{i=1}^{n} body` when `prod`)
    fn sum(&mut self, prod: bool) -> PResult<Expr> {
        let what = if prod { "product" } else { "sum" };
        let mut idxs = Vec::new();
        let mut lo = 1i64;
        let mut hi: Option<Expr> = None;
        let mut have_sub = false;
        for _ in 0..2 {
            if self.peek().is_some_and(|t| t.is_ch('_')) && !have_sub {
                self.pos += 1;
                have_sub = true;
                let sub = self.arg_toks()?;
                let s = plain_text(sub).replace(' ', "");
                let (names, low) = match s.split_once('=') {
                    Some((a, b)) => (a.to_string(), Some(b.to_string())),
                    None => (s.clone(), None),
                };
                for n in names.split(',') {
                    if n.len() == 1 && n.chars().all(|c| c.is_ascii_lowercase()) {
                        idxs.push(n.to_string());
                    } else if n.len() == 2
                        && n.chars().all(|c| c.is_ascii_lowercase())
                        && low.is_none()
                    {
                        idxs.extend(n.chars().map(|c| c.to_string()));
                    } else {
                        return Err(PErr::unsupported(format!("a {what} over `{s}`")));
                    }
                }
                if let Some(l) = low {
                    lo = l
                        .parse::<i64>()
                        .map_err(|_| PErr::unsupported(format!("a {what} starting at `{l}`")))?;
                }
            } else if self.peek().is_some_and(|t| t.is_ch('^')) && hi.is_none() {
                self.pos += 1;
                let sup = self.arg_toks()?;
                let mut p = self.sub(sup);
                p.bold = false;
                let e = p.expr()?;
                p.expect_end()?;
                hi = Some(e);
            }
        }
        if idxs.is_empty() {
            return Err(PErr::unsupported(format!("a {what} without an index")));
        }
        if idxs.len() > 1 && hi.is_some() {
            return Err(PErr::unsupported(format!("a multiple {what} with bounds")));
        }
        let depth = self.bound.len();
        self.bound.extend(idxs.iter().cloned());
        let body = self.term();
        self.bound.truncate(depth);
        let mut e = body?;
        let n = idxs.len();
        for (k, idx) in idxs.into_iter().enumerate().rev() {
            e = Expr::Sum {
                idx,
                lo,
                hi: if k + 1 == n {
                    hi.take().map(Expr::bx)
                } else {
                    None
                },
                body: e.bx(),
                prod,
            };
        }
        Ok(e)
    }

    /// `\begin{env} ... \end{env}`
    fn env(&mut self) -> PResult<Expr> {
        let name_toks = self.arg_toks()?;
        let name = plain_text(name_toks).replace(' ', "");
        // find the matching \end{name}
        let body_start = self.pos;
        let mut depth = 0;
        let mut k = self.pos;
        let mut body_end = None;
        while k < self.toks.len() {
            if self.toks[k].is_cmd("begin") {
                depth += 1;
            } else if self.toks[k].is_cmd("end") {
                if depth == 0 {
                    body_end = Some(k);
                    break;
                }
                depth -= 1;
            }
            k += 1;
        }
        let Some(body_end) = body_end else {
            return Err(PErr::parse(format!("`\\begin{{{name}}}` without `\\end`")));
        };
        self.pos = body_end + 1;
        if self.peek().is_some_and(|t| t.tk == Tk::Open) {
            let _ = self.arg_toks()?;
        }
        let mut body = &self.toks[body_start..body_end];
        if name.starts_with("array") && body.first().is_some_and(|t| t.tk == Tk::Open) {
            let e = skip_group(body, 0);
            body = &body[e.min(body.len())..];
        }
        match name.as_str() {
            "array" | "array*" => self.cases(body).or_else(|_| self.matrix(body)),
            "equation" | "equation*" | "displaymath" | "math" => {
                let mut p = self.sub(body);
                let e = p.expr()?;
                p.expect_end()?;
                Ok(e)
            }
            "cases" | "dcases" | "cases*" | "rcases" => self.cases(body),
            "bmatrix" | "pmatrix" | "matrix" | "Bmatrix" | "bmatrix*" | "pmatrix*"
            | "smallmatrix" => self.matrix(body),
            "vmatrix" => Ok(Expr::Call(Func::Det, vec![self.matrix(body)?])),
            _ => Err(PErr::unsupported(format!("the environment `{name}`"))),
        }
    }

    fn matrix(&mut self, body: &[Tok]) -> PResult<Expr> {
        let rows = split_rows(body);
        let mut out = Vec::new();
        for row in rows {
            if row.iter().all(|t| is_space(&t.tk)) {
                continue;
            }
            if row.iter().any(Self::is_dots)
                || row.iter().any(|t| t.is_cmd("vdots") || t.is_cmd("ddots"))
            {
                return Err(PErr::unsupported(
                    "an ellipsis `\\dots` in a matrix literal",
                ));
            }
            let mut cells = split_top(row, |t| t.is_ch('&'));
            if cells.len() == 1 {
                cells = split_top(row, |t| t.is_ch(','));
            }
            let mut r = Vec::new();
            for c in cells {
                if c.iter().all(|t| is_space(&t.tk)) {
                    r.push(Expr::Num(0.0));
                } else {
                    let mut p = self.sub(c);
                    let e = p.expr()?;
                    p.expect_end()?;
                    r.push(e);
                }
            }
            out.push(r);
        }
        if out.is_empty() {
            return Err(PErr::parse("an empty matrix"));
        }
        let w = out[0].len();
        if out.iter().any(|r| r.len() != w) {
            return Err(PErr::parse("matrix rows of different lengths"));
        }
        Ok(Expr::Matrix(out))
    }

    fn cases(&mut self, body: &[Tok]) -> PResult<Expr> {
        let mut branches = Vec::new();
        for row in split_rows(body) {
            if row.iter().all(|t| is_space(&t.tk)) {
                continue;
            }
            let (val, cond) = split_branch(row).map_err(|_| {
                PErr::parse(format!(
                    "cannot tell the value from the condition in the `cases` row `{}`",
                    self.cx.text(row)
                ))
            })?;
            let mut val = val;
            while val
                .last()
                .is_some_and(|t| t.is_ch(',') || t.is_ch(';') || is_space(&t.tk))
            {
                val = &val[..val.len() - 1];
            }
            let mut p = self.sub(val);
            if p.peek().is_none() {
                return Err(PErr::parse("a `cases` branch without a value"));
            }
            let v = p.expr()?;
            p.expect_end()?;
            let v = match v {
                Expr::Num(0.0) => Expr::ZeroAny,
                v => v,
            };
            let c = self.condition(cond)?;
            branches.push((v, c));
        }
        if branches.is_empty() {
            return Err(PErr::parse("empty `cases`"));
        }
        Ok(Expr::Cases(self.cx.id(), branches))
    }

    fn condition(&self, toks: &[Tok]) -> PResult<Cond> {
        // strip leading words and punctuation: `\text{if}`, `if`, `,`, `\text{for }`
        let mut k = 0;
        loop {
            while k < toks.len() && (is_space(&toks[k].tk) || toks[k].is_ch(',')) {
                k += 1;
            }
            let Some(t) = toks.get(k) else { break };
            if let Tk::Cmd(c) = &t.tk
                && TEXT_CMDS.contains(&c.as_str())
            {
                let j = k + 1;
                let e = if toks.get(j).is_some_and(|u| u.tk == Tk::Open) {
                    skip_group(toks, j)
                } else {
                    j + 1
                };
                let words = plain_text(&toks[j.min(toks.len())..e.min(toks.len())]).to_lowercase();
                let w = words.trim().trim_end_matches([',', ':', '.']).trim();
                if matches!(w, "otherwise" | "else" | "o.w." | "elsewhere") {
                    return Ok(Cond::Always);
                }
                if matches!(w, "if" | "for" | "when" | "where" | "whenever" | "if " | "") {
                    k = e;
                    continue;
                }
                if let Some(rest) = w.strip_prefix("if ")
                    && rest.trim().is_empty()
                {
                    k = e;
                    continue;
                }
                return Err(PErr::unsupported(format!(
                    "the condition `{}`",
                    words.trim()
                )));
            }
            if let Tk::Letter(_) = t.tk {
                let mut j = k;
                let mut w = String::new();
                while let Some(Tk::Letter(c)) = toks.get(j).map(|t| &t.tk) {
                    w.push(*c);
                    j += 1;
                }
                if matches!(w.as_str(), "if" | "for" | "when") {
                    k = j;
                    continue;
                }
                if matches!(w.as_str(), "otherwise" | "else") {
                    return Ok(Cond::Always);
                }
            }
            break;
        }
        let toks = &toks[k.min(toks.len())..];
        if toks.iter().all(|t| is_space(&t.tk)) {
            return Err(PErr::parse("a `cases` branch without a condition"));
        }
        // a whole condition in one bold group, `\mathbf{w \cdot x_i + b \le 0}`: its
        // letters are the identity's symbols, in whatever font they have there
        let sig: Vec<usize> = (0..toks.len())
            .filter(|&k| !is_space(&toks[k].tk))
            .collect();
        if let (Some(&a), Some(&b)) = (sig.first(), sig.last())
            && let Tk::Cmd(c) = &toks[a].tk
            && BOLD.contains(&c.as_str())
            && sig.get(1).is_some_and(|&o| toks[o].tk == Tk::Open)
            && toks[b].tk == Tk::Close
            && skip_group(toks, sig[1]) == b + 1
            && toks[sig[1] + 1..b]
                .iter()
                .any(|t| relation(&t.tk).is_some())
        {
            return self.condition(&toks[sig[1] + 1..b]);
        }
        // conjunctions: `,` `\text{and}` `\land` `\wedge`
        let parts = split_top(toks, |t| {
            t.is_ch(',') || t.is_cmd("land") || t.is_cmd("wedge")
        });
        if parts.len() > 1 {
            let mut cs = Vec::new();
            for p in parts {
                if p.iter().all(|t| is_space(&t.tk)) {
                    continue;
                }
                cs.push(self.condition(p)?);
            }
            return Ok(Cond::And(cs));
        }
        let mut exprs = Vec::new();
        let mut rels = Vec::new();
        let mut start = 0;
        let mut depth = 0i32;
        for (k, t) in toks.iter().enumerate() {
            match &t.tk {
                Tk::Open | Tk::Ch('(') | Tk::Ch('[') => depth += 1,
                Tk::Close | Tk::Ch(')') | Tk::Ch(']') => depth -= 1,
                _ => {}
            }
            if depth == 0
                && let Some(r) = relation(&t.tk)
            {
                if matches!(r, Rel::Def | Rel::Approx | Rel::Other) {
                    return Err(PErr::unsupported(format!(
                        "the condition `{}`",
                        self.cx.text(toks)
                    )));
                }
                let mut p = self.sub(&toks[start..k]);
                let e = p.expr()?;
                p.expect_end()?;
                exprs.push(e);
                rels.push(r);
                start = k + 1;
            }
        }
        if rels.is_empty() {
            return Err(PErr::unsupported(format!(
                "the condition `{}`",
                self.cx.text(toks)
            )));
        }
        let mut p = self.sub(&toks[start..]);
        let e = p.expr()?;
        p.expect_end()?;
        exprs.push(e);
        Ok(Cond::Rel(exprs, rels))
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
                    && TEXT_CMDS.contains(&name.as_str())
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
                    || (TEXT_CMDS.contains(&c.as_str()) && {
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
