//! The TeX vocabulary the project knows, as tables: what each command is for.
//!
//! Both readers of TeX take their words from here, so that whatever the renderer shows,
//! the checker reads the same way: a font, a size switch or a text command known to one is
//! known to the other. Each table is a plain list; the functions below are look-ups.

/// What a font command does to the letters in its argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    /// `\mathbf`, `\boldsymbol`, `\bm`, `\bold`, …: bold (a vector or matrix, to the checker).
    Bold,
    /// `\mathrm`, `\mathit`, `\mathsf`, `\mathtt`, …: an upright or plain face.
    Plain,
    /// `\mathcal`, `\mathscr`: calligraphic.
    Calligraphic,
    /// `\mathbb`, `\Bbb`: blackboard bold (sets such as ℝ).
    Blackboard,
    /// `\mathfrak`: Fraktur.
    Fraktur,
}

/// A font command: its name, its face, and the command the renderer writes for it (the
/// same name when the renderer knows it).
pub struct FontCommand {
    pub name: &'static str,
    pub font: Font,
    pub render_as: &'static str,
}

const fn font(name: &'static str, font: Font, render_as: &'static str) -> FontCommand {
    FontCommand {
        name,
        font,
        render_as,
    }
}

/// Commands that set their argument in a font.
pub const FONTS: &[FontCommand] = &[
    font("mathbf", Font::Bold, "mathbf"),
    font("boldsymbol", Font::Bold, "boldsymbol"),
    font("bm", Font::Bold, "boldsymbol"),
    font("pmb", Font::Bold, "boldsymbol"),
    font("bold", Font::Bold, "mathbf"),
    font("mathbfit", Font::Bold, "mathbfit"),
    font("symbf", Font::Bold, "symbf"),
    font("vb", Font::Bold, "mathbf"),
    font("bf", Font::Bold, "bf"),
    font("mathrm", Font::Plain, "mathrm"),
    font("mathit", Font::Plain, "mathit"),
    font("mathsf", Font::Plain, "mathsf"),
    font("mathtt", Font::Plain, "mathtt"),
    font("mathnormal", Font::Plain, "mathnormal"),
    font("symrm", Font::Plain, "symrm"),
    font("mathup", Font::Plain, "mathup"),
    font("rm", Font::Plain, "rm"),
    font("mathcal", Font::Calligraphic, "mathcal"),
    font("mathscr", Font::Calligraphic, "mathcal"),
    font("mathbb", Font::Blackboard, "mathbb"),
    font("Bbb", Font::Blackboard, "mathbb"),
    font("mathfrak", Font::Fraktur, "mathfrak"),
];

/// The font command named `name`.
pub fn font_command(name: &str) -> Option<&'static FontCommand> {
    FONTS.iter().find(|f| f.name == name)
}

/// Commands whose argument is text (not math), and the renderer's command for each.
pub const TEXT_COMMANDS: &[(&str, &str)] = &[
    ("text", "text"),
    ("textnormal", "text"),
    ("textup", "text"),
    ("textmd", "text"),
    ("mbox", "text"),
    ("hbox", "text"),
    ("textrm", "textrm"),
    ("textbf", "textbf"),
    ("textit", "textit"),
    ("emph", "textit"),
    ("textsl", "textit"),
    ("textsf", "textsf"),
    ("texttt", "texttt"),
];

/// The renderer's command for the text command `name`.
pub fn text_command(name: &str) -> Option<&'static str> {
    TEXT_COMMANDS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, render)| *render)
}

/// Font size switches (`\tiny` … `\Huge`): no meaning in math (LaTeX ignores them there).
pub const SIZE_COMMANDS: &[&str] = &[
    "tiny",
    "scriptsize",
    "footnotesize",
    "small",
    "normalsize",
    "large",
    "Large",
    "LARGE",
    "huge",
    "Huge",
];

/// Style switches: change how large math is set, not what it means.
pub const STYLE_COMMANDS: &[&str] = &[
    "displaystyle",
    "textstyle",
    "scriptstyle",
    "scriptscriptstyle",
];

/// Spacing written as control words (the control symbols `\,` `\;` `\:` `\!` `\>` `\ ` are
/// in [`SPACING_SYMBOLS`]).
pub const SPACING_WORDS: &[&str] = &[
    "quad",
    "qquad",
    "thinspace",
    "medspace",
    "thickspace",
    "enspace",
    "negthinspace",
    "negmedspace",
    "negthickspace",
    "space",
    "nobreakspace",
];

/// Spacing written as control symbols.
pub const SPACING_SYMBOLS: &[char] = &[',', ';', ':', '!', '>', ' '];

/// Delimiter sizes (`\big(`, `\Bigl[`): the delimiter keeps its meaning.
pub const DELIMITER_SIZES: &[&str] = &[
    "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", "Biggl",
    "Biggr", "bigm", "Bigm", "biggm", "Biggm",
];

/// Commands with no meaning for the math at all: struts, equation numbering, limit
/// placement, atom classes.
pub const NEUTRAL_COMMANDS: &[&str] = &[
    "nonumber",
    "notag",
    "mathstrut",
    "strut",
    "limits",
    "nolimits",
    "mathop",
    "mathord",
    "mathbin",
    "mathrel",
    "mathopen",
    "mathclose",
    "mathpunct",
    "mathinner",
];

/// Commands whose braced argument carries no meaning for the math (a label, a colour,
/// a space, an invisible box): the checker drops them with their argument.
pub const DROPPED_WITH_ARGUMENT: &[&str] = &[
    "label", "tag", "hspace", "vspace", "phantom", "hphantom", "vphantom", "color",
];

/// Commands that frame their braced argument without changing what it says
/// (`\boxed{a = b}` states `a = b`): the checker reads the argument in their place.
pub const FRAMES: &[&str] = &["boxed", "fbox", "framebox"];

/// Whether the control word `name` only changes size, style or spacing (or nothing at all).
pub fn is_layout_word(name: &str) -> bool {
    SIZE_COMMANDS.contains(&name)
        || STYLE_COMMANDS.contains(&name)
        || SPACING_WORDS.contains(&name)
        || DELIMITER_SIZES.contains(&name)
        || NEUTRAL_COMMANDS.contains(&name)
}

/// Commands that define macros, read by [`super::macros`].
pub const DEFINING_COMMANDS: &[&str] = &[
    "newcommand",
    "renewcommand",
    "providecommand",
    "DeclareMathOperator",
    "def",
    "gdef",
    "let",
    "require",
    "usepackage",
];

/// Lowercase Greek letters (and `\ell`), as control words.
pub const GREEK_LOWER: &[&str] = &[
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "varepsilon",
    "zeta",
    "eta",
    "theta",
    "vartheta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "rho",
    "varrho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "varphi",
    "chi",
    "psi",
    "omega",
    "ell",
];

/// Uppercase Greek letters that differ from Latin ones, as control words.
pub const GREEK_UPPER: &[&str] = &[
    "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega",
];

/// Unicode characters notes write for a command (`∂` for `\partial`), and the command.
pub const UNICODE_COMMANDS: &[(char, &str)] = &[
    ('∂', "partial"),
    ('∇', "nabla"),
    ('≤', "le"),
    ('≥', "ge"),
    ('≠', "ne"),
    ('⊙', "odot"),
    ('∘', "circ"),
    ('⊗', "otimes"),
    ('⊘', "oslash"),
    ('·', "cdot"),
    ('⋅', "cdot"),
    ('×', "times"),
    ('⊤', "top"),
    ('∑', "sum"),
    ('…', "dots"),
    ('⋯', "cdots"),
    ('∈', "in"),
    ('→', "to"),
    ('⇒', "implies"),
    ('α', "alpha"),
    ('β', "beta"),
    ('γ', "gamma"),
    ('δ', "delta"),
    ('ε', "epsilon"),
    ('η', "eta"),
    ('θ', "theta"),
    ('κ', "kappa"),
    ('λ', "lambda"),
    ('μ', "mu"),
    ('ν', "nu"),
    ('ξ', "xi"),
    ('π', "pi"),
    ('ρ', "rho"),
    ('σ', "sigma"),
    ('τ', "tau"),
    ('φ', "phi"),
    ('ψ', "psi"),
    ('ω', "omega"),
    ('Σ', "Sigma"),
    ('Λ', "Lambda"),
    ('Θ', "Theta"),
    ('Φ', "Phi"),
    ('Ω', "Omega"),
];

/// The command a Unicode character stands for.
pub fn unicode_command(c: char) -> Option<&'static str> {
    UNICODE_COMMANDS
        .iter()
        .find(|(ch, _)| *ch == c)
        .map(|(_, name)| *name)
}

/// Macros every vault has, as TeX definitions read like a vault's own preamble (a vault
/// may redefine them): commands MathJax's extensions give Obsidian that the renderer lacks.
pub const BUILTIN_MACROS: &str = r"
\newcommand{\ket}[1]{{|{#1}\rangle}}
\newcommand{\bra}[1]{{\langle{#1}|}}
\newcommand{\braket}[1]{{\langle{#1}\rangle}}
\newcommand{\Braket}[1]{\left\langle#1\right\rangle}
\newcommand{\Ket}[1]{\left|#1\right\rangle}
\newcommand{\Bra}[1]{\left\langle#1\right|}
\newcommand{\ketbra}[2]{{|{#1}\rangle\langle{#2}|}}
\newcommand{\dd}{\mathrm{d}}
\newcommand{\Set}[1]{\left\{#1\right\}}
\newcommand{\set}[1]{\{#1\}}
\newcommand{\Reals}{\mathbb{R}}
\newcommand{\reals}{\mathbb{R}}
\newcommand{\Complex}{\mathbb{C}}
\newcommand{\natnums}{\mathbb{N}}
\newcommand{\argmax}{\operatorname*{arg\,max}}
\newcommand{\argmin}{\operatorname*{arg\,min}}
\newcommand{\Tr}{\operatorname{Tr}}
\newcommand{\tr}{\operatorname{tr}}
\newcommand{\diag}{\operatorname{diag}}
\newcommand{\rank}{\operatorname{rank}}
\newcommand{\sgn}{\operatorname{sgn}}
\newcommand{\sign}{\operatorname{sign}}
\newcommand{\softmax}{\operatorname{softmax}}
\newcommand{\relu}{\operatorname{relu}}
\newcommand{\Var}{\operatorname{Var}}
\newcommand{\Cov}{\operatorname{Cov}}
\newcommand{\E}{\mathbb{E}}
\newcommand{\R}{\mathbb{R}}
\newcommand{\N}{\mathbb{N}}
\newcommand{\Z}{\mathbb{Z}}
\newcommand{\Q}{\mathbb{Q}}
\newcommand{\C}{\mathbb{C}}
";
