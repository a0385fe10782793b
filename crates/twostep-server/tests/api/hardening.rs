//! SPEC §11: the takeover paths found from outside stay closed. Each test replays an
//! attack the first release gave in to and expects the documented refusal.

use crate::support::{PASSWORD, TestApp};
use crate::{both, both_with};
use futures_util::future::join_all;
use serde_json::{Value, json};
use std::time::Duration;
use twostep_core::credential::totp;
use twostep_core::store::prelude::*;
use twostep_server::config::Config;

both!(
    binding_a_factor_needs_a_recent_second_step,
    confirming_a_new_method_is_not_a_step_up,
    the_first_method_counts_as_a_step_up_for_its_own_session_only,
    the_session_an_enrollment_flow_opens_may_add_a_second_method,
    a_pending_enrollment_belongs_to_the_session_that_began_it,
    a_pending_enrollment_belongs_to_the_flow_that_began_it,
    administrators_re_confirm_before_weakening_protection,
    an_attempt_that_ends_in_an_error_is_given_back,
    concurrent_removals_never_leave_a_mandatory_user_without_a_method,
    numbers_that_cannot_receive_texts_are_refused,
    strict_transport_security_is_sent_when_the_public_url_is_https,
);

mod behind_a_proxy {
    use super::*;
    both_with!(super::behind_a_proxy;
        guesses_from_one_address_do_not_lock_the_owner_out,
        parallel_failures_from_one_address_get_at_most_100_password_checks,
        failed_sign_ins_leave_no_rows_behind_after_the_purge,
        a_trusted_proxys_request_id_is_kept,
    );
}

mod small_hashing_queue {
    use super::*;
    both_with!(super::small_hashing_queue; a_full_hashing_queue_answers_unavailable_with_retry_after);
}

mod internal_metrics {
    use super::*;
    both_with!(super::internal_metrics; metrics_listen_moves_the_metrics_to_an_internal_address);
}

fn internal_metrics(config: &mut Config) {
    config.metrics_listen = "127.0.0.1:0".into();
}

/// Issue 19: with `metrics_listen`, `/metrics` is served there and nowhere else.
async fn metrics_listen_moves_the_metrics_to_an_internal_address(app: TestApp) {
    let internal = app.metrics_base.clone().expect("the metrics listener");
    let r = app.http.get(format!("{internal}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("twostep_build_info"));
    let public = app.get("/metrics", None).await;
    assert_eq!((public.status, public.error_code()), (404, "not_found"));
}

mod two_texts_an_hour {
    use super::*;
    both_with!(super::two_texts_an_hour; the_global_hourly_limit_caps_every_organisation_together);
}

fn two_texts_an_hour(config: &mut Config) {
    config.sms.global_hourly_limit = 2;
}

mod only_portugal {
    use super::*;
    both_with!(super::only_portugal; numbers_outside_the_allowed_countries_are_refused);
}

const SMS: &str = "/api/v1/me/two-step/sms";
const TOTP: &str = "/api/v1/me/two-step/totp";
const ATTACKER: &str = "+351 934 567 890";
const ATTACKER_E164: &str = "+351934567890";

fn behind_a_proxy(config: &mut Config) {
    config.trusted_proxies = vec!["127.0.0.1".into()];
}

fn small_hashing_queue(config: &mut Config) {
    config.server.password_queue = 0;
}

fn only_portugal(config: &mut Config) {
    config.sms.allowed_countries = vec!["PT".into()];
}

fn texts_to(app: &TestApp, e164: &str) -> usize {
    app.state.outbox.as_ref().unwrap().messages().iter().filter(|m| m.to == e164).count()
}

async fn event_outcomes(app: &TestApp, kind: &str) -> Vec<String> {
    app.events("acme").await.into_iter().filter(|e| e.event.kind == kind).map(|e| e.event.outcome).collect()
}

/// Steps a session up with the next TOTP code.
async fn step_up(app: &TestApp, token: &str, secret: &[u8]) {
    let code = app.next_code(secret);
    let r = app.post("/api/v1/me/two-step/verify", Some(token), json!({ "method": "totp", "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// A sign-in with the second step done by TOTP: a verified session.
async fn verified_session(app: &TestApp, username: &str, secret: &[u8]) -> String {
    let r = app.login("acme", username, PASSWORD, "web").await;
    assert_eq!(r.body["status"], "two_step_required", "{}", r.text);
    let flow = r.body["flow"]["token"].as_str().unwrap().to_owned();
    let code = app.next_code(secret);
    let v = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "totp", "code": code })).await;
    assert_eq!(v.status, 200, "{}", v.text);
    v.body["session"]["token"].as_str().unwrap().to_owned()
}

/// The attack of issue 13: a live session that did not pass 2SV recently (a stolen
/// cookie, or one opened before 2SV was turned on) adds the attacker's phone.
async fn binding_a_factor_needs_a_recent_second_step(app: TestApp) {
    app.acme(true).await;
    let stolen = app.session("acme", "maria").await;
    let owner = app.session("acme", "maria").await;
    let (secret, _) = app.enroll_totp(&owner).await;

    for (path, body) in [(SMS, json!({ "phone": ATTACKER })), (TOTP, json!({}))] {
        let r = app.post(path, Some(&stolen), body).await;
        assert_eq!((r.status, r.error_code()), (403, "step_up_required"), "{path}: {}", r.text);
    }
    assert_eq!(texts_to(&app, ATTACKER_E164), 0, "nothing is sent");
    let r = app.post("/api/v1/me/two-step/sms/confirm", Some(&stolen), json!({ "code": "123456" })).await;
    assert_eq!((r.status, r.error_code()), (400, "invalid_request"), "nothing is pending: {}", r.text);
    assert_eq!(event_outcomes(&app, "two_step.binding_refused").await, ["totp", "sms"]);
    // The owner's authenticator stays.
    let r = app.delete(TOTP, Some(&stolen)).await;
    assert_eq!((r.status, r.error_code()), (403, "step_up_required"));

    // The owner's own session, 15 minutes after its last second step, is refused too…
    app.clock.advance(15 * 60 + 1);
    let r = app.post(SMS, Some(&owner), json!({ "phone": ATTACKER })).await;
    assert_eq!((r.status, r.error_code()), (403, "step_up_required"));
    // …until it confirms it's the owner.
    step_up(&app, &owner, &secret).await;
    let r = app.post(SMS, Some(&owner), json!({ "phone": "+351 912 345 678" })).await;
    assert_eq!(r.status, 202, "{}", r.text);
}

/// Confirming a new method proves the new factor only: it must not refresh the step-up
/// that allows removing the old one.
async fn confirming_a_new_method_is_not_a_step_up(app: TestApp) {
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    let (secret, _) = app.enroll_totp(&token).await;
    app.clock.advance(20 * 60);
    step_up(&app, &token, &secret).await;
    app.clock.advance(14 * 60);
    assert_eq!(app.post(SMS, Some(&token), json!({ "phone": "+351 912 345 678" })).await.status, 202);
    let code = app.last_sms_code("+351912345678");
    let r = app.post("/api/v1/me/two-step/sms/confirm", Some(&token), json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["recovery_codes"].is_null(), "not the first method: {}", r.text);
    // 16 minutes after the step-up (2 after the confirmation) removing the authenticator
    // needs a new one.
    app.clock.advance(2 * 60);
    let r = app.delete(TOTP, Some(&token)).await;
    assert_eq!((r.status, r.error_code()), (403, "step_up_required"), "{}", r.text);
}

async fn the_first_method_counts_as_a_step_up_for_its_own_session_only(app: TestApp) {
    app.acme(true).await;
    let other = app.session("acme", "maria").await;
    let token = app.session("acme", "maria").await;
    app.enroll_totp(&token).await;
    let r = app.post(SMS, Some(&token), json!({ "phone": "+351 912 345 678" })).await;
    assert_eq!(r.status, 202, "the enrolling session may add a second method: {}", r.text);
    let r = app.post(SMS, Some(&other), json!({ "phone": "+351 912 345 678" })).await;
    assert_eq!((r.status, r.error_code()), (403, "step_up_required"), "another session may not");
}

async fn the_session_an_enrollment_flow_opens_may_add_a_second_method(app: TestApp) {
    let admin = app.acme(true).await;
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    assert_eq!(r.body["status"], "two_step_enrollment_required", "{}", r.text);
    let flow = r.body["flow"]["token"].as_str().unwrap().to_owned();
    let r = app.post(TOTP, Some(&flow), json!({})).await;
    let secret = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, r.body["secret"].as_str().unwrap());
    let code = totp::code_at(&secret.unwrap(), app.now());
    let r = app.post("/api/v1/me/two-step/totp/confirm", Some(&flow), json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let session = r.body["session"]["token"].as_str().unwrap();
    let r = app.post(SMS, Some(session), json!({ "phone": "+351 912 345 678" })).await;
    assert_eq!(r.status, 202, "{}", r.text);
    // The flow itself is spent.
    let r = app.post(SMS, Some(&flow), json!({ "phone": "+351 912 345 678" })).await;
    assert_eq!(r.status, 401, "{}", r.text);
}

/// SPEC §11.2: another session of the same account can neither see nor confirm it.
async fn a_pending_enrollment_belongs_to_the_session_that_began_it(app: TestApp) {
    app.acme(true).await;
    let mine = app.session("acme", "maria").await;
    let theirs = app.session("acme", "maria").await;
    let r = app.post(TOTP, Some(&mine), json!({})).await;
    assert_eq!(r.status, 200);
    let secret =
        base32::decode(base32::Alphabet::Rfc4648 { padding: false }, r.body["secret"].as_str().unwrap()).unwrap();
    let code = totp::code_at(&secret, app.now());
    let r = app.post("/api/v1/me/two-step/totp/confirm", Some(&theirs), json!({ "code": code })).await;
    assert_eq!((r.status, r.error_code()), (400, "invalid_request"), "{}", r.text);
    assert!(!r.text.contains(r#""secret""#));
    let r = app.post("/api/v1/me/two-step/totp/confirm", Some(&mine), json!({ "code": code })).await;
    assert_eq!(r.status, 200, "the owner still confirms it: {}", r.text);

    // A text-message enrollment likewise: the code sent for one session does not
    // confirm for another.
    let owner2 = app.session("acme", "boss").await;
    let other2 = app.session("acme", "boss").await;
    assert_eq!(app.post(SMS, Some(&owner2), json!({ "phone": "+351 912 345 678" })).await.status, 202);
    let code = app.last_sms_code("+351912345678");
    let r = app.post("/api/v1/me/two-step/sms/confirm", Some(&other2), json!({ "code": code })).await;
    assert_eq!((r.status, r.error_code()), (400, "invalid_request"), "{}", r.text);
    let r = app.post("/api/v1/me/two-step/sms/confirm", Some(&owner2), json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn a_pending_enrollment_belongs_to_the_flow_that_began_it(app: TestApp) {
    let admin = app.acme(true).await;
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    let flow = |r: Value| r["flow"]["token"].as_str().unwrap().to_owned();
    let first = flow(app.login("acme", "maria", PASSWORD, "web").await.body);
    let second = flow(app.login("acme", "maria", PASSWORD, "web").await.body);
    let r = app.post(TOTP, Some(&first), json!({})).await;
    let secret =
        base32::decode(base32::Alphabet::Rfc4648 { padding: false }, r.body["secret"].as_str().unwrap()).unwrap();
    let code = totp::code_at(&secret, app.now());
    let r = app.post("/api/v1/me/two-step/totp/confirm", Some(&second), json!({ "code": code })).await;
    assert_eq!((r.status, r.error_code()), (400, "invalid_request"), "{}", r.text);
    let r = app.post("/api/v1/me/two-step/totp/confirm", Some(&first), json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// SPEC §11.3, for the actions that exist so far.
async fn administrators_re_confirm_before_weakening_protection(app: TestApp) {
    let admin = app.acme(true).await;
    let (secret, _) = app.enroll_totp(&admin).await;
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    app.clock.advance(15 * 60 + 1);
    let weakening = [
        ("POST", "/api/v1/admin/two-step/disable", json!({})),
        ("PUT", "/api/v1/admin/two-step/profiles/technician", json!({ "mandatory": false })),
        ("PUT", "/api/v1/admin/two-step/organization", json!({ "mandatory": false })),
        ("DELETE", "/api/v1/admin/users/maria/two-step", Value::Null),
        // SPEC §14's settings, raised: fewer second steps, a longer wait for 2SV.
        ("PUT", "/api/v1/admin/two-step/remember-device", json!({ "days": 30 })),
        ("PUT", "/api/v1/admin/two-step/enrollment-period", json!({ "days": 7 })),
    ];
    let send = |method: &'static str, path: &'static str, body: Value| {
        let app = &app;
        let admin = admin.clone();
        async move {
            match method {
                "POST" => app.post(path, Some(&admin), body).await,
                "PUT" => app.put(path, Some(&admin), body).await,
                _ => app.delete(path, Some(&admin)).await,
            }
        }
    };
    for (method, path, body) in weakening.clone() {
        let r = send(method, path, body).await;
        assert_eq!((r.status, r.error_code()), (403, "step_up_required"), "{method} {path}: {}", r.text);
    }
    assert_eq!(event_outcomes(&app, "admin.step_up_required").await.len(), 6);
    let state = app.get("/api/v1/admin/two-step", Some(&admin)).await.body;
    assert_eq!((state["enabled"].as_bool(), state["profiles"][1]["mandatory"].as_bool()), (Some(true), Some(true)));
    // Strengthening needs nothing more.
    let r = app.put("/api/v1/admin/two-step/organization", Some(&admin), json!({ "mandatory": true })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Confirmed, each goes through.
    step_up(&app, &admin, &secret).await;
    for (method, path, body) in weakening.into_iter().rev() {
        let r = send(method, path, body).await;
        assert!(r.status == 200 || r.status == 204, "{method} {path}: {}", r.text);
    }
}

/// SPEC §11.5: an attempt reserved before a check that fails with an error is given
/// back, so the account is not left at the threshold without a lock.
async fn an_attempt_that_ends_in_an_error_is_given_back(app: TestApp) {
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    let (secret, _) = app.enroll_totp(&token).await;
    // Damage the stored secret so every check fails with an internal error.
    let record = app.store.sealed_not_under("none", 10).await.unwrap().into_iter().next().unwrap();
    let key_id = record.key_id.clone().unwrap();
    assert!(app.store.reseal(&record, b"damaged", &key_id).await.unwrap());
    for _ in 0..12 {
        let r = app.login("acme", "maria", PASSWORD, "web").await;
        let flow = r.body["flow"]["token"].as_str().unwrap().to_owned();
        let code = app.next_code(&secret);
        let v = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "totp", "code": code })).await;
        assert_eq!(v.status, 500, "{}", v.text);
    }
    // Repaired, the right code gets in: nothing stuck at the threshold.
    let mut damaged = record.clone();
    damaged.sealed = b"damaged".to_vec();
    assert!(app.store.reseal(&damaged, &record.sealed, &key_id).await.unwrap());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let session = verified_session(&app, "maria", &secret).await;
    assert_eq!(app.get("/api/v1/session", Some(&session)).await.body["two_step_verified"], true);
}

/// SPEC §11.6: both removals at once, several rounds; each time exactly one goes.
async fn concurrent_removals_never_leave_a_mandatory_user_without_a_method(app: TestApp) {
    let admin = app.acme(true).await;
    let token = app.session("acme", "maria").await;
    let (mut secret, _) = app.enroll_totp(&token).await;
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    let mut has_totp = true;
    for round in 0..6 {
        // An hour apart, for the hourly text-message limits; the session is in use.
        app.state.touches.flush(app.state.store.as_ref()).await.unwrap();
        app.clock.advance(3600);
        assert_eq!(app.get("/api/v1/session", Some(&token)).await.status, 200);
        // Step up with what is left, then add the missing method back.
        if has_totp {
            step_up(&app, &token, &secret).await;
            app.clock.advance(31);
            assert_eq!(app.post(SMS, Some(&token), json!({ "phone": "+351 912 345 678" })).await.status, 202);
            let code = app.last_sms_code("+351912345678");
            let r = app.post("/api/v1/me/two-step/sms/confirm", Some(&token), json!({ "code": code })).await;
            assert_eq!(r.status, 200, "round {round}: {}", r.text);
        } else {
            app.clock.advance(31);
            assert_eq!(app.post("/api/v1/me/two-step/verify/sms", Some(&token), json!({})).await.status, 202);
            let code = app.last_sms_code("+351912345678");
            let r =
                app.post("/api/v1/me/two-step/verify", Some(&token), json!({ "method": "sms", "code": code })).await;
            assert_eq!(r.status, 200, "round {round}: {}", r.text);
            let r = app.post(TOTP, Some(&token), json!({})).await;
            secret = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, r.body["secret"].as_str().unwrap())
                .unwrap();
            let code = app.next_code(&secret);
            let r = app.post("/api/v1/me/two-step/totp/confirm", Some(&token), json!({ "code": code })).await;
            assert_eq!(r.status, 200, "round {round}: {}", r.text);
        }
        let (a, b) = tokio::join!(app.delete(TOTP, Some(&token)), app.delete(SMS, Some(&token)));
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(statuses, [204, 409], "round {round}: {} / {}", a.text, b.text);
        let methods = app.get("/api/v1/me/two-step", Some(&token)).await.body["methods"].clone();
        assert_eq!(methods.as_array().unwrap().len(), 1, "round {round}: {methods}");
        has_totp = methods[0]["type"] == "totp";
    }
}

/// SPEC §11.10.
async fn numbers_that_cannot_receive_texts_are_refused(app: TestApp) {
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    for landline in ["+351 213 456 789", "+44 20 7946 0018", "+44 909 876 5432"] {
        let r = app.post(SMS, Some(&token), json!({ "phone": landline })).await;
        assert_eq!((r.status, r.error_code()), (422, "invalid_phone"), "{landline}: {}", r.text);
    }
    assert!(app.state.outbox.as_ref().unwrap().messages().is_empty());
    assert_eq!(app.post(SMS, Some(&token), json!({ "phone": "+44 7400 123456" })).await.status, 202);
}

async fn numbers_outside_the_allowed_countries_are_refused(app: TestApp) {
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    let r = app.post(SMS, Some(&token), json!({ "phone": "+44 7400 123456" })).await;
    assert_eq!((r.status, r.error_code()), (422, "invalid_phone"), "{}", r.text);
    assert_eq!(app.post(SMS, Some(&token), json!({ "phone": "+351 912 345 678" })).await.status, 202);
}

/// Every audit event of `acme`, all pages.
async fn all_events(app: &TestApp) -> Vec<twostep_core::store::AuditRecord> {
    let org = app.store.org_by_slug("acme").await.unwrap().unwrap();
    let mut all: Vec<twostep_core::store::AuditRecord> = Vec::new();
    loop {
        let before = all.last().map(|e| e.id);
        let page = app.store.events(org.id, 100, before, None).await.unwrap();
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

/// A sign-in as sent through the trusted proxy for client address `from`.
async fn login_from(app: &TestApp, from: &str, username: &str, password: &str) -> crate::support::Response {
    app.post_with_headers(
        "/api/v1/login",
        &[("x-forwarded-for", from)],
        json!({ "organization": "acme", "username": username, "password": password, "client": "web" }),
    )
    .await
}

/// SPEC §11.4: the attack of issue 13 — ten wrong passwords from one address kept the
/// owner out from everywhere.
async fn guesses_from_one_address_do_not_lock_the_owner_out(app: TestApp) {
    app.acme(false).await;
    for _ in 0..10 {
        let r = login_from(&app, "203.0.113.5", "maria", "wrong password").await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
    for attacker in ["203.0.113.5", "::ffff:203.0.113.5"] {
        let r = login_from(&app, attacker, "maria", "wrong password").await;
        assert_eq!((r.status, r.error_code()), (429, "rate_limited"), "{attacker}: {}", r.text);
        assert!(r.header("retry-after").is_some());
    }
    // The right password from the attacker's address is refused too…
    let r = login_from(&app, "203.0.113.5", "maria", PASSWORD).await;
    assert_eq!(r.status, 429);
    // …but the owner, elsewhere, gets in, and so does anyone else from that address.
    let r = login_from(&app, "198.51.100.7", "maria", PASSWORD).await;
    assert_eq!((r.status, &r.body["status"]), (200, &json!("authenticated")), "{}", r.text);
    let r = login_from(&app, "203.0.113.5", "boss", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(event_outcomes(&app, "login.password").await.contains(&"rate_limited".to_owned()));
}

/// SPEC §11.4: at most 100 failed password checks per address, reserved before the hash.
async fn parallel_failures_from_one_address_get_at_most_100_password_checks(app: TestApp) {
    app.acme(false).await;
    let attempts = (0..160).map(|i| {
        let app = &app;
        async move { login_from(app, "203.0.113.9", &format!("user{i}"), "wrong password").await.status }
    });
    let statuses = join_all(attempts).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!(checked <= 100, "{checked} password checks");
    assert_eq!(checked + limited, 160, "{statuses:?}");
    assert!(checked >= 90, "the limit is not far below 100: {checked}");
}

/// SPEC §11.7: a flood of failed sign-ins, abandoned flows and enrollments leaves nothing
/// that grows once the purge has run.
async fn failed_sign_ins_leave_no_rows_behind_after_the_purge(app: TestApp) {
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    app.enroll_totp(&token).await;
    // Abandoned: sign-in flows, a pending enrollment, a text-message code.
    for _ in 0..3 {
        assert_eq!(app.login("acme", "maria", PASSWORD, "web").await.body["status"], "two_step_required");
    }
    let boss = app.session("acme", "boss").await;
    assert_eq!(app.post(SMS, Some(&boss), json!({ "phone": "+351 912 345 678" })).await.status, 202);
    // 10 000 failed sign-ins from 4 addresses, each with another username.
    let mut refused = 0;
    for batch in 0..250 {
        let attempts = (0..40).map(|i| {
            let app = &app;
            let n = batch * 40 + i;
            async move {
                let from = format!("198.51.100.{}", n % 4);
                login_from(app, &from, &format!("nobody{n}"), "wrong password").await.status
            }
        });
        refused += join_all(attempts).await.iter().filter(|s| **s == 429).count();
    }
    assert!(refused >= 9_000, "{refused}");
    // The audit keeps each password check and notes a limit once per address and
    // window, not each of the 9 600 refusals.
    let events = all_events(&app).await;
    let limited = events.iter().filter(|e| e.event.outcome == "rate_limited").count();
    assert!(limited <= 8, "{limited} rate_limited events");
    assert!(events.len() < 500, "{} audit events", events.len());

    app.clock.advance(3 * 3600);
    let purged = twostep_server::service::purge::run(&app.state).await.unwrap();
    assert!(purged.rate_counters >= 400, "{purged:?}");
    assert!(purged.flows >= 3 && purged.pending_methods == 1 && purged.sms_challenges == 1, "{purged:?}");
    assert!(purged.sessions >= 2, "idle sessions: {purged:?}");
    let again = twostep_server::service::purge::run(&app.state).await.unwrap();
    assert_eq!(again.total(), 0, "nothing left: {again:?}");
    // And a fresh sign-in still works.
    assert_eq!(app.login("acme", "boss", PASSWORD, "web").await.status, 200);
}

/// SPEC §11.7: with no room to wait, a sign-in is told to come back.
async fn a_full_hashing_queue_answers_unavailable_with_retry_after(app: TestApp) {
    app.acme(false).await;
    let attempts = (0..24).map(|i| {
        let app = &app;
        async move { app.login("acme", &format!("nobody{i}"), "wrong password", "web").await }
    });
    let answers = join_all(attempts).await;
    let busy: Vec<_> = answers.iter().filter(|r| r.status == 503).collect();
    assert!(!busy.is_empty(), "24 sign-ins at once on a queue of (cores + 0)");
    for r in &busy {
        assert_eq!(r.error_code(), "unavailable");
        assert_eq!(r.header("retry-after"), Some("1"));
    }
    // What was refused as busy was not counted against the address: exactly 100 checks
    // per 15 minutes remain for it, counting the ones that did run.
    let checked = answers.iter().filter(|r| r.status == 401).count();
    assert_eq!(checked + busy.len(), 24);
    for i in checked..100 {
        let r = app.login("acme", &format!("later{i}"), "wrong password", "web").await;
        assert_eq!(r.status, 401, "check {i}: {}", r.text);
    }
    let r = app.login("acme", "later100", "wrong password", "web").await;
    assert_eq!((r.status, r.error_code()), (429, "rate_limited"));
}

async fn strict_transport_security_is_sent_when_the_public_url_is_https(app: TestApp) {
    // The test apps' public URL is https://login.example.com.
    for path in ["/healthz", "/login", "/api/v1/session"] {
        let r = app.get(path, None).await;
        assert_eq!(r.header("strict-transport-security"), Some("max-age=63072000"), "{path}");
    }
}

/// SPEC §11.10: `sms.global_hourly_limit` counts the texts of every organisation.
async fn the_global_hourly_limit_caps_every_organisation_together(app: TestApp) {
    app.acme(true).await;
    let maria = app.session("acme", "maria").await;
    let boss = app.session("acme", "boss").await;
    app.clock.advance(3600 - app.now().rem_euclid(3600));
    assert_eq!(app.post(SMS, Some(&maria), json!({ "phone": "+351 912 345 678" })).await.status, 202);
    assert_eq!(app.post(SMS, Some(&boss), json!({ "phone": "+351 913 456 789" })).await.status, 202);
    let r = app.post(SMS, Some(&boss), json!({ "phone": "+351 914 567 890" })).await;
    assert_eq!((r.status, r.error_code()), (429, "sms_rate_limited"), "{}", r.text);
    assert_eq!(event_outcomes(&app, "sms.refused").await, ["global_hourly_limit"]);
}

/// Issue 19: the request id of a trusted proxy names the request end to end.
async fn a_trusted_proxys_request_id_is_kept(app: TestApp) {
    let r = app.http.get(app.url("/healthz")).header("x-request-id", "edge-7f3a.1").send().await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "edge-7f3a.1");
    let odd = app.http.get(app.url("/healthz")).header("x-request-id", "no spaces allowed").send().await.unwrap();
    assert_ne!(odd.headers()["x-request-id"], "no spaces allowed");
}
