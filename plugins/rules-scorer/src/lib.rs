//! rules-scorer: not written yet.
