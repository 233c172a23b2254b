//! Test plugin with a start-up the host pre-initialises: `init` sets a counter
//! to the config's `start`; each call adds one and scores the counter. A fresh
//! instance of the snapshot always scores `start + 1` (initialised, and no
//! call sees another's); a warm instance counts on; an instance that never ran
//! `init` scores 1. `misbehave` makes `init` itself hostile: `loop`, `alloc`
//! (without end) or `panic`.

use std::sync::atomic::{AtomicU64, Ordering};

use leadwire_sdk::*;

pub struct InitCounter;

static COUNTER: AtomicU64 = AtomicU64::new(0);

#[derive(serde::Deserialize)]
struct Config {
    start: u64,
    #[serde(default)]
    misbehave: Option<String>,
}

impl Scoring for InitCounter {
    fn score(_input: &Input) -> Result<ScoreVerdict> {
        let value = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(ScoreVerdict::from_contributions(vec![Contribution::new(
            "counter",
            value as f64,
            "calls counted from the snapshot's start",
        )]))
    }
}

fn init() {
    let Ok(config) = host::config::<Config>() else {
        return;
    };
    match config.misbehave.as_deref() {
        Some("loop") => {
            let mut n = 0u64;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        Some("alloc") => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        Some("panic") => panic!("hostile-init: the start-up gave up"),
        _ => COUNTER.store(config.start, Ordering::Relaxed),
    }
}

export!(InitCounter: scoring, init = init);
