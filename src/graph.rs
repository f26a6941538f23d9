//! Stage 4: the vault as a whole — every note's page, link resolution the way Obsidian
//! does it, backlinks and the tag index. Broken links are reported here, once, at
//! the place they are written.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::diagnostics::Diagnostic;
use crate::extract::{LinkKind, NoteInfo};
use crate::parse::{Fragment, ParsedNote};
use crate::slug;
use crate::urls;

/// A note's place in the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Site-relative page path, `rules/chain-rule.html`.
    pub url: String,
    pub published: bool,
}

/// What a link points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A note (index into the vault's notes), and the anchor on its page.
    Note {
        index: usize,
        anchor: Option<String>,
    },
    /// An attachment (index into the attachment list).
    Attachment(usize),
}

/// One tag and the notes that carry it or one of its sub-tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagEntry {
    /// As first written, `flashcards/math`.
    pub name: String,
    /// Notes tagged with exactly this tag.
    pub direct: Vec<usize>,
    /// Notes tagged with it or a sub-tag, each once, in vault order.
    pub all: Vec<usize>,
    /// Lowercased names of direct sub-tags.
    pub children: Vec<String>,
    /// The tag's page ([`crate::urls`]).
    pub url: String,
}

/// The link graph.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub pages: Vec<Page>,
    /// Attachment paths, vault-relative.
    pub attachments: Vec<String>,
    /// Where each attachment is copied in the site ([`crate::urls`]).
    pub attachment_urls: Vec<String>,
    /// For each note, the published notes linking to it (each once, sorted by title).
    pub backlinks: Vec<Vec<usize>>,
    /// Tags by lowercased name, sub-tags included (`a` and `a/b` for `#a/b`).
    pub tags: BTreeMap<String, TagEntry>,
    note_paths: HashMap<String, usize>,
    /// Lowercased vault path without `.md`, per note.
    note_keys: Vec<String>,
    note_names: HashMap<String, Vec<usize>>,
    aliases: HashMap<String, usize>,
    file_paths: HashMap<String, usize>,
    file_names: HashMap<String, Vec<usize>>,
    folders: Vec<String>,
    /// Per note, each heading's lowercased text, its id, and its [`loose`] key.
    headings: Vec<Vec<(String, String, String)>>,
    block_ids: Vec<HashSet<String>>,
}

/// Builds the graph, reporting broken links and anchors as warnings. `generated` lists
/// the files the site generates besides note and tag pages ([`crate::urls`]).
pub fn build(
    notes: &[ParsedNote],
    infos: &[NoteInfo],
    attachments: &[String],
    generated: &[String],
) -> (Graph, Vec<Diagnostic>) {
    build_with_texts(notes, infos, attachments, generated, None)
}

/// [`build`], for notes that let their texts go: `texts` has them.
pub fn build_with_texts(
    notes: &[ParsedNote],
    infos: &[NoteInfo],
    attachments: &[String],
    generated: &[String],
    texts: Option<&dyn crate::parse::NoteTexts>,
) -> (Graph, Vec<Diagnostic>) {
    let (g, per_note, mut diagnostics) = parts(notes, infos, attachments, generated, texts);
    let mut all: Vec<Diagnostic> = per_note.into_iter().flatten().collect();
    all.append(&mut diagnostics);
    (g, all)
}

/// [`build`], with the warnings of each note's links apart (by note, as
/// [`Graph::link_diagnostics`] gives them) from the others (pages whose paths clash).
pub fn build_parts(
    notes: &[ParsedNote],
    infos: &[NoteInfo],
    attachments: &[String],
    generated: &[String],
) -> (Graph, Vec<Vec<Diagnostic>>, Vec<Diagnostic>) {
    parts(notes, infos, attachments, generated, None)
}

fn parts(
    notes: &[ParsedNote],
    infos: &[NoteInfo],
    attachments: &[String],
    generated: &[String],
    texts: Option<&dyn crate::parse::NoteTexts>,
) -> (Graph, Vec<Vec<Diagnostic>>, Vec<Diagnostic>) {
    let mut g = Graph {
        attachments: attachments.to_vec(),
        ..Graph::default()
    };
    let mut diagnostics = Vec::new();
    let mut per_note: Vec<Vec<Diagnostic>> = vec![Vec::new(); infos.len()];

    for (i, info) in infos.iter().enumerate() {
        let key = strip_md(&info.path).to_lowercase();
        g.note_paths.insert(key.clone(), i);
        g.note_keys.push(key.clone());
        let name = key.rsplit('/').next().unwrap_or(&key).to_string();
        g.note_names.entry(name).or_default().push(i);
        for alias in &info.aliases {
            g.aliases.entry(alias.to_lowercase()).or_insert(i);
        }
        g.folders.push(folder_of(&info.path).to_string());
        g.headings.push(
            info.headings
                .iter()
                .map(|h| (h.text.to_lowercase(), h.id.clone(), loose(&h.text)))
                .collect(),
        );
        g.block_ids
            .push(info.block_ids.iter().map(|b| b.to_lowercase()).collect());
    }
    for (i, path) in attachments.iter().enumerate() {
        let key = path.to_lowercase();
        let name = key.rsplit('/').next().unwrap_or(&key).to_string();
        g.file_paths.insert(key, i);
        g.file_names.entry(name).or_default().push(i);
    }
    // Shortest path first, then alphabetical: the tie-break for links by file name.
    for list in g.note_names.values_mut() {
        list.sort_by_key(|&i| (infos[i].path.len(), infos[i].path.clone()));
    }
    for list in g.file_names.values_mut() {
        list.sort_by_key(|&i| (attachments[i].len(), attachments[i].clone()));
    }

    g.backlinks = vec![Vec::new(); infos.len()];
    for (from, info) in infos.iter().enumerate() {
        let note = &notes[from];
        for link in &info.links {
            match g.resolve(from, &link.target, link.fragment.as_ref()) {
                Ok(Resolved::Note { index, .. }) => {
                    if index != from && info.published && !g.backlinks[index].contains(&from) {
                        g.backlinks[index].push(from);
                    }
                }
                Ok(Resolved::Attachment(_)) => {}
                Err(error) => {
                    let text = match texts {
                        Some(texts) => std::borrow::Cow::Owned(texts.text(from)),
                        None => std::borrow::Cow::Borrowed(note.text.as_str()),
                    };
                    per_note[from].push(broken_link(note, &text, link, error))
                }
            }
        }
    }
    for list in &mut g.backlinks {
        list.sort_by_key(|&i| infos[i].title.to_lowercase());
    }

    for (i, info) in infos.iter().enumerate() {
        if !info.published {
            continue;
        }
        for tag in &info.tags {
            let mut prefix = String::new();
            let parts: Vec<&str> = tag.split('/').filter(|p| !p.is_empty()).collect();
            for (depth, part) in parts.iter().enumerate() {
                let parent = prefix.to_lowercase();
                if !prefix.is_empty() {
                    prefix.push('/');
                }
                prefix.push_str(part);
                let key = prefix.to_lowercase();
                let entry = g.tags.entry(key.clone()).or_insert_with(|| TagEntry {
                    name: prefix.clone(),
                    ..TagEntry::default()
                });
                // Notes come in order: a note already listed is the last one.
                if entry.all.last() != Some(&i) {
                    entry.all.push(i);
                }
                if depth + 1 == parts.len() && entry.direct.last() != Some(&i) {
                    entry.direct.push(i);
                }
                let new = entry.all.len() == 1;
                // A sub-tag is its parent's child once (sorted and deduplicated below).
                if depth > 0
                    && new
                    && let Some(p) = g.tags.get_mut(&parent)
                {
                    p.children.push(key.clone());
                }
            }
        }
    }
    for entry in g.tags.values_mut() {
        entry.children.sort();
        entry.children.dedup();
    }

    let names: Vec<urls::NoteName> = infos
        .iter()
        .map(|info| urls::NoteName {
            path: &info.path,
            published: info.published,
        })
        .collect();
    let tags: Vec<(&str, &str)> = g
        .tags
        .iter()
        .map(|(key, entry)| (key.as_str(), entry.name.as_str()))
        .collect();
    let (namespace, url_diagnostics) = urls::assign(generated, &names, &tags, attachments);
    diagnostics.extend(url_diagnostics);
    g.pages = namespace
        .notes
        .into_iter()
        .zip(infos)
        .map(|(url, info)| Page {
            url,
            published: info.published,
        })
        .collect();
    for (key, url) in namespace.tags {
        if let Some(entry) = g.tags.get_mut(&key) {
            entry.url = url;
        }
    }
    g.attachment_urls = namespace.attachments;
    (g, per_note, diagnostics)
}

/// The warning for a link of `note` that does not resolve.
fn broken_link(
    note: &ParsedNote,
    text: &str,
    link: &crate::extract::LinkRef,
    error: LinkError,
) -> Diagnostic {
    match error {
        LinkError::MissingNote => {
            let (what, hint) = match link.kind {
                LinkKind::Embed => (
                    "embedded file or note",
                    "check the spelling, or create the note; the link is shown as broken",
                ),
                LinkKind::File => (
                    "linked file",
                    "add the file to the vault, or fix the path (relative to this note's folder or to the vault)",
                ),
                _ => (
                    "linked note",
                    "check the spelling, or create the note; the link is shown as broken",
                ),
            };
            Diagnostic::warning(
                &note.path,
                text,
                link.range.clone(),
                format!("{what} `{}` does not exist", link.target),
            )
            .with_hint(hint)
        }
        LinkError::MissingAnchor(anchor) => Diagnostic::warning(
            &note.path,
            text,
            link.range.clone(),
            format!("`{anchor}` is not a heading or block id of the linked note"),
        )
        .with_hint(if link.kind == LinkKind::Embed {
            "the embed is shown as missing; check the heading's spelling"
        } else {
            "the link goes to the top of the note instead"
        }),
    }
}

/// Why a link did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    MissingNote,
    /// The note exists but has no such heading or block.
    MissingAnchor(String),
}

impl Graph {
    /// The warnings for the links of note `from` (`note`, `info`) that do not resolve,
    /// in the order they are written: what [`build`] reports for that note.
    pub fn link_diagnostics(
        &self,
        from: usize,
        note: &ParsedNote,
        info: &NoteInfo,
    ) -> Vec<Diagnostic> {
        info.links
            .iter()
            .filter_map(|link| {
                self.resolve(from, &link.target, link.fragment.as_ref())
                    .err()
                    .map(|error| broken_link(note, &note.text, link, error))
            })
            .collect()
    }

    /// The page of a tag (as written, `#` left off), from the namespace; tags of no
    /// published note have none of their own and get the page their name asks for.
    pub fn tag_url(&self, name: &str) -> String {
        let key = name
            .split('/')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("/")
            .to_lowercase();
        self.tags
            .get(&key)
            .map_or_else(|| slug::tag_page(name), |e| e.url.clone())
    }

    /// Resolves a link written in note `from`: exact vault path first, then a note in the
    /// linking note's own folder, then the shortest path whose file name matches, then
    /// an alias; case-insensitive. Files that are not notes resolve the same way.
    pub fn resolve(
        &self,
        from: usize,
        target: &str,
        fragment: Option<&Fragment>,
    ) -> Result<Resolved, LinkError> {
        let target = target
            .trim()
            .trim_start_matches("./")
            .trim_start_matches('/');
        let index = if target.is_empty() {
            Some(from)
        } else {
            self.find_note(from, target)
        };
        let Some(index) = index else {
            return self
                .find_file(from, target)
                .map(Resolved::Attachment)
                .ok_or(LinkError::MissingNote);
        };
        let anchor = match fragment {
            None => None,
            Some(Fragment::Heading(h)) => {
                let lower = h.to_lowercase();
                let id = slug::slugify(h);
                let headings = &self.headings[index];
                // As written, as its id, else as Obsidian writes a link to a heading
                // whose text has characters a link may not hold (`_definition:_ compact`
                // is linked `#_definition _ compact`) or markup.
                let key = loose(h);
                let found = headings
                    .iter()
                    .find(|(text, hid, _)| *text == lower || *hid == id)
                    .or_else(|| {
                        headings
                            .iter()
                            .find(|(_, _, k)| !key.is_empty() && *k == key)
                    });
                match found {
                    Some((_, hid, _)) => Some(hid.clone()),
                    None => return Err(LinkError::MissingAnchor(format!("#{h}"))),
                }
            }
            Some(Fragment::Block(b)) => {
                if self.block_ids[index].contains(&b.to_lowercase()) {
                    Some(format!("^{b}"))
                } else {
                    return Err(LinkError::MissingAnchor(format!("#^{b}")));
                }
            }
        };
        Ok(Resolved::Note { index, anchor })
    }

    fn find_note(&self, from: usize, target: &str) -> Option<usize> {
        let key = strip_md(target).to_lowercase();
        if let Some(&i) = self.note_paths.get(&join("", &key)) {
            return Some(i);
        }
        let folder = self.folders.get(from).map(|f| f.to_lowercase());
        if let Some(folder) = folder
            && let Some(&i) = self.note_paths.get(&join(&folder, &key))
        {
            return Some(i);
        }
        let name = key.rsplit('/').next().unwrap_or(&key);
        if let Some(list) = self.note_names.get(name) {
            let suffix = format!("/{key}");
            let found = list.iter().copied().find(|&i| {
                !key.contains('/') || {
                    let path = &self.note_keys[i];
                    *path == key || path.ends_with(&suffix)
                }
            });
            if found.is_some() {
                return found;
            }
        }
        self.aliases.get(&target.to_lowercase()).copied()
    }

    fn find_file(&self, from: usize, target: &str) -> Option<usize> {
        let key = target.to_lowercase();
        if let Some(&i) = self.file_paths.get(&join("", &key)) {
            return Some(i);
        }
        if let Some(folder) = self.folders.get(from)
            && let Some(&i) = self.file_paths.get(&join(&folder.to_lowercase(), &key))
        {
            return Some(i);
        }
        let name = key.rsplit('/').next().unwrap_or(&key);
        let suffix = format!("/{key}");
        self.file_names.get(name).and_then(|list| {
            list.iter().copied().find(|&i| {
                !key.contains('/') || self.attachments[i].to_lowercase().ends_with(&suffix)
            })
        })
    }
}

/// A heading's letters and digits, lowercased: the text a link to it keeps whatever
/// markup (`_`, `*`, `` ` ``) and punctuation (`:`, `#`, `|`, `^`, which Obsidian writes
/// as spaces in a link) it had.
fn loose(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn strip_md(path: &str) -> &str {
    let n = path.len();
    if n >= 3 && path.is_char_boundary(n - 3) && path[n - 3..].eq_ignore_ascii_case(".md") {
        &path[..n - 3]
    } else {
        path
    }
}

/// The folder of a vault path (`""` at the root).
pub fn folder_of(path: &str) -> &str {
    path.rfind('/').map_or("", |k| &path[..k])
}

/// `folder/name` with `.` and `..` segments applied (`sub` + `../a` is `a`). A path
/// that climbs above the vault keeps its leading `..` and so names no file.
fn join(folder: &str, name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let mut above = 0;
    for seg in folder.split('/').chain(name.split('/')) {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    above += 1;
                }
            }
            _ => parts.push(seg),
        }
    }
    let mut out = "../".repeat(above);
    out.push_str(&parts.join("/"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract;
    use crate::parse;
    use crate::vault::SourceFile;

    fn graph(
        files: &[(&str, &str)],
        attachments: &[&str],
    ) -> (Graph, Vec<Diagnostic>, Vec<NoteInfo>) {
        let notes: Vec<ParsedNote> = files
            .iter()
            .map(|(p, t)| {
                parse::parse(&SourceFile {
                    path: p.to_string(),
                    text: t.to_string(),
                    modified: None,
                })
            })
            .collect();
        let infos: Vec<NoteInfo> = notes.iter().map(extract::extract).collect();
        let atts: Vec<String> = attachments.iter().map(|s| s.to_string()).collect();
        let (g, d) = build(&notes, &infos, &atts, &[]);
        (g, d, infos)
    }

    #[test]
    fn resolution_order_follows_obsidian() {
        let (g, d, _) = graph(
            &[
                ("a/x.md", "[[x]] [[b/deep/x]] [[X]] [[y]]"),
                ("x.md", "root"),
                ("b/deep/x.md", "deep"),
                ("b/y.md", "[[x]] [[missing]]"),
                ("a/y.md", "[[deep/x]]"),
            ],
            &["img/p.png"],
        );
        let r = |from, t| g.resolve(from, t, None);
        // An exact vault path wins: `x` is the root note.
        assert_eq!(
            r(0, "x"),
            Ok(Resolved::Note {
                index: 1,
                anchor: None
            })
        );
        // Then the linking note's own folder: a/y.md, not b/y.md.
        assert_eq!(
            r(0, "y"),
            Ok(Resolved::Note {
                index: 4,
                anchor: None
            })
        );
        // A partial path matches the end of a path.
        assert_eq!(
            r(4, "deep/x"),
            Ok(Resolved::Note {
                index: 2,
                anchor: None
            })
        );
        // Exact vault path.
        assert_eq!(
            r(0, "b/deep/x"),
            Ok(Resolved::Note {
                index: 2,
                anchor: None
            })
        );
        // Case-insensitive; from b/ (no b/x.md) the shortest path with that name.
        assert_eq!(
            r(3, "X"),
            Ok(Resolved::Note {
                index: 1,
                anchor: None
            })
        );
        assert_eq!(
            r(3, "Y"),
            Ok(Resolved::Note {
                index: 3,
                anchor: None
            })
        );
        assert_eq!(r(3, "p.png"), Ok(Resolved::Attachment(0)));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].file, "b/y.md");
        assert_eq!((d[0].line, d[0].column), (1, 7));
    }

    #[test]
    fn anchors_backlinks_and_tags() {
        let (g, d, _) = graph(
            &[
                (
                    "a.md",
                    "# Top\n## Proof idea\nline ^blk\n#t/sub\n##### _definition:_ compact",
                ),
                (
                    "b.md",
                    "[[a#Proof idea]] [[a#^blk]] [[a#Nope]] #t [[a#_definition _ compact]]",
                ),
            ],
            &[],
        );
        assert_eq!(
            g.resolve(1, "a", Some(&Fragment::Heading("proof idea".into()))),
            Ok(Resolved::Note {
                index: 0,
                anchor: Some("proof-idea".into())
            })
        );
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].message.contains("#Nope"));
        assert_eq!(g.backlinks[0], [1]);
        let t = &g.tags["t"];
        assert_eq!((t.direct.clone(), t.all.clone()), (vec![1], vec![0, 1]));
        assert_eq!(t.children, ["t/sub"]);
    }
}
