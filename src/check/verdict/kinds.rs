//! The kind search: which symbols are scalars, vectors or matrices; the typings
//! tried, fewest changes first, and the shape failures they explain.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::check::find::Ident;
use crate::check::notation::Func;
use crate::check::shape::{D, Infer, Kind, Ty, TyErr};
use crate::check::syntax::{BinOp, Deriv, Expr, NormKind, PostOp, Sym};
use crate::check::{FailKind, Layout, Outcome, Verdict};

use super::sample::Rng;
use super::{Attempt, Checker, TOL, Typed, verdict};

pub(super) struct SymInfo {
    pub(super) fixed: HashMap<String, Kind>,
    pub(super) flexible: Vec<String>,
    pub(super) preferred: Vec<bool>,
    /// Display names.
    pub(super) names: BTreeMap<String, String>,
    /// Uppercase letters read as matrices only by default (not declared, indexed,
    /// transposed or inverted): scalars when no matrix reading works.
    pub(super) upper_default: Vec<String>,
}

#[derive(Default)]
struct Seen {
    pub(super) bold_lower: bool,
    pub(super) upper: bool,
    pub(super) scalar_pos: bool,
    pub(super) transposed: bool,
    pub(super) index: usize,
    pub(super) col: bool,
}

pub(super) fn analyse(members: &[Expr], id: &Ident) -> SymInfo {
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let mut names = BTreeMap::new();
    fn note(seen: &mut BTreeMap<String, Seen>, names: &mut BTreeMap<String, String>, s: &Sym) {
        let e = seen.entry(s.key()).or_default();
        e.bold_lower |= s.bold && !s.upper;
        e.upper |= s.upper;
        names.entry(s.key()).or_insert_with(|| s.show());
    }
    fn rec(
        e: &Expr,
        scalar_pos: bool,
        seen: &mut BTreeMap<String, Seen>,
        names: &mut BTreeMap<String, String>,
    ) {
        match e {
            Expr::Var(s) => {
                note(seen, names, s);
                if scalar_pos && let Some(x) = seen.get_mut(&s.key()) {
                    x.scalar_pos = true;
                }
            }
            Expr::Post(a, op) => {
                if let (Expr::Var(s), PostOp::Transpose | PostOp::InvTranspose) = (a.as_ref(), op) {
                    note(seen, names, s);
                    if let Some(x) = seen.get_mut(&s.key()) {
                        x.transposed = true;
                    }
                }
                rec(a, false, seen, names);
            }
            Expr::Col(a, _) => {
                if let Expr::Var(s) = a.as_ref() {
                    note(seen, names, s);
                    if let Some(x) = seen.get_mut(&s.key()) {
                        x.col = true;
                    }
                }
            }
            Expr::Index(a, idx) => {
                if let Expr::Var(s) = a.as_ref() {
                    note(seen, names, s);
                    if let Some(x) = seen.get_mut(&s.key()) {
                        x.index = x.index.max(idx.len());
                    }
                }
                rec(a, false, seen, names);
            }
            Expr::Bin(BinOp::Div, a, b) => {
                rec(a, false, seen, names);
                rec(b, direct_scalar(b), seen, names);
            }
            Expr::Pow(a, b) => {
                rec(a, false, seen, names);
                rec(b, true, seen, names);
            }
            Expr::Call(Func::Sqrt, args) if scalar_pos => {
                for a in args {
                    rec(a, true, seen, names);
                }
            }
            Expr::Deriv(_, d) => {
                note(seen, names, &d.wrt);
                rec(&d.of, false, seen, names);
            }
            other => {
                for k in other.children() {
                    rec(k, false, seen, names);
                }
            }
        }
    }
    for m in members {
        rec(m, false, &mut seen, &mut names);
    }
    let mut fixed = HashMap::new();
    let mut flexible = Vec::new();
    let mut preferred = Vec::new();
    let mut upper_default = Vec::new();
    for (key, s) in &seen {
        let decl = id.decls.get(key).copied();
        if s.index == 2 || s.col {
            fixed.insert(key.clone(), Kind::Matrix);
        } else if s.index == 1 {
            fixed.insert(key.clone(), Kind::Vector);
        } else if s.upper {
            let k = if s.scalar_pos {
                Kind::Scalar
            } else {
                decl.unwrap_or(Kind::Matrix)
            };
            if k == Kind::Matrix
                && decl.is_none()
                && !s.transposed
                && !s.bold_lower
                && !id.symmetric.contains(key)
            {
                upper_default.push(key.clone());
            }
            fixed.insert(key.clone(), k);
        } else if s.bold_lower {
            let k = match decl {
                Some(Kind::Matrix) => Kind::Matrix,
                _ => Kind::Vector,
            };
            fixed.insert(key.clone(), k);
        } else {
            match decl {
                Some(Kind::Matrix) => {
                    fixed.insert(key.clone(), Kind::Matrix);
                }
                Some(k) => {
                    flexible.push(key.clone());
                    preferred.push(k == Kind::Vector);
                }
                None => {
                    flexible.push(key.clone());
                    preferred.push(s.transposed);
                }
            }
        }
    }
    SymInfo {
        fixed,
        flexible,
        preferred,
        names,
        upper_default,
    }
}

/// A denominator that is a symbol, a number times symbols, or a root of one.
fn direct_scalar(e: &Expr) -> bool {
    match e {
        Expr::Var(_) | Expr::Num(_) | Expr::DimVar(_) | Expr::IdxVal(..) => true,
        Expr::Bin(BinOp::Mul | BinOp::Cross, a, b) => direct_scalar(a) && direct_scalar(b),
        Expr::Call(Func::Sqrt, a) => a.iter().all(direct_scalar),
        Expr::Pow(a, _) => direct_scalar(a),
        _ => false,
    }
}

/// Assignments of vector/scalar to the flexible symbols, closest to the preferred
/// one first.
pub(super) fn candidates(pref: &[bool]) -> Vec<Vec<bool>> {
    let n = pref.len();
    let mut out = Vec::new();
    if n <= 10 {
        let mut masks: Vec<u32> = (0..(1u32 << n)).collect();
        let pmask: u32 = pref
            .iter()
            .enumerate()
            .map(|(i, &b)| if b { 1 << i } else { 0 })
            .sum();
        masks.sort_by_key(|m| ((m ^ pmask).count_ones(), *m));
        for m in masks {
            out.push((0..n).map(|i| m & (1 << i) != 0).collect());
        }
    } else {
        out.push(pref.to_vec());
        for i in 0..n {
            let mut v = pref.to_vec();
            v[i] = !v[i];
            out.push(v);
        }
        for i in 0..n {
            for j in i + 1..n {
                let mut v = pref.to_vec();
                v[i] = !v[i];
                v[j] = !v[j];
                out.push(v);
            }
        }
    }
    out
}

pub(super) fn nabla_transposed(members: &[Expr]) -> Option<Vec<Expr>> {
    // (a matrix's gradient has one orientation: the matrix's)
    transposed_where(members, |d| d.nabla && !d.wrt.upper)
}

/// The members with every derivative that `pick` chooses transposed; `None` if it
/// chooses none.
fn transposed_where(members: &[Expr], pick: impl Fn(&Deriv) -> bool) -> Option<Vec<Expr>> {
    let mut any = false;
    for m in members {
        m.walk(&mut |x| {
            if let Expr::Deriv(_, d) = x
                && pick(d)
            {
                any = true;
            }
        });
    }
    if !any {
        return None;
    }
    let out: Result<Vec<Expr>, String> = members
        .iter()
        .map(|m| {
            m.clone().map(&mut |x| match x {
                Expr::Deriv(id, d) if pick(&d) => {
                    Ok(Expr::Post(Expr::Deriv(id, d).bx(), PostOp::Transpose))
                }
                other => Ok(other),
            })
        })
        .collect();
    out.ok()
}

/// The members with each derivative of a row vector written as one (`\frac{\partial
/// \mathbf{x}^T A}{\partial \mathbf{x}}`, `\frac{\partial (A\mathbf{x})^T}{\partial
/// \mathbf{x}}`) transposed: the checker reads a row as its column, and texts differ
/// on whether the result is that Jacobian or its transpose. `None` if there is none.
pub(super) fn row_transposed(members: &[Expr]) -> Option<Vec<Expr>> {
    // the factors of a product, left to right
    fn factors<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
        match e {
            Expr::Bin(BinOp::Mul, a, b) => {
                factors(a, out);
                factors(b, out);
            }
            other => out.push(other),
        }
    }
    let matrix = |e: &Expr| match e {
        Expr::Var(s) => s.upper,
        Expr::Post(a, _) | Expr::Pow(a, _) => matches!(a.as_ref(), Expr::Var(s) if s.upper),
        _ => false,
    };
    let vector = |e: &Expr| matches!(e, Expr::Var(s) if !s.upper);
    // `\mathbf{x}^T A B`: a transposed vector, then matrices only; `(A\mathbf{x})^T`:
    // matrices, then a vector, transposed
    fn row_form(e: &Expr, matrix: &dyn Fn(&Expr) -> bool, vector: &dyn Fn(&Expr) -> bool) -> bool {
        let mut fs = Vec::new();
        factors(e, &mut fs);
        match fs.as_slice() {
            [Expr::Post(v, PostOp::Transpose), rest @ ..] if vector(v) => {
                !rest.is_empty() && rest.iter().all(|f| matrix(f))
            }
            [Expr::Post(inner, PostOp::Transpose)] => {
                let mut gs = Vec::new();
                factors(inner, &mut gs);
                match gs.as_slice() {
                    [ms @ .., v] => !ms.is_empty() && vector(v) && ms.iter().all(|f| matrix(f)),
                    [] => false,
                }
            }
            [Expr::Neg(a)] => row_form(a, matrix, vector),
            _ => false,
        }
    }
    let row_form = |e: &Expr| row_form(e, &matrix, &vector);
    transposed_where(members, |d| {
        !d.nabla && d.entry.is_none() && !d.wrt.upper && row_form(&d.of)
    })
}

/// The members with `|v|` of a bold vector read as the norm `\|v\|`, if there is
/// such an absolute value.
pub(super) fn abs_as_norm(members: &[Expr]) -> Option<Vec<Expr>> {
    let mut any = false;
    let out: Result<Vec<Expr>, String> = members
        .iter()
        .map(|m| {
            m.clone().map(&mut |x| match x {
                Expr::Call(Func::Abs, mut args)
                    if args.len() == 1 && bold_vector_inside(&args[0]) =>
                {
                    any = true;
                    Ok(Expr::Norm(args.remove(0).bx(), NormKind::Plain))
                }
                other => Ok(other),
            })
        })
        .collect();
    if any { out.ok() } else { None }
}

fn bold_vector_inside(e: &Expr) -> bool {
    let mut any = false;
    e.walk(&mut |x| {
        if let Expr::Var(s) = x
            && s.bold
            && !s.upper
        {
            any = true;
        }
    });
    any
}

fn unify_strict(inf: &mut Infer, a: Ty, b: Ty) -> bool {
    let (a, b) = (inf.norm(a), inf.norm(b));
    match (a, b) {
        (Ty::Any, _) | (_, Ty::Any) => true,
        (Ty::S, Ty::S) => true,
        (Ty::S, _) | (_, Ty::S) => false,
        (Ty::M(r1, c1), Ty::M(r2, c2)) => {
            inf.dims.unify(r1, r2, true) && inf.dims.unify(c1, c2, true)
        }
    }
}

impl Checker<'_> {
    pub(super) fn try_type(&self, members: &[Expr], kinds: &HashMap<String, Kind>) -> Attempt {
        let mut inf = Infer::new(kinds.clone(), self.layout, self.otimes);
        inf.dimnames = self.id.dimnames.clone();
        inf.bind_free(&self.id.free);
        let mut tys = Vec::new();
        let mut errs = Vec::new();
        let mut any_err = false;
        for m in members {
            match inf.infer(m) {
                Ok(t) => {
                    tys.push(t);
                    errs.push(None);
                }
                Err(e) => {
                    tys.push(Ty::Any);
                    errs.push(Some(e));
                    any_err = true;
                }
            }
        }
        if any_err {
            return Attempt::MemberErr(errs);
        }
        // defined variables have their definition's shape
        for (s, e) in &self.id.deps {
            let ts = inf.sym_ty(s);
            match inf.infer(e) {
                Ok(te) if inf.same_shape(ts, te) => {}
                Ok(_) => {
                    let mut errs = errs;
                    errs.push(Some(TyErr::Dim(format!(
                        "{} is used with another shape than its definition's",
                        s.show()
                    ))));
                    return Attempt::MemberErr(errs);
                }
                Err(e) => {
                    let mut errs = errs;
                    errs.push(Some(e));
                    return Attempt::MemberErr(errs);
                }
            }
        }
        let snap = inf.clone();
        for i in 0..tys.len().saturating_sub(1) {
            if !unify_strict(&mut inf, tys[i], tys[i + 1]) {
                return Attempt::Mismatch(
                    Typed {
                        inf: snap,
                        members: members.to_vec(),
                        tys,
                    },
                    i,
                );
            }
        }
        Attempt::Ok(Typed {
            inf,
            members: members.to_vec(),
            tys,
        })
    }

    pub(super) fn kinds_for(&self, info: &SymInfo, assign: &[bool]) -> HashMap<String, Kind> {
        let mut kinds = info.fixed.clone();
        for (k, &v) in info.flexible.iter().zip(assign) {
            kinds.insert(k.clone(), if v { Kind::Vector } else { Kind::Scalar });
        }
        kinds
    }

    /// A product of two derivatives (Jacobians) in `m` whose shapes, with these
    /// kinds and the definitions' shapes, cannot be multiplied: the message, and
    /// whether the other order multiplies. Only derivatives of expressions or of
    /// defined symbols count (concrete Jacobians).
    pub(super) fn jacobian_product_err(
        &self,
        m: &Expr,
        kinds: &HashMap<String, Kind>,
    ) -> Option<(String, bool)> {
        // (a gradient `\nabla` has either orientation: not a concrete shape)
        fn jacobian(e: &Expr) -> Option<&Deriv> {
            match e {
                Expr::Deriv(_, d) if !d.nabla && d.op.is_none() => Some(d),
                Expr::Post(a, PostOp::Transpose) => match a.as_ref() {
                    Expr::Deriv(_, d) if !d.nabla && d.op.is_none() => Some(d),
                    _ => None,
                },
                _ => None,
            }
        }
        fn factors<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
            match e {
                Expr::Bin(BinOp::Mul | BinOp::Cross | BinOp::Dot, a, b) => {
                    factors(a, out);
                    factors(b, out);
                }
                other => out.push(other),
            }
        }
        let defined: BTreeSet<String> = self.id.deps.iter().map(|(s, _)| s.key()).collect();
        let concrete = |d: &Deriv| match &d.of {
            Expr::Var(s) => defined.contains(&s.key()),
            other => !matches!(other, Expr::Num(_)),
        };
        let mut found = None;
        m.walk(&mut |x| {
            if found.is_some()
                || !matches!(x, Expr::Bin(BinOp::Mul | BinOp::Cross | BinOp::Dot, ..))
            {
                return;
            }
            let mut fs = Vec::new();
            factors(x, &mut fs);
            for w in fs.windows(2) {
                let (Some(da), Some(db)) = (jacobian(w[0]), jacobian(w[1])) else {
                    continue;
                };
                if !concrete(da) || !concrete(db) {
                    continue;
                }
                let mut inf = Infer::new(kinds.clone(), self.layout, self.otimes);
                inf.bind_free(&self.id.free);
                let deps_ok = self.id.deps.iter().all(|(s, e)| {
                    let ts = inf.sym_ty(s);
                    inf.infer(e).is_ok_and(|te| inf.same_shape(ts, te))
                });
                if !deps_ok {
                    return;
                }
                let (Ok(ta), Ok(tb)) = (inf.infer(w[0]), inf.infer(w[1])) else {
                    continue;
                };
                let (na, nb) = (inf.norm(ta), inf.norm(tb));
                if !matches!((na, nb), (Ty::M(..), Ty::M(..))) {
                    continue;
                }
                let mut inf2 = inf.clone();
                if let Err(TyErr::Dim(msg)) = inf.matmul(na, nb) {
                    let swap = inf2.matmul(nb, na).is_ok();
                    found = Some((msg, swap));
                    return;
                }
            }
        });
        found
    }

    fn family(&self, inf: &Infer, m: &Expr) -> Option<String> {
        let id = match m {
            Expr::Deriv(id, _) => *id,
            Expr::Post(a, PostOp::Transpose) => match a.as_ref() {
                Expr::Deriv(id, _) => *id,
                _ => return None,
            },
            _ => return None,
        };
        let (of, wrt, _) = inf.derivs.get(&id)?;
        let kind = |t: Ty| match inf.norm(t) {
            Ty::S | Ty::Any => "scalar",
            Ty::M(r, c) if inf.dims.is_one(c) || inf.dims.is_one(r) => "vector",
            Ty::M(..) => "matrix",
        };
        let (a, b) = (kind(*of), kind(*wrt));
        let num = self.layout == Layout::Numerator;
        let lay = if num { "numerator" } else { "denominator" };
        let how = match (a, b) {
            ("scalar", "vector") => {
                if num {
                    format!("a row in {lay} layout")
                } else {
                    format!("a column in {lay} layout")
                }
            }
            ("vector", "scalar") => {
                if num {
                    format!("a column in {lay} layout")
                } else {
                    format!("a row in {lay} layout")
                }
            }
            ("vector", "vector") => format!("rows follow the numerator in {lay} layout").replace(
                "rows follow the numerator",
                if num {
                    "one row per output"
                } else {
                    "one row per input"
                },
            ),
            ("scalar", "matrix") => {
                if num {
                    format!("the shape of the matrix's transpose in {lay} layout")
                } else {
                    format!("the shape of the matrix in {lay} layout")
                }
            }
            ("matrix", "scalar") => "the shape of the matrix".into(),
            _ => return Some(format!("{a} by {b}")),
        };
        Some(format!("{a} by {b}: {how}"))
    }

    /// The shape failure of this typing, which rests on its kinds.
    pub(super) fn shape_fail(&self, t: Typed, at: usize, info: &SymInfo) -> Verdict {
        let reading = self.typed_reading(&t.inf);
        let mut v = self.shape_fail_typed(t, at, info);
        v.reading = Some(reading);
        v
    }

    fn shape_fail_typed(&self, t: Typed, at: usize, info: &SymInfo) -> Verdict {
        let mut rng = Rng(self.s.seed);
        let sizes = self.sizes_for(&t.inf, &mut rng);
        let (a, b) = (t.tys[at], t.tys[at + 1]);
        let (ta, tb) = (t.inf.show_sized(a, &sizes), t.inf.show_sized(b, &sizes));
        let fam = self.family(&t.inf, &t.members[at]);
        let desc_a = match fam {
            Some(f) => format!("{ta} ({f})"),
            None => ta.clone(),
        };
        let message = if t.members.len() == 2 {
            format!("left side is {desc_a}, right side is {tb}")
        } else {
            format!(
                "step {}: `{}` is {desc_a}, `{}` is {tb}",
                at + 1,
                self.id.texts.get(at).cloned().unwrap_or_default(),
                self.id.texts.get(at + 1).cloned().unwrap_or_default()
            )
        };
        let message = if ta == tb {
            format!(
                "{message}: the same sizes here, but not the same dimensions in general \
                 (e.g. the factors of a Kronecker product or vec in another order)"
            )
        } else {
            message
        };
        let mut v = verdict(Outcome::Fail(FailKind::Shape), message, self.s);
        // the transpose of the other side?
        let mut inf2 = t.inf.clone();
        let transposed = match (inf2.norm(a), inf2.norm(b)) {
            (Ty::M(r1, c1), Ty::M(r2, c2)) => {
                inf2.dims.unify(r1, c2, true) && inf2.dims.unify(c1, r2, true)
            }
            _ => false,
        };
        if transposed {
            let other = match self.layout {
                Layout::Numerator => "denominator",
                Layout::Denominator => "numerator",
            };
            let mut members = t.members.clone();
            members[at + 1] = Expr::Post(members[at + 1].clone().bx(), PostOp::Transpose);
            let kinds = t.inf.kinds.clone();
            let same = match self.try_type(&members, &kinds) {
                Attempt::Ok(t2) => match self.trials(&t2, &BTreeSet::new()) {
                    Ok(tr) => tr
                        .steps
                        .get(at)
                        .is_some_and(|s| s.err <= TOL && s.shape.is_none()),
                    Err(_) => false,
                },
                _ => false,
            };
            v.hint = Some(if same {
                format!("layout: this is the {other}-layout answer (the transpose)")
            } else {
                format!(
                    "layout: the right side has the transposed ({other}-layout) shape, and its values differ too"
                )
            });
        }
        v.counterexample = Some(format!(
            "sizes: {} (seed {})",
            self.sizes_text(&t.inf, &sizes, info),
            self.s.seed
        ));
        v
    }

    fn sizes_text(&self, inf: &Infer, sizes: &HashMap<D, usize>, info: &SymInfo) -> String {
        let mut keys: Vec<&String> = inf.syms.keys().collect();
        keys.sort();
        let mut parts = Vec::new();
        for k in keys {
            let t = inf.syms[k];
            let name = info.names.get(k).cloned().unwrap_or_else(|| k.clone());
            if let Ty::M(..) = inf.norm(t) {
                parts.push(format!("{name} {}", inf.show_sized(t, sizes)));
            }
        }
        if parts.is_empty() {
            "all scalars".into()
        } else {
            parts.join(", ")
        }
    }
}
