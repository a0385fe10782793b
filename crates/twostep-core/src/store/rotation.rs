//! Key rotation: where sealed secrets live, and moving them to a new key.

use super::StoreResult;
use crate::domain::MethodKind;

/// Where a sealed secret lives, for key rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedSlot {
    /// `methods`: an enabled TOTP secret or phone number.
    Method(MethodKind),
    /// `pending_methods`: one being set up.
    Pending(MethodKind),
    /// `accounts.phone_sealed`: the number given when the account was created.
    AccountPhone,
}

/// A sealed secret with what its associated data is made of.
#[derive(Debug, Clone)]
pub struct SealedRecord {
    pub slot: SealedSlot,
    pub account_id: i64,
    pub org_id: i64,
    /// The lowercase username (`accounts.username_key`).
    pub username_key: String,
    pub sealed: Vec<u8>,
    /// `None` only for an account phone stored without one.
    pub key_id: Option<String>,
}

/// Key rotation: secrets at rest move to a new key a batch at a time, while replicas
/// keep reading and writing them.
#[async_trait::async_trait]
pub trait RotationStore: Send + Sync {
    /// Up to `limit` sealed secrets whose key id is not `key_id`, in a stable order.
    async fn sealed_not_under(&self, key_id: &str, limit: i64) -> StoreResult<Vec<SealedRecord>>;
    /// Replaces `record`'s secret with `sealed` under `key_id`, only if it still holds the
    /// bytes and key id that were read: false when it changed or went meanwhile (the
    /// newer write wins; it is looked at again in a later batch).
    async fn reseal(&self, record: &SealedRecord, sealed: &[u8], key_id: &str) -> StoreResult<bool>;
    /// How many sealed secrets each key id holds (`None`: stored without a key id).
    async fn sealed_counts(&self) -> StoreResult<Vec<(Option<String>, i64)>>;
}
