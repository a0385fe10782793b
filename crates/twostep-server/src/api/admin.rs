//! Administration: `/api/v1/admin/…`, for admin-profile sessions of the organisation.

use crate::api::{Bearer, Json, Meta};
use crate::error::{ApiError, ApiResult};
use crate::service::admin::{self, Admin, TwoStepState};
use crate::service::auth;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use twostep_core::store::SessionView;

async fn session(state: &AppState, bearer: Bearer) -> ApiResult<SessionView> {
    auth::authenticate(state, &bearer.session()?).await
}

pub async fn two_step(State(state): State<AppState>, bearer: Bearer) -> ApiResult<Json<TwoStepState>> {
    let s = session(&state, bearer).await?;
    Ok(Json(admin::state_of(&state, &Admin::check(&s)?).await?))
}

pub async fn connect(State(state): State<AppState>, Meta(meta): Meta, bearer: Bearer) -> ApiResult<Json<TwoStepState>> {
    let s = session(&state, bearer).await?;
    Ok(Json(admin::connect(&state, &Admin::check(&s)?, &meta).await?))
}

pub async fn enable(State(state): State<AppState>, Meta(meta): Meta, bearer: Bearer) -> ApiResult<Json<TwoStepState>> {
    let s = session(&state, bearer).await?;
    Ok(Json(admin::set_enabled(&state, &Admin::check(&s)?, true, &meta).await?))
}

pub async fn disable(State(state): State<AppState>, Meta(meta): Meta, bearer: Bearer) -> ApiResult<Json<TwoStepState>> {
    let s = session(&state, bearer).await?;
    Ok(Json(admin::set_enabled(&state, &Admin::check(&s)?, false, &meta).await?))
}

#[derive(Deserialize)]
pub struct MandatoryBody {
    mandatory: bool,
}

pub async fn profile(
    State(state): State<AppState>,
    Meta(meta): Meta,
    bearer: Bearer,
    Path(slug): Path<String>,
    Json(body): Json<MandatoryBody>,
) -> ApiResult<Json<TwoStepState>> {
    let s = session(&state, bearer).await?;
    let admin = Admin::check(&s)?;
    Ok(Json(admin::set_profile_mandatory(&state, &admin, &slug, body.mandatory, &meta).await?))
}

pub async fn organization(
    State(state): State<AppState>,
    Meta(meta): Meta,
    bearer: Bearer,
    Json(body): Json<MandatoryBody>,
) -> ApiResult<Json<TwoStepState>> {
    let s = session(&state, bearer).await?;
    let admin = Admin::check(&s)?;
    Ok(Json(admin::set_organization_mandatory(&state, &admin, body.mandatory, &meta).await?))
}

pub async fn users(State(state): State<AppState>, bearer: Bearer) -> ApiResult<Json<Value>> {
    let s = session(&state, bearer).await?;
    let users = admin::users(&state, &Admin::check(&s)?).await?;
    Ok(Json(json!({ "users": users })))
}

pub async fn reset(
    State(state): State<AppState>,
    Meta(meta): Meta,
    bearer: Bearer,
    Path(username): Path<String>,
) -> ApiResult<StatusCode> {
    let s = session(&state, bearer).await?;
    admin::reset_user(&state, &Admin::check(&s)?, &username, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct AuditQuery {
    limit: Option<String>,
    before: Option<String>,
}

pub async fn audit(
    State(state): State<AppState>,
    bearer: Bearer,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let s = session(&state, bearer).await?;
    let admin = Admin::check(&s)?;
    let Query(q) = query.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let limit = match q.limit.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        None => None,
        Some(l) => Some(l.parse::<i64>().map_err(|_| ApiError::InvalidRequest("limit must be a number".into()))?),
    };
    let events = admin::audit_events(&state, &admin, limit, q.before.as_deref()).await?;
    Ok(Json(json!({ "events": events })))
}
