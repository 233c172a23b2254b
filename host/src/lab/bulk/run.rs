//! Run a pipeline over a stream of rows on every core, results in input order.
//!
//! One thread reads and parses rows into batches; each worker thread keeps
//! warm plugin instances ([`Worker`](crate::pipeline::Worker)) and decides a
//! batch at a time; the calling thread gets the results back in input order,
//! so output files line up with their input.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use super::input::{RawRow, RowError};
use crate::decision::Decision;
use crate::pipeline::Pipelines;

/// Rows per batch: big enough that channel traffic is noise, small enough to
/// keep every core busy to the end.
const BATCH: usize = 256;

/// One row's result.
pub struct Scored {
    pub line: u64,
    pub lead_id: String,
    /// The decision (which may itself be an error decision), or why the row
    /// could not be read.
    pub result: Result<Decision, RowError>,
    pub outcome: Option<String>,
    /// The row's `by` column value (backtest's breakdown).
    pub by: Option<String>,
}

/// Decide every row with `threads` workers; `each` sees the results in input
/// order and may stop the run by returning an error (which `run` returns).
pub fn run<I>(
    pipelines: &Pipelines,
    pipeline: &str,
    rows: I,
    threads: usize,
    mut each: impl FnMut(Scored) -> anyhow::Result<()>,
) -> anyhow::Result<()>
where
    I: Iterator<Item = Result<RawRow, RowError>> + Send,
{
    pipelines.pipeline(pipeline)?;
    let threads = threads.max(1);
    let stop = AtomicBool::new(false);
    let (batch_tx, batch_rx) =
        mpsc::sync_channel::<(u64, Vec<Result<RawRow, RowError>>)>(threads * 2);
    let batch_rx = Arc::new(Mutex::new(batch_rx));
    let (done_tx, done_rx) = mpsc::sync_channel::<(u64, Vec<Scored>)>(threads * 2);

    std::thread::scope(|scope| {
        let stop = &stop;
        scope.spawn(move || {
            let mut rows = rows;
            let mut seq = 0;
            loop {
                let batch: Vec<_> = rows.by_ref().take(BATCH).collect();
                if batch.is_empty() || stop.load(Ordering::Relaxed) {
                    break;
                }
                if batch_tx.send((seq, batch)).is_err() {
                    break;
                }
                seq += 1;
            }
        });
        for _ in 0..threads {
            let batch_rx = batch_rx.clone();
            let done_tx = done_tx.clone();
            scope.spawn(move || {
                let mut worker = pipelines.worker();
                loop {
                    let next = batch_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok((seq, batch))) = next else { break };
                    let scored = batch
                        .into_iter()
                        .map(|row| decide(&mut worker, pipeline, row))
                        .collect();
                    if done_tx.send((seq, scored)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);

        // Batches finish out of order; hand them on in order.
        let mut waiting = BTreeMap::new();
        let mut next = 0;
        let mut result = Ok(());
        for (seq, scored) in done_rx.iter() {
            if result.is_err() {
                continue; // drain so the workers can finish
            }
            waiting.insert(seq, scored);
            while let Some(batch) = waiting.remove(&next) {
                next += 1;
                for s in batch {
                    if let Err(e) = each(s) {
                        stop.store(true, Ordering::Relaxed);
                        result = Err(e);
                        break;
                    }
                }
                if result.is_err() {
                    break;
                }
            }
        }
        result
    })
}

fn decide(
    worker: &mut crate::pipeline::Worker<'_>,
    pipeline: &str,
    row: Result<RawRow, RowError>,
) -> Scored {
    let row = match row.and_then(RawRow::parse) {
        Ok(row) => row,
        Err(e) => {
            return Scored {
                line: e.line,
                lead_id: e.lead_id.clone().unwrap_or_default(),
                result: Err(e),
                outcome: None,
                by: None,
            };
        }
    };
    let line = row.line;
    let lead_id = row.lead.id.clone();
    let decided = worker
        .run(pipeline, row.lead, row.event)
        .map_err(|e| RowError {
            line,
            message: e.to_string(),
            lead_id: None,
        });
    Scored {
        line,
        lead_id,
        result: decided,
        outcome: row.outcome,
        by: row.by,
    }
}
