//! PostgreSQL: the session check's own connections, and how broken connections are found.
//!
//! Every authenticated request looks its session up by token hash: one prepared statement,
//! one row. Through the pool, that lookup also paid a `Sync` round trip when the connection
//! was taken (sqlx's `test_before_acquire`) and another when it was given back (sqlx
//! always pings a connection it takes back). These connections, held by the store and
//! used one request at a time, answer the lookup in the one round trip of the statement.
//! Nothing is kept between requests: a revoked or ended session fails on the very next
//! request, on every replica.
//!
//! Broken connections are found on error rather than by pinging before each use: a
//! connection that failed at the connection level (I/O, protocol, the server going away)
//! is dropped, and for [`SUSPECT_FOR`] after any such error — and on a connection left
//! idle for more than [`IDLE_CHECK`] — connections are pinged before use, so those that
//! broke in the same outage are replaced before a request meets them. The pool's own
//! connections follow the same rule ([`before_acquire`]).

use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{ConnectOptions, Connection, FromRow, PgConnection};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use twostep_core::store::StoreResult;

/// How long after a connection-level error every connection is checked before use.
const SUSPECT_FOR: Duration = Duration::from_secs(30);
/// A connection idle longer than this is checked before use (the server may have
/// restarted meanwhile); under load none is.
const IDLE_CHECK: Duration = Duration::from_secs(1);

static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);
/// Milliseconds after `EPOCH` of the last connection-level error, plus one (0: none yet).
static LAST_BROKEN: AtomicU64 = AtomicU64::new(0);

/// Notes a connection-level error (from `map_err`).
pub(crate) fn note_error(e: &sqlx::Error) {
    if is_connection_error(e) {
        let ms = u64::try_from(EPOCH.elapsed().as_millis()).unwrap_or(u64::MAX);
        LAST_BROKEN.store(ms.saturating_add(1), Ordering::Relaxed);
    }
}

pub(crate) fn is_connection_error(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::PoolTimedOut => true,
        // 08xxx: connection exceptions; 57P01-57P03: the server shutting down or starting.
        sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

/// Whether a connection idle for `idle` should be pinged before use.
fn check_before_use(idle: Duration) -> bool {
    if idle > IDLE_CHECK {
        return true;
    }
    match LAST_BROKEN.load(Ordering::Relaxed) {
        0 => false,
        at => EPOCH.elapsed().saturating_sub(Duration::from_millis(at - 1)) < SUSPECT_FOR,
    }
}

/// The pool's `before_acquire`: a ping only when [`check_before_use`] says so.
pub(crate) fn before_acquire(
    conn: &mut PgConnection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> futures_util::future::BoxFuture<'_, Result<bool, sqlx::Error>> {
    Box::pin(async move {
        if check_before_use(meta.idle_for) {
            conn.ping().await?;
        }
        Ok(true)
    })
}

struct Held {
    conn: PgConnection,
    last_used: Instant,
}

pub(crate) struct PgLookup {
    options: PgConnectOptions,
    connect_timeout: Duration,
    /// The longest a lookup may take in all (connect, check, statement): past it, the
    /// connection is given up, as one whose network went silent.
    deadline: Duration,
    conns: Vec<Mutex<Option<Held>>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for PgLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLookup").field("connections", &self.conns.len()).finish()
    }
}

impl PgLookup {
    /// `count` connections, opened when first needed.
    pub(crate) fn new(options: PgConnectOptions, count: usize, connect_timeout: Duration, deadline: Duration) -> Self {
        Self {
            options,
            connect_timeout,
            deadline,
            conns: (0..count.max(1)).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// The one row `sql` (prepared, with `$1`) selects for `key`, if any.
    pub(crate) async fn row<T>(&self, sql: &'static str, key: &[u8]) -> StoreResult<Option<T>>
    where
        T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let n = self.conns.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let slot = match (0..n).find_map(|i| self.conns.get((start + i) % n)?.try_lock().ok()) {
            Some(slot) => slot,
            None => match self.conns.get(start % n) {
                Some(slot) => slot.lock().await,
                None => return Err(twostep_core::store::StoreError::Other("no lookup connections".into())),
            },
        };
        let mut slot = slot;
        let lookup = async {
            if slot.as_ref().is_some_and(|h| check_before_use(h.last_used.elapsed()))
                && let Some(mut held) = slot.take()
                && held.conn.ping().await.is_ok()
            {
                *slot = Some(held);
            }
            let held = match slot.take() {
                Some(held) => slot.insert(held),
                None => {
                    let conn = tokio::time::timeout(self.connect_timeout, self.options.connect())
                        .await
                        .map_err(|_| sqlx::Error::PoolTimedOut)??;
                    slot.insert(Held { conn, last_used: Instant::now() })
                }
            };
            let row = sqlx::query_as::<_, T>(sql).bind(key).fetch_optional(&mut held.conn).await;
            held.last_used = Instant::now();
            row
        };
        let result = tokio::time::timeout(self.deadline, lookup).await.unwrap_or(Err(sqlx::Error::PoolTimedOut));
        if let Err(e) = &result
            && is_connection_error(e)
        {
            *slot = None;
        }
        result.map_err(crate::map_err)
    }
}
