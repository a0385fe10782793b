//! Authenticator-app 2SV: enrollment, the second step, replay, recovery codes, step-up,
//! secrets at rest (issue 3; SPEC §4–§6, §10).

use crate::both;
use crate::support::{PASSWORD, TestApp};
use serde_json::json;
use twostep_core::credential::totp;

both!(
    enrollment_returns_a_scannable_secret_that_is_enabled_only_by_a_right_code,
    a_user_with_totp_signs_in_with_a_code,
    a_code_is_accepted_once_even_under_concurrent_verifications,
    codes_two_steps_away_are_refused,
    a_flow_dies_after_five_wrong_codes,
    a_flow_token_is_never_a_session,
    recovery_codes_sign_in_once_each_and_can_be_regenerated,
    disabling_needs_a_recent_second_step,
    secrets_and_recovery_codes_are_not_stored_in_clear,
    totp_events_are_audited,
    ten_wrong_codes_lock_the_second_step_for_fifteen_minutes,
);

async fn enrollment_returns_a_scannable_secret_that_is_enabled_only_by_a_right_code(app: TestApp) {
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    let r = app.post("/api/v1/me/two-step/totp", Some(&token), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let secret_b32 = r.body["secret"].as_str().unwrap();
    assert_eq!(secret_b32.len(), 32, "160 bits of unpadded base32");
    assert!(!secret_b32.contains('='));
    let uri = r.body["otpauth_uri"].as_str().unwrap();
    assert_eq!(uri, format!("otpauth://totp/Twostep:maria@acme?secret={secret_b32}&issuer=Twostep"));
    assert!(r.body["qr_svg"].as_str().unwrap().contains("<svg"));
    assert!(r.body["expires_at"].as_str().unwrap().ends_with('Z'));
    // The PNG decodes back to exactly the URI.
    use base64::Engine;
    let png = base64::engine::general_purpose::STANDARD.decode(r.body["qr_png"].as_str().unwrap()).unwrap();
    let image = image::load_from_memory(&png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    let (_, content) = grids[0].decode().unwrap();
    assert_eq!(content, uri);

    // Not enabled until confirmed; a wrong code does not enable it.
    let overview = app.get("/api/v1/me/two-step", Some(&token)).await;
    assert_eq!(overview.body["methods"], json!([]));
    let secret = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, secret_b32).unwrap();
    let wrong = if totp::code_at(&secret, app.now()) == "000000" { "111111" } else { "000000" };
    let r = app.post("/api/v1/me/two-step/totp/confirm", Some(&token), json!({ "code": wrong })).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"));
    assert_eq!(app.get("/api/v1/me/two-step", Some(&token)).await.body["methods"], json!([]));
    let code = totp::code_at(&secret, app.now());
    let r = app.post("/api/v1/me/two-step/totp/confirm", Some(&token), json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["method"]["type"], "totp");
    assert_eq!(r.body["recovery_codes"].as_array().unwrap().len(), 10);
    let overview = app.get("/api/v1/me/two-step", Some(&token)).await;
    assert_eq!(overview.status, 200);
    assert_eq!(overview.body["available"], true);
    assert_eq!(overview.body["required"], false);
    assert_eq!(overview.body["methods"][0]["type"], "totp");
    assert!(overview.body["methods"][0]["enabled_at"].is_string());
    assert_eq!(overview.body["recovery_codes_remaining"], 10);
    assert!(!overview.text.contains(secret_b32), "the secret came back");
    // An unconfirmed secret expires after ten minutes.
    let boss = app.session("acme", "boss").await;
    let r = app.post("/api/v1/me/two-step/totp", Some(&boss), json!({})).await;
    let secret =
        base32::decode(base32::Alphabet::Rfc4648 { padding: false }, r.body["secret"].as_str().unwrap()).unwrap();
    app.clock.advance(601);
    let code = totp::code_at(&secret, app.now());
    let r = app.post("/api/v1/me/two-step/totp/confirm", Some(&boss), json!({ "code": code })).await;
    assert_eq!((r.status, r.error_code()), (400, "invalid_request"), "{}", r.text);
}

async fn a_user_with_totp_signs_in_with_a_code(app: TestApp) {
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    let (secret, _) = app.enroll_totp(&token).await;
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "two_step_required");
    assert_eq!(r.body["methods"], json!([{ "type": "totp" }, { "type": "recovery_code" }]));
    let flow = r.body["flow"]["token"].as_str().unwrap().to_owned();
    assert!(r.body["flow"]["expires_at"].is_string());
    let code = app.next_code(&secret);
    let v = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "totp", "code": code })).await;
    assert_eq!(v.status, 200, "{}", v.text);
    assert_eq!(v.body["status"], "authenticated");
    assert_eq!(v.body["two_step_verified"], true);
    assert_eq!(v.header("cache-control"), Some("no-store"));
    let session = v.body["session"]["token"].as_str().unwrap();
    let s = app.get("/api/v1/session", Some(session)).await;
    assert_eq!(s.body["two_step_verified"], true);
    // The flow is spent.
    let again = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "totp", "code": code })).await;
    assert_eq!((again.status, again.error_code()), (401, "flow_expired"));
}

async fn a_code_is_accepted_once_even_under_concurrent_verifications(app: TestApp) {
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    let (secret, _) = app.enroll_totp(&token).await;
    let mut flows = Vec::new();
    for _ in 0..8 {
        let r = app.login("acme", "maria", PASSWORD, "web").await;
        flows.push(r.body["flow"]["token"].as_str().unwrap().to_owned());
    }
    let code = app.next_code(&secret);
    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = flows
        .into_iter()
        .map(|flow| {
            let app = app.clone();
            let code = code.clone();
            tokio::spawn(async move {
                app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "totp", "code": code })).await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            200 => ok += 1,
            401 => assert_eq!(r.error_code(), "invalid_code"),
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert_eq!(ok, 1, "a TOTP code was accepted {ok} times");
    let replays = app.events("acme").await.iter().filter(|e| e.event.kind == "two_step.replay_refused").count();
    assert_eq!(replays, 7);
}

async fn codes_two_steps_away_are_refused(app: TestApp) {
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    let (secret, _) = app.enroll_totp(&token).await;
    app.clock.advance(300);
    for (delta, accepted) in [(-2i64, false), (2, false), (-1, true), (1, true)] {
        let now = app.now();
        let flow = app.login("acme", "maria", PASSWORD, "web").await.body["flow"]["token"].as_str().unwrap().to_owned();
        let code = totp::code_at(&secret, now + delta * totp::PERIOD);
        let r = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "totp", "code": code })).await;
        assert_eq!(r.status == 200, accepted, "T{delta:+}: {}", r.text);
        // Each accepted step is later than the last, so move on for the next case.
        app.clock.advance(3 * totp::PERIOD);
    }
}

async fn a_flow_dies_after_five_wrong_codes(app: TestApp) {
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    let (secret, _) = app.enroll_totp(&token).await;
    let flow = app.login("acme", "maria", PASSWORD, "web").await.body["flow"]["token"].as_str().unwrap().to_owned();
    let right = app.next_code(&secret);
    let wrong = if right == "123456" { "654321" } else { "123456" };
    for remaining in (0..5).rev() {
        let r = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "totp", "code": wrong })).await;
        assert_eq!((r.status, r.error_code()), (401, "invalid_code"));
        assert_eq!(r.body["error"]["attempts_remaining"], remaining);
    }
    let r = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "totp", "code": right })).await;
    assert_eq!((r.status, r.error_code()), (401, "flow_expired"));
    let bad_method =
        app.login("acme", "maria", PASSWORD, "web").await.body["flow"]["token"].as_str().unwrap().to_owned();
    let r =
        app.post("/api/v1/login/verify", Some(&bad_method), json!({ "method": "carrier-pigeon", "code": right })).await;
    assert_eq!((r.status, r.error_code()), (400, "invalid_request"));
}

async fn a_flow_token_is_never_a_session(app: TestApp) {
    let admin = app.acme(true).await;
    let token = app.session("acme", "maria").await;
    app.enroll_totp(&token).await;
    let flow = app.login("acme", "maria", PASSWORD, "web").await.body["flow"]["token"].as_str().unwrap().to_owned();
    for path in ["/api/v1/session", "/api/v1/me/two-step", "/api/v1/me/sessions", "/api/v1/admin/two-step"] {
        let r = app.get(path, Some(&flow)).await;
        assert_eq!(r.status, 401, "{path}: {}", r.text);
    }
    let r = app.post("/api/v1/me/two-step/totp", Some(&flow), json!({})).await;
    assert_eq!(r.status, 401, "{}", r.text);
    // And a session token is not a flow.
    let r = app.post("/api/v1/login/verify", Some(&admin), json!({ "method": "totp", "code": "123456" })).await;
    assert_eq!((r.status, r.error_code()), (401, "flow_expired"));
}

async fn recovery_codes_sign_in_once_each_and_can_be_regenerated(app: TestApp) {
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    let (secret, codes) = app.enroll_totp(&token).await;
    assert_eq!(codes.len(), 10);
    let flow = app.login("acme", "maria", PASSWORD, "web").await.body["flow"]["token"].as_str().unwrap().to_owned();
    let r = app
        .post(
            "/api/v1/login/verify",
            Some(&flow),
            json!({ "method": "recovery_code", "code": codes[0].to_uppercase() }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["recovery_codes_remaining"], 9);
    let session = r.body["session"]["token"].as_str().unwrap().to_owned();
    let flow = app.login("acme", "maria", PASSWORD, "web").await.body["flow"]["token"].as_str().unwrap().to_owned();
    let r = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "recovery_code", "code": codes[0] })).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"), "a recovery code worked twice");
    // Regenerating needs step-up: the session passed 2SV just now, so it may.
    let r = app.post("/api/v1/me/two-step/recovery-codes", Some(&session), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let fresh: Vec<String> =
        r.body["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    assert_eq!(fresh.len(), 10);
    assert_eq!(app.get("/api/v1/me/two-step", Some(&session)).await.body["recovery_codes_remaining"], 10);
    let flow = app.login("acme", "maria", PASSWORD, "web").await.body["flow"]["token"].as_str().unwrap().to_owned();
    let r = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "recovery_code", "code": codes[1] })).await;
    assert_eq!(r.status, 401, "an old recovery code survived regeneration");
    let r = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "recovery_code", "code": fresh[1] })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // After 15 minutes the same session needs to step up again.
    app.clock.advance(16 * 60);
    let r = app.post("/api/v1/me/two-step/recovery-codes", Some(&session), json!({})).await;
    assert_eq!((r.status, r.error_code()), (403, "step_up_required"));
    let code = app.next_code(&secret);
    let r = app.post("/api/v1/me/two-step/verify", Some(&session), json!({ "method": "totp", "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.post("/api/v1/me/two-step/recovery-codes", Some(&session), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn disabling_needs_a_recent_second_step(app: TestApp) {
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    let (secret, _) = app.enroll_totp(&token).await;
    // Enabling counted as a second step; once that is old, disabling asks to step up.
    app.clock.advance(16 * 60);
    let r = app.delete("/api/v1/me/two-step/totp", Some(&token)).await;
    assert_eq!((r.status, r.error_code()), (403, "step_up_required"));
    let wrong =
        app.post("/api/v1/me/two-step/verify", Some(&token), json!({ "method": "totp", "code": "000000" })).await;
    if totp::code_at(&secret, app.now()) != "000000" {
        assert_eq!((wrong.status, wrong.error_code()), (401, "invalid_code"));
    }
    let code = app.next_code(&secret);
    let r = app.post("/api/v1/me/two-step/verify", Some(&token), json!({ "method": "totp", "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.delete("/api/v1/me/two-step/totp", Some(&token)).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let overview = app.get("/api/v1/me/two-step", Some(&token)).await;
    assert_eq!(overview.body["methods"], json!([]));
    assert_eq!(overview.body["recovery_codes_remaining"], 0);
    // Without a method, an optional user signs in with the password alone again.
    assert_eq!(app.login("acme", "maria", PASSWORD, "web").await.body["status"], "authenticated");
    let r = app.delete("/api/v1/me/two-step/totp", Some(&token)).await;
    assert_eq!(r.status, 404, "{}", r.text);
}

async fn secrets_and_recovery_codes_are_not_stored_in_clear(app: TestApp) {
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    let r = app.post("/api/v1/me/two-step/totp", Some(&token), json!({})).await;
    let secret_b32 = r.body["secret"].as_str().unwrap().to_owned();
    let secret = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &secret_b32).unwrap();
    let code = totp::code_at(&secret, app.now());
    let r = app.post("/api/v1/me/two-step/totp/confirm", Some(&token), json!({ "code": code })).await;
    let codes: Vec<String> =
        r.body["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    let Some(path) = app.db.sqlite_path() else { return };
    let mut bytes = std::fs::read(&path).unwrap();
    for suffix in ["-wal", "-shm"] {
        if let Ok(more) = std::fs::read(format!("{}{suffix}", path.display())) {
            bytes.extend(more);
        }
    }
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(secret_b32.as_bytes()), "base32 secret in the database file");
    assert!(!contains(&secret), "raw secret in the database file");
    for c in &codes {
        assert!(!contains(c.as_bytes()) && !contains(c.replace('-', "").as_bytes()), "recovery code in the file");
    }
    assert!(!contains(token.as_bytes()), "session token in the file");
}

async fn totp_events_are_audited(app: TestApp) {
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    let (secret, codes) = app.enroll_totp(&token).await;
    let flow = app.login("acme", "maria", PASSWORD, "web").await.body["flow"]["token"].as_str().unwrap().to_owned();
    app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "totp", "code": "999999" })).await;
    let code = app.next_code(&secret);
    app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "totp", "code": code })).await;
    let flow = app.login("acme", "maria", PASSWORD, "web").await.body["flow"]["token"].as_str().unwrap().to_owned();
    app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "recovery_code", "code": codes[3] })).await;
    let kinds: Vec<String> = app.events("acme").await.into_iter().map(|e| e.event.kind).collect();
    for expected in ["two_step.method_enabled", "two_step.code_accepted", "two_step.recovery_code_used"] {
        assert!(kinds.iter().any(|k| k == expected), "{expected} missing from {kinds:?}");
    }
    if code != "999999" {
        assert!(kinds.iter().any(|k| k == "two_step.code_refused"), "{kinds:?}");
    }
    let text = format!("{:?}", app.events("acme").await);
    assert!(!text.contains(&code) && !text.contains(&codes[3]), "a code reached the audit log");
}

async fn ten_wrong_codes_lock_the_second_step_for_fifteen_minutes(app: TestApp) {
    app.acme(true).await;
    let token = app.session("acme", "maria").await;
    let (secret, _) = app.enroll_totp(&token).await;
    let right = app.next_code(&secret);
    let wrong = if right == "123456" { "654321" } else { "123456" };
    for _ in 0..2 {
        let flow = app.login("acme", "maria", PASSWORD, "web").await.body["flow"]["token"].as_str().unwrap().to_owned();
        for _ in 0..5 {
            let r = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "totp", "code": wrong })).await;
            assert_eq!(r.error_code(), "invalid_code");
        }
    }
    // Locked: a right password gets 423 with retry_after; so does a right code.
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    assert_eq!((r.status, r.error_code()), (423, "two_step_locked"), "{}", r.text);
    assert_eq!(r.body["error"]["retry_after"], 900);
    assert!(r.header("retry-after").is_some());
    app.clock.advance(901);
    let flow = app.login("acme", "maria", PASSWORD, "web").await.body["flow"]["token"].as_str().unwrap().to_owned();
    let code = app.next_code(&secret);
    let r = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "totp", "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(app.events("acme").await.iter().any(|e| e.event.kind == "two_step.locked"));
}
