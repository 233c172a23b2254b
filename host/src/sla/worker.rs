//! The SLA worker: claims timers whose next checkpoint is due by the store's
//! clock (the database's: one clock for every replica) and fires each once.
//! A warning advances the timer (a conditional update: a second replica's
//! attempt changes nothing). A reassignment runs the lead's pipeline again
//! with trigger `sla-breached(NAME)` under the dedup key
//! `sla:{timer}:{checkpoint}`, and the breach is committed with that decision:
//! a crash before the commit leaves the timer due (its lease runs out and a
//! worker fires it again), a crash after leaves nothing to fire. After a long
//! downtime every overdue timer fires once, oldest due first.

use std::time::Duration;

use crate::adapters::{EventKind, LeadEvent};
use crate::decision::Decision;
use crate::store::{Fired, Store, TimerChange, TimerRow};

use super::policy::{Action, Policies};
use crate::alerts::Alerts;

/// How long a worker holds a claimed timer before another may fire it.
pub const LEASE_MS: i64 = 60_000;
/// Timers one claim takes.
const BATCH: usize = 16;

/// Decide a breach: the timer, the event, the timer changes to commit with
/// the decision, and the queue to park the lead in (an escalation: no
/// pipeline runs) or none (the pipeline reassigns).
pub type Decide<'a> =
    dyn Fn(&TimerRow, &LeadEvent, Vec<TimerChange>, Option<&str>) -> Result<Decision, String> + 'a;

/// Fire what is due once; the timers handled.
pub fn run_once(store: &dyn Store, policies: &Policies, alerts: &Alerts, decide: &Decide) -> usize {
    let (now, due) = match store.claim_timers(LEASE_MS, BATCH) {
        Ok(claimed) => claimed,
        Err(e) => {
            tracing::warn!("sla: cannot claim due timers: {e}");
            return 0;
        }
    };
    for timer in &due {
        fire(store, policies, alerts, decide, timer, now);
    }
    due.len()
}

fn fire(
    store: &dyn Store,
    policies: &Policies,
    alerts: &Alerts,
    decide: &Decide,
    timer: &TimerRow,
    now: i64,
) {
    if Alerts::is_watch(timer) {
        // A going-cold watch: it fires once, telling its alert rule.
        let (why, told) = alerts.gone_cold(timer);
        match store.fire_timer(timer, &Fired::Breached(why), now, &told) {
            Ok(true) => tracing::info!(
                "sla: lead {} is going cold ({})",
                timer.lead_id,
                timer.policy
            ),
            Ok(false) => {}
            Err(e) => tracing::warn!("sla: cannot fire timer {}: {e}", timer.id),
        }
        return;
    }
    let checkpoint = policies
        .by_name
        .get(&timer.policy)
        .and_then(|p| p.checkpoints.get(timer.checkpoint));
    let Some(checkpoint) = checkpoint else {
        // The policy (or this checkpoint) left the configuration.
        let why = format!("[sla.{}] no longer has this checkpoint", timer.policy);
        let _ = store.fire_timer(timer, &Fired::Breached(why), now, &[]);
        return;
    };
    let park = match &checkpoint.action {
        Action::Escalate(queue) => Some(queue.as_str()),
        _ => None,
    };
    match &checkpoint.action {
        Action::Warn => match store.fire_timer(
            timer,
            &Fired::Warned,
            now,
            &alerts.warned(timer, &checkpoint.name),
        ) {
            Ok(true) => tracing::warn!(
                decision = timer.decision_id,
                "sla: {} `{}` for lead {} (owner {}) is due",
                timer.policy,
                checkpoint.name,
                timer.lead_id,
                timer.owner
            ),
            Ok(false) => {}
            Err(e) => tracing::warn!("sla: cannot fire timer {}: {e}", timer.id),
        },
        Action::Reassign | Action::Escalate(_) => {
            let mut lead = crate::adapters::lead_with_id(timer.lead_id.clone());
            // The owner who let it breach: the router does not pick them again.
            lead.owner = Some(timer.owner.clone());
            let event = LeadEvent {
                dedup_key: format!("sla:{}:{}", timer.id, timer.checkpoint),
                kind: EventKind::SlaBreached(timer.policy.clone()),
                at: now,
                lead,
                changed: Vec::new(),
                complete: false,
            };
            let breached = TimerChange::Breached {
                id: timer.id,
                checkpoint: timer.checkpoint,
                why: match park {
                    Some(queue) => format!(
                        "`{}`: {} did not act in time; escalated to queue {queue}",
                        checkpoint.name, timer.owner
                    ),
                    None => format!(
                        "`{}`: {} did not act in time; reassigned",
                        checkpoint.name, timer.owner
                    ),
                },
                at: now,
            };
            match decide(timer, &event, vec![breached], park) {
                Ok(decision) => tracing::warn!(
                    decision = decision.id,
                    "sla: {} breached for lead {} (owner {}): the pipeline decided again, owner \
                     now {}",
                    timer.policy,
                    timer.lead_id,
                    timer.owner,
                    decision.owner.as_deref().unwrap_or("none")
                ),
                // Its lease runs out and it fires again.
                Err(why) => tracing::warn!(
                    "sla: {} breached for lead {}, but the reassignment was not decided ({why}); \
                     retrying",
                    timer.policy,
                    timer.lead_id
                ),
            }
        }
    }
}

/// Fire due timers for as long as the process runs, on a thread of its own:
/// `tick` fires what is due once (with the configuration now loaded) and
/// says how many it handled.
pub fn spawn(
    tick: impl Fn() -> usize + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("leadwire-sla".into())
        .spawn(move || {
            loop {
                if tick() == 0 {
                    std::thread::sleep(Duration::from_millis(250));
                }
            }
        })
}
