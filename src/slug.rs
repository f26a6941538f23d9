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
            shorten(if s.is_empty() { "note".to_string() } else { s })
        })
        .collect();
    format!("{}.html", parts.join("/"))
}

/// Whether the page of the note at `path` has a shortened name ([`note_page`]).
pub fn shortened(path: &str) -> bool {
    path.split('/')
        .any(|part| slugify(part).len() > LONGEST_PART)
}

/// The longest name a page path's part may have, in bytes: file systems hold 255, and
/// `.html` and the build's temporary names need room.
const LONGEST_PART: usize = 200;

/// `part` itself when short enough; else its first bytes and a hash of the whole, so
/// that the page keeps a stable, distinct name the file system can hold.
fn shorten(part: String) -> String {
    if part.len() <= LONGEST_PART {
        return part;
    }
    let hash = part.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut keep = LONGEST_PART - 17;
    while !part.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}-{hash:016x}", &part[..keep])
}

/// The page of a tag: `flashcards/Math` → `tags/flashcards/math.html`.
///
/// Distinct tags get distinct pages (tags differ in case only are one tag, as in
/// Obsidian): each level is the tag's own text, lowercased, where it holds only letters,
/// digits, `-` and `_` (what tags are made of); any other character is written `~` and
/// its code in hex, so `#a-b` and `#a--b` keep pages of their own.
pub fn tag_page(name: &str) -> String {
    let parts: Vec<String> = name
        .split('/')
        .filter(|p| !p.is_empty())
        .map(tag_level)
        .collect();
    if parts.is_empty() {
        return "tags/tag.html".to_string();
    }
    format!("tags/{}.html", parts.join("/"))
}

/// One level of a tag's page path (see [`tag_page`]).
fn tag_level(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for c in part.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '-' || c == '_' {
            out.push(c);
        } else {
            out.push_str(&format!("~{:x}", u32::from(c)));
        }
    }
    out
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
    fn long_names_get_short_stable_distinct_pages() {
        let long = "é".repeat(150);
        let page = note_page(&format!("{long}.md"));
        assert!(page.len() <= LONGEST_PART + ".html".len(), "{page}");
        assert_eq!(page, note_page(&format!("{long}.md")));
        assert_ne!(page, note_page(&format!("{long}x.md")));
        assert_eq!(note_page("short.md"), "short.html");
    }

    #[test]
    fn distinct_tags_have_distinct_pages() {
        assert_eq!(tag_page("flashcards/Math"), "tags/flashcards/math.html");
        assert_eq!(tag_page("a-b"), "tags/a-b.html");
        assert_eq!(tag_page("a--b"), "tags/a--b.html");
        assert_eq!(tag_page("Straße"), "tags/straße.html");
        assert_ne!(tag_page("a.b"), tag_page("a-b"));
        assert_ne!(tag_page("a b"), tag_page("a-b"));
        assert_eq!(tag_page("MATH"), tag_page("math"));
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
