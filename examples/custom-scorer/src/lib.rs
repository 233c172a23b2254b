//! A custom scorer: points for senior job titles and for pricing-page visits,
//! with the point values taken from the install's config.

use leadwire_sdk::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Config {
    /// Points for a title containing one of `senior_titles`.
    #[serde(default = "default_title_points")]
    title_points: f64,
    #[serde(default = "default_titles")]
    senior_titles: Vec<String>,
    /// Points per pricing-page view in the last 30 days.
    #[serde(default = "default_pricing_points")]
    pricing_view_points: f64,
}

fn default_title_points() -> f64 {
    20.0
}
fn default_titles() -> Vec<String> {
    vec![
        "VP".into(),
        "Head".into(),
        "Director".into(),
        "Chief".into(),
    ]
}
fn default_pricing_points() -> f64 {
    5.0
}

pub struct CustomScorer;

impl Scoring for CustomScorer {
    fn score(input: &Input) -> Result<ScoreVerdict> {
        let config: Config = host::config()?;
        let mut contributions = Vec::new();

        if let Some(title) = input.lead.text("jobtitle") {
            if let Some(hit) = config
                .senior_titles
                .iter()
                .find(|t| title.contains(t.as_str()))
            {
                contributions.push(Contribution::new(
                    "senior-title",
                    config.title_points,
                    format!("job title \"{title}\" contains \"{hit}\""),
                ));
            }
        }

        let views = input
            .lead
            .activities()
            .kind("page_view")
            .filter(|a| {
                a.get("url")
                    .and_then(Value::as_text)
                    .is_some_and(|u| u.contains("/pricing"))
            })
            .within_days(30.0, input.now())
            .count();
        if views > 0 {
            contributions.push(Contribution::new(
                "pricing-views",
                config.pricing_view_points * views as f64,
                format!("{views} pricing page view(s) in the last 30 days"),
            ));
        }

        host::log(
            host::Level::Info,
            &format!("{} rule(s) fired", contributions.len()),
        );
        Ok(ScoreVerdict::from_contributions(contributions))
    }
}

export!(CustomScorer: scoring);

#[cfg(test)]
mod tests {
    use super::*;
    use leadwire_sdk::testing::*;

    #[test]
    fn senior_title_and_recent_pricing_views_score() {
        let host = FakeHost::new().config_toml("title_points = 30");
        let input = lead("1")
            .field("jobtitle", "VP Marketing")
            .activity_with("page_view", NOW - DAY_MS, vec![("url", "/pricing".into())])
            .activity_with(
                "page_view",
                NOW - 2 * DAY_MS,
                vec![("url", "/pricing".into())],
            )
            .activity_with(
                "page_view",
                NOW - 60 * DAY_MS,
                vec![("url", "/pricing".into())],
            )
            .input_at(NOW);
        let verdict = host.run(|| CustomScorer::score(&input)).unwrap();
        assert_eq!(verdict.value, 40.0);
        assert_eq!(verdict.contributions[0].rule, "senior-title");
        assert_eq!(
            verdict.contributions[1].reason,
            "2 pricing page view(s) in the last 30 days"
        );
        assert_eq!(host.logs(), vec!["INFO 2 rule(s) fired"]);
    }

    #[test]
    fn a_junior_lead_with_no_visits_scores_zero() {
        let host = FakeHost::new();
        let input = lead("2").field("jobtitle", "Intern").input_at(NOW);
        let verdict = host.run(|| CustomScorer::score(&input)).unwrap();
        assert_eq!(verdict.value, 0.0);
        assert!(verdict.contributions.is_empty());
    }

    #[test]
    fn a_bad_config_is_an_error_naming_the_field() {
        let host = FakeHost::new().config_toml("title_points = \"lots\"");
        let input = lead("3").input_at(NOW);
        let err = host.run(|| CustomScorer::score(&input)).unwrap_err();
        assert!(err.to_string().contains("title_points"), "{err}");
    }
}
