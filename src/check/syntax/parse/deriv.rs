//! Derivatives: `\frac{d}{dx}` and its spellings, `\partial`, `\nabla`.

use crate::check::notation::{
    DIFFERENTIAL, Func, PARTIAL_INDEX_LETTERS, UPRIGHT_D_CMDS, func_by_name,
};
use crate::check::syntax::ast::{BinOp, Deriv, Expr, PostOp, Sym, VecOp};
use crate::check::syntax::lex::{Tk, Tok, is_space, skip_group};

use super::{PErr, PResult, Parser, plain_text, split_top};

impl Parser<'_, '_> {
    /// `\frac{N}{D}`: a derivative or a division.
    pub(super) fn frac(&mut self) -> PResult<Expr> {
        let num = self.arg_toks()?;
        let den = self.arg_toks()?;
        if let (Some((partial, nrest, norder)), Some((_, drest, _))) =
            (self.differential(num), self.differential(den))
        {
            return self.derivative(nrest, norder, drest, !partial);
        }
        let n = self.group(num)?;
        let d = self.group(den)?;
        Ok(Expr::bin(BinOp::Div, n, d))
    }

    /// If `toks` starts with `\partial`, `d` or `\mathrm{d}`: (kind, rest, order).
    pub(super) fn differential<'u>(&self, toks: &'u [Tok]) -> Option<(bool, &'u [Tok], u32)> {
        let mut k = 0;
        while k < toks.len() && is_space(&toks[k].tk) {
            k += 1;
        }
        let t = toks.get(k)?;
        let partial;
        let mut rest_at;
        if t.is_cmd("partial") {
            partial = true;
            rest_at = k + 1;
        } else if t.tk == Tk::Letter(DIFFERENTIAL) {
            // a letter run like `diag` or `det` is not a differential
            let mut j = k + 1;
            let mut run = String::from(DIFFERENTIAL);
            while let Some(u) = toks.get(j) {
                match u.tk {
                    Tk::Letter(c) if u.start == toks[j - 1].end => {
                        run.push(c);
                        j += 1;
                    }
                    _ => break,
                }
            }
            if run.len() >= 2 && (func_by_name(&run).is_some() || self.cx.funcs.contains(&run)) {
                return None;
            }
            partial = false;
            rest_at = k + 1;
        } else if let Tk::Cmd(c) = &t.tk {
            if UPRIGHT_D_CMDS.contains(&c.as_str()) {
                let j = k + 1;
                let inner_end = if toks.get(j).is_some_and(|u| u.tk == Tk::Open) {
                    skip_group(toks, j)
                } else {
                    j + 1
                };
                let inner = &toks[j.min(toks.len())..inner_end.min(toks.len())];
                if plain_text(inner).replace(['{', '}', ' '], "") != DIFFERENTIAL.to_string() {
                    return None;
                }
                partial = false;
                rest_at = inner_end;
            } else {
                return None;
            }
        } else {
            return None;
        };
        let mut order = 1;
        // \partial^2
        let mut j = rest_at;
        while j < toks.len() && is_space(&toks[j].tk) {
            j += 1;
        }
        if toks.get(j).is_some_and(|u| u.is_ch('^')) {
            let e = if toks.get(j + 1).is_some_and(|u| u.tk == Tk::Open) {
                skip_group(toks, j + 1)
            } else {
                j + 2
            };
            let s = plain_text(&toks[(j + 1).min(toks.len())..e.min(toks.len())]);
            order = s.replace(['{', '}', ' '], "").parse::<u32>().unwrap_or(2);
            rest_at = e.min(toks.len());
        }
        Some((partial, &toks[rest_at.min(toks.len())..], order))
    }

    /// Builds a derivative from the fraction's numerator rest and denominator rest.
    pub(super) fn derivative(
        &mut self,
        nrest: &[Tok],
        order: u32,
        drest: &[Tok],
        total: bool,
    ) -> PResult<Expr> {
        // by `\operatorname{vec}(X)`: X's entries in column order
        let by_vec = if order == 1 {
            let mut p = self.sub(drest);
            p.bold = false;
            match p.factor() {
                Ok(Expr::Call(Func::Vec, args)) if p.at_end() => match args.as_slice() {
                    [Expr::Var(s)] => Some(s.clone()),
                    _ => None,
                },
                _ => None,
            }
        } else {
            None
        };
        let wrts = if let Some(s) = &by_vec {
            vec![s.clone()]
        } else if order == 1 {
            vec![self.wrt(drest)?]
        } else {
            self.wrts(drest, order)?
        };
        let of = if nrest.iter().all(|t| is_space(&t.tk)) {
            // operator form: the operand follows, up to the relation (or the next
            // derivative term)
            let saved = (self.in_bare_arg, self.in_operand);
            self.in_bare_arg = false;
            self.in_operand = true;
            let e = self.expr();
            (self.in_bare_arg, self.in_operand) = saved;
            e?
        } else {
            let mut p = self.sub(nrest);
            let e = p.expr()?;
            p.expect_end()?;
            e
        };
        if let Some(wrt) = by_vec {
            return Ok(Expr::Deriv(
                self.cx.id(),
                Box::new(Deriv {
                    vec: true,
                    total,
                    ..Deriv::by(of, wrt)
                }),
            ));
        }
        Ok(self.nest(of, wrts, total))
    }

    /// `of` differentiated by each variable, the last one first. Twice by one vector,
    /// the inner derivative is a gradient (either orientation), so that the outer one
    /// is the Hessian (symmetric, whatever the layout).
    fn nest(&self, of: Expr, wrts: Vec<Sym>, total: bool) -> Expr {
        let n = wrts.len();
        // (only a Hessian, twice by one vector, is symmetric)
        let hessian = wrts.windows(2).all(|w| w[0].key() == w[1].key());
        let mut e = of;
        for (k, wrt) in wrts.into_iter().enumerate().rev() {
            let nabla = n > 1 && k > 0 && hessian && wrt.bold && !wrt.upper;
            e = Expr::Deriv(
                self.cx.id(),
                Box::new(Deriv {
                    nabla,
                    total,
                    ..Deriv::by(e, wrt)
                }),
            );
        }
        e
    }

    /// The variables of a higher-order derivative's denominator: `x^2`,
    /// `x \partial y`, `\mathbf{x} \partial \mathbf{x}^\top`; their orders must add
    /// up to the numerator's.
    fn wrts(&self, toks: &[Tok], order: u32) -> PResult<Vec<Sym>> {
        let mut out = Vec::new();
        for piece in split_top(toks, |t| t.is_cmd("partial")) {
            if piece.iter().all(|t| is_space(&t.tk)) {
                continue;
            }
            let mut p = self.sub(piece);
            p.bold = false;
            let e = p.factor()?;
            if !p.at_end() {
                return Err(PErr::unsupported(format!(
                    "derivative with respect to `{}`",
                    self.cx.text(piece)
                )));
            }
            let (s, k) = match e {
                Expr::Var(s) => (s, 1),
                Expr::Post(v, PostOp::Transpose) if matches!(*v, Expr::Var(_)) => match *v {
                    Expr::Var(s) => (s, 1),
                    _ => unreachable!(),
                },
                Expr::Pow(v, k) => match (*v, *k) {
                    (Expr::Var(s), Expr::Num(k)) if k >= 1.0 && k.fract() == 0.0 && k <= 4.0 => {
                        (s, k as u32)
                    }
                    _ => return Err(PErr::unsupported("a higher-order derivative")),
                },
                _ => {
                    return Err(PErr::unsupported(format!(
                        "derivative with respect to the expression `{}`",
                        self.cx.text(piece)
                    )));
                }
            };
            for _ in 0..k {
                out.push(s.clone());
            }
        }
        if out.len() != order as usize || out.is_empty() || order > 4 {
            return Err(PErr::unsupported(
                "a higher-order derivative whose orders do not add up",
            ));
        }
        Ok(out)
    }

    /// The variable after `\partial` / `d` in a denominator.
    pub(super) fn wrt(&self, toks: &[Tok]) -> PResult<Sym> {
        if toks.iter().any(|t| t.is_cmd("partial")) {
            return Err(PErr::unsupported("a mixed second derivative"));
        }
        let mut p = self.sub(toks);
        p.bold = false;
        let e = p.factor()?;
        if !p.at_end() {
            return Err(PErr::unsupported(format!(
                "derivative with respect to `{}`",
                self.cx.text(toks)
            )));
        }
        match e {
            Expr::Var(s) => Ok(s),
            Expr::Pow(..) => Err(PErr::unsupported("a higher-order derivative")),
            Expr::Ident(_) => Ok(Sym {
                base: "I".into(),
                sub: None,
                bold: false,
                upper: true,
            }),
            _ => Err(PErr::unsupported(format!(
                "derivative with respect to the expression `{}`",
                self.cx.text(toks)
            ))),
        }
    }

    /// `\partial f / \partial x` or `\partial_x f`.
    pub(super) fn inline_partial(&mut self) -> PResult<Expr> {
        if self.eat_ch('_') {
            let sub = self.arg_toks()?;
            // `\partial_{xy} f`: by x, then by y (not index letters: `\partial_{ij}`
            // is index notation)
            let letters: Vec<char> = sub
                .iter()
                .filter(|t| !is_space(&t.tk))
                .map(|t| match t.tk {
                    Tk::Letter(c) => c,
                    _ => '\0',
                })
                .collect();
            if (2..=3).contains(&letters.len())
                && letters
                    .iter()
                    .all(|c| c.is_ascii_lowercase() && !PARTIAL_INDEX_LETTERS.contains(*c))
            {
                let mut e = self.expr()?;
                for c in letters {
                    e = Expr::Deriv(
                        self.cx.id(),
                        Box::new(Deriv::by(
                            e,
                            Sym {
                                base: c.to_string(),
                                sub: None,
                                bold: false,
                                upper: false,
                            },
                        )),
                    );
                }
                return Ok(e);
            }
            let wrt = self.wrt(sub)?;
            let of = self.operator_operand()?;
            return Ok(Expr::Deriv(self.cx.id(), Box::new(Deriv::by(of, wrt))));
        }
        let of = self.factor()?;
        if !self.eat_ch('/') {
            return Err(PErr::unsupported("a lone `\\partial`"));
        }
        if !self.eat_cmd("partial") {
            return Err(PErr::unsupported(
                "`\\partial ... /` without `\\partial` below",
            ));
        }
        let start = self.pos;
        let _ = self.factor()?;
        let wrt = self.wrt(&self.toks[start..self.pos])?;
        Ok(Expr::Deriv(self.cx.id(), Box::new(Deriv::by(of, wrt))))
    }

    pub(super) fn nabla(&mut self) -> PResult<Expr> {
        // `\nabla^2_{\mathbf{x}}`, `\nabla_{\mathbf{x}}^2`: the Hessian
        let mut hessian = false;
        let mut wrt = None;
        for _ in 0..2 {
            if self.peek().is_some_and(|t| t.is_ch('^')) && !hessian {
                self.pos += 1;
                let sup = self.arg_toks()?;
                if plain_text(sup).replace(' ', "") != "2" {
                    return Err(PErr::unsupported("a power of `\\nabla`"));
                }
                hessian = true;
            } else if wrt.is_none() && self.eat_ch('_') {
                let sub = self.arg_toks()?;
                wrt = Some(self.wrt(sub)?);
            }
        }
        // `\nabla \cdot \mathbf{F}`, `\nabla \times \mathbf{F}`: divergence, curl
        let op = if self.eat_cmd("cdot") {
            Some(VecOp::Div)
        } else if self.eat_cmd("times") {
            Some(VecOp::Curl)
        } else {
            None
        };
        if let Some(op) = op {
            if hessian {
                return Err(PErr::unsupported(format!(
                    "the {} of `\\nabla^2`",
                    op.name()
                )));
            }
            return self.vector_op(op, wrt);
        }
        // (by the coordinates, no subscript: vector calculus, where `\nabla` binds
        // tighter than the products of vectors)
        let saved = std::mem::replace(&mut self.grad_operand, wrt.is_none());
        let of = self.operator_operand();
        self.grad_operand = saved;
        let of = of?;
        let wrt = match wrt {
            Some(w) => w,
            None => match &of {
                Expr::Apply(_, args) if args.len() == 1 => match &args[0] {
                    Expr::Var(s) => s.clone(),
                    _ => return Err(PErr::unsupported("`\\nabla` without a subscript")),
                },
                _ => Sym {
                    base: String::new(),
                    sub: None,
                    bold: false,
                    upper: false,
                },
            },
        };
        let grad = Expr::Deriv(
            self.cx.id(),
            Box::new(Deriv {
                nabla: true,
                ..Deriv::by(of, wrt.clone())
            }),
        );
        if !hessian {
            return Ok(grad);
        }
        // `\nabla^2 g` by no variable (the coordinates): the Laplacian, the
        // divergence of the gradient
        if wrt.base.is_empty() {
            return Ok(Expr::Deriv(
                self.cx.id(),
                Box::new(Deriv {
                    op: Some(VecOp::Div),
                    ..Deriv::by(grad, wrt)
                }),
            ));
        }
        Ok(Expr::Deriv(self.cx.id(), Box::new(Deriv::by(grad, wrt))))
    }

    /// The divergence or the curl (after `\nabla \cdot`, `\operatorname{div}`, ...) of
    /// the product that follows (`\nabla \cdot \mathbf{F} + ...` ends at the `+`),
    /// by `wrt` (`\nabla_{\mathbf{x}} \cdot`), else by the variable `find` picks.
    pub(super) fn vector_op(&mut self, op: VecOp, wrt: Option<Sym>) -> PResult<Expr> {
        let wrt = match wrt {
            Some(w) => w,
            None if self.eat_ch('_') => {
                let sub = self.arg_toks()?;
                self.wrt(sub)?
            }
            None => Sym {
                base: String::new(),
                sub: None,
                bold: false,
                upper: false,
            },
        };
        let of = self.jterm()?;
        Ok(Expr::Deriv(
            self.cx.id(),
            Box::new(Deriv {
                op: Some(op),
                ..Deriv::by(of, wrt)
            }),
        ))
    }
}
