//! The audit log.

use super::StoreResult;
use crate::Timestamp;

#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub org_id: Option<i64>,
    pub at: Timestamp,
    pub kind: String,
    pub actor: Option<String>,
    pub subject: Option<String>,
    pub client: Option<String>,
    pub ip: Option<String>,
    pub outcome: String,
}

#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub id: i64,
    pub event: AuditEvent,
}

/// Audit events.
#[async_trait::async_trait]
pub trait AuditStore: Send + Sync {
    /// Returns once the event is committed. Events recorded at the same moment may be
    /// written together, in one transaction.
    async fn record_event(&self, event: AuditEvent) -> StoreResult<()>;
    /// Newest first; `before_id` pages by event id, `before_at` by time.
    async fn events(
        &self,
        org_id: i64,
        limit: i64,
        before_id: Option<i64>,
        before_at: Option<Timestamp>,
    ) -> StoreResult<Vec<AuditRecord>>;
}
