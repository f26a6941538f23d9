//! The self-quiz pages: one for all the vault's flashcards (`quiz/index.html`) and one
//! per deck (`quiz/<deck-slug>.html`, a deck's page holding its subdecks' cards too).
//!
//! Every quiz page sits in `quiz/`, so each card is rendered once and its HTML serves
//! every page that shows it. Without JavaScript a page is the list of its cards, each
//! answer behind a `<details>`; `static/quiz.js` turns it into a review session (see the
//! template `templates/quiz.html` for the markup both rely on).

use std::collections::{BTreeMap, HashSet};

use rayon::prelude::*;
use serde::Serialize;
use tera::Tera;

use super::html::{self, Ctx};
use super::{OutFile, SiteCtx, SiteSettings, TemplateError, render};
use crate::extract::cards::{Card, CardKind, Schedule};
use crate::slug;

/// The folder of the quiz pages.
pub const QUIZ_DIR: &str = crate::urls::QUIZ_DIR;

/// The page of all cards.
pub const QUIZ_INDEX: &str = crate::urls::QUIZ_INDEX;

/// The paths of the quiz pages of the cards of published notes (`published[i]` for
/// note `i`): none without cards, else the page of all cards and one per deck and
/// ancestor deck (compared case-insensitively).
pub fn page_paths(cards: &[Vec<Card>], published: &[bool]) -> Vec<String> {
    let mut decks: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for (list, _) in cards
        .iter()
        .zip(published)
        .filter(|(_, published)| **published)
    {
        for card in list {
            for n in 1..=card.deck.len() {
                let path = &card.deck[..n];
                decks
                    .entry(path.iter().map(|p| p.to_lowercase()).collect())
                    .or_insert_with(|| path.to_vec());
            }
        }
    }
    let any = cards
        .iter()
        .zip(published)
        .any(|(c, published)| *published && !c.is_empty());
    if !any {
        return Vec::new();
    }
    std::iter::once(QUIZ_INDEX.to_string())
        .chain(decks.values().map(|path| deck_page(path)))
        .collect()
}

/// The page of a deck: `flashcards/math` → `quiz/deck-flashcards-math.html`.
///
/// Distinct decks get distinct pages: the levels are joined with `-`, so a `-` inside a
/// level (and any character other than a letter, a digit or `_`) is written `~` and its
/// code in hex (`a-b` is `deck-a~2db`, `a/b` is `deck-a-b`).
pub fn deck_page(deck: &[String]) -> String {
    let parts: Vec<String> = deck
        .iter()
        .map(|part| {
            let mut out = String::with_capacity(part.len());
            for c in part.chars().flat_map(char::to_lowercase) {
                if c.is_alphanumeric() || c == '_' {
                    out.push(c);
                } else {
                    out.push_str(&format!("~{:x}", u32::from(c)));
                }
            }
            out
        })
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        QUIZ_INDEX.to_string()
    } else {
        format!("{QUIZ_DIR}/deck-{}.html", parts.join("-"))
    }
}

/// The anchor of a card on its note's page.
pub fn card_anchor(card: &Card) -> String {
    format!("card-{}", card.id)
}

#[derive(Serialize, Clone)]
struct QuizCard {
    id: String,
    kind: &'static str,
    front_html: String,
    back_html: String,
    prompts_html: Vec<String>,
    note_title: String,
    note_url: String,
    line: usize,
    due: String,
    interval: String,
    ease: String,
    badges_html: String,
    deck: String,
}

#[derive(Serialize)]
struct DeckLink {
    name: String,
    label: String,
    url: String,
    count: usize,
    depth: usize,
    current: bool,
}

#[derive(Serialize)]
struct QuizPage<'a> {
    site: SiteCtx<'a>,
    root: &'static str,
    page_title: String,
    generator: &'static str,
    title: String,
    deck: String,
    decks: Vec<DeckLink>,
    all_url: String,
    cards: Vec<QuizCard>,
}

/// Renders the quiz pages; none when the vault has no cards in published notes.
pub fn quiz_pages(
    tera: &Tera,
    ctx: &Ctx,
    cards: &[Vec<Card>],
    shown: &HashSet<String>,
    settings: &SiteSettings,
) -> Result<Vec<OutFile>, TemplateError> {
    let page = QUIZ_INDEX;
    let mut list: Vec<(usize, &Card)> = cards
        .iter()
        .enumerate()
        .filter(|(i, _)| ctx.graph.pages.get(*i).is_some_and(|p| p.published))
        .flat_map(|(i, cs)| cs.iter().map(move |c| (i, c)))
        .collect();
    if list.is_empty() {
        return Ok(Vec::new());
    }
    list.sort_by_cached_key(|(_, c)| c.deck.join("/").to_lowercase());
    let rendered: Vec<QuizCard> = list
        .par_iter()
        .map(|&(i, card)| quiz_card(ctx, i, card, shown.contains(&card.id), page))
        .collect();

    // Every deck and every ancestor of one, with the cards under it. Decks are tags,
    // compared case-insensitively as Obsidian does; the first spelling is shown.
    let mut decks: BTreeMap<Vec<String>, (Vec<String>, Vec<usize>)> = BTreeMap::new();
    for (k, (_, card)) in list.iter().enumerate() {
        for n in 1..=card.deck.len() {
            let path = &card.deck[..n];
            let key: Vec<String> = path.iter().map(|p| p.to_lowercase()).collect();
            decks
                .entry(key)
                .or_insert_with(|| (path.to_vec(), Vec::new()))
                .1
                .push(k);
        }
    }
    let deck_links = |current: Option<&[String]>| -> Vec<DeckLink> {
        decks
            .iter()
            .map(|(key, (path, members))| DeckLink {
                name: path.join("/"),
                label: path.last().cloned().unwrap_or_default(),
                url: slug::encode_path(&slug::relative_url(page, &deck_page(path))),
                count: members.len(),
                depth: path.len().saturating_sub(1),
                current: current == Some(key.as_slice()),
            })
            .collect()
    };
    let all_url = slug::encode_path(&slug::relative_url(page, QUIZ_INDEX));
    let make =
        |title: String, deck: String, current: Option<&[String]>, cards: Vec<QuizCard>| QuizPage {
            site: SiteCtx {
                title: &settings.title,
                quiz: settings.quiz,
            },
            root: "../",
            page_title: title.clone(),
            generator: concat!("notebuild ", env!("CARGO_PKG_VERSION")),
            title,
            deck,
            decks: deck_links(current),
            all_url: all_url.clone(),
            cards,
        };

    let mut out = Vec::with_capacity(decks.len() + 1);
    let all = make(
        "All flashcards".to_string(),
        String::new(),
        None,
        rendered.clone(),
    );
    out.push(OutFile {
        path: QUIZ_INDEX.to_string(),
        contents: render(tera, "quiz.html", &all)?,
    });
    for (key, (path, members)) in &decks {
        let cards = members.iter().map(|&k| rendered[k].clone()).collect();
        let name = path.join(" › ");
        let page = make(
            format!("Flashcards: {name}"),
            path.join("/"),
            Some(key.as_slice()),
            cards,
        );
        out.push(OutFile {
            path: deck_page(path),
            contents: render(tera, "quiz.html", &page)?,
        });
    }
    Ok(out)
}

/// A card as the quiz shows it; `anchored` when its note's page has an anchor for it.
fn quiz_card(ctx: &Ctx, index: usize, card: &Card, anchored: bool, page: &str) -> QuizCard {
    let note_page = &ctx.graph.pages[index].url;
    let (due, interval, ease) = match &card.schedule {
        Some(Schedule::Sm2 {
            due,
            interval,
            ease,
        }) => (due.clone(), interval.to_string(), ease.to_string()),
        Some(Schedule::Fsrs { due, interval, .. }) => (
            due.get(..10).unwrap_or(due).to_string(),
            format!("{}", interval.round().max(1.0)),
            String::new(),
        ),
        None => (String::new(), String::new(), String::new()),
    };
    let (front, back) = html::card_sides(card, &ctx.text(index), false);
    let (back_html, badges_html) =
        html::render_card_back(ctx, index, page, &back, card.range.clone());
    QuizCard {
        id: card.id.clone(),
        kind: match card.kind {
            CardKind::Basic => "basic",
            CardKind::Reversed => "reversed",
            CardKind::Cloze => "cloze",
        },
        front_html: html::as_inline(&html::render_fragment(ctx, index, page, &front)),
        back_html,
        prompts_html: card
            .prompts
            .iter()
            .map(|p| html::as_inline(&html::render_fragment(ctx, index, page, p)))
            .collect(),
        note_title: ctx.infos[index].title.clone(),
        note_url: {
            let url = slug::encode_path(&slug::relative_url(page, note_page));
            if anchored {
                format!("{url}#{}", card_anchor(card))
            } else {
                url
            }
        },
        line: card.line,
        due,
        interval,
        ease,
        badges_html,
        deck: card.deck.join("/"),
    }
}

#[cfg(test)]
mod tests {
    use super::deck_page;

    fn deck(levels: &[&str]) -> String {
        deck_page(&levels.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn distinct_decks_have_distinct_pages() {
        assert_eq!(
            deck(&["flashcards", "math"]),
            "quiz/deck-flashcards-math.html"
        );
        assert_eq!(deck(&["Flashcards"]), "quiz/deck-flashcards.html");
        assert_ne!(deck(&["a-b"]), deck(&["a", "b"]));
        assert_ne!(deck(&["a.b"]), deck(&["a_b"]));
        assert_eq!(deck(&[]), "quiz/index.html");
    }
}
