//! `leadwire serve`: the HTTP face of the library. CRMs post webhooks to
//! `/hooks/{source}`; admins read decisions and reload the configuration.
//!
//! The configuration in force is one immutable [`Loaded`] behind an `Arc`: a
//! reload builds a new one and swaps it in, so requests in flight finish on the
//! one they started with, and a configuration that fails to load is refused
//! while the old one keeps serving.

mod api;
mod auth;
mod body;
mod feedback;
mod listen;
mod metrics;
mod webhook;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::Context;
use axum::Router;
use axum::routing::{get, post};

use crate::adapters::LeadEvent;
use crate::adapters::{self, Adapter};
use crate::alerts::Alerts;
use crate::config::Config;
use crate::crm::{Connections, Reader};
use crate::feedback::{LeadStatus, Rules};
use crate::outbox::WriteBack;
use crate::outbox::worker;
use crate::pipeline::Pipelines;
use crate::runtime::Runtime;
use crate::service::{Extra, Route, Service};
use crate::sla::policy::Policies;
use crate::store::{Store, TimerChange, TimerRow};

pub use metrics::Metrics;

/// A CRM endpoint, ready to serve.
pub struct Source {
    pub adapter: Box<dyn Adapter>,
    pub pipeline: String,
    /// Where its leads are kept (its name unless configured).
    pub namespace: String,
    /// What its decisions write back to the CRM, if anything.
    pub write: Option<WriteBack>,
    /// What it reads from the CRM before deciding, if anything.
    pub read: Option<Reader>,
    /// The CRM status meaning sales accepted or rejected a lead.
    pub status: Option<LeadStatus>,
}

impl Source {
    /// How its events are decided.
    pub fn route(&self) -> Route<'_> {
        Route {
            source: &self.namespace,
            pipeline: &self.pipeline,
            write: self.write.as_ref(),
            read: self.read.as_ref(),
            status: self.status.as_ref(),
        }
    }
}

/// One configuration, loaded: plugins, pipelines and sources.
pub struct Loaded {
    pub config: Config,
    pub pipelines: Pipelines,
    pub sources: BTreeMap<String, Source>,
    /// Sources served on their own path (`sources.NAME.path`): path → name.
    pub paths: BTreeMap<String, String>,
    /// The CRM APIs the outbox delivers to.
    pub connections: Arc<Connections>,
    /// The SLA policies, their calendars resolved.
    pub policies: Policies,
    /// The alert rules.
    pub alerts: Alerts,
    /// Reason codes and daily limits for rejections.
    pub feedback: Rules,
}

impl Loaded {
    /// The configured source whose leads are kept under `name` if any, else
    /// `name` itself: what the API's `{source}` means.
    pub fn namespace_of<'a>(&'a self, name: &'a str) -> &'a str {
        self.sources
            .get(name)
            .map_or(name, |s| s.namespace.as_str())
    }

    /// What decides events under this configuration.
    pub fn service<'a>(&'a self, store: &'a Arc<dyn Store>) -> Service<'a> {
        Service {
            store,
            pipelines: &self.pipelines,
            max_attempts: self.config.server.max_attempts,
            policies: &self.policies,
            alerts: &self.alerts,
        }
    }
}

/// Everything the handlers share.
pub struct App {
    current: RwLock<Arc<Loaded>>,
    pub store: Arc<dyn Store>,
    runtime: Arc<Runtime>,
    pub metrics: Metrics,
    config_path: PathBuf,
    /// `store.url` at startup: a reload may not move the data.
    store_url: String,
    /// Events decided at once: a few per core. More only adds threads
    /// switching on two cores (closed loop, 32 connections: 863 req/s against
    /// 1,234 with 8); the rest wait their turn in the async runtime.
    pub deciding: tokio::sync::Semaphore,
}

impl App {
    pub fn current(&self) -> Arc<Loaded> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Load the config file again and swap it in, or keep the old one and say why.
    pub fn reload(&self) -> anyhow::Result<()> {
        let config = Config::load(&self.config_path)?;
        if config.store.url != self.store_url {
            anyhow::bail!(
                "store.url changed from `{}` to `{}`: the store cannot move on reload; restart leadwire",
                self.store_url,
                config.store.url
            );
        }
        let loaded = load(config, self.runtime.clone(), self.store.clone())?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(loaded);
        tracing::info!(config = %self.config_path.display(), "configuration reloaded");
        Ok(())
    }

    /// The bearer token `POST /admin/reload` requires, if the config names one.
    fn admin_token(&self) -> Option<String> {
        let env = self.current().config.server.admin_token_env.clone()?;
        std::env::var(env).ok().filter(|t| !t.is_empty())
    }
}

/// Build a [`Loaded`] from a parsed config: plugins, pipelines, and each source's
/// adapter with its secret from the environment.
pub fn load(
    config: Config,
    runtime: Arc<Runtime>,
    store: Arc<dyn Store>,
) -> anyhow::Result<Loaded> {
    let pipelines = Pipelines::load(&config, runtime, store.clone())?;
    let connections = Arc::new(
        Connections::from_config(&config, Some(store.clone())).map_err(|e| anyhow::anyhow!(e))?,
    );
    let mut sources = BTreeMap::new();
    let mut paths = BTreeMap::new();
    for (name, source) in &config.sources {
        let adapter = adapters::for_source(name, source).map_err(|e| anyhow::anyhow!(e))?;
        if let Some(path) = source.path() {
            paths.insert(path.to_string(), name.clone());
        }
        let status = source
            .lead_status
            .as_ref()
            .map(|s| LeadStatus::new(s, &config));
        sources.insert(
            name.clone(),
            Source {
                adapter,
                pipeline: source.pipeline.get_ref().clone(),
                namespace: source.namespace_or(name).to_string(),
                write: source
                    .write
                    .as_ref()
                    .map(|w| WriteBack::new(&config, w, status.as_ref())),
                status,
                read: source
                    .read
                    .as_ref()
                    .and_then(|r| Reader::new(&connections, r)),
            },
        );
    }
    let policies = Policies::from_config(&config).map_err(|e| anyhow::anyhow!(e))?;
    let alerts = Alerts::from_config(&config).map_err(|e| anyhow::anyhow!(e))?;
    let feedback = Rules::from_config(&config).map_err(|e| anyhow::anyhow!(e))?;
    Ok(Loaded {
        config,
        pipelines,
        sources,
        paths,
        connections,
        policies,
        alerts,
        feedback,
    })
}

/// Start serving: open the store, load the config, listen, and run until
/// SIGTERM or Ctrl-C (finishing requests in flight). SIGHUP reloads.
pub async fn serve(config_path: &Path, listen: Option<&str>) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
    let store_url = config.store.url.clone();
    let store = tokio::task::spawn_blocking(move || crate::store::open(&store_url)).await??;
    let runtime = Arc::new(Runtime::new()?);
    // Connection bounds are taken at startup; a reload does not change them.
    let bounds = listen::Bounds::from_config(&config.server);
    let addr = listen
        .map(str::to_string)
        .unwrap_or_else(|| config.server.listen.clone());
    let store_url = config.store.url.clone();
    let loaded = load(config, runtime.clone(), store.clone())?;
    let app = Arc::new(App {
        current: RwLock::new(Arc::new(loaded)),
        store,
        runtime,
        metrics: Metrics::default(),
        config_path: config_path.to_path_buf(),
        deciding: tokio::sync::Semaphore::new(
            4 * std::thread::available_parallelism().map_or(2, |n| n.get()),
        ),
        store_url,
    });

    // Deliveries run beside the server, on the configuration now loaded; rows
    // left by a stopped or killed process are delivered from here too.
    let (for_worker, for_metrics, for_alerts) = (app.clone(), app.clone(), app.clone());
    worker::spawn(
        app.store.clone(),
        move || for_worker.current().connections.clone(),
        worker::Hooks {
            observe: Box::new(move |row, settled| for_metrics.metrics.delivered(row, settled)),
            dead: Box::new(move |row, error| for_alerts.current().alerts.dead_letter(row, error)),
        },
    )
    .context("cannot start the outbox worker")?;
    let for_sla = app.clone();
    crate::sla::worker::spawn(move || fire_due_timers(&for_sla))
        .context("cannot start the SLA worker")?;

    let router = router(app.clone());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local: SocketAddr = listener.local_addr()?;
    // Tests and scripts read this line to find the port.
    eprintln!("leadwire: listening on http://{local}");
    tokio::spawn(reload_on_sighup(app.clone()));
    let left = listen::serve(listener, router, bounds, shutdown_signal()).await;
    if left > 0 {
        eprintln!(
            "leadwire: stopped after {}s with {left} connection(s) still open (server.shutdown_timeout_seconds)",
            bounds.shutdown_timeout.as_secs()
        );
    } else {
        eprintln!("leadwire: stopped");
    }
    Ok(())
}

/// Fire the SLA checkpoints due now, with the configuration now loaded: a
/// reassignment decides the lead again through its source's pipeline.
fn fire_due_timers(app: &App) -> usize {
    let loaded = app.current();
    if loaded.policies.is_empty() && !loaded.alerts.watches_cold() {
        return 0;
    }
    let service = loaded.service(&app.store);
    let decide =
        |timer: &TimerRow, event: &LeadEvent, timers: Vec<TimerChange>, park: Option<&str>| {
            let Some(source) = loaded
                .sources
                .values()
                .find(|s| s.namespace == timer.source)
            else {
                return Err(format!(
                    "no source keeps leads under `{}` any more",
                    timer.source
                ));
            };
            let route = Route {
                read: None,
                ..source.route()
            };
            let now = chrono::Utc::now().timestamp_millis();
            let extra = Extra {
                timers,
                feedback: None,
            };
            let decided = match park {
                Some(queue) => service.park(route, event, queue, now, extra),
                None => service.decide_with(route, event, now, extra),
            };
            match decided {
                Ok(outcome) => {
                    app.metrics.outcome(&outcome);
                    Ok(outcome.into_decision())
                }
                Err(failure) => {
                    app.metrics.failure(&failure);
                    Err(failure.to_string())
                }
            }
        };
    crate::sla::worker::run_once(&*app.store, &loaded.policies, &loaded.alerts, &decide)
}

/// The routes. Bodies are read by the handlers themselves (see [`body`]), so no
/// extractor limit applies.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/hooks/{source}", post(webhook::hook))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(api::metrics))
        .route("/v1/leads/{source}/{id}/decisions", get(api::decisions))
        .route("/v1/leads/{source}/{id}/timeline", get(api::timeline))
        .route("/v1/leads/{source}/{id}/accept", post(feedback::accept))
        .route("/v1/leads/{source}/{id}/reject", post(feedback::reject))
        .route("/v1/decisions", get(api::decisions_by_status))
        .route("/v1/outbox", get(api::outbox))
        .route("/v1/pipelines/{name}/evaluate", post(api::evaluate))
        .route("/admin/reload", post(api::reload))
        .fallback(webhook::hook_at_path)
        .method_not_allowed_fallback(api::method_not_allowed)
        .with_state(app)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    eprintln!("leadwire: shutting down, finishing requests in flight");
}

async fn reload_on_sighup(app: Arc<App>) {
    #[cfg(unix)]
    {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hup.recv().await.is_some() {
            let app = app.clone();
            let result = tokio::task::spawn_blocking(move || app.reload()).await;
            match result {
                Ok(Ok(())) => eprintln!("leadwire: configuration reloaded (SIGHUP)"),
                Ok(Err(e)) => eprintln!(
                    "leadwire: reload refused, the old configuration keeps serving: {e:#}"
                ),
                Err(e) => eprintln!("leadwire: reload failed: {e}"),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = app;
}
