//! Stage 3: what a parsed note holds — title, headings, links, tags, block ids and math —
//! as plain data for the link graph, the checker and the renderer.

pub mod cards;
use pulldown_cmark::{Event, Tag};

use crate::parse::{self, Fragment, Math, Node, ParsedNote};

/// The facts of one note.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteInfo {
    /// Path relative to the vault, `/`-separated.
    pub path: String,
    pub title: String,
    pub aliases: Vec<String>,
    /// Front-matter tags first, then inline tags, without `#`, each once (compared
    /// case-insensitively; the first spelling wins).
    pub tags: Vec<String>,
    pub headings: Vec<Heading>,
    pub links: Vec<LinkRef>,
    pub block_ids: Vec<String>,
    pub math: Vec<Math>,
    /// `false` for `draft: true` or `publish: false`.
    pub published: bool,
    /// The date the front matter gives, as written, if any.
    pub date: Option<String>,
    /// That date read as a day; or, with `dates: git`, the day of the last commit
    /// touching the note when its front matter gives none.
    pub day: Option<crate::dates::Date>,
}

/// A heading and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    pub level: u8,
    pub id: String,
    pub text: String,
}

/// How a link was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// `[[...]]`
    Wiki,
    /// `![[...]]`
    Embed,
    /// `[text](Other%20note.md)`
    Markdown,
    /// `[text](files/paper.pdf)` or `![alt](images/a.png)`: a file of the vault
    File,
}

/// A link to another note (or an attachment), unresolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRef {
    pub kind: LinkKind,
    /// Note or file name as written (decoded); empty for a link into this note.
    pub target: String,
    pub fragment: Option<Fragment>,
    /// Byte range in the note's text (of the link, or of its destination for markdown links).
    pub range: std::ops::Range<usize>,
}

/// Extracts the facts of a note.
pub fn extract(note: &ParsedNote) -> NoteInfo {
    let mut headings = Vec::new();
    let mut links = Vec::new();
    let mut block_ids = Vec::new();
    let mut math = Vec::new();
    let mut tags: Vec<String> = Vec::new();
    let add_tag = |name: &str, tags: &mut Vec<String>| {
        if !tags.iter().any(|t| t.eq_ignore_ascii_case(name)) {
            tags.push(name.to_string());
        }
    };
    for tag in &note.front.tags {
        add_tag(tag, &mut tags);
    }
    let mut search_from = 0;
    for (i, node) in note.nodes.iter().enumerate() {
        match node {
            Node::Md(Event::Start(Tag::Heading { level, id, .. })) => headings.push(Heading {
                level: *level as u8,
                id: id.as_deref().unwrap_or_default().to_string(),
                text: parse::plain_text_until_end(&note.nodes[i + 1..]),
            }),
            Node::Md(Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. })) => {
                let image = matches!(node, Node::Md(Event::Start(Tag::Image { .. })));
                let found = match internal_markdown_link(dest_url) {
                    Some(link) if !image => Some((LinkKind::Markdown, link)),
                    _ => file_link(dest_url).map(|t| (LinkKind::File, (t, None))),
                };
                if let Some((kind, (target, fragment))) = found {
                    let needle = format!("({dest_url}");
                    let range = note.text[search_from..]
                        .find(&needle)
                        .map(|k| {
                            let at = search_from + k + 1;
                            search_from = at;
                            at..at + dest_url.len()
                        })
                        .unwrap_or(0..0);
                    links.push(LinkRef {
                        kind,
                        target,
                        fragment,
                        range,
                    });
                }
            }
            Node::Link(link) => links.push(LinkRef {
                kind: if link.embed {
                    LinkKind::Embed
                } else {
                    LinkKind::Wiki
                },
                target: link.target.clone(),
                fragment: link.fragment.clone(),
                range: link.range.clone(),
            }),
            Node::Tag(tag) => add_tag(&tag.name, &mut tags),
            Node::BlockAnchor(id) => block_ids.push(id.clone()),
            Node::Math(m) => math.push(m.clone()),
            Node::CalloutStart(callout) => {
                for n in &callout.title {
                    match n {
                        Node::Math(m) => math.push(m.clone()),
                        Node::Tag(tag) => add_tag(&tag.name, &mut tags),
                        Node::Link(link) => links.push(LinkRef {
                            kind: LinkKind::Wiki,
                            target: link.target.clone(),
                            fragment: link.fragment.clone(),
                            range: link.range.clone(),
                        }),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    // The file name without its one `.md` (`a.md.md` is `a.md`, as Obsidian shows it).
    let name = note.path.rsplit('/').next().unwrap_or(&note.path);
    let file_stem = name
        .len()
        .checked_sub(3)
        .filter(|&k| name.is_char_boundary(k) && name[k..].eq_ignore_ascii_case(".md"))
        .map_or(name, |k| &name[..k])
        .to_string();
    // As Obsidian (and Quartz, Obsidian Publish) title a note: its front matter `title`,
    // else its file name. A heading is part of the body, never the title.
    let title = note
        .front
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map_or(file_stem, str::to_string);
    NoteInfo {
        path: note.path.clone(),
        title,
        aliases: note.front.aliases.clone(),
        tags,
        headings,
        links,
        block_ids,
        math,
        published: !note.front.unpublished,
        date: note.front.date.clone(),
        day: note.front.date.as_deref().and_then(crate::dates::parse),
    }
}

/// Whether a link's destination leaves the vault: it has a scheme (`https:`,
/// `mailto:`) or is protocol-relative (`//host/...`).
fn is_url(dest: &str) -> bool {
    if dest.starts_with("//") {
        return true;
    }
    dest.find(':').is_some_and(|k| {
        let scheme = &dest[..k];
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// A markdown link's destination when it points into the vault: the decoded target
/// and its fragment. External URLs (`https:`, `mailto:`...) give `None`.
pub fn internal_markdown_link(dest: &str) -> Option<(String, Option<Fragment>)> {
    if dest.is_empty() || is_url(dest) {
        return None;
    }
    let (path, fragment) = match dest.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (dest, None),
    };
    let path = percent_decode(path);
    let fragment = fragment.map(|f| {
        let f = percent_decode(f);
        match f.strip_prefix('^') {
            Some(block) => Fragment::Block(block.to_string()),
            None => Fragment::Heading(f),
        }
    });
    // Only links to notes (or to no file at all: `#heading`) are links into the vault;
    // links to other files are left as they are written.
    let lower = path.to_ascii_lowercase();
    let is_note =
        path.is_empty() || lower.ends_with(".md") || !lower.rsplit('/').next()?.contains('.');
    is_note.then_some((path, fragment))
}

/// A markdown link's or image's destination when it is a relative path to a file
/// that is not a note (`images/a.png`, `../paper.pdf`): the decoded path, without
/// its fragment or query.
pub fn file_link(dest: &str) -> Option<String> {
    let dest = dest.trim();
    if dest.is_empty() || is_url(dest) || dest.starts_with('#') || dest.starts_with('/') {
        return None;
    }
    let path = dest.split(['#', '?']).next().unwrap_or(dest);
    let path = percent_decode(path);
    let name = path.rsplit('/').next().unwrap_or(&path);
    (name.contains('.') && !path.to_ascii_lowercase().ends_with(".md")).then_some(path)
}

/// Decodes `%XX` escapes (invalid ones are kept as written).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (hex(bytes.get(i + 1)), hex(bytes.get(i + 2)))
        {
            out.push(hi * 16 + lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: Option<&u8>) -> Option<u8> {
    (*b? as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::SourceFile;

    fn info(path: &str, text: &str) -> NoteInfo {
        extract(&parse::parse(&SourceFile {
            path: path.into(),
            text: text.into(),
            modified: None,
        }))
    }

    #[test]
    fn title_from_front_matter_else_file_name() {
        assert_eq!(info("a/B c.md", "---\ntitle: T\n---\n# H").title, "T");
        // A heading, first or not, is never the title.
        assert_eq!(info("a/B c.md", "# H $x$\ntext\n").title, "B c");
        assert_eq!(info("a/B c.md", "text\n# H $x$\n").title, "B c");
        assert_eq!(info("a/B c.md", "text").title, "B c");
        assert_eq!(info("a/B c.md", "---\ntitle: '  '\n---\n# H").title, "B c");
        assert_eq!(info("a/b.md.md", "x").title, "b.md");
        assert_eq!(info("a/b.MD", "x").title, "b");
    }

    #[test]
    fn links_tags_and_math() {
        let n = info(
            "n.md",
            "---\ntags: [Flashcards]\n---\n#flashcards #math/la [[A#H]] ![[p.png]] [m](Other%20note.md#Sec) [w](https://x.org) $x$ ^blk\n",
        );
        assert_eq!(n.tags, ["Flashcards", "math/la"]);
        let targets: Vec<_> = n
            .links
            .iter()
            .map(|l| (l.kind, l.target.as_str()))
            .collect();
        assert_eq!(
            targets,
            [
                (LinkKind::Wiki, "A"),
                (LinkKind::Embed, "p.png"),
                (LinkKind::Markdown, "Other note.md")
            ]
        );
        assert_eq!(
            n.links[2].fragment,
            Some(Fragment::Heading("Sec".to_string()))
        );
        assert_eq!(n.math.len(), 1);
        assert_eq!(n.block_ids, ["blk"]);
    }
}
