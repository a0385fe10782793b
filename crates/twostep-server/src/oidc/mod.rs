//! The OpenID Connect face (SPEC §13) that apps call: discovery, JWKS, and the token,
//! userinfo, introspection and revocation endpoints. (The browser's side —
//! `/oauth2/authorize` over Twostep's own sign-in pages, and `/oauth2/logout` — is in
//! `web::oauth`.) Thin adapters over
//! [`crate::service::oauth`]; the app-facing endpoints answer in the RFC 6749 §5.2 error
//! shape (`{"error","error_description"}`) that OAuth clients expect.

pub mod keys;

use crate::service::oauth::{self, ClientCredentials, OAuthError};
use crate::state::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oauth2/jwks", get(jwks))
        .route("/oauth2/token", post(token))
        .route("/oauth2/userinfo", get(userinfo).post(userinfo))
        .route("/oauth2/introspect", post(introspect))
        .route("/oauth2/revoke", post(revoke))
}

fn json_response(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The status of an OAuth error (RFC 6749 §5.2: 401 for a client that failed to
/// authenticate, 400 for the others; 503 and 500 for the server's own trouble).
fn oauth_status(error: &str) -> u16 {
    match error {
        "invalid_client" => 401,
        "temporarily_unavailable" => 503,
        "server_error" => 500,
        _ => 400,
    }
}

fn oauth_error(e: OAuthError) -> Response {
    let status = oauth_status(e.error);
    let mut response = json_response(status, json!({ "error": e.error, "error_description": e.description }));
    if status == 401 {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"twostep\""));
    }
    response
}

fn internal(e: crate::service::Refusal) -> Response {
    oauth_error(OAuthError::from(e))
}

async fn discovery(State(state): State<AppState>) -> Response {
    json_response(200, oauth::discovery(&state))
}

async fn jwks(State(state): State<AppState>) -> Response {
    match keys::jwks(&state).await {
        Ok(doc) => json_response(200, doc),
        Err(e) => internal(e),
    }
}

/// A form body (`application/x-www-form-urlencoded`) as the OAuth endpoints take it.
fn form<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Result<T, OAuthError> {
    serde_urlencoded::from_bytes(body)
        .map_err(|e| OAuthError::new("invalid_request", format!("the form could not be read: {e}")))
}

/// Client credentials from `Authorization: Basic` (RFC 6749 §2.3.1) or the form.
fn credentials(headers: &HeaderMap, client_id: Option<String>, client_secret: Option<String>) -> ClientCredentials {
    use base64::Engine;
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            Some((percent_decode(id), percent_decode(secret)))
        });
    match basic {
        Some((id, secret)) => ClientCredentials { client_id: Some(id), client_secret: Some(secret) },
        None => ClientCredentials { client_id, client_secret: client_secret.filter(|s| !s.is_empty()) },
    }
}

/// `application/x-www-form-urlencoded` decoding of one Basic credential.
fn percent_decode(s: &str) -> String {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={s}")).unwrap_or_default();
    pairs.into_iter().next().map(|(_, v)| v).unwrap_or_else(|| s.to_owned())
}

async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let request: oauth::TokenRequest = match form(&body) {
        Ok(r) => r,
        Err(e) => return oauth_error(e),
    };
    let creds = credentials(&headers, request.client_id.clone(), request.client_secret.clone());
    match oauth::token(&state, creds, request).await {
        Ok(tokens) => {
            let mut response = json_response(200, json!(tokens));
            response.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            response
        }
        Err(e) => oauth_error(e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TokenForm {
    token: String,
    client_id: Option<String>,
    client_secret: Option<String>,
}

async fn introspect(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let f: TokenForm = match form(&body) {
        Ok(f) => f,
        Err(e) => return oauth_error(e),
    };
    match oauth::introspect(&state, credentials(&headers, f.client_id, f.client_secret), &f.token).await {
        Ok(answer) => json_response(200, answer),
        Err(e) => oauth_error(e),
    }
}

async fn revoke(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let f: TokenForm = match form(&body) {
        Ok(f) => f,
        Err(e) => return oauth_error(e),
    };
    match oauth::revoke(&state, credentials(&headers, f.client_id, f.client_secret), &f.token).await {
        Ok(()) => json_response(200, json!({})),
        Err(e) => oauth_error(e),
    }
}

/// OIDC Core §5.3; an invalid token gets 401 with `WWW-Authenticate` (RFC 6750 §3).
async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // Access tokens are JWTs, longer than the session tokens `api::bearer_token` takes.
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= 8192)
        .map(|(_, token)| token.trim().to_owned());
    let answer = match token {
        Some(t) => oauth::userinfo(&state, &t).await,
        None => Ok(None),
    };
    match answer {
        Ok(Some(claims)) => json_response(200, claims),
        Ok(None) => {
            let mut response = json_response(401, json!({ "error": "invalid_token" }));
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
            response
        }
        Err(e) => internal(e),
    }
}
