//! Following leads through: business calendars, SLA policies and their
//! timers.

pub mod calendar;
