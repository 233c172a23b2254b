//! Territory rules: the first territory whose conditions all hold, and why.

use leadwire_sdk::{Lead, Value};

use crate::config::{Fields, Territory};

/// The lead's values of a field, for matching: list items, or the value as text.
fn values(lead: &Lead, field: &str) -> Vec<String> {
    match lead.get(field) {
        Some(Value::List(items)) => items.iter().map(|v| v.trim().to_string()).collect(),
        Some(v) => {
            let text = v.to_text();
            let text = text.trim();
            if text.is_empty() {
                Vec::new()
            } else {
                vec![text.to_string()]
            }
        }
        None => Vec::new(),
    }
}

/// A company size in employees: a number, `1,200`, or a HubSpot band such as
/// `100-500` or `1000+`, which counts as its lower bound.
pub fn company_size(value: &Value) -> Option<u64> {
    if let Value::Number(n) = value {
        return (n.is_finite() && *n >= 0.0).then_some(*n as u64);
    }
    // Digits up to the first `-`, `+` or `.`; thousands separators skipped.
    let mut size: Option<u64> = None;
    for c in value.as_text()?.trim().chars() {
        match c {
            '0'..='9' => {
                size = Some(
                    size.unwrap_or(0)
                        .checked_mul(10)?
                        .checked_add(u64::from(c as u8 - b'0'))?,
                )
            }
            ',' | ' ' | '_' => {}
            '-' | '+' | '.' if size.is_some() => break,
            _ => return None,
        }
    }
    size
}

fn any_of(lead: &Lead, field: &str, wanted: &Option<Vec<String>>, why: &mut Vec<String>) -> bool {
    let Some(wanted) = wanted else { return true };
    let found = values(lead, field);
    let hit = found
        .iter()
        .find(|v| wanted.iter().any(|w| w.trim().eq_ignore_ascii_case(v)));
    match hit {
        Some(v) => {
            why.push(format!("{field} \"{v}\""));
            true
        }
        None => false,
    }
}

fn size_in(lead: &Lead, field: &str, t: &Territory, why: &mut Vec<String>) -> bool {
    if t.min_employees.is_none() && t.max_employees.is_none() {
        return true;
    }
    let Some(size) = lead.get(field).and_then(company_size) else {
        return false;
    };
    if t.min_employees.is_some_and(|min| size < min)
        || t.max_employees.is_some_and(|max| size > max)
    {
        return false;
    }
    let bound = |b: Option<u64>| b.map(|b| b.to_string()).unwrap_or_default();
    why.push(format!(
        "{field} {size} in {}..{}",
        bound(t.min_employees),
        bound(t.max_employees)
    ));
    true
}

/// Does the lead fall in this territory? `Some(why)` when it does.
pub fn matches(lead: &Lead, fields: &Fields, t: &Territory) -> Option<String> {
    if t.is_catch_all() {
        return Some("catch-all territory".into());
    }
    let mut why = Vec::new();
    let all = any_of(lead, &fields.country, &t.countries, &mut why)
        && any_of(lead, &fields.region, &t.regions, &mut why)
        && any_of(lead, &fields.industry, &t.industries, &mut why)
        && size_in(lead, &fields.company_size, t, &mut why);
    all.then(|| why.join(", "))
}

/// The first matching territory and why it matched.
pub fn first_match<'t>(
    lead: &Lead,
    fields: &Fields,
    territories: &'t [Territory],
) -> Option<(&'t Territory, String)> {
    territories
        .iter()
        .find_map(|t| matches(lead, fields, t).map(|why| (t, why)))
}

/// What the territory rules looked at, for an "unrouted" reason.
pub fn describe(lead: &Lead, fields: &Fields) -> String {
    [
        &fields.country,
        &fields.region,
        &fields.industry,
        &fields.company_size,
    ]
    .iter()
    .map(|f| match values(lead, f).join(";") {
        v if v.is_empty() => format!("{f} empty"),
        v => format!("{f} \"{v}\""),
    })
    .collect::<Vec<_>>()
    .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadwire_sdk::testing::lead;

    fn territory(toml_text: &str) -> Territory {
        // Territories are only ever read from TOML: test them the same way.
        leadwire_sdk::testing::FakeHost::new()
            .config_toml(toml_text)
            .run(leadwire_sdk::host::config::<Territory>)
            .unwrap()
    }

    #[test]
    fn company_sizes_parse_numbers_text_and_hubspot_bands() {
        assert_eq!(company_size(&Value::Number(250.0)), Some(250));
        assert_eq!(company_size(&"1,200".into()), Some(1200));
        assert_eq!(company_size(&" 1 200 ".into()), Some(1200));
        assert_eq!(company_size(&"100-500".into()), Some(100));
        assert_eq!(company_size(&"1000+".into()), Some(1000));
        assert_eq!(company_size(&"250.0".into()), Some(250));
        assert_eq!(company_size(&"lots".into()), None);
        assert_eq!(company_size(&"-5".into()), None);
        assert_eq!(company_size(&"".into()), None);
        assert_eq!(company_size(&"99999999999999999999999".into()), None);
        assert_eq!(company_size(&Value::Null), None);
    }

    #[test]
    fn all_conditions_must_hold_and_lists_match_case_insensitively() {
        let t = territory(
            r#"team = "na-enterprise"
               countries = ["US", "Canada"]
               industries = ["Software", "Fintech"]
               min_employees = 1000"#,
        );
        let fields = Fields::default();
        let hit = lead("1")
            .field("country", "us")
            .field("industry", "SOFTWARE")
            .field("numberofemployees", "1200")
            .build();
        assert_eq!(
            matches(&hit, &fields, &t).as_deref(),
            Some("country \"us\", industry \"SOFTWARE\", numberofemployees 1200 in 1000..")
        );
        let small = lead("2")
            .field("country", "US")
            .field("industry", "Software")
            .field("numberofemployees", 50)
            .build();
        assert_eq!(matches(&small, &fields, &t), None);
        let no_size = lead("3")
            .field("country", "US")
            .field("industry", "Software")
            .build();
        assert_eq!(
            matches(&no_size, &fields, &t),
            None,
            "a size range never matches an unknown size"
        );
    }

    #[test]
    fn a_multi_select_field_matches_on_any_item() {
        let t = territory(
            r#"team = "t"
                              industries = ["fintech"]"#,
        );
        let l = lead("1")
            .field("industry", vec!["Retail", "FinTech"])
            .build();
        assert!(matches(&l, &Fields::default(), &t).is_some());
    }

    #[test]
    fn describe_lists_what_was_looked_at() {
        let l = lead("1")
            .field("country", "Brazil")
            .field("numberofemployees", 40)
            .build();
        assert_eq!(
            describe(&l, &Fields::default()),
            "country \"Brazil\", state empty, industry empty, numberofemployees \"40\""
        );
    }
}
