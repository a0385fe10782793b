//! The JSON API (SPEC §6): one file per resource, extractors shared here.

pub mod admin;
pub mod apps;
pub mod callers;
pub mod doc;
pub mod error;
pub mod login;
pub mod me;
pub mod ops;
pub mod users;

use crate::api::error::ApiError;
use crate::service::Refusal;
use crate::service::RequestMeta;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};

/// The largest request body accepted (SPEC §10).
pub const BODY_LIMIT: usize = 64 * 1024;

/// A JSON body. Malformed JSON, a wrong shape or a missing field answer 400
/// `invalid_request` in the API's error shape; the Content-Type is not insisted on, so
/// `curl -d '{…}'` works.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Refusal::PayloadTooLarge
            } else {
                Refusal::InvalidRequest("the request body could not be read".into())
            }
        })?;
        Ok(Json(parse_body(&bytes)?))
    }
}

/// Parses a request body as the extractor does: an empty (or blank) body is `{}`; any
/// failure is 400 `invalid_request`. The fuzz target `json_bodies` drives this.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Refusal> {
    let body = if bytes.iter().all(u8::is_ascii_whitespace) { &b"{}"[..] } else { bytes };
    serde_json::from_slice(body).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Data => format!("invalid request body: {e}"),
            _ => "the request body is not valid JSON".to_owned(),
        };
        Refusal::InvalidRequest(what)
    })
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// A path parameter. One that does not parse (a session id that is not a number, bytes
/// that are not UTF-8) answers 400 `invalid_request` in the API's error shape, not axum's
/// plain text.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|rejection| Refusal::InvalidRequest(rejection.body_text()).into())
    }
}

/// The bearer token of the request, if any.
pub struct Bearer(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(Self(bearer_token(parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()))))
    }
}

/// The token of an `Authorization: Bearer <token>` header value (scheme case-insensitive,
/// at most 512 characters). The fuzz target `tokens` drives this.
pub fn bearer_token(authorization: Option<&str>) -> Option<String> {
    authorization
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
        })
        .filter(|t| !t.is_empty() && t.len() <= 512)
}

impl Bearer {
    pub fn session(self) -> Result<String, Refusal> {
        self.0.ok_or(Refusal::SessionInvalid)
    }

    pub fn flow(self) -> Result<String, Refusal> {
        self.0.ok_or(Refusal::FlowExpired)
    }
}

/// The client's address (`X-Forwarded-For` believed only from `trusted_proxies`) and
/// user agent.
pub struct Meta(pub RequestMeta);

impl FromRequestParts<AppState> for Meta {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let ip =
            client_ip(peer, parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()), &state.trusted_proxies);
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(200).collect());
        Ok(Self(RequestMeta { ip: ip.map(|i| i.to_string()), user_agent }))
    }
}

/// Walks `X-Forwarded-For` from the right while the hop is a trusted proxy; the first
/// untrusted address is the client.
///
/// Addresses are compared and returned in canonical form: `::ffff:a.b.c.d` is `a.b.c.d`
/// (SPEC §11.4), so one client cannot count as two.
pub fn client_ip(peer: Option<IpAddr>, forwarded: Option<&str>, trusted: &[IpAddr]) -> Option<IpAddr> {
    let mut client = peer?.to_canonical();
    if !trusted.contains(&client) {
        return Some(client);
    }
    if let Some(list) = forwarded {
        for hop in list.rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    let ip = ip.to_canonical();
                    client = ip;
                    if !trusted.contains(&ip) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    }
    Some(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        let spoofed = Some("1.2.3.4, 203.0.113.9");
        assert_eq!(client_ip(Some(client), Some("1.2.3.4"), &[proxy]), Some(client));
        assert_eq!(client_ip(Some(proxy), spoofed, &[proxy]), Some(client));
        assert_eq!(client_ip(Some(proxy), None, &[proxy]), Some(proxy));
        assert_eq!(client_ip(Some(proxy), Some("garbage"), &[proxy]), Some(proxy));
    }

    #[test]
    fn ipv4_mapped_addresses_are_the_ipv4_address() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let mapped_proxy: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(client_ip(Some(mapped_proxy), Some("::ffff:203.0.113.9"), &[proxy]), Some(client));
        assert_eq!(client_ip(Some("::ffff:203.0.113.9".parse().unwrap()), None, &[proxy]), Some(client));
    }
}
