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

/// The matrix exponential is evaluated only when the exponent's 1-norm is at most
/// this: beyond it `e^X` has entries up to `e^16 ≈ 9e6` times larger than others, and
/// rounding (≈ 1e-16 of the largest) would no longer be small against the 1e-6
/// comparison; such a point is resampled.
const MAX_EXPM_NORM: f64 = 16.0;

/// Taylor terms of the scaled exponent (1-norm ≤ 1/2): the remainder is below
/// `0.5^19 / 19! ≈ 2e-23`, relative.
const EXPM_TERMS: usize = 18;

/// The matrix exponential `e^X` of a square matrix, over `f64` or dual numbers (the
/// same operations on both, so forward-mode AD differentiates it): scaling and
/// squaring, `e^X = (e^{X/2^s})^{2^s}` with `‖X/2^s‖₁ ≤ 1/2` and `e^{X/2^s}` its
/// Taylor polynomial of degree 18 (Horner). The scaling is chosen from the real part,
/// so a value and its derivative take the same steps. Bounded cost: at most 5
/// squarings (`‖X‖₁ ≤ 16`) and 18 products.
pub(super) fn expm<T: Num>(m: DMatrix<T>) -> Result<DMatrix<T>, EvalErr> {
    let n = m.nrows();
    if m.ncols() != n {
        return Err(EvalErr::Shape(format!(
            "the exponential of a {}×{} matrix",
            n,
            m.ncols()
        )));
    }
    let mut norm1 = 0.0f64;
    for j in 0..n {
        let col: f64 = (0..n).map(|i| m[(i, j)].re().abs()).sum();
        norm1 = norm1.max(col);
    }
    if !norm1.is_finite() || norm1 > MAX_EXPM_NORM {
        // (no symbol is made positive: that would not make the norm smaller)
        return Err(EvalErr::Domain(
            "a point where the matrix exponential's exponent has a small norm".into(),
            Vec::new(),
        ));
    }
    let mut squarings = 0u32;
    let mut scale = 1.0f64;
    while norm1 / scale > 0.5 {
        scale *= 2.0;
        squarings += 1;
    }
    let a = m.map(|x| x * T::c(1.0 / scale));
    let id = DMatrix::<T>::identity(n, n);
    let mut r = id.clone();
    for k in (1..=EXPM_TERMS).rev() {
        r = &id + (&a * &r).map(|x| x * T::c(1.0 / k as f64));
    }
    for _ in 0..squarings {
        r = &r * &r;
    }
    Ok(r)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &DMatrix<f64>, b: &DMatrix<f64>, tol: f64) -> bool {
        a.shape() == b.shape()
            && a.iter()
                .zip(b.iter())
                .all(|(x, y)| (x - y).abs() <= tol * 1f64.max(x.abs()).max(y.abs()))
    }

    #[test]
    fn expm_of_a_rotation_generator_is_a_rotation() {
        for t in [0.3f64, 1.7, 5.0, 11.0] {
            let m = DMatrix::from_row_slice(2, 2, &[0.0, t, -t, 0.0]);
            let want = DMatrix::from_row_slice(2, 2, &[t.cos(), t.sin(), -t.sin(), t.cos()]);
            let got = expm(m).ok().unwrap_or_else(|| DMatrix::zeros(2, 2));
            assert!(close(&got, &want, 1e-13), "t = {t}: {got}");
        }
    }

    #[test]
    fn expm_of_a_triangular_matrix() {
        // [[a, 1], [0, b]]: e^a, (e^a - e^b)/(a - b), e^b
        let (a, b): (f64, f64) = (1.3, -0.4);
        let m = DMatrix::from_row_slice(2, 2, &[a, 1.0, 0.0, b]);
        let want = DMatrix::from_row_slice(
            2,
            2,
            &[a.exp(), (a.exp() - b.exp()) / (a - b), 0.0, b.exp()],
        );
        let got = expm(m).ok().unwrap_or_else(|| DMatrix::zeros(2, 2));
        assert!(close(&got, &want, 1e-13), "{got}");
        // nilpotent: I + N + N²/2
        let n = DMatrix::from_row_slice(3, 3, &[0.0, 2.0, 3.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0]);
        let want = DMatrix::from_row_slice(3, 3, &[1.0, 2.0, 7.0, 0.0, 1.0, 4.0, 0.0, 0.0, 1.0]);
        let got = expm(n).ok().unwrap_or_else(|| DMatrix::zeros(3, 3));
        assert!(close(&got, &want, 1e-13), "{got}");
    }

    #[test]
    fn expm_carries_the_derivative() {
        // d/dt e^{tA} = A e^{tA}, by dual numbers
        let a = DMatrix::from_row_slice(3, 3, &[0.2, -0.9, 0.5, 0.7, -0.3, 0.1, -0.6, 0.8, 0.4]);
        let t = 1.9;
        let m = a.map(|x| Dual64::new(x * t, x));
        let e = expm(m).ok().unwrap_or_else(|| DMatrix::zeros(3, 3));
        let value = e.map(|x| x.re);
        let deriv = e.map(|x| x.eps);
        assert!(close(&deriv, &(&a * &value), 1e-12), "{deriv}");
    }

    #[test]
    fn expm_refuses_a_large_norm() {
        let m = DMatrix::from_element(3, 3, 10.0);
        assert!(matches!(expm(m), Err(EvalErr::Domain(..))));
    }
}
