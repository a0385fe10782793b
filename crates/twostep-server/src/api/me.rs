//! The user's own methods and sessions: `/api/v1/me/…`.

use crate::api::login::code_method;
use crate::api::{Bearer, Json, Meta};
use crate::error::{ApiError, ApiResult};
use crate::service::auth;
use crate::service::me::{self, Caller};
use crate::service::rfc3339;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use twostep_core::domain::MethodKind;

async fn caller(state: &AppState, bearer: Bearer) -> ApiResult<Caller> {
    me::caller(state, &bearer.session()?).await
}

pub async fn overview(State(state): State<AppState>, bearer: Bearer) -> ApiResult<Json<me::Overview>> {
    let caller = caller(&state, bearer).await?;
    Ok(Json(me::overview(&state, &caller).await?))
}

pub async fn start_totp(State(state): State<AppState>, bearer: Bearer) -> ApiResult<Json<me::TotpEnrollment>> {
    let caller = caller(&state, bearer).await?;
    Ok(Json(me::start_totp(&state, &caller).await?))
}

#[derive(Deserialize)]
pub struct CodeBody {
    code: String,
}

pub async fn confirm_totp(
    State(state): State<AppState>,
    Meta(meta): Meta,
    bearer: Bearer,
    Json(body): Json<CodeBody>,
) -> ApiResult<Json<me::Confirmed>> {
    let caller = caller(&state, bearer).await?;
    Ok(Json(me::confirm(&state, &caller, MethodKind::Totp, &body.code, &meta).await?))
}

pub async fn delete_totp(State(state): State<AppState>, Meta(meta): Meta, bearer: Bearer) -> ApiResult<StatusCode> {
    let caller = caller(&state, bearer).await?;
    me::disable(&state, &caller, MethodKind::Totp, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct PhoneBody {
    phone: String,
}

pub async fn start_sms(
    State(state): State<AppState>,
    Meta(meta): Meta,
    bearer: Bearer,
    Json(body): Json<PhoneBody>,
) -> ApiResult<impl IntoResponse> {
    let caller = caller(&state, bearer).await?;
    Ok((StatusCode::ACCEPTED, Json(me::start_sms(&state, &caller, &body.phone, &meta).await?)))
}

pub async fn confirm_sms(
    State(state): State<AppState>,
    Meta(meta): Meta,
    bearer: Bearer,
    Json(body): Json<CodeBody>,
) -> ApiResult<Json<me::Confirmed>> {
    let caller = caller(&state, bearer).await?;
    Ok(Json(me::confirm(&state, &caller, MethodKind::Sms, &body.code, &meta).await?))
}

pub async fn delete_sms(State(state): State<AppState>, Meta(meta): Meta, bearer: Bearer) -> ApiResult<StatusCode> {
    let caller = caller(&state, bearer).await?;
    me::disable(&state, &caller, MethodKind::Sms, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn recovery_codes(State(state): State<AppState>, Meta(meta): Meta, bearer: Bearer) -> ApiResult<Json<Value>> {
    let caller = caller(&state, bearer).await?;
    let codes = me::regenerate_recovery_codes(&state, &caller, &meta).await?;
    Ok(Json(json!({ "recovery_codes": codes })))
}

#[derive(Deserialize)]
pub struct StepUpBody {
    method: String,
    code: String,
}

/// `POST /api/v1/me/two-step/verify`: "confirm it's you" within a session.
pub async fn step_up(
    State(state): State<AppState>,
    Meta(meta): Meta,
    bearer: Bearer,
    Json(body): Json<StepUpBody>,
) -> ApiResult<Json<Value>> {
    let caller = caller(&state, bearer).await?;
    let method = code_method(&body.method)?;
    let remaining = me::step_up(&state, &caller, method, &body.code, &meta).await?;
    let mut out = json!({ "verified": true, "valid_for": twostep_core::flow::STEP_UP_WINDOW });
    if let Some(n) = remaining {
        out["recovery_codes_remaining"] = json!(n);
    }
    Ok(Json(out))
}

pub async fn step_up_sms(
    State(state): State<AppState>,
    Meta(meta): Meta,
    bearer: Bearer,
) -> ApiResult<impl IntoResponse> {
    let caller = caller(&state, bearer).await?;
    Ok((StatusCode::ACCEPTED, Json(me::send_step_up_sms(&state, &caller, &meta).await?)))
}

pub async fn sessions(State(state): State<AppState>, bearer: Bearer) -> ApiResult<Json<Value>> {
    let current = auth::authenticate(&state, &bearer.session()?).await?;
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

pub async fn end_session(
    State(state): State<AppState>,
    Meta(meta): Meta,
    bearer: Bearer,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let current = auth::authenticate(&state, &bearer.session()?).await?;
    let own = state.store.sessions_of_account(current.account_id, state.now()).await?;
    let Some(target) = own.into_iter().find(|s| s.id == id) else {
        return Err(ApiError::NotFound("session".into()));
    };
    auth::logout(&state, &target, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
