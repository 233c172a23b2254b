//! The store: everything the host keeps between requests, behind one interface
//! with two backends chosen by `store.url`.
//!
//! - **SQLite** (`sqlite://leadwire.db`, the default): one file next to the
//!   config, WAL mode, for one host process.
//! - **PostgreSQL** (`postgres://user@host:5432/db`): for several replicas of
//!   the host behind a load balancer; every operation is atomic across them.
//!
//! It holds plugin key-value state (the `state` capability: [`StateStore`]),
//! the last known snapshot of each lead per source ([`Store::merge_lead`]),
//! idempotency keys ([`Store::claim`], [`Store::record`], [`Store::release`])
//! and the decision log ([`Store::decisions`]). The API is synchronous: the
//! server calls it from `tokio::task::spawn_blocking` (the PostgreSQL client
//! runs its own small runtime and must not be called from an async task).
//!
//! Schema changes are built-in migrations, numbered, applied by [`open`] in
//! one transaction and recorded in `schema_version`; opening is idempotent and
//! safe when two replicas start at once.

mod codec;
pub mod outbox;
mod pool;
mod postgres;
mod prepared;
pub mod snapshot;
mod sqlite;
pub mod timers;

use std::sync::Arc;

use crate::capabilities::{StateError, StateStore};
use crate::decision::Decision;
use crate::lead::LeadDoc;

pub use outbox::{OutboxCount, OutboxRow, OutboxWrite, Settled};
pub use snapshot::{FieldTimes, Merged};
pub use timers::{Fired, SlaFigures, TimerChange, TimerRow, TouchFigures};

pub type StoreResult<T> = Result<T, StoreError>;

/// The alerts a dead letter makes (its row, the CRM's last answer).
pub type DeadAlerts = dyn Fn(&OutboxRow, &str) -> Vec<OutboxWrite> + Send + Sync;

/// A store operation failed. Messages say which database (`sqlite leadwire.db`,
/// `postgres app@db:5432/leadwire`; never a password), which operation, and why.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `store.url` cannot be used.
    #[error("store url `{url}`: {message}")]
    Url { url: String, message: String },
    /// The database failed, refused the data, or holds data this version
    /// cannot read.
    #[error("{at}: {op}: {message}")]
    Db {
        /// The database: `sqlite leadwire.db`, `postgres app@db:5432/leadwire`.
        at: String,
        /// What was being done: ``claim `k` of source `hubspot` ``.
        op: String,
        message: String,
    },
    /// [`Store::record`] found the event already decided by another worker (its
    /// claim had expired and was taken over). Nothing was written: the event
    /// has exactly one decision, `existing`, which is the one to answer with.
    #[error(
        "{at}: record decision {rejected} for `{dedup_key}` of source `{event_source}`: the event was \
         already decided by another worker (decision {}) after this worker's claim expired; \
         nothing was written, answer with the recorded decision",
        existing.id
    )]
    AlreadyDecided {
        at: String,
        /// The CRM source (`source` would be taken by `thiserror` for the cause).
        event_source: String,
        dedup_key: String,
        /// The id of the decision that was not recorded.
        rejected: String,
        existing: Box<Decision>,
    },
}

impl From<StoreError> for StateError {
    fn from(e: StoreError) -> StateError {
        StateError(e.to_string())
    }
}

/// What [`Store::claim`] found for an event's dedup key.
#[derive(Debug, Clone)]
pub enum Claim {
    /// The caller owns the event now: decide it, then [`Store::record`] (or
    /// [`Store::release`] if it cannot be decided).
    New,
    /// Already decided: answer with this decision, run nothing.
    Done(Box<Decision>),
    /// Another worker claimed it less than the lease ago and is deciding it.
    InProgress,
}

/// The host's persistent state. Every method is atomic; all are safe to call
/// from many threads and, on PostgreSQL, from many host processes at once.
///
/// `Arc<dyn Store>` coerces to `Arc<dyn StateStore>` for the runtime's
/// [`HostEnv`](crate::capabilities::HostEnv): `let state: Arc<dyn StateStore> = store.clone();`.
pub trait Store: StateStore {
    /// The database this store uses, for logs and messages
    /// (`sqlite leadwire.db`, `postgres app@db:5432/leadwire`; never a password).
    fn location(&self) -> &str;

    /// Is the database reachable? (`GET /readyz`)
    fn ping(&self) -> StoreResult<()>;

    /// Merge what one event says about a lead into the last known snapshot for
    /// (`source`, `update.id`), and return the merged lead with what changed.
    ///
    /// `at_ms` is the event's time. Each attribute (`source`, `email`,
    /// `company_domain`, `owner`, `lifecycle_stage`, `created_at`) and each
    /// field keeps the time it was last set; a value from an older event never
    /// overwrites one set by a newer event (CRMs reorder deliveries); on equal
    /// times the later delivery wins. What the update leaves out (an attribute
    /// that is `None`, a field it does not name) is kept; a field set to JSON
    /// `null` is a value (cleared). Activities are unioned (the same kind, time
    /// and properties once), ordered by time, the newest
    /// [`snapshot::MAX_ACTIVITIES`] kept. Atomic against concurrent merges of
    /// the same lead.
    fn merge_lead(&self, source: &str, update: &LeadDoc, at_ms: i64) -> StoreResult<Merged>;

    /// [`merge_lead`](Store::merge_lead), returning only the merged lead.
    fn merge_snapshot(&self, source: &str, update: &LeadDoc, at_ms: i64) -> StoreResult<LeadDoc> {
        Ok(self.merge_lead(source, update, at_ms)?.lead)
    }

    /// The last known snapshot of a lead, if any event about it was merged.
    fn snapshot(&self, source: &str, lead_id: &str) -> StoreResult<Option<LeadDoc>>;

    /// Idempotency: claim an event's dedup key before deciding it.
    ///
    /// Exactly one caller across all replicas gets [`Claim::New`]. A key
    /// already decided gives [`Claim::Done`] with the recorded decision (a
    /// redelivery is answered with it, running no plugin). A key claimed less
    /// than `lease_ms` before `now_ms` and not yet decided gives
    /// [`Claim::InProgress`]; an older unfinished claim (a crashed replica, or
    /// one slower than the lease) is taken over and gives [`Claim::New`]. The
    /// lease must be longer than a pipeline can take.
    fn claim(
        &self,
        source: &str,
        dedup_key: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> StoreResult<Claim>;

    /// Record `decision` in the decision log and mark the key done, in one
    /// transaction: after `Ok`, the event is durable (answer 2xx only then).
    ///
    /// Recording the same decision again is a no-op. If the key was meanwhile
    /// decided with another decision (this worker's claim expired and another
    /// took it over), nothing is written and the error is
    /// [`StoreError::AlreadyDecided`] with that decision. A key that was never
    /// claimed is recorded as done.
    fn record(&self, source: &str, dedup_key: &str, decision: &Decision) -> StoreResult<()> {
        self.record_with_writes(source, dedup_key, decision, &[])
    }

    /// [`record`](Store::record), and enqueue `writes` in the same
    /// transaction (only when this call records the decision: a repeat
    /// enqueues nothing). A write to a record with a write still pending on
    /// the same connection replaces it, merged over it (latest wins).
    fn record_with_writes(
        &self,
        source: &str,
        dedup_key: &str,
        decision: &Decision,
        writes: &[OutboxWrite],
    ) -> StoreResult<()> {
        self.record_with_effects(source, dedup_key, decision, writes, &[])
    }

    /// [`record_with_writes`](Store::record_with_writes), and apply `timers`
    /// to the lead's SLA timers in the same transaction (only when this call
    /// records the decision), in order.
    fn record_with_effects(
        &self,
        source: &str,
        dedup_key: &str,
        decision: &Decision,
        writes: &[OutboxWrite],
        timers: &[TimerChange],
    ) -> StoreResult<()>;

    /// The store's clock (ms since the epoch), the one SLA timers fire by:
    /// the database's on PostgreSQL (one clock for every replica), plus the
    /// offset [`advance_clock`](Store::advance_clock) set.
    fn clock_ms(&self) -> StoreResult<i64>;

    /// Move the timers' clock forward by `by_ms` (a drill, a test); the new
    /// time.
    fn advance_clock(&self, by_ms: i64) -> StoreResult<i64>;

    /// Lease up to `limit` pending timers whose next checkpoint is due by the
    /// store's clock, oldest due first, to this worker for `lease_ms`; with
    /// the clock's time. Never two workers on one timer at a time.
    fn claim_timers(&self, lease_ms: i64, limit: usize) -> StoreResult<(i64, Vec<TimerRow>)>;

    /// Fire checkpoint `row.checkpoint` of a claimed timer, exactly once: false
    /// when it is no longer pending at that checkpoint (another replica fired
    /// it, the owner acted, a reassignment ended it).
    /// `alerts` are enqueued in the same transaction, only when it fires, due
    /// at once by this machine's clock (the outbox's, not the timers').
    fn fire_timer(
        &self,
        row: &TimerRow,
        fired: &Fired,
        now_ms: i64,
        alerts: &[OutboxWrite],
    ) -> StoreResult<bool>;

    /// The lead's timers, oldest first.
    fn timers(&self, source: &str, lead_id: &str) -> StoreResult<Vec<TimerRow>>;

    /// Every timer counted by policy and state, and the met ones' time to
    /// first touch (raw and working), for `/metrics`: the same on every
    /// replica.
    fn sla_figures(&self) -> StoreResult<SlaFigures>;

    /// Lease up to `limit` writes through `connection` due by `now_ms`
    /// (pending and due, or leased by a worker whose lease ran out) to this
    /// worker for `lease_ms`; each claim counts an attempt. Never two workers
    /// on one row at a time, nor on two rows of one record.
    fn claim_outbox(
        &self,
        connection: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<OutboxRow>>;

    /// Record how the deliveries of claimed rows ended, in one transaction;
    /// for each, false (nothing recorded) when the claim's lease ran out and
    /// another worker took the row.
    /// A row that becomes a dead letter enqueues what `dead_alerts` makes of
    /// it (the alerts telling of it) in the same transaction.
    fn settle_outbox(
        &self,
        settled: &[(&OutboxRow, Settled)],
        now_ms: i64,
        dead_alerts: &DeadAlerts,
    ) -> StoreResult<Vec<bool>>;

    /// Count one request to `connection` against `limit` per `window_ms`,
    /// shared by every process on this store: 0 when it may go now, else the
    /// ms to wait before asking again. One process owns a SQLite file, so
    /// there the in-process pacing is all there is (always 0).
    fn take_rate(
        &self,
        connection: &str,
        window_ms: i64,
        limit: u32,
        now_ms: i64,
    ) -> StoreResult<i64> {
        let _ = (connection, window_ms, limit, now_ms);
        Ok(0)
    }

    /// Rows with `status` (any when None), oldest first.
    fn outbox(&self, status: Option<&str>, limit: usize) -> StoreResult<Vec<OutboxRow>>;

    /// Make a dead (or pending) row due now, its attempts reset; false when no
    /// such row is dead or pending.
    fn retry_outbox(&self, id: i64, now_ms: i64) -> StoreResult<bool>;

    /// The rows not yet delivered (pending, inflight, dead) by connection and
    /// status, for the metrics.
    fn outbox_counts(&self) -> StoreResult<Vec<OutboxCount>>;

    /// Every value enqueued for CRM record `record` through `connection`
    /// (and not dead), merged: what leadwire last told the CRM, to tell its
    /// own writes when the CRM echoes them back as events.
    fn written(&self, connection: &str, record: &str) -> StoreResult<Option<serde_json::Value>>;

    /// The writes to CRM record `record` (any connection), oldest first.
    fn outbox_for(&self, record: &str, limit: usize) -> StoreResult<Vec<OutboxRow>>;

    /// The rows whose record starts with `prefix`, which ends with `:` (a
    /// lead's alerts), oldest first.
    fn outbox_with_prefix(&self, prefix: &str, limit: usize) -> StoreResult<Vec<OutboxRow>>;

    /// One row, by id.
    fn outbox_row(&self, id: i64) -> StoreResult<Option<OutboxRow>>;

    /// Delete a dead or pending row (a write no one wants any more); false
    /// when no such row is dead or pending.
    fn drop_outbox(&self, id: i64) -> StoreResult<bool>;

    /// Give up an undecided claim (processing failed before a decision), so
    /// that a retry can proceed at once. A decided key is left as it is.
    fn release(&self, source: &str, dedup_key: &str) -> StoreResult<()>;

    /// Count one more failed attempt at deciding an event (a failure that may
    /// pass, so the claim is released and the CRM retries) and return the
    /// attempts so far, this one included. The count outlives the claim.
    fn count_attempt(&self, source: &str, dedup_key: &str) -> StoreResult<u32>;

    /// The newest decisions with `status` (`ok`, `error`), of every source or
    /// of one, newest first, at most `limit`: `GET /v1/decisions?status=error`.
    fn decisions_with_status(
        &self,
        status: &str,
        source: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Decision>>;

    /// The audit trail: the decisions recorded for a lead, newest first
    /// (by `decided_at`, then by the order they were recorded), at most `limit`.
    fn decisions(&self, source: &str, lead_id: &str, limit: usize) -> StoreResult<Vec<Decision>>;
}

/// Open the store at `url` and bring its schema up to date.
///
/// - `sqlite://leadwire.db`: a file, relative to the working directory;
///   `sqlite:///var/lib/leadwire/leadwire.db`: an absolute path;
///   `sqlite::memory:`: in memory, gone when the process ends (tests, `run`).
/// - `postgres://user[:password]@host[:port]/database[?options]` (or
///   `postgresql://`); the query takes libpq-style options such as
///   `connect_timeout=5` or `options=-csearch_path%3Dleadwire` (tables go in
///   the first schema of the search path). TLS is not supported yet.
pub fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    let bad = |message: &str| StoreError::Url {
        url: self::postgres::redact(url),
        message: message.to_string(),
    };
    if url == "sqlite::memory:" || url == "sqlite://:memory:" {
        return Ok(Arc::new(sqlite::SqliteStore::open(None)?));
    }
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.is_empty() {
            return Err(bad(
                "no file: write sqlite://leadwire.db (relative), sqlite:///var/lib/leadwire.db (absolute) or sqlite::memory:",
            ));
        }
        if path.contains('?') {
            return Err(bad(
                "SQLite urls take no options (`?…`); write sqlite://FILE",
            ));
        }
        return Ok(Arc::new(sqlite::SqliteStore::open(Some(path))?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(self::postgres::PgStore::open(url)?));
    }
    Err(bad(
        "unknown kind of store: write sqlite://leadwire.db, sqlite::memory: or postgres://USER@HOST:PORT/DATABASE",
    ))
}
