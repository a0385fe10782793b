//! What every request handler shares.

use crate::config::Config;
use crate::metrics::Metrics;
use crate::sms_providers::{Outbox, SmsSender};
use crate::touches::Touches;
use std::ops::Deref;
use std::sync::Arc;
use tokio::sync::Semaphore;
use twostep_core::Clock;
use twostep_core::crypto::{Keyring, SecretKey};
use twostep_core::policy::ClientRegistry;
use twostep_core::store::Store;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Arc<dyn Store>,
    pub config: Config,
    pub clock: Arc<dyn Clock>,
    /// The primary secret key: it seals new secrets.
    pub key: SecretKey,
    /// The primary key and the previous ones: opens a secret with the key it names.
    pub keyring: Keyring,
    pub clients: ClientRegistry,
    pub metrics: Metrics,
    pub sms: Arc<dyn SmsSender>,
    /// Notifications by email (SPEC §12).
    pub mailer: Arc<dyn crate::email::Mailer>,
    /// Demo mode keeps sent text messages for `/dev/outbox`.
    pub outbox: Option<Outbox>,
    /// Argon2id needs 19 MiB and a core for tens of milliseconds: at most one hash per
    /// core runs at once, the rest queue, which bounds memory under a login storm. A
    /// running job holds its permit until it ends, even if its request went away.
    pub hash_permits: Arc<Semaphore>,
    /// Places for jobs running or waiting for `hash_permits`: cores + `server.password_queue`.
    pub hash_queue: Arc<Semaphore>,
    /// Its size, to tell how many places are taken.
    pub hash_queue_capacity: usize,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// `last_seen_at` moments waiting to be written (see [`Touches`]).
    pub touches: Touches,
    /// The WebAuthn relying party of `public_url` (SPEC §14); `None` when `public_url`
    /// names an IP address, which WebAuthn does not accept as a relying party id.
    pub webauthn: Option<webauthn_rs::Webauthn>,
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Inner {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}
