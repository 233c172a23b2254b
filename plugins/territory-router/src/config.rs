//! The install's `config` table: what an admin writes in leadwire.toml.
//!
//! Every key has a default except the territories themselves; unknown keys are
//! errors, so a typo never silently turns a rule off.

use leadwire_sdk::{Error, Result, host};
use serde::Deserialize;

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Leave a lead that already has an owner with that owner.
    pub keep_existing_owner: bool,
    /// Park leads no rule could place in this queue instead of `unrouted`.
    pub fallback_queue: Option<String>,
    /// On an SLA breach or a rejection, how many of the lead's latest owners
    /// (the current one first) may not get it again (default 1).
    pub exclude_previous_owners: Option<usize>,
    pub accounts: Accounts,
    pub fields: Fields,
    /// Ordered: the first territory whose conditions all hold wins.
    pub territories: Vec<Territory>,
}

/// The account-owner rule: a lead from a known account goes to its owner.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, default)]
pub struct Accounts {
    pub enabled: bool,
    /// The rule name in the assignment.
    pub rule: String,
    /// Also look up `lead.company_domain`, not only the email's domain.
    pub use_company_domain: bool,
    pub if_owner_unavailable: IfOwnerUnavailable,
    /// Free-mail domains on top of the built-in list.
    pub free_mail_domains: Vec<String>,
}

impl Default for Accounts {
    fn default() -> Self {
        Accounts {
            enabled: true,
            rule: "account-owner".into(),
            use_company_domain: true,
            if_owner_unavailable: IfOwnerUnavailable::Territories,
            free_mail_domains: Vec::new(),
        }
    }
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum IfOwnerUnavailable {
    /// Route by territory instead (the default).
    Territories,
    /// Assign to the account owner anyway.
    Assign,
}

/// The CRM property names the territory conditions read (HubSpot's by default).
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, default)]
pub struct Fields {
    pub country: String,
    pub region: String,
    pub industry: String,
    pub company_size: String,
}

impl Default for Fields {
    fn default() -> Self {
        Fields {
            country: "country".into(),
            region: "state".into(),
            industry: "industry".into(),
            company_size: "numberofemployees".into(),
        }
    }
}

/// A territory: conditions (all must hold; a list matches any of its values,
/// case-insensitively) and the team whose round robin gets the lead. A territory
/// without conditions is a catch-all.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Territory {
    pub team: String,
    /// The rule name in the assignment; `territory:{team}` by default.
    pub rule: Option<String>,
    pub countries: Option<Vec<String>>,
    pub regions: Option<Vec<String>>,
    pub industries: Option<Vec<String>>,
    /// Inclusive bounds on the company size field.
    pub min_employees: Option<u64>,
    pub max_employees: Option<u64>,
}

impl Territory {
    pub fn rule(&self) -> String {
        self.rule
            .clone()
            .unwrap_or_else(|| format!("territory:{}", self.team))
    }

    pub fn is_catch_all(&self) -> bool {
        self.countries.is_none()
            && self.regions.is_none()
            && self.industries.is_none()
            && self.min_employees.is_none()
            && self.max_employees.is_none()
    }
}

fn invalid(path: &str, message: impl std::fmt::Display) -> Error {
    Error::msg(format!("invalid config at `{path}`: {message}"))
}

impl Config {
    pub fn exclude_previous_owners(&self) -> usize {
        self.exclude_previous_owners.unwrap_or(1).max(1)
    }

    /// Read and check the install's config.
    pub fn load() -> Result<Config> {
        let config: Config = host::config()?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        if self
            .fallback_queue
            .as_deref()
            .is_some_and(|q| q.trim().is_empty())
        {
            return Err(invalid(
                "fallback_queue",
                "is empty: name a queue or remove the key",
            ));
        }
        if self.accounts.rule.trim().is_empty() {
            return Err(invalid("accounts.rule", "is empty"));
        }
        for (i, d) in self.accounts.free_mail_domains.iter().enumerate() {
            if d.trim().is_empty() {
                return Err(invalid(
                    &format!("accounts.free_mail_domains[{i}]"),
                    "is empty",
                ));
            }
        }
        for (name, value) in [
            ("country", &self.fields.country),
            ("region", &self.fields.region),
            ("industry", &self.fields.industry),
            ("company_size", &self.fields.company_size),
        ] {
            if value.trim().is_empty() {
                return Err(invalid(
                    &format!("fields.{name}"),
                    "is empty: name the CRM property",
                ));
            }
        }
        for (i, t) in self.territories.iter().enumerate() {
            let at = |key: &str| format!("territories[{i}].{key}");
            if t.team.trim().is_empty() {
                return Err(invalid(
                    &at("team"),
                    "is empty: name a team of the directory",
                ));
            }
            if t.rule.as_deref().is_some_and(|r| r.trim().is_empty()) {
                return Err(invalid(
                    &at("rule"),
                    "is empty: name the rule or remove the key",
                ));
            }
            for (key, list) in [
                ("countries", &t.countries),
                ("regions", &t.regions),
                ("industries", &t.industries),
            ] {
                if list
                    .as_ref()
                    .is_some_and(|l| l.iter().all(|v| v.trim().is_empty()))
                {
                    return Err(invalid(&at(key), "is empty: remove it to match any value"));
                }
            }
            if let (Some(min), Some(max)) = (t.min_employees, t.max_employees)
                && min > max
            {
                return Err(invalid(
                    &at("max_employees"),
                    format!("{max} is below min_employees {min}"),
                ));
            }
            if t.is_catch_all() && i + 1 < self.territories.len() {
                return Err(invalid(
                    &format!("territories[{}]", i + 1),
                    format!(
                        "can never match: territories[{i}] (team {}) has no conditions and catches every lead; move the catch-all last",
                        t.team
                    ),
                ));
            }
        }
        Ok(())
    }
}
