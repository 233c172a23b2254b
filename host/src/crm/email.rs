//! Email alerts over SMTP (lettre): STARTTLS by default, a login from the
//! environment. An alert's payload is `{"to": [...], "subject", "text"}`
//! (built by [`crate::alerts`]); the connection adds the sender.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use serde_json::Value as Json;

use super::Delivery;

/// How the SMTP session is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain connect, then STARTTLS, required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: a relay on this machine.
    None,
}

impl Security {
    pub fn parse(text: Option<&str>) -> Result<Security, String> {
        match text.unwrap_or("starttls") {
            "starttls" => Ok(Security::StartTls),
            "tls" => Ok(Security::Tls),
            "none" => Ok(Security::None),
            other => Err(format!("tls = \"{other}\": one of starttls, tls, none")),
        }
    }
}

/// What an email connection needs.
pub struct Settings<'a> {
    pub host: &'a str,
    pub port: Option<u16>,
    pub security: Security,
    pub login: Option<(String, String)>,
    pub from: &'a str,
    /// Extra trusted certificates (PEM).
    pub ca_pem: Option<Vec<u8>>,
    pub timeout: Duration,
}

pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
    /// `host:port`, for messages.
    server: String,
}

impl Mailer {
    pub fn new(s: Settings) -> Result<Mailer, String> {
        let from: Mailbox = s
            .from
            .parse()
            .map_err(|e| format!("from = \"{}\": not an address: {e}", s.from))?;
        let mut tls = TlsParameters::builder(s.host.to_string());
        if let Some(pem) = &s.ca_pem {
            let cert = Certificate::from_pem(pem).map_err(|e| format!("ca_file: {e}"))?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = tls
            .build()
            .map_err(|e| format!("TLS for {}: {e}", s.host))?;
        let (mode, port) = match s.security {
            Security::StartTls => (Tls::Required(tls), 587),
            Security::Tls => (Tls::Wrapper(tls), 465),
            Security::None => (Tls::None, 25),
        };
        let port = s.port.unwrap_or(port);
        let mut builder = SmtpTransport::builder_dangerous(s.host)
            .port(port)
            .tls(mode)
            .timeout(Some(s.timeout));
        if let Some((user, password)) = s.login {
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
            server: format!("{}:{port}", s.host),
        })
    }

    /// Send one alert: done, failed for a reason that may pass (the server is
    /// down, a 4xx), or refused for good (a 5xx, a bad address).
    pub fn send(&self, payload: &Json) -> Delivery {
        let message = match self.message(payload) {
            Ok(m) => m,
            Err(e) => return Delivery::Refused(e),
        };
        match self.transport.send(&message) {
            Ok(_) => Delivery::Done,
            Err(e) if e.is_permanent() => {
                Delivery::Refused(format!("SMTP {}: refused: {e}", self.server))
            }
            Err(e) => Delivery::Failed(format!("SMTP {}: {e}", self.server)),
        }
    }

    fn message(&self, payload: &Json) -> Result<Message, String> {
        let text = |key: &str| payload[key].as_str().unwrap_or_default();
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(text("subject"));
        let to: Vec<&str> = payload["to"]
            .as_array()
            .map(|a| a.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        if to.is_empty() {
            return Err(
                "the alert has no recipient: set the connection's `to`, or the \
                        owner's email in [directory.reps]"
                    .into(),
            );
        }
        for address in to {
            let mailbox: Mailbox = address
                .parse()
                .map_err(|e| format!("recipient `{address}`: {e}"))?;
            builder = builder.to(mailbox);
        }
        builder
            .header(ContentType::TEXT_PLAIN)
            .body(text("text").to_string())
            .map_err(|e| format!("the message: {e}"))
    }
}
