//! The one test support of the server's test binaries (`api`, `browser`, `replicas`,
//! `leaks`, `cli`), beside `twostep_store::on_both_databases!`: spawning the real application on
//! port 0, the seeded password, and reading an answer. Each binary includes this module
//! (`#[path]`), and its own `support.rs` keeps only what its tests talk about (a JSON
//! client, a browser, a cluster of replicas).
#![allow(dead_code)]

use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use twostep_core::credential::password;
use twostep_core::crypto::SecretKey;
use twostep_core::domain::{AccountKind, Password};
use twostep_core::store::{NewAccount, prelude::*};
use twostep_core::{Clock, ManualClock, SystemClock};
use twostep_server::config::Config;
use twostep_server::startup::{App, Parts};
use twostep_server::state::AppState;
use twostep_store::SqlStore;

pub const PASSWORD: &str = "correct horse battery";

/// One argon2id hash of [`PASSWORD`], computed once per test binary.
pub fn password_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| password::hash(&Password::new(PASSWORD)).unwrap()).clone()
}

/// An account with the password [`PASSWORD`]: a user when it has a profile, a contact
/// otherwise.
pub fn new_account(org_id: i64, username: &str, profile_id: Option<i64>, created_at: i64) -> NewAccount {
    NewAccount {
        org_id,
        username: username.into(),
        kind: if profile_id.is_some() { AccountKind::User } else { AccountKind::Contact },
        profile_id,
        password_hash: password_hash(),
        phone_sealed: None,
        phone_hint: None,
        key_id: None,
        created_at,
    }
}

/// A clock for one test, at the real time now; tests move it.
pub fn test_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(SystemClock.now()))
}

/// A pool to `config`'s database, migrated.
pub async fn migrated_store(config: &Config) -> SqlStore {
    let store = SqlStore::connect(&config.database_url, &twostep_server::startup::db_options(config)).await.unwrap();
    store.migrate().await.unwrap();
    store
}

/// The real application serving on its own task until dropped.
pub struct Running {
    pub addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Running {
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Binds the application as `twostep serve` does (demo outbox on) and starts serving.
pub async fn serve(config: Config, store: Arc<SqlStore>, key: SecretKey, clock: Arc<ManualClock>) -> Running {
    let parts = Parts { store: store as Arc<dyn Store>, key, clock: clock as Arc<dyn Clock>, demo: true };
    let app = App::bind(config, parts).await.unwrap();
    let addr = app.local_addr().unwrap();
    let metrics_addr = app.metrics_addr();
    let state = app.state.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.serve(async move {
        let _ = rx.await;
    }));
    Running { addr, metrics_addr, state, shutdown: Some(tx) }
}

/// An HTTP client that shows redirects instead of following them.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// An answer, read whole.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Response {
    pub async fn read(res: reqwest::Response) -> Self {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self { status, headers, body, text }
    }

    /// The error code, if this is an error in the API's shape.
    pub fn error_code_or_none(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }

    /// The error code, asserting the error shape.
    pub fn error_code(&self) -> &str {
        let error = &self.body["error"];
        assert!(error["message"].is_string(), "not the error shape: {}", self.text);
        error["code"].as_str().unwrap_or_else(|| panic!("not the error shape: {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}
