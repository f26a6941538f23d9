//! The Obsidian layer under the markdown parser.
//!
//! Before pulldown-cmark sees a note, this scanner finds the constructs CommonMark does
//! not know — math, wikilinks and embeds, tags, highlights, block ids, `%%comments%%`
//! and review comments — and replaces each with an inert placeholder, so that no `_`
//! or `*` inside math can become emphasis and no `[[` can become a link reference.
//! Code (inline and blocks) and raw HTML are left alone. Every construct keeps the
//! byte range it had in the note's text, for diagnostics.

use std::ops::Range;

use crate::diagnostics::Diagnostic;

/// Opens a placeholder; the construct's index in [`Scan::items`] follows in decimal.
pub const OPEN: char = '\u{E000}';
/// Closes a placeholder.
pub const CLOSE: char = '\u{E001}';

/// A wikilink's fragment: `#Heading` or `#^block-id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fragment {
    Heading(String),
    Block(String),
}

/// One construct found by the scanner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Math {
        tex: String,
        display: bool,
    },
    /// `[[target#fragment|label]]`, or an embed `![[...]]` (then `label` holds its options).
    WikiLink {
        target: String,
        fragment: Option<Fragment>,
        label: Option<String>,
        embed: bool,
    },
    Tag(String),
    BlockAnchor(String),
    HighlightOpen,
    HighlightClose,
}

/// A construct and where it was in the note's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub item: Item,
    /// Byte range in the whole note (front matter included).
    pub range: Range<usize>,
}

/// The note's body with placeholders, and what they stand for.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub text: String,
    pub items: Vec<Located>,
    pub diagnostics: Vec<Diagnostic>,
    /// Where `text` came from: `(offset in text, offset in the body)` at the start of
    /// every copied chunk and placeholder, in order.
    pub map: Vec<(usize, usize)>,
}

impl Scan {
    /// The body offset that the offset `at` of the scanned text comes from.
    pub fn body_offset(&self, at: usize) -> usize {
        let k = self.map.partition_point(|&(t, _)| t <= at);
        match k.checked_sub(1).and_then(|k| self.map.get(k)) {
            Some(&(t, b)) => b + (at - t),
            None => at,
        }
    }
}

/// Scans `body` (which starts at byte `base` of the note `file` whose whole text is
/// `note_text`). `protect` lists byte ranges of `body` to copy untouched (code, raw
/// HTML), sorted; `drop` lists ranges to remove (review comments), sorted; `tables`
/// the ranges of the tables, sorted, where a formula ends with its cell.
pub fn scan(
    file: &str,
    note_text: &str,
    base: usize,
    body: &str,
    protect: &[Range<usize>],
    drop: &[Range<usize>],
    tables: &[Range<usize>],
) -> Scan {
    let mut s = Scanner {
        file,
        note_text,
        base,
        body,
        bytes: body.as_bytes(),
        out: Scan::default(),
        copied: 0,
        open_highlight: None,
        newline: Memo::default(),
        link_close: Memo::default(),
        highlight_mark: Memo::default(),
        math_unclosed: 0..0,
        tables,
    };
    s.run(protect, drop);
    s.out
}

struct Scanner<'a> {
    file: &'a str,
    note_text: &'a str,
    base: usize,
    body: &'a str,
    bytes: &'a [u8],
    out: Scan,
    /// Everything of `body` before this offset is already in `out.text`.
    copied: usize,
    /// Where the currently open `==highlight==` started (its line ends it otherwise).
    open_highlight: Option<usize>,
    /// The next `\n`, `]]` and `==`: each construct on a long line asks for them, and
    /// searching the line again each time made 200,000 wikilinks on one line quadratic.
    newline: Memo,
    link_close: Memo,
    highlight_mark: Memo,
    /// A `$` opening in this range has no closing `$` (the search from an earlier `$`
    /// went through it): `$a $a $a ...` is searched once, not once per `$`.
    math_unclosed: Range<usize>,
    /// The tables' ranges, sorted: in a table row a formula never runs past a `|` that
    /// ends its cell, nor past its line (as Obsidian splits the row first).
    tables: &'a [Range<usize>],
}

/// The answer to "where does a pattern next start, at or after this offset", kept: the
/// answer found searching from `from` holds for every offset up to it.
#[derive(Debug, Default)]
struct Memo {
    from: usize,
    /// `None` before the first search; `Some(None)` when the pattern is not in the rest.
    at: Option<Option<usize>>,
}

impl Memo {
    fn next(&mut self, text: &str, pattern: &str, from: usize) -> Option<usize> {
        if let Some(at) = self.at
            && self.from <= from
            && at.is_none_or(|a| from <= a)
        {
            return at;
        }
        let at = text.get(from..)?.find(pattern).map(|k| from + k);
        *self = Memo { from, at: Some(at) };
        at
    }
}

impl Scanner<'_> {
    fn run(&mut self, protect: &[Range<usize>], drop: &[Range<usize>]) {
        let n = self.bytes.len();
        let mut p = 0; // next protected range
        let mut d = 0; // next dropped range
        let mut i = 0;
        while i < n {
            while p < protect.len() && protect[p].end <= i {
                p += 1;
            }
            while d < drop.len() && drop[d].end <= i {
                d += 1;
            }
            if d < drop.len() && drop[d].start <= i {
                let range = whole_lines(self.body, drop[d].clone());
                self.flush(range.start.min(i));
                self.copied = range.end;
                i = range.end;
                continue;
            }
            if p < protect.len() && protect[p].start <= i {
                i = protect[p].end;
                continue;
            }
            let b = self.bytes[i];
            i = match b {
                b'\\' => self.escape(i),
                b'\n' => {
                    self.end_line_highlight(i);
                    i + 1
                }
                b'%' if self.at(i + 1) == Some(b'%') => self.comment(i),
                b'$' => self.math(i),
                b'!' if self.body[i..].starts_with("![[") => self.wikilink(i, true),
                b'[' if self.body[i..].starts_with("[[") => self.wikilink(i, false),
                b'#' => self.tag(i),
                b'=' if self.at(i + 1) == Some(b'=') => self.highlight(i),
                b'^' => self.block_anchor(i),
                _ => i + 1,
            };
        }
        self.end_line_highlight(n);
        self.flush(n);
    }

    /// The offset of the `\n` ending the line that holds `at` (the text's length on the
    /// last line).
    fn line_end(&mut self, at: usize) -> usize {
        self.newline
            .next(self.body, "\n", at)
            .unwrap_or(self.bytes.len())
    }

    /// Whether byte `i` of the body lies in a table.
    fn in_table(&self, i: usize) -> bool {
        let k = self.tables.partition_point(|r| r.start <= i);
        k > 0 && self.tables[k - 1].contains(&i)
    }

    fn at(&self, i: usize) -> Option<u8> {
        self.bytes.get(i).copied()
    }

    /// Copies `body[copied..upto]` to the output.
    fn flush(&mut self, upto: usize) {
        if upto > self.copied {
            self.out.map.push((self.out.text.len(), self.copied));
            let chunk = &self.body[self.copied..upto];
            // A placeholder character in the note itself must not be taken for ours.
            if chunk.contains([OPEN, CLOSE]) {
                self.out
                    .text
                    .push_str(&chunk.replace([OPEN, CLOSE], "\u{FFFD}"));
            } else {
                self.out.text.push_str(chunk);
            }
            self.copied = upto;
        }
    }

    /// Replaces `body[range]` with a placeholder for `item`.
    fn emit(&mut self, range: Range<usize>, item: Item) {
        self.flush(range.start);
        let index = self.out.items.len();
        self.out.map.push((self.out.text.len(), range.start));
        self.out.text.push(OPEN);
        self.out.text.push_str(&index.to_string());
        self.out.text.push(CLOSE);
        self.out.items.push(Located {
            item,
            range: self.base + range.start..self.base + range.end,
        });
        self.copied = range.end;
    }

    fn warn(&mut self, range: Range<usize>, message: &str, hint: &str) {
        let range = self.base + range.start..self.base + range.end;
        self.out
            .diagnostics
            .push(Diagnostic::warning(self.file, self.note_text, range, message).with_hint(hint));
    }

    /// `\$`, `\[`, `\#`... : the escaped character is never the start of a construct.
    fn escape(&self, i: usize) -> usize {
        match self.at(i + 1) {
            Some(c) if c.is_ascii_punctuation() => i + 2,
            _ => i + 1,
        }
    }

    /// `%%comment%%`, over any number of lines; unclosed, it runs to the end of the note.
    fn comment(&mut self, i: usize) -> usize {
        let end = self.body[i + 2..]
            .find("%%")
            .map_or(self.bytes.len(), |j| i + 2 + j + 2);
        let range = whole_lines(self.body, i..end);
        self.flush(range.start);
        self.copied = range.end;
        range.end
    }

    fn math(&mut self, i: usize) -> usize {
        if self.at(i + 1) == Some(b'$') {
            return self.display_math(i);
        }
        // Inline `$...$`: the opening `$` is not followed by a space, the closing one not
        // preceded by a space nor followed by a digit ("$5 and $6" is not math). A line
        // break next to either is allowed, as Obsidian allows it. A blank line ends the search.
        match self.at(i + 1) {
            None | Some(b' ' | b'\t' | b'$') => return i + 1,
            Some(b'\n' | b'\r') if self.blank_line_after(i + 1) => return i + 1,
            _ => {}
        }
        if self.math_unclosed.contains(&i) {
            return i + 1;
        }
        let in_table = self.in_table(i);
        let mut j = i + 1;
        while j < self.bytes.len() {
            match self.bytes[j] {
                b'\\' => j += 2,
                b'|' | b'\n' if in_table => {
                    self.math_unclosed = i..j;
                    return i + 1;
                }
                b'\n' => {
                    if self.blank_line_after(j) {
                        self.math_unclosed = i..j;
                        return i + 1;
                    }
                    j += 1;
                }
                b'$' => {
                    let before = self.bytes[j - 1];
                    let after = self.at(j + 1);
                    if j > i + 1
                        && before != b' '
                        && before != b'\t'
                        && !after.is_some_and(|c| c.is_ascii_digit())
                    {
                        let tex = self.unquote(i, &self.body[i + 1..j]);
                        let tex = if in_table { unescape_pipes(tex) } else { tex };
                        self.emit(
                            i..j + 1,
                            Item::Math {
                                tex,
                                display: false,
                            },
                        );
                        return j + 1;
                    }
                    j += 1;
                }
                _ => j += 1,
            }
        }
        self.math_unclosed = i..self.bytes.len();
        i + 1
    }

    fn display_math(&mut self, i: usize) -> usize {
        let in_table = self.in_table(i);
        // In a table, the formula ends with its cell.
        let limit = if in_table {
            cell_end(self.body, i + 2)
        } else {
            self.bytes.len()
        };
        let Some(k) = find_unescaped(&self.body[i + 2..limit], "$$") else {
            self.warn(
                i..i + 2,
                "unclosed `$$`: display math has no closing `$$`",
                "add the closing `$$`; the text was shown as written",
            );
            return i + 2;
        };
        let close = i + 2 + k;
        let raw = &self.body[i + 2..close];
        if raw.trim().is_empty() {
            return close + 2;
        }
        let tex = self.unquote(i, raw);
        let tex = if in_table { unescape_pipes(tex) } else { tex };
        self.emit(i..close + 2, Item::Math { tex, display: true });
        close + 2
    }

    /// Math spread over lines inside a blockquote or callout carries the `>` markers of
    /// its lines; they are not part of the TeX.
    fn unquote(&self, open: usize, raw: &str) -> String {
        // Only a formula over several lines can carry markers; looking for its line's
        // start first would make many formulas on one long line quadratic.
        if !raw.contains('\n') {
            return raw.to_string();
        }
        let line_start = self.body[..open].rfind('\n').map_or(0, |k| k + 1);
        let depth = quote_depth(&self.body[line_start..open]);
        if depth == 0 {
            return raw.to_string();
        }
        let mut out = String::with_capacity(raw.len());
        for (n, line) in raw.split_inclusive('\n').enumerate() {
            if n == 0 {
                out.push_str(line);
            } else {
                out.push_str(strip_quotes(line, depth));
            }
        }
        out
    }

    /// Is the line starting after the newline at `nl` blank (spaces and `>` only)?
    fn blank_line_after(&self, nl: usize) -> bool {
        let rest = &self.body[(nl + 1).min(self.body.len())..];
        let line = rest.split('\n').next().unwrap_or("");
        line.trim_matches(|c: char| c.is_whitespace() || c == '>')
            .is_empty()
    }

    fn wikilink(&mut self, i: usize, embed: bool) -> usize {
        let open = if embed { i + 3 } else { i + 2 };
        let line_end = self.line_end(open);
        let Some(k) = self
            .link_close
            .next(self.body, "]]", open)
            .filter(|&at| at < line_end)
            .map(|at| at - open)
        else {
            return open;
        };
        let mut k = k;
        if self.body[open..open + k].contains("[[") {
            // `[[note#Heading [[with link]]]]`: a link to a heading that holds a link,
            // as Obsidian writes it. Its `]]` is the one that closes the outer `[[`.
            match nested_close(&self.body[open..line_end]) {
                Some(close) if self.body[open..open + close].contains('#') => k = close,
                _ => return open,
            }
        }
        let inner = &self.body[open..open + k];
        if inner.trim().is_empty() {
            return open;
        }
        let (target_part, label) = match split_pipe(inner) {
            Some((t, l)) => (t, Some(l.trim().to_string())),
            None => (inner, None),
        };
        let (target, fragment) = match target_part.find('#') {
            Some(h) => {
                let frag = target_part[h + 1..].trim();
                let fragment = if let Some(block) = frag.strip_prefix('^') {
                    Fragment::Block(block.trim().to_string())
                } else {
                    // `[[note#H1#H2]]` points at the last heading; a link in the
                    // heading is its text (`[[with link]]` is `with link`).
                    let heading = frag.rsplit('#').next().unwrap_or(frag);
                    Fragment::Heading(
                        heading
                            .replace("[[", "")
                            .replace("]]", "")
                            .trim()
                            .to_string(),
                    )
                };
                // `[[note#]]` is the note itself, as in Obsidian.
                let fragment = match fragment {
                    Fragment::Heading(h) | Fragment::Block(h) if h.is_empty() => None,
                    f => Some(f),
                };
                (target_part[..h].trim(), fragment)
            }
            None => (target_part.trim(), None),
        };
        let end = open + k + 2;
        self.emit(
            i..end,
            Item::WikiLink {
                target: target.to_string(),
                fragment,
                label,
                embed,
            },
        );
        end
    }

    fn tag(&mut self, i: usize) -> usize {
        let preceded_ok = i == 0 || matches!(self.bytes[i - 1], b' ' | b'\t' | b'\n' | b'\r');
        if !preceded_ok {
            return i + 1;
        }
        let rest = &self.body[i + 1..];
        let len: usize = rest
            .char_indices()
            .find(|&(_, c)| !is_tag_char(c))
            .map_or(rest.len(), |(k, _)| k);
        let name = rest[..len].trim_end_matches('/');
        if name.is_empty() || name.chars().all(|c| c.is_ascii_digit() || c == '/') {
            return i + 1;
        }
        let end = i + 1 + name.len();
        self.emit(i..end, Item::Tag(name.to_string()));
        end
    }

    fn highlight(&mut self, i: usize) -> usize {
        if i > 0 && self.bytes[i - 1] == b'=' {
            return i + 2;
        }
        if self.at(i + 2) == Some(b'=') {
            // `===` (a setext underline, an operator) is not a highlight.
            let run = self.bytes[i..].iter().take_while(|&&b| b == b'=').count();
            return i + run;
        }
        if let Some(start) = self.open_highlight {
            let before = self.bytes[i - 1];
            if before != b' ' && before != b'\t' && i > start {
                self.open_highlight = None;
                self.emit(i..i + 2, Item::HighlightClose);
                return i + 2;
            }
            return i + 2;
        }
        match self.at(i + 2) {
            None | Some(b' ' | b'\t' | b'\n' | b'\r') => i + 2,
            _ => {
                // Only open when a closing `==` follows on the same line.
                let line_end = self.line_end(i + 2);
                let closed = self
                    .highlight_mark
                    .next(self.body, "==", i + 2)
                    .is_some_and(|at| at + 2 <= line_end);
                if !closed {
                    return i + 2;
                }
                self.emit(i..i + 2, Item::HighlightOpen);
                self.open_highlight = Some(i + 2);
                i + 2
            }
        }
    }

    /// A highlight left open at the end of its line is closed there.
    fn end_line_highlight(&mut self, at: usize) {
        if self.open_highlight.take().is_some() {
            self.emit(at..at, Item::HighlightClose);
        }
    }

    /// `^block-id` at the end of a line, after a space.
    fn block_anchor(&mut self, i: usize) -> usize {
        let preceded_ok = i == 0 || matches!(self.bytes[i - 1], b' ' | b'\t' | b'\n');
        if !preceded_ok {
            return i + 1;
        }
        let rest = &self.body[i + 1..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(rest.len());
        if len == 0 {
            return i + 1;
        }
        let after = &rest[len..];
        let line_rest = after.split('\n').next().unwrap_or("");
        if !line_rest.trim().is_empty() {
            return i + 1;
        }
        let id = rest[..len].to_string();
        let end = i + 1 + len;
        self.emit(i..end, Item::BlockAnchor(id));
        end
    }
}

/// The longest a link to a heading holding links may be, in bytes (a bound on the
/// search for its end).
const LONGEST_NESTED_LINK: usize = 1024;

/// In `rest` (what follows a `[[`, to its line's end), where the `]]` matching that
/// `[[` starts, counting the `[[` and `]]` between.
fn nested_close(rest: &str) -> Option<usize> {
    let bytes = rest.as_bytes();
    let mut depth = 1usize;
    let mut j = 0;
    while j + 1 < bytes.len().min(LONGEST_NESTED_LINK) {
        match (bytes[j], bytes[j + 1]) {
            (b'[', b'[') => {
                depth += 1;
                j += 2;
            }
            (b']', b']') => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
                j += 2;
            }
            _ => j += 1,
        }
    }
    None
}

/// Characters allowed in a tag name.
pub fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '/')
}

/// Splits `target|label` at the first `|` (or `\|`, as written inside tables).
fn split_pipe(inner: &str) -> Option<(&str, &str)> {
    let k = inner.find('|')?;
    let target = inner[..k].strip_suffix('\\').unwrap_or(&inner[..k]);
    Some((target, &inner[k + 1..]))
}

/// Where the table cell holding byte `from` ends: its first `|` not escaped, or its
/// line's end.
fn cell_end(body: &str, from: usize) -> usize {
    let bytes = body.as_bytes();
    let mut j = from;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 2,
            b'|' | b'\n' => return j,
            _ => j += 1,
        }
    }
    bytes.len()
}

/// A formula in a table cell as the cell gives it: `\|` is how a `|` is written in a
/// cell (GitHub's tables, and Obsidian's), so the formula has `|`.
fn unescape_pipes(tex: String) -> String {
    if tex.contains("\\|") {
        tex.replace("\\|", "|")
    } else {
        tex
    }
}

fn find_unescaped(hay: &str, needle: &str) -> Option<usize> {
    let bytes = hay.as_bytes();
    let mut from = 0;
    while let Some(k) = hay[from..].find(needle) {
        let at = from + k;
        let backslashes = bytes[..at]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        if backslashes % 2 == 0 {
            return Some(at);
        }
        // The backslash escapes one character only: `\$$$` closes after the `\$`.
        from = at + 1;
    }
    None
}

/// How many `>` markers open the line prefix `prefix` (only spaces and `>` counted).
fn quote_depth(prefix: &str) -> usize {
    let mut depth = 0;
    for c in prefix.chars() {
        match c {
            '>' => depth += 1,
            ' ' | '\t' => {}
            _ => break,
        }
    }
    depth
}

/// Removes up to `depth` leading `>` markers (and the spaces around them) from a line.
fn strip_quotes(line: &str, depth: usize) -> &str {
    let mut rest = line;
    for _ in 0..depth {
        let trimmed = rest.trim_start_matches([' ', '\t']);
        match trimmed.strip_prefix('>') {
            Some(r) => rest = r.strip_prefix(' ').unwrap_or(r),
            None => break,
        }
    }
    rest
}

/// Widens `range` to whole lines when nothing but whitespace surrounds it on its
/// lines, so that removing it leaves no blank line behind.
fn whole_lines(text: &str, range: Range<usize>) -> Range<usize> {
    let line_start = text[..range.start].rfind('\n').map_or(0, |k| k + 1);
    let line_end = text[range.end..]
        .find('\n')
        .map_or(text.len(), |k| range.end + k);
    let before_blank = text[line_start..range.start].trim().is_empty();
    let after_blank = text[range.end..line_end].trim().is_empty();
    if before_blank && after_blank {
        line_start..(line_end + 1).min(text.len())
    } else {
        range
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(body: &str) -> Vec<Item> {
        scan("t.md", body, 0, body, &[], &[], &[])
            .items
            .into_iter()
            .map(|l| l.item)
            .collect()
    }

    #[test]
    fn in_a_table_a_formula_ends_with_its_cell() {
        let body = "| a | b |\n|---|---|\n| $x $ | $ y$ |\n| $|v|$ | $\\|w\\|$ |\n| $5 | $6 |\n";
        let tables = vec![Range {
            start: 0,
            end: body.len(),
        }];
        let found: Vec<Item> = scan("t.md", body, 0, body, &[], &[], &tables)
            .items
            .into_iter()
            .map(|l| l.item)
            .collect();
        // `$x $ | $ y$` pairs no `$` across the `|`; `\|` in a cell is a `|`.
        // `$|v|$` is cut by its cell's `|` too: written `$\|v\|$`, it is `|v|`.
        assert_eq!(found, [math("|w|", false)]);
        // Outside a table, the same line is one formula.
        assert_eq!(items("$x $ | $ y$"), [math("x $ | $ y", false)]);
    }

    /// Many formulas on one line: each is found without reading the line back to its
    /// start (that was quadratic: 300,000 formulas took 13 s).
    #[test]
    fn many_formulas_on_one_line() {
        let line = vec!["$x$"; 100_000].join(" ");
        assert_eq!(items(&line).len(), 100_000);
    }

    fn math(tex: &str, display: bool) -> Item {
        Item::Math {
            tex: tex.to_string(),
            display,
        }
    }

    #[test]
    fn inline_and_display_math() {
        assert_eq!(
            items("a $x_1 * y_2$ b $$\\int_0^1$$"),
            [math("x_1 * y_2", false), math("\\int_0^1", true)]
        );
    }

    #[test]
    fn dollars_of_money_are_not_math() {
        assert!(items("it costs $5 and $6 today").is_empty());
        assert!(items("a $ b $ c").is_empty());
        assert!(items("\\$x\\$").is_empty());
        assert_eq!(
            items("price $$p = 5\\$$$ and $$q = \\$$$"),
            [math("p = 5\\$", true), math("q = \\$", true)]
        );
    }

    #[test]
    fn inline_math_may_touch_line_breaks() {
        assert_eq!(items("$\nJ = x\n$"), [math("\nJ = x\n", false)]);
        assert!(items("$x\n\ny$").is_empty());
    }

    #[test]
    fn display_math_in_a_callout_loses_its_quote_markers() {
        let body = "> [!tip]\n> $$\n> a = b\n> $$\n";
        assert_eq!(items(body), [math("\na = b\n", true)]);
    }

    #[test]
    fn unclosed_display_math_is_reported() {
        let s = scan("t.md", "x\n$$ a", 0, "x\n$$ a", &[], &[], &[]);
        assert!(s.items.is_empty());
        assert_eq!(s.diagnostics.len(), 1);
        assert_eq!(s.diagnostics[0].line, 2);
    }

    #[test]
    fn wikilinks_and_embeds() {
        assert_eq!(
            items("[[Note#Head|shown]] ![[Pasted image 1.png | center|600]] [[a#^b1]]"),
            [
                Item::WikiLink {
                    target: "Note".into(),
                    fragment: Some(Fragment::Heading("Head".into())),
                    label: Some("shown".into()),
                    embed: false
                },
                Item::WikiLink {
                    target: "Pasted image 1.png".into(),
                    fragment: None,
                    label: Some("center|600".into()),
                    embed: true
                },
                Item::WikiLink {
                    target: "a".into(),
                    fragment: Some(Fragment::Block("b1".into())),
                    label: None,
                    embed: false
                },
            ]
        );
    }

    #[test]
    fn links_to_headings_as_obsidian_writes_them() {
        let link = |target: &str, heading: Option<&str>| Item::WikiLink {
            target: target.into(),
            fragment: heading.map(|h| Fragment::Heading(h.into())),
            label: None,
            embed: false,
        };
        assert_eq!(
            items("[[note#Heading [[with link]]]] and [[note#]] and [[x [[y]]"),
            [
                link("note", Some("Heading with link")),
                link("note", None),
                link("y", None),
            ]
        );
    }

    #[test]
    fn tags_but_not_headings_colours_or_anchors() {
        assert_eq!(
            items("#flashcards and #math/linear-algebra, not a#b nor #123 nor url/#x"),
            [
                Item::Tag("flashcards".into()),
                Item::Tag("math/linear-algebra".into())
            ]
        );
    }

    #[test]
    fn comments_are_removed() {
        let s = scan(
            "t.md",
            "a %%hidden%% b\n%%\nmany\n%%\nc",
            0,
            "a %%hidden%% b\n%%\nmany\n%%\nc",
            &[],
            &[],
            &[],
        );
        assert_eq!(s.text, "a  b\nc");
    }

    #[test]
    fn highlights_and_block_anchors() {
        assert_eq!(
            items("==key== idea ^abc-1"),
            [
                Item::HighlightOpen,
                Item::HighlightClose,
                Item::BlockAnchor("abc-1".into())
            ]
        );
        assert!(items("a == b and x === y").is_empty());
    }

    #[test]
    fn protected_ranges_are_untouched() {
        let body = "`$x$ #t [[l]]` $y$";
        let protect = [Range { start: 0, end: 14 }];
        let s = scan("t.md", body, 0, body, &protect, &[], &[]);
        assert_eq!(
            s.items,
            [Located {
                item: math("y", false),
                range: 15..18
            }]
        );
        assert!(s.text.starts_with("`$x$ #t [[l]]` "));
    }

    #[test]
    fn dropped_lines_leave_no_blank_line() {
        let body = "a\n<!--SR:!2024-08-05,3,250-->\nb";
        let drop = [Range { start: 2, end: 29 }];
        let s = scan("t.md", body, 0, body, &[], &drop, &[]);
        assert_eq!(s.text, "a\nb");
    }
}
