//! Reading TeX: the one front end of the renderer and the checker.
//!
//! - [`lex`]: TeX → tokens with byte spans;
//! - [`vocab`]: the commands the project knows, as tables (fonts, text commands, sizes,
//!   spaces, Unicode spellings, built-in macros);
//! - [`macros`]: the vault's own macros and their expansion, with a map back to the source;
//! - [`packages`]: the macros of packages a vault may load (`\require{physics}`).

pub mod lex;
pub mod macros;
pub mod packages;
pub mod vocab;
