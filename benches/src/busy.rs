//! How busy the machine was while each benchmark ran: CPU in use (all
//! processes) and whether a compiler (rustc) was running, sampled in the
//! background. On a shared 2-core machine, a figure means little without it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Busy jiffies and total jiffies of all CPUs, from /proc/stat.
pub fn cpu_jiffies() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else {
        return (0, 0);
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// Cores in use on average between two `cpu_jiffies` readings.
pub fn cores_between(a: (u64, u64), b: (u64, u64), cores: usize) -> f64 {
    let (busy, total) = (b.0.saturating_sub(a.0), b.1.saturating_sub(a.1));
    if total == 0 {
        0.0
    } else {
        busy as f64 / total as f64 * cores as f64
    }
}

/// rustc processes running now.
pub fn compilers() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter(|e| {
            std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == "rustc")
        })
        .count()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SectionLoad {
    pub section: String,
    pub seconds: f64,
    /// Cores in use on average, all processes (the benchmark's own included).
    pub machine_cores: f64,
    /// Share of the section's samples during which a rustc was running.
    pub compiler_share: f64,
}

/// Samples `compilers()` four times a second until dropped.
pub struct Sampler {
    samples: Arc<Mutex<Vec<(Instant, usize)>>>,
    stop: Arc<AtomicBool>,
    cores: usize,
}

impl Sampler {
    pub fn start(cores: usize) -> Sampler {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (samples.clone(), stop.clone());
        std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                let n = compilers();
                s.lock().unwrap().push((Instant::now(), n));
                std::thread::sleep(Duration::from_millis(250));
            }
        });
        Sampler {
            samples,
            stop,
            cores,
        }
    }

    /// The start of a section.
    pub fn begin(&self) -> Mark {
        Mark {
            start: Instant::now(),
            cpu: cpu_jiffies(),
        }
    }

    /// How busy the machine was since `mark`.
    pub fn end(&self, mark: Mark, name: &str) -> SectionLoad {
        let (end, cpu1) = (Instant::now(), cpu_jiffies());
        let samples = self.samples.lock().unwrap();
        let within: Vec<_> = samples
            .iter()
            .filter(|(t, _)| *t >= mark.start && *t <= end)
            .collect();
        let with = within.iter().filter(|(_, n)| *n > 0).count();
        SectionLoad {
            section: name.into(),
            seconds: (end - mark.start).as_secs_f64(),
            machine_cores: cores_between(mark.cpu, cpu1, self.cores),
            compiler_share: if within.is_empty() {
                0.0
            } else {
                with as f64 / within.len() as f64
            },
        }
    }
}

pub struct Mark {
    start: Instant,
    cpu: (u64, u64),
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
