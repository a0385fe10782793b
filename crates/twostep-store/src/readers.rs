//! SQLite: the session check's own connections, read on the request's thread.
//!
//! Every authenticated request looks its session up by token hash. Through sqlx, each
//! query is a message to the connection's worker thread and its rows a message back: two
//! thread wake-ups that cost the one-row read several times over. These connections
//! (rusqlite, over the same bundled SQLite) answer that one query where it is asked.
//!
//! Nothing is cached: each read is its own read transaction and sees every commit before
//! it, by this process or any other. In WAL mode a read never waits for the writer, so the
//! read holds the thread only for the lookup itself (a few microseconds on pages in
//! memory; the busy timeout bounds the rare wait while a WAL file is reset).

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use twostep_core::store::{StoreError, StoreResult};

/// Pages are read through a memory map, not copied in by a system call each: up to this
/// much of the file.
const MMAP_SIZE: i64 = 1 << 30;

pub(crate) struct Readers {
    conns: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").field("connections", &self.conns.len()).finish()
    }
}

impl Readers {
    /// `count` connections to the database file at `path`, which must exist (the pool
    /// opened it first).
    pub(crate) fn open(path: &Path, count: usize, busy_timeout: Duration) -> StoreResult<Self> {
        let mut conns = Vec::with_capacity(count);
        for _ in 0..count.max(1) {
            // NO_MUTEX: each connection is behind its own Mutex.
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn = Connection::open_with_flags(path, flags).map_err(other)?;
            conn.busy_timeout(busy_timeout).map_err(other)?;
            // These connections only ever read.
            conn.pragma_update(None, "query_only", true).map_err(other)?;
            conn.pragma_update(None, "mmap_size", MMAP_SIZE).map_err(other)?;
            conns.push(Mutex::new(conn));
        }
        Ok(Self { conns, next: AtomicUsize::new(0) })
    }

    /// Runs `read` on a free connection. There are as many as the runtime has threads
    /// and none is held across an await, so one is almost always free; otherwise the
    /// next in turn is waited for (the length of one lookup).
    fn with<T>(&self, read: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        let n = self.conns.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let conns = (0..n).filter_map(|i| self.conns.get((start + i) % n));
        let conn = match conns.clone().find_map(|c| c.try_lock().ok()) {
            Some(conn) => conn,
            None => {
                let first =
                    self.conns.get(start % n).ok_or_else(|| StoreError::Other("no reader connections".into()))?;
                first.lock().unwrap_or_else(|e| e.into_inner())
            }
        };
        read(&conn).map_err(map_err)
    }

    /// The one row `sql` (with `?1`) selects for `key`, if any.
    pub(crate) fn row<T>(
        &self,
        sql: &str,
        key: &[u8],
        map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> StoreResult<Option<T>> {
        self.with(|conn| conn.prepare_cached(sql)?.query_row([key], map).optional())
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
