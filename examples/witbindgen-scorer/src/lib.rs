//! A leadwire scoring plugin written directly against the WIT contract
//! (`wit/v0.1.0`) with wit-bindgen, without leadwire-sdk. Any language with
//! component-model bindings can do the same; this is what the SDK saves you.
//!
//! Rules (points configurable in the install's `config` table):
//! - `big-company`: `numberofemployees` at least `big_company_employees` (default 200)
//!   gives `big_company_points` (default 30);
//! - `business-email`: an email outside the free-mail providers gives
//!   `business_email_points` (default 10).
//!
//! Grade: `A` from 40 points, `B` from 20, else `C`.

wit_bindgen::generate!({
    path: "../../wit/v0.1.0",
    inline: "
        package example:direct;

        world direct {
            import leadwire:plugin/log@0.1.0;
            import leadwire:plugin/config@0.1.0;
            export leadwire:plugin/scoring@0.1.0;
        }
    ",
    world: "example:direct/direct",
    // The imported interfaces live in another package (leadwire:plugin): generate them here too.
    generate_all,
});

use exports::leadwire::plugin::scoring::Guest;
use leadwire::plugin::types::{Contribution, Input, ScorePart, ScoreVerdict, Value};
use leadwire::plugin::{config, log};

const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "proton.me",
];

/// The install's settings, with their defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub big_company_employees: f64,
    pub big_company_points: f64,
    pub business_email_points: f64,
}

impl Settings {
    /// Read the `config` capability's JSON; unknown keys are an error (a typo
    /// should not silently score with the defaults).
    pub fn from_json(json: &str) -> Result<Settings, String> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| format!("config is not JSON: {e}"))?;
        let table = value.as_object().ok_or("config is not a table")?;
        let mut settings = Settings {
            big_company_employees: 200.0,
            big_company_points: 30.0,
            business_email_points: 10.0,
        };
        for (key, v) in table {
            let n = v
                .as_f64()
                .ok_or_else(|| format!("config `{key}`: expected a number, got {v}"))?;
            match key.as_str() {
                "big_company_employees" => settings.big_company_employees = n,
                "big_company_points" => settings.big_company_points = n,
                "business_email_points" => settings.business_email_points = n,
                other => return Err(format!("config: unknown key `{other}`")),
            }
        }
        Ok(settings)
    }
}

/// The scoring logic, free of host calls so it can be tested natively.
pub fn score(input: &Input, settings: &Settings) -> ScoreVerdict {
    let mut contributions = Vec::new();
    let employees = input
        .lead
        .fields
        .iter()
        .find_map(|f| match (&f.name[..], &f.value) {
            ("numberofemployees", Value::Number(n)) => Some(*n),
            _ => None,
        });
    if let Some(n) = employees.filter(|n| *n >= settings.big_company_employees) {
        contributions.push(Contribution {
            rule: "big-company".into(),
            points: settings.big_company_points,
            reason: format!(
                "{n} employees (at least {})",
                settings.big_company_employees
            ),
        });
    }
    let domain = input
        .lead
        .email
        .as_deref()
        .and_then(|e| e.rsplit_once('@'))
        .map(|(_, d)| d.to_ascii_lowercase());
    if let Some(domain) = domain.filter(|d| !FREE_MAIL.contains(&d.as_str())) {
        contributions.push(Contribution {
            rule: "business-email".into(),
            points: settings.business_email_points,
            reason: format!("email domain {domain} is not a free-mail provider"),
        });
    }
    let value: f64 = contributions.iter().map(|c| c.points).sum();
    let grade = if value >= 40.0 {
        "A"
    } else if value >= 20.0 {
        "B"
    } else {
        "C"
    };
    ScoreVerdict {
        value,
        grade: Some(grade.into()),
        parts: vec![ScorePart {
            name: "fit".into(),
            value,
        }],
        contributions,
    }
}

pub struct DirectScorer;

impl Guest for DirectScorer {
    fn score(input: Input) -> Result<ScoreVerdict, String> {
        let settings = Settings::from_json(&config::get())?;
        let verdict = score(&input, &settings);
        log::log(
            log::Level::Info,
            &format!(
                "lead {} scored {} ({} rules)",
                input.lead.id,
                verdict.value,
                verdict.contributions.len()
            ),
        );
        Ok(verdict)
    }
}

// The export symbols (`leadwire:plugin/scoring@0.1.0#score`) are wasm-only: a
// native build (`cargo test --workspace`) exports nothing and links cleanly.
#[cfg(target_arch = "wasm32")]
export!(DirectScorer);

#[cfg(test)]
mod tests {
    use super::*;
    use leadwire::plugin::types::{Event, Field, Lead, Trigger};

    fn input(email: Option<&str>, employees: Option<f64>) -> Input {
        Input {
            lead: Lead {
                id: "1".into(),
                source: "test".into(),
                email: email.map(Into::into),
                company_domain: None,
                owner: None,
                lifecycle_stage: None,
                fields: employees
                    .map(|n| Field {
                        name: "numberofemployees".into(),
                        value: Value::Number(n),
                    })
                    .into_iter()
                    .collect(),
                activities: vec![],
                created_at: None,
            },
            event: Event {
                id: "e".into(),
                trigger: Trigger::Created,
                changed: vec![],
                at: 0,
            },
            prior: vec![],
        }
    }

    #[test]
    fn a_big_company_with_a_business_email_scores_both_rules_and_grade_a() {
        let settings = Settings::from_json("{}").unwrap();
        let v = score(&input(Some("ana@Acme.com"), Some(250.0)), &settings);
        assert_eq!(v.value, 40.0);
        assert_eq!(v.grade.as_deref(), Some("A"));
        let rules: Vec<_> = v.contributions.iter().map(|c| c.rule.as_str()).collect();
        assert_eq!(rules, ["big-company", "business-email"]);
    }

    #[test]
    fn free_mail_and_a_small_company_score_nothing() {
        let settings = Settings::from_json("{}").unwrap();
        let v = score(&input(Some("bob@gmail.com"), Some(12.0)), &settings);
        assert_eq!(v.value, 0.0);
        assert_eq!(v.grade.as_deref(), Some("C"));
        assert!(v.contributions.is_empty());
    }

    #[test]
    fn config_overrides_the_defaults_and_rejects_unknown_keys() {
        let s = Settings::from_json(r#"{"big_company_points": 5}"#).unwrap();
        assert_eq!(s.big_company_points, 5.0);
        let err = Settings::from_json(r#"{"big_company_pionts": 5}"#).unwrap_err();
        assert!(err.contains("big_company_pionts"), "{err}");
    }
}
