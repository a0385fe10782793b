//! Accounts and passwords (SPEC §12): `/api/v1/me/password`, `/api/v1/login/access-code`,
//! `/api/v1/setup/{token}` and the user administration under `/api/v1/admin/users`.

use crate::api::callers::{Admin, EnrollmentFlow, Session};
use crate::api::doc::{AccessCodeDoc, SetupLinkDoc};
use crate::api::error::ApiResult;
use crate::api::login::Issued;
use crate::api::{Json, Meta, Path};
use crate::extract::BodyThen;
use crate::service::Refusal;
use crate::service::auth::LoginOutcome;
use crate::service::rfc3339;
use crate::service::users::{self, CreateInput, ListInput, UpdateInput};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use twostep_core::domain::Password;

/// Secrets in an answer are never cached (SPEC §10).
const NO_STORE: [(header::HeaderName, &str); 1] = [(header::CACHE_CONTROL, "no-store")];

/// A user as the admin API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserInfo {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    /// `user` or `contact`.
    pub kind: &'static str,
    pub profile: Option<String>,
    pub disabled: bool,
    /// Whether 2SV is mandatory for this user now.
    pub required: bool,
    pub methods: Vec<&'static str>,
    /// Waiting for an access code after a 2SV reset.
    pub access_code_required: bool,
    pub last_sign_in_at: Option<String>,
    pub last_two_step_at: Option<String>,
}

impl From<users::UserInfo> for UserInfo {
    fn from(u: users::UserInfo) -> Self {
        Self {
            username: u.username,
            display_name: u.display_name,
            email: u.email,
            kind: u.kind,
            profile: u.profile,
            disabled: u.disabled,
            required: u.required,
            methods: u.methods,
            access_code_required: u.access_code_required,
            last_sign_in_at: u.last_sign_in_at.map(rfc3339),
            last_two_step_at: u.last_two_step_at.map(rfc3339),
        }
    }
}

impl From<users::SetupLink> for SetupLinkDoc {
    fn from(link: users::SetupLink) -> Self {
        Self { url: link.url, expires_at: rfc3339(link.expires_at) }
    }
}

impl From<users::AccessCode> for AccessCodeDoc {
    fn from(code: users::AccessCode) -> Self {
        Self { access_code: code.access_code, expires_at: rfc3339(code.expires_at) }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordBody {
    current_password: String,
    new_password: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/me/password",
    tag = "me",
    summary = "Change one's own password (other sessions end)",
    request_body = PasswordBody,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Changed; every other session of the account ended"),
        (status = 400, description = "`invalid_request`: malformed JSON or a missing field", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`invalid_credentials` (wrong current password) or `session_invalid`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`step_up_required`", body = crate::api::doc::ErrorBody),
        (status = 422, description = "`weak_password` (+`reasons`)", body = crate::api::doc::ErrorBody),
        (status = 429, description = "`rate_limited`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    Meta(meta): Meta,
    BodyThen(Json(body), Session(session)): BodyThen<Json<PasswordBody>, Session>,
) -> ApiResult<StatusCode> {
    users::change_own_password(
        &state,
        &session,
        Password::new(body.current_password),
        Password::new(body.new_password),
        &meta,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CodeBody {
    code: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/login/access-code",
    tag = "sign-in",
    summary = "Present an access code from an administrator (enrollment flow token, or a session after a reset)",
    request_body = CodeBody,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The flow (or the session's account) may enroll"),
        (status = 400, description = "`invalid_request`", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`invalid_code` (+`attempts_remaining` for a flow) or `flow_expired`", body = crate::api::doc::ErrorBody),
        (status = 423, description = "`two_step_locked` (a session's guesses count as second-step failures)", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn access_code(
    State(state): State<AppState>,
    Meta(meta): Meta,
    BodyThen(Json(body), EnrollmentFlow(flow)): BodyThen<Json<CodeBody>, EnrollmentFlow>,
) -> ApiResult<StatusCode> {
    users::present_access_code(&state, &flow, &body.code, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SetupBody {
    password: String,
    /// The client app, default `web`.
    client: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/setup/{token}",
    tag = "sign-in",
    summary = "Choose a password on a setup link (single use); answers like a sign-in",
    request_body = SetupBody,
    params(("token" = String, Path, description = "The token of the setup link")),
    responses(
        (status = 200, description = "As `POST /api/v1/login`", body = crate::api::doc::LoginResponse),
        (status = 400, description = "`invalid_request` or `unknown_client`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`account_disabled` or `two_step_unsupported_client`", body = crate::api::doc::ErrorBody),
        (status = 410, description = "`link_expired`: used, replaced or expired", body = crate::api::doc::ErrorBody),
        (status = 422, description = "`weak_password` (+`reasons`)", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn setup(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Path(token): Path<String>,
    Json(body): Json<SetupBody>,
) -> ApiResult<impl IntoResponse> {
    let client = body.client.unwrap_or_else(|| "web".into());
    let outcome = users::complete_setup(&state, &token, Password::new(body.password), &client, &meta).await?;
    Ok((NO_STORE, Json(login_json(outcome))))
}

pub fn login_json(outcome: LoginOutcome) -> Value {
    match outcome {
        LoginOutcome::Authenticated { session } => {
            json!({ "status": "authenticated", "session": Issued::from(session), "two_step_verified": false })
        }
        LoginOutcome::Remembered { session } => json!({
            "status": "authenticated",
            "session": Issued::from(session),
            "two_step_verified": true,
            "two_step_via": "remembered_device",
        }),
        LoginOutcome::TwoStepRequired { flow, methods } => {
            json!({ "status": "two_step_required", "flow": Issued::from(flow), "methods": methods })
        }
        LoginOutcome::EnrollmentRequired { flow, access_code_required, enroll_by } => json!({
            "status": "two_step_enrollment_required",
            "flow": Issued::from(flow),
            "methods_available": ["totp", "sms"],
            "access_code_required": access_code_required,
            // SPEC §14: until the deadline the user may skip (`POST /api/v1/login/skip-enrollment`).
            "enroll_by": enroll_by.map(crate::service::rfc3339),
            "can_skip": enroll_by.is_some(),
        }),
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    query: Option<String>,
    profile: Option<String>,
    two_step: Option<String>,
    limit: Option<String>,
    after: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/users",
    tag = "admin",
    summary = "Users of the organization, a page at a time",
    params(
        ("query" = Option<String>, Query, description = "Part of a username, display name or email"),
        ("profile" = Option<String>, Query, description = "Profile slug"),
        ("two_step" = Option<String>, Query, description = "`enrolled`, `not_enrolled` or `required_not_enrolled`"),
        ("limit" = Option<i64>, Query, description = "1 to 500, default 50"),
        ("after" = Option<String>, Query, description = "`next` of the previous page"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page", body = crate::api::doc::UserListDoc),
        (status = 400, description = "`invalid_request`", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden`", body = crate::api::doc::ErrorBody),
        (status = 404, description = "`not_found`: no such profile", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    admin: Admin,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query.map_err(|e| Refusal::InvalidRequest(e.body_text()))?;
    let limit = match q.limit.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        None => None,
        Some(l) => Some(l.parse::<i64>().map_err(|_| Refusal::InvalidRequest("limit must be a number".into()))?),
    };
    let input = ListInput { query: q.query, profile: q.profile, two_step: q.two_step, limit, after: q.after };
    let (users, next) = users::list(&state, &admin, input).await?;
    let users: Vec<UserInfo> = users.into_iter().map(UserInfo::from).collect();
    Ok(Json(json!({ "users": users, "next": next })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateBody {
    username: String,
    /// `user` (default) or `contact`.
    kind: Option<String>,
    profile: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    display_name: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/users",
    tag = "admin",
    summary = "Create a user, with a setup link shown once",
    request_body = CreateBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = crate::api::doc::CreatedUserDoc),
        (status = 400, description = "`invalid_request`: malformed JSON", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden`", body = crate::api::doc::ErrorBody),
        (status = 404, description = "`not_found`: no such profile", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`conflict`: the username is taken", body = crate::api::doc::ErrorBody),
        (status = 422, description = "`invalid_request` or `invalid_phone`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Meta(meta): Meta,
    BodyThen(Json(body), admin): BodyThen<Json<CreateBody>, Admin>,
) -> ApiResult<impl IntoResponse> {
    let input = CreateInput {
        username: body.username,
        kind: body.kind,
        profile: body.profile,
        email: body.email,
        phone: body.phone,
        display_name: body.display_name,
    };
    let (user, link) = users::create(&state, &admin, input, &meta).await?;
    Ok((
        StatusCode::CREATED,
        NO_STORE,
        Json(json!({ "user": UserInfo::from(user), "setup_link": SetupLinkDoc::from(link) })),
    ))
}

/// `Some(None)` for an explicit `null`, `None` when absent.
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UpdateBody {
    profile: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    email: Option<Option<String>>,
    display_name: Option<String>,
    disabled: Option<bool>,
}

#[utoipa::path(
    patch,
    path = "/api/v1/admin/users/{username}",
    tag = "admin",
    summary = "Change a user's profile, email, name, or disable/enable them",
    request_body = UpdateBody,
    params(("username" = String, Path, description = "Username (any case)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user", body = crate::api::doc::UserDoc),
        (status = 400, description = "`invalid_request`", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden` or `step_up_required`", body = crate::api::doc::ErrorBody),
        (status = 404, description = "`not_found`: no such user or profile", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`conflict`: one's own account", body = crate::api::doc::ErrorBody),
        (status = 422, description = "`invalid_request`: e.g. an email that is not an address", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Path(username): Path<String>,
    BodyThen(Json(body), admin): BodyThen<Json<UpdateBody>, Admin>,
) -> ApiResult<Json<Value>> {
    let input = UpdateInput {
        profile: body.profile,
        email: body.email,
        display_name: body.display_name,
        disabled: body.disabled,
    };
    let user = users::update(&state, &admin, &username, input, &meta).await?;
    Ok(Json(json!({ "user": UserInfo::from(user) })))
}

#[utoipa::path(
    delete,
    path = "/api/v1/admin/users/{username}",
    tag = "admin",
    summary = "Delete a user (the audit keeps the username)",
    params(("username" = String, Path, description = "Username (any case)")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden` or `step_up_required`", body = crate::api::doc::ErrorBody),
        (status = 404, description = "`not_found`", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`conflict`: one's own account", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Path(username): Path<String>,
    admin: Admin,
) -> ApiResult<StatusCode> {
    users::delete(&state, &admin, &username, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{username}/password-reset",
    tag = "admin",
    summary = "Reset a user's password: the old one dies at once; a new setup link",
    params(("username" = String, Path, description = "Username (any case)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The setup link, shown once", body = crate::api::doc::SetupLinkOnlyDoc),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden` or `step_up_required`", body = crate::api::doc::ErrorBody),
        (status = 404, description = "`not_found`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn password_reset(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Path(username): Path<String>,
    admin: Admin,
) -> ApiResult<impl IntoResponse> {
    let link = users::password_reset(&state, &admin, &username, &meta).await?;
    Ok((NO_STORE, Json(json!({ "setup_link": SetupLinkDoc::from(link) }))))
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{username}/access-code",
    tag = "admin",
    summary = "Issue a temporary access code (after a 2SV reset)",
    params(("username" = String, Path, description = "Username (any case)")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The code, shown once", body = crate::api::doc::AccessCodeDoc),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden`, `step_up_required` or `two_step_not_available`", body = crate::api::doc::ErrorBody),
        (status = 404, description = "`not_found`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn access_code_issue(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Path(username): Path<String>,
    admin: Admin,
) -> ApiResult<impl IntoResponse> {
    let code = users::issue_access_code(&state, &admin, &username, &meta).await?;
    Ok((StatusCode::CREATED, NO_STORE, Json(json!(AccessCodeDoc::from(code)))))
}
