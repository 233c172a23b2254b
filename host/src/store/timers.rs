//! SLA timers as stored: started with the decision that assigned the lead,
//! ended by the event that shows the owner acted, fired checkpoint by
//! checkpoint by whichever replica claims them first.

use serde::Serialize;

/// A change to a lead's timers, committed with the decision (or event) that
/// caused it.
#[derive(Debug, Clone, PartialEq)]
pub enum TimerChange {
    /// A new timer for `owner`; a pending one of the same policy on the lead
    /// is cancelled (an owner change restarts the timer).
    Start {
        policy: String,
        owner: String,
        started_at: i64,
        /// Each checkpoint's due time (ms since the epoch), in order.
        dues: Vec<i64>,
    },
    /// A watch that fires once at `due` unless restarted: the lead's latest
    /// timer of `policy` started at `since` stands (running or fired);
    /// another `since` (new engagement) cancels a pending one and starts anew.
    Watch {
        policy: String,
        owner: String,
        since: i64,
        due: i64,
    },
    /// The owner acted: the pending timer of `policy` is met.
    Met {
        policy: String,
        how: String,
        at: i64,
        /// The working time from its start on its calendar (for the
        /// time-to-first-touch figures), when known.
        business_ms: Option<i64>,
        /// An activity's time: only a timer whose assignment was decided
        /// before it is met (an activity logged before the lead was assigned
        /// is not the owner acting).
        after: Option<i64>,
    },
    /// Every pending timer of the lead ends (the lead was deleted).
    CancelAll { why: String, at: i64 },
    /// Timer `id` breached at `checkpoint`: committed with the decision its
    /// breach made (the reassignment), so the two happen together or not at
    /// all.
    Breached {
        id: i64,
        checkpoint: usize,
        why: String,
        at: i64,
    },
}

/// A timer as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimerRow {
    pub id: i64,
    pub source: String,
    pub lead_id: String,
    pub policy: String,
    pub owner: String,
    /// The decision that assigned the lead and started the timer.
    pub decision_id: String,
    pub started_at: i64,
    /// Each checkpoint's due time.
    pub dues: Vec<i64>,
    /// When each fired checkpoint fired.
    pub fired: Vec<i64>,
    /// The next checkpoint to fire (== dues.len() when all fired).
    pub checkpoint: usize,
    /// `pending`, `met`, `breached` or `cancelled`.
    pub state: String,
    /// When it ended, and how (`hs_lead_status = IN_PROGRESS`, "reassigned").
    pub ended_at: Option<i64>,
    pub note: Option<String>,
    /// Met: the working time it took, on its calendar.
    pub business_ms: Option<i64>,
}

impl TimerRow {
    /// When the next checkpoint is due.
    pub fn due_at(&self) -> Option<i64> {
        self.dues.get(self.checkpoint).copied()
    }
}

/// How a fired checkpoint leaves its timer.
#[derive(Debug, Clone, PartialEq)]
pub enum Fired {
    /// A warning: the timer runs on to the next checkpoint.
    Warned,
    /// A breach: the timer ends (`breached`), with why.
    Breached(String),
}

/// Time-to-first-touch buckets, in seconds: a minute to a week.
pub const TOUCH_BUCKETS: [i64; 12] = [
    60, 300, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400, 172_800, 259_200, 604_800,
];

/// The SLA figures every timer adds up to, for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlaFigures {
    /// (policy, state) → timers.
    pub timers: Vec<(String, String, u64)>,
    /// Per policy, the met timers' time to first touch, by clock.
    pub touch: Vec<TouchFigures>,
}

/// Met timers of one policy: how many took at most each of
/// [`TOUCH_BUCKETS`], in all, and their total, raw and in working time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TouchFigures {
    pub policy: String,
    pub raw: Vec<u64>,
    pub business: Vec<u64>,
    pub count: u64,
    pub raw_sum_ms: i64,
    pub business_sum_ms: i64,
}

/// The SQL both backends count the figures with, one row per policy:
/// policy, count, the raw buckets and sum, the business buckets and sum
/// (numbers as `int`, the backend's 64-bit integer type).
pub fn touch_query(int: &str) -> String {
    let mut numbers = vec!["count(*)".to_string()];
    // Timers met before working time was recorded count their raw time.
    for clock in [
        "ended_at - started_at",
        "COALESCE(business_ms, ended_at - started_at)",
    ] {
        for b in TOUCH_BUCKETS {
            numbers.push(format!(
                "SUM(CASE WHEN {clock} <= {} THEN 1 ELSE 0 END)",
                b * 1000
            ));
        }
        numbers.push(format!("SUM({clock})"));
    }
    let numbers: Vec<String> = numbers
        .iter()
        .map(|n| format!("CAST({n} AS {int})"))
        .collect();
    format!(
        "SELECT policy, {} FROM sla_timers WHERE state = 'met' GROUP BY policy ORDER BY policy",
        numbers.join(", ")
    )
}

/// [`TouchFigures`] from one row of [`touch_query`]'s numbers.
pub fn touch_figures(policy: String, numbers: &[i64]) -> TouchFigures {
    let n = TOUCH_BUCKETS.len();
    let count = |x: i64| u64::try_from(x).unwrap_or(0);
    TouchFigures {
        policy,
        count: count(numbers[0]),
        raw: numbers[1..=n].iter().map(|x| count(*x)).collect(),
        raw_sum_ms: numbers[n + 1],
        business: numbers[n + 2..=2 * n + 1]
            .iter()
            .map(|x| count(*x))
            .collect(),
        business_sum_ms: numbers[2 * n + 2],
    }
}
