//! What every page request carries: language, cookies, the CSRF token, and how pages
//! and redirects are answered.
//!
//! CSRF: a random seed lives in its own `HttpOnly` cookie; every form carries
//! HMAC-SHA256(key, seed), the key derived from the server's secret key. An attacker
//! can neither read the cookie nor compute the MAC, and `SameSite=Lax` keeps the
//! cookies off cross-site POSTs in the first place (OWASP CSRF cheat sheet, "signed
//! double-submit cookie").

use crate::api::Meta;
use crate::service::RequestMeta;
use crate::state::AppState;
use crate::web::i18n::{self, Lang};
use crate::web::templates;
use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use hmac::{Hmac, Mac};
use minijinja::{Value, context};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use twostep_core::crypto::{Token, constant_time_eq};

/// The cookies the pages use, without the `__Host-` prefix.
pub const SESSION: &str = "twostep_session";
pub const FLOW: &str = "twostep_flow";
const CSRF: &str = "twostep_csrf";
const LANG: &str = "twostep_lang";
const FLASH: &str = "twostep_flash";

/// A year: the language choice and the CSRF seed outlive sessions.
const LONG: i64 = 365 * 24 * 3600;

pub struct Ctx {
    pub lang: Lang,
    /// `public_url` is https: cookies get `Secure` and the `__Host-` prefix.
    secure: bool,
    cookies: HashMap<String, String>,
    csrf_seed: String,
    new_seed: bool,
    mac_key: [u8; 32],
    pub meta: RequestMeta,
    /// Where the language switch comes back to.
    back: String,
    flash: Option<(String, Option<i64>)>,
    pub demo: bool,
    /// `forward_auth.cookie_domain`: the session cookie is shared with its subdomains.
    cookie_domain: Option<String>,
}

fn parse_cookies(parts: &Parts) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for value in parts.headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                out.entry(name.trim().to_owned()).or_insert_with(|| value.trim().to_owned());
            }
        }
    }
    out
}

/// A GET-able page to return to after switching language: pages answered to a POST
/// (the QR code step, the recovery codes) go back to the start of their journey.
fn back_path(parts: &Parts) -> String {
    let path = parts.uri.path();
    if parts.method == Method::GET {
        return parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".into());
    }
    for prefix in ["/login/enroll", "/login/two-step", "/settings/security", "/admin/security", "/login"] {
        if path.starts_with(prefix) {
            return prefix.into();
        }
    }
    "/".into()
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let secure = state.config.public_url_is_https();
        let cookies = parse_cookies(parts);
        let cookie_domain = Some(state.config.forward_auth.cookie_domain.trim().to_owned()).filter(|d| !d.is_empty());
        let get = |name: &str| cookies.get(&cookie_name(secure, name)).cloned();
        let lang = get(LANG).and_then(|l| Lang::parse(&l)).unwrap_or_else(|| {
            Lang::from_accept_language(parts.headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
        });
        let (csrf_seed, new_seed) = match get(CSRF).filter(|s| s.len() >= 32 && s.len() <= 128) {
            Some(seed) => (seed, false),
            None => (Token::generate().expose().to_owned(), true),
        };
        let flash = get(FLASH).map(|f| match f.split_once('.') {
            Some((key, n)) => (key.to_owned(), n.parse().ok()),
            None => (f, None),
        });
        // The MAC key is derived, so the AES key itself is never used for two purposes.
        let mac_key: [u8; 32] = Sha256::digest(format!("twostep-web-csrf:{}", state.key.to_hex().as_str())).into();
        let meta = Meta::from_request_parts(parts, state).await.map(|m| m.0).unwrap_or_default();
        Ok(Self {
            lang,
            secure,
            cookies,
            csrf_seed,
            new_seed,
            mac_key,
            meta,
            back: back_path(parts),
            flash,
            demo: state.outbox.is_some(),
            cookie_domain,
        })
    }
}

pub fn cookie_name(secure: bool, name: &str) -> String {
    if secure { format!("__Host-{name}") } else { name.to_owned() }
}

impl Ctx {
    /// Whether the message carried over the last redirect is `key`.
    pub fn flash_is(&self, key: &str) -> bool {
        self.flash.as_ref().is_some_and(|(k, _)| k == key)
    }

    /// The name a cookie has in the browser: `__Host-` over https, except the session
    /// cookie when it is shared with a `cookie_domain` (a `__Host-` cookie cannot name a
    /// domain; it stays `Secure`).
    fn browser_name(&self, name: &str) -> String {
        if name == SESSION && self.cookie_domain.is_some() { name.to_owned() } else { cookie_name(self.secure, name) }
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(&self.browser_name(name)).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn session_token(&self) -> Option<&str> {
        self.cookie(SESSION)
    }

    pub fn flow_token(&self) -> Option<&str> {
        self.cookie(FLOW)
    }

    /// The token every form of this browser carries.
    pub fn csrf_token(&self) -> String {
        hex_mac(&self.mac_key, &self.csrf_seed)
    }

    pub fn csrf_ok(&self, presented: &str) -> bool {
        !self.new_seed && constant_time_eq(presented.as_bytes(), self.csrf_token().as_bytes())
    }

    /// A `Set-Cookie` value: `HttpOnly; SameSite=Lax; Path=/`, and `Secure` over https.
    pub fn set_cookie(&self, name: &str, value: &str, max_age: i64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        let domain = match &self.cookie_domain {
            Some(domain) if name == SESSION => format!("; Domain={domain}"),
            _ => String::new(),
        };
        format!(
            "{}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax{secure}{domain}",
            self.browser_name(name)
        )
    }

    pub fn clear_cookie(&self, name: &str) -> String {
        self.set_cookie(name, "", 0)
    }

    pub fn lang_cookie(&self, lang: Lang) -> String {
        self.set_cookie(LANG, lang.as_str(), LONG)
    }

    /// A message for the next page (after a redirect), by key.
    pub fn flash_cookie(&self, key: &str, n: Option<i64>) -> String {
        let value = match n {
            Some(n) => format!("{key}.{n}"),
            None => key.to_owned(),
        };
        self.set_cookie(FLASH, &value, 60)
    }

    /// Renders a template with what every page needs: translations, language, the CSRF
    /// token, the language switch's way back and a pending flash message.
    pub fn page(&self, status: StatusCode, name: &str, extra: Value) -> Response {
        let flash = self.flash.as_ref().map(|(key, n)| i18n::flash(self.lang, key, *n));
        let ctx = context! {
            t => i18n::table(self.lang),
            lang => self.lang.as_str(),
            csrf => self.csrf_token(),
            back => &self.back,
            flash => flash,
            demo => self.demo,
            ..extra
        };
        let mut response = match templates::render(name, ctx) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(template = name, error = %e, "template failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
            }
        };
        if self.flash.is_some() {
            add_cookie(&mut response, &self.clear_cookie(FLASH));
        }
        self.keep_seed(&mut response);
        response
    }

    /// Sends the browser on to another site after a sign-in. A redirect would do, except
    /// that the sign-in forms' `form-action 'self'` also covers the redirects that follow
    /// their submission, so browsers refuse a cross-site one: a page that moves on by
    /// itself (`<meta http-equiv="refresh">`, no script) with a link, instead.
    pub fn continue_to(&self, to: &str, cookies: &[String]) -> Response {
        let mut response = self.page(StatusCode::OK, "continue.html", context! { to => to });
        for c in cookies {
            add_cookie(&mut response, c);
        }
        response
    }

    /// A page that only says something (an error, a refusal).
    pub fn message(&self, status: StatusCode, title: &str, text: &str) -> Response {
        self.page(status, "message.html", context! { title => title, text => text })
    }

    /// 303 See Other, with cookies to set: the end of every successful POST (PRG).
    pub fn redirect(&self, to: &str, cookies: &[String]) -> Response {
        let mut response = Redirect::to(to).into_response();
        for c in cookies {
            add_cookie(&mut response, c);
        }
        self.keep_seed(&mut response);
        response
    }

    fn keep_seed(&self, response: &mut Response) {
        if self.new_seed {
            add_cookie(response, &self.set_cookie(CSRF, &self.csrf_seed, LONG));
        }
    }
}

pub fn add_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

fn hex_mac(key: &[u8], message: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return String::new() };
    mac.update(b"csrf:");
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// A form that carries the CSRF token.
pub trait CsrfForm {
    fn csrf(&self) -> &str;
}

/// A posted form whose CSRF token was checked; a bad token answers a 403 page.
pub struct Posted<T>(pub T);

impl<T: DeserializeOwned + CsrfForm + Send> FromRequest<AppState> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let Ok(ctx) = Ctx::from_request_parts(&mut parts, state).await;
        let req = Request::from_parts(parts, body);
        let t = i18n::table(ctx.lang);
        let Ok(Form(form)) = Form::<T>::from_request(req, state).await else {
            return Err(ctx.message(StatusCode::BAD_REQUEST, t.get("error_title"), t.get("form_invalid")));
        };
        if !ctx.csrf_ok(form.csrf()) {
            return Err(ctx.message(StatusCode::FORBIDDEN, t.get("error_title"), t.get("csrf_failed")));
        }
        Ok(Self(form))
    }
}

/// Forms with nothing but the token (Connect, Enable, Sign out, …).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct Plain {
    pub csrf: String,
}

impl CsrfForm for Plain {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_get_the_host_prefix_only_over_https() {
        assert_eq!(cookie_name(true, SESSION), "__Host-twostep_session");
        assert_eq!(cookie_name(false, SESSION), "twostep_session");
    }

    #[test]
    fn the_csrf_token_depends_on_the_seed_and_the_key() {
        let a = hex_mac(&[1; 32], "seed-one");
        assert_eq!(a.len(), 64);
        assert_ne!(a, hex_mac(&[1; 32], "seed-two"));
        assert_ne!(a, hex_mac(&[2; 32], "seed-one"));
    }
}
