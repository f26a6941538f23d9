//! The flashcards of a vault as files for other tools: an Anki plain-text import file,
//! and a JSON list (`notebuild cards`).
//!
//! Anki's text import (<https://docs.ankiweb.net/importing/text-files.html>) reads file
//! headers such as `#separator:tab`, `#html:true`, `#guid column:1`; with a GUID column,
//! importing the file again updates the notes instead of duplicating them. Each card
//! becomes one Anki note:
//!
//! * `question::answer` and `?` cards: note type `Basic` (fields Front, Back);
//! * `:::` and `??` cards (two siblings): one `Basic (and reversed card)` note, which makes
//!   both cards in Anki;
//! * clozes: one `Cloze` note per cloze paragraph (field Text, with every deletion written
//!   `{{cN::answer::hint}}`; field Back Extra empty), which makes one card per number.
//!
//! Fields are HTML: the card's markdown rendered, with math written `\(...\)` and
//! `\[...\]` for Anki's MathJax, wikilinks as their shown text, line breaks as `<br>`.
//! With `html: safe` (or `--safe-html`), as on the site, the cards' raw HTML is dropped
//! and a link or image whose URL would run script loses its URL (a link keeps its text).

use std::fmt::Write as _;

use pulldown_cmark::{Event, Tag, TagEnd, html};
use serde::Serialize;

use crate::extract::cards::{Card, CardKind, Cloze, Schedule};
use crate::parse::{self, Node, ParsedNote};
use crate::render::html::runs_script;
use crate::vault::SourceFile;

/// The JSON list of cards: `{"version":1, "cards":[...], "summary":{...}}`.
pub fn json(cards: &[&Card]) -> String {
    #[derive(Serialize)]
    struct Entry<'a> {
        id: &'a str,
        file: &'a str,
        line: usize,
        kind: CardKind,
        deck: String,
        front: &'a str,
        back: &'a str,
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        prompts: &'a [String],
        /// For a cloze: the number asked and every deletion (answer, hint, asked).
        #[serde(skip_serializing_if = "Option::is_none")]
        cloze: Option<&'a Cloze>,
        schedule: Option<&'a Schedule>,
    }
    #[derive(Serialize)]
    struct Summary {
        cards: usize,
        scheduled: usize,
        new: usize,
    }
    #[derive(Serialize)]
    struct Report<'a> {
        version: u32,
        cards: Vec<Entry<'a>>,
        summary: Summary,
    }
    let scheduled = cards.iter().filter(|c| c.schedule.is_some()).count();
    let report = Report {
        version: 1,
        cards: cards
            .iter()
            .map(|c| Entry {
                id: &c.id,
                file: &c.note,
                line: c.line,
                kind: c.kind,
                deck: c.deck.join("/"),
                front: &c.front,
                back: &c.back,
                prompts: &c.prompts,
                cloze: c.cloze.as_ref(),
                schedule: c.schedule.as_ref(),
            })
            .collect(),
        summary: Summary {
            cards: cards.len(),
            scheduled,
            new: cards.len() - scheduled,
        },
    };
    serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// One Anki note, before it is written as a line.
struct AnkiNote {
    guid: String,
    notetype: &'static str,
    deck: String,
    tags: String,
    fields: Vec<String>,
}

/// The Anki import file for the cards of `notes` (`cards[i]` belongs to `notes[i]`);
/// `tags[i]` are the note's tags, given to its cards, except the flashcard tags
/// `card_tags` and the tags nested under them (they are decks). `safe_html`: drop the
/// cards' raw HTML and script URLs (`html: safe`).
pub fn anki(
    notes: &[ParsedNote],
    cards: &[Vec<Card>],
    tags: &[Vec<String>],
    card_tags: &[String],
    safe_html: bool,
) -> String {
    let mut out = String::from(
        "#separator:tab\n#html:true\n#guid column:1\n#notetype column:2\n#deck column:3\n#tags column:4\n",
    );
    for (i, note_cards) in cards.iter().enumerate() {
        let (Some(note), Some(note_tags)) = (notes.get(i), tags.get(i)) else {
            continue;
        };
        let kept: Vec<String> = note_tags
            .iter()
            .filter(|t| !is_card_tag(t, card_tags))
            .cloned()
            .collect();
        for anki_note in anki_notes(note, note_cards, &kept, safe_html) {
            let mut columns = vec![
                anki_note.guid,
                anki_note.notetype.to_string(),
                anki_note.deck,
                anki_note.tags,
            ];
            columns.extend(anki_note.fields);
            let line: Vec<String> = columns.iter().map(|c| field(c)).collect();
            let _ = writeln!(out, "{}", line.join("\t"));
        }
    }
    out
}

/// The Anki notes of one note's cards: siblings (a reversed pair, the cards of one cloze
/// text) make one Anki note.
fn anki_notes(
    note: &ParsedNote,
    cards: &[Card],
    note_tags: &[String],
    safe_html: bool,
) -> Vec<AnkiNote> {
    let mut out = Vec::new();
    let mut done: Vec<std::ops::Range<usize>> = Vec::new();
    for card in cards {
        if done.contains(&card.range) {
            continue;
        }
        let siblings: Vec<&Card> = cards.iter().filter(|c| c.range == card.range).collect();
        done.push(card.range.clone());
        let deck = card.deck.join("::");
        let tags = anki_tags(note_tags, &card.deck);
        let (notetype, fields) = match card.kind {
            CardKind::Cloze => (
                "Cloze",
                vec![cloze_text(note, &siblings, safe_html), String::new()],
            ),
            _ => {
                let reversed = siblings.iter().any(|c| c.kind == CardKind::Reversed);
                // The fill-in prompts are part of the question.
                let mut front = to_html(note, &card.front, safe_html);
                if !card.prompts.is_empty() {
                    front.push_str("<br>");
                    front.push_str(&to_html(note, &card.prompts.join("\n"), safe_html));
                }
                (
                    if reversed {
                        "Basic (and reversed card)"
                    } else {
                        "Basic"
                    },
                    vec![front, to_html(note, &card.back, safe_html)],
                )
            }
        };
        out.push(AnkiNote {
            guid: card.id.clone(),
            notetype,
            deck,
            tags,
            fields,
        });
    }
    out
}

/// Whether `tag` is one of the flashcard tags or nested under one.
fn is_card_tag(tag: &str, card_tags: &[String]) -> bool {
    let tag = tag.to_lowercase();
    card_tags.iter().any(|c| {
        let c = c.to_lowercase();
        tag == c
            || tag
                .strip_prefix(&c)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// Anki tags: the note's tags that are not the deck, hierarchical with `::`, no spaces.
fn anki_tags(note_tags: &[String], deck: &[String]) -> String {
    let deck_path = deck.join("/");
    note_tags
        .iter()
        .filter(|t| !t.eq_ignore_ascii_case(&deck_path))
        .map(|t| t.replace('/', "::").replace(char::is_whitespace, "_"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of a cloze note: the paragraph with every deletion as `{{cN::answer::hint}}`.
/// Inside a deletion, `}}` is written `} }` and `::` as `:&#58;` (Anki would read them
/// as the deletion's end and its hint).
fn cloze_text(note: &ParsedNote, siblings: &[&Card], safe_html: bool) -> String {
    let Some(first) = siblings.first() else {
        return String::new();
    };
    let escape = |s: &str| s.replace("}}", "} }").replace("::", ":&#58;");
    let text = first.cloze_text(&note.text, |d, number| {
        let hint = d
            .hint
            .as_ref()
            .map(|h| format!("::{}", escape(h)))
            .unwrap_or_default();
        format!("{{{{c{number}::{}{hint}}}}}", escape(&d.answer))
    });
    match text {
        Some(text) => to_html(note, &text, safe_html),
        None => to_html(note, &first.back, safe_html),
    }
}

/// Renders card markdown to HTML for Anki: math as `\(...\)` / `\[...\]`, wikilinks as
/// their text, each line break kept.
/// `note` is the note the markdown comes from: its macros are expanded (Anki knows none
/// of the vault's macros). `safe_html`: raw HTML is dropped, a link whose URL would run
/// script keeps only its text, such an image loses its source.
pub fn to_html(note: &ParsedNote, markdown: &str, safe_html: bool) -> String {
    let mut parsed = parse::parse(&SourceFile {
        path: note.path.clone(),
        text: markdown.to_string(),
        modified: None,
    });
    parse::macros::expand(&mut parsed, &note.macros);
    let mut events: Vec<Event<'static>> = Vec::new();
    // Links do not nest: the end of a link is the end of the last one started.
    let mut link_dropped = false;
    for node in parsed.nodes {
        match node {
            Node::Md(Event::SoftBreak) => events.push(Event::HardBreak),
            Node::Md(Event::Html(_) | Event::InlineHtml(_)) if safe_html => {}
            Node::Md(Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            })) if safe_html => {
                link_dropped = runs_script(&dest_url, false);
                if !link_dropped {
                    events.push(Event::Start(Tag::Link {
                        link_type,
                        dest_url,
                        title,
                        id,
                    }));
                }
            }
            Node::Md(Event::End(TagEnd::Link)) if safe_html && link_dropped => {
                link_dropped = false;
            }
            Node::Md(Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            })) if safe_html && runs_script(&dest_url, true) => {
                events.push(Event::Start(Tag::Image {
                    link_type,
                    dest_url: "".into(),
                    title,
                    id,
                }));
            }
            Node::Md(e) => events.push(e),
            Node::Math(m) => {
                let (open, close) = if m.display {
                    ("\\[", "\\]")
                } else {
                    ("\\(", "\\)")
                };
                let tex = m.tex_to_read().trim();
                events.push(Event::Text(format!("{open}{tex}{close}").into()));
            }
            Node::Link(link) => {
                let shown = link
                    .label
                    .filter(|_| !link.embed)
                    .unwrap_or_else(|| link.target.clone());
                events.push(Event::Text(shown.into()));
            }
            Node::Tag(tag) => events.push(Event::Text(format!("#{}", tag.name).into())),
            Node::Highlight { open } => {
                events.push(Event::InlineHtml(
                    if open { "<mark>" } else { "</mark>" }.into(),
                ));
            }
            Node::BlockAnchor(_) | Node::CalloutStart(_) | Node::CalloutEnd | Node::Source(_) => {}
        }
    }
    let mut out = String::new();
    html::push_html(&mut out, events.into_iter());
    let out = out.replace("<br />\n", "<br>");
    let out = out.trim();
    // A single paragraph needs no wrapper in an Anki field.
    match out.strip_prefix("<p>").and_then(|s| s.strip_suffix("</p>")) {
        Some(inner) if !inner.contains("<p>") => inner.to_string(),
        _ => out.to_string(),
    }
}

/// A field of the import file: tabs and line breaks would end the field or the line, so
/// they become spaces (the HTML carries the layout); a field holding a quote is quoted.
fn field(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| {
            if matches!(c, '\t' | '\n' | '\r') {
                ' '
            } else {
                c
            }
        })
        .collect();
    if flat.contains('"') {
        format!("\"{}\"", flat.replace('"', "\"\""))
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::cards::{self, CardSettings};

    fn note(text: &str) -> (ParsedNote, Vec<Card>) {
        let parsed = parse::parse(&SourceFile {
            path: "Deck/Note.md".into(),
            text: text.into(),
            modified: None,
        });
        let (cards, _) = cards::cards(&parsed, &CardSettings::default());
        (parsed, cards)
    }

    /// The rows (not the headers) of an export, split into columns.
    fn rows(export: &str) -> Vec<Vec<String>> {
        export
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect()
    }

    fn anki_export(text: &str) -> String {
        let (parsed, cards) = note(text);
        let tags = vec![
            "flashcards/math".to_string(),
            "calculus/chain rule".to_string(),
        ];
        anki(
            &[parsed],
            &[cards],
            &[tags],
            &["flashcards".to_string()],
            false,
        )
    }

    #[test]
    fn headers_and_basic_cards() {
        let out = anki_export(
            "#flashcards/math\n\nWhat is $\\frac{d}{dx} x^2$?::$2x$\n\nSine of zero:::0\n",
        );
        assert!(out.starts_with(
            "#separator:tab\n#html:true\n#guid column:1\n#notetype column:2\n#deck column:3\n#tags column:4\n"
        ));
        let rows = rows(&out);
        assert_eq!(rows.len(), 2, "{out}");
        assert_eq!(rows[0][1], "Basic");
        assert_eq!(rows[0][2], "flashcards::math");
        assert_eq!(
            rows[0][3], "calculus::chain_rule",
            "flashcard tags are decks, not tags"
        );
        assert_eq!(rows[0][4], "What is \\(\\frac{d}{dx} x^2\\)?");
        assert_eq!(rows[0][5], "\\(2x\\)");
        assert_eq!(rows[0][0].len(), 16, "the card's stable id is the GUID");
        assert_eq!(
            rows[1][1], "Basic (and reversed card)",
            "one note for both siblings"
        );
        assert_eq!(rows[1][4], "Sine of zero");
    }

    #[test]
    fn multi_line_cards_keep_their_lines_and_display_math() {
        let rows = rows(&anki_export(
            "#flashcards\n\nGradient of\n$\\mathbf{a}^T\\mathbf{x}$\n?\nIt is\n$$\\mathbf{a}^T$$\n",
        ));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0][4], "Gradient of<br>\\(\\mathbf{a}^T\\mathbf{x}\\)");
        assert!(rows[0][5].contains("\\[\\mathbf{a}^T\\]"), "{:?}", rows[0]);
    }

    #[test]
    fn clozes_become_one_note_with_numbered_deletions() {
        let rows = rows(&anki_export(
            "#flashcards\n\nThe ==1;;Jacobian== of $f$ is ==2;;m×n;;shape== and ==made of partials==.\n",
        ));
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0][1], "Cloze");
        assert_eq!(
            rows[0][4],
            "The {{c1::Jacobian}} of \\(f\\) is {{c2::m×n::shape}} and {{c3::made of partials}}."
        );
    }

    #[test]
    fn safe_html_drops_raw_html_and_script_urls_from_fields() {
        let text = "#flashcards\n\n\
                    Q <img src=x onerror=alert(1)> [a](<jAvA\tscript:alert(2)>) <script>alert(3)</script>\
                    ::![b](javascript:alert(4)) [c](https://example.com/) <svg onload=alert(5)>\n\n\
                    The ==answer<b onclick=alert(6)>x</b>== is [d](VBScript:alert(7)).\n";
        let (parsed, cards) = note(text);
        let (notes, cards) = ([parsed], [cards]);
        let export = |safe| anki(&notes, &cards, &[vec![]], &[], safe);
        let raw = export(false);
        assert!(raw.contains("onerror=alert(1)"), "kept by default: {raw}");
        assert!(raw.contains("<script>"), "kept by default: {raw}");
        let safe = export(true);
        let rows = rows(&safe);
        assert_eq!(rows.len(), 2, "{safe}");
        for gone in [
            "<img src=x",
            "onerror",
            "<script",
            "alert(2)",
            "alert(4)",
            "alert(7)",
            "javascript",
            "java\tscript",
            "java script",
            "<svg",
            "onload",
            "onclick",
            "vbscript",
        ] {
            assert!(!safe.to_lowercase().contains(gone), "{gone} in {safe}");
        }
        // The link keeps its text; the text between two dropped tags stays, as text (as
        // on the site).
        assert_eq!(rows[0][4], "Q  a alert(3)");
        // (the field holds quotes, so it is quoted, its quotes doubled)
        assert!(
            rows[0][5].contains("<img src=\"\"\"\" alt=\"\"b\"\""),
            "{:?}",
            rows[0]
        );
        assert!(
            rows[0][5].contains("<a href=\"\"https://example.com/\"\">c</a>"),
            "{:?}",
            rows[0]
        );
        assert_eq!(rows[1][4], "The {{c1::answerx}} is d.");
    }

    #[test]
    fn fields_with_quotes_are_quoted() {
        assert_eq!(field("a \"b\"\tc"), "\"a \"\"b\"\" c\"");
        assert_eq!(field("plain"), "plain");
    }

    #[test]
    fn json_lists_cards_with_place_deck_and_schedule() {
        let (_, cards) =
            note("#flashcards/math\n\nQ::A <!--SR:!2024-08-05,3,250-->\n\nNew::card\n");
        let refs: Vec<&Card> = cards.iter().collect();
        let v: serde_json::Value = serde_json::from_str(&json(&refs)).unwrap_or_default();
        assert_eq!(v["version"], 1);
        assert_eq!(v["cards"][0]["file"], "Deck/Note.md");
        assert_eq!(v["cards"][0]["line"], 3);
        assert_eq!(v["cards"][0]["deck"], "flashcards/math");
        assert_eq!(v["cards"][0]["front"], "Q");
        assert_eq!(v["cards"][0]["back"], "A");
        assert_eq!(v["cards"][0]["schedule"]["due"], "2024-08-05");
        assert_eq!(v["cards"][0]["schedule"]["interval"], 3);
        assert_eq!(v["cards"][0]["schedule"]["ease"], 250);
        assert!(v["cards"][1]["schedule"].is_null());
        assert_eq!(v["summary"]["new"], 1);
    }
}
