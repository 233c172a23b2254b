//! The config schema and its validation. Every error names the key at fault,
//! e.g. ``invalid config at `rules[2].max` (rule "mid-market"): ...``.
//!
//! ```toml
//! [[rules]]            # name, group?, and either points with one condition (see
//!                      #   conditions.rs; activity rules: half_life_days?, per_activity?,
//!                      #   max_points?) or a points table: field with points_by_value,
//!                      #   or field with bins and points_by_bin
//! [caps]               # group (or `total`) = number
//! [floors]             # group (or `total`) = number
//! [grade]              # fit = [..], engagement = [..], fit_letters?, engagement_digits?
//! ```

use leadwire_sdk::Result;

use crate::conditions::{self, Condition, FieldCondition, FieldTest};
use crate::grade::Grid;
use crate::reader::{self, Scalar, Table};
use crate::table::PointsTable;

/// The groups that make the grade; a rule may name any other group too.
pub const FIT: &str = "fit";
pub const ENGAGEMENT: &str = "engagement";
/// Reserved in `[caps]` and `[floors]` for the sum of all groups.
pub const TOTAL: &str = "total";

const TOP_KEYS: [&str; 4] = ["rules", "caps", "floors", "grade"];
const RULE_KEYS: [&str; 6] = [
    "name",
    "group",
    "points",
    "half_life_days",
    "per_activity",
    "max_points",
];
const TABLE_KEYS: [&str; 3] = ["points_by_value", "bins", "points_by_bin"];
const GRADE_KEYS: [&str; 4] = ["fit", "engagement", "fit_letters", "engagement_digits"];

/// A validated config.
#[derive(Debug)]
pub struct Config {
    pub rules: Vec<Rule>,
    /// Group names in output order: fit, engagement, then the others as first named.
    pub groups: Vec<String>,
    /// `[caps]` and `[floors]`: group name (or `total`) and bound.
    pub caps: Vec<(String, f64)>,
    pub floors: Vec<(String, f64)>,
    pub grade: Option<Grid>,
}

#[derive(Debug)]
pub struct Rule {
    pub name: String,
    pub group: String,
    pub score: Score,
}

#[derive(Debug)]
pub enum Score {
    /// `points` when the condition holds (an activity rule's may decay).
    Fixed {
        points: f64,
        condition: Condition,
        decay: Decay,
    },
    /// A points table on one field: the first case that holds gives its points.
    Table(PointsTable),
}

/// How an activity rule turns its matching activities into points.
#[derive(Debug, Default)]
pub struct Decay {
    pub half_life_days: Option<f64>,
    /// Points for each matching activity (summed) rather than once.
    pub per_activity: bool,
    /// The most (in absolute value) the rule can give.
    pub max_points: Option<f64>,
}

impl Config {
    /// The install's config, validated.
    pub fn load() -> Result<Config> {
        Config::read(reader::load()?)
    }

    fn read(mut t: Table) -> Result<Config> {
        t.only(&[&TOP_KEYS])?;
        let rule_tables = t.tables("rules")?;
        let caps = read_bounds(&mut t, "caps")?;
        let floors = read_bounds(&mut t, "floors")?;
        let grade = match t.table("grade")? {
            Some(g) => Some(read_grade(g)?),
            None => None,
        };

        if rule_tables.is_empty() {
            return Err(t.error("rules", "no rules: add at least one [[rules]] entry"));
        }
        let mut rules: Vec<Rule> = Vec::with_capacity(rule_tables.len());
        let mut groups = vec![FIT.to_string(), ENGAGEMENT.to_string()];
        for (i, rule_table) in rule_tables.into_iter().enumerate() {
            let rule = read_rule(rule_table)?;
            if rules.iter().any(|r| r.name == rule.name) {
                return Err(t.error(
                    &format!("rules[{i}].name"),
                    format!(
                        "rule name \"{}\" is used twice: names must be unique",
                        rule.name
                    ),
                ));
            }
            if !groups.contains(&rule.group) {
                groups.push(rule.group.clone());
            }
            rules.push(rule);
        }

        for (table, bounds) in [("caps", &caps), ("floors", &floors)] {
            for (group, _) in bounds {
                if group != TOTAL && !groups.contains(group) {
                    return Err(t.error(
                        &format!("{table}.{group}"),
                        format!(
                            "no rule is in group \"{group}\" (groups: {}, or `total`)",
                            groups.join(", ")
                        ),
                    ));
                }
            }
        }
        for (group, floor) in &floors {
            if let Some((_, cap)) = caps.iter().find(|(g, cap)| g == group && floor > cap) {
                return Err(t.error(
                    &format!("floors.{group}"),
                    format!("the floor ({floor}) is above the cap ({cap})"),
                ));
            }
        }

        Ok(Config {
            rules,
            groups,
            caps,
            floors,
            grade,
        })
    }
}

fn read_rule(mut t: Table) -> Result<Rule> {
    let name = t.text("name")?;
    if let Some(name) = &name {
        t.set_context("rule", name);
    }
    t.only(&[&RULE_KEYS, &TABLE_KEYS, &conditions::KEYS])?;
    let name = name.ok_or_else(|| t.error("name", "every rule needs a name"))?;
    if name.trim().is_empty() {
        return Err(t.error("name", "the rule name is empty"));
    }
    let group = t.text("group")?;
    let (score, default_group) = match read_points_table(&mut t)? {
        Some(cases) => (Score::Table(cases), FIT),
        None => read_fixed(&mut t)?,
    };
    let group = group.unwrap_or_else(|| default_group.into());
    if group.trim().is_empty() {
        return Err(t.error("group", "the group name is empty"));
    }
    if group == TOTAL {
        return Err(t.error(
            "group",
            "\"total\" is reserved for the sum of all groups: pick another name",
        ));
    }
    Ok(Rule { name, group, score })
}

/// `points` and a condition; the default group follows the condition.
fn read_fixed(t: &mut Table) -> Result<(Score, &'static str)> {
    let points = t
        .number("points")?
        .ok_or_else(|| t.error("points", "every rule needs points, e.g. `points = 10`"))?;
    let per_activity = t.boolean("per_activity")?;
    let decay = Decay {
        half_life_days: t.number("half_life_days")?,
        per_activity: per_activity.unwrap_or(false),
        max_points: t.number("max_points")?,
    };
    let condition = conditions::read(t)?.ok_or_else(|| {
        t.error(
            "field",
            "a rule needs a condition: `field = ...` with a test, or `activity = ...`",
        )
    })?;

    let default_group = match condition {
        Condition::Field(_) => {
            for (key, set) in [
                ("half_life_days", decay.half_life_days.is_some()),
                ("per_activity", per_activity.is_some()),
                ("max_points", decay.max_points.is_some()),
            ] {
                if set {
                    return Err(t.error(
                        key,
                        format!("`{key}` applies to `activity` rules, not to `field` ones"),
                    ));
                }
            }
            FIT
        }
        Condition::Activity(_) => ENGAGEMENT,
    };
    if decay.half_life_days.is_some_and(|h| h <= 0.0) {
        return Err(t.error("half_life_days", "must be a number of days above 0"));
    }
    if decay.max_points.is_some_and(|m| m <= 0.0) {
        return Err(t.error(
            "max_points",
            "must be a number above 0 (it caps the rule's points in absolute value)",
        ));
    }
    let score = Score::Fixed {
        points,
        condition,
        decay,
    };
    Ok((score, default_group))
}

/// A points table, the compact form of many rules on one field (what
/// `leadwire learn` writes): `points_by_value = { VALUE = points, ... }`, or
/// `bins = [b1, b2, ...]` with `points_by_bin` for `< b1`, `[b1, b2)`, ..., `>= bn`.
/// `Ok(None)` when the rule is not a points table.
fn read_points_table(t: &mut Table) -> Result<Option<PointsTable>> {
    let by_value = t.table("points_by_value")?;
    let bins = t.numbers("bins")?;
    let by_bin = t.numbers("points_by_bin")?;
    let kind = match (&by_value, &bins, &by_bin) {
        (None, None, None) => return Ok(None),
        (Some(_), None, None) => "points_by_value",
        (None, Some(_), Some(_)) => "bins",
        (Some(_), _, _) => {
            let message = "a points table is `points_by_value` or `bins`, not both";
            return Err(t.error("bins", message));
        }
        (None, Some(_), None) => {
            let message = "`bins` needs `points_by_bin`, one more than the bins";
            return Err(t.error("points_by_bin", message));
        }
        (None, None, Some(_)) => {
            return Err(t.error("bins", "`points_by_bin` needs `bins`, the bin edges"));
        }
    };
    let field = t
        .text("field")?
        .ok_or_else(|| t.error("field", "a points table needs the `field` it scores"))?;
    let others = ["points", "half_life_days", "per_activity", "max_points"];
    if let Some(key) = others.iter().chain(&conditions::KEYS).find(|k| t.has(k)) {
        return Err(t.error(
            key,
            format!("`{key}` does not go with `{kind}`: a points table is the rule's only test and gives its own points"),
        ));
    }
    let case = |test| FieldCondition {
        field: field.clone(),
        test,
    };

    let mut cases = Vec::new();
    let table = if let Some(mut values) = by_value {
        for value in values.keys() {
            let points = values.number(&value)?.unwrap_or_default();
            cases.push((case(FieldTest::Equals(Scalar::Text(value))), points));
        }
        if cases.is_empty() {
            let message = "the table is empty: give VALUE = points entries";
            return Err(t.error("points_by_value", message));
        }
        PointsTable::by_value(cases)
    } else {
        // `kind` is "bins": both are given.
        let (bins, points) = (bins.unwrap_or_default(), by_bin.unwrap_or_default());
        if bins.is_empty() || bins.windows(2).any(|w| w[0] >= w[1]) {
            let message = "give the bin edges, lowest first, e.g. bins = [50, 200, 1000]";
            return Err(t.error("bins", message));
        }
        if points.len() != bins.len() + 1 {
            return Err(t.error(
                "points_by_bin",
                format!(
                    "{} points for {} bin edges: give one more than the edges (below the first, between each two, from the last up)",
                    points.len(),
                    bins.len()
                ),
            ));
        }
        for (i, points) in points.into_iter().enumerate() {
            let min = i.checked_sub(1).map(|j| bins[j]);
            let max = bins.get(i).copied();
            cases.push((case(FieldTest::Range { min, max }), points));
        }
        PointsTable::by_bin(bins, cases)
    };
    Ok(Some(table))
}

/// `[caps]` or `[floors]`: group = number.
fn read_bounds(t: &mut Table, key: &str) -> Result<Vec<(String, f64)>> {
    let Some(mut bounds) = t.table(key)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for group in bounds.keys() {
        let value = bounds.number(&group)?.unwrap_or_default();
        out.push((group, value));
    }
    Ok(out)
}

fn read_grade(mut g: Table) -> Result<Grid> {
    g.only(&[&GRADE_KEYS])?;
    let fit = g.numbers("fit")?.ok_or_else(|| {
        g.error(
            "fit",
            "give the fit thresholds, highest first, e.g. fit = [40, 25, 10]",
        )
    })?;
    let engagement = g.numbers("engagement")?.ok_or_else(|| {
        g.error(
            "engagement",
            "give the engagement thresholds, highest first, e.g. engagement = [40, 25, 10]",
        )
    })?;
    let fit_letters = g.texts("fit_letters")?;
    let engagement_digits = g.texts("engagement_digits")?;
    Grid::new(fit, engagement, fit_letters, engagement_digits)
        .map_err(|(key, message)| g.error(key, message))
}
