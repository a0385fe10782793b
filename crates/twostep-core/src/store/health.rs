//! Whether the database answers, and how its connection pool is doing (for the metrics).

use super::StoreResult;

/// A histogram of durations: `counts[i]` of them took at most `bounds[i]` seconds and more
/// than the bound before; the last count (one more than `bounds`) is for longer ones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WaitHistogram {
    pub bounds: Vec<f64>,
    pub counts: Vec<u64>,
    pub sum_seconds: f64,
}

/// Reachability and the connection pool.
#[async_trait::async_trait]
pub trait HealthStore: Send + Sync {
    async fn ping(&self) -> StoreResult<()>;

    /// The connection pool now: `(open connections, idle ones)`, for the metrics.
    fn pool_stats(&self) -> (u32, u32) {
        (0, 0)
    }

    /// How long queries have waited for a pooled connection since the start, for the metrics.
    fn pool_acquire_waits(&self) -> WaitHistogram {
        WaitHistogram::default()
    }
}
