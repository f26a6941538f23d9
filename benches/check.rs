//! Checker benchmark: finds and checks the identities of a generated vault, on a rayon
//! pool of one thread and on one with every core.
//!
//! ```sh
//! cargo bench --bench check
//! cargo bench --bench check -- --identities 10000 --runs 5
//! ```
//!
//! The vault (default 10,000 identities, 100 per note) is generated from a seeded PRNG,
//! so every run checks the same text. Identities come from some thirty families —
//! scalar rules, vector-by-vector Jacobians, gradients of quadratic forms and norms,
//! softmax and sigmoid, traces, determinants and inverses, `cases` for kinks, `aligned`
//! derivations — with random symbol names and coefficients; about a third are made
//! wrong (a factor, a sign, a transpose, a missing term). The notes are loaded, parsed
//! and extracted once; then `pipeline::check_identities` (finding and checking, in
//! parallel over identities) is timed `--runs` times per pool. The verdicts are
//! compared with what the generator meant, and any disagreement is printed.
//!
//! Nothing is asserted: the program only prints what it measured.

use std::error::Error;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use notebuild::check::Status;
use notebuild::extract::{self, NoteInfo};
use notebuild::parse::{self, ParsedNote};
use notebuild::pipeline::{self, Quiet};
use notebuild::vault::{self, WalkOptions};
use rayon::prelude::*;

type BenchError = Box<dyn Error + Send + Sync>;
type BenchResult<T> = Result<T, BenchError>;

const SEED: u64 = 0xC4EC_4B3D;
const PER_NOTE: usize = 100;

fn main() -> Result<(), Box<dyn Error>> {
    run().map_err(|e| e as Box<dyn Error>)
}

struct Args {
    identities: usize,
    runs: usize,
}

fn args() -> BenchResult<Option<Args>> {
    let mut a = Args {
        identities: 10_000,
        runs: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--identities" => a.identities = it.next().ok_or("--identities N")?.parse()?,
            "--runs" => a.runs = it.next().ok_or("--runs N")?.parse::<usize>()?.max(1),
            "--bench" => {}
            "-h" | "--help" => {
                println!("cargo bench --bench check [-- --identities N --runs R]");
                return Ok(None);
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(Some(a))
}

fn run() -> BenchResult<()> {
    let Some(args) = args()? else {
        return Ok(());
    };
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let profile = if cfg!(debug_assertions) {
        "debug (numbers are not meaningful; use cargo bench)"
    } else {
        "release"
    };
    println!("notebuild check benchmark");
    println!("machine: {cpus} logical CPUs; profile: {profile}");

    let scratch = tempfile::Builder::new()
        .prefix("notebuild-check-bench-")
        .tempdir()?;
    let root = scratch.path().join("vault");
    let expected = generate(&root, args.identities)?;
    let vault = vault::load(&root, &WalkOptions::default())?;
    let notes: Vec<ParsedNote> = vault.notes.par_iter().map(parse::parse).collect();
    let infos: Vec<NoteInfo> = notes.par_iter().map(extract::extract).collect();
    println!(
        "generated vault: {} notes, {} identities ({} meant true, {} meant false)",
        notes.len(),
        expected.len(),
        expected.iter().filter(|e| e.1).count(),
        expected.iter().filter(|e| !e.1).count()
    );

    let settings = notebuild::check::Settings::default();
    let mut report = String::new();
    for threads in [1, cpus] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        let mut times = Vec::new();
        let mut last = Vec::new();
        pool.install(|| {
            // One warm-up run, then the timed ones.
            last = pipeline::check_identities(&notes, &infos, &settings, &Quiet);
            for _ in 0..args.runs {
                let t = Instant::now();
                last = pipeline::check_identities(&notes, &infos, &settings, &Quiet);
                times.push(t.elapsed());
            }
        });
        let found: usize = last.iter().map(Vec::len).sum();
        times.sort();
        let median = times[times.len() / 2];
        let per_s = found as f64 / median.as_secs_f64();
        writeln!(
            report,
            "{threads:>2} thread{}: median {} over {} runs (min {}, max {}): {:.0} identities/s",
            if threads == 1 { " " } else { "s" },
            ms(median),
            times.len(),
            ms(times[0]),
            ms(times[times.len() - 1]),
            per_s
        )?;
        if threads == 1 {
            let by_line: std::collections::HashMap<(String, usize), Status> = last
                .iter()
                .flatten()
                .map(|i| ((i.file.clone(), i.line), i.verdict.status()))
                .collect();
            let (mut pass, mut fail, mut skip, mut wrong) = (0, 0, 0, Vec::new());
            for (file, line, truth, tex) in expected.iter().map(|e| (&e.0.0, e.0.1, e.1, &e.2)) {
                match by_line.get(&(file.clone(), line)) {
                    Some(Status::Pass) if truth => pass += 1,
                    Some(Status::Fail) if !truth => fail += 1,
                    Some(Status::Skip) => {
                        skip += 1;
                        wrong.push(format!("skip {file}:{line} {tex}"));
                    }
                    other => wrong.push(format!("{other:?} (meant {truth}) {file}:{line} {tex}")),
                }
            }
            println!(
                "verdicts: {found} identities found; {pass} true verified, {fail} false caught, \
                 {skip} skipped, {} disagreements with the generator",
                wrong.len() - skip
            );
            for w in wrong.iter().take(10) {
                println!("  {w}");
            }
        }
    }
    print!("{report}");

    // `notebuild check` itself: walk, parse and check, with the verdict cache empty
    // (cold) and filled by the run before (warm, no note changed).
    let cache_dir = root.join(notebuild::cache::DIR);
    let walk = WalkOptions::default();
    let config = Default::default();
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for _ in 0..args.runs {
        if cache_dir.exists() {
            std::fs::remove_dir_all(&cache_dir)?;
        }
        let t = Instant::now();
        let cache = notebuild::cache::Cache::open(&root);
        pipeline::check_vault(&root, &walk, &config, &settings, &cache, &Quiet)?;
        cache.save();
        cold.push(t.elapsed());
        let t = Instant::now();
        let cache = notebuild::cache::Cache::open(&root);
        pipeline::check_vault(&root, &walk, &config, &settings, &cache, &Quiet)?;
        cache.save();
        warm.push(t.elapsed());
    }
    cold.sort();
    warm.sort();
    let (cold, warm) = (cold[cold.len() / 2], warm[warm.len() / 2]);
    println!(
        "check with the verdict cache ({} runs, all threads): cold median {}, warm median {} ({:.1}x)",
        args.runs,
        ms(cold),
        ms(warm),
        cold.as_secs_f64() / warm.as_secs_f64().max(1e-9)
    );
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// xorshift64*: a small deterministic PRNG (the benchmark must generate the same vault
/// on every machine).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// One generated identity: its place, whether it is true, its TeX.
type Expected = ((String, usize), bool, String);

/// Writes the vault; returns every identity with its line and truth.
fn generate(root: &Path, count: usize) -> BenchResult<Vec<Expected>> {
    let mut rng = Rng(SEED);
    let mut expected = Vec::with_capacity(count);
    let notes = count.div_ceil(PER_NOTE);
    for n in 0..notes {
        let path = format!("Topic {}/Identities {n:03}.md", n % 10);
        let mut text = format!(
            "---\ntitle: Identities {n}\ntags: [generated]\n---\n# Identities {n}\n\nNumerator layout throughout.\n\n"
        );
        let mut line = 9;
        for k in 0..PER_NOTE.min(count - n * PER_NOTE) {
            let (tex, truth) = identity(&mut rng);
            let inline = k % 3 == 0;
            if inline {
                text.push_str("A rule worth knowing: $");
                text.push_str(&tex);
                text.push_str("$ (see above).\n\n");
            } else {
                text.push_str("$$");
                text.push_str(&tex);
                text.push_str("$$\n\n");
            }
            expected.push(((path.clone(), line), truth, tex.clone()));
            line += 2;
        }
        let file = root.join(&path);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(file, text)?;
    }
    Ok(expected)
}

/// A random identity and whether it holds.
fn identity(rng: &mut Rng) -> (String, bool) {
    let v = rng.pick(&["x", "w", "v", "u", "z"]);
    let a = rng.pick(&["a", "b", "c"]);
    let m = rng.pick(&["A", "B", "M"]);
    let s = rng.pick(&["t", "s", "r"]);
    let c = 2 + rng.below(7);
    let p = 2 + rng.below(5);
    let bv = format!("\\mathbf{{{v}}}");
    let ba = format!("\\mathbf{{{a}}}");
    let d_v = format!("\\frac{{\\partial}}{{\\partial {bv}}}");
    let d_m = "\\frac{\\partial}{\\partial X}".to_string();
    let d_s = format!("\\frac{{d}}{{d{s}}}");
    // (left, right true, right false)
    let family: [(String, String, String); 24] = [
        (
            format!("{d_s} ({c}{s}^{p})"),
            format!("{} {s}^{{{}}}", c * p, p - 1),
            format!("{} {s}^{{{}}}", c * p, p),
        ),
        (
            format!("{d_s} \\sin({c}{s})"),
            format!("{c}\\cos({c}{s})"),
            format!("\\cos({c}{s})"),
        ),
        (
            format!("{d_s} e^{{{c}{s}}}"),
            format!("{c} e^{{{c}{s}}}"),
            format!("e^{{{c}{s}}}"),
        ),
        (
            format!("{d_s} \\log({s}^2 + {c})"),
            format!("\\frac{{2{s}}}{{{s}^2 + {c}}}"),
            format!("\\frac{{{s}}}{{{s}^2 + {c}}}"),
        ),
        (
            format!("{d_s} \\sigma({s})"),
            format!("\\sigma({s})(1 - \\sigma({s}))"),
            format!("\\sigma({s})(1 + \\sigma({s}))"),
        ),
        (
            format!("{d_s} \\tanh({s})"),
            format!("1 - \\tanh^2({s})"),
            format!("1 + \\tanh^2({s})"),
        ),
        (
            format!("{d_s} \\sqrt{{{s}^2 + {c}}}"),
            format!("\\frac{{{s}}}{{\\sqrt{{{s}^2 + {c}}}}}"),
            format!("\\frac{{1}}{{2\\sqrt{{{s}^2 + {c}}}}}"),
        ),
        (
            format!("{d_v} ({ba}^T {bv})"),
            format!("{ba}^T"),
            ba.clone(),
        ),
        (
            format!("{d_v} ({bv}^T {m} {bv})"),
            format!("{bv}^T({m} + {m}^T)"),
            format!("2{bv}^T {m}"),
        ),
        (format!("{d_v} ({m}{bv})"), m.to_string(), format!("{m}^T")),
        (
            format!("{d_v} \\|{bv}\\|^2"),
            format!("2{bv}^T"),
            format!("{bv}^T"),
        ),
        (
            format!("{d_v} \\|{m}{bv} - {ba}\\|_2^2"),
            format!("2({m}{bv} - {ba})^T {m}"),
            format!("2({m}{bv} - {ba})^T"),
        ),
        (
            format!("{d_v} \\|{bv}\\|_2"),
            format!("\\frac{{{bv}^T}}{{\\|{bv}\\|_2}}"),
            format!("{bv}^T"),
        ),
        (
            format!("{d_v} ({bv} \\odot {bv})"),
            format!("2\\operatorname{{diag}}({bv})"),
            format!("\\operatorname{{diag}}({bv})"),
        ),
        (
            format!("{d_v} \\exp({bv})"),
            format!("\\operatorname{{diag}}(\\exp({bv}))"),
            format!("\\exp({bv})^T"),
        ),
        (
            format!("{d_v} \\operatorname{{sum}}({bv})"),
            "\\vec{1}^T".to_string(),
            format!("{bv}^T"),
        ),
        (
            format!("{d_v} ({c}{bv} + {ba})"),
            format!("{c}I"),
            "I".to_string(),
        ),
        (
            format!("{d_v} ({ba}^T {bv})^2"),
            format!("2({ba}^T {bv}){ba}^T"),
            format!("({ba}^T {bv}){ba}^T"),
        ),
        (
            format!("{d_m} \\operatorname{{tr}}({m}X)"),
            m.to_string(),
            format!("{m}^T"),
        ),
        (
            format!("{d_m} \\operatorname{{tr}}(X^T {m} X)"),
            format!("X^T({m} + {m}^T)"),
            format!("2X^T {m}"),
        ),
        (
            format!("{d_m} \\log\\det X"),
            "X^{-1}".to_string(),
            "X^{-T}".to_string(),
        ),
        (
            format!("{d_m} \\det X"),
            "\\det(X) X^{-1}".to_string(),
            "X^{-1}".to_string(),
        ),
        (
            format!("{d_s} |{s}|"),
            "\\begin{cases} 1 & x > 0 \\\\ -1 & x < 0 \\end{cases}".replace('x', s),
            "\\begin{cases} 1 & x > 0 \\\\ 1 & x < 0 \\end{cases}".replace('x', s),
        ),
        (
            format!("{d_s} \\max(0, {s})"),
            "\\begin{cases} 1 & x > 0 \\\\ 0 & x < 0 \\end{cases}".replace('x', s),
            "\\begin{cases} 0 & x > 0 \\\\ 1 & x < 0 \\end{cases}".replace('x', s),
        ),
    ];
    let (left, good, bad) = &family[rng.below(family.len())];
    let truth = rng.below(3) != 0;
    let right = if truth { good } else { bad };
    (format!("{left} = {right}"), truth)
}
