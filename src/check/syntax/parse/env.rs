//! Sums and products, environments (matrices, `cases`) and conditions.

use crate::check::notation::{Func, is_bold, is_text};
use crate::check::syntax::ast::{BinOp, Cond, Expr, Rel};
use crate::check::syntax::lex::{Tk, Tok, is_space, skip_group};

use super::{PErr, PResult, Parser, plain_text, relation, split_branch, split_rows, split_top};

/// The step next to a limit's point (its Richardson extrapolation is exact to about
/// its square).
const LIMIT_STEP: f64 = 1e-5;

impl Parser<'_, '_> {
    /// `\sum_{i=1}^{n} body` (`\prod_{i=1}^{n} body` when `prod`)
    pub(super) fn sum(&mut self, prod: bool) -> PResult<Expr> {
        let what = if prod { "product" } else { "sum" };
        let mut idxs = Vec::new();
        let mut lo = 1i64;
        let mut hi: Option<Expr> = None;
        let mut have_sub = false;
        let mut except: Option<String> = None;
        for _ in 0..2 {
            if self.peek().is_some_and(|t| t.is_ch('_')) && !have_sub {
                self.pos += 1;
                have_sub = true;
                let sub = self.arg_toks()?;
                let s = plain_text(sub).replace(' ', "");
                // `\sum_{k \neq j}`: over every k but j
                if let Some((k, j)) = s.split_once("\\neq").or_else(|| s.split_once("\\ne"))
                    && [k, j]
                        .iter()
                        .all(|n| n.len() == 1 && n.chars().all(|c| c.is_ascii_lowercase()))
                    && k != j
                {
                    idxs.push(k.to_string());
                    except = Some(j.to_string());
                    continue;
                }
                let (names, low) = match s.split_once('=') {
                    Some((a, b)) => (a.to_string(), Some(b.to_string())),
                    None => (s.clone(), None),
                };
                for n in names.split(',') {
                    if n.len() == 1 && n.chars().all(|c| c.is_ascii_lowercase()) {
                        idxs.push(n.to_string());
                    } else if n.len() == 2
                        && n.chars().all(|c| c.is_ascii_lowercase())
                        && low.is_none()
                    {
                        idxs.extend(n.chars().map(|c| c.to_string()));
                    } else {
                        return Err(PErr::unsupported(format!("a {what} over `{s}`")));
                    }
                }
                if let Some(l) = low {
                    lo = l
                        .parse::<i64>()
                        .map_err(|_| PErr::unsupported(format!("a {what} starting at `{l}`")))?;
                }
            } else if self.peek().is_some_and(|t| t.is_ch('^')) && hi.is_none() {
                self.pos += 1;
                let sup = self.arg_toks()?;
                let mut p = self.sub(sup);
                p.bold = false;
                let e = p.expr()?;
                p.expect_end()?;
                hi = Some(e);
            }
        }
        if idxs.is_empty() {
            return Err(PErr::unsupported(format!("a {what} without an index")));
        }
        if idxs.len() > 1 && hi.is_some() {
            return Err(PErr::unsupported(format!("a multiple {what} with bounds")));
        }
        if except.is_some() && (hi.is_some() || prod) {
            return Err(PErr::unsupported(format!(
                "a {what} over all but one index, with bounds"
            )));
        }
        let depth = self.bound.len();
        self.bound.extend(idxs.iter().cloned());
        let body = self.term();
        self.bound.truncate(depth);
        let mut e = body?;
        if let (Some(j), [k]) = (&except, idxs.as_slice()) {
            // every term, less the one at k = j
            let left_out = index_to(e.clone(), k, j);
            let all = Expr::Sum {
                idx: k.clone(),
                lo,
                hi: None,
                body: e.bx(),
                prod,
            };
            return Ok(Expr::bin(BinOp::Sub, all, left_out));
        }
        let n = idxs.len();
        for (k, idx) in idxs.into_iter().enumerate().rev() {
            e = Expr::Sum {
                idx,
                lo,
                hi: if k + 1 == n {
                    hi.take().map(Expr::bx)
                } else {
                    None
                },
                body: e.bx(),
                prod,
            };
        }
        Ok(e)
    }

    /// `\lim_{v \to a} body`, `\lim_{v \to a^+}` (one-sided): the body's value next to
    /// the point, by Richardson extrapolation of its values at `a ± ε/2` and `a ± ε`
    /// (exact for a difference quotient of a quadratic, O(ε²) for a smooth body). A
    /// two-sided limit is the mean of the sides.
    pub(super) fn limit(&mut self) -> PResult<Expr> {
        if !self.peek().is_some_and(|t| t.is_ch('_')) {
            return Err(PErr::unsupported("a limit without its variable"));
        }
        self.pos += 1;
        let sub = self.arg_toks()?;
        let Some(at) = sub
            .iter()
            .position(|t| t.is_cmd("to") || t.is_cmd("rightarrow") || t.is_cmd("longrightarrow"))
        else {
            return Err(PErr::unsupported("a limit not written `v \to a`"));
        };
        let mut p = self.sub(&sub[..at]);
        let var = match p.expr()? {
            Expr::Var(v) => v,
            _ => {
                return Err(PErr::unsupported(
                    "a limit of a variable that is not a letter",
                ));
            }
        };
        let mut target = &sub[at + 1..];
        if target.iter().any(|t| t.is_cmd("infty")) {
            return Err(PErr::unsupported("a limit at infinity"));
        }
        // `a^+`, `a^{-}`: one side
        let mut side = 0.0;
        if let Some(caret) = target.iter().rposition(|t| t.is_ch('^')) {
            let sign: Vec<&Tok> = target[caret + 1..]
                .iter()
                .filter(|t| !matches!(t.tk, Tk::Open | Tk::Close))
                .collect();
            match sign.as_slice() {
                [t] if t.is_ch('+') => side = 1.0,
                [t] if t.is_ch('-') => side = -1.0,
                _ => {}
            }
            if side != 0.0 {
                target = &target[..caret];
            }
        }
        let mut p = self.sub(target);
        let a = p.expr()?;
        p.expect_end()?;
        let body = self.term()?;
        let key = var.key();
        let near = |offset: f64| {
            let point = Expr::bin(BinOp::Add, a.clone(), Expr::Num(offset));
            body.clone().rewrite(&mut |x| match x {
                Expr::Var(s) if s.key() == key => point.clone(),
                other => other,
            })
        };
        let richardson = |s: f64| {
            Expr::bin(
                BinOp::Sub,
                Expr::bin(BinOp::Mul, Expr::Num(2.0), near(s * LIMIT_STEP / 2.0)),
                near(s * LIMIT_STEP),
            )
        };
        if side != 0.0 {
            return Ok(richardson(side));
        }
        // two-sided: the mean of the sides (where they differ, at a kink of |.|,
        // max or a `cases` boundary, the point is not used: see `Cx::near`)
        Ok(Expr::bin(
            BinOp::Mul,
            Expr::Num(0.5),
            Expr::bin(BinOp::Add, richardson(1.0), richardson(-1.0)),
        ))
    }

    /// `\begin{env} ... \end{env}`
    pub(super) fn env(&mut self) -> PResult<Expr> {
        let name_toks = self.arg_toks()?;
        let name = plain_text(name_toks).replace(' ', "");
        // find the matching \end{name}
        let body_start = self.pos;
        let mut depth = 0;
        let mut k = self.pos;
        let mut body_end = None;
        while k < self.toks.len() {
            if self.toks[k].is_cmd("begin") {
                depth += 1;
            } else if self.toks[k].is_cmd("end") {
                if depth == 0 {
                    body_end = Some(k);
                    break;
                }
                depth -= 1;
            }
            k += 1;
        }
        let Some(body_end) = body_end else {
            return Err(PErr::parse(format!("`\\begin{{{name}}}` without `\\end`")));
        };
        self.pos = body_end + 1;
        if self.peek().is_some_and(|t| t.tk == Tk::Open) {
            let _ = self.arg_toks()?;
        }
        let mut body = &self.toks[body_start..body_end];
        if name.starts_with("array") && body.first().is_some_and(|t| t.tk == Tk::Open) {
            let e = skip_group(body, 0);
            body = &body[e.min(body.len())..];
        }
        match name.as_str() {
            "array" | "array*" => self.cases(body).or_else(|_| self.matrix(body)),
            "equation" | "equation*" | "displaymath" | "math" => {
                let mut p = self.sub(body);
                let e = p.expr()?;
                p.expect_end()?;
                Ok(e)
            }
            "cases" | "dcases" | "cases*" | "rcases" => self.cases(body),
            "bmatrix" | "pmatrix" | "matrix" | "Bmatrix" | "bmatrix*" | "pmatrix*"
            | "smallmatrix" => self.matrix(body),
            "vmatrix" => Ok(Expr::Call(Func::Det, vec![self.matrix(body)?])),
            _ => Err(PErr::unsupported(format!("the environment `{name}`"))),
        }
    }

    pub(super) fn matrix(&mut self, body: &[Tok]) -> PResult<Expr> {
        let rows = split_rows(body);
        let mut out = Vec::new();
        for row in rows {
            if row.iter().all(|t| is_space(&t.tk)) {
                continue;
            }
            if row.iter().any(Self::is_dots)
                || row.iter().any(|t| t.is_cmd("vdots") || t.is_cmd("ddots"))
            {
                return Err(PErr::unsupported(
                    "an ellipsis `\\dots` in a matrix literal",
                ));
            }
            let mut cells = split_top(row, |t| t.is_ch('&'));
            if cells.len() == 1 {
                cells = split_top(row, |t| t.is_ch(','));
            }
            let mut r = Vec::new();
            for c in cells {
                if c.iter().all(|t| is_space(&t.tk)) {
                    r.push(Expr::Num(0.0));
                } else {
                    let mut p = self.sub(c);
                    let e = p.expr()?;
                    p.expect_end()?;
                    r.push(e);
                }
            }
            out.push(r);
        }
        if out.is_empty() {
            return Err(PErr::parse("an empty matrix"));
        }
        let w = out[0].len();
        if out.iter().any(|r| r.len() != w) {
            return Err(PErr::parse("matrix rows of different lengths"));
        }
        Ok(Expr::Matrix(out))
    }

    pub(super) fn cases(&mut self, body: &[Tok]) -> PResult<Expr> {
        let mut branches = Vec::new();
        for row in split_rows(body) {
            if row.iter().all(|t| is_space(&t.tk)) {
                continue;
            }
            let (val, cond) = split_branch(row).map_err(|_| {
                PErr::parse(format!(
                    "cannot tell the value from the condition in the `cases` row `{}`",
                    self.cx.text(row)
                ))
            })?;
            let mut val = val;
            while val
                .last()
                .is_some_and(|t| t.is_ch(',') || t.is_ch(';') || is_space(&t.tk))
            {
                val = &val[..val.len() - 1];
            }
            let mut p = self.sub(val);
            if p.peek().is_none() {
                return Err(PErr::parse("a `cases` branch without a value"));
            }
            let v = p.expr()?;
            p.expect_end()?;
            let v = match v {
                Expr::Num(0.0) => Expr::ZeroAny,
                v => v,
            };
            let c = self.condition(cond)?;
            branches.push((v, c));
        }
        if branches.is_empty() {
            return Err(PErr::parse("empty `cases`"));
        }
        Ok(Expr::Cases(self.cx.id(), branches))
    }

    pub(super) fn condition(&self, toks: &[Tok]) -> PResult<Cond> {
        // strip leading words and punctuation: `\text{if}`, `if`, `,`, `\text{for }`
        let mut k = 0;
        loop {
            while k < toks.len() && (is_space(&toks[k].tk) || toks[k].is_ch(',')) {
                k += 1;
            }
            let Some(t) = toks.get(k) else { break };
            if let Tk::Cmd(c) = &t.tk
                && is_text(c.as_str())
            {
                let j = k + 1;
                let e = if toks.get(j).is_some_and(|u| u.tk == Tk::Open) {
                    skip_group(toks, j)
                } else {
                    j + 1
                };
                let words = plain_text(&toks[j.min(toks.len())..e.min(toks.len())]).to_lowercase();
                let w = words.trim().trim_end_matches([',', ':', '.']).trim();
                if matches!(w, "otherwise" | "else" | "o.w." | "elsewhere") {
                    return Ok(Cond::Always);
                }
                if matches!(w, "if" | "for" | "when" | "where" | "whenever" | "if " | "") {
                    k = e;
                    continue;
                }
                if let Some(rest) = w.strip_prefix("if ")
                    && rest.trim().is_empty()
                {
                    k = e;
                    continue;
                }
                return Err(PErr::unsupported(format!(
                    "the condition `{}`",
                    words.trim()
                )));
            }
            if let Tk::Letter(_) = t.tk {
                let mut j = k;
                let mut w = String::new();
                while let Some(Tk::Letter(c)) = toks.get(j).map(|t| &t.tk) {
                    w.push(*c);
                    j += 1;
                }
                if matches!(w.as_str(), "if" | "for" | "when") {
                    k = j;
                    continue;
                }
                if matches!(w.as_str(), "otherwise" | "else") {
                    return Ok(Cond::Always);
                }
            }
            break;
        }
        let toks = &toks[k.min(toks.len())..];
        if toks.iter().all(|t| is_space(&t.tk)) {
            return Err(PErr::parse("a `cases` branch without a condition"));
        }
        // a whole condition in one bold group, `\mathbf{w \cdot x_i + b \le 0}`: its
        // letters are the identity's symbols, in whatever font they have there
        let sig: Vec<usize> = (0..toks.len())
            .filter(|&k| !is_space(&toks[k].tk))
            .collect();
        if let (Some(&a), Some(&b)) = (sig.first(), sig.last())
            && let Tk::Cmd(c) = &toks[a].tk
            && is_bold(c.as_str())
            && sig.get(1).is_some_and(|&o| toks[o].tk == Tk::Open)
            && toks[b].tk == Tk::Close
            && skip_group(toks, sig[1]) == b + 1
            && toks[sig[1] + 1..b]
                .iter()
                .any(|t| relation(&t.tk).is_some())
        {
            return self.condition(&toks[sig[1] + 1..b]);
        }
        // conjunctions: `,` `\text{and}` `\land` `\wedge`
        let parts = split_top(toks, |t| {
            t.is_ch(',') || t.is_cmd("land") || t.is_cmd("wedge")
        });
        if parts.len() > 1 {
            let mut cs = Vec::new();
            for p in parts {
                if p.iter().all(|t| is_space(&t.tk)) {
                    continue;
                }
                cs.push(self.condition(p)?);
            }
            return Ok(Cond::And(cs));
        }
        if let Some(c) = self.interval_condition(toks) {
            return c;
        }
        let mut exprs = Vec::new();
        let mut rels = Vec::new();
        let mut start = 0;
        let mut depth = 0i32;
        for (k, t) in toks.iter().enumerate() {
            match &t.tk {
                Tk::Open | Tk::Ch('(') | Tk::Ch('[') => depth += 1,
                Tk::Close | Tk::Ch(')') | Tk::Ch(']') => depth -= 1,
                _ => {}
            }
            if depth == 0
                && let Some(r) = relation(&t.tk)
            {
                if matches!(r, Rel::Def | Rel::Approx | Rel::Other) {
                    return Err(PErr::unsupported(format!(
                        "the condition `{}`",
                        self.cx.text(toks)
                    )));
                }
                let mut p = self.sub(&toks[start..k]);
                let e = p.expr()?;
                p.expect_end()?;
                exprs.push(e);
                rels.push(r);
                start = k + 1;
            }
        }
        if rels.is_empty() {
            return Err(PErr::unsupported(format!(
                "the condition `{}`",
                self.cx.text(toks)
            )));
        }
        let mut p = self.sub(&toks[start..]);
        let e = p.expr()?;
        p.expect_end()?;
        exprs.push(e);
        Ok(Cond::Rel(exprs, rels))
    }
}

impl Parser<'_, '_> {
    /// `x \in [0, 1)`, `t \in (a, b]`, `x \in [0, \infty)`: a bound on each finite
    /// side, strict at a round bracket. `None` when the tokens are not written so.
    fn interval_condition(&self, toks: &[Tok]) -> Option<PResult<Cond>> {
        let sig: Vec<usize> = (0..toks.len())
            .filter(|&k| !is_space(&toks[k].tk))
            .collect();
        let at = *sig.iter().find(|&&k| toks[k].is_cmd("in"))?;
        let (&first, &last) = (sig.iter().find(|&&k| k > at)?, sig.last()?);
        let open = &toks[first];
        let close = &toks[last];
        if !(open.is_ch('[') || open.is_ch('(')) || !(close.is_ch(']') || close.is_ch(')')) {
            return None;
        }
        let inner = &toks[first + 1..last];
        let parts = split_top(inner, |t| t.is_ch(','));
        let [lo, hi] = parts.as_slice() else {
            return None;
        };
        let infinite = |p: &[Tok]| p.iter().any(|t| t.is_cmd("infty"));
        let parse = |p: &[Tok]| -> PResult<Expr> {
            let mut q = self.sub(p);
            let e = q.expr()?;
            q.expect_end()?;
            Ok(e)
        };
        let x = match parse(&toks[..at]) {
            Ok(x) => x,
            Err(e) => return Some(Err(e)),
        };
        let mut cs = Vec::new();
        if !infinite(lo) {
            let r = if open.is_ch('[') { Rel::Le } else { Rel::Lt };
            match parse(lo) {
                Ok(a) => cs.push(Cond::Rel(vec![a, x.clone()], vec![r])),
                Err(e) => return Some(Err(e)),
            }
        }
        if !infinite(hi) {
            let r = if close.is_ch(']') { Rel::Le } else { Rel::Lt };
            match parse(hi) {
                Ok(b) => cs.push(Cond::Rel(vec![x, b], vec![r])),
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok(Cond::And(cs)))
    }
}

/// `e` with the index `k` written `j` (`y_k \log p_k` to `y_j \log p_j`), except
/// inside a sum that binds its own `k`.
fn index_to(e: Expr, k: &str, j: &str) -> Expr {
    match e {
        Expr::Sum { ref idx, .. } if idx == k => e,
        Expr::Var(mut s) if s.sub.as_deref() == Some(k) => {
            s.sub = Some(j.to_string());
            Expr::Var(s)
        }
        Expr::Var(mut s) if s.sub.is_none() && s.base == k => {
            s.base = j.to_string();
            Expr::Var(s)
        }
        other => other
            .map_children(&mut |c| Ok::<_, std::convert::Infallible>(index_to(c, k, j)))
            .unwrap_or_else(|never| match never {}),
    }
}
