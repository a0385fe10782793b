//! Several replicas of the real application on one fresh PostgreSQL database: each with
//! its own pool, all with the same secret key and one shared test clock, as a load
//! balancer would see them. Helpers to seed the database and to talk to a replica.
#![allow(dead_code)]

use crate::common::{self, Running};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use twostep_core::credential::totp;
use twostep_core::crypto::SecretKey;
use twostep_core::domain::{AddonState, Language};
use twostep_core::store::prelude::*;
use twostep_core::{Clock, ManualClock};
use twostep_server::config::Config;
use twostep_server::state::AppState;
use twostep_store::SqlStore;
use twostep_store::testing::{Backend, TestDb};

pub use crate::common::{PASSWORD, Response, password_hash};

/// One running replica: its own listener, pool and (demo) outbox.
pub struct Replica {
    /// Stops the replica when it is dropped.
    _running: Running,
    pub name: &'static str,
    pub base: String,
    pub http: reqwest::Client,
    pub store: Arc<SqlStore>,
    pub state: AppState,
}

impl Replica {
    /// Binds the real application on 127.0.0.1:0 with a pool of its own to `config`'s
    /// database (already migrated) and starts serving.
    pub async fn start(name: &'static str, config: Config, key: SecretKey, clock: Arc<ManualClock>) -> Self {
        let store =
            SqlStore::connect(&config.database_url, &twostep_server::startup::db_options(&config)).await.unwrap();
        Self::start_on(name, config, key, clock, Arc::new(store)).await
    }

    pub async fn start_on(
        name: &'static str,
        config: Config,
        key: SecretKey,
        clock: Arc<ManualClock>,
        store: Arc<SqlStore>,
    ) -> Self {
        let running = common::serve(config, store.clone(), key, clock).await;
        Self {
            name,
            base: running.base(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                // A generous bound: a request that hangs fails the test instead of stalling it.
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap(),
            store,
            state: running.state.clone(),
            _running: running,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Response {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("replica {}: {e}", self.name));
        Response::read(res).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.call(Method::DELETE, path, token, None).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.call(Method::PUT, path, token, Some(body)).await
    }

    /// A sign-in as a trusted proxy forwards it for client address `from`.
    pub async fn login_from(&self, from: &str, username: &str, password: &str) -> Response {
        let body = json!({ "organization": "acme", "username": username, "password": password, "client": "web" });
        let req = self.http.post(self.url("/api/v1/login")).header("x-forwarded-for", from).json(&body);
        Response::read(req.send().await.unwrap_or_else(|e| panic!("replica {}: {e}", self.name))).await
    }

    pub async fn login(&self, username: &str) -> Response {
        self.post(
            "/api/v1/login",
            None,
            json!({ "organization": "acme", "username": username, "password": PASSWORD, "client": "web" }),
        )
        .await
    }

    /// Signs in with the password and expects a session.
    pub async fn session(&self, username: &str) -> String {
        let r = self.login(username).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["status"], "authenticated", "{}", r.text);
        r.body["session"]["token"].as_str().unwrap().to_owned()
    }

    /// Signs in with the password and expects a second step: the flow token.
    pub async fn flow(&self, username: &str) -> String {
        let r = self.login(username).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["status"], "two_step_required", "{}", r.text);
        r.body["flow"]["token"].as_str().unwrap().to_owned()
    }

    pub async fn verify(&self, flow: &str, method: &str, code: &str) -> Response {
        self.post("/api/v1/login/verify", Some(flow), json!({ "method": method, "code": code })).await
    }

    /// Bodies of the text messages this replica sent to `e164`, newest first.
    pub fn texts(&self, e164: &str) -> Vec<String> {
        let outbox = self.state.outbox.as_ref().unwrap();
        outbox.messages().into_iter().filter(|m| m.to == e164).map(|m| m.body).collect()
    }

    /// The code of the last text message this replica sent to `e164`.
    pub fn last_sms_code(&self, e164: &str) -> String {
        let texts = self.texts(e164);
        let newest = texts.first().unwrap_or_else(|| panic!("replica {} sent no text message", self.name));
        newest[..6].to_owned()
    }
}

/// Two (or more) replicas of one deployment on one PostgreSQL database.
pub struct Cluster {
    pub replicas: Vec<Replica>,
    pub clock: Arc<ManualClock>,
    pub key: SecretKey,
    pub config: Config,
    pub db: TestDb,
}

impl Cluster {
    /// Two replicas, or `None` (with a note) without `TWOSTEP_TEST_POSTGRES_URL`.
    pub async fn start() -> Option<Self> {
        Self::start_with(2, |_| {}).await
    }

    pub async fn start_with(replicas: usize, configure: impl FnOnce(&mut Config)) -> Option<Self> {
        let db = TestDb::new(Backend::Postgres).await?;
        let mut config = config_for(&db.url);
        configure(&mut config);
        let first = common::migrated_store(&config).await;
        let clock = common::test_clock();
        let key = SecretKey::generate();
        let names = ["A", "B", "C", "D"];
        let mut started =
            vec![Replica::start_on(names[0], config.clone(), key.clone(), clock.clone(), Arc::new(first)).await];
        for name in names.iter().take(replicas).skip(1) {
            started.push(Replica::start(name, config.clone(), key.clone(), clock.clone()).await);
        }
        Some(Self { replicas: started, clock, key, config, db })
    }

    pub fn a(&self) -> &Replica {
        &self.replicas[0]
    }

    pub fn b(&self) -> &Replica {
        &self.replicas[1]
    }

    /// The replica for the `i`th request of a batch: round robin, as a load balancer.
    pub fn nth(&self, i: usize) -> &Replica {
        &self.replicas[i % self.replicas.len()]
    }

    pub fn store(&self) -> &SqlStore {
        &self.a().store
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Every text message sent to `e164` by any replica.
    pub fn texts(&self, e164: &str) -> Vec<String> {
        self.replicas.iter().flat_map(|r| r.texts(e164)).collect()
    }

    /// Moves the shared clock to just after the start of an hour, so hourly windows do not
    /// turn over in the middle of a test.
    pub fn at_top_of_hour(&self) {
        self.clock.advance(3600 - self.now().rem_euclid(3600) + 1);
    }

    /// The current code of `secret` at a fresh time step (the clock moves one step).
    pub fn next_code(&self, secret: &[u8]) -> String {
        self.clock.advance(totp::PERIOD);
        totp::code_at(secret, self.clock.now())
    }

    // Seeding, straight into the store.

    /// Organisation `acme` with profiles `admin` (admin) and `technician`, users `boss`
    /// (admin) and `maria` (technician); the add-on connected and 2SV enabled through
    /// replica A. Returns boss's session.
    pub async fn acme(&self) -> String {
        let store = self.store();
        let org = store.create_org("acme", "Acme Inc.", Language::English).await.unwrap();
        store.create_profile(org.id, "admin", "Admin", true).await.unwrap();
        store.create_profile(org.id, "technician", "Technician", false).await.unwrap();
        self.user("boss", "admin").await;
        self.user("maria", "technician").await;
        store.set_addon_state(org.id, AddonState::Available).await.unwrap();
        let admin = self.a().session("boss").await;
        assert_eq!(self.a().post("/api/v1/admin/two-step/connect", Some(&admin), json!({})).await.status, 200);
        assert_eq!(self.a().post("/api/v1/admin/two-step/enable", Some(&admin), json!({})).await.status, 200);
        admin
    }

    pub async fn user(&self, username: &str, profile: &str) -> i64 {
        let store = self.store();
        let org = store.org_by_slug("acme").await.unwrap().unwrap();
        let profile = store.profile_by_slug(org.id, profile).await.unwrap().unwrap();
        store.create_account(common::new_account(org.id, username, Some(profile.id), self.now())).await.unwrap()
    }

    pub async fn account_id(&self, username: &str) -> i64 {
        let org = self.store().org_by_slug("acme").await.unwrap().unwrap();
        self.store().account_by_username(org.id, username).await.unwrap().unwrap().id
    }

    /// Enrolls TOTP for a session holder, starting on `start` and confirming on
    /// `confirm`; returns the raw secret and the recovery codes.
    pub async fn enroll_totp(&self, token: &str, start: &Replica, confirm: &Replica) -> (Vec<u8>, Vec<String>) {
        let r = start.post("/api/v1/me/two-step/totp", Some(token), json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let secret =
            base32::decode(base32::Alphabet::Rfc4648 { padding: false }, r.body["secret"].as_str().unwrap()).unwrap();
        let code = totp::code_at(&secret, self.now());
        let r = confirm.post("/api/v1/me/two-step/totp/confirm", Some(token), json!({ "code": code })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let codes = r.body["recovery_codes"]
            .as_array()
            .map(|a| a.iter().map(|c| c.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default();
        (secret, codes)
    }

    /// Audit events of `kind` in `acme`.
    pub async fn events(&self, kind: &str) -> Vec<twostep_core::store::AuditRecord> {
        let org = self.store().org_by_slug("acme").await.unwrap().unwrap();
        let events = self.store().events(org.id, 100, None, None).await.unwrap();
        events.into_iter().filter(|e| e.event.kind == kind).collect()
    }
}

/// A replica's configuration for `database_url`.
pub fn config_for(database_url: &str) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        database_url: database_url.into(),
        public_url: "https://login.example.com".into(),
        ..Config::default()
    }
}
