//! What the fake CRM APIs share: an axum router served on loopback on a
//! runtime of its own, and waiting for the writes they accepted.

use std::time::{Duration, Instant};

/// A fake's server, running until dropped.
pub struct Served {
    pub url: String,
    _runtime: tokio::runtime::Runtime,
}

/// Serve the router `app(url)` builds on `addr` (`127.0.0.1:0`: any port).
pub fn serve(addr: &str, app: impl FnOnce(&str) -> axum::Router) -> Served {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(addr))
        .unwrap_or_else(|e| panic!("fake CRM on {addr}: {e}"));
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = app(&url);
    runtime.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Served {
        url,
        _runtime: runtime,
    }
}

/// `writes()` once it holds `n` items, or what it holds after `seconds`.
pub fn wait_for<T>(n: usize, seconds: u64, writes: impl Fn() -> Vec<T>) -> Vec<T> {
    let until = Instant::now() + Duration::from_secs(seconds);
    loop {
        let now = writes();
        if now.len() >= n || Instant::now() > until {
            return now;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
