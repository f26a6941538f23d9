//! Values: scalars, matrices and a zero of any shape over a generic scalar (`f64`
//! or `num_dual::Dual64`), and the operations on them.

use nalgebra::{DMatrix, RealField};
use num_dual::Dual64;

use crate::check::syntax::Expr;

use super::{EvalErr, R, syms_of};

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
pub(super) fn norm<T: Num>(m: DMatrix<T>) -> Val<T> {
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

pub(super) fn shape_err<T: Num>(what: &str, a: &Val<T>, b: &Val<T>) -> R<T> {
    let s = |v: &Val<T>| match v.shape() {
        Some((r, c)) => format!("{r}×{c}"),
        None => "zero".into(),
    };
    Err(EvalErr::Shape(format!("{what}: {} and {}", s(a), s(b))))
}

/// Applies `f` entry-wise.
pub(super) fn map<T: Num>(v: Val<T>, mut f: impl FnMut(T) -> T) -> Val<T> {
    match v {
        Val::S(x) => Val::S(f(x)),
        Val::M(m) => Val::M(m.map(f)),
        Val::Zero => Val::Zero,
    }
}

pub(super) fn entries<T: Num>(v: &Val<T>) -> Vec<T> {
    match v {
        Val::S(x) => vec![*x],
        Val::M(m) => m.iter().copied().collect(),
        Val::Zero => vec![],
    }
}

/// Entry-wise binary operation with scalar broadcast.
pub(super) fn zip<T: Num>(a: Val<T>, b: Val<T>, what: &str, f: impl Fn(T, T) -> T) -> R<T> {
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

pub(super) fn matmul<T: Num>(a: Val<T>, b: Val<T>) -> R<T> {
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

pub(super) fn inverse<T: Num>(m: DMatrix<T>, e: &Expr) -> Result<DMatrix<T>, EvalErr> {
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

pub(super) fn is_int(x: f64) -> bool {
    x.fract() == 0.0 && x.abs() < 1e6
}

pub(super) fn finite<T: Num>(v: &Val<T>) -> bool {
    entries(v).iter().all(|x| x.re().is_finite())
}

pub(super) fn pair_entries(a: &Val<f64>, b: &Val<f64>) -> Result<(Vec<f64>, Vec<f64>), EvalErr> {
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
