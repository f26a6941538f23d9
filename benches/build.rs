//! Build benchmark: times `pipeline::build` on a generated vault and on the bundled one.
//!
//! ```sh
//! cargo bench --bench build
//! cargo bench --bench build -- --notes 1000 --runs 7
//! ```
//!
//! A vault of `--notes` notes (default 1000) is generated into a temporary folder from a
//! seeded PRNG, so every run builds the same text: front matter, headings, paragraphs,
//! nested lists, wikilinks (a few of them broken), a transclusion and an image embed,
//! callouts, tags, highlights, 5–15 inline and 2–4 display formulas, a code block and a
//! table per note. Each vault is built once to warm up, then `--runs` times (default 7),
//! each time into a fresh output folder; the stages are then timed one by one through the
//! library, and the generated vault is built again on a single-thread rayon pool.
//!
//! Nothing is asserted: the program only prints what it measured.

use std::error::Error;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use notebuild::extract::{self, NoteInfo};
use notebuild::parse::{self, ParsedNote};
use notebuild::pipeline::{self, BuildOptions, Quiet};
use notebuild::render::{self, SiteSettings, math::MathMode};
use notebuild::vault::{self, WalkOptions};
use notebuild::{graph, site};
use rayon::prelude::*;

/// Errors that may cross a rayon pool (`ThreadPool::install` needs a `Send` result).
type BenchError = Box<dyn Error + Send + Sync>;
type BenchResult<T> = Result<T, BenchError>;

const DEFAULT_NOTES: usize = 1000;
const DEFAULT_RUNS: usize = 7;
const SEED: u64 = 0x5EED_F00D;

fn main() -> Result<(), Box<dyn Error>> {
    run().map_err(|e| e as Box<dyn Error>)
}

fn run() -> BenchResult<()> {
    let Some(args) = Args::parse()? else {
        return Ok(());
    };
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let pool_threads = rayon::current_num_threads();
    let profile = if cfg!(debug_assertions) {
        "debug (numbers are not meaningful; use cargo bench)"
    } else {
        "release"
    };
    println!("notebuild build benchmark");
    println!(
        "machine: {cpus} logical CPUs (available_parallelism){}; rayon pool: {pool_threads} threads; profile: {profile}",
        cpu_model().map(|m| format!(", {m}")).unwrap_or_default()
    );
    println!(
        "settings: --notes {} --runs {} (one warm-up build before the timed ones)",
        args.notes, args.runs
    );

    let scratch = tempfile::Builder::new()
        .prefix("notebuild-bench-")
        .tempdir()?;
    println!("scratch folder: {}", scratch.path().display());

    let generated_root = scratch.path().join("generated-vault");
    let started = Instant::now();
    let stats = generate_vault(&generated_root, args.notes, SEED)?;
    println!(
        "\ngenerated vault: {} notes in {} folders, {} attachments, {:.1} MiB, {} lines \
         ({}–{} per note), {} inline + {} display formulas, {} links ({} broken), {} embeds; \
         written in {}",
        stats.notes,
        stats.folders,
        stats.attachments,
        stats.bytes as f64 / (1024.0 * 1024.0),
        stats.lines,
        stats.min_lines,
        stats.max_lines,
        stats.inline_math,
        stats.display_math,
        stats.links,
        stats.broken_links,
        stats.embeds,
        ms(started.elapsed()),
    );

    let bundled_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("notes");
    let mut rows = Vec::new();

    let label = format!("generated ({})", args.notes);
    println!("\n== {label}, rayon pool of {pool_threads} threads ==");
    let generated = measure_builds(&generated_root, scratch.path(), "gen", args.runs)?;
    print_build(&generated);
    print_warning_kinds(&generated.warning_kinds);
    let stages = measure_stages(&generated_root, scratch.path(), "gen", args.runs)?;
    print_stages(&stages, generated.median());
    rows.push(Row::new(&label, pool_threads, &generated));

    let single_pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    println!("\n== {label}, rayon pool of 1 thread ==");
    let (single, single_stages) = single_pool.install(|| -> BenchResult<_> {
        let builds = measure_builds(&generated_root, scratch.path(), "gen1", args.runs)?;
        let stages = measure_stages(&generated_root, scratch.path(), "gen1", args.runs)?;
        Ok((builds, stages))
    })?;
    print_build(&single);
    print_stages(&single_stages, single.median());
    rows.push(Row::new(&label, 1, &single));

    if bundled_root.is_dir() {
        let label = "bundled notes/".to_string();
        println!(
            "\n== {label} ({}), rayon pool of {pool_threads} threads ==",
            bundled_root.display()
        );
        let bundled = measure_builds(&bundled_root, scratch.path(), "bundled", args.runs)?;
        print_build(&bundled);
        print_warning_kinds(&bundled.warning_kinds);
        let stages = measure_stages(&bundled_root, scratch.path(), "bundled", args.runs)?;
        print_stages(&stages, bundled.median());
        rows.push(Row::new(&label, pool_threads, &bundled));
    } else {
        println!(
            "\n(bundled vault {} not found: skipped)",
            bundled_root.display()
        );
    }

    print_summary(&rows, cpus, &generated, &single, pool_threads);

    println!(
        "\n== {label}: rebuild after a one-note edit (verdict cache warm), as `serve` does =="
    );
    let (first, rebuilds) = measure_rebuilds(&generated_root, scratch.path(), args.runs)?;
    println!(
        "first build filling the cache {}; rebuild after editing one note ({} runs): min {}  median {}  max {}",
        ms(first),
        rebuilds.len(),
        ms(*rebuilds.iter().min().unwrap_or(&Duration::ZERO)),
        ms(median(&rebuilds)),
        ms(*rebuilds.iter().max().unwrap_or(&Duration::ZERO)),
    );
    println!(
        "\n== {label}: serve's quick rebuilds (notebuild::live, with serve's watcher), from the write to the site up to date =="
    );
    let quick = measure_quick_rebuilds(&generated_root, scratch.path(), args.runs)?;
    for (what, times) in [
        ("one-line edit", &quick.edits),
        ("new note", &quick.new),
        ("renamed note", &quick.renamed),
        ("deleted note", &quick.deleted),
    ] {
        println!(
            "{what} ({} runs): min {}  median {}  max {}",
            times.len(),
            ms(*times.iter().min().unwrap_or(&Duration::ZERO)),
            ms(median(times)),
            ms(*times.iter().max().unwrap_or(&Duration::ZERO)),
        );
    }
    if args.keep {
        println!("kept the generated vault in {}", scratch.keep().display());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------

struct Args {
    notes: usize,
    runs: usize,
    /// Keep the scratch folder (with the generated vault) for inspection.
    keep: bool,
}

impl Args {
    /// The options, or `None` when only help was asked for.
    fn parse() -> BenchResult<Option<Args>> {
        let mut args = Args {
            notes: DEFAULT_NOTES,
            runs: DEFAULT_RUNS,
            keep: false,
        };
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            let (name, inline_value) = match arg.split_once('=') {
                Some((name, value)) => (name.to_string(), Some(value.to_string())),
                None => (arg.clone(), None),
            };
            match name.as_str() {
                "--notes" | "--runs" => {
                    let value = match inline_value {
                        Some(value) => value,
                        None => it.next().ok_or_else(|| format!("{name} needs a value"))?,
                    };
                    let n: usize = value.parse().map_err(|e| format!("{name} {value}: {e}"))?;
                    if n == 0 {
                        return Err(format!("{name} must be at least 1").into());
                    }
                    if name == "--notes" {
                        args.notes = n;
                    } else {
                        args.runs = n;
                    }
                }
                "-h" | "--help" => {
                    println!(
                        "usage: cargo bench --bench build -- [--notes N] [--runs R]\n  \
                         --notes N  notes in the generated vault (default {DEFAULT_NOTES})\n  \
                         --runs R   timed builds per vault (default {DEFAULT_RUNS})\n  \
                         --keep     keep the scratch folder with the generated vault"
                    );
                    return Ok(None);
                }
                "--keep" => args.keep = true,
                // `cargo bench` passes `--bench` to every bench target.
                "--bench" => {}
                other => eprintln!("build bench: ignoring unknown argument {other:?}"),
            }
        }
        Ok(Some(args))
    }
}

// ---------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------

/// Timings of full builds of one vault.
struct BuildStats {
    times: Vec<Duration>,
    notes: usize,
    pages: usize,
    warnings: usize,
    /// Warning messages grouped by wording (quoted parts and numbers blanked out), with
    /// their counts, most frequent first.
    warning_kinds: Vec<(String, usize)>,
}

impl BuildStats {
    fn median(&self) -> Duration {
        median(&self.times)
    }
    fn notes_per_second(&self) -> f64 {
        self.notes as f64 / self.median().as_secs_f64()
    }
}

/// One warm-up build, then `runs` timed builds, each into a fresh output folder.
fn measure_builds(
    vault: &Path,
    scratch: &Path,
    label: &str,
    runs: usize,
) -> BenchResult<BuildStats> {
    let options = |out: PathBuf| BuildOptions {
        vault: vault.to_path_buf(),
        out,
        follow_links: false,
        title: Some("Benchmark".to_string()),
        check: Default::default(),
        cards: Default::default(),
        macros: Default::default(),
        safe_html: false,
        git_dates: false,
        // Cold builds: every identity is checked on every run.
        cache: false,
    };
    let warm_out = scratch.join(format!("out-{label}-warm-up"));
    let warm = pipeline::build(&options(warm_out.clone()), &Quiet)?;
    fs::remove_dir_all(&warm_out)?;

    let mut times = Vec::with_capacity(runs);
    let mut last = warm;
    for run in 0..runs {
        let out = scratch.join(format!("out-{label}-{run}"));
        let opts = options(out.clone());
        // Cold builds: no formula rendered by an earlier build is kept.
        render::math::forget();
        let started = Instant::now();
        let report = pipeline::build(&opts, &Quiet)?;
        times.push(started.elapsed());
        // Deleted (untimed) to keep the disk use flat. The next build then creates its
        // files right after these were deleted, as on a rebuild, where notebuild deletes
        // the previous site itself.
        fs::remove_dir_all(&out)?;
        if report.pages != last.pages || report.warnings() != last.warnings() {
            eprintln!(
                "build bench: run {run} of {label} gave {} pages / {} warnings, the one before {} / {}",
                report.pages,
                report.warnings(),
                last.pages,
                last.warnings()
            );
        }
        last = report;
    }
    Ok(BuildStats {
        times,
        notes: last.notes,
        pages: last.pages,
        warnings: last.warnings(),
        warning_kinds: warning_kinds(last.diagnostics.iter().map(|d| d.message.as_str())),
    })
}

/// Times of serve's quick rebuilds, each from the write to the site up to date.
struct QuickStats {
    /// One-line edits of a note's body.
    edits: Vec<Duration>,
    /// A new note, the same note renamed, then deleted.
    new: Vec<Duration>,
    renamed: Vec<Duration>,
    deleted: Vec<Duration>,
}

/// A build for `serve` (keeping its state) with `serve`'s watcher on the vault, then
/// `runs` one-line edits of a note's body, and `runs` times a new note, renamed, then
/// deleted; each must take the quick way (`notebuild::live`). Each time runs from the
/// write to the update's end: the watcher's report, its 20 ms settle, the update. The
/// vault is as it was afterwards.
fn measure_quick_rebuilds(vault: &Path, scratch: &Path, runs: usize) -> BenchResult<QuickStats> {
    let out = scratch.join("out-quick");
    let options = BuildOptions {
        vault: vault.to_path_buf(),
        out: out.clone(),
        follow_links: false,
        title: Some("Benchmark".to_string()),
        check: Default::default(),
        cards: Default::default(),
        macros: Default::default(),
        safe_html: false,
        git_dates: false,
        cache: false,
    };
    let (_, live) = notebuild::live::Live::build(&options, &Quiet)?;
    let mut live = live.ok_or("no state kept")?;
    let (_watcher, changes) = notebuild::serve::watch(vault, std::slice::from_ref(&out))?;
    let walk = vault::load(vault, &WalkOptions::default())?;
    let note = walk
        .notes
        .iter()
        .find(|n| n.text.contains('$'))
        .or(walk.notes.first())
        .map(|n| vault.join(&n.path))
        .ok_or("the vault has no note")?;
    let original = fs::read_to_string(&note)?;
    let mut timed =
        |what: &str, change: &dyn Fn() -> std::io::Result<()>| -> BenchResult<Duration> {
            let started = Instant::now();
            change()?;
            let changed =
                match notebuild::serve::next_change_within(&changes, Duration::from_secs(10)) {
                    Ok(Some(changed)) => changed,
                    _ => return Err(format!("{what}: the watcher reported nothing").into()),
                };
            live.update(&options, Some(changed))?
                .ok_or_else(|| format!("{what} took a full build"))?;
            Ok(started.elapsed())
        };
    let mut stats = QuickStats {
        edits: Vec::new(),
        new: Vec::new(),
        renamed: Vec::new(),
        deleted: Vec::new(),
    };
    for run in 0..runs {
        stats.edits.push(timed("a one-line edit", &|| {
            fs::write(&note, format!("{original}\nEdited in run {run}.\n"))
        })?);
    }
    fs::write(&note, &original)?;
    let _ = notebuild::serve::next_change_within(&changes, Duration::from_secs(10));
    let linked = note
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    for run in 0..runs {
        let new = vault.join(format!("bench-new-{run}.md"));
        let renamed = vault.join(format!("bench-renamed-{run}.md"));
        stats.new.push(timed("a new note", &|| {
            fs::write(&new, format!("# New {run}\n\nSee [[{linked}]], $x^2$.\n"))
        })?);
        stats
            .renamed
            .push(timed("a renamed note", &|| fs::rename(&new, &renamed))?);
        stats
            .deleted
            .push(timed("a deleted note", &|| fs::remove_file(&renamed))?);
    }
    fs::remove_dir_all(&out)?;
    Ok(stats)
}

/// A build that fills the verdict cache, then `runs` rebuilds each after appending a
/// line to one note (the note is restored and the cache removed afterwards).
fn measure_rebuilds(
    vault: &Path,
    scratch: &Path,
    runs: usize,
) -> BenchResult<(Duration, Vec<Duration>)> {
    let out = scratch.join("out-rebuild");
    let options = BuildOptions {
        vault: vault.to_path_buf(),
        out: out.clone(),
        follow_links: false,
        title: Some("Benchmark".to_string()),
        check: Default::default(),
        cards: Default::default(),
        macros: Default::default(),
        safe_html: false,
        git_dates: false,
        cache: true,
    };
    let cache_dir = vault.join(notebuild::cache::DIR);
    if cache_dir.exists() {
        fs::remove_dir_all(&cache_dir)?;
    }
    let started = Instant::now();
    pipeline::build(&options, &Quiet)?;
    let first = started.elapsed();
    let walk = vault::load(vault, &WalkOptions::default())?;
    let note = walk
        .notes
        .iter()
        .find(|n| n.text.contains('$'))
        .or(walk.notes.first())
        .map(|n| vault.join(&n.path))
        .ok_or("the vault has no note")?;
    let original = fs::read_to_string(&note)?;
    let mut times = Vec::with_capacity(runs);
    for run in 0..runs {
        fs::write(&note, format!("{original}\nEdited in run {run}.\n"))?;
        let started = Instant::now();
        pipeline::build(&options, &Quiet)?;
        times.push(started.elapsed());
    }
    fs::write(&note, original)?;
    fs::remove_dir_all(&cache_dir)?;
    fs::remove_dir_all(&out)?;
    Ok((first, times))
}

/// Groups warning messages by their wording with quoted parts and numbers blanked out.
fn warning_kinds<'a>(messages: impl Iterator<Item = &'a str>) -> Vec<(String, usize)> {
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for message in messages {
        let mut kind = String::new();
        let mut quote: Option<char> = None;
        for c in message.chars() {
            match quote {
                Some(q) if c == q => {
                    quote = None;
                    kind.push(c);
                }
                Some(_) => {}
                None if matches!(c, '"' | '`') => {
                    quote = Some(c);
                    kind.push(c);
                    kind.push('…');
                }
                None if c.is_ascii_digit() => {
                    if !kind.ends_with('#') {
                        kind.push('#');
                    }
                }
                None => kind.push(c),
            }
        }
        let kind: String = kind.chars().take(90).collect();
        *counts.entry(kind).or_default() += 1;
    }
    let mut kinds: Vec<(String, usize)> = counts.into_iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    kinds
}

/// Median times of the stages, run one by one through the library as `pipeline::build`
/// runs them (same parallelism), plus TeX→MathML of every formula alone.
struct StageStats {
    load: Vec<Duration>,
    parse: Vec<Duration>,
    extract: Vec<Duration>,
    graph: Vec<Duration>,
    check: Vec<Duration>,
    render: Vec<Duration>,
    write: Vec<Duration>,
    math_alone: Vec<Duration>,
    formulas: usize,
    site_bytes: usize,
}

fn measure_stages(
    root: &Path,
    scratch: &Path,
    label: &str,
    runs: usize,
) -> BenchResult<StageStats> {
    let mut s = StageStats {
        load: Vec::new(),
        parse: Vec::new(),
        extract: Vec::new(),
        graph: Vec::new(),
        check: Vec::new(),
        render: Vec::new(),
        write: Vec::new(),
        math_alone: Vec::new(),
        formulas: 0,
        site_bytes: 0,
    };
    let walk = WalkOptions::default();
    let settings = SiteSettings {
        title: "Benchmark".to_string(),
        safe_html: false,
        quiz: false,
        order: Vec::new(),
        reparse: None,
        texts: None,
    };
    for run in 0..runs {
        let t = Instant::now();
        let vault = vault::load(root, &walk)?;
        s.load.push(t.elapsed());

        let t = Instant::now();
        let notes: Vec<ParsedNote> = vault.notes.par_iter().map(parse::parse).collect();
        s.parse.push(t.elapsed());

        let t = Instant::now();
        let infos: Vec<NoteInfo> = notes.par_iter().map(extract::extract).collect();
        s.extract.push(t.elapsed());

        let t = Instant::now();
        let attachments: Vec<String> = vault.attachments.iter().map(|a| a.path.clone()).collect();
        let (graph, _) = graph::build(&notes, &infos, &attachments, &[]);
        s.graph.push(t.elapsed());

        let t = Instant::now();
        let identities = pipeline::check_identities(&notes, &infos, &Default::default(), &Quiet);
        s.check.push(t.elapsed());

        render::math::forget();
        let t = Instant::now();
        let rendered =
            render::render_site(&notes, &infos, &graph, &identities, &[], &settings, &|| {})?;
        s.render.push(t.elapsed());

        let out = scratch.join(format!("stages-{label}-{run}"));
        let t = Instant::now();
        site::write(&out, root, &rendered.files, &vault.attachments)?;
        s.write.push(t.elapsed());
        fs::remove_dir_all(&out)?;

        let formulas: Vec<(&str, MathMode)> = infos
            .iter()
            .flat_map(|info| &info.math)
            .map(|m| {
                let mode = if m.display {
                    MathMode::Display
                } else {
                    MathMode::Inline
                };
                (m.tex.as_str(), mode)
            })
            .collect();
        let t = Instant::now();
        let bytes: usize = formulas
            .par_iter()
            .map(|&(tex, mode)| {
                render::math::render_or_fallback_uncached(tex, tex, mode)
                    .0
                    .len()
            })
            .sum();
        s.math_alone.push(t.elapsed());
        std::hint::black_box(bytes);
        s.formulas = formulas.len();
        s.site_bytes = rendered.files.iter().map(|f| f.contents.len()).sum();
    }
    Ok(s)
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

// ---------------------------------------------------------------------------------------
// Printing
// ---------------------------------------------------------------------------------------

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn print_build(b: &BuildStats) {
    let min = b.times.iter().min().copied().unwrap_or_default();
    let max = b.times.iter().max().copied().unwrap_or_default();
    println!(
        "full build ({} runs): min {}  median {}  max {}  → {:.0} notes/s at the median; \
         {} notes, {} pages, {} warnings",
        b.times.len(),
        ms(min),
        ms(b.median()),
        ms(max),
        b.notes_per_second(),
        b.notes,
        b.pages,
        b.warnings
    );
}

fn print_warning_kinds(kinds: &[(String, usize)]) {
    for (kind, count) in kinds.iter().take(6) {
        println!("  warning ×{count:<4} {kind}");
    }
    if kinds.len() > 6 {
        println!("  … and {} other kinds", kinds.len() - 6);
    }
}

fn print_stages(s: &StageStats, full: Duration) {
    let stages = [
        ("walk+read", median(&s.load)),
        ("parse", median(&s.parse)),
        ("extract", median(&s.extract)),
        ("graph", median(&s.graph)),
        ("check", median(&s.check)),
        ("render", median(&s.render)),
        ("write", median(&s.write)),
    ];
    let sum: Duration = stages.iter().map(|(_, d)| *d).sum();
    let mut line = String::from("stages (medians):");
    for (name, d) in stages {
        let share = 100.0 * d.as_secs_f64() / sum.as_secs_f64().max(f64::MIN_POSITIVE);
        let _ = write!(line, " {name} {} ({share:.0}%) |", ms(d));
    }
    let _ = write!(line, " sum {} (full build median {})", ms(sum), ms(full));
    println!("{line}");
    println!(
        "  TeX→MathML of all {} formulas alone (part of render): {}; site: {:.1} MiB in memory",
        s.formulas,
        ms(median(&s.math_alone)),
        s.site_bytes as f64 / (1024.0 * 1024.0)
    );
}

struct Row {
    label: String,
    threads: usize,
    notes: usize,
    pages: usize,
    warnings: usize,
    min: Duration,
    median: Duration,
    max: Duration,
    rate: f64,
}

impl Row {
    fn new(label: &str, threads: usize, b: &BuildStats) -> Row {
        Row {
            label: label.to_string(),
            threads,
            notes: b.notes,
            pages: b.pages,
            warnings: b.warnings,
            min: b.times.iter().min().copied().unwrap_or_default(),
            median: b.median(),
            max: b.times.iter().max().copied().unwrap_or_default(),
            rate: b.notes_per_second(),
        }
    }
}

fn print_summary(
    rows: &[Row],
    cpus: usize,
    all: &BuildStats,
    single: &BuildStats,
    pool_threads: usize,
) {
    println!(
        "\nSummary — {cpus} logical CPUs, full pipeline::build, wall time over {} runs",
        all.times.len()
    );
    println!(
        "{:<22} {:>7} {:>6} {:>6} {:>5} {:>11} {:>11} {:>11} {:>9}",
        "vault", "threads", "notes", "pages", "warn", "min", "median", "max", "notes/s"
    );
    for r in rows {
        println!(
            "{:<22} {:>7} {:>6} {:>6} {:>5} {:>11} {:>11} {:>11} {:>9.0}",
            r.label,
            r.threads,
            r.notes,
            r.pages,
            r.warnings,
            ms(r.min),
            ms(r.median),
            ms(r.max),
            r.rate
        );
    }
    println!(
        "speed-up of the generated vault, 1 → {pool_threads} threads: {:.2}× (median)",
        single.median().as_secs_f64() / all.median().as_secs_f64().max(f64::MIN_POSITIVE)
    );
}

/// The CPU's model name, where `/proc/cpuinfo` tells it.
fn cpu_model() -> Option<String> {
    let info = fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

// ---------------------------------------------------------------------------------------
// The generated vault
// ---------------------------------------------------------------------------------------

/// SplitMix64: small, fast, and good enough to vary text.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

const FOLDERS: [&str; 20] = [
    "Linear algebra",
    "Linear algebra/Decompositions",
    "Calculus",
    "Calculus/Multivariable",
    "Matrix calculus",
    "Matrix calculus/Identities",
    "Probability",
    "Probability/Distributions",
    "Statistics",
    "Optimisation",
    "Optimisation/Convex",
    "Machine learning",
    "Machine learning/Neural networks",
    "Numerical methods",
    "Differential equations",
    "Geometry",
    "Signal processing",
    "Information theory",
    "Review",
    "Inbox",
];

const TOPICS: [&str; 16] = [
    "quadratic forms",
    "the Jacobian",
    "the Hessian",
    "eigenvalues",
    "gradient descent",
    "least squares",
    "the chain rule",
    "singular values",
    "convex sets",
    "Lagrange multipliers",
    "softmax",
    "the trace trick",
    "covariance matrices",
    "Newton's method",
    "backpropagation",
    "matrix norms",
];

const WORDS: [&str; 60] = [
    "the",
    "matrix",
    "vector",
    "derivative",
    "of",
    "with",
    "respect",
    "to",
    "each",
    "entry",
    "shape",
    "layout",
    "row",
    "column",
    "function",
    "scalar",
    "product",
    "sum",
    "gradient",
    "we",
    "take",
    "so",
    "that",
    "this",
    "gives",
    "identity",
    "transpose",
    "output",
    "input",
    "rule",
    "term",
    "below",
    "holds",
    "for",
    "every",
    "map",
    "linear",
    "small",
    "change",
    "in",
    "is",
    "a",
    "and",
    "when",
    "because",
    "symmetric",
    "positive",
    "definite",
    "constant",
    "first",
    "order",
    "expansion",
    "around",
    "point",
    "which",
    "means",
    "exactly",
    "one",
    "step",
    "again",
];

const TAGS: [&str; 12] = [
    "calculus",
    "linear-algebra",
    "matrix-calculus/jacobian",
    "matrix-calculus/hessian",
    "probability",
    "optimisation/convex",
    "ml/neural-nets",
    "review",
    "todo",
    "numerics/stability",
    "exam/2024",
    "proof",
];

const ALIASES: [&str; 6] = [
    "this result",
    "the same identity",
    "the earlier derivation",
    "see there",
    "the general case",
    "that rule",
];

const ATTACHMENTS: usize = 6;

/// What was generated.
#[derive(Default)]
struct VaultStats {
    notes: usize,
    folders: usize,
    attachments: usize,
    bytes: usize,
    lines: usize,
    min_lines: usize,
    max_lines: usize,
    inline_math: usize,
    display_math: usize,
    links: usize,
    broken_links: usize,
    embeds: usize,
}

fn generate_vault(root: &Path, notes: usize, seed: u64) -> BenchResult<VaultStats> {
    let mut rng = Rng(seed);
    let mut stats = VaultStats {
        min_lines: usize::MAX,
        ..VaultStats::default()
    };
    for folder in FOLDERS {
        fs::create_dir_all(root.join(folder))?;
    }
    stats.folders = FOLDERS.len();
    let attachments = root.join("attachments");
    fs::create_dir_all(&attachments)?;
    for k in 0..ATTACHMENTS {
        let png = png_image(32 + 8 * k as u32, 24, k as u8);
        stats.bytes += png.len();
        fs::write(attachments.join(format!("figure-{k}.png")), png)?;
    }
    stats.attachments = ATTACHMENTS;
    for i in 0..notes {
        let folder = FOLDERS[rng.below(FOLDERS.len())];
        let text = NoteWriter::new(&mut rng, &mut stats, i, notes).write();
        stats.bytes += text.len();
        fs::write(root.join(folder).join(format!("Note {i}.md")), text)?;
    }
    stats.notes = notes;
    Ok(stats)
}

/// The blocks a note must contain, placed among filler paragraphs and lists.
#[derive(Clone, Copy, PartialEq)]
enum Block {
    DisplayMath,
    Code,
    Table,
    Callout,
    FoldableCallout,
    Transclusion,
    Image,
}

struct NoteWriter<'a> {
    rng: &'a mut Rng,
    stats: &'a mut VaultStats,
    me: usize,
    notes: usize,
    text: String,
    lines: usize,
    inline_math_left: usize,
}

impl<'a> NoteWriter<'a> {
    fn new(rng: &'a mut Rng, stats: &'a mut VaultStats, me: usize, notes: usize) -> Self {
        let inline_math_left = rng.between(5, 15);
        NoteWriter {
            rng,
            stats,
            me,
            notes,
            text: String::with_capacity(8 * 1024),
            lines: 0,
            inline_math_left,
        }
    }

    fn write(mut self) -> String {
        // Aimed low: the last section, the see-also line and the tags add up to ~15 lines.
        let target = self.rng.between(55, 135);
        let topic = self.rng.pick(&TOPICS);
        let title = format!("Note {} on {topic}", self.me);

        self.line("---");
        self.line(&format!("title: {title}"));
        let tags: Vec<&str> = (0..self.rng.between(1, 3))
            .map(|_| self.rng.pick(&TAGS))
            .collect();
        self.line(&format!("tags: [{}]", tags.join(", ")));
        let (year, month, day) = (
            2023 + self.rng.below(2),
            self.rng.between(1, 12),
            self.rng.between(1, 28),
        );
        self.line(&format!("date: {year}-{month:02}-{day:02}"));
        self.line("---");
        self.line(&format!("# {title}"));
        self.blank();
        self.paragraph();

        let mut required = vec![Block::Code, Block::Table, Block::Callout, Block::Image];
        required.extend(std::iter::repeat_n(
            Block::DisplayMath,
            self.rng.between(2, 4),
        ));
        if self.rng.chance(70) {
            required.push(Block::FoldableCallout);
        }
        if self.rng.chance(80) {
            required.push(Block::Transclusion);
        }
        self.rng.shuffle(&mut required);

        let mut section = 0;
        while section < 3 || !required.is_empty() || self.lines < target {
            section += 1;
            self.line(&format!("## Section {section}"));
            self.blank();
            for b in 0..self.rng.between(2, 4) {
                if section >= 3 && required.is_empty() && self.lines >= target {
                    break;
                }
                if b > 0 && self.rng.chance(25) {
                    self.line(&format!("### Example {section}.{b}"));
                    self.blank();
                }
                // Transclusions stay out of section 1, the part other notes transclude,
                // so that embeds never chain.
                let eligible = required
                    .iter()
                    .position(|&blk| section > 1 || blk != Block::Transclusion);
                let urgent = target.saturating_sub(self.lines) < 12 * required.len();
                match eligible {
                    Some(at) if urgent || self.rng.chance(45) => {
                        let block = required.remove(at);
                        self.block(block);
                    }
                    _ if self.rng.chance(60) => self.paragraph(),
                    _ => self.list(),
                }
            }
        }
        if self.inline_math_left > 0 {
            self.paragraph_with_math(self.inline_math_left);
        }
        // A few notes (about 1 in 12) end with a broken link.
        let see_also = self.link();
        let other = if self.rng.chance(8) {
            self.broken_link()
        } else {
            self.link()
        };
        self.line(&format!("See also {see_also} and {other}."));
        self.blank();
        let inline_tags: Vec<String> = (0..self.rng.between(1, 2))
            .map(|_| format!("#{}", self.rng.pick(&TAGS)))
            .collect();
        self.line(&inline_tags.join(" "));

        self.stats.lines += self.lines;
        self.stats.min_lines = self.stats.min_lines.min(self.lines);
        self.stats.max_lines = self.stats.max_lines.max(self.lines);
        self.text
    }

    fn line(&mut self, s: &str) {
        self.text.push_str(s);
        self.text.push('\n');
        self.lines += 1;
    }

    fn blank(&mut self) {
        self.line("");
    }

    fn other_note(&mut self) -> usize {
        if self.notes < 2 {
            return self.me;
        }
        let j = self.rng.below(self.notes - 1);
        if j >= self.me { j + 1 } else { j }
    }

    fn link(&mut self) -> String {
        self.stats.links += 1;
        let j = self.other_note();
        match self.rng.below(10) {
            0..=4 => format!("[[Note {j}]]"),
            5..=7 => format!("[[Note {j}#Section {}]]", self.rng.between(1, 3)),
            _ => format!("[[Note {j}|{}]]", self.rng.pick(&ALIASES)),
        }
    }

    /// A link to a note that does not exist, or to a heading that does not.
    fn broken_link(&mut self) -> String {
        self.stats.links += 1;
        self.stats.broken_links += 1;
        if self.rng.chance(50) {
            format!("[[Missing note {}]]", self.rng.below(100))
        } else {
            format!("[[Note {}#Section 99]]", self.other_note())
        }
    }

    /// `$...$` while the note's budget of inline formulas lasts.
    fn inline_math(&mut self) -> Option<String> {
        if self.inline_math_left == 0 {
            return None;
        }
        self.inline_math_left -= 1;
        self.stats.inline_math += 1;
        let n = self.rng.between(2, 9);
        let k = self.rng.between(1, 4);
        let tex = match self.rng.below(16) {
            0 => r"\frac{\partial \mathbf{y}}{\partial \mathbf{x}} = A".to_string(),
            1 => r"\mathbf{x}^T A \mathbf{x}".to_string(),
            2 => format!(r"\sum_{{i=1}}^{{{n}}} x_i^{k}"),
            3 => r"\nabla_{\mathbf{x}} f(\mathbf{x})".to_string(),
            4 => format!(r"A \in \mathbb{{R}}^{{{n} \times {k}}}"),
            5 => r"\lVert \mathbf{x} \rVert_2".to_string(),
            6 => r"\operatorname{tr}(A^T B)".to_string(),
            7 => r"\sigma(z) = \frac{1}{1 + e^{-z}}".to_string(),
            8 => r"\mathbf{w} \odot \mathbf{x}".to_string(),
            9 => format!(r"x_{{{n}}}"),
            10 => r"\det(A) \neq 0".to_string(),
            11 => format!(r"\int_0^{k} f(t)\,dt"),
            12 => r"\hat{\beta} = (X^T X)^{-1} X^T \mathbf{y}".to_string(),
            13 => r"\frac{\partial}{\partial z} (\mathbf{x} z) = \mathbf{x}".to_string(),
            14 => r"\frac{\partial (A\mathbf{x})}{\partial \mathbf{x}} = A".to_string(),
            _ => r"\frac{\partial}{\partial \mathbf{x}} \mathbf{x}^T A \mathbf{x} = \mathbf{x}^T (A + A^T)"
                .to_string(),
        };
        Some(format!("${tex}$"))
    }

    /// A sentence of plain words with `extras` inline constructs (links, math, tags, ...).
    fn sentence(&mut self, math: usize, extras: usize) -> String {
        let mut parts: Vec<String> = (0..self.rng.between(8, 18))
            .map(|_| self.rng.pick(&WORDS).to_string())
            .collect();
        let mut inserts = Vec::new();
        for _ in 0..math {
            if let Some(m) = self.inline_math() {
                inserts.push(m);
            }
        }
        for _ in 0..extras {
            let extra = match self.rng.below(10) {
                0..=5 => self.link(),
                6 | 7 => format!("=={} {}==", self.rng.pick(&WORDS), self.rng.pick(&WORDS)),
                8 => format!("**{}**", self.rng.pick(&WORDS)),
                _ => format!("#{}", self.rng.pick(&TAGS)),
            };
            inserts.push(extra);
        }
        for insert in inserts {
            let at = self.rng.between(1, parts.len());
            parts.insert(at, insert);
        }
        let mut s = parts.join(" ");
        if let Some(first) = s.get(..1) {
            let upper = first.to_ascii_uppercase();
            s.replace_range(..1, &upper);
        }
        s.push('.');
        s
    }

    fn paragraph(&mut self) {
        let math = self.rng.between(0, 2);
        self.paragraph_with_math(math);
    }

    fn paragraph_with_math(&mut self, mut math: usize) {
        let sentences = self.rng.between(2, 4);
        let mut text = Vec::new();
        for s in 0..sentences {
            let here = if s + 1 == sentences {
                math
            } else {
                self.rng.between(0, math)
            };
            math -= here;
            let extras = usize::from(self.rng.chance(60));
            text.push(self.sentence(here, extras));
        }
        // Long paragraphs as one line (as Obsidian writes them), some wrapped.
        if self.rng.chance(30) && text.len() > 2 {
            let second = text.split_off(2);
            self.line(&text.join(" "));
            self.line(&second.join(" "));
        } else {
            self.line(&text.join(" "));
        }
        self.blank();
    }

    /// A list nested with tabs, bulleted or numbered.
    fn list(&mut self) {
        let numbered = self.rng.chance(30);
        for item in 1..=self.rng.between(2, 4) {
            let marker = if numbered {
                format!("{item}.")
            } else {
                "-".to_string()
            };
            let math = usize::from(self.rng.chance(40));
            let extras = self.rng.below(2);
            let s = self.sentence(math, extras);
            self.line(&format!("{marker} {s}"));
            for _ in 0..self.rng.below(3) {
                let math = usize::from(self.rng.chance(30));
                let extras = self.rng.below(2);
                let s = self.sentence(math, extras);
                self.line(&format!("\t- {s}"));
                if self.rng.chance(25) {
                    let s = self.sentence(0, 1);
                    self.line(&format!("\t\t- {s}"));
                }
            }
        }
        self.blank();
    }

    fn block(&mut self, block: Block) {
        match block {
            Block::DisplayMath => self.display_math(),
            Block::Code => self.code_block(),
            Block::Table => self.table(),
            Block::Callout => self.callout(),
            Block::FoldableCallout => self.foldable_callout(),
            Block::Transclusion => {
                let j = self.other_note();
                self.stats.embeds += 1;
                self.stats.links += 1;
                self.line(&format!("![[Note {j}#Section 1]]"));
                self.blank();
            }
            Block::Image => {
                let k = self.rng.below(ATTACHMENTS);
                self.stats.embeds += 1;
                self.stats.links += 1;
                if self.rng.chance(50) {
                    self.line(&format!("![[figure-{k}.png]]"));
                } else {
                    self.line(&format!("![[figure-{k}.png|{}]]", 200 + 100 * k));
                }
                self.blank();
            }
        }
    }

    fn display_math(&mut self) {
        self.stats.display_math += 1;
        let a = self.rng.between(1, 9);
        let b = self.rng.between(1, 9);
        let lines: Vec<String> = match self.rng.below(5) {
            0 => vec![
                r"J = \frac{\partial \mathbf{y}}{\partial \mathbf{x}} = \begin{bmatrix}".into(),
                r"\frac{\partial f_1}{\partial x_1} & \cdots & \frac{\partial f_1}{\partial x_n} \\"
                    .into(),
                r"\vdots & \ddots & \vdots \\".into(),
                r"\frac{\partial f_m}{\partial x_1} & \cdots & \frac{\partial f_m}{\partial x_n}"
                    .into(),
                r"\end{bmatrix}".into(),
            ],
            1 => vec![format!(
                r"A = \begin{{bmatrix}} {a} & {b} & 0 \\ {b} & {a} & 1 \\ 0 & 1 & {a} \end{{bmatrix}}, \quad A^T = A"
            )],
            2 => vec![
                r"\operatorname{ReLU}'(z) = \begin{cases}".into(),
                r"1 & \text{if } z > 0 \\".into(),
                r"0 & \text{otherwise}".into(),
                r"\end{cases}".into(),
            ],
            3 => vec![
                r"\begin{aligned}".into(),
                r"f(\mathbf{x}) &= \mathbf{x}^T A \mathbf{x} + \mathbf{b}^T \mathbf{x} + c \\"
                    .into(),
                r"\nabla f(\mathbf{x}) &= (A + A^T)\mathbf{x} + \mathbf{b} \\".into(),
                format!(r"\nabla^2 f(\mathbf{{x}}) &= A + A^T \succeq {a} I"),
                r"\end{aligned}".into(),
            ],
            _ => vec![format!(
                r"\frac{{\partial}}{{\partial \mathbf{{x}}}} \sum_{{i=1}}^{{{a}}} (\mathbf{{w}}_i^T \mathbf{{x}})^2 = \sum_{{i=1}}^{{{a}}} 2 (\mathbf{{w}}_i^T \mathbf{{x}}) \mathbf{{w}}_i^T"
            )],
        };
        if lines.len() == 1 && self.rng.chance(50) {
            self.line(&format!("$${}$$", lines[0]));
        } else {
            self.line("$$");
            for l in &lines {
                self.line(l);
            }
            self.line("$$");
        }
        self.blank();
    }

    fn code_block(&mut self) {
        let seed = self.rng.below(1000);
        let n = self.rng.between(2, 64);
        let code: Vec<String> = match self.rng.below(3) {
            0 => vec![
                "```python".into(),
                "import numpy as np".into(),
                String::new(),
                "# gradient of x^T A x, checked against finite differences".into(),
                "def grad(A, x):".into(),
                "    return (A + A.T) @ x".into(),
                String::new(),
                format!("rng = np.random.default_rng({seed})"),
                format!("A, x = rng.normal(size=({n}, {n})), rng.normal(size={n})"),
                "```".into(),
            ],
            1 => vec![
                "```rust".into(),
                "fn sigmoid(z: f64) -> f64 {".into(),
                "    1.0 / (1.0 + (-z).exp())".into(),
                "}".into(),
                format!(
                    "let xs: Vec<f64> = (0..{n}).map(|i| sigmoid(i as f64 / {seed}.0)).collect();"
                ),
                "```".into(),
            ],
            _ => vec![
                "```".into(),
                format!("iteration  loss (seed {seed})"),
                format!("0          {n}.000"),
                format!("1          {}.500", n / 2),
                "```".into(),
            ],
        };
        for l in &code {
            self.line(l);
        }
        self.blank();
    }

    fn table(&mut self) {
        self.line("| Expression | Derivative | See |");
        self.line("| --- | :---: | --- |");
        const ROWS: [(&str, &str); 5] = [
            (r"\mathbf{a}^T \mathbf{x}", r"\mathbf{a}^T"),
            (r"\mathbf{x}^T A \mathbf{x}", r"\mathbf{x}^T (A + A^T)"),
            (r"A \mathbf{x}", "A"),
            (r"\lVert \mathbf{x} \rVert_2^2", r"2 \mathbf{x}^T"),
            (r"\operatorname{tr}(A X)", "A"),
        ];
        for _ in 0..self.rng.between(2, 4) {
            let (expr, deriv) = ROWS[self.rng.below(ROWS.len())];
            let j = self.other_note();
            self.stats.links += 1;
            // The formulas count against the note's budget of inline formulas.
            if self.inline_math_left >= 2 {
                self.inline_math_left -= 2;
                self.stats.inline_math += 2;
                self.line(&format!("| ${expr}$ | ${deriv}$ | [[Note {j}]] |"));
            } else {
                let word = self.rng.pick(&WORDS);
                self.line(&format!("| {word} term | see the rule | [[Note {j}]] |"));
            }
        }
        self.blank();
    }

    fn callout(&mut self) {
        let kind = self
            .rng
            .pick(&["tip", "note", "warning", "example", "info"]);
        let title = self.rng.pick(&[
            "Check the shape first",
            "A useful identity",
            "Watch the transpose",
            "Worked example",
        ]);
        self.line(&format!("> [!{kind}] {title}"));
        for _ in 0..self.rng.between(1, 3) {
            let math = usize::from(self.rng.chance(50));
            let extras = self.rng.below(2);
            let s = self.sentence(math, extras);
            self.line(&format!("> {s}"));
        }
        self.blank();
    }

    /// A folded callout whose last line is a lazy continuation (no `>`).
    fn foldable_callout(&mut self) {
        let question = self.sentence(0, 0);
        self.line(&format!(
            "> [!question]- Why? {}",
            question.trim_end_matches('.')
        ));
        let s = self.sentence(1, 0);
        self.line(&format!("> {s}"));
        let lazy = self.sentence(0, 1);
        self.line(&lazy);
        self.blank();
    }
}

/// A small RGB gradient as a valid PNG (stored, uncompressed deflate).
fn png_image(width: u32, height: u32, shade: u8) -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            raw.push((x * 255 / width.max(1)) as u8);
            raw.push((y * 255 / height.max(1)) as u8);
            raw.push(shade.wrapping_mul(40));
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let mut blocks = raw.chunks(65_535).peekable();
    while let Some(block) = blocks.next() {
        zlib.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());

    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, no interlace

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png_chunk(&mut png, b"IHDR", &ihdr);
    png_chunk(&mut png, b"IDAT", &zlib);
    png_chunk(&mut png, b"IEND", &[]);
    png
}

fn png_chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&png[start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                0xEDB8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}
