//! How long queries wait for a pooled connection, for `twostep_db_acquire_duration_seconds`.
//!
//! [`Timed`] is the pool as the `on!` macro hands it to a query: an executor that takes a
//! connection exactly as sqlx's `&Pool` does (`pool.acquire()`, then the query on it), but
//! times the `acquire` into [`AcquireWaits`]. The cost per query is two clock reads and two
//! relaxed atomic additions; SQLite's session check reads through its own connections
//! (`readers`) and does not pass here at all.

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt};
use sqlx::pool::PoolConnection;
use sqlx::{Database, Describe, Either, Error, Execute, Executor, Pool, SqlStr, Transaction};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use twostep_core::store::WaitHistogram;

/// Upper bounds (seconds) of the buckets: 100 µs (an idle connection at hand) up to the
/// longest acquire timeout worth having; slower waits land in +Inf.
pub const BOUNDS: [f64; 14] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// Waits so far, per bucket (the last one +Inf), and their sum.
#[derive(Debug, Default)]
pub struct AcquireWaits {
    counts: [AtomicU64; BOUNDS.len() + 1],
    sum_nanos: AtomicU64,
}

impl AcquireWaits {
    pub fn record(&self, wait: Duration) {
        let seconds = wait.as_secs_f64();
        let bucket = BOUNDS.partition_point(|&bound| bound < seconds);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> WaitHistogram {
        WaitHistogram {
            bounds: BOUNDS.to_vec(),
            counts: self.counts.iter().map(|c| c.load(Ordering::Relaxed)).collect(),
            sum_seconds: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

/// A pool whose acquisitions are timed.
#[derive(Debug)]
pub(crate) struct Timed<'p, DB: Database> {
    pub pool: &'p Pool<DB>,
    pub waits: &'p AcquireWaits,
}

impl<DB: Database> Timed<'_, DB> {
    /// A connection, the wait recorded (a timed-out wait too: it is the one that matters).
    pub async fn acquire(&self) -> Result<PoolConnection<DB>, Error> {
        let started = Instant::now();
        let connection = self.pool.acquire().await;
        self.waits.record(started.elapsed());
        connection
    }

    /// A transaction on a timed connection, as `Pool::begin` makes one, except that the
    /// `BEGIN` is not cut off when the request waiting for it goes away (a client that
    /// hangs up). sqlx's own guard misses that case: cut off after its `BEGIN` was sent
    /// and before the answer was read, the connection went back to the pool still inside
    /// the transaction, and every later user of it ran there, holding its locks (seen as
    /// deadlocks, then "current transaction is aborted" on PostgreSQL under load). Run to
    /// its end in a task of its own, a `BEGIN` nobody waits for any more is followed by the
    /// `ROLLBACK` of a dropped transaction.
    pub async fn begin(&self) -> Result<Transaction<'static, DB>, Error> {
        let connection = self.acquire().await?;
        tokio::spawn(Transaction::begin(connection, None))
            .await
            .map_err(|e| Error::Protocol(format!("BEGIN did not finish: {e}")))?
    }
}

impl<'c, 'p: 'c, DB: Database> Executor<'c> for &'c Timed<'p, DB>
where
    for<'x> &'x mut DB::Connection: Executor<'x, Database = DB>,
{
    type Database = DB;

    fn execute<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<DB::QueryResult, Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, DB>,
    {
        Box::pin(async move { self.acquire().await?.execute(query).await })
    }

    /// Our queries return few rows: they are read whole on the connection, then streamed.
    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Result<Either<DB::QueryResult, DB::Row>, Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, DB>,
    {
        stream::once(async move {
            match self.acquire().await {
                Ok(mut connection) => connection.fetch_many(query).collect::<Vec<_>>().await,
                Err(e) => vec![Err(e)],
            }
        })
        .flat_map(stream::iter)
        .boxed()
    }

    fn fetch_all<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Vec<DB::Row>, Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, DB>,
    {
        Box::pin(async move { self.acquire().await?.fetch_all(query).await })
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<DB::Row>, Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, DB>,
    {
        Box::pin(async move { self.acquire().await?.fetch_optional(query).await })
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [DB::TypeInfo],
    ) -> BoxFuture<'e, Result<DB::Statement, Error>>
    where
        'c: 'e,
    {
        Box::pin(async move { self.acquire().await?.prepare_with(sql, parameters).await })
    }

    // Required while sqlx's `macros` feature (which turns on its `offline` one) is on.
    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<DB>, Error>>
    where
        'c: 'e,
    {
        Box::pin(async move { self.acquire().await?.describe(sql).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_lands_in_the_first_bucket_whose_bound_it_does_not_pass() {
        let waits = AcquireWaits::default();
        waits.record(Duration::from_micros(50));
        waits.record(Duration::from_micros(100));
        waits.record(Duration::from_millis(3));
        waits.record(Duration::from_secs(30));
        let h = waits.snapshot();
        assert_eq!(h.counts.len(), BOUNDS.len() + 1);
        assert_eq!(h.counts[0], 2, "{h:?}");
        assert_eq!(h.counts[5], 1, "{h:?}");
        assert_eq!(h.counts[BOUNDS.len()], 1, "{h:?}");
        assert_eq!(h.counts.iter().sum::<u64>(), 4);
        assert!((h.sum_seconds - 30.00315).abs() < 1e-9, "{h:?}");
    }
}
