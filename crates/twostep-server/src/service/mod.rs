//! What Twostep does, over the core rules and the store: sign-in, the user's own methods,
//! administration. The JSON API and the web pages both call these — no rule is written
//! twice.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod codes;
pub mod me;
pub mod notify;
pub mod oauth;
pub mod purge;
pub mod refusal;
pub mod sms;
pub mod throttle;
pub mod users;
pub mod webauthn;

#[cfg(test)]
mod tests;

pub use refusal::{Refusal, ServiceResult};

use crate::state::AppState;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use twostep_core::store::{Account, Organization};

/// Who is calling, as far as the network can tell.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// RFC 3339 in UTC, as the JSON API and the e-mails write a time. The rules themselves
/// return times as [`twostep_core::Timestamp`] values; each face writes them its own way.
pub fn rfc3339(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts).ok().and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default()
}

pub fn parse_rfc3339(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &Rfc3339).ok().map(|t| t.unix_timestamp())
}

/// Runs a blocking CPU-bound job (argon2id) off the async runtime, one per core at once.
/// At most `server.password_queue` more wait their turn; beyond that the answer is
/// [`Refusal::Busy`] (SPEC §11.7: `unavailable` with when to try again), so a storm of
/// sign-ins cannot queue without bound.
///
/// The job holds its place and its permit until it has run to its end: a request that
/// goes away meanwhile (a client hanging up, `server.request_timeout`) cannot hand its
/// core and its 19 MiB to the next in line while its hash still runs. Before, requests
/// cut off together (a load balancer closing its connections) each let one more hash
/// start, and memory rose by 19 MiB for each. Before the job, the memory freed so far is
/// given back ([`crate::malloc::give_back`]), so the job's own adds to what is in use.
pub async fn blocking<T: Send + 'static>(
    state: &AppState,
    job: impl FnOnce() -> T + Send + 'static,
) -> ServiceResult<T> {
    let Ok(queued) = state.hash_queue.clone().try_acquire_owned() else {
        return Err(Refusal::Busy { retry_after: 1 });
    };
    let permit = state.hash_permits.clone().acquire_owned().await.map_err(|e| Refusal::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        crate::malloc::give_back();
        let value = job();
        drop((permit, queued));
        value
    })
    .await
    .map_err(|e| Refusal::Internal(e.to_string()))
}

/// An account with its organisation, loaded for a rule; [`Member::policy`] gives the
/// narrower `twostep_core::policy::Subject` the 2SV policy decides on.
pub struct Member {
    pub org: Organization,
    pub account: Account,
    pub has_method: bool,
}

impl Member {
    pub async fn load(state: &AppState, account_id: i64) -> ServiceResult<Self> {
        let account = state.store.account_by_id(account_id).await?;
        let org = state.store.org_by_id(account.org_id).await?;
        let has_method = !state.store.methods(account_id).await?.is_empty();
        Ok(Self { org, account, has_method })
    }

    pub fn policy(&self) -> twostep_core::policy::Subject {
        twostep_core::policy::Subject {
            org_enabled: self.org.two_step_in_force(),
            kind: self.account.kind,
            profile_mandatory: self.account.profile_mandatory(),
            has_method: self.has_method,
        }
    }

    pub fn mandatory(&self) -> bool {
        twostep_core::policy::mandatory(self.policy())
    }
}
