//! The layout a verdict rests on.
//!
//! A note fixes its layout by saying so (front matter, or its words: see
//! `find/convention.rs`), and the vault by its settings. Otherwise an identity is
//! read in numerator layout and, when it involves vectors or matrices, in
//! denominator layout too ([`read`]); then [`decide`] weighs it against the other
//! identities of its note: a note is written in one layout, so when at least
//! [`CONSISTENT`] of its other identities hold in one layout only, all in the same
//! one, and none in the other only, that is the note's layout. Else either layout is
//! plausible: an identity fails only if it fails in both, and a pass in denominator
//! layout says so.

use std::collections::BTreeSet;

use super::{Outcome, Verdict, check_reread, skip};
use crate::check::{FailKind, Finding, Layout, Reading, Settings, SkipReason};

/// How many of a note's other identities, holding in one layout only, fix the
/// note's layout.
pub(crate) const CONSISTENT: usize = 2;

/// An identity's verdicts: in the layout fixed for it (or numerator layout), and,
/// when nothing fixes it and vectors or matrices are involved, in denominator layout.
#[derive(Debug, Clone)]
pub struct Readings {
    first: Verdict,
    other: Option<Verdict>,
}

/// The layout an identity holds in, when it holds in one only, and what its
/// derivatives differentiate by what in that reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Only {
    pub layout: Layout,
    pub families: Families,
}

/// What derivatives differentiate by what (`("scalar", "vector")`).
pub type Families = BTreeSet<(&'static str, &'static str)>;

/// A note's identities that hold in one layout only, counted by layout and by their
/// set of families.
#[derive(Debug, Default)]
pub struct Tally {
    counts: std::collections::BTreeMap<Families, (usize, usize)>,
}

impl Tally {
    pub fn add(&mut self, o: &Only) {
        let c = self.counts.entry(o.families.clone()).or_default();
        match o.layout {
            Layout::Numerator => c.0 += 1,
            Layout::Denominator => c.1 += 1,
        }
    }

    /// How many of the other identities that differentiate the same kinds by the
    /// same kinds as `mine` (a note may write gradients as columns and Jacobians in
    /// numerator layout) hold in numerator layout only, and in denominator layout
    /// only.
    pub fn others(&self, mine: Option<&Only>) -> (usize, usize) {
        let Some(m) = mine else { return (0, 0) };
        let (mut num, mut den) = (0, 0);
        for (families, (n, d)) in &self.counts {
            if !m.families.is_disjoint(families) {
                num += n;
                den += d;
            }
        }
        // (not counting itself)
        match m.layout {
            Layout::Numerator => num = num.saturating_sub(1),
            Layout::Denominator => den = den.saturating_sub(1),
        }
        (num, den)
    }
}

impl Readings {
    /// One verdict, read once (an internal error, say).
    pub fn alone(v: Verdict) -> Readings {
        Readings {
            first: v,
            other: None,
        }
    }

    /// The layout this identity holds in, if it holds in one of the two only.
    pub fn only(&self) -> Option<Only> {
        let other = self.other.as_ref()?;
        let (layout, pass) = match (self.first.outcome, other.outcome) {
            (Outcome::Pass, Outcome::Fail(_)) => (Layout::Numerator, &self.first),
            (Outcome::Fail(_), Outcome::Pass) => (Layout::Denominator, other),
            _ => return None,
        };
        let families = pass.reading.as_ref()?.families.clone();
        Some(Only { layout, families })
    }
}

/// Reads the identity in the layouts it may be read in.
pub(crate) fn read(f: &Finding, s: &Settings) -> Readings {
    let fixed = f.layout.or(s.layout);
    let first = with_reading(
        check_reread(f, s, fixed.unwrap_or(Layout::Numerator)),
        fixed.unwrap_or(Layout::Numerator),
    );
    let other = match first.outcome {
        Outcome::Skip(_) => None,
        _ if fixed.is_some() => None,
        Outcome::Pass if !with_arrays(&first) => None,
        _ => Some(with_reading(
            check_reread(f, s, Layout::Denominator),
            Layout::Denominator,
        )),
    };
    Readings { first, other }
}

/// Does the verdict's reading give some symbol a vector or matrix kind (so the
/// layout may matter)?
fn with_arrays(v: &Verdict) -> bool {
    v.reading
        .as_ref()
        .is_none_or(|r| r.kinds.values().any(|k| *k != crate::check::Kind::Scalar))
}

/// A pass or a fail rests on a reading (at least the layout); a skip on none.
fn with_reading(mut v: Verdict, layout: Layout) -> Verdict {
    v.reading = match v.outcome {
        Outcome::Skip(_) => None,
        Outcome::Pass | Outcome::Fail(_) => v.reading.take().or_else(|| {
            Some(Reading {
                layout,
                kinds: Default::default(),
                families: Default::default(),
            })
        }),
    };
    v
}

/// The verdict, given which layout each of the note's other identities holds in
/// only (see the module's header).
pub(crate) fn decide(r: Readings, (num, den): (usize, usize)) -> Verdict {
    let Readings { first, other } = r;
    let Some(other) = other else {
        return first;
    };
    let note = if num >= CONSISTENT && den == 0 {
        Some(Layout::Numerator)
    } else if den >= CONSISTENT && num == 0 {
        Some(Layout::Denominator)
    } else {
        None
    };
    let seed = first.seed;
    match (first.outcome, other.outcome) {
        (Outcome::Pass, Outcome::Fail(_)) if note == Some(Layout::Denominator) => {
            in_note_layout(other, Layout::Denominator, den)
        }
        (Outcome::Pass, _) => first,
        (Outcome::Fail(_), Outcome::Pass) if note == Some(Layout::Numerator) => {
            in_note_layout(first, Layout::Numerator, num)
        }
        (Outcome::Fail(_), Outcome::Pass) => {
            let mut v = other;
            v.message = format!(
                "{} in denominator layout (the note states no layout; it fails in numerator \
                 layout)",
                v.message
            );
            v
        }
        // the shapes fit in denominator layout only: its difference in value says
        // more than the numerator layout's shapes
        (Outcome::Fail(FailKind::Shape), Outcome::Fail(FailKind::Value)) => {
            let mut v = other;
            v.message = format!(
                "{} in denominator layout, where the shapes agree (the note states no layout)",
                v.message
            );
            v
        }
        (Outcome::Fail(_), Outcome::Fail(_)) => first,
        (Outcome::Fail(_), Outcome::Skip(_)) => {
            let mut v = skip(
                SkipReason::Ambiguous,
                &format!(
                    "the note states no layout: in numerator layout {}; in denominator layout \
                     it could not be checked ({})",
                    first.message, other.message
                ),
                &crate::check::Settings::default(),
            );
            v.seed = seed;
            v
        }
        (Outcome::Skip(_), _) => first,
    }
}

/// A failure in the layout the note's other identities use.
fn in_note_layout(mut v: Verdict, layout: Layout, n: usize) -> Verdict {
    let name = match layout {
        Layout::Numerator => "numerator",
        Layout::Denominator => "denominator",
    };
    v.message = format!(
        "{} in {name} layout, the layout of {n} other identities of this note (it holds only \
         in the other layout)",
        v.message
    );
    if v.hint.is_none() {
        v.hint = Some(format!(
            "layout: this holds only in the other layout; the note's other identities use \
             {name} layout"
        ));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(layout: Layout, families: &[(&'static str, &'static str)]) -> Only {
        Only {
            layout,
            families: families.iter().copied().collect(),
        }
    }

    #[test]
    fn the_tally_counts_the_other_identities_that_share_a_family() {
        let grad = ("scalar", "vector");
        let jac = ("vector", "vector");
        let all = [
            only(Layout::Numerator, &[grad]),
            only(Layout::Numerator, &[grad, jac]),
            only(Layout::Denominator, &[jac]),
            only(Layout::Numerator, &[("scalar", "matrix")]),
        ];
        let mut tally = Tally::default();
        for o in &all {
            tally.add(o);
        }
        // each is weighed against the others only, never against itself
        assert_eq!(tally.others(Some(&all[0])), (1, 0));
        assert_eq!(tally.others(Some(&all[1])), (1, 1));
        assert_eq!(tally.others(Some(&all[2])), (1, 0));
        assert_eq!(tally.others(Some(&all[3])), (0, 0));
        assert_eq!(tally.others(None), (0, 0));
    }
}
