//! Enroll a lead that stays in nurture in a track picked by its segment.

use leadwire_sdk::{Enrollment, Input};

use crate::config::Enroll;
use crate::lookup::segment;

pub enum Outcome {
    Enroll(Enrollment),
    /// Already in the track its segment picks, with a note for the "stay" reason.
    AlreadyIn(String),
}

/// The track of the first configured segment the lead is in.
pub fn check(config: &Enroll, input: &Input) -> Option<Outcome> {
    let (t, seg) = config
        .tracks
        .iter()
        .find_map(|t| segment(input, &t.segment).map(|seg| (t, seg)))?;
    if let Some(field) = &config.track_field
        && input
            .lead
            .text(field)
            .is_some_and(|current| current.trim().eq_ignore_ascii_case(t.track.trim()))
    {
        return Some(Outcome::AlreadyIn(format!(
            "already in track {} ({field})",
            t.track
        )));
    }
    Some(Outcome::Enroll(Enrollment {
        track: t.track.clone(),
        reason: format!(
            "segment {} ({}) enrolls in track {}",
            seg.name, seg.reason, t.track
        ),
    }))
}
