//! Gives back what the host sent: one contribution whose reason is the input
//! as the SDK decoded it (contract 0.2.0, the encoded input), in its Debug
//! form. `guest-echo-v0-1` does the same through contract 0.1.0 (typed
//! records): the two must agree on every input.

use leadwire_sdk::*;

pub struct Echo;

impl Scoring for Echo {
    fn score(input: &Input) -> Result<ScoreVerdict> {
        Ok(ScoreVerdict::from_contributions(vec![Contribution::new(
            "echo",
            0.0,
            &format!("{input:?}"),
        )]))
    }
}

export!(Echo: scoring);
