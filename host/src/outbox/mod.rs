//! Acting on decisions: what each decision writes back to the CRM
//! ([`WriteBack`], committed with the decision as outbox rows), and the
//! worker that delivers those rows at least once ([`worker`]) through each
//! connection's API client ([`crate::crm`]).

pub mod worker;

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use crate::config::{Config, WriteConfig};
use crate::decision::{Decision, DecisionStatus};
use crate::feedback::LeadStatus;
use crate::store::OutboxWrite;

/// One source's write-back: the decision's values as CRM properties.
#[derive(Debug, Clone)]
pub struct WriteBack {
    connection: String,
    vendor: Vendor,
    map: WriteConfig,
    /// Rep id → the CRM's owner id.
    owner_ids: BTreeMap<String, String>,
    /// The status written when sales answer through the API.
    status: Option<LeadStatus>,
}

impl WriteBack {
    /// From a source's `[sources.NAME.write]` (checked by the config).
    pub fn new(config: &Config, write: &WriteConfig, status: Option<&LeadStatus>) -> WriteBack {
        let connection = write.connection.get_ref().clone();
        let owner_ids = config
            .directory
            .reps
            .iter()
            .filter_map(|(rep, c)| Some((rep.clone(), c.owner_ids.get(&connection)?.clone())))
            .collect();
        let vendor = match config
            .connections
            .get(&connection)
            .map(|c| c.kind.get_ref().as_str())
        {
            Some("pipedrive") => Vendor::Pipedrive,
            Some("salesforce") => Vendor::Salesforce,
            Some("webhook") => Vendor::Webhook,
            _ => Vendor::HubSpot,
        };
        WriteBack {
            connection,
            vendor,
            map: write.clone(),
            owner_ids,
            status: status.cloned(),
        }
    }

    /// The connection it writes through.
    pub fn connection(&self) -> &str {
        &self.connection
    }

    /// The writes a decision makes: none for a failed or empty one (but an
    /// acceptance, which runs no step, writes its status). Values are
    /// absolute (a repeat is harmless) and text, as CRM properties are.
    pub fn writes(&self, decision: &Decision) -> Vec<OutboxWrite> {
        let answered = decision
            .feedback
            .as_ref()
            .and_then(|f| self.status.as_ref()?.value_for(f));
        // A decision no plugin made writes only an answer or a parking.
        let made = !decision.steps.is_empty() || decision.route.is_some();
        if decision.status != DecisionStatus::Ok || (!made && answered.is_none()) {
            return Vec::new();
        }
        let m = &self.map;
        let mut properties = Map::new();
        let mut set = |property: &Option<String>, value: Option<String>| {
            if let (Some(p), Some(v)) = (property, value) {
                properties.insert(p.clone(), Json::String(v));
            }
        };
        let owner = m.owner.clone();
        set(
            &m.owner,
            decision
                .owner
                .as_ref()
                .and_then(|rep| self.owner_ids.get(rep).cloned()),
        );
        set(&m.score, decision.score.as_ref().map(|s| number(s.value)));
        set(
            &m.grade,
            decision.score.as_ref().and_then(|s| s.grade.clone()),
        );
        set(&m.lifecycle_stage, decision.lifecycle_stage.clone());
        set(
            &m.segments,
            (!decision.segments.is_empty()).then(|| {
                let names: Vec<&str> = decision.segments.iter().map(|s| s.name.as_str()).collect();
                names.join(";")
            }),
        );
        set(
            &m.route_reason,
            decision.route.as_ref().map(|r| route_reason(r).to_string()),
        );
        if let Some((property, value)) = answered {
            properties.insert(property, Json::String(value));
        }
        if properties.is_empty() {
            return Vec::new();
        }
        let payload = match self.vendor {
            Vendor::HubSpot => serde_json::json!({ "properties": properties }),
            Vendor::Pipedrive => pipedrive_payload(properties, owner.as_deref()),
            Vendor::Salesforce => {
                // A Number field takes a number.
                let mut fields = properties;
                if let Some(p) = &m.score {
                    if let Some(score) = decision.score.as_ref() {
                        let whole = score.value.fract() == 0.0 && score.value.abs() < 1e15;
                        let value = if whole {
                            Json::from(score.value as i64)
                        } else {
                            Json::from(score.value)
                        };
                        fields.insert(p.clone(), value);
                    }
                }
                Json::Object(fields)
            }
            Vendor::Webhook => Json::Object(properties),
        };
        vec![OutboxWrite {
            connection: self.connection.clone(),
            record: decision.lead_id.clone(),
            payload,
        }]
    }
}

/// How a vendor's API takes the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vendor {
    /// `{"properties": {name: text}}`.
    HubSpot,
    /// The owner as a top-level user id number (`owner_id`), the rest under
    /// `custom_fields` by their keys; numbers as numbers.
    Pipedrive,
    /// The Lead's fields by API name (`{"OwnerId": "005…", "Rating": "Hot"}`).
    Salesforce,
    /// The properties as named in the config, as text (see [`crate::crm::webhook`]).
    Webhook,
}

fn pipedrive_payload(properties: Map<String, Json>, owner: Option<&str>) -> Json {
    let mut top = Map::new();
    let mut custom = Map::new();
    for (name, value) in properties {
        let text = value.as_str().unwrap_or_default();
        let typed = text
            .parse::<i64>()
            .map(Json::from)
            .or_else(|_| text.parse::<f64>().map(Json::from))
            .unwrap_or(value.clone());
        if Some(name.as_str()) == owner {
            top.insert(name, typed);
        } else {
            custom.insert(name, typed);
        }
    }
    if !custom.is_empty() {
        top.insert("custom_fields".into(), Json::Object(custom));
    }
    Json::Object(top)
}

fn route_reason(route: &crate::verdict::RouteOut) -> &str {
    use crate::decision::RouteAction;
    match &route.action {
        RouteAction::Assign { reason, .. }
        | RouteAction::Queue { reason, .. }
        | RouteAction::KeepCurrent { reason }
        | RouteAction::Unrouted { reason } => reason,
    }
}

/// A score as CRM text: `42`, or `42.5`.
fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}
