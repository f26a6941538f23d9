//! Derivatives by forward-mode AD (one dual-number pass per entry of the variable),
//! checked against central differences, nested for higher orders, and arranged in
//! the layout.

use std::collections::HashMap;

use nalgebra::DMatrix;
use num_dual::Dual64;

use crate::check::Otimes;
use crate::check::syntax::{Deriv, Expr, VecOp};

use super::value::{Val, entries, finite, lift, norm};
use super::{Cx, EvalErr, eval, syms_of};

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

/// How deep derivatives of derivatives are taken (a fifth prime is refused): each
/// level evaluates the one inside at several points for each entry of its variable,
/// so the work grows exponentially with the depth.
const MAX_NESTED: usize = 4;

/// How many derivatives are nested in `e` at its deepest.
fn nesting(e: &Expr) -> usize {
    match e {
        Expr::Deriv(_, d) => 1 + nesting(&d.of),
        _ => e.children().into_iter().map(nesting).max().unwrap_or(0),
    }
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
        let depth = nesting(&d.of) + 1;
        if depth > MAX_NESTED {
            return Err(EvalErr::Unsupported(format!(
                "too costly to evaluate: derivatives nested {depth} deep (at most {MAX_NESTED} \
                 are evaluated; each level multiplies the work)"
            )));
        }
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
    if let Some(op) = d.op {
        // the Jacobian's rows are the field's components, its columns the variable's
        if m != k || (yr != 1 && yc != 1) || (xr != 1 && xc != 1) {
            return Err(EvalErr::Shape(format!(
                "the {} of a {yr}×{yc} field by a {xr}×{xc} variable",
                op.name()
            )));
        }
        return match op {
            VecOp::Div => Ok(Val::S(jac.trace())),
            VecOp::Curl if m == 3 => Ok(Val::M(DMatrix::from_vec(
                3,
                1,
                vec![
                    jac[(2, 1)] - jac[(1, 2)],
                    jac[(0, 2)] - jac[(2, 0)],
                    jac[(1, 0)] - jac[(0, 1)],
                ],
            ))),
            VecOp::Curl => Err(EvalErr::Unsupported(format!(
                "the curl of a field with {m} components (only 3-vectors have a curl)"
            ))),
        };
    }
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
    } else if (yc == 1 || yr == 1) && (xr == 1 || xc == 1) {
        // a row vector's entries are read as its column's (see `Infer::deriv_ty`)
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
