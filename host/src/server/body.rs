//! Reading a request body ourselves, so that every refusal (too large, too
//! slow, cut off) is answered in the source's own format rather than by an
//! extractor's plain text.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use http_body_util::{BodyExt, Limited};

/// Why a body was not read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the body is over the limit of {limit} bytes{}", declared.map(|n| format!(" (Content-Length: {n})")).unwrap_or_default())]
    TooLarge { limit: usize, declared: Option<u64> },
    #[error("the body did not arrive within {0} seconds")]
    TooSlow(u64),
    #[error("the body could not be read: {0}")]
    Broken(String),
}

impl BodyError {
    pub fn status(&self) -> u16 {
        match self {
            BodyError::TooLarge { .. } => 413,
            BodyError::TooSlow(_) => 408,
            BodyError::Broken(_) => 400,
        }
    }
}

/// The whole body, at most `limit` bytes, within `deadline`. A declared
/// Content-Length over the limit is refused before anything is read.
pub async fn read(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    deadline: Duration,
) -> Result<Bytes, BodyError> {
    if let Some(declared) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        && declared > limit as u64
    {
        return Err(BodyError::TooLarge {
            limit,
            declared: Some(declared),
        });
    }
    let collect = Limited::new(body, limit).collect();
    match tokio::time::timeout(deadline, collect).await {
        Err(_) => Err(BodyError::TooSlow(deadline.as_secs())),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge {
            limit,
            declared: None,
        }),
        Ok(Err(e)) => Err(BodyError::Broken(e.to_string())),
    }
}
