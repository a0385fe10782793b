//! Sign-in: `/api/v1/login`, `/login/sms`, `/login/verify`, `/logout`, `/session`.

use crate::api::callers::{EnrollmentFlow, Session, SignInFlow};
use crate::api::doc::SessionDoc;
use crate::api::error::ApiResult;
use crate::api::{Json, Meta};
use crate::extract::BodyThen;
use crate::service::auth::{self, LoginInput};
use crate::service::codes::{CodeMethod, Proof};
use crate::service::rfc3339;
use crate::service::{Refusal, ServiceResult};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use twostep_core::domain::Password;

/// A token handed out once, with when it stops working.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Issued {
    pub token: String,
    pub expires_at: String,
}

impl From<auth::Issued> for Issued {
    fn from(issued: auth::Issued) -> Self {
        Self { token: issued.token, expires_at: rfc3339(issued.expires_at) }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    organization: String,
    username: String,
    password: String,
    client: String,
    /// A remembered device's token (SPEC §14): skips the second step for its account.
    #[serde(default)]
    device_token: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/login",
    tag = "sign-in",
    summary = "Sign in with a password",
    request_body = LoginBody,
    responses(
        (status = 200, description = "`authenticated`, `two_step_required` or `two_step_enrollment_required`", body = crate::api::doc::LoginResponse),
        (status = 400, description = "`unknown_client` or `invalid_request`", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`invalid_credentials`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`two_step_unsupported_client`: the app does not support 2-Step Verification yet; `account_disabled` after a correct password", body = crate::api::doc::ErrorBody),
        (status = 423, description = "`two_step_locked` (+`retry_after`)", body = crate::api::doc::ErrorBody),
        (status = 429, description = "`rate_limited` (+`retry_after`, `Retry-After`): 10 failures per account from this address, 100 per account, or 100 per address in 15 minutes", body = crate::api::doc::ErrorBody),
        (status = 413, description = "`payload_too_large`: body over 64 KiB", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable` (+`Retry-After`): the database cannot be reached, or the password-hashing queue is full", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Json(body): Json<LoginBody>,
) -> ApiResult<Json<Value>> {
    let input = LoginInput {
        organization: body.organization,
        username: body.username,
        password: Password::new(body.password),
        client: body.client,
        device_token: body.device_token,
    };
    Ok(Json(crate::api::users::login_json(auth::login(&state, input, &meta).await?)))
}

#[utoipa::path(
    post,
    path = "/api/v1/login/sms",
    tag = "sign-in",
    summary = "Send a sign-in code by text message (flow token)",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Sent", body = crate::api::doc::SentDoc),
        (status = 400, description = "`invalid_request`: no SMS method", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`flow_expired`", body = crate::api::doc::ErrorBody),
        (status = 429, description = "`sms_rate_limited` (+`retry_after`)", body = crate::api::doc::ErrorBody),
        (status = 502, description = "`sms_delivery_failed`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn send_sms(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SignInFlow(flow): SignInFlow,
) -> ApiResult<impl IntoResponse> {
    auth::send_sign_in_sms(&state, &flow, &meta).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "sent": true, "resend_after": crate::service::sms::RESEND_AFTER }))))
}

#[utoipa::path(
    post,
    path = "/api/v1/login/webauthn",
    tag = "sign-in",
    summary = "Options for the second step with a security key or passkey (flow token)",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`challenge_id` and `options` (`PublicKeyCredentialRequestOptions` as JSON) for `navigator.credentials.get`; answer at `POST /api/v1/login/verify` with `method` `webauthn`", body = crate::api::me::Begun),
        (status = 400, description = "`invalid_request`: the account has no key", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`flow_expired`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn webauthn(
    State(state): State<AppState>,
    SignInFlow(flow): SignInFlow,
) -> ApiResult<Json<crate::api::me::Begun>> {
    Ok(Json(crate::service::webauthn::begin_sign_in(&state, &flow).await?.into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct VerifyBody {
    /// `totp`, `sms`, `recovery_code` or `webauthn`.
    method: String,
    /// For the code methods.
    #[serde(default)]
    code: Option<String>,
    /// For `webauthn`: the id from `POST /api/v1/login/webauthn`.
    #[serde(default)]
    challenge_id: Option<String>,
    /// For `webauthn`: the `PublicKeyCredential` from `navigator.credentials.get`, as JSON.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    credential: Option<Value>,
    /// Remember this device (SPEC §14), when the organisation allows it: the answer
    /// carries a `device_token`.
    #[serde(default)]
    remember_device: bool,
}

/// Parses `"totp" | "sms" | "recovery_code" | "webauthn"`.
pub fn code_method(method: &str) -> ServiceResult<CodeMethod> {
    serde_json::from_value(Value::String(method.to_owned())).map_err(|_| {
        Refusal::InvalidRequest(format!(
            "method must be \"totp\", \"sms\", \"recovery_code\" or \"webauthn\", not {method:?}"
        ))
    })
}

/// What a second step offers: a code, or for `webauthn` a challenge id and credential.
pub fn proof<'a>(
    method: &str,
    code: Option<&'a str>,
    challenge_id: Option<&'a str>,
    credential: Option<&'a Value>,
) -> ServiceResult<Proof<'a>> {
    match code_method(method)? {
        CodeMethod::Webauthn => match (challenge_id, credential) {
            (Some(challenge_id), Some(credential)) => Ok(Proof::Key { challenge_id, credential }),
            _ => Err(Refusal::InvalidRequest("method webauthn needs challenge_id and credential".into())),
        },
        method => match code {
            Some(code) => Ok(Proof::Code(method, code)),
            None => Err(Refusal::InvalidRequest(format!("method {} needs a code", method.as_str()))),
        },
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/login/verify",
    tag = "sign-in",
    summary = "Pass the second step (flow token)",
    request_body = VerifyBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`authenticated` with a session marked `two_step_verified`", body = crate::api::doc::VerifiedDoc),
        (status = 400, description = "`invalid_request`: malformed JSON or a missing field", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`invalid_code` (+`attempts_remaining`) or `flow_expired`", body = crate::api::doc::ErrorBody),
        (status = 423, description = "`two_step_locked` (+`retry_after`)", body = crate::api::doc::ErrorBody),
        (status = 413, description = "`payload_too_large`: body over 64 KiB", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    Meta(meta): Meta,
    BodyThen(Json(body), SignInFlow(flow)): BodyThen<Json<VerifyBody>, SignInFlow>,
) -> ApiResult<Json<Value>> {
    let proof = proof(&body.method, body.code.as_deref(), body.challenge_id.as_deref(), body.credential.as_ref())?;
    let verified = auth::verify(&state, &flow, proof, body.remember_device, &meta).await?;
    let mut out =
        json!({ "status": "authenticated", "session": Issued::from(verified.session), "two_step_verified": true });
    if let Some(n) = verified.recovery_codes_remaining {
        out["recovery_codes_remaining"] = json!(n);
    }
    if body.remember_device {
        out["device_token"] = json!(verified.device_token);
    }
    Ok(Json(out))
}

#[utoipa::path(
    post,
    path = "/api/v1/logout",
    tag = "sign-in",
    summary = "End the session",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Session(session): Session,
) -> ApiResult<StatusCode> {
    auth::logout(&state, &session, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/session",
    tag = "sign-in",
    summary = "Check a session",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The session", body = crate::api::doc::SessionDoc),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn session(Session(s): Session) -> ApiResult<Json<SessionDoc>> {
    Ok(Json(SessionDoc {
        organization: s.org_slug,
        username: s.username,
        profile: s.profile_slug,
        kind: s.kind.as_str().to_owned(),
        client: s.client,
        two_step_verified: s.two_step_verified,
        expires_at: rfc3339(s.expires_at),
        revoke_at: s.revoke_at.map(rfc3339),
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/login/skip-enrollment",
    tag = "sign-in",
    summary = "Set up 2SV later: a session without 2SV until the enrollment deadline (enrollment flow token)",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`authenticated`, `two_step_verified: false`, and `enroll_by`: the session ends then", body = serde_json::Value),
        (status = 401, description = "`flow_expired`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden`: the deadline has passed (or there is none): enroll now", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn skip_enrollment(
    State(state): State<AppState>,
    Meta(meta): Meta,
    EnrollmentFlow(flow): EnrollmentFlow,
) -> ApiResult<Json<Value>> {
    let (session, enroll_by) = auth::skip_enrollment(&state, &flow, &meta).await?;
    let enroll_by = rfc3339(enroll_by);
    Ok(Json(
        json!({ "status": "authenticated", "session": Issued::from(session), "two_step_verified": false, "enroll_by": enroll_by }),
    ))
}
