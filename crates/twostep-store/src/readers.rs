//! SQLite: the session check's own connections, read on the request's thread.
//!
//! Every authenticated request looks its session up by token hash. Through sqlx, each
//! query is a message to the connection's worker thread and its rows a message back: two
//! thread wake-ups that cost the one-row read several times over. These connections
//! (rusqlite, over the same bundled SQLite) answer that one query where it is asked.
//!
//! The rows read are shared while the database is unchanged. Whether it changed is read
//! where SQLite itself reads it: the WAL-index header at the start of the `-shm` file
//! (<https://sqlite.org/walformat.html>, §2.2), which every commit of every connection,
//! in this process or another, rewrites before the commit returns, and which no two
//! states of the database share (the commit counter, the last frame and its checksum, the
//! WAL's salts). [`WalIndex`] reads it as SQLite's `walIndexTryHdr` does — both copies,
//! with a barrier between, equal, initialised and with a right checksum — through
//! SQLite's own mapping of the file, with no lock and no system call. The shared rows
//! belong to the header they were read under: a lookup that reads the same header serves
//! them; one that reads another header reads the database (and the rows start over under
//! the new header). A header read mid-write is not trusted: that lookup reads the
//! database and keeps nothing.
//!
//! Nothing can be served stale. A row kept under header H was read in a transaction that
//! began after H was read, so it is at least as new as H; a lookup serves it only after
//! reading H itself, so no commit finished between that read and H. A revoked, ended or
//! expired session fails on the very next request (expiry is compared with the clock by
//! the caller). One shared copy rather than one per connection halves the memory the rows
//! take, and a row read once serves every connection.
//!
//! A lookup that serves a kept row takes no SQLite lock. Before, each lookup opened a read
//! transaction to ask `PRAGMA data_version`: two `fcntl` calls on the `-shm` file under a
//! mutex all connections share, for which the runtime's threads queued (bench/RESULTS.md).
//!
//! In WAL mode a read never waits for the writer, so a lookup that reads the database
//! holds the thread only for the lookup itself (microseconds on pages in memory; the busy
//! timeout bounds the rare wait while a WAL file is reset).

use rusqlite::{Connection, OpenFlags, OptionalExtension, ffi};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering, fence};
use std::sync::{Mutex, RwLock};
use std::time::Duration;
use twostep_core::store::{StoreError, StoreResult};

/// Rows kept at most (a few hundred bytes each); a full cache starts over.
const MAX_KEPT: usize = 16_384;

pub(crate) struct Readers<T> {
    /// Declared before the connections: dropped first, since it points into the mapping
    /// that the first of them holds. SQLite unmaps it only when the last connection of the
    /// process to the file closes, or when that connection leaves WAL mode: these
    /// connections are never replaced and never change `journal_mode`.
    wal_index: Option<WalIndex>,
    readers: Vec<Mutex<Connection>>,
    kept: RwLock<Kept<T>>,
    next: AtomicUsize,
}

/// The rows read under one WAL-index header.
struct Kept<T> {
    header: Header,
    rows: HashMap<Box<[u8]>, T>,
}

impl<T> std::fmt::Debug for Readers<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers")
            .field("connections", &self.readers.len())
            .field("watching", &self.wal_index.is_some())
            .finish()
    }
}

impl<T: Clone> Readers<T> {
    /// `count` connections to the database file at `path`, which must exist in WAL mode
    /// (the pool opened it first).
    pub(crate) fn open(path: &Path, count: usize, busy_timeout: Duration) -> StoreResult<Self> {
        let mut readers = Vec::with_capacity(count);
        for _ in 0..count.max(1) {
            // NO_MUTEX: each connection is behind its own Mutex.
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn = Connection::open_with_flags(path, flags).map_err(other)?;
            conn.busy_timeout(busy_timeout).map_err(other)?;
            // These connections only ever read.
            conn.pragma_update(None, "query_only", true).map_err(other)?;
            readers.push(conn);
        }
        // SAFETY: the mapping stays while the first connection is open, and `wal_index`
        // is dropped before it (field order).
        let wal_index = match readers.first() {
            Some(first) => unsafe { WalIndex::of(first) },
            None => None,
        };
        let kept = RwLock::new(Kept { header: Header::default(), rows: HashMap::new() });
        let readers = readers.into_iter().map(Mutex::new).collect();
        Ok(Self { wal_index, readers, kept, next: AtomicUsize::new(0) })
    }

    /// The one row `sql` (with `?1`) selects for `key`, if any: as kept, if the database
    /// has not changed since it was read (see the module's notes).
    pub(crate) fn row(
        &self,
        sql: &str,
        key: &[u8],
        map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> StoreResult<Option<T>> {
        let Some(header) = self.wal_index.as_ref().and_then(WalIndex::header) else {
            return self.read(sql, key, map);
        };
        {
            let kept = self.kept.read().unwrap_or_else(|e| e.into_inner());
            if kept.header == header
                && let Some(row) = kept.rows.get(key)
            {
                return Ok(Some(row.clone()));
            }
        }
        let row = self.read(sql, key, map)?;
        if let Some(row) = &row {
            self.keep(header, key, row);
        }
        Ok(row)
    }

    /// Reads the row from the database, on the first free connection.
    ///
    /// There are as many connections as the runtime has threads and none is held across
    /// an await, so one is almost always free; otherwise the next in turn is waited for
    /// (the length of one lookup).
    fn read(
        &self,
        sql: &str,
        key: &[u8],
        map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> StoreResult<Option<T>> {
        let n = self.readers.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let conn = match (0..n).find_map(|i| self.readers.get((start + i) % n)?.try_lock().ok()) {
            Some(conn) => conn,
            None => self
                .readers
                .get(start % n)
                .ok_or_else(|| StoreError::Other("no reader connections".into()))?
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        };
        conn.prepare_cached(sql).and_then(|mut s| s.query_row([key], map).optional()).map_err(map_err)
    }

    /// Keeps `row`, read in a transaction that began after `header` was read. The rows
    /// kept under another header are dropped: the database changed since they were read
    /// (or, for a moment, this lookup read the header before a commit another one saw).
    fn keep(&self, header: Header, key: &[u8], row: &T) {
        let mut kept = self.kept.write().unwrap_or_else(|e| e.into_inner());
        if kept.header != header || kept.rows.len() >= MAX_KEPT {
            kept.rows.clear();
            kept.header = header;
        }
        kept.rows.insert(key.into(), row.clone());
    }
}

/// A WAL-index header (`WalIndexHdr`, 48 bytes) as read; all zeros matches no header
/// read, since a header is only trusted once initialised.
type Header = [u32; 12];

/// The WAL-index header as SQLite's own mapping of the `-shm` file holds it.
struct WalIndex {
    /// The start of the wal-index's first 32 KiB region, as SQLite mapped it.
    at: *const u32,
}

// SAFETY: the pointer is only read (atomic loads of shared memory that other threads and
// processes write, as SQLite reads it), never written or freed through.
unsafe impl Send for WalIndex {}
unsafe impl Sync for WalIndex {}

/// SQLite's wal-index regions are 32 KiB (`WALINDEX_PGSZ`).
const WALINDEX_REGION: i32 = 32 * 1024;

impl WalIndex {
    /// The wal-index of `conn`'s database, if it is in WAL mode with its shared memory
    /// in a `-shm` file (otherwise every lookup reads the database).
    ///
    /// # Safety
    /// The returned value points into the mapping that `conn` holds: it must not outlive
    /// `conn`.
    unsafe fn of(conn: &Connection) -> Option<Self> {
        // A read transaction opens the WAL and maps the first region.
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).ok()?;
        if !mode.eq_ignore_ascii_case("wal") {
            return None;
        }
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0)).ok()?;
        let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
        // SAFETY: the handle is `conn`'s, used on this thread only while `conn` is
        // borrowed; SQLITE_FCNTL_FILE_POINTER writes the database file's sqlite3_file*.
        let rc = unsafe {
            ffi::sqlite3_file_control(
                conn.handle(),
                c"main".as_ptr(),
                ffi::SQLITE_FCNTL_FILE_POINTER,
                (&raw mut file).cast(),
            )
        };
        if rc != ffi::SQLITE_OK || file.is_null() {
            return None;
        }
        // SAFETY: `file` is the open database file of `conn`; its methods are the VFS's.
        let shm_map = unsafe { (*file).pMethods.as_ref()?.xShmMap? };
        let mut region: *mut std::ffi::c_void = std::ptr::null_mut();
        // SAFETY: asks for region 0 without extending the file (bExtend = 0), as SQLite's
        // readers do; the first read above mapped it, so this returns that mapping.
        let rc = unsafe { shm_map(file, 0, WALINDEX_REGION, 0, &mut region) };
        if rc != ffi::SQLITE_OK || region.is_null() {
            return None;
        }
        let wal_index = Self { at: region.cast_const().cast() };
        wal_index.header().map(|_| wal_index)
    }

    /// The header, if it reads consistently: as `walIndexTryHdr` in sqlite3.c reads it,
    /// the first copy, a barrier, the second (writers write them in the other order);
    /// equal, initialised, and with the checksum it carries. `None` when it is being
    /// written.
    fn header(&self) -> Option<Header> {
        let read = |copy: usize| -> Header {
            // SAFETY: the first region is 32 KiB, mapped readable and writable, and aligned;
            // the two copies are its first 96 bytes. Read as atomics: other threads and
            // processes write it (SQLite's own reader copies it as plain memory).
            std::array::from_fn(|i| {
                unsafe { AtomicU32::from_ptr(self.at.add(copy * 12 + i).cast_mut()) }.load(Ordering::Relaxed)
            })
        };
        let first = read(0);
        fence(Ordering::SeqCst);
        let second = read(1);
        // `isInit` is the byte after the first three words.
        let initialised = first[3].to_ne_bytes()[0] != 0;
        (first == second && initialised && checksum(&first[..10]) == [first[10], first[11]]).then_some(first)
    }
}

/// `walChecksumBytes` in native byte order, as the header's checksum is computed.
fn checksum(words: &[u32]) -> [u32; 2] {
    let (mut s1, mut s2) = (0u32, 0u32);
    for pair in words.chunks_exact(2) {
        s1 = s1.wrapping_add(pair[0]).wrapping_add(s2);
        s2 = s2.wrapping_add(pair[1]).wrapping_add(s1);
    }
    [s1, s2]
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

    fn state(r: &rusqlite::Row<'_>) -> rusqlite::Result<String> {
        r.get(0)
    }

    /// A WAL database with one row, `k` = 'live', and a connection that writes to it.
    fn database(dir: &tempfile::TempDir) -> (std::path::PathBuf, Connection) {
        let path = dir.path().join("r.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (k BLOB PRIMARY KEY, state TEXT); \
                 INSERT INTO t VALUES (X'6b', 'live');",
            )
            .unwrap();
        (path, writer)
    }

    #[test]
    fn every_commit_changes_the_header_and_a_kept_row_is_served_only_under_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = database(&dir);
        let readers: Readers<String> = Readers::open(&path, 2, Duration::from_secs(1)).unwrap();
        let wal_index = readers.wal_index.as_ref().expect("a WAL database is watched");
        let before = wal_index.header().unwrap();
        assert_eq!(readers.row(SQL, b"k", state).unwrap().as_deref(), Some("live"));
        assert_eq!(readers.kept.read().unwrap().rows.len(), 1, "kept under the header it was read under");
        // Served as kept while nothing commits: a row put there by hand shows it.
        readers.keep(before, b"k", &"kept".to_owned());
        assert_eq!(readers.row(SQL, b"k", state).unwrap().as_deref(), Some("kept"));
        for n in 0..3 {
            writer.execute("UPDATE t SET state = ?1", [format!("revoked {n}")]).unwrap();
            assert_ne!(wal_index.header().unwrap(), before);
            assert_eq!(readers.row(SQL, b"k", state).unwrap(), Some(format!("revoked {n}")));
        }
        // A checkpoint copies the WAL back without changing the data, and the WAL then
        // starts over: whatever the header reads next, the row is the last one written.
        writer.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
        writer.execute("UPDATE t SET state = 'after the checkpoint'", []).unwrap();
        assert_eq!(readers.row(SQL, b"k", state).unwrap().as_deref(), Some("after the checkpoint"));
    }

    #[test]
    fn a_row_read_before_a_commit_is_not_served_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = database(&dir);
        let readers: Readers<String> = Readers::open(&path, 2, Duration::from_secs(1)).unwrap();
        // A lookup reads the header and the row…
        let header = readers.wal_index.as_ref().unwrap().header().unwrap();
        let before = readers.read(SQL, b"k", state).unwrap().unwrap();
        // …the session is revoked…
        writer.execute("UPDATE t SET state = 'revoked'", []).unwrap();
        // …then the lookup keeps what it read: a lookup after the commit does not serve it.
        assert_eq!(before, "live");
        readers.keep(header, b"k", &before);
        assert_eq!(readers.row(SQL, b"k", state).unwrap().as_deref(), Some("revoked"));
        assert_eq!(readers.row(SQL, b"k", state).unwrap().as_deref(), Some("revoked"));
    }

    #[test]
    fn a_header_being_written_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _writer) = database(&dir);
        let readers: Readers<String> = Readers::open(&path, 1, Duration::from_secs(1)).unwrap();
        let wal_index = readers.wal_index.as_ref().unwrap();
        let header = wal_index.header().unwrap();
        assert_eq!(checksum(&header[..10]), [header[10], header[11]]);
        // The two copies as a writer leaves them halfway (the second written, the first
        // not yet), read from a copy of the region.
        let mut region = [0u32; 24];
        region[..12].copy_from_slice(&header);
        region[12..].copy_from_slice(&header);
        region[12 + 2] = region[12 + 2].wrapping_add(1);
        assert!(WalIndex { at: region.as_mut_ptr() }.header().is_none(), "the copies differ");
        region[2] = region[2].wrapping_add(1);
        assert!(WalIndex { at: region.as_mut_ptr() }.header().is_none(), "the checksum is wrong");
        let mut zeros = [0u32; 24];
        assert_eq!(WalIndex { at: zeros.as_mut_ptr() }.header(), None, "not initialised");
    }

    #[test]
    fn a_database_not_in_wal_mode_is_read_every_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch("CREATE TABLE t (k BLOB PRIMARY KEY, state TEXT); INSERT INTO t VALUES (X'6b', 'live');")
            .unwrap();
        let readers: Readers<String> = Readers::open(&path, 1, Duration::from_secs(1)).unwrap();
        assert!(readers.wal_index.is_none());
        assert_eq!(readers.row(SQL, b"k", state).unwrap().as_deref(), Some("live"));
        writer.execute("UPDATE t SET state = 'revoked'", []).unwrap();
        assert_eq!(readers.row(SQL, b"k", state).unwrap().as_deref(), Some("revoked"));
        assert!(readers.kept.read().unwrap().rows.is_empty());
    }
}
