//! `leadwire:plugin@0.2.0` (`wit/v0.2.0`): the roles take the input encoded
//! (`types.input` in postcard's wire format, [`encode_input`]); the data types
//! and capabilities are 0.1.0's. Its `types` are bound to 0.1.0's (the records
//! are the same, and component types are structural); its capability traits
//! are served by the 0.1.0 implementations (`capabilities/v0_2_0.rs`).

use super::v0_1_0::types::{Event, Input, Lead, PriorStep};

wasmtime::component::bindgen!({
    path: "../wit/v0.2.0",
    world: "leadwire:plugin/plugin",
    imports: { default: trappable },
    with: {
        "leadwire:plugin/types@0.2.0": crate::bindings::v0_1_0::types,
    },
});

pub use exports::leadwire::plugin::{nurture, routing, scoring, segmentation};

/// The input a 0.2.0 role receives: `types.input` in postcard's wire format.
pub fn encode_input(input: &Input) -> Vec<u8> {
    // Serialising owned strings, numbers and lists into a Vec cannot fail.
    postcard::to_allocvec(input).unwrap_or_default()
}

/// The length of [`encode_input`]'s bytes, without making them.
pub fn encoded_size(input: &Input) -> usize {
    postcard::serialize_with_flavor(input, postcard::ser_flavors::Size::default())
        .unwrap_or_default()
}

/// A pipeline's input, encoded as it grows: the lead and event once, each
/// step's verdict once when it joins `prior`. [`EncodedInput::bytes`] is then
/// [`encode_input`] of the whole input, without encoding the lead (~300
/// strings on a realistic one) again for every step.
pub struct EncodedInput {
    /// The lead and the event.
    head: Vec<u8>,
    /// The prior steps, each encoded, one after the other.
    priors: Vec<u8>,
    count: usize,
    bytes: Vec<u8>,
}

impl EncodedInput {
    pub fn new(lead: &Lead, event: &Event) -> EncodedInput {
        // As in `encode_input`: writing into a Vec cannot fail.
        let head = postcard::to_extend(&(lead, event), Vec::new()).unwrap_or_default();
        EncodedInput {
            head,
            priors: Vec::new(),
            count: 0,
            bytes: Vec::new(),
        }
    }

    pub fn push_prior(&mut self, prior: &PriorStep) {
        let priors = std::mem::take(&mut self.priors);
        self.priors = postcard::to_extend(prior, priors).unwrap_or_default();
        self.count += 1;
    }

    /// The whole input: the head, `prior`'s length (a varint, as postcard
    /// writes a list's), then the steps.
    pub fn bytes(&mut self) -> &[u8] {
        let mut bytes = std::mem::take(&mut self.bytes);
        bytes.clear();
        bytes.extend_from_slice(&self.head);
        bytes = postcard::to_extend(&self.count, bytes).unwrap_or_default();
        bytes.extend_from_slice(&self.priors);
        self.bytes = bytes;
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::v0_1_0::types::{
        Activity, Contribution, Field, NurtureVerdict, ScoreVerdict, Trigger, Value, Verdict,
    };

    #[test]
    fn an_input_encoded_as_it_grows_is_the_input_encoded_whole() {
        let field = |name: &str, value| Field {
            name: name.into(),
            value,
        };
        let lead = Lead {
            id: "7".into(),
            source: "test".into(),
            email: Some("ana@acme.com".into()),
            company_domain: None,
            owner: None,
            lifecycle_stage: Some("lead".into()),
            fields: vec![
                field("jobtitle", Value::Text("VP Sales".into())),
                field("employees", Value::Number(250.0)),
                field("tags", Value::List(vec!["a".into(), "b".into()])),
                field("optin", Value::Boolean(true)),
                field("phone", Value::Null),
                field("closedate", Value::Time(-1)),
            ],
            activities: vec![Activity {
                kind: "page_view".into(),
                at: 1000,
                properties: vec![field("url", Value::Text("/pricing".into()))],
            }],
            created_at: Some(i64::MAX),
        };
        let event = Event {
            id: "e".into(),
            trigger: Trigger::Rejected("wrong person".into()),
            changed: vec!["jobtitle".into()],
            at: 2000,
        };
        let priors = [
            Verdict::Score(ScoreVerdict {
                value: 42.5,
                grade: Some("A1".into()),
                parts: Vec::new(),
                contributions: vec![Contribution {
                    rule: "vp".into(),
                    points: 42.5,
                    reason: "jobtitle contains \"VP\"".into(),
                }],
            }),
            Verdict::Nurture(NurtureVerdict::Stay("not yet".into())),
        ];
        let mut grown = EncodedInput::new(&lead, &event);
        let mut input = Input {
            lead,
            event,
            prior: Vec::new(),
        };
        assert_eq!(grown.bytes(), encode_input(&input));
        for (i, verdict) in priors.into_iter().enumerate() {
            let prior = PriorStep {
                step: format!("step-{i}"),
                plugin: "p".into(),
                verdict,
            };
            grown.push_prior(&prior);
            input.prior.push(prior);
            assert_eq!(grown.bytes(), encode_input(&input), "after {} steps", i + 1);
        }
    }
}
