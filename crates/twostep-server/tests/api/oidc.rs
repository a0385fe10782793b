//! SPEC §13: apps sign in through Twostep with OpenID Connect. A real relying-party
//! library (`openidconnect`) discovers the provider, builds the authorization request with
//! PKCE and a nonce, exchanges the code and validates the ID token against the JWKS
//! (signature, nonce, `at_hash`); the user's side goes through Twostep's real sign-in
//! pages, driven over HTTP with the browser's cookies.

use crate::support::{PASSWORD, TestApp};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use twostep_core::credential::totp;

macro_rules! oidc_tests {
    ($($name:ident),* $(,)?) => {
        twostep_store::on_both_databases!(sqlite, postgres;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            |backend| TestApp::spawn_self_issued(backend).await; $($name),*);
    };
}

oidc_tests!(
    an_app_signs_a_user_in_with_password_and_authenticator_code,
    a_mandatory_user_without_a_method_is_walked_through_enrollment_inside_the_authorization,
    an_app_without_two_step_support_gets_access_denied_when_two_step_applies,
    codes_are_single_use_and_a_replay_revokes_what_they_issued,
    refresh_tokens_rotate_and_a_reused_one_revokes_its_family,
    every_token_ends_with_the_twostep_session_it_came_from,
    a_second_app_signs_in_with_the_same_browser_session,
    bad_authorization_requests_are_refused_without_redirecting_to_unknown_addresses,
    a_client_id_the_database_cannot_hold_is_a_clear_error,
    a_secret_key_rotation_moves_the_signing_keys_too,
    tokens_are_refused_to_the_wrong_app_redirect_uri_or_key,
    disabling_a_user_ends_their_apps_tokens_and_names_come_from_the_account,
);

const CALLBACK: &str = "https://app.example.com/callback";

/// A browser: cookies kept per name, redirects followed by hand.
struct Browser<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    jar: BTreeMap<String, String>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { app, http, jar: BTreeMap::new() }
    }

    fn absorb(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn cookies(&self) -> String {
        self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') { self.app.url(url) } else { url.to_owned() }
    }

    /// GET, following redirects while they stay on Twostep; the last answer's status, its
    /// Location (an app's address) if any, and its page.
    async fn visit(&mut self, url: &str) -> (u16, Option<String>, String) {
        let mut url = self.absolute(url);
        for _ in 0..10 {
            let r = self.http.get(&url).header(COOKIE, self.cookies()).send().await.unwrap();
            self.absorb(&r);
            let status = r.status().as_u16();
            let location = r.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_owned());
            match location {
                Some(next) if next.starts_with('/') || next.starts_with(&self.app.base) => url = self.absolute(&next),
                Some(other) => return (status, Some(other), r.text().await.unwrap()),
                None => {
                    // A page that moves on by itself (back to the app after the sign-in).
                    let page = r.text().await.unwrap();
                    match crate::support::meta_refresh(&page) {
                        Some(next) if next.starts_with('/') || next.starts_with(&self.app.base) => {
                            url = self.absolute(&next)
                        }
                        Some(other) => return (status, Some(other), page),
                        None => return (status, None, page),
                    }
                }
            }
        }
        panic!("redirect loop at {url}");
    }

    /// Posts a form of the page at `page`, then follows the redirects as [`visit`] does.
    async fn submit(&mut self, page: &str, action: &str, fields: &[(&str, &str)]) -> (u16, Option<String>, String) {
        let html = self.visit(page).await.2;
        let csrf = field(&html, "csrf").expect("a CSRF token on the page");
        let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        form.extend_from_slice(fields);
        let r = self.http.post(self.app.url(action)).header(COOKIE, self.cookies()).form(&form).send().await.unwrap();
        self.absorb(&r);
        let status = r.status().as_u16();
        match r.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_owned()) {
            Some(next) if next.starts_with('/') => self.visit(&next).await,
            other => (status, other, r.text().await.unwrap()),
        }
    }
}

/// The value of the input named `name` on a page.
fn field(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let value = rest.find("value=\"")? + "value=\"".len();
    Some(rest[value..].split('"').next()?.to_owned())
}

/// The query parameters of an app's address.
fn query(location: &str) -> BTreeMap<String, String> {
    url::Url::parse(location).unwrap().query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// Registers an app through the admin API; its client_id and secret.
async fn register(app: &TestApp, admin: &str, body: Value) -> (String, Option<String>) {
    let r = app.post("/api/v1/admin/apps", Some(admin), body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    (r.body["app"]["client_id"].as_str().unwrap().to_owned(), r.body["client_secret"].as_str().map(str::to_owned))
}

async fn relying_party(
    app: &TestApp,
    client_id: &str,
    secret: Option<String>,
) -> (
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    openidconnect::reqwest::Client,
) {
    let http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.base.clone()).unwrap(), &http).await.unwrap();
    let client =
        CoreClient::from_provider_metadata(metadata, ClientId::new(client_id.into()), secret.map(ClientSecret::new))
            .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());
    (client, http)
}

/// Signs `username` in on the pages in answer to an authorization request; the app's
/// address the browser lands on.
async fn sign_in(b: &mut Browser<'_>, authorize: &str, username: &str, secret: Option<&[u8]>) -> String {
    let (_, location, page) = b.visit(authorize).await;
    if let Some(location) = location {
        return location;
    }
    assert!(page.contains("name=\"password\""), "the sign-in form: {page}");
    let organization = field(&page, "organization").unwrap_or_default();
    assert_eq!(organization, "acme", "the app's organisation is filled in");
    let (_, location, page) =
        b.submit("/login", "/login", &[("organization", "acme"), ("username", username), ("password", PASSWORD)]).await;
    if let Some(location) = location {
        return location;
    }
    let secret = secret.expect("a second step was asked for");
    let code = b.app.next_code(secret);
    let (_, location, page2) =
        b.submit("/login/two-step", "/login/two-step", &[("method", "totp"), ("code", &code)]).await;
    location.unwrap_or_else(|| panic!("no way back to the app after the second step: {page}\n{page2}"))
}

async fn an_app_signs_a_user_in_with_password_and_authenticator_code(app: TestApp) {
    let admin = app.acme(true).await;
    let maria = app.session("acme", "maria").await;
    let (secret, _) = app.enroll_totp(&maria).await;
    let (client_id, client_secret) =
        register(&app, &admin, json!({ "slug": "wiki", "name": "Team wiki", "redirect_uris": [CALLBACK] })).await;
    let (client, http) = relying_party(&app, &client_id, client_secret).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();

    let mut b = Browser::new(&app);
    let back = sign_in(&mut b, url.as_str(), "maria", Some(&secret)).await;
    assert!(back.starts_with(CALLBACK), "{back}");
    let params = query(&back);
    assert_eq!(params.get("state"), Some(state.secret()));
    assert_eq!(params.get("iss"), Some(&app.base));
    let code = params["code"].clone();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client.id_token_verifier();
    let claims = id_token.claims(&verifier, &nonce).expect("the ID token validates against the JWKS");
    let expected = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected), "at_hash");
    assert_ne!(claims.subject().as_str(), "maria", "sub is opaque");
    assert_eq!(claims.preferred_username().map(|u| u.as_str()), Some("maria"));
    let amr: Vec<&str> = claims.auth_method_refs().unwrap().iter().map(|a| a.as_str()).collect();
    assert_eq!(amr, ["pwd", "otp", "mfa"]);
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some("urn:twostep:acr:2sv"));
    assert!(claims.auth_time().is_some());

    // The access token is an RFC 9068 JWT and works at userinfo.
    let access = tokens.access_token().secret();
    let header = jsonwebtoken_header(access);
    assert_eq!(header["typ"], "at+jwt");
    assert!(header["kid"].is_string());
    let info = userinfo(&app, access).await;
    assert_eq!((info.0, info.1["preferred_username"].as_str()), (200, Some("maria")));
    assert_eq!(info.1["sub"].as_str(), Some(claims.subject().as_str()));
    // And the JWKS lists both algorithms with their kid.
    let jwks = app.get("/oauth2/jwks", None).await.body;
    let algs: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert!(algs.contains(&"RS256") && algs.contains(&"ES256"), "{jwks}");
}

fn jsonwebtoken_header(token: &str) -> Value {
    use base64::Engine;
    let head = token.split('.').next().unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(head).unwrap()).unwrap()
}

async fn userinfo(app: &TestApp, access: &str) -> (u16, Value) {
    let r = app.http.get(app.url("/oauth2/userinfo")).bearer_auth(access).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A plain authorization request (PKCE S256 with a fixed verifier) for raw HTTP tests.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn authorize_url(client_id: &str, extra: &str) -> String {
    format!(
        "/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20profile%20twostep\
         &state=s1&nonce=n1&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        url::form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>()
    )
}

async fn token_request(app: &TestApp, client_id: &str, secret: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let r =
        app.http.post(app.url("/oauth2/token")).basic_auth(client_id, Some(secret)).form(form).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

async fn exchange(app: &TestApp, client_id: &str, secret: &str, code: &str) -> (u16, Value) {
    token_request(
        app,
        client_id,
        secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

async fn a_mandatory_user_without_a_method_is_walked_through_enrollment_inside_the_authorization(app: TestApp) {
    let admin = app.acme(true).await;
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    let (client_id, secret) =
        register(&app, &admin, json!({ "slug": "wiki", "name": "Team wiki", "redirect_uris": [CALLBACK] })).await;
    let mut b = Browser::new(&app);
    let (_, location, _) = b.visit(&authorize_url(&client_id, "")).await;
    assert!(location.is_none());
    let (_, location, page) =
        b.submit("/login", "/login", &[("organization", "acme"), ("username", "maria"), ("password", PASSWORD)]).await;
    assert!(location.is_none() && page.contains("id=\"choose-totp\""), "the enrollment page: {page}");
    let (_, _, page) = b.submit("/login/enroll", "/login/enroll/totp", &[]).await;
    let plain = page.split("id=\"secret-plain\"").nth(1).unwrap().split('>').nth(1).unwrap().split('<').next().unwrap();
    let key = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &plain.replace(' ', "")).unwrap();
    let code = totp::code_at(&key, app.now());
    let csrf = field(&page, "csrf").unwrap();
    let r = b
        .http
        .post(app.url("/login/enroll/totp/confirm"))
        .header(COOKIE, b.cookies())
        .form(&[("csrf", csrf.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    b.absorb(&r);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"recovery-codes\""), "the recovery codes come first: {page}");
    // "Continue" goes home, which goes back to the app.
    let (_, location, _) = b.visit("/").await;
    let back = location.expect("back at the app");
    let code = query(&back)["code"].clone();
    let (status, tokens) = exchange(&app, &client_id, secret.as_deref().unwrap(), &code).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["acr"], "urn:twostep:acr:2sv");
    assert_eq!(claims["org"], "acme");
    assert_eq!(claims["profile"], "technician");
    assert_eq!(claims["nonce"], "n1");
}

fn jwt_claims(token: &str) -> Value {
    use base64::Engine;
    let body = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body).unwrap()).unwrap()
}

/// SPEC §13: an app registered without 2SV support (the seed's technician app) is refused
/// with `access_denied` whenever 2SV applies to the user.
async fn an_app_without_two_step_support_gets_access_denied_when_two_step_applies(app: TestApp) {
    let admin = app.acme(true).await;
    let maria = app.session("acme", "maria").await;
    let (secret, _) = app.enroll_totp(&maria).await;
    let (legacy, _) = register(
        &app,
        &admin,
        json!({ "slug": "technician-app", "name": "Technician app", "redirect_uris": [CALLBACK], "two_step": false }),
    )
    .await;
    let mut b = Browser::new(&app);
    let back = sign_in(&mut b, &authorize_url(&legacy, ""), "maria", Some(&secret)).await;
    let params = query(&back);
    assert_eq!(params.get("error").map(String::as_str), Some("access_denied"), "{back}");
    assert!(params["error_description"].contains("2-Step Verification"), "{back}");
    assert_eq!(params.get("state").map(String::as_str), Some("s1"));
    assert!(!params.contains_key("code"));
    // A contact (2SV never applies) gets in.
    let mut b = Browser::new(&app);
    let back = sign_in(&mut b, &authorize_url(&legacy, ""), "guest", None).await;
    assert!(query(&back).contains_key("code"), "{back}");
}

async fn signed_in_code(_app: &TestApp, b: &mut Browser<'_>, client_id: &str) -> String {
    let back = sign_in(b, &authorize_url(client_id, ""), "boss", None).await;
    query(&back).get("code").cloned().unwrap_or_else(|| panic!("no code: {back}"))
}

async fn codes_are_single_use_and_a_replay_revokes_what_they_issued(app: TestApp) {
    let admin = app.acme(false).await;
    let (client_id, secret) =
        register(&app, &admin, json!({ "slug": "wiki", "name": "Wiki", "redirect_uris": [CALLBACK] })).await;
    let secret = secret.unwrap();
    let mut b = Browser::new(&app);
    let code = signed_in_code(&app, &mut b, &client_id).await;
    let (status, tokens) = exchange(&app, &client_id, &secret, &code).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(userinfo(&app, &access).await.0, 200);
    let (status, again) = exchange(&app, &client_id, &secret, &code).await;
    assert_eq!((status, again["error"].as_str()), (400, Some("invalid_grant")), "{again}");
    assert_eq!(userinfo(&app, &access).await.0, 401, "the replay revoked the first exchange's tokens");
    // A wrong verifier, a wrong secret.
    let code = signed_in_code(&app, &mut b, &client_id).await;
    let (status, body) = token_request(
        &app,
        &client_id,
        &secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", &"x".repeat(43)),
        ],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let (status, body) = exchange(&app, &client_id, "not the secret", &code).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    // An expired code (60 s).
    let code = signed_in_code(&app, &mut b, &client_id).await;
    app.clock.advance(61);
    let (status, body) = exchange(&app, &client_id, &secret, &code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
}

async fn refresh_tokens_rotate_and_a_reused_one_revokes_its_family(app: TestApp) {
    let admin = app.acme(false).await;
    let (client_id, secret) =
        register(&app, &admin, json!({ "slug": "wiki", "name": "Wiki", "redirect_uris": [CALLBACK] })).await;
    let secret = secret.unwrap();
    let mut b = Browser::new(&app);
    let code = signed_in_code(&app, &mut b, &client_id).await;
    let (_, first) = exchange(&app, &client_id, &secret, &code).await;
    let refresh = |token: String| {
        let (app, client_id, secret) = (&app, client_id.clone(), secret.clone());
        async move {
            token_request(app, &client_id, &secret, &[("grant_type", "refresh_token"), ("refresh_token", &token)]).await
        }
    };
    let one = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, second) = refresh(one.clone()).await;
    assert_eq!(status, 200, "{second}");
    let two = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(one, two, "rotated");
    // The first one again: reuse, so the whole family goes.
    let (status, body) = refresh(one).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let (status, _) = refresh(two).await;
    assert_eq!(status, 400, "the newer token of the family is revoked too");
    assert_eq!(userinfo(&app, second["access_token"].as_str().unwrap()).await.0, 401);
}

/// SPEC §13: logout, an admin reset and the grace revocation end every token at once.
async fn every_token_ends_with_the_twostep_session_it_came_from(app: TestApp) {
    let admin = app.acme(true).await;
    let (client_id, secret) =
        register(&app, &admin, json!({ "slug": "wiki", "name": "Wiki", "redirect_uris": [CALLBACK] })).await;
    let secret = secret.unwrap();
    let introspect = |token: String| {
        let (app, client_id, secret) = (&app, client_id.clone(), secret.clone());
        async move {
            let r = app
                .http
                .post(app.url("/oauth2/introspect"))
                .basic_auth(&client_id, Some(&secret))
                .form(&[("token", token.as_str())])
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()
        }
    };

    // Logout through the provider.
    let mut b = Browser::new(&app);
    let back = sign_in(&mut b, &authorize_url(&client_id, ""), "maria", None).await;
    let (_, tokens) = exchange(&app, &client_id, &secret, &query(&back)["code"]).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(introspect(access.clone()).await["active"], true);
    assert_eq!(introspect(refresh.clone()).await["active"], true);
    let logout = format!(
        "/oauth2/logout?id_token_hint={}&post_logout_redirect_uri={}&state=bye",
        tokens["id_token"].as_str().unwrap(),
        url::form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>()
    );
    let (_, location, _) = b.visit(&logout).await;
    assert_eq!(location.as_deref(), Some(format!("{CALLBACK}?state=bye").as_str()));
    assert_eq!(userinfo(&app, &access).await.0, 401);
    assert_eq!(introspect(access).await["active"], false);
    assert_eq!(introspect(refresh).await["active"], false);

    // An admin reset of the user's 2SV.
    let mut b = Browser::new(&app);
    let back = sign_in(&mut b, &authorize_url(&client_id, ""), "maria", None).await;
    let (_, tokens) = exchange(&app, &client_id, &secret, &query(&back)["code"]).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.delete("/api/v1/admin/users/maria/two-step", Some(&admin)).await.status, 204);
    assert_eq!(userinfo(&app, &access).await.0, 401);

    // The grace revocation of SPEC §3.7: 2SV becomes mandatory for technicians.
    let mut b = Browser::new(&app);
    let back = sign_in(&mut b, &authorize_url(&client_id, ""), "maria", None).await;
    let (_, tokens) = exchange(&app, &client_id, &secret, &query(&back)["code"]).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    let (status, body) =
        token_request(&app, &client_id, &secret, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!(status, 200, "within the grace period: {body}");
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    app.clock.advance(app.state.config.mandatory_session_grace.as_secs() as i64 + 1);
    assert_eq!(introspect(refresh.clone()).await["active"], false);
    let (status, body) =
        token_request(&app, &client_id, &secret, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
}

/// Single sign-on: a second app is answered from the same browser session, without the
/// sign-in form; `prompt=login` asks again.
async fn a_second_app_signs_in_with_the_same_browser_session(app: TestApp) {
    let admin = app.acme(false).await;
    let (wiki, _) =
        register(&app, &admin, json!({ "slug": "wiki", "name": "Wiki", "redirect_uris": [CALLBACK] })).await;
    let (crm, _) = register(&app, &admin, json!({ "slug": "crm", "name": "CRM", "redirect_uris": [CALLBACK] })).await;
    let mut b = Browser::new(&app);
    let back = sign_in(&mut b, &authorize_url(&wiki, ""), "maria", None).await;
    assert!(query(&back).contains_key("code"));
    let (_, location, _) = b.visit(&authorize_url(&crm, "")).await;
    assert!(query(&location.expect("answered at once")).contains_key("code"));
    let (_, location, page) = b.visit(&authorize_url(&crm, "&prompt=login")).await;
    assert!(location.is_none() && page.contains("name=\"password\""), "prompt=login shows the form");
    let (_, location, _) = b.visit(&authorize_url(&crm, "&prompt=none")).await;
    assert!(query(&location.unwrap()).contains_key("code"), "prompt=none with a session");
    let mut fresh = Browser::new(&app);
    let (_, location, _) = fresh.visit(&authorize_url(&crm, "&prompt=none")).await;
    assert_eq!(query(&location.unwrap()).get("error").map(String::as_str), Some("login_required"));
}

/// PostgreSQL refuses text with a NUL character; such an id is bad input (400 or 404 in the
/// API's shape), never a server error.
async fn a_client_id_the_database_cannot_hold_is_a_clear_error(app: TestApp) {
    let admin = app.acme(false).await;
    for path in ["/api/v1/admin/apps/a%00b", "/api/v1/admin/apps/a%00b/secret"] {
        let method = if path.ends_with("secret") { reqwest::Method::POST } else { reqwest::Method::DELETE };
        let r = app.call(method, path, Some(&admin), None).await;
        assert!(matches!(r.status, 400 | 404), "{path}: {} {}", r.status, r.text);
        assert!(matches!(r.error_code(), "invalid_request" | "not_found"), "{path}: {}", r.text);
    }
    let mut b = Browser::new(&app);
    let (status, location, _) = b.visit("/oauth2/authorize?response_type=code&client_id=a%00b&scope=openid").await;
    assert_eq!((status, location), (400, None));
}

async fn bad_authorization_requests_are_refused_without_redirecting_to_unknown_addresses(app: TestApp) {
    let admin = app.acme(false).await;
    let (wiki, _) =
        register(&app, &admin, json!({ "slug": "wiki", "name": "Wiki", "redirect_uris": [CALLBACK] })).await;
    let mut b = Browser::new(&app);
    let evil =
        "/oauth2/authorize?response_type=code&client_id=WIKI&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&scope=openid"
            .replace("WIKI", &wiki);
    let (status, location, _) = b.visit(&evil).await;
    assert_eq!((status, location), (400, None), "never redirected to an unregistered address");
    let (status, location, _) = b.visit("/oauth2/authorize?response_type=code&client_id=nobody&scope=openid").await;
    assert_eq!((status, location), (400, None));
    let (_, location, _) = b.visit(&authorize_url(&wiki, "").replace("scope=openid%20", "scope=")).await;
    assert_eq!(query(&location.unwrap()).get("error").map(String::as_str), Some("invalid_scope"));
    // Registering: redirect URIs must be https (or loopback http), without fragments.
    for bad in ["http://app.example.com/cb", "https://app.example.com/cb#frag", "not a url"] {
        let r = app
            .post("/api/v1/admin/apps", Some(&admin), json!({ "slug": "x", "name": "X", "redirect_uris": [bad] }))
            .await;
        assert_eq!((r.status, r.error_code()), (400, "invalid_request"), "{bad}");
    }
    // A public app must use PKCE.
    let (public, secret) =
        register(&app, &admin, json!({ "slug": "spa", "name": "SPA", "redirect_uris": [CALLBACK], "public": true }))
            .await;
    assert!(secret.is_none());
    let no_pkce = authorize_url(&public, "").split("&code_challenge").next().unwrap().to_owned();
    let (_, location, _) = b.visit(&no_pkce).await;
    assert_eq!(query(&location.unwrap()).get("error").map(String::as_str), Some("invalid_request"));
    // Discovery names this issuer.
    let doc = app.get("/.well-known/openid-configuration", None).await.body;
    assert_eq!(doc["issuer"], app.base.as_str());
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
}

/// The signing keys are sealed with the server's secret key: `twostep key rotate` moves
/// them with every other secret, so the old key file can be retired.
async fn a_secret_key_rotation_moves_the_signing_keys_too(app: TestApp) {
    use twostep_core::crypto::{Keyring, SecretKey};
    use twostep_core::oauth::OAuthStore;
    assert_eq!(app.get("/oauth2/jwks", None).await.status, 200, "the first keys are made");
    let new = SecretKey::generate();
    let ring = Keyring::new(app.state.key.clone(), [new.clone()]);
    let options = twostep_server::rotation::RotateOptions { batch_size: 10, max_records: None };
    let done = twostep_server::rotation::rotate(app.store.as_ref(), &ring, &new, &options).await.unwrap();
    assert_eq!(done.remaining, 0, "{done:?}");
    let keys = app.store.signing_keys(i64::MIN).await.unwrap();
    assert_eq!(keys.len(), 2);
    for key in keys {
        assert_eq!(key.key_id, new.id());
        let aad = twostep_core::aad::Aad::SigningKey { kid: &key.kid }.bytes();
        assert!(new.open(&key.sealed, &aad).is_ok(), "{} opens with the new key", key.kid);
    }
}

/// Issue 16's refusals: a wrong redirect URI at the token endpoint, a code or token of app
/// A presented by app B, an access token with an unknown `kid` — each with the RFC's error
/// code, and nothing issued.
async fn tokens_are_refused_to_the_wrong_app_redirect_uri_or_key(app: TestApp) {
    let admin = app.acme(false).await;
    let (a, a_secret) = register(&app, &admin, json!({ "slug": "a", "name": "A", "redirect_uris": [CALLBACK] })).await;
    let (b_id, b_secret) =
        register(&app, &admin, json!({ "slug": "b", "name": "B", "redirect_uris": [CALLBACK] })).await;
    let (a_secret, b_secret) = (a_secret.unwrap(), b_secret.unwrap());
    let mut browser = Browser::new(&app);
    // A wrong redirect URI.
    let code = signed_in_code(&app, &mut browser, &a).await;
    let (status, body) = token_request(
        &app,
        &a,
        &a_secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://app.example.com/other"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    // App A's code presented by app B: refused, and A's grant is revoked.
    let code = signed_in_code(&app, &mut browser, &a).await;
    let (status, body) = exchange(&app, &b_id, &b_secret, &code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let (status, _) = exchange(&app, &a, &a_secret, &code).await;
    assert_eq!(status, 400, "the code is spent");
    // An access token whose kid is not in the JWKS, or whose signature was tampered with.
    let code = signed_in_code(&app, &mut browser, &a).await;
    let (_, tokens) = exchange(&app, &a, &a_secret, &code).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let parts: Vec<&str> = access.split('.').collect();
    let mut header = jsonwebtoken_header(&access);
    header["kid"] = json!("rs256-unknown");
    use base64::Engine;
    let forged_header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header.to_string());
    let unknown_kid = format!("{forged_header}.{}.{}", parts[1], parts[2]);
    assert_eq!(userinfo(&app, &unknown_kid).await.0, 401);
    let mut claims = jwt_claims(&access);
    claims["sub"] = json!("someone-else");
    let forged_claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
    let tampered = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
    assert_eq!(userinfo(&app, &tampered).await.0, 401);
    assert_eq!(userinfo(&app, &access).await.0, 200, "the real one works");
    // App B cannot introspect app A's tokens.
    let r = app
        .http
        .post(app.url("/oauth2/introspect"))
        .basic_auth(&b_id, Some(&b_secret))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["active"], false);
    // App A's refresh token presented by app B: refused, and — leaked as it is — A's
    // grant is revoked with it.
    let (status, body) =
        token_request(&app, &b_id, &b_secret, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert_eq!(userinfo(&app, &access).await.0, 401);
    // An unsupported grant type and a missing client.
    let (status, body) = token_request(&app, &a, &a_secret, &[("grant_type", "password")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_grant_type")));
    let r = app.http.post(app.url("/oauth2/token")).form(&[("grant_type", "authorization_code")]).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

/// SPEC §12 and §13 together: the account's display name and email reach the apps, and
/// disabling the user ends every token at once.
async fn disabling_a_user_ends_their_apps_tokens_and_names_come_from_the_account(app: TestApp) {
    let admin = app.acme(false).await;
    let r = app
        .call(
            reqwest::Method::PATCH,
            "/api/v1/admin/users/maria",
            Some(&admin),
            Some(json!({ "display_name": "Maria Silva", "email": "maria@acme.example" })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (client_id, secret) =
        register(&app, &admin, json!({ "slug": "wiki", "name": "Wiki", "redirect_uris": [CALLBACK] })).await;
    let secret = secret.unwrap();
    let mut b = Browser::new(&app);
    let url =
        authorize_url(&client_id, "").replace("scope=openid%20profile%20twostep", "scope=openid%20profile%20email");
    let back = sign_in(&mut b, &url, "maria", None).await;
    let (status, tokens) = exchange(&app, &client_id, &secret, &query(&back)["code"]).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!((claims["name"].as_str(), claims["email"].as_str()), (Some("Maria Silva"), Some("maria@acme.example")));
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(userinfo(&app, &access).await.1["email"], "maria@acme.example");
    let r = app
        .call(reqwest::Method::PATCH, "/api/v1/admin/users/maria", Some(&admin), Some(json!({ "disabled": true })))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(userinfo(&app, &access).await.0, 401);
    let (status, body) =
        token_request(&app, &client_id, &secret, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
}
