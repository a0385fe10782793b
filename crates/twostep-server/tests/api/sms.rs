//! Text-message 2SV: phone enrollment, codes at sign-in, the webhook and Twilio providers
//! against a real local HTTP server, abuse limits, English and Portuguese messages
//! (issue 5; SPEC §4–§6, §10).

use crate::support::{PASSWORD, TestApp};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use twostep_core::crypto::TokenHash;
use twostep_core::domain::{AddonState, Language, MethodKind};
use twostep_core::store::{EnrollmentOwner, NewAccount, prelude::*};
use twostep_server::config::{Config, SmsProvider};
use twostep_store::testing::Backend;

/// Like `both!`, but the test gets the backend and spawns the app itself, so it can
/// configure it (a provider pointing at a server the test started, low limits).
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        twostep_store::on_both_databases!(sqlite, postgres;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            |backend| Some(backend); $($name),*);
    };
}

on_both!(
    a_user_enrolls_a_phone_and_only_its_masked_hint_is_ever_shown,
    the_number_and_the_codes_are_not_stored_in_clear,
    a_user_with_a_phone_signs_in_with_a_text_message_code,
    an_invalid_phone_number_is_refused_with_invalid_phone,
    text_messages_are_not_for_contacts_nor_while_two_step_is_off,
    asking_for_a_sign_in_text_needs_a_two_step_flow_of_a_user_with_a_phone,
    a_code_works_once,
    a_code_expires_after_the_configured_ttl,
    each_code_allows_five_wrong_tries,
    a_code_is_bound_to_the_flow_that_asked_for_it,
    a_code_sent_to_one_number_cannot_confirm_another,
    a_flow_may_ask_for_another_code_thirty_seconds_after_its_last,
    a_new_sign_in_right_after_an_enrollment_gets_its_code,
    a_user_gets_at_most_five_text_messages_an_hour,
    a_number_gets_at_most_five_text_messages_an_hour,
    the_organisation_hourly_cap_stops_sms_pumping,
    changing_the_number_needs_a_recent_second_step,
    mandatory_enrollment_at_sign_in_can_use_a_text_message,
    the_message_follows_the_spec_in_the_organisations_language,
    the_issuer_host_and_templates_of_the_message_come_from_the_configuration,
    the_webhook_provider_delivers_enrollment_and_sign_in_codes,
    a_webhook_that_fails_or_times_out_enables_nothing,
    the_twilio_provider_delivers_codes_and_reports_errors,
);

const SMS: &str = "/api/v1/me/two-step/sms";
const CONFIRM: &str = "/api/v1/me/two-step/sms/confirm";
const OVERVIEW: &str = "/api/v1/me/two-step";
const PHONE: &str = "+351 912 345 678";
const E164: &str = "+351912345678";
const HINT: &str = "••••••678";
const OTHER_PHONE: &str = "+351 912 345 679";
const OTHER_E164: &str = "+351912345679";

fn english(code: &str) -> String {
    format!("{code} is your Twostep verification code. Do not share it with anyone.\n\n@login.example.com #{code}")
}

/// A six-digit code that is not `code`.
fn wrong(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

/// Moves the clock to just after the start of an hour, so the hourly send windows do
/// not turn over in the middle of a test.
fn at_top_of_hour(app: &TestApp) {
    app.clock.advance(3600 - app.now().rem_euclid(3600) + 1);
}

/// Bodies of the demo-outbox messages sent to `e164`, oldest first.
fn texts(app: &TestApp, e164: &str) -> Vec<String> {
    let outbox = app.state.outbox.as_ref().unwrap();
    let mut bodies: Vec<String> = outbox.messages().into_iter().filter(|m| m.to == e164).map(|m| m.body).collect();
    bodies.reverse();
    bodies
}

/// Enrolls `phone` for a session (or enrollment flow) holder; returns the confirmation.
async fn enroll(app: &TestApp, token: &str, phone: &str, e164: &str) -> Value {
    let r = app.post(SMS, Some(token), json!({ "phone": phone })).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let code = app.last_sms_code(e164);
    let r = app.post(CONFIRM, Some(token), json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

/// Signs in with the password and expects a second step; returns the flow token.
async fn two_step_flow(app: &TestApp, username: &str) -> String {
    let r = app.login("acme", username, PASSWORD, "web").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "two_step_required", "{}", r.text);
    r.body["flow"]["token"].as_str().unwrap().to_owned()
}

async fn send_sign_in_code(app: &TestApp, flow: &str) -> crate::support::Response {
    app.post("/api/v1/login/sms", Some(flow), json!({})).await
}

async fn verify(app: &TestApp, flow: &str, code: &str) -> crate::support::Response {
    app.post("/api/v1/login/verify", Some(flow), json!({ "method": "sms", "code": code })).await
}

/// Outcomes of the audit events of `kind`, oldest first.
async fn outcomes(app: &TestApp, kind: &str) -> Vec<String> {
    let mut events: Vec<String> =
        app.events("acme").await.into_iter().filter(|e| e.event.kind == kind).map(|e| e.event.outcome).collect();
    events.reverse();
    events
}

async fn account_id(app: &TestApp, org: &str, username: &str) -> i64 {
    let org = app.store.org_by_slug(org).await.unwrap().unwrap();
    app.store.account_by_username(org.id, username).await.unwrap().unwrap().id
}

/// Asserts a 429 `sms_rate_limited` and returns its `retry_after`, which the
/// `Retry-After` header repeats.
fn rate_limited(r: &crate::support::Response) -> i64 {
    assert_eq!((r.status, r.error_code()), (429, "sms_rate_limited"), "{}", r.text);
    let retry_after = r.body["error"]["retry_after"].as_i64().unwrap();
    assert_eq!(r.header("retry-after"), Some(retry_after.to_string().as_str()));
    retry_after
}

/// An organisation seeded straight into the store, 2SV connected and enabled, with one
/// user `username` of a non-admin profile.
async fn other_org(app: &TestApp, slug: &str, language: Language, username: &str) {
    let org = app.store.create_org(slug, slug, language).await.unwrap();
    let profile = app.store.create_profile(org.id, "staff", "Staff", false).await.unwrap();
    app.store
        .create_account(NewAccount {
            org_id: org.id,
            username: username.into(),
            kind: twostep_core::domain::AccountKind::User,
            profile_id: Some(profile.id),
            password_hash: crate::support::password_hash(),
            phone_sealed: None,
            phone_hint: None,
            key_id: None,
            created_at: app.now(),
        })
        .await
        .unwrap();
    app.store.set_addon_state(org.id, AddonState::Connected).await.unwrap();
    app.store.set_two_step_enabled(org.id, true, app.now(), app.now()).await.unwrap();
}

// A fake SMS provider: a real HTTP server on 127.0.0.1:0 that records what it gets and
// answers with a status (and after a delay) the test can change as it goes.

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HeaderMap,
    body: String,
}

#[derive(Clone, Default)]
struct Provider {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    status: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
}

impl Provider {
    async fn start() -> Self {
        async fn answer(State(p): State<Provider>, uri: Uri, headers: HeaderMap, body: String) -> StatusCode {
            p.seen.lock().unwrap().push(Seen { path: uri.path().to_owned(), headers, body });
            tokio::time::sleep(Duration::from_millis(p.delay_ms.load(Ordering::SeqCst))).await;
            StatusCode::from_u16(p.status.load(Ordering::SeqCst)).unwrap()
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut provider = Provider { url: format!("http://{}", listener.local_addr().unwrap()), ..Self::default() };
        provider.answer_with(200);
        let app = axum::Router::new().fallback(axum::routing::post(answer)).with_state(provider.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        provider
    }

    fn answer_with(&mut self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    fn delay(&self, ms: u64) {
        self.delay_ms.store(ms, Ordering::SeqCst);
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The message body of the last request: the JSON `body` of a webhook call or the
    /// form field `Body` of a Twilio call.
    fn last_message(&self) -> String {
        let last = self.requests().pop().expect("the provider got no request");
        match serde_json::from_str::<Value>(&last.body) {
            Ok(json) => json["body"].as_str().unwrap().to_owned(),
            Err(_) => form(&last.body).into_iter().find(|(k, _)| k == "Body").unwrap().1,
        }
    }

    fn last_code(&self) -> String {
        self.last_message()[..6].to_owned()
    }
}

fn form(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes()).into_owned().collect()
}

fn secret(value: &str) -> twostep_server::config::Secret {
    serde_json::from_value(json!(value)).unwrap()
}

// Enrollment.

async fn a_user_enrolls_a_phone_and_only_its_masked_hint_is_ever_shown(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let admin = app.acme(true).await;
    let token = app.session("acme", "maria").await;
    let r = app.post(SMS, Some(&token), json!({ "phone": PHONE })).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body, json!({ "sent": true, "phone_hint": HINT, "resend_after": 30 }));
    assert_eq!(texts(&app, E164).len(), 1, "one text to the normalised number");
    // Nothing is enabled before the code comes back.
    assert_eq!(app.get(OVERVIEW, Some(&token)).await.body["methods"], json!([]));

    let code = app.last_sms_code(E164);
    let r = app.post(CONFIRM, Some(&token), json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.body["method"]["type"], "sms");
    assert_eq!(r.body["method"]["phone_hint"], HINT);
    assert!(r.body["method"]["enabled_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(r.body["recovery_codes"].as_array().unwrap().len(), 10, "the first method issues recovery codes");

    let overview = app.get(OVERVIEW, Some(&token)).await;
    assert_eq!(overview.status, 200);
    let methods = overview.body["methods"].as_array().unwrap();
    assert_eq!(methods.len(), 1, "{}", overview.text);
    assert_eq!((methods[0]["type"].as_str(), methods[0]["phone_hint"].as_str()), (Some("sms"), Some(HINT)));
    assert_eq!(overview.body["recovery_codes_remaining"], 10);
    let report = app.get("/api/v1/admin/two-step/users", Some(&admin)).await;
    let maria = report.body["users"].as_array().unwrap().iter().find(|u| u["username"] == "maria").unwrap();
    assert_eq!(maria["methods"], json!(["sms"]));

    // The full number appears in no answer and no audit event.
    let login = app.login("acme", "maria", PASSWORD, "web").await;
    for text in [&r.text, &overview.text, &report.text, &login.text] {
        assert!(!text.contains("912345678") && !text.contains("912 345 678"), "{text}");
    }
    for e in app.events("acme").await {
        assert!(!format!("{:?}", e.event).contains("912345678"), "{:?}", e.event);
    }
    assert_eq!(outcomes(&app, "sms.sent").await, ["success"]);
    assert_eq!(outcomes(&app, "two_step.method_enabled").await, ["sms"]);
}

async fn the_number_and_the_codes_are_not_stored_in_clear(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    enroll(&app, &token, PHONE, E164).await;
    let enrollment_code = app.last_sms_code(E164);
    let flow = two_step_flow(&app, "maria").await;
    assert_eq!(send_sign_in_code(&app, &flow).await.status, 202);
    let sign_in_code = app.last_sms_code(E164);
    assert_eq!(verify(&app, &flow, &sign_in_code).await.status, 200);

    // Sealed, bound to the account: the stored method is not the number.
    let maria = account_id(&app, "acme", "maria").await;
    let methods = app.store.methods(maria).await.unwrap();
    let sms = methods.iter().find(|m| m.kind == MethodKind::Sms).unwrap();
    assert!(!sms.sealed.windows(9).any(|w| w == b"912345678"));
    assert_eq!(sms.phone_hint.as_deref(), Some(HINT));
    // The per-number counter is not keyed by a plain hash of the number, which anyone
    // could compute for every number there is.
    let plain: String = Sha256::digest(E164).iter().map(|b| format!("{b:02x}")).collect();
    let hour = app.now() - app.now().rem_euclid(3600);
    assert_eq!(app.store.window_count(&format!("sms:phone:{plain}"), hour).await.unwrap(), 0);

    // Every byte SQLite keeps (the database, its write-ahead log) is free of the number
    // and of the codes.
    if let Some(path) = app.db.sqlite_path() {
        let mut bytes = Vec::new();
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            bytes.extend(std::fs::read(file).unwrap_or_default());
        }
        assert!(bytes.len() > 10_000, "read the database");
        let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        for needle in [E164, "351912345678", "912345678", &plain, &enrollment_code, &sign_in_code] {
            assert!(!contains(needle.as_bytes()), "{needle} is stored in clear");
        }
    }
}

async fn a_user_with_a_phone_signs_in_with_a_text_message_code(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    enroll(&app, &token, PHONE, E164).await;
    app.clock.advance(60);

    let r = app.login("acme", "maria", PASSWORD, "web").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "two_step_required");
    assert_eq!(r.body["methods"], json!([{ "type": "sms", "phone_hint": HINT }, { "type": "recovery_code" }]));
    let flow = r.body["flow"]["token"].as_str().unwrap();

    let r = send_sign_in_code(&app, flow).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body, json!({ "sent": true, "resend_after": 30 }));
    let messages = texts(&app, E164);
    assert_eq!(messages.len(), 2, "a second text, for the sign-in");
    let code = app.last_sms_code(E164);
    assert_eq!(messages[1], english(&code));

    let r = verify(&app, flow, &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "authenticated");
    assert_eq!(r.body["two_step_verified"], true);
    let session = r.body["session"]["token"].as_str().unwrap();
    let s = app.get("/api/v1/session", Some(session)).await;
    assert_eq!((s.status, &s.body["two_step_verified"]), (200, &json!(true)));
    // The flow is spent.
    let again = verify(&app, flow, &code).await;
    assert_eq!((again.status, again.error_code()), (401, "flow_expired"));
    assert_eq!(outcomes(&app, "sms.sent").await, ["success", "success"]);
    assert_eq!(outcomes(&app, "two_step.code_accepted").await, ["sms"]);
}

async fn an_invalid_phone_number_is_refused_with_invalid_phone(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    for bad in ["12345", "+351 12", "not a phone", "", "912345678", "+1", "+351 912 345 678 999 999"] {
        let r = app.post(SMS, Some(&token), json!({ "phone": bad })).await;
        assert_eq!((r.status, r.error_code()), (422, "invalid_phone"), "{bad:?}: {}", r.text);
    }
    let r = app.post(SMS, Some(&token), json!({})).await;
    assert_eq!((r.status, r.error_code()), (400, "invalid_request"));
    assert!(app.state.outbox.as_ref().unwrap().messages().is_empty(), "nothing was sent");
    let maria = account_id(&app, "acme", "maria").await;
    let session = app.store.session_by_hash(&TokenHash::of(&token).0).await.unwrap().unwrap();
    let owner = EnrollmentOwner::Session(session.id);
    assert!(app.store.pending(maria, MethodKind::Sms, owner, app.now()).await.unwrap().is_none());
    // National and 00-prefixed international forms of a valid number are normalised.
    let r = app.post(SMS, Some(&token), json!({ "phone": "00351912345678" })).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(texts(&app, E164).len(), 1);
}

async fn text_messages_are_not_for_contacts_nor_while_two_step_is_off(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let admin = app.acme(false).await;
    let maria = app.session("acme", "maria").await;
    let r = app.post(SMS, Some(&maria), json!({ "phone": PHONE })).await;
    assert_eq!((r.status, r.error_code()), (409, "two_step_disabled"));
    assert_eq!(app.post("/api/v1/admin/two-step/connect", Some(&admin), json!({})).await.status, 200);
    assert_eq!(app.post("/api/v1/admin/two-step/enable", Some(&admin), json!({})).await.status, 200);
    let guest = app.session("acme", "guest").await;
    for (method, path) in [("POST", SMS), ("POST", CONFIRM), ("DELETE", SMS)] {
        let body = if method == "POST" { Some(json!({ "phone": PHONE, "code": "123456" })) } else { None };
        let r = app.call(method.parse().unwrap(), path, Some(&guest), body).await;
        assert_eq!((r.status, r.error_code()), (403, "two_step_not_available"), "{method} {path}");
    }
    assert!(app.state.outbox.as_ref().unwrap().messages().is_empty());
}

async fn asking_for_a_sign_in_text_needs_a_two_step_flow_of_a_user_with_a_phone(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    app.acme(true).await;
    let maria = app.session("acme", "maria").await;
    let r = app.post("/api/v1/login/sms", None, json!({})).await;
    assert_eq!((r.status, r.error_code()), (401, "flow_expired"));
    // A session is not a flow.
    let r = app.post("/api/v1/login/sms", Some(&maria), json!({})).await;
    assert_eq!((r.status, r.error_code()), (401, "flow_expired"));
    // A user whose only method is the authenticator app has no number to text.
    app.enroll_totp(&maria).await;
    let flow = two_step_flow(&app, "maria").await;
    let r = send_sign_in_code(&app, &flow).await;
    assert_eq!((r.status, r.error_code()), (400, "invalid_request"));
    assert_eq!(verify(&app, &flow, "123456").await.error_code(), "invalid_code");
    assert!(app.state.outbox.as_ref().unwrap().messages().is_empty());
}

// Codes.

async fn a_code_works_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    enroll(&app, &token, PHONE, E164).await;

    // Stepping up within a session ("confirm it's you").
    let r = app.post("/api/v1/me/two-step/verify/sms", Some(&token), json!({})).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body, json!({ "sent": true, "phone_hint": HINT, "resend_after": 30 }));
    let code = app.last_sms_code(E164);
    let step_up = json!({ "method": "sms", "code": code });
    let r = app.post("/api/v1/me/two-step/verify", Some(&token), step_up.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.post("/api/v1/me/two-step/verify", Some(&token), step_up).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"));

    // At sign-in, racing requests with the right code get one session between them.
    let flow = two_step_flow(&app, "maria").await;
    assert_eq!(send_sign_in_code(&app, &flow).await.status, 202);
    let code = app.last_sms_code(E164);
    let (a, b, c, d) = tokio::join!(
        verify(&app, &flow, &code),
        verify(&app, &flow, &code),
        verify(&app, &flow, &code),
        verify(&app, &flow, &code)
    );
    let results = [a, b, c, d];
    let won = results.iter().filter(|r| r.status == 200).count();
    assert_eq!(won, 1, "{:?}", results.iter().map(|r| &r.text).collect::<Vec<_>>());
    for r in results.iter().filter(|r| r.status != 200) {
        assert!(matches!(r.error_code(), "invalid_code" | "flow_expired"), "{}", r.text);
    }
}

async fn a_code_expires_after_the_configured_ttl(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| c.sms.code_ttl = Duration::from_secs(120)).await else {
        return;
    };
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    // An enrollment code that waited too long does not enable the number.
    assert_eq!(app.post(SMS, Some(&token), json!({ "phone": PHONE })).await.status, 202);
    let late = app.last_sms_code(E164);
    app.clock.advance(120);
    let r = app.post(CONFIRM, Some(&token), json!({ "code": late })).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"));
    assert_eq!(app.get(OVERVIEW, Some(&token)).await.body["methods"], json!([]));
    app.clock.advance(30);
    enroll(&app, &token, PHONE, E164).await;

    // Just in time at sign-in…
    let flow = two_step_flow(&app, "maria").await;
    assert_eq!(send_sign_in_code(&app, &flow).await.status, 202);
    let code = app.last_sms_code(E164);
    app.clock.advance(119);
    assert_eq!(verify(&app, &flow, &code).await.status, 200);
    // …and too late, though the flow itself (10 minutes) is still alive.
    let flow = two_step_flow(&app, "maria").await;
    assert_eq!(send_sign_in_code(&app, &flow).await.status, 202);
    let code = app.last_sms_code(E164);
    app.clock.advance(120);
    let r = verify(&app, &flow, &code).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"));
    assert_eq!(r.body["error"]["attempts_remaining"], 4);
}

async fn each_code_allows_five_wrong_tries(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    app.acme(true).await;
    let token = app.session("acme", "maria").await;

    // Enrolling from a session: after five wrong tries even the right code is refused.
    assert_eq!(app.post(SMS, Some(&token), json!({ "phone": PHONE })).await.status, 202);
    let code = app.last_sms_code(E164);
    for _ in 0..5 {
        let r = app.post(CONFIRM, Some(&token), json!({ "code": wrong(&code) })).await;
        assert_eq!((r.status, r.error_code()), (401, "invalid_code"));
    }
    let r = app.post(CONFIRM, Some(&token), json!({ "code": code })).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"));
    assert_eq!(app.get(OVERVIEW, Some(&token)).await.body["methods"], json!([]));
    // A new code (the same number again, 30 s later) starts afresh.
    app.clock.advance(30);
    assert_eq!(app.post(SMS, Some(&token), json!({ "phone": PHONE })).await.status, 202);
    let code = app.last_sms_code(E164);
    let r = app.post(CONFIRM, Some(&token), json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // At sign-in: four wrong tries leave the code usable…
    let flow = two_step_flow(&app, "maria").await;
    assert_eq!(send_sign_in_code(&app, &flow).await.status, 202);
    let code = app.last_sms_code(E164);
    for remaining in (1..=4).rev() {
        let r = verify(&app, &flow, wrong(&code)).await;
        assert_eq!((r.status, r.error_code()), (401, "invalid_code"));
        assert_eq!(r.body["error"]["attempts_remaining"], remaining);
    }
    assert_eq!(verify(&app, &flow, &code).await.status, 200);
    // …the fifth ends it.
    let flow = two_step_flow(&app, "maria").await;
    assert_eq!(send_sign_in_code(&app, &flow).await.status, 202);
    let code = app.last_sms_code(E164);
    for _ in 0..5 {
        assert_eq!(verify(&app, &flow, wrong(&code)).await.status, 401);
    }
    let r = verify(&app, &flow, &code).await;
    assert_eq!((r.status, r.error_code()), (401, "flow_expired"));
}

async fn a_code_is_bound_to_the_flow_that_asked_for_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    enroll(&app, &token, PHONE, E164).await;
    let enrollment_code = app.last_sms_code(E164);

    let flow_a = two_step_flow(&app, "maria").await;
    let flow_b = two_step_flow(&app, "maria").await;
    // The enrollment's code signs nobody in.
    let r = verify(&app, &flow_a, &enrollment_code).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"));
    assert_eq!(send_sign_in_code(&app, &flow_a).await.status, 202);
    let code_a = app.last_sms_code(E164);
    let r = verify(&app, &flow_b, &code_a).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"), "flow A's code in flow B");
    // Nor does it step a session up.
    let r = app.post("/api/v1/me/two-step/verify", Some(&token), json!({ "method": "sms", "code": code_a })).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"));
    let r = verify(&app, &flow_a, &code_a).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// A code texted to a first number cannot enable a second number that replaced it in
/// the enrollment, even when the second number's own text was refused.
async fn a_code_sent_to_one_number_cannot_confirm_another(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| c.sms.org_hourly_limit = 1).await else { return };
    at_top_of_hour(&app);
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    assert_eq!(app.post(SMS, Some(&token), json!({ "phone": PHONE })).await.status, 202);
    let first = app.last_sms_code(E164);
    let r = app.post(SMS, Some(&token), json!({ "phone": OTHER_PHONE })).await;
    rate_limited(&r);
    assert!(texts(&app, OTHER_E164).is_empty());
    let r = app.post(CONFIRM, Some(&token), json!({ "code": first })).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"), "{}", r.text);
    assert_eq!(app.get(OVERVIEW, Some(&token)).await.body["methods"], json!([]));
}

// Sending limits.

async fn a_flow_may_ask_for_another_code_thirty_seconds_after_its_last(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    at_top_of_hour(&app);
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    enroll(&app, &token, PHONE, E164).await;

    let flow = two_step_flow(&app, "maria").await;
    assert_eq!(send_sign_in_code(&app, &flow).await.status, 202);
    let first = app.last_sms_code(E164);
    assert_eq!(rate_limited(&send_sign_in_code(&app, &flow).await), 30);
    app.clock.advance(29);
    assert_eq!(rate_limited(&send_sign_in_code(&app, &flow).await), 1);
    app.clock.advance(1);
    assert_eq!(send_sign_in_code(&app, &flow).await.status, 202);
    let second = app.last_sms_code(E164);
    // The new code replaces the one before.
    if first != second {
        let r = verify(&app, &flow, &first).await;
        assert_eq!((r.status, r.error_code()), (401, "invalid_code"));
    }
    assert_eq!(verify(&app, &flow, &second).await.status, 200);

    // An enrollment: posting the number again is its resend; a new number is a new
    // enrollment and is texted at once.
    let boss = app.session("acme", "boss").await;
    assert_eq!(app.post(SMS, Some(&boss), json!({ "phone": "+351 913 000 001" })).await.status, 202);
    assert_eq!(rate_limited(&app.post(SMS, Some(&boss), json!({ "phone": "+351 913 000 001" })).await), 30);
    let r = app.post(SMS, Some(&boss), json!({ "phone": "+351 913 000 002" })).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(texts(&app, "+351913000001").len(), 1);
    assert_eq!(texts(&app, "+351913000002").len(), 1);
    assert_eq!(outcomes(&app, "sms.refused").await, ["resend_too_soon", "resend_too_soon", "resend_too_soon"]);
}

async fn a_new_sign_in_right_after_an_enrollment_gets_its_code(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    at_top_of_hour(&app);
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    enroll(&app, &token, PHONE, E164).await;
    // Same second: the enrollment's text does not hold back the sign-in's.
    let flow = two_step_flow(&app, "maria").await;
    assert_eq!(send_sign_in_code(&app, &flow).await.status, 202);
    rate_limited(&send_sign_in_code(&app, &flow).await);
    // Nor does another flow's.
    let other = two_step_flow(&app, "maria").await;
    assert_eq!(send_sign_in_code(&app, &other).await.status, 202);
    assert_eq!(verify(&app, &other, &app.last_sms_code(E164)).await.status, 200);
    assert_eq!(texts(&app, E164).len(), 3);
}

async fn a_user_gets_at_most_five_text_messages_an_hour(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    at_top_of_hour(&app);
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    enroll(&app, &token, PHONE, E164).await;
    for _ in 0..4 {
        let flow = two_step_flow(&app, "maria").await;
        assert_eq!(send_sign_in_code(&app, &flow).await.status, 202);
    }
    let flow = two_step_flow(&app, "maria").await;
    let retry_after = rate_limited(&send_sign_in_code(&app, &flow).await);
    assert!((3500..=3600).contains(&retry_after), "until the hour is over: {retry_after}");
    assert_eq!(texts(&app, E164).len(), 5);
    // Also to another number.
    let r = app.post(SMS, Some(&token), json!({ "phone": OTHER_PHONE })).await;
    rate_limited(&r);
    assert_eq!(outcomes(&app, "sms.refused").await, ["user_hourly_limit", "user_hourly_limit"]);
    app.clock.advance(retry_after);
    let flow = two_step_flow(&app, "maria").await;
    assert_eq!(send_sign_in_code(&app, &flow).await.status, 202);
}

async fn a_number_gets_at_most_five_text_messages_an_hour(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    at_top_of_hour(&app);
    app.acme(true).await;
    // Two users put in the same number: it still gets five texts an hour between them.
    let maria = app.session("acme", "maria").await;
    let boss = app.session("acme", "boss").await;
    for (token, times) in [(&maria, 3), (&boss, 2)] {
        for _ in 0..times {
            let r = app.post(SMS, Some(token), json!({ "phone": PHONE })).await;
            assert_eq!(r.status, 202, "{}", r.text);
            app.clock.advance(30);
        }
    }
    let retry_after = rate_limited(&app.post(SMS, Some(&boss), json!({ "phone": PHONE })).await);
    assert!(retry_after > 3000, "{retry_after}");
    assert_eq!(texts(&app, E164).len(), 5);
    // Another number is not held back.
    assert_eq!(app.post(SMS, Some(&boss), json!({ "phone": OTHER_PHONE })).await.status, 202);
    let refused: Vec<_> = app.events("acme").await.into_iter().filter(|e| e.event.kind == "sms.refused").collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].event.outcome, "number_hourly_limit");
    assert_eq!(refused[0].event.subject.as_deref(), Some("boss"));
}

async fn the_organisation_hourly_cap_stops_sms_pumping(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| c.sms.org_hourly_limit = 3).await else { return };
    at_top_of_hour(&app);
    app.acme(true).await;
    app.account("acme", "ana", Some("technician")).await;
    app.account("acme", "rui", Some("technician")).await;
    for (user, phone) in [("maria", "+351 913 000 001"), ("boss", "+351 913 000 002"), ("ana", "+351 913 000 003")] {
        let token = app.session("acme", user).await;
        assert_eq!(app.post(SMS, Some(&token), json!({ "phone": phone })).await.status, 202);
    }
    let rui = app.session("acme", "rui").await;
    let retry_after = rate_limited(&app.post(SMS, Some(&rui), json!({ "phone": "+351 913 000 004" })).await);
    assert!(texts(&app, "+351913000004").is_empty());
    let refused: Vec<_> = app.events("acme").await.into_iter().filter(|e| e.event.kind == "sms.refused").collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(
        (refused[0].event.outcome.as_str(), refused[0].event.subject.as_deref()),
        ("organization_hourly_limit", Some("rui"))
    );
    // Another organisation has its own cap.
    other_org(&app, "globex", Language::English, "lee").await;
    let lee = app.session("globex", "lee").await;
    assert_eq!(app.post(SMS, Some(&lee), json!({ "phone": "+351 913 000 005" })).await.status, 202);
    // The next hour, acme may text again.
    app.clock.advance(retry_after);
    assert_eq!(app.post(SMS, Some(&rui), json!({ "phone": "+351 913 000 004" })).await.status, 202);
}

// Changing and removing the number.

async fn changing_the_number_needs_a_recent_second_step(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    enroll(&app, &token, PHONE, E164).await;
    app.clock.advance(16 * 60);
    let r = app.post(SMS, Some(&token), json!({ "phone": OTHER_PHONE })).await;
    assert_eq!((r.status, r.error_code()), (403, "step_up_required"));
    assert!(texts(&app, OTHER_E164).is_empty());
    let r = app.delete(SMS, Some(&token)).await;
    assert_eq!((r.status, r.error_code()), (403, "step_up_required"));

    // "Confirm it's you" with a text to the current number.
    assert_eq!(app.post("/api/v1/me/two-step/verify/sms", Some(&token), json!({})).await.status, 202);
    let code = app.last_sms_code(E164);
    let r = app.post("/api/v1/me/two-step/verify", Some(&token), json!({ "method": "sms", "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let confirmed = enroll(&app, &token, OTHER_PHONE, OTHER_E164).await;
    assert_eq!(confirmed["method"]["phone_hint"], "••••••679");
    assert!(confirmed.get("recovery_codes").is_none(), "not the first method: {confirmed}");
    let methods = app.get(OVERVIEW, Some(&token)).await.body["methods"].clone();
    assert_eq!(methods.as_array().unwrap().len(), 1);
    assert_eq!(methods[0]["phone_hint"], "••••••679");
    // Sign-in codes now go to the new number.
    let flow = two_step_flow(&app, "maria").await;
    assert_eq!(send_sign_in_code(&app, &flow).await.status, 202);
    assert_eq!(texts(&app, OTHER_E164).len(), 2);
    assert_eq!(texts(&app, E164).len(), 2, "nothing more to the old number");

    assert_eq!(app.delete(SMS, Some(&token)).await.status, 204);
    assert_eq!(app.get(OVERVIEW, Some(&token)).await.body["methods"], json!([]));
    assert_eq!(outcomes(&app, "two_step.method_disabled").await, ["sms"]);
    // Without the method, the flow's code no longer signs in.
    let r = verify(&app, &flow, &app.last_sms_code(OTHER_E164)).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"));
}

async fn mandatory_enrollment_at_sign_in_can_use_a_text_message(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let admin = app.acme(true).await;
    let r = app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    assert_eq!(r.body["status"], "two_step_enrollment_required", "{}", r.text);
    let flow = r.body["flow"]["token"].as_str().unwrap();
    // The enrollment flow may not ask for a sign-in code.
    let r = send_sign_in_code(&app, flow).await;
    assert_eq!((r.status, r.error_code()), (401, "flow_expired"));
    let r = app.post(SMS, Some(flow), json!({ "phone": PHONE })).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let code = app.last_sms_code(E164);
    let r = app.post(CONFIRM, Some(flow), json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "authenticated");
    assert_eq!(r.body["two_step_verified"], true);
    assert_eq!(r.body["recovery_codes"].as_array().unwrap().len(), 10);
    let session = r.body["session"]["token"].as_str().unwrap();
    let s = app.get("/api/v1/session", Some(session)).await;
    assert_eq!((s.status, &s.body["two_step_verified"]), (200, &json!(true)));
    // The last method of a user for whom 2SV is mandatory stays.
    let r = app.delete(SMS, Some(session)).await;
    assert_eq!((r.status, r.error_code()), (409, "method_required"));
}

// The message.

async fn the_message_follows_the_spec_in_the_organisations_language(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    app.acme(true).await;
    let maria = app.session("acme", "maria").await;
    assert_eq!(app.post(SMS, Some(&maria), json!({ "phone": PHONE })).await.status, 202);
    let code = app.last_sms_code(E164);
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    assert_eq!(texts(&app, E164), [english(&code)]);

    other_org(&app, "lisboa", Language::Portuguese, "joana").await;
    let joana = app.session("lisboa", "joana").await;
    assert_eq!(app.post(SMS, Some(&joana), json!({ "phone": OTHER_PHONE })).await.status, 202);
    let code = app.last_sms_code(OTHER_E164);
    assert_eq!(
        texts(&app, OTHER_E164),
        [format!(
            "{code} é o seu código de verificação Twostep. Não o partilhe com ninguém.\n\n@login.example.com #{code}"
        )]
    );
}

async fn the_issuer_host_and_templates_of_the_message_come_from_the_configuration(backend: Backend) {
    let configure = |c: &mut Config| {
        c.issuer = "Acme Login".into();
        c.public_url = "https://sso.acme.test:8443/auth".into();
        c.sms.templates = [("pt".to_string(), "Código {issuer}: {code}".to_string())].into();
    };
    let Some(app) = TestApp::spawn_with(backend, configure).await else { return };
    app.acme(true).await;
    let maria = app.session("acme", "maria").await;
    assert_eq!(app.post(SMS, Some(&maria), json!({ "phone": PHONE })).await.status, 202);
    let code = app.last_sms_code(E164);
    assert_eq!(
        texts(&app, E164),
        [format!(
            "{code} is your Acme Login verification code. Do not share it with anyone.\n\n@sso.acme.test #{code}"
        )]
    );
    other_org(&app, "lisboa", Language::Portuguese, "joana").await;
    let joana = app.session("lisboa", "joana").await;
    assert_eq!(app.post(SMS, Some(&joana), json!({ "phone": OTHER_PHONE })).await.status, 202);
    let body = &texts(&app, OTHER_E164)[0];
    let code = &body[body.len() - 6..];
    assert_eq!(body, &format!("Código Acme Login: {code}\n\n@sso.acme.test #{code}"));
}

// Providers against a real HTTP server.

async fn the_webhook_provider_delivers_enrollment_and_sign_in_codes(backend: Backend) {
    let provider = Provider::start().await;
    let url = format!("{}/hooks/sms", provider.url);
    let Some(app) = TestApp::spawn_with(backend, |c| {
        c.sms.provider = SmsProvider::Webhook;
        c.sms.webhook_url = url;
        c.sms.webhook_token = secret("hook-secret");
    })
    .await
    else {
        return;
    };
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    assert_eq!(app.post(SMS, Some(&token), json!({ "phone": PHONE })).await.status, 202);
    let requests = provider.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/hooks/sms");
    assert_eq!(requests[0].headers["authorization"], "Bearer hook-secret");
    assert_eq!(requests[0].headers["content-type"], "application/json");
    let code = provider.last_code();
    let body: Value = serde_json::from_str(&requests[0].body).unwrap();
    assert_eq!(body, json!({ "to": E164, "body": english(&code) }));
    assert!(app.state.outbox.as_ref().unwrap().messages().is_empty(), "the log provider is not used");
    let r = app.post(CONFIRM, Some(&token), json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let flow = two_step_flow(&app, "maria").await;
    assert_eq!(send_sign_in_code(&app, &flow).await.status, 202);
    assert_eq!(provider.requests().len(), 2);
    let r = verify(&app, &flow, &provider.last_code()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(outcomes(&app, "sms.sent").await, ["success", "success"]);
}

async fn a_webhook_that_fails_or_times_out_enables_nothing(backend: Backend) {
    let mut provider = Provider::start().await;
    provider.answer_with(500);
    let url = provider.url.clone();
    let Some(app) = TestApp::spawn_with(backend, |c| {
        c.sms.provider = SmsProvider::Webhook;
        c.sms.webhook_url = url;
        c.sms.timeout = Duration::from_millis(300);
    })
    .await
    else {
        return;
    };
    app.acme(true).await;
    let token = app.session("acme", "maria").await;

    // An error status: reported, and the code (which the provider did see) is void.
    let r = app.post(SMS, Some(&token), json!({ "phone": PHONE })).await;
    assert_eq!((r.status, r.error_code()), (502, "sms_delivery_failed"), "{}", r.text);
    assert!(provider.requests()[0].headers.get("authorization").is_none(), "no token configured");
    let r = app.post(CONFIRM, Some(&token), json!({ "code": provider.last_code() })).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"));
    assert_eq!(app.get(OVERVIEW, Some(&token)).await.body["methods"], json!([]));

    // No answer within the timeout: the same.
    provider.answer_with(200);
    provider.delay(20_000);
    app.clock.advance(30);
    let started = std::time::Instant::now();
    let r = app.post(SMS, Some(&token), json!({ "phone": PHONE })).await;
    assert_eq!((r.status, r.error_code()), (502, "sms_delivery_failed"), "{}", r.text);
    // Long before the provider would have answered (a loaded test machine is slow, not that slow).
    assert!(started.elapsed() < Duration::from_secs(10), "gave up after {:?}", started.elapsed());
    let r = app.post(CONFIRM, Some(&token), json!({ "code": provider.last_code() })).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"));
    assert_eq!(app.get(OVERVIEW, Some(&token)).await.body["methods"], json!([]));

    // Once the provider works, so does the enrollment.
    provider.delay(0);
    app.clock.advance(30);
    assert_eq!(app.post(SMS, Some(&token), json!({ "phone": PHONE })).await.status, 202);
    let r = app.post(CONFIRM, Some(&token), json!({ "code": provider.last_code() })).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // A failed sign-in text does not sign anyone in either.
    provider.answer_with(503);
    let flow = two_step_flow(&app, "maria").await;
    let r = send_sign_in_code(&app, &flow).await;
    assert_eq!((r.status, r.error_code()), (502, "sms_delivery_failed"));
    let r = verify(&app, &flow, &provider.last_code()).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"));
    assert_eq!(outcomes(&app, "sms.delivery_failed").await, ["failure", "failure", "failure"]);
    assert_eq!(outcomes(&app, "sms.sent").await, ["success"]);
}

async fn the_twilio_provider_delivers_codes_and_reports_errors(backend: Backend) {
    let mut provider = Provider::start().await;
    provider.answer_with(201);
    let base = provider.url.clone();
    let Some(app) = TestApp::spawn_with(backend, |c| {
        c.sms.provider = SmsProvider::Twilio;
        c.sms.twilio_account_sid = "AC0123456789abcdef".into();
        c.sms.twilio_auth_token = secret("twilio-token");
        c.sms.twilio_from = "+15005550006".into();
        c.sms.twilio_base_url = base;
    })
    .await
    else {
        return;
    };
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    assert_eq!(app.post(SMS, Some(&token), json!({ "phone": PHONE })).await.status, 202);
    let request = provider.requests().pop().unwrap();
    assert_eq!(request.path, "/2010-04-01/Accounts/AC0123456789abcdef/Messages.json");
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode("AC0123456789abcdef:twilio-token");
    assert_eq!(request.headers["authorization"], format!("Basic {basic}").as_str());
    assert_eq!(request.headers["content-type"], "application/x-www-form-urlencoded");
    let code = provider.last_code();
    let mut fields = form(&request.body);
    fields.sort();
    assert_eq!(
        fields,
        [
            ("Body".to_string(), english(&code)),
            ("From".to_string(), "+15005550006".to_string()),
            ("To".to_string(), E164.to_string()),
        ]
    );
    let r = app.post(CONFIRM, Some(&token), json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let flow = two_step_flow(&app, "maria").await;
    assert_eq!(send_sign_in_code(&app, &flow).await.status, 202);
    assert_eq!(verify(&app, &flow, &provider.last_code()).await.status, 200);

    // Twilio refusing the message (a 400 for an unreachable number, say).
    provider.answer_with(400);
    let flow = two_step_flow(&app, "maria").await;
    let r = send_sign_in_code(&app, &flow).await;
    assert_eq!((r.status, r.error_code()), (502, "sms_delivery_failed"));
    let r = verify(&app, &flow, &provider.last_code()).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"));
    assert_eq!(outcomes(&app, "sms.delivery_failed").await, ["failure"]);
}
