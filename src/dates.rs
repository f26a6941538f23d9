//! A note's date: the front-matter keys that give one, the formats people write them
//! in, and (with `dates: git` in notebuild.yaml) the date of the last commit that
//! touched the note.
//!
//! A file's modification time is never a note's date: after a clone or a checkout it is
//! the day of the checkout, the same for every note. A note with no date shows none.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

/// The front-matter keys holding a date (compared case-insensitively), the first
/// found in this order of preference: when the note was last changed, then when it
/// was written.
pub const KEYS: &[&str] = &[
    "updated",
    "modified",
    "lastmod",
    "last_modified",
    "date_modified",
    "date",
    "created",
    "date_created",
];

/// The rank of a front-matter key in [`KEYS`] (lower is preferred), if it is one.
pub fn key_rank(key: &str) -> Option<usize> {
    let key = key.to_ascii_lowercase();
    KEYS.iter().position(|k| *k == key)
}

/// The names of the months, English, as written in full; their first three letters
/// are the abbreviations (`Sept` is read too).
const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// The days of the week, left out of a date written in words.
const WEEKDAYS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// A calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl std::fmt::Display for Date {
    /// `2024-08-05`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Date {
    /// The day, if it exists (years 1000 to 9999).
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        ((1000..=9999).contains(&year) && (1..=days).contains(&day)).then_some(Date {
            year,
            month,
            day,
        })
    }

    /// The day (UTC) of a Unix time.
    pub fn from_unix(secs: i64) -> Date {
        // Howard Hinnant's days-to-civil algorithm.
        let z = secs.div_euclid(86_400) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = if m <= 2 { y + 1 } else { y };
        Date {
            year: y as i32,
            month: m as u32,
            day: d as u32,
        }
    }
}

/// Reads a date as people write it in front matter: `2024-08-05`, `2024-8-5`,
/// `2024/08/05`, `2024.08.05`, any of them followed by a time (`2024-08-05T10:00`,
/// `2024-08-05 10:00:00+02:00`); `05.08.2024` (day first, as where dots are written);
/// `08/05/2024` or `05/08/2024` only when the day is the number above 12; and in words:
/// `August 5, 2024`, `Aug 5th 2024`, `5 August 2024`, `Monday, 5 Aug 2024`.
pub fn parse(text: &str) -> Option<Date> {
    let text = text.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    numeric(text).or_else(|| in_words(text))
}

/// `Y-M-D…`, `Y/M/D…`, `Y.M.D…`, `D.M.Y`, `M/D/Y` / `D/M/Y` when unambiguous.
fn numeric(text: &str) -> Option<Date> {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '/' | '.')))
        .unwrap_or(text.len());
    let (head, rest) = text.split_at(end);
    // What follows the day must be a time (or nothing).
    let rest_ok = rest.is_empty()
        || rest.starts_with(['T', 't', ' '])
            && rest[1..]
                .trim_start()
                .chars()
                .next()
                .is_none_or(|c| c.is_ascii_digit());
    if !rest_ok {
        return None;
    }
    let sep = head.chars().find(|c| !c.is_ascii_digit())?;
    let parts: Vec<&str> = head.split(sep).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    if [a, b, c].iter().any(|p| p.is_empty() || p.len() > 4) {
        return None;
    }
    let n = |s: &str| s.parse::<u32>().ok();
    let (a4, c4) = (a.len() == 4, c.len() == 4);
    if a4 && b.len() <= 2 && c.len() <= 2 {
        return Date::new(n(a)? as i32, n(b)?, n(c)?);
    }
    if !c4 || a.len() > 2 || b.len() > 2 {
        return None;
    }
    let (x, y, year) = (n(a)?, n(b)?, n(c)? as i32);
    match sep {
        '.' => Date::new(year, y, x),
        _ if x > 12 => Date::new(year, y, x),
        _ if y > 12 => Date::new(year, x, y),
        // 05/08/2024 is May 8th or 5 August: neither is assumed.
        _ => None,
    }
}

/// A month's number from its name or abbreviation.
fn month_named(word: &str) -> Option<u32> {
    let word = word.to_lowercase();
    if word.len() < 3 {
        return None;
    }
    let word = if word == "sept" { "sep" } else { &word };
    MONTHS
        .iter()
        .position(|m| *m == word || (word.len() == 3 && m.starts_with(word)))
        .map(|k| k as u32 + 1)
}

/// `August 5, 2024`, `5 Aug 2024`, `Monday, August 5th, 2024`; a time may follow.
fn in_words(text: &str) -> Option<Date> {
    let (mut month, mut day, mut year) = (None, None, None);
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if month.is_some() && day.is_some() && year.is_some() {
            break; // a time, a zone
        }
        let lower = word.to_lowercase();
        if WEEKDAYS
            .iter()
            .any(|d| *d == lower || (lower.len() == 3 && d.starts_with(&lower)))
        {
            continue;
        }
        if let Some(m) = month_named(word) {
            if month.replace(m).is_some() {
                return None;
            }
            continue;
        }
        let digits = lower.trim_end_matches(['s', 't', 'n', 'd', 'r', 'h']);
        let ordinal = digits.len() < lower.len();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let value: u32 = digits.parse().ok()?;
        match digits.len() {
            4 if !ordinal && year.is_none() => year = Some(value as i32),
            1 | 2 if day.is_none() => day = Some(value),
            _ => return None,
        }
    }
    Date::new(year?, month?, day?)
}

/// The most output read from `git log` (a bound on a huge history).
const GIT_MAX_LINES: usize = 5_000_000;

/// The date of the last commit touching each of the `wanted` files under `root` (paths
/// relative to it, `/`-separated), from one `git log` over the history, read until
/// every wanted file has one. An error says why there are none (no git, not a
/// repository).
pub fn from_git(root: &Path, wanted: &HashSet<&str>) -> Result<HashMap<String, Date>, String> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "-c",
            "core.quotepath=false",
            "log",
            "--format=%x01%ct",
            "--name-only",
            "--no-renames",
            "--relative",
            "--",
            ".",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let stdout = child.stdout.take().ok_or("git gave no output")?;
    let mut dates: HashMap<String, Date> = HashMap::new();
    let mut current: Option<Date> = None;
    let mut complete = false;
    for line in BufReader::new(stdout)
        .split(b'\n')
        .take(GIT_MAX_LINES)
        .map_while(Result::ok)
    {
        let line = String::from_utf8_lossy(&line);
        if let Some(stamp) = line.strip_prefix('\u{1}') {
            current = stamp.trim().parse::<i64>().ok().map(Date::from_unix);
            continue;
        }
        // Names git had to quote (control characters) are left out.
        if line.is_empty() || line.starts_with('"') {
            continue;
        }
        if let Some(date) = current
            && wanted.contains(line.as_ref())
        {
            dates.entry(line.into_owned()).or_insert(date);
            if dates.len() >= wanted.len() {
                complete = true;
                break;
            }
        }
    }
    if complete {
        let _ = child.kill();
    }
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let status = child.wait().map_err(|e| format!("git failed: {e}"))?;
    if !complete && !status.success() {
        let reason = stderr.lines().next().unwrap_or("").trim().to_string();
        return Err(if reason.is_empty() {
            format!("git log failed ({status})")
        } else {
            format!("git log failed: {reason}")
        });
    }
    Ok(dates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(text: &str) -> Option<String> {
        parse(text).map(|d| d.to_string())
    }

    #[test]
    fn reads_the_formats_people_write() {
        for (text, want) in [
            ("2024-08-05", "2024-08-05"),
            ("2024-8-5", "2024-08-05"),
            ("2024-08-05T10:00", "2024-08-05"),
            ("2024-08-05T10:00:00.000Z", "2024-08-05"),
            ("2024-08-05 10:00:00 +02:00", "2024-08-05"),
            ("2024/08/05", "2024-08-05"),
            ("2024.08.05", "2024-08-05"),
            ("05.08.2024", "2024-08-05"),
            ("13/08/2024", "2024-08-13"),
            ("08/13/2024", "2024-08-13"),
            ("August 5, 2024", "2024-08-05"),
            ("Aug 5th, 2024", "2024-08-05"),
            ("5 August 2024", "2024-08-05"),
            ("Monday, August 5, 2024 10:00 AM", "2024-08-05"),
            ("Sept 1 2023", "2023-09-01"),
            ("'2024-02-29'", "2024-02-29"),
        ] {
            assert_eq!(iso(text).as_deref(), Some(want), "{text}");
        }
        for text in [
            "yesterday",
            "2023-02-29",
            "2024-13-01",
            "05/08/2024",
            "2024",
            "",
            "August 2024",
            "5 2024",
            "2024-08-05abc",
            "May May 5 2024",
        ] {
            assert_eq!(iso(text), None, "{text}");
        }
    }

    #[test]
    fn unix_days() {
        assert_eq!(Date::from_unix(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_unix(1_722_556_800).to_string(), "2024-08-02");
        assert_eq!(Date::from_unix(-86_400).to_string(), "1969-12-31");
    }

    #[test]
    fn keys_in_order_of_preference() {
        assert!(key_rank("Updated") < key_rank("date"));
        assert!(key_rank("date") < key_rank("created"));
        assert_eq!(key_rank("title"), None);
        assert!(key_rank("lastmod").is_some() && key_rank("date_created").is_some());
    }
}
