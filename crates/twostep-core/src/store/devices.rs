//! Devices whose second step is remembered (SPEC §14).

use super::StoreResult;
use crate::Timestamp;

/// A device whose second step is remembered (SPEC §14).
#[derive(Debug, Clone)]
pub struct RememberedDevice {
    pub id: i64,
    pub user_agent: Option<String>,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Remembered devices (SPEC §14). Password changes, 2SV resets and method removals
/// forget an account's devices in their own transactions.
#[async_trait::async_trait]
pub trait DeviceStore: Send + Sync {
    async fn remember_device(
        &self,
        account_id: i64,
        token_hash: &[u8],
        user_agent: Option<&str>,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// The account's live device with this token, noted as used now.
    async fn use_device(&self, account_id: i64, token_hash: &[u8], now: Timestamp) -> StoreResult<bool>;
    async fn devices(&self, account_id: i64, now: Timestamp) -> StoreResult<Vec<RememberedDevice>>;
    async fn forget_device(&self, account_id: i64, id: i64) -> StoreResult<bool>;
    async fn forget_devices(&self, account_id: i64) -> StoreResult<()>;
    /// Live remembered devices per account of an organisation.
    async fn device_counts(&self, org_id: i64, now: Timestamp) -> StoreResult<Vec<(i64, i64)>>;
}
