//! SPEC §12: passwords, own password change, user administration, setup links and
//! temporary access codes — on SQLite and PostgreSQL.

use crate::both;
use crate::support::{PASSWORD, Response, TestApp};
use reqwest::Method;
use serde_json::{Value, json};
use twostep_core::credential::totp;

const NEW_PASSWORD: &str = "violet tangerine orbit 42";

async fn patch(app: &TestApp, path: &str, token: &str, body: Value) -> Response {
    app.call(Method::PATCH, path, Some(token), Some(body)).await
}

fn reasons(r: &Response) -> Vec<String> {
    r.body["error"]["reasons"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap().to_owned()).collect()
}

async fn change_own_password_ends_other_sessions_and_checks_the_rules(app: TestApp) {
    app.acme(false).await;
    let mine = app.session("acme", "maria").await;
    let other = app.session("acme", "maria").await;
    let weak = app
        .post("/api/v1/me/password", Some(&mine), json!({ "current_password": PASSWORD, "new_password": "password1" }))
        .await;
    assert_eq!(weak.status, 422, "{}", weak.body);
    assert_eq!(weak.error_code(), "weak_password");
    assert_eq!(reasons(&weak), ["common"]);
    let inside = app
        .post("/api/v1/me/password", Some(&mine), json!({ "current_password": PASSWORD, "new_password": "Maria@acme" }))
        .await;
    assert_eq!(reasons(&inside), ["contains_username", "contains_organization"]);
    let wrong = app
        .post(
            "/api/v1/me/password",
            Some(&mine),
            json!({ "current_password": "nope nope", "new_password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.error_code(), "invalid_credentials");
    let ok = app
        .post("/api/v1/me/password", Some(&mine), json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD }))
        .await;
    assert_eq!(ok.status, 204, "{}", ok.body);
    assert_eq!(app.get("/api/v1/session", Some(&mine)).await.status, 200);
    assert_eq!(app.get("/api/v1/session", Some(&other)).await.error_code(), "session_invalid");
    assert_eq!(app.login("acme", "maria", PASSWORD, "web").await.status, 401);
    assert_eq!(app.login("acme", "maria", NEW_PASSWORD, "web").await.status, 200);
    let events = app.events("acme").await;
    assert!(events.iter().any(|e| e.event.kind == "password.changed" && e.event.subject.as_deref() == Some("maria")));
}

async fn wrong_current_passwords_are_throttled(app: TestApp) {
    app.acme(false).await;
    let mine = app.session("acme", "maria").await;
    let mut last = 0;
    for _ in 0..11 {
        last = app
            .post(
                "/api/v1/me/password",
                Some(&mine),
                json!({ "current_password": "wrong one", "new_password": NEW_PASSWORD }),
            )
            .await
            .status;
    }
    assert_eq!(last, 429);
}

async fn own_password_change_needs_a_recent_second_step_when_two_step_applies(app: TestApp) {
    app.acme(true).await;
    let mine = app.session("acme", "maria").await;
    app.enroll_totp(&mine).await;
    app.clock.advance(16 * 60);
    let r = app
        .post("/api/v1/me/password", Some(&mine), json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD }))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.error_code(), "step_up_required");
}

async fn create(app: &TestApp, admin: &str, body: Value) -> Response {
    app.post("/api/v1/admin/users", Some(admin), body).await
}

fn token_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_owned()
}

async fn an_admin_creates_a_user_who_chooses_a_password_on_the_setup_link(app: TestApp) {
    let admin = app.acme(false).await;
    let r = create(
        &app,
        &admin,
        json!({ "username": "Joao", "profile": "technician", "email": "joao@example.com", "display_name": "João" }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.body["user"]["username"], "Joao");
    assert_eq!(r.body["user"]["display_name"], "João");
    assert_eq!(r.body["user"]["email"], "joao@example.com");
    assert_eq!(r.body["user"]["disabled"], false);
    let url = r.body["setup_link"]["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{}/setup/", app.state.config.public_url)), "{url}");
    let token = token_of(&url);
    assert!(token.len() >= 16);

    // Usernames compare after NFKC and case folding (SPEC §11.9), also for new accounts.
    let r = create(&app, &admin, json!({ "username": "Straße", "profile": "technician" })).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(patch(&app, "/api/v1/admin/users/STRASSE", &admin, json!({ "display_name": "S" })).await.status, 200);
    assert_eq!(create(&app, &admin, json!({ "username": "strasse", "profile": "technician" })).await.status, 409);
    let dup = create(&app, &admin, json!({ "username": "JOAO", "profile": "technician" })).await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.error_code(), "conflict");
    let nope = create(&app, &admin, json!({ "username": "ana", "profile": "astronaut" })).await;
    assert_eq!(nope.status, 404);
    assert_eq!(nope.error_code(), "not_found");
    for body in [
        json!({ "username": "has space", "profile": "technician" }),
        json!({ "username": "ana", "profile": "technician", "email": "not an address" }),
        json!({ "username": "ana", "kind": "robot", "profile": "technician" }),
        json!({ "username": "ana" }),
        json!({ "username": "ana", "kind": "contact", "profile": "technician" }),
    ] {
        let bad = create(&app, &admin, body.clone()).await;
        assert_eq!(bad.status, 422, "{body}: {}", bad.body);
        assert_eq!(bad.error_code(), "invalid_request");
    }
    let malformed = create(&app, &admin, json!({ "username": 7 })).await;
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.error_code(), "invalid_request");
    let bad_phone = create(&app, &admin, json!({ "username": "ana", "profile": "technician", "phone": "12" })).await;
    assert_eq!(bad_phone.error_code(), "invalid_phone");
    let maria = app.session("acme", "maria").await;
    assert_eq!(
        create(&app, &maria, json!({ "username": "x", "profile": "technician" })).await.error_code(),
        "forbidden"
    );

    let weak = app.post(&format!("/api/v1/setup/{token}"), None, json!({ "password": "12345678" })).await;
    assert_eq!(weak.status, 422);
    assert_eq!(weak.error_code(), "weak_password");
    let done = app.post(&format!("/api/v1/setup/{token}"), None, json!({ "password": NEW_PASSWORD })).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["status"], "authenticated");
    let again = app.post(&format!("/api/v1/setup/{token}"), None, json!({ "password": NEW_PASSWORD })).await;
    assert_eq!(again.status, 410);
    assert_eq!(again.error_code(), "link_expired");
    assert_eq!(app.login("acme", "joao", NEW_PASSWORD, "web").await.status, 200);
    let events = app.events("acme").await;
    assert!(events.iter().any(|e| e.event.kind == "admin.user_created"
        && e.event.actor.as_deref() == Some("boss")
        && e.event.subject.as_deref() == Some("Joao")));
    for e in &events {
        assert!(!format!("{:?}", e.event).contains(&token), "the link reached the audit");
    }
}

async fn a_setup_link_expires_and_leads_into_enrollment_when_mandatory(app: TestApp) {
    let admin = app.acme(true).await;
    assert_eq!(
        app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await.status,
        200
    );
    let r = create(&app, &admin, json!({ "username": "ana", "profile": "technician" })).await;
    let old = token_of(r.body["setup_link"]["url"].as_str().unwrap());
    app.clock.advance(73 * 3600);
    let expired = app.post(&format!("/api/v1/setup/{old}"), None, json!({ "password": NEW_PASSWORD })).await;
    assert_eq!(expired.status, 410);
    let admin = app.session("acme", "boss").await;
    let r = app.post("/api/v1/admin/users/ana/password-reset", Some(&admin), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = token_of(r.body["setup_link"]["url"].as_str().unwrap());
    let done = app.post(&format!("/api/v1/setup/{token}"), None, json!({ "password": NEW_PASSWORD })).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["status"], "two_step_enrollment_required");
    assert_eq!(done.body["access_code_required"], false);
}

async fn disabling_a_user_ends_every_session_and_sign_in_answers_account_disabled(app: TestApp) {
    let admin = app.acme(false).await;
    let maria = app.session("acme", "maria").await;
    let r = patch(&app, "/api/v1/admin/users/MARIA", &admin, json!({ "disabled": true })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user"]["disabled"], true);
    assert_eq!(app.get("/api/v1/session", Some(&maria)).await.error_code(), "session_invalid");
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.error_code(), "account_disabled");
    assert_eq!(app.login("acme", "maria", "wrong password", "web").await.error_code(), "invalid_credentials");
    let r =
        patch(&app, "/api/v1/admin/users/maria", &admin, json!({ "disabled": false, "email": "m@example.com" })).await;
    assert_eq!(r.body["user"]["disabled"], false);
    assert_eq!(r.body["user"]["email"], "m@example.com");
    assert_eq!(app.login("acme", "maria", PASSWORD, "web").await.status, 200);
    let r = patch(&app, "/api/v1/admin/users/maria", &admin, json!({ "email": null, "profile": "nope" })).await;
    assert_eq!(r.status, 404);
    let r = patch(&app, "/api/v1/admin/users/maria", &admin, json!({ "email": null })).await;
    assert_eq!(r.body["user"]["email"], Value::Null);
    let kinds: Vec<String> = app.events("acme").await.into_iter().map(|e| e.event.kind).collect();
    assert!(kinds.contains(&"admin.user_disabled".to_owned()) && kinds.contains(&"admin.user_enabled".to_owned()));
}

async fn deleting_a_user_keeps_the_name_in_the_audit(app: TestApp) {
    let admin = app.acme(false).await;
    assert_eq!(app.delete("/api/v1/admin/users/maria", Some(&admin)).await.status, 204);
    assert_eq!(app.delete("/api/v1/admin/users/maria", Some(&admin)).await.status, 404);
    assert_eq!(app.login("acme", "maria", PASSWORD, "web").await.status, 401);
    let events = app.events("acme").await;
    assert!(events.iter().any(|e| e.event.kind == "admin.user_deleted" && e.event.subject.as_deref() == Some("maria")));
    assert_eq!(app.delete("/api/v1/admin/users/boss", Some(&admin)).await.error_code(), "conflict");
}

async fn a_password_reset_kills_the_old_password_at_once(app: TestApp) {
    let admin = app.acme(false).await;
    let maria = app.session("acme", "maria").await;
    let r = app.post("/api/v1/admin/users/maria/password-reset", Some(&admin), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(app.get("/api/v1/session", Some(&maria)).await.status, 401);
    assert_eq!(app.login("acme", "maria", PASSWORD, "web").await.error_code(), "invalid_credentials");
}

async fn the_user_list_pages_searches_and_filters(app: TestApp) {
    let admin = app.acme(true).await;
    for i in 0..5 {
        app.account("acme", &format!("tech{i}"), Some("technician")).await;
    }
    let maria = app.session("acme", "maria").await;
    app.enroll_totp(&maria).await;
    let page = app.get("/api/v1/admin/users?limit=3", Some(&admin)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let names = |r: &Response| -> Vec<String> {
        r.body["users"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names(&page), ["boss", "guest", "maria"]);
    let next = page.body["next"].as_str().unwrap().to_owned();
    let page2 = app.get(&format!("/api/v1/admin/users?limit=3&after={next}"), Some(&admin)).await;
    assert_eq!(names(&page2), ["tech0", "tech1", "tech2"]);
    let last = app
        .get(&format!("/api/v1/admin/users?limit=3&after={}", page2.body["next"].as_str().unwrap()), Some(&admin))
        .await;
    assert_eq!(names(&last), ["tech3", "tech4"]);
    assert_eq!(last.body["next"], Value::Null);
    assert_eq!(names(&app.get("/api/v1/admin/users?query=TECH3", Some(&admin)).await), ["tech3"]);
    assert_eq!(names(&app.get("/api/v1/admin/users?two_step=enrolled", Some(&admin)).await), ["maria"]);
    assert_eq!(names(&app.get("/api/v1/admin/users?profile=admin", Some(&admin)).await), ["boss"]);
    let r = app.get("/api/v1/admin/users?profile=technician&two_step=required_not_enrolled", Some(&admin)).await;
    assert!(names(&r).is_empty());
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    let r = app.get("/api/v1/admin/users?two_step=required_not_enrolled", Some(&admin)).await;
    assert_eq!(names(&r), ["tech0", "tech1", "tech2", "tech3", "tech4"]);
    let user = &app.get("/api/v1/admin/users?query=maria", Some(&admin)).await.body["users"][0];
    for field in
        ["username", "display_name", "email", "kind", "profile", "disabled", "required", "methods", "last_sign_in_at"]
    {
        assert!(user.get(field).is_some(), "{field} missing: {user}");
    }
    assert_eq!(user["methods"], json!(["totp"]));
    assert!(user["last_sign_in_at"].is_string());
    for bad in ["two_step=maybe", "limit=0", "limit=x"] {
        let r = app.get(&format!("/api/v1/admin/users?{bad}"), Some(&admin)).await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.error_code(), "invalid_request");
    }
    assert_eq!(app.get("/api/v1/admin/users?profile=nope", Some(&admin)).await.status, 404);
}

async fn an_admin_of_another_organization_changes_nothing(app: TestApp) {
    app.acme(false).await;
    app.org("globex").await;
    app.profile("globex", "admin", true).await;
    app.account("globex", "hank", Some("admin")).await;
    let hank = app.session("globex", "hank").await;
    assert_eq!(patch(&app, "/api/v1/admin/users/maria", &hank, json!({ "disabled": true })).await.status, 404);
    assert_eq!(app.delete("/api/v1/admin/users/maria", Some(&hank)).await.status, 404);
    assert_eq!(app.post("/api/v1/admin/users/maria/password-reset", Some(&hank), json!({})).await.status, 404);
    assert_eq!(app.post("/api/v1/admin/users/maria/access-code", Some(&hank), json!({})).await.status, 404);
    let listed = app.get("/api/v1/admin/users", Some(&hank)).await;
    assert_eq!(listed.body["users"].as_array().unwrap().len(), 1);
    assert_eq!(app.login("acme", "maria", PASSWORD, "web").await.status, 200);
}

async fn weakening_user_actions_need_an_admin_who_reconfirmed(app: TestApp) {
    let admin = app.acme(true).await;
    app.enroll_totp(&admin).await;
    app.clock.advance(16 * 60);
    for (method, path, body) in [
        (Method::PATCH, "/api/v1/admin/users/maria", json!({ "disabled": true })),
        (Method::PATCH, "/api/v1/admin/users/maria", json!({ "profile": "admin" })),
        (Method::DELETE, "/api/v1/admin/users/maria", json!({})),
        (Method::POST, "/api/v1/admin/users/maria/password-reset", json!({})),
        (Method::POST, "/api/v1/admin/users/maria/access-code", json!({})),
    ] {
        let r = app.call(method.clone(), path, Some(&admin), Some(body)).await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
        assert_eq!(r.error_code(), "step_up_required");
    }
    // Harmless changes need no re-confirmation.
    let r = patch(&app, "/api/v1/admin/users/maria", &admin, json!({ "display_name": "Maria S." })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(app.login("acme", "maria", PASSWORD, "web").await.status, 200);
}

async fn after_a_reset_enrolling_again_needs_an_access_code(app: TestApp) {
    let admin = app.acme(true).await;
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    let flow = r.body["flow"]["token"].as_str().unwrap().to_owned();
    assert_eq!(r.body["access_code_required"], false);
    let start = app.post("/api/v1/me/two-step/totp", Some(&flow), json!({})).await;
    let secret =
        base32::decode(base32::Alphabet::Rfc4648 { padding: false }, start.body["secret"].as_str().unwrap()).unwrap();
    let code = totp::code_at(&secret, app.now());
    assert_eq!(app.post("/api/v1/me/two-step/totp/confirm", Some(&flow), json!({ "code": code })).await.status, 200);

    assert_eq!(app.delete("/api/v1/admin/users/maria/two-step", Some(&admin)).await.status, 204);
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    assert_eq!(r.body["status"], "two_step_enrollment_required");
    assert_eq!(r.body["access_code_required"], true);
    let flow = r.body["flow"]["token"].as_str().unwrap().to_owned();
    let refused = app.post("/api/v1/me/two-step/totp", Some(&flow), json!({})).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.error_code(), "access_code_required");
    let wrong = app.post("/api/v1/login/access-code", Some(&flow), json!({ "code": "AAAAA-AAAAA" })).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.error_code(), "invalid_code");

    let issued = app.post("/api/v1/admin/users/maria/access-code", Some(&admin), json!({})).await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    assert_eq!(issued.header("cache-control"), Some("no-store"));
    let code = issued.body["access_code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 11);
    assert!(code.chars().all(|c| c == '-' || "23456789ABCDEFGHJKMNPQRSTUVWXYZ".contains(c)), "{code}");
    let listed = app.get("/api/v1/admin/users?query=maria", Some(&admin)).await;
    assert_eq!(listed.body["users"][0]["access_code_required"], true);

    let ok = app
        .post("/api/v1/login/access-code", Some(&flow), json!({ "code": code.to_lowercase().replace('-', " ") }))
        .await;
    assert_eq!(ok.status, 204, "{}", ok.body);
    let start = app.post("/api/v1/me/two-step/totp", Some(&flow), json!({})).await;
    assert_eq!(start.status, 200, "{}", start.body);
    let secret =
        base32::decode(base32::Alphabet::Rfc4648 { padding: false }, start.body["secret"].as_str().unwrap()).unwrap();
    let code_now = app.next_code(&secret);
    let done = app.post("/api/v1/me/two-step/totp/confirm", Some(&flow), json!({ "code": code_now })).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["status"], "authenticated");

    // Single use: another flow cannot present it again.
    app.delete("/api/v1/admin/users/maria/two-step", Some(&app.session_verified_admin().await)).await;
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    let flow = r.body["flow"]["token"].as_str().unwrap().to_owned();
    let reused = app.post("/api/v1/login/access-code", Some(&flow), json!({ "code": code })).await;
    assert_eq!(reused.status, 401);
    for e in app.events("acme").await {
        assert!(!format!("{:?}", e.event).contains(&code), "the code reached the audit");
    }
}

async fn an_access_code_expires(app: TestApp) {
    let admin = app.acme(true).await;
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    let issued = app.post("/api/v1/admin/users/maria/access-code", Some(&admin), json!({})).await;
    let code = issued.body["access_code"].as_str().unwrap().to_owned();
    app.clock.advance(3601);
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    let flow = r.body["flow"]["token"].as_str().unwrap().to_owned();
    assert_eq!(app.post("/api/v1/login/access-code", Some(&flow), json!({ "code": code })).await.status, 401);
    // The purge task takes expired codes and used or expired setup links away.
    let r = app.post("/api/v1/admin/users/maria/password-reset", Some(&admin), json!({})).await;
    assert_eq!(r.status, 200);
    app.clock.advance(73 * 3600);
    let purged = twostep_server::service::purge::run(&app.state).await.unwrap();
    assert_eq!(purged.links_and_codes, 2, "{purged:?}");
}

impl TestApp {
    /// A fresh admin session (the admin `boss` has no method in these tests).
    async fn session_verified_admin(&self) -> String {
        self.session("acme", "boss").await
    }
}

both!(
    change_own_password_ends_other_sessions_and_checks_the_rules,
    wrong_current_passwords_are_throttled,
    own_password_change_needs_a_recent_second_step_when_two_step_applies,
    an_admin_creates_a_user_who_chooses_a_password_on_the_setup_link,
    a_setup_link_expires_and_leads_into_enrollment_when_mandatory,
    disabling_a_user_ends_every_session_and_sign_in_answers_account_disabled,
    deleting_a_user_keeps_the_name_in_the_audit,
    a_password_reset_kills_the_old_password_at_once,
    the_user_list_pages_searches_and_filters,
    an_admin_of_another_organization_changes_nothing,
    weakening_user_actions_need_an_admin_who_reconfirmed,
    after_a_reset_enrolling_again_needs_an_access_code,
    an_access_code_expires,
    a_session_after_a_reset_binds_nothing_without_an_access_code,
);

/// 2SV optional for the user: after a reset the password gives a session, but that
/// session binds nothing until it presents an access code.
async fn a_session_after_a_reset_binds_nothing_without_an_access_code(app: TestApp) {
    let admin = app.acme(true).await;
    let maria = app.session("acme", "maria").await;
    app.enroll_totp(&maria).await;
    assert_eq!(app.delete("/api/v1/admin/users/maria/two-step", Some(&admin)).await.status, 204);
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    assert_eq!(r.body["status"], "authenticated", "{}", r.body);
    let session = r.body["session"]["token"].as_str().unwrap().to_owned();
    for path in ["/api/v1/me/two-step/totp", "/api/v1/me/two-step/sms"] {
        let r = app.post(path, Some(&session), json!({ "phone": "+351912345678" })).await;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert_eq!(r.error_code(), "access_code_required");
    }
    let wrong = app.post("/api/v1/login/access-code", Some(&session), json!({ "code": "AAAAA-AAAAA" })).await;
    assert_eq!(wrong.status, 401);
    let issued = app.post("/api/v1/admin/users/maria/access-code", Some(&admin), json!({})).await;
    let code = issued.body["access_code"].as_str().unwrap().to_owned();
    assert_eq!(app.post("/api/v1/login/access-code", Some(&session), json!({ "code": code })).await.status, 204);
    app.enroll_totp(&session).await;
    let listed = app.get("/api/v1/admin/users?query=maria", Some(&admin)).await;
    assert_eq!(listed.body["users"][0]["access_code_required"], false);
    assert_eq!(app.post("/api/v1/login/access-code", None, json!({ "code": code })).await.error_code(), "flow_expired");
}
