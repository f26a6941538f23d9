//! The TeX of a formula as a tree of brace groups and environments, so that rewrites
//! see whole arguments and never touch text inside `\text{}` by accident.

use super::*;

#[derive(Debug)]
pub(super) enum Node<'a> {
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
    pub(super) fn span(&self) -> Range<usize> {
        match self {
            Node::Tok(_, span) | Node::Raw(span) => span.clone(),
            Node::Group { full, .. } | Node::Env { full, .. } => full.clone(),
        }
    }
}

pub(super) enum Frame<'a> {
    Root,
    Group { open: usize },
    Env { name: &'a str, begin: Range<usize> },
}

pub(super) struct Open<'a> {
    frame: Frame<'a>,
    children: Vec<Node<'a>>,
}

/// `\begin{name}` / `\end{name}` starting at token `i`: the name and the index of the `}`.
pub(super) fn env_name<'a>(
    src: &'a str,
    tokens: &[Token<'a>],
    i: usize,
) -> Option<(&'a str, usize)> {
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

pub(super) fn too_deep() -> MathError {
    MathError::new(format!(
        "formula nested too deeply (more than {MAX_DEPTH} levels of braces and environments)"
    ))
}

/// Closes the innermost open frame, which was not closed in the source, at `at`.
pub(super) fn close_unclosed(stack: &mut Vec<Open<'_>>, at: usize) {
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

pub(super) fn build_tree<'a>(
    src: &'a str,
    tokens: &[Token<'a>],
) -> Result<Vec<Node<'a>>, MathError> {
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
