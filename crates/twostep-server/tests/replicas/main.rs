//! Several replicas on one PostgreSQL database (SPEC §9): every piece of state that must
//! hold across replicas lives in the database, so a request may land on any replica and
//! the limits stay exact under parallel load. Skipped (with a note) without
//! `TWOSTEP_TEST_POSTGRES_URL`.

#[path = "../common/mod.rs"]
mod common;
mod faults;
mod hardening;
mod rotation;
mod support;

use serde_json::json;
use std::sync::Arc;
use support::{Cluster, Response};

const PHONE: &str = "+351 912 345 678";
const E164: &str = "+351912345678";

/// A six-digit code that is not `code`.
fn wrong(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

/// Sends every `(replica index, path, token, body)` request at once; the answers in order.
async fn all_at_once(
    cluster: &Arc<Cluster>,
    requests: Vec<(usize, String, String, serde_json::Value)>,
) -> Vec<Response> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(i, path, token, body)| {
            let cluster = cluster.clone();
            tokio::spawn(async move { cluster.nth(i).post(&path, Some(&token), body).await })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_asked_for_on_one_replica_is_verified_on_the_other() {
    let Some(c) = Cluster::start().await else { return };
    c.acme().await;
    let maria = c.a().session("maria").await;
    // Enrollment started on A is confirmed on B.
    let (secret, _) = c.enroll_totp(&maria, c.a(), c.b()).await;
    let flow = c.a().flow("maria").await;
    let r = c.b().verify(&flow, "totp", &c.next_code(&secret)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let session = r.body["session"]["token"].as_str().unwrap().to_owned();
    for replica in &c.replicas {
        let s = replica.get("/api/v1/session", Some(&session)).await;
        assert_eq!(s.status, 200, "replica {}: {}", replica.name, s.text);
        assert_eq!(s.body["two_step_verified"], true);
    }
    // A text message asked for on B is verified on A.
    c.at_top_of_hour();
    let boss = c.b().session("boss").await;
    assert_eq!(c.b().post("/api/v1/me/two-step/sms", Some(&boss), json!({ "phone": PHONE })).await.status, 202);
    let code = c.b().last_sms_code(E164);
    let r = c.a().post("/api/v1/me/two-step/sms/confirm", Some(&boss), json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let flow = c.b().flow("boss").await;
    assert_eq!(c.b().post("/api/v1/login/sms", Some(&flow), json!({})).await.status, 202);
    let r = c.a().verify(&flow, "sms", &c.b().last_sms_code(E164)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["two_step_verified"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_logout_on_one_replica_ends_the_session_on_the_other_at_the_next_request() {
    let Some(c) = Cluster::start().await else { return };
    c.acme().await;
    let maria = c.a().session("maria").await;
    assert_eq!(c.b().get("/api/v1/session", Some(&maria)).await.status, 200);
    assert_eq!(c.a().post("/api/v1/logout", Some(&maria), json!({})).await.status, 204);
    let s = c.b().get("/api/v1/session", Some(&maria)).await;
    assert_eq!((s.status, s.error_code()), (401, "session_invalid"));
    // Ending one of one's own sessions from the other replica works the same way.
    let first = c.b().session("maria").await;
    let second = c.b().session("maria").await;
    let listed = c.a().get("/api/v1/me/sessions", Some(&second)).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let sessions = listed.body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{}", listed.text);
    let other = sessions.iter().find(|s| s["current"] != true).unwrap()["id"].as_i64().unwrap();
    let path = format!("/api/v1/me/sessions/{other}");
    assert_eq!(c.a().delete(&path, Some(&second)).await.status, 204);
    assert_eq!(c.b().get("/api/v1/session", Some(&first)).await.status, 401);
    assert_eq!(c.b().get("/api/v1/session", Some(&second)).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revocation_decided_on_one_replica_takes_effect_on_the_other_when_the_grace_ends() {
    let Some(c) = Cluster::start_with(2, |c| c.mandatory_session_grace = std::time::Duration::from_secs(3)).await
    else {
        return;
    };
    let admin = c.acme().await;
    let maria = c.b().session("maria").await;
    let r = c.a().put("/api/v1/admin/two-step/profiles/technician", Some(&admin), json!({ "mandatory": true })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    c.clock.advance(2);
    assert_eq!(c.b().get("/api/v1/session", Some(&maria)).await.status, 200, "the grace holds on B");
    c.clock.advance(2);
    let s = c.b().get("/api/v1/session", Some(&maria)).await;
    assert_eq!((s.status, s.error_code()), (401, "session_revoked"));
    let s = c.a().get("/api/v1/session", Some(&maria)).await;
    assert_eq!((s.status, s.error_code()), (401, "session_revoked"));
    // And the next sign-in, on B, walks maria through enrollment.
    let r = c.b().login("maria").await;
    assert_eq!(r.body["status"], "two_step_enrollment_required", "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_reset_on_one_replica_takes_effect_on_the_other_at_the_next_request() {
    let Some(c) = Cluster::start().await else { return };
    let admin = c.acme().await;
    let maria = c.a().session("maria").await;
    c.enroll_totp(&maria, c.b(), c.a()).await;
    let flow = c.b().flow("maria").await;
    let verified = c.a().get("/api/v1/me/two-step", Some(&maria)).await;
    assert_eq!(verified.body["methods"].as_array().unwrap().len(), 1, "{}", verified.text);
    assert_eq!(c.a().delete("/api/v1/admin/users/maria/two-step", Some(&admin)).await.status, 204);
    // On B at once: the session is gone, the flow is gone, and sign-in asks for nothing.
    let s = c.b().get("/api/v1/session", Some(&maria)).await;
    assert_eq!((s.status, s.error_code()), (401, "session_invalid"));
    let r = c.b().verify(&flow, "totp", "123456").await;
    assert_eq!((r.status, r.error_code()), (401, "flow_expired"));
    let r = c.b().login("maria").await;
    assert_eq!(r.body["status"], "authenticated", "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_wrong_codes_split_over_both_replicas_lock_the_second_step_after_exactly_ten_looks() {
    let Some(c) = Cluster::start().await else { return };
    c.acme().await;
    let maria = c.a().session("maria").await;
    let (secret, _) = c.enroll_totp(&maria, c.a(), c.b()).await;
    let right = c.next_code(&secret);
    // Eight flows with five tries each: forty guesses at once, on both replicas.
    let mut flows = Vec::new();
    for i in 0..8 {
        flows.push(c.nth(i).flow("maria").await);
    }
    let mut requests = Vec::new();
    for (i, flow) in flows.iter().enumerate() {
        for j in 0..5 {
            let body = json!({ "method": "totp", "code": wrong(&right) });
            requests.push((i + j, "/api/v1/login/verify".to_owned(), flow.clone(), body));
        }
    }
    let c = Arc::new(c);
    let answers = all_at_once(&c, requests).await;
    let mut refused = 0;
    let mut locked = 0;
    for r in &answers {
        match (r.status, r.error_code()) {
            (401, "invalid_code") => refused += 1,
            (423, "two_step_locked") => locked += 1,
            (401, "flow_expired") => {}
            other => panic!("unexpected {other:?}: {}", r.text),
        }
    }
    assert_eq!(refused, 10, "wrong codes looked at: {refused} (locked answers: {locked})");
    assert_eq!(c.events("two_step.code_refused").await.len(), 10);
    assert_eq!(c.events("two_step.locked").await.len(), 1);
    // Locked on both replicas, also for a right password.
    for replica in &c.replicas {
        let r = replica.login("maria").await;
        assert_eq!((r.status, r.error_code()), (423, "two_step_locked"), "replica {}", replica.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_totp_code_sent_to_eight_flows_on_both_replicas_signs_in_exactly_once() {
    let Some(c) = Cluster::start().await else { return };
    c.acme().await;
    let maria = c.a().session("maria").await;
    let (secret, _) = c.enroll_totp(&maria, c.a(), c.b()).await;
    let mut flows = Vec::new();
    for i in 0..8 {
        flows.push(c.nth(i).flow("maria").await);
    }
    let code = c.next_code(&secret);
    let requests = flows
        .into_iter()
        .enumerate()
        .map(|(i, flow)| (i + 1, "/api/v1/login/verify".to_owned(), flow, json!({ "method": "totp", "code": code })))
        .collect();
    let c = Arc::new(c);
    let answers = all_at_once(&c, requests).await;
    let accepted = answers.iter().filter(|r| r.status == 200).count();
    for r in answers.iter().filter(|r| r.status != 200) {
        assert_eq!((r.status, r.error_code()), (401, "invalid_code"), "{}", r.text);
    }
    assert_eq!(accepted, 1, "a TOTP code was accepted {accepted} times");
    assert_eq!(c.events("two_step.replay_refused").await.len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recovery_code_sent_to_eight_flows_on_both_replicas_signs_in_exactly_once() {
    let Some(c) = Cluster::start().await else { return };
    c.acme().await;
    let maria = c.a().session("maria").await;
    let (_, codes) = c.enroll_totp(&maria, c.a(), c.b()).await;
    assert_eq!(codes.len(), 10);
    let mut flows = Vec::new();
    for i in 0..8 {
        flows.push(c.nth(i).flow("maria").await);
    }
    let requests = flows
        .into_iter()
        .enumerate()
        .map(|(i, flow)| {
            let body = json!({ "method": "recovery_code", "code": codes[0] });
            (i, "/api/v1/login/verify".to_owned(), flow, body)
        })
        .collect();
    let c = Arc::new(c);
    let answers = all_at_once(&c, requests).await;
    let accepted: Vec<_> = answers.iter().filter(|r| r.status == 200).collect();
    assert_eq!(accepted.len(), 1, "a recovery code was accepted {} times", accepted.len());
    assert_eq!(accepted[0].body["recovery_codes_remaining"], 9);
    for r in answers.iter().filter(|r| r.status != 200) {
        assert_eq!((r.status, r.error_code()), (401, "invalid_code"), "{}", r.text);
    }
    // The other codes still work, once each, wherever they land.
    let flow = c.b().flow("maria").await;
    assert_eq!(c.a().verify(&flow, "recovery_code", &codes[1]).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_hourly_text_message_limit_of_a_user_holds_across_replicas() {
    let Some(c) = Cluster::start().await else { return };
    c.at_top_of_hour();
    c.acme().await;
    let maria = c.a().session("maria").await;
    assert_eq!(c.a().post("/api/v1/me/two-step/sms", Some(&maria), json!({ "phone": PHONE })).await.status, 202);
    let code = c.a().last_sms_code(E164);
    let r = c.b().post("/api/v1/me/two-step/sms/confirm", Some(&maria), json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The enrollment's text was the first of five this hour; ten flows ask at once.
    let mut flows = Vec::new();
    for i in 0..10 {
        flows.push(c.nth(i).flow("maria").await);
    }
    let requests = flows
        .into_iter()
        .enumerate()
        .map(|(i, flow)| (i + 1, "/api/v1/login/sms".to_owned(), flow, json!({})))
        .collect();
    let c = Arc::new(c);
    let answers = all_at_once(&c, requests).await;
    let sent = answers.iter().filter(|r| r.status == 202).count();
    for r in answers.iter().filter(|r| r.status != 202) {
        assert_eq!((r.status, r.error_code()), (429, "sms_rate_limited"), "{}", r.text);
    }
    assert_eq!(sent, 4, "texts sent beyond the hourly limit");
    assert_eq!(c.texts(E164).len(), 5, "texts delivered by the replicas together");
    // One flow asking twice at once, on both replicas, gets one text.
    c.clock.advance(3600);
    let flow = c.a().flow("maria").await;
    let requests = (0..6).map(|i| (i, "/api/v1/login/sms".to_owned(), flow.clone(), json!({}))).collect();
    let answers = all_at_once(&c, requests).await;
    assert_eq!(answers.iter().filter(|r| r.status == 202).count(), 1);
    assert_eq!(c.texts(E164).len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_starting_together_on_an_empty_database_both_migrate_and_serve() {
    for _ in 0..3 {
        let Some(db) = twostep_store::testing::TestDb::new(twostep_store::testing::Backend::Postgres).await else {
            return;
        };
        let config = support::config_for(&db.url);
        // The same start-up path as `twostep serve`: connect, then migrate.
        let (a, b) =
            tokio::join!(twostep_server::startup::open_store(&config), twostep_server::startup::open_store(&config));
        let (a, b) = (a.expect("replica A failed to start"), b.expect("replica B failed to start"));
        let applied = db.applied_migrations().await;
        assert!(!applied.is_empty());
        let mut versions: Vec<i64> = applied.iter().map(|(v, _)| *v).collect();
        versions.dedup();
        assert_eq!(versions.len(), applied.len(), "a migration ran twice: {applied:?}");
        assert!(applied.iter().all(|(_, success)| *success), "{applied:?}");
        use twostep_core::store::prelude::*;
        a.ping().await.unwrap();
        b.create_org("acme", "Acme", twostep_core::domain::Language::English).await.unwrap();
        assert!(a.org_by_slug("acme").await.unwrap().is_some());
        a.close().await;
        b.close().await;
    }
}
