//! Checking one identity: kinds, shapes, sampling, comparison, hints.
//!
//! # Tolerances
//!
//! - Identity check: entries agree when `|a − b| ≤ 1e-6 · max(1, |a|, |b|)`. The
//!   derivative side is exact (forward-mode AD), so this only absorbs rounding in
//!   both sides' evaluation (sampled matrices that get inverted have condition
//!   number ≤ 1e3; inverses of worse-conditioned expressions (> 1e6) resample).
//! - AD vs central differences (`h = 1e-6 · max(1, |x|)`): a disagreement above
//!   `1e-3` (relative, floor 1) marks the point suspect (near a kink or badly
//!   conditioned) and it is resampled; it never decides a verdict by itself.
//! - Kinks: a point whose `max`/`relu`/`|.|`/`cases`-condition argument is within
//!   `1e-3` (relative, floor 1) of the kink is resampled.
//! - Sampling: free dimensions get distinct sizes from 2..=5 (more if needed) per
//!   trial; scalars are ±[0.5, 2], vector entries ±[0.2, 1.5], matrix entries
//!   [-1, 1]; matrices that are inverted are `2I + R/√n`. A domain error (log of a
//!   non-positive value, ...) makes the symbols involved positive for later
//!   samples. Each trial gets up to 300 attempts; each `cases` branch gets its own
//!   trials, also one inside a derivative's operand (a branch on a single point,
//!   `0 & x = 0`, is not sampled; nor are the branches of a `cases` inside a branch
//!   of another, such as a defined piecewise function used in a branch).

mod compare;
mod kinds;
pub(crate) mod layout;
mod sample;

use std::collections::{BTreeSet, HashMap};

use super::eval::Val;
use super::find::{Ident, Skip};
use super::notation::{
    ARRAY_MARKS, DECOR_CMDS, Func, IMAGINARY_UNIT, INTEGRATION_CONSTANTS, TENSOR_INDICES,
};
use super::shape::{Infer, Kind, Ty, TyErr};
use super::syntax::{BinOp, Expr, Sym};
use super::{FailKind, Finding, Layout, Otimes, Outcome, Reading, Settings, SkipReason, Verdict};
use kinds::{SymInfo, abs_as_norm, analyse, candidates, nabla_transposed, row_transposed};

/// How many points of an implicitly given curve a failing formula is tried at, one
/// by one, before it is said to hold on none of its branches.
const BRANCH_POINTS: usize = 24;

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
        reading: None,
    }
}

pub(super) fn skip(why: SkipReason, message: &str, s: &Settings) -> Verdict {
    verdict(Outcome::Skip(why), message.to_string(), s)
}

/// At most this many conditions stated elsewhere are set aside one by one.
const MAX_CONDS_SET_ASIDE: usize = 6;

/// The identity with every symbol of the reading a scalar, when its text has no
/// mark of a vector or a matrix ([`ARRAY_MARKS`]) and the reading has some, none of
/// them declared in the identity's own part of the note (a declaration under
/// another heading is about another use of the letter).
fn all_scalar(id: &Ident, r: &Reading) -> Option<Ident> {
    if r.kinds.values().all(|k| *k == Kind::Scalar)
        || id
            .texts
            .iter()
            .any(|t| ARRAY_MARKS.iter().any(|m| t.contains(m)))
        || r.kinds
            .keys()
            .any(|k| id.decls.contains_key(k) && !id.decls_elsewhere.contains(k))
    {
        return None;
    }
    let mut id2 = id.clone();
    for k in r.kinds.keys() {
        id2.decls.insert(k.clone(), Kind::Scalar);
    }
    Some(id2)
}

/// The identity with every matrix of the reading square and of one size, when it
/// has two or more matrices whose sizes the note does not give.
fn all_square(id: &Ident, r: &Reading) -> Option<Ident> {
    let free: Vec<&String> = r
        .kinds
        .iter()
        .filter(|(k, kind)| **kind == Kind::Matrix && !id.dimnames.iter().any(|(d, _)| d == *k))
        .map(|(k, _)| k)
        .collect();
    let matrices = r.kinds.values().filter(|k| **k == Kind::Matrix).count();
    if free.is_empty() || matrices < 2 {
        return None;
    }
    let mut id2 = id.clone();
    // a name no letter has: it only ties the dimensions
    let n = Some("□".to_string());
    for k in free {
        id2.dimnames.push((k.clone(), vec![n.clone(), n.clone()]));
    }
    Some(id2)
}

/// [`check_reread_whole`], with a failing chain in scalar letters that goes on to a
/// number (`P'(x) = 80 - 0.12x = 0`, `f'(c) = 2c = 4`) read as the identity up to
/// there: from that member on, an equation for the points where it holds or a value
/// at one, not an identity.
pub(super) fn check_reread(f: &Finding, s: &Settings, layout: Layout) -> Verdict {
    let v = check_reread_whole(f, s, layout);
    if !matches!(v.outcome, Outcome::Fail(_)) {
        return v;
    }
    let Ok(id) = &f.body else { return v };
    // notations the checker reads otherwise than the note means: no failure
    if let Some(index) = tensor_index(id) {
        return skip(
            SkipReason::Unsupported,
            &format!(
                "index notation: \\{index} is written both up and down, a tensor index summed \
                 over, not an exponent (as read: {})",
                v.message
            ),
            s,
        );
    }
    if let Some(c) = initial_condition(id) {
        return skip(
            SkipReason::NotIdentity,
            &format!(
                "an initial condition: a value at a point that picks the constant {c} of a \
                 general solution (as an identity: {})",
                v.message
            ),
            s,
        );
    }
    if let Some(entry) = matrix_entry_variable(id) {
        return skip(
            SkipReason::Unsupported,
            &format!(
                "a derivative by {entry}, an entry of a matrix the identity also names \
                 otherwise: entry-wise matrix derivatives are not supported (read as a letter \
                 of its own: {})",
                v.message
            ),
            s,
        );
    }
    if let Some((marked, plain)) = marked_form(id) {
        return skip(
            SkipReason::Ambiguous,
            &format!(
                "{marked} is written as a form of {plain} that the note does not define (a \
                 transpose, a conjugate, an estimate?); read as a letter of its own: {}",
                v.message
            ),
            s,
        );
    }
    if imaginary_unit(id) {
        return skip(
            SkipReason::Unsupported,
            &format!(
                "{IMAGINARY_UNIT} may be the imaginary unit (the checker samples real numbers \
                 only; with {IMAGINARY_UNIT} a real number: {})",
                v.message
            ),
            s,
        );
    }
    // a bare `e` the note never defines: maybe Euler's number (`\ln e`, `f'(1) = e`)
    if let Some(euler) = with_euler(id) {
        let mut g = f.clone();
        g.body = Ok(euler);
        let w = check_reread(&g, s, layout);
        if w.outcome == Outcome::Pass {
            return annotated(w, "(with e Euler's number)".to_string());
        }
    }
    // `f'' = 0`, `f'(x) = 0` of a function the note gives: the condition for a
    // critical or inflection point, not a claim that the function is flat
    if let Some(d) = vanishing_prime(id) {
        return skip(
            SkipReason::NotIdentity,
            &format!(
                "`{d} = 0` reads as the condition for the points where it vanishes; as an \
                 identity: {}",
                v.message
            ),
            s,
        );
    }
    // (capital letters read as numbers: `V'(x) = 12x^2 - 4(L + W)x + LW = 0`)
    let scalars = v
        .reading
        .as_ref()
        .is_some_and(|r| r.kinds.values().all(|k| *k == Kind::Scalar));
    let Some(j) = value_member(id, scalars) else {
        return v;
    };
    let text = id.texts.get(j).cloned().unwrap_or_default();
    // `\frac{dV}{ds} = 3(10)^2 = 300`: a value at a point, worked out
    if j == 1 {
        return skip(
            SkipReason::NotIdentity,
            &format!(
                "a value at a point, worked out (`= {text}` is a number); as an identity: {}",
                v.message
            ),
            s,
        );
    }
    let mut g = f.clone();
    g.body = Ok(up_to(id, j));
    let w = check_reread_whole(&g, s, layout);
    if w.outcome == Outcome::Pass {
        annotated(
            w,
            format!("(up to `= {text}`, an equation for a point or a value at one)"),
        )
    } else {
        w
    }
}

/// The first member that is a number (no letter, no derivative, no
/// function the note names) after a member in plain scalar letters that vary (not a
/// point's, not under an evaluation bar), in an identity of such letters only.
fn value_member(id: &Ident, scalars: bool) -> Option<usize> {
    let members = &id.members;
    if id.bars.iter().any(Option::is_some) {
        return None;
    }
    let plain = members.iter().all(|m| {
        !m.any(&|x| matches!(x, Expr::Var(v) if v.bold || (v.upper && !scalars)))
            && !m.any(&|x| matches!(x, Expr::Zeros(..) | Expr::Ones(..) | Expr::Ident(..)))
    });
    if !plain {
        return None;
    }
    let number = |e: &Expr| {
        !e.any(&|x| {
            matches!(
                x,
                Expr::Var(_) | Expr::Deriv(..) | Expr::Apply(..) | Expr::Sum { .. }
            )
        })
    };
    // (a symbol defined in other letters varies with them: `s = \frac{2}{3}x`)
    let varies = |v: &Sym| {
        id.deps
            .iter()
            .find(|(d, _)| d.key() == v.key())
            .is_none_or(|(_, def)| def.any(&|x| matches!(x, Expr::Var(_))))
    };
    let letters = |e: &Expr| e.any(&|x| matches!(x, Expr::Var(v) if varies(v)));
    // (a number right after the first member only in a chain that goes on: `f''(x) =
    // 0` alone says the derivative vanishes)
    let first = if members.len() >= 3 { 1 } else { 2 };
    (first..members.len()).find(|&j| number(&members[j]) && letters(&members[j - 1]))
}

/// A Greek letter written both as a superscript and as a subscript in the
/// identity's text ([`TENSOR_INDICES`]): `\partial_\mu j^\mu`.
fn tensor_index(id: &Ident) -> Option<&'static str> {
    static SCRIPT: std::sync::LazyLock<Option<regex::Regex>> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"([\^_])\s*(\{[^{}]*\}|\\[A-Za-z]+)").ok());
    let re = SCRIPT.as_ref()?;
    let (mut up, mut down) = (BTreeSet::new(), BTreeSet::new());
    for text in &id.texts {
        for c in re.captures_iter(text) {
            let side = if &c[1] == "^" { &mut up } else { &mut down };
            for name in TENSOR_INDICES {
                let cmd = format!("\\{name}");
                let body = &c[2];
                if body.match_indices(&cmd).any(|(k, _)| {
                    !body[k + cmd.len()..].starts_with(|ch: char| ch.is_ascii_alphabetic())
                }) {
                    side.insert(*name);
                }
            }
        }
    }
    up.intersection(&down).next().copied()
}

/// The variable of a derivative by a doubly indexed entry (`\partial B_{ij}`) whose
/// letter the identity also writes bare or with other indices (`\operatorname{tr}(AB)`,
/// `B_{kj}`).
fn matrix_entry_variable(id: &Ident) -> Option<String> {
    let mut wrts: Vec<Sym> = Vec::new();
    let mut letters: Vec<Sym> = Vec::new();
    for m in &id.members {
        m.walk(&mut |x| match x {
            Expr::Deriv(_, d) => wrts.push(d.wrt.clone()),
            Expr::Var(v) => letters.push(v.clone()),
            _ => {}
        });
    }
    wrts.into_iter().find_map(|w| {
        let sub = w.sub.as_ref()?;
        let indices = sub.chars().filter(|c| c.is_alphanumeric()).count();
        let greek = sub.matches('\\').count();
        let doubly = indices >= 2 && (greek == 0 || greek >= 2) || sub.contains(',');
        (doubly
            && letters
                .iter()
                .any(|v| v.base == w.base && v.sub.as_deref() != Some(sub.as_str())))
        .then(|| w.show())
    })
}

/// A value at a point (an evaluation bar) of a general solution whose constants of
/// integration ([`INTEGRATION_CONSTANTS`]) come from its definition, not the identity's
/// text: `\left.\frac{dx}{dt}\right|_{t=0} = 0` for `x = C_1 \cos kt + C_2 \sin kt`.
fn initial_condition(id: &Ident) -> Option<String> {
    if !id.bars.iter().any(Option::is_some) {
        return None;
    }
    let mut found = None;
    for m in &id.members {
        m.walk(&mut |x| {
            if let Expr::Var(v) = x
                && INTEGRATION_CONSTANTS.contains(&v.base.as_str())
                && v.sub
                    .as_ref()
                    .is_none_or(|s| s.chars().all(|c| c.is_ascii_digit()))
                && !v.bold
            {
                found.get_or_insert_with(|| v.show());
            }
        });
    }
    let c = found?;
    let base = c.chars().next().map(String::from).unwrap_or_default();
    (!id.texts.iter().any(|t| t.contains(&base))).then_some(c)
}

/// An undefined letter under an accent (`\tilde{A}`, `\hat{u}`, [`DECOR_CMDS`]) whose
/// plain letter is in the identity too: the two names and the accented one's text.
fn marked_form(id: &Ident) -> Option<(String, String)> {
    let (mut names, mut wrts) = (BTreeSet::new(), BTreeSet::new());
    for m in &id.members {
        m.walk(&mut |x| match x {
            Expr::Var(v) => {
                names.insert(v.base.clone());
            }
            Expr::Deriv(_, d) => {
                wrts.insert(d.wrt.base.clone());
            }
            _ => {}
        });
    }
    // (a variable of a derivative is a letter of its own: `\hat{y}` by which a loss
    // is differentiated)
    names.iter().filter(|n| !wrts.contains(*n)).find_map(|n| {
        let rest = n.strip_prefix('\\')?;
        let open = rest.find('{')?;
        let inner = rest[open + 1..].strip_suffix('}')?;
        (DECOR_CMDS.contains(&&rest[..open]) && names.contains(inner))
            .then(|| (n.clone(), inner.to_string()))
    })
}

/// A free `i` (no subscript, not an index of a sum, not defined): maybe the
/// imaginary unit.
fn imaginary_unit(id: &Ident) -> bool {
    let mut bound = BTreeSet::new();
    let mut free = false;
    for m in &id.members {
        m.walk(&mut |x| match x {
            Expr::Sum { idx, .. } => {
                bound.insert(idx.clone());
            }
            Expr::Var(v) if v.base == IMAGINARY_UNIT && v.sub.is_none() && !v.bold => free = true,
            _ => {}
        });
    }
    free && !bound.contains(IMAGINARY_UNIT) && !id.free.iter().any(|f| f == IMAGINARY_UNIT)
}

/// The primed side of `f'' = 0`, `f'(x) = 0` (two members, one a plain `0`, the
/// other a function's primes at a letter or at nothing).
fn vanishing_prime(id: &Ident) -> Option<String> {
    static PRIMED: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"^[A-Za-z](?:'+|\^\{?(?:\\prime)+\}?|\^\{\(\d\)\})(?:\s*\(\s*(?:[A-Za-z]|\\[a-z]+)\s*\))?$",
        )
        .ok()
    });
    let [a, b] = id.texts.as_slice() else {
        return None;
    };
    let (a, b) = (a.trim(), b.trim());
    let primed = |t: &str| PRIMED.as_ref().is_some_and(|r| r.is_match(t));
    match (a, b) {
        (d, "0") | ("0", d) if primed(d) => Some(d.to_string()),
        _ => None,
    }
}

/// The identity with its free letter `e` (plain, no subscript) read as Euler's
/// number; `None` when it has none.
fn with_euler(id: &Ident) -> Option<Ident> {
    let is_e = |x: &Expr| matches!(x, Expr::Var(v) if v.base == "e" && v.sub.is_none() && !v.bold);
    if !id.members.iter().any(|m| m.any(&is_e)) {
        return None;
    }
    let swap = |e: &Expr| {
        e.clone().rewrite(&mut |x| {
            if is_e(&x) {
                Expr::Num(std::f64::consts::E)
            } else {
                x
            }
        })
    };
    let mut out = id.clone();
    out.members = id.members.iter().map(swap).collect();
    let each = |v: &[Ident]| -> Vec<Ident> {
        v.iter()
            .map(|i| with_euler(i).unwrap_or_else(|| i.clone()))
            .collect()
    };
    out.instances = each(&id.instances);
    out.implicit_alts = each(&id.implicit_alts);
    Some(out)
}

/// The identity's first `j` members.
fn up_to(id: &Ident, j: usize) -> Ident {
    let mut out = id.clone();
    out.members.truncate(j);
    out.texts.truncate(j);
    out.bars.truncate(j);
    out.instances = id.instances.iter().map(|i| up_to(i, j)).collect();
    out.implicit_alts = id.implicit_alts.iter().map(|i| up_to(i, j)).collect();
    out
}

/// The verdict, with a pass or a fail that another reading of the notation would
/// not support turned into a skip (`ambiguous`).
fn check_reread_whole(f: &Finding, s: &Settings, layout: Layout) -> Verdict {
    if let Ok(id) = &f.body
        && let Some(reading) = &id.freed
    {
        return check_freed(f, id, reading, s, layout);
    }
    if let Ok(id) = &f.body
        && !id.generic.is_empty()
    {
        return check_generic(f, id, s, layout);
    }
    if let Ok(id) = &f.body
        && let Some(reading) = &id.rates
    {
        return check_rates(f, id, reading, s, layout);
    }
    let v = check_read_exp(f, s, layout);
    if let Ok(id) = &f.body
        && let Some(why) = &id.point
        && v.outcome != Outcome::Pass
    {
        return skip(SkipReason::NotIdentity, why, s);
    }
    if matches!(v.outcome, Outcome::Fail(_) | Outcome::Pass)
        && let Ok(id) = &f.body
        && operator_alone(&id.texts)
    {
        return skip(
            SkipReason::Ambiguous,
            &format!(
                "a differential operator stands alone, applied to a bracket (operator \
                 notation: an equation for an unknown function); under the checker's reading: {}",
                v.message
            ),
            s,
        );
    }
    if matches!(v.outcome, Outcome::Fail(_))
        && let Ok(id) = &f.body
        && let Some(name) = &id.stale
    {
        return skip(
            SkipReason::Ambiguous,
            &format!(
                "{name} here may not be the {name} defined in an earlier part of the note \
                 (under another heading or numbered item; the note may mean a new {name} \
                 here); under that definition: {}",
                v.message
            ),
            s,
        );
    }
    if matches!(v.outcome, Outcome::Fail(_))
        && let Ok(id) = &f.body
        && let Some((l, r)) = letters_apart(&id.members)
    {
        return skip(
            SkipReason::Ambiguous,
            &format!(
                "the left side is in {l} and the right side in {r}, which it never mentions: \
                 one letter may stand for the other; as written: {}",
                v.message
            ),
            s,
        );
    }
    if matches!(v.outcome, Outcome::Fail(_))
        && let Ok(id) = &f.body
        && let Some(why) = other_reading(&id.texts, &id.funcs)
    {
        return skip(
            SkipReason::Ambiguous,
            &format!("{why}; under the checker's reading: {}", v.message),
            s,
        );
    }
    v
}

/// The largest rounding a number written with decimals (two significant digits or
/// more, outside exponents) in the identity may carry, relative to it (`0,785`:
/// 0.0005 / 0.785), and that number as written: a difference within it may be the
/// note's rounding, not an error.
pub(super) fn rounding(texts: &[String]) -> Option<(f64, String)> {
    static NUMERAL: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\d+(?:(?:~|\\,|\\ )\d{3})*[.,]\d+(?:(?:~|\\,|\\ )\d{3})*").ok()
    });
    let re = NUMERAL.as_ref()?;
    let mut best: Option<(f64, String)> = None;
    for t in texts {
        for m in re.find_iter(t) {
            // a number in an exponent (`e^{0,13t}`) is the same on both sides
            if in_superscript(&t[..m.start()]) {
                continue;
            }
            let written = m.as_str();
            let digits: String = written
                .chars()
                .map(|c| if c == ',' { '.' } else { c })
                .filter(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let Some((_, frac)) = digits.split_once('.') else {
                continue;
            };
            let Ok(value) = digits.parse::<f64>() else {
                continue;
            };
            // one significant digit (`0,0006`, `2.5`) is a number as it is, not a
            // rounded one
            let significant = digits.trim_start_matches(['0', '.']).replace('.', "");
            if significant.trim_end_matches('0').len() < 2 {
                continue;
            }
            if value == 0.0 {
                continue;
            }
            let exp = i32::try_from(frac.len()).unwrap_or(i32::MAX);
            let rel = 0.5 * 10f64.powi(-exp) / value;
            if best.as_ref().is_none_or(|(b, _)| rel > *b) {
                best = Some((rel, written.to_string()));
            }
        }
    }
    best
}

/// Does the text end inside a superscript (`e^{-0,`, `x^`)?
fn in_superscript(before: &str) -> bool {
    let mut depth = 0i32;
    for (i, c) in before.char_indices().rev() {
        match c {
            '}' => depth += 1,
            '{' if depth > 0 => depth -= 1,
            '{' => return before[..i].ends_with('^'),
            _ => {}
        }
    }
    before.ends_with('^')
}

/// A letter only the first member has and one only the others have (`V''(p) =
/// \frac{2}{3}\sqrt{1 - x} ...`, the right side written in another letter than the
/// left): the note may use one for the other.
fn letters_apart(members: &[Expr]) -> Option<(String, String)> {
    let letters = |e: &Expr| {
        let mut out = BTreeSet::new();
        e.walk(&mut |x| {
            // a plain letter (not a quantity named by the checker)
            if let Expr::Var(s) = x
                && s.sub.is_none()
                && s.base.len() == 1
                && s.base.bytes().all(|b| b.is_ascii_alphabetic())
            {
                out.insert(s.key());
            }
        });
        out
    };
    let (first, rest) = members.split_first()?;
    let left = letters(first);
    let right: BTreeSet<String> = rest.iter().flat_map(letters).collect();
    let l = left.difference(&right).next()?;
    let r = right.difference(&left).next()?;
    Some((l.clone(), r.clone()))
}

/// The pass `w` with the reading it rests on said after its message.
fn annotated(mut w: Verdict, reading: String) -> Verdict {
    w.message = format!("{} {reading}", w.message);
    w
}

/// Does the text after a letter write primes and then an argument (`'(x)`,
/// `^\prime(x)`, `^{''}(x)`)?
fn primed_call(after: &str) -> bool {
    let rest = after
        .trim_start_matches(['\'', '^', '{', '}', ' '])
        .trim_start_matches("\\prime")
        .trim_start_matches(['\'', '}', ' '])
        .trim_start_matches("\\prime")
        .trim_start_matches(['}', ' ']);
    rest.starts_with('(') || rest.starts_with("\\left(")
}

/// An identity read with letters of its own where the note's earlier definitions
/// bring in quantities it never gives (`find::stale`): a pass names the reading;
/// anything else may come from the definitions the note meant, and the skip they
/// led to stands.
fn check_freed(
    f: &Finding,
    id: &Ident,
    (reading, otherwise): &(String, Skip),
    s: &Settings,
    layout: Layout,
) -> Verdict {
    let mut one = id.clone();
    one.freed = None;
    let mut g = f.clone();
    g.body = Ok(one);
    let v = check_reread(&g, s, layout);
    if v.outcome == Outcome::Pass {
        annotated(v, format!("({reading})"))
    } else {
        skip(otherwise.kind, &otherwise.message, s)
    }
}

/// An identity read with quantities varying with the variable (`find::rates`): a
/// pass on that reading or on an earlier relation of the note; a failure may come
/// from a tie between the quantities the note does not state (or values at one
/// instant), so it is a skip (`ambiguous`).
fn check_rates(f: &Finding, id: &Ident, reading: &str, s: &Settings, layout: Layout) -> Verdict {
    let mut readings = vec![(id.clone(), reading.to_string())];
    readings.extend(
        id.implicit_alts
            .iter()
            .map(|a| (a.clone(), a.rates.clone().unwrap_or_default())),
    );
    let mut first: Option<Verdict> = None;
    for (mut one, why) in readings {
        one.rates = None;
        one.implicit_alts.clear();
        let mut g = f.clone();
        g.body = Ok(one);
        let v = check_reread(&g, s, layout);
        if v.outcome == Outcome::Pass {
            return annotated(v, format!("({why})"));
        }
        first.get_or_insert(v);
    }
    match first {
        Some(v)
            if matches!(
                v.outcome,
                Outcome::Fail(_) | Outcome::Skip(SkipReason::Ambiguous)
            ) =>
        {
            skip(
                SkipReason::Ambiguous,
                &format!(
                    "{reading}: {} (the note may tie these quantities in a way it does not \
                     state, or give values at one instant)",
                    v.message
                ),
                s,
            )
        }
        Some(v) => v,
        None => skip(SkipReason::Abstract, reading, s),
    }
}

/// An identity about functions the note never defines, read as arbitrary smooth
/// functions (`find::generic`): a pass only when it holds for each random instance;
/// otherwise the note may mean particular functions, and it is a skip (`abstract`).
fn check_generic(f: &Finding, id: &Ident, s: &Settings, layout: Layout) -> Verdict {
    let names: Vec<String> = id
        .generic
        .iter()
        .map(|n| n.trim_start_matches('\\').to_string())
        .collect();
    let one = names.len() == 1;
    let names = names.join(", ");
    let mut instances = vec![id.clone()];
    instances.extend(id.instances.iter().cloned());
    let mut first: Option<Verdict> = None;
    for mut inst in instances {
        inst.generic.clear();
        inst.instances.clear();
        let mut g = f.clone();
        g.body = Ok(inst);
        let v = check_reread(&g, s, layout);
        if v.outcome != Outcome::Pass {
            let message = if one {
                format!(
                    "abstract function {names}: the note does not define it, and with it any \
                     smooth function the identity does not always hold (the note may mean a \
                     particular one): {}",
                    v.message
                )
            } else {
                format!(
                    "abstract functions {names}: the note does not define them, and with them \
                     any smooth functions the identity does not always hold (the note may mean \
                     particular ones): {}",
                    v.message
                )
            };
            return skip(SkipReason::Abstract, &message, s);
        }
        first.get_or_insert(v);
    }
    let Some(mut v) = first else {
        return skip(
            SkipReason::Abstract,
            &format!("abstract function {names}"),
            s,
        );
    };
    let (any, them) = if one {
        ("any smooth function", "it")
    } else {
        ("any smooth functions", "them")
    };
    v.message = format!(
        "{} with {names} {any} ({} random ones; the note does not define {them})",
        v.message,
        crate::check::find::GENERIC_INSTANCES
    );
    v
}

/// The verdict with `e^{X}` of a square matrix the matrix exponential; a failure
/// stands only when `exp` read entry by entry fails too (`\exp(X)` of a matrix is
/// element-wise in ML notes), else it is a skip (`ambiguous`).
fn check_read_exp(f: &Finding, s: &Settings, layout: Layout) -> Verdict {
    let v = check_read(f, s, layout);
    if !matches!(v.outcome, Outcome::Fail(_)) || !v.message.contains(EXPM_READING) {
        return v;
    }
    let Ok(id) = &f.body else {
        return v;
    };
    let Some(entries) = exp_entries(id) else {
        return v;
    };
    let mut f2 = f.clone();
    f2.body = Ok(entries);
    let w = check_read(&f2, s, layout);
    match w.outcome {
        Outcome::Fail(_) => v,
        Outcome::Pass => skip(
            SkipReason::Ambiguous,
            &format!(
                "`exp` of a matrix: it holds with `exp` entry by entry, not as the matrix \
                 exponential ({})",
                v.message
            ),
            s,
        ),
        Outcome::Skip(_) => skip(
            SkipReason::Ambiguous,
            &format!(
                "`exp` of a matrix: false as the matrix exponential ({}), and entry by entry \
                 it cannot be checked ({})",
                v.message, w.message
            ),
            s,
        ),
    }
}

/// Said by a pass or a fail whose typing read `exp` of a square matrix as the matrix
/// exponential.
pub(super) const EXPM_READING: &str = "`exp` of a square matrix read as the matrix exponential";

/// The identity with every `exp` read entry by entry; `None` if it has no `exp`.
fn exp_entries(id: &Ident) -> Option<Ident> {
    let mut any = false;
    let mut rewrite = |e: Expr| -> Result<Expr, String> {
        e.map(&mut |x| match x {
            Expr::Call(Func::Exp, args) => {
                any = true;
                Ok(Expr::Call(Func::ExpEntries, args))
            }
            other => Ok(other),
        })
    };
    let mut out = id.clone();
    out.members = id
        .members
        .iter()
        .map(|m| rewrite(m.clone()))
        .collect::<Result<_, _>>()
        .ok()?;
    if let Some(alt) = &id.alt {
        out.alt = Some(
            alt.iter()
                .map(|m| rewrite(m.clone()))
                .collect::<Result<_, _>>()
                .ok()?,
        );
    }
    out.deps = id
        .deps
        .iter()
        .map(|(k, e)| rewrite(e.clone()).map(|e| (k.clone(), e)))
        .collect::<Result<_, _>>()
        .ok()?;
    out.conds = id
        .conds
        .iter()
        .map(|c| c.clone().map_exprs(&mut rewrite))
        .collect::<Result<_, _>>()
        .ok()?;
    any.then_some(out)
}

/// A notation in the identity's members that has a plausible reading other than the
/// checker's, under which its failure would not stand:
///
/// - a capital letter applied to a parenthesised argument with no matrix or vector
///   in it (`D(x^2)`, `A(t)`, `T(\mathbf{v})` excepted): an operator or a function
///   applied, not a matrix times a scalar (a function the note defines is applied);
/// - a member that starts with a differential `d` glued to a symbol (`dF_x`,
///   `d\mathbf{x}`, `df`): a differential, not a product with a variable d;
/// - `\Delta` before a symbol, `\laplacian`, `\nabla^2` without a subscript: the
///   Laplacian, not a matrix or a Hessian by a guessed variable;
/// - a prime after a capital letter (`P' = rP`): the derivative of a function P, not
///   only a transpose (a function the note defines, primed and applied, `Q'(x)`, is
///   differentiated);
///
/// (A differential operator standing alone is [`operator_alone`].)
fn other_reading(texts: &[String], funcs: &BTreeSet<String>) -> Option<String> {
    for t in texts {
        let t = t.trim().trim_start_matches(['-', '&', ' ']);
        if let Some(rest) = t.strip_prefix('d') {
            let glued = rest.starts_with(|c: char| c.is_ascii_alphabetic())
                || [
                    "\\mathbf",
                    "\\boldsymbol",
                    "\\bm",
                    "\\vec",
                    "\\theta",
                    "\\phi",
                ]
                .iter()
                .any(|p| rest.starts_with(p));
            let word = ["det", "diag", "dim", "dots", "div"]
                .iter()
                .any(|w| t.starts_with(w));
            if glued && !word {
                return Some(format!(
                    "`{}` may be a differential (d as an operator, not a variable)",
                    t.chars().take(12).collect::<String>()
                ));
            }
        }
    }
    if let Some(t) = texts.iter().find(|t| unbracketed_operator_before_sum(t)) {
        return Some(format!(
            "the operator in `{}` may apply to the first term only",
            t.trim().chars().take(40).collect::<String>()
        ));
    }
    let all: String = texts.join(" ");
    // `\nabla^2 u` without a subscript (`\nabla^2_{\mathbf{x}}` is a Hessian)
    let bare_nabla2 = ["\\nabla^2", "\\nabla^{2}"].iter().any(|p| {
        all.match_indices(p)
            .any(|(i, _)| !all[i + p.len()..].trim_start().starts_with('_'))
    });
    if all.contains("\\laplacian")
        || bare_nabla2
        || all.match_indices("\\Delta").any(|(i, _)| {
            all[i + 6..]
                .trim_start()
                .starts_with(|c: char| c.is_ascii_alphabetic() || c == '\\')
        })
    {
        return Some("`\\Delta` may be the Laplacian, an operator".into());
    }
    let b = all.as_bytes();
    for i in 0..b.len() {
        if !b[i].is_ascii_uppercase()
            || (i > 0 && (b[i - 1].is_ascii_alphabetic() || b[i - 1] == b'\\'))
        {
            continue;
        }
        let mut j = i + 1;
        // `\mathcal{D}(u^3 + u)`: a letter in a font of its own
        if all[j..].starts_with('}')
            && [
                "\\mathcal{",
                "\\mathscr{",
                "\\mathrm{",
                "\\mathfrak{",
                "\\mathbb{",
                "\\operatorname{",
            ]
            .iter()
            .any(|f| all[..i].ends_with(f))
        {
            j += 1;
        }
        if all[j..].starts_with("\\left") {
            j += 5;
        }
        // a function the note defines (`E(c, a) = ...`) is applied
        if b.get(j) != Some(&b'(') || funcs.contains(&all[i..i + 1]) {
            continue;
        }
        let Some(close) = all[j..].find(')') else {
            continue;
        };
        let inner = &all[j + 1..j + close];
        // one capital letter alone (`A(T)`, a function of the temperature) is an
        // argument as plausibly as a factor
        let lone_letter = inner.trim().len() == 1;
        let array = (inner.bytes().any(|c| c.is_ascii_uppercase()) && !lone_letter)
            || ["\\mathbf", "\\boldsymbol", "\\bm", "\\vec"]
                .iter()
                .any(|p| inner.contains(p));
        if !array {
            return Some(format!(
                "`{}({inner})` may apply {} to its argument (an operator or a function), not \
                 multiply a matrix",
                b[i] as char, b[i] as char
            ));
        }
    }
    // `P'` after a capital letter: a transpose to the checker, the derivative of a
    // function P (`P' = rP`) to a reader of differential equations
    for i in 0..b.len() {
        if b[i].is_ascii_uppercase()
            && !(funcs.contains(&all[i..i + 1]) && primed_call(&all[i + 1..]))
            && (i == 0
                || !(b[i - 1].is_ascii_alphabetic() || b[i - 1] == b'\\' || b[i - 1] == b'{'))
            && (b.get(i + 1) == Some(&b'\'') || all[i + 1..].starts_with("^\\prime"))
        {
            return Some(format!(
                "`{}'` may be the derivative of a function {}, not a transpose",
                b[i] as char, b[i] as char
            ));
        }
    }
    None
}

/// A differential operator written in operator form without brackets around its
/// operand, followed by a sum (`\frac{d}{dx} x^2 + 3x`): the checker reads the operand
/// up to the relation, the writer may mean the first term only.
fn unbracketed_operator_before_sum(text: &str) -> bool {
    text.match_indices("\\frac").any(|(k, _)| {
        let Some((num, r1)) = brace_group(&text[k + 5..]) else {
            return false;
        };
        let Some((_, rest)) = brace_group(r1) else {
            return false;
        };
        let num: String = num.chars().filter(|c| !c.is_whitespace()).collect();
        if !["d", "\\partial", "\\mathrm{d}", "\\mathrmd"].contains(&num.as_str()) {
            return false;
        }
        let rest = rest.trim_start();
        if rest.is_empty()
            || rest.starts_with(['(', '[', '{', '+', '-'])
            || rest.starts_with("\\left")
            || rest.starts_with("\\big")
            || rest.starts_with("\\Big")
        {
            return false;
        }
        // a `+` or `-` outside every bracket, environment and pair of bars after the
        // operand's first term (a row break `\\` ends the member)
        let mut depth = 0i32;
        let mut bars = false;
        let mut started = false;
        let mut k = 0;
        while let Some(c) = rest[k..].chars().next() {
            let tail = &rest[k..];
            let mut step = c.len_utf8();
            if c == '\\' {
                let name: String = tail[1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .collect();
                step = 1 + name.len().max(1);
                match name.as_str() {
                    "left" | "begin" | "lVert" | "lvert" | "langle" => depth += 1,
                    "right" | "end" | "rVert" | "rvert" | "rangle" => depth -= 1,
                    "Vert" | "vert" => bars = !bars,
                    "" if tail[1..].starts_with('\\') => return false,
                    "" if tail[1..].starts_with('|') => bars = !bars,
                    _ => {}
                }
            } else {
                match c {
                    '(' | '[' | '{' => depth += 1,
                    ')' | ']' | '}' => depth -= 1,
                    '|' => bars = !bars,
                    '+' | '-' if depth == 0 && !bars && started => return true,
                    _ => {}
                }
            }
            if !c.is_whitespace() {
                started = true;
            }
            if depth < 0 {
                return false;
            }
            k += step;
        }
        false
    })
}

/// A differential operator standing alone before `+`, `-` or a closing bracket
/// (`[-\frac{1}{2}\frac{d^2}{dr^2} + V(r)]\,u = E u`): operator notation applied to
/// a bracket, which the checker does not read (it would differentiate the next
/// term); neither a pass nor a fail can rest on it.
fn operator_alone(texts: &[String]) -> bool {
    let all: String = texts.join(" ");
    // an operator written on its own and applied to what follows (`[-\frac{1}{2}
    // \frac{d^2}{dr^2} + V][r R(r)]`, `\dv[2]{r} +`): not a derivative of the next term
    let operator = texts.iter().any(|all| {
        all.match_indices("\\frac").any(|(k, _)| {
            let Some((num, r1)) = brace_group(&all[k + 5..]) else {
                return false;
            };
            let Some((_, rest)) = brace_group(r1) else {
                return false;
            };
            let num: String = num
                .chars()
                .filter(|c| !c.is_whitespace() && !"{}".contains(*c))
                .collect();
            let num = num
                .trim_end_matches(|c: char| c.is_ascii_digit())
                .trim_end_matches('^');
            let differential = ["d", "\\partial", "\\mathrm d", "\\mathrmd"].contains(&num);
            let rest = rest.trim_start();
            // `= \frac{\partial}{\partial w} -[y \log p + ...]`: a member that starts with
            // the operator, applied to a negated bracket
            let before = all[..k].trim_end_matches(|c: char| c.is_whitespace() || c == '&');
            let negated = rest.strip_prefix('-').is_some_and(|r| {
                let r = r.trim_start();
                r.starts_with(['[', '(']) || r.starts_with("\\left") || r.starts_with("\\big")
            }) && before.is_empty();
            differential
                && !negated
                && (rest.starts_with(['+', '-', ']', ')']) || rest.starts_with("\\right"))
        })
    });
    operator && all.contains(['[', '('])
}

/// The first `{...}` group of `s` (after spaces): its inside and what follows it.
fn brace_group(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    let body = s.strip_prefix('{')?;
    let mut depth = 1;
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((&body[..i], &body[i + 1..]));
                }
            }
            _ => {}
        }
    }
    None
}

fn check_read(f: &Finding, s: &Settings, layout: Layout) -> Verdict {
    let id = match &f.body {
        Ok(i) => i,
        Err(sk) => return skip(sk.kind, &sk.message, s),
    };
    let otimes = f.otimes.unwrap_or(s.otimes);
    let v = check_ident(id, s, layout, otimes);
    // the same identity with conditions set aside, read every way the first was
    let run_as = |id2: &Ident| check_ident(id2, s, layout, otimes);
    // conditions stated under other headings (the domain of an earlier exercise's
    // function) that cannot hold with this identity's own: set aside, a pass stands
    if v.outcome == Outcome::Skip(SkipReason::Domain) && !id.conds_elsewhere.is_empty() {
        let mut id2 = id.clone();
        id2.conds.retain(|c| !id.conds_elsewhere.contains(c));
        let w = run_as(&id2);
        if w.outcome == Outcome::Pass {
            return annotated(
                w,
                format!(
                    "(conditions stated under other headings set aside: with them, {})",
                    v.message
                ),
            );
        }
        // a failure stands only if it fails with each one of them set aside alone
        // (each of the largest sets of them that may hold together, when they
        // contradict each other: `p \le 1`, `p > 1`) and with all set aside
        if let Outcome::Fail(kind) = w.outcome
            && id.conds_elsewhere.len() <= MAX_CONDS_SET_ASIDE
        {
            let mut failed = 0;
            for c in &id.conds_elsewhere {
                let mut id3 = id.clone();
                id3.conds.retain(|d| d != c);
                match run_as(&id3).outcome {
                    Outcome::Fail(_) => failed += 1,
                    Outcome::Skip(SkipReason::Domain) => {}
                    _ => return v,
                }
            }
            if failed > 0 || id.conds_elsewhere.len() == 1 {
                let mut w = w;
                w.outcome = Outcome::Fail(kind);
                w.message = format!(
                    "{} (the conditions stated under other headings cannot all hold here: \
                     it fails with each set aside)",
                    w.message
                );
                return w;
            }
        }
    }
    v
}

/// The verdict on one reading of an identity (its conditions as found), with the
/// other plausible readings of a failure tried: the curve's earlier relations, a
/// stated symmetry, every letter a number, square matrices, positive parameters,
/// a branch's condition, a probability vector, earlier definitions as constants.
fn check_ident(id: &Ident, s: &Settings, layout: Layout, otimes: Otimes) -> Verdict {
    let v = Checker {
        id,
        members: &id.members,
        s,
        layout,
        otimes,
    }
    .run();
    // the same identity read with more said of it (a condition, sizes, kinds)
    let run_as = |id2: &Ident| {
        Checker {
            id: id2,
            members: &id2.members,
            s,
            layout,
            otimes,
        }
        .run()
    };
    // on a curve given implicitly, a formula may hold on one branch only
    if let Outcome::Fail(_) = v.outcome
        && id.implicit.is_some()
    {
        // the curve may be a relation stated before the latest (a wrong step of
        // the derivation, `2x + 2y = 0`, is a relation too)
        for alt in &id.implicit_alts {
            let w = run_as(alt);
            if w.outcome == Outcome::Pass {
                return annotated(
                    w,
                    format!(
                        "on the curve of an earlier relation the note states (on the latest: {})",
                        v.message
                    ),
                );
            }
        }
        // a formula for one branch holds at that branch's points; one that holds at
        // none of many points, on whichever branch they fall, on the latest
        // relation or the earlier ones, holds on no branch
        let holds_somewhere = !id.along_curve
            || std::iter::once(id).chain(&id.implicit_alts).any(|r| {
                (0..BRANCH_POINTS).any(|k| {
                    let one = Settings {
                        seed: s.seed.wrapping_add(k as u64 + 1),
                        trials: 1,
                        ..s.clone()
                    };
                    Checker {
                        id: r,
                        members: &r.members,
                        s: &one,
                        layout,
                        otimes,
                    }
                    .run()
                    .outcome
                        == Outcome::Pass
                })
            });
        if !holds_somewhere {
            return annotated(
                v.clone(),
                format!(
                    "(y is given implicitly by the relation the note states; it holds at none \
                     of {BRANCH_POINTS} points of the curve, on any of its branches)"
                ),
            );
        }
        return skip(
            SkipReason::Ambiguous,
            &format!(
                "y is given implicitly by the relation the note states; at points of that \
                 curve: {} (a formula for one branch of the curve fails on the others)",
                v.message
            ),
            s,
        );
    }
    // "true only for symmetric $C$": false in general, as the note says; a skip
    // that names the condition when it holds under it
    if matches!(v.outcome, Outcome::Fail(_)) && !id.only_if_symmetric.is_empty() {
        let mut id2 = id.clone();
        id2.symmetric.extend(id.only_if_symmetric.iter().cloned());
        let w = run_as(&id2);
        if w.outcome == Outcome::Pass {
            let names: Vec<&str> = id.only_if_symmetric.iter().map(String::as_str).collect();
            return skip(
                SkipReason::Condition,
                &format!(
                    "holds only when {} is symmetric, as the note says (false in general: {})",
                    names.join(", "),
                    v.message
                ),
                s,
            );
        }
    }
    // `\frac{d}{dt} e^{-Et/\hbar} = -\frac{E}{\hbar} e^{-Et/\hbar}`: a formula with
    // nothing of matrices or vectors, failing only with some letter read as one
    if let Outcome::Fail(kind) = v.outcome
        && let Some(r) = &v.reading
        && let Some(id2) = all_scalar(id, r)
        // a letter declared a vector or a matrix in another part of the note stays
        // one unless that reading does not even fit
        && (kind == FailKind::Shape || !r.kinds.keys().any(|k| id.decls.contains_key(k)))
    {
        let w = run_as(&id2);
        let arrays = r
            .kinds
            .iter()
            .filter(|(_, k)| **k != Kind::Scalar)
            .map(|(n, k)| {
                let said = if id.decls.contains_key(n) {
                    ", as another part of the note declares it"
                } else {
                    ""
                };
                format!("{n} a {}{said}", k.as_str())
            })
            .collect::<Vec<_>>()
            .join(", ");
        // with the arrays' shapes not even fitting, numbers are the reading; with
        // them fitting and the values differing, the note may mean either
        if w.outcome == Outcome::Pass && v.outcome == Outcome::Fail(FailKind::Shape) {
            return annotated(
                w,
                format!(
                    "with every letter a number (nothing in it is written as a vector or a \
                     matrix; with {arrays}: {})",
                    v.message
                ),
            );
        }
        // numbers being the reading, one that cannot be sampled under the
        // conditions is no failure (they may be another part's, set aside later)
        if w.outcome == Outcome::Skip(SkipReason::Domain)
            && v.outcome == Outcome::Fail(FailKind::Shape)
        {
            return w;
        }
        if w.outcome == Outcome::Pass {
            return skip(
                SkipReason::Ambiguous,
                &format!(
                    "it holds with every letter a number, but not with {arrays} (nothing in it \
                     says which: {})",
                    v.message
                ),
                s,
            );
        }
        // it fails read as numbers too: that reading's difference says more
        if w.outcome == Outcome::Fail(FailKind::Value) {
            return w;
        }
    }
    // `\det(AXB)` by X `= \det(AXB) X^{-T}`: true when A and B are square too, as
    // the writer takes them (the note does not give their sizes); rectangular
    // matrices are not the plausible reading of a formula that holds only square
    if let Outcome::Fail(_) = v.outcome
        && let Some(r) = &v.reading
        && let Some(id2) = all_square(id, r)
    {
        let w = run_as(&id2);
        if w.outcome == Outcome::Pass {
            return annotated(
                w,
                format!(
                    "with the matrices square, of one size (the note does not give their \
                     sizes; with other sizes: {})",
                    v.message
                ),
            );
        }
    }
    // `|\alpha''(s)| = \frac{1}{r}` of a circle of radius r: false for a negative
    // letter, true for the positive ones a note usually means without saying
    // (a parameter, not a variable: `\frac{d}{dx}|x| = 1` stays wrong)
    if v.outcome == Outcome::Fail(FailKind::Value)
        && let Some(r) = &v.reading
    {
        let mut variables = BTreeSet::new();
        for m in &id.members {
            m.walk(&mut |x| {
                if let Expr::Deriv(_, d) = x {
                    variables.insert(d.wrt.key());
                }
            });
        }
        let scalars: Vec<&String> = r
            .kinds
            .iter()
            .filter(|(k, kind)| {
                **kind == Kind::Scalar && !id.positive.contains(*k) && !variables.contains(*k)
            })
            .map(|(k, _)| k)
            .collect();
        if !scalars.is_empty() {
            let mut id2 = id.clone();
            id2.positive.extend(scalars.iter().map(|k| (*k).clone()));
            if run_as(&id2).outcome == Outcome::Pass {
                let names: Vec<&str> = scalars.iter().map(|k| k.trim_start_matches('\\')).collect();
                let mut out = skip(
                    SkipReason::Condition,
                    &format!(
                        "holds only when {} {} positive, which the note does not state (false \
                         otherwise: {})",
                        names.join(", "),
                        if names.len() == 1 { "is" } else { "are" },
                        v.message
                    ),
                    s,
                );
                out.hint = Some("state the condition (`r > 0`)".into());
                return out;
            }
        }
    }
    // a restatement of one branch of the `cases` identity just before (same left
    // side): false as stated, but it holds under that branch's condition
    if v.outcome == Outcome::Fail(FailKind::Value) {
        for (k, c) in id.branch_conds.iter().enumerate() {
            let mut id2 = id.clone();
            id2.conds.push(c.clone());
            id2.branch_conds.clear();
            let w = run_as(&id2);
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
    // false as stated, but true when a vector of it is a probability vector (the
    // cross-entropy's target, `s_j - y_j`): the note almost surely assumes it
    // without saying so, so that is said, not failed
    if v.outcome == Outcome::Fail(FailKind::Value)
        && let Some(y) = probability_vector(id, layout, otimes, s)
    {
        let mut out = skip(
            SkipReason::Unsupported,
            &format!(
                "holds only when {y} is a probability vector (entries summing to 1, such as a \
                 one-hot target), which the note does not state (false without it: {})",
                v.message
            ),
            s,
        );
        out.hint = Some(format!(
            "state the condition (`\\sum_k {y}_k = 1`, or a one-hot {y})"
        ));
        return out;
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

/// The vector under which the identity passes when sampled as a probability vector
/// (its name): among the weights of a sum of logarithms in a derivative's operand
/// (at most four; not a variable of a derivative, not already said to be one).
fn probability_vector(id: &Ident, layout: Layout, otimes: Otimes, s: &Settings) -> Option<String> {
    let mut wrts: BTreeSet<String> = BTreeSet::new();
    let mut cands: Vec<Sym> = Vec::new();
    for m in &id.members {
        m.walk(&mut |x| {
            if let Expr::Deriv(_, d) = x {
                wrts.insert(d.wrt.base.clone());
            }
        });
        // the weights of a sum of logarithms in a derivative's operand (a
        // cross-entropy `-\sum_k y_k \log s_k`): entries of a vector
        m.walk(&mut |x| {
            let Expr::Deriv(_, d) = x else { return };
            d.of.walk(&mut |y| {
                let Expr::Sum { idx, body, .. } = y else {
                    return;
                };
                if !body.any(&|z| matches!(z, Expr::Call(Func::Ln, _))) {
                    return;
                }
                body.walk(&mut |z| {
                    if let Expr::Index(a, i) = z
                        && i.as_slice() == std::slice::from_ref(idx)
                        && let Expr::Var(v) = a.as_ref()
                        && !v.upper
                        && !cands.iter().any(|c| c.key() == v.key())
                    {
                        cands.push(v.clone());
                    }
                });
            });
        });
    }
    cands.retain(|c| {
        !wrts.contains(&c.base) && !id.simplex.contains(&c.key()) && !id.onehot.contains(&c.key())
    });
    for c in cands.into_iter().take(4) {
        let mut id2 = id.clone();
        id2.simplex.insert(c.key());
        let w = Checker {
            id: &id2,
            members: &id2.members,
            s,
            layout,
            otimes,
        }
        .run();
        if w.outcome == Outcome::Pass {
            return Some(c.show());
        }
    }
    None
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

/// What the typings tried so far got wrong: the first of each kind.
#[derive(Default)]
struct Failures {
    /// The sides have different shapes (and at which step).
    mismatch: Option<(Typed, usize)>,
    /// A member that is not a derivative is not well-formed (and the kinds then).
    rhs_err: Option<(usize, String, HashMap<String, Kind>)>,
    /// The first error, preferring a member with a derivative.
    err: Option<TyErr>,
    /// A product of Jacobians whose shapes cannot be multiplied (and whether the
    /// other order multiplies, and the kinds then).
    jacobians: Option<(usize, String, bool, HashMap<String, Kind>)>,
}

impl Checker<'_> {
    /// The reading under these kinds: this checker's layout and each symbol's kind.
    fn reading(&self, kinds: &HashMap<String, Kind>) -> Reading {
        Reading {
            layout: self.layout,
            kinds: kinds.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            families: Default::default(),
        }
    }

    /// The reading of a typing: its kinds, and what its derivatives differentiate by
    /// what (`("scalar", "vector")`).
    fn typed_reading(&self, inf: &Infer) -> Reading {
        let kind = |t: Ty| match inf.norm(t) {
            Ty::S | Ty::Any => "scalar",
            Ty::M(r, c) if inf.dims.is_one(c) || inf.dims.is_one(r) => "vector",
            Ty::M(..) => "matrix",
        };
        let mut r = self.reading(&inf.kinds);
        r.families = inf
            .derivs
            .values()
            .map(|(of, wrt, _)| (kind(*of), kind(*wrt)))
            .collect();
        r
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
        if let Some(v) = row_transposed(members) {
            variants.push(v);
        }
        // `|\mathbf{x}|` may be the norm rather than entry-wise absolute values
        let extra: Vec<Vec<Expr>> = variants.iter().filter_map(|v| abs_as_norm(v)).collect();
        variants.extend(extra);
        let mut fails = Failures::default();
        // a plain letter written transposed (`x^T x`) or declared a vector is a
        // vector: when that reading gives the sides different shapes, that is the
        // verdict (reading it as a scalar would hide a layout error)
        let vector_letters = info.preferred.iter().any(|&p| p);
        // the first reading that types, unless it adds a letter read as a number to
        // an array (`(Ax - b)^T(Ax - b)` with x and b numbers) and a later one
        // needs no such sum
        let mut broadcast: Option<Typed> = None;
        for (n_assign, assign) in candidates(&info.preferred).into_iter().enumerate() {
            let kinds = self.kinds_for(&info, &assign);
            let mut all_mismatch = true;
            for v in &variants {
                match self.try_type(v, &kinds) {
                    Attempt::Ok(t) if t.inf.broadcasts > 0 => {
                        all_mismatch = false;
                        if broadcast.is_none() {
                            broadcast = Some(t);
                        }
                    }
                    Attempt::Ok(t) => return self.sampled(t, &info),
                    Attempt::Mismatch(t, at) => {
                        if fails.mismatch.is_none() {
                            fails.mismatch = Some((t, at));
                        }
                    }
                    Attempt::MemberErr(errs) => {
                        self.note_member_errs(&mut fails, &errs, v, &kinds);
                        all_mismatch = false;
                    }
                }
            }
            if n_assign == 0
                && vector_letters
                && all_mismatch
                && let Some((t, at)) = fails.mismatch.take()
            {
                // (other letters may be vectors too: `x^T b`)
                for more in candidates(&info.preferred).into_iter().skip(1) {
                    if more.iter().zip(&info.preferred).any(|(m, p)| *p && !m) {
                        continue;
                    }
                    let kinds = self.kinds_for(&info, &more);
                    for v in &variants {
                        if let Attempt::Ok(t) = self.try_type(v, &kinds)
                            && t.inf.broadcasts == 0
                        {
                            return self.sampled(t, &info);
                        }
                    }
                }
                return self.shape_fail(t, at, &info);
            }
        }
        if let Some(t) = broadcast {
            return self.sampled(t, &info);
        }
        let to_scalar = self.default_matrices_said_scalar(&scan, &info);
        if fails.mismatch.is_none()
            && fails.rhs_err.is_none()
            && fails.err.is_some()
            && !to_scalar.is_empty()
        {
            for assign in candidates(&info.preferred) {
                let mut kinds = self.kinds_for(&info, &assign);
                for k in &to_scalar {
                    kinds.insert(k.clone(), Kind::Scalar);
                }
                for v in &variants {
                    if let Attempt::Ok(t) = self.try_type(v, &kinds) {
                        return self.sampled(t, &info);
                    }
                }
            }
        }
        self.untyped(fails, &info)
    }

    /// Notes the member errors of one typing attempt of `v`.
    fn note_member_errs(
        &self,
        fails: &mut Failures,
        errs: &[Option<TyErr>],
        v: &[Expr],
        kinds: &HashMap<String, Kind>,
    ) {
        let deriv_ok = errs
            .iter()
            .zip(v)
            .all(|(e, m)| e.is_none() || !m.has_deriv());
        if deriv_ok
            && fails.rhs_err.is_none()
            && let Some((i, Some(TyErr::Dim(m)))) = errs
                .iter()
                .enumerate()
                .find(|(_, e)| matches!(e, Some(TyErr::Dim(_))))
        {
            fails.rhs_err = Some((i, m.clone(), kinds.clone()));
        }
        if fails.jacobians.is_none() {
            fails.jacobians = errs
                .iter()
                .zip(v)
                .enumerate()
                .filter(|(_, (e, _))| matches!(e, Some(TyErr::Dim(_))))
                .find_map(|(i, (_, m))| {
                    self.jacobian_product_err(m, kinds)
                        .map(|(msg, swap)| (i, msg, swap, kinds.clone()))
                });
        }
        if fails.err.is_none() {
            fails.err = errs
                .iter()
                .zip(v)
                .find(|(e, m)| e.is_some() && m.has_deriv())
                .or_else(|| errs.iter().zip(v).find(|(e, _)| e.is_some()))
                .and_then(|(e, _)| e.clone());
        }
    }

    /// No matrix reading works (a 3-/4-d array, the root of a matrix): in a formula
    /// with nothing of matrices (no bold symbol, trace, determinant, transpose,
    /// inverse, norm), the uppercase letters that are matrices only by default and
    /// are a derivative's variable or in a condition (`D > 0`) may be scalars; not
    /// otherwise (`e^{tA}e^{tB}` is about matrices).
    fn default_matrices_said_scalar(&self, scan: &[Expr], info: &SymInfo) -> Vec<String> {
        let mut scalar_formula = true;
        for m in scan {
            m.walk(&mut |x| match x {
                Expr::Var(s) if s.bold && !s.upper => scalar_formula = false,
                Expr::Call(Func::Tr | Func::Det | Func::Diag, _)
                | Expr::Post(..)
                | Expr::Norm(..) => scalar_formula = false,
                _ => {}
            });
        }
        if !scalar_formula {
            return Vec::new();
        }
        let mut said_scalar: BTreeSet<String> = self.id.positive.clone();
        for c in &self.id.conds {
            c.walk(&mut |x| {
                if let Expr::Var(s) = x {
                    said_scalar.insert(s.key());
                }
            });
        }
        for m in scan {
            m.walk(&mut |x| {
                if let Expr::Deriv(_, d) = x {
                    said_scalar.insert(d.wrt.key());
                }
            });
        }
        info.upper_default
            .iter()
            .filter(|k| said_scalar.contains(*k))
            .cloned()
            .collect()
    }

    /// The verdict when no typing works: the first shape mismatch, a member that
    /// is not well-formed, a chain rule in the wrong order, or the first error.
    fn untyped(&self, fails: Failures, info: &SymInfo) -> Verdict {
        if let Some((t, at)) = fails.mismatch {
            return self.shape_fail(t, at, info);
        }
        if let Some((i, m, kinds)) = fails.rhs_err {
            let text = self.id.texts.get(i).cloned().unwrap_or_default();
            let mut v = verdict(
                Outcome::Fail(FailKind::Shape),
                format!("`{text}` is not well-formed: {m}"),
                self.s,
            );
            v.trials = 0;
            v.reading = Some(self.reading(&kinds));
            return v;
        }
        if let Some((i, m, swap, kinds)) = fails.jacobians {
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
            v.reading = Some(self.reading(&kinds));
            return v;
        }
        match fails.err {
            Some(TyErr::Unsupported(m)) => skip(SkipReason::Unsupported, &m, self.s),
            Some(TyErr::Dim(m)) => skip(
                SkipReason::Types,
                &format!("cannot give the symbols consistent shapes: {m}"),
                self.s,
            ),
            None => skip(SkipReason::Internal, "no typing found", self.s),
        }
    }
}
