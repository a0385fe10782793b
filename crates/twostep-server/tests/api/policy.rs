//! The 2SV add-on and its policy (issue 4; SPEC §3, §4, administration in §6).

use crate::both;
use crate::support::{PASSWORD, TestApp};
use serde_json::json;
use twostep_core::credential::totp;
use twostep_core::store::prelude::*;
use twostep_store::testing::Backend;

both!(
    the_add_on_moves_from_unavailable_to_connected_to_enabled_in_order,
    only_administrators_of_the_organisation_reach_administration,
    an_administrator_of_another_organisation_can_neither_read_nor_change_it,
    a_mandatory_profile_walks_its_users_through_enrollment_at_sign_in,
    an_enrollment_flow_can_only_enroll,
    the_whole_organisation_can_be_made_mandatory_including_later_profiles,
    apps_without_2sv_are_refused_only_when_2sv_applies,
    contacts_never_get_2sv_and_a_disabled_organisation_answers_409,
    disabling_2sv_keeps_enrollments_for_when_it_returns,
    the_last_method_of_a_mandatory_user_cannot_be_disabled,
    an_admin_reset_removes_methods_and_ends_sessions_at_once,
    the_report_lists_every_account_with_its_methods,
    the_audit_log_pages_newest_first_with_the_acting_admin,
);

// Sessions that outlive the 24 h grace, so the grace (not the TTL) is what ends them.
fn long_sessions(config: &mut twostep_server::config::Config) {
    config.session_ttl = std::time::Duration::from_secs(7 * 24 * 3600);
    config.session_idle_timeout = std::time::Duration::from_secs(7 * 24 * 3600);
}

crate::both_with!(super::long_sessions;
    enabling_2sv_with_mandatory_profiles_also_starts_the_grace,
    the_seed_story_runs_end_to_end,
);

async fn the_add_on_moves_from_unavailable_to_connected_to_enabled_in_order(app: TestApp) {
    app.org("acme").await;
    app.profile("acme", "admin", true).await;
    app.account("acme", "boss", Some("admin")).await;
    let admin = app.session("acme", "boss").await;
    let get = app.get("/api/v1/admin/two-step", Some(&admin)).await;
    assert_eq!(get.status, 200, "{}", get.text);
    assert_eq!(get.body["addon"], "unavailable");
    assert_eq!(get.body["enabled"], false);
    for path in ["connect", "enable", "disable"] {
        let r = app.post(&format!("/api/v1/admin/two-step/{path}"), Some(&admin), json!({})).await;
        assert_eq!((r.status, r.error_code()), (409, "addon_unavailable"), "{path}");
    }
    let r = app.put("/api/v1/admin/two-step/profiles/admin", Some(&admin), json!({ "mandatory": true })).await;
    assert_eq!((r.status, r.error_code()), (409, "addon_unavailable"));
    // The operator activates it.
    let org = app.store.org_by_slug("acme").await.unwrap().unwrap();
    app.store.set_addon_state(org.id, twostep_core::domain::AddonState::Available).await.unwrap();
    assert_eq!(app.get("/api/v1/admin/two-step", Some(&admin)).await.body["addon"], "available");
    let r = app.post("/api/v1/admin/two-step/enable", Some(&admin), json!({})).await;
    assert_eq!((r.status, r.error_code()), (409, "addon_not_connected"));
    let r = app.post("/api/v1/admin/two-step/connect", Some(&admin), json!({})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["addon"], "connected");
    assert_eq!(r.body["enabled"], false);
    let r = app.post("/api/v1/admin/two-step/enable", Some(&admin), json!({})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["enabled"], true);
    assert_eq!(r.body["mandatory_for_organization"], false);
    assert_eq!(
        r.body["profiles"],
        json!([{ "slug": "admin", "name": "admin", "mandatory": false, "users": 1, "enrolled": 0 }])
    );
    let r = app.post("/api/v1/admin/two-step/disable", Some(&admin), json!({})).await;
    assert_eq!(r.body["enabled"], false);
}

async fn only_administrators_of_the_organisation_reach_administration(app: TestApp) {
    app.acme(true).await;
    let maria = app.session("acme", "maria").await;
    let guest = app.session("acme", "guest").await;
    for token in [&maria, &guest] {
        for (method, path) in [
            (reqwest::Method::GET, "/api/v1/admin/two-step"),
            (reqwest::Method::POST, "/api/v1/admin/two-step/connect"),
            (reqwest::Method::POST, "/api/v1/admin/two-step/enable"),
            (reqwest::Method::POST, "/api/v1/admin/two-step/disable"),
            (reqwest::Method::GET, "/api/v1/admin/two-step/users"),
            (reqwest::Method::DELETE, "/api/v1/admin/users/boss/two-step"),
            (reqwest::Method::GET, "/api/v1/admin/audit"),
        ] {
            let r = app.call(method, path, Some(token), Some(json!({}))).await;
            assert_eq!((r.status, r.error_code()), (403, "forbidden"), "{path}");
        }
        let r = app.put("/api/v1/admin/two-step/organization", Some(token), json!({ "mandatory": true })).await;
        assert_eq!((r.status, r.error_code()), (403, "forbidden"));
        let r = app.put("/api/v1/admin/two-step/profiles/technician", Some(token), json!({ "mandatory": true })).await;
        assert_eq!((r.status, r.error_code()), (403, "forbidden"));
    }
    let r = app.get("/api/v1/admin/two-step", None).await;
    assert_eq!((r.status, r.error_code()), (401, "session_invalid"));
}

async fn an_administrator_of_another_organisation_can_neither_read_nor_change_it(app: TestApp) {
    app.acme(true).await;
    let maria = app.session("acme", "maria").await;
    app.enroll_totp(&maria).await;
    // Organisation B with its own administrator.
    app.org("globex").await;
    app.profile("globex", "admin", true).await;
    app.account("globex", "boss", Some("admin")).await;
    let org_b = app.store.org_by_slug("globex").await.unwrap().unwrap();
    app.store.set_addon_state(org_b.id, twostep_core::domain::AddonState::Available).await.unwrap();
    let b = app.session("globex", "boss").await;
    let state = app.get("/api/v1/admin/two-step", Some(&b)).await;
    assert_eq!(state.body["addon"], "available", "B sees its own add-on, not A's");
    assert_eq!(state.body["profiles"].as_array().unwrap().len(), 1);
    let users = app.get("/api/v1/admin/two-step/users", Some(&b)).await;
    let names: Vec<&str> =
        users.body["users"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["boss"]);
    let r = app.put("/api/v1/admin/two-step/profiles/technician", Some(&b), json!({ "mandatory": true })).await;
    assert_eq!((r.status, r.error_code()), (404, "not_found"));
    let r = app.delete("/api/v1/admin/users/maria/two-step", Some(&b)).await;
    assert_eq!((r.status, r.error_code()), (404, "not_found"));
    app.post("/api/v1/admin/two-step/connect", Some(&b), json!({})).await;
    app.put("/api/v1/admin/two-step/organization", Some(&b), json!({ "mandatory": true })).await;
    app.post("/api/v1/admin/two-step/disable", Some(&b), json!({})).await;
    let audit = app.get("/api/v1/admin/audit", Some(&b)).await;
    assert!(!audit.text.contains("maria"), "B read A's audit: {}", audit.text);
    // A is untouched: maria still has her method, 2SV still on, technician optional.
    assert_eq!(app.get("/api/v1/me/two-step", Some(&maria)).await.body["methods"][0]["type"], "totp");
    let org_a = app.store.org_by_slug("acme").await.unwrap().unwrap();
    assert!(org_a.two_step_in_force());
    assert!(!org_a.mandatory_for_organization);
    assert!(!app.store.profile_by_slug(org_a.id, "technician").await.unwrap().unwrap().mandatory);
}

async fn a_mandatory_profile_walks_its_users_through_enrollment_at_sign_in(app: TestApp) {
    let admin = app.acme(true).await;
    let r = app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let tech = r.body["profiles"].as_array().unwrap().iter().find(|p| p["slug"] == "technician").unwrap().clone();
    assert_eq!(tech["mandatory"], true);
    let r = app.put("/api/v1/admin/two-step/profiles/nope", Some(&admin), json!({ "mandatory": true })).await;
    assert_eq!((r.status, r.error_code()), (404, "not_found"));
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "two_step_enrollment_required");
    assert_eq!(r.body["methods_available"], json!(["totp", "sms"]));
    let flow = r.body["flow"]["token"].as_str().unwrap().to_owned();
    let me = app.get("/api/v1/me/two-step", Some(&flow)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["required"], true);
    let start = app.post("/api/v1/me/two-step/totp", Some(&flow), json!({})).await;
    assert_eq!(start.status, 200, "{}", start.text);
    let secret =
        base32::decode(base32::Alphabet::Rfc4648 { padding: false }, start.body["secret"].as_str().unwrap()).unwrap();
    let code = totp::code_at(&secret, app.now());
    let done = app.post("/api/v1/me/two-step/totp/confirm", Some(&flow), json!({ "code": code })).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["status"], "authenticated");
    assert_eq!(done.body["method"]["type"], "totp");
    assert_eq!(done.body["recovery_codes"].as_array().unwrap().len(), 10);
    let session = done.body["session"]["token"].as_str().unwrap();
    let s = app.get("/api/v1/session", Some(session)).await;
    assert_eq!(s.body["two_step_verified"], true);
    // The flow is spent; the next sign-in asks for a code.
    assert_eq!(app.get("/api/v1/me/two-step", Some(&flow)).await.status, 401);
    assert_eq!(app.login("acme", "maria", PASSWORD, "web").await.body["status"], "two_step_required");
    let report = app.get("/api/v1/admin/two-step", Some(&admin)).await;
    let tech = report.body["profiles"].as_array().unwrap().iter().find(|p| p["slug"] == "technician").unwrap().clone();
    assert_eq!((tech["users"].as_i64(), tech["enrolled"].as_i64()), (Some(1), Some(1)));
}

async fn an_enrollment_flow_can_only_enroll(app: TestApp) {
    let admin = app.acme(true).await;
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    let flow = app.login("acme", "maria", PASSWORD, "web").await.body["flow"]["token"].as_str().unwrap().to_owned();
    for path in ["/api/v1/session", "/api/v1/me/sessions", "/api/v1/admin/two-step"] {
        assert_eq!(app.get(path, Some(&flow)).await.status, 401, "{path}");
    }
    let r = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "totp", "code": "123456" })).await;
    assert_eq!((r.status, r.error_code()), (401, "flow_expired"));
    let r = app.post("/api/v1/logout", Some(&flow), json!({})).await;
    assert_eq!(r.status, 401);
    let r = app.post("/api/v1/me/two-step/recovery-codes", Some(&flow), json!({})).await;
    assert_eq!((r.status, r.error_code()), (403, "step_up_required"));
    // Five wrong confirmation codes end the flow.
    app.post("/api/v1/me/two-step/totp", Some(&flow), json!({})).await;
    for remaining in (0..5).rev() {
        let r = app.post("/api/v1/me/two-step/totp/confirm", Some(&flow), json!({ "code": "abcdef" })).await;
        assert_eq!((r.status, r.error_code()), (401, "invalid_code"));
        assert_eq!(r.body["error"]["attempts_remaining"], remaining);
    }
    assert_eq!(app.get("/api/v1/me/two-step", Some(&flow)).await.status, 401);
}

async fn the_whole_organisation_can_be_made_mandatory_including_later_profiles(app: TestApp) {
    let admin = app.acme(true).await;
    let r = app.put("/api/v1/admin/two-step/organization", Some(&admin), json!({ "mandatory": true })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["mandatory_for_organization"], true);
    assert!(r.body["profiles"].as_array().unwrap().iter().all(|p| p["mandatory"] == true));
    // A profile created later (as `twostep profile create` does) is mandatory too.
    app.profile("acme", "manager", false).await;
    let r = app.get("/api/v1/admin/two-step", Some(&admin)).await;
    let manager = r.body["profiles"].as_array().unwrap().iter().find(|p| p["slug"] == "manager").unwrap().clone();
    assert_eq!(manager["mandatory"], true);
    assert_eq!(app.login("acme", "boss", PASSWORD, "web").await.body["status"], "two_step_enrollment_required");
    let r = app.put("/api/v1/admin/two-step/organization", Some(&admin), json!({ "mandatory": false })).await;
    assert_eq!(r.body["mandatory_for_organization"], false);
    assert!(r.body["profiles"].as_array().unwrap().iter().all(|p| p["mandatory"] == false));
    let r = app.put("/api/v1/admin/two-step/organization", Some(&admin), json!({ "mandatory": "yes" })).await;
    assert_eq!((r.status, r.error_code()), (400, "invalid_request"));
}

async fn apps_without_2sv_are_refused_only_when_2sv_applies(app: TestApp) {
    let admin = app.acme(true).await;
    // Optional user without a method: any app.
    assert_eq!(app.login("acme", "maria", PASSWORD, "technician-app").await.body["status"], "authenticated");
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    let org = app.store.org_by_slug("acme").await.unwrap().unwrap();
    let before = app.store.account_by_username(org.id, "maria").await.unwrap().map(|a| a.id);
    for client in ["technician-app", "next-app", "direct"] {
        let r = app.login("acme", "maria", PASSWORD, client).await;
        assert_eq!((r.status, r.error_code()), (403, "two_step_unsupported_client"), "{client}");
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains("does not support 2-Step Verification yet"), "{message}");
    }
    if let Some(id) = before {
        // No session or flow came of it: only the earlier session exists.
        assert_eq!(app.store.sessions_of_account(id, app.now()).await.unwrap().len(), 1);
    }
    // Wrong password from an unsupported app is still just wrong credentials.
    let r = app.login("acme", "maria", "bad password!", "technician-app").await;
    assert_eq!(r.error_code(), "invalid_credentials");
    // An opted-in optional user is refused too, so the old app is no bypass.
    let boss = app.session("acme", "boss").await;
    app.enroll_totp(&boss).await;
    let r = app.login("acme", "boss", PASSWORD, "technician-app").await;
    assert_eq!((r.status, r.error_code()), (403, "two_step_unsupported_client"));
    // Contacts are never asked, so any app works.
    assert_eq!(app.login("acme", "guest", PASSWORD, "technician-app").await.body["status"], "authenticated");
    assert_eq!(app.login("acme", "maria", PASSWORD, "api").await.body["status"], "two_step_enrollment_required");
}

async fn contacts_never_get_2sv_and_a_disabled_organisation_answers_409(app: TestApp) {
    let admin = app.acme(true).await;
    app.put("/api/v1/admin/two-step/organization", Some(&admin), json!({ "mandatory": true })).await;
    let r = app.login("acme", "guest", PASSWORD, "web").await;
    assert_eq!(r.body["status"], "authenticated", "a contact was asked for 2SV");
    let guest = r.body["session"]["token"].as_str().unwrap().to_owned();
    for (method, path) in [
        (reqwest::Method::GET, "/api/v1/me/two-step"),
        (reqwest::Method::POST, "/api/v1/me/two-step/totp"),
        (reqwest::Method::POST, "/api/v1/me/two-step/totp/confirm"),
        (reqwest::Method::DELETE, "/api/v1/me/two-step/totp"),
        (reqwest::Method::POST, "/api/v1/me/two-step/sms"),
        (reqwest::Method::POST, "/api/v1/me/two-step/sms/confirm"),
        (reqwest::Method::DELETE, "/api/v1/me/two-step/sms"),
        (reqwest::Method::POST, "/api/v1/me/two-step/recovery-codes"),
    ] {
        let body = json!({ "code": "123456", "phone": "+351912345678" });
        let r = app.call(method, path, Some(&guest), Some(body)).await;
        assert_eq!((r.status, r.error_code()), (403, "two_step_not_available"), "{path}");
    }
    app.post("/api/v1/admin/two-step/disable", Some(&admin), json!({})).await;
    let maria = app.session("acme", "maria").await;
    for (method, path) in [
        (reqwest::Method::GET, "/api/v1/me/two-step"),
        (reqwest::Method::POST, "/api/v1/me/two-step/totp"),
        (reqwest::Method::POST, "/api/v1/me/two-step/sms"),
    ] {
        let r = app.call(method, path, Some(&maria), Some(json!({ "phone": "+351912345678" }))).await;
        assert_eq!((r.status, r.error_code()), (409, "two_step_disabled"), "{path}");
    }
    let users = app.get("/api/v1/admin/two-step/users", Some(&admin)).await;
    let guest_row = users.body["users"].as_array().unwrap().iter().find(|u| u["username"] == "guest").unwrap().clone();
    assert_eq!(guest_row["kind"], "contact");
    assert_eq!(guest_row["required"], false);
    assert_eq!(guest_row["methods"], json!([]));
}

async fn disabling_2sv_keeps_enrollments_for_when_it_returns(app: TestApp) {
    let admin = app.acme(true).await;
    let maria = app.session("acme", "maria").await;
    let (secret, _) = app.enroll_totp(&maria).await;
    assert_eq!(app.login("acme", "maria", PASSWORD, "web").await.body["status"], "two_step_required");
    app.post("/api/v1/admin/two-step/disable", Some(&admin), json!({})).await;
    assert_eq!(app.login("acme", "maria", PASSWORD, "web").await.body["status"], "authenticated");
    assert_eq!(app.login("acme", "maria", PASSWORD, "technician-app").await.body["status"], "authenticated");
    app.post("/api/v1/admin/two-step/enable", Some(&admin), json!({})).await;
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    assert_eq!(r.body["status"], "two_step_required");
    let flow = r.body["flow"]["token"].as_str().unwrap();
    let code = app.next_code(&secret);
    let v = app.post("/api/v1/login/verify", Some(flow), json!({ "method": "totp", "code": code })).await;
    assert_eq!(v.status, 200, "the kept method no longer works: {}", v.text);
}

async fn enabling_2sv_with_mandatory_profiles_also_starts_the_grace(app: TestApp) {
    let admin = app.acme(true).await;
    app.post("/api/v1/admin/two-step/disable", Some(&admin), json!({})).await;
    let maria = app.session("acme", "maria").await;
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    // 2SV is off: nothing is revoked yet.
    app.clock.advance(25 * 3600);
    assert_eq!(app.get("/api/v1/session", Some(&maria)).await.status, 200);
    app.post("/api/v1/admin/two-step/enable", Some(&admin), json!({})).await;
    let s = app.get("/api/v1/session", Some(&maria)).await;
    assert_eq!(s.status, 200);
    assert!(s.body["revoke_at"].is_string(), "{}", s.text);
    app.clock.advance(24 * 3600);
    let s = app.get("/api/v1/session", Some(&maria)).await;
    assert_eq!((s.status, s.error_code()), (401, "session_revoked"));
}

async fn the_last_method_of_a_mandatory_user_cannot_be_disabled(app: TestApp) {
    let admin = app.acme(true).await;
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    let flow = app.login("acme", "maria", PASSWORD, "web").await.body["flow"]["token"].as_str().unwrap().to_owned();
    let start = app.post("/api/v1/me/two-step/totp", Some(&flow), json!({})).await;
    let secret =
        base32::decode(base32::Alphabet::Rfc4648 { padding: false }, start.body["secret"].as_str().unwrap()).unwrap();
    let done = app
        .post("/api/v1/me/two-step/totp/confirm", Some(&flow), json!({ "code": totp::code_at(&secret, app.now()) }))
        .await;
    let session = done.body["session"]["token"].as_str().unwrap();
    let r = app.delete("/api/v1/me/two-step/totp", Some(session)).await;
    assert_eq!((r.status, r.error_code()), (409, "method_required"));
    assert_eq!(app.get("/api/v1/me/two-step", Some(session)).await.body["methods"][0]["type"], "totp");
}

async fn an_admin_reset_removes_methods_and_ends_sessions_at_once(app: TestApp) {
    let admin = app.acme(true).await;
    let maria = app.session("acme", "maria").await;
    app.enroll_totp(&maria).await;
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    let r = app.delete("/api/v1/admin/users/MARIA/two-step", Some(&admin)).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let s = app.get("/api/v1/session", Some(&maria)).await;
    assert_eq!((s.status, s.error_code()), (401, "session_invalid"));
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    assert_eq!(r.body["status"], "two_step_enrollment_required", "{}", r.text);
    let users = app.get("/api/v1/admin/two-step/users", Some(&admin)).await;
    let row = users.body["users"].as_array().unwrap().iter().find(|u| u["username"] == "maria").unwrap().clone();
    assert_eq!(row["methods"], json!([]));
    assert_eq!(row["required"], true);
    let r = app.delete("/api/v1/admin/users/nobody/two-step", Some(&admin)).await;
    assert_eq!((r.status, r.error_code()), (404, "not_found"));
    let reset = app.events("acme").await.into_iter().find(|e| e.event.kind == "admin.two_step_reset").unwrap();
    assert_eq!(reset.event.actor.as_deref(), Some("boss"));
    assert_eq!(reset.event.subject.as_deref(), Some("maria"));
}

async fn the_report_lists_every_account_with_its_methods(app: TestApp) {
    let admin = app.acme(true).await;
    let maria = app.session("acme", "maria").await;
    app.enroll_totp(&maria).await;
    let r = app.get("/api/v1/admin/two-step/users", Some(&admin)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let users = r.body["users"].as_array().unwrap();
    assert_eq!(users.len(), 3);
    let maria = users.iter().find(|u| u["username"] == "maria").unwrap();
    assert_eq!(maria["profile"], "technician");
    assert_eq!(maria["kind"], "user");
    assert_eq!(maria["required"], false);
    assert_eq!(maria["methods"], json!(["totp"]));
    assert!(maria["last_two_step_at"].is_string());
    let boss = users.iter().find(|u| u["username"] == "boss").unwrap();
    assert_eq!(boss["methods"], json!([]));
    assert!(boss["last_two_step_at"].is_null());
}

async fn the_audit_log_pages_newest_first_with_the_acting_admin(app: TestApp) {
    let admin = app.acme(true).await;
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": false })).await;
    let r = app.get("/api/v1/admin/audit?limit=2", Some(&admin)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let events = r.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["type"], "policy.profile_mandatory");
    assert_eq!(events[0]["actor"], "boss");
    assert_eq!(events[0]["outcome"], "technician=optional");
    assert_eq!(events[1]["outcome"], "technician=mandatory");
    assert!(events[0]["at"].as_str().unwrap().ends_with('Z'));
    for key in ["at", "type", "actor", "subject", "client", "ip", "outcome"] {
        assert!(events[0].get(key).is_some(), "{key} missing");
    }
    let before = events[1]["id"].as_i64().unwrap();
    let next = app.get(&format!("/api/v1/admin/audit?limit=100&before={before}"), Some(&admin)).await;
    let next_events = next.body["events"].as_array().unwrap();
    assert!(next_events.iter().all(|e| e["id"].as_i64().unwrap() < before));
    assert!(next_events.iter().any(|e| e["type"] == "policy.two_step_enabled"));
    assert!(!next.text.contains(&admin), "a token reached the audit log");
    for bad in ["limit=0", "limit=101", "limit=x", "before=yesterday"] {
        let r = app.get(&format!("/api/v1/admin/audit?{bad}"), Some(&admin)).await;
        assert_eq!((r.status, r.error_code()), (400, "invalid_request"), "{bad}");
    }
}

async fn the_seed_story_runs_end_to_end(app: TestApp) {
    // The demo organisation, as `twostep serve --demo` seeds it.
    let accounts = twostep_server::demo::seed(&app.state).await.unwrap().unwrap();
    let password = |name: &str| accounts.iter().find(|a| a.username == name).unwrap().password.clone();
    let login = |name: &'static str, client: &'static str| {
        let pw = password(name);
        let app = &app;
        async move { app.login("demo", name, &pw, client).await }
    };
    // A technician has been working in the web app since before 2SV.
    let old = login("ana", "web").await;
    assert_eq!(old.body["status"], "authenticated");
    let old_session = old.body["session"]["token"].as_str().unwrap().to_owned();
    // The administrator connects the add-on, enables 2SV and makes Technician mandatory.
    let admin = login("admin", "web").await.body["session"]["token"].as_str().unwrap().to_owned();
    assert_eq!(app.post("/api/v1/admin/two-step/connect", Some(&admin), json!({})).await.status, 200);
    assert_eq!(app.post("/api/v1/admin/two-step/enable", Some(&admin), json!({})).await.status, 200);
    let r = app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    assert_eq!(r.status, 200);
    // The old session lives through the grace period, then ends.
    app.clock.advance(23 * 3600);
    assert_eq!(app.get("/api/v1/session", Some(&old_session)).await.status, 200);
    app.clock.advance(3600);
    let s = app.get("/api/v1/session", Some(&old_session)).await;
    assert_eq!((s.status, s.error_code()), (401, "session_revoked"));
    // The technician app is refused with a clear message.
    let r = login("ana", "technician-app").await;
    assert_eq!((r.status, r.error_code()), (403, "two_step_unsupported_client"));
    // At the next web sign-in, Ana is walked through enrollment.
    let r = login("ana", "web").await;
    assert_eq!(r.body["status"], "two_step_enrollment_required");
    let flow = r.body["flow"]["token"].as_str().unwrap().to_owned();
    let start = app.post("/api/v1/me/two-step/totp", Some(&flow), json!({})).await;
    let secret =
        base32::decode(base32::Alphabet::Rfc4648 { padding: false }, start.body["secret"].as_str().unwrap()).unwrap();
    let done = app
        .post("/api/v1/me/two-step/totp/confirm", Some(&flow), json!({ "code": totp::code_at(&secret, app.now()) }))
        .await;
    assert_eq!(done.body["status"], "authenticated", "{}", done.text);
    // And from then on signs in with a code.
    let r = login("ana", "web").await;
    assert_eq!(r.body["status"], "two_step_required");
    let code = app.next_code(&secret);
    let v = app
        .post(
            "/api/v1/login/verify",
            Some(r.body["flow"]["token"].as_str().unwrap()),
            json!({ "method": "totp", "code": code }),
        )
        .await;
    assert_eq!(v.body["two_step_verified"], true);
    // The contact is never asked.
    assert_eq!(login("contact", "technician-app").await.body["status"], "authenticated");
}

/// The grace over HTTP with a short `mandatory_session_grace`, as an operator would set it.
mod grace {
    use super::*;

    async fn run(backend: Backend) {
        let Some(app) =
            TestApp::spawn_with(backend, |c| c.mandatory_session_grace = std::time::Duration::from_secs(3)).await
        else {
            return;
        };
        let admin = app.acme(true).await;
        let maria = app.session("acme", "maria").await;
        let other = app.session("acme", "maria").await;
        let (secret, _) = app.enroll_totp(&other).await;
        // A session that passed 2SV.
        let flow = app.login("acme", "maria", PASSWORD, "web").await.body["flow"]["token"].as_str().unwrap().to_owned();
        let code = app.next_code(&secret);
        let verified = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "totp", "code": code })).await;
        let verified = verified.body["session"]["token"].as_str().unwrap().to_owned();
        app.put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
        app.clock.advance(2);
        assert_eq!(app.get("/api/v1/session", Some(&maria)).await.status, 200);
        app.clock.advance(2);
        let s = app.get("/api/v1/session", Some(&maria)).await;
        assert_eq!((s.status, s.error_code()), (401, "session_revoked"));
        let r = app.get("/api/v1/me/two-step", Some(&maria)).await;
        assert_eq!((r.status, r.error_code()), (401, "session_revoked"), "every API answers session_revoked");
        assert_eq!(app.get("/api/v1/session", Some(&verified)).await.status, 200, "a 2SV session was revoked");
        // Optional again before the grace ends: the pending revocation is lifted.
        let fresh = app.session("acme", "boss").await;
        app.put("/api/v1/admin/two-step/organization", Some(&admin), json!({ "mandatory": true })).await;
        app.put("/api/v1/admin/two-step/organization", Some(&admin), json!({ "mandatory": false })).await;
        app.clock.advance(10);
        assert_eq!(app.get("/api/v1/session", Some(&fresh)).await.status, 200);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_grace_of_three_seconds() {
        run(Backend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_grace_of_three_seconds() {
        run(Backend::Postgres).await
    }
}
