//! The accept loop: requests are untrusted, so every connection is bounded.
//!
//! - at most `max_connections` at once (a semaphore taken before `accept`, so
//!   the rest wait in the kernel's backlog instead of using descriptors);
//! - the request head must arrive within `header_timeout` (hyper's
//!   `header_read_timeout`, which also runs while a kept-alive connection
//!   waits for its next request);
//! - a connection that reads and writes nothing for `idle_timeout` is closed
//!   (a client that stops reading its answer, say);
//! - on shutdown, connections finish their request in flight and close; after
//!   `shutdown_timeout` the loop returns whatever is left.
//!
//! The body's own deadline is the handlers' (they read it themselves so that
//! the refusal is in the source's format).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// The connection bounds, from `[server]`.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub shutdown_timeout: Duration,
}

impl Bounds {
    pub fn from_config(c: &crate::config::ServerConfig) -> Bounds {
        let secs = |s: u64| Duration::from_secs(s.max(1));
        Bounds {
            max_connections: c.max_connections.max(1),
            header_timeout: secs(c.header_timeout_seconds),
            idle_timeout: secs(c.idle_timeout_seconds),
            shutdown_timeout: secs(c.shutdown_timeout_seconds),
        }
    }
}

/// Serve `router` on `listener` until `shutdown` resolves, then drain.
/// Returns the number of connections still open at the deadline (0 when
/// everything finished).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    bounds: Bounds,
    shutdown: impl std::future::Future<Output = ()>,
) -> usize {
    let slots = Arc::new(Semaphore::new(bounds.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let (stream, _peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors, say: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let last = Arc::new(AtomicU64::new(0));
            let started = Instant::now();
            let io = TokioIo::new(Watched {
                inner: stream,
                last: last.clone(),
                started,
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(bounds.header_timeout)
                .keep_alive(true);
            let conn = builder.serve_connection(io, TowerToHyperService::new(router));
            tokio::pin!(conn);
            let mut tick = tokio::time::interval(bounds.idle_timeout.min(Duration::from_secs(1)));
            let mut draining = false;
            loop {
                tokio::select! {
                    _ = conn.as_mut() => break,
                    _ = stop.changed(), if !draining => {
                        draining = true;
                        conn.as_mut().graceful_shutdown();
                    }
                    _ = tick.tick() => {
                        let idle = started.elapsed().saturating_sub(
                            Duration::from_millis(last.load(Ordering::Relaxed)));
                        if idle >= bounds.idle_timeout {
                            break; // dropping the connection closes it
                        }
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a permit: all of them back means all closed.
    let all = bounds.max_connections as u32;
    match tokio::time::timeout(bounds.shutdown_timeout, slots.acquire_many(all)).await {
        Ok(_) => 0,
        Err(_) => bounds.max_connections - slots.available_permits(),
    }
}

/// A stream that notes when it last moved a byte (ms after `started`).
struct Watched<S> {
    inner: S,
    last: Arc<AtomicU64>,
    started: Instant,
}

impl<S> Watched<S> {
    fn touch(&self) {
        self.last
            .store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
