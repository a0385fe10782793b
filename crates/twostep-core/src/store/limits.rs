//! Counters and locks: the per-account second-step lockout (SPEC §4) and fixed-window
//! counters (throttling, SMS limits), atomic across replicas.

use super::StoreResult;
use crate::Timestamp;

/// The second-step lockout and fixed-window counters.
#[async_trait::async_trait]
pub trait LimitStore: Send + Sync {
    // Per-account second-step lockout (SPEC §4). An attempt is counted before the code is
    // checked, so parallel guesses can never exceed the threshold.
    /// Reserves one attempt: `Err(retry_after)` while the second step is locked.
    async fn reserve_second_step_attempt(&self, account_id: i64, now: Timestamp) -> StoreResult<Result<(), i64>>;
    /// A reserved attempt failed: starts a lock once the threshold is reached and returns
    /// its end.
    async fn second_step_failed(&self, account_id: i64, now: Timestamp) -> StoreResult<Option<Timestamp>>;
    /// A second step passed: the consecutive count starts again.
    async fn second_step_passed(&self, account_id: i64, now: Timestamp) -> StoreResult<()>;
    /// A reserved attempt whose check never finished (an error, a dropped request) is
    /// given back (SPEC §11.5).
    async fn release_second_step_attempt(&self, account_id: i64) -> StoreResult<()>;

    // Fixed-window counters (throttling, SMS limits), atomic across replicas.
    /// Adds one to `key` in the window starting at `window_start` unless it has reached
    /// `limit`: the new count, or `None` when full.
    async fn count_in_window(&self, key: &str, window_start: Timestamp, limit: i64) -> StoreResult<Option<i64>>;
    async fn window_count(&self, key: &str, window_start: Timestamp) -> StoreResult<i64>;
    /// Gives back one count taken by [`LimitStore::count_in_window`] (never below zero).
    async fn uncount_in_window(&self, key: &str, window_start: Timestamp) -> StoreResult<()>;
    async fn clear_counter(&self, key: &str) -> StoreResult<()>;
}
