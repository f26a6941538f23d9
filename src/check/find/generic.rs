//! Functions the note never defines (`g(x)`, `p'(x)`, `f(g(x))`), read as arbitrary
//! smooth functions: an identity about them (the product rule `(pq)' = p'q + pq'`,
//! a derivative through `g^2(x^3 - 1)`) is checked with each of them replaced by a
//! few random members of a family of smooth functions. Only a pass on every one of
//! them counts (evidence that the identity holds whatever the functions are); a
//! failure may mean the note has particular functions in mind, so it stays a skip.
//!
//! So are fields the note never defines, under `\nabla`, `\nabla \cdot`, `\nabla
//! \times` without a subscript (`\nabla \times (\nabla \phi) = 0`, `\nabla (fg) = f
//! \nabla g + g \nabla f`): a scalar field (under a gradient) is a member of the family
//! in the coordinates x, y, z, a vector field (under a divergence or a curl) three.

use crate::check::notation::{Func, is_frac};
use crate::check::syntax::{BinOp, Expr, Sym};

/// How many random members of the family each identity is checked with.
pub(crate) const INSTANCES: usize = 3;

/// At most this many functions of one identity are read as arbitrary.
pub(super) const MAX_FUNCTIONS: usize = 4;

/// At most this many arguments for such a function.
pub(super) const MAX_ARITY: usize = 3;

/// The parameters of an arbitrary function of `arity` arguments (names no note can
/// write).
pub(super) fn params(arity: usize) -> Vec<Sym> {
    (0..arity)
        .map(|i| Sym {
            base: format!("□{}", i + 1),
            sub: None,
            bold: false,
            upper: false,
        })
        .collect()
}

/// Are these the parameters of an arbitrary function ([`params`])?
pub(super) fn is_arbitrary(params: &[Sym]) -> bool {
    params.first().is_some_and(|p| p.base.starts_with('□'))
}

/// A member of the family of smooth functions, positive everywhere (so that `\ln
/// g(x)`, `\sqrt{g(x)}` and `1/g(x)` are defined), with every derivative non-trivial:
/// `a + c \sin(d \cdot x + e) + b e^{s \cdot x} + h x_1 x_n`, its coefficients drawn
/// from the function's name, its arity and the instance.
pub(super) fn member(name: &str, arity: usize, instance: usize) -> Expr {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ (instance as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    for b in name.bytes() {
        seed = (seed ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
    }
    let mut draw = |lo: f64, hi: f64| {
        // splitmix64
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        lo + (hi - lo) * ((z >> 11) as f64 / (1u64 << 53) as f64)
    };
    let xs: Vec<Expr> = params(arity).into_iter().map(Expr::Var).collect();
    let linear = |draw: &mut dyn FnMut(f64, f64) -> f64, lo: f64, hi: f64| {
        xs.iter()
            .map(|x| Expr::bin(BinOp::Mul, Expr::Num(draw(lo, hi)), x.clone()))
            .reduce(|a, b| Expr::bin(BinOp::Add, a, b))
            .unwrap_or(Expr::Num(0.0))
    };
    let a = draw(2.5, 3.5);
    let c = draw(0.4, 1.0);
    let phase = linear(&mut draw, 0.5, 1.5);
    let e = draw(0.0, 3.0);
    let b = draw(0.2, 0.6);
    let rate = linear(&mut draw, -0.6, 0.6);
    let h = draw(0.05, 0.15);
    let sin = Expr::Call(Func::Sin, vec![Expr::bin(BinOp::Add, phase, Expr::Num(e))]);
    let exp = Expr::Call(Func::Exp, vec![rate]);
    // `h x_1 x_n` (`h x^2` for one argument): curvature, and mixed partials; kept
    // small against `a` so the function stays positive where points are drawn
    let first = xs.first().cloned().unwrap_or(Expr::Num(0.0));
    let last = xs.last().cloned().unwrap_or(Expr::Num(0.0));
    let square = Expr::bin(BinOp::Mul, Expr::Num(h), Expr::bin(BinOp::Mul, first, last));
    [
        Expr::bin(BinOp::Mul, Expr::Num(c), sin),
        Expr::bin(BinOp::Mul, Expr::Num(b), exp),
        square,
    ]
    .into_iter()
    .fold(Expr::Num(a), |acc, t| Expr::bin(BinOp::Add, acc, t))
}

/// A member of the family in the coordinates x, y, z: a scalar field, or one
/// component of a vector field (`part` > 0).
fn field_member(name: &str, part: usize, instance: usize) -> Expr {
    let coords: Vec<Sym> = FIELD_COORDINATES
        .iter()
        .map(|c| Sym {
            base: (*c).to_string(),
            sub: None,
            bold: false,
            upper: false,
        })
        .collect();
    member_at(&format!("{name}#{part}"), &coords, instance)
}

/// A member of the family ([`member`]) in the symbols `at` rather than in
/// arbitrary parameters.
fn member_at(name: &str, at: &[Sym], instance: usize) -> Expr {
    let arbitrary = params(at.len());
    member(name, at.len(), instance).rewrite(&mut |x| match x {
        Expr::Var(s) => match arbitrary.iter().position(|p| p.key() == s.key()) {
            Some(i) => at.get(i).cloned().map_or(Expr::Var(s), Expr::Var),
            None => Expr::Var(s),
        },
        other => other,
    })
}

/// The coordinates of a field the note never defines.
const FIELD_COORDINATES: [&str; 3] = ["x", "y", "z"];

/// The field a skip says the note never defines (`the gradient of phi, which this
/// note does not define as a function`: a scalar field; `the curl of A, which ...
/// as a field`: a vector field), and whether it is a vector field.
pub(super) fn field_name(message: &str) -> Option<(&str, bool)> {
    let rest = message.strip_prefix("the ")?;
    let (what, rest) = match rest.strip_prefix("field ") {
        Some(rest) => ("field", rest),
        None => rest.split_once(" of ")?,
    };
    let (name, tail) = rest.split_once(", which this note does not define as a ")?;
    if name.contains(' ') {
        return None;
    }
    match (what, tail) {
        ("gradient" | "field", "function") => Some((name, false)),
        ("divergence" | "curl", "field") => Some((name, true)),
        _ => None,
    }
}

/// The name of the function a skip says is abstract (`abstract function g`), when
/// it says only that.
pub(super) fn abstract_name(message: &str) -> Option<&str> {
    let name = message.strip_prefix("abstract function ")?;
    (!name.contains(' ') && !name.contains(':')).then_some(name)
}

/// `f is defined with 1 argument(s) but used with 2`: the name and the arity used.
pub(super) fn arity_used(message: &str) -> Option<(&str, usize)> {
    let (name, rest) = message.split_once(" is defined with ")?;
    let used = rest.split_once("but used with ")?.1.trim();
    Some((name, used.parse().ok()?))
}

use std::collections::{BTreeMap, BTreeSet};

use crate::check::SkipReason;
use crate::check::notation::{NUMBER_LETTERS, is_constant_letter};
use crate::check::syntax::{Ctx, TUPLE, Tk, Tok, is_notation_apply};

use super::identity::{bare_primes, build};
use super::rates::{PRIME_WITHOUT_VARIABLE, build_rates, writes_arrays};
use super::{Def, Ident, Skip, State};

/// The identity with the functions it uses but the note never defines read as
/// arbitrary smooth functions ([`member`]), when `first` (the skip without them)
/// says a function is abstract; `first` again when that does not make it readable.
/// The first instance is the identity; the others are in [`Ident::instances`].
pub(super) fn build_generic(
    st: &mut State,
    mems: &[&[Tok]],
    cx: &Ctx,
    src: &str,
    first: Skip,
) -> Result<Ident, Skip> {
    // `(f + g)'(x)`, `(g \circ f)'(a)`: the bracket's functions taken at the point,
    // then primed by it
    if first.kind == SkipReason::Abstract
        && let Some((owned, v)) = bracket_prime_at(mems)
    {
        let rewritten: Vec<&[Tok]> = owned.iter().map(Vec::as_slice).collect();
        if let Ok(id) = generic_reading(st, &rewritten, cx, src, first.clone(), Some(v)) {
            return Ok(id);
        }
    }
    generic_reading(st, mems, cx, src, first, None)
}

/// [`build_generic`] on these members; `at_point`: the variable of primes on
/// brackets (`(f + g)'` after [`bracket_prime_at`]).
fn generic_reading(
    st: &mut State,
    mems: &[&[Tok]],
    cx: &Ctx,
    src: &str,
    first: Skip,
    at_point: Option<Sym>,
) -> Result<Ident, Skip> {
    // the family holds numbers: not for functions of an identity that writes
    // vectors or matrices (a scalar reading commutes where a cross product does not)
    let arrays = writes_arrays(mems, src);
    if first.kind != SkipReason::Abstract {
        return Err(first);
    }
    if first.message == PRIME_WITHOUT_VARIABLE
        && !arrays
        && let Ok(id) = primed_letters(st, mems, cx, src)
    {
        return Ok(id);
    }
    let mut names: BTreeMap<String, usize> = primed_names(mems)
        .into_iter()
        .filter(|n| !st.funcs.contains_key(n))
        .map(|n| (n, 1))
        .collect();
    // every field of the identity at once (one left undefined keeps the others
    // from being read in the coordinates)
    let mut fields: BTreeMap<String, bool> = if field_name(&first.message).is_some() {
        fields_in(st, mems, cx)
    } else {
        BTreeMap::new()
    };
    // primes written without an argument (`v'`): at the identity's one variable
    let var = if at_point.is_some() {
        at_point.clone()
    } else if writes_bare_primes(mems) {
        sole_variable(st, mems, cx, &[])
    } else {
        None
    };
    // letters naming functions, under partial derivatives: functions of their
    // variables (`\frac{\partial^2 f}{\partial x \partial y}`)
    let mut at: BTreeMap<String, Vec<Sym>> = BTreeMap::new();
    // functions the definitions the identity uses apply but the note never gives
    // (`z = f(x, y)`): arbitrary, with the letters read as varying ([`build_rates`])
    let in_definitions = applied_in_definitions(st, mems, cx);
    // applied there to distinct letters (`f(x, y)`): a function of them, so that
    // `\frac{\partial f}{\partial x}` is its derivative by its first argument
    let def_letters: BTreeMap<String, Vec<Sym>> = in_definitions
        .iter()
        .filter_map(|(n, args)| {
            let letters: Vec<Sym> = args
                .iter()
                .filter_map(|a| match a {
                    Expr::Var(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
            let distinct: BTreeSet<String> = letters.iter().map(Sym::key).collect();
            (letters.len() == args.len() && distinct.len() == args.len())
                .then(|| (n.clone(), letters))
        })
        .collect();
    let mut skip = first.clone();
    for _ in 0..=MAX_FUNCTIONS + MAX_ARITY {
        if let Some(n) = dependent_name(&skip.message)
            && !FUNCTION_NAMES.contains(&key_of(n).as_str())
            && !in_definitions.is_empty()
            && names.is_empty()
        {
            for (n, args) in &in_definitions {
                names.insert(n.clone(), args.len());
            }
        } else if let Some(n) = dependent_name(&skip.message)
            && let Some(vars) = derivative_variables(mems, cx)
        {
            let key = key_of(n);
            if st.funcs.contains_key(&key)
                || st.syms.contains_key(&key)
                || !FUNCTION_NAMES.contains(&key.as_str())
                || vars.iter().any(|v| v.key() == key)
                || at.contains_key(&key)
            {
                return Err(first);
            }
            names.insert(key.clone(), vars.len());
            at.insert(key, vars);
        } else if let Some((n, vector)) = field_name(&skip.message) {
            let key = key_of(n);
            if st.funcs.contains_key(&key) {
                return Err(first);
            }
            // (a field already read as the other kind: not a field of ours)
            if fields.insert(key, vector).is_some_and(|v| v != vector) {
                return Err(first);
            }
        } else if let Some(n) = abstract_name(&skip.message) {
            for key in keys_of(n) {
                if st.funcs.contains_key(&key) {
                    return Err(first);
                }
                // (as many arguments as a definition applies it to)
                let arity = in_definitions.get(&key).map_or(1, Vec::len);
                names.entry(key).or_insert(arity);
            }
        } else if let Some((n, k)) = arity_used(&skip.message)
            && k <= MAX_ARITY
            && let Some(key) = keys_of(n)
                .into_iter()
                .find(|key| names.get(key).is_some_and(|a| *a != k))
        {
            names.insert(key, k);
        } else if names.is_empty() && fields.is_empty() {
            return Err(first);
        }
        if names.len() + fields.len() > MAX_FUNCTIONS || (arrays && !names.is_empty()) {
            return Err(first);
        }
        for (n, &arity) in &names {
            if let Some(letters) = def_letters.get(n)
                && letters.len() == arity
            {
                at.entry(n.clone()).or_insert_with(|| letters.clone());
            }
        }
        let read = |st: &mut State, k: usize| {
            with_fields(st, &fields, k, |st| {
                with_instance(st, &names, &at, k, var.as_ref(), |st| {
                    let mut st = st.clone();
                    if at_point.is_some() {
                        st.prime_var.clone_from(&at_point);
                    }
                    build_or_rates(&st, mems, cx, src)
                })
            })
        };
        match read(st, 0) {
            Ok(mut id) => {
                for k in 1..INSTANCES {
                    match read(st, k) {
                        Ok(other) => id.instances.push(other),
                        Err(_) => return Err(first),
                    }
                }
                id.generic = names.keys().chain(fields.keys()).cloned().collect();
                return Ok(id);
            }
            Err(s) if s.message == skip.message => return Err(first),
            Err(s) => skip = s,
        }
    }
    Err(first)
}

/// The functions (name, arguments) that the definitions of the symbols an
/// identity writes apply but the note never defines (`f` in `z = f(x, y)`).
fn applied_in_definitions(st: &State, mems: &[&[Tok]], cx: &Ctx) -> BTreeMap<String, Vec<Expr>> {
    let mut used = BTreeSet::new();
    for m in mems {
        if let Ok(e) = crate::check::syntax::parse_expr(m, cx) {
            e.walk(&mut |x| {
                if let Expr::Var(s) = x {
                    used.insert(s.key());
                }
            });
        }
    }
    let mut out = BTreeMap::new();
    for key in &used {
        let Some(Def::Sym { body: Ok(b), .. }) = st.syms.get(key) else {
            continue;
        };
        b.walk(&mut |x| {
            if let Expr::Apply(name, args) = x
                && !is_notation_apply(name)
                && !st.funcs.contains_key(name)
                && !st.syms.contains_key(name)
                && (1..=MAX_ARITY).contains(&args.len())
            {
                out.insert(name.clone(), args.clone());
            }
        });
    }
    if out.len() > MAX_FUNCTIONS {
        out.clear();
    }
    out
}

/// [`build_with`], or else the identity read with varying quantities
/// ([`build_rates`]) under the same functions.
fn build_or_rates(st: &State, mems: &[&[Tok]], cx: &Ctx, src: &str) -> Result<Ident, Skip> {
    build_with(st, mems, cx, src).or_else(|skip| {
        let funcs = st.func_names();
        let cx = Ctx {
            funcs: &funcs,
            ids: cx.ids,
            src: cx.src,
            depth: std::cell::Cell::new(0),
        };
        build_rates(st, mems, &cx, src, skip)
    })
}

/// [`build`] with the parser told of the functions the state defines, and their
/// primes written without an argument (`v'`) taken at their parameter.
fn build_with(st: &State, mems: &[&[Tok]], cx: &Ctx, src: &str) -> Result<Ident, Skip> {
    let funcs = st.func_names();
    let cx = Ctx {
        funcs: &funcs,
        ids: cx.ids,
        src: cx.src,
        depth: std::cell::Cell::new(0),
    };
    // (also where the name is written bare too: these are arbitrary functions, and
    // a differential equation `v' = 3v` does not hold for them)
    let owned: Vec<Option<Vec<Tok>>> = mems.iter().map(|m| bare_primes(st, m, true)).collect();
    let mems: Vec<&[Tok]> = mems
        .iter()
        .zip(&owned)
        .map(|(m, o)| o.as_deref().unwrap_or(m))
        .collect();
    build(st, &mems, &cx, src)
}

/// Runs `f` with the functions `names` (name, arity) defined as members of the
/// family (instance `k`), and the state as it was afterwards. With `var`, a function
/// of one argument has it as its parameter (so that `v` and `v'` written without an
/// argument are at it).
fn with_instance<T>(
    st: &mut State,
    names: &BTreeMap<String, usize>,
    at: &BTreeMap<String, Vec<Sym>>,
    k: usize,
    var: Option<&Sym>,
    f: impl FnOnce(&State) -> T,
) -> T {
    let mut saved = Vec::new();
    for (n, &arity) in names {
        let own = at
            .get(n)
            .cloned()
            .or_else(|| var.filter(|_| arity == 1).map(|v| vec![v.clone()]));
        let def = match own {
            Some(ps) if ps.len() == arity => Def::Func {
                body: Ok(member_at(n, &ps, k)),
                params: ps,
            },
            _ => Def::Func {
                params: params(arity),
                body: Ok(member(n, arity, k)),
            },
        };
        saved.push((
            n.clone(),
            st.funcs.insert(n.clone(), def),
            st.syms.remove(n),
        ));
    }
    let out = f(st);
    for (n, func, sym) in saved {
        match func {
            Some(d) => st.funcs.insert(n.clone(), d),
            None => st.funcs.remove(&n),
        };
        if let Some(d) = sym {
            st.syms.insert(n, d);
        }
    }
    out
}

/// The symbols an identity writes under `\nabla`, `\nabla \cdot`, `\nabla \times`
/// without a subscript that the note never defines, and whether each is a vector
/// field: bold or capital letters, and letters under a divergence or a curl, are;
/// other letters that are not coordinates or constants by convention are scalar
/// fields.
fn fields_in(st: &State, mems: &[&[Tok]], cx: &Ctx) -> BTreeMap<String, bool> {
    let mut out = BTreeMap::new();
    for m in mems {
        let Ok(e) = crate::check::syntax::parse_expr(m, cx) else {
            continue;
        };
        e.walk(&mut |x| {
            let Expr::Deriv(_, d) = x else { return };
            if !d.wrt.base.is_empty() || !(d.nabla || d.op.is_some()) {
                return;
            }
            d.of.walk(&mut |y| {
                let Expr::Var(s) = y else { return };
                let key = s.key();
                if st.syms.contains_key(&key) || st.funcs.contains_key(&key) || s.sub.is_some() {
                    return;
                }
                let vector = s.bold || s.upper || (d.op.is_some() && d.of == Expr::Var(s.clone()));
                let scalar = !FIELD_COORDINATES.contains(&s.base.as_str())
                    && !is_constant_letter(&s.base)
                    && !NUMBER_LETTERS.contains(&s.base.as_str());
                if vector || scalar {
                    out.entry(key).or_insert(vector);
                }
            });
        });
    }
    out
}

/// The letters an identity may write primes on without an argument, as functions
/// of this variable (`y' = v' e^{\lambda x} + \lambda v e^{\lambda x}`).
const PRIME_VARIABLES: [&str; 3] = ["x", "t", "s"];

/// The identity with the plain letters it writes primes on (`v'`, `v''`) and the
/// note never defines read as arbitrary smooth functions of its one variable (the
/// only letter of [`PRIME_VARIABLES`] it or the definitions it uses write).
fn primed_letters(st: &mut State, mems: &[&[Tok]], cx: &Ctx, src: &str) -> Result<Ident, ()> {
    let mut primed: Vec<Sym> = Vec::new();
    for m in mems {
        let Ok(e) = crate::check::syntax::parse_expr(m, cx) else {
            return Err(());
        };
        e.walk(&mut |x| {
            if let Expr::Deriv(_, d) = x
                && d.wrt.base.is_empty()
                && let Expr::Var(s) = &d.of
                && !primed.iter().any(|p| p.key() == s.key())
            {
                primed.push(s.clone());
            }
        });
    }
    // a rule that writes no variable at all (`(fg)' = f'g + fg'`): functions of one
    // the identity does not name
    let var = sole_variable(st, mems, cx, &primed).or_else(|| {
        let only_functions = letters_written(mems, cx)?.iter().all(|k| {
            primed.iter().any(|p| p.key() == *k)
                || is_constant_letter(k)
                || NUMBER_LETTERS.contains(&k.as_str())
        });
        only_functions.then(|| Sym {
            base: PRIME_VARIABLES[0].to_string(),
            sub: None,
            bold: false,
            upper: false,
        })
    });
    let Some(var) = var else {
        return Err(());
    };
    let names: Vec<String> = primed
        .iter()
        .map(Sym::key)
        .filter(|k| !st.syms.contains_key(k) && !st.funcs.contains_key(k) && *k != var.key())
        .collect();
    if names.is_empty() || names.len() > MAX_FUNCTIONS {
        return Err(());
    }
    let read = |st: &mut State, k: usize| {
        let defs = names.iter().map(|n| {
            let def = Def::Sym {
                bold: false,
                upper: false,
                body: Ok(member_at(n, std::slice::from_ref(&var), k)),
            };
            (n.clone(), def)
        });
        with_syms(st, defs.collect(), |st| {
            st.prime_var = Some(var.clone());
            let out = build_with(st, mems, cx, src);
            st.prime_var = None;
            out
        })
    };
    let Ok(mut id) = read(st, 0) else {
        return Err(());
    };
    for k in 1..INSTANCES {
        match read(st, k) {
            Ok(other) => id.instances.push(other),
            Err(_) => return Err(()),
        }
    }
    id.generic = names;
    Ok(id)
}

/// Runs `f` with the fields `fields` (key, whether a vector field) defined as
/// members of the family in the coordinates (instance `k`), and the state as it
/// was afterwards.
fn with_fields<T>(
    st: &mut State,
    fields: &BTreeMap<String, bool>,
    k: usize,
    f: impl FnOnce(&mut State) -> T,
) -> T {
    let defs = fields.iter().map(|(n, &vector)| {
        let body = if vector {
            Expr::Apply(
                TUPLE.to_string(),
                (1..=FIELD_COORDINATES.len())
                    .map(|part| field_member(n, part, k))
                    .collect(),
            )
        } else {
            field_member(n, 0, k)
        };
        // (`upper`: it stands for the name however it is written, bold or not)
        let def = Def::Sym {
            bold: vector,
            upper: true,
            body: Ok(body),
        };
        (n.clone(), def)
    });
    with_syms(st, defs.collect(), f)
}

/// Runs `f` with the symbols `defs` defined, and the state's symbols as they were
/// afterwards.
fn with_syms<T>(st: &mut State, defs: Vec<(String, Def)>, f: impl FnOnce(&mut State) -> T) -> T {
    let saved: Vec<(String, Option<Def>)> = defs
        .into_iter()
        .map(|(n, d)| {
            let old = st.syms.insert(n.clone(), d);
            (n, old)
        })
        .collect();
    let out = f(st);
    for (n, sym) in saved {
        match sym {
            Some(d) => st.syms.insert(n, d),
            None => st.syms.remove(&n),
        };
    }
    out
}

/// Letters that name functions when the note differentiates them but never defines
/// them (`f`, `u`, `\phi`).
const FUNCTION_NAMES: &[&str] = &[
    "f", "g", "h", "u", "v", "w", "F", "G", "\\phi", "\\varphi", "\\psi", "\\Phi", "\\Psi",
];

/// The letter a skip says the note never defines yet differentiates
/// (`abstract function g: it is not defined in this note`), or differentiates by a
/// variable its operand does not mention (`not an identity: f is not defined in this
/// note and may depend on x: ...`).
pub(super) fn dependent_name(message: &str) -> Option<&str> {
    if let Some(name) = message
        .strip_prefix("abstract function ")
        .and_then(|r| r.strip_suffix(": it is not defined in this note"))
    {
        return Some(name);
    }
    let rest = message.strip_prefix("not an identity: ")?;
    let (name, rest) = rest.split_once(' ')?;
    rest.starts_with("is not defined in this note and may depend on")
        .then_some(name)
}

/// The key of a name shown in a message (`phi`: `\phi`).
pub(super) fn key_of(shown: &str) -> String {
    match shown.chars().count() {
        1 => shown.to_string(),
        _ if shown.chars().all(|c| c.is_ascii_alphabetic()) => format!("\\{shown}"),
        _ => shown.to_string(),
    }
}

/// The variables of the identity's derivatives, when all are plain letters and at
/// most [`MAX_ARITY`] (sorted by name).
fn derivative_variables(mems: &[&[Tok]], cx: &Ctx) -> Option<Vec<Sym>> {
    let mut vars: Vec<Sym> = Vec::new();
    let mut bad = false;
    for m in mems {
        let e = crate::check::syntax::parse_expr(m, cx).ok()?;
        e.walk(&mut |x| {
            if let Expr::Deriv(_, d) = x {
                let w = &d.wrt;
                if w.base.is_empty() || w.bold || w.upper || w.sub.is_some() || d.op.is_some() {
                    bad = true;
                } else if !vars.iter().any(|v| v.key() == w.key()) {
                    vars.push(w.clone());
                }
            }
        });
    }
    vars.sort_by_key(Sym::key);
    (!bad && !vars.is_empty() && vars.len() <= MAX_ARITY).then_some(vars)
}

/// Does the identity write primes on a letter with no argument after (`v'`, `y''`)?
fn writes_bare_primes(mems: &[&[Tok]]) -> bool {
    mems.iter().any(|m| {
        let toks: Vec<&Tok> = m
            .iter()
            .filter(|t| !crate::check::syntax::is_space(&t.tk))
            .collect();
        toks.windows(2).enumerate().any(|(k, w)| {
            matches!(w[0].tk, Tk::Letter(_))
                && w[1].is_ch('\'')
                && !toks[k + 1..]
                    .iter()
                    .find(|t| !t.is_ch('\''))
                    .is_some_and(|t| t.is_ch('(') || t.is_cmd("left"))
        })
    })
}

/// Members where a prime on a bracket of function letters is taken at a point
/// (`(f + g)'(x)`, `\left(\frac{f}{g}\right)'(x)`, `(g \circ f)'(a)`), rewritten with
/// the functions applied at it (`(f(x) + g(x))'`, `(g(f(a)))'`), and that point's
/// letter; `None` when no member writes one.
fn bracket_prime_at(mems: &[&[Tok]]) -> Option<(Vec<Vec<Tok>>, Sym)> {
    // the letters the identity applies or primes elsewhere are the functions; a
    // letter it never does is a constant factor (`(c f)'(a) = c f'(a)`)
    let mut applied: BTreeSet<char> = BTreeSet::new();
    for m in mems {
        let sig: Vec<&Tok> = m
            .iter()
            .filter(|t| !crate::check::syntax::is_space(&t.tk))
            .collect();
        for w in sig.windows(2) {
            if let Tk::Letter(c) = w[0].tk
                && (w[1].is_ch('(') || w[1].is_ch('\'') || w[1].is_cmd("prime") || w[1].is_ch('^'))
            {
                applied.insert(c);
            }
        }
    }
    let mut var: Option<char> = None;
    let mut out = Vec::with_capacity(mems.len());
    for m in mems {
        let sig: Vec<&Tok> = m
            .iter()
            .filter(|t| !crate::check::syntax::is_space(&t.tk))
            .collect();
        let mut toks: Vec<Tok> = Vec::with_capacity(sig.len());
        let mut k = 0;
        while k < sig.len() {
            if let Some((inner, after, v)) = primed_bracket_at(&sig, k)
                && var.is_none_or(|w| w == v)
            {
                var = Some(v);
                let at = sig[k].start;
                let tok = |tk: Tk| Tok {
                    tk,
                    start: at,
                    end: at,
                };
                let point = |toks: &mut Vec<Tok>| {
                    toks.push(tok(Tk::Ch('(')));
                    toks.push(tok(Tk::Letter(v)));
                    toks.push(tok(Tk::Ch(')')));
                };
                toks.push(tok(Tk::Ch('(')));
                let mut i = 0;
                while i < inner.len() {
                    let t = inner[i];
                    if let Tk::Letter(c) = t.tk {
                        toks.push(t.clone());
                        if !applied.is_empty() && !applied.contains(&c) {
                            i += 1;
                            continue;
                        }
                        // `g \circ f`: g of f of the point
                        if inner.get(i + 1).is_some_and(|u| u.is_cmd("circ"))
                            && let Some(f) = inner.get(i + 2)
                            && matches!(f.tk, Tk::Letter(_))
                        {
                            toks.push(tok(Tk::Ch('(')));
                            toks.push((*f).clone());
                            point(&mut toks);
                            toks.push(tok(Tk::Ch(')')));
                            i += 3;
                            continue;
                        }
                        point(&mut toks);
                    } else {
                        toks.push(t.clone());
                    }
                    i += 1;
                }
                toks.push(tok(Tk::Ch(')')));
                // the primes, then what follows the point
                for t in &sig[after.0..after.1] {
                    toks.push((*t).clone());
                }
                k = after.2;
                continue;
            }
            toks.push(sig[k].clone());
            k += 1;
        }
        out.push(toks);
    }
    let v = var?;
    Some((
        out,
        Sym {
            base: v.to_string(),
            sub: None,
            bold: false,
            upper: false,
        },
    ))
}

/// A bracket primed at a point: its inner tokens, the range of the primes and
/// where the point ends, and the point's letter.
type BracketAt<'t> = (Vec<&'t Tok>, (usize, usize, usize), char);

/// At `k`, a bracket `( ... )` or `\left( ... \right)` of lowercase letters that are
/// not applied, numbers, `+`, `-`, `/`, `\cdot`, `\frac` (`\dfrac`), `\circ` and braces, then primes,
/// then `(v)` with a single letter `v`: the bracket's inner tokens, the range of
/// the primes and where the point ends, and `v`.
fn primed_bracket_at<'t>(sig: &[&'t Tok], k: usize) -> Option<BracketAt<'t>> {
    let left = sig[k].is_cmd("left");
    let open = if left { k + 1 } else { k };
    if !sig.get(open)?.is_ch('(') {
        return None;
    }
    let mut depth = 0usize;
    let mut close = None;
    for (j, t) in sig.iter().enumerate().skip(open) {
        if t.is_ch('(') {
            depth += 1;
        } else if t.is_ch(')') {
            depth -= 1;
            if depth == 0 {
                close = Some(j);
                break;
            }
        }
    }
    let close = close?;
    let inner_end = if left {
        if !sig.get(close.checked_sub(1)?)?.is_cmd("right") {
            return None;
        }
        close - 1
    } else {
        close
    };
    let inner: Vec<&Tok> = sig[open + 1..inner_end].to_vec();
    let letters = inner
        .iter()
        .filter(|t| matches!(t.tk, Tk::Letter(_)))
        .count();
    let plain = inner.iter().all(|t| match &t.tk {
        Tk::Letter(c) => c.is_ascii_lowercase(),
        Tk::Digit(_) | Tk::Open | Tk::Close => true,
        Tk::Ch(c) => matches!(c, '+' | '-' | '/'),
        Tk::Cmd(c) => matches!(c.as_str(), "cdot" | "circ") || is_frac(c),
    });
    // a letter applied inside (`(f(x) + g)'`) is not a bare function
    if letters == 0 || !plain {
        return None;
    }
    // the primes
    let p0 = close + 1;
    let mut p = p0;
    while let Some(t) = sig.get(p) {
        if t.is_ch('\'')
            || t.is_cmd("prime")
            || t.is_ch('^')
            || t.tk == Tk::Open
            || t.tk == Tk::Close
        {
            p += 1;
        } else {
            break;
        }
    }
    if p == p0
        || !sig[p0..p]
            .iter()
            .any(|t| t.is_ch('\'') || t.is_cmd("prime"))
    {
        return None;
    }
    // `(v)`
    let (a, b, c) = (sig.get(p)?, sig.get(p + 1)?, sig.get(p + 2)?);
    let Tk::Letter(v) = b.tk else { return None };
    if !(a.is_ch('(') && c.is_ch(')')) {
        return None;
    }
    // the point is not one of the functions
    if inner.iter().any(|t| t.tk == Tk::Letter(v)) {
        return None;
    }
    Some((inner, (p0, p, p + 3), v))
}

/// The keys of the letters an identity writes (`None` if a member does not parse).
fn letters_written(mems: &[&[Tok]], cx: &Ctx) -> Option<BTreeSet<String>> {
    let mut letters = BTreeSet::new();
    for m in mems {
        let e = crate::check::syntax::parse_expr(m, cx).ok()?;
        e.walk(&mut |x| {
            if let Expr::Var(s) = x {
                letters.insert(s.key());
            }
        });
    }
    Some(letters)
}

/// The one letter of [`PRIME_VARIABLES`] the identity (or the definitions of the
/// letters `extra`) writes, if exactly one.
fn sole_variable(st: &State, mems: &[&[Tok]], cx: &Ctx, extra: &[Sym]) -> Option<Sym> {
    let mut letters: BTreeSet<String> = BTreeSet::new();
    for m in mems {
        let e = crate::check::syntax::parse_expr(m, cx).ok()?;
        e.walk(&mut |x| {
            if let Expr::Var(s) = x {
                letters.insert(s.key());
            }
        });
    }
    for p in extra {
        let body = match st.syms.get(&p.key()).or_else(|| st.funcs.get(&p.key())) {
            Some(Def::Sym { body: Ok(b), .. } | Def::Func { body: Ok(b), .. }) => b,
            _ => continue,
        };
        body.walk(&mut |x| {
            if let Expr::Var(s) = x {
                letters.insert(s.key());
            }
        });
    }
    let vars: Vec<&str> = PRIME_VARIABLES
        .iter()
        .copied()
        .filter(|v| letters.contains(*v))
        .collect();
    match vars.as_slice() {
        [v] => Some(Sym {
            base: (*v).to_string(),
            sub: None,
            bold: false,
            upper: false,
        }),
        _ => None,
    }
}

/// The keys a name shown in a message may have (`phi`: `\phi`; `g`: `g`).
fn keys_of(shown: &str) -> Vec<String> {
    if shown.chars().count() == 1 {
        vec![shown.to_string()]
    } else {
        vec![shown.to_string(), format!("\\{shown}")]
    }
}

/// Letters (and Greek letters) written with primes and then an argument: `g'(x)`,
/// `p^\prime(t)`, `v''(u(x))`.
fn primed_names(mems: &[&[Tok]]) -> Vec<String> {
    let mut out = Vec::new();
    for m in mems {
        let toks: Vec<&Tok> = m
            .iter()
            .filter(|t| !crate::check::syntax::is_space(&t.tk))
            .collect();
        for (k, t) in toks.iter().enumerate() {
            let name = match &t.tk {
                Tk::Letter(c) => c.to_string(),
                Tk::Cmd(c) if c.len() > 1 && c.chars().all(|x| x.is_ascii_alphabetic()) => {
                    format!("\\{c}")
                }
                _ => continue,
            };
            // the primes: `'`, `^\prime`, `^{\prime\prime}`, `^{''}`
            let mut j = k + 1;
            let mut primes = 0;
            while let Some(u) = toks.get(j) {
                match &u.tk {
                    Tk::Ch('\'') => primes += 1,
                    Tk::Ch('^') | Tk::Open | Tk::Close => {}
                    Tk::Cmd(c) if c == "prime" => primes += 1,
                    _ => break,
                }
                j += 1;
            }
            if primes > 0
                && toks
                    .get(j)
                    .is_some_and(|u| u.is_ch('(') || u.is_cmd("left"))
                && !out.contains(&name)
            {
                out.push(name);
            }
        }
    }
    out
}
