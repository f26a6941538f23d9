//! The vault's own TeX macros, expanded before a formula is rendered or checked.
//!
//! Macros come, lowest layer first, from [`vocab::BUILTIN_MACROS`], the vault's
//! `preamble.sty` (the convention of Obsidian's Extended MathJax plugin), the `macros:` map
//! of `notebuild.yaml`, and `\newcommand`s written in a note's own math, which last for the
//! rest of that note as they do on a MathJax page. Expansion works on tokens as TeX does:
//! arguments are brace groups or single tokens, `#1`…`#9` are replaced, an optional first
//! argument (`\newcommand{\x}[2][0]{…}`) takes its default when no `[…]` follows.
//!
//! Every cost is bounded: a formula gets at most [`MAX_EXPANSIONS`] macro calls and its
//! expansion at most [`max_output`] bytes; a macro that loops or grows without end is an
//! error for that formula (which is then shown as written), never a hang.
//!
//! The expanded TeX keeps a map back to the source, so that a finding in it points at the
//! place in the note where its source was written.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use super::lex::{Tok, lex, push_tex};
use super::packages::{self, Native};
use super::vocab;

/// Macro calls one formula may make.
pub const MAX_EXPANSIONS: usize = 2_000;

/// The most bytes a formula of `len` bytes may expand to (its tokens waiting to be read
/// are counted the same way, and so are all the tokens its calls produce together).
pub fn max_output(len: usize) -> usize {
    16 * 1024 + 16 * len
}

/// One macro: its parameters and its body (TeX with `#1`…`#9`), or a function that reads
/// its own arguments (a package's macros with optional arguments, [`super::packages`]).
#[derive(Debug, Clone)]
pub struct Macro {
    pub native: Option<Native>,
    /// Number of parameters (0–9), the optional one included.
    pub params: usize,
    /// The default of an optional first parameter (`\newcommand{\x}[2][d]{…}`).
    pub optional: Option<String>,
    pub body: String,
    /// Where it was defined, for messages (`preamble.sty:4`, `notebuild.yaml`).
    pub origin: String,
}

/// A table of macros by name (without the backslash). Cheap to clone: the vault's table is
/// shared, and a note that defines its own gets a copy.
#[derive(Debug, Clone, Default)]
pub struct Macros {
    map: Arc<HashMap<String, Arc<Macro>>>,
}

/// A problem with a definition or an expansion, at a byte offset of the TeX it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroError {
    pub offset: usize,
    pub message: String,
}

/// A formula after expansion, and its map back to the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    pub tex: String,
    /// (offset in `tex`, source range, copied verbatim): in offset order.
    pieces: Vec<(usize, Range<usize>, bool)>,
}

impl Expanded {
    /// The source range that produced `range` of the expanded TeX: from the source of its
    /// first byte to the end of the source of its last (a whole macro call when the edge
    /// is inside a macro's text).
    pub fn source_range(&self, range: Range<usize>) -> Range<usize> {
        let start = self.to_source(range.start);
        let Some(last) = range.end.checked_sub(1).filter(|&l| l >= range.start) else {
            return start..start;
        };
        let k = self.pieces.partition_point(|(s, _, _)| *s <= last);
        let end = match k.checked_sub(1).and_then(|k| self.pieces.get(k)) {
            Some((s, source, true)) => (source.start + (last - s) + 1).min(source.end),
            Some((_, source, false)) => source.end,
            None => start,
        };
        start..end.max(start)
    }

    /// The source offset that produced byte `at` of the expanded TeX: the same character
    /// for text copied from the source, the macro call for text a macro produced.
    pub fn to_source(&self, at: usize) -> usize {
        let k = self.pieces.partition_point(|(start, _, _)| *start <= at);
        let Some((start, range, verbatim)) = k.checked_sub(1).and_then(|k| self.pieces.get(k))
        else {
            return 0;
        };
        if *verbatim {
            (range.start + (at - start)).min(range.end)
        } else {
            range.start
        }
    }
}

impl Macros {
    /// The built-in macros alone.
    pub fn builtin() -> Macros {
        let mut macros = Macros::default();
        // The built-in table is written by hand and has no errors; should it ever, they
        // would show as unknown commands, not as a failure here.
        let _ = macros.read_preamble(vocab::BUILTIN_MACROS, "built-in");
        macros
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn get(&self, name: &str) -> Option<&Macro> {
        self.map.get(name).map(|m| &**m)
    }

    /// Defines `name` (with or without its backslash) as `body`; the parameters are the
    /// highest `#n` the body uses (a KaTeX-style macro map).
    pub fn define(&mut self, name: &str, body: &str, origin: &str) -> Result<(), String> {
        let name = name.strip_prefix('\\').unwrap_or(name);
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(format!(
                "`{name}` is not a macro name: write a backslash and letters, as in `\\R`"
            ));
        }
        let params = body
            .as_bytes()
            .windows(2)
            .filter(|w| w[0] == b'#' && w[1].is_ascii_digit())
            .map(|w| usize::from(w[1] - b'0'))
            .max()
            .unwrap_or(0);
        self.insert(
            name,
            Macro {
                native: None,
                params,
                optional: None,
                body: body.to_owned(),
                origin: origin.to_owned(),
            },
        );
        Ok(())
    }

    fn insert(&mut self, name: &str, m: Macro) {
        Arc::make_mut(&mut self.map).insert(name.to_owned(), Arc::new(m));
    }

    /// Adds a package's macros (over any of the same name).
    pub fn load(&mut self, package: &packages::Package) {
        let _ = self.read_preamble(package.definitions, package.name);
        for (names, native) in package.native {
            for name in *names {
                self.insert(
                    name,
                    Macro {
                        native: Some(*native),
                        params: 0,
                        optional: None,
                        body: String::new(),
                        origin: format!("the {} package", package.name),
                    },
                );
            }
        }
    }

    /// Reads the definitions of a preamble (`\newcommand`, `\renewcommand`,
    /// `\providecommand`, `\DeclareMathOperator`, `\def`, `\let`); anything else in it
    /// (`\usepackage`, comments) is ignored. `file` names it in the macros' origins.
    /// Returns the problems found, each at a byte offset of `text`.
    pub fn read_preamble(&mut self, text: &str, file: &str) -> Vec<MacroError> {
        let mut errors = Vec::new();
        let tokens = owned_tokens(text, 0..text.len(), true);
        let mut input = Input::new(tokens);
        while let Some(token) = input.next() {
            if let T::Word(name) = &token.kind
                && vocab::DEFINING_COMMANDS.contains(&name.as_str())
            {
                let line = 1 + text[..token.origin.start.min(text.len())]
                    .matches('\n')
                    .count();
                let origin = format!("{file}:{line}");
                if let Err(message) = self.read_definition(name, &mut input, &origin) {
                    errors.push(MacroError {
                        offset: token.origin.start,
                        message,
                    });
                }
            }
        }
        errors
    }

    /// Whether `tex` uses a macro of this table or defines one (a scan for control words,
    /// without allocating: most formulas use none).
    fn touches(&self, tex: &str) -> bool {
        let bytes = tex.as_bytes();
        let mut i = 0;
        while let Some(k) = bytes[i..].iter().position(|&b| b == b'\\') {
            let start = i + k + 1;
            let len = bytes[start..]
                .iter()
                .take_while(|b| b.is_ascii_alphabetic())
                .count();
            if len == 0 {
                // `\\`, `\{`…: the escaped character is not a name.
                i = (start + 1).min(bytes.len());
                continue;
            }
            let name = &tex[start..start + len];
            if self.map.contains_key(name) || vocab::DEFINING_COMMANDS.contains(&name) {
                return true;
            }
            i = start + len;
        }
        false
    }

    /// Expands the macros of `tex`, adding the definitions it makes to this table (they
    /// hold for the formulas read after it). `Ok(None)` when there is nothing to expand.
    /// On an error the definitions read before it are kept and the formula is unchanged.
    pub fn expand(&mut self, tex: &str) -> Result<Option<Expanded>, MacroError> {
        if !self.touches(tex) {
            return Ok(None);
        }
        let limit = max_output(tex.len());
        let mut input = Input::new(owned_tokens(tex, 0..tex.len(), true));
        let mut out = Expanded {
            tex: String::with_capacity(tex.len() + 16),
            pieces: Vec::new(),
        };
        let mut calls = 0usize;
        // Tokens the calls produced, all told: bounds the work, not only the result.
        let mut produced = 0usize;
        let mut changed = false;
        while let Some(token) = input.next() {
            if let T::Word(name) = &token.kind {
                if vocab::DEFINING_COMMANDS.contains(&name.as_str()) {
                    changed = true;
                    let origin = "this note".to_owned();
                    self.read_definition(name, &mut input, &origin)
                        .map_err(|message| MacroError {
                            offset: token.origin.start,
                            message,
                        })?;
                    continue;
                }
                if let Some(m) = self.map.get(name.as_str()).cloned() {
                    changed = true;
                    calls += 1;
                    if calls > MAX_EXPANSIONS {
                        return Err(MacroError {
                            offset: token.origin.start,
                            message: format!(
                                "macro `\\{name}` (defined at {}) expands without end: more than {MAX_EXPANSIONS} macro calls in one formula",
                                m.origin
                            ),
                        });
                    }
                    let body = instantiate(&m, &token, &mut input, limit).map_err(|message| {
                        MacroError {
                            offset: token.origin.start,
                            message: format!("macro `\\{name}`: {message}"),
                        }
                    })?;
                    produced += body.len();
                    if input.pending() + body.len() > limit || produced > limit {
                        return Err(MacroError {
                            offset: token.origin.start,
                            message: format!(
                                "macro `\\{name}` (defined at {}) expands to more than {limit} bytes",
                                m.origin
                            ),
                        });
                    }
                    input.push_front(body);
                    continue;
                }
            }
            let text = token.text();
            push_tex(&mut out.tex, &text);
            let text_start = out.tex.len() - text.len();
            // Pieces copied from the source in a row share one entry.
            let continues = out.pieces.last().is_some_and(|(start, range, verbatim)| {
                *verbatim
                    && token.verbatim
                    && range.end == token.origin.start
                    && start + range.len() == text_start
            });
            match out.pieces.last_mut() {
                Some(last) if continues => last.1.end = token.origin.end,
                _ => out
                    .pieces
                    .push((text_start, token.origin.clone(), token.verbatim)),
            }
            if out.tex.len() > limit {
                return Err(MacroError {
                    offset: token.origin.start,
                    message: format!("the formula expands to more than {limit} bytes"),
                });
            }
        }
        Ok(changed.then_some(out))
    }

    /// Reads one definition after the defining command `command`.
    fn read_definition(
        &mut self,
        command: &str,
        input: &mut Input,
        origin: &str,
    ) -> Result<(), String> {
        match command {
            "newcommand" | "renewcommand" | "providecommand" => {
                self.read_newcommand(command, input, origin)
            }
            "DeclareMathOperator" => self.read_declare_operator(input, origin),
            "def" | "gdef" => self.read_def(command, input, origin),
            "require" | "usepackage" => self.read_require(command, input),
            "let" => self.read_let(input, origin),
            _ => Err(format!("`\\{command}` defines nothing notebuild reads")),
        }
    }

    /// `\newcommand{\name}[n][default]{body}` and its variants (`command` names which).
    fn read_newcommand(
        &mut self,
        command: &str,
        input: &mut Input,
        origin: &str,
    ) -> Result<(), String> {
        input.skip_star();
        let name = input
            .macro_name()
            .ok_or_else(|| format!("`\\{command}` must be followed by `{{\\name}}`"))?;
        let params = match input.bracket() {
            Some(text) => text
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= 9)
                .ok_or_else(|| {
                    format!(
                        "`\\{command}{{\\{name}}}[{text}]`: the number of parameters must be 0 to 9"
                    )
                })?,
            None => 0,
        };
        let optional = input.bracket();
        let body = input
            .group_text()
            .ok_or_else(|| format!("`\\{command}{{\\{name}}}` has no body in braces"))?;
        if command == "providecommand" && self.map.contains_key(&name) {
            return Ok(());
        }
        self.insert(
            &name,
            Macro {
                native: None,
                params,
                optional,
                body,
                origin: origin.to_owned(),
            },
        );
        Ok(())
    }

    /// `\DeclareMathOperator(*){\name}{text}`: an operator name.
    fn read_declare_operator(&mut self, input: &mut Input, origin: &str) -> Result<(), String> {
        let star = input.skip_star();
        let name = input.macro_name().ok_or_else(|| {
            "`\\DeclareMathOperator` must be followed by `{\\name}{text}`".to_owned()
        })?;
        let text = input
            .group_text()
            .ok_or_else(|| format!("`\\DeclareMathOperator{{\\{name}}}` has no text in braces"))?;
        let star = if star { "*" } else { "" };
        self.insert(
            &name,
            Macro {
                native: None,
                params: 0,
                optional: None,
                body: format!("\\operatorname{star}{{{text}}}"),
                origin: origin.to_owned(),
            },
        );
        Ok(())
    }

    /// `\def\name#1#2{body}`, parameters in order only.
    fn read_def(&mut self, command: &str, input: &mut Input, origin: &str) -> Result<(), String> {
        let name = input
            .macro_name()
            .ok_or_else(|| format!("`\\{command}` must be followed by `\\name`"))?;
        let mut params = 0;
        loop {
            input.skip_spaces();
            match input.peek_kind() {
                Some(T::Char('#')) => {
                    input.next();
                    match input.next().map(|t| t.kind) {
                        Some(T::Char(d)) if d == char::from(b'1' + params as u8) => params += 1,
                        _ => {
                            return Err(format!(
                                "`\\{command}\\{name}`: only the parameters #1#2… in order are supported"
                            ));
                        }
                    }
                }
                Some(T::Char('{')) => break,
                _ => {
                    return Err(format!(
                        "`\\{command}\\{name}`: delimited parameters are not supported; write `\\newcommand{{\\{name}}}[n]{{…}}`"
                    ));
                }
            }
        }
        let body = input
            .group_text()
            .ok_or_else(|| format!("`\\{command}\\{name}` has no body in braces"))?;
        self.insert(
            &name,
            Macro {
                native: None,
                params,
                optional: None,
                body,
                origin: origin.to_owned(),
            },
        );
        Ok(())
    }

    /// `\require{physics}`, `\usepackage[options]{a,b}`: the packages notebuild knows are loaded.
    fn read_require(&mut self, command: &str, input: &mut Input) -> Result<(), String> {
        input.bracket();
        let names = input
            .group_text()
            .ok_or_else(|| format!("`\\{command}` must be followed by `{{package}}`"))?;
        for name in names.split(',') {
            if let Some(package) = packages::package(name) {
                self.load(package);
            }
        }
        Ok(())
    }

    /// `\let\name\other` (or `=\other`): a copy of a macro, or a new name for a command.
    fn read_let(&mut self, input: &mut Input, origin: &str) -> Result<(), String> {
        let name = input
            .macro_name()
            .ok_or_else(|| "`\\let` must be followed by `\\name`".to_owned())?;
        input.skip_spaces();
        if matches!(input.peek_kind(), Some(T::Char('='))) {
            input.next();
        }
        input.skip_spaces();
        let target = input
            .next()
            .ok_or_else(|| format!("`\\let\\{name}` names nothing"))?;
        let m = match &target.kind {
            T::Word(other) => match self.map.get(other.as_str()) {
                Some(m) => (**m).clone(),
                None => Macro {
                    native: None,
                    params: 0,
                    optional: None,
                    body: format!("\\{other}"),
                    origin: origin.to_owned(),
                },
            },
            _ => Macro {
                native: None,
                params: 0,
                optional: None,
                body: target.text(),
                origin: origin.to_owned(),
            },
        };
        self.insert(&name, m);
        Ok(())
    }
}

/// The tokens of a macro's body with its arguments in place, read from `input`.
/// A package macro's TeX longer than `limit` bytes is refused before it is read into
/// tokens (it could be far larger than the formula: its arguments copied many times).
fn instantiate(
    m: &Macro,
    call: &OwnedToken,
    input: &mut Input,
    limit: usize,
) -> Result<Vec<OwnedToken>, String> {
    // The expansion stands for the whole call: the command and its arguments.
    let whole = |input: &Input| call.origin.start..input.last_end.max(call.origin.end);
    if let Some(native) = m.native {
        let tex = native(&mut Args { input })
            .ok_or_else(|| "its arguments are missing or malformed".to_owned())?;
        if tex.len() > limit {
            return Err(format!("expands to more than {limit} bytes"));
        }
        return Ok(owned_tokens(&tex, whole(input), false));
    }
    let mut args: Vec<Vec<OwnedToken>> = Vec::with_capacity(m.params);
    let mut first = 0;
    if let Some(default) = &m.optional {
        first = 1;
        match input.bracket_tokens() {
            Some(tokens) => args.push(tokens),
            None => args.push(owned_tokens(default, call.origin.clone(), false)),
        }
    }
    for _ in first..m.params {
        input.skip_spaces();
        match input.argument() {
            Some(tokens) => args.push(tokens),
            None => return Err(format!("it takes {} arguments", m.params)),
        }
    }
    let body = owned_tokens(&m.body, whole(input), false);
    let mut out = Vec::with_capacity(body.len());
    let mut k = 0;
    while k < body.len() {
        if body[k].kind == T::Char('#') {
            match body.get(k + 1).map(|t| &t.kind) {
                Some(T::Char(d)) if d.is_ascii_digit() => {
                    let n = (*d as usize).saturating_sub('1' as usize);
                    if let Some(arg) = args.get(n) {
                        out.extend(arg.iter().cloned());
                    }
                    k += 2;
                    continue;
                }
                Some(T::Char('#')) => {
                    out.push(body[k].clone());
                    k += 2;
                    continue;
                }
                _ => {}
            }
        }
        out.push(body[k].clone());
        k += 1;
    }
    Ok(out)
}

/// The arguments after a macro written as a function ([`Native`]): each method reads one
/// kind of argument (spaces before it skipped) or, when it is not there, reads nothing.
pub struct Args<'a> {
    input: &'a mut Input,
}

impl Args<'_> {
    /// A `*` right after the command.
    pub fn star(&mut self) -> bool {
        self.input.skip_star()
    }

    /// `[…]`.
    pub fn optional(&mut self) -> Option<String> {
        self.input.bracket()
    }

    /// `{…}`, without its braces.
    pub fn group(&mut self) -> Option<String> {
        self.input.skip_spaces();
        if !matches!(self.input.peek_kind(), Some(T::Char('{'))) {
            return None;
        }
        self.input.group_text()
    }

    /// A TeX argument: `{…}` or one token.
    pub fn argument(&mut self) -> Option<String> {
        self.input.skip_spaces();
        self.input
            .argument()
            .map(|tokens| tokens.iter().map(OwnedToken::text).collect())
    }

    /// `(…)`, `[…]`, `|…|` or `{…}`: the opening delimiter and the content.
    pub fn delimited(&mut self) -> Option<(char, String)> {
        self.input.skip_spaces();
        let open = match self.input.peek_kind()? {
            T::Char(c @ ('(' | '[' | '|' | '{')) => *c,
            _ => return None,
        };
        if open == '{' {
            return self.input.group_text().map(|text| ('{', text));
        }
        let close = match open {
            '(' => ')',
            '[' => ']',
            _ => '|',
        };
        let mut taken: Vec<OwnedToken> = self.input.next().into_iter().collect();
        let mut depth = 0usize;
        let mut braces = 0usize;
        let mut out = String::new();
        while let Some(t) = self.input.next() {
            taken.push(t.clone());
            match t.kind {
                T::Char('{') => braces += 1,
                T::Char('}') => braces = braces.saturating_sub(1),
                T::Char(c) if c == close && depth == 0 && braces == 0 => return Some((open, out)),
                T::Char(c) if c == close && braces == 0 => depth -= 1,
                T::Char(c) if c == open && braces == 0 && open != '|' => depth += 1,
                _ => {}
            }
            push_tex(&mut out, &t.text());
        }
        // Never closed: read nothing.
        self.input.stack.extend(taken.into_iter().rev());
        None
    }

    /// Skips one `c` if it comes next.
    pub fn skip_char(&mut self, c: char) {
        self.input.skip_spaces();
        if self.input.peek_kind() == Some(&T::Char(c)) {
            self.input.next();
        }
    }
}

/// A token that owns its text, with the source range it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OwnedToken {
    kind: T,
    origin: Range<usize>,
    /// Copied from the source as is (its text is the source's text at `origin`).
    verbatim: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum T {
    Word(String),
    Symbol(char),
    Char(char),
    /// White space or a comment, with its text.
    Blank(String),
    LoneBackslash,
}

impl OwnedToken {
    fn text(&self) -> String {
        match &self.kind {
            T::Word(name) => format!("\\{name}"),
            T::Symbol(c) => format!("\\{c}"),
            T::Char(c) => c.to_string(),
            T::Blank(text) => text.clone(),
            T::LoneBackslash => "\\".to_owned(),
        }
    }
}

/// The tokens of `tex`; those of the source keep their own place (`verbatim`), those of a
/// macro's body or default all point at `origin`, the macro call.
fn owned_tokens(tex: &str, origin: Range<usize>, verbatim: bool) -> Vec<OwnedToken> {
    lex(tex)
        .into_iter()
        .map(|t| OwnedToken {
            kind: match t.tok {
                Tok::Word(name) => T::Word(name.to_owned()),
                Tok::Symbol(c) => T::Symbol(c),
                Tok::Char(c) => T::Char(c),
                Tok::Space | Tok::Comment => T::Blank(tex[t.span.clone()].to_owned()),
                Tok::LoneBackslash => T::LoneBackslash,
            },
            origin: if verbatim {
                t.span.clone()
            } else {
                origin.clone()
            },
            verbatim,
        })
        .collect()
}

/// The tokens still to read, the next one last.
struct Input {
    stack: Vec<OwnedToken>,
    /// Where the last token read ends in the source (a macro call's arguments end there).
    last_end: usize,
}

impl Input {
    fn new(mut tokens: Vec<OwnedToken>) -> Input {
        tokens.reverse();
        Input {
            stack: tokens,
            last_end: 0,
        }
    }

    fn next(&mut self) -> Option<OwnedToken> {
        let token = self.stack.pop();
        if let Some(t) = &token {
            self.last_end = t.origin.end;
        }
        token
    }

    fn pending(&self) -> usize {
        self.stack.len()
    }

    fn push_front(&mut self, tokens: Vec<OwnedToken>) {
        self.stack.extend(tokens.into_iter().rev());
    }

    fn peek_kind(&self) -> Option<&T> {
        self.stack.last().map(|t| &t.kind)
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek_kind(), Some(T::Blank(_))) {
            self.next();
        }
    }

    fn skip_star(&mut self) -> bool {
        self.skip_spaces();
        if matches!(self.peek_kind(), Some(T::Char('*'))) {
            self.next();
            true
        } else {
            false
        }
    }

    /// `\name` or `{\name}`: the name.
    fn macro_name(&mut self) -> Option<String> {
        self.skip_spaces();
        match self.next()?.kind {
            T::Word(name) => Some(name),
            T::Char('{') => {
                self.skip_spaces();
                let name = match self.next()?.kind {
                    T::Word(name) => name,
                    _ => return None,
                };
                self.skip_spaces();
                matches!(self.next()?.kind, T::Char('}')).then_some(name)
            }
            _ => None,
        }
    }

    /// An argument: a brace group (without its braces) or one token.
    fn argument(&mut self) -> Option<Vec<OwnedToken>> {
        match self.peek_kind()? {
            T::Char('{') => self.group(),
            T::Char('}') => None,
            _ => self.next().map(|t| vec![t]),
        }
    }

    /// A brace group at the front, without its braces (an unclosed one runs to the end).
    fn group(&mut self) -> Option<Vec<OwnedToken>> {
        self.skip_spaces();
        if !matches!(self.peek_kind(), Some(T::Char('{'))) {
            return None;
        }
        self.next();
        Some(self.until('}'))
    }

    /// The tokens up to `close` outside braces (a `}` closes at depth 0), the close read
    /// and left out; an unclosed run goes to the end.
    fn until(&mut self, close: char) -> Vec<OwnedToken> {
        let mut depth = 0usize;
        let mut out = Vec::new();
        while let Some(t) = self.next() {
            match t.kind {
                T::Char(c) if c == close && depth == 0 => return out,
                T::Char('{') => depth += 1,
                T::Char('}') => depth = depth.saturating_sub(1),
                _ => {}
            }
            out.push(t);
        }
        out
    }

    fn group_text(&mut self) -> Option<String> {
        self.group()
            .map(|tokens| tokens.iter().map(OwnedToken::text).collect())
    }

    /// `[…]` at the front (spaces skipped), without its brackets; brackets inside braces do
    /// not close it.
    fn bracket_tokens(&mut self) -> Option<Vec<OwnedToken>> {
        let saved = self.stack.len();
        let mut skipped = Vec::new();
        while matches!(self.peek_kind(), Some(T::Blank(_))) {
            skipped.extend(self.next());
        }
        if !matches!(self.peek_kind(), Some(T::Char('['))) {
            self.stack.extend(skipped.into_iter().rev());
            debug_assert_eq!(saved, self.stack.len());
            return None;
        }
        self.next();
        Some(self.until(']'))
    }

    fn bracket(&mut self) -> Option<String> {
        self.bracket_tokens()
            .map(|tokens| tokens.iter().map(OwnedToken::text).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(preamble: &str) -> Macros {
        let mut m = Macros::default();
        let errors = m.read_preamble(preamble, "preamble.sty");
        assert!(errors.is_empty(), "{errors:?}");
        m
    }

    fn expand(m: &mut Macros, tex: &str) -> String {
        match m.expand(tex) {
            Ok(Some(e)) => e.tex,
            Ok(None) => tex.to_owned(),
            Err(e) => panic!("{tex}: {e:?}"),
        }
    }

    /// Found by fuzzing (`tex_expand`): a package macro's arguments copied into a
    /// TeX of some 90 MB, whose tokens asked for 2.2 GB. The expansion is refused
    /// within the formula's budget instead.
    #[test]
    fn a_package_macro_cannot_expand_past_the_budget() {
        let input = "\\newcommand{\\R}{{R}d\u{0}1TT\\usK\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}{\\\u{1}\u{0}\u{0}\\ev\u{13}{xssp\u{0}\u{0}\\eval{}A\u{0}\u{0}pdv[2]{x} x^4 =and\u{0} \\vx\\TA A A\u{4}\\ned{\\R}{\\$md{\\R}{athmmand{\\R}{\\mathbb{%\\`maR";
        let mut m = Macros::builtin();
        if let Some(physics) = crate::tex::packages::package("physics") {
            m.load(physics);
        }
        for formula in input.splitn(3, '$') {
            if let Ok(Some(e)) = m.expand(formula) {
                assert!(e.tex.len() <= max_output(formula.len()) + 64);
            }
        }
    }

    #[test]
    fn preamble_definitions_of_every_form() {
        let mut m = table(
            "% my macros\n\\usepackage{amsmath}\n\\newcommand{\\R}{\\mathbb{R}}\n\\newcommand\\norm[1]{\\left\\|#1\\right\\|}\n\\renewcommand{\\v}[2][1]{v_{#1}^{#2}}\n\\DeclareMathOperator*{\\argmax}{arg\\,max}\n\\def\\pair#1#2{(#1,#2)}\n\\let\\grad\\nabla\n",
        );
        assert_eq!(expand(&mut m, "x \\in \\R^n"), "x \\in \\mathbb{R}^n");
        assert_eq!(
            expand(&mut m, "\\norm{\\mathbf{x}}"),
            "\\left\\|\\mathbf{x}\\right\\|"
        );
        assert_eq!(expand(&mut m, "\\norm x"), "\\left\\|x\\right\\|");
        assert_eq!(expand(&mut m, "\\v{2}"), "v_{1}^{2}");
        assert_eq!(expand(&mut m, "\\v[3]{2}"), "v_{3}^{2}");
        assert_eq!(
            expand(&mut m, "\\argmax_x f"),
            "\\operatorname*{arg\\,max}_x f"
        );
        assert_eq!(expand(&mut m, "\\pair{a}{b}"), "(a,b)");
        assert_eq!(expand(&mut m, "\\grad f"), "\\nabla f");
    }

    #[test]
    fn no_letter_is_glued_to_a_control_word() {
        let mut m = table("\\newcommand{\\g}{\\gamma}");
        assert_eq!(expand(&mut m, "\\g x"), "\\gamma x");
        assert_eq!(expand(&mut m, "\\g{x}"), "\\gamma{x}");
        let mut m = table("\\newcommand{\\s}{\\sigma}\\newcommand{\\y}{y}");
        assert_eq!(expand(&mut m, "\\s\\y"), "\\sigma y");
    }

    #[test]
    fn definitions_in_a_formula_hold_for_later_formulas_and_vanish() {
        let mut m = Macros::default();
        assert_eq!(
            expand(&mut m, "\\newcommand{\\E}{\\mathbb{E}} \\E[X]"),
            " \\mathbb{E}[X]"
        );
        assert_eq!(expand(&mut m, "\\E[Y]"), "\\mathbb{E}[Y]");
        assert_eq!(m.expand("x + y"), Ok(None));
    }

    #[test]
    fn loops_and_explosions_are_errors_not_hangs() {
        let mut m = table("\\newcommand{\\a}{\\a x}");
        let error = m.expand("\\a").expect_err("loops");
        assert!(error.message.contains("expands"), "{}", error.message);
        assert!(
            error.message.contains("preamble.sty:1"),
            "{}",
            error.message
        );
        let mut m = table(
            "\\def\\a{xx}\\def\\b{\\a\\a\\a\\a}\\def\\c{\\b\\b\\b\\b}\\def\\d{\\c\\c\\c\\c}\\def\\e{\\d\\d\\d\\d}\\def\\f{\\e\\e\\e\\e}\\def\\g{\\f\\f\\f\\f}\\def\\h{\\g\\g\\g\\g}\\def\\i{\\h\\h\\h\\h}",
        );
        assert!(m.expand("\\i").is_err());
        let mut m = Macros::default();
        assert!(m.expand("\\def\\x{\\x\\x} \\x").is_err());
        // Arguments doubled at every level: bounded work, not only a bounded result.
        let nested = format!("{}x{}", "\\d{".repeat(40), "}".repeat(40));
        let mut m = table("\\def\\d#1{#1#1}");
        assert!(m.expand(&nested).is_err());
    }

    #[test]
    fn malformed_definitions_are_reported_where_they_are() {
        let mut m = Macros::default();
        let errors = m.read_preamble(
            "\\newcommand{\\a}{x}\n\\def\\b#1.{y}\n\\newcommand{\\c}[x]{z}",
            "p",
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(m.get("a").is_some());
        assert!(errors[0].message.contains("delimited"));
    }

    #[test]
    fn the_map_points_back_at_the_source() {
        let mut m = table("\\newcommand{\\R}{\\mathbb{R}}");
        let src = "a + \\R + b";
        let e = m.expand(src).expect("expands").expect("changed");
        assert_eq!(e.tex, "a + \\mathbb{R} + b");
        let b_out = e.tex.rfind('b').expect("b");
        assert_eq!(e.to_source(b_out), src.find('b').expect("b"));
        let inside = e.tex.find("mathbb").expect("mathbb");
        assert_eq!(e.to_source(inside), src.find("\\R").expect("R"));
        assert_eq!(e.to_source(0), 0);
        assert_eq!(e.source_range(4..14), 4..6);
        assert_eq!(e.source_range(0..e.tex.len()), 0..src.len());
        // A call's expansion stands for the command and its arguments.
        let mut m = table("\\newcommand{\\q}[1]{(#1)}");
        let src = "a = \\q{b}";
        let e = m.expand(src).expect("expands").expect("changed");
        assert_eq!(e.tex, "a = (b)");
        assert_eq!(e.source_range(4..e.tex.len()), 4..src.len());
    }

    #[test]
    fn arguments_keep_their_place() {
        let mut m = table("\\newcommand{\\pd}[2]{\\frac{\\partial #1}{\\partial #2}}");
        let src = "\\pd{f}{x} = 2x";
        let e = m.expand(src).expect("expands").expect("changed");
        assert_eq!(e.tex, "\\frac{\\partial f}{\\partial x} = 2x");
        let eq = e.tex.find('=').expect("=");
        assert_eq!(e.to_source(eq), src.find('=').expect("="));
    }

    #[test]
    fn keyed_definitions_count_their_parameters() {
        let mut m = Macros::default();
        m.define("\\R", "\\mathbb{R}", "notebuild.yaml")
            .expect("ok");
        m.define("vb", "\\mathbf{#1}", "notebuild.yaml")
            .expect("ok");
        assert_eq!(m.get("vb").map(|m| m.params), Some(1));
        assert_eq!(
            expand(&mut m, "\\vb{x} \\in \\R"),
            "\\mathbf{x} \\in \\mathbb{R}"
        );
        assert!(m.define("\\1x", "y", "n").is_err());
    }

    #[test]
    fn the_physics_package_when_the_vault_loads_it() {
        let mut m = table("\\require{physics}");
        for (tex, expanded) in [
            (r"\qty(\frac{a}{b})", r"\left(\frac{a}{b}\right)"),
            (r"\qty[x]", r"\left[x\right]"),
            (r"\qty{x}", r"\left\{x\right\}"),
            (r"\qty|x|", r"\left|x\right|"),
            (r"\abs{x}", r"\left|x\right|"),
            (r"\abs*{x}", r"|x|"),
            (r"\pdv{f}{x}", r"\frac{\partial f}{\partial x}"),
            (r"\pdv{x}", r"\frac{\partial}{\partial x}"),
            (r"\pdv[2]{f}{x}", r"\frac{\partial^{2} f}{\partial x^{2}}"),
            (
                r"\pdv{f}{x}{y}",
                r"\frac{\partial^{2} f}{\partial x \partial y}",
            ),
            (r"\dv{f}{t}", r"\frac{\mathrm{d} f}{\mathrm{d} t}"),
            (r"\dd{x}", r"\mathrm{d}x"),
            (r"\dd x", r"\mathrm{d}x"),
            (
                r"\vb{x} \vdot \vb*{\sigma}",
                r"\mathbf{x} \cdot \boldsymbol{\sigma}",
            ),
            (r"\comm{A}{B}", r"\left[A,B\right]"),
            (r"\ev{H}{\psi}", r"{\langle{\psi}|{H}|{\psi}\rangle}"),
            (r"\ket{0}", r"{|{0}\rangle}"),
            (
                r"\mqty(a & b \\ c & d)",
                r"\begin{pmatrix}a & b \\ c & d\end{pmatrix}",
            ),
            (
                r"\grad \phi + \div \vb{E}",
                r"\nabla \phi + \nabla\cdot \mathbf{E}",
            ),
            (r"\qty(a (b) c)", r"\left(a (b) c\right)"),
            (r"\imat{2}", r"1 & 0 \\ 0 & 1"),
            (r"\xmat{a}{2}{2}", r"a_{11} & a_{12} \\ a_{21} & a_{22}"),
            (r"\xmat{v}{3}{1}", r"v_{1} \\ v_{2} \\ v_{3}"),
        ] {
            assert_eq!(expand(&mut m, tex), expanded, "{tex}");
        }
        // Without the package, `\div` is division and `\qty` unknown.
        let mut m = Macros::builtin();
        assert_eq!(m.expand(r"a \div b").map(|e| e.is_none()), Ok(true));
        // An unclosed delimiter reads nothing: the formula is left as written.
        let mut m = table("\\usepackage{amsmath,physics}");
        assert!(m.expand(r"\qty(x").is_err());
    }

    #[test]
    fn builtins_read_without_errors() {
        let mut m = Macros::default();
        let errors = m.read_preamble(vocab::BUILTIN_MACROS, "built-in");
        assert!(errors.is_empty(), "{errors:?}");
        assert!(m.get("ket").is_some());
    }
}
