//! territory-router: a prebuilt routing plugin configured entirely in TOML.
//!
//! In order:
//! 1. **Account owner**: a lead from a known account (email domain or company
//!    domain, free-mail providers excluded) goes to the account's owner, unless
//!    the directory says the owner is unavailable (then territories decide).
//! 2. **Keep the current owner** when `keep_existing_owner = true` and the lead has one.
//! 3. **Territories**, first match: country, region, industry, company size.
//!    The territory's team picks a rep by weighted round robin, skipping reps
//!    who are unavailable, have weight 0 or reached their daily cap.
//! 4. Nothing placed the lead: `fallback_queue` if set, else `unrouted`, always
//!    with the reason. A lead is never dropped silently.
//!
//! When the event is an SLA breach or a rejection, the lead's current owner is
//! never kept nor chosen again, nor the owners before (up to
//! `exclude_previous_owners` in all, from the host's
//! `leadwire_previous_owners` field).
//!
//! Grants: `state` (rotation counts), `directory` (teams, reps), `accounts`.

mod account;
mod config;
mod day;
mod domains;
mod rotation;
mod territory;

use leadwire_sdk::host::{self, Level};
use leadwire_sdk::*;

use config::Config;

pub struct TerritoryRouter;

impl Routing for TerritoryRouter {
    fn route(input: &Input) -> Result<RouteVerdict> {
        host::with_config(&CONFIG, Config::load, |config| route_with(config, input))
    }
}

static CONFIG: std::sync::OnceLock<Config> = std::sync::OnceLock::new();

fn route_with(config: &Config, input: &Input) -> Result<RouteVerdict> {
    let skip = reassigning(input, config.exclude_previous_owners());
    let mut candidates = Vec::new();

    if config.accounts.enabled {
        match account::route(input, &config.accounts, &skip) {
            account::Outcome::Assign(verdict) => return Ok(verdict),
            account::Outcome::FallThrough(candidate) => candidates.push(candidate),
            account::Outcome::NoAccount => {}
        }
    }

    if let Some(owner) =
        current_owner(input).filter(|_| config.keep_existing_owner && skip.is_empty())
    {
        candidates.push(Candidate::new(owner, true, "current owner kept"));
        return Ok(RouteVerdict {
            route: Route::KeepCurrent(format!(
                "lead already owned by {owner} (keep_existing_owner = true)"
            )),
            candidates,
        });
    }

    let lead = &input.lead;
    let Some((t, why)) = territory::first_match(lead, &config.fields, &config.territories) else {
        let looked_at = territory::describe(lead, &config.fields);
        return Ok(park(
            config,
            format!("no territory matched ({looked_at})"),
            candidates,
        ));
    };
    let rule = t.rule();
    let Some(team) = host::directory::team(&t.team) else {
        host::log(
            Level::Warn,
            &format!(
                "territory {rule} names team {}, which is not in the directory",
                t.team
            ),
        );
        return Ok(park(
            config,
            format!(
                "{rule} matched ({why}), but team {} is not in the directory",
                t.team
            ),
            candidates,
        ));
    };
    let pick = rotation::pick(&team, input.now(), &skip);
    candidates.extend(pick.candidates);
    Ok(match pick.chosen {
        Some(owner) => RouteVerdict {
            route: Route::Assign(Assignment {
                owner,
                team: Some(team.name.clone()),
                rule,
                reason: format!("{why}; {}", pick.reason),
            }),
            candidates,
        },
        None => park(
            config,
            format!("{rule} matched ({why}), but {}", pick.reason),
            candidates,
        ),
    })
}

fn current_owner(input: &Input) -> Option<&str> {
    input.lead.owner.as_deref().filter(|o| !o.trim().is_empty())
}

/// The host's list of the lead's owners before the current one, newest
/// first (`;`-separated), on a reassignment.
const PREVIOUS_OWNERS: &str = "leadwire_previous_owners";

/// Reps who must not get the lead, and why.
#[derive(Debug, Default)]
pub struct Skip(Vec<(String, String)>);

impl Skip {
    pub fn why(&self, rep: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(id, _)| id == rep)
            .map(|(_, why)| why.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// On an SLA breach or a rejection, the current owner must not get the lead
/// back, nor the `last` − 1 owners before them.
fn reassigning(input: &Input, last: usize) -> Skip {
    let Some(owner) = current_owner(input) else {
        return Skip::default();
    };
    let why = match &input.event.trigger {
        Trigger::SlaBreached(sla) => format!("current owner, SLA {sla} breached"),
        Trigger::Rejected(reason) => format!("current owner, rejected the lead: {reason}"),
        Trigger::Created | Trigger::Updated => return Skip::default(),
    };
    let mut skip = vec![(owner.to_string(), why)];
    let before = input.lead.text(PREVIOUS_OWNERS).unwrap_or_default();
    for rep in before.split(';').map(str::trim).filter(|r| !r.is_empty()) {
        if skip.len() >= last.max(1) {
            break;
        }
        if skip.iter().all(|(id, _)| id != rep) {
            skip.push((
                rep.to_string(),
                format!("had the lead before (exclude_previous_owners = {last})"),
            ));
        }
    }
    Skip(skip)
}

/// No rule placed the lead: the fallback queue if there is one, else unrouted.
fn park(config: &Config, reason: String, candidates: Vec<Candidate>) -> RouteVerdict {
    let route = match &config.fallback_queue {
        Some(queue) => Route::Queue(Queued {
            queue: queue.clone(),
            reason,
        }),
        None => Route::Unrouted(reason),
    };
    RouteVerdict { route, candidates }
}

export!(TerritoryRouter: routing, init = preload);

/// Run once per install by the host, which snapshots the result: fresh
/// instances start with the config parsed.
fn preload() {
    host::preload(&CONFIG, Config::load)
}

#[cfg(test)]
mod tests;
