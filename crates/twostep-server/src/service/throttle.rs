//! Password-failure throttling per username and per client address (SPEC §4), in the
//! database so that it holds across replicas. Unknown usernames are counted exactly
//! like existing ones, so the answers cannot tell them apart.

use crate::error::{ApiError, ApiResult};
use crate::service::RequestMeta;
use crate::state::AppState;

/// Counting window.
pub const WINDOW: i64 = 15 * 60;
/// Failures per username (in an organisation) per window before 429.
pub const PER_USERNAME: i64 = 10;
/// Failures per client address per window before 429.
pub const PER_ADDRESS: i64 = 100;

pub struct Keys {
    username: String,
    address: Option<String>,
}

impl Keys {
    pub fn new(organization: &str, username: &str, meta: &RequestMeta) -> Self {
        let username: String = username.trim().to_lowercase().chars().take(128).collect();
        let organization: String = organization.trim().chars().take(64).collect();
        Self {
            username: format!("pw:user:{organization}:{username}"),
            address: meta.ip.as_ref().map(|ip| format!("pw:ip:{ip}")),
        }
    }
}

fn window(now: i64) -> i64 {
    now - now.rem_euclid(WINDOW)
}

/// Takes one attempt from the username's allowance (atomically, so parallel guesses
/// cannot exceed it) and checks the address's failures.
pub async fn before_password(state: &AppState, keys: &Keys) -> ApiResult<()> {
    let now = state.now();
    let start = window(now);
    let retry_after = start + WINDOW - now;
    if let Some(address) = &keys.address
        && state.store.window_count(address, start).await? >= PER_ADDRESS
    {
        state.metrics.sign_in("rate_limited");
        return Err(ApiError::RateLimited { retry_after });
    }
    if state.store.count_in_window(&keys.username, start, PER_USERNAME).await?.is_none() {
        state.metrics.sign_in("rate_limited");
        return Err(ApiError::RateLimited { retry_after });
    }
    Ok(())
}

pub async fn password_failed(state: &AppState, keys: &Keys) -> ApiResult<()> {
    if let Some(address) = &keys.address {
        state.store.count_in_window(address, window(state.now()), i64::MAX).await?;
    }
    Ok(())
}

/// A correct password: the username's count starts again.
pub async fn password_passed(state: &AppState, keys: &Keys) -> ApiResult<()> {
    state.store.clear_counter(&keys.username).await?;
    Ok(())
}
