//! Native tests of the whole plugin through the SDK's FakeHost, with the same
//! TOML an admin writes in leadwire.toml.

use super::*;
use leadwire_sdk::testing::{self, FakeHost, LeadBuilder, NOW, lead};

/// The verdict as (outcome, text): the WIT types have no `PartialEq`.
fn eval(host: &FakeHost, input: &Input) -> (&'static str, String) {
    match host.run(|| NurtureExit::evaluate(input)).expect("evaluate") {
        NurtureVerdict::Stay(r) => ("stay", r),
        NurtureVerdict::ExitToSales(r) => ("exit", r),
        NurtureVerdict::Recycle(r) => ("recycle", r),
        NurtureVerdict::Disqualify(r) => ("disqualify", r),
        NurtureVerdict::Enroll(e) => ("enroll", format!("{}: {}", e.track, e.reason)),
    }
}

fn run(config: &str, input: &Input) -> (&'static str, String) {
    eval(&FakeHost::new().config_toml(config), input)
}

fn config_err(config: &str) -> String {
    let input = lead("x").input_at(NOW);
    FakeHost::new()
        .config_toml(config)
        .run(|| NurtureExit::evaluate(&input))
        .unwrap_err()
        .to_string()
}

fn outcome(config: &str, input: &Input) -> &'static str {
    run(config, input).0
}

fn segments(names: &[(&str, &str)], stage: Option<&str>) -> Verdict {
    Verdict::Segmentation(SegmentVerdict {
        segments: names.iter().map(|(n, r)| Segment::new(*n, *r)).collect(),
        lifecycle_stage: stage.map(String::from),
        stage_reason: None,
    })
}

fn score(value: f64, grade: Option<&str>) -> Verdict {
    Verdict::Score(ScoreVerdict {
        grade: grade.map(String::from),
        ..ScoreVerdict::from_contributions(vec![Contribution::new("r", value, "")])
    })
}

fn rejected(l: LeadBuilder, reason: &str) -> Input {
    testing::input(l.build(), Trigger::Rejected(reason.into()), NOW)
}

fn days(n: i64) -> i64 {
    NOW - n * DAY_MS
}

const SCORED: &str = "[exit]\nmin_score = 70";

// ---- configuration ----------------------------------------------------------

#[test]
fn with_no_config_a_quiet_lead_stays_and_says_why() {
    assert_eq!(
        run("", &lead("1").input_at(NOW)),
        ("stay", "stays in nurture: no lifecycle stage, exits at sql/salesqualifiedlead; no meeting_booked in the last 30 days".into())
    );
}

#[test]
fn with_every_exit_turned_off_the_stay_reason_says_so() {
    let cfg = "[exit]\nstages = []\nmeeting_kinds = []";
    assert_eq!(
        run(cfg, &lead("1").input_at(NOW)),
        (
            "stay",
            "stays in nurture: no exit rule is configured".into()
        )
    );
}

#[test]
fn unknown_keys_are_errors_naming_them() {
    let err = config_err("[exit]\nmin_scores = 70");
    assert!(err.contains("exit") && err.contains("min_scores"), "{err}");
    let err = config_err("max_days = 90");
    assert!(err.contains("max_days"), "{err}");
}

#[test]
fn wrong_types_are_errors_naming_the_field() {
    assert!(config_err("[exit]\nmin_score = \"high\"").contains("`exit.min_score`"));
    assert!(config_err("on_max_age = \"archive\"").contains("`on_max_age`"));
    assert!(config_err("max_days_in_nurture = -1").contains("`max_days_in_nurture`"));
    assert!(
        config_err("[[disqualify.field_rules]]\nfield = \"industry\"")
            .contains("disqualify.field_rules[0]")
    );
}

#[test]
fn meaningless_values_are_errors_naming_the_field() {
    assert_eq!(
        config_err("[disqualify]\nbounce_values = []"),
        "invalid config at `disqualify.bounce_values`: is empty: list the values that mean a hard bounce, or set bounce_kinds = [] to turn bounces off"
    );
    assert_eq!(
        config_err("[exit]\nmeeting_within_days = 0"),
        "invalid config at `exit.meeting_within_days`: must be at least 1"
    );
    assert_eq!(
        config_err("max_days_in_nurture = 0"),
        "invalid config at `max_days_in_nurture`: must be at least 1: remove it for no limit"
    );
    assert_eq!(
        config_err("[exit]\nstages = [\"sql\", \" \"]"),
        "invalid config at `exit.stages[1]`: is empty"
    );
    assert_eq!(
        config_err("[[disqualify.field_rules]]\nfield = \"industry\"\nvalues = []"),
        "invalid config at `disqualify.field_rules[0].values`: is empty: list the values that mean not a fit"
    );
    assert_eq!(
        config_err("[[enroll.tracks]]\nsegment = \"smb\"\ntrack = \"\""),
        "invalid config at `enroll.tracks[0].track`: is empty"
    );
    assert_eq!(
        config_err("[recycle]\nstatus_field = \"\"\nstatus_values = [\"BAD_TIMING\"]"),
        "invalid config at `recycle.status_field`: is empty: name the CRM property"
    );
}

// ---- exit to sales ----------------------------------------------------------

#[test]
fn a_sales_qualified_stage_exits() {
    assert_eq!(
        run("", &lead("1").stage("sql").input_at(NOW)),
        ("exit", "lifecycle stage sql".into())
    );
    assert_eq!(
        run("", &lead("2").stage("salesqualifiedlead").input_at(NOW)).0,
        "exit"
    );
    assert_eq!(run("", &lead("3").stage("SQL").input_at(NOW)).0, "exit");
    assert_eq!(
        run(
            "[exit]\nstages = [\"opportunity\"]",
            &lead("4").stage("sql").input_at(NOW)
        )
        .0,
        "stay"
    );
}

#[test]
fn the_stage_set_by_an_earlier_segmentation_step_counts() {
    let promoted = lead("1")
        .stage("mql")
        .input_at(NOW)
        .with_prior("segmenter", segments(&[], Some("sql")));
    assert_eq!(outcome("", &promoted), "exit");
    let demoted = lead("2")
        .stage("sql")
        .input_at(NOW)
        .with_prior("segmenter", segments(&[], Some("mql")));
    assert_eq!(
        run("", &demoted),
        ("stay", "stays in nurture: stage mql, exits at sql/salesqualifiedlead; no meeting_booked in the last 30 days".into())
    );
}

#[test]
fn a_score_at_the_threshold_exits() {
    let hot = lead("1")
        .input_at(NOW)
        .with_prior("scorer", score(85.0, Some("A1")));
    assert_eq!(
        run(SCORED, &hot),
        ("exit", "score 85 (grade A1) reached 70".into())
    );
    let exact = lead("2")
        .input_at(NOW)
        .with_prior("scorer", score(70.0, None));
    assert_eq!(run(SCORED, &exact), ("exit", "score 70 reached 70".into()));
    let cold = lead("3")
        .input_at(NOW)
        .with_prior("scorer", score(42.5, None));
    assert!(run(SCORED, &cold).1.contains("score 42.5 below 70"));
    // No scoring step: not the same as a score of 0, and said so.
    assert!(
        run(SCORED, &lead("4").input_at(NOW))
            .1
            .contains("no score from an earlier step")
    );
}

#[test]
fn the_latest_score_counts() {
    let input = lead("1")
        .input_at(NOW)
        .with_prior("fit", score(90.0, None))
        .with_prior("final", score(50.0, None));
    assert_eq!(outcome(SCORED, &input), "stay");
}

#[test]
fn a_recent_meeting_exits_an_old_one_does_not() {
    let recent = lead("1").activity("meeting_booked", days(2)).input_at(NOW);
    assert_eq!(
        run("", &recent),
        ("exit", "meeting_booked 2 days ago".into())
    );
    let old = lead("2").activity("meeting_booked", days(45)).input_at(NOW);
    assert!(
        run("", &old)
            .1
            .contains("no meeting_booked in the last 30 days")
    );
    let cfg =
        "[exit]\nmeeting_kinds = [\"meeting_booked\", \"demo_request\"]\nmeeting_within_days = 60";
    assert_eq!(
        run(cfg, &old),
        ("exit", "meeting_booked 45 days ago".into())
    );
    let demo = lead("3").activity("demo_request", days(0)).input_at(NOW);
    assert_eq!(run(cfg, &demo), ("exit", "demo_request today".into()));
}

#[test]
fn every_signal_that_fired_is_in_the_reason() {
    let input = lead("1")
        .stage("sql")
        .activity("meeting_booked", days(1))
        .input_at(NOW)
        .with_prior("scorer", score(99.0, None));
    assert_eq!(
        run(SCORED, &input),
        (
            "exit",
            "lifecycle stage sql; score 99 reached 70; meeting_booked 1 day ago".into()
        )
    );
}

// ---- recycle ----------------------------------------------------------------

#[test]
fn a_rejection_recycles_and_keeps_the_reason() {
    let input = rejected(lead("1"), "bad timing, call in Q3");
    assert_eq!(
        run("", &input),
        (
            "recycle",
            "rejected by sales: bad timing, call in Q3".into()
        )
    );
}

#[test]
fn a_rejection_beats_an_exit_so_the_lead_does_not_bounce_back() {
    let input = rejected(lead("1").stage("sql"), "no budget");
    assert_eq!(outcome("", &input), "recycle");
}

#[test]
fn a_rejection_for_a_listed_reason_disqualifies() {
    let cfg = "[recycle]\ndisqualify_rejections_containing = [\"spam\", \"Competitor\"]";
    assert_eq!(
        run(cfg, &rejected(lead("1"), "This is a COMPETITOR fishing")),
        (
            "disqualify",
            "rejected by sales: This is a COMPETITOR fishing (contains \"Competitor\")".into()
        )
    );
    assert_eq!(outcome(cfg, &rejected(lead("2"), "not now")), "recycle");
}

#[test]
fn rejections_can_be_left_to_other_rules() {
    let input = rejected(lead("1").stage("sql"), "wrong rep");
    assert_eq!(outcome("[recycle]\non_rejection = false", &input), "exit");
}

#[test]
fn a_recycle_status_field_sends_the_lead_back_and_beats_an_exit() {
    let cfg = "[recycle]\nstatus_values = [\"UNQUALIFIED\", \"BAD_TIMING\"]";
    let input = lead("1")
        .stage("sql")
        .field("hs_lead_status", "BAD_TIMING")
        .input_at(NOW);
    assert_eq!(
        run(cfg, &input),
        ("recycle", "hs_lead_status is \"BAD_TIMING\"".into())
    );
    let open = lead("2")
        .stage("sql")
        .field("hs_lead_status", "OPEN")
        .input_at(NOW);
    assert_eq!(outcome(cfg, &open), "exit");
    // Off unless values are configured.
    assert_eq!(outcome("", &input), "exit");
    let custom = "[recycle]\nstatus_field = \"Status\"\nstatus_values = [\"Recycled\"]";
    assert_eq!(
        outcome(custom, &lead("3").field("Status", "recycled").input_at(NOW)),
        "recycle"
    );
}

// ---- disqualify -------------------------------------------------------------

#[test]
fn a_hard_bounce_disqualifies_a_soft_one_does_not() {
    let hard = lead("1")
        .activity_with(
            "email_bounce",
            days(3),
            vec![("bounce_type", "HARD".into())],
        )
        .input_at(NOW);
    assert_eq!(
        run("", &hard),
        (
            "disqualify",
            "hard bounce: email_bounce with bounce_type \"HARD\" 3 days ago".into()
        )
    );
    let soft = lead("2")
        .activity_with(
            "email_bounce",
            days(3),
            vec![("bounce_type", "soft".into())],
        )
        .input_at(NOW);
    assert_eq!(outcome("", &soft), "stay");
    let unknown = lead("3").activity("email_bounce", days(3)).input_at(NOW);
    assert_eq!(
        outcome("", &unknown),
        "stay",
        "a bounce that does not say it is hard is not"
    );
}

#[test]
fn bounce_detection_is_configurable() {
    let cfg = "[disqualify]\nbounce_kinds = [\"bounce\"]\nbounce_property = \"category\"\nbounce_values = [\"HardBounce\", \"Blocked\"]";
    let input = lead("1")
        .activity_with("bounce", days(1), vec![("category", "blocked".into())])
        .input_at(NOW);
    assert_eq!(outcome(cfg, &input), "disqualify");
    let hard = lead("2")
        .activity_with(
            "email_bounce",
            days(3),
            vec![("bounce_type", "hard".into())],
        )
        .input_at(NOW);
    assert_eq!(outcome("[disqualify]\nbounce_kinds = []", &hard), "stay");
}

#[test]
fn an_unsubscribe_or_opt_out_disqualifies() {
    let unsub = lead("1").activity("unsubscribe", days(10)).input_at(NOW);
    assert_eq!(
        run("", &unsub),
        ("disqualify", "unsubscribed: unsubscribe 10 days ago".into())
    );
    let opted_out = lead("2").field("hs_email_optout", "true").input_at(NOW);
    assert_eq!(
        run("", &opted_out),
        ("disqualify", "unsubscribed: hs_email_optout is true".into())
    );
    let opted_in = lead("3").field("hs_email_optout", false).input_at(NOW);
    assert_eq!(outcome("", &opted_in), "stay");
}

#[test]
fn a_not_a_fit_segment_disqualifies_with_its_reason() {
    let input = lead("1").input_at(NOW).with_prior(
        "segmenter",
        segments(&[("not-a-fit", "student email domain")], None),
    );
    assert_eq!(
        run("", &input),
        (
            "disqualify",
            "not a fit: segment not-a-fit (student email domain)".into()
        )
    );
    let cfg = "[disqualify]\nnot_a_fit_segments = [\"junk\"]";
    assert_eq!(outcome(cfg, &input), "stay");
}

#[test]
fn field_rules_disqualify_leads_that_are_not_a_fit() {
    let cfg = r#"
        [[disqualify.field_rules]]
        name = "students and competitors"
        field = "industry"
        values = ["Education - Student", "Competitor"]
        [[disqualify.field_rules]]
        field = "country"
        values = ["North Korea"]
    "#;
    let input = lead("1").field("industry", "competitor").input_at(NOW);
    assert_eq!(
        run(cfg, &input),
        (
            "disqualify",
            "not a fit (students and competitors): industry \"competitor\"".into()
        )
    );
    assert_eq!(
        run(
            cfg,
            &lead("2").field("country", "North Korea").input_at(NOW)
        )
        .1,
        "not a fit: country \"North Korea\""
    );
    assert_eq!(
        outcome(cfg, &lead("3").field("industry", "Software").input_at(NOW)),
        "stay"
    );
}

#[test]
fn disqualify_beats_a_rejection_and_an_exit_and_lists_every_reason() {
    let l = lead("1")
        .stage("sql")
        .activity("unsubscribe", days(1))
        .activity_with(
            "email_bounce",
            days(0),
            vec![("bounce_type", "hard".into())],
        );
    assert_eq!(
        run("", &rejected(l, "wrong person")),
        ("disqualify", "hard bounce: email_bounce with bounce_type \"hard\" today; unsubscribed: unsubscribe 1 day ago".into())
    );
}

// ---- maximum age ------------------------------------------------------------

const AGED: &str = "max_days_in_nurture = 180";

#[test]
fn too_long_in_nurture_disqualifies_by_default() {
    let input = lead("1")
        .field("nurture_entered_at", days(200))
        .input_at(NOW);
    assert_eq!(
        run(AGED, &input),
        (
            "disqualify",
            "200 days in nurture (since nurture_entered_at), over the 180-day maximum".into()
        )
    );
    let day_180 = lead("2")
        .field("nurture_entered_at", days(180))
        .input_at(NOW);
    assert!(run(AGED, &day_180).1.ends_with("day 180 of 180 in nurture"));
}

#[test]
fn too_long_in_nurture_can_recycle_instead() {
    let cfg = "max_days_in_nurture = 90\non_max_age = \"recycle\"";
    let input = lead("1")
        .field("nurture_entered_at", days(91))
        .input_at(NOW);
    assert_eq!(
        run(cfg, &input),
        (
            "recycle",
            "91 days in nurture (since nurture_entered_at), over the 90-day maximum".into()
        )
    );
}

#[test]
fn age_falls_back_to_the_lead_s_creation_and_reads_iso_dates() {
    let created = lead("1").created_at(days(365)).input_at(NOW);
    assert_eq!(
        run(AGED, &created).1,
        "365 days in nurture (since created_at), over the 180-day maximum"
    );
    let cfg = "max_days_in_nurture = 30\nnurture_entered_field = \"entered_nurture_date\"";
    let iso = lead("2")
        .created_at(days(365))
        .field("entered_nurture_date", "2026-01-01")
        .input_at(NOW);
    assert!(
        run(cfg, &iso).1.contains("day 14 of 30 in nurture"),
        "the field wins over created_at"
    );
    let nothing = lead("3").input_at(NOW);
    assert!(
        run(AGED, &nothing)
            .1
            .ends_with("no nurture_entered_at or created_at: max age not checked")
    );
}

#[test]
fn a_fresh_exit_signal_beats_age() {
    let input = lead("1")
        .created_at(days(400))
        .activity("meeting_booked", days(1))
        .input_at(NOW);
    assert_eq!(outcome(AGED, &input), "exit");
}

// ---- enroll -----------------------------------------------------------------

const TRACKS: &str = r#"
    [enroll]
    track_field = "nurture_track"
    [[enroll.tracks]]
    segment = "enterprise"
    track = "enterprise-nurture"
    [[enroll.tracks]]
    segment = "smb"
    track = "smb-nurture"
"#;

#[test]
fn a_lead_that_stays_is_enrolled_by_its_segment() {
    let input = lead("1")
        .input_at(NOW)
        .with_prior("segmenter", segments(&[("smb", "50 employees")], None));
    assert_eq!(
        run(TRACKS, &input),
        (
            "enroll",
            "smb-nurture: segment smb (50 employees) enrolls in track smb-nurture".into()
        )
    );
}

#[test]
fn the_first_configured_segment_picks_the_track() {
    let both = segments(&[("smb", "s"), ("enterprise", "e")], None);
    let input = lead("1").input_at(NOW).with_prior("segmenter", both);
    assert!(run(TRACKS, &input).1.starts_with("enterprise-nurture:"));
}

#[test]
fn a_lead_already_in_its_track_stays() {
    let input = lead("1")
        .field("nurture_track", "SMB-nurture")
        .input_at(NOW)
        .with_prior("segmenter", segments(&[("smb", "s")], None));
    let (out, why) = run(TRACKS, &input);
    assert_eq!(out, "stay");
    assert!(
        why.ends_with("already in track smb-nurture (nurture_track)"),
        "{why}"
    );
}

#[test]
fn exits_and_age_beat_enrollment() {
    let seg = || segments(&[("smb", "s")], None);
    let sql = lead("1")
        .stage("sql")
        .input_at(NOW)
        .with_prior("segmenter", seg());
    assert_eq!(outcome(TRACKS, &sql), "exit");
    let cfg = format!("max_days_in_nurture = 10\n{TRACKS}");
    let old = lead("2")
        .created_at(days(11))
        .input_at(NOW)
        .with_prior("segmenter", seg());
    assert_eq!(outcome(&cfg, &old), "disqualify");
}

// ---- stay -------------------------------------------------------------------

#[test]
fn stay_summarises_why_no_rule_fired() {
    let cfg = format!("max_days_in_nurture = 180\n{SCORED}");
    let input = lead("1")
        .stage("marketingqualifiedlead")
        .created_at(days(35))
        .activity("meeting_booked", days(90))
        .input_at(NOW)
        .with_prior("scorer", score(42.0, Some("B2")));
    assert_eq!(
        run(&cfg, &input),
        (
            "stay",
            "stays in nurture: stage marketingqualifiedlead, exits at sql/salesqualifiedlead; score 42 below 70; \
             no meeting_booked in the last 30 days; day 35 of 180 in nurture"
                .into()
        )
    );
}

// ---- the README's examples --------------------------------------------------

/// The `config` table of plugin `name` in each ```toml block of the README that
/// has one, rewritten as the table itself (what `FakeHost::config_toml` takes).
fn readme_configs(name: &str) -> Vec<String> {
    let readme = include_str!("../README.md");
    let prefix = format!("plugins.{name}.config");
    let mut configs = Vec::new();
    for block in readme.split("```toml\n").skip(1) {
        let block = &block[..block.find("```").expect("closed block")];
        let (mut out, mut inside) = (String::new(), false);
        for line in block.lines() {
            let t = line.split('#').next().unwrap_or("").trim();
            if t.starts_with('[') {
                let double = t.starts_with("[[");
                let header = t.trim_matches(|c| c == '[' || c == ']').trim();
                inside = header == prefix || header.starts_with(&format!("{prefix}."));
                if let Some(rest) = header.strip_prefix(&format!("{prefix}.")) {
                    out += &if double {
                        format!("[[{rest}]]\n")
                    } else {
                        format!("[{rest}]\n")
                    };
                }
            } else if inside {
                out += line;
                out.push('\n');
            }
        }
        if block.contains(&format!("[{prefix}")) {
            configs.push(out);
        }
    }
    configs
}

#[test]
fn every_readme_config_block_is_valid() {
    let configs = readme_configs("nurture");
    assert_eq!(configs.len(), 2, "the reference and the quickstart");
    for config in configs {
        let h = FakeHost::new().config_toml(&config);
        h.run(|| NurtureExit::evaluate(&lead("1").input_at(NOW)))
            .unwrap_or_else(|e| panic!("{e}\n{config}"));
    }
}

#[test]
fn the_reference_defaults_are_the_real_defaults() {
    // The reference block spells out the defaults, plus one example field rule
    // and track: with those left out of the input, it decides like no config.
    let reference = readme_configs("nurture").remove(0);
    let leads = [
        lead("1").stage("sql").input_at(NOW),
        lead("2")
            .activity_with(
                "email_bounce",
                days(1),
                vec![("bounce_type", "hard".into())],
            )
            .input_at(NOW),
        lead("3").field("hs_email_optout", true).input_at(NOW),
        lead("4").activity("meeting_booked", days(29)).input_at(NOW),
        rejected(lead("5"), "no budget"),
        lead("6").stage("mql").input_at(NOW),
    ];
    for input in &leads {
        assert_eq!(run(&reference, input), run("", input));
    }
}

#[test]
fn the_quickstart_decides_as_the_readme_says() {
    let qs = readme_configs("nurture").pop().unwrap();
    let hot = lead("1")
        .input_at(NOW)
        .with_prior("scorer", score(75.0, None));
    assert_eq!(outcome(&qs, &hot), "exit");
    assert_eq!(
        outcome(
            &qs,
            &lead("2").activity("demo_request", days(3)).input_at(NOW)
        ),
        "exit"
    );
    let bounced = lead("3").stage("sql").activity_with(
        "email_bounce",
        days(1),
        vec![("bounce_type", "hard".into())],
    );
    assert_eq!(outcome(&qs, &bounced.input_at(NOW)), "disqualify");
    assert_eq!(
        run(&qs, &rejected(lead("4"), "bad timing")),
        ("recycle", "rejected by sales: bad timing".into())
    );
    assert_eq!(
        outcome(&qs, &rejected(lead("5"), "obvious SPAM signup")),
        "disqualify"
    );
    assert_eq!(
        outcome(&qs, &lead("6").created_at(days(200)).input_at(NOW)),
        "recycle"
    );
    let smb = || lead("7").created_at(days(10));
    let seg = || segments(&[("smb", "40 employees")], None);
    assert_eq!(
        outcome(&qs, &smb().input_at(NOW).with_prior("segmenter", seg())),
        "enroll"
    );
    let enrolled = smb()
        .field("nurture_track", "smb-nurture")
        .input_at(NOW)
        .with_prior("segmenter", seg());
    assert_eq!(outcome(&qs, &enrolled), "stay");
    assert_eq!(
        outcome(&qs, &lead("8").field("industry", "student").input_at(NOW)),
        "disqualify"
    );
}

#[test]
fn the_quickstart_leads_get_the_readme_s_verdicts() {
    let qs = readme_configs("nurture").pop().unwrap();
    // examples/quickstart/leads/{hot,cold}.json, as the adapter hands them over
    // (times in ms: the event is 2026-11-20T12:00:00Z).
    let at = |iso: &str| age::time(&iso.into()).unwrap();
    let event = at("2026-11-20T12:00:00Z");
    let hot = lead("hs-1001")
        .stage("lead")
        .created_at(at("2026-11-02T09:15:00Z"))
        .field("hs_email_optout", false)
        .activity("page_view", at("2026-11-18T16:45:00Z"))
        .activity("demo_request", at("2026-11-19T11:24:00Z"))
        .input_at(event);
    assert_eq!(run(&qs, &hot), ("exit", "demo_request 1 day ago".into()));
    let cold = lead("hs-1002")
        .stage("subscriber")
        .created_at(at("2026-11-19T21:40:00Z"))
        .field("industry", Value::Null)
        .activity("page_view", at("2026-11-19T21:38:00Z"))
        .input_at(event);
    assert_eq!(
        run(&qs, &cold),
        (
            "stay",
            "stays in nurture: stage subscriber, exits at sql/salesqualifiedlead; no score from an earlier step; \
             no meeting_booked/demo_request in the last 30 days; day 0 of 180 in nurture"
                .into()
        )
    );
}
