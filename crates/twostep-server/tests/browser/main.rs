//! End-to-end tests of the pages in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`), one journey per test, as a person would click through them.
//! They run when `TWOSTEP_TEST_CHROMEDRIVER` names the ChromeDriver binary and pass as
//! skipped otherwise. Screenshots go to `target/screenshots/`. The checks of `security`
//! (cookies, CSRF, headers, language) need no browser and always run.

mod accounts;
#[path = "../common/mod.rs"]
mod common;
mod passkeys;
mod security;
mod spanish;
mod support;

use support::{Browser, TestApp, browser};
use twostep_core::store::prelude::*;

/// Reads the TOTP key the page shows for manual entry (groups of four, as a person
/// would copy it).
async fn secret_on_page(b: &Browser) -> String {
    let shown = b.text("#secret code").await;
    assert!(shown.split(' ').all(|g| g.len() <= 4), "the key is shown in groups of four: {shown}");
    shown.replace(' ', "")
}

/// Sign-in with mandatory enrollment of an authenticator app, up to the home page;
/// returns the key.
async fn enroll_totp(b: &mut Browser, app: &TestApp, username: &str) -> String {
    b.sign_in(app, username).await;
    b.wait("#choose-totp").await;
    assert_eq!(b.path().await, "/login/enroll");
    b.screenshot("enroll-choose").await;
    enroll_totp_after_choice(b, app).await
}

/// From the method choice of `/login/enroll` to the home page; returns the key.
async fn enroll_totp_after_choice(b: &mut Browser, app: &TestApp) -> String {
    b.click("#choose-totp").await;
    let secret = secret_on_page(b).await;
    // The QR code is an image the Content-Security-Policy lets through (img-src data:).
    let qr_width = b.script("return document.querySelector('img.qr').naturalWidth").await;
    assert!(qr_width.as_u64().unwrap_or(0) >= 200, "the QR code image loaded: {qr_width}");
    assert_eq!(b.attr("#code", "autocomplete").await.as_deref(), Some("one-time-code"));
    assert_eq!(b.attr("#code", "inputmode").await.as_deref(), Some("numeric"));
    b.screenshot("enroll-totp").await;
    b.fill("#code", &app.code(&secret)).await;
    b.click("#verify-enable").await;
    b.wait("#recovery-codes").await;
    assert_eq!(b.count("#recovery-codes li").await, 10);
    let download = b.attr("#download", "href").await.unwrap_or_default();
    assert!(download.starts_with("data:text/plain"), "{download}");
    b.screenshot("recovery-codes").await;
    b.click("#continue").await;
    b.wait("#signed-in-as").await;
    app.next_step();
    secret
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_connects_and_enables_two_step_and_makes_technicians_mandatory_by_clicking() {
    let Some(mut b) = browser("admin").await else { return };
    let app = TestApp::spawn().await;
    app.seed().await;

    b.sign_in(&app, "boss").await;
    b.wait("#signed-in-as").await;
    // The stylesheet is served and allowed by the Content-Security-Policy.
    let background = b.script("return getComputedStyle(document.body).backgroundColor").await;
    assert_eq!(background, "rgb(244, 246, 248)");
    b.click("#to-admin").await;
    b.click("#connect").await;
    b.click("#enable-two-step").await;
    b.wait("#disable-two-step").await;
    b.click("#mandatory-technician").await;
    b.wait("#mandatory-technician[aria-pressed='true']").await;
    assert!(b.text("#profile-technician").await.contains("Mandatory"));
    assert!(b.text("#profile-administrator").await.contains("Optional"));
    assert!(b.text("#flash").await.contains("Saved"));
    b.screenshot("security-and-compliance").await;

    let org = app.store.org_by_slug(support::ORG).await.unwrap().unwrap();
    assert!(org.two_step_in_force());
    let tech = app.store.profile_by_slug(org.id, "technician").await.unwrap().unwrap();
    assert!(tech.mandatory);
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_technician_is_walked_through_authenticator_enrollment_and_lands_on_the_home_page() {
    let Some(mut b) = browser("enroll-totp").await else { return };
    let app = TestApp::spawn().await;
    app.seed().await;
    app.technicians_mandatory().await;

    enroll_totp(&mut b, &app, "ana").await;
    assert_eq!(b.path().await, "/");
    assert!(b.text("#signed-in-as").await.contains("ana"));
    assert!(b.text("main").await.contains("This session passed 2-Step Verification."));
    b.screenshot("home").await;

    b.click("#to-settings").await;
    b.wait("#disable-totp").await;
    assert!(b.text("#recovery-remaining").await.contains("10 of 10"));
    b.screenshot("settings").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_technician_signs_out_and_in_again_with_a_code() {
    let Some(mut b) = browser("sign-in-again").await else { return };
    let app = TestApp::spawn().await;
    app.seed().await;
    app.technicians_mandatory().await;
    let secret = enroll_totp(&mut b, &app, "ana").await;

    b.sign_out().await;
    assert!(b.text("#flash").await.contains("signed out"));
    b.sign_in(&app, "ana").await;
    b.wait("#verify").await;
    assert_eq!(b.path().await, "/login/two-step");
    b.screenshot("two-step").await;
    b.fill("#code", &app.code(&secret)).await;
    b.click("#verify").await;
    b.wait("#signed-in-as").await;
    assert_eq!(b.path().await, "/");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_technician_enrolls_text_messages_with_the_code_from_the_demo_outbox() {
    let Some(mut b) = browser("enroll-sms").await else { return };
    let app = TestApp::spawn().await;
    app.seed().await;
    app.technicians_mandatory().await;

    b.sign_in(&app, "bruno").await;
    b.click("#choose-sms").await;
    b.fill("#phone", "+351 912 345 678").await;
    b.click("#add-number").await;
    b.wait("#sms-sent").await;
    assert!(b.text("#sms-sent").await.contains("678"));
    b.screenshot("sms-code").await;

    // The code arrives "on the phone": the demo outbox, read in another tab.
    let enrolling = b.client.window().await.unwrap();
    let tab = b.client.new_window(true).await.unwrap();
    b.client.switch_to_window(tab.handle).await.unwrap();
    b.goto(&app.url("/dev/outbox")).await;
    let message = b.text("#outbox li pre").await;
    let code: String = message.chars().take(6).collect();
    assert!(code.chars().all(|c| c.is_ascii_digit()), "{message}");
    assert_eq!(app.last_sms_code("+351912345678").as_deref(), Some(code.as_str()));
    b.screenshot("outbox").await;
    b.client.close_window().await.unwrap();
    b.client.switch_to_window(enrolling).await.unwrap();

    b.fill("#code", &code).await;
    b.click("#verify-enable").await;
    b.wait("#recovery-codes").await;
    b.click("#continue").await;
    assert!(b.text("#signed-in-as").await.contains("bruno"));

    // The next sign-in asks for a text message code, sent with "Send code".
    b.sign_out().await;
    b.sign_in(&app, "bruno").await;
    b.click("#send-code").await;
    assert!(b.text("#flash").await.contains("Code sent"));
    let code = app.last_sms_code("+351912345678").unwrap();
    b.fill("#code", &code).await;
    b.click("#verify").await;
    assert!(b.text("#signed-in-as").await.contains("bruno"));
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_code_shows_the_error_next_to_the_field_in_the_readers_language() {
    let Some(mut b) = browser("wrong-code").await else { return };
    let app = TestApp::spawn().await;
    app.seed().await;
    app.technicians_mandatory().await;
    let secret = app.enroll_totp_by_api("ana").await;
    let right = app.code(&secret);
    let wrong = if right == "123456" { "654321" } else { "123456" };

    b.sign_in(&app, "ana").await;
    b.fill("#code", wrong).await;
    b.click("#verify").await;
    let error = b.text("#code-error").await;
    assert_eq!(error, "That code is not correct. 4 attempts left.");
    assert_eq!(b.attr("#code", "aria-invalid").await.as_deref(), Some("true"));
    let described_by = b.attr("#code", "aria-describedby").await.unwrap_or_default();
    assert!(described_by.split(' ').any(|id| id == "code-error"), "{described_by}");
    b.screenshot("wrong-code").await;

    // The language switch keeps the sign-in going, now in Portuguese.
    b.click("button[name='lang'][value='pt']").await;
    b.wait("html[lang='pt'] #verify").await;
    b.fill("#code", wrong).await;
    b.click("#verify").await;
    assert_eq!(b.text("#code-error").await, "Esse código não está correto. Restam 3 tentativas.");
    b.screenshot("wrong-code-pt").await;

    b.fill("#code", &right).await;
    b.click("#verify").await;
    b.wait("#signed-in-as").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_resets_a_users_two_step_after_confirming() {
    let Some(mut b) = browser("reset").await else { return };
    let app = TestApp::spawn().await;
    app.seed().await;
    app.technicians_mandatory().await;
    app.enroll_totp_by_api("ana").await;

    b.sign_in(&app, "boss").await;
    b.click("#to-admin").await;
    assert!(b.text("#user-ana").await.contains("Authenticator app"));
    b.click("#reset-ana").await;
    b.wait("#confirm-reset").await;
    b.screenshot("confirm").await;
    b.click("#confirm-reset").await;
    assert!(b.text("#flash").await.contains("reset"));
    assert!(b.text("#user-ana").await.contains("None"));
    assert_eq!(b.count("#reset-ana").await, 0);
    let org = app.store.org_by_slug(support::ORG).await.unwrap().unwrap();
    let ana = app.store.account_by_username(org.id, "ana").await.unwrap().unwrap();
    assert!(app.store.methods(ana.id).await.unwrap().is_empty());
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_recovery_codes_ask_to_confirm_it_is_you_after_fifteen_minutes() {
    let Some(mut b) = browser("step-up").await else { return };
    let app = TestApp::spawn().await;
    app.seed().await;
    app.technicians_mandatory().await;
    let secret = app.enroll_totp_by_api("ana").await;
    // A phone-sized window: the pages must read on one.
    b.client.set_window_size(390, 844).await.unwrap();

    b.sign_in(&app, "ana").await;
    b.fill("#code", &app.code(&secret)).await;
    b.click("#verify").await;
    b.click("#to-settings").await;
    b.wait("#new-recovery-codes").await;
    b.screenshot("settings-phone").await;

    app.clock.advance(16 * 60);
    b.click("#new-recovery-codes").await;
    b.wait("#verify").await;
    assert_eq!(b.path().await, "/settings/security/confirm");
    b.screenshot("confirm-its-you").await;
    b.fill("#code", &app.code(&secret)).await;
    b.click("#verify").await;
    b.wait("#recovery-codes").await;
    assert_eq!(b.count("#recovery-codes li").await, 10);
    b.click("#continue").await;
    assert!(b.text("#recovery-remaining").await.contains("10 of 10"));
    b.close().await;
}

/// SPEC §13 in a real browser: the admin registers an app on the Apps card, a real
/// OpenID Connect relying party (`openidconnect`) sends the user to Twostep, the user
/// signs in on the pages (password, then the authenticator code) and lands back at the
/// app's redirect URI with a code that the relying party exchanges and validates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_registered_on_the_apps_card_signs_a_user_in_through_the_pages() {
    use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
    use openidconnect::{
        AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge, RedirectUrl,
        TokenResponse,
    };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let Some(mut b) = browser("oidc").await else { return };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = TestApp::spawn_with(|c| {
        c.listen = format!("127.0.0.1:{port}");
        c.public_url = format!("http://127.0.0.1:{port}");
    })
    .await;
    app.seed().await;
    app.technicians_mandatory().await;
    let key = app.enroll_totp_by_api("ana").await;
    // The app: a loopback listener that answers its callback and reports the query.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback = format!("http://127.0.0.1:{}/callback", listener.local_addr().unwrap().port());
    let (seen_tx, seen_rx) = tokio::sync::oneshot::channel::<String>();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = socket.read(&mut buf).await.unwrap();
        let request = String::from_utf8_lossy(&buf[..n]).to_string();
        let target = request.split_whitespace().nth(1).unwrap_or_default().to_owned();
        let body = "<!doctype html><title>Wiki</title><h1 id=\"app-home\">Signed in to the wiki</h1>";
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(answer.as_bytes()).await.unwrap();
        let _ = seen_tx.send(target);
    });

    b.sign_in(&app, "boss").await;
    b.click("#to-admin").await;
    b.wait("#register-app").await;
    b.fill("#app-slug", "wiki").await;
    b.fill("#app-name", "Team wiki").await;
    b.fill("#app-redirect", &callback).await;
    b.click("#register-app-submit").await;
    let client_id = b.text("#new-client-id").await;
    let client_secret = b.text("#new-client-secret").await;
    assert!(b.text("#apps").await.contains("Team wiki"));
    b.screenshot("apps-card").await;
    b.sign_out().await;

    let http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.base.clone()).unwrap(), &http).await.unwrap();
    let client =
        CoreClient::from_provider_metadata(metadata, ClientId::new(client_id), Some(ClientSecret::new(client_secret)))
            .set_redirect_uri(RedirectUrl::new(callback.clone()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .set_pkce_challenge(challenge)
        .url();

    b.goto(url.as_str()).await;
    b.wait("#password").await;
    assert_eq!(b.attr("#organization", "value").await.as_deref(), Some(support::ORG), "the app's organisation");
    b.fill("#username", "ana").await;
    b.fill("#password", support::PASSWORD).await;
    b.screenshot("app-sign-in").await;
    b.click("#sign-in").await;
    b.wait("#code").await;
    b.fill("#code", &app.code(&key)).await;
    b.click("#verify").await;
    b.wait("#app-home").await;
    b.screenshot("back-at-the-app").await;
    let target = seen_rx.await.unwrap();
    let query: std::collections::BTreeMap<String, String> =
        url::Url::parse(&format!("http://x{target}")).unwrap().query_pairs().into_owned().collect();
    assert_eq!(query.get("state"), Some(state.secret()));
    let tokens = client
        .exchange_code(AuthorizationCode::new(query["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let claims = tokens.id_token().unwrap().claims(&client.id_token_verifier(), &nonce).unwrap();
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some("urn:twostep:acr:2sv"));
    b.close().await;
}

/// SPEC §14: "Don't ask again on this device", then forgotten from the settings page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remembered_browser_skips_the_code_until_the_device_is_forgotten() {
    let Some(mut b) = browser("remember").await else { return };
    let app = TestApp::spawn().await;
    app.seed().await;
    app.technicians_mandatory().await;
    let org = app.store.org_by_slug(support::ORG).await.unwrap().unwrap();
    app.store.set_remember_device_days(org.id, 30).await.unwrap();
    let key = app.enroll_totp_by_api("ana").await;

    b.sign_in(&app, "ana").await;
    b.wait("#remember-device").await;
    b.fill("#code", &app.code(&key)).await;
    b.click("#remember-device").await;
    b.screenshot("remember-checkbox").await;
    b.click("#verify").await;
    b.wait("#signed-in-as").await;
    b.sign_out().await;
    // Next time, the password is enough on this browser.
    b.sign_in(&app, "ana").await;
    b.wait("#signed-in-as").await;
    assert_eq!(b.path().await, "/");
    b.click("#to-settings").await;
    b.wait("#devices").await;
    b.screenshot("remembered-devices").await;
    let forget = b.attr("#devices form button", "id").await.unwrap();
    b.click(&format!("#{forget}")).await;
    b.wait("#flash").await;
    assert_eq!(b.count("#devices").await, 0);
    b.sign_out().await;
    app.next_step();
    b.sign_in(&app, "ana").await;
    b.wait("#code").await;
    assert_eq!(b.path().await, "/login/two-step", "forgotten: the code is asked again");
    b.close().await;
}
