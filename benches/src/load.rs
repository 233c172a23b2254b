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

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use leadwire::lab::generate::Generator;
use serde::{Deserialize, Serialize};

use crate::stats::Summary;

pub const SECRET: &str = "leadwire-bench-secret";
const SECRET_ENV: &str = "LEADWIRE_BENCH_SECRET";
const MARKER: &str = "LWBENCHID";
/// Distinct lead templates; each request fills in a unique id.
const TEMPLATES: u64 = 4096;
/// Connections (one thread each) the open-loop generator may use.
const OPEN_LOOP_CONNECTIONS: usize = 64;

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
pub fn write_config(dir: &Path, plugins_dir: &Path, store_url: &str) -> Result<PathBuf> {
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
    let path = dir.join(format!("serve-{}.toml", std::process::id()));
    std::fs::write(&path, text)?;
    Ok(path)
}

/// Requests: generated leads as `generic` bodies, each with a unique lead and
/// event id, signed when sent.
pub struct Requests {
    templates: Vec<(String, String, String)>,
    next: AtomicU64,
    host: String,
    run: String,
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
            host: addr.to_string(),
            run: format!("{:x}", std::process::id()),
        }
    }

    /// The next request's bytes: a fresh lead id and event id, signed now.
    pub fn next(&self) -> Vec<u8> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let (a, b, c) = &self.templates[(n % self.templates.len() as u64) as usize];
        let id = format!("b{}-{n}", self.run);
        let mut body = String::with_capacity(a.len() + b.len() + c.len() + 2 * id.len());
        body.push_str(a);
        body.push_str(&id);
        body.push_str(b);
        body.push_str(&id);
        body.push_str(c);
        let ts = chrono::Utc::now().timestamp().to_string();
        let sig = leadwire::adapters::generic::sign(SECRET, &ts, body.as_bytes());
        let mut req = format!(
            "POST /hooks/bench HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-Leadwire-Timestamp: {ts}\r\nX-Leadwire-Signature: {sig}\r\n\r\n",
            self.host,
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(body.as_bytes());
        req
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

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(addr: SocketAddr) -> Result<Conn> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(16 << 10),
        })
    }

    /// Send a request, read the whole response; the status code.
    fn send(&mut self, request: &[u8]) -> Result<u16> {
        self.stream.write_all(request)?;
        self.buf.clear();
        let mut chunk = [0u8; 16 << 10];
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                bail!("connection closed");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = std::str::from_utf8(&self.buf[..head_end])?;
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("bad status line"))?;
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .ok_or_else(|| anyhow!("no content-length"))?;
        while self.buf.len() < head_end + length {
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                bail!("connection closed mid-body");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        Ok(status)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
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
    pub latency: Summary,
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
            let addr = server.addr;
            std::thread::spawn(move || {
                let mut conn: Option<Conn> = None;
                let mut lat = Vec::new();
                let (mut ok, mut errors, mut last) = (0u64, 0u64, start);
                loop {
                    let due = match rx.lock().unwrap().recv() {
                        Ok(due) => due,
                        Err(_) => break,
                    };
                    if abort.load(Ordering::Relaxed) {
                        continue;
                    }
                    let request = requests.next();
                    let status = (|| -> Result<u16> {
                        if conn.is_none() {
                            conn = Some(Conn::open(addr)?);
                        }
                        conn.as_mut().expect("open").send(&request)
                    })();
                    let now = Instant::now();
                    lat.push(now.duration_since(due).as_nanos() as u64);
                    last = last.max(now);
                    match status {
                        Ok(200) => ok += 1,
                        Ok(_) => errors += 1,
                        Err(_) => {
                            errors += 1;
                            conn = None;
                        }
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
                (lat, ok, errors, last)
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
            let addr = server.addr;
            std::thread::spawn(move || {
                let mut conn: Option<Conn> = None;
                let mut lat = Vec::new();
                let (mut ok, mut errors, mut last) = (0u64, 0u64, start);
                while Instant::now() < end {
                    let request = requests.next();
                    let sent = Instant::now();
                    let status = (|| -> Result<u16> {
                        if conn.is_none() {
                            conn = Some(Conn::open(addr)?);
                        }
                        conn.as_mut().expect("open").send(&request)
                    })();
                    let now = Instant::now();
                    lat.push(now.duration_since(sent).as_nanos() as u64);
                    last = last.max(now);
                    match status {
                        Ok(200) => ok += 1,
                        Ok(_) => errors += 1,
                        Err(_) => {
                            errors += 1;
                            conn = None;
                            std::thread::sleep(Duration::from_millis(10));
                        }
                    }
                }
                (lat, ok, errors, last)
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

type WorkerResult = (Vec<u64>, u64, u64, Instant);

fn finish(
    label: String,
    offered: Option<f64>,
    start: Instant,
    workers: Vec<std::thread::JoinHandle<WorkerResult>>,
    overloaded: bool,
    server: &Server,
    (cpu0, ccpu0, mcpu0): (Duration, Duration, (u64, u64)),
) -> Stage {
    let mut all = Vec::new();
    let (mut ok, mut errors, mut last) = (0, 0, start);
    for w in workers {
        let (lat, o, e, l) = w.join().expect("load thread");
        all.extend(lat);
        ok += o;
        errors += e;
        last = last.max(l);
    }
    let seconds = last
        .saturating_duration_since(start)
        .as_secs_f64()
        .max(1e-9);
    let sent = all.len() as u64;
    Stage {
        label,
        offered,
        sent,
        ok,
        errors,
        achieved: ok as f64 / seconds,
        latency: Summary::of(all),
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
