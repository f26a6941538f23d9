//! Flashcards: the cards a note holds, in the grammar of the Obsidian Spaced Repetition
//! plugin (its default settings), as plain data. Nothing here renders anything.
//!
//! Only a note tagged with one of [`CardSettings::tags`] (in its front matter or with a
//! `#tag` in its body, nested tags such as `#flashcards/math` included) holds cards.
//!
//! # Grammar
//!
//! * `question::answer` on one line is a [`CardKind::Basic`] card; `question:::answer`
//!   gives two sibling cards, the forward one ([`CardKind::Basic`]) and its reverse
//!   ([`CardKind::Reversed`]). A `::` inside inline code, math, a comment or an Anki-style
//!   cloze `{{c1::...}}` is not a separator.
//! * A line that is exactly `?` (`??` for a reversed pair) splits a multi-line card: the
//!   front is the lines right above it, back to a blank line, a heading, a callout's first
//!   line or the previous card; the back is the lines right below it, up to a blank line,
//!   a heading, a callout's first line or the review comment.
//! * A callout whose body holds a `?` line is a card whose front is the callout's title
//!   (and any callout lines above the `?`), and whose back is what follows the `?` line,
//!   with or without `>` markers. Its [`Card::callout`] is the callout's type.
//! * A paragraph (the lines between blank lines) that is no other card and holds clozes —
//!   `==answer==`, `==answer;;hint==`, `==1;;answer==`, `==1;;answer;;hint==`,
//!   `{{c1::answer}}`, `{{c1::answer::hint}}` — gives one [`CardKind::Cloze`] card per
//!   cloze number (deletions with the same number are asked together) and one per
//!   un-numbered deletion. A `==` inside math, code or a comment is no cloze.
//! * Fenced and indented code blocks hold no cards (they can be part of one);
//!   `%%comments%%` and `<!-- comments -->` are ignored; headings hold no cards.
//! * A review comment `<!--SR:!2024-08-05,3,250-->` (or its FSRS form
//!   `<!--SR:!fsrs,due,interval,stability,difficulty,state,reps,lapses,steps,last-->`), at
//!   the end of a card's last line or on the line after it, gives each sibling its
//!   [`Schedule`]: the n-th `!` entry belongs to the card whose [`Card::sibling`] is n.
//!   It is never part of a card's text.
//! * Fill-in prompts: the lines right after a multi-line card (after blank lines) that are
//!   all fill-ins — a placeholder `?` after `=` or `:` (`$\nabla f(x, y) = ?$`), or a label
//!   that starts one of the answer's lines (`**Vector rule:**`) — are the card's
//!   [`Card::prompts`], shown with its forward sibling. They belong to no other card.
//!
//! # Decks
//!
//! A flashcard tag at the start of a card's first line applies to that card alone (and is
//! removed from its front). Otherwise the card takes the last flashcard tag line above it
//! (a line holding a flashcard tag outside any card; the first flashcard tag of that line),
//! else the front matter's flashcard tag, else the note's first flashcard tag line.
//!
//! # Text
//!
//! [`Card::front`] and [`Card::back`] are markdown source: math stays `$...$`, `>` markers
//! of a card written in a callout or quote are removed, comments and review comments are
//! cut out, and each line keeps its own line (render newlines as line breaks, as Obsidian
//! does). For a cloze card, the asked deletions are written `==[...]==` (or `==[hint]==`) in
//! the front and `==answer==` in the back — highlights, so that the renderer's usual `==`
//! handling marks them — and the other deletions are plain text. [`Card::cloze`] says
//! which deletions are asked, for a renderer that wants more.

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::LazyLock;

use pulldown_cmark::{Event, Parser, Tag, TagEnd};
use regex::Regex;
use serde::Serialize;

use crate::diagnostics::Diagnostic;
use crate::parse::{self, Node, ParsedNote};

/// Which notes hold cards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSettings {
    /// Flashcard tags, without `#`: a note holds cards only when tagged with one of them
    /// or with a tag nested under one (`flashcards/math/calculus`). Compared
    /// case-insensitively.
    pub tags: Vec<String>,
}

impl Default for CardSettings {
    fn default() -> Self {
        CardSettings {
            tags: vec!["flashcards".to_string()],
        }
    }
}

/// What a card asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CardKind {
    /// Front asks, back answers (`::`, `?`, and the forward sibling of `:::` and `??`).
    Basic,
    /// The reverse sibling of `:::` or `??`: the answer asks, the question answers.
    Reversed,
    /// A cloze: the text with the asked deletions hidden.
    Cloze,
}

/// One flashcard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Card {
    /// Stable id: 16 hex digits of the FNV-1a hash of the note's path, the card's sibling
    /// (`0`/`1`, `c3` for cloze number 3, `u0` for the first un-numbered deletion) and its
    /// whitespace-normalised text (front and back as written, without the tags at its start
    /// and the review comment; a cloze's whole text with its markup).
    pub id: String,
    /// The note's path relative to the vault.
    pub note: String,
    /// 1-based line where the card starts (a callout card: the callout's first line).
    pub line: usize,
    /// Byte range of the whole card in the note's text, review comment included, prompts
    /// not included. Siblings share it.
    pub range: Range<usize>,
    pub kind: CardKind,
    /// Index among the cards written by the same text, which is also the index of this
    /// card's entry in the review comment. For clozes: number − 1 for numbered clozes,
    /// then the un-numbered deletions after the highest number.
    pub sibling: usize,
    /// The flashcard tag's path: `#flashcards/math/calculus` → `["flashcards", "math",
    /// "calculus"]`.
    pub deck: Vec<String>,
    /// Markdown source of the question (see the module's documentation).
    pub front: String,
    /// Markdown source of the answer.
    pub back: String,
    /// The callout's type as written (`question`), for a card written as a callout.
    pub callout: Option<String>,
    /// Fill-in prompt lines shown with the card (markdown, one per line); only the
    /// forward sibling of a multi-line card has them.
    pub prompts: Vec<String>,
    /// Byte range of the prompt lines in the note's text.
    pub prompts_range: Option<Range<usize>>,
    /// For a cloze card, its deletions.
    pub cloze: Option<Cloze>,
    /// The schedule from the review comment, when this card has been reviewed.
    pub schedule: Option<Schedule>,
}

/// The deletions of a cloze card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cloze {
    /// The number asked (`==2;;x==`, `{{c2::x}}`); `None` for an un-numbered deletion.
    pub number: Option<u32>,
    /// Every deletion of the text, in order.
    pub deletions: Vec<Deletion>,
}

/// One deletion of a cloze text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deletion {
    pub number: Option<u32>,
    /// The hidden text (markdown).
    pub answer: String,
    pub hint: Option<String>,
    /// Whether this card asks it.
    pub asked: bool,
    /// Byte range in the note's text, delimiters included.
    pub range: Range<usize>,
}

/// A card's schedule, read from its review comment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "algorithm", rename_all = "lowercase")]
pub enum Schedule {
    /// The plugin's SM-2 variant: `!2024-08-05,3,250`.
    Sm2 {
        /// `YYYY-MM-DD`.
        due: String,
        /// Days.
        interval: u32,
        /// Ease × 100.
        ease: u32,
    },
    /// FSRS: `!fsrs,due,interval,stability,difficulty,state,reps,lapses,learning_steps,last_review`.
    Fsrs {
        /// Timestamp as written (ISO 8601, `2024-08-05T10:00:00.000Z`).
        due: String,
        /// Days (fractional for short-term steps).
        interval: f64,
        stability: f64,
        difficulty: f64,
        /// 0 new, 1 learning, 2 review, 3 relearning.
        state: u8,
        reps: u32,
        lapses: u32,
        learning_steps: u32,
        /// Timestamp as written; `None` for `-`.
        last_review: Option<String>,
    },
}

impl Card {
    /// For a cloze card: the whole cloze text (markdown), every deletion written by
    /// `write(deletion, number)` — numbered deletions keep their number, un-numbered ones
    /// are numbered after the highest, as their cards are — without `>` markers, review
    /// comments, the callout's title line or the deck tags at the card's start.
    pub fn cloze_text(
        &self,
        note_text: &str,
        write: impl Fn(&Deletion, u32) -> String,
    ) -> Option<String> {
        let cloze = self.cloze.as_ref()?;
        let highest = cloze
            .deletions
            .iter()
            .filter_map(|d| d.number)
            .max()
            .unwrap_or(0);
        let mut unnumbered = 0;
        let mut text = String::new();
        let mut at = self.range.start;
        for d in &cloze.deletions {
            let number = d.number.unwrap_or_else(|| {
                unnumbered += 1;
                highest + unnumbered
            });
            if d.range.start < at || d.range.end > self.range.end {
                continue;
            }
            text.push_str(note_text.get(at..d.range.start)?);
            text.push_str(&write(d, number));
            at = d.range.end;
        }
        text.push_str(note_text.get(at..self.range.end)?);
        let text = REVIEW_COMMENT.replace_all(&text, "");
        let mut lines: Vec<&str> = text
            .lines()
            .map(|l| {
                let mut rest = l.trim_start();
                let mut quoted = false;
                while let Some(r) = rest.strip_prefix('>') {
                    rest = r.trim_start();
                    quoted = true;
                }
                if quoted { rest } else { l }
            })
            .collect();
        if lines
            .first()
            .is_some_and(|l| l.trim_start().starts_with("[!"))
        {
            lines.remove(0);
        }
        let mut joined = lines.join("\n");
        // The deck tag at the card's start.
        let deck = self.deck.join("/");
        if let Some(rest) = joined.trim_start().strip_prefix('#') {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            if !deck.is_empty() && rest[..end].eq_ignore_ascii_case(&deck) {
                joined = rest[end..].to_string();
            }
        }
        Some(joined.trim().to_string())
    }
}

/// The cards of a note, and the problems found in its card syntax (with byte ranges in
/// `note.text`). A note not tagged with one of `settings.tags` holds none.
pub fn cards(note: &ParsedNote, settings: &CardSettings) -> (Vec<Card>, Vec<Diagnostic>) {
    let (tags, math) = tags_and_math(note, settings);
    let front_deck = note
        .front
        .tags
        .iter()
        .find_map(|t| flashcard_deck(t, settings));
    if front_deck.is_none() && !tags.iter().any(|t| t.deck.is_some()) {
        return (Vec::new(), Vec::new());
    }
    let body_start = parse::frontmatter::split(&note.path, &note.text).body_start;
    let mut ctx = Ctx::new(note, body_start, tags, math);
    let questions = ctx.questions();
    let cards = ctx.expand(questions, front_deck, settings);
    (cards, ctx.diagnostics)
}

// ---------------------------------------------------------------------------------------
// The note, prepared: lines, and the places where no card syntax is looked for.

/// A tag of the note.
struct TagAt {
    range: Range<usize>,
    /// Its deck when it is a flashcard tag.
    deck: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// Empty (or whitespace) outside code and display math.
    Blank,
    /// Nothing but comments: as if it were not there.
    Hidden,
    /// Inside a code block (its fences included).
    Code,
    Heading,
    /// Nothing but a review comment.
    Review(Range<usize>),
    /// `?` or `??`.
    Separator {
        reversed: bool,
    },
    /// The first line of a callout: its type as written, and where its title starts.
    Callout {
        written: String,
        title: usize,
    },
    Text,
}

#[derive(Debug, Clone)]
struct Line {
    start: usize,
    /// End of the line, before its `\r\n` or `\n`.
    end: usize,
    /// Where the text starts after the `>` markers of a quote or callout.
    unquoted: usize,
    quoted: bool,
    kind: Kind,
    /// A text line holding nothing but tags, one of them a flashcard tag.
    tag_only: bool,
    /// A single-line card's separator: its offset and length (2 or 3).
    inline: Option<(usize, usize)>,
}

/// A deletion found in the text.
#[derive(Debug, Clone)]
struct RawDeletion {
    range: Range<usize>,
    number: Option<u32>,
    answer: String,
    hint: Option<String>,
}

/// The text of one question (one card, or the siblings one text writes).
struct Question {
    /// Index of its first line.
    first: usize,
    /// Index of its last line (the review comment's, when on its own line).
    last: usize,
    range: Range<usize>,
    /// Deck from a tag at the start of the card.
    deck: Option<Vec<String>>,
    review: Option<Range<usize>>,
    callout: Option<String>,
    prompts: Vec<String>,
    prompts_range: Option<Range<usize>>,
    sides: Vec<Side>,
}

/// One card of a question.
struct Side {
    kind: CardKind,
    sibling: usize,
    /// What the id hashes besides the note's path: the sibling's tag, then the text.
    key: String,
    front: String,
    back: String,
    cloze: Option<Cloze>,
}

struct Ctx<'a> {
    note: &'a ParsedNote,
    text: &'a str,
    /// 1-based line number of the body's first line.
    base_line: usize,
    lines: Vec<Line>,
    tags: Vec<TagAt>,
    math: Vec<Range<usize>>,
    code_blocks: Vec<Range<usize>>,
    /// Code, math, comments and review comments, merged: no card syntax in there.
    opaque: Vec<Range<usize>>,
    /// Comments and review comments: cut out of card text.
    cut: Vec<Range<usize>>,
    comments: Vec<Range<usize>>,
    reviews: Vec<Range<usize>>,
    diagnostics: Vec<Diagnostic>,
}

/// The note's tags (flashcard or not) and math spans, in order.
fn tags_and_math(note: &ParsedNote, settings: &CardSettings) -> (Vec<TagAt>, Vec<Range<usize>>) {
    let mut tags = Vec::new();
    let mut math = Vec::new();
    let mut visit = |node: &Node| match node {
        Node::Tag(t) => tags.push(TagAt {
            range: t.range.clone(),
            deck: flashcard_deck(&t.name, settings),
        }),
        Node::Math(m) => math.push(m.range.clone()),
        _ => {}
    };
    for node in &note.nodes {
        if let Node::CalloutStart(callout) = node {
            callout.title.iter().for_each(&mut visit);
        } else {
            visit(node);
        }
    }
    tags.sort_by_key(|t| t.range.start);
    math.sort_by_key(|r| r.start);
    (tags, math)
}

/// The deck of `tag` (with or without `#`) when it is one of the flashcard tags or is
/// nested under one.
fn flashcard_deck(tag: &str, settings: &CardSettings) -> Option<Vec<String>> {
    let tag = tag.trim().trim_start_matches('#');
    let lower = tag.to_lowercase();
    settings.tags.iter().find_map(|t| {
        let t = t.trim().trim_start_matches('#').to_lowercase();
        let nested = lower
            .strip_prefix(t.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        (!t.is_empty() && nested).then(|| {
            tag.split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
    })
}

static REVIEW_COMMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<!--SR:[^>]*-->").unwrap_or_else(|_| unreachable!("constant regex"))
});

static CALLOUT_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[ \t]{0,3}>[ \t>]*\[!([A-Za-z0-9_-]+)\][+-]?[ \t]*")
        .unwrap_or_else(|_| unreachable!("constant regex"))
});

impl<'a> Ctx<'a> {
    fn new(
        note: &'a ParsedNote,
        body_start: usize,
        tags: Vec<TagAt>,
        math: Vec<Range<usize>>,
    ) -> Self {
        let text = note.text.as_str();
        let body_start = body_start.min(text.len());
        let base_line = text[..body_start].bytes().filter(|&b| b == b'\n').count() + 1;
        let (code_blocks, code_spans) = code_ranges(text, body_start);
        let mut ctx = Ctx {
            note,
            text,
            base_line,
            lines: Vec::new(),
            tags,
            math,
            code_blocks,
            opaque: Vec::new(),
            cut: Vec::new(),
            comments: Vec::new(),
            reviews: Vec::new(),
            diagnostics: Vec::new(),
        };
        let mut code_and_math: Vec<Range<usize>> = ctx.code_blocks.clone();
        code_and_math.extend(code_spans);
        code_and_math.extend(ctx.math.iter().cloned());
        let code_and_math = merge(code_and_math);
        ctx.find_comments(body_start, &code_and_math);
        let mut opaque = code_and_math;
        opaque.extend(ctx.comments.iter().cloned());
        opaque.extend(ctx.reviews.iter().cloned());
        ctx.opaque = merge(opaque);
        let mut cut = ctx.comments.clone();
        cut.extend(ctx.reviews.iter().cloned());
        cut.sort_by_key(|r| r.start);
        ctx.cut = cut;
        ctx.lines = ctx.split_lines(body_start);
        ctx
    }

    fn warn(&mut self, range: Range<usize>, message: &str, hint: &str) {
        self.diagnostics
            .push(Diagnostic::warning(&self.note.path, self.text, range, message).with_hint(hint));
    }

    /// `%%comments%%`, `<!-- comments -->` and review comments outside code and math.
    fn find_comments(&mut self, from: usize, skip: &[Range<usize>]) {
        let text = self.text;
        let len = text.len();
        let mut p = from;
        while p < len {
            if let Some(end) = end_of(skip, p) {
                p = end;
                continue;
            }
            let rest = &text[p..];
            if let Some(escaped) = rest.strip_prefix('\\') {
                p += 1 + escaped.chars().next().map_or(0, char::len_utf8);
            } else if rest.starts_with("%%") {
                let end = text[p + 2..].find("%%").map_or(len, |k| p + 2 + k + 2);
                self.comments.push(p..end);
                p = end;
            } else if rest.starts_with("<!--SR:") {
                let line_end = rest.find('\n').map_or(len, |k| p + k);
                match text[p..line_end].find("-->") {
                    Some(k) => {
                        self.reviews.push(p..p + k + 3);
                        p += k + 3;
                    }
                    None => {
                        self.warn(
                            p..line_end,
                            "unclosed review comment",
                            "close it with `-->` on the same line; it was ignored",
                        );
                        self.comments.push(p..line_end);
                        p = line_end;
                    }
                }
            } else if rest.starts_with("<!--") {
                let end = text[p + 4..].find("-->").map_or(len, |k| p + 4 + k + 3);
                self.comments.push(p..end);
                p = end;
            } else {
                p += rest.chars().next().map_or(1, char::len_utf8);
            }
        }
    }

    fn split_lines(&mut self, body_start: usize) -> Vec<Line> {
        let text = self.text;
        let mut lines = Vec::new();
        let mut pos = body_start;
        for raw in text[body_start..].split_inclusive('\n') {
            let start = pos;
            pos += raw.len();
            let end = start + raw.trim_end_matches(['\n', '\r']).len();
            let unquoted = start + quote_prefix(&text[start..end]);
            let mut line = Line {
                start,
                end,
                unquoted,
                quoted: unquoted > start,
                kind: Kind::Text,
                tag_only: false,
                inline: None,
            };
            line.kind = self.classify(&line);
            if line.kind == Kind::Text {
                line.tag_only = self.is_tag_only(&line);
                if !line.tag_only {
                    line.inline = self.inline_separator(line.unquoted, line.end);
                }
            }
            lines.push(line);
        }
        lines
    }

    fn classify(&self, line: &Line) -> Kind {
        let text = self.text;
        let (start, end) = (line.start, line.end);
        let raw = &text[start..end];
        if self
            .code_blocks
            .iter()
            .any(|r| r.start < end + 1 && start < r.end)
        {
            return Kind::Code;
        }
        let touches_comment = self
            .comments
            .iter()
            .any(|r| r.start <= end && start < r.end);
        if raw.trim().is_empty() {
            if touches_comment && inside(&self.comments, start) {
                return Kind::Hidden;
            }
            if inside_strictly(&self.math, start) {
                return Kind::Text;
            }
            return Kind::Blank;
        }
        let visible = self.render(line.unquoted..end, &self.comments, &[]);
        if touches_comment && visible.trim().is_empty() {
            return Kind::Hidden;
        }
        let first = line.unquoted
            + (text[line.unquoted..end].len() - text[line.unquoted..end].trim_start().len());
        if let Some(r) = self.reviews.iter().find(|r| r.start == first)
            && r.end <= end
            && text[r.end..end].trim().is_empty()
        {
            return Kind::Review(r.clone());
        }
        if is_heading(&text[line.unquoted..end]) {
            return Kind::Heading;
        }
        let trimmed = visible.trim();
        if (trimmed == "?" || trimmed == "??") && !inside_strictly(&self.math, start) {
            return Kind::Separator {
                reversed: trimmed == "??",
            };
        }
        if let Some(caps) = CALLOUT_LINE.captures(raw)
            && let (Some(all), Some(kind)) = (caps.get(0), caps.get(1))
        {
            return Kind::Callout {
                written: kind.as_str().to_string(),
                title: start + all.end(),
            };
        }
        Kind::Text
    }

    /// Only tags on the line, one of them a flashcard tag.
    fn is_tag_only(&self, line: &Line) -> bool {
        let on_line: Vec<&TagAt> = self
            .tags
            .iter()
            .filter(|t| t.range.start >= line.start && t.range.end <= line.end)
            .collect();
        if !on_line.iter().any(|t| t.deck.is_some()) {
            return false;
        }
        let mut cut: Vec<Range<usize>> = on_line.iter().map(|t| t.range.clone()).collect();
        cut.extend(self.cut.iter().cloned());
        cut.sort_by_key(|r| r.start);
        self.render(line.unquoted..line.end, &cut, &[])
            .trim()
            .is_empty()
    }

    /// The first `:::` of `from..end` outside code, math, comments and Anki clozes, else
    /// its first `::`: offset and length.
    fn inline_separator(&self, from: usize, end: usize) -> Option<(usize, usize)> {
        let text = self.text;
        let bytes = text.as_bytes();
        let mut double = None;
        let mut p = from;
        while p < end {
            if let Some(e) = end_of(&self.opaque, p) {
                p = e;
                continue;
            }
            match bytes[p] {
                b'\\' => p += 1 + text[p + 1..].chars().next().map_or(0, char::len_utf8),
                b'{' => match self.anki_at(p, end) {
                    Some(d) => p = d.range.end,
                    None => p += 1,
                },
                b':' if text[p..end].starts_with(":::") => return Some((p, 3)),
                b':' if text[p..end].starts_with("::") => {
                    double.get_or_insert(p);
                    p += 2;
                }
                _ => p += text[p..].chars().next().map_or(1, char::len_utf8),
            }
        }
        double.map(|p| (p, 2))
    }

    /// `{{cN::answer}}` or `{{cN::answer::hint}}` starting at `p`, on one line.
    fn anki_at(&self, p: usize, end: usize) -> Option<RawDeletion> {
        let text = self.text;
        let rest = text[p..end].strip_prefix("{{c")?;
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 || !rest[digits..].starts_with("::") {
            return None;
        }
        let number: Option<u32> = rest[..digits].parse().ok();
        let inner_start = p + 3 + digits + 2;
        let close = self.find_outside(inner_start, end, "}}")?;
        let hint_at = self.find_outside(inner_start, close, "::");
        let (answer, hint) = match hint_at {
            Some(h) => (&text[inner_start..h], Some(&text[h + 2..close])),
            None => (&text[inner_start..close], None),
        };
        Some(RawDeletion {
            range: p..close + 2,
            number,
            answer: answer.trim().to_string(),
            hint: hint
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map(str::to_string),
        })
    }

    /// The first `needle` in `from..end` outside code, math and comments.
    fn find_outside(&self, from: usize, end: usize, needle: &str) -> Option<usize> {
        let text = self.text;
        let mut p = from;
        while p < end {
            if let Some(e) = end_of(&self.opaque, p) {
                p = e;
                continue;
            }
            if text[p..end].starts_with(needle) {
                return Some(p);
            }
            p += text[p..].chars().next().map_or(1, char::len_utf8);
        }
        None
    }

    /// The cloze deletions in `from..end` (one line).
    fn deletions(&mut self, from: usize, end: usize) -> Vec<RawDeletion> {
        let text = self.text;
        let bytes = text.as_bytes();
        let mut found = Vec::new();
        let mut p = from;
        while p < end {
            if let Some(e) = end_of(&self.opaque, p) {
                p = e;
                continue;
            }
            match bytes[p] {
                b'\\' => p += 1 + text[p + 1..].chars().next().map_or(0, char::len_utf8),
                b'{' => match self.anki_at(p, end) {
                    Some(d) => {
                        p = d.range.end;
                        if !d.answer.is_empty() {
                            found.push(d);
                        }
                    }
                    None => p += 1,
                },
                b'=' if text[p..end].starts_with("==") => p = self.highlight(p, end, &mut found),
                _ => p += text[p..].chars().next().map_or(1, char::len_utf8),
            }
        }
        for d in &mut found {
            if d.number == Some(0) {
                d.number = None;
                self.diagnostics.push(
                    Diagnostic::warning(
                        &self.note.path,
                        self.text,
                        d.range.clone(),
                        "cloze number 0",
                    )
                    .with_hint("number clozes from 1; this one is asked on its own"),
                );
            }
        }
        found
    }

    /// A `==highlight==` opening at `p` (the rules of the note parser: not `===`, no
    /// space inside the marks, closed on the same line). Returns where to go on.
    fn highlight(&self, p: usize, end: usize, found: &mut Vec<RawDeletion>) -> usize {
        let text = self.text;
        let bytes = text.as_bytes();
        let run = bytes[p..end].iter().take_while(|&&b| b == b'=').count();
        if run > 2 || (p > 0 && bytes[p - 1] == b'=') {
            return p + run;
        }
        let open_end = p + 2;
        if open_end >= end || bytes[open_end].is_ascii_whitespace() {
            return open_end;
        }
        let mut q = open_end;
        while q < end {
            if let Some(e) = end_of(&self.opaque, q) {
                q = e;
                continue;
            }
            match bytes[q] {
                b'\\' => q += 1 + text[q + 1..].chars().next().map_or(0, char::len_utf8),
                b'=' => {
                    let run = bytes[q..end].iter().take_while(|&&b| b == b'=').count();
                    let before = bytes[q - 1];
                    if run == 2 && q > open_end && before != b' ' && before != b'\t' {
                        if let Some(d) = highlight_deletion(&text[open_end..q], p..q + 2) {
                            found.push(d);
                        }
                        return q + 2;
                    }
                    q += run;
                }
                _ => q += text[q..].chars().next().map_or(1, char::len_utf8),
            }
        }
        open_end
    }

    /// `text[range]` without the `cut` ranges, with each `replace` range replaced.
    fn render(
        &self,
        range: Range<usize>,
        cut: &[Range<usize>],
        replace: &[(Range<usize>, String)],
    ) -> String {
        let mut spans: Vec<(Range<usize>, Option<&str>)> = cut
            .iter()
            .filter(|r| r.start < range.end && range.start < r.end)
            .map(|r| (r.clone(), None))
            .collect();
        spans.extend(
            replace
                .iter()
                .filter(|(r, _)| r.start < range.end && range.start <= r.start)
                .map(|(r, s)| (r.clone(), Some(s.as_str()))),
        );
        spans.sort_by_key(|(r, _)| r.start);
        let mut out = String::new();
        let mut p = range.start;
        for (r, with) in spans {
            if r.end <= p {
                continue;
            }
            let a = r.start.max(p);
            out.push_str(&self.text[p..a]);
            if let Some(s) = with {
                out.push_str(s);
            }
            p = r.end.min(range.end);
        }
        if p < range.end {
            out.push_str(&self.text[p..range.end]);
        }
        out
    }

    /// The text of `lines`, the first from `first_start`, the others without their `>`
    /// markers when `quoted`; comments cut, `replace` applied, each line right-trimmed.
    fn text_of(
        &self,
        lines: &[usize],
        first_start: usize,
        quoted: bool,
        replace: &[(Range<usize>, String)],
    ) -> String {
        let mut out = String::new();
        for (n, &k) in lines.iter().enumerate() {
            let line = &self.lines[k];
            let from = match (n, quoted) {
                (0, _) => first_start.min(line.end),
                (_, true) => line.unquoted,
                (_, false) => line.start,
            };
            if n > 0 {
                out.push('\n');
            }
            out.push_str(self.render(from..line.end, &self.cut, replace).trim_end());
        }
        out.trim().to_string()
    }

    /// Skips flashcard tags at `pos` (and the spaces before them): where the text starts
    /// after them, and the first one's deck.
    fn skip_card_tags(&self, pos: usize, limit: usize) -> (usize, Option<Vec<String>>) {
        let mut p = pos;
        let mut deck = None;
        loop {
            let rest = &self.text[p..limit.max(p)];
            let at = p + (rest.len() - rest.trim_start().len());
            let Some(tag) = self
                .tags
                .iter()
                .find(|t| t.range.start == at && t.deck.is_some())
            else {
                break;
            };
            if deck.is_none() {
                deck.clone_from(&tag.deck);
            }
            p = tag.range.end;
        }
        if deck.is_some() {
            (p, deck)
        } else {
            (pos, None)
        }
    }

    /// Where a block's text starts: after a callout's marker, after `>` markers, after
    /// a card's own tags. Also the callout's type.
    fn block_start(&self, first: usize) -> (usize, Option<String>, Option<Vec<String>>) {
        let line = &self.lines[first];
        let (start, callout) = match &line.kind {
            Kind::Callout { written, title } => (*title, Some(written.clone())),
            _ => (line.unquoted, None),
        };
        let (start, deck) = self.skip_card_tags(start, line.end);
        (start, callout, deck)
    }

    /// The review comment of a question: the one given, else the first inside its range.
    fn review_of(
        &mut self,
        given: Option<Range<usize>>,
        range: &Range<usize>,
    ) -> Option<Range<usize>> {
        let inside: Vec<Range<usize>> = self
            .reviews
            .iter()
            .filter(|r| r.start >= range.start && r.end <= range.end)
            .cloned()
            .collect();
        let review = given.or_else(|| inside.first().cloned());
        if let Some(extra) = inside.iter().find(|r| Some(*r) != review.as_ref()) {
            self.warn(
                extra.clone(),
                "a flashcard with two review comments",
                "keep one review comment per card; the first one is used",
            );
        }
        review
    }

    // -----------------------------------------------------------------------------------
    // The grammar.

    fn questions(&mut self) -> Vec<Question> {
        let mut questions: Vec<Question> = Vec::new();
        let mut block: Vec<usize> = Vec::new();
        let n = self.lines.len();
        let mut i = 0;
        while i < n {
            match self.lines[i].kind.clone() {
                Kind::Hidden => {}
                Kind::Blank | Kind::Heading => self.finish_block(&mut block, None, &mut questions),
                Kind::Review(range) => {
                    if !block.is_empty() {
                        self.finish_block(&mut block, Some(i), &mut questions);
                    } else if let Some(q) = questions
                        .last_mut()
                        .filter(|q| q.last + 1 == i && q.review.is_none())
                    {
                        q.last = i;
                        q.range.end = self.lines[i].end;
                        q.review = Some(range);
                    } else {
                        self.unattached(range);
                    }
                }
                Kind::Callout { .. } => {
                    self.finish_block(&mut block, None, &mut questions);
                    block.push(i);
                }
                Kind::Separator { reversed } => {
                    if block.is_empty() {
                        let line = &self.lines[i];
                        self.warn(
                            line.start..line.end,
                            "`?` with no question above it",
                            "write the question on the lines right above the `?` line",
                        );
                    } else {
                        let front = std::mem::take(&mut block);
                        i = self.multi_line(&front, i, reversed, &mut questions);
                        continue;
                    }
                }
                Kind::Code => block.push(i),
                Kind::Text => {
                    let line = &self.lines[i];
                    if let Some((at, len)) = line.inline {
                        self.finish_block(&mut block, None, &mut questions);
                        i = self.single_line(i, at, len, &mut questions);
                        continue;
                    }
                    if !(block.is_empty() && line.tag_only) {
                        block.push(i);
                    }
                }
            }
            i += 1;
        }
        self.finish_block(&mut block, None, &mut questions);
        questions
    }

    fn unattached(&mut self, range: Range<usize>) {
        self.warn(
            range,
            "review comment belongs to no flashcard",
            "a review comment goes at the end of its card or on the line right after it",
        );
    }

    /// `question::answer` (or `:::`) on line `i`. Returns the next line to read.
    fn single_line(&mut self, i: usize, at: usize, len: usize, out: &mut Vec<Question>) -> usize {
        let line = self.lines[i].clone();
        let (start, deck) = self.skip_card_tags(line.unquoted, at);
        let front = self.render(start..at, &self.cut, &[]).trim().to_string();
        let back = self
            .render(at + len..line.end, &self.cut, &[])
            .trim()
            .to_string();
        let mut last = i;
        let mut given = None;
        if !self
            .reviews
            .iter()
            .any(|r| r.start >= line.start && r.end <= line.end)
            && let Some(Kind::Review(r)) = self.lines.get(i + 1).map(|l| &l.kind)
        {
            given = Some(r.clone());
            last = i + 1;
        }
        let separator = &self.text[at..at + len];
        if front.is_empty() || back.is_empty() {
            let (message, hint) = if front.is_empty() {
                (
                    format!("flashcard with no question before `{separator}`"),
                    "write the question before the separator",
                )
            } else {
                (
                    format!("flashcard with no answer after `{separator}`"),
                    "write the answer after the separator",
                )
            };
            self.warn(at..at + len, &message, hint);
            return last + 1;
        }
        let range = line.start..self.lines[last].end;
        let review = self.review_of(given, &range);
        let key = format!("{}\u{1f}{}", normalise(&front), normalise(&back));
        let mut sides = vec![Side {
            kind: CardKind::Basic,
            sibling: 0,
            key: format!("0\u{1f}{key}"),
            front: front.clone(),
            back: back.clone(),
            cloze: None,
        }];
        if len == 3 {
            sides.push(Side {
                kind: CardKind::Reversed,
                sibling: 1,
                key: format!("1\u{1f}{key}"),
                front: back,
                back: front,
                cloze: None,
            });
        }
        out.push(Question {
            first: i,
            last,
            range,
            deck,
            review,
            callout: None,
            prompts: Vec::new(),
            prompts_range: None,
            sides,
        });
        last + 1
    }

    /// A multi-line card: `front` lines, the separator at `sep`. Returns the next line.
    fn multi_line(
        &mut self,
        front_lines: &[usize],
        sep: usize,
        reversed: bool,
        out: &mut Vec<Question>,
    ) -> usize {
        let n = self.lines.len();
        let first = front_lines[0];
        let quoted = self.lines[first].quoted;
        let (start, callout, deck) = self.block_start(first);
        let mut back_lines = Vec::new();
        let mut j = sep + 1;
        while j < n {
            match &self.lines[j].kind {
                Kind::Blank | Kind::Heading | Kind::Callout { .. } | Kind::Review(_) => break,
                Kind::Hidden => {}
                Kind::Separator { .. } => {
                    let line = &self.lines[j];
                    let range = line.start..line.end;
                    self.warn(
                        range,
                        "a second `?` line inside one flashcard",
                        "separate cards with a blank line; this line was kept in the answer",
                    );
                    back_lines.push(j);
                }
                _ => back_lines.push(j),
            }
            j += 1;
        }
        let sep_range = self.lines[sep].start..self.lines[sep].end;
        let Some(&back_last) = back_lines.last() else {
            self.warn(
                sep_range,
                "`?` with no answer below it",
                "write the answer on the lines right below the `?` line",
            );
            return sep + 1;
        };
        let mut last = back_last;
        let mut given = None;
        if let Some(Kind::Review(r)) = self.lines.get(j).map(|l| &l.kind) {
            given = Some(r.clone());
            last = j;
            j += 1;
        }
        let front = self.text_of(front_lines, start, quoted, &[]);
        let back_start = self.lines[back_lines[0]].start;
        let back_start = if quoted {
            self.lines[back_lines[0]].unquoted
        } else {
            back_start
        };
        let back = self.text_of(&back_lines, back_start, quoted, &[]);
        if front.is_empty() {
            self.warn(
                sep_range,
                "flashcard with an empty question",
                "write the question (or the callout's title) above the `?` line",
            );
            return j;
        }
        let range = self.lines[first].start..self.lines[last].end;
        let review = self.review_of(given, &range);
        let (prompts, prompts_range, next) = self.prompts_after(j, &back);
        let key = format!("{}\u{1f}{}", normalise(&front), normalise(&back));
        let mut sides = vec![Side {
            kind: CardKind::Basic,
            sibling: 0,
            key: format!("0\u{1f}{key}"),
            front: front.clone(),
            back: back.clone(),
            cloze: None,
        }];
        if reversed {
            sides.push(Side {
                kind: CardKind::Reversed,
                sibling: 1,
                key: format!("1\u{1f}{key}"),
                front: back,
                back: front,
                cloze: None,
            });
        }
        out.push(Question {
            first,
            last,
            range,
            deck,
            review,
            callout,
            prompts,
            prompts_range,
            sides,
        });
        next
    }

    /// Fill-in prompt lines from line `j` on (after blank lines): their text, range and
    /// the next line to read (`j` when there are none).
    fn prompts_after(
        &mut self,
        j: usize,
        back: &str,
    ) -> (Vec<String>, Option<Range<usize>>, usize) {
        let n = self.lines.len();
        let none = (Vec::new(), None, j);
        let mut k = j;
        while k < n && matches!(self.lines[k].kind, Kind::Blank | Kind::Hidden) {
            k += 1;
        }
        let mut taken = Vec::new();
        while k < n {
            let line = &self.lines[k];
            match line.kind {
                Kind::Text if !line.tag_only && line.inline.is_none() => taken.push(k),
                Kind::Hidden => {}
                _ => break,
            }
            k += 1;
        }
        if taken.is_empty()
            || matches!(
                self.lines.get(k).map(|l| &l.kind),
                Some(Kind::Separator { .. })
            )
        {
            return none;
        }
        let back_lines: Vec<&str> = back.lines().map(str::trim).collect();
        let mut prompts = Vec::new();
        for &t in &taken {
            let line = self.lines[t].clone();
            if !self.deletions(line.unquoted, line.end).is_empty() {
                return none;
            }
            let prompt = self
                .render(line.unquoted..line.end, &self.cut, &[])
                .trim()
                .to_string();
            if !is_fill_in(&prompt, &back_lines) {
                return none;
            }
            prompts.push(prompt);
        }
        let (Some(&a), Some(&b)) = (taken.first(), taken.last()) else {
            return none;
        };
        let range = self.lines[a].start..self.lines[b].end;
        (prompts, Some(range), k)
    }

    /// A paragraph that is no other card: a cloze card when it holds deletions.
    /// `review`: the index of a review comment line right after it.
    fn finish_block(
        &mut self,
        block: &mut Vec<usize>,
        review: Option<usize>,
        out: &mut Vec<Question>,
    ) {
        let lines = std::mem::take(block);
        let given = review.and_then(|k| match &self.lines[k].kind {
            Kind::Review(r) => Some(r.clone()),
            _ => None,
        });
        let (Some(&first), Some(&block_last)) = (lines.first(), lines.last()) else {
            if let Some(r) = given {
                self.unattached(r);
            }
            return;
        };
        let (start, callout, deck) = self.block_start(first);
        let quoted = self.lines[first].quoted;
        let mut found = Vec::new();
        for &k in &lines {
            let line = self.lines[k].clone();
            if line.kind == Kind::Code {
                continue;
            }
            let from = if k == first { start } else { line.unquoted };
            found.extend(self.deletions(from, line.end));
        }
        if found.is_empty() {
            if let Some(r) = given {
                self.unattached(r);
            }
            return;
        }
        let last = review.unwrap_or(block_last);
        let range = self.lines[first].start..self.lines[last].end;
        let review = self.review_of(given, &range);
        let source = normalise(&self.text_of(&lines, start, quoted, &[]));
        let sides = cloze_sides(&found)
            .into_iter()
            .map(|(number, sibling, asked, tag)| {
                let deletions: Vec<Deletion> = found
                    .iter()
                    .enumerate()
                    .map(|(k, d)| Deletion {
                        number: d.number,
                        answer: d.answer.clone(),
                        hint: d.hint.clone(),
                        asked: asked.contains(&k),
                        range: d.range.clone(),
                    })
                    .collect();
                let front_repl: Vec<(Range<usize>, String)> = deletions
                    .iter()
                    .map(|d| {
                        let shown = match (d.asked, &d.hint) {
                            (true, Some(h)) => format!("==[{h}]=="),
                            (true, None) => "==[...]==".to_string(),
                            (false, _) => d.answer.clone(),
                        };
                        (d.range.clone(), shown)
                    })
                    .collect();
                let back_repl: Vec<(Range<usize>, String)> = deletions
                    .iter()
                    .map(|d| {
                        let shown = if d.asked {
                            format!("=={}==", d.answer)
                        } else {
                            d.answer.clone()
                        };
                        (d.range.clone(), shown)
                    })
                    .collect();
                Side {
                    kind: CardKind::Cloze,
                    sibling,
                    key: format!("{tag}\u{1f}{source}"),
                    front: self.text_of(&lines, start, quoted, &front_repl),
                    back: self.text_of(&lines, start, quoted, &back_repl),
                    cloze: Some(Cloze { number, deletions }),
                }
            })
            .collect();
        out.push(Question {
            first,
            last,
            range,
            deck,
            review,
            callout,
            prompts: Vec::new(),
            prompts_range: None,
            sides,
        });
    }

    // -----------------------------------------------------------------------------------
    // Questions → cards.

    fn expand(
        &mut self,
        questions: Vec<Question>,
        front_deck: Option<Vec<String>>,
        settings: &CardSettings,
    ) -> Vec<Card> {
        // Flashcard tags outside every card (and its prompts) set the deck of the cards after them.
        let outside = |r: &Range<usize>| {
            !questions.iter().any(|q| {
                (q.range.start <= r.start && r.end <= q.range.end)
                    || q.prompts_range
                        .as_ref()
                        .is_some_and(|p| p.start <= r.start && r.end <= p.end)
            })
        };
        let deck_tags: Vec<(usize, usize, Vec<String>)> = self
            .tags
            .iter()
            .filter(|t| outside(&t.range))
            .filter_map(|t| {
                let line_start = self.text[..t.range.start].rfind('\n').map_or(0, |k| k + 1);
                t.deck.clone().map(|d| (t.range.start, line_start, d))
            })
            .collect();
        let fallback: Vec<String> = front_deck
            .clone()
            .or_else(|| deck_tags.first().map(|t| t.2.clone()))
            .or_else(|| self.tags.iter().find_map(|t| t.deck.clone()))
            .or_else(|| {
                settings
                    .tags
                    .first()
                    .and_then(|t| flashcard_deck(t, settings))
            })
            .unwrap_or_default();
        let mut cards = Vec::new();
        // Ids given so far: a card written twice in a note gets a second id (its text
        // and its occurrence), and a warning.
        let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for q in questions {
            let deck = q.deck.clone().unwrap_or_else(|| {
                deck_tags
                    .iter()
                    .rev()
                    .find(|t| t.0 < q.range.start)
                    .and_then(|last| deck_tags.iter().find(|t| t.1 == last.1))
                    .map(|t| t.2.clone())
                    .or_else(|| front_deck.clone())
                    .unwrap_or_else(|| fallback.clone())
            });
            let schedules = match q.review.clone() {
                Some(r) => self.schedules(r),
                None => Vec::new(),
            };
            let line = self.base_line + q.first;
            let mut warned = false;
            for side in q.sides {
                let prompts_here = side.sibling == 0 && side.kind == CardKind::Basic;
                let mut id = card_id(&self.note.path, &side.key);
                let seen_before = seen.entry(id.clone()).or_insert(0);
                *seen_before += 1;
                if *seen_before > 1 {
                    id = card_id(&self.note.path, &format!("{}\0{}", side.key, seen_before));
                    if !warned {
                        warned = true;
                        self.warn(
                            q.range.clone(),
                            "this flashcard repeats one written earlier in the note",
                            "both are kept, as separate cards; delete one of them if that was not meant",
                        );
                    }
                }
                cards.push(Card {
                    id,
                    note: self.note.path.clone(),
                    line,
                    range: q.range.clone(),
                    kind: side.kind,
                    sibling: side.sibling,
                    deck: deck.clone(),
                    front: side.front,
                    back: side.back,
                    callout: q.callout.clone(),
                    prompts: if prompts_here {
                        q.prompts.clone()
                    } else {
                        Vec::new()
                    },
                    prompts_range: if prompts_here {
                        q.prompts_range.clone()
                    } else {
                        None
                    },
                    cloze: side.cloze,
                    schedule: schedules.get(side.sibling).cloned().flatten(),
                });
            }
        }
        cards
    }

    /// The schedules of a review comment, one slot per sibling.
    fn schedules(&mut self, range: Range<usize>) -> Vec<Option<Schedule>> {
        let comment = &self.text[range.clone()];
        let inner = comment
            .strip_prefix("<!--SR:")
            .and_then(|c| c.strip_suffix("-->"))
            .unwrap_or("");
        let mut out = Vec::new();
        for entry in review_entries(inner) {
            match entry {
                Ok(s) => out.push(s),
                Err(why) => {
                    self.warn(
                        range.clone(),
                        &format!("unreadable review comment: {why}"),
                        "it should read `<!--SR:!YYYY-MM-DD,interval,ease-->`, one `!` entry per card; the entry was ignored",
                    );
                    out.push(None);
                }
            }
        }
        out
    }
}

/// Splits `==content==` into a deletion: `N;;answer;;hint`, `N;;answer`, `answer;;hint`,
/// `answer`.
fn highlight_deletion(content: &str, range: Range<usize>) -> Option<RawDeletion> {
    let (number, rest) = match content.split_once(";;") {
        Some((n, rest)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            match n.parse::<u32>() {
                Ok(n) => (Some(n), rest),
                Err(_) => (None, content),
            }
        }
        _ => (None, content),
    };
    let (answer, hint) = match rest.split_once(";;") {
        Some((a, h)) => (a, Some(h.trim()).filter(|h| !h.is_empty())),
        None => (rest, None),
    };
    let answer = answer.trim();
    (!answer.is_empty()).then(|| RawDeletion {
        range,
        number,
        answer: answer.to_string(),
        hint: hint.map(str::to_string),
    })
}

/// The cards of a cloze text: (number, sibling index, indices of the asked deletions, id tag).
/// Numbered ones first, by number (sibling = number − 1, as the plugin counts them), then
/// each un-numbered deletion on its own.
fn cloze_sides(found: &[RawDeletion]) -> Vec<(Option<u32>, usize, Vec<usize>, String)> {
    let numbers: BTreeSet<u32> = found.iter().filter_map(|d| d.number).collect();
    let highest = numbers.last().map_or(0, |&n| n as usize);
    let mut sides: Vec<(Option<u32>, usize, Vec<usize>, String)> = numbers
        .iter()
        .map(|&n| {
            let asked = (0..found.len())
                .filter(|&k| found[k].number == Some(n))
                .collect();
            (
                Some(n),
                (n as usize).saturating_sub(1),
                asked,
                format!("c{n}"),
            )
        })
        .collect();
    let plain = (0..found.len()).filter(|&k| found[k].number.is_none());
    for (m, k) in plain.enumerate() {
        sides.push((None, highest + m, vec![k], format!("u{m}")));
    }
    sides
}

/// A prompt line: a placeholder `?` after `=` or `:` (at the end of the line or of its
/// math), or a label that starts one of the answer's lines.
fn is_fill_in(line: &str, back_lines: &[&str]) -> bool {
    let placeholder = line.char_indices().any(|(k, c)| {
        if c != '?' {
            return false;
        }
        let before = line[..k].trim_end().chars().last();
        let after = line[k + 1..].trim_start().chars().next();
        matches!(before, None | Some('=' | ':')) && matches!(after, None | Some('$'))
    });
    if placeholder {
        return true;
    }
    let label = line.trim_end_matches(|c: char| c == ':' || c.is_whitespace());
    label.chars().filter(|c| c.is_alphanumeric()).count() >= 2
        && back_lines
            .iter()
            .any(|b| b.len() > label.len() && b.starts_with(label))
}

/// The entries of a review comment's inside (`!2024-08-05,3,250!...`, or the legacy
/// `2024-08-05,3,250`): a schedule, `None` for a not-yet-reviewed sibling, or why the entry
/// cannot be read.
fn review_entries(inner: &str) -> Vec<Result<Option<Schedule>, String>> {
    let inner = inner.trim();
    if !inner.starts_with('!') {
        return vec![schedule_entry(inner)];
    }
    inner
        .split('!')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(schedule_entry)
        .collect()
}

/// The plugin's placeholder due date for a sibling never reviewed.
const NEW_CARD_DUE: &str = "2000-01-01";

fn schedule_entry(entry: &str) -> Result<Option<Schedule>, String> {
    let fields: Vec<&str> = entry.split(',').map(str::trim).collect();
    if fields.first() == Some(&"fsrs") {
        if fields.len() < 10 {
            return Err(format!(
                "`{entry}` has {} fields, FSRS needs 10 (fsrs,due,interval,stability,difficulty,state,reps,lapses,learning_steps,last_review)",
                fields.len()
            ));
        }
        if fields[1] == "-" {
            return Ok(None);
        }
        let timestamp = |s: &str| -> Result<String, String> {
            if date_prefix(s) {
                Ok(s.to_string())
            } else {
                Err(format!("`{s}` is not a timestamp"))
            }
        };
        let real = |s: &str| -> Result<f64, String> {
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("`{s}` is not a number"))
        };
        return Ok(Some(Schedule::Fsrs {
            due: timestamp(fields[1])?,
            interval: real(fields[2])?,
            stability: real(fields[3])?,
            difficulty: real(fields[4])?,
            state: u8::try_from(whole(fields[5])?)
                .map_err(|_| format!("`{}` is not an FSRS state", fields[5]))?,
            reps: whole(fields[6])?,
            lapses: whole(fields[7])?,
            learning_steps: whole(fields[8])?,
            last_review: match fields[9] {
                "-" | "" => None,
                s => Some(timestamp(s)?),
            },
        }));
    }
    if fields.len() < 3 {
        return Err(format!("`{entry}` should be `YYYY-MM-DD,interval,ease`"));
    }
    let due = iso_date(fields[0]).ok_or_else(|| format!("`{}` is not a date", fields[0]))?;
    if due == NEW_CARD_DUE {
        return Ok(None);
    }
    Ok(Some(Schedule::Sm2 {
        due,
        interval: whole(fields[1])?,
        ease: whole(fields[2])?,
    }))
}

/// A non-negative whole number (a fractional one is rounded, as the plugin's
/// `parseInt` would accept it).
fn whole(s: &str) -> Result<u32, String> {
    if let Ok(v) = s.parse::<u32>() {
        return Ok(v);
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 && v <= f64::from(u32::MAX) => Ok(v.round() as u32),
        _ => Err(format!("`{s}` is not a whole number")),
    }
}

/// `YYYY-MM-DD` (or the plugin's other accepted form `DD-MM-YYYY`) as `YYYY-MM-DD`.
fn iso_date(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.split('-').collect();
    let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
    let (y, m, d) = match parts.as_slice() {
        [y, m, d] if digits(y, 4) && digits(m, 2) && digits(d, 2) => (*y, *m, *d),
        [d, m, y] if digits(d, 2) && digits(m, 2) && digits(y, 4) => (*y, *m, *d),
        _ => return None,
    };
    let month: u32 = m.parse().ok()?;
    let day: u32 = d.parse().ok()?;
    ((1..=12).contains(&month) && (1..=31).contains(&day)).then(|| format!("{y}-{m}-{d}"))
}

fn date_prefix(s: &str) -> bool {
    s.get(..10).and_then(iso_date).is_some()
}

/// Whitespace runs as one space, trimmed.
fn normalise(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// 16 hex digits of the 64-bit FNV-1a hash of `path`, a NUL and `key`.
fn card_id(path: &str, key: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in path.bytes().chain([0]).chain(key.bytes()) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Code blocks (fences included) and inline code spans of the body, as pulldown-cmark
/// finds them, in the note's coordinates.
fn code_ranges(text: &str, body_start: usize) -> (Vec<Range<usize>>, Vec<Range<usize>>) {
    let body = &text[body_start..];
    let mut blocks = Vec::new();
    let mut spans = Vec::new();
    let mut open: Option<usize> = None;
    for (event, range) in Parser::new_ext(body, parse::markdown_options()).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(_)) => open = Some(range.start),
            Event::End(TagEnd::CodeBlock) => {
                if let Some(start) = open.take() {
                    blocks.push(body_start + start..body_start + range.end);
                }
            }
            Event::Code(_) if open.is_none() => {
                spans.push(body_start + range.start..body_start + range.end);
            }
            _ => {}
        }
    }
    (blocks, spans)
}

/// Sorts and merges overlapping ranges.
fn merge(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_by_key(|r| r.start);
    let mut out: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start < last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// The end of the range of `sorted` (merged) holding `p`.
fn end_of(sorted: &[Range<usize>], p: usize) -> Option<usize> {
    let k = sorted.partition_point(|r| r.start <= p);
    let r = sorted.get(k.checked_sub(1)?)?;
    (p < r.end).then_some(r.end)
}

fn inside(ranges: &[Range<usize>], p: usize) -> bool {
    ranges.iter().any(|r| r.start <= p && p < r.end)
}

fn inside_strictly(ranges: &[Range<usize>], p: usize) -> bool {
    ranges.iter().any(|r| r.start < p && p < r.end)
}

/// Length of the `>` markers (and the spaces around them) opening a line; 0 outside a quote.
fn quote_prefix(line: &str) -> usize {
    let mut k = 0;
    loop {
        let rest = &line[k..];
        let trimmed = rest.trim_start_matches([' ', '\t']);
        match trimmed.strip_prefix('>') {
            Some(after) => {
                k = line.len() - after.len();
                if after.starts_with(' ') {
                    k += 1;
                }
            }
            None => return k,
        }
    }
}

/// An ATX heading: up to 3 spaces, 1 to 6 `#`, then a space or the end of the line.
fn is_heading(line: &str) -> bool {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return false;
    }
    let rest = &line[indent..];
    let hashes = rest.len() - rest.trim_start_matches('#').len();
    (1..=6).contains(&hashes) && matches!(rest[hashes..].chars().next(), None | Some(' ' | '\t'))
}

#[cfg(test)]
mod tests;
