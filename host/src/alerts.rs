//! Alert rules (`[alerts.NAME]`): which moments of a lead's follow-up tell
//! people, and through which connection (Slack, Teams, email). Each alert is an outbox row,
//! committed with the decision or the timer checkpoint it tells of, keyed
//! per (rule, lead, moment) so it goes out once.

use std::collections::BTreeMap;

use serde_json::json;

use crate::config::Config;
use crate::crm::chat::{self, Chat};
use crate::decision::Decision;
use crate::store::{OutboxRow, OutboxWrite, TimerChange, TimerRow};
use crate::verdict::RouteAction;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    /// A pipeline assigned the lead (told to its owner's channel).
    Assigned,
    /// An SLA checkpoint that warns passed without the owner acting.
    SlaWarning,
    /// An SLA breached: the lead was decided again (reassigned).
    SlaBreach,
    /// The score reached the rule's threshold from below.
    ScoreCrossed,
    /// A write to the CRM became a dead letter.
    DeadLetter,
    /// No new activity for the rule's days while in one of its stages.
    GoingCold,
}

pub const ON: [&str; 6] = [
    "assigned",
    "score-crossed",
    "sla-warning",
    "sla-breach",
    "going-cold",
    "dead-letter",
];

impl On {
    /// As written in `on = "…"`.
    pub fn name(self) -> &'static str {
        match self {
            On::Assigned => "assigned",
            On::SlaWarning => "sla-warning",
            On::SlaBreach => "sla-breach",
            On::ScoreCrossed => "score-crossed",
            On::DeadLetter => "dead-letter",
            On::GoingCold => "going-cold",
        }
    }
}

/// The timer policy that watches a lead for going-cold rule NAME.
const COLD: &str = "going-cold:";

const DAY_MS: i64 = 86_400_000;

/// How a rule's alerts are written.
#[derive(Debug, Clone)]
enum Via {
    Chat(Chat),
    /// To the owner (assignments, warnings) when the directory has their
    /// email, else to the connection's `to`.
    Email {
        to: Vec<String>,
    },
    /// The generic signed webhook: the alert as JSON (`type: lead.alert`).
    Webhook,
}

#[derive(Debug, Clone)]
struct Rule {
    name: String,
    on: On,
    connection: String,
    via: Via,
    /// Only this SLA policy (sla-warning, sla-breach).
    sla: Option<String>,
    /// Only leads with these grades (assigned).
    grades: Vec<String>,
    /// score-crossed: the score to reach from below.
    threshold: Option<f64>,
    /// going-cold: days without engagement, in these stages (empty: any).
    days: Option<u32>,
    stages: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Alerts {
    rules: Vec<Rule>,
    /// Where the timeline is served, for the alert's link.
    public_url: Option<String>,
    /// Rep → email, for email alerts to the owner.
    emails: BTreeMap<String, String>,
}

impl Alerts {
    pub fn from_config(config: &Config) -> Result<Alerts, String> {
        let mut rules = Vec::new();
        for (name, a) in &config.alerts {
            let on = match a.on.as_str() {
                "assigned" => On::Assigned,
                "sla-warning" => On::SlaWarning,
                "sla-breach" => On::SlaBreach,
                "score-crossed" => On::ScoreCrossed,
                "dead-letter" => On::DeadLetter,
                "going-cold" => On::GoingCold,
                other => {
                    return Err(format!(
                        "alerts.{name}.on = \"{other}\": one of {}",
                        ON.join(", ")
                    ));
                }
            };
            let connection = config.connections.get(&a.connection);
            let via = match connection.map(|c| c.kind.get_ref().as_str()) {
                Some("slack") => Via::Chat(Chat::Slack),
                Some("teams") => Via::Chat(Chat::Teams),
                Some("email") => Via::Email {
                    to: connection.map(|c| c.to.clone()).unwrap_or_default(),
                },
                Some("webhook") => Via::Webhook,
                Some(kind) => {
                    return Err(format!(
                        "alerts.{name}.connection: `{}` is a {kind} connection; alerts go to a \
                         slack, teams, email or webhook connection",
                        a.connection
                    ));
                }
                None => {
                    return Err(format!(
                        "alerts.{name}.connection: no [connections.{}]",
                        a.connection
                    ));
                }
            };
            if (on == On::ScoreCrossed) != a.threshold.is_some() {
                return Err(format!(
                    "alerts.{name}.threshold: a score-crossed rule needs one, other rules take none"
                ));
            }
            if (on == On::GoingCold) != a.days.is_some() || a.days == Some(0) {
                return Err(format!(
                    "alerts.{name}.days: a going-cold rule needs one (at least 1), other rules take none"
                ));
            }
            if let Some(sla) = &a.sla {
                if !config.sla.contains_key(sla) {
                    return Err(format!("alerts.{name}.sla: no [sla.{sla}]"));
                }
            }
            rules.push(Rule {
                name: name.clone(),
                on,
                connection: a.connection.clone(),
                via,
                sla: a.sla.clone(),
                grades: a.grades.clone(),
                threshold: a.threshold,
                days: a.days,
                stages: a.stages.clone(),
            });
        }
        Ok(Alerts {
            rules,
            public_url: config
                .server
                .public_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_string()),
            emails: config
                .directory
                .reps
                .iter()
                .filter_map(|(rep, c)| Some((rep.clone(), c.email.clone()?)))
                .collect(),
        })
    }

    fn link(&self, source: &str, lead: &str) -> Option<String> {
        if source.is_empty() {
            return None;
        }
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        Some(format!(
            "{}/v1/leads/{}/{}/timeline",
            self.public_url.as_ref()?,
            enc(source),
            enc(lead)
        ))
    }

    /// One alert, keyed `alert:SOURCE:LEAD:RULE:MOMENT` (once per rule, lead
    /// and moment; the lead's alerts share a prefix, for its timeline);
    /// `owner` is who it is about (an email goes to them for
    /// assignments and warnings).
    #[allow(clippy::too_many_arguments)]
    fn alert(
        &self,
        rule: &Rule,
        key: String,
        source: &str,
        lead: &str,
        owner: Option<&str>,
        title: &str,
        text: &str,
    ) -> OutboxWrite {
        let link = self.link(source, lead);
        let payload = match &rule.via {
            Via::Chat(kind) => chat::message(*kind, title, text, link.as_deref()),
            Via::Email { to } => {
                let personal = matches!(rule.on, On::Assigned | On::SlaWarning | On::GoingCold);
                let to = match owner.and_then(|o| self.emails.get(o)).filter(|_| personal) {
                    Some(email) => vec![email.clone()],
                    None => to.clone(),
                };
                let mut body = format!("{text}\n");
                if let Some(link) = &link {
                    body.push_str(&format!("\nWhat became of the lead: {link}\n"));
                }
                json!({ "to": to, "subject": title, "text": body })
            }
            Via::Webhook => json!({
                "rule": rule.name,
                "on": rule.on.name(),
                "source": source,
                "lead": lead,
                "owner": owner,
                "title": title,
                "text": text,
                "timeline": link,
            }),
        };
        OutboxWrite {
            connection: rule.connection.clone(),
            record: format!("{}{}:{key}", record_prefix(source, lead), rule.name),
            payload,
        }
    }

    /// Whether a going-cold rule watches leads (the SLA worker fires them).
    pub fn watches_cold(&self) -> bool {
        self.rules.iter().any(|r| r.on == On::GoingCold)
    }

    /// The going-cold watches a recorded decision sets: one per rule, due
    /// `days` after the lead's last activity (`last_engaged`) while its stage
    /// is one of the rule's; a lead that left those stages ends its watch. A
    /// lead with no activity yet is not watched.
    pub fn watches(
        &self,
        decision: &Decision,
        last_engaged: Option<i64>,
        now_ms: i64,
    ) -> Vec<TimerChange> {
        let stage = decision.lifecycle_stage.as_deref();
        let mut out = Vec::new();
        for rule in self.rules.iter().filter(|r| r.on == On::GoingCold) {
            let policy = format!("{COLD}{}", rule.name);
            let in_stage =
                rule.stages.is_empty() || stage.is_some_and(|s| rule.stages.iter().any(|x| x == s));
            match (in_stage, last_engaged, rule.days) {
                (true, Some(since), Some(days)) => out.push(TimerChange::Watch {
                    policy,
                    owner: decision.owner.clone().unwrap_or_default(),
                    since,
                    due: since.saturating_add(i64::from(days) * DAY_MS),
                }),
                (false, _, _) => out.push(TimerChange::Met {
                    policy,
                    how: format!("now in stage {}", stage.unwrap_or("none")),
                    at: now_ms,
                    business_ms: None,
                    after: None,
                }),
                _ => {}
            }
        }
        out
    }

    /// A timer of a going-cold watch (not an SLA policy's).
    pub fn is_watch(timer: &TimerRow) -> bool {
        timer.policy.starts_with(COLD)
    }

    /// What a going-cold watch says when it fires: why, and its alerts.
    pub fn gone_cold(&self, timer: &TimerRow) -> (String, Vec<OutboxWrite>) {
        let name = &timer.policy[COLD.len().min(timer.policy.len())..];
        let Some(rule) = self
            .rules
            .iter()
            .find(|r| r.on == On::GoingCold && r.name == name)
        else {
            return (
                format!("[alerts.{name}] is no longer configured"),
                Vec::new(),
            );
        };
        let days = rule.days.unwrap_or_default();
        let why = format!("no engagement for {days} days");
        let owner = (!timer.owner.is_empty()).then_some(timer.owner.as_str());
        let alert = self.alert(
            rule,
            format!("timer:{}:{}", timer.id, timer.checkpoint),
            &timer.source,
            &timer.lead_id,
            owner,
            &format!("Lead {} is going cold", timer.lead_id),
            &format!(
                "{why} (last activity {}); owner {}",
                crate::lead::format_millis(timer.started_at),
                owner.unwrap_or("none")
            ),
        );
        (why, vec![alert])
    }

    /// Whether a rule compares scores with the lead's previous decision
    /// (then the caller reads it).
    pub fn wants_previous_score(&self) -> bool {
        self.rules.iter().any(|r| r.on == On::ScoreCrossed)
    }

    /// The alerts a recorded decision makes: its assignment, a score that
    /// crossed a threshold since `previous` (the lead's score before; none
    /// for a new lead), and (when an SLA breach made it) the breach.
    pub fn decided(
        &self,
        source: &str,
        decision: &Decision,
        breached: Option<&str>,
        previous: Option<f64>,
    ) -> Vec<OutboxWrite> {
        let assigned = decision.route.as_ref().and_then(|r| match &r.action {
            RouteAction::Assign { owner, reason, .. } => Some((owner, reason)),
            _ => None,
        });
        let grade = decision.score.as_ref().and_then(|s| s.grade.clone());
        let score = decision
            .score
            .as_ref()
            .map(|s| {
                format!(
                    "score {} ({})",
                    s.value,
                    s.grade.as_deref().unwrap_or("no grade")
                )
            })
            .unwrap_or_else(|| "no score".into());
        let lead = &decision.lead_id;
        let mut out = Vec::new();
        for rule in &self.rules {
            if let (On::ScoreCrossed, Some(t), Some(now)) = (
                rule.on,
                rule.threshold,
                decision.score.as_ref().map(|s| s.value),
            ) {
                if now >= t && previous.is_none_or(|p| p < t) {
                    let before = previous
                        .map(|p| format!("from {p}"))
                        .unwrap_or_else(|| "on its first decision".into());
                    out.push(self.alert(
                        rule,
                        decision.id.clone(),
                        source,
                        lead,
                        decision.owner.as_deref(),
                        &format!("Lead {lead} reached score {now} (threshold {t})"),
                        &format!("{score}, {before}"),
                    ));
                }
                continue;
            }
            match (rule.on, assigned, breached) {
                (On::Assigned, Some((owner, reason)), _) => {
                    if !rule.grades.is_empty()
                        && !grade.as_ref().is_some_and(|g| rule.grades.contains(g))
                    {
                        continue;
                    }
                    out.push(self.alert(
                        rule,
                        decision.id.clone(),
                        source,
                        lead,
                        Some(owner.as_str()),
                        &format!("Lead {lead} assigned to {owner}"),
                        &format!("{score}; {reason}"),
                    ));
                }
                (On::SlaBreach, _, Some(policy))
                    if rule.sla.as_deref().is_none_or(|s| s == policy) =>
                {
                    let queued = decision.route.as_ref().and_then(|r| match &r.action {
                        RouteAction::Queue { queue, .. } => Some(queue),
                        _ => None,
                    });
                    let now = match (assigned, queued) {
                        (Some((owner, _)), _) => format!("reassigned to {owner}"),
                        (None, Some(queue)) => format!("waiting in queue {queue}"),
                        (None, None) => "not reassigned: no one else could take it".into(),
                    };
                    out.push(self.alert(
                        rule,
                        decision.event_id.clone(),
                        source,
                        lead,
                        None,
                        &format!("SLA {policy} breached for lead {lead}"),
                        &format!("{now}; {score}"),
                    ));
                }
                _ => {}
            }
        }
        out
    }

    /// The alerts a write that became a dead letter makes (none for an
    /// alert's own: alerts do not tell of alerts).
    pub fn dead_letter(&self, row: &OutboxRow, error: &str) -> Vec<OutboxWrite> {
        if row.record.starts_with("alert:") {
            return Vec::new();
        }
        let error: String = error.chars().take(500).collect();
        let list = self
            .public_url
            .as_ref()
            .map(|u| format!("; the dead letters: {u}/v1/outbox?status=dead"))
            .unwrap_or_default();
        self.rules
            .iter()
            .filter(|r| r.on == On::DeadLetter)
            .map(|rule| {
                self.alert(
                    rule,
                    format!("dead:{}", row.id),
                    "",
                    &row.record,
                    None,
                    &format!(
                        "A write to {} record {} failed for good",
                        row.connection, row.record
                    ),
                    &format!(
                        "{error} (row {}, decision {}){list}",
                        row.id, row.decision_id
                    ),
                )
            })
            .collect()
    }

    /// The alerts a warning checkpoint makes.
    pub fn warned(&self, timer: &TimerRow, checkpoint: &str) -> Vec<OutboxWrite> {
        self.rules
            .iter()
            .filter(|r| {
                r.on == On::SlaWarning && r.sla.as_deref().is_none_or(|s| s == timer.policy)
            })
            .map(|rule| {
                self.alert(
                    rule,
                    format!("timer:{}:{}", timer.id, timer.checkpoint),
                    &timer.source,
                    &timer.lead_id,
                    Some(timer.owner.as_str()),
                    &format!(
                        "SLA {} `{checkpoint}`: lead {} not touched yet",
                        timer.policy, timer.lead_id
                    ),
                    &format!("{} has not acted since it was assigned", timer.owner),
                )
            })
            .collect()
    }
}

/// What the outbox record of every alert about a lead starts with.
pub fn record_prefix(source: &str, lead: &str) -> String {
    format!("alert:{source}:{lead}:")
}
