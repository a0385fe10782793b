//! Spawning the real application on port 0 with a fresh database, and helpers to seed
//! it and talk to it like a client.
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

/// Runs one test body on SQLite and on PostgreSQL (skipped without
/// `TWOSTEP_TEST_POSTGRES_URL`).
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        twostep_store::on_both_databases!(sqlite, postgres;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            |backend| $crate::support::TestApp::spawn(backend).await; $($name),*);
    };
}

/// Like `both!`, with the configuration changed by `$configure` (a `fn(&mut Config)`).
#[macro_export]
macro_rules! both_with {
    ($configure:path; $($name:ident),* $(,)?) => {
        twostep_store::on_both_databases!(sqlite_configured, postgres_configured;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            |backend| $crate::support::TestApp::spawn_with(backend, $configure).await; $($name),*);
    };
}

#[allow(unused_imports)]
pub use crate::common::{PASSWORD, Response, password_hash};

pub struct TestApp {
    /// Stops the application when the test ends.
    _running: Running,
    pub base: String,
    /// `http://…` of `metrics_listen`, when the configuration sets it.
    pub metrics_base: Option<String>,
    pub http: reqwest::Client,
    pub store: Arc<SqlStore>,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
    pub db: TestDb,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<Self> {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Option<Self> {
        let db = TestDb::new(backend).await?;
        let mut config = Config {
            listen: "127.0.0.1:0".into(),
            database_url: db.url.clone(),
            public_url: "https://login.example.com".into(),
            ..Config::default()
        };
        configure(&mut config);
        let store = Arc::new(common::migrated_store(&config).await);
        let clock = common::test_clock();
        let running = common::serve(config, store.clone(), SecretKey::generate(), clock.clone()).await;
        Some(Self {
            base: running.base(),
            metrics_base: running.metrics_addr.map(|a| format!("http://{a}")),
            http: common::http_client(),
            store,
            clock,
            state: running.state.clone(),
            db,
            _running: running,
        })
    }

    /// The app on a port chosen beforehand, so that `public_url` — the OpenID Connect
    /// issuer — is its own address (`http://127.0.0.1:PORT`).
    pub async fn spawn_self_issued(backend: Backend) -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Self::spawn_with(backend, |c| {
            c.listen = format!("127.0.0.1:{port}");
            c.public_url = format!("http://127.0.0.1:{port}");
            // Sessions stay through the grace period in these tests unless revoked.
            c.session_idle_timeout = std::time::Duration::from_secs(7 * 24 * 3600);
            c.session_ttl = std::time::Duration::from_secs(7 * 24 * 3600);
        })
        .await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request; `body` is JSON when given.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Response {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        Response::read(res).await
    }

    /// A POST with extra headers (e.g. `X-Forwarded-For` as a trusted proxy sends it).
    pub async fn post_with_headers(&self, path: &str, headers: &[(&str, &str)], body: Value) -> Response {
        let mut req = self.http.post(self.url(path)).json(&body);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        Response::read(req.send().await.unwrap()).await
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

    pub async fn login(&self, org: &str, username: &str, password: &str, client: &str) -> Response {
        self.post(
            "/api/v1/login",
            None,
            json!({ "organization": org, "username": username, "password": password, "client": client }),
        )
        .await
    }

    /// Signs in with the default password from the web client and expects a session.
    pub async fn session(&self, org: &str, username: &str) -> String {
        let r = self.login(org, username, PASSWORD, "web").await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["status"], "authenticated", "{}", r.body);
        r.body["session"]["token"].as_str().unwrap().to_owned()
    }

    /// Signs in from the web client with a given password and expects a session.
    pub async fn session_with(&self, username: &str, password: &str) -> String {
        let r = self.login("acme", username, password, "web").await;
        assert_eq!(r.body["status"], "authenticated", "{}", r.body);
        r.body["session"]["token"].as_str().unwrap().to_owned()
    }

    // Seeding, straight into the store.

    pub async fn org(&self, slug: &str) -> i64 {
        self.store.create_org(slug, &format!("{slug} Inc."), Language::English).await.unwrap().id
    }

    pub async fn profile(&self, org: &str, slug: &str, admin: bool) -> i64 {
        let org = self.store.org_by_slug(org).await.unwrap().unwrap();
        self.store.create_profile(org.id, slug, slug, admin).await.unwrap().id
    }

    pub async fn account(&self, org: &str, username: &str, profile: Option<&str>) -> i64 {
        let org = self.store.org_by_slug(org).await.unwrap().unwrap();
        let profile_id = match profile {
            Some(p) => Some(self.store.profile_by_slug(org.id, p).await.unwrap().unwrap().id),
            None => None,
        };
        self.store.create_account(common::new_account(org.id, username, profile_id, self.clock.now())).await.unwrap()
    }

    /// Organisation `acme` with profiles `admin` (admin) and `technician`, users `boss`
    /// (admin) and `maria` (technician), contact `guest`; the add-on connected and 2SV
    /// enabled when `enabled`.
    pub async fn acme(&self, enabled: bool) -> String {
        self.org("acme").await;
        self.profile("acme", "admin", true).await;
        self.profile("acme", "technician", false).await;
        self.account("acme", "boss", Some("admin")).await;
        self.account("acme", "maria", Some("technician")).await;
        self.account("acme", "guest", None).await;
        let org = self.store.org_by_slug("acme").await.unwrap().unwrap();
        self.store.set_addon_state(org.id, AddonState::Available).await.unwrap();
        let admin = self.session("acme", "boss").await;
        if enabled {
            assert_eq!(self.post("/api/v1/admin/two-step/connect", Some(&admin), json!({})).await.status, 200);
            assert_eq!(self.post("/api/v1/admin/two-step/enable", Some(&admin), json!({})).await.status, 200);
        }
        admin
    }

    /// Enrolls TOTP for a session holder; returns the raw secret and the recovery codes.
    pub async fn enroll_totp(&self, token: &str) -> (Vec<u8>, Vec<String>) {
        let r = self.post("/api/v1/me/two-step/totp", Some(token), json!({})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let secret =
            base32::decode(base32::Alphabet::Rfc4648 { padding: false }, r.body["secret"].as_str().unwrap()).unwrap();
        let code = totp::code_at(&secret, self.clock.now());
        let r = self.post("/api/v1/me/two-step/totp/confirm", Some(token), json!({ "code": code })).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let codes = r.body["recovery_codes"]
            .as_array()
            .map(|a| a.iter().map(|c| c.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default();
        (secret, codes)
    }

    /// The current code of `secret`, after moving the clock to a fresh time step so it
    /// has not been used yet.
    pub fn next_code(&self, secret: &[u8]) -> String {
        self.clock.advance(totp::PERIOD);
        totp::code_at(secret, self.clock.now())
    }

    /// Current test time in seconds.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The code of the last text message sent to `e164` (demo outbox).
    pub fn last_sms_code(&self, e164: &str) -> String {
        let outbox = self.state.outbox.as_ref().unwrap();
        let m = outbox.messages().into_iter().find(|m| m.to == e164).expect("no text message sent");
        m.body[..6].to_owned()
    }

    pub async fn events(&self, org: &str) -> Vec<twostep_core::store::AuditRecord> {
        let org = self.store.org_by_slug(org).await.unwrap().unwrap();
        self.store.events(org.id, 100, None, None).await.unwrap()
    }
}

/// Where a page that moves on by itself (`<meta http-equiv="refresh" content="0; url=…">`)
/// sends the browser, unescaped.
pub fn meta_refresh(html: &str) -> Option<String> {
    let at = html.find("http-equiv=\"refresh\"")?;
    let content = html[at..].split("content=\"").nth(1)?.split('"').next()?;
    let url = content.split_once("url=")?.1;
    Some(
        url.replace("&#x2f;", "/")
            .replace("&#x27;", "'")
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}
