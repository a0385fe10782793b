//! Housekeeping (SPEC §11.7): what traffic leaves behind is deleted once it is dead, in
//! batches, so the database does not grow with failed sign-ins, abandoned flows or old
//! sessions. Safe on several replicas at once (the store takes disjoint batches).

use crate::service::ServiceResult;
use crate::state::AppState;
use twostep_core::store::Purged;

/// Rows per table per statement: small enough that no batch holds a lock for long.
pub const BATCH: i64 = 1000;
/// Counter windows are at most an hour (SMS limits); one that began two hours ago is over.
const COUNTER_AGE: i64 = 2 * 3600;

/// Purges until a pass removes less than a batch from every table; returns the totals.
pub async fn run(state: &AppState) -> ServiceResult<Purged> {
    let mut total = Purged::default();
    loop {
        let now = state.now();
        let idle = state.config.session_idle_timeout.as_secs() as i64;
        let idle_before = if idle == 0 { i64::MIN } else { now - idle };
        let pass = state.store.purge(now, idle_before, now - COUNTER_AGE, BATCH).await?;
        total.flows += pass.flows;
        total.sms_challenges += pass.sms_challenges;
        total.pending_methods += pass.pending_methods;
        total.rate_counters += pass.rate_counters;
        total.sessions += pass.sessions;
        total.links_and_codes += pass.links_and_codes;
        total.requests_and_devices += pass.requests_and_devices;
        // Links and codes are two sweeps summed: a sum at the batch size may take one
        // pass more than needed, never one less.
        let full = [
            pass.flows,
            pass.sms_challenges,
            pass.pending_methods,
            pass.rate_counters,
            pass.sessions,
            pass.links_and_codes,
            pass.requests_and_devices,
        ]
        .into_iter()
        .any(|n| n >= BATCH as u64);
        if !full {
            break;
        }
        tokio::task::yield_now().await;
    }
    if total.total() > 0 {
        tracing::debug!(?total, "purged dead rows");
    }
    Ok(total)
}
