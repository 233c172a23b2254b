//! Imports the `state` capability: it counts how many times it scored. Installed
//! without `grants = ["state"]` it must fail to load (`missing-grant`); with the
//! grant, the count goes up by one per call.

use leadwire_sdk::*;

pub struct StateCounter;

impl Scoring for StateCounter {
    fn score(_input: &Input) -> Result<ScoreVerdict> {
        let calls = host::state::increment("calls", 1);
        Ok(ScoreVerdict::from_contributions(vec![Contribution::new(
            "calls",
            calls as f64,
            format!("call number {calls}"),
        )]))
    }
}

export!(StateCounter: scoring);
