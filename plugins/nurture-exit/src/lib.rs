//! nurture-exit: not written yet.
