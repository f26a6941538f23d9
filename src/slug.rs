//! Stable, URL-safe names for pages, headings and tags, and relative URLs between pages.

/// `"Chain Rule (vectors)"` → `"chain-rule-vectors"`. Letters of any script are kept
/// (lowercased); every other run of characters becomes one `-`.
pub fn slugify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut dash = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.extend(c.to_lowercase());
        } else if c == '_' && !out.is_empty() {
            // Keep underscores between words (`x_i` stays readable).
            if dash {
                out.push('-');
                dash = false;
            }
            out.push('_');
        } else {
            dash = true;
        }
    }
    out
}

/// The page path of a note: `Rules/Chain Rule.md` → `rules/chain-rule.html`.
pub fn note_page(path: &str) -> String {
    let stem = path
        .strip_suffix(".md")
        .or_else(|| path.strip_suffix(".MD"))
        .or_else(|| {
            path.len()
                .checked_sub(3)
                .filter(|&k| path.is_char_boundary(k) && path[k..].eq_ignore_ascii_case(".md"))
                .map(|k| &path[..k])
        })
        .unwrap_or(path);
    let parts: Vec<String> = stem
        .split('/')
        .map(|part| {
            let s = slugify(part);
            if s.is_empty() { "note".to_string() } else { s }
        })
        .collect();
    format!("{}.html", parts.join("/"))
}

/// The page of a tag: `flashcards/Math` → `tags/flashcards/math.html`.
pub fn tag_page(name: &str) -> String {
    let parts: Vec<String> = name
        .split('/')
        .filter(|p| !p.is_empty())
        .map(|part| {
            let s = slugify(part);
            if s.is_empty() { "tag".to_string() } else { s }
        })
        .collect();
    format!("tags/{}.html", parts.join("/"))
}

/// The URL of `to` as seen from the page `from` (both site-relative, `/`-separated).
pub fn relative_url(from: &str, to: &str) -> String {
    format!("{}{}", root_prefix(from), to)
}

/// `"a/b/page.html"` → `"../../"`: the way back to the site root from a page.
pub fn root_prefix(page: &str) -> String {
    "../".repeat(page.matches('/').count())
}

/// Percent-encodes a site-relative path for use in `href`/`src` (spaces, `#`, `?`, `%`...).
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slugify("Chain Rule (vectors)"), "chain-rule-vectors");
        assert_eq!(slugify("  Ünïcode — Straße "), "ünïcode-straße");
        assert_eq!(slugify("x_i and y"), "x_i-and-y");
        assert_eq!(note_page("Rules/Chain Rule.md"), "rules/chain-rule.html");
        assert_eq!(note_page("Notes/b.MD"), "notes/b.html");
    }

    #[test]
    fn relative_urls() {
        assert_eq!(relative_url("a/b/c.html", "x/y.html"), "../../x/y.html");
        assert_eq!(relative_url("c.html", "x.html"), "x.html");
        assert_eq!(
            encode_path("att/Pasted image 1.png"),
            "att/Pasted%20image%201.png"
        );
    }
}
