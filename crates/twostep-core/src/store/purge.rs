//! Housekeeping (SPEC §11.7): rows that traffic leaves behind.

use super::StoreResult;
use crate::Timestamp;

/// Rows removed by one [`PurgeStore::purge`] pass, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub flows: u64,
    pub sms_challenges: u64,
    pub pending_methods: u64,
    pub rate_counters: u64,
    pub sessions: u64,
    /// Setup links and access codes used or expired (SPEC §12).
    pub links_and_codes: u64,
    /// Expired authorization requests of apps (§13) and remembered devices (§14).
    pub requests_and_devices: u64,
}

impl Purged {
    pub fn total(&self) -> u64 {
        self.flows
            + self.sms_challenges
            + self.pending_methods
            + self.rate_counters
            + self.sessions
            + self.links_and_codes
            + self.requests_and_devices
    }
}

/// Housekeeping (SPEC §11.7).
#[async_trait::async_trait]
pub trait PurgeStore: Send + Sync {
    /// Deletes up to `batch` rows of each table that grows with traffic and whose rows
    /// are dead at `now`: flows, SMS codes, pending enrollments, rate counters older than
    /// `counters_before`, and sessions expired, revoked or idle since `idle_before`.
    /// Safe to run on several replicas at once.
    async fn purge(
        &self,
        now: Timestamp,
        idle_before: Timestamp,
        counters_before: Timestamp,
        batch: i64,
    ) -> StoreResult<Purged>;
}
