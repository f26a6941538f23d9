//! Integration tests of `notebuild cards`: vaults in, Anki import files and JSON out.

#[allow(dead_code)]
mod common;

use std::path::Path;

use common::{Error, Run, TestResult, fail, notebuild, temp_vault, write};
use serde_json::Value;

fn cards(vault: &Path, args: &[&str]) -> Result<Run, Error> {
    let cwd = vault.parent().ok_or("the vault has no parent folder")?;
    let mut all = vec!["cards", vault.to_str().ok_or("non-UTF-8 temp path")?];
    all.extend_from_slice(args);
    notebuild(cwd, all)
}

fn cards_json(vault: &Path) -> Result<Value, Error> {
    let run = cards(vault, &["--format", "json"])?;
    run.expect_code(0)?;
    serde_json::from_str(&run.stdout).map_err(|e| fail(format!("not JSON ({e}):\n{}", run.stdout)))
}

const DECK: &str = "---\ntags: [flashcards/math/calculus]\n---\n# Derivatives\n\n\
Derivative of $x^2$::$2x$ <!--SR:!2024-08-05,3,250-->\n\n\
Sine and cosine:::$\\sin' = \\cos$\n<!--SR:!2024-08-01,1,230!2024-08-02,4,270-->\n\n\
The gradient of\n$\\mathbf{a}^T\\mathbf{x}$\n?\n$\\mathbf{a}^T$ in numerator layout\n\n\
The ==1;;Jacobian== of $\\mathbf{f}$ is ==2;;$m \\times n$;;shape==.\n\n\
`a::b` in code is no card, nor is $x::y$ in math.\n";

#[test]
fn json_lists_every_card_with_place_deck_and_schedule() -> TestResult {
    let (_dir, root) = temp_vault(&[
        ("Calculus/Derivatives.md", DECK),
        ("Untagged.md", "Q::A is no card without the tag\n"),
    ])?;
    let json = cards_json(&root)?;
    let list = json["cards"].as_array().ok_or("no cards")?;
    // 1 basic, 2 siblings, 1 multi-line, 2 clozes.
    assert_eq!(list.len(), 6, "{json:#}");
    for c in list {
        assert_eq!(c["file"], "Calculus/Derivatives.md");
        assert_eq!(c["deck"], "flashcards/math/calculus");
        assert!(c["id"].as_str().is_some_and(|id| id.len() == 16));
    }
    assert_eq!(list[0]["line"], 6);
    assert_eq!(list[0]["front"], "Derivative of $x^2$");
    assert_eq!(list[0]["back"], "$2x$");
    assert_eq!(list[0]["schedule"]["due"], "2024-08-05");
    assert_eq!(list[1]["kind"], "basic");
    assert_eq!(list[2]["kind"], "reversed");
    assert_eq!(list[2]["schedule"]["interval"], 4, "the second `!` entry");
    assert_eq!(list[2]["schedule"]["ease"], 270);
    assert_eq!(
        list[3]["line"], 11,
        "a multi-line card starts at its first line"
    );
    assert_eq!(
        list[3]["front"],
        "The gradient of\n$\\mathbf{a}^T\\mathbf{x}$"
    );
    assert!(list[3]["schedule"].is_null(), "a new card");
    assert_eq!(list[4]["kind"], "cloze");
    assert_eq!(list[4]["cloze"]["number"], 1);
    assert_eq!(list[4]["cloze"]["deletions"][0]["answer"], "Jacobian");
    assert_eq!(list[4]["cloze"]["deletions"][1]["hint"], "shape");
    assert_eq!(list[4]["cloze"]["deletions"][1]["asked"], false);
    assert_eq!(json["summary"]["cards"], 6);
    Ok(())
}

#[test]
fn anki_export_is_an_importable_text_file() -> TestResult {
    let (_dir, root) = temp_vault(&[("Calculus/Derivatives.md", DECK)])?;
    let run = cards(&root, &["--format", "anki"])?;
    run.expect_code(0)?;
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        &lines[..6],
        [
            "#separator:tab",
            "#html:true",
            "#guid column:1",
            "#notetype column:2",
            "#deck column:3",
            "#tags column:4"
        ]
    );
    let rows: Vec<Vec<&str>> = lines[6..].iter().map(|l| l.split('\t').collect()).collect();
    // Siblings make one Anki note: basic, reversed pair, multi-line, cloze.
    assert_eq!(rows.len(), 4, "{}", run.stdout);
    assert!(rows.iter().all(|r| r.len() == 6), "6 columns: {rows:?}");
    assert!(rows.iter().all(|r| r[2] == "flashcards::math::calculus"));
    assert_eq!(rows[0][1], "Basic");
    assert_eq!(rows[0][4], "Derivative of \\(x^2\\)");
    assert_eq!(rows[0][5], "\\(2x\\)");
    assert_eq!(rows[1][1], "Basic (and reversed card)");
    assert_eq!(
        rows[2][4],
        "The gradient of<br>\\(\\mathbf{a}^T\\mathbf{x}\\)"
    );
    assert_eq!(rows[3][1], "Cloze");
    assert_eq!(
        rows[3][4],
        "The {{c1::Jacobian}} of \\(\\mathbf{f}\\) is {{c2::\\(m \\times n\\)::shape}}."
    );
    // GUIDs are the cards' stable ids: the same after an unrelated edit.
    let json = cards_json(&root)?;
    assert_eq!(rows[0][0], json["cards"][0]["id"]);
    let edited = DECK.replace(
        "# Derivatives",
        "# Derivatives, revised\n\nA new paragraph.",
    );
    write(&root, "Calculus/Derivatives.md", edited)?;
    let again = cards(&root, &["--format", "anki"])?;
    let guids = |s: &str| -> Vec<String> {
        s.lines()
            .skip(6)
            .filter_map(|l| l.split('\t').next().map(str::to_string))
            .collect()
    };
    assert_eq!(guids(&run.stdout), guids(&again.stdout));
    Ok(())
}

#[test]
fn card_tags_are_configurable_and_output_can_go_to_a_file() -> TestResult {
    let (dir, root) = temp_vault(&[(
        "Drill.md",
        "#drill/linear-algebra\n\nTrace of $AB$::equals the trace of $BA$\n",
    )])?;
    let none = cards_json(&root)?;
    assert_eq!(none["summary"]["cards"], 0, "not tagged #flashcards");
    let out = dir.path().join("deck.txt");
    let run = cards(
        &root,
        &[
            "--card-tag",
            "drill",
            "--format",
            "anki",
            "-o",
            out.to_str().ok_or("path")?,
        ],
    )?;
    run.expect_code(0)?;
    let text = std::fs::read_to_string(&out)?;
    assert!(text.contains("\tdrill::linear-algebra\t"), "{text}");
    assert!(run.stderr.contains("1 card"), "{}", run.stderr);
    Ok(())
}

#[test]
fn safe_html_leaves_raw_html_and_script_urls_out_of_the_anki_export() -> TestResult {
    let note = "#flashcards\n\n\
                Q <img src=x onerror=alert(1)> [a](JaVaScRiPt:alert(2))::A <script>alert(3)</script> \
                ![b](<jAvA\tscript:alert(4)>) [c](https://example.com/)\n";
    // (the text between <script> and </script> stays, as text, as on the site)
    let unsafe_parts = [
        "onerror",
        "<script",
        "alert(1)",
        "alert(2)",
        "alert(4)",
        "javascript",
        "java\tscript",
        "java script",
    ];
    // by default, as in Obsidian, the cards' HTML and URLs pass through
    let (_dir, root) = temp_vault(&[("n.md", note)])?;
    let run = cards(&root, &["--format", "anki"])?;
    run.expect_code(0)?;
    assert!(run.stdout.contains("onerror=alert(1)"), "{}", run.stdout);
    assert!(run.stdout.contains("<script>alert(3)"), "{}", run.stdout);
    // --safe-html, or html: safe in notebuild.yaml
    let (_dir2, safe_root) = temp_vault(&[("n.md", note), ("notebuild.yaml", "html: safe\n")])?;
    for (vault, flags) in [
        (&root, &["--format", "anki", "--safe-html"][..]),
        (&safe_root, &["--format", "anki"][..]),
    ] {
        let run = cards(vault, flags)?;
        run.expect_code(0)?;
        for gone in unsafe_parts {
            let lower = run.stdout.to_lowercase();
            assert!(!lower.contains(gone), "{gone} in {}", run.stdout);
        }
        assert!(run.stdout.contains("\tQ  a\t"), "{}", run.stdout);
        assert!(
            run.stdout
                .contains("<a href=\"\"https://example.com/\"\">c</a>"),
            "{}",
            run.stdout
        );
    }
    Ok(())
}

#[test]
fn the_export_is_never_written_into_the_vault() -> TestResult {
    let (_dir, root) = temp_vault(&[("Deck.md", DECK)])?;
    for target in ["Deck.md", "sub/new.txt", "./other.txt"] {
        if let Some(folder) = std::path::Path::new(target).parent() {
            std::fs::create_dir_all(root.join(folder))?;
        }
        let path = root.join(target);
        let run = cards(&root, &["-o", path.to_str().ok_or("path")?])?;
        run.expect_code(2)?;
        assert!(run.stderr.contains("inside the vault"), "{}", run.stderr);
    }
    assert_eq!(std::fs::read_to_string(root.join("Deck.md"))?, DECK);
    assert!(!root.join("sub/new.txt").exists());
    Ok(())
}

#[test]
fn the_seed_notes_callout_cards_are_found() -> TestResult {
    let Some(seed) = common::shared("seed/matrix-calculus.md")? else {
        return Ok(());
    };
    let (_dir, root) = temp_vault(&[("matrix-calculus.md", &std::fs::read_to_string(&seed)?)])?;
    let json = cards_json(&root)?;
    let list = json["cards"].as_array().ok_or("no cards")?;
    assert_eq!(list.len(), 7, "{json:#}");
    for c in list {
        assert_eq!(c["deck"], "flashcards");
        assert_eq!(c["schedule"]["due"], "2024-08-05");
        assert!(!c["back"].as_str().unwrap_or_default().is_empty(), "{c}");
    }
    Ok(())
}

#[test]
fn bundled_vault_cards() -> TestResult {
    let json = cards_json(&common::bundled_vault())?;
    assert_eq!(json["summary"]["cards"], 28, "{:#}", json["summary"]);
    Ok(())
}

// =======================================================================================
// On the site
// =======================================================================================

const SITE_DECK: &str = "---\ntags: [flashcards/math]\n---\n# Cards\n\n\
Intro line.\n\n\
Derivative of $\\mathbf{a}^T\\mathbf{x}$::$\\frac{\\partial}{\\partial \\mathbf{x}} (\\mathbf{a}^T\\mathbf{x}) = \\mathbf{a}^T$ <!--SR:!2024-08-05,3,250-->\n\n\
Sine:::$\\cos$\n\n\
>[!question]- Gradient of $\\|\\mathbf{x}\\|^2$\n\
?\n\
> $\\nabla_{\\mathbf{x}} \\|\\mathbf{x}\\|^2 = 2\\mathbf{x}^T$\n\n\
The ==Jacobian== is a matrix.\n";

#[test]
fn cards_are_shown_in_their_note_and_on_quiz_pages() -> TestResult {
    let (dir, root) = temp_vault(&[("Cards.md", SITE_DECK), ("Other.md", "No cards here.\n")])?;
    let out = dir.path().join("site");
    let run = common::build(dir.path(), &root, &out, &[])?;
    run.expect_code(0)?;
    let site = common::Site::read(&out)?;
    let json = cards_json(&root)?;
    let ids: Vec<String> = json["cards"]
        .as_array()
        .ok_or("cards")?
        .iter()
        .map(|c| c["id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        ids.len(),
        5,
        "basic, reversed pair, callout, cloze: {json:#}"
    );

    // The note page: every card has its anchor; `::` cards are <details> cards whose
    // answer holds the identity's badge; the callout card hides its `?` line.
    let page = site.page("cards.html")?;
    for id in &ids {
        assert!(
            page.contains(&format!("id=\"card-{id}\"")),
            "card {id} has an anchor on its note's page"
        );
    }
    let cards = common::elements(page, "<details class=\"flashcard");
    assert_eq!(
        cards.len(),
        3,
        "the :: and ::: cards and the cloze: {cards:?}"
    );
    let summary =
        |d: &str| -> String { common::text_of(&d[..d.find("</summary>").unwrap_or(d.len())]) };
    assert_eq!(
        summary(cards[2]),
        "The [...] is a matrix.",
        "a cloze's front blanks its deletions: {}",
        cards[2]
    );
    assert!(
        cards[2].contains("<mark>Jacobian</mark>"),
        "and its back fills them in"
    );
    assert!(cards[0].contains(
        "<summary class=\"flashcard-front\">Derivative of <span class=\"math math-inline\"><math"
    ));
    assert!(cards[0].contains("class=\"flashcard-back\""));
    assert!(
        cards[0].contains("badge badge-pass"),
        "the identity's badge: {}",
        cards[0]
    );
    assert!(!cards[0].contains("SR:"), "no review comment");
    let callout = common::elements(page, "<details class=\"callout\"");
    assert_eq!(callout.len(), 1);
    assert!(callout[0].contains("data-flashcard"));
    assert!(
        !common::text_of(callout[0]).lines().any(|l| l.trim() == "?"),
        "{}",
        callout[0]
    );
    assert!(
        page.contains("<p>Intro line.</p>"),
        "other paragraphs untouched"
    );
    assert!(
        page.contains("<mark>Jacobian</mark>"),
        "the cloze card highlights its answer"
    );
    assert!(
        page.contains("quiz/index.html\">Quiz</a>"),
        "the navigation links the quiz"
    );
    assert!(
        page.contains("<a href=\"quiz/deck-flashcards-math.html\">flashcards › math</a> (5)"),
        "the note links its deck's quiz"
    );

    // The quiz pages: all cards, and one per deck and parent deck.
    let quiz = site.page("quiz/index.html")?;
    let items = common::elements(quiz, "<li class=\"quiz-card\"");
    assert_eq!(items.len(), 5);
    assert!(items[0].contains("data-due=\"2024-08-05\""));
    assert!(items[0].contains("data-interval=\"3\""));
    assert!(items[0].contains("data-ease=\"250\""));
    assert!(
        items[0].contains("<math"),
        "math rendered as on the note page"
    );
    assert!(
        items[0].contains("badge badge-pass"),
        "the identity's badge"
    );
    assert!(
        items[0].contains(&format!("href=\"../cards.html#card-{}\"", ids[0])),
        "a link back to the card's place: {}",
        items[0]
    );
    let cloze = items
        .iter()
        .find(|i| i.contains("data-kind=\"cloze\""))
        .ok_or("no cloze on the quiz page")?;
    assert!(
        !common::text_of(&cloze[..cloze.find("flashcard-back").unwrap_or(0)]).contains("Jacobian"),
        "the cloze's front hides the answer: {cloze}"
    );
    assert!(site.has("quiz/deck-flashcards.html"));
    assert!(site.has("quiz/deck-flashcards-math.html"));
    assert!(site.has("static/quiz.js") && site.has("static/quiz.css"));
    assert!(quiz.contains("<script src=\"../static/quiz.js\"></script>"));
    assert!(
        common::broken_links(&site).is_empty(),
        "{:?}",
        common::broken_links(&site)
    );
    Ok(())
}

#[test]
fn a_vault_without_cards_has_no_quiz() -> TestResult {
    let (dir, root) = temp_vault(&[("A.md", "Q::A, in a note without the flashcard tag\n")])?;
    let out = dir.path().join("site");
    common::build(dir.path(), &root, &out, &[])?.expect_code(0)?;
    let site = common::Site::read(&out)?;
    assert!(!site.has("quiz/index.html"));
    assert!(!site.page("a.html")?.contains(">Quiz</a>"));
    Ok(())
}

#[test]
fn tricky_cards_on_the_note_page_and_in_the_export() -> TestResult {
    let note = "#flashcards/Math\n\n\
> [!note] A plain callout\n> Nothing to ask.\n\n\
> [!question]- Capital of France\n> ?\n> Paris\n\n\
> Quoted question::quoted answer\n\n\
> [!question]- Derivative\n> Of $x^3$?\n> ?\n> $3x^2$\n\n\
Same::card\n\nSame::card\n\n\
- Listed::card in a list\n- a plain item\n\n\
Which rules?\n?\n- sum rule\n- product rule\n\n\
The inverse is ==$\\frac{1}{x_{i}}$;;a fraction==.\n";
    let other = "#flashcards/math\n\nLower::case deck\n";
    let (dir, root) = temp_vault(&[("Tricky.md", note), ("Other.md", other)])?;
    let out = dir.path().join("site");
    let run = common::build(dir.path(), &root, &out, &[])?;
    run.expect_code(0)?;
    run.expect_diagnostic("Tricky.md:19", &["repeats"])?;
    let site = common::Site::read(&out)?;
    let page = site.page("tricky.html")?;
    assert!(
        common::duplicate_ids(page).is_empty(),
        "{:?}",
        common::duplicate_ids(page)
    );
    // The plain callout is no card; the question callout (plain text) is.
    let callouts = common::elements(page, "<details class=\"callout\"");
    assert_eq!(callouts.len(), 2);
    assert!(callouts[0].contains("data-flashcard") && callouts[0].contains("Paris"));
    // A question going on below the title is part of the front, the summary.
    let summary = &callouts[1][..callouts[1].find("</summary>").unwrap_or(0)];
    assert!(common::text_of(summary).contains("Derivative") && summary.contains("x^3"));
    let body = &callouts[1][callouts[1].find("</summary>").unwrap_or(0)..];
    assert!(!body.contains("x^3") && body.contains("3x^2"), "{body}");
    assert!(!common::text_of(body).contains('?'), "{body}");
    assert!(!page.contains("data-callout=\"note\" data-flashcard"));
    // The quoted card and both copies of the repeated one are cards.
    let shown = common::elements(page, "<details class=\"flashcard");
    let fronts: Vec<String> = shown
        .iter()
        .map(|d| common::text_of(&d[..d.find("</summary>").unwrap_or(d.len())]))
        .collect();
    assert!(fronts.iter().any(|f| f == "Quoted question"), "{fronts:?}");
    assert!(
        fronts.iter().any(|f| f == "Listed"),
        "a list item's card: {fronts:?}"
    );
    assert!(page.contains("<li>a plain item</li>"));
    let listed = shown
        .iter()
        .find(|d| d.contains("Which rules?"))
        .ok_or("the card with a list answer is a card")?;
    assert!(
        listed.contains("<li>sum rule</li>") && listed.contains("<li>product rule</li>"),
        "its answer is the list: {listed}"
    );
    assert!(
        !page.contains("<p>Which rules?"),
        "and the list is not written twice"
    );
    assert_eq!(
        fronts.iter().filter(|f| *f == "Same").count(),
        2,
        "{fronts:?}"
    );
    // One deck, however it is spelled.
    assert!(site.has("quiz/deck-flashcards-math.html"));
    let deck = site.page("quiz/deck-flashcards-math.html")?;
    assert_eq!(common::elements(deck, "<li class=\"quiz-card\"").len(), 9);
    assert!(
        common::broken_links(&site).is_empty(),
        "{:?}",
        common::broken_links(&site)
    );

    let anki = cards(&root, &["--format", "anki"])?;
    let cloze = anki
        .stdout
        .lines()
        .find(|l| l.contains("\tCloze\t"))
        .ok_or("no cloze row")?;
    assert!(
        cloze.contains("{{c1::\\(\\frac{1}{x_{i} }\\)::a fraction}}"),
        "`}}}}` inside a deletion is written `}} }}`: {cloze}"
    );
    let guids: Vec<&str> = anki
        .stdout
        .lines()
        .skip(6)
        .filter_map(|l| l.split('\t').next())
        .collect();
    let mut unique = guids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), guids.len(), "every GUID once: {guids:?}");
    Ok(())
}
