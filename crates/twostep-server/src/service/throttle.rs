//! Password-failure throttling (SPEC §4, §11.4), in the database so that it holds across
//! replicas. Three fixed-window counters, each taken before the password is hashed, so
//! parallel requests cannot exceed any of them:
//!
//! - per (account, client address): 10 failures per 15 minutes, then 429 for that address
//!   only — so guesses from one place cannot keep the owner out from another;
//! - per account, from all addresses: 100 (NIST SP 800-63B 5.2.2), then 429 for everyone;
//! - per client address: 100 failed password checks, whatever the account.
//!
//! A correct password gives back what it took and clears the account's counts. Unknown
//! usernames are counted exactly like existing ones, so the answers cannot tell them
//! apart.

use crate::service::audit::{self, Event};
use crate::service::{Refusal, RequestMeta, ServiceResult};
use crate::state::AppState;
use twostep_core::domain::Username;

/// Counting window.
pub const WINDOW: i64 = 15 * 60;
/// Failures per account from one address per window before 429 for that address.
pub const PER_ACCOUNT_AND_ADDRESS: i64 = 10;
/// Failures per account from all addresses per window before 429 for everyone.
pub const PER_ACCOUNT: i64 = 100;
/// Failed password checks per client address per window before 429.
pub const PER_ADDRESS: i64 = 100;

pub struct Keys {
    username: String,
    account: String,
    pair: Option<String>,
    address: Option<String>,
}

impl Keys {
    pub fn new(organization: &str, username: &str, meta: &RequestMeta) -> Self {
        // The username's lookup form (NFKC, case-folded), so every spelling of one
        // account shares its counters.
        let username: String = match Username::parse(username) {
            Ok(u) => u.key(),
            Err(_) => username.trim().to_lowercase(),
        }
        .chars()
        .take(128)
        .collect();
        let organization: String = organization.trim().to_lowercase().chars().take(64).collect();
        let account = format!("pw:user:{organization}:{username}");
        Self {
            pair: meta.ip.as_ref().map(|ip| format!("pw:pair:{ip}:{organization}:{username}")),
            address: meta.ip.as_ref().map(|ip| format!("pw:ip:{ip}")),
            account,
            username,
        }
    }

    /// The counters in the order they are taken, with their limits.
    fn limits(&self) -> impl Iterator<Item = (&str, i64)> {
        [
            self.address.as_deref().map(|k| (k, PER_ADDRESS)),
            self.pair.as_deref().map(|k| (k, PER_ACCOUNT_AND_ADDRESS)),
            Some((self.account.as_str(), PER_ACCOUNT)),
        ]
        .into_iter()
        .flatten()
    }
}

fn window(now: i64) -> i64 {
    now - now.rem_euclid(WINDOW)
}

/// One password check's share of every allowance, taken before the hash.
pub struct Reservation {
    window_start: i64,
}

/// Takes one attempt from each counter, atomically per counter. When one is full, those
/// already taken are given back (no password is checked), the refusal is audited and
/// the answer is [`Refusal::RateLimited`].
pub async fn before_password(
    state: &AppState,
    keys: &Keys,
    org_id: Option<i64>,
    client: &str,
    meta: &RequestMeta,
) -> ServiceResult<Reservation> {
    let now = state.now();
    let start = window(now);
    let mut taken = Vec::new();
    for (key, limit) in keys.limits() {
        if state.store.count_in_window(key, start, limit).await?.is_some() {
            taken.push(key);
            continue;
        }
        for key in taken {
            state.store.uncount_in_window(key, start).await?;
        }
        state.metrics.sign_in("rate_limited");
        // Audited once per full counter and window: a flood of refusals must not become a
        // flood of audit rows.
        if state.store.count_in_window(&format!("audit:{key}"), start, 1).await?.is_some() {
            let subject = Some(keys.username.as_str()).filter(|u| !u.is_empty());
            let event = Event {
                org_id,
                kind: "login.password",
                actor: None,
                subject,
                client: Some(client),
                outcome: "rate_limited",
            };
            audit::record(state, meta, event).await;
        }
        return Err(Refusal::RateLimited { retry_after: (start + WINDOW - now).max(1) });
    }
    Ok(Reservation { window_start: start })
}

/// A correct password: the address's check was not a failure, and the account's counts
/// start again.
pub async fn password_passed(state: &AppState, keys: &Keys, reservation: Reservation) -> ServiceResult<()> {
    if let Some(address) = &keys.address {
        state.store.uncount_in_window(address, reservation.window_start).await?;
    }
    if let Some(pair) = &keys.pair {
        state.store.clear_counter(pair).await?;
    }
    state.store.clear_counter(&keys.account).await?;
    Ok(())
}

/// Nothing was checked after all (the hashing queue was full): every count taken goes back.
pub async fn give_back(state: &AppState, keys: &Keys, reservation: Reservation) -> ServiceResult<()> {
    for (key, _) in keys.limits() {
        state.store.uncount_in_window(key, reservation.window_start).await?;
    }
    Ok(())
}
