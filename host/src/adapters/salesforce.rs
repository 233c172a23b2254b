//! Salesforce Outbound Messages: SOAP 1.1, 1 to 100 `Notification`s of sObject
//! fields in one `notifications` element.
//!
//! Salesforce signs nothing. The request must carry the configured
//! `organization_id` (15- or 18-character form; compared on the first 15
//! characters, which are the id, case-sensitively) or it is refused with 401.
//! Optionally (`token_param`), the endpoint URL configured in Salesforce carries
//! a secret token as a query parameter, which must equal the source's secret.
//!
//! Each Notification becomes one event: the sObject's `sf:*` children are the
//! lead's fields, under their Salesforce API names (a nil field is null; every
//! other value is the text Salesforce sent). `Email`, `OwnerId`, `Status` (as the
//! lifecycle stage) and `Website` (as the company domain) are mapped; the time is
//! `LastModifiedDate` (else `SystemModstamp`, else now); the event is `created`
//! when `CreatedDate` equals `LastModifiedDate`, else `updated`. The dedup key is
//! the Notification Id.
//!
//! The answer is the SOAP `notificationsResponse` with `Ack` true for the whole
//! message; any failure is a SOAP Fault with status 500, which Salesforce retries
//! (for up to 24 hours).

use roxmltree::{Document, Node, ParsingOptions};
use serde::Deserialize;
use serde_json::Value as Json;

use super::sig::ct_eq;
use super::{
    Adapter, AdapterError, EventKind, LeadEvent, Reply, WebhookRequest, bad, domain_of,
    lead_with_id, need_secret, options, parse_time, require_content_type, unauthorized,
};
use crate::decision::Decision;
use crate::lead::Timestamp;

const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
const OUTBOUND: &str = "http://soap.sforce.com/2005/09/outbound";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The acknowledgement Salesforce needs, for every notification in the message.
pub const ACK: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
  <soapenv:Body>
    <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">
      <Ack>true</Ack>
    </notificationsResponse>
  </soapenv:Body>
</soapenv:Envelope>
"#;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    organization_id: String,
    token_param: Option<String>,
}

pub struct Salesforce {
    /// The org id's first 15 characters (the id itself; 18-character ids add a
    /// case-checksum suffix).
    org15: String,
    org_configured: String,
    /// (query parameter, secret)
    token: Option<(String, String)>,
}

impl Salesforce {
    pub fn new(table: &toml::Table, secret: Option<String>) -> Result<Salesforce, String> {
        let o: Options = options("salesforce", table).map_err(|e| {
            if e.contains("organization_id") && e.contains("missing") {
                format!(
                    "{e} (the Salesforce org id, Setup → Company Information → Salesforce.com \
                     Organization ID, e.g. 00D5g000004SGHn)"
                )
            } else {
                e
            }
        })?;
        let org = o.organization_id.trim().to_string();
        check_org_id(&org)
            .map_err(|m| format!("salesforce adapter options: organization_id `{org}`: {m}"))?;
        let token = match (o.token_param, secret) {
            (Some(param), secret) => {
                if param.is_empty() {
                    return Err("salesforce adapter options: token_param is empty".into());
                }
                let secret = need_secret(
                    "salesforce",
                    secret,
                    "the token the Outbound Message's endpoint URL carries in its query",
                )?;
                Some((param, secret))
            }
            (None, Some(_)) => {
                return Err(
                    "salesforce adapter: a secret is configured (secret_env) but options.token_param \
                     does not say which query parameter of the endpoint URL carries it"
                        .into(),
                );
            }
            (None, None) => None,
        };
        Ok(Salesforce {
            org15: org.chars().take(15).collect(),
            org_configured: org,
            token,
        })
    }

    fn check_token(&self, req: &WebhookRequest) -> Result<(), AdapterError> {
        let Some((param, secret)) = &self.token else {
            return Ok(());
        };
        match query_param(req.url, param) {
            None => Err(unauthorized(format!(
                "the endpoint URL has no `{param}` query parameter (this source expects the \
                 Outbound Message's endpoint URL to end with ?{param}=<the secret>)"
            ))),
            Some(given) if ct_eq(given.as_bytes(), secret.as_bytes()) => Ok(()),
            Some(_) => Err(unauthorized(format!(
                "wrong `{param}` token in the endpoint URL"
            ))),
        }
    }
}

/// A Salesforce org id: 15 or 18 letters and digits, starting `00D`; an
/// 18-character id's last 3 characters must be its case checksum.
fn check_org_id(id: &str) -> Result<(), String> {
    if !(id.len() == 15 || id.len() == 18) || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err("expected a 15- or 18-character Salesforce id (letters and digits)".into());
    }
    if !id.starts_with("00D") {
        return Err("an organization id starts with 00D".into());
    }
    if id.len() == 18 {
        let expected = checksum(&id[..15]);
        if id[15..] != expected {
            return Err(format!(
                "the 18-character form ends in `{}`, but the id's checksum is `{expected}`: \
                 check for a typo, or give the 15-character form",
                &id[15..]
            ));
        }
    }
    Ok(())
}

/// The 3-character suffix that makes a 15-character id case-insensitive.
fn checksum(id15: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    id15.as_bytes()
        .chunks(5)
        .map(|chunk| {
            let flags = chunk
                .iter()
                .enumerate()
                .filter(|(_, b)| b.is_ascii_uppercase())
                .fold(0usize, |f, (j, _)| f | (1 << j));
            ALPHABET[flags & 31] as char
        })
        .collect()
}

/// A query parameter's value, %-decoded ('+' as space).
fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Elements nested deeper than this are refused before parsing: an Outbound
/// Message is about 8 deep (Envelope, Body, notifications, Notification,
/// sObject, field, relationship fields), and a parser walking thousands of
/// levels can exhaust a worker's stack.
const MAX_XML_DEPTH: usize = 32;

/// Nodes in one message: 100 notifications of a few hundred fields each fit.
const MAX_XML_NODES: u32 = 200_000;

/// A linear scan of the element nesting (comments, CDATA, processing
/// instructions and quoted attribute values skipped), so that the parser only
/// sees documents of bounded depth.
fn check_depth(text: &str) -> Result<(), AdapterError> {
    let b = text.as_bytes();
    let (mut i, mut depth) = (0, 0usize);
    let skip_to = |from: usize, end: &[u8]| {
        b[from..]
            .windows(end.len())
            .position(|w| w == end)
            .map_or(b.len(), |p| from + p + end.len())
    };
    while let Some(p) = b[i..].iter().position(|&c| c == b'<') {
        i += p + 1;
        match b.get(i) {
            Some(b'/') => {
                depth = depth.saturating_sub(1);
                i = skip_to(i, b">");
            }
            Some(b'?') => i = skip_to(i, b"?>"),
            Some(b'!') if b[i..].starts_with(b"!--") => i = skip_to(i, b"-->"),
            Some(b'!') if b[i..].starts_with(b"![CDATA[") => i = skip_to(i, b"]]>"),
            Some(b'!') => i = skip_to(i, b">"),
            _ => {
                // An element's start tag: find its end outside quotes.
                let mut quote = None;
                let mut self_closing = false;
                while let Some(&c) = b.get(i) {
                    i += 1;
                    match (quote, c) {
                        (Some(q), c) if c == q => quote = None,
                        (Some(_), _) => {}
                        (None, b'"' | b'\'') => quote = Some(c),
                        (None, b'>') => break,
                        (None, b'/') => {
                            self_closing = b.get(i) == Some(&b'>');
                        }
                        _ => {}
                    }
                }
                if !self_closing {
                    depth += 1;
                    if depth > MAX_XML_DEPTH {
                        return Err(bad(format!(
                            "body: elements nested more than {MAX_XML_DEPTH} deep (an Outbound \
                             Message is about 8): refused"
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The `OrganizationId` of a message by a plain text search, so that a message
/// for another org is refused before its XML is parsed. `None` when it is not
/// found this way (the parsed check then decides).
fn scan_org_id(text: &str) -> Option<&str> {
    let start = text.find("OrganizationId>")? + "OrganizationId>".len();
    let rest = &text[start..];
    let end = rest.find('<')?;
    Some(rest[..end].trim())
}

fn parse_xml(body: &[u8]) -> Result<Document<'_>, AdapterError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        bad(format!(
            "body: not UTF-8 text (byte {}): expected a SOAP Outbound Message",
            e.valid_up_to()
        ))
    })?;
    if text.trim().is_empty() {
        return Err(bad("body: empty (expected a SOAP Outbound Message)"));
    }
    check_depth(text)?;
    // DTDs are refused (no entity expansion); the node count bounds memory.
    let opts = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_XML_NODES,
    };
    Document::parse_with_options(text, opts)
        .map_err(|e| bad(format!("body: not well-formed XML: {e}")))
}

fn element<'a, 'i>(node: Node<'a, 'i>, local: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == local)
}

/// The `notifications` element, or a 400 that says what is missing.
fn notifications<'a, 'i>(doc: &'a Document<'i>) -> Result<Node<'a, 'i>, AdapterError> {
    let root = doc.root_element();
    let ns = root.tag_name().namespace();
    if root.tag_name().name() != "Envelope" || !matches!(ns, Some(SOAP11) | Some(SOAP12)) {
        return Err(bad(format!(
            "body: expected a SOAP Envelope, found <{}>",
            root.tag_name().name()
        )));
    }
    let body = root
        .children()
        .find(|c| c.is_element() && c.tag_name().name() == "Body" && c.tag_name().namespace() == ns)
        .ok_or_else(|| bad("Envelope: no Body"))?;
    body.children()
        .find(|c| {
            c.is_element()
                && c.tag_name().name() == "notifications"
                && c.tag_name().namespace() == Some(OUTBOUND)
        })
        .ok_or_else(|| {
            bad(format!(
                "Envelope/Body: no notifications element in namespace {OUTBOUND} (is this a \
                 Salesforce Outbound Message?)"
            ))
        })
}

fn text_of(node: Node) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

fn is_nil(node: Node) -> bool {
    node.attribute((XSI, "nil"))
        .is_some_and(|v| v.trim() == "true" || v.trim() == "1")
}

/// sObject fields, nested elements (relationship fields) as `Parent.Child`.
fn collect_fields(
    node: Node,
    prefix: &str,
    fields: &mut std::collections::BTreeMap<String, Json>,
    depth: usize,
) {
    for child in node.children().filter(|c| c.is_element()) {
        let name = if prefix.is_empty() {
            child.tag_name().name().to_string()
        } else {
            format!("{prefix}.{}", child.tag_name().name())
        };
        if is_nil(child) {
            fields.insert(name, Json::Null);
        } else if child.children().any(|c| c.is_element()) && depth < 4 {
            collect_fields(child, &name, fields, depth + 1);
        } else {
            fields.insert(name, Json::String(text_of(child)));
        }
    }
}

/// A Lead's fields (from an Outbound Message, or read over REST) as a lead.
pub fn sobject_lead(
    record_id: String,
    fields: std::collections::BTreeMap<String, Json>,
) -> crate::lead::LeadDoc {
    let mut lead = lead_with_id(record_id);
    lead.email = field_text(&fields, "Email").map(str::to_string);
    lead.owner = field_text(&fields, "OwnerId").map(str::to_string);
    lead.lifecycle_stage = field_text(&fields, "Status").map(str::to_string);
    lead.company_domain = field_text(&fields, "Website").and_then(domain_of);
    lead.fields = fields;
    lead
}

fn field_text<'f>(
    fields: &'f std::collections::BTreeMap<String, Json>,
    name: &str,
) -> Option<&'f str> {
    fields
        .get(name)
        .and_then(Json::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

impl Salesforce {
    fn is_this_org(&self, org: &str) -> bool {
        let org15: String = org.chars().take(15).collect();
        (org.len() == 15 || org.len() == 18) && ct_eq(org15.as_bytes(), self.org15.as_bytes())
    }

    fn other_org(&self, org: &str) -> AdapterError {
        let shown: String = org.chars().take(40).collect();
        unauthorized(format!(
            "OrganizationId `{shown}` is not this source's organization_id `{}`",
            self.org_configured
        ))
    }
}

impl Adapter for Salesforce {
    fn verify(&self, req: &WebhookRequest) -> Result<(), AdapterError> {
        require_content_type(req.headers, &["text/xml", "application/soap+xml"])?;
        self.check_token(req)?;
        if let Some(org) = std::str::from_utf8(req.body).ok().and_then(scan_org_id)
            && !self.is_this_org(org)
        {
            return Err(self.other_org(org));
        }
        let doc = parse_xml(req.body)?;
        let n = notifications(&doc)?;
        let org = element(n, "OrganizationId")
            .map(|o| text_of(o).trim().to_string())
            .filter(|o| !o.is_empty())
            .ok_or_else(|| unauthorized("notifications: no OrganizationId"))?;
        if self.is_this_org(&org) {
            Ok(())
        } else {
            Err(self.other_org(&org))
        }
    }

    fn parse(&self, req: &WebhookRequest) -> Result<Vec<LeadEvent>, AdapterError> {
        let doc = parse_xml(req.body)?;
        let n = notifications(&doc)?;
        let notes: Vec<Node> = n
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == "Notification")
            .collect();
        if notes.is_empty() {
            return Err(bad(
                "notifications: no Notification element (expected 1 to 100)",
            ));
        }
        let mut events = Vec::with_capacity(notes.len());
        for (i, note) in notes.into_iter().enumerate() {
            let at = format!("notifications/Notification[{i}]");
            let id = element(note, "Id")
                .map(|e| text_of(e).trim().to_string())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| bad(format!("{at}/Id: missing")))?;
            let sobject =
                element(note, "sObject").ok_or_else(|| bad(format!("{at}/sObject: missing")))?;
            let mut fields = std::collections::BTreeMap::new();
            collect_fields(sobject, "", &mut fields, 0);
            let record_id = field_text(&fields, "Id")
                .map(str::to_string)
                .ok_or_else(|| {
                    bad(format!(
                        "{at}/sObject/sf:Id: missing (the Outbound Message must send the record's Id)"
                    ))
                })?;

            let time = |name: &str| -> Result<Option<i64>, AdapterError> {
                match field_text(&fields, name) {
                    None => Ok(None),
                    Some(t) => parse_time(t).map(Some).ok_or_else(|| {
                        bad(format!(
                            "{at}/sObject/sf:{name}: `{t}` is not a date and time"
                        ))
                    }),
                }
            };
            let modified = match time("LastModifiedDate")? {
                Some(t) => Some(t),
                None => time("SystemModstamp")?,
            };
            let created = time("CreatedDate")?;

            let mut lead = sobject_lead(record_id, fields);
            lead.created_at = created.map(Timestamp::Millis);
            let kind = match (created, modified) {
                (Some(c), Some(m)) if c == m => EventKind::Created,
                _ => EventKind::Updated,
            };
            events.push(LeadEvent {
                dedup_key: format!("salesforce:{id}"),
                kind,
                at: modified.unwrap_or(req.now_ms),
                lead,
                changed: Vec::new(),
                complete: true,
            });
        }
        Ok(events)
    }

    fn accepted(&self, _decisions: &[Decision]) -> Reply {
        Reply {
            status: 200,
            content_type: "text/xml; charset=utf-8",
            body: ACK.as_bytes().to_vec(),
        }
    }

    fn failed(&self, status: u16, message: &str) -> Reply {
        Reply {
            status: 500,
            content_type: "text/xml; charset=utf-8",
            body: fault(status, message).into_bytes(),
        }
    }
}

/// A SOAP 1.1 Fault: `soapenv:Client` for a request's fault (4xx), else
/// `soapenv:Server`; the HTTP status leadwire would have used is in the detail.
pub fn fault(status: u16, message: &str) -> String {
    let code = if (400..500).contains(&status) {
        "soapenv:Client"
    } else {
        "soapenv:Server"
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
  <soapenv:Body>
    <soapenv:Fault>
      <faultcode>{code}</faultcode>
      <faultstring>{}</faultstring>
      <detail><status>{status}</status></detail>
    </soapenv:Fault>
  </soapenv:Body>
</soapenv:Envelope>
"#,
        xml_escape(message)
    )
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    const LEAD: &[u8] =
        include_bytes!("../../../tests/fixtures/webhooks/salesforce-outbound-lead.xml");
    const ACK_FIXTURE: &[u8] =
        include_bytes!("../../../tests/fixtures/webhooks/salesforce-outbound-ack-response.xml");
    const URL: &str = "https://leads.example.com/hooks/salesforce";
    const NOW: i64 = 1_715_678_200_000;

    fn adapter(opts: &str) -> Salesforce {
        Salesforce::new(&table(opts), None).expect("valid options")
    }

    fn xml() -> http::HeaderMap {
        headers(&[
            ("content-type", "text/xml; charset=utf-8"),
            ("SOAPAction", "\"\""),
        ])
    }

    #[test]
    fn fixture_authenticates_and_parses() {
        for org in ["00D5g000004SGHn", "00D5g000004SGHnEAO"] {
            let a = adapter(&format!("organization_id = \"{org}\""));
            let h = xml();
            let req = request("POST", URL, &h, LEAD, NOW);
            a.verify(&req).unwrap();
            let events = a.parse(&req).unwrap();
            assert_eq!(events.len(), 1);
            converts(&events);
            let e = &events[0];
            assert_eq!(e.dedup_key, "salesforce:04l5g00000QW3XrAAL");
            assert_eq!(e.kind, EventKind::Updated);
            assert!(e.complete);
            assert!(e.changed.is_empty());
            assert_eq!(e.at, 1_715_678_153_000);
            assert_eq!(e.lead.id, "00Q5g00000Lk7ZqEAJ");
            assert_eq!(e.lead.email.as_deref(), Some("ada@example.com"));
            assert_eq!(e.lead.owner.as_deref(), Some("0055g000003VrTsAAK"));
            assert_eq!(
                e.lead.lifecycle_stage.as_deref(),
                Some("Open - Not Contacted")
            );
            assert_eq!(e.lead.fields["Company"], "Analytical Engines Ltd");
            assert_eq!(e.lead.fields["LeadSource"], "Web");
            assert_eq!(e.lead.fields["Phone"], "+44 20 7946 0018");
            assert_eq!(e.lead.fields.len(), 10);
        }
    }

    #[test]
    fn ack_matches_fixture_and_fault_is_soap() {
        let a = adapter("organization_id = \"00D5g000004SGHn\"");
        let r = a.accepted(&[]);
        assert_eq!(r.status, 200);
        assert_eq!(r.body, ACK_FIXTURE);
        assert!(r.content_type.starts_with("text/xml"));
        let r = a.failed(401, "OrganizationId `x` <is> not & ours");
        assert_eq!(r.status, 500);
        let text = String::from_utf8(r.body).unwrap();
        let doc = Document::parse(&text).unwrap();
        let fault = doc
            .descendants()
            .find(|n| n.has_tag_name((SOAP11, "Fault")))
            .expect("a soapenv:Fault");
        assert_eq!(
            text_of(element(fault, "faultcode").unwrap()),
            "soapenv:Client"
        );
        assert_eq!(
            text_of(element(fault, "faultstring").unwrap()),
            "OrganizationId `x` <is> not & ours"
        );
        assert!(a.failed(503, "store down").body.starts_with(b"<?xml"));
        assert!(
            String::from_utf8(a.failed(503, "x\u{1}").body)
                .unwrap()
                .contains("soapenv:Server")
        );
    }

    #[test]
    fn nesting_past_the_depth_bound_is_refused_before_parsing() {
        let a = adapter("organization_id = \"00D5g000004SGHn\"");
        let h = xml();
        let deep = format!(
            "<?xml version=\"1.0\"?>{}{}",
            "<a x='>'>".repeat(3_500),
            "</a>".repeat(3_500)
        );
        bad_request(
            a.verify(&request("POST", URL, &h, deep.as_bytes(), NOW)),
            "nested more than 32 deep",
        );
        // Comments, CDATA and self-closing elements do not nest.
        let flat = format!(
            "<r>{}<![CDATA[{}]]><!-- {} -->{}</r>",
            "<e/>".repeat(100),
            "<a>".repeat(100),
            "<a>".repeat(100),
            "<b x=\"/>\"></b>".repeat(100)
        );
        check_depth(&flat).unwrap();
        check_depth(std::str::from_utf8(LEAD).unwrap()).unwrap();
    }

    #[test]
    fn another_orgs_message_is_refused_before_its_xml_is_parsed() {
        let a = adapter("organization_id = \"00D5g000004SGHn\"");
        let h = xml();
        let body = "<x><OrganizationId>00D000000000001</OrganizationId>".to_string()
            + &"<a>".repeat(100_000);
        is_unauthorized(
            a.verify(&request("POST", URL, &h, body.as_bytes(), NOW)),
            "OrganizationId `00D000000000001` is not this source's",
        );
    }

    #[test]
    fn wrong_org_is_unauthorized() {
        let a = adapter("organization_id = \"00D000000000001\"");
        let h = xml();
        is_unauthorized(
            a.verify(&request("POST", URL, &h, LEAD, NOW)),
            "OrganizationId `00D5g000004SGHnEAO`",
        );
        // Case matters in 15-character ids.
        let a = adapter("organization_id = \"00D5G000004SGHn\"");
        is_unauthorized(
            a.verify(&request("POST", URL, &h, LEAD, NOW)),
            "not this source's",
        );
        let body = String::from_utf8(LEAD.to_vec())
            .unwrap()
            .replace("<OrganizationId>00D5g000004SGHnEAO</OrganizationId>", "");
        let a = adapter("organization_id = \"00D5g000004SGHn\"");
        is_unauthorized(
            a.verify(&request("POST", URL, &h, body.as_bytes(), NOW)),
            "no OrganizationId",
        );
    }

    #[test]
    fn token_param() {
        let a = Salesforce::new(
            &table("organization_id = \"00D5g000004SGHn\"\ntoken_param = \"token\""),
            Some("s3cr3t&x".into()),
        )
        .unwrap();
        let h = xml();
        a.verify(&request(
            "POST",
            &format!("{URL}?a=1&token=s3cr3t%26x"),
            &h,
            LEAD,
            NOW,
        ))
        .unwrap();
        is_unauthorized(
            a.verify(&request(
                "POST",
                &format!("{URL}?token=nope"),
                &h,
                LEAD,
                NOW,
            )),
            "wrong",
        );
        is_unauthorized(a.verify(&request("POST", URL, &h, LEAD, NOW)), "no `token`");
        let err = Salesforce::new(
            &table("organization_id = \"00D5g000004SGHn\""),
            Some("s".into()),
        )
        .err()
        .unwrap();
        assert!(err.contains("token_param"), "{err}");
    }

    #[test]
    fn options_are_checked() {
        let err = Salesforce::new(&table(""), None).err().unwrap();
        assert!(err.contains("organization_id"), "{err}");
        let err = Salesforce::new(&table("organization_id = \"00D5g000004SGHnAAA\""), None)
            .err()
            .unwrap();
        assert!(err.contains("checksum is `EAO`"), "{err}");
        let err = Salesforce::new(&table("organization_id = \"0055g000003VrTs\""), None)
            .err()
            .unwrap();
        assert!(err.contains("00D"), "{err}");
        let err = Salesforce::new(&table("organization_id = \"00D5g\""), None)
            .err()
            .unwrap();
        assert!(err.contains("15- or 18-character"), "{err}");
        let err = Salesforce::new(
            &table("organization_id = \"00D5g000004SGHn\"\norg = 1"),
            None,
        )
        .err()
        .unwrap();
        assert!(err.contains("unknown field"), "{err}");
    }

    #[test]
    fn batches_created_nil_and_bad_bodies() {
        let a = adapter("organization_id = \"00D5g000004SGHn\"");
        let h = xml();
        let wrap = |notes: &str| {
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>00D5g000004SGHnEAO</OrganizationId>{notes}</notifications></soapenv:Body></soapenv:Envelope>"#
            )
        };
        let note = |id: &str, inner: &str| {
            format!(
                r#"<Notification><Id>{id}</Id><sObject xsi:type="sf:Lead" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">{inner}</sObject></Notification>"#
            )
        };
        let body = wrap(&format!(
            "{}{}",
            note(
                "N1",
                "<sf:Id>00Q1</sf:Id><sf:CreatedDate>2024-05-14T09:00:00.000Z</sf:CreatedDate><sf:LastModifiedDate>2024-05-14T09:00:00.000Z</sf:LastModifiedDate><sf:Email xsi:nil=\"true\"/><sf:Website>https://www.acme.com</sf:Website><sf:Title>R&amp;D</sf:Title>"
            ),
            note("N2", "<sf:Id>00Q2</sf:Id>")
        ));
        let req = request("POST", URL, &h, body.as_bytes(), NOW);
        a.verify(&req).unwrap();
        let events = a.parse(&req).unwrap();
        assert_eq!(events.len(), 2);
        converts(&events);
        assert_eq!(events[0].kind, EventKind::Created);
        assert_eq!(events[0].lead.fields["Email"], Json::Null);
        assert_eq!(events[0].lead.email, None);
        assert_eq!(events[0].lead.fields["Title"], "R&D");
        assert_eq!(events[0].lead.company_domain.as_deref(), Some("acme.com"));
        assert_eq!(events[1].at, NOW);
        assert_eq!(events[1].dedup_key, "salesforce:N2");

        let parse = |b: &str| a.parse(&request("POST", URL, &h, b.as_bytes(), NOW));
        bad_request(parse(""), "body: empty");
        bad_request(parse("<a"), "not well-formed XML");
        bad_request(parse("<x/>"), "expected a SOAP Envelope");
        bad_request(
            parse(r#"<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>"#),
            "not well-formed XML",
        );
        bad_request(
            parse(r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"/>"#),
            "no Body",
        );
        bad_request(
            parse(
                r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><notifications/></e:Body></e:Envelope>"#,
            ),
            "no notifications element",
        );
        bad_request(parse(&wrap("")), "no Notification");
        bad_request(
            parse(&wrap("<Notification><sObject/></Notification>")),
            "Notification[0]/Id: missing",
        );
        bad_request(
            parse(&wrap("<Notification><Id>N</Id></Notification>")),
            "Notification[0]/sObject: missing",
        );
        bad_request(
            parse(&wrap(&format!(
                "{}{}",
                note("A", "<sf:Id>1</sf:Id>"),
                note("B", "<sf:Name>x</sf:Name>")
            ))),
            "Notification[1]/sObject/sf:Id: missing",
        );
        bad_request(
            parse(&wrap(&note(
                "A",
                "<sf:Id>1</sf:Id><sf:LastModifiedDate>yesterday</sf:LastModifiedDate>",
            ))),
            "sf:LastModifiedDate: `yesterday`",
        );
        let bytes = [b"<x>".as_slice(), &[0xff, 0xfe], b"</x>"].concat();
        bad_request(a.parse(&request("POST", URL, &h, &bytes, NOW)), "not UTF-8");
        // Content types.
        let h = headers(&[("content-type", "application/json")]);
        assert!(matches!(
            a.verify(&request("POST", URL, &h, LEAD, NOW)),
            Err(AdapterError::UnsupportedMediaType(_))
        ));
        let h = headers(&[("content-type", "application/soap+xml; charset=utf-8")]);
        a.verify(&request("POST", URL, &h, LEAD, NOW)).unwrap();
    }
}
