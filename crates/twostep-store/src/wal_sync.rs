//! SQLite group commit: every write is answered only once it is on disk, and concurrent
//! writes share the `fdatasync` that puts them there.
//!
//! The connections run in WAL mode with `synchronous=NORMAL`: a commit appends its pages
//! to the `-wal` file (into the OS page cache) and releases the write lock without
//! syncing, so the next writer does not wait for the disk. Before a store operation that
//! wrote returns, it calls [`WalSync::sync`]: one `fdatasync` of the WAL file that
//! *starts after* its commit has been written makes the commit durable (the WAL is
//! written in order, so the sync also covers every commit before it). Operations that
//! arrive while a sync is running wait for it and then share the next one: under load,
//! one `fdatasync` answers many requests.
//!
//! What the WAL loses when its contents move on is synced by SQLite itself: a
//! checkpoint at `synchronous=NORMAL` syncs the WAL before copying it into the database
//! file and the database file before the WAL is reused.
//!
//! A failed `fdatasync` leaves the page cache in an unknown state (the kernel may have
//! dropped the dirty pages), so from then on every write answers "unavailable": the
//! process must be restarted, and SQLite's recovery then reads what is really on disk.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use twostep_core::store::{StoreError, StoreResult};

tokio::task_local! {
    /// Inside [`deferring_sync`]: the sync the writes so far still need.
    static DEFERRED: Mutex<Option<Arc<WalSync>>>;
}

/// Runs `work` (the answering of one request) with the WAL syncs of its writes put off to
/// its end: the writes are still committed one by one, in order, but the one sync they
/// need is returned instead of awaited after each. The caller must [`PendingSync::wait`]
/// before it lets anyone see the outcome, as the server does before sending a response.
/// Writes made by tasks the work spawns are not inside it and sync as usual.
pub async fn deferring_sync<F: Future>(work: F) -> (F::Output, Option<PendingSync>) {
    let (output, deferred) = DEFERRED
        .scope(Mutex::new(None), async {
            let output = work.await;
            let deferred = DEFERRED.with(|d| d.lock().map(|mut d| d.take()).unwrap_or_else(|e| e.into_inner().take()));
            (output, deferred)
        })
        .await;
    (output, deferred.map(PendingSync))
}

/// The WAL sync that writes made in [`deferring_sync`] still need.
#[derive(Debug)]
pub struct PendingSync(Arc<WalSync>);

impl PendingSync {
    /// Returns once every write made in the work is on disk.
    pub async fn wait(self) -> StoreResult<()> {
        self.0.sync().await
    }
}

#[derive(Debug)]
pub(crate) struct WalSync {
    wal: PathBuf,
    /// Tickets handed out: one per write that wants to be durable.
    requested: AtomicU64,
    /// Every ticket up to this one is durable.
    completed: AtomicU64,
    /// Held by the one caller running a sync; the others queue behind it (FIFO).
    running: tokio::sync::Mutex<()>,
    /// The database's directory has been synced once (the WAL file's own entry in it).
    dir_synced: AtomicBool,
    failed: AtomicBool,
}

impl WalSync {
    /// For the database file at `db` (its WAL is `db` + `-wal`).
    pub(crate) fn new(db: &std::path::Path) -> Self {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        Self {
            wal: PathBuf::from(wal),
            requested: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            running: tokio::sync::Mutex::new(()),
            dir_synced: AtomicBool::new(false),
            failed: AtomicBool::new(false),
        }
    }

    /// After a write: returns once it is on disk, or at once inside [`deferring_sync`],
    /// which then waits for it.
    pub(crate) async fn after_write(self: &Arc<Self>) -> StoreResult<()> {
        let deferred = DEFERRED.try_with(|d| {
            let mut d = d.lock().unwrap_or_else(|e| e.into_inner());
            match &*d {
                None => {
                    *d = Some(self.clone());
                    true
                }
                Some(other) => Arc::ptr_eq(other, self),
            }
        });
        if deferred.unwrap_or(false) { Ok(()) } else { self.sync().await }
    }

    /// Returns once everything committed before the call is on disk.
    pub(crate) async fn sync(&self) -> StoreResult<()> {
        let ticket = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
        loop {
            self.check_failed()?;
            if self.completed.load(Ordering::SeqCst) >= ticket {
                return Ok(());
            }
            let _running = self.running.lock().await;
            self.check_failed()?;
            if self.completed.load(Ordering::SeqCst) >= ticket {
                return Ok(());
            }
            // Every ticket handed out so far belongs to a commit already written: the
            // sync that starts now covers them all.
            let upto = self.requested.load(Ordering::SeqCst);
            let wal = self.wal.clone();
            let sync_dir = !self.dir_synced.load(Ordering::Relaxed);
            let result = tokio::task::spawn_blocking(move || sync_file(&wal, sync_dir))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))
                .and_then(|r| r);
            match result {
                Ok(()) => {
                    self.dir_synced.store(true, Ordering::Relaxed);
                    self.completed.fetch_max(upto, Ordering::SeqCst);
                }
                Err(e) => {
                    self.failed.store(true, Ordering::SeqCst);
                    return Err(StoreError::Unavailable(format!("syncing the SQLite WAL failed: {e}")));
                }
            }
        }
    }

    fn check_failed(&self) -> StoreResult<()> {
        if self.failed.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable(
                "an earlier sync of the SQLite WAL failed: restart to recover from what is on disk".into(),
            ));
        }
        Ok(())
    }
}

fn sync_file(wal: &std::path::Path, sync_dir: bool) -> std::io::Result<()> {
    match std::fs::File::open(wal) {
        Ok(file) => file.sync_data()?,
        // No WAL: SQLite removed it after a complete (synced) checkpoint.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    }
    if sync_dir && let Some(dir) = wal.parent() {
        let dir = if dir.as_os_str().is_empty() { std::path::Path::new(".") } else { dir };
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn concurrent_writers_share_syncs_and_all_return() {
        let dir = std::env::temp_dir().join(format!("twostep-walsync-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("t.db");
        std::fs::write(dir.join("t.db-wal"), b"x").unwrap();
        let s = Arc::new(WalSync::new(&db));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move { s.sync().await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(s.completed.load(Ordering::SeqCst), 50);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
