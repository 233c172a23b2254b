//! # leadwire-sdk
//!
//! Write leadwire plugins in Rust. A plugin is a type implementing one or more of
//! the role traits ([`Scoring`], [`Segmentation`], [`Routing`], [`Nurture`]),
//! exported with [`export!`]:
//!
//! ```ignore
//! use leadwire_sdk::*;
//!
//! struct TitleScorer;
//!
//! impl Scoring for TitleScorer {
//!     fn score(input: &Input) -> Result<ScoreVerdict> {
//!         let vp = input.lead.text("jobtitle").is_some_and(|t| t.contains("VP"));
//!         Ok(ScoreVerdict::from_contributions(vec![
//!             Contribution::new("vp-title", if vp { 20.0 } else { 0.0 }, "job title contains VP"),
//!         ]))
//!     }
//! }
//!
//! export!(TitleScorer: scoring);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2`; test the logic
//! natively with plain `cargo test` and [`testing::FakeHost`].

#[cfg(all(target_arch = "wasm32", feature = "arena"))]
mod alloc;
mod decode;
mod error;
pub mod host;
mod lead;
mod verdicts;

#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

// The WIT (`wit/v0.2.0`) lives in leadwire-sdk-macros, the one place both
// these bindings and every plugin's `export!` can read it from once published.
mod bindings {
    leadwire_sdk_macros::__sdk_bindings!();
}

/// The contract's data types (`leadwire:plugin/types@0.2.0`).
pub use bindings::leadwire::plugin::types;
pub use bindings::leadwire::plugin::types::{
    Activity, Assignment, Candidate, Contribution, Enrollment, Event, Field, Input, Lead,
    NurtureVerdict, PriorStep, Queued, Route, RouteVerdict, ScorePart, ScoreVerdict, Segment,
    SegmentVerdict, Trigger, Value, Verdict,
};

pub use error::{Error, Result};

/// The plugin's allocator (feature `arena`, on by default): a bump arena in
/// front of the system allocator, since the host gives each call a fresh
/// instance (see `alloc.rs`). A plugin with its own `#[global_allocator]`
/// turns the feature off.
#[cfg(all(target_arch = "wasm32", feature = "arena"))]
#[global_allocator]
static ALLOCATOR: alloc::Arena = alloc::Arena::new();
pub use lead::{Activities, DAY_MS};
/// Export a plugin type for the roles it implements: `export!(MyPlugin: scoring, routing);`
pub use leadwire_sdk_macros::export;

/// Score a lead.
pub trait Scoring {
    fn score(input: &Input) -> Result<ScoreVerdict>;
}

/// Put a lead in segments and a lifecycle stage.
pub trait Segmentation {
    fn segment(input: &Input) -> Result<SegmentVerdict>;
}

/// Choose an owner or a queue, or say why none.
pub trait Routing {
    fn route(input: &Input) -> Result<RouteVerdict>;
}

/// Decide whether a lead leaves nurture.
pub trait Nurture {
    fn evaluate(input: &Input) -> Result<NurtureVerdict>;
}

#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;

    /// A role's input as the host sends it: `types.input` in postcard's wire
    /// format (wit/v0.2.0/types.wit), one buffer instead of a tree of strings
    /// each copied in on its own.
    fn decode_input(bytes: &[u8]) -> Result<crate::Input, String> {
        crate::decode::input(bytes).map_err(|e| {
            format!(
                "leadwire-sdk {} cannot read the input the host sent ({} bytes): {e}",
                env!("CARGO_PKG_VERSION"),
                bytes.len()
            )
        })
    }

    /// One role call: decode the input, run the plugin's function on it.
    pub fn call<V>(
        bytes: &[u8],
        role: impl FnOnce(&crate::Input) -> crate::Result<V>,
    ) -> Result<V, String> {
        #[cfg(all(target_arch = "wasm32", feature = "arena"))]
        let (before, live) = {
            crate::ALLOCATOR.start_call();
            (crate::alloc::fallbacks(), crate::ALLOCATOR.live())
        };
        let input = decode_input(bytes)?;
        // The input's blocks: those still live that decoding added (never
        // fewer than before; if it were, the input is freed block by block).
        #[cfg(all(target_arch = "wasm32", feature = "arena"))]
        let input_blocks = crate::ALLOCATOR.live().checked_sub(live);
        let verdict = role(&input).map_err(|e| e.to_string());
        // Freeing arena memory does nothing: when all of the input is in the
        // arena, walking it to free each string is wasted work. The arena is
        // told its blocks are free, so that a warm instance can rewind.
        #[cfg(all(target_arch = "wasm32", feature = "arena"))]
        if let (true, Some(blocks)) = (crate::alloc::fallbacks() == before, input_blocks) {
            std::mem::forget(input);
            crate::ALLOCATOR.forget(blocks);
        }
        verdict
    }
}
