//! Evaluation over a generic scalar: `f64` for values, `num_dual::Dual64` for exact
//! forward-mode derivatives (one pass per entry of the differentiation variable).
//!
//! Evaluation records how close the point is to a kink (`max`, `relu`, `|.|`, a
//! `cases` boundary) and which `cases` branch was taken, and reports domain problems
//! (logarithm of a non-positive value, singular matrix, ...) so the sampler can
//! resample.

mod call;
mod derivative;
mod value;

use std::collections::HashMap;

use nalgebra::DMatrix;

use super::Otimes;
use super::syntax::{BinOp, Cond, Expr, NormKind, PostOp, Rel};
use call::call;
use value::{entries, inverse, is_int, map, matmul, norm, pair_entries, shape_err, zip};

pub(crate) use derivative::derivative;
pub(crate) use value::{Num, Val, lift};

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

/// The largest integer power of a matrix evaluated (by repeated products); larger powers
/// are refused as too costly, and their entries would overflow or vanish anyway.
const MAX_MATRIX_POWER: u64 = 64;

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

/// A value beyond what a floating-point number holds: infinite, or so small that it
/// underflows (a subnormal, or zero computed from a non-zero argument when
/// `zero_from_nonzero` says that happens only so). Both sides of an identity
/// vanishing or overflowing alike is no evidence that they agree (`\frac{d}{dx}
/// e^{-10^6 x^2} = 3x e^{-10^6 x^2}`), so such a point is not used.
pub(super) fn out_of_range<T: Num>(
    arg: &Val<T>,
    v: &Val<T>,
    zero_from_nonzero: bool,
) -> Option<&'static str> {
    let (args, outs) = (entries(arg), entries(v));
    for (k, x) in outs.iter().enumerate() {
        let r = x.re();
        if !r.is_finite() {
            return Some("a value too large to represent (it overflows)");
        }
        let from_nonzero = args.get(k).or(args.first()).is_some_and(|a| a.re() != 0.0);
        if (r != 0.0 && r.abs() < f64::MIN_POSITIVE)
            || (r == 0.0 && zero_from_nonzero && from_nonzero)
        {
            return Some("a value too small to represent (it underflows)");
        }
    }
    None
}

fn domain<T: Num>(what: &str, e: &Expr) -> R<T> {
    Err(EvalErr::Domain(what.to_string(), syms_of(e)))
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
            if k.unsigned_abs() > MAX_MATRIX_POWER {
                return Err(EvalErr::Unsupported(format!(
                    "too costly to evaluate: a matrix to the power {k} (at most {MAX_MATRIX_POWER} is evaluated)"
                )));
            }
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
            let base = v.clone();
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
            if bad.is_some() {
                return domain("a power of a non-positive value", a);
            }
            if let Some(what) = out_of_range(&base, &r, true) {
                return domain(what, a);
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
            let n = (top - lo + 1).max(0) as usize;
            if n > crate::check::shape::MAX_TERMS {
                return Err(EvalErr::Unsupported(format!(
                    "too costly to evaluate: a sum or product of {n} terms (at most {} are evaluated)",
                    crate::check::shape::MAX_TERMS
                )));
            }
            n
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

fn bin<T: Num>(op: BinOp, a: Val<T>, b: Val<T>, be: &Expr, cx: &mut Cx<T>) -> R<T> {
    match op {
        BinOp::Add => zip(a, b, "a sum", |x, y| x + y),
        BinOp::Sub => zip(a, b, "a difference", |x, y| x - y),
        BinOp::Mul => matmul(a, b),
        BinOp::Cross => match (&a, &b) {
            // two vectors, columns or rows (`(\nabla u) \times \mathbf{A}`, a gradient
            // a row in numerator layout): a column unless both are rows
            (Val::M(m), Val::M(n))
                if (m.ncols() == 1 || m.nrows() == 1)
                    && (n.ncols() == 1 || n.nrows() == 1)
                    && {
                        let one_by_one = |x: &DMatrix<T>| x.len() == 1;
                        !one_by_one(m) && !one_by_one(n)
                    } =>
            {
                if m.len() != 3 || n.len() != 3 {
                    return shape_err("a cross product", &a, &b);
                }
                let c = |i: usize, j: usize| m[i] * n[j] - m[j] * n[i];
                let entries = vec![c(1, 2), c(2, 0), c(0, 1)];
                Ok(Val::M(if m.nrows() == 1 && n.nrows() == 1 {
                    DMatrix::from_vec(1, 3, entries)
                } else {
                    DMatrix::from_vec(3, 1, entries)
                }))
            }
            _ => matmul(a, b),
        },
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
