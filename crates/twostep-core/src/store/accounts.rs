//! Accounts, the admin user list and enrollment report, setup links and temporary
//! access codes (SPEC §12).

use super::StoreResult;
use super::orgs::Profile;
use crate::Timestamp;
use crate::domain::{AccountKind, MethodKind};

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub org_id: i64,
    pub username: String,
    pub kind: AccountKind,
    pub profile_id: Option<i64>,
    pub password_hash: String,
    /// The phone number sealed with the secret key, and its hint.
    pub phone_sealed: Option<Vec<u8>>,
    pub phone_hint: Option<String>,
    pub key_id: Option<String>,
    pub created_at: Timestamp,
}

/// An account with what sign-in needs of its profile.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub org_id: i64,
    pub username: String,
    pub kind: AccountKind,
    pub profile: Option<Profile>,
    pub password_hash: String,
    pub phone_hint: Option<String>,
    /// Second-step lockout state (SPEC §4).
    pub locked_until: Option<Timestamp>,
    pub email: Option<String>,
    pub display_name: String,
    /// A disabled account cannot sign in (403 `account_disabled`) and has no sessions.
    pub disabled: bool,
    /// After an admin reset of a user who had methods: enrolling again needs an access
    /// code (SPEC §12).
    pub access_code_required: bool,
    /// Until when enrolling may be skipped (SPEC §14, enrollment deadline).
    pub enroll_by: Option<Timestamp>,
}

impl Account {
    pub fn is_admin(&self) -> bool {
        self.kind == AccountKind::User && self.profile.as_ref().is_some_and(|p| p.admin)
    }

    pub fn profile_mandatory(&self) -> bool {
        self.profile.as_ref().is_some_and(|p| p.mandatory)
    }
}

/// One row of the enrollment report.
#[derive(Debug, Clone)]
pub struct AccountReport {
    pub account_id: i64,
    pub username: String,
    pub kind: AccountKind,
    pub profile_slug: Option<String>,
    pub profile_mandatory: bool,
    /// The kinds of method enabled, each once.
    pub methods: Vec<MethodKind>,
    /// Every enabled method by kind and name (SPEC §14).
    pub named_methods: Vec<(MethodKind, String)>,
    pub last_two_step_at: Option<Timestamp>,
    pub enroll_by: Option<Timestamp>,
}

/// A change to an account's profile fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AccountUpdate {
    pub profile_id: Option<i64>,
    /// `Some(None)` clears the address.
    pub email: Option<Option<String>>,
    pub display_name: Option<String>,
}

/// Which enrollment state `list_accounts` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwoStepFilter {
    Enrolled,
    NotEnrolled,
    /// Users for whom 2SV is mandatory and who have no method.
    RequiredNotEnrolled,
}

/// What the admin user list asks for: a page after `after` (a `username_key`).
#[derive(Debug, Clone, Default)]
pub struct AccountQuery {
    /// Matched (case-insensitively) against username, display name and email.
    pub text: Option<String>,
    pub profile_id: Option<i64>,
    pub two_step: Option<TwoStepFilter>,
    pub after: Option<String>,
    pub limit: i64,
    /// Only this account (to read one row in the list's shape).
    pub account_id: Option<i64>,
}

/// One row of the admin user list.
#[derive(Debug, Clone)]
pub struct AccountSummary {
    pub account_id: i64,
    pub username: String,
    pub username_key: String,
    pub display_name: String,
    pub email: Option<String>,
    pub kind: AccountKind,
    pub profile_slug: Option<String>,
    pub profile_mandatory: bool,
    pub disabled: bool,
    pub access_code_required: bool,
    pub methods: Vec<MethodKind>,
    pub last_sign_in_at: Option<Timestamp>,
    pub last_two_step_at: Option<Timestamp>,
}

/// Accounts, their setup links and access codes.
#[async_trait::async_trait]
pub trait AccountStore: Send + Sync {
    async fn create_account(&self, account: NewAccount) -> StoreResult<i64>;
    async fn account_by_username(&self, org_id: i64, username_key: &str) -> StoreResult<Option<Account>>;
    async fn account_by_id(&self, id: i64) -> StoreResult<Account>;
    async fn account_report(&self, org_id: i64) -> StoreResult<Vec<AccountReport>>;
    /// Changes profile, email or display name.
    async fn update_account(&self, account_id: i64, update: AccountUpdate) -> StoreResult<()>;
    /// Disables (ending every session and flow in the same transaction) or enables.
    async fn set_disabled(&self, account_id: i64, disabled: bool) -> StoreResult<()>;
    /// Deletes the account and all it owns (the audit keeps its username).
    async fn delete_account(&self, account_id: i64) -> StoreResult<bool>;
    /// Replaces the password hash; every session but `keep_session` and every flow and
    /// unused setup link of the account end in the same transaction.
    async fn set_password(&self, account_id: i64, password_hash: &str, keep_session: Option<i64>) -> StoreResult<()>;
    /// A page of the organisation's accounts by `username_key`, with their methods.
    async fn list_accounts(&self, org_id: i64, query: AccountQuery) -> StoreResult<Vec<AccountSummary>>;
    async fn set_access_code_required(&self, account_id: i64, required: bool) -> StoreResult<()>;

    // Setup links (SPEC §12): only the token's hash is stored.
    async fn create_setup_link(
        &self,
        account_id: i64,
        token_hash: &[u8],
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// The account of a live, unused link, without using it.
    async fn setup_link_account(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<i64>>;
    /// Uses a live link: its account, for the one caller that used it.
    async fn claim_setup_link(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<i64>>;

    // Temporary access codes (SPEC §12).
    /// Stores a new code; earlier unused codes of the account die.
    async fn create_access_code(
        &self,
        account_id: i64,
        code_hash: &[u8],
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// Uses a live code of the account: true for the one caller that did. In the same
    /// transaction the enrollment flow `flow_id` is unlocked, or — for a session, which
    /// has no flow — the account no longer requires a code.
    async fn claim_access_code(
        &self,
        account_id: i64,
        flow_id: Option<i64>,
        code_hash: &[u8],
        now: Timestamp,
    ) -> StoreResult<bool>;

    /// The phone number given at account creation, sealed, if any.
    async fn account_phone(&self, account_id: i64) -> StoreResult<Option<(Vec<u8>, String)>>;
}
