//! The maximum time in nurture, counted from a date field (`nurture_entered_at`
//! by default) or, when that is empty, the lead's creation.

use leadwire_sdk::{DAY_MS, Input, Value};

use crate::config::Config;
use crate::lookup::days_between;

pub enum Outcome {
    /// Over the limit, with the reason.
    Expired(String),
    /// Within it (or no limit/no date), with a note for the "stay" reason.
    Within(Option<String>),
}

pub fn check(config: &Config, input: &Input) -> Outcome {
    let Some(max) = config.max_days_in_nurture else {
        return Outcome::Within(None);
    };
    let field = &config.nurture_entered_field;
    let since = match input.lead.get(field).and_then(time) {
        Some(at) => Some((at, field.as_str())),
        None => input.lead.created_at.map(|at| (at, "created_at")),
    };
    let Some((since, from)) = since else {
        return Outcome::Within(Some(format!(
            "no {field} or created_at: max age not checked"
        )));
    };
    let days = days_between(since, input.now());
    if days > i64::from(max) {
        Outcome::Expired(format!(
            "{days} days in nurture (since {from}), over the {max}-day maximum"
        ))
    } else {
        Outcome::Within(Some(format!("day {days} of {max} in nurture")))
    }
}

/// A time: milliseconds since the epoch (a time, a number or integer text), or
/// an ISO 8601 date or date-time such as `2025-06-01` or `2025-06-01T09:30:00+02:00`.
pub fn time(value: &Value) -> Option<i64> {
    value
        .as_time()
        .or_else(|| value.as_text().and_then(|t| iso(t.trim())))
}

fn digits(s: &str, range: std::ops::Range<usize>) -> Option<i64> {
    let part = s.get(range)?;
    part.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| part.parse().ok())?
}

fn iso(s: &str) -> Option<i64> {
    let (y, m, d) = (digits(s, 0..4)?, digits(s, 5..7)?, digits(s, 8..10)?);
    if s.get(4..5)? != "-"
        || s.get(7..8)? != "-"
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
    {
        return None;
    }
    let mut at = days_from_civil(y, m, d) * DAY_MS;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(at);
    }
    if !rest.starts_with(['T', 't', ' ']) {
        return None;
    }
    let (h, min) = (digits(rest, 1..3)?, digits(rest, 4..6)?);
    if rest.get(3..4)? != ":" || h > 23 || min > 59 {
        return None;
    }
    at += (h * 60 + min) * 60_000;
    let mut zone = &rest[6..];
    if let Some(secs) = zone.strip_prefix(':') {
        at += digits(secs, 0..2).filter(|s| *s < 61)? * 1000;
        zone = secs[2..].trim_start_matches(|c: char| c == '.' || c == ',' || c.is_ascii_digit());
    }
    match zone {
        "" | "Z" | "z" => Some(at),
        _ => {
            let sign = match zone.get(0..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let off = zone.get(1..)?.replace(':', "");
            let (oh, om) = (
                digits(&off, 0..2)?,
                if off.len() == 2 {
                    0
                } else {
                    digits(&off, 2..4)?
                },
            );
            if off.len() != 2 && off.len() != 4 {
                return None;
            }
            Some(at - sign * (oh * 60 + om) * 60_000)
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadwire_sdk::testing::NOW;

    #[test]
    fn times_are_epoch_millis_or_iso_dates() {
        assert_eq!(time(&Value::Time(NOW)), Some(NOW));
        assert_eq!(time(&NOW.to_string().into()), Some(NOW));
        assert_eq!(time(&"2026-01-15".into()), Some(NOW - 12 * 3_600_000));
        assert_eq!(time(&"2026-01-15T12:00:00Z".into()), Some(NOW));
        assert_eq!(time(&"2026-01-15T12:00:00.250Z".into()), Some(NOW));
        assert_eq!(time(&"2026-01-15 12:00".into()), Some(NOW));
        assert_eq!(time(&"2026-01-15T14:00:00+02:00".into()), Some(NOW));
        assert_eq!(time(&"2026-01-15T07:00:00-0500".into()), Some(NOW));
        assert_eq!(time(&"1970-01-01".into()), Some(0));
        assert_eq!(time(&"2024-02-29".into()), Some(1_709_164_800_000));
    }

    #[test]
    fn garbage_is_not_a_time() {
        for bad in [
            "",
            "soon",
            "2026-13-01",
            "2026-1-5",
            "2026-01-15T25:00",
            "2026-01-15Tnoon",
            "2026-01-15T12:00+2",
        ] {
            assert_eq!(time(&bad.into()), None, "{bad}");
        }
        assert_eq!(time(&Value::Null), None);
    }
}
