//! TeX → tokens (`lex`) → expression trees (`parse`, building `ast`).

mod ast;
mod lex;
mod parse;

pub(crate) use ast::*;
pub(crate) use lex::{Tk, Tok, is_space, lex, skip_group};
pub(crate) use parse::*;
