//! The `notebuild` command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use notebuild::check;
use notebuild::config::{self, VaultConfig};
use notebuild::diagnostics;
use notebuild::export;
use notebuild::extract::cards::CardSettings;
use notebuild::output;
use notebuild::pipeline::{self, BuildOptions, Progress};
use notebuild::vault::WalkOptions;

/// Exit code: the command did its work (warnings may have been printed).
const EXIT_OK: u8 = 0;
/// Exit code: `--strict` and there were warnings; for `check`, an identity fails.
const EXIT_PROBLEMS: u8 = 1;
/// Exit code: bad usage, or an I/O error.
const EXIT_ERROR: u8 = 2;

#[derive(Parser)]
#[command(
    name = "notebuild",
    version,
    about = "Turn a vault of math notes into a checked, linked static site",
    long_about = "notebuild reads a vault of markdown notes (Obsidian style: wikilinks, callouts, \
                  tags, embeds, $math$, flashcards) and builds a static HTML site that works \
                  offline, with math rendered at build time, every stated derivative identity \
                  checked numerically, and self-quizzes made from the flashcards.",
    after_help = "Usage (VAULT defaults to ./notes, DIR to ./site):\n  \
                  notebuild build [VAULT] [--out DIR] [--strict]  build the site\n  \
                  notebuild serve [VAULT] [--port PORT]           serve it, rebuilt on every change\n  \
                  notebuild check [VAULT] [--format json|github]  check the identities only\n  \
                  notebuild cards [VAULT] [--format json|anki]    export the flashcards\n\n\
                  Run `notebuild help <COMMAND>` for all the options of a command.\n\
                  Exit codes: 0 success; 1 build --strict found problems, or check found a wrong identity; \
                  2 usage or I/O error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the static site from a vault
    #[command(
        long_about = "Build the static site from a vault.\n\n\
        Every `.md` file under VAULT becomes a page; other files (images, PDFs) are copied so \
        that embeds work. Hidden folders (.obsidian, .git, .trash) are skipped. Notes with \
        `draft: true` or `publish: false` in their front matter are left out.\n\n\
        The site is written into a temporary folder next to OUT and swapped in only when the \
        build is complete. OUT is replaced only if it is empty or was made by notebuild.",
        after_help = "Examples:\n  notebuild build                     build ./notes into ./site\n  \
                      notebuild build ~/vault --out public\n  \
                      notebuild build ~/vault --strict     fail (exit 1) on any warning\n\n\
                      Settings: a notebuild.yaml at the vault's root may set title, layout, otimes, card_tags, seed, trials, macros, html and dates for every command; a flag wins over it.\n\n\
                      Exit codes: 0 site built (warnings are printed with file:line), \
                      1 warnings with --strict (the site is still built), 2 usage or I/O error."
    )]
    Build(BuildArgs),

    /// Serve the site on this machine, rebuilt whenever the vault changes
    #[command(
        long_about = "Build the site, serve it at http://127.0.0.1:PORT/ and rebuild it whenever \
        a note or an attachment of the vault changes (or notebuild.yaml); open pages reload \
        by themselves after each rebuild. The site written to OUT is the one `build` writes: \
        the server only adds the reload script to the pages it sends. Problems are printed \
        after each build, as `build` prints them.",
        after_help = "Examples:\n  notebuild serve                  serve ./notes at http://127.0.0.1:8000/\n  \
                      notebuild serve ~/vault --port 0 any free port\n\n\
                      Settings: a notebuild.yaml at the vault's root may set title, layout, otimes, card_tags, seed, trials, macros, html and dates for every command; a flag wins over it.\n\n\
                      Exit codes: 2 usage or I/O error (the port is taken, the first build failed)."
    )]
    Serve(ServeArgs),

    /// Check every derivative identity in the vault numerically
    #[command(
        long_about = "Check every derivative identity in the vault numerically.\n\n\
        An identity is an equation in the notes' math where one side is a derivative: \
        \\frac{\\partial y}{\\partial x}, \\frac{\\partial}{\\partial X}(...), \\frac{d}{dx}, \\nabla_x f. \
        Each is evaluated on random instances (fresh sizes and values in every trial) with \
        forward-mode automatic differentiation, cross-checked by central differences. \
        A note's layout is the one its front matter (`layout: denominator`) or its text \
        (\"numerator layout\") states, else the vault's (--layout, notebuild.yaml), else the \
        one its other identities hold in; where nothing fixes it, an identity fails only if \
        it is wrong in both layouts.\n\n\
        Verdicts: pass; fail (kind `shape` or `value`, with a hint such as \
        \"layout\" for a transposed answer, \"factor 2\", \"sign\" or \"holds only for symmetric \
        matrices\", and a counterexample); skip, with the reason (abstract functions such as \
        f and g, constructs the checker does not understand).",
        after_help = "Examples:\n  notebuild check                          check the bundled vault\n  \
                      notebuild check ~/vault --format github  annotations for GitHub Actions\n  \
                      notebuild check ~/vault --format json > report.json\n  \
                      notebuild check ~/vault --seed 42        reproduce a failure\n\n\
                      Settings: a notebuild.yaml at the vault's root may set title, layout, otimes, card_tags, seed, trials, macros, html and dates for every command; a flag wins over it.\n\n\
                      Exit codes: 0 no identity fails, 1 an identity fails, 2 usage or I/O error."
    )]
    Check(CheckArgs),

    /// Export the vault's flashcards (Anki import file or JSON)
    #[command(
        long_about = "Export the vault's flashcards.\n\n\
        Cards are written in the Obsidian Spaced Repetition plugin's formats: `question::answer`, \
        reversed `question:::answer`, multi-line cards split by a `?` (or `??`) line, clozes \
        (`==answer==`, `==1;;answer;;hint==`, `{{c1::answer}}`) and `> [!question]- title` \
        callouts followed by `?` and the answer. Only notes tagged #flashcards (or a tag given \
        with --card-tag, nested tags included) hold cards; the deck is the tag's path.\n\n\
        --format anki writes Anki's plain-text import file (File > Import): tab-separated, \
        HTML fields with math as \\(...\\) and \\[...\\], a GUID column from each card's stable \
        id so that importing again updates the cards, note types Basic, Basic (and reversed \
        card) and Cloze, and deck and tags columns. With --safe-html (or `html: safe` in \
        notebuild.yaml) the cards' raw HTML and script URLs are left out, as on the site.\n\n\
        --format json lists every card with its file, line, deck, front, back and schedule \
        (from its <!--SR:...--> review comment).",
        after_help = "Examples:\n  notebuild cards ~/vault --format anki > deck.txt\n  \
                      notebuild cards ~/vault --format json | jq '.summary'\n\n\
                      Settings: a notebuild.yaml at the vault's root may set title, layout, otimes, card_tags, seed, trials, macros, html and dates for every command; a flag wins over it.\n\n\
                      Exit codes: 0 cards written (problems in card syntax are warnings on stderr), \
                      2 usage or I/O error."
    )]
    Cards(CardsArgs),
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum CardFormat {
    /// Anki's plain-text import file (tab-separated, HTML fields, GUID column)
    Anki,
    /// one JSON object: {"version":1, "cards":[...], "summary":{...}}
    Json,
}

#[derive(Args)]
struct CardsArgs {
    /// The vault: a folder of markdown notes
    #[arg(value_name = "VAULT", default_value = "notes")]
    vault: PathBuf,

    /// Output format
    #[arg(long, value_enum, default_value_t = CardFormat::Json)]
    format: CardFormat,

    /// Write to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Follow symbolic links inside the vault
    #[arg(long)]
    follow_links: bool,

    /// Drop the cards' raw HTML and javascript: links from the Anki export
    /// [default: `html: safe` in notebuild.yaml, else kept as in Obsidian]
    #[arg(long)]
    safe_html: bool,

    #[command(flatten)]
    cards: CardTags,
}

/// Which notes hold flashcards (shared by `build` and `cards`).
#[derive(Args)]
struct CardTags {
    /// A tag that marks notes holding flashcards (repeatable) [default: `card_tags` in
    /// notebuild.yaml, else flashcards]
    #[arg(long = "card-tag", value_name = "TAG")]
    tags: Vec<String>,
}

impl CardTags {
    /// The flag's tags, else the vault's, else the default.
    fn settings(&self, vault: &VaultConfig) -> CardSettings {
        let tags = if self.tags.is_empty() {
            vault.card_tags.as_deref().unwrap_or_default()
        } else {
            &self.tags
        };
        if tags.is_empty() {
            CardSettings::default()
        } else {
            CardSettings {
                tags: tags
                    .iter()
                    .map(|t| t.trim_start_matches('#').to_string())
                    .collect(),
            }
        }
    }
}

/// How identities are checked (shared by `build` and `check`). Each flag wins over
/// the same setting in the vault's notebuild.yaml.
#[derive(Args)]
struct CheckSettings {
    /// Seed of the random instances; printed with every failure to reproduce it
    /// [default: 24301]
    #[arg(long, value_name = "N")]
    seed: Option<u64>,

    /// Random trials per identity (5 to 1000) [default: 6]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(5..=1000))]
    trials: Option<u64>,

    /// Layout of derivatives for the whole vault (a note's front matter `layout:` wins)
    /// [default: the layout each note states or its identities use, else either]
    #[arg(long, value_enum)]
    layout: Option<LayoutArg>,

    /// Meaning of \otimes for the whole vault (a note's front matter `otimes:` wins)
    /// [default: elementwise]
    #[arg(long, value_enum)]
    otimes: Option<OtimesArg>,

    /// Check every identity again, neither reading nor writing the verdict cache
    /// (.notebuild/verdicts.json at the vault's root)
    #[arg(long)]
    no_cache: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LayoutArg {
    /// dy/dx is m×n; a gradient is a row
    Numerator,
    /// the transpose: a gradient is a column
    Denominator,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum OtimesArg {
    /// element-wise product (Parr & Howard)
    Elementwise,
    /// Kronecker product
    Kronecker,
}

impl CheckSettings {
    /// The flags, else the vault's settings, else the defaults.
    fn settings(&self, vault: &VaultConfig) -> check::Settings {
        let default = check::Settings::default();
        check::Settings {
            seed: self.seed.or(vault.seed).unwrap_or(default.seed),
            trials: self
                .trials
                .or(vault.trials)
                .map_or(default.trials, |t| t as usize),
            layout: match self.layout {
                Some(LayoutArg::Numerator) => Some(check::Layout::Numerator),
                Some(LayoutArg::Denominator) => Some(check::Layout::Denominator),
                None => vault.layout.map(Into::into).or(default.layout),
            },
            otimes: match self.otimes {
                Some(OtimesArg::Elementwise) => check::Otimes::ElementWise,
                Some(OtimesArg::Kronecker) => check::Otimes::Kronecker,
                None => vault.otimes.map_or(default.otimes, Into::into),
            },
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    /// rustc-style messages with the source line and a caret
    Human,
    /// one JSON object: {"version":1, "identities":[...], "summary":{...}}
    Json,
    /// GitHub Actions annotations (::error file=...,line=...::)
    Github,
}

#[derive(Args)]
struct CheckArgs {
    /// The vault: a folder of markdown notes
    #[arg(value_name = "VAULT", default_value = "notes")]
    vault: PathBuf,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,

    /// Also list the identities that were skipped, with the reason (human format)
    #[arg(long)]
    show_skips: bool,

    /// Follow symbolic links inside the vault
    #[arg(long)]
    follow_links: bool,

    #[command(flatten)]
    settings: CheckSettings,
}

/// What a site is built from and where it goes (shared by `build` and `serve`).
#[derive(Args)]
struct SiteArgs {
    /// The vault: a folder of markdown notes
    #[arg(value_name = "VAULT", default_value = "notes")]
    vault: PathBuf,

    /// Where to write the site (must not be the vault or contain it)
    #[arg(short, long, value_name = "DIR", default_value = "site")]
    out: PathBuf,

    /// Follow symbolic links inside the vault (loops are detected and reported)
    #[arg(long)]
    follow_links: bool,

    /// The site's title [default: `title` in notebuild.yaml, else the vault folder's name]
    #[arg(long, value_name = "TEXT")]
    title: Option<String>,

    /// Print only warnings and errors, not the summary or the progress bar
    #[arg(short, long)]
    quiet: bool,

    /// Print the first N warnings of each kind (broken links, formulas not rendered…),
    /// or `all`; a summary by kind follows [default: 10; all with --strict]
    #[arg(long, value_name = "N|all", value_parser = parse_max_warnings)]
    max_warnings: Option<MaxWarnings>,

    /// Drop the notes' raw HTML and javascript: links, for notes you did not write
    /// [default: `html: safe` in notebuild.yaml, else kept as in Obsidian]
    #[arg(long)]
    safe_html: bool,

    #[command(flatten)]
    settings: CheckSettings,

    #[command(flatten)]
    cards: CardTags,
}

/// How many warnings of each kind to print.
#[derive(Clone, Copy, Debug)]
enum MaxWarnings {
    All,
    Each(usize),
}

/// The warnings of each kind printed when neither --max-warnings nor --strict says.
const DEFAULT_MAX_WARNINGS: usize = 10;

fn parse_max_warnings(text: &str) -> Result<MaxWarnings, String> {
    if text.eq_ignore_ascii_case("all") {
        return Ok(MaxWarnings::All);
    }
    text.parse()
        .map(MaxWarnings::Each)
        .map_err(|_| format!("`{text}` is not a number or `all`"))
}

impl SiteArgs {
    /// The most warnings of each kind to print (`None`: all).
    fn max_per_kind(&self, strict: bool) -> Option<usize> {
        match (self.max_warnings, strict) {
            (Some(MaxWarnings::All), _) | (None, true) => None,
            (Some(MaxWarnings::Each(n)), _) => Some(n),
            (None, false) => Some(DEFAULT_MAX_WARNINGS),
        }
    }
}

#[derive(Args)]
struct BuildArgs {
    #[command(flatten)]
    site: SiteArgs,

    /// Exit with code 1 when there are warnings (broken links, formulas that do not render...)
    #[arg(long)]
    strict: bool,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    site: SiteArgs,

    /// The port on 127.0.0.1 to serve on (0: any free port)
    #[arg(short, long, value_name = "PORT", default_value_t = 8000)]
    port: u16,
}

fn main() -> ExitCode {
    quiet_renderer_panics();
    let cli = Cli::parse();
    match cli.command {
        Command::Build(args) => build(args),
        Command::Serve(args) => serve(args),
        Command::Check(args) => check_command(args),
        Command::Cards(args) => cards_command(args),
    }
}

/// The math renderer's panics are caught and reported as a formula that cannot be
/// rendered, at its file and line: the panic's own message and backtrace would only
/// repeat it in a form the user cannot act on.
fn quiet_renderer_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_renderer = info.location().is_some_and(|l| {
            let file = l.file();
            file.contains("pulldown-latex") || file.contains("pulldown_latex")
        });
        if !in_renderer {
            default(info);
        }
    }));
}

/// A progress bar on standard error, only on a terminal.
struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    enabled: bool,
}

impl Bar {
    fn new(enabled: bool) -> Self {
        Bar {
            bar: Mutex::new(None),
            enabled: enabled && std::io::stderr().is_terminal(),
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn stage(&self, name: &str, steps: usize) {
        if !self.enabled {
            return;
        }
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(old) = slot.take() {
                old.finish_and_clear();
            }
            let bar =
                ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{spinner} {msg:>10} [{bar:30}] {pos}/{len}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_message(name.to_string());
            *slot = Some(bar);
        }
    }

    fn step(&self) {
        if !self.enabled {
            return;
        }
        if let Ok(slot) = self.bar.lock()
            && let Some(bar) = slot.as_ref()
        {
            bar.inc(1);
        }
    }
}

/// The build's options: the flags, the vault's notebuild.yaml, the defaults.
fn build_options(args: &SiteArgs, command: &str) -> Result<BuildOptions, ExitCode> {
    let vault = vault_settings(&args.vault, command)?;
    Ok(BuildOptions {
        vault: args.vault.clone(),
        out: args.out.clone(),
        follow_links: args.follow_links,
        title: args.title.clone().or_else(|| vault.title.clone()),
        check: args.settings.settings(&vault),
        cards: args.cards.settings(&vault),
        macros: vault.macros.clone().unwrap_or_default(),
        safe_html: args.safe_html || vault.html == Some(config::HtmlSetting::Safe),
        git_dates: vault.dates == Some(config::DatesSetting::Git),
        cache: !args.settings.no_cache,
    })
}

/// Builds the site and prints its problems and (unless quiet) its summary. `None`
/// when the build failed outright (the error is printed).
fn build_and_report(
    options: &BuildOptions,
    args: &SiteArgs,
    strict: bool,
) -> Option<pipeline::BuildReport> {
    build_and_report_new(options, args, strict, None)
}

/// [`build_and_report`] printing only the warnings that are not in `shown` (those a
/// `serve` printed after its last build), and how many of those are gone.
fn build_and_report_new(
    options: &BuildOptions,
    args: &SiteArgs,
    strict: bool,
    shown: Option<&[diagnostics::Diagnostic]>,
) -> Option<pipeline::BuildReport> {
    let bar = Bar::new(!args.quiet);
    let result = pipeline::build(options, &bar);
    bar.finish();
    print_report(result, args, strict, shown)
}

/// Prints a build's problems (only those not in `shown`, when given) and (unless quiet)
/// its summary. `None` when the build failed outright (the error is printed).
fn print_report(
    result: Result<pipeline::BuildReport, pipeline::BuildError>,
    args: &SiteArgs,
    strict: bool,
    shown: Option<&[diagnostics::Diagnostic]>,
) -> Option<pipeline::BuildReport> {
    let report = match result {
        Ok(report) => report,
        Err(err) => {
            eprintln!("error: {err}");
            return None;
        }
    };
    match shown {
        None => diagnostics::print_some(
            &report.diagnostics,
            &report.sources,
            args.max_per_kind(strict),
        ),
        Some(shown) => {
            let before: std::collections::HashSet<&diagnostics::Diagnostic> =
                shown.iter().collect();
            let now: std::collections::HashSet<&diagnostics::Diagnostic> =
                report.diagnostics.iter().collect();
            let new: Vec<diagnostics::Diagnostic> = report
                .diagnostics
                .iter()
                .filter(|d| !before.contains(d))
                .cloned()
                .collect();
            let gone = shown.iter().filter(|d| !now.contains(d)).count();
            diagnostics::print_some(&new, &report.sources, args.max_per_kind(strict));
            let kept = report.diagnostics.len() - new.len();
            if kept > 0 || gone > 0 {
                eprintln!(
                    "{} new, {} as before (not printed again), {} gone",
                    plural(new.len(), "warning", "warnings"),
                    kept,
                    gone
                );
            }
        }
    }
    if !args.quiet {
        print_summary(&report, args);
    }
    Some(report)
}

fn print_summary(report: &pipeline::BuildReport, args: &SiteArgs) {
    let unpublished = if report.unpublished > 0 {
        format!(" ({} unpublished)", report.unpublished)
    } else {
        String::new()
    };
    let checks = output::Summary::of(report.identities.iter().flatten());
    eprintln!(
        "Built {} into {}: {}, {}, {} in {:.2}s",
        plural(report.notes, "note", "notes") + &unpublished,
        args.out.display(),
        plural(report.pages, "page", "pages"),
        plural(report.attachments, "attachment", "attachments"),
        plural(report.warnings(), "warning", "warnings"),
        report.elapsed.as_secs_f64()
    );
    if !report.diagnostics.is_empty() {
        eprintln!("Warnings: {}", diagnostics::summary(&report.diagnostics));
    }
    let cards: usize = report.cards.iter().map(Vec::len).sum();
    if cards > 0 {
        let mut decks: Vec<String> = report
            .cards
            .iter()
            .flatten()
            .map(|c| c.deck.join("/").to_lowercase())
            .collect();
        decks.sort();
        decks.dedup();
        eprintln!(
            "Flashcards: {} in {}",
            plural(cards, "card", "cards"),
            plural(decks.len(), "deck", "decks")
        );
    }
    if checks.total() > 0 {
        eprintln!(
            "Identities: {} passed, {} failed, {} skipped (report: {}; details: notebuild check {})",
            checks.pass,
            checks.fail,
            checks.skip,
            args.out.join(notebuild::render::CHECKS_PAGE).display(),
            args.vault.display()
        );
    }
}

fn build(args: BuildArgs) -> ExitCode {
    let options = match build_options(&args.site, "build") {
        Ok(o) => o,
        Err(code) => return code,
    };
    let Some(report) = build_and_report(&options, &args.site, args.strict) else {
        return ExitCode::from(EXIT_ERROR);
    };
    if args.strict && report.warnings() > 0 {
        ExitCode::from(EXIT_PROBLEMS)
    } else {
        ExitCode::from(EXIT_OK)
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    let site = &args.site;
    let mut options = match build_options(site, "serve") {
        Ok(o) => o,
        Err(code) => return code,
    };
    let bar = Bar::new(!site.quiet);
    let result = notebuild::live::Live::build(&options, &bar);
    bar.finish();
    // what the last build was made of, for rebuilds that redo only what changed
    let mut live = None;
    let result = result.map(|(report, state)| {
        live = state;
        report
    });
    let Some(first) = print_report(result, site, false, None) else {
        return ExitCode::from(EXIT_ERROR);
    };
    // The warnings printed so far: a rebuild prints only the others.
    let mut shown = first.diagnostics;
    let server = match notebuild::serve::Server::start(&site.out, args.port) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "error: {e}\n  = hint: pass another port with --port N (--port 0 picks a free one)"
            );
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let (_watcher, changes) =
        match notebuild::serve::watch(&site.vault, std::slice::from_ref(&site.out)) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        };
    eprintln!(
        "Serving {} at http://127.0.0.1:{}/ (rebuilt when the vault changes; Ctrl-C stops)",
        site.out.display(),
        server.port
    );
    while let Some(changed) = notebuild::serve::next_change(&changes) {
        // the vault's settings may have changed too
        match build_options(site, "serve") {
            Ok(o) => options = o,
            Err(_) => {
                eprintln!("notebuild.yaml has a problem (above); the last good settings are kept");
            }
        }
        if let Some(report) = rebuild(&options, site, &shown, &mut live, changed) {
            shown = report.diagnostics;
            server.rebuilt();
        } else {
            eprintln!(
                "the rebuild failed (above): the site still shows the last good build, and the next change rebuilds it"
            );
        }
    }
    ExitCode::from(EXIT_OK)
}

/// A rebuild for `serve`: only the files a change touches when it can (`live`), else
/// the whole site. One that runs long says so while it runs (the site shows the last
/// build meanwhile), and one that stops on an internal error is reported instead of
/// ending the server.
fn rebuild(
    options: &BuildOptions,
    site: &SiteArgs,
    shown: &[diagnostics::Diagnostic],
    live: &mut Option<notebuild::live::Live>,
    changed: notebuild::serve::Changed,
) -> Option<pipeline::BuildReport> {
    const LONG: std::time::Duration = std::time::Duration::from_secs(10);
    let mut changed = Some(changed);
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let start = std::time::Instant::now();
        let mut next = LONG;
        loop {
            match finished.recv_timeout(next.saturating_sub(start.elapsed())) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    eprintln!(
                        "still rebuilding after {} s: the site shows the last build until this one ends",
                        start.elapsed().as_secs()
                    );
                    next *= 3;
                }
                _ => return,
            }
        }
    });
    let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // the quick way first; anything it cannot do (or a failed write) is a full build
        let quick = live
            .as_mut()
            .and_then(|l| l.update(options, changed.take()).ok().flatten());
        let result = match quick {
            Some(report) => Ok(report),
            None => {
                *live = None;
                let bar = Bar::new(!site.quiet);
                let result = notebuild::live::Live::build(options, &bar);
                bar.finish();
                result.map(|(report, state)| {
                    *live = state;
                    report
                })
            }
        };
        print_report(result, site, false, Some(shown))
    }));
    let _ = done.send(());
    let _ = watchdog.join();
    match report {
        Ok(report) => report,
        Err(_) => {
            *live = None;
            eprintln!("error: the rebuild stopped on an internal error (above)");
            None
        }
    }
}

fn check_command(args: CheckArgs) -> ExitCode {
    let vault = match vault_settings(&args.vault, "check") {
        Ok(v) => v,
        Err(code) => return code,
    };
    let walk = WalkOptions {
        follow_links: args.follow_links,
        exclude: Vec::new(),
    };
    let interactive = matches!(args.format, Format::Human);
    let bar = Bar::new(interactive);
    let macros = vault.macros.clone().unwrap_or_default();
    let settings = args.settings.settings(&vault);
    let cache = if args.settings.no_cache {
        notebuild::cache::Cache::disabled()
    } else {
        notebuild::cache::Cache::open(&args.vault)
    };
    let checked = match pipeline::check_vault(&args.vault, &walk, &macros, &settings, &cache, &bar)
    {
        Ok(c) => c,
        Err(err) => {
            bar.finish();
            eprintln!("error: {err}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    cache.save();
    let identities = checked.identities;
    bar.finish();
    let all: Vec<&check::Located> = identities.iter().flatten().collect();
    match args.format {
        Format::Json => println!("{}", output::json(&all)),
        Format::Github => {
            // Annotations name files from the repository root: the vault as given.
            let vault = args.vault.to_string_lossy().replace('\\', "/");
            let prefix = match vault.trim_end_matches('/') {
                "" | "." => String::new(),
                v => format!("{}/", v.trim_start_matches("./")),
            };
            print!("{}", output::github(&all, &prefix))
        }
        Format::Human => {
            let color = std::io::stdout().is_terminal();
            print!(
                "{}",
                output::human(&all, &checked.sources, args.show_skips, color)
            );
        }
    }
    let failed = all
        .iter()
        .any(|i| i.verdict.status() == check::Status::Fail);
    if failed {
        ExitCode::from(EXIT_PROBLEMS)
    } else {
        ExitCode::from(EXIT_OK)
    }
}

/// Whether the file `path` (which may not exist yet) would be inside the folder `vault`.
fn inside(path: &std::path::Path, vault: &std::path::Path) -> bool {
    let Ok(vault) = vault.canonicalize() else {
        return false;
    };
    let absolute = notebuild::site::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let folder = absolute
        .parent()
        .and_then(|p| p.canonicalize().ok())
        .unwrap_or_else(|| absolute.clone());
    folder.starts_with(&vault)
}

/// `1 note`, `2 notes`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn cards_command(args: CardsArgs) -> ExitCode {
    let vault = match vault_settings(&args.vault, "cards") {
        Ok(v) => v,
        Err(code) => return code,
    };
    let card_settings = args.cards.settings(&vault);
    let walk = WalkOptions {
        follow_links: args.follow_links,
        exclude: Vec::new(),
    };
    let macros = vault.macros.clone().unwrap_or_default();
    let analysed = match pipeline::analyse(
        &args.vault,
        &walk,
        &card_settings,
        &macros,
        &pipeline::Quiet,
    ) {
        Ok(a) => a,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    // Only the problems of card syntax matter here (`build` reports the others).
    let card_problems = &analysed.card_diagnostics;
    let sources = analysed
        .notes
        .iter()
        .map(|n| (n.path.clone(), n.text.clone()))
        .collect();
    diagnostics::print(card_problems, &sources);
    let text = match args.format {
        CardFormat::Json => {
            let all: Vec<&notebuild::extract::cards::Card> =
                analysed.cards.iter().flatten().collect();
            export::json(&all) + "\n"
        }
        CardFormat::Anki => {
            let tags: Vec<Vec<String>> = analysed.infos.iter().map(|i| i.tags.clone()).collect();
            let safe_html = args.safe_html || vault.html == Some(config::HtmlSetting::Safe);
            export::anki(
                &analysed.notes,
                &analysed.cards,
                &tags,
                &card_settings.tags,
                safe_html,
            )
        }
    };
    let written = match &args.output {
        Some(path) if inside(path, &args.vault) => Err(format!(
            "refusing to write {} inside the vault {}: choose a file outside it",
            path.display(),
            args.vault.display()
        )),
        Some(path) => {
            std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(text.as_bytes())
                .map_err(|e| format!("cannot write to standard output: {e}"))
        }
    };
    if let Err(e) = written {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_ERROR);
    }
    let count: usize = analysed.cards.iter().map(Vec::len).sum();
    if args.output.is_some() || std::io::stdout().is_terminal() {
        eprintln!(
            "{} from {}",
            plural(count, "card", "cards"),
            plural(
                analysed.cards.iter().filter(|c| !c.is_empty()).count(),
                "note",
                "notes"
            )
        );
    }
    ExitCode::from(EXIT_OK)
}

/// The vault's settings file (notebuild.yaml), after checking that `vault` is a
/// folder. A bad file is an error (exit 2) at its line.
fn vault_settings(vault: &std::path::Path, command: &str) -> Result<VaultConfig, ExitCode> {
    vault_folder(vault, command)?;
    config::load(vault).map_err(|e| {
        let config::LoadError { diagnostic, text } = *e;
        let sources = std::collections::HashMap::from([(config::FILE.to_string(), text)]);
        diagnostics::print(&[diagnostic], &sources);
        ExitCode::from(EXIT_ERROR)
    })
}

/// Fails (exit 2, with a hint) unless `vault` is a folder.
fn vault_folder(vault: &std::path::Path, command: &str) -> Result<(), ExitCode> {
    if vault.is_dir() {
        Ok(())
    } else {
        eprintln!(
            "error: the vault {} is not a folder\n  = hint: pass the folder of your notes: `notebuild {command} path/to/vault`",
            vault.display()
        );
        Err(ExitCode::from(EXIT_ERROR))
    }
}
