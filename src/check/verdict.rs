//! Checking one identity: kinds, shapes, sampling, comparison, hints.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use nalgebra::DMatrix;

use super::eval::{self, Cx, EvalErr, Val};
use super::find::Ident;
use super::notation::Func;
use super::shape::{D, Infer, Kind, Ty, TyErr};
use super::syntax::{BinOp, Cond, Expr, PostOp, Rel};
use super::{FailKind, Finding, Layout, Otimes, Outcome, Settings, SkipReason, Verdict};

/// Entries agree when `|a − b| ≤ TOL · max(1, |a|, |b|)`.
const TOL: f64 = 1e-6;
/// AD and central differences disagreeing by more than this (relative, floor 1)
/// make a point suspect: it is resampled.
const FD_TOL: f64 = 1e-3;
/// Points closer than this (relative, floor 1) to a kink are resampled.
const KINK: f64 = 1e-3;
/// Sampling attempts per trial before giving up.
const ATTEMPTS: usize = 300;
/// Condition number above which a sampled matrix that gets inverted is resampled.
const MAX_COND: f64 = 1e3;

fn verdict(outcome: Outcome, message: String, s: &Settings) -> Verdict {
    Verdict {
        outcome,
        message,
        hint: None,
        max_error: None,
        trials: 0,
        seed: s.seed,
        counterexample: None,
    }
}

fn skip(why: SkipReason, message: &str, s: &Settings) -> Verdict {
    verdict(Outcome::Skip(why), message.to_string(), s)
}

pub(crate) fn check(f: &Finding, s: &Settings) -> Verdict {
    let id = match &f.body {
        Ok(i) => i,
        Err(sk) => return skip(sk.kind, &sk.message, s),
    };
    let layout = f.layout.unwrap_or(s.layout);
    let otimes = f.otimes.unwrap_or(s.otimes);
    let v = Checker {
        id,
        members: &id.members,
        s,
        layout,
        otimes,
    }
    .run();
    // a restatement of one branch of the `cases` identity just before (same left
    // side): false as stated, but it holds under that branch's condition
    if v.outcome == Outcome::Fail(FailKind::Value) {
        for (k, c) in id.branch_conds.iter().enumerate() {
            let mut id2 = id.clone();
            id2.conds.push(c.clone());
            id2.branch_conds.clear();
            let w = Checker {
                id: &id2,
                members: &id2.members,
                s,
                layout,
                otimes,
            }
            .run();
            if w.outcome == Outcome::Pass {
                let mut out = skip(
                    SkipReason::Unsupported,
                    &format!(
                        "holds only under the condition of branch {} of the `cases` identity \
                         with the same left side just before, which this one does not state \
                         (false without it: {})",
                        k + 1,
                        v.message
                    ),
                    s,
                );
                out.hint = Some("state the condition (or write the `cases`)".into());
                return out;
            }
        }
    }
    // A letter defined earlier and reused later as a plain constant shows as a
    // shape conflict; a value mismatch with the definitions in force is a wrong
    // identity (reading them as constants would hide a missing term).
    let conflict = matches!(
        v.outcome,
        Outcome::Fail(FailKind::Shape) | Outcome::Skip(SkipReason::Types)
    );
    if conflict && let Some(alt) = &id.alt {
        let w = Checker {
            id,
            members: alt,
            s,
            layout,
            otimes,
        }
        .run();
        if w.outcome == Outcome::Pass {
            return Verdict {
                message: format!(
                    "{} (reading the symbols defined earlier in the note as constants; \
                         with their definitions it fails: {})",
                    w.message, v.message
                ),
                ..w
            };
        }
    }
    v
}

struct Checker<'a> {
    id: &'a Ident,
    members: &'a [Expr],
    s: &'a Settings,
    layout: Layout,
    otimes: Otimes,
}

/// A typing of the identity under one assignment of kinds.
#[derive(Clone)]
struct Typed {
    inf: Infer,
    members: Vec<Expr>,
    tys: Vec<Ty>,
}

enum Attempt {
    Ok(Typed),
    Mismatch(Typed, usize),
    MemberErr(Vec<Option<TyErr>>),
}

/// What the sampled trials found.
struct Trials {
    /// Per `=` step: largest error and the trial/entry where it was.
    steps: Vec<Step>,
    trials: usize,
}

#[derive(Clone)]
struct Step {
    err: f64,
    worst: Option<Worst>,
    /// Values of the two sides at each trial (for hints).
    pairs: Vec<(Val<f64>, Val<f64>)>,
    shape: Option<(String, String)>,
}

#[derive(Clone)]
struct Worst {
    trial: usize,
    entry: (usize, usize),
    a: f64,
    b: f64,
    sizes: String,
}

fn has_deriv(e: &Expr) -> bool {
    let mut any = false;
    e.walk(&mut |x| {
        if matches!(x, Expr::Deriv(..)) {
            any = true;
        }
    });
    any
}

/// Splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn sign(&mut self) -> f64 {
        if self.next() & 1 == 0 { 1.0 } else { -1.0 }
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

struct SymInfo {
    fixed: HashMap<String, Kind>,
    flexible: Vec<String>,
    preferred: Vec<bool>,
    /// Display names.
    names: BTreeMap<String, String>,
    /// Uppercase letters read as matrices only by default (not declared, indexed,
    /// transposed or inverted): scalars when no matrix reading works.
    upper_default: Vec<String>,
}

#[derive(Default)]
struct Seen {
    bold_lower: bool,
    upper: bool,
    scalar_pos: bool,
    transposed: bool,
    index: usize,
    col: bool,
}

fn analyse(members: &[Expr], id: &Ident) -> SymInfo {
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let mut names = BTreeMap::new();
    fn note(
        seen: &mut BTreeMap<String, Seen>,
        names: &mut BTreeMap<String, String>,
        s: &super::syntax::Sym,
    ) {
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
                let mut kids: Vec<&Expr> = Vec::new();
                collect_children(other, &mut kids);
                for k in kids {
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
        Expr::Bin(BinOp::Mul, a, b) => direct_scalar(a) && direct_scalar(b),
        Expr::Call(Func::Sqrt, a) => a.iter().all(direct_scalar),
        Expr::Pow(a, _) => direct_scalar(a),
        _ => false,
    }
}

fn collect_children<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::Neg(a)
        | Expr::Post(a, _)
        | Expr::Norm(a, _)
        | Expr::Index(a, _)
        | Expr::Dots(a, _)
        | Expr::Col(a, _)
        | Expr::At(a, _, _) => out.push(a),
        Expr::Bin(_, a, b) | Expr::Pow(a, b) | Expr::Ind(a, _, b) => {
            out.push(a);
            out.push(b);
        }
        Expr::Call(_, args) | Expr::Apply(_, args) => out.extend(args.iter()),
        Expr::Sum { hi, body, .. } => {
            if let Some(h) = hi {
                out.push(h);
            }
            out.push(body);
        }
        Expr::Matrix(rows) => out.extend(rows.iter().flatten()),
        Expr::Cases(_, brs) => {
            for (v, c) in brs {
                out.push(v);
                c.walk(&mut |_| {});
                collect_cond(c, out);
            }
        }
        Expr::Deriv(_, d) => out.push(&d.of),
        _ => {}
    }
}

fn collect_cond<'e>(c: &'e super::syntax::Cond, out: &mut Vec<&'e Expr>) {
    match c {
        super::syntax::Cond::Always => {}
        super::syntax::Cond::Rel(es, _) => out.extend(es.iter()),
        super::syntax::Cond::And(cs) => cs.iter().for_each(|c| collect_cond(c, out)),
    }
}

/// Assignments of vector/scalar to the flexible symbols, closest to the preferred
/// one first.
fn candidates(pref: &[bool]) -> Vec<Vec<bool>> {
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

/// A condition that holds only on a set of measure zero (an equation).
fn measure_zero(c: &Cond) -> bool {
    match c {
        Cond::Always => false,
        Cond::Rel(_, rels) => rels.contains(&Rel::Eq),
        Cond::And(cs) => cs.iter().any(measure_zero),
    }
}

fn nabla_transposed(members: &[Expr]) -> Option<Vec<Expr>> {
    let mut any = false;
    for m in members {
        m.walk(&mut |x| {
            if let Expr::Deriv(_, d) = x
                && d.nabla
                && !d.wrt.upper
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
                // (a matrix's gradient has one orientation: the matrix's)
                Expr::Deriv(id, d) if d.nabla && !d.wrt.upper => {
                    Ok(Expr::Post(Expr::Deriv(id, d).bx(), PostOp::Transpose))
                }
                other => Ok(other),
            })
        })
        .collect();
    out.ok()
}

/// The members with `|v|` of a bold vector read as the norm `\|v\|`, if there is
/// such an absolute value.
fn abs_as_norm(members: &[Expr]) -> Option<Vec<Expr>> {
    let mut any = false;
    let out: Result<Vec<Expr>, String> = members
        .iter()
        .map(|m| {
            m.clone().map(&mut |x| match x {
                Expr::Call(Func::Abs, mut args)
                    if args.len() == 1 && bold_vector_inside(&args[0]) =>
                {
                    any = true;
                    Ok(Expr::Norm(
                        args.remove(0).bx(),
                        super::syntax::NormKind::Plain,
                    ))
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
    fn try_type(&self, members: &[Expr], kinds: &HashMap<String, Kind>) -> Attempt {
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

    fn kinds_for(&self, info: &SymInfo, assign: &[bool]) -> HashMap<String, Kind> {
        let mut kinds = info.fixed.clone();
        for (k, &v) in info.flexible.iter().zip(assign) {
            kinds.insert(k.clone(), if v { Kind::Vector } else { Kind::Scalar });
        }
        kinds
    }

    fn run(&self) -> Verdict {
        let members = self.members;
        let mut scan: Vec<Expr> = members.to_vec();
        scan.extend(
            self.id
                .deps
                .iter()
                .map(|(s, e)| Expr::bin(BinOp::Add, Expr::Var(s.clone()), e.clone())),
        );
        let info = analyse(&scan, self.id);
        let mut variants = vec![members.to_vec()];
        if let Some(v) = nabla_transposed(members) {
            variants.push(v);
        }
        // `|\mathbf{x}|` may be the norm rather than entry-wise absolute values
        let extra: Vec<Vec<Expr>> = variants.iter().filter_map(|v| abs_as_norm(v)).collect();
        variants.extend(extra);
        let mut first_mismatch: Option<(Typed, usize)> = None;
        let mut first_rhs_err: Option<(usize, String)> = None;
        let mut first_err: Option<TyErr> = None;
        let mut jacobians: Option<(usize, String, bool)> = None;
        // a plain letter written transposed (`x^T x`) or declared a vector is a
        // vector: when that reading gives the sides different shapes, that is the
        // verdict (reading it as a scalar would hide a layout error)
        let vector_letters = info.preferred.iter().any(|&p| p);
        for (n_assign, assign) in candidates(&info.preferred).into_iter().enumerate() {
            let kinds = self.kinds_for(&info, &assign);
            let mut all_mismatch = true;
            for v in &variants {
                match self.try_type(v, &kinds) {
                    Attempt::Ok(t) => return self.sampled(t, &info),
                    Attempt::Mismatch(t, at) => {
                        if first_mismatch.is_none() {
                            first_mismatch = Some((t, at));
                        }
                    }
                    Attempt::MemberErr(errs) => {
                        let deriv_ok = errs
                            .iter()
                            .zip(v)
                            .all(|(e, m)| e.is_none() || !has_deriv(m));
                        if deriv_ok
                            && first_rhs_err.is_none()
                            && let Some((i, Some(TyErr::Dim(m)))) = errs
                                .iter()
                                .enumerate()
                                .find(|(_, e)| matches!(e, Some(TyErr::Dim(_))))
                        {
                            first_rhs_err = Some((i, m.clone()));
                        }
                        if jacobians.is_none() {
                            jacobians = errs
                                .iter()
                                .zip(v)
                                .enumerate()
                                .filter(|(_, (e, _))| matches!(e, Some(TyErr::Dim(_))))
                                .find_map(|(i, (_, m))| {
                                    self.jacobian_product_err(m, &kinds)
                                        .map(|(msg, swap)| (i, msg, swap))
                                });
                        }
                        if first_err.is_none() {
                            first_err = errs
                                .iter()
                                .zip(v)
                                .find(|(e, m)| e.is_some() && has_deriv(m))
                                .or_else(|| errs.iter().zip(v).find(|(e, _)| e.is_some()))
                                .and_then(|(e, _)| e.clone());
                        }
                        all_mismatch = false;
                    }
                }
            }
            if n_assign == 0
                && vector_letters
                && all_mismatch
                && let Some((t, at)) = first_mismatch.take()
            {
                return self.shape_fail(t, at, &info);
            }
        }
        // no matrix reading works (a 3-/4-d array, the root of a matrix): in a
        // formula with nothing of matrices (no bold symbol, trace, determinant,
        // transpose, inverse, norm), an uppercase letter that is a matrix only by
        // default is a scalar if it is a derivative's variable or in a condition
        // (`D > 0`); not otherwise (`e^{tA}e^{tB}` is about matrices)
        let scalar_formula = || {
            let mut ok = true;
            for m in &scan {
                m.walk(&mut |x| match x {
                    Expr::Var(s) if s.bold && !s.upper => ok = false,
                    Expr::Call(Func::Tr | Func::Det | Func::Diag, _)
                    | Expr::Post(..)
                    | Expr::Norm(..) => ok = false,
                    _ => {}
                });
            }
            ok
        };
        let mut said_scalar: BTreeSet<String> = self.id.positive.clone();
        for c in &self.id.conds {
            c.walk(&mut |x| {
                if let Expr::Var(s) = x {
                    said_scalar.insert(s.key());
                }
            });
        }
        for m in &scan {
            m.walk(&mut |x| {
                if let Expr::Deriv(_, d) = x {
                    said_scalar.insert(d.wrt.key());
                }
            });
        }
        let to_scalar: Vec<&String> = info
            .upper_default
            .iter()
            .filter(|k| said_scalar.contains(*k))
            .collect();
        if first_mismatch.is_none()
            && first_rhs_err.is_none()
            && first_err.is_some()
            && !to_scalar.is_empty()
            && scalar_formula()
        {
            for assign in candidates(&info.preferred) {
                let mut kinds = self.kinds_for(&info, &assign);
                for k in &to_scalar {
                    kinds.insert((*k).clone(), Kind::Scalar);
                }
                for v in &variants {
                    if let Attempt::Ok(t) = self.try_type(v, &kinds) {
                        return self.sampled(t, &info);
                    }
                }
            }
        }
        if let Some((t, at)) = first_mismatch {
            return self.shape_fail(t, at, &info);
        }
        if let Some((i, m)) = first_rhs_err {
            let text = self.id.texts.get(i).cloned().unwrap_or_default();
            let mut v = verdict(
                Outcome::Fail(FailKind::Shape),
                format!("`{text}` is not well-formed: {m}"),
                self.s,
            );
            v.trials = 0;
            return v;
        }
        if let Some((i, m, swap)) = jacobians {
            let text = self.id.texts.get(i).cloned().unwrap_or_default();
            let mut v = verdict(
                Outcome::Fail(FailKind::Shape),
                format!("`{text}` is not well-formed: {m}"),
                self.s,
            );
            if swap {
                let lay = match self.layout {
                    Layout::Numerator => "numerator",
                    Layout::Denominator => "denominator",
                };
                v.hint = Some(format!(
                    "chain rule order: the factors multiply in the other order ({lay} layout)"
                ));
            }
            v.trials = 0;
            return v;
        }
        match first_err {
            Some(TyErr::Unsupported(m)) => skip(SkipReason::Unsupported, &m, self.s),
            Some(TyErr::Dim(m)) => skip(
                SkipReason::Types,
                &format!("cannot give the symbols consistent shapes: {m}"),
                self.s,
            ),
            None => skip(SkipReason::Internal, "no typing found", self.s),
        }
    }

    /// A product of two derivatives (Jacobians) in `m` whose shapes, with these
    /// kinds and the definitions' shapes, cannot be multiplied: the message, and
    /// whether the other order multiplies. Only derivatives of expressions or of
    /// defined symbols count (concrete Jacobians).
    fn jacobian_product_err(
        &self,
        m: &Expr,
        kinds: &HashMap<String, Kind>,
    ) -> Option<(String, bool)> {
        // (a gradient `\nabla` has either orientation: not a concrete shape)
        fn jacobian(e: &Expr) -> Option<&super::syntax::Deriv> {
            match e {
                Expr::Deriv(_, d) if !d.nabla => Some(d),
                Expr::Post(a, PostOp::Transpose) => match a.as_ref() {
                    Expr::Deriv(_, d) if !d.nabla => Some(d),
                    _ => None,
                },
                _ => None,
            }
        }
        fn factors<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
            match e {
                Expr::Bin(BinOp::Mul | BinOp::Dot, a, b) => {
                    factors(a, out);
                    factors(b, out);
                }
                other => out.push(other),
            }
        }
        let defined: BTreeSet<String> = self.id.deps.iter().map(|(s, _)| s.key()).collect();
        let concrete = |d: &super::syntax::Deriv| match &d.of {
            Expr::Var(s) => defined.contains(&s.key()),
            other => !matches!(other, Expr::Num(_)),
        };
        let mut found = None;
        m.walk(&mut |x| {
            if found.is_some() || !matches!(x, Expr::Bin(BinOp::Mul | BinOp::Dot, ..)) {
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

    fn sizes_for(&self, inf: &Infer, rng: &mut Rng) -> HashMap<D, usize> {
        let roots = inf.dims.free_roots();
        let top = 5.max(roots.len() + 1);
        let mut pool: Vec<usize> = (2..=top).collect();
        for i in (1..pool.len()).rev() {
            let j = rng.below(i + 1);
            pool.swap(i, j);
        }
        roots.into_iter().zip(pool).collect()
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

    fn shape_fail(&self, t: Typed, at: usize, info: &SymInfo) -> Verdict {
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

    /// Symbols that get sampled as well-conditioned invertible matrices.
    fn invertible(members: &[Expr]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for m in members {
            m.walk(&mut |x| {
                let inner = match x {
                    Expr::Post(a, PostOp::Inverse | PostOp::InvTranspose) => Some(a.as_ref()),
                    Expr::Call(Func::Det, a) => a.first(),
                    Expr::Pow(a, b) if matches!(b.as_ref(), Expr::Neg(_)) => Some(a.as_ref()),
                    _ => None,
                };
                if let Some(e) = inner {
                    e.walk(&mut |y| {
                        if let Expr::Var(s) = y {
                            out.insert(s.key());
                        }
                    });
                }
            });
        }
        out
    }

    fn sample(
        &self,
        t: &Typed,
        rng: &mut Rng,
        positive: &BTreeSet<String>,
        symmetric: &BTreeSet<String>,
        invertible: &BTreeSet<String>,
    ) -> Option<Point> {
        let inf = &t.inf;
        let free = self.sizes_for(inf, rng);
        let mut keys: Vec<&String> = inf.syms.keys().collect();
        keys.sort();
        let mut vals = HashMap::new();
        for k in keys {
            let ty = inf.norm(inf.syms[k]);
            let pos = positive.contains(k);
            let v = match ty {
                Ty::S | Ty::Any => {
                    let mag = 0.5 + 1.5 * rng.unit();
                    Val::S(if pos { mag } else { mag * rng.sign() })
                }
                Ty::M(r, c) => {
                    let (nr, nc) = (inf.dims.size(r, &free), inf.dims.size(c, &free));
                    let vector = nr == 1 || nc == 1;
                    let mut m = DMatrix::<f64>::zeros(nr, nc);
                    if vector {
                        for x in m.iter_mut() {
                            let mag = 0.2 + 1.3 * rng.unit();
                            *x = if pos { mag } else { mag * rng.sign() };
                        }
                    } else {
                        for x in m.iter_mut() {
                            *x = 2.0 * rng.unit() - 1.0;
                        }
                        let square = nr == nc;
                        if square && symmetric.contains(k) {
                            m = (&m + m.transpose()) * 0.5;
                        }
                        if square && invertible.contains(k) {
                            m /= (nr as f64).sqrt();
                            for i in 0..nr {
                                m[(i, i)] += 2.0;
                            }
                            let svd = m.clone().svd(false, false);
                            let (mx, mn) = (svd.singular_values.max(), svd.singular_values.min());
                            if mn.is_nan() || mn <= 0.0 || mx / mn > MAX_COND {
                                return None;
                            }
                        }
                        if square && pos && m.determinant() < 0.0 {
                            if symmetric.contains(k) {
                                m = &m * m.transpose();
                                for i in 0..nr {
                                    m[(i, i)] += 0.5;
                                }
                            } else {
                                for j in 0..nc {
                                    m[(0, j)] = -m[(0, j)];
                                }
                            }
                        }
                    }
                    Val::M(m)
                }
            };
            vals.insert(k.clone(), v);
        }
        let idx: Vec<(String, usize)> = inf
            .free
            .iter()
            .map(|(n, d)| (n.clone(), rng.below(inf.dims.size(*d, &free))))
            .collect();
        let poly: HashMap<u32, usize> = inf
            .poly
            .iter()
            .map(|(id, d)| (*id, inf.dims.size(*d, &free)))
            .collect();
        let dimvars: HashMap<String, usize> = inf
            .dimvars
            .iter()
            .map(|(n, d)| (n.clone(), inf.dims.size(*d, &free)))
            .collect();
        // defined variables take their definition's value
        let empty = HashMap::new();
        for (s, e) in &self.id.deps {
            let mut cx = Cx::new(&vals, &poly, &dimvars, &empty, self.otimes);
            cx.idx = idx.clone();
            let v = eval::eval(e, &mut cx).ok()?;
            vals.insert(s.key(), v);
        }
        Some(Point {
            vals,
            idx,
            poly,
            dimvars,
            free,
        })
    }

    /// Evaluates every member at a point.
    fn eval_point(&self, t: &Typed, p: &Point) -> Result<Evaluated, EvalErr> {
        let mut out = Vec::new();
        let mut kink = f64::INFINITY;
        let mut gap: f64 = 0.0;
        let mut taken = Vec::new();
        for (i, m) in t.members.iter().enumerate() {
            // a member with an evaluation bar is evaluated where its symbol has the
            // bar's value
            let moved;
            let p = match self.id.bars.get(i) {
                Some(Some((key, v))) => {
                    let mut q = Point {
                        vals: p.vals.clone(),
                        idx: p.idx.clone(),
                        poly: p.poly.clone(),
                        dimvars: p.dimvars.clone(),
                        free: p.free.clone(),
                    };
                    match q.vals.get_mut(key) {
                        Some(Val::S(x)) => *x = *v,
                        Some(Val::M(x)) => x.fill(*v),
                        _ => {}
                    }
                    moved = q;
                    &moved
                }
                _ => p,
            };
            let mut derivs = HashMap::new();
            let mut ds = Vec::new();
            m.walk(&mut |x| {
                if let Expr::Deriv(id, d) = x {
                    ds.push((*id, d.clone()));
                }
            });
            for (id, d) in ds {
                let o = eval::derivative(
                    &d,
                    &p.vals,
                    &p.poly,
                    &p.dimvars,
                    &p.idx,
                    self.otimes,
                    self.layout == Layout::Numerator,
                )?;
                kink = kink.min(o.kink);
                gap = gap.max(o.fd_gap);
                taken.extend(o.taken);
                derivs.insert(id, o.value);
            }
            let mut cx = Cx::new(&p.vals, &p.poly, &p.dimvars, &derivs, self.otimes);
            cx.idx = p.idx.clone();
            let v = eval::eval(m, &mut cx)?;
            kink = kink.min(cx.kink);
            taken.extend(cx.taken);
            out.push(v);
        }
        Ok(Evaluated {
            vals: out,
            kink,
            gap,
            taken,
        })
    }

    /// Runs the trials; `Err` is a verdict (skip) when no valid point can be found.
    fn trials(&self, t: &Typed, symmetric: &BTreeSet<String>) -> Result<Trials, Box<Verdict>> {
        // matrices the note declared symmetric are always sampled so
        let declared: BTreeSet<String> = symmetric.union(&self.id.symmetric).cloned().collect();
        let symmetric = &declared;
        let mut rng = Rng(self.s.seed);
        let mut positive = self.id.positive.clone();
        let invertible = Self::invertible(&t.members);
        // cases branches to cover: (id, branch); not those of a `cases` inside a
        // branch of another (`\operatorname{elu}(u) + \alpha & u \le 0`): they hold
        // only where that branch does
        let mut nested: BTreeSet<u32> = BTreeSet::new();
        for m in &t.members {
            m.walk(&mut |x| {
                if let Expr::Cases(_, brs) = x {
                    for (v, _) in brs {
                        v.walk(&mut |y| {
                            if let Expr::Cases(inner, _) = y {
                                nested.insert(*inner);
                            }
                        });
                    }
                }
            });
        }
        let mut targets: Vec<(u32, usize)> = Vec::new();
        for m in &t.members {
            m.walk(&mut |x| {
                if let Expr::Cases(id, brs) = x
                    && !nested.contains(id)
                {
                    for (k, (_, c)) in brs.iter().enumerate() {
                        // a branch at a single point (`0 & x = 0`) cannot be sampled
                        if !measure_zero(c) && !targets.contains(&(*id, k)) {
                            targets.push((*id, k));
                        }
                    }
                }
            });
        }
        let n = self.s.trials.max(1).max(targets.len());
        let nsteps = t.members.len().saturating_sub(1);
        let mut steps: Vec<Step> = vec![
            Step {
                err: 0.0,
                worst: None,
                pairs: Vec::new(),
                shape: None,
            };
            nsteps
        ];
        for trial in 0..n {
            let target = if targets.is_empty() {
                None
            } else {
                Some(targets[trial % targets.len()])
            };
            let mut last_reason = String::from("no valid point");
            let mut suspects = 0;
            let mut learn = true;
            let mut got = None;
            for attempt in 0..ATTEMPTS {
                // positivity learnt from domain errors may make the domain
                // unreachable (`\ln(-x)`): drop it halfway
                if attempt == ATTEMPTS / 2 {
                    positive = self.id.positive.clone();
                    learn = false;
                }
                let Some(p) = self.sample(t, &mut rng, &positive, symmetric, &invertible) else {
                    last_reason = "a well-conditioned matrix".into();
                    continue;
                };
                match self.eval_point(t, &p) {
                    Err(EvalErr::Domain(what, syms)) => {
                        if learn {
                            for s in syms {
                                positive.insert(s);
                            }
                        }
                        last_reason = what;
                    }
                    Err(EvalErr::NoBranch) => {
                        last_reason = "a point where some `cases` branch holds".into();
                    }
                    Err(EvalErr::Shape(m)) => {
                        for st in steps.iter_mut() {
                            st.shape.get_or_insert((m.clone(), String::new()));
                        }
                        return Ok(Trials {
                            steps,
                            trials: trial,
                        });
                    }
                    Err(EvalErr::Unsupported(m)) => {
                        return Err(Box::new(skip(SkipReason::Unsupported, &m, self.s)));
                    }
                    Ok(ev) => {
                        if ev.kink < KINK {
                            last_reason = "a point away from the kinks of max/relu/|.|".into();
                            continue;
                        }
                        if ev.gap > FD_TOL {
                            suspects += 1;
                            last_reason =
                                "a point where automatic and finite differences agree".into();
                            continue;
                        }
                        if !self.conds_hold(&p) {
                            last_reason = "a point where the stated condition holds".into();
                            continue;
                        }
                        if let Some(tg) = target
                            && !ev.taken.contains(&tg)
                        {
                            last_reason =
                                format!("a point where branch {} of `cases` holds", tg.1 + 1);
                            continue;
                        }
                        got = Some((p, ev));
                        break;
                    }
                }
            }
            let Some((p, ev)) = got else {
                let _ = suspects;
                let mut v = skip(
                    SkipReason::Domain,
                    &format!("could not sample {last_reason} (after {ATTEMPTS} attempts)"),
                    self.s,
                );
                v.trials = trial;
                return Err(Box::new(v));
            };
            for (i, st) in steps.iter_mut().enumerate() {
                let (a, b) = (&ev.vals[i], &ev.vals[i + 1]);
                match compare(a, b) {
                    Err((sa, sb)) => {
                        st.shape.get_or_insert((sa, sb));
                    }
                    Ok((err, entry, va, vb)) => {
                        if err > st.err || st.worst.is_none() {
                            st.err = st.err.max(err);
                            st.worst = Some(Worst {
                                trial,
                                entry,
                                a: va,
                                b: vb,
                                sizes: self.point_text(t, &p),
                            });
                        }
                    }
                }
                st.pairs.push((a.clone(), b.clone()));
            }
        }
        Ok(Trials { steps, trials: n })
    }

    /// Do the identity's stated conditions hold at the point (away from their
    /// boundary)? Conditions about symbols the identity does not have are ignored.
    fn conds_hold(&self, p: &Point) -> bool {
        let empty = HashMap::new();
        for c in &self.id.conds {
            let mut cx = Cx::new(&p.vals, &p.poly, &p.dimvars, &empty, self.otimes);
            cx.idx = p.idx.clone();
            match eval::cond(c, &mut cx) {
                Ok(true) => {
                    if cx.kink < KINK {
                        return false;
                    }
                }
                Ok(false) => return false,
                Err(_) => {}
            }
        }
        true
    }

    fn point_text(&self, t: &Typed, p: &Point) -> String {
        let mut keys: Vec<&String> = p.vals.keys().collect();
        keys.sort();
        let mut parts = Vec::new();
        for k in keys {
            let name = k.trim_start_matches('\\');
            match &p.vals[k] {
                Val::S(x) => parts.push(format!("{name} = {x:.4}")),
                Val::M(m) => parts.push(format!("{name} {}×{}", m.nrows(), m.ncols())),
                Val::Zero => {}
            }
        }
        let _ = t;
        let _ = &p.free;
        parts.join(", ")
    }

    fn sampled(&self, t: Typed, info: &SymInfo) -> Verdict {
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
                        "{prefix}the sides differ: largest relative error {:.3}{at}: left {:.6}, right {:.6}",
                        st.err, w.a, w.b
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
        let mut v = verdict(Outcome::Fail(FailKind::Value), msg, self.s);
        v.max_error = Some(max_err);
        v.trials = tr.trials;
        v.counterexample = Some(cex);
        v.hint = self.hints(&t, i, st, info);
        v
    }

    fn hints(&self, t: &Typed, i: usize, st: &Step, info: &SymInfo) -> Option<String> {
        let mut hints = Vec::new();
        // which side is the derivative: hints speak of the other side
        let deriv_left = has_deriv(&t.members[i]) || !has_deriv(&t.members[i + 1]);
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

struct Point {
    vals: HashMap<String, Val<f64>>,
    /// Positions of the free indices.
    idx: Vec<(String, usize)>,
    poly: HashMap<u32, usize>,
    dimvars: HashMap<String, usize>,
    free: HashMap<D, usize>,
}

struct Evaluated {
    vals: Vec<Val<f64>>,
    kink: f64,
    gap: f64,
    taken: Vec<(u32, usize)>,
}

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
fn compare(
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
