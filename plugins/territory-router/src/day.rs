//! The UTC calendar day of an event, for per-day caps. No clock: "today" is the
//! day of `event.at`.

use leadwire_sdk::DAY_MS;

/// `yyyy-mm-dd` of a time in milliseconds since the epoch (UTC).
pub fn date(at_ms: i64) -> String {
    let (y, m, d) = civil_from_days(at_ms.div_euclid(DAY_MS));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadwire_sdk::testing::NOW;

    #[test]
    fn dates_are_utc_days() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(NOW), "2026-01-15");
        assert_eq!(date(NOW + 12 * 3_600_000 - 1), "2026-01-15");
        assert_eq!(date(NOW + 12 * 3_600_000), "2026-01-16");
        assert_eq!(date(-1), "1969-12-31");
        // 2024-02-29, a leap day.
        assert_eq!(date(1_709_164_800_000), "2024-02-29");
        assert_eq!(date(1_709_164_800_000 + DAY_MS), "2024-03-01");
    }
}
