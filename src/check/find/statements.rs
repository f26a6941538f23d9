//! Statements and the derivative detector: a span splits into statements (at `\\`
//! rows of `align`-like environments, `\implies`, `\quad`, `;`, words in `\text{}`
//! and commas between relations), a statement into members at its relations; a
//! member holds a derivative when [`has_deriv`] (or a primed or subscripted
//! function) says so.

use std::collections::BTreeMap;

use crate::check::notation::{
    DERIV_CMDS, DIFFERENTIAL, PROSE_CMDS, STATEMENT_BREAK_CMDS, UPRIGHT_D_CMDS, func_by_name,
    func_command, is_bold, is_frac, is_text,
};
use crate::check::syntax::{self, Rel, Sym, Tk, Tok, is_space, plain_text, skip_group};

use super::{Def, State};

const ALIGN_ENVS: &[&str] = &[
    "align",
    "align*",
    "aligned",
    "flalign",
    "flalign*",
    "alignat",
    "alignat*",
    "alignedat",
    "split",
    "gather",
    "gather*",
    "gathered",
    "multline",
    "multline*",
    "eqnarray",
    "eqnarray*",
    "equation",
    "equation*",
    "displaymath",
    "math",
];

/// Splits a span into statements (owned token lists keeping their offsets).
pub(crate) fn statements(toks: &[Tok]) -> Vec<Vec<Tok>> {
    let mut out: Vec<Vec<Tok>> = Vec::new();
    let mut cur: Vec<Tok> = Vec::new();
    let mut row_break = false;
    let mut env_stack: Vec<String> = Vec::new();
    let mut k = 0;
    while k < toks.len() {
        let t = &toks[k];
        // a new row: continue the previous chain only when it starts with a relation
        // (`\\\\`, an empty row, as escaped markdown writes a row break, is one break)
        let another_break = matches!(&t.tk, Tk::Cmd(c) if c == "\\" || c == "cr" || c == "newline");
        if row_break && !is_space(&t.tk) && !t.is_ch('&') && !another_break {
            row_break = false;
            if syntax::relation(&t.tk).is_none() {
                flush(&mut cur, &mut out);
            }
        }
        match &t.tk {
            Tk::Cmd(c) if c == "begin" => {
                k = begin_env(toks, k, &mut env_stack, &mut cur);
                continue;
            }
            Tk::Cmd(c) if c == "end" => {
                let name_end = if toks.get(k + 1).is_some_and(|u| u.tk == Tk::Open) {
                    skip_group(toks, k + 1)
                } else {
                    k + 2
                };
                env_stack.pop();
                k = name_end;
                continue;
            }
            Tk::Cmd(c)
                if is_bold(c.as_str()) && toks.get(k + 1).is_some_and(|u| u.tk == Tk::Open) =>
            {
                k = bold_group(toks, k, &mut cur);
                continue;
            }
            Tk::Open => {
                let end = skip_group(toks, k);
                cur.extend_from_slice(&toks[k..end]);
                k = end;
                continue;
            }
            Tk::Cmd(c) if c == "\\" || c == "cr" || c == "newline" => {
                row_break = true;
                k += 1;
                // `\\[10pt]`: the space after the row, a length, not math
                let mut j = k;
                while toks.get(j).is_some_and(|u| is_space(&u.tk)) {
                    j += 1;
                }
                if toks.get(j).is_some_and(|u| u.is_ch('['))
                    && let Some(len) = toks[j + 1..].iter().position(|u| u.is_ch(']'))
                    && toks[j + 1..j + 1 + len].iter().all(|u| {
                        matches!(u.tk, Tk::Digit(_) | Tk::Letter(_))
                            || u.is_ch('.')
                            || u.is_ch('-')
                            || is_space(&u.tk)
                    })
                {
                    k = j + len + 2;
                }
                continue;
            }
            Tk::Ch('&') => {
                k += 1;
                continue;
            }
            Tk::Cmd(c)
                if STATEMENT_BREAK_CMDS.contains(&c.as_str())
                    || PROSE_CMDS.contains(&c.as_str()) =>
            {
                if PROSE_CMDS.contains(&c.as_str()) {
                    k = text_group(toks, k, &mut cur, &mut out);
                    continue;
                }
                flush(&mut cur, &mut out);
                k += 1;
                continue;
            }
            Tk::Ch(';') => {
                flush(&mut cur, &mut out);
                k += 1;
                continue;
            }
            // `\ \ \ \ a > 0`: a run of spaces set by hand separates like `\quad`
            Tk::Cmd(c) if c == " " && toks.get(k + 1).is_some_and(|u| u.is_cmd(" ")) => {
                flush(&mut cur, &mut out);
                while toks.get(k).is_some_and(|u| u.is_cmd(" ")) {
                    k += 1;
                }
                continue;
            }
            _ => {}
        }
        cur.push(t.clone());
        k += 1;
    }
    flush(&mut cur, &mut out);
    split_at_commas(out)
}

/// At `\begin{name}` (`toks[k]`): an `align`-like environment is entered (its rows
/// are statements); another is copied whole into the statement. The index after.
fn begin_env(toks: &[Tok], k: usize, env_stack: &mut Vec<String>, cur: &mut Vec<Tok>) -> usize {
    let name_end = if toks.get(k + 1).is_some_and(|u| u.tk == Tk::Open) {
        skip_group(toks, k + 1)
    } else {
        k + 2
    };
    let name =
        plain_text(&toks[(k + 1).min(toks.len())..name_end.min(toks.len())]).replace(' ', "");
    if ALIGN_ENVS.contains(&name.as_str()) {
        env_stack.push(name);
        let mut k = name_end;
        // alignat{n}
        if toks.get(k).is_some_and(|u| u.tk == Tk::Open)
            && env_stack.last().is_some_and(|n| n.starts_with("alignat"))
        {
            k = skip_group(toks, k);
        }
        return k;
    }
    // another environment: copy it whole
    let end = env_end(toks, k);
    cur.extend_from_slice(&toks[k..end]);
    end
}

/// At a bold command with a group (`toks[k]`): copied into the statement, with a
/// relation inside lifted out (`\mathbf{f(g(x)) = ...}`). The index after.
fn bold_group(toks: &[Tok], k: usize, cur: &mut Vec<Tok>) -> usize {
    let t = &toks[k];
    let end = skip_group(toks, k + 1);
    let inner = &toks[(k + 2).min(end)..end.saturating_sub(1).max(k + 2)];
    // `\mathbf{f(g(x)) = ...}`: lift the relation out of the bold group
    let parts = syntax::split_top(inner, |u| syntax::relation(&u.tk) == Some(Rel::Eq));
    if parts.len() > 1 {
        let mut at = 0;
        for (n, p) in parts.iter().enumerate() {
            if n > 0 {
                let eq = &inner[at - 1];
                cur.push(eq.clone());
            }
            let mark = p.first().map_or(t.start, |u| u.start);
            cur.push(Tok {
                tk: t.tk.clone(),
                start: mark,
                end: mark,
            });
            cur.push(Tok {
                tk: Tk::Open,
                start: mark,
                end: mark,
            });
            cur.extend_from_slice(p);
            cur.push(Tok {
                tk: Tk::Close,
                start: mark,
                end: mark,
            });
            at += p.len() + 1;
        }
    } else {
        cur.extend_from_slice(&toks[k..end]);
    }
    end
}

/// At a text command (`toks[k]`): a word (`\text{for all}`) ends the statement;
/// anything else (`\text{sum}(x)`) is copied into it. The index after.
fn text_group(toks: &[Tok], k: usize, cur: &mut Vec<Tok>, out: &mut Vec<Vec<Tok>>) -> usize {
    let end = if toks.get(k + 1).is_some_and(|u| u.tk == Tk::Open) {
        skip_group(toks, k + 1)
    } else {
        k + 2
    };
    let w = plain_text(&toks[(k + 1).min(toks.len())..end.min(toks.len())]);
    let w = w.trim();
    let is_word = w.chars().count() >= 2
        && w.chars()
            .all(|c| c.is_alphabetic() || c == ' ' || c == ',' || c == '.')
        && func_by_name(w).is_none()
        && w.len() <= 40;
    let followed_by_paren = toks
        .get(end)
        .is_some_and(|u| u.is_ch('(') || u.is_cmd("left"));
    if is_word && !followed_by_paren {
        flush(cur, out);
        return end;
    }
    cur.extend_from_slice(&toks[k..end.min(toks.len())]);
    end
}

/// Ends the statement being gathered (dropped if blank).
fn flush(cur: &mut Vec<Tok>, out: &mut Vec<Vec<Tok>>) {
    if cur.iter().any(|t| !is_space(&t.tk)) {
        out.push(std::mem::take(cur));
    } else {
        cur.clear();
    }
}

/// Commas between relations separate statements (`x > 0, y = ...`); a piece
/// without a relation stays with the one before.
fn split_at_commas(out: Vec<Vec<Tok>>) -> Vec<Vec<Tok>> {
    let mut res = Vec::new();
    for s in out {
        let pieces = syntax::split_top(&s, |t| t.is_ch(','));
        if pieces.len() == 1 {
            res.push(trim_punct(s));
            continue;
        }
        let mut acc: Vec<Tok> = Vec::new();
        for (n, p) in pieces.iter().enumerate() {
            if n > 0 && !acc.is_empty() {
                // keep the comma when merging a relation-less piece
                if let Some(c) = s
                    .iter()
                    .find(|t| t.is_ch(',') && t.start >= acc.last().map_or(0, |l| l.end))
                {
                    acc.push(c.clone());
                }
            }
            acc.extend_from_slice(p);
            if has_relation(p) || n + 1 == pieces.len() {
                if acc.iter().any(|t| !is_space(&t.tk)) {
                    res.push(trim_punct(std::mem::take(&mut acc)));
                }
                acc.clear();
            }
        }
    }
    res
}

fn trim_punct(mut s: Vec<Tok>) -> Vec<Tok> {
    while s
        .last()
        .is_some_and(|t| t.is_ch('.') || t.is_ch(',') || is_space(&t.tk))
    {
        s.pop();
    }
    s
}

fn has_relation(toks: &[Tok]) -> bool {
    syntax::split_top(toks, |t| syntax::relation(&t.tk).is_some()).len() > 1
}

/// Index after the `\end{..}` matching the `\begin` at `k`.
fn env_end(toks: &[Tok], k: usize) -> usize {
    let mut depth = 0;
    let mut j = k;
    while j < toks.len() {
        if toks[j].is_cmd("begin") {
            depth += 1;
        } else if toks[j].is_cmd("end") {
            depth -= 1;
            if depth == 0 {
                let e = if toks.get(j + 1).is_some_and(|u| u.tk == Tk::Open) {
                    skip_group(toks, j + 1)
                } else {
                    j + 1
                };
                return e;
            }
        }
        j += 1;
    }
    toks.len()
}

/// Does this token list contain a derivative?
pub(crate) fn has_deriv(toks: &[Tok]) -> bool {
    for (k, t) in toks.iter().enumerate() {
        let Tk::Cmd(c) = &t.tk else {
            continue;
        };
        if DERIV_CMDS.contains(&c.as_str()) {
            return true;
        }
        // `\operatorname{div}`, `\mathrm{curl}` of a bold vector (field): a divergence,
        // a curl (`\operatorname{div}(f)` of a function is a divisor)
        if (c == "operatorname" || is_text(c)) && toks.get(k + 1).is_some_and(|u| u.tk == Tk::Open)
        {
            let e = skip_group(toks, k + 1);
            let inner = &toks[(k + 2).min(e)..e.saturating_sub(1).max(k + 2)];
            let bold_next = toks[e.min(toks.len())..]
                .iter()
                .take_while(|u| syntax::relation(&u.tk).is_none())
                .take(40)
                .any(|u| matches!(&u.tk, Tk::Cmd(b) if is_bold(b)));
            if bold_next && matches!(plain_text(inner).replace(' ', "").as_str(), "div" | "curl") {
                return true;
            }
        }
        if is_frac(c) && toks.get(k + 1).is_some_and(|u| u.tk == Tk::Open) {
            let e1 = skip_group(toks, k + 1);
            if toks.get(e1).is_some_and(|u| u.tk == Tk::Open) {
                let e2 = skip_group(toks, e1);
                let num = &toks[(k + 2).min(e1)..e1.saturating_sub(1).max(k + 2)];
                let den = &toks[(e1 + 1).min(e2)..e2.saturating_sub(1).max(e1 + 1)];
                if starts_with_d(num) && starts_with_d(den) {
                    return true;
                }
            }
        }
    }
    false
}

/// The subscript of `f_x`, `f_{xy}` for a function `f(x, y)` defined in the note
/// (every subscript letter one of its parameters): the parameters to differentiate
/// by, in order.
pub(super) fn sub_partials(s: &Sym, st: &State) -> Option<Vec<Sym>> {
    let sub = s.sub.as_ref()?;
    if s.bold || st.syms.contains_key(&s.key()) {
        return None;
    }
    let Some(Def::Func { params, .. }) = st.funcs.get(&s.base) else {
        return None;
    };
    let mut out = Vec::new();
    for c in sub.chars() {
        let p = params
            .iter()
            .find(|p| p.sub.is_none() && p.base == c.to_string())?;
        out.push(p.clone());
    }
    (!out.is_empty() && out.len() <= 3).then_some(out)
}

/// `f_x`, `f_{xy}` (not followed by `(`) for a function `f(x, y)` defined in the
/// note: a partial derivative.
pub(super) fn has_sub_partial(toks: &[Tok], st: &State) -> bool {
    let sig: Vec<&Tok> = toks.iter().filter(|t| !is_space(&t.tk)).collect();
    for k in 1..sig.len() {
        if !sig[k].is_ch('_') {
            continue;
        }
        let name = match &sig[k - 1].tk {
            Tk::Letter(c) => c.to_string(),
            Tk::Cmd(c) => format!("\\{c}"),
            _ => continue,
        };
        let (sub, next) = match sig.get(k + 1).map(|t| &t.tk) {
            Some(Tk::Letter(c)) => (c.to_string(), k + 2),
            Some(Tk::Open) => {
                let mut s = String::new();
                let mut j = k + 2;
                while let Some(Tk::Letter(c)) = sig.get(j).map(|t| &t.tk) {
                    s.push(*c);
                    j += 1;
                }
                if sig.get(j).map(|t| &t.tk) != Some(&Tk::Close) {
                    continue;
                }
                (s, j + 1)
            }
            _ => continue,
        };
        if sig.get(next).is_some_and(|t| t.is_ch('(')) {
            continue;
        }
        let s = Sym {
            base: name,
            sub: Some(sub),
            bold: false,
            upper: false,
        };
        if sub_partials(&s, st).is_some() {
            return true;
        }
    }
    false
}

/// `f'(x)` for a function defined in the note (a prime after its name, then `(`).
pub(super) fn has_prime_call(toks: &[Tok], funcs: &BTreeMap<String, Def>) -> bool {
    let sig: Vec<&Tok> = toks.iter().filter(|t| !is_space(&t.tk)).collect();
    for (k, t) in sig.iter().enumerate() {
        let primed = t.is_ch('\'')
            || t.is_cmd("prime")
            || (t.is_ch('^')
                && (sig.get(k + 1).is_some_and(|u| u.is_cmd("prime"))
                    || (sig.get(k + 1).is_some_and(|u| u.tk == Tk::Open)
                        && sig.get(k + 2).is_some_and(|u| u.is_cmd("prime")))));
        if !primed || k == 0 {
            continue;
        }
        // the name before the primes: a letter run or a single letter
        let mut j = k;
        while j > 0 && (sig[j - 1].is_ch('\'') || sig[j - 1].is_cmd("prime")) {
            j -= 1;
        }
        if primed_bracket(&sig[..j]) {
            return true;
        }
        let mut name = String::new();
        let mut i = j;
        while i > 0 {
            if let Tk::Letter(c) = sig[i - 1].tk {
                name.insert(0, c);
                i -= 1;
            } else {
                break;
            }
        }
        // a Greek letter (`\phi'(x)`), or a built-in function (`\sigma'(t)`,
        // `\tanh^{\prime}(x)`) applied to an argument
        if name.is_empty()
            && let Some(Tk::Cmd(c)) = j.checked_sub(1).map(|i| &sig[i].tk)
            && (funcs.contains_key(&format!("\\{c}"))
                || ((func_command(c).is_some() || c == "sigma")
                    && sig[k + 1..]
                        .iter()
                        .find(|u| {
                            !u.is_ch('\'')
                                && !u.is_cmd("prime")
                                && !u.is_ch('^')
                                && u.tk != Tk::Open
                                && u.tk != Tk::Close
                        })
                        .is_some_and(|u| u.is_ch('('))))
        {
            return true;
        }
        if name.is_empty() {
            continue;
        }
        // a single letter, or a glued run (`activation'`)
        let names = [
            name.clone(),
            name.chars().last().map(String::from).unwrap_or_default(),
        ];
        if names.iter().any(|n| funcs.contains_key(n)) {
            return true;
        }
    }
    false
}

/// Do these tokens end with a bracket of lowercase letters, numbers and functions
/// (`(fg)`, `\left(\frac{f}{g}\right)`, `(f \circ g)`), which a prime after it
/// differentiates? Not one holding a capital or bold letter: `(AB)'`, `(X'X)'`
/// write transposes.
fn primed_bracket(sig: &[&Tok]) -> bool {
    let Some(last) = sig.len().checked_sub(1) else {
        return false;
    };
    // `\right)`: the delimiter follows `\right`
    let close = &sig[last];
    if !(close.is_ch(')') || close.is_ch(']')) {
        return false;
    }
    let mut depth = 0usize;
    let mut open = None;
    for i in (0..=last).rev() {
        let t = sig[i];
        if t.is_ch(')') || t.is_ch(']') {
            depth += 1;
        } else if t.is_ch('(') || t.is_ch('[') {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                open = Some(i);
                break;
            }
        }
    }
    let Some(open) = open else {
        return false;
    };
    let inner = &sig[open + 1..last];
    !inner.is_empty()
        && inner.iter().all(|t| match &t.tk {
            Tk::Letter(c) => !c.is_ascii_uppercase(),
            Tk::Cmd(c) => !is_bold(c) && c != "top" && c != "intercal" && c != "mathsf",
            _ => true,
        })
}

/// Does the numerator or denominator of a fraction start with a differential (`d`,
/// `\mathrm{d}`)? Not a function name starting with `d` (`det`, `diag`).
fn starts_with_d(toks: &[Tok]) -> bool {
    let sig: Vec<&Tok> = toks.iter().filter(|t| !is_space(&t.tk)).collect();
    match sig.first() {
        Some(t) if t.tk == Tk::Letter(DIFFERENTIAL) => {
            // not `det`, `diag`
            let mut run = String::from(DIFFERENTIAL);
            for u in &sig[1..] {
                if let Tk::Letter(c) = u.tk {
                    run.push(c);
                } else {
                    break;
                }
            }
            !(run.len() >= 2 && func_by_name(&run).is_some())
        }
        Some(t) if UPRIGHT_D_CMDS.iter().any(|c| t.is_cmd(c)) => {
            sig.get(1).is_some_and(|u| u.tk == Tk::Letter(DIFFERENTIAL))
                || (sig.get(1).is_some_and(|u| u.tk == Tk::Open)
                    && sig.get(2).is_some_and(|u| u.tk == Tk::Letter(DIFFERENTIAL))
                    && sig.get(3).is_some_and(|u| u.tk == Tk::Close))
        }
        _ => false,
    }
}

/// Splits a statement into members at top-level relations.
pub(super) fn members(stmt: &[Tok]) -> (Vec<&[Tok]>, Vec<Rel>) {
    let mut mems = Vec::new();
    let mut rels = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let mut k = 0;
    while k < stmt.len() {
        let t = &stmt[k];
        match &t.tk {
            Tk::Open | Tk::Ch('(') | Tk::Ch('[') => depth += 1,
            Tk::Close | Tk::Ch(')') | Tk::Ch(']') => depth -= 1,
            Tk::Cmd(c) if c == "begin" || c == "left" => depth += 1,
            Tk::Cmd(c) if c == "end" || c == "right" => depth -= 1,
            _ => {}
        }
        // `\left.` / `\right|` carry a delimiter token after them
        if (t.is_cmd("left") || t.is_cmd("right")) && k + 1 < stmt.len() {
            k += 2;
            continue;
        }
        if depth == 0 {
            // `:=`
            if t.is_ch(':') && stmt.get(k + 1).is_some_and(|u| u.is_ch('=')) {
                mems.push(&stmt[start..k]);
                rels.push(Rel::Def);
                start = k + 2;
                k += 2;
                continue;
            }
            // `=:`
            if let Some(r) = syntax::relation(&t.tk) {
                // `\stackrel{def}{=}` is handled as a plain `=` (the group was copied)
                mems.push(&stmt[start..k]);
                rels.push(r);
                start = k + 1;
            }
        }
        k += 1;
    }
    mems.push(&stmt[start.min(stmt.len())..]);
    (mems, rels)
}

pub(super) fn is_blank_or_prompt(toks: &[Tok]) -> bool {
    let s: String = plain_text(toks).replace(' ', "");
    s.is_empty()
        || s == "?"
        || s == "\\?"
        || s == "\\text?"
        || s == "\\square"
        || s == "\\dots"
        || s == "\\ldots"
        || s == "\\cdots"
        || s.chars().all(|c| c == '_' || c == '\\')
}
