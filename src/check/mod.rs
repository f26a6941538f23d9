//! Stage: check derivative identities.
//!
//! [`find`] reads a note's math spans and returns every identity written in them
//! (an `=` chain with a derivative in some member), with the definitions, kinds and
//! layout in force at that point. [`check`] verifies one identity numerically.
//!
//! Architecture (one module per step):
//!
//! - `notation`: the function table, the letters' roles, the derivative commands.
//! - `syntax`: TeX → tokens (`lex`, with byte offsets) → expression trees (`parse`, `ast`).
//! - `find`: statements, definitions (`y = \text{sum}(\mathbf{x})`,
//!   `activation(\mathbf{x}) = ...`), declarations (`x \in \mathbb{R}^n`), identities.
//! - `shape`: kinds and shapes with symbolic dimensions, unified across the sides.
//! - `eval`: a generic evaluator over `f64` and `num_dual::Dual64` (exact forward-mode
//!   derivatives), with domain and kink tracking.
//! - `verdict`: the kind search, sampling, comparison, hints and the verdict.
//!
//! # Conventions
//!
//! The notation itself (the functions, their spellings and shape rules, the
//! letters' default roles, the commands that write a derivative, fonts) is data in
//! `notation.rs`, documented there. How identities are read:
//!
//! - Numerator layout by default (front matter `layout: denominator` switches it):
//!   d(scalar)/d(vector) is a row, d(vector)/d(scalar) a column, d(vector)/d(vector)
//!   is m×n, d(scalar)/d(p×q matrix) is q×p (the shape of Xᵀ); a matrix by a scalar
//!   keeps the matrix's shape in both layouts. `\nabla_{\mathbf{x}} f` is accepted as
//!   either the row or the column (conventions for the gradient differ);
//!   `\nabla_X f` of a matrix is the gradient, the shape of `X`, in either layout.
//!   Higher-order derivatives (`\frac{d^2}{dx^2}`, `\frac{\partial^2}{\partial x
//!   \partial y}`, the Hessian `\nabla^2_{\mathbf{x}}`) are checked too. The
//!   derivative of a row vector by a vector, and anything needing a 3- or
//!   4-dimensional array, is refused (skip).
//! - Symbols: bold lowercase are column vectors, uppercase are matrices (a scalar
//!   when they appear in a denominator or exponent, or when no matrix reading of the
//!   identity works (a 3- or 4-dimensional derivative, the root or logarithm of a
//!   matrix) and the letter is a derivative's variable or in a condition (`D > 0`),
//!   in a formula with nothing of matrices: no bold symbol, trace, determinant,
//!   transpose, inverse or norm; `e^{tA}e^{tB}` stays about matrices), other letters scalars unless the
//!   formula forces a vector (the search tries the fewest changes first) or the note
//!   declared one (`x \in \mathbb{R}^n`). A letter naming a declared symbol's
//!   dimension (`\mathbf{v} \in \mathbb{R}^n`, `X \in \mathbb{R}^{m \times n}`) and
//!   used as a value in an identity with that symbol (`\frac{1}{n}`) is the size of
//!   that dimension (unless it is a derivative's variable or declared itself). A plain letter written transposed (`x^T`)
//!   or declared a vector is read as a vector: if that gives the sides different
//!   shapes, that is the verdict. `x` and `\mathbf{x}` in one identity are
//!   one symbol. Subscripted symbols (`x_1`, `\mathbf{x}_i`) are distinct symbols,
//!   except: `x_i` inside `\sum_i` or `\dots x_i \dots` is an entry of `x`;
//!   `\mathbf{x}_i` inside `\sum_i` is the i-th of several vectors (a column of a
//!   matrix), and so is a plain `x_i` in an identity that also writes `\mathbf{x}_i`;
//!   a bare `i` in the body of `\sum_{i=lo}` / `\prod_{i=lo}` is the index's value
//!   (`\sum_{k=1}^{3} k x^k`); `x_1, x_2, ...` next to a derivative by `\mathbf{x}` are its
//!   components (and fix its length); `p_k` next to a vector `\mathbf{p}` (in the
//!   identity or defined in the note) is its k-th entry, `k` (any one lowercase
//!   letter: `p_c` for a class) a free index (the identity holds for every k), as
//!   are `\mathbf{e}_k` and `\delta_{ij}`; accented letters (`\hat{y}`, `\bar{x}`,
//!   `\dot{q}`, `\ddot\theta`) are symbols of their own (a dotted letter next to a
//!   derivative by `t` is a time derivative: skipped); an index
//!   only inside `diag(...)` builds the diagonal entry by entry. A sum's index
//!   written as a number (`\sum_{t=1}^{n} t\,c\,(1+r)^{-t}`) takes the values of
//!   the sum's range (`^t` there is a power, not a transpose, as it is on a number,
//!   `2^t`, and on a scalar expression when `t` is a variable of the formula), and its upper limit
//!   `n` is a whole number (the size of the range).
//! - Partial derivatives: `\partial_x f`, `\partial_{xy} f` (by x, then by y; not
//!   with index letters i–n: `\partial_{ij}` is index notation), and
//!   for a function defined in the note (`f(x, y) = ...`) the subscripts `f_x`,
//!   `f_{xy}` when every subscript letter is one of its parameters (and `f_x` is not
//!   itself defined).
//! - A prime after a bold or uppercase symbol (`\mathbf{b}'`, `X'`) or after a
//!   parenthesised expression with one (`(\mathbf{y} - X\mathbf{b})'`) is a
//!   transpose (econometrics); after a function or a scalar expression it is a
//!   derivative.
//! - A function application `f(x)`, `g_1(x)`, `\mathbf{r}(t)`, `y(x)` (a lowercase
//!   letter glued to one symbol in parentheses) is abstract unless the note defined
//!   it earlier; abstract identities are skipped. The derivative of a bare symbol
//!   the note never defined is abstract too (`\frac{dy}{du}`), except the constant
//!   rule: `\frac{\partial a}{\partial x} = 0` (every other member a literal zero;
//!   `a` one of the letters that conventionally name constants, `a`, `b`, `c`, `k`,
//!   plain or bold, or a lowercase Greek letter other than `\phi`, `\varphi`,
//!   `\psi`, `\ell`, `\sigma`; never defined, with no argument list) reads `a` as a constant
//!   (`\frac{dy}{dx} = 0` stays abstract: a condition, not an identity; an untransposed
//!   `0` / `\mathbf{0}` there is the zero of the derivative's shape). So is a derivative whose operand
//!   lacks the variable but has a calligraphic or hatted symbol (`\log\mathcal{N}`).
//!   A defined function may be named bare (`\frac{\partial activation}{\partial
//!   \mathbf{x}}`) or primed (`f'(x)`, `f''(x)`, `\phi'(x)`, also at an expression:
//!   `f'(g(x))`, not at a vector or matrix expression, inside a derivative's operand
//!   or a sum); named bare, its parameters are
//!   the identity's variables (`\frac{\partial F}{\partial x}` for `F(x, y) = ...`
//!   does not substitute a `y = ...` defined elsewhere in the note).
//! - Definitions made earlier in the note (or in front matter) are substituted, and
//!   so are those made right after an identity (`..., where $z = ...$`: later in its
//!   span, or in the spans that follow it up to the next identity, while the prose
//!   between stays in one paragraph or reads on from it: a paragraph starting in
//!   lower case, `where ...`; a heading or a new sentence ends it). If the identity
//!   has no consistent shapes with them but holds with those symbols read as plain
//!   constants (a letter reused later), it passes with a note in the message; a
//!   value mismatch with the definitions is a failure. The latest definition of a
//!   name is in force (a function `J(\mathbf{w}) = ...` replaces a symbol `J = ...`
//!   and vice versa). A definition's body reads entries like an identity does
//!   (`\ell = -\log s_k` with `\mathbf{s}` a vector: its entry k).
//! - `\nabla f` without a subscript is by the only symbol of `f` (with definitions
//!   in), else by its only bold vector. `\left(\frac{\partial P}{\partial
//!   T}\right)_V` (thermodynamics: V held fixed) is the plain partial when V is
//!   among the symbols of P (with definitions in); else it is skipped.
//! - A derivative by a defined symbol (an intermediate quantity: `\hat{\mathbf{y}} =
//!   X\mathbf{w}`, then `\frac{\partial L}{\partial \hat{\mathbf{y}}}`) reads the
//!   occurrences of its definition in the operand as that symbol, the rest held
//!   fixed; if the operand is not written in terms of it but shares its
//!   definition's symbols, it is skipped (unsupported), not read as a constant.
//! - A condition right after an identity (`= 1, \quad x > 0`, `(x \neq 0)`, or the
//!   next span `$...$ for $x > 0$` when it is about the identity's symbols) is its
//!   domain only: points are sampled where it holds. Other conditions (`\lambda >
//!   0`, `0 < \alpha < 1` elsewhere) hold for the rest of the note, in every later
//!   identity that has all of their symbols. A `cases` condition that uses the
//!   index of a `\sum` in the branches (an index not bound around the `cases`, as in
//!   `\frac{2}{N}\sum_{i=1}^{N} ... & \mathbf{w} \cdot \mathbf{x}_i + b > 0`) holds
//!   for every value of that index (points are sampled where it holds for all i). A
//!   condition written inside one bold group (`\mathbf{w \cdot x_i + b \le 0}`)
//!   reads its letters as the identity's symbols, in their fonts there. An
//!   identity right after a `cases` identity with the same left side (written the
//!   same), with no `cases` of its own, may restate one branch (`e_i = ... \implies
//!   \frac{\partial C}{\partial \mathbf{w}} = ...`): if it is false as stated but
//!   holds under one of those branch conditions, it is skipped (the condition it
//!   leaves out is named), never passed. `S = S^\top` and `\Sigma \in
//!   \mathbb{S}^n` declare symmetric matrices (sampled symmetric); so does prose
//!   right after an identity, for that identity only, in the exact phrasings `$...$
//!   for symmetric $A$` (`with`, `for a`) and `$...$ ($C$ symmetric)` (not a caveat
//!   like `true only for symmetric $X$`).
//! - An evaluation bar `\Big|_{x=a}` / `\left. ... \right|_{x=a}` after a member
//!   evaluates it at that number.
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
//!   `internal` (a bug, caught).

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

/// How to check.
#[derive(Debug, Clone)]
pub struct Settings {
    pub seed: u64,
    pub trials: usize,
    pub layout: Layout,
    pub otimes: Otimes,
}

/// The default seed.
pub const DEFAULT_SEED: u64 = 0x5EED;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            seed: DEFAULT_SEED,
            trials: 6,
            layout: Layout::Numerator,
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
    /// The note's layout (front matter `layout:`), if it says; else the setting's.
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
}

impl Verdict {
    pub fn status(&self) -> Status {
        self.outcome.status()
    }
    /// See [`Outcome::kind`].
    pub fn kind(&self) -> Option<&'static str> {
        self.outcome.kind()
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
    pub latex: String,
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
            Ok(found) => out.extend(found.into_iter().map(|f| Finding { span: i, ..f })),
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
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        verdict::check(finding, settings)
    }));
    match r {
        Ok(v) => v,
        Err(p) => {
            let what = panic_text(&*p);
            Verdict {
                outcome: Outcome::Skip(SkipReason::Internal),
                message: format!("internal error: {what}"),
                hint: None,
                max_error: None,
                trials: 0,
                seed: settings.seed,
                counterexample: None,
            }
        }
    }
}
