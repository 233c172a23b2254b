//! `leadwire-bench`: every benchmark of leadwire, printed as it goes and written
//! to a report (BENCHMARKS.md at the repository's root by default).
//!
//! ```sh
//! cargo run --release -p leadwire-benches -- --output BENCHMARKS.md
//! cargo run --release -p leadwire-benches -- --quick      # a smoke run: seconds, small numbers
//! ```
//!
//! Benchmarks are never tests: nothing here asserts a timing. Targets are
//! printed beside the figures, with how far off a missed one is.

mod bulk;
mod busy;
mod calls;
mod load;
mod native;
mod peer;
mod report;
mod sink;
mod stats;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use serde::{Deserialize, Serialize};

use crate::stats::{thousands, us};

#[derive(Parser, Debug, Clone)]
#[command(
    name = "leadwire-bench",
    about = "leadwire's benchmarks; writes BENCHMARKS.md"
)]
pub struct Args {
    /// A smoke run: few iterations, small files, short load stages.
    #[arg(long)]
    pub quick: bool,
    /// The report to write (relative to the repository's root).
    #[arg(long, default_value = "BENCHMARKS.md")]
    pub output: PathBuf,
    /// Run only these benchmarks (comma-separated): calls (with GoRules ZEN beside
    /// rules-scorer), pipeline, bulk, webhook.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Rows of the bulk-scoring file.
    #[arg(long)]
    pub rows: Option<u64>,
    /// Seconds per load stage.
    #[arg(long)]
    pub stage_seconds: Option<f64>,
    /// The PostgreSQL for the webhook benchmark (default: $LEADWIRE_BENCH_POSTGRES_URL,
    /// else postgres://postgres@127.0.0.1:5432/test); "" skips it.
    #[arg(long)]
    pub postgres_url: Option<String>,
    /// Earlier results to show as "before" (default: benches/baseline.json if present).
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Save this run's results as benches/baseline.json (the "before" of later reports).
    #[arg(long)]
    pub save_baseline: bool,
    /// Do not build the `leadwire` binary first (use the one in target/release).
    #[arg(long)]
    pub no_build: bool,
    /// For profilers (`perf record -g -- target/release/leadwire-bench --profile rules-scorer`):
    /// only call this plugin (`pipeline`: the pipeline) with fresh instances (`--warm`:
    /// a warm one), for `--profile-seconds`, and write no report.
    #[arg(long)]
    pub profile: Option<String>,
    #[arg(long, default_value_t = 10.0)]
    pub profile_seconds: f64,
    #[arg(long)]
    pub warm: bool,
    /// Write the report from saved results (e.g. target/leadwire-bench/results.json)
    /// without measuring anything.
    #[arg(long)]
    pub from_results: Option<PathBuf>,
}

/// Everything one run measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Results {
    pub machine: Machine,
    pub command: String,
    pub quick: bool,
    pub sample: Option<SampleInfo>,
    pub plugins: Vec<calls::PluginFigures>,
    pub pipeline: Option<calls::PipelineFigures>,
    /// GoRules ZEN beside rules-scorer on the same rules.
    #[serde(default)]
    pub peer: Option<peer::PeerFigures>,
    pub bulk: Vec<bulk::BulkFigures>,
    pub webhook: Vec<WebhookRun>,
    /// Benchmarks that could not run, and why.
    pub skipped: Vec<(String, String)>,
    /// How busy the machine was during each benchmark.
    #[serde(default)]
    pub load: Vec<busy::SectionLoad>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SampleInfo {
    pub leads: usize,
    pub mean_fields: f64,
    pub mean_activities: f64,
    pub max_activities: usize,
    pub warmup: usize,
    pub iterations: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookRun {
    /// `SQLite`, `PostgreSQL`, or `SQLite, writing back`.
    pub store: String,
    pub body_bytes: usize,
    pub stages: Vec<load::Stage>,
    /// With a connection: what reached the CRM.
    #[serde(default)]
    pub write_back: Option<WriteBackRun>,
}

/// The writes of a run with a connection, counted by the local CRM.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WriteBackRun {
    /// Decisions made (requests answered 200, the warm-up's included).
    pub decisions: u64,
    /// Contacts written, and the requests (batches) that carried them,
    /// when the outbox had drained or the wait ran out.
    pub writes: u64,
    pub requests: u64,
    /// Seconds from the end of the last stage until every write had landed
    /// (None: not within the wait).
    pub drained_seconds: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    pub memory_gib: f64,
    pub kernel: String,
    pub rustc: String,
    pub date: String,
    pub commit: String,
    pub load_before: String,
    pub load_after: String,
    pub compilers_running: usize,
}

/// A store's url, and the PostgreSQL schema to drop afterwards.
type Store = (String, Option<load::PgSchema>);

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ is in the workspace")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

fn sh(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .current_dir(root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown".into());
    let memory_kib: f64 = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0.0);
    let dirty = !sh("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
    Machine {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu,
        memory_gib: memory_kib / (1024.0 * 1024.0),
        kernel: sh("uname", &["-r"]),
        rustc: sh("rustc", &["--version"]),
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        commit: format!(
            "{}{}",
            sh("git", &["rev-parse", "--short=12", "HEAD"]),
            if dirty {
                " (with uncommitted changes)"
            } else {
                ""
            }
        ),
        load_before: loadavg(),
        load_after: String::new(),
        compilers_running: busy::compilers(),
    }
}

fn wants(args: &Args, what: &str) -> bool {
    args.only.is_empty() || args.only.iter().any(|o| o == what)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let root = root();
    let target = target_dir();
    let bin = target.join("release/leadwire");
    let plugins_dir = target.join("plugins");
    let quickstart = root.join("examples/quickstart/leadwire.toml");
    let work = target.join("leadwire-bench");
    std::fs::create_dir_all(&work)?;

    if let Some(path) = &args.from_results {
        let results: Results = serde_json::from_str(
            &std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?,
        )?;
        return write_report(&args, &root, &results, false);
    }

    let mut results = Results {
        machine: machine(),
        command: command_line(&args),
        quick: args.quick,
        ..Results::default()
    };
    let m = &results.machine;
    println!(
        "leadwire benchmarks: {} cores ({}), commit {}, load {}, {} rustc running",
        m.cores, m.cpu, m.commit, m.load_before, m.compilers_running
    );

    if !args.no_build {
        // The `leadwire` binary (and, through its build script, the plugins).
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        println!("building the leadwire binary: {cargo} build --release -p leadwire");
        let status = Command::new(&cargo)
            .args(["build", "--release", "-p", "leadwire"])
            .current_dir(&root)
            .status()
            .context("run cargo")?;
        if !status.success() {
            bail!("cargo build --release -p leadwire failed");
        }
    }
    for plugin in [
        "rules_scorer",
        "segmenter",
        "territory_router",
        "nurture_exit",
    ] {
        let path = plugins_dir.join(format!("{plugin}.wasm"));
        if !path.exists() {
            bail!(
                "{} is missing: build the plugins with `cargo build --release -p leadwire` (without LEADWIRE_SKIP_PLUGIN_BUILD)",
                path.display()
            );
        }
    }

    if let Some(what) = &args.profile {
        let bench = calls::Bench::new(&quickstart, calls::Sample::new(64)?)?;
        let n = bench.profile(
            what,
            args.warm,
            Duration::from_secs_f64(args.profile_seconds),
        )?;
        println!(
            "{n} calls of {what} ({})",
            if args.warm { "warm" } else { "fresh" }
        );
        return Ok(());
    }

    let sampler = busy::Sampler::start(results.machine.cores);
    let (sample_size, warmup, iters) = if args.quick {
        (8, 20, 200)
    } else {
        (64, 200, 4000)
    };

    if wants(&args, "calls") || wants(&args, "pipeline") {
        let sample = calls::Sample::new(sample_size)?;
        results.sample = Some(SampleInfo {
            leads: sample.leads.len(),
            mean_fields: sample.mean_fields,
            mean_activities: sample.mean_activities,
            max_activities: sample.max_activities,
            warmup,
            iterations: iters,
        });
        println!(
            "\nsample: {} generated leads, {:.0} fields and {:.1} activities on average (max {})",
            sample.leads.len(),
            sample.mean_fields,
            sample.mean_activities,
            sample.max_activities
        );
        let bench = calls::Bench::new(&quickstart, sample)?;
        if wants(&args, "calls") {
            println!("\nplugin calls ({iters} timed calls each, medians):");
            let mark = sampler.begin();
            results.plugins = bench.plugins(warmup, iters)?;
            results.load.push(sampler.end(mark, "plugin calls"));
            for p in &results.plugins {
                println!(
                    "  {:<17} fresh {:>10}  (p99 {:>10})  warm {:>10}  instantiate {:>10}  native {:>10}  wasm÷native {:>5.1}× fresh, {:>5.1}× warm{}",
                    p.plugin,
                    us(p.fresh.median_ns),
                    us(p.fresh.p99_ns),
                    us(p.warm.median_ns),
                    us(p.instantiate.median_ns),
                    us(p.native.median_ns),
                    ratio(p.fresh.median_ns, p.native.median_ns),
                    ratio(p.warm.median_ns, p.native.median_ns),
                    if p.mismatches > 0 {
                        format!("  ({} verdicts differ from native!)", p.mismatches)
                    } else {
                        String::new()
                    }
                );
            }
        }
        if wants(&args, "pipeline") {
            let mark = sampler.begin();
            let p = bench.pipeline(warmup, iters / 2)?;
            results.load.push(sampler.end(mark, "pipeline"));
            println!(
                "\nquickstart pipeline (4 steps): fresh {} (p99 {})  warm {}  native {}  wasm÷native {:.1}×",
                us(p.fresh.median_ns),
                us(p.fresh.p99_ns),
                us(p.warm.median_ns),
                us(p.native.median_ns),
                ratio(p.fresh.median_ns, p.native.median_ns)
            );
            results.pipeline = Some(p);
        }
        if wants(&args, "calls") {
            let mark = sampler.begin();
            let z = peer::run(&bench.config, &bench.runtime, &bench.sample, warmup, iters)?;
            results
                .load
                .push(sampler.end(mark, "GoRules ZEN side by side"));
            println!(
                "
GoRules ZEN, the quickstart's {} fit rules as a decision table: {}; rules-scorer with the same rules: fresh {} ({:.1}× ZEN), warm {}{}",
                z.rules,
                us(z.zen.median_ns),
                us(z.leadwire_fresh.median_ns),
                ratio(z.leadwire_fresh.median_ns, z.zen.median_ns),
                us(z.leadwire_warm.median_ns),
                if z.mismatches > 0 {
                    format!("  ({} totals differ!)", z.mismatches)
                } else {
                    String::new()
                }
            );
            results.peer = Some(z);
        }
    }

    if wants(&args, "bulk") {
        let rows = args
            .rows
            .unwrap_or(if args.quick { 20_000 } else { 1_000_000 });
        let learned = bulk::learn(&bin, &work)?;
        let config = bulk::write_config(&work, &plugins_dir, &learned)?;
        println!("\nbulk scoring: leadwire score, {} rows", thousands(rows));
        for (format, pipeline, label, rows) in [
            ("csv", "bulk-score", "rules-scorer alone, CSV", rows),
            (
                "csv",
                "bulk-learned",
                "rules-scorer with a model from `leadwire learn` (a points table per field, 59 fields), CSV",
                rows,
            ),
            (
                "jsonl",
                "inbound",
                "the four-step quickstart pipeline, JSONL (with activities)",
                (rows / 10).max(1000),
            ),
        ] {
            let mark = sampler.begin();
            let outcome = bulk::score(&bin, &config, &work, rows, format, pipeline, label);
            results
                .load
                .push(sampler.end(mark, &format!("bulk: {label} (generate and score)")));
            match outcome {
                Ok(b) => {
                    println!(
                        "  {label}: {} rows in {:.1} s: {} leads/s  [{}]",
                        thousands(b.rows),
                        b.score_seconds,
                        thousands(b.leads_per_second as u64),
                        b.summary
                    );
                    results.bulk.push(b);
                }
                Err(e) => {
                    println!("  {label}: skipped: {e:#}");
                    results
                        .skipped
                        .push((format!("bulk: {label}"), format!("{e:#}")));
                }
            }
        }
    }

    if wants(&args, "webhook") {
        let seconds = args
            .stage_seconds
            .unwrap_or(if args.quick { 2.0 } else { 10.0 });
        let stage = Duration::from_secs_f64(seconds);
        let db = work.join(format!("webhook-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&db);
        let mut stores: Vec<(String, Result<Store>)> = vec![(
            "SQLite".into(),
            Ok((format!("sqlite://{}", db.display()), None)),
        )];
        let acting = work.join(format!("webhook-acting-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&acting);
        stores.push((
            WRITING_BACK.into(),
            Ok((format!("sqlite://{}", acting.display()), None)),
        ));
        let postgres_url = args
            .postgres_url
            .clone()
            .or_else(|| std::env::var("LEADWIRE_BENCH_POSTGRES_URL").ok())
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into());
        if !postgres_url.is_empty() {
            stores.push((
                "PostgreSQL".into(),
                load::PgSchema::create(&postgres_url).map(|s| (s.url.clone(), Some(s))),
            ));
        }
        for (name, store) in stores {
            let (url, schema) = match store {
                Ok(s) => s,
                Err(e) => {
                    println!("\nwebhook, {name}: skipped: {e:#}");
                    results
                        .skipped
                        .push((format!("webhook: {name}"), format!("{e:#}")));
                    continue;
                }
            };
            println!(
                "\nwebhook, {name} ({} per stage):",
                crate::stats::secs(stage)
            );
            let mark = sampler.begin();
            let sink = if name == WRITING_BACK {
                match sink::Sink::start() {
                    Ok(s) => Some(s),
                    Err(e) => {
                        println!("  skipped: cannot start the local CRM: {e:#}");
                        continue;
                    }
                }
            } else {
                None
            };
            let outcome = webhook(
                &bin,
                &work,
                &plugins_dir,
                &url,
                sink.as_ref(),
                stage,
                args.quick,
            );
            results
                .load
                .push(sampler.end(mark, &format!("webhook, {name}")));
            match outcome {
                Ok((body_bytes, stages, write_back)) => results.webhook.push(WebhookRun {
                    store: name,
                    body_bytes,
                    stages,
                    write_back,
                }),
                Err(e) => {
                    println!("  failed: {e:#}");
                    results
                        .skipped
                        .push((format!("webhook: {name}"), format!("{e:#}")));
                }
            }
            drop(schema);
        }
        for db in [&db, &acting] {
            let _ = std::fs::remove_file(db);
            for ext in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
            }
        }
    }

    results.machine.load_after = loadavg();

    let json = serde_json::to_string_pretty(&results)?;
    std::fs::write(work.join("results.json"), &json)?;
    println!("\nsaved {}", work.join("results.json").display());
    if args.save_baseline {
        std::fs::write(root.join("benches/baseline.json"), &json)?;
        println!("saved benches/baseline.json");
    }
    write_report(&args, &root, &results, args.save_baseline)
}

/// The report, with benches/baseline.json (or --baseline) as "before" unless
/// this run is the baseline.
fn write_report(args: &Args, root: &Path, results: &Results, is_baseline: bool) -> Result<()> {
    let baseline_path = args
        .baseline
        .clone()
        .unwrap_or_else(|| root.join("benches/baseline.json"));
    let baseline: Option<Results> = std::fs::read_to_string(&baseline_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let output = root.join(&args.output);
    // No "before" when this run is the baseline.
    let before = baseline
        .as_ref()
        .filter(|b| !is_baseline && b.machine.date != results.machine.date);
    let text = report::render(results, before);
    std::fs::write(&output, text)?;
    println!("wrote {}", output.display());
    Ok(())
}

fn command_line(args: &Args) -> String {
    let mut cmd = String::from("cargo run --release -p leadwire-benches --");
    if args.quick {
        cmd.push_str(" --quick");
    }
    if !args.only.is_empty() {
        cmd.push_str(&format!(" --only {}", args.only.join(",")));
    }
    if let Some(rows) = args.rows {
        cmd.push_str(&format!(" --rows {rows}"));
    }
    if let Some(s) = args.stage_seconds {
        cmd.push_str(&format!(" --stage-seconds {s}"));
    }
    cmd.push_str(&format!(" --output {}", args.output.display()));
    cmd
}

pub fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// The load stages against one store: a warm-up, the fixed rates, the
/// saturation throughput, then rates near it to find the highest sustained.
fn webhook(
    bin: &Path,
    work: &Path,
    plugins_dir: &Path,
    store_url: &str,
    sink: Option<&sink::Sink>,
    stage: Duration,
    quick: bool,
) -> Result<(usize, Vec<load::Stage>, Option<WriteBackRun>)> {
    let config = load::write_config(work, plugins_dir, store_url, sink.map(|s| s.url.as_str()))?;
    let server = load::Server::start(bin, &config)?;
    let requests = Arc::new(load::Requests::new(
        server.addr,
        if quick { 256 } else { 4096 },
    ));
    let print = |s: &load::Stage| {
        println!(
            "  {:<24} {:>8} req/s answered  p50 {:>9}  p90 {:>9}  p99 {:>9}  p99.9 {:>9}  max {:>9}  errors {:>4}{}  server {:.2} cores, client {:.2}",
            s.label,
            thousands(s.achieved.round() as u64),
            stats::ms(s.latency.p50_ns),
            s.latency.p90_ns.map_or("—".into(), stats::ms),
            stats::ms(s.latency.p99_ns),
            s.latency.p999_ns.map_or("—".into(), stats::ms),
            stats::ms(s.latency.max_ns),
            s.errors,
            if s.overloaded { "  OVERLOADED" } else { "" },
            s.server_cores,
            s.client_cores
        );
    };
    // Warm-up (not reported): caches, connections, the store's first pages.
    let w = load::open_loop(&server, &requests, 300.0, Duration::from_secs(1));
    if w.ok == 0 {
        bail!("no request succeeded in the warm-up ({} errors)", w.errors);
    }
    let mut stages = Vec::new();
    let rates: &[f64] = if quick {
        &[500.0, 1000.0]
    } else {
        &[500.0, 1000.0, 2000.0, 5000.0]
    };
    for &rate in rates {
        let s = load::open_loop(&server, &requests, rate, stage);
        print(&s);
        stages.push(s);
    }
    let mut saturation = 0.0f64;
    for conns in if quick { vec![16] } else { vec![8, 32] } {
        let s = load::closed_loop(&server, &requests, conns, stage);
        print(&s);
        saturation = saturation.max(s.achieved);
        stages.push(s);
    }
    // Below saturation: the highest rate answered in full, and with p99 ≤ 10 ms.
    for f in if quick {
        vec![0.8]
    } else {
        vec![0.15, 0.3, 0.45, 0.6, 0.8, 0.9]
    } {
        let rate = (saturation * f / 50.0).round() * 50.0;
        if rate < 50.0 || stages.iter().any(|s| s.offered == Some(rate)) {
            continue;
        }
        let s = load::open_loop(&server, &requests, rate, stage);
        print(&s);
        stages.push(s);
    }
    let write_back = sink.map(|sink| {
        let decisions = w.ok + stages.iter().map(|s| s.ok).sum::<u64>();
        let ended = Instant::now();
        let wait = Duration::from_secs(if quick { 30 } else { 120 });
        while sink.writes() < decisions && ended.elapsed() < wait {
            std::thread::sleep(Duration::from_millis(50));
        }
        let drained = (sink.writes() >= decisions).then(|| ended.elapsed().as_secs_f64());
        println!(
            "  written back: {} of {} decisions in {} requests{}",
            thousands(sink.writes()),
            thousands(decisions),
            thousands(sink.requests()),
            drained.map_or(
                " (the outbox had not drained when the wait ran out)".into(),
                |s| { format!(", the outbox drained {s:.1} s after the last stage") }
            )
        );
        WriteBackRun {
            decisions,
            writes: sink.writes(),
            requests: sink.requests(),
            drained_seconds: drained,
        }
    });
    Ok((requests.mean_body_bytes(), stages, write_back))
}

/// The webhook run whose decisions are written back to a local CRM.
const WRITING_BACK: &str = "SQLite, writing back";
