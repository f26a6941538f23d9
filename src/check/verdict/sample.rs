//! Sampling: the one random number generator, sizes and points, evaluation at a
//! point, and the trials.

use std::collections::{BTreeSet, HashMap};

use nalgebra::DMatrix;

use crate::check::eval::{Cx, EvalErr, Val};
use crate::check::notation::Func;
use crate::check::shape::{D, Infer, Ty};
use crate::check::syntax::{Cond, Expr, PostOp, Rel};
use crate::check::{Layout, SkipReason, Verdict, eval};

use super::compare::compare;
use super::{ATTEMPTS, Checker, FD_TOL, KINK, MAX_COND, Step, Trials, Typed, Worst, skip};

/// Attempts at the usual magnitudes before numbers are drawn from a widening range.
const WIDEN_AFTER: usize = 60;

/// Which trial a point is drawn for, and how far from the usual magnitudes
/// (a factor on scalars).
#[derive(Clone, Copy)]
struct Draw {
    trial: usize,
    spread: f64,
}

/// Splitmix64.
pub(super) struct Rng(pub(super) u64);

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
    pub(super) fn sign(&mut self) -> f64 {
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

/// A condition that holds only on a set of measure zero (an equation).
fn measure_zero(c: &Cond) -> bool {
    match c {
        Cond::Always => false,
        Cond::Rel(_, rels) => rels.contains(&Rel::Eq),
        Cond::And(cs) => cs.iter().any(measure_zero),
    }
}

struct Point {
    pub(super) vals: HashMap<String, Val<f64>>,
    /// Positions of the free indices.
    pub(super) idx: Vec<(String, usize)>,
    pub(super) poly: HashMap<u32, usize>,
    pub(super) dimvars: HashMap<String, usize>,
    pub(super) free: HashMap<D, usize>,
}

struct Evaluated {
    pub(super) vals: Vec<Val<f64>>,
    pub(super) kink: f64,
    pub(super) gap: f64,
    pub(super) taken: Vec<(u32, usize)>,
}

impl Checker<'_> {
    pub(super) fn sizes_for(&self, inf: &Infer, rng: &mut Rng) -> HashMap<D, usize> {
        let roots = inf.dims.free_roots();
        let top = 5.max(roots.len() + 1);
        let mut pool: Vec<usize> = (2..=top).collect();
        for i in (1..pool.len()).rev() {
            let j = rng.below(i + 1);
            pool.swap(i, j);
        }
        roots.into_iter().zip(pool).collect()
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
        draw: Draw,
    ) -> Option<Point> {
        let Draw { trial, spread } = draw;
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
                    let mag = (0.5 + 1.5 * rng.unit()) * spread;
                    Val::S(if pos { mag } else { mag * rng.sign() })
                }
                Ty::M(r, c) => {
                    let (nr, nc) = (inf.dims.size(r, &free), inf.dims.size(c, &free));
                    let vector = nr == 1 || nc == 1;
                    let mut m = DMatrix::<f64>::zeros(nr, nc);
                    if vector && self.id.onehot.contains(k) {
                        // one-hot: a single 1
                        let at = rng.below(m.len());
                        if let Some(x) = m.get_mut(at) {
                            *x = 1.0;
                        }
                    } else if vector && self.id.simplex.contains(k) {
                        // a probability vector: entries in (0, 1) summing to one
                        for x in m.iter_mut() {
                            *x = 0.2 + rng.unit();
                        }
                        let total: f64 = m.iter().sum();
                        m /= total;
                    } else if vector {
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
        let mut idx: Vec<(String, usize)> = inf
            .free
            .iter()
            .map(|(n, d)| (n.clone(), rng.below(inf.dims.size(*d, &free))))
            .collect();
        // several free indices (`\frac{\partial s_i}{\partial z_j}`): the identity
        // holds for every pair, so the trials take them equal (i = j) and different
        // in turn
        if idx.len() >= 2 {
            let sizes: Vec<usize> = inf
                .free
                .iter()
                .map(|(_, d)| inf.dims.size(*d, &free))
                .collect();
            let first = idx[0].1;
            for (k, n) in sizes.iter().enumerate().skip(1) {
                if trial.is_multiple_of(2) {
                    if first < *n {
                        idx[k].1 = first;
                    }
                } else if idx[k].1 == first && *n > 1 {
                    idx[k].1 = (first + 1 + rng.below(n - 1)) % n;
                }
            }
        }
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
        let empty = HashMap::new();
        // `y` given by a relation `H = 0`: on the curve, by Newton's method from the
        // sampled value (a point where it does not converge is resampled)
        if let Some((y, h)) = &self.id.implicit {
            let key = y.key();
            let value = |vals: &HashMap<String, Val<f64>>| -> Option<f64> {
                let mut cx = Cx::new(vals, &poly, &dimvars, &empty, self.otimes);
                cx.idx = idx.clone();
                match eval::eval(h, &mut cx) {
                    Ok(Val::S(v)) if v.is_finite() => Some(v),
                    _ => None,
                }
            };
            let mut hv = value(&vals)?;
            let mut converged = false;
            for _ in 0..60 {
                if hv.abs() <= 1e-13 {
                    converged = true;
                    break;
                }
                let d = crate::check::syntax::Deriv::by(h.clone(), y.clone());
                let Ok(out) = eval::derivative(&d, &vals, &poly, &dimvars, &idx, self.otimes, true)
                else {
                    return None;
                };
                let (Val::S(dh), Some(Val::S(y0))) = (out.value, vals.get(&key).cloned()) else {
                    return None;
                };
                if !dh.is_finite() || dh.abs() < 1e-9 {
                    return None;
                }
                // damped: the step halved until |H| decreases (a full step may leave
                // the domain, `\sqrt{y}` with y < 0)
                let mut step = hv / dh;
                let mut moved = false;
                for _ in 0..40 {
                    vals.insert(key.clone(), Val::S(y0 - step));
                    match value(&vals) {
                        Some(h1) if h1.abs() < hv.abs() || h1.abs() <= 1e-13 => {
                            hv = h1;
                            moved = true;
                            break;
                        }
                        _ => step /= 2.0,
                    }
                }
                if !moved {
                    return None;
                }
            }
            if !converged {
                return None;
            }
        }
        // defined variables take their definition's value
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
    pub(super) fn trials(
        &self,
        t: &Typed,
        symmetric: &BTreeSet<String>,
    ) -> Result<Trials, Box<Verdict>> {
        // matrices the note declared symmetric are always sampled so
        let declared: BTreeSet<String> = symmetric.union(&self.id.symmetric).cloned().collect();
        let symmetric = &declared;
        let mut rng = Rng(self.s.seed);
        let mut positive = self.id.positive.clone();
        let invertible = Self::invertible(&t.members);
        let targets = branch_targets(&t.members);
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
                // a domain away from the usual magnitudes (`\ln(x - 3)`, `x \in [3,
                // 8]`): numbers drawn from a widening range after a while
                let spread = if attempt < WIDEN_AFTER {
                    1.0
                } else {
                    1.0 + (attempt - WIDEN_AFTER) as f64 / 20.0
                };
                let draw = Draw { trial, spread };
                let Some(p) = self.sample(t, &mut rng, &positive, symmetric, &invertible, draw)
                else {
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
                        last_reason = format!("a point that avoids {what}");
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
            self.record(&mut steps, trial, t, &p, &ev);
        }
        Ok(Trials { steps, trials: n })
    }

    /// Compares the sides at one trial's point: each step's largest error so far,
    /// where it was, and the values (for hints).
    fn record(&self, steps: &mut [Step], trial: usize, t: &Typed, p: &Point, ev: &Evaluated) {
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
                            sizes: self.point_text(t, p),
                        });
                    }
                }
            }
            st.pairs.push((a.clone(), b.clone()));
        }
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

    /// The point of a counterexample: each scalar's value, each small matrix's
    /// entries ([`SHOWN_ENTRIES`]), the sizes of larger ones, the free indices.
    fn point_text(&self, t: &Typed, p: &Point) -> String {
        let mut keys: Vec<&String> = p.vals.keys().collect();
        keys.sort();
        let mut parts = Vec::new();
        for k in keys {
            let name = k.trim_start_matches('\\');
            match &p.vals[k] {
                Val::S(x) => parts.push(format!("{name} = {x:.4}")),
                // a small matrix or vector with its entries, rows split by `;`
                Val::M(m) if m.nrows() * m.ncols() <= SHOWN_ENTRIES => {
                    let rows: Vec<String> = (0..m.nrows())
                        .map(|r| {
                            (0..m.ncols())
                                .map(|c| format!("{:.3}", m[(r, c)]))
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .collect();
                    parts.push(format!(
                        "{name} = [{}] ({}×{})",
                        rows.join("; "),
                        m.nrows(),
                        m.ncols()
                    ));
                }
                Val::M(m) => parts.push(format!("{name} {}×{}", m.nrows(), m.ncols())),
                Val::Zero => {}
            }
        }
        let _ = t;
        let _ = &p.free;
        // the free indices' values (1-based): `i = 2, j = 2`
        for (n, k) in &p.idx {
            parts.push(format!("{} = {}", n.trim_start_matches('\\'), k + 1));
        }
        parts.join(", ")
    }
}

/// Matrices and vectors of at most this many entries are shown with their values
/// in a counterexample (a 3×3 matrix, a 9-vector); larger ones by their size.
const SHOWN_ENTRIES: usize = 9;

/// The `cases` branches to cover: (id, branch); not those of a `cases` inside a
/// branch of another (`\operatorname{elu}(u) + \alpha & u \le 0`): they hold only
/// where that branch does; nor a branch at a single point (`0 & x = 0`).
fn branch_targets(members: &[Expr]) -> Vec<(u32, usize)> {
    let mut nested: BTreeSet<u32> = BTreeSet::new();
    for m in members {
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
    for m in members {
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
    targets
}
