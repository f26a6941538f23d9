//! The `notebuild` command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use notebuild::diagnostics;
use notebuild::pipeline::{self, BuildOptions, Progress};

/// Exit code: the command did its work (warnings may have been printed).
const EXIT_OK: u8 = 0;
/// Exit code: `--strict` and there were warnings.
const EXIT_PROBLEMS: u8 = 1;
/// Exit code: bad usage, or an I/O error.
const EXIT_ERROR: u8 = 2;

#[derive(Parser)]
#[command(
    name = "notebuild",
    version,
    about = "Turn a vault of math notes into a checked, linked static site",
    long_about = "notebuild reads a vault of markdown notes (Obsidian style: wikilinks, callouts, \
                  tags, embeds, $math$) and builds a static HTML site that works offline, \
                  with math rendered at build time.",
    after_help = "Usage of build:\n  notebuild build [VAULT] [--out DIR] [--strict]   VAULT defaults to ./notes, DIR to ./site\n\n\
                  Run `notebuild help <COMMAND>` for all the options of a command.\n\
                  Exit codes: 0 success, 1 problems found with --strict, 2 usage or I/O error."
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
                      Exit codes: 0 site built (warnings are printed with file:line), \
                      1 warnings with --strict (the site is still built), 2 usage or I/O error."
    )]
    Build(BuildArgs),
}

#[derive(Args)]
struct BuildArgs {
    /// The vault: a folder of markdown notes
    #[arg(value_name = "VAULT", default_value = "notes")]
    vault: PathBuf,

    /// Where to write the site (must not be the vault or contain it)
    #[arg(short, long, value_name = "DIR", default_value = "site")]
    out: PathBuf,

    /// Exit with code 1 when there are warnings (broken links, formulas that do not render...)
    #[arg(long)]
    strict: bool,

    /// Follow symbolic links inside the vault (loops are detected and reported)
    #[arg(long)]
    follow_links: bool,

    /// The site's title [default: the vault folder's name]
    #[arg(long, value_name = "TEXT")]
    title: Option<String>,

    /// Print only warnings and errors, not the summary or the progress bar
    #[arg(short, long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Build(args) => build(args),
    }
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

fn build(args: BuildArgs) -> ExitCode {
    let options = BuildOptions {
        vault: args.vault.clone(),
        out: args.out.clone(),
        follow_links: args.follow_links,
        title: args.title.clone(),
    };
    if !args.vault.is_dir() {
        eprintln!(
            "error: the vault {} is not a folder\n  = hint: pass the folder of your notes: `notebuild build path/to/vault`",
            args.vault.display()
        );
        return ExitCode::from(EXIT_ERROR);
    }
    let bar = Bar::new(!args.quiet);
    let result = pipeline::build(&options, &bar);
    bar.finish();
    let report = match result {
        Ok(report) => report,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    diagnostics::print(&report.diagnostics, &report.sources);
    let warnings = report.warnings();
    if !args.quiet {
        let unpublished = if report.unpublished > 0 {
            format!(" ({} unpublished)", report.unpublished)
        } else {
            String::new()
        };
        eprintln!(
            "Built {} notes{unpublished} into {}: {} pages, {} attachments, {} warning{} in {:.2}s",
            report.notes,
            args.out.display(),
            report.pages,
            report.attachments,
            warnings,
            if warnings == 1 { "" } else { "s" },
            report.elapsed.as_secs_f64()
        );
    }
    if args.strict && warnings > 0 {
        ExitCode::from(EXIT_PROBLEMS)
    } else {
        ExitCode::from(EXIT_OK)
    }
}
