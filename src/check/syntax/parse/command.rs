//! TeX commands: Greek letters, fonts, text, accents, `\mathbb`, `\sqrt`,
//! `\left`, and the commands the checker refuses.

use crate::check::notation::{
    DECOR_CMDS, Func, TEXT_MODE_CMDS, UNSUPPORTED_CMDS, func_by_name, func_command, greek, is_bold,
    is_frac, is_text,
};
use crate::check::syntax::ast::{BinOp, Expr, Rel, VecOp};
use crate::check::syntax::lex::{Tk, Tok, is_space, skip_group};

use super::{PErr, PResult, Parser, has_top_relation, norm_sub, plain_text, relation, split_top};

impl Parser<'_, '_> {
    pub(super) fn command(&mut self, c: &str) -> PResult<Expr> {
        let start = self.pos;
        self.pos += 1; // the command itself
        if let Some(upper) = greek(c) {
            return self.greek_letter(c, upper);
        }
        match c {
            "pi" => Ok(Expr::Num(std::f64::consts::PI)),
            _ if is_frac(c) => self.frac(),
            "sqrt" => self.sqrt(),
            "left" => self.left(),
            "langle" => self.inner_product(),
            "|" | "Vert" | "lVert" => self.norm_body(),
            "lvert" | "vert" => self.abs_body(false),
            "{" | "lbrack" => self.paren_body(),
            "lbrace" => self.paren_body(),
            "sum" => self.sum(false),
            "prod" => self.sum(true),
            "lim" => self.limit(),
            "partial" => self.inline_partial(),
            "nabla" => self.nabla(),
            "begin" => self.env(),
            // `\underbrace{X}_{=: L}` (a brace naming its content): X
            "underbrace" => {
                let inner = self.arg_toks()?;
                if self.eat_ch('_') {
                    self.arg_toks()?;
                }
                self.group(inner)
            }
            "mathbb" => self.mathbb(),
            "mathcal" | "mathscr" | "mathfrak" => {
                let inner = self.arg_toks()?;
                let s = plain_text(inner).replace(' ', "");
                let upper = false;
                self.symbol_tail(format!("\\{c}{{{s}}}"), upper, self.bold)
            }
            "dots" | "cdots" | "ldots" | "vdots" | "ddots" => {
                Err(PErr::unsupported("an ellipsis `\\dots` here"))
            }
            "operatorname" | "operatorname*" => {
                let inner = self.arg_toks()?;
                let name = plain_text(inner).replace(' ', "");
                self.named(&name)
            }
            _ if func_command(c).is_some() => self.named(c),
            _ if is_text(c) => self.text(c),
            _ if is_bold(c) => {
                let inner = self.arg_toks()?;
                self.bold_arg(inner)
            }
            _ if DECOR_CMDS.contains(&c) || c == "dot" || c == "ddot" => {
                let inner = self.arg_toks()?;
                let mut p = self.sub(inner);
                let e = p.factor()?;
                p.expect_end()?;
                match e {
                    Expr::Var(s) => {
                        let base = format!("\\{c}{{{}}}", s.key());
                        self.symbol_tail(base, s.upper, s.bold || self.bold)
                    }
                    _ => Err(PErr::unsupported(format!("`\\{c}` over an expression"))),
                }
            }
            "mathbf{}" => Err(PErr::parse("empty bold")),
            "infty" => Err(PErr::unsupported("`\\infty`")),
            "?" => Err(PErr::parse("a `?` (fill-in prompt)")),
            "bigcirc" | "diamond" => Err(PErr::abstract_("an abstract operator (`\\bigcirc`)")),
            "square" | "Box" | "blacksquare" | "_" => Err(PErr::parse("a blank to fill in")),
            "mathbb{R}" => Err(PErr::unsupported("a set")),
            _ if UNSUPPORTED_CMDS.contains(&c) => Err(PErr::unsupported(format!(
                "stopped at `\\{c}` (not supported by the checker)"
            ))),
            _ => {
                self.pos = start;
                Err(PErr::unsupported(format!(
                    "stopped at the command `\\{c}` (unknown to the checker)"
                )))
            }
        }
    }

    /// A Greek letter: a symbol, except `\sigma(x)` and `\sigma^2(x)` (the sigmoid).
    fn greek_letter(&mut self, c: &str, upper: bool) -> PResult<Expr> {
        let name = format!("\\{c}");
        // `\delta{\nabla\phi}`, `\delta \nabla \phi` (physics' `\var`): a variation of
        // what follows, not a constant times it
        if c == "delta"
            && self
                .peek()
                .is_some_and(|t| t.tk == Tk::Open || t.is_cmd("nabla"))
        {
            return Err(PErr::unsupported(
                "a variation `\\delta` of the quantity after it (calculus of variations)",
            ));
        }
        if c == "sigma" && !self.bold {
            let paren = self
                .peek()
                .is_some_and(|t| t.is_ch('(') || t.is_cmd("left") || t.tk == Tk::Open);
            // `\sigma^2(x)` is a power of the sigmoid; `\sigma^2` alone a
            // variance
            let pow_paren = self.peek().is_some_and(|t| t.is_ch('^')) && {
                let k = self.pos;
                let e = if self.toks.get(k + 1).is_some_and(|u| u.tk == Tk::Open) {
                    skip_group(self.toks, k + 1)
                } else {
                    k + 2
                };
                let mut j = e;
                while j < self.toks.len() && is_space(&self.toks[j].tk) {
                    j += 1;
                }
                self.toks
                    .get(j)
                    .is_some_and(|t| t.is_ch('(') || t.is_cmd("left") || t.tk == Tk::Open)
            };
            // `\sigma'(t)`: the sigmoid's derivative
            let prime_paren = {
                let mut j = self.pos;
                while self.toks.get(j).is_some_and(|t| t.is_ch('\'')) {
                    j += 1;
                }
                j > self.pos && self.toks.get(j).is_some_and(|t| t.is_ch('('))
            };
            if paren || pow_paren || prime_paren {
                return self.call(Func::Sigmoid);
            }
        }
        self.symbol_tail(name, upper, self.bold)
    }

    /// `\sqrt{x}`, `\sqrt[n]{x}`.
    fn sqrt(&mut self) -> PResult<Expr> {
        let mut root = None;
        if self.eat_ch('[') {
            let mut k = self.pos;
            while k < self.toks.len() && !self.toks[k].is_ch(']') {
                k += 1;
            }
            let inner = &self.toks[self.pos..k.min(self.toks.len())];
            let mut p = self.sub(inner);
            root = Some(p.expr()?);
            p.expect_end()?;
            self.pos = (k + 1).min(self.toks.len());
        }
        let inner = self.arg_toks()?;
        let e = self.group(inner)?;
        Ok(match root {
            None => Expr::Call(Func::Sqrt, vec![e]),
            Some(r) => Expr::Pow(e.bx(), Expr::bin(BinOp::Div, Expr::Num(1.0), r).bx()),
        })
    }

    /// `\left` and its delimiter: parentheses, `\langle`, `|.|`, `\|.\|`, `\left.`.
    fn left(&mut self) -> PResult<Expr> {
        let Some(d) = self.bump() else {
            return Err(PErr::parse("`\\left` at the end"));
        };
        if d.is_ch('(') || d.is_ch('[') || d.is_cmd("{") || d.is_cmd("lbrack") {
            self.paren_body()
        } else if d.is_cmd("langle") {
            self.inner_product()
        } else if d.is_ch('|') || d.is_cmd("vert") || d.is_cmd("lvert") {
            self.abs_body(true)
        } else if d.is_cmd("|") || d.is_cmd("Vert") || d.is_cmd("lVert") {
            self.norm_body()
        } else if d.is_ch('.') {
            let e = self.expr()?;
            if self.eat_cmd("right") {
                if self.peek().is_some_and(|t| t.is_ch('|')) {
                    return Err(PErr::unsupported("evaluation bar `\\right|`"));
                }
                self.bump();
            }
            Ok(e)
        } else {
            Err(PErr::unsupported(format!(
                "`\\left` with delimiter `{}`",
                plain_text(std::slice::from_ref(d))
            )))
        }
    }

    /// `\mathbb{1}`, `\mathbb{0}`, `\mathbb{I}`; other sets are refused.
    fn mathbb(&mut self) -> PResult<Expr> {
        let inner = self.arg_toks()?;
        let s = plain_text(inner).replace(' ', "");
        match s.as_str() {
            "1" => {
                let e = Expr::Ones(self.cx.id());
                self.after_ones(e)
            }
            "0" => {
                let e = Expr::Zeros(self.cx.id());
                self.after_ones(e)
            }
            "I" => {
                let e = Expr::Ident(self.cx.id());
                self.after_ones(e)
            }
            "E" => Err(PErr::unsupported("an expectation `\\mathbb{E}`")),
            _ => Err(PErr::unsupported(format!(
                "`\\mathbb{{{s}}}` in an expression"
            ))),
        }
    }

    /// An upright or text command: a letter, a digit, a number, Euler's `e`, or a name.
    fn text(&mut self, c: &str) -> PResult<Expr> {
        let inner = self.arg_toks()?;
        let name = plain_text(inner).replace(' ', "");
        if inner.iter().any(|t| matches!(t.tk, Tk::Cmd(_))) && !TEXT_MODE_CMDS.contains(&c) {
            // \mathrm{\mathbf{x}} and the like: parse the inside
            let e = self.group(inner)?;
            return self.postfix_sym_sub(e);
        }
        if name.chars().count() == 1 {
            let ch = name.chars().next().unwrap_or('x');
            if ch == 'e' && !self.bold {
                // an upright `\mathrm{e}` is Euler's number
                if self.peek().is_some_and(|t| t.is_ch('^')) {
                    self.pos += 1;
                    let sup = self.arg_toks()?;
                    let mut p = self.sub(sup);
                    let e = p.expr()?;
                    p.expect_end()?;
                    return Ok(Expr::Call(Func::Exp, vec![e]));
                }
                if !self.peek().is_some_and(|t| t.is_ch('_')) {
                    return Ok(Expr::Num(std::f64::consts::E));
                }
            }
            if ch.is_ascii_digit() {
                return Ok(Expr::Num(f64::from(ch.to_digit(10).unwrap_or(0))));
            }
            if ch.is_ascii_alphabetic() {
                return self.symbol_tail(name, ch.is_ascii_uppercase(), self.bold);
            }
        }
        if name.is_empty() {
            return Err(PErr::parse(format!("empty `\\{c}{{}}`")));
        }
        if name.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return name
                .parse::<f64>()
                .map(Expr::Num)
                .map_err(|_| PErr::parse(format!("bad number `{name}`")));
        }
        self.named(&name)
    }

    /// `\mathrm{x}_i` etc.: a subscript after a font group whose content was a symbol.
    fn postfix_sym_sub(&mut self, e: Expr) -> PResult<Expr> {
        if let Expr::Var(mut s) = e {
            if s.sub.is_none() && self.peek().is_some_and(|t| t.is_ch('_')) {
                self.pos += 1;
                let sub = self.arg_toks()?;
                s.sub = Some(norm_sub(sub));
            }
            return Ok(Expr::Var(s));
        }
        Ok(e)
    }

    /// A name from `\operatorname{}`, `\text{}`, `\mathrm{}` or a command.
    pub(super) fn named(&mut self, name: &str) -> PResult<Expr> {
        if let Some(f) = func_by_name(name) {
            return self.call(f);
        }
        if self.cx.funcs.contains(name) {
            let args = self.call_args(name)?;
            return Ok(Expr::Apply(name.to_string(), args));
        }
        match name {
            "d" => Err(PErr::unsupported("a differential `d` outside a fraction")),
            "if" | "otherwise" | "else" | "for" | "where" | "and" | "when" => {
                Err(PErr::parse(format!("the word `{name}`")))
            }
            // `\operatorname{div} \mathbf{F}`, `\operatorname{curl}_{\mathbf{x}} \mathbf{F}`
            "div" => self.vector_op(VecOp::Div, None),
            "curl" => self.vector_op(VecOp::Curl, None),
            "logdet" => {
                let inner = self.call(Func::Det)?;
                Ok(Expr::Call(Func::Ln, vec![inner]))
            }
            _ => {
                let paren = self
                    .peek()
                    .is_some_and(|t| t.is_ch('(') || t.is_cmd("left"));
                if paren {
                    let args = self.abstract_args(name)?;
                    return Ok(Expr::Apply(name.to_string(), args));
                }
                Err(PErr::unsupported(format!("the operator `{name}`")))
            }
        }
    }

    /// After a ones vector (`\mathbf{1}`, `\mathbb{1}`): a size subscript
    /// (`\mathbf{1}_n`, ignored) or an indicator (`\mathbb{1}[x > 0]`,
    /// `\mathbb{1}_{x > 0}`).
    fn after_ones(&mut self, e: Expr) -> PResult<Expr> {
        if self.peek().is_some_and(|t| t.is_ch('_')) {
            self.pos += 1;
            let sub = self.arg_toks()?;
            if has_top_relation(sub) {
                return self.indicator(sub);
            }
            return Ok(e);
        }
        let Some(t) = self.peek() else { return Ok(e) };
        if !(t.is_ch('(') || t.is_ch('[') || t.is_cmd("{") || t.is_cmd("left")) {
            return Ok(e);
        }
        let mut k = self.pos;
        if self.toks[k].is_cmd("left") {
            k += 1;
        }
        let open = k;
        let mut depth = 0i32;
        let mut close = None;
        while k < self.toks.len() {
            let t = &self.toks[k];
            if t.is_ch('(') || t.is_ch('[') || t.is_cmd("{") {
                depth += 1;
            } else if t.is_ch(')') || t.is_ch(']') || t.is_cmd("}") {
                depth -= 1;
                if depth == 0 {
                    close = Some(k);
                    break;
                }
            }
            k += 1;
        }
        let Some(close) = close else { return Ok(e) };
        let mut inner_end = close;
        if inner_end > open + 1 && self.toks[inner_end - 1].is_cmd("right") {
            inner_end -= 1;
        }
        let inner = &self.toks[open + 1..inner_end.max(open + 1)];
        if !has_top_relation(inner) {
            return Ok(e);
        }
        self.pos = close + 1;
        self.indicator(inner)
    }

    fn indicator(&self, toks: &[Tok]) -> PResult<Expr> {
        let parts = split_top(toks, |t| {
            matches!(
                relation(&t.tk),
                Some(Rel::Lt | Rel::Gt | Rel::Le | Rel::Ge | Rel::Eq | Rel::Ne)
            )
        });
        if parts.len() != 2 {
            return Err(PErr::unsupported(format!(
                "the indicator condition `{}`",
                self.cx.text(toks)
            )));
        }
        let rel_tok = &toks[parts[0].len()];
        let Some(rel) = relation(&rel_tok.tk) else {
            return Err(PErr::parse("an indicator without a relation"));
        };
        let mut p = self.sub(parts[0]);
        let a = p.expr()?;
        p.expect_end()?;
        let mut p = self.sub(parts[1]);
        let b = p.expr()?;
        p.expect_end()?;
        Ok(Expr::Ind(a.bx(), rel, b.bx()))
    }

    /// The inside of `\mathbf{...}`.
    fn bold_arg(&mut self, inner: &[Tok]) -> PResult<Expr> {
        let sig: Vec<&Tok> = inner.iter().filter(|t| !is_space(&t.tk)).collect();
        if sig.len() == 1 {
            match &sig[0].tk {
                Tk::Digit('1') => {
                    let e = Expr::Ones(self.cx.id());
                    return self.after_ones(e);
                }
                Tk::Digit('0') => {
                    let e = Expr::Zeros(self.cx.id());
                    return self.after_ones(e);
                }
                Tk::Letter('I') => {
                    // \mathbf{I}: identity, unless subscripted oddly
                    return self.symbol_tail("I".into(), true, true);
                }
                Tk::Letter(c) => {
                    let c = *c;
                    return self.symbol_tail(c.to_string(), c.is_ascii_uppercase(), true);
                }
                Tk::Cmd(c) => {
                    if let Some(upper) = greek(c) {
                        let name = format!("\\{c}");
                        return self.symbol_tail(name, upper, true);
                    }
                }
                _ => {}
            }
        }
        let mut p = self.sub(inner);
        p.bold = true;
        let e = p.dots_or_expr()?;
        p.expect_end()?;
        self.postfix_sym_sub(e)
    }
}
