//! Hostile plugin: unbounded, non-tail recursion. The host must turn the stack
//! overflow into a `trap`, not crash.

use leadwire_sdk::*;
use std::hint::black_box;

pub struct DeepRecursion;

/// Never terminates on its own: `depth` only grows, and the `+ 1` after the call
/// keeps it from being a tail call; black_box keeps it from being folded away.
#[inline(never)]
fn descend(depth: u64) -> u64 {
    if black_box(depth) == u64::MAX {
        return depth;
    }
    black_box(descend(depth + 1)) + 1
}

impl Scoring for DeepRecursion {
    fn score(_input: &Input) -> Result<ScoreVerdict> {
        let depth = descend(0);
        Ok(ScoreVerdict::from_contributions(vec![Contribution::new(
            "unreachable",
            depth as f64,
            "recursion ended",
        )]))
    }
}

export!(DeepRecursion: scoring);
