//! Password sign-in, sessions, errors and operations (SPEC §4, §6, §10).

use crate::both;
use crate::support::{PASSWORD, TestApp};
use serde_json::json;
use twostep_core::store::prelude::*;

both!(
    a_right_password_opens_a_session_that_checks_out,
    wrong_password_and_unknown_user_get_the_same_answer,
    usernames_sign_in_without_regard_to_case,
    an_unknown_client_is_refused,
    malformed_or_incomplete_bodies_are_invalid_requests,
    bodies_over_64_kib_are_refused,
    logout_ends_the_session_on_the_next_request,
    a_session_in_use_expires_after_its_ttl,
    an_unused_session_ends_after_the_idle_timeout,
    password_failures_are_throttled_alike_for_known_and_unknown_users,
    operations_endpoints_answer,
    every_answer_carries_a_request_id_and_the_metrics_name_the_build,
    every_sign_in_outcome_is_audited,
    last_use_is_written_in_batches_and_shown_in_the_session_list,
);

async fn a_right_password_opens_a_session_that_checks_out(app: TestApp) {
    app.acme(false).await;
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "authenticated");
    assert_eq!(r.body["two_step_verified"], false);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let token = r.body["session"]["token"].as_str().unwrap();
    assert!(token.len() >= 22, "token too short for 128 bits");
    assert!(r.body["session"]["expires_at"].as_str().unwrap().ends_with('Z'));
    let s = app.get("/api/v1/session", Some(token)).await;
    assert_eq!(s.status, 200, "{}", s.text);
    assert_eq!(s.body["organization"], "acme");
    assert_eq!(s.body["username"], "maria");
    assert_eq!(s.body["profile"], "technician");
    assert_eq!(s.body["kind"], "user");
    assert_eq!(s.body["client"], "web");
    assert_eq!(s.body["two_step_verified"], false);
    assert!(s.body["expires_at"].is_string());
    // Only the hash is stored.
    let hash = twostep_core::crypto::TokenHash::of(token).0;
    assert!(app.store.session_by_hash(&hash).await.unwrap().is_some());
    assert!(app.store.session_by_hash(token.as_bytes()).await.unwrap().is_none());
}

async fn wrong_password_and_unknown_user_get_the_same_answer(app: TestApp) {
    app.acme(false).await;
    let wrong = app.login("acme", "maria", "not the password", "web").await;
    let unknown = app.login("acme", "nobody", "not the password", "web").await;
    let no_org = app.login("nowhere", "maria", PASSWORD, "web").await;
    for r in [&wrong, &unknown, &no_org] {
        assert_eq!(r.status, 401);
        assert_eq!(r.error_code(), "invalid_credentials");
    }
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.body, no_org.body);
    let none = app.get("/api/v1/session", None).await;
    assert_eq!((none.status, none.error_code()), (401, "session_invalid"));
    let bogus = app.get("/api/v1/session", Some("bogus")).await;
    assert_eq!((bogus.status, bogus.error_code()), (401, "session_invalid"));
}

async fn usernames_sign_in_without_regard_to_case(app: TestApp) {
    app.acme(false).await;
    let r = app.login("acme", "MARIA", PASSWORD, "web").await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn an_unknown_client_is_refused(app: TestApp) {
    app.acme(false).await;
    let r = app.login("acme", "maria", PASSWORD, "fax-machine").await;
    assert_eq!((r.status, r.error_code()), (400, "unknown_client"));
}

async fn malformed_or_incomplete_bodies_are_invalid_requests(app: TestApp) {
    app.acme(false).await;
    let raw = app.http.post(app.url("/api/v1/login")).body("{not json").send().await.unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_request");
    let missing = app.post("/api/v1/login", None, json!({ "organization": "acme", "username": "maria" })).await;
    assert_eq!((missing.status, missing.error_code()), (400, "invalid_request"));
    let wrong_type = app
        .post("/api/v1/login", None, json!({ "organization": 1, "username": "m", "password": "p", "client": "web" }))
        .await;
    assert_eq!((wrong_type.status, wrong_type.error_code()), (400, "invalid_request"));
    let array = app.post("/api/v1/login", None, json!([1, 2])).await;
    assert_eq!((array.status, array.error_code()), (400, "invalid_request"));
    let nowhere = app.get("/api/v1/nothing-here", None).await;
    assert_eq!((nowhere.status, nowhere.error_code()), (404, "not_found"));
}

async fn bodies_over_64_kib_are_refused(app: TestApp) {
    let big = format!("{{\"organization\":\"{}\"}}", "a".repeat(70 * 1024));
    let r = app.http.post(app.url("/api/v1/login")).body(big).send().await.unwrap();
    assert!(matches!(r.status().as_u16(), 413 | 400), "{}", r.status());
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["error"]["code"].is_string());
}

async fn logout_ends_the_session_on_the_next_request(app: TestApp) {
    app.acme(false).await;
    let token = app.session("acme", "maria").await;
    let r = app.post("/api/v1/logout", Some(&token), json!({})).await;
    assert_eq!(r.status, 204);
    let s = app.get("/api/v1/session", Some(&token)).await;
    assert_eq!((s.status, s.error_code()), (401, "session_invalid"));
    let again = app.post("/api/v1/logout", Some(&token), json!({})).await;
    assert_eq!(again.status, 401);
}

/// Uses the session as a client would every `every` seconds until `until` seconds have
/// passed, writing its last use as the server does every 30 s.
async fn use_session(app: &TestApp, token: &str, every: i64, until: i64) {
    let mut passed = 0;
    while passed + every <= until {
        app.clock.advance(every);
        passed += every;
        assert_eq!(app.get("/api/v1/session", Some(token)).await.status, 200, "after {passed} s");
        app.state.touches.flush(app.state.store.as_ref()).await.unwrap();
    }
    app.clock.advance(until - passed);
}

async fn a_session_in_use_expires_after_its_ttl(app: TestApp) {
    app.acme(false).await;
    let token = app.session("acme", "maria").await;
    use_session(&app, &token, 3600, 12 * 3600 - 1).await;
    assert_eq!(app.get("/api/v1/session", Some(&token)).await.status, 200);
    app.clock.advance(2);
    let s = app.get("/api/v1/session", Some(&token)).await;
    assert_eq!((s.status, s.error_code()), (401, "session_invalid"));
}

/// SPEC §11.8: `session_idle_timeout` (2 h by default) beside `session_ttl`.
async fn an_unused_session_ends_after_the_idle_timeout(app: TestApp) {
    app.acme(false).await;
    let used = app.session("acme", "maria").await;
    let unused = app.session("acme", "maria").await;
    use_session(&app, &used, 1800, 2 * 3600 - 1).await;
    assert_eq!(app.get("/api/v1/session", Some(&unused)).await.status, 200, "idle for 2 h less a second");
    app.clock.advance(1);
    let s = app.get("/api/v1/session", Some(&unused)).await;
    assert_eq!((s.status, s.error_code()), (401, "session_invalid"));
    assert_eq!(app.get("/api/v1/session", Some(&used)).await.status, 200, "a session in use stays");
}

async fn password_failures_are_throttled_alike_for_known_and_unknown_users(app: TestApp) {
    app.acme(false).await;
    for username in ["maria", "nobody"] {
        for _ in 0..10 {
            let r = app.login("acme", username, "wrong password!", "web").await;
            assert_eq!(r.error_code(), "invalid_credentials");
        }
        let r = app.login("acme", username, "wrong password!", "web").await;
        assert_eq!((r.status, r.error_code()), (429, "rate_limited"), "{username}");
        let retry: i64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!(retry > 0 && retry <= 900);
    }
    // The right password is throttled too until the window passes.
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    assert_eq!(r.status, 429);
    app.clock.advance(900);
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn operations_endpoints_answer(app: TestApp) {
    assert_eq!(app.get("/healthz", None).await.status, 200);
    assert_eq!(app.get("/readyz", None).await.status, 200);
    app.login("acme", "x", "y", "web").await;
    let m = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(m.status().as_u16(), 200);
    let text = m.text().await.unwrap();
    assert!(text.contains("twostep_http_requests_total"), "{text}");
    assert!(text.contains("twostep_sign_ins_total{outcome=\"invalid_credentials\"}"), "{text}");
    assert!(text.contains("twostep_http_request_duration_seconds_bucket"), "{text}");
}

async fn every_sign_in_outcome_is_audited(app: TestApp) {
    app.acme(false).await;
    app.login("acme", "maria", "wrong password!", "web").await;
    app.login("acme", "maria", PASSWORD, "web").await;
    let events = app.events("acme").await;
    let outcomes: Vec<_> =
        events.iter().filter(|e| e.event.kind == "login.password").map(|e| e.event.outcome.as_str()).collect();
    assert!(outcomes.contains(&"invalid_credentials"), "{outcomes:?}");
    assert!(outcomes.contains(&"authenticated"), "{outcomes:?}");
    assert!(events.iter().all(|e| e.event.ip.is_some()));
}

async fn last_use_is_written_in_batches_and_shown_in_the_session_list(app: TestApp) {
    app.acme(false).await;
    let token = app.session("acme", "maria").await;
    let signed_in = app.now();
    let last_seen = |r: &crate::support::Response| r.body["sessions"][0]["last_seen_at"].as_str().unwrap().to_owned();
    let before = app.get("/api/v1/me/sessions", Some(&token)).await;
    assert_eq!(before.status, 200, "{}", before.text);
    assert_eq!(twostep_server::service::parse_rfc3339(&last_seen(&before)), Some(signed_in));

    // A minute later the check notes the use; the request itself writes nothing.
    app.clock.advance(61);
    assert_eq!(app.get("/api/v1/session", Some(&token)).await.status, 200);
    assert_eq!(app.state.touches.pending(), 1);
    // Noted again within the minute: still one moment waiting.
    assert_eq!(app.get("/api/v1/session", Some(&token)).await.status, 200);
    assert_eq!(app.state.touches.pending(), 1);

    // The flush (every few seconds in the background; here by hand) writes it.
    let written = app.state.touches.flush(app.store.as_ref()).await.unwrap();
    assert_eq!(written, 1);
    assert_eq!(app.state.touches.pending(), 0);
    let after = app.get("/api/v1/me/sessions", Some(&token)).await;
    assert_eq!(twostep_server::service::parse_rfc3339(&last_seen(&after)), Some(signed_in + 61));

    // A moment noted for a session that ended meanwhile is written to nothing, harmlessly.
    app.clock.advance(61);
    assert_eq!(app.get("/api/v1/session", Some(&token)).await.status, 200);
    assert_eq!(app.post("/api/v1/logout", Some(&token), json!({})).await.status, 204);
    assert_eq!(app.state.touches.flush(app.store.as_ref()).await.unwrap(), 1);
    assert_eq!(app.get("/api/v1/session", Some(&token)).await.status, 401);
}

/// Issue 19: an `x-request-id` on every answer (a client's own is not believed from an
/// untrusted address), `twostep_build_info`, and second-step outcomes by method.
async fn every_answer_carries_a_request_id_and_the_metrics_name_the_build(app: TestApp) {
    app.acme(false).await;
    let r = app.get("/healthz", None).await;
    let id = r.header("x-request-id").unwrap().to_owned();
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    let spoofed = app.http.get(app.url("/healthz")).header("x-request-id", "abc-123").send().await.unwrap();
    assert_ne!(spoofed.headers()["x-request-id"], "abc-123", "127.0.0.1 is not a trusted proxy here");
    assert_ne!(app.get("/healthz", None).await.header("x-request-id").unwrap(), id, "one per request");
    let metrics = app.get("/metrics", None).await.text;
    assert!(metrics.contains("twostep_build_info{version=\""), "{metrics}");
    for gauge in ["db_connections_open", "db_connections_idle", "password_hashes_in_flight", "process_resident_bytes"] {
        assert!(metrics.contains(&format!("twostep_runtime{{what=\"{gauge}\"}}")), "{gauge}: {metrics}");
    }
    // Every query so far waited for a pooled connection, and is counted once.
    let waits = metrics
        .lines()
        .find_map(|l| l.strip_prefix("twostep_db_acquire_duration_seconds_count "))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no acquire histogram: {metrics}"));
    assert!(waits > 0, "{metrics}");
    assert!(
        metrics.contains(&format!("twostep_db_acquire_duration_seconds_bucket{{le=\"+Inf\"}} {waits}")),
        "{metrics}"
    );
    assert!(metrics.contains("twostep_db_acquire_duration_seconds_bucket{le=\"0.0001\"}"), "{metrics}");
}
