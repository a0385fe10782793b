//! The real application on port 0 with a fresh SQLite database, and a headless Chromium
//! driven through ChromeDriver (WebDriver) to click through its pages.
#![allow(dead_code)]

use crate::common::{self, Running};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use twostep_core::credential::totp;
use twostep_core::crypto::SecretKey;
use twostep_core::domain::{AddonState, Language};
use twostep_core::store::prelude::*;
use twostep_core::{Clock, ManualClock};
use twostep_server::config::Config;
use twostep_server::state::AppState;
use twostep_store::SqlStore;
use twostep_store::testing::{Backend, TestDb};

pub use crate::common::{PASSWORD, password_hash};

pub const CHROMEDRIVER_ENV: &str = "TWOSTEP_TEST_CHROMEDRIVER";
pub const ORG: &str = "acme";

/// Generous: a loaded two-core CI machine may take seconds to start Chromium or to hash a
/// password. Waits poll and return as soon as the page is there.
const WAIT: Duration = Duration::from_secs(60);

/// One browser at a time: each test starts its own Chromium, and two cores do not run
/// several well.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub struct TestApp {
    /// Stops the application when the test ends.
    _running: Running,
    pub base: String,
    pub store: Arc<SqlStore>,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
    _db: TestDb,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        let db = TestDb::new(Backend::Sqlite).await.unwrap();
        let mut config = Config { listen: "127.0.0.1:0".into(), database_url: db.url.clone(), ..Config::default() };
        configure(&mut config);
        let store = Arc::new(common::migrated_store(&config).await);
        let clock = common::test_clock();
        let running = common::serve(config, store.clone(), SecretKey::generate(), clock.clone()).await;
        Self { base: running.base(), store, clock, state: running.state.clone(), _db: db, _running: running }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Organisation `acme`: profiles Administrator (admin) and Technician, users `boss`
    /// (administrator), `ana` and `bruno` (technicians), contact `guest`; the 2SV add-on
    /// activated by the operator (available, not yet connected).
    pub async fn seed(&self) {
        let org = self.store.create_org(ORG, "Acme Maintenance", Language::English).await.unwrap();
        self.store.set_addon_state(org.id, AddonState::Available).await.unwrap();
        let admin = self.store.create_profile(org.id, "administrator", "Administrator", true).await.unwrap();
        let tech = self.store.create_profile(org.id, "technician", "Technician", false).await.unwrap();
        for (username, profile) in
            [("boss", Some(admin.id)), ("ana", Some(tech.id)), ("bruno", Some(tech.id)), ("guest", None)]
        {
            self.store.create_account(common::new_account(org.id, username, profile, self.clock.now())).await.unwrap();
        }
    }

    /// What the administrator of the first test does by clicking, done directly: 2SV on
    /// and mandatory for technicians.
    pub async fn technicians_mandatory(&self) {
        let org = self.store.org_by_slug(ORG).await.unwrap().unwrap();
        let tech = self.store.profile_by_slug(org.id, "technician").await.unwrap().unwrap();
        let now = self.clock.now();
        self.store.set_addon_state(org.id, AddonState::Connected).await.unwrap();
        self.store.set_two_step_enabled(org.id, true, now, now + 86_400).await.unwrap();
        self.store.set_mandatory(org.id, Some(tech.id), true, now, now + 86_400).await.unwrap();
    }

    /// The current TOTP code of a base32 secret, on the server's clock.
    pub fn code(&self, secret_base32: &str) -> String {
        totp::code_at(&decode(secret_base32), self.clock.now())
    }

    /// A fresh time step, so that the next code has not been used yet (replays are refused).
    pub fn next_step(&self) {
        self.clock.advance(totp::PERIOD);
    }

    /// Enrolls TOTP for `username` through the JSON API (for tests about later steps);
    /// returns the base32 secret.
    pub async fn enroll_totp_by_api(&self, username: &str) -> String {
        let http = reqwest::Client::new();
        let login = json!({ "organization": ORG, "username": username, "password": PASSWORD, "client": "web" });
        let r: Value = http.post(self.url("/api/v1/login")).json(&login).send().await.unwrap().json().await.unwrap();
        assert_eq!(r["status"], "two_step_enrollment_required", "{r}");
        let flow = r["flow"]["token"].as_str().unwrap().to_owned();
        let r: Value = http
            .post(self.url("/api/v1/me/two-step/totp"))
            .bearer_auth(&flow)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let secret = r["secret"].as_str().unwrap().to_owned();
        let confirm = json!({ "code": self.code(&secret) });
        let r = http.post(self.url("/api/v1/me/two-step/totp/confirm")).bearer_auth(&flow).json(&confirm).send();
        assert_eq!(r.await.unwrap().status(), 200);
        self.next_step();
        secret
    }

    /// The code of the newest text message to `e164`, from the demo outbox.
    pub fn last_sms_code(&self, e164: &str) -> Option<String> {
        let outbox = self.state.outbox.as_ref()?;
        outbox.messages().into_iter().find(|m| m.to == e164).map(|m| m.body[..6].to_owned())
    }
}

pub fn decode(secret_base32: &str) -> Vec<u8> {
    base32::decode(base32::Alphabet::Rfc4648 { padding: false }, secret_base32).unwrap()
}

/// A headless Chromium behind its own ChromeDriver, closed when the test ends.
pub struct Browser {
    pub client: Client,
    driver: tokio::process::Child,
    _profile: tempfile::TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
    test: &'static str,
    shots: u32,
}

/// `None` (and a note) when `TWOSTEP_TEST_CHROMEDRIVER` is not set: the test passes as
/// skipped, so `cargo test` works on a machine without a browser.
pub async fn browser(test: &'static str) -> Option<Browser> {
    let Ok(driver_path) = std::env::var(CHROMEDRIVER_ENV) else {
        eprintln!("skipped: browser tests (set {CHROMEDRIVER_ENV})");
        return None;
    };
    let turn = ONE_AT_A_TIME.lock().await;
    let port = StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let driver = tokio::process::Command::new(&driver_path)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        // Its own process group, which the Chromium it starts joins: see `Drop`.
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {driver_path}: {e}"));
    let profile = tempfile::tempdir().unwrap();
    let binary = std::env::var("TWOSTEP_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": binary,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--window-size=1200,900", "--lang=en-GB",
                format!("--user-data-dir={}", profile.path().display()),
            ],
            "prefs": { "intl.accept_languages": "en-GB,en" },
        }),
    );
    // ChromeDriver takes a moment to listen: retry the session until it answers.
    let started = std::time::Instant::now();
    let client = loop {
        let mut builder = ClientBuilder::rustls().unwrap();
        match builder.capabilities(caps.clone()).connect(&format!("http://127.0.0.1:{port}")).await {
            Ok(client) => break client,
            Err(e) if started.elapsed() < WAIT => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot start a browser session through {driver_path}: {e}"),
        }
    };
    Some(Browser { client, driver, _profile: profile, _turn: turn, test, shots: 0 })
}

fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots")
}

/// A test that failed halfway never reaches `close`: ending ChromeDriver's whole process
/// group ends the Chromium it started too, so no browser outlives its test.
impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(pid) = self.driver.id() {
            let _ = std::process::Command::new("kill").args(["-s", "KILL", "--", &format!("-{pid}")]).status();
        }
    }
}

impl Browser {
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// The element once it is on the page (the page after a click has loaded).
    pub async fn wait(&self, css: &str) -> Element {
        match self.client.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => {
                // What the browser showed instead, for whoever reads the failure.
                let dir = screenshot_dir();
                let _ = std::fs::create_dir_all(&dir);
                if let Ok(png) = self.client.screenshot().await {
                    let _ = std::fs::write(dir.join(format!("{}-failure.png", self.test)), png);
                }
                let page = self.client.source().await.unwrap_or_default();
                let _ = std::fs::write(dir.join(format!("{}-failure.html", self.test)), &page);
                let url = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
                panic!("{css} did not appear on {url}: {e}");
            }
        }
    }

    pub async fn click(&self, css: &str) {
        self.wait(css).await.click().await.unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    /// Replaces a field's value, like a person selecting it all and typing.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.wait(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait(css).await.text().await.unwrap()
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.wait(css).await.attr(name).await.unwrap()
    }

    pub async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.unwrap().len()
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    pub async fn script(&self, js: &str) -> Value {
        self.client.execute(js, Vec::new()).await.unwrap()
    }

    /// Saves `target/screenshots/<test>-<n>-<name>.png`.
    pub async fn screenshot(&mut self, name: &str) {
        self.shots += 1;
        let png = self.client.screenshot().await.unwrap();
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{}-{:02}-{name}.png", self.test, self.shots)), png).unwrap();
    }

    /// Signs in through `/login`.
    pub async fn sign_in(&self, app: &TestApp, username: &str) {
        self.goto(&app.url("/login")).await;
        self.fill("#organization", ORG).await;
        self.fill("#username", username).await;
        self.fill("#password", PASSWORD).await;
        self.click("#sign-in").await;
    }

    pub async fn sign_out(&self) {
        self.click("#sign-out").await;
        self.wait("#sign-in").await;
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill().await;
    }
}
