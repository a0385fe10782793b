//! SPEC §14: security keys and passkeys (WebAuthn) and named methods. A software
//! authenticator (`webauthn-authenticator-rs`) registers and signs as a real key would,
//! against the app's origin `https://login.example.com`.

use crate::both;
use crate::support::{PASSWORD, TestApp};
use serde_json::{Value, json};
use twostep_core::store::prelude::*;
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse};

both!(
    a_key_is_registered_by_name_and_signs_in_and_steps_up,
    refusals_are_clear_audited_and_store_nothing,
    a_cloned_key_whose_counter_goes_back_is_refused,
    several_named_methods_are_listed_used_and_removed_by_id,
    a_removed_key_is_refused,
    a_key_can_be_the_first_method_of_a_forced_enrollment,
);

const ORIGIN: &str = "https://login.example.com";

fn origin() -> Url {
    Url::parse(ORIGIN).unwrap()
}

/// The authenticator's answer to registration options, as the browser would post it.
fn register(key: &mut SoftPasskey, origin: Url, options: &Value) -> Value {
    let ccr: CreationChallengeResponse = serde_json::from_value(json!({ "publicKey": options })).unwrap();
    serde_json::to_value(key.do_registration(origin, ccr).unwrap()).unwrap()
}

/// The authenticator's assertion for request options.
fn sign(key: &mut SoftPasskey, origin: Url, options: &Value) -> Value {
    let rcr: RequestChallengeResponse = serde_json::from_value(json!({ "publicKey": options })).unwrap();
    serde_json::to_value(key.do_authentication(origin, rcr).unwrap()).unwrap()
}

/// Registers a key for a session holder; returns the confirmation's body.
async fn add_key(app: &TestApp, token: &str, key: &mut SoftPasskey, name: &str) -> Value {
    let r = app.post("/api/v1/me/two-step/webauthn", Some(token), json!({ "name": name })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let credential = register(key, origin(), &r.body["options"]);
    let body = json!({ "challenge_id": r.body["challenge_id"], "credential": credential });
    let r = app.post("/api/v1/me/two-step/webauthn/confirm", Some(token), body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

/// Signs in with the password and returns the second-step flow token.
async fn flow(app: &TestApp, username: &str) -> String {
    let r = app.login("acme", username, PASSWORD, "web").await;
    assert_eq!(r.body["status"], "two_step_required", "{}", r.text);
    r.body["flow"]["token"].as_str().unwrap().to_owned()
}

async fn key_options(app: &TestApp, flow: &str) -> (String, Value) {
    let r = app.post("/api/v1/login/webauthn", Some(flow), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    (r.body["challenge_id"].as_str().unwrap().to_owned(), r.body["options"].clone())
}

async fn verify(app: &TestApp, flow: &str, challenge_id: &str, credential: &Value) -> crate::support::Response {
    let body = json!({ "method": "webauthn", "challenge_id": challenge_id, "credential": credential });
    app.post("/api/v1/login/verify", Some(flow), body).await
}

/// The id of an existing account of `acme`.
async fn account_id(app: &TestApp, username: &str) -> i64 {
    let org = app.store.org_by_slug("acme").await.unwrap().unwrap();
    app.store.account_by_username(org.id, username).await.unwrap().unwrap().id
}

async fn methods(app: &TestApp, token: &str) -> Vec<Value> {
    let r = app.get("/api/v1/me/two-step", Some(token)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["methods"].as_array().unwrap().clone()
}

async fn a_key_is_registered_by_name_and_signs_in_and_steps_up(app: TestApp) {
    app.acme(true).await;
    let maria = app.session("acme", "maria").await;
    let mut key = SoftPasskey::new(true);
    let confirmed = add_key(&app, &maria, &mut key, "Blue key").await;
    assert_eq!((&confirmed["method"]["type"], &confirmed["method"]["name"]), (&json!("webauthn"), &json!("Blue key")));
    assert_eq!(confirmed["recovery_codes"].as_array().unwrap().len(), 10, "the first method brings recovery codes");
    let listed = methods(&app, &maria).await;
    assert_eq!(listed.len(), 1);
    let method = &listed[0];
    assert_eq!((&method["type"], &method["name"]), (&json!("webauthn"), &json!("Blue key")));
    assert!(method["id"].is_i64() && method["created_at"].is_string());
    assert!(method["last_used_at"].is_null());
    let stored = app.store.methods(account_id(&app, "maria").await).await.unwrap();
    assert!(stored[0].sealed.is_empty() && stored[0].credential.is_some(), "a key keeps no secret");

    // Sign-in: the flow offers the key, and an assertion passes the second step.
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    assert!(r.body["methods"].as_array().unwrap().iter().any(|m| m["type"] == "webauthn"), "{}", r.text);
    let first = r.body["flow"]["token"].as_str().unwrap().to_owned();
    let (challenge_id, options) = key_options(&app, &first).await;
    assert_eq!(options["rpId"], "login.example.com", "{options}");
    let assertion = sign(&mut key, origin(), &options);
    let r = verify(&app, &first, &challenge_id, &assertion).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((&r.body["status"], &r.body["two_step_verified"]), (&json!("authenticated"), &json!(true)));
    let session = r.body["session"]["token"].as_str().unwrap().to_owned();
    assert!(methods(&app, &session).await[0]["last_used_at"].is_string(), "the key's use is recorded");

    // Replaying the same assertion: the challenge was single use.
    let again = verify(&app, &flow(&app, "maria").await, &challenge_id, &assertion).await;
    assert_eq!((again.status, again.error_code()), (400, "invalid_request"), "{}", again.text);

    // Step-up with the key allows a sensitive change (the first method's own step-up has
    // run out).
    app.clock.advance(16 * 60);
    let r = app.post("/api/v1/me/two-step/recovery-codes", Some(&maria), json!({})).await;
    assert_eq!((r.status, r.error_code()), (403, "step_up_required"));
    let r = app.post("/api/v1/me/two-step/verify/webauthn", Some(&maria), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let assertion = sign(&mut key, origin(), &r.body["options"]);
    let body = json!({ "method": "webauthn", "challenge_id": r.body["challenge_id"], "credential": assertion });
    let r = app.post("/api/v1/me/two-step/verify", Some(&maria), body).await;
    assert_eq!((r.status, &r.body["verified"]), (200, &json!(true)), "{}", r.text);
    let r = app.post("/api/v1/me/two-step/recovery-codes", Some(&maria), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn refusals_are_clear_audited_and_store_nothing(app: TestApp) {
    app.acme(true).await;
    let maria = app.session("acme", "maria").await;
    let maria_id = account_id(&app, "maria").await;

    // A malformed credential.
    let r = app.post("/api/v1/me/two-step/webauthn", Some(&maria), json!({})).await;
    let body = json!({ "challenge_id": r.body["challenge_id"], "credential": { "id": "x", "response": 7 } });
    let r = app.post("/api/v1/me/two-step/webauthn/confirm", Some(&maria), body).await;
    assert_eq!((r.status, r.error_code()), (400, "invalid_request"), "{}", r.text);

    // A wrong origin (a subdomain the relying party does not allow).
    let mut key = SoftPasskey::new(true);
    let r = app.post("/api/v1/me/two-step/webauthn", Some(&maria), json!({})).await;
    let credential = register(&mut key, Url::parse("https://evil.login.example.com").unwrap(), &r.body["options"]);
    let body = json!({ "challenge_id": r.body["challenge_id"], "credential": credential });
    let r = app.post("/api/v1/me/two-step/webauthn/confirm", Some(&maria), body).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"), "{}", r.text);

    // A wrong relying party id (the authenticator is asked for the parent domain).
    let r = app.post("/api/v1/me/two-step/webauthn", Some(&maria), json!({})).await;
    let mut options = r.body["options"].clone();
    options["rp"]["id"] = json!("example.com");
    let credential = register(&mut key, origin(), &options);
    let body = json!({ "challenge_id": r.body["challenge_id"], "credential": credential });
    let r = app.post("/api/v1/me/two-step/webauthn/confirm", Some(&maria), body).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"), "{}", r.text);

    // A challenge begun by another session.
    let other = app.session("acme", "maria").await;
    let r = app.post("/api/v1/me/two-step/webauthn", Some(&other), json!({})).await;
    let credential = register(&mut key, origin(), &r.body["options"]);
    let body = json!({ "challenge_id": r.body["challenge_id"], "credential": credential });
    let r = app.post("/api/v1/me/two-step/webauthn/confirm", Some(&maria), body).await;
    assert_eq!((r.status, r.error_code()), (400, "invalid_request"), "{}", r.text);

    assert!(app.store.methods(maria_id).await.unwrap().is_empty(), "nothing was stored");
    let refused: Vec<String> = app
        .events("acme")
        .await
        .into_iter()
        .filter(|e| e.event.kind == "two_step.webauthn_refused")
        .map(|e| e.event.outcome)
        .collect();
    for outcome in ["malformed_credential", "registration_failed", "unknown_challenge"] {
        assert!(refused.iter().any(|o| o == outcome), "{outcome} not audited: {refused:?}");
    }

    // At sign-in: another flow's challenge, and another user's key.
    add_key(&app, &maria, &mut key, "Maria's key").await;
    let boss = app.session("acme", "boss").await;
    let mut boss_key = SoftPasskey::new(true);
    add_key(&app, &boss, &mut boss_key, "Boss's key").await;
    let first = flow(&app, "maria").await;
    let second = flow(&app, "maria").await;
    let (challenge_id, options) = key_options(&app, &first).await;
    let assertion = sign(&mut key, origin(), &options);
    let r = verify(&app, &second, &challenge_id, &assertion).await;
    assert_eq!((r.status, r.error_code()), (400, "invalid_request"), "{}", r.text);
    let boss_flow = flow(&app, "boss").await;
    let (boss_challenge, boss_options) = key_options(&app, &boss_flow).await;
    let boss_assertion = sign(&mut boss_key, origin(), &boss_options);
    let (maria_challenge, _) = key_options(&app, &second).await;
    let r = verify(&app, &second, &maria_challenge, &boss_assertion).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"), "another user's key: {}", r.text);
    assert_eq!(r.body["error"]["attempts_remaining"], 4, "{}", r.text);
    // Boss's own assertion still answers boss's own challenge.
    assert_eq!(verify(&app, &boss_flow, &boss_challenge, &boss_assertion).await.status, 200);

    // Missing fields are a bad request, not a wrong code.
    let r = app.post("/api/v1/login/verify", Some(&second), json!({ "method": "webauthn" })).await;
    assert_eq!((r.status, r.error_code()), (400, "invalid_request"), "{}", r.text);
}

async fn a_cloned_key_whose_counter_goes_back_is_refused(app: TestApp) {
    app.acme(true).await;
    let maria = app.session("acme", "maria").await;
    let mut key = SoftPasskey::new(true);
    add_key(&app, &maria, &mut key, "Key").await;
    // An assertion made first but presented last carries a lower signature counter than
    // one already accepted: what a cloned authenticator produces.
    let early_flow = flow(&app, "maria").await;
    let (early_challenge, early_options) = key_options(&app, &early_flow).await;
    let early = sign(&mut key, origin(), &early_options);
    let late_flow = flow(&app, "maria").await;
    let (late_challenge, late_options) = key_options(&app, &late_flow).await;
    let late = sign(&mut key, origin(), &late_options);
    assert_eq!(verify(&app, &late_flow, &late_challenge, &late).await.status, 200);
    let r = verify(&app, &early_flow, &early_challenge, &early).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"), "{}", r.text);
    let events = app.events("acme").await;
    assert!(
        events.iter().any(|e| e.event.kind == "two_step.webauthn_refused" && e.event.outcome == "counter_regressed"),
        "the regression is audited"
    );
}

async fn several_named_methods_are_listed_used_and_removed_by_id(app: TestApp) {
    let admin = app.acme(true).await;
    let maria = app.session("acme", "maria").await;
    let (phone_app, _) = app.enroll_totp(&maria).await;
    // A second authenticator app needs a step-up (SPEC §11.1), then gets its own name.
    let code = app.next_code(&phone_app);
    let r = app.post("/api/v1/me/two-step/verify", Some(&maria), json!({ "method": "totp", "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.post("/api/v1/me/two-step/totp", Some(&maria), json!({ "name": "Tablet" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let tablet =
        base32::decode(base32::Alphabet::Rfc4648 { padding: false }, r.body["secret"].as_str().unwrap()).unwrap();
    let code = app.next_code(&tablet);
    let r = app.post("/api/v1/me/two-step/totp/confirm", Some(&maria), json!({ "code": code })).await;
    assert_eq!((r.status, &r.body["method"]["name"]), (200, &json!("Tablet")), "{}", r.text);
    assert!(r.body.get("recovery_codes").is_none(), "codes come with the first method only");
    let mut key = SoftPasskey::new(true);
    add_key(&app, &maria, &mut key, "Keyring").await;

    let listed = methods(&app, &maria).await;
    let names: Vec<(&str, &str)> =
        listed.iter().map(|m| (m["type"].as_str().unwrap(), m["name"].as_str().unwrap())).collect();
    assert_eq!(names, [("webauthn", "Keyring"), ("totp", "Authenticator app"), ("totp", "Tablet")]);
    let report = app.get("/api/v1/admin/two-step/users", Some(&admin)).await;
    let row = report.body["users"].as_array().unwrap().iter().find(|u| u["username"] == "maria").unwrap().clone();
    assert_eq!(row["methods"], json!(["totp", "webauthn"]), "{row}");
    assert_eq!(row["method_names"].as_array().unwrap().len(), 3, "{row}");

    // Either app signs in; the one used is marked.
    for secret in [&phone_app, &tablet] {
        let f = flow(&app, "maria").await;
        let code = app.next_code(secret);
        let r = app.post("/api/v1/login/verify", Some(&f), json!({ "method": "totp", "code": code })).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let tablet_row = methods(&app, &maria).await.into_iter().find(|m| m["name"] == "Tablet").unwrap();
    assert!(tablet_row["last_used_at"].is_string());
    let tablet_id = tablet_row["id"].as_i64().unwrap();

    // Removal by id needs a step-up; another user's method is not found.
    app.clock.advance(16 * 60);
    let r = app.delete(&format!("/api/v1/me/two-step/methods/{tablet_id}"), Some(&maria)).await;
    assert_eq!((r.status, r.error_code()), (403, "step_up_required"));
    let code = app.next_code(&phone_app);
    let r = app.post("/api/v1/me/two-step/verify", Some(&maria), json!({ "method": "totp", "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.delete(&format!("/api/v1/me/two-step/methods/{tablet_id}"), Some(&maria)).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = app.delete(&format!("/api/v1/me/two-step/methods/{tablet_id}"), Some(&maria)).await;
    assert_eq!((r.status, r.error_code()), (404, "not_found"));
    let r = app.delete("/api/v1/me/two-step/methods/nope", Some(&maria)).await;
    assert_eq!((r.status, r.error_code()), (400, "invalid_request"));
    let f = flow(&app, "maria").await;
    let code = app.next_code(&tablet);
    let r = app.post("/api/v1/login/verify", Some(&f), json!({ "method": "totp", "code": code })).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"), "the removed app's codes no longer work");
    let boss = app.session("acme", "boss").await;
    let r = app.delete(&format!("/api/v1/me/two-step/methods/{}", listed[0]["id"]), Some(&boss)).await;
    assert_eq!(r.status, 403, "boss has no step-up: {}", r.text);

    // The per-type endpoint removes every authenticator app; the key stays, and under a
    // mandatory profile the last method cannot go.
    let r = app.delete("/api/v1/me/two-step/totp", Some(&maria)).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let left = methods(&app, &maria).await;
    assert_eq!(left.len(), 1);
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    let r = app.delete(&format!("/api/v1/me/two-step/methods/{}", left[0]["id"]), Some(&maria)).await;
    assert_eq!((r.status, r.error_code()), (409, "method_required"), "{}", r.text);

    // Names are checked.
    let long = "x".repeat(65);
    let r = app.post("/api/v1/me/two-step/totp", Some(&maria), json!({ "name": long })).await;
    assert_eq!((r.status, r.error_code()), (400, "invalid_request"));
}

async fn a_removed_key_is_refused(app: TestApp) {
    app.acme(true).await;
    let maria = app.session("acme", "maria").await;
    let (secret, _) = app.enroll_totp(&maria).await;
    let code = app.next_code(&secret);
    app.post("/api/v1/me/two-step/verify", Some(&maria), json!({ "method": "totp", "code": code })).await;
    let mut key = SoftPasskey::new(true);
    let id = add_key(&app, &maria, &mut key, "Lost key").await["method"]["id"].as_i64().unwrap();
    let f = flow(&app, "maria").await;
    let (challenge_id, options) = key_options(&app, &f).await;
    let assertion = sign(&mut key, origin(), &options);
    let r = app.delete(&format!("/api/v1/me/two-step/methods/{id}"), Some(&maria)).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = verify(&app, &f, &challenge_id, &assertion).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"), "{}", r.text);
    let r = app.post("/api/v1/login/webauthn", Some(&flow(&app, "maria").await), json!({})).await;
    assert_eq!((r.status, r.error_code()), (400, "invalid_request"), "no key left to ask for");
}

async fn a_key_can_be_the_first_method_of_a_forced_enrollment(app: TestApp) {
    let admin = app.acme(true).await;
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    assert_eq!(r.body["status"], "two_step_enrollment_required", "{}", r.text);
    let enrollment = r.body["flow"]["token"].as_str().unwrap().to_owned();
    let mut key = SoftPasskey::new(true);
    let confirmed = add_key(&app, &enrollment, &mut key, "First key").await;
    assert_eq!((&confirmed["status"], &confirmed["two_step_verified"]), (&json!("authenticated"), &json!(true)));
    let session = confirmed["session"]["token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/session", Some(session)).await.status, 200);
}
