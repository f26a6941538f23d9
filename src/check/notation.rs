//! The checker's notation as data: the built-in functions (their spellings,
//! inverse, domain, shape rule and value, whose derivative forward-mode AD takes
//! through [`elementwise`]), the letters' default roles, and the commands that
//! write a derivative. The parser, the shape inference and the evaluator all read
//! these tables; nothing about a function is spelled out anywhere else.
//!
//! # Functions
//!
//! - `exp`, `log`/`ln` (also `\ln\left|x\right|`; `\log_2 x` is `\ln x / \ln 2`,
//!   `\log_e` is `\ln`), trigonometric and hyperbolic functions and their inverses
//!   (`arcsin`, `\sinh^{-1}`, `arsinh`, `arcosh`, `artanh`), `sigma`, `relu`,
//!   `softmax`, ...; `\operatorname{erf}` / `\mathrm{erf}` is the error function
//!   (derivative `2/√π e^{-x²}`). A function is written as a command (`\exp`), as
//!   letters (`exp`), or in `\operatorname{}` / `\mathrm{}` / `\text{}`; the
//!   spellings are listed in [`FUNCS`]. `\sigma(x)` (and `\sigma^2(x)`) is the
//!   sigmoid; `\sigma` alone a symbol. `\langle a, b\rangle` is the inner product
//!   (also raised to a power).
//! - `\mathbf{x}^2` and other powers of vectors are element-wise; powers of square
//!   matrices are matrix powers. `|x|` is entry-wise, except that `|\mathbf{x}|` is
//!   read as the norm when the entry-wise reading does not fit the shapes, and `|X|`
//!   of a square matrix is its determinant. `\|X\|` of a matrix is the Frobenius
//!   norm. `diag` of a vector is a diagonal matrix, of a square matrix its diagonal.
//!   `e^{X}`, `\exp(X)` of a square matrix (`e^{tA}`, `e^{At}`, `\exp(t(A+B))`) is
//!   the matrix exponential (scaling and squaring of its Taylor series, `eval`);
//!   of a vector entry by entry. A failure under the matrix exponential is
//!   reported only when the entry-wise reading (`\exp` of a matrix in ML notes)
//!   fails too; else it is a skip (`ambiguous`); a pass or a fail that rests on it
//!   says so. `exp` of a declared non-square matrix is entry by entry. `log` and
//!   `sqrt` of a (non-vector) matrix are refused as ambiguous.
//!   `\prod_{i=1}^{n}` multiplies scalars like `\sum` adds. `\times` between two
//!   column vectors is the cross product (both 3-vectors), else a product.
//! - `\operatorname{vec}(X)` stacks the columns of X into one column. A derivative
//!   by `\operatorname{vec}(X)` (of a scalar or a column, e.g. `\frac{\partial
//!   \operatorname{vec}(AXB)}{\partial \operatorname{vec}(X)} = B^T \otimes A` with
//!   front matter `otimes: kronecker`) is the Jacobian by X's entries in column
//!   order, in the layout; a vec of an r×c matrix has length c·r with the column
//!   index outer, as in a Kronecker product, so vec and `\otimes` dimensions compare
//!   factor by factor.
//!
//! # Letters
//!
//! - Bold lowercase letters are column vectors, uppercase letters matrices, other
//!   letters scalars (see below for when the search reads them otherwise). `I` is the identity, `e` (also `\mathrm{e}`) Euler's
//!   number, `^T` / `^\top` a transpose.
//! - [`FUNC_LETTERS`]: single letters that, followed by `(`, are (abstract)
//!   functions.
//! - [`is_constant_letter`]: the letters that conventionally name constants (the
//!   constant rule `\frac{\partial a}{\partial x} = 0`).
//! - [`is_index_letter`]: subscripts that are free indices (`x_i`, `\partial
//!   x_j`); `\partial_{ij}` with letters of [`PARTIAL_INDEX_LETTERS`] is index
//!   notation, not a mixed partial.
//!
//! How the kind search and finding identities read letters:
//!
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
//!   A derivative whose operand, definitions substituted, has a symbol the note never
//!   defined that may depend on the variable is abstract too: under a total derivative
//!   (`\frac{d}{dx}(e^{2x}y)`) a letter naming a variable or unknown function (`x`,
//!   `y`, `z`, `u`, `v`, `w`), and under any derivative whose operand lacks the
//!   variable, any letter that is not a constant by convention (`\partial_t J` with
//!   `J = L + S`); such a statement is a differential equation or a related rate,
//!   not an identity the checker can back.
//!   A defined function may be named bare (`\frac{\partial activation}{\partial
//!   \mathbf{x}}`) or primed (`f'(x)`, `f''(x)`, `\phi'(x)`, also at an expression:
//!   `f'(g(x))`, not at a vector or matrix expression, inside a derivative's operand
//!   or a sum); named bare, its parameters are
//!   the identity's variables (`\frac{\partial F}{\partial x}` for `F(x, y) = ...`
//!   does not substitute a `y = ...` defined elsewhere in the note).
//!
//! # Derivatives
//!
//! - [`FRAC_CMDS`]: a fraction whose numerator and denominator both start with a
//!   differential (`d`, `\partial`, `\mathrm{d}`: [`UPRIGHT_D_CMDS`]) is a
//!   derivative (`\frac{d}{dx}`, `\frac{d^2}{dx^2}`, `\frac{\partial^2}{\partial x
//!   \partial y}`, `\dfrac`, `\tfrac`, `\cfrac`).
//! - Partial derivatives: `\partial_x f`, `\partial_{xy} f` (by x, then by y; not
//!   with index letters i–n: `\partial_{ij}` is index notation), and
//!   for a function defined in the note (`f(x, y) = ...`) the subscripts `f_x`,
//!   `f_{xy}` when every subscript letter is one of its parameters (and `f_x` is not
//!   itself defined).
//! - A prime after a bold or uppercase symbol (`\mathbf{b}'`, `X'`) or after a
//!   parenthesised expression with one (`(\mathbf{y} - X\mathbf{b})'`) is a
//!   transpose (econometrics); after a function or a scalar expression it is a
//!   derivative.
//! - [`DERIV_CMDS`]: `\partial` (`\partial_x f`, `\partial f / \partial x`) and
//!   `\nabla` (`\nabla_{\mathbf{x}} f`, the Hessian `\nabla^2_{\mathbf{x}}`, the
//!   divergence `\nabla \cdot \mathbf{F}` and the curl `\nabla \times \mathbf{F}`)
//!   always start one; so does `\operatorname{div}` / `\operatorname{curl}` (also in
//!   `\mathrm`, `\text`) before a bold vector (`\operatorname{div}(f)` alone is a
//!   divisor). Which variable: `find/mod.rs`.
//!
//! # Fonts and text
//!
//! - [`BOLD`]: bold commands (`\mathbf`, `\boldsymbol`, `\bm`, `\bold`, ...).
//! - [`TEXT_CMDS`]: upright and text commands (`\mathrm`, `\text`, `\hbox`,
//!   `\textup`, `\emph`, ...): one letter is a symbol, a word a function name.
//! - [`DECOR_CMDS`]: accents that make a symbol of their own (`\hat{y}`).

use super::eval::Num;
use crate::tex::vocab;

/// Built-in functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Exp,
    Ln,
    Sin,
    Cos,
    Tan,
    Tanh,
    Sinh,
    Cosh,
    Arctan,
    Sigmoid,
    Relu,
    Sqrt,
    Abs,
    Sign,
    Step,
    Sec,
    Csc,
    Cot,
    Sech,
    Coth,
    Csch,
    Arcsin,
    Arccos,
    Erf,
    /// `\operatorname{vec}(X)`: the columns of X stacked into one column.
    Vec,
    Arsinh,
    Arcosh,
    Artanh,
    Softmax,
    Sum,
    Diag,
    Tr,
    Det,
    Max,
    Min,
    /// `exp` read entry by entry on a matrix: the other reading of `e^{X}` (never
    /// written: the verdict tries it when the matrix exponential fails).
    ExpEntries,
}

/// How a function's result's shape follows from its argument's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShapeRule {
    /// Entry by entry: the argument's shape.
    ElementWise,
    /// Entry by entry on scalars and vectors; of a matrix refused as ambiguous
    /// (element-wise or the matrix function?).
    ElementWiseNoMatrix,
    /// Entry by entry on scalars and vectors; of a square matrix the matrix function
    /// (`exp`: the matrix exponential, the power series `Σ Xᵏ/k!`).
    MatrixFunction,
    /// Entry by entry, but of a square matrix its determinant (`|X|`).
    EntriesOrDeterminant,
    /// Two arguments of one shape, entry by entry (`max(a, b)`).
    ElementWisePair,
    /// The sum of the entries: a scalar.
    SumToScalar,
    /// A vector to a vector of its length.
    VectorToVector,
    /// Of a vector a diagonal matrix, of a square matrix its diagonal.
    Diagonal,
    /// Of a square matrix a scalar (trace, determinant).
    SquareToScalar,
    /// The columns of an r×c matrix stacked: a column of length c·r.
    StackColumns,
}

/// Where a function is defined: points outside are resampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Domain {
    /// Everywhere.
    All,
    /// Positive values (`> 1e-12`), not a zero of any shape.
    Positive,
    /// Away from the zeros of `cos` (`|cos x| ≥ 1e-3`).
    CosNonZero,
    /// Away from the zeros of `sin` (`|sin x| ≥ 1e-3`).
    SinNonZero,
    /// Away from zero (`|x| ≥ 1e-3`).
    NonZero,
    /// Inside (-1, 1) (`|x| < 1 - 1e-6`).
    OpenUnit,
    /// Above 1 (`x > 1 + 1e-6`).
    AboveOne,
}

impl Domain {
    /// Is the real value `x` outside the domain?
    pub(crate) fn excludes(self, x: f64) -> bool {
        match self {
            Domain::All => false,
            Domain::Positive => x <= 1e-12,
            Domain::CosNonZero => x.cos().abs() < 1e-3,
            Domain::SinNonZero => x.sin().abs() < 1e-3,
            Domain::NonZero => x.abs() < 1e-3,
            Domain::OpenUnit => x.abs() >= 1.0 - 1e-6,
            Domain::AboveOne => x <= 1.0 + 1e-6,
        }
    }
}

/// One built-in function: everything the checker knows about it.
pub(crate) struct FuncInfo {
    pub func: Func,
    /// The name in messages.
    pub name: &'static str,
    /// Written as letters or in `\operatorname{}` / `\mathrm{}` / `\text{}`.
    pub spellings: &'static [&'static str],
    /// Written as a command: `\exp`, `\sin`.
    pub commands: &'static [&'static str],
    /// `f^{-1}`: the inverse function (`\sin^{-1}` is `arcsin`).
    pub inverse: Option<Func>,
    /// How many arguments it takes.
    pub arity: usize,
    pub shape: ShapeRule,
    pub domain: Domain,
    /// What a point outside the domain is, in messages.
    pub outside: &'static str,
    /// Has a kink at 0 (points near it are resampled).
    pub kink_at_zero: bool,
}

const fn f(
    func: Func,
    name: &'static str,
    spellings: &'static [&'static str],
    commands: &'static [&'static str],
) -> FuncInfo {
    FuncInfo {
        func,
        name,
        spellings,
        commands,
        inverse: None,
        arity: 1,
        shape: ShapeRule::ElementWise,
        domain: Domain::All,
        outside: "",
        kink_at_zero: false,
    }
}

const fn inverse(mut i: FuncInfo, inv: Func) -> FuncInfo {
    i.inverse = Some(inv);
    i
}

const fn shape(mut i: FuncInfo, s: ShapeRule) -> FuncInfo {
    i.shape = s;
    i
}

const fn domain(mut i: FuncInfo, d: Domain, outside: &'static str) -> FuncInfo {
    i.domain = d;
    i.outside = outside;
    i
}

const fn kink(mut i: FuncInfo) -> FuncInfo {
    i.kink_at_zero = true;
    i
}

const fn binary(mut i: FuncInfo) -> FuncInfo {
    i.arity = 2;
    i
}

/// THE function table, one entry per function (in [`Func`] order).
pub(crate) const FUNCS: &[FuncInfo] = &[
    shape(
        f(Func::Exp, "exp", &["exp", "Exp"], &["exp"]),
        ShapeRule::MatrixFunction,
    ),
    domain(
        shape(
            f(Func::Ln, "log", &["log", "ln", "Log", "Ln"], &["log", "ln"]),
            ShapeRule::ElementWiseNoMatrix,
        ),
        Domain::Positive,
        "the logarithm of a non-positive value",
    ),
    inverse(f(Func::Sin, "sin", &["sin"], &["sin"]), Func::Arcsin),
    inverse(f(Func::Cos, "cos", &["cos"], &["cos"]), Func::Arccos),
    inverse(
        domain(
            f(Func::Tan, "tan", &["tan"], &["tan"]),
            Domain::CosNonZero,
            "tan near a pole",
        ),
        Func::Arctan,
    ),
    inverse(f(Func::Tanh, "tanh", &["tanh"], &["tanh"]), Func::Artanh),
    inverse(f(Func::Sinh, "sinh", &["sinh"], &["sinh"]), Func::Arsinh),
    inverse(f(Func::Cosh, "cosh", &["cosh"], &["cosh"]), Func::Arcosh),
    f(Func::Arctan, "arctan", &["arctan", "atan"], &["arctan"]),
    f(
        Func::Sigmoid,
        "sigma",
        &["sigmoid", "logistic", "sigm"],
        &["sigmoid"],
    ),
    kink(f(
        Func::Relu,
        "relu",
        &["relu", "ReLU", "Relu", "RELU", "ReLu"],
        &["relu"],
    )),
    domain(
        shape(
            f(Func::Sqrt, "sqrt", &["sqrt"], &[]),
            ShapeRule::ElementWiseNoMatrix,
        ),
        Domain::Positive,
        "the square root of a non-positive value",
    ),
    kink(shape(
        f(Func::Abs, "abs", &["abs"], &[]),
        ShapeRule::EntriesOrDeterminant,
    )),
    kink(f(Func::Sign, "sign", &["sgn", "sign"], &["sgn"])),
    kink(f(
        Func::Step,
        "step",
        &["step", "H", "heaviside", "Heaviside"],
        &[],
    )),
    domain(
        f(Func::Sec, "sec", &["sec"], &["sec"]),
        Domain::CosNonZero,
        "a pole of sec/csc/cot",
    ),
    domain(
        f(Func::Csc, "csc", &["csc"], &["csc"]),
        Domain::SinNonZero,
        "a pole of sec/csc/cot",
    ),
    domain(
        f(Func::Cot, "cot", &["cot"], &["cot"]),
        Domain::SinNonZero,
        "a pole of sec/csc/cot",
    ),
    f(Func::Sech, "sech", &["sech"], &["sech"]),
    domain(
        f(Func::Coth, "coth", &["coth"], &["coth"]),
        Domain::NonZero,
        "a pole of csch/coth",
    ),
    domain(
        f(Func::Csch, "csch", &["csch", "cosech"], &["csch"]),
        Domain::NonZero,
        "a pole of csch/coth",
    ),
    domain(
        f(Func::Arcsin, "arcsin", &["arcsin", "asin"], &["arcsin"]),
        Domain::OpenUnit,
        "arcsin/arccos outside (-1, 1)",
    ),
    domain(
        f(Func::Arccos, "arccos", &["arccos", "acos"], &["arccos"]),
        Domain::OpenUnit,
        "arcsin/arccos outside (-1, 1)",
    ),
    f(Func::Erf, "erf", &["erf", "Erf"], &[]),
    shape(
        f(Func::Vec, "vec", &["vec", "Vec"], &[]),
        ShapeRule::StackColumns,
    ),
    f(Func::Arsinh, "arsinh", &["arsinh", "arcsinh", "asinh"], &[]),
    domain(
        f(Func::Arcosh, "arcosh", &["arcosh", "arccosh", "acosh"], &[]),
        Domain::AboveOne,
        "arcosh at or below 1",
    ),
    domain(
        f(Func::Artanh, "artanh", &["artanh", "arctanh", "atanh"], &[]),
        Domain::OpenUnit,
        "artanh outside (-1, 1)",
    ),
    shape(
        f(
            Func::Softmax,
            "softmax",
            &["softmax", "Softmax", "SoftMax"],
            &["softmax"],
        ),
        ShapeRule::VectorToVector,
    ),
    shape(
        f(Func::Sum, "sum", &["sum", "Sum"], &[]),
        ShapeRule::SumToScalar,
    ),
    shape(
        f(Func::Diag, "diag", &["diag", "Diag", "diagm"], &["diag"]),
        ShapeRule::Diagonal,
    ),
    shape(
        f(
            Func::Tr,
            "tr",
            &["tr", "Tr", "trace", "Trace", "TR"],
            &["tr", "Tr", "trace"],
        ),
        ShapeRule::SquareToScalar,
    ),
    shape(
        f(Func::Det, "det", &["det", "Det"], &["det"]),
        ShapeRule::SquareToScalar,
    ),
    binary(shape(
        f(Func::Max, "max", &["max", "Max"], &["max"]),
        ShapeRule::ElementWisePair,
    )),
    binary(shape(
        f(Func::Min, "min", &["min", "Min"], &["min"]),
        ShapeRule::ElementWisePair,
    )),
    f(Func::ExpEntries, "exp", &[], &[]),
];

impl Func {
    /// Everything known about the function.
    pub(crate) fn info(self) -> &'static FuncInfo {
        // the table lists the functions in `Func` order (a test checks it)
        &FUNCS[self as usize]
    }
    /// The name in messages.
    pub(crate) fn name(self) -> &'static str {
        self.info().name
    }
}

/// A function name written as letters or in `\operatorname{}` / `\mathrm{}` / `\text{}`.
pub(crate) fn func_by_name(name: &str) -> Option<Func> {
    FUNCS
        .iter()
        .find(|i| i.spellings.contains(&name))
        .map(|i| i.func)
}

/// A function written as a command (`\exp`, `\sin`).
pub(crate) fn func_command(cmd: &str) -> Option<Func> {
    FUNCS
        .iter()
        .find(|i| i.commands.contains(&cmd))
        .map(|i| i.func)
}

/// The value of an element-wise function at one entry (over `f64` or dual numbers:
/// forward-mode AD takes the derivative through it). `None` for the functions that
/// are not entry by entry.
pub(crate) fn elementwise<T: Num>(f: Func, x: T) -> Option<T> {
    Some(match f {
        Func::Exp | Func::ExpEntries => x.exp(),
        Func::Ln => x.ln(),
        Func::Sqrt => x.sqrt(),
        Func::Sin => x.sin(),
        Func::Cos => x.cos(),
        Func::Tan => x.tan(),
        Func::Tanh => x.tanh(),
        Func::Sinh => x.sinh(),
        Func::Cosh => x.cosh(),
        Func::Arctan => x.atan(),
        Func::Erf => x.erf(),
        Func::Sigmoid => T::one() / (T::one() + (-x).exp()),
        Func::Relu => {
            if x.re() > 0.0 {
                x
            } else {
                T::zero()
            }
        }
        Func::Abs => {
            if x.re() >= 0.0 {
                x
            } else {
                -x
            }
        }
        Func::Step => {
            if x.re() > 0.0 {
                T::one()
            } else {
                T::zero()
            }
        }
        Func::Sec => T::one() / x.cos(),
        Func::Csc => T::one() / x.sin(),
        Func::Cot => x.cos() / x.sin(),
        Func::Sech => T::one() / x.cosh(),
        Func::Csch => T::one() / x.sinh(),
        Func::Coth => x.cosh() / x.sinh(),
        Func::Arcsin => x.asin(),
        Func::Arccos => x.acos(),
        Func::Arsinh => x.asinh(),
        Func::Arcosh => x.acosh(),
        Func::Artanh => x.atanh(),
        Func::Sign => T::c(x.re().signum()),
        Func::Vec
        | Func::Softmax
        | Func::Sum
        | Func::Diag
        | Func::Tr
        | Func::Det
        | Func::Max
        | Func::Min => return None,
    })
}

// ---------------------------------------------------------------------------
// Letters

/// Single letters that, followed by `(`, are (abstract) functions.
pub(crate) const FUNC_LETTERS: &[&str] = &["f", "g", "h", "\\phi", "\\varphi", "\\psi", "\\ell"];

/// Latin letters that conventionally name constants (plain or bold).
const CONSTANT_LATIN: &[&str] = &["a", "b", "c", "k"];

/// Does the symbol's base name a constant by convention: `a`, `b`, `c`, `k`, or a
/// lowercase Greek letter other than a function letter (`\phi`, `\varphi`,
/// `\psi`, `\ell`) or `\sigma`?
pub(crate) fn is_constant_letter(base: &str) -> bool {
    let greek = base.starts_with('\\') && base[1..].chars().all(|c| c.is_ascii_lowercase());
    (CONSTANT_LATIN.contains(&base) || greek) && !FUNC_LETTERS.contains(&base) && base != "\\sigma"
}

/// Letters that name numbers, never a field or a varying quantity: sizes and
/// exponents (`n`, `m`), Euler's number and pi.
pub(crate) const NUMBER_LETTERS: &[&str] = &["n", "m", "e", "\\pi"];

/// Commands that are letters naming physical constants (`\hbar`): scalar symbols,
/// read like lowercase Greek letters.
pub(crate) const CONSTANT_COMMANDS: &[&str] = &["hbar", "hslash"];

/// Greek letters that, written both as a superscript and as a subscript in one
/// formula (`\partial_\mu j^\mu`, `F_{\mu\nu}\beta^\nu`), are tensor indices summed
/// over (Einstein's convention), not exponents.
pub(crate) const TENSOR_INDICES: &[&str] = &[
    "mu", "nu", "rho", "sigma", "lambda", "kappa", "alpha", "beta", "gamma", "tau",
];

/// Letters that name a general solution's constants of integration (`C`, `C_1`,
/// `c_2`).
pub(crate) const INTEGRATION_CONSTANTS: &[&str] = &["C", "c"];

/// The letter that names the imaginary unit when the note leaves it free
/// (`i\hbar \partial_t \psi`, `e^{i k x}`).
pub(crate) const IMAGINARY_UNIT: &str = "i";

/// The letter that, right before a bracket (`E[y]`, `E_{x}[f(x)]`), writes an
/// expectation, as `\mathbb{E}` does.
pub(crate) const EXPECTATION_LETTER: char = 'E';

/// Subscripts that are free indices: `x_i`, `\partial w_j`.
pub(crate) fn is_index_letter(sub: &str) -> bool {
    matches!(sub, "i" | "j" | "k" | "l")
}

/// `\partial_{ij}` with these letters is index notation, not a mixed partial.
pub(crate) const PARTIAL_INDEX_LETTERS: &str = "ijklmn";

/// Names for free dimensions in messages, in order.
pub(crate) const DIM_LETTERS: [&str; 10] = ["n", "m", "p", "q", "k", "r", "s", "t", "u", "v"];

/// Lowercase Greek letters (and `\ell`): scalars.
pub(crate) use vocab::GREEK_LOWER;
/// Uppercase Greek letters: matrices, like uppercase Latin ones.
pub(crate) use vocab::GREEK_UPPER;

/// A Greek letter's command: whether it is uppercase.
pub(crate) fn greek(name: &str) -> Option<bool> {
    if GREEK_LOWER.contains(&name) || CONSTANT_COMMANDS.contains(&name) {
        Some(false)
    } else if GREEK_UPPER.contains(&name) {
        Some(true)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------
// Superscripts and subscripts

/// Superscripts that transpose (`^T`, `^\top`, `^\intercal`, `^*`, `^H`; `^t`
/// unless `t` is a power there); with a leading `-` the inverse transpose.
const TRANSPOSE_SUPS: &[&str] = &[
    "T",
    "\\top",
    "\\intercal",
    "\\mathsfT",
    "\\mathrmT",
    "\\textT",
    "\\mathitT",
    "\\textsfT",
    "t",
    "\\mathbfT",
    "\\rmT",
    "\\sfT",
    "\\mathtt T",
    "*",
    "\\ast",
    "H",
    "\\mathsf{T}",
];

/// Is this superscript's text (spaces removed) a transpose?
pub(crate) fn is_transpose_sup(s: &str) -> bool {
    TRANSPOSE_SUPS.contains(&s)
}

/// Norm subscripts for the Frobenius norm (`\|X\|_F`).
pub(crate) const FROBENIUS_SUBS: &[&str] = &[
    "F",
    "\\mathrmF",
    "\\textF",
    "\\mathrm{F}",
    "Fro",
    "\\text{F}",
    "f",
];

/// Norm subscripts for the max norm (`\|x\|_\infty`).
pub(crate) const MAX_NORM_SUBS: &[&str] = &["\\infty", "\\inf", "max"];

// ---------------------------------------------------------------------------
// Derivatives

/// Fractions: a derivative when both parts start with a differential.
pub(crate) const FRAC_CMDS: &[&str] = &["frac", "dfrac", "tfrac", "cfrac"];

/// Is this command a fraction (`\frac`, `\dfrac`, `\tfrac`, `\cfrac`)?
pub(crate) fn is_frac(cmd: &str) -> bool {
    FRAC_CMDS.contains(&cmd)
}

/// Commands that always start a derivative: `\partial`, `\nabla`.
pub(crate) const DERIV_CMDS: &[&str] = &["partial", "nabla"];

/// The differential's letter: `\frac{d}{dx}`, `\frac{dy}{dx}`.
pub(crate) const DIFFERENTIAL: char = 'd';

/// Upright commands whose argument `d` is a differential: `\mathrm{d}x`.
pub(crate) const UPRIGHT_D_CMDS: &[&str] = &[
    "mathrm",
    "text",
    "operatorname",
    "textrm",
    "mathit",
    "mathup",
];

// ---------------------------------------------------------------------------
// Fonts and text

/// Marks that make a letter bold to the checker without being fonts: an arrow over it,
/// and bold text.
const BOLD_MARKS: &[&str] = &["vec", "overrightarrow", "textbf"];

/// Bold: the symbol is a vector (lowercase) or matrix (uppercase). The bold fonts are
/// those of the shared vocabulary ([`vocab::FONTS`]: `\mathbf`, `\boldsymbol`, `\bm`,
/// `\bold`, …), so whatever the renderer shows bold the checker reads bold.
pub(crate) fn is_bold(cmd: &str) -> bool {
    BOLD_MARKS.contains(&cmd)
        || vocab::font_command(cmd).is_some_and(|f| f.font == vocab::Font::Bold)
}

/// Upright and text commands: one letter is a symbol, a word a function name. The plain
/// fonts and text commands of the shared vocabulary ([`vocab::FONTS`],
/// [`vocab::TEXT_COMMANDS`]), and `\operatorname`; `\textbf` is bold ([`is_bold`]).
pub(crate) fn is_text(cmd: &str) -> bool {
    cmd != "textbf"
        && (matches!(cmd, "operatorname" | "operatorname*")
            || vocab::text_command(cmd).is_some()
            || vocab::font_command(cmd).is_some_and(|f| f.font == vocab::Font::Plain))
}

/// Text commands whose words are prose between statements (`\text{for all}`).
pub(crate) const PROSE_CMDS: &[&str] = &[
    "text", "textrm", "mbox", "textit", "textbf", "hbox", "textup", "emph",
];

/// Commands that end a statement: implications and wide spaces.
pub(crate) const STATEMENT_BREAK_CMDS: &[&str] = &[
    "implies",
    "Rightarrow",
    "Longrightarrow",
    "iff",
    "Leftrightarrow",
    "Longleftrightarrow",
    "impliedby",
    "therefore",
    "because",
    "quad",
    "qquad",
];

/// Commands that introduce a consequence of what precedes them.
pub(crate) const IMPLICATION_CMDS: &[&str] =
    &["implies", "Rightarrow", "Longrightarrow", "therefore"];

/// Text commands in text mode proper: commands inside are not parsed as math.
pub(crate) const TEXT_MODE_CMDS: &[&str] = &["text", "mbox", "hbox"];

/// Accents: a decorated letter is a symbol of its own (`\hat{y}`).
pub(crate) const DECOR_CMDS: &[&str] = &[
    "hat",
    "bar",
    "tilde",
    "widehat",
    "widetilde",
    "overline",
    "check",
    "breve",
    "underline",
];

/// Commands the checker recognises and refuses (unsupported).
pub(crate) const UNSUPPORTED_CMDS: &[&str] = &[
    "int",
    "iint",
    "oint",
    "liminf",
    "limsup",
    "sup",
    "inf",
    "arg",
    "argmax",
    "argmin",
    "infty",
    "pm",
    "mp",
    "binom",
    "choose",
    "mod",
    "bmod",
    "pmod",
    "ker",
    "dim",
    "deg",
    "gcd",
    "Pr",
    "lg",
    "hom",
    "sqcup",
    "cup",
    "cap",
    "wedge",
    "vee",
    "land",
    "lor",
    "setminus",
    "star",
    "ast",
    "dagger",
    "lfloor",
    "rfloor",
    "lceil",
    "rceil",
    "circledast",
    "boxtimes",
];

/// How notes state their layout in prose, lower-cased (the first statement in a note
/// wins: a note that explains both names its own first). Front matter `layout:` and
/// the vault's settings are read elsewhere; these are sentences.
pub(crate) const LAYOUT_PHRASES: &[(&str, super::Layout)] = {
    use super::Layout::{Denominator as D, Numerator as N};
    &[
        ("numerator layout", N),
        ("numerator-layout", N),
        ("numerator convention", N),
        ("numerator notation", N),
        ("jacobian formulation", N),
        ("denominator layout", D),
        ("denominator-layout", D),
        ("denumerator layout", D),
        ("denominator convention", D),
        ("denominator notation", D),
        ("hessian formulation", D),
        ("layout del numerador", N),
        ("layout del denominador", D),
        ("disposición del numerador", N),
        ("disposición del denominador", D),
        ("disposition du numérateur", N),
        ("disposition du dénominateur", D),
        ("zählerlayout", N),
        ("nennerlayout", D),
        ("分子布局", N),
        ("分母布局", D),
        ("分子レイアウト", N),
        ("分母レイアウト", D),
    ]
};

/// The derivative of a scalar by a (column) vector said to be a row (numerator
/// layout) or a column (denominator layout): `(row|column)` is captured.
pub(crate) const LAYOUT_SENTENCE: &str = r"derivative of a scalar (?:by|with respect to|w\.r\.t\.?) a (?:column )?vector is a (row|column)";

/// Words that say a matrix is symmetric, lower-cased, in the languages notes are
/// written in ("$A$ is symmetric", "$A$ es simétrica", "对称矩阵 $A$").
pub(crate) const SYMMETRIC_WORDS: &[&str] = &[
    "symmetric",
    "self-adjoint",
    "hermitian",
    "simétrica",
    "simétrico",
    "simetrica",
    "symétrique",
    "symmetrisch",
    "simmetrica",
    "对称",
    "對稱",
    "対称",
];

/// Words that say a matrix is positive (semi)definite: symmetric, and sampled so.
pub(crate) const DEFINITE_WORDS: &[&str] = &[
    "positive definite",
    "positive-definite",
    "positive semidefinite",
    "positive semi-definite",
    "positive-semidefinite",
    "spd",
    "definida positiva",
    "definido positivo",
    "positiva definida",
    "positiva, definida",
    "définie positive",
    "positiv definit",
    "definita positiva",
    "正定",
];

/// Words that turn such a sentence into its opposite ("not symmetric",
/// "non-symmetric"): then nothing is assumed.
pub(crate) const NOT_WORDS: &[&str] = &[
    "not ",
    "n't",
    "non-",
    "non ",
    "nonsymmetric",
    "asymmetric",
    "unsymmetric",
    "skew",
    "anti",
    "unless",
    "no es",
    "no son",
    "n'est pas",
    "nicht",
    "不",
    "非",
];

/// Words that make such a sentence a caveat about the identity before it ("true
/// only for symmetric $C$"): the identity needs the property, nothing more is assumed.
pub(crate) const ONLY_WORDS: &[&str] = &[
    "only",
    "solo ",
    "sólo",
    "nur ",
    "seulement",
    "uniquement",
    "仅",
    "只",
];

/// Marks of vectors and matrices in TeX: with none of them, an identity is about
/// numbers.
pub(crate) const ARRAY_MARKS: &[&str] = &[
    "\\mathbf",
    "\\boldsymbol",
    "\\bm",
    "\\vec",
    "\\bold",
    "^T",
    "^{T}",
    "\\top",
    "^{-1}",
    "^{-T}",
    "\\det",
    "tr",
    "Tr",
    "\\|",
    "\\Vert",
    "diag",
    "\\langle",
    "\\otimes",
    "\\odot",
    "bmatrix",
    "pmatrix",
    "\\sum",
    "\\nabla",
    "_i",
    "_j",
    "_k",
];
