//! `Refusal`: every reason the service can give for not doing what was asked, with its
//! stable code and the sentence that explains it. It knows no transport: the JSON API
//! maps it to a status and body (`api::error`), the pages to words in the reader's
//! language (`web::i18n::error`), the token endpoint to an OAuth error. An internal cause
//! is logged by whoever answers, never shown.

use twostep_core::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    InvalidRequest(String),
    /// Well-formed input whose values make no sense (SPEC §12: `invalid_request`).
    #[error("{0}")]
    Unprocessable(String),
    #[error("this client app is not known")]
    UnknownClient,
    #[error("the request body is larger than 64 KiB")]
    PayloadTooLarge,
    #[error("wrong organization, username or password")]
    InvalidCredentials,
    #[error("the session is not valid; sign in again")]
    SessionInvalid,
    #[error("the session was ended because 2-Step Verification is now required; sign in again")]
    SessionRevoked,
    #[error("this sign-in has expired; start again")]
    FlowExpired,
    #[error("the code is not correct")]
    InvalidCode { attempts_remaining: Option<i64> },
    #[error("you do not have access to this")]
    Forbidden,
    /// `forbidden`, saying why.
    #[error("{0}")]
    ForbiddenBecause(&'static str),
    #[error("this app does not support 2-Step Verification yet; sign in from the web, or ask your administrator")]
    TwoStepUnsupportedClient,
    #[error("2-Step Verification is not available for this account")]
    TwoStepNotAvailable,
    #[error("confirm it's you: verify a code from your second step first")]
    StepUpRequired,
    #[error("{0} not found")]
    NotFound(String),
    #[error("the 2-Step Verification add-on is not available for this organization; ask your provider to activate it")]
    AddonUnavailable,
    #[error("connect the 2-Step Verification add-on first")]
    AddonNotConnected,
    #[error("2-Step Verification is not enabled for this organization")]
    TwoStepDisabled,
    #[error("2-Step Verification is required for you: keep at least one method")]
    MethodRequired,
    #[error("{0}")]
    Conflict(String),
    /// Also a number that cannot receive texts, or of a country not allowed (SPEC §11.10).
    #[error(
        "this is not a mobile phone number that can receive text messages here: use international form, e.g. +351 912 345 678"
    )]
    InvalidPhone,
    #[error("too many wrong codes: 2-Step Verification is locked for a while")]
    TwoStepLocked { retry_after: i64 },
    #[error("too many attempts; try again later")]
    RateLimited { retry_after: i64 },
    #[error("too many text messages; try again later")]
    SmsRateLimited { retry_after: i64 },
    #[error("the text message could not be sent; try again or use another method")]
    SmsDeliveryFailed,
    #[error("the service is temporarily unavailable; try again shortly")]
    Unavailable,
    /// Too much work queued (the password-hashing queue is full): `unavailable` too,
    /// with when to try again.
    #[error("the service is busy; try again shortly")]
    Busy { retry_after: i64 },
    #[error("choose a stronger password")]
    WeakPassword { reasons: Vec<twostep_core::credential::strength::Weakness> },
    #[error("this account is disabled; ask your administrator")]
    AccountDisabled,
    #[error("an access code from your administrator is needed before you can set up 2-Step Verification again")]
    AccessCodeRequired,
    #[error("this link has expired or was already used; ask your administrator for a new one")]
    LinkExpired,
    #[error("internal error")]
    Internal(String),
}

/// What a rule of the service answers.
pub type ServiceResult<T, E = Refusal> = Result<T, E>;

impl Refusal {
    /// The stable name of the refusal: the API's error code and the key of its words.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) | Self::Unprocessable(_) => "invalid_request",
            Self::UnknownClient => "unknown_client",
            Self::PayloadTooLarge => "payload_too_large",
            Self::InvalidCredentials => "invalid_credentials",
            Self::SessionInvalid => "session_invalid",
            Self::SessionRevoked => "session_revoked",
            Self::FlowExpired => "flow_expired",
            Self::InvalidCode { .. } => "invalid_code",
            Self::Forbidden | Self::ForbiddenBecause(_) => "forbidden",
            Self::TwoStepUnsupportedClient => "two_step_unsupported_client",
            Self::TwoStepNotAvailable => "two_step_not_available",
            Self::StepUpRequired => "step_up_required",
            Self::NotFound(_) => "not_found",
            Self::AddonUnavailable => "addon_unavailable",
            Self::AddonNotConnected => "addon_not_connected",
            Self::TwoStepDisabled => "two_step_disabled",
            Self::MethodRequired => "method_required",
            Self::Conflict(_) => "conflict",
            Self::InvalidPhone => "invalid_phone",
            Self::TwoStepLocked { .. } => "two_step_locked",
            Self::RateLimited { .. } => "rate_limited",
            Self::SmsRateLimited { .. } => "sms_rate_limited",
            Self::SmsDeliveryFailed => "sms_delivery_failed",
            Self::Unavailable | Self::Busy { .. } => "unavailable",
            Self::WeakPassword { .. } => "weak_password",
            Self::AccountDisabled => "account_disabled",
            Self::AccessCodeRequired => "access_code_required",
            Self::LinkExpired => "link_expired",
            Self::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound("record".into()),
            StoreError::Conflict(what) => Self::Conflict(what),
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                Self::Unavailable
            }
            StoreError::Invalid(cause) => {
                tracing::debug!(%cause, "value refused by the database");
                Self::InvalidRequest("the request contains a character that cannot be used here".into())
            }
            StoreError::Other(cause) => Self::Internal(cause),
        }
    }
}

impl From<twostep_core::crypto::CryptoError> for Refusal {
    fn from(e: twostep_core::crypto::CryptoError) -> Self {
        Self::Internal(e.to_string())
    }
}
