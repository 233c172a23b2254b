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
    /// The owner acted: the pending timer of `policy` is met.
    Met {
        policy: String,
        how: String,
        at: i64,
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
