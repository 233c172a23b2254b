//! Pipelines: ordered steps, each a plugin role with a failure policy, loaded
//! from a [`Config`] into a ready-to-run set, and run into a [`Decision`].

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::bindings::types::{Event, Input, Lead, PriorStep};
use crate::bindings::v0_2_0::EncodedInput;
use crate::capabilities::{Accounts, CallContext, Directory, HostEnv, StateStore};
use crate::config::{Config, OnError};
use crate::decision::{Decision, DecisionStatus, RouteAction, StepRecord, VerdictOut};
use crate::error::LoadError;
use crate::lead::trigger_name;
use crate::runtime::{CallOutcome, Plugin, Role, Runtime, WarmInstance, plugin::Install};

pub struct Step {
    pub name: String,
    pub plugin: Arc<Plugin>,
    pub role: Role,
    pub on_error: OnError,
}

pub struct Pipeline {
    pub name: String,
    pub steps: Vec<Step>,
}

/// Everything a config file loads into: plugins compiled and linked, pipelines
/// resolved, capabilities ready. Immutable: a reload builds a new one.
pub struct Pipelines {
    runtime: Arc<Runtime>,
    pub plugins: BTreeMap<String, Arc<Plugin>>,
    pub pipelines: BTreeMap<String, Pipeline>,
    env: Arc<HostEnv>,
}

/// Everything wrong with a configuration's plugins and pipelines, all at once.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct LoadErrors(pub Vec<LoadProblem>);

#[derive(Debug, thiserror::Error)]
pub enum LoadProblem {
    #[error(transparent)]
    Plugin(#[from] LoadError),
    #[error("pipeline `{pipeline}`, step `{step}`: {message}")]
    Step {
        pipeline: String,
        step: String,
        message: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("no pipeline named `{name}` (defined: {known})")]
    UnknownPipeline { name: String, known: String },
}

impl Pipelines {
    pub fn load(
        config: &Config,
        runtime: Arc<Runtime>,
        state: Arc<dyn StateStore>,
    ) -> Result<Pipelines, LoadErrors> {
        let mut problems = Vec::new();
        let mut plugins = BTreeMap::new();
        for (name, plugin) in &config.plugins {
            let grants: Vec<String> = plugin.grants.iter().map(|g| g.get_ref().clone()).collect();
            let install = Install {
                name,
                path: &config.plugin_path(plugin),
                sha256: plugin.sha256.as_deref(),
                grants: &grants,
                limits: crate::runtime::Limits::layered(&config.limits, &plugin.limits),
                config_json: serde_json::to_string(&plugin.config).unwrap_or_else(|_| "{}".into()),
            };
            match Plugin::load(runtime.engine(), install) {
                Ok(loaded) => {
                    plugins.insert(name.clone(), Arc::new(loaded));
                }
                Err(e) => problems.push(LoadProblem::Plugin(e)),
            }
        }

        let mut pipelines = BTreeMap::new();
        for (name, pipeline) in &config.pipelines {
            let mut steps = Vec::new();
            for step in &pipeline.steps {
                let plugin_name = step.plugin.get_ref();
                let step_name = step.name.clone().unwrap_or_else(|| plugin_name.clone());
                // A plugin that failed to load has its own problem reported.
                let Some(plugin) = plugins.get(plugin_name) else {
                    continue;
                };
                let exported = &plugin.info.roles;
                let list = exported
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(", ");
                let problem = |message: String| LoadProblem::Step {
                    pipeline: name.clone(),
                    step: step_name.clone(),
                    message,
                };
                let role = match &step.role {
                    Some(role) => {
                        let role = *role.get_ref();
                        if !exported.contains(&role) {
                            problems.push(problem(format!(
                                "plugin `{plugin_name}` does not export the {role} role (it exports: {list})"
                            )));
                            continue;
                        }
                        role
                    }
                    None if exported.len() == 1 => exported[0],
                    None => {
                        problems.push(problem(format!(
                            "plugin `{plugin_name}` exports several roles ({list}): say which with `role = \"...\"`"
                        )));
                        continue;
                    }
                };
                steps.push(Step {
                    name: step_name,
                    plugin: plugin.clone(),
                    role,
                    on_error: step.on_error,
                });
            }
            pipelines.insert(
                name.clone(),
                Pipeline {
                    name: name.clone(),
                    steps,
                },
            );
        }

        if !problems.is_empty() {
            return Err(LoadErrors(problems));
        }
        let env = Arc::new(HostEnv {
            state,
            directory: Directory::from_config(&config.directory),
            accounts: Accounts::from_config(&config.accounts),
        });
        Ok(Pipelines {
            runtime,
            plugins,
            pipelines,
            env,
        })
    }

    pub fn pipeline(&self, name: &str) -> Result<&Pipeline, RunError> {
        self.pipelines
            .get(name)
            .ok_or_else(|| RunError::UnknownPipeline {
                name: name.to_string(),
                known: self
                    .pipelines
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Run a pipeline on a lead, each step in a fresh instance. Plugin failures
    /// are in the decision, per each step's policy; only an unknown pipeline is
    /// an error here.
    pub fn run(&self, pipeline: &str, lead: Lead, event: Event) -> Result<Decision, RunError> {
        self.run_with(pipeline, lead, event, |step, input, encoded, ctx| {
            step.plugin
                .call_encoded(self.runtime.engine(), step.role, input, encoded, ctx)
        })
    }

    /// A runner that keeps one warm instance per plugin across its runs (see
    /// [`WarmInstance`]): for bulk runs, one per thread.
    pub fn worker(&self) -> Worker<'_> {
        Worker {
            pipelines: self,
            warm: BTreeMap::new(),
        }
    }

    fn run_with(
        &self,
        pipeline: &str,
        lead: Lead,
        event: Event,
        mut call: impl FnMut(&Step, &Input, &[u8], CallContext) -> CallOutcome,
    ) -> Result<Decision, RunError> {
        let pipeline = self.pipeline(pipeline)?;
        let mut decision = Decision::new(
            &event.id,
            &lead.id,
            &lead.source,
            &pipeline.name,
            trigger_name(&event.trigger),
            event.at,
        );
        let now = event.at;
        let ctx = |plugin: &Plugin| CallContext {
            env: self.env.clone(),
            namespace: plugin.name.as_str().into(),
            now,
        };
        // Encoded once for every step (a 0.2.0 plugin's form); each verdict
        // is added as it joins `prior`.
        let mut encoded = EncodedInput::new(&lead, &event);
        let mut input = Input {
            lead,
            event,
            prior: Vec::new(),
        };
        for step in &pipeline.steps {
            let outcome = call(step, &input, encoded.bytes(), ctx(&step.plugin));
            let mut record = StepRecord {
                step: step.name.clone(),
                plugin: step.plugin.name.clone(),
                sha256: step.plugin.info.sha256.clone(),
                role: step.role,
                on_error: step.on_error,
                verdict: None,
                error: None,
                metrics: outcome.metrics,
            };
            match outcome.result {
                Ok((verdict, out)) => {
                    apply(&mut decision, &out);
                    record.verdict = Some(out);
                    let prior = PriorStep {
                        step: step.name.clone(),
                        plugin: step.plugin.name.clone(),
                        verdict,
                    };
                    encoded.push_prior(&prior);
                    input.prior.push(prior);
                    decision.steps.push(record);
                }
                Err(error) => {
                    tracing::warn!(decision = %decision.id, step = %step.name, kind = error.kind(), "{error}");
                    let closed = step.on_error == OnError::FailClosed;
                    if closed {
                        decision.status = DecisionStatus::Error;
                        decision.error = Some(format!("step `{}` failed: {error}", step.name));
                        decision.transient = error.is_transient();
                    }
                    record.error = Some(error);
                    decision.steps.push(record);
                    if closed {
                        break;
                    }
                }
            }
        }
        Ok(decision)
    }
}

/// Runs pipelines with warm instances; see [`Pipelines::worker`].
pub struct Worker<'p> {
    pipelines: &'p Pipelines,
    warm: BTreeMap<String, WarmInstance>,
}

impl Worker<'_> {
    pub fn run(&mut self, pipeline: &str, lead: Lead, event: Event) -> Result<Decision, RunError> {
        let engine = self.pipelines.runtime.engine();
        let warm = &mut self.warm;
        self.pipelines
            .run_with(pipeline, lead, event, |step, input, encoded, ctx| {
                // Look up first: no key allocated per call.
                if !warm.contains_key(&step.plugin.name) {
                    let instance = WarmInstance::new(step.plugin.clone());
                    warm.insert(step.plugin.name.clone(), instance);
                }
                match warm.get_mut(&step.plugin.name) {
                    Some(instance) => {
                        instance.call_encoded(engine, step.role, input, Some(encoded), ctx)
                    }
                    None => step
                        .plugin
                        .call_encoded(engine, step.role, input, encoded, ctx),
                }
            })
    }
}

/// Fold a step's verdict into the decision's summary: the latest of each kind wins.
fn apply(decision: &mut Decision, verdict: &VerdictOut) {
    match verdict {
        VerdictOut::Score(s) => decision.score = Some(s.clone()),
        VerdictOut::Segmentation(s) => {
            decision.segments = s.segments.clone();
            if s.lifecycle_stage.is_some() {
                decision.lifecycle_stage = s.lifecycle_stage.clone();
                decision.stage_reason = s.stage_reason.clone();
            }
        }
        VerdictOut::Routing(r) => {
            decision.owner = match &r.action {
                RouteAction::Assign { owner, .. } => Some(owner.clone()),
                _ => None,
            };
            decision.route = Some(r.clone());
        }
        VerdictOut::Nurture(n) => decision.nurture = Some(n.clone()),
    }
}
