//! Kinds and shapes: symbolic dimensions, unified across the sides of an identity.
//!
//! Every value is a scalar or a matrix `r×c` (a column vector is `n×1`). Dimensions
//! are union-find classes: `1`, a literal size, or a free size. A free dimension that
//! belongs to a symbol is *rigid* when the sides of an identity are compared: the
//! comparison may not equate two different symbol dimensions (a `3×2` derivative is
//! not a `2×3` answer). Dimensions of `I`, `\vec{1}`, `\vec{0}` are *flexible* and
//! take whatever size the other side needs.

use std::collections::HashMap;

use super::notation::{DIM_LETTERS, Func, ShapeRule};
use super::syntax::{BinOp, Deriv, Expr, NormKind, PostOp, Sym, VecOp};
use super::{Layout, Otimes};

/// What a symbol stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Kind {
    Scalar,
    Vector,
    Matrix,
}

impl Kind {
    /// The kind as reports spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Scalar => "scalar",
            Kind::Vector => "vector",
            Kind::Matrix => "matrix",
        }
    }
}

pub(crate) type D = usize;
/// The dimension 1.
pub(crate) const ONE: D = 0;

/// The most terms a sum or product written with a numeric range may have: its range is
/// a size, and the checker's work grows with it (a budget, not a time limit, so verdicts
/// stay reproducible).
pub(crate) const MAX_TERMS: usize = 200;

/// The most entries a matrix written out may have (20 × 20): a derivative through it
/// costs about the fifth power of its side.
pub(crate) const MAX_ENTRIES: usize = 400;

/// Union-find over dimensions.
#[derive(Debug, Clone)]
pub(crate) struct Dims {
    parent: Vec<usize>,
    val: Vec<Option<usize>>,
    flex: Vec<bool>,
    /// A Kronecker product's dimension: the product of two others.
    prod: Vec<Option<(D, D)>>,
}

impl Dims {
    pub(crate) fn new() -> Dims {
        Dims {
            parent: vec![0],
            val: vec![Some(1)],
            flex: vec![false],
            prod: vec![None],
        }
    }
    pub(crate) fn fresh(&mut self, flex: bool) -> D {
        let k = self.parent.len();
        self.parent.push(k);
        self.val.push(None);
        self.flex.push(flex);
        self.prod.push(None);
        k
    }
    pub(crate) fn constant(&mut self, v: usize) -> D {
        if v == 1 {
            return ONE;
        }
        let k = self.fresh(false);
        self.val[k] = Some(v);
        k
    }
    pub(crate) fn find(&self, mut a: D) -> D {
        while self.parent[a] != a {
            a = self.parent[a];
        }
        a
    }
    pub(crate) fn is_one(&self, a: D) -> bool {
        let r = self.find(a);
        self.val[r] == Some(1)
    }
    /// Equates two dimensions. `strict`: two different rigid free dimensions may not
    /// be merged (used when comparing the sides of an identity).
    pub(crate) fn unify(&mut self, a: D, b: D, strict: bool) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return true;
        }
        if let (Some((a1, a2)), Some((b1, b2))) = (self.prod[ra], self.prod[rb]) {
            // two products: equal factors make equal products
            if !(self.unify(a1, b1, strict) && self.unify(a2, b2, strict)) {
                return false;
            }
            let (ra, rb) = (self.find(ra), self.find(rb));
            if ra != rb {
                self.parent[rb] = ra;
            }
            return true;
        }
        match (self.val[ra], self.val[rb]) {
            (Some(x), Some(y)) if x != y => return false,
            (Some(1), None) | (None, Some(1)) => return false,
            (Some(_), None) if strict && !self.flex[rb] => {
                return false;
            }
            (None, Some(_)) if strict && !self.flex[ra] => {
                return false;
            }
            (None, None) if strict && !self.flex[ra] && !self.flex[rb] => {
                return false;
            }
            _ => {}
        }
        self.parent[rb] = ra;
        self.val[ra] = self.val[ra].or(self.val[rb]);
        self.flex[ra] = self.flex[ra] && self.flex[rb];
        self.prod[ra] = self.prod[ra].or(self.prod[rb]);
        true
    }
    pub(crate) fn product(&mut self, a: D, b: D) -> D {
        if self.is_one(a) {
            return b;
        }
        if self.is_one(b) {
            return a;
        }
        let k = self.fresh(false);
        self.prod[k] = Some((a, b));
        k
    }
    /// Root classes that need a random size.
    pub(crate) fn free_roots(&self) -> Vec<D> {
        (0..self.parent.len())
            .filter(|&k| self.parent[k] == k && self.val[k].is_none() && self.prod[k].is_none())
            .collect()
    }
    pub(crate) fn len(&self) -> usize {
        self.parent.len()
    }
    /// The size of `d` given sizes for the free roots.
    pub(crate) fn size(&self, d: D, free: &HashMap<D, usize>) -> usize {
        self.size_rec(d, free, 0)
    }
    fn size_rec(&self, d: D, free: &HashMap<D, usize>, depth: u32) -> usize {
        let r = self.find(d);
        if let Some(v) = self.val[r] {
            return v;
        }
        if let Some((a, b)) = self.prod[r] {
            if depth > 20 {
                return 2;
            }
            return self.size_rec(a, free, depth + 1) * self.size_rec(b, free, depth + 1);
        }
        free.get(&r).copied().unwrap_or(2)
    }
}

/// A type: scalar, matrix `r×c`, or a zero of any shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    S,
    M(D, D),
    Any,
}

/// Why inference failed.
#[derive(Debug, Clone)]
pub(crate) enum TyErr {
    /// The dimensions do not fit (a matrix product, a sum of different shapes...).
    Dim(String),
    Unsupported(String),
}

type TResult = Result<Ty, TyErr>;

/// Inference state for one assignment of kinds.
#[derive(Debug, Clone)]
pub(crate) struct Infer {
    pub dims: Dims,
    pub syms: HashMap<String, Ty>,
    pub kinds: HashMap<String, Kind>,
    /// Sizes of `I`, `\vec 1`, `\vec 0` by node id.
    pub poly: HashMap<u32, D>,
    pub dimvars: HashMap<String, D>,
    /// Declared symbols' dimensions named by a dimension variable (see
    /// `Ident::dimnames`).
    pub dimnames: Vec<(String, Vec<Option<String>>)>,
    pub derivs: HashMap<u32, (Ty, Ty, Ty)>,
    pub layout: Layout,
    pub otimes: Otimes,
    scope: Vec<(String, D)>,
    /// Dimension classes first seen with a symbol, to name them in messages.
    pub names: HashMap<D, String>,
    /// Free indices of the identity and the dimension they range over.
    pub free: Vec<(String, D)>,
    /// `exp` of a square matrix was read as the matrix exponential.
    pub expm: bool,
    /// Sums of a letter read as a scalar and an array (`A x - b` with `b` a
    /// number): a reading that needs none is the likelier one.
    pub broadcasts: usize,
}

impl Infer {
    pub(crate) fn new(kinds: HashMap<String, Kind>, layout: Layout, otimes: Otimes) -> Infer {
        Infer {
            dims: Dims::new(),
            syms: HashMap::new(),
            kinds,
            poly: HashMap::new(),
            dimvars: HashMap::new(),
            dimnames: Vec::new(),
            derivs: HashMap::new(),
            layout,
            otimes,
            scope: Vec::new(),
            names: HashMap::new(),
            free: Vec::new(),
            expm: false,
            broadcasts: 0,
        }
    }

    /// Binds the identity's free indices (each ranges over a fresh dimension).
    pub(crate) fn bind_free(&mut self, names: &[String]) {
        for n in names {
            let d = self.dims.fresh(false);
            self.scope.push((n.clone(), d));
            self.free.push((n.clone(), d));
        }
    }

    pub(crate) fn norm(&self, t: Ty) -> Ty {
        match t {
            Ty::M(r, c) if self.dims.is_one(r) && self.dims.is_one(c) => Ty::S,
            t => t,
        }
    }

    pub(crate) fn sym_ty(&mut self, s: &Sym) -> Ty {
        let key = s.key();
        if let Some(t) = self.syms.get(&key) {
            return *t;
        }
        let kind = self.kinds.get(&key).copied().unwrap_or(Kind::Scalar);
        let t = match kind {
            Kind::Scalar => Ty::S,
            Kind::Vector => {
                let n = self.dims.fresh(false);
                self.names
                    .entry(n)
                    .or_insert_with(|| format!("len({})", s.show()));
                Ty::M(n, ONE)
            }
            Kind::Matrix => {
                let r = self.dims.fresh(false);
                let c = self.dims.fresh(false);
                self.names
                    .entry(r)
                    .or_insert_with(|| format!("rows({})", s.show()));
                self.names
                    .entry(c)
                    .or_insert_with(|| format!("cols({})", s.show()));
                Ty::M(r, c)
            }
        };
        // dimensions named by a letter used as a value: that letter's size
        if let Some((_, names)) = self.dimnames.iter().find(|(k, _)| *k == key) {
            let dims = match t {
                Ty::M(r, c) if c == ONE && names.len() == 1 => vec![r],
                Ty::M(r, c) if c != ONE && names.len() == 2 => vec![r, c],
                _ => Vec::new(),
            };
            let names = names.clone();
            for (d, n) in dims.into_iter().zip(names) {
                if let Some(n) = n {
                    let v = match self.dimvars.get(&n) {
                        Some(&v) => v,
                        None => {
                            let v = self.dims.fresh(false);
                            self.dimvars.insert(n, v);
                            v
                        }
                    };
                    self.dims.unify(d, v, false);
                }
            }
        }
        self.syms.insert(key, t);
        t
    }

    /// `r×c` with symbolic names, e.g. `n×1`.
    pub(crate) fn show(&self, t: Ty) -> String {
        match self.norm(t) {
            Ty::S => "scalar".into(),
            Ty::Any => "zero".into(),
            Ty::M(r, c) => format!("{}×{}", self.show_dim(r), self.show_dim(c)),
        }
    }
    fn show_dim(&self, d: D) -> String {
        let r = self.dims.find(d);
        if let Some(v) = self.dims.val[r] {
            return v.to_string();
        }
        let letters = DIM_LETTERS;
        let mut roots: Vec<D> = (0..self.dims.len())
            .filter(|&k| self.dims.find(k) == k && self.dims.val[k].is_none())
            .collect();
        roots.sort_unstable();
        let i = roots.iter().position(|&x| x == r).unwrap_or(0);
        letters
            .get(i)
            .map_or_else(|| format!("d{i}"), |s| (*s).to_string())
    }
    /// `r×c` with concrete sizes.
    pub(crate) fn show_sized(&self, t: Ty, free: &HashMap<D, usize>) -> String {
        match self.norm(t) {
            Ty::S => "a scalar".into(),
            Ty::Any => "zero".into(),
            Ty::M(r, c) => format!("{}×{}", self.dims.size(r, free), self.dims.size(c, free)),
        }
    }

    fn unify_dims(&mut self, a: D, b: D, what: &str, ta: Ty, tb: Ty) -> Result<(), TyErr> {
        if self.dims.unify(a, b, false) {
            Ok(())
        } else {
            Err(TyErr::Dim(format!(
                "{what}: {} and {} do not fit",
                self.show(ta),
                self.show(tb)
            )))
        }
    }

    /// Gives `a` and `b` the same shape (no broadcast); false if they cannot have it.
    pub(crate) fn same_shape(&mut self, a: Ty, b: Ty) -> bool {
        match (self.norm(a), self.norm(b)) {
            (Ty::Any, _) | (_, Ty::Any) | (Ty::S, Ty::S) => true,
            (Ty::M(r1, c1), Ty::M(r2, c2)) => {
                self.dims.unify(r1, r2, false) && self.dims.unify(c1, c2, false)
            }
            _ => false,
        }
    }

    /// Same shape (for `+`, `\odot`, cases branches), with scalar broadcast.
    fn same(&mut self, a: Ty, b: Ty, what: &str) -> TResult {
        let (a, b) = (self.norm(a), self.norm(b));
        Ok(match (a, b) {
            (Ty::Any, x) | (x, Ty::Any) => x,
            (Ty::S, Ty::S) => Ty::S,
            (Ty::S, m) | (m, Ty::S) => m,
            (Ty::M(r1, c1), Ty::M(r2, c2)) => {
                if !(self.dims.unify(r1, r2, false) && self.dims.unify(c1, c2, false)) {
                    return Err(TyErr::Dim(format!(
                        "{what} of a {} and a {}",
                        self.show(a),
                        self.show(b)
                    )));
                }
                Ty::M(r1, c1)
            }
        })
    }

    pub(crate) fn matmul(&mut self, a: Ty, b: Ty) -> TResult {
        let (a, b) = (self.norm(a), self.norm(b));
        Ok(match (a, b) {
            (Ty::Any, _) | (_, Ty::Any) => Ty::Any,
            (Ty::S, x) | (x, Ty::S) => x,
            (Ty::M(r1, c1), Ty::M(r2, c2)) => {
                if !self.dims.unify(c1, r2, false) {
                    return Err(TyErr::Dim(format!(
                        "cannot multiply a {} by a {}",
                        self.show(a),
                        self.show(b)
                    )));
                }
                self.norm(Ty::M(r1, c2))
            }
        })
    }

    fn is_vec(&self, t: Ty) -> Option<D> {
        match t {
            Ty::M(r, c) if self.dims.is_one(c) && !self.dims.is_one(r) => Some(r),
            Ty::M(r, c) if self.dims.is_one(r) && !self.dims.is_one(c) => Some(c),
            _ => None,
        }
    }

    fn scalar(&mut self, e: &Expr, what: &str) -> Result<(), TyErr> {
        let t = self.infer(e)?;
        match self.norm(t) {
            Ty::S | Ty::Any => Ok(()),
            t => Err(TyErr::Dim(format!(
                "{what} must be a scalar, not a {}",
                self.show(t)
            ))),
        }
    }

    fn range_of(&mut self, hi: &Option<Box<Expr>>, lo: i64) -> Result<D, TyErr> {
        let r = self.dims.fresh(false);
        match hi.as_deref() {
            None => {}
            Some(Expr::Num(k)) => {
                let n = (*k as i64) - lo + 1;
                if n < 1 || k.fract() != 0.0 {
                    return Err(TyErr::Unsupported("a sum with an empty range".into()));
                }
                if n > MAX_TERMS as i64 {
                    return Err(TyErr::Unsupported(format!(
                        "too costly to evaluate: a sum or product of {n} terms (at most {MAX_TERMS} are evaluated)"
                    )));
                }
                let c = self.dims.constant(n as usize);
                self.dims.unify(r, c, false);
            }
            Some(Expr::DimVar(n)) if lo == 1 => {
                let d = *self.dimvars.entry(n.clone()).or_insert(r);
                self.dims.unify(r, d, false);
            }
            Some(Expr::Bin(BinOp::Sub, a, b))
                if lo == 0 && matches!(b.as_ref(), Expr::Num(x) if *x == 1.0) =>
            {
                if let Expr::DimVar(n) = a.as_ref() {
                    let d = *self.dimvars.entry(n.clone()).or_insert(r);
                    self.dims.unify(r, d, false);
                } else {
                    return Err(TyErr::Unsupported("this sum's upper limit".into()));
                }
            }
            Some(_) => return Err(TyErr::Unsupported("this sum's limits".into())),
        }
        Ok(r)
    }

    pub(crate) fn infer(&mut self, e: &Expr) -> TResult {
        let t = self.infer_inner(e)?;
        Ok(self.norm(t))
    }

    fn infer_inner(&mut self, e: &Expr) -> TResult {
        match e {
            Expr::Num(_) | Expr::IdxVal(..) => Ok(Ty::S),
            Expr::DimVar(n) => {
                if !self.dimvars.contains_key(n) {
                    let d = self.dims.fresh(false);
                    self.dimvars.insert(n.clone(), d);
                }
                Ok(Ty::S)
            }
            Expr::Var(s) => Ok(self.sym_ty(s)),
            Expr::Ones(id) | Expr::Zeros(id) => {
                let d = *self.poly.entry(*id).or_insert(0);
                let d = if d == 0 {
                    let d = self.dims.fresh(true);
                    self.poly.insert(*id, d);
                    d
                } else {
                    d
                };
                Ok(Ty::M(d, ONE))
            }
            Expr::Ident(id) => {
                let d = match self.poly.get(id) {
                    Some(&d) => d,
                    None => {
                        let d = self.dims.fresh(true);
                        self.poly.insert(*id, d);
                        d
                    }
                };
                Ok(Ty::M(d, d))
            }
            Expr::ZeroAny => Ok(Ty::Any),
            Expr::At(a, _, n) => {
                let ta = self.infer(a)?;
                match (ta, self.is_vec(ta)) {
                    (Ty::M(..), Some(d)) => {
                        let c = self.dims.constant(*n);
                        self.unify_dims(d, c, "the components of a vector", ta, ta)?;
                        Ok(Ty::S)
                    }
                    _ => Err(TyErr::Dim(format!("a component of a {}", self.show(ta)))),
                }
            }
            Expr::Ind(a, _, b) => {
                let ta = self.infer(a)?;
                let tb = self.infer(b)?;
                match self.same(ta, tb, "a comparison")? {
                    Ty::Any => Ok(Ty::S),
                    t => Ok(t),
                }
            }
            Expr::Neg(a) => self.infer(a),
            Expr::Bin(op, a, b) => self.bin(*op, a, b),
            Expr::Pow(a, b) => self.pow(a, b),
            Expr::Post(a, op) => {
                let ta = self.infer(a)?;
                match (ta, op) {
                    (Ty::S | Ty::Any, _) => Ok(ta),
                    (Ty::M(r, c), PostOp::Transpose) => Ok(Ty::M(c, r)),
                    (Ty::M(r, c), _) => {
                        if !self.dims.unify(r, c, false) {
                            return Err(TyErr::Dim(format!("cannot invert a {}", self.show(ta))));
                        }
                        Ok(Ty::M(r, r))
                    }
                }
            }
            Expr::Call(f, args) => self.call(*f, args),
            Expr::Apply(name, _) => Err(TyErr::Unsupported(format!(
                "abstract function {}",
                name.trim_start_matches('\\')
            ))),
            Expr::Norm(a, k) => self.norm_ty(a, *k),
            Expr::Sum {
                idx,
                lo,
                hi,
                body,
                prod,
            } => self.sum(idx, *lo, hi, body, *prod),
            Expr::Index(a, idxs) => self.index(a, idxs),
            Expr::Col(a, i) => {
                let ta = self.infer(a)?;
                let Some(&(_, d)) = self.scope.iter().rev().find(|(n, _)| n == i) else {
                    return Err(TyErr::Unsupported(format!(
                        "the index {i} is not bound by a sum"
                    )));
                };
                match ta {
                    Ty::M(r, c) => {
                        self.unify_dims(c, d, "an index range", ta, ta)?;
                        Ok(self.norm(Ty::M(r, ONE)))
                    }
                    _ => Err(TyErr::Dim(format!("a column of a {}", self.show(ta)))),
                }
            }
            Expr::Dots(body, idx) => {
                let r = self.dims.fresh(false);
                self.scope.push((idx.clone(), r));
                let t = self.scalar(body, "an entry in `\\dots`");
                self.scope.pop();
                t?;
                Ok(Ty::M(r, ONE))
            }
            Expr::Matrix(rows) => {
                let entries: usize = rows.iter().map(Vec::len).sum();
                if entries > MAX_ENTRIES {
                    return Err(TyErr::Unsupported(format!(
                        "too costly to evaluate: a matrix written out with {entries} entries (at most {MAX_ENTRIES} are evaluated)"
                    )));
                }
                for row in rows {
                    for x in row {
                        let t = self.infer(x)?;
                        if !matches!(t, Ty::S | Ty::Any) {
                            return Err(TyErr::Unsupported("a block matrix".into()));
                        }
                    }
                }
                let r = self.dims.constant(rows.len());
                let c = self.dims.constant(rows.first().map_or(1, Vec::len));
                Ok(Ty::M(r, c))
            }
            Expr::Cases(_, brs) => {
                let mut t = Ty::Any;
                for (v, c) in brs {
                    let tv = self.infer(v)?;
                    t = self.same(t, tv, "the branches of cases")?;
                    let mut err = None;
                    self.cond(c, &mut err)?;
                }
                Ok(t)
            }
            Expr::Deriv(id, d) => self.deriv(*id, d),
        }
    }

    /// A binary operation: sums, products (matrix, dot, element-wise, Kronecker), division.
    fn bin(&mut self, op: BinOp, a: &Expr, b: &Expr) -> TResult {
        let ta = self.infer(a)?;
        let tb = self.infer(b)?;
        match op {
            BinOp::Add | BinOp::Sub => {
                let letter = |e: &Expr| e.any(&|x| matches!(x, Expr::Var(_)));
                match (self.norm(ta), self.norm(tb)) {
                    (Ty::S, Ty::M(..)) if letter(a) => self.broadcasts += 1,
                    (Ty::M(..), Ty::S) if letter(b) => self.broadcasts += 1,
                    _ => {}
                }
                self.same(ta, tb, "a sum")
            }
            BinOp::Mul => self.matmul(ta, tb),
            BinOp::Cross => {
                // between two columns the cross product: both (and it) 3×1
                if let (Ty::M(r1, c1), Ty::M(r2, c2)) = (ta, tb)
                    && self.dims.is_one(c1)
                    && self.dims.is_one(c2)
                    && !self.dims.is_one(r1)
                    && !self.dims.is_one(r2)
                {
                    let three = self.dims.constant(3);
                    if !(self.dims.unify(r1, three, false) && self.dims.unify(r2, three, false)) {
                        // (a "cross product" of plane vectors is a scalar to some writers)
                        return Err(TyErr::Unsupported(format!(
                            "a cross product of a {} and a {} (only 3-vectors have one)",
                            self.show(ta),
                            self.show(tb)
                        )));
                    }
                    return Ok(Ty::M(r1, ONE));
                }
                self.matmul(ta, tb)
            }
            BinOp::Dot => {
                if let (Ty::M(r1, c1), Ty::M(r2, c2)) = (ta, tb) {
                    let col = self.dims.is_one(c1) && self.dims.is_one(c2);
                    let row = self.dims.is_one(r1) && self.dims.is_one(r2);
                    if col || row {
                        let (d1, d2) = if col { (r1, r2) } else { (c1, c2) };
                        self.unify_dims(d1, d2, "a dot product", ta, tb)?;
                        return Ok(Ty::S);
                    }
                }
                self.matmul(ta, tb)
            }
            BinOp::Had | BinOp::Oslash => self.same(ta, tb, "an element-wise product"),
            BinOp::Kron => match self.otimes {
                Otimes::ElementWise => self.same(ta, tb, "an element-wise product"),
                Otimes::Kronecker => Ok(match (ta, tb) {
                    (Ty::Any, _) | (_, Ty::Any) => Ty::Any,
                    (Ty::S, x) | (x, Ty::S) => x,
                    (Ty::M(r1, c1), Ty::M(r2, c2)) => {
                        let r = self.dims.product(r1, r2);
                        let c = self.dims.product(c1, c2);
                        Ty::M(r, c)
                    }
                }),
            },
            BinOp::Div => match (ta, tb) {
                (x, Ty::S) => Ok(x),
                (_, Ty::Any) => Err(TyErr::Dim("division by zero".into())),
                _ => self.same(ta, tb, "an element-wise division"),
            },
        }
    }

    /// `a^b`: a scalar exponent; element-wise on vectors, a matrix power of a square matrix.
    fn pow(&mut self, a: &Expr, b: &Expr) -> TResult {
        let ta = self.infer(a)?;
        let tb = self.infer(b)?;
        if !matches!(tb, Ty::S) {
            return Err(TyErr::Dim(format!(
                "an exponent must be a scalar, not a {}",
                self.show(tb)
            )));
        }
        match ta {
            Ty::S | Ty::Any => Ok(ta),
            Ty::M(r, c) => {
                if self.is_vec(ta).is_some() {
                    return Ok(ta);
                }
                if !int_exponent(b) {
                    return Err(TyErr::Unsupported("a matrix to a non-integer power".into()));
                }
                self.unify_dims(r, c, "a matrix power needs a square matrix", ta, ta)?;
                Ok(Ty::M(r, r))
            }
        }
    }

    /// A norm: a scalar (of a matrix only the Frobenius norm).
    fn norm_ty(&mut self, a: &Expr, k: NormKind) -> TResult {
        let ta = self.infer(a)?;
        match ta {
            Ty::S | Ty::Any => Ok(Ty::S),
            Ty::M(..) if self.is_vec(ta).is_some() => Ok(Ty::S),
            Ty::M(..) => match k {
                NormKind::Plain | NormKind::Fro => Ok(Ty::S),
                _ => Err(TyErr::Unsupported(
                    "an induced matrix norm (only the Frobenius norm is supported)".into(),
                )),
            },
        }
    }

    /// `\sum` / `\prod` over an index: the body with the index bound to a range.
    fn sum(
        &mut self,
        idx: &str,
        lo: i64,
        hi: &Option<Box<Expr>>,
        body: &Expr,
        prod: bool,
    ) -> TResult {
        let r = self.range_of(hi, lo)?;
        self.scope.push((idx.to_string(), r));
        let t = self.infer(body);
        self.scope.pop();
        let t = t?;
        if prod && !matches!(self.norm(t), Ty::S | Ty::Any) {
            return Err(TyErr::Unsupported(format!(
                "a product `\\prod` of a {} (only scalars are multiplied)",
                self.show(t)
            )));
        }
        Ok(t)
    }

    /// An entry at indices bound by sums.
    fn index(&mut self, a: &Expr, idxs: &[String]) -> TResult {
        let ta = self.infer(a)?;
        let mut ranges = Vec::new();
        for i in idxs {
            match self.scope.iter().rev().find(|(n, _)| n == i) {
                Some((_, d)) => ranges.push(*d),
                None => {
                    return Err(TyErr::Unsupported(format!(
                        "the index {i} is not bound by a sum"
                    )));
                }
            }
        }
        match (ta, ranges.as_slice()) {
            (Ty::M(r, c), [d]) => {
                let n = if self.dims.is_one(c) {
                    r
                } else if self.dims.is_one(r) {
                    c
                } else {
                    return Err(TyErr::Dim(format!("one index into a {}", self.show(ta))));
                };
                self.unify_dims(n, *d, "an index range", ta, ta)?;
                Ok(Ty::S)
            }
            (Ty::M(r, c), [d1, d2]) => {
                self.unify_dims(r, *d1, "an index range", ta, ta)?;
                self.unify_dims(c, *d2, "an index range", ta, ta)?;
                Ok(Ty::S)
            }
            _ => Err(TyErr::Dim(format!("an entry of a {}", self.show(ta)))),
        }
    }

    /// A derivative: its shape in the layout (by an entry, by `vec(X)`, a gradient by a matrix).
    fn deriv(&mut self, id: u32, d: &Deriv) -> TResult {
        let of = self.infer(&d.of)?;
        let mut wrt = self.sym_ty(&d.wrt);
        if let Some(op) = d.op {
            return self.vector_op(op, of, wrt);
        }
        if let Some(i) = &d.entry {
            // by entry i of a vector: like a scalar
            let Some(&(_, r)) = self.scope.iter().rev().find(|(n, _)| n == i) else {
                return Err(TyErr::Unsupported(format!("the index {i} is not bound")));
            };
            match self.is_vec(wrt) {
                Some(n) => self.unify_dims(n, r, "an index range", wrt, wrt)?,
                None => {
                    return Err(TyErr::Dim(format!("a component of a {}", self.show(wrt))));
                }
            }
            wrt = Ty::S;
        }
        if d.vec {
            // by vec(X): a column of X's entries (column-major: the
            // column index is the outer one, as in a Kronecker product)
            if let Ty::M(r, c) = self.norm(wrt) {
                wrt = Ty::M(self.dims.product(c, r), ONE);
            }
            if let Ty::M(r, c) = self.norm(of)
                && !self.dims.is_one(c)
            {
                return Err(TyErr::Unsupported(format!(
                    "the derivative of a {} by vec({}) (write vec of it)",
                    self.show(Ty::M(r, c)),
                    d.wrt.show()
                )));
            }
        }
        let mut t = self.deriv_ty(of, wrt)?;
        // `\nabla_X f` of a matrix is the gradient: the shape of X in either
        // layout
        if d.nabla
            && matches!(self.norm(of), Ty::S)
            && let Ty::M(r, c) = self.norm(wrt)
            && !self.dims.is_one(r)
            && !self.dims.is_one(c)
        {
            t = Ty::M(r, c);
        }
        self.derivs.insert(id, (of, wrt, t));
        Ok(t)
    }

    /// The divergence (a scalar) or the curl (a 3-vector) of a vector field `of` (a
    /// column, or a row: a gradient in numerator layout) by a vector `wrt` with as
    /// many components.
    fn vector_op(&mut self, op: VecOp, of: Ty, wrt: Ty) -> TResult {
        let (of, wrt) = (self.norm(of), self.norm(wrt));
        let (Some(m), Some(n)) = (self.is_vec(of), self.is_vec(wrt)) else {
            if matches!(of, Ty::Any) {
                return Ok(match op {
                    VecOp::Div => Ty::S,
                    VecOp::Curl => Ty::Any,
                });
            }
            return Err(TyErr::Dim(format!(
                "the {} of a {} by a {} (it takes a vector field of a vector)",
                op.name(),
                self.show(of),
                self.show(wrt)
            )));
        };
        self.unify_dims(m, n, "a field and its variable", of, wrt)?;
        match op {
            VecOp::Div => Ok(Ty::S),
            VecOp::Curl => {
                let three = self.dims.constant(3);
                if !self.dims.unify(n, three, false) {
                    return Err(TyErr::Unsupported(format!(
                        "the curl of a field with {} components (only 3-vectors have a curl)",
                        self.show_dim(n)
                    )));
                }
                Ok(Ty::M(n, ONE))
            }
        }
    }

    fn cond(&mut self, c: &super::syntax::Cond, _err: &mut Option<TyErr>) -> Result<(), TyErr> {
        match c {
            super::syntax::Cond::Always => Ok(()),
            super::syntax::Cond::Rel(es, _) => {
                let mut ts = Vec::new();
                for e in es {
                    ts.push(self.infer(e)?);
                }
                // element-wise comparisons between equal shapes are allowed
                let mut t = Ty::Any;
                for x in ts {
                    t = self.same(t, x, "a condition")?;
                }
                Ok(())
            }
            super::syntax::Cond::And(cs) => {
                for c in cs {
                    self.cond(c, _err)?;
                }
                Ok(())
            }
        }
    }

    /// The shape of d(of)/d(wrt) in the layout.
    pub(crate) fn deriv_ty(&mut self, of: Ty, wrt: Ty) -> TResult {
        let num = self.layout == Layout::Numerator;
        let (of, wrt) = (self.norm(of), self.norm(wrt));
        Ok(match (of, wrt) {
            (Ty::Any, _) => Ty::Any,
            (_, Ty::Any) => return Err(TyErr::Unsupported("a derivative by zero".into())),
            (Ty::S, Ty::S) => Ty::S,
            (Ty::S, Ty::M(r, c)) => {
                if num {
                    Ty::M(c, r)
                } else {
                    Ty::M(r, c)
                }
            }
            (Ty::M(r, c), Ty::S) => {
                if !num && self.dims.is_one(c) {
                    Ty::M(c, r)
                } else {
                    Ty::M(r, c)
                }
            }
            // a row vector by a vector is read as its column (`\frac{\partial
            // \mathbf{x}^T A}{\partial \mathbf{x}} = A^T` in numerator layout, as tables write it)
            (Ty::M(..), Ty::M(..)) => {
                let (Some(m), Some(n)) = (self.is_vec(of), self.is_vec(wrt)) else {
                    return Err(TyErr::Unsupported(format!(
                        "the derivative of a {} by a {} is a 3- or 4-dimensional array",
                        self.show(of),
                        self.show(wrt)
                    )));
                };
                if num { Ty::M(m, n) } else { Ty::M(n, m) }
            }
        })
    }

    fn call(&mut self, f: Func, args: &[Expr]) -> TResult {
        let mut ts = Vec::new();
        for a in args {
            ts.push(self.infer(a)?);
        }
        let t = ts.first().copied().unwrap_or(Ty::S);
        match f.info().shape {
            ShapeRule::ElementWisePair => {
                let b = ts.get(1).copied().unwrap_or(Ty::S);
                self.same(t, b, "max")
            }
            ShapeRule::SumToScalar => Ok(Ty::S),
            // column-major: the column index is the outer one, as in `B^T \otimes A`
            ShapeRule::StackColumns => match self.norm(t) {
                Ty::M(r, c) => Ok(Ty::M(self.dims.product(c, r), ONE)),
                other => Ok(other),
            },
            ShapeRule::VectorToVector => match t {
                Ty::M(..) if self.is_vec(t).is_some() => Ok(t),
                _ => Err(TyErr::Dim(format!("{} of a {}", f.name(), self.show(t)))),
            },
            ShapeRule::Diagonal => match t {
                Ty::M(..) => match self.is_vec(t) {
                    Some(n) => Ok(Ty::M(n, n)),
                    // diag of a square matrix: its diagonal as a vector
                    None => match t {
                        Ty::M(r, c) if self.dims.unify(r, c, false) => Ok(Ty::M(r, ONE)),
                        _ => Err(TyErr::Dim(format!(
                            "diag of a {} (diag takes a vector or a square matrix)",
                            self.show(t)
                        ))),
                    },
                },
                Ty::S => Err(TyErr::Dim("diag of a scalar".into())),
                Ty::Any => Err(TyErr::Unsupported("diag of zero".into())),
            },
            ShapeRule::SquareToScalar => match t {
                Ty::S | Ty::Any => Ok(Ty::S),
                Ty::M(r, c) => {
                    if !self.dims.unify(r, c, false) {
                        return Err(TyErr::Dim(format!(
                            "{} of a non-square {}",
                            f.name(),
                            self.show(t)
                        )));
                    }
                    Ok(Ty::S)
                }
            },
            ShapeRule::EntriesOrDeterminant => match t {
                // |X| of a matrix: its determinant
                Ty::M(r, c) if self.is_vec(t).is_none() => {
                    if !self.dims.unify(r, c, false) {
                        return Err(TyErr::Dim(format!(
                            "|X| (determinant) of a non-square {}",
                            self.show(t)
                        )));
                    }
                    Ok(Ty::S)
                }
                _ => Ok(t),
            },
            ShapeRule::ElementWiseNoMatrix => match t {
                Ty::M(..) if self.is_vec(t).is_none() => Err(TyErr::Unsupported(format!(
                    "`{}` of a matrix (element-wise or the matrix function?)",
                    f.name()
                ))),
                _ => Ok(t),
            },
            ShapeRule::MatrixFunction => match t {
                Ty::M(r, c) if self.is_vec(t).is_none() => {
                    if self.known_non_square(r, c) {
                        // a declared m×n matrix: only the entry-wise reading fits
                        return Ok(t);
                    }
                    if !self.dims.unify(r, c, false) {
                        return Err(TyErr::Unsupported(format!(
                            "`{}` of a non-square {} (element-wise?)",
                            f.name(),
                            self.show(t)
                        )));
                    }
                    self.expm = true;
                    Ok(Ty::M(r, r))
                }
                _ => Ok(t),
            },
            ShapeRule::ElementWise => Ok(t),
        }
    }

    /// Are the dimensions `r` and `c` known to differ: two different sizes, or two
    /// different letters of a declaration (`X \in \mathbb{R}^{m \times n}`)?
    fn known_non_square(&self, r: D, c: D) -> bool {
        let (rr, rc) = (self.dims.find(r), self.dims.find(c));
        if rr == rc {
            return false;
        }
        if let (Some(a), Some(b)) = (self.dims.val[rr], self.dims.val[rc]) {
            return a != b;
        }
        let named = |d: D| self.dimvars.values().any(|&v| self.dims.find(v) == d);
        named(rr) && named(rc)
    }
}

fn int_exponent(e: &Expr) -> bool {
    match e {
        Expr::Num(x) => x.fract() == 0.0,
        Expr::Neg(a) => int_exponent(a),
        _ => false,
    }
}
