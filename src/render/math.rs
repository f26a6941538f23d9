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
//! The TeX is scanned into tokens and a tree of brace groups and environments, so `\Hugeish`
//! or text inside `\text{}` is never touched by accident. pulldown-latex reports errors in-band
//! (as `<merror>`); [`render`] turns them into a [`MathError`] instead.

use std::error::Error as _;
use std::fmt;
use std::ops::Range;

use pulldown_latex::config::DisplayMode;

use crate::tex::lex::{Tok, Token, lex, push_tex};
use crate::tex::vocab::{self, text_command};
use pulldown_latex::{Parser, RenderConfig, Storage, mathml::push_mathml};

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
pub fn render_or_fallback_expanded(
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
            include_bytes!("../../templates/static/math/styles.css"),
        ),
        (
            "math/font/README-fonts.txt",
            include_bytes!("../../templates/static/math/font/README-fonts.txt"),
        ),
        (
            "math/font/latinmodern-math.woff2",
            include_bytes!("../../templates/static/math/font/latinmodern-math.woff2"),
        ),
        (
            "math/font/lmroman12-regular.woff2",
            include_bytes!("../../templates/static/math/font/lmroman12-regular.woff2"),
        ),
        (
            "math/font/lmroman12-bold.woff2",
            include_bytes!("../../templates/static/math/font/lmroman12-bold.woff2"),
        ),
        (
            "math/font/lmroman12-italic.woff2",
            include_bytes!("../../templates/static/math/font/lmroman12-italic.woff2"),
        ),
        (
            "math/LICENSE-pulldown-latex",
            include_bytes!("../../templates/static/math/LICENSE-pulldown-latex"),
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
    Ok(mathml
        .replace("&nbsp;", "\u{a0}")
        .replace("\"minsize=", "\" minsize="))
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

// ---------------------------------------------------------------------------------------------
// Tree of groups and environments
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
enum Node<'a> {
    Tok(Tok<'a>, Range<usize>),
    /// `{…}`; `inner` excludes the braces. An unclosed group runs to where it was abandoned.
    Group {
        children: Vec<Node<'a>>,
        full: Range<usize>,
        inner: Range<usize>,
        closed: bool,
    },
    /// `\begin{name}…\end{name}`; `end` is `None` when unclosed.
    Env {
        name: &'a str,
        begin: Range<usize>,
        children: Vec<Node<'a>>,
        end: Option<Range<usize>>,
        full: Range<usize>,
    },
    /// Source passed through untouched (e.g. an `\end{…}` matching nothing).
    Raw(Range<usize>),
}

impl Node<'_> {
    fn span(&self) -> Range<usize> {
        match self {
            Node::Tok(_, span) | Node::Raw(span) => span.clone(),
            Node::Group { full, .. } | Node::Env { full, .. } => full.clone(),
        }
    }
}

enum Frame<'a> {
    Root,
    Group { open: usize },
    Env { name: &'a str, begin: Range<usize> },
}

struct Open<'a> {
    frame: Frame<'a>,
    children: Vec<Node<'a>>,
}

/// `\begin{name}` / `\end{name}` starting at token `i`: the name and the index of the `}`.
fn env_name<'a>(src: &'a str, tokens: &[Token<'a>], i: usize) -> Option<(&'a str, usize)> {
    let mut j = i + 1;
    while matches!(tokens.get(j)?.tok, Tok::Space) {
        j += 1;
    }
    if tokens.get(j)?.tok != Tok::Char('{') {
        return None;
    }
    let mut k = j + 1;
    loop {
        match tokens.get(k)?.tok {
            Tok::Char('}') => break,
            Tok::Char(c) if c.is_ascii_alphabetic() || c == '*' => k += 1,
            _ => return None,
        }
    }
    let name = &src[tokens[j].span.end..tokens[k].span.start];
    (!name.is_empty()).then_some((name, k))
}

fn too_deep() -> MathError {
    MathError::new(format!(
        "formula nested too deeply (more than {MAX_DEPTH} levels of braces and environments)"
    ))
}

/// Closes the innermost open frame, which was not closed in the source, at `at`.
fn close_unclosed(stack: &mut Vec<Open<'_>>, at: usize) {
    if stack.len() < 2 {
        return;
    }
    let Some(open) = stack.pop() else { return };
    let node = match open.frame {
        Frame::Group { open: start } => Node::Group {
            children: open.children,
            full: start..at,
            inner: (start + 1).min(at)..at,
            closed: false,
        },
        Frame::Env { name, begin } => {
            let full = begin.start..at.max(begin.end);
            Node::Env {
                name,
                begin,
                children: open.children,
                end: None,
                full,
            }
        }
        Frame::Root => return,
    };
    if let Some(parent) = stack.last_mut() {
        parent.children.push(node);
    }
}

fn build_tree<'a>(src: &'a str, tokens: &[Token<'a>]) -> Result<Vec<Node<'a>>, MathError> {
    let mut stack = vec![Open {
        frame: Frame::Root,
        children: Vec::new(),
    }];
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        let mut next = i + 1;
        let mut leaf = Some(Node::Tok(token.tok, token.span.clone()));
        match token.tok {
            Tok::Char('{') => {
                if stack.len() > MAX_DEPTH {
                    return Err(too_deep());
                }
                stack.push(Open {
                    frame: Frame::Group {
                        open: token.span.start,
                    },
                    children: Vec::new(),
                });
                leaf = None;
            }
            Tok::Char('}') => {
                if let Some(pos) = stack
                    .iter()
                    .rposition(|open| matches!(open.frame, Frame::Group { .. }))
                {
                    while stack.len() > pos + 1 {
                        close_unclosed(&mut stack, token.span.start);
                    }
                    if let Some(Open {
                        frame: Frame::Group { open },
                        children,
                    }) = stack.pop()
                    {
                        let node = Node::Group {
                            children,
                            full: open..token.span.end,
                            inner: open + 1..token.span.start,
                            closed: true,
                        };
                        if let Some(parent) = stack.last_mut() {
                            parent.children.push(node);
                        }
                    }
                    leaf = None;
                }
            }
            Tok::Word("begin") => {
                if let Some((name, close)) = env_name(src, tokens, i) {
                    if stack.len() > MAX_DEPTH {
                        return Err(too_deep());
                    }
                    stack.push(Open {
                        frame: Frame::Env {
                            name,
                            begin: token.span.start..tokens[close].span.end,
                        },
                        children: Vec::new(),
                    });
                    next = close + 1;
                    leaf = None;
                }
            }
            Tok::Word("end") => {
                if let Some((name, close)) = env_name(src, tokens, i) {
                    let end = token.span.start..tokens[close].span.end;
                    next = close + 1;
                    let found = stack.iter().rposition(|open| match open.frame {
                        Frame::Env {
                            name: open_name, ..
                        } => open_name == name,
                        _ => false,
                    });
                    if let Some(pos) = found {
                        while stack.len() > pos + 1 {
                            close_unclosed(&mut stack, end.start);
                        }
                        if let Some(Open {
                            frame: Frame::Env { name, begin },
                            children,
                        }) = stack.pop()
                        {
                            let full = begin.start..end.end;
                            let node = Node::Env {
                                name,
                                begin,
                                children,
                                end: Some(end),
                                full,
                            };
                            if let Some(parent) = stack.last_mut() {
                                parent.children.push(node);
                            }
                        }
                        leaf = None;
                    } else {
                        leaf = Some(Node::Raw(end));
                    }
                }
            }
            _ => {}
        }
        if let Some(node) = leaf
            && let Some(top) = stack.last_mut()
        {
            top.children.push(node);
        }
        i = next;
    }
    while stack.len() > 1 {
        close_unclosed(&mut stack, src.len());
    }
    Ok(stack.pop().map(|root| root.children).unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// Normalisation
// ---------------------------------------------------------------------------------------------

/// What `\ `, `~` and `\space` become: pulldown-latex prints them as a literal "&nbsp;".
/// Braced so that it stays a single argument (`x^\ `).
const CONTROL_SPACE: &str = "{\\hspace{0.3333em}}";

/// Commands followed by a delimiter.
const DELIMITER_COMMANDS: &[&str] = &[
    "left", "right", "middle", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
    "biggl", "biggr", "Biggl", "Biggr", "bigm", "Bigm", "biggm", "Biggm",
];

/// Environments whose wrapper is removed (they only add an equation number).
const EQUATION_LIKE: &[&str] = &[
    "equation",
    "equation*",
    "subequations",
    "displaymath",
    "math",
];

/// Commands the renderer writes under another name: fonts (from [`vocab::FONTS`]) and
/// cancellations.
fn renamed(name: &str) -> Option<&'static str> {
    if let Some(font) = vocab::font_command(name) {
        return (font.render_as != font.name).then_some(font.render_as);
    }
    Some(match name {
        "bcancel" | "xcancel" => "cancel",
        _ => return None,
    })
}

/// Extensible arrows pulldown-latex lacks, and the long arrow standing for them.
fn extensible_arrow(name: &str) -> Option<&'static str> {
    Some(match name {
        "xRightarrow" => "Longrightarrow",
        "xLeftarrow" => "Longleftarrow",
        "xleftrightarrow" => "longleftrightarrow",
        "xLeftrightarrow" => "Longleftrightarrow",
        "xmapsto" => "longmapsto",
        "xhookrightarrow" => "hookrightarrow",
        "xhookleftarrow" => "hookleftarrow",
        "xtwoheadrightarrow" => "twoheadrightarrow",
        "xtwoheadleftarrow" => "twoheadleftarrow",
        _ => return None,
    })
}

/// After `\dots`, these make it `\cdots` (amsmath); anything else makes it `\ldots`.
const DOTS_CENTERED_BEFORE: &str = "\
    cdot times pm mp div ast star circ bullet oplus ominus otimes odot oslash cup cap wedge \
    vee land lor setminus le leq ge geq ne neq approx equiv sim simeq cong propto to \
    rightarrow leftarrow mapsto Rightarrow Leftarrow implies iff subset subseteq supset \
    supseteq in ni ll gg mid int iint oint";

/// Rewrites `tex` into TeX pulldown-latex renders faithfully (see the module documentation).
fn normalize(tex: &str, mode: MathMode) -> Result<String, MathError> {
    let tokens = lex(tex);
    let tree = build_tree(tex, &tokens)?;
    let mut emitter = Emitter {
        src: tex,
        mode,
        out: String::with_capacity(tex.len() + 16),
    };
    emitter.top(&tree)?;
    Ok(emitter.out)
}

fn is_newline(node: &Node<'_>) -> bool {
    matches!(node, Node::Tok(Tok::Symbol('\\') | Tok::Word("newline"), _))
}

fn is_blank(node: &Node<'_>) -> bool {
    matches!(node, Node::Tok(Tok::Space | Tok::Comment, _))
}

struct Emitter<'s> {
    src: &'s str,
    mode: MathMode,
    out: String,
}

enum Segment {
    Text(String),
    Math(String),
}

impl<'s> Emitter<'s> {
    fn push(&mut self, s: &str) {
        push_tex(&mut self.out, s);
    }

    fn raw(&mut self, span: Range<usize>) {
        let src = self.src;
        self.push(src.get(span).unwrap_or(""));
    }

    fn sub_normalize(&self, tex: &str) -> Result<String, MathError> {
        normalize(tex, self.mode)
    }

    /// The whole formula: equation wrappers removed, stray `\\` handled.
    fn top(&mut self, nodes: &[Node<'s>]) -> Result<(), MathError> {
        let mut flat: Vec<&Node<'s>> = Vec::with_capacity(nodes.len());
        flatten_equations(nodes, &mut flat);

        // A trailing `\\` (possibly followed by blanks, `\nonumber`, `\label{…}`) is dropped.
        loop {
            let mut k = flat.len();
            while k > 0 {
                let node = flat[k - 1];
                let ignorable =
                    is_blank(node) || matches!(node, Node::Tok(Tok::Word("nonumber" | "notag"), _));
                let label_arg = k >= 2
                    && matches!(node, Node::Group { .. })
                    && matches!(flat[k - 2], Node::Tok(Tok::Word("label"), _));
                if label_arg {
                    k -= 2;
                } else if ignorable {
                    k -= 1;
                } else {
                    break;
                }
            }
            if k > 0 && is_newline(flat[k - 1]) {
                flat.remove(k - 1);
            } else {
                break;
            }
        }

        let has_newline = flat.iter().any(|node| is_newline(node));
        let has_ampersand = flat
            .iter()
            .any(|node| matches!(node, Node::Tok(Tok::Char('&'), _)));
        if has_newline || has_ampersand {
            let env = if has_ampersand { "aligned" } else { "gathered" };
            self.push(&format!("\\begin{{{env}}}"));
            self.list(&flat)?;
            self.push(&format!("\\end{{{env}}}"));
            Ok(())
        } else {
            self.list(&flat)
        }
    }

    /// Index of the next node from `i` that is not blank.
    fn next_significant(nodes: &[&Node<'_>], mut i: usize) -> usize {
        while i < nodes.len() && is_blank(nodes[i]) {
            i += 1;
        }
        i
    }

    /// Takes the argument starting at `*i` (blanks skipped), advancing `*i` past it.
    /// An argument is a brace group or a single token.
    fn take_arg<'n>(nodes: &[&'n Node<'s>], i: &mut usize) -> Option<&'n Node<'s>> {
        let j = Self::next_significant(nodes, *i);
        let node = *nodes.get(j)?;
        if matches!(node, Node::Tok(Tok::Char('}' | '&') | Tok::Symbol('\\'), _)) {
            return None;
        }
        *i = j + 1;
        Some(node)
    }

    /// Takes a `*` at `*i` (blanks skipped), if there is one.
    fn take_star(nodes: &[&Node<'_>], i: &mut usize) -> bool {
        let j = Self::next_significant(nodes, *i);
        if matches!(nodes.get(j), Some(Node::Tok(Tok::Char('*'), _))) {
            *i = j + 1;
            true
        } else {
            false
        }
    }

    /// Takes an optional `[…]` argument at `*i`, returning its source.
    fn take_optional(&self, nodes: &[&Node<'_>], i: &mut usize) -> Option<&'s str> {
        let j = Self::next_significant(nodes, *i);
        if !matches!(nodes.get(j), Some(Node::Tok(Tok::Char('['), _))) {
            return None;
        }
        let close =
            (j + 1..nodes.len()).find(|&k| matches!(nodes[k], Node::Tok(Tok::Char(']'), _)))?;
        let start = nodes[j].span().end;
        let end = nodes[close].span().start;
        *i = close + 1;
        self.src.get(start..end)
    }

    /// The source of an argument without its braces.
    fn arg_content(&self, arg: &Node<'_>) -> &'s str {
        let span = match arg {
            Node::Group { inner, .. } => inner.clone(),
            other => other.span(),
        };
        self.src.get(span).unwrap_or("")
    }

    /// The source of an argument, braces included.
    fn arg_source(&self, arg: &Node<'_>) -> &'s str {
        self.src.get(arg.span()).unwrap_or("")
    }

    fn list(&mut self, nodes: &[&Node<'s>]) -> Result<(), MathError> {
        if self.infix_fraction(nodes)? {
            return Ok(());
        }
        let mut i = 0;
        while i < nodes.len() {
            let node = nodes[i];
            i += 1;
            match node {
                Node::Tok(tok, span) => self.token(*tok, span.clone(), nodes, &mut i)?,
                Node::Raw(span) => self.raw(span.clone()),
                Node::Group {
                    children, closed, ..
                } => {
                    self.push("{");
                    let children: Vec<&Node<'s>> = children.iter().collect();
                    self.list(&children)?;
                    if *closed {
                        self.push("}");
                    }
                }
                Node::Env {
                    name,
                    begin,
                    children,
                    end,
                    ..
                } => {
                    let children: Vec<&Node<'s>> = children.iter().collect();
                    if EQUATION_LIKE.contains(name) {
                        self.list(&children)?;
                        continue;
                    }
                    if *name == "CD" {
                        let inner = match (children.first(), children.last()) {
                            (Some(first), Some(last)) => {
                                self.src.get(first.span().start..last.span().end)
                            }
                            _ => None,
                        };
                        let tex = self.sub_normalize(&cd_to_array(inner.unwrap_or("")))?;
                        self.push(&tex);
                        continue;
                    }
                    if matches!(*name, "array" | "darray" | "subarray") {
                        self.array(name, &children)?;
                        continue;
                    }
                    let (open, close) = match *name {
                        "align" | "flalign" | "flalign*" => {
                            ("\\begin{align*}".to_owned(), "\\end{align*}".to_owned())
                        }
                        "gather" => ("\\begin{gather*}".to_owned(), "\\end{gather*}".to_owned()),
                        "alignat" => ("\\begin{alignat*}".to_owned(), "\\end{alignat*}".to_owned()),
                        "multline*" => {
                            ("\\begin{multline}".to_owned(), "\\end{multline}".to_owned())
                        }
                        "eqnarray" | "eqnarray*" => {
                            ("\\begin{array}{rcl}".to_owned(), "\\end{array}".to_owned())
                        }
                        _ => (
                            self.src.get(begin.clone()).unwrap_or("").to_owned(),
                            format!("\\end{{{name}}}"),
                        ),
                    };
                    self.push(&open);
                    self.list(&children)?;
                    if end.is_some() {
                        self.push(&close);
                    }
                }
            }
        }
        Ok(())
    }

    /// An array whose rows may hold more cells than its column spec has columns (MathJax
    /// accepts them; pulldown-latex refuses): the spec is widened with centred columns.
    fn array(&mut self, name: &str, children: &[&Node<'s>]) -> Result<(), MathError> {
        let mut first = Self::next_significant(children, 0);
        // A vertical position (`\begin{array}[t]{cc}`) changes nothing on a page.
        if matches!(children.get(first), Some(Node::Tok(Tok::Char('['), _)))
            && let Some(close) = (first..children.len())
                .find(|&k| matches!(children[k], Node::Tok(Tok::Char(']'), _)))
        {
            first = Self::next_significant(children, close + 1);
        }
        let (spec, rest) = match children.get(first) {
            Some(node @ Node::Group { .. }) => (self.arg_content(node), &children[first + 1..]),
            _ => ("", &children[first.min(children.len())..]),
        };
        // MathJax reads `{c c c}` and `{C}` as `{ccc}` and `{c}`.
        let spec: String = spec
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| match c {
                'C' | 'L' | 'R' => c.to_ascii_lowercase(),
                c => c,
            })
            .collect();
        let mut cells = 1;
        let mut widest = 1;
        for node in rest {
            if matches!(node, Node::Tok(Tok::Char('&'), _)) {
                cells += 1;
                widest = widest.max(cells);
            } else if is_newline(node) {
                cells = 1;
            }
        }
        let mut spec = spec;
        let columns = spec_columns(&spec);
        if widest > columns {
            spec.push_str(&"c".repeat(widest - columns));
        }
        self.push(&format!("\\begin{{{name}}}{{{spec}}}"));
        self.list(rest)?;
        self.push(&format!("\\end{{{name}}}"));
        Ok(())
    }

    /// `{a \over b}`, `\choose`, `\atop`: rewritten as `\frac`, `\binom`, `\genfrac` when the
    /// list holds one at its own level (and is not an alignment cell list).
    fn infix_fraction(&mut self, nodes: &[&Node<'s>]) -> Result<bool, MathError> {
        let Some(pos) = nodes
            .iter()
            .position(|node| matches!(node, Node::Tok(Tok::Word("over" | "choose" | "atop"), _)))
        else {
            return Ok(false);
        };
        if nodes
            .iter()
            .any(|node| is_newline(node) || matches!(node, Node::Tok(Tok::Char('&'), _)))
        {
            return Ok(false);
        }
        let command = match nodes[pos] {
            Node::Tok(Tok::Word("choose"), _) => "\\binom{",
            Node::Tok(Tok::Word("atop"), _) => "\\genfrac{}{}{0pt}{}{",
            _ => "\\frac{",
        };
        self.push(command);
        self.list(&nodes[..pos])?;
        self.push("}{");
        self.list(&nodes[pos + 1..])?;
        self.push("}");
        Ok(true)
    }

    fn token(
        &mut self,
        tok: Tok<'s>,
        span: Range<usize>,
        nodes: &[&Node<'s>],
        i: &mut usize,
    ) -> Result<(), MathError> {
        match tok {
            Tok::Word(name) => self.word(name, span, nodes, i)?,
            Tok::Symbol(c) if c.is_whitespace() => self.push(CONTROL_SPACE),
            Tok::Char('~') => self.push(CONTROL_SPACE),
            Tok::Comment => {}
            Tok::Symbol(_) | Tok::Char(_) | Tok::Space | Tok::LoneBackslash => self.raw(span),
        }
        Ok(())
    }

    fn word(
        &mut self,
        name: &'s str,
        span: Range<usize>,
        nodes: &[&Node<'s>],
        i: &mut usize,
    ) -> Result<(), MathError> {
        if vocab::SIZE_COMMANDS.contains(&name) {
            return Ok(());
        }
        if let Some(new_name) = renamed(name) {
            self.push(&format!("\\{new_name}"));
            return Ok(());
        }
        if let Some(command) = text_command(name) {
            match Self::take_arg(nodes, i) {
                Some(arg) if !matches!(arg, Node::Tok(Tok::Word(_), _)) => {
                    let content = self.arg_content(arg);
                    let tex = text_to_tex(command, content, self.mode)?;
                    self.push(&tex);
                }
                Some(arg) => {
                    let source = self.arg_source(arg);
                    self.push(&format!("\\{command}{source}"));
                }
                None => self.push(&format!("\\{command}")),
            }
            return Ok(());
        }
        if let Some(arrow) = extensible_arrow(name) {
            let below = self.take_optional(nodes, i);
            let above = Self::take_arg(nodes, i)
                .map(|arg| self.arg_content(arg))
                .unwrap_or("");
            let mut tex = format!("\\overset{{{above}}}{{\\{arrow}}}");
            if let Some(below) = below {
                tex = format!("\\underset{{{below}}}{{{tex}}}");
            }
            let tex = self.sub_normalize(&tex)?;
            self.push(&tex);
            return Ok(());
        }
        if DELIMITER_COMMANDS.contains(&name) {
            // `\left<` and `\right>` (MathJax reads them as angle brackets).
            self.push(&format!("\\{name}"));
            let j = Self::next_significant(nodes, *i);
            match nodes.get(j) {
                Some(Node::Tok(Tok::Char('<'), _)) => {
                    self.push("\\langle");
                    *i = j + 1;
                }
                Some(Node::Tok(Tok::Char('>'), _)) => {
                    self.push("\\rangle");
                    *i = j + 1;
                }
                _ => {}
            }
            return Ok(());
        }
        match name {
            "newline" => self.push("\\\\"),
            "space" | "nobreakspace" => self.push(CONTROL_SPACE),
            "label" | "require" => {
                Self::take_arg(nodes, i);
            }
            "vspace" => {
                Self::take_star(nodes, i);
                Self::take_arg(nodes, i);
            }
            "nonumber" | "notag" => {}
            "phantom" | "hphantom" | "vphantom" => {
                Self::take_arg(nodes, i);
            }
            "hspace" => {
                Self::take_star(nodes, i);
                self.push("\\hspace");
            }
            "tag" => {
                let star = Self::take_star(nodes, i);
                let content = Self::take_arg(nodes, i)
                    .map(|arg| self.arg_content(arg))
                    .unwrap_or("");
                let label = if star {
                    content.to_owned()
                } else {
                    format!("({content})")
                };
                let tex = text_to_tex("text", &label, self.mode)?;
                self.push("\\qquad");
                self.push(&tex);
            }
            "operatorname" => {
                let star = Self::take_star(nodes, i);
                match Self::take_arg(nodes, i) {
                    Some(arg) => {
                        let content = self.arg_content(arg);
                        match operator_name(content) {
                            Some(plain) => {
                                self.push(&format!("\\operatorname{{{plain}}}"));
                                if star && self.mode == MathMode::Display {
                                    self.push("\\limits");
                                }
                            }
                            None => {
                                let tex = self.sub_normalize(content)?;
                                self.push(&format!("{{\\mathrm{{{tex}}}}}"));
                            }
                        }
                    }
                    None => self.push("\\operatorname"),
                }
            }
            "dots" => {
                let j = Self::next_significant(nodes, *i);
                let centered = match nodes.get(j) {
                    Some(Node::Tok(Tok::Char(c), _)) => "+-=<>*".contains(*c),
                    Some(Node::Tok(Tok::Word(next), _)) => DOTS_CENTERED_BEFORE
                        .split_whitespace()
                        .any(|word| word == *next),
                    _ => false,
                };
                self.push(if centered { "\\cdots" } else { "\\ldots" });
            }
            "newcommand" | "renewcommand" | "providecommand" => {
                self.push(&format!("\\{name}"));
                Self::take_star(nodes, i);
                if let Some(arg) = Self::take_arg(nodes, i) {
                    match arg {
                        Node::Tok(Tok::Word(_), span) => {
                            let macro_name = self.src.get(span.clone()).unwrap_or("");
                            self.push(&format!("{{{macro_name}}}"));
                        }
                        _ => {
                            let source = self.arg_source(arg);
                            self.push(source);
                        }
                    }
                    let j = Self::next_significant(nodes, *i);
                    if !matches!(nodes.get(j), Some(Node::Tok(Tok::Char('['), _))) {
                        self.push("[0]");
                    }
                }
            }
            "DeclareMathOperator" => {
                let star = if Self::take_star(nodes, i) { "*" } else { "" };
                let macro_name = Self::take_arg(nodes, i).map(|arg| self.arg_content(arg));
                let body = Self::take_arg(nodes, i).map(|arg| self.arg_content(arg));
                if let (Some(macro_name), Some(body)) = (macro_name, body) {
                    let tex = self.sub_normalize(&format!(
                        "\\newcommand{{{macro_name}}}[0]{{\\operatorname{star}{{{body}}}}}"
                    ))?;
                    self.push(&tex);
                } else {
                    self.raw(span);
                }
            }
            "boxed" | "fbox" | "framebox" => {
                let content = Self::take_arg(nodes, i)
                    .map(|arg| self.arg_content(arg))
                    .unwrap_or("");
                let inner = if name == "boxed" {
                    self.sub_normalize(content)?
                } else {
                    text_to_tex("text", content, self.mode)?
                };
                self.push(&format!(
                    "{{\\begin{{array}}{{|c|}}\\hline {inner} \\\\ \\hline\\end{{array}}}}"
                ));
            }
            "bbox" | "smash" => {
                self.take_optional(nodes, i);
                self.argument_only(nodes, i)?;
            }
            "ensuremath" | "mathllap" | "mathrlap" | "mathclap" | "llap" | "rlap" | "clap" => {
                self.argument_only(nodes, i)?;
            }
            "cancelto" => {
                let to = Self::take_arg(nodes, i).map(|arg| self.arg_content(arg));
                let what = Self::take_arg(nodes, i).map(|arg| self.arg_content(arg));
                let tex = format!(
                    "{{\\cancel{{{}}}}}^{{{}}}",
                    what.unwrap_or(""),
                    to.unwrap_or("")
                );
                let tex = self.sub_normalize(&tex)?;
                self.push(&tex);
            }
            "mod" | "pod" => {
                let content = Self::take_arg(nodes, i)
                    .map(|arg| self.arg_content(arg))
                    .unwrap_or("");
                let tex = if name == "mod" {
                    format!("{{\\quad\\operatorname{{mod}}\\,{{{content}}}}}")
                } else {
                    format!("{{\\quad({content})}}")
                };
                let tex = self.sub_normalize(&tex)?;
                self.push(&tex);
            }
            "unicode" => {
                let start = *i;
                let content = Self::take_arg(nodes, i).map(|arg| self.arg_content(arg));
                match content.and_then(unicode_char) {
                    Some(c) => self.push(&format!("{{{c}}}")),
                    None => {
                        *i = start;
                        self.raw(span);
                    }
                }
            }
            _ => self.raw(span),
        }
        Ok(())
    }

    /// Writes the next argument, normalised, as a group (the command before it is dropped).
    fn argument_only(&mut self, nodes: &[&Node<'s>], i: &mut usize) -> Result<(), MathError> {
        if let Some(arg) = Self::take_arg(nodes, i) {
            let tex = self.sub_normalize(self.arg_content(arg))?;
            self.push(&format!("{{{tex}}}"));
        }
        Ok(())
    }
}

fn flatten_equations<'n, 'a>(nodes: &'n [Node<'a>], flat: &mut Vec<&'n Node<'a>>) {
    for node in nodes {
        match node {
            Node::Env { name, children, .. } if EQUATION_LIKE.contains(name) => {
                flatten_equations(children, flat)
            }
            _ => flat.push(node),
        }
    }
}

/// The number of columns an array's column spec (`{c|c}`, `{*{3}{c}}`, `{p{2cm}l}`) makes.
fn spec_columns(spec: &str) -> usize {
    let chars: Vec<char> = spec.chars().collect();
    // The braced argument starting at `k` (a `{`): its content and the index after it.
    let group = |k: usize| -> (String, usize) {
        if chars.get(k) != Some(&'{') {
            return (
                chars.get(k).map(|c| c.to_string()).unwrap_or_default(),
                k + 1,
            );
        }
        let mut depth = 0;
        for (j, &c) in chars.iter().enumerate().skip(k) {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return (chars[k + 1..j].iter().collect(), j + 1);
                    }
                }
                _ => {}
            }
        }
        (chars[k + 1..].iter().collect(), chars.len())
    };
    let mut count = 0;
    let mut k = 0;
    while k < chars.len() {
        match chars[k] {
            'l' | 'c' | 'r' | 'X' => {
                count += 1;
                k += 1;
            }
            'p' | 'm' | 'b' | 'w' => {
                count += 1;
                k = group(k + 1).1;
            }
            '@' | '!' | '>' | '<' => k = group(k + 1).1,
            '*' => {
                let (times, after) = group(k + 1);
                let (inner, after) = group(after);
                count +=
                    times.trim().parse::<usize>().unwrap_or(1).min(1000) * spec_columns(&inner);
                k = after;
            }
            _ => k += 1,
        }
    }
    count
}

/// amscd's `CD` diagram (`A @>f>> B \\ @VgVV @VVhV \\ C @>>k> D`) as an array: objects and
/// horizontal arrows alternate in a row; a row of vertical arrows puts each under an object.
fn cd_to_array(inner: &str) -> String {
    let tokens = lex(inner);
    let mut rows: Vec<&str> = Vec::new();
    let mut start = 0;
    let mut depth = 0usize;
    for token in &tokens {
        match token.tok {
            Tok::Char('{') => depth += 1,
            Tok::Char('}') => depth = depth.saturating_sub(1),
            Tok::Symbol('\\') if depth == 0 => {
                rows.push(&inner[start..token.span.start]);
                start = token.span.end;
            }
            _ => {}
        }
    }
    rows.push(&inner[start..]);
    let mut out_rows: Vec<Vec<String>> = Vec::new();
    for row in rows {
        if row.trim().is_empty() {
            continue;
        }
        out_rows.push(cd_row(row));
    }
    let columns = out_rows.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let mut out = format!("\\begin{{array}}{{{}}}", "c".repeat(columns));
    for (n, row) in out_rows.iter().enumerate() {
        if n > 0 {
            out.push_str(" \\\\ ");
        }
        out.push_str(&row.join(" & "));
    }
    out.push_str("\\end{array}");
    out
}

/// One row of a `CD` diagram as array cells.
fn cd_row(row: &str) -> Vec<String> {
    let chars: Vec<char> = row.chars().collect();
    // Text up to the next `stop` outside braces, and the index after the stop.
    let until = |from: usize, stop: char| -> (String, usize) {
        let mut depth = 0usize;
        for (j, &c) in chars.iter().enumerate().skip(from) {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                c if c == stop && depth == 0 => return (chars[from..j].iter().collect(), j + 1),
                _ => {}
            }
        }
        (chars[from.min(chars.len())..].iter().collect(), chars.len())
    };
    let mut cells: Vec<String> = Vec::new();
    let mut object = String::new();
    let mut vertical_row = true;
    let mut k = 0;
    while k < chars.len() {
        let c = chars[k];
        let escaped = k > 0 && chars[k - 1] == '\\';
        if c != '@' || escaped {
            object.push(c);
            k += 1;
            continue;
        }
        let kind = chars.get(k + 1).copied().unwrap_or('.');
        let (arrow, next, horizontal) = match kind {
            '>' | '<' => {
                let (above, after) = until(k + 2, kind);
                let (below, after) = until(after, kind);
                let arrow = if kind == '>' {
                    "xrightarrow"
                } else {
                    "xleftarrow"
                };
                (format!("\\{arrow}[{below}]{{{above}}}"), after, true)
            }
            'V' | 'A' => {
                let (left, after) = until(k + 2, kind);
                let (right, after) = until(after, kind);
                let arrow = if kind == 'V' { "downarrow" } else { "uparrow" };
                (
                    format!("{{\\scriptstyle {left}}}\\Big\\{arrow}{{\\scriptstyle {right}}}"),
                    after,
                    false,
                )
            }
            '=' => ("=\\!=".to_owned(), k + 2, true),
            '|' => ("\\Big\\Vert".to_owned(), k + 2, false),
            _ => (String::new(), k + 2, false),
        };
        if horizontal {
            vertical_row = false;
            cells.push(std::mem::take(&mut object).trim().to_owned());
            cells.push(arrow);
        } else {
            // A vertical arrow stands under an object: the cells between stay empty.
            if !object.trim().is_empty() {
                cells.push(std::mem::take(&mut object).trim().to_owned());
            }
            object.clear();
            if !cells.is_empty() {
                cells.push(String::new());
            }
            cells.push(arrow);
        }
        k = next;
    }
    if !object.trim().is_empty() || !vertical_row {
        cells.push(object.trim().to_owned());
    }
    cells
}

/// The content of `\operatorname{…}` as plain text pulldown-latex can show (it prints the
/// argument verbatim), or `None` when it holds other commands.
fn operator_name(content: &str) -> Option<String> {
    let mut out = String::with_capacity(content.len());
    for token in lex(content) {
        match token.tok {
            Tok::Char('{' | '}') | Tok::Comment | Tok::Symbol('!' | '-') => {}
            Tok::Char('~') | Tok::Symbol(' ' | '\t' | '\n' | '\r') => out.push('\u{a0}'),
            Tok::Char(c) => out.push(c),
            Tok::Space => out.push(' '),
            Tok::Symbol(',') => out.push('\u{2009}'),
            Tok::Symbol(';') => out.push('\u{2005}'),
            Tok::Symbol(':' | '>') => out.push('\u{205f}'),
            Tok::Symbol('_') => out.push('_'),
            Tok::Word(_) | Tok::Symbol(_) | Tok::LoneBackslash => return None,
        }
    }
    let out = out.trim().to_owned();
    (!out.is_empty()).then_some(out)
}

/// `\unicode{x263A}`, `\unicode{0x263A}`, `\unicode{9786}` → the character.
fn unicode_char(content: &str) -> Option<char> {
    let content = content.trim();
    let code = if let Some(hex) = content
        .strip_prefix("0x")
        .or_else(|| content.strip_prefix('x'))
        .or_else(|| content.strip_prefix('"'))
    {
        u32::from_str_radix(hex, 16).ok()?
    } else {
        content.parse::<u32>().ok()?
    };
    char::from_u32(code).filter(|c| !c.is_control() && !matches!(c, '\\' | '{' | '}' | '%'))
}

/// Width in em of a run of (Unicode) spaces.
fn space_width(spaces: &str) -> f32 {
    spaces
        .chars()
        .map(|c| match c {
            '\u{2003}' => 1.0,
            '\u{2002}' => 0.5,
            '\u{2009}' => 1.0 / 6.0,
            '\u{2005}' => 0.25,
            '\u{205f}' => 2.0 / 9.0,
            _ => 1.0 / 3.0,
        })
        .sum()
}

/// Converts the content of a text-mode argument (`\text{…}`), which pulldown-latex prints
/// verbatim, into TeX it renders as intended: escapes resolved, grouping braces removed,
/// `$…$` set as math, nested text commands honoured.
fn text_to_tex(command: &str, content: &str, mode: MathMode) -> Result<String, MathError> {
    let tokens = lex(content);
    let tree = build_tree(content, &tokens)?;
    let nodes: Vec<&Node<'_>> = tree.iter().collect();
    let mut segments = Vec::new();
    text_segments(content, &nodes, mode, &mut segments)?;

    let mut pieces = Vec::new();
    for segment in segments {
        match segment {
            Segment::Math(tex) => pieces.push(tex),
            Segment::Text(text) => pieces.extend(text_pieces(command, &text)),
        }
    }
    Ok(match pieces.len() {
        0 => format!("\\{command}{{}}"),
        1 => pieces.pop().unwrap_or_default(),
        _ => format!("{{{}}}", pieces.concat()),
    })
}

/// `\command{text}`, with white space at its edges made explicit where pulldown-latex would
/// turn it into a single `&nbsp;` (any space other than plain or no-break ones).
fn text_pieces(command: &str, text: &str) -> Vec<String> {
    let is_plain = |s: &str| s.chars().all(|c| c == ' ' || c == '\u{a0}');
    let middle = text.trim();
    if middle.is_empty() {
        return vec![format!("{{\\hspace{{{:.4}em}}}}", space_width(text))];
    }
    let start = text.len() - text.trim_start().len();
    let end = text.trim_end().len();
    let (leading, trailing) = (&text[..start], &text[end..]);
    if is_plain(leading) && is_plain(trailing) {
        // A plain space at an edge: one no-break space, as TeX would collapse it to.
        let collapse = |s: &str| if s.is_empty() { "" } else { " " };
        return vec![format!(
            "\\{command}{{{}{middle}{}}}",
            collapse(leading),
            collapse(trailing)
        )];
    }
    let mut pieces = Vec::new();
    if !leading.is_empty() {
        pieces.push(format!("{{\\hspace{{{:.4}em}}}}", space_width(leading)));
    }
    pieces.push(format!("\\{command}{{{middle}}}"));
    if !trailing.is_empty() {
        pieces.push(format!("{{\\hspace{{{:.4}em}}}}", space_width(trailing)));
    }
    pieces
}

fn push_text(segments: &mut Vec<Segment>, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(Segment::Text(last)) = segments.last_mut() {
        // Runs of white space collapse to one, as in TeX.
        if text == " " && last.ends_with(' ') {
            return;
        }
        last.push_str(text);
    } else {
        segments.push(Segment::Text(text.to_owned()));
    }
}

fn text_segments(
    src: &str,
    nodes: &[&Node<'_>],
    mode: MathMode,
    segments: &mut Vec<Segment>,
) -> Result<(), MathError> {
    let mut i = 0;
    while i < nodes.len() {
        let node = nodes[i];
        i += 1;
        match node {
            Node::Tok(tok, span) => match *tok {
                Tok::Space => push_text(segments, " "),
                Tok::Comment => {}
                Tok::Char('~') => push_text(segments, "\u{a0}"),
                Tok::Char('$') => {
                    let close = (i..nodes.len())
                        .find(|&k| matches!(nodes[k], Node::Tok(Tok::Char('$'), _)));
                    match close {
                        Some(close) => {
                            let start = node.span().end;
                            let end = nodes[close].span().start;
                            let tex = normalize(src.get(start..end).unwrap_or(""), mode)?;
                            segments.push(Segment::Math(format!("{{{tex}}}")));
                            i = close + 1;
                        }
                        None => push_text(segments, "$"),
                    }
                }
                Tok::Char('{') => segments.push(Segment::Math("\\{".to_owned())),
                Tok::Char('}') => segments.push(Segment::Math("\\}".to_owned())),
                Tok::Char(c) => push_text(segments, c.encode_utf8(&mut [0; 4])),
                Tok::Symbol(c) if c.is_whitespace() => push_text(segments, " "),
                Tok::Symbol(c @ ('&' | '#' | '_' | '$')) => {
                    push_text(segments, c.encode_utf8(&mut [0; 4]))
                }
                Tok::Symbol('%') => segments.push(Segment::Math("\\%".to_owned())),
                Tok::Symbol('{') => segments.push(Segment::Math("\\{".to_owned())),
                Tok::Symbol('}') => segments.push(Segment::Math("\\}".to_owned())),
                Tok::Symbol(',') => push_text(segments, "\u{2009}"),
                Tok::Symbol(';') => push_text(segments, "\u{2005}"),
                Tok::Symbol(':' | '>') => push_text(segments, "\u{205f}"),
                Tok::Symbol('!' | '-' | '/') => {}
                Tok::Symbol('\\') => push_text(segments, " "),
                Tok::Word(name) => {
                    if let Some(command) = text_command(name) {
                        let arg = Emitter::take_arg(nodes, &mut i);
                        let content = match arg {
                            Some(Node::Group { inner, .. }) => src.get(inner.clone()),
                            Some(other) => src.get(other.span()),
                            None => None,
                        };
                        let tex = text_to_tex(command, content.unwrap_or(""), mode)?;
                        segments.push(Segment::Math(tex));
                        continue;
                    }
                    if name == "label" {
                        Emitter::take_arg(nodes, &mut i);
                        continue;
                    }
                    let text = match name {
                        _ if vocab::SIZE_COMMANDS.contains(&name) => "",
                        "ldots" | "dots" | "textellipsis" => "…",
                        "quad" => "\u{2003}",
                        "qquad" => "\u{2003}\u{2003}",
                        "enspace" => "\u{2002}",
                        "thinspace" => "\u{2009}",
                        "space" | "nobreakspace" => "\u{a0}",
                        "textasciitilde" => "~",
                        "textasciicircum" => "^",
                        "textunderscore" => "_",
                        "textbar" => "|",
                        "textless" => "<",
                        "textgreater" => ">",
                        "S" => "§",
                        "P" => "¶",
                        "textbackslash" => {
                            segments.push(Segment::Math("\\backslash".into()));
                            ""
                        }
                        // Anything else is shown as written, as pulldown-latex would.
                        _ => {
                            push_text(segments, src.get(span.clone()).unwrap_or(""));
                            continue;
                        }
                    };
                    push_text(segments, text);
                    // As in TeX, a space after a control word is not a space.
                    if matches!(nodes.get(i), Some(Node::Tok(Tok::Space, _))) {
                        i += 1;
                    }
                }
                Tok::Symbol(_) | Tok::LoneBackslash => {
                    push_text(segments, src.get(span.clone()).unwrap_or(""))
                }
            },
            Node::Group { children, .. } => {
                let children: Vec<&Node<'_>> = children.iter().collect();
                text_segments(src, &children, mode, segments)?;
            }
            Node::Env { .. } | Node::Raw(_) => {
                let tex = normalize(src.get(node.span()).unwrap_or(""), mode)?;
                segments.push(Segment::Math(tex));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inline(tex: &str) -> String {
        render(tex, MathMode::Inline).unwrap_or_else(|e| panic!("{tex:?}: {}", e.message))
    }

    fn display(tex: &str) -> String {
        render(tex, MathMode::Display).unwrap_or_else(|e| panic!("{tex:?}: {}", e.message))
    }

    fn norm(tex: &str) -> String {
        normalize(tex, MathMode::Display).expect("normalizes")
    }

    /// The rendered formula without its annotation (which holds the TeX source).
    fn body(mathml: &str) -> &str {
        match mathml.find("<annotation") {
            Some(at) => &mathml[..at],
            None => mathml,
        }
    }

    fn assert_clean(tex: &str, mathml: &str) {
        assert!(mathml.starts_with("<math"), "{tex:?}: {mathml}");
        assert!(mathml.ends_with("</math>"), "{tex:?}: {mathml}");
        assert!(!mathml.contains("merror"), "{tex:?}: {mathml}");
        assert!(!mathml.contains("&amp;nbsp;"), "{tex:?}: {mathml}");
        assert!(!mathml.contains("&nbsp;"), "{tex:?}: {mathml}");
        assert!(!body(mathml).contains("menv-with-eqn"), "{tex:?}: {mathml}");
        assert!(!body(mathml).contains("(1)"), "{tex:?}: {mathml}");
    }

    // ---- the seed note --------------------------------------------------------------------

    /// Every `$$…$$` and `$…$` span of a note, with a deliberately simple scanner.
    fn math_spans(text: &str) -> Vec<(MathMode, String)> {
        let chars: Vec<char> = text.chars().collect();
        let mut spans = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '\\' => i += 2,
                '$' => {
                    let display = chars.get(i + 1) == Some(&'$');
                    let start = if display { i + 2 } else { i + 1 };
                    let mut j = start;
                    let end = loop {
                        if j >= chars.len() {
                            break None;
                        }
                        if chars[j] == '\\' {
                            j += 2;
                            continue;
                        }
                        if chars[j] == '$' && (!display || chars.get(j + 1) == Some(&'$')) {
                            break Some(j);
                        }
                        j += 1;
                    };
                    let Some(end) = end else { break };
                    let tex: String = chars[start..end].iter().collect();
                    let mode = if display {
                        MathMode::Display
                    } else {
                        MathMode::Inline
                    };
                    spans.push((mode, tex));
                    i = if display { end + 2 } else { end + 1 };
                }
                _ => i += 1,
            }
        }
        spans
    }

    #[test]
    fn renders_every_formula_of_the_seed_note() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/seed/matrix-calculus.md"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "{path} is missing: the seed note is needed under CI"
            );
            println!("skipped: {path} not found");
            return;
        };
        let spans = math_spans(&text);
        assert_eq!(spans.len(), 56, "span count of the seed note");
        let started = std::time::Instant::now();
        for (mode, tex) in &spans {
            let mathml =
                render(tex, *mode).unwrap_or_else(|e| panic!("{tex:?} failed: {}", e.message));
            assert_clean(tex, &mathml);
            match mode {
                MathMode::Display => assert!(mathml.starts_with("<math display=\"block\">")),
                MathMode::Inline => assert!(mathml.starts_with("<math display=\"inline\">")),
            }
            if tex.contains("\\mathbf{x}") {
                // pulldown-latex writes bold letters as Mathematical Bold code points.
                assert!(body(&mathml).contains('𝐱'), "{tex:?}: {mathml}");
            }
            assert!(!body(&mathml).contains("\\"), "{tex:?}: {mathml}");
        }
        println!(
            "rendered {} seed formulas in {:?}",
            spans.len(),
            started.elapsed()
        );
    }

    // ---- normalisations, one by one -------------------------------------------------------

    #[test]
    fn arrays_with_more_cells_than_columns_are_widened() {
        assert_eq!(
            norm(r"\begin{array}{cc} a & b & c \\ d & e \end{array}"),
            r"\begin{array}{ccc} a & b & c \\ d & e \end{array}"
        );
        assert_eq!(spec_columns("c|c"), 2);
        assert_eq!(spec_columns("*{3}{c}|p{2cm}@{,}l"), 5);
        for tex in [
            r"\begin{array}{cc} a & b & c \\ d & e & f \end{array}",
            r"\begin{array}{} a & b \end{array}",
            r"\left(\begin{array}{c|c} 1 & 0 & 2 \end{array}\right)",
        ] {
            assert_clean(tex, &display(tex));
        }
        assert_eq!(
            norm(r"\begin{array}[t]{c c} a & b \end{array}"),
            r"\begin{array}{cc} a & b \end{array}"
        );
        assert_clean("C", &display(r"\begin{array}{C} a \end{array}"));
        // A spec with room to spare is left alone.
        assert_eq!(
            norm(r"\begin{array}{lcr} a & b \end{array}"),
            r"\begin{array}{lcr} a & b \end{array}"
        );
    }

    #[test]
    fn commutative_diagrams_become_arrays() {
        let tex = r"\begin{CD} A @>f>> B \\ @VgVV @VVhV \\ C @>>k> D \end{CD}";
        assert_eq!(
            cd_to_array(r" A @>f>> B \\ @VgVV @VVhV \\ C @>>k> D "),
            r"\begin{array}{ccc}A & \xrightarrow[]{f} & B \\ {\scriptstyle g}\Big\downarrow{\scriptstyle } &  & {\scriptstyle }\Big\downarrow{\scriptstyle h} \\ C & \xrightarrow[k]{} & D\end{array}"
        );
        let mathml = display(tex);
        assert_clean(tex, &mathml);
        assert!(body(&mathml).contains("↓"), "{mathml}");
        for tex in [
            r"\begin{CD} A @<<< B @= C \end{CD}",
            r"\begin{CD} A @. B \\ @AAA @| \\ C @>{\text{long label}}>> D \end{CD}",
        ] {
            assert_clean(tex, &display(tex));
        }
    }

    #[test]
    fn bra_ket_notation_renders_through_the_built_in_macros() {
        let mut macros = crate::tex::macros::Macros::builtin();
        for tex in [
            r"\ket{\psi}",
            r"\bra{\phi}",
            r"\braket{\phi|\psi}",
            r"\ketbra{0}{1}",
        ] {
            let expanded = macros
                .expand(tex)
                .ok()
                .flatten()
                .map(|e| e.tex)
                .unwrap_or_else(|| tex.to_owned());
            assert_clean(tex, &display(&expanded));
        }
    }

    #[test]
    fn angle_brackets_written_as_less_and_greater_than() {
        assert_eq!(
            norm(r"\left< u, v \right>"),
            r"\left\langle u, v \right\rangle"
        );
        assert_eq!(norm(r"\bigl< x \bigr>"), r"\bigl\langle x \bigr\rangle");
        assert_clean("<", &display(r"\left< u, v \right> < 1"));
        assert_eq!(norm(r"\left( a < b \right)"), r"\left( a < b \right)");
    }

    #[test]
    fn middle_delimiters_are_well_formed() {
        let mathml = display(r"\left\langle a \middle| b \right\rangle");
        assert!(!mathml.contains("\"minsize"), "{mathml}");
        assert!(mathml.contains("\" minsize="), "{mathml}");
    }

    #[test]
    fn an_escaped_dollar_renders() {
        assert_clean(r"p = 5\$", &display(r"p = 5\$"));
    }

    #[test]
    fn size_commands_are_dropped() {
        assert_eq!(norm(r"\Huge{0}"), "{0}");
        for size in vocab::SIZE_COMMANDS {
            let tex = format!("a \\{size} b");
            assert_clean(&tex, &display(&tex));
        }
        // Only whole control words are matched.
        assert_eq!(norm(r"\Hugeish x"), r"\Hugeish x");
        // Nor is text touched.
        assert!(inline(r"\text{\Huge 0}").contains("<mtext>0</mtext>"));
        // Dropping a word does not glue its neighbours together.
        assert_eq!(norm(r"\alpha\Huge b"), r"\alpha b");
    }

    #[test]
    fn flalign_becomes_align_star() {
        let tex = r"\begin{flalign*} a &= b && \\ &= c \end{flalign*}";
        assert_eq!(norm(tex), r"\begin{align*} a &= b && \\ &= c \end{align*}");
        assert_clean(tex, &display(tex));
        let tex = r"\begin{flalign} a &= b \end{flalign}";
        assert_clean(tex, &display(tex));
        assert!(display(tex).contains("menv-align"));
    }

    #[test]
    fn control_space_and_tilde_are_real_spaces() {
        for tex in [r"a\ b", "a~b", "a\\\nb", r"a \space b", r"a\nobreakspace b"] {
            let mathml = inline(tex);
            assert_clean(tex, &mathml);
            assert!(
                mathml.contains("<mspace width=\"0.3333em\""),
                "{tex:?}: {mathml}"
            );
        }
        // In text they are spaces too (pulldown-latex shows text verbatim).
        let mathml = inline(r"\text{a\ b~c}");
        assert!(mathml.contains("<mtext>a b\u{a0}c</mtext>"), "{mathml}");
    }

    #[test]
    fn equation_wrapper_is_stripped() {
        let tex = r"x = \begin{equation} \begin{cases} 0 & a \\ 1 & b \end{cases} \end{equation}";
        let mathml = inline(tex);
        assert_clean(tex, &mathml);
        assert!(mathml.contains("menv-cases"));
        for tex in [
            r"\begin{equation} x \end{equation}",
            r"\begin{equation*} x \end{equation*}",
        ] {
            assert_eq!(norm(tex).trim(), "x");
            assert_clean(tex, &inline(tex));
            assert_clean(tex, &display(tex));
        }
    }

    #[test]
    fn numbered_environments_are_unnumbered() {
        for (tex, class) in [
            (r"\begin{align} a &= b \\ &= c \end{align}", "menv-align"),
            (r"\begin{gather} a \\ b \end{gather}", "<mtable"),
            (
                r"\begin{alignat}{2} a &= b & c &= d \end{alignat}",
                "<mtable",
            ),
            (r"\begin{multline*} a \\ b \end{multline*}", "menv-multline"),
            (
                r"\begin{eqnarray} a &=& b \\ c &=& d \end{eqnarray}",
                "<mtable",
            ),
        ] {
            let mathml = display(tex);
            assert_clean(tex, &mathml);
            assert!(mathml.contains(class), "{tex:?}: {mathml}");
        }
    }

    #[test]
    fn big_operators_as_binary_operators() {
        let mathml = inline(r"f \, \bigcirc \, g");
        assert!(mathml.contains("<mo>◯</mo>"), "{mathml}");
        let mathml = inline(r"\mathbf{w \bigotimes x}");
        assert!(mathml.contains('⨂'), "{mathml}");
        assert_clean("", &mathml);
    }

    #[test]
    fn commands_pulldown_already_handles_are_untouched() {
        let untouched = [
            r"a \implies b",
            r"a \qquad b",
            r"a \, b \; c \! d",
            r"\operatorname{diag}(x)",
            r"\text{sum}(x)",
            r"\mathrm{d}x",
            r"\boldsymbol{\theta}",
            r"\vec{v} + \vec0",
            r"\lVert x \rVert",
            r"\|x\|",
            r"A^\top",
            r"\mathsf{T}",
            r"\left( \frac{1}{2} \right)",
            r"\big( x \big)",
            r"\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}",
            r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}",
            r"\begin{cases} a & b \\ c & d \end{cases}",
            r"\begin{aligned} a &= b \\ &= c \end{aligned}",
            r"\begin{align*} a &= b && \text{note} \\ &= c \end{align*}",
            r"\dfrac{1}{2} \tfrac{1}{2}",
            r"\nabla f",
            r"\partial_x f",
            r"\sum_{i=1}^n x_i",
            r"\mathbf{w \cdot x}",
        ];
        for tex in untouched {
            assert_eq!(norm(tex), tex);
            assert_clean(tex, &display(tex));
            assert_clean(tex, &inline(tex));
        }
    }

    #[test]
    fn mathbf_is_bold() {
        let mathml = inline(r"\mathbf{x} + \mathbf{W}");
        assert!(mathml.contains('𝐱') && mathml.contains('𝐖'), "{mathml}");
    }

    #[test]
    fn bm_becomes_boldsymbol() {
        assert_eq!(
            norm(r"\bm{x} + \bm\alpha"),
            r"\boldsymbol{x} + \boldsymbol\alpha"
        );
        assert_eq!(norm(r"\pmb{x}"), r"\boldsymbol{x}");
        assert!(inline(r"\bm{x}").contains('𝒙'));
    }

    #[test]
    fn newlines_outside_environments() {
        // A trailing `\\` is dropped.
        assert_eq!(norm(r"a = b \\"), r"a = b ");
        assert_eq!(norm("a = b \\\\ \n"), "a = b  \n");
        assert_eq!(norm(r"a = b \\ \label{x}"), r"a = b  ");
        assert_clean("", &display(r"a = b \\"));
        // Others stack the lines.
        assert_eq!(norm(r"a \\ b"), r"\begin{gathered}a \\ b\end{gathered}");
        assert_eq!(
            norm(r"a &= b \\ &= c"),
            r"\begin{aligned}a &= b \\ &= c\end{aligned}"
        );
        assert_eq!(
            norm(r"a \newline b"),
            r"\begin{gathered}a \\ b\end{gathered}"
        );
        for tex in [
            r"a \\ b",
            r"a &= b \\ &= c \\",
            r"a \newline b",
            r"x \newline",
        ] {
            assert_clean(tex, &display(tex));
            assert_clean(tex, &inline(tex));
        }
        // Inside environments they are left alone.
        let tex = r"\begin{bmatrix} a \newline b \\ \end{bmatrix}";
        assert_eq!(norm(tex), r"\begin{bmatrix} a \\ b \\ \end{bmatrix}");
        assert_clean(tex, &display(tex));
    }

    #[test]
    fn labels_tags_and_nonumber() {
        assert_eq!(norm(r"x \label{eq:1}"), r"x ");
        assert_eq!(
            norm(r"\begin{align} a &= b \nonumber \\ c &= d \notag \end{align}"),
            r"\begin{align*} a &= b  \\ c &= d  \end{align*}"
        );
        let mathml = display(r"E = mc^2 \tag{3.1}");
        assert_clean("", &mathml);
        assert!(mathml.contains("<mtext>(3.1)</mtext>"), "{mathml}");
        let mathml = display(r"E = mc^2 \tag*{A}");
        assert!(mathml.contains("<mtext>A</mtext>"), "{mathml}");
        assert_clean(
            "",
            &display(r"\begin{align} a &= b \label{x} \tag{2} \\ c &= d \end{align}"),
        );
    }

    #[test]
    fn text_content_is_converted() {
        let mathml = inline(r"\text{50\% of \{x\} and a{b}c}");
        assert!(mathml.contains("<mtext>50</mtext>"), "{mathml}");
        assert!(mathml.contains(">%<"), "{mathml}");
        assert!(mathml.contains("and abc</mtext>"), "{mathml}");
        assert!(!body(&mathml).contains("\\%"), "{mathml}");
        let mathml = inline(r"\text{where $x$ is \textbf{bold}}");
        assert!(mathml.contains("<mi>x</mi>"), "{mathml}");
        assert!(mathml.contains("𝐛𝐨𝐥𝐝"), "{mathml}");
        assert!(!body(&mathml).contains('$'), "{mathml}");
        // Spaces at the edges stay single no-break spaces.
        let mathml = inline(r"\text{if } x");
        assert!(mathml.contains("<mtext>if\u{a0}</mtext>"), "{mathml}");
        assert_clean("", &mathml);
        let mathml = inline(r"\text{ }");
        assert!(mathml.contains("<mspace"), "{mathml}");
        // `\mbox`, `\emph`, `\textnormal` are text too.
        for tex in [
            r"\mbox{a b}",
            r"\emph{a b}",
            r"\textnormal{a b}",
            r"\hbox{a b}",
        ] {
            let mathml = inline(tex);
            assert_clean(tex, &mathml);
            assert!(mathml.contains("<mtext>"), "{tex:?}: {mathml}");
        }
    }

    #[test]
    fn operatorname_spacing_and_star() {
        let mathml = inline(r"\operatorname{arg\,max}_x f");
        assert!(mathml.contains("<mi>arg\u{2009}max</mi>"), "{mathml}");
        let mathml = display(r"\operatorname*{arg\,max}_x f");
        assert!(
            mathml.contains("<munder><mi>arg\u{2009}max</mi>"),
            "{mathml}"
        );
        let mathml = inline(r"\operatorname*{arg\,max}_x f");
        assert!(mathml.contains("<msub><mi>arg\u{2009}max</mi>"), "{mathml}");
        assert_clean("", &inline(r"\operatorname{\mathbf{T}r}(A)"));
    }

    #[test]
    fn dots_follow_amsmath() {
        assert_eq!(norm(r"1, \dots, n"), r"1, \ldots, n");
        assert_eq!(norm(r"1 + \dots + n"), r"1 + \cdots + n");
        assert_eq!(norm(r"a \dots \cdot b"), r"a \cdots \cdot b");
        assert_eq!(norm(r"a_1 \dots"), r"a_1 \ldots");
        assert!(inline(r"1, \dots, n").contains('…'));
    }

    #[test]
    fn newcommand_gets_an_argument_count() {
        assert_eq!(
            norm(r"\newcommand{\R}{\mathbb{R}} x \in \R"),
            r"\newcommand{\R}[0]{\mathbb{R}} x \in \R"
        );
        assert_eq!(
            norm(r"\newcommand\R{\mathbb{R}} \R"),
            r"\newcommand{\R}[0]{\mathbb{R}} \R"
        );
        assert_eq!(
            norm(r"\newcommand{\f}[1]{#1^2} \f{x}"),
            r"\newcommand{\f}[1]{#1^2} \f{x}"
        );
        assert_clean("", &inline(r"\newcommand{\R}{\mathbb{R}} x \in \R"));
        assert_clean("", &inline(r"\DeclareMathOperator{\tr}{tr} \tr A"));
        assert!(inline(r"\DeclareMathOperator{\tr}{tr} \tr A").contains("<mi>tr</mi>"));
    }

    #[test]
    fn infix_fractions() {
        assert_eq!(norm(r"{a \over b}"), r"{\frac{a }{ b}}");
        assert_eq!(norm(r"{n \choose k}"), r"{\binom{n }{ k}}");
        assert_clean("", &inline(r"{a+1 \over b} + {n \choose k} + {x \atop y}"));
    }

    #[test]
    fn assorted_mathjax_extras() {
        for tex in [
            r"\boxed{x = \frac{1}{2}}",
            r"\xRightarrow{f} \xmapsto[g]{f} \xleftrightarrow{x}",
            r"\cancelto{0}{x} + \bcancel{y} + \xcancel{z}",
            r"\phantom{x} \vphantom{\frac12} \hphantom{y} \smash[b]{y} \bbox[red]{x}",
            r"\mathllap{x} \mathrlap{x} \mathclap{x} \llap{x} \rlap{x} \ensuremath{x}",
            r"a \mod{n} \quad b \pod{n}",
            r"\unicode{x263A} \unicode{9786}",
            r"\Bbb{R} \mathscr{F} \bold{x}",
            r"\require{cancel} \cancel{x}",
            r"\hspace*{1em} \vspace{1em} x",
        ] {
            let mathml = display(tex);
            assert_clean(tex, &mathml);
        }
        assert!(inline(r"\unicode{x263A}").contains('☺'));
        assert!(inline(r"\boxed{x}").contains("menv-left-solid"));
    }

    // ---- errors and robustness ------------------------------------------------------------

    #[test]
    fn errors_carry_the_parser_message() {
        let error = render(r"\frac{a}", MathMode::Inline).unwrap_err();
        assert!(error.message.contains("expected"), "{}", error.message);
        assert!(!error.message.contains('\n'), "{}", error.message);
        let error = render(r"x + \tr A + \rank B", MathMode::Inline).unwrap_err();
        assert_eq!(error.message, r"unknown commands `\tr`, `\rank`");
        let error = render(r"\left( x", MathMode::Display).unwrap_err();
        assert!(error.message.contains("unbalanced"), "{}", error.message);
    }

    #[test]
    fn fallback_shows_escaped_source() {
        let (html, error) = render_or_fallback(r"a < \nosuch{b} & c", MathMode::Inline);
        let error = error.expect("an error");
        assert!(html.starts_with("<code class=\"math-error\""), "{html}");
        assert!(html.contains("⚠"), "{html}");
        assert!(html.contains(r"a &lt; \nosuch{b} &amp; c"), "{html}");
        assert!(html.contains(&format!("title=\"{}\"", escape_html(&error.message))));
        let (html, error) = render_or_fallback("\\nosuch\n\\\\", MathMode::Display);
        assert!(error.is_some());
        assert!(html.starts_with("<span class=\"math-error-block\" style=\"display:block\">"));
        assert!(html.contains("\\nosuch\n\\\\"), "{html}");
        let (html, error) = render_or_fallback("x^2", MathMode::Display);
        assert!(error.is_none());
        assert!(html.starts_with("<math display=\"block\">"));
    }

    #[test]
    fn annotation_holds_escaped_source() {
        let mathml = inline(r"a < b \& c > d");
        assert!(
            mathml.contains(
                "<annotation encoding=\"application/x-tex\">a &lt; b \\&amp; c &gt; d</annotation>"
            ),
            "{mathml}"
        );
        assert!(mathml.contains("<semantics><mrow>"), "{mathml}");
        assert!(mathml.ends_with("</semantics></math>"), "{mathml}");
    }

    #[test]
    fn garbage_never_panics() {
        let mut inputs: Vec<String> = [
            "",
            " ",
            "\\",
            "\\\\",
            "{",
            "}",
            r"\frac{",
            "}}}",
            "{{{",
            r"\begin{bmatrix}",
            r"\begin{bmatrix} a & b \\",
            r"\end{bmatrix}",
            r"\begin{}",
            r"\begin{cases",
            r"\begin{equation}",
            r"\end{equation}",
            r"\left(",
            r"\right)",
            r"\left\",
            r"x_",
            r"x^",
            r"^_^",
            "&",
            "#",
            "$",
            "%",
            "\\text{",
            "\\text{$x",
            "\\text{\\",
            "\\operatorname*",
            "\\tag",
            "\\label",
            "\\newcommand",
            "\\newcommand{",
            "\\DeclareMathOperator",
            "\\xRightarrow[",
            "\\unicode{xFFFFFFFF}",
            "\\unicode{xD800}",
            "\\def\\a{\\a}\\a",
            "\\boxed",
            "\\Huge",
            "\\dots",
            "{\\over}",
            "\\over",
            "é \\é ∑ \u{0}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        inputs.push("{".repeat(100) + "x" + &"}".repeat(100));
        inputs.push("{".repeat(10_000) + "x" + &"}".repeat(10_000));
        inputs.push("{".repeat(10_000));
        inputs.push("}".repeat(10_000));
        inputs.push("\\sqrt".repeat(3000) + " x");
        inputs.push("\\frac{a}".repeat(3000) + "x");
        inputs.push("\\hat".repeat(5000) + "x");
        inputs.push("\\begin{matrix}".repeat(500));
        inputs.push("\\text{".repeat(500));
        inputs.push("x^".repeat(2000) + "x");
        // Nesting just under the limit, through the recursive rewrites.
        for open in [
            "{",
            "\\text{",
            "\\boxed{",
            "\\xmapsto{",
            "\\sqrt{",
            "x^{",
            "\\mathbf{",
            "\\operatorname{\\mathrm{",
            "\\text{$",
        ] {
            let depth = MAX_DEPTH - 2;
            let close = if open.ends_with('$') { "$}" } else { "}" };
            inputs.push(open.repeat(depth) + "x" + &close.repeat(depth));
        }
        for input in &inputs {
            for mode in [MathMode::Inline, MathMode::Display] {
                let (html, error) = render_or_fallback(input, mode);
                if error.is_none() {
                    assert!(html.starts_with("<math"), "{input:?}");
                    assert!(!html.contains("merror"), "{input:?}");
                } else {
                    assert!(html.contains("math-error"), "{input:?}");
                }
            }
        }
        // Deep nesting is refused, not overflowed.
        let deep = "{".repeat(10_000) + "x" + &"}".repeat(10_000);
        assert!(render(&deep, MathMode::Inline).is_err());
        // Empty input is an empty formula.
        assert!(render("", MathMode::Inline).is_ok());
    }

    #[test]
    fn random_token_soup_never_panics() {
        let alphabet = [
            "{",
            "}",
            "\\frac",
            "\\text{",
            "\\begin{bmatrix}",
            "\\end{bmatrix}",
            "\\begin{equation}",
            "\\end{equation}",
            "\\\\",
            "&",
            "x",
            "^",
            "_",
            " ",
            "\\left(",
            "\\right)",
            "\\Huge",
            "\\ ",
            "~",
            "$",
            "\\operatorname*",
            "\\dots",
            "\\over",
            "[",
            "]",
            "\\tag",
            "\\label",
            "\\newcommand",
            "\\sqrt",
            "%",
            "\n",
            "\\",
            "\\mathbf",
            "\\begin{align}",
            "\\end{align}",
            "\\boxed",
            "\\newline",
            "\\bm",
            "#",
            "é",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let len = (next() % 24) as usize;
            let tex: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            for mode in [MathMode::Inline, MathMode::Display] {
                let (html, error) = render_or_fallback(&tex, mode);
                if error.is_none() {
                    assert!(!html.contains("merror"), "{tex:?}");
                }
            }
        }
    }

    #[test]
    fn untouched_tex_round_trips() {
        let tex = "\\frac{a}{b} + \\sqrt[3]{x} % comment\n + \\begin{pmatrix} 1 & 2 \\end{pmatrix}";
        assert_eq!(
            norm(tex),
            "\\frac{a}{b} + \\sqrt[3]{x} \n + \\begin{pmatrix} 1 & 2 \\end{pmatrix}"
        );
        // Unbalanced input is passed through as written (pulldown-latex reports it).
        assert_eq!(norm(r"\frac{a"), r"\frac{a");
        assert_eq!(norm(r"a } b"), r"a } b");
        assert_eq!(norm(r"\end{cases} x"), r"\end{cases} x");
        assert_eq!(norm(r"\begin{cases} x"), r"\begin{cases} x");
    }

    // ---- assets ---------------------------------------------------------------------------

    #[test]
    fn assets_are_complete_and_offline() {
        let assets = assets();
        let css = assets
            .iter()
            .find(|(path, _)| *path == "math/styles.css")
            .map(|(_, bytes)| std::str::from_utf8(bytes).expect("utf-8 css"))
            .expect("styles.css");
        assert!(!css.contains("http"), "network URL in styles.css");
        assert!(!css.contains("//"), "network URL in styles.css");
        let mut referenced = 0;
        for part in css.split("url(").skip(1) {
            let url = part
                .split(')')
                .next()
                .unwrap_or("")
                .trim_matches(['\'', '"']);
            let path = format!("math/{url}");
            assert!(
                assets.iter().any(|(asset, _)| *asset == path),
                "styles.css refers to {url}, which is not served"
            );
            referenced += 1;
        }
        assert_eq!(referenced, 4);
        for (path, bytes) in &assets {
            assert!(!bytes.is_empty(), "{path} is empty");
            if path.ends_with(".woff2") {
                assert_eq!(&bytes[..4], b"wOF2", "{path} is not a WOFF2 font");
            }
        }
        assert!(
            assets
                .iter()
                .any(|(path, bytes)| *path == "math/LICENSE-pulldown-latex"
                    && std::str::from_utf8(bytes).is_ok_and(|text| text.contains("MIT License")))
        );
    }

    #[test]
    fn is_thread_safe() {
        let handles: Vec<_> = (0..4)
            .map(|n| {
                std::thread::spawn(move || {
                    for i in 0..50 {
                        let tex = format!(r"\frac{{{n}}}{{{i}}} + \Huge x_{{{i}}}");
                        assert!(render(&tex, MathMode::Inline).is_ok());
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().expect("no panic");
        }
    }
}
