//! `leadwire score`'s output: one result per input row, in input order. CSV
//! gives the outcome in columns; JSONL gives each full decision.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use super::run::Scored;
use crate::decision::{Decision, NurtureOut, RouteAction};

const COLUMNS: [&str; 11] = [
    "line",
    "id",
    "status",
    "score",
    "grade",
    "segments",
    "lifecycle_stage",
    "owner",
    "route",
    "nurture",
    "error",
];

pub enum Output {
    /// With an `outcome` column when the run reads one (`score --outcome`).
    Csv(csv::Writer<Box<dyn Write>>, bool),
    Jsonl(BufWriter<Box<dyn Write>>),
}

impl Output {
    /// `.jsonl`/`.ndjson` for JSONL, anything else CSV; no path: CSV on stdout.
    /// `outcome`: the run carries each row's outcome cell into the output.
    pub fn create(path: Option<&Path>, outcome: bool) -> anyhow::Result<Output> {
        let sink: Box<dyn Write> = match path {
            Some(p) => Box::new(
                File::create(p)
                    .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", p.display()))?,
            ),
            None => Box::new(std::io::stdout().lock()),
        };
        let jsonl = path
            .and_then(|p| p.extension())
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson"));
        if jsonl {
            return Ok(Output::Jsonl(BufWriter::with_capacity(1 << 16, sink)));
        }
        let mut w = csv::Writer::from_writer(sink);
        let mut header = COLUMNS.to_vec();
        if outcome {
            header.push("outcome");
        }
        w.write_record(header)?;
        Ok(Output::Csv(w, outcome))
    }

    pub fn write(&mut self, scored: &Scored) -> anyhow::Result<()> {
        match self {
            Output::Csv(w, outcome) => {
                let row = csv_row(scored);
                if *outcome {
                    let cell = scored.outcome.clone().unwrap_or_default();
                    w.write_record(row.iter().map(String::as_str).chain([cell.as_str()]))?
                } else {
                    w.write_record(row)?
                }
            }
            Output::Jsonl(w) => {
                let mut line = match &scored.result {
                    Ok(decision) => {
                        serde_json::json!({ "line": scored.line, "decision": decision })
                    }
                    Err(e) => serde_json::json!({
                        "line": scored.line, "status": "skipped", "error": e.message,
                    }),
                };
                if let Some(outcome) = &scored.outcome {
                    line["outcome"] = serde_json::Value::String(outcome.clone());
                }
                serde_json::to_writer(&mut *w, &line)?;
                w.write_all(b"\n")?;
            }
        }
        Ok(())
    }

    pub fn finish(self) -> anyhow::Result<()> {
        match self {
            Output::Csv(mut w, _) => w.flush()?,
            Output::Jsonl(mut w) => w.flush()?,
        }
        Ok(())
    }
}

fn csv_row(scored: &Scored) -> [String; 11] {
    let line = scored.line.to_string();
    let d: &Decision = match &scored.result {
        Ok(d) => d,
        Err(e) => {
            let mut row: [String; 11] = Default::default();
            row[0] = line;
            row[1] = scored.lead_id.clone();
            row[2] = "skipped".into();
            row[10] = e.message.clone();
            return row;
        }
    };
    let score = d.score.as_ref();
    let route = d.route.as_ref().map(|r| match &r.action {
        RouteAction::Assign { rule, .. } => format!("assign:{rule}"),
        RouteAction::Queue { queue, .. } => format!("queue:{queue}"),
        RouteAction::KeepCurrent { .. } => "keep-current".into(),
        RouteAction::Unrouted { .. } => "unrouted".into(),
    });
    let nurture = d.nurture.as_ref().map(|n| match n {
        NurtureOut::Stay { .. } => "stay".to_string(),
        NurtureOut::ExitToSales { .. } => "exit-to-sales".into(),
        NurtureOut::Recycle { .. } => "recycle".into(),
        NurtureOut::Disqualify { .. } => "disqualify".into(),
        NurtureOut::Enroll { track, .. } => format!("enroll:{track}"),
    });
    [
        line,
        d.lead_id.clone(),
        serde_json::to_value(d.status)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        score.map(|s| s.value.to_string()).unwrap_or_default(),
        score.and_then(|s| s.grade.clone()).unwrap_or_default(),
        d.segments
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(";"),
        d.lifecycle_stage.clone().unwrap_or_default(),
        d.owner.clone().unwrap_or_default(),
        route.unwrap_or_default(),
        nurture.unwrap_or_default(),
        d.error.clone().unwrap_or_default(),
    ]
}
