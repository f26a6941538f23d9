//! Environments pulldown-latex refuses that MathJax accepts: arrays whose rows outgrow
//! their column spec, amscd's `CD` diagrams.

use super::*;

/// The number of columns an array's column spec (`{c|c}`, `{*{3}{c}}`, `{p{2cm}l}`) makes.
pub(super) fn spec_columns(spec: &str) -> usize {
    let chars: Vec<char> = spec.chars().collect();
    // The braced argument starting at `k` (a `{`): its content and the index after it.
    let group = |k: usize| -> (String, usize) {
        if chars.get(k) != Some(&'{') {
            return (
                chars.get(k).map(|c| c.to_string()).unwrap_or_default(),
                k + 1,
            );
        }
        let mut depth = 0;
        for (j, &c) in chars.iter().enumerate().skip(k) {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return (chars[k + 1..j].iter().collect(), j + 1);
                    }
                }
                _ => {}
            }
        }
        (chars[k + 1..].iter().collect(), chars.len())
    };
    let mut count = 0;
    let mut k = 0;
    while k < chars.len() {
        match chars[k] {
            'l' | 'c' | 'r' | 'X' => {
                count += 1;
                k += 1;
            }
            'p' | 'm' | 'b' | 'w' => {
                count += 1;
                k = group(k + 1).1;
            }
            '@' | '!' | '>' | '<' => k = group(k + 1).1,
            '*' => {
                let (times, after) = group(k + 1);
                let (inner, after) = group(after);
                count +=
                    times.trim().parse::<usize>().unwrap_or(1).min(1000) * spec_columns(&inner);
                k = after;
            }
            _ => k += 1,
        }
    }
    count
}

/// amscd's `CD` diagram (`A @>f>> B \\ @VgVV @VVhV \\ C @>>k> D`) as an array: objects and
/// horizontal arrows alternate in a row; a row of vertical arrows puts each under an object.
pub(super) fn cd_to_array(inner: &str) -> String {
    let tokens = lex(inner);
    let mut rows: Vec<&str> = Vec::new();
    let mut start = 0;
    let mut depth = 0usize;
    for token in &tokens {
        match token.tok {
            Tok::Char('{') => depth += 1,
            Tok::Char('}') => depth = depth.saturating_sub(1),
            Tok::Symbol('\\') if depth == 0 => {
                rows.push(&inner[start..token.span.start]);
                start = token.span.end;
            }
            _ => {}
        }
    }
    rows.push(&inner[start..]);
    let mut out_rows: Vec<Vec<String>> = Vec::new();
    for row in rows {
        if row.trim().is_empty() {
            continue;
        }
        out_rows.push(cd_row(row));
    }
    let columns = out_rows.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let mut out = format!("\\begin{{array}}{{{}}}", "c".repeat(columns));
    for (n, row) in out_rows.iter().enumerate() {
        if n > 0 {
            out.push_str(" \\\\ ");
        }
        out.push_str(&row.join(" & "));
    }
    out.push_str("\\end{array}");
    out
}

/// One row of a `CD` diagram as array cells.
pub(super) fn cd_row(row: &str) -> Vec<String> {
    let chars: Vec<char> = row.chars().collect();
    // Text up to the next `stop` outside braces, and the index after the stop.
    let until = |from: usize, stop: char| -> (String, usize) {
        let mut depth = 0usize;
        for (j, &c) in chars.iter().enumerate().skip(from) {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                c if c == stop && depth == 0 => return (chars[from..j].iter().collect(), j + 1),
                _ => {}
            }
        }
        (chars[from.min(chars.len())..].iter().collect(), chars.len())
    };
    let mut cells: Vec<String> = Vec::new();
    let mut object = String::new();
    let mut vertical_row = true;
    let mut k = 0;
    while k < chars.len() {
        let c = chars[k];
        let escaped = k > 0 && chars[k - 1] == '\\';
        if c != '@' || escaped {
            object.push(c);
            k += 1;
            continue;
        }
        let kind = chars.get(k + 1).copied().unwrap_or('.');
        let (arrow, next, horizontal) = match kind {
            '>' | '<' => {
                let (above, after) = until(k + 2, kind);
                let (below, after) = until(after, kind);
                let arrow = if kind == '>' {
                    "xrightarrow"
                } else {
                    "xleftarrow"
                };
                (format!("\\{arrow}[{below}]{{{above}}}"), after, true)
            }
            'V' | 'A' => {
                let (left, after) = until(k + 2, kind);
                let (right, after) = until(after, kind);
                let arrow = if kind == 'V' { "downarrow" } else { "uparrow" };
                (
                    format!("{{\\scriptstyle {left}}}\\Big\\{arrow}{{\\scriptstyle {right}}}"),
                    after,
                    false,
                )
            }
            '=' => ("=\\!=".to_owned(), k + 2, true),
            '|' => ("\\Big\\Vert".to_owned(), k + 2, false),
            _ => (String::new(), k + 2, false),
        };
        if horizontal {
            vertical_row = false;
            cells.push(std::mem::take(&mut object).trim().to_owned());
            cells.push(arrow);
        } else {
            // A vertical arrow stands under an object: the cells between stay empty.
            if !object.trim().is_empty() {
                cells.push(std::mem::take(&mut object).trim().to_owned());
            }
            object.clear();
            if !cells.is_empty() {
                cells.push(String::new());
            }
            cells.push(arrow);
        }
        k = next;
    }
    if !object.trim().is_empty() || !vertical_row {
        cells.push(object.trim().to_owned());
    }
    cells
}
