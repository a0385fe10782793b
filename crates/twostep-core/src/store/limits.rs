//! Counters and locks: the per-account second-step lockout (SPEC §4) and fixed-window
//! counters (throttling, SMS limits), atomic across replicas.

use super::{NewSession, StoreResult};
use crate::Timestamp;

/// What a second step claims, judged in memory before anything is written: the time step
/// of the authenticator app whose code matched, a recovery code's hash, or nothing (the
/// code matched no method).
#[derive(Debug, Clone)]
pub enum Claim {
    Nothing,
    TotpStep { method_id: i64, step: i64 },
    RecoveryCode { hash: Vec<u8> },
}

/// One second step, settled in one transaction by [`LimitStore::settle_second_step`].
#[derive(Debug, Clone)]
pub struct SecondStep {
    pub account_id: i64,
    pub now: Timestamp,
    pub claim: Claim,
    /// At sign-in: the flow the step ends and the session it opens when the claim holds.
    pub open: Option<(i64, NewSession)>,
}

/// How [`LimitStore::settle_second_step`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// The second step is locked: nothing was written. `retry_after` in seconds.
    Locked { retry_after: i64 },
    /// The claim held: the consecutive count starts again, and the session (if asked)
    /// is open under `session_id`.
    Accepted { recovery_codes_remaining: Option<i64>, session_id: Option<i64> },
    /// Nothing to claim, or the claim was taken already (a replay, a used recovery code):
    /// the attempt counts, and `locked_until` is the end of the lock it started, if any.
    Refused { locked_until: Option<Timestamp> },
    /// The claim held but the flow had ended already (another request spent it):
    /// nothing was written.
    FlowEnded,
}

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
    /// A second step whose proof was judged in memory (an authenticator app's code, a
    /// recovery code), in one transaction: the attempt is taken from the allowance, the
    /// claim made, the outcome counted and, when it holds, the flow ended and the
    /// session opened. Parallel steps of one account take turns on its row, so the
    /// threshold and single use hold exactly as with the steps one by one.
    async fn settle_second_step(&self, step: SecondStep) -> StoreResult<Settled>;

    // Fixed-window counters (throttling, SMS limits), atomic across replicas.
    /// Adds one to `key` in the window starting at `window_start` unless it has reached
    /// `limit`: the new count, or `None` when full.
    async fn count_in_window(&self, key: &str, window_start: Timestamp, limit: i64) -> StoreResult<Option<i64>>;
    async fn window_count(&self, key: &str, window_start: Timestamp) -> StoreResult<i64>;
    /// Gives back one count taken by [`LimitStore::count_in_window`] (never below zero).
    async fn uncount_in_window(&self, key: &str, window_start: Timestamp) -> StoreResult<()>;
    async fn clear_counter(&self, key: &str) -> StoreResult<()>;
}
