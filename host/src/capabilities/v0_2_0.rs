//! The capabilities of contract 0.2.0: the same interfaces as 0.1.0's, whose
//! implementations (the other files here) serve them through these
//! conversions between the two versions' generated types.

use super::Capabilities;
use crate::bindings::v0_1_0::leadwire::plugin as v1;
use crate::bindings::v0_2_0::leadwire::plugin::{accounts, config, directory, log, state};

impl log::Host for Capabilities {
    fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            log::Level::Debug => v1::log::Level::Debug,
            log::Level::Info => v1::log::Level::Info,
            log::Level::Warn => v1::log::Level::Warn,
            log::Level::Error => v1::log::Level::Error,
        };
        v1::log::Host::log(self, level, message)
    }
}

impl config::Host for Capabilities {
    fn get(&mut self) -> wasmtime::Result<String> {
        v1::config::Host::get(self)
    }
}

impl state::Host for Capabilities {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        v1::state::Host::get(self, key)
    }

    fn set(&mut self, key: String, value: String) -> wasmtime::Result<()> {
        v1::state::Host::set(self, key, value)
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        v1::state::Host::delete(self, key)
    }

    fn increment(&mut self, key: String, delta: i64) -> wasmtime::Result<i64> {
        v1::state::Host::increment(self, key, delta)
    }

    fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<String>,
        new: String,
    ) -> wasmtime::Result<bool> {
        v1::state::Host::compare_and_swap(self, key, expected, new)
    }
}

fn rep(rep: v1::directory::Rep) -> directory::Rep {
    directory::Rep {
        id: rep.id,
        name: rep.name,
        email: rep.email,
        weight: rep.weight,
        daily_cap: rep.daily_cap,
        availability: match rep.availability {
            v1::directory::Availability::Available => directory::Availability::Available,
            v1::directory::Availability::Unavailable(why) => {
                directory::Availability::Unavailable(why)
            }
        },
    }
}

impl directory::Host for Capabilities {
    fn get_team(&mut self, name: String) -> wasmtime::Result<Option<directory::Team>> {
        let team = v1::directory::Host::get_team(self, name)?;
        Ok(team.map(|team| directory::Team {
            name: team.name,
            reps: team.reps.into_iter().map(rep).collect(),
        }))
    }

    fn get_rep(&mut self, id: String) -> wasmtime::Result<Option<directory::Rep>> {
        Ok(v1::directory::Host::get_rep(self, id)?.map(rep))
    }
}

impl accounts::Host for Capabilities {
    fn by_domain(&mut self, domain: String) -> wasmtime::Result<Option<accounts::Account>> {
        let account = v1::accounts::Host::by_domain(self, domain)?;
        Ok(account.map(|a| accounts::Account {
            domain: a.domain,
            name: a.name,
            owner: a.owner,
        }))
    }
}
