//! Weighted round robin within a team, kept in host state.
//!
//! Each rep has a load: leads this install assigned them from this team's
//! rotation (`rr:{team}:{rep}`). The eligible rep with the lowest load/weight gets
//! the lead, ties going to the rep listed first, so over many leads each rep's
//! share is proportional to their weight, and the choice is a pure function of
//! the state. Editing the team never resets anyone's load.
//!
//! A rep more than one full round behind the least-loaded other eligible rep (a
//! rep just added to the team, or back from leave) is raised to that rep's level
//! first, so they rejoin the rotation instead of receiving a flood of leads. In
//! normal rotation no rep is ever that far behind, so nobody else is affected.
//!
//! Reps marked unavailable by the directory, with weight 0, or at their daily cap
//! (`day:{yyyy-mm-dd}:{rep}`, UTC day of the event) are skipped. Counts only move
//! through the host's atomic `increment` and `compare-and-swap`, so replicas
//! routing at the same time never lose or double-count an assignment, and a cap
//! is never exceeded: the day's slot is reserved before the lead is given.

use leadwire_sdk::host::{self, Availability, Rep, Team};
use leadwire_sdk::{Candidate, DAY_MS};

use crate::Skip;
use crate::day;

pub fn rr_key(team: &str, rep: &str) -> String {
    format!("rr:{team}:{rep}")
}

pub fn day_key(at_ms: i64, rep: &str) -> String {
    format!("day:{}:{rep}", day::date(at_ms))
}

fn read(key: &str) -> (Option<String>, i64) {
    let raw = host::state::get(key);
    let n = raw
        .as_deref()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (raw, n)
}

/// Count one assignment for `rep` on the day of `at_ms`; returns the day's count.
/// The first assignment of a day also drops the rep's count of two days before.
pub fn count_day(at_ms: i64, rep: &str) -> i64 {
    let n = host::state::increment(&day_key(at_ms, rep), 1);
    if n == 1 {
        host::state::delete(&day_key(at_ms - 2 * DAY_MS, rep));
    }
    n
}

enum Status {
    Skipped(String),
    Eligible {
        load: i64,
        /// The stored text `load` was read from: what the compare-and-swap expects.
        raw: Option<String>,
        raised_from: Option<i64>,
    },
    Chosen {
        load: i64,
        raised_from: Option<i64>,
        today: i64,
    },
}

struct Slot<'a> {
    rep: &'a Rep,
    status: Status,
}

impl Slot<'_> {
    fn load(&self) -> Option<i64> {
        match self.status {
            Status::Eligible { load, .. } => Some(load),
            _ => None,
        }
    }
}

/// `a_load / a_weight < b_load / b_weight`, exactly.
fn lighter(a: (i64, u32), b: (i64, u32)) -> bool {
    i128::from(a.0) * i128::from(b.1) < i128::from(b.0) * i128::from(a.1)
}

pub struct Outcome {
    /// The chosen rep's id.
    pub chosen: Option<String>,
    /// Why that rep, or why nobody.
    pub reason: String,
    pub candidates: Vec<Candidate>,
}

/// Choose a rep of `team` for a lead arriving at `now`, skipping `skip` (rep ids
/// and why) on top of the directory's own reasons.
pub fn pick(team: &Team, now: i64, skip: &Skip) -> Outcome {
    let mut attempt = 0;
    'attempt: loop {
        attempt += 1;
        let mut slots: Vec<Slot> = Vec::new();
        for rep in &team.reps {
            if slots.iter().any(|s| s.rep.id == rep.id) {
                continue;
            }
            slots.push(Slot {
                rep,
                status: classify(team, rep, now, skip),
            });
        }
        raise_stragglers(team, &mut slots);

        while let Some(i) = lightest(&slots) {
            let rep = slots[i].rep;
            let Status::Eligible {
                load,
                ref raw,
                raised_from,
            } = slots[i].status
            else {
                break;
            };
            // Reserve today's slot first: with several replicas, only the increment is atomic.
            let today = count_day(now, &rep.id);
            if let Some(cap) = rep.daily_cap.filter(|&cap| today > i64::from(cap)) {
                host::state::increment(&day_key(now, &rep.id), -1);
                slots[i].status = Status::Skipped(format!("daily cap {cap} reached"));
                continue;
            }
            // Take the lead only if the rep's load is still what we chose on: if
            // another replica assigned them meanwhile, choose again on fresh
            // loads. A rep whose load did not move is still the lightest (loads
            // only grow), so each lead goes to a current minimum and equal
            // weights never drift apart by more than one.
            let key = rr_key(&team.name, &rep.id);
            let next = (load + 1).to_string();
            if !host::state::compare_and_swap(&key, raw.as_deref(), &next) {
                if attempt < MAX_ATTEMPTS {
                    host::state::increment(&day_key(now, &rep.id), -1);
                    continue 'attempt;
                }
                // Heavy contention: assign anyway rather than drop the lead.
                host::state::increment(&key, 1);
            }
            slots[i].status = Status::Chosen {
                load,
                raised_from,
                today,
            };
            break;
        }
        return outcome(team, &slots);
    }
}

/// How often `pick` re-chooses when other replicas keep winning the race.
const MAX_ATTEMPTS: u32 = 16;

fn classify(team: &Team, rep: &Rep, now: i64, skip: &Skip) -> Status {
    if let Some(why) = skip.why(&rep.id) {
        return Status::Skipped(why.to_string());
    }
    if let Availability::Unavailable(why) = &rep.availability {
        return Status::Skipped(format!("unavailable: {why}"));
    }
    if rep.weight == 0 {
        return Status::Skipped("weight 0: takes no new leads".into());
    }
    if let Some(cap) = rep.daily_cap
        && read(&day_key(now, &rep.id)).1 >= i64::from(cap)
    {
        return Status::Skipped(format!("daily cap {cap} reached"));
    }
    let (raw, load) = read(&rr_key(&team.name, &rep.id));
    Status::Eligible {
        load,
        raw,
        raised_from: None,
    }
}

/// Raise each eligible rep that is more than one round behind the least-loaded
/// other eligible rep to that rep's level (compare-and-swap: a concurrent change
/// wins, and we use what it wrote).
fn raise_stragglers(team: &Team, slots: &mut [Slot]) {
    let loads: Vec<Option<(i64, u32)>> = slots
        .iter()
        .map(|s| s.load().map(|l| (l, s.rep.weight)))
        .collect();
    for (i, slot) in slots.iter_mut().enumerate() {
        let Some((load, w)) = loads[i] else { continue };
        let others = loads
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .filter_map(|(_, l)| *l);
        let Some((lo, lw)) = others.reduce(|a, b| if lighter(b, a) { b } else { a }) else {
            continue;
        };
        // load/w < lo/lw - 1, in integers.
        let behind =
            i128::from(load) * i128::from(lw) < (i128::from(lo) - i128::from(lw)) * i128::from(w);
        if !behind {
            continue;
        }
        let target =
            i64::try_from(i128::from(lo) * i128::from(w)).unwrap_or(i64::MAX) / i64::from(lw);
        let key = rr_key(&team.name, &slot.rep.id);
        let (raw, current) = read(&key);
        let (raw, load) = if current == load
            && host::state::compare_and_swap(&key, raw.as_deref(), &target.to_string())
        {
            (Some(target.to_string()), target)
        } else {
            read(&key)
        };
        slot.status = Status::Eligible {
            load,
            raw,
            raised_from: Some(current),
        };
    }
}

/// The eligible rep with the lowest load per weight; ties go to the first listed.
fn lightest(slots: &[Slot]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, s) in slots.iter().enumerate() {
        let Some(load) = s.load() else { continue };
        if best.is_none_or(|b| {
            lighter(
                (load, s.rep.weight),
                (slots[b].load().unwrap(), slots[b].rep.weight),
            )
        }) {
            best = Some(i);
        }
    }
    best
}

fn raised(from: Option<i64>, to: i64) -> String {
    match from {
        Some(from) if from != to => {
            format!(" (raised from {from}: new to the rotation or back after a skip)")
        }
        _ => String::new(),
    }
}

fn outcome(team: &Team, slots: &[Slot]) -> Outcome {
    let mut chosen = None;
    let mut reason = String::new();
    let mut candidates = Vec::new();
    for s in slots {
        let w = s.rep.weight;
        let (is_chosen, why) = match &s.status {
            Status::Skipped(why) => (false, why.clone()),
            Status::Eligible {
                load, raised_from, ..
            } => (
                false,
                format!("load {load}/{w}{}", raised(*raised_from, *load)),
            ),
            Status::Chosen {
                load,
                raised_from,
                today,
            } => {
                let cap = s
                    .rep
                    .daily_cap
                    .map(|c| format!(" of cap {c}"))
                    .unwrap_or_default();
                let why = format!(
                    "lowest load {load}/{w}{}; assignment {today}{cap} today",
                    raised(*raised_from, *load)
                );
                chosen = Some(s.rep.id.clone());
                reason = format!("team {}: {} has the {why}", team.name, s.rep.id);
                (true, why)
            }
        };
        candidates.push(Candidate::new(s.rep.id.clone(), is_chosen, why));
    }
    if chosen.is_none() {
        reason = if slots.is_empty() {
            format!("team {}: has no reps", team.name)
        } else {
            let skipped: Vec<String> = candidates
                .iter()
                .map(|c| format!("{}: {}", c.rep, c.reason))
                .collect();
            let all = match slots.len() {
                1 => "its only rep skipped".to_string(),
                n => format!("all {n} reps skipped"),
            };
            format!("team {}: {all}: {}", team.name, skipped.join("; "))
        };
    }
    Outcome {
        chosen,
        reason,
        candidates,
    }
}
