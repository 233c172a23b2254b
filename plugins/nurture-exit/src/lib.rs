//! nurture-exit: a prebuilt nurture plugin configured entirely in TOML. It
//! decides whether a lead leaves nurture, and how.
//!
//! Precedence, first that applies wins:
//! 1. **Disqualify**: hard bounce, unsubscribe or opt-out, not a fit (a segment
//!    or a field rule). A lead that cannot be emailed or will never buy goes
//!    nowhere else, whatever its score.
//! 2. **Recycle**: sales rejected the lead (`rejected` event, reason kept), or
//!    its status field says so (`hs_lead_status = BAD_TIMING`). This beats an
//!    exit, so a rejected lead does not bounce straight back to sales.
//!    A rejection whose reason matches `disqualify_rejections_containing`
//!    disqualifies instead.
//! 3. **Exit to sales**: sales-qualified stage, score threshold, booked meeting.
//!    Every signal that fired is in the reason.
//! 4. **Maximum age**: too long in nurture → disqualify or recycle (`on_max_age`).
//!    A fresh exit signal beats age: an old lead that just booked a meeting goes to sales.
//! 5. **Enroll** in the track of the lead's segment.
//! 6. **Stay**, with why each exit signal did not fire.

mod age;
mod config;
mod disqualify;
mod enroll;
mod exit;
mod lookup;
mod recycle;

use leadwire_sdk::*;

use config::{Config, OnMaxAge};

pub struct NurtureExit;

impl Nurture for NurtureExit {
    fn evaluate(input: &Input) -> Result<NurtureVerdict> {
        host::with_config(&CONFIG, Config::load, |config| evaluate_with(config, input))
    }
}

static CONFIG: std::sync::OnceLock<Config> = std::sync::OnceLock::new();

fn evaluate_with(config: &Config, input: &Input) -> Result<NurtureVerdict> {
    let out = disqualify::reasons(&config.disqualify, input);
    if !out.is_empty() {
        return Ok(NurtureVerdict::Disqualify(out.join("; ")));
    }

    match recycle::check(&config.recycle, input) {
        Some(recycle::Outcome::Recycle(why)) => return Ok(NurtureVerdict::Recycle(why)),
        Some(recycle::Outcome::Disqualify(why)) => return Ok(NurtureVerdict::Disqualify(why)),
        None => {}
    }

    let mut notes = match exit::check(&config.exit, input) {
        exit::Outcome::Exit(why) => return Ok(NurtureVerdict::ExitToSales(why)),
        exit::Outcome::NotYet(notes) => notes,
    };

    match age::check(config, input) {
        age::Outcome::Expired(why) => {
            return Ok(match config.on_max_age {
                OnMaxAge::Disqualify => NurtureVerdict::Disqualify(why),
                OnMaxAge::Recycle => NurtureVerdict::Recycle(why),
            });
        }
        age::Outcome::Within(note) => notes.extend(note),
    }

    match enroll::check(&config.enroll, input) {
        Some(enroll::Outcome::Enroll(enrollment)) => {
            return Ok(NurtureVerdict::Enroll(enrollment));
        }
        Some(enroll::Outcome::AlreadyIn(note)) => notes.push(note),
        None => {}
    }

    Ok(NurtureVerdict::Stay(if notes.is_empty() {
        "stays in nurture: no exit rule is configured".into()
    } else {
        format!("stays in nurture: {}", notes.join("; "))
    }))
}

export!(NurtureExit: nurture, init = preload);

/// Run once per install by the host, which snapshots the result: fresh
/// instances start with the config parsed.
fn preload() {
    host::preload(&CONFIG, Config::load)
}

#[cfg(test)]
mod tests;
