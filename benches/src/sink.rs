//! A local stand-in for HubSpot's CRM API that the webhook benchmark writes
//! decisions back to: `POST /crm/v3/objects/contacts/batch/update` (200 with
//! a result per input) and `PATCH /crm/v3/objects/contacts/{id}`, counting
//! what it received. It answers at once, so the figures measure leadwire's
//! cost of acting (the outbox rows, the worker's claims, settles and
//! requests), not a CRM's latency.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::routing::{patch, post};
use serde_json::{Value, json};

#[derive(Default)]
pub struct Counts {
    pub requests: AtomicU64,
    pub writes: AtomicU64,
}

pub struct Sink {
    pub url: String,
    pub counts: Arc<Counts>,
    _runtime: tokio::runtime::Runtime,
}

impl Sink {
    pub fn start() -> anyhow::Result<Sink> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let url = format!("http://{}", listener.local_addr()?);
        let counts = Arc::new(Counts::default());
        let (batch, single) = (counts.clone(), counts.clone());
        let app = axum::Router::new()
            .route(
                "/crm/v3/objects/contacts/batch/update",
                post(move |body: String| {
                    let counts = batch.clone();
                    async move {
                        let doc: Value = serde_json::from_str(&body).unwrap_or_default();
                        let inputs = doc["inputs"].as_array().cloned().unwrap_or_default();
                        counts.requests.fetch_add(1, Ordering::Relaxed);
                        counts
                            .writes
                            .fetch_add(inputs.len() as u64, Ordering::Relaxed);
                        let results: Vec<Value> = inputs
                            .iter()
                            .map(|i| json!({"id": i["id"], "properties": i["properties"]}))
                            .collect();
                        axum::Json(json!({"status": "COMPLETE", "results": results}))
                    }
                }),
            )
            .route(
                "/crm/v3/objects/contacts/{id}",
                patch(move |body: String| {
                    let counts = single.clone();
                    async move {
                        counts.requests.fetch_add(1, Ordering::Relaxed);
                        counts.writes.fetch_add(1, Ordering::Relaxed);
                        body
                    }
                }),
            );
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Sink {
            url,
            counts,
            _runtime: runtime,
        })
    }

    pub fn writes(&self) -> u64 {
        self.counts.writes.load(Ordering::Relaxed)
    }

    pub fn requests(&self) -> u64 {
        self.counts.requests.load(Ordering::Relaxed)
    }
}
