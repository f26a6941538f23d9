//! Comparing the sides' values, the verdict from the trials, and hints (layout,
//! factor, sign, symmetry).

use std::collections::BTreeSet;

use nalgebra::DMatrix;

use crate::check::eval::Val;
use crate::check::shape::Ty;
use crate::check::syntax::Expr;
use crate::check::{FailKind, Layout, Outcome, SkipReason, Verdict};

use super::kinds::SymInfo;
use super::{Checker, Step, TOL, Typed, verdict};

fn as_matrix(v: &Val<f64>, like: Option<(usize, usize)>) -> DMatrix<f64> {
    match v {
        Val::S(x) => DMatrix::from_element(1, 1, *x),
        Val::M(m) => m.clone(),
        Val::Zero => {
            let (r, c) = like.unwrap_or((1, 1));
            DMatrix::zeros(r, c)
        }
    }
}

/// Largest relative error and where; `Err` with both shapes when they differ.
#[allow(clippy::type_complexity)]
pub(super) fn compare(
    a: &Val<f64>,
    b: &Val<f64>,
) -> Result<(f64, (usize, usize), f64, f64), (String, String)> {
    let ma = as_matrix(a, b.shape());
    let mb = as_matrix(b, a.shape());
    if ma.shape() != mb.shape() {
        let s = |m: &DMatrix<f64>| {
            if m.len() == 1 {
                "a scalar".to_string()
            } else {
                format!("{}×{}", m.nrows(), m.ncols())
            }
        };
        return Err((s(&ma), s(&mb)));
    }
    let mut worst = (0.0, (0, 0), 0.0, 0.0);
    let mut first = true;
    for j in 0..ma.ncols() {
        for i in 0..ma.nrows() {
            let (x, y) = (ma[(i, j)], mb[(i, j)]);
            let e = if x.is_finite() && y.is_finite() {
                (x - y).abs() / 1f64.max(x.abs()).max(y.abs())
            } else {
                f64::INFINITY
            };
            if first || e > worst.0 {
                worst = (e, (i, j), x, y);
                first = false;
            }
        }
    }
    Ok(worst)
}

fn close(x: f64, y: f64) -> bool {
    (x - y).abs() <= TOL * 1f64.max(x.abs()).max(y.abs())
}

/// Is `b` the transpose of `a` (and not equal to `a`)?
fn transpose_close(a: &Val<f64>, b: &Val<f64>) -> bool {
    let (Val::M(ma), Val::M(mb)) = (a, b) else {
        return false;
    };
    let t = ma.transpose();
    if t.shape() != mb.shape() {
        return false;
    }
    t.iter().zip(mb.iter()).all(|(x, y)| close(*x, *y))
}

/// A constant `c` with `b = c·a` at every trial, if there is one (and it is not 1).
fn factor(pairs: &[(Val<f64>, Val<f64>)]) -> Option<f64> {
    let (a0, b0) = pairs.first()?;
    let ma = as_matrix(a0, b0.shape());
    let mb = as_matrix(b0, a0.shape());
    if ma.shape() != mb.shape() {
        return None;
    }
    let (k, amax) = ma
        .iter()
        .enumerate()
        .map(|(k, x)| (k, x.abs()))
        .fold((0, 0.0), |acc, x| if x.1 > acc.1 { x } else { acc });
    if amax < 1e-9 {
        return None;
    }
    let c = mb[k] / ma[k];
    if (c - 1.0).abs() < 1e-9 || !c.is_finite() {
        return None;
    }
    for (a, b) in pairs {
        let ma = as_matrix(a, b.shape());
        let mb = as_matrix(b, a.shape());
        if ma.shape() != mb.shape() {
            return None;
        }
        if !ma.iter().zip(mb.iter()).all(|(x, y)| close(c * x, *y)) {
            return None;
        }
    }
    Some(c)
}

/// `2`, `1/2`, `-3/2`, or a decimal.
fn fraction(c: f64) -> String {
    for q in 1..=12i64 {
        let p = c * q as f64;
        if (p - p.round()).abs() < 1e-6 && p.round().abs() <= 100.0 {
            let p = p.round() as i64;
            return if q == 1 {
                format!("{p}")
            } else {
                format!("{p}/{q}")
            };
        }
    }
    format!("{c:.4}")
}

impl Checker<'_> {
    /// The verdict of sampling this typing, which rests on its kinds.
    pub(super) fn sampled(&self, t: Typed, info: &SymInfo) -> Verdict {
        let reading = self.typed_reading(&t.inf);
        let expm = t.inf.expm;
        let mut v = self.sampled_typed(t, info);
        if expm && matches!(v.outcome, Outcome::Pass | Outcome::Fail(_)) {
            v.message = format!("{} ({})", v.message, super::EXPM_READING);
        }
        v.reading = Some(reading);
        v
    }

    fn sampled_typed(&self, t: Typed, info: &SymInfo) -> Verdict {
        let tr = match self.trials(&t, &BTreeSet::new()) {
            Ok(tr) => tr,
            Err(v) => return *v,
        };
        let max_err = tr.steps.iter().map(|s| s.err).fold(0.0, f64::max);
        // runtime shape problems
        if let Some((i, st)) = tr.steps.iter().enumerate().find(|(_, s)| s.shape.is_some()) {
            let (a, b) = st.shape.clone().unwrap_or_default();
            let msg = if b.is_empty() {
                a
            } else {
                format!("step {}: left side is {a}, right side is {b}", i + 1)
            };
            let mut v = verdict(Outcome::Fail(FailKind::Shape), msg, self.s);
            v.trials = tr.trials;
            return v;
        }
        let failing = tr.steps.iter().position(|s| s.err > TOL);
        // `\psi^* \psi' - \psi \psi^{*\prime}` read with real numbers: terms that cancel
        // on both sides at every point are no evidence (a side written as 0 is)
        let vanishing = tr
            .steps
            .iter()
            .all(|s| s.pairs.iter().all(|(a, b)| all_zero(a) && all_zero(b)))
            && !t.members.iter().any(written_zero);
        if failing.is_none() && vanishing && tr.trials > 0 {
            return verdict(
                Outcome::Skip(SkipReason::Ambiguous),
                "both sides are zero at every point sampled (their terms cancel under the \
                 checker's reading): no evidence either way"
                    .into(),
                self.s,
            );
        }
        let Some(i) = failing else {
            let mut v = verdict(
                Outcome::Pass,
                format!(
                    "holds at {} random points (largest error {:.1e})",
                    tr.trials, max_err
                ),
                self.s,
            );
            v.max_error = Some(max_err);
            v.trials = tr.trials;
            return v;
        };
        let st = &tr.steps[i];
        let prefix = if t.members.len() > 2 {
            format!(
                "step {} (`{}` = `{}`): ",
                i + 1,
                self.id.texts.get(i).cloned().unwrap_or_default(),
                self.id.texts.get(i + 1).cloned().unwrap_or_default()
            )
        } else {
            String::new()
        };
        let (msg, cex) = match &st.worst {
            Some(w) => {
                let at = match st.pairs.get(w.trial).map(|p| &p.0) {
                    Some(Val::M(_)) => format!(" at entry ({}, {})", w.entry.0 + 1, w.entry.1 + 1),
                    _ => String::new(),
                };
                (
                    format!(
                        "{prefix}the sides differ: largest relative error {}{at}: left {:.6}, right {:.6}",
                        relative(st.err),
                        w.a,
                        w.b
                    ),
                    format!(
                        "trial {}: {}; left {:.6} vs right {:.6}{at} (seed {})",
                        w.trial + 1,
                        w.sizes,
                        w.a,
                        w.b,
                        self.s.seed
                    ),
                )
            }
            None => (format!("{prefix}the sides differ"), String::new()),
        };
        // a difference within the rounding of a number written with decimals (at
        // most a few percent)
        if let Some(w) = &st.worst
            && let Some((tol, num)) = super::rounding(&self.id.texts)
            && (w.a - w.b).abs() <= (2.0 * tol).min(ROUNDING_AT_MOST) * w.a.abs().max(w.b.abs())
        {
            return verdict(
                Outcome::Skip(SkipReason::Ambiguous),
                format!(
                    "the sides differ by no more than the rounding of `{num}`, a number written \
                     with decimals: {msg}"
                ),
                self.s,
            );
        }
        let mut v = verdict(Outcome::Fail(FailKind::Value), msg, self.s);
        v.max_error = Some(max_err);
        v.trials = tr.trials;
        v.counterexample = Some(cex);
        v.hint = self.hints(&t, i, st, info);
        v
    }

    pub(super) fn hints(&self, t: &Typed, i: usize, st: &Step, info: &SymInfo) -> Option<String> {
        let mut hints = Vec::new();
        // which side is the derivative: hints speak of the other side
        let deriv_left = t.members[i].has_deriv() || !t.members[i + 1].has_deriv();
        let pairs: Vec<(Val<f64>, Val<f64>)> = st
            .pairs
            .iter()
            .map(|(a, b)| {
                if deriv_left {
                    (a.clone(), b.clone())
                } else {
                    (b.clone(), a.clone())
                }
            })
            .collect();
        let side = if deriv_left { "right" } else { "left" };
        // transpose
        if pairs.iter().all(|(a, b)| transpose_close(a, b)) {
            let other = match self.layout {
                Layout::Numerator => "denominator",
                Layout::Denominator => "numerator",
            };
            hints.push(format!(
                "layout: this is the {other}-layout answer (the transpose)"
            ));
        }
        // constant factor
        if let Some(c) = factor(&pairs) {
            if (c + 1.0).abs() < 1e-6 {
                hints.push(format!(
                    "sign: the {side} side is the negative of the derivative"
                ));
            } else if c.abs() < 1e-9 {
            } else {
                let f = fraction(c);
                hints.push(format!(
                    "factor {f}: the {side} side is {f} times the derivative"
                ));
            }
        }
        // symmetric matrices
        if hints.is_empty() {
            let wrts: BTreeSet<String> = {
                let mut w = BTreeSet::new();
                for m in &t.members {
                    m.walk(&mut |x| {
                        if let Expr::Deriv(_, d) = x {
                            w.insert(d.wrt.key());
                        }
                    });
                }
                w
            };
            let mut square: Vec<String> = Vec::new();
            let mut keys: Vec<&String> = t.inf.syms.keys().collect();
            keys.sort();
            for k in keys {
                if wrts.contains(k) {
                    continue;
                }
                if let Ty::M(r, c) = t.inf.norm(t.inf.syms[k])
                    && t.inf.dims.find(r) == t.inf.dims.find(c)
                    && !t.inf.dims.is_one(r)
                {
                    square.push(k.clone());
                }
            }
            if !square.is_empty() {
                let all: BTreeSet<String> = square.iter().cloned().collect();
                if self.passes(t, i, &all) {
                    let name = |k: &String| info.names.get(k).cloned().unwrap_or_else(|| k.clone());
                    let single = square
                        .iter()
                        .find(|k| self.passes(t, i, &std::iter::once((*k).clone()).collect()));
                    let who = match single {
                        Some(k) => format!("{} is symmetric", name(k)),
                        None => {
                            let names: Vec<String> = square.iter().map(name).collect();
                            format!("{} are symmetric", names.join(" and "))
                        }
                    };
                    hints.push(format!("holds only when {who}"));
                }
            }
        }
        if hints.is_empty() {
            None
        } else {
            Some(hints.join("; "))
        }
    }

    fn passes(&self, t: &Typed, i: usize, symmetric: &BTreeSet<String>) -> bool {
        match self.trials(t, symmetric) {
            Ok(tr) => tr
                .steps
                .get(i)
                .is_some_and(|s| s.err <= TOL && s.shape.is_none()),
            Err(_) => false,
        }
    }
}

/// The largest relative difference the rounding of a written number may excuse.
const ROUNDING_AT_MOST: f64 = 0.05;

/// A relative error for a message: three decimals, or three significant digits
/// below 0.001 (so a small difference never reads `0.000`).
fn relative(e: f64) -> String {
    if e >= 1e-3 || e == 0.0 {
        format!("{e:.3}")
    } else {
        format!("{e:.2e}")
    }
}

/// Every entry zero, up to rounding (`X(X^T X)^{-1}X^T y - y` with X square).
fn all_zero(v: &Val<f64>) -> bool {
    const ROUNDING: f64 = 1e-9;
    match v {
        Val::S(x) => x.abs() < ROUNDING,
        Val::M(m) => m.iter().all(|x| x.abs() < ROUNDING),
        Val::Zero => true,
    }
}

/// A member written as a zero (`0`, `\mathbf{0}`, `\vec{0}^T`).
fn written_zero(e: &Expr) -> bool {
    match e {
        Expr::Num(x) => *x == 0.0,
        Expr::ZeroAny | Expr::Zeros(_) => true,
        Expr::Post(a, _) | Expr::Neg(a) => written_zero(a),
        _ => false,
    }
}
