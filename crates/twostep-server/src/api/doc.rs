//! The OpenAPI 3.1 document (`/api/openapi.json`), generated from the handlers'
//! annotations and these schemas, and the docs page at `/api/docs` (Swagger UI served
//! from the binary).

use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Twostep",
        description = "Sign-in with organisation-wide 2-Step Verification. Every error answers \
                       `{\"error\":{\"code\",\"message\",…}}` with a stable `code` (see `ErrorCode`).",
    ),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody, ErrorDetail, ErrorCode, ReasonDoc)),
    tags(
        (name = "sign-in", description = "Password, second step, sessions"),
        (name = "me", description = "The user's own 2SV methods and sessions"),
        (name = "admin", description = "Administration of 2SV and of users (admin-profile sessions)"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A session token, or for the flow endpoints a flow token"))
                    .build(),
            ),
        );
    }
}

/// Every error: `{"error": {...}}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    /// Human-readable; not stable.
    pub message: String,
    /// With `invalid_code` during a sign-in or enrollment flow.
    pub attempts_remaining: Option<i64>,
    /// Seconds, with `two_step_locked`, `rate_limited` and `sms_rate_limited` (also in `Retry-After`).
    pub retry_after: Option<i64>,
    /// With `weak_password`: every rule the password breaks.
    pub reasons: Option<Vec<ReasonDoc>>,
}

/// One rule a new password breaks.
#[derive(Serialize, ToSchema)]
pub struct ReasonDoc {
    /// `too_short`, `too_long`, `common`, `contains_username` or `contains_organization`.
    pub code: String,
    pub message: String,
}

/// The stable error codes.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    UnknownClient,
    PayloadTooLarge,
    InvalidCredentials,
    SessionInvalid,
    SessionRevoked,
    FlowExpired,
    InvalidCode,
    Forbidden,
    TwoStepUnsupportedClient,
    TwoStepNotAvailable,
    StepUpRequired,
    NotFound,
    AddonUnavailable,
    AddonNotConnected,
    TwoStepDisabled,
    MethodRequired,
    Conflict,
    InvalidPhone,
    TwoStepLocked,
    RateLimited,
    SmsRateLimited,
    SmsDeliveryFailed,
    Unavailable,
    WeakPassword,
    AccountDisabled,
    AccessCodeRequired,
    LinkExpired,
    Internal,
}

/// A token and when it stops working (RFC 3339, UTC).
#[derive(Serialize, ToSchema)]
pub struct TokenDoc {
    pub token: String,
    pub expires_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct MethodOfferDoc {
    /// `totp`, `sms` or `recovery_code`.
    #[serde(rename = "type")]
    pub kind: String,
    /// For `sms`: the last three digits, e.g. `••••••789`.
    pub phone_hint: Option<String>,
}

/// The answer to a correct password: one of three statuses.
#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// `authenticated`, `two_step_required` or `two_step_enrollment_required`.
    pub status: String,
    /// With `authenticated`.
    pub session: Option<TokenDoc>,
    /// With `authenticated`.
    pub two_step_verified: Option<bool>,
    /// With `two_step_required` and `two_step_enrollment_required`: a flow token (≤ 10 minutes).
    pub flow: Option<TokenDoc>,
    /// With `two_step_required`.
    pub methods: Option<Vec<MethodOfferDoc>>,
    /// With `two_step_enrollment_required`: `["totp","sms"]`.
    pub methods_available: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct SentDoc {
    pub sent: bool,
    pub resend_after: i64,
}

#[derive(Serialize, ToSchema)]
pub struct VerifiedDoc {
    /// `authenticated`.
    pub status: String,
    pub session: TokenDoc,
    pub two_step_verified: bool,
    /// After a recovery code.
    pub recovery_codes_remaining: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct SessionDoc {
    pub organization: String,
    pub username: String,
    pub profile: Option<String>,
    /// `user` or `contact`.
    pub kind: String,
    pub client: String,
    pub two_step_verified: bool,
    pub expires_at: String,
    /// When the session ends because 2SV became mandatory.
    pub revoke_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodesDoc {
    pub recovery_codes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StepUpDoc {
    pub verified: bool,
    /// Seconds during which sensitive changes are allowed.
    pub valid_for: i64,
    pub recovery_codes_remaining: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct OwnSessionDoc {
    pub id: i64,
    pub client: String,
    pub current: bool,
    pub two_step_verified: bool,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    pub revoke_at: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OwnSessionsDoc {
    pub sessions: Vec<OwnSessionDoc>,
}

#[derive(Serialize, ToSchema)]
pub struct UsersDoc {
    pub users: Vec<crate::api::admin::UserRow>,
}

/// A setup link, shown once.
#[derive(Serialize, ToSchema)]
pub struct SetupLinkDoc {
    pub url: String,
    pub expires_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct UserListDoc {
    pub users: Vec<crate::api::users::UserInfo>,
    /// Pass as `after` for the next page; `null` on the last.
    pub next: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UserDoc {
    pub user: crate::api::users::UserInfo,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedUserDoc {
    pub user: crate::api::users::UserInfo,
    pub setup_link: SetupLinkDoc,
}

#[derive(Serialize, ToSchema)]
pub struct SetupLinkOnlyDoc {
    pub setup_link: SetupLinkDoc,
}

#[derive(Serialize, ToSchema)]
pub struct AccessCodeDoc {
    pub access_code: String,
    pub expires_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct EventsDoc {
    pub events: Vec<crate::api::admin::AuditItem>,
}
