//! Browser tests of the self-quiz (templates/quiz.html + templates/static/quiz.js) in
//! headless Chromium: the page works from `file://` with no network request, shows one
//! card at a time, reveals and grades from the keyboard, keeps its history in
//! localStorage across a reload, and exports it as JSON. And of the site's search
//! (templates/static/search.js), from `file://` too.
//!
//! Chromium is looked for as `$CHROME`, `/usr/bin/chromium`, then `chromium`,
//! `chromium-browser`, `google-chrome` or `google-chrome-stable` on `PATH`. Without it
//! the tests print "skipped: browser tests need chromium" and pass, unless
//! `NOTEBUILD_BROWSER_TESTS=1` or `CI` is set (as for the tests of `../shared`), in which
//! case they fail.
//!
//! How Chromium is driven: the test starts `chromium --headless
//! --remote-debugging-port=0` itself, reads the port from the profile's
//! `DevToolsActivePort` file and speaks the DevTools protocol (CDP: JSON messages) over
//! one websocket with `tungstenite`, using `serde_json`, already a dependency. That is
//! the lightest well-kept way: one small synchronous crate, no async runtime, no
//! generated bindings for the whole protocol (the `headless_chrome` crate compiles
//! those, plus its own process and download machinery), and a test that shows every
//! protocol call it relies on. The websocket goes to 127.0.0.1 only.
//!
//! localStorage and Chromium's commit race: Chromium (156, with RenderDocument: a new
//! frame host for every cross-document navigation) binds a document's localStorage when
//! the page first touches it, and the browser silently refuses the binding when it has
//! not yet processed that document's commit (content/browser/dom_storage/
//! dom_storage_context_wrapper.cc: "it's possible this is the result of a race condition
//! between committing the new document and binding the DOM Storage. For now, we'll just
//! fail to bind"). Every page of the site reads localStorage in its `<head>` (the theme),
//! so on a busy machine about one load in a hundred gets a store that is not connected:
//! it reads as empty, takes writes that never leave the page, and stays so until the
//! next load. That is no fault of the site (a page cannot tell such a store from an
//! empty one), but a test that writes on one page and reads on the next would fail.
//! So every load of a `file://` page here is checked before the test goes on: a second
//! tab that never navigates (its store connected after its load) writes a fresh value
//! under [`PROBE_KEY`], and the page under test must see it arrive; a page that does not
//! is loaded again (a bounded number of times). And a test that needs a write to have
//! reached the browser before it leaves the page waits until that second tab sees it
//! ([`Browser::wait_stored`]).

#[allow(dead_code)]
mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Error, TestResult, bundled_vault, fail};
use serde::Deserialize;
use serde_json::{Value, json};
use tempfile::TempDir;
use tungstenite::{Message, WebSocket};

/// The quiz page under test, relative to the root of the site built from the bundled
/// vault: the all-cards quiz (a deck's page is `quiz/<deck-slug>.html`).
const QUIZ_PAGE: &str = "quiz/index.html";

/// A hand-written quiz page that follows the page contract, with cards of every kind
/// and state; tested as `<site>/quiz/index.html` with `templates/static/` as
/// `<site>/static/`.
const FIXTURE_PAGE: &str = "tests/fixtures/quiz/index.html";

/// The localStorage key of the learner's history (quiz.js `STORAGE_KEY`).
const STORAGE_KEY: &str = "notebuild.quiz.v1";

/// How long any one wait (Chromium's start, a page load, a condition) may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The localStorage key under which the probe tab writes the value each loaded page must
/// see (see the module's documentation); removed again after each check.
const PROBE_KEY: &str = "notebuild.test.storage-probe";

/// How long a loaded page may take to see the probe tab's write before its store counts
/// as not connected: a connected page sees it within milliseconds.
const PROBE_WAIT: Duration = Duration::from_secs(3);

/// How many times a page whose store is not connected is loaded again before the test
/// fails.
const PROBE_LOADS: usize = 5;

// ---------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------

/// The generated all-cards quiz of the bundled vault, reviewed from the keyboard.
#[test]
fn generated_quiz_page_reviews_offline_in_chromium() -> TestResult {
    let Some(chrome) = chromium_or_skip()? else {
        return Ok(());
    };
    let (dir, site) = bundled_site()?;
    let page = site.join(QUIZ_PAGE);
    if !page.is_file() {
        return Err(fail(format!(
            "the build wrote no {QUIZ_PAGE}: notebuild does not generate the quiz page"
        )));
    }
    let mut browser = Browser::launch(&chrome, dir.path())?;
    let tab = browser.open_tab(None)?;
    review_scenario(&mut browser, &tab, &page, None)?;
    Ok(())
}

/// TeX that tries to write HTML into the page: on the note's page, its quiz page and the
/// report page, nothing of it runs and no element of it exists.
#[test]
fn tex_never_runs_script_on_any_page_in_chromium() -> TestResult {
    let Some(chrome) = chromium_or_skip()? else {
        return Ok(());
    };
    const PAYLOADS: &[&str] = &[
        r"\operatorname{</mi><img src=x onerror=window.__pwned=1>}(x)",
        r"\operatorname*{</mi><img src=x onerror=window.__pwned=2>}(x)",
        r"\mathop{</mi><img src=x onerror=window.__pwned=3>}(x)",
        r"\text{<img src=x onerror=window.__pwned=4>}",
        r"\mathrm{</mi><svg onload=window.__pwned=5>}",
    ];
    let mut note = String::from("---\ntags: [flashcards]\n---\n# Payloads\n\n");
    for (k, payload) in PAYLOADS.iter().enumerate() {
        note.push_str(&format!(
            "Inline ${payload}$ and display:\n\n$${payload}$$\n\n"
        ));
        note.push_str(&format!("Card {k}: ${payload}$::answer ${payload}$\n\n"));
        note.push_str(&format!("$$\\frac{{d}}{{dx}} {payload} x = 1$$\n\n"));
    }
    let dir = tempfile::tempdir()?;
    let vault = dir.path().join("vault");
    fs::create_dir_all(&vault)?;
    fs::write(vault.join("Payloads.md"), note)?;
    let site = dir.path().join("site");
    common::build(dir.path(), &vault, &site, &[])?.expect_code(0)?;
    let mut browser = Browser::launch(&chrome, dir.path())?;
    let tab = browser.open_tab(None)?;
    for page in ["payloads.html", "quiz/index.html", "checks.html"] {
        let path = site.join(page);
        if !path.is_file() {
            return Err(fail(format!("the build wrote no {page}")));
        }
        browser.navigate(&tab, &file_url(&path)?)?;
        browser.wait_until(&tab, "document.readyState === 'complete'")?;
        // Let a failed image load fire its handler, were there one.
        std::thread::sleep(Duration::from_millis(300));
        let pwned = browser.eval(&tab, "window.__pwned === undefined ? 0 : window.__pwned")?;
        assert_eq!(pwned, json!(0), "{page}: payload {pwned} ran");
        let injected = browser.eval(
            &tab,
            "document.querySelectorAll('img[src=\"x\"], svg[onload], [onerror]').length",
        )?;
        assert_eq!(injected, json!(0), "{page}: injected elements");
    }
    Ok(())
}

/// Raw HTML and script URLs in a note and in its flashcards, built with `html: safe`: on
/// the note's page, its quiz page and the report page, nothing of them runs and no
/// element, event handler or script URL of them is in the DOM. The same vault built
/// without the setting keeps them (and they run): the test would see it.
#[test]
fn safe_html_never_runs_note_script_on_any_page_in_chromium() -> TestResult {
    let Some(chrome) = chromium_or_skip()? else {
        return Ok(());
    };
    // Each sets `window.__pwned` to its own number if it ever runs.
    const PAYLOADS: &[&str] = &[
        r#"<img src=x onerror="window.__pwned=1">"#,
        r#"<script>window.__pwned=2</script>"#,
        r#"<a href="javascript:window.__pwned=3">a3</a>"#,
        "[a4](javascript:window.__pwned=4)",
        "![a5](javascript:window.__pwned=5)",
        r#"<svg onload="window.__pwned=6"></svg>"#,
        "[a7](<jAvA\tscript:window.__pwned=7>)",
        "[a8](JaVaScRiPt:window.__pwned=8)",
        r#"<a href="jAvA&#9;script:window.__pwned=9">a9</a>"#,
        "![a10](<jAvA\tscript:window.__pwned=10>)",
        "<javascript:window.__pwned=11>",
        "[a12](data:text/html,<script>window.__pwned=12</script>)",
        "[a13](vbscript:window.__pwned=13)",
    ];
    let mut note = String::from("---\ntags: [flashcards]\n---\n# Payloads\n\n");
    for (k, payload) in PAYLOADS.iter().enumerate() {
        note.push_str(&format!("{payload}\n\nInline {payload} in text.\n\n"));
        note.push_str(&format!("Card {k}: {payload}::answer {payload}\n\n"));
        note.push_str(&format!(
            "Question {k} {payload}\n?\nMulti-line {payload}\n\n"
        ));
    }
    note.push_str("$$\\frac{d}{dx} x^2 = 2x$$\n");
    let dir = tempfile::tempdir()?;
    let mut sites = Vec::new();
    for safe in [true, false] {
        let vault = dir.path().join(if safe { "safe" } else { "raw" });
        fs::create_dir_all(&vault)?;
        fs::write(vault.join("Payloads.md"), &note)?;
        if safe {
            fs::write(vault.join("notebuild.yaml"), "html: safe\n")?;
        }
        let site = dir.path().join(if safe { "safe-site" } else { "raw-site" });
        common::build(dir.path(), &vault, &site, &["-q"])?.expect_code(0)?;
        sites.push((safe, site));
    }
    // What of the payloads is in the DOM: event handler attributes, script URLs (as the
    // browser reads them: tabs and case aside), scripts of theirs, their `img src=x`.
    const FOUND: &str = r#"(() => {
      const found = [];
      for (const e of document.querySelectorAll('*')) {
        for (const a of e.attributes) {
          if (a.name.startsWith('on')) found.push(`${e.localName} ${a.name}`);
          if (['href', 'src', 'xlink:href', 'action', 'formaction'].includes(a.name)) {
            let scheme = '';
            try { scheme = new URL(a.value, location.href).protocol; } catch (_) {}
            if (scheme === 'javascript:' || scheme === 'vbscript:' ||
                (scheme === 'data:' && !/^\s*data:image\/(?!svg)/i.test(a.value))) {
              found.push(`${e.localName} ${a.name}=${a.value}`);
            }
          }
        }
        if (e.localName === 'script' && e.textContent.includes('__pwned')) found.push('script');
        if (e.localName === 'img' && e.getAttribute('src') === 'x') found.push('img src=x');
      }
      return found;
    })()"#;
    let mut browser = Browser::launch(&chrome, dir.path())?;
    for (safe, site) in &sites {
        for page in ["payloads.html", "quiz/index.html", "checks.html"] {
            let path = site.join(page);
            if !path.is_file() {
                return Err(fail(format!("the build wrote no {page}")));
            }
            // A fresh page each time: a flag set by one page cannot hide in the next.
            let tab = browser.open_tab(None)?;
            browser.navigate(&tab, &file_url(&path)?)?;
            browser.wait_until(&tab, "document.readyState === 'complete'")?;
            // Let a failed image load fire its handler, were there one.
            std::thread::sleep(Duration::from_millis(300));
            let pwned = browser.eval(&tab, "window.__pwned === undefined ? 0 : window.__pwned")?;
            let found = browser.eval(&tab, FOUND)?;
            let found = found.as_array().ok_or("the DOM query returned no list")?;
            if *safe {
                assert_eq!(pwned, json!(0), "{page}: payload {pwned} ran");
                assert!(found.is_empty(), "{page}: payloads in the DOM: {found:?}");
            } else if page != "checks.html" {
                // The report page shows no note text; the others show the raw HTML as
                // Obsidian would, so the checks above are not vacuous.
                assert_ne!(pwned, json!(0), "{page}: without html: safe nothing ran");
                assert!(
                    found.len() >= 10,
                    "{page}: without html: safe, only {found:?} in the DOM"
                );
                let source = fs::read_to_string(&path)?;
                for kept in ["onerror=\"window.__pwned=1\"", "<script>window.__pwned=2"] {
                    assert!(
                        source.contains(kept),
                        "{page}: {kept} not kept without safe"
                    );
                }
            }
        }
    }
    Ok(())
}

/// The fixture page: the same review, then the details only a known deck can pin down
/// (order, counts, Again, scheduling numbers, import, the end of a session, storage
/// refused by the browser).
#[test]
fn quiz_fixture_reviews_offline_in_chromium() -> TestResult {
    let Some(chrome) = chromium_or_skip()? else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let site = dir.path().join("site");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    fs::create_dir_all(site.join("quiz"))?;
    fs::copy(root.join(FIXTURE_PAGE), site.join("quiz/index.html"))?;
    copy_dir(&root.join("templates/static"), &site.join("static"))?;
    let page = site.join("quiz/index.html");

    let mut browser = Browser::launch(&chrome, dir.path())?;
    let tab = browser.open_tab(None)?;
    let expected = Expected {
        first: "b7e41c02",
        due: 3,
        new: 4,
        after_reload: "5d0c9a11",
    };
    review_scenario(&mut browser, &tab, &page, Some(&expected))?;
    again_from_the_summary(&mut browser, &tab)?;
    scheduling_numbers(&mut browser, &tab)?;
    import_merges_and_reports(&mut browser, &tab, dir.path())?;
    nothing_due_then_study_ahead(&mut browser, &tab)?;
    browser.expect_clean(&tab)?;

    // A browser that refuses storage (as some do for file://): a visible notice, and the
    // session still works.
    let blocked = browser.open_tab(Some(
        "Object.defineProperty(window, 'localStorage', { configurable: true, get() { \
         throw new DOMException('The operation is insecure.', 'SecurityError'); } });",
    ))?;
    storage_refused(&mut browser, &blocked, &page)?;
    browser.expect_clean(&blocked)?;
    Ok(())
}

/// The search box of the generated site, from a page in a subfolder: "/" focuses it,
/// typing shows the best notes first with the words marked, a query that matches a
/// heading links to it, Enter opens the chosen result; all from `file://`, with no
/// network request.
#[test]
fn search_finds_notes_offline_in_chromium() -> TestResult {
    let Some(chrome) = chromium_or_skip()? else {
        return Ok(());
    };
    let (dir, site) = bundled_site()?;
    let mut browser = Browser::launch(&chrome, dir.path())?;
    let tab = browser.open_tab(None)?;
    browser.navigate(&tab, &file_url(&site.join("rules/chain-rule.html"))?)?;
    browser.wait_until(&tab, "!document.querySelector('form.site-search').hidden")?;

    browser.press(&tab, "/")?;
    browser.wait_until(&tab, "document.activeElement.id === 'nb-search'")?;
    browser.insert_text(&tab, "jacobian")?;
    browser.wait_until(
        &tab,
        "document.querySelectorAll('.site-search-result').length > 0",
    )?;
    let first = browser.eval(
        &tab,
        "document.querySelector('.site-search-result').getAttribute('href')",
    )?;
    assert_eq!(
        first, "../foundations/jacobians.html",
        "the note titled so comes first"
    );
    let marks = browser.eval(
        &tab,
        "Array.from(document.querySelectorAll('.site-search-result mark')).map(m => m.textContent.toLowerCase())",
    )?;
    assert!(
        marks
            .as_array()
            .is_some_and(|m| !m.is_empty() && m.iter().all(|t| t == "jacobian")),
        "the query's word is marked in the results: {marks}"
    );

    // two words, one in the title and one in a heading: the result goes to the heading
    browser.eval(
        &tab,
        "(() => { const i = document.getElementById('nb-search'); i.value = ''; \
         i.dispatchEvent(new Event('input')); })()",
    )?;
    browser.insert_text(&tab, "vector chain")?;
    browser.wait_until(
        &tab,
        "!!document.querySelector('.site-search-result[href$=\"#vector-chain-rule\"]')",
    )?;

    // nothing found: said so
    browser.insert_text(&tab, " zzzqqq")?;
    browser.wait_until(
        &tab,
        "!!document.querySelector('.site-search-empty') && \
         document.querySelectorAll('.site-search-result').length === 0",
    )?;

    // Enter opens the chosen (here the first) result
    browser.eval(
        &tab,
        "(() => { const i = document.getElementById('nb-search'); i.value = ''; \
         i.dispatchEvent(new Event('input')); })()",
    )?;
    browser.insert_text(&tab, "hessian")?;
    browser.wait_until(
        &tab,
        "document.querySelectorAll('.site-search-result').length > 0",
    )?;
    let chosen = browser.eval(&tab, "document.querySelector('.site-search-result').href")?;
    let from = browser.events.len();
    browser.press(&tab, "Enter")?;
    browser.wait_event(&tab, "Page.loadEventFired", from)?;
    let at = browser.eval(&tab, "location.href")?;
    assert_eq!(at, chosen, "Enter opened the first result");
    browser.expect_clean(&tab)?;
    Ok(())
}

/// In an aligned block, each verdict badge stands beside its own row, at desktop and
/// at phone width (tests/fixtures/badges).
#[test]
fn badges_stand_beside_their_rows_in_chromium() -> TestResult {
    let Some(chrome) = chromium_or_skip()? else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let site = dir.path().join("site");
    let vault = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/badges");
    common::build(dir.path(), &vault, &site, &[])?.expect_code(0)?;
    let mut browser = Browser::launch(&chrome, dir.path())?;
    let tab = browser.open_tab(None)?;
    // For every badge with a row: how far (px) its middle is from its row's middle.
    let offsets = "Array.from(document.querySelectorAll('.badge[data-row]')).map(b => { \
         const t = Array.from(b.closest('.math-row').querySelectorAll('mtable')) \
           .find(t => t.querySelectorAll(':scope > mtr').length == b.dataset.rows); \
         const r = t.querySelectorAll(':scope > mtr')[b.dataset.row].getBoundingClientRect(); \
         const c = b.getBoundingClientRect(); \
         return Math.abs((c.top + c.height / 2) - (r.top + r.height / 2)); })";
    for width in [1200, 390] {
        browser.tab_call(
            &tab,
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600}),
        )?;
        browser.navigate(&tab, &file_url(&site.join("aligned-derivatives.html"))?)?;
        browser.wait_until(
            &tab,
            "document.querySelectorAll('.badges-by-row').length === 2",
        )?;
        let found = browser.eval(&tab, offsets)?;
        let found: Vec<f64> = found
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        assert_eq!(found.len(), 5, "at {width}px: {found:?}");
        assert!(
            found.iter().all(|d| *d < 2.0),
            "at {width}px a badge stands off its row by {found:?} px"
        );
        // The laws and abstract rules the checker cannot judge carry no badge.
        let skips = browser.eval(&tab, "document.querySelectorAll('.badge-skip').length")?;
        assert_eq!(skips, json!(0), "at {width}px");
    }
    browser.expect_clean(&tab)?;
    Ok(())
}

/// Sets the tab's viewport.
fn set_width(browser: &mut Browser, tab: &Tab, width: u32, height: u32) -> TestResult {
    browser.tab_call(
        tab,
        "Emulation.setDeviceMetricsOverride",
        json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}),
    )?;
    Ok(())
}

/// Replaces the search box's text and lets search.js answer.
const TYPE_IN_SEARCH: &str = "(q => { const i = document.getElementById('nb-search'); i.focus(); \
     i.value = q; i.dispatchEvent(new Event('input', {bubbles: true})); })";

/// At 390 px no page of any kind pans sideways, not even while the reader types in
/// the search box (which then covers the width of the screen).
#[test]
fn no_page_pans_sideways_on_a_phone_in_chromium() -> TestResult {
    let Some(chrome) = chromium_or_skip()? else {
        return Ok(());
    };
    let (dir, site) = bundled_site()?;
    let mut browser = Browser::launch(&chrome, dir.path())?;
    let tab = browser.open_tab(None)?;
    set_width(&mut browser, &tab, 390, 844)?;
    for page in [
        "index.html",
        "review/common-mistakes.html",
        "rules/chain-rule.html",
        "checks.html",
        "tags.html",
        "tags/matrix-calculus.html",
        "graph.html",
        QUIZ_PAGE,
    ] {
        browser.navigate(&tab, &file_url(&site.join(page))?)?;
        browser.wait_until(&tab, "!document.querySelector('form.site-search').hidden")?;
        let width = browser.eval(&tab, "document.documentElement.scrollWidth")?;
        assert!(
            width.as_f64().is_some_and(|w| w <= 390.0),
            "{page} is {width} px wide at 390 px"
        );
        browser.eval(&tab, &format!("{TYPE_IN_SEARCH}('jacobian')"))?;
        browser.wait_until(
            &tab,
            "document.querySelectorAll('.site-search-result').length > 0",
        )?;
        let state = browser.eval(
            &tab,
            "(() => { const r = document.querySelector('.site-search-results').getBoundingClientRect(); \
             return [document.documentElement.scrollWidth, window.scrollX, r.left, r.right]; })()",
        )?;
        let n = |k: usize| state[k].as_f64().unwrap_or(f64::NAN);
        assert!(
            n(0) <= 390.0 && n(1) == 0.0,
            "{page} pans while searching: {state}"
        );
        assert!(
            n(2) >= 0.0 && n(3) <= 390.0 && n(3) - n(2) > 300.0,
            "{page}: the results are not a full-width overlay: {state}"
        );
    }
    browser.expect_clean(&tab)?;
    Ok(())
}

/// Names without spaces (folders, titles, missing embeds) do not widen a phone's page.
#[test]
fn long_names_do_not_widen_a_phone_page_in_chromium() -> TestResult {
    let Some(chrome) = chromium_or_skip()? else {
        return Ok(());
    };
    let long = "a_folder_name_far_too_long_to_fit_on_any_phone_screen_at_all";
    let note = format!("{long}/{long}_note.md");
    let text = format!(
        "# {long}_title\n\nSee ![[{long}_missing.png]] and $\\frac{{d}}{{dx}} x^2 = 3x$.\n\n#{long}\n"
    );
    let (dir, vault) = common::temp_vault(&[(note.as_str(), text.as_str())])?;
    let site = dir.path().join("site");
    common::build(dir.path(), &vault, &site, &[])?;
    let mut browser = Browser::launch(&chrome, dir.path())?;
    let tab = browser.open_tab(None)?;
    set_width(&mut browser, &tab, 390, 844)?;
    let pages: Vec<String> = common::list_files(&site)?
        .into_iter()
        .filter(|p| p.ends_with(".html"))
        .collect();
    assert!(pages.len() >= 5, "{pages:?}");
    for page in pages {
        browser.navigate(&tab, &file_url(&site.join(&page))?)?;
        let width = browser.eval(&tab, "document.documentElement.scrollWidth")?;
        assert!(
            width.as_f64().is_some_and(|w| w <= 390.0),
            "{page} is {width} px wide at 390 px"
        );
    }
    Ok(())
}

/// A badge's details open in place, inside the viewport: a popover on a desktop, a
/// panel under the formula on a phone; hint first, then both sides, then a link to the
/// badge's entry in the report. The header's line links to the badge and opens it.
#[test]
fn badge_details_open_inside_the_viewport_in_chromium() -> TestResult {
    let Some(chrome) = chromium_or_skip()? else {
        return Ok(());
    };
    let (dir, site) = bundled_site()?;
    let mut browser = Browser::launch(&chrome, dir.path())?;
    let tab = browser.open_tab(None)?;
    let page = file_url(&site.join("review/common-mistakes.html"))?;
    for (width, kind) in [(1280, "badge-pop"), (390, "badge-panel")] {
        set_width(&mut browser, &tab, width, 800)?;
        browser.navigate(&tab, &page)?;
        browser.wait_until(&tab, "document.documentElement.classList.contains('js')")?;
        // the header's link goes to the badge and opens it
        browser.eval(&tab, "document.querySelector('.note-checks a').click()")?;
        browser.wait_until(&tab, "!!document.querySelector('.badge-pop, .badge-panel')")?;
        let found = browser.eval(
            &tab,
            "(() => { const p = document.querySelector('.badge-pop, .badge-panel'); \
             const r = p.getBoundingClientRect(); const t = p.textContent; \
             return {kind: p.className, left: r.left, right: r.right, \
               width: document.documentElement.clientWidth, \
               scroll: document.documentElement.scrollWidth, \
               order: [t.indexOf('Likely cause'), t.indexOf('right side'), t.indexOf('Seed')], \
               report: p.querySelector('a.badge-pop-report').getAttribute('href'), \
               expanded: document.querySelector('.badge-fail[aria-expanded]').getAttribute('aria-expanded')}; })()",
        )?;
        assert_eq!(found["kind"], kind, "at {width}px: {found}");
        let n = |k: &str| found[k].as_f64().unwrap_or(f64::NAN);
        assert!(
            n("left") >= 0.0 && n("right") <= n("width") && n("scroll") <= n("width"),
            "at {width}px the details leave the viewport: {found}"
        );
        let order: Vec<i64> = found["order"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default();
        assert!(
            order.len() == 3 && order[0] >= 0 && order[0] < order[1] && order[1] < order[2],
            "hint, both sides, seed in that order: {found}"
        );
        assert_eq!(found["expanded"], "true");
        let report = found["report"].as_str().unwrap_or("");
        let id = report
            .strip_prefix("../checks.html#")
            .ok_or_else(|| fail(format!("the details do not link to the report: {report}")))?;
        let checks = std::fs::read_to_string(site.join("checks.html"))?;
        assert!(checks.contains(&format!("id=\"{id}\"")), "no entry {id}");
        // Escape closes it
        browser.press(&tab, "Escape")?;
        browser.wait_until(&tab, "!document.querySelector('.badge-pop, .badge-panel')")?;
    }
    browser.expect_clean(&tab)?;
    Ok(())
}

/// The explorer marks the current note, its folders fold; the theme toggle's choice
/// holds on the next page; hovering a link to a note shows its preview; the local
/// graph shows the note's neighbours; the graph page draws every note.
#[test]
fn explorer_theme_previews_and_graphs_work_offline_in_chromium() -> TestResult {
    let Some(chrome) = chromium_or_skip()? else {
        return Ok(());
    };
    let (dir, site) = bundled_site()?;
    let mut browser = Browser::launch(&chrome, dir.path())?;
    let tab = browser.open_tab(None)?;
    set_width(&mut browser, &tab, 1280, 900)?;
    browser.navigate(&tab, &file_url(&site.join("rules/chain-rule.html"))?)?;
    browser.wait_until(&tab, "!document.querySelector('nav.explorer').hidden")?;
    let current = browser.eval(
        &tab,
        "document.querySelector('.explorer [aria-current=page]').textContent",
    )?;
    assert_eq!(current, "Chain Rule");
    let folders = browser.eval(
        &tab,
        "document.querySelectorAll('.explorer details[data-folder]').length",
    )?;
    assert!(folders.as_u64().is_some_and(|n| n >= 3), "{folders}");
    // a folder folds
    browser.eval(
        &tab,
        "document.querySelector('.explorer details[data-folder] > summary').click()",
    )?;
    browser.wait_until(
        &tab,
        "!document.querySelector('.explorer details[data-folder]').open",
    )?;
    // and stays folded on the next page
    let folded = browser.eval(
        &tab,
        "document.querySelector('.explorer details[data-folder]').getAttribute('data-folder')",
    )?;
    browser.wait_stored(
        "notebuild.explorer",
        &format!("!!v && JSON.parse(v)[{folded}] === false"),
    )?;
    browser.navigate(&tab, &file_url(&site.join("foundations/jacobians.html"))?)?;
    browser.wait_until(&tab, "!document.querySelector('nav.explorer').hidden")?;
    let open = browser.eval(
        &tab,
        &format!(
            "document.querySelector('.explorer details[data-folder=\"' + {folded} + '\"]').open"
        ),
    )?;
    assert_eq!(open, false, "the folder {folded} opened again");
    browser.navigate(&tab, &file_url(&site.join("rules/chain-rule.html"))?)?;
    browser.wait_until(&tab, "!document.querySelector('nav.explorer').hidden")?;
    // the local graph: this note and its neighbours, this one marked
    browser.wait_until(
        &tab,
        "document.querySelectorAll('#nb-local-graph .graph-node').length >= 2",
    )?;
    let marked = browser.eval(
        &tab,
        "document.querySelectorAll('#nb-local-graph .graph-node.is-current').length",
    )?;
    assert_eq!(marked, json!(1));

    // the theme: automatic, then light, then dark; remembered on the next page
    browser.eval(&tab, "document.querySelector('.theme-toggle').click()")?;
    browser.eval(&tab, "document.querySelector('.theme-toggle').click()")?;
    assert_eq!(
        browser.eval(&tab, "document.documentElement.getAttribute('data-theme')")?,
        "dark"
    );
    let dark_bg = browser.eval(&tab, "getComputedStyle(document.body).backgroundColor")?;
    browser.wait_stored("notebuild.theme", "v === 'dark'")?;
    browser.navigate(&tab, &file_url(&site.join("index.html"))?)?;
    assert_eq!(
        browser.eval(&tab, "document.documentElement.getAttribute('data-theme')")?,
        "dark",
        "the theme is remembered across pages"
    );
    assert_eq!(
        browser.eval(&tab, "getComputedStyle(document.body).backgroundColor")?,
        dark_bg
    );

    // a preview of a link to a note, on hover, inside the viewport
    browser.navigate(&tab, &file_url(&site.join("start-here.html"))?)?;
    let at = browser.eval(
        &tab,
        "(() => { const a = document.querySelector('.note-content a.internal-link[href$=\"chain-rule.html\"]'); \
         a.scrollIntoView({block: 'center'}); const r = a.getBoundingClientRect(); \
         return [r.left + r.width / 2, r.top + r.height / 2]; })()",
    )?;
    let (x, y) = (at[0].as_f64().unwrap_or(0.0), at[1].as_f64().unwrap_or(0.0));
    browser.tab_call(
        &tab,
        "Input.dispatchMouseEvent",
        json!({"type": "mouseMoved", "x": x, "y": y}),
    )?;
    browser.wait_until(&tab, "!!document.querySelector('.link-preview')")?;
    let preview = browser.eval(
        &tab,
        "(() => { const p = document.querySelector('.link-preview'); const r = p.getBoundingClientRect(); \
         return [p.querySelector('.link-preview-title').textContent, r.left >= 0 && r.right <= innerWidth, \
           p.querySelectorAll('math').length > 0 || p.textContent.length > 40]; })()",
    )?;
    assert_eq!(preview, json!(["Chain Rule", true, true]));

    // the whole graph
    browser.navigate(&tab, &file_url(&site.join("graph.html"))?)?;
    browser.wait_until(
        &tab,
        "document.querySelectorAll('#nb-graph .graph-node').length >= 12",
    )?;
    browser.expect_clean(&tab)?;
    Ok(())
}

/// Search forgives a typo in a longer word, matches a formula whatever its fonts and
/// spacing, and shows snippets without TeX or flashcard markup.
#[test]
fn search_forgives_typos_and_matches_formulas_in_chromium() -> TestResult {
    let Some(chrome) = chromium_or_skip()? else {
        return Ok(());
    };
    let (dir, site) = bundled_site()?;
    let mut browser = Browser::launch(&chrome, dir.path())?;
    let tab = browser.open_tab(None)?;
    browser.navigate(&tab, &file_url(&site.join("index.html"))?)?;
    browser.wait_until(&tab, "!document.querySelector('form.site-search').hidden")?;
    let results = "Array.from(document.querySelectorAll('.site-search-result')).map(a => a.getAttribute('href'))";
    browser.eval(&tab, &format!("{TYPE_IN_SEARCH}('jacobain')"))?;
    browser.wait_until(
        &tab,
        "document.querySelectorAll('.site-search-result').length > 0",
    )?;
    let found = browser.eval(&tab, results)?;
    assert_eq!(found[0], "foundations/jacobians.html", "{found}");
    // a short word is not guessed at
    browser.eval(&tab, &format!("{TYPE_IN_SEARCH}('rulx')"))?;
    browser.wait_until(&tab, "!!document.querySelector('.site-search-empty')")?;
    // `x^T A x` finds the notes writing `\\mathbf{x}^T A \\mathbf{x}`, and only those
    browser.eval(&tab, &format!("{TYPE_IN_SEARCH}('x^T A x')"))?;
    browser.wait_until(
        &tab,
        "document.querySelectorAll('.site-search-result').length > 0",
    )?;
    let found = browser.eval(&tab, results)?;
    let found: Vec<&str> = found
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let notes = common::Site::read(&site)?;
    for url in &found {
        let page = notes.page(url)?;
        assert!(
            page.contains("\\mathbf{x}^T A \\mathbf{x}")
                || page.contains("\\mathbf{x}^TA\\mathbf{x}"),
            "{url} does not hold the formula"
        );
    }
    assert!(found.contains(&"review/common-mistakes.html"), "{found:?}");
    // snippets: no dollar signs, no backslashes, no card separators
    browser.eval(&tab, &format!("{TYPE_IN_SEARCH}('sigmoid')"))?;
    browser.wait_until(
        &tab,
        "document.querySelectorAll('.site-search-result').length > 1",
    )?;
    let snippets = browser.eval(
        &tab,
        "Array.from(document.querySelectorAll('.site-search-snippet')).map(s => s.textContent).join(' | ')",
    )?;
    let snippets = snippets.as_str().unwrap_or("");
    assert!(
        !snippets.contains('$') && !snippets.contains('\\') && !snippets.contains("frac"),
        "{snippets}"
    );
    browser.expect_clean(&tab)?;
    Ok(())
}

/// The Quiz link and each deck say how many cards are due and new today; an overdue
/// card's grade buttons come with the reason of their long intervals.
#[test]
fn quiz_counts_and_overdue_reason_in_chromium() -> TestResult {
    let Some(chrome) = chromium_or_skip()? else {
        return Ok(());
    };
    let (dir, site) = bundled_site()?;
    let mut browser = Browser::launch(&chrome, dir.path())?;
    let tab = browser.open_tab(None)?;
    // on a note page: the Quiz link counts the cards to study today
    browser.navigate(&tab, &file_url(&site.join("rules/chain-rule.html"))?)?;
    browser.wait_until(&tab, "!!document.querySelector('.site-nav .nav-count')")?;
    let count = browser.eval(
        &tab,
        "document.querySelector('.site-nav .nav-count').textContent",
    )?;
    let due_and_new = browser.eval(
        &tab,
        "document.querySelector('.site-nav .nav-count').getAttribute('aria-label')",
    )?;
    // the bundled cards were last reviewed in 2024: every scheduled one is due
    assert_eq!(count, "28", "{due_and_new}");
    assert_eq!(due_and_new, "10 due · 18 new today");
    browser.navigate(&tab, &file_url(&site.join(QUIZ_PAGE))?)?;
    browser.wait_ready(&tab)?;
    let decks = browser.eval(
        &tab,
        "Array.from(document.querySelectorAll('.quiz-deck-list .deck-due')).map(d => d.textContent)",
    )?;
    assert_eq!(
        decks,
        json!([
            "10 due · 18 new",
            "10 due · 18 new",
            "5 due · 11 new",
            "5 due · 7 new"
        ])
    );
    browser.press(&tab, " ")?;
    browser.wait_until(&tab, "!document.querySelector('.quiz-why').hidden")?;
    let why = browser.eval(&tab, "document.querySelector('.quiz-why').textContent")?;
    let why = why.as_str().unwrap_or("");
    assert!(
        why.starts_with("Last interval ") && why.contains(" d, overdue "),
        "{why}"
    );
    browser.expect_clean(&tab)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------

/// What the fixture's deck makes certain.
struct Expected {
    first: &'static str,
    due: u64,
    new: u64,
    after_reload: &'static str,
}

/// What the page shows, read in one go.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Snapshot {
    today: String,
    active: bool,
    current: Option<String>,
    visible: Vec<String>,
    revealed: bool,
    back_visible: bool,
    reveal_visible: bool,
    grades_visible: bool,
    grade_texts: Vec<String>,
    counts: Counts,
    counts_text: String,
    counts_live: String,
    progress_now: String,
    focus: String,
    notice_visible: bool,
    notice: String,
    finished_visible: bool,
    finished: String,
    cards: Vec<CardAttrs>,
}

#[derive(Debug, Deserialize, PartialEq, Clone, Copy)]
struct Counts {
    due: u64,
    new: u64,
    done: u64,
    later: u64,
}

#[derive(Debug, Deserialize)]
struct CardAttrs {
    id: String,
    due: String,
    interval: String,
    ease: String,
}

const SNAPSHOT: &str = r#"(() => {
  const q = window.notebuildQuiz;
  const $ = (s) => document.querySelector(s);
  const shown = (e) => !!e && e.checkVisibility();
  const cur = $('.quiz-card.quiz-current');
  const d = new Date();
  const p = (n) => String(n).padStart(2, '0');
  const a = document.activeElement;
  return {
    today: `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`,
    active: !!$('section.quiz.quiz-active'),
    current: q.current(),
    visible: [...document.querySelectorAll('.quiz-card')].filter(shown).map((li) => li.dataset.card),
    revealed: q.revealed(),
    backVisible: shown(cur && cur.querySelector('.flashcard-back')),
    revealVisible: shown($('.quiz-reveal')),
    gradesVisible: shown($('.quiz-grades')),
    gradeTexts: [...document.querySelectorAll('.quiz-grade')].map((b) => b.textContent),
    counts: q.counts(),
    countsText: ($('.quiz-counts') || {}).textContent || '',
    countsLive: ($('.quiz-counts') && $('.quiz-counts').getAttribute('aria-live')) || '',
    progressNow: ($('.quiz-progress') && $('.quiz-progress').getAttribute('aria-valuenow')) || '',
    focus: a ? a.tagName.toLowerCase() + '.' + [...a.classList].join('.') +
      (a.closest('.quiz-card') ? '@' + a.closest('.quiz-card').dataset.card : '') : '',
    noticeVisible: shown($('.quiz-notice')),
    notice: ($('.quiz-notice') || {}).textContent || '',
    finishedVisible: shown($('.quiz-finished')),
    finished: ($('.quiz-finished') || {}).textContent || '',
    cards: [...document.querySelectorAll('li.quiz-card')].map((li) => ({
      id: li.dataset.card, due: li.dataset.due || '', interval: li.dataset.interval || '',
      ease: li.dataset.ease || '' })),
  };
})()"#;

fn snapshot(browser: &mut Browser, tab: &Tab) -> Result<Snapshot, Error> {
    let value = browser.eval(tab, SNAPSHOT)?;
    serde_json::from_value(value.clone())
        .map_err(|e| fail(format!("unexpected page state {value}: {e}")))
}

/// The schedule a card starts from: the note's review comment, `None` for a new card
/// (no comment, or the plugin's 2000-01-01 placeholder). A due date may be a timestamp
/// (FSRS comments): its day counts.
fn note_schedule(card: &CardAttrs) -> Option<(i64, f64, f64)> {
    let day = card.due.get(..10).filter(|_| {
        let rest = &card.due[10..];
        rest.is_empty() || rest.starts_with('T') || rest.starts_with(' ')
    })?;
    if day == "2000-01-01" {
        return None;
    }
    let due = day_number(day)?;
    let interval = card.interval.parse().ok().filter(|&i: &f64| i > 0.0);
    let ease = card.ease.parse().ok().filter(|&e: &f64| e > 0.0);
    Some((due, interval.unwrap_or(1.0), ease.unwrap_or(250.0)))
}

/// The review order, worked out independently of quiz.js: cards due today or earlier
/// by due date (then page order), then new cards in page order. Returns (ids, due, new).
fn expected_queue(snap: &Snapshot) -> Result<(Vec<String>, u64, u64), Error> {
    let today = day_number(&snap.today).ok_or("the browser's date is not YYYY-MM-DD")?;
    let mut due: Vec<(i64, usize, &str)> = Vec::new();
    let mut new = Vec::new();
    for (i, card) in snap.cards.iter().enumerate() {
        match note_schedule(card) {
            Some((d, _, _)) if d <= today => due.push((d, i, &card.id)),
            Some(_) => {}
            None => new.push(card.id.clone()),
        }
    }
    due.sort();
    let (n_due, n_new) = (due.len() as u64, new.len() as u64);
    let mut ids: Vec<String> = due.into_iter().map(|(_, _, id)| id.to_string()).collect();
    ids.extend(new);
    Ok((ids, n_due, n_new))
}

/// The interval (days) and ease after "Good", as the plugin computes it (see quiz.js).
fn good_after(schedule: Option<(i64, f64, f64)>, today: i64) -> (i64, f64) {
    let (interval, ease, delay) = match schedule {
        Some((due, interval, ease)) => (interval, ease, (today - due).max(0) as f64),
        None => (1.0, 250.0, 0.0),
    };
    let interval = ((interval + delay / 2.0) * ease / 100.0).min(36525.0);
    let interval = (interval * 10.0).round() / 10.0;
    ((interval.round() as i64).max(1), ease)
}

/// Load, first card, Space, 3 (Good), counts, reload, the card is no longer due, its
/// history is stored, export gives valid JSON; no network request, no script error.
fn review_scenario(
    browser: &mut Browser,
    tab: &Tab,
    page: &Path,
    expected: Option<&Expected>,
) -> TestResult {
    browser.navigate(tab, &file_url(page)?)?;
    browser.wait_ready(tab)?;
    browser.eval(
        tab,
        &format!("localStorage.removeItem('{STORAGE_KEY}'), true"),
    )?;
    browser.wait_stored(STORAGE_KEY, "v === null")?;
    browser.reload(tab)?;

    let s = snapshot(browser, tab)?;
    if !s.active {
        return Err(fail(
            "quiz.js did not start a session (no section.quiz.quiz-active)",
        ));
    }
    let (queue, n_due, n_new) = expected_queue(&s)?;
    let first = queue
        .first()
        .ok_or("the quiz page has no due or new card to review")?
        .clone();
    if let Some(e) = expected {
        assert_eq!(first, e.first, "the fixture's first card");
        assert_eq!(
            (n_due, n_new),
            (e.due, e.new),
            "the fixture's due and new cards"
        );
    }
    assert_eq!(
        s.current.as_deref(),
        Some(first.as_str()),
        "the first card shown"
    );
    assert_eq!(
        s.visible,
        std::slice::from_ref(&first),
        "exactly one card is visible: {s:?}"
    );
    assert!(
        !s.revealed && !s.back_visible,
        "the answer starts hidden: {s:?}"
    );
    assert!(
        s.reveal_visible && !s.grades_visible,
        "Show answer, no grades yet: {s:?}"
    );
    let before = Counts {
        due: n_due,
        new: n_new,
        done: 0,
        later: s.counts.later,
    };
    assert_eq!(s.counts, before, "counts at the start");
    assert_eq!(
        s.counts_live, "polite",
        "the counts are an aria-live region"
    );
    assert!(
        s.counts_text.contains(&format!("Due {n_due}"))
            && s.counts_text.contains(&format!("New {n_new}"))
            && s.counts_text.contains("Done 0"),
        "counts as shown: {:?}",
        s.counts_text
    );

    // Space shows the answer and the four grades with their next intervals.
    browser.press(tab, " ")?;
    let s = snapshot(browser, tab)?;
    assert!(
        s.revealed && s.back_visible,
        "Space reveals the back: {s:?}"
    );
    assert!(
        s.grades_visible && !s.reveal_visible,
        "the grades replace Show answer"
    );
    let today = day_number(&s.today).ok_or("bad date")?;
    let card = s
        .cards
        .iter()
        .find(|c| c.id == first)
        .ok_or("the first card vanished")?;
    let (good_days, good_ease) = good_after(note_schedule(card), today);
    let labels: Vec<&str> = s.grade_texts.iter().map(|t| t.as_str()).collect();
    assert_eq!(labels.len(), 4, "four grade buttons: {labels:?}");
    for (text, name) in labels.iter().zip(["Again", "Hard", "Good", "Easy"]) {
        assert!(text.starts_with(&format!("{name} · ")), "button {text:?}");
    }
    if good_days <= 28 {
        assert!(
            labels[2].starts_with(&format!("Good · {good_days}d")),
            "Good shows its interval, {good_days}d: {labels:?}"
        );
    }
    assert!(
        s.focus.contains("flashcard-back"),
        "the answer has the focus: {}",
        s.focus
    );

    // 3 grades it Good: the next card comes, the counts move.
    browser.press(tab, "3")?;
    browser.wait_until(tab, "window.notebuildQuiz.counts().done === 1")?;
    let s = snapshot(browser, tab)?;
    let left = n_due + n_new - 1;
    assert_eq!(
        s.counts.due + s.counts.new,
        left,
        "one card fewer to go: {s:?}"
    );
    assert!(
        s.counts_text.contains("Done 1"),
        "counts: {:?}",
        s.counts_text
    );
    assert_eq!(s.progress_now, "1", "the progress bar moved");
    assert!(
        !s.revealed && !s.back_visible,
        "the next card starts hidden"
    );
    match queue.get(1) {
        Some(next) => {
            assert_eq!(s.current.as_ref(), Some(next), "the second card follows");
            assert_eq!(s.visible, std::slice::from_ref(next));
            assert!(
                s.focus.starts_with("summary") && s.focus.ends_with(&format!("@{next}")),
                "the next card's question has the focus: {}",
                s.focus
            );
        }
        None => assert!(s.finished_visible, "the session ends: {s:?}"),
    }

    // The history is stored, and survives a reload: the card is no longer due.
    browser.wait_stored(STORAGE_KEY, &format!("(v || '').indexOf({first:?}) >= 0"))?;
    browser.reload(tab)?;
    let s = snapshot(browser, tab)?;
    assert_ne!(
        s.current.as_ref(),
        Some(&first),
        "the graded card comes back first"
    );
    assert!(
        !s.visible.contains(&first),
        "the graded card is hidden after a reload"
    );
    assert_eq!(s.counts.done, 0);
    assert_eq!(
        s.counts.due + s.counts.new,
        left,
        "the graded card is not due: {s:?}"
    );
    assert_eq!(s.counts.later, before.later + 1, "it is scheduled later");
    if let Some(e) = expected {
        assert_eq!(s.current.as_deref(), Some(e.after_reload));
    }
    let stored = browser.eval(tab, &format!("localStorage.getItem('{STORAGE_KEY}')"))?;
    let stored: Value = serde_json::from_str(stored.as_str().ok_or("nothing stored")?)?;
    assert_eq!(stored["version"], 1, "stored history: {stored}");
    let entry = &stored["cards"][&first];
    assert_eq!(entry["reps"], 1, "{entry}");
    assert_eq!(entry["lapses"], 0, "{entry}");
    assert_eq!(entry["last"], s.today.as_str(), "{entry}");
    assert_eq!(entry["interval"], good_days, "Good's interval: {entry}");
    assert_eq!(
        entry["ease"].as_f64(),
        Some(good_ease),
        "Good keeps the ease"
    );
    let due = entry["due"]
        .as_str()
        .and_then(day_number)
        .ok_or("no due date")?;
    assert_eq!(due, today + good_days, "due = today + interval: {entry}");
    assert_eq!(entry["log"][0]["grade"], "good", "{entry}");

    // Export: the file the button would download is valid JSON with that history.
    let exported = browser.eval(tab, EXPORT_BY_BUTTON)?;
    assert_eq!(exported["type"], "application/json", "{exported}");
    let name = exported["name"].as_str().unwrap_or("");
    assert!(
        name.starts_with("notebuild-quiz-history-") && name.ends_with(".json"),
        "download name {name:?}"
    );
    let file: Value = serde_json::from_str(exported["text"].as_str().ok_or("no text")?)
        .map_err(|e| fail(format!("the export is not JSON: {e}")))?;
    assert_eq!(file["format"], "notebuild-quiz-history");
    assert_eq!(file["version"], 1);
    assert_eq!(
        file["cards"][&first], *entry,
        "the export holds the stored history"
    );

    browser.expect_clean(tab)
}

/// Clicks "Export history", catching the Blob and the download instead of saving it.
const EXPORT_BY_BUTTON: &str = r#"(async () => {
  let blob = null, name = null;
  const create = URL.createObjectURL, click = HTMLAnchorElement.prototype.click;
  URL.createObjectURL = (b) => { blob = b; return create.call(URL, b); };
  HTMLAnchorElement.prototype.click = function () { name = this.download; };
  try { document.querySelector('.quiz-export').click(); }
  finally { URL.createObjectURL = create; HTMLAnchorElement.prototype.click = click; }
  return { name, type: blob && blob.type, text: blob && await blob.text() };
})()"#;

/// Enter on the focused question reveals through the `<details>` itself; 1 (Again)
/// is a lapse and brings the card back at the end of the session.
fn again_from_the_summary(browser: &mut Browser, tab: &Tab) -> TestResult {
    browser.eval(
        tab,
        "document.querySelector('.quiz-current summary').focus(), true",
    )?;
    browser.press(tab, "Enter")?;
    browser.wait_until(tab, "window.notebuildQuiz.revealed()")?;
    let s = snapshot(browser, tab)?;
    assert!(s.back_visible, "Enter on the question opens it: {s:?}");
    let card = s.current.clone().ok_or("no card")?;
    let before = s.counts;
    browser.press(tab, "1")?;
    browser.wait_until(tab, "window.notebuildQuiz.counts().done === 1")?;
    let s = snapshot(browser, tab)?;
    assert_ne!(s.current.as_ref(), Some(&card), "another card comes first");
    assert_eq!(
        s.counts.due, before.due,
        "the lapsed card is still to do: {s:?}"
    );
    assert_eq!(s.counts.new, before.new);
    let entry = browser.eval(
        tab,
        &format!("JSON.parse(localStorage.getItem('{STORAGE_KEY}')).cards['{card}']"),
    )?;
    let today = day_number(&s.today).ok_or("bad date")?;
    assert_eq!(entry["lapses"], 1, "{entry}");
    assert_eq!(entry["interval"], 1, "Again: back to one day: {entry}");
    assert_eq!(entry["ease"], 250, "Again: ease 270 - 20: {entry}");
    assert_eq!(entry["due"].as_str().and_then(day_number), Some(today + 1));
    // Everything else first, then the lapsed card again.
    let remaining = s.counts.due + s.counts.new;
    for _ in 1..remaining {
        browser.press(tab, " ")?;
        browser.press(tab, "3")?;
    }
    browser.wait_until(tab, &format!("window.notebuildQuiz.current() === '{card}'"))?;
    browser.press(tab, " ")?;
    browser.press(tab, "3")?;
    browser.wait_until(tab, "window.notebuildQuiz.current() === null")?;
    let s = snapshot(browser, tab)?;
    assert!(
        s.finished_visible && s.finished.contains("Session complete"),
        "{s:?}"
    );
    assert!(
        s.focus.starts_with("h2.quiz-finished-title"),
        "focus: {}",
        s.focus
    );
    Ok(())
}

/// The scheduling function against numbers worked out by hand from the plugin's
/// formulas.
fn scheduling_numbers(browser: &mut Browser, tab: &Tab) -> TestResult {
    // (card, grade, today, expected (due, interval, ease))
    type Case = (Value, &'static str, &'static str, (&'static str, i64, i64));
    let cases: &[Case] = &[
        // New card: interval 1, ease 250.
        (Value::Null, "again", "2024-08-05", ("2024-08-06", 1, 230)),
        (Value::Null, "hard", "2024-08-05", ("2024-08-06", 1, 230)),
        // 1 × 2.5 = 2.5 → 3 days.
        (Value::Null, "good", "2024-08-05", ("2024-08-08", 3, 250)),
        // 1 × 2.7 × 1.3 = 3.51 → 3.5 → 4 days.
        (Value::Null, "easy", "2024-08-05", ("2024-08-09", 4, 270)),
        // Reviewed on its due date: 3 × 2.5 = 7.5 → 8; 3 × 2.7 × 1.3 = 10.53 → 11;
        // 3 × 0.5 = 1.5 → 2.
        (
            json!({"due": "2024-08-05", "interval": 3, "ease": 250}),
            "good",
            "2024-08-05",
            ("2024-08-13", 8, 250),
        ),
        (
            json!({"due": "2024-08-05", "interval": 3, "ease": 250}),
            "easy",
            "2024-08-05",
            ("2024-08-16", 11, 270),
        ),
        (
            json!({"due": "2024-08-05", "interval": 3, "ease": 250}),
            "hard",
            "2024-08-05",
            ("2024-08-07", 2, 230),
        ),
        (
            json!({"due": "2024-08-05", "interval": 30, "ease": 250}),
            "again",
            "2024-08-05",
            ("2024-08-06", 1, 230),
        ),
        // Four days late: Good (3 + 4/2) × 2.5 = 12.5 → 13; Easy (3 + 4) × 2.7 × 1.3
        // = 24.57 → 24.6 → 25; Hard (3 + 4/4) × 0.5 = 2.
        (
            json!({"due": "2024-08-05", "interval": 3, "ease": 250}),
            "good",
            "2024-08-09",
            ("2024-08-22", 13, 250),
        ),
        (
            json!({"due": "2024-08-05", "interval": 3, "ease": 250}),
            "easy",
            "2024-08-09",
            ("2024-09-03", 25, 270),
        ),
        (
            json!({"due": "2024-08-05", "interval": 3, "ease": 250}),
            "hard",
            "2024-08-09",
            ("2024-08-11", 2, 230),
        ),
        // Reviewed early: no negative delay. The ease never falls below 130.
        (
            json!({"due": "2024-08-10", "interval": 10, "ease": 140}),
            "hard",
            "2024-08-05",
            ("2024-08-10", 5, 130),
        ),
        // Intervals stop at 36525 days.
        (
            json!({"due": "2024-08-05", "interval": 30000, "ease": 300}),
            "good",
            "2024-08-05",
            ("2124-08-06", 36525, 300),
        ),
    ];
    for (card, grade, today, (due, interval, ease)) in cases {
        let got = browser.eval(
            tab,
            &format!("window.notebuildQuiz.schedule({card}, '{grade}', '{today}')"),
        )?;
        assert_eq!(
            got,
            json!({"due": due, "interval": interval, "ease": ease}),
            "schedule({card}, {grade}, {today})"
        );
    }
    let shown = browser.eval(
        tab,
        "[1, 28, 29, 45, 400].map((d) => window.notebuildQuiz.formatInterval(d))",
    )?;
    assert_eq!(shown, json!(["1d", "28d", "1mo", "1.5mo", "1.1y"]));
    Ok(())
}

/// Import through the file input: a valid entry is merged (and, being the learner's
/// own history, outranks the note's review comment), an invalid one is reported and
/// skipped; a file that is not a history changes nothing.
fn import_merges_and_reports(browser: &mut Browser, tab: &Tab, dir: &Path) -> TestResult {
    // Every card has been graded by now except f00dfeed, due in 2999 by its note.
    let before = snapshot(browser, tab)?;
    assert_eq!(before.current, None, "all reviewed: {before:?}");
    let file = dir.join("history.json");
    fs::write(
        &file,
        serde_json::to_string_pretty(&json!({
            "format": "notebuild-quiz-history",
            "version": 1,
            "cards": {
                "f00dfeed": {"due": "2024-01-05", "interval": 10, "ease": 250, "reps": 2,
                             "lapses": 0, "last": "2023-12-26",
                             "log": [{"at": "2023-12-26T10:00:00.000Z", "grade": "good"}]},
                "bad1": {"due": "tomorrow", "interval": 1, "ease": 250}
            }
        }))?,
    )?;
    browser.set_file_input(tab, "input.quiz-import-input", &file)?;
    browser.wait_until(
        tab,
        "document.querySelector('.quiz-message').textContent.includes('Imported')",
    )?;
    let message = browser.eval(
        tab,
        "(() => { const m = document.querySelector('.quiz-message'); \
         return { text: m.textContent, error: m.classList.contains('quiz-message-error'), \
                  role: m.getAttribute('role'), shown: m.checkVisibility() }; })()",
    )?;
    let text = message["text"].as_str().unwrap_or("");
    assert!(text.contains("1 card added"), "import report: {text}");
    assert!(
        text.contains("bad1") && text.contains("due is not a YYYY-MM-DD date"),
        "the invalid entry is named: {text}"
    );
    assert_eq!(
        message["error"], true,
        "errors are shown as such: {message}"
    );
    assert_eq!(message["role"], "alert");
    assert_eq!(message["shown"], true);
    let stored = browser.eval(
        tab,
        &format!("JSON.parse(localStorage.getItem('{STORAGE_KEY}')).cards"),
    )?;
    assert_eq!(stored["f00dfeed"]["reps"], 2, "merged: {stored}");
    assert!(stored.get("bad1").is_none(), "the invalid entry is skipped");
    let after = snapshot(browser, tab)?;
    assert_eq!(
        after.current.as_deref(),
        Some("f00dfeed"),
        "now due: {after:?}"
    );
    assert_eq!((after.counts.due, after.counts.new), (1, 0));
    assert_eq!(after.counts.later, before.counts.later - 1);

    let report = browser.eval(tab, "window.notebuildQuiz.importText('{\"cards\": 3}')")?;
    assert_eq!(report["ok"], false, "{report}");
    let text = browser.eval(tab, "document.querySelector('.quiz-message').textContent")?;
    assert!(
        text.as_str().unwrap_or("").starts_with("Nothing imported"),
        "{text}"
    );
    Ok(())
}

/// With every card scheduled later: "Nothing due", with counts and a way to study ahead.
fn nothing_due_then_study_ahead(browser: &mut Browser, tab: &Tab) -> TestResult {
    let report = browser.eval(
        tab,
        "(() => { const cards = {}; \
         for (const li of document.querySelectorAll('.quiz-card')) \
           cards[li.dataset.card] = { due: '2999-01-01', interval: 100, ease: 250, reps: 9, \
                                      lapses: 0, last: '2999-01-01', log: [] }; \
         return window.notebuildQuiz.importText(JSON.stringify({ cards })); })()",
    )?;
    assert_eq!(report["ok"], true, "{report}");
    let s = snapshot(browser, tab)?;
    assert_eq!(s.current, None);
    assert!(s.finished_visible, "{s:?}");
    assert!(
        s.finished.contains("Nothing due") && s.finished.contains("8 cards are scheduled later"),
        "{:?}",
        s.finished
    );
    assert!(s.finished.contains("Study ahead (8)"), "{:?}", s.finished);
    browser.eval(tab, "document.querySelector('.quiz-ahead').click(), true")?;
    let s = snapshot(browser, tab)?;
    assert!(
        s.current.is_some() && !s.finished_visible,
        "studying ahead: {s:?}"
    );
    assert_eq!(s.counts.due, 8);
    assert!(s.focus.starts_with("summary"), "focus: {}", s.focus);
    // A click on the question reveals the answer too (through the toggle event).
    browser.eval(
        tab,
        "document.querySelector('.quiz-current summary').click(), true",
    )?;
    browser.wait_until(tab, "window.notebuildQuiz.revealed()")?;
    let s = snapshot(browser, tab)?;
    assert!(s.back_visible && s.grades_visible, "{s:?}");
    Ok(())
}

/// localStorage throws: the notice shows, grading still works for the visit.
fn storage_refused(browser: &mut Browser, tab: &Tab, page: &Path) -> TestResult {
    browser.navigate(tab, &file_url(page)?)?;
    browser.wait_ready(tab)?;
    let s = snapshot(browser, tab)?;
    assert!(s.notice_visible, "a visible notice: {s:?}");
    assert!(
        s.notice
            .contains("does not let the page save your progress"),
        "{:?}",
        s.notice
    );
    assert_eq!(
        browser.eval(tab, "window.notebuildQuiz.storageAvailable()")?,
        false
    );
    let first = s.current.clone().ok_or("no card shown")?;
    browser.press(tab, " ")?;
    browser.press(tab, "3")?;
    browser.wait_until(tab, "window.notebuildQuiz.counts().done === 1")?;
    let exported = browser.eval(tab, "JSON.parse(window.notebuildQuiz.exportJson()).cards")?;
    assert_eq!(exported[&first]["reps"], 1, "kept in memory: {exported}");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Finding Chromium
// ---------------------------------------------------------------------------------------

/// Chromium: `$CHROME` (a path, or a name looked up on `PATH`) when set, else the first
/// of the usual places. `Err` when `$CHROME` names nothing: a wrong setting should not
/// pass for a missing browser.
fn find_chromium() -> Result<Option<PathBuf>, Error> {
    if let Some(chrome) = std::env::var_os("CHROME").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(&chrome);
        if path.is_file() {
            return Ok(Some(path));
        }
        return match on_path(&path.to_string_lossy()) {
            Some(found) => Ok(Some(found)),
            None => Err(fail(format!(
                "CHROME={} is neither a file nor a program on PATH",
                path.display()
            ))),
        };
    }
    let debian = Path::new("/usr/bin/chromium");
    if debian.is_file() {
        return Ok(Some(debian.to_path_buf()));
    }
    Ok([
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .find_map(|name| on_path(name)))
}

fn on_path(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return None;
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Chromium, or `None` (with a note) when it is missing and not required.
fn chromium_or_skip() -> Result<Option<PathBuf>, Error> {
    if let Some(path) = find_chromium()? {
        return Ok(Some(path));
    }
    if std::env::var("NOTEBUILD_BROWSER_TESTS").is_ok_and(|v| v == "1")
        || std::env::var_os("CI").is_some()
    {
        return Err(fail(
            "chromium is required (NOTEBUILD_BROWSER_TESTS=1 or CI is set) but was not \
             found: install it (apt-get install chromium) or point $CHROME at it",
        ));
    }
    println!("skipped: browser tests need chromium");
    Ok(None)
}

// ---------------------------------------------------------------------------------------
// A minimal DevTools protocol client
// ---------------------------------------------------------------------------------------

/// One page of the browser: its flattened CDP session.
#[derive(Clone)]
struct Tab {
    session: String,
}

/// Headless Chromium, its profile in a temporary folder, and the websocket to it.
struct Browser {
    ws: WebSocket<TcpStream>,
    // Dropped in this order: the process ends before its profile is removed.
    _process: Process,
    _profile: TempDir,
    log: PathBuf,
    next_id: u64,
    /// Every event received, in order.
    events: Vec<Value>,
    /// A blank `file://` page for the probe tab, in the test's scratch folder.
    probe_page: PathBuf,
    /// The probe tab, opened at the first check of a page's store.
    probe: Option<Tab>,
    /// The last value the probe tab wrote.
    probe_count: u64,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Asked to quit, Chromium ends its helper processes too; `Process` makes sure.
        self.next_id += 1;
        let close = json!({"id": self.next_id, "method": "Browser.close"});
        let _ = self.ws.send(Message::text(close.to_string()));
        let _ = self.ws.close(None);
    }
}

/// The browser's process: waited for a moment when dropped, then killed, on every path
/// (a failed start included), so that no test leaves a browser behind.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Browser {
    fn launch(chrome: &Path, scratch: &Path) -> Result<Browser, Error> {
        let profile = tempfile::tempdir_in(scratch)?;
        let log = scratch.join("chromium.log");
        let child = Command::new(chrome)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-default-apps",
                "--disable-extensions",
                "--disable-sync",
                "--mute-audio",
                "--password-store=basic",
                "--use-mock-keychain",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log)?)
            .spawn()
            .map_err(|e| fail(format!("cannot start {}: {e}", chrome.display())))?;
        let mut process = Process(child);

        // Chromium writes the port and the browser target's path once it listens.
        let port_file = profile.path().join("DevToolsActivePort");
        let start = Instant::now();
        let (port, path) = loop {
            if let Ok(text) = fs::read_to_string(&port_file) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    break (port.trim().parse::<u16>()?, path.trim().to_string());
                }
            }
            if let Some(status) = process.0.try_wait()? {
                return Err(fail(format!(
                    "chromium exited ({status}) before listening:\n{}",
                    fs::read_to_string(&log)
                        .unwrap_or_else(|e| format!("(its log could not be read: {e})"))
                )));
            }
            if start.elapsed() > TIMEOUT {
                let _ = process.0.kill();
                return Err(fail("chromium did not open its DevTools port in time"));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        // Blocking (with a bound) for the handshake; then short reads, so that waits
        // can check their deadline between messages.
        stream.set_read_timeout(Some(TIMEOUT))?;
        let url = format!("ws://127.0.0.1:{port}{path}");
        let (ws, _) = tungstenite::client(url.as_str(), stream)
            .map_err(|e| fail(format!("websocket handshake with {url}: {e}")))?;
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(200)))?;
        let probe_page = scratch.join("storage-probe.html");
        fs::write(
            &probe_page,
            "<!doctype html><title>storage probe</title><p>No script: the test reads and \
             writes localStorage from here.</p>\n",
        )?;
        Ok(Browser {
            ws,
            _process: process,
            _profile: profile,
            log,
            next_id: 0,
            events: Vec::new(),
            probe_page,
            probe: None,
            probe_count: 0,
        })
    }

    /// The next message, or `None` when none came within the socket's read timeout.
    fn receive(&mut self) -> Result<Option<Value>, Error> {
        match self.ws.read() {
            Ok(Message::Text(text)) => Ok(Some(serde_json::from_str(text.as_str())?)),
            Ok(_) => Ok(None),
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                Ok(None)
            }
            Err(e) => Err(fail(format!(
                "the DevTools connection failed: {e}\n{}",
                fs::read_to_string(&self.log)
                    .unwrap_or_else(|e| format!("(chromium's log could not be read: {e})"))
            ))),
        }
    }

    /// Sends one command and waits for its answer, keeping the events that arrive.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Result<Value, Error> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        self.ws.send(Message::text(message.to_string()))?;
        let start = Instant::now();
        loop {
            if let Some(value) = self.receive()? {
                if value["id"] == id {
                    if let Some(error) = value.get("error") {
                        return Err(fail(format!("{method}: {error}")));
                    }
                    return Ok(value["result"].clone());
                }
                if value.get("method").is_some() {
                    self.events.push(value);
                }
            }
            if start.elapsed() > TIMEOUT {
                return Err(fail(format!("{method}: no answer from chromium")));
            }
        }
    }

    fn tab_call(&mut self, tab: &Tab, method: &str, params: Value) -> Result<Value, Error> {
        let session = tab.session.clone();
        self.call(Some(&session), method, params)
    }

    /// Waits for an event of `tab` named `method` received after the first `from` events.
    fn wait_event(&mut self, tab: &Tab, method: &str, from: usize) -> Result<Value, Error> {
        let start = Instant::now();
        loop {
            if let Some(event) = self.events[from..]
                .iter()
                .find(|e| e["method"] == method && e["sessionId"] == tab.session.as_str())
            {
                return Ok(event.clone());
            }
            if let Some(value) = self.receive()?
                && value.get("method").is_some()
            {
                self.events.push(value);
            }
            if start.elapsed() > TIMEOUT {
                return Err(fail(format!("no {method} event in time")));
            }
        }
    }

    /// A new page with the domains the tests listen to enabled; `init` runs in every
    /// document before its own scripts.
    fn open_tab(&mut self, init: Option<&str>) -> Result<Tab, Error> {
        self.open_tab_in(init, false)
    }

    /// [`Browser::open_tab`], the new page behind the others when `background`.
    fn open_tab_in(&mut self, init: Option<&str>, background: bool) -> Result<Tab, Error> {
        let target = self.call(
            None,
            "Target.createTarget",
            json!({"url": "about:blank", "background": background}),
        )?;
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        )?;
        let tab = Tab {
            session: attached["sessionId"]
                .as_str()
                .ok_or("no CDP session")?
                .to_string(),
        };
        for domain in [
            "Page.enable",
            "Runtime.enable",
            "Network.enable",
            "Log.enable",
        ] {
            self.tab_call(&tab, domain, json!({}))?;
        }
        self.tab_call(
            &tab,
            "Emulation.setFocusEmulationEnabled",
            json!({"enabled": true}),
        )?;
        if let Some(source) = init {
            self.tab_call(
                &tab,
                "Page.addScriptToEvaluateOnNewDocument",
                json!({ "source": source }),
            )?;
        }
        Ok(tab)
    }

    fn navigate(&mut self, tab: &Tab, url: &str) -> TestResult {
        let from = self.events.len();
        let result = self.tab_call(tab, "Page.navigate", json!({ "url": url }))?;
        if let Some(error) = result.get("errorText") {
            return Err(fail(format!("cannot open {url}: {error}")));
        }
        self.wait_event(tab, "Page.loadEventFired", from)?;
        // (a load event of the page before may come late: wait for this one)
        let url = serde_json::to_string(url).map_err(|e| fail(e.to_string()))?;
        self.wait_until(
            tab,
            &format!(
                "document.readyState === 'complete' && decodeURI(location.href) === decodeURI({url})"
            ),
        )?;
        self.connect_storage(tab)
    }

    /// Reloads the quiz page and waits until quiz.js has set it up.
    fn reload(&mut self, tab: &Tab) -> TestResult {
        self.reload_page(tab)?;
        self.connect_storage(tab)?;
        self.wait_ready(tab)
    }

    /// Reloads the page and waits for its load.
    fn reload_page(&mut self, tab: &Tab) -> TestResult {
        let from = self.events.len();
        self.tab_call(tab, "Page.reload", json!({}))?;
        self.wait_event(tab, "Page.loadEventFired", from)?;
        self.wait_until(tab, "document.readyState === 'complete'")
    }

    /// Makes sure the page just loaded in `tab` has a connected localStorage, loading it
    /// again (at most [`PROBE_LOADS`] times) while it has not; a page that cannot use
    /// localStorage at all (not `file://`, or refused) is left as it is.
    fn connect_storage(&mut self, tab: &Tab) -> TestResult {
        for _ in 0..PROBE_LOADS {
            if self.storage_connected(tab)? {
                return Ok(());
            }
            let page = self.eval(tab, "location.href")?;
            eprintln!("note: the localStorage of {page} is not connected: loading it again");
            self.reload_page(tab)?;
        }
        let page = self.eval(tab, "location.href")?;
        Err(fail(format!(
            "Chromium left the localStorage of {page} unconnected on {PROBE_LOADS} loads in a \
             row (a value written from another tab never reached it): the race between \
             committing a document and binding its storage is rare, so something else is wrong"
        )))
    }

    /// Whether the page in `tab` sees a value the probe tab writes now (true too for a
    /// page without localStorage: there is nothing to connect).
    fn storage_connected(&mut self, tab: &Tab) -> Result<bool, Error> {
        let usable = self.eval(
            tab,
            "(() => { try { return location.protocol === 'file:' && !!window.localStorage; } \
             catch (e) { return false; } })()",
        )?;
        if usable != true {
            return Ok(true);
        }
        let probe = self.probe_tab()?;
        self.probe_count += 1;
        let value = format!("{}", self.probe_count);
        self.eval(
            &probe,
            &format!("localStorage.setItem('{PROBE_KEY}', '{value}'), true"),
        )?;
        let seen = format!("localStorage.getItem('{PROBE_KEY}') === '{value}'");
        let start = Instant::now();
        let connected = loop {
            if self.eval(tab, &seen)? == true {
                break true;
            }
            if start.elapsed() > PROBE_WAIT {
                break false;
            }
            std::thread::sleep(Duration::from_millis(25));
        };
        self.eval(
            &probe,
            &format!("localStorage.removeItem('{PROBE_KEY}'), true"),
        )?;
        Ok(connected)
    }

    /// The probe tab: a page of its own, behind the tested ones, on a blank `file://`
    /// page that runs no script, so that its store is first touched (and bound) by the
    /// test after its load, when Chromium has long committed it.
    fn probe_tab(&mut self) -> Result<Tab, Error> {
        if let Some(tab) = &self.probe {
            return Ok(tab.clone());
        }
        let tab = self.open_tab_in(None, true)?;
        let url = file_url(&self.probe_page)?;
        let from = self.events.len();
        let result = self.tab_call(&tab, "Page.navigate", json!({ "url": url }))?;
        if let Some(error) = result.get("errorText") {
            return Err(fail(format!("cannot open {url}: {error}")));
        }
        self.wait_event(&tab, "Page.loadEventFired", from)?;
        // (the load event may be about:blank's, which has no localStorage)
        self.wait_until(
            &tab,
            "document.readyState === 'complete' && location.protocol === 'file:'",
        )?;
        self.eval(&tab, "!!localStorage")?;
        self.probe = Some(tab.clone());
        Ok(tab)
    }

    /// Waits until the browser's store (as a page other than the tested one reads it)
    /// holds `key` with a value for which `condition` (JavaScript, the value as `v`, a
    /// string or null) is true: the page's write has left it.
    fn wait_stored(&mut self, key: &str, condition: &str) -> TestResult {
        let probe = self.probe_tab()?;
        let key = serde_json::to_string(key).map_err(|e| fail(e.to_string()))?;
        self.wait_until(
            &probe,
            &format!("((v) => {condition})(localStorage.getItem({key}))"),
        )
        .map_err(|e| {
            fail(format!(
                "the write to localStorage {key} never reached the browser: {e}"
            ))
        })
    }

    /// Waits until quiz.js has set the page up.
    fn wait_ready(&mut self, tab: &Tab) -> TestResult {
        self.wait_until(
            tab,
            "!!document.querySelector('section.quiz[data-quiz-ready]') && !!window.notebuildQuiz",
        )
        .map_err(|e| fail(format!("quiz.js did not start: {e}")))
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns its value.
    fn eval(&mut self, tab: &Tab, expression: &str) -> Result<Value, Error> {
        let result = self.tab_call(
            tab,
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        )?;
        if let Some(details) = result.get("exceptionDetails") {
            return Err(fail(format!(
                "script error in `{expression}`: {}",
                details["exception"]["description"]
                    .as_str()
                    .unwrap_or(&details.to_string())
            )));
        }
        Ok(result["result"]["value"].clone())
    }

    fn wait_until(&mut self, tab: &Tab, condition: &str) -> TestResult {
        let start = Instant::now();
        loop {
            if self.eval(tab, condition)? == true {
                return Ok(());
            }
            if start.elapsed() > TIMEOUT {
                return Err(fail(format!("timed out waiting for `{condition}`")));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Presses and releases one key, as a real keyboard would.
    fn press(&mut self, tab: &Tab, key: &str) -> TestResult {
        let (code, key_code, text) = match key {
            " " => ("Space".to_string(), 32, " "),
            "Enter" => ("Enter".to_string(), 13, "\r"),
            "/" => ("Slash".to_string(), 191, "/"),
            "Escape" => ("Escape".to_string(), 27, ""),
            d if d.len() == 1 && d.as_bytes()[0].is_ascii_digit() => {
                (format!("Digit{d}"), i64::from(d.as_bytes()[0]), d)
            }
            other => return Err(fail(format!("press: no key code for {other:?}"))),
        };
        let down = json!({
            "type": "keyDown", "key": key, "code": code, "text": text, "unmodifiedText": text,
            "windowsVirtualKeyCode": key_code, "nativeVirtualKeyCode": key_code,
        });
        self.tab_call(tab, "Input.dispatchKeyEvent", down)?;
        self.tab_call(
            tab,
            "Input.dispatchKeyEvent",
            json!({"type": "keyUp", "key": key, "code": code,
                   "windowsVirtualKeyCode": key_code, "nativeVirtualKeyCode": key_code}),
        )?;
        Ok(())
    }

    /// Types `text` into the focused field, as a keyboard's input would.
    fn insert_text(&mut self, tab: &Tab, text: &str) -> TestResult {
        self.tab_call(tab, "Input.insertText", json!({ "text": text }))?;
        Ok(())
    }

    /// Chooses `file` in the file input matching `selector`, as the learner would.
    fn set_file_input(&mut self, tab: &Tab, selector: &str, file: &Path) -> TestResult {
        let document = self.tab_call(tab, "DOM.getDocument", json!({}))?;
        let node = self.tab_call(
            tab,
            "DOM.querySelector",
            json!({"nodeId": document["root"]["nodeId"], "selector": selector}),
        )?;
        self.tab_call(
            tab,
            "DOM.setFileInputFiles",
            json!({"files": [file.to_str().ok_or("non-UTF-8 path")?], "nodeId": node["nodeId"]}),
        )?;
        Ok(())
    }

    /// Fails on any request that left the disk (http, https, ws, ...), any resource that
    /// failed to load, and any uncaught script error, in `tab` so far.
    fn expect_clean(&mut self, tab: &Tab) -> TestResult {
        // Collect what is still in flight.
        while let Some(value) = self.receive()? {
            if value.get("method").is_some() {
                self.events.push(value);
            }
        }
        let mine = |e: &&Value| e["sessionId"] == tab.session.as_str();
        let mut urls: BTreeMap<String, String> = BTreeMap::new();
        let mut problems = Vec::new();
        let mut requests = 0;
        for event in self.events.iter().filter(mine) {
            let params = &event["params"];
            match event["method"].as_str().unwrap_or("") {
                "Network.requestWillBeSent" => {
                    requests += 1;
                    let url = params["request"]["url"].as_str().unwrap_or("").to_string();
                    let scheme = url.split(':').next().unwrap_or("");
                    if !matches!(scheme, "file" | "data" | "blob" | "about") {
                        problems.push(format!("network request: {url}"));
                    }
                    urls.insert(params["requestId"].as_str().unwrap_or("").to_string(), url);
                }
                "Network.webSocketCreated" => {
                    problems.push(format!("websocket: {}", params["url"]));
                }
                "Network.loadingFailed" => {
                    let id = params["requestId"].as_str().unwrap_or("");
                    problems.push(format!(
                        "failed to load {}: {}",
                        urls.get(id).map_or(id, |u| u.as_str()),
                        params["errorText"]
                    ));
                }
                "Runtime.exceptionThrown" => {
                    let details = &params["exceptionDetails"];
                    problems.push(format!(
                        "script error: {}",
                        details["exception"]["description"]
                            .as_str()
                            .unwrap_or(&details["text"].to_string())
                    ));
                }
                "Log.entryAdded" if params["entry"]["level"] == "error" => {
                    problems.push(format!("console: {}", params["entry"]["text"]));
                }
                _ => {}
            }
        }
        if requests == 0 {
            problems.push("no request was recorded at all (is the Network domain on?)".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(fail(problems.join("\n")))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------

/// The bundled vault built into a fresh temporary folder's `site/`.
fn bundled_site() -> Result<(TempDir, PathBuf), Error> {
    let dir = tempfile::tempdir()?;
    let site = dir.path().join("site");
    let run = common::build(dir.path(), &bundled_vault(), &site, &[])?;
    run.expect_code(0)?;
    Ok((dir, site))
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
fn day_number(date: &str) -> Option<i64> {
    let mut parts = date.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Howard Hinnant's days-from-civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The `file://` URL of an absolute path.
fn file_url(path: &Path) -> Result<String, Error> {
    let path = path.canonicalize()?;
    let text = path.to_str().ok_or("non-UTF-8 path")?;
    let mut url = String::from("file://");
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"/-_.~".contains(&byte) {
            url.push(byte as char);
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    Ok(url)
}

fn copy_dir(from: &Path, to: &Path) -> TestResult {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
