//! Hostile plugin: panics. The panic's message must reach the decision record in
//! the step's `trap` error.

use leadwire_sdk::*;

pub struct Panicker;

/// What the test looks for in the decision.
pub const MESSAGE: &str = "hostile-panic: the flux capacitor melted";

impl Scoring for Panicker {
    fn score(input: &Input) -> Result<ScoreVerdict> {
        panic!("{MESSAGE} while scoring lead {}", input.lead.id);
    }
}

export!(Panicker: scoring);
