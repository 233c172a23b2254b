//! Timing samples and their summary.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
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
}

/// A load stage's latencies, from an HdrHistogram of microseconds (so to
/// 3 significant digits), in nanoseconds. Results saved before p90 and p99.9
/// were measured read with `median_ns` as p50 and none for those two.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Latency {
    pub n: u64,
    #[serde(alias = "median_ns")]
    pub p50_ns: u64,
    #[serde(default)]
    pub p90_ns: Option<u64>,
    pub p99_ns: u64,
    #[serde(default)]
    pub p999_ns: Option<u64>,
    pub max_ns: u64,
}

impl Latency {
    pub fn of_micros(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let ns = |us: u64| us.saturating_mul(1000);
        let at = |q: f64| ns(h.value_at_quantile(q));
        Latency {
            n: h.len(),
            p50_ns: at(0.5),
            p90_ns: Some(at(0.9)),
            p99_ns: at(0.99),
            p999_ns: Some(at(0.999)),
            max_ns: ns(h.max()),
        }
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

pub use leadwire::lab::numbers::thousands;

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

    #[test]
    fn latency_percentiles_come_from_the_histogram() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
        for us in 1..=10_000 {
            h.record(us).unwrap();
        }
        let l = Latency::of_micros(&h);
        assert_eq!(l.n, 10_000);
        // Within HdrHistogram's 3 significant digits of the order statistics.
        let near = |got: u64, want_us: u64| {
            let want = want_us * 1000;
            assert!(got.abs_diff(want) <= want / 1000, "{got} vs {want}");
        };
        near(l.p50_ns, 5_000);
        near(l.p90_ns.unwrap(), 9_000);
        near(l.p99_ns, 9_900);
        near(l.p999_ns.unwrap(), 9_990);
        near(l.max_ns, 10_000);
        assert!(Latency::of_micros(&Histogram::new(3).unwrap()).n == 0);
    }

    #[test]
    fn latency_reads_results_saved_before_hdrhistogram() {
        let old =
            r#"{"n": 3, "min_ns": 1, "median_ns": 2, "mean_ns": 2, "p99_ns": 3, "max_ns": 3}"#;
        let l: Latency = serde_json::from_str(old).unwrap();
        assert_eq!(
            (l.p50_ns, l.p90_ns, l.p99_ns, l.p999_ns),
            (2, None, 3, None)
        );
    }
}
