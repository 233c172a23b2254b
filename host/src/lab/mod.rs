//! The lab: offline work on files of leads, on top of the core (the pipeline,
//! the runtime, the store), never below it.
//!
//! - [`bulk`]: `leadwire score`, every row of a CSV or JSONL through a pipeline;
//! - [`backtest`]: replay history, measure how well the score predicts outcomes;
//! - [`learn`]: fit a points model on history, written as a rules-scorer config;
//! - [`generate`]: realistic generated leads with a planted conversion model (test
//!   and benchmark data).

pub mod backtest;
pub mod bulk;
pub mod generate;
pub mod learn;
pub mod numbers;
