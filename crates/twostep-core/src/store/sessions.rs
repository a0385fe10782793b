//! Sessions: opened after sign-in, checked on every authenticated request.

use super::StoreResult;
use crate::Timestamp;
use crate::domain::AccountKind;

#[derive(Debug, Clone)]
pub struct NewSession {
    pub token_hash: Vec<u8>,
    pub org_id: i64,
    pub account_id: i64,
    pub client: String,
    pub two_step_verified: bool,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The second step that opened it (`totp`, `sms`, `recovery_code`, `hwk`/`swk`,
    /// `remembered_device`), if any: the `amr` of the apps signed in with it.
    pub second_factor: Option<String>,
    /// When it ends before its expiry whatever happens (SPEC §14: a session opened by
    /// "set up later" ends at the enrollment deadline).
    pub revoke_at: Option<Timestamp>,
}

/// A live session with who it belongs to: what every authenticated request needs,
/// read in one query.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub id: i64,
    pub org_id: i64,
    pub org_slug: String,
    pub account_id: i64,
    pub username: String,
    pub kind: AccountKind,
    pub profile_slug: Option<String>,
    pub admin: bool,
    pub client: String,
    pub two_step_verified: bool,
    pub last_two_step_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoke_at: Option<Timestamp>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Sessions.
#[async_trait::async_trait]
pub trait SessionStore: Send + Sync {
    /// Opens the session (and notes the account's last sign-in) in one transaction.
    async fn create_session(&self, session: NewSession) -> StoreResult<i64>;
    /// Ends the sign-in flow and opens the session it led to, in one transaction: `None`,
    /// and nothing written, when the flow was already ended (only one caller gets a
    /// session from a flow).
    async fn open_session_from_flow(&self, flow_id: i64, session: NewSession) -> StoreResult<Option<i64>>;
    async fn session_by_hash(&self, token_hash: &[u8]) -> StoreResult<Option<SessionView>>;
    /// Records when sessions were last used, `(session id, moment)` each; a moment older
    /// than the one recorded is ignored.
    async fn touch_sessions(&self, touches: &[(i64, Timestamp)]) -> StoreResult<()>;
    async fn mark_stepped_up(&self, session_id: i64, now: Timestamp) -> StoreResult<()>;
    async fn sessions_of_account(&self, account_id: i64, now: Timestamp) -> StoreResult<Vec<SessionView>>;
    async fn delete_session(&self, session_id: i64) -> StoreResult<bool>;
    async fn delete_sessions_of_account(&self, account_id: i64) -> StoreResult<u64>;
}
