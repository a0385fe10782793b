//! Server-rendered pages (SPEC §7), over the same service calls as the JSON API: no rule
//! is written here, only how a browser reaches the rules and how their answers read.
//!
//! Every form is a POST with a CSRF token; a success redirects (POST/redirect/GET), a
//! refusal renders the same form again with the message beside the field it concerns.
//! Pages that show a secret (the TOTP key, recovery codes) are the answer to the POST that
//! created it, so the secret never sits behind a URL; `Cache-Control: no-store` is set on
//! every response by `startup`.

mod account;
mod admin;
mod callers;
mod ctx;
mod forward;
pub(crate) mod i18n;
mod oauth;
mod setup;
mod signin;
mod templates;
mod users;

use crate::api::error::Status as _;
use crate::service::Refusal;
use crate::service::auth;
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ctx::{CsrfForm, Ctx, Posted};
use minijinja::{Value, context};
use serde::Deserialize;
use twostep_core::store::SessionView;

pub fn routes() -> Router<AppState> {
    use account::{Enroll, Settings};
    Router::new()
        .route("/", get(signin::home))
        .route("/login", get(signin::login_page).post(signin::login_submit))
        .route("/login/two-step", get(signin::two_step_page).post(signin::two_step_submit))
        .route("/login/two-step/sms", post(signin::two_step_sms))
        .route("/login/two-step/webauthn", post(signin::two_step_key))
        .route("/login/enroll/webauthn/options", post(account::key_options::<Enroll>))
        .route("/login/enroll/webauthn", post(account::key_confirm::<Enroll>))
        .route("/settings/security/webauthn/options", post(account::key_options::<Settings>))
        .route("/settings/security/webauthn", post(account::key_confirm::<Settings>))
        .route("/settings/security/methods/{id}/remove", post(account::remove_method))
        .route("/settings/security/confirm/webauthn", post(account::step_up_key))
        .route("/logout", post(signin::logout))
        .route("/login/enroll", get(account::enroll_page))
        .route("/login/enroll/skip", post(account::skip))
        .route("/login/enroll/access-code", post(setup::access_code_submit))
        .route("/setup/{token}", get(setup::setup_page).post(setup::setup_submit))
        .route("/settings/security/password", post(account::change_password))
        .route("/settings/security/access-code", post(account::access_code))
        .route("/login/enroll/totp", post(account::totp_start::<Enroll>))
        .route("/login/enroll/totp/confirm", post(account::totp_confirm::<Enroll>))
        .route("/login/enroll/sms", get(account::sms_page::<Enroll>).post(account::sms_start::<Enroll>))
        .route("/login/enroll/sms/confirm", post(account::sms_confirm::<Enroll>))
        .route("/settings/security", get(account::settings_page))
        .route("/settings/security/totp", post(account::totp_start::<Settings>))
        .route("/settings/security/totp/confirm", post(account::totp_confirm::<Settings>))
        .route("/settings/security/sms", get(account::sms_page::<Settings>).post(account::sms_start::<Settings>))
        .route("/settings/security/sms/confirm", post(account::sms_confirm::<Settings>))
        .route("/settings/security/{kind}/disable", post(account::disable))
        .route("/settings/security/recovery-codes", post(account::recovery_codes))
        .route("/settings/security/sessions/{id}/end", post(account::end_session))
        .route("/settings/security/devices/{id}/forget", post(account::forget_device))
        .route("/settings/security/confirm", get(account::step_up_page).post(account::step_up_submit))
        .route("/settings/security/confirm/sms", post(account::step_up_sms))
        .route("/admin/security", get(admin::page))
        .route("/admin/security/connect", post(admin::connect))
        .route("/admin/security/enable", post(admin::enable))
        .route("/admin/security/disable", post(admin::disable))
        .route("/admin/security/organization", post(admin::organization))
        .route("/admin/security/enrollment-period", post(admin::enrollment_period))
        .route("/admin/security/remember-device", post(admin::remember_device))
        .route("/admin/security/profiles/{slug}", post(admin::profile))
        .route("/admin/security/users/{username}/reset", get(admin::reset_page).post(admin::reset))
        .route("/admin/security/apps", post(admin::app_create))
        .route("/admin/security/apps/{client_id}/delete", post(admin::app_delete))
        .route("/admin/security/apps/{client_id}/secret", post(admin::app_secret))
        .route("/auth/forward", get(forward::forward))
        .route("/oauth2/authorize", get(oauth::authorize))
        .route("/oauth2/authorize/resume", get(oauth::resume))
        .route("/oauth2/logout", get(oauth::logout).post(oauth::logout))
        .route("/admin/users", get(users::list_page).post(users::create))
        .route("/admin/users.csv", get(users::csv))
        .route("/admin/users/{username}", get(users::user_page).post(users::edit))
        .route("/admin/users/{username}/disable", post(users::disable))
        .route("/admin/users/{username}/enable", post(users::enable))
        .route("/admin/users/{username}/delete", post(users::delete))
        .route("/admin/users/{username}/password-reset", post(users::password_reset))
        .route("/admin/users/{username}/access-code", post(users::access_code))
        .route("/admin/users/{username}/reset-two-step", post(users::reset_two_step))
        .route("/language", post(language))
        .route("/static/style.css", get(stylesheet))
        .route("/static/copy.js", get(script))
        .route("/static/webauthn.js", get(webauthn_script))
        .route("/dev/outbox", get(outbox))
}

/// "2026-11-28 14:05 UTC": times on the pages are in UTC, like the audit log.
fn when(ts: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(ts).ok().and_then(|t| t.format(&format).ok()).unwrap_or_default()
}

/// Who is signed in, for the header and the home page.
fn me(session: &SessionView) -> Value {
    context! {
        username => &session.username,
        org => &session.org_slug,
        profile => &session.profile_slug,
        admin => session.admin && session.kind == twostep_core::domain::AccountKind::User,
        client => &session.client,
        two_step_verified => session.two_step_verified,
        expires_at => when(session.expires_at),
        revoke_at => session.revoke_at.map(when),
    }
}

/// The signed-in session, or the answer that sends the browser to sign in.
async fn signed_in(ctx: &Ctx, state: &AppState) -> Result<SessionView, Response> {
    let Some(token) = ctx.session_token() else {
        return Err(ctx.redirect("/login", &[]));
    };
    match auth::authenticate(state, token).await {
        Ok(session) => Ok(session),
        Err(e @ (Refusal::SessionInvalid | Refusal::SessionRevoked)) => {
            Err(ctx.redirect("/login", &[ctx.clear_cookie(ctx::SESSION), ctx.flash_cookie(e.code(), None)]))
        }
        Err(e) => Err(error_page(ctx, &e)),
    }
}

/// A page that says what went wrong, in the reader's language.
fn error_page(ctx: &Ctx, e: &Refusal) -> Response {
    let t = i18n::table(ctx.lang);
    ctx.message(e.status(), t.get("error_title"), &i18n::error(ctx.lang, e))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LanguageForm {
    csrf: String,
    lang: String,
    next: String,
}

impl CsrfForm for LanguageForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The language switch: remembered in a cookie, then back to the same page.
async fn language(ctx: Ctx, Posted(form): Posted<LanguageForm>) -> Response {
    let lang = i18n::Lang::parse(&form.lang).unwrap_or(ctx.lang);
    // Only a path on this site: never an open redirect.
    let next = if form.next.starts_with('/') && !form.next.starts_with("//") && !form.next.contains('\\') {
        form.next.as_str()
    } else {
        "/"
    };
    ctx.redirect(next, &[ctx.lang_cookie(lang)])
}

const STYLESHEET: &str = include_str!("../../static/style.css");
const SCRIPT: &str = include_str!("../../static/copy.js");
/// The one script a method needs (SPEC §14): security keys and passkeys.
const WEBAUTHN_SCRIPT: &str = include_str!("../../static/webauthn.js");

async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], STYLESHEET)
        .into_response()
}

async fn script() -> Response {
    javascript(SCRIPT)
}

async fn webauthn_script() -> Response {
    javascript(WEBAUTHN_SCRIPT)
}

fn javascript(text: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], text)
        .into_response()
}

/// Demo mode only: the text messages the `log` provider "sent".
async fn outbox(ctx: Ctx, State(state): State<AppState>) -> Response {
    let Some(outbox) = &state.outbox else {
        return Refusal::NotFound("page".into()).into_response();
    };
    let messages: Vec<Value> =
        outbox.messages().iter().map(|m| context! { to => &m.to, at => when(m.at), body => &m.body }).collect();
    ctx.page(StatusCode::OK, "outbox.html", context! { messages => messages })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_utc_to_the_minute() {
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
        let at = crate::service::parse_rfc3339("2026-11-28T14:05:09Z").unwrap();
        assert_eq!(when(at), "2026-11-28 14:05 UTC");
    }
}
