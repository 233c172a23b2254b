//! A peer a user would pick instead of a plugin: GoRules ZEN (`zen-engine`)
//! evaluating a decision table equivalent to the quickstart scorer's fit
//! rules, beside leadwire's rules-scorer installed with only those rules, on
//! the same generated leads, in the same run.
//!
//! The table has one input column per field the rules read and one row per
//! rule (hit policy `collect`); the lead's score is the sum of the collected
//! rows' points, computed inside the timed call as rules-scorer computes its
//! total. The rules' tests are written in ZEN's expression language with the
//! same meaning as rules-scorer's: `contains` and `in` ignore case, a range
//! includes its minimum and excludes its maximum and reads `"250"` as 250 (as
//! CRMs send numbers), `missing` is null or absent.
//! ZEN is timed as its own benchmarks time it: a compiled decision evaluated
//! on a context built beforehand.

use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use leadwire::bindings::types::{Input, Lead, Value};
use leadwire::config::Config;
use leadwire::runtime::{Plugin, Role, WarmInstance};
use leadwire::{Pipelines, Runtime};
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};
use zen_engine::model::GraphContent;
use zen_engine::{Decision, Variable};

use crate::calls::Sample;
use crate::stats::Summary;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerFigures {
    /// The fit rules both sides evaluate.
    pub rules: usize,
    /// ZEN: a compiled decision table, one evaluation per lead.
    pub zen: Summary,
    /// leadwire: rules-scorer with the same rules, a fresh instance per lead.
    pub leadwire_fresh: Summary,
    /// ... and one warm instance for every lead.
    pub leadwire_warm: Summary,
    /// Leads on which the two totals differ (should be none).
    pub mismatches: usize,
}

/// The quickstart scorer's `fit` rules, as its config writes them.
fn fit_rules(config: &Config) -> Result<Vec<serde_json::Value>> {
    let scorer = config
        .plugins
        .get("scorer")
        .ok_or_else(|| anyhow!("the quickstart has no `scorer` install"))?;
    let table = serde_json::to_value(&scorer.config)?;
    let rules = table["rules"]
        .as_array()
        .ok_or_else(|| anyhow!("the scorer's config has no rules"))?;
    Ok(rules
        .iter()
        .filter(|r| r["group"] == "fit")
        .cloned()
        .collect())
}

/// A string literal of ZEN's expression language.
fn text(s: &str) -> String {
    serde_json::to_string(&s.to_lowercase()).expect("a string")
}

/// One rule's test as a ZEN unary expression on `$`, the column's value.
fn zen_test(rule: &serde_json::Value) -> Result<String> {
    let name = rule["name"].as_str().unwrap_or("?");
    let strings = |key: &str| -> Vec<String> {
        rule[key]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).map(text).collect())
            .unwrap_or_default()
    };
    if rule.get("contains").is_some() {
        // Not `$ != null and (a or b)`: ZEN 2.1 evaluates that to false
        // when `b` holds (see the test below).
        return Ok(format!(
            "$ != null and some([{}], contains(lower($), #))",
            strings("contains").join(", ")
        ));
    }
    if rule.get("in").is_some() {
        return Ok(format!(
            "$ != null and lower($) in [{}]",
            strings("in").join(", ")
        ));
    }
    if rule["missing"] == true {
        return Ok("$ == null or $ == \"\"".into());
    }
    let mut range = vec!["$ != null".to_string()];
    if let Some(min) = rule["min"].as_f64() {
        range.push(format!("number($) >= {min}"));
    }
    if let Some(max) = rule["max"].as_f64() {
        range.push(format!("number($) < {max}"));
    }
    if range.len() == 1 {
        bail!("fit rule `{name}`: no test this benchmark can write in ZEN");
    }
    Ok(range.join(" and "))
}

/// The decision table: a column per field, a row per rule (`collect`).
fn zen_decision(rules: &[serde_json::Value]) -> Result<Decision> {
    let mut fields: Vec<&str> = rules.iter().filter_map(|r| r["field"].as_str()).collect();
    fields.sort_unstable();
    fields.dedup();
    let inputs: Vec<_> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| json!({ "id": format!("i{i}"), "name": f, "field": f }))
        .collect();
    let mut rows = Vec::new();
    for (n, rule) in rules.iter().enumerate() {
        let field = rule["field"].as_str().unwrap_or_default();
        let column = fields.iter().position(|f| *f == field).unwrap_or(0);
        let mut row = Map::new();
        row.insert("_id".into(), json!(format!("r{n}")));
        for i in 0..fields.len() {
            let cell = if i == column {
                zen_test(rule)?
            } else {
                String::new()
            };
            row.insert(format!("i{i}"), json!(cell));
        }
        row.insert("o0".into(), json!(rule["points"].to_string()));
        rows.push(serde_json::Value::Object(row));
    }
    let content: GraphContent = serde_json::from_value(json!({
        "nodes": [
            { "id": "in", "name": "lead", "type": "inputNode", "content": {} },
            {
                "id": "fit", "name": "fit", "type": "decisionTableNode",
                "content": {
                    "hitPolicy": "collect",
                    "inputs": inputs,
                    "outputs": [{ "id": "o0", "name": "points", "field": "points" }],
                    "rules": rows
                }
            },
            { "id": "out", "name": "score", "type": "outputNode", "content": {} }
        ],
        "edges": [
            { "id": "e1", "sourceId": "in", "targetId": "fit" },
            { "id": "e2", "sourceId": "fit", "targetId": "out" }
        ]
    }))
    .context("the ZEN decision table")?;
    let mut decision = Decision::from(content);
    decision.compile();
    Ok(decision)
}

/// The lead's fields as ZEN's context: the JSON a CRM would send.
fn zen_context(lead: &Lead) -> Variable {
    let mut fields = Map::new();
    for f in &lead.fields {
        let value = match &f.value {
            Value::Null => serde_json::Value::Null,
            Value::Text(t) => json!(t),
            Value::Number(n) => json!(n),
            Value::Boolean(b) => json!(b),
            Value::Time(t) => json!(t),
            Value::List(l) => json!(l),
        };
        fields.insert(f.name.clone(), value);
    }
    serde_json::Value::Object(fields).into()
}

/// The sum of the collected rows' points.
fn zen_total(result: &Variable) -> f64 {
    let json = serde_json::to_value(result).unwrap_or_default();
    json.as_array()
        .map(|rows| rows.iter().filter_map(|r| r["points"].as_f64()).sum())
        .unwrap_or(0.0)
}

/// rules-scorer installed with only the fit rules.
fn leadwire_fit(
    runtime: &Arc<Runtime>,
    rules: &[serde_json::Value],
) -> Result<(Pipelines, Arc<Plugin>)> {
    let path = crate::root().join("target/plugins/rules_scorer.wasm");
    let config = json!({ "rules": rules });
    let text = format!(
        "[plugins.fit]\npath = {}\nconfig = {}\n[pipelines.fit]\nsteps = [{{ plugin = \"fit\" }}]\n",
        toml::Value::String(path.display().to_string()),
        toml_inline(&config),
    );
    let config = Config::parse(&text, &crate::root().join("fit.toml"))?;
    let pipelines = Pipelines::load(
        &config,
        runtime.clone(),
        Arc::new(leadwire::capabilities::MemoryState::default()),
    )
    .map_err(|e| anyhow!("{e}"))?;
    let plugin = pipelines.plugins["fit"].clone();
    Ok((pipelines, plugin))
}

/// JSON as an inline TOML value.
fn toml_inline(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => format!(
            "{{ {} }}",
            map.iter()
                .map(|(k, v)| format!("{} = {}", toml::Value::String(k.clone()), toml_inline(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        serde_json::Value::Array(items) => format!(
            "[{}]",
            items.iter().map(toml_inline).collect::<Vec<_>>().join(", ")
        ),
        serde_json::Value::String(s) => toml::Value::String(s.clone()).to_string(),
        other => other.to_string(),
    }
}

pub fn run(
    config: &Config,
    runtime: &Arc<Runtime>,
    sample: &Sample,
    warmup: usize,
    iters: usize,
) -> Result<PeerFigures> {
    let rules = fit_rules(config)?;
    let decision = zen_decision(&rules)?;
    let contexts: Vec<Variable> = sample.leads.iter().map(|(l, _)| zen_context(l)).collect();
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    let evaluate = |context: &Variable| -> Result<f64> {
        let response = rt
            .block_on(decision.evaluate(context.clone()))
            .map_err(|e| anyhow!("ZEN: {e:?}"))?;
        Ok(zen_total(&response.result))
    };

    let (_pipelines, plugin) = leadwire_fit(runtime, &rules)?;
    let engine = runtime.engine();
    let env = Arc::new(leadwire::capabilities::HostEnv {
        state: Arc::new(leadwire::capabilities::MemoryState::default()),
        directory: Default::default(),
        accounts: leadwire::capabilities::Accounts::from_config(&Default::default()),
    });
    let inputs: Vec<Input> = sample
        .leads
        .iter()
        .map(|(lead, event)| Input {
            lead: lead.clone(),
            event: event.clone(),
            prior: Vec::new(),
        })
        .collect();
    let ctx = |input: &Input| leadwire::capabilities::CallContext {
        env: env.clone(),
        namespace: "fit".into(),
        now: input.event.at,
    };
    let score = |verdict: &leadwire::bindings::types::Verdict| match verdict {
        leadwire::bindings::types::Verdict::Score(s) => {
            s.contributions.iter().map(|c| c.points).sum()
        }
        _ => f64::NAN,
    };

    let mut mismatches = 0;
    for (input, context) in inputs.iter().zip(&contexts) {
        let (verdict, _) = plugin
            .call(engine, Role::Scoring, input, ctx(input))
            .result
            .map_err(|e| anyhow!("rules-scorer (fit): {e}"))?;
        let (theirs, ours) = (evaluate(context)?, score(&verdict));
        if (theirs - ours).abs() > 1e-9 {
            mismatches += 1;
        }
    }

    let k = inputs.len();
    let zen = crate::stats::time_each(warmup, iters, |n| {
        std::hint::black_box(evaluate(&contexts[n % k]).expect("ZEN evaluates"));
    });
    let leadwire_fresh = crate::stats::time_each(warmup, iters, |n| {
        let input = &inputs[n % k];
        let outcome = plugin.call(engine, Role::Scoring, input, ctx(input));
        std::hint::black_box(outcome.result.expect("the call succeeds"));
    });
    let mut warm = WarmInstance::new(plugin.clone());
    let leadwire_warm = crate::stats::time_each(warmup, iters, |n| {
        let input = &inputs[n % k];
        let outcome = warm.call(engine, Role::Scoring, input, ctx(input));
        std::hint::black_box(outcome.result.expect("the call succeeds"));
    });
    Ok(PeerFigures {
        rules: rules.len(),
        zen,
        leadwire_fresh,
        leadwire_warm,
        mismatches,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the one-rule table of `rule` gives its points to `title`.
    fn fires(rule: serde_json::Value, title: serde_json::Value) -> bool {
        let decision = zen_decision(&[rule]).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let result = rt
            .block_on(decision.evaluate(json!({ "jobtitle": title }).into()))
            .unwrap();
        zen_total(&result.result) != 0.0
    }

    #[test]
    fn the_zen_tests_mean_what_rules_scorer_means() {
        let contains = json!({ "name": "t", "field": "jobtitle", "contains": ["Manager", "Lead"], "points": 10 });
        assert!(
            fires(contains.clone(), json!("Team LEAD, Operations")),
            "any needle, any case"
        );
        assert!(!fires(contains.clone(), json!("Director")));
        assert!(!fires(contains, serde_json::Value::Null));
        let missing = json!({ "name": "t", "field": "jobtitle", "missing": true, "points": -5 });
        assert!(fires(missing.clone(), serde_json::Value::Null));
        assert!(!fires(missing, json!("VP")));
        let one_of = json!({ "name": "t", "field": "jobtitle", "in": ["CTO", "CEO"], "points": 5 });
        assert!(fires(one_of.clone(), json!("ceo")));
        assert!(!fires(one_of, json!("CFO")));
        let range =
            json!({ "name": "t", "field": "jobtitle", "min": 50, "max": 1000, "points": 15 });
        assert!(fires(range.clone(), json!(50)));
        assert!(
            !fires(range.clone(), json!(1000)),
            "the maximum is excluded"
        );
        assert!(fires(range.clone(), json!("250")), "a number sent as text");
        assert!(!fires(range, serde_json::Value::Null));
    }
}
