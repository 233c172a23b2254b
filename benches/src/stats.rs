//! Timing samples and their summary.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// A distribution of durations, in nanoseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub min_ns: u64,
    pub median_ns: u64,
    pub mean_ns: u64,
    pub p99_ns: u64,
    pub max_ns: u64,
}

impl Summary {
    pub fn of(mut ns: Vec<u64>) -> Summary {
        if ns.is_empty() {
            return Summary::default();
        }
        ns.sort_unstable();
        let n = ns.len();
        let at = |q: f64| ns[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        Summary {
            n,
            min_ns: ns[0],
            median_ns: at(0.5),
            mean_ns: (ns.iter().map(|&x| x as u128).sum::<u128>() / n as u128) as u64,
            p99_ns: at(0.99),
            max_ns: ns[n - 1],
        }
    }

    pub fn median_us(&self) -> f64 {
        self.median_ns as f64 / 1e3
    }
    pub fn p99_us(&self) -> f64 {
        self.p99_ns as f64 / 1e3
    }
}

/// Run `f` `warmup` times, then `iters` times timing each call.
pub fn time_each(warmup: usize, iters: usize, mut f: impl FnMut(usize)) -> Summary {
    for i in 0..warmup {
        f(i);
    }
    let mut ns = Vec::with_capacity(iters);
    for i in 0..iters {
        let start = Instant::now();
        f(i);
        ns.push(start.elapsed().as_nanos() as u64);
    }
    Summary::of(ns)
}

/// Microseconds, for tables: `12.3 µs`, `1,234 µs`.
pub fn us(ns: u64) -> String {
    let us = ns as f64 / 1e3;
    if us < 100.0 {
        format!("{us:.1} µs")
    } else {
        format!("{} µs", thousands(us.round() as u64))
    }
}

/// Milliseconds from nanoseconds: `0.84 ms`.
pub fn ms(ns: u64) -> String {
    let ms = ns as f64 / 1e6;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_order_statistics() {
        let s = Summary::of((1..=100).collect());
        assert_eq!(
            (s.min_ns, s.median_ns, s.p99_ns, s.max_ns),
            (1, 50, 99, 100)
        );
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
