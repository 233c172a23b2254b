//! Constructors for verdicts, so plugins say what they mean in one line.

use crate::types::*;

impl Contribution {
    pub fn new(rule: impl Into<String>, points: f64, reason: impl Into<String>) -> Self {
        Contribution {
            rule: rule.into(),
            points,
            reason: reason.into(),
        }
    }
}

impl ScoreVerdict {
    /// A score that is the sum of its contributions, with no grade.
    pub fn from_contributions(contributions: Vec<Contribution>) -> Self {
        ScoreVerdict {
            value: contributions.iter().map(|c| c.points).sum(),
            grade: None,
            parts: Vec::new(),
            contributions,
        }
    }
}

impl Segment {
    pub fn new(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Segment {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

impl RouteVerdict {
    pub fn assign(
        owner: impl Into<String>,
        team: Option<String>,
        rule: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        RouteVerdict {
            route: Route::Assign(Assignment {
                owner: owner.into(),
                team,
                rule: rule.into(),
                reason: reason.into(),
            }),
            candidates: Vec::new(),
        }
    }

    pub fn unrouted(reason: impl Into<String>) -> Self {
        RouteVerdict {
            route: Route::Unrouted(reason.into()),
            candidates: Vec::new(),
        }
    }

    pub fn with_candidates(mut self, candidates: Vec<Candidate>) -> Self {
        self.candidates = candidates;
        self
    }
}

impl Candidate {
    pub fn new(rep: impl Into<String>, chosen: bool, reason: impl Into<String>) -> Self {
        Candidate {
            rep: rep.into(),
            chosen,
            reason: reason.into(),
        }
    }
}
