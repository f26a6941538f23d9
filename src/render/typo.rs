//! Small typography of the rendered HTML: punctuation kept on the line of the inline
//! formula before it (a lone `:` or `,` must not wrap onto a line of its own).

/// The start of an inline formula as the writer emits it.
const INLINE_MATH: &str = "<span class=\"math math-inline\"><math";
/// Its end.
const END: &str = "</math></span>";
/// Punctuation that belongs to the formula before it.
const PUNCTUATION: &[char] = &[':', ',', '.', ';', '!', '?', ')', ']', '’', '”', '»'];

/// `html` with each inline formula directly followed by punctuation wrapped, with the
/// punctuation, in `<span class="nowrap">`.
pub fn keep_punctuation(html: &str) -> String {
    if !html.contains(INLINE_MATH) {
        return html.to_string();
    }
    let mut out = String::with_capacity(html.len() + 256);
    let mut rest = html;
    while let Some(start) = rest.find(INLINE_MATH) {
        let Some(len) = rest[start..].find(END) else {
            break;
        };
        let end = start + len + END.len();
        let after = &rest[end..];
        let punct: usize = after
            .chars()
            .take_while(|c| PUNCTUATION.contains(c))
            .map(char::len_utf8)
            .sum();
        out.push_str(&rest[..start]);
        if punct > 0 {
            out.push_str("<span class=\"nowrap\">");
            out.push_str(&rest[start..end + punct]);
            out.push_str("</span>");
        } else {
            out.push_str(&rest[start..end]);
        }
        rest = &rest[end + punct..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punctuation_stays_with_its_formula() {
        let m = "<span class=\"math math-inline\"><math><mi>a</mi></math></span>";
        assert_eq!(
            keep_punctuation(&format!("Then {m}: and {m}, or {m} end")),
            format!(
                "Then <span class=\"nowrap\">{m}:</span> and <span class=\"nowrap\">{m},</span> or {m} end"
            )
        );
        assert_eq!(keep_punctuation("no math: here"), "no math: here");
        // an unclosed formula is left alone
        assert_eq!(
            keep_punctuation("<span class=\"math math-inline\"><math>x, y"),
            "<span class=\"math math-inline\"><math>x, y"
        );
    }
}
