//! The user's own methods and sessions: `/api/v1/me/…`.

use crate::api::callers::Session;
use crate::api::error::ApiResult;
use crate::api::login::Issued;
use crate::api::login::proof;
use crate::api::{Json, Meta, Path};
use crate::extract::BodyThen;
use crate::service::Refusal;
use crate::service::auth;
use crate::service::me::{self, Caller};
use crate::service::rfc3339;
use crate::service::webauthn;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use twostep_core::domain::MethodKind;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MethodInfo {
    /// For `DELETE /api/v1/me/two-step/methods/{id}` (SPEC §14).
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_hint: Option<String>,
    pub enabled_at: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

impl From<me::MethodInfo> for MethodInfo {
    fn from(m: me::MethodInfo) -> Self {
        Self {
            id: m.id,
            kind: m.kind,
            name: m.name,
            phone_hint: m.phone_hint,
            enabled_at: rfc3339(m.enabled_at),
            created_at: rfc3339(m.created_at),
            last_used_at: m.last_used_at.map(rfc3339),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Overview {
    pub available: bool,
    pub required: bool,
    pub methods: Vec<MethodInfo>,
    pub recovery_codes_remaining: i64,
}

impl From<me::Overview> for Overview {
    fn from(o: me::Overview) -> Self {
        Self {
            available: o.available,
            required: o.required,
            methods: o.methods.into_iter().map(MethodInfo::from).collect(),
            recovery_codes_remaining: o.recovery_codes_remaining,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TotpEnrollment {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
    pub qr_png: String,
    pub expires_at: String,
}

impl From<me::TotpEnrollment> for TotpEnrollment {
    fn from(e: me::TotpEnrollment) -> Self {
        Self {
            secret: e.secret,
            otpauth_uri: e.otpauth_uri,
            qr_svg: e.qr_svg,
            qr_png: e.qr_png,
            expires_at: rfc3339(e.expires_at),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SmsSent {
    pub sent: bool,
    pub phone_hint: String,
    pub resend_after: i64,
}

impl From<me::SmsSent> for SmsSent {
    fn from(s: me::SmsSent) -> Self {
        Self { sent: s.sent, phone_hint: s.phone_hint, resend_after: s.resend_after }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Confirmed {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<Issued>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub two_step_verified: Option<bool>,
    pub method: MethodInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<Vec<String>>,
}

impl From<me::Confirmed> for Confirmed {
    fn from(c: me::Confirmed) -> Self {
        Self {
            status: c.status,
            session: c.session.map(Issued::from),
            two_step_verified: c.two_step_verified,
            method: c.method.into(),
            recovery_codes: c.recovery_codes,
        }
    }
}

/// A ceremony begun: its id and the options for `navigator.credentials`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Begun {
    pub challenge_id: String,
    /// `PublicKeyCredentialCreationOptions` or `PublicKeyCredentialRequestOptions` as JSON
    /// (binary fields base64url).
    #[schema(value_type = Object)]
    pub options: Value,
}

impl From<webauthn::Begun> for Begun {
    fn from(b: webauthn::Begun) -> Self {
        Self { challenge_id: b.challenge_id, options: b.options }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/me/two-step",
    tag = "me",
    summary = "Own methods",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Methods (never a secret)", body = Overview),
        (status = 401, description = "`session_invalid`, `session_revoked` (or an expired enrollment flow)", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`two_step_not_available` (contacts)", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`two_step_disabled`: 2SV is not enabled for the organization", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn overview(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Overview>> {
    Ok(Json(me::overview(&state, &caller).await?.into()))
}

#[utoipa::path(
    post,
    path = "/api/v1/me/two-step/totp",
    tag = "me",
    summary = "Start authenticator-app enrollment (another app may be added: each has a name)",
    request_body(content = NameBody, description = "Optional: `{\"name\"}`"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A fresh secret, its otpauth URI and QR codes (pending for 10 minutes)", body = TotpEnrollment),
        (status = 401, description = "`session_invalid`, `session_revoked` (or an expired enrollment flow)", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`two_step_not_available`, or `step_up_required`: the account already has a method and the session did not pass 2SV in the last 15 minutes (nothing is stored)", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`two_step_disabled`: 2SV is not enabled for the organization", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn start_totp(
    State(state): State<AppState>,
    Meta(meta): Meta,
    BodyThen(Json(body), caller): BodyThen<Json<NameBody>, Caller>,
) -> ApiResult<Json<TotpEnrollment>> {
    Ok(Json(me::start_totp(&state, &caller, body.name.as_deref(), &meta).await?.into()))
}

/// An optional name for a method being added (SPEC §14); the body may be empty.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NameBody {
    /// At most 64 characters; "Authenticator app", "Phone" or "Security key" if absent.
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CodeBody {
    code: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/me/two-step/totp/confirm",
    tag = "me",
    summary = "Verify and enable the authenticator app",
    request_body = CodeBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Enabled; recovery codes with the first method; with an enrollment flow also `status` and `session`", body = Confirmed),
        (status = 400, description = "`invalid_request`: nothing pending or a malformed body", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`invalid_code` (+`attempts_remaining` with a flow)", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`two_step_not_available` (contacts)", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`two_step_disabled`: 2SV is not enabled for the organization", body = crate::api::doc::ErrorBody),
        (status = 423, description = "`two_step_locked`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn confirm_totp(
    State(state): State<AppState>,
    Meta(meta): Meta,
    BodyThen(Json(body), caller): BodyThen<Json<CodeBody>, Caller>,
) -> ApiResult<Json<Confirmed>> {
    Ok(Json(me::confirm(&state, &caller, MethodKind::Totp, &body.code, &meta).await?.into()))
}

#[utoipa::path(
    delete,
    path = "/api/v1/me/two-step/totp",
    tag = "me",
    summary = "Disable the authenticator app",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Disabled"),
        (status = 401, description = "`session_invalid`, `session_revoked` (or an expired enrollment flow)", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`step_up_required` or `two_step_not_available`", body = crate::api::doc::ErrorBody),
        (status = 404, description = "`not_found`: not enabled", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`method_required` or `two_step_disabled`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn delete_totp(State(state): State<AppState>, Meta(meta): Meta, caller: Caller) -> ApiResult<StatusCode> {
    me::disable(&state, &caller, MethodKind::Totp, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PhoneBody {
    phone: String,
    /// Optional (SPEC §14): the method's name.
    #[serde(default)]
    name: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/me/two-step/sms",
    tag = "me",
    summary = "Add a phone number: sends a code",
    request_body = PhoneBody,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Sent", body = SmsSent),
        (status = 400, description = "`invalid_request`: malformed JSON or a missing field", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`session_invalid`, `session_revoked` (or an expired enrollment flow)", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`two_step_not_available`, or `step_up_required`: the account already has a method and the session did not pass 2SV in the last 15 minutes (nothing is sent)", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`two_step_disabled`: 2SV is not enabled for the organization", body = crate::api::doc::ErrorBody),
        (status = 422, description = "`invalid_phone`: not a number, not one that can receive texts, or of a country not in `sms.allowed_countries`", body = crate::api::doc::ErrorBody),
        (status = 429, description = "`sms_rate_limited` (+`retry_after`)", body = crate::api::doc::ErrorBody),
        (status = 502, description = "`sms_delivery_failed`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn start_sms(
    State(state): State<AppState>,
    Meta(meta): Meta,
    BodyThen(Json(body), caller): BodyThen<Json<PhoneBody>, Caller>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::ACCEPTED,
        Json(SmsSent::from(me::start_sms(&state, &caller, &body.phone, body.name.as_deref(), &meta).await?)),
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/me/two-step/sms/confirm",
    tag = "me",
    summary = "Verify and enable text messages",
    request_body = CodeBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "As the authenticator confirmation", body = Confirmed),
        (status = 400, description = "`invalid_request`", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`invalid_code`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`two_step_not_available` (contacts)", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`two_step_disabled`: 2SV is not enabled for the organization", body = crate::api::doc::ErrorBody),
        (status = 423, description = "`two_step_locked`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn confirm_sms(
    State(state): State<AppState>,
    Meta(meta): Meta,
    BodyThen(Json(body), caller): BodyThen<Json<CodeBody>, Caller>,
) -> ApiResult<Json<Confirmed>> {
    Ok(Json(me::confirm(&state, &caller, MethodKind::Sms, &body.code, &meta).await?.into()))
}

#[utoipa::path(
    delete,
    path = "/api/v1/me/two-step/sms",
    tag = "me",
    summary = "Disable text messages",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Disabled"),
        (status = 401, description = "`session_invalid`, `session_revoked` (or an expired enrollment flow)", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`step_up_required` or `two_step_not_available`", body = crate::api::doc::ErrorBody),
        (status = 404, description = "`not_found`", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`method_required` or `two_step_disabled`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn delete_sms(State(state): State<AppState>, Meta(meta): Meta, caller: Caller) -> ApiResult<StatusCode> {
    me::disable(&state, &caller, MethodKind::Sms, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/me/two-step/recovery-codes",
    tag = "me",
    summary = "Regenerate recovery codes (old ones die)",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Ten new codes, shown once", body = crate::api::doc::RecoveryCodesDoc),
        (status = 401, description = "`session_invalid`, `session_revoked` (or an expired enrollment flow)", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`step_up_required` or `two_step_not_available`", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`two_step_disabled` or `conflict` (no method)", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn recovery_codes(State(state): State<AppState>, Meta(meta): Meta, caller: Caller) -> ApiResult<Json<Value>> {
    let codes = me::regenerate_recovery_codes(&state, &caller, &meta).await?;
    Ok(Json(json!({ "recovery_codes": codes })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct StepUpBody {
    /// `totp`, `sms`, `recovery_code` or `webauthn`.
    method: String,
    /// For the code methods.
    #[serde(default)]
    code: Option<String>,
    /// For `webauthn`: the id from `POST /api/v1/me/two-step/verify/webauthn`.
    #[serde(default)]
    challenge_id: Option<String>,
    /// For `webauthn`: the `PublicKeyCredential` as JSON.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    credential: Option<Value>,
}

#[utoipa::path(
    post,
    path = "/api/v1/me/two-step/verify",
    tag = "me",
    summary = "Confirm it is you: a second step within the session (15 minutes)",
    request_body = StepUpBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Verified", body = crate::api::doc::StepUpDoc),
        (status = 400, description = "`invalid_request`: malformed JSON or a missing field", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`invalid_code`, `session_invalid`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`two_step_not_available` (contacts)", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`two_step_disabled`: 2SV is not enabled for the organization", body = crate::api::doc::ErrorBody),
        (status = 423, description = "`two_step_locked`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
/// `POST /api/v1/me/two-step/verify`: "confirm it's you" within a session.
pub async fn step_up(
    State(state): State<AppState>,
    Meta(meta): Meta,
    BodyThen(Json(body), caller): BodyThen<Json<StepUpBody>, Caller>,
) -> ApiResult<Json<Value>> {
    let proof = proof(&body.method, body.code.as_deref(), body.challenge_id.as_deref(), body.credential.as_ref())?;
    let remaining = me::step_up(&state, &caller, proof, &meta).await?;
    let mut out = json!({ "verified": true, "valid_for": twostep_core::flow::STEP_UP_WINDOW });
    if let Some(n) = remaining {
        out["recovery_codes_remaining"] = json!(n);
    }
    Ok(Json(out))
}

#[utoipa::path(
    post,
    path = "/api/v1/me/two-step/verify/sms",
    tag = "me",
    summary = "Send a step-up code by text message",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Sent", body = SmsSent),
        (status = 401, description = "`session_invalid`, `session_revoked` (or an expired enrollment flow)", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`two_step_not_available` or `step_up_required`", body = crate::api::doc::ErrorBody),
        (status = 404, description = "`not_found`: no SMS method", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`two_step_disabled`: 2SV is not enabled for the organization", body = crate::api::doc::ErrorBody),
        (status = 429, description = "`sms_rate_limited`", body = crate::api::doc::ErrorBody),
        (status = 502, description = "`sms_delivery_failed`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn step_up_sms(
    State(state): State<AppState>,
    Meta(meta): Meta,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::ACCEPTED, Json(SmsSent::from(me::send_step_up_sms(&state, &caller, &meta).await?))))
}

#[utoipa::path(
    get,
    path = "/api/v1/me/sessions",
    tag = "me",
    summary = "Own live sessions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Sessions", body = crate::api::doc::OwnSessionsDoc),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn sessions(State(state): State<AppState>, Session(current): Session) -> ApiResult<Json<Value>> {
    let sessions = state.store.sessions_of_account(current.account_id, state.now()).await?;
    let list: Vec<Value> = sessions
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "client": s.client,
                "current": s.id == current.id,
                "two_step_verified": s.two_step_verified,
                "created_at": rfc3339(s.created_at),
                "last_seen_at": rfc3339(s.last_seen_at),
                "expires_at": rfc3339(s.expires_at),
                "revoke_at": s.revoke_at.map(rfc3339),
                "ip": s.ip,
                "user_agent": s.user_agent,
            })
        })
        .collect();
    Ok(Json(json!({ "sessions": list })))
}

#[utoipa::path(
    delete,
    path = "/api/v1/me/sessions/{id}",
    tag = "me",
    summary = "Sign out one of own sessions",
    params(("id" = i64, Path, description = "Session id from GET /api/v1/me/sessions")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 404, description = "`not_found`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn end_session(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    Session(current): Session,
) -> ApiResult<StatusCode> {
    let own = state.store.sessions_of_account(current.account_id, state.now()).await?;
    let Some(target) = own.into_iter().find(|s| s.id == id) else {
        return Err(Refusal::NotFound("session".into()).into());
    };
    auth::logout(&state, &target, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/me/devices",
    tag = "me",
    summary = "Own remembered devices (SPEC §14)",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`{\"devices\":[{\"id\",\"user_agent\",\"created_at\",\"last_used_at\",\"expires_at\"}]}`", body = Value),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn devices(State(state): State<AppState>, Session(session): Session) -> ApiResult<Json<Value>> {
    let devices: Vec<Value> = state
        .store
        .devices(session.account_id, state.now())
        .await?
        .into_iter()
        .map(|d| {
            json!({
                "id": d.id,
                "user_agent": d.user_agent,
                "created_at": rfc3339(d.created_at),
                "last_used_at": rfc3339(d.last_used_at),
                "expires_at": rfc3339(d.expires_at),
            })
        })
        .collect();
    Ok(Json(json!({ "devices": devices })))
}

#[utoipa::path(
    delete,
    path = "/api/v1/me/devices/{id}",
    tag = "me",
    summary = "Forget a remembered device",
    params(("id" = i64, Path, description = "The device's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Forgotten: its next sign-in asks for a second step"),
        (status = 400, description = "`invalid_request`: not a number", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 404, description = "`not_found`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn forget_device(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Session(session): Session,
) -> ApiResult<StatusCode> {
    if !state.store.forget_device(session.account_id, id).await? {
        return Err(Refusal::NotFound("device".into()).into());
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/me/two-step/webauthn",
    tag = "me",
    summary = "Start registering a security key or passkey",
    request_body(content = NameBody, description = "Optional: `{\"name\"}`"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`challenge_id` and `options` (`PublicKeyCredentialCreationOptions` as JSON) for `navigator.credentials.create`; valid 5 minutes, once", body = Begun),
        (status = 400, description = "`invalid_request`: a name over 64 characters or a malformed body", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`session_invalid`, `session_revoked` (or an expired enrollment flow)", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`two_step_not_available`, or `step_up_required`: the account already has a method and the session did not pass 2SV in the last 15 minutes", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`two_step_disabled`: 2SV is not enabled for the organization", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn start_webauthn(
    State(state): State<AppState>,
    Meta(meta): Meta,
    BodyThen(Json(body), caller): BodyThen<Json<NameBody>, Caller>,
) -> ApiResult<Json<Begun>> {
    Ok(Json(webauthn::begin_registration(&state, &caller, body.name.as_deref(), &meta).await?.into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct KeyBody {
    challenge_id: String,
    /// Overrides the name given at the start.
    #[serde(default)]
    name: Option<String>,
    /// The `PublicKeyCredential` from `navigator.credentials.create`, as JSON.
    #[schema(value_type = Object)]
    credential: Value,
}

#[utoipa::path(
    post,
    path = "/api/v1/me/two-step/webauthn/confirm",
    tag = "me",
    summary = "Enable the security key or passkey that answered the challenge",
    request_body = KeyBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "As the authenticator confirmation", body = Confirmed),
        (status = 400, description = "`invalid_request`: an unknown, used or expired `challenge_id` (or another session's), or a malformed credential", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`invalid_code`: the credential does not verify (origin, relying party, signature)", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`two_step_not_available` (contacts)", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`conflict`: the key is already registered; `two_step_disabled`", body = crate::api::doc::ErrorBody),
        (status = 423, description = "`two_step_locked`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn confirm_webauthn(
    State(state): State<AppState>,
    Meta(meta): Meta,
    BodyThen(Json(body), caller): BodyThen<Json<KeyBody>, Caller>,
) -> ApiResult<Json<Confirmed>> {
    let confirmed = webauthn::confirm_registration(
        &state,
        &caller,
        &body.challenge_id,
        body.name.as_deref(),
        &body.credential,
        &meta,
    )
    .await?;
    Ok(Json(confirmed.into()))
}

#[utoipa::path(
    delete,
    path = "/api/v1/me/two-step/methods/{id}",
    tag = "me",
    summary = "Remove one method by id",
    params(("id" = i64, Path, description = "The method's id, from `GET /api/v1/me/two-step`")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed; remembered devices are forgotten"),
        (status = 400, description = "`invalid_request`: not a number", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`session_invalid`, `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`step_up_required` or `two_step_not_available`", body = crate::api::doc::ErrorBody),
        (status = 404, description = "`not_found`: no such method of this user", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`method_required` or `two_step_disabled`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn delete_method(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    me::remove(&state, &caller, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/me/two-step/verify/webauthn",
    tag = "me",
    summary = "Options to confirm it is you with a security key or passkey",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`challenge_id` and `options` (`PublicKeyCredentialRequestOptions`); answer at `POST /api/v1/me/two-step/verify` with `method` `webauthn`", body = Begun),
        (status = 400, description = "`invalid_request`: no key", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`session_invalid`, `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`two_step_not_available` (contacts)", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`two_step_disabled`: 2SV is not enabled for the organization", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn step_up_webauthn(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Begun>> {
    Ok(Json(webauthn::begin_step_up(&state, &caller).await?.into()))
}
