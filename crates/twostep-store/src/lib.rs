//! The sqlx implementation of [`twostep_core::store::Store`] for SQLite (the embedded
//! default) and PostgreSQL (several replicas on one database).
//!
//! Both backends run the same SQL: queries are written with PostgreSQL's `$1` parameters,
//! which become SQLite's equivalent `?1` once per query text. Each backend has its own
//! migrations, since column types differ.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub(crate) fn pg_sql(s: &'static str) -> &'static str {
    s
}

/// Pins the error type of an async block to `sqlx::Error`.
pub(crate) fn typed<T, F: Future<Output = Result<T, sqlx::Error>>>(f: F) -> F {
    f
}

/// Runs `$body` against whichever pool this store has. Inside it, `$pool` is the pool and
/// `$sql("…")` turns a `$N`-parameter query into the backend's spelling.
///
/// On SQLite a successful operation returns only once what it committed is on disk
/// ([`wal_sync`]); `on!(read self, …)` marks an operation that never writes, which skips
/// that wait.
macro_rules! on {
    (read $self:expr, |$pool:ident, $sql:ident| $body:block) => {
        on!(@ $self, false, |$pool, $sql| $body)
    };
    ($self:expr, |$pool:ident, $sql:ident| $body:block) => {
        on!(@ $self, true, |$pool, $sql| $body)
    };
    (@ $self:expr, $writes:expr, |$pool:ident, $sql:ident| $body:block) => {
        match &$self.pool {
            $crate::Pool::Sqlite(pool) => {
                let $pool = &$crate::timed::Timed { pool, waits: &$self.waits };
                let $sql = crate::sqlite_sql;
                // One writer at a time in this process: see `SqlStore::writer`.
                let writing = if $writes { Some($self.writer.lock().await) } else { None };
                let result = $crate::typed(async { $body }).await.map_err($crate::map_err);
                drop(writing);
                match (&$self.wal_sync, result) {
                    (Some(wal), Ok(value)) if $writes => wal.after_write().await.map(|()| value),
                    (_, result) => result,
                }
            }
            $crate::Pool::Postgres(pool) => {
                let $pool = &$crate::timed::Timed { pool, waits: &$self.waits };
                let $sql = $crate::pg_sql;
                $crate::typed(async { $body }).await.map_err($crate::map_err)
            }
        }
    };
}

mod accounts;
mod audit;
mod audit_batch;
mod devices;
mod flows;
mod health;
mod limits;
mod methods;
mod oauth;
mod orgs;
mod pg_lookup;
mod purge;
mod readers;
mod rotation;
mod sessions;
mod sms;
#[cfg(feature = "testing")]
pub mod testing;
mod timed;
mod wal_sync;
mod writer;

pub use wal_sync::{PendingSync, deferring_sync};

use readers::Readers;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;
use twostep_core::store::{StoreError, StoreResult};

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before answering "unavailable".
    pub acquire_timeout: Duration,
    /// PostgreSQL `statement_timeout`; SQLite's busy timeout.
    pub statement_timeout: Duration,
    /// PostgreSQL: the CA certificates (PEM) the server's certificate must chain to. Set, it
    /// raises the URL's `sslmode` to `verify-full` unless the URL asks for `verify-ca`.
    pub ca_file: Option<PathBuf>,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
            ca_file: None,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A Twostep database: SQLite or PostgreSQL, chosen by the URL's scheme.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pub(crate) pool: Pool,
    /// SQLite on a file: connections for the session check alone (see [`readers`]).
    pub(crate) readers: Option<Arc<Readers<sessions::SessionRow>>>,
    /// How long queries waited for a pooled connection (`timed`).
    pub(crate) waits: Arc<timed::AcquireWaits>,
    /// SQLite on a file: the shared WAL sync every write waits for (group commit).
    pub(crate) wal_sync: Option<Arc<wal_sync::WalSync>>,
    /// PostgreSQL: connections for the session check alone (see [`pg_lookup`]).
    pub(crate) pg_lookup: Option<Arc<pg_lookup::PgLookup<sessions::SessionRow>>>,
    /// SQLite: held by every operation that may write, for as long as it runs. SQLite
    /// lets one connection write at a time; without this, the pool's connections would
    /// race for its write lock, and a loser either sleeps in SQLite's busy handler (1 to
    /// 100 ms at a time, whatever became free meanwhile) or, when its transaction had
    /// already read, fails at once (`SQLITE_BUSY_SNAPSHOT`). Queued here, writers take
    /// turns in arrival order with no sleep. Readers never take it (WAL lets them run
    /// beside the writer); other processes (`twostep` commands) still meet the busy
    /// timeout.
    pub(crate) writer: Arc<tokio::sync::Mutex<()>>,
    /// Audit events waiting to be written together (see [`audit_batch`]).
    pub(crate) audit: Arc<audit_batch::AuditQueue>,
    /// SQLite on a file: the thread that commits the second steps of many requests
    /// together (see [`writer`]).
    pub(crate) sqlite_writer: Option<Arc<writer::Writer>>,
}

impl SqlStore {
    /// Connects (creating a SQLite file if missing). Does not migrate.
    pub async fn connect(url: &str, options: &DbOptions) -> StoreResult<Self> {
        if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Other(format!("bad database_url: {e}")))?
                .create_if_missing(true)
                // WAL lets readers run beside the one writer. synchronous=NORMAL commits
                // without an fsync while holding the write lock; every write then waits
                // for a shared fdatasync of the WAL before it is answered (`wal_sync`):
                // each acknowledged commit is durable, also across power loss, and
                // concurrent writes share one fsync (README, "Durability").
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(options.statement_timeout)
                .foreign_keys(true)
                // SQLite keeps up to 2 MiB of pages per connection by default. The pool's
                // connections (writes, and the reads beside them) take turns on a database
                // the operating system caches anyway, so 512 KiB each bounds the process's
                // memory without a measurable cost; the session check's readers keep the
                // default (`readers`).
                .pragma("cache_size", "-512");
            let pool = SqlitePoolOptions::new()
                .max_connections(options.max_connections.max(1))
                .acquire_timeout(options.acquire_timeout)
                // An in-process connection cannot have hung up: pinging it before each
                // use would only add a round trip to its worker thread per query.
                .test_before_acquire(false)
                .connect_with(connect.clone())
                .await
                .map_err(map_err)?;
            // One reader per runtime thread (see `readers`); an in-memory database is
            // only reachable through the pool.
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let turn: Arc<tokio::sync::Mutex<()>> = Arc::default();
            let (readers, wal_sync, sqlite_writer) = if in_memory {
                // Nothing to make durable, and only the pool reaches the database.
                (None, None, None)
            } else {
                let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
                let count = cores.min(options.max_connections.max(1) as usize);
                let path = connect.get_filename();
                let readers = Readers::open(path, count, options.statement_timeout)?;
                let sqlite_writer = writer::Writer::open(path, options.statement_timeout, turn.clone())?;
                (Some(Arc::new(readers)), Some(Arc::new(wal_sync::WalSync::new(path))), Some(Arc::new(sqlite_writer)))
            };
            Ok(Self {
                pool: Pool::Sqlite(pool),
                readers,
                waits: Arc::default(),
                wal_sync,
                pg_lookup: None,
                writer: turn,
                audit: Arc::default(),
                sqlite_writer,
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let timeout_ms = options.statement_timeout.as_millis().to_string();
            let connect = PgConnectOptions::from_str(url)
                .map_err(|e| StoreError::Other(format!("bad database_url: {e}")))?
                .options([("statement_timeout", timeout_ms.as_str())]);
            let connect = with_ca_file(connect, options.ca_file.as_deref())?;
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections.max(1))
                .acquire_timeout(options.acquire_timeout)
                // No ping round trip before each use: broken connections are found on
                // error, and checked before use only after one (`pg_lookup`).
                .test_before_acquire(false)
                .before_acquire(pg_lookup::before_acquire)
                .connect_with(connect.clone())
                .await
                .map_err(map_err)?;
            let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
            let lookup = pg_lookup::PgLookup::new(
                // One plan for every number of keys: otherwise PostgreSQL plans the lookup
                // again on every execution (its plan for a known number of keys always looks
                // cheaper), half a millisecond each.
                connect.options([("plan_cache_mode", "force_generic_plan")]),
                sessions::SESSIONS_BY_HASHES,
                (2 * cores).min(options.max_connections.max(1) as usize),
                options.acquire_timeout,
                options.acquire_timeout + options.statement_timeout,
            );
            Ok(Self {
                pool: Pool::Postgres(pool),
                readers: None,
                waits: Arc::default(),
                wal_sync: None,
                pg_lookup: Some(Arc::new(lookup)),
                writer: Arc::default(),
                audit: Arc::default(),
                sqlite_writer: None,
            })
        } else {
            Err(StoreError::Other(format!(
                "database_url must start with sqlite:// or postgres://, got {:?}",
                url.split(':').next().unwrap_or_default()
            )))
        }
    }

    /// Creates or upgrades the schema. On PostgreSQL an advisory lock makes replicas
    /// that start together migrate once.
    ///
    /// Migrations are additive, so a binary one release older still works on the newer
    /// schema: migrations it does not know are tolerated rather than refused. That lets a
    /// rolling upgrade restart old replicas after `twostep migrate` ran, and lets an
    /// upgrade be rolled back (docs/deploy.md, "Upgrading without downtime").
    pub async fn migrate(&self) -> StoreResult<()> {
        let result = match &self.pool {
            Pool::Sqlite(pool) => {
                let mut migrator = sqlx::migrate!("./migrations/sqlite");
                migrator.set_ignore_missing(true);
                migrator.run(pool).await
            }
            Pool::Postgres(pool) => {
                let mut migrator = sqlx::migrate!("./migrations/postgres");
                migrator.set_ignore_missing(true);
                migrator.run(pool).await
            }
        };
        result.map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
        match &self.wal_sync {
            Some(wal) => wal.sync().await,
            None => Ok(()),
        }
    }

    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        if let Some(lookup) = &self.pg_lookup {
            lookup.close();
        }
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// Adds the CA file to PostgreSQL's options: the certificate is then always checked
/// (`verify-full`, or `verify-ca` when the URL says so); `sslmode=disable` with a CA file is a
/// contradiction, refused.
pub fn with_ca_file(connect: PgConnectOptions, ca_file: Option<&Path>) -> StoreResult<PgConnectOptions> {
    let Some(ca_file) = ca_file else { return Ok(connect) };
    let mode = match connect.get_ssl_mode() {
        PgSslMode::VerifyCa => PgSslMode::VerifyCa,
        PgSslMode::Disable => {
            return Err(StoreError::Other(
                "database.ca_file is set, but database_url says sslmode=disable: remove one of them".into(),
            ));
        }
        _ => PgSslMode::VerifyFull,
    };
    Ok(connect.ssl_root_cert(ca_file).ssl_mode(mode))
}

/// The SQLite spelling of a query written with `$N` parameters (`?N` has the same
/// meaning there), converted once per distinct query text.
pub(crate) fn sqlite_sql(pg: &'static str) -> &'static str {
    static CACHE: OnceLock<RwLock<HashMap<usize, &'static str>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = pg.as_ptr() as usize;
    if let Some(found) = cache.read().ok().and_then(|c| c.get(&key).copied()) {
        return found;
    }
    let converted: &'static str = Box::leak(pg.replace('$', "?").into_boxed_str());
    if let Ok(mut c) = cache.write() {
        c.insert(key, converted);
    }
    converted
}

pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    pg_lookup::note_error(&e);
    match &e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(db.message().to_owned()),
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            StoreError::Unavailable(e.to_string())
        }
        // A connection that broke or could not be opened (say, an answer cut short while
        // connecting): the database is out of reach, not the request at fault.
        _ if pg_lookup::is_connection_error(&e) => StoreError::Unavailable(e.to_string()),
        // PostgreSQL: statement_timeout (57014) and connection failures (08xxx).
        sqlx::Error::Database(db) if db.code().is_some_and(|c| c == "57014" || c.starts_with("08")) => {
            StoreError::Unavailable(e.to_string())
        }
        // PostgreSQL: text it cannot hold (22021: a NUL character or bad UTF-8; 22P05).
        sqlx::Error::Database(db) if db.code().is_some_and(|c| c == "22021" || c == "22P05") => {
            StoreError::Invalid(e.to_string())
        }
        // SQLite: still busy after the busy timeout.
        sqlx::Error::Database(db) if db.code().is_some_and(|c| c == "5" || c == "517") => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_become_numbered_sqlite_parameters() {
        assert_eq!(sqlite_sql("SELECT $1, $2 WHERE a = $1"), "SELECT ?1, ?2 WHERE a = ?1");
    }
}
