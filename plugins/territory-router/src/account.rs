//! The account-owner rule: a lead whose email domain (or company domain) is a
//! known account goes to that account's owner.

use leadwire_sdk::host::{self, Availability};
use leadwire_sdk::{Candidate, Input, RouteVerdict};

use crate::Skip;
use crate::config::{Accounts, IfOwnerUnavailable};
use crate::domains::{is_free_mail, normalise};
use crate::rotation;

pub enum Outcome {
    /// No known account for this lead's domains.
    NoAccount,
    Assign(RouteVerdict),
    /// The owner cannot take the lead: route by territory, with this on record.
    FallThrough(Candidate),
}

/// The lead's company domains, in lookup order, free-mail providers left out.
fn domains(input: &Input, config: &Accounts) -> Vec<(String, &'static str)> {
    let lead = &input.lead;
    let mut found: Vec<(String, &'static str)> = Vec::new();
    let email = lead
        .email_domain()
        .and_then(|d| normalise(&d))
        .map(|d| (d, "email domain"));
    let company = lead
        .company_domain
        .as_deref()
        .filter(|_| config.use_company_domain)
        .and_then(normalise)
        .map(|d| (d, "company domain"));
    for (domain, source) in email.into_iter().chain(company) {
        if !is_free_mail(&domain, &config.free_mail_domains)
            && !found.iter().any(|(d, _)| *d == domain)
        {
            found.push((domain, source));
        }
    }
    found
}

/// Route by account owner. `skip` are reps who must not get the lead (the
/// owner whose SLA ran out, say) and why.
pub fn route(input: &Input, config: &Accounts, skip: &Skip) -> Outcome {
    let Some((account, source)) = domains(input, config)
        .into_iter()
        .find_map(|(d, source)| host::accounts::by_domain(&d).map(|a| (a, source)))
    else {
        return Outcome::NoAccount;
    };
    let owner = account.owner.clone();
    let what = match &account.name {
        Some(name) => format!("owner of account {name} ({}, by {source})", account.domain),
        None => format!("owner of account {} (by {source})", account.domain),
    };
    if let Some(why) = skip.why(&owner) {
        return Outcome::FallThrough(Candidate::new(
            owner,
            false,
            format!("{what}, but {why}: routed by territory instead"),
        ));
    }
    let note = match host::directory::rep(&owner).map(|r| r.availability) {
        Some(Availability::Available) => String::new(),
        None => "; not in the directory, availability unknown".into(),
        Some(Availability::Unavailable(why)) => match config.if_owner_unavailable {
            IfOwnerUnavailable::Territories => {
                return Outcome::FallThrough(Candidate::new(
                    owner,
                    false,
                    format!("{what}, unavailable: {why}: routed by territory instead"),
                ));
            }
            IfOwnerUnavailable::Assign => {
                format!("; unavailable: {why}, assigned anyway (if_owner_unavailable = \"assign\")")
            }
        },
    };
    // Account leads count toward the owner's day, so the rotation sees the real load.
    rotation::count_day(input.now(), &owner);
    let reason = format!("{what}{note}");
    Outcome::Assign(
        RouteVerdict::assign(owner.clone(), None, config.rule.clone(), reason.clone())
            .with_candidates(vec![Candidate::new(owner, true, reason)]),
    )
}
