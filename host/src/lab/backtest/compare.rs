//! A candidate configuration against a baseline, row by row: which leads
//! would change MQL status, grade, segments or owner, with examples.

use serde::Serialize;

use super::metrics::{Replayed, stage_rank};

/// Examples kept per kind of change.
const EXAMPLES: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// `mql`, `grade`, `segments`, `owner`.
    pub what: String,
    pub count: u64,
    pub examples: Vec<Example>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Example {
    pub line: u64,
    pub id: String,
    pub baseline: String,
    pub candidate: String,
}

fn mql(r: &Replayed) -> String {
    let qualified = r
        .stage
        .as_deref()
        .and_then(stage_rank)
        .is_some_and(|rank| rank >= stage_rank("mql").unwrap_or(usize::MAX));
    if qualified { "MQL" } else { "not MQL" }.to_string()
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "(none)".into())
}

/// Both runs read the same input, so rows pair up in order.
pub fn changes(baseline: &[Replayed], candidate: &[Replayed]) -> Vec<Change> {
    type Key = fn(&Replayed) -> String;
    let kinds: [(&str, Key); 4] = [
        ("mql", mql),
        ("grade", |r| text(&r.grade)),
        ("segments", |r| {
            if r.segments.is_empty() {
                "(none)".into()
            } else {
                r.segments.join(", ")
            }
        }),
        ("owner", |r| text(&r.owner)),
    ];
    kinds
        .iter()
        .map(|(what, key)| {
            let mut change = Change {
                what: what.to_string(),
                count: 0,
                examples: Vec::new(),
            };
            for (b, c) in baseline.iter().zip(candidate) {
                let (before, after) = (key(b), key(c));
                if before != after {
                    change.count += 1;
                    if change.examples.len() < EXAMPLES {
                        change.examples.push(Example {
                            line: c.line,
                            id: c.id.clone(),
                            baseline: before,
                            candidate: after,
                        });
                    }
                }
            }
            change
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_kind_of_change_with_examples() {
        let base = |stage: &str, owner: &str| Replayed {
            stage: Some(stage.into()),
            owner: Some(owner.into()),
            grade: Some("A".into()),
            ..Replayed::default()
        };
        let baseline = vec![base("lead", "ann"), base("mql", "bo"), base("sql", "cy")];
        let mut candidate = baseline.clone();
        candidate[0].stage = Some("mql".into());
        candidate[0].id = "l1".into();
        candidate[2].owner = Some("dee".into());
        candidate[2].stage = Some("opportunity".into()); // still MQL or later
        let out = changes(&baseline, &candidate);
        let get = |w: &str| out.iter().find(|c| c.what == w).unwrap();
        assert_eq!(get("mql").count, 1);
        assert_eq!(
            get("mql").examples[0],
            Example {
                line: 0,
                id: "l1".into(),
                baseline: "not MQL".into(),
                candidate: "MQL".into()
            }
        );
        assert_eq!(get("owner").count, 1);
        assert_eq!(get("grade").count, 0);
        assert_eq!(get("segments").count, 0);
    }
}
