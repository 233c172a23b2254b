//! Hostile plugin: never returns. The host must stop it with fuel
//! (`fuel-exhausted`) or, when fuel is unlimited, with the wall-clock deadline
//! (`timeout`).

use leadwire_sdk::*;
use std::hint::black_box;

pub struct InfiniteLoop;

impl Scoring for InfiniteLoop {
    fn score(_input: &Input) -> Result<ScoreVerdict> {
        let mut n: u64 = 0;
        loop {
            // black_box: the loop has an observable body, so it is not removed.
            n = black_box(n.wrapping_add(1));
        }
    }
}

export!(InfiniteLoop: scoring);
