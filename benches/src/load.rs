//! The webhook end to end: `leadwire serve` on loopback, driven by an open-loop
//! load generator (requests leave on a fixed schedule whether or not earlier
//! ones have been answered, and each latency is counted from the request's
//! scheduled time, so a stalled server cannot hide its backlog), and by a
//! closed loop of keep-alive connections for the saturation throughput.
//!
//! Every request is a distinct `created` event of a distinct generated lead,
//! signed for the `generic` adapter, so idempotency never short-circuits a
//! decision: each one runs the four-step quickstart pipeline and is recorded in
//! the store before the answer.
//!
//! HTTP is ureq's (one agent, so one keep-alive connection, per worker thread);
//! latencies go into an HdrHistogram per worker, merged at the end of a stage.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use leadwire::lab::generate::Generator;
use serde::{Deserialize, Serialize};

use crate::stats::Latency;

pub const SECRET: &str = "leadwire-bench-secret";
const SECRET_ENV: &str = "LEADWIRE_BENCH_SECRET";
const MARKER: &str = "LWBENCHID";
/// Distinct lead templates; each request fills in a unique id.
const TEMPLATES: u64 = 4096;
/// Connections (one thread each) the open-loop generator may use.
const OPEN_LOOP_CONNECTIONS: usize = 64;
/// A request not answered in this long fails (and its connection is dropped).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `leadwire serve`, stopped (SIGTERM, then kill) when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub pid: u32,
}

impl Server {
    pub fn start(bin: &Path, config: &Path) -> Result<Server> {
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(config)
            .env(SECRET_ENV, SECRET)
            // The quickstart's own HubSpot source needs its secret to start.
            .env("HUBSPOT_CLIENT_SECRET", SECRET)
            .env("LEADWIRE_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("start {} serve", bin.display()))?;
        let stderr = child.stderr.take().expect("piped");
        let mut lines = BufReader::new(stderr).lines();
        let addr = loop {
            let Some(line) = lines.next() else {
                let _ = child.wait();
                bail!("leadwire serve exited before listening");
            };
            let line = line?;
            if let Some(rest) = line.strip_prefix("leadwire: listening on http://") {
                break rest.trim().parse::<SocketAddr>()?;
            }
            eprintln!("  server: {line}");
        };
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if !line.contains("stopped") {
                    eprintln!("  server: {line}");
                }
            }
        });
        let pid = child.id();
        Ok(Server { child, addr, pid })
    }

    /// CPU time (user + system) the server has used so far.
    pub fn cpu(&self) -> Duration {
        process_cpu(&format!("/proc/{}/stat", self.pid))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// utime + stime of a process, from /proc/PID/stat.
pub fn process_cpu(stat_path: &str) -> Duration {
    let Ok(text) = std::fs::read_to_string(stat_path) else {
        return Duration::ZERO;
    };
    let after = text.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

/// The server's config: the quickstart's plugins and `inbound` pipeline, one
/// `generic` source, and the store.
/// `crm`: the URL of a local HubSpot-like API to write every decision back to
/// (score, grade and the route's reason, through the outbox), paced at
/// HubSpot's Professional limit of 190 requests per 10 s.
pub fn write_config(
    dir: &Path,
    plugins_dir: &Path,
    store_url: &str,
    crm: Option<&str>,
) -> Result<PathBuf> {
    let quickstart =
        std::fs::read_to_string(crate::root().join("examples/quickstart/leadwire.toml"))?
            .replace("../../target/plugins", &plugins_dir.display().to_string());
    let text = format!(
        r#"{quickstart}

[store]
url = "{store_url}"

[sources.bench]
adapter = "generic"
pipeline = "inbound"
secret_env = "{SECRET_ENV}"
"#
    );
    let text = match crm {
        None => text,
        Some(url) => format!(
            r#"{text}
[sources.bench.write]
connection = "crm"
score = "leadwire_score"
grade = "leadwire_grade"
route_reason = "leadwire_route_reason"

[connections.crm]
kind = "hubspot"
token_env = "{SECRET_ENV}"
base_url = "{url}"
requests_per_10s = 190
"#
        ),
    };
    let path = dir.join(format!("serve-{}.toml", std::process::id()));
    std::fs::write(&path, text)?;
    Ok(path)
}

/// Requests: generated leads as `generic` bodies, each with a unique lead and
/// event id, signed when sent.
pub struct Requests {
    templates: Vec<(String, String, String)>,
    next: AtomicU64,
    url: String,
    run: String,
}

/// One request to send: the body and its `generic` signature headers.
pub struct Request {
    body: String,
    timestamp: String,
    signature: String,
}

impl Requests {
    pub fn new(addr: SocketAddr, templates: u64) -> Requests {
        let g = Generator::new(7);
        let templates = (0..templates.min(TEMPLATES))
            .map(|i| {
                let row = g.lead(i);
                let mut lead = row.lead;
                lead.id = MARKER.into();
                let body = serde_json::json!({
                    "lead": lead,
                    "event": {
                        "id": format!("evt-{MARKER}"),
                        "trigger": "created",
                        "at": leadwire::lead::format_millis(row.event_at_ms),
                    }
                })
                .to_string();
                let mut parts = body.splitn(3, MARKER);
                let (a, b, c) = (parts.next(), parts.next(), parts.next());
                (
                    a.unwrap_or_default().to_string(),
                    b.unwrap_or_default().to_string(),
                    c.unwrap_or_default().to_string(),
                )
            })
            .collect();
        Requests {
            templates,
            next: AtomicU64::new(0),
            url: format!("http://{addr}/hooks/bench"),
            run: format!("{:x}", std::process::id()),
        }
    }

    /// The next request: a fresh lead id and event id, signed now.
    pub fn next(&self) -> Request {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let (a, b, c) = &self.templates[(n % self.templates.len() as u64) as usize];
        let id = format!("b{}-{n}", self.run);
        let mut body = String::with_capacity(a.len() + b.len() + c.len() + 2 * id.len());
        body.push_str(a);
        body.push_str(&id);
        body.push_str(b);
        body.push_str(&id);
        body.push_str(c);
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let signature = leadwire::adapters::generic::sign(SECRET, &timestamp, body.as_bytes());
        Request {
            body,
            timestamp,
            signature,
        }
    }

    /// Mean body size, for the report.
    pub fn mean_body_bytes(&self) -> usize {
        let total: usize = self
            .templates
            .iter()
            .map(|(a, b, c)| a.len() + b.len() + c.len() + 20)
            .sum();
        total / self.templates.len().max(1)
    }
}

/// One worker's HTTP/1.1 client: a ureq agent whose pool keeps the worker's
/// one keep-alive connection (opened by the first request, dropped on an error).
struct Conn {
    agent: ureq::Agent,
}

impl Conn {
    fn open() -> Conn {
        let config = ureq::Agent::config_builder()
            // A status is a result to count, not an error.
            .http_status_as_error(false)
            // Loopback: never through a proxy from the environment.
            .proxy(None)
            .max_redirects(0)
            .max_idle_connections(1)
            .max_idle_connections_per_host(1)
            // No stage lasts this long: a stage's connections stay pooled.
            .max_idle_age(Duration::from_secs(600))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build();
        Conn {
            agent: ureq::Agent::new_with_config(config),
        }
    }

    /// Send a request and read the whole response (whatever its framing:
    /// content-length or chunked); the status code.
    fn send(&self, url: &str, request: &Request) -> Result<u16> {
        let mut response = self
            .agent
            .post(url)
            .header("Content-Type", "application/json")
            .header("X-Leadwire-Timestamp", &request.timestamp)
            .header("X-Leadwire-Signature", &request.signature)
            .send(request.body.as_bytes())?;
        // Read to the end, so the connection goes back to the pool.
        std::io::copy(&mut response.body_mut().as_reader(), &mut std::io::sink())?;
        Ok(response.status().as_u16())
    }
}

/// Send `request` on the worker's connection (opening one if it has none);
/// the status, or the error after which the connection is dropped.
fn send(conn: &mut Option<Conn>, url: &str, request: &Request) -> Result<u16> {
    let status = conn.get_or_insert_with(Conn::open).send(url, request);
    if status.is_err() {
        *conn = None;
    }
    status
}

/// What one worker measured: latencies in microseconds, answers, errors (a
/// non-2xx status or a failed request), and when its last answer came.
struct Tally {
    latency: Histogram<u64>,
    ok: u64,
    errors: u64,
    last: Instant,
}

impl Tally {
    fn new(start: Instant) -> Tally {
        Tally {
            latency: latency_histogram(),
            ok: 0,
            errors: 0,
            last: start,
        }
    }

    /// Count a request that was due at `from` and ended now.
    fn count(&mut self, from: Instant, status: &Result<u16>) {
        let now = Instant::now();
        self.latency
            .saturating_record(now.saturating_duration_since(from).as_micros() as u64);
        self.last = self.last.max(now);
        match status {
            Ok(200..=299) => self.ok += 1,
            Ok(_) | Err(_) => self.errors += 1,
        }
    }
}

/// Microseconds from 1 µs to a minute (past a minute, a minute), 3 significant digits.
fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// What one load stage measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stage {
    /// `open 2000/s` or `closed 32 conns`.
    pub label: String,
    /// The offered rate (open loop), else none.
    pub offered: Option<f64>,
    pub sent: u64,
    pub ok: u64,
    pub errors: u64,
    /// Answered requests per second, over the stage.
    pub achieved: f64,
    pub latency: Latency,
    pub seconds: f64,
    /// The stage stopped early: the backlog grew past 2 s of requests.
    pub overloaded: bool,
    /// Server and load generator CPU use over the stage, in cores.
    pub server_cores: f64,
    pub client_cores: f64,
    /// All processes (PostgreSQL's included), in cores.
    #[serde(default)]
    pub machine_cores: f64,
}

impl Stage {
    /// Kept up: answered ≥ 97% of the offered rate, without errors or overload.
    pub fn sustained(&self) -> bool {
        match self.offered {
            Some(rate) => !self.overloaded && self.errors == 0 && self.achieved >= 0.97 * rate,
            None => false,
        }
    }
}

fn client_cpu() -> Duration {
    process_cpu("/proc/self/stat")
}

/// The open loop: request i leaves at `start + i / rate`, on the first free
/// connection; latency counts from that scheduled time.
pub fn open_loop(
    server: &Server,
    requests: &Arc<Requests>,
    rate: f64,
    duration: Duration,
) -> Stage {
    let total = (rate * duration.as_secs_f64()).round() as u64;
    let (tx, rx) = mpsc::channel::<Instant>();
    let rx = Arc::new(Mutex::new(rx));
    let done = Arc::new(AtomicU64::new(0));
    let abort = Arc::new(AtomicBool::new(false));
    let (cpu0, ccpu0, mcpu0) = (server.cpu(), client_cpu(), crate::busy::cpu_jiffies());
    let start = Instant::now() + Duration::from_millis(20);
    let workers: Vec<_> = (0..OPEN_LOOP_CONNECTIONS)
        .map(|_| {
            let (rx, done, abort, requests) =
                (rx.clone(), done.clone(), abort.clone(), requests.clone());
            std::thread::spawn(move || {
                let mut conn: Option<Conn> = None;
                let mut tally = Tally::new(start);
                loop {
                    let due = match rx.lock().unwrap().recv() {
                        Ok(due) => due,
                        Err(_) => break,
                    };
                    if abort.load(Ordering::Relaxed) {
                        continue;
                    }
                    let request = requests.next();
                    let status = send(&mut conn, &requests.url, &request);
                    // From the scheduled time, not the send: no coordinated omission.
                    tally.count(due, &status);
                    done.fetch_add(1, Ordering::Relaxed);
                }
                tally
            })
        })
        .collect();

    let mut sent = 0;
    let mut overloaded = false;
    while sent < total {
        let due = start + Duration::from_secs_f64(sent as f64 / rate);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        // Everything due by now leaves now (a sleep overshoots by ~0.1 ms).
        let now = Instant::now();
        while sent < total {
            let due = start + Duration::from_secs_f64(sent as f64 / rate);
            if due > now {
                break;
            }
            let _ = tx.send(due);
            sent += 1;
        }
        let backlog = sent - done.load(Ordering::Relaxed);
        if backlog as f64 > 2.0 * rate.max(100.0) {
            overloaded = true;
            abort.store(true, Ordering::Relaxed);
            break;
        }
    }
    drop(tx);
    finish(
        format!("open {}/s", crate::stats::thousands(rate as u64)),
        Some(rate),
        start,
        workers,
        overloaded,
        server,
        (cpu0, ccpu0, mcpu0),
    )
}

/// The closed loop: `connections` connections, each sending its next request
/// as soon as the last is answered, for `duration`.
pub fn closed_loop(
    server: &Server,
    requests: &Arc<Requests>,
    connections: usize,
    duration: Duration,
) -> Stage {
    let (cpu0, ccpu0, mcpu0) = (server.cpu(), client_cpu(), crate::busy::cpu_jiffies());
    let start = Instant::now();
    let end = start + duration;
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let requests = requests.clone();
            std::thread::spawn(move || {
                let mut conn: Option<Conn> = None;
                let mut tally = Tally::new(start);
                while Instant::now() < end {
                    let request = requests.next();
                    let sent = Instant::now();
                    let status = send(&mut conn, &requests.url, &request);
                    tally.count(sent, &status);
                    if status.is_err() {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                }
                tally
            })
        })
        .collect();
    finish(
        format!("closed, {connections} connections"),
        None,
        start,
        workers,
        false,
        server,
        (cpu0, ccpu0, mcpu0),
    )
}

fn finish(
    label: String,
    offered: Option<f64>,
    start: Instant,
    workers: Vec<std::thread::JoinHandle<Tally>>,
    overloaded: bool,
    server: &Server,
    (cpu0, ccpu0, mcpu0): (Duration, Duration, (u64, u64)),
) -> Stage {
    let mut all = Tally::new(start);
    for w in workers {
        let t = w.join().expect("load thread");
        all.latency
            .add(&t.latency)
            .expect("histograms of the same bounds");
        all.ok += t.ok;
        all.errors += t.errors;
        all.last = all.last.max(t.last);
    }
    let Tally {
        latency,
        ok,
        errors,
        last,
    } = all;
    let seconds = last
        .saturating_duration_since(start)
        .as_secs_f64()
        .max(1e-9);
    let sent = ok + errors;
    Stage {
        label,
        offered,
        sent,
        ok,
        errors,
        achieved: ok as f64 / seconds,
        latency: Latency::of_micros(&latency),
        seconds,
        overloaded,
        server_cores: (server.cpu() - cpu0).as_secs_f64() / seconds,
        client_cores: (client_cpu().saturating_sub(ccpu0)).as_secs_f64() / seconds,
        machine_cores: crate::busy::cores_between(
            mcpu0,
            crate::busy::cpu_jiffies(),
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        ),
    }
}

/// A PostgreSQL schema of the benchmark's own, dropped afterwards.
pub struct PgSchema {
    base: String,
    schema: String,
    pub url: String,
}

impl PgSchema {
    pub fn create(base: &str) -> Result<PgSchema> {
        let schema = format!("lw_bench_{}", std::process::id());
        let mut client = postgres::Client::connect(base, postgres::NoTls)
            .with_context(|| format!("connect to {base}"))?;
        client.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))?;
        let sep = if base.contains('?') { '&' } else { '?' };
        Ok(PgSchema {
            url: format!("{base}{sep}options=-csearch_path%3D{schema}"),
            base: base.into(),
            schema,
        })
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.base, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::*;

    /// A loopback server that answers every request on the connections it
    /// accepts with a chunked body, the first with 200 and then 503; how many
    /// connections it accepted.
    fn chunked_server(requests: usize) -> (SocketAddr, std::thread::JoinHandle<usize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut answered, mut accepted) = (0, 0);
            while answered < requests {
                let (mut stream, _) = listener.accept().unwrap();
                accepted += 1;
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while answered < requests {
                    // One request: its head, then content-length bytes of body.
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break Some(i + 4);
                        }
                        match stream.read(&mut chunk) {
                            Ok(0) | Err(_) => break None,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let Some(head_end) = head_end else { break };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    while buf.len() < head_end + length {
                        let n = stream.read(&mut chunk).unwrap();
                        assert!(n > 0, "closed mid-body");
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    buf.drain(..head_end + length);
                    let status = if answered == 0 {
                        "200 OK"
                    } else {
                        "503 Service Unavailable"
                    };
                    let answer = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
                         7\r\n{{\"ok\":1\r\n1\r\n}}\r\n0\r\n\r\n"
                    );
                    stream.write_all(answer.as_bytes()).unwrap();
                    answered += 1;
                }
            }
            accepted
        });
        (addr, server)
    }

    #[test]
    fn reads_chunked_answers_on_one_kept_alive_connection() {
        let (addr, server) = chunked_server(3);
        let requests = Requests::new(addr, 2);
        let mut conn = None;
        let mut tally = Tally::new(Instant::now());
        for _ in 0..3 {
            let sent = Instant::now();
            let status = send(&mut conn, &requests.url, &requests.next());
            tally.count(sent, &status);
            assert!(status.is_ok(), "{status:?}");
        }
        assert_eq!((tally.ok, tally.errors, tally.latency.len()), (1, 2, 3));
        assert_eq!(
            server.join().unwrap(),
            1,
            "one connection for three requests"
        );
    }
}
