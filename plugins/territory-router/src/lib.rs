//! territory-router: not written yet.
