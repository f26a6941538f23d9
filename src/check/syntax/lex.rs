//! The checker's TeX lexer: TeX → tokens with byte offsets into the span's TeX (so
//! that findings can point at the source). Kept on its own, with this signature, to
//! be swapped for a shared TeX lexer.

/// A token's kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tk {
    /// `\name`, or `\c` for a single non-letter character (`\,`, `\\`, `\{`, `\|`).
    Cmd(String),
    Letter(char),
    Digit(char),
    /// Any other single character: `+ - * / = ( ) [ ] < > , ; : ! ' | ^ _ & ~ ? .`
    Ch(char),
    /// `{`
    Open,
    /// `}`
    Close,
}

/// A token and where it is in the span's TeX (byte offsets).
#[derive(Debug, Clone)]
pub(crate) struct Tok {
    pub tk: Tk,
    pub start: usize,
    pub end: usize,
}

impl Tok {
    pub(crate) fn is_cmd(&self, name: &str) -> bool {
        matches!(&self.tk, Tk::Cmd(c) if c == name)
    }
    pub(crate) fn is_ch(&self, c: char) -> bool {
        self.tk == Tk::Ch(c)
    }
}

fn unicode_cmd(c: char) -> Option<&'static str> {
    Some(match c {
        '∂' => "partial",
        '∇' => "nabla",
        '≤' => "le",
        '≥' => "ge",
        '≠' => "ne",
        '⊙' => "odot",
        '∘' => "circ",
        '⊗' => "otimes",
        '⊘' => "oslash",
        '·' | '⋅' => "cdot",
        '×' => "times",
        '⊤' => "top",
        '∑' => "sum",
        '…' => "dots",
        '⋯' => "cdots",
        '∈' => "in",
        '→' => "to",
        '⇒' => "implies",
        'α' => "alpha",
        'β' => "beta",
        'γ' => "gamma",
        'δ' => "delta",
        'ε' => "epsilon",
        'η' => "eta",
        'θ' => "theta",
        'κ' => "kappa",
        'λ' => "lambda",
        'μ' => "mu",
        'ν' => "nu",
        'ξ' => "xi",
        'π' => "pi",
        'ρ' => "rho",
        'σ' => "sigma",
        'τ' => "tau",
        'φ' => "phi",
        'ψ' => "psi",
        'ω' => "omega",
        'Σ' => "Sigma",
        'Λ' => "Lambda",
        'Θ' => "Theta",
        'Φ' => "Phi",
        'Ω' => "Omega",
        _ => return None,
    })
}

/// Splits TeX into tokens. Comments (`% ...`) are dropped; whitespace separates tokens.
pub(crate) fn lex(src: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let end_of = |k: usize| chars.get(k).map_or(src.len(), |&(b, _)| b);
    let mut k = 0;
    while k < chars.len() {
        let (b, c) = chars[k];
        if c.is_whitespace() {
            k += 1;
            continue;
        }
        if c == '%' {
            while k < chars.len() && chars[k].1 != '\n' {
                k += 1;
            }
            continue;
        }
        if c == '\\' {
            let mut j = k + 1;
            while j < chars.len() && chars[j].1.is_ascii_alphabetic() {
                j += 1;
            }
            if j > k + 1 {
                let name: String = chars[k + 1..j].iter().map(|&(_, c)| c).collect();
                // `\operatorname*` and friends: the star belongs to the command.
                let mut e = j;
                if e < chars.len() && chars[e].1 == '*' && name == "operatorname" {
                    e += 1;
                }
                out.push(Tok {
                    tk: Tk::Cmd(name),
                    start: b,
                    end: end_of(e),
                });
                k = e;
            } else if j < chars.len() {
                let c2 = chars[j].1;
                let name = if c2.is_whitespace() {
                    " ".to_string()
                } else {
                    c2.to_string()
                };
                out.push(Tok {
                    tk: Tk::Cmd(name),
                    start: b,
                    end: end_of(j + 1),
                });
                k = j + 1;
            } else {
                k += 1;
            }
            continue;
        }
        let tk = if c.is_ascii_alphabetic() {
            Tk::Letter(c)
        } else if c.is_ascii_digit() {
            Tk::Digit(c)
        } else if c == '{' {
            Tk::Open
        } else if c == '}' {
            Tk::Close
        } else if c == '−' || c == '–' {
            Tk::Ch('-')
        } else if let Some(name) = unicode_cmd(c) {
            Tk::Cmd(name.to_string())
        } else {
            Tk::Ch(c)
        };
        out.push(Tok {
            tk,
            start: b,
            end: end_of(k + 1),
        });
        k += 1;
    }
    clean(out)
}

/// Commands whose braced argument is dropped together with the command.
const DROP_WITH_ARG: &[&str] = &[
    "label", "tag", "hspace", "vspace", "phantom", "hphantom", "vphantom", "color",
];

/// Drops `\label{..}`, `\tag{..}`, `\hspace{..}`, `\phantom{..}`, `\color{..}`, and turns
/// `\textcolor{c}{x}` into `x`.
fn clean(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out = Vec::with_capacity(toks.len());
    let mut k = 0;
    while k < toks.len() {
        let t = &toks[k];
        if let Tk::Cmd(c) = &t.tk
            && (DROP_WITH_ARG.contains(&c.as_str()) || c == "textcolor")
        {
            let mut j = k + 1;
            if toks.get(j).is_some_and(|t| t.is_ch('*')) {
                j += 1;
            }
            if toks.get(j).is_some_and(|t| t.tk == Tk::Open) {
                j = skip_group(&toks, j);
            }
            k = j;
            continue;
        }
        out.push(t.clone());
        k += 1;
    }
    out
}

/// Given `toks[open]` is `{`, the index after its matching `}` (or the end).
pub(crate) fn skip_group(toks: &[Tok], open: usize) -> usize {
    let mut depth = 0i32;
    let mut j = open;
    while j < toks.len() {
        match toks[j].tk {
            Tk::Open => depth += 1,
            Tk::Close => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    toks.len()
}

/// Spacing and size commands that carry no meaning for the math.
pub(crate) fn is_space(tk: &Tk) -> bool {
    match tk {
        Tk::Cmd(c) => matches!(
            c.as_str(),
            "," | ";"
                | ":"
                | "!"
                | " "
                | ">"
                | "quad"
                | "qquad"
                | "displaystyle"
                | "textstyle"
                | "scriptstyle"
                | "limits"
                | "nolimits"
                | "Huge"
                | "huge"
                | "LARGE"
                | "Large"
                | "large"
                | "small"
                | "footnotesize"
                | "scriptsize"
                | "tiny"
                | "normalsize"
                | "thinspace"
                | "medspace"
                | "thickspace"
                | "enspace"
                | "nonumber"
                | "notag"
                | "mathstrut"
                | "strut"
                | "mathop"
                | "mathord"
                | "mathbin"
                | "mathrel"
                | "bigl"
                | "bigr"
                | "Bigl"
                | "Bigr"
                | "biggl"
                | "biggr"
                | "Biggl"
                | "Biggr"
                | "big"
                | "Big"
                | "bigg"
                | "Bigg"
                | "bigm"
                | "Bigm"
        ),
        Tk::Ch('~') => true,
        _ => false,
    }
}
