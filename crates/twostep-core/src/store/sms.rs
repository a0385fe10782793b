//! Text-message codes: what a code is bound to, and the challenges sent.

use super::StoreResult;
use super::methods::EnrollmentOwner;
use crate::Timestamp;

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

/// Text-message codes.
#[async_trait::async_trait]
pub trait SmsStore: Send + Sync {
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
}
