//! JSON pointers (RFC 6901), split once when the source loads, with one
//! extension for .NET-style key/value lists (Dataverse's `Attributes`,
//! `InputParameters`): a step that is not an index into an array of
//! `{"key": …, "value": …}` objects picks the entry with that key and goes into
//! its value, so `/InputParameters/Target/Attributes/emailaddress1` names a
//! field by key, not by position.

use serde_json::Value as Json;

#[derive(Debug, Clone)]
pub struct Pointer {
    text: String,
    steps: Vec<String>,
}

impl Pointer {
    /// `option` names the option in the error.
    pub fn parse(option: &str, text: &str) -> Result<Pointer, String> {
        if !text.is_empty() && !text.starts_with('/') {
            let suggestion = format!(
                "/{}",
                text.trim_start_matches('$')
                    .trim_start_matches('.')
                    .replace('.', "/")
            );
            return Err(format!(
                "json adapter options: {option} = \"{text}\" is not a JSON pointer (RFC 6901): \
                 write it like \"{suggestion}\" (\"\" is the whole event)"
            ));
        }
        let steps = if text.is_empty() {
            Vec::new()
        } else {
            text[1..]
                .split('/')
                .map(|s| s.replace("~1", "/").replace("~0", "~"))
                .collect()
        };
        Ok(Pointer {
            text: text.to_string(),
            steps,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value it points at, if any (null included).
    pub fn find<'v>(&self, mut v: &'v Json) -> Option<&'v Json> {
        for step in &self.steps {
            v = match v {
                Json::Object(map) => map.get(step)?,
                Json::Array(items) => match index(step) {
                    Some(i) => items.get(i)?,
                    None => items
                        .iter()
                        .find(|item| item.get("key").and_then(Json::as_str) == Some(step))?
                        .get("value")?,
                },
                _ => return None,
            };
        }
        Some(v)
    }

    /// The value, unless absent or null.
    pub fn get<'v>(&self, v: &'v Json) -> Option<&'v Json> {
        self.find(v).filter(|v| !v.is_null())
    }
}

/// An RFC 6901 array index: digits without a leading zero.
fn index(step: &str) -> Option<usize> {
    if step.is_empty() || !step.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if step.len() > 1 && step.starts_with('0') {
        return None;
    }
    step.parse().ok()
}

/// Whether `v` is a key/value list (`[{"key": "a", "value": 1}, …]`).
pub fn is_key_value_list(v: &Json) -> bool {
    match v {
        Json::Array(items) => {
            !items.is_empty()
                && items.iter().all(|i| {
                    i.as_object().is_some_and(|o| {
                        o.get("key").is_some_and(Json::is_string) && o.contains_key("value")
                    })
                })
        }
        _ => false,
    }
}

/// A .NET DataContract value as plain JSON: `{"__type": "OptionSetValue:…",
/// "Value": 2}` and `Money` → `2`; `EntityReference` → its `Id`;
/// `"/Date(1715680931000)/"` → RFC 3339. Anything else as it is.
pub fn plain_dotnet(v: &Json) -> Json {
    match v {
        Json::Object(map) if map.contains_key("__type") => {
            let kind = map["__type"].as_str().unwrap_or_default();
            if kind.starts_with("EntityReference") {
                map.get("Id").cloned().unwrap_or(Json::Null)
            } else if let Some(value) = map.get("Value") {
                value.clone()
            } else {
                v.clone()
            }
        }
        Json::String(s) if s.starts_with("/Date(") => crate::lead::parse_time(s)
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| Json::String(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)))
            .unwrap_or_else(|| v.clone()),
        _ => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn steps_follow_rfc_6901_and_key_value_lists() {
        let doc = json!({
            "a/b": {"~x": 1},
            "list": [10, 20],
            "InputParameters": [
                {"key": "Other", "value": 0},
                {"key": "Target", "value": {"Attributes": [{"key": "leadid", "value": "L-1"}]}}
            ]
        });
        let p = |s: &str| Pointer::parse("x", s).unwrap();
        assert_eq!(p("/a~1b/~0x").get(&doc), Some(&json!(1)));
        assert_eq!(p("/list/1").get(&doc), Some(&json!(20)));
        assert_eq!(p("/list/01").get(&doc), None);
        assert_eq!(
            p("/InputParameters/Target/Attributes/leadid").get(&doc),
            Some(&json!("L-1"))
        );
        assert_eq!(p("/InputParameters/Missing").get(&doc), None);
        assert_eq!(p("").get(&doc), Some(&doc));
        assert!(
            Pointer::parse("record_id", "data.id")
                .unwrap_err()
                .contains("\"/data/id\"")
        );
    }

    #[test]
    fn dotnet_values_become_plain() {
        assert_eq!(
            plain_dotnet(&json!({"__type": "OptionSetValue:http://x", "Value": 2})),
            json!(2)
        );
        assert_eq!(
            plain_dotnet(&json!({"__type": "EntityReference:http://x", "Id": "u-1", "Name": null})),
            json!("u-1")
        );
        assert_eq!(
            plain_dotnet(&json!("/Date(1715680931000+0000)/")),
            json!("2024-05-14T10:02:11.000Z")
        );
        assert_eq!(plain_dotnet(&json!("text")), json!("text"));
    }
}
