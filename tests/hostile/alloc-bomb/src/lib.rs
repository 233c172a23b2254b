//! Hostile plugin: hoards 1 MiB chunks until the allocator fails. The host must
//! refuse to grow its memory past the limit and report `memory-limit`.

use leadwire_sdk::*;
use std::hint::black_box;

const CHUNK: usize = 1 << 20;

pub struct AllocBomb;

impl Scoring for AllocBomb {
    fn score(_input: &Input) -> Result<ScoreVerdict> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            // with_capacity + one write: the memory is really requested (memory.grow)
            // without spending fuel on zeroing it.
            let mut chunk = Vec::with_capacity(CHUNK);
            chunk.push(hoard.len() as u8);
            hoard.push(black_box(chunk));
            black_box(&hoard);
        }
    }
}

export!(AllocBomb: scoring);
