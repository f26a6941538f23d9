//! Helpers for the integration tests: running the `notebuild` binary, reading the site
//! it wrote, reading the vault it was given, and a few small HTML scanners (the tests
//! check real HTML, so they parse just enough of it to be precise).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub type Error = Box<dyn std::error::Error>;
pub type TestResult = Result<(), Error>;

/// A failed expectation, as an error (for `?` in tests).
pub fn fail(message: impl Into<String>) -> Error {
    message.into().into()
}

// ---------------------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------------------

/// What one run of `notebuild` did.
#[derive(Debug)]
pub struct Run {
    /// The exit code; `None` when the process was killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The warnings and errors printed on stderr, one block each (message, location,
    /// source line, hint).
    pub fn diagnostics(&self) -> Vec<String> {
        diagnostic_blocks(&self.stderr)
    }

    /// The diagnostic block that mentions `location` (such as `A.md:3`) and every one of
    /// `needles` (case-insensitive), if any.
    pub fn diagnostic(&self, location: &str, needles: &[&str]) -> Option<String> {
        self.diagnostics()
            .into_iter()
            .find(|block| mentions_location(block, location) && contains_all(block, needles))
    }

    /// Like [`Run::diagnostic`], as a test failure that shows stderr when missing.
    pub fn expect_diagnostic(&self, location: &str, needles: &[&str]) -> Result<String, Error> {
        self.diagnostic(location, needles).ok_or_else(|| {
            fail(format!(
                "expected a warning at `{location}` mentioning {needles:?}; stderr was:\n{}",
                self.stderr
            ))
        })
    }

    /// Fails unless the process exited with `code`.
    pub fn expect_code(&self, code: i32) -> TestResult {
        if self.code == Some(code) {
            Ok(())
        } else {
            Err(fail(format!(
                "expected exit code {code}, got {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
                self.code, self.stdout, self.stderr
            )))
        }
    }
}

/// A diagnostic block names its location as `file:line:col` (rustc style) or `file:line`.
fn mentions_location(block: &str, location: &str) -> bool {
    block.match_indices(location).any(|(at, _)| {
        let after = &block[at + location.len()..];
        // `A.md:3` must not match `A.md:30`, nor `XA.md:3`.
        let before_ok = block[..at]
            .chars()
            .next_back()
            .is_none_or(char::is_whitespace);
        let after_ok = after.chars().next().is_none_or(|c| !c.is_ascii_digit());
        before_ok && after_ok
    })
}

fn contains_all(haystack: &str, needles: &[&str]) -> bool {
    let lower = haystack.to_lowercase();
    needles.iter().all(|n| lower.contains(&n.to_lowercase()))
}

/// Splits stderr into diagnostic blocks: each starts at a line `warning...` or `error...`.
pub fn diagnostic_blocks(stderr: &str) -> Vec<String> {
    let mut blocks: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in stderr.lines() {
        let starts = line.starts_with("warning") || line.starts_with("error");
        if starts {
            if let Some(block) = current.take() {
                blocks.push(block);
            }
            current = Some(String::new());
        }
        // The summary line ends the last block.
        if line.starts_with("Built ") {
            if let Some(block) = current.take() {
                blocks.push(block);
            }
            continue;
        }
        if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    if let Some(block) = current {
        blocks.push(block);
    }
    blocks
}

/// The longest a single run may take before the test calls it a hang. Not a timing
/// assertion: a build of a test vault takes well under a second; this only turns an
/// infinite loop (say, a recursive embed) into a failure instead of a stuck test run.
const HANG: Duration = Duration::from_secs(300);

/// Runs `notebuild` with `args` in the folder `cwd`.
pub fn notebuild<I, S>(cwd: &Path, args: I) -> Result<Run, Error>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut child = Command::new(env!("CARGO_BIN_EXE_notebuild"))
        .args(args)
        .current_dir(cwd)
        .env("COLUMNS", "200")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut out = child.stdout.take().ok_or("no stdout pipe")?;
    let mut err = child.stderr.take().ok_or("no stderr pipe")?;
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            return Err(fail(format!(
                "notebuild did not finish (killed after {HANG:?}): it hangs"
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = out_reader.join().map_err(|_| "stdout reader panicked")?;
    let stderr = err_reader.join().map_err(|_| "stderr reader panicked")?;
    Ok(Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

/// `notebuild build VAULT --out OUT [extra...]`, run in `cwd`.
pub fn build(cwd: &Path, vault: &Path, out: &Path, extra: &[&str]) -> Result<Run, Error> {
    let mut args: Vec<&OsStr> = vec![OsStr::new("build"), vault.as_os_str()];
    args.push(OsStr::new("--out"));
    args.push(out.as_os_str());
    args.extend(extra.iter().map(OsStr::new));
    notebuild(cwd, args)
}

/// A build and what it wrote. The temporary folder lives as long as this does.
pub struct Built {
    pub _dir: tempfile::TempDir,
    pub out: PathBuf,
    pub run: Run,
    pub site: Site,
}

/// Builds `vault` into `dir/site`, running in `dir`; an error with the build's stderr
/// when no site was written.
pub fn build_in(dir: tempfile::TempDir, vault: &Path, extra: &[&str]) -> Result<Built, Error> {
    let out = dir.path().join("site");
    let run = build(dir.path(), vault, &out, extra)?;
    if !out.is_dir() {
        return Err(fail(format!(
            "no site was written (exit code {:?}); stderr:\n{}",
            run.code, run.stderr
        )));
    }
    let site = Site::read(&out)?;
    Ok(Built {
        _dir: dir,
        out,
        run,
        site,
    })
}

/// The vault that ships with the crate.
pub fn bundled_vault() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("notes")
}

/// `rel` inside `../shared`, the folder laid beside the checkout that holds the public
/// corpus and the seed note. When the whole folder is missing (a plain clone), the test
/// that needs it prints a note and is skipped (`Ok(None)`), except when the environment
/// variable `CI` is set (to any value): CI must run these tests, so there it is a
/// failure. A folder that is there but lacks `rel` is always a failure: the test never
/// passes on nothing.
pub fn shared(rel: &str) -> Result<Option<PathBuf>, Error> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    let path = root.join(rel);
    if path.exists() {
        return Ok(Some(path));
    }
    if root.is_dir() {
        return Err(fail(format!(
            "{} does not exist, though {} does",
            path.display(),
            root.display()
        )));
    }
    if std::env::var_os("CI").is_some() {
        return Err(fail(format!(
            "{} does not exist, and CI is set: this test must run in CI, so lay the shared \
             folder beside the checkout (or unset CI to skip it)",
            root.display()
        )));
    }
    println!(
        "skipped: {} does not exist (with CI set, this is a failure)",
        path.display()
    );
    Ok(None)
}

// ---------------------------------------------------------------------------------------
// The site
// ---------------------------------------------------------------------------------------

/// A site written by notebuild, read back: every file's site-relative path, and the
/// text of every HTML and CSS file.
pub struct Site {
    /// Every file, `/`-separated, relative to the root.
    pub files: BTreeSet<String>,
    /// HTML pages by path.
    pub pages: BTreeMap<String, String>,
    /// Stylesheets by path.
    pub styles: BTreeMap<String, String>,
}

impl Site {
    pub fn read(root: &Path) -> Result<Site, Error> {
        let mut site = Site {
            files: BTreeSet::new(),
            pages: BTreeMap::new(),
            styles: BTreeMap::new(),
        };
        for rel in list_files(root)? {
            let path = root.join(&rel);
            if rel.ends_with(".html") {
                site.pages
                    .insert(rel.clone(), std::fs::read_to_string(&path)?);
            } else if rel.ends_with(".css") {
                site.styles
                    .insert(rel.clone(), std::fs::read_to_string(&path)?);
            }
            site.files.insert(rel);
        }
        Ok(site)
    }

    /// The HTML of a page, or a failure listing the pages there are.
    pub fn page(&self, rel: &str) -> Result<&str, Error> {
        self.pages.get(rel).map(String::as_str).ok_or_else(|| {
            fail(format!(
                "the site has no page `{rel}`; its pages are {:?}",
                self.pages.keys().collect::<Vec<_>>()
            ))
        })
    }

    pub fn has(&self, rel: &str) -> bool {
        self.files.contains(rel)
    }
}

/// Every file under `root`, relative and `/`-separated, hidden ones included.
pub fn list_files(root: &Path) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(root.join(&rel))? {
            let entry = entry?;
            let child = rel.join(entry.file_name());
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(child);
            } else {
                out.push(slash_path(&child));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Problems with the links of a site: every relative `href`/`src` of every page (and
/// every `url()` of every stylesheet) must name a file of the site, and a `#fragment`
/// must be an `id` of the page it points into.
pub fn broken_links(site: &Site) -> Vec<String> {
    let mut problems = Vec::new();
    let ids: BTreeMap<&str, HashSet<String>> = site
        .pages
        .iter()
        .map(|(path, html)| {
            (
                path.as_str(),
                attribute_values(html, "id").into_iter().collect(),
            )
        })
        .collect();
    for (page, html) in &site.pages {
        let mut urls = attribute_values(html, "href");
        urls.extend(attribute_values(html, "src"));
        for url in urls {
            if let Some(problem) = check_url(site, &ids, page, &url) {
                problems.push(format!("{page}: {problem}"));
            }
        }
    }
    for (sheet, css) in &site.styles {
        for url in css_urls(css) {
            if let Some(problem) = check_url(site, &ids, sheet, &url) {
                problems.push(format!("{sheet}: {problem}"));
            }
        }
    }
    problems
}

fn check_url(
    site: &Site,
    ids: &BTreeMap<&str, HashSet<String>>,
    from: &str,
    url: &str,
) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("mailto:") || lower.starts_with("data:") {
        return None;
    }
    if lower.contains("://") {
        // External: checked by the offline test where it matters (src, stylesheets).
        return None;
    }
    if url.starts_with('/') {
        return Some(format!(
            "`{url}` is absolute: it breaks when the site is opened from disk"
        ));
    }
    if url.is_empty() {
        return Some("an empty URL".into());
    }
    let (path, fragment) = match url.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (url, None),
    };
    let path = path.split('?').next().unwrap_or(path);
    let target = if path.is_empty() {
        from.to_string()
    } else {
        let decoded = match percent_decode(path) {
            Some(d) => d,
            None => return Some(format!("`{url}` is not valid percent-encoded UTF-8")),
        };
        match resolve_relative(from, &decoded) {
            Some(t) => t,
            None => return Some(format!("`{url}` goes above the site's root")),
        }
    };
    if !site.files.contains(&target) {
        return Some(format!("`{url}` → `{target}`, which does not exist"));
    }
    if let Some(fragment) = fragment.filter(|f| !f.is_empty())
        && target.ends_with(".html")
    {
        let Some(fragment) = percent_decode(fragment) else {
            return Some(format!("`{url}`: bad fragment encoding"));
        };
        let found = ids
            .get(target.as_str())
            .is_some_and(|s| s.contains(&fragment));
        if !found {
            return Some(format!(
                "`{url}`: `{target}` has no element with id=\"{fragment}\""
            ));
        }
    }
    None
}

/// Resolves `url` (decoded, no fragment) against the folder of the site file `from`.
pub fn resolve_relative(from: &str, url: &str) -> Option<String> {
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for segment in url.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// `%20` → ` `; `None` when the result is not UTF-8 or an escape is malformed.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The `url(...)` references of a stylesheet.
pub fn css_urls(css: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = css;
    while let Some(at) = rest.find("url(") {
        rest = &rest[at + 4..];
        let Some(end) = rest.find(')') else { break };
        let url = rest[..end].trim().trim_matches(|c| c == '\'' || c == '"');
        out.push(url.to_string());
        rest = &rest[end..];
    }
    out
}

// ---------------------------------------------------------------------------------------
// HTML scanning
// ---------------------------------------------------------------------------------------

/// The (unescaped) values of every double-quoted attribute `name="..."` in `html`.
pub fn attribute_values(html: &str, name: &str) -> Vec<String> {
    let pattern = format!("{name}=\"");
    let mut out = Vec::new();
    for (at, _) in html.match_indices(&pattern) {
        // The attribute name must stand alone (` href=`, not `data-href=`).
        let before = html[..at].chars().next_back();
        if !before.is_some_and(char::is_whitespace) {
            continue;
        }
        let start = at + pattern.len();
        if let Some(len) = html[start..].find('"') {
            out.push(unescape(&html[start..start + len]));
        }
    }
    out
}

/// Every start tag `<name ...>` in `html`, whole.
pub fn start_tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}");
    let mut out = Vec::new();
    for (at, _) in html.match_indices(&open) {
        let next = html[at + open.len()..].chars().next();
        if !next.is_some_and(|c| c.is_whitespace() || c == '>' || c == '/') {
            continue;
        }
        if let Some(len) = html[at..].find('>') {
            out.push(&html[at..=at + len]);
        }
    }
    out
}

/// The value of attribute `name` in one start tag.
pub fn attribute(tag: &str, name: &str) -> Option<String> {
    attribute_values(tag, name).into_iter().next()
}

/// Whether a start tag carries the boolean attribute `name` (such as `open`).
pub fn has_boolean_attribute(tag: &str, name: &str) -> bool {
    // Drop quoted values, then look for the bare word.
    let mut bare = String::new();
    let mut quoted = false;
    for c in tag.chars() {
        if c == '"' {
            quoted = !quoted;
            bare.push(' ');
        } else if !quoted {
            bare.push(c);
        }
    }
    bare.split(|c: char| c.is_whitespace() || c == '>' || c == '/' || c == '<')
        .any(|word| word == name || word.starts_with(&format!("{name}=")))
}

/// The whole element that starts at byte `start` of `html` (which must be `<name`),
/// balancing nested elements of the same name.
pub fn element_at<'a>(html: &'a str, start: usize, name: &str) -> Option<&'a str> {
    let open = format!("<{name}");
    let close = format!("</{name}>");
    // The next `<name` that is really that element (`<a ` and not `<annotation`).
    let find_open = |from: usize| {
        html[from..]
            .match_indices(&open)
            .map(|(k, _)| from + k)
            .find(|&k| {
                html[k + open.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_whitespace() || c == '>' || c == '/')
            })
    };
    let mut depth = 0usize;
    let mut i = start;
    loop {
        let next_open = find_open(i);
        let next_close = html[i..].find(&close).map(|k| i + k)?;
        match next_open {
            Some(o) if o < next_close => {
                depth += 1;
                i = o + open.len();
            }
            _ => {
                depth = depth.checked_sub(1)?;
                i = next_close + close.len();
                if depth == 0 {
                    return Some(&html[start..i]);
                }
            }
        }
    }
}

/// Every element whose start tag begins with `tag_prefix` (say `<details class="callout"`).
pub fn elements<'a>(html: &'a str, tag_prefix: &str) -> Vec<&'a str> {
    let name: String = tag_prefix
        .trim_start_matches('<')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    html.match_indices(tag_prefix)
        .filter_map(|(at, _)| element_at(html, at, &name))
        .collect()
}

/// The body of a note page: what is between its content wrapper and its footer.
pub fn note_content(html: &str) -> Result<&str, Error> {
    let start_tag = "<div class=\"note-content\">";
    let start = html
        .find(start_tag)
        .ok_or_else(|| fail("the page has no <div class=\"note-content\">"))?;
    let element = element_at(html, start, "div")
        .ok_or_else(|| fail("the note-content <div> is not closed"))?;
    Ok(&element[start_tag.len()..element.len() - "</div>".len()])
}

/// The "Linked from" section of a note page.
pub fn backlinks_section(html: &str) -> Result<&str, Error> {
    let start = html
        .find("<section class=\"backlinks\"")
        .ok_or_else(|| fail("the page has no backlinks section"))?;
    element_at(html, start, "section").ok_or_else(|| fail("the backlinks section is not closed"))
}

/// `html` without the elements `<name ...>...</name>` (not nested in themselves).
pub fn without_elements(html: &str, name: &str) -> String {
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    loop {
        let Some(at) = rest.find(&open) else {
            out.push_str(rest);
            break;
        };
        let next = rest[at + open.len()..].chars().next();
        if !next.is_some_and(|c| c.is_whitespace() || c == '>') {
            out.push_str(&rest[..at + open.len()]);
            rest = &rest[at + open.len()..];
            continue;
        }
        out.push_str(&rest[..at]);
        match rest[at..].find(&close) {
            Some(k) => rest = &rest[at + k + close.len()..],
            None => break,
        }
    }
    out
}

/// The text of `html`: tags dropped, entities decoded.
pub fn text_of(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out)
}

/// The text a reader sees, less code, preformatted blocks and the TeX annotations of
/// rendered formulas (which hold the source on purpose).
pub fn prose_text(html: &str) -> String {
    let html = without_elements(html, "annotation");
    let html = without_elements(&html, "pre");
    let html = without_elements(&html, "code");
    let html = without_elements(&html, "style");
    text_of(&html)
}

/// Decodes the entities notebuild and pulldown-cmark write.
pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

// ---------------------------------------------------------------------------------------
// The vault
// ---------------------------------------------------------------------------------------

/// A note of a vault, read directly from disk (not through notebuild).
pub struct VaultNote {
    /// Vault-relative, `/`-separated, with `.md`.
    pub path: String,
    pub text: String,
    /// No `draft: true` and no `publish: false` in the front matter.
    pub published: bool,
}

impl VaultNote {
    /// The text after the front matter.
    pub fn body(&self) -> &str {
        split_front_matter(&self.text).1
    }

    /// The page notebuild should write for it: `Rules/Chain Rule.md` →
    /// `rules/chain-rule.html`.
    pub fn page(&self) -> String {
        note_page(&self.path)
    }
}

/// Every note of the vault, hidden folders skipped, sorted by path.
pub fn vault_notes(root: &Path) -> Result<Vec<VaultNote>, Error> {
    let mut notes = Vec::new();
    for rel in list_files(root)? {
        if rel.split('/').any(|part| part.starts_with('.')) || !rel.ends_with(".md") {
            continue;
        }
        let text = std::fs::read_to_string(root.join(&rel))?;
        let (front, _) = split_front_matter(&text);
        let published = !front.lines().any(|line| {
            let line = line.trim().to_ascii_lowercase();
            let line = line.replace(' ', "");
            line == "draft:true" || line == "publish:false"
        });
        notes.push(VaultNote {
            path: rel,
            text,
            published,
        });
    }
    Ok(notes)
}

/// (front matter, body) of a note; the front matter is empty when there is none.
pub fn split_front_matter(text: &str) -> (&str, &str) {
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        return ("", text);
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return (&rest[..offset], &rest[offset + line.len()..]);
        }
        offset += line.len();
    }
    ("", text)
}

/// Slug of one path segment: letters and digits kept (lowercased), every other run of
/// characters one `-`.
pub fn slugify(text: &str) -> String {
    let mut out = String::new();
    let mut pending_dash = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.extend(c.to_lowercase());
        } else {
            pending_dash = true;
        }
    }
    out
}

/// `Rules/Chain Rule.md` → `rules/chain-rule.html`.
pub fn note_page(path: &str) -> String {
    let stem = path.strip_suffix(".md").unwrap_or(path);
    let parts: Vec<String> = stem.split('/').map(slugify).collect();
    format!("{}.html", parts.join("/"))
}

/// Counts the formulas of a note the simple way: `$$...$$` and `$...$`, scanning left
/// to right, skipping code (fenced blocks and backtick spans) and `\$`.
pub fn count_math_spans(text: &str) -> usize {
    let mut count = 0;
    let mut in_fence = false;
    let mut prose = String::new();
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if !in_fence {
            prose.push_str(line);
        }
    }
    let bytes = prose.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'`' => {
                let end = prose[i + 1..].find('`').map_or(bytes.len(), |k| i + 1 + k);
                i = end + 1;
            }
            b'$' if bytes.get(i + 1) == Some(&b'$') => match prose[i + 2..].find("$$") {
                Some(k) => {
                    count += 1;
                    i = i + 2 + k + 2;
                }
                None => break,
            },
            b'$' => match prose[i + 1..].find('$') {
                Some(k) => {
                    count += 1;
                    i = i + 1 + k + 1;
                }
                None => break,
            },
            _ => i += 1,
        }
    }
    count
}

/// Runs of plain prose (letters, digits, spaces and `,.;:-`) at least `min` characters
/// long, from the lines of a note's body: text that must appear verbatim on the note's
/// page when the note is published (and nowhere when it is not).
pub fn plain_runs(body: &str, min: usize) -> Vec<String> {
    let mut out = Vec::new();
    for line in body.lines() {
        let mut run = String::new();
        for c in line.chars().chain(std::iter::once('\n')) {
            if c.is_ascii_alphanumeric() || " ,.;:-".contains(c) {
                run.push(c);
            } else {
                // Not a list marker or punctuation left from the markup around.
                let trimmed = run
                    .trim()
                    .trim_start_matches(|c: char| c == '-' || c.is_ascii_punctuation())
                    .trim();
                if trimmed.len() >= min && trimmed.contains(' ') {
                    out.push(trimmed.to_string());
                }
                run.clear();
            }
        }
    }
    out
}

/// A vault in a fresh temporary folder (`<tmp>/vault`) holding `notes` (path, text).
/// The folder lives as long as the returned guard. (Not every test binary uses it.)
#[allow(dead_code)]
pub fn temp_vault(notes: &[(&str, &str)]) -> Result<(tempfile::TempDir, PathBuf), Error> {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("vault");
    std::fs::create_dir_all(&root)?;
    for (path, text) in notes {
        write(&root, path, text)?;
    }
    Ok((dir, root))
}

/// Writes `bytes` to `root/rel`, creating folders.
pub fn write(root: &Path, rel: &str, bytes: impl AsRef<[u8]>) -> TestResult {
    let path = root.join(rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, bytes)?;
    Ok(())
}

/// Elements that have no end tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

/// Where the elements of a page do not nest properly: an end tag that closes another
/// element than the last one opened, or an element never closed. Comments, the
/// doctype and the content of `<script>`/`<style>` are skipped.
pub fn nesting_problems(html: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut stack: Vec<(String, usize)> = Vec::new();
    let line_of = |at: usize| html[..at].matches('\n').count() + 1;
    let mut i = 0;
    while let Some(k) = html[i..].find('<') {
        let at = i + k;
        let rest = &html[at..];
        if rest.starts_with("<!--") {
            i = rest.find("-->").map_or(html.len(), |e| at + e + 3);
            continue;
        }
        if rest.starts_with("<!") {
            i = rest.find('>').map_or(html.len(), |e| at + e + 1);
            continue;
        }
        // The tag's end, skipping quoted attribute values.
        let mut quote = None;
        let mut end = None;
        for (j, c) in rest.char_indices().skip(1) {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '>') => {
                    end = Some(j);
                    break;
                }
                _ => {}
            }
        }
        let Some(end) = end else {
            problems.push(format!("line {}: unterminated tag", line_of(at)));
            break;
        };
        let tag = &rest[..=end];
        i = at + end + 1;
        let closing = tag.starts_with("</");
        let name: String = tag
            .trim_start_matches("</")
            .trim_start_matches('<')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() {
            continue; // a `<` in text, such as `a < b` left unescaped
        }
        if closing {
            match stack.pop() {
                Some((open, _)) if open == name => {}
                Some((open, line)) => {
                    problems.push(format!(
                        "line {}: `</{name}>` closes `<{open}>` opened on line {line}",
                        line_of(at)
                    ));
                    return problems;
                }
                None => {
                    problems.push(format!("line {}: `</{name}>` closes nothing", line_of(at)));
                    return problems;
                }
            }
        } else if tag.ends_with("/>") || VOID.contains(&name.as_str()) {
        } else if name == "script" || name == "style" {
            let close = format!("</{name}>");
            i = html[i..]
                .find(&close)
                .map_or(html.len(), |e| i + e + close.len());
        } else {
            stack.push((name, line_of(at)));
        }
    }
    for (open, line) in stack {
        problems.push(format!("`<{open}>` opened on line {line} is never closed"));
    }
    problems
}

/// Ids used more than once in a page.
pub fn duplicate_ids(html: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut dups = BTreeSet::new();
    for id in attribute_values(html, "id") {
        if !seen.insert(id.clone()) {
            dups.insert(id);
        }
    }
    dups.into_iter().collect()
}
