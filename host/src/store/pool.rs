//! A small blocking connection pool: connections are opened on demand up to a
//! maximum, reused, checked before reuse after sitting idle, and dropped when
//! they broke.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{StoreError, StoreResult};

/// How long a caller waits for a free connection before giving up.
const WAIT: Duration = Duration::from_secs(30);
/// A connection idle longer than this is checked before it is handed out.
const CHECK_AFTER: Duration = Duration::from_secs(30);

type Connect<C> = Box<dyn Fn() -> StoreResult<C> + Send + Sync>;
type Check<C> = Box<dyn Fn(&mut C) -> bool + Send + Sync>;

pub(crate) struct Pool<C> {
    at: String,
    max: usize,
    connect: Connect<C>,
    /// Whether a connection that sat idle still works.
    healthy: Check<C>,
    state: Mutex<State<C>>,
    freed: Condvar,
}

struct State<C> {
    idle: Vec<(C, Instant)>,
    /// Connections in existence: idle, handed out, or being opened.
    open: usize,
}

impl<C> Pool<C> {
    pub fn new(
        at: String,
        max: usize,
        connect: impl Fn() -> StoreResult<C> + Send + Sync + 'static,
        healthy: impl Fn(&mut C) -> bool + Send + Sync + 'static,
    ) -> Pool<C> {
        Pool {
            at,
            max: max.max(1),
            connect: Box::new(connect),
            healthy: Box::new(healthy),
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<C>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A connection, waiting up to 30 s for one to be free.
    pub fn get(&self) -> StoreResult<Pooled<'_, C>> {
        let deadline = Instant::now() + WAIT;
        let mut state = self.lock();
        loop {
            if let Some((mut conn, since)) = state.idle.pop() {
                if since.elapsed() < CHECK_AFTER {
                    return Ok(self.pooled(conn));
                }
                drop(state);
                if (self.healthy)(&mut conn) {
                    return Ok(self.pooled(conn));
                }
                drop(conn);
                state = self.lock();
                state.open -= 1;
                continue;
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match (self.connect)() {
                    Ok(conn) => Ok(self.pooled(conn)),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StoreError::Db {
                    at: self.at.clone(),
                    op: "get a connection".into(),
                    message: format!(
                        "all {} connections stayed busy for {} s",
                        self.max,
                        WAIT.as_secs()
                    ),
                });
            }
            state = self
                .freed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn pooled(&self, conn: C) -> Pooled<'_, C> {
        Pooled {
            pool: self,
            conn: Some(conn),
            broken: false,
        }
    }

    /// Every idle connection, taken out of the pool (to close them elsewhere).
    pub fn take_idle(&self) -> Vec<C> {
        let mut state = self.lock();
        let idle: Vec<C> = state.idle.drain(..).map(|(c, _)| c).collect();
        state.open -= idle.len();
        idle
    }
}

/// A connection on loan; back to the pool when dropped, unless marked broken.
pub(crate) struct Pooled<'a, C> {
    pool: &'a Pool<C>,
    conn: Option<C>,
    broken: bool,
}

impl<C> Pooled<'_, C> {
    /// Do not reuse this connection (it failed in a way that may have left it
    /// unusable).
    pub fn discard(&mut self) {
        self.broken = true;
    }
}

impl<C> Deref for Pooled<'_, C> {
    type Target = C;
    fn deref(&self) -> &C {
        self.conn
            .as_ref()
            .expect("a pooled connection is present until dropped")
    }
}

impl<C> DerefMut for Pooled<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        self.conn
            .as_mut()
            .expect("a pooled connection is present until dropped")
    }
}

impl<C> Drop for Pooled<'_, C> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        if self.broken {
            drop(conn);
            self.pool.lock().open -= 1;
        } else {
            self.pool.lock().idle.push((conn, Instant::now()));
        }
        self.pool.freed.notify_one();
    }
}
