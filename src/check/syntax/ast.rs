//! The expression tree the parser builds and every later pass reads.

use crate::check::notation::Func;

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
