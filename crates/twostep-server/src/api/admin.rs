//! Administration: `/api/v1/admin/…`, for admin-profile sessions of the organisation.

use crate::api::callers::Admin;
use crate::api::error::ApiResult;
use crate::api::{Json, Meta, Path};
use crate::extract::BodyThen;
use crate::service::Refusal;
use crate::service::admin;
use crate::service::rfc3339;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProfileState {
    pub slug: String,
    pub name: String,
    pub mandatory: bool,
    pub users: i64,
    pub enrolled: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TwoStepState {
    pub addon: &'static str,
    pub enabled: bool,
    pub mandatory_for_organization: bool,
    pub profiles: Vec<ProfileState>,
    /// Days users whom 2SV becomes mandatory for may still skip enrolling (SPEC §14).
    pub enrollment_period_days: i64,
    /// Days a passed second step is remembered on a device (SPEC §14); 0: off.
    pub remember_device_days: i64,
}

impl From<admin::TwoStepState> for TwoStepState {
    fn from(s: admin::TwoStepState) -> Self {
        let profiles = s
            .profiles
            .into_iter()
            .map(|p| ProfileState {
                slug: p.slug,
                name: p.name,
                mandatory: p.mandatory,
                users: p.users,
                enrolled: p.enrolled,
            })
            .collect();
        Self {
            addon: s.addon,
            enabled: s.enabled,
            mandatory_for_organization: s.mandatory_for_organization,
            profiles,
            enrollment_period_days: s.enrollment_period_days,
            remember_device_days: s.remember_device_days,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NamedMethod {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserRow {
    pub username: String,
    pub profile: Option<String>,
    pub kind: &'static str,
    pub required: bool,
    /// The kinds of method enabled, each once.
    pub methods: Vec<&'static str>,
    /// Every method by type and name (SPEC §14).
    pub method_names: Vec<NamedMethod>,
    pub last_two_step_at: Option<String>,
    /// Until when the user may still skip enrolling (SPEC §14), while that is ahead.
    pub enroll_by: Option<String>,
    /// Devices whose second step is remembered (SPEC §14).
    pub remembered_devices: i64,
}

impl From<admin::UserRow> for UserRow {
    fn from(r: admin::UserRow) -> Self {
        Self {
            username: r.username,
            profile: r.profile,
            kind: r.kind,
            required: r.required,
            methods: r.methods,
            method_names: r.method_names.into_iter().map(|m| NamedMethod { kind: m.kind, name: m.name }).collect(),
            last_two_step_at: r.last_two_step_at.map(rfc3339),
            enroll_by: r.enroll_by.map(rfc3339),
            remembered_devices: r.remembered_devices,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditItem {
    pub id: i64,
    pub at: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub actor: Option<String>,
    pub subject: Option<String>,
    pub client: Option<String>,
    pub ip: Option<String>,
    pub outcome: String,
}

impl From<admin::AuditItem> for AuditItem {
    fn from(e: admin::AuditItem) -> Self {
        Self {
            id: e.id,
            at: rfc3339(e.at),
            kind: e.kind,
            actor: e.actor,
            subject: e.subject,
            client: e.client,
            ip: e.ip,
            outcome: e.outcome,
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/two-step",
    tag = "admin",
    summary = "2SV state of the organization",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "State", body = TwoStepState),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn two_step(State(state): State<AppState>, admin: Admin) -> ApiResult<Json<TwoStepState>> {
    Ok(Json(admin::state_of(&state, &admin).await?.into()))
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/two-step/connect",
    tag = "admin",
    summary = "Connect the add-on",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "State", body = TwoStepState),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden`", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`addon_unavailable`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn connect(State(state): State<AppState>, Meta(meta): Meta, admin: Admin) -> ApiResult<Json<TwoStepState>> {
    Ok(Json(admin::connect(&state, &admin, &meta).await?.into()))
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/two-step/enable",
    tag = "admin",
    summary = "Enable 2SV",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "State", body = TwoStepState),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden`", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`addon_unavailable` or `addon_not_connected`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn enable(State(state): State<AppState>, Meta(meta): Meta, admin: Admin) -> ApiResult<Json<TwoStepState>> {
    Ok(Json(admin::set_enabled(&state, &admin, true, &meta).await?.into()))
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/two-step/disable",
    tag = "admin",
    summary = "Disable 2SV (enrollments are kept)",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "State", body = TwoStepState),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden`, or `step_up_required`: an administrator with a method must have passed 2SV in the last 15 minutes", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`addon_unavailable` or `addon_not_connected`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn disable(State(state): State<AppState>, Meta(meta): Meta, admin: Admin) -> ApiResult<Json<TwoStepState>> {
    Ok(Json(admin::set_enabled(&state, &admin, false, &meta).await?.into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct MandatoryBody {
    mandatory: bool,
}

#[utoipa::path(
    put,
    path = "/api/v1/admin/two-step/profiles/{slug}",
    tag = "admin",
    summary = "Make one profile mandatory or optional",
    request_body = MandatoryBody,
    params(("slug" = String, Path, description = "Profile slug")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "State", body = TwoStepState),
        (status = 400, description = "`invalid_request`: malformed JSON or a missing field", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden`, or `step_up_required` (making it optional): an administrator with a method must have passed 2SV in the last 15 minutes", body = crate::api::doc::ErrorBody),
        (status = 404, description = "`not_found`", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`addon_unavailable` or `addon_not_connected`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn profile(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Path(slug): Path<String>,
    BodyThen(Json(body), admin): BodyThen<Json<MandatoryBody>, Admin>,
) -> ApiResult<Json<TwoStepState>> {
    Ok(Json(admin::set_profile_mandatory(&state, &admin, &slug, body.mandatory, &meta).await?.into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DaysBody {
    /// 0 to 90.
    days: i64,
}

#[utoipa::path(
    put,
    path = "/api/v1/admin/two-step/remember-device",
    tag = "admin",
    summary = "Days a passed second step is remembered on a device (SPEC §14); 0 turns it off",
    request_body = DaysBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "State, with `remember_device_days`", body = TwoStepState),
        (status = 400, description = "`invalid_request`: days outside 0..90, malformed JSON", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden`, or `step_up_required` (a longer time): an administrator with a method must have passed 2SV in the last 15 minutes", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`addon_unavailable` or `addon_not_connected`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn remember_device(
    State(state): State<AppState>,
    Meta(meta): Meta,
    BodyThen(Json(body), admin): BodyThen<Json<DaysBody>, Admin>,
) -> ApiResult<Json<TwoStepState>> {
    Ok(Json(admin::set_days(&state, &admin, admin::DaySetting::RememberDevice, body.days, &meta).await?.into()))
}

#[utoipa::path(
    put,
    path = "/api/v1/admin/two-step/enrollment-period",
    tag = "admin",
    summary = "Days users whom 2SV becomes mandatory for may still skip enrolling (SPEC §14)",
    request_body = DaysBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "State, with `enrollment_period_days`", body = TwoStepState),
        (status = 400, description = "`invalid_request`: days outside 0..90, malformed JSON", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden`, or `step_up_required` (a longer period): an administrator with a method must have passed 2SV in the last 15 minutes", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`addon_unavailable` or `addon_not_connected`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn enrollment_period(
    State(state): State<AppState>,
    Meta(meta): Meta,
    BodyThen(Json(body), admin): BodyThen<Json<DaysBody>, Admin>,
) -> ApiResult<Json<TwoStepState>> {
    Ok(Json(admin::set_days(&state, &admin, admin::DaySetting::EnrollmentPeriod, body.days, &meta).await?.into()))
}

#[utoipa::path(
    put,
    path = "/api/v1/admin/two-step/organization",
    tag = "admin",
    summary = "Make every profile mandatory or optional",
    request_body = MandatoryBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "State", body = TwoStepState),
        (status = 400, description = "`invalid_request`: malformed JSON or a missing field", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden`, or `step_up_required` (making it optional): an administrator with a method must have passed 2SV in the last 15 minutes", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`addon_unavailable` or `addon_not_connected`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn organization(
    State(state): State<AppState>,
    Meta(meta): Meta,
    BodyThen(Json(body), admin): BodyThen<Json<MandatoryBody>, Admin>,
) -> ApiResult<Json<TwoStepState>> {
    Ok(Json(admin::set_organization_mandatory(&state, &admin, body.mandatory, &meta).await?.into()))
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/two-step/users",
    tag = "admin",
    summary = "Enrollment report",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every account", body = crate::api::doc::UsersDoc),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn users(State(state): State<AppState>, admin: Admin) -> ApiResult<Json<Value>> {
    let users: Vec<UserRow> = admin::users(&state, &admin).await?.into_iter().map(UserRow::from).collect();
    Ok(Json(json!({ "users": users })))
}

#[utoipa::path(
    delete,
    path = "/api/v1/admin/users/{username}/two-step",
    tag = "admin",
    summary = "Reset a user's 2SV (lost phone)",
    params(("username" = String, Path, description = "Username (any case)")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Methods and recovery codes removed, sessions ended"),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden`, or `step_up_required`: an administrator with a method must have passed 2SV in the last 15 minutes", body = crate::api::doc::ErrorBody),
        (status = 404, description = "`not_found`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn reset(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Path(username): Path<String>,
    admin: Admin,
) -> ApiResult<StatusCode> {
    admin::reset_user(&state, &admin, &username, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct AuditQuery {
    limit: Option<String>,
    before: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/audit",
    tag = "admin",
    summary = "Audit log, newest first",
    params(("limit" = Option<i64>, Query, description = "1 to 100, default 50"), ("before" = Option<String>, Query, description = "An event `id` from the previous page, or an RFC 3339 time")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Events", body = crate::api::doc::EventsDoc),
        (status = 400, description = "`invalid_request`: bad `limit` or `before`", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn audit(
    State(state): State<AppState>,
    admin: Admin,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query.map_err(|e| Refusal::InvalidRequest(e.body_text()))?;
    let limit = match q.limit.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        None => None,
        Some(l) => Some(l.parse::<i64>().map_err(|_| Refusal::InvalidRequest("limit must be a number".into()))?),
    };
    let events: Vec<AuditItem> = admin::audit_events(&state, &admin, limit, q.before.as_deref())
        .await?
        .into_iter()
        .map(AuditItem::from)
        .collect();
    Ok(Json(json!({ "events": events })))
}
