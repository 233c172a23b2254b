//! Plugin calls on realistic leads: a fresh instance per call (what the server
//! does), a warm instance reused across calls (bulk runs), instantiation alone,
//! the same logic compiled natively; and the four-step quickstart pipeline.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use leadwire::bindings::types::{Event, Input, Lead, PriorStep};
use leadwire::capabilities::CallContext;
use leadwire::capabilities::{Accounts, Directory, HostEnv, MemoryState};
use leadwire::config::Config;
use leadwire::lab::generate::Generator;
use leadwire::runtime::{Plugin, WarmInstance};
use leadwire::{Pipelines, Runtime};
use serde::{Deserialize, Serialize};
use wasmtime::Store;
use wasmtime::component::{Component, Linker};

use crate::native::{self, NativeHosts, Step};
use crate::stats::{Summary, time_each};

/// The sample: leads of [`SEED`], one a day apart, so a round of calls stays
/// within each rep's daily cap (the router's state is reset between rounds).
pub const SEED: u64 = 2026;
const STRIDE: u64 = 2881;

pub struct Sample {
    pub leads: Vec<(Lead, Event)>,
    pub mean_fields: f64,
    pub mean_activities: f64,
    pub max_activities: usize,
}

impl Sample {
    pub fn new(n: usize) -> Result<Sample> {
        let g = Generator::new(SEED);
        let mut leads = Vec::new();
        for j in 0..n as u64 {
            let row = g.lead(j * STRIDE);
            let lead = row.lead.to_lead("hubspot")?;
            let event = row.event().to_event(&lead.id, row.event_at_ms)?;
            leads.push((lead, event));
        }
        let mean = |f: &dyn Fn(&Lead) -> usize| {
            leads.iter().map(|(l, _)| f(l)).sum::<usize>() as f64 / n as f64
        };
        Ok(Sample {
            mean_fields: mean(&|l| l.fields.len()),
            mean_activities: mean(&|l| l.activities.len()),
            max_activities: leads
                .iter()
                .map(|(l, _)| l.activities.len())
                .max()
                .unwrap_or(0),
            leads,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PluginFigures {
    pub install: String,
    pub plugin: String,
    pub wasm_bytes: u64,
    pub fresh: Summary,
    pub warm: Summary,
    pub instantiate: Summary,
    pub native: Summary,
    pub fuel_median: u64,
    /// Fuel (wasm instructions, roughly) per call, medians.
    #[serde(default)]
    pub fuel: Fuel,
    /// The same calls on a minimal input (a lead with an id only, no fields,
    /// activities or prior verdicts): the fixed cost of a call.
    #[serde(default)]
    pub fresh_minimal: Summary,
    #[serde(default)]
    pub warm_minimal: Summary,
    #[serde(default)]
    pub native_minimal: Summary,
    /// Leads whose wasm and native verdicts differ (should be none).
    pub mismatches: usize,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Fuel {
    pub fresh: u64,
    pub warm: u64,
    pub fresh_minimal: u64,
    pub warm_minimal: u64,
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PipelineFigures {
    pub fresh: Summary,
    pub warm: Summary,
    pub native: Summary,
    /// Decisions whose status is not ok (should be none).
    pub errors: usize,
}

pub struct Bench {
    pub config: Config,
    pub runtime: Arc<Runtime>,
    pub pipelines: Pipelines,
    pub sample: Sample,
}

impl Bench {
    pub fn new(config_path: &Path, sample: Sample) -> Result<Bench> {
        let config = Config::load(config_path)?;
        let runtime = Arc::new(Runtime::new()?);
        let pipelines = Pipelines::load(&config, runtime.clone(), Arc::new(MemoryState::default()))
            .map_err(|e| anyhow!("{e}"))?;
        Ok(Bench {
            config,
            runtime,
            pipelines,
            sample,
        })
    }

    fn env(&self) -> Arc<HostEnv> {
        Arc::new(HostEnv {
            state: Arc::new(MemoryState::default()),
            directory: Directory::from_config(&self.config.directory),
            accounts: Accounts::from_config(&self.config.accounts),
        })
    }

    fn plugin(&self, step: Step) -> &Arc<Plugin> {
        &self.pipelines.plugins[step.install()]
    }

    /// Each sample lead's input for each step: the lead, the event, and the
    /// verdicts of the steps before it (from fresh wasm calls).
    fn inputs(&self) -> Result<Vec<[Input; 4]>> {
        let pipeline = self.pipelines.pipeline("inbound")?;
        let env = self.env();
        let mut all = Vec::new();
        for (lead, event) in &self.sample.leads {
            let mut input = Input {
                lead: lead.clone(),
                event: event.clone(),
                prior: Vec::new(),
            };
            let mut per_step = Vec::new();
            for (step, s) in Step::ALL.iter().zip(&pipeline.steps) {
                assert_eq!(s.plugin.name, step.install());
                per_step.push(input.clone());
                let outcome = s.plugin.call(
                    self.runtime.engine(),
                    s.role,
                    &input,
                    ctx(&env, &s.plugin, event),
                );
                let (verdict, _) = outcome
                    .result
                    .map_err(|e| anyhow!("{} on {}: {e}", s.name, lead.id))?;
                input.prior.push(PriorStep {
                    step: s.name.clone(),
                    plugin: s.plugin.name.clone(),
                    verdict,
                });
            }
            all.push(per_step.try_into().map_err(|_| anyhow!("four steps"))?);
        }
        Ok(all)
    }

    /// The same natively: each step's input with the native verdicts before it.
    fn native_inputs(&self) -> Result<Vec<Vec<leadwire_sdk::Input>>> {
        let mut all = Vec::new();
        for (lead, event) in &self.sample.leads {
            let hosts = NativeHosts::new(&self.config);
            let mut input = native::input(lead, event);
            let mut per_step = Vec::new();
            for step in Step::ALL {
                per_step.push(input.clone());
                let verdict = hosts
                    .call(step, &input)
                    .map_err(|e| anyhow!("native {} on {}: {e}", step.install(), lead.id))?;
                input.prior.push(leadwire_sdk::PriorStep {
                    step: step.install().into(),
                    plugin: step.install().into(),
                    verdict,
                });
            }
            all.push(per_step);
        }
        Ok(all)
    }

    /// The per-plugin figures: fresh, warm, instantiation alone, native.
    pub fn plugins(&self, warmup: usize, iters: usize) -> Result<Vec<PluginFigures>> {
        let inputs = self.inputs()?;
        let native_inputs = self.native_inputs()?;
        let k = inputs.len();
        let round = k * 8;
        let engine = self.runtime.engine();
        let mut out = Vec::new();
        for step in Step::ALL {
            let i = step as usize;
            let plugin = self.plugin(step);
            let role = self.pipelines.pipeline("inbound")?.steps[i].role;
            let native_inputs: Vec<leadwire_sdk::Input> =
                native_inputs.iter().map(|per| per[i].clone()).collect();

            // Fresh instance per call: Plugin::call, as the server runs it.
            let mut fuel = Vec::new();
            let fresh = time_rounds(
                warmup,
                iters,
                round,
                || self.env(),
                |env, n| {
                    let input = &inputs[n % k][i];
                    let outcome = plugin.call(engine, role, input, ctx(env, plugin, &input.event));
                    fuel.push(outcome.metrics.fuel_used);
                    outcome.result.expect("the call succeeds");
                },
            );
            fuel.sort_unstable();
            let fuel_median = fuel[fuel.len() / 2];

            // One warm instance reused for every call.
            let mut warm_instance = WarmInstance::new(plugin.clone());
            let mut fuel_w = Vec::new();
            let warm = time_rounds(
                warmup,
                iters,
                round,
                || self.env(),
                |env, n| {
                    let input = &inputs[n % k][i];
                    let outcome =
                        warm_instance.call(engine, role, input, ctx(env, plugin, &input.event));
                    fuel_w.push(outcome.metrics.fuel_used);
                    outcome.result.expect("the call succeeds");
                },
            );

            let instantiate = instantiate_only(engine, &plugin.info.path, warmup, iters)?;

            // Natively, through the SDK's fake host.
            let native = time_rounds(
                warmup,
                iters,
                round,
                || NativeHosts::new(&self.config),
                |hosts, n| {
                    hosts
                        .call(step, &native_inputs[n % k])
                        .expect("the native call succeeds");
                },
            );

            // The fixed cost: the same on a minimal input.
            let minimal = Input {
                lead: Lead {
                    id: "minimal".into(),
                    source: "hubspot".into(),
                    ..empty_lead()
                },
                event: inputs[0][i].event.clone(),
                prior: Vec::new(),
            };
            let native_minimal_input = native::input(&minimal.lead, &minimal.event);
            let mut fuel_fm = Vec::new();
            let mut fuel_wm = Vec::new();
            let fresh_minimal = time_rounds(
                warmup,
                iters / 2,
                round,
                || self.env(),
                |env, _| {
                    let outcome =
                        plugin.call(engine, role, &minimal, ctx(env, plugin, &minimal.event));
                    fuel_fm.push(outcome.metrics.fuel_used);
                    outcome.result.expect("the call succeeds");
                },
            );
            let mut warm_instance = WarmInstance::new(plugin.clone());
            let warm_minimal = time_rounds(
                warmup,
                iters / 2,
                round,
                || self.env(),
                |env, _| {
                    let outcome = warm_instance.call(
                        engine,
                        role,
                        &minimal,
                        ctx(env, plugin, &minimal.event),
                    );
                    fuel_wm.push(outcome.metrics.fuel_used);
                    outcome.result.expect("the call succeeds");
                },
            );
            let native_minimal = time_rounds(
                warmup,
                iters / 2,
                round,
                || NativeHosts::new(&self.config),
                |hosts, _| {
                    hosts
                        .call(step, &native_minimal_input)
                        .expect("the native call succeeds");
                },
            );

            // Same answers both ways (the router from a fresh state each time).
            let mut mismatches = 0;
            for (n, per) in inputs.iter().enumerate() {
                let env = self.env();
                let hosts = NativeHosts::new(&self.config);
                let (wasm, _) = plugin
                    .call(engine, role, &per[i], ctx(&env, plugin, &per[i].event))
                    .result
                    .map_err(|e| anyhow!("{e}"))?;
                let native = hosts
                    .call(step, &native_inputs[n])
                    .map_err(|e| anyhow!("{e}"))?;
                if format!("{wasm:?}") != format!("{native:?}") {
                    mismatches += 1;
                }
            }

            out.push(PluginFigures {
                install: step.install().into(),
                plugin: step.plugin().into(),
                wasm_bytes: plugin.info.size,
                fresh,
                warm,
                instantiate,
                native,
                fuel_median,
                fuel: Fuel {
                    fresh: median(fuel.clone()),
                    warm: median(fuel_w),
                    fresh_minimal: median(fuel_fm),
                    warm_minimal: median(fuel_wm),
                },
                fresh_minimal,
                warm_minimal,
                native_minimal,
                mismatches,
            });
        }
        Ok(out)
    }

    /// The four-step `inbound` pipeline: fresh instances (Pipelines::run), a
    /// worker's warm instances (Pipelines::worker), natively.
    pub fn pipeline(&self, warmup: usize, iters: usize) -> Result<PipelineFigures> {
        let k = self.sample.leads.len();
        let round = k * 8;
        // The lead and event are moved into each run: clones made outside the clock.
        let clones = || -> Vec<(Lead, Event)> {
            (0..round)
                .map(|n| self.sample.leads[n % k].clone())
                .collect()
        };
        let mut errors = 0;
        let fresh = time_rounds(
            warmup,
            iters,
            round,
            || (self.fresh_pipelines().expect("loads"), clones()),
            |(pipelines, batch), n| {
                let (lead, event) = batch[n % round].clone_from_slot();
                let decision = pipelines
                    .run("inbound", lead, event)
                    .expect("the pipeline exists");
                errors += usize::from(decision.status != leadwire::decision::DecisionStatus::Ok);
            },
        );

        let warm = {
            // A worker borrows its pipelines: a new worker per round, made outside the clock.
            let mut summaries = Vec::new();
            let rounds = (warmup + iters).div_ceil(round);
            let mut done = 0;
            for _ in 0..rounds {
                let pipelines = self.fresh_pipelines()?;
                let mut batch = clones();
                let mut worker = pipelines.worker();
                for slot in batch.iter_mut() {
                    let (lead, event) = slot.clone_from_slot();
                    let start = Instant::now();
                    let decision = worker
                        .run("inbound", lead, event)
                        .expect("the pipeline exists");
                    let ns = start.elapsed().as_nanos() as u64;
                    errors +=
                        usize::from(decision.status != leadwire::decision::DecisionStatus::Ok);
                    if done >= warmup && summaries.len() < iters {
                        summaries.push(ns);
                    }
                    done += 1;
                }
            }
            Summary::of(summaries)
        };

        let native_inputs: Vec<leadwire_sdk::Input> = self
            .sample
            .leads
            .iter()
            .map(|(l, e)| native::input(l, e))
            .collect();
        let native = time_rounds(
            warmup,
            iters,
            round,
            || NativeHosts::new(&self.config),
            |hosts, n| {
                let results = hosts.pipeline(&native_inputs[n % k]);
                assert!(results[0].is_ok());
            },
        );
        Ok(PipelineFigures {
            fresh,
            warm,
            native,
            errors,
        })
    }

    /// Call one plugin (or the pipeline) in a loop for `duration`, untimed, for
    /// a profiler; the number of calls.
    pub fn profile(&self, what: &str, warm: bool, duration: std::time::Duration) -> Result<u64> {
        let inputs = self.inputs()?;
        let k = inputs.len();
        let engine = self.runtime.engine();
        let end = Instant::now() + duration;
        let mut n = 0u64;
        if what == "pipeline" {
            while Instant::now() < end {
                let pipelines = self.fresh_pipelines()?;
                let mut worker = pipelines.worker();
                for (lead, event) in self.sample.leads.iter().cycle().take(k * 8) {
                    if warm {
                        worker.run("inbound", lead.clone(), event.clone())?;
                    } else {
                        pipelines.run("inbound", lead.clone(), event.clone())?;
                    }
                    n += 1;
                }
            }
            return Ok(n);
        }
        let step = Step::ALL
            .into_iter()
            .find(|s| s.plugin() == what || s.install() == what)
            .ok_or_else(|| anyhow!("no plugin `{what}` (rules-scorer, segmenter, territory-router, nurture-exit, pipeline)"))?;
        let i = step as usize;
        let plugin = self.plugin(step);
        let role = self.pipelines.pipeline("inbound")?.steps[i].role;
        let mut warm_instance = WarmInstance::new(plugin.clone());
        while Instant::now() < end {
            let env = self.env();
            for per in inputs.iter().cycle().take(k * 8) {
                let input = &per[i];
                let c = ctx(&env, plugin, &input.event);
                let outcome = if warm {
                    warm_instance.call(engine, role, input, c)
                } else {
                    plugin.call(engine, role, input, c)
                };
                outcome.result.map_err(|e| anyhow!("{e}"))?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// The same config loaded again: a fresh plugin state (the router's
    /// round robin and daily counts) without recompiling (the engine caches).
    fn fresh_pipelines(&self) -> Result<Pipelines> {
        Pipelines::load(
            &self.config,
            self.runtime.clone(),
            Arc::new(MemoryState::default()),
        )
        .map_err(|e| anyhow!("{e}"))
    }
}

/// Take the lead and event out of a prepared slot (leaving empty ones).
trait TakeSlot {
    fn clone_from_slot(&mut self) -> (Lead, Event);
}

impl TakeSlot for (Lead, Event) {
    fn clone_from_slot(&mut self) -> (Lead, Event) {
        let lead = std::mem::replace(&mut self.0, empty_lead());
        let event = std::mem::replace(
            &mut self.1,
            Event {
                id: String::new(),
                trigger: leadwire::bindings::types::Trigger::Created,
                changed: Vec::new(),
                at: 0,
            },
        );
        (lead, event)
    }
}

fn empty_lead() -> Lead {
    Lead {
        id: String::new(),
        source: String::new(),
        email: None,
        company_domain: None,
        owner: None,
        lifecycle_stage: None,
        fields: Vec::new(),
        activities: Vec::new(),
        created_at: None,
    }
}

fn ctx(env: &Arc<HostEnv>, plugin: &Plugin, event: &Event) -> CallContext {
    CallContext {
        env: env.clone(),
        namespace: plugin.name.as_str().into(),
        now: event.at,
    }
}

/// `time_each` in rounds of `round` calls, each on a state made (untimed) by `setup`.
fn time_rounds<S>(
    warmup: usize,
    iters: usize,
    round: usize,
    mut setup: impl FnMut() -> S,
    mut f: impl FnMut(&mut S, usize),
) -> Summary {
    let mut ns = Vec::with_capacity(iters);
    let mut n = 0;
    while ns.len() < iters {
        let mut state = setup();
        for _ in 0..round {
            let start = Instant::now();
            f(&mut state, n);
            let elapsed = start.elapsed().as_nanos() as u64;
            if n >= warmup && ns.len() < iters {
                ns.push(elapsed);
            }
            n += 1;
        }
    }
    Summary::of(ns)
}

/// Instantiation alone: a new store and an instance from a pre-instantiated
/// component, in the host's engine (same pooling allocator, fuel and epoch
/// settings), imports stubbed (instantiation calls none), then dropped — the
/// part of a fresh-instance call before the plugin's code runs, less the
/// host's WASI context.
fn instantiate_only(
    engine: &wasmtime::Engine,
    path: &Path,
    warmup: usize,
    iters: usize,
) -> Result<Summary> {
    let component = Component::from_file(engine, path)
        .map_err(|e| anyhow!("{e:#}"))
        .with_context(|| format!("compile {}", path.display()))?;
    let mut linker = Linker::<()>::new(engine);
    linker
        .define_unknown_imports_as_traps(&component)
        .map_err(|e| anyhow!("{e:#}"))?;
    let pre = linker
        .instantiate_pre(&component)
        .map_err(|e| anyhow!("{e:#}"))?;
    let mut failure = None;
    let summary = time_each(warmup, iters, |_| {
        let mut store = Store::new(engine, ());
        let _ = store.set_fuel(u64::MAX);
        store.set_epoch_deadline(1_000_000);
        if let Err(e) = pre.instantiate(&mut store) {
            failure = Some(format!("{e:#}"));
        }
    });
    match failure {
        Some(e) => Err(anyhow!("instantiate {}: {e}", path.display())),
        None => Ok(summary),
    }
}
