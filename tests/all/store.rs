//! The store's contract, one suite run against both backends.
//!
//! Each contract test is a function of a [`Db`] (a fresh, migrated store that
//! derefs to `dyn Store`, and can open more handles on the same database, the
//! way replicas do). The `contract!` list at the bottom runs every one on
//! SQLite (a file in a temporary folder) as `on_sqlite::NAME`, and on
//! PostgreSQL as `on_postgres::NAME` when `LEADWIRE_TEST_POSTGRES_URL` is set
//! (`.ci/run` sets it to postgres://postgres@127.0.0.1:5432/test). Each
//! PostgreSQL test gets a schema of its own, `lw_test_<pid>_<n>`, as the
//! connection's search path, dropped afterwards. Where the variable is unset,
//! each PostgreSQL test says on stderr that it was skipped and why.
//!
//! `LEADWIRE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo test --release -p leadwire --test store`

use std::collections::BTreeSet;
use std::io::Write;
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;

use leadwire::capabilities::StateStore;
use leadwire::decision::Decision;
use leadwire::lead::LeadDoc;
use leadwire::store::{
    self, Claim, Fired, OutboxRow, OutboxWrite, Settled, Store, StoreError, TimerChange,
};
use serde_json::json;

const PG_ENV: &str = "LEADWIRE_TEST_POSTGRES_URL";

// ---------------------------------------------------------------------------
// Fixtures

/// A fresh, migrated store for one test, and the way to open more handles on
/// the same database (a second replica) or on an empty one.
struct Db {
    store: Option<Arc<dyn Store>>,
    url: String,
    place: Place,
}

enum Place {
    Sqlite(tempfile::TempDir),
    Postgres {
        admin: String,
        /// Schemas this test created, dropped when it ends.
        schemas: Mutex<Vec<String>>,
    },
}

impl Deref for Db {
    type Target = dyn Store;
    fn deref(&self) -> &(dyn Store + 'static) {
        &**self.store.as_ref().unwrap()
    }
}

impl Db {
    fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("leadwire.db").display());
        let store = store::open(&url).unwrap_or_else(|e| panic!("open {url}: {e}"));
        Db {
            store: Some(store),
            url,
            place: Place::Sqlite(dir),
        }
    }

    fn postgres(admin: &str) -> Db {
        let mut db = Db {
            store: None,
            url: String::new(),
            place: Place::Postgres {
                admin: admin.to_string(),
                schemas: Mutex::new(Vec::new()),
            },
        };
        db.url = db.scratch_url();
        db.store = Some(store::open(&db.url).unwrap_or_else(|e| panic!("open {}: {e}", db.url)));
        db.assert_tables_in_own_schema();
        db
    }

    /// The shared store, to hand to threads.
    fn shared(&self) -> Arc<dyn Store> {
        self.store.clone().unwrap()
    }

    /// Another handle on the same database, as a second replica would open.
    fn open_again(&self) -> Arc<dyn Store> {
        store::open(&self.url).unwrap_or_else(|e| panic!("open {} again: {e}", self.url))
    }

    /// The url of an empty database (a new file, or a new schema).
    fn scratch_url(&self) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        match &self.place {
            Place::Sqlite(dir) => {
                format!(
                    "sqlite://{}",
                    dir.path().join(format!("scratch{n}.db")).display()
                )
            }
            Place::Postgres { admin, schemas } => {
                let schema = format!("lw_test_{}_{n}", std::process::id());
                admin_client(admin)
                    .batch_execute(&format!(
                        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
                    ))
                    .unwrap();
                schemas.lock().unwrap().push(schema.clone());
                let sep = if admin.contains('?') { '&' } else { '?' };
                format!("{admin}{sep}options=-csearch_path%3D{schema}")
            }
        }
    }

    /// The `options` url parameter really put the tables in the test's schema.
    fn assert_tables_in_own_schema(&self) {
        let Place::Postgres { admin, schemas } = &self.place else {
            return;
        };
        let schema = schemas.lock().unwrap()[0].clone();
        let tables: Vec<String> = admin_client(admin)
            .query(
                "SELECT table_name::text FROM information_schema.tables
                 WHERE table_schema = $1 ORDER BY table_name",
                &[&schema],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(
            tables,
            [
                "attempts",
                "clock",
                "decisions",
                "idempotency",
                "lead_snapshots",
                "outbox",
                "outbox_written",
                "plugin_state",
                "rate_windows",
                "schema_version",
                "sla_timers"
            ],
            "the store's tables should be in the test's own schema {schema}"
        );
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        drop(self.store.take()); // close its connections before dropping the schema
        if let Place::Postgres { admin, schemas } = &self.place {
            let mut admin = admin_client(admin);
            for schema in schemas.lock().unwrap().iter() {
                let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

fn admin_client(url: &str) -> ::postgres::Client {
    ::postgres::Client::connect(url, ::postgres::NoTls)
        .unwrap_or_else(|e| panic!("{PG_ENV}={url}: cannot connect: {e}"))
}

fn on_sqlite(test: fn(&Db)) {
    test(&Db::sqlite());
}

fn on_postgres(name: &str, test: fn(&Db)) {
    match std::env::var(PG_ENV) {
        Ok(url) if !url.trim().is_empty() => test(&Db::postgres(url.trim())),
        _ => {
            // Straight to stderr, past the test harness's capture: never silent.
            let _ = writeln!(
                std::io::stderr(),
                "skipped: PostgreSQL store tests need {PG_ENV} (a PostgreSQL url such as \
                 postgres://postgres@127.0.0.1:5432/test; .ci/run sets it): on_postgres::{name}"
            );
        }
    }
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $( #[test] fn $name() { super::on_sqlite(super::$name) } )*
        }
        mod on_postgres {
            $( #[test] fn $name() { super::on_postgres(stringify!($name), super::$name) } )*
        }
    };
}

// ---------------------------------------------------------------------------
// Helpers

fn lead(json: serde_json::Value) -> LeadDoc {
    serde_json::from_value(json).unwrap()
}

fn decision(id: &str, lead_id: &str, decided_at: &str) -> Decision {
    serde_json::from_value(json!({
        "id": id,
        "event_id": format!("event-{id}"),
        "lead_id": lead_id,
        "source": "hubspot",
        "pipeline": "inbound",
        "trigger": "created",
        "at": "2026-11-20T10:00:00Z",
        "decided_at": decided_at,
        "status": "ok",
        "owner": "ana@example.com",
        "score": { "value": 42.0, "grade": "B", "contributions": [
            { "rule": "title", "points": 42.0, "reason": "jobtitle contains VP" } ] },
        "steps": []
    }))
    .unwrap()
}

fn as_json(d: &Decision) -> serde_json::Value {
    serde_json::to_value(d).unwrap()
}

fn ids(decisions: &[Decision]) -> Vec<&str> {
    decisions.iter().map(|d| d.id.as_str()).collect()
}

fn is_new(c: &Claim) -> bool {
    matches!(c, Claim::New)
}

// ---------------------------------------------------------------------------
// Plugin state

fn state_get_set_delete(db: &Db) {
    assert_eq!(db.get("router", "k").unwrap(), None);
    db.set("router", "k", "one").unwrap();
    assert_eq!(db.get("router", "k").unwrap().as_deref(), Some("one"));
    db.set("router", "k", "two").unwrap();
    assert_eq!(db.get("router", "k").unwrap().as_deref(), Some("two"));
    db.set("router", "empty", "").unwrap();
    assert_eq!(db.get("router", "empty").unwrap().as_deref(), Some(""));
    let unicode = "Zoë — 東京 🚀 \"quoted\" 'single'";
    db.set("router", unicode, unicode).unwrap();
    assert_eq!(db.get("router", unicode).unwrap().as_deref(), Some(unicode));
    db.delete("router", "k").unwrap();
    assert_eq!(db.get("router", "k").unwrap(), None);
    db.delete("router", "never-set").unwrap();
}

fn state_namespaces_are_isolated(db: &Db) {
    db.set("scorer", "k", "scorer's").unwrap();
    db.set("router", "k", "router's").unwrap();
    assert_eq!(db.increment("scorer", "n", 5).unwrap(), 5);
    assert_eq!(db.increment("router", "n", 1).unwrap(), 1);
    assert_eq!(db.get("scorer", "k").unwrap().as_deref(), Some("scorer's"));
    assert_eq!(db.get("router", "k").unwrap().as_deref(), Some("router's"));
    // A key in one namespace is absent in another, for compare-and-swap too.
    assert!(
        db.compare_and_swap("scorer", "k2", None, "scorer's")
            .unwrap()
    );
    assert!(
        db.compare_and_swap("router", "k2", None, "router's")
            .unwrap()
    );
    assert_eq!(db.get("router", "k2").unwrap().as_deref(), Some("router's"));
    db.delete("scorer", "k").unwrap();
    assert_eq!(db.get("scorer", "k").unwrap(), None);
    assert_eq!(db.get("router", "k").unwrap().as_deref(), Some("router's"));
    assert_eq!(db.get("scorer", "n").unwrap().as_deref(), Some("5"));
    assert_eq!(db.get("router", "n").unwrap().as_deref(), Some("1"));
}

fn state_increment_counts_and_refuses_what_is_not_an_integer(db: &Db) {
    assert_eq!(
        db.increment("ns", "n", 1).unwrap(),
        1,
        "a missing key counts from 0"
    );
    assert_eq!(db.increment("ns", "n", 41).unwrap(), 42);
    assert_eq!(db.increment("ns", "n", -50).unwrap(), -8);
    assert_eq!(db.get("ns", "n").unwrap().as_deref(), Some("-8"));
    assert_eq!(db.increment("ns", "zero", 0).unwrap(), 0);
    assert_eq!(db.get("ns", "zero").unwrap().as_deref(), Some("0"));

    db.set("ns", "word", "seven").unwrap();
    let err = db.increment("ns", "word", 1).unwrap_err().to_string();
    assert!(
        err.contains("key `word` holds `seven`, not an integer"),
        "{err}"
    );
    assert_eq!(
        db.get("ns", "word").unwrap().as_deref(),
        Some("seven"),
        "left as it was"
    );

    db.set("ns", "big", &i64::MAX.to_string()).unwrap();
    let err = db.increment("ns", "big", 1).unwrap_err().to_string();
    assert!(err.contains("key `big` would overflow"), "{err}");
    assert_eq!(db.get("ns", "big").unwrap(), Some(i64::MAX.to_string()));
    // The store still works after a refused increment.
    assert_eq!(db.increment("ns", "n", 8).unwrap(), 0);
}

/// 8 threads × 200 increments, half through a second handle (a second replica
/// or process on the same database): exactly 1600, and every intermediate
/// value handed out once.
fn state_increment_is_atomic_under_concurrency(db: &Db) {
    let handles = [db.shared(), db.open_again()];
    let start = Arc::new(Barrier::new(8));
    let workers: Vec<_> = (0..8)
        .map(|i| {
            let store = handles[i % 2].clone();
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                (0..200)
                    .map(|_| store.increment("router", "rr", 1).unwrap())
                    .collect::<Vec<i64>>()
            })
        })
        .collect();
    let mut seen: Vec<i64> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        (1..=1600).collect::<Vec<i64>>(),
        "each value handed out exactly once"
    );
    assert_eq!(db.get("router", "rr").unwrap().as_deref(), Some("1600"));
}

fn state_compare_and_swap_semantics(db: &Db) {
    // Absent: only `expected: None` succeeds, and only once.
    assert!(!db.compare_and_swap("ns", "k", Some("x"), "y").unwrap());
    assert_eq!(
        db.get("ns", "k").unwrap(),
        None,
        "a failed swap writes nothing"
    );
    assert!(db.compare_and_swap("ns", "k", None, "a").unwrap());
    assert!(
        !db.compare_and_swap("ns", "k", None, "b").unwrap(),
        "present now"
    );
    assert_eq!(db.get("ns", "k").unwrap().as_deref(), Some("a"));
    // Present: only the current value succeeds.
    assert!(!db.compare_and_swap("ns", "k", Some("b"), "c").unwrap());
    assert!(db.compare_and_swap("ns", "k", Some("a"), "c").unwrap());
    assert_eq!(db.get("ns", "k").unwrap().as_deref(), Some("c"));
    assert!(
        db.compare_and_swap("ns", "k", Some("c"), "c").unwrap(),
        "same value swaps"
    );
    // The empty string is a value, not absence.
    db.set("ns", "e", "").unwrap();
    assert!(!db.compare_and_swap("ns", "e", None, "x").unwrap());
    assert!(db.compare_and_swap("ns", "e", Some(""), "x").unwrap());
    // After a delete the key is absent again.
    db.delete("ns", "k").unwrap();
    assert!(db.compare_and_swap("ns", "k", None, "again").unwrap());
}

/// A counter kept with compare-and-swap retry loops from 4 threads on two
/// handles loses no update.
fn state_compare_and_swap_is_atomic_under_concurrency(db: &Db) {
    let handles = [db.shared(), db.open_again()];
    let start = Arc::new(Barrier::new(4));
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let store = handles[i % 2].clone();
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                for _ in 0..50 {
                    loop {
                        let current = store.get("ns", "cas").unwrap();
                        let n: i64 = current.as_deref().map_or(0, |s| s.parse().unwrap());
                        let next = (n + 1).to_string();
                        if store
                            .compare_and_swap("ns", "cas", current.as_deref(), &next)
                            .unwrap()
                        {
                            break;
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(db.get("ns", "cas").unwrap().as_deref(), Some("200"));
}

/// PostgreSQL's text cannot hold U+0000, so both backends refuse it alike.
fn state_refuses_nul_characters_alike(db: &Db) {
    let err = db.set("ns", "k", "a\0b").unwrap_err().to_string();
    assert!(err.contains("NUL"), "{err}");
    let err = db
        .compare_and_swap("ns", "k", None, "\0")
        .unwrap_err()
        .to_string();
    assert!(err.contains("NUL"), "{err}");
    assert_eq!(db.get("ns", "k").unwrap(), None);
}

// ---------------------------------------------------------------------------
// Lead snapshots

/// A complete lead, then partial updates (one property, as HubSpot sends):
/// each adds to the snapshot and nothing else is lost.
fn snapshot_partial_updates_build_on_the_complete_lead(db: &Db) {
    assert!(db.snapshot("hubspot", "1001").unwrap().is_none());
    let complete = lead(json!({
        "id": "1001", "email": "ana@acme.com", "company_domain": "acme.com",
        "owner": "rep-1", "lifecycle_stage": "lead", "created_at": "2026-11-01T09:00:00Z",
        "fields": { "jobtitle": "VP Sales", "numberofemployees": 250, "tags": ["a", "b"],
                    "closedate": { "time": "2026-12-01T00:00:00Z" }, "phone": null },
        "activities": [ { "kind": "page_view", "at": "2026-11-20T10:00:00Z",
                          "properties": { "url": "/pricing" } } ]
    }));
    let first = db.merge_lead("hubspot", &complete, 1_000).unwrap();
    assert_eq!(
        first.changed,
        [
            "email",
            "company_domain",
            "owner",
            "lifecycle_stage",
            "created_at",
            "closedate",
            "jobtitle",
            "numberofemployees",
            "phone",
            "tags"
        ],
        "a new lead: everything it carries (a null field too: it is known now)"
    );
    assert_eq!(
        serde_json::to_value(&first.lead).unwrap(),
        serde_json::to_value(&complete).unwrap()
    );

    let partial = lead(json!({ "id": "1001", "fields": { "jobtitle": "CEO" } }));
    let merged = db.merge_snapshot("hubspot", &partial, 2_000).unwrap();
    assert_eq!(merged.fields["jobtitle"], "CEO");
    assert_eq!(merged.fields["numberofemployees"], 250);
    assert_eq!(merged.fields["phone"], serde_json::Value::Null);
    assert_eq!(merged.email.as_deref(), Some("ana@acme.com"));
    assert_eq!(merged.owner.as_deref(), Some("rep-1"));
    assert_eq!(merged.activities.len(), 1);

    let owner = lead(json!({ "id": "1001", "owner": "rep-2", "fields": { "phone": "+1 555" } }));
    let m = db.merge_lead("hubspot", &owner, 3_000).unwrap();
    assert_eq!(m.changed, ["owner", "phone"]);
    assert!(m.stale.is_empty());
    let stored = db.snapshot("hubspot", "1001").unwrap().unwrap();
    assert_eq!(stored.owner.as_deref(), Some("rep-2"));
    assert_eq!(stored.fields["phone"], "+1 555");
    assert_eq!(stored.fields["jobtitle"], "CEO");

    // The same values again change nothing.
    let again = db.merge_lead("hubspot", &owner, 3_000).unwrap();
    assert!(again.changed.is_empty(), "{:?}", again.changed);

    // Snapshots are per source.
    assert!(db.snapshot("pipedrive", "1001").unwrap().is_none());
}

/// Deliveries out of order: an older event never overwrites a value set by a
/// newer one, but fills in what the newer did not say; a newer event does
/// overwrite.
fn snapshot_older_event_never_overwrites_a_newer_value(db: &Db) {
    let newer = lead(
        json!({ "id": "7", "owner": "rep-new", "lifecycle_stage": "mql",
                             "fields": { "score_input": 10, "jobtitle": "CTO" } }),
    );
    db.merge_lead("pipedrive", &newer, 5_000).unwrap();

    let older = lead(
        json!({ "id": "7", "owner": "rep-old", "email": "old@acme.com",
                             "fields": { "score_input": 1, "jobtitle": "Engineer", "city": "Oslo" } }),
    );
    let m = db.merge_lead("pipedrive", &older, 4_000).unwrap();
    assert_eq!(m.lead.owner.as_deref(), Some("rep-new"));
    assert_eq!(m.lead.lifecycle_stage.as_deref(), Some("mql"));
    assert_eq!(m.lead.fields["score_input"], 10);
    assert_eq!(m.lead.fields["jobtitle"], "CTO");
    assert_eq!(
        m.lead.email.as_deref(),
        Some("old@acme.com"),
        "a gap is filled"
    );
    assert_eq!(m.lead.fields["city"], "Oslo", "a gap is filled");
    assert_eq!(m.changed, ["email", "city"]);
    assert_eq!(m.stale, ["owner", "jobtitle", "score_input"]);

    // An event between the two: newer than the email and city, older than the rest.
    let middle = lead(
        json!({ "id": "7", "owner": "rep-mid", "email": "mid@acme.com",
                              "fields": { "city": "Bergen", "jobtitle": "VP" } }),
    );
    let m = db.merge_lead("pipedrive", &middle, 4_500).unwrap();
    assert_eq!(m.lead.owner.as_deref(), Some("rep-new"));
    assert_eq!(m.lead.email.as_deref(), Some("mid@acme.com"));
    assert_eq!(m.lead.fields["city"], "Bergen");
    assert_eq!(m.lead.fields["jobtitle"], "CTO");

    // The newest event wins everything it names, including clearing a field.
    let newest = lead(json!({ "id": "7", "owner": "rep-newest",
                              "fields": { "jobtitle": null, "score_input": 11 } }));
    let m = db.merge_lead("pipedrive", &newest, 6_000).unwrap();
    assert_eq!(m.lead.owner.as_deref(), Some("rep-newest"));
    assert_eq!(m.lead.fields["jobtitle"], serde_json::Value::Null);
    assert_eq!(m.lead.fields["score_input"], 11);
    assert_eq!(m.changed, ["owner", "jobtitle", "score_input"]);

    // And the times are kept durably: a stale redelivery of the first event
    // after a reopen still loses.
    let reopened = db.open_again();
    let m = reopened.merge_lead("pipedrive", &newer, 5_000).unwrap();
    assert_eq!(m.lead.owner.as_deref(), Some("rep-newest"));
    assert_eq!(m.lead.fields["score_input"], 11);
    assert!(m.changed.is_empty());
    assert_eq!(m.stale, ["owner", "jobtitle", "score_input"]);
}

fn snapshot_activities_are_unioned(db: &Db) {
    let visit = |at: &str, url: &str| json!({ "kind": "page_view", "at": at, "properties": { "url": url } });
    let a = lead(json!({ "id": "9", "activities": [visit("2026-11-20T10:00:00Z", "/pricing")] }));
    let b = lead(json!({ "id": "9", "activities": [
        visit("2026-11-19T10:00:00Z", "/blog"),
        visit("2026-11-20T10:00:00Z", "/pricing"),      // the same one again
        { "kind": "page_view", "at": 1795168800000_i64, "properties": { "url": "/pricing" } },  // same instant in ms
        visit("2026-11-20T10:00:00Z", "/demo"),         // same time, other properties
    ] }));
    db.merge_lead("hubspot", &a, 2_000).unwrap();
    let m = db.merge_lead("hubspot", &b, 1_000).unwrap(); // older events still add activities
    let urls: Vec<&str> = m
        .lead
        .activities
        .iter()
        .map(|a| a.properties["url"].as_str().unwrap())
        .collect();
    assert_eq!(urls, ["/blog", "/pricing", "/demo"]);
}

/// Eight events about one new lead, merged at once through two handles: every
/// field arrives (no merge is lost to another, and the first insert races
/// safely).
fn snapshot_concurrent_merges_lose_nothing(db: &Db) {
    let handles = [db.shared(), db.open_again()];
    let start = Arc::new(Barrier::new(8));
    let workers: Vec<_> = (0..8)
        .map(|i| {
            let store = handles[i % 2].clone();
            let start = start.clone();
            thread::spawn(move || {
                let update = lead(json!({ "id": "42", "fields": { format!("f{i}"): i } }));
                start.wait();
                store
                    .merge_lead("hubspot", &update, 1_000 + i as i64)
                    .unwrap();
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let merged = db.snapshot("hubspot", "42").unwrap().unwrap();
    let names: BTreeSet<String> = merged.fields.keys().cloned().collect();
    let expected: BTreeSet<String> = (0..8).map(|i| format!("f{i}")).collect();
    assert_eq!(names, expected);
}

// ---------------------------------------------------------------------------
// Idempotency and the decision log

const LEASE: i64 = 30_000;

fn claim_record_then_a_redelivery_gets_the_recorded_decision(db: &Db) {
    assert!(is_new(&db.claim("hubspot", "evt-1", 1_000, LEASE).unwrap()));
    let d = decision("d-1", "1001", "2026-11-20T10:00:01.000Z");
    db.record("hubspot", "evt-1", &d).unwrap();
    for (now, handle) in [(1_001, db.shared()), (999_999, db.open_again())] {
        match handle.claim("hubspot", "evt-1", now, LEASE).unwrap() {
            Claim::Done(recorded) => assert_eq!(as_json(&recorded), as_json(&d)),
            other => panic!("a decided key should be Done, got {other:?}"),
        }
    }
    // Keys are per source.
    assert!(is_new(
        &db.claim("salesforce", "evt-1", 1_000, LEASE).unwrap()
    ));
    // Recording the same decision again (a retry after a lost answer) is a no-op.
    db.record("hubspot", "evt-1", &d).unwrap();
    assert_eq!(ids(&db.decisions("hubspot", "1001", 10).unwrap()), ["d-1"]);
    // Releasing a decided key changes nothing.
    db.release("hubspot", "evt-1").unwrap();
    assert!(matches!(
        db.claim("hubspot", "evt-1", 2_000, LEASE).unwrap(),
        Claim::Done(_)
    ));
}

fn claim_is_in_progress_within_the_lease_and_taken_over_after(db: &Db) {
    assert!(is_new(
        &db.claim("hubspot", "evt-2", 10_000, LEASE).unwrap()
    ));
    assert!(matches!(
        db.claim("hubspot", "evt-2", 10_000, LEASE).unwrap(),
        Claim::InProgress
    ));
    assert!(matches!(
        db.claim("hubspot", "evt-2", 10_000 + LEASE - 1, LEASE)
            .unwrap(),
        Claim::InProgress
    ));
    // The first worker crashed: after the lease, another takes it over, once.
    assert!(is_new(
        &db.claim("hubspot", "evt-2", 10_000 + LEASE, LEASE).unwrap()
    ));
    assert!(
        matches!(
            db.claim("hubspot", "evt-2", 10_000 + LEASE + 1, LEASE)
                .unwrap(),
            Claim::InProgress
        ),
        "the takeover starts a new lease"
    );
    let d = decision("d-2", "1002", "2026-11-20T10:00:02.000Z");
    db.record("hubspot", "evt-2", &d).unwrap();
    assert!(matches!(
        db.claim("hubspot", "evt-2", 10_000 + 10 * LEASE, LEASE)
            .unwrap(),
        Claim::Done(_)
    ));
}

fn release_lets_a_retry_claim_at_once(db: &Db) {
    assert!(is_new(
        &db.claim("pipedrive", "evt-3", 1_000, LEASE).unwrap()
    ));
    db.release("pipedrive", "evt-3").unwrap();
    assert!(is_new(
        &db.claim("pipedrive", "evt-3", 1_001, LEASE).unwrap()
    ));
    assert!(matches!(
        db.claim("pipedrive", "evt-3", 1_002, LEASE).unwrap(),
        Claim::InProgress
    ));
    db.release("pipedrive", "never-claimed").unwrap();
}

/// A worker whose claim expired and was taken over records too late: nothing
/// is written, and the error carries the decision that stands.
fn record_after_a_takeover_is_refused_with_the_standing_decision(db: &Db) {
    assert!(is_new(&db.claim("hubspot", "evt-4", 1_000, LEASE).unwrap())); // slow worker A
    assert!(is_new(
        &db.claim("hubspot", "evt-4", 1_000 + LEASE, LEASE).unwrap()
    )); // B takes over
    let by_b = decision("d-b", "1004", "2026-11-20T10:00:04.000Z");
    db.record("hubspot", "evt-4", &by_b).unwrap();
    let by_a = decision("d-a", "1004", "2026-11-20T10:00:05.000Z");
    match db.record("hubspot", "evt-4", &by_a) {
        Err(StoreError::AlreadyDecided {
            existing, rejected, ..
        }) => {
            assert_eq!(existing.id, "d-b");
            assert_eq!(rejected, "d-a");
        }
        other => panic!("expected AlreadyDecided, got {other:?}"),
    }
    assert_eq!(
        ids(&db.decisions("hubspot", "1004", 10).unwrap()),
        ["d-b"],
        "one decision per event"
    );
}

/// Eight workers (on two handles: two replicas) claim each of 20 events at
/// once: exactly one gets New per event.
fn concurrent_claimers_exactly_one_new(db: &Db) {
    let handles = [db.shared(), db.open_again()];
    for event in 0..20 {
        let key = format!("evt-race-{event}");
        let start = Arc::new(Barrier::new(8));
        let workers: Vec<_> = (0..8)
            .map(|i| {
                let store = handles[i % 2].clone();
                let (start, key) = (start.clone(), key.clone());
                thread::spawn(move || {
                    start.wait();
                    is_new(&store.claim("hubspot", &key, 50_000, LEASE).unwrap())
                })
            })
            .collect();
        let winners = workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .filter(|&new| new)
            .count();
        assert_eq!(winners, 1, "{key}: exactly one claimer gets New");
    }
}

/// Sixteen writers at once (on SQLite they share transactions: group
/// commit): eight race to record a decision for one event, so seven fail with
/// AlreadyDecided, while eight count. Each failure undoes only its own write,
/// and every write that succeeded is there once its call returned.
fn a_failed_write_among_concurrent_ones_undoes_only_itself(db: &Db) {
    let store = db.shared();
    let start = Arc::new(Barrier::new(16));
    let workers: Vec<_> = (0..16)
        .map(|i| {
            let (store, start) = (store.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                if i % 2 == 0 {
                    let d = decision(&format!("d-{i}"), "1010", "2026-11-20T10:00:00.000Z");
                    match store.record("hubspot", "evt-group", &d) {
                        Ok(()) => 1,
                        Err(StoreError::AlreadyDecided { .. }) => 0,
                        Err(e) => panic!("record: {e}"),
                    }
                } else {
                    for _ in 0..50 {
                        store.increment("router", "group", 1).unwrap();
                    }
                    0
                }
            })
        })
        .collect();
    let recorded: i32 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(recorded, 1, "one decision per event");
    assert_eq!(db.decisions("hubspot", "1010", 10).unwrap().len(), 1);
    assert_eq!(db.get("router", "group").unwrap().as_deref(), Some("400"));
}

fn decisions_newest_first_with_limit(db: &Db) {
    let recorded = [
        ("d-b", "2026-11-20T10:00:02Z"),
        ("d-a", "2026-11-20T10:00:01Z"),
        ("d-d", "2026-11-20T10:00:04.5+00:00"),
        ("d-c", "2026-11-20T12:00:03+02:00"), // 10:00:03Z
        ("d-c2", "2026-11-20T10:00:03Z"),     // the same instant: recorded later, listed first
    ];
    for (i, (id, at)) in recorded.iter().enumerate() {
        db.record(
            "hubspot",
            &format!("evt-log-{i}"),
            &decision(id, "1005", at),
        )
        .unwrap();
    }
    db.record(
        "hubspot",
        "evt-other",
        &decision("d-other", "1006", "2026-11-20T10:00:09Z"),
    )
    .unwrap();
    db.record(
        "pipedrive",
        "evt-p",
        &decision("d-p", "1005", "2026-11-20T10:00:09Z"),
    )
    .unwrap();

    let all = db.decisions("hubspot", "1005", 100).unwrap();
    assert_eq!(ids(&all), ["d-d", "d-c2", "d-c", "d-b", "d-a"]);
    assert_eq!(
        as_json(&all[0]),
        as_json(&decision("d-d", "1005", "2026-11-20T10:00:04.5+00:00"))
    );
    assert_eq!(
        ids(&db.decisions("hubspot", "1005", 2).unwrap()),
        ["d-d", "d-c2"]
    );
    assert!(db.decisions("hubspot", "1005", 0).unwrap().is_empty());
    assert!(db.decisions("hubspot", "nobody", 10).unwrap().is_empty());
    assert_eq!(
        ids(&db.decisions("pipedrive", "1005", 10).unwrap()),
        ["d-p"]
    );

    let bad = decision("d-bad", "1005", "yesterday");
    let err = db
        .record("hubspot", "evt-bad", &bad)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("d-bad") && err.contains("not an RFC 3339 time"),
        "{err}"
    );
}

fn attempts_are_counted_per_event_and_outlive_the_claim(db: &Db) {
    assert!(is_new(&db.claim("hubspot", "evt-t", 1_000, LEASE).unwrap()));
    assert_eq!(db.count_attempt("hubspot", "evt-t").unwrap(), 1);
    db.release("hubspot", "evt-t").unwrap();
    assert!(is_new(&db.claim("hubspot", "evt-t", 1_001, LEASE).unwrap()));
    assert_eq!(db.count_attempt("hubspot", "evt-t").unwrap(), 2);
    assert_eq!(
        db.count_attempt("pipedrive", "evt-t").unwrap(),
        1,
        "per source"
    );
    assert_eq!(
        db.count_attempt("hubspot", "evt-u").unwrap(),
        1,
        "per event"
    );
    // Concurrent replicas never lose a count.
    let handles = [db.shared(), db.open_again()];
    let workers: Vec<_> = (0..8)
        .map(|i| {
            let store = handles[i % 2].clone();
            thread::spawn(move || store.count_attempt("hubspot", "evt-race").unwrap())
        })
        .collect();
    let mut seen: Vec<u32> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    seen.sort();
    assert_eq!(seen, (1..=8).collect::<Vec<_>>());
}

fn decisions_are_listed_by_status_newest_first(db: &Db) {
    let failed = |id: &str, lead: &str, at: &str| {
        let mut d = decision(id, lead, at);
        d.status = leadwire::decision::DecisionStatus::Error;
        d.error = Some("step `router` failed: timeout".into());
        d
    };
    db.record("hubspot", "e1", &failed("f-1", "1", "2026-11-20T10:00:01Z"))
        .unwrap();
    db.record(
        "hubspot",
        "e2",
        &decision("ok-1", "2", "2026-11-20T10:00:02Z"),
    )
    .unwrap();
    db.record(
        "pipedrive",
        "e3",
        &failed("f-2", "3", "2026-11-20T10:00:03Z"),
    )
    .unwrap();
    assert_eq!(
        ids(&db.decisions_with_status("error", None, 10).unwrap()),
        ["f-2", "f-1"]
    );
    assert_eq!(
        ids(&db
            .decisions_with_status("error", Some("hubspot"), 10)
            .unwrap()),
        ["f-1"]
    );
    assert_eq!(
        ids(&db.decisions_with_status("ok", None, 10).unwrap()),
        ["ok-1"]
    );
    assert_eq!(
        ids(&db.decisions_with_status("error", None, 1).unwrap()),
        ["f-2"]
    );
}

// ---------------------------------------------------------------------------
// Opening

fn migrations_are_idempotent_and_keep_data(db: &Db) {
    db.set("ns", "kept", "yes").unwrap();
    for _ in 0..2 {
        let again = db.open_again();
        assert_eq!(again.get("ns", "kept").unwrap().as_deref(), Some("yes"));
        again.ping().unwrap();
    }
    // Four replicas starting at once on an empty database all come up.
    let url = db.scratch_url();
    let start = Arc::new(Barrier::new(4));
    let openers: Vec<_> = (0..4)
        .map(|i| {
            let (url, start) = (url.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                let store = store::open(&url).unwrap_or_else(|e| panic!("replica {i}: {e}"));
                store.increment("ns", "replicas", 1).unwrap();
            })
        })
        .collect();
    for o in openers {
        o.join().unwrap();
    }
    assert_eq!(
        store::open(&url)
            .unwrap()
            .get("ns", "replicas")
            .unwrap()
            .as_deref(),
        Some("4")
    );
}

fn ping_and_location(db: &Db) {
    db.ping().unwrap();
    let at = db.location();
    assert!(
        at.starts_with("sqlite ") || at.starts_with("postgres "),
        "{at}"
    );
    assert!(!at.contains('?'), "{at}");
}

/// The server drops a store on reload or shutdown, possibly inside an async
/// task; the PostgreSQL client's own runtime must not panic there.
fn dropping_a_store_inside_an_async_runtime_is_fine(db: &Db) {
    let store = db.open_again();
    store.ping().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async move { drop(store) });
}

contract!(
    state_get_set_delete,
    state_namespaces_are_isolated,
    state_increment_counts_and_refuses_what_is_not_an_integer,
    state_increment_is_atomic_under_concurrency,
    state_compare_and_swap_semantics,
    state_compare_and_swap_is_atomic_under_concurrency,
    state_refuses_nul_characters_alike,
    snapshot_partial_updates_build_on_the_complete_lead,
    snapshot_older_event_never_overwrites_a_newer_value,
    snapshot_activities_are_unioned,
    snapshot_concurrent_merges_lose_nothing,
    claim_record_then_a_redelivery_gets_the_recorded_decision,
    claim_is_in_progress_within_the_lease_and_taken_over_after,
    release_lets_a_retry_claim_at_once,
    record_after_a_takeover_is_refused_with_the_standing_decision,
    concurrent_claimers_exactly_one_new,
    a_failed_write_among_concurrent_ones_undoes_only_itself,
    decisions_newest_first_with_limit,
    attempts_are_counted_per_event_and_outlive_the_claim,
    decisions_are_listed_by_status_newest_first,
    migrations_are_idempotent_and_keep_data,
    ping_and_location,
    dropping_a_store_inside_an_async_runtime_is_fine,
    outbox_writes_commit_with_the_decision_and_coalesce,
    outbox_rows_are_leased_settled_retried_and_taken_over,
    outbox_writes_to_one_record_are_delivered_in_order,
    outbox_writes_only_what_changed,
    outbox_rate_counts_are_shared_by_replicas,
    outbox_concurrent_workers_claim_each_row_once,
    timers_start_with_their_decision_end_when_met_and_restart_on_an_owner_change,
    timers_fire_once_each_in_due_order_on_the_stores_clock,
    timers_claimed_by_racing_replicas_are_fired_once,
);

// ---------------------------------------------------------------------------
// The outbox

/// 2026-11-20T10:00:00Z, the fixtures' decision time, in ms.
const DECIDED_MS: i64 = 1_795_168_800_000;

fn write(record: &str, properties: serde_json::Value) -> OutboxWrite {
    OutboxWrite {
        connection: "hs".into(),
        record: record.into(),
        payload: json!({ "properties": properties }),
    }
}

/// Settle one claimed row: whether the claim still held it.
fn settle(db: &Db, row: &OutboxRow, how: Settled, now_ms: i64) -> Result<bool, StoreError> {
    db.settle_outbox(&[(row, how)], now_ms, &|_, _| Vec::new())
        .map(|taken| taken[0])
}

fn outbox_writes_commit_with_the_decision_and_coalesce(db: &Db) {
    let first = [write("L1", json!({"hubspot_owner_id": "1", "score": "10"}))];
    let d1 = decision("d1", "L1", "2026-11-20T10:00:00Z");
    db.record_with_writes("hubspot", "k1", &d1, &first).unwrap();
    // Recording the same decision again enqueues nothing more.
    db.record_with_writes("hubspot", "k1", &d1, &first).unwrap();
    assert_eq!(db.outbox(None, 10).unwrap().len(), 1);

    // A later decision on the same record merges over the pending write.
    let d2 = decision("d2", "L1", "2026-11-20T10:00:00Z");
    db.record_with_writes("hubspot", "k2", &d2, &[write("L1", json!({"score": "20"}))])
        .unwrap();
    let d3 = decision("d3", "L2", "2026-11-20T10:00:00Z");
    db.record_with_writes("hubspot", "k3", &d3, &[write("L2", json!({"score": "5"}))])
        .unwrap();
    let rows = db.outbox(Some("pending"), 10).unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        (rows[0].record.as_str(), rows[0].decision_id.as_str()),
        ("L1", "d2")
    );
    assert_eq!(
        rows[0].payload,
        json!({"properties": {"hubspot_owner_id": "1", "score": "20"}})
    );
    assert_eq!(rows[0].next_attempt_at, DECIDED_MS);
    assert_eq!((rows[1].record.as_str(), rows[1].attempts), ("L2", 0));
    // A decision without writes leaves the outbox alone.
    let d4 = decision("d4", "L3", "2026-11-20T10:00:00Z");
    db.record("hubspot", "k4", &d4).unwrap();
    assert_eq!(db.outbox(None, 10).unwrap().len(), 2);
}

fn outbox_rows_are_leased_settled_retried_and_taken_over(db: &Db) {
    let d = decision("d1", "L1", "2026-11-20T10:00:00Z");
    let writes = [write("L1", json!({"a": 1})), write("L2", json!({"b": 2}))];
    db.record_with_writes("hubspot", "k1", &d, &writes).unwrap();
    let now = DECIDED_MS + 1_000;
    let lease = 30_000;
    assert!(
        db.claim_outbox("hs", DECIDED_MS - 1, lease, 10)
            .unwrap()
            .is_empty(),
        "not due yet"
    );
    assert!(
        db.claim_outbox("other", now, lease, 10).unwrap().is_empty(),
        "another connection's worker takes none"
    );
    let claimed = db.claim_outbox("hs", now, lease, 10).unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(
        claimed
            .iter()
            .all(|r| r.status == "inflight" && r.attempts == 1)
    );
    assert!(
        db.claim_outbox("hs", now, lease, 10).unwrap().is_empty(),
        "leased"
    );
    let (a, b) = (&claimed[0], &claimed[1]);
    let retry = Settled::Retry {
        at_ms: now + 5_000,
        error: "429 TEN_SECONDLY_ROLLING".into(),
    };
    // Both in one transaction.
    assert_eq!(
        db.settle_outbox(&[(a, retry), (b, Settled::Done)], now, &|_, _| Vec::new())
            .unwrap(),
        [true, true]
    );
    assert!(!settle(db, b, Settled::Done, now).unwrap(), "settled once");
    assert!(
        db.claim_outbox("hs", now + 1_000, lease, 10)
            .unwrap()
            .is_empty()
    );
    let again = db.claim_outbox("hs", now + 6_000, lease, 10).unwrap();
    assert_eq!((again.len(), again[0].id, again[0].attempts), (1, a.id, 2));
    assert_eq!(
        again[0].last_error.as_deref(),
        Some("429 TEN_SECONDLY_ROLLING")
    );
    // The worker stalled: once its lease runs out another takes the row over,
    // and the stalled worker's late answer is not recorded.
    let taken = db
        .claim_outbox("hs", now + 6_000 + lease + 1, lease, 10)
        .unwrap();
    assert_eq!((taken.len(), taken[0].attempts), (1, 3));
    assert!(
        !settle(db, &again[0], Settled::Done, now).unwrap(),
        "a lease that ran out settles nothing"
    );
    let dead = Settled::Dead {
        error: "400 {\"category\":\"VALIDATION_ERROR\"}".into(),
    };
    assert!(settle(db, &taken[0], dead.clone(), now).unwrap());
    let rows = db.outbox(Some("dead"), 10).unwrap();
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("VALIDATION_ERROR")
    );
    assert!(db.retry_outbox(a.id, now + 100_000).unwrap());
    assert!(
        !db.retry_outbox(b.id, now).unwrap(),
        "a delivered row stays done"
    );
    let retried = db.claim_outbox("hs", now + 100_000, lease, 10).unwrap();
    assert_eq!((retried.len(), retried[0].attempts), (1, 1));
    // A rate limit's wait does not count as an attempt.
    let later = Settled::Later {
        at_ms: now + 100_000,
        error: "429".into(),
    };
    assert!(settle(db, &retried[0], later.clone(), now).unwrap());
    assert_eq!(db.outbox_row(a.id).unwrap().unwrap().attempts, 0);
    let last = db.claim_outbox("hs", now + 100_000, lease, 10).unwrap();
    assert!(settle(db, &last[0], dead.clone(), now).unwrap());
    assert!(db.drop_outbox(a.id).unwrap());
    assert_eq!(db.outbox_row(a.id).unwrap(), None);
    assert!(!db.drop_outbox(b.id).unwrap(), "a delivered row is history");
    assert_eq!(db.outbox_row(b.id).unwrap().unwrap().status, "done");
}

fn outbox_writes_to_one_record_are_delivered_in_order(db: &Db) {
    let d1 = decision("d1", "L1", "2026-11-20T10:00:00Z");
    db.record_with_writes("hubspot", "k1", &d1, &[write("L1", json!({"s": 1}))])
        .unwrap();
    let now = DECIDED_MS + 1_000;
    let first = db.claim_outbox("hs", now, 30_000, 10).unwrap();
    // A new write while the first is in flight waits behind it.
    let d2 = decision("d2", "L1", "2026-11-20T10:00:00Z");
    db.record_with_writes("hubspot", "k2", &d2, &[write("L1", json!({"s": 2}))])
        .unwrap();
    assert!(db.claim_outbox("hs", now, 30_000, 10).unwrap().is_empty());
    settle(db, &first[0], Settled::Done, now).unwrap();
    let second = db.claim_outbox("hs", now, 30_000, 10).unwrap();
    assert_eq!(second[0].payload, json!({"properties": {"s": 2}}));
}

fn outbox_writes_only_what_changed(db: &Db) {
    let now = DECIDED_MS + 1_000;
    let record = |key: &str, properties: serde_json::Value| {
        let d = decision(&format!("d-{key}"), "L1", "2026-11-20T10:00:00Z");
        db.record_with_writes("hubspot", key, &d, &[write("L1", properties)])
            .unwrap();
    };
    record("k1", json!({"hubspot_owner_id": "1", "score": "10"}));
    let first = db.claim_outbox("hs", now, 30_000, 10).unwrap();
    settle(db, &first[0], Settled::Done, now).unwrap();
    // The same values again: nothing to write.
    record("k2", json!({"hubspot_owner_id": "1", "score": "10"}));
    assert!(db.outbox(Some("pending"), 10).unwrap().is_empty());
    // A new score: only the score.
    record("k3", json!({"hubspot_owner_id": "1", "score": "30"}));
    let second = db.claim_outbox("hs", now, 30_000, 10).unwrap();
    assert_eq!(second[0].payload, json!({"properties": {"score": "30"}}));
    // That write failed for good: the next decision writes everything again.
    let dead = Settled::Dead {
        error: "400".into(),
    };
    settle(db, &second[0], dead.clone(), now).unwrap();
    record("k4", json!({"hubspot_owner_id": "1", "score": "30"}));
    let third = db.claim_outbox("hs", now, 30_000, 10).unwrap();
    assert_eq!(
        third[0].payload,
        json!({"properties": {"hubspot_owner_id": "1", "score": "30"}})
    );
}

fn outbox_rate_counts_are_shared_by_replicas(db: &Db) {
    let (a, b) = (db.shared(), db.open_again());
    let window = 10_000;
    let start = DECIDED_MS - DECIDED_MS.rem_euclid(window) + 1;
    let mut waits = Vec::new();
    for i in 0..6 {
        let store = if i % 2 == 0 { &a } else { &b };
        waits.push(store.take_rate("hs", window, 4, start).unwrap());
    }
    if db.url.starts_with("sqlite") {
        // One process owns the file: its own pacing is all there is.
        assert_eq!(waits, [0; 6]);
        return;
    }
    assert_eq!(&waits[..4], &[0; 4], "four fit in the window");
    assert!(waits[4] > 0 && waits[5] > 0, "{waits:?}");
    // Just into the next window, the last one still weighs 3 of its 4.
    assert_eq!(a.take_rate("hs", window, 4, start + window).unwrap(), 0);
    assert!(b.take_rate("hs", window, 4, start + window).unwrap() > 0);
    // Far on, it has room again; another connection has its own count.
    assert_eq!(a.take_rate("hs", window, 4, start + 3 * window).unwrap(), 0);
    assert_eq!(b.take_rate("pd", window, 4, start).unwrap(), 0);
}

fn outbox_concurrent_workers_claim_each_row_once(db: &Db) {
    let writes: Vec<OutboxWrite> = (0..60)
        .map(|i| write(&format!("L{i}"), json!({"i": i})))
        .collect();
    let d = decision("d1", "L0", "2026-11-20T10:00:00Z");
    db.record_with_writes("hubspot", "k1", &d, &writes).unwrap();
    let handles = [db.shared(), db.open_again()];
    let start = Arc::new(Barrier::new(4));
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let store = handles[i % 2].clone();
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                let mut mine = Vec::new();
                loop {
                    let rows = store
                        .claim_outbox("hs", DECIDED_MS + 1, 600_000, 7)
                        .unwrap();
                    if rows.is_empty() {
                        return mine;
                    }
                    mine.extend(rows.into_iter().map(|r| r.id));
                }
            })
        })
        .collect();
    let mut all: Vec<i64> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    let claimed = all.len();
    all.sort();
    all.dedup();
    assert_eq!(
        (claimed, all.len()),
        (60, 60),
        "each row claimed exactly once"
    );
}

// ---------------------------------------------------------------------------
// Backend-independent

#[test]
fn store_urls_are_checked_with_a_clear_message() {
    for (url, says) in [
        ("mysql://root@localhost/db", "unknown kind of store"),
        ("leadwire.db", "unknown kind of store"),
        ("sqlite://", "no file"),
        ("sqlite://x.db?mode=ro", "take no options"),
        (
            "postgres://app:hunter2@db:5432/leadwire?nonsense=1",
            "nonsense",
        ),
    ] {
        let err = match store::open(url) {
            Err(e) => e,
            Ok(_) => panic!("{url} should be refused"),
        };
        let text = err.to_string();
        assert!(matches!(err, StoreError::Url { .. }), "{url}: {text}");
        assert!(text.contains(says), "{url}: {text}");
        assert!(!text.contains("hunter2"), "a password never shows: {text}");
    }
}

#[test]
fn a_missing_folder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}/no/such/folder/leadwire.db",
        dir.path().display()
    );
    let text = store::open(&url).err().expect("should fail").to_string();
    assert!(text.starts_with("sqlite "), "{text}");
    assert!(text.contains("does not exist"), "{text}");
}

#[test]
fn in_memory_sqlite_works() {
    let store = store::open("sqlite::memory:").unwrap();
    assert_eq!(store.location(), "sqlite :memory:");
    assert_eq!(store.increment("ns", "n", 2).unwrap(), 2);
    assert!(is_new(&store.claim("s", "k", 0, LEASE).unwrap()));
    store
        .record("s", "k", &decision("d", "l", "2026-11-20T10:00:00Z"))
        .unwrap();
    assert_eq!(ids(&store.decisions("s", "l", 5).unwrap()), ["d"]);
    // The runtime takes the store as its state backend.
    let _state: Arc<dyn StateStore> = store.clone();
}

#[test]
fn an_unreachable_postgres_is_a_clear_error() {
    // Port 1 on loopback: nothing listens there.
    let text = store::open("postgres://app:hunter2@127.0.0.1:1/leadwire?connect_timeout=2")
        .err()
        .expect("should fail")
        .to_string();
    assert!(
        text.starts_with("postgres app@127.0.0.1:1/leadwire: connect:"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
}

// ---------------------------------------------------------------------------
// SLA timers

fn start(owner: &str, started_at: i64, dues: &[i64]) -> TimerChange {
    TimerChange::Start {
        policy: "first-touch".into(),
        owner: owner.into(),
        started_at,
        dues: dues.to_vec(),
    }
}

fn timers_start_with_their_decision_end_when_met_and_restart_on_an_owner_change(db: &Db) {
    let now = db.clock_ms().unwrap();
    let d1 = decision("d1", "L1", "2026-11-20T10:00:00Z");
    db.record_with_effects(
        "hubspot",
        "k1",
        &d1,
        &[],
        &[start("ana", now, &[now + 1000, now + 2000])],
    )
    .unwrap();
    // A repeat of the same decision starts nothing more.
    db.record_with_effects(
        "hubspot",
        "k1",
        &d1,
        &[],
        &[start("ana", now, &[now + 1000])],
    )
    .unwrap();
    let timers = db.timers("hubspot", "L1").unwrap();
    assert_eq!(timers.len(), 1, "{timers:?}");
    assert_eq!(
        (timers[0].state.as_str(), timers[0].due_at()),
        ("pending", Some(now + 1000))
    );
    assert_eq!(timers[0].decision_id, "d1");
    // The same owner again: the running timer stands.
    let d2 = decision("d2", "L1", "2026-11-20T10:00:00Z");
    db.record_with_effects(
        "hubspot",
        "k2",
        &d2,
        &[],
        &[start("ana", now + 5, &[now + 9000])],
    )
    .unwrap();
    assert_eq!(db.timers("hubspot", "L1").unwrap().len(), 1);
    // Another owner: the old timer is cancelled, a new one runs.
    let d3 = decision("d3", "L1", "2026-11-20T10:00:00Z");
    db.record_with_effects(
        "hubspot",
        "k3",
        &d3,
        &[],
        &[start("ben", now + 10, &[now + 5000])],
    )
    .unwrap();
    let timers = db.timers("hubspot", "L1").unwrap();
    assert_eq!(
        timers
            .iter()
            .map(|t| (t.owner.as_str(), t.state.as_str()))
            .collect::<Vec<_>>(),
        [("ana", "cancelled"), ("ben", "pending")]
    );
    assert_eq!(timers[0].note.as_deref(), Some("the owner changed"));
    // Ben acts.
    let met = TimerChange::Met {
        policy: "first-touch".into(),
        how: "hs_lead_status = IN_PROGRESS".into(),
        at: now + 20,
        business_ms: Some(7),
        after: None,
    };
    let d4 = decision("d4", "L1", "2026-11-20T10:00:00Z");
    db.record_with_effects("hubspot", "k4", &d4, &[], &[met])
        .unwrap();
    let ben = &db.timers("hubspot", "L1").unwrap()[1];
    assert_eq!((ben.state.as_str(), ben.ended_at), ("met", Some(now + 20)));
    assert_eq!(ben.business_ms, Some(7));
    // The figures: one cancelled, one met within every bucket.
    let figures = db.sla_figures().unwrap();
    assert_eq!(
        figures.timers,
        [
            ("first-touch".to_string(), "cancelled".to_string(), 1),
            ("first-touch".to_string(), "met".to_string(), 1)
        ]
    );
    let touch = &figures.touch[0];
    assert_eq!(
        (touch.policy.as_str(), touch.count, touch.business_sum_ms),
        ("first-touch", 1, 7)
    );
    assert_eq!(touch.raw_sum_ms, now + 20 - ben.started_at);
    assert!(
        touch.business.iter().chain(&touch.raw).all(|n| *n == 1),
        "{touch:?}"
    );
    // A deleted lead's pending timers are cancelled.
    let d5 = decision("d5", "L2", "2026-11-20T10:00:00Z");
    db.record_with_effects("hubspot", "k5", &d5, &[], &[start("ana", now, &[now + 1])])
        .unwrap();
    let cancel = TimerChange::CancelAll {
        why: "deleted".into(),
        at: now + 2,
    };
    let d6 = decision("d6", "L2", "2026-11-20T10:00:00Z");
    db.record_with_effects("hubspot", "k6", &d6, &[], &[cancel])
        .unwrap();
    assert_eq!(db.timers("hubspot", "L2").unwrap()[0].state, "cancelled");
    // An activity logged before the assignment (decided 2026-11-20 10:00)
    // does not meet its timer; one after does.
    let d7 = decision("d7", "L3", "2026-11-20T10:00:00Z");
    db.record_with_effects("hubspot", "k7", &d7, &[], &[start("ana", now, &[now + 1])])
        .unwrap();
    let call_at = |at: &str| TimerChange::Met {
        policy: "first-touch".into(),
        how: "a call was logged".into(),
        at: now + 3,
        business_ms: None,
        after: Some(leadwire::lead::parse_time(at).unwrap()),
    };
    let d8 = decision("d8", "L3", "2026-11-20T10:05:00Z");
    db.record_with_effects(
        "hubspot",
        "k8",
        &d8,
        &[],
        &[call_at("2026-11-20T09:00:00Z")],
    )
    .unwrap();
    assert_eq!(db.timers("hubspot", "L3").unwrap()[0].state, "pending");
    let d9 = decision("d9", "L3", "2026-11-20T10:06:00Z");
    db.record_with_effects(
        "hubspot",
        "k9",
        &d9,
        &[],
        &[call_at("2026-11-20T10:04:00Z")],
    )
    .unwrap();
    assert_eq!(db.timers("hubspot", "L3").unwrap()[0].state, "met");
}

fn timers_fire_once_each_in_due_order_on_the_stores_clock(db: &Db) {
    let now = db.clock_ms().unwrap();
    let hour = 3_600_000;
    for (i, lead) in ["L1", "L2"].iter().enumerate() {
        // L2 is due first.
        let due = now + hour * (2 - i as i64);
        let d = decision(&format!("d{i}"), lead, "2026-11-20T10:00:00Z");
        db.record_with_effects(
            "hubspot",
            &format!("k{i}"),
            &d,
            &[],
            &[start("ana", now, &[due, due + hour])],
        )
        .unwrap();
    }
    let (_, due) = db.claim_timers(60_000, 10).unwrap();
    assert!(due.is_empty(), "nothing is due yet");
    // Three hours on: both are overdue, the older due first.
    let moved = db.advance_clock(3 * hour).unwrap();
    assert!(moved >= now + 3 * hour);
    let (clock, due) = db.claim_timers(60_000, 10).unwrap();
    assert!(clock >= now + 3 * hour);
    assert_eq!(
        due.iter().map(|t| t.lead_id.as_str()).collect::<Vec<_>>(),
        ["L2", "L1"]
    );
    assert!(db.claim_timers(60_000, 10).unwrap().1.is_empty(), "leased");
    // A warning advances the timer once; a second replica's try changes nothing.
    assert!(db.fire_timer(&due[0], &Fired::Warned, clock, &[]).unwrap());
    assert!(!db.fire_timer(&due[0], &Fired::Warned, clock, &[]).unwrap());
    let l2 = &db.timers("hubspot", "L2").unwrap()[0];
    assert_eq!(
        (l2.checkpoint, l2.state.as_str(), l2.fired.len()),
        (1, "pending", 1)
    );
    // The breach is committed with the decision it made, once.
    let breach = |key: &str, id: &str| {
        let d = decision(id, "L1", "2026-11-20T10:00:00Z");
        let b = TimerChange::Breached {
            id: due[1].id,
            checkpoint: 0,
            why: "not touched".into(),
            at: clock,
        };
        db.record_with_effects(
            "hubspot",
            key,
            &d,
            &[],
            &[b, start("ben", clock, &[clock + hour])],
        )
        .unwrap();
    };
    breach("sla:1:0", "d-breach");
    breach("sla:1:0-again", "d-breach-2");
    let l1 = db.timers("hubspot", "L1").unwrap();
    assert_eq!(
        l1.iter()
            .map(|t| (t.owner.as_str(), t.state.as_str()))
            .collect::<Vec<_>>(),
        [("ana", "breached"), ("ben", "pending")],
        "one breach, one new timer"
    );
    assert_eq!(l1[0].note.as_deref(), Some("not touched"));
}

fn timers_claimed_by_racing_replicas_are_fired_once(db: &Db) {
    let now = db.clock_ms().unwrap();
    for i in 0..40 {
        let d = decision(&format!("d{i}"), &format!("L{i}"), "2026-11-20T10:00:00Z");
        db.record_with_effects(
            "hubspot",
            &format!("k{i}"),
            &d,
            &[],
            &[start("ana", now, &[now - 1])],
        )
        .unwrap();
    }
    let handles = [db.shared(), db.open_again()];
    let start_line = Arc::new(Barrier::new(4));
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let store = handles[i % 2].clone();
            let start_line = start_line.clone();
            thread::spawn(move || {
                start_line.wait();
                let mut fired = 0;
                loop {
                    let (clock, due) = store.claim_timers(600_000, 3).unwrap();
                    if due.is_empty() {
                        return fired;
                    }
                    for t in &due {
                        // Every worker tries every claimed timer twice.
                        for _ in 0..2 {
                            fired += usize::from(
                                store
                                    .fire_timer(t, &Fired::Breached("x".into()), clock, &[])
                                    .unwrap(),
                            );
                        }
                    }
                }
            })
        })
        .collect();
    let fired: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(fired, 40, "each timer fired exactly once");
}
