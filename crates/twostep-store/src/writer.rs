//! SQLite: one thread that runs the hot write transactions of many requests, committed
//! together.
//!
//! Through sqlx, every statement of a transaction is a message to the connection's worker
//! thread and an answer back: a second step's seven statements were fourteen thread
//! wake-ups, all made while holding the one write turn (`SqlStore::writer`), so that turn,
//! not the disk, set the pace. Here a job (one request's transaction, as a function of a
//! rusqlite connection) is sent to the writer thread once. The thread takes every job
//! waiting, runs each in a savepoint of one transaction, and commits them together; each
//! caller hears its outcome only after that commit, and is answered only after the WAL
//! sync that makes it durable (`wal_sync`, done by the caller as for any write).
//!
//! A job that fails, or asks to keep nothing, is rolled back to its savepoint alone: the
//! others in the batch are unaffected. Jobs run in the order they arrive, each seeing
//! what those before it wrote, exactly as if committed one by one. The thread takes the
//! same write turn as the pool's writers, so the two never race for SQLite's write lock.
//!
//! Checkpoints (copying the WAL into the database file, and syncing that file) happen
//! mostly on a thread of their own, every [`CHECKPOINT_EVERY`], beside the writer rather
//! than in its way. SQLite still checkpoints after a commit that leaves the WAL past 1000
//! pages, as by default; that checkpoint then only has what came since the last one to
//! copy and sync, and it is what lets the next transaction start the WAL over (which
//! needs every page of it copied), so the WAL stays bounded under a steady load.

use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::time::Duration;
use twostep_core::store::{StoreError, StoreResult};

/// The most jobs committed together.
const MAX_BATCH: usize = 256;
/// How often the checkpoint thread copies what the WAL holds into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);

/// What a job asks for its writes.
pub(crate) enum Keep {
    /// Commit them (with the batch).
    Writes,
    /// Roll them back (nothing of this job is written), and still answer.
    Nothing,
}

/// Hands a job's outcome to its caller once the batch's commit is known (`Ok` when
/// committed).
type Deliver = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// Runs one job on the connection (`None`: it cannot run, its caller hears why); whether
/// its writes are to be kept, and its delivery.
type Job = Box<dyn FnOnce(Option<&Connection>) -> (bool, Deliver) + Send>;

#[derive(Debug)]
pub(crate) struct Writer {
    jobs: std::sync::Mutex<Sender<Job>>,
    /// Dropped with the writer: the checkpoint thread then ends.
    _checkpoints: std::sync::Mutex<Sender<()>>,
}

impl Writer {
    /// A writer thread on the database file at `path` (opened by the pool first), taking
    /// `turn` around each batch.
    pub(crate) fn open(path: &Path, busy_timeout: Duration, turn: Arc<tokio::sync::Mutex<()>>) -> StoreResult<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(other)?;
        conn.busy_timeout(busy_timeout).map_err(other)?;
        // As the pool's connections (`SqlStore::connect`).
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -512;")
            .map_err(other)?;
        let (send, receive) = channel::<Job>();
        std::thread::Builder::new()
            .name("twostep-sqlite-writer".into())
            .spawn(move || run(conn, receive, turn))
            .map_err(|e| StoreError::Other(format!("cannot start the SQLite writer: {e}")))?;
        let checkpoints = checkpoints(path, busy_timeout)?;
        Ok(Self { jobs: std::sync::Mutex::new(send), _checkpoints: std::sync::Mutex::new(checkpoints) })
    }

    /// Runs `job` in the next batch and returns its value once the batch is committed
    /// (not yet synced: the caller waits for the WAL sync as after any write).
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Connection) -> rusqlite::Result<(T, Keep)> + Send + 'static,
    ) -> StoreResult<T> {
        let (answer, outcome) = tokio::sync::oneshot::channel::<StoreResult<T>>();
        let job: Job = Box::new(move |conn| {
            let (kept, value) = match conn.map(job) {
                Some(Ok((value, Keep::Writes))) => (true, Ok(value)),
                Some(Ok((value, Keep::Nothing))) => (false, Ok(value)),
                Some(Err(e)) => (false, Err(map_err(e))),
                None => (false, Err(StoreError::Unavailable("the SQLite writer could not run this".into()))),
            };
            let deliver: Deliver = Box::new(move |committed| {
                // Someone who went away does not need the answer; their job ran all the same.
                let _ = answer.send(committed.and(value));
            });
            (kept, deliver)
        });
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(job)
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?;
        outcome.await.map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?
    }
}

impl crate::SqlStore {
    /// Runs `job` on this store's SQLite writer, then waits for the WAL sync that makes
    /// it durable, as after any write.
    pub(crate) async fn on_writer<T: Send + 'static>(
        &self,
        writer: &Writer,
        job: impl FnOnce(&Connection) -> rusqlite::Result<(T, Keep)> + Send + 'static,
    ) -> StoreResult<T> {
        let value = writer.run(job).await?;
        if let Some(wal) = &self.wal_sync {
            wal.after_write().await?;
        }
        Ok(value)
    }
}

fn run(conn: Connection, jobs: Receiver<Job>, turn: Arc<tokio::sync::Mutex<()>>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let _turn = turn.blocking_lock();
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let e = map_err(e);
            for job in batch {
                job(None).1(Err(e.clone()));
            }
            continue;
        }
        // Once a savepoint cannot be ended the transaction is in an unknown state: it is
        // rolled back, and the jobs after it do not run (nobody in the batch is told it holds).
        let mut broken: Option<StoreError> = None;
        let mut deliveries: Vec<Deliver> = Vec::with_capacity(batch.len());
        for job in batch {
            if let Some(e) = &broken {
                let e = e.clone();
                let deliver = job(None).1;
                deliveries.push(Box::new(move |_| deliver(Err(e))));
                continue;
            }
            if let Err(e) = conn.execute_batch("SAVEPOINT job") {
                broken = Some(map_err(e));
                deliveries.push(job(None).1);
                continue;
            }
            let (kept, deliver) = job(Some(&conn));
            deliveries.push(deliver);
            let end = if kept { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
            if let Err(e) = conn.execute_batch(end) {
                broken = Some(map_err(e));
            }
        }
        let committed = match broken {
            Some(e) => Err(e),
            None => conn.execute_batch("COMMIT").map_err(map_err),
        };
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for deliver in deliveries {
            deliver(committed.clone());
        }
    }
}

/// The checkpoint thread: a PASSIVE checkpoint every [`CHECKPOINT_EVERY`] (it waits for
/// no one and no one waits for it; with nothing new in the WAL it only reads its header),
/// until the returned sender is dropped. A checkpoint that fails is tried again at the
/// next turn; SQLite's own checkpoints after commits remain behind it.
fn checkpoints(path: &Path, busy_timeout: Duration) -> StoreResult<Sender<()>> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(other)?;
    conn.busy_timeout(busy_timeout).map_err(other)?;
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA cache_size = -256;").map_err(other)?;
    let (stop, stopped) = channel::<()>();
    std::thread::Builder::new()
        .name("twostep-sqlite-checkpoint".into())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
                // Busy or failed: the next turn tries again.
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        })
        .map_err(|e| StoreError::Other(format!("cannot start the SQLite checkpoints: {e}")))?;
    Ok(stop)
}

fn other(e: rusqlite::Error) -> StoreError {
    StoreError::Other(e.to_string())
}

pub(crate) fn map_err(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Unavailable(e.to_string())
        }
        Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::Conflict(e.to_string()),
        _ => StoreError::Other(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(dir: &tempfile::TempDir) -> (Writer, Connection) {
        let path = dir.path().join("w.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);")
            .unwrap();
        (Writer::open(&path, Duration::from_secs(5), Arc::default()).unwrap(), conn)
    }

    fn insert(id: i64, keep: Keep) -> impl FnOnce(&Connection) -> rusqlite::Result<((), Keep)> + Send + 'static {
        move |conn| {
            conn.execute("INSERT INTO t (id, v) VALUES (?1, 'x')", [id])?;
            Ok(((), keep))
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn jobs_committed_together_keep_or_lose_only_their_own_writes() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, conn) = writer(&dir);
        let writer = Arc::new(writer);
        writer.run(insert(0, Keep::Writes)).await.unwrap();
        // Many at once, so that batches form: even ids are kept, odd ones ask to keep
        // nothing, and every tenth repeats id 0 and fails on its primary key.
        let jobs: Vec<_> = (1..=200i64)
            .map(|i| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    let result = match i {
                        i if i % 10 == 0 => writer.run(insert(0, Keep::Writes)).await,
                        i if i % 2 == 0 => writer.run(insert(i, Keep::Writes)).await,
                        i => writer.run(insert(i, Keep::Nothing)).await,
                    };
                    (i, result)
                })
            })
            .collect();
        let mut failed = 0;
        for job in jobs {
            let (i, result) = job.await.unwrap();
            match result {
                Ok(()) => assert!(i % 10 != 0, "job {i} repeated id 0 and was told it held"),
                Err(StoreError::Conflict(_)) if i % 10 == 0 => failed += 1,
                Err(e) => panic!("job {i}: {e}"),
            }
        }
        assert_eq!(failed, 20);
        let ids: Vec<i64> = conn
            .prepare("SELECT id FROM t ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let kept: Vec<i64> = std::iter::once(0).chain((1..=200).filter(|i| i % 2 == 0 && i % 10 != 0)).collect();
        assert_eq!(ids, kept);
    }
}
