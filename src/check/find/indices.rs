//! Indices: free indices, entries and components of vectors, sums' indices bound,
//! `\nabla` fixed.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

use crate::check::SkipReason;
use crate::check::notation::Func;
use crate::check::notation::{NUMBER_LETTERS, is_constant_letter, is_index_letter};
use crate::check::syntax::{
    self, ANGLE_PAIR, BinOp, COORDINATE_POINT, Deriv, Expr, NormKind, PostOp, Sym, TUPLE, VecOp,
};

use super::Skip;
use super::identity::abstract_in;

/// Abstract functions, indices, dimension variables, ids.
pub(super) fn resolve(members: Vec<Expr>) -> Result<(Vec<Expr>, Vec<String>), Skip> {
    let mut members: Vec<Expr> = curves(coordinates(members))
        .into_iter()
        .map(|e| {
            // `\langle a, b \rangle` that coordinates did not make a vector: the inner
            // product, `sum(a ⊙ b)`
            e.rewrite(&mut |x| match x {
                Expr::Apply(name, mut entries) if name == ANGLE_PAIR && entries.len() == 2 => {
                    let b = entries.pop().unwrap_or(Expr::ZeroAny);
                    let a = entries.pop().unwrap_or(Expr::ZeroAny);
                    Expr::Call(Func::Sum, vec![Expr::bin(BinOp::Had, a, b)])
                }
                // `\sum_k \frac{\partial}{\partial z_j} y_k \log p_k`: the derivative
                // of the sum (a derivative's value does not depend on a bound index)
                Expr::Sum {
                    idx,
                    lo,
                    hi,
                    body,
                    prod: false,
                } if matches!(body.as_ref(), Expr::Deriv(_, d)
                    if d.wrt.sub.as_deref() != Some(idx.as_str())
                        && d.entry.as_deref() != Some(idx.as_str())
                        && d.wrt.base != idx) =>
                {
                    let Expr::Deriv(id, mut d) = *body else {
                        return Expr::ZeroAny;
                    };
                    let of = std::mem::replace(&mut d.of, Expr::ZeroAny);
                    d.of = Expr::Sum {
                        idx,
                        lo,
                        hi,
                        body: of.bx(),
                        prod: false,
                    };
                    Expr::Deriv(id, d)
                }
                // `\operatorname{softmax}(z_j)`: entry j of the softmax of z (of a
                // scalar, it would be 1)
                Expr::Call(Func::Softmax, mut args)
                    if matches!(args.as_slice(), [Expr::Var(v)] if v.sub.as_deref().is_some_and(is_index_letter)) =>
                {
                    let Some(Expr::Var(mut v)) = args.pop() else {
                        return Expr::ZeroAny;
                    };
                    let j = v.sub.take().unwrap_or_default();
                    Expr::Index(Expr::Call(Func::Softmax, vec![Expr::Var(v)]).bx(), vec![j])
                }
                other => other,
            })
        })
        .collect();
    let mut tuple = false;
    for e in &members {
        e.walk(&mut |x| {
            if matches!(x, Expr::Apply(n, _) if n == TUPLE) {
                tuple = true;
            }
        });
    }
    if tuple {
        return Err(Skip {
            kind: SkipReason::Unsupported,
            message: "a tuple `(a, b)` (a vector only as the field or the gradient of \
                      coordinates x, y, z)"
                .into(),
        });
    }
    refused_derivatives(&members)?;
    for e in members.iter_mut() {
        let taken = std::mem::replace(e, Expr::ZeroAny);
        *e = fix_nabla(taken)?;
        if let Some(s) = abstract_in(e) {
            return Err(s);
        }
    }
    // dimension variables: the upper limits of sums
    let mut dimvars = BTreeSet::new();
    for e in &members {
        e.walk(&mut |x| {
            if let Expr::Sum { hi: Some(h), .. } = x
                && let Expr::Var(s) = h.as_ref()
                && !s.bold
            {
                dimvars.insert(s.key());
            }
        });
    }
    let comps = components(&members);
    let members = bind_samples(members)?;
    let free = free_indices(&members);
    shifted_entries(&members, &free)?;
    let members = by_entries(members, &free)?;
    label_or_entry(&members)?;
    let mut out = Vec::new();
    for e in members {
        let e = bind_indices(e, &free)?;
        out.push(components_and_sizes(e, &comps, &dimvars)?);
    }
    let out = vector_families(out)?;
    let res = fresh_ids(out)?;
    Ok((res, free))
}

/// Derivatives the checker refuses: holding fixed a symbol the operand does not
/// have; a time derivative `\dot{q}` next to a derivative by `t`.
fn refused_derivatives(members: &[Expr]) -> Result<(), Skip> {
    time_derivative_dots(members)?;
    // a partial derivative holding symbols fixed is the plain partial when they are
    // among the operand's symbols (the other variables are then fixed too)
    let mut bad_held = None;
    for e in members {
        e.walk(&mut |x| {
            if let Expr::Deriv(_, d) = x
                && !d.held.is_empty()
            {
                let mut keys = BTreeSet::new();
                d.of.walk(&mut |y| {
                    if let Expr::Var(s) = y {
                        keys.insert(s.key());
                    }
                });
                if let Some(h) = d.held.iter().find(|h| !keys.contains(&h.key())) {
                    bad_held.get_or_insert_with(|| h.show());
                }
            }
        });
    }
    if let Some(h) = bad_held {
        return Err(Skip {
            kind: SkipReason::Unsupported,
            message: format!(
                "a partial derivative holding {h} fixed, which is not among the variables of \
                 what is differentiated"
            ),
        });
    }
    Ok(())
}

/// Why a time derivative written with a dot is refused.
pub(super) const TIME_DOTS: &str = "a time derivative `\\dot{}` next to a derivative by t";

/// `\dot{q}` is a variable of its own (a Lagrangian's velocity), except next to a
/// derivative by the time `t`, where it is q's time derivative, which the checker
/// refuses. (Also asked before definitions are substituted, so that this reason
/// comes before the one about undefined quantities.)
pub(super) fn time_derivative_dots(members: &[Expr]) -> Result<(), Skip> {
    let (mut dotted, mut by_t) = (false, false);
    for e in members {
        e.walk(&mut |x| match x {
            Expr::Var(s) if s.base.starts_with("\\dot{") || s.base.starts_with("\\ddot{") => {
                dotted = true
            }
            Expr::Deriv(_, d) if d.wrt.base == "t" => by_t = true,
            _ => {}
        });
    }
    if dotted && by_t {
        return Err(Skip {
            kind: SkipReason::Unsupported,
            message: TIME_DOTS.into(),
        });
    }
    Ok(())
}

/// Derivatives by a component `x_i` with `i` a free index: by entry `i` of `x`.
fn by_entries(members: Vec<Expr>, free: &[String]) -> Result<Vec<Expr>, Skip> {
    Ok(if free.is_empty() {
        members
    } else {
        members
            .into_iter()
            .map(|e| {
                e.map(&mut |x| match x {
                    Expr::Deriv(id, mut d) => {
                        if let Some(s) = d.wrt.sub.clone()
                            && free.contains(&s)
                        {
                            d.wrt.sub = None;
                            d.entry = Some(s);
                        }
                        Ok(Expr::Deriv(id, d))
                    }
                    other => Ok(other),
                })
            })
            .collect::<Result<_, _>>()
            .map_err(|m| Skip {
                kind: SkipReason::Parse,
                message: m,
            })?
    })
}

/// `x_2` next to a derivative by `\mathbf{x}` is a component; the upper limits of
/// sums are dimension variables; a plain `0` is a zero of any shape.
fn components_and_sizes(
    e: Expr,
    comps: &BTreeMap<String, (Sym, usize)>,
    dimvars: &BTreeSet<String>,
) -> Result<Expr, Skip> {
    let e = if comps.is_empty() {
        e
    } else {
        e.map(&mut |x| match x {
            Expr::Var(s) if !s.bold => match (&s.sub, comps.get(&s.base)) {
                (Some(k), Some((base, n))) => match k.parse::<usize>() {
                    Ok(k) if k >= 1 => Ok(Expr::At(Expr::Var(base.clone()).bx(), k, *n)),
                    _ => Ok(Expr::Var(s)),
                },
                _ => Ok(Expr::Var(s)),
            },
            other => Ok(other),
        })
        .map_err(|m| Skip {
            kind: SkipReason::Parse,
            message: m,
        })?
    };
    let e = if dimvars.is_empty() {
        e
    } else {
        e.map(&mut |x| match x {
            Expr::Var(s) if dimvars.contains(&s.key()) => Ok(Expr::DimVar(s.key())),
            other => Ok(other),
        })
        .map_err(|m| Skip {
            kind: SkipReason::Parse,
            message: m,
        })?
    };
    Ok(match e {
        Expr::Num(0.0) => Expr::ZeroAny,
        e => e,
    })
}

/// `x_i` both as an entry of a vector and as one of several vectors `\mathbf{x}_i`:
/// the i-th vector.
fn vector_families(out: Vec<Expr>) -> Result<Vec<Expr>, Skip> {
    let mut cols = BTreeSet::new();
    let mut entries = BTreeSet::new();
    for e in &out {
        e.walk(&mut |x| match x {
            Expr::Col(b, _) => {
                if let Expr::Var(s) = b.as_ref() {
                    cols.insert(s.base.clone());
                }
            }
            Expr::Index(b, _) => {
                // (a family of training examples is a matrix: its columns and
                // its entries)
                if let Expr::Var(s) = b.as_ref()
                    && !s.base.ends_with("*)}")
                    && !s.base.ends_with("*]}")
                {
                    entries.insert(s.base.clone());
                }
            }
            _ => {}
        });
    }
    // `x` and `\mathbf{x}` in one identity are one symbol: `x_i` next to
    // `\mathbf{x}_i` is the i-th vector too
    let both: BTreeSet<String> = cols.intersection(&entries).cloned().collect();
    Ok(if both.is_empty() {
        out
    } else {
        let mut out2 = Vec::new();
        for e in out {
            let e = e
                .map(&mut |x| match x {
                    Expr::Index(b, idx) => match (*b, idx.as_slice()) {
                        (Expr::Var(s), [i]) if both.contains(&s.base) && !s.upper => {
                            let family = Sym {
                                base: s.base.clone(),
                                sub: Some("*".into()),
                                bold: true,
                                upper: false,
                            };
                            Ok(Expr::Col(Expr::Var(family).bx(), i.clone()))
                        }
                        (Expr::Var(s), _) if both.contains(&s.base) => Err(format!(
                            "{}_ij is used as the entry of a matrix and {0}_i as one of several vectors",
                            s.base.trim_start_matches('\\')
                        )),
                        (b, _) => Ok(Expr::Index(b.bx(), idx)),
                    },
                    other => Ok(other),
                })
                .map_err(|m| Skip {
                    kind: SkipReason::Unsupported,
                    message: m,
                })?;
            out2.push(e);
        }
        out2
    })
}

/// Unique ids for the nodes that carry one (ones, zeros, identities, cases,
/// derivatives).
fn fresh_ids(out: Vec<Expr>) -> Result<Vec<Expr>, Skip> {
    let ids = Cell::new(0u32);
    let next = || {
        let v = ids.get();
        ids.set(v + 1);
        v
    };
    let mut res = Vec::new();
    for e in out {
        let e = e
            .map(&mut |x| {
                Ok(match x {
                    Expr::Ones(_) => Expr::Ones(next()),
                    Expr::Zeros(_) => Expr::Zeros(next()),
                    Expr::Ident(_) => Expr::Ident(next()),
                    Expr::Cases(_, b) => Expr::Cases(next(), b),
                    Expr::Deriv(_, d) => Expr::Deriv(next(), d),
                    other => other,
                })
            })
            .map_err(|m| Skip {
                kind: SkipReason::Parse,
                message: m,
            })?;
        res.push(e);
    }
    Ok(res)
}

/// Index letters of derivatives by a component `\partial x_i` of a vector `x`
/// that the identity also uses as a whole (`x`, or `x_j` in a sum over `j`).
pub(super) fn free_indices(members: &[Expr]) -> Vec<String> {
    let mut cand: Vec<(String, String)> = Vec::new();
    for e in members {
        deriv_entries_outside_sums(e, &mut Vec::new(), &mut cand);
    }
    let mut out = Vec::new();
    for (base, idx) in cand {
        let mut sum_idx = BTreeSet::new();
        let mut whole = false;
        for e in members {
            e.walk(&mut |x| {
                if let Expr::Sum { idx, .. } = x {
                    sum_idx.insert(idx.clone());
                }
            });
        }
        for e in members {
            e.walk(&mut |x| {
                if let Expr::Var(s) = x
                    && s.base == base
                {
                    match &s.sub {
                        None => whole = true,
                        Some(j) if sum_idx.contains(j) => whole = true,
                        _ => {}
                    }
                }
            });
        }
        // (the index of a sum elsewhere, a definition's `\sum_{j=1}^n \theta_j^2`, is
        // that sum's own variable: a derivative by `\theta_j` outside it is by a free
        // j all the same)
        if whole && !out.contains(&idx) {
            out.push(idx);
        }
    }
    // the other entries of those vectors outside sums over their index (`z_i` next
    // to a derivative by `z_j`): their indices are free too
    let bases: BTreeSet<String> = cand_bases(members, &out);
    if !bases.is_empty() {
        for e in members {
            entry_letters_outside_sums(e, &bases, &mut Vec::new(), &mut out);
        }
    }
    // entries `p_k` of vectors outside any sum (see `entries_of_vectors`)
    let mut sum_idx = BTreeSet::new();
    for e in members {
        e.walk(&mut |x| {
            if let Expr::Sum { idx, .. } = x {
                sum_idx.insert(idx.clone());
            }
        });
    }
    for e in members {
        e.walk(&mut |x| {
            if let Expr::Index(_, idxs) = x {
                for i in idxs {
                    if !sum_idx.contains(i) && !out.contains(i) {
                        out.push(i.clone());
                    }
                }
            }
        });
    }
    out
}

/// Vectors differentiated by (`\partial \mathbf{x}`) whose components are written
/// `x_1, x_2, ...` in the identity: base name → (the vector symbol, its length =
/// the largest component index).
fn components(members: &[Expr]) -> BTreeMap<String, (Sym, usize)> {
    let mut wrts: BTreeMap<String, Sym> = BTreeMap::new();
    for e in members {
        e.walk(&mut |x| {
            if let Expr::Deriv(_, d) = x
                && d.wrt.sub.is_none()
                && !d.wrt.upper
            {
                wrts.insert(d.wrt.base.clone(), d.wrt.clone());
            }
        });
    }
    let mut out: BTreeMap<String, (Sym, usize)> = BTreeMap::new();
    if wrts.is_empty() {
        return out;
    }
    for e in members {
        e.walk(&mut |x| {
            if let Expr::Var(s) = x
                && !s.bold
                && let (Some(sub), Some(w)) = (&s.sub, wrts.get(&s.base))
                && let Ok(k) = sub.parse::<usize>()
                && (1..=9).contains(&k)
            {
                let e = out.entry(s.base.clone()).or_insert((w.clone(), 0));
                e.1 = e.1.max(k);
            }
        });
    }
    // a single component does not make a vector
    out.retain(|_, (_, n)| *n >= 2);
    out
}

/// The coordinates of a point, in order: `\nabla(x^2 + yz)`, `\nabla \cdot (xy, yz,
/// zx)` differentiate by the point they make.
const COORDINATES: [&str; 3] = ["x", "y", "z"];

/// A gradient, divergence or curl with no subscript (`\nabla`, `\nabla \cdot`,
/// `\nabla \times`) of an expression in two or three of the coordinates x, y, z and
/// no vector: by the point (x, y, z) (or (x, y)), each coordinate its component, in
/// the whole identity.
fn coordinates(members: Vec<Expr>) -> Vec<Expr> {
    let mut used: BTreeSet<usize> = BTreeSet::new();
    let mut other = false;
    let mut any = false;
    // a field's components: as many coordinates (a curl needs three)
    let mut len = 0;
    for e in &members {
        e.walk(&mut |x| match x {
            Expr::Deriv(_, d) if d.wrt.base.is_empty() => {
                any = true;
                if d.op == Some(VecOp::Curl) {
                    len = 3;
                } else if let Expr::Apply(name, entries) = &d.of
                    && name == TUPLE
                    && d.op.is_some()
                {
                    len = len.max(entries.len());
                }
                d.of.walk(&mut |y| {
                    if let Expr::Var(s) = y {
                        match COORDINATES.iter().position(|c| *c == s.base) {
                            Some(k) if !s.bold && s.sub.is_none() => {
                                used.insert(k);
                            }
                            _ if s.bold => other = true,
                            _ => {}
                        }
                    }
                });
            }
            Expr::Deriv(..) => other = true,
            Expr::Var(s) if s.bold => other = true,
            _ => {}
        });
    }
    if !any || other || used.len() < 2 {
        return members;
    }
    let n = used.iter().max().map_or(0, |m| m + 1).max(2).max(len);
    if n > COORDINATES.len() {
        return members;
    }
    let point = Sym {
        base: COORDINATE_POINT.into(),
        sub: None,
        bold: true,
        upper: false,
    };
    members
        .into_iter()
        .map(|e| {
            e.rewrite(&mut |x| match x {
                Expr::Apply(name, entries) if name == TUPLE => column(entries),
                // `\langle 2x, 2y \rangle`: a vector of scalar entries
                Expr::Apply(name, entries)
                    if name == ANGLE_PAIR && entries.iter().all(plain_scalar) =>
                {
                    column(entries)
                }
                Expr::Var(s)
                    if !s.bold
                        && s.sub.is_none()
                        && COORDINATES[..n].contains(&s.base.as_str()) =>
                {
                    let k = COORDINATES.iter().position(|c| *c == s.base).unwrap_or(0);
                    Expr::At(Expr::Var(point.clone()).bx(), k + 1, n)
                }
                Expr::Deriv(id, d) if d.wrt.base.is_empty() => Expr::Deriv(
                    id,
                    Box::new(Deriv {
                        wrt: point.clone(),
                        ..*d
                    }),
                ),
                other => other,
            })
        })
        .collect()
}

/// A curve written as a tuple of its coordinates, `\alpha(s) = (r\cos\frac{s}{r},
/// r\sin\frac{s}{r}, 0)`, differentiated by its parameter (`\alpha'(s) = (-\sin
/// \frac{s}{r}, \cos\frac{s}{r}, 0)`): every tuple of the identity is a column vector,
/// and `|\alpha'(s)|` of one its length.
fn curves(members: Vec<Expr>) -> Vec<Expr> {
    let mut curve = false;
    for e in &members {
        e.walk(&mut |x| {
            if let Expr::Deriv(_, d) = x
                && !d.wrt.base.is_empty()
                && !d.wrt.bold
                && d.op.is_none()
                && tuple_valued(&d.of)
            {
                curve = true;
            }
        });
    }
    // the identity writes a tuple itself (`\alpha''(s) = 0`, `\alpha'' = |\alpha''| N`
    // about a curve defined earlier are conditions and relations, not read here)
    fn outside(e: &Expr) -> bool {
        match e {
            Expr::Apply(n, _) if n == TUPLE => true,
            Expr::Deriv(..) => false,
            _ => e.children().into_iter().any(outside),
        }
    }
    let written = members.iter().any(outside);
    if !curve || !written {
        return members;
    }
    members
        .into_iter()
        .map(|e| {
            e.rewrite(&mut |x| match x {
                Expr::Apply(name, entries) if name == TUPLE => column(entries),
                Expr::Call(Func::Abs, mut args)
                    if args.len() == 1 && args[0].any(&|y| matches!(y, Expr::Matrix(_))) =>
                {
                    Expr::Norm(args.remove(0).bx(), NormKind::Plain)
                }
                other => other,
            })
        })
        .collect()
}

/// Is this an expression of plain letters and numbers (no vector, matrix or
/// derivative in it: an entry of a vector, not an argument of an inner product)?
fn plain_scalar(e: &Expr) -> bool {
    !e.any(&|x| match x {
        // (the coordinates are entries of the point by now)
        Expr::Var(s) => (s.bold || s.upper) && s.base != COORDINATE_POINT,
        Expr::Deriv(..) | Expr::Matrix(_) | Expr::Ones(_) | Expr::Zeros(_) | Expr::Ident(_) => true,
        Expr::Apply(..) => true,
        _ => false,
    })
}

/// A tuple's entries as a column vector.
fn column(entries: Vec<Expr>) -> Expr {
    Expr::Matrix(entries.into_iter().map(|e| vec![e]).collect())
}

/// A tuple, or a derivative of one (the operand of `\alpha''(s)`, the curve's
/// definition substituted).
fn tuple_valued(e: &Expr) -> bool {
    match e {
        Expr::Apply(n, _) => n == TUPLE,
        Expr::Deriv(_, d) => tuple_valued(&d.of),
        _ => false,
    }
}

/// `\nabla f` without a subscript: the variable is the only symbol in `f`.
fn fix_nabla(e: Expr) -> Result<Expr, Skip> {
    let mut err = None;
    let r = e.map(&mut |x| match x {
        Expr::Deriv(id, d) if d.wrt.base.is_empty() && d.op.is_some() => match field_variable(&d) {
            Ok(wrt) => Ok(Expr::Deriv(id, Box::new(Deriv { wrt, ..*d }))),
            Err(s) => {
                err = Some(s);
                Err(String::new())
            }
        },
        Expr::Deriv(id, d) if d.wrt.base.is_empty() => {
            // `\nabla g`, `\nabla \phi` of a bare symbol (definitions are in): the note
            // never said what g is a function of, so its gradient is unknown (a metric,
            // a potential, a Lagrange condition `\nabla f = \lambda \nabla g`), not
            // the derivative of g by itself
            if let Expr::Var(s) = &d.of {
                err = Some(Skip {
                    kind: SkipReason::Abstract,
                    message: format!(
                        "the gradient of {}, which this note does not define as a function",
                        s.show()
                    ),
                });
                return Err(String::new());
            }
            let mut syms: Vec<Sym> = Vec::new();
            d.of.walk(&mut |y| {
                if let Expr::Var(s) = y
                    && !syms.iter().any(|t| t.key() == s.key())
                {
                    syms.push(s.clone());
                }
            });
            // else the only vector among them (`\nabla(\tfrac12 k r^2)`, `r = \|\mathbf{x}\|`),
            // vectors named as constants aside (`\nabla (\mathbf{a}^T \mathbf{x})^2`)
            if syms.len() > 1 {
                let vectors: Vec<&Sym> = syms.iter().filter(|s| s.bold && !s.upper).collect();
                let varying: Vec<&Sym> = vectors
                    .iter()
                    .copied()
                    .filter(|s| !is_constant_letter(&s.base))
                    .collect();
                if let [v] = vectors.as_slice() {
                    let v = (*v).clone();
                    syms = vec![v];
                } else if let [v] = varying.as_slice() {
                    let v = (*v).clone();
                    syms = vec![v];
                }
            }
            if syms.len() == 1 {
                Ok(Expr::Deriv(
                    id,
                    Box::new(Deriv {
                        wrt: syms.remove(0),
                        ..*d
                    }),
                ))
            } else if let Some(f) = scalar_field(&syms) {
                // `\nabla (u v)`: of quantities the note never defines (fields)
                err = Some(undefined_field(f));
                Err(String::new())
            } else {
                err = Some(Skip {
                    kind: SkipReason::Unsupported,
                    message: "`\\nabla` without a subscript (with respect to which variable?)"
                        .into(),
                });
                Err(String::new())
            }
        }
        other => Ok(other),
    });
    r.map_err(|m| {
        err.unwrap_or(Skip {
            kind: SkipReason::Parse,
            message: m,
        })
    })
}

/// A plain letter among an operand's symbols (definitions are in) that may be a
/// scalar field: not a coordinate, not a constant by convention.
fn scalar_field(syms: &[Sym]) -> Option<&Sym> {
    syms.iter().find(|s| {
        !s.bold
            && !s.upper
            && s.sub.is_none()
            && !COORDINATES.contains(&s.base.as_str())
            && !is_constant_letter(&s.base)
            && !NUMBER_LETTERS.contains(&s.base.as_str())
    })
}

/// A scalar field the note never defines (`find::generic` reads it as an arbitrary
/// one).
fn undefined_field(s: &Sym) -> Skip {
    Skip {
        kind: SkipReason::Abstract,
        message: format!(
            "the field {}, which this note does not define as a function",
            s.show()
        ),
    }
}

/// Bold letters that name a point (a position, a state) and are the variable of
/// `\nabla \cdot`, `\nabla \times` without a subscript.
const POINT_LETTERS: &[&str] = &["x", "r", "y", "z", "q"];

/// The variable of a divergence or a curl written without a subscript (definitions
/// are in): the operand's only bold vector that is not a constant by convention
/// (`\mathbf{a}`, `\mathbf{b}`, `\mathbf{c}`, `\mathbf{k}`, Greek), when it names a
/// point (`\mathbf{x}`, `\mathbf{r}`, ...). A field the note never defines
/// (`\nabla \cdot \mathbf{F}`, `\nabla \cdot (\rho\mathbf{v})` with a velocity
/// `\mathbf{v}`), or one with a scalar the note never defines beside the point (`f`,
/// `u`, `\phi`: a scalar field), is abstract.
fn field_variable(d: &Deriv) -> Result<Sym, Skip> {
    let what = d.op.map_or("derivative", |o| o.name());
    let abstract_field = |m: String| Skip {
        kind: SkipReason::Abstract,
        message: m,
    };
    if let Expr::Var(s) = &d.of {
        // `\nabla \cdot \mathbf{x}`: the point itself
        if s.bold && !s.upper && POINT_LETTERS.contains(&s.base.as_str()) {
            return Ok(s.clone());
        }
        return Err(abstract_field(format!(
            "the {what} of {}, which this note does not define as a field",
            s.show()
        )));
    }
    let mut syms: Vec<Sym> = Vec::new();
    d.of.walk(&mut |y| {
        if let Expr::Var(s) = y
            && !syms.iter().any(|t| t.key() == s.key())
        {
            syms.push(s.clone());
        }
    });
    let vectors: Vec<&Sym> = syms
        .iter()
        .filter(|s| s.bold && !s.upper && !is_constant_letter(&s.base))
        .collect();
    let [v] = vectors.as_slice() else {
        if vectors.is_empty() {
            // no point: the field is of quantities the note leaves undefined
            // (`\nabla \cdot (\phi \mathbf{F})`): named when they can be
            if let Some(f) = syms
                .iter()
                .find(|s| (s.bold || s.upper) && !is_constant_letter(&s.base))
            {
                return Err(abstract_field(format!(
                    "the {what} of {}, which this note does not define as a field",
                    f.show()
                )));
            }
            if let Some(f) = scalar_field(&syms) {
                return Err(undefined_field(f));
            }
            return Err(abstract_field(format!(
                "the {what} of a field the note does not define as a function of a point \
                 (`\\mathbf{{x}}`)"
            )));
        }
        return Err(Skip {
            kind: SkipReason::Unsupported,
            message: format!(
                "the {what} without a subscript (with respect to which variable?): write \
                 `\\nabla_{{\\mathbf{{x}}}}`"
            ),
        });
    };
    if !POINT_LETTERS.contains(&v.base.as_str()) {
        return Err(abstract_field(format!(
            "the {what} of a field of {}, which this note does not define (a field of \
             position?)",
            v.show()
        )));
    }
    // a scalar the note never defined beside the point may be a field too
    let field = syms.iter().find(|s| {
        !s.bold
            && !s.upper
            && s.key() != v.key()
            && s.base != v.base
            && !is_constant_letter(&s.base)
            && !NUMBER_LETTERS.contains(&s.base.as_str())
    });
    if let Some(s) = field {
        return Err(abstract_field(format!(
            "the {what} of a field with {}, which this note does not define and may vary \
             with {}",
            s.show(),
            v.show()
        )));
    }
    Ok((*v).clone())
}

/// Turns `x_i` inside `\sum_i` (or `\dots x_i \dots`) into entry `i` of `x`.
fn bind_indices(e: Expr, bound: &[String]) -> Result<Expr, Skip> {
    match e {
        Expr::Sum {
            idx,
            lo,
            hi,
            body,
            prod,
        } => {
            let mut b = bound.to_vec();
            b.push(idx.clone());
            // the index written as a number (`\sum_{t=1}^n t\,c`): its value
            let body = body
                .map(&mut |x| match x {
                    Expr::Var(s) if !s.bold && s.sub.is_none() && s.base == idx => {
                        Ok(Expr::IdxVal(idx.clone(), lo))
                    }
                    other => Ok(other),
                })
                .map_err(|m| Skip {
                    kind: SkipReason::Parse,
                    message: m,
                })?;
            let body = bind_indices(body, &b)?;
            let hi = match hi {
                Some(h) => Some(bind_indices(*h, bound)?.bx()),
                None => None,
            };
            Ok(Expr::Sum {
                idx,
                lo,
                hi,
                body: body.bx(),
                prod,
            })
        }
        Expr::Dots(body, _) => {
            // the index: the first single-letter subscript i, j, k in the body
            let mut idx = None;
            body.walk(&mut |x| {
                if idx.is_some() {
                    return;
                }
                if let Expr::Var(s) = x
                    && let Some(sub) = &s.sub
                    && sub.len() == 1
                    && is_index_letter(sub)
                {
                    idx = Some(sub.clone());
                }
            });
            let Some(idx) = idx else {
                return Err(Skip {
                    kind: SkipReason::Unsupported,
                    message: "an ellipsis `\\dots` without an indexed entry like x_i".into(),
                });
            };
            let mut b = bound.to_vec();
            b.push(idx.clone());
            let body = bind_indices(*body, &b)?;
            Ok(Expr::Dots(body.bx(), idx))
        }
        Expr::Var(s) => {
            let Some(sub) = &s.sub else {
                return Ok(Expr::Var(s));
            };
            let letters: Vec<String> = sub.chars().map(|c| c.to_string()).collect();
            if !letters.is_empty()
                && letters.len() <= 2
                && letters.iter().all(|l| bound.contains(l))
            {
                if s.base == "\\delta" && !s.bold && letters.len() == 2 {
                    // the Kronecker delta `\delta_{ij}`: an entry of the identity
                    return Ok(Expr::Index(Expr::Ident(0).bx(), letters));
                }
                if s.bold && !s.upper && letters.len() == 1 {
                    // `\mathbf{e}_i`: the i-th standard basis vector
                    if s.base == "e" {
                        return Ok(Expr::Col(Expr::Ident(0).bx(), letters[0].clone()));
                    }
                    // `\mathbf{x}_i` in a sum over i: the i-th column of a matrix
                    let family = Sym {
                        base: s.base.clone(),
                        sub: Some("*".into()),
                        bold: true,
                        upper: false,
                    };
                    return Ok(Expr::Col(Expr::Var(family).bx(), letters[0].clone()));
                }
                let base = Sym {
                    base: s.base.clone(),
                    sub: None,
                    bold: s.bold,
                    upper: s.upper,
                };
                return Ok(Expr::Index(Expr::Var(base).bx(), letters));
            }
            Ok(Expr::Var(s))
        }
        Expr::Cases(id, brs) => {
            // an index that a branch's condition shares with a sum in the branches'
            // values (`\sum_i ... & \mathbf{w} \cdot \mathbf{x}_i + b > 0`): the
            // condition holds for every value of it
            let mut sum_idx: Vec<String> = Vec::new();
            for (v, _) in &brs {
                v.walk(&mut |x| {
                    if let Expr::Sum { idx, .. } = x
                        && !bound.contains(idx)
                        && !sum_idx.contains(idx)
                    {
                        sum_idx.push(idx.clone());
                    }
                });
            }
            let mut out = Vec::new();
            for (v, c) in brs {
                let v = bind_indices(v, bound)?;
                let c = if sum_idx.is_empty() {
                    bind_cond(c, bound)?
                } else {
                    bind_cond_all(c, bound, &sum_idx)?
                };
                out.push((v, c));
            }
            Ok(Expr::Cases(id, out))
        }
        Expr::Deriv(id, d) => {
            let d = *d;
            Ok(Expr::Deriv(
                id,
                Box::new(Deriv {
                    of: bind_indices(d.of, bound)?,
                    ..d
                }),
            ))
        }
        // recurse into children with the same bound set
        other => other.map_children(&mut |c| bind_indices(c, bound)),
    }
}

/// `bind_indices` in each expression of a condition.
fn bind_cond(c: syntax::Cond, bound: &[String]) -> Result<syntax::Cond, Skip> {
    Ok(match c {
        syntax::Cond::Always => syntax::Cond::Always,
        syntax::Cond::Rel(es, rs) => syntax::Cond::Rel(
            es.into_iter()
                .map(|e| bind_indices(e, bound))
                .collect::<Result<_, _>>()?,
            rs,
        ),
        syntax::Cond::And(cs) => syntax::Cond::And(
            cs.into_iter()
                .map(|c| bind_cond(c, bound))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// The index letters among `idxs` that `e` uses as a subscript (`x_i`, `A_{ij}`).
fn subscript_indices(e: &Expr, idxs: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    e.walk(&mut |x| {
        if let Expr::Var(s) = x
            && let Some(sub) = &s.sub
            && sub.chars().count() <= 2
        {
            for c in sub.chars() {
                let c = c.to_string();
                if idxs.contains(&c) && !out.contains(&c) {
                    out.push(c);
                }
            }
        }
    });
    out
}

/// A condition whose expressions use an index of a sum (`idxs`) that is not bound
/// around it: each such expression becomes the vector of its values over the index
/// (`\dots`), and the comparison holds entry by entry, so for every value.
fn bind_cond_all(c: syntax::Cond, bound: &[String], idxs: &[String]) -> Result<syntax::Cond, Skip> {
    Ok(match c {
        syntax::Cond::Always => syntax::Cond::Always,
        syntax::Cond::Rel(es, rs) => {
            let mut out = Vec::new();
            for e in es {
                let used = subscript_indices(&e, idxs);
                match used.as_slice() {
                    [] => out.push(bind_indices(e, bound)?),
                    [i] => {
                        let mut b = bound.to_vec();
                        b.push(i.clone());
                        out.push(Expr::Dots(bind_indices(e, &b)?.bx(), i.clone()));
                    }
                    _ => {
                        return Err(Skip {
                            kind: SkipReason::Unsupported,
                            message: format!(
                                "a condition over several sum indices ({})",
                                used.join(", ")
                            ),
                        });
                    }
                }
            }
            syntax::Cond::Rel(out, rs)
        }
        syntax::Cond::And(cs) => syntax::Cond::And(
            cs.into_iter()
                .map(|c| bind_cond_all(c, bound, idxs))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// The family a training example belongs to: `x^{(i)}` → `x^{(*)}`.
fn family_name(s: &Sym) -> Option<String> {
    let (stem, idx) = s.sample()?;
    let open = s.base[stem.len()..].chars().nth(2).unwrap_or('(');
    let close = if open == '[' { ']' } else { ')' };
    let _ = idx;
    Some(format!("{stem}^{{{open}*{close}}}"))
}

/// Does this product factor end in a transposed one (`\theta^T`, `2\theta^\top`)?
fn ends_transposed(e: &Expr) -> bool {
    match e {
        Expr::Post(_, PostOp::Transpose) => true,
        Expr::Bin(BinOp::Mul, _, b) => ends_transposed(b),
        _ => false,
    }
}

/// The families of training examples used as vectors: written bold, with an entry
/// (`x_j^{(i)}`), transposed, or multiplied by a transposed factor (`\theta^T
/// x^{(i)}`) or dotted with a bold vector.
fn sample_vector_families(members: &[Expr]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let fam = |e: &Expr| match e {
        Expr::Var(s) => family_name(s),
        _ => None,
    };
    for m in members {
        m.walk(&mut |x| match x {
            Expr::Var(s) if s.bold || s.sub.is_some() => {
                if let Some(f) = family_name(s) {
                    out.insert(f);
                }
            }
            Expr::Post(a, PostOp::Transpose) => {
                if let Some(f) = fam(a) {
                    out.insert(f);
                }
            }
            Expr::Bin(BinOp::Mul | BinOp::Dot, a, b) => {
                let vec_like = |e: &Expr| {
                    ends_transposed(e) || matches!(e, Expr::Var(v) if v.bold && !v.upper)
                };
                if let Some(f) = fam(b)
                    && vec_like(a)
                {
                    out.insert(f);
                }
                if let Some(f) = fam(a)
                    && matches!(b.as_ref(), Expr::Var(v) if v.bold && !v.upper)
                {
                    out.insert(f);
                }
            }
            _ => {}
        });
    }
    out
}

/// Training examples inside a sum over their index (`\sum_{i=1}^m (\theta^T
/// x^{(i)} - y^{(i)})^2`): `x^{(i)}` is column i of the matrix of examples when the family
/// is used as vectors, `y^{(i)}` entry i of the vector of examples otherwise, and
/// `x_j^{(i)}` entry (j, i). An example outside a sum over its index is one sample,
/// a symbol of its own.
fn bind_samples(members: Vec<Expr>) -> Result<Vec<Expr>, Skip> {
    let any = members
        .iter()
        .any(|m| m.any(&|x| matches!(x, Expr::Var(s) if s.sample().is_some())));
    if !any {
        return Ok(members);
    }
    let vectors = sample_vector_families(&members);
    let mut out = Vec::new();
    for m in members {
        out.push(samples_in(m, &[], &vectors)?);
    }
    Ok(out)
}

fn samples_in(e: Expr, sums: &[String], vectors: &BTreeSet<String>) -> Result<Expr, Skip> {
    match e {
        Expr::Sum {
            idx,
            lo,
            hi,
            body,
            prod,
        } => {
            let mut inner = sums.to_vec();
            inner.push(idx.clone());
            let body = samples_in(*body, &inner, vectors)?;
            let hi = match hi {
                Some(h) => Some(samples_in(*h, sums, vectors)?.bx()),
                None => None,
            };
            Ok(Expr::Sum {
                idx,
                lo,
                hi,
                body: body.bx(),
                prod,
            })
        }
        Expr::Var(s) => {
            let (Some((_, i)), Some(fam)) = (s.sample(), family_name(&s)) else {
                return Ok(Expr::Var(s));
            };
            if !sums.iter().any(|k| k == i) {
                // one example: a symbol of its own, a vector if its family is
                let vector = vectors.contains(&fam);
                return Ok(Expr::Var(Sym {
                    bold: s.bold || (vector && s.sub.is_none()),
                    ..s
                }));
            }
            let i = i.to_string();
            let vector = vectors.contains(&fam);
            let family = Expr::Var(Sym {
                base: fam,
                sub: None,
                bold: vector,
                upper: false,
            });
            match &s.sub {
                None if vector => Ok(Expr::Col(family.bx(), i)),
                None => Ok(Expr::Index(family.bx(), vec![i])),
                Some(j) if j.len() == 1 && j.chars().all(|c| c.is_ascii_lowercase()) => {
                    Ok(Expr::Index(family.bx(), vec![j.clone(), i]))
                }
                Some(j) => Err(Skip {
                    kind: SkipReason::Unsupported,
                    message: format!(
                        "index notation: the subscript {j} of the training example {} may be \
                         a label or an entry (such as x_0 = 1)",
                        s.show()
                    ),
                }),
            }
        }
        Expr::Deriv(id, d) => {
            let d = *d;
            Ok(Expr::Deriv(
                id,
                Box::new(Deriv {
                    of: samples_in(d.of, sums, vectors)?,
                    ..d
                }),
            ))
        }
        other => other.map_children(&mut |c| samples_in(c, sums, vectors)),
    }
}

/// Derivatives by an entry `x_i` (an index letter, plain font) not inside a sum over
/// that index: (base, index).
fn deriv_entries_outside_sums(e: &Expr, sums: &mut Vec<String>, out: &mut Vec<(String, String)>) {
    match e {
        Expr::Sum { idx, body, hi, .. } => {
            if let Some(h) = hi {
                deriv_entries_outside_sums(h, sums, out);
            }
            sums.push(idx.clone());
            deriv_entries_outside_sums(body, sums, out);
            sums.pop();
        }
        Expr::Deriv(_, d) => {
            if let Some(s) = &d.wrt.sub
                && !d.wrt.bold
                && !d.wrt.upper
                && entry_letter(s)
                && !sums.contains(s)
                && !out.iter().any(|(_, i)| i == s)
            {
                out.push((d.wrt.base.clone(), s.clone()));
            }
            deriv_entries_outside_sums(&d.of, sums, out);
        }
        other => {
            for c in other.children() {
                deriv_entries_outside_sums(c, sums, out);
            }
        }
    }
}

/// The bases of the derivatives by an entry whose index is free.
fn cand_bases(members: &[Expr], free: &[String]) -> BTreeSet<String> {
    let mut cand = Vec::new();
    for e in members {
        deriv_entries_outside_sums(e, &mut Vec::new(), &mut cand);
    }
    cand.into_iter()
        .filter(|(_, i)| free.contains(i))
        .map(|(b, _)| b)
        .collect()
}

/// Index letters of entries `z_i` of the vectors `bases`, not inside a sum over
/// that index: added to `out`.
fn entry_letters_outside_sums(
    e: &Expr,
    bases: &BTreeSet<String>,
    sums: &mut Vec<String>,
    out: &mut Vec<String>,
) {
    match e {
        Expr::Sum { idx, body, hi, .. } => {
            if let Some(h) = hi {
                entry_letters_outside_sums(h, bases, sums, out);
            }
            sums.push(idx.clone());
            entry_letters_outside_sums(body, bases, sums, out);
            sums.pop();
        }
        Expr::Dots(body, idx) => {
            sums.push(idx.clone());
            entry_letters_outside_sums(body, bases, sums, out);
            sums.pop();
        }
        Expr::Var(s) => {
            if let Some(l) = &s.sub
                && !s.bold
                && !s.upper
                && bases.contains(&s.base)
                && entry_letter(l)
                && !sums.contains(l)
                && !out.contains(l)
            {
                out.push(l.clone());
            }
        }
        other => {
            for c in other.children() {
                entry_letters_outside_sums(c, bases, sums, out);
            }
        }
    }
}

/// An entry at a shifted index (`x_{i+1}`, `x_{i-1}`) of a free or a sum's index: the
/// checker does not read index arithmetic (a neighbour in a chain), so the identity
/// is skipped rather than read with `x_{i+1}` as a symbol of its own.
fn shifted_entries(members: &[Expr], free: &[String]) -> Result<(), Skip> {
    let mut idxs: BTreeSet<String> = free.iter().cloned().collect();
    for e in members {
        e.walk(&mut |x| {
            if let Expr::Sum { idx, .. } = x {
                idxs.insert(idx.clone());
            }
        });
    }
    let mut found = None;
    for e in members {
        e.walk(&mut |x| {
            if let Expr::Var(s) = x
                && let Some(sub) = &s.sub
                && found.is_none()
                && (sub.contains('+') || sub.contains('-'))
                && sub.split(['+', '-']).any(|p| idxs.contains(p.trim()))
            {
                found = Some(s.show());
            }
        });
    }
    match found {
        Some(s) => Err(Skip {
            kind: SkipReason::Unsupported,
            message: format!("index notation: the entry {s} at a shifted index"),
        }),
        None => Ok(()),
    }
}

/// A derivative by a subscripted symbol (`\theta_0`, `\theta_{\text{old}}`) that is
/// not an entry with a free index, while the identity uses the same letter whole
/// (`\theta^T x`): the subscript may name an entry of that vector (`\theta_0` with
/// `x_0 = 1`) or a symbol of its own (a label), and the two readings differ.
fn label_or_entry(members: &[Expr]) -> Result<(), Skip> {
    let mut whole: BTreeSet<String> = BTreeSet::new();
    for e in members {
        e.walk(&mut |x| match x {
            Expr::Var(s) if s.sub.is_none() && !s.upper => {
                whole.insert(s.base.clone());
            }
            Expr::Index(a, _) | Expr::Col(a, _) => {
                if let Expr::Var(s) = a.as_ref()
                    && !s.upper
                {
                    whole.insert(s.base.clone());
                }
            }
            _ => {}
        });
    }
    let mut found = None;
    for e in members {
        e.walk(&mut |x| {
            if let Expr::Deriv(_, d) = x
                && d.entry.is_none()
                && !d.wrt.upper
                && let Some(sub) = &d.wrt.sub
                && sub != "*"
                && whole.contains(&d.wrt.base)
                && found.is_none()
            {
                found = Some(d.wrt.show());
            }
        });
    }
    match found {
        Some(w) => Err(Skip {
            kind: SkipReason::Unsupported,
            message: format!(
                "index notation: is {w} an entry of the vector {} or a symbol of its own (a \
                 label)? The two readings differ",
                w.split('_').next().unwrap_or_default()
            ),
        }),
        None => Ok(()),
    }
}

/// A one-letter index of an entry (`i`, `j`, and `c` for a class, `t`).
pub(super) fn entry_letter(s: &str) -> bool {
    s.len() == 1 && s.chars().all(|c| c.is_ascii_lowercase())
}
