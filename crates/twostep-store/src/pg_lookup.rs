//! PostgreSQL: the session check's own connections, and how broken connections are found.
//!
//! Every authenticated request looks its session up by token hash. Through the pool, that
//! lookup also paid a `Sync` round trip when the connection was taken (sqlx's
//! `test_before_acquire`) and another when it was given back (sqlx always pings a
//! connection it takes back). Instead, a few tasks of the store's own, each with its own
//! connection, take the lookups waiting at that moment and answer them all with one
//! prepared statement (`SESSIONS_BY_HASHES`, each key looked up on its own by index):
//! under load one round trip, one statement and one wake-up of the database serve many
//! requests; alone, a request still pays one round trip. Nothing is kept between requests:
//! every lookup is a statement that started after the request asked, so a revoked or ended
//! session fails on the very next request, on every replica.
//!
//! Broken connections are found on error rather than by pinging before each use: a
//! connection that failed at the connection level (I/O, protocol, the server going away)
//! is dropped, and for [`SUSPECT_FOR`] after any such error — and on a connection left
//! idle for more than [`IDLE_CHECK`] — connections are pinged before use, so those that
//! broke in the same outage are replaced before a request meets them. The pool's own
//! connections follow the same rule ([`before_acquire`]).

use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{ConnectOptions, Connection, FromRow, PgConnection, Row};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use twostep_core::store::{StoreError, StoreResult};

/// How long after a connection-level error every connection is checked before use.
const SUSPECT_FOR: Duration = Duration::from_secs(30);
/// A connection idle longer than this is checked before use (the server may have
/// restarted meanwhile); under load none is.
const IDLE_CHECK: Duration = Duration::from_secs(1);
/// The most lookups one statement answers.
const MOST_AT_ONCE: usize = 64;

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

/// A lookup connection, and when it was last used.
struct Held {
    conn: PgConnection,
    last_used: Instant,
}

/// A request's lookup, waiting for a lookup task.
struct Waiter<T> {
    key: Vec<u8>,
    reply: oneshot::Sender<StoreResult<Option<T>>>,
}

/// What every lookup task needs.
struct Conf {
    options: PgConnectOptions,
    /// The statement: rows of `$1`'s keys, each with its key as `lookup_key`.
    sql: &'static str,
    connect_timeout: Duration,
    /// The longest one statement may take in all (connect, check, statement): past it,
    /// the connection is given up, as one whose network went silent.
    deadline: Duration,
}

/// A row with the key that found it.
struct Keyed<T> {
    key: Vec<u8>,
    row: T,
}

impl<'r, T: FromRow<'r, PgRow>> FromRow<'r, PgRow> for Keyed<T> {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self { key: row.try_get("lookup_key")?, row: T::from_row(row)? })
    }
}

/// Where lookups wait, and the runtime whose tasks take them.
type Queue<T> = (tokio::runtime::Id, mpsc::UnboundedSender<Waiter<T>>);

pub(crate) struct PgLookup<T> {
    conf: Arc<Conf>,
    tasks: usize,
    /// `None` until the first lookup starts the tasks, and again should they have ended.
    /// A lookup from another runtime starts tasks on its own (the first one may no longer
    /// run, or be blocked); the others then end.
    queue: std::sync::Mutex<Option<Queue<T>>>,
    closed: AtomicBool,
}

impl<T> std::fmt::Debug for PgLookup<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLookup").field("tasks", &self.tasks).finish()
    }
}

impl<T> PgLookup<T>
where
    T: for<'r> FromRow<'r, PgRow> + Clone + Send + Unpin + 'static,
{
    /// `tasks` lookup tasks, each with a connection opened when first needed, answering
    /// `sql` (`$1` a `bytea[]` of keys; each row with its key as `lookup_key`).
    pub(crate) fn new(
        options: PgConnectOptions,
        sql: &'static str,
        tasks: usize,
        connect_timeout: Duration,
        deadline: Duration,
    ) -> Self {
        Self {
            conf: Arc::new(Conf { options, sql, connect_timeout, deadline }),
            tasks: tasks.max(1),
            queue: std::sync::Mutex::new(None),
            closed: AtomicBool::new(false),
        }
    }

    /// The one row of `key`, if any.
    pub(crate) async fn row(&self, key: &[u8]) -> StoreResult<Option<T>> {
        // A task answers within its deadline once it takes the lookup; a queue longer than
        // that is a database that does not answer.
        let until = tokio::time::Instant::now() + 2 * self.conf.deadline;
        loop {
            if self.closed.load(Ordering::Relaxed) {
                return Err(StoreError::Unavailable("the database connections are closed".into()));
            }
            let (reply, answer) = oneshot::channel();
            self.send(Waiter { key: key.to_vec(), reply });
            match tokio::time::timeout_at(until, answer).await {
                Ok(Ok(answer)) => return answer,
                // The tasks went away with the lookup (their runtime shut down): ask again,
                // on tasks of this runtime.
                Ok(Err(_)) => self.queue().take(),
                Err(_) => return Err(StoreError::Unavailable("the session lookup timed out".into())),
            };
        }
    }

    /// Refuses lookups from now on and ends the tasks once they have answered what waits;
    /// their connections close.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        self.queue().take();
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Option<Queue<T>>> {
        self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `waiter`, starting tasks on this runtime if none of its own runs.
    fn send(&self, waiter: Waiter<T>) {
        let runtime = tokio::runtime::Handle::current().id();
        let mut queue = self.queue();
        let waiter = match queue.as_ref() {
            Some((on, sender)) if *on == runtime => match sender.send(waiter) {
                Ok(()) => return,
                Err(mpsc::error::SendError(waiter)) => waiter,
            },
            _ => waiter,
        };
        let (sender, receiver) = mpsc::unbounded_channel();
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        for _ in 0..self.tasks {
            tokio::spawn(serve(self.conf.clone(), receiver.clone()));
        }
        // The tasks hold the receiver: this cannot fail.
        let _ = sender.send(waiter);
        *queue = Some((runtime, sender));
    }
}

/// A lookup task: takes the lookups waiting (at most [`MOST_AT_ONCE`]) and answers them
/// with one statement, until its queue's sender is dropped (the store dropped or closed,
/// or tasks started on another runtime).
async fn serve<T>(conf: Arc<Conf>, queue: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Waiter<T>>>>)
where
    T: for<'r> FromRow<'r, PgRow> + Clone + Send + Unpin + 'static,
{
    let mut slot: Option<Held> = None;
    let mut batch = Vec::with_capacity(MOST_AT_ONCE);
    loop {
        if queue.lock().await.recv_many(&mut batch, MOST_AT_ONCE).await == 0 {
            return;
        }
        // Lookups whose request went away (timed out, or its client left) are not run.
        batch.retain(|w: &Waiter<T>| !w.reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        let keys: Vec<&[u8]> = batch.iter().map(|w: &Waiter<T>| w.key.as_slice()).collect();
        let lookup = async {
            if slot.as_ref().is_some_and(|h| check_before_use(h.last_used.elapsed()))
                && let Some(mut held) = slot.take()
                && held.conn.ping().await.is_ok()
            {
                slot = Some(held);
            }
            let held = match slot.take() {
                Some(held) => slot.insert(held),
                None => {
                    let conn = tokio::time::timeout(conf.connect_timeout, conf.options.connect())
                        .await
                        .map_err(|_| sqlx::Error::PoolTimedOut)??;
                    slot.insert(Held { conn, last_used: Instant::now() })
                }
            };
            let rows = sqlx::query_as::<_, Keyed<T>>(conf.sql).bind(keys).fetch_all(&mut held.conn).await;
            held.last_used = Instant::now();
            rows
        };
        let rows = tokio::time::timeout(conf.deadline, lookup).await.unwrap_or(Err(sqlx::Error::PoolTimedOut));
        if let Err(e) = &rows
            && is_connection_error(e)
        {
            slot = None;
        }
        match rows.map_err(crate::map_err) {
            Ok(rows) => {
                for waiter in batch.drain(..) {
                    let row = rows.iter().find(|r| r.key == waiter.key).map(|r| r.row.clone());
                    let _ = waiter.reply.send(Ok(row));
                }
            }
            Err(e) => {
                for waiter in batch.drain(..) {
                    let _ = waiter.reply.send(Err(e.clone()));
                }
            }
        }
    }
}
