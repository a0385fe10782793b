//! Crash safety (issue 7): the server is killed with SIGKILL in the middle of concurrent
//! enrollments and sign-ins; after a restart every acknowledged enrollment and session is
//! there, and nothing half-written is visible. On SQLite (WAL, synchronous=FULL) and on
//! PostgreSQL. The binary is the one Cargo builds for the tests; durability depends on
//! the database settings, not on the optimisation level.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use twostep_core::credential::{password, totp};
use twostep_core::domain::{AccountKind, AddonState, Language, Password};
use twostep_core::store::{NewAccount, prelude::*};
use twostep_store::testing::{Backend, TestDb};
use twostep_store::{DbOptions, SqlStore};

const USERS: usize = 24;
const PASSWORD: &str = "crash test password";

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path, database_url: &str) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_twostep"))
        .arg("serve")
        .current_dir(dir)
        .env("TWOSTEP_DATABASE_URL", database_url)
        .env("TWOSTEP_SECRET_KEY_FILE", dir.join("twostep.key"))
        .env("TWOSTEP_LISTEN", "127.0.0.1:0")
        .env("TWOSTEP_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server { child, base: String::new() };
    let mut reader = BufReader::new(server.child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "server exited before listening");
        if let Some(rest) = line.strip_prefix("twostep listening on ") {
            server.base = rest.split_whitespace().next().unwrap().to_owned();
            return server;
        }
        assert!(Instant::now() < deadline);
    }
}

async fn post(http: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Option<(u16, Value)> {
    let mut req = http.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.ok()?;
    let status = res.status().as_u16();
    Some((status, res.json().await.ok()?))
}

/// What the server acknowledged before it died.
#[derive(Default)]
struct Acked {
    sessions: Vec<String>,
    /// (username, TOTP secret) of confirmed enrollments.
    enrollments: Vec<(String, Vec<u8>)>,
}

async fn seed(url: &str) {
    let store = SqlStore::connect(url, &DbOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    let org = store.create_org("acme", "Acme", Language::English).await.unwrap();
    store.set_addon_state(org.id, AddonState::Connected).await.unwrap();
    store.set_two_step_enabled(org.id, true, 0, 0).await.unwrap();
    let profile = store.create_profile(org.id, "technician", "Technician", false).await.unwrap();
    let hash = password::hash(&Password::new(PASSWORD)).unwrap();
    for i in 0..USERS {
        store
            .create_account(NewAccount {
                org_id: org.id,
                username: format!("user{i}"),
                kind: AccountKind::User,
                profile_id: Some(profile.id),
                password_hash: hash.clone(),
                phone_sealed: None,
                phone_hint: None,
                key_id: None,
                created_at: 0,
            })
            .await
            .unwrap();
    }
    store.close().await;
}

/// One user's journey: sign in, enroll TOTP, sign in again with a code — repeatedly.
async fn journey(http: reqwest::Client, base: String, user: String, acked: Arc<Mutex<Acked>>) {
    let login = json!({ "organization": "acme", "username": user, "password": PASSWORD, "client": "web" });
    let Some((200, r)) = post(&http, format!("{base}/api/v1/login"), None, login.clone()).await else { return };
    let Some(token) = r["session"]["token"].as_str().map(str::to_owned) else { return };
    acked.lock().await.sessions.push(token.clone());
    let Some((200, start)) = post(&http, format!("{base}/api/v1/me/two-step/totp"), Some(&token), json!({})).await
    else {
        return;
    };
    let secret =
        base32::decode(base32::Alphabet::Rfc4648 { padding: false }, start["secret"].as_str().unwrap_or("")).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let code = totp::code_at(&secret, now);
    let confirm =
        post(&http, format!("{base}/api/v1/me/two-step/totp/confirm"), Some(&token), json!({ "code": code })).await;
    if let Some((200, body)) = confirm {
        assert_eq!(body["recovery_codes"].as_array().map(Vec::len), Some(10));
        acked.lock().await.enrollments.push((user.clone(), secret.clone()));
    } else {
        return;
    }
    // Keep the server busy with second steps until it is killed.
    for _ in 0..50 {
        let Some((200, r)) = post(&http, format!("{base}/api/v1/login"), None, login.clone()).await else { return };
        let Some(flow) = r["flow"]["token"].as_str() else { return };
        let body = json!({ "method": "recovery_code", "code": "zzzzz-zzzzz" });
        if post(&http, format!("{base}/api/v1/login/verify"), Some(flow), body).await.is_none() {
            return;
        }
    }
}

async fn kill_mid_load_and_recover(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let dir = tempfile::tempdir().unwrap();
    seed(&db.url).await;
    let mut server = start(dir.path(), &db.url);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let acked = Arc::new(Mutex::new(Acked::default()));
    let tasks: Vec<_> = (0..USERS)
        .map(|i| tokio::spawn(journey(http.clone(), server.base.clone(), format!("user{i}"), acked.clone())))
        .collect();
    // Kill once some enrollments are acknowledged and others are in flight.
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked.lock().await.enrollments.len() < USERS / 3 {
        assert!(Instant::now() < deadline, "no progress before the kill");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    for t in tasks {
        let _ = t.await;
    }
    let acked = Arc::try_unwrap(acked).ok().unwrap().into_inner();
    assert!(!acked.enrollments.is_empty());

    // Nothing half-written: every method has its ten recovery codes, and no code exists
    // without a method.
    let store = SqlStore::connect(&db.url, &DbOptions::default()).await.unwrap();
    let org = store.org_by_slug("acme").await.unwrap().unwrap();
    for i in 0..USERS {
        let account = store.account_by_username(org.id, &format!("user{i}")).await.unwrap().unwrap();
        let methods = store.methods(account.id).await.unwrap();
        let codes = store.recovery_codes_remaining(account.id).await.unwrap();
        match methods.len() {
            0 => assert_eq!(codes, 0, "user{i}: recovery codes without a method"),
            1 => assert_eq!(codes, 10, "user{i}: a method with {codes} recovery codes"),
            n => panic!("user{i} has {n} methods"),
        }
    }
    store.close().await;

    // After a restart, every acknowledged session and enrollment is there.
    let server = start(dir.path(), &db.url);
    for token in &acked.sessions {
        let r = http.get(format!("{}/api/v1/session", server.base)).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "an acknowledged session was lost");
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    for (user, secret) in &acked.enrollments {
        let login = json!({ "organization": "acme", "username": user, "password": PASSWORD, "client": "web" });
        let (status, r) = post(&http, format!("{}/api/v1/login", server.base), None, login).await.unwrap();
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["status"], "two_step_required", "{user}: an acknowledged enrollment was lost");
        // The secret survived intact: a fresh code (a later step than any used) works.
        let code = totp::code_at(secret, now + totp::PERIOD);
        let body = json!({ "method": "totp", "code": code });
        let (status, v) =
            post(&http, format!("{}/api/v1/login/verify", server.base), r["flow"]["token"].as_str(), body)
                .await
                .unwrap();
        assert_eq!(status, 200, "{user}: {v}");
    }
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_keeps_every_acknowledged_write_across_a_sigkill() {
    kill_mid_load_and_recover(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_keeps_every_acknowledged_write_across_a_sigkill() {
    kill_mid_load_and_recover(Backend::Postgres).await;
}
