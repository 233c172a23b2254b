//! Hostile plugin: logs far more than the 4 KiB per-call log limit, through the
//! `log` capability and through stdout and stderr. The host must truncate the log
//! (and say so) and still accept the verdict. With `then_panic = true` in its
//! config it panics after logging, to show a panic message survives a full log.

use leadwire_sdk::*;

pub struct Noisy;

/// Lines written to each of the log capability, stdout and stderr.
pub const LINES: usize = 100;

impl Scoring for Noisy {
    fn score(_input: &Input) -> Result<ScoreVerdict> {
        let padding = "x".repeat(80);
        for i in 0..LINES {
            host::log(host::Level::Info, &format!("log line {i} {padding}"));
        }
        for i in 0..LINES {
            println!("stdout line {i} {padding}");
            eprintln!("stderr line {i} {padding}");
        }
        if host::config_json().contains("\"then_panic\":true") {
            panic!("noisy-panic: logged too much and then gave up");
        }
        Ok(ScoreVerdict::from_contributions(vec![Contribution::new(
            "noisy",
            7.0,
            "logged a lot, scored anyway",
        )]))
    }
}

export!(Noisy: scoring);
