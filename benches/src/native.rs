//! The prebuilt plugins' logic compiled natively and called directly, through
//! the SDK's fake host (the harness plugin authors test with): the baseline a
//! wasm call is compared with.

use leadwire::bindings::types as host;
use leadwire::config::Config;
use leadwire_sdk::host::{Availability, Rep};
use leadwire_sdk::testing::FakeHost;
use leadwire_sdk::{Activity, Event, Field, Input, Lead, PriorStep, Trigger, Value, Verdict};
use leadwire_sdk::{Nurture, Routing, Scoring, Segmentation};

/// The four quickstart roles, in pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Scorer,
    Segmenter,
    Router,
    Nurture,
}

impl Step {
    pub const ALL: [Step; 4] = [Step::Scorer, Step::Segmenter, Step::Router, Step::Nurture];

    /// The install's name in examples/quickstart/leadwire.toml.
    pub fn install(self) -> &'static str {
        match self {
            Step::Scorer => "scorer",
            Step::Segmenter => "segmenter",
            Step::Router => "router",
            Step::Nurture => "nurture",
        }
    }

    /// The prebuilt plugin.
    pub fn plugin(self) -> &'static str {
        match self {
            Step::Scorer => "rules-scorer",
            Step::Segmenter => "segmenter",
            Step::Router => "territory-router",
            Step::Nurture => "nurture-exit",
        }
    }
}

/// One fake host per install: its config, and for the router the directory
/// and accounts of the config file.
pub struct NativeHosts {
    hosts: Vec<FakeHost>,
}

impl NativeHosts {
    pub fn new(config: &Config) -> NativeHosts {
        let hosts = Step::ALL
            .iter()
            .map(|step| {
                let plugin = &config.plugins[step.install()];
                let json = serde_json::to_value(&plugin.config).expect("config is JSON");
                let mut host = FakeHost::new().config_json(json);
                if *step == Step::Router {
                    for (team, t) in &config.directory.teams {
                        for id in &t.reps {
                            let id = id.get_ref();
                            let r = &config.directory.reps[id];
                            host = host.rep(
                                team,
                                Rep {
                                    id: id.clone(),
                                    name: r.name.clone().unwrap_or_else(|| id.clone()),
                                    email: r.email.clone(),
                                    weight: r.weight,
                                    daily_cap: r.daily_cap,
                                    availability: match &r.unavailable {
                                        Some(why) => Availability::Unavailable(why.clone()),
                                        None => Availability::Available,
                                    },
                                },
                            );
                        }
                    }
                    for (domain, account) in &config.accounts {
                        host = host.account(domain, &account.owner);
                    }
                }
                host
            })
            .collect();
        NativeHosts { hosts }
    }

    /// Call one step natively; `Err` is the plugin's own error.
    pub fn call(&self, step: Step, input: &Input) -> Result<Verdict, String> {
        let host = &self.hosts[step as usize];
        host.run(|| match step {
            Step::Scorer => rules_scorer::RulesScorer::score(input).map(Verdict::Score),
            Step::Segmenter => segmenter::Segmenter::segment(input).map(Verdict::Segmentation),
            Step::Router => territory_router::TerritoryRouter::route(input).map(Verdict::Routing),
            Step::Nurture => nurture_exit::NurtureExit::evaluate(input).map(Verdict::Nurture),
        })
        .map_err(|e| e.to_string())
    }

    /// The four steps in order, each seeing the verdicts before it, as the
    /// pipeline runs them (fail-closed and fail-open alike: an error skips the step).
    pub fn pipeline(&self, input: &Input) -> Vec<Result<Verdict, String>> {
        let mut input = input.clone();
        let mut out = Vec::with_capacity(4);
        for step in Step::ALL {
            let result = self.call(step, &input);
            if let Ok(verdict) = &result {
                input.prior.push(PriorStep {
                    step: step.install().into(),
                    plugin: step.install().into(),
                    verdict: verdict.clone(),
                });
            }
            out.push(result);
        }
        out
    }
}

fn value(v: &host::Value) -> Value {
    match v {
        host::Value::Null => Value::Null,
        host::Value::Text(s) => Value::Text(s.clone()),
        host::Value::Number(n) => Value::Number(*n),
        host::Value::Boolean(b) => Value::Boolean(*b),
        host::Value::Time(t) => Value::Time(*t),
        host::Value::List(l) => Value::List(l.clone()),
    }
}

fn fields(fields: &[host::Field]) -> Vec<Field> {
    fields
        .iter()
        .map(|f| Field {
            name: f.name.clone(),
            value: value(&f.value),
        })
        .collect()
}

/// The host's lead and event (what a wasm plugin receives) as the SDK's native input.
pub fn input(lead: &host::Lead, event: &host::Event) -> Input {
    Input {
        lead: Lead {
            id: lead.id.clone(),
            source: lead.source.clone(),
            email: lead.email.clone(),
            company_domain: lead.company_domain.clone(),
            owner: lead.owner.clone(),
            lifecycle_stage: lead.lifecycle_stage.clone(),
            fields: fields(&lead.fields),
            activities: lead
                .activities
                .iter()
                .map(|a| Activity {
                    kind: a.kind.clone(),
                    at: a.at,
                    properties: fields(&a.properties),
                })
                .collect(),
            created_at: lead.created_at,
        },
        event: Event {
            id: event.id.clone(),
            trigger: match &event.trigger {
                host::Trigger::Created => Trigger::Created,
                host::Trigger::Updated => Trigger::Updated,
                host::Trigger::SlaBreached(s) => Trigger::SlaBreached(s.clone()),
                host::Trigger::Rejected(s) => Trigger::Rejected(s.clone()),
            },
            changed: event.changed.clone(),
            at: event.at,
        },
        prior: Vec::new(),
    }
}
