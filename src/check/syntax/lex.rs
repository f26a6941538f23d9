//! The checker's tokens: the shared lexer's ([`crate::tex::lex`]) with white space and
//! comments dropped and letters, digits and braces told apart, each with its byte
//! offsets into the span's TeX (so that findings can point at the source).

use crate::tex::lex::{self as tex_lex, Tok as Raw};
use crate::tex::vocab;

/// A token's kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tk {
    /// `\name`, or `\c` for a single non-letter character (`\,`, `\\`, `\{`, `\|`).
    Cmd(String),
    Letter(char),
    Digit(char),
    /// Any other single character: `+ - * / = ( ) [ ] < > , ; : ! ' | ^ _ & ~ ? .`
    Ch(char),
    /// `{`
    Open,
    /// `}`
    Close,
}

/// A token and where it is in the span's TeX (byte offsets).
#[derive(Debug, Clone)]
pub(crate) struct Tok {
    pub tk: Tk,
    pub start: usize,
    pub end: usize,
}

impl Tok {
    pub(crate) fn is_cmd(&self, name: &str) -> bool {
        matches!(&self.tk, Tk::Cmd(c) if c == name)
    }
    pub(crate) fn is_ch(&self, c: char) -> bool {
        self.tk == Tk::Ch(c)
    }
}

/// Splits TeX into tokens, from the shared lexer ([`crate::tex::lex`]). Comments (`% ...`)
/// are dropped; whitespace separates tokens; Unicode spellings (`∂`, `α`) become their
/// commands ([`vocab::UNICODE_COMMANDS`]).
pub(crate) fn lex(src: &str) -> Vec<Tok> {
    let raw = tex_lex::lex(src);
    let mut out = Vec::with_capacity(raw.len());
    let mut k = 0;
    while k < raw.len() {
        let token = &raw[k];
        let (start, mut end) = (token.span.start, token.span.end);
        k += 1;
        let tk = match token.tok {
            Raw::Space | Raw::Comment | Raw::LoneBackslash => continue,
            Raw::Word(name) => {
                // `\operatorname*`: the star belongs to the command.
                if name == "operatorname"
                    && let Some(star) = raw.get(k).filter(|t| t.tok == Raw::Char('*'))
                {
                    end = star.span.end;
                    k += 1;
                }
                Tk::Cmd(name.to_string())
            }
            Raw::Symbol(c) if c.is_whitespace() => Tk::Cmd(" ".to_string()),
            // `z\_j`: markdown that escapes its underscores (Hugo, Jekyll) writes a
            // subscript so; a literal underscore has no place in a formula
            Raw::Symbol('_') => Tk::Ch('_'),
            Raw::Symbol(c) => Tk::Cmd(c.to_string()),
            Raw::Char(c) if c.is_ascii_alphabetic() => Tk::Letter(c),
            Raw::Char(c) if c.is_ascii_digit() => Tk::Digit(c),
            Raw::Char('{') => Tk::Open,
            Raw::Char('}') => Tk::Close,
            Raw::Char('−' | '–') => Tk::Ch('-'),
            Raw::Char(c) => match vocab::unicode_command(c) {
                Some(name) => Tk::Cmd(name.to_string()),
                None => Tk::Ch(c),
            },
        };
        out.push(Tok { tk, start, end });
    }
    over_as_frac(clean(out))
}

/// A numeral written with commas, `0,5` or `7,200`: its digit groups (the
/// tokens' index ranges), and whether it stands where a list could (between `(`,
/// `[`, `,`, `_{` and `)`, `]`, `,`, `}`: `f(1,2)`, `[0,1]`, `x_{1,2}`), where the
/// commas are left as separators.
struct Numeral {
    groups: Vec<(usize, usize)>,
    listed: bool,
}

/// The numerals with commas in `toks` (digits and commas glued together, no
/// space between).
fn comma_numerals(toks: &[Tok]) -> Vec<Numeral> {
    let glued = |a: &Tok, b: &Tok| a.end == b.start;
    let digit = |k: usize| toks.get(k).is_some_and(|t| matches!(t.tk, Tk::Digit(_)));
    let mut out = Vec::new();
    let mut k = 0;
    while k < toks.len() {
        if !digit(k) || (k > 0 && digit(k - 1) && glued(&toks[k - 1], &toks[k])) {
            k += 1;
            continue;
        }
        let first = k;
        let mut groups = Vec::new();
        loop {
            let start = k;
            while digit(k + 1) && glued(&toks[k], &toks[k + 1]) {
                k += 1;
            }
            groups.push((start, k + 1));
            // `,` glued on both sides to digits continues the numeral
            if toks.get(k + 1).is_some_and(|c| c.is_ch(','))
                && digit(k + 2)
                && glued(&toks[k], &toks[k + 1])
                && glued(&toks[k + 1], &toks[k + 2])
            {
                k += 2;
            } else {
                break;
            }
        }
        let last = k;
        k += 1;
        // `[2.5,0.5,2.0]`: with a decimal point, the commas separate
        let point = |a: &Tok, b: &Tok| (a.is_ch('.') || b.is_ch('.')) && glued(a, b);
        let pointed = (first > 0 && point(&toks[first - 1], &toks[first]))
            || toks.get(last + 1).is_some_and(|a| point(&toks[last], a));
        if groups.len() < 2 || pointed {
            continue;
        }
        let before = first.checked_sub(1).map(|b| &toks[b]);
        let opens = before.is_some_and(|b| {
            b.is_ch('(')
                || b.is_ch('[')
                || b.is_ch(',')
                || b.is_ch(';')
                || b.is_cmd("{")
                || (b.tk == Tk::Open && first >= 2 && toks[first - 2].is_ch('_'))
        });
        let closes = toks.get(last + 1).is_some_and(|a| {
            a.is_ch(')')
                || a.is_ch(']')
                || a.is_ch(',')
                || a.is_ch(';')
                || a.is_cmd("}")
                || a.tk == Tk::Close
        });
        out.push(Numeral {
            groups,
            listed: opens && closes,
        });
    }
    out
}

/// Does the TeX write a decimal comma that cannot be a thousands separator
/// (`0,5`, `2,75`, `e^{-0,01t}`), outside a list? Such a note writes `1,500` for
/// 1.5 as well.
pub(crate) fn writes_decimal_comma(toks: &[Tok]) -> bool {
    comma_numerals(toks).iter().any(|n| {
        let [(a0, a1), (b0, b1)] = n.groups[..] else {
            return false;
        };
        !n.listed && (toks[a0].tk == Tk::Digit('0') && a1 - a0 == 1 || b1 - b0 != 3)
    })
}

/// Numerals written with commas, outside a list, read as numbers: `0,5` (a decimal
/// comma) is `0.5`; `7,200` and `1,000,000` (thousands separators) are `7200` and
/// `1000000`, unless the note writes decimal commas (`decimal`), where `7,200` is
/// `7.2`. In a list (`f(1,2)`, `[0,1]`) the commas stay.
pub(crate) fn numeral_commas(toks: Vec<Tok>, decimal: bool) -> Vec<Tok> {
    let mut toks = spaced_digits(toks);
    let numerals = comma_numerals(&toks);
    if numerals.is_empty() {
        return toks;
    }
    // the commas to drop (thousands) and to make points (decimal)
    let mut drop = Vec::new();
    for n in numerals.iter().filter(|n| !n.listed) {
        let (a0, a1) = n.groups[0];
        let thousands = toks[a0].tk != Tk::Digit('0')
            && a1 - a0 <= 3
            && n.groups[1..].iter().all(|(b0, b1)| b1 - b0 == 3);
        match n.groups.len() {
            2 if !thousands || decimal => {
                let comma = n.groups[0].1;
                toks[comma].tk = Tk::Ch('.');
            }
            _ if thousands => {
                drop.extend(n.groups[..n.groups.len() - 1].iter().map(|&(_, end)| end));
            }
            _ => {}
        }
    }
    glue_over(toks, drop)
}

/// The tokens without those at `drop` (separators inside a numeral), the token
/// before each reaching over it, so the digits stay one numeral (contiguous).
fn glue_over(mut toks: Vec<Tok>, drop: Vec<usize>) -> Vec<Tok> {
    if drop.is_empty() {
        return toks;
    }
    for &k in &drop {
        if k > 0 && k < toks.len() {
            toks[k - 1].end = toks[k].end;
        }
    }
    let drop: std::collections::BTreeSet<usize> = drop.into_iter().collect();
    toks.into_iter()
        .enumerate()
        .filter(|(k, _)| !drop.contains(k))
        .map(|(_, t)| t)
        .collect()
}

/// Digits grouped by threes with a thin space (`0,000~098`, `12\,500`): one
/// numeral. The space goes, and the digit before it reaches over it.
fn spaced_digits(toks: Vec<Tok>) -> Vec<Tok> {
    let digit = |t: Option<&Tok>| t.is_some_and(|t| matches!(t.tk, Tk::Digit(_)));
    let glued = |a: &Tok, b: &Tok| a.end == b.start;
    let mut drop = Vec::new();
    for k in 1..toks.len().saturating_sub(3) {
        let (d, sp) = (&toks[k - 1], &toks[k]);
        let three = (k + 1..k + 4).all(|j| digit(toks.get(j)))
            && glued(&toks[k + 1], &toks[k + 2])
            && glued(&toks[k + 2], &toks[k + 3])
            && !(digit(toks.get(k + 4)) && glued(&toks[k + 3], &toks[k + 4]));
        if digit(Some(d)) && is_space(&sp.tk) && glued(d, sp) && glued(sp, &toks[k + 1]) && three {
            drop.push(k);
        }
    }
    glue_over(toks, drop)
}

/// `{a \over b}` (plain TeX's fraction) as `\frac{a}{b}`, so that `{dy \over dx}` is
/// read like `\frac{dy}{dx}`: each group whose top level holds one `\over`
/// (`\atop`-like commands and a second `\over` are left as they are).
fn over_as_frac(toks: Vec<Tok>) -> Vec<Tok> {
    if !toks.iter().any(|t| t.is_cmd("over")) {
        return toks;
    }
    let mut out = Vec::with_capacity(toks.len() + 4);
    rewrite_over(&toks, &mut out);
    out
}

/// Copies `toks` into `out` with every `{a \over b}` group rewritten (nested ones
/// too).
fn rewrite_over(toks: &[Tok], out: &mut Vec<Tok>) {
    let mut k = 0;
    while k < toks.len() {
        let t = &toks[k];
        if t.tk != Tk::Open {
            out.push(t.clone());
            k += 1;
            continue;
        }
        let end = skip_group(toks, k).clamp(k + 1, toks.len());
        let closed = end > k + 1 && toks[end - 1].tk == Tk::Close;
        let inner = &toks[k + 1..if closed { end - 1 } else { end }];
        // the `\over`s at the group's top level
        let mut depth = 0usize;
        let mut overs = Vec::new();
        for (i, u) in inner.iter().enumerate() {
            match u.tk {
                Tk::Open => depth += 1,
                Tk::Close => depth = depth.saturating_sub(1),
                _ if depth == 0 && u.is_cmd("over") => overs.push(i),
                _ => {}
            }
        }
        let at = |tk: Tk, p: usize| Tok {
            tk,
            start: p,
            end: p,
        };
        if let [i] = overs.as_slice() {
            let over = &inner[*i];
            out.push(at(Tk::Cmd("frac".into()), t.start));
            out.push(at(Tk::Open, t.start));
            rewrite_over(&inner[..*i], out);
            out.push(at(Tk::Close, over.start));
            out.push(at(Tk::Open, over.end));
            rewrite_over(&inner[*i + 1..], out);
            let close = if closed {
                toks[end - 1].start
            } else {
                over.end
            };
            out.push(at(Tk::Close, close));
        } else {
            out.push(t.clone());
            rewrite_over(inner, out);
            if closed {
                out.push(toks[end - 1].clone());
            }
        }
        k = end;
    }
}

/// Drops the commands whose argument means nothing for the math with that argument
/// ([`vocab::DROPPED_WITH_ARGUMENT`]: `\label{..}`, `\tag{..}`, `\hspace{..}`,
/// `\phantom{..}`, `\color{..}`), turns `\textcolor{c}{x}` into `x` and reads what a
/// frame holds ([`vocab::FRAMES`]: `\boxed{..}`) in its place.
fn clean(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out = Vec::with_capacity(toks.len());
    // where each group that a frame opens closes (one pass, so that frames nested
    // deep cost no more than flat ones), and those of the frames being read
    let closes = if toks
        .iter()
        .any(|t| matches!(&t.tk, Tk::Cmd(c) if vocab::FRAMES.contains(&c.as_str())))
    {
        group_closes(&toks)
    } else {
        Vec::new()
    };
    let mut frame_ends: Vec<usize> = Vec::new();
    let mut k = 0;
    while k < toks.len() {
        while frame_ends.last().is_some_and(|&e| e < k) {
            frame_ends.pop();
        }
        if frame_ends.last() == Some(&k) {
            frame_ends.pop();
            k += 1;
            continue;
        }
        let t = &toks[k];
        if let Tk::Cmd(c) = &t.tk
            && (vocab::DROPPED_WITH_ARGUMENT.contains(&c.as_str()) || c == "textcolor")
        {
            let mut j = k + 1;
            if toks.get(j).is_some_and(|t| t.is_ch('*')) {
                j += 1;
            }
            if toks.get(j).is_some_and(|t| t.tk == Tk::Open) {
                j = skip_group(&toks, j);
            }
            k = j;
            continue;
        }
        // `\boxed{a = b}`: what the frame holds, as if written without it
        if let Tk::Cmd(c) = &t.tk
            && vocab::FRAMES.contains(&c.as_str())
            && toks.get(k + 1).is_some_and(|u| u.tk == Tk::Open)
        {
            if let Some(Some(close)) = closes.get(k + 1) {
                frame_ends.push(*close);
            }
            k += 2;
            continue;
        }
        // `\overset{(1)}{=}`, `\stackrel{def}{=}`: the annotated symbol, unwrapped
        // (a relation stays a relation)
        if let Tk::Cmd(c) = &t.tk
            && matches!(c.as_str(), "overset" | "underset" | "stackrel")
            && toks.get(k + 1).is_some_and(|u| u.tk == Tk::Open)
        {
            let second = skip_group(&toks, k + 1);
            // `\stackrel{!}{=}`, `\overset{?}{=}`: "shall equal", a condition to
            // impose, not an equality: left unread
            let demand = toks[k + 1..second.min(toks.len())]
                .iter()
                .any(|u| u.is_ch('!') || u.is_ch('?'));
            if !demand && toks.get(second).is_some_and(|u| u.tk == Tk::Open) {
                let end = skip_group(&toks, second).min(toks.len());
                let inner_end = if end > second + 1 && toks[end - 1].tk == Tk::Close {
                    end - 1
                } else {
                    end
                };
                out.extend(toks[second + 1..inner_end].iter().cloned());
                k = end;
                continue;
            }
        }
        // `\underbrace{x}_{\text{label}}`, `\overbrace{x}^{n}`: the braced part
        if let Tk::Cmd(c) = &t.tk
            && matches!(c.as_str(), "underbrace" | "overbrace")
            && toks.get(k + 1).is_some_and(|u| u.tk == Tk::Open)
            && !names_its_content(&toks, k)
        {
            let end = skip_group(&toks, k + 1).min(toks.len());
            out.extend(toks[k + 1..end].iter().cloned());
            k = end;
            let label = if c == "underbrace" { '_' } else { '^' };
            if toks.get(k).is_some_and(|u| u.is_ch(label)) {
                k += 1;
                k = if toks.get(k).is_some_and(|u| u.tk == Tk::Open) {
                    skip_group(&toks, k).min(toks.len())
                } else {
                    (k + 1).min(toks.len())
                };
            }
            continue;
        }
        out.push(t.clone());
        k += 1;
    }
    out
}

/// For each `{`, the index of the `}` that closes it (`None` for every other token and
/// for a group left open).
fn group_closes(toks: &[Tok]) -> Vec<Option<usize>> {
    let mut out = vec![None; toks.len()];
    let mut open: Vec<usize> = Vec::new();
    for (k, t) in toks.iter().enumerate() {
        match t.tk {
            Tk::Open => open.push(k),
            Tk::Close => {
                if let Some(o) = open.pop() {
                    out[o] = Some(k);
                }
            }
            _ => {}
        }
    }
    out
}

/// `\underbrace{X}_{=: L(w)}` at `k`: a brace that defines a name (`=:`), kept for
/// `find` to read as a definition (the parser reads it as X).
fn names_its_content(toks: &[Tok], k: usize) -> bool {
    let end = skip_group(toks, k + 1).min(toks.len());
    toks.get(end).is_some_and(|u| u.is_ch('_'))
        && toks.get(end + 1).is_some_and(|u| u.tk == Tk::Open)
        && toks
            .get(end + 2..end + 4)
            .is_some_and(|w| w[0].is_ch('=') && w[1].is_ch(':'))
}

/// Given `toks[open]` is `{`, the index after its matching `}` (or the end).
pub(crate) fn skip_group(toks: &[Tok], open: usize) -> usize {
    let mut depth = 0i32;
    let mut j = open;
    while j < toks.len() {
        match toks[j].tk {
            Tk::Open => depth += 1,
            Tk::Close => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    toks.len()
}

/// Spacing, size and style commands that carry no meaning for the math: the shared
/// vocabulary's ([`vocab::is_layout_word`], [`vocab::SPACING_SYMBOLS`]), and `~`.
pub(crate) fn is_space(tk: &Tk) -> bool {
    match tk {
        Tk::Cmd(c) => {
            let mut chars = c.chars();
            match (chars.next(), chars.next()) {
                (Some(only), None) if !only.is_ascii_alphabetic() => {
                    vocab::SPACING_SYMBOLS.contains(&only)
                }
                _ => vocab::is_layout_word(c),
            }
        }
        Tk::Ch('~') => true,
        _ => false,
    }
}
