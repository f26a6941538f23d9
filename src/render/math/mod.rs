//! TeX → MathML at build time.
//!
//! Formulas are rendered with [`pulldown_latex`] into MathML Core, which every current browser
//! displays natively: pages need no JavaScript and no network. The stylesheet and the Latin
//! Modern fonts it refers to are shipped with the site (see [`assets`]).
//!
//! pulldown-latex 0.8 does not accept everything MathJax (and so Obsidian) accepts, so each
//! formula first goes through a small token-wise normalisation. Every rewrite below was found
//! necessary by experiment (on real notes, then on common MathJax idioms); constructs
//! pulldown-latex already handles (`\vec`, `\lVert`, `\operatorname`, `bmatrix`, `cases`,
//! `aligned`, `\dfrac`, …) are left untouched.
//!
//! * size switches (`\Huge`, `\large`, `\small`, …) are unknown to pulldown-latex: dropped (LaTeX
//!   itself ignores them in math mode);
//! * `\ `, `~`, `\space` render as a literal `&nbsp;` text: replaced by a real space;
//! * numbered environments are made unnumbered, as in Obsidian (pulldown-latex numbers them
//!   with a page-wide CSS counter): the `equation` wrapper is stripped (it also turned inline
//!   math into a numbered table), `align`/`gather`/`alignat` become starred, `flalign(*)`
//!   (unknown) becomes `align*`, `multline*` (unknown) becomes `multline`, `eqnarray` an array;
//! * `\label{…}`, `\nonumber`, `\notag`, `\require{…}` are dropped; `\tag{x}` (unknown) becomes
//!   `(x)` set `\qquad` after the formula;
//! * `\\` and `\newline` (unknown) outside any environment: a trailing one is dropped, others
//!   make the formula a `gathered` (or `aligned`, when it has `&`) block;
//! * `\bm`, `\pmb` (unknown) become `\boldsymbol`; `\bold` → `\mathbf`; `\Bbb` → `\mathbb`;
//!   `\mathscr` → `\mathcal`; `\mbox`, `\hbox`, `\textnormal`, `\textup` → `\text`; `\emph` →
//!   `\textit`;
//! * text arguments are shown verbatim by pulldown-latex, so their content is converted:
//!   `\ `/`~`/`\%`/`\&`/`\{`… become the characters, `$…$` inside text becomes math, nested
//!   `\textbf{…}` works, and grouping braces disappear;
//! * `\operatorname{arg\,max}` printed its backslashes: spacing commands inside become Unicode
//!   spaces; `\operatorname*` (read as `\operatorname{*}`) becomes `\operatorname{…}\limits` in
//!   display mode;
//! * `\dots` always printed `⋯`: it becomes `\ldots` unless followed by an operator (amsmath);
//! * `\newcommand{\x}{…}` without an argument count was rejected: `[0]` is added;
//!   `\DeclareMathOperator` becomes such a `\newcommand`;
//! * `{a \over b}`, `\choose`, `\atop` (unknown) become `\frac`, `\binom`, `\genfrac`;
//! * `\boxed` becomes a one-cell framed array; `\xRightarrow`-style arrows, `\cancelto`,
//!   `\bcancel`, `\xcancel`, `\mod`, `\pod`, `\unicode` get close equivalents; `\phantom`s are
//!   dropped; `\smash`, `\bbox`, `\ensuremath`, `\llap`/`\rlap`… keep just their argument.
//!
//! * arrays whose rows hold more cells than the column spec has columns get centred
//!   columns added, and a spec written `{c c}`, `{C}` or after a position `[t]` is read as
//!   MathJax reads it; amscd's `CD` diagrams become arrays of objects and arrows
//!   (`environments`);
//! * `\left<` / `\right>` (and the `\big` sizes) are angle brackets.
//!
//! The vault's own macros are expanded before any of this ([`crate::tex::macros`]); the
//! commands both the renderer and the checker know (fonts, text commands, sizes) are in
//! [`crate::tex::vocab`].
//!
//! The TeX is scanned into tokens and a tree of brace groups and environments, so `\Hugeish`
//! or text inside `\text{}` is never touched by accident. pulldown-latex reports errors in-band
//! (as `<merror>`); [`render`] turns them into a [`MathError`] instead.

use std::error::Error as _;
use std::fmt;
use std::ops::Range;

use pulldown_latex::config::DisplayMode;

use crate::tex::lex::{Tok, Token, lex, push_tex};

mod environments;
mod normalize;
#[cfg(test)]
mod tests;
mod text;
mod tree;

use crate::tex::vocab::{self, text_command};
use environments::*;
use normalize::*;
use pulldown_latex::{Parser, RenderConfig, Storage, mathml::push_mathml};
use text::*;
use tree::*;

/// Whether the span was written `$...$` (inline) or `$$...$$` (display).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MathMode {
    Inline,
    Display,
}

/// A formula that could not be rendered: the reason, for a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MathError {
    pub message: String,
}

impl MathError {
    fn new(message: impl Into<String>) -> Self {
        MathError {
            message: message.into(),
        }
    }
}

impl fmt::Display for MathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MathError {}

/// Renders TeX to a MathML `<math>` element (display="block" for Display). Pure; thread-safe.
///
/// The output carries the original TeX as an `application/x-tex` annotation, so copying the
/// formula from a page gives its source.
pub fn render(tex: &str, mode: MathMode) -> Result<String, MathError> {
    render_expanded(tex, tex, mode)
}

/// Renders `tex`, the expansion of `source` (the formula as the note writes it, with the
/// vault's macros): the annotation carries the source.
pub fn render_expanded(tex: &str, source: &str, mode: MathMode) -> Result<String, MathError> {
    let normalized = normalize(tex, mode)?;
    let annotation = escape_html(source.trim());
    render_normalized(&normalized, &annotation, mode)
}

/// Renders, or on error returns the fallback HTML: the LaTeX source HTML-escaped inside
/// `<code class="math-error" title="...reason...">` with a visible marker (e.g. a leading "⚠"),
/// display mode wrapped in a block-level element, plus the error for a warning.
pub fn render_or_fallback(tex: &str, mode: MathMode) -> (String, Option<MathError>) {
    render_or_fallback_expanded(tex, tex, mode)
}

/// [`render_or_fallback`] of `tex`, the expansion of `source`: the fallback shows the
/// source, as the note writes it.
///
/// Rendering is pure, and notes repeat their formulas (`$x$`, `$\mathbf{x}$`, a
/// definition restated): the results of short formulas are kept for the process's
/// life (and so for `serve`'s later rebuilds), within [`MEMO_BYTES`].
pub fn render_or_fallback_expanded(
    tex: &str,
    source: &str,
    mode: MathMode,
) -> (String, Option<MathError>) {
    if tex.len() + source.len() > MEMO_FORMULA {
        return render_or_fallback_uncached(tex, source, mode);
    }
    MEMO_KEY.with_borrow_mut(|key| {
        key.clear();
        key.push(if mode == MathMode::Display { 'D' } else { 'I' });
        key.push_str(tex);
        // a byte no TeX of a note holds between the two
        key.push('\0');
        key.push_str(source);
        let memo = memo();
        if let Some(found) = memo
            .lock()
            .ok()
            .and_then(|m| m.map.get(key.as_str()).cloned())
        {
            return (found.0.clone(), found.1.clone());
        }
        let made = render_or_fallback_uncached(tex, source, mode);
        if let Ok(mut m) = memo.lock() {
            let size = key.len() + made.0.len() + made.1.as_ref().map_or(0, |e| e.message.len());
            if m.bytes + size > MEMO_BYTES {
                m.map.clear();
                m.bytes = 0;
            }
            m.bytes += size;
            m.map
                .insert(key.as_str().into(), std::sync::Arc::new(made.clone()));
        }
        made
    })
}

/// Formulas longer than this (TeX and source together, in bytes) are not kept.
const MEMO_FORMULA: usize = 512;
/// The most the kept formulas and their MathML may take, in bytes (about); beyond it
/// they are forgotten all at once.
const MEMO_BYTES: usize = 4 << 20;

/// Rendered formulas, by mode, TeX and source.
#[derive(Default)]
struct Memo {
    map: std::collections::HashMap<Box<str>, std::sync::Arc<(String, Option<MathError>)>>,
    bytes: usize,
}

fn memo() -> &'static std::sync::Mutex<Memo> {
    static MEMO: std::sync::OnceLock<std::sync::Mutex<Memo>> = std::sync::OnceLock::new();
    MEMO.get_or_init(Default::default)
}

thread_local! {
    /// The key being looked up, its buffer kept between formulas.
    static MEMO_KEY: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Forgets the formulas [`render_or_fallback_expanded`] keeps (for benchmarks that time
/// cold builds in one process).
pub fn forget() {
    if let Ok(mut m) = memo().lock() {
        m.map.clear();
        m.bytes = 0;
    }
}

/// [`render_or_fallback_expanded`] without the formulas it keeps: always renders.
pub fn render_or_fallback_uncached(
    tex: &str,
    source: &str,
    mode: MathMode,
) -> (String, Option<MathError>) {
    match render_expanded(tex, source, mode) {
        Ok(html) => (html, None),
        Err(error) => (fallback_html(source, mode, &error), Some(error)),
    }
}

/// Static files the site must serve for math, as (path relative to the site's `static/` folder, bytes):
/// e.g. ("math/styles.css", ...), ("math/font/latinmodern-math.woff2", ...).
pub fn assets() -> Vec<(&'static str, &'static [u8])> {
    vec![
        (
            "math/styles.css",
            include_bytes!("../../../templates/static/math/styles.css"),
        ),
        (
            "math/font/README-fonts.txt",
            include_bytes!("../../../templates/static/math/font/README-fonts.txt"),
        ),
        (
            "math/font/latinmodern-math.woff2",
            include_bytes!("../../../templates/static/math/font/latinmodern-math.woff2"),
        ),
        (
            "math/font/lmroman12-regular.woff2",
            include_bytes!("../../../templates/static/math/font/lmroman12-regular.woff2"),
        ),
        (
            "math/font/lmroman12-bold.woff2",
            include_bytes!("../../../templates/static/math/font/lmroman12-bold.woff2"),
        ),
        (
            "math/font/lmroman12-italic.woff2",
            include_bytes!("../../../templates/static/math/font/lmroman12-italic.woff2"),
        ),
        (
            "math/LICENSE-pulldown-latex",
            include_bytes!("../../../templates/static/math/LICENSE-pulldown-latex"),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Rendering proper
// ---------------------------------------------------------------------------------------------

/// Formulas nested deeper than this (braces and environments) are refused.
const MAX_DEPTH: usize = 128;
/// pulldown-latex recurses once per command taking a bare command as its argument
/// (`\sqrt\sqrt\sqrt…`), which can overflow a thread's stack (about 14 KiB a level in debug
/// builds). Formulas with at most this many commands are rendered on the calling thread; larger
/// ones on a thread with a stack sized for the worst case.
const COMMANDS_ON_CALLER_STACK: usize = 48;
/// Stack reserved per command for large formulas.
const STACK_PER_COMMAND: usize = 32 * 1024;
/// Formulas with more commands than this are refused.
const MAX_COMMANDS: usize = 4096;

fn render_normalized(tex: &str, annotation: &str, mode: MathMode) -> Result<String, MathError> {
    let commands = count_control_words(tex);
    if commands > MAX_COMMANDS {
        return Err(MathError::new(format!(
            "formula too large ({commands} commands, at most {MAX_COMMANDS} are rendered)"
        )));
    }
    let result = if commands <= COMMANDS_ON_CALLER_STACK {
        std::panic::catch_unwind(|| run_pulldown(tex, annotation, mode)).ok()
    } else {
        let stack_size = (commands * STACK_PER_COMMAND).max(8 << 20);
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("notebuild-math".into())
                .stack_size(stack_size)
                .spawn_scoped(scope, || run_pulldown(tex, annotation, mode))
                .ok()
                .and_then(|handle| handle.join().ok())
        })
    };
    result.unwrap_or_else(|| Err(MathError::new("the math renderer failed on this formula")))
}

fn run_pulldown(tex: &str, annotation: &str, mode: MathMode) -> Result<String, MathError> {
    let storage = Storage::new();
    let mut events = Vec::new();
    let mut errors = Vec::new();
    for event in Parser::new(tex, &storage) {
        match event {
            Ok(event) => events.push(event),
            Err(error) => errors.push(error),
        }
    }
    if let Some(first) = errors.first() {
        return Err(MathError::new(describe_parser_error(
            first,
            errors.len(),
            tex,
        )));
    }

    let config = RenderConfig {
        display_mode: match mode {
            MathMode::Inline => DisplayMode::Inline,
            MathMode::Display => DisplayMode::Block,
        },
        // pulldown-latex writes the annotation verbatim: it must already be escaped.
        annotation: Some(annotation),
        ..RenderConfig::default()
    };
    let mut mathml = String::with_capacity(tex.len() * 8 + annotation.len() + 64);
    let events = events.into_iter().map(Ok::<_, std::convert::Infallible>);
    push_mathml(&mut mathml, events, config)
        .map_err(|error| MathError::new(format!("the math renderer failed: {error}")))?;
    if mathml.contains("<merror") {
        return Err(MathError::new("the math renderer reported an error"));
    }
    // pulldown-latex writes spaces at the edges of `\text{…}` as the HTML entity `&nbsp;`, which
    // is not XML: use the character itself.
    // `\middle` writes `stretchy="true"minsize=…`, with no space between the attributes.
    let mathml = mathml
        .replace("&nbsp;", "\u{a0}")
        .replace("\"minsize=", "\" minsize=");
    let mathml = mark_accents(&mathml);
    only_math_markup(&mathml).map_err(MathError::new)?;
    Ok(mathml)
}

/// The glyphs pulldown-latex writes over a base for `\vec`, `\hat`, `\bar`…
const ACCENTS: &[&str] = &[
    "→", "^", "‾", "~", "˙", "¨", "ˇ", "˘", "´", "`", "¯", "˜", "⃗",
];

/// Marks `<mover>` elements whose over-script is an accent glyph `accent="true"`:
/// without it browsers set the glyph as a limit, high above its base, and a
/// superscript after it (`\vec{1}^T`) stacks beside the arrow instead of the base.
fn mark_accents(mathml: &str) -> String {
    const OPEN: &str = "<mover>";
    const CLOSE: &str = "</mover>";
    if !mathml.contains(OPEN) {
        return mathml.to_string();
    }
    let mut opens: Vec<usize> = Vec::new();
    let mut marked: Vec<usize> = Vec::new();
    let mut k = 0;
    while k < mathml.len() {
        let rest = &mathml[k..];
        if rest.starts_with("<mover") && !rest.starts_with("<movers") {
            opens.push(k);
            k += "<mover".len();
        } else if rest.starts_with(CLOSE) {
            if let Some(open) = opens.pop() {
                let before = &mathml[..k];
                let accent = ACCENTS.iter().any(|a| {
                    before.ends_with(&format!("<mi>{a}</mi>"))
                        || before.ends_with(&format!("<mo>{a}</mo>"))
                });
                if accent && mathml[open..].starts_with(OPEN) {
                    marked.push(open + "<mover".len());
                }
            }
            k += CLOSE.len();
        } else {
            k += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    let mut out = String::with_capacity(mathml.len() + marked.len() * 16);
    let mut last = 0;
    marked.sort_unstable();
    for at in marked {
        out.push_str(&mathml[last..at]);
        out.push_str(" accent=\"true\"");
        last = at;
    }
    out.push_str(&mathml[last..]);
    out
}

/// The parser's message (without its multi-line context drawing) and where it happened.
fn describe_parser_error(error: &pulldown_latex::ParserError, count: usize, tex: &str) -> String {
    let kind = error
        .source()
        .map(|kind| kind.to_string())
        .unwrap_or_else(|| "parse error".to_owned());
    if kind == UNKNOWN_PRIMITIVE {
        let unknown = unknown_commands(tex);
        if !unknown.is_empty() {
            let list: Vec<String> = unknown.iter().map(|name| format!("`\\{name}`")).collect();
            let noun = if list.len() == 1 {
                "unknown command"
            } else {
                "unknown commands"
            };
            return format!("{noun} {}", list.join(", "));
        }
    }
    // The Display form is "parsing error: …\n╭─► context:\n│\n│ <snippet>\n│ ^^^^\n╰──".
    let full = error.to_string();
    let mut snippet = String::new();
    for line in full.lines().skip(1) {
        let Some(rest) = line.strip_prefix('│') else {
            continue;
        };
        let rest = rest.trim_start_matches(['…', ' ']);
        if rest.is_empty() || rest.chars().all(|c| c == '^') {
            continue;
        }
        if !snippet.is_empty() {
            snippet.push(' ');
        }
        snippet.push_str(rest);
    }
    let snippet = snippet.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut message = if snippet.is_empty() {
        kind
    } else {
        format!("{kind}, near `{snippet}`")
    };
    if count > 1 {
        message.push_str(&format!(" (and {} more errors)", count - 1));
    }
    message
}

const UNKNOWN_PRIMITIVE: &str = "unknown primitive command found";

/// The control words of `tex` pulldown-latex does not know (tried one by one), except those
/// the formula defines itself.
fn unknown_commands(tex: &str) -> Vec<&str> {
    let tokens = lex(tex);
    let mut defined = Vec::new();
    let mut words = Vec::new();
    let mut previous_word: Option<&str> = None;
    for token in &tokens {
        match token.tok {
            Tok::Word(name) => {
                if matches!(
                    previous_word,
                    Some("def" | "newcommand" | "renewcommand" | "providecommand" | "let")
                ) {
                    defined.push(name);
                }
                if !words.contains(&name) {
                    words.push(name);
                }
                previous_word = Some(name);
            }
            Tok::Space | Tok::Char('{') => {}
            _ => previous_word = None,
        }
    }
    words
        .into_iter()
        .filter(|name| !defined.contains(name))
        .filter(|name| {
            let alone = format!("\\{name}");
            let result = std::panic::catch_unwind(|| {
                let storage = Storage::new();
                Parser::new(&alone, &storage).any(|event| {
                    event.is_err_and(|error| {
                        error
                            .source()
                            .is_some_and(|kind| kind.to_string() == UNKNOWN_PRIMITIVE)
                    })
                })
            });
            result.unwrap_or(false)
        })
        .collect()
}

/// The elements pulldown-latex writes.
const MATH_ELEMENTS: &[&str] = &[
    "math",
    "semantics",
    "annotation",
    "mrow",
    "mi",
    "mn",
    "mo",
    "mtext",
    "mspace",
    "mtable",
    "mtr",
    "mtd",
    "mfrac",
    "mover",
    "munder",
    "munderover",
    "msub",
    "msup",
    "msubsup",
    "msqrt",
    "mroot",
    "merror",
];

/// The attributes pulldown-latex writes (their values are its own: numbers, colours).
const MATH_ATTRIBUTES: &[&str] = &[
    "accent",
    "class",
    "depth",
    "display",
    "displaystyle",
    "encoding",
    "height",
    "largeop",
    "linethickness",
    "mathvariant",
    "maxsize",
    "minsize",
    "movablelimits",
    "scriptlevel",
    "stretchy",
    "style",
    "symmetric",
    "width",
    "xmlns",
];

/// Checks that the renderer's output is MathML and nothing else: a TeX argument the
/// renderer copies into the page as it is (`\mathop{…}`) must not become HTML of the
/// page (`</mi><img onerror=…>`). The formula is then shown as its escaped source.
fn only_math_markup(mathml: &str) -> Result<(), String> {
    let refuse = |what: &str| {
        Err(format!(
            "the formula would write `{what}` into the page, which is not math"
        ))
    };
    let mut rest = mathml;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        // As in HTML, `<` starts a tag only before a letter, `/`, `!` or `?` (pulldown-latex
        // writes the operator `<` as it is: `<mo><</mo>`).
        if !after.starts_with(|c: char| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?')) {
            rest = after;
            continue;
        }
        let close = after.find('>').unwrap_or(after.len());
        let tag = &after[..close];
        rest = &after[close..];
        let mut parts = tag.trim_start_matches('/').split_whitespace();
        let name = parts.next().unwrap_or("");
        if !MATH_ELEMENTS.contains(&name) {
            return refuse(&format!("<{}>", name.chars().take(20).collect::<String>()));
        }
        // Attribute names: the text before each `=` outside quotes.
        let mut in_quotes = false;
        let mut start = name.len() + usize::from(tag.starts_with('/'));
        for (k, c) in tag.char_indices() {
            match c {
                '"' => in_quotes = !in_quotes,
                '=' if !in_quotes => {
                    let attribute = tag[start.min(k)..k].trim().trim_start_matches('"').trim();
                    if !MATH_ATTRIBUTES.contains(&attribute) {
                        return refuse(&format!("{attribute}="));
                    }
                }
                ' ' if !in_quotes => start = k,
                _ => {}
            }
        }
    }
    Ok(())
}

fn count_control_words(tex: &str) -> usize {
    let bytes = tex.as_bytes();
    let mut count = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            count += 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    count
}

fn fallback_html(tex: &str, mode: MathMode, error: &MathError) -> String {
    let title = escape_html(&error.message);
    let source = escape_html(tex.trim());
    match mode {
        MathMode::Inline => {
            format!("<code class=\"math-error\" title=\"{title}\">⚠ ${source}$</code>")
        }
        MathMode::Display => format!(
            "<span class=\"math-error-block\" style=\"display:block\">\
             <code class=\"math-error\" title=\"{title}\" style=\"white-space:pre-wrap\">\
             ⚠ $${source}$$</code></span>"
        ),
    }
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
