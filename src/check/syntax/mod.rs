//! TeX → tokens (`lex`) → expression trees (`parse`, building `ast`).

mod ast;
mod lex;
mod parse;

pub(crate) use ast::{
    BinOp, Cond, Deriv, Expr, NormKind, PRIME_AT, PostOp, Rel, Sym, TUPLE, VecOp,
};
pub(crate) use lex::{Tk, Tok, is_space, lex, skip_group};
pub(crate) use parse::{Ctx, PErr, parse_condition, parse_expr, plain_text, relation, split_top};
