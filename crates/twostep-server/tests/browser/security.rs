//! The pages' web security, checked over plain HTTP (no browser needed, so these run
//! everywhere): cookies, CSRF tokens, headers.

use crate::support::{ORG, PASSWORD, TestApp};
use reqwest::header::{HeaderMap, SET_COOKIE};
use twostep_core::Clock;
use twostep_core::store::prelude::*;

fn cookies(headers: &HeaderMap) -> Vec<String> {
    headers.get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
}

/// `name=value` of a `Set-Cookie`.
fn pair(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap()
}

/// The CSRF token of the first form on a page.
fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    html[start..].split('"').next().unwrap().to_owned()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test]
async fn a_form_posted_without_its_csrf_token_is_refused() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let http = client();
    let page = http.get(app.url("/login")).send().await.unwrap();
    let seed = cookies(page.headers()).into_iter().find(|c| c.starts_with("twostep_csrf=")).unwrap();
    let html = page.text().await.unwrap();
    let token = csrf_of(&html);
    let form = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("organization", ORG.to_owned()),
            ("username", "boss".to_owned()),
            ("password", PASSWORD.to_owned()),
        ]
    };

    // No cookie (a cross-site POST), a wrong token, then the real one.
    let r = http.post(app.url("/login")).form(&form(&token)).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = http.post(app.url("/login")).header("cookie", pair(&seed)).form(&form("0badc0de")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = http.post(app.url("/login")).header("cookie", pair(&seed)).form(&form(&token)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    let session = cookies(r.headers()).into_iter().find(|c| c.starts_with("twostep_session=")).unwrap();
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax") && session.contains("Path=/"));
    assert!(!session.contains("Secure"), "plain http: {session}");
}

#[tokio::test]
async fn over_https_the_cookies_are_secure_and_host_prefixed() {
    let app = TestApp::spawn_with(|c| c.public_url = "https://login.example.com".into()).await;
    let page = client().get(app.url("/login")).send().await.unwrap();
    let set = cookies(page.headers());
    let seed = set.iter().find(|c| c.starts_with("__Host-twostep_csrf=")).unwrap();
    assert!(seed.contains("; Secure") && seed.contains("Path=/") && seed.contains("HttpOnly"), "{seed}");
    assert!(!seed.contains("Domain="), "{seed}");
}

#[tokio::test]
async fn pages_send_the_strict_headers_and_no_inline_script_or_style() {
    let app = TestApp::spawn().await;
    let page = client().get(app.url("/login")).send().await.unwrap();
    let headers = page.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script>") && !html.contains("style="), "inline script or style");
    assert!(html.contains("href=\"/static/style.css\""));
    let css = client().get(app.url("/static/style.css")).send().await.unwrap();
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
}

#[tokio::test]
async fn the_language_follows_accept_language_and_the_switch_wins() {
    let app = TestApp::spawn().await;
    let http = client();
    let html = http.get(app.url("/login")).header("accept-language", "pt-PT,pt;q=0.9").send().await;
    let html = html.unwrap().text().await.unwrap();
    assert!(html.contains("<html lang=\"pt\">") && html.contains("Palavra-passe"));

    let page = http.get(app.url("/login")).send().await.unwrap();
    let seed = cookies(page.headers()).into_iter().find(|c| c.starts_with("twostep_csrf=")).unwrap();
    let token = csrf_of(&page.text().await.unwrap());
    let form = [("csrf", token.as_str()), ("lang", "pt"), ("next", "//evil.example/")];
    let r = http.post(app.url("/language")).header("cookie", pair(&seed)).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/", "never an open redirect");
    let lang = cookies(r.headers()).into_iter().find(|c| c.starts_with("twostep_lang=")).unwrap();
    let cookie = format!("{}; {}", pair(&seed), pair(&lang));
    let html = http.get(app.url("/login")).header("cookie", cookie).header("accept-language", "en").send().await;
    assert!(html.unwrap().text().await.unwrap().contains("<html lang=\"pt\">"));
}

/// A browser signed in through the login form: its cookies, ready for a `Cookie` header.
async fn signed_in(app: &TestApp, username: &str) -> String {
    let http = client();
    let page = http.get(app.url("/login")).send().await.unwrap();
    let seed = cookies(page.headers()).into_iter().find(|c| c.starts_with("twostep_csrf=")).unwrap();
    let token = csrf_of(&page.text().await.unwrap());
    let form = [("csrf", token.as_str()), ("organization", ORG), ("username", username), ("password", PASSWORD)];
    let r = http.post(app.url("/login")).header("cookie", pair(&seed)).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let session = cookies(r.headers()).into_iter().find(|c| c.starts_with("twostep_session=")).unwrap();
    format!("{}; {}", pair(&seed), pair(&session))
}

/// Posts a form of `page` (its CSRF token) as the browser with `cookie`.
async fn post_form(app: &TestApp, cookie: &str, page: &str, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let http = client();
    let html = http.get(app.url(page)).header("cookie", cookie).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_of(&html);
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let r = http.post(app.url(path)).header("cookie", cookie).form(&form).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// SPEC §11.2 on the pages: a wrong code posted by another session of the same account
/// must not show the pending secret or its QR code again.
#[tokio::test]
async fn a_pending_secret_is_shown_again_only_to_the_session_that_began_it() {
    let app = TestApp::spawn().await;
    app.seed().await;
    app.technicians_mandatory().await;
    let org = app.store.org_by_slug(ORG).await.unwrap().unwrap();
    // Optional for technicians again, so a password-only session may enroll.
    let tech = app.store.profile_by_slug(org.id, "technician").await.unwrap().unwrap();
    let now = app.clock.now();
    app.store.set_mandatory(org.id, Some(tech.id), false, now, now).await.unwrap();
    let owner = signed_in(&app, "ana").await;
    let other = signed_in(&app, "ana").await;
    let (status, html) = post_form(&app, &owner, "/settings/security", "/settings/security/totp", &[]).await;
    assert_eq!(status, 200, "{html}");
    let start = html.find("id=\"secret\"").expect("the key is shown to its owner");
    let secret: String = html[start..].split('>').nth(2).unwrap().split('<').next().unwrap().to_owned();
    let compact: String = secret.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    assert!(compact.len() >= 32, "{secret:?}");

    let wrong = [("code", "000000")];
    let (_, html) = post_form(&app, &other, "/settings/security", "/settings/security/totp/confirm", &wrong).await;
    assert!(!html.contains(&secret) && !html.contains(&compact), "another session saw the pending secret");
    assert!(!html.contains("data:image/png"), "another session saw the QR code");
    let (_, html) = post_form(&app, &owner, "/settings/security", "/settings/security/totp/confirm", &wrong).await;
    assert!(html.contains(&secret), "the owner sees it again beside the error");
}
