//! Evaluation over a generic scalar: `f64` for values, `num_dual::Dual64` for exact
//! forward-mode derivatives (one pass per entry of the differentiation variable).
//!
//! Evaluation records how close the point is to a kink (`max`, `relu`, `|.|`, a
//! `cases` boundary) and which `cases` branch was taken, and reports domain problems
//! (logarithm of a non-positive value, singular matrix, ...) so the sampler can
//! resample.

use std::collections::HashMap;

use nalgebra::{DMatrix, RealField};
use num_dual::Dual64;

use super::Otimes;
use super::notation::{Domain, Func, ShapeRule, elementwise};
use super::syntax::{BinOp, Cond, Deriv, Expr, NormKind, PostOp, Rel};

/// Inverting a matrix whose condition number exceeds this is a domain problem (the
/// point is resampled): the result would carry too much rounding error for the
/// 1e-6 comparison.
const MAX_INV_COND: f64 = 1e6;

/// The scalar types the evaluator runs on.
pub(crate) trait Num: RealField + Copy {
    /// The real part (the value without derivative).
    fn re(&self) -> f64;
    /// A constant.
    fn c(x: f64) -> Self;
    /// The error function.
    fn erf(&self) -> Self;
}

/// The error function of a real number, to about 1e-15: `2/√π e^{-x²} Σ 2ⁿ
/// x^{2n+1} / (1·3···(2n+1))` (positive terms, no cancellation); ±1 beyond |x| = 6.
fn erf_f64(x: f64) -> f64 {
    if !x.is_finite() {
        return if x.is_nan() { x } else { x.signum() };
    }
    let a = x.abs();
    if a > 6.0 {
        return x.signum();
    }
    let mut term = a;
    let mut sum = a;
    let mut n = 0.0;
    while n < 400.0 {
        n += 1.0;
        term *= 2.0 * a * a / (2.0 * n + 1.0);
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    let v = 2.0 / std::f64::consts::PI.sqrt() * (-a * a).exp() * sum;
    v.min(1.0) * x.signum()
}

impl Num for f64 {
    fn re(&self) -> f64 {
        *self
    }
    fn c(x: f64) -> f64 {
        x
    }
    fn erf(&self) -> f64 {
        erf_f64(*self)
    }
}

impl Num for Dual64 {
    fn re(&self) -> f64 {
        self.re
    }
    fn c(x: f64) -> Self {
        Dual64::from_re(x)
    }
    fn erf(&self) -> Self {
        let d = 2.0 / std::f64::consts::PI.sqrt() * (-self.re * self.re).exp();
        Dual64::new(erf_f64(self.re), self.eps * d)
    }
}

/// A value: scalar, matrix (vectors are `n×1`), or a zero of any shape.
#[derive(Debug, Clone)]
pub(crate) enum Val<T: Num> {
    S(T),
    M(DMatrix<T>),
    Zero,
}

impl<T: Num> Val<T> {
    pub(crate) fn shape(&self) -> Option<(usize, usize)> {
        match self {
            Val::S(_) => Some((1, 1)),
            Val::M(m) => Some((m.nrows(), m.ncols())),
            Val::Zero => None,
        }
    }
    pub(crate) fn re(&self) -> Val<f64> {
        match self {
            Val::S(x) => Val::S(x.re()),
            Val::M(m) => Val::M(m.map(|v| v.re())),
            Val::Zero => Val::Zero,
        }
    }
}

/// Normalises a 1×1 matrix to a scalar.
fn norm<T: Num>(m: DMatrix<T>) -> Val<T> {
    if m.nrows() == 1 && m.ncols() == 1 {
        Val::S(m[(0, 0)])
    } else {
        Val::M(m)
    }
}

pub(crate) fn lift<T: Num>(v: &Val<f64>) -> Val<T> {
    match v {
        Val::S(x) => Val::S(T::c(*x)),
        Val::M(m) => Val::M(m.map(T::c)),
        Val::Zero => Val::Zero,
    }
}

/// Why a point could not be evaluated.
#[derive(Debug, Clone)]
pub(crate) enum EvalErr {
    /// Outside the domain (log of a non-positive value...): the symbols involved.
    Domain(String, Vec<String>),
    /// No `cases` branch holds.
    NoBranch,
    Shape(String),
    Unsupported(String),
}

type R<T> = Result<Val<T>, EvalErr>;

/// Evaluation context.
pub(crate) struct Cx<'a, T: Num> {
    pub vals: &'a HashMap<String, Val<T>>,
    pub poly: &'a HashMap<u32, usize>,
    pub dimvars: &'a HashMap<String, usize>,
    pub derivs: &'a HashMap<u32, Val<f64>>,
    pub otimes: Otimes,
    pub idx: Vec<(String, usize)>,
    /// The smallest distance to a kink seen so far (relative).
    pub kink: f64,
    /// `cases` branches taken: (cases id, branch index).
    pub taken: Vec<(u32, usize)>,
}

impl<'a, T: Num> Cx<'a, T> {
    pub(crate) fn new(
        vals: &'a HashMap<String, Val<T>>,
        poly: &'a HashMap<u32, usize>,
        dimvars: &'a HashMap<String, usize>,
        derivs: &'a HashMap<u32, Val<f64>>,
        otimes: Otimes,
    ) -> Self {
        Cx {
            vals,
            poly,
            dimvars,
            derivs,
            otimes,
            idx: Vec::new(),
            kink: f64::INFINITY,
            taken: Vec::new(),
        }
    }
    fn near(&mut self, a: f64, b: f64) {
        let d = (a - b).abs() / 1f64.max(a.abs()).max(b.abs());
        if d < self.kink {
            self.kink = d;
        }
    }
}

fn syms_of(e: &Expr) -> Vec<String> {
    let mut v = Vec::new();
    e.walk(&mut |x| {
        if let Expr::Var(s) = x {
            let k = s.key();
            if !v.contains(&k) {
                v.push(k);
            }
        }
        if let Expr::Index(b, _) | Expr::At(b, _, _) | Expr::Col(b, _) = x
            && let Expr::Var(s) = b.as_ref()
        {
            let k = s.key();
            if !v.contains(&k) {
                v.push(k);
            }
        }
    });
    v
}

fn domain<T: Num>(what: &str, e: &Expr) -> R<T> {
    Err(EvalErr::Domain(what.to_string(), syms_of(e)))
}

fn shape_err<T: Num>(what: &str, a: &Val<T>, b: &Val<T>) -> R<T> {
    let s = |v: &Val<T>| match v.shape() {
        Some((r, c)) => format!("{r}×{c}"),
        None => "zero".into(),
    };
    Err(EvalErr::Shape(format!("{what}: {} and {}", s(a), s(b))))
}

/// Applies `f` entry-wise.
fn map<T: Num>(v: Val<T>, mut f: impl FnMut(T) -> T) -> Val<T> {
    match v {
        Val::S(x) => Val::S(f(x)),
        Val::M(m) => Val::M(m.map(f)),
        Val::Zero => Val::Zero,
    }
}

fn entries<T: Num>(v: &Val<T>) -> Vec<T> {
    match v {
        Val::S(x) => vec![*x],
        Val::M(m) => m.iter().copied().collect(),
        Val::Zero => vec![],
    }
}

/// Entry-wise binary operation with scalar broadcast.
fn zip<T: Num>(a: Val<T>, b: Val<T>, what: &str, f: impl Fn(T, T) -> T) -> R<T> {
    Ok(match (a, b) {
        (Val::S(x), Val::S(y)) => Val::S(f(x, y)),
        (Val::S(x), Val::M(m)) => Val::M(m.map(|y| f(x, y))),
        (Val::M(m), Val::S(y)) => Val::M(m.map(|x| f(x, y))),
        (Val::M(m), Val::M(n)) => {
            if m.shape() != n.shape() {
                return shape_err(what, &Val::M(m), &Val::M(n));
            }
            Val::M(m.zip_map(&n, f))
        }
        (Val::Zero, Val::S(y)) => Val::S(f(T::zero(), y)),
        (Val::S(x), Val::Zero) => Val::S(f(x, T::zero())),
        (Val::Zero, Val::M(n)) => Val::M(n.map(|y| f(T::zero(), y))),
        (Val::M(m), Val::Zero) => Val::M(m.map(|x| f(x, T::zero()))),
        (Val::Zero, Val::Zero) => Val::Zero,
    })
}

fn matmul<T: Num>(a: Val<T>, b: Val<T>) -> R<T> {
    Ok(match (a, b) {
        (Val::Zero, _) | (_, Val::Zero) => Val::Zero,
        (Val::S(x), Val::S(y)) => Val::S(x * y),
        (Val::S(x), Val::M(m)) | (Val::M(m), Val::S(x)) => Val::M(m.map(|v| v * x)),
        (Val::M(m), Val::M(n)) => {
            if m.ncols() != n.nrows() {
                return shape_err("a product", &Val::M(m), &Val::M(n));
            }
            norm(&m * &n)
        }
    })
}

fn inverse<T: Num>(m: DMatrix<T>, e: &Expr) -> Result<DMatrix<T>, EvalErr> {
    if m.nrows() != m.ncols() {
        return Err(EvalErr::Shape(format!(
            "cannot invert a {}×{} matrix",
            m.nrows(),
            m.ncols()
        )));
    }
    let re = m.map(|v| v.re());
    let svd = re.clone().svd(false, false);
    let smax = svd.singular_values.max();
    let smin = svd.singular_values.min();
    if smin.is_nan() || smin <= 1e-8 * smax.max(1e-300) || smax / smin > MAX_INV_COND {
        return Err(EvalErr::Domain(
            "a singular or ill-conditioned matrix is inverted".into(),
            syms_of(e),
        ));
    }
    match m.try_inverse() {
        Some(i) => Ok(i),
        None => Err(EvalErr::Domain(
            "a singular matrix is inverted".into(),
            syms_of(e),
        )),
    }
}

fn is_int(x: f64) -> bool {
    x.fract() == 0.0 && x.abs() < 1e6
}

/// Evaluates an expression.
pub(crate) fn eval<T: Num>(e: &Expr, cx: &mut Cx<T>) -> R<T> {
    match e {
        Expr::Num(x) => Ok(Val::S(T::c(*x))),
        Expr::IdxVal(i, lo) => match cx.idx.iter().rev().find(|(n, _)| n == i) {
            Some(&(_, p)) => Ok(Val::S(T::c((p as i64 + lo) as f64))),
            None => Err(EvalErr::Unsupported(format!("unbound index {i}"))),
        },
        Expr::DimVar(n) => match cx.dimvars.get(n) {
            Some(&k) => Ok(Val::S(T::c(k as f64))),
            None => Err(EvalErr::Unsupported(format!("no size for {n}"))),
        },
        Expr::Var(s) => match cx.vals.get(&s.key()) {
            Some(v) => Ok(v.clone()),
            None => Err(EvalErr::Unsupported(format!("no value for {}", s.show()))),
        },
        Expr::Ones(id) | Expr::Zeros(id) => {
            let n = cx.poly.get(id).copied().unwrap_or(1);
            let v = if matches!(e, Expr::Ones(_)) {
                T::one()
            } else {
                T::zero()
            };
            Ok(norm(DMatrix::from_element(n, 1, v)))
        }
        Expr::Ident(id) => {
            let n = cx.poly.get(id).copied().unwrap_or(1);
            Ok(norm(DMatrix::identity(n, n)))
        }
        Expr::ZeroAny => Ok(Val::Zero),
        Expr::At(a, k, _) => match eval(a, cx)? {
            Val::M(m) => match m.get(k.saturating_sub(1)) {
                Some(x) => Ok(Val::S(*x)),
                None => Err(EvalErr::Shape("a component out of range".into())),
            },
            _ => Err(EvalErr::Shape("a component of a scalar".into())),
        },
        Expr::Ind(a, r, b) => indicator(a, *r, b, cx),
        Expr::Neg(a) => Ok(map(eval(a, cx)?, |x| -x)),
        Expr::Bin(op, a, b) => {
            let va = eval(a, cx)?;
            let vb = eval(b, cx)?;
            bin(*op, va, vb, b, cx)
        }
        Expr::Pow(a, b) => power(a, b, cx),
        Expr::Post(a, op) => postfix(a, *op, cx),
        Expr::Call(f, args) => call(*f, args, cx),
        Expr::Apply(name, _) => Err(EvalErr::Unsupported(format!("abstract function {name}"))),
        Expr::Norm(a, k) => norm_of(a, *k, cx),
        Expr::Sum {
            idx,
            lo,
            hi,
            body,
            prod,
        } => sum(idx, *lo, hi.as_deref(), body, *prod, cx),
        Expr::Index(a, idxs) => index(a, idxs, cx),
        Expr::Col(a, i) => column(a, i, cx),
        Expr::Dots(body, idx) => dots(body, idx, cx),
        Expr::Matrix(rows) => matrix(rows, cx),
        Expr::Cases(id, brs) => {
            for (k, (v, c)) in brs.iter().enumerate() {
                if cond(c, cx)? {
                    cx.taken.push((*id, k));
                    return eval(v, cx);
                }
            }
            Err(EvalErr::NoBranch)
        }
        Expr::Deriv(id, _) => match cx.derivs.get(id) {
            Some(v) => Ok(lift(v)),
            None => Err(EvalErr::Unsupported(
                "a derivative inside a derivative".into(),
            )),
        },
    }
}

/// An indicator `\mathbb{1}[a > b]`, entry by entry.
fn indicator<T: Num>(a: &Expr, r: Rel, b: &Expr, cx: &mut Cx<T>) -> R<T> {
    let va = eval(a, cx)?.re();
    let vb = eval(b, cx)?.re();
    let shape = va.shape().filter(|s| *s != (1, 1)).or(vb.shape());
    let (xa, xb) = pair_entries(&va, &vb)?;
    let mut out = Vec::with_capacity(xa.len());
    for (x, y) in xa.iter().zip(xb.iter()) {
        cx.near(*x, *y);
        let holds = match r {
            Rel::Lt => x < y,
            Rel::Gt => x > y,
            Rel::Le => x <= y,
            Rel::Ge => x >= y,
            Rel::Ne => (x - y).abs() >= 1e-12,
            _ => (x - y).abs() < 1e-12,
        };
        out.push(if holds { T::one() } else { T::zero() });
    }
    match shape {
        Some((nr, nc)) if nr * nc == out.len() && out.len() > 1 => {
            Ok(Val::M(DMatrix::from_vec(nr, nc, out)))
        }
        _ => Ok(Val::S(out.first().copied().unwrap_or_else(T::zero))),
    }
}

/// `a^b`: a matrix power of a square matrix, else entry by entry.
fn power<T: Num>(a: &Expr, b: &Expr, cx: &mut Cx<T>) -> R<T> {
    let va = eval(a, cx)?;
    let vb = eval(b, cx)?;
    let Val::S(p) = vb else {
        return Err(EvalErr::Shape("a non-scalar exponent".into()));
    };
    let const_exp = !depends_on_vars(b);
    let pr = p.re();
    match va {
        Val::Zero => Ok(Val::Zero),
        Val::M(m) if m.nrows() != 1 && m.ncols() != 1 => {
            if !is_int(pr) {
                return Err(EvalErr::Unsupported(
                    "a matrix to a non-integer power".into(),
                ));
            }
            let k = pr as i64;
            let n = m.nrows();
            if m.ncols() != n {
                return Err(EvalErr::Shape("a power of a non-square matrix".into()));
            }
            let base = if k < 0 { inverse(m, a)? } else { m };
            let mut out = DMatrix::<T>::identity(n, n);
            for _ in 0..k.unsigned_abs() {
                out = &out * &base;
            }
            Ok(Val::M(out))
        }
        v => {
            let mut bad = None;
            let r = map(v, |x| {
                if const_exp && is_int(pr) {
                    if pr < 0.0 && x.re().abs() < 1e-9 {
                        bad = Some(());
                    }
                    x.powi(pr as i32)
                } else {
                    if x.re() <= 1e-12 {
                        bad = Some(());
                    }
                    x.powf(p)
                }
            });
            let _ = &r;
            if bad.is_some() || !finite(&r) {
                return domain("a power of a non-positive value", a);
            }
            Ok(r)
        }
    }
}

/// A transpose or an inverse.
fn postfix<T: Num>(a: &Expr, op: PostOp, cx: &mut Cx<T>) -> R<T> {
    let va = eval(a, cx)?;
    match (va, op) {
        (Val::Zero, _) => Ok(Val::Zero),
        (Val::S(x), PostOp::Transpose) => Ok(Val::S(x)),
        (Val::S(x), _) => {
            if x.re().abs() < 1e-9 {
                return domain("division by zero", a);
            }
            Ok(Val::S(T::one() / x))
        }
        (Val::M(m), PostOp::Transpose) => Ok(Val::M(m.transpose())),
        (Val::M(m), PostOp::Inverse) => Ok(Val::M(inverse(m, a)?)),
        (Val::M(m), PostOp::InvTranspose) => Ok(Val::M(inverse(m, a)?.transpose())),
    }
}

/// A norm (of a scalar its absolute value).
fn norm_of<T: Num>(a: &Expr, k: NormKind, cx: &mut Cx<T>) -> R<T> {
    let v = eval(a, cx)?;
    let xs = entries(&v);
    let is_vec = matches!(&v, Val::M(m) if m.nrows() == 1 || m.ncols() == 1);
    match (k, &v) {
        (_, Val::Zero) => Ok(Val::S(T::zero())),
        (_, Val::S(x)) => {
            cx.near(x.re(), 0.0);
            Ok(Val::S(x.abs()))
        }
        (NormKind::One, _) if is_vec => {
            let mut s = T::zero();
            for x in xs {
                cx.near(x.re(), 0.0);
                s += x.abs();
            }
            Ok(Val::S(s))
        }
        (NormKind::Inf, _) if is_vec => {
            let mut best = T::zero();
            let mut res: Vec<f64> = xs.iter().map(|x| x.re().abs()).collect();
            res.sort_by(|a, b| b.total_cmp(a));
            if res.len() > 1 {
                cx.near(res[0], res[1]);
            }
            for x in xs {
                cx.near(x.re(), 0.0);
                if x.re().abs() >= best.re() {
                    best = x.abs();
                }
            }
            Ok(Val::S(best))
        }
        (NormKind::One | NormKind::Inf, _) => {
            Err(EvalErr::Unsupported("an induced matrix norm".into()))
        }
        (NormKind::Two, _) if !is_vec => Err(EvalErr::Unsupported("the spectral norm".into())),
        _ => {
            let mut s = T::zero();
            for x in xs {
                s += x * x;
            }
            if s.re() < 1e-12 {
                return domain("the norm of a zero vector", a);
            }
            Ok(Val::S(s.sqrt()))
        }
    }
}

/// `\sum_{idx=lo}^{hi} body` (`\prod` when `prod`).
fn sum<T: Num>(
    idx: &str,
    lo: i64,
    hi: Option<&Expr>,
    body: &Expr,
    prod: bool,
    cx: &mut Cx<T>,
) -> R<T> {
    let n = match hi {
        Some(h) => {
            let Val::S(v) = eval(h, cx)? else {
                return Err(EvalErr::Shape("a sum's limit is not a scalar".into()));
            };
            let top = v.re().round() as i64;
            (top - lo + 1).max(0) as usize
        }
        None => range_of(body, idx, cx)?,
    };
    let mut acc: Option<Val<T>> = None;
    for i in 0..n {
        cx.idx.push((idx.to_string(), i));
        let v = eval(body, cx);
        cx.idx.pop();
        let v = v?;
        acc = Some(match acc {
            None => v,
            Some(a) if prod => zip(a, v, "a product", |x, y| x * y)?,
            Some(a) => zip(a, v, "a sum", |x, y| x + y)?,
        });
    }
    let empty = if prod { T::c(1.0) } else { T::zero() };
    Ok(acc.unwrap_or(Val::S(empty)))
}

/// An entry at bound indices.
fn index<T: Num>(a: &Expr, idxs: &[String], cx: &mut Cx<T>) -> R<T> {
    let v = eval(a, cx)?;
    let mut pos = Vec::new();
    for i in idxs {
        match cx.idx.iter().rev().find(|(n, _)| n == i) {
            Some((_, p)) => pos.push(*p),
            None => return Err(EvalErr::Unsupported(format!("unbound index {i}"))),
        }
    }
    let Val::M(m) = v else {
        return Err(EvalErr::Shape("an entry of a scalar".into()));
    };
    let (r, c) = match pos.as_slice() {
        [p] if m.ncols() == 1 => (*p, 0),
        [p] if m.nrows() == 1 => (0, *p),
        [p, q] => (*p, *q),
        _ => return Err(EvalErr::Shape("an index into a matrix".into())),
    };
    match m.get((r, c)) {
        Some(x) => Ok(Val::S(*x)),
        None => Err(EvalErr::Shape("an index out of range".into())),
    }
}

/// Column `i` (a bound index) of a matrix.
fn column<T: Num>(a: &Expr, i: &str, cx: &mut Cx<T>) -> R<T> {
    let v = eval(a, cx)?;
    let Some(&(_, p)) = cx.idx.iter().rev().find(|(n, _)| n == i) else {
        return Err(EvalErr::Unsupported(format!("unbound index {i}")));
    };
    match v {
        Val::M(m) if p < m.ncols() => Ok(norm(DMatrix::from_column_slice(
            m.nrows(),
            1,
            m.column(p).as_slice(),
        ))),
        _ => Err(EvalErr::Shape("a column out of range".into())),
    }
}

/// `\dots e_i \dots`: the vector of the entries over the index.
fn dots<T: Num>(body: &Expr, idx: &str, cx: &mut Cx<T>) -> R<T> {
    let n = range_of(body, idx, cx)?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        cx.idx.push((idx.to_string(), i));
        let v = eval(body, cx);
        cx.idx.pop();
        match v? {
            Val::S(x) => out.push(x),
            Val::Zero => out.push(T::zero()),
            Val::M(_) => return Err(EvalErr::Shape("a vector entry in `\\dots`".into())),
        }
    }
    Ok(Val::M(DMatrix::from_vec(n, 1, out)))
}

/// A matrix literal of scalar entries.
fn matrix<T: Num>(rows: &[Vec<Expr>], cx: &mut Cx<T>) -> R<T> {
    let r = rows.len();
    let c = rows.first().map_or(0, Vec::len);
    let mut m = DMatrix::<T>::zeros(r, c);
    for (i, row) in rows.iter().enumerate() {
        for (j, x) in row.iter().enumerate() {
            let v = match eval(x, cx)? {
                Val::S(v) => v,
                Val::Zero => T::zero(),
                Val::M(_) => return Err(EvalErr::Unsupported("a block matrix".into())),
            };
            if let Some(slot) = m.get_mut((i, j)) {
                *slot = v;
            }
        }
    }
    Ok(norm(m))
}

fn depends_on_vars(e: &Expr) -> bool {
    e.any(&|x| matches!(x, Expr::Var(_) | Expr::Index(..) | Expr::Deriv(..)))
}

fn finite<T: Num>(v: &Val<T>) -> bool {
    entries(v).iter().all(|x| x.re().is_finite())
}

/// The number of entries an index runs over: the length of a vector it indexes.
fn range_of<T: Num>(body: &Expr, idx: &str, cx: &mut Cx<T>) -> Result<usize, EvalErr> {
    let mut found: Option<(Expr, usize)> = None;
    body.walk(&mut |x| {
        if found.is_some() {
            return;
        }
        if let Expr::Index(b, idxs) = x
            && let Some(p) = idxs.iter().position(|i| i == idx)
        {
            found = Some(((**b).clone(), p));
        }
        if let Expr::Col(b, i) = x
            && i == idx
        {
            found = Some(((**b).clone(), 1));
        }
    });
    let Some((b, p)) = found else {
        return Err(EvalErr::Unsupported(format!(
            "cannot tell the range of the index {idx}"
        )));
    };
    let v = eval(&b, cx)?;
    match v {
        Val::M(m) => {
            if m.ncols() == 1 {
                Ok(m.nrows())
            } else if m.nrows() == 1 {
                Ok(m.ncols())
            } else if p == 0 {
                Ok(m.nrows())
            } else {
                Ok(m.ncols())
            }
        }
        _ => Err(EvalErr::Shape(format!(
            "the index {idx} runs over a scalar"
        ))),
    }
}

pub(crate) fn cond<T: Num>(c: &Cond, cx: &mut Cx<T>) -> Result<bool, EvalErr> {
    match c {
        Cond::Always => Ok(true),
        Cond::And(cs) => {
            let mut all = true;
            for c in cs {
                all &= cond(c, cx)?;
            }
            Ok(all)
        }
        Cond::Rel(es, rels) => {
            let mut vals = Vec::new();
            for e in es {
                vals.push(eval(e, cx)?.re());
            }
            let mut all = true;
            for (k, r) in rels.iter().enumerate() {
                let (Some(a), Some(b)) = (vals.get(k), vals.get(k + 1)) else {
                    break;
                };
                let (xa, xb) = pair_entries(a, b)?;
                for (x, y) in xa.iter().zip(xb.iter()) {
                    cx.near(*x, *y);
                    let ok = match r {
                        Rel::Lt => x < y,
                        Rel::Gt => x > y,
                        Rel::Le => x <= y,
                        Rel::Ge => x >= y,
                        Rel::Eq => (x - y).abs() < 1e-12,
                        Rel::Ne => (x - y).abs() >= 1e-12,
                        _ => return Err(EvalErr::Unsupported("this condition".into())),
                    };
                    all &= ok;
                }
            }
            Ok(all)
        }
    }
}

fn pair_entries(a: &Val<f64>, b: &Val<f64>) -> Result<(Vec<f64>, Vec<f64>), EvalErr> {
    let ea = entries(a);
    let eb = entries(b);
    Ok(match (ea.len(), eb.len()) {
        (x, y) if x == y => (ea, eb),
        (0, n) => (vec![0.0; n], eb),
        (n, 0) => (ea, vec![0.0; n]),
        (1, n) => (vec![ea[0]; n], eb),
        (n, 1) => (ea, vec![eb[0]; n]),
        _ => {
            return Err(EvalErr::Shape(
                "a condition between different shapes".into(),
            ));
        }
    })
}

fn bin<T: Num>(op: BinOp, a: Val<T>, b: Val<T>, be: &Expr, cx: &mut Cx<T>) -> R<T> {
    match op {
        BinOp::Add => zip(a, b, "a sum", |x, y| x + y),
        BinOp::Sub => zip(a, b, "a difference", |x, y| x - y),
        BinOp::Mul => matmul(a, b),
        BinOp::Dot => match (&a, &b) {
            (Val::M(m), Val::M(n))
                if (m.ncols() == 1 && n.ncols() == 1) || (m.nrows() == 1 && n.nrows() == 1) =>
            {
                if m.len() != n.len() {
                    return shape_err("a dot product", &a, &b);
                }
                let mut s = T::zero();
                for (x, y) in m.iter().zip(n.iter()) {
                    s += *x * *y;
                }
                Ok(Val::S(s))
            }
            _ => matmul(a, b),
        },
        BinOp::Had => zip(a, b, "an element-wise product", |x, y| x * y),
        BinOp::Kron => match cx.otimes {
            Otimes::ElementWise => zip(a, b, "an element-wise product", |x, y| x * y),
            Otimes::Kronecker => match (a, b) {
                (Val::M(m), Val::M(n)) => Ok(norm(m.kronecker(&n))),
                (a, b) => matmul(a, b),
            },
        },
        BinOp::Oslash | BinOp::Div => {
            let small = entries(&b).iter().any(|y| y.re().abs() < 1e-9) || matches!(b, Val::Zero);
            if small {
                return domain("division by zero", be);
            }
            zip(a, b, "an element-wise division", |x, y| x / y)
        }
    }
}

fn call<T: Num>(f: Func, args: &[Expr], cx: &mut Cx<T>) -> R<T> {
    let Some(a0) = args.first() else {
        return Err(EvalErr::Unsupported("a function without arguments".into()));
    };
    let v = eval(a0, cx)?;
    let info = f.info();
    match info.shape {
        ShapeRule::ElementWise | ShapeRule::ElementWiseNoMatrix => elementwise_call(f, v, a0, cx),
        ShapeRule::EntriesOrDeterminant => {
            // |X| of a square matrix is its determinant
            if let Val::M(m) = &v
                && m.nrows() > 1
                && m.ncols() > 1
            {
                if !m.is_square() {
                    return Err(EvalErr::Shape("|X| of a non-square matrix".into()));
                }
                let d = m.clone().determinant();
                return Ok(Val::S(d));
            }
            elementwise_call(f, v, a0, cx)
        }
        _ => structural_call(f, v, args, cx),
    }
}

/// An element-wise function: its domain and kinks from the notation table, then its
/// value entry by entry.
fn elementwise_call<T: Num>(f: Func, v: Val<T>, a0: &Expr, cx: &mut Cx<T>) -> R<T> {
    let info = f.info();
    if info.domain != Domain::All
        && (entries(&v).iter().any(|x| info.domain.excludes(x.re()))
            || (info.domain == Domain::Positive && matches!(v, Val::Zero)))
    {
        return domain(info.outside, a0);
    }
    if info.kink_at_zero {
        for x in entries(&v) {
            cx.near(x.re(), 0.0);
        }
    }
    Ok(map(v, |x| elementwise(f, x).unwrap_or(x)))
}

/// A function that is not entry by entry (softmax, sum, diag, trace, det, max, vec).
fn structural_call<T: Num>(f: Func, v: Val<T>, args: &[Expr], cx: &mut Cx<T>) -> R<T> {
    match f {
        Func::Vec => Ok(match v {
            Val::M(m) => {
                let n = m.len();
                Val::M(DMatrix::from_iterator(n, 1, m.iter().copied()))
            }
            other => other,
        }),
        Func::Softmax => match v {
            Val::M(m) => {
                let mx = m.iter().map(|x| x.re()).fold(f64::NEG_INFINITY, f64::max);
                let e = m.map(|x| (x - T::c(mx)).exp());
                let mut s = T::zero();
                for x in e.iter() {
                    s += *x;
                }
                Ok(Val::M(e.map(|x| x / s)))
            }
            _ => Err(EvalErr::Shape("softmax of a scalar".into())),
        },
        Func::Sum => Ok(match v {
            Val::S(x) => Val::S(x),
            Val::M(m) => {
                let mut s = T::zero();
                for x in m.iter() {
                    s += *x;
                }
                Val::S(s)
            }
            Val::Zero => Val::S(T::zero()),
        }),
        Func::Diag => match v {
            Val::M(m) if m.ncols() == 1 || m.nrows() == 1 => {
                let n = m.len();
                let mut d = DMatrix::<T>::zeros(n, n);
                for (i, x) in m.iter().enumerate() {
                    d[(i, i)] = *x;
                }
                Ok(Val::M(d))
            }
            Val::M(m) if m.is_square() => {
                let n = m.nrows();
                Ok(Val::M(DMatrix::from_fn(n, 1, |i, _| m[(i, i)])))
            }
            _ => Err(EvalErr::Shape("diag of a non-vector".into())),
        },
        Func::Tr => match v {
            Val::S(x) => Ok(Val::S(x)),
            Val::M(m) if m.is_square() => Ok(Val::S(m.trace())),
            Val::Zero => Ok(Val::S(T::zero())),
            _ => Err(EvalErr::Shape("trace of a non-square matrix".into())),
        },
        Func::Det => match v {
            Val::S(x) => Ok(Val::S(x)),
            Val::M(m) if m.is_square() => Ok(Val::S(m.determinant())),
            Val::Zero => Ok(Val::S(T::zero())),
            _ => Err(EvalErr::Shape("determinant of a non-square matrix".into())),
        },
        Func::Max | Func::Min => {
            let Some(a1) = args.get(1) else {
                return Err(EvalErr::Unsupported("max of one argument".into()));
            };
            let w = eval(a1, cx)?;
            let (ea, eb) = pair_entries(&v.re(), &w.re())?;
            for (x, y) in ea.iter().zip(eb.iter()) {
                cx.near(*x, *y);
            }
            let is_max = f == Func::Max;
            zip(v, w, "max", |x, y| {
                if (x.re() >= y.re()) == is_max { x } else { y }
            })
        }
        _ => Err(EvalErr::Unsupported(format!("the function `{}`", f.name()))),
    }
}

/// The derivative of `d.of` with respect to `d.wrt` at the point, arranged in the
/// layout, computed by forward-mode AD; also the central-difference estimate's
/// largest disagreement with AD (relative).
pub(crate) struct DerivOut {
    pub value: Val<f64>,
    /// max |AD - FD| / max(1, |AD|, |FD|) over the Jacobian's entries.
    pub fd_gap: f64,
    pub kink: f64,
    /// `cases` branches the operand took at the point (it is a `cases` or has one).
    pub taken: Vec<(u32, usize)>,
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn derivative(
    d: &Deriv,
    vals: &HashMap<String, Val<f64>>,
    poly: &HashMap<u32, usize>,
    dimvars: &HashMap<String, usize>,
    idx: &[(String, usize)],
    otimes: Otimes,
    numerator: bool,
) -> Result<DerivOut, EvalErr> {
    let key = d.wrt.key();
    let Some(x0) = vals.get(&key) else {
        return Err(EvalErr::Unsupported(format!(
            "no value for {}",
            d.wrt.show()
        )));
    };
    if d.of.has_deriv() {
        if d.vec {
            return Err(EvalErr::Unsupported(
                "a derivative by vec(X) of a derivative".into(),
            ));
        }
        return nested_derivative(d, &key, x0, vals, poly, dimvars, idx, otimes, numerator);
    }
    let empty = HashMap::new();
    // value (and kinks) in f64
    let mut cx = Cx::new(vals, poly, dimvars, &empty, otimes);
    cx.idx = idx.to_vec();
    let y0 = eval(&d.of, &mut cx)?;
    let mut kink = cx.kink;
    let taken = std::mem::take(&mut cx.taken);
    if !finite(&y0) {
        return Err(EvalErr::Domain("a non-finite value".into(), syms_of(&d.of)));
    }
    let (xr, xc) = x0.shape().unwrap_or((1, 1));
    // by one entry (`\partial x_i`) or by all of them
    let seeds: Vec<usize> = match &d.entry {
        Some(i) => match idx.iter().rev().find(|(n, _)| n == i) {
            Some(&(_, p)) if p < xr * xc => vec![p],
            _ => return Err(EvalErr::Unsupported(format!("unbound index {i}"))),
        },
        None => (0..xr * xc).collect(),
    };
    let k = seeds.len();
    let (yr, yc) = match y0.shape() {
        Some(s) => s,
        None => {
            return Ok(DerivOut {
                value: Val::Zero,
                fd_gap: 0.0,
                kink,
                taken,
            });
        }
    };
    let m = yr * yc;
    // AD: one pass per entry
    let mut dvals: HashMap<String, Val<Dual64>> =
        vals.iter().map(|(k, v)| (k.clone(), lift(v))).collect();
    let mut jac = DMatrix::<f64>::zeros(m, k);
    for (col, &j) in seeds.iter().enumerate() {
        set_eps(&mut dvals, &key, j, 1.0);
        let mut dcx = Cx::new(&dvals, poly, dimvars, &empty, otimes);
        dcx.idx = idx.to_vec();
        let y = eval(&d.of, &mut dcx);
        kink = kink.min(dcx.kink);
        set_eps(&mut dvals, &key, j, 0.0);
        let y = y?;
        let ys: Vec<f64> = match &y {
            Val::S(v) => vec![v.eps],
            Val::M(mm) => mm.iter().map(|v| v.eps).collect(),
            Val::Zero => vec![0.0; m],
        };
        if ys.len() != m {
            return Err(EvalErr::Shape("the value changed shape".into()));
        }
        for (i, v) in ys.iter().enumerate() {
            jac[(i, col)] = *v;
        }
    }
    if jac.iter().any(|v| !v.is_finite()) {
        return Err(EvalErr::Domain(
            "a non-finite derivative".into(),
            syms_of(&d.of),
        ));
    }
    // central differences
    let mut fvals = vals.clone();
    let mut gap: f64 = 0.0;
    for (col, &j) in seeds.iter().enumerate() {
        let xj = get_entry(vals, &key, j);
        let h = 1e-6 * xj.abs().max(1.0);
        set_entry(&mut fvals, &key, j, xj + h);
        let mut c1 = Cx::new(&fvals, poly, dimvars, &empty, otimes);
        c1.idx = idx.to_vec();
        let yp = eval(&d.of, &mut c1);
        set_entry(&mut fvals, &key, j, xj - h);
        let mut c2 = Cx::new(&fvals, poly, dimvars, &empty, otimes);
        c2.idx = idx.to_vec();
        let ym = eval(&d.of, &mut c2);
        set_entry(&mut fvals, &key, j, xj);
        let (yp, ym) = match (yp, ym) {
            (Ok(a), Ok(b)) => (a, b),
            _ => {
                gap = f64::INFINITY;
                break;
            }
        };
        let (ep, em) = (entries(&yp), entries(&ym));
        if ep.len() != m || em.len() != m {
            gap = f64::INFINITY;
            break;
        }
        for i in 0..m {
            let fd = (ep[i] - em[i]) / (2.0 * h);
            let ad = jac[(i, col)];
            let g = (fd - ad).abs() / 1f64.max(fd.abs()).max(ad.abs());
            gap = gap.max(g);
        }
    }
    let value = arrange(d, &y0, x0, &jac, numerator)?;
    Ok(DerivOut {
        value,
        fd_gap: gap,
        kink,
        taken,
    })
}

/// `e` evaluated at a point, its derivatives (a higher-order derivative's inner
/// ones) computed there first; with the smallest kink distance and the largest
/// AD/FD gap seen.
#[allow(clippy::too_many_arguments)]
fn eval_with_derivs(
    e: &Expr,
    vals: &HashMap<String, Val<f64>>,
    poly: &HashMap<u32, usize>,
    dimvars: &HashMap<String, usize>,
    idx: &[(String, usize)],
    otimes: Otimes,
    numerator: bool,
) -> Result<WithDerivs, EvalErr> {
    let mut ds: Vec<(u32, Deriv)> = Vec::new();
    e.walk(&mut |x| {
        if let Expr::Deriv(id, d) = x {
            ds.push((*id, (**d).clone()));
        }
    });
    let mut derivs = HashMap::new();
    let (mut kink, mut gap) = (f64::INFINITY, 0f64);
    let mut taken = Vec::new();
    for (id, d) in ds {
        let o = derivative(&d, vals, poly, dimvars, idx, otimes, numerator)?;
        kink = kink.min(o.kink);
        gap = gap.max(o.fd_gap);
        taken.extend(o.taken);
        derivs.insert(id, o.value);
    }
    let mut cx = Cx::new(vals, poly, dimvars, &derivs, otimes);
    cx.idx = idx.to_vec();
    let v = eval(e, &mut cx)?;
    taken.extend(cx.taken);
    Ok((v, kink.min(cx.kink), gap, taken))
}

/// A value with its kink distance, AD/FD gap and `cases` branches taken.
type WithDerivs = (Val<f64>, f64, f64, Vec<(u32, usize)>);

/// A derivative of an expression holding derivatives (`\frac{d^2}{dx^2}`,
/// `\nabla^2`): the inner derivatives are exact (AD) at each point, the outer one is
/// a central difference refined by Richardson extrapolation (error O(h⁴)); a large
/// extrapolation correction counts as a gap, so a point where the difference
/// quotient is unreliable is resampled.
#[allow(clippy::too_many_arguments)]
fn nested_derivative(
    d: &Deriv,
    key: &str,
    x0: &Val<f64>,
    vals: &HashMap<String, Val<f64>>,
    poly: &HashMap<u32, usize>,
    dimvars: &HashMap<String, usize>,
    idx: &[(String, usize)],
    otimes: Otimes,
    numerator: bool,
) -> Result<DerivOut, EvalErr> {
    let (y0, mut kink, mut gap, taken) =
        eval_with_derivs(&d.of, vals, poly, dimvars, idx, otimes, numerator)?;
    if !finite(&y0) {
        return Err(EvalErr::Domain("a non-finite value".into(), syms_of(&d.of)));
    }
    let (xr, xc) = x0.shape().unwrap_or((1, 1));
    let seeds: Vec<usize> = match &d.entry {
        Some(i) => match idx.iter().rev().find(|(n, _)| n == i) {
            Some(&(_, p)) if p < xr * xc => vec![p],
            _ => return Err(EvalErr::Unsupported(format!("unbound index {i}"))),
        },
        None => (0..xr * xc).collect(),
    };
    let Some((yr, yc)) = y0.shape() else {
        return Ok(DerivOut {
            value: Val::Zero,
            fd_gap: gap,
            kink,
            taken,
        });
    };
    let m = yr * yc;
    let mut jac = DMatrix::<f64>::zeros(m, seeds.len());
    let mut fvals = vals.clone();
    for (col, &j) in seeds.iter().enumerate() {
        let xj = get_entry(vals, key, j);
        let h = 1e-3 * xj.abs().max(1.0);
        let mut quotient = |h: f64| -> Result<Vec<f64>, EvalErr> {
            let mut side = |x: f64| -> Result<Vec<f64>, EvalErr> {
                set_entry(&mut fvals, key, j, x);
                let r = eval_with_derivs(&d.of, &fvals, poly, dimvars, idx, otimes, numerator);
                set_entry(&mut fvals, key, j, xj);
                let (v, k, g, _) = r?;
                kink = kink.min(k);
                gap = gap.max(g);
                Ok(entries(&v))
            };
            let p = side(xj + h)?;
            let q = side(xj - h)?;
            if p.len() != m || q.len() != m {
                return Err(EvalErr::Shape("the value changed shape".into()));
            }
            Ok(p.iter().zip(&q).map(|(a, b)| (a - b) / (2.0 * h)).collect())
        };
        let coarse = quotient(h)?;
        let fine = quotient(h / 2.0)?;
        for i in 0..m {
            let r = (4.0 * fine[i] - coarse[i]) / 3.0;
            jac[(i, col)] = r;
            // a correction above 1e-4 (relative) leaves the result uncertain at the
            // 1e-6 tolerance: scaled so that it exceeds the AD/FD gap's threshold
            gap = gap.max((r - fine[i]).abs() / 1f64.max(r.abs()) * 10.0);
        }
    }
    if jac.iter().any(|v| !v.is_finite()) {
        return Err(EvalErr::Domain(
            "a non-finite derivative".into(),
            syms_of(&d.of),
        ));
    }
    let value = arrange(d, &y0, x0, &jac, numerator)?;
    Ok(DerivOut {
        value,
        fd_gap: gap,
        kink,
        taken,
    })
}

/// The Jacobian (one column per entry of the variable, one row per entry of the
/// value) arranged as the derivative in the layout.
fn arrange(
    d: &Deriv,
    y0: &Val<f64>,
    x0: &Val<f64>,
    jac: &DMatrix<f64>,
    numerator: bool,
) -> Result<Val<f64>, EvalErr> {
    let (xr, xc) = x0.shape().unwrap_or((1, 1));
    let (yr, yc) = y0.shape().unwrap_or((1, 1));
    let (m, k) = (jac.nrows(), jac.ncols());
    let jac = jac.clone();
    // arrange in the layout
    let y_scalar = matches!(y0, Val::S(_));
    // `\nabla_X f` of a matrix is the gradient (the shape of X) in either layout
    let numerator = numerator && !(d.nabla && y_scalar && xr > 1 && xc > 1);
    let x_scalar = matches!(x0, Val::S(_)) || d.entry.is_some();
    let value = if d.vec && yc == 1 {
        // by vec(X): the Jacobian of the entries, X's in column order
        norm(if numerator { jac } else { jac.transpose() })
    } else if y_scalar && x_scalar {
        Val::S(jac[(0, 0)])
    } else if y_scalar {
        // scalar by matrix (p×q): numerator q×p
        let mut r = DMatrix::<f64>::zeros(xr, xc);
        for j in 0..k {
            r[(j % xr, j / xr)] = jac[(0, j)];
        }
        norm(if numerator { r.transpose() } else { r })
    } else if x_scalar {
        let mut r = DMatrix::<f64>::zeros(yr, yc);
        for i in 0..m {
            r[(i % yr, i / yr)] = jac[(i, 0)];
        }
        norm(if !numerator && yc == 1 {
            r.transpose()
        } else {
            r
        })
    } else if yc == 1 && (xr == 1 || xc == 1) {
        norm(if numerator { jac } else { jac.transpose() })
    } else {
        return Err(EvalErr::Unsupported(format!(
            "the derivative of a {yr}×{yc} matrix by a {xr}×{xc} matrix"
        )));
    };
    Ok(value)
}

fn set_eps(vals: &mut HashMap<String, Val<Dual64>>, key: &str, j: usize, eps: f64) {
    match vals.get_mut(key) {
        Some(Val::S(x)) => x.eps = eps,
        Some(Val::M(m)) => {
            if let Some(x) = m.get_mut(j) {
                x.eps = eps;
            }
        }
        _ => {}
    }
}

fn get_entry(vals: &HashMap<String, Val<f64>>, key: &str, j: usize) -> f64 {
    match vals.get(key) {
        Some(Val::S(x)) => *x,
        Some(Val::M(m)) => m.get(j).copied().unwrap_or(0.0),
        _ => 0.0,
    }
}

fn set_entry(vals: &mut HashMap<String, Val<f64>>, key: &str, j: usize, v: f64) {
    match vals.get_mut(key) {
        Some(Val::S(x)) => *x = v,
        Some(Val::M(m)) => {
            if let Some(x) = m.get_mut(j) {
                *x = v;
            }
        }
        _ => {}
    }
}
