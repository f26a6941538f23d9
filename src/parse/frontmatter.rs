//! YAML front matter: the `---` block at the very top of a note.

use std::collections::BTreeMap;

use serde_yaml_ng::Value;

use crate::diagnostics::Diagnostic;

/// What a note says about itself in its front matter. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrontMatter {
    pub title: Option<String>,
    pub tags: Vec<String>,
    pub aliases: Vec<String>,
    /// `draft: true` or `publish: false`: leave the note out of the site.
    pub unpublished: bool,
    /// The date, as written under the first of [`crate::dates::KEYS`] the note has.
    pub date: Option<String>,
    /// Every other top-level scalar field, as text (`layout: denominator`, for example).
    pub fields: BTreeMap<String, String>,
}

/// The front matter split off a note's text.
#[derive(Debug, Clone, Default)]
pub struct Split {
    pub front: FrontMatter,
    /// Byte offset where the body starts (0 when there is no front matter).
    pub body_start: usize,
    pub diagnostics: Vec<Diagnostic>,
}

/// Where the body of `text` starts, as [`split`] finds it, without reading the YAML.
pub fn body_start(text: &str) -> usize {
    locate(text).map_or(0, |(_, start)| start)
}

/// Finds and reads the front matter of `text` (the note at `file`).
pub fn split(file: &str, text: &str) -> Split {
    let Some((yaml_range, body_start)) = locate(text) else {
        return Split::default();
    };
    let yaml = &text[yaml_range.clone()];
    let mut diagnostics = Vec::new();
    if let Some(at) = too_deep(yaml) {
        let offset = yaml_range.start + at;
        diagnostics.push(
            Diagnostic::warning(
                file,
                text,
                offset..offset + 1,
                format!("front matter nested more than {MAX_NESTING} levels deep: it was ignored"),
            )
            .with_hint("front matter holds titles, tags and dates: flatten it"),
        );
        return Split {
            front: FrontMatter::default(),
            body_start,
            diagnostics,
        };
    }
    let front = match serde_yaml_ng::from_str::<Value>(yaml) {
        Ok(value) => {
            diagnostics.extend(check_types(file, text, yaml_range.start, yaml, &value));
            read(&value)
        }
        Err(err) => {
            let offset = err
                .location()
                .map_or(yaml_range.start, |l| yaml_range.start + l.index());
            diagnostics.push(
                Diagnostic::warning(
                    file,
                    text,
                    offset..offset + 1,
                    format!("front matter is not valid YAML: {err}"),
                )
                .with_hint("fix the YAML between the `---` lines; it was ignored"),
            );
            FrontMatter::default()
        }
    };
    diagnostics.extend(check_settings(file, text, yaml_range.start, yaml, &front));
    diagnostics.extend(check_date(file, text, yaml_range.start, yaml, &front));
    Split {
        front,
        body_start,
        diagnostics,
    }
}

/// Warnings for the fields notebuild reads whose value has the wrong type (`title:` a
/// list, `tags:` a map, `draft: maybe`...): such a value is ignored, and the note
/// should say what it means.
fn check_types(
    file: &str,
    text: &str,
    yaml_start: usize,
    yaml: &str,
    value: &Value,
) -> Vec<Diagnostic> {
    let Value::Mapping(map) = value else {
        return Vec::new();
    };
    let is_scalar = |v: &Value| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_));
    let mut out = Vec::new();
    for (key, value) in map {
        let Some(key) = key.as_str() else { continue };
        if value.is_null() {
            continue;
        }
        let list = matches!(
            key.to_ascii_lowercase().as_str(),
            "tags" | "tag" | "aliases" | "alias"
        );
        let ignored = if list {
            "what is not a word was"
        } else {
            "it was"
        };
        let expected = match key.to_ascii_lowercase().as_str() {
            "title" | "layout" | "otimes" if !is_scalar(value) => "one line of text",
            k if crate::dates::key_rank(k).is_some() && !is_scalar(value) => {
                "a date, as in 2024-08-02"
            }
            "tags" | "tag" | "aliases" | "alias" => match value {
                Value::Sequence(items) if items.iter().all(is_scalar) => continue,
                v if is_scalar(v) => continue,
                _ => "a list of words, as in [algebra, calculus]",
            },
            "draft" | "publish" => match value {
                Value::Bool(_) => continue,
                Value::String(s)
                    if matches!(
                        s.to_ascii_lowercase().as_str(),
                        "true" | "false" | "yes" | "no"
                    ) =>
                {
                    continue;
                }
                _ => "true or false",
            },
            _ => continue,
        };
        let at = yaml
            .split_inclusive('\n')
            .scan(0, |start, line| {
                let here = *start;
                *start += line.len();
                Some((here, line))
            })
            .find(|(_, line)| {
                line.starts_with(key) && line[key.len()..].trim_start().starts_with(':')
            })
            .map_or(yaml_start, |(k, _)| yaml_start + k);
        out.push(
            Diagnostic::warning(
                file,
                text,
                at..at + key.len().max(1),
                format!("front matter `{key}` is not {expected}: {ignored} ignored"),
            )
            .with_hint(format!("write {key}: followed by {expected}")),
        );
    }
    out
}

/// A warning for a date that is not a calendar date `YYYY-MM-DD` (a time may follow):
/// it is shown as written, and notes are ordered by it as text.
fn check_date(
    file: &str,
    text: &str,
    yaml_start: usize,
    yaml: &str,
    front: &FrontMatter,
) -> Option<Diagnostic> {
    let date = front.date.as_deref()?;
    if crate::dates::parse(date).is_some() {
        return None;
    }
    let mut at = yaml_start;
    let mut line_start = 0;
    for line in yaml.split_inclusive('\n') {
        let key = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if crate::dates::key_rank(&key).is_some()
            && let Some(k) = line.find(date)
        {
            at = yaml_start + line_start + k;
            break;
        }
        line_start += line.len();
    }
    Some(
        Diagnostic::warning(
            file,
            text,
            at..at + date.len().max(1),
            format!("`{date}` is not a date notebuild can read: it is shown as written"),
        )
        .with_hint("write dates as YYYY-MM-DD, as in 2024-08-02 (or August 2, 2024)"),
    )
}

/// Warnings for the checker's settings (`layout:`, `otimes:`) whose value names nothing:
/// the vault's setting is used instead, and the note should say so.
fn check_settings(
    file: &str,
    text: &str,
    yaml_start: usize,
    yaml: &str,
    front: &FrontMatter,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (key, value) in &front.fields {
        let (valid, expected) = match key.to_ascii_lowercase().as_str() {
            "layout" => (
                crate::check::Layout::named(value).is_some(),
                "numerator or denominator",
            ),
            "otimes" => (
                crate::check::Otimes::named(value).is_some(),
                "elementwise or kronecker",
            ),
            _ => continue,
        };
        if valid {
            continue;
        }
        let mut at = yaml_start;
        let mut len = 1;
        let mut line_start = 0;
        for line in yaml.split_inclusive('\n') {
            if line.starts_with(key.as_str()) && line[key.len()..].trim_start().starts_with(':') {
                let column = line.find(value.as_str()).unwrap_or(0);
                at = yaml_start + line_start + column;
                len = if column == 0 { key.len() } else { value.len() };
                break;
            }
            line_start += line.len();
        }
        out.push(
            Diagnostic::warning(
                file,
                text,
                at..at + len.max(1),
                format!("`{key}: {value}` is not a setting the checker knows: it was ignored"),
            )
            .with_hint(format!("write {key}: {expected}")),
        );
    }
    out
}

/// The deepest nesting of `[…]` and `{…}` front matter may have: the YAML reader's time
/// grows much faster than the depth.
const MAX_NESTING: usize = 64;

/// Where `yaml` opens its bracket number [`MAX_NESTING`]` + 1` (quoted text aside).
fn too_deep(yaml: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    for (k, b) in yaml.bytes().enumerate() {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'\n') => quote = None,
            (None, b'[' | b'{') => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(k);
                }
            }
            (None, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// The byte range of the YAML and where the body starts, when `text` opens with `---`.
fn locate(text: &str) -> Option<(std::ops::Range<usize>, usize)> {
    let text_start = text.strip_prefix('\u{feff}').map_or(0, |_| 3);
    let rest = &text[text_start..];
    let first_line_end = rest.find('\n')?;
    if rest[..first_line_end].trim_end() != "---" {
        return None;
    }
    let yaml_start = text_start + first_line_end + 1;
    let mut pos = yaml_start;
    for line in text[yaml_start..].split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed == "..." {
            return Some((yaml_start..pos, pos + line.len()));
        }
        pos += line.len();
    }
    None
}

fn read(value: &Value) -> FrontMatter {
    let mut front = FrontMatter::default();
    let Value::Mapping(map) = value else {
        return front;
    };
    let mut dates: BTreeMap<usize, String> = BTreeMap::new();
    for (key, value) in map {
        let Some(key) = key.as_str() else { continue };
        match key.to_ascii_lowercase().as_str() {
            "title" => front.title = scalar(value).filter(|t| !t.trim().is_empty()),
            "tags" | "tag" => front.tags = list(value, true),
            "aliases" | "alias" => front.aliases = list(value, false),
            "draft" => front.unpublished |= truthy(value),
            "publish" => front.unpublished |= value.as_bool() == Some(false),
            k if crate::dates::key_rank(k).is_some() => {
                if let (Some(rank), Some(s)) = (crate::dates::key_rank(k), scalar(value)) {
                    dates.entry(rank).or_insert(s);
                }
            }
            _ => {
                if let Some(s) = scalar(value) {
                    front.fields.insert(key.to_string(), s);
                }
            }
        }
    }
    front.date = dates.into_values().next();
    front
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => matches!(s.to_ascii_lowercase().as_str(), "true" | "yes"),
        _ => false,
    }
}

/// A list field written as a YAML list or as one string (`tags: a, b` or `tags: a b`).
fn list(value: &Value, split_spaces: bool) -> Vec<String> {
    let items: Vec<String> = match value {
        Value::Sequence(seq) => seq.iter().filter_map(scalar).collect(),
        other => scalar(other)
            .map(|s| {
                s.split(|c: char| c == ',' || (split_spaces && c.is_whitespace()))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    };
    items
        .into_iter()
        .map(|s| {
            let s = s.trim();
            if split_spaces {
                s.trim_start_matches('#').to_string()
            } else {
                s.to_string()
            }
        })
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_common_fields() {
        let text = "---\ntitle: Chain rule\ntags: [calculus, flashcards/math]\naliases: chain\ndraft: false\ndate: 2024-08-02\nlayout: denominator\n---\n# Body\n";
        let s = split("a.md", text);
        assert!(s.diagnostics.is_empty());
        assert_eq!(s.front.title.as_deref(), Some("Chain rule"));
        assert_eq!(s.front.tags, ["calculus", "flashcards/math"]);
        assert_eq!(s.front.aliases, ["chain"]);
        assert!(!s.front.unpublished);
        assert_eq!(s.front.date.as_deref(), Some("2024-08-02"));
        assert_eq!(
            s.front.fields.get("layout").map(String::as_str),
            Some("denominator")
        );
        assert_eq!(&text[s.body_start..], "# Body\n");
    }

    #[test]
    fn a_checker_setting_that_names_nothing_is_a_warning_at_its_line() {
        let text = "---\ntitle: x\nlayout: denominatr\notimes: kronecker\n---\nbody\n";
        let s = split("a.md", text);
        assert_eq!(s.diagnostics.len(), 1, "{:?}", s.diagnostics);
        let d = &s.diagnostics[0];
        assert_eq!((d.line, d.column), (3, 9));
        assert!(d.message.contains("denominatr"), "{}", d.message);
        let s = split("a.md", "---\notimes: outer\nlayout: numerator\n---\n");
        assert_eq!(s.diagnostics.len(), 1, "{:?}", s.diagnostics);
        assert_eq!(s.diagnostics[0].line, 2);
    }

    /// Deeply nested brackets are refused before the YAML reader sees them (100,000
    /// levels took it 28 s).
    #[test]
    fn deeply_nested_front_matter_is_ignored_with_a_warning() {
        let text = format!(
            "---\ntags: {}{}\n---\n# Body\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let s = split("a.md", &text);
        assert_eq!(s.diagnostics.len(), 1, "{:?}", s.diagnostics);
        assert!(s.diagnostics[0].message.contains("nested"));
        assert_eq!(&text[s.body_start..], "# Body\n");
        // nested less deeply, it is read (the inner list is not words: a warning says so)
        let s = split("a.md", "---\ntags: [[a, b], '[[[[']\n---\n");
        assert!(
            s.diagnostics.iter().all(|d| !d.message.contains("nested")),
            "{:?}",
            s.diagnostics
        );
        assert_eq!(s.front.tags, ["[[[["]);
    }

    #[test]
    fn a_date_that_is_no_date_is_a_warning_at_its_line() {
        for good in [
            "2024-08-02",
            "2024-02-29",
            "2024-08-02T10:30:00",
            "2024-08-02 10:30",
            "2024/08/02",
            "August 2, 2024",
        ] {
            let s = split("a.md", &format!("---\ndate: {good}\n---\n"));
            assert!(s.diagnostics.is_empty(), "{good}: {:?}", s.diagnostics);
        }
        for bad in ["yesterday", "2023-02-29", "2024-13-01", "02/08/2024"] {
            // (02/08/2024 is February 8th or 2 August: not read)
            let text = format!("---\ntitle: x\ncreated: {bad}\n---\n");
            let s = split("a.md", &text);
            assert_eq!(s.diagnostics.len(), 1, "{bad}");
            assert_eq!(
                (s.diagnostics[0].line, s.diagnostics[0].column),
                (3, 10),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_field_of_the_wrong_type_is_a_warning_at_its_line() {
        let s = split(
            "n.md",
            "---\ntitle: [1, 2]\ntags: 5\naliases: {a: b}\ndraft: maybe\npublish: 3\nlayout: [x]\ndate: {y: 1}\n---\nx\n",
        );
        let lines: Vec<(usize, &str)> = s
            .diagnostics
            .iter()
            .map(|d| (d.line, d.message.as_str()))
            .collect();
        assert_eq!(lines.len(), 6, "{lines:?}");
        for (line, key) in [
            (2, "title"),
            (4, "aliases"),
            (5, "draft"),
            (6, "publish"),
            (7, "layout"),
            (8, "date"),
        ] {
            assert!(
                lines
                    .iter()
                    .any(|(l, m)| *l == line && m.contains(&format!("`{key}`"))),
                "{key}: {lines:?}"
            );
        }
        // well-typed fields say nothing
        let s = split(
            "n.md",
            "---\ntitle: 3\ntags: [a, b]\naliases: x\ndraft: no\npublish: true\ndate: 2024-01-02\n---\n",
        );
        assert!(s.diagnostics.is_empty(), "{:?}", s.diagnostics);
    }

    #[test]
    fn tags_as_a_string_and_publish_false() {
        let s = split("a.md", "---\ntags: '#a, b c'\npublish: false\n---\n");
        assert_eq!(s.front.tags, ["a", "b", "c"]);
        assert!(s.front.unpublished);
    }

    #[test]
    fn bad_yaml_is_a_warning_at_its_line() {
        let text = "---\ntitle: [unclosed\n---\nbody";
        let s = split("a.md", text);
        assert_eq!(s.diagnostics.len(), 1);
        assert!(s.diagnostics[0].line >= 2);
        assert_eq!(&text[s.body_start..], "body");
    }

    #[test]
    fn no_front_matter_without_closing_line() {
        let s = split("a.md", "---\ntitle: x\n");
        assert_eq!(s.body_start, 0);
    }
}
