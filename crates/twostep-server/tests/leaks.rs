//! No secret reaches a log line, an audit row or `/metrics` (SPEC §10, issue 7): every
//! log line of a whole journey through the real API is captured at TRACE level, for all
//! targets, and searched for every password, code, secret, recovery code, token and full
//! phone number the journey used. Text messages go to a local webhook (the `log` provider
//! writes them to the log on purpose).

#[path = "common/mod.rs"]
mod common;
#[path = "api/support.rs"]
mod support;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use support::{PASSWORD, TestApp};
use twostep_core::credential::{recovery, totp};
use twostep_server::config::SmsProvider;
use twostep_store::testing::Backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_whole_journey_leaves_no_secret_in_the_logs_the_audit_or_the_metrics_on_sqlite() {
    journey(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_whole_journey_leaves_no_secret_in_the_logs_the_audit_or_the_metrics_on_postgres() {
    journey(Backend::Postgres).await;
}

/// Every byte any log line of this test binary wrote.
fn logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| Mutex::new(Vec::new()))
}

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        logs().lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A TRACE subscriber for every target, span events included, without timestamps (whose
/// digits could pass for a code). `log` records are bridged too.
fn capture_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
            .without_time()
            .with_ansi(false)
            .with_writer(|| Capture)
            .try_init()
            .unwrap();
    });
}

/// The local SMS provider: keeps every `{"to","body"}` it is sent.
#[derive(Clone, Default)]
struct Webhook(Arc<Mutex<Vec<(String, String)>>>);

impl Webhook {
    async fn start(&self) -> String {
        async fn receive(State(hook): State<Webhook>, Json(message): Json<Value>) -> &'static str {
            let to = message["to"].as_str().unwrap_or_default().to_owned();
            let body = message["body"].as_str().unwrap_or_default().to_owned();
            hook.0.lock().unwrap().push((to, body));
            "ok"
        }
        let app = axum::Router::new().route("/sms", axum::routing::post(receive)).with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/sms", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    /// The code of the last message (its first six characters).
    fn last_code(&self) -> String {
        let messages = self.0.lock().unwrap();
        let (_, body) = messages.last().expect("no text message sent");
        body[..6].to_owned()
    }
}

/// What must never be written anywhere but to its owner.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, what: &str, value: impl Into<String>) {
        let value = value.into();
        assert!(!value.is_empty(), "{what} is empty");
        self.0.push((what.to_owned(), value));
    }

    fn token(&mut self, what: &str, r: &support::Response, pointer: &str) -> String {
        let token = r.body.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("{what}: {}", r.text));
        self.add(what, token);
        token.to_owned()
    }

    /// A recovery code as shown and as it may be typed.
    fn recovery_codes(&mut self, codes: &[String]) {
        assert_eq!(codes.len(), 10);
        for code in codes {
            self.add("recovery code", code.clone());
            self.add("recovery code (normalised)", recovery::normalize(code).unwrap());
        }
    }

    fn totp_secret(&mut self, base32: &str) -> Vec<u8> {
        let raw = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, base32).unwrap();
        self.add("TOTP secret (base32)", base32);
        self.add("TOTP secret (lowercase base32)", base32.to_lowercase());
        self.add("TOTP secret (hex)", raw.iter().map(|b| format!("{b:02x}")).collect::<String>());
        self.add("TOTP secret (bytes)", format!("{raw:?}"));
        raw
    }

    /// Where each secret appears in `text`. Six-digit codes count only when they stand
    /// alone (not inside a longer number).
    fn found_in(&self, text: &str) -> Vec<String> {
        let mut found = Vec::new();
        for (what, value) in &self.0 {
            let hit = if value.len() == 6 && value.bytes().all(|b| b.is_ascii_digit()) {
                text.match_indices(value.as_str()).any(|(at, _)| {
                    let before = text[..at].chars().next_back();
                    let after = text[at + value.len()..].chars().next();
                    !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
                })
            } else {
                text.contains(value.as_str())
            };
            if hit {
                let at = text.find(value.as_str()).unwrap_or(0);
                let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
                found.push(format!("{what} {value:?} in: {}", &text[line_start..line_end]));
            }
        }
        found
    }
}

/// A six-digit code that is neither `a` nor `b`.
fn wrong_code(a: &str, b: &str) -> String {
    ["314159", "271828", "161803"].into_iter().find(|c| *c != a && *c != b).unwrap().to_owned()
}

async fn journey(backend: Backend) {
    capture_logs();
    let hook = Webhook::default();
    let hook_url = hook.start().await;
    let hook_token = "hook-token-d41d8cd98f00b204";
    let Some(app) = TestApp::spawn_with(backend, |c| {
        c.sms.provider = SmsProvider::Webhook;
        c.sms.webhook_url = hook_url;
        c.sms.webhook_token = serde_json::from_value(json!(hook_token)).unwrap();
    })
    .await
    else {
        return;
    };
    let mut secrets = Secrets::default();
    secrets.add("password", PASSWORD);
    secrets.add("webhook token", hook_token);

    // Organisation, admin, 2SV on; a mandatory profile with a user who has no method.
    let admin = app.acme(true).await;
    secrets.add("admin session", admin.clone());
    app.profile("acme", "ops", false).await;
    app.account("acme", "nina", Some("ops")).await;
    let r = app.put("/api/v1/admin/two-step/profiles/ops", Some(&admin), json!({ "mandatory": true })).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Wrong passwords, for a real and an unknown user.
    for (user, wrong) in [("maria", "Wrong-Password-7f3a"), ("nobody", "Another-Wrong-91c2"), ("maria", "")] {
        if !wrong.is_empty() {
            secrets.add("wrong password", wrong);
        }
        let r = app.login("acme", user, wrong, "web").await;
        assert_eq!(r.status, 401, "{}", r.text);
    }

    // TOTP enrollment: the secret, a wrong code, the right code, recovery codes.
    let maria = app.session("acme", "maria").await;
    secrets.add("maria's session", maria.clone());
    let r = app.post("/api/v1/me/two-step/totp", Some(&maria), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let secret = secrets.totp_secret(r.body["secret"].as_str().unwrap());
    secrets.add("otpauth URI", r.body["otpauth_uri"].as_str().unwrap());
    let code = totp::code_at(&secret, app.now());
    let wrong = wrong_code(&code, "");
    secrets.add("TOTP code", code.clone());
    secrets.add("wrong code", wrong.clone());
    let r = app.post("/api/v1/me/two-step/totp/confirm", Some(&maria), json!({ "code": wrong })).await;
    assert_eq!(r.status, 401, "{}", r.text);
    let r = app.post("/api/v1/me/two-step/totp/confirm", Some(&maria), json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let codes: Vec<String> = serde_json::from_value(r.body["recovery_codes"].clone()).unwrap();
    secrets.recovery_codes(&codes);

    // Sign-in with TOTP: a flow, a wrong code, a replayed code, the right one.
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    let flow = secrets.token("flow token", &r, "/flow/token");
    let r = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "totp", "code": wrong })).await;
    assert_eq!(r.status, 401, "{}", r.text);
    let code = app.next_code(&secret);
    secrets.add("TOTP code", code.clone());
    let r = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "totp", "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let verified = secrets.token("verified session", &r, "/session/token");
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    let flow = secrets.token("flow token", &r, "/flow/token");
    let r = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "totp", "code": code })).await;
    assert_eq!(r.status, 401, "a replayed code: {}", r.text);

    // A recovery code at sign-in, then new ones (step-up is fresh).
    let r = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "recovery_code", "code": codes[0] })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    secrets.token("session from a recovery code", &r, "/session/token");
    let r = app.post("/api/v1/me/two-step/recovery-codes", Some(&verified), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let new_codes: Vec<String> = serde_json::from_value(r.body["recovery_codes"].clone()).unwrap();
    secrets.recovery_codes(&new_codes);
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    let flow = secrets.token("flow token", &r, "/flow/token");
    let r = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "recovery_code", "code": codes[1] })).await;
    assert_eq!(r.status, 401, "an old recovery code: {}", r.text);

    // SMS: enrollment (a wrong code first), sign-in with a text message, step-up by text.
    let phone = "+351 912 345 678";
    for form in [phone, "+351912345678", "351912345678", "912345678", "912 345 678"] {
        secrets.add("phone number", form);
    }
    let r = app.post("/api/v1/me/two-step/sms", Some(&verified), json!({ "phone": phone })).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let sms_code = hook.last_code();
    secrets.add("SMS code", sms_code.clone());
    let wrong = wrong_code(&sms_code, &code);
    let r = app.post("/api/v1/me/two-step/sms/confirm", Some(&verified), json!({ "code": wrong })).await;
    assert_eq!(r.status, 401, "{}", r.text);
    let r = app.post("/api/v1/me/two-step/sms/confirm", Some(&verified), json!({ "code": sms_code })).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let r = app.login("acme", "maria", PASSWORD, "api").await;
    let flow = secrets.token("flow token", &r, "/flow/token");
    let r = app.post("/api/v1/login/sms", Some(&flow), json!({})).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let sms_code = hook.last_code();
    secrets.add("SMS code", sms_code.clone());
    let r = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "sms", "code": sms_code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sms_session = secrets.token("session from an SMS code", &r, "/session/token");
    let r = app.post("/api/v1/me/two-step/verify/sms", Some(&sms_session), json!({})).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let sms_code = hook.last_code();
    secrets.add("SMS code", sms_code.clone());
    let r =
        app.post("/api/v1/me/two-step/verify", Some(&sms_session), json!({ "method": "sms", "code": sms_code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let code = app.next_code(&secret);
    secrets.add("TOTP code", code.clone());
    let r = app.post("/api/v1/me/two-step/verify", Some(&sms_session), json!({ "method": "totp", "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.get("/api/v1/me/two-step", Some(&sms_session)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.get("/api/v1/me/sessions", Some(&sms_session)).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Mandatory enrollment at sign-in with the flow token.
    let r = app.login("acme", "nina", PASSWORD, "web").await;
    assert_eq!(r.body["status"], "two_step_enrollment_required", "{}", r.text);
    let flow = secrets.token("enrollment flow token", &r, "/flow/token");
    let r = app.post("/api/v1/me/two-step/totp", Some(&flow), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let nina_secret = secrets.totp_secret(r.body["secret"].as_str().unwrap());
    let code = totp::code_at(&nina_secret, app.now());
    secrets.add("TOTP code", code.clone());
    let r = app.post("/api/v1/me/two-step/totp/confirm", Some(&flow), json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    secrets.token("session from enrollment", &r, "/session/token");
    let nina_codes: Vec<String> = serde_json::from_value(r.body["recovery_codes"].clone()).unwrap();
    secrets.recovery_codes(&nina_codes);

    // Admin actions and audit reads; a reset; sign-outs; garbage tokens.
    for path in ["/api/v1/admin/two-step", "/api/v1/admin/two-step/users", "/api/v1/admin/audit?limit=100"] {
        let r = app.get(path, Some(&admin)).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
    }
    let r = app.put("/api/v1/admin/two-step/organization", Some(&admin), json!({ "mandatory": false })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.post("/api/v1/logout", Some(&sms_session), json!({})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = app.delete("/api/v1/admin/users/maria/two-step", Some(&admin)).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = app.get("/api/v1/session", Some(&sms_session)).await;
    assert_eq!(r.status, 401, "{}", r.text);
    // SPEC §12: users created with a setup link, a password chosen there, an access code
    // after the reset, an own password change, a password reset, disable and delete.
    let r = app
        .post(
            "/api/v1/admin/users",
            Some(&admin),
            json!({ "username": "joao", "profile": "ops", "email": "joao@example.com", "display_name": "João" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let link = secrets.token("setup link", &r, "/setup_link/url");
    let link_token = link.rsplit('/').next().unwrap().to_owned();
    secrets.add("setup link token", link_token.clone());
    let joao_password = "Setup-Chosen-Passphrase-5e6f";
    secrets.add("password chosen on a setup link", joao_password);
    let r = app.post(&format!("/api/v1/setup/{link_token}"), None, json!({ "password": "joao12345" })).await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = app.post(&format!("/api/v1/setup/{link_token}"), None, json!({ "password": joao_password })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    secrets.token("session after a setup link", &r, "/session/token");
    let r = app.post(&format!("/api/v1/setup/{link_token}"), None, json!({ "password": joao_password })).await;
    assert_eq!(r.status, 410, "{}", r.text);

    let r = app.post("/api/v1/admin/users/maria/access-code", Some(&admin), json!({})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let access_code = secrets.token("access code", &r, "/access_code");
    secrets.add("access code (typed)", access_code.replace('-', "").to_lowercase());
    let r = app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    assert_eq!(r.body["access_code_required"], true, "{}", r.text);
    let flow = secrets.token("flow token", &r, "/flow/token");
    let r = app.post("/api/v1/login/access-code", Some(&flow), json!({ "code": access_code })).await;
    assert_eq!(r.status, 204, "{}", r.text);

    let guest = app.session("acme", "guest").await;
    secrets.add("guest session", guest.clone());
    let guest_new = "Visitor-New-Passphrase-a1b2";
    secrets.add("new password", guest_new);
    let r = app
        .post(
            "/api/v1/me/password",
            Some(&guest),
            json!({ "current_password": "Wrong-Current-77aa", "new_password": guest_new }),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    secrets.add("wrong current password", "Wrong-Current-77aa");
    let r = app
        .post("/api/v1/me/password", Some(&guest), json!({ "current_password": PASSWORD, "new_password": guest_new }))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = app.post("/api/v1/admin/users/joao/password-reset", Some(&admin), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let link = secrets.token("password reset link", &r, "/setup_link/url");
    secrets.add("password reset token", link.rsplit('/').next().unwrap().to_owned());
    let r = app
        .call(reqwest::Method::PATCH, "/api/v1/admin/users/joao", Some(&admin), Some(json!({ "disabled": true })))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.get("/api/v1/admin/users?query=jo&two_step=not_enrolled", Some(&admin)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.delete("/api/v1/admin/users/joao", Some(&admin)).await;
    assert_eq!(r.status, 204, "{}", r.text);

    let forged = "forged-token-0f8e7d6c5b4a39281706";
    secrets.add("forged token", forged);
    let r = app.get("/api/v1/session", Some(forged)).await;
    assert_eq!(r.status, 401, "{}", r.text);

    // Nothing secret anywhere an operator looks.
    let audit_api = app.get("/api/v1/admin/audit?limit=100", Some(&admin)).await;
    assert_eq!(audit_api.status, 200, "{}", audit_api.text);
    let audit_rows = format!("{:?}", app.events("acme").await);
    let metrics = app.get("/metrics", None).await;
    assert_eq!(metrics.status, 200);
    assert!(hook.0.lock().unwrap().len() >= 3, "the webhook got the text messages");
    drop(app);
    let logs = String::from_utf8_lossy(&logs().lock().unwrap()).into_owned();
    assert!(logs.contains("twostep") && logs.lines().count() > 100, "the logs were not captured:\n{logs}");

    let mut leaks = Vec::new();
    for (place, text) in [
        ("logs", logs.as_str()),
        ("audit API", &audit_api.text),
        ("audit rows", &audit_rows),
        ("metrics", &metrics.text),
    ] {
        leaks.extend(secrets.found_in(text).into_iter().map(|l| format!("{place}: {l}")));
    }
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
}
