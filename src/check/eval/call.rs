//! Applying a built-in function: element-wise ones through the notation table
//! (domain, kinks, value), the others (softmax, sum, diag, trace, det, max, vec, the
//! matrix exponential) here.

use nalgebra::DMatrix;

use crate::check::notation::{Domain, Func, ShapeRule, elementwise};
use crate::check::syntax::Expr;

use super::value::{Val, entries, expm, map, pair_entries, zip};
use super::{Cx, EvalErr, Num, R, domain, eval};

pub(super) fn call<T: Num>(f: Func, args: &[Expr], cx: &mut Cx<T>) -> R<T> {
    let Some(a0) = args.first() else {
        return Err(EvalErr::Unsupported("a function without arguments".into()));
    };
    let v = eval(a0, cx)?;
    let info = f.info();
    match info.shape {
        ShapeRule::ElementWise | ShapeRule::ElementWiseNoMatrix => elementwise_call(f, v, a0, cx),
        ShapeRule::MatrixFunction => match v {
            // of a square matrix the matrix function (shape inference made it square)
            Val::M(m) if m.nrows() > 1 && m.ncols() > 1 && m.is_square() => Ok(Val::M(expm(m)?)),
            v => elementwise_call(f, v, a0, cx),
        },
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
    let arg = v.clone();
    let out = map(v, |x| elementwise(f, x).unwrap_or(x));
    // (a ramp or a step is zero away from zero as it should be)
    let zero_ok = matches!(f, Func::Relu | Func::Step);
    if let Some(what) = super::out_of_range(&arg, &out, !zero_ok) {
        return domain(what, a0);
    }
    Ok(out)
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
