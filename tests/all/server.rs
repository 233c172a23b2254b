//! `leadwire serve` over real HTTP on loopback: the CRM fixtures end to end,
//! signatures, bad input, idempotency, snapshot merge, reload, and two replicas
//! on one PostgreSQL.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/webhooks");
const SECRET: &str = "test-secret-0123456789";
const ADMIN_TOKEN: &str = "admin-token-xyz";
/// The API's bearer tokens (`LEADWIRE_READ_TOKEN`, `LEADWIRE_WRITE_TOKEN`).
const READ_TOKEN: &str = "read-token-abc";
const WRITE_TOKEN: &str = "write-token-def";
const SF_ORG: &str = "00D5g000004SGHnEAO";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURES).join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// The quickstart config with the plugins' paths from here.
fn quickstart() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/quickstart/leadwire.toml"
    ))
    .unwrap()
    .replace("../../target/plugins", common::PLUGINS_DIR)
}

/// A server config: the quickstart plugins (without its follow-up part), a
/// two-rep team with equal weights, and one source per adapter.
fn config_text(store_url: &str, server: &str, extra: &str) -> String {
    let quickstart = quickstart();
    let quickstart = quickstart.split("# ---- following up").next().unwrap();
    format!(
        r#"{quickstart}
[store]
url = "{store_url}"

[server]
admin_token_env = "LW_TEST_ADMIN_TOKEN"
body_limit_kib = 64
{server}

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
        Server::start_env(config, dir, &[])
    }

    /// With more environment variables (webhook URLs, other secrets).
    fn start_env(config: PathBuf, dir: Option<tempfile::TempDir>, env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_leadwire"))
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .env("LW_TEST_SECRET", SECRET)
            .env("LW_TEST_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("LEADWIRE_READ_TOKEN", READ_TOKEN)
            .env("LEADWIRE_WRITE_TOKEN", WRITE_TOKEN)
            .envs(env.iter().copied())
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
        Server::start_config(store_url, "", "")
    }

    /// With lines added to `[server]` and after the sources.
    fn start_config(store_url: Option<&str>, server: &str, extra: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let url = match store_url {
            Some(u) => u.to_string(),
            None => format!("sqlite://{}", dir.path().join("leadwire.db").display()),
        };
        let config = dir.path().join("leadwire.toml");
        std::fs::write(&config, config_text(&url, server, extra)).unwrap();
        Server::start_with(config, Some(dir))
    }

    /// A POST; under `/v1/` it carries the write token.
    fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        let auth = format!("Bearer {WRITE_TOKEN}");
        let mut headers = headers.to_vec();
        if path.starts_with("/v1/") {
            headers.push(("Authorization", &auth));
        }
        http(&self.addr, "POST", path, &headers, body)
    }

    /// A GET with the read token.
    fn get(&self, path: &str) -> Response {
        let auth = format!("Bearer {READ_TOKEN}");
        http(&self.addr, "GET", path, &[("Authorization", &auth)], b"")
    }

    /// A request with exactly these headers.
    fn raw(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        http(&self.addr, method, path, headers, body)
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
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    exchange(addr, &bytes)
}

/// Send these bytes as they are, read the answer until the server closes.
fn exchange(addr: &str, request: &[u8]) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
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

/// POST `body` to `path` signed as HubSpot v3 signs (method, URL, body, a
/// fresh timestamp).
fn post_hubspot_v3(server: &Server, path: &str, body: &[u8]) -> Response {
    let ts = chrono::Utc::now().timestamp_millis().to_string();
    let sig = leadwire::adapters::hubspot::sign_v3(SECRET, "POST", &server.url(path), body, &ts);
    let signed = [
        JSON,
        ("X-HubSpot-Signature-v3", sig.as_str()),
        ("X-HubSpot-Request-Timestamp", ts.as_str()),
    ];
    server.post(path, &signed, body)
}

fn generic_post(server: &Server, body: &str) -> Response {
    generic_post_to(server, "generic", body)
}

/// A signed POST to a `generic` source.
fn generic_post_to(server: &Server, source: &str, body: &str) -> Response {
    let ts = (chrono::Utc::now().timestamp()).to_string();
    let sig = leadwire::adapters::generic::sign(SECRET, &ts, body.as_bytes());
    server.post(
        &format!("/hooks/{source}"),
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

/// A second CRM endpoint served on its own path, keeping its leads with the
/// `generic` source's: one snapshot and one history per lead.
const SHARED_SOURCE: &str = r#"
[sources.crm-b]
adapter = "json"
pipeline = "inbound"
secret_env = "LW_TEST_SECRET"
path = "/webhooks/crm-b"
namespace = "generic"
[sources.crm-b.options]
record_id = "/id"
fields = "/fields"
complete = false
token_header = "X-Token"
trigger_query = "event"
triggers = { "lead.update" = "updated", "lead.create" = "created" }

[sources.hubspot-at-path]
adapter = "hubspot"
pipeline = "inbound"
secret_env = "LW_TEST_SECRET"
path = "/webhooks/hubspot"
[sources.hubspot-at-path.options]
signature = "v3"
"#;

#[test]
fn a_source_on_its_own_path_shares_the_snapshot_and_history_of_its_namespace() {
    let server = Server::start_config(None, "", SHARED_SOURCE);
    let first = generic_post(
        &server,
        &generic_lead("l9", "e1", "2026-11-20T12:00:00Z", "VP of Sales"),
    );
    assert_eq!(first.status, 200, "{first:?}");

    // A delta from the other CRM, on its own path, the trigger in the query.
    let delta = br#"{"id":"l9","fields":{"city":"Paris"}}"#;
    let token = [JSON, ("X-Token", SECRET)];
    let r = server.post("/webhooks/crm-b?event=lead.update", &token, delta);
    assert_eq!(r.status, 200, "{r:?}");
    let trail = decisions(&server, "generic", "l9");
    assert_eq!(trail.len(), 2, "{trail:?}");
    assert_eq!(decisions(&server, "crm-b", "l9"), trail, "one history");
    // Decided on the shared snapshot: the title came through the other source.
    let rules: Vec<_> = trail[0]["score"]["contributions"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", trail[0]))
        .iter()
        .map(|c| c["rule"].as_str().unwrap().to_string())
        .collect();
    assert!(rules.contains(&"senior-title".to_string()), "{rules:?}");

    // A redelivery is recognised by its content; a new value is a new event.
    let again = server.post("/webhooks/crm-b?event=lead.update", &token, delta);
    assert_eq!(again.json()["decisions"], r.json()["decisions"]);
    assert_eq!(decisions(&server, "generic", "l9").len(), 2);
    let back = server.post(
        "/hooks/crm-b?event=lead.update",
        &token,
        br#"{"id":"l9","fields":{"city":"Lyon"}}"#,
    );
    assert_eq!(back.status, 200, "{back:?}");
    assert_eq!(decisions(&server, "generic", "l9").len(), 3);

    let r = server.post("/webhooks/crm-b", &token, delta);
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.body.contains("no `event` query parameter"), "{}", r.body);
    let r = server.post(
        "/webhooks/crm-b?event=lead.update",
        &[JSON, ("X-Token", "no")],
        delta,
    );
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(server.get("/webhooks/crm-b").status, 405);
    assert_eq!(server.post("/webhooks/crm-c", &token, delta).status, 404);

    // HubSpot v3 signs the path the CRM calls: a custom one verifies.
    let body = fixture("hubspot-app-contact-propertychange.json");
    let r = post_hubspot_v3(&server, "/webhooks/hubspot", &body);
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn source_paths_and_namespaces_are_checked() {
    let problem = |extra: &str| {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("leadwire.toml");
        let url = format!("sqlite://{}", dir.path().join("l.db").display());
        std::fs::write(&config, config_text(&url, "", extra)).unwrap();
        let out = common::leadwire(&["validate", "--config", config.to_str().unwrap()]);
        assert!(!out.status.success(), "{extra}");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let source = |line: &str| {
        format!(
            "[sources.other]\nadapter = \"generic\"\npipeline = \"even\"\nsecret_env = \"LW_TEST_SECRET\"\n{line}\n"
        )
    };
    assert!(problem(&source("path = \"webhooks\"")).contains("must start with `/`"));
    assert!(problem(&source("path = \"/v1/hooks\"")).contains("server's own"));
    assert!(problem(&source("path = \"/hooks/generic\"")).contains("source `generic`"));
    assert!(problem(&source("path = \"/a?b=1\"")).contains("plain path"));
    assert!(problem(&source("namespace = \"a b\"")).contains("letters, digits"));
    let twice = format!(
        "{}[sources.third]\nadapter = \"generic\"\npipeline = \"even\"\nsecret_env = \"LW_TEST_SECRET\"\npath = \"/in\"\n",
        source("path = \"/in\"")
    );
    assert!(problem(&twice).contains("served on it too"));
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
            event(1, 1_700_000_000_000, "VP of Sales").as_bytes()
        )
        .status,
        200
    );
    assert_eq!(
        post_hubspot_v1(&server, event(2, 1_600_000_000_000, "Intern").as_bytes()).status,
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
    let Some(schema) = TestSchema::create("lw_replicas") else {
        return;
    };
    let url = schema.url.clone();

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
    let trail = decisions(&server, "api", "hs-1001");
    assert_eq!(
        trail[0]["id"], decision["id"],
        "evaluate decisions are in the audit trail, under the source `api`"
    );
    assert!(
        decisions(&server, "hubspot", "hs-1001").is_empty(),
        "evaluate never writes into a CRM source's trail by what the body says"
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

// ---- Trust: requests are untrusted (issue "Trust", items 9-14) ----

/// The header's value, if the response has it.
fn header<'r>(r: &'r Response, name: &str) -> Option<&'r str> {
    r.headers.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn deeply_nested_bodies_are_refused_and_the_server_lives() {
    let server = Server::start(None);
    // 3,500 levels in 24 KB once overflowed a worker's stack.
    let deep = format!(
        r#"<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>{}{}</soapenv:Body></soapenv:Envelope>"#,
        "<a>".repeat(3_500),
        "</a>".repeat(3_500)
    );
    let r = server.raw(
        "POST",
        "/hooks/salesforce",
        &[("Content-Type", "text/xml")],
        deep.as_bytes(),
    );
    assert_eq!(r.status, 500, "{r:?}");
    assert!(
        r.body.contains("soapenv:Fault") && r.body.contains("nested more than"),
        "a SOAP fault that says why: {}",
        r.body
    );
    // The same depth with another org's id is refused as unauthenticated, before parsing.
    let other_org = deep.replace(
        "<soapenv:Body>",
        "<soapenv:Body><OrganizationId>00D000000000001</OrganizationId>",
    );
    let r = server.raw(
        "POST",
        "/hooks/salesforce",
        &[("Content-Type", "text/xml")],
        other_org.as_bytes(),
    );
    assert!(
        r.body.contains("is not this source&apos;s organization_id")
            || r.body.contains("is not this source's organization_id"),
        "{}",
        r.body
    );
    // JSON parsers stop at their nesting limit.
    let deep_json = "[".repeat(50_000);
    let r = post_hubspot_v1(&server, deep_json.as_bytes());
    assert_eq!(r.status, 400, "{r:?}");
    assert!(
        r.json()["error"].as_str().unwrap().contains("recursion"),
        "{r:?}"
    );
    let r = generic_post(&server, &deep_json);
    assert_eq!(r.status, 400, "{r:?}");
    let r = server.post(
        "/v1/pipelines/inbound/evaluate",
        &[JSON],
        deep_json.as_bytes(),
    );
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(server.get("/healthz").status, 200);
    assert_eq!(
        generic_post(
            &server,
            &generic_lead("n1", "n1", "2026-11-20T12:00:00Z", "VP")
        )
        .status,
        200
    );
}

#[test]
fn half_sent_headers_stalled_bodies_and_idle_connections_are_cut_off() {
    let server = Server::start_config(
        None,
        "header_timeout_seconds = 1\nbody_timeout_seconds = 1\nidle_timeout_seconds = 2\nmax_connections = 8",
        "",
    );
    // Half a header: the server closes the connection.
    let mut half = TcpStream::connect(&server.addr).unwrap();
    half.write_all(b"POST /hooks/generic HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    half.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut sink = Vec::new();
    let _ = half.read_to_end(&mut sink);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "half a header held its connection for {:?}",
        started.elapsed()
    );

    // A body that stops coming: 408 in the source's format (JSON here).
    let stalled = b"POST /hooks/generic HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"lead\":";
    let r = exchange(&server.addr, stalled);
    assert_eq!(r.status, 408, "{r:?}");
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("did not arrive"),
        "{r:?}"
    );

    // Far more idle connections than the cap: a real request still gets through.
    let idle: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(&server.addr).unwrap())
        .collect();
    let r = generic_post(
        &server,
        &generic_lead("i1", "i1", "2026-11-20T12:00:00Z", "VP"),
    );
    assert_eq!(r.status, 200, "{r:?}");
    drop(idle);
    assert_eq!(server.get("/readyz").status, 200);
}

#[test]
fn sigterm_with_a_stalled_client_exits_within_the_shutdown_deadline() {
    let mut server = Server::start_config(
        None,
        "body_timeout_seconds = 600\nshutdown_timeout_seconds = 1",
        "",
    );
    let mut stalled = TcpStream::connect(&server.addr).unwrap();
    stalled
        .write_all(b"POST /hooks/generic HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        .unwrap();
    // The request is in flight (its handler waits for the body).
    std::thread::sleep(Duration::from_millis(300));
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(server.child.id().to_string())
        .status();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "SIGTERM waited {:?} on a stalled client",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    drop(stalled);
}

#[test]
fn every_refusal_is_in_the_sources_format_and_huge_bodies_are_refused_up_front() {
    let server = Server::start(None);
    // A 3 GiB Content-Length is refused before a byte of the body is sent.
    let huge = b"POST /hooks/hubspot HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 3221225472\r\nConnection: close\r\n\r\n";
    let r = exchange(&server.addr, huge);
    assert_eq!(r.status, 413, "{r:?}");
    assert!(
        r.json()["error"].as_str().unwrap().contains("3221225472"),
        "{r:?}"
    );
    let huge_sf = b"POST /hooks/salesforce HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 3221225472\r\nConnection: close\r\n\r\n";
    let r = exchange(&server.addr, huge_sf);
    assert!(
        r.body.contains("soapenv:Fault") && r.body.contains("<status>413</status>"),
        "Salesforce gets a SOAP fault: {r:?}"
    );
    // Chunked, with no length announced: cut off at the limit, still JSON.
    let mut chunked = b"POST /hooks/generic HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..80 {
        chunked.extend_from_slice(b"400\r\n");
        chunked.extend_from_slice(&[b' '; 1024]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let r = exchange(&server.addr, &chunked);
    assert_eq!(r.status, 413, "{r:?}");
    assert!(
        r.json()["error"].as_str().unwrap().contains("limit"),
        "{r:?}"
    );
    // Unknown routes, wrong methods and bad queries answer JSON too.
    let r = server.get("/nope");
    assert_eq!(r.status, 404, "{r:?}");
    assert!(r.json()["error"].as_str().is_some(), "{r:?}");
    let r = server.get("/hooks/generic");
    assert_eq!(r.status, 405, "{r:?}");
    assert!(
        r.json()["error"].as_str().unwrap().contains("POST"),
        "{r:?}"
    );
    let r = server.get("/v1/decisions");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(
        r.json()["error"].as_str().unwrap().contains("status"),
        "{r:?}"
    );
    let r = server.get("/v1/leads/generic/x/decisions?limit=many");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.json()["error"].as_str().is_some(), "{r:?}");
    let r = server.post("/v1/pipelines/inbound/evaluate", &[JSON], b"{\"lead\": ");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.json()["error"].as_str().is_some(), "{r:?}");
}

#[test]
fn events_dated_past_the_allowed_skew_are_refused_and_leave_no_trace() {
    let server = Server::start(None);
    let ahead = generic_post(
        &server,
        &generic_lead("f1", "f1", "2036-11-20T12:00:00Z", "VP"),
    );
    assert_eq!(ahead.status, 400, "{ahead:?}");
    assert!(
        ahead.json()["error"]
            .as_str()
            .unwrap()
            .contains("max_future_skew_seconds"),
        "{ahead:?}"
    );
    assert!(decisions(&server, "generic", "f1").is_empty());
    // A minute ahead is within the default 5 minutes.
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(1)).to_rfc3339();
    let r = generic_post(&server, &generic_lead("f2", "f2", &soon, "VP"));
    assert_eq!(r.status, 200, "{r:?}");
    // HubSpot's occurredAt at i64::MAX.
    let body = format!(
        r#"[{{"eventId":9,"subscriptionId":7,"portalId":62515,"occurredAt":{},"subscriptionType":"contact.propertyChange","attemptNumber":0,"objectId":777,"propertyName":"jobtitle","propertyValue":"VP","changeSource":"CRM_UI","appId":1}}]"#,
        i64::MAX
    );
    let r = post_hubspot_v1(&server, body.as_bytes());
    assert_eq!(r.status, 400, "{r:?}");
    assert!(decisions(&server, "hubspot", "777").is_empty());
    let r = server.post(
        "/v1/pipelines/inbound/evaluate",
        &[JSON],
        br#"{"lead": {"id": "e1"}, "event": {"trigger": "updated", "at": "2036-01-01T00:00:00Z"}}"#,
    );
    assert_eq!(r.status, 400, "{r:?}");
}

/// Two sources whose pipelines fail: one for a reason that may pass (a
/// plugin that never returns: `timeout`), one for good (an invalid verdict).
fn failing_sources() -> String {
    let abuse = common::artifacts::HOSTILE_ABUSE;
    format!(
        r#"
[plugins.stuck]
path = "{abuse}"
grants = ["state"]
limits = {{ fuel = 0 }}
[plugins.stuck.config]
mode = "sleep-forever"

[plugins.faulty]
path = "{abuse}"
grants = ["state"]
[plugins.faulty.config]
mode = "duplicate-parts"

[pipelines.stuck]
steps = [{{ plugin = "stuck" }}]

[pipelines.faulty]
steps = [{{ plugin = "faulty" }}]

[sources.stuck]
adapter = "generic"
pipeline = "stuck"
secret_env = "LW_TEST_SECRET"

[sources.faulty]
adapter = "generic"
pipeline = "faulty"
secret_env = "LW_TEST_SECRET"
"#
    )
}

#[test]
fn a_timeout_is_retried_not_recorded_until_the_attempts_run_out() {
    let server = Server::start_config(None, "max_attempts = 3", &failing_sources());
    let body = generic_lead("t1", "t1", "2026-11-20T12:00:00Z", "VP");
    for attempt in 1..=2 {
        let r = generic_post_to(&server, "stuck", &body);
        assert_eq!(r.status, 503, "attempt {attempt}: {r:?}");
        assert_eq!(header(&r, "retry-after"), Some("60"), "{r:?}");
        let message = r.json()["error"].as_str().unwrap().to_string();
        assert!(
            message.contains(&format!("attempt {attempt} of 3")) && message.contains("timeout"),
            "{message}"
        );
        assert!(
            decisions(&server, "stuck", "t1").is_empty(),
            "a transient failure is not the lead's decision"
        );
    }
    let r = generic_post_to(&server, "stuck", &body);
    assert_eq!(r.status, 200, "the last attempt is recorded: {r:?}");
    let trail = decisions(&server, "stuck", "t1");
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0]["status"], "error");
    assert!(
        trail[0]["error"]
            .as_str()
            .unwrap()
            .contains("gave up after 3 attempts"),
        "{trail:?}"
    );
    // Through the API too: 503, nothing recorded.
    let r = server.post(
        "/v1/pipelines/stuck/evaluate",
        &[JSON],
        br#"{"lead": {"id": "t2"}}"#,
    );
    assert_eq!(r.status, 503, "{r:?}");
    assert_eq!(header(&r, "retry-after"), Some("60"), "{r:?}");
    assert!(decisions(&server, "api", "t2").is_empty());
    // A deterministic failure is recorded at once.
    let r = generic_post_to(
        &server,
        "faulty",
        &generic_lead("d1", "d1", "2026-11-20T12:00:00Z", "VP"),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(decisions(&server, "faulty", "d1").len(), 1);

    let attention = server.get("/v1/decisions?status=error");
    assert_eq!(attention.status, 200, "{attention:?}");
    let leads: Vec<_> = attention
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["lead_id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(leads, ["d1", "t1"], "newest first");
    let only = server
        .get("/v1/decisions?status=error&source=faulty")
        .json();
    assert_eq!(only.as_array().unwrap().len(), 1, "{only}");

    let metrics = server.get("/metrics").body;
    for line in [
        // Two webhook attempts and the evaluate call.
        r#"leadwire_decisions_total{pipeline="stuck",outcome="retry"} 3"#,
        r#"leadwire_decisions_total{pipeline="stuck",outcome="failed"} 1"#,
        r#"leadwire_decisions_total{pipeline="faulty",outcome="error"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }
}

#[test]
fn plugins_that_never_return_do_not_stop_the_server_deciding() {
    let server = Server::start_config(None, "", &failing_sources());
    std::thread::scope(|s| {
        for t in 0..16 {
            let server = &server;
            s.spawn(move || {
                let body = generic_lead(
                    &format!("s{t}"),
                    &format!("s{t}"),
                    "2026-11-20T12:00:00Z",
                    "VP",
                );
                let r = generic_post_to(server, "stuck", &body);
                assert_eq!(r.status, 503, "{r:?}");
            });
        }
        for i in 0..8 {
            let body = generic_lead(
                &format!("ok{i}"),
                &format!("ok{i}"),
                "2026-11-20T12:00:00Z",
                "VP",
            );
            let r = generic_post(&server, &body);
            assert_eq!(r.status, 200, "{r:?}");
            assert_eq!(server.get("/readyz").status, 200);
        }
    });
}

#[test]
fn the_api_needs_bearer_tokens_with_read_and_write_scopes() {
    let server = Server::start(None);
    let hot = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/quickstart/leads/hot.json"
    ))
    .unwrap();
    let trail = "/v1/leads/api/hs-1001/decisions";
    let bearer = |t: &str| format!("Bearer {t}");

    let r = server.raw("GET", trail, &[], b"");
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        r.json()["error"].as_str().unwrap().contains("Bearer"),
        "{r:?}"
    );
    let r = server.raw("GET", trail, &[("Authorization", &bearer("guess"))], b"");
    assert_eq!(r.status, 401, "{r:?}");
    let r = server.raw("GET", trail, &[("Authorization", &bearer(READ_TOKEN))], b"");
    assert_eq!(r.status, 200, "{r:?}");

    let evaluate = "/v1/pipelines/inbound/evaluate";
    let r = server.raw("POST", evaluate, &[JSON], &hot);
    assert_eq!(r.status, 401, "{r:?}");
    let r = server.raw(
        "POST",
        evaluate,
        &[JSON, ("Authorization", &bearer(READ_TOKEN))],
        &hot,
    );
    assert_eq!(r.status, 403, "{r:?}");
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("LEADWIRE_WRITE_TOKEN"),
        "{r:?}"
    );
    let r = server.raw(
        "POST",
        evaluate,
        &[JSON, ("Authorization", &bearer(WRITE_TOKEN))],
        &hot,
    );
    assert_eq!(r.status, 200, "{r:?}");
    let r = server.raw(
        "GET",
        trail,
        &[("Authorization", &bearer(WRITE_TOKEN))],
        b"",
    );
    assert_eq!(r.json().as_array().unwrap().len(), 1, "{r:?}");
    let r = server.raw(
        "POST",
        "/v1/pipelines/inbound/evaluate?source=backfill",
        &[JSON, ("Authorization", &bearer(WRITE_TOKEN))],
        &hot,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(decisions(&server, "backfill", "hs-1001").len(), 1);

    // Health, readiness and metrics stay open by default; metrics count evaluate.
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(server.raw("GET", path, &[], b"").status, 200, "{path}");
    }
    let metrics = server.raw("GET", "/metrics", &[], b"").body;
    for line in [
        r#"leadwire_evaluate_requests_total{pipeline="inbound",status="200"} 2"#,
        r#"leadwire_evaluate_requests_total{pipeline="inbound",status="403"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }
}

#[test]
fn without_tokens_the_api_says_what_to_set_and_the_options_open_or_close_it() {
    // No token in the variables the config names.
    let server = Server::start_config(
        None,
        "read_token_env = \"LW_TEST_UNSET_READ\"\nwrite_token_env = \"LW_TEST_UNSET_WRITE\"",
        "",
    );
    let r = server.get("/v1/leads/generic/x/decisions");
    assert_eq!(r.status, 401, "{r:?}");
    let message = r.json()["error"].as_str().unwrap().to_string();
    assert!(
        message.contains("LW_TEST_UNSET_READ") && message.contains("api_auth"),
        "{message}"
    );
    drop(server);

    let open = Server::start_config(None, "api_auth = \"none\"", "");
    assert_eq!(
        open.raw("GET", "/v1/leads/generic/x/decisions", &[], b"")
            .status,
        200
    );
    drop(open);

    let closed = Server::start_config(None, "protect_metrics = true", "");
    assert_eq!(closed.raw("GET", "/metrics", &[], b"").status, 401);
    assert_eq!(closed.raw("GET", "/readyz", &[], b"").status, 401);
    assert_eq!(closed.raw("GET", "/healthz", &[], b"").status, 200);
    assert_eq!(closed.get("/metrics").status, 200);
}

// ---------------------------------------------------------------------------
// Writing decisions back through the outbox, to a fake HubSpot

use crate::fake_hubspot::FakeHubSpot;

/// A pipeline scoring titles (`jobtitle` or `Title` with VP: 20 points) and
/// routing to pat or quinn, whose owner ids in connection `crm` are
/// `owners`; then `connection` (the `[connections.crm]` lines) and `source`
/// (the source, with its write-back to `crm`).
fn write_back_setup(dir: &Path, owners: [&str; 2], connection: &str, source: &str) -> PathBuf {
    let config = dir.join("leadwire.toml");
    std::fs::write(
        &config,
        format!(
            r#"[store]
url = "sqlite://{db}"

[plugins.scorer]
path = "{plugins}/rules_scorer.wasm"
[plugins.scorer.config]
rules = [
  {{ name = "senior-title", group = "fit", field = "jobtitle", contains = ["VP"], points = 20 }},
  {{ name = "senior-sf-title", group = "fit", field = "Title", contains = ["VP"], points = 20 }},
]

[plugins.router]
path = "{plugins}/territory_router.wasm"
grants = ["state", "directory", "accounts"]
[[plugins.router.config.territories]]
team = "pair"

[pipelines.inbound]
steps = [{{ plugin = "scorer" }}, {{ plugin = "router" }}]

[directory.teams.pair]
reps = ["pat", "quinn"]
[directory.reps.pat]
owner_ids = {{ crm = "{pat}" }}
[directory.reps.quinn]
owner_ids = {{ crm = "{quinn}" }}

[connections.crm]
{connection}
{source}
"#,
            db = dir.join("leadwire.db").display(),
            plugins = common::PLUGINS_DIR,
            pat = owners[0],
            quinn = owners[1],
        ),
    )
    .unwrap();
    config
}

/// A HubSpot app source writing owner (101 or 102) and score back.
fn write_back_config(dir: &Path, crm_url: &str) -> PathBuf {
    write_back_setup(
        dir,
        ["101", "102"],
        &format!("kind = \"hubspot\"\ntoken_env = \"LW_TEST_SECRET\"\nbase_url = \"{crm_url}\""),
        r#"[sources.hubspot]
adapter = "hubspot"
pipeline = "inbound"
secret_env = "LW_TEST_SECRET"
[sources.hubspot.options]
signature = "v1"
[sources.hubspot.write]
connection = "crm"
owner = "hubspot_owner_id"
score = "leadwire_score""#,
    )
}

/// The same, reading the contact's title and country from HubSpot before
/// deciding (creation events carry no properties).
fn read_write_config(dir: &Path, crm_url: &str) -> PathBuf {
    let config = write_back_config(dir, crm_url);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(
        "[sources.hubspot.read]\nconnection = \"crm\"\nproperties = [\"jobtitle\", \"country\"]\n",
    );
    std::fs::write(&config, text).unwrap();
    config
}

/// A HubSpot `contact.creation` event: the contact's id, no properties.
fn contact_created(event_id: u64, id: u64) -> Vec<u8> {
    format!(
        r#"[{{"eventId":{event_id},"subscriptionId":5,"portalId":62515,"occurredAt":1763632800000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":{id},"changeFlag":"CREATED","changeSource":"CRM_UI","appId":1}}]"#
    )
    .into_bytes()
}

#[test]
fn a_creation_event_is_decided_on_the_contact_read_from_hubspot_and_written_back() {
    let crm = FakeHubSpot::start_on("127.0.0.1:0", SECRET, &["101", "102"], &CRM_PROPERTIES, 0);
    crm.put_contact(
        "555",
        json!({"jobtitle": "VP of Sales", "country": "Germany", "email": "ada@example.com"}),
    );
    crm.fail_reads_of("556");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(read_write_config(dir.path(), &crm.url), None);
    let r = post_hubspot_v1(&server, &contact_created(1, 555));
    assert_eq!(r.status, 200, "{r:?}");
    let trail = decisions(&server, "hubspot", "555");
    assert_eq!(trail[0]["score"]["value"], 20.0, "{}", trail[0]);
    let writes = crm.wait_for_writes(1, 30);
    assert_eq!(writes[0].0, "555");
    assert_eq!(writes[0].1["leadwire_score"], "20");
    // The snapshot now has what was read: a later event needs no read.
    let reads = crm.reads();
    let r = post_hubspot_v1(&server, &title_change(2, 555, "VP Marketing"));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(crm.reads(), reads, "no second read");

    // A failed read decides nothing: 503, for HubSpot to retry; nothing recorded.
    let r = post_hubspot_v1(&server, &contact_created(3, 556));
    assert_eq!(r.status, 503, "{r:?}");
    assert!(
        r.body
            .contains("reading it from the CRM before deciding failed"),
        "{}",
        r.body
    );
    assert!(decisions(&server, "hubspot", "556").is_empty());
    // A contact HubSpot no longer has is decided on what the event says.
    let r = post_hubspot_v1(&server, &contact_created(4, 557));
    assert_eq!(r.status, 200, "{r:?}");
    // The timeline shows each read before the decision it informed.
    let entries = timeline_until(&server, "hubspot", "555", |_| true);
    let k = kinds(&entries);
    assert_eq!(&k[..2], ["read", "decided"], "{entries:?}");
    let read = entries[0]["text"].as_str().unwrap();
    assert!(
        read.starts_with("read from crm: ") && read.contains("jobtitle"),
        "{read}"
    );
    let gone = timeline_until(&server, "hubspot", "557", |_| true);
    assert_eq!(gone[0]["text"], "read from crm: no such record", "{gone:?}");
}

/// A HubSpot `contact.propertyChange` of `jobtitle` on contact `id`.
fn title_change(event_id: u64, id: u64, title: &str) -> Vec<u8> {
    format!(
        r#"[{{"eventId":{event_id},"subscriptionId":7,"portalId":62515,"occurredAt":1763632800000,"subscriptionType":"contact.propertyChange","attemptNumber":0,"objectId":{id},"propertyName":"jobtitle","propertyValue":"{title}","changeSource":"CRM_UI","appId":1}}]"#
    )
    .into_bytes()
}

const CRM_PROPERTIES: [&str; 2] = ["hubspot_owner_id", "leadwire_score"];

#[test]
fn decisions_are_written_back_to_hubspot_paced_through_a_rate_limit() {
    // The fake throttles the first two requests (TEN_SECONDLY_ROLLING, as
    // HubSpot does: no Retry-After, so the connection waits 10 s).
    let crm = FakeHubSpot::start_on("127.0.0.1:0", SECRET, &["101", "102"], &CRM_PROPERTIES, 2);
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(write_back_config(dir.path(), &crm.url), None);
    for (n, (id, title)) in [(555, "VP of Sales"), (556, "Intern"), (557, "VP Marketing")]
        .into_iter()
        .enumerate()
    {
        let r = post_hubspot_v1(&server, &title_change(n as u64 + 1, id, title));
        assert_eq!(r.status, 200, "{r:?}");
    }
    let writes = crm.wait_for_writes(3, 90);
    assert_eq!(writes.len(), 3, "{writes:?}");
    assert_eq!(crm.throttled(), 2);
    // The three were waiting together when the pause ended: one batch update.
    assert_eq!(crm.batches(), 1);
    let by_id: std::collections::BTreeMap<&str, &Value> =
        writes.iter().map(|(id, p)| (id.as_str(), p)).collect();
    assert_eq!(by_id["555"]["leadwire_score"], "20");
    assert_eq!(by_id["556"]["leadwire_score"], "0");
    // The round robin alternates, written as HubSpot owner ids.
    let owners: Vec<&str> = ["555", "556", "557"]
        .iter()
        .map(|id| by_id[id]["hubspot_owner_id"].as_str().unwrap())
        .collect();
    assert!(
        owners.iter().all(|o| *o == "101" || *o == "102"),
        "{owners:?}"
    );
    assert_ne!(owners[0], owners[1]);
    // Nothing more: each write was delivered once it was accepted.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(crm.writes().len(), 3);
    let metrics = server.get("/metrics").body;
    assert!(
        metrics.contains(r#"leadwire_outbox_deliveries_total{connection="crm",result="done"} 3"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"leadwire_outbox_deliveries_total{connection="crm",result="later"}"#),
        "{metrics}"
    );
    drop(server);
    drop(dir);
}

#[test]
fn a_write_committed_before_a_sigkill_is_delivered_after_the_restart() {
    // The CRM is down when the decision is made: the write waits in the outbox.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let config = write_back_config(dir.path(), &format!("http://{addr}"));
    let mut server = Server::start_with(config.clone(), None);
    let r = post_hubspot_v1(&server, &title_change(1, 901, "VP of Sales"));
    assert_eq!(r.status, 200, "{r:?}");
    std::thread::sleep(Duration::from_millis(1_500));
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();

    let crm = FakeHubSpot::start_on(&addr, SECRET, &["101", "102"], &CRM_PROPERTIES, 0);
    let _server = Server::start_with(config, None);
    let writes = crm.wait_for_writes(1, 90);
    assert_eq!(writes.len(), 1, "the committed write survived the kill");
    assert_eq!(writes[0].0, "901");
    assert_eq!(writes[0].1["leadwire_score"], "20");
}

#[test]
fn a_write_the_crm_refuses_is_a_dead_letter_to_list_show_retry_and_drop() {
    // The fake knows owner 101 only: the write naming 102 is refused (400
    // VALIDATION_ERROR INVALID_OWNER_ID), which retrying cannot fix.
    let crm = FakeHubSpot::start_on("127.0.0.1:0", SECRET, &["101"], &CRM_PROPERTIES, 0);
    let dir = tempfile::tempdir().unwrap();
    let config = write_back_config(dir.path(), &crm.url);
    let server = Server::start_with(config.clone(), None);
    for (n, id) in [701, 702].into_iter().enumerate() {
        let r = post_hubspot_v1(&server, &title_change(n as u64 + 1, id, "VP"));
        assert_eq!(r.status, 200, "{r:?}");
    }
    assert_eq!(crm.wait_for_writes(1, 30).len(), 1);
    let until = std::time::Instant::now() + Duration::from_secs(30);
    let dead = loop {
        let r = server.get("/v1/outbox?status=dead");
        assert_eq!(r.status, 200, "{r:?}");
        let rows = r.json().as_array().unwrap().clone();
        if !rows.is_empty() || std::time::Instant::now() > until {
            break rows;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(dead.len(), 1, "{dead:?}");
    let error = dead[0]["last_error"].as_str().unwrap();
    assert!(
        error.contains("400") && error.contains("INVALID_OWNER_ID"),
        "{error}"
    );
    assert_eq!(dead[0]["payload"]["properties"]["hubspot_owner_id"], "102");
    let id = dead[0]["id"].as_i64().unwrap().to_string();
    assert_eq!(server.get("/v1/outbox?status=lost").status, 400);
    let metrics = server.get("/metrics").body;
    assert!(
        metrics.contains(r#"leadwire_outbox_rows{connection="crm",status="dead"} 1"#),
        "{metrics}"
    );

    let config = config.to_str().unwrap();
    let list = common::leadwire(&["outbox", "list", "--config", config, "--status", "dead"]);
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.status.success() && listed.contains("INVALID_OWNER_ID"),
        "{listed}"
    );
    let show = common::leadwire(&["outbox", "show", "--config", config, &id]);
    let shown: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(shown["status"], "dead");
    let retry = common::leadwire(&["outbox", "retry", "--config", config, &id]);
    assert!(
        retry.status.success(),
        "{}",
        String::from_utf8_lossy(&retry.stderr)
    );
    // Retried, refused again (the owner still does not exist): dead again.
    let until = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let row: Value = serde_json::from_slice(
            &common::leadwire(&["outbox", "show", "--config", config, &id]).stdout,
        )
        .unwrap();
        if row["status"] == "dead" && row["attempts"] == 1 {
            break;
        }
        assert!(std::time::Instant::now() < until, "{row}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let dropped = common::leadwire(&["outbox", "drop", "--config", config, &id]);
    assert!(dropped.status.success());
    let again = common::leadwire(&["outbox", "drop", "--config", config, &id]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not dead or waiting"));
    assert!(
        server
            .get("/v1/outbox?status=dead")
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_pipedrive_event_is_written_back_to_the_person_paced_through_429s() {
    use crate::fake_pipedrive::FakePipedrive;
    const SCORE_KEY: &str = "d4de1c1518b4531717c676029a45911c340390a6";
    let crm = FakePipedrive::start(SECRET, &[101, 102], &[SCORE_KEY], 2);
    let dir = tempfile::tempdir().unwrap();
    let path = write_back_setup(
        dir.path(),
        ["101", "102"],
        &format!(
            "kind = \"pipedrive\"\ntoken_env = \"LW_TEST_SECRET\"\nbase_url = \"{}\"",
            crm.url
        ),
        &format!(
            r#"[sources.pipedrive]
adapter = "pipedrive"
pipeline = "inbound"
secret_env = "LW_TEST_SECRET"
[sources.pipedrive.options]
username = "pipedrive-hook"
[sources.pipedrive.write]
connection = "crm"
owner = "owner_id"
score = "{SCORE_KEY}""#
        ),
    );
    let server = Server::start_with(path, None);
    use base64::Engine;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("pipedrive-hook:{SECRET}"))
    );
    let r = server.post(
        "/hooks/pipedrive",
        &[JSON, ("Authorization", &auth)],
        &fixture("pipedrive-v2-person-create.json"),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let writes = crm.wait_for_writes(1, 30);
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].0, "1187");
    let owner = writes[0].1["owner_id"].as_i64().unwrap();
    assert!(owner == 101 || owner == 102, "{writes:?}");
    assert_eq!(writes[0].1["custom_fields"][SCORE_KEY], 0, "{writes:?}");
    assert_eq!(crm.throttled(), 2, "paced by x-ratelimit-reset");
}

#[test]
fn connections_reads_and_writes_are_checked_with_what_to_fix() {
    let problem = |extra: &str| {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("leadwire.toml");
        let url = format!("sqlite://{}", dir.path().join("l.db").display());
        std::fs::write(&config, config_text(&url, "", extra)).unwrap();
        let out = common::leadwire(&["validate", "--config", config.to_str().unwrap()]);
        assert!(!out.status.success(), "{extra}");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let crm = "[connections.crm]\nkind = \"hubspot\"\ntoken_env = \"LW_TEST_SECRET\"\n";
    for (extra, says) in [
        (
            "[connections.sf]\nkind = \"salesforce\"\nclient_id_env = \"X\"\n".to_string(),
            "set base_url to the org's My Domain",
        ),
        (
            "[connections.sf]\nkind = \"zoho\"\ntoken_env = \"X\"\n".to_string(),
            "leadwire writes to hubspot, pipedrive, salesforce, webhook",
        ),
        (
            "[connections.hook]\nkind = \"webhook\"\nsecret_env = \"LW_TEST_SECRET\"\n".to_string(),
            "set url (where decisions are POSTed)",
        ),
        (
            "[connections.hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\n".to_string(),
            "set secret_env (the environment variable holding the signing secret)",
        ),
        (
            "[connections.hs]\nkind = \"hubspot\"\nrefresh_token_env = \"LW_TEST_SECRET\"\n"
                .to_string(),
            "set client_id_env (the environment variable holding the app's client id)",
        ),
        (
            "[sources.generic.write]\nconnection = \"nope\"\nscore = \"s\"\n".to_string(),
            "no [connections.nope]",
        ),
        (
            format!(
                "{crm}[sources.generic.write]\nconnection = \"crm\"\nowner = \"hubspot_owner_id\"\n"
            ),
            "reps without an owner id for connection `crm`",
        ),
        (
            format!("{crm}[sources.generic.read]\nconnection = \"crm\"\nproperties = []\n"),
            "name the CRM properties to read",
        ),
        (
            format!(
                "{crm}[sources.generic.read]\nconnection = \"crm\"\nproperties = [\"a\"]\ntimeout_ms = 9000\n"
            ),
            "between 1 and 4500",
        ),
        (
            "[connections.crm]\nkind = \"hubspot\"\ntoken_env = \"LW_TEST_UNSET_TOKEN\"\n"
                .to_string(),
            "LW_TEST_UNSET_TOKEN (its access token) is not set",
        ),
        (
            "[sla.x]\ncheckpoints = []\n".to_string(),
            "sla.x.checkpoints: name at least one",
        ),
        (
            "[sla.x]\ncalendar = \"nope\"\ncheckpoints = [{ after = \"1 day\", action = \"warn\" }]\n"
                .to_string(),
            "sla.x.calendar: no [calendars.nope]",
        ),
        (
            "[sla.x]\ncheckpoints = [{ after = \"1 day\", action = \"explode\" }]\n".to_string(),
            "one of warn, reassign, escalate",
        ),
        (
            "[sla.x]\ncheckpoints = [{ after = \"1 day\", action = \"escalate\" }]\n".to_string(),
            "`escalate` parks the lead in a queue: name it",
        ),
        (
            "[sla.x]\ncheckpoints = [{ after = \"soon\", action = \"warn\" }]\n".to_string(),
            "N minutes, N working hours or N working days",
        ),
        (
            "[calendars.c]\ntime_zone = \"Mars/Base\"\n".to_string(),
            "calendars.c: time zone `Mars/Base`",
        ),
        (
            "[calendars.c]\ntime_zone = \"UTC\"\nweekdays = [\"9-17\"]\n".to_string(),
            "a time is HH:MM",
        ),
        (
            format!("{crm}[alerts.a]\non = \"assigned\"\nconnection = \"crm\"\n"),
            "alerts go to a slack, teams, email or webhook connection",
        ),
        (
            "[connections.mail]\nkind = \"email\"\nfrom = \"a@example.com\"\n".to_string(),
            "connections.mail: set host (the SMTP server)",
        ),
        (
            "[connections.mail]\nkind = \"email\"\nhost = \"smtp.example.com\"\nfrom = \"a@example.com\"\ntls = \"ssl\"\n".to_string(),
            "tls = \"ssl\": one of starttls, tls, none",
        ),
        (
            "[connections.mail]\nkind = \"email\"\nhost = \"smtp.example.com\"\nfrom = \"a@example.com\"\nusername_env = \"LW_TEST_SECRET\"\n".to_string(),
            "set both username_env and password_env",
        ),
        (
            "[connections.mail]\nkind = \"email\"\nhost = \"smtp.example.com\"\nfrom = \"not an address\"\n".to_string(),
            "from = \"not an address\": not an address",
        ),
        (
            "[feedback]\nreasons = [\"x\", \"x\"]\n".to_string(),
            "feedback.reasons: `x` is listed twice",
        ),
        (
            "[feedback]\ndaily_limits = { nobody = 3 }\n".to_string(),
            "feedback.daily_limits: no team `nobody`",
        ),
        (
            "[connections.chat]\nkind = \"slack\"\nurl_env = \"LW_TEST_SECRET\"\n[alerts.a]\non = \"sold\"\nconnection = \"chat\"\n"
                .to_string(),
            "alerts.a.on = \"sold\": one of assigned, score-crossed, sla-warning, sla-breach, going-cold, dead-letter",
        ),
    ] {
        let err = problem(&extra);
        assert!(err.contains(says), "{extra}\n→ {err}");
    }
}

#[test]
fn a_salesforce_outbound_message_patches_the_lead_without_auto_assign_refreshing_the_session_once()
{
    use crate::fake_salesforce::FakeSalesforce;
    // The connected app's key and secret are the test's two env values; each
    // session lasts one request, so the second write meets INVALID_SESSION_ID.
    let org = FakeSalesforce::start(SECRET, ADMIN_TOKEN, 1);
    let dir = tempfile::tempdir().unwrap();
    let config = salesforce_setup(
        dir.path(),
        &org.url,
        "[sources.salesforce.write]\nconnection = \"crm\"\nowner = \"OwnerId\"\nscore = \"Lead_Score__c\"",
    );
    let server = Server::start_with(config, None);
    let message = String::from_utf8(fixture("salesforce-outbound-lead.xml")).unwrap();
    for (n, lead) in ["00Q5g00000Lk7ZqEAJ", "00Q5g00000Lk7ZqEA2"]
        .into_iter()
        .enumerate()
    {
        let body = message
            .replace("04l5g00000QW3XrAAL", &format!("04l5g00000QW3Xr{n:03}"))
            .replace("00Q5g00000Lk7ZqEAJ", lead);
        let r = server.post(
            "/hooks/salesforce",
            &[
                ("Content-Type", "text/xml; charset=utf-8"),
                ("SOAPAction", "\"\""),
            ],
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "{r:?}");
        assert!(r.body.contains("<Ack>true</Ack>"), "{}", r.body);
        // The first write spends the first session.
        assert_eq!(org.wait_for_writes(n + 1, 30).len(), n + 1);
    }
    let writes = org.wait_for_writes(2, 30);
    assert_eq!(writes.len(), 2, "{writes:?}");
    for (lead, fields) in &writes {
        assert!(lead.starts_with("00Q5g00000Lk7Zq"), "{lead}");
        let owner = fields["OwnerId"].as_str().unwrap();
        assert!(
            owner == "0055g00000AbCdEAA1" || owner == "0055g00000AbCdEAA2",
            "the owner leadwire chose, not the assignment rule's: {fields}"
        );
        assert!(fields["Lead_Score__c"].is_number(), "{fields}");
    }
    assert_eq!(
        org.tokens_issued(),
        2,
        "one session, then one refresh after INVALID_SESSION_ID"
    );
}

#[test]
fn two_replicas_on_one_postgres_deliver_every_write_once() {
    let Some(schema) = TestSchema::create("lw_outbox_replicas") else {
        return;
    };
    let url = schema.url.clone();

    // The CRM throttles the first request: both replicas pause, then drain.
    let crm = FakeHubSpot::start_on("127.0.0.1:0", SECRET, &["101", "102"], &CRM_PROPERTIES, 1);
    let dir = tempfile::tempdir().unwrap();
    let config = write_back_config(dir.path(), &crm.url);
    let text = std::fs::read_to_string(&config).unwrap();
    let sqlite_line = text
        .lines()
        .find(|l| l.starts_with("url = \"sqlite://"))
        .unwrap();
    std::fs::write(
        &config,
        text.replace(sqlite_line, &format!("url = \"{url}\"")),
    )
    .unwrap();
    let a = Server::start_with(config.clone(), None);
    let b = Server::start_with(config, None);
    let contacts = 40u64;
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let (a, b) = (&a, &b);
            s.spawn(move || {
                for i in (t..contacts).step_by(2) {
                    let body =
                        title_change(i + 1, 800 + i, if i % 3 == 0 { "VP" } else { "Analyst" });
                    // Both replicas get every event (HubSpot retries to any of them).
                    for server in [a, b] {
                        let mut r = post_hubspot_v1(server, &body);
                        for _ in 0..50 {
                            if r.status != 409 {
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(50));
                            r = post_hubspot_v1(server, &body);
                        }
                        assert_eq!(r.status, 200, "{r:?}");
                    }
                }
            });
        }
    });
    let writes = crm.wait_for_writes(contacts as usize, 90);
    // Nothing is delivered twice once it is done.
    std::thread::sleep(Duration::from_millis(1_000));
    let writes_after = crm.writes();
    assert_eq!(writes_after.len(), writes.len(), "{writes_after:?}");
    let mut per_contact = std::collections::BTreeMap::<&str, usize>::new();
    for (id, _) in &writes_after {
        *per_contact.entry(id.as_str()).or_default() += 1;
    }
    assert_eq!(
        per_contact.len(),
        contacts as usize,
        "every contact written"
    );
    assert!(
        per_contact.values().all(|n| *n == 1),
        "each written once: {per_contact:?}"
    );
    assert_eq!(crm.throttled(), 1);
    drop((a, b));
}

#[test]
fn a_crm_that_hangs_holds_back_only_its_own_connections_writes() {
    use crate::fake_pipedrive::FakePipedrive;
    const SCORE_KEY: &str = "d4de1c1518b4531717c676029a45911c340390a6";
    // Accepts connections and never answers.
    let hanging = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hanging_url = format!("http://{}", hanging.local_addr().unwrap());
    let pd = FakePipedrive::start(SECRET, &[101, 102], &[SCORE_KEY], 0);
    let dir = tempfile::tempdir().unwrap();
    let config = write_back_setup(
        dir.path(),
        ["101", "102"],
        &format!(
            "kind = \"hubspot\"\ntoken_env = \"LW_TEST_SECRET\"\nbase_url = \"{hanging_url}\"\ntimeout_seconds = 120"
        ),
        &format!(
            r#"[connections.pd]
kind = "pipedrive"
token_env = "LW_TEST_SECRET"
base_url = "{pd_url}"

[sources.hubspot]
adapter = "hubspot"
pipeline = "inbound"
secret_env = "LW_TEST_SECRET"
[sources.hubspot.options]
signature = "v1"
[sources.hubspot.write]
connection = "crm"
score = "leadwire_score"

[sources.pipedrive]
adapter = "pipedrive"
pipeline = "inbound"
secret_env = "LW_TEST_SECRET"
[sources.pipedrive.options]
username = "pipedrive-hook"
[sources.pipedrive.write]
connection = "pd"
score = "{SCORE_KEY}""#,
            pd_url = pd.url
        ),
    );
    let server = Server::start_with(config, None);
    let r = post_hubspot_v1(&server, &title_change(1, 555, "VP of Sales"));
    assert_eq!(r.status, 200, "{r:?}");
    // The HubSpot write is now stuck in its request for up to two minutes.
    let until = std::time::Instant::now() + Duration::from_secs(30);
    while server
        .get("/v1/outbox?status=inflight")
        .json()
        .as_array()
        .unwrap()
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < until,
            "the HubSpot write never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    use base64::Engine;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("pipedrive-hook:{SECRET}"))
    );
    let r = server.post(
        "/hooks/pipedrive",
        &[JSON, ("Authorization", &auth)],
        &fixture("pipedrive-v2-person-create.json"),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let writes = pd.wait_for_writes(1, 30);
    assert_eq!(
        writes.len(),
        1,
        "the Pipedrive write did not wait behind HubSpot"
    );
    let inflight = server.get("/v1/outbox?status=inflight").json();
    assert_eq!(inflight.as_array().unwrap().len(), 1, "{inflight}");
    assert_eq!(inflight[0]["connection"], "crm");
    drop(hanging);
}

#[test]
fn an_oauth_hubspot_app_and_a_signed_webhook_are_written_to_by_configuration_alone() {
    use crate::fake_hubspot::OAuthApp;
    // HubSpot through an OAuth app: client id, secret and refresh token from
    // the environment; access tokens come from the token endpoint.
    let app = OAuthApp {
        client_id: READ_TOKEN.into(),
        client_secret: WRITE_TOKEN.into(),
        refresh_token: ADMIN_TOKEN.into(),
        expires_in: 1800,
    };
    let crm = FakeHubSpot::start_on(
        "127.0.0.1:0",
        "no-private-app",
        &["101", "102"],
        &CRM_PROPERTIES,
        0,
    )
    .with_oauth(app);
    // A receiver of the generic signed webhook.
    let received: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>> = Default::default();
    let books = received.clone();
    let hook = crate::fake_crm::serve("127.0.0.1:0", move |_| {
        axum::Router::new().route(
            "/leadwire",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let books = books.clone();
                async move {
                    let sig = headers["webhook-signature"].to_str().unwrap().to_string();
                    books.lock().unwrap().push((sig, body));
                    axum::http::StatusCode::OK
                }
            }),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let config = write_back_setup(
        dir.path(),
        ["101", "102"],
        &format!(
            "kind = \"hubspot\"\nbase_url = \"{}\"\nclient_id_env = \"LEADWIRE_READ_TOKEN\"\n\
             client_secret_env = \"LEADWIRE_WRITE_TOKEN\"\nrefresh_token_env = \"LW_TEST_ADMIN_TOKEN\"",
            crm.url
        ),
        &format!(
            r#"[connections.hook]
kind = "webhook"
url = "{}/leadwire"
secret_env = "LW_TEST_SECRET"

[sources.hubspot]
adapter = "hubspot"
pipeline = "inbound"
secret_env = "LW_TEST_SECRET"
[sources.hubspot.options]
signature = "v1"
[sources.hubspot.write]
connection = "crm"
owner = "hubspot_owner_id"
score = "leadwire_score"

[sources.generic]
adapter = "generic"
pipeline = "inbound"
secret_env = "LW_TEST_SECRET"
[sources.generic.write]
connection = "hook"
score = "score"
grade = "grade"

[alerts.to-hook]
on = "assigned"
connection = "hook""#,
            hook.url
        ),
    );
    let server = Server::start_with(config, None);
    let r = post_hubspot_v1(&server, &title_change(1, 555, "VP of Sales"));
    assert_eq!(r.status, 200, "{r:?}");
    let writes = crm.wait_for_writes(1, 30);
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].1["leadwire_score"], "20");
    assert_eq!(crm.refreshes(), 1);

    let body = generic_lead("gen-1", "gen-ev-1", "2026-11-20T12:00:00Z", "VP");
    let r = generic_post(&server, &body);
    assert_eq!(r.status, 200, "{r:?}");
    // The generic lead's values, and both assignments as alerts, signed.
    let got = crate::fake_crm::wait_for(3, 30, || received.lock().unwrap().clone());
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got.iter().all(|(sig, _)| sig.starts_with("v1,")), "{got:?}");
    let docs: Vec<Value> = got
        .iter()
        .map(|(_, b)| serde_json::from_str(b).unwrap())
        .collect();
    let decided = docs
        .iter()
        .find(|d| d["type"] == "lead.decided")
        .expect("decided");
    assert_eq!(decided["record"], "gen-1");
    assert!(decided["properties"]["score"].is_string(), "{decided}");
    let alerts: Vec<&Value> = docs.iter().filter(|d| d["type"] == "lead.alert").collect();
    assert_eq!(alerts.len(), 2, "{docs:?}");
    for (source, lead) in [("hubspot", "555"), ("generic", "gen-1")] {
        let a = alerts
            .iter()
            .find(|a| a["alert"]["lead"] == lead)
            .unwrap_or_else(|| panic!("an alert for {lead}: {alerts:?}"));
        assert_eq!(a["alert"]["source"], source, "{a}");
        assert_eq!(a["alert"]["on"], "assigned", "{a}");
        assert_eq!(a["alert"]["rule"], "to-hook", "{a}");
        let owner = a["alert"]["owner"].as_str().unwrap();
        assert!(
            a["alert"]["title"]
                .as_str()
                .unwrap()
                .ends_with(&format!("assigned to {owner}")),
            "{a}"
        );
    }
}

#[test]
fn a_salesforce_outbound_message_without_the_title_is_decided_on_the_lead_read_from_the_org() {
    use crate::fake_salesforce::FakeSalesforce;
    let org = FakeSalesforce::start(SECRET, ADMIN_TOKEN, 100);
    // The Outbound Message does not carry Title; the org has it.
    org.put_lead(
        "00Q5g00000Lk7ZqEAJ",
        json!({"Title": "VP of Sales", "Country": "Germany"}),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = salesforce_setup(
        dir.path(),
        &org.url,
        "[sources.salesforce.read]\nconnection = \"crm\"\nproperties = [\"Title\", \"Country\"]\n\
         [sources.salesforce.write]\nconnection = \"crm\"\nscore = \"Lead_Score__c\"",
    );
    let server = Server::start_with(config, None);
    let r = server.post(
        "/hooks/salesforce",
        &[
            ("Content-Type", "text/xml; charset=utf-8"),
            ("SOAPAction", "\"\""),
        ],
        &fixture("salesforce-outbound-lead.xml"),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let trail = decisions(&server, "salesforce", "00Q5g00000Lk7ZqEAJ");
    assert_eq!(trail[0]["score"]["value"], 20.0, "{}", trail[0]);
    let writes = org.wait_for_writes(1, 30);
    assert_eq!(writes[0].1["Lead_Score__c"], 20, "{writes:?}");
}

/// A HubSpot `contact.propertyChange` of `property` to `value` on contact `id`.
fn property_change(event_id: u64, id: u64, property: &str, value: &str) -> Vec<u8> {
    format!(
        r#"[{{"eventId":{event_id},"subscriptionId":7,"portalId":62515,"occurredAt":1763632800000,"subscriptionType":"contact.propertyChange","attemptNumber":0,"objectId":{id},"propertyName":"{property}","propertyValue":"{value}","changeSource":"CRM_UI","appId":1}}]"#
    )
    .into_bytes()
}

/// The lead's timeline once `until` holds for it (or what it is after 30 s).
fn timeline_until(
    server: &Server,
    source: &str,
    id: &str,
    until: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let r = server.get(&format!("/v1/leads/{source}/{id}/timeline"));
        assert_eq!(r.status, 200, "{r:?}");
        let entries = r.json().as_array().unwrap().clone();
        if until(&entries) || std::time::Instant::now() > deadline {
            return entries;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn kinds(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect()
}

#[test]
fn a_lead_not_touched_is_warned_then_reassigned_on_the_stores_clock_and_its_timeline_tells_it() {
    let crm = FakeHubSpot::start_on("127.0.0.1:0", SECRET, &["101", "102"], &CRM_PROPERTIES, 0);
    let dir = tempfile::tempdir().unwrap();
    let config = write_back_config(dir.path(), &crm.url);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(
        r#"
[sla.first-touch]
calendar = "always"
met = { values = { hs_lead_status = ["IN_PROGRESS"] } }
checkpoints = [
  { name = "nudge", after = "1 hour", action = "warn" },
  { name = "breach", after = "1 working day", action = "reassign" },
]
"#,
    );
    std::fs::write(&config, &text).unwrap();
    let store = leadwire::store::open(&format!(
        "sqlite://{}",
        dir.path().join("leadwire.db").display()
    ))
    .unwrap();
    let server = Server::start_with(config, None);
    let r = post_hubspot_v1(&server, &title_change(1, 555, "VP of Sales"));
    assert_eq!(r.status, 200, "{r:?}");
    let first = crm.wait_for_writes(1, 30);
    let first_owner = first[0].1["hubspot_owner_id"].as_str().unwrap().to_string();
    let entries = timeline_until(&server, "hubspot", "555", |e| {
        kinds(e).contains(&"sla-started")
    });
    assert!(kinds(&entries).contains(&"sla-started"), "{entries:?}");

    // Nothing fires on time alone before it is due.
    std::thread::sleep(Duration::from_millis(600));
    assert!(!kinds(&timeline_until(&server, "hubspot", "555", |_| true)).contains(&"sla-warned"));
    // Two hours later (on the store's clock, moved by the test): the nudge.
    store.advance_clock(2 * 3600 * 1000).unwrap();
    let entries = timeline_until(&server, "hubspot", "555", |e| {
        kinds(e).contains(&"sla-warned")
    });
    assert!(kinds(&entries).contains(&"sla-warned"), "{entries:?}");
    // A day later: breached, decided again, given to the other rep and written back.
    store.advance_clock(24 * 3600 * 1000).unwrap();
    let writes = crm.wait_for_writes(2, 30);
    assert_eq!(writes.len(), 2, "{writes:?}");
    let second_owner = writes[1].1["hubspot_owner_id"].as_str().unwrap();
    assert_ne!(second_owner, first_owner, "reassigned to someone else");
    let entries = timeline_until(&server, "hubspot", "555", |e| {
        kinds(e).iter().filter(|k| **k == "sla-started").count() == 2
    });
    // (Timer times are on the store's clock, moved a day ahead here;
    // decisions on the server's: the order between the two is only real
    // when nobody moved the clock.)
    let k = kinds(&entries);
    let breached = k
        .iter()
        .position(|k| *k == "sla-breached")
        .expect("breached");
    assert!(k[breached..].contains(&"sla-started"), "{k:?}");
    assert_eq!(k.iter().filter(|k| **k == "decided").count(), 2, "{k:?}");
    assert_eq!(k.iter().filter(|k| **k == "write").count(), 2, "{k:?}");
    let text = entries[breached]["text"].as_str().unwrap();
    assert!(text.contains("did not act in time; reassigned"), "{text}");
    let trail = decisions(&server, "hubspot", "555");
    assert_eq!(trail[0]["trigger"], "sla-breached", "{}", trail[0]);
    // It fired once: no third decision however long the worker runs.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(decisions(&server, "hubspot", "555").len(), 2);

    // The new owner acts: the new timer is met, and nothing fires later.
    let r = post_hubspot_v1(
        &server,
        &property_change(9, 555, "hs_lead_status", "IN_PROGRESS"),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let entries = timeline_until(&server, "hubspot", "555", |e| kinds(e).contains(&"sla-met"));
    let met = entries
        .iter()
        .find(|e| e["kind"] == "sla-met")
        .expect("met");
    let said = met["text"].as_str().unwrap();
    assert!(
        said.contains("hs_lead_status = IN_PROGRESS") && said.contains("quinn"),
        "{met}"
    );
}

#[test]
fn assignments_warnings_and_breaches_alert_slack_and_teams_once_each() {
    use crate::fake_chat::FakeChat;
    let chat = FakeChat::start();
    let crm = FakeHubSpot::start_on("127.0.0.1:0", SECRET, &["101", "102"], &CRM_PROPERTIES, 0);
    let dir = tempfile::tempdir().unwrap();
    let config = write_back_config(dir.path(), &crm.url);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(
        r#"
[sla.first-touch]
calendar = "always"
checkpoints = [
  { name = "nudge", after = "1 hour", action = "warn" },
  { name = "breach", after = "1 day", action = "reassign" },
]

[connections.sales]
kind = "slack"
url_env = "LW_TEST_SLACK_URL"
[connections.archived]
kind = "slack"
url_env = "LW_TEST_ARCHIVED_URL"
[connections.managers]
kind = "teams"
url_env = "LW_TEST_TEAMS_URL"

[alerts.new-lead]
on = "assigned"
connection = "sales"
[alerts.old-channel]
on = "assigned"
connection = "archived"
[alerts.nudge]
on = "sla-warning"
connection = "sales"
[alerts.breach]
on = "sla-breach"
connection = "managers"
sla = "first-touch"

[server]
public_url = "https://leads.example.com"
"#,
    );
    std::fs::write(&config, &text).unwrap();
    let store = leadwire::store::open(&format!(
        "sqlite://{}",
        dir.path().join("leadwire.db").display()
    ))
    .unwrap();
    let (slack, archived, teams) = (
        chat.slack_url(),
        chat.archived_slack_url(),
        chat.teams_url(),
    );
    let server = Server::start_env(
        config,
        None,
        &[
            ("LW_TEST_SLACK_URL", slack.as_str()),
            ("LW_TEST_ARCHIVED_URL", archived.as_str()),
            ("LW_TEST_TEAMS_URL", teams.as_str()),
        ],
    );
    let r = post_hubspot_v1(&server, &title_change(1, 555, "VP of Sales"));
    assert_eq!(r.status, 200, "{r:?}");
    let messages = chat.slack(1, 30);
    let first = &messages[0];
    let said = first["text"].as_str().unwrap();
    assert!(said.starts_with("Lead 555 assigned to "), "{first}");
    assert_eq!(first["blocks"][0]["type"], "section");
    let link = first["blocks"][1]["elements"][0]["text"].as_str().unwrap();
    assert!(
        link.contains("https://leads.example.com/v1/leads/hubspot/555/timeline"),
        "{link}"
    );
    // A redelivery of the event alerts nobody again.
    let r = post_hubspot_v1(&server, &title_change(1, 555, "VP of Sales"));
    assert_eq!(r.status, 200, "{r:?}");

    store.advance_clock(2 * 3600 * 1000).unwrap();
    let messages = chat.slack(2, 30);
    assert!(
        messages[1]["text"]
            .as_str()
            .unwrap()
            .contains("SLA first-touch `nudge`: lead 555 not touched yet"),
        "{messages:?}"
    );
    store.advance_clock(24 * 3600 * 1000).unwrap();
    let cards = chat.teams(1, 30);
    let card = &cards[0]["attachments"][0]["content"];
    let title = card["body"][0]["text"].as_str().unwrap();
    assert_eq!(title, "SLA first-touch breached for lead 555");
    assert!(
        card["body"][1]["text"]
            .as_str()
            .unwrap()
            .starts_with("reassigned to "),
        "{card}"
    );
    assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
    // The reassignment is announced too: three Slack messages, one card.
    let messages = chat.slack(3, 30);
    assert_eq!(messages.len(), 3, "{messages:?}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(chat.slack(9, 0).len(), 3, "each once");
    assert_eq!(chat.teams(9, 0).len(), 1);
    // The archived channel's alert is a dead letter that says so.
    let dead = server.get("/v1/outbox?status=dead").json();
    let gone: Vec<&Value> = dead
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["connection"] == "archived")
        .collect();
    assert_eq!(gone.len(), 1, "{dead}");
    let error = gone[0]["last_error"].as_str().unwrap();
    assert!(
        error.contains("the webhook is gone") && error.contains("410"),
        "{error}"
    );
    assert!(!error.contains("ARCHIVED"), "the URL is a secret: {error}");
    // The lead's timeline lists each alert and how it went.
    let lead = gone[0]["record"]
        .as_str()
        .unwrap()
        .split(':')
        .nth(2)
        .unwrap()
        .to_string();
    let entries = timeline_until(&server, "hubspot", &lead, |_| true);
    let alerts: Vec<&str> = entries
        .iter()
        .filter(|e| e["kind"] == "alert")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    // Two assignments × two channels, the nudge and the breach; the archived
    // channel's second alert waits behind its pause.
    assert_eq!(alerts.len(), 6, "{alerts:?}");
    assert!(
        alerts
            .iter()
            .any(|t| t.starts_with("alert old-channel to archived") && t.contains("not sent")),
        "{alerts:?}"
    );
    assert!(
        alerts
            .iter()
            .any(|t| t.starts_with("alert breach to managers") && t.contains("(sent)")),
        "{alerts:?}"
    );
}

#[test]
fn two_replicas_on_one_postgres_racing_a_breach_reassign_once_and_alert_once() {
    use crate::fake_chat::FakeChat;
    let Some(schema) = TestSchema::create("lw_sla_replicas") else {
        return;
    };
    let url = schema.url.clone();

    let chat = FakeChat::start();
    let crm = FakeHubSpot::start_on("127.0.0.1:0", SECRET, &["101", "102"], &CRM_PROPERTIES, 0);
    let dir = tempfile::tempdir().unwrap();
    let config = write_back_config(dir.path(), &crm.url);
    let text = std::fs::read_to_string(&config).unwrap();
    let sqlite_line = text
        .lines()
        .find(|l| l.starts_with("url = \"sqlite://"))
        .unwrap();
    let mut text = text.replace(sqlite_line, &format!("url = \"{url}\""));
    text.push_str(
        r#"
[sla.first-touch]
calendar = "always"
checkpoints = [{ name = "breach", after = "30 minutes", action = "reassign" }]

[connections.managers]
kind = "teams"
url_env = "LW_TEST_TEAMS_URL"

[alerts.breach]
on = "sla-breach"
connection = "managers"
"#,
    );
    std::fs::write(&config, &text).unwrap();
    let teams = chat.teams_url();
    let env = [("LW_TEST_TEAMS_URL", teams.as_str())];
    let a = Server::start_env(config.clone(), None, &env);
    let b = Server::start_env(config, None, &env);
    let leads = 12u64;
    for i in 0..leads {
        let server = if i % 2 == 0 { &a } else { &b };
        let r = post_hubspot_v1(server, &title_change(i + 1, 700 + i, "VP of Sales"));
        assert_eq!(r.status, 200, "{r:?}");
    }
    assert_eq!(
        crm.wait_for_writes(leads as usize, 60).len(),
        leads as usize
    );
    // Both replicas' SLA workers see every timer due at once.
    leadwire::store::open(&url)
        .unwrap()
        .advance_clock(3600 * 1000)
        .unwrap();
    let cards = chat.teams(leads as usize, 60);
    assert_eq!(cards.len(), leads as usize, "one breach alert per lead");
    std::thread::sleep(Duration::from_millis(1_000));
    assert_eq!(chat.teams(99, 0).len(), leads as usize, "and no more");
    for i in 0..leads {
        let trail = decisions(&a, "hubspot", &(700 + i).to_string());
        let breaches = trail
            .iter()
            .filter(|d| d["trigger"] == "sla-breached")
            .count();
        assert_eq!(breaches, 1, "lead {}: {trail:?}", 700 + i);
    }
    // Every lead written twice: assigned, then reassigned.
    assert_eq!(
        crm.wait_for_writes(2 * leads as usize, 60).len(),
        2 * leads as usize
    );
    drop((a, b));
}

#[test]
fn a_timer_due_while_the_server_was_killed_fires_once_after_the_restart() {
    let crm = FakeHubSpot::start_on("127.0.0.1:0", SECRET, &["101", "102"], &CRM_PROPERTIES, 0);
    let dir = tempfile::tempdir().unwrap();
    let config = write_back_config(dir.path(), &crm.url);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(
        "\n[sla.first-touch]\ncalendar = \"always\"\n\
         checkpoints = [{ name = \"breach\", after = \"5 minutes\", action = \"reassign\" }]\n",
    );
    std::fs::write(&config, &text).unwrap();
    let mut server = Server::start_with(config.clone(), None);
    let r = post_hubspot_v1(&server, &title_change(1, 555, "VP of Sales"));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(crm.wait_for_writes(1, 30).len(), 1);
    // Killed only once the write is settled: killed between the CRM's answer
    // and the settle, the write would stay in flight for its 60 s lease (and
    // be sent again, at least once), holding back the next write to the record.
    let entries = timeline_until(&server, "hubspot", "555", |e| {
        e.iter()
            .any(|e| e["kind"] == "write" && e["detail"]["status"] == "done")
    });
    assert!(
        entries
            .iter()
            .any(|e| e["kind"] == "write" && e["detail"]["status"] == "done"),
        "{entries:?}"
    );
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    // A long downtime: the timer is long overdue when the server is back.
    leadwire::store::open(&format!(
        "sqlite://{}",
        dir.path().join("leadwire.db").display()
    ))
    .unwrap()
    .advance_clock(3 * 24 * 3600 * 1000)
    .unwrap();
    let server = Server::start_with(config, None);
    let writes = crm.wait_for_writes(2, 30);
    assert_eq!(writes.len(), 2, "reassigned after the restart: {writes:?}");
    std::thread::sleep(Duration::from_millis(800));
    let trail = decisions(&server, "hubspot", "555");
    assert_eq!(
        trail
            .iter()
            .filter(|d| d["trigger"] == "sla-breached")
            .count(),
        1,
        "{trail:?}"
    );
}

/// A PostgreSQL schema of its own for one test (so concurrent runs do not
/// meet), dropped when it ends; None (the test is skipped, saying so) without
/// `LEADWIRE_TEST_POSTGRES_URL`.
struct TestSchema {
    admin: postgres::Client,
    name: String,
    /// The store url whose tables live in the schema.
    url: String,
}

impl TestSchema {
    fn create(prefix: &str) -> Option<TestSchema> {
        let Ok(base) = std::env::var("LEADWIRE_TEST_POSTGRES_URL") else {
            eprintln!(
                "skipped: the replicas test needs LEADWIRE_TEST_POSTGRES_URL (a PostgreSQL both replicas share); .ci/run sets it"
            );
            return None;
        };
        let name = format!("{prefix}_{}", std::process::id());
        let mut admin =
            postgres::Client::connect(&base, postgres::NoTls).expect("connect to PostgreSQL");
        admin
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
            ))
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-csearch_path%3D{name}");
        Some(TestSchema { admin, name, url })
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let _ = self
            .admin
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

/// A Salesforce org's Outbound Messages source through connection `crm` (the
/// connected app's key and secret are the test's two env values), with the
/// source's `read` / `write` tables in `tables`.
fn salesforce_setup(dir: &Path, org_url: &str, tables: &str) -> PathBuf {
    write_back_setup(
        dir,
        ["0055g00000AbCdEAA1", "0055g00000AbCdEAA2"],
        &format!(
            "kind = \"salesforce\"\nbase_url = \"{org_url}\"\nclient_id_env = \"LW_TEST_SECRET\"\n\
             client_secret_env = \"LW_TEST_ADMIN_TOKEN\""
        ),
        &format!(
            "[sources.salesforce]\nadapter = \"salesforce\"\npipeline = \"inbound\"\n\
             [sources.salesforce.options]\norganization_id = \"{SF_ORG}\"\n{tables}"
        ),
    )
}

/// The write-back pipeline with nurture-exit after the router, an SLA policy,
/// rejection reasons (one a day for team `pair`) and HubSpot's lead status.
fn feedback_config(dir: &Path, crm_url: &str) -> PathBuf {
    let config = write_back_config(dir, crm_url);
    let text = std::fs::read_to_string(&config).unwrap().replace(
        r#"steps = [{ plugin = "scorer" }, { plugin = "router" }]"#,
        r#"steps = [{ plugin = "scorer" }, { plugin = "router" }, { plugin = "nurture" }]"#,
    );
    let text = format!(
        r#"{text}
[sources.hubspot.lead_status]
property = "hs_lead_status"
accepted = ["IN_PROGRESS"]
rejected = {{ UNQUALIFIED = "not-a-fit", BAD_TIMING = "bad-timing" }}

[feedback]
reasons = ["not-a-fit", "bad-timing", "wrong-territory"]
daily_limits = {{ pair = 1 }}

[plugins.nurture]
path = "{plugins}/nurture_exit.wasm"
grants = []

[sla.first-touch]
calendar = "always"
checkpoints = [{{ after = "1 hour", action = "reassign" }}]
"#,
        plugins = common::PLUGINS_DIR
    );
    std::fs::write(&config, text).unwrap();
    config
}

fn answer(
    server: &Server,
    lead: &str,
    verb: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> Response {
    let bearer = format!("Bearer {WRITE_TOKEN}");
    let mut all = vec![
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
    ];
    all.extend_from_slice(headers);
    http(
        &server.addr,
        "POST",
        &format!("/v1/leads/hubspot/{lead}/{verb}"),
        &all,
        body.as_bytes(),
    )
}

#[test]
fn a_rejected_lead_is_recycled_reassigned_and_its_status_written_back() {
    let properties = ["hubspot_owner_id", "leadwire_score", "hs_lead_status"];
    let crm = FakeHubSpot::start_on("127.0.0.1:0", SECRET, &["101", "102"], &properties, 0);
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(feedback_config(dir.path(), &crm.url), None);
    let r = post_hubspot_v1(&server, &title_change(1, 555, "VP of Sales"));
    assert_eq!(r.status, 200, "{r:?}");
    let first = crm.wait_for_writes(1, 30);
    let first_owner = first[0].1["hubspot_owner_id"].as_str().unwrap().to_string();
    let first_rep = decisions(&server, "hubspot", "555")[0]["owner"]
        .as_str()
        .unwrap()
        .to_string();

    // What is refused, and why.
    for (lead, verb, body, status, says) in [
        (
            "555",
            "reject",
            r#"{"reason": "too small"}"#,
            400,
            "not-a-fit, bad-timing, wrong-territory",
        ),
        (
            "555",
            "reject",
            r#"{"note": "no"}"#,
            400,
            "needs a `reason`",
        ),
        (
            "555",
            "reject",
            r#"{"reason": "bad-timing", "by": "nobody"}"#,
            400,
            "no rep `nobody`",
        ),
        (
            "555",
            "reject",
            r#"{"reason": "bad-timing""#,
            400,
            "the body",
        ),
        (
            "555",
            "reject",
            r#"{"reason": "bad-timing", "why": 1}"#,
            400,
            "unknown field",
        ),
        (
            "555",
            "accept",
            r#"{"reason": "bad-timing"}"#,
            400,
            "takes no `reason`",
        ),
        (
            "999",
            "reject",
            r#"{"reason": "bad-timing"}"#,
            404,
            "no lead `999`",
        ),
    ] {
        let r = answer(&server, lead, verb, body, &[]);
        assert_eq!(r.status, status, "{body}: {r:?}");
        assert!(r.body.contains(says), "{body}: {}", r.body);
    }
    let r = http(
        &server.addr,
        "POST",
        "/v1/leads/nowhere/555/reject",
        &[("authorization", &format!("Bearer {WRITE_TOKEN}"))],
        br#"{"reason": "bad-timing"}"#,
    );
    assert_eq!(r.status, 404, "{r:?}");
    let r = http(
        &server.addr,
        "POST",
        "/v1/leads/hubspot/555/reject",
        &[("authorization", &format!("Bearer {READ_TOKEN}"))],
        br#"{"reason": "bad-timing"}"#,
    );
    assert_eq!(r.status, 403, "the read token cannot answer: {r:?}");
    let r = server.get("/v1/leads/hubspot/555/reject");
    assert_eq!(
        (r.status, header(&r, "allow")),
        (405, Some("POST")),
        "{r:?}"
    );
    assert_eq!(
        decisions(&server, "hubspot", "555").len(),
        1,
        "nothing refused was recorded"
    );

    // The owner rejects it: recycled with the reason, given to the other rep,
    // the status and new owner written back in one write.
    let r = answer(
        &server,
        "555",
        "reject",
        r#"{"reason": "bad-timing", "note": "call back in May"}"#,
        &[],
    );
    assert_eq!(r.status, 200, "{r:?}");
    let d = r.json();
    assert_eq!(d["trigger"], "rejected", "{d}");
    assert_eq!(d["feedback"]["reason"], "bad-timing", "{d}");
    assert_eq!(d["feedback"]["by"], first_rep.as_str(), "{d}");
    assert_ne!(
        d["owner"],
        first_rep.as_str(),
        "never back to who rejected it: {d}"
    );
    let nurture = &d["nurture"];
    assert_eq!(nurture["outcome"], "recycle", "{d}");
    assert!(
        nurture["reason"]
            .as_str()
            .unwrap()
            .contains("bad-timing: call back in May"),
        "{nurture}"
    );
    let writes = crm.wait_for_writes(2, 30);
    assert_eq!(writes[1].1["hs_lead_status"], "BAD_TIMING", "{writes:?}");
    assert_ne!(
        writes[1].1["hubspot_owner_id"],
        first_owner.as_str(),
        "{writes:?}"
    );
    let entries = timeline_until(&server, "hubspot", "555", |e| {
        kinds(e).contains(&"rejected") && kinds(e).contains(&"sla-cancelled")
    });
    let k = kinds(&entries);
    assert!(
        k.contains(&"rejected") && k.contains(&"sla-cancelled"),
        "{k:?}"
    );
    let rejected = entries.iter().find(|e| e["kind"] == "rejected").unwrap();
    let text = rejected["text"].as_str().unwrap();
    assert!(
        text.contains(&format!(
            "rejected by {first_rep}: bad-timing (call back in May)"
        )),
        "{text}"
    );
    let cancelled = entries
        .iter()
        .find(|e| e["kind"] == "sla-cancelled")
        .unwrap();
    assert!(
        cancelled["text"].as_str().unwrap().contains("bad-timing"),
        "{cancelled}"
    );

    // Team `pair` has used its one rejection today.
    let r = answer(&server, "555", "reject", r#"{"reason": "not-a-fit"}"#, &[]);
    assert_eq!(r.status, 429, "{r:?}");
    assert!(r.body.contains("feedback.daily_limits.pair"), "{}", r.body);

    // The new owner accepts, twice with one idempotency key: one decision,
    // one write of the accepted status, the timer met.
    let key = [("idempotency-key", "accept-1")];
    let once = answer(&server, "555", "accept", "", &key);
    assert_eq!(once.status, 200, "{once:?}");
    let again = answer(&server, "555", "accept", "", &key);
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(once.json()["id"], again.json()["id"]);
    assert_eq!(once.json()["trigger"], "accepted");
    let writes = crm.wait_for_writes(3, 30);
    assert_eq!(writes[2].1["hs_lead_status"], "IN_PROGRESS", "{writes:?}");
    let entries = timeline_until(&server, "hubspot", "555", |e| kinds(e).contains(&"sla-met"));
    let met = entries
        .iter()
        .find(|e| e["kind"] == "sla-met")
        .expect("met");
    assert!(
        met["text"].as_str().unwrap().contains("accepted by"),
        "{met}"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(crm.writes().len(), 3, "{:?}", crm.writes());
    assert_eq!(decisions(&server, "hubspot", "555").len(), 3);
    // The figures: one rejection by reason, one acceptance, the timers'
    // outcomes and the met one's time to first touch (raw and working).
    let metrics = server.get("/metrics").body;
    for line in [
        r#"leadwire_feedback_total{source="hubspot",verdict="rejected",reason="bad-timing",via="api"} 1"#,
        r#"leadwire_feedback_total{source="hubspot",verdict="accepted",reason="",via="api"} 1"#,
        r#"leadwire_sla_timers{policy="first-touch",state="cancelled"} 1"#,
        r#"leadwire_sla_timers{policy="first-touch",state="met"} 1"#,
        r#"leadwire_sla_first_touch{policy="first-touch",clock="raw",le="60"} 1"#,
        r#"leadwire_sla_first_touch{policy="first-touch",clock="business",le="+Inf"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }

    // The CRM's own status says the same: lead 556 set to UNQUALIFIED runs as
    // a rejection (not counted against the team's limit), and its status is
    // not written back (it is there already).
    let r = post_hubspot_v1(&server, &title_change(2, 556, "VP Marketing"));
    assert_eq!(r.status, 200, "{r:?}");
    crm.wait_for_writes(4, 30);
    let r = post_hubspot_v1(
        &server,
        &property_change(3, 556, "hs_lead_status", "UNQUALIFIED"),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let trail = decisions(&server, "hubspot", "556");
    assert_eq!(trail[0]["trigger"], "rejected", "{}", trail[0]);
    assert_eq!(trail[0]["feedback"]["via"], "crm", "{}", trail[0]);
    assert_eq!(trail[0]["feedback"]["reason"], "not-a-fit", "{}", trail[0]);
    let writes = crm.wait_for_writes(5, 30);
    assert!(writes[4].1.get("hs_lead_status").is_none(), "{writes:?}");

    // HubSpot echoes leadwire's own status write back as an event: not a
    // second acceptance.
    let r = post_hubspot_v1(
        &server,
        &property_change(4, 555, "hs_lead_status", "IN_PROGRESS"),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let echo = &decisions(&server, "hubspot", "555")[0];
    assert_eq!(echo["trigger"], "updated", "{echo}");
    assert!(
        echo.get("feedback").is_none(),
        "an echo is no answer: {echo}"
    );
}

#[test]
fn the_quickstart_reassigns_a_lead_not_followed_up_in_3_working_days_and_tells_slack() {
    use crate::fake_chat::FakeChat;
    let chat = FakeChat::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leadwire.db");
    let config = dir.path().join("leadwire.toml");
    std::fs::write(
        &config,
        format!(
            "{}\n[store]\nurl = \"sqlite://{}\"\n",
            quickstart(),
            db.display()
        ),
    )
    .unwrap();
    let slack = chat.slack_url();
    let env = [
        ("HUBSPOT_CLIENT_SECRET", SECRET),
        ("SLACK_WEBHOOK_URL", slack.as_str()),
    ];
    let server = Server::start_env(config, Some(dir), &env);
    // The quickstart's source is a public app's: signed with v3.
    let body = property_change(1, 777, "country", "Germany");
    let r = post_hubspot_v3(&server, "/hooks/hubspot", &body);
    assert_eq!(r.status, 200, "{r:?}");
    let first = decisions(&server, "hubspot", "777");
    assert_eq!(first[0]["route"]["team"], "emea", "{}", first[0]);
    let first_owner = first[0]["owner"].as_str().unwrap().to_string();
    let entries = timeline_until(&server, "hubspot", "777", |e| {
        kinds(e).contains(&"sla-started")
    });
    let started = entries
        .iter()
        .find(|e| e["kind"] == "sla-started")
        .expect("started");
    assert_eq!(
        started["detail"]["policy"], "follow-up",
        "not a hot lead: {started}"
    );

    // Ten days on the store's clock (3 working days, whatever the holidays):
    // nudged, then breached and given to someone else on the team; Slack hears
    // of the breach once (the lead was not hot: no assignment alert).
    let store = leadwire::store::open(&format!("sqlite://{}", db.display())).unwrap();
    store.advance_clock(10 * 24 * 3600 * 1000).unwrap();
    let entries = timeline_until(&server, "hubspot", "777", |e| {
        kinds(e).iter().filter(|k| **k == "sla-started").count() == 2
    });
    let k = kinds(&entries);
    assert!(
        k.contains(&"sla-warned") && k.contains(&"sla-breached"),
        "{k:?}"
    );
    let trail = decisions(&server, "hubspot", "777");
    assert_eq!(trail[0]["trigger"], "sla-breached", "{}", trail[0]);
    assert_eq!(trail[0]["route"]["team"], "emea", "{}", trail[0]);
    assert_ne!(trail[0]["owner"], first_owner.as_str(), "{}", trail[0]);
    let said = chat.slack(1, 30);
    assert_eq!(said.len(), 1, "{said:?}");
    let text = said[0]["text"].as_str().unwrap();
    assert!(
        text.contains("SLA follow-up breached for lead 777"),
        "{text}"
    );
    assert_eq!(chat.slack(2, 1).len(), 1, "once");
}

#[test]
fn email_alerts_go_over_starttls_to_the_owner_and_the_managers_once_each() {
    use crate::fake_smtp::FakeSmtp;
    let smtp = FakeSmtp::start("leadwire", "s3cret");
    let crm = FakeHubSpot::start_on("127.0.0.1:0", SECRET, &["101", "102"], &CRM_PROPERTIES, 0);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &smtp.ca_pem).unwrap();
    let config = write_back_config(dir.path(), &crm.url);
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(
            "[directory.reps.pat]\n",
            "[directory.reps.pat]\nemail = \"pat@example.com\"\n",
        )
        .replace(
            "[directory.reps.quinn]\n",
            "[directory.reps.quinn]\nemail = \"quinn@example.com\"\n",
        );
    let mail = |to: &str| {
        format!(
            "kind = \"email\"\nhost = \"127.0.0.1\"\nport = {}\nusername_env = \"LW_TEST_SMTP_USER\"\n\
             password_env = \"LW_TEST_SMTP_PASSWORD\"\nfrom = \"leadwire <leadwire@example.com>\"\n\
             to = [\"{to}\"]\nca_file = \"ca.pem\"\nmax_attempts = 2\n",
            smtp.port
        )
    };
    let text = format!(
        r#"{text}
[connections.mail]
{}
[connections.bounces]
{}
[sla.first-touch]
calendar = "always"
checkpoints = [{{ after = "1 hour", action = "reassign" }}]

[alerts.new-lead]
on = "assigned"
connection = "mail"
[alerts.breach]
on = "sla-breach"
connection = "mail"
[alerts.lost]
on = "sla-breach"
connection = "bounces"

[server]
public_url = "https://leads.example.com"
"#,
        mail("managers@example.com"),
        mail("nobody@bounce.example"),
    );
    std::fs::write(&config, text).unwrap();
    let env = [
        ("LW_TEST_SMTP_USER", "leadwire"),
        ("LW_TEST_SMTP_PASSWORD", "s3cret"),
    ];
    let db = dir.path().join("leadwire.db");
    let server = Server::start_env(config, Some(dir), &env);
    let r = post_hubspot_v1(&server, &title_change(1, 555, "VP of Sales"));
    assert_eq!(r.status, 200, "{r:?}");
    let owner = decisions(&server, "hubspot", "555")[0]["owner"]
        .as_str()
        .unwrap()
        .to_string();
    let mails = smtp.mails(1, 30);
    assert_eq!(mails.len(), 1, "{mails:?}");
    let m = &mails[0];
    assert!(m.tls, "sent only after STARTTLS");
    assert_eq!(m.user, "leadwire");
    assert_eq!(m.from, "leadwire@example.com");
    assert_eq!(m.to, [format!("{owner}@example.com")], "to the owner");
    assert!(
        m.data
            .contains(&format!("Subject: Lead 555 assigned to {owner}")),
        "{}",
        m.data
    );
    assert!(
        m.data.contains("From: leadwire <leadwire@example.com>"),
        "{}",
        m.data
    );
    // (Quoted-printable: long lines are wrapped with a soft `=` break.)
    let body = m.data.replace("=\r\n", "");
    assert!(
        body.contains(
            "What became of the lead: https://leads.example.com/v1/leads/hubspot/555/timeline"
        ),
        "{body}"
    );

    // The breach: the managers are told once; the bounced address is a dead
    // letter saying why.
    let store = leadwire::store::open(&format!("sqlite://{}", db.display())).unwrap();
    store.advance_clock(2 * 3600 * 1000).unwrap();
    // The managers hear of the breach; the new owner of their lead.
    let mails = smtp.mails(3, 30);
    assert_eq!(mails.len(), 3, "{mails:?}");
    let breach = mails
        .iter()
        .find(|m| m.to == ["managers@example.com"])
        .expect("breach");
    assert!(
        breach
            .data
            .contains("Subject: SLA first-touch breached for lead 555"),
        "{}",
        breach.data
    );
    let other = if owner == "pat" { "quinn" } else { "pat" };
    let new_owner = mails
        .iter()
        .find(|m| m.to == [format!("{other}@example.com")])
        .expect("the new owner is told");
    assert!(
        new_owner
            .data
            .contains(&format!("Subject: Lead 555 assigned to {other}")),
        "{}",
        new_owner.data
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let dead = loop {
        let dead = server.get("/v1/outbox?status=dead").json();
        if !dead.as_array().unwrap().is_empty() || std::time::Instant::now() > deadline {
            break dead;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(dead[0]["connection"], "bounces", "{dead}");
    let why = dead[0]["last_error"].as_str().unwrap();
    assert!(why.contains("550") && why.contains("refused"), "{why}");
    assert_eq!(smtp.mails(4, 1).len(), 3, "once each");
}

#[test]
fn a_score_crossing_its_threshold_and_a_dead_letter_each_alert_once() {
    use crate::fake_chat::FakeChat;
    let chat = FakeChat::start();
    // The fake knows owner 101 only: writes giving a lead to 102 are refused.
    let crm = FakeHubSpot::start_on("127.0.0.1:0", SECRET, &["101"], &CRM_PROPERTIES, 0);
    let dir = tempfile::tempdir().unwrap();
    let config = write_back_config(dir.path(), &crm.url);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(
        r#"
[connections.sales]
kind = "slack"
url_env = "LW_TEST_SLACK_URL"

[alerts.hot]
on = "score-crossed"
threshold = 20
connection = "sales"
[alerts.failed-writes]
on = "dead-letter"
connection = "sales"

[server]
public_url = "https://leads.example.com"
"#,
    );
    std::fs::write(&config, text).unwrap();
    let slack = chat.slack_url();
    let server = Server::start_env(config, None, &[("LW_TEST_SLACK_URL", slack.as_str())]);
    // 801: 0, then 20 (crossed), then 20 again (not crossed again);
    // 802: 20 on its first decision (crossed).
    for (n, (id, title)) in [
        (801, "Intern"),
        (801, "VP of Sales"),
        (801, "VP Sales"),
        (802, "VP"),
    ]
    .into_iter()
    .enumerate()
    {
        let r = post_hubspot_v1(&server, &title_change(n as u64 + 1, id, title));
        assert_eq!(r.status, 200, "{r:?}");
    }
    let until = std::time::Instant::now() + Duration::from_secs(30);
    let dead = loop {
        let rows = server
            .get("/v1/outbox?status=dead")
            .json()
            .as_array()
            .unwrap()
            .clone();
        let crm_rows: Vec<_> = rows
            .into_iter()
            .filter(|r| r["connection"] == "crm")
            .collect();
        if !crm_rows.is_empty() || std::time::Instant::now() > until {
            break crm_rows;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!dead.is_empty(), "a write to owner 102 is a dead letter");
    let said = chat.slack(2 + dead.len(), 30);
    let texts: Vec<&str> = said.iter().map(|m| m["text"].as_str().unwrap()).collect();
    let crossed: Vec<&&str> = texts
        .iter()
        .filter(|t| t.contains("reached score 20"))
        .collect();
    assert_eq!(crossed.len(), 2, "{texts:?}");
    assert!(crossed.iter().any(|t| t.contains("Lead 801")), "{texts:?}");
    assert!(crossed.iter().any(|t| t.contains("Lead 802")), "{texts:?}");
    let failed: Vec<&&str> = texts
        .iter()
        .filter(|t| t.contains("failed for good"))
        .collect();
    assert_eq!(failed.len(), dead.len(), "{texts:?} / {dead:?}");
    let body = serde_json::to_string(&said).unwrap();
    assert!(
        body.contains("INVALID_OWNER_ID"),
        "the alert says why: {body}"
    );
    assert!(
        body.contains("https://leads.example.com/v1/outbox?status=dead"),
        "{body}"
    );
    assert_eq!(chat.slack(said.len() + 1, 1).len(), said.len(), "once each");
}

/// The write-back setup (edited by `edit`) with SLA policy `first-touch` on
/// 24/7 time with `checkpoints`, serving; lead 555 assigned once.
fn sla_lead_555(
    edit: impl Fn(String) -> String,
    checkpoints: &str,
) -> (
    FakeHubSpot,
    Server,
    std::sync::Arc<dyn leadwire::store::Store>,
) {
    let crm = FakeHubSpot::start_on("127.0.0.1:0", SECRET, &["101", "102"], &CRM_PROPERTIES, 0);
    let dir = tempfile::tempdir().unwrap();
    let config = write_back_config(dir.path(), &crm.url);
    let text = edit(std::fs::read_to_string(&config).unwrap());
    let text =
        format!("{text}\n[sla.first-touch]\ncalendar = \"always\"\ncheckpoints = {checkpoints}\n");
    std::fs::write(&config, text).unwrap();
    let db = dir.path().join("leadwire.db");
    let server = Server::start_with(config, Some(dir));
    let store = leadwire::store::open(&format!("sqlite://{}", db.display())).unwrap();
    let r = post_hubspot_v1(&server, &title_change(1, 555, "VP of Sales"));
    assert_eq!(r.status, 200, "{r:?}");
    (crm, server, store)
}

#[test]
fn a_second_breach_passes_over_both_previous_owners_and_parks_the_lead() {
    let (_crm, server, store) = sla_lead_555(
        |text| {
            text.replace(
                "[[plugins.router.config.territories]]",
                "[plugins.router.config]\nexclude_previous_owners = 2\nfallback_queue = \"triage\"\n\
                 [[plugins.router.config.territories]]",
            )
        },
        "[{ after = \"1 hour\", action = \"reassign\" }]",
    );
    let first = decisions(&server, "hubspot", "555")[0]["owner"]
        .as_str()
        .unwrap()
        .to_string();
    let started = |n: usize| {
        timeline_until(&server, "hubspot", "555", |e| {
            kinds(e).iter().filter(|k| **k == "sla-started").count() == n
        })
    };
    started(1);
    store.advance_clock(2 * 3600 * 1000).unwrap();
    started(2);
    let trail = decisions(&server, "hubspot", "555");
    let second = trail[0]["owner"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    // The second breach: both reps had the lead; it waits in the queue.
    store.advance_clock(2 * 3600 * 1000).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let trail = loop {
        let trail = decisions(&server, "hubspot", "555");
        if trail.len() == 3 || std::time::Instant::now() > deadline {
            break trail;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(trail.len(), 3, "{trail:?}");
    let route = &trail[0]["route"];
    assert_eq!(route["action"], "queue", "{route}");
    assert_eq!(route["queue"], "triage", "{route}");
    let reasons = route["candidates"].to_string();
    assert!(
        reasons.contains("had the lead before (exclude_previous_owners = 2)")
            && reasons.contains("current owner, SLA first-touch breached"),
        "{reasons}"
    );
}

#[test]
fn an_escalation_checkpoint_parks_the_lead_in_its_queue_without_running_the_pipeline() {
    let (_crm, server, store) = sla_lead_555(
        |text| text,
        "[\n{ name = \"nudge\", after = \"1 hour\", action = \"warn\" },\n\
         { name = \"escalate\", after = \"2 hours\", action = \"escalate\", queue = \"sales-managers\" },\n]",
    );
    let owner = decisions(&server, "hubspot", "555")[0]["owner"]
        .as_str()
        .unwrap()
        .to_string();
    timeline_until(&server, "hubspot", "555", |e| {
        kinds(e).contains(&"sla-started")
    });
    store.advance_clock(3 * 3600 * 1000).unwrap();
    let entries = timeline_until(&server, "hubspot", "555", |e| {
        kinds(e).contains(&"sla-breached")
    });
    let breached = entries
        .iter()
        .find(|e| e["kind"] == "sla-breached")
        .expect("breached");
    assert!(
        breached["text"]
            .as_str()
            .unwrap()
            .contains("escalated to queue sales-managers"),
        "{breached}"
    );
    let k = kinds(&entries);
    assert!(k.contains(&"sla-warned"), "the nudge fired first: {k:?}");
    let trail = decisions(&server, "hubspot", "555");
    assert_eq!(trail.len(), 2, "{trail:?}");
    let parked = &trail[0];
    assert_eq!(parked["trigger"], "sla-breached", "{parked}");
    assert_eq!(parked["route"]["action"], "queue", "{parked}");
    assert_eq!(parked["route"]["queue"], "sales-managers", "{parked}");
    assert!(
        parked["steps"].as_array().is_none_or(|s| s.is_empty()),
        "no plugin ran: {parked}"
    );
    assert!(
        parked["route"]["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("{owner} did not act in time")),
        "{parked}"
    );
    // Parked: no new timer starts, nothing fires again.
    std::thread::sleep(Duration::from_millis(500));
    let entries = timeline_until(&server, "hubspot", "555", |_| true);
    assert_eq!(
        kinds(&entries)
            .iter()
            .filter(|k| **k == "sla-started")
            .count(),
        1
    );
    assert_eq!(decisions(&server, "hubspot", "555").len(), 2);
}

#[test]
fn a_lead_with_no_new_activity_for_the_rules_days_is_told_going_cold_once() {
    use crate::fake_chat::FakeChat;
    let chat = FakeChat::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leadwire.db");
    let config = dir.path().join("leadwire.toml");
    let extra = "[connections.chat]\nkind = \"slack\"\nurl_env = \"LW_TEST_SLACK_URL\"\n\
                 [alerts.cold]\non = \"going-cold\"\ndays = 14\nconnection = \"chat\"\n";
    let url = format!("sqlite://{}", db.display());
    std::fs::write(&config, config_text(&url, "", extra)).unwrap();
    let slack = chat.slack_url();
    let server = Server::start_env(config, Some(dir), &[("LW_TEST_SLACK_URL", slack.as_str())]);
    let store = leadwire::store::open(&url).unwrap();
    let day = 24 * 3600 * 1000;
    let event = |n: u64, activity_at: i64| {
        let at = leadwire::lead::format_millis(chrono::Utc::now().timestamp_millis());
        let seen = leadwire::lead::format_millis(activity_at);
        format!(
            r#"{{"lead": {{"id": "c1", "activities": [{{"kind": "page_view", "at": "{seen}"}}]}},
                "event": {{"id": "cold-{n}", "trigger": "updated", "at": "{at}"}}}}"#
        )
    };
    let now = store.clock_ms().unwrap();
    let r = generic_post(&server, &event(1, now - day));
    assert_eq!(r.status, 200, "{r:?}");
    timeline_until(&server, "generic", "c1", |e| {
        kinds(e).contains(&"sla-started")
    });
    // Ten days on: not cold yet. New engagement restarts the watch.
    store.advance_clock(10 * day).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert!(chat.slack(1, 0).is_empty());
    let r = generic_post(&server, &event(2, now + 10 * day));
    assert_eq!(r.status, 200, "{r:?}");
    let entries = timeline_until(&server, "generic", "c1", |e| {
        kinds(e).contains(&"sla-cancelled")
    });
    let restarted = entries
        .iter()
        .find(|e| e["kind"] == "sla-cancelled")
        .expect("restarted");
    assert!(
        restarted["text"]
            .as_str()
            .unwrap()
            .contains("engaged again"),
        "{restarted}"
    );
    // Day 20: 14 days after the first activity, 10 after the second: quiet.
    store.advance_clock(10 * day).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert!(chat.slack(1, 0).is_empty(), "restarted by the new activity");
    // Day 25: 15 days after the last activity: cold, told once.
    store.advance_clock(5 * day).unwrap();
    let said = chat.slack(1, 30);
    assert_eq!(said.len(), 1, "{said:?}");
    let text = said[0]["text"].as_str().unwrap();
    assert!(
        text.contains("Lead c1 is going cold") && text.contains("no engagement for 14 days"),
        "{text}"
    );
    assert_eq!(chat.slack(2, 1).len(), 1, "once");
    let entries = timeline_until(&server, "generic", "c1", |e| kinds(e).contains(&"alert"));
    assert!(kinds(&entries).contains(&"alert"), "{entries:?}");
}
