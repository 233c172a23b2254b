//! Native tests: each config is TOML exactly as an admin writes it.

use leadwire_sdk::testing::*;
use leadwire_sdk::*;

use crate::RulesScorer;

fn run(config: &str, input: &Input) -> ScoreVerdict {
    let host = FakeHost::new().config_toml(config);
    host.run(|| RulesScorer::score(input)).unwrap()
}

fn error(config: &str) -> String {
    let host = FakeHost::new().config_toml(config);
    let input = lead("1").field("jobtitle", "VP Sales").input_at(NOW);
    host.run(|| RulesScorer::score(&input))
        .unwrap_err()
        .to_string()
}

fn rules_fired(v: &ScoreVerdict) -> Vec<(&str, f64)> {
    v.contributions
        .iter()
        .map(|c| (c.rule.as_str(), c.points))
        .collect()
}

fn reason<'a>(v: &'a ScoreVerdict, rule: &str) -> &'a str {
    &v.contributions
        .iter()
        .find(|c| c.rule == rule)
        .unwrap_or_else(|| panic!("{rule} did not fire: {v:?}"))
        .reason
}

fn page_view(url: &str) -> Vec<(&str, Value)> {
    vec![("url", url.into())]
}

/// The contributions always add up to the score.
fn assert_adds_up(v: &ScoreVerdict) {
    let sum: f64 = v.contributions.iter().map(|c| c.points).sum();
    assert!(
        (sum - v.value).abs() < 1e-9,
        "contributions sum to {sum}, score is {}",
        v.value
    );
}

// ---- field rules ----

const TITLE: &str = r#"
[[rules]]
name = "senior-title"
field = "jobtitle"
contains = ["VP", "Head", "Director"]
points = 20
"#;

#[test]
fn contains_is_case_insensitive_and_names_what_matched() {
    let v = run(
        TITLE,
        &lead("1").field("jobtitle", "VP Sales").input_at(NOW),
    );
    assert_eq!(rules_fired(&v), vec![("senior-title", 20.0)]);
    assert_eq!(
        reason(&v, "senior-title"),
        r#"jobtitle "VP Sales" contains "VP""#
    );
    assert_eq!(v.value, 20.0);

    let v = run(
        TITLE,
        &lead("1").field("jobtitle", "head of growth").input_at(NOW),
    );
    assert_eq!(
        reason(&v, "senior-title"),
        r#"jobtitle "head of growth" contains "Head""#
    );

    let v = run(
        TITLE,
        &lead("1")
            .field("jobtitle", "Account Executive")
            .input_at(NOW),
    );
    assert!(v.contributions.is_empty());
    assert_eq!(v.value, 0.0);
}

#[test]
fn case_folding_covers_non_ascii_letters() {
    let config = r#"
[[rules]]
name = "md"
field = "jobtitle"
contains = "geschäftsführer"
points = 20
[[rules]]
name = "france"
field = "country"
equals = "réunion"
points = 1
"#;
    let input = lead("1")
        .field("jobtitle", "GESCHÄFTSFÜHRER")
        .field("country", "RÉUNION")
        .input_at(NOW);
    let v = run(config, &input);
    assert_eq!(rules_fired(&v), vec![("md", 20.0), ("france", 1.0)]);
}

#[test]
fn numbers_in_text_are_plain_decimals() {
    use crate::conditions::parse_number;
    assert_eq!(parse_number("250"), Some(250.0));
    assert_eq!(parse_number(" -12.5 "), Some(-12.5));
    assert_eq!(parse_number("+3"), Some(3.0));
    assert_eq!(parse_number(".5"), Some(0.5));
    assert_eq!(parse_number("0.1"), Some(0.1));
    assert_eq!(parse_number("1000000.25"), Some(1000000.25));
    for bad in ["", "-", ".", "1,000", "12abc", "1e3", "1.2.3", "NaN", "ten"] {
        assert_eq!(parse_number(bad), None, "{bad}");
    }
}

#[test]
fn in_compares_numbers_as_numbers() {
    let config = r#"
[[rules]]
name = "round-sizes"
field = "numberofemployees"
in = [10, 50, 100]
points = 1
"#;
    assert_eq!(
        rules_fired(&run(
            config,
            &lead("1").field("numberofemployees", "50").input_at(NOW)
        )),
        vec![("round-sizes", 1.0)]
    );
    assert_eq!(
        rules_fired(&run(
            config,
            &lead("1").field("numberofemployees", 50.0).input_at(NOW)
        )),
        vec![("round-sizes", 1.0)]
    );
    assert!(
        run(
            config,
            &lead("1").field("numberofemployees", "51").input_at(NOW)
        )
        .contributions
        .is_empty()
    );
}

#[test]
fn field_rules_default_to_the_fit_group() {
    let v = run(
        TITLE,
        &lead("1").field("jobtitle", "Director IT").input_at(NOW),
    );
    assert_eq!(v.parts[0].name, "fit");
    assert_eq!(v.parts[0].value, 20.0);
    assert_eq!(v.parts[1].name, "engagement");
    assert_eq!(v.parts[1].value, 0.0);
}

#[test]
fn equals_compares_text_ignoring_case_numbers_and_booleans() {
    let config = r#"
[[rules]]
name = "software"
field = "industry"
equals = "computer_software"
points = 10
[[rules]]
name = "exactly-250"
field = "numberofemployees"
equals = 250
points = 1
[[rules]]
name = "opted-in"
field = "marketing_opt_in"
equals = true
points = 2
"#;
    let input = lead("1")
        .field("industry", " COMPUTER_SOFTWARE ")
        .field("numberofemployees", "250")
        .field("marketing_opt_in", "yes")
        .input_at(NOW);
    let v = run(config, &input);
    assert_eq!(
        rules_fired(&v),
        vec![("software", 10.0), ("exactly-250", 1.0), ("opted-in", 2.0)]
    );
    assert_eq!(
        reason(&v, "software"),
        r#"industry " COMPUTER_SOFTWARE " equals "computer_software""#
    );
    assert_eq!(
        reason(&v, "exactly-250"),
        r#"numberofemployees "250" equals 250"#
    );

    let input = lead("1")
        .field("industry", "RETAIL")
        .field("numberofemployees", 251)
        .field("marketing_opt_in", false)
        .input_at(NOW);
    assert!(run(config, &input).contributions.is_empty());
}

#[test]
fn in_matches_any_listed_value_and_any_item_of_a_multi_select() {
    let config = r#"
[[rules]]
name = "target-country"
field = "country"
in = ["United States", "Canada", "United Kingdom"]
points = 10
[[rules]]
name = "uses-crm"
field = "tools"
in = ["hubspot", "salesforce"]
points = 5
"#;
    let input = lead("1")
        .field("country", "canada")
        .field("tools", vec!["Slack", "HubSpot"])
        .input_at(NOW);
    let v = run(config, &input);
    assert_eq!(
        rules_fired(&v),
        vec![("target-country", 10.0), ("uses-crm", 5.0)]
    );
    assert_eq!(
        reason(&v, "target-country"),
        r#"country "canada" is one of ["United States", "Canada", "United Kingdom"]"#
    );
    assert_eq!(
        reason(&v, "uses-crm"),
        r#"tools "Slack;HubSpot" is one of ["hubspot", "salesforce"]"#
    );

    let v = run(config, &lead("1").field("country", "Germany").input_at(NOW));
    assert!(v.contributions.is_empty());
}

#[test]
fn a_long_in_list_is_shortened_in_the_reason() {
    let config = r#"
[[rules]]
name = "eu"
field = "country"
in = ["Austria", "Belgium", "Croatia", "Denmark", "Estonia", "France", "Germany"]
points = 3
"#;
    let v = run(config, &lead("1").field("country", "Germany").input_at(NOW));
    assert_eq!(
        reason(&v, "eu"),
        r#"country "Germany" is one of ["Austria", "Belgium", "Croatia", "Denmark", "Estonia", … 7 values in all]"#
    );
}

const SIZE: &str = r#"
[[rules]]
name = "small"
field = "numberofemployees"
max = 50
points = -10
[[rules]]
name = "mid-market"
field = "numberofemployees"
min = 200
max = 1000
points = 15
[[rules]]
name = "enterprise"
field = "numberofemployees"
min = 1000
points = 25
"#;

#[test]
fn ranges_include_min_and_exclude_max() {
    let cases = [
        (199.0, vec![]),
        (200.0, vec![("mid-market", 15.0)]),
        (999.0, vec![("mid-market", 15.0)]),
        (1000.0, vec![("enterprise", 25.0)]),
        (49.0, vec![("small", -10.0)]),
        (50.0, vec![]),
    ];
    for (employees, expected) in cases {
        let v = run(
            SIZE,
            &lead("1")
                .field("numberofemployees", employees)
                .input_at(NOW),
        );
        assert_eq!(rules_fired(&v), expected, "{employees} employees");
    }
}

#[test]
fn numbers_sent_as_text_are_compared_as_numbers() {
    let v = run(
        SIZE,
        &lead("1").field("numberofemployees", "250").input_at(NOW),
    );
    assert_eq!(rules_fired(&v), vec![("mid-market", 15.0)]);
    assert_eq!(
        reason(&v, "mid-market"),
        "numberofemployees 250 is in [200, 1000)"
    );

    let v = run(
        SIZE,
        &lead("1").field("numberofemployees", "5000").input_at(NOW),
    );
    assert_eq!(
        reason(&v, "enterprise"),
        "numberofemployees 5000 is at least 1000"
    );
    let v = run(
        SIZE,
        &lead("1").field("numberofemployees", 12).input_at(NOW),
    );
    assert_eq!(reason(&v, "small"), "numberofemployees 12 is below 50");
}

#[test]
fn text_that_is_not_a_number_fails_a_range() {
    let v = run(
        SIZE,
        &lead("1")
            .field("numberofemployees", "about 300")
            .input_at(NOW),
    );
    assert!(v.contributions.is_empty());
}

#[test]
fn negative_points_lower_the_score() {
    let v = run(
        SIZE,
        &lead("1").field("numberofemployees", 10).input_at(NOW),
    );
    assert_eq!(v.value, -10.0);
    assert_eq!(v.parts[0].value, -10.0);
}

const PRESENCE: &str = r#"
[[rules]]
name = "has-phone"
field = "phone"
present = true
points = 5
[[rules]]
name = "no-company"
field = "company"
missing = true
points = -5
"#;

#[test]
fn present_and_missing() {
    let v = run(
        PRESENCE,
        &lead("1")
            .field("phone", "+1 555 0100")
            .field("company", "Acme")
            .input_at(NOW),
    );
    assert_eq!(rules_fired(&v), vec![("has-phone", 5.0)]);
    assert_eq!(
        reason(&v, "has-phone"),
        r#"phone is present ("+1 555 0100")"#
    );

    let v = run(PRESENCE, &lead("1").input_at(NOW));
    assert_eq!(rules_fired(&v), vec![("no-company", -5.0)]);
    assert_eq!(reason(&v, "no-company"), "company is missing");
}

#[test]
fn null_and_empty_fields_count_as_missing() {
    for empty in [Value::Null, Value::Text("  ".into()), Value::List(vec![])] {
        let input = lead("1")
            .field("phone", empty.clone())
            .field("company", empty.clone())
            .input_at(NOW);
        let v = run(PRESENCE, &input);
        assert_eq!(rules_fired(&v), vec![("no-company", -5.0)], "{empty:?}");
    }
}

#[test]
fn rules_on_a_missing_field_do_not_fire() {
    let config = format!(
        "{TITLE}{SIZE}{}",
        r#"
[[rules]]
name = "not-retail"
field = "industry"
in = ["RETAIL"]
points = -20
[[rules]]
name = "hot"
field = "industry"
equals = ""
points = 1
"#
    );
    let input = lead("1").field("industry", Value::Null).input_at(NOW);
    let v = run(&config, &input);
    assert!(v.contributions.is_empty(), "{v:?}");
    assert_eq!(v.value, 0.0);
}

// ---- activity rules ----

const DEMO: &str = r#"
[[rules]]
name = "demo-request"
activity = "demo_request"
within_days = 30
points = 40
"#;

#[test]
fn an_activity_within_the_window_fires_once() {
    let input = lead("1")
        .activity("demo_request", NOW - 10 * DAY_MS)
        .activity("demo_request", NOW - 20 * DAY_MS)
        .input_at(NOW);
    let v = run(DEMO, &input);
    assert_eq!(rules_fired(&v), vec![("demo-request", 40.0)]);
    assert_eq!(
        reason(&v, "demo-request"),
        "2 demo_request in the last 30 days, latest 10 days ago"
    );
    assert_eq!(v.parts[1].name, "engagement");
    assert_eq!(v.parts[1].value, 40.0);
}

#[test]
fn an_activity_outside_the_window_or_in_the_future_does_not_count() {
    let input = lead("1")
        .activity("demo_request", NOW - 31 * DAY_MS)
        .activity("demo_request", NOW + DAY_MS)
        .input_at(NOW);
    assert!(run(DEMO, &input).contributions.is_empty());

    // exactly 30 days ago is still within 30 days
    let input = lead("1")
        .activity("demo_request", NOW - 30 * DAY_MS)
        .input_at(NOW);
    assert_eq!(
        rules_fired(&run(DEMO, &input)),
        vec![("demo-request", 40.0)]
    );
}

#[test]
fn without_within_days_any_past_activity_counts() {
    let config = r#"
[[rules]]
name = "ever-booked"
activity = ["meeting_booked", "demo_request"]
points = 10
"#;
    let input = lead("1")
        .activity("meeting_booked", NOW - 400 * DAY_MS)
        .input_at(NOW);
    let v = run(config, &input);
    assert_eq!(
        reason(&v, "ever-booked"),
        "1 meeting_booked or demo_request, latest 400 days ago"
    );
}

const PRICING: &str = r#"
[[rules]]
name = "pricing-views"
group = "engagement"
activity = "page_view"
where = { url = "/pricing" }
at_least = 3
within_days = 14
points = 15
"#;

#[test]
fn at_least_counts_only_activities_matching_where() {
    let two = lead("1")
        .activity_with("page_view", NOW - DAY_MS, page_view("https://x.io/pricing"))
        .activity_with(
            "page_view",
            NOW - 2 * DAY_MS,
            page_view("https://x.io/PRICING?plan=pro"),
        )
        .activity_with(
            "page_view",
            NOW - 2 * DAY_MS,
            page_view("https://x.io/blog"),
        )
        .activity_with(
            "page_view",
            NOW - 20 * DAY_MS,
            page_view("https://x.io/pricing"),
        )
        .activity("page_view", NOW - DAY_MS);
    assert!(run(PRICING, &two.input_at(NOW)).contributions.is_empty());

    let three = lead("1")
        .activity_with("page_view", NOW - DAY_MS, page_view("https://x.io/pricing"))
        .activity_with(
            "page_view",
            NOW - 2 * DAY_MS,
            page_view("https://x.io/PRICING?plan=pro"),
        )
        .activity_with(
            "page_view",
            NOW - 3 * DAY_MS,
            page_view("/pricing/enterprise"),
        )
        .input_at(NOW);
    let v = run(PRICING, &three);
    assert_eq!(rules_fired(&v), vec![("pricing-views", 15.0)]);
    assert_eq!(
        reason(&v, "pricing-views"),
        r#"3 page_view (url contains "/pricing") in the last 14 days, latest 1 day ago"#
    );
}

#[test]
fn where_needs_every_listed_property() {
    let config = r#"
[[rules]]
name = "contact-sales"
activity = "form_submit"
where = { form = "contact", page = "/pricing" }
points = 30
"#;
    let both = vec![
        ("form", "Contact Sales".into()),
        ("page", "https://x.io/pricing".into()),
    ];
    let v = run(
        config,
        &lead("1")
            .activity_with("form_submit", NOW - DAY_MS, both)
            .input_at(NOW),
    );
    assert_eq!(
        reason(&v, "contact-sales"),
        r#"1 form_submit (form contains "contact", page contains "/pricing"), latest 1 day ago"#
    );
    let one = vec![("form", "Contact Sales".into())];
    assert!(
        run(
            config,
            &lead("1")
                .activity_with("form_submit", NOW, one)
                .input_at(NOW)
        )
        .contributions
        .is_empty()
    );
}

#[test]
fn activity_kinds_ignore_case() {
    let input = lead("1")
        .activity("Demo_Request", NOW - DAY_MS)
        .input_at(NOW);
    assert_eq!(
        rules_fired(&run(DEMO, &input)),
        vec![("demo-request", 40.0)]
    );
}

#[test]
fn a_half_life_decays_the_most_recent_activity() {
    let config = r#"
[[rules]]
name = "demo-request"
activity = "demo_request"
points = 40
half_life_days = 30
"#;
    let input = lead("1")
        .activity("demo_request", NOW - 30 * DAY_MS)
        .activity("demo_request", NOW - 90 * DAY_MS)
        .input_at(NOW);
    let v = run(config, &input);
    assert_eq!(rules_fired(&v), vec![("demo-request", 20.0)]);
    assert_eq!(
        reason(&v, "demo-request"),
        "2 demo_request, latest 30 days ago; 40 points with a 30-day half-life"
    );

    // re-engaging brings the points back: decay never locks a lead out
    let input = lead("1")
        .activity("demo_request", NOW - 90 * DAY_MS)
        .activity("demo_request", NOW)
        .input_at(NOW);
    assert_eq!(
        rules_fired(&run(config, &input)),
        vec![("demo-request", 40.0)]
    );
}

#[test]
fn per_activity_sums_each_decayed_activity_up_to_max_points() {
    let config = r#"
[[rules]]
name = "email-clicks"
activity = "email_click"
within_days = 90
per_activity = true
points = 4
half_life_days = 7
max_points = 10
"#;
    // 4 + 4*0.5 + 4*0.25 = 7
    let input = lead("1")
        .activity("email_click", NOW)
        .activity("email_click", NOW - 7 * DAY_MS)
        .activity("email_click", NOW - 14 * DAY_MS)
        .input_at(NOW);
    let v = run(config, &input);
    assert_eq!(rules_fired(&v), vec![("email-clicks", 7.0)]);
    assert_eq!(
        reason(&v, "email-clicks"),
        "3 email_click in the last 90 days, latest today; 4 points each with a 7-day half-life"
    );

    let busy = (0..6).fold(lead("1"), |l, i| {
        l.activity("email_click", NOW - i * DAY_MS / 2)
    });
    let v = run(config, &busy.input_at(NOW));
    assert_eq!(rules_fired(&v), vec![("email-clicks", 10.0)]);
    assert!(
        reason(&v, "email-clicks").ends_with(", capped at 10"),
        "{}",
        reason(&v, "email-clicks")
    );
}

#[test]
fn per_activity_without_decay_is_points_times_count() {
    let config = r#"
[[rules]]
name = "opens"
activity = "email_open"
per_activity = true
points = 2
"#;
    let input = (0..3)
        .fold(lead("1"), |l, i| l.activity("email_open", NOW - i * DAY_MS))
        .input_at(NOW);
    let v = run(config, &input);
    assert_eq!(rules_fired(&v), vec![("opens", 6.0)]);
    assert!(reason(&v, "opens").ends_with("; 2 points each"));
}

#[test]
fn max_points_also_bounds_negative_rules() {
    let config = r#"
[[rules]]
name = "bounces"
activity = "email_bounce"
per_activity = true
points = -10
max_points = 15
"#;
    let input = (0..3)
        .fold(lead("1"), |l, i| {
            l.activity("email_bounce", NOW - i * DAY_MS)
        })
        .input_at(NOW);
    let v = run(config, &input);
    assert_eq!(rules_fired(&v), vec![("bounces", -15.0)]);
    assert_eq!(v.value, -15.0);
}

#[test]
fn decayed_points_are_rounded_to_two_decimals() {
    let config = r#"
[[rules]]
name = "pricing"
activity = "page_view"
points = 15
half_life_days = 7
"#;
    let input = lead("1").activity("page_view", NOW - DAY_MS).input_at(NOW);
    let v = run(config, &input);
    // 15 * 0.5^(1/7) = 13.5929...
    assert_eq!(rules_fired(&v), vec![("pricing", 13.59)]);
    assert_eq!(v.value, 13.59);
}

// ---- points tables ----

const TABLES: &str = r#"
[[rules]]
name = "industry"
field = "industry"
points_by_value = { COMPUTER_SOFTWARE = 12, FINANCIAL_SERVICES = 7, RETAIL = -3 }

[[rules]]
name = "company-size"
field = "numberofemployees"
bins = [50, 200, 1000]
points_by_bin = [-4, 6, 11, 15]
"#;

#[test]
fn points_by_value_gives_the_points_of_the_matching_value() {
    let v = run(
        TABLES,
        &lead("1")
            .field("industry", "computer_software")
            .input_at(NOW),
    );
    assert_eq!(rules_fired(&v), vec![("industry", 12.0)]);
    assert_eq!(
        reason(&v, "industry"),
        r#"industry "computer_software" equals "COMPUTER_SOFTWARE""#
    );
    assert_eq!(v.parts[0].value, 12.0);

    let v = run(TABLES, &lead("1").field("industry", "RETAIL").input_at(NOW));
    assert_eq!(rules_fired(&v), vec![("industry", -3.0)]);

    // a value not in the table, or no value, scores nothing
    assert!(
        run(TABLES, &lead("1").field("industry", "MINING").input_at(NOW))
            .contributions
            .is_empty()
    );
    assert!(
        run(TABLES, &lead("1").input_at(NOW))
            .contributions
            .is_empty()
    );
}

#[test]
fn bins_give_the_points_of_the_bin_the_number_is_in() {
    let cases = [
        ("0", -4.0, "numberofemployees 0 is below 50"),
        ("49", -4.0, "numberofemployees 49 is below 50"),
        ("50", 6.0, "numberofemployees 50 is in [50, 200)"),
        ("999", 11.0, "numberofemployees 999 is in [200, 1000)"),
        ("1000", 15.0, "numberofemployees 1000 is at least 1000"),
    ];
    for (employees, points, why) in cases {
        let v = run(
            TABLES,
            &lead("1")
                .field("numberofemployees", employees)
                .input_at(NOW),
        );
        assert_eq!(
            rules_fired(&v),
            vec![("company-size", points)],
            "{employees}"
        );
        assert_eq!(reason(&v, "company-size"), why);
    }
    assert!(
        run(
            TABLES,
            &lead("1").field("numberofemployees", "many").input_at(NOW)
        )
        .contributions
        .is_empty()
    );
}

#[test]
fn a_points_table_takes_a_group_caps_and_the_grade() {
    let config = format!("{TABLES}[caps]\nfit = 20\n[grade]\nfit = [20, 10]\nengagement = [10]\n");
    let input = lead("1")
        .field("industry", "COMPUTER_SOFTWARE")
        .field("numberofemployees", 5000)
        .input_at(NOW);
    let v = run(&config, &input);
    assert_eq!(
        rules_fired(&v),
        vec![
            ("industry", 12.0),
            ("company-size", 15.0),
            ("cap:fit", -7.0)
        ]
    );
    assert_eq!(v.grade.as_deref(), Some("A2"));
    assert_adds_up(&v);
}

#[test]
fn points_table_errors_name_the_field() {
    let cases = [
        (
            "points_by_value = { A = 1 }",
            "`rules[0].field` (rule \"t\"): a points table needs the `field` it scores",
        ),
        (
            "field = \"x\"\npoints_by_value = {}",
            "`rules[0].points_by_value` (rule \"t\"): the table is empty: give VALUE = points entries",
        ),
        (
            "field = \"x\"\npoints_by_value = { A = \"high\" }",
            "`rules[0].points_by_value.A` (rule \"t\"): expected a number, found text \"high\"",
        ),
        (
            "field = \"x\"\npoints_by_value = { A = 1 }\npoints = 3",
            "`rules[0].points` (rule \"t\"): `points` does not go with `points_by_value`: a points table is the rule's only test and gives its own points",
        ),
        (
            "field = \"x\"\npoints_by_value = { A = 1 }\ncontains = \"A\"",
            "`rules[0].contains` (rule \"t\"): `contains` does not go with `points_by_value`",
        ),
        (
            "field = \"x\"\npoints_by_value = { A = 1 }\nbins = [1]",
            "`rules[0].bins` (rule \"t\"): a points table is `points_by_value` or `bins`, not both",
        ),
        (
            "field = \"x\"\nbins = [1, 2]",
            "`rules[0].points_by_bin` (rule \"t\"): `bins` needs `points_by_bin`",
        ),
        (
            "field = \"x\"\npoints_by_bin = [1, 2]",
            "`rules[0].bins` (rule \"t\"): `points_by_bin` needs `bins`",
        ),
        (
            "field = \"x\"\nbins = [5, 2]\npoints_by_bin = [1, 2, 3]",
            "`rules[0].bins` (rule \"t\"): give the bin edges, lowest first",
        ),
        (
            "field = \"x\"\nbins = [2, 5]\npoints_by_bin = [1, 2]",
            "`rules[0].points_by_bin` (rule \"t\"): 2 points for 2 bin edges: give one more than the edges",
        ),
        (
            "field = \"x\"\nbins = [2, 5]\npoints_by_bin = [1, 2, 3]\nwithin_days = 3",
            "`rules[0].within_days` (rule \"t\"): `within_days` does not go with `bins`",
        ),
    ];
    for (body, expected) in cases {
        let err = error(&format!("[[rules]]\nname = \"t\"\n{body}\n"));
        assert!(
            err.starts_with(&format!("invalid config at {expected}")),
            "{body}: {err}"
        );
    }
}

// ---- groups, caps, floors ----

#[test]
fn a_group_cap_trims_and_says_so() {
    let config = r#"
[[rules]]
name = "vp"
field = "jobtitle"
contains = "VP"
points = 40
[[rules]]
name = "enterprise"
field = "numberofemployees"
min = 1000
points = 30
[caps]
fit = 60
"#;
    let input = lead("1")
        .field("jobtitle", "VP Sales")
        .field("numberofemployees", 5000)
        .input_at(NOW);
    let v = run(config, &input);
    assert_eq!(
        rules_fired(&v),
        vec![("vp", 40.0), ("enterprise", 30.0), ("cap:fit", -10.0)]
    );
    assert_eq!(reason(&v, "cap:fit"), "fit capped at 60 (rules gave 70)");
    assert_eq!(v.value, 60.0);
    assert_eq!(v.parts[0].value, 60.0);
    assert_adds_up(&v);
}

#[test]
fn total_cap_and_floors() {
    let config = r#"
[[rules]]
name = "vp"
field = "jobtitle"
contains = "VP"
points = 70
[[rules]]
name = "demo"
activity = "demo_request"
points = 50
[[rules]]
name = "student"
field = "jobtitle"
contains = "student"
points = -80
[caps]
total = 100
[floors]
total = 0
engagement = 0
"#;
    let v = run(
        config,
        &lead("1")
            .field("jobtitle", "VP Sales")
            .activity("demo_request", NOW)
            .input_at(NOW),
    );
    assert_eq!(
        rules_fired(&v),
        vec![("vp", 70.0), ("demo", 50.0), ("cap:total", -20.0)]
    );
    assert_eq!(
        reason(&v, "cap:total"),
        "total capped at 100 (groups gave 120)"
    );
    assert_eq!(v.value, 100.0);
    assert_adds_up(&v);

    let v = run(
        config,
        &lead("1").field("jobtitle", "Student").input_at(NOW),
    );
    assert_eq!(
        rules_fired(&v),
        vec![("student", -80.0), ("floor:total", 80.0)]
    );
    assert_eq!(
        reason(&v, "floor:total"),
        "total raised to its floor of 0 (groups gave -80)"
    );
    assert_eq!(v.value, 0.0);
    assert_eq!(v.parts[0].value, -80.0);
    assert_adds_up(&v);
}

#[test]
fn other_groups_count_in_the_total_and_are_listed_after_fit_and_engagement() {
    let config = r#"
[[rules]]
name = "partner-source"
group = "source"
field = "hs_analytics_source"
equals = "REFERRALS"
points = 10
[[rules]]
name = "vp"
field = "jobtitle"
contains = "VP"
points = 20
[caps]
source = 5
[grade]
fit = [20]
engagement = [10]
"#;
    let v = run(
        config,
        &lead("1")
            .field("jobtitle", "VP")
            .field("hs_analytics_source", "referrals")
            .input_at(NOW),
    );
    let parts: Vec<(&str, f64)> = v.parts.iter().map(|p| (p.name.as_str(), p.value)).collect();
    assert_eq!(
        parts,
        vec![("fit", 20.0), ("engagement", 0.0), ("source", 5.0)]
    );
    assert_eq!(v.value, 25.0);
    assert_eq!(v.grade.as_deref(), Some("A2"));
    assert_adds_up(&v);
}

// ---- grade ----

const BRIEF_EXAMPLE: &str = r#"
[[rules]]
name = "senior-title"
group = "fit"
field = "jobtitle"
contains = ["VP", "Head", "Director"]
points = 20
[[rules]]
name = "mid-market"
group = "fit"
field = "numberofemployees"
min = 200
max = 5000
points = 15
[[rules]]
name = "demo-request"
group = "engagement"
activity = "demo_request"
within_days = 30
points = 40
[[rules]]
name = "pricing-views"
group = "engagement"
activity = "page_view"
where = { url = "/pricing" }
at_least = 3
within_days = 14
points = 15
half_life_days = 7
[caps]
fit = 60
engagement = 60
total = 100
[grade]
fit = [40, 25, 10]
engagement = [40, 25, 10]
"#;

#[test]
fn the_grid_grade_combines_fit_letter_and_engagement_digit() {
    let cases = [
        // fit 20 + 15 = 35 -> B, engagement 40 -> 1
        ("VP Sales", 300, true, "B1"),
        // fit 15 -> C, engagement 0 -> 4
        ("Intern", 300, false, "C4"),
        // fit 0 -> D, engagement 40 -> 1
        ("Intern", 10, true, "D1"),
        // fit 20 -> C, engagement 0 -> 4
        ("Head of IT", 10, false, "C4"),
    ];
    for (title, employees, demo, grade) in cases {
        let mut l = lead("1")
            .field("jobtitle", title)
            .field("numberofemployees", employees);
        if demo {
            l = l.activity("demo_request", NOW - DAY_MS);
        }
        let v = run(BRIEF_EXAMPLE, &l.input_at(NOW));
        assert_eq!(
            v.grade.as_deref(),
            Some(grade),
            "{title} {employees} {demo}: {v:?}"
        );
    }
}

#[test]
fn the_brief_example_scores_a_vp_with_a_demo_and_pricing_views_b1() {
    let input = lead("1")
        .field("jobtitle", "VP Sales")
        .field("numberofemployees", "250")
        .activity("demo_request", NOW - 2 * DAY_MS)
        .activity_with("page_view", NOW - DAY_MS, page_view("/pricing"))
        .activity_with("page_view", NOW - 3 * DAY_MS, page_view("/pricing"))
        .activity_with("page_view", NOW - 5 * DAY_MS, page_view("/pricing"))
        .input_at(NOW);
    let v = run(BRIEF_EXAMPLE, &input);
    // fit 20 + 15 = 35 (B); engagement 40 + 15*0.5^(1/7) = 53.59 (1)
    assert_eq!(
        rules_fired(&v),
        vec![
            ("senior-title", 20.0),
            ("mid-market", 15.0),
            ("demo-request", 40.0),
            ("pricing-views", 13.59)
        ]
    );
    assert_eq!(v.grade.as_deref(), Some("B1"));
    assert_eq!(v.value, 88.59);
    assert_eq!(v.parts[0].value, 35.0);
    assert_eq!(v.parts[1].value, 53.59);
    assert_adds_up(&v);
}

#[test]
fn no_grade_section_means_no_grade() {
    let v = run(TITLE, &lead("1").field("jobtitle", "VP").input_at(NOW));
    assert_eq!(v.grade, None);
}

#[test]
fn grade_labels_are_configurable() {
    let config = format!(
        "{TITLE}{}",
        r#"
[grade]
fit = [20, 10]
engagement = [30]
fit_letters = ["A+", "B", "F"]
engagement_digits = ["-hot", "-cold"]
"#
    );
    let v = run(&config, &lead("1").field("jobtitle", "VP").input_at(NOW));
    assert_eq!(v.grade.as_deref(), Some("A+-cold"));
}

#[test]
fn a_log_line_summarises_the_score() {
    let host = FakeHost::new().config_toml(BRIEF_EXAMPLE);
    let input = lead("1").field("jobtitle", "VP Sales").input_at(NOW);
    host.run(|| RulesScorer::score(&input)).unwrap();
    assert_eq!(
        host.logs(),
        vec!["INFO score 20 (fit 20, engagement 0), grade C4: 1 of 4 rule(s) fired"]
    );
}

// ---- config errors ----

#[test]
fn an_empty_config_is_an_error() {
    assert_eq!(
        error(""),
        "invalid config at `rules`: no rules: add at least one [[rules]] entry"
    );
}

#[test]
fn unknown_keys_are_rejected_by_name() {
    let err = error("[[rules]]\nname = \"x\"\nfield = \"jobtitle\"\npresent = true\npointz = 3\n");
    assert_eq!(
        err,
        "invalid config at `rules[0].pointz` (rule \"x\"): unknown key `pointz`: did you mean `points`?"
    );

    let err = error("[[rule]]\nname = \"x\"\n");
    assert_eq!(
        err,
        "invalid config at `rule`: unknown key `rule`: did you mean `rules`?"
    );

    let err = error(&format!(
        "{TITLE}[grade]\nfit = [1]\nengagement = [1]\nletters = [\"A\"]\n"
    ));
    assert_eq!(
        err,
        "invalid config at `grade.letters`: unknown key `letters`; expected one of: fit, engagement, fit_letters, engagement_digits"
    );

    let err =
        error("[[rules]]\nname = \"x\"\nfield = \"x\"\npresent = true\npoints = 1\nweight = 2\n");
    assert!(
        err.starts_with("invalid config at `rules[0].weight` (rule \"x\"): unknown key `weight`; expected one of: name, group, points,"),
        "{err}"
    );

    // a typo is reported as such, not as the key it should have been
    let err = error("[[rules]]\nnmae = \"x\"\nfield = \"jobtitle\"\npresent = true\npoints = 3\n");
    assert_eq!(
        err,
        "invalid config at `rules[0].nmae`: unknown key `nmae`: did you mean `name`?"
    );
}

#[test]
fn a_rule_needs_exactly_one_condition() {
    let err = error(
        "[[rules]]\nname = \"vp\"\nfield = \"jobtitle\"\ncontains = \"VP\"\nequals = \"VP\"\npoints = 1\n",
    );
    assert_eq!(
        err,
        "invalid config at `rules[0].contains` (rule \"vp\"): one test per condition, found `equals` and `contains`: split it into several"
    );

    let err = error("[[rules]]\nname = \"vp\"\nfield = \"jobtitle\"\npoints = 1\n");
    assert!(
        err.starts_with(
            "invalid config at `rules[0].field` (rule \"vp\"): field `jobtitle` needs one test"
        ),
        "{err}"
    );

    let err = error("[[rules]]\nname = \"vp\"\npoints = 1\n");
    assert!(
        err.contains("rules[0].field") && err.contains("needs a condition"),
        "{err}"
    );

    let err = error(
        "[[rules]]\nname = \"x\"\nfield = \"jobtitle\"\nactivity = \"page_view\"\npoints = 1\n",
    );
    assert!(
        err.contains("rules[0].activity") && err.contains("not both"),
        "{err}"
    );

    let err = error("[[rules]]\nname = \"x\"\ncontains = \"VP\"\npoints = 1\n");
    assert!(
        err.contains("rules[0].contains") && err.contains("needs a `field`"),
        "{err}"
    );
}

#[test]
fn keys_of_the_wrong_kind_of_rule_are_errors() {
    let err = error(
        "[[rules]]\nname = \"x\"\nfield = \"jobtitle\"\npresent = true\nhalf_life_days = 7\npoints = 1\n",
    );
    assert!(
        err.contains("rules[0].half_life_days") && err.contains("applies to `activity` rules"),
        "{err}"
    );

    let err = error(
        "[[rules]]\nname = \"x\"\nfield = \"jobtitle\"\npresent = true\nwithin_days = 7\npoints = 1\n",
    );
    assert!(
        err.contains("rules[0].within_days") && err.contains("applies to `activity` conditions"),
        "{err}"
    );

    let err = error("[[rules]]\nname = \"x\"\nactivity = \"page_view\"\nmin = 3\npoints = 1\n");
    assert!(
        err.contains("rules[0].min") && err.contains("applies to `field` conditions"),
        "{err}"
    );
}

#[test]
fn bad_values_are_errors_naming_the_field() {
    let cases = [
        ("field = \"x\"\npresent = false", "rules[0].present"),
        ("field = \"x\"\nmissing = false", "rules[0].missing"),
        ("field = \"x\"\nmin = 10\nmax = 10", "rules[0].max"),
        ("field = \"x\"\nin = []", "rules[0].in"),
        ("field = \"x\"\ncontains = [\"\"]", "rules[0].contains"),
        ("field = \"\"\npresent = true", "rules[0].field"),
        (
            "activity = \"page_view\"\nwithin_days = 0",
            "rules[0].within_days",
        ),
        (
            "activity = \"page_view\"\nat_least = 0",
            "rules[0].at_least",
        ),
        (
            "activity = \"page_view\"\nhalf_life_days = -7",
            "rules[0].half_life_days",
        ),
        (
            "activity = \"page_view\"\nmax_points = 0",
            "rules[0].max_points",
        ),
        ("activity = []", "rules[0].activity"),
        (
            "activity = \"page_view\"\nwhere = { url = \"\" }",
            "rules[0].where.url",
        ),
        (
            "activity = \"page_view\"\nwhere = { url = 3 }",
            "rules[0].where.url",
        ),
        (
            "activity = \"page_view\"\ngroup = \"total\"",
            "rules[0].group",
        ),
    ];
    for (body, at) in cases {
        let err = error(&format!("[[rules]]\nname = \"r\"\npoints = 1\n{body}\n"));
        assert!(
            err.starts_with(&format!("invalid config at `{at}` (rule \"r\"): ")),
            "{body}: {err}"
        );
    }
}

#[test]
fn wrong_types_are_errors_naming_the_field() {
    let cases = [
        (
            "points = \"lots\"\nfield = \"x\"\npresent = true",
            "`rules[0].points` (rule \"r\"): expected a number, found text \"lots\"",
        ),
        (
            "points = 1\nfield = \"x\"\nequals = { a = 1 }",
            "`rules[0].equals` (rule \"r\"): expected a text, a number or true/false, found a table",
        ),
        (
            "points = 1\nfield = \"x\"\nin = [\"a\", []]",
            "`rules[0].in[1]` (rule \"r\"): expected a text, a number or true/false, found a list",
        ),
        (
            "points = 1\nactivity = \"page_view\"\nat_least = -1",
            "`rules[0].at_least` (rule \"r\"): expected a whole number, found -1",
        ),
        (
            "points = 1\nactivity = \"page_view\"\nat_least = 2.5",
            "`rules[0].at_least` (rule \"r\"): expected a whole number, found 2.5",
        ),
        (
            "points = 1\nfield = \"x\"\ncontains = 3",
            "`rules[0].contains` (rule \"r\"): expected a text or a list of texts, found the number 3",
        ),
        (
            "points = 1\nfield = \"x\"\ncontains = [\"a\", 3]",
            "`rules[0].contains[1]` (rule \"r\"): expected a text, found the number 3",
        ),
        (
            "points = 1\nfield = \"x\"\npresent = \"yes\"",
            "`rules[0].present` (rule \"r\"): expected true or false, found text \"yes\"",
        ),
        (
            "field = \"x\"\npresent = true",
            "`rules[0].points` (rule \"r\"): every rule needs points, e.g. `points = 10`",
        ),
    ];
    for (body, expected) in cases {
        let err = error(&format!("[[rules]]\nname = \"r\"\n{body}\n"));
        assert_eq!(err, format!("invalid config at {expected}"), "{body}");
    }
    let err = error("[[rules]]\nfield = \"x\"\npresent = true\npoints = 1\n");
    assert_eq!(
        err,
        "invalid config at `rules[0].name`: every rule needs a name"
    );
    let err = error("rules = 3");
    assert_eq!(
        err,
        "invalid config at `rules`: expected a list, found the number 3"
    );
    let err = error("rules = [3]");
    assert_eq!(
        err,
        "invalid config at `rules[0]`: expected a table, found the number 3"
    );
}

#[test]
fn rule_names_must_be_unique() {
    let err = error(&format!("{TITLE}{TITLE}"));
    assert_eq!(
        err,
        "invalid config at `rules[1].name`: rule name \"senior-title\" is used twice: names must be unique"
    );
}

#[test]
fn caps_and_floors_must_name_a_group() {
    let err = error(&format!("{TITLE}[caps]\nfti = 60\n"));
    assert_eq!(
        err,
        "invalid config at `caps.fti`: no rule is in group \"fti\" (groups: fit, engagement, or `total`)"
    );
    let err = error(&format!(
        "{TITLE}[caps]\ntotal = 10\n[floors]\ntotal = 20\n"
    ));
    assert!(err.starts_with("invalid config at `floors.total`"), "{err}");
}

#[test]
fn grade_thresholds_are_validated() {
    let err = error(&format!(
        "{TITLE}[grade]\nfit = [10, 25, 40]\nengagement = [40]\n"
    ));
    assert_eq!(
        err,
        "invalid config at `grade.fit`: thresholds must go from highest to lowest, e.g. [40, 25, 10]"
    );
    let err = error(&format!("{TITLE}[grade]\nfit = [10]\n"));
    assert_eq!(
        err,
        "invalid config at `grade.engagement`: give the engagement thresholds, highest first, e.g. engagement = [40, 25, 10]"
    );
    let err = error(&format!(
        "{TITLE}[grade]\nfit = [10, \"x\"]\nengagement = [1]\n"
    ));
    assert_eq!(
        err,
        "invalid config at `grade.fit[1]`: expected a number, found text \"x\""
    );
    let err = error(&format!("{TITLE}[caps]\nfit = \"60\"\n"));
    assert_eq!(
        err,
        "invalid config at `caps.fit`: expected a number, found text \"60\""
    );
}

// ---- the README's examples are real configs ----

/// The TOML block that follows `marker` in the README.
fn readme_block(marker: &str) -> String {
    let readme = include_str!("../README.md");
    let start = readme
        .find(marker)
        .unwrap_or_else(|| panic!("README has no {marker}"));
    let rest = &readme[start..];
    let open = rest.find("```toml\n").unwrap() + "```toml\n".len();
    let close = rest[open..].find("```").unwrap();
    rest[open..open + close].to_string()
}

/// The `config` table of `[plugins.<install>]` in a leadwire.toml snippet, as
/// the plugin's own TOML (what the host hands over as JSON).
fn install_config(leadwire_toml: &str, install: &str) -> String {
    let table = format!("[plugins.{install}.config]");
    let start = leadwire_toml
        .find(&table)
        .unwrap_or_else(|| panic!("no {table}"))
        + table.len();
    leadwire_toml[start..]
        .lines()
        .map(|line| line.replacen(&format!("[plugins.{install}.config."), "[", 1))
        .collect::<Vec<_>>()
        .join("\n")
}

fn hot_lead() -> Input {
    lead("1")
        .field("jobtitle", "VP of Sales")
        .field("numberofemployees", "450")
        .field("industry", "COMPUTER_SOFTWARE")
        .field("country", "United States")
        .field("hs_analytics_source", "ORGANIC_SEARCH")
        .activity("demo_request", NOW - 2 * DAY_MS)
        .activity_with(
            "page_view",
            NOW - DAY_MS,
            page_view("https://acme.io/pricing"),
        )
        .activity_with(
            "page_view",
            NOW - 2 * DAY_MS,
            page_view("https://acme.io/pricing"),
        )
        .activity_with(
            "page_view",
            NOW - 4 * DAY_MS,
            page_view("https://acme.io/pricing"),
        )
        .activity("email_click", NOW - 3 * DAY_MS)
        .input_at(NOW)
}

#[test]
fn the_readme_full_example_is_valid_and_scores() {
    let config = readme_block("<!-- full-example -->");
    let v = run(&config, &hot_lead());
    assert!(v.value > 60.0, "{v:?}");
    assert_eq!(v.grade.as_deref().map(|g| &g[..1]), Some("A"));
    assert_adds_up(&v);

    let cold = lead("2")
        .field("jobtitle", "Student")
        .field("numberofemployees", 3)
        .input_at(NOW);
    let v = run(&config, &cold);
    assert_eq!(v.value, 0.0);
    assert_adds_up(&v);
}

#[test]
fn the_readme_quickstart_block_is_valid_and_scores() {
    let block = readme_block("<!-- quickstart -->");
    assert!(
        block.starts_with("[plugins.scorer]\npath = \"../../target/plugins/rules_scorer.wasm\"\n"),
        "{block}"
    );
    let host = FakeHost::new().config_toml(&install_config(&block, "scorer"));

    let v = host.run(|| RulesScorer::score(&hot_lead())).unwrap();
    assert_eq!(v.grade.as_deref(), Some("A1"), "{v:?}");
    assert_adds_up(&v);

    let cold = lead("2")
        .field("jobtitle", "Student")
        .field("country", "Other")
        .input_at(NOW);
    let v = host.run(|| RulesScorer::score(&cold)).unwrap();
    assert_eq!(v.grade.as_deref(), Some("D4"), "{v:?}");
    assert_adds_up(&v);
}

#[test]
fn the_readme_points_table_examples_are_valid_and_score() {
    let config = readme_block("<!-- points-table -->");
    let input = lead("1")
        .field("industry", "INTERNET")
        .field("numberofemployees", "450")
        .input_at(NOW);
    let v = run(&config, &input);
    assert_eq!(
        rules_fired(&v),
        vec![("industry", 5.0), ("company-size", 11.0)]
    );

    let config = readme_block("<!-- one-line-rules -->");
    let input = lead("1")
        .field("industry", "INTERNET")
        .field("numberofemployees", "50")
        .input_at(NOW);
    let v = run(&config, &input);
    assert_eq!(
        rules_fired(&v),
        vec![
            ("industry:other-tech", 5.0),
            ("numberofemployees:50-200", 6.0)
        ]
    );
}
