//! Expressions: sums, products, powers and postfix operators, atoms, numbers,
//! groups and delimiters (parentheses, `\langle`, `|.|`, `\|.\|`).

use std::cell::Cell;

use crate::check::notation::{
    DERIV_CMDS, FROBENIUS_SUBS, Func, MAX_NORM_SUBS, func_by_name, func_command, is_bold, is_frac,
    is_text, is_transpose_sup,
};
use crate::check::syntax::ast::{ANGLE_PAIR, BinOp, Deriv, Expr, NormKind, PostOp, Sym, TUPLE};
use crate::check::syntax::lex::{Tk, Tok, is_space, skip_group};

use super::{
    Ctx, MAX_DEPTH, PErr, PResult, Parser, apply_power, has_array_symbol, letter_used, parse_expr,
    plain_text, relation, split_top, stopped_at, sub_indices, transposable,
};

/// How far [`Parser::term_differentiates_ahead`] looks (tokens).
const MAX_TERM_LOOKAHEAD: usize = 200;

impl Parser<'_, '_> {
    // expr := ['-'|'+'] term (('+'|'-') term)*
    pub(crate) fn expr(&mut self) -> PResult<Expr> {
        let mut lhs = if self.eat_ch('-') {
            Expr::Neg(self.term()?.bx())
        } else {
            self.eat_ch('+');
            self.term()?
        };
        loop {
            // an operator-form derivative's operand ends before `+ \frac{d}{dx} ...`
            if self.in_operand
                && self.peek().is_some_and(|t| t.is_ch('+') || t.is_ch('-'))
                && self.term_differentiates_ahead()
            {
                return Ok(lhs);
            }
            if self.eat_ch('+') {
                let r = self.term()?;
                lhs = Expr::bin(BinOp::Add, lhs, r);
            } else if self.eat_ch('-') {
                let r = self.term()?;
                lhs = Expr::bin(BinOp::Sub, lhs, r);
            } else if self
                .peek()
                .is_some_and(|t| t.is_cmd("pm") || t.is_cmd("mp"))
            {
                return Err(PErr::unsupported("`\\pm` (two formulas in one)"));
            } else {
                return Ok(lhs);
            }
        }
    }

    fn mul_op(&mut self) -> Option<BinOp> {
        let t = self.peek()?;
        let op = match &t.tk {
            Tk::Cmd(c) => match c.as_str() {
                "cdot" | "bullet" | "centerdot" => BinOp::Dot,
                "times" => BinOp::Cross,
                "odot" | "circ" | "bigodot" => BinOp::Had,
                "otimes" | "bigotimes" => BinOp::Kron,
                "oslash" | "bigoslash" => BinOp::Oslash,
                "div" => BinOp::Div,
                _ => return None,
            },
            Tk::Ch('*') => BinOp::Mul,
            Tk::Ch('/') => BinOp::Div,
            _ => return None,
        };
        Some(op)
    }

    // term := jterm (mulop jterm)*
    pub(super) fn term(&mut self) -> PResult<Expr> {
        let mut lhs = self.jterm()?;
        loop {
            if self
                .peek()
                .is_some_and(|t| t.is_cmd("bigcirc") || t.is_cmd("diamond"))
            {
                return Err(PErr::abstract_("an abstract operator (`\\bigcirc`)"));
            }
            let Some(op) = self.mul_op() else {
                return Ok(lhs);
            };
            // an operator-form derivative's operand ends before `\cdot \nabla g`
            if self.in_operand && self.deriv_ahead(1) {
                return Ok(lhs);
            }
            if self.grad_operand && matches!(op, BinOp::Cross | BinOp::Dot) {
                return Ok(lhs);
            }
            self.pos += 1;
            // `a / -b`
            let rhs = if self.eat_ch('-') {
                Expr::Neg(self.jterm()?.bx())
            } else {
                self.jterm()?
            };
            lhs = Expr::bin(op, lhs, rhs);
        }
    }

    // jterm := factor factor*   (juxtaposition binds tighter than \cdot, \odot, /)
    pub(super) fn jterm(&mut self) -> PResult<Expr> {
        self.later_factor = false;
        let mut lhs = self.factor()?;
        loop {
            // (check the raw next token before `at_factor_start` skips spacing)
            if self.in_bare_arg && self.bare_arg_stops() {
                break;
            }
            if !self.at_factor_start() {
                break;
            }
            self.later_factor = true;
            let rhs = self.factor();
            self.later_factor = false;
            lhs = Expr::bin(BinOp::Mul, lhs, rhs?);
        }
        Ok(lhs)
    }

    /// The operand of `\nabla` or `\partial_x`: the rest of the product after a
    /// factor (`f \nabla g + ...`), else up to the relation or the next term that
    /// differentiates (`\nabla f + \nabla g`).
    pub(super) fn operator_operand(&mut self) -> PResult<Expr> {
        if std::mem::take(&mut self.later_factor) {
            return self.jterm();
        }
        let saved = (self.in_bare_arg, self.in_operand);
        self.in_bare_arg = false;
        self.in_operand = true;
        let e = self.expr();
        (self.in_bare_arg, self.in_operand) = saved;
        e
    }

    /// Inside a function argument written without parentheses (`\sin x \cos x`), a
    /// further factor ends the argument when it is a function, a fraction, a
    /// parenthesised group or comes after explicit spacing (`\cos t\,\mathbf{u}`).
    pub(super) fn bare_arg_stops(&mut self) -> bool {
        // explicit spacing right before the next token (`\cos t\,\mathbf{u}`)
        let mut k = self.pos;
        while k < self.toks.len() && is_space(&self.toks[k].tk) {
            k += 1;
        }
        if k > 0 && self.toks.get(k - 1).is_some_and(|t| is_space(&t.tk)) {
            return true;
        }
        if self.bare_scalar
            && let Some(t) = self.toks.get(k)
            && let Tk::Cmd(c) = &t.tk
            && is_bold(c.as_str())
        {
            // the bold group's first letter
            let inner = self.toks.get(k + 1).and_then(|u| {
                if u.tk == Tk::Open {
                    self.toks.get(k + 2)
                } else {
                    Some(u)
                }
            });
            if inner.is_some_and(|u| matches!(u.tk, Tk::Letter(ch) if ch.is_ascii_lowercase())) {
                return true;
            }
        }
        let Some(t) = self.peek() else { return true };
        match &t.tk {
            Tk::Cmd(c) => {
                func_command(c).is_some()
                    || is_text(c.as_str())
                    || is_frac(c)
                    || DERIV_CMDS.contains(&c.as_str())
                    || matches!(c.as_str(), "sum" | "prod" | "left" | "sqrt" | "sigma")
            }
            Tk::Ch('(') | Tk::Ch('[') => true,
            Tk::Letter(_) => self.letter_run_is_function(),
            _ => false,
        }
    }

    /// Does a derivative start at the `n`-th significant token from here?
    /// Does the term after the `+` or `-` at the cursor write a derivative at its
    /// top level (`+ f \nabla^2 g`, `+ \frac{d}{dx} g`)? Looks a bounded way ahead.
    fn term_differentiates_ahead(&self) -> bool {
        let mut depth = 0i32;
        for n in 1..MAX_TERM_LOOKAHEAD {
            let Some(t) = self.peek_at(n) else {
                return false;
            };
            match &t.tk {
                Tk::Open | Tk::Ch('(' | '[') => depth += 1,
                Tk::Close | Tk::Ch(')' | ']') => depth -= 1,
                Tk::Ch('+' | '-' | '=' | '<' | '>') if depth <= 0 => return false,
                _ => {}
            }
            if depth < 0 {
                return false;
            }
            if depth == 0 && self.deriv_ahead(n) {
                return true;
            }
        }
        false
    }

    fn deriv_ahead(&self, n: usize) -> bool {
        let Some(t) = self.peek_at(n) else {
            return false;
        };
        let Tk::Cmd(c) = &t.tk else {
            return false;
        };
        if DERIV_CMDS.contains(&c.as_str()) {
            return true;
        }
        if is_frac(c) {
            let k = self
                .toks
                .iter()
                .position(|u| std::ptr::eq(u, t))
                .unwrap_or(0);
            if self.toks.get(k + 1).is_some_and(|u| u.tk == Tk::Open) {
                let e1 = skip_group(self.toks, k + 1);
                if self.toks.get(e1).is_some_and(|u| u.tk == Tk::Open) {
                    let e2 = skip_group(self.toks, e1);
                    let num = &self.toks[(k + 2).min(e1)..e1.saturating_sub(1).max(k + 2)];
                    let den = &self.toks[(e1 + 1).min(e2)..e2.saturating_sub(1).max(e1 + 1)];
                    return self.differential(num).is_some() && self.differential(den).is_some();
                }
            }
        }
        false
    }

    pub(super) fn letter_run(&self) -> String {
        // the run of letters at pos (after spaces) with no whitespace inside
        let mut k = self.pos;
        while k < self.toks.len() && is_space(&self.toks[k].tk) {
            k += 1;
        }
        let mut s = String::new();
        let mut prev_end = None;
        while let Some(t) = self.toks.get(k) {
            let Tk::Letter(c) = t.tk else { break };
            if let Some(e) = prev_end
                && t.start != e
            {
                break;
            }
            s.push(c);
            prev_end = Some(t.end);
            k += 1;
        }
        s
    }

    fn letter_run_is_function(&self) -> bool {
        let run = self.letter_run();
        run.len() >= 2 && (func_by_name(&run).is_some() || self.cx.funcs.contains(&run))
    }

    pub(super) fn at_factor_start(&mut self) -> bool {
        let abs = self.abs_depth;
        let norm = self.norm_depth;
        let Some(t) = self.peek() else { return false };
        match &t.tk {
            Tk::Letter(_) | Tk::Digit(_) | Tk::Open => true,
            Tk::Ch('(') | Tk::Ch('[') => true,
            Tk::Ch('|') => abs == 0,
            Tk::Ch('.') => false,
            Tk::Ch(_) | Tk::Close => false,
            Tk::Cmd(c) => match c.as_str() {
                "|" | "Vert" => norm == 0,
                "vert" => abs == 0,
                "lVert" | "lvert" | "left" => true,
                "right" | "rVert" | "rvert" | "\\" | "end" | "}" | "rbrace" | "rbrack"
                | "rangle" => false,
                "cdot" | "times" | "odot" | "circ" | "otimes" | "bigotimes" | "oslash" | "div"
                | "bigodot" | "bullet" | "centerdot" | "bigoslash" => false,
                "pm" | "mp" => false,
                "dots" | "cdots" | "ldots" | "vdots" | "ddots" => false,
                _ => relation(&t.tk).is_none() && !matches!(c.as_str(), "implies" | "iff"),
            },
        }
    }

    // factor := atom postfix*
    pub(super) fn factor(&mut self) -> PResult<Expr> {
        let atom = self.atom()?;
        self.postfix(atom)
    }

    pub(super) fn postfix(&mut self, mut e: Expr) -> PResult<Expr> {
        loop {
            let Some(t) = self.peek() else { return Ok(e) };
            if t.is_ch('^') {
                self.pos += 1;
                let sup = self.arg_toks()?;
                e = self.apply_sup(e, sup)?;
            } else if t.is_ch('\'') || t.is_cmd("prime") {
                // `\mathbf{x}'`, `A'`: a transpose (econometrics); `f'` a derivative
                // `(\mathbf{y} - X\mathbf{b})'`: a parenthesised vector/matrix expression
                let after_paren = self.pos > 0
                    && self.toks[..self.pos]
                        .iter()
                        .rev()
                        .find(|t| !is_space(&t.tk))
                        .is_some_and(|t| t.is_ch(')') || t.is_ch(']'))
                    && !matches!(e, Expr::Apply(..) | Expr::Call(..))
                    && has_array_symbol(&e);
                if (transposable(&e) || after_paren) && !self.single_symbol_paren_at(self.pos + 1) {
                    self.pos += 1;
                    e = Expr::Post(e.bx(), PostOp::Transpose);
                    continue;
                }
                // `(x^4 + 2)'`: a bracket in one variable, differentiated by it
                let closes = self.pos > 0
                    && self.toks[..self.pos]
                        .iter()
                        .rev()
                        .find(|t| !is_space(&t.tk))
                        .is_some_and(|t| t.is_ch(')'));
                // (`1'`, a number: as `(1)'`)
                let number = matches!(e, Expr::Num(_));
                if (closes || number)
                    && let Some(v) = sole_variable(&e).or_else(|| several_letters(&e))
                {
                    self.pos += 1;
                    let mut d = Deriv::by(e, v);
                    d.total = true;
                    e = Expr::Deriv(self.cx.id(), Box::new(d));
                    continue;
                }
                // `v'`, `y''` of a plain letter, no argument after: by the variable only
                // `find` knows (`find::generic`)
                if bare_letter(&e) && !self.call_after_primes() {
                    self.pos += 1;
                    e = Expr::Deriv(self.cx.id(), Box::new(unknown_variable(e)));
                    continue;
                }
                return Err(PErr::abstract_(
                    "a derivative written with a prime (f') of an abstract function",
                ));
            } else if t.is_ch('_') {
                // (A x)_i: an entry of an expression
                let closed = self.toks[..self.pos]
                    .iter()
                    .rev()
                    .find(|t| !is_space(&t.tk))
                    .is_some_and(|t| t.is_ch(')'));
                self.pos += 1;
                let sub = self.arg_toks()?;
                // `\left(\frac{\partial P}{\partial T}\right)_V`: V held fixed
                if closed && let Expr::Deriv(_, d) = &mut e {
                    let ids = Cell::new(0);
                    let cx = Ctx {
                        funcs: self.cx.funcs,
                        ids: &ids,
                        src: self.cx.src,
                        depth: Cell::new(self.cx.depth.get()),
                    };
                    let held: Vec<Sym> = split_top(sub, |t| t.is_ch(','))
                        .into_iter()
                        .filter_map(|p| match parse_expr(p, &cx) {
                            Ok(Expr::Var(v)) if v.key() != d.wrt.key() => Some(v),
                            _ => None,
                        })
                        .collect();
                    if !held.is_empty() && held.len() == split_top(sub, |t| t.is_ch(',')).len() {
                        d.held.extend(held);
                        continue;
                    }
                }
                // `x^{(i)}_j`: entry j of the example, as `x_j^{(i)}`
                if let Expr::Var(s) = &mut e
                    && s.sub.is_none()
                    && s.sample().is_some()
                {
                    s.sub = Some(super::norm_sub(sub));
                    continue;
                }
                let idx = sub_indices(sub);
                if idx.is_empty() {
                    return Err(PErr::unsupported(format!(
                        "subscript `{}` on an expression",
                        plain_text(sub)
                    )));
                }
                e = Expr::Index(e.bx(), idx);
            } else if t.is_ch('!') {
                return Err(PErr::unsupported("factorial `!`"));
            } else {
                return Ok(e);
            }
        }
    }

    /// Interprets a superscript: transpose, inverse, power.
    /// Was the base of the superscript just read a bracket (`(...)^\prime`)?
    fn bracket_before_sup(&self) -> bool {
        // the tokens before the `^` and its argument: `) ^ { \prime }` or `) ^ \prime`
        let before: Vec<&Tok> = self.toks[..self.pos]
            .iter()
            .rev()
            .filter(|t| !is_space(&t.tk))
            .skip_while(|t| {
                t.is_cmd("prime") || t.is_ch('\'') || matches!(t.tk, Tk::Open | Tk::Close)
            })
            .collect();
        matches!(before.as_slice(), [caret, close, ..] if caret.is_ch('^') && close.is_ch(')'))
    }

    fn apply_sup(&mut self, base: Expr, sup: &[Tok]) -> PResult<Expr> {
        let sig: Vec<&Tok> = sup.iter().filter(|t| !is_space(&t.tk)).collect();
        let txt = plain_text(sup).replace(' ', "");
        let is_t = is_transpose_sup;
        // `^t` is a power inside a sum over t, on a number (`2^t`), and on a scalar
        // expression when `t` is a variable of the formula (`(1+r)^t`, `\frac{d}{dt}`)
        let t_power = txt == "t"
            && (self.bound.contains(&txt)
                || matches!(base, Expr::Num(_))
                || (!has_array_symbol(&base) && letter_used(self.cx.src, 't')));
        if is_t(&txt) && !t_power {
            return Ok(Expr::Post(base.bx(), PostOp::Transpose));
        }
        // `f^{-1}(x)`, `(f^{-1})'(x)`: a function's inverse, not its reciprocal
        if txt == "-1"
            && let Expr::Var(s) = &base
            && s.sub.is_none()
            && !s.bold
            && (self.cx.funcs.contains(&s.key())
                || crate::check::notation::FUNC_LETTERS.contains(&s.base.as_str()))
        {
            let applied = self
                .peek()
                .is_some_and(|t| t.is_ch('(') || t.is_cmd("left"));
            let primed_bracket = self.peek().is_some_and(|t| t.is_ch(')'))
                && self
                    .toks
                    .get(self.pos + 1)
                    .is_some_and(|t| t.is_ch('\'') || t.is_ch('^'));
            if applied || primed_bracket {
                return Err(PErr::unsupported(format!(
                    "the inverse function `{}^{{-1}}`",
                    s.base.trim_start_matches('\\')
                )));
            }
        }
        // `x^{(i)}`, `a^{[l]}`: a training example (a layer), never a power; a
        // transpose may follow inside (`x^{(i)T}`)
        if let Expr::Var(s) = &base
            && s.sample().is_none()
            && let Some((mark, rest)) = sample_sup(&txt)
        {
            // `f^{(n)}(x)`: the n-th derivative of a function
            if crate::check::notation::FUNC_LETTERS.contains(&s.base.as_str())
                && self
                    .peek()
                    .is_some_and(|t| t.is_ch('(') || t.is_cmd("left"))
            {
                return Err(PErr::abstract_(format!(
                    "a derivative of order {mark} written `{}^{{{mark}}}` of a function",
                    s.base.trim_start_matches('\\')
                )));
            }
            let v = Expr::Var(Sym {
                base: format!("{}^{{{mark}}}", s.base),
                ..s.clone()
            });
            return Ok(if rest.is_empty() {
                v
            } else {
                Expr::Post(v.bx(), PostOp::Transpose)
            });
        }
        if let Some(rest) = txt.strip_prefix('-') {
            if rest == "1" {
                return Ok(Expr::Post(base.bx(), PostOp::Inverse));
            }
            if is_t(rest) {
                return Ok(Expr::Post(base.bx(), PostOp::InvTranspose));
            }
        }
        if txt == "\\prime" || txt == "'" {
            if transposable(&base) {
                return Ok(Expr::Post(base.bx(), PostOp::Transpose));
            }
            // `(x^4 + 2)^\prime`: a bracket in one variable, differentiated by it
            if self.bracket_before_sup()
                && let Some(v) = sole_variable(&base).or_else(|| several_letters(&base))
            {
                let mut d = Deriv::by(base, v);
                d.total = true;
                return Ok(Expr::Deriv(self.cx.id(), Box::new(d)));
            }
            let own_letter = match &base {
                Expr::Var(s) => s.base.chars().next().filter(|_| s.base.len() == 1),
                _ => None,
            };
            if bare_letter(&base)
                && (!self.call_after_primes()
                    || own_letter.is_some_and(|c| self.bracket_after_primes_mentions(c)))
            {
                return Ok(Expr::Deriv(self.cx.id(), Box::new(unknown_variable(base))));
            }
            return Err(PErr::abstract_("a derivative written with a prime (f')"));
        }
        if txt == "\\dagger" || txt == "+" {
            return Err(PErr::unsupported("the pseudo-inverse"));
        }
        if sig.is_empty() {
            return Err(PErr::parse("empty superscript"));
        }
        let mut p = self.sub(sup);
        p.bold = false;
        let e = p.expr()?;
        p.expect_end()?;
        Ok(Expr::Pow(base.bx(), e.bx()))
    }

    fn atom(&mut self) -> PResult<Expr> {
        let d = self.cx.depth.get();
        if d > MAX_DEPTH {
            return Err(PErr::unsupported("an expression nested too deeply"));
        }
        self.cx.depth.set(d + 1);
        let r = self.atom_inner();
        self.cx.depth.set(d);
        r
    }

    fn atom_inner(&mut self) -> PResult<Expr> {
        let Some(t) = self.peek() else {
            return Err(PErr::parse("expression ends too early"));
        };
        match &t.tk {
            Tk::Digit(_) => self.number(),
            Tk::Ch('.') if matches!(self.peek_at(1).map(|t| &t.tk), Some(Tk::Digit(_))) => {
                self.number()
            }
            Tk::Letter(_) => self.letter(),
            Tk::Open => {
                let inner = self.arg_toks()?;
                self.group(inner)
            }
            Tk::Ch('(') | Tk::Ch('[') => {
                if let Some(e) = self.primed_function_in_parens() {
                    return e;
                }
                self.pos += 1;
                self.paren_body()
            }
            Tk::Ch('|') => {
                self.pos += 1;
                self.abs_body(false)
            }
            Tk::Ch('?') => Err(PErr::parse("a `?` (fill-in prompt)")),
            Tk::Cmd(c) => {
                let c = c.clone();
                self.command(&c)
            }
            _ => Err(stopped_at(t)),
        }
    }

    pub(super) fn number(&mut self) -> PResult<Expr> {
        let mut s = String::new();
        let mut prev_end: Option<usize> = None;
        while let Some(t) = self.toks.get(self.pos) {
            let contiguous = prev_end.is_none_or(|e| e == t.start);
            match t.tk {
                Tk::Digit(c) if contiguous => s.push(c),
                Tk::Ch('.')
                    if contiguous
                        && !s.contains('.')
                        && matches!(
                            self.toks.get(self.pos + 1).map(|t| &t.tk),
                            Some(Tk::Digit(_))
                        ) =>
                {
                    s.push('.')
                }
                _ => break,
            }
            prev_end = Some(t.end);
            self.pos += 1;
        }
        s.parse::<f64>()
            .map(Expr::Num)
            .map_err(|_| PErr::parse(format!("bad number `{s}`")))
    }

    /// The inside of `{...}`: usually an expression; `\dots e \dots` is a vector.
    pub(super) fn group(&mut self, inner: &[Tok]) -> PResult<Expr> {
        let mut p = self.sub(inner);
        if p.peek().is_none() {
            return Err(PErr::parse("empty group `{}`"));
        }
        let e = p.dots_or_expr()?;
        p.expect_end()?;
        Ok(e)
    }

    pub(super) fn is_dots(t: &Tok) -> bool {
        matches!(&t.tk, Tk::Cmd(c) if matches!(c.as_str(), "dots" | "cdots" | "ldots" | "dotsc" | "dotsb"))
    }

    /// `\dots e \dots` → the vector of the entries `e`; else an expression.
    pub(super) fn dots_or_expr(&mut self) -> PResult<Expr> {
        if self.peek().is_some_and(Self::is_dots) {
            self.pos += 1;
            let e = self.expr()?;
            if !self.peek().is_some_and(Self::is_dots) {
                return Err(PErr::unsupported("`\\dots` without a closing `\\dots`"));
            }
            self.pos += 1;
            return Ok(Expr::Dots(e.bx(), String::new()));
        }
        self.expr()
    }

    /// After an opening `(` or `[`: the expression and the closing delimiter.
    pub(super) fn paren_body(&mut self) -> PResult<Expr> {
        let saved = (self.in_operand, self.grad_operand);
        self.in_operand = false;
        self.grad_operand = false;
        let e = self.dots_or_expr();
        (self.in_operand, self.grad_operand) = saved;
        let e = e?;
        if self.peek().is_some_and(|t| t.is_ch(',')) {
            // `(2x, z, y)`, `[6xy, 3x^2]`: its entries
            let mut entries = vec![vec![e]];
            while self.eat_ch(',') {
                let saved = (self.in_operand, self.grad_operand);
                self.in_operand = false;
                self.grad_operand = false;
                let next = self.expr();
                (self.in_operand, self.grad_operand) = saved;
                entries.push(vec![next?]);
                if entries.len() > 9 {
                    return Err(PErr::unsupported("a tuple of more than 9 entries"));
                }
            }
            self.close_delim()?;
            // a tuple is a vector only where a coordinate gradient, divergence or curl
            // says so (`find::indices::coordinates`); elsewhere it is refused
            return Ok(Expr::Apply(
                TUPLE.into(),
                entries.into_iter().flatten().collect(),
            ));
        }
        self.close_delim()?;
        Ok(e)
    }

    /// `\langle a, b \rangle`: the inner product, `sum(a ⊙ b)` (the dot product of
    /// vectors, `tr(AᵀB)` of matrices), or a vector of two entries where coordinates
    /// say so ([`ANGLE_PAIR`]); `\langle a, b, c \rangle`: a tuple.
    pub(super) fn inner_product(&mut self) -> PResult<Expr> {
        let saved = (
            self.in_operand,
            self.abs_depth,
            self.norm_depth,
            self.grad_operand,
        );
        self.in_operand = false;
        self.grad_operand = false;
        self.abs_depth = 0;
        self.norm_depth = 0;
        let mut entries = Vec::new();
        let r = loop {
            match self.expr() {
                Ok(e) => entries.push(e),
                Err(e) => break Err(e),
            }
            if entries.len() > 9 {
                break Err(PErr::unsupported("a tuple of more than 9 entries"));
            }
            if !self.eat_ch(',') {
                break Ok(());
            }
        };
        (
            self.in_operand,
            self.abs_depth,
            self.norm_depth,
            self.grad_operand,
        ) = saved;
        r?;
        if entries.len() < 2 {
            return Err(PErr::unsupported("`\\langle` without two arguments"));
        }
        self.eat_cmd("right");
        if !self.eat_cmd("rangle") {
            return match self.peek() {
                Some(t) => Err(stopped_at(t)),
                None => Err(PErr::parse("missing `\\rangle`")),
            };
        }
        let name = if entries.len() == 2 {
            ANGLE_PAIR
        } else {
            TUPLE
        };
        Ok(Expr::Apply(name.into(), entries))
    }

    pub(super) fn close_delim(&mut self) -> PResult<()> {
        let Some(t) = self.peek() else {
            return Err(PErr::parse("missing closing bracket"));
        };
        if t.is_ch(')') || t.is_ch(']') || t.is_cmd("}") || t.is_cmd("rbrack") {
            self.pos += 1;
            return Ok(());
        }
        if t.is_cmd("right") {
            self.pos += 1;
            // the delimiter after \right
            if self.peek().is_some() {
                self.pos += 1;
            }
            return Ok(());
        }
        Err(stopped_at(t))
    }

    /// `| x |`; `left` says the opener was `\left|`.
    pub(super) fn abs_body(&mut self, left: bool) -> PResult<Expr> {
        self.abs_depth += 1;
        let e = self.expr();
        self.abs_depth -= 1;
        let e = e?;
        let Some(t) = self.peek() else {
            return Err(PErr::parse("missing closing `|`"));
        };
        if t.is_ch('|') || t.is_cmd("rvert") || t.is_cmd("vert") {
            self.pos += 1;
        } else if t.is_cmd("right") {
            self.pos += 1;
            self.bump();
        } else {
            return Err(stopped_at(t));
        }
        let _ = left;
        Ok(Expr::Call(Func::Abs, vec![e]))
    }

    pub(super) fn norm_body(&mut self) -> PResult<Expr> {
        self.norm_depth += 1;
        let saved_abs = self.abs_depth;
        self.abs_depth = 0;
        let e = self.expr();
        self.norm_depth -= 1;
        self.abs_depth = saved_abs;
        let e = e?;
        let Some(t) = self.peek() else {
            return Err(PErr::parse("missing closing `\\|`"));
        };
        if t.is_cmd("|") || t.is_cmd("rVert") || t.is_cmd("Vert") {
            self.pos += 1;
        } else if t.is_cmd("right")
            || (t.is_ch('|') && self.peek_at(1).is_some_and(|u| u.is_ch('|')))
        {
            self.pos += 1;
            self.bump();
        } else {
            return Err(stopped_at(t));
        }
        let mut kind = NormKind::Plain;
        // `\|x\|^2_2`: the power may come before the subscript
        let mut power = None;
        if self.peek().is_some_and(|t| t.is_ch('^'))
            && self.peek_at(2).is_some_and(|t| t.is_ch('_'))
        {
            self.pos += 1;
            let sup = self.arg_toks()?;
            let mut p = self.sub(sup);
            let e = p.expr()?;
            p.expect_end()?;
            power = Some(e);
        }
        if self.eat_ch('_') {
            let sub = self.arg_toks()?;
            let s = plain_text(sub).replace(' ', "");
            kind = match s.as_str() {
                "2" => NormKind::Two,
                _ if FROBENIUS_SUBS.contains(&s.as_str()) => NormKind::Fro,
                "1" => NormKind::One,
                _ if MAX_NORM_SUBS.contains(&s.as_str()) => NormKind::Inf,
                _ => {
                    return Err(PErr::unsupported(format!(
                        "the norm `\\|\\cdot\\|_{{{s}}}`"
                    )));
                }
            };
        }
        Ok(apply_power(Expr::Norm(e.bx(), kind), power))
    }
}

/// A superscript naming a training example or a layer: `(i)`, `[l]`, `(1)`, with a
/// transpose after it or not (`(i)T`, `(i)\top`): the mark (`(i)`) and the rest.
fn sample_sup(txt: &str) -> Option<(&str, &str)> {
    let close = match txt.chars().next()? {
        '(' => ')',
        '[' => ']',
        _ => return None,
    };
    let end = txt.find(close)?;
    let inner = &txt[1..end];
    let one_letter = inner.len() == 1 && inner.chars().all(|c| c.is_ascii_alphabetic());
    let number = !inner.is_empty() && inner.len() <= 2 && inner.chars().all(|c| c.is_ascii_digit());
    if !(one_letter || number) {
        return None;
    }
    let rest = &txt[end + 1..];
    (rest.is_empty() || is_transpose_sup(rest)).then(|| (&txt[..=end], rest))
}

/// The one plain letter a scalar expression is written in (`x` in `x^4 + 2`, in
/// `1 + g(2x)`), if it has exactly one ([`letters`]).
fn sole_variable(e: &Expr) -> Option<Sym> {
    letters(e)
        .filter(|l| l.len() == 1)
        .and_then(|mut l| l.pop())
}

/// A plain lowercase letter, or a derivative of one by a variable not yet known
/// (`v`, `v'`: a prime on it is a derivative, not a transpose).
fn bare_letter(e: &Expr) -> bool {
    match e {
        Expr::Var(s) => !s.bold && !s.upper && s.sub.is_none() && !s.base.is_empty(),
        Expr::Deriv(_, d) => {
            d.total && d.wrt.base.is_empty() && d.op.is_none() && bare_letter(&d.of)
        }
        _ => false,
    }
}

/// The total derivative of `of` by a variable left empty (found by `find`).
fn unknown_variable(of: Expr) -> Deriv {
    let mut d = Deriv::by(
        of,
        Sym {
            base: String::new(),
            sub: None,
            bold: false,
            upper: false,
        },
    );
    d.total = true;
    d
}

/// A bracket in two or more plain letters (`(xy)'`, `(x + y)^\prime`): differentiated
/// by the variable the rest of the identity differentiates by, which only `find`
/// knows (`find::rates`); the variable left empty here.
fn several_letters(e: &Expr) -> Option<Sym> {
    // (`(25)'`, a number: by whatever the other members are differentiated by)
    let number = !e.any(&|x| !matches!(x, Expr::Num(_) | Expr::Bin(..) | Expr::Neg(_)));
    (number || letters(e).is_some_and(|l| l.len() >= 2)).then(|| Sym {
        base: String::new(),
        sub: None,
        bold: false,
        upper: false,
    })
}

/// The plain letters a scalar expression is written in (also inside the arguments
/// of functions applied), if nothing else in it could vary (no bold or capital
/// letter, no derivative).
fn letters(e: &Expr) -> Option<Vec<Sym>> {
    let mut found: Vec<Sym> = Vec::new();
    let mut other = false;
    e.walk(&mut |x| match x {
        Expr::Var(s) if !s.bold && !s.upper && s.sub.is_none() && s.base.len() == 1 => {
            found.push(s.clone())
        }
        // (a function applied, `(1 + g(2x))'`: its argument's letters count)
        Expr::Apply(name, _) if name == TUPLE => other = true,
        Expr::Var(_) | Expr::Deriv(..) | Expr::Index(..) | Expr::Sum { .. } => other = true,
        _ => {}
    });
    let mut seen = std::collections::BTreeSet::new();
    found.retain(|s| seen.insert(s.key()));
    (!other && !found.is_empty()).then_some(found)
}
