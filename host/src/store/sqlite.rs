//! The SQLite backend: one file in WAL mode (readers never wait for the
//! writer), `synchronous=NORMAL` (a commit survives a crash of the process; a
//! power cut may lose the last commits, never corrupt the file), and a busy
//! timeout so that a second process on the same file waits instead of failing.
//!
//! In the process, writes go through one connection behind a mutex (SQLite
//! allows one writer at a time anyway; queueing here beats its busy-wait), in
//! `BEGIN IMMEDIATE` transactions, so a read-modify-write is atomic against
//! other processes too. Writes that queue up behind a running one share its
//! transaction (group commit, each write in its own savepoint), and each
//! returns once that transaction committed. Reads use a small pool of read-only
//! connections. `sqlite::memory:` is one connection for everything.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::DeadAlerts;
use super::codec::{self, already_done, merge_row, not_claimed, parse, state_op, to_json};
use super::outbox::{self, OutboxCount, OutboxRow, OutboxWrite, Settled};
use super::pool;
use super::snapshot::Merged;
use super::timers::{self, Fired, SlaFigures, TimerChange, TimerRow};
use super::{Claim, Store, StoreError, StoreResult};
use crate::capabilities::{StateResult, StateStore, Usage};
use crate::decision::Decision;
use crate::lead::LeadDoc;

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const READERS: u32 = 4;

/// The migrations, in order: version N is `MIGRATIONS[N - 1]`. Never edit a
/// released one; add the next.
const MIGRATIONS: &[&str] = &[
    // 1: lead snapshots, plugin state, the decision log, idempotency keys.
    "
    CREATE TABLE lead_snapshots (
        source      TEXT    NOT NULL,
        lead_id     TEXT    NOT NULL,
        doc         TEXT    NOT NULL,  -- the merged lead (LeadDoc JSON)
        field_times TEXT    NOT NULL,  -- when each value was set (FieldTimes JSON)
        updated_at  INTEGER NOT NULL,  -- the newest event time merged, ms since the epoch
        PRIMARY KEY (source, lead_id)
    );

    CREATE TABLE plugin_state (
        namespace TEXT NOT NULL,       -- the plugin install
        key       TEXT NOT NULL,
        value     TEXT NOT NULL,
        PRIMARY KEY (namespace, key)
    );

    CREATE TABLE decisions (
        seq        INTEGER PRIMARY KEY, -- the order decisions were recorded in
        id         TEXT    NOT NULL UNIQUE,
        source     TEXT    NOT NULL,
        lead_id    TEXT    NOT NULL,
        event_id   TEXT    NOT NULL,
        pipeline   TEXT    NOT NULL,
        status     TEXT    NOT NULL,    -- ok | error
        decided_at INTEGER NOT NULL,    -- ms since the epoch
        doc        TEXT    NOT NULL     -- the Decision JSON
    );
    CREATE INDEX decisions_by_lead ON decisions (source, lead_id, decided_at);

    CREATE TABLE idempotency (
        source      TEXT    NOT NULL,
        dedup_key   TEXT    NOT NULL,
        status      TEXT    NOT NULL CHECK (status IN ('pending', 'done')),
        claimed_at  INTEGER NOT NULL,   -- ms since the epoch
        decision_id TEXT    REFERENCES decisions (id),
        PRIMARY KEY (source, dedup_key)
    );
    ",
    // 2: failed attempts per event (transient failures), decisions by status.
    "
    CREATE TABLE attempts (
        source    TEXT    NOT NULL,
        dedup_key TEXT    NOT NULL,
        count     INTEGER NOT NULL,
        PRIMARY KEY (source, dedup_key)
    );
    CREATE INDEX decisions_by_status ON decisions (status, decided_at);
    ",
    // 3: the outbox: writes to the CRMs, committed with their decisions.
    "
    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        connection      TEXT    NOT NULL,
        record          TEXT    NOT NULL,   -- the CRM record written
        decision_id     TEXT    NOT NULL,
        payload         TEXT    NOT NULL,   -- JSON, in the connection's terms
        status          TEXT    NOT NULL
                        CHECK (status IN ('pending', 'inflight', 'done', 'dead')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,   -- ms since the epoch
        lease_until     INTEGER,            -- while inflight
        last_error      TEXT,
        created_at      INTEGER NOT NULL
    );
    CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
    CREATE INDEX outbox_by_record ON outbox (connection, record, status);
    ",
    // 4: what was written to each CRM record (enqueued and not dead), so a
    // decision writes only what changed.
    "
    CREATE TABLE outbox_written (
        connection TEXT NOT NULL,
        record     TEXT NOT NULL,
        payload    TEXT NOT NULL,   -- JSON: every value enqueued, merged
        PRIMARY KEY (connection, record)
    );
    ",
    // 5: SLA timers, and the offset a drill or a test moves their clock by.
    "
    CREATE TABLE sla_timers (
        id          INTEGER PRIMARY KEY,
        source      TEXT    NOT NULL,
        lead_id     TEXT    NOT NULL,
        policy      TEXT    NOT NULL,
        owner       TEXT    NOT NULL,
        decision_id TEXT    NOT NULL,   -- the assignment that started it
        started_at  INTEGER NOT NULL,
        dues        TEXT    NOT NULL,   -- JSON: each checkpoint's due time
        fired       TEXT    NOT NULL,   -- JSON: when each fired checkpoint fired
        checkpoint  INTEGER NOT NULL,   -- the next one to fire
        due_at      INTEGER,            -- its due time; NULL when none is left
        state       TEXT    NOT NULL
                    CHECK (state IN ('pending', 'met', 'breached', 'cancelled')),
        lease_until INTEGER,
        ended_at    INTEGER,
        note        TEXT
    );
    CREATE INDEX sla_due ON sla_timers (state, due_at);
    CREATE INDEX sla_by_lead ON sla_timers (source, lead_id, policy, state);
    CREATE INDEX outbox_record ON outbox (record, id);
    CREATE TABLE clock (
        id        INTEGER PRIMARY KEY CHECK (id = 1),
        offset_ms INTEGER NOT NULL
    );
    ",
    // 6: a met timer's working time to first touch, on its calendar.
    "
    ALTER TABLE sla_timers ADD COLUMN business_ms INTEGER;
    CREATE INDEX sla_by_state ON sla_timers (state, policy);
    ",
];

const TIMER_COLUMNS: &str = "id, source, lead_id, policy, owner, decision_id, started_at, dues, \
                             fired, checkpoint, state, ended_at, note, business_ms";

fn timer_rows(
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
) -> Result<Vec<TimerRow>, OpError> {
    let raw = stmt
        .query_map(params, |r| {
            Ok((
                (
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                ),
                (
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, i64>(9)?,
                    r.get::<_, String>(10)?,
                    r.get::<_, Option<i64>>(11)?,
                    r.get::<_, Option<String>>(12)?,
                    r.get::<_, Option<i64>>(13)?,
                ),
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    raw.into_iter()
        .map(
            |(
                (id, source, lead_id, policy, owner, decision_id, started_at),
                (dues, fired, checkpoint, state, ended_at, note, business_ms),
            )| {
                Ok(TimerRow {
                    id,
                    source,
                    lead_id,
                    policy,
                    owner,
                    decision_id,
                    started_at,
                    dues: parse("timer dues", &dues)?,
                    fired: parse("timer fired", &fired)?,
                    checkpoint: usize::try_from(checkpoint).unwrap_or(0),
                    state,
                    ended_at,
                    note,
                    business_ms,
                })
            },
        )
        .collect()
}

/// A timer to start.
struct NewTimer<'a> {
    source: &'a str,
    lead_id: &'a str,
    policy: &'a str,
    owner: &'a str,
    decision_id: &'a str,
    started_at: i64,
    dues: &'a [i64],
}

/// The owner and start of the lead's latest timer of `policy`, any state.
fn latest_timer(
    tx: &Connection,
    source: &str,
    lead_id: &str,
    policy: &str,
) -> Result<Option<(String, i64)>, OpError> {
    Ok(tx
        .prepare_cached(
            "SELECT owner, started_at FROM sla_timers
             WHERE source = ?1 AND lead_id = ?2 AND policy = ?3
             ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![source, lead_id, policy], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}

/// Cancel the lead's pending timer of the policy (`why`) and start `t`.
fn restart_timer(tx: &Connection, t: &NewTimer, why: &str) -> Result<(), OpError> {
    tx.prepare_cached(
        "UPDATE sla_timers SET state = 'cancelled', ended_at = ?4, note = ?5, lease_until = NULL
         WHERE source = ?1 AND lead_id = ?2 AND policy = ?3 AND state = 'pending'",
    )?
    .execute(params![t.source, t.lead_id, t.policy, t.started_at, why])?;
    tx.prepare_cached(
        "INSERT INTO sla_timers (source, lead_id, policy, owner, decision_id,
             started_at, dues, fired, checkpoint, due_at, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, '[]', 0, ?8, 'pending')",
    )?
    .execute(params![
        t.source,
        t.lead_id,
        t.policy,
        t.owner,
        t.decision_id,
        t.started_at,
        to_json("timer dues", &t.dues)?,
        t.dues.first()
    ])?;
    Ok(())
}

/// Apply a decision's timer changes, in order.
fn apply_timers(
    tx: &Connection,
    source: &str,
    lead_id: &str,
    decision_id: &str,
    changes: &[TimerChange],
) -> Result<(), OpError> {
    for change in changes {
        match change {
            TimerChange::Start {
                policy,
                owner,
                started_at,
                dues,
            } => {
                // The same owner again (a re-run that kept them): their
                // timer, running or ended, stands.
                let latest = latest_timer(tx, source, lead_id, policy)?;
                if latest.is_some_and(|(o, _)| o == *owner) {
                    continue;
                }
                let timer = NewTimer {
                    source,
                    lead_id,
                    policy,
                    owner,
                    decision_id,
                    started_at: *started_at,
                    dues,
                };
                restart_timer(tx, &timer, "the owner changed")?;
            }
            TimerChange::Watch {
                policy,
                owner,
                since,
                due,
            } => {
                // The same engagement again: the watch, running or fired, stands.
                let latest = latest_timer(tx, source, lead_id, policy)?;
                if latest.is_some_and(|(_, start)| start == *since) {
                    continue;
                }
                let timer = NewTimer {
                    source,
                    lead_id,
                    policy,
                    owner,
                    decision_id,
                    started_at: *since,
                    dues: &[*due],
                };
                restart_timer(tx, &timer, "engaged again")?;
            }
            TimerChange::Met {
                policy,
                how,
                at,
                business_ms,
                after,
            } => {
                tx.prepare_cached(
                    "UPDATE sla_timers SET state = 'met', ended_at = ?4, note = ?5,
                         lease_until = NULL, business_ms = ?6
                     WHERE source = ?1 AND lead_id = ?2 AND policy = ?3 AND state = 'pending'
                       AND (?7 IS NULL OR EXISTS (SELECT 1 FROM decisions d
                            WHERE d.id = sla_timers.decision_id AND d.decided_at <= ?7))",
                )?
                .execute(params![
                    source,
                    lead_id,
                    policy,
                    at,
                    how,
                    business_ms,
                    after
                ])?;
            }
            TimerChange::CancelAll { why, at } => {
                tx.prepare_cached(
                    "UPDATE sla_timers SET state = 'cancelled', ended_at = ?3, note = ?4,
                         lease_until = NULL
                     WHERE source = ?1 AND lead_id = ?2 AND state = 'pending'",
                )?
                .execute(params![source, lead_id, at, why])?;
            }
            TimerChange::Breached {
                id,
                checkpoint,
                why,
                at,
            } => {
                let checkpoint = i64::try_from(*checkpoint).unwrap_or(i64::MAX);
                tx.prepare_cached(
                    "UPDATE sla_timers SET state = 'breached', ended_at = ?3, note = ?4,
                         fired = json_insert(fired, '$[#]', ?3), checkpoint = checkpoint + 1,
                         due_at = NULL, lease_until = NULL
                     WHERE id = ?1 AND state = 'pending' AND checkpoint = ?2",
                )?
                .execute(params![id, checkpoint, at, why])?;
            }
        }
    }
    Ok(())
}

const OUTBOX_COLUMNS: &str = "id, connection, record, decision_id, payload, status, attempts, \
                              next_attempt_at, last_error, created_at";

fn outbox_rows(
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
) -> Result<Vec<OutboxRow>, OpError> {
    let rows = stmt
        .query_map(params, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, i64>(9)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(
            |(
                id,
                connection,
                record,
                decision_id,
                payload,
                status,
                attempts,
                next,
                error,
                created,
            )| {
                Ok(OutboxRow {
                    id,
                    connection,
                    record,
                    decision_id,
                    payload: parse("outbox payload", &payload)?,
                    status,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    next_attempt_at: next,
                    last_error: error,
                    created_at: created,
                })
            },
        )
        .collect()
}

/// Enqueue `writes` for `decision_id`: only the values not written to the
/// record before, merged over (and replacing) a write still pending for it.
fn enqueue(
    tx: &Connection,
    decision_id: &str,
    writes: &[OutboxWrite],
    now_ms: i64,
) -> Result<(), OpError> {
    for w in writes {
        let written: Option<String> = tx
            .prepare_cached(
                "SELECT payload FROM outbox_written WHERE connection = ?1 AND record = ?2",
            )?
            .query_row(params![w.connection, w.record], |r| r.get(0))
            .optional()?;
        let written = match written {
            Some(text) => parse("outbox written", &text)?,
            None => serde_json::Value::Null,
        };
        let Some(fresh) = outbox::unwritten(&w.payload, &written) else {
            continue;
        };
        tx.prepare_cached(
            "INSERT INTO outbox_written (connection, record, payload) VALUES (?1, ?2, ?3)
             ON CONFLICT (connection, record) DO UPDATE SET payload = excluded.payload",
        )?
        .execute(params![
            w.connection,
            w.record,
            to_json("outbox written", &outbox::merged(&written, &fresh))?
        ])?;
        let pending: Vec<(i64, String)> = tx
            .prepare_cached(
                "SELECT id, payload FROM outbox
                 WHERE connection = ?1 AND record = ?2 AND status = 'pending' ORDER BY id",
            )?
            .query_map(params![w.connection, w.record], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut payload = serde_json::Value::Null;
        for (id, old) in &pending {
            payload = outbox::merged(&payload, &parse("outbox payload", old)?);
            tx.run("DELETE FROM outbox WHERE id = ?1", params![id])?;
        }
        let payload = outbox::merged(&payload, &fresh);
        tx.prepare_cached(
            "INSERT INTO outbox
                 (connection, record, decision_id, payload, status, next_attempt_at, created_at)
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
        )?
        .execute(params![
            w.connection,
            w.record,
            decision_id,
            to_json("the outbox payload", &payload)?,
            now_ms
        ])?;
    }
    Ok(())
}

/// The timers' clock: this machine's (one process owns a SQLite file) plus
/// the stored offset.
fn clock(conn: &Connection) -> Result<i64, OpError> {
    let offset: Option<i64> = conn
        .prepare_cached("SELECT offset_ms FROM clock WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(chrono::Utc::now().timestamp_millis() + offset.unwrap_or(0))
}

/// Forget what was written to the record of row `id`: its write did not
/// land (dead) or was dropped, so the next decision writes every value.
fn forget_written(tx: &Connection, id: i64) -> Result<(), OpError> {
    tx.run(
        "DELETE FROM outbox_written WHERE (connection, record) IN
             (SELECT connection, record FROM outbox WHERE id = ?1)",
        params![id],
    )?;
    Ok(())
}

/// An event's claim and, once decided, its decision.
const CLAIMED: &str = "SELECT i.status, i.claimed_at, d.doc
     FROM idempotency i LEFT JOIN decisions d ON d.id = i.decision_id
     WHERE i.source = ?1 AND i.dedup_key = ?2";

pub struct SqliteStore {
    at: String,
    writer: Mutex<Writer>,
    /// Signalled when a batch settles (committed or failed).
    settled: Condvar,
    /// Writes waiting for the writer: the batch stays open for them.
    queued: AtomicUsize,
    /// Read-only connections; `None` in memory, where the writer is the database.
    readers: Option<r2d2::Pool<SqliteReaders>>,
}

/// The most writes one transaction holds: under a steady stream of writes
/// the batch still commits, so no answer waits long.
const MAX_BATCH: usize = 64;

/// The single writer connection and its group commit: writes that queue up
/// while one runs join its transaction (each in its own savepoint, so one
/// write's failure undoes only its own work), and the last of them commits
/// for all. Every writer returns only once its batch committed.
struct Writer {
    conn: Connection,
    /// The open batch: its number and how many writes it holds.
    open: Option<(u64, usize)>,
    /// Batches are numbered from 1; all up to `settled` have ended.
    last: u64,
    settled: u64,
    /// The recent batches whose COMMIT failed, with why.
    failed: VecDeque<(u64, String)>,
    /// In memory the readers share this connection, and must not see a batch
    /// before it commits: every write commits alone.
    group: bool,
}

/// Statements through the connection's statement cache: `Connection::execute`
/// and `query_row` parse their SQL on every call (a tenth of a webhook's CPU).
trait Cached {
    fn run<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    fn row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn run<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}

fn connect(path: Option<&str>, read_only: bool) -> rusqlite::Result<Connection> {
    let conn = match path {
        None => Connection::open_in_memory()?,
        Some(path) => {
            let flags = if read_only {
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
            } else {
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
            };
            Connection::open_with_flags(path, flags)?
        }
    };
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Room for every statement the store runs (rusqlite keeps 16).
    conn.set_prepared_statement_cache_capacity(128);
    // One query plan per statement, whatever its parameters: otherwise
    // SQLite marks a statement's `col = ?` terms as plan-dependent, and
    // rusqlite clearing the bindings as the statement goes back to its cache
    // makes SQLite parse and plan it again on its next use (every claim was
    // re-prepared: 9% of the server's CPU under load).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    if !read_only {
        // `memory` for an in-memory database, `wal` for a file. Switching a new
        // file to WAL can answer SQLITE_BUSY at once, without the busy handler,
        // while another process opens it too (replicas starting together):
        // retry within the busy timeout.
        let started = std::time::Instant::now();
        loop {
            match conn.row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
                Ok(_) => break,
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy
                        && started.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(e) => return Err(e),
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
    }
    Ok(conn)
}

/// Read-only SQLite connections to one file.
struct SqliteReaders(String);

impl r2d2::ManageConnection for SqliteReaders {
    type Connection = rusqlite::Connection;
    type Error = rusqlite::Error;

    fn connect(&self) -> Result<Self::Connection, Self::Error> {
        connect(Some(&self.0), true)
    }

    fn is_valid(&self, conn: &mut Self::Connection) -> Result<(), Self::Error> {
        conn.execute_batch("")
    }

    fn has_broken(&self, _conn: &mut Self::Connection) -> bool {
        false
    }
}

impl SqliteStore {
    /// Open the file at `path` (`None`: in memory) and migrate it.
    pub fn open(path: Option<&str>) -> StoreResult<SqliteStore> {
        let at = format!("sqlite {}", path.unwrap_or(":memory:"));
        let fail = |op: &str, e: rusqlite::Error| {
            let mut message = e.to_string();
            if let Some(dir) = path
                .and_then(|p| std::path::Path::new(p).parent())
                .filter(|d| !d.as_os_str().is_empty() && !d.exists())
            {
                message += &format!(" (the folder `{}` does not exist)", dir.display());
            }
            StoreError::Db {
                at: at.clone(),
                op: op.into(),
                message,
            }
        };
        let mut writer = connect(path, false).map_err(|e| fail("open", e))?;
        migrate(&mut writer).map_err(|e| match e {
            Migration::Db(e) => fail("migrate", e),
            Migration::TooNew(message) => StoreError::Db {
                at: at.clone(),
                op: "migrate".into(),
                message,
            },
        })?;
        let readers = path.map(|p| pool::new(SqliteReaders(p.to_string()), READERS));
        Ok(SqliteStore {
            at,
            writer: Mutex::new(Writer {
                conn: writer,
                open: None,
                last: 0,
                settled: 0,
                failed: VecDeque::new(),
                group: path.is_some(),
            }),
            settled: Condvar::new(),
            queued: AtomicUsize::new(0),
            readers,
        })
    }

    fn err(&self, op: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
        let op = op.into();
        move |e| StoreError::Db {
            at: self.at.clone(),
            op,
            message: e.to_string(),
        }
    }

    fn fail(&self, op: impl Into<String>, message: impl Into<String>) -> StoreError {
        StoreError::Db {
            at: self.at.clone(),
            op: op.into(),
            message: message.into(),
        }
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        // A panicking write was rolled back to its savepoint before unwinding.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run `f` in a `BEGIN IMMEDIATE` transaction on the writer, shared with
    /// the writes queued behind it (see [`Writer`]): `f`'s work is kept on
    /// `Ok` and undone on `Err`; either way this returns once the batch
    /// committed, so an answer never runs ahead of its commit.
    fn write<T>(
        &self,
        op: &str,
        f: impl FnOnce(&Connection) -> Result<T, OpError>,
    ) -> StoreResult<T> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut w = self.writer();
        self.queued.fetch_sub(1, Ordering::SeqCst);
        let (batch, writes) = match w.open {
            Some((batch, writes)) => (batch, writes + 1),
            None => {
                w.conn
                    .run("BEGIN IMMEDIATE", [])
                    .map(drop)
                    .map_err(self.err(op))?;
                w.last += 1;
                (w.last, 1)
            }
        };
        w.open = Some((batch, writes));
        let value = match w.conn.run("SAVEPOINT write", []) {
            Err(e) => Err(OpError::Db(e)),
            Ok(_) => {
                let conn = &w.conn;
                let value = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)));
                let ended = match &value {
                    Ok(Ok(_)) => w.conn.run("RELEASE write", []).map(drop),
                    _ => w.conn.execute_batch("ROLLBACK TO write; RELEASE write"),
                };
                if let Err(e) = ended {
                    tracing::error!("sqlite: ending a write's savepoint failed: {e}");
                }
                match value {
                    Ok(value) => value,
                    Err(panic) => {
                        // Settle the batch first: the writes sharing it wait for it.
                        self.settle(&mut w, batch, writes);
                        drop(w);
                        std::panic::resume_unwind(panic);
                    }
                }
            }
        };
        self.settle(&mut w, batch, writes);
        while w.settled < batch {
            w = self.settled.wait(w).unwrap_or_else(|e| e.into_inner());
        }
        if let Some((_, message)) = w.failed.iter().find(|(b, _)| *b == batch) {
            return Err(self.fail(op, format!("commit failed: {message}")));
        }
        drop(w);
        value.map_err(|e| e.into_store(self, op))
    }

    /// Commit the open batch unless a queued write will join it (the last one
    /// to join commits).
    fn settle(&self, w: &mut Writer, batch: u64, writes: usize) {
        if w.group && writes < MAX_BATCH && self.queued.load(Ordering::SeqCst) > 0 {
            return;
        }
        if let Err(e) = w.conn.run("COMMIT", []) {
            let _ = w.conn.execute_batch("ROLLBACK");
            w.failed.push_back((batch, e.to_string()));
            if w.failed.len() > 64 {
                w.failed.pop_front();
            }
        }
        w.open = None;
        w.settled = batch;
        self.settled.notify_all();
    }

    /// Run a read on a reader connection (the writer, in memory).
    fn read<T>(
        &self,
        op: &str,
        f: impl FnOnce(&Connection) -> Result<T, OpError>,
    ) -> StoreResult<T> {
        let result = match &self.readers {
            Some(readers) => f(&*readers.get().map_err(|e| pool::unavailable(&self.at, e))?),
            None => f(&self.writer().conn),
        };
        result.map_err(|e| e.into_store(self, op))
    }
}

type OpError = codec::OpError<rusqlite::Error>;

impl OpError {
    fn into_store(self, store: &SqliteStore, op: &str) -> StoreError {
        match self {
            OpError::Db(e) => store.err(op)(e),
            OpError::Data(message) => store.fail(op, message),
            OpError::Store(e) => e,
        }
    }
}

enum Migration {
    Db(rusqlite::Error),
    TooNew(String),
}

impl From<rusqlite::Error> for Migration {
    fn from(e: rusqlite::Error) -> Migration {
        Migration::Db(e)
    }
}

/// Apply the migrations this database lacks, in one transaction (another
/// process migrating at the same moment waits, then finds nothing to do).
fn migrate(conn: &mut Connection) -> Result<(), Migration> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
            version    INTEGER PRIMARY KEY,
            applied_at INTEGER NOT NULL  -- ms since the epoch
        )",
    )?;
    let current: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?;
    let known = MIGRATIONS.len() as i64;
    if current > known {
        return Err(Migration::TooNew(format!(
            "the database's schema is version {current}, newer than this leadwire knows \
             (up to {known}): run a newer leadwire"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
            params![version as i64 + 1, chrono::Utc::now().timestamp_millis()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

impl StateStore for SqliteStore {
    fn usage(&self, namespace: &str) -> StateResult<Usage> {
        Ok(self.read(&format!("state usage of `{namespace}`"), |conn| {
            Ok(conn.row(
                "SELECT count(*), coalesce(sum(length(CAST(key AS BLOB)) + length(CAST(value AS BLOB))), 0)
                 FROM plugin_state WHERE namespace = ?1",
                params![namespace],
                |r| {
                    Ok(Usage {
                        keys: r.get::<_, i64>(0)? as u64,
                        bytes: r.get::<_, i64>(1)? as u64,
                    })
                },
            )?)
        })?)
    }

    fn get(&self, namespace: &str, key: &str) -> StateResult<Option<String>> {
        Ok(self.read(&state_op("get", namespace, key), |conn| {
            Ok(conn
                .row(
                    "SELECT value FROM plugin_state WHERE namespace = ?1 AND key = ?2",
                    params![namespace, key],
                    |r| r.get(0),
                )
                .optional()?)
        })?)
    }

    fn set(&self, namespace: &str, key: &str, value: &str) -> StateResult<()> {
        codec::check_text("the value", key, value)?;
        Ok(self.write(&state_op("set", namespace, key), |tx| {
            tx.run(
                "INSERT INTO plugin_state (namespace, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value",
                params![namespace, key, value],
            )?;
            Ok(())
        })?)
    }

    fn delete(&self, namespace: &str, key: &str) -> StateResult<()> {
        Ok(self.write(&state_op("delete", namespace, key), |tx| {
            tx.run(
                "DELETE FROM plugin_state WHERE namespace = ?1 AND key = ?2",
                params![namespace, key],
            )?;
            Ok(())
        })?)
    }

    fn increment(&self, namespace: &str, key: &str, delta: i64) -> StateResult<i64> {
        // The outer error is the database failing; the inner one, the value.
        self.write(&state_op("increment", namespace, key), |tx| {
            let current: Option<String> = tx
                .row(
                    "SELECT value FROM plugin_state WHERE namespace = ?1 AND key = ?2",
                    params![namespace, key],
                    |r| r.get(0),
                )
                .optional()?;
            let current = match current {
                None => 0,
                Some(text) => match text.parse::<i64>() {
                    Ok(n) => n,
                    Err(_) => return Ok(Err(codec::not_an_integer(key, &text))),
                },
            };
            let Some(new) = current.checked_add(delta) else {
                return Ok(Err(codec::overflow(key)));
            };
            tx.run(
                "INSERT INTO plugin_state (namespace, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value",
                params![namespace, key, new.to_string()],
            )?;
            Ok(Ok(new))
        })
        .unwrap_or_else(|e| Err(e.into()))
    }

    fn compare_and_swap(
        &self,
        namespace: &str,
        key: &str,
        expected: Option<&str>,
        new: &str,
    ) -> StateResult<bool> {
        codec::check_text("the new value", key, new)?;
        Ok(
            self.write(&state_op("compare-and-swap", namespace, key), |tx| {
                let swapped = match expected {
                    None => tx.run(
                        "INSERT INTO plugin_state (namespace, key, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT (namespace, key) DO NOTHING",
                        params![namespace, key, new],
                    )?,
                    Some(expected) => tx.run(
                        "UPDATE plugin_state SET value = ?3
                     WHERE namespace = ?1 AND key = ?2 AND value = ?4",
                        params![namespace, key, new, expected],
                    )?,
                };
                Ok(swapped == 1)
            })?,
        )
    }
}

impl Store for SqliteStore {
    fn location(&self) -> &str {
        &self.at
    }

    fn ping(&self) -> StoreResult<()> {
        self.read("ping", |conn| {
            conn.row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
    }

    fn merge_lead(&self, source: &str, update: &LeadDoc, at_ms: i64) -> StoreResult<Merged> {
        let op = format!("merge lead `{}` of source `{source}`", update.id);
        self.write(&op, |tx| {
            let row: Option<(String, String)> = tx
                .row(
                    "SELECT doc, field_times FROM lead_snapshots
                     WHERE source = ?1 AND lead_id = ?2",
                    params![source, update.id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let row = merge_row(
                row.as_ref().map(|(d, t)| (d.as_str(), t.as_str())),
                update,
                at_ms,
            )?;
            tx.run(
                "INSERT INTO lead_snapshots (source, lead_id, doc, field_times, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (source, lead_id) DO UPDATE SET
                     doc = excluded.doc,
                     field_times = excluded.field_times,
                     updated_at = MAX(updated_at, excluded.updated_at)",
                params![source, update.id, row.doc, row.field_times, at_ms],
            )?;
            Ok(row.merged)
        })
    }

    fn snapshot(&self, source: &str, lead_id: &str) -> StoreResult<Option<LeadDoc>> {
        let op = format!("read lead `{lead_id}` of source `{source}`");
        self.read(&op, |conn| {
            let doc: Option<String> = conn
                .row(
                    "SELECT doc FROM lead_snapshots WHERE source = ?1 AND lead_id = ?2",
                    params![source, lead_id],
                    |r| r.get(0),
                )
                .optional()?;
            doc.map(|doc| parse("lead", &doc)).transpose()
        })
    }

    fn claim(
        &self,
        source: &str,
        dedup_key: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> StoreResult<Claim> {
        let op = format!("claim `{dedup_key}` of source `{source}`");
        self.write(&op, |tx| {
            let row: Option<(String, i64, Option<String>)> = tx
                .row(CLAIMED, params![source, dedup_key], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?;
            match row {
                None => {
                    tx.run(
                        "INSERT INTO idempotency (source, dedup_key, status, claimed_at)
                         VALUES (?1, ?2, 'pending', ?3)",
                        params![source, dedup_key, now_ms],
                    )?;
                    Ok(Claim::New)
                }
                Some((status, _, doc)) if status == "done" => not_claimed(&status, doc.as_deref()),
                Some((_, claimed_at, _)) if now_ms.saturating_sub(claimed_at) < lease_ms => {
                    Ok(Claim::InProgress)
                }
                Some(_) => {
                    // An expired claim (its worker crashed or is too slow): take it over.
                    tx.run(
                        "UPDATE idempotency SET claimed_at = ?3
                         WHERE source = ?1 AND dedup_key = ?2",
                        params![source, dedup_key, now_ms],
                    )?;
                    Ok(Claim::New)
                }
            }
        })
    }

    fn record_with_effects(
        &self,
        source: &str,
        dedup_key: &str,
        decision: &Decision,
        writes: &[OutboxWrite],
        timers: &[TimerChange],
    ) -> StoreResult<()> {
        let op = format!(
            "record decision {} for `{dedup_key}` of source `{source}`",
            decision.id
        );
        self.write(&op, |tx| {
            let decided_at = codec::decided_at_ms(decision)?;
            tx.run(
                "INSERT INTO decisions
                     (id, source, lead_id, event_id, pipeline, status, decided_at, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (id) DO NOTHING",
                params![
                    decision.id,
                    source,
                    decision.lead_id,
                    decision.event_id,
                    decision.pipeline,
                    codec::status_text(decision),
                    decided_at,
                    to_json("the decision", decision)?
                ],
            )?;
            let marked = tx
                .row(
                    "INSERT INTO idempotency (source, dedup_key, status, claimed_at, decision_id)
                     VALUES (?1, ?2, 'done', ?3, ?4)
                     ON CONFLICT (source, dedup_key) DO UPDATE SET
                         status = 'done', decision_id = excluded.decision_id
                     WHERE idempotency.status = 'pending'
                     RETURNING 1",
                    params![source, dedup_key, decided_at, decision.id],
                    |_| Ok(()),
                )
                .optional()?;
            if marked.is_some() {
                enqueue(tx, &decision.id, writes, decided_at)?;
                return apply_timers(tx, source, &decision.lead_id, &decision.id, timers);
            }
            // Already done: by this very decision (a retried record), or by another.
            let (existing_id, existing_doc): (String, String) = tx.row(
                "SELECT d.id, d.doc FROM idempotency i JOIN decisions d ON d.id = i.decision_id
                 WHERE i.source = ?1 AND i.dedup_key = ?2",
                params![source, dedup_key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            already_done(
                &self.at,
                source,
                dedup_key,
                decision,
                &existing_id,
                &existing_doc,
            )
        })
    }

    fn claim_outbox(
        &self,
        connection: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<OutboxRow>> {
        self.write(&format!("claim outbox rows of {connection}"), |tx| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            // Due rows, oldest first; none behind an older row for the same
            // record (writes to one record land in order).
            let mut stmt = tx.prepare_cached(&format!(
                "UPDATE outbox SET status = 'inflight', lease_until = ?1 + ?2,
                     attempts = attempts + 1
                 WHERE id IN (
                     SELECT id FROM outbox o
                     WHERE o.connection = ?4
                       AND ((o.status = 'pending' AND o.next_attempt_at <= ?1)
                            OR (o.status = 'inflight' AND o.lease_until < ?1))
                       AND NOT EXISTS (
                           SELECT 1 FROM outbox b
                           WHERE b.connection = o.connection AND b.record = o.record
                             AND b.status IN ('pending', 'inflight') AND b.id < o.id)
                     ORDER BY o.id LIMIT ?3)
                 RETURNING {OUTBOX_COLUMNS}"
            ))?;
            let mut rows = outbox_rows(&mut stmt, params![now_ms, lease_ms, limit, connection])?;
            rows.sort_by_key(|r| r.id);
            Ok(rows)
        })
    }

    fn settle_outbox(
        &self,
        settled: &[(&OutboxRow, Settled)],
        now_ms: i64,
        dead_alerts: &DeadAlerts,
    ) -> StoreResult<Vec<bool>> {
        self.write(&format!("settle {} outbox rows", settled.len()), |tx| {
            let mut out = Vec::with_capacity(settled.len());
            for (row, how) in settled {
                let (status, next, error, uncounted) = how.columns(now_ms);
                // Only this claim's lease: a worker whose lease ran out (and
                // whose row another claim took, counting an attempt) settles nothing.
                let changed = tx
                    .prepare_cached(
                        "UPDATE outbox SET status = ?2, next_attempt_at = ?3, lease_until = NULL,
                             last_error = COALESCE(?4, last_error),
                             attempts = attempts - ?5
                         WHERE id = ?1 AND status = 'inflight' AND attempts = ?6",
                    )?
                    .execute(params![
                        row.id,
                        status,
                        next,
                        error,
                        i32::from(uncounted),
                        row.attempts
                    ])?;
                if changed > 0 && status == "dead" {
                    forget_written(tx, row.id)?;
                    let alerts = dead_alerts(row, error.unwrap_or_default());
                    enqueue(tx, &row.decision_id, &alerts, now_ms)?;
                }
                out.push(changed > 0);
            }
            Ok(out)
        })
    }

    fn clock_ms(&self) -> StoreResult<i64> {
        self.read("read the clock", |conn| clock(conn))
    }

    fn advance_clock(&self, by_ms: i64) -> StoreResult<i64> {
        self.write("move the clock", |tx| {
            tx.run(
                "INSERT INTO clock (id, offset_ms) VALUES (1, ?1)
                 ON CONFLICT (id) DO UPDATE SET offset_ms = offset_ms + excluded.offset_ms",
                params![by_ms],
            )?;
            clock(tx)
        })
    }

    fn claim_timers(&self, lease_ms: i64, limit: usize) -> StoreResult<(i64, Vec<TimerRow>)> {
        self.write("claim due timers", |tx| {
            let now = clock(tx)?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let mut stmt = tx.prepare_cached(&format!(
                "UPDATE sla_timers SET lease_until = ?1 + ?2
                 WHERE id IN (
                     SELECT id FROM sla_timers
                     WHERE state = 'pending' AND due_at <= ?1
                       AND (lease_until IS NULL OR lease_until < ?1)
                     ORDER BY due_at, id LIMIT ?3)
                 RETURNING {TIMER_COLUMNS}"
            ))?;
            let mut rows = timer_rows(&mut stmt, params![now, lease_ms, limit])?;
            rows.sort_by_key(|r| (r.due_at(), r.id));
            Ok((now, rows))
        })
    }

    fn fire_timer(
        &self,
        row: &TimerRow,
        fired: &Fired,
        now_ms: i64,
        alerts: &[OutboxWrite],
    ) -> StoreResult<bool> {
        self.write(&format!("fire timer {}", row.id), |tx| {
            let checkpoint = i64::try_from(row.checkpoint).unwrap_or(i64::MAX);
            let next = row.dues.get(row.checkpoint + 1).copied();
            let (state, note, ended) = match fired {
                Fired::Warned => ("pending", None, None),
                Fired::Breached(why) => ("breached", Some(why.as_str()), Some(now_ms)),
            };
            let changed = tx.run(
                "UPDATE sla_timers SET checkpoint = checkpoint + 1, due_at = ?3,
                     fired = json_insert(fired, '$[#]', ?4), state = ?5,
                     note = COALESCE(?6, note), ended_at = ?7, lease_until = NULL
                 WHERE id = ?1 AND state = 'pending' AND checkpoint = ?2",
                params![row.id, checkpoint, next, now_ms, state, note, ended],
            )?;
            if changed > 0 {
                enqueue(
                    tx,
                    &row.decision_id,
                    alerts,
                    chrono::Utc::now().timestamp_millis(),
                )?;
            }
            Ok(changed > 0)
        })
    }

    fn timers(&self, source: &str, lead_id: &str) -> StoreResult<Vec<TimerRow>> {
        self.read("read the lead's timers", |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {TIMER_COLUMNS} FROM sla_timers WHERE source = ?1 AND lead_id = ?2
                 ORDER BY id"
            ))?;
            timer_rows(&mut stmt, params![source, lead_id])
        })
    }

    fn sla_figures(&self) -> StoreResult<SlaFigures> {
        self.read("count the SLA timers", |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT policy, state, count(*) FROM sla_timers GROUP BY policy, state
                 ORDER BY policy, state",
            )?;
            let timers = stmt
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?.unsigned_abs()))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut stmt = conn.prepare_cached(&timers::touch_query("INTEGER"))?;
            let touch = stmt
                .query_map([], |r| {
                    let numbers = (1..28)
                        .map(|i| r.get::<_, Option<i64>>(i).map(Option::unwrap_or_default))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(timers::touch_figures(r.get(0)?, &numbers))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(SlaFigures { timers, touch })
        })
    }

    fn outbox(&self, status: Option<&str>, limit: usize) -> StoreResult<Vec<OutboxRow>> {
        self.read("read the outbox", |conn| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE (?1 IS NULL OR status = ?1)
                 ORDER BY id LIMIT ?2"
            ))?;
            outbox_rows(&mut stmt, params![status, limit])
        })
    }

    fn outbox_for(&self, record: &str, limit: usize) -> StoreResult<Vec<OutboxRow>> {
        self.read("read the record's writes", |conn| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE record = ?1 ORDER BY id LIMIT ?2"
            ))?;
            outbox_rows(&mut stmt, params![record, limit])
        })
    }

    fn outbox_with_prefix(&self, prefix: &str, limit: usize) -> StoreResult<Vec<OutboxRow>> {
        let end = outbox::prefix_end(prefix);
        self.read("read the lead's alerts", |conn| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE record >= ?1 AND record < ?2
                 ORDER BY id LIMIT ?3"
            ))?;
            outbox_rows(&mut stmt, params![prefix, end, limit])
        })
    }

    fn written(&self, connection: &str, record: &str) -> StoreResult<Option<serde_json::Value>> {
        self.read("read what was written to the record", |conn| {
            let text: Option<String> = conn
                .prepare_cached(
                    "SELECT payload FROM outbox_written WHERE connection = ?1 AND record = ?2",
                )?
                .query_row(params![connection, record], |r| r.get(0))
                .optional()?;
            text.map(|t| parse("outbox written", &t)).transpose()
        })
    }

    fn retry_outbox(&self, id: i64, now_ms: i64) -> StoreResult<bool> {
        self.write(&format!("retry outbox row {id}"), |tx| {
            let changed = tx.run(
                "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?2
                 WHERE id = ?1 AND status IN ('dead', 'pending')",
                params![id, now_ms],
            )?;
            Ok(changed > 0)
        })
    }

    fn outbox_counts(&self) -> StoreResult<Vec<OutboxCount>> {
        self.read("count the outbox", |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT connection, status, COUNT(*), MIN(created_at) FROM outbox
                 WHERE status IN ('pending', 'inflight', 'dead')
                 GROUP BY connection, status ORDER BY connection, status",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(OutboxCount {
                        connection: r.get(0)?,
                        status: r.get(1)?,
                        rows: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                        oldest_created_at: r.get(3)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn outbox_row(&self, id: i64) -> StoreResult<Option<OutboxRow>> {
        self.read(&format!("read outbox row {id}"), |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = ?1"
            ))?;
            Ok(outbox_rows(&mut stmt, params![id])?.pop())
        })
    }

    fn drop_outbox(&self, id: i64) -> StoreResult<bool> {
        self.write(&format!("drop outbox row {id}"), |tx| {
            forget_written(tx, id)?;
            let changed = tx.run(
                "DELETE FROM outbox WHERE id = ?1 AND status IN ('dead', 'pending')",
                params![id],
            )?;
            Ok(changed > 0)
        })
    }

    fn release(&self, source: &str, dedup_key: &str) -> StoreResult<()> {
        let op = format!("release `{dedup_key}` of source `{source}`");
        self.write(&op, |tx| {
            tx.run(
                "DELETE FROM idempotency
                 WHERE source = ?1 AND dedup_key = ?2 AND status = 'pending'",
                params![source, dedup_key],
            )?;
            Ok(())
        })
    }

    fn count_attempt(&self, source: &str, dedup_key: &str) -> StoreResult<u32> {
        let op = format!("count an attempt at `{dedup_key}` of source `{source}`");
        self.write(&op, |tx| {
            let count: i64 = tx.row(
                "INSERT INTO attempts (source, dedup_key, count) VALUES (?1, ?2, 1)
                 ON CONFLICT (source, dedup_key) DO UPDATE SET count = count + 1
                 RETURNING count",
                params![source, dedup_key],
                |r| r.get(0),
            )?;
            Ok(u32::try_from(count).unwrap_or(u32::MAX))
        })
    }

    fn decisions_with_status(
        &self,
        status: &str,
        source: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Decision>> {
        let op = format!("read decisions with status `{status}`");
        self.read(&op, |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT doc FROM decisions
                 WHERE status = ?1 AND (?2 IS NULL OR source = ?2)
                 ORDER BY decided_at DESC, seq DESC
                 LIMIT ?3",
            )?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let docs = stmt
                .query_map(params![status, source, limit], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            docs.iter().map(|doc| parse("decision", doc)).collect()
        })
    }

    fn decisions(&self, source: &str, lead_id: &str, limit: usize) -> StoreResult<Vec<Decision>> {
        let op = format!("read decisions of lead `{lead_id}` of source `{source}`");
        self.read(&op, |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT doc FROM decisions
                 WHERE source = ?1 AND lead_id = ?2
                 ORDER BY decided_at DESC, seq DESC
                 LIMIT ?3",
            )?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let docs = stmt
                .query_map(params![source, lead_id, limit], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            docs.iter().map(|doc| parse("decision", doc)).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cached statement run again with other parameters is not parsed and
    /// planned again (see `connect`).
    #[test]
    fn cached_statements_are_not_prepared_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        drop(SqliteStore::open(path.to_str()).unwrap());
        // Without the setting, the same statement is prepared again on every
        // use after the first (what the test guards against).
        let conn = connect(path.to_str(), false).unwrap();
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            false,
        )
        .unwrap();
        let reprepared = |conn: &Connection, key: &str| {
            let mut stmt = conn.prepare_cached(CLAIMED).unwrap();
            let found = stmt.query_row(params!["s", key], |_| Ok(())).optional();
            assert!(found.unwrap().is_none());
            stmt.get_status(rusqlite::StatementStatus::RePrepare)
        };
        reprepared(&conn, "a");
        assert!(reprepared(&conn, "b") > 0);
        drop(conn);
        for read_only in [false, true] {
            let conn = connect(path.to_str(), read_only).unwrap();
            for key in ["a", "b", "c"] {
                assert_eq!(
                    reprepared(&conn, key),
                    0,
                    "read_only {read_only}, key {key}"
                );
            }
        }
    }
}
