//! The install's `config` table: what an admin writes in leadwire.toml.
//!
//! One section per outcome, in the order they are checked (see lib.rs). Every key
//! has a default; unknown keys are errors, so a typo never turns a rule off.

use leadwire_sdk::{Error, Result, host};
use serde::Deserialize;

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub disqualify: Disqualify,
    pub recycle: Recycle,
    pub exit: Exit,
    /// Leave nurture after this many days in it; none: no limit.
    pub max_days_in_nurture: Option<u32>,
    /// When the lead entered nurture; the lead's `created_at` if it is empty.
    pub nurture_entered_field: String,
    pub on_max_age: OnMaxAge,
    pub enroll: Enroll,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            disqualify: Disqualify::default(),
            recycle: Recycle::default(),
            exit: Exit::default(),
            max_days_in_nurture: None,
            nurture_entered_field: "nurture_entered_at".into(),
            on_max_age: OnMaxAge::Disqualify,
            enroll: Enroll::default(),
        }
    }
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum OnMaxAge {
    Disqualify,
    Recycle,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Out for good: the email is dead, the lead opted out, or it is not a fit.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, default)]
pub struct Disqualify {
    /// Activity kinds that are email bounces...
    pub bounce_kinds: Vec<String>,
    /// ...and the property and values that make one a hard bounce.
    pub bounce_property: String,
    pub bounce_values: Vec<String>,
    /// Activity kinds that mean the lead unsubscribed.
    pub unsubscribe_kinds: Vec<String>,
    /// Boolean fields that are true when the lead opted out of email.
    pub optout_fields: Vec<String>,
    /// Segments (from an earlier segmentation step) that mean "not a fit".
    pub not_a_fit_segments: Vec<String>,
    /// Field values that mean "not a fit".
    pub field_rules: Vec<FieldRule>,
}

impl Default for Disqualify {
    fn default() -> Self {
        Disqualify {
            bounce_kinds: strings(&["email_bounce"]),
            bounce_property: "bounce_type".into(),
            bounce_values: strings(&["hard"]),
            unsubscribe_kinds: strings(&["unsubscribe"]),
            optout_fields: strings(&["hs_email_optout"]),
            not_a_fit_segments: strings(&["not-a-fit"]),
            field_rules: Vec::new(),
        }
    }
}

/// `field` holds one of `values` (case-insensitive; any item of a list field).
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct FieldRule {
    pub field: String,
    pub values: Vec<String>,
    /// Shown in the reason, e.g. "students".
    pub name: Option<String>,
}

/// Back to nurture: sales rejected the lead, or its status says so.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, default)]
pub struct Recycle {
    /// Recycle on a `rejected` event, keeping the rep's reason.
    pub on_rejection: bool,
    /// A rejection whose reason contains one of these (case-insensitive) disqualifies instead.
    pub disqualify_rejections_containing: Vec<String>,
    /// A status field whose values send a lead back to nurture; empty values: off.
    pub status_field: String,
    pub status_values: Vec<String>,
}

impl Default for Recycle {
    fn default() -> Self {
        Recycle {
            on_rejection: true,
            disqualify_rejections_containing: Vec::new(),
            status_field: "hs_lead_status".into(),
            status_values: Vec::new(),
        }
    }
}

/// To sales: the lead is sales-qualified, scored high enough, or booked a meeting.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, default)]
pub struct Exit {
    /// Lifecycle stages (case-insensitive) that mean sales-qualified.
    pub stages: Vec<String>,
    /// Exit when an earlier scoring step gave at least this; none: off.
    pub min_score: Option<f64>,
    /// Activity kinds that are a booked meeting; empty: off.
    pub meeting_kinds: Vec<String>,
    pub meeting_within_days: u32,
}

impl Default for Exit {
    fn default() -> Self {
        Exit {
            stages: strings(&["sql", "salesqualifiedlead"]),
            min_score: None,
            meeting_kinds: strings(&["meeting_booked"]),
            meeting_within_days: 30,
        }
    }
}

/// Put a lead that stays in nurture in a track chosen by its segment.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Enroll {
    /// The field holding the lead's current track: a lead already there stays.
    pub track_field: Option<String>,
    /// Ordered: the first segment the lead is in picks the track.
    pub tracks: Vec<Track>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Track {
    pub segment: String,
    pub track: String,
}

fn invalid(path: &str, message: impl std::fmt::Display) -> Error {
    Error::msg(format!("invalid config at `{path}`: {message}"))
}

/// Every item non-blank.
fn no_blanks(path: &str, items: &[String]) -> Result<()> {
    match items.iter().position(|s| s.trim().is_empty()) {
        Some(i) => Err(invalid(&format!("{path}[{i}]"), "is empty")),
        None => Ok(()),
    }
}

fn not_blank(path: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(invalid(path, "is empty: name the CRM property"));
    }
    Ok(())
}

impl Config {
    /// Read and check the install's config.
    pub fn load() -> Result<Config> {
        let config: Config = host::config()?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        let d = &self.disqualify;
        no_blanks("disqualify.bounce_kinds", &d.bounce_kinds)?;
        no_blanks("disqualify.bounce_values", &d.bounce_values)?;
        if !d.bounce_kinds.is_empty() {
            not_blank("disqualify.bounce_property", &d.bounce_property)?;
            if d.bounce_values.is_empty() {
                return Err(invalid(
                    "disqualify.bounce_values",
                    "is empty: list the values that mean a hard bounce, or set bounce_kinds = [] to turn bounces off",
                ));
            }
        }
        no_blanks("disqualify.unsubscribe_kinds", &d.unsubscribe_kinds)?;
        no_blanks("disqualify.optout_fields", &d.optout_fields)?;
        no_blanks("disqualify.not_a_fit_segments", &d.not_a_fit_segments)?;
        for (i, rule) in d.field_rules.iter().enumerate() {
            not_blank(&format!("disqualify.field_rules[{i}].field"), &rule.field)?;
            let values = format!("disqualify.field_rules[{i}].values");
            if rule.values.is_empty() {
                return Err(invalid(
                    &values,
                    "is empty: list the values that mean not a fit",
                ));
            }
            no_blanks(&values, &rule.values)?;
        }

        let r = &self.recycle;
        no_blanks(
            "recycle.disqualify_rejections_containing",
            &r.disqualify_rejections_containing,
        )?;
        no_blanks("recycle.status_values", &r.status_values)?;
        if !r.status_values.is_empty() {
            not_blank("recycle.status_field", &r.status_field)?;
        }

        let e = &self.exit;
        no_blanks("exit.stages", &e.stages)?;
        no_blanks("exit.meeting_kinds", &e.meeting_kinds)?;
        if !e.meeting_kinds.is_empty() && e.meeting_within_days == 0 {
            return Err(invalid("exit.meeting_within_days", "must be at least 1"));
        }

        if self.max_days_in_nurture == Some(0) {
            return Err(invalid(
                "max_days_in_nurture",
                "must be at least 1: remove it for no limit",
            ));
        }
        not_blank("nurture_entered_field", &self.nurture_entered_field)?;

        if let Some(field) = &self.enroll.track_field {
            not_blank("enroll.track_field", field)?;
        }
        for (i, t) in self.enroll.tracks.iter().enumerate() {
            if t.segment.trim().is_empty() {
                return Err(invalid(&format!("enroll.tracks[{i}].segment"), "is empty"));
            }
            if t.track.trim().is_empty() {
                return Err(invalid(&format!("enroll.tracks[{i}].track"), "is empty"));
            }
        }
        Ok(())
    }
}
