//! SQLite: the session check's own connections, read on the request's thread.
//!
//! Every authenticated request looks its session up by token hash. Through sqlx, each
//! query is a message to the connection's worker thread and its rows a message back: two
//! thread wake-ups that cost the one-row read several times over. These connections
//! (rusqlite, over the same bundled SQLite) answer that one query where it is asked.
//!
//! Each connection keeps the rows it read while the database is unchanged: SQLite's
//! `PRAGMA data_version` changes whenever any other connection, in this process or
//! another, commits, and these connections never write. So every lookup first asks the
//! database for its version, in a read transaction that sees every commit before it;
//! while the version is the one the rows were read at, the row it would read again is
//! the one kept, and any commit at all empties the cache. Nothing can be served stale:
//! a revoked, ended or expired session fails on the very next request (expiry is
//! compared with the clock by the caller).
//!
//! In WAL mode a read never waits for the writer, so a lookup holds the thread only for
//! the lookup itself (microseconds on pages in memory; the busy timeout bounds the rare
//! wait while a WAL file is reset).

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use twostep_core::store::{StoreError, StoreResult};

/// Rows kept per connection at most (a few hundred bytes each); a full cache starts over.
const MAX_KEPT: usize = 16_384;

pub(crate) struct Readers<T> {
    readers: Vec<Mutex<Reader<T>>>,
    next: AtomicUsize,
}

struct Reader<T> {
    conn: Connection,
    /// `PRAGMA data_version` when the rows in `kept` were read.
    version: i64,
    kept: HashMap<Vec<u8>, T>,
}

impl<T> std::fmt::Debug for Readers<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").field("connections", &self.readers.len()).finish()
    }
}

impl<T: Clone> Readers<T> {
    /// `count` connections to the database file at `path`, which must exist (the pool
    /// opened it first).
    pub(crate) fn open(path: &Path, count: usize, busy_timeout: Duration) -> StoreResult<Self> {
        let mut readers = Vec::with_capacity(count);
        for _ in 0..count.max(1) {
            // NO_MUTEX: each connection is behind its own Mutex.
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn = Connection::open_with_flags(path, flags).map_err(other)?;
            conn.busy_timeout(busy_timeout).map_err(other)?;
            // These connections only ever read (which also makes `data_version` see
            // every change as another connection's).
            conn.pragma_update(None, "query_only", true).map_err(other)?;
            readers.push(Mutex::new(Reader { conn, version: i64::MIN, kept: HashMap::new() }));
        }
        Ok(Self { readers, next: AtomicUsize::new(0) })
    }

    /// The one row `sql` (with `?1`) selects for `key`, if any: as kept, if the database
    /// has not changed since it was read (see the module's notes).
    ///
    /// There are as many connections as the runtime has threads and none is held across
    /// an await, so one is almost always free; otherwise the next in turn is waited for
    /// (the length of one lookup).
    pub(crate) fn row(
        &self,
        sql: &str,
        key: &[u8],
        map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> StoreResult<Option<T>> {
        let n = self.readers.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut reader = match (0..n).find_map(|i| self.readers.get((start + i) % n)?.try_lock().ok()) {
            Some(reader) => reader,
            None => self
                .readers
                .get(start % n)
                .ok_or_else(|| StoreError::Other("no reader connections".into()))?
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        };
        let reader = &mut *reader;
        let version: i64 = reader
            .conn
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(map_err)?;
        if version != reader.version {
            reader.kept.clear();
            reader.version = version;
        }
        if let Some(row) = reader.kept.get(key) {
            return Ok(Some(row.clone()));
        }
        let row =
            reader.conn.prepare_cached(sql).and_then(|mut s| s.query_row([key], map).optional()).map_err(map_err)?;
        if let Some(row) = &row {
            if reader.kept.len() >= MAX_KEPT {
                reader.kept.clear();
            }
            reader.kept.insert(key.to_vec(), row.clone());
        }
        Ok(row)
    }
}

fn other(e: rusqlite::Error) -> StoreError {
    StoreError::Other(e.to_string())
}

fn map_err(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}
