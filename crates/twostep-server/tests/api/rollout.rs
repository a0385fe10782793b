//! SPEC §14, enrollment deadline: an organisation gives users whom 2SV becomes mandatory
//! for a few days to set it up ("Set up later"), forced after the deadline.

use crate::both_with;
use crate::support::{PASSWORD, TestApp};
use serde_json::{Value, json};
use twostep_server::config::Config;

both_with!(super::long_sessions;
    an_enrollment_period_lets_users_set_up_later_until_the_deadline,
    without_a_period_enrollment_is_at_the_next_sign_in,
    a_user_created_under_a_mandatory_profile_gets_the_period_and_optional_clears_it,
    a_remembered_device_skips_the_second_step_but_never_the_password,
    remembered_devices_are_forgotten_when_the_setting_is_lowered_on_reset_and_at_expiry,
);

fn long_sessions(config: &mut Config) {
    config.session_ttl = std::time::Duration::from_secs(30 * 24 * 3600);
    config.session_idle_timeout = std::time::Duration::from_secs(30 * 24 * 3600);
}

const DAY: i64 = 86_400;

async fn report_row(app: &TestApp, admin: &str, username: &str) -> Value {
    let r = app.get("/api/v1/admin/two-step/users", Some(admin)).await;
    r.body["users"].as_array().unwrap().iter().find(|u| u["username"] == username).unwrap().clone()
}

async fn an_enrollment_period_lets_users_set_up_later_until_the_deadline(app: TestApp) {
    let admin = app.acme(true).await;
    let r = app.put("/api/v1/admin/two-step/enrollment-period", Some(&admin), json!({ "days": 7 })).await;
    assert_eq!((r.status, &r.body["enrollment_period_days"]), (200, &json!(7)), "{}", r.text);
    let before = app.session("acme", "maria").await;
    let became_mandatory = app.now();
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    let deadline = twostep_server::service::rfc3339(became_mandatory + 7 * DAY);
    assert_eq!(report_row(&app, &admin, "maria").await["enroll_by"], deadline.as_str());

    // The session from before lives on past the 24 h grace, until the deadline.
    app.clock.advance(2 * DAY);
    let s = app.get("/api/v1/session", Some(&before)).await;
    assert_eq!(s.status, 200, "{}", s.text);

    let r = app.login("acme", "maria", PASSWORD, "web").await;
    assert_eq!(r.body["status"], "two_step_enrollment_required", "{}", r.text);
    assert_eq!((&r.body["can_skip"], &r.body["enroll_by"]), (&json!(true), &json!(deadline)));
    let flow = r.body["flow"]["token"].as_str().unwrap().to_owned();
    let r = app.post("/api/v1/login/skip-enrollment", Some(&flow), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((&r.body["status"], &r.body["two_step_verified"]), (&json!("authenticated"), &json!(false)));
    assert_eq!(r.body["enroll_by"], deadline.as_str());
    let skipped = r.body["session"]["token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/session", Some(&skipped)).await.status, 200);
    let again = app.post("/api/v1/login/skip-enrollment", Some(&flow), json!({})).await;
    assert_eq!(again.status, 401, "the flow is spent");

    // The skipped session lasts to the deadline, past §3.7's 24 hours; after it both
    // sessions end, and enrolling is forced.
    app.clock.advance(5 * DAY - 1);
    assert_eq!(app.get("/api/v1/session", Some(&skipped)).await.status, 200);
    app.clock.advance(2);
    for token in [&before, &skipped] {
        let s = app.get("/api/v1/session", Some(token)).await;
        assert_eq!((s.status, s.error_code()), (401, "session_revoked"));
    }
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    assert_eq!((&r.body["can_skip"], &r.body["enroll_by"]), (&json!(false), &Value::Null), "{}", r.text);
    let flow = r.body["flow"]["token"].as_str().unwrap().to_owned();
    let r = app.post("/api/v1/login/skip-enrollment", Some(&flow), json!({})).await;
    assert_eq!((r.status, r.error_code()), (403, "forbidden"), "{}", r.text);
    assert!(report_row(&app, &admin, "maria").await["enroll_by"].is_null());
}

async fn without_a_period_enrollment_is_at_the_next_sign_in(app: TestApp) {
    let admin = app.acme(true).await;
    let state = app.get("/api/v1/admin/two-step", Some(&admin)).await.body;
    assert_eq!(state["enrollment_period_days"], 0);
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    assert_eq!((&r.body["can_skip"], &r.body["enroll_by"]), (&json!(false), &Value::Null), "{}", r.text);
    let flow = r.body["flow"]["token"].as_str().unwrap().to_owned();
    let r = app.post("/api/v1/login/skip-enrollment", Some(&flow), json!({})).await;
    assert_eq!((r.status, r.error_code()), (403, "forbidden"));
    for days in [-1, 91] {
        let r = app.put("/api/v1/admin/two-step/enrollment-period", Some(&admin), json!({ "days": days })).await;
        assert_eq!((r.status, r.error_code()), (400, "invalid_request"), "{days}");
    }
    let r = app.put("/api/v1/admin/two-step/enrollment-period", Some(&admin), json!({ "days": "7" })).await;
    assert_eq!((r.status, r.error_code()), (400, "invalid_request"));
}

async fn a_user_created_under_a_mandatory_profile_gets_the_period_and_optional_clears_it(app: TestApp) {
    let admin = app.acme(true).await;
    app.put("/api/v1/admin/two-step/enrollment-period", Some(&admin), json!({ "days": 3 })).await;
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    let created = app.now();
    let r = app
        .post(
            "/api/v1/admin/users",
            Some(&admin),
            json!({ "username": "nuno", "kind": "user", "profile": "technician" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let row = report_row(&app, &admin, "nuno").await;
    assert_eq!(row["enroll_by"], twostep_server::service::rfc3339(created + 3 * DAY).as_str());
    // Optional again: no deadline; mandatory again later: a new period from then.
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": false })).await;
    assert!(report_row(&app, &admin, "maria").await["enroll_by"].is_null());
    app.clock.advance(10 * DAY);
    let now = app.now();
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    assert_eq!(
        report_row(&app, &admin, "maria").await["enroll_by"],
        twostep_server::service::rfc3339(now + 3 * DAY).as_str()
    );
}

/// Signs maria in with her authenticator, asking to remember the device; the answer.
async fn verify_remembering(app: &TestApp, secret: &[u8], remember: bool) -> Value {
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    assert_eq!(r.body["status"], "two_step_required", "{}", r.text);
    let flow = r.body["flow"]["token"].as_str().unwrap().to_owned();
    let code = app.next_code(secret);
    let body = json!({ "method": "totp", "code": code, "remember_device": remember });
    let v = app.post("/api/v1/login/verify", Some(&flow), body).await;
    assert_eq!(v.status, 200, "{}", v.text);
    v.body
}

async fn login_with_device(app: &TestApp, password: &str, device: &str) -> crate::support::Response {
    let body = json!({ "organization": "acme", "username": "maria", "password": password, "client": "web", "device_token": device });
    app.post("/api/v1/login", None, body).await
}

/// SPEC §14, remember this device.
async fn a_remembered_device_skips_the_second_step_but_never_the_password(app: TestApp) {
    let admin = app.acme(true).await;
    let maria = app.session("acme", "maria").await;
    let (secret, _) = app.enroll_totp(&maria).await;
    // Off by default: no token.
    assert!(verify_remembering(&app, &secret, true).await["device_token"].is_null());
    let r = app.put("/api/v1/admin/two-step/remember-device", Some(&admin), json!({ "days": 30 })).await;
    assert_eq!((r.status, &r.body["remember_device_days"]), (200, &json!(30)), "{}", r.text);
    let v = verify_remembering(&app, &secret, true).await;
    let device = v["device_token"].as_str().expect("a device token").to_owned();
    assert!(verify_remembering(&app, &secret, false).await.get("device_token").is_none());

    let r = login_with_device(&app, PASSWORD, &device).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((&r.body["status"], &r.body["two_step_verified"]), (&json!("authenticated"), &json!(true)));
    assert_eq!(r.body["two_step_via"], "remembered_device");
    let session = r.body["session"]["token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/session", Some(&session)).await.body["two_step_verified"], true);
    // The password is still checked, and the token is bound to its account.
    let r = login_with_device(&app, "wrong password", &device).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_credentials"));
    let r = login_with_device(&app, PASSWORD, "not-a-device").await;
    assert_eq!(r.body["status"], "two_step_required");

    // Listed, counted, and forgotten on request.
    let devices = app.get("/api/v1/me/devices", Some(&session)).await.body["devices"].clone();
    assert_eq!(devices.as_array().unwrap().len(), 1, "{devices}");
    assert_eq!(report_row(&app, &admin, "maria").await["remembered_devices"], 1);
    let id = devices[0]["id"].as_i64().unwrap();
    assert_eq!(app.delete(&format!("/api/v1/me/devices/{id}"), Some(&session)).await.status, 204);
    assert_eq!(app.delete(&format!("/api/v1/me/devices/{id}"), Some(&session)).await.status, 404);
    assert_eq!(login_with_device(&app, PASSWORD, &device).await.body["status"], "two_step_required");
    for days in [-1, 91] {
        let r = app.put("/api/v1/admin/two-step/remember-device", Some(&admin), json!({ "days": days })).await;
        assert_eq!((r.status, r.error_code()), (400, "invalid_request"));
    }
}

async fn remembered_devices_are_forgotten_when_the_setting_is_lowered_on_reset_and_at_expiry(app: TestApp) {
    let admin = app.acme(true).await;
    let maria = app.session("acme", "maria").await;
    let (secret, _) = app.enroll_totp(&maria).await;
    app.put("/api/v1/admin/two-step/remember-device", Some(&admin), json!({ "days": 30 })).await;
    let remember = |secret: Vec<u8>| {
        let app = &app;
        async move { verify_remembering(app, &secret, true).await["device_token"].as_str().unwrap().to_owned() }
    };
    // Lowered: forgotten.
    let device = remember(secret.clone()).await;
    app.put("/api/v1/admin/two-step/remember-device", Some(&admin), json!({ "days": 7 })).await;
    assert_eq!(login_with_device(&app, PASSWORD, &device).await.body["status"], "two_step_required");
    // Expired after its 7 days.
    let device = remember(secret.clone()).await;
    app.clock.advance(7 * DAY + 1);
    assert_eq!(login_with_device(&app, PASSWORD, &device).await.body["status"], "two_step_required");
    let purged = twostep_server::service::purge::run(&app.state).await.unwrap();
    assert!(purged.requests_and_devices >= 1, "the expired device row is purged: {purged:?}");
    // An admin reset of the user's 2SV forgets them too.
    let device = remember(secret.clone()).await;
    assert_eq!(report_row(&app, &admin, "maria").await["remembered_devices"], 1);
    let admin = app.session("acme", "boss").await;
    assert_eq!(app.delete("/api/v1/admin/users/maria/two-step", Some(&admin)).await.status, 204);
    assert_eq!(report_row(&app, &admin, "maria").await["remembered_devices"], 0);
    // The device no longer vouches for anything: without a method maria signs in with
    // her password alone, and nothing says a second step was passed.
    let r = login_with_device(&app, PASSWORD, &device).await;
    assert_eq!(
        (&r.body["status"], &r.body["two_step_verified"]),
        (&json!("authenticated"), &json!(false)),
        "{}",
        r.text
    );
    assert!(r.body.get("two_step_via").is_none());
}
