//! TeX → tokens, with byte spans into the source.
//!
//! The one lexer of the project: the renderer ([`crate::render::math`]), the macro expander
//! ([`super::macros`]) and the checker ([`crate::check`]) all read TeX through it. It keeps
//! every character of the source (white space and comments are tokens too), so that a
//! token stream can be written back exactly, and so that a finding can point at the source.

use std::ops::Range;

/// A token's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok<'a> {
    /// `\name`, the name made of ASCII letters.
    Word(&'a str),
    /// `\c` for a single character that is not an ASCII letter (`\\`, `\,`, `\ `, `\{`…).
    Symbol(char),
    /// A `\` ending the input.
    LoneBackslash,
    /// A run of white space.
    Space,
    /// `%` up to the end of the line (the line break excluded).
    Comment,
    /// Any other character.
    Char(char),
}

/// A token and where it is in the source (byte offsets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token<'a> {
    pub tok: Tok<'a>,
    pub span: Range<usize>,
}

/// Splits TeX into tokens. Linear in the input's length.
pub fn lex(src: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::with_capacity(src.len() / 2 + 1);
    let mut i = 0;
    while let Some(c) = src[i..].chars().next() {
        let start = i;
        let tok = if c == '\\' {
            i += 1;
            match src[i..].chars().next() {
                None => Tok::LoneBackslash,
                Some(d) if d.is_ascii_alphabetic() => {
                    let len = src[i..]
                        .find(|ch: char| !ch.is_ascii_alphabetic())
                        .unwrap_or(src.len() - i);
                    let name = &src[i..i + len];
                    i += len;
                    Tok::Word(name)
                }
                Some(d) => {
                    i += d.len_utf8();
                    Tok::Symbol(d)
                }
            }
        } else if c.is_whitespace() {
            i += src[i..]
                .find(|ch: char| !ch.is_whitespace())
                .unwrap_or(src.len() - i);
            Tok::Space
        } else if c == '%' {
            i += src[i..].find('\n').unwrap_or(src.len() - i);
            Tok::Comment
        } else {
            i += c.len_utf8();
            Tok::Char(c)
        };
        tokens.push(Token {
            tok,
            span: start..i,
        });
    }
    tokens
}

/// The longest control word looked for at the end of a text: no command is longer, and
/// a bounded look keeps writing a long run of letters linear.
const LONGEST_WORD: usize = 64;

/// Whether `s` ends with a control word, so that a letter written next would extend it.
/// Reads at most the last [`LONGEST_WORD`] letters and as many backslashes.
pub fn ends_with_control_word(s: &str) -> bool {
    let bytes = s.as_bytes();
    let letters = bytes
        .iter()
        .rev()
        .take(LONGEST_WORD + 1)
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    if letters == 0 || letters > LONGEST_WORD {
        return false;
    }
    let backslashes = bytes[..bytes.len() - letters]
        .iter()
        .rev()
        .take(LONGEST_WORD)
        .take_while(|&&b| b == b'\\')
        .count();
    backslashes % 2 == 1
}

/// Appends `piece` to `out`, with a space between when `out` ends with a control word and
/// `piece` starts with a letter (`\alpha` then `x` must not become `\alphax`).
pub fn push_tex(out: &mut String, piece: &str) {
    if piece.starts_with(|c: char| c.is_ascii_alphabetic()) && ends_with_control_word(out) {
        out.push(' ');
    }
    out.push_str(piece);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_is_in_one_token() {
        let src = "\\frac{a}{b} % c\n\\,x\\ y\\";
        let tokens = lex(src);
        let mut end = 0;
        for token in &tokens {
            assert_eq!(token.span.start, end);
            end = token.span.end;
        }
        assert_eq!(end, src.len());
        assert_eq!(tokens[0].tok, Tok::Word("frac"));
        assert!(tokens.iter().any(|t| t.tok == Tok::Comment));
        assert!(tokens.iter().any(|t| t.tok == Tok::Symbol(',')));
        assert_eq!(tokens.last().map(|t| t.tok), Some(Tok::LoneBackslash));
    }

    #[test]
    fn control_words_are_not_glued_to_letters() {
        let mut out = String::from("\\alpha");
        push_tex(&mut out, "x");
        assert_eq!(out, "\\alpha x");
        let mut out = String::from("\\\\");
        push_tex(&mut out, "x");
        assert_eq!(out, "\\\\x");
        // A long run of letters is written in linear time.
        let mut out = String::from("y");
        for _ in 0..100_000 {
            push_tex(&mut out, "x");
        }
        assert!(!out.contains(' '));
    }
}
