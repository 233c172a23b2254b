//! Small readers over the input shared by the rules: field values, earlier
//! segments, and "how long ago" in words.

use leadwire_sdk::{DAY_MS, Input, Lead, Segment, Value, Verdict};

/// The first of the lead's values of `field` that is one of `wanted`
/// (ASCII case-insensitive; any item of a list field).
pub fn field_value_in(lead: &Lead, field: &str, wanted: &[String]) -> Option<String> {
    let found = match lead.get(field)? {
        Value::List(items) => items.clone(),
        other => vec![other.to_text()],
    };
    found
        .into_iter()
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty() && wanted.iter().any(|w| w.trim().eq_ignore_ascii_case(v)))
}

/// The segment named `name` (ASCII case-insensitive) from the latest earlier step that set it.
pub fn segment<'a>(input: &'a Input, name: &str) -> Option<&'a Segment> {
    input.prior.iter().rev().find_map(|p| match &p.verdict {
        Verdict::Segmentation(s) => s
            .segments
            .iter()
            .find(|seg| seg.name.eq_ignore_ascii_case(name)),
        _ => None,
    })
}

/// Whole days from `at` to `now` (0 if `at` is later).
pub fn days_between(at: i64, now: i64) -> i64 {
    (now - at).max(0) / DAY_MS
}

/// "today", "1 day ago", "12 days ago".
pub fn ago(at: i64, now: i64) -> String {
    match days_between(at, now) {
        0 => "today".into(),
        1 => "1 day ago".into(),
        n => format!("{n} days ago"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadwire_sdk::testing::{NOW, lead};

    #[test]
    fn field_values_match_case_insensitively_and_in_lists() {
        let wanted = vec!["Student".to_string(), "competitor".to_string()];
        let l = lead("1")
            .field("industry", "STUDENT")
            .field("tags", vec!["a", "Competitor"])
            .field("n", 3)
            .build();
        assert_eq!(
            field_value_in(&l, "industry", &wanted).as_deref(),
            Some("STUDENT")
        );
        assert_eq!(
            field_value_in(&l, "tags", &wanted).as_deref(),
            Some("Competitor")
        );
        assert_eq!(field_value_in(&l, "n", &["3".into()]).as_deref(), Some("3"));
        assert_eq!(field_value_in(&l, "missing", &wanted), None);
    }

    #[test]
    fn ago_is_in_whole_days() {
        assert_eq!(ago(NOW - 3_600_000, NOW), "today");
        assert_eq!(ago(NOW - DAY_MS, NOW), "1 day ago");
        assert_eq!(ago(NOW - 45 * DAY_MS - 1, NOW), "45 days ago");
        assert_eq!(ago(NOW + DAY_MS, NOW), "today");
    }
}
