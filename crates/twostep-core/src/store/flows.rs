//! Sign-in and enrollment flows: the short-lived state between the password and the
//! second step.

use super::StoreResult;
use crate::Timestamp;
use crate::flow::FlowKind;

#[derive(Debug, Clone)]
pub struct NewFlow {
    pub token_hash: Vec<u8>,
    pub kind: FlowKind,
    pub org_id: i64,
    pub account_id: i64,
    pub client: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct Flow {
    pub id: i64,
    pub kind: FlowKind,
    pub org_id: i64,
    pub account_id: i64,
    pub client: String,
    pub failures: i64,
    pub expires_at: Timestamp,
    /// An enrollment flow that presented a valid access code (SPEC §12).
    pub access_code_ok: bool,
}

/// Flows.
#[async_trait::async_trait]
pub trait FlowStore: Send + Sync {
    async fn create_flow(&self, flow: NewFlow) -> StoreResult<()>;
    async fn flow_by_hash(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<Flow>>;
    /// The live flow with this token hash and its account, read together (one round trip
    /// where the second step would otherwise take two).
    async fn flow_and_account_by_hash(
        &self,
        token_hash: &[u8],
        now: Timestamp,
    ) -> StoreResult<Option<(Flow, super::Account)>>;
    /// Adds one failure if the flow is still alive; the new count, or `None` if the flow
    /// is gone or already exhausted.
    async fn flow_failure(&self, flow_id: i64, max: i64) -> StoreResult<Option<i64>>;
    /// Deletes the flow; true only for the one caller that deleted it.
    async fn consume_flow(&self, flow_id: i64) -> StoreResult<bool>;
}
