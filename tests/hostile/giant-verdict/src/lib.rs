//! Hostile plugin: a valid verdict far over the 64 KiB verdict limit (but well
//! under the memory limit). The host must refuse it with `output-too-large`.

use leadwire_sdk::*;

pub struct GiantVerdict;

/// Contributions in the verdict, each about 150 bytes of JSON: some 300 KB in
/// all. (More contributions would hit the 10M fuel limit first: building and
/// returning one costs the guest about a thousand fuel.)
pub const CONTRIBUTIONS: usize = 2_000;

impl Scoring for GiantVerdict {
    fn score(_input: &Input) -> Result<ScoreVerdict> {
        let contributions = (0..CONTRIBUTIONS)
            .map(|i| Contribution::new(format!("giant-{i}"), 1.0, "padding ".repeat(12)))
            .collect();
        Ok(ScoreVerdict::from_contributions(contributions))
    }
}

export!(GiantVerdict: scoring);
