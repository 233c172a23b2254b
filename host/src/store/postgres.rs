//! The PostgreSQL backend, for several replicas of the host on one database.
//!
//! Every operation is one statement or one transaction, atomic across
//! replicas at PostgreSQL's default isolation (read committed): plugin state
//! and claims are single upserts (`INSERT .. ON CONFLICT .. DO UPDATE ..
//! RETURNING`), a snapshot merge locks the lead's row (`SELECT .. FOR
//! UPDATE`), and recording a decision writes the log and the key together.
//! Migrations run under a transaction-scoped advisory lock, so replicas that
//! start at once migrate one after the other.
//!
//! JSON columns are `json` (the text as written, which unlike `jsonb` can hold
//! any string a CRM sends, `\u0000` included); the sync `postgres` client runs
//! its own small runtime, so it is called from blocking threads only.

use std::time::Duration;

use ::postgres::error::SqlState;
use ::postgres::types::ToSql;
use ::postgres::{Client, Config, NoTls};

use super::DeadAlerts;
use super::codec::{self, already_done, merge_row, not_claimed, parse, state_op, to_json};
use super::outbox::{self, OutboxCount, OutboxRow, OutboxWrite, Settled};
use super::pool;
use super::prepared::{PgConn, Tx};
use super::snapshot::Merged;
use super::timers::{self, Fired, SlaFigures, TimerChange, TimerRow};
use super::{Claim, Store, StoreError, StoreResult};
use crate::capabilities::{StateResult, StateStore, Usage};
use crate::decision::Decision;
use crate::lead::LeadDoc;

/// Connections per host process.
const POOL_SIZE: u32 = 8;
/// Unless the url says otherwise (`connect_timeout=`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The advisory lock that serializes migrations across replicas ("leadwire" in ASCII).
const MIGRATION_LOCK: i64 = 0x6c65_6164_7769_7265;

/// The migrations, in order: version N is `MIGRATIONS[N - 1]`. Never edit a
/// released one; add the next.
const MIGRATIONS: &[&str] = &[
    // 1: lead snapshots, plugin state, the decision log, idempotency keys.
    "
    CREATE TABLE lead_snapshots (
        source      TEXT   NOT NULL,
        lead_id     TEXT   NOT NULL,
        doc         JSON   NOT NULL,  -- the merged lead (LeadDoc)
        field_times JSON   NOT NULL,  -- when each value was set (FieldTimes)
        updated_at  BIGINT NOT NULL,  -- the newest event time merged, ms since the epoch
        PRIMARY KEY (source, lead_id)
    );

    CREATE TABLE plugin_state (
        namespace TEXT NOT NULL,      -- the plugin install
        key       TEXT NOT NULL,
        value     TEXT NOT NULL,
        PRIMARY KEY (namespace, key)
    );

    CREATE TABLE decisions (
        seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- the order recorded in
        id         TEXT   NOT NULL UNIQUE,
        source     TEXT   NOT NULL,
        lead_id    TEXT   NOT NULL,
        event_id   TEXT   NOT NULL,
        pipeline   TEXT   NOT NULL,
        status     TEXT   NOT NULL,   -- ok | error
        decided_at BIGINT NOT NULL,   -- ms since the epoch
        doc        JSON   NOT NULL    -- the Decision
    );
    CREATE INDEX decisions_by_lead ON decisions (source, lead_id, decided_at, seq);

    CREATE TABLE idempotency (
        source      TEXT   NOT NULL,
        dedup_key   TEXT   NOT NULL,
        status      TEXT   NOT NULL CHECK (status IN ('pending', 'done')),
        claimed_at  BIGINT NOT NULL,  -- ms since the epoch
        decision_id TEXT   REFERENCES decisions (id),
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
    CREATE INDEX decisions_by_status ON decisions (status, decided_at, seq);
    ",
    // 3: the outbox: writes to the CRMs, committed with their decisions.
    "
    CREATE TABLE outbox (
        id              BIGSERIAL PRIMARY KEY,
        connection      TEXT    NOT NULL,
        record          TEXT    NOT NULL,   -- the CRM record written
        decision_id     TEXT    NOT NULL,
        payload         JSON    NOT NULL,   -- in the connection's terms
        status          TEXT    NOT NULL
                        CHECK (status IN ('pending', 'inflight', 'done', 'dead')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT  NOT NULL,   -- ms since the epoch
        lease_until     BIGINT,             -- while inflight
        last_error      TEXT,
        created_at      BIGINT  NOT NULL
    );
    CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
    CREATE INDEX outbox_by_record ON outbox (connection, record, status);
    ",
    // 4: what was written to each CRM record (enqueued and not dead), so a
    // decision writes only what changed; requests sent per connection and
    // window by every replica, so they share a CRM's rate limit.
    "
    CREATE TABLE outbox_written (
        connection TEXT NOT NULL,
        record     TEXT NOT NULL,
        payload    JSON NOT NULL,   -- every value enqueued, merged
        PRIMARY KEY (connection, record)
    );
    CREATE TABLE rate_windows (
        connection   TEXT    NOT NULL,
        window_start BIGINT  NOT NULL,  -- ms since the epoch, a multiple of the window
        used         INTEGER NOT NULL,
        PRIMARY KEY (connection, window_start)
    );
    ",
    // 5: SLA timers, and the offset a drill or a test moves their clock by.
    "
    CREATE TABLE sla_timers (
        id          BIGSERIAL PRIMARY KEY,
        source      TEXT    NOT NULL,
        lead_id     TEXT    NOT NULL,
        policy      TEXT    NOT NULL,
        owner       TEXT    NOT NULL,
        decision_id TEXT    NOT NULL,   -- the assignment that started it
        started_at  BIGINT  NOT NULL,
        dues        JSONB   NOT NULL,   -- each checkpoint's due time
        fired       JSONB   NOT NULL,   -- when each fired checkpoint fired
        checkpoint  INTEGER NOT NULL,   -- the next one to fire
        due_at      BIGINT,             -- its due time; NULL when none is left
        state       TEXT    NOT NULL
                    CHECK (state IN ('pending', 'met', 'breached', 'cancelled')),
        lease_until BIGINT,
        ended_at    BIGINT,
        note        TEXT
    );
    CREATE INDEX sla_due ON sla_timers (state, due_at);
    CREATE INDEX sla_by_lead ON sla_timers (source, lead_id, policy, state);
    CREATE INDEX outbox_record ON outbox (record, id);
    CREATE TABLE clock (
        id        INTEGER PRIMARY KEY CHECK (id = 1),
        offset_ms BIGINT  NOT NULL
    );
    ",
    // 6: a met timer's working time to first touch, on its calendar.
    "
    ALTER TABLE sla_timers ADD COLUMN business_ms BIGINT;
    CREATE INDEX sla_by_state ON sla_timers (state, policy);
    ",
];

const TIMER_COLUMNS: &str = "id, source, lead_id, policy, owner, decision_id, started_at, \
                             dues::text, fired::text, checkpoint, state, ended_at, note, \
                             business_ms";

/// The database's clock, plus the stored offset: one clock for every replica.
const CLOCK: &str = "((extract(epoch FROM clock_timestamp()) * 1000)::bigint
                      + COALESCE((SELECT offset_ms FROM clock WHERE id = 1), 0))";

fn timer_row(r: &::postgres::Row) -> Result<TimerRow, OpError> {
    Ok(TimerRow {
        id: r.get(0),
        source: r.get(1),
        lead_id: r.get(2),
        policy: r.get(3),
        owner: r.get(4),
        decision_id: r.get(5),
        started_at: r.get(6),
        dues: parse("timer dues", r.get::<_, &str>(7))?,
        fired: parse("timer fired", r.get::<_, &str>(8))?,
        checkpoint: usize::try_from(r.get::<_, i32>(9)).unwrap_or(0),
        state: r.get(10),
        ended_at: r.get(11),
        note: r.get(12),
        business_ms: r.get(13),
    })
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

/// The owner and start of the lead's latest timer of `policy`, any state
/// (locked: two replicas starting one timer serialise).
fn latest_timer(
    tx: &mut Tx<'_>,
    source: &str,
    lead_id: &str,
    policy: &str,
) -> Result<Option<(String, i64)>, OpError> {
    let row = tx.query_opt(
        "SELECT owner, started_at FROM sla_timers
         WHERE source = $1 AND lead_id = $2 AND policy = $3
         ORDER BY id DESC LIMIT 1 FOR UPDATE",
        &[&source, &lead_id, &policy],
    )?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// Cancel the lead's pending timer of the policy (`why`) and start `t`.
fn restart_timer(tx: &mut Tx<'_>, t: &NewTimer, why: &str) -> Result<(), OpError> {
    tx.execute(
        "UPDATE sla_timers SET state = 'cancelled', ended_at = $4, note = $5, lease_until = NULL
         WHERE source = $1 AND lead_id = $2 AND policy = $3 AND state = 'pending'",
        &[&t.source, &t.lead_id, &t.policy, &t.started_at, &why],
    )?;
    tx.execute(
        "INSERT INTO sla_timers (source, lead_id, policy, owner, decision_id,
             started_at, dues, fired, checkpoint, due_at, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, '[]', 0, $8, 'pending')",
        &[
            &t.source,
            &t.lead_id,
            &t.policy,
            &t.owner,
            &t.decision_id,
            &t.started_at,
            &to_json("timer dues", &t.dues)?,
            &t.dues.first().copied(),
        ],
    )?;
    Ok(())
}

/// Apply a decision's timer changes, in order.
fn apply_timers(
    tx: &mut Tx<'_>,
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
                tx.execute(
                    "UPDATE sla_timers SET state = 'met', ended_at = $4, note = $5,
                         lease_until = NULL, business_ms = $6
                     WHERE source = $1 AND lead_id = $2 AND policy = $3 AND state = 'pending'
                       AND ($7::bigint IS NULL OR EXISTS (SELECT 1 FROM decisions d
                            WHERE d.id = sla_timers.decision_id AND d.decided_at <= $7))",
                    &[&source, &lead_id, policy, at, how, business_ms, after],
                )?;
            }
            TimerChange::CancelAll { why, at } => {
                tx.execute(
                    "UPDATE sla_timers SET state = 'cancelled', ended_at = $3, note = $4,
                         lease_until = NULL
                     WHERE source = $1 AND lead_id = $2 AND state = 'pending'",
                    &[&source, &lead_id, at, why],
                )?;
            }
            TimerChange::Breached {
                id,
                checkpoint,
                why,
                at,
            } => {
                let checkpoint = i32::try_from(*checkpoint).unwrap_or(i32::MAX);
                tx.execute(
                    "UPDATE sla_timers SET state = 'breached', ended_at = $3, note = $4,
                         fired = fired || to_jsonb($3::bigint), checkpoint = checkpoint + 1,
                         due_at = NULL, lease_until = NULL
                     WHERE id = $1 AND state = 'pending' AND checkpoint = $2",
                    &[id, &checkpoint, at, why],
                )?;
            }
        }
    }
    Ok(())
}

const OUTBOX_COLUMNS: &str = "id, connection, record, decision_id, payload::text, status, \
                              attempts, next_attempt_at, last_error, created_at";

fn outbox_row(r: &::postgres::Row) -> Result<OutboxRow, OpError> {
    Ok(OutboxRow {
        id: r.get(0),
        connection: r.get(1),
        record: r.get(2),
        decision_id: r.get(3),
        payload: parse("outbox payload", r.get::<_, &str>(4))?,
        status: r.get(5),
        attempts: u32::try_from(r.get::<_, i32>(6)).unwrap_or(0),
        next_attempt_at: r.get(7),
        last_error: r.get(8),
        created_at: r.get(9),
    })
}

/// Enqueue `writes` for `decision_id`: only the values not written to the
/// record before, merged over (and replacing) a write still pending for it.
/// The record's written row is locked first, so two enqueues of one record
/// serialise.
fn enqueue(
    tx: &mut Tx<'_>,
    decision_id: &str,
    writes: &[OutboxWrite],
    now_ms: i64,
) -> Result<(), OpError> {
    for w in writes {
        tx.execute(
            "INSERT INTO outbox_written (connection, record, payload) VALUES ($1, $2, 'null')
             ON CONFLICT (connection, record) DO NOTHING",
            &[&w.connection, &w.record],
        )?;
        let written = tx.query_one(
            "SELECT payload::text FROM outbox_written
             WHERE connection = $1 AND record = $2 FOR UPDATE",
            &[&w.connection, &w.record],
        )?;
        let written = parse("outbox written", written.get::<_, &str>(0))?;
        let Some(fresh) = outbox::unwritten(&w.payload, &written) else {
            continue;
        };
        tx.execute(
            "UPDATE outbox_written SET payload = $3::text::json
             WHERE connection = $1 AND record = $2",
            &[
                &w.connection,
                &w.record,
                &to_json("outbox written", &outbox::merged(&written, &fresh))?,
            ],
        )?;
        let pending = tx.query(
            "SELECT id, payload::text FROM outbox
             WHERE connection = $1 AND record = $2 AND status = 'pending'
             ORDER BY id FOR UPDATE",
            &[&w.connection, &w.record],
        )?;
        let mut payload = serde_json::Value::Null;
        for row in &pending {
            payload = outbox::merged(&payload, &parse("outbox payload", row.get::<_, &str>(1))?);
            tx.execute("DELETE FROM outbox WHERE id = $1", &[&row.get::<_, i64>(0)])?;
        }
        let payload = outbox::merged(&payload, &fresh);
        tx.execute(
            "INSERT INTO outbox
                 (connection, record, decision_id, payload, status, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4::text::json, 'pending', $5, $5)",
            &[
                &w.connection,
                &w.record,
                &decision_id,
                &to_json("the outbox payload", &payload)?,
                &now_ms,
            ],
        )?;
    }
    Ok(())
}

/// `url` without its password and query (which may hold one), for messages.
pub(super) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let rest = rest.split('?').next().unwrap_or_default();
    match rest.rsplit_once('@') {
        Some((userinfo, hosts)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{hosts}")
        }
        None => format!("{scheme}://{rest}"),
    }
}

/// PostgreSQL clients from one parsed configuration.
struct Postgres(::postgres::Config);

impl r2d2::ManageConnection for Postgres {
    type Connection = PgConn;
    type Error = ::postgres::Error;

    fn connect(&self) -> Result<Self::Connection, Self::Error> {
        self.0.connect(::postgres::NoTls).map(PgConn::new)
    }

    fn is_valid(&self, conn: &mut Self::Connection) -> Result<(), Self::Error> {
        conn.client.is_valid(Duration::from_secs(5))
    }

    fn has_broken(&self, conn: &mut Self::Connection) -> bool {
        conn.client.is_closed()
    }
}

pub struct PgStore {
    at: String,
    /// `None` only while it is dropped (see `Drop`).
    pool: Option<r2d2::Pool<Postgres>>,
}

type OpError = codec::OpError<::postgres::Error>;

/// A PostgreSQL error in one line: the server's message and code, or what
/// failed on the way (connecting, the connection closing).
fn describe(e: &::postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text += &format!("; {detail}");
            }
            text
        }
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                let cause_text = cause.to_string();
                if !text.contains(&cause_text) {
                    text += &format!(": {cause_text}");
                }
                source = cause.source();
            }
            text
        }
    }
}

impl PgStore {
    pub fn open(url: &str) -> StoreResult<PgStore> {
        let mut config: Config = url
            .parse()
            .map_err(|e: ::postgres::Error| StoreError::Url {
                url: redact(url),
                message: describe(&e),
            })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("leadwire");
        }
        let at = format!(
            "postgres {}",
            redact(url).split_once("://").map_or("", |(_, r)| r)
        );
        // The first connection is made here, so that a wrong URL or an
        // unreachable server is said at once, and migrates the schema.
        let mut first = config.connect(NoTls).map_err(|e| StoreError::Db {
            at: at.clone(),
            op: "connect".into(),
            message: describe(&e),
        })?;
        let store = PgStore {
            at: at.clone(),
            pool: Some(pool::new(Postgres(config), POOL_SIZE)),
        };
        migrate(&mut first).map_err(|e| match e {
            OpError::Db(e) => store.fail("migrate", describe(&e)),
            OpError::Data(message) => store.fail("migrate", message),
            OpError::Store(e) => e,
        })?;
        Ok(store)
    }

    fn fail(&self, op: &str, message: String) -> StoreError {
        StoreError::Db {
            at: self.at.clone(),
            op: op.to_string(),
            message,
        }
    }

    /// Run `f` on a pooled connection. A connection that failed other than by
    /// the server refusing a statement (it closed, or the protocol broke) is
    /// not reused.
    fn with<T>(
        &self,
        op: &str,
        f: impl FnOnce(&mut PgConn) -> Result<T, OpError>,
    ) -> StoreResult<T> {
        let pool = self
            .pool
            .as_ref()
            .expect("the pool is set until the store drops");
        let mut conn = pool.get().map_err(|e| pool::unavailable(&self.at, e))?;
        // A connection that closed is dropped by the pool when it comes back.
        match f(&mut conn) {
            Ok(value) => Ok(value),
            Err(OpError::Db(e)) => Err(self.fail(op, describe(&e))),
            Err(OpError::Data(message)) => Err(self.fail(op, message)),
            Err(OpError::Store(e)) => Err(e),
        }
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Closing a client blocks on its own runtime, which panics on a thread
        // that drives async tasks (a store dropped in a tokio task, on reload
        // or shutdown): close them on a thread of their own.
        if let Some(pool) = self.pool.take() {
            let closing = std::thread::spawn(move || drop(pool));
            let _ = closing.join();
        }
    }
}

/// Apply the migrations this database lacks, in one transaction, holding the
/// advisory lock (released at commit or rollback).
fn migrate(client: &mut Client) -> Result<(), OpError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
            version    INTEGER PRIMARY KEY,
            applied_at BIGINT  NOT NULL  -- ms since the epoch
        )",
    )?;
    let current: i32 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])?
        .get(0);
    let known = MIGRATIONS.len() as i32;
    if current > known {
        return Err(OpError::Data(format!(
            "the database's schema is version {current}, newer than this leadwire knows \
             (up to {known}): run a newer leadwire"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
            &[
                &(version as i32 + 1),
                &chrono::Utc::now().timestamp_millis(),
            ],
        )?;
    }
    tx.commit()?;
    Ok(())
}

impl StateStore for PgStore {
    fn usage(&self, namespace: &str) -> StateResult<Usage> {
        Ok(self.with(&format!("state usage of `{namespace}`"), |c| {
            let row = c.query_one(
                "SELECT count(*), coalesce(sum(octet_length(key) + octet_length(value)), 0)::bigint
                 FROM plugin_state WHERE namespace = $1",
                &[&namespace],
            )?;
            Ok(Usage {
                keys: row.get::<_, i64>(0) as u64,
                bytes: row.get::<_, i64>(1) as u64,
            })
        })?)
    }

    fn get(&self, namespace: &str, key: &str) -> StateResult<Option<String>> {
        Ok(self.with(&state_op("get", namespace, key), |c| {
            let row = c.query_opt(
                "SELECT value FROM plugin_state WHERE namespace = $1 AND key = $2",
                &[&namespace, &key],
            )?;
            Ok(row.map(|r| r.get(0)))
        })?)
    }

    fn set(&self, namespace: &str, key: &str, value: &str) -> StateResult<()> {
        codec::check_text("the value", key, value)?;
        Ok(self.with(&state_op("set", namespace, key), |c| {
            c.execute(
                "INSERT INTO plugin_state (namespace, key, value) VALUES ($1, $2, $3)
                 ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value",
                &[&namespace, &key, &value],
            )?;
            Ok(())
        })?)
    }

    fn delete(&self, namespace: &str, key: &str) -> StateResult<()> {
        Ok(self.with(&state_op("delete", namespace, key), |c| {
            c.execute(
                "DELETE FROM plugin_state WHERE namespace = $1 AND key = $2",
                &[&namespace, &key],
            )?;
            Ok(())
        })?)
    }

    fn increment(&self, namespace: &str, key: &str, delta: i64) -> StateResult<i64> {
        // The outer error is the database failing; the inner one, the value.
        self.with(&state_op("increment", namespace, key), |c| {
            let outcome = c.query_one(
                "INSERT INTO plugin_state (namespace, key, value) VALUES ($1, $2, CAST($3::bigint AS TEXT))
                 ON CONFLICT (namespace, key) DO UPDATE
                     SET value = CAST(CAST(plugin_state.value AS BIGINT) + $3 AS TEXT)
                 RETURNING CAST(value AS BIGINT)",
                &[&namespace, &key, &delta],
            );
            let e = match outcome {
                Ok(row) => return Ok(Ok(row.get::<_, i64>(0))),
                Err(e) => e,
            };
            // Say why in the same words as the other backends.
            if e.code() == Some(&SqlState::INVALID_TEXT_REPRESENTATION) {
                let value: Option<String> = c
                    .query_opt(
                        "SELECT value FROM plugin_state WHERE namespace = $1 AND key = $2",
                        &[&namespace, &key],
                    )?
                    .map(|r| r.get(0));
                return Ok(Err(codec::not_an_integer(key, &value.unwrap_or_default())));
            }
            if e.code() == Some(&SqlState::NUMERIC_VALUE_OUT_OF_RANGE) {
                return Ok(Err(codec::overflow(key)));
            }
            Err(OpError::Db(e))
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
            self.with(&state_op("compare-and-swap", namespace, key), |c| {
                let swapped = match expected {
                    None => c.execute(
                        "INSERT INTO plugin_state (namespace, key, value) VALUES ($1, $2, $3)
                     ON CONFLICT (namespace, key) DO NOTHING",
                        &[&namespace, &key, &new],
                    )?,
                    Some(expected) => c.execute(
                        "UPDATE plugin_state SET value = $3
                     WHERE namespace = $1 AND key = $2 AND value = $4",
                        &[&namespace, &key, &new, &expected],
                    )?,
                };
                Ok(swapped == 1)
            })?,
        )
    }
}

impl Store for PgStore {
    fn location(&self) -> &str {
        &self.at
    }

    fn ping(&self) -> StoreResult<()> {
        self.with("ping", |c| {
            c.client.simple_query("SELECT 1")?;
            Ok(())
        })
    }

    fn merge_lead(&self, source: &str, update: &LeadDoc, at_ms: i64) -> StoreResult<Merged> {
        let op = format!("merge lead `{}` of source `{source}`", update.id);
        self.with(&op, |c| {
            let mut tx = c.transaction()?;
            // Twice at most: a lead seen for the first time by two replicas at
            // once is inserted by one; the other then merges into its row.
            for _ in 0..2 {
                let row = tx.query_opt(
                    "SELECT doc::text, field_times::text FROM lead_snapshots
                     WHERE source = $1 AND lead_id = $2
                     FOR UPDATE",
                    &[&source, &update.id],
                )?;
                let stored = row.as_ref().map(|r| (r.get(0), r.get(1)));
                let exists = stored.is_some();
                let merged = merge_row(stored, update, at_ms)?;
                let params: [&(dyn ToSql + Sync); 5] = [
                    &source,
                    &update.id,
                    &merged.doc,
                    &merged.field_times,
                    &at_ms,
                ];
                if exists {
                    tx.execute(
                        "UPDATE lead_snapshots
                         SET doc = $3::text::json,
                             field_times = $4::text::json,
                             updated_at = GREATEST(updated_at, $5)
                         WHERE source = $1 AND lead_id = $2",
                        &params,
                    )?;
                    tx.commit()?;
                    return Ok(merged.merged);
                }
                let inserted = tx.execute(
                    "INSERT INTO lead_snapshots (source, lead_id, doc, field_times, updated_at)
                     VALUES ($1, $2, $3::text::json, $4::text::json, $5)
                     ON CONFLICT (source, lead_id) DO NOTHING",
                    &params,
                )?;
                if inserted == 1 {
                    tx.commit()?;
                    return Ok(merged.merged);
                }
            }
            Err(OpError::Data(
                "the lead's row was inserted and removed while merging; try again".into(),
            ))
        })
    }

    fn snapshot(&self, source: &str, lead_id: &str) -> StoreResult<Option<LeadDoc>> {
        let op = format!("read lead `{lead_id}` of source `{source}`");
        self.with(&op, |c| {
            let row = c.query_opt(
                "SELECT doc::text FROM lead_snapshots WHERE source = $1 AND lead_id = $2",
                &[&source, &lead_id],
            )?;
            row.map(|r| parse("lead", r.get(0))).transpose()
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
        self.with(&op, |c| {
            // A few rounds at most: the key can be released between the two statements.
            for _ in 0..3 {
                // New, or an expired claim taken over: either way a row comes back.
                let claimed = c.query_opt(
                    "INSERT INTO idempotency (source, dedup_key, status, claimed_at)
                     VALUES ($1, $2, 'pending', $3)
                     ON CONFLICT (source, dedup_key) DO UPDATE SET claimed_at = EXCLUDED.claimed_at
                     WHERE idempotency.status = 'pending'
                       AND EXCLUDED.claimed_at - idempotency.claimed_at >= $4
                     RETURNING claimed_at",
                    &[&source, &dedup_key, &now_ms, &lease_ms],
                )?;
                if claimed.is_some() {
                    return Ok(Claim::New);
                }
                let row = c.query_opt(
                    "SELECT i.status, d.doc::text
                     FROM idempotency i LEFT JOIN decisions d ON d.id = i.decision_id
                     WHERE i.source = $1 AND i.dedup_key = $2",
                    &[&source, &dedup_key],
                )?;
                let Some(row) = row else { continue };
                return not_claimed(row.get(0), row.get(1));
            }
            Ok(Claim::InProgress)
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
        self.with(&op, |c| {
            let decided_at = codec::decided_at_ms(decision)?;
            let mut tx = c.transaction()?;
            tx.execute(
                "INSERT INTO decisions
                     (id, source, lead_id, event_id, pipeline, status, decided_at, doc)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::json)
                 ON CONFLICT (id) DO NOTHING",
                &[
                    &decision.id,
                    &source,
                    &decision.lead_id,
                    &decision.event_id,
                    &decision.pipeline,
                    &codec::status_text(decision),
                    &decided_at,
                    &to_json("the decision", decision)?,
                ],
            )?;
            let marked = tx.query_opt(
                "INSERT INTO idempotency (source, dedup_key, status, claimed_at, decision_id)
                 VALUES ($1, $2, 'done', $3, $4)
                 ON CONFLICT (source, dedup_key) DO UPDATE SET
                     status = 'done', decision_id = EXCLUDED.decision_id
                 WHERE idempotency.status = 'pending'
                 RETURNING 1",
                &[&source, &dedup_key, &decided_at, &decision.id],
            )?;
            if marked.is_some() {
                enqueue(&mut tx, &decision.id, writes, decided_at)?;
                apply_timers(&mut tx, source, &decision.lead_id, &decision.id, timers)?;
                tx.commit()?;
                return Ok(());
            }
            // Already done: by this very decision (a retried record), or by another.
            let row = tx.query_one(
                "SELECT d.id, d.doc::text
                 FROM idempotency i JOIN decisions d ON d.id = i.decision_id
                 WHERE i.source = $1 AND i.dedup_key = $2",
                &[&source, &dedup_key],
            )?;
            already_done(
                &self.at,
                source,
                dedup_key,
                decision,
                row.get(0),
                row.get(1),
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn claim_outbox(
        &self,
        connection: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<OutboxRow>> {
        self.with(&format!("claim outbox rows of {connection}"), |c| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            // Due rows, oldest first, skipping rows another replica is
            // claiming; none behind an older row for the same record. The
            // lease is committed at once: no transaction spans the delivery.
            let rows = c.query(
                &format!(
                    "UPDATE outbox SET status = 'inflight', lease_until = $1 + $2,
                         attempts = attempts + 1
                     WHERE id IN (
                         SELECT id FROM outbox o
                         WHERE o.connection = $4
                           AND ((o.status = 'pending' AND o.next_attempt_at <= $1)
                                OR (o.status = 'inflight' AND o.lease_until < $1))
                           AND NOT EXISTS (
                               SELECT 1 FROM outbox b
                               WHERE b.connection = o.connection AND b.record = o.record
                                 AND b.status IN ('pending', 'inflight') AND b.id < o.id)
                         ORDER BY o.id LIMIT $3
                         FOR UPDATE SKIP LOCKED)
                     RETURNING {OUTBOX_COLUMNS}"
                ),
                &[&now_ms, &lease_ms, &limit, &connection],
            )?;
            let mut rows = rows.iter().map(outbox_row).collect::<Result<Vec<_>, _>>()?;
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
        self.with(&format!("settle {} outbox rows", settled.len()), |c| {
            let mut tx = c.transaction()?;
            let mut out = Vec::with_capacity(settled.len());
            for (row, how) in settled {
                let (status, next, error, uncounted) = how.columns(now_ms);
                let claimed = i32::try_from(row.attempts).unwrap_or(i32::MAX);
                // Only this claim's lease (a worker whose lease ran out settles
                // nothing); a dead write is forgotten as written.
                let done = tx.query_one(
                    "WITH settled AS (
                         UPDATE outbox SET status = $2, next_attempt_at = $3, lease_until = NULL,
                             last_error = COALESCE($4, last_error),
                             attempts = attempts - $5
                         WHERE id = $1 AND status = 'inflight' AND attempts = $6
                         RETURNING connection, record, status),
                     forgot AS (
                         DELETE FROM outbox_written w USING settled s
                         WHERE s.status = 'dead' AND w.connection = s.connection
                           AND w.record = s.record)
                     SELECT count(*) FROM settled",
                    &[
                        &row.id,
                        &status,
                        &next,
                        &error,
                        &i32::from(uncounted),
                        &claimed,
                    ],
                )?;
                let done = done.get::<_, i64>(0) > 0;
                if done && status == "dead" {
                    let alerts = dead_alerts(row, error.unwrap_or_default());
                    enqueue(&mut tx, &row.decision_id, &alerts, now_ms)?;
                }
                out.push(done);
            }
            tx.commit()?;
            Ok(out)
        })
    }

    fn take_rate(
        &self,
        connection: &str,
        window_ms: i64,
        limit: u32,
        now_ms: i64,
    ) -> StoreResult<i64> {
        self.with(&format!("count a request to {connection}"), |c| {
            let window_ms = window_ms.max(1);
            let start = now_ms - now_ms.rem_euclid(window_ms);
            let limit = i32::try_from(limit).unwrap_or(i32::MAX);
            // A sliding window over fixed ones: the previous window's count
            // weighs by how much of it the last `window_ms` still covers.
            let previous: i64 = c
                .query_opt(
                    "SELECT used FROM rate_windows WHERE connection = $1 AND window_start = $2",
                    &[&connection, &(start - window_ms)],
                )?
                .map(|r| i64::from(r.get::<_, i32>(0)))
                .unwrap_or(0);
            let carried = previous * (window_ms - (now_ms - start)) / window_ms;
            let room = (i64::from(limit) - carried).clamp(0, i64::from(limit)) as i32;
            let taken = if room == 0 {
                None
            } else {
                c.query_opt(
                    "INSERT INTO rate_windows (connection, window_start, used) VALUES ($1, $2, 1)
                     ON CONFLICT (connection, window_start) DO UPDATE
                         SET used = rate_windows.used + 1
                         WHERE rate_windows.used < $3
                     RETURNING used",
                    &[&connection, &start, &room],
                )?
                .map(|r| r.get::<_, i32>(0))
            };
            if let Some(used) = taken {
                if used == 1 {
                    // A new window: the ones before the previous are spent.
                    c.execute(
                        "DELETE FROM rate_windows WHERE connection = $1 AND window_start < $2",
                        &[&connection, &(start - window_ms)],
                    )?;
                }
                return Ok(0);
            }
            // Full: look again when the older window weighs a step less.
            Ok((window_ms / i64::from(limit.max(1))).clamp(1, window_ms))
        })
    }

    fn clock_ms(&self) -> StoreResult<i64> {
        self.with("read the clock", |c| {
            Ok(c.query_one(&format!("SELECT {CLOCK}"), &[])?.get(0))
        })
    }

    fn advance_clock(&self, by_ms: i64) -> StoreResult<i64> {
        self.with("move the clock", |c| {
            c.execute(
                "INSERT INTO clock (id, offset_ms) VALUES (1, $1)
                 ON CONFLICT (id) DO UPDATE SET offset_ms = clock.offset_ms + EXCLUDED.offset_ms",
                &[&by_ms],
            )?;
            Ok(c.query_one(&format!("SELECT {CLOCK}"), &[])?.get(0))
        })
    }

    fn claim_timers(&self, lease_ms: i64, limit: usize) -> StoreResult<(i64, Vec<TimerRow>)> {
        self.with("claim due timers", |c| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let mut tx = c.transaction()?;
            let now: i64 = tx.query_one(&format!("SELECT {CLOCK}"), &[])?.get(0);
            // Due timers, oldest due first, skipping those another replica is
            // claiming; the lease is committed at once.
            let rows = tx.query(
                &format!(
                    "UPDATE sla_timers SET lease_until = $1 + $2
                     WHERE id IN (
                         SELECT id FROM sla_timers
                         WHERE state = 'pending' AND due_at <= $1
                           AND (lease_until IS NULL OR lease_until < $1)
                         ORDER BY due_at, id LIMIT $3
                         FOR UPDATE SKIP LOCKED)
                     RETURNING {TIMER_COLUMNS}"
                ),
                &[&now, &lease_ms, &limit],
            )?;
            let mut rows = rows.iter().map(timer_row).collect::<Result<Vec<_>, _>>()?;
            tx.commit()?;
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
        self.with(&format!("fire timer {}", row.id), |c| {
            let checkpoint = i32::try_from(row.checkpoint).unwrap_or(i32::MAX);
            let next = row.dues.get(row.checkpoint + 1).copied();
            let (state, note, ended) = match fired {
                Fired::Warned => ("pending", None, None),
                Fired::Breached(why) => ("breached", Some(why.as_str()), Some(now_ms)),
            };
            let mut tx = c.transaction()?;
            let changed = tx.execute(
                "UPDATE sla_timers SET checkpoint = checkpoint + 1, due_at = $3,
                     fired = fired || to_jsonb($4::bigint), state = $5,
                     note = COALESCE($6, note), ended_at = $7, lease_until = NULL
                 WHERE id = $1 AND state = 'pending' AND checkpoint = $2",
                &[&row.id, &checkpoint, &next, &now_ms, &state, &note, &ended],
            )?;
            if changed > 0 {
                enqueue(
                    &mut tx,
                    &row.decision_id,
                    alerts,
                    chrono::Utc::now().timestamp_millis(),
                )?;
            }
            tx.commit()?;
            Ok(changed > 0)
        })
    }

    fn timers(&self, source: &str, lead_id: &str) -> StoreResult<Vec<TimerRow>> {
        self.with("read the lead's timers", |c| {
            let rows = c.query(
                &format!(
                    "SELECT {TIMER_COLUMNS} FROM sla_timers WHERE source = $1 AND lead_id = $2
                     ORDER BY id"
                ),
                &[&source, &lead_id],
            )?;
            rows.iter().map(timer_row).collect()
        })
    }

    fn sla_figures(&self) -> StoreResult<SlaFigures> {
        self.with("count the SLA timers", |c| {
            let timers = c
                .query(
                    "SELECT policy, state, count(*) FROM sla_timers GROUP BY policy, state
                     ORDER BY policy, state",
                    &[],
                )?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get::<_, i64>(2).unsigned_abs()))
                .collect();
            let touch = c
                .query(&timers::touch_query("BIGINT"), &[])?
                .iter()
                .map(|r| {
                    let numbers: Vec<i64> = (1..28)
                        .map(|i| r.get::<_, Option<i64>>(i).unwrap_or_default())
                        .collect();
                    timers::touch_figures(r.get(0), &numbers)
                })
                .collect();
            Ok(SlaFigures { timers, touch })
        })
    }

    fn outbox(&self, status: Option<&str>, limit: usize) -> StoreResult<Vec<OutboxRow>> {
        self.with("read the outbox", |c| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = c.query(
                &format!(
                    "SELECT {OUTBOX_COLUMNS} FROM outbox
                     WHERE ($1::text IS NULL OR status = $1) ORDER BY id LIMIT $2"
                ),
                &[&status, &limit],
            )?;
            rows.iter().map(outbox_row).collect()
        })
    }

    fn outbox_for(&self, record: &str, limit: usize) -> StoreResult<Vec<OutboxRow>> {
        self.with("read the record's writes", |c| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = c.query(
                &format!(
                    "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE record = $1 ORDER BY id LIMIT $2"
                ),
                &[&record, &limit],
            )?;
            rows.iter().map(outbox_row).collect()
        })
    }

    fn outbox_with_prefix(&self, prefix: &str, limit: usize) -> StoreResult<Vec<OutboxRow>> {
        self.with("read the lead's alerts", |c| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            // Exact, whatever the database's collation orders `:` and `;` by.
            let rows = c.query(
                &format!(
                    "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE left(record, length($1)) = $1
                     ORDER BY id LIMIT $2"
                ),
                &[&prefix, &limit],
            )?;
            rows.iter().map(outbox_row).collect()
        })
    }

    fn written(&self, connection: &str, record: &str) -> StoreResult<Option<serde_json::Value>> {
        self.with("read what was written to the record", |c| {
            let row = c.query_opt(
                "SELECT payload::text FROM outbox_written WHERE connection = $1 AND record = $2",
                &[&connection, &record],
            )?;
            row.map(|r| parse("outbox written", r.get::<_, &str>(0)))
                .transpose()
        })
    }

    fn retry_outbox(&self, id: i64, now_ms: i64) -> StoreResult<bool> {
        self.with(&format!("retry outbox row {id}"), |c| {
            let changed = c.execute(
                "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $2
                 WHERE id = $1 AND status IN ('dead', 'pending')",
                &[&id, &now_ms],
            )?;
            Ok(changed > 0)
        })
    }

    fn outbox_counts(&self) -> StoreResult<Vec<OutboxCount>> {
        self.with("count the outbox", |c| {
            let rows = c.query(
                "SELECT connection, status, COUNT(*), MIN(created_at) FROM outbox
                 WHERE status IN ('pending', 'inflight', 'dead')
                 GROUP BY connection, status ORDER BY connection, status",
                &[],
            )?;
            Ok(rows
                .iter()
                .map(|r| OutboxCount {
                    connection: r.get(0),
                    status: r.get(1),
                    rows: u64::try_from(r.get::<_, i64>(2)).unwrap_or(0),
                    oldest_created_at: r.get(3),
                })
                .collect())
        })
    }

    fn outbox_row(&self, id: i64) -> StoreResult<Option<OutboxRow>> {
        self.with(&format!("read outbox row {id}"), |c| {
            let row = c.query_opt(
                &format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = $1"),
                &[&id],
            )?;
            row.as_ref().map(outbox_row).transpose()
        })
    }

    fn drop_outbox(&self, id: i64) -> StoreResult<bool> {
        self.with(&format!("drop outbox row {id}"), |c| {
            let dropped = c.query_one(
                "WITH dropped AS (
                     DELETE FROM outbox WHERE id = $1 AND status IN ('dead', 'pending')
                     RETURNING connection, record),
                 forgot AS (
                     DELETE FROM outbox_written w USING dropped d
                     WHERE w.connection = d.connection AND w.record = d.record)
                 SELECT count(*) FROM dropped",
                &[&id],
            )?;
            Ok(dropped.get::<_, i64>(0) > 0)
        })
    }

    fn release(&self, source: &str, dedup_key: &str) -> StoreResult<()> {
        let op = format!("release `{dedup_key}` of source `{source}`");
        self.with(&op, |c| {
            c.execute(
                "DELETE FROM idempotency
                 WHERE source = $1 AND dedup_key = $2 AND status = 'pending'",
                &[&source, &dedup_key],
            )?;
            Ok(())
        })
    }

    fn count_attempt(&self, source: &str, dedup_key: &str) -> StoreResult<u32> {
        let op = format!("count an attempt at `{dedup_key}` of source `{source}`");
        self.with(&op, |c| {
            let row = c.query_one(
                "INSERT INTO attempts (source, dedup_key, count) VALUES ($1, $2, 1)
                 ON CONFLICT (source, dedup_key) DO UPDATE SET count = attempts.count + 1
                 RETURNING count",
                &[&source, &dedup_key],
            )?;
            let count: i32 = row.get(0);
            Ok(u32::try_from(count).unwrap_or(0))
        })
    }

    fn decisions_with_status(
        &self,
        status: &str,
        source: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Decision>> {
        let op = format!("read decisions with status `{status}`");
        self.with(&op, |c| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = c.query(
                "SELECT doc::text FROM decisions
                 WHERE status = $1 AND ($2::text IS NULL OR source = $2)
                 ORDER BY decided_at DESC, seq DESC
                 LIMIT $3",
                &[&status, &source, &limit],
            )?;
            rows.iter().map(|r| parse("decision", r.get(0))).collect()
        })
    }

    fn decisions(&self, source: &str, lead_id: &str, limit: usize) -> StoreResult<Vec<Decision>> {
        let op = format!("read decisions of lead `{lead_id}` of source `{source}`");
        self.with(&op, |c| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = c.query(
                "SELECT doc::text FROM decisions
                 WHERE source = $1 AND lead_id = $2
                 ORDER BY decided_at DESC, seq DESC
                 LIMIT $3",
                &[&source, &lead_id, &limit],
            )?;
            rows.iter().map(|r| parse("decision", r.get(0))).collect()
        })
    }
}
