//! TeX → tokens (`lex`) → expression trees (`parse`, building `ast`).

mod ast;
mod lex;
mod parse;

pub(crate) use ast::{
    ANGLE_PAIR, BinOp, COORDINATE_POINT, Cond, Deriv, Expr, NormKind, PRIME_AT, PostOp, Rel, Sym,
    TUPLE, VecOp, is_notation_apply,
};
pub(crate) use lex::{Tk, Tok, is_space, lex, numeral_commas, skip_group, writes_decimal_comma};
pub(crate) use parse::{Ctx, PErr, parse_condition, parse_expr, plain_text, relation, split_top};
