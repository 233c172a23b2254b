//! `directory`: reps and teams. From the config file for now; the shape is the
//! contract's, so a live directory can replace it without touching plugins.

use std::collections::BTreeMap;

use super::Capabilities;
use crate::bindings::leadwire::plugin::directory::{Availability, Host, Rep, Team};
use crate::config::DirectoryConfig;

#[derive(Default)]
pub struct Directory {
    teams: BTreeMap<String, Vec<String>>,
    reps: BTreeMap<String, Rep>,
}

impl Directory {
    pub fn from_config(config: &DirectoryConfig) -> Directory {
        let reps = config
            .reps
            .iter()
            .map(|(id, r)| {
                let rep = Rep {
                    id: id.clone(),
                    name: r.name.clone().unwrap_or_else(|| id.clone()),
                    email: r.email.clone(),
                    weight: r.weight,
                    daily_cap: r.daily_cap,
                    availability: match &r.unavailable {
                        Some(reason) => Availability::Unavailable(reason.clone()),
                        None => Availability::Available,
                    },
                };
                (id.clone(), rep)
            })
            .collect();
        let teams = config
            .teams
            .iter()
            .map(|(name, t)| {
                (
                    name.clone(),
                    t.reps.iter().map(|r| r.get_ref().clone()).collect(),
                )
            })
            .collect();
        Directory { teams, reps }
    }

    pub fn team(&self, name: &str) -> Option<Team> {
        let members = self.teams.get(name)?;
        Some(Team {
            name: name.to_string(),
            reps: members
                .iter()
                .filter_map(|id| self.reps.get(id).cloned())
                .collect(),
        })
    }
}

impl Host for Capabilities {
    fn get_team(&mut self, name: String) -> wasmtime::Result<Option<Team>> {
        self.host_call("directory.get-team", |s| {
            Ok(s.ctx.env.directory.team(&name))
        })
    }

    fn get_rep(&mut self, id: String) -> wasmtime::Result<Option<Rep>> {
        self.host_call("directory.get-rep", |s| {
            Ok(s.ctx.env.directory.reps.get(&id).cloned())
        })
    }
}
