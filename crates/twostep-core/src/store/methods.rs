//! Second-step methods: enabled ones, enrollments under way, WebAuthn ceremonies and
//! recovery codes.

use super::StoreResult;
use crate::Timestamp;
use crate::domain::MethodKind;

/// An enabled method. `sealed` is the TOTP secret or the phone number, encrypted (empty,
/// with an empty `key_id`, for a WebAuthn key, whose `credential` is public data).
#[derive(Debug, Clone)]
pub struct Method {
    pub id: i64,
    pub kind: MethodKind,
    pub name: String,
    pub sealed: Vec<u8>,
    pub key_id: String,
    pub phone_hint: Option<String>,
    pub enabled_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    /// A WebAuthn key: the credential as JSON (public key, counter, backup flags).
    pub credential: Option<String>,
}

/// A security key or passkey being enabled (SPEC §14).
#[derive(Debug, Clone)]
pub struct NewKey {
    pub account_id: i64,
    pub name: String,
    pub credential_id: Vec<u8>,
    pub credential: String,
    pub at: Timestamp,
    /// Hashes of new recovery codes, when this is the first method.
    pub recovery_hashes: Option<Vec<Vec<u8>>>,
}

/// The server-side state of a WebAuthn ceremony: bound to its owner, single use.
#[derive(Debug, Clone)]
pub struct Ceremony {
    pub id: String,
    pub account_id: i64,
    pub owner: EnrollmentOwner,
    pub purpose: CeremonyPurpose,
    /// The name a key being registered will have.
    pub name: Option<String>,
    pub state: String,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyPurpose {
    Register,
    Authenticate,
}

impl CeremonyPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Authenticate => "authenticate",
        }
    }
}

/// Who began an enrollment: only that session or flow may see or confirm it (SPEC §11.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollmentOwner {
    Session(i64),
    Flow(i64),
}

impl EnrollmentOwner {
    /// How the owner is written in the `owner` column of `pending_methods`.
    pub fn key(self) -> String {
        match self {
            Self::Session(id) => format!("session:{id}"),
            Self::Flow(id) => format!("flow:{id}"),
        }
    }
}

/// A method being set up, not yet confirmed.
#[derive(Debug, Clone)]
pub struct Pending {
    pub account_id: i64,
    pub owner: EnrollmentOwner,
    pub kind: MethodKind,
    /// The name the method will have (SPEC §14); a default by kind when `None`.
    pub name: Option<String>,
    pub sealed: Vec<u8>,
    pub key_id: String,
    pub phone_hint: Option<String>,
    pub expires_at: Timestamp,
}

/// Turn a pending method into an enabled one.
#[derive(Debug, Clone)]
pub struct EnableMethod {
    /// The pending record being confirmed; enabling fails if it was consumed meanwhile.
    pub pending: Pending,
    pub at: Timestamp,
    /// The TOTP step used to confirm, claimed so it cannot sign in again.
    pub totp_step: Option<i64>,
    /// Hashes of new recovery codes, when this is the first method.
    pub recovery_hashes: Option<Vec<Vec<u8>>>,
}

/// What [`MethodStore::disable_method`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    /// The account has no such method.
    NotFound,
    /// It is the account's last method and `keep_last` was asked.
    LastMethod,
}

/// Methods, recovery codes and WebAuthn ceremonies.
#[async_trait::async_trait]
pub trait MethodStore: Send + Sync {
    async fn methods(&self, account_id: i64) -> StoreResult<Vec<Method>>;
    async fn put_pending(&self, pending: Pending) -> StoreResult<()>;
    /// The live enrollment of `kind` that `owner` began, if any: never another's.
    async fn pending(
        &self,
        account_id: i64,
        kind: MethodKind,
        owner: EnrollmentOwner,
        now: Timestamp,
    ) -> StoreResult<Option<Pending>>;
    /// Confirms a pending method in one transaction; false if the pending record was
    /// consumed or replaced meanwhile.
    async fn enable_method(&self, enable: EnableMethod) -> StoreResult<bool>;
    /// Removes a method; the recovery codes go with the last one. With `keep_last`, the
    /// account's last method stays (checked and removed under one lock on the account, so
    /// two concurrent removals cannot both pass the check — SPEC §11.6).
    async fn disable_method(&self, account_id: i64, kind: MethodKind, keep_last: bool) -> StoreResult<Removal>;
    /// Removes one method by id, under the same rules as [`MethodStore::disable_method`]; the
    /// removed method is returned.
    async fn remove_method(
        &self,
        account_id: i64,
        method_id: i64,
        keep_last: bool,
    ) -> StoreResult<(Removal, Option<Method>)>;
    /// Marks a method used (SMS, WebAuthn) and, for a WebAuthn key, stores its updated
    /// credential (signature counter, backup state).
    async fn method_used(&self, method_id: i64, credential: Option<&str>, now: Timestamp) -> StoreResult<()>;
    /// Enables a WebAuthn key; `None` when its credential id is already registered.
    async fn enable_key(&self, key: NewKey) -> StoreResult<Option<i64>>;
    /// Keeps a WebAuthn ceremony's state until it is taken or expires.
    async fn put_ceremony(&self, ceremony: Ceremony) -> StoreResult<()>;
    /// Takes (and deletes) a live ceremony of `owner` for `purpose`: never another's, and
    /// only once.
    async fn take_ceremony(
        &self,
        id: &str,
        owner: EnrollmentOwner,
        purpose: CeremonyPurpose,
        now: Timestamp,
    ) -> StoreResult<Option<Ceremony>>;

    // Recovery codes.
    async fn replace_recovery_codes(&self, account_id: i64, hashes: Vec<Vec<u8>>) -> StoreResult<()>;
    async fn recovery_codes_remaining(&self, account_id: i64) -> StoreResult<i64>;

    /// Admin reset: methods, pending enrollments, recovery codes, flows and sessions go.
    async fn reset_two_step(&self, account_id: i64) -> StoreResult<()>;
}
