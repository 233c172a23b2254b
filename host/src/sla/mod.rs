//! Following leads through: business calendars ([`calendar`]), SLA policies
//! ([`policy`]: which assignments start a timer, when its checkpoints fall,
//! which events mean the owner acted), and the worker that fires due
//! checkpoints ([`worker`]).

pub mod calendar;
pub mod policy;
pub mod worker;
