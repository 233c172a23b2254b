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
//! never kept nor chosen again.
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
    let skip = reassigning(input);
    let skip = skip.as_ref().map(|(id, why)| (*id, why.as_str()));
    let mut candidates = Vec::new();

    if config.accounts.enabled {
        match account::route(input, &config.accounts, skip) {
            account::Outcome::Assign(verdict) => return Ok(verdict),
            account::Outcome::FallThrough(candidate) => candidates.push(candidate),
            account::Outcome::NoAccount => {}
        }
    }

    if let Some(owner) =
        current_owner(input).filter(|_| config.keep_existing_owner && skip.is_none())
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
    let pick = rotation::pick(&team, input.now(), skip);
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

/// On an SLA breach or a rejection, the current owner must not get the lead back.
fn reassigning(input: &Input) -> Option<(&str, String)> {
    let owner = current_owner(input)?;
    let why = match &input.event.trigger {
        Trigger::SlaBreached(sla) => format!("current owner, SLA {sla} breached"),
        Trigger::Rejected(reason) => format!("current owner, rejected the lead: {reason}"),
        Trigger::Created | Trigger::Updated => return None,
    };
    Some((owner, why))
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

export!(TerritoryRouter: routing);

#[cfg(test)]
mod tests;
