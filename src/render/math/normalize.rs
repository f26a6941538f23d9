//! Normalisation: TeX rewritten token-wise into TeX pulldown-latex renders faithfully
//! (see the list in the parent module's documentation).

use super::*;

/// What `\ `, `~` and `\space` become: pulldown-latex prints them as a literal "&nbsp;".
/// Braced so that it stays a single argument (`x^\ `).
pub(super) const CONTROL_SPACE: &str = "{\\hspace{0.3333em}}";

/// Commands followed by a delimiter.
pub(super) const DELIMITER_COMMANDS: &[&str] = &[
    "left", "right", "middle", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
    "biggl", "biggr", "Biggl", "Biggr", "bigm", "Bigm", "biggm", "Biggm",
];

/// Environments whose wrapper is removed (they only add an equation number).
pub(super) const EQUATION_LIKE: &[&str] = &[
    "equation",
    "equation*",
    "subequations",
    "displaymath",
    "math",
];

/// Commands the renderer writes under another name: fonts (from [`vocab::FONTS`]) and
/// cancellations.
pub(super) fn renamed(name: &str) -> Option<&'static str> {
    if let Some(font) = vocab::font_command(name) {
        return (font.render_as != font.name).then_some(font.render_as);
    }
    Some(match name {
        "bcancel" | "xcancel" => "cancel",
        _ => return None,
    })
}

/// Extensible arrows pulldown-latex lacks, and the long arrow standing for them.
pub(super) fn extensible_arrow(name: &str) -> Option<&'static str> {
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
pub(super) const DOTS_CENTERED_BEFORE: &str = "\
    cdot times pm mp div ast star circ bullet oplus ominus otimes odot oslash cup cap wedge \
    vee land lor setminus le leq ge geq ne neq approx equiv sim simeq cong propto to \
    rightarrow leftarrow mapsto Rightarrow Leftarrow implies iff subset subseteq supset \
    supseteq in ni ll gg mid int iint oint";

/// Rewrites `tex` into TeX pulldown-latex renders faithfully (see the module documentation).
pub(super) fn normalize(tex: &str, mode: MathMode) -> Result<String, MathError> {
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

pub(super) fn is_newline(node: &Node<'_>) -> bool {
    matches!(node, Node::Tok(Tok::Symbol('\\') | Tok::Word("newline"), _))
}

pub(super) fn is_blank(node: &Node<'_>) -> bool {
    matches!(node, Node::Tok(Tok::Space | Tok::Comment, _))
}

pub(super) struct Emitter<'s> {
    src: &'s str,
    mode: MathMode,
    out: String,
}

impl<'s> Emitter<'s> {
    pub(super) fn push(&mut self, s: &str) {
        push_tex(&mut self.out, s);
    }

    pub(super) fn raw(&mut self, span: Range<usize>) {
        let src = self.src;
        self.push(src.get(span).unwrap_or(""));
    }

    pub(super) fn sub_normalize(&self, tex: &str) -> Result<String, MathError> {
        normalize(tex, self.mode)
    }

    /// The whole formula: equation wrappers removed, stray `\\` handled.
    pub(super) fn top(&mut self, nodes: &[Node<'s>]) -> Result<(), MathError> {
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
    pub(super) fn next_significant(nodes: &[&Node<'_>], mut i: usize) -> usize {
        while i < nodes.len() && is_blank(nodes[i]) {
            i += 1;
        }
        i
    }

    /// Takes the argument starting at `*i` (blanks skipped), advancing `*i` past it.
    /// An argument is a brace group or a single token.
    pub(super) fn take_arg<'n>(nodes: &[&'n Node<'s>], i: &mut usize) -> Option<&'n Node<'s>> {
        let j = Self::next_significant(nodes, *i);
        let node = *nodes.get(j)?;
        if matches!(node, Node::Tok(Tok::Char('}' | '&') | Tok::Symbol('\\'), _)) {
            return None;
        }
        *i = j + 1;
        Some(node)
    }

    /// Takes a `*` at `*i` (blanks skipped), if there is one.
    pub(super) fn take_star(nodes: &[&Node<'_>], i: &mut usize) -> bool {
        let j = Self::next_significant(nodes, *i);
        if matches!(nodes.get(j), Some(Node::Tok(Tok::Char('*'), _))) {
            *i = j + 1;
            true
        } else {
            false
        }
    }

    /// Takes an optional `[…]` argument at `*i`, returning its source.
    pub(super) fn take_optional(&self, nodes: &[&Node<'_>], i: &mut usize) -> Option<&'s str> {
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
    pub(super) fn arg_content(&self, arg: &Node<'_>) -> &'s str {
        let span = match arg {
            Node::Group { inner, .. } => inner.clone(),
            other => other.span(),
        };
        self.src.get(span).unwrap_or("")
    }

    /// The source of an argument, braces included.
    pub(super) fn arg_source(&self, arg: &Node<'_>) -> &'s str {
        self.src.get(arg.span()).unwrap_or("")
    }

    pub(super) fn list(&mut self, nodes: &[&Node<'s>]) -> Result<(), MathError> {
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
    pub(super) fn array(&mut self, name: &str, children: &[&Node<'s>]) -> Result<(), MathError> {
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
    pub(super) fn infix_fraction(&mut self, nodes: &[&Node<'s>]) -> Result<bool, MathError> {
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

    pub(super) fn token(
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

    pub(super) fn word(
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
                // An empty group stays, as a base for what follows (`\phantom{x}_{i}`).
                Self::take_arg(nodes, i);
                self.push("{}");
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
    pub(super) fn argument_only(
        &mut self,
        nodes: &[&Node<'s>],
        i: &mut usize,
    ) -> Result<(), MathError> {
        if let Some(arg) = Self::take_arg(nodes, i) {
            let tex = self.sub_normalize(self.arg_content(arg))?;
            self.push(&format!("{{{tex}}}"));
        }
        Ok(())
    }
}

pub(super) fn flatten_equations<'n, 'a>(nodes: &'n [Node<'a>], flat: &mut Vec<&'n Node<'a>>) {
    for node in nodes {
        match node {
            Node::Env { name, children, .. } if EQUATION_LIKE.contains(name) => {
                flatten_equations(children, flat)
            }
            _ => flat.push(node),
        }
    }
}

/// The content of `\operatorname{…}` as plain text pulldown-latex can show (it prints the
/// argument verbatim), or `None` when it holds other commands.
pub(super) fn operator_name(content: &str) -> Option<String> {
    let mut out = String::with_capacity(content.len());
    for token in lex(content) {
        match token.tok {
            Tok::Char('{' | '}') | Tok::Comment | Tok::Symbol('!' | '-') => {}
            Tok::Char('~') | Tok::Symbol(' ' | '\t' | '\n' | '\r') => out.push('\u{a0}'),
            // pulldown-latex writes the name into the page as it is: markup characters
            // take the path of other content (`\mathrm`, which escapes them).
            Tok::Char('<' | '>' | '&' | '"' | '\'') => return None,
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
pub(super) fn unicode_char(content: &str) -> Option<char> {
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
