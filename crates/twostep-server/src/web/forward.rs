//! Forward authentication for reverse proxies (SPEC §13): nginx `auth_request`, Caddy
//! `forward_auth`, Traefik `ForwardAuth` ask `GET /auth/forward` about each request, with
//! the browser's cookies; and `/login?rd=` sends the browser back to the app afterwards,
//! only to addresses under `forward_auth.allowed_domains`.

use super::ctx::Ctx;
use crate::service::auth;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// The cookie that keeps `rd` while the user signs in.
pub const RETURN_COOKIE: &str = "twostep_rd";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ForwardQuery {
    /// `1`: answer a browser without a session with a redirect to the sign-in page
    /// (Caddy, Traefik) instead of 401 (nginx, whose `error_page` does the redirect).
    redirect: Option<String>,
    /// `2sv`: only sessions that passed a second step (403 otherwise).
    require: Option<String>,
}

/// `GET /auth/forward`.
pub async fn forward(
    ctx: Ctx,
    State(state): State<AppState>,
    Query(q): Query<ForwardQuery>,
    headers: HeaderMap,
) -> Response {
    let session = match ctx.session_token() {
        Some(token) => auth::authenticate(&state, token).await.ok(),
        None => None,
    };
    let Some(session) = session else {
        if matches!(q.redirect.as_deref(), Some("1" | "true")) {
            let original = original_url(&headers);
            let mut login = format!("{}/login", state.config.public_url.trim_end_matches('/'));
            if let Some(rd) = original {
                login.push_str("?rd=");
                login.extend(url::form_urlencoded::byte_serialize(rd.as_bytes()));
            }
            return (StatusCode::FOUND, [(header::LOCATION, login)]).into_response();
        }
        return (StatusCode::UNAUTHORIZED, "sign in first").into_response();
    };
    if q.require.as_deref() == Some("2sv") && !session.two_step_verified {
        return (StatusCode::FORBIDDEN, "2-Step Verification is required for this app").into_response();
    }
    let mut response = (StatusCode::OK, "ok").into_response();
    let set = |response: &mut Response, name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_bytes(value.as_bytes()) {
            response.headers_mut().insert(HeaderName::from_static(name), value);
        }
    };
    let (name, email) = match state.store.account_by_id(session.account_id).await {
        Ok(account) => {
            let name = if account.display_name.trim().is_empty() { account.username } else { account.display_name };
            (name, account.email.unwrap_or_default())
        }
        Err(e) => return super::error_page(&ctx, &e.into()),
    };
    set(&mut response, "remote-user", &session.username);
    set(&mut response, "remote-name", &name);
    set(&mut response, "remote-email", &email);
    set(&mut response, "remote-org", &session.org_slug);
    set(&mut response, "remote-profile", session.profile_slug.as_deref().unwrap_or_default());
    set(&mut response, "remote-two-step", if session.two_step_verified { "verified" } else { "no" });
    response
}

/// The address the proxy was asked for, from `X-Forwarded-Proto`, `-Host` and `-Uri`.
fn original_url(headers: &HeaderMap) -> Option<String> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let host = get("x-forwarded-host")?;
    let proto = get("x-forwarded-proto").unwrap_or("https");
    let uri = get("x-forwarded-uri").unwrap_or("/");
    Some(format!("{proto}://{host}{uri}"))
}

/// `rd` as a place to return to, or `None`: an absolute http(s) address (https when
/// Twostep itself is on https) without user information, whose host is Twostep's own or
/// one of `forward_auth.allowed_domains` or under it. Everything else — `//evil`,
/// `/\evil`, `https://allowed@evil`, encoded tricks — is refused, so `/login` is no open
/// redirect.
pub fn safe_return(state: &AppState, rd: &str) -> Option<String> {
    if rd.len() > 2000 || rd.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') {
        return None;
    }
    let url = url::Url::parse(rd).ok()?;
    let https_only = state.config.public_url_is_https();
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && !https_only);
    if !scheme_ok || !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    let url::Host::Domain(host) = url.host()? else { return None };
    let host = host.to_ascii_lowercase();
    let own = state.config.public_host().to_ascii_lowercase();
    let allowed = host == own
        || state.config.forward_auth.allowed_domains.iter().any(|d| {
            let d = d.trim().trim_start_matches('.').to_ascii_lowercase();
            host == d || host.ends_with(&format!(".{d}"))
        });
    allowed.then(|| url.to_string())
}
