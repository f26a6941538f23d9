//! Text arguments (`\text{…}`), which pulldown-latex prints verbatim: escapes resolved,
//! grouping braces removed, `$…$` set as math, nested text commands honoured.

use super::*;

pub(super) enum Segment {
    Text(String),
    Math(String),
}

/// Width in em of a run of (Unicode) spaces.
pub(super) fn space_width(spaces: &str) -> f32 {
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
pub(super) fn text_to_tex(
    command: &str,
    content: &str,
    mode: MathMode,
) -> Result<String, MathError> {
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
pub(super) fn text_pieces(command: &str, text: &str) -> Vec<String> {
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

pub(super) fn push_text(segments: &mut Vec<Segment>, text: &str) {
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

pub(super) fn text_segments(
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
