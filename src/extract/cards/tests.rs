use super::*;
use crate::parse::ParsedNote;
use crate::vault::SourceFile;

fn parsed(path: &str, text: &str) -> ParsedNote {
    parse::parse(&SourceFile {
        path: path.into(),
        text: text.into(),
        modified: None,
    })
}

fn run(text: &str) -> (Vec<Card>, Vec<Diagnostic>) {
    cards(&parsed("deck.md", text), &CardSettings::default())
}

/// The cards of a note tagged `#flashcards` on its first line.
fn tagged(body: &str) -> Vec<Card> {
    let (cards, diagnostics) = run(&format!("#flashcards\n\n{body}"));
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    cards
}

fn sides(cards: &[Card]) -> Vec<(CardKind, &str, &str)> {
    cards
        .iter()
        .map(|c| (c.kind, c.front.as_str(), c.back.as_str()))
        .collect()
}

fn sm2(due: &str, interval: u32, ease: u32) -> Option<Schedule> {
    Some(Schedule::Sm2 {
        due: due.to_string(),
        interval,
        ease,
    })
}

/// A note of the bundled vault (`notes/`), which ships with the crate: a missing one
/// is a failure, never a skip.
fn bundled(rel: &str) -> String {
    let path = format!("{}/notes/{rel}", env!("CARGO_MANIFEST_DIR"));
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => text,
        Ok(_) => panic!("{path} is empty"),
        Err(e) => panic!("{path}: {e}"),
    }
}

/// A file of `../shared` (the public corpus and the seed note, laid beside the
/// checkout). When the whole folder is missing the test prints a note and is skipped
/// (`None`), except when the environment variable `CI` is set (to any value): CI must
/// run these tests, so there it fails. A file missing from a folder that is there, or
/// an empty one, always fails.
fn shared(rel: &str) -> Option<String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared");
    let path = format!("{root}/{rel}");
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => Some(text),
        Ok(_) => panic!("{path} is empty"),
        Err(e) if std::path::Path::new(root).is_dir() => panic!("{path}: {e}"),
        Err(e) if std::env::var_os("CI").is_some() => panic!(
            "{path}: {e}; CI is set, so this test must run: lay the shared folder beside \
             the checkout (or unset CI to skip it)"
        ),
        Err(_) => {
            println!("skipped: {path} does not exist (with CI set, this is a failure)");
            None
        }
    }
}

// ---------------------------------------------------------------------------------------
// Real notes.

#[test]
fn every_card_of_the_seed_note() {
    let Some(text) = shared("seed/matrix-calculus.md") else {
        return;
    };
    let note = parsed("matrix-calculus.md", &text);
    let (cards, diagnostics) = cards(&note, &CardSettings::default());
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let fronts: Vec<&str> = cards.iter().map(|c| c.front.as_str()).collect();
    assert_eq!(
        fronts,
        [
            "Write *gradient* of a function of 2 variables",
            "Write the Jacobian",
            r"The element-wise operations on vector $\mathbf{w}$ and $\mathbf{x}$ using $\bigcirc$",
            "Write the scalar expansion",
            "Write the chain rules",
            r"Calculate the gradient of neuron activation $activation(\mathbf{x}) = max(0, \mathbf{w \cdot x} + b)$",
            "Calculate the gradient of the neural network loss function",
        ]
    );
    for card in &cards {
        assert_eq!(card.kind, CardKind::Basic);
        assert_eq!(card.deck, ["flashcards"]);
        assert_eq!(card.callout.as_deref(), Some("question"));
        assert_eq!(card.schedule, sm2("2024-08-05", 3, 250));
        assert_eq!(card.note, "matrix-calculus.md");
        assert!(!card.back.contains("<!--"), "{}", card.back);
        assert!(
            !card.back.lines().any(|l| l.starts_with('>')),
            "{}",
            card.back
        );
        assert_eq!(
            note.text[card.range.clone()]
                .lines()
                .next()
                .map(|l| l.starts_with(">[!question]-")),
            Some(true)
        );
        assert!(note.text[card.range.clone()].ends_with("<!--SR:!2024-08-05,3,250-->"));
        assert_eq!(card.id.len(), 16);
    }
    let lines: Vec<usize> = cards.iter().map(|c| c.line).collect();
    assert_eq!(lines, [83, 94, 108, 121, 134, 145, 165]);
    let prompt_counts: Vec<usize> = cards.iter().map(|c| c.prompts.len()).collect();
    assert_eq!(prompt_counts, [1, 1, 4, 4, 3, 2, 1]);

    assert_eq!(
        cards[0].back,
        "$\\nabla f(x, y) = \\begin{bmatrix}\n\\frac{ \\partial f(x, y) }{ \\partial x }, \\frac{ \\partial f(x, y) }{ \\partial y }\n\\end{bmatrix}\n$"
    );
    assert_eq!(cards[0].prompts, [r"$\nabla f(x, y) = ?$"]);
    assert_eq!(cards[1].prompts, [r"$J_{x} = ?$"]);
    // `>` markers are gone; the lazy lines of a callout are kept as they are.
    assert_eq!(
        cards[3].back,
        "$\\frac{ \\partial}{ \\partial \\mathbf{x} }(\\mathbf{x} + z) = I$\n$\\frac{ \\partial}{ \\partial z }(\\mathbf{x} + z) = \\vec{1}$\n$\\frac{ \\partial  }{ \\partial \\mathbf{x} }(\\mathbf{x}z) = Iz$\n$\\frac{ \\partial  }{ \\partial z}(\\mathbf{x}z) =\\mathbf{x}$"
    );
    assert_eq!(
        cards[4].prompts,
        [
            "**Single-variable rule: **:",
            "**Single-variable total-derivative rule:**",
            "**Vector rule: **"
        ]
    );
    assert!(cards[5].back.starts_with("$\\frac{ \\partial activation(x) }{ \\partial \\mathbf{w} } =  \\begin{equation}\n\\begin{cases}"));
    assert_eq!(cards[5].back.lines().count(), 12);
    assert_eq!(cards[6].prompts.len(), 1);
    // The prompts are not part of the card, and lie between it and the next one.
    for pair in cards.windows(2) {
        let prompts = pair[0].prompts_range.clone().unwrap_or(0..0);
        assert!(pair[0].range.end < prompts.start && prompts.end < pair[1].range.start);
    }
    // Every id differs.
    let ids: BTreeSet<&str> = cards.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), cards.len());
}

#[test]
fn cards_of_the_bundled_vault() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/notes"));
    let vault = match crate::vault::load(root, &Default::default()) {
        Ok(vault) => vault,
        Err(e) => panic!("the bundled vault {}: {e}", root.display()),
    };
    let mut counts = Vec::new();
    let mut total = 0;
    for file in &vault.notes {
        let note = parse::parse(file);
        let (cards, diagnostics) = cards(&note, &CardSettings::default());
        assert!(diagnostics.is_empty(), "{}: {diagnostics:#?}", file.path);
        total += cards.len();
        if !cards.is_empty() {
            counts.push((file.path.clone(), cards.len()));
        }
    }
    counts.sort();
    assert_eq!(
        counts,
        [
            ("Review/Flashcards - applications.md".to_string(), 12),
            ("Review/Flashcards - foundations.md".to_string(), 16),
        ]
    );
    assert_eq!(total, 28);
}

#[test]
fn the_applications_note_in_detail() {
    let text = bundled("Review/Flashcards - applications.md");
    let (cards, diagnostics) = cards(
        &parsed("Review/Flashcards - applications.md", &text),
        &CardSettings::default(),
    );
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert_eq!(cards.len(), 12);
    // The deck comes from the status line, not from the front matter's `review` tag.
    assert!(cards.iter().all(|c| c.deck == ["flashcards", "ml"]));
    let kinds: Vec<CardKind> = cards.iter().map(|c| c.kind).collect();
    use CardKind::*;
    assert_eq!(
        kinds,
        [
            Basic, Basic, Basic, Basic, Reversed, Cloze, Basic, Basic, Reversed, Basic, Basic,
            Basic
        ]
    );
    // A callout written with `>` on every line, its review comment too.
    assert_eq!(cards[1].front, "Jacobian of softmax");
    assert!(
        cards[1]
            .back
            .starts_with(r"$\frac{\partial}{\partial \mathbf{x}} \text{softmax}")
    );
    assert_eq!(cards[1].schedule, sm2("2024-08-09", 6, 270));
    assert!(cards[1].prompts.is_empty());
    assert_eq!(cards[2].prompts.len(), 2);
    // `??`: two siblings; the sentence after it is a cloze, not a prompt.
    assert_eq!(cards[3].front, "Logistic sigmoid");
    assert_eq!(cards[4].front, r"$\sigma(z) = \frac{1}{1 + e^{-z}}$");
    assert_eq!(cards[4].back, "Logistic sigmoid");
    assert_ne!(cards[3].id, cards[4].id);
    assert_eq!(
        cards[5].front,
        r"The softmax Jacobian sends the vector ==[...]== to $\vec{0}$, so it is singular."
    );
    assert_eq!(
        cards[5].back,
        r"The softmax Jacobian sends the vector ==$\vec{1}$== to $\vec{0}$, so it is singular."
    );
    assert_eq!(cards[6].schedule, sm2("2024-08-10", 7, 290));
    assert_eq!(cards[7].front, "Normal equations of least squares");
    assert_eq!(cards[8].front, r"$X^T X\mathbf{w} = X^T\mathbf{y}$");
    assert_eq!(cards[10].back, "$A$");
    assert_eq!(cards[10].schedule, sm2("2024-08-08", 5, 250));
}

#[test]
fn the_foundations_note_takes_its_deck_from_the_front_matter() {
    let text = bundled("Review/Flashcards - foundations.md");
    let (cards, diagnostics) = cards(
        &parsed("Review/Flashcards - foundations.md", &text),
        &CardSettings::default(),
    );
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert_eq!(cards.len(), 16);
    assert!(cards.iter().all(|c| c.deck == ["flashcards", "calculus"]));
    let clozes: Vec<&str> = cards
        .iter()
        .filter(|c| c.kind == CardKind::Cloze)
        .map(|c| c.front.as_str())
        .collect();
    assert_eq!(
        clozes,
        [
            "In numerator layout, the derivative of a scalar with respect to a column vector is a ==[...]== vector.",
            r"The Jacobian of a map from $\mathbb{R}^n$ to $\mathbb{R}^m$ has ==[...]== rows and $n$ columns.",
            r"The Jacobian of a map from $\mathbb{R}^n$ to $\mathbb{R}^m$ has $m$ rows and ==[...]== columns.",
        ]
    );
    // A reversed multi-line card's prompts go with its forward sibling.
    let gradient: Vec<&Card> = cards
        .iter()
        .filter(|c| {
            c.front.starts_with("The gradient of a function")
                || c.back.starts_with("The gradient of a function")
        })
        .collect();
    assert_eq!(gradient.len(), 2);
    assert_eq!(gradient[0].prompts, [r"$\nabla f(x, y) = ?$"]);
    assert!(gradient[1].prompts.is_empty());
    let chain = cards
        .iter()
        .find(|c| c.front == "Write the three chain rules");
    assert_eq!(
        chain.map(|c| c.prompts.clone()),
        Some(vec![
            "**Single-variable rule:**".to_string(),
            "**Total-derivative rule:**".to_string(),
            "**Vector rule:**".to_string()
        ])
    );
    let last = cards.last().map(|c| (c.front.as_str(), c.schedule.clone()));
    assert_eq!(
        last,
        Some((
            r"Derivative of $\|\mathbf{x}\|_2^2$ with respect to $\mathbf{x}$",
            None
        ))
    );
}

#[test]
fn a_callout_card_with_a_question_line_of_its_own() {
    let Some(text) = shared("corpus/vault/Cards/Review deck.md") else {
        return;
    };
    let (cards, diagnostics) = cards(
        &parsed("Cards/Review deck.md", &text),
        &CardSettings::default(),
    );
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert_eq!(cards.len(), 6);
    assert_eq!(
        cards[0].front,
        "Determinant squared, trace of the inverse\n$\\frac{\\partial}{\\partial X} \\det(X)^2$ and $\\frac{\\partial}{\\partial X} \\operatorname{tr}(X^{-1})$"
    );
    assert_eq!(cards[0].prompts.len(), 2);
    assert_eq!(cards[0].schedule, sm2("2024-06-12", 4, 250));
    assert_eq!(cards[2].front, "Square root");
    assert_eq!(cards[5].schedule, sm2("2024-06-13", 5, 230));
}

#[test]
fn notes_without_a_flashcard_tag_hold_no_cards() {
    let (cards, diagnostics) = run("Question::Answer\n\nA ==cloze==.\n<!--SR:broken-->\n");
    assert!(cards.is_empty());
    assert!(diagnostics.is_empty());
    // A tag in inline code or another tag is not a flashcard tag.
    assert!(run("`#flashcards` #flashcardsx #math\nQ::A\n").0.is_empty());
    // Any of the configured tags will do, case-insensitively.
    let settings = CardSettings {
        tags: vec!["srs".into(), "flashcards".into()],
    };
    let (found, _) = super::cards(&parsed("a.md", "#SRS/Algebra\nQ::A\n"), &settings);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].deck, ["SRS", "Algebra"]);
}

// ---------------------------------------------------------------------------------------
// Single-line cards.

#[test]
fn single_line_basic_and_reversed() {
    let cards = tagged("Capital of France::Paris\nred:::rouge\n");
    assert_eq!(
        sides(&cards),
        [
            (CardKind::Basic, "Capital of France", "Paris"),
            (CardKind::Basic, "red", "rouge"),
            (CardKind::Reversed, "rouge", "red"),
        ]
    );
    assert_eq!(cards[0].line, 3);
    assert_eq!(cards[1].sibling, 0);
    assert_eq!(cards[2].sibling, 1);
    assert_eq!(cards[1].range, cards[2].range);
}

#[test]
fn a_separator_inside_inline_code_or_math_is_not_one() {
    let cards =
        tagged("`std::vector` is a::container\n$a::b$ and `c::d` only\n$f: A \\to B$::a map\n");
    assert_eq!(
        sides(&cards),
        [
            (CardKind::Basic, "`std::vector` is a", "container"),
            (CardKind::Basic, "$f: A \\to B$", "a map"),
        ]
    );
}

#[test]
fn review_comment_on_the_same_line_or_the_next() {
    let cards = tagged(
        "Q1::A1 <!--SR:!2024-08-05,3,250-->\nQ2::A2\n<!--SR:!2024-09-01,10,270-->\nQ3::A3\n",
    );
    assert_eq!(
        sides(&cards),
        [
            (CardKind::Basic, "Q1", "A1"),
            (CardKind::Basic, "Q2", "A2"),
            (CardKind::Basic, "Q3", "A3"),
        ]
    );
    assert_eq!(cards[0].schedule, sm2("2024-08-05", 3, 250));
    assert_eq!(cards[1].schedule, sm2("2024-09-01", 10, 270));
    assert_eq!(cards[2].schedule, None);
    assert_eq!(cards[1].line, 4);
    // The comment's line is part of the card's range.
    let text = "#flashcards\n\nQ1::A1 <!--SR:!2024-08-05,3,250-->\nQ2::A2\n<!--SR:!2024-09-01,10,270-->\nQ3::A3\n";
    assert_eq!(
        &text[cards[1].range.clone()],
        "Q2::A2\n<!--SR:!2024-09-01,10,270-->"
    );
}

#[test]
fn reversed_siblings_take_one_schedule_each() {
    let cards = tagged("red:::rouge <!--SR:!2024-08-05,3,250!2024-08-06,4,270-->\n");
    assert_eq!(cards.len(), 2);
    assert_eq!(cards[0].schedule, sm2("2024-08-05", 3, 250));
    assert_eq!(cards[1].schedule, sm2("2024-08-06", 4, 270));
    // A sibling never reviewed has the placeholder date.
    let cards = tagged("red:::rouge\n<!--SR:!2000-01-01,1,250!2024-08-06,4,270-->\n");
    assert_eq!(cards[0].schedule, None);
    assert_eq!(cards[1].schedule, sm2("2024-08-06", 4, 270));
}

#[test]
fn legacy_dates_and_formats_of_review_comments() {
    let cards = tagged("a::b <!--SR:2021-08-11,4,270-->\nc::d <!--SR:!05-08-2024,3,250-->\n");
    assert_eq!(cards[0].schedule, sm2("2021-08-11", 4, 270));
    assert_eq!(cards[1].schedule, sm2("2024-08-05", 3, 250));
}

#[test]
fn fsrs_review_comments() {
    let cards = tagged(
        "red:::rouge <!--SR:!fsrs,2024-08-05T10:00:00.000Z,3.5,4.2,5.1,2,6,1,0,2024-08-01T10:00:00.000Z!fsrs,-,0,0,0,0,0,0,0,- -->\n",
    );
    assert_eq!(
        cards[0].schedule,
        Some(Schedule::Fsrs {
            due: "2024-08-05T10:00:00.000Z".into(),
            interval: 3.5,
            stability: 4.2,
            difficulty: 5.1,
            state: 2,
            reps: 6,
            lapses: 1,
            learning_steps: 0,
            last_review: Some("2024-08-01T10:00:00.000Z".into()),
        })
    );
    assert_eq!(cards[1].schedule, None);
}

#[test]
fn an_unreadable_review_comment_is_reported_where_it_is() {
    let text = "#flashcards\n\nQ::A <!--SR:!2024-13-05,3,250!2024-08-06,x,270-->\n";
    let (cards, diagnostics) = run(text);
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0].schedule, None);
    assert_eq!(diagnostics.len(), 2);
    let d = &diagnostics[0];
    assert_eq!(
        &text[d.range.clone()],
        "<!--SR:!2024-13-05,3,250!2024-08-06,x,270-->"
    );
    assert_eq!((d.line, d.column), (3, 6));
    assert!(d.message.contains("2024-13-05"), "{}", d.message);
    assert!(
        diagnostics[1].message.contains("`x`"),
        "{}",
        diagnostics[1].message
    );
}

#[test]
fn a_stray_review_comment_is_reported() {
    let text = "#flashcards\n\nQ::A\n\n<!--SR:!2024-08-05,3,250-->\n";
    let (cards, diagnostics) = run(text);
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0].schedule, None);
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].line, 5);
}

#[test]
fn half_written_cards_are_reported() {
    let (cards, diagnostics) = run("#flashcards\n\nQuestion::\n::answer\n?\nonly an answer\n");
    assert!(cards.is_empty());
    let lines: Vec<usize> = diagnostics.iter().map(|d| d.line).collect();
    assert_eq!(lines, [3, 4, 5]);
}

#[test]
fn single_line_cards_in_a_callout_lose_their_markers() {
    let cards = tagged("> [!note] Vocabulary\n> chat::cat\n> chien:::dog\n");
    assert_eq!(
        sides(&cards),
        [
            (CardKind::Basic, "chat", "cat"),
            (CardKind::Basic, "chien", "dog"),
            (CardKind::Reversed, "dog", "chien"),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Multi-line cards.

#[test]
fn a_blank_line_ends_a_multi_line_card() {
    let cards = tagged(
        "Earlier paragraph\n\nFirst line\nsecond line\n?\nAnswer line 1\nAnswer line 2\n\nNot part of it\n",
    );
    assert_eq!(
        sides(&cards),
        [(
            CardKind::Basic,
            "First line\nsecond line",
            "Answer line 1\nAnswer line 2"
        )]
    );
    assert_eq!(cards[0].line, 5);
    assert!(cards[0].prompts.is_empty());
}

#[test]
fn the_front_stops_at_a_heading_and_after_another_card() {
    let cards = tagged("## Section\nQuestion\n?\nAnswer\n\nq::a\nQuestion 2\n?\nAnswer 2\n");
    assert_eq!(
        sides(&cards),
        [
            (CardKind::Basic, "Question", "Answer"),
            (CardKind::Basic, "q", "a"),
            (CardKind::Basic, "Question 2", "Answer 2"),
        ]
    );
}

#[test]
fn multi_line_reversed() {
    let cards =
        tagged("Front A\nFront B\n??\nBack A\n<!--SR:!2024-08-05,3,250!2024-08-07,5,230-->\n");
    assert_eq!(
        sides(&cards),
        [
            (CardKind::Basic, "Front A\nFront B", "Back A"),
            (CardKind::Reversed, "Back A", "Front A\nFront B"),
        ]
    );
    assert_eq!(cards[1].schedule, sm2("2024-08-07", 5, 230));
}

#[test]
fn code_blocks_hold_no_cards_but_can_be_an_answer() {
    let cards = tagged(
        "```\nnot::a card\n?\n==no cloze==\n```\n\nWhich loop?\n?\n```rust\nfor i in 0..n {\n\n    x::y\n}\n```\n",
    );
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0].front, "Which loop?");
    assert_eq!(
        cards[0].back,
        "```rust\nfor i in 0..n {\n\n    x::y\n}\n```"
    );
}

#[test]
fn comments_are_ignored() {
    let cards = tagged(
        "%% hidden::card %%\nQ::A %% a note to self %%\n<!-- not::this -->\nFront\n%%\nmulti-line comment\n\nstill comment\n%%\n?\nBack\n",
    );
    assert_eq!(
        sides(&cards),
        [
            (CardKind::Basic, "Q", "A"),
            (CardKind::Basic, "Front", "Back")
        ]
    );
}

#[test]
fn a_question_mark_in_math_is_no_separator() {
    let cards = tagged("Text\n$$\n?\n$$\nmore\n");
    assert!(cards.is_empty());
}

// ---------------------------------------------------------------------------------------
// Callout cards.

#[test]
fn callout_card_with_lazy_or_quoted_lines() {
    let cards = tagged(
        ">[!question]- What is $x$?\n?\n$x = 1$\n<!--SR:!2024-08-05,3,250-->\n\n$x = ?$\n\n> [!question] Two\n> ?\n> line 1\n>\n> line 2\n",
    );
    assert_eq!(
        sides(&cards),
        [
            (CardKind::Basic, "What is $x$?", "$x = 1$"),
            (CardKind::Basic, "Two", "line 1\n\nline 2"),
        ]
    );
    assert_eq!(cards[0].callout.as_deref(), Some("question"));
    assert_eq!(cards[0].prompts, ["$x = ?$"]);
    assert_eq!(cards[0].line, 3);
    assert_eq!(cards[1].line, 10);
    assert_eq!(cards[0].schedule, sm2("2024-08-05", 3, 250));
}

#[test]
fn a_callout_without_a_question_line_is_no_card() {
    let cards = tagged(">[!question]- Calculate this $x$\n\n>[!note] Just a note\n> with text\n");
    assert!(cards.is_empty());
}

#[test]
fn prose_after_a_card_is_not_a_prompt() {
    let cards = tagged(
        ">[!question]- Q\n?\n**Rule:** $x$\n\nSome prose that follows.\nIs it a question?\n\n**Rule:**\n\n**Other:**\n",
    );
    assert_eq!(cards.len(), 1);
    assert!(cards[0].prompts.is_empty());
    let cards = tagged(">[!question]- Q\n?\n**Rule:** $x$\n\n**Rule:**\n");
    assert_eq!(cards[0].prompts, ["**Rule:**"]);
    // Lines ending in `?` followed by a separator are the next card's question.
    let cards = tagged(">[!question]- Q\n?\nA\n\n$y = ?$\n?\nB\n");
    assert_eq!(
        sides(&cards),
        [
            (CardKind::Basic, "Q", "A"),
            (CardKind::Basic, "$y = ?$", "B")
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Clozes.

#[test]
fn clozes_one_card_per_deletion() {
    let cards =
        tagged("The first ==prime minister== of Australia was ==Julia Gillard;;a name==.\n");
    assert_eq!(
        sides(&cards),
        [
            (
                CardKind::Cloze,
                "The first ==[...]== of Australia was Julia Gillard.",
                "The first ==prime minister== of Australia was Julia Gillard."
            ),
            (
                CardKind::Cloze,
                "The first prime minister of Australia was ==[a name]==.",
                "The first prime minister of Australia was ==Julia Gillard==."
            ),
        ]
    );
    let cloze = cards[1].cloze.clone().unwrap_or(Cloze {
        number: Some(99),
        deletions: Vec::new(),
    });
    assert_eq!(cloze.number, None);
    assert_eq!(
        cloze
            .deletions
            .iter()
            .map(|d| (d.answer.as_str(), d.hint.as_deref(), d.asked))
            .collect::<Vec<_>>(),
        [
            ("prime minister", None, false),
            ("Julia Gillard", Some("a name"), true)
        ]
    );
    assert_eq!(cards[0].sibling, 0);
    assert_eq!(cards[1].sibling, 1);
}

#[test]
fn numbered_clozes_are_asked_together() {
    let cards = tagged(
        "A ==1;;cloze;;hint== and ==2;;another== and ==1;;the first again==.\n<!--SR:!2024-08-05,3,250!2024-08-06,4,260-->\n",
    );
    assert_eq!(
        sides(&cards),
        [
            (
                CardKind::Cloze,
                "A ==[hint]== and another and ==[...]==.",
                "A ==cloze== and another and ==the first again==."
            ),
            (
                CardKind::Cloze,
                "A cloze and ==[...]== and the first again.",
                "A cloze and ==another== and the first again."
            ),
        ]
    );
    assert_eq!(cards[0].cloze.as_ref().and_then(|c| c.number), Some(1));
    assert_eq!(cards[1].cloze.as_ref().and_then(|c| c.number), Some(2));
    assert_eq!(cards[0].schedule, sm2("2024-08-05", 3, 250));
    assert_eq!(cards[1].schedule, sm2("2024-08-06", 4, 260));
}

#[test]
fn anki_clozes_are_clozes_not_single_line_cards() {
    let cards = tagged(
        "Brazilians speak {{c1::Portuguese::language}} and live in {{c2::Brazil}}, {{c1::South America}}.\n",
    );
    assert_eq!(
        sides(&cards),
        [
            (
                CardKind::Cloze,
                "Brazilians speak ==[language]== and live in Brazil, ==[...]==.",
                "Brazilians speak ==Portuguese== and live in Brazil, ==South America==."
            ),
            (
                CardKind::Cloze,
                "Brazilians speak Portuguese and live in ==[...]==, South America.",
                "Brazilians speak Portuguese and live in ==Brazil==, South America."
            ),
        ]
    );
    // Math inside an Anki cloze, `}}` and `::` included.
    let cards = tagged("The derivative is {{c1::$x^{2}}$::a power}}.\n");
    assert_eq!(cards[0].back, "The derivative is ==$x^{2}}$==.");
    assert_eq!(cards[0].front, "The derivative is ==[a power]==.");
}

#[test]
fn a_cloze_inside_math_is_no_cloze() {
    assert!(tagged("We have $a == b$ and $\\text{==x==}$ here.\n").is_empty());
    assert!(tagged("An operator === and `==code==` and == spaced ==.\n").is_empty());
    let cards = tagged("Math ==$\\vec{1}$== is fine, $x==y$ is not.\n");
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0].front, "Math ==[...]== is fine, $x==y$ is not.");
}

#[test]
fn a_cloze_paragraph_spans_lines_and_takes_the_review_comment_after_it() {
    let cards = tagged(
        "Line one ==a==\nline two ==b==\n<!--SR:!2024-08-05,3,250!2024-08-09,9,250-->\n\nAfter\n",
    );
    assert_eq!(cards.len(), 2);
    assert_eq!(cards[0].front, "Line one ==[...]==\nline two b");
    assert_eq!(cards[1].schedule, sm2("2024-08-09", 9, 250));
    assert_eq!(cards[0].range, cards[1].range);
}

#[test]
fn a_multi_line_card_keeps_its_highlights() {
    let cards = tagged("What is ==important==?\n?\nThis.\n");
    assert_eq!(
        sides(&cards),
        [(CardKind::Basic, "What is ==important==?", "This.")]
    );
}

// ---------------------------------------------------------------------------------------
// Decks.

#[test]
fn a_tag_line_sets_the_deck_of_the_cards_after_it() {
    let (cards, diagnostics) = run(
        "---\ntags: [flashcards/fm]\n---\nq0::a0\n#flashcards/deckA\nq1::a1\nq2::a2\n\n#flashcards/deckB q3::a3\n\nq4::a4\n\n#flashcards/deckC #flashcards/other\nFront\n?\nBack\n",
    );
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let decks: Vec<(String, String)> = cards
        .iter()
        .map(|c| (c.front.clone(), c.deck.join("/")))
        .collect();
    let expected = [
        ("q0", "flashcards/fm"),
        ("q1", "flashcards/deckA"),
        ("q2", "flashcards/deckA"),
        // A tag at the start of a card applies to it alone, and leaves its front.
        ("q3", "flashcards/deckB"),
        ("q4", "flashcards/deckA"),
        // A line of tags above a card is a tag line, not part of the front.
        ("Front", "flashcards/deckC"),
    ];
    assert_eq!(decks, expected.map(|(f, d)| (f.to_string(), d.to_string())));
}

#[test]
fn a_tag_after_the_cards_still_gives_the_deck() {
    let cards = run("q::a\n\nStatus: #flashcards/late\n").0;
    assert_eq!(cards[0].deck, ["flashcards", "late"]);
    // A tag inside a card's text is not a tag line.
    let cards = run("q #flashcards/inside::a\n").0;
    assert_eq!(cards[0].deck, ["flashcards", "inside"]);
    assert_eq!(cards[0].front, "q #flashcards/inside");
}

// ---------------------------------------------------------------------------------------
// Ids.

#[test]
fn ids_are_stable() {
    let before = tagged("Q1::A1\n\nQuestion\n?\nAnswer\n\nA ==cloze== here ==two==.\n");
    // Same text, edits elsewhere, whitespace, review comments and tags do not matter.
    let after = tagged(
        "Q1::A1 changed\n\nNew::card\n\nQuestion\n?\nAnswer   <!--SR:!2024-08-05,3,250-->\n\n#flashcards/x A  ==cloze==\nhere ==two==.\n",
    );
    assert_eq!(before.len(), 4);
    assert_ne!(before[0].id, after[0].id);
    assert_eq!(before[1].id, after[2].id);
    assert_eq!(before[2].id, after[3].id);
    assert_eq!(before[3].id, after[4].id);
    // Siblings and notes differ.
    assert_ne!(before[2].id, before[3].id);
    let other = cards(
        &parsed("other.md", "#flashcards\n\nQ1::A1\n"),
        &CardSettings::default(),
    )
    .0;
    assert_ne!(other[0].id, before[0].id);
    // The hash itself does not change between builds or Rust versions.
    assert_eq!(card_id("", ""), "af63bd4c8601b7df");
    assert_eq!(card_id("a", "b"), card_id("a", "b"));
}

#[test]
fn reversed_siblings_keep_the_forward_id() {
    let basic = tagged("red::rouge\n");
    let reversed = tagged("red:::rouge\n");
    assert_eq!(basic[0].id, reversed[0].id);
    assert_ne!(reversed[0].id, reversed[1].id);
}

// ---------------------------------------------------------------------------------------
// Pieces.

#[test]
fn review_entries_are_read_one_by_one() {
    assert_eq!(
        review_entries("!2024-08-05,3,250!2024-08-06,4,270"),
        [Ok(sm2("2024-08-05", 3, 250)), Ok(sm2("2024-08-06", 4, 270))]
    );
    assert_eq!(
        review_entries("2024-08-05,3,250"),
        [Ok(sm2("2024-08-05", 3, 250))]
    );
    assert_eq!(
        review_entries("!2024-08-05,3.0,250,suspended"),
        [Ok(sm2("2024-08-05", 3, 250))]
    );
    assert!(
        review_entries("!2024-08-05,3")
            .first()
            .is_some_and(Result::is_err)
    );
    assert!(
        review_entries("!fsrs,2024")
            .first()
            .is_some_and(Result::is_err)
    );
    assert!(
        review_entries("!yesterday,3,250")
            .first()
            .is_some_and(Result::is_err)
    );
}

#[test]
fn fill_in_lines() {
    let back = ["**Rule:** $x$", "$y = 2$"];
    assert!(is_fill_in("$y = ?$", &back));
    assert!(is_fill_in("$y=?$", &back));
    assert!(is_fill_in("Name: ?", &back));
    assert!(is_fill_in("**Rule:**", &back));
    assert!(is_fill_in("**Rule:** :", &back));
    assert!(!is_fill_in("Why is that?", &back));
    assert!(!is_fill_in("$y = 2$", &back));
    assert!(!is_fill_in("Something else", &back));
}

#[test]
fn headings_and_quote_markers() {
    assert!(is_heading("# H"));
    assert!(is_heading("###"));
    assert!(!is_heading("#flashcards"));
    assert!(!is_heading("    # code"));
    assert_eq!(quote_prefix("> a"), 2);
    assert_eq!(quote_prefix(">a"), 1);
    assert_eq!(quote_prefix(" > > a"), 5);
    assert_eq!(quote_prefix("a > b"), 0);
}

#[test]
fn crlf_line_endings() {
    let cards = tagged("Q::A\r\nFront\r\n?\r\nBack\r\n<!--SR:!2024-08-05,3,250-->\r\n");
    assert_eq!(
        sides(&cards),
        [
            (CardKind::Basic, "Q", "A"),
            (CardKind::Basic, "Front", "Back")
        ]
    );
    assert_eq!(cards[1].schedule, sm2("2024-08-05", 3, 250));
}

#[test]
fn a_blank_line_inside_display_math_does_not_end_the_answer() {
    let cards = tagged("Q\n?\n$$\na\n\nb\n$$\nafter\n\nnext::card\n");
    assert_eq!(
        sides(&cards),
        [
            (CardKind::Basic, "Q", "$$\na\n\nb\n$$\nafter"),
            (CardKind::Basic, "next", "card")
        ]
    );
}

#[test]
fn un_numbered_deletions_come_after_the_highest_number() {
    let cards = tagged("==2;;b== ==x== ==1;;a== ==y==\n");
    let order: Vec<(Option<u32>, usize, &str)> = cards
        .iter()
        .map(|c| {
            (
                c.cloze.as_ref().and_then(|z| z.number),
                c.sibling,
                c.front.as_str(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            (Some(1), 0, "b x ==[...]== y"),
            (Some(2), 1, "==[...]== x a y"),
            (None, 2, "b ==[...]== a y"),
            (None, 3, "b x a ==[...]=="),
        ]
    );
}

#[test]
fn a_cloze_in_a_callout_reads_from_its_title() {
    let cards = tagged("> [!tip] The ==chain== rule\n> composes ==derivatives==\n");
    assert_eq!(cards.len(), 2);
    assert_eq!(cards[0].front, "The ==[...]== rule\ncomposes derivatives");
    assert_eq!(cards[0].callout.as_deref(), Some("tip"));
}
