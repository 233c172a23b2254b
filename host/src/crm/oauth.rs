//! OAuth 2.0 refresh-token grants (HubSpot, Pipedrive): an access token kept
//! in memory and renewed before it expires (at 80% of `expires_in`, as
//! HubSpot asks: a 401 is not a reliable signal), or at once after a 401.
//! One lock: however many workers and requests need a token at the same
//! moment, one refresh is made and all of them use its token.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

/// How the client proves itself to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form (HubSpot).
    Form,
    /// HTTP Basic `client_id:client_secret` (Pipedrive).
    Basic,
}

pub struct RefreshGrant {
    token_url: String,
    client_id: String,
    client_secret: String,
    auth: ClientAuth,
    agent: ureq::Agent,
    state: Mutex<State>,
}

struct State {
    /// The refresh token: the configured one, or the newer one an answer
    /// gave (Pipedrive may rotate it).
    refresh_token: String,
    access: Option<Access>,
}

/// A usable access token.
#[derive(Debug, Clone)]
pub struct Access {
    pub token: String,
    /// Pipedrive's `api_domain`: the company's API origin.
    pub api_domain: Option<String>,
    renew_at: Instant,
}

impl RefreshGrant {
    pub fn new(
        token_url: String,
        client_id: String,
        client_secret: String,
        refresh_token: String,
        auth: ClientAuth,
        timeout: Duration,
    ) -> RefreshGrant {
        RefreshGrant {
            token_url,
            client_id,
            client_secret,
            auth,
            agent: super::agent(timeout),
            state: Mutex::new(State {
                refresh_token,
                access: None,
            }),
        }
    }

    /// A token to send: the one held if it is not due for renewal and is not
    /// `stale` (the one a 401 just refused), else a fresh one.
    pub fn access(&self, stale: Option<&str>) -> Result<Access, String> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(access) = &state.access {
            if Instant::now() < access.renew_at && Some(access.token.as_str()) != stale {
                return Ok(access.clone());
            }
        }
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", state.refresh_token.as_str()),
        ];
        let request = self.agent.post(&self.token_url);
        let sent = match self.auth {
            ClientAuth::Form => {
                let mut with_client = form.to_vec();
                with_client.push(("client_id", self.client_id.as_str()));
                with_client.push(("client_secret", self.client_secret.as_str()));
                request.send_form(with_client)
            }
            ClientAuth::Basic => {
                use base64::Engine as _;
                let basic = base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{}", self.client_id, self.client_secret));
                request
                    .header("Authorization", &format!("Basic {basic}"))
                    .send_form(form)
            }
        };
        let url = &self.token_url;
        let mut response = sent.map_err(|e| format!("POST {url}: {e}"))?;
        let status = response.status().as_u16();
        let body = super::answer_text(&mut response);
        if status != 200 {
            return Err(format!(
                "POST {url}: refreshing the access token was answered {status}: {}",
                body.trim()
            ));
        }
        let doc: Json = serde_json::from_str(&body)
            .map_err(|e| format!("POST {url}: the answer is not JSON: {e}"))?;
        let token = doc
            .get("access_token")
            .and_then(Json::as_str)
            .ok_or_else(|| format!("POST {url}: no access_token in the answer"))?;
        let expires_in = doc.get("expires_in").and_then(Json::as_u64).unwrap_or(1800);
        if let Some(rotated) = doc.get("refresh_token").and_then(Json::as_str) {
            state.refresh_token = rotated.to_string();
        }
        let access = Access {
            token: token.to_string(),
            api_domain: doc
                .get("api_domain")
                .and_then(Json::as_str)
                .map(|d| d.trim_end_matches('/').to_string()),
            renew_at: Instant::now() + Duration::from_secs(expires_in * 8 / 10),
        };
        state.access = Some(access.clone());
        Ok(access)
    }
}

/// What a client sends to be let in: a fixed token (a HubSpot private app's,
/// a Pipedrive API token) or one from a refresh-token grant.
pub enum Credential {
    Fixed(String),
    Refreshed(RefreshGrant),
}

impl Credential {
    /// The token to send now, and whether it came from a grant (then a 401
    /// is worth one more try with a fresh one).
    pub fn token(&self, stale: Option<&str>) -> Result<(String, Option<Access>), String> {
        match self {
            Credential::Fixed(t) => Ok((t.clone(), None)),
            Credential::Refreshed(grant) => {
                let access = grant.access(stale)?;
                Ok((access.token.clone(), Some(access)))
            }
        }
    }

    pub fn refreshes(&self) -> bool {
        matches!(self, Credential::Refreshed(_))
    }
}
