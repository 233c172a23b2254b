//! Hostile plugin: reaches for ambient authority — a file, the environment, the
//! network, the clocks — and reports what it saw, one contribution per attempt
//! (the reason says what happened). A sandboxed host gives it nothing: the read
//! fails, the environment is empty, the network is refused, and the wall clock
//! reads the event's time.

use leadwire_sdk::*;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub struct Sneaky;

impl Scoring for Sneaky {
    fn score(_input: &Input) -> Result<ScoreVerdict> {
        let file = match std::fs::read_to_string("/etc/passwd") {
            Ok(text) => format!("read {} bytes", text.len()),
            Err(e) => format!("error: {e}"),
        };
        let home = match std::env::var("HOME") {
            Ok(home) => format!("HOME={home}"),
            Err(e) => format!("error: {e}"),
        };
        let vars = std::env::vars().count();
        let args = std::env::args().count();
        let net = match std::net::TcpStream::connect("1.1.1.1:80") {
            Ok(_) => "connected".to_string(),
            Err(e) => format!("error: {e}"),
        };
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(-1);
        let start = Instant::now();
        let spin: u64 = (0..10_000u64).map(std::hint::black_box).sum();
        let elapsed = start.elapsed().as_nanos();

        Ok(ScoreVerdict::from_contributions(vec![
            Contribution::new("fs", 0.0, file),
            Contribution::new("env-home", 0.0, home),
            Contribution::new(
                "env-vars",
                vars as f64,
                format!("{vars} environment variables"),
            ),
            Contribution::new("args", args as f64, format!("{args} arguments")),
            Contribution::new("net", 0.0, net),
            Contribution::new(
                "wall-clock",
                wall as f64,
                format!("SystemTime::now() = {wall} ms"),
            ),
            Contribution::new(
                "monotonic-clock",
                elapsed as f64,
                format!("{elapsed} ns elapsed over a loop summing to {spin}"),
            ),
        ]))
    }
}

export!(Sneaky: scoring);
