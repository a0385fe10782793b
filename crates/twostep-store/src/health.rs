//! [`HealthStore`]: whether the database answers, and the pool's figures for the metrics.

use crate::SqlStore;
use twostep_core::store::{HealthStore, StoreResult, WaitHistogram};

#[async_trait::async_trait]
impl HealthStore for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        on!(read self, |pool, sql| {
            sqlx::query(sql("SELECT 1")).execute(pool).await?;
            Ok(())
        })
    }

    fn pool_stats(&self) -> (u32, u32) {
        match &self.pool {
            crate::Pool::Sqlite(p) => (p.size(), p.num_idle() as u32),
            crate::Pool::Postgres(p) => (p.size(), p.num_idle() as u32),
        }
    }

    fn pool_acquire_waits(&self) -> WaitHistogram {
        self.waits.snapshot()
    }
}
