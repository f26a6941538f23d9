//! The vault's own settings: an optional `notebuild.yaml` at the vault's root, so that
//! `notebuild build` and `notebuild check` (in CI, say) agree without repeating flags.
//!
//! ```yaml
//! title: Matrix calculus
//! layout: denominator      # numerator or denominator (default: what each note says or does)
//! otimes: kronecker        # elementwise (the default) or kronecker
//! card_tags: [flashcards, srs]
//! seed: 7
//! trials: 10
//! macros:                  # TeX macros for every formula (KaTeX-style; #1… are arguments)
//!   "\\R": "\\mathbb{R}"
//!   "\\norm": "\\left\\|#1\\right\\|"
//! html: safe                # drop raw HTML and javascript: links (default: raw, as Obsidian)
//! dates: git                # a note without a front-matter date shows its last commit's
//!                           # (default: frontmatter, front-matter dates only)
//! order:                    # reading order for previous/next (default: folder order)
//!   - Start here
//!   - Foundations/Notation and layout
//! ```
//!
//! Macros can also be defined in a `preamble.sty` at the vault's root (`\newcommand`,
//! `\DeclareMathOperator`, `\def`), which this file's `macros:` override.
//!
//! A flag on the command line wins over the file; a note's front matter (`layout:`,
//! `otimes:`) wins over both for that note. The file itself is not copied into the
//! site.

use std::path::Path;

use serde::Deserialize;

use crate::check;
use crate::diagnostics::{Diagnostic, Severity};

/// The file's name, at the vault's root.
pub const FILE: &str = "notebuild.yaml";

/// The settings a vault may fix. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultConfig {
    /// The site's title.
    pub title: Option<String>,
    /// Layout of derivatives for the whole vault.
    pub layout: Option<LayoutSetting>,
    /// Meaning of `\otimes` for the whole vault.
    pub otimes: Option<OtimesSetting>,
    /// Tags that mark notes holding flashcards.
    pub card_tags: Option<Vec<String>>,
    /// Seed of the checker's random instances.
    pub seed: Option<u64>,
    /// Random trials per identity (5 to 1000).
    pub trials: Option<u64>,
    /// TeX macros, name (`\\R` or `R`) → replacement (`\\mathbb{R}`), in file order.
    pub macros: Option<std::collections::BTreeMap<String, String>>,
    /// What becomes of the notes' raw HTML and `javascript:` links.
    pub html: Option<HtmlSetting>,
    /// Where a note's date comes from.
    pub dates: Option<DatesSetting>,
    /// The reading order of the notes (vault paths, `.md` optional): previous and next
    /// links follow it, then the folder order for the notes it does not name.
    pub order: Option<Vec<String>>,
}

/// `dates:` in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatesSetting {
    /// The front matter's date keys only (`date`, `created`, `updated`…).
    #[serde(alias = "front-matter", alias = "front_matter")]
    Frontmatter,
    /// The front matter's, else the date of the last commit touching the note (the
    /// vault is in a git repository).
    Git,
}

/// `html:` in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HtmlSetting {
    /// As in Obsidian: raw HTML and every link's URL reach the page as written.
    #[serde(alias = "obsidian")]
    Raw,
    /// Raw HTML is dropped, and links and images whose URL would run script
    /// (`javascript:`, `vbscript:`, `data:` other than images) lose that URL.
    Safe,
}

/// `layout:` in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayoutSetting {
    Numerator,
    Denominator,
}

/// `otimes:` in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OtimesSetting {
    #[serde(alias = "element-wise", alias = "hadamard")]
    Elementwise,
    Kronecker,
}

impl From<LayoutSetting> for check::Layout {
    fn from(l: LayoutSetting) -> Self {
        match l {
            LayoutSetting::Numerator => check::Layout::Numerator,
            LayoutSetting::Denominator => check::Layout::Denominator,
        }
    }
}

impl From<OtimesSetting> for check::Otimes {
    fn from(o: OtimesSetting) -> Self {
        match o {
            OtimesSetting::Elementwise => check::Otimes::ElementWise,
            OtimesSetting::Kronecker => check::Otimes::Kronecker,
        }
    }
}

/// A settings file that could not be used: the problem, and the file's text to show
/// it in.
#[derive(Debug, Clone)]
pub struct LoadError {
    pub diagnostic: Diagnostic,
    pub text: String,
}

/// The reading order the vault's file gives (empty without one; a file that does not
/// load was reported when the settings were read).
pub fn reading_order(vault: &Path) -> Vec<String> {
    load(vault)
        .ok()
        .and_then(|config| config.order)
        .unwrap_or_default()
}

/// Reads `VAULT/notebuild.yaml`. No file is no settings; a file that cannot be read or
/// understood is an error at its line, with a hint.
pub fn load(vault: &Path) -> Result<VaultConfig, Box<LoadError>> {
    let path = vault.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(VaultConfig::default()),
        Err(e) => {
            return Err(Box::new(LoadError {
                diagnostic: Diagnostic::whole_file(
                    Severity::Error,
                    FILE,
                    format!("cannot read the vault's settings: {e}"),
                ),
                text: String::new(),
            }));
        }
    };
    parse(&text).map_err(|diagnostic| Box::new(LoadError { diagnostic, text }))
}

/// Parses the file's text.
pub fn parse(text: &str) -> Result<VaultConfig, Diagnostic> {
    // an empty file, or one holding only comments or `~`, sets nothing
    if matches!(
        serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text),
        Ok(serde_yaml_ng::Value::Null)
    ) || text.trim().is_empty()
    {
        return Ok(VaultConfig::default());
    }
    let config: VaultConfig = serde_yaml_ng::from_str(text).map_err(|e| {
        let at = e.location().map_or(0, |l| l.index()).min(text.len());
        let message = e.to_string();
        // serde_yaml_ng appends " at line L column C": the caret says it already
        let message = match message.find(" at line ") {
            Some(k) => message[..k].to_string(),
            None => message,
        };
        let mut d = Diagnostic::warning(
            FILE,
            text,
            at..at,
            format!("bad vault settings: {message}"),
        )
        .with_hint(
            "the keys are title, layout (numerator|denominator), otimes (elementwise|kronecker), \
             card_tags (a list), seed, trials (5 to 1000), macros (a map of TeX macros), \
             html (raw|safe) and dates (frontmatter|git)",
        );
        d.severity = Severity::Error;
        d
    })?;
    if let Some(t) = config.trials
        && !(5..=1000).contains(&t)
    {
        // the key at the start of its line
        let at = text
            .match_indices("trials")
            .map(|(k, _)| k)
            .find(|&k| k == 0 || text[..k].ends_with('\n'))
            .unwrap_or(0);
        let mut d = Diagnostic::warning(
            FILE,
            text,
            at..at + "trials".len().min(text.len() - at),
            format!("bad vault settings: trials is {t}, it must be 5 to 1000"),
        )
        .with_hint(if t < 5 {
            "fewer than 5 trials would let wrong identities pass by chance"
        } else {
            "more than 1000 trials would make checking a vault slow without making a verdict surer"
        });
        d.severity = Severity::Error;
        return Err(d);
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_key() {
        let c = parse(
            "title: Calc\nlayout: denominator\notimes: kronecker\ncard_tags: [srs, cards/math]\nseed: 7\ntrials: 12\n",
        );
        assert_eq!(
            c,
            Ok(VaultConfig {
                title: Some("Calc".into()),
                layout: Some(LayoutSetting::Denominator),
                otimes: Some(OtimesSetting::Kronecker),
                card_tags: Some(vec!["srs".into(), "cards/math".into()]),
                seed: Some(7),
                trials: Some(12),
                macros: None,
                html: None,
                dates: None,
                order: None,
            })
        );
        assert_eq!(
            parse("order:\n  - Start here\n  - Rules/Chain rule.md\n").map(|c| c.order),
            Ok(Some(vec![
                "Start here".into(),
                "Rules/Chain rule.md".into()
            ]))
        );
        assert_eq!(
            parse("html: safe\n").map(|c| c.html),
            Ok(Some(HtmlSetting::Safe))
        );
        assert_eq!(
            parse("dates: git\n").map(|c| c.dates),
            Ok(Some(DatesSetting::Git))
        );
        assert_eq!(
            parse("otimes: element-wise\n").map(|c| c.otimes),
            Ok(Some(OtimesSetting::Elementwise))
        );
        assert_eq!(parse("\n# nothing set\n"), Ok(VaultConfig::default()));
    }

    #[test]
    fn a_bad_file_is_an_error_at_its_line() {
        let e = parse("title: x\nlayuot: denominator\n").err();
        let e = e.as_ref();
        assert_eq!(e.map(|d| d.line), Some(2), "{e:?}");
        assert!(e.is_some_and(|d| d.message.contains("layuot")), "{e:?}");
        assert!(e.is_some_and(|d| d.severity == Severity::Error));
        let e = parse("layout: sideways\n").err();
        assert!(
            e.as_ref()
                .is_some_and(|d| d.line == 1 && d.message.contains("sideways")),
            "{e:?}"
        );
        let e = parse("title: trials and errors\ntrials: 2\n").err();
        assert_eq!(e.as_ref().map(|d| d.line), Some(2), "{e:?}");
        assert!(e.is_some_and(|d| d.hint.as_deref().is_some_and(|h| h.contains("fewer"))));
        // too many trials is not "too few"
        let e = parse("trials: 100000000\n").err();
        assert!(
            e.as_ref().is_some_and(|d| d
                .hint
                .as_deref()
                .is_some_and(|h| h.contains("more than 1000"))),
            "{e:?}"
        );
        assert_eq!(parse("~\n"), Ok(VaultConfig::default()));
    }

    #[test]
    fn reads_macros() {
        let c = parse("macros:\n  \"\\\\R\": \"\\\\mathbb{R}\"\n  vb: '\\mathbf{#1}'\n");
        let macros = c.ok().and_then(|c| c.macros).unwrap_or_default();
        assert_eq!(macros.get("\\R").map(String::as_str), Some("\\mathbb{R}"));
        assert_eq!(macros.get("vb").map(String::as_str), Some("\\mathbf{#1}"));
    }
}
