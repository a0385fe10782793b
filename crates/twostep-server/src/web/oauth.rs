//! The browser's side of OpenID Connect (SPEC §13): `/oauth2/authorize` keeps the
//! request, lets Twostep's own sign-in pages (password, second step, enrollment, "confirm
//! it's you") do their work, and comes back through `/oauth2/authorize/resume` — the home
//! page sends the browser there while a request is kept; `/oauth2/logout` ends the
//! browser's session and every token issued from it.

use super::ctx::{self, Ctx, add_cookie};
use super::{error_page, i18n};
use crate::service::oauth::{self, AuthorizeParams, Next, Refused};
use crate::service::{RequestMeta, auth};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use twostep_core::crypto::Token;

/// The cookie that carries an authorization request across the sign-in pages.
pub const AUTHZ_COOKIE: &str = "twostep_authz";

fn handle_hash(handle: &str) -> Vec<u8> {
    Sha256::digest(handle.as_bytes()).to_vec()
}

/// A redirect to an app (302, as OAuth clients and RFC 6749 §4.1.2 examples expect).
fn to_app(ctx: &Ctx, location: &str) -> Response {
    let mut response = (StatusCode::FOUND, [(header::LOCATION, location.to_owned())]).into_response();
    add_cookie(&mut response, &ctx.clear_cookie(AUTHZ_COOKIE));
    response
}

fn refused_page(ctx: &Ctx, text: &str) -> Response {
    let t = i18n::table(ctx.lang);
    ctx.message(StatusCode::BAD_REQUEST, t.get("error_title"), text)
}

/// `GET /oauth2/authorize`: the request is checked, kept, and answered at once when the
/// browser's session will do; otherwise the sign-in pages take over and come back to
/// [`resume`].
pub async fn authorize(ctx: Ctx, State(state): State<AppState>, Query(mut params): Query<AuthorizeParams>) -> Response {
    params.earlier_session = match ctx.session_token() {
        Some(token) => auth::authenticate(&state, token).await.ok().map(|s| s.id),
        None => None,
    };
    let checked = match oauth::check(&state, params).await {
        Ok(Ok(checked)) => checked,
        Ok(Err(Refused::Page(text))) => return refused_page(&ctx, &text),
        Ok(Err(Refused::Redirect(to))) => return to_app(&ctx, &to),
        Err(e) => return error_page(&ctx, &e),
    };
    let handle = Token::generate();
    let params = serde_json::to_string(&checked.params).unwrap_or_default();
    let now = state.now();
    if let Err(e) = state.store.create_request(&handle_hash(handle.expose()), checked.app.id, &params, now).await {
        return error_page(&ctx, &e.into());
    }
    carry_on(&ctx, &state, &checked, now, handle.expose(), false).await
}

/// `GET /oauth2/authorize/resume`: back from the sign-in pages (the home page sends the
/// browser here while a request is kept).
pub async fn resume(ctx: Ctx, State(state): State<AppState>) -> Response {
    let Some(handle) = ctx.cookie(AUTHZ_COOKIE).map(str::to_owned) else {
        return ctx.redirect("/", &[]);
    };
    let request = match state.store.request_by_handle(&handle_hash(&handle), state.now()).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            let t = i18n::table(ctx.lang);
            let mut response = ctx.message(StatusCode::BAD_REQUEST, t.get("error_title"), t.get("err_flow_expired"));
            add_cookie(&mut response, &ctx.clear_cookie(AUTHZ_COOKIE));
            return response;
        }
        Err(e) => return error_page(&ctx, &e.into()),
    };
    let params: AuthorizeParams = serde_json::from_str(&request.params).unwrap_or_default();
    let checked = match oauth::check(&state, params).await {
        Ok(Ok(checked)) => checked,
        Ok(Err(Refused::Page(text))) => return refused_page(&ctx, &text),
        Ok(Err(Refused::Redirect(to))) => return to_app(&ctx, &to),
        Err(e) => return error_page(&ctx, &e),
    };
    carry_on(&ctx, &state, &checked, request.created_at, &handle, true).await
}

/// `after_sign_in`: the browser comes from the sign-in pages, whose forms' CSP would stop
/// a cross-site redirect (see [`Ctx::continue_to`]).
async fn carry_on(
    ctx: &Ctx,
    state: &AppState,
    checked: &oauth::Checked,
    requested_at: i64,
    handle: &str,
    after_sign_in: bool,
) -> Response {
    let session = match ctx.session_token() {
        Some(token) => auth::authenticate(state, token).await.ok(),
        None => None,
    };
    let meta: &RequestMeta = &ctx.meta;
    let keep = ctx.set_cookie(AUTHZ_COOKIE, handle, twostep_core::oauth::REQUEST_TTL);
    match oauth::decide(state, checked, session, requested_at, meta).await {
        Ok(Next::Redirect(to)) => {
            if let Ok(Some(r)) = state.store.request_by_handle(&handle_hash(handle), state.now()).await {
                let _ = state.store.delete_request(r.id).await;
            }
            if after_sign_in { ctx.continue_to(&to, &[ctx.clear_cookie(AUTHZ_COOKIE)]) } else { to_app(ctx, &to) }
        }
        Ok(Next::SignIn { fresh }) => {
            let org = match state.store.org_by_id(checked.app.org_id).await {
                Ok(org) => org.slug,
                Err(e) => return error_page(ctx, &e.into()),
            };
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            query.append_pair("app", &checked.app.name);
            query.append_pair("organization", &org);
            if let Some(hint) = checked.params.login_hint.as_deref() {
                query.append_pair("username", hint);
            }
            if fresh {
                query.append_pair("prompt", "login");
            }
            let target = format!("/login?{}", query.finish());
            ctx.redirect(&target, &[keep])
        }
        Ok(Next::StepUp) => ctx.redirect("/settings/security/confirm?then=authorize", &[keep]),
        Err(e) => error_page(ctx, &e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LogoutParams {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    client_id: Option<String>,
    state: Option<String>,
}

/// RP-initiated logout (OIDC RP-Initiated Logout 1.0): the browser's Twostep session
/// ends — and with it every token issued from it — then back to the app when it named
/// one of its registered addresses.
pub async fn logout(ctx: Ctx, State(state): State<AppState>, Query(params): Query<LogoutParams>) -> Response {
    if let Some(token) = ctx.session_token()
        && let Ok(session) = auth::authenticate(&state, token).await
        && let Err(e) = auth::logout(&state, &session, &ctx.meta).await
    {
        return error_page(&ctx, &e);
    }
    let clear = ctx.clear_cookie(ctx::SESSION);
    let target = oauth::logout_target(
        &state,
        params.id_token_hint.as_deref(),
        params.client_id.as_deref(),
        params.post_logout_redirect_uri.as_deref(),
    )
    .await;
    match target {
        Ok(Some(uri)) => {
            let mut url = match url::Url::parse(&uri) {
                Ok(u) => u,
                Err(_) => return ctx.redirect("/login", &[clear]),
            };
            if let Some(s) = params.state.as_deref() {
                url.query_pairs_mut().append_pair("state", s);
            }
            let mut response = to_app(&ctx, url.as_str());
            add_cookie(&mut response, &clear);
            response
        }
        Ok(None) => ctx.redirect("/login", &[clear, ctx.flash_cookie("signed_out", None)]),
        Err(e) => error_page(&ctx, &e),
    }
}
