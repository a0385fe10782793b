//! Registered apps (SPEC §13): `/api/v1/admin/apps…`, for admin-profile sessions of the
//! organisation.

use crate::api::callers::Admin;
use crate::api::error::ApiResult;
use crate::api::{Json, Meta, Path};
use crate::extract::BodyThen;
use crate::service::oauth::{self, AppInput};
use crate::service::rfc3339;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// An app as shown: never its secret (only once, at creation or rotation).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AppView {
    pub client_id: String,
    pub slug: String,
    pub name: String,
    /// `confidential` (has a client secret) or `public` (PKCE only).
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub two_step: bool,
    pub redirect_uris: Vec<String>,
    pub created_at: String,
}

impl From<oauth::AppView> for AppView {
    fn from(a: oauth::AppView) -> Self {
        Self {
            client_id: a.client_id,
            slug: a.slug,
            name: a.name,
            kind: a.kind,
            two_step: a.two_step,
            redirect_uris: a.redirect_uris,
            created_at: rfc3339(a.created_at),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Registered {
    pub app: AppView,
    /// Shown once; only its hash is stored. `null` for a public app.
    pub client_secret: Option<String>,
}

impl From<oauth::Registered> for Registered {
    fn from(r: oauth::Registered) -> Self {
        Self { app: r.app.into(), client_secret: r.client_secret }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/apps",
    tag = "admin",
    summary = "The organization's registered apps",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`{\"apps\":[…]}` (never a secret)", body = Value),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn list(State(state): State<AppState>, admin: Admin) -> ApiResult<Json<Value>> {
    let apps: Vec<AppView> = oauth::list(&state, &admin).await?.into_iter().map(AppView::from).collect();
    Ok(Json(json!({ "apps": apps })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewAppBody {
    /// a-z, 0-9 and -, unique in the organization.
    slug: String,
    name: String,
    /// Exact redirect URIs: https, or http on localhost, or a private-use scheme.
    redirect_uris: Vec<String>,
    /// A public app (a browser or mobile app) has no secret and must use PKCE.
    #[serde(default)]
    public: bool,
    /// `false` for an app that cannot do 2SV: its sign-ins are refused (`access_denied`)
    /// whenever 2SV applies to the user.
    #[serde(default = "yes")]
    two_step: bool,
}

fn yes() -> bool {
    true
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/apps",
    tag = "admin",
    summary = "Register an app (OpenID Connect client)",
    request_body = NewAppBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "`{\"app\":{…},\"client_secret\"}`: the secret is shown this once (null for a public app)", body = Registered),
        (status = 400, description = "`invalid_request`: a bad slug, name or redirect URI", body = crate::api::doc::ErrorBody),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden`", body = crate::api::doc::ErrorBody),
        (status = 409, description = "`conflict`: the slug is taken", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Meta(meta): Meta,
    BodyThen(Json(body), admin): BodyThen<Json<NewAppBody>, Admin>,
) -> ApiResult<(StatusCode, Json<Registered>)> {
    let input = AppInput {
        slug: body.slug,
        name: body.name,
        redirect_uris: body.redirect_uris,
        public: body.public,
        two_step: body.two_step,
    };
    let registered = oauth::create(&state, &admin, input, &meta).await?;
    Ok((StatusCode::CREATED, Json(registered.into())))
}

#[utoipa::path(
    delete,
    path = "/api/v1/admin/apps/{client_id}",
    tag = "admin",
    summary = "Remove an app and everything issued to it",
    params(("client_id" = String, Path, description = "The app's client_id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed; its tokens stop working at once"),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden`", body = crate::api::doc::ErrorBody),
        (status = 404, description = "`not_found`", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Path(client_id): Path<String>,
    admin: Admin,
) -> ApiResult<StatusCode> {
    oauth::delete(&state, &admin, &client_id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/apps/{client_id}/secret",
    tag = "admin",
    summary = "A new client secret (the old one stops working at once)",
    params(("client_id" = String, Path, description = "The app's client_id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`{\"client_secret\"}`, shown this once", body = Value),
        (status = 401, description = "`session_invalid` or `session_revoked`", body = crate::api::doc::ErrorBody),
        (status = 403, description = "`forbidden`", body = crate::api::doc::ErrorBody),
        (status = 404, description = "`not_found`: no such confidential app", body = crate::api::doc::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
pub async fn secret(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Path(client_id): Path<String>,
    admin: Admin,
) -> ApiResult<Json<Value>> {
    let secret = oauth::new_secret(&state, &admin, &client_id, &meta).await?;
    Ok(Json(json!({ "client_secret": secret })))
}
