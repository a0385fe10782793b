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

    // After the deadline: both sessions end, and enrolling is forced.
    app.clock.advance(5 * DAY + 1);
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
