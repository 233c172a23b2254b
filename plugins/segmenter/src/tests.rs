//! Native tests: each config is TOML exactly as an admin writes it.

use leadwire_sdk::testing::*;
use leadwire_sdk::*;

use crate::Segmenter;

fn run(config: &str, input: &Input) -> SegmentVerdict {
    let host = FakeHost::new().config_toml(config);
    host.run(|| Segmenter::segment(input)).unwrap()
}

fn error(config: &str) -> String {
    let host = FakeHost::new().config_toml(config);
    let input = lead("1").input_at(NOW);
    host.run(|| Segmenter::segment(&input))
        .unwrap_err()
        .to_string()
}

fn names(v: &SegmentVerdict) -> Vec<&str> {
    v.segments.iter().map(|s| s.name.as_str()).collect()
}

fn reason<'a>(v: &'a SegmentVerdict, segment: &str) -> &'a str {
    &v.segments
        .iter()
        .find(|s| s.name == segment)
        .unwrap_or_else(|| panic!("no segment {segment}: {v:?}"))
        .reason
}

/// An earlier scoring step's verdict.
fn scored(value: f64, grade: Option<&str>) -> Verdict {
    Verdict::Score(ScoreVerdict {
        value,
        grade: grade.map(String::from),
        parts: Vec::new(),
        contributions: Vec::new(),
    })
}

/// An earlier segmentation step's verdict.
fn segmented(segments: &[&str], stage: Option<&str>) -> Verdict {
    Verdict::Segmentation(SegmentVerdict {
        segments: segments
            .iter()
            .map(|s| Segment::new(*s, "earlier"))
            .collect(),
        lifecycle_stage: stage.map(String::from),
        stage_reason: None,
    })
}

// ---- segments ----

const SEGMENTS: &str = r#"
[[segments]]
name = "enterprise"
all = [
  { field = "numberofemployees", min = 1000 },
  { field = "country", in = ["United States", "Canada"] },
]

[[segments]]
name = "software"
any = [
  { field = "industry", equals = "COMPUTER_SOFTWARE" },
  { field = "industry", equals = "INTERNET" },
]

[[segments]]
name = "decision-maker"
all = [{ field = "jobtitle", contains = ["VP", "Chief", "Head of"] }]
"#;

fn software_vp(employees: &str, country: &str) -> LeadBuilder {
    lead("1")
        .field("numberofemployees", employees)
        .field("country", country)
        .field("industry", "INTERNET")
        .field("jobtitle", "VP Engineering")
}

fn big_software_vp() -> LeadBuilder {
    software_vp("5000", "canada")
}

#[test]
fn mode_all_gives_every_matching_segment_with_its_reasons() {
    let v = run(SEGMENTS, &big_software_vp().input_at(NOW));
    assert_eq!(names(&v), vec!["enterprise", "software", "decision-maker"]);
    assert_eq!(
        reason(&v, "enterprise"),
        r#"numberofemployees 5000 is at least 1000 and country "canada" is one of ["United States", "Canada"]"#
    );
    assert_eq!(
        reason(&v, "software"),
        r#"industry "INTERNET" equals "INTERNET""#
    );
    assert_eq!(
        reason(&v, "decision-maker"),
        r#"jobtitle "VP Engineering" contains "VP""#
    );
    assert_eq!(v.lifecycle_stage, None);
    assert_eq!(v.stage_reason, None);
}

#[test]
fn all_needs_every_condition() {
    let input = software_vp("5000", "Germany").input_at(NOW);
    let v = run(SEGMENTS, &input);
    assert_eq!(names(&v), vec!["software", "decision-maker"]);
}

#[test]
fn mode_first_gives_only_the_first_match() {
    let config = format!("mode = \"first\"\n{SEGMENTS}");
    let v = run(&config, &big_software_vp().input_at(NOW));
    assert_eq!(names(&v), vec!["enterprise"]);

    let v = run(&config, &software_vp("20", "canada").input_at(NOW));
    assert_eq!(names(&v), vec!["software"]);
}

#[test]
fn all_and_any_together() {
    let config = r#"
[[segments]]
name = "hot-enterprise"
all = [{ field = "numberofemployees", min = 1000 }]
any = [
  { activity = "demo_request", within_days = 30 },
  { activity = "page_view", where = { url = "/pricing" }, at_least = 2, within_days = 14 },
]
"#;
    let views = lead("1")
        .field("numberofemployees", 1000)
        .activity_with("page_view", NOW - DAY_MS, vec![("url", "/pricing".into())])
        .activity_with(
            "page_view",
            NOW - 2 * DAY_MS,
            vec![("url", "/pricing".into())],
        );
    let v = run(config, &views.input_at(NOW));
    assert_eq!(
        reason(&v, "hot-enterprise"),
        r#"numberofemployees 1000 is at least 1000 and 2 page_view (url contains "/pricing") in the last 14 days, latest 1 day ago"#
    );

    let stale = lead("1")
        .field("numberofemployees", 1000)
        .activity("demo_request", NOW - 40 * DAY_MS);
    assert!(run(config, &stale.input_at(NOW)).segments.is_empty());
}

#[test]
fn a_fallback_segment_when_nothing_matched() {
    let config = format!("fallback = \"unsegmented\"\n{SEGMENTS}");
    let v = run(
        &config,
        &lead("1").field("jobtitle", "Intern").input_at(NOW),
    );
    assert_eq!(names(&v), vec!["unsegmented"]);
    assert_eq!(reason(&v, "unsegmented"), "no segment rule matched");

    let v = run(&config, &big_software_vp().input_at(NOW));
    assert!(!names(&v).contains(&"unsegmented"));
}

#[test]
fn missing_fields_fail_every_test_but_missing() {
    let config = r#"
[[segments]]
name = "no-company-data"
all = [{ field = "numberofemployees", missing = true }, { field = "industry", missing = true }]
[[segments]]
name = "small"
all = [{ field = "numberofemployees", max = 50 }]
"#;
    let v = run(
        config,
        &lead("1")
            .field("numberofemployees", Value::Null)
            .input_at(NOW),
    );
    assert_eq!(names(&v), vec!["no-company-data"]);
    assert_eq!(
        reason(&v, "no-company-data"),
        "numberofemployees is missing and industry is missing"
    );
}

#[test]
fn score_conditions_read_the_earlier_score() {
    let config = r#"
[[segments]]
name = "hot"
all = [{ score_at_least = 60 }]
[[segments]]
name = "cold"
all = [{ score_below = 20 }]
"#;
    let v = run(
        config,
        &lead("1")
            .input_at(NOW)
            .with_prior("score", scored(72.5, None)),
    );
    assert_eq!(names(&v), vec!["hot"]);
    assert_eq!(reason(&v, "hot"), "score 72.5 is at least 60");

    let v = run(
        config,
        &lead("1")
            .input_at(NOW)
            .with_prior("score", scored(0.0, None)),
    );
    assert_eq!(names(&v), vec!["cold"]);
    assert_eq!(reason(&v, "cold"), "score 0 is below 20");

    // no score is not a zero score
    assert!(run(config, &lead("1").input_at(NOW)).segments.is_empty());
}

#[test]
fn the_latest_earlier_score_counts() {
    let config = "[[segments]]\nname = \"hot\"\nall = [{ score_at_least = 60 }]\n";
    let input = lead("1")
        .input_at(NOW)
        .with_prior("first-score", scored(90.0, None))
        .with_prior("second-score", scored(10.0, None));
    assert!(run(config, &input).segments.is_empty());
}

#[test]
fn grade_in_reads_the_earlier_grade() {
    let config = r#"
[[segments]]
name = "top-grade"
all = [{ grade_in = ["A1", "A2", "B1"] }]
"#;
    let v = run(
        config,
        &lead("1")
            .input_at(NOW)
            .with_prior("score", scored(80.0, Some("a2"))),
    );
    assert_eq!(
        reason(&v, "top-grade"),
        r#"grade "a2" is one of ["A1", "A2", "B1"]"#
    );
    assert!(
        run(
            config,
            &lead("1")
                .input_at(NOW)
                .with_prior("score", scored(80.0, Some("C1")))
        )
        .segments
        .is_empty()
    );
    assert!(
        run(
            config,
            &lead("1")
                .input_at(NOW)
                .with_prior("score", scored(80.0, None))
        )
        .segments
        .is_empty()
    );
}

#[test]
fn segment_conditions_see_earlier_steps_and_earlier_entries() {
    let config = r#"
[[segments]]
name = "enterprise"
all = [{ field = "numberofemployees", min = 1000 }]
[[segments]]
name = "strategic"
all = [{ segment = "enterprise" }, { segment = ["abm-target", "partner"] }]
"#;
    let input = lead("1")
        .field("numberofemployees", 2000)
        .input_at(NOW)
        .with_prior("tagger", segmented(&["abm-target"], None));
    let v = run(config, &input);
    assert_eq!(names(&v), vec!["enterprise", "strategic"]);
    assert_eq!(
        reason(&v, "strategic"),
        r#"in segment "enterprise" and in segment "abm-target" (from an earlier step)"#
    );

    let v = run(
        config,
        &lead("1").field("numberofemployees", 2000).input_at(NOW),
    );
    assert_eq!(names(&v), vec!["enterprise"]);
}

#[test]
fn stage_in_reads_the_current_stage() {
    let config = r#"
[[segments]]
name = "in-funnel"
all = [{ stage_in = ["lead", "mql"] }]
"#;
    let v = run(config, &lead("1").stage("MQL").input_at(NOW));
    assert_eq!(
        reason(&v, "in-funnel"),
        r#"lifecycle stage "MQL" is one of ["lead", "mql"]"#
    );
    // an earlier step's stage wins over the CRM's
    let input = lead("1")
        .stage("subscriber")
        .input_at(NOW)
        .with_prior("seg", segmented(&[], Some("lead")));
    assert_eq!(names(&run(config, &input)), vec!["in-funnel"]);
    assert!(
        run(config, &lead("1").stage("customer").input_at(NOW))
            .segments
            .is_empty()
    );
    assert!(run(config, &lead("1").input_at(NOW)).segments.is_empty());
}

#[test]
fn a_log_line_summarises_the_verdict() {
    let host = FakeHost::new().config_toml(SEGMENTS);
    let input = big_software_vp().input_at(NOW);
    host.run(|| Segmenter::segment(&input)).unwrap();
    assert_eq!(
        host.logs(),
        vec!["INFO segments: enterprise, software, decision-maker"]
    );
}

// ---- lifecycle ----

const LIFECYCLE: &str = r#"
[[lifecycle.rules]]
stage = "mql"
all = [{ score_at_least = 60 }]

[[lifecycle.rules]]
stage = "sql"
any = [
  { activity = "demo_request", within_days = 30 },
  { activity = "form_submit", where = { form = "contact-sales" }, within_days = 30 },
]
"#;

fn stage(v: &SegmentVerdict) -> (Option<&str>, &str) {
    (
        v.lifecycle_stage.as_deref(),
        v.stage_reason.as_deref().unwrap_or("<none>"),
    )
}

#[test]
fn a_score_threshold_makes_an_mql() {
    let input = lead("1")
        .stage("lead")
        .input_at(NOW)
        .with_prior("score", scored(72.0, None));
    let v = run(LIFECYCLE, &input);
    assert_eq!(
        stage(&v),
        (Some("mql"), "lead → mql: score 72 is at least 60")
    );
    assert!(v.segments.is_empty());

    let input = lead("1")
        .input_at(NOW)
        .with_prior("score", scored(72.0, None));
    assert_eq!(
        stage(&run(LIFECYCLE, &input)),
        (Some("mql"), "mql: score 72 is at least 60")
    );
}

#[test]
fn a_hand_raise_makes_an_sql_even_with_a_low_score() {
    let input = lead("1")
        .stage("lead")
        .activity_with(
            "form_submit",
            NOW - DAY_MS,
            vec![("form", "Contact-Sales (pricing page)".into())],
        )
        .input_at(NOW)
        .with_prior("score", scored(10.0, None));
    assert_eq!(
        stage(&run(LIFECYCLE, &input)),
        (
            Some("sql"),
            r#"lead → sql: 1 form_submit (form contains "contact-sales") in the last 30 days, latest 1 day ago"#
        )
    );
}

#[test]
fn the_most_advanced_matching_stage_wins() {
    let input = lead("1")
        .stage("subscriber")
        .activity("demo_request", NOW - DAY_MS)
        .input_at(NOW)
        .with_prior("score", scored(95.0, None));
    assert_eq!(
        stage(&run(LIFECYCLE, &input)),
        (
            Some("sql"),
            "subscriber → sql: 1 demo_request in the last 30 days, latest 1 day ago"
        )
    );
}

#[test]
fn stages_never_go_backwards() {
    let input = lead("1")
        .stage("sql")
        .input_at(NOW)
        .with_prior("score", scored(72.0, None));
    assert_eq!(
        stage(&run(LIFECYCLE, &input)),
        (
            None,
            "stays sql: stages never go backwards (the mql rule matched: score 72 is at least 60)"
        )
    );
    let input = lead("1")
        .stage("Customer")
        .input_at(NOW)
        .with_prior("score", scored(72.0, None));
    assert_eq!(stage(&run(LIFECYCLE, &input)).0, None);
}

#[test]
fn allow_backwards_lets_a_stage_go_back() {
    let config = format!("[lifecycle]\nallow_backwards = true\n{LIFECYCLE}");
    let input = lead("1")
        .stage("sql")
        .input_at(NOW)
        .with_prior("score", scored(72.0, None));
    assert_eq!(
        stage(&run(&config, &input)),
        (
            Some("mql"),
            "sql → mql (allow_backwards): score 72 is at least 60"
        )
    );
}

#[test]
fn the_same_stage_is_no_change() {
    let input = lead("1")
        .stage("mql")
        .input_at(NOW)
        .with_prior("score", scored(72.0, None));
    assert_eq!(
        stage(&run(LIFECYCLE, &input)),
        (None, "stays mql: score 72 is at least 60")
    );
}

#[test]
fn an_unknown_current_stage_is_left_alone() {
    let input = lead("1")
        .stage("evangelist")
        .input_at(NOW)
        .with_prior("score", scored(72.0, None));
    assert_eq!(
        stage(&run(LIFECYCLE, &input)),
        (
            None,
            "stays evangelist: it is not in lifecycle.stages, so it is left alone (the mql rule matched: score 72 is at least 60)"
        )
    );
}

#[test]
fn no_matching_rule_leaves_the_stage_and_says_so() {
    let v = run(
        LIFECYCLE,
        &lead("1")
            .stage("lead")
            .input_at(NOW)
            .with_prior("score", scored(10.0, None)),
    );
    assert_eq!(stage(&v), (None, "no lifecycle rule matched; stays lead"));
    let v = run(LIFECYCLE, &lead("1").input_at(NOW));
    assert_eq!(stage(&v), (None, "no lifecycle rule matched"));
}

#[test]
fn an_earlier_steps_stage_is_the_current_stage() {
    let input = lead("1")
        .stage("lead")
        .input_at(NOW)
        .with_prior("score", scored(72.0, None))
        .with_prior("first-segmenter", segmented(&[], Some("sql")));
    assert_eq!(stage(&run(LIFECYCLE, &input)).0, None);
}

#[test]
fn custom_stages_such_as_hubspots_internal_names() {
    let config = r#"
[lifecycle]
stages = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"]

[[lifecycle.rules]]
stage = "marketingqualifiedlead"
all = [{ score_at_least = 60 }]
"#;
    let input = lead("1")
        .stage("LEAD")
        .input_at(NOW)
        .with_prior("score", scored(60.0, None));
    assert_eq!(
        stage(&run(config, &input)),
        (
            Some("marketingqualifiedlead"),
            "LEAD → marketingqualifiedlead: score 60 is at least 60"
        )
    );
    let input = lead("1")
        .stage("salesqualifiedlead")
        .input_at(NOW)
        .with_prior("score", scored(60.0, None));
    assert_eq!(stage(&run(config, &input)).0, None);
}

#[test]
fn lifecycle_rules_can_use_this_steps_segments() {
    let config = format!(
        "{SEGMENTS}{}",
        r#"
[[lifecycle.rules]]
stage = "mql"
all = [{ segment = "enterprise" }, { segment = "decision-maker" }]
"#
    );
    let v = run(&config, &big_software_vp().stage("lead").input_at(NOW));
    assert_eq!(
        stage(&v),
        (
            Some("mql"),
            r#"lead → mql: in segment "enterprise" and in segment "decision-maker""#
        )
    );
}

// ---- config errors ----

#[test]
fn an_empty_config_is_an_error() {
    assert_eq!(
        error(""),
        "invalid config at `segments`: nothing to do: add [[segments]] entries and/or [[lifecycle.rules]]"
    );
}

#[test]
fn unknown_keys_are_rejected_by_name() {
    let err = error("[[segment]]\nname = \"x\"\n");
    assert_eq!(
        err,
        "invalid config at `segment`: unknown key `segment`: did you mean `segments`?"
    );
    let err = error("[[segments]]\nname = \"x\"\nwhen = [{ score_at_least = 1 }]\n");
    assert_eq!(
        err,
        "invalid config at `segments[0].when` (segment \"x\"): unknown key `when`; expected one of: name, all, any"
    );
    let err = error("[[segments]]\nname = \"x\"\nall = [{ score_at_lest = 1 }]\n");
    assert_eq!(
        err,
        "invalid config at `segments[0].all[0].score_at_lest` (segment \"x\"): unknown key `score_at_lest`: did you mean `score_at_least`?"
    );
    let err = error("[[segments]]\nname = \"x\"\nall = [{ fiel = \"x\", present = true }]\n");
    assert!(
        err.ends_with("unknown key `fiel`: did you mean `field`?"),
        "{err}"
    );
    let err = error(&format!("{LIFECYCLE}[lifecycle]\nbackwards = true\n"));
    assert_eq!(
        err,
        "invalid config at `lifecycle.backwards`: unknown key `backwards`; expected one of: stages, allow_backwards, rules"
    );
}

#[test]
fn mode_must_be_all_or_first() {
    assert_eq!(
        error(&format!("mode = \"any\"\n{SEGMENTS}")),
        "invalid config at `mode`: \"any\" is not a mode: use \"all\" or \"first\""
    );
}

#[test]
fn one_condition_per_entry() {
    let err =
        error("[[segments]]\nname = \"x\"\nall = [{ score_at_least = 60, grade_in = [\"A1\"] }]\n");
    assert_eq!(
        err,
        "invalid config at `segments[0].all[0].grade_in` (segment \"x\"): one condition per entry, found `score_at_least` and `grade_in`: put each in its own { ... }"
    );
    let err = error(
        "[[segments]]\nname = \"x\"\nall = [{ score_at_least = 60, field = \"industry\", present = true }]\n",
    );
    assert!(err.contains("found `score_at_least` and `field`"), "{err}");
    let err = error(
        "[[segments]]\nname = \"x\"\nall = [{ field = \"industry\", present = true, equals = \"x\" }]\n",
    );
    assert!(
        err.contains("one test per condition, found `equals` and `present`"),
        "{err}"
    );
    let err = error("[[segments]]\nname = \"x\"\nall = [{}]\n");
    assert!(
        err.starts_with(
            "invalid config at `segments[0].all[0].field` (segment \"x\"): an empty condition"
        ),
        "{err}"
    );
}

#[test]
fn condition_errors_name_the_field() {
    let cases = [
        (
            "all = [{ field = \"n\", min = 10, max = 5 }]",
            "`segments[0].all[0].max` (segment \"s\"): max (5) must be above min (10)",
        ),
        (
            "all = [{ score_at_least = \"60\" }]",
            "`segments[0].all[0].score_at_least` (segment \"s\"): expected a number, found text \"60\"",
        ),
        (
            "any = [{ grade_in = [] }]",
            "`segments[0].any[0].grade_in` (segment \"s\"): give one or more non-empty names",
        ),
        (
            "any = [{ activity = \"x\", within_days = -1 }]",
            "`segments[0].any[0].within_days` (segment \"s\"): must be a number of days above 0",
        ),
        (
            "any = [{ within_days = 3 }]",
            "`segments[0].any[0].within_days` (segment \"s\"): `within_days` needs an `activity` kind",
        ),
        (
            "all = [3]",
            "`segments[0].all[0]`: expected a table, found the number 3",
        ),
        (
            "all = { score_at_least = 1 }",
            "`segments[0].all` (segment \"s\"): expected a list, found a table",
        ),
        (
            "",
            "`segments[0].all` (segment \"s\"): give conditions: `all = [...]` (every one must hold) and/or `any = [...]` (one must)",
        ),
    ];
    for (body, expected) in cases {
        let err = error(&format!("[[segments]]\nname = \"s\"\n{body}\n"));
        assert!(
            err.starts_with(&format!("invalid config at {expected}")),
            "{body}: {err}"
        );
    }
}

#[test]
fn segment_names_are_required_and_unique() {
    let err = error("[[segments]]\nall = [{ score_at_least = 1 }]\n");
    assert_eq!(
        err,
        "invalid config at `segments[0].name`: every segment needs a name"
    );
    let err = error(&format!("{SEGMENTS}{SEGMENTS}"));
    assert!(
        err.starts_with(
            "invalid config at `segments[3].name`: segment \"enterprise\" is defined twice"
        ),
        "{err}"
    );
}

#[test]
fn lifecycle_errors() {
    let err = error("[[lifecycle.rules]]\nstage = \"hot\"\nall = [{ score_at_least = 1 }]\n");
    assert_eq!(
        err,
        "invalid config at `lifecycle.rules[0].stage` (stage \"hot\"): \"hot\" is not in lifecycle.stages (subscriber, lead, mql, sql, opportunity, customer)"
    );
    let err = error("[lifecycle]\nallow_backwards = true\n");
    assert!(
        err.starts_with("invalid config at `lifecycle.rules`: no lifecycle rules"),
        "{err}"
    );
    let err = error(&format!(
        "[lifecycle]\nstages = [\"lead\", \"mql\", \"LEAD\"]\n{LIFECYCLE}"
    ));
    assert_eq!(
        err,
        "invalid config at `lifecycle.stages`: \"LEAD\" is listed twice"
    );
    let err = error("[[lifecycle.rules]]\nall = [{ score_at_least = 1 }]\n");
    assert_eq!(
        err,
        "invalid config at `lifecycle.rules[0].stage`: every lifecycle rule needs the `stage` it sets"
    );
    let err = error("[[lifecycle.rules]]\nstage = \"mql\"\n");
    assert!(
        err.starts_with(
            "invalid config at `lifecycle.rules[0].all` (stage \"mql\"): give conditions"
        ),
        "{err}"
    );
}

#[test]
fn a_fallback_needs_segments() {
    assert_eq!(
        error(&format!("fallback = \"other\"\n{LIFECYCLE}")),
        "invalid config at `fallback`: a fallback needs [[segments]] to fall back from"
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

fn hot_lead() -> LeadBuilder {
    lead("1")
        .stage("lead")
        .field("jobtitle", "VP of Sales")
        .field("numberofemployees", "1200")
        .field("industry", "COMPUTER_SOFTWARE")
        .field("country", "United States")
        .field("hs_analytics_source", "ORGANIC_SEARCH")
        .activity("demo_request", NOW - 2 * DAY_MS)
}

#[test]
fn the_readme_full_example_is_valid_and_segments() {
    let config = readme_block("<!-- full-example -->");
    let input = hot_lead()
        .input_at(NOW)
        .with_prior("score", scored(85.0, Some("A1")));
    let v = run(&config, &input);
    assert!(names(&v).contains(&"enterprise"), "{v:?}");
    assert!(names(&v).contains(&"hot"), "{v:?}");
    assert_eq!(v.lifecycle_stage.as_deref(), Some("sql"), "{v:?}");

    let cold = lead("2")
        .stage("subscriber")
        .input_at(NOW)
        .with_prior("score", scored(5.0, Some("D4")));
    let v = run(&config, &cold);
    assert_eq!(v.lifecycle_stage, None, "{v:?}");
}

#[test]
fn the_readme_quickstart_block_is_valid_and_segments() {
    let block = readme_block("<!-- quickstart -->");
    assert!(
        block.starts_with("[plugins.segmenter]\npath = \"../../target/plugins/segmenter.wasm\"\n"),
        "{block}"
    );
    let host = FakeHost::new().config_toml(&install_config(&block, "segmenter"));

    let input = hot_lead()
        .input_at(NOW)
        .with_prior("score", scored(85.0, Some("A1")));
    let v = host.run(|| Segmenter::segment(&input)).unwrap();
    assert_eq!(
        names(&v),
        vec!["enterprise", "north-america", "software", "hot"]
    );
    assert_eq!(
        stage(&v),
        (
            Some("sql"),
            "lead → sql: 1 demo_request in the last 30 days, latest 2 days ago"
        )
    );

    let cold = lead("2")
        .stage("subscriber")
        .field("jobtitle", "Student")
        .input_at(NOW)
        .with_prior("score", scored(1.0, Some("D4")));
    let v = host.run(|| Segmenter::segment(&cold)).unwrap();
    assert_eq!(names(&v), vec!["nurture"]);
    assert_eq!(
        reason(&v, "nurture"),
        r#"score 1 is below 30 and lifecycle stage "subscriber" is one of ["subscriber", "lead"]"#
    );
    assert_eq!(
        stage(&v),
        (None, "no lifecycle rule matched; stays subscriber")
    );

    let mql = lead("3")
        .stage("lead")
        .input_at(NOW)
        .with_prior("score", scored(65.0, Some("B2")));
    let v = host.run(|| Segmenter::segment(&mql)).unwrap();
    assert_eq!(names(&v), vec!["unsegmented"]);
    assert_eq!(
        stage(&v),
        (Some("mql"), "lead → mql: score 65 is at least 60")
    );

    let customer = hot_lead()
        .stage("customer")
        .field("lifecyclestage", "customer")
        .input_at(NOW)
        .with_prior("score", scored(85.0, Some("A1")));
    let v = host.run(|| Segmenter::segment(&customer)).unwrap();
    assert_eq!(
        names(&v),
        vec!["customer", "enterprise", "north-america", "software", "hot"]
    );
    assert_eq!(
        stage(&v),
        (
            None,
            "stays customer: stages never go backwards (the sql rule matched: 1 demo_request in the last 30 days, latest 2 days ago)"
        )
    );
}
