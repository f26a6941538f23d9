//! Letters and symbols (subscripts, primes), and the application of functions:
//! built-in, defined in the note, or abstract.

use std::cell::Cell;

use crate::check::notation::{
    EXPECTATION_LETTER, FUNC_LETTERS, Func, func_by_name, func_command, is_constant_letter,
};
use crate::check::syntax::ast::{BinOp, Deriv, Expr, PRIME_AT, Sym, is_notation_apply};
use crate::check::syntax::lex::{Tk, Tok, is_space, skip_group};
use crate::tex::vocab::DELIMITER_SIZES;

use super::{
    Ctx, PErr, PResult, Parser, apply_power, has_bold, list_vector, norm_sub, parse_expr,
    plain_text,
};

impl Parser<'_, '_> {
    /// A `[` next (after a subscript, a `\left` or a size command): `E[y]`,
    /// `E_{x}\left[f(x)\right]`.
    fn bracket_follows(&self) -> bool {
        let mut k = self.pos;
        if self.toks.get(k).is_some_and(|t| t.is_ch('_')) {
            k += 1;
            k = if self.toks.get(k).is_some_and(|t| t.tk == Tk::Open) {
                skip_group(self.toks, k)
            } else {
                k + 1
            };
        }
        while self.toks.get(k).is_some_and(|t| {
            is_space(&t.tk) || t.is_cmd("left") || DELIMITER_SIZES.iter().any(|s| t.is_cmd(s))
        }) {
            k += 1;
        }
        self.toks.get(k).is_some_and(|t| t.is_ch('['))
    }

    pub(super) fn letter(&mut self) -> PResult<Expr> {
        let run = self.letter_run();
        if run.len() >= 2 {
            if let Some(f) = func_by_name(&run) {
                self.skip_letters(run.len());
                return self.call(f);
            }
            if self.cx.funcs.contains(&run) {
                let paren = self.paren_after_letters(run.len());
                self.skip_letters(run.len());
                if let Some(r) = self.prime_call(&run, &run) {
                    return r;
                }
                if !paren {
                    // `\frac{\partial activation}{\partial \mathbf{x}}`: a defined
                    // function named bare stands for it applied to its parameters
                    return Ok(Expr::Var(Sym {
                        base: run,
                        sub: None,
                        bold: self.bold,
                        upper: false,
                    }));
                }
                let args = self.call_args(&run)?;
                return Ok(Expr::Apply(run, args));
            }
            if run.len() >= 3 && self.paren_after_letters(run.len()) {
                self.skip_letters(run.len());
                let args = self.abstract_args(&run)?;
                return Ok(Expr::Apply(run, args));
            }
        }
        let Some(Tk::Letter(c)) = self.bump().map(|t| &t.tk) else {
            return Err(PErr::parse("expected a letter"));
        };
        let c = *c;
        let name = c.to_string();
        // `E[y]`, `E_{x}[f(x)]`: an expectation, as `\mathbb{E}[y]` is
        if c == EXPECTATION_LETTER && !self.bold && self.bracket_follows() {
            return Err(PErr::unsupported("an expectation `E[...]`"));
        }
        // e^{...}
        if c == 'e' && !self.bold && self.peek().is_some_and(|t| t.is_ch('^')) {
            self.pos += 1;
            let sup = self.arg_toks()?;
            let mut p = self.sub(sup);
            let e = p.expr()?;
            p.expect_end()?;
            return Ok(Expr::Call(Func::Exp, vec![e]));
        }
        self.symbol_tail(name, c.is_ascii_uppercase(), self.bold)
    }

    fn skip_letters(&mut self, n: usize) {
        self.skip_space();
        self.pos += n;
    }

    fn paren_after_letters(&self, n: usize) -> bool {
        let mut k = self.pos;
        while k < self.toks.len() && is_space(&self.toks[k].tk) {
            k += 1;
        }
        k += n;
        while k < self.toks.len() && is_space(&self.toks[k].tk) {
            k += 1;
        }
        self.toks
            .get(k)
            .is_some_and(|t| t.is_ch('(') || t.is_cmd("left"))
    }

    /// A symbol named `base` has been read: its subscript, and whether it is applied
    /// to arguments (an abstract or defined function).
    pub(super) fn symbol_tail(&mut self, base: String, upper: bool, bold: bool) -> PResult<Expr> {
        let mut sub = None;
        if self.peek().is_some_and(|t| t.is_ch('_')) {
            self.pos += 1;
            let s = self.arg_toks()?;
            sub = Some(norm_sub(s));
        }
        // `^` before `_` (x^2_i) is left to postfix; the subscript may come after.
        let sym = Sym {
            base: base.clone(),
            sub,
            bold,
            upper,
        };
        if base == "I"
            && sym
                .sub
                .as_deref()
                .is_none_or(|s| s.chars().all(|c| c.is_alphanumeric()))
        {
            return Ok(Expr::Ident(self.cx.id()));
        }
        if let Some(r) = self.prime_call(&sym.key(), &base) {
            return r;
        }
        // `g^2(x)`: the square of the defined function's value (`g^{-1}(x)`, its
        // inverse, is not read)
        if let Some(name) = [sym.key(), base.clone()]
            .into_iter()
            .find(|n| self.cx.funcs.contains(n))
            && let Some((power, skip)) = self.power_before_paren()
        {
            for _ in 0..skip {
                self.skip_space();
                self.pos += 1;
            }
            let args = self.call_args(&name)?;
            return Ok(Expr::Pow(
                Expr::Apply(name, args).bx(),
                Expr::Num(f64::from(power)).bx(),
            ));
        }
        let paren_next = self.peek().is_some_and(|t| {
            t.is_ch('(') || t.is_cmd("left") || t.is_cmd("big") || t.is_cmd("Big")
        });
        if paren_next {
            let key = sym.key();
            if self.cx.funcs.contains(&key) || self.cx.funcs.contains(&base) {
                let name = if self.cx.funcs.contains(&key) {
                    key
                } else {
                    base
                };
                let args = self.call_args(&name)?;
                return Ok(Expr::Apply(name, args));
            }
            if FUNC_LETTERS.contains(&base.as_str()) {
                let args = self.abstract_args(&base)?;
                return Ok(Expr::Apply(sym.key(), args));
            }
            // Uppercase letter applied to several arguments: a function (L(w, b)).
            if upper && self.paren_has_comma() {
                let args = self.abstract_args(&base)?;
                return Ok(Expr::Apply(sym.key(), args));
            }
            // `y(x)`, `\mathbf{r}(t)`: a lowercase letter glued to one symbol in
            // parentheses is a function of it (a product would be written `y\,x`)
            if !upper && base.len() == 1 && self.glued_single_symbol_arg(!is_constant_letter(&base))
            {
                let args = self.abstract_args(&base)?;
                return Ok(Expr::Apply(sym.key(), args));
            }
        }
        Ok(Expr::Var(sym))
    }

    /// `^2(`, `^{3}(`: a whole power from 2 to 9 written before a parenthesis, and
    /// the tokens it takes.
    fn power_before_paren(&self) -> Option<(u8, usize)> {
        if !self.peek_at(0)?.is_ch('^') {
            return None;
        }
        let (digit, skip) = match &self.peek_at(1)?.tk {
            Tk::Digit(d) => (*d, 2),
            Tk::Open if self.peek_at(3)?.tk == Tk::Close => match &self.peek_at(2)?.tk {
                Tk::Digit(d) => (*d, 4),
                _ => return None,
            },
            _ => return None,
        };
        let power = u8::try_from(digit.to_digit(10)?).ok()?;
        let paren = self.peek_at(skip)?;
        ((2..=9).contains(&power) && (paren.is_ch('(') || paren.is_cmd("left")))
            .then_some((power, skip))
    }

    /// Is the next token a `(` right after the previous one (no space), holding a
    /// single symbol, or a function applied to arguments (`v(u(x))`, a composition),
    /// and closed by `)`? (The composition only when `compose`: `c(g(x))` with a
    /// letter naming a constant is a product.)
    fn glued_single_symbol_arg(&self, compose: bool) -> bool {
        let k = self.pos;
        let (Some(open), Some(prev)) = (
            self.toks.get(k),
            k.checked_sub(1).and_then(|j| self.toks.get(j)),
        ) else {
            return false;
        };
        if !open.is_ch('(') || open.start != prev.end {
            return false;
        }
        let mut depth = 0i32;
        let mut close = None;
        for (j, t) in self.toks.iter().enumerate().skip(k) {
            if t.is_ch('(') {
                depth += 1;
            } else if t.is_ch(')') {
                depth -= 1;
                if depth == 0 {
                    close = Some(j);
                    break;
                }
            }
        }
        let Some(close) = close else { return false };
        let inner = &self.toks[k + 1..close];
        let ids = Cell::new(0);
        let cx = Ctx {
            funcs: self.cx.funcs,
            ids: &ids,
            src: self.cx.src,
            depth: Cell::new(self.cx.depth.get()),
        };
        match parse_expr(inner, &cx) {
            Ok(Expr::Var(_)) => true,
            Ok(Expr::Apply(name, _)) => compose && !is_notation_apply(&name),
            _ => false,
        }
    }

    /// `e` differentiated `order` times by `v`, as primes write it (`f''(x)`).
    fn primed(&self, e: Expr, v: &Sym, order: usize) -> Expr {
        (0..order).fold(e, |e, _| {
            Expr::Deriv(
                self.cx.id(),
                Box::new(Deriv {
                    prime: true,
                    ..Deriv::by(e, v.clone())
                }),
            )
        })
    }

    /// The fresh variable of `name` primed at an expression (`f'(…)#3`), which
    /// `find` binds to that expression (a `PRIME_AT` node).
    fn fresh_prime_variable(&self, name: &str) -> Sym {
        let id = self.cx.id();
        Sym {
            base: format!("{}'(…)#{id}", name.trim_start_matches('\\')),
            sub: None,
            bold: false,
            upper: false,
        }
    }

    /// Primes written after a function's name (`'`, `\prime`, `^{\prime\prime}`): how
    /// many. A superscript holding anything but primes is left unread.
    fn eat_primes(&mut self) -> usize {
        let mut order = 0;
        loop {
            if self.eat_ch('\'') || self.eat_cmd("prime") {
                order += 1;
                continue;
            }
            let prime_sup = self.peek().is_some_and(|t| t.is_ch('^'))
                && self.toks.get(self.pos + 1).is_some_and(|t| {
                    t.is_cmd("prime")
                        || (t.tk == Tk::Open
                            && self
                                .toks
                                .get(self.pos + 2)
                                .is_some_and(|u| u.is_cmd("prime")))
                });
            if !prime_sup {
                return order;
            }
            let at = self.pos;
            self.pos += 1;
            match self.arg_toks() {
                Ok(sup) if sup.iter().all(|t| t.is_cmd("prime") || is_space(&t.tk)) => {
                    order += sup.iter().filter(|t| t.is_cmd("prime")).count();
                }
                _ => {
                    self.pos = at;
                    return order;
                }
            }
        }
    }

    /// `f'(x)`, `f''(t)`, `f^{\prime}(x)` for a function `f` defined in the note: its
    /// derivative by the symbol it is applied to. `None` when no prime follows.
    fn prime_call(&mut self, key: &str, base: &str) -> Option<PResult<Expr>> {
        let name = if self.cx.funcs.contains(key) {
            key
        } else if self.cx.funcs.contains(base) {
            base
        } else {
            return None;
        };
        let save = self.pos;
        let order = self.eat_primes();
        let paren_at = |k: usize| {
            let mut k = k;
            if self.toks.get(k).is_some_and(|t| t.is_cmd("left")) {
                k += 1;
            }
            self.toks.get(k).is_some_and(|t| t.is_ch('('))
        };
        if order == 0 || !(self.single_symbol_paren_at(self.pos) || paren_at(self.pos)) {
            self.pos = save;
            return None;
        }
        let name = name.to_string();
        Some(self.call_args(&name).and_then(|args| {
            let [arg] = args.as_slice() else {
                return Err(PErr::unsupported("a prime derivative of several arguments"));
            };
            let Expr::Var(v) = arg else {
                // `f'(g(x))`: the derivative by a fresh variable, taken where it
                // equals the argument (`find` binds it: a `PRIME_AT` node)
                let z = self.fresh_prime_variable(&name);
                let mut e = Expr::Apply(name, vec![Expr::Var(z.clone())]);
                for _ in 0..order {
                    e = Expr::Deriv(self.cx.id(), Box::new(Deriv::by(e, z.clone())));
                }
                return Ok(Expr::Apply(PRIME_AT.into(), vec![e, arg.clone()]));
            };
            let v = v.clone();
            Ok(self.primed(Expr::Apply(name, args), &v, order))
        }))
    }

    /// Does an argument follow the primes at the cursor (`v'(x)`, `g''\left(t\right)`)?
    pub(super) fn call_after_primes(&self) -> bool {
        self.toks[self.pos..]
            .iter()
            .find(|t| !is_space(&t.tk) && !t.is_ch('\'') && !t.is_cmd("prime"))
            .is_some_and(|t| t.is_ch('(') || t.is_cmd("left"))
    }

    /// Does the bracket after the primes mention the letter `c` itself (`x' (x^2 +
    /// 1)^3`: x' times a power of an expression in x, not a function x applied)?
    pub(super) fn bracket_after_primes_mentions(&self, c: char) -> bool {
        let mut depth = 0i32;
        for t in self.toks[self.pos..]
            .iter()
            .skip_while(|t| is_space(&t.tk) || t.is_ch('\'') || t.is_cmd("prime"))
        {
            match t.tk {
                Tk::Ch('(') => depth += 1,
                Tk::Ch(')') => {
                    depth -= 1;
                    if depth <= 0 {
                        return false;
                    }
                }
                Tk::Letter(l) if l == c && depth > 0 => return true,
                _ => {}
            }
        }
        false
    }

    /// Is there `(v)` at `k`, holding one symbol (`\mathbf{r}'(t)`: a derivative of a
    /// function, while `\mathbf{x}'(A + A')` is a product)?
    pub(super) fn single_symbol_paren_at(&self, k: usize) -> bool {
        if !self.toks.get(k).is_some_and(|t| t.is_ch('(')) {
            return false;
        }
        let Some(close) = self.toks[k..].iter().position(|t| t.is_ch(')')) else {
            return false;
        };
        let inner = &self.toks[k + 1..k + close];
        let ids = Cell::new(0);
        let cx = Ctx {
            funcs: self.cx.funcs,
            ids: &ids,
            src: self.cx.src,
            depth: Cell::new(self.cx.depth.get()),
        };
        matches!(parse_expr(inner, &cx), Ok(Expr::Var(_)))
    }

    fn paren_has_comma(&self) -> bool {
        let mut k = self.pos;
        while k < self.toks.len() && is_space(&self.toks[k].tk) {
            k += 1;
        }
        if self.toks.get(k).is_some_and(|t| t.is_cmd("left")) {
            k += 1;
        }
        if !self.toks.get(k).is_some_and(|t| t.is_ch('(')) {
            return false;
        }
        let mut depth = 0i32;
        for t in &self.toks[k..] {
            match &t.tk {
                Tk::Ch('(') | Tk::Ch('[') | Tk::Open => depth += 1,
                Tk::Ch(')') | Tk::Ch(']') | Tk::Close => {
                    depth -= 1;
                    if depth == 0 {
                        return false;
                    }
                }
                Tk::Ch(',') if depth == 1 => return true,
                _ => {}
            }
        }
        false
    }

    /// Arguments of an abstract or user function: like `call_args`, but arguments
    /// that do not parse (`f(u_1, \dots, u_n)`) are dropped: the function is
    /// abstract anyway, or its definition decides.
    pub(super) fn abstract_args(&mut self, name: &str) -> PResult<Vec<Expr>> {
        let save = self.pos;
        match self.call_args(name) {
            Ok(a) => Ok(a),
            Err(e) => {
                self.pos = save;
                // skip to the matching closing parenthesis
                let mut depth = 0i32;
                let mut k = self.pos;
                while k < self.toks.len() {
                    match &self.toks[k].tk {
                        Tk::Ch('(') | Tk::Ch('[') | Tk::Open => depth += 1,
                        Tk::Ch(')') | Tk::Ch(']') | Tk::Close => {
                            depth -= 1;
                            if depth <= 0 {
                                self.pos = k + 1;
                                return if self.cx.funcs.contains(name) {
                                    Err(e)
                                } else {
                                    Ok(Vec::new())
                                };
                            }
                        }
                        _ => {}
                    }
                    k += 1;
                }
                Err(e)
            }
        }
    }

    /// Arguments in parentheses: `(a, b)`, `\left(a\right)`, `\big(a\big)`.
    pub(super) fn call_args(&mut self, name: &str) -> PResult<Vec<Expr>> {
        self.eat_size();
        let open = self.eat_cmd("left");
        let Some(t) = self.peek() else {
            return Err(PErr::parse(format!("`{name}` without arguments")));
        };
        if !(t.is_ch('(') || t.is_ch('[') || t.is_cmd("{")) {
            return Err(PErr::parse(format!(
                "`{name}` without parenthesised arguments"
            )));
        }
        let _ = open;
        self.pos += 1;
        let mut args = Vec::new();
        let saved = (self.abs_depth, self.norm_depth, self.in_bare_arg);
        self.abs_depth = 0;
        self.norm_depth = 0;
        self.in_bare_arg = false;
        loop {
            let a = self.dots_or_expr();
            let a = match a {
                Ok(a) => a,
                Err(e) => {
                    (self.abs_depth, self.norm_depth, self.in_bare_arg) = saved;
                    return Err(e);
                }
            };
            args.push(a);
            if self.eat_ch(',') {
                continue;
            }
            break;
        }
        (self.abs_depth, self.norm_depth, self.in_bare_arg) = saved;
        self.eat_size();
        self.close_delim()?;
        Ok(args)
    }

    fn eat_size(&mut self) {
        // \big etc. are spacing for us; nothing to do (skip_space handles them)
        self.skip_space();
    }

    /// `(\sin)'(x)`, `(\cosh^{-1})'x`: a built-in function (or its inverse) in
    /// parentheses, primed; `None` (nothing read) for anything else.
    pub(super) fn primed_function_in_parens(&mut self) -> Option<PResult<Expr>> {
        let sig: Vec<usize> = (self.pos..self.toks.len())
            .filter(|&k| !is_space(&self.toks[k].tk))
            .take(6)
            .collect();
        let tok = |n: usize| sig.get(n).map(|&k| &self.toks[k]);
        if !tok(0)?.is_ch('(') {
            return None;
        }
        let Tk::Cmd(c) = &tok(1)?.tk else {
            return None;
        };
        let mut f = func_command(c)?;
        let mut close = 2;
        if tok(2)?.is_ch('^') {
            // `^{-1}` (one group) or `^-1`
            let k = sig[3];
            let mut p = self.sub(&self.toks[k..]);
            let sup = p.arg_toks().ok()?;
            if plain_text(sup).replace(' ', "") != "-1" {
                return None;
            }
            let after = k + p.pos;
            f = f.info().inverse?;
            let next = (after..self.toks.len()).find(|&j| !is_space(&self.toks[j].tk))?;
            if !self.toks[next].is_ch(')') {
                return None;
            }
            self.pos = next + 1;
        } else {
            if !tok(close)?.is_ch(')') {
                return None;
            }
            close = sig[close];
            self.pos = close + 1;
        }
        let primed = self
            .peek()
            .is_some_and(|t| t.is_ch('\'') || t.is_cmd("prime") || t.is_ch('^'));
        let save = self.pos;
        if !primed || self.eat_primes() == 0 {
            self.pos = sig[0];
            return None;
        }
        self.pos = save;
        Some(self.call(f))
    }

    /// A built-in function: `f(args)`, `f^2(x)`, `\sin x`.
    pub(super) fn call(&mut self, f: Func) -> PResult<Expr> {
        // `\sigma'(t)`, `\tanh^{\prime}(x)`: the derivative of the function at a
        // variable
        let save = self.pos;
        let order = self.eat_primes();
        if order > 0 {
            let args = if self.peek().is_some_and(|t| t.is_ch('(')) {
                self.call_args(f.name())?
            } else if let Some(t) = self.peek()
                && let Tk::Letter(c) = t.tk
                && !self
                    .peek_at(1)
                    .is_some_and(|u| matches!(u.tk, Tk::Letter(_) | Tk::Ch('_') | Tk::Ch('^')))
            {
                // `(\cosh^{-1})'x`: a letter alone as the argument
                self.pos += 1;
                vec![Expr::Var(Sym {
                    base: c.to_string(),
                    sub: None,
                    bold: false,
                    upper: c.is_uppercase(),
                })]
            } else {
                self.pos = save;
                return Err(PErr::unsupported(format!(
                    "a prime on `{}` without an argument",
                    f.name()
                )));
            };
            return match args.as_slice() {
                [Expr::Var(v)] => {
                    let v = v.clone();
                    Ok(self.primed(Expr::Call(f, vec![Expr::Var(v.clone())]), &v, order))
                }
                // `\sin'(2x)`: the derivative by a fresh variable, taken where it
                // equals the argument
                [arg] => {
                    let z = self.fresh_prime_variable(f.name());
                    let e = self.primed(Expr::Call(f, vec![Expr::Var(z.clone())]), &z, order);
                    Ok(Expr::Apply(PRIME_AT.into(), vec![e, arg.clone()]))
                }
                _ => Err(PErr::unsupported(format!(
                    "a prime on `{}` of several arguments",
                    f.name()
                ))),
            };
        }
        let mut power: Option<Expr> = None;
        if self.peek().is_some_and(|t| t.is_ch('_')) {
            let save = self.pos;
            self.pos += 1;
            let sub = self.arg_toks()?;
            let s = plain_text(sub).replace(' ', "");
            if f == Func::Ln && s == "e" {
                // \log_e
            } else if f == Func::Ln
                && let Ok(b) = s.parse::<f64>()
                && b > 0.0
                && b != 1.0
            {
                // \log_2 x = \ln x / \ln 2
                let e = self.call(f)?;
                return Ok(Expr::bin(BinOp::Div, e, Expr::Num(b.ln())));
            } else if f == Func::Ln
                && let Ok(base) = self.group(sub)
                && matches!(base, Expr::Var(ref v) if !v.bold && !v.upper)
            {
                // \log_a x = \ln x / \ln a (a positive base other than 1)
                let e = self.call(f)?;
                return Ok(Expr::bin(BinOp::Div, e, Expr::Call(Func::Ln, vec![base])));
            } else if matches!(f, Func::Max | Func::Min | Func::Sum) {
                return Err(PErr::unsupported(format!(
                    "`\\{}_{{{s}}}` over an index",
                    f.name()
                )));
            } else {
                self.pos = save;
                return Err(PErr::unsupported(format!(
                    "`{}` with a subscript `{s}`",
                    f.name()
                )));
            }
        }
        if self.peek().is_some_and(|t| t.is_ch('^')) {
            self.pos += 1;
            let sup = self.arg_toks()?;
            let s = plain_text(sup).replace(' ', "");
            if s == "-1" {
                // `\sin^{-1} x`, `\tan^{-1}`: the inverse functions
                let Some(inv) = f.info().inverse else {
                    return Err(PErr::unsupported(format!(
                        "the inverse function `{}^{{-1}}`",
                        f.name()
                    )));
                };
                return self.call(inv);
            }
            let mut p = self.sub(sup);
            let e = p.expr()?;
            p.expect_end()?;
            power = Some(e);
        }
        let paren = {
            let t = self.peek();
            let opens = |t: &Tok| t.is_ch('(') || t.is_ch('[') || t.is_cmd("{");
            // `\ln\left|x\right|` is a bare argument, `\ln\left(x\right)` a call
            let after_left = || {
                self.toks[self.pos..]
                    .iter()
                    .filter(|t| !is_space(&t.tk))
                    .nth(1)
                    .is_some_and(opens)
            };
            t.is_some_and(|t| opens(t) || (t.is_cmd("left") && after_left()))
        };
        let args = if paren {
            self.call_args(f.name())?
        } else if self.peek().is_some_and(|t| t.tk == Tk::Open) {
            let inner = self.arg_toks()?;
            vec![self.group(inner)?]
        } else {
            if !self.at_factor_start() {
                return Err(PErr::parse(format!("`{}` without an argument", f.name())));
            }
            let saved = (self.in_bare_arg, self.bare_scalar);
            self.in_bare_arg = false;
            let first = self.factor();
            self.in_bare_arg = true;
            self.bare_scalar = first.as_ref().is_ok_and(|e| !has_bold(e));
            let mut e = match first {
                Ok(e) => e,
                Err(err) => {
                    (self.in_bare_arg, self.bare_scalar) = saved;
                    return Err(err);
                }
            };
            while !self.bare_arg_stops() && self.at_factor_start() {
                match self.factor() {
                    Ok(g) => e = Expr::bin(BinOp::Mul, e, g),
                    Err(err) => {
                        (self.in_bare_arg, self.bare_scalar) = saved;
                        return Err(err);
                    }
                }
            }
            (self.in_bare_arg, self.bare_scalar) = saved;
            vec![e]
        };
        let want = f.info().arity;
        if args.len() != want {
            if matches!(f, Func::Max | Func::Min) && args.len() == 1 {
                return Err(PErr::unsupported(format!(
                    "`{}` of a single argument (the largest entry)",
                    f.name()
                )));
            }
            if f == Func::Diag && args.len() > 1 {
                return Ok(apply_power(Expr::Call(f, vec![list_vector(args)?]), power));
            }
            return Err(PErr::parse(format!(
                "`{}` takes {want} argument(s), got {}",
                f.name(),
                args.len()
            )));
        }
        Ok(apply_power(Expr::Call(f, args), power))
    }
}
