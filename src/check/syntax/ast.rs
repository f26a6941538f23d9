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

/// The name of the [`Expr::Apply`] a tuple `(a, b, c)` is parsed to: its entries.
pub(crate) const TUPLE: &str = "\\tuple";

/// The name of the [`Expr::Apply`] `\langle a, b \rangle` is parsed to: the inner
/// product of `a` and `b`, or, where coordinates make tuples vectors (`\nabla (x^2 +
/// y^2) = \langle 2x, 2y \rangle`, `find::indices`), the vector of its entries.
pub(crate) const ANGLE_PAIR: &str = "\\angle-pair";

/// Is this the name of an [`Expr::Apply`] that writes notation, not a function?
pub(crate) fn is_notation_apply(name: &str) -> bool {
    name == TUPLE || name == ANGLE_PAIR || name == PRIME_AT
}

/// The name of the point of the coordinates x, y, z (`find::indices`), the variable
/// of `\nabla`, `\nabla \cdot`, `\nabla \times` written without a subscript in them.
pub(crate) const COORDINATE_POINT: &str = "(x,y,z)";

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
    /// A training-example superscript (`x^{(i)}`, `a^{[l]}`, kept in the base as
    /// `x^{(i)}`): the letter's own base and the index (`i`, or a number for one
    /// sample `x^{(1)}`).
    pub(crate) fn sample(&self) -> Option<(&str, &str)> {
        let b = self
            .base
            .strip_suffix(")}")
            .or_else(|| self.base.strip_suffix("]}"))?;
        let at = b.rfind("^{(").or_else(|| b.rfind("^{["))?;
        let idx = &b[at + 3..];
        (at > 0 && !idx.is_empty() && idx.chars().all(|c| c.is_ascii_alphanumeric()))
            .then(|| (&self.base[..at], idx))
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
    /// Implicit product, `*`: scalar times anything, else a matrix product.
    Mul,
    /// `\times`: the cross product between two column vectors (3-vectors), else like
    /// `Mul`.
    Cross,
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
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    /// `\text{otherwise}`, `\text{else}`.
    Always,
    /// `a < b \le c`: each consecutive pair must hold.
    Rel(Vec<Expr>, Vec<Rel>),
    And(Vec<Cond>),
}

/// A derivative.
#[derive(Debug, Clone, PartialEq)]
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
    /// Written with an upright `d` (`\frac{dy}{dx}`): a total derivative, by which
    /// every quantity the note leaves undefined may vary with the variable (a
    /// partial derivative holds the other variables fixed).
    pub total: bool,
    /// Written with a prime at a symbol (`f'(c)`): the derivative evaluated there.
    pub prime: bool,
    /// `\nabla \cdot`, `\nabla \times` (`\operatorname{div}`, `\operatorname{curl}`): the
    /// divergence or the curl of a vector field, from its Jacobian by the variable.
    pub op: Option<VecOp>,
}

/// A derivative of a vector field other than its Jacobian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VecOp {
    /// The divergence: the trace of the Jacobian (a scalar).
    Div,
    /// The curl of a field of 3 components by a 3-vector (a 3-vector).
    Curl,
}

impl VecOp {
    /// The name in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            VecOp::Div => "divergence",
            VecOp::Curl => "curl",
        }
    }
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
            total: false,
            prime: false,
            op: None,
        }
    }
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
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
    /// Visits the direct sub-expressions, in order: a `cases` branch's value and
    /// then its condition's expressions; a derivative's operand. Every traversal of
    /// the tree goes through this (and [`Expr::map_children`], which rebuilds in
    /// the same order).
    pub(crate) fn for_each_child<'e>(&'e self, f: &mut dyn FnMut(&'e Expr)) {
        match self {
            Expr::Neg(a)
            | Expr::Post(a, _)
            | Expr::Norm(a, _)
            | Expr::Index(a, _)
            | Expr::Dots(a, _)
            | Expr::Col(a, _)
            | Expr::At(a, _, _) => f(a),
            Expr::Bin(_, a, b) | Expr::Pow(a, b) | Expr::Ind(a, _, b) => {
                f(a);
                f(b);
            }
            Expr::Call(_, args) | Expr::Apply(_, args) => args.iter().for_each(f),
            Expr::Sum { hi, body, .. } => {
                if let Some(h) = hi {
                    f(h);
                }
                f(body);
            }
            Expr::Matrix(rows) => rows.iter().flatten().for_each(f),
            Expr::Cases(_, brs) => {
                for (v, c) in brs {
                    f(v);
                    c.for_each_expr(f);
                }
            }
            Expr::Deriv(_, d) => f(&d.of),
            Expr::Num(_)
            | Expr::Var(_)
            | Expr::Ones(_)
            | Expr::Zeros(_)
            | Expr::Ident(_)
            | Expr::ZeroAny
            | Expr::DimVar(_)
            | Expr::IdxVal(..) => {}
        }
    }

    /// The direct sub-expressions (see [`Expr::for_each_child`]).
    pub(crate) fn children(&self) -> Vec<&Expr> {
        let mut out = Vec::new();
        self.for_each_child(&mut |c| out.push(c));
        out
    }

    /// Rebuilds the node with each direct sub-expression (those of
    /// [`Expr::for_each_child`], in that order) replaced by what `f` makes of it.
    pub(crate) fn map_children<E>(
        self,
        f: &mut dyn FnMut(Expr) -> Result<Expr, E>,
    ) -> Result<Expr, E> {
        Ok(match self {
            Expr::Neg(a) => Expr::Neg(f(*a)?.bx()),
            Expr::Post(a, p) => Expr::Post(f(*a)?.bx(), p),
            Expr::Norm(a, k) => Expr::Norm(f(*a)?.bx(), k),
            Expr::Index(a, i) => Expr::Index(f(*a)?.bx(), i),
            Expr::Dots(a, i) => Expr::Dots(f(*a)?.bx(), i),
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
            Expr::Matrix(rows) => Expr::Matrix(
                rows.into_iter()
                    .map(|r| r.into_iter().map(&mut *f).collect::<Result<Vec<_>, _>>())
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Cases(id, brs) => {
                let mut out = Vec::with_capacity(brs.len());
                for (v, c) in brs {
                    let v = f(v)?;
                    out.push((v, c.map_exprs(f)?));
                }
                Expr::Cases(id, out)
            }
            Expr::Deriv(id, d) => {
                let d = *d;
                Expr::Deriv(id, Box::new(Deriv { of: f(d.of)?, ..d }))
            }
            leaf @ (Expr::Num(_)
            | Expr::Var(_)
            | Expr::Ones(_)
            | Expr::Zeros(_)
            | Expr::Ident(_)
            | Expr::ZeroAny
            | Expr::DimVar(_)
            | Expr::IdxVal(..)) => leaf,
        })
    }

    /// Visits every sub-expression (pre-order).
    pub(crate) fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        self.for_each_child(&mut |c| c.walk(f));
    }

    /// Does `p` hold for some sub-expression (this one included)?
    pub(crate) fn any(&self, p: &dyn Fn(&Expr) -> bool) -> bool {
        if p(self) {
            return true;
        }
        let mut found = false;
        self.for_each_child(&mut |c| found = found || c.any(p));
        found
    }

    /// Is there a derivative in it?
    pub(crate) fn has_deriv(&self) -> bool {
        self.any(&|x| matches!(x, Expr::Deriv(..)))
    }

    /// Rebuilds the tree bottom-up through `f` (post-order); `f` may replace nodes.
    pub(crate) fn map(
        self,
        f: &mut dyn FnMut(Expr) -> Result<Expr, String>,
    ) -> Result<Expr, String> {
        let e = self.map_children(&mut |c| c.map(f))?;
        f(e)
    }

    /// [`Expr::map`] for a rewrite that cannot fail: bottom-up, each node replaced by
    /// what `f` makes of it.
    pub(crate) fn rewrite(self, f: &mut dyn FnMut(Expr) -> Expr) -> Expr {
        let e = self
            .map_children(&mut |c| Ok::<_, std::convert::Infallible>(c.rewrite(f)))
            .unwrap_or_else(|never| match never {});
        f(e)
    }
}

impl Cond {
    /// Visits the condition's expressions, in order.
    pub(crate) fn for_each_expr<'e>(&'e self, f: &mut dyn FnMut(&'e Expr)) {
        match self {
            Cond::Always => {}
            Cond::Rel(es, _) => es.iter().for_each(f),
            Cond::And(cs) => cs.iter().for_each(|c| c.for_each_expr(f)),
        }
    }

    /// Rebuilds the condition with each of its expressions replaced by what `f`
    /// makes of it.
    pub(crate) fn map_exprs<E>(
        self,
        f: &mut dyn FnMut(Expr) -> Result<Expr, E>,
    ) -> Result<Cond, E> {
        Ok(match self {
            Cond::Always => Cond::Always,
            Cond::Rel(es, rs) => {
                Cond::Rel(es.into_iter().map(&mut *f).collect::<Result<_, _>>()?, rs)
            }
            Cond::And(cs) => Cond::And(
                cs.into_iter()
                    .map(|c| c.map_exprs(f))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    /// Visits every sub-expression of every expression (pre-order).
    pub(crate) fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        self.for_each_expr(&mut |e| e.walk(f));
    }
}
