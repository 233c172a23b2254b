//! Connection pools on `r2d2`: connections opened on demand up to a maximum,
//! reused, dropped when broken or idle for long (so a connection handed out
//! was in use recently). Each backend's manager, beside its code, says how it connects.

use std::time::Duration;

use super::StoreError;

/// How long a caller waits for a free connection before giving up.
const WAIT: Duration = Duration::from_secs(30);
/// Connections idle longer than this are closed (a database restart leaves
/// nothing stale behind for long).
const IDLE: Duration = Duration::from_secs(30);

/// A pool of at most `max` connections, none opened yet.
pub(crate) fn new<M: r2d2::ManageConnection>(manager: M, max: u32) -> r2d2::Pool<M> {
    r2d2::Pool::builder()
        .max_size(max)
        .min_idle(Some(0))
        .connection_timeout(WAIT)
        .idle_timeout(Some(IDLE))
        // Broken connections are caught by `has_broken` when they come back;
        // a round trip on every checkout would cost more than it saves.
        .test_on_check_out(false)
        .build_unchecked(manager)
}

/// A connection could not be had within [`WAIT`] (r2d2 says why: the last
/// connection error, if any).
pub(crate) fn unavailable(at: &str, e: r2d2::Error) -> StoreError {
    StoreError::Db {
        at: at.to_string(),
        op: "get a connection".into(),
        message: e.to_string(),
    }
}
