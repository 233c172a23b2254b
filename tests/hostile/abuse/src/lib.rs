//! Hostile plugin: its config's `mode` picks one way to abuse the host, each
//! one a case the sandbox once failed (issue "Trust"):
//! - `sleep-forever`: blocks on a monotonic-clock pollable for u64::MAX ns, then
//!   sleeps in a loop;
//! - `sleep-3s`: one 3 s sleep, then a verdict;
//! - `alias-verdict`: 500 contributions whose rule and reason all point at one
//!   1 MiB string (a gigabyte if the host copies each);
//! - `log-flood`: 16 MiB to stdout without a newline;
//! - `state-flood`: 64 KiB values under new keys until something stops it;
//! - `host-call-loop`: state gets for ever (each one cheap in fuel);
//! - `long-key`: a state key over the key limit;
//! - `bad-utf8`: a reason that is not UTF-8;
//! - `duplicate-parts`, `empty-part`, `bidi-reason`, `negative-zero`: verdicts the
//!   contract's types allow but the host must refuse or normalise.

use leadwire_sdk::*;
use std::time::Duration;

pub struct Abuse;

fn mode() -> String {
    let json = host::config_json();
    json.split("\"mode\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("")
        .to_string()
}

fn one(rule: &str, points: f64, reason: &str) -> ScoreVerdict {
    ScoreVerdict::from_contributions(vec![Contribution::new(rule, points, reason)])
}

impl Scoring for Abuse {
    fn score(_input: &Input) -> Result<ScoreVerdict> {
        match mode().as_str() {
            "sleep-forever" => {
                std::thread::sleep(Duration::from_nanos(u64::MAX));
                loop {
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
            "sleep-3s" => {
                std::thread::sleep(Duration::from_secs(3));
                Ok(one("slept", 1.0, "slept 3 s"))
            }
            "alias-verdict" => {
                let mut big = "x".repeat(1 << 20).into_bytes();
                let (ptr, len) = (big.as_mut_ptr(), big.len());
                std::mem::forget(big);
                // Every string is the same bytes: building this costs almost
                // no fuel, copying it out would cost the host a gigabyte.
                let alias = || unsafe { String::from_raw_parts(ptr, len, len) };
                let contributions = (0..500)
                    .map(|_| Contribution::new(alias(), 1.0, alias()))
                    .collect();
                Ok(ScoreVerdict::from_contributions(contributions))
            }
            "log-flood" => {
                use std::io::Write;
                let chunk = vec![b'x'; 64 << 10];
                let mut out = std::io::stdout();
                for _ in 0..256 {
                    let _ = out.write_all(&chunk);
                }
                Ok(one("flooded", 1.0, "wrote 16 MiB without a newline"))
            }
            "state-flood" => {
                let value = "v".repeat(64 << 10);
                for i in 0..100_000 {
                    host::state::set(&format!("flood-{i}"), &value);
                }
                Ok(one("flooded", 1.0, "wrote 100,000 keys"))
            }
            "host-call-loop" => loop {
                let _ = host::state::get("k");
            },
            "long-key" => {
                host::state::set(&"k".repeat(10_000), "v");
                Ok(one("long-key", 1.0, "set a 10,000-byte key"))
            }
            "bad-utf8" => {
                let reason = unsafe { String::from_utf8_unchecked(vec![0xff, 0xfe, 0xfd]) };
                Ok(one("bad-utf8", 1.0, &reason))
            }
            "duplicate-parts" => {
                let mut verdict = one("a", 1.0, "a");
                verdict.parts = vec![part("x", 1.0), part("x", 2.0)];
                Ok(verdict)
            }
            "empty-part" => {
                let mut verdict = one("a", 1.0, "a");
                verdict.parts = vec![part("", 1.0)];
                Ok(verdict)
            }
            "bidi-reason" => Ok(one("a", 1.0, "fit \u{202E}evil")),
            "negative-zero" => Ok(one("zero", -0.0, "minus zero points")),
            other => Err(Error::msg(format!("unknown mode `{other}`"))),
        }
    }
}

export!(Abuse: scoring);

fn part(name: &str, value: f64) -> ScorePart {
    ScorePart {
        name: name.into(),
        value,
    }
}
