//! The `leadwire` command: a thin shell over the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

mod args;
use args::named;

/// mimalloc: glibc's malloc was ~15% of the server's CPU under load, much of
/// it contention between the request threads (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use leadwire::capabilities::MemoryState;
use leadwire::decision::{Decision, DecisionStatus};
use leadwire::lab::generate::FileFormat;
use leadwire::lab::numbers::thousands;
use leadwire::lead::{EventDoc, LeadFile, Timestamp, TriggerDoc};
use leadwire::runtime::inspect_file;
use leadwire::{Config, Pipelines, Runtime};

#[derive(Parser)]
#[command(
    name = "leadwire",
    version,
    about = "Sandboxed lead scoring, segmentation, routing and nurture exit for your CRM"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one lead through a pipeline and print the decision (JSON on stdout,
    /// each step's use of its limits on stderr). Plugin state is in memory.
    Run {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        pipeline: String,
        /// A lead JSON file (a lead, or {"lead": ..., "event": ...}).
        #[arg(long)]
        lead: PathBuf,
        /// The trigger, overriding the file's event.
        #[arg(long, value_parser = named::<TriggerDoc>(&["created", "updated", "sla-breached", "rejected"]))]
        event: Option<TriggerDoc>,
        /// The event time (RFC 3339), overriding the file's; default: the file's, else now.
        #[arg(long)]
        at: Option<String>,
    },
    /// Serve CRM webhooks (`POST /hooks/SOURCE`) and the HTTP API until SIGTERM;
    /// SIGHUP reloads the config.
    Serve {
        #[arg(long)]
        config: PathBuf,
        /// Address to listen on (default: the config's server.listen, else 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Check a config file: syntax, references, and that every plugin loads with
    /// its grants and exports the roles its pipelines ask of it.
    Validate {
        #[arg(long)]
        config: PathBuf,
    },
    /// Write generated, realistic leads (a pure function of the seed and the row
    /// number; the outcome in `converted`) for benchmarks and tests.
    Generate {
        #[arg(long)]
        rows: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value = "csv", value_parser = named::<FileFormat>(&["csv", "jsonl"]))]
        format: FileFormat,
        #[arg(long)]
        output: PathBuf,
    },
    /// Decide a whole file of leads (CSV or JSONL) with a pipeline, on every
    /// core, plugin state in an in-memory sandbox; one result per row.
    Score(args::Score),
    /// Replay history through a pipeline and measure how well its decisions
    /// predict the outcome (optionally against a baseline config).
    Backtest(args::Backtest),
    /// Fit a points model (a rules-scorer config) on history with an outcome.
    Learn(args::Learn),
    /// Plugin tools.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// The writes to the CRMs: list them, see one, retry or drop a dead letter.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// Writes oldest first: `--status dead` for what failed for good.
    List {
        #[arg(long)]
        config: PathBuf,
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(leadwire::store::outbox::STATUSES))]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// One write in full: what it writes, its attempts, the CRM's last answer.
    Show {
        #[arg(long)]
        config: PathBuf,
        id: i64,
    },
    /// Deliver a dead (or waiting) write again, now.
    Retry {
        #[arg(long)]
        config: PathBuf,
        id: i64,
    },
    /// Delete a dead (or waiting) write.
    Drop {
        #[arg(long)]
        config: PathBuf,
        id: i64,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Show a component's roles, capabilities, WIT version, size and sha256.
    Inspect {
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LEADWIRE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only to a terminal, never into a log file or a pipe.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run {
            config,
            pipeline,
            lead,
            event,
            at,
        } => run_lead(&config, &pipeline, &lead, event, at.as_deref()),
        Command::Serve { config, listen } => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(leadwire::serve(&config, listen.as_deref()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { config } => validate(&config),
        Command::Backtest(args) => {
            let args = args.into();
            let result = leadwire::lab::backtest::backtest(&args)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                print!("{}", leadwire::lab::backtest::summary(&result));
            }
            if let Some(path) = &args.report {
                eprintln!("wrote {}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Learn(args) => {
            leadwire::lab::learn::command::run(&args.into())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Score(args) => {
            let tally = leadwire::lab::bulk::score(&args.into())?;
            Ok(if tally.error_count() > 0 {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Generate {
            rows,
            seed,
            format,
            output,
        } => {
            let file = std::fs::File::create(&output)
                .with_context(|| format!("cannot create {}", output.display()))?;
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            let generator = leadwire::lab::generate::Generator::new(seed);
            leadwire::lab::generate::write_parallel(
                std::io::BufWriter::new(file),
                rows,
                &generator,
                format,
                threads,
            )
            .with_context(|| format!("cannot write {}", output.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin {
            command: PluginCommand::Inspect { file, json },
        } => inspect(&file, json),
        Command::Outbox { command } => outbox(command),
    }
}

fn outbox(command: OutboxCommand) -> anyhow::Result<ExitCode> {
    let config = match &command {
        OutboxCommand::List { config, .. }
        | OutboxCommand::Show { config, .. }
        | OutboxCommand::Retry { config, .. }
        | OutboxCommand::Drop { config, .. } => Config::load(config)?,
    };
    let store = leadwire::store::open(&config.store.url)?;
    let line = |r: &leadwire::store::OutboxRow| {
        format!(
            "{:>6}  {:<8} {} {}  attempts {}  decision {}{}",
            r.id,
            r.status,
            r.connection,
            r.record,
            r.attempts,
            r.decision_id,
            r.last_error
                .as_ref()
                .map(|e| format!("\n        last error: {e}"))
                .unwrap_or_default()
        )
    };
    let now = chrono::Utc::now().timestamp_millis();
    match command {
        OutboxCommand::List {
            status,
            limit,
            json,
            ..
        } => {
            let rows = store.outbox(status.as_deref(), limit)?;
            for r in &rows {
                if json {
                    println!("{}", serde_json::to_string(r)?);
                } else {
                    println!("{}", line(r));
                }
            }
            if !json {
                eprintln!("{} write(s)", rows.len());
            }
        }
        OutboxCommand::Show { id, .. } => {
            let row = store
                .outbox_row(id)?
                .ok_or_else(|| anyhow::anyhow!("no outbox row {id}"))?;
            println!("{}", serde_json::to_string_pretty(&row)?);
        }
        OutboxCommand::Retry { id, .. } => {
            if !store.retry_outbox(id, now)? {
                anyhow::bail!(
                    "outbox row {id} is not dead or waiting (see `leadwire outbox show {id}`)"
                );
            }
            println!("row {id} will be delivered again now (by the running server's worker)");
        }
        OutboxCommand::Drop { id, .. } => {
            if !store.drop_outbox(id)? {
                anyhow::bail!(
                    "outbox row {id} is not dead or waiting (see `leadwire outbox show {id}`)"
                );
            }
            println!("row {id} dropped: it will not be written");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn load(config_path: &Path) -> anyhow::Result<Pipelines> {
    let config = Config::load(config_path)?;
    let runtime = Arc::new(Runtime::new()?);
    Ok(Pipelines::load(
        &config,
        runtime,
        Arc::new(MemoryState::default()),
    )?)
}

fn run_lead(
    config: &Path,
    pipeline: &str,
    lead_path: &Path,
    trigger: Option<TriggerDoc>,
    at: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let pipelines = load(config)?;
    let text = std::fs::read_to_string(lead_path)
        .with_context(|| format!("cannot read lead file {}", lead_path.display()))?;
    let (doc, event) =
        LeadFile::parse(&text).with_context(|| format!("lead file {}", lead_path.display()))?;
    let mut event = event.unwrap_or_default();
    if let Some(trigger) = trigger {
        event.trigger = trigger;
    }
    if let Some(at) = at {
        let ts: Timestamp = serde_json::from_value(serde_json::Value::String(at.into()))
            .with_context(|| format!("--at `{at}`"))?;
        event.at = Some(ts);
    }
    let lead = doc
        .to_lead("cli")
        .with_context(|| format!("lead file {}", lead_path.display()))?;
    let now = chrono::Utc::now().timestamp_millis();
    let event = EventDoc::to_event(&event, &lead.id, now)?;
    let decision = pipelines.run(pipeline, lead, event)?;
    println!("{}", serde_json::to_string_pretty(&decision)?);
    eprint!("{}", usage_report(&decision));
    Ok(match decision.status {
        DecisionStatus::Ok => ExitCode::SUCCESS,
        DecisionStatus::Error => ExitCode::from(3),
    })
}

/// Each step's use of its limits, as Shopify's function-runner shows it.
fn usage_report(decision: &Decision) -> String {
    let mut out = format!(
        "{:<14} {:<13} {:>25} {:>21} {:>17} {:>19}  result\n",
        "step", "role", "fuel", "peak memory", "time", "verdict"
    );
    for step in &decision.steps {
        let m = &step.metrics;
        let fuel = match m.fuel_limit {
            Some(limit) => format!(
                "{} / {} ({:.1}%)",
                thousands(m.fuel_used),
                short(limit),
                pct(m.fuel_used, limit)
            ),
            None => format!("{} / unlimited", thousands(m.fuel_used)),
        };
        let result = match &step.error {
            Some(e) => format!("{} ({})", e.kind(), step_policy(step)),
            None => "ok".into(),
        };
        out.push_str(&format!(
            "{:<14} {:<13} {:>25} {:>21} {:>17} {:>19}  {}\n",
            step.step,
            step.role.name(),
            fuel,
            format!(
                "{} / {}",
                bytes(m.peak_memory_bytes),
                bytes(m.memory_limit_bytes)
            ),
            format!("{:.2} / {} ms", m.duration_us as f64 / 1000.0, m.timeout_ms),
            format!(
                "{} / {}",
                bytes(m.verdict_bytes),
                bytes(m.verdict_limit_bytes)
            ),
            result
        ));
        if m.logs_truncated {
            out.push_str(&format!("{:<14} log truncated at its limit\n", ""));
        }
    }
    out
}

fn step_policy(step: &leadwire::decision::StepRecord) -> &'static str {
    match step.on_error {
        leadwire::config::OnError::FailOpen => "fail-open: skipped",
        leadwire::config::OnError::FailClosed => "fail-closed: decision failed",
    }
}

fn pct(used: u64, limit: u64) -> f64 {
    if limit == 0 {
        0.0
    } else {
        used as f64 * 100.0 / limit as f64
    }
}

fn short(n: u64) -> String {
    if n >= 1_000_000 {
        format!("{}M", n as f64 / 1e6)
    } else {
        thousands(n)
    }
}

fn bytes(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    } else if n >= 1 << 10 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

fn validate(config_path: &Path) -> anyhow::Result<ExitCode> {
    let pipelines = load(config_path)?;
    // Sources are checked as `serve` builds them: every problem at once.
    let config = Config::load(config_path)?;
    let mut problems: Vec<String> = config
        .sources
        .iter()
        .filter_map(|(name, source)| leadwire::adapters::for_source(name, source).err())
        .collect();
    problems.extend(leadwire::crm::Connections::from_config(&config, None).err());
    problems.extend(leadwire::sla::policy::Policies::from_config(&config).err());
    problems.extend(leadwire::alerts::Alerts::from_config(&config).err());
    problems.extend(leadwire::feedback::Rules::from_config(&config).err());
    if !problems.is_empty() {
        eprintln!("{}: {} problem(s):", config_path.display(), problems.len());
        for problem in &problems {
            eprintln!("  {problem}");
        }
        return Ok(ExitCode::from(1));
    }
    println!("{}: ok", config_path.display());
    for (name, plugin) in &pipelines.plugins {
        let roles: Vec<_> = plugin.info.roles.iter().map(|r| r.name()).collect();
        println!(
            "  plugin {name}: {} ({}), sha256 {}",
            roles.join(", "),
            bytes(plugin.info.size),
            &plugin.info.sha256[..16]
        );
    }
    for (name, pipeline) in &pipelines.pipelines {
        let steps: Vec<_> = pipeline
            .steps
            .iter()
            .map(|s| format!("{} ({})", s.name, s.role))
            .collect();
        println!("  pipeline {name}: {}", steps.join(" → "));
    }
    for (name, source) in &config.sources {
        let also = source
            .path()
            .map(|p| format!(" and {p}"))
            .unwrap_or_default();
        let namespace = source.namespace_or(name);
        let shared = if namespace == name {
            String::new()
        } else {
            format!(", leads kept under `{namespace}`")
        };
        println!(
            "  source {name}: {} → pipeline {}, POST /hooks/{name}{also}{shared}",
            source.adapter.get_ref(),
            source.pipeline.get_ref()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn inspect(file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let runtime = Runtime::new()?;
    let info = inspect_file(runtime.engine(), file)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        let roles: Vec<_> = info.roles.iter().map(|r| r.name()).collect();
        println!("file:          {}", info.path.display());
        println!("size:          {} ({} bytes)", bytes(info.size), info.size);
        println!("sha256:        {}", info.sha256);
        println!("wit:           leadwire:plugin@{}", info.wit_version);
        println!(
            "roles:         {}",
            if roles.is_empty() {
                "none".into()
            } else {
                roles.join(", ")
            }
        );
        println!("capabilities:  {}", info.capabilities.join(", "));
        println!("wasi imports:  {}", info.wasi.len());
        println!(
            "init:          {}",
            if info.init {
                "yes: run once per install, instances start from its snapshot"
            } else {
                "none: instances start from the component as built"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
