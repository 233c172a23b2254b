//! A native test harness: run plugin logic with plain `cargo test`, no wasm,
//! against a fake host holding config, state, directory, accounts and logs.
//!
//! ```ignore
//! let host = FakeHost::new().config_toml(r#"threshold = 50"#);
//! let input = lead("1").field("jobtitle", "VP Sales").input_at(NOW);
//! let verdict = host.run(|| MyScorer::score(&input)).unwrap();
//! assert_eq!(verdict.value, 20.0);
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::bindings::leadwire::plugin::accounts::Account;
use crate::bindings::leadwire::plugin::directory::{Availability, Rep, Team};
use crate::bindings::leadwire::plugin::log::Level;
use crate::types::*;

/// A fixed "now" for tests: 2026-01-15T12:00:00Z.
pub const NOW: i64 = 1_768_478_400_000;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Inner>>> = const { RefCell::new(None) };
}

pub(crate) fn with_host<R>(f: impl FnOnce(&Inner) -> R) -> R {
    let host = CURRENT.with(|c| c.borrow().clone());
    let host = host.expect(
        "a leadwire host function was called outside FakeHost::run: wrap the plugin call in host.run(|| ...)",
    );
    f(&host)
}

#[derive(Default)]
pub(crate) struct Inner {
    config: RefCell<String>,
    state: RefCell<BTreeMap<String, String>>,
    teams: RefCell<BTreeMap<String, Vec<String>>>,
    reps: RefCell<BTreeMap<String, Rep>>,
    accounts: RefCell<BTreeMap<String, Account>>,
    logs: RefCell<Vec<(Level, String)>>,
    /// Configs parsed by `host::with_config`, by the address of the plugin's
    /// cell: parsed once per host, as a pre-initialised wasm install does.
    parsed: RefCell<BTreeMap<usize, Rc<dyn std::any::Any>>>,
}

impl Inner {
    pub(crate) fn log(&self, level: Level, message: &str) {
        self.logs.borrow_mut().push((level, message.to_string()));
    }
    pub(crate) fn config_json(&self) -> String {
        self.config.borrow().clone()
    }
    /// The config parsed by `load`, once per host and cell (a failed parse is
    /// not kept: each call reports it).
    pub(crate) fn parsed<T: 'static>(
        &self,
        cell: usize,
        load: fn() -> crate::Result<T>,
    ) -> crate::Result<Rc<T>> {
        let cached = self.parsed.borrow().get(&cell).cloned();
        if let Some(config) = cached.and_then(|c| c.downcast::<T>().ok()) {
            return Ok(config);
        }
        // `load` reads the config through this host: no borrow held here.
        let config = Rc::new(load()?);
        self.parsed.borrow_mut().insert(cell, config.clone());
        Ok(config)
    }
    pub(crate) fn state_get(&self, key: &str) -> Option<String> {
        self.state.borrow().get(key).cloned()
    }
    pub(crate) fn state_set(&self, key: &str, value: &str) {
        self.state.borrow_mut().insert(key.into(), value.into());
    }
    pub(crate) fn state_delete(&self, key: &str) {
        self.state.borrow_mut().remove(key);
    }
    pub(crate) fn state_increment(&self, key: &str, delta: i64) -> i64 {
        let mut state = self.state.borrow_mut();
        let current: i64 = state.get(key).and_then(|v| v.parse().ok()).unwrap_or(0);
        let new = current + delta;
        state.insert(key.into(), new.to_string());
        new
    }
    pub(crate) fn state_cas(&self, key: &str, expected: Option<&str>, new: &str) -> bool {
        let mut state = self.state.borrow_mut();
        if state.get(key).map(String::as_str) != expected {
            return false;
        }
        state.insert(key.into(), new.into());
        true
    }
    pub(crate) fn team(&self, name: &str) -> Option<Team> {
        let members = self.teams.borrow().get(name).cloned()?;
        let reps = self.reps.borrow();
        Some(Team {
            name: name.into(),
            reps: members
                .iter()
                .filter_map(|id| reps.get(id).cloned())
                .collect(),
        })
    }
    pub(crate) fn rep(&self, id: &str) -> Option<Rep> {
        self.reps.borrow().get(id).cloned()
    }
    pub(crate) fn account(&self, domain: &str) -> Option<Account> {
        self.accounts.borrow().get(domain).cloned()
    }
}

/// The host a plugin sees in native tests.
pub struct FakeHost {
    inner: Rc<Inner>,
}

impl Default for FakeHost {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeHost {
    pub fn new() -> Self {
        let inner = Inner::default();
        *inner.config.borrow_mut() = "{}".into();
        FakeHost {
            inner: Rc::new(inner),
        }
    }

    /// The install's config, written as in leadwire.toml's `config` table.
    pub fn config_toml(self, text: &str) -> Self {
        let value: toml::Value =
            toml::from_str(text).unwrap_or_else(|e| panic!("config TOML: {e}"));
        let json = serde_json::to_string(&value).expect("TOML converts to JSON");
        *self.inner.config.borrow_mut() = json;
        self.inner.parsed.borrow_mut().clear();
        self
    }

    pub fn config_json(self, value: serde_json::Value) -> Self {
        *self.inner.config.borrow_mut() = value.to_string();
        self.inner.parsed.borrow_mut().clear();
        self
    }

    /// Add a rep to a team (creating the team).
    pub fn rep(self, team: &str, rep: Rep) -> Self {
        self.inner
            .teams
            .borrow_mut()
            .entry(team.into())
            .or_default()
            .push(rep.id.clone());
        self.inner.reps.borrow_mut().insert(rep.id.clone(), rep);
        self
    }

    pub fn account(self, domain: &str, owner: &str) -> Self {
        self.inner.accounts.borrow_mut().insert(
            domain.into(),
            Account {
                domain: domain.into(),
                name: None,
                owner: owner.into(),
            },
        );
        self
    }

    pub fn state(self, key: &str, value: &str) -> Self {
        self.inner.state_set(key, value);
        self
    }

    /// Run plugin code with this host installed on the current thread.
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore(Option<Rc<Inner>>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let previous = self.0.take();
                CURRENT.with(|c| *c.borrow_mut() = previous);
            }
        }
        let previous = CURRENT.with(|c| c.borrow_mut().replace(self.inner.clone()));
        let _restore = Restore(previous);
        f()
    }

    /// Everything logged so far, as `LEVEL message`.
    pub fn logs(&self) -> Vec<String> {
        self.inner
            .logs
            .borrow()
            .iter()
            .map(|(level, m)| format!("{} {m}", level_name(*level)))
            .collect()
    }

    pub fn get_state(&self, key: &str) -> Option<String> {
        self.inner.state_get(key)
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Debug => "DEBUG",
        Level::Info => "INFO",
        Level::Warn => "WARN",
        Level::Error => "ERROR",
    }
}

/// A rep with weight 1, no cap, available.
pub fn rep(id: &str) -> Rep {
    Rep {
        id: id.into(),
        name: id.into(),
        email: None,
        weight: 1,
        daily_cap: None,
        availability: Availability::Available,
    }
}

/// Start building a lead with this id.
pub fn lead(id: &str) -> LeadBuilder {
    LeadBuilder {
        lead: Lead {
            id: id.into(),
            source: "test".into(),
            email: None,
            company_domain: None,
            owner: None,
            lifecycle_stage: None,
            fields: Vec::new(),
            activities: Vec::new(),
            created_at: None,
        },
    }
}

pub struct LeadBuilder {
    lead: Lead,
}

impl LeadBuilder {
    pub fn email(mut self, email: &str) -> Self {
        self.lead.email = Some(email.into());
        self
    }
    pub fn company_domain(mut self, domain: &str) -> Self {
        self.lead.company_domain = Some(domain.into());
        self
    }
    pub fn owner(mut self, owner: &str) -> Self {
        self.lead.owner = Some(owner.into());
        self
    }
    pub fn stage(mut self, stage: &str) -> Self {
        self.lead.lifecycle_stage = Some(stage.into());
        self
    }
    pub fn created_at(mut self, at: i64) -> Self {
        self.lead.created_at = Some(at);
        self
    }
    /// Set a field (replacing an earlier value of the same name).
    pub fn field(mut self, name: &str, value: impl Into<Value>) -> Self {
        let value = value.into();
        match self.lead.fields.iter_mut().find(|f| f.name == name) {
            Some(field) => field.value = value,
            None => self.lead.fields.push(Field {
                name: name.into(),
                value,
            }),
        }
        self
    }
    pub fn activity(self, kind: &str, at: i64) -> Self {
        self.activity_with(kind, at, Vec::new())
    }
    pub fn activity_with(mut self, kind: &str, at: i64, properties: Vec<(&str, Value)>) -> Self {
        self.lead.activities.push(Activity {
            kind: kind.into(),
            at,
            properties: properties
                .into_iter()
                .map(|(name, value)| Field {
                    name: name.into(),
                    value,
                })
                .collect(),
        });
        self
    }
    pub fn build(self) -> Lead {
        self.lead
    }
    /// The input of a `created` event at `at`.
    pub fn input_at(self, at: i64) -> Input {
        input(self.lead, Trigger::Created, at)
    }
}

pub fn input(lead: Lead, trigger: Trigger, at: i64) -> Input {
    Input {
        lead,
        event: Event {
            id: "test-event".into(),
            trigger,
            changed: Vec::new(),
            at,
        },
        prior: Vec::new(),
    }
}

impl Input {
    /// Add an earlier step's verdict (tests of steps that read earlier verdicts).
    pub fn with_prior(mut self, step: &str, verdict: Verdict) -> Self {
        self.prior.push(PriorStep {
            step: step.into(),
            plugin: step.into(),
            verdict,
        });
        self
    }
}
