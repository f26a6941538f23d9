//! Stage: check derivative identities.
//!
//! [`find`] reads a note's math spans and returns every identity written in them
//! (an `=` chain with a derivative in some member), with the definitions, kinds and
//! layout in force at that point. [`check`] verifies one identity numerically.
//!
//! Architecture (one module per step):
//!
//! - `notation`: the notation as data: the function table, the letters' roles, the
//!   derivative, font and text commands.
//! - `syntax`: TeX → tokens (`lex`, with byte offsets) → expression trees (`parse`,
//!   one file per construct, building the `ast`, whose one traversal every pass
//!   uses).
//! - `find`: statements and the derivative detector (`statements`), definitions,
//!   declarations and conditions (`scope`), identities (`identity`), substitution
//!   (`rewrite`), indices (`indices`), functions and fields the note never defines
//!   read as arbitrary ones (`generic`), quantities varying with a variable: related
//!   rates, implicit differentiation (`rates`).
//! - `shape`: kinds and shapes with symbolic dimensions, unified across the sides.
//! - `eval`: a generic evaluator over `f64` and `num_dual::Dual64` (exact forward-mode
//!   derivatives, `derivative`), with domain and kink tracking; values in `value`,
//!   built-in functions in `call`.
//! - `verdict`: the kind search (`kinds`), sampling with the one RNG (`sample`),
//!   comparison and hints (`compare`), and the verdict.
//!
//! # Conventions
//!
//! Each convention is written next to the code that applies it:
//!
//! - `notation.rs`: the functions (spellings, shape rules, domains), the letters'
//!   default roles (symbols, subscripts, constants, abstract functions), the
//!   commands that write a derivative (partials, primes), fonts.
//! - `find/mod.rs`: definitions, conditions, symmetric matrices, evaluation bars,
//!   derivatives by defined symbols.
//! - `verdict/mod.rs`: tolerances and sampling.
//!
//! The layout:
//!
//! - A note's layout is the one it states (front matter, or prose: `find/convention.rs`),
//!   else the vault's (`Settings::layout`); where none is fixed an identity is read in
//!   both layouts and weighed against the note's other identities
//!   (`verdict/layout.rs`). In numerator layout d(scalar)/d(vector) is a row, d(vector)/d(scalar) a column, d(vector)/d(vector)
//!   is m×n, d(scalar)/d(p×q matrix) is q×p (the shape of Xᵀ); a matrix by a scalar
//!   keeps the matrix's shape in both layouts. `\nabla_{\mathbf{x}} f` is accepted as
//!   either the row or the column (conventions for the gradient differ);
//!   `\nabla_X f` of a matrix is the gradient, the shape of `X`, in either layout.
//!   Higher-order derivatives (`\frac{d^2}{dx^2}`, `\frac{\partial^2}{\partial x
//!   \partial y}`, the Hessian `\nabla^2_{\mathbf{x}}`) are checked too. A row
//!   vector by a vector (`\mathbf{x}^T A`, `(A\mathbf{x})^T`) is read as its column,
//!   and its answer may be that Jacobian or its transpose (texts differ). Anything
//!   needing a 3- or 4-dimensional array is refused (skip).
//!
//! # Verdict kinds
//!
//! - fail: `shape` (the sides cannot have the same shape, or a side is not
//!   well-formed, including a product of two concrete derivatives, of expressions
//!   or defined symbols, whose shapes cannot be multiplied: a chain rule in the
//!   wrong order for the layout), `value`.
//! - skip: `abstract` (undefined functions), `unsupported` (a construct the checker
//!   does not handle; the message names it), `parse` (malformed TeX), `types` (no
//!   consistent shapes for the symbols), `domain` (no valid sample point found),
//!   `internal` (a bug, caught), `not-identity` (an equation for a point or an
//!   unknown, such as a critical point `f'(c) = 0`: it holds for some values only),
//!   `ambiguous` (a failure under the checker's reading of a notation that has
//!   another plausible one: `D(x)` an operator applied, `dF_x` a differential,
//!   `\Delta u` the Laplacian; `e^{X}` of a matrix false as the matrix
//!   exponential but not entry by entry).

mod eval;
mod find;
mod notation;
mod shape;
mod syntax;
mod verdict;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use shape::Kind;

/// Where the derivative's rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Layout {
    Numerator,
    Denominator,
}

/// What `\otimes` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Otimes {
    ElementWise,
    Kronecker,
}

impl Layout {
    /// The layout a note's front matter names (`layout: denominator`, `Denominator
    /// layout`); `None` for a value that names none.
    pub fn named(value: &str) -> Option<Layout> {
        let v = value.to_ascii_lowercase();
        if v.contains("denominator") {
            Some(Layout::Denominator)
        } else if v.contains("numerator") {
            Some(Layout::Numerator)
        } else {
            None
        }
    }
}

impl Otimes {
    /// The meaning of `\otimes` a note's front matter names (`otimes: kronecker`,
    /// `element-wise`, `hadamard`); `None` for a value that names none.
    pub fn named(value: &str) -> Option<Otimes> {
        let v = value.to_ascii_lowercase();
        if v.contains("kron") {
            Some(Otimes::Kronecker)
        } else if v.contains("element") || v.contains("hadamard") || v.contains("wise") {
            Some(Otimes::ElementWise)
        } else {
            None
        }
    }
}

/// How to check.
#[derive(Debug, Clone)]
pub struct Settings {
    pub seed: u64,
    pub trials: usize,
    /// The layout the vault fixes (`--layout`, `notebuild.yaml`); `None`: an identity
    /// in a note that states none may be read in either (see `verdict/layout.rs`).
    pub layout: Option<Layout>,
    pub otimes: Otimes,
}

/// The default seed.
pub const DEFAULT_SEED: u64 = 0x5EED;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            seed: DEFAULT_SEED,
            trials: 6,
            layout: None,
            otimes: Otimes::ElementWise,
        }
    }
}

/// One math span of a note, in document order: the TeX between its delimiters.
pub struct Span<'a> {
    pub tex: &'a str,
    pub display: bool,
    /// The note's text between the previous span and this one (the prose that
    /// joins them): a definition after an identity completes it only when the two
    /// are in one paragraph or the prose reads on (`where`, `with`).
    pub before: &'a str,
}

/// A note's math, in order, and its front-matter scalar fields (e.g. "layout" ->
/// "denominator", "otimes" -> "kronecker").
pub struct NoteMath<'a> {
    pub spans: Vec<Span<'a>>,
    pub front: &'a BTreeMap<String, String>,
}

/// An identity found in a note, ready to check (with the definitions in force at
/// that point).
#[derive(Debug, Clone)]
pub struct Finding {
    /// Index into the note's spans.
    pub span: usize,
    /// Byte offset in that span's tex where the identity's left-hand side starts.
    pub tex_offset: usize,
    /// The identity's source text, trimmed.
    pub latex: String,
    /// The layout the note states (front matter `layout:` or its prose), if it does.
    pub layout: Option<Layout>,
    /// The note's meaning of `\otimes` (front matter `otimes:`), if it says.
    pub otimes: Option<Otimes>,
    pub(crate) body: Result<find::Ident, find::Skip>,
}

/// The outcome of a check, without its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

/// Why an identity is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailKind {
    /// The sides cannot have the same shape, or a side is not well-formed.
    Shape,
    /// The sides differ in value.
    Value,
}

/// Why an identity was not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// Undefined (abstract) functions.
    Abstract,
    /// A construct the checker does not handle (the message names it).
    Unsupported,
    /// Malformed TeX.
    Parse,
    /// No consistent shapes for the symbols.
    Types,
    /// No valid sample point found.
    Domain,
    /// A bug, caught.
    Internal,
    /// Not an identity: an equation for a particular point or unknown (a critical
    /// point `f'(c) = 0`), which holds for some values only.
    NotIdentity,
    /// Another plausible reading of the notation (an operator applied, a
    /// differential) under which the checker's failure would not stand.
    Ambiguous,
    /// It holds only under a condition on its symbols that the note states as a
    /// caveat ("true only for symmetric $C$"): true as the note says it, not a
    /// universal identity.
    Condition,
}

impl FailKind {
    /// The kind as the JSON report spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            FailKind::Shape => "shape",
            FailKind::Value => "value",
        }
    }
}

impl SkipReason {
    /// The reason as the JSON report spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Abstract => "abstract",
            SkipReason::Unsupported => "unsupported",
            SkipReason::Parse => "parse",
            SkipReason::Types => "types",
            SkipReason::Domain => "domain",
            SkipReason::Internal => "internal",
            SkipReason::NotIdentity => "not-identity",
            SkipReason::Ambiguous => "ambiguous",
            SkipReason::Condition => "condition",
        }
    }
}

/// The outcome of a check, with its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail(FailKind),
    Skip(SkipReason),
}

impl Outcome {
    pub fn status(self) -> Status {
        match self {
            Outcome::Pass => Status::Pass,
            Outcome::Fail(_) => Status::Fail,
            Outcome::Skip(_) => Status::Skip,
        }
    }
    /// fail: "shape" | "value"; skip: "abstract", "unsupported", "parse", "types",
    /// "domain", "internal"; pass: None.
    pub fn kind(self) -> Option<&'static str> {
        match self {
            Outcome::Pass => None,
            Outcome::Fail(k) => Some(k.as_str()),
            Outcome::Skip(r) => Some(r.as_str()),
        }
    }
}

/// Serialised as two fields, `status` and `kind` (a string or null).
impl serde::Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("status", &self.status())?;
        m.serialize_entry("kind", &self.kind())?;
        m.end()
    }
}

/// The verdict on one identity.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verdict {
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Human message: for fail what differs (shapes, or largest error and where), for
    /// skip the precise reason (the construct it stopped at).
    pub message: String,
    /// e.g. "layout: this is the denominator-layout answer (the transpose)",
    /// "factor 2", "sign", "holds only when A is symmetric"
    pub hint: Option<String>,
    pub max_error: Option<f64>,
    pub trials: usize,
    pub seed: u64,
    /// A small counterexample for failures: sizes and the values/entries that differ.
    pub counterexample: Option<String>,
    /// For a pass or a fail, the reading it rests on; `None` for a skip. (Not
    /// serialised with the verdict: the JSON report writes it, see `output::json`.)
    #[serde(skip)]
    pub reading: Option<Reading>,
}

/// The reading a pass or a fail rests on: the layout and the kind the checker gave
/// each symbol, keyed by the symbol's identity (base and subscript, the font dropped:
/// `x` for both `x` and `\mathbf{x}`, `\theta`, `x_1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub layout: Layout,
    pub kinds: BTreeMap<String, Kind>,
    /// What its derivatives differentiate by what (`("scalar", "vector")`): a note may
    /// write gradients in one layout and Jacobians in the other.
    pub families: std::collections::BTreeSet<(&'static str, &'static str)>,
}

impl Verdict {
    pub fn status(&self) -> Status {
        self.outcome.status()
    }
    /// See [`Outcome::kind`].
    pub fn kind(&self) -> Option<&'static str> {
        self.outcome.kind()
    }
    /// For a skip, why (as the JSON report spells it); `None` for a pass or a fail.
    pub fn reason(&self) -> Option<&'static str> {
        match self.outcome {
            Outcome::Skip(r) => Some(r.as_str()),
            Outcome::Pass | Outcome::Fail(_) => None,
        }
    }
}

/// An identity found in a note, with its verdict and its place in the vault.
#[derive(Debug, Clone)]
pub struct Located {
    /// Vault-relative path of the note.
    pub file: String,
    /// 1-based line and column where the left-hand side starts.
    pub line: usize,
    pub column: usize,
    /// Byte range in the note's text to underline.
    pub range: std::ops::Range<usize>,
    /// Byte offset of the math span (its opening `$`) holding the identity.
    pub math_start: usize,
    /// The identity as the note writes it.
    pub latex: String,
    /// The identity as the checker read it: the vault's macros expanded.
    pub read_as: String,
    pub verdict: Verdict,
}

/// Every identity in a note, in document order.
///
/// Never panics: if reading the note fails on an internal error, each formula is
/// read again on its own (losing the note's definitions), and a formula that fails
/// again is a skip of kind `internal` at its place.
pub fn find(note: &NoteMath) -> Vec<Finding> {
    if let Ok(found) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| find::find(note))) {
        return found;
    }
    let mut out = Vec::new();
    let stated = std::panic::catch_unwind(|| find::stated_layout(note))
        .ok()
        .flatten();
    for (i, span) in note.spans.iter().enumerate() {
        let alone = NoteMath {
            spans: vec![Span {
                tex: span.tex,
                display: span.display,
                before: span.before,
            }],
            front: note.front,
        };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| find::find(&alone))) {
            Ok(found) => out.extend(found.into_iter().map(|f| Finding {
                span: i,
                layout: f.layout.or(stated),
                ..f
            })),
            Err(p) => out.push(Finding {
                span: i,
                tex_offset: 0,
                latex: span.tex.trim().to_string(),
                layout: None,
                otimes: None,
                body: Err(find::Skip {
                    kind: SkipReason::Internal,
                    message: format!(
                        "internal error while reading this formula: {}",
                        panic_text(&*p)
                    ),
                }),
            }),
        }
    }
    out
}

/// The message of a caught panic.
fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

/// Checks one identity. Pure and thread-safe; never panics (an internal error is a
/// skip).
pub fn check(finding: &Finding, settings: &Settings) -> Verdict {
    verdict::layout::decide(read(finding, settings), (0, 0))
}

pub use verdict::layout::Readings;

/// Reads one identity in the layouts it may be read in (see [`decide_note`]).
pub fn read(finding: &Finding, settings: &Settings) -> Readings {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        verdict::layout::read(finding, settings)
    }));
    match r {
        Ok(v) => v,
        Err(p) => {
            let what = panic_text(&*p);
            Readings::alone(Verdict {
                outcome: Outcome::Skip(SkipReason::Internal),
                message: format!("internal error: {what}"),
                hint: None,
                max_error: None,
                trials: 0,
                seed: settings.seed,
                counterexample: None,
                reading: None,
            })
        }
    }
}

/// The verdicts on the identities of one note, in order, from their readings: an
/// identity whose note states no layout is weighed against the layout the note's
/// other identities hold in (`verdict/layout.rs`).
pub fn decide_note(readings: Vec<Readings>) -> Vec<Verdict> {
    let only: Vec<Option<verdict::layout::Only>> = readings.iter().map(Readings::only).collect();
    // the identities holding in one layout only, counted once per distinct set of
    // families (a few per note), so that weighing each identity against the others
    // costs the same however many the note has
    let mut tally = verdict::layout::Tally::default();
    for o in only.iter().flatten() {
        tally.add(o);
    }
    readings
        .into_iter()
        .zip(&only)
        .map(|(r, mine)| verdict::layout::decide(r, tally.others(mine.as_ref())))
        .collect()
}
