//! Bulk runs through the `leadwire` binary: `score`, `backtest` and `learn`
//! on files the test writes or generates (a planted ground truth), so every
//! number asserted here is known in advance.

use crate::common::{self, artifacts};

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{leadwire, wasm};
use leadwire::lab::generate::Generator;
use leadwire::lab::learn::roc_auc;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A config whose pipeline `score` is one step, plugin `scorer` from
/// `component`, with these config lines.
fn one_step(dir: &Path, file: &str, component: &str, config: &str) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(
        &path,
        format!(
            "[plugins.scorer]\npath = '{}'\n[plugins.scorer.config]\n{config}\n\n[pipelines.score]\nsteps = [{{ plugin = \"scorer\" }}]\n",
            wasm(component).display()
        ),
    )
    .unwrap();
    path
}

/// A rules-scorer on `plan` alone: gold 30, silver 20, bronze 10.
fn plan_scorer(dir: &Path, gold: i32) -> PathBuf {
    one_step(
        dir,
        &format!("plan-{gold}.toml"),
        artifacts::RULES_SCORER,
        &format!(
            "rules = [{{ name = \"plan\", field = \"plan\", points_by_value = {{ gold = {gold}, silver = 20, bronze = 10 }} }}]"
        ),
    )
}

/// Ten leads: gold + + -, silver + - -, bronze + - - -.
/// Pairs (positive above negative, ties half) = gold 2×5 + 2×1×½, silver
/// 1×3 + 1×2×½, bronze 1×3×½ = 16.5 of 4×6 = 24: AUC 0.6875.
const PLANS: &str = "id,plan,won\n\
a,gold,yes\nb,gold,yes\nc,gold,no\n\
d,silver,yes\ne,silver,no\nf,silver,no\n\
g,bronze,yes\nh,bronze,no\ni,bronze,no\nj,bronze,no\n";

/// `leadwire backtest` of the plan scorer (gold 30) on [`PLANS`], outcome
/// `won`, with `extra` arguments.
fn backtest_plans(dir: &Path, extra: &[&str]) -> Output {
    let input = dir.join("plans.csv");
    std::fs::write(&input, PLANS).unwrap();
    let config = plan_scorer(dir, 30);
    let mut args = vec![
        "backtest",
        "--config",
        path(&config),
        "--pipeline",
        "score",
        "--input",
        path(&input),
        "--outcome",
        "won",
    ];
    args.extend_from_slice(extra);
    leadwire(&args)
}

#[test]
fn backtest_numbers_match_a_case_worked_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let first = ok(backtest_plans(dir.path(), &["--json"]));
    let json: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let q = &json["quality"];
    assert_eq!(q["evaluated"], 10);
    assert_eq!(q["positives"], 4);
    assert!((q["auc"].as_f64().unwrap() - 0.6875).abs() < 1e-12, "{q}");
    // One lead per decile, highest score first: a gold that converted.
    assert_eq!(q["deciles"][0]["positives"], 1);
    assert_eq!(q["deciles"][0]["max_score"], 30.0);
    assert_eq!(q["deciles"][9]["max_score"], 10.0);
    // Replays are deterministic: the same bytes twice.
    let second = ok(backtest_plans(dir.path(), &["--json"]));
    assert_eq!(first.stdout, second.stdout);

    // Against a baseline that gives gold 5 points (below bronze): positives
    // silver 1×4 + 1×2×½, bronze 1×1 + 1×3×½, gold 2×1×½ = 8.5 of 24 pairs,
    // so the candidate is better by (16.5 − 8.5) / 24 = 1/3.
    let baseline = plan_scorer(dir.path(), 5);
    let out = ok(backtest_plans(
        dir.path(),
        &["--json", "--baseline", path(&baseline)],
    ));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let base = &json["baseline"];
    assert!(
        (base["quality"]["auc"].as_f64().unwrap() - 8.5 / 24.0).abs() < 1e-12,
        "{base}"
    );
    assert!(
        (base["auc_difference"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12,
        "{base}"
    );
}

#[test]
fn the_sweep_suggestion_and_breakdown_match_the_case_worked_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| backtest_plans(dir.path(), extra);
    let out = ok(run(&[
        "--by",
        "plan",
        "--target-precision",
        "50%",
        "--json",
    ]));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Gold 30 (+ + -), silver 20 (+ - -), bronze 10 (+ - - -).
    let cuts: Vec<(f64, u64, u64)> = json["quality"]["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["score"].as_f64().unwrap(),
                t["leads"].as_u64().unwrap(),
                t["positives"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(cuts, [(30.0, 3, 2), (20.0, 6, 3), (10.0, 10, 4)]);
    // The most leads at precision ≥ 50%: score ≥ 20 (3 of 6).
    let suggested = &json["suggestion"]["threshold"];
    assert_eq!(suggested["score"], 20.0, "{json}");
    assert_eq!(suggested["recall"], 0.75);
    let by: Vec<(String, u64, u64)> = json["by"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap().to_string(),
                g["rows"].as_u64().unwrap(),
                g["positives"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by,
        [
            ("bronze".to_string(), 4, 1),
            ("gold".to_string(), 3, 2),
            ("silver".to_string(), 3, 1)
        ]
    );
    let summary = text(&ok(run(&["--by", "plan", "--target-volume", "0.6"])).stdout);
    assert!(
        summary.contains("suggested cut-off for 60.0% of the leads: score ≥ 20 (6 leads"),
        "{summary}"
    );
    assert!(summary.contains("by plan: bronze 4 (25.0%)"), "{summary}");
    let refused = run(&["--by", "won"]);
    assert!(text(&refused.stderr).contains("--by won is the outcome column"));
    let refused = run(&["--by", "region"]);
    assert!(
        text(&refused.stderr).contains("the --by column `region` is not in the header"),
        "{}",
        text(&refused.stderr)
    );
    let refused = run(&["--target-precision", "40"]);
    assert!(text(&refused.stderr).contains("write it like 40% or 0.4"));
}

/// The report with a baseline, opened in headless Chromium (Debian's
/// `chromium`, which .ci/run installs): the screenshot must show the
/// candidate's curve, drawn over the baseline's.
#[test]
fn the_html_report_has_four_charts_with_ticks_and_renders_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = plan_scorer(dir.path(), 5);
    let report = dir.path().join("report.html");
    let out = ok(backtest_plans(
        dir.path(),
        &[
            "--baseline",
            path(&baseline),
            "--by",
            "plan",
            "--target-precision",
            "50%",
            "--report",
            path(&report),
        ],
    ));
    assert!(
        text(&out.stdout).contains("ROC AUC 0.6875 (95% interval "),
        "{}",
        text(&out.stdout)
    );
    let html = std::fs::read_to_string(&report).unwrap();
    assert_eq!(html.matches("<svg").count(), 4, "a 2×2 grid, no blank cell");
    for chart in html.split("<svg").skip(1) {
        let chart = &chart[..chart.find("</svg>").unwrap()];
        assert!(
            chart.matches("class=\"tick-label\"").count() >= 8,
            "{chart}"
        );
        // The legend is drawn above the plot area (y < TOP = 50).
        assert!(chart.contains("class=\"legend\""), "{chart}");
    }
    let baseline_at = html.find("class=\"roc baseline\"").unwrap();
    let candidate_at = html.find("class=\"roc candidate\"").unwrap();
    assert!(
        baseline_at < candidate_at,
        "the candidate is drawn last, on top"
    );
    assert!(html.contains("Suggested cut-off for precision ≥ 50.0%:</b> score ≥ 20"));
    assert!(html.contains("<h3>By plan</h3>"));
    assert!(html.contains("Leads with equal scores are split"));
    // No table of nothing: these pipelines set no grade, segment or stage.
    for empty in ["<h3>By grade", "<h3>By segment", "<h3>Qualified stages"] {
        assert!(!html.contains(empty), "{empty} in the report");
    }
    for external in ["<script", "<link", "src=", "url("] {
        assert!(!html.contains(external), "{external} in the report");
    }

    let shot = dir.path().join("report.png");
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            std::process::Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("headless Chromium: install Debian's chromium (.ci/run does)");
    let profile = dir.path().join("chromium-profile");
    let run = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1200,900",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", report.display()))
        .output()
        .unwrap();
    assert!(run.status.success(), "chromium: {}", text(&run.stderr));
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((frame.width, frame.height), (1200, 900));
    let channels = frame.color_type.samples();
    let count = |rgb: [u8; 3]| {
        pixels[..frame.buffer_size()]
            .chunks(channels)
            .filter(|p| p[..3] == rgb)
            .count()
    };
    // The candidate's blue (#1f6feb: ROC curve, decile bars) and the
    // baseline's red (#d1242f) are on screen.
    assert!(
        count([0x1f, 0x6f, 0xeb]) > 500,
        "no candidate blue on screen"
    );
    assert!(count([0xd1, 0x24, 0x2f]) > 50, "no baseline red on screen");
    if let Ok(keep) = std::env::var("LEADWIRE_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}

#[test]
fn score_reports_bad_rows_by_line_and_on_error_decides_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(
        &input,
        "id,plan\na,gold\nb,silver,extra\n,bronze\nd,bronze\n",
    )
    .unwrap();
    let config = plan_scorer(dir.path(), 30);
    let output = dir.path().join("out.csv");
    let out = leadwire(&[
        "score",
        "--config",
        path(&config),
        "--pipeline",
        "score",
        "--input",
        path(&input),
        "--output",
        path(&output),
    ]);
    // Errors were skipped, not hidden: exit 3, each named by line, all in the output.
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("skipped line 3: 3 cells where the header has 2"),
        "{err}"
    );
    assert!(
        err.contains("skipped line 4: the id cell is empty"),
        "{err}"
    );
    assert!(
        err.contains("scored 4 rows") && err.contains("2 ok, 2 errors (2 bad-row)"),
        "{err}"
    );
    let rows: Vec<String> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(
        rows[0],
        "line,id,status,score,grade,segments,lifecycle_stage,owner,route,nurture,error"
    );
    assert!(rows[1].starts_with("2,a,ok,30,"), "{}", rows[1]);
    assert!(rows[2].starts_with("3,,skipped,"), "{}", rows[2]);
    assert!(rows[4].starts_with("5,d,ok,10,"), "{}", rows[4]);

    let out = leadwire(&[
        "score",
        "--config",
        path(&config),
        "--pipeline",
        "score",
        "--input",
        path(&input),
        "--output",
        path(&output),
        "--on-error",
        "fail",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("line 3: 3 cells where the header has 2 (a stray comma or an unquoted line break?) (stopped: --on-error fail)"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn score_runs_the_quickstart_pipeline_on_generated_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("leads.jsonl");
    let output = dir.path().join("decisions.jsonl");
    ok(leadwire(&[
        "generate",
        "--rows",
        "300",
        "--format",
        "jsonl",
        "--output",
        path(&input),
    ]));
    let quickstart = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/quickstart/leadwire.toml"
    );
    let args = [
        "score",
        "--config",
        quickstart,
        "--pipeline",
        "inbound",
        "--input",
        path(&input),
        "--output",
        path(&output),
        "--threads",
        "2",
    ];
    let out = ok(leadwire(&args));
    assert!(
        text(&out.stderr).contains("scored 300 rows"),
        "{}",
        text(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 300);
    // In input order, every lead decided by all four steps.
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["line"], i as u64 + 1);
        let d = &line["decision"];
        assert_eq!(d["status"], "ok", "{d}");
        assert_eq!(d["steps"].as_array().unwrap().len(), 4);
    }
    let scored = lines
        .iter()
        .filter(|l| l["decision"]["score"]["value"].as_f64().unwrap() > 0.0)
        .count();
    assert!(scored > 30, "only {scored} of 300 leads scored above 0");
}

/// The generated CSV of rows `range` of seed `seed`.
fn generated(dir: &Path, name: &str, seed: u64, rows: u64) -> PathBuf {
    let file = dir.join(name);
    ok(leadwire(&[
        "generate",
        "--rows",
        &rows.to_string(),
        "--seed",
        &seed.to_string(),
        "--output",
        path(&file),
    ]));
    file
}

#[test]
fn learn_finds_the_planted_signal_and_backtest_confirms_it_on_fresh_leads() {
    let dir = tempfile::tempdir().unwrap();
    let fit = generated(dir.path(), "fit.csv", 7, 12_000);
    let test = generated(dir.path(), "test.csv", 8, 4_000);
    let scorer = dir.path().join("scorer.toml");
    let out = ok(leadwire(&[
        "learn",
        "--input",
        path(&fit),
        "--outcome",
        "converted",
        "--columns",
        "industry,seniority,numberofemployees,pricing_views_30d,country,utm_source,preferred_language",
        "--output",
        path(&scorer),
    ]));
    assert!(
        text(&out.stderr).contains("cross-validated AUC"),
        "{}",
        text(&out.stderr)
    );
    // The calibration table: ten tenths, the top one far likelier to convert.
    let calibration: Vec<Vec<f64>> = text(&out.stderr)
        .lines()
        .skip_while(|l| !l.starts_with("decile  leads  predicted  actual"))
        .skip(1)
        .take_while(|l| l.trim_end().ends_with('%'))
        .map(|l| {
            l.split_whitespace()
                .map(|c| c.trim_end_matches('%').parse().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(calibration.len(), 10, "{}", text(&out.stderr));
    assert!(
        calibration[0][2] > calibration[9][2] + 10.0,
        "{calibration:?}"
    );
    assert!(
        calibration[0][3] > calibration[9][3] + 10.0,
        "{calibration:?}"
    );
    // The points scale is said, and the same, in the summary and the file.
    let err = text(&out.stderr);
    let pdo = err
        .split("; ")
        .find_map(|part| part.strip_suffix(" points double the odds"))
        .or_else(|| {
            err.split("); ")
                .nth(1)
                .and_then(|p| p.split(" points double").next())
        })
        .unwrap_or_else(|| panic!("no scale in: {err}"))
        .to_string();
    let written = std::fs::read_to_string(&scorer).unwrap();
    assert!(
        written.contains(&format!("{pdo} points double the odds")),
        "summary says {pdo}; file header:\n{}",
        written.lines().take(8).collect::<Vec<_>>().join("\n")
    );

    // The points follow the planted logit.
    let config: toml::Table = std::fs::read_to_string(&scorer).unwrap().parse().unwrap();
    let rules = config["rules"].as_array().unwrap();
    let rule = |field: &str| {
        rules
            .iter()
            .find(|r| r["field"].as_str() == Some(field))
            .unwrap_or_else(|| panic!("no rule for {field}"))
    };
    let points = |field: &str, value: &str| {
        rule(field)["points_by_value"]
            .get(value)
            .or_else(|| rule(field)["points_by_value"].get(&value.to_lowercase()))
            .and_then(|p| p.as_integer())
            .unwrap_or(0)
    };
    assert!(points("seniority", "c_level") > points("seniority", "manager"));
    assert!(points("seniority", "manager") > points("seniority", "intern"));
    assert!(points("industry", "COMPUTER_SOFTWARE") > points("industry", "RETAIL") + 3);
    assert!(points("country", "India") < points("country", "United States") - 3);
    let pricing = rule("pricing_views_30d")["points_by_bin"]
        .as_array()
        .unwrap();
    let (first, last) = (
        pricing[0].as_integer().unwrap(),
        pricing.last().unwrap().as_integer().unwrap(),
    );
    assert!(last > first + 5, "pricing views bins {pricing:?}");

    // On leads it never saw, the points rank nearly as well as the truth.
    let leadwire_toml = dir.path().join("leadwire.toml");
    std::fs::write(
        &leadwire_toml,
        format!(
            "[plugins.scorer]\npath = '{}'\nconfig_file = 'scorer.toml'\n[pipelines.learned]\nsteps = [{{ plugin = \"scorer\" }}]\n",
            wasm(artifacts::RULES_SCORER).display()
        ),
    )
    .unwrap();
    let out = ok(leadwire(&[
        "backtest",
        "--config",
        path(&leadwire_toml),
        "--pipeline",
        "learned",
        "--input",
        path(&test),
        "--outcome",
        "converted",
        "--json",
    ]));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let learned_auc = json["quality"]["auc"].as_f64().unwrap();
    let g = Generator::new(8);
    let (logits, outcomes): (Vec<f64>, Vec<bool>) = (0..4_000)
        .map(|i| {
            let l = g.lead(i);
            (l.logit(), l.converted)
        })
        .unzip();
    let planted_auc = roc_auc(&logits, &outcomes).unwrap();
    assert!(
        learned_auc > planted_auc - 0.03,
        "learned {learned_auc:.4} vs planted {planted_auc:.4}"
    );
    assert!(
        learned_auc < planted_auc + 0.02,
        "better than the truth? {learned_auc:.4} vs {planted_auc:.4}"
    );
}

#[test]
fn learn_warns_about_a_column_that_leaks_the_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,plan,status\n");
    for i in 0..400 {
        let won = i % 3 == 0;
        let plan = ["gold", "silver", "bronze"][i % 5 % 3];
        csv += &format!(
            "{i},{plan},{},{}\n",
            if won { "closed-won" } else { "closed-lost" },
            won as u8
        );
    }
    let csv = csv.replace("id,plan,status\n", "id,plan,status,won\n");
    let input = dir.path().join("h.csv");
    std::fs::write(&input, csv).unwrap();
    let out = ok(leadwire(&[
        "learn",
        "--input",
        path(&input),
        "--outcome",
        "won",
    ]));
    let err = text(&out.stderr);
    assert!(err.contains("warning:") && err.contains("status"), "{err}");
}

/// `--exclude` names columns like `--columns` does: a name the file lacks is an
/// error that lists the file's columns (a typo used to exclude nothing).
#[test]
fn learn_refuses_exclude_and_columns_names_the_file_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,plan,region,won\n");
    for i in 0..200 {
        csv += &format!(
            "{i},{},{},{}\n",
            ["gold", "silver"][i % 2],
            ["eu", "us"][i % 3 % 2],
            (i % 4 == 0) as u8
        );
    }
    let input = dir.path().join("h.csv");
    std::fs::write(&input, csv).unwrap();
    for flag in ["--exclude", "--columns"] {
        let out = leadwire(&[
            "learn",
            "--input",
            path(&input),
            "--outcome",
            "won",
            flag,
            "plan,regoin",
        ]);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{flag}: {err}");
        assert!(
            err.contains(&format!("{flag} regoin: no such column")) && err.contains("plan, region"),
            "{flag}: {err}"
        );
    }
    ok(leadwire(&[
        "learn",
        "--input",
        path(&input),
        "--outcome",
        "won",
        "--exclude",
        "region",
    ]));
}

/// An outcome column whose values do not read as positive: the message lists
/// them and says how to name the positive one.
#[test]
fn learn_on_one_class_lists_the_outcome_values_and_suggests_positive() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,plan,won\n");
    for i in 0..50 {
        csv += &format!(
            "{i},{},{}\n",
            ["gold", "silver"][i % 2],
            ["Y", "N"][i % 3 % 2]
        );
    }
    let input = dir.path().join("h.csv");
    std::fs::write(&input, csv).unwrap();
    let out = leadwire(&["learn", "--input", path(&input), "--outcome", "won"]);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("all negative")
            && err.contains("`N` (")
            && err.contains("`Y` (")
            && err.contains("--positive"),
        "{err}"
    );
    ok(leadwire(&[
        "learn",
        "--input",
        path(&input),
        "--outcome",
        "won",
        "--positive",
        "Y",
    ]));
}

/// A backtest whose pipeline fails on every row says why, instead of only
/// "no row has both a score and an outcome".
#[test]
fn a_backtest_whose_every_row_fails_names_the_failure() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("h.csv");
    std::fs::write(&input, PLANS).unwrap();
    let config = one_step(dir.path(), "panic.toml", artifacts::HOSTILE_PANIC, "");
    let out = leadwire(&[
        "backtest",
        "--config",
        path(&config),
        "--pipeline",
        "score",
        "--input",
        path(&input),
        "--outcome",
        "won",
    ]);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("every row failed") && err.contains("trap"),
        "{err}"
    );
}

/// A plugin whose config is wrong fails every row the same way: the error is
/// shown once, with how many more rows it failed, not once per row; and no
/// colour codes reach a stderr that is not a terminal.
#[test]
fn an_error_every_row_shares_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("plans.csv");
    std::fs::write(&input, PLANS).unwrap();
    let config = one_step(
        dir.path(),
        "bad.toml",
        artifacts::RULES_SCORER,
        "rulez = []",
    );
    let output = dir.path().join("out.csv");
    let out = leadwire(&[
        "score",
        "--config",
        path(&config),
        "--pipeline",
        "score",
        "--input",
        path(&input),
        "--output",
        path(&output),
    ]);
    let err = text(&out.stderr);
    assert_eq!(err.matches("skipped line").count(), 1, "{err}");
    assert!(err.contains("unknown key `rulez`"), "{err}");
    assert!(
        err.contains("9 more rows failed with an error shown above"),
        "{err}"
    );
    assert!(!err.contains('\u{1b}'), "colour codes in a pipe: {err:?}");
}

/// `score --outcome COLUMN` carries that column beside each result, so an
/// analyst can compare scores with outcomes without joining files.
#[test]
fn score_carries_the_outcome_column_into_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("plans.csv");
    std::fs::write(&input, PLANS).unwrap();
    let config = plan_scorer(dir.path(), 30);
    let csv_out = dir.path().join("out.csv");
    ok(leadwire(&[
        "score",
        "--config",
        path(&config),
        "--pipeline",
        "score",
        "--input",
        path(&input),
        "--outcome",
        "won",
        "--output",
        path(&csv_out),
    ]));
    let text_out = std::fs::read_to_string(&csv_out).unwrap();
    let mut lines = text_out.lines();
    assert!(
        lines.next().unwrap().ends_with(",error,outcome"),
        "{text_out}"
    );
    assert!(lines.next().unwrap().ends_with(",yes"), "{text_out}");
    let jsonl_out = dir.path().join("out.jsonl");
    ok(leadwire(&[
        "score",
        "--config",
        path(&config),
        "--pipeline",
        "score",
        "--input",
        path(&input),
        "--outcome",
        "won",
        "--output",
        path(&jsonl_out),
    ]));
    let first: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&jsonl_out)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["outcome"], "yes", "{first}");
}
