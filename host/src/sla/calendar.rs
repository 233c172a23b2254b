//! Business calendars: weekly opening blocks (several a day; a block ending
//! at or past midnight runs into the next day) in an IANA time zone, closed
//! dates (holidays, a rep's out-of-office), and the arithmetic SLA timers
//! need: the instant N working minutes or N working days after another, and
//! the working time between two instants. Blocks are wall-clock times in the
//! zone (resolved across DST as the IANA "compatible" rule does); durations
//! are real elapsed time inside the blocks.

use std::collections::BTreeSet;
use std::time::Duration;

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// A week of opening hours in one zone, with closed dates.
#[derive(Debug, Clone)]
pub struct Calendar {
    zone: TimeZone,
    /// Monday first: (start, end) in minutes from the day's midnight; an end
    /// past 1440 is the next day's.
    week: [Vec<(u32, u32)>; 7],
    closed: BTreeSet<Date>,
}

/// How far the arithmetic looks for opening hours before giving up (a
/// calendar whose dates are all closed).
const HORIZON_DAYS: i64 = 3 * 366;

impl Calendar {
    /// Open every minute of every day, in UTC.
    pub fn always() -> Calendar {
        Calendar {
            zone: TimeZone::UTC,
            week: std::array::from_fn(|_| vec![(0, 1440)]),
            closed: BTreeSet::new(),
        }
    }

    /// `zone` an IANA name; `week` Monday first, each block `HH:MM-HH:MM`
    /// (an end at or before the start runs past midnight); `closed` dates as
    /// `YYYY-MM-DD` (a closed date opens no block, overnight ones included).
    pub fn new(zone: &str, week: [Vec<String>; 7], closed: &[String]) -> Result<Calendar, String> {
        let zone = TimeZone::get(zone)
            .map_err(|e| format!("time zone `{zone}`: {e} (an IANA name such as Europe/Berlin)"))?;
        let mut blocks: [Vec<(u32, u32)>; 7] = Default::default();
        for (day, list) in week.iter().enumerate() {
            for text in list {
                let block = parse_block(text)?;
                blocks[day].push(block);
            }
            blocks[day].sort();
        }
        let mut dates = BTreeSet::new();
        for text in closed {
            dates.insert(parse_date(text)?);
        }
        Ok(Calendar {
            zone,
            week: blocks,
            closed: dates,
        })
    }

    /// The same hours and closed dates in another zone (a rep keeping the
    /// team's hours where they live).
    pub fn in_zone(&self, zone: &str) -> Result<Calendar, String> {
        let zone = TimeZone::get(zone)
            .map_err(|e| format!("time zone `{zone}`: {e} (an IANA name such as Europe/Berlin)"))?;
        Ok(Calendar {
            zone,
            ..self.clone()
        })
    }

    /// These hours with more closed dates (a rep's out-of-office days).
    pub fn with_closed(&self, dates: impl IntoIterator<Item = Date>) -> Calendar {
        let mut c = self.clone();
        c.closed.extend(dates);
        c
    }

    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The opening intervals (as instants) of the blocks starting on local
    /// date `day`, in order; none on a closed date.
    fn intervals_of(&self, day: Date) -> Vec<(Timestamp, Timestamp)> {
        if self.closed.contains(&day) {
            return Vec::new();
        }
        let weekday = day.weekday().to_monday_zero_offset() as usize;
        self.week[weekday]
            .iter()
            .filter_map(|&(start, end)| {
                let at = |minutes: u32| -> Option<Timestamp> {
                    let date = day.checked_add(((minutes / 1440) as i64).days()).ok()?;
                    let m = minutes % 1440;
                    let dt: DateTime = date.at((m / 60) as i8, (m % 60) as i8, 0, 0);
                    Some(
                        self.zone
                            .to_ambiguous_zoned(dt)
                            .compatible()
                            .ok()?
                            .timestamp(),
                    )
                };
                let (a, b) = (at(start)?, at(end)?);
                (b > a).then_some((a, b))
            })
            .collect()
    }

    fn local_date(&self, t: Timestamp) -> Date {
        t.to_zoned(self.zone.clone()).date()
    }

    /// Opening intervals overlapping or after `from`, in order, starting
    /// with the blocks of the day before `from` (one may run past midnight).
    fn intervals_from(&self, from: Timestamp) -> impl Iterator<Item = (Timestamp, Timestamp)> + '_ {
        let first = self
            .local_date(from)
            .checked_sub(1.day())
            .unwrap_or_else(|_| self.local_date(from));
        (0..HORIZON_DAYS)
            .filter_map(move |n| first.checked_add(n.days()).ok())
            .flat_map(move |day| self.intervals_of(day))
            .filter(move |&(_, end)| end > from)
    }

    /// Whether `t` is inside opening hours.
    pub fn is_open(&self, t: Timestamp) -> bool {
        self.intervals_from(t)
            .next()
            .is_some_and(|(start, _)| start <= t)
    }

    /// The first open instant at or after `t` (None: no opening hours within
    /// three years).
    pub fn next_open(&self, t: Timestamp) -> Option<Timestamp> {
        let (start, _) = self.intervals_from(t).next()?;
        Some(start.max(t))
    }

    /// The instant when `working` time inside opening hours has passed since
    /// `from` (None: the calendar has too few opening hours).
    pub fn add(&self, from: Timestamp, working: Duration) -> Option<Timestamp> {
        let mut left = jiff::SignedDuration::try_from(working).ok()?;
        for (start, end) in self.intervals_from(from) {
            let start = start.max(from);
            let here = end.duration_since(start);
            if left <= here {
                return start.checked_add(left).ok();
            }
            left -= here;
        }
        None
    }

    /// The working time between `a` and `b` (zero when `b` is not after `a`).
    pub fn between(&self, a: Timestamp, b: Timestamp) -> Duration {
        let mut total = jiff::SignedDuration::ZERO;
        for (start, end) in self.intervals_from(a) {
            if start >= b {
                break;
            }
            total += end.min(b).duration_since(start.max(a));
        }
        Duration::try_from(total).unwrap_or_default()
    }

    /// `days` working days after `from`: the first open instant at or after
    /// `from`, then the same wall-clock time `days` open dates later (a date
    /// with opening hours, not closed), moved to the next open instant if the
    /// calendar is closed then. Assigned Friday 16:00 on weekday hours, one
    /// working day is Monday 16:00.
    pub fn add_days(&self, from: Timestamp, days: u32) -> Option<Timestamp> {
        let start = self.next_open(from)?;
        let zoned = start.to_zoned(self.zone.clone());
        let (mut date, time) = (zoned.date(), zoned.time());
        let mut counted = 0;
        let mut looked = 0;
        while counted < days {
            date = date.checked_add(1.day()).ok()?;
            looked += 1;
            if looked > HORIZON_DAYS {
                return None;
            }
            if !self.intervals_of(date).is_empty() {
                counted += 1;
            }
        }
        let at = self
            .zone
            .to_ambiguous_zoned(date.to_datetime(time))
            .compatible()
            .ok()?
            .timestamp();
        self.next_open(at)
    }
}

fn parse_clock(text: &str) -> Result<u32, String> {
    let (h, m) = text
        .trim()
        .split_once(':')
        .ok_or_else(|| format!("`{text}`: a time is HH:MM"))?;
    let (h, m): (u32, u32) = (
        h.parse()
            .map_err(|_| format!("`{text}`: a time is HH:MM"))?,
        m.parse()
            .map_err(|_| format!("`{text}`: a time is HH:MM"))?,
    );
    if h > 24 || m > 59 || (h == 24 && m > 0) {
        return Err(format!("`{text}`: hours 00–24, minutes 00–59"));
    }
    Ok(h * 60 + m)
}

/// `HH:MM-HH:MM`; an end at or before the start is the next day's.
fn parse_block(text: &str) -> Result<(u32, u32), String> {
    let (a, b) = text
        .split_once('-')
        .ok_or_else(|| format!("`{text}`: a block is HH:MM-HH:MM (09:00-17:30)"))?;
    let (start, mut end) = (parse_clock(a)?, parse_clock(b)?);
    if start >= 1440 {
        return Err(format!("`{text}`: a block starts before 24:00"));
    }
    if end <= start {
        end += 1440;
    }
    Ok((start, end))
}

pub fn parse_date(text: &str) -> Result<Date, String> {
    text.trim()
        .parse::<Date>()
        .map_err(|e| format!("`{text}`: a date is YYYY-MM-DD ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weekdays(blocks: &[&str]) -> [Vec<String>; 7] {
        let day: Vec<String> = blocks.iter().map(|s| s.to_string()).collect();
        [
            day.clone(),
            day.clone(),
            day.clone(),
            day.clone(),
            day,
            vec![],
            vec![],
        ]
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn hours(h: u64) -> Duration {
        Duration::from_secs(h * 3600)
    }

    #[test]
    fn working_hours_skip_nights_weekends_lunch_and_holidays() {
        let berlin = Calendar::new(
            "Europe/Berlin",
            weekdays(&["09:00-12:30", "13:30-18:00"]),
            &["2026-12-25".into()],
        )
        .unwrap();
        // Thursday 2026-12-24 17:00 CET (16:00Z): one hour that day, the 25th
        // is a holiday, then Friday 09:00–12:30 and 13:30–…
        let assigned = at("2026-12-24T16:00:00Z");
        assert_eq!(
            berlin.add(assigned, hours(1)),
            Some(at("2026-12-24T17:00:00Z"))
        );
        assert_eq!(
            berlin.add(assigned, hours(2)),
            Some(at("2026-12-28T09:00:00Z")),
            "Friday the 25th is closed, the weekend too: Monday 10:00 CET"
        );
        // 1 h Thursday, 3.5 h Monday morning, 0.5 h after lunch: 14:00 CET.
        assert_eq!(
            berlin.add(assigned, hours(5)),
            Some(at("2026-12-28T13:00:00Z"))
        );
        assert_eq!(
            berlin.between(assigned, at("2026-12-28T13:00:00Z")),
            hours(5)
        );
        assert!(!berlin.is_open(at("2026-12-26T10:00:00Z")));
        assert!(berlin.is_open(at("2026-12-28T10:00:00Z")));
        assert!(!berlin.is_open(at("2026-12-28T11:45:00Z")), "lunch");
        assert_eq!(
            berlin.next_open(at("2026-12-26T10:00:00Z")),
            Some(at("2026-12-28T08:00:00Z"))
        );
    }

    #[test]
    fn dst_changes_count_real_time_and_keep_wall_clock_hours() {
        let ny = Calendar::new("America/New_York", weekdays(&["09:00-17:00"]), &[]).unwrap();
        // Friday 2026-03-06 16:00 EST (21:00Z); US clocks go forward on Sunday
        // 2026-03-08. Monday 09:00 is EDT, 13:00Z.
        let friday = at("2026-03-06T21:00:00Z");
        assert_eq!(ny.add(friday, hours(2)), Some(at("2026-03-09T14:00:00Z")));
        assert_eq!(ny.between(friday, at("2026-03-09T14:00:00Z")), hours(2));
        // Europe falls back on 2026-10-25: a block 00:00-04:00 that Sunday
        // lasts 5 real hours.
        let night = Calendar::new(
            "Europe/Berlin",
            [
                vec![],
                vec![],
                vec![],
                vec![],
                vec![],
                vec![],
                vec!["00:00-04:00".into()],
            ],
            &[],
        )
        .unwrap();
        let sunday = at("2026-10-24T22:00:00Z"); // 00:00 CEST
        assert_eq!(
            night.add(sunday, hours(5)),
            Some(at("2026-10-25T03:00:00Z"))
        );
        assert_eq!(night.between(sunday, at("2026-10-26T00:00:00Z")), hours(5));
        // Spring forward (2026-03-29): 00:00-04:00 lasts 3 real hours.
        let spring = at("2026-03-28T23:00:00Z"); // 00:00 CET
        assert_eq!(night.between(spring, at("2026-03-30T00:00:00Z")), hours(3));
    }

    #[test]
    fn overnight_blocks_run_past_midnight() {
        // A night shift Monday to Friday 22:00–06:00, in UTC.
        let nights = Calendar::new("UTC", weekdays(&["22:00-06:00"]), &[]).unwrap();
        // Saturday 03:00 is still Friday's shift.
        assert!(nights.is_open(at("2026-12-05T03:00:00Z")));
        assert!(!nights.is_open(at("2026-12-05T07:00:00Z")));
        // From Friday 23:00, 8 working hours: 7 that night, then Monday 22:00 + 1.
        assert_eq!(
            nights.add(at("2026-12-04T23:00:00Z"), hours(8)),
            Some(at("2026-12-07T23:00:00Z"))
        );
        // A closed Friday opens no shift, not even the part after midnight.
        let closed = nights.with_closed([parse_date("2026-12-04").unwrap()]);
        assert!(!closed.is_open(at("2026-12-05T03:00:00Z")));
    }

    #[test]
    fn working_days_keep_the_time_of_day_and_skip_closed_dates() {
        let team = Calendar::new(
            "Europe/London",
            weekdays(&["09:00-17:00"]),
            &["2026-12-28".into()],
        )
        .unwrap();
        let friday = at("2026-12-04T16:00:00Z"); // 16:00 GMT
        assert_eq!(team.add_days(friday, 1), Some(at("2026-12-07T16:00:00Z")));
        assert_eq!(team.add_days(friday, 3), Some(at("2026-12-09T16:00:00Z")));
        // From Saturday: counting starts at Monday's opening.
        assert_eq!(
            team.add_days(at("2026-12-05T10:00:00Z"), 1),
            Some(at("2026-12-08T09:00:00Z"))
        );
        // Over a holiday Monday.
        assert_eq!(
            team.add_days(at("2026-12-24T10:00:00Z"), 2),
            Some(at("2026-12-29T10:00:00Z"))
        );
    }

    #[test]
    fn a_rep_in_another_zone_keeps_the_hours_where_they_live() {
        let team = Calendar::new("Europe/Berlin", weekdays(&["09:00-17:00"]), &[]).unwrap();
        let tokyo = team.in_zone("Asia/Tokyo").unwrap();
        // 09:00 in Tokyo is 00:00Z.
        assert!(tokyo.is_open(at("2026-12-07T00:30:00Z")));
        assert!(!team.is_open(at("2026-12-07T00:30:00Z")));
        assert!(Calendar::new("Mars/Olympus", weekdays(&[]), &[]).is_err());
        let bad = Calendar::new("UTC", weekdays(&["9-17"]), &[]).unwrap_err();
        assert!(bad.contains("HH:MM"), "{bad}");
        // No opening hours at all: no due time, rather than a loop.
        let never = Calendar::new("UTC", Default::default(), &[]).unwrap();
        assert_eq!(never.add(at("2026-12-07T00:00:00Z"), hours(1)), None);
        assert_eq!(
            Calendar::always().add(at("2026-12-07T00:00:00Z"), hours(30)),
            Some(at("2026-12-08T06:00:00Z"))
        );
    }
}
