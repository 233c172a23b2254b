//! A progress bar on stderr when it is a terminal: share of the input read,
//! rows, rate and ETA. Hidden (and free) when stderr is a file or a pipe.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: ProgressBar,
    bytes_read: Arc<AtomicU64>,
}

impl Progress {
    pub fn new(total_bytes: u64, bytes_read: Arc<AtomicU64>, verb: &str) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
        // The template is fixed text: it cannot fail to parse.
        if let Ok(style) = ProgressStyle::with_template(
            "{prefix} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg} ETA {eta}",
        ) {
            bar.set_style(style);
        }
        bar.set_prefix(verb.to_string());
        bar.enable_steady_tick(Duration::from_millis(250));
        Progress { bar, bytes_read }
    }

    /// After each row: the bar follows the bytes read, the message the rows.
    pub fn row(&self, rows: u64) {
        if !rows.is_multiple_of(1024) || self.bar.is_hidden() {
            return;
        }
        self.bar
            .set_position(self.bytes_read.load(Ordering::Relaxed));
        let rate = rows as f64 / self.bar.elapsed().as_secs_f64().max(1e-3);
        self.bar
            .set_message(format!("{rows} rows, {rate:.0} rows/s"));
    }

    pub fn println(&self, line: &str) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
