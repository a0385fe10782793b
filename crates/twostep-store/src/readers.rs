//! SQLite: the session check's own connections, read on the request's thread.
//!
//! Every authenticated request looks its session up by token hash. Through sqlx, each
//! query is a message to the connection's worker thread and its rows a message back: two
//! thread wake-ups that cost the one-row read several times over. These connections
//! (rusqlite, over the same bundled SQLite) answer that one query where it is asked.
//!
//! The connections share the rows they read while the database is unchanged: SQLite's
//! `PRAGMA data_version` changes whenever any other connection, in this process or
//! another, commits, and these connections never write. So every lookup first asks its
//! connection for the version, in a read transaction that sees every commit before it;
//! a connection that finds it changed empties the shared rows. Each connection sees each
//! commit once, so after any commit every connection empties them before it serves a
//! row again. A row read before a commit could still arrive after someone emptied them
//! for that commit: each emptying starts a new generation, and a row is only kept if no
//! emptying happened since the lookup that read it checked the version. Nothing can be
//! served stale: a revoked, ended or expired session fails on the very next request
//! (expiry is compared with the clock by the caller). One shared copy rather than one
//! per connection halves the memory the rows take, and a row read once serves every
//! connection.
//!
//! In WAL mode a read never waits for the writer, so a lookup holds the thread only for
//! the lookup itself (microseconds on pages in memory; the busy timeout bounds the rare
//! wait while a WAL file is reset).

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;
use twostep_core::store::{StoreError, StoreResult};

/// Rows kept at most (a few hundred bytes each); a full cache starts over.
const MAX_KEPT: usize = 16_384;

pub(crate) struct Readers<T> {
    readers: Vec<Mutex<Reader>>,
    kept: RwLock<Kept<T>>,
    next: AtomicUsize,
}

struct Reader {
    conn: Connection,
    /// `PRAGMA data_version` the last time this connection looked.
    version: i64,
}

/// The rows read since the last commit any connection saw.
struct Kept<T> {
    /// Bumped each time the rows are emptied.
    generation: u64,
    rows: HashMap<Box<[u8]>, T>,
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
            readers.push(Mutex::new(Reader { conn, version: i64::MIN }));
        }
        let kept = RwLock::new(Kept { generation: 0, rows: HashMap::new() });
        Ok(Self { readers, kept, next: AtomicUsize::new(0) })
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
        let generation = match self.check(reader, key)? {
            Ok(row) => return Ok(Some(row)),
            Err(generation) => generation,
        };
        let row =
            reader.conn.prepare_cached(sql).and_then(|mut s| s.query_row([key], map).optional()).map_err(map_err)?;
        if let Some(row) = &row {
            self.keep(generation, key, row);
        }
        Ok(row)
    }

    /// Asks `reader`'s connection for the database's version, emptying the shared rows if
    /// it changed since this connection last looked. The row kept for `key`, or the
    /// generation a row read from now on belongs to.
    fn check(&self, reader: &mut Reader, key: &[u8]) -> StoreResult<Result<T, u64>> {
        let version: i64 = reader
            .conn
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(map_err)?;
        if version != reader.version {
            reader.version = version;
            let mut kept = self.kept.write().unwrap_or_else(|e| e.into_inner());
            kept.rows.clear();
            kept.generation += 1;
            return Ok(Err(kept.generation));
        }
        let kept = self.kept.read().unwrap_or_else(|e| e.into_inner());
        Ok(kept.rows.get(key).cloned().ok_or(kept.generation))
    }

    /// Keeps `row`, read after a [`check`](Self::check) that gave `generation`, unless the
    /// rows were emptied since: it may be from before the commit that emptied them.
    fn keep(&self, generation: u64, key: &[u8], row: &T) {
        let mut kept = self.kept.write().unwrap_or_else(|e| e.into_inner());
        if kept.generation == generation {
            if kept.rows.len() >= MAX_KEPT {
                kept.rows.clear();
            }
            kept.rows.insert(key.into(), row.clone());
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    const SQL: &str = "SELECT state FROM t WHERE k = ?1";

    fn state(readers: &Readers<String>, reader: usize) -> String {
        let reader = readers.readers[reader].lock().unwrap();
        let row = |r: &rusqlite::Row<'_>| r.get::<_, String>(0);
        reader.conn.prepare_cached(SQL).unwrap().query_row([b"k".as_slice()], row).unwrap()
    }

    #[test]
    fn a_row_read_before_a_commit_is_not_kept_after_it_emptied_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (k BLOB PRIMARY KEY, state TEXT); \
                 INSERT INTO t VALUES (X'6b', 'live');",
            )
            .unwrap();
        let readers: Readers<String> = Readers::open(&path, 2, Duration::from_secs(1)).unwrap();
        // Connection 0 checks the version and reads the row…
        let generation = readers.check(&mut readers.readers[0].lock().unwrap(), b"k").unwrap().unwrap_err();
        let before = state(&readers, 0);
        // …the session is revoked, and connection 1 sees that first…
        writer.execute("UPDATE t SET state = 'revoked'", []).unwrap();
        assert!(readers.check(&mut readers.readers[1].lock().unwrap(), b"k").unwrap().is_err());
        // …then connection 0 would keep what it read before: it is not kept, so
        // connection 1, which has seen the commit already, does not serve it.
        assert_eq!(before, "live");
        readers.keep(generation, b"k", &before);
        assert!(readers.check(&mut readers.readers[1].lock().unwrap(), b"k").unwrap().is_err());
        let map = |r: &rusqlite::Row<'_>| r.get::<_, String>(0);
        assert_eq!(readers.row(SQL, b"k", map).unwrap().as_deref(), Some("revoked"));
        assert_eq!(readers.row(SQL, b"k", map).unwrap().as_deref(), Some("revoked"));
        // A row read after the last commit is kept and served to every connection.
        let generation = readers.kept.read().unwrap().generation;
        readers.keep(generation, b"k", &"kept".to_owned());
        for reader in 0..2 {
            let found = readers.check(&mut readers.readers[reader].lock().unwrap(), b"k").unwrap();
            assert_eq!(found.as_deref(), Ok("kept"), "connection {reader}");
        }
    }
}
