//! A deterministic generator of realistic leads, for the benchmarks and the bulk
//! tests (and `leadwire generate`).
//!
//! Each lead is a pure function of `(seed, index)`, so any row can be produced on
//! its own — in parallel, streamed, or again later — without holding the file:
//!
//! ```
//! use leadwire::lab::generate::Generator;
//! let g = Generator::new(42);
//! let row = g.lead(7);
//! assert_eq!(row.lead.id, "lead-7");
//! assert_eq!(g.lead(7).lead.fields, row.lead.fields);
//! ```
//!
//! A lead looks like a HubSpot contact joined with its company: the
//! [`FIELDS`] (61 CRM properties: text categories with skewed distributions,
//! numbers, booleans, times, lists, free text, and explicit nulls) under the names
//! the quickstart plugins read (`jobtitle`, `numberofemployees`, `industry`,
//! `country`, `hs_analytics_source`, `hs_email_optout`, `hs_lead_status`,
//! `lifecyclestage`, …), and about 20 activities on average (`page_view` with a
//! `url` — `/pricing` among them —, `email_open`, `email_click`, `form_submit`
//! with a `form` — `contact` among them —, `webinar_registered`,
//! `webinar_attended`, `content_download`, `chat_started`, `demo_request`,
//! `meeting_booked`) in the 180 days before the event. Some numbers come as
//! text (`"850"`), as CRMs send them; free text holds commas, quotes and the odd
//! line break.
//!
//! # Planted ground truth
//!
//! `converted` is drawn from Bernoulli(sigmoid(logit)) with the logit
//! ([`planted_logit`], listed in [`PLANTED`]):
//!
//! ```text
//! logit = -2.6
//!       + 1.0   if industry is COMPUTER_SOFTWARE, INTERNET or INFORMATION_TECHNOLOGY_AND_SERVICES
//!       + 1.2   if seniority is c_level or vp
//!       + 0.6   if seniority is director
//!       + 0.3   if seniority is manager
//!       - 1.5   if seniority is intern or student
//!       + 0.5 × log10(numberofemployees)             (0 when missing)
//!       + 0.45 × min(pricing_views_30d, 5)           (page_view of url /pricing in the 30 days before the event)
//!       - 1.0   if country is India
//! ```
//!
//! and nothing else: no other field or activity enters it. Some other columns
//! carry the same information, as they would in a CRM: `jobtitle` is derived
//! from `seniority` and `job_function`, `annualrevenue` grows with
//! `numberofemployees`, `hs_analytics_num_page_views` counts the page views
//! (pricing ones included), `state` and `city` follow `country`. The
//! conversion rate is about 29%.
//!
//! # Files
//!
//! [`write_jsonl`]: one lead file per line, as `leadwire run --lead` reads it —
//! `{"lead": …, "event": {"id": "evt-…", "trigger": "created", "at": …}}` — with
//! the outcome as the lead field `converted` (a boolean).
//!
//! [`write_csv`]: flat, one row per lead: `id`, `source`, `email`,
//! `company_domain`, `owner`, `lifecycle_stage`, `created_at`, `event_at`, one
//! column per field of [`FIELDS`] (booleans `true`/`false`, times RFC 3339, lists
//! joined by `;`, an empty cell for null), the activity counts of
//! [`ACTIVITY_COLUMNS`], and `converted` as `1`/`0`. See [`csv_header`].

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::ops::Range;

use chrono::{DateTime, Utc};
use serde_json::{Value as Json, json};

use crate::lead::{ActivityDoc, EventDoc, LeadDoc, Timestamp, TriggerDoc};

/// The planted coefficients of the conversion logit (see the module's doc).
pub const PLANTED: &[(&str, &str)] = &[
    ("intercept", "-2.6"),
    (
        "industry in [COMPUTER_SOFTWARE, INTERNET, INFORMATION_TECHNOLOGY_AND_SERVICES]",
        "+1.0",
    ),
    ("seniority in [c_level, vp]", "+1.2"),
    ("seniority = director", "+0.6"),
    ("seniority = manager", "+0.3"),
    ("seniority in [intern, student]", "-1.5"),
    ("log10(numberofemployees)", "+0.5 per unit (0 when missing)"),
    ("min(pricing_views_30d, 5)", "+0.45 per view"),
    ("country = India", "-1.0"),
];

/// The planted intercept and coefficients, as numbers.
pub mod planted {
    pub const INTERCEPT: f64 = -2.6;
    pub const TARGET_INDUSTRIES: &[&str] = &[
        "COMPUTER_SOFTWARE",
        "INTERNET",
        "INFORMATION_TECHNOLOGY_AND_SERVICES",
    ];
    pub const TARGET_INDUSTRY: f64 = 1.0;
    pub const SENIORITY: &[(&str, f64)] = &[
        ("c_level", 1.2),
        ("vp", 1.2),
        ("director", 0.6),
        ("manager", 0.3),
        ("intern", -1.5),
        ("student", -1.5),
    ];
    pub const LOG10_EMPLOYEES: f64 = 0.5;
    pub const PRICING_VIEW_30D: f64 = 0.45;
    pub const PRICING_VIEWS_CAP: usize = 5;
    pub const PENALISED_COUNTRY: &str = "India";
    pub const COUNTRY_PENALTY: f64 = -1.0;
}

/// 2026-01-05T00:00:00Z: the first row's event time. Row `i`'s event is about
/// `i × 30 s` later (a million rows span 347 days), so rows are in time order.
pub const START_MS: i64 = 1_767_571_200_000;
/// Mean spacing of events, in milliseconds.
pub const SPACING_MS: i64 = 30_000;

const DAY_MS: i64 = 86_400_000;

/// The lead's CRM properties, in CSV column order.
pub const FIELDS: &[&str] = &[
    "firstname",
    "lastname",
    "salutation",
    "jobtitle",
    "seniority",
    "job_function",
    "company",
    "website",
    "numberofemployees",
    "annualrevenue",
    "industry",
    "company_type",
    "founded_year",
    "is_public",
    "country",
    "state",
    "city",
    "zip",
    "timezone",
    "preferred_language",
    "currency",
    "phone",
    "mobilephone",
    "linkedin_url",
    "linkedin_connections",
    "hs_analytics_source",
    "hs_analytics_source_data_1",
    "hs_analytics_num_visits",
    "hs_analytics_num_page_views",
    "hs_analytics_first_visit_timestamp",
    "hs_analytics_last_visit_timestamp",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "first_conversion_event_name",
    "recent_conversion_event_name",
    "num_conversion_events",
    "how_did_you_hear",
    "hs_email_optout",
    "hs_email_bounce",
    "do_not_call",
    "gdpr_consent",
    "hs_lead_status",
    "lifecyclestage",
    "hs_persona",
    "lead_rating",
    "budget",
    "purchase_timeline",
    "product_interest",
    "tech_stack",
    "tags",
    "trial_started",
    "trial_end_date",
    "num_notes",
    "num_contacted_notes",
    "notes_last_contacted",
    "hs_sales_email_last_replied",
    "closedate",
    "nurture_track",
    "message",
    "hs_ip_timezone",
];

/// Activity counts in the CSV, after the fields: `(column, kind, url, days)`.
pub const ACTIVITY_COLUMNS: &[(&str, &str, Option<&str>, i64)] = &[
    ("page_views_30d", "page_view", None, 30),
    ("pricing_views_30d", "page_view", Some("/pricing"), 30),
    ("email_opens_30d", "email_open", None, 30),
    ("email_clicks_30d", "email_click", None, 30),
    ("form_submits_90d", "form_submit", None, 90),
    ("webinars_attended_90d", "webinar_attended", None, 90),
    ("demo_requests_90d", "demo_request", None, 90),
    ("meetings_booked_90d", "meeting_booked", None, 90),
];

/// One generated row: the lead, its outcome, and its event's time.
#[derive(Debug, Clone)]
pub struct GeneratedLead {
    /// The lead (without the outcome: `converted` is not among its fields).
    pub lead: LeadDoc,
    pub converted: bool,
    pub event_at_ms: i64,
}

impl GeneratedLead {
    /// The `created` event of this row: id `evt-<lead id>`, at [`Self::event_at_ms`].
    pub fn event(&self) -> EventDoc {
        EventDoc {
            id: Some(format!("evt-{}", self.lead.id)),
            trigger: TriggerDoc::Created,
            reason: None,
            changed: Vec::new(),
            at: Some(Timestamp::Rfc3339(time(self.event_at_ms))),
        }
    }

    /// The planted logit of this row (see [`planted_logit`]).
    pub fn logit(&self) -> f64 {
        planted_logit(&self.lead, self.event_at_ms)
    }

    /// How many activities of `kind` (and `url`, for page views) in the `days`
    /// before the event.
    pub fn count(&self, kind: &str, url: Option<&str>, days: i64) -> usize {
        count_activities(&self.lead, self.event_at_ms, kind, url, days)
    }
}

/// The generator: a seed. Cheap to copy; [`Generator::lead`] is pure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generator {
    seed: u64,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Generator { seed }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Row `index`: a pure function of `(seed, index)`.
    pub fn lead(&self, index: u64) -> GeneratedLead {
        let mut r = Rng::new(self.seed, index, 1);
        let event_at_ms = START_MS
            .saturating_add((index as i64).saturating_mul(SPACING_MS))
            .saturating_add(r.below(SPACING_MS as u64) as i64);
        let lead = make_lead(&mut r, index, event_at_ms);
        // The outcome's coin comes from its own stream, so it is independent of
        // every draw that made the lead.
        let p = sigmoid(planted_logit(&lead, event_at_ms));
        let converted = Rng::new(self.seed, index, 2).unit() < p;
        GeneratedLead {
            lead,
            converted,
            event_at_ms,
        }
    }

    /// Rows `rows`, in order.
    pub fn leads(&self, rows: Range<u64>) -> impl Iterator<Item = GeneratedLead> + '_ {
        rows.map(move |i| self.lead(i))
    }
}

pub use super::numbers::sigmoid;

/// The planted logit of a lead whose event is at `event_at_ms` (see the
/// module's doc). Reads `industry`, `seniority`, `numberofemployees` (a number or
/// numeric text), `country`, and the `/pricing` page views in the 30 days before
/// the event.
pub fn planted_logit(lead: &LeadDoc, event_at_ms: i64) -> f64 {
    let text = |name: &str| lead.fields.get(name).and_then(Json::as_str);
    let mut logit = planted::INTERCEPT;
    if text("industry").is_some_and(|i| planted::TARGET_INDUSTRIES.contains(&i)) {
        logit += planted::TARGET_INDUSTRY;
    }
    if let Some(s) = text("seniority")
        && let Some((_, c)) = planted::SENIORITY.iter().find(|(name, _)| *name == s)
    {
        logit += c;
    }
    let employees = match lead.fields.get("numberofemployees") {
        Some(Json::Number(n)) => n.as_f64(),
        Some(Json::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    if let Some(n) = employees.filter(|n| *n >= 1.0) {
        logit += planted::LOG10_EMPLOYEES * n.log10();
    }
    let pricing = count_activities(lead, event_at_ms, "page_view", Some("/pricing"), 30);
    logit += planted::PRICING_VIEW_30D * pricing.min(planted::PRICING_VIEWS_CAP) as f64;
    if text("country") == Some(planted::PENALISED_COUNTRY) {
        logit += planted::COUNTRY_PENALTY;
    }
    logit
}

fn count_activities(
    lead: &LeadDoc,
    event_at_ms: i64,
    kind: &str,
    url: Option<&str>,
    days: i64,
) -> usize {
    let from = event_at_ms - days * DAY_MS;
    lead.activities
        .iter()
        .filter(|a| a.kind == kind)
        .filter(|a| {
            let at = a.at.millis();
            at >= from && at <= event_at_ms
        })
        .filter(|a| url.is_none_or(|u| a.properties.get("url").and_then(Json::as_str) == Some(u)))
        .count()
}

// ---------------------------------------------------------------------------
// Randomness: splitmix64, seeded per (seed, row, stream).

struct Rng(u64);

/// splitmix64's output for the state `z`.
fn splitmix(mut z: u64) -> u64 {
    super::numbers::splitmix64(&mut z)
}

impl Rng {
    fn new(seed: u64, index: u64, stream: u64) -> Self {
        Rng(splitmix(splitmix(seed ^ 0x5EED).wrapping_add(index)) ^ splitmix(stream))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// Uniform in [0, n).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            ((self.next() as u128 * n as u128) >> 64) as u64
        }
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    /// A weighted choice from `(item, weight)` pairs.
    fn weighted<'a, T>(&mut self, items: &'a [(T, u32)]) -> &'a T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.below(total as u64) as u32;
        for (item, w) in items {
            if x < *w {
                return item;
            }
            x -= w;
        }
        &items[items.len() - 1].0
    }
    fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
    fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda > 30.0 {
            return (lambda + lambda.sqrt() * self.normal()).round().max(0.0) as u64;
        }
        let limit = (-lambda).exp();
        let mut k = 0;
        let mut p = self.unit();
        while p > limit {
            k += 1;
            p *= self.unit();
        }
        k
    }
}

// ---------------------------------------------------------------------------
// Vocabularies (weights are relative frequencies).

#[rustfmt::skip]
const FIRST_NAMES: &[&str] = &[
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Priya", "Rahul", "Wei", "Mei", "Hiroshi", "Yuki", "Lukas", "Anna", "Sophie", "Lucas", "Maria",
    "José", "Ana", "Olivia", "Noah", "Emma", "Liam", "Aisha", "Omar", "Fatima", "Chloé", "Søren",
];
#[rustfmt::skip]
const LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Martin",
    "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Patel", "Sharma", "Singh", "Chen",
    "Wang", "Zhang", "Kim", "Nguyen", "Müller", "Schmidt", "Dubois", "Rossi", "O'Brien",
    "van der Berg", "Jensen", "Tanaka",
];
#[rustfmt::skip]
const COMPANY_WORDS: &[&str] = &[
    "Acme", "Northwind", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Vandelay", "Hooli",
    "Pied Piper", "Soylent", "Cyberdyne", "Tyrell", "Wonka", "Gringotts", "Oscorp", "Aperture",
    "Blue Harbor", "Redwood", "Silverline", "Brightpath", "Summit", "Ironclad", "Evergreen",
    "Quantum", "Nimbus", "Atlas", "Beacon", "Cobalt", "Delta", "Everest", "Falcon", "Granite",
    "Horizon", "Juniper", "Keystone", "Lumen", "Meridian", "Nova", "Orion",
];
#[rustfmt::skip]
const COMPANY_SUFFIXES: &[&str] = &[
    "Analytics", "Labs", "Systems", "Group", "Software", "Solutions", "Health", "Logistics",
    "Partners", "Capital", "Media", "Retail", "Foods", "Energy", "Consulting", "Technologies",
];
#[rustfmt::skip]
const FREE_MAIL: &[(&str, u32)] = &[
    ("gmail.com", 60), ("yahoo.com", 12), ("outlook.com", 10), ("hotmail.com", 10),
    ("icloud.com", 5), ("example-isp.net", 3),
];

#[rustfmt::skip]
const INDUSTRIES: &[(Option<&str>, u32)] = &[
    (Some("COMPUTER_SOFTWARE"), 140), (Some("INFORMATION_TECHNOLOGY_AND_SERVICES"), 110),
    (Some("INTERNET"), 50), (Some("FINANCIAL_SERVICES"), 70),
    (Some("MARKETING_AND_ADVERTISING"), 65), (Some("HOSPITAL_HEALTH_CARE"), 55),
    (Some("RETAIL"), 50), (Some("HIGHER_EDUCATION"), 40), (Some("EDUCATION_MANAGEMENT"), 35),
    (Some("REAL_ESTATE"), 35), (Some("CONSTRUCTION"), 30), (Some("TELECOMMUNICATIONS"), 25),
    (Some("INSURANCE"), 25), (Some("LOGISTICS_AND_SUPPLY_CHAIN"), 25), (Some("MACHINERY"), 20),
    (Some("ACCOUNTING"), 20), (Some("STAFFING_AND_RECRUITING"), 20),
    (Some("NONPROFIT_ORGANIZATION_MANAGEMENT"), 15), (Some("GOVERNMENT_ADMINISTRATION"), 15),
    (Some("HOSPITALITY"), 15), (Some("Student"), 10), (None, 60),
];

struct Country {
    name: &'static str,
    weight: u32,
    states: &'static [&'static str],
    cities: &'static [&'static str],
    tz: &'static str,
    lang: &'static str,
    currency: &'static str,
    phone: &'static str,
}

#[rustfmt::skip]
const COUNTRIES: &[Country] = &[
    Country { name: "United States", weight: 380, states: &["CA", "NY", "TX", "FL", "WA", "MA", "IL", "GA", "CO", "NC", "PA", "OH"], cities: &["San Francisco", "New York", "Austin", "Miami", "Seattle", "Boston", "Chicago", "Atlanta", "Denver"], tz: "America/New_York", lang: "en", currency: "USD", phone: "+1" },
    Country { name: "USA", weight: 15, states: &["CA", "NY", "TX"], cities: &["Los Angeles", "Brooklyn", "Dallas"], tz: "America/Chicago", lang: "en", currency: "USD", phone: "+1" },
    Country { name: "US", weight: 10, states: &["NJ", "VA", "MN"], cities: &["Newark", "Richmond", "Minneapolis"], tz: "America/New_York", lang: "en", currency: "USD", phone: "+1" },
    Country { name: "India", weight: 90, states: &[], cities: &["Bengaluru", "Mumbai", "Delhi", "Hyderabad", "Pune", "Chennai"], tz: "Asia/Kolkata", lang: "en", currency: "INR", phone: "+91" },
    Country { name: "United Kingdom", weight: 90, states: &[], cities: &["London", "Manchester", "Edinburgh", "Bristol"], tz: "Europe/London", lang: "en", currency: "GBP", phone: "+44" },
    Country { name: "Canada", weight: 60, states: &["ON", "BC", "QC", "AB"], cities: &["Toronto", "Vancouver", "Montréal", "Calgary"], tz: "America/Toronto", lang: "en", currency: "CAD", phone: "+1" },
    Country { name: "Germany", weight: 60, states: &[], cities: &["Berlin", "Munich", "Hamburg", "Frankfurt"], tz: "Europe/Berlin", lang: "de", currency: "EUR", phone: "+49" },
    Country { name: "France", weight: 40, states: &[], cities: &["Paris", "Lyon", "Toulouse"], tz: "Europe/Paris", lang: "fr", currency: "EUR", phone: "+33" },
    Country { name: "Australia", weight: 40, states: &["NSW", "VIC", "QLD"], cities: &["Sydney", "Melbourne", "Brisbane"], tz: "Australia/Sydney", lang: "en", currency: "AUD", phone: "+61" },
    Country { name: "Netherlands", weight: 30, states: &[], cities: &["Amsterdam", "Rotterdam", "Utrecht"], tz: "Europe/Amsterdam", lang: "nl", currency: "EUR", phone: "+31" },
    Country { name: "Brazil", weight: 30, states: &["SP", "RJ"], cities: &["São Paulo", "Rio de Janeiro"], tz: "America/Sao_Paulo", lang: "pt", currency: "BRL", phone: "+55" },
    Country { name: "Spain", weight: 20, states: &[], cities: &["Madrid", "Barcelona"], tz: "Europe/Madrid", lang: "es", currency: "EUR", phone: "+34" },
    Country { name: "Italy", weight: 15, states: &[], cities: &["Milan", "Rome"], tz: "Europe/Rome", lang: "it", currency: "EUR", phone: "+39" },
    Country { name: "Sweden", weight: 15, states: &[], cities: &["Stockholm", "Gothenburg"], tz: "Europe/Stockholm", lang: "sv", currency: "SEK", phone: "+46" },
    Country { name: "Japan", weight: 20, states: &[], cities: &["Tokyo", "Osaka"], tz: "Asia/Tokyo", lang: "ja", currency: "JPY", phone: "+81" },
    Country { name: "Singapore", weight: 15, states: &[], cities: &["Singapore"], tz: "Asia/Singapore", lang: "en", currency: "SGD", phone: "+65" },
    Country { name: "Mexico", weight: 15, states: &["CDMX", "JAL"], cities: &["Mexico City", "Guadalajara"], tz: "America/Mexico_City", lang: "es", currency: "MXN", phone: "+52" },
    Country { name: "Ireland", weight: 10, states: &[], cities: &["Dublin", "Cork"], tz: "Europe/Dublin", lang: "en", currency: "EUR", phone: "+353" },
    Country { name: "South Africa", weight: 10, states: &[], cities: &["Cape Town", "Johannesburg"], tz: "Africa/Johannesburg", lang: "en", currency: "ZAR", phone: "+27" },
];

#[rustfmt::skip]
const SENIORITIES: &[(Option<&str>, u32)] = &[
    (Some("c_level"), 40), (Some("vp"), 60), (Some("director"), 120), (Some("manager"), 220),
    (Some("individual_contributor"), 430), (Some("intern"), 35), (Some("student"), 30), (None, 65),
];

#[rustfmt::skip]
const FUNCTIONS: &[(&str, u32)] = &[
    ("sales", 25), ("marketing", 25), ("engineering", 15), ("it", 10), ("operations", 10),
    ("finance", 8), ("hr", 7),
];

fn job_title(r: &mut Rng, seniority: &str, function: &str) -> String {
    let area = match function {
        "sales" => "Sales",
        "marketing" => "Marketing",
        "engineering" => "Engineering",
        "it" => "IT",
        "operations" => "Operations",
        "finance" => "Finance",
        _ => "People",
    };
    match seniority {
        "c_level" => match r.below(6) {
            0 => "CEO".into(),
            1 => "Founder & CEO".into(),
            2 => "Co-Founder".into(),
            3 => format!(
                "Chief {} Officer",
                match function {
                    "sales" => "Revenue",
                    "marketing" => "Marketing",
                    "engineering" | "it" => "Technology",
                    "finance" => "Financial",
                    _ => "Operating",
                }
            ),
            4 => "COO".into(),
            _ => "CTO".into(),
        },
        "vp" => match r.below(3) {
            0 => format!("VP of {area}"),
            1 => format!("VP {area}"),
            _ => format!("Vice President, {area}"),
        },
        "director" => match r.below(3) {
            0 => format!("Director of {area}"),
            1 => format!("Head of {area}"),
            _ => format!("{area} Director"),
        },
        "manager" => match r.below(3) {
            0 => format!("{area} Manager"),
            1 => format!("Senior {area} Manager"),
            _ => format!("Team Lead, {area}"),
        },
        "intern" => format!("{area} Intern"),
        "student" => r
            .pick(&["Student", "MBA Student", "Graduate Student"])
            .to_string(),
        _ => match function {
            "sales" => r
                .pick(&[
                    "Account Executive",
                    "Sales Representative",
                    "SDR",
                    "Account Manager",
                ])
                .to_string(),
            "marketing" => r
                .pick(&[
                    "Marketing Specialist",
                    "Content Writer",
                    "Growth Marketer",
                    "Marketing Coordinator",
                ])
                .to_string(),
            "engineering" => r
                .pick(&[
                    "Software Engineer",
                    "Senior Software Engineer",
                    "Data Engineer",
                    "QA Analyst",
                ])
                .to_string(),
            "it" => r
                .pick(&[
                    "Systems Administrator",
                    "IT Specialist",
                    "Help Desk Technician",
                ])
                .to_string(),
            "finance" => r
                .pick(&["Accountant", "Financial Analyst", "Controller"])
                .to_string(),
            "hr" => r
                .pick(&["Recruiter", "HR Generalist", "Executive Assistant"])
                .to_string(),
            _ => r
                .pick(&[
                    "Operations Analyst",
                    "Consultant",
                    "Office Administrator",
                    "Data Analyst",
                ])
                .to_string(),
        },
    }
}

#[rustfmt::skip]
const SOURCES: &[(&str, u32)] = &[
    ("ORGANIC_SEARCH", 280), ("PAID_SEARCH", 140), ("DIRECT_TRAFFIC", 140),
    ("EMAIL_MARKETING", 100), ("REFERRALS", 80), ("OFFLINE", 80), ("SOCIAL_MEDIA", 70),
    ("PAID_SOCIAL", 60), ("OTHER_CAMPAIGNS", 50),
];

#[rustfmt::skip]
const PAGES: &[(&str, u32)] = &[
    ("/", 180), ("/pricing", 90), ("/product", 120), ("/features/scoring", 50),
    ("/features/routing", 40), ("/integrations/hubspot", 30), ("/integrations/salesforce", 25),
    ("/customers", 45), ("/blog/lead-scoring-101", 70), ("/blog/round-robin-routing", 50),
    ("/blog/mql-vs-sql", 45), ("/blog/crm-hygiene", 35), ("/docs/getting-started", 40),
    ("/docs/webhooks", 25), ("/about", 30), ("/careers", 25), ("/security", 15), ("/contact", 20),
];

#[rustfmt::skip]
const CAMPAIGNS: &[&str] = &[
    "q1-newsletter", "q2-newsletter", "product-launch", "webinar-invite", "case-study-globex",
    "trial-nurture-1", "trial-nurture-2", "re-engagement", "pricing-update", "event-followup",
];
#[rustfmt::skip]
const FORMS: &[(&str, u32)] = &[
    ("newsletter", 40), ("ebook-download", 25), ("webinar-registration", 20), ("contact", 10),
    ("free-trial", 12),
];
const WEBINARS: &[&str] = &[
    "Scoring leads that sales trusts",
    "Routing without spreadsheets",
    "From MQL to revenue",
    "CRM data quality, live",
];
const CONTENT: &[&str] = &[
    "state-of-lead-management-2026.pdf",
    "routing-playbook.pdf",
    "roi-calculator.xlsx",
    "scoring-templates.zip",
];

#[rustfmt::skip]
const ACTIVITY_KINDS: &[(&str, u32)] = &[
    ("page_view", 520), ("email_open", 220), ("email_click", 80), ("form_submit", 45),
    ("content_download", 30), ("chat_started", 20), ("webinar_registered", 20),
    ("webinar_attended", 15), ("demo_request", 8), ("meeting_booked", 8),
];

#[rustfmt::skip]
const LEAD_STATUSES: &[(Option<&str>, u32)] = &[
    (Some("NEW"), 450), (Some("OPEN"), 150), (Some("IN_PROGRESS"), 80),
    (Some("ATTEMPTED_TO_CONTACT"), 90), (Some("CONNECTED"), 50), (Some("OPEN_DEAL"), 20),
    (Some("UNQUALIFIED"), 40), (Some("BAD_TIMING"), 30), (None, 90),
];

const MESSAGES: &[&str] = &[
    "We're evaluating tools for lead routing, can someone call me?",
    "Interested in pricing for ~50 seats. Do you integrate with Salesforce, HubSpot, or both?",
    "Please send the \"Enterprise\" plan details.",
    "Looking for a demo next week; our current process is a spreadsheet, honestly.",
    "Just browsing for now.",
    "Our SDR team (12 people) needs round-robin with PTO awareness.\nAlso: SSO?",
    "Student project on CRM automation — could I get a trial?",
    "How do you handle GDPR, data residency, and deletion requests?",
    "Call me back at your earliest convenience.",
    "Can your scoring use our own model? We have a churn model in-house.",
];

// ---------------------------------------------------------------------------

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

fn time_json(ms: i64) -> Json {
    json!({ "time": time(ms).to_rfc3339_opts(chrono::SecondsFormat::Secs, true) })
}

fn slug(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' => Some(c),
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            ' ' | '-' => Some('-'),
            'ä' | 'á' | 'à' | 'ã' => Some('a'),
            'é' | 'è' => Some('e'),
            'ö' | 'ø' | 'ó' => Some('o'),
            'ü' => Some('u'),
            _ => None,
        })
        .collect()
}

/// A number as a JSON number, or (as CRMs often send them) as text.
fn number(r: &mut Rng, n: f64, as_text: f64) -> Json {
    if r.chance(as_text) {
        Json::String(format!("{n}"))
    } else if n.fract() == 0.0 && n.abs() < 9e15 {
        json!(n as i64)
    } else {
        json!(n)
    }
}

/// Lead `index`, whose event is at `event_at`. Each step below decides one
/// concern and draws from `r` in turn: the order of the calls is the order of
/// the draws, so reordering them changes every row.
fn make_lead(r: &mut Rng, index: u64, event_at: i64) -> LeadDoc {
    let mut f = Fields::default();
    let name = name(r, &mut f);
    role(r, &mut f);
    let domain = company(r, &mut f);
    let employees = company_size(r, &mut f);
    company_profile(r, &mut f, employees);
    let country = place(r, &mut f);
    contact_channels(r, &mut f, &name, country);
    let source = source(r, &mut f);
    campaign(r, &mut f, source);
    let activities = activities(r, event_at);
    web_analytics(r, &mut f, &activities);
    conversions(&mut f, &activities);
    consent(r, &mut f);
    let stage = status(r, &mut f);
    qualification(r, &mut f);
    interests(r, &mut f);
    trial(r, &mut f, event_at, &activities);
    sales_touches(r, &mut f, event_at);
    message(r, &mut f);
    let identity = identity(r, event_at, &name, &domain, stage);
    LeadDoc {
        id: format!("lead-{index}"),
        source: Some("hubspot".into()),
        email: identity.email,
        company_domain: Some(domain),
        owner: identity.owner,
        lifecycle_stage: Some(identity.lifecycle_stage.into()),
        created_at: Some(Timestamp::Rfc3339(time(identity.created_at))),
        fields: f.0,
        activities,
    }
}

/// A lead's fields as they are decided (each name must be one of [`FIELDS`]).
#[derive(Default)]
struct Fields(BTreeMap<String, Json>);

impl Fields {
    fn set(&mut self, name: &str, value: Json) {
        debug_assert!(FIELDS.contains(&name), "{name} is not in FIELDS");
        self.0.insert(name.to_string(), value);
    }
}

/// Some text, or null.
fn opt(v: Option<String>) -> Json {
    v.map_or(Json::Null, Json::String)
}

// --- Who they are.

/// A person's names, for the fields derived from them later (LinkedIn, email).
struct Name {
    first: &'static str,
    last: &'static str,
}

/// Their first and last names, and sometimes a salutation.
fn name(r: &mut Rng, f: &mut Fields) -> Name {
    let first = *r.pick(FIRST_NAMES);
    let last = *r.pick(LAST_NAMES);
    f.set("firstname", json!(first));
    f.set("lastname", json!(last));
    let salutation = r
        .chance(0.3)
        .then(|| r.pick(&["Mr.", "Ms.", "Dr.", "Mx."]).to_string());
    f.set("salutation", opt(salutation));
    Name { first, last }
}

/// Their seniority (sometimes unknown), job function, and the job title derived from both.
fn role(r: &mut Rng, f: &mut Fields) {
    let seniority = *r.weighted(SENIORITIES);
    let function = *r.weighted(FUNCTIONS);
    f.set("seniority", opt(seniority.map(String::from)));
    f.set("job_function", json!(function));
    f.set(
        "jobtitle",
        opt(seniority.map(|s| job_title(r, s, function))),
    );
}

// --- Their company.

/// Their company's name, web domain and (usually) website; returns the domain.
fn company(r: &mut Rng, f: &mut Fields) -> String {
    let company = format!("{} {}", r.pick(COMPANY_WORDS), r.pick(COMPANY_SUFFIXES));
    let tld = r.weighted(&[("com", 70), ("io", 12), ("co", 8), ("net", 5), ("de", 5)]);
    let domain = format!("{}.{tld}", slug(&company));
    f.set("company", json!(company));
    let website = r.chance(0.85).then(|| format!("https://www.{domain}"));
    f.set("website", opt(website));
    domain
}

/// The company's head count (log-normal around 80 people, from 1 to 300,000)
/// and annual revenue (growing with it), each sometimes missing; returns the
/// head count, known or not.
fn company_size(r: &mut Rng, f: &mut Fields) -> f64 {
    let employees = (80f64.ln() + 1.7 * r.normal())
        .exp()
        .clamp(1.0, 300_000.0)
        .round();
    let employees_known = r.chance(0.9);
    let employees_json = if employees_known {
        number(r, employees, 0.25)
    } else {
        Json::Null
    };
    f.set("numberofemployees", employees_json);
    let revenue_per_head = (150_000f64.ln() + 0.6 * r.normal()).exp();
    let revenue = (employees * revenue_per_head / 1000.0).round() * 1000.0;
    let revenue_json = if r.chance(0.75) {
        number(r, revenue, 0.25)
    } else {
        Json::Null
    };
    f.set("annualrevenue", revenue_json);
    employees
}

/// The company's industry, type, founding year, and whether it is listed (only
/// if it has more than 2,000 people).
fn company_profile(r: &mut Rng, f: &mut Fields, employees: f64) {
    let industry = *r.weighted(INDUSTRIES);
    f.set("industry", opt(industry.map(String::from)));
    let company_type = r.weighted(&[
        ("PROSPECT", 80),
        ("PARTNER", 6),
        ("RESELLER", 4),
        ("VENDOR", 4),
        ("OTHER", 6),
    ]);
    f.set("company_type", json!(company_type));
    let founded = if r.chance(0.6) {
        json!(2025 - r.poisson(14.0) as i64 - r.below(20) as i64)
    } else {
        Json::Null
    };
    f.set("founded_year", founded);
    f.set("is_public", json!(employees > 2000.0 && r.chance(0.4)));
}

// --- Where they are.

/// Their country by weight, or (with a weight of 50) none.
fn pick_country(r: &mut Rng) -> Option<&'static Country> {
    let total: u32 = COUNTRIES.iter().map(|c| c.weight).sum::<u32>() + 50;
    let mut x = r.below(total as u64) as u32;
    COUNTRIES.iter().find(|c| {
        if x < c.weight {
            true
        } else {
            x -= c.weight;
            false
        }
    })
}

/// Their country, state, city and zip, and the country's timezone, language and
/// currency; returns the country.
fn place(r: &mut Rng, f: &mut Fields) -> Option<&'static Country> {
    let country = pick_country(r);
    f.set("country", opt(country.map(|c| c.name.to_string())));
    let state = country
        .filter(|c| !c.states.is_empty())
        .map(|c| r.pick(c.states).to_string());
    f.set("state", opt(state));
    let city = country
        .filter(|_| r.chance(0.8))
        .map(|c| r.pick(c.cities).to_string());
    f.set("city", opt(city));
    let zip = country
        .filter(|_| r.chance(0.6))
        .map(|_| format!("{:05}", r.below(99_999)));
    f.set("zip", opt(zip));
    f.set("timezone", opt(country.map(|c| c.tz.to_string())));
    f.set(
        "preferred_language",
        json!(country.map_or("en", |c| c.lang)),
    );
    f.set("currency", json!(country.map_or("USD", |c| c.currency)));
    country
}

/// How to reach them: phone numbers with their country's prefix, a LinkedIn
/// profile named after them, and the timezone their IP shows.
fn contact_channels(r: &mut Rng, f: &mut Fields, name: &Name, country: Option<&Country>) {
    let prefix = country.map_or("+1", |c| c.phone);
    let phone = |r: &mut Rng, p: f64| {
        opt(r
            .chance(p)
            .then(|| format!("{prefix} {} {:04}", r.range(200, 989), r.below(10_000))))
    };
    f.set("phone", phone(r, 0.55));
    f.set("mobilephone", phone(r, 0.3));
    let linkedin = r.chance(0.45).then(|| {
        let (first, last) = (slug(name.first), slug(name.last));
        format!(
            "https://www.linkedin.com/in/{first}-{last}-{}",
            r.below(9999)
        )
    });
    f.set("linkedin_url", opt(linkedin));
    let connections = if r.chance(0.45) {
        json!(r.exponential(400.0).min(30_000.0) as i64)
    } else {
        Json::Null
    };
    f.set("linkedin_connections", connections);
    let ip_timezone = country.filter(|_| r.chance(0.7)).map(|c| c.tz.to_string());
    f.set("hs_ip_timezone", opt(ip_timezone));
}

// --- How they came.

/// Their analytics source and its detail (which engine, network, campaign…);
/// returns the source.
fn source(r: &mut Rng, f: &mut Fields) -> &'static str {
    let source = *r.weighted(SOURCES);
    f.set("hs_analytics_source", json!(source));
    let detail = match source {
        "ORGANIC_SEARCH" => *r.pick(&["google", "bing", "duckduckgo"]),
        "PAID_SEARCH" => *r.pick(&["google-ads", "bing-ads"]),
        "SOCIAL_MEDIA" | "PAID_SOCIAL" => *r.pick(&["linkedin", "twitter", "facebook"]),
        "EMAIL_MARKETING" => *r.pick(CAMPAIGNS),
        "REFERRALS" => *r.pick(&["g2.com", "capterra.com", "partner-site"]),
        "OFFLINE" => *r.pick(&["import", "trade-show", "crm-ui"]),
        _ => "unknown",
    };
    f.set("hs_analytics_source_data_1", json!(detail));
    source
}

/// Their UTM tags (only from a paid `source`), and what they answered to "how
/// did you hear about us?".
fn campaign(r: &mut Rng, f: &mut Fields, source: &str) {
    let paid = matches!(
        source,
        "PAID_SEARCH" | "PAID_SOCIAL" | "EMAIL_MARKETING" | "OTHER_CAMPAIGNS"
    );
    let utm = |r: &mut Rng, values: &[&str]| opt(paid.then(|| r.pick(values).to_string()));
    f.set(
        "utm_source",
        utm(r, &["google", "linkedin", "newsletter", "capterra"]),
    );
    f.set("utm_medium", utm(r, &["cpc", "email", "social", "display"]));
    f.set("utm_campaign", utm(r, CAMPAIGNS));
    let heard = r.chance(0.35).then(|| {
        let answers = [
            "Search engine",
            "Colleague",
            "Podcast",
            "LinkedIn",
            "Conference",
            "Other",
        ];
        r.pick(&answers).to_string()
    });
    f.set("how_did_you_hear", opt(heard));
}

// --- What they did.

/// Their activities: ~20 on average (log-normal engagement × Poisson), in the
/// 180 days before the event, recent ones more frequent; in time order.
fn activities(r: &mut Rng, event_at: i64) -> Vec<ActivityDoc> {
    let engagement = (0.7 * r.normal() - 0.245).exp();
    let n = r.poisson(20.0 * engagement).min(250) as usize;
    let recency = 10.0 + r.exponential(30.0);
    let mut activities: Vec<ActivityDoc> = (0..n).map(|_| activity(r, event_at, recency)).collect();
    activities.sort_by_key(|a| a.at.millis());
    activities
}

/// One activity: when (`recency` days before the event on average, at least a
/// minute and at most 180 days), of which kind, with which properties.
fn activity(r: &mut Rng, event_at: i64, recency: f64) -> ActivityDoc {
    let ago = (r.exponential(recency) * DAY_MS as f64).min(180.0 * DAY_MS as f64) as i64;
    let at = event_at - ago.max(60_000) - r.below(60_000) as i64;
    let kind = *r.weighted(ACTIVITY_KINDS);
    ActivityDoc {
        kind: kind.into(),
        at: Timestamp::Rfc3339(time(at)),
        properties: activity_properties(r, kind),
    }
}

/// The properties of an activity of `kind`: the page, campaign, form, asset,
/// webinar or meeting it concerns.
fn activity_properties(r: &mut Rng, kind: &str) -> BTreeMap<String, Json> {
    let props: Vec<(&str, Json)> = match kind {
        "page_view" => vec![
            ("url", json!(r.weighted(PAGES))),
            ("duration_s", json!(r.exponential(45.0) as i64)),
        ],
        "email_open" => vec![("campaign", json!(r.pick(CAMPAIGNS)))],
        "email_click" => vec![
            ("campaign", json!(r.pick(CAMPAIGNS))),
            ("url", json!(r.weighted(PAGES))),
        ],
        "form_submit" => vec![
            ("form", json!(r.weighted(FORMS))),
            ("page", json!(r.weighted(PAGES))),
        ],
        "content_download" => vec![("asset", json!(r.pick(CONTENT)))],
        "webinar_registered" | "webinar_attended" => vec![("webinar", json!(r.pick(WEBINARS)))],
        "demo_request" => vec![("form", json!("request-a-demo"))],
        "meeting_booked" => vec![(
            "meeting_type",
            json!(r.pick(&["discovery", "demo", "follow-up"])),
        )],
        _ => vec![("channel", json!("website"))],
    };
    props.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The web analytics derived from the activities: page views, visits (page
/// views grouped at random), first and last visit.
fn web_analytics(r: &mut Rng, f: &mut Fields, activities: &[ActivityDoc]) {
    let page_views = activities.iter().filter(|a| a.kind == "page_view").count();
    let visits = (page_views as f64 / (1.0 + r.exponential(1.5))).ceil() as u64;
    f.set(
        "hs_analytics_num_page_views",
        number(r, page_views as f64, 0.25),
    );
    f.set("hs_analytics_num_visits", json!(visits));
    let first_seen = activities.first().map(|a| a.at.millis());
    let last_seen = activities.last().map(|a| a.at.millis());
    f.set(
        "hs_analytics_first_visit_timestamp",
        first_seen.map_or(Json::Null, time_json),
    );
    f.set(
        "hs_analytics_last_visit_timestamp",
        last_seen.map_or(Json::Null, time_json),
    );
}

/// The forms of the `form_submit` activities, in time order.
fn submitted_forms(activities: &[ActivityDoc]) -> impl Iterator<Item = &str> {
    activities
        .iter()
        .filter(|a| a.kind == "form_submit")
        .filter_map(|a| a.properties.get("form").and_then(Json::as_str))
}

/// The conversion events derived from the activities (no draws): the first and
/// latest form submitted, and how many.
fn conversions(f: &mut Fields, activities: &[ActivityDoc]) {
    let forms: Vec<&str> = submitted_forms(activities).collect();
    f.set(
        "first_conversion_event_name",
        opt(forms.first().map(|s| s.to_string())),
    );
    f.set(
        "recent_conversion_event_name",
        opt(forms.last().map(|s| s.to_string())),
    );
    f.set("num_conversion_events", json!(forms.len()));
}

// --- Consent and status.

/// Their consent: email opt-out and bounce, do-not-call, and GDPR consent
/// (often unknown).
fn consent(r: &mut Rng, f: &mut Fields) {
    f.set("hs_email_optout", json!(r.chance(0.08)));
    f.set("hs_email_bounce", json!(if r.chance(0.03) { 1 } else { 0 }));
    f.set("do_not_call", json!(r.chance(0.05)));
    let gdpr = if r.chance(0.4) {
        json!(r.chance(0.85))
    } else {
        Json::Null
    };
    f.set("gdpr_consent", gdpr);
}

/// Their lead status (sometimes unset) and lifecycle stage; returns the stage.
fn status(r: &mut Rng, f: &mut Fields) -> &'static str {
    f.set(
        "hs_lead_status",
        opt(r.weighted(LEAD_STATUSES).map(String::from)),
    );
    let stage = *r.weighted(&[
        ("subscriber", 250),
        ("lead", 600),
        ("marketingqualifiedlead", 100),
        ("salesqualifiedlead", 35),
        ("customer", 15),
    ]);
    f.set("lifecyclestage", json!(stage));
    stage
}

/// What sales knows of their intent, each often missing: persona, rating,
/// budget and purchase timeline.
fn qualification(r: &mut Rng, f: &mut Fields) {
    let persona = r
        .chance(0.4)
        .then(|| r.pick(&["persona_1", "persona_2", "persona_3"]).to_string());
    f.set("hs_persona", opt(persona));
    let rating = r
        .chance(0.3)
        .then(|| r.pick(&["Hot", "Warm", "Cold"]).to_string());
    f.set("lead_rating", opt(rating));
    let budget = if r.chance(0.2) {
        let budget = (r.exponential(20_000.0) / 100.0).round() * 100.0;
        number(r, budget, 0.5)
    } else {
        Json::Null
    };
    f.set("budget", budget);
    let timeline = r.chance(0.35).then(|| {
        let answers = [
            "This quarter",
            "Next quarter",
            "This year",
            "Just researching",
        ];
        r.pick(&answers).to_string()
    });
    f.set("purchase_timeline", opt(timeline));
}

/// Each item of `items` with probability `p`, in order.
fn some_of(r: &mut Rng, items: &[&'static str], p: f64) -> Vec<&'static str> {
    items.iter().copied().filter(|_| r.chance(p)).collect()
}

/// What they are interested in and use: products of interest, tech stack
/// (sometimes unknown), and tags.
fn interests(r: &mut Rng, f: &mut Fields) {
    let products = ["scoring", "routing", "nurture", "analytics", "api"];
    f.set("product_interest", json!(some_of(r, &products, 0.3)));
    let tools = [
        "HubSpot",
        "Salesforce",
        "Pipedrive",
        "Slack",
        "Gmail",
        "Outlook",
        "Zendesk",
        "Intercom",
    ];
    let tech_stack = if r.chance(0.5) {
        json!(some_of(r, &tools, 0.25))
    } else {
        Json::Null
    };
    f.set("tech_stack", tech_stack);
    let tags = ["webinar", "trial", "event", "partner", "vip", "imported"];
    f.set("tags", json!(some_of(r, &tags, 0.12)));
}

/// Whether they started a trial (always after a free-trial form, sometimes
/// without one) and when it ends.
fn trial(r: &mut Rng, f: &mut Fields, event_at: i64, activities: &[ActivityDoc]) {
    let trial = submitted_forms(activities).any(|form| form == "free-trial") || r.chance(0.05);
    f.set("trial_started", json!(trial));
    let end = if trial {
        time_json(event_at + r.range(1, 14) * DAY_MS)
    } else {
        Json::Null
    };
    f.set("trial_end_date", end);
}

/// Sales' touches so far: notes, contacts and the last one, the last reply to a
/// sales email, and a close date.
fn sales_touches(r: &mut Rng, f: &mut Fields, event_at: i64) {
    let notes = r.poisson(0.8);
    f.set("num_notes", json!(notes));
    f.set("num_contacted_notes", json!(notes.min(r.poisson(0.5))));
    let days_ago = |r: &mut Rng, max: i64| time_json(event_at - r.range(1, max) * DAY_MS);
    let last_contacted = if notes > 0 {
        days_ago(r, 60)
    } else {
        Json::Null
    };
    f.set("notes_last_contacted", last_contacted);
    let last_replied = if r.chance(0.1) {
        days_ago(r, 90)
    } else {
        Json::Null
    };
    f.set("hs_sales_email_last_replied", last_replied);
    let close = if r.chance(0.05) {
        time_json(event_at + r.range(7, 120) * DAY_MS)
    } else {
        Json::Null
    };
    f.set("closedate", close);
}

/// The free-text message they left, if any (and their nurture track, never set).
fn message(r: &mut Rng, f: &mut Fields) {
    f.set("nurture_track", Json::Null);
    f.set(
        "message",
        opt(r.chance(0.25).then(|| r.pick(MESSAGES).to_string())),
    );
}

// --- Identity.

/// Who the lead is to the CRM, beyond its fields.
struct Identity {
    email: Option<String>,
    owner: Option<String>,
    created_at: i64,
    lifecycle_stage: &'static str,
}

/// Their email (at the company's `domain` or a free mailbox; missing for 3%),
/// owner (rarely set), creation time (up to 5 minutes before the event), and
/// the lifecycle stage's short name.
fn identity(r: &mut Rng, event_at: i64, name: &Name, domain: &str, stage: &str) -> Identity {
    let email_domain = if r.chance(0.18) {
        r.weighted(FREE_MAIL).to_string()
    } else {
        domain.to_string()
    };
    let (first, last) = (slug(name.first), slug(name.last));
    let email = format!("{first}.{last}{}@{email_domain}", r.below(100));
    let created_at = event_at - r.range(0, 300_000);
    let owner = r.chance(0.05).then(|| {
        r.pick(&["sam", "lee", "amy", "raj", "ana", "bo"])
            .to_string()
    });
    let lifecycle_stage = match stage {
        "subscriber" => "subscriber",
        "marketingqualifiedlead" => "mql",
        "salesqualifiedlead" => "sql",
        "customer" => "customer",
        _ => "lead",
    };
    Identity {
        email: r.chance(0.97).then_some(email),
        owner,
        created_at,
        lifecycle_stage,
    }
}

// ---------------------------------------------------------------------------
// Writers.

/// The CSV header: the lead's own columns, [`FIELDS`], [`ACTIVITY_COLUMNS`], `converted`.
pub fn csv_header() -> Vec<&'static str> {
    let mut header = vec![
        "id",
        "source",
        "email",
        "company_domain",
        "owner",
        "lifecycle_stage",
        "created_at",
        "event_at",
    ];
    header.extend_from_slice(FIELDS);
    header.extend(ACTIVITY_COLUMNS.iter().map(|(name, ..)| *name));
    header.push("converted");
    header
}

fn csv_cell(value: Option<&Json>) -> String {
    match value {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(s)) => s.clone(),
        Some(Json::Bool(b)) => b.to_string(),
        Some(Json::Number(n)) => n.to_string(),
        Some(Json::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(";"),
        Some(Json::Object(o)) => o
            .get("time")
            .and_then(Json::as_str)
            .map_or_else(|| Json::Object(o.clone()).to_string(), str::to_string),
    }
}

/// One CSV record of a row, in [`csv_header`]'s order.
pub fn csv_record(row: &GeneratedLead) -> Vec<String> {
    let lead = &row.lead;
    let ts = |t: Option<Timestamp>| {
        t.map_or_else(String::new, |t| crate::lead::format_millis(t.millis()))
    };
    let mut rec = vec![
        lead.id.clone(),
        lead.source.clone().unwrap_or_default(),
        lead.email.clone().unwrap_or_default(),
        lead.company_domain.clone().unwrap_or_default(),
        lead.owner.clone().unwrap_or_default(),
        lead.lifecycle_stage.clone().unwrap_or_default(),
        ts(lead.created_at),
        crate::lead::format_millis(row.event_at_ms),
    ];
    rec.extend(FIELDS.iter().map(|name| csv_cell(lead.fields.get(*name))));
    rec.extend(
        ACTIVITY_COLUMNS
            .iter()
            .map(|(_, kind, url, days)| row.count(kind, *url, *days).to_string()),
    );
    rec.push(if row.converted { "1" } else { "0" }.into());
    rec
}

/// Rows `rows` as CSV, with the header (see [`csv_header`]).
pub fn write_csv<W: Write>(w: W, rows: Range<u64>, generator: &Generator) -> io::Result<()> {
    write_csv_inner(w, rows, generator, true)
}

/// Rows `rows` as CSV without the header, to append a chunk written elsewhere.
pub fn write_csv_rows<W: Write>(w: W, rows: Range<u64>, generator: &Generator) -> io::Result<()> {
    write_csv_inner(w, rows, generator, false)
}

fn write_csv_inner<W: Write>(
    w: W,
    rows: Range<u64>,
    generator: &Generator,
    header: bool,
) -> io::Result<()> {
    let mut out = csv::WriterBuilder::new().from_writer(w);
    if header {
        out.write_record(csv_header())?;
    }
    for i in rows {
        out.write_record(csv_record(&generator.lead(i)))?;
    }
    out.flush()
}

/// One JSON line of a row: a lead file `leadwire run --lead` reads, with the
/// outcome as the lead field `converted`.
pub fn jsonl_line(row: &GeneratedLead) -> String {
    let mut lead = row.lead.clone();
    lead.fields.insert("converted".into(), json!(row.converted));
    let event = json!({
        "id": format!("evt-{}", row.lead.id),
        "trigger": "created",
        "at": crate::lead::format_millis(row.event_at_ms),
    });
    let line = json!({ "lead": lead, "event": event });
    line.to_string()
}

/// Rows `rows` as JSON lines (see [`jsonl_line`]).
pub fn write_jsonl<W: Write>(mut w: W, rows: Range<u64>, generator: &Generator) -> io::Result<()> {
    for i in rows {
        let line = jsonl_line(&generator.lead(i));
        w.write_all(line.as_bytes())?;
        w.write_all(b"\n")?;
    }
    w.flush()
}

/// A file format of [`write_file`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    Csv,
    Jsonl,
}

/// Rows `0..rows` in `format` to `w`, generated by `threads` threads in chunks
/// and written in order: the same bytes as [`write_csv`] / [`write_jsonl`].
pub fn write_parallel<W: Write>(
    mut w: W,
    rows: u64,
    generator: &Generator,
    format: FileFormat,
    threads: usize,
) -> io::Result<()> {
    const CHUNK: u64 = 4096;
    let threads = threads.max(1) as u64;
    if format == FileFormat::Csv {
        let mut out = csv::Writer::from_writer(&mut w);
        out.write_record(csv_header())?;
        out.flush()?;
    }
    let chunk = |start: u64| -> io::Result<Vec<u8>> {
        let end = (start + CHUNK).min(rows);
        let mut buf = Vec::with_capacity(((end - start) * 1024) as usize);
        match format {
            FileFormat::Csv => write_csv_rows(&mut buf, start..end, generator)?,
            FileFormat::Jsonl => write_jsonl(&mut buf, start..end, generator)?,
        }
        Ok(buf)
    };
    let mut next = 0u64;
    while next < rows {
        // One round: `threads` consecutive chunks, generated side by side.
        let starts: Vec<u64> = (0..threads)
            .map(|t| next + t * CHUNK)
            .filter(|s| *s < rows)
            .collect();
        let bufs: Vec<io::Result<Vec<u8>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = starts
                .iter()
                .map(|&s| scope.spawn(move || chunk(s)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("generator thread panicked"))
                .collect()
        });
        for buf in bufs {
            w.write_all(&buf?)?;
        }
        next += threads * CHUNK;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::LeadFile;

    fn bytes(rows: Range<u64>, seed: u64, csv: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let g = Generator::new(seed);
        if csv {
            write_csv(&mut out, rows, &g).unwrap();
        } else {
            write_jsonl(&mut out, rows, &g).unwrap();
        }
        out
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_another_seed_other_bytes() {
        assert_eq!(bytes(0..200, 7, true), bytes(0..200, 7, true));
        assert_eq!(bytes(0..200, 7, false), bytes(0..200, 7, false));
        assert_ne!(bytes(0..200, 7, true), bytes(0..200, 8, true));
    }

    #[test]
    fn the_parallel_writer_writes_the_same_bytes() {
        let g = Generator::new(2);
        for (format, csv) in [(FileFormat::Csv, true), (FileFormat::Jsonl, false)] {
            let mut out = Vec::new();
            write_parallel(&mut out, 9000, &g, format, 3).unwrap();
            assert!(out == bytes(0..9000, 2, csv), "{format:?}");
        }
    }

    #[test]
    fn a_row_does_not_depend_on_the_rows_around_it() {
        let whole = String::from_utf8(bytes(0..50, 3, false)).unwrap();
        let part = String::from_utf8(bytes(20..30, 3, false)).unwrap();
        let lines: Vec<&str> = whole.lines().collect();
        assert_eq!(lines[20..30].join("\n") + "\n", part);
    }

    #[test]
    fn leads_have_about_sixty_fields_and_twenty_activities() {
        let g = Generator::new(1);
        let n = 2000;
        let mut activities = 0;
        for row in g.leads(0..n) {
            assert_eq!(row.lead.fields.len(), FIELDS.len());
            for a in &row.lead.activities {
                assert!(
                    a.at.millis() < row.event_at_ms,
                    "activities come before the event"
                );
            }
            activities += row.lead.activities.len();
        }
        assert!((55..=65).contains(&FIELDS.len()));
        let mean = activities as f64 / n as f64;
        assert!((17.0..=23.0).contains(&mean), "mean activities {mean}");
    }

    #[test]
    fn fields_mix_types_and_nulls() {
        let g = Generator::new(1);
        let (mut nulls, mut numbers, mut bools, mut times, mut lists, mut texts) =
            (0, 0, 0, 0, 0, 0);
        for row in g.leads(0..200) {
            for v in row.lead.fields.values() {
                match v {
                    Json::Null => nulls += 1,
                    Json::Number(_) => numbers += 1,
                    Json::Bool(_) => bools += 1,
                    Json::Object(_) => times += 1,
                    Json::Array(_) => lists += 1,
                    Json::String(_) => texts += 1,
                }
            }
        }
        for (what, n) in [
            ("null", nulls),
            ("number", numbers),
            ("bool", bools),
            ("time", times),
            ("list", lists),
            ("text", texts),
        ] {
            assert!(n > 200, "{what}: {n}");
        }
    }

    #[test]
    fn the_conversion_rate_is_plausible_and_follows_the_planted_logit() {
        let g = Generator::new(11);
        let n = 20_000;
        let rows: Vec<_> = g.leads(0..n).collect();
        let rate = rows.iter().filter(|r| r.converted).count() as f64 / n as f64;
        assert!((0.10..=0.40).contains(&rate), "conversion rate {rate}");
        // The mean predicted probability matches the observed rate, and leads
        // with a high planted logit convert far more than those with a low one.
        let predicted = rows.iter().map(|r| sigmoid(r.logit())).sum::<f64>() / n as f64;
        assert!(
            (predicted - rate).abs() < 0.02,
            "predicted {predicted} vs observed {rate}"
        );
        let rate_where = |keep: &dyn Fn(f64) -> bool| {
            let sel: Vec<_> = rows.iter().filter(|r| keep(r.logit())).collect();
            sel.iter().filter(|r| r.converted).count() as f64 / sel.len() as f64
        };
        assert!(rate_where(&|l| l > 0.5) > 3.0 * rate_where(&|l| l < -1.5));
    }

    #[test]
    fn the_quickstart_fields_are_there() {
        let g = Generator::new(5);
        let rows: Vec<_> = g.leads(0..2000).collect();
        let has = |pred: &dyn Fn(&GeneratedLead) -> bool| rows.iter().filter(|r| pred(r)).count();
        let text = |r: &GeneratedLead, f: &str| {
            r.lead
                .fields
                .get(f)
                .and_then(Json::as_str)
                .map(str::to_string)
        };
        assert!(has(&|r| text(r, "jobtitle").is_some_and(|t| t.contains("VP"))) > 20);
        assert!(has(&|r| text(r, "industry").as_deref() == Some("COMPUTER_SOFTWARE")) > 100);
        assert!(has(&|r| text(r, "country").as_deref() == Some("United States")) > 500);
        assert!(has(&|r| r.count("page_view", Some("/pricing"), 14) >= 2) > 100);
        assert!(has(&|r| r.count("demo_request", None, 90) > 0) > 50);
        assert!(has(&|r| r.lead.fields.get("hs_email_optout") == Some(&json!(true))) > 50);
        assert!(
            has(&|r| r
                .lead
                .fields
                .get("numberofemployees")
                .is_some_and(Json::is_string))
                > 200
        );
    }

    #[test]
    fn every_jsonl_line_is_a_lead_file_with_the_outcome() {
        let text = String::from_utf8(bytes(0..100, 9, false)).unwrap();
        let g = Generator::new(9);
        for (i, line) in text.lines().enumerate() {
            let (lead, event) = LeadFile::parse(line).unwrap();
            let row = g.lead(i as u64);
            assert_eq!(lead.fields.get("converted"), Some(&json!(row.converted)));
            let event = event.unwrap();
            assert_eq!(event.id.as_deref(), Some(format!("evt-lead-{i}").as_str()));
            assert_eq!(event.at.unwrap().millis(), row.event_at_ms);
            lead.to_lead("hubspot").unwrap();
        }
    }

    #[test]
    fn csv_round_trips_through_the_csv_crate() {
        let data = bytes(0..300, 4, true);
        let mut reader = csv::Reader::from_reader(data.as_slice());
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header, csv_header());
        let g = Generator::new(4);
        let mut n = 0;
        for (i, rec) in reader.records().enumerate() {
            let rec = rec.unwrap();
            let row = g.lead(i as u64);
            let expected = csv_record(&row);
            assert_eq!(
                rec.iter().collect::<Vec<_>>(),
                expected.iter().map(String::as_str).collect::<Vec<_>>()
            );
            let col = |name: &str| {
                rec.get(header.iter().position(|h| h == name).unwrap())
                    .unwrap()
            };
            assert_eq!(col("id"), row.lead.id);
            assert_eq!(col("converted"), if row.converted { "1" } else { "0" });
            assert_eq!(
                col("pricing_views_30d"),
                row.count("page_view", Some("/pricing"), 30).to_string()
            );
            if row.lead.fields["phone"].is_null() {
                assert_eq!(col("phone"), "");
            }
            n += 1;
        }
        assert_eq!(n, 300);
        // Free text with commas, quotes and line breaks survives.
        assert!(data.windows(2).any(|w| w == b"\"\""));
    }
}
