//! The outbox worker: claims due rows (with a lease, so a crashed worker's
//! rows are taken over), delivers each through its connection, and settles
//! it: done, later (rate limited: the attempt does not count), retry with
//! capped exponential backoff and jitter, or dead with the CRM's answer.
//! Rows are claimed and settled in their own short transactions: no
//! transaction is open during an HTTP call.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::crm::{Connections, Delivery};
use crate::store::{OutboxRow, Settled, Store};

/// Rows one claim takes.
const BATCH: usize = 32;
/// How long a worker may hold a row before another takes it over.
pub const LEASE_MS: i64 = 60_000;
/// The longest wait between two attempts of one row.
const MAX_BACKOFF_MS: i64 = 15 * 60 * 1000;

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

/// Deliver one claimed row; what to record.
fn deliver(connections: &Connections, row: &OutboxRow) -> Settled {
    let Some(c) = connections.get(&row.connection) else {
        return Settled::Dead {
            error: format!(
                "no [connections.{}] in the configuration any more",
                row.connection
            ),
        };
    };
    let paused = c.paused_until.load(Ordering::Relaxed);
    if paused > now_ms() {
        return Settled::Later {
            at_ms: paused,
            error: "the connection is paused: the CRM asked to wait".into(),
        };
    }
    c.limiter.acquire();
    match c.client.write(&row.record, &row.payload) {
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
        Delivery::Refused(error) => Settled::Dead { error },
    }
}

/// Claim and deliver what is due once, telling `observe` how each ended; the
/// rows handled.
pub fn run_once(
    store: &dyn Store,
    connections: &Connections,
    observe: &dyn Fn(&OutboxRow, &Settled),
) -> usize {
    let rows = match store.claim_outbox(now_ms(), LEASE_MS, BATCH) {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!("outbox: cannot claim rows: {e}");
            return 0;
        }
    };
    for row in &rows {
        let settled = deliver(connections, row);
        match &settled {
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
        observe(row, &settled);
        if let Err(e) = store.settle_outbox(row.id, &settled, now_ms()) {
            // The lease runs out and another claim delivers it again: a
            // repeat of an absolute write is harmless.
            tracing::warn!(
                decision = row.decision_id,
                "outbox: cannot settle row {}: {e}",
                row.id
            );
        }
    }
    rows.len()
}

/// Deliver for as long as the process runs, on a thread of its own;
/// `current` gives the connections of the configuration now loaded.
pub fn spawn(
    store: Arc<dyn Store>,
    current: impl Fn() -> Arc<Connections> + Send + 'static,
    observe: impl Fn(&OutboxRow, &Settled) + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("leadwire-outbox".into())
        .spawn(move || {
            loop {
                let connections = current();
                if connections.is_empty() || run_once(&*store, &connections, &observe) == 0 {
                    std::thread::sleep(Duration::from_millis(200));
                }
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
