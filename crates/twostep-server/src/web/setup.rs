//! Pages of SPEC §12: `/setup/{token}` (choose a password on a setup link, then on as
//! after a sign-in), the access-code step of `/login/enroll`, and "Change password" on
//! `/settings/security`.

use super::ctx::{self, CsrfForm, Ctx, Posted};
use super::signin::{flow_cookie, session_cookie, start_over};
use super::{error_page, i18n};
use crate::api::error::Status as _;
use crate::service::Refusal;
use crate::service::auth::LoginOutcome;
use crate::service::users;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{Value, context};
use serde::Deserialize;
use twostep_core::domain::Password;

const CLIENT: &str = "web";

/// The reasons of a weak password, in the reader's language.
pub fn weak_reasons(ctx: &Ctx, e: &Refusal) -> Vec<String> {
    match e {
        Refusal::WeakPassword { reasons } => {
            let t = i18n::table(ctx.lang);
            reasons.iter().map(|r| t.get(&format!("weak_{}", r.as_str())).to_owned()).collect()
        }
        _ => Vec::new(),
    }
}

fn expired(ctx: &Ctx) -> Response {
    let t = i18n::table(ctx.lang);
    ctx.message(StatusCode::GONE, t.get("setup_expired_title"), t.get("err_link_expired"))
}

fn setup_render(
    ctx: &Ctx,
    status: StatusCode,
    token: &str,
    username: &str,
    error: Option<String>,
    reasons: Vec<String>,
) -> Response {
    ctx.page(status, "setup.html", context! { token, username, error, reasons })
}

pub async fn setup_page(ctx: Ctx, State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match users::setup_link_owner(&state, &token).await {
        Ok((_, account)) => setup_render(&ctx, StatusCode::OK, &token, &account.username, None, Vec::new()),
        Err(Refusal::LinkExpired) => expired(&ctx),
        Err(e) => error_page(&ctx, &e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SetupForm {
    csrf: String,
    password: String,
    confirm: String,
}

impl CsrfForm for SetupForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn setup_submit(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(token): Path<String>,
    Posted(form): Posted<SetupForm>,
) -> Response {
    let username = match users::setup_link_owner(&state, &token).await {
        Ok((_, account)) => account.username,
        Err(Refusal::LinkExpired) => return expired(&ctx),
        Err(e) => return error_page(&ctx, &e),
    };
    if form.password != form.confirm {
        let t = i18n::table(ctx.lang);
        let message = t.get("passwords_differ").to_owned();
        return setup_render(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &token, &username, Some(message), Vec::new());
    }
    match users::complete_setup(&state, &token, Password::new(form.password), CLIENT, &ctx.meta).await {
        Ok(outcome) => after_password(&ctx, &state, outcome),
        Err(Refusal::LinkExpired) => expired(&ctx),
        Err(e @ Refusal::WeakPassword { .. }) => {
            let reasons = weak_reasons(&ctx, &e);
            setup_render(&ctx, e.status(), &token, &username, Some(i18n::error(ctx.lang, &e)), reasons)
        }
        Err(e) => error_page(&ctx, &e),
    }
}

/// Where a browser goes once its password was accepted.
pub fn after_password(ctx: &Ctx, state: &AppState, outcome: LoginOutcome) -> Response {
    match outcome {
        LoginOutcome::Authenticated { session } | LoginOutcome::Remembered { session } => {
            ctx.redirect("/", &[session_cookie(ctx, state, &session.token), ctx.clear_cookie(ctx::FLOW)])
        }
        LoginOutcome::TwoStepRequired { flow, .. } => ctx.redirect("/login/two-step", &[flow_cookie(ctx, &flow.token)]),
        LoginOutcome::EnrollmentRequired { flow, .. } => {
            ctx.redirect("/login/enroll", &[flow_cookie(ctx, &flow.token)])
        }
    }
}

/// The access-code form shown instead of the method choice while the flow is locked.
pub fn access_code_render(ctx: &Ctx, status: StatusCode, error: Option<String>) -> Response {
    ctx.page(status, "access_code.html", context! { error })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AccessCodeForm {
    csrf: String,
    code: String,
}

impl CsrfForm for AccessCodeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn access_code_submit(
    ctx: Ctx,
    State(state): State<AppState>,
    Posted(form): Posted<AccessCodeForm>,
) -> Response {
    let Some(token) = ctx.flow_token() else {
        return start_over(&ctx, &Refusal::FlowExpired);
    };
    match users::present_access_code(&state, token, &form.code, &ctx.meta).await {
        Ok(()) => ctx.redirect("/login/enroll", &[]),
        Err(e @ (Refusal::FlowExpired | Refusal::InvalidCode { attempts_remaining: Some(0) })) => start_over(&ctx, &e),
        Err(e) => access_code_render(&ctx, e.status(), Some(i18n::error(ctx.lang, &e))),
    }
}

/// Context of the "Change password" card, for the settings page.
pub fn password_card(error: Option<String>, reasons: Vec<String>) -> Value {
    context! { error, reasons }
}
