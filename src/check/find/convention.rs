//! A note's stated conventions: the layout it says it uses.
//!
//! Front matter `layout:` first; else the first sentence of the note's prose that
//! names a layout ([`LAYOUT_PHRASES`]: "numerator layout", "Hessian formulation",
//! "分母布局", ...) or says what the derivative of a scalar by a vector is ("... is
//! a column": denominator layout). A note that states none may be read in either
//! layout, unless the vault fixes one (its settings, or its notes all stating the
//! same one).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::super::notation::{LAYOUT_PHRASES, LAYOUT_SENTENCE};
use super::super::{Layout, NoteMath};

static SENTENCE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(LAYOUT_SENTENCE).ok());

/// Comments, which a reader of the note does not see: `<!-- -->`, `%% %%`.
static COMMENT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?s)<!--.*?-->|%%.*?%%").ok());

/// The layout the note states: in its front matter, else in its prose.
pub(crate) fn stated_layout(note: &NoteMath) -> Option<Layout> {
    front_layout(note.front).or_else(|| {
        let prose: String = note
            .spans
            .iter()
            .map(|s| match COMMENT.as_ref() {
                Some(re) => re.replace_all(s.before, " ").to_lowercase(),
                None => s.before.to_lowercase(),
            })
            .collect::<Vec<_>>()
            .join(" ");
        prose_layout(&prose)
    })
}

/// The note's layout (front matter `layout:`), if it names one.
fn front_layout(front: &BTreeMap<String, String>) -> Option<Layout> {
    front
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("layout"))
        .and_then(|(_, v)| Layout::named(v))
}

/// The first layout lower-cased prose states.
fn prose_layout(prose: &str) -> Option<Layout> {
    let phrase = LAYOUT_PHRASES
        .iter()
        .filter_map(|(p, l)| prose.find(p).map(|at| (at, *l)));
    let sentence = SENTENCE.as_ref().and_then(|re| {
        let c = re.captures(prose)?;
        let at = c.get(0)?.start();
        let layout = if c.get(1)?.as_str() == "row" {
            Layout::Numerator
        } else {
            Layout::Denominator
        };
        Some((at, layout))
    });
    phrase
        .chain(sentence)
        .min_by_key(|(at, _)| *at)
        .map(|(_, l)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_stated_layout_wins() {
        assert_eq!(
            prose_layout("we use numerator layout; papers often use denominator layout"),
            Some(Layout::Numerator)
        );
        assert_eq!(
            prose_layout("here (hessian formulation) gradients are columns"),
            Some(Layout::Denominator)
        );
        assert_eq!(
            prose_layout("the derivative of a scalar by a column vector is a column here"),
            Some(Layout::Denominator)
        );
        assert_eq!(
            prose_layout("the derivative of a scalar with respect to a vector is a row"),
            Some(Layout::Numerator)
        );
        assert_eq!(prose_layout("采用分母布局。"), Some(Layout::Denominator));
        assert_eq!(prose_layout("a column of numbers, a layout of rows"), None);
    }
}
