//! The outbox workers, one thread per connection (a CRM that hangs holds
//! back only its own writes): each claims its connection's due rows (with a
//! lease, so a crashed worker's rows are taken over), delivers them through
//! the connection's client (a batch where the API takes one), and settles
//! each row: done, later (rate limited: the attempt does not count), retry
//! with capped exponential backoff and jitter, or dead with the CRM's answer.
//! Rows are claimed and settled in their own short transactions: no
//! transaction is open during an HTTP call.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::crm::{Connection, Connections, Delivery};
use crate::store::{DeadAlerts, OutboxRow, Settled, Store};

/// How long a worker may hold a row before another takes it over.
pub const LEASE_MS: i64 = 60_000;
/// The longest wait between two attempts of one row.
const MAX_BACKOFF_MS: i64 = 15 * 60 * 1000;
/// How long an idle worker sleeps before it looks for due rows again.
const IDLE: Duration = Duration::from_millis(200);

pub type Observe = dyn Fn(&OutboxRow, &Settled) + Send + Sync;

/// What the workers tell: each settled row (the metrics), and the alerts a
/// dead letter makes (committed with it).
pub struct Hooks {
    pub observe: Box<Observe>,
    pub dead: Box<DeadAlerts>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Capped exponential backoff with full jitter: up to 1 s × 2^(attempt−1).
fn backoff_ms(attempt: u32, seed: i64) -> i64 {
    let cap = 1_000i64
        .saturating_mul(1i64 << attempt.saturating_sub(1).min(20))
        .min(MAX_BACKOFF_MS);
    // Jitter from the clock's nanoseconds and the row: no two rows in step.
    let nanos = chrono::Utc::now().timestamp_subsec_nanos() as i64;
    let spread = (nanos ^ seed.wrapping_mul(0x9E37_79B9)).rem_euclid(cap.max(1));
    (cap / 2 + spread / 2).max(100)
}

/// What to record for a row's delivery.
fn settle(c: &Connection, row: &OutboxRow, delivery: Delivery) -> Settled {
    match delivery {
        Delivery::Done => Settled::Done,
        Delivery::Later {
            after,
            pause,
            error,
        } => {
            let at_ms = now_ms() + i64::try_from(after.as_millis()).unwrap_or(i64::MAX / 2);
            if pause {
                c.paused_until.fetch_max(at_ms, Ordering::Relaxed);
            }
            Settled::Later { at_ms, error }
        }
        Delivery::Failed(error) if row.attempts >= c.max_attempts => Settled::Dead {
            error: format!("gave up after {} attempts: {error}", row.attempts),
        },
        Delivery::Failed(error) => Settled::Retry {
            at_ms: now_ms() + backoff_ms(row.attempts, row.id),
            error,
        },
        Delivery::Refused(error) => {
            if error.starts_with(crate::crm::chat::GONE) {
                // A chat webhook that is gone: hold the rest back for a day
                // (or until a reload) instead of dead-lettering each.
                c.paused_until
                    .fetch_max(now_ms() + 24 * 3_600_000, Ordering::Relaxed);
                tracing::error!("outbox: {}: {error}", row.connection);
            }
            Settled::Dead { error }
        }
    }
}

/// Record how each row ended (one transaction), log it with its decision
/// id, and tell `observe`.
fn record(store: &dyn Store, settled: Vec<(&OutboxRow, Settled)>, hooks: &Hooks) {
    let Hooks { observe, dead } = hooks;
    for (row, how) in &settled {
        match how {
            Settled::Done => tracing::info!(
                decision = row.decision_id,
                "outbox: wrote {} to {} {}",
                row.payload,
                row.connection,
                row.record
            ),
            Settled::Dead { error } => tracing::error!(
                decision = row.decision_id,
                "outbox: row {} to {} {} is a dead letter: {error}",
                row.id,
                row.connection,
                row.record
            ),
            Settled::Retry { error, .. } | Settled::Later { error, .. } => tracing::warn!(
                decision = row.decision_id,
                "outbox: row {} to {} {} will be retried: {error}",
                row.id,
                row.connection,
                row.record
            ),
        }
    }
    match store.settle_outbox(&settled, now_ms(), &**dead) {
        Ok(taken) => {
            for ((row, how), taken) in settled.iter().zip(taken) {
                if taken {
                    observe(row, how);
                } else {
                    tracing::warn!(
                        decision = row.decision_id,
                        "outbox: row {}: the lease ran out before the delivery ended; another \
                         worker has it",
                        row.id
                    );
                }
            }
        }
        // The leases run out and another claim delivers the rows again: a
        // repeat of an absolute write is harmless.
        Err(e) => tracing::warn!("outbox: cannot settle {} rows: {e}", settled.len()),
    }
}

/// Claim and deliver what is due on connection `name` once; the rows
/// handled. A connection no longer configured dead-letters its rows.
pub fn run_once(store: &dyn Store, connections: &Connections, name: &str, hooks: &Hooks) -> usize {
    let connection = connections.get(name);
    if let Some(c) = connection {
        if c.paused_until.load(Ordering::Relaxed) > now_ms() {
            return 0;
        }
    }
    let batch = connection.map_or(100, |c| c.client.batch_size());
    let rows = match store.claim_outbox(name, now_ms(), LEASE_MS, batch) {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!("outbox: cannot claim rows of {name}: {e}");
            return 0;
        }
    };
    let Some(c) = connection else {
        let error = format!("no [connections.{name}] in the configuration any more");
        let dead = rows
            .iter()
            .map(|row| {
                (
                    row,
                    Settled::Dead {
                        error: error.clone(),
                    },
                )
            })
            .collect();
        record(store, dead, hooks);
        return rows.len();
    };
    let mut rest: &[OutboxRow] = &rows;
    while !rest.is_empty() {
        let paused = c.paused_until.load(Ordering::Relaxed);
        if paused > now_ms() {
            // The CRM asked to wait: the rest go back without an attempt.
            let error = "the connection is paused: the CRM asked to wait";
            let later = rest
                .iter()
                .map(|row| {
                    let error = error.to_string();
                    (
                        row,
                        Settled::Later {
                            at_ms: paused,
                            error,
                        },
                    )
                })
                .collect();
            record(store, later, hooks);
            break;
        }
        let (chunk, after) = rest.split_at(c.client.batch_size().min(rest.len()));
        c.acquire();
        let deliveries = c.client.write(chunk);
        let settled = chunk
            .iter()
            .zip(deliveries)
            .map(|(row, delivery)| (row, settle(c, row, delivery)))
            .collect();
        record(store, settled, hooks);
        if let Some((after, why)) = c.client.take_pause() {
            let at_ms = now_ms() + i64::try_from(after.as_millis()).unwrap_or(i64::MAX / 2);
            tracing::warn!("outbox: pausing {name}: {why}");
            c.paused_until.fetch_max(at_ms, Ordering::Relaxed);
        }
        rest = after;
    }
    rows.len()
}

/// Deliver for as long as the process runs: a supervisor thread starts one
/// worker thread per configured connection (and one pass for rows of a
/// connection no longer configured); `current` gives the connections of the
/// configuration now loaded, so a reload adds and removes workers.
pub fn spawn(
    store: Arc<dyn Store>,
    current: impl Fn() -> Arc<Connections> + Send + Sync + 'static,
    hooks: Hooks,
) -> std::io::Result<JoinHandle<()>> {
    let current = Arc::new(current);
    let observe = Arc::new(hooks);
    std::thread::Builder::new()
        .name("leadwire-outbox".into())
        .spawn(move || {
            let mut workers: BTreeMap<String, JoinHandle<()>> = BTreeMap::new();
            loop {
                let connections = current();
                workers.retain(|_, w| !w.is_finished());
                for name in connections.names() {
                    if workers.contains_key(name) {
                        continue;
                    }
                    let (store, current, observe) =
                        (store.clone(), current.clone(), observe.clone());
                    let owned = name.to_string();
                    let started = std::thread::Builder::new()
                        .name(format!("outbox-{name}"))
                        .spawn(move || {
                            // Until a reload removes the connection.
                            loop {
                                let connections = current();
                                if connections.get(&owned).is_none() {
                                    return;
                                }
                                if run_once(&*store, &connections, &owned, &observe) == 0 {
                                    std::thread::sleep(IDLE);
                                }
                            }
                        });
                    match started {
                        Ok(w) => {
                            workers.insert(name.to_string(), w);
                        }
                        Err(e) => tracing::error!("outbox: cannot start the worker of {name}: {e}"),
                    }
                }
                // Rows of connections removed from the configuration.
                if let Ok(counts) = store.outbox_counts() {
                    for count in counts {
                        let orphan =
                            connections.get(&count.connection).is_none() && count.status != "dead";
                        if orphan {
                            run_once(&*store, &connections, &count.connection, &observe);
                        }
                    }
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        for attempt in 1..30 {
            let cap = (1_000i64 << (attempt - 1).min(20)).min(MAX_BACKOFF_MS);
            let b = backoff_ms(attempt, 7);
            assert!(
                b >= (cap / 2).max(100) && b <= cap.max(100),
                "{attempt}: {b}"
            );
        }
    }
}
