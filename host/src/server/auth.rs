//! Bearer tokens for the API: `/v1/*` reads the audit trail of every lead and
//! `evaluate` writes into it, so neither is open to whoever reaches the port.
//!
//! Two scopes, each a token in an environment variable the config names:
//! read (`server.read_token_env`) and write (`server.write_token_env`; the
//! write token reads too). With no token set, `/v1/*` answers 401 saying which
//! variable to set, unless the config opts out with `api_auth = "none"`.

use crate::config::{ApiAuth, ServerConfig};
use axum::http::{HeaderMap, StatusCode, header};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Read,
    Write,
}

/// A refusal: the status and what to do.
pub struct Refused {
    pub status: StatusCode,
    pub message: String,
}

fn token(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|t| !t.trim().is_empty())
}

/// Constant time over the token's bytes (a length mismatch shows, its content does not).
pub fn same(given: &str, expected: &str) -> bool {
    crate::adapters::sig::ct_eq(given.as_bytes(), expected.as_bytes())
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Check the request's `Authorization: Bearer …` against the tokens for `scope`.
pub fn check(config: &ServerConfig, headers: &HeaderMap, scope: Scope) -> Result<(), Refused> {
    if config.api_auth == ApiAuth::None {
        return Ok(());
    }
    let read = token(&config.read_token_env);
    let write = token(&config.write_token_env);
    let accepted: Vec<&String> = match scope {
        Scope::Read => read.iter().chain(write.iter()).collect(),
        Scope::Write => write.iter().collect(),
    };
    let wanted = match scope {
        Scope::Read => format!("{} or {}", config.read_token_env, config.write_token_env),
        Scope::Write => config.write_token_env.clone(),
    };
    if accepted.is_empty() {
        return Err(Refused {
            status: StatusCode::UNAUTHORIZED,
            message: format!(
                "the API needs a bearer token and none is configured: set the environment \
                 variable {wanted} (or server.api_auth = \"none\" for loopback development)"
            ),
        });
    }
    let Some(given) = bearer(headers) else {
        return Err(Refused {
            status: StatusCode::UNAUTHORIZED,
            message: format!("send Authorization: Bearer <the token in {wanted}>"),
        });
    };
    // Compare with every accepted token, so the time does not say which matched.
    let ok = accepted
        .iter()
        .fold(false, |ok, t| ok | same(given, t.as_str()));
    if ok {
        return Ok(());
    }
    // The read token given where writing needs the write token.
    if scope == Scope::Write && read.as_deref().is_some_and(|r| same(given, r)) {
        return Err(Refused {
            status: StatusCode::FORBIDDEN,
            message: format!(
                "this token can only read: writing needs the token in {}",
                config.write_token_env
            ),
        });
    }
    Err(Refused {
        status: StatusCode::UNAUTHORIZED,
        message: format!("wrong bearer token (expected the token in {wanted})"),
    })
}
