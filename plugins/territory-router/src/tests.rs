//! Native tests of the whole router through the SDK's FakeHost, with the same
//! TOML an admin writes in leadwire.toml.

use super::*;
use leadwire_sdk::host::{Availability, Rep};
use leadwire_sdk::testing::{self, FakeHost, NOW, lead};

const TERRITORIES: &str = r#"
[[territories]]
team = "na-enterprise"
countries = ["US", "United States", "CA", "Canada"]
min_employees = 1000

[[territories]]
team = "na-smb"
rule = "north-america-smb"
countries = ["US", "United States", "CA", "Canada"]

[[territories]]
team = "emea"
countries = ["GB", "United Kingdom", "DE", "Germany", "FR", "France"]
"#;

fn rep(id: &str, weight: u32) -> Rep {
    Rep {
        weight,
        ..testing::rep(id)
    }
}

fn capped(id: &str, cap: u32) -> Rep {
    Rep {
        daily_cap: Some(cap),
        ..testing::rep(id)
    }
}

fn away(id: &str, why: &str) -> Rep {
    Rep {
        availability: Availability::Unavailable(why.into()),
        ..testing::rep(id)
    }
}

/// A host with the three quickstart teams.
fn host(config: &str) -> FakeHost {
    FakeHost::new()
        .config_toml(config)
        .rep("na-enterprise", testing::rep("ent-1"))
        .rep("na-enterprise", testing::rep("ent-2"))
        .rep("na-smb", testing::rep("smb-1"))
        .rep("na-smb", testing::rep("smb-2"))
        .rep("emea", testing::rep("emea-1"))
        .rep("emea", testing::rep("emea-2"))
        .rep("emea", testing::rep("emea-3"))
}

fn route(host: &FakeHost, input: &Input) -> RouteVerdict {
    host.run(|| TerritoryRouter::route(input)).expect("route")
}

fn route_err(host: &FakeHost) -> String {
    let input = lead("x").input_at(NOW);
    host.run(|| TerritoryRouter::route(&input))
        .unwrap_err()
        .to_string()
}

fn uk_lead(id: &str) -> Input {
    lead(id).field("country", "GB").input_at(NOW)
}

fn assignment(v: &RouteVerdict) -> &Assignment {
    match &v.route {
        Route::Assign(a) => a,
        other => panic!("expected an assignment, got {other:?}"),
    }
}

fn owner(v: &RouteVerdict) -> &str {
    &assignment(v).owner
}

fn unrouted(v: &RouteVerdict) -> &str {
    match &v.route {
        Route::Unrouted(reason) => reason,
        other => panic!("expected unrouted, got {other:?}"),
    }
}

/// The candidates as (rep, chosen, reason): the WIT types have no `PartialEq`.
fn cands(v: &RouteVerdict) -> Vec<(&str, bool, &str)> {
    v.candidates
        .iter()
        .map(|c| (c.rep.as_str(), c.chosen, c.reason.as_str()))
        .collect()
}

fn candidate<'v>(v: &'v RouteVerdict, rep: &str) -> &'v Candidate {
    v.candidates
        .iter()
        .find(|c| c.rep == rep)
        .unwrap_or_else(|| panic!("no candidate {rep} in {:?}", v.candidates))
}

// ---- configuration ----------------------------------------------------------

#[test]
fn an_empty_config_routes_nothing_and_says_why() {
    let h = FakeHost::new();
    let v = route(&h, &lead("1").field("country", "US").input_at(NOW));
    assert_eq!(
        unrouted(&v),
        "no territory matched (country \"US\", state empty, industry empty, numberofemployees empty)"
    );
}

#[test]
fn an_unknown_key_is_an_error_naming_it() {
    let err = route_err(&FakeHost::new().config_toml("keep_existing_owners = true"));
    assert!(err.contains("keep_existing_owners"), "{err}");
    let err = route_err(
        &FakeHost::new().config_toml("[[territories]]\nteam = \"t\"\ncountry = [\"US\"]"),
    );
    assert!(
        err.contains("territories[0]") && err.contains("country"),
        "{err}"
    );
}

#[test]
fn a_wrong_type_is_an_error_naming_the_field() {
    let err = route_err(
        &FakeHost::new().config_toml("[[territories]]\nteam = \"t\"\nmin_employees = \"big\""),
    );
    assert!(err.contains("territories[0].min_employees"), "{err}");
    let err =
        route_err(&FakeHost::new().config_toml("[accounts]\nif_owner_unavailable = \"queue\""));
    assert!(err.contains("accounts.if_owner_unavailable"), "{err}");
}

#[test]
fn a_territory_without_a_team_is_an_error() {
    let err = route_err(&FakeHost::new().config_toml("[[territories]]\ncountries = [\"US\"]"));
    assert!(
        err.contains("territories[0]") && err.contains("team"),
        "{err}"
    );
    let err = route_err(&FakeHost::new().config_toml("[[territories]]\nteam = \" \""));
    assert!(err.contains("territories[0].team"), "{err}");
}

#[test]
fn an_empty_condition_list_is_an_error() {
    let err =
        route_err(&FakeHost::new().config_toml("[[territories]]\nteam = \"t\"\ncountries = []"));
    assert_eq!(
        err,
        "invalid config at `territories[0].countries`: is empty: remove it to match any value"
    );
}

#[test]
fn an_inverted_size_range_is_an_error() {
    let err = route_err(
        &FakeHost::new()
            .config_toml("[[territories]]\nteam = \"t\"\nmin_employees = 500\nmax_employees = 100"),
    );
    assert_eq!(
        err,
        "invalid config at `territories[0].max_employees`: 100 is below min_employees 500"
    );
}

#[test]
fn a_catch_all_before_other_territories_is_an_error() {
    let err = route_err(&FakeHost::new().config_toml(
        "[[territories]]\nteam = \"all\"\n[[territories]]\nteam = \"emea\"\ncountries = [\"DE\"]",
    ));
    assert!(
        err.starts_with("invalid config at `territories[1]`: can never match"),
        "{err}"
    );
}

#[test]
fn an_empty_fallback_queue_or_field_name_is_an_error() {
    assert!(
        route_err(&FakeHost::new().config_toml("fallback_queue = \"\""))
            .contains("`fallback_queue`")
    );
    assert!(
        route_err(&FakeHost::new().config_toml("[fields]\ncountry = \"\""))
            .contains("`fields.country`")
    );
}

// ---- account owner ----------------------------------------------------------

#[test]
fn the_owner_of_a_known_account_wins() {
    let h = host(TERRITORIES)
        .rep("named", testing::rep("amy"))
        .account("acme.com", "amy");
    let v = route(
        &h,
        &lead("1")
            .email("jo@Acme.com")
            .field("country", "GB")
            .input_at(NOW),
    );
    let a = assignment(&v);
    assert_eq!(
        (a.owner.as_str(), a.rule.as_str(), a.team.as_deref()),
        ("amy", "account-owner", None)
    );
    assert_eq!(a.reason, "owner of account acme.com (by email domain)");
    assert_eq!(
        cands(&v),
        [("amy", true, "owner of account acme.com (by email domain)")]
    );
    // It counts toward the owner's day, so the rotation and caps see the real load.
    assert_eq!(h.get_state("day:2026-01-15:amy").as_deref(), Some("1"));
}

#[test]
fn a_free_mail_address_falls_back_to_the_company_domain() {
    let h = host(TERRITORIES).account("acme.com", "amy");
    let v = route(
        &h,
        &lead("1")
            .email("jo@gmail.com")
            .company_domain("https://www.acme.com/")
            .input_at(NOW),
    );
    assert_eq!(owner(&v), "amy");
    assert!(assignment(&v).reason.contains("by company domain"));
}

#[test]
fn free_mail_domains_never_match_an_account() {
    // Even if someone registered gmail.com as an account.
    let h = host(TERRITORIES)
        .account("gmail.com", "amy")
        .account("mail.example-isp.net", "bob");
    let v = route(&h, &uk_lead_with_email("jo@gmail.com"));
    assert_eq!(assignment(&v).team.as_deref(), Some("emea"));

    let cfg = format!("[accounts]\nfree_mail_domains = [\"mail.example-isp.net\"]\n{TERRITORIES}");
    let h = host(&cfg).account("mail.example-isp.net", "bob");
    let v = route(&h, &uk_lead_with_email("jo@mail.example-isp.net"));
    assert_eq!(assignment(&v).team.as_deref(), Some("emea"));
}

fn uk_lead_with_email(email: &str) -> Input {
    lead("1").email(email).field("country", "GB").input_at(NOW)
}

#[test]
fn an_unavailable_account_owner_falls_through_to_territories() {
    let h = host(TERRITORIES)
        .rep("named", away("amy", "out of office: vacation"))
        .account("acme.com", "amy");
    let v = route(&h, &uk_lead_with_email("jo@acme.com"));
    assert_eq!(owner(&v), "emea-1");
    assert_eq!(
        candidate(&v, "amy").reason,
        "owner of account acme.com (by email domain), unavailable: out of office: vacation: routed by territory instead"
    );
    assert!(!candidate(&v, "amy").chosen);
}

#[test]
fn an_unavailable_account_owner_can_be_assigned_anyway() {
    let cfg = format!("[accounts]\nif_owner_unavailable = \"assign\"\n{TERRITORIES}");
    let h = host(&cfg)
        .rep("named", away("amy", "parental leave"))
        .account("acme.com", "amy");
    let v = route(&h, &uk_lead_with_email("jo@acme.com"));
    assert_eq!(owner(&v), "amy");
    assert!(assignment(&v).reason.ends_with(
        "unavailable: parental leave, assigned anyway (if_owner_unavailable = \"assign\")"
    ));
}

#[test]
fn an_account_owner_missing_from_the_directory_still_gets_the_lead() {
    let h = host(TERRITORIES).account("acme.com", "crm-user-42");
    let v = route(&h, &uk_lead_with_email("jo@acme.com"));
    assert_eq!(owner(&v), "crm-user-42");
    assert!(assignment(&v).reason.contains("not in the directory"));
}

#[test]
fn the_account_rule_can_be_renamed_restricted_or_turned_off() {
    let cfg =
        format!("[accounts]\nrule = \"named-accounts\"\nuse_company_domain = false\n{TERRITORIES}");
    let h = host(&cfg).account("acme.com", "amy");
    let by_email = route(&h, &uk_lead_with_email("jo@acme.com"));
    assert_eq!(assignment(&by_email).rule, "named-accounts");
    let by_company = route(
        &h,
        &lead("2")
            .company_domain("acme.com")
            .field("country", "GB")
            .input_at(NOW),
    );
    assert_eq!(assignment(&by_company).team.as_deref(), Some("emea"));

    let cfg = format!("[accounts]\nenabled = false\n{TERRITORIES}");
    let h = host(&cfg).account("acme.com", "amy");
    assert_eq!(
        assignment(&route(&h, &uk_lead_with_email("jo@acme.com")))
            .team
            .as_deref(),
        Some("emea")
    );
}

// ---- current owner ----------------------------------------------------------

#[test]
fn the_current_owner_is_kept_when_configured() {
    let cfg = format!("keep_existing_owner = true\n{TERRITORIES}");
    let h = host(&cfg);
    let v = route(
        &h,
        &lead("1")
            .owner("smb-2")
            .field("country", "GB")
            .input_at(NOW),
    );
    assert!(
        matches!(&v.route, Route::KeepCurrent(r) if r == "lead already owned by smb-2 (keep_existing_owner = true)"),
        "{:?}",
        v.route
    );
    assert_eq!(cands(&v), [("smb-2", true, "current owner kept")]);
    assert_eq!(
        h.get_state("rr:emea:emea-1"),
        None,
        "keeping an owner touches no rotation"
    );
}

#[test]
fn by_default_an_owned_lead_is_routed_again() {
    let h = host(TERRITORIES);
    let v = route(
        &h,
        &lead("1")
            .owner("smb-2")
            .field("country", "GB")
            .input_at(NOW),
    );
    assert_eq!(owner(&v), "emea-1");
}

#[test]
fn the_account_owner_beats_the_current_owner() {
    let cfg = format!("keep_existing_owner = true\n{TERRITORIES}");
    let h = host(&cfg).account("acme.com", "amy");
    let v = route(
        &h,
        &lead("1").owner("smb-2").email("jo@acme.com").input_at(NOW),
    );
    assert_eq!(owner(&v), "amy");
}

#[test]
fn an_sla_breach_reassigns_away_from_the_current_owner() {
    let cfg = format!("keep_existing_owner = true\n{TERRITORIES}");
    let h = host(&cfg);
    let l = lead("1").owner("emea-1").field("country", "DE").build();
    let v = route(
        &h,
        &testing::input(l, Trigger::SlaBreached("first-touch".into()), NOW),
    );
    assert_eq!(owner(&v), "emea-2");
    assert_eq!(
        candidate(&v, "emea-1").reason,
        "current owner, SLA first-touch breached"
    );
}

#[test]
fn a_breach_passes_over_the_last_n_owners_the_host_lists() {
    let l = || {
        lead("1")
            .owner("emea-1")
            .field("country", "DE")
            .field("leadwire_previous_owners", "emea-2; emea-1")
            .build()
    };
    let breach = |l| testing::input(l, Trigger::SlaBreached("first-touch".into()), NOW);
    // Default: only the current owner is passed over.
    let v = route(&host(TERRITORIES), &breach(l()));
    assert_eq!(owner(&v), "emea-2");
    // Two: the owner before is passed over too.
    let cfg = format!("exclude_previous_owners = 2\n{TERRITORIES}");
    let v = route(&host(&cfg), &breach(l()));
    assert_eq!(owner(&v), "emea-3");
    assert_eq!(
        candidate(&v, "emea-2").reason,
        "had the lead before (exclude_previous_owners = 2)"
    );
    // Everyone had it: parked, never given back.
    let cfg = format!("exclude_previous_owners = 3\nfallback_queue = \"triage\"\n{TERRITORIES}");
    let l = lead("1")
        .owner("emea-1")
        .field("country", "DE")
        .field("leadwire_previous_owners", "emea-2;emea-3")
        .build();
    let v = route(&host(&cfg), &breach(l));
    assert!(matches!(v.route, Route::Queue(_)), "{v:?}");
}

#[test]
fn a_rejection_never_goes_back_to_the_rep_who_rejected() {
    let h = host(TERRITORIES)
        .rep("named", testing::rep("amy"))
        .account("acme.com", "amy");
    let l = lead("1")
        .owner("amy")
        .email("jo@acme.com")
        .field("country", "FR")
        .build();
    let v = route(
        &h,
        &testing::input(l, Trigger::Rejected("wrong territory".into()), NOW),
    );
    assert_eq!(assignment(&v).team.as_deref(), Some("emea"));
    assert_eq!(
        candidate(&v, "amy").reason,
        "owner of account acme.com (by email domain), but current owner, rejected the lead: wrong territory: routed by territory instead"
    );
}

// ---- territories ------------------------------------------------------------

#[test]
fn territories_are_tried_in_order_first_match_wins() {
    let h = host(TERRITORIES);
    let big = route(
        &h,
        &lead("1")
            .field("country", "united states")
            .field("numberofemployees", "5000")
            .input_at(NOW),
    );
    let a = assignment(&big);
    assert_eq!(
        (a.team.as_deref(), a.rule.as_str()),
        (Some("na-enterprise"), "territory:na-enterprise")
    );
    assert!(
        a.reason.starts_with(
            "country \"united states\", numberofemployees 5000 in 1000..; team na-enterprise: ent-1"
        ),
        "{}",
        a.reason
    );

    let small = route(
        &h,
        &lead("2")
            .field("country", "CA")
            .field("numberofemployees", "25-50")
            .input_at(NOW),
    );
    let a = assignment(&small);
    assert_eq!(
        (a.team.as_deref(), a.rule.as_str()),
        (Some("na-smb"), "north-america-smb")
    );
}

#[test]
fn regions_and_industries_are_conditions_too() {
    let cfg = r#"
        [[territories]]
        team = "west"
        countries = ["US"]
        regions = ["CA", "California", "WA", "OR"]
        industries = ["Software"]
        [[territories]]
        team = "rest"
    "#;
    let h = FakeHost::new()
        .config_toml(cfg)
        .rep("west", testing::rep("w"))
        .rep("rest", testing::rep("r"));
    let v = route(
        &h,
        &lead("1")
            .field("country", "US")
            .field("state", "california")
            .field("industry", "software")
            .input_at(NOW),
    );
    assert_eq!(owner(&v), "w");
    let v = route(
        &h,
        &lead("2")
            .field("country", "US")
            .field("state", "NY")
            .field("industry", "software")
            .input_at(NOW),
    );
    assert_eq!(
        (
            owner(&v),
            assignment(&v).reason.starts_with("catch-all territory")
        ),
        ("r", true)
    );
}

#[test]
fn field_names_are_configurable_for_other_crms() {
    let cfg = r#"
        [fields]
        country = "Country"
        region = "State"
        industry = "Industry"
        company_size = "NumberOfEmployees"
        [[territories]]
        team = "emea"
        countries = ["Germany"]
        max_employees = 200
    "#;
    let h = FakeHost::new()
        .config_toml(cfg)
        .rep("emea", testing::rep("e"));
    let v = route(
        &h,
        &lead("1")
            .field("Country", "GERMANY")
            .field("NumberOfEmployees", 150)
            .input_at(NOW),
    );
    assert_eq!(owner(&v), "e");
    assert_eq!(
        assignment(&v).reason,
        "Country \"GERMANY\", NumberOfEmployees 150 in ..200; team emea: e has the lowest load 0/1; assignment 1 today"
    );
}

#[test]
fn no_matching_territory_is_unrouted_with_what_was_seen() {
    let h = host(TERRITORIES);
    let v = route(
        &h,
        &lead("1")
            .field("country", "Brazil")
            .field("industry", "Retail")
            .input_at(NOW),
    );
    assert_eq!(
        unrouted(&v),
        "no territory matched (country \"Brazil\", state empty, industry \"Retail\", numberofemployees empty)"
    );
}

#[test]
fn a_fallback_queue_parks_what_no_rule_placed() {
    let cfg = format!("fallback_queue = \"triage\"\n{TERRITORIES}");
    let h = host(&cfg);
    let v = route(&h, &lead("1").field("country", "Brazil").input_at(NOW));
    match v.route {
        Route::Queue(q) => {
            assert_eq!(q.queue, "triage");
            assert!(q.reason.starts_with("no territory matched"), "{}", q.reason);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_team_missing_from_the_directory_is_unrouted_and_logged() {
    let h = FakeHost::new().config_toml("[[territories]]\nteam = \"apac\"\nrule = \"apac\"");
    let v = route(&h, &lead("1").input_at(NOW));
    assert_eq!(
        unrouted(&v),
        "apac matched (catch-all territory), but team apac is not in the directory"
    );
    assert_eq!(
        h.logs(),
        vec!["WARN territory apac names team apac, which is not in the directory"]
    );
}

// ---- round robin ------------------------------------------------------------

fn owners(h: &FakeHost, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| owner(&route(h, &uk_lead(&i.to_string()))).to_string())
        .collect()
}

#[test]
fn equal_weights_rotate_in_team_order() {
    let h = host(TERRITORIES);
    assert_eq!(
        owners(&h, 6),
        ["emea-1", "emea-2", "emea-3", "emea-1", "emea-2", "emea-3"]
    );
    assert_eq!(h.get_state("rr:emea:emea-1").as_deref(), Some("2"));
    assert_eq!(h.get_state("day:2026-01-15:emea-3").as_deref(), Some("2"));
}

#[test]
fn weights_give_proportional_shares_smoothly() {
    let h = FakeHost::new()
        .config_toml(TERRITORIES)
        .rep("emea", rep("a", 3))
        .rep("emea", rep("b", 1))
        .rep("emea", rep("c", 2));
    let first = owners(&h, 6);
    assert_eq!(first, ["a", "b", "c", "a", "c", "a"]);
    let rest = owners(&h, 594);
    let count = |r: &str| first.iter().chain(&rest).filter(|o| *o == r).count();
    assert_eq!((count("a"), count("b"), count("c")), (300, 100, 200));
}

#[test]
fn the_pick_is_a_pure_function_of_the_state() {
    let state = [
        ("rr:emea:emea-1", "7"),
        ("rr:emea:emea-2", "5"),
        ("rr:emea:emea-3", "6"),
    ];
    let run = || {
        let h = state
            .iter()
            .fold(host(TERRITORIES), |h, (k, v)| h.state(k, v));
        route(&h, &uk_lead("1"))
    };
    let (one, two) = (run(), run());
    assert_eq!(format!("{one:?}"), format!("{two:?}"));
    assert_eq!(owner(&one), "emea-2");
    assert_eq!(
        candidate(&one, "emea-2").reason,
        "lowest load 5/1; assignment 1 today"
    );
    assert_eq!(candidate(&one, "emea-1").reason, "load 7/1");
}

#[test]
fn unavailable_and_zero_weight_reps_are_skipped_with_reasons() {
    let h = FakeHost::new()
        .config_toml(TERRITORIES)
        .rep("emea", away("ana", "out of office: vacation"))
        .rep("emea", rep("bo", 0))
        .rep("emea", testing::rep("cy"));
    let v = route(&h, &uk_lead("1"));
    assert_eq!(owner(&v), "cy");
    assert_eq!(
        cands(&v),
        [
            ("ana", false, "unavailable: out of office: vacation"),
            ("bo", false, "weight 0: takes no new leads"),
            ("cy", true, "lowest load 0/1; assignment 1 today"),
        ]
    );
}

#[test]
fn a_rep_at_the_daily_cap_is_skipped_until_the_next_utc_day() {
    let h = FakeHost::new()
        .config_toml(TERRITORIES)
        .rep("emea", capped("ana", 2))
        .rep("emea", rep("bo", 1));
    assert_eq!(owners(&h, 4), ["ana", "bo", "ana", "bo"]);
    let v = route(&h, &uk_lead("5"));
    assert_eq!(owner(&v), "bo");
    assert_eq!(candidate(&v, "ana").reason, "daily cap 2 reached");
    assert_eq!(h.get_state("day:2026-01-15:ana").as_deref(), Some("2"));

    // The day is the event's UTC day: 12 hours after NOW is the 16th.
    let tomorrow = lead("6")
        .field("country", "GB")
        .input_at(NOW + 12 * 3_600_000);
    let v = route(&h, &tomorrow);
    assert_eq!(owner(&v), "ana");
    assert_eq!(
        candidate(&v, "ana").reason,
        "lowest load 2/1; assignment 1 of cap 2 today"
    );
}

#[test]
fn when_every_rep_is_skipped_the_lead_is_unrouted_with_each_reason() {
    let h = FakeHost::new()
        .config_toml(TERRITORIES)
        .rep("emea", away("ana", "sick leave"))
        .rep("emea", capped("bo", 20))
        .rep("emea", rep("cy", 0))
        .state("day:2026-01-15:bo", "20");
    let v = route(&h, &uk_lead("1"));
    assert_eq!(
        unrouted(&v),
        "territory:emea matched (country \"GB\"), but team emea: all 3 reps skipped: \
         ana: unavailable: sick leave; bo: daily cap 20 reached; cy: weight 0: takes no new leads"
    );
    assert_eq!(v.candidates.len(), 3);
    assert!(v.candidates.iter().all(|c| !c.chosen));

    let cfg = format!("fallback_queue = \"emea-overflow\"\n{TERRITORIES}");
    let h = FakeHost::new()
        .config_toml(&cfg)
        .rep("emea", away("ana", "sick leave"));
    match route(&h, &uk_lead("2")).route {
        Route::Queue(q) => {
            assert_eq!(q.queue, "emea-overflow");
            assert!(
                q.reason
                    .ends_with("team emea: its only rep skipped: ana: unavailable: sick leave"),
                "{}",
                q.reason
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_team_with_no_reps_says_so() {
    let team = host::Team {
        name: "apac".into(),
        reps: Vec::new(),
    };
    let out = FakeHost::new().run(|| rotation::pick(&team, NOW, &crate::Skip::default()));
    assert_eq!(
        (out.chosen, out.reason.as_str()),
        (None, "team apac: has no reps")
    );
}

#[test]
fn adding_a_rep_keeps_everyone_s_counts_and_does_not_flood_the_newcomer() {
    let h = FakeHost::new()
        .config_toml(TERRITORIES)
        .rep("emea", testing::rep("ana"))
        .rep("emea", testing::rep("bo"))
        .state("rr:emea:ana", "50")
        .state("rr:emea:bo", "51")
        .rep("emea", rep("new", 2));
    let v = route(&h, &uk_lead("1"));
    // The newcomer joins at ana's level (50 per weight → 100 at weight 2).
    assert_eq!(owner(&v), "ana");
    assert_eq!(
        candidate(&v, "new").reason,
        "load 100/2 (raised from 0: new to the rotation or back after a skip)"
    );
    assert_eq!(h.get_state("rr:emea:ana").as_deref(), Some("51"));
    assert_eq!(h.get_state("rr:emea:bo").as_deref(), Some("51"));
    assert_eq!(h.get_state("rr:emea:new").as_deref(), Some("100"));
    // From then on, a weight-2 share: 2 of every 4 leads, never a run.
    assert_eq!(
        owners(&h, 8),
        ["new", "new", "ana", "bo", "new", "new", "ana", "bo"]
    );
}

#[test]
fn a_rep_back_from_leave_rejoins_without_a_flood() {
    let h = FakeHost::new()
        .config_toml(TERRITORIES)
        .rep("emea", testing::rep("ana"))
        .rep("emea", testing::rep("bo"))
        .rep("emea", testing::rep("cy"))
        .state("rr:emea:ana", "3")
        .state("rr:emea:bo", "40")
        .state("rr:emea:cy", "41");
    let v = route(&h, &uk_lead("1"));
    assert_eq!(owner(&v), "ana");
    assert_eq!(
        candidate(&v, "ana").reason,
        "lowest load 40/1 (raised from 3: new to the rotation or back after a skip); assignment 1 today"
    );
    assert_eq!(owners(&h, 5), ["bo", "ana", "bo", "cy", "ana"]);
}

#[test]
fn a_rep_less_than_a_round_behind_catches_up_normally() {
    let h = FakeHost::new()
        .config_toml(TERRITORIES)
        .rep("emea", rep("ana", 2))
        .rep("emea", rep("bo", 2))
        .state("rr:emea:ana", "9")
        .state("rr:emea:bo", "10");
    // 9/2 = 4.5 is less than one round (1.0) behind 5.0: not raised.
    let v = route(&h, &uk_lead("1"));
    assert_eq!(
        candidate(&v, "ana").reason,
        "lowest load 9/2; assignment 1 today"
    );
    assert_eq!(candidate(&v, "bo").reason, "load 10/2");
}

#[test]
fn counts_are_kept_per_team_and_caps_per_rep() {
    let cfg = r#"
        [[territories]]
        team = "inbound"
        industries = ["Software"]
        [[territories]]
        team = "outbound"
    "#;
    let h = FakeHost::new()
        .config_toml(cfg)
        .rep("inbound", capped("ana", 2))
        .rep("inbound", testing::rep("bo"))
        .rep("outbound", capped("ana", 2))
        .rep("outbound", testing::rep("cy"));
    let soft = |id: &str| lead(id).field("industry", "Software").input_at(NOW);
    let other = |id: &str| lead(id).field("industry", "Retail").input_at(NOW);
    assert_eq!(owner(&route(&h, &soft("1"))), "ana");
    assert_eq!(owner(&route(&h, &other("2"))), "ana");
    assert_eq!(h.get_state("rr:inbound:ana").as_deref(), Some("1"));
    assert_eq!(h.get_state("rr:outbound:ana").as_deref(), Some("1"));
    // Two assignments today across both teams: ana's cap of 2 is reached everywhere.
    let v = route(&h, &other("3"));
    assert_eq!(owner(&v), "cy");
    assert_eq!(candidate(&v, "ana").reason, "daily cap 2 reached");
}

#[test]
fn the_first_assignment_of_a_day_drops_an_old_day_count() {
    let h = FakeHost::new()
        .config_toml(TERRITORIES)
        .rep("emea", testing::rep("ana"))
        .state("day:2026-01-13:ana", "12")
        .state("day:2026-01-14:ana", "9");
    route(&h, &uk_lead("1"));
    assert_eq!(h.get_state("day:2026-01-13:ana"), None);
    assert_eq!(
        h.get_state("day:2026-01-14:ana").as_deref(),
        Some("9"),
        "yesterday is kept for late events"
    );
}

#[test]
fn a_rep_listed_twice_is_considered_once() {
    let h = FakeHost::new()
        .config_toml(TERRITORIES)
        .rep("emea", testing::rep("ana"))
        .rep("emea", testing::rep("ana"));
    let v = route(&h, &uk_lead("1"));
    assert_eq!(v.candidates.len(), 1);
    assert_eq!(h.get_state("rr:emea:ana").as_deref(), Some("1"));
}

#[test]
fn garbage_in_the_state_counts_as_zero() {
    let h = FakeHost::new()
        .config_toml(TERRITORIES)
        .rep("emea", testing::rep("ana"))
        .rep("emea", testing::rep("bo"))
        .state("rr:emea:ana", "not a number")
        .state("rr:emea:bo", "0");
    assert_eq!(owner(&route(&h, &uk_lead("1"))), "ana");
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
    let configs = readme_configs("router");
    assert_eq!(configs.len(), 2, "the reference and the quickstart");
    for config in configs {
        let h = FakeHost::new().config_toml(&config);
        h.run(|| TerritoryRouter::route(&uk_lead("1")))
            .unwrap_or_else(|e| panic!("{e}\n{config}"));
    }
}

/// The README's example directory, as the host would serve it.
fn quickstart_host(config: &str) -> FakeHost {
    let r = |id: &str, weight: u32, cap: Option<u32>| Rep {
        weight,
        daily_cap: cap,
        ..testing::rep(id)
    };
    FakeHost::new()
        .config_toml(config)
        .rep("na-enterprise", r("amy", 2, Some(25)))
        .rep("na-enterprise", r("raj", 1, Some(25)))
        .rep("na-smb", r("sam", 1, Some(40)))
        .rep("na-smb", r("lee", 1, Some(40)))
        .rep("na-smb", away("kim", "out of office: vacation"))
        .rep("emea", r("ana", 2, None))
        .rep("emea", r("bo", 1, None))
        .rep("emea", r("cy", 0, None))
        .account("globex.com", "raj")
        .account("initech.com", "ana")
}

#[test]
fn the_quickstart_routes_the_quickstart_leads_as_the_readme_says() {
    let h = quickstart_host(&readme_configs("router").pop().unwrap());
    // examples/quickstart/leads/*.json, as the adapter hands them over.
    let freemail = lead("hs-1004")
        .email("j.lee.globex@gmail.com")
        .company_domain("globex.com")
        .field("numberofemployees", "5000")
        .field("industry", "FINANCIAL_SERVICES")
        .field("country", "United States")
        .field("state", "TX")
        .input_at(NOW);
    let a = route(&h, &freemail);
    assert_eq!(
        (owner(&a), assignment(&a).rule.as_str()),
        ("raj", "account-owner")
    );

    let hot = lead("hs-1001")
        .email("maria.gonzalez@northwind-analytics.com")
        .company_domain("northwind-analytics.com")
        .field("numberofemployees", "850")
        .field("industry", "COMPUTER_SOFTWARE")
        .field("country", "United States")
        .field("state", "CA")
        .input_at(NOW);
    let v = route(&h, &hot);
    assert_eq!((owner(&v), assignment(&v).rule.as_str()), ("sam", "na-smb"));

    let cold = lead("hs-1002")
        .email("sam.student@gmail.com")
        .field("numberofemployees", Value::Null)
        .field("industry", Value::Null)
        .field("country", "United States")
        .field("state", "NY")
        .input_at(NOW);
    let v = route(&h, &cold);
    assert_eq!(owner(&v), "lee");
    assert_eq!(
        candidate(&v, "kim").reason,
        "unavailable: out of office: vacation"
    );

    let unroutable = lead("hs-1003")
        .email("kenji.watanabe@sakura-logistics.jp")
        .company_domain("sakura-logistics.jp")
        .field("numberofemployees", "1200")
        .field("industry", "LOGISTICS_AND_SUPPLY_CHAIN")
        .field("country", "Japan")
        .input_at(NOW);
    assert_eq!(
        unrouted(&route(&h, &unroutable)),
        "no territory matched (country \"Japan\", state empty, industry \"LOGISTICS_AND_SUPPLY_CHAIN\", numberofemployees \"1200\")"
    );
}

#[test]
fn the_quickstart_handles_the_other_cases() {
    let h = quickstart_host(&readme_configs("router").pop().unwrap())
        .rep("named", away("zed", "parental leave"))
        .account("acme.com", "zed");
    let big = lead("1")
        .field("country", "USA")
        .field("numberofemployees", "5000")
        .input_at(NOW);
    assert_eq!(owner(&route(&h, &big)), "amy");
    // The account owner is out: the lead goes by territory, and emea skips cy (weight 0).
    let v = route(
        &h,
        &lead("2")
            .email("jo@acme.com")
            .field("country", "DE")
            .input_at(NOW),
    );
    assert_eq!((owner(&v), assignment(&v).rule.as_str()), ("ana", "emea"));
    assert_eq!(candidate(&v, "cy").reason, "weight 0: takes no new leads");
    let owned = lead("3").owner("sam").field("country", "US").input_at(NOW);
    assert!(matches!(route(&h, &owned).route, Route::KeepCurrent(_)));
    let free = lead("4")
        .email("jo@example-isp.net")
        .field("country", "FR")
        .input_at(NOW);
    assert_eq!(assignment(&route(&h, &free)).rule, "emea");
}
