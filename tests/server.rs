//! `leadwire serve` over real HTTP on loopback: the CRM fixtures end to end,
//! signatures, bad input, idempotency, snapshot merge, reload, and two replicas
//! on one PostgreSQL.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/webhooks");
const SECRET: &str = "test-secret-0123456789";
const ADMIN_TOKEN: &str = "admin-token-xyz";
const SF_ORG: &str = "00D5g000004SGHnEAO";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURES).join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// A server config: the quickstart plugins, a two-rep team with equal weights,
/// and one source per adapter.
fn config_text(store_url: &str, extra: &str) -> String {
    let quickstart = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/quickstart/leadwire.toml"
    ))
    .unwrap()
    .replace("../../target/plugins", common::PLUGINS_DIR);
    format!(
        r#"{quickstart}
[store]
url = "{store_url}"

[server]
admin_token_env = "LW_TEST_ADMIN_TOKEN"
body_limit_kib = 64

[pipelines.even]
steps = [{{ plugin = "evenrouter" }}]

[plugins.evenrouter]
path = "{plugins}/territory_router.wasm"
grants = ["state", "directory", "accounts"]
[[plugins.evenrouter.config.territories]]
team = "pair"

[directory.teams.pair]
reps = ["pat", "quinn"]
[directory.reps.pat]
[directory.reps.quinn]

[sources.hubspot]
adapter = "hubspot"
pipeline = "inbound"
secret_env = "LW_TEST_SECRET"
[sources.hubspot.options]
signature = "v1"

[sources.hubspot-v3]
adapter = "hubspot"
pipeline = "inbound"
secret_env = "LW_TEST_SECRET"
[sources.hubspot-v3.options]
signature = "v3"

[sources.workflow]
adapter = "hubspot"
pipeline = "inbound"
secret_env = "LW_TEST_SECRET"
[sources.workflow.options]
signature = "v2"
format = "workflow"

[sources.salesforce]
adapter = "salesforce"
pipeline = "inbound"
[sources.salesforce.options]
organization_id = "{SF_ORG}"

[sources.pipedrive]
adapter = "pipedrive"
pipeline = "inbound"
secret_env = "LW_TEST_SECRET"
[sources.pipedrive.options]
username = "pipedrive-hook"

[sources.generic]
adapter = "generic"
pipeline = "even"
secret_env = "LW_TEST_SECRET"
{extra}
"#,
        plugins = common::PLUGINS_DIR
    )
}

struct Server {
    child: Child,
    addr: String,
    config: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    fn start_with(config: PathBuf, dir: Option<tempfile::TempDir>) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_leadwire"))
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .env("LW_TEST_SECRET", SECRET)
            .env("LW_TEST_ADMIN_TOKEN", ADMIN_TOKEN)
            .stderr(Stdio::piped())
            .spawn()
            .expect("start leadwire serve");
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let addr = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("leadwire serve exited before listening"))
                .unwrap();
            if let Some(rest) = line.strip_prefix("leadwire: listening on http://") {
                break rest.trim().to_string();
            }
            eprintln!("server: {line}");
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                eprintln!("server: {line}")
            }
        });
        Server {
            child,
            addr,
            config,
            _dir: dir,
        }
    }

    fn start(store_url: Option<&str>) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let url = match store_url {
            Some(u) => u.to_string(),
            None => format!("sqlite://{}", dir.path().join("leadwire.db").display()),
        };
        let config = dir.path().join("leadwire.toml");
        std::fs::write(&config, config_text(&url, "")).unwrap();
        Server::start_with(config, Some(dir))
    }

    fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        http(&self.addr, "POST", path, headers, body)
    }

    fn get(&self, path: &str) -> Response {
        http(&self.addr, "GET", path, &[], b"")
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Response {
    status: u16,
    #[allow(dead_code)]
    headers: String,
    body: String,
}

impl Response {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A minimal HTTP/1.1 client: one request per connection.
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Response {
        status,
        headers: head.to_string(),
        body,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

fn hubspot_v1(body: &[u8]) -> String {
    let mut msg = SECRET.as_bytes().to_vec();
    msg.extend_from_slice(body);
    sha256_hex(&msg)
}

const JSON: (&str, &str) = ("Content-Type", "application/json");

fn post_hubspot_v1(server: &Server, body: &[u8]) -> Response {
    let sig = hubspot_v1(body);
    server.post(
        "/hooks/hubspot",
        &[
            JSON,
            ("X-HubSpot-Signature", &sig),
            ("X-HubSpot-Signature-Version", "v1"),
        ],
        body,
    )
}

fn generic_post(server: &Server, body: &str) -> Response {
    let ts = (chrono::Utc::now().timestamp()).to_string();
    let sig = leadwire::adapters::generic::sign(SECRET, &ts, body.as_bytes());
    server.post(
        "/hooks/generic",
        &[
            JSON,
            ("X-Leadwire-Timestamp", &ts),
            ("X-Leadwire-Signature", &sig),
        ],
        body.as_bytes(),
    )
}

fn decisions(server: &Server, source: &str, lead: &str) -> Vec<Value> {
    let r = server.get(&format!("/v1/leads/{source}/{lead}/decisions"));
    assert_eq!(r.status, 200, "{r:?}");
    r.json().as_array().unwrap().clone()
}

#[test]
fn every_crm_fixture_is_authenticated_decided_and_logged() {
    let server = Server::start(None);

    // HubSpot app webhooks, v1 signature: a batch, and a property change.
    for name in [
        "hubspot-app-batch-docs-example.json",
        "hubspot-app-contact-propertychange.json",
        "hubspot-app-v1-signature-docs-body.json",
    ] {
        let r = post_hubspot_v1(&server, &fixture(name));
        assert_eq!(r.status, 200, "{name}: {r:?}");
    }
    let trail = decisions(&server, "hubspot", "90121");
    assert_eq!(trail.len(), 1, "{trail:?}");
    assert_eq!(trail[0]["pipeline"], "inbound");
    assert_eq!(trail[0]["trigger"], "updated");

    // HubSpot workflow action, v2 signature over method + URL + body.
    let body = fixture("hubspot-workflow-contact.json");
    let mut msg = SECRET.as_bytes().to_vec();
    msg.extend_from_slice(b"POST");
    msg.extend_from_slice(server.url("/hooks/workflow").as_bytes());
    msg.extend_from_slice(&body);
    let r = server.post(
        "/hooks/workflow",
        &[
            JSON,
            ("X-HubSpot-Signature", &sha256_hex(&msg)),
            ("X-HubSpot-Signature-Version", "v2"),
        ],
        &body,
    );
    assert_eq!(r.status, 200, "{r:?}");

    // HubSpot v3: HMAC over method, URL, body and a fresh timestamp.
    let body = fixture("hubspot-app-contact-propertychange.json");
    let ts = chrono::Utc::now().timestamp_millis().to_string();
    let sig = leadwire::adapters::hubspot::sign_v3(
        SECRET,
        "POST",
        &server.url("/hooks/hubspot-v3"),
        &body,
        &ts,
    );
    let r = server.post(
        "/hooks/hubspot-v3",
        &[
            JSON,
            ("X-HubSpot-Signature-v3", &sig),
            ("X-HubSpot-Request-Timestamp", &ts),
        ],
        &body,
    );
    assert_eq!(r.status, 200, "{r:?}");

    // Salesforce Outbound Message: the answer is the SOAP Ack.
    let r = server.post(
        "/hooks/salesforce",
        &[
            ("Content-Type", "text/xml; charset=utf-8"),
            ("SOAPAction", "\"\""),
        ],
        &fixture("salesforce-outbound-lead.xml"),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("<Ack>true</Ack>"), "{}", r.body);
    assert_eq!(
        decisions(&server, "salesforce", "00Q5g00000Lk7ZqEAJ").len(),
        1
    );

    // Pipedrive v1 and v2 with HTTP Basic auth.
    use base64::Engine;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("pipedrive-hook:{SECRET}"))
    );
    for name in [
        "pipedrive-v1-person-updated.json",
        "pipedrive-v2-person-create.json",
    ] {
        let r = server.post(
            "/hooks/pipedrive",
            &[JSON, ("Authorization", &auth)],
            &fixture(name),
        );
        assert_eq!(r.status, 200, "{name}: {r:?}");
    }

    let metrics = server.get("/metrics").body;
    assert!(
        metrics.contains(r#"leadwire_requests_total{source="salesforce",status="200"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("leadwire_plugin_calls_total{plugin=\"scorer\",result=\"ok\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("leadwire_request_duration_seconds_bucket"),
        "{metrics}"
    );
}

#[test]
fn bad_requests_get_their_status_and_a_reason() {
    let server = Server::start(None);
    let body = fixture("hubspot-app-contact-propertychange.json");

    let wrong = server.post(
        "/hooks/hubspot",
        &[
            JSON,
            ("X-HubSpot-Signature", &"0".repeat(64)),
            ("X-HubSpot-Signature-Version", "v1"),
        ],
        &body,
    );
    assert_eq!(wrong.status, 401, "{wrong:?}");
    assert!(
        wrong.json()["error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("signature"),
        "{wrong:?}"
    );

    let missing = server.post("/hooks/hubspot", &[JSON], &body);
    assert_eq!(missing.status, 401, "{missing:?}");

    let old = (chrono::Utc::now().timestamp_millis() - 10 * 60 * 1000).to_string();
    let sig = leadwire::adapters::hubspot::sign_v3(
        SECRET,
        "POST",
        &server.url("/hooks/hubspot-v3"),
        &body,
        &old,
    );
    let stale = server.post(
        "/hooks/hubspot-v3",
        &[
            JSON,
            ("X-HubSpot-Signature-v3", &sig),
            ("X-HubSpot-Request-Timestamp", &old),
        ],
        &body,
    );
    assert_eq!(stale.status, 401, "a 10-minute-old timestamp: {stale:?}");

    let malformed = b"[{\"objectId\": ";
    let r = post_hubspot_v1(&server, malformed);
    assert_eq!(r.status, 400, "{r:?}");
    assert!(!r.json()["error"].as_str().unwrap().is_empty());

    let r = server.post("/hooks/nope", &[JSON], b"{}");
    assert_eq!(r.status, 404, "{r:?}");
    assert!(r.json()["error"].as_str().unwrap().contains("nope"));

    let big = vec![b' '; 65 * 1024];
    let r = post_hubspot_v1(&server, &big);
    assert_eq!(r.status, 413, "{:?}", r.status);

    let sig = hubspot_v1(&body);
    let r = server.post(
        "/hooks/hubspot",
        &[
            ("Content-Type", "text/plain"),
            ("X-HubSpot-Signature", &sig),
            ("X-HubSpot-Signature-Version", "v1"),
        ],
        &body,
    );
    assert_eq!(r.status, 415, "{r:?}");

    let r = server.post(
        "/hooks/salesforce",
        &[("Content-Type", "text/xml")],
        &fixture("salesforce-outbound-lead.xml")
            .iter()
            .map(|b| if *b == b'E' { b'X' } else { *b })
            .collect::<Vec<_>>(),
    );
    assert_ne!(r.status, 200, "a different org id must not be acked: {r:?}");
    assert!(
        r.body.contains("Fault"),
        "Salesforce gets a SOAP fault so that it retries: {}",
        r.body
    );

    // The server survived all of it.
    assert_eq!(server.get("/healthz").status, 200);
    assert_eq!(server.get("/readyz").status, 200);
}

fn generic_lead(id: &str, event_id: &str, at: &str, title: &str) -> String {
    format!(
        r#"{{"lead": {{"id": "{id}", "email": "x{id}@example.org", "fields": {{"jobtitle": "{title}"}}}},
            "event": {{"id": "{event_id}", "trigger": "updated", "at": "{at}", "changed": ["jobtitle"]}}}}"#
    )
}

#[test]
fn a_redelivery_answers_the_recorded_decision_and_advances_no_round_robin() {
    let server = Server::start(None);
    let first = generic_post(
        &server,
        &generic_lead("l1", "e1", "2026-11-20T12:00:00Z", "VP"),
    );
    assert_eq!(first.status, 200, "{first:?}");
    let again = generic_post(
        &server,
        &generic_lead("l1", "e1", "2026-11-20T12:00:00Z", "VP"),
    );
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(
        first.json()["decisions"],
        again.json()["decisions"],
        "the same decision answers the redelivery"
    );
    assert_eq!(decisions(&server, "generic", "l1").len(), 1, "decided once");

    // The round robin moved once: the next lead goes to the other rep.
    let first_owner = decisions(&server, "generic", "l1")[0]["owner"].clone();
    let next = generic_post(
        &server,
        &generic_lead("l2", "e2", "2026-11-20T12:01:00Z", "VP"),
    );
    assert_eq!(next.status, 200);
    let second_owner = decisions(&server, "generic", "l2")[0]["owner"].clone();
    assert_ne!(
        first_owner, second_owner,
        "equal weights alternate; a duplicate must not count"
    );
}

#[test]
fn an_older_event_never_overwrites_a_newer_value_in_the_snapshot() {
    let server = Server::start(None);
    // HubSpot sends one property per event; deliver the newer one first.
    let event = |event_id: u64, at: u64, value: &str| {
        format!(
            r#"[{{"eventId":{event_id},"subscriptionId":7,"portalId":62515,"occurredAt":{at},"subscriptionType":"contact.propertyChange","attemptNumber":0,"objectId":555,"propertyName":"jobtitle","propertyValue":"{value}","changeSource":"CRM_UI","appId":1}}]"#
        )
    };
    assert_eq!(
        post_hubspot_v1(
            &server,
            event(1, 2_000_000_000_000, "VP of Sales").as_bytes()
        )
        .status,
        200
    );
    assert_eq!(
        post_hubspot_v1(&server, event(2, 1_900_000_000_000, "Intern").as_bytes()).status,
        200
    );
    let trail = decisions(&server, "hubspot", "555");
    assert_eq!(trail.len(), 2);
    // The late "Intern" event was decided on the merged lead, whose title is still the newer one.
    let latest = &trail[0];
    let rules: Vec<_> = latest["score"]["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["rule"].as_str().unwrap().to_string())
        .collect();
    assert!(rules.contains(&"senior-title".to_string()), "{rules:?}");
    assert!(!rules.contains(&"junior-title".to_string()), "{rules:?}");
}

#[test]
fn reload_swaps_a_valid_config_and_refuses_a_broken_one_while_serving() {
    let mut server = Server::start(None);
    let r = server.post("/admin/reload", &[], b"");
    assert_eq!(r.status, 401, "no token: {r:?}");
    let auth = format!("Bearer {ADMIN_TOKEN}");

    // Broken: a step names a plugin that does not exist.
    let good = std::fs::read_to_string(&server.config).unwrap();
    std::fs::write(
        &server.config,
        good.replace("{ plugin = \"evenrouter\" }", "{ plugin = \"missing\" }"),
    )
    .unwrap();
    let r = server.post("/admin/reload", &[("Authorization", &auth)], b"");
    assert_eq!(r.status, 422, "{r:?}");
    assert!(
        r.json()["error"].as_str().unwrap().contains("missing"),
        "{r:?}"
    );
    assert_eq!(
        generic_post(
            &server,
            &generic_lead("r1", "r1", "2026-11-20T12:00:00Z", "VP")
        )
        .status,
        200,
        "the old config still serves"
    );

    // Valid: a new source appears.
    std::fs::write(&server.config, good.clone() + "\n[sources.generic2]\nadapter = \"generic\"\npipeline = \"even\"\nsecret_env = \"LW_TEST_SECRET\"\n").unwrap();
    let r = server.post("/admin/reload", &[("Authorization", &auth)], b"");
    assert_eq!(r.status, 200, "{r:?}");
    assert_ne!(server.post("/hooks/generic2", &[JSON], b"{}").status, 404);

    // Graceful stop on SIGTERM.
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
}

#[test]
fn two_replicas_on_one_postgres_split_a_team_evenly_and_decide_each_event_once() {
    let Ok(base) = std::env::var("LEADWIRE_TEST_POSTGRES_URL") else {
        eprintln!(
            "skipped: the replicas test needs LEADWIRE_TEST_POSTGRES_URL (a PostgreSQL both replicas share); .ci/run sets it"
        );
        return;
    };
    // A schema of its own, so concurrent runs do not meet.
    let schema = format!("lw_replicas_{}", std::process::id());
    let mut admin =
        postgres::Client::connect(&base, postgres::NoTls).expect("connect to PostgreSQL");
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-csearch_path%3D{schema}");

    let a = Server::start(Some(&url));
    let b = Server::start(Some(&url));
    let events = 60;
    std::thread::scope(|s| {
        for t in 0..4 {
            let (a, b) = (&a, &b);
            s.spawn(move || {
                for i in (t..events).step_by(4) {
                    let server = if i % 2 == 0 { a } else { b };
                    let body = generic_lead(
                        &format!("rep{i}"),
                        &format!("ev{i}"),
                        "2026-11-20T12:00:00Z",
                        "VP",
                    );
                    // Every event is sent to both replicas: one decides, the other answers the same decision (or asks for a retry).
                    for server in [server, if std::ptr::eq(server, a) { b } else { a }] {
                        let mut r = generic_post(server, &body);
                        for _ in 0..50 {
                            if r.status != 409 {
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(50));
                            r = generic_post(server, &body);
                        }
                        assert_eq!(r.status, 200, "{r:?}");
                    }
                }
            });
        }
    });
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..events {
        let trail = decisions(&a, "generic", &format!("rep{i}"));
        assert_eq!(trail.len(), 1, "event ev{i} decided {} times", trail.len());
        *counts
            .entry(trail[0]["owner"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let (min, max) = (
        counts.values().min().unwrap(),
        counts.values().max().unwrap(),
    );
    assert_eq!(counts.len(), 2, "{counts:?}");
    assert!(
        max - min <= 1,
        "per-rep counts differ by more than one: {counts:?}"
    );
    drop((a, b));
    admin
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .unwrap();
}

#[test]
fn evaluate_returns_a_decision_and_logs_it_and_sighup_reloads() {
    let server = Server::start(None);
    let hot = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/quickstart/leads/hot.json"
    ))
    .unwrap();
    let r = server.post("/v1/pipelines/inbound/evaluate", &[JSON], &hot);
    assert_eq!(r.status, 200, "{r:?}");
    let decision = r.json();
    assert_eq!(decision["score"]["grade"], "A1", "{decision}");
    assert_eq!(decision["route"]["action"], "assign");
    let trail = decisions(&server, "hubspot", "hs-1001");
    assert_eq!(
        trail[0]["id"], decision["id"],
        "evaluate decisions are in the audit trail"
    );

    assert_eq!(
        server
            .post("/v1/pipelines/nope/evaluate", &[JSON], &hot)
            .status,
        404
    );
    assert_eq!(
        server
            .post(
                "/v1/pipelines/inbound/evaluate",
                &[("Content-Type", "text/plain")],
                &hot
            )
            .status,
        415
    );
    let bad = server.post(
        "/v1/pipelines/inbound/evaluate",
        &[JSON],
        br#"{"lead": {"id": "1", "fields": {"x": {"a": 1}}}}"#,
    );
    assert_eq!(bad.status, 400, "{bad:?}");
    assert!(
        bad.json()["error"].as_str().unwrap().contains("fields.x"),
        "{bad:?}"
    );

    // SIGHUP: a source added to the file starts answering.
    let text = std::fs::read_to_string(&server.config).unwrap();
    std::fs::write(&server.config, text + "\n[sources.late]\nadapter = \"generic\"\npipeline = \"even\"\nsecret_env = \"LW_TEST_SECRET\"\n").unwrap();
    assert_eq!(server.post("/hooks/late", &[JSON], b"{}").status, 404);
    let _ = Command::new("kill")
        .arg("-HUP")
        .arg(server.child.id().to_string())
        .status();
    let mut status = 404;
    for _ in 0..100 {
        status = server.post("/hooks/late", &[JSON], b"{}").status;
        if status != 404 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        status, 401,
        "after SIGHUP the new source exists (and wants a signature)"
    );
}
