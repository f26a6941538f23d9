//! The site's search index: every published note's title, address, tags, headings and
//! text, written as a script, `static/search-index.js`, that sets
//! `window.notebuildSearchIndex`. A script (not a JSON file to `fetch`) because browsers
//! refuse `fetch` of local files: the search works from `file://` too. The page's
//! `static/search.js` loads it the first time the reader searches.

use std::sync::LazyLock;

use memchr::memmem;
use serde::Serialize;

use super::OutFile;
use crate::slug;

/// Where the index is written in the site.
pub const INDEX_PATH: &str = crate::urls::SEARCH_INDEX;

/// The longest text kept per note, in bytes: enough for the notes people write, and a
/// bound on the index of a vault with a few huge notes.
const MAX_TEXT: usize = 48 * 1024;

/// One note in the index. Short field names: the index of a large vault is loaded
/// into every browser that searches it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Entry {
    /// Title.
    pub t: String,
    /// The page's address from the site's root (percent-encoded).
    pub u: String,
    /// The note's path in the vault.
    pub p: String,
    /// Tags.
    pub g: Vec<String>,
    /// Headings: text and anchor id.
    pub h: Vec<(String, String)>,
    /// The note's visible text (no math, no verdict badges), whitespace collapsed.
    pub x: String,
}

impl Entry {
    /// The entry of a note whose page is `url` and whose rendered body is `html`.
    pub fn new(
        title: &str,
        url: &str,
        path: &str,
        tags: &[String],
        headings: &[(String, String)],
        html: &str,
    ) -> Entry {
        let mut text = visible_text(html);
        if text.len() > MAX_TEXT {
            let mut end = MAX_TEXT;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        Entry {
            t: title.to_string(),
            u: slug::encode_path(url),
            p: path.to_string(),
            g: tags.to_vec(),
            h: headings.to_vec(),
            x: text,
        }
    }
}

impl Entry {
    /// An entry with nothing in it.
    pub fn empty() -> Entry {
        Entry {
            t: String::new(),
            u: String::new(),
            p: String::new(),
            g: Vec::new(),
            h: Vec::new(),
            x: String::new(),
        }
    }
}

/// Writes the index file of the entries `json` gives (each as [`Entry`] serialises, in
/// the index's order), as [`index_file`] makes it, without holding it.
pub fn write_index(
    w: &mut dyn std::io::Write,
    count: usize,
    json: &mut dyn FnMut(usize, &mut Vec<u8>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    w.write_all(b"window.notebuildSearchIndex = [")?;
    let mut buf = Vec::new();
    for k in 0..count {
        if k > 0 {
            w.write_all(b",")?;
        }
        buf.clear();
        json(k, &mut buf)?;
        w.write_all(&buf)?;
    }
    w.write_all(b"];\n")
}

/// The index file, entries in the given order.
pub fn index_file(entries: &[&Entry]) -> OutFile {
    // Serialised straight into the file's bytes: the index is the largest file of a
    // big site, and is not copied.
    const PREFIX: &[u8] = b"window.notebuildSearchIndex = ";
    let mut contents = PREFIX.to_vec();
    if serde_json::to_writer(&mut contents, entries).is_err() {
        contents.truncate(PREFIX.len());
        contents.extend_from_slice(b"[]");
    }
    contents.extend_from_slice(b";\n");
    OutFile {
        path: INDEX_PATH.into(),
        contents,
    }
}

/// The TeX source a MathML formula carries in its annotation.
fn tex_annotation(mathml: &str) -> Option<&str> {
    const OPEN: &str = "<annotation encoding=\"application/x-tex\">";
    static FIND_OPEN: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(OPEN));
    static FIND_CLOSE: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new("</annotation>"));
    let start = FIND_OPEN.find(mathml.as_bytes())? + OPEN.len();
    let len = FIND_CLOSE.find(&mathml.as_bytes()[start..])?;
    Some(&mathml[start..start + len])
}

/// The lowercase name of the element a tag (`<name …>`, `</name>`) opens or closes.
fn tag_name(tag: &str) -> std::borrow::Cow<'_, str> {
    let mut t = tag;
    while let Some(r) = t.strip_prefix("</") {
        t = r;
    }
    let t = t.trim_start_matches('<');
    let len = t.bytes().take_while(u8::is_ascii_alphanumeric).count();
    let name = &t[..len];
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(name.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}

/// Elements whose content is not prose to search: scripts and styles, the checker's
/// badges and the headings' `#` anchors. (Formulas are read as their TeX source.)
fn skipped(name: &str, tag: &str) -> bool {
    matches!(name, "script" | "style" | "svg" | "template")
        || (name == "span" && (class_has(tag, "badges") || class_has(tag, "badge")))
        || (name == "a" && class_has(tag, "heading-anchor"))
}

fn class_has(tag: &str, class: &str) -> bool {
    let Some(at) = tag.find("class=\"") else {
        return false;
    };
    let rest = &tag[at + 7..];
    let value = &rest[..rest.find('"').unwrap_or(rest.len())];
    value.split_ascii_whitespace().any(|c| c == class)
}

/// The text a reader sees in `html`, with entities decoded and whitespace collapsed;
/// the content of [`skipped`] elements is left out.
pub fn visible_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    // while inside a skipped element: its name and how deep in it we are
    let mut skip: Option<(std::borrow::Cow<str>, usize)> = None;
    let mut rest = html;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            if skip.is_none() {
                push_text(&mut out, rest);
            }
            break;
        };
        if skip.is_none() {
            push_text(&mut out, &rest[..lt]);
        }
        rest = &rest[lt..];
        if let Some(body) = rest.strip_prefix("<!--") {
            rest = body.find("-->").map_or("", |k| &body[k + 3..]);
            continue;
        }
        let end = rest.find('>').map_or(rest.len(), |k| k + 1);
        let tag = &rest[..end];
        rest = &rest[end..];
        let closing = tag.starts_with("</");
        let name = tag_name(tag);
        let self_closing = tag.ends_with("/>") || VOID.contains(&name.as_ref());
        match &mut skip {
            Some((skipping, depth)) if *skipping == name => {
                if closing {
                    *depth -= 1;
                    if *depth == 0 {
                        skip = None;
                    }
                } else if !self_closing {
                    *depth += 1;
                }
            }
            Some(_) => {}
            None => {
                if name == "math" && !closing {
                    // a formula reads as its TeX source, as the note's author wrote it
                    static CLOSE: LazyLock<memmem::Finder<'static>> =
                        LazyLock::new(|| memmem::Finder::new("</math>"));
                    let end = CLOSE.find(rest.as_bytes()).unwrap_or(rest.len());
                    if let Some(tex) = tex_annotation(&rest[..end]) {
                        out.push('$');
                        push_text(&mut out, tex.trim());
                        out.push('$');
                    }
                    rest = rest.get(end + "</math>".len()..).unwrap_or("");
                } else if !closing && !self_closing && skipped(&name, tag) {
                    skip = Some((name, 1));
                } else if BLOCK.contains(&name.as_ref()) || name == "br" {
                    // a block boundary separates words
                    out.push(' ');
                }
            }
        }
    }
    let mut collapsed = String::with_capacity(out.len());
    for word in out.split_whitespace() {
        if !collapsed.is_empty() {
            collapsed.push(' ');
        }
        collapsed.push_str(word);
    }
    collapsed
}

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

const BLOCK: &[&str] = &[
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "table",
    "tr",
    "td",
    "th",
    "details",
    "summary",
    "section",
    "article",
    "figure",
    "figcaption",
    "dt",
    "dd",
];

/// Appends `text` with its character references decoded.
fn push_text(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest.find(';').filter(|&k| k <= 10);
        let decoded = end.and_then(|k| decode_entity(&rest[1..k]));
        match (end, decoded) {
            (Some(k), Some(c)) => {
                out.push(c);
                rest = &rest[k + 1..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
}

fn decode_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_leaves_out_math_badges_and_markup() {
        let html = "<h2 id=\"a\">Chain&nbsp;rule <a class=\"heading-anchor\" href=\"#a\">#</a></h2>\n<p>The <em>Jacobian</em> of \
                    <span class=\"math\"><math><semantics><mi>f</mi><mo>∘</mo><mi>g</mi>\
                    <annotation encoding=\"application/x-tex\">f \\circ g &lt; h</annotation>\
                    </semantics></math></span>\
                    <span class=\"badges\"><span class=\"badge badge-pass\" tabindex=\"0\">✓\
                    <span class=\"badge-detail\">pass: 6 trials</span></span></span> is a \
                    product&#8203;&lt;here&gt;.</p><!-- a comment --><ul><li>one</li><li>two</li></ul>";
        assert_eq!(
            visible_text(html),
            "Chain rule The Jacobian of $f \\circ g < h$ is a product\u{200b}<here>. one two"
        );
    }

    #[test]
    fn streamed_index_is_the_index_file() -> Result<(), Box<dyn std::error::Error>> {
        let entries: Vec<Entry> = ["One", "Two \"2\"", "Three"]
            .iter()
            .map(|t| {
                Entry::new(
                    t,
                    "a b.html",
                    "A b.md",
                    &["x".into()],
                    &[],
                    "<p>text &amp; more</p>",
                )
            })
            .collect();
        for n in 0..=entries.len() {
            let refs: Vec<&Entry> = entries[..n].iter().collect();
            let mut streamed = Vec::new();
            write_index(&mut streamed, n, &mut |k, buf| {
                serde_json::to_writer(buf, &entries[k]).map_err(std::io::Error::other)
            })?;
            assert_eq!(streamed, index_file(&refs).contents);
        }
        Ok(())
    }

    #[test]
    fn entries_are_a_script_setting_the_index() {
        let e = Entry::new(
            "Chain Rule",
            "rules/chain rule.html",
            "Rules/Chain Rule.md",
            &["calculus".into()],
            &[("Vector chain rule".into(), "vector-chain-rule".into())],
            "<p>Outer first.</p>",
        );
        assert_eq!(e.u, "rules/chain%20rule.html");
        let file = index_file(&[&e]);
        let text = String::from_utf8(file.contents).unwrap_or_default();
        let json = text
            .strip_prefix("window.notebuildSearchIndex = ")
            .and_then(|t| t.strip_suffix(";\n"))
            .unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
        assert_eq!(v[0]["t"], "Chain Rule");
        assert_eq!(v[0]["h"][0][1], "vector-chain-rule");
        assert_eq!(v[0]["x"], "Outer first.");
    }
}
