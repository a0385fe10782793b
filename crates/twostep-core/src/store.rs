//! The storage the domain needs. Implementations (SQLite, PostgreSQL) live in
//! `twostep-store`; every method that guards a limit is atomic in one statement or one
//! transaction, so limits hold across replicas.

use crate::Timestamp;
use crate::domain::{AccountKind, AddonState, Language, MethodKind};
use crate::flow::FlowKind;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken (e.g. an organisation slug taken).
    #[error("already exists: {0}")]
    Conflict(String),
    /// The database could not be reached in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A value the database cannot hold, e.g. text with a NUL character on PostgreSQL: the
    /// request's input is at fault, not the database.
    #[error("value not storable: {0}")]
    Invalid(String),
    #[error("storage error: {0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub addon: AddonState,
    pub two_step_enabled: bool,
    pub mandatory_for_organization: bool,
    pub language: Language,
    /// Days a user whom 2SV becomes mandatory for may still skip enrolling (SPEC §14).
    pub enrollment_period_days: i64,
    /// Days a second step is remembered on a device (SPEC §14); 0: off.
    pub remember_device_days: i64,
}

/// A device whose second step is remembered (SPEC §14).
#[derive(Debug, Clone)]
pub struct RememberedDevice {
    pub id: i64,
    pub user_agent: Option<String>,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    pub expires_at: Timestamp,
}

impl Organization {
    /// 2SV is in force only when the add-on is connected and switched on.
    pub fn two_step_in_force(&self) -> bool {
        self.two_step_enabled && self.addon == AddonState::Connected
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub id: i64,
    pub org_id: i64,
    pub slug: String,
    pub name: String,
    pub admin: bool,
    pub mandatory: bool,
}

/// A profile with the counts of the admin report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileStats {
    pub profile: Profile,
    pub users: i64,
    pub enrolled: i64,
}

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

/// What an SMS code is bound to (SPEC §4: "bound to the flow or enrollment that asked").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsBinding {
    /// A sign-in flow.
    Flow(i64),
    /// The pending SMS enrollment of this session or flow.
    Enrollment(EnrollmentOwner),
    /// A session stepping up before a sensitive change.
    Session(i64),
}

impl SmsBinding {
    pub fn purpose(self) -> &'static str {
        match self {
            Self::Flow(_) => "signin",
            Self::Enrollment(EnrollmentOwner::Session(_)) => "enroll_session",
            Self::Enrollment(EnrollmentOwner::Flow(_)) => "enroll_flow",
            Self::Session(_) => "stepup",
        }
    }

    pub fn id(self) -> i64 {
        match self {
            Self::Flow(id)
            | Self::Session(id)
            | Self::Enrollment(EnrollmentOwner::Session(id) | EnrollmentOwner::Flow(id)) => id,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewSmsChallenge {
    pub account_id: i64,
    pub binding: SmsBinding,
    pub salt: Vec<u8>,
    pub code_hash: Vec<u8>,
    pub sent_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct SmsChallenge {
    pub id: i64,
    pub salt: Vec<u8>,
    pub code_hash: Vec<u8>,
    pub attempts: i64,
    pub expires_at: Timestamp,
}

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

/// What [`Store::disable_method`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    /// The account has no such method.
    NotFound,
    /// It is the account's last method and `keep_last` was asked.
    LastMethod,
}

/// Rows removed by one [`Store::purge`] pass, per table.
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

/// A histogram of durations: `counts[i]` of them took at most `bounds[i]` seconds and more
/// than the bound before; the last count (one more than `bounds`) is for longer ones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WaitHistogram {
    pub bounds: Vec<f64>,
    pub counts: Vec<u64>,
    pub sum_seconds: f64,
}

/// Everything the service stores. Apps and their tokens are a trait of their own
/// ([`crate::oauth::OAuthStore`]), reached through this one.
#[async_trait::async_trait]
pub trait Store: crate::oauth::OAuthStore + Send + Sync + 'static {
    async fn ping(&self) -> StoreResult<()>;

    /// The connection pool now: `(open connections, idle ones)`, for the metrics.
    fn pool_stats(&self) -> (u32, u32) {
        (0, 0)
    }

    /// How long queries have waited for a pooled connection since the start, for the metrics.
    fn pool_acquire_waits(&self) -> WaitHistogram {
        WaitHistogram::default()
    }

    // Organisations and profiles.
    async fn create_org(&self, slug: &str, name: &str, language: Language) -> StoreResult<Organization>;
    async fn org_by_slug(&self, slug: &str) -> StoreResult<Option<Organization>>;
    async fn org_by_id(&self, id: i64) -> StoreResult<Organization>;
    async fn set_addon_state(&self, org_id: i64, addon: AddonState) -> StoreResult<()>;
    /// Switches 2SV on or off. Switching on revokes (at `revoke_at`) the unverified
    /// sessions of users whose profile is mandatory (SPEC §3.7).
    /// Switching off clears revocations still pending.
    async fn set_two_step_enabled(
        &self,
        org_id: i64,
        enabled: bool,
        now: Timestamp,
        revoke_at: Timestamp,
    ) -> StoreResult<()>;
    /// The profile takes the organisation's "mandatory for all" flag at creation.
    async fn create_profile(&self, org_id: i64, slug: &str, name: &str, admin: bool) -> StoreResult<Profile>;
    async fn profile_by_slug(&self, org_id: i64, slug: &str) -> StoreResult<Option<Profile>>;
    async fn profile_stats(&self, org_id: i64) -> StoreResult<Vec<ProfileStats>>;
    /// Sets `mandatory` on one profile (or, with `None`, on every profile and the
    /// organisation flag). Profiles that become mandatory while 2SV is enabled get their
    /// users' unverified sessions revoked at `revoke_at`; profiles that become optional
    /// get pending revocations cleared.
    async fn set_mandatory(
        &self,
        org_id: i64,
        profile_id: Option<i64>,
        mandatory: bool,
        now: Timestamp,
        revoke_at: Timestamp,
    ) -> StoreResult<()>;

    /// The enrollment period of SPEC §14 (0 to 90 days).
    async fn set_enrollment_period(&self, org_id: i64, days: i64) -> StoreResult<()>;
    /// How long a second step is remembered on a device (SPEC §14); lowering it (or 0)
    /// forgets every device of the organisation in the same transaction.
    async fn set_remember_device_days(&self, org_id: i64, days: i64) -> StoreResult<()>;

    // Remembered devices (SPEC §14). Password changes, 2SV resets and method removals
    // forget an account's devices in their own transactions.
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

    // Accounts.
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

    // Sessions.
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
    /// Ends the session at `at` (a session opened by skipping enrollment ends with the
    /// deadline, SPEC §14).
    async fn set_session_revoke_at(&self, session_id: i64, at: Timestamp) -> StoreResult<()>;
    async fn sessions_of_account(&self, account_id: i64, now: Timestamp) -> StoreResult<Vec<SessionView>>;
    async fn delete_session(&self, session_id: i64) -> StoreResult<bool>;
    async fn delete_sessions_of_account(&self, account_id: i64) -> StoreResult<u64>;

    // Flows.
    async fn create_flow(&self, flow: NewFlow) -> StoreResult<()>;
    async fn flow_by_hash(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<Flow>>;
    /// Adds one failure if the flow is still alive; the new count, or `None` if the flow
    /// is gone or already exhausted.
    async fn flow_failure(&self, flow_id: i64, max: i64) -> StoreResult<Option<i64>>;
    /// Deletes the flow; true only for the one caller that deleted it.
    async fn consume_flow(&self, flow_id: i64) -> StoreResult<bool>;

    // Methods.
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
    /// Removes one method by id, under the same rules as [`Store::disable_method`]; the
    /// removed method is returned.
    async fn remove_method(
        &self,
        account_id: i64,
        method_id: i64,
        keep_last: bool,
    ) -> StoreResult<(Removal, Option<Method>)>;
    /// Claims a TOTP time step of one TOTP method: true only if it is later than every
    /// step that method accepted before. Marks the method used.
    async fn claim_totp_step(&self, method_id: i64, step: i64, now: Timestamp) -> StoreResult<bool>;
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
    async fn claim_recovery_code(&self, account_id: i64, hash: &[u8], now: Timestamp) -> StoreResult<bool>;
    async fn recovery_codes_remaining(&self, account_id: i64) -> StoreResult<i64>;

    /// Admin reset: methods, pending enrollments, recovery codes, flows and sessions go.
    async fn reset_two_step(&self, account_id: i64) -> StoreResult<()>;

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
    /// Gives back one count taken by [`Store::count_in_window`] (never below zero).
    async fn uncount_in_window(&self, key: &str, window_start: Timestamp) -> StoreResult<()>;
    async fn clear_counter(&self, key: &str) -> StoreResult<()>;

    // Text-message codes.
    /// Marks a send on what the code is bound to if its last send is at least `gap`
    /// seconds old: `Err(retry_after)` otherwise, or `Err(0)` when there is no such flow,
    /// enrollment or session.
    async fn mark_sms_send(
        &self,
        account_id: i64,
        binding: SmsBinding,
        now: Timestamp,
        gap: i64,
    ) -> StoreResult<Result<(), i64>>;
    async fn create_sms_challenge(&self, challenge: NewSmsChallenge) -> StoreResult<i64>;
    /// The newest unused, unexpired challenge of a flow, enrollment or session.
    async fn active_sms_challenge(
        &self,
        account_id: i64,
        binding: SmsBinding,
        now: Timestamp,
    ) -> StoreResult<Option<SmsChallenge>>;
    /// Marks the challenge used; true only for the one caller that did.
    async fn claim_sms_challenge(&self, id: i64, max_attempts: i64, now: Timestamp) -> StoreResult<bool>;
    /// Counts a wrong code against the challenge.
    async fn sms_challenge_failed(&self, id: i64) -> StoreResult<()>;

    // Key rotation: secrets at rest move to a new key a batch at a time, while replicas
    // keep reading and writing them.
    /// Up to `limit` sealed secrets whose key id is not `key_id`, in a stable order.
    async fn sealed_not_under(&self, key_id: &str, limit: i64) -> StoreResult<Vec<SealedRecord>>;
    /// Replaces `record`'s secret with `sealed` under `key_id`, only if it still holds the
    /// bytes and key id that were read: false when it changed or went meanwhile (the
    /// newer write wins; it is looked at again in a later batch).
    async fn reseal(&self, record: &SealedRecord, sealed: &[u8], key_id: &str) -> StoreResult<bool>;
    /// How many sealed secrets each key id holds (`None`: stored without a key id).
    async fn sealed_counts(&self) -> StoreResult<Vec<(Option<String>, i64)>>;

    // Housekeeping (SPEC §11.7).
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

    // Audit.
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
