//! SPEC §14 in a real browser: a passkey registered on the settings page through
//! Chromium's virtual authenticator (the WebDriver extension `POST
//! /session/{id}/webauthn/authenticator`), then used to sign in and to confirm it's you;
//! once removed, the sign-in no longer offers it.

use crate::support::{Browser, TestApp, browser};
use axum::http::Method;
use serde_json::json;
use twostep_core::store::prelude::*;

/// `POST /session/{id}/webauthn/authenticator`: a platform authenticator that holds
/// passkeys and verifies its user (Chromium's virtual authenticator, WebAuthn §11).
#[derive(Debug)]
struct AddVirtualAuthenticator;

impl fantoccini::wd::WebDriverCompatibleCommand for AddVirtualAuthenticator {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/webauthn/authenticator", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (Method, Option<String>) {
        let body = json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
            "automaticPresenceSimulation": true,
        });
        (Method::POST, Some(body.to_string()))
    }
}

/// The app on `http://localhost:PORT`: WebAuthn needs a host name, not an IP address.
async fn app_on_localhost() -> TestApp {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut app = TestApp::spawn_with(|c| {
        c.listen = format!("127.0.0.1:{port}");
        c.public_url = format!("http://localhost:{port}");
    })
    .await;
    app.base = format!("http://localhost:{port}");
    app
}

async fn sign_in_with_code(b: &Browser, app: &TestApp, secret: &str) {
    b.sign_in(app, "ana").await;
    b.fill("#code", &app.code(secret)).await;
    b.click("#verify").await;
    b.wait("#signed-in-as").await;
    app.next_step();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_is_registered_in_settings_signs_in_confirms_and_is_removed() {
    let Some(mut b) = browser("passkey").await else { return };
    let app = app_on_localhost().await;
    app.seed().await;
    app.technicians_mandatory().await;
    let secret = app.enroll_totp_by_api("ana").await;
    let added = b.client.issue_cmd(AddVirtualAuthenticator).await.unwrap();
    assert!(added.get("value").is_some_and(|v| v.is_string()) || added.is_string(), "{added}");

    // Register: the name, the button, the browser's ceremony, back to the settings.
    sign_in_with_code(&b, &app, &secret).await;
    b.goto(&app.url("/settings/security")).await;
    b.wait("#add-key").await;
    b.fill("#add-key-name", "Laptop passkey").await;
    b.screenshot("settings-add-key").await;
    b.click("#add-key").await;
    b.wait("#flash").await;
    b.wait("#named-methods").await;
    let table = b.text("#named-methods").await;
    assert!(table.contains("Laptop passkey") && table.contains("Security key or passkey"), "{table}");
    b.screenshot("settings-with-passkey").await;

    // Sign in with it.
    b.sign_out().await;
    b.sign_in(&app, "ana").await;
    b.wait("#use-webauthn").await;
    b.click("#use-webauthn").await;
    b.wait("#use-security-key").await;
    b.screenshot("sign-in-with-key").await;
    b.click("#use-security-key").await;
    b.wait("#signed-in-as").await;
    assert_eq!(b.path().await, "/");

    // Confirm it's you with it, after the fifteen minutes.
    app.clock.advance(16 * 60);
    b.goto(&app.url("/settings/security")).await;
    b.click("#new-recovery-codes").await;
    b.wait("#verify").await;
    b.click("#use-webauthn").await;
    b.click("#use-security-key").await;
    b.wait("#recovery-codes").await;
    b.click("#continue").await;

    // Removed, the key is no longer offered.
    let org = app.store.org_by_slug(crate::support::ORG).await.unwrap().unwrap();
    let ana = app.store.account_by_username(org.id, "ana").await.unwrap().unwrap();
    let methods = app.store.methods(ana.id).await.unwrap();
    let key = methods.iter().find(|m| m.name == "Laptop passkey").unwrap();
    assert!(key.last_used_at.is_some());
    b.wait("#named-methods").await;
    b.click(&format!("#remove-method-{}", key.id)).await;
    b.wait("#flash").await;
    assert!(!b.text("#named-methods").await.contains("Laptop passkey"));
    b.sign_out().await;
    b.sign_in(&app, "ana").await;
    b.wait("#code").await;
    assert_eq!(b.count("#use-webauthn").await, 0, "the removed key is not offered");
    b.close().await;
}
