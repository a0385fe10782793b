//! Audit events written together: events recorded at the same moment by concurrent
//! requests share one `INSERT` (flat combining, no background task). This is the way on
//! PostgreSQL and on an in-memory SQLite database; on a SQLite file they go to the writer
//! thread, which commits them with the second steps waiting beside them (`writer`).
//!
//! Each caller queues its event, then waits for the turn to write. Whoever gets the turn
//! writes everything queued by then, at most [`BATCH`] rows in one statement, and hands each
//! caller the outcome; a caller whose event was written by an earlier turn returns without
//! writing. Every caller returns only after its own event is committed (and, on SQLite, is
//! owed a WAL sync like any other write), so an acknowledged request never loses its
//! audit row; the only change is that under load one statement carries many rows.

use crate::{Pool, SqlStore, map_err};
use sqlx::QueryBuilder;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use tokio::sync::oneshot::error::TryRecvError;
use twostep_core::store::{AuditEvent, StoreError, StoreResult};

/// Rows per statement: 8 parameters each stays far below either database's limit.
const BATCH: usize = 256;

type Waiter = (AuditEvent, oneshot::Sender<StoreResult<()>>);

#[derive(Debug, Default)]
pub(crate) struct AuditQueue {
    queued: Mutex<Vec<Waiter>>,
    /// The turn to write.
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl AuditQueue {
    pub(crate) async fn record(self: &Arc<Self>, store: &SqlStore, event: AuditEvent) -> StoreResult<()> {
        let (sender, mut outcome) = oneshot::channel();
        self.lock_queue().push((event, sender));
        let result = loop {
            let turn = self.turn.clone().lock_owned().await;
            // Written in an earlier turn: a turn hands out every outcome before it ends.
            match outcome.try_recv() {
                Ok(result) => break result,
                Err(TryRecvError::Closed) => break Err(interrupted()),
                Err(TryRecvError::Empty) => {}
            }
            let batch: Vec<Waiter> = {
                let mut queued = self.lock_queue();
                let n = queued.len().min(BATCH);
                queued.drain(..n).collect()
            };
            // The turn is a task of its own, so that the batch is written and every
            // caller in it answered even if this caller's request goes away meanwhile.
            let store = store.clone();
            let _ = tokio::spawn(async move {
                let written = write(&store, batch.iter().map(|(e, _)| e)).await;
                for (_, sender) in batch {
                    // A caller that went away needs no answer.
                    let _ = sender.send(written.clone());
                }
                drop(turn);
            })
            .await;
            // Ours was in this batch unless more than BATCH were queued before it.
            match outcome.try_recv() {
                Ok(result) => break result,
                Err(TryRecvError::Closed) => break Err(interrupted()),
                Err(TryRecvError::Empty) => {}
            }
        };
        result?;
        match &store.wal_sync {
            Some(wal) => wal.after_write().await,
            None => Ok(()),
        }
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Vec<Waiter>> {
        self.queued.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

macro_rules! insert_into_audit {
    () => {
        "INSERT INTO audit_events (org_id, at, kind, actor, subject, client, ip, outcome) "
    };
}
const INSERT: &str = insert_into_audit!();
/// One row, as the SQLite writer inserts each event (`writer`).
pub(crate) static INSERT_ONE: &str = concat!(insert_into_audit!(), "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");

async fn write<'e>(store: &SqlStore, events: impl Iterator<Item = &'e AuditEvent> + Clone) -> StoreResult<()> {
    if events.clone().next().is_none() {
        return Ok(());
    }
    macro_rules! insert {
        ($db:ty, $pool:expr) => {{
            let mut query = QueryBuilder::<$db>::new(INSERT);
            query.push_values(events, |mut row, e| {
                row.push_bind(e.org_id)
                    .push_bind(e.at)
                    .push_bind(e.kind.as_str())
                    .push_bind(e.actor.as_deref())
                    .push_bind(e.subject.as_deref())
                    .push_bind(e.client.as_deref())
                    .push_bind(e.ip.as_deref())
                    .push_bind(e.outcome.as_str());
            });
            query.build().execute($pool).await.map(|_| ()).map_err(map_err)
        }};
    }
    match &store.pool {
        Pool::Sqlite(pool) => {
            let _writing = store.writer.lock().await;
            insert!(sqlx::Sqlite, &crate::timed::Timed { pool, waits: &store.waits })
        }
        Pool::Postgres(pool) => insert!(sqlx::Postgres, &crate::timed::Timed { pool, waits: &store.waits }),
    }
}

/// A turn that ended without answering (it panicked): the event may not be written.
fn interrupted() -> StoreError {
    StoreError::Other("the audit write was interrupted".into())
}
