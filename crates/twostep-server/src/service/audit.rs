//! Audit events: every security decision, never a secret.

use crate::service::RequestMeta;
use crate::state::AppState;
use twostep_core::store::AuditEvent;

/// One event about to be written.
pub struct Event<'a> {
    pub org_id: Option<i64>,
    pub kind: &'a str,
    pub actor: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub client: Option<&'a str>,
    pub outcome: &'a str,
}

/// Writes the event. A failure to audit is logged, not turned into a failed request:
/// the decision it records has already been taken.
pub async fn record(state: &AppState, meta: &RequestMeta, e: Event<'_>) {
    tracing::info!(
        event = e.kind,
        outcome = e.outcome,
        actor = e.actor,
        subject = e.subject,
        client = e.client,
        "audit"
    );
    let event = AuditEvent {
        org_id: e.org_id,
        at: state.now(),
        kind: e.kind.to_owned(),
        actor: e.actor.map(str::to_owned),
        subject: e.subject.map(str::to_owned),
        client: e.client.map(str::to_owned),
        ip: meta.ip.clone(),
        outcome: e.outcome.to_owned(),
    };
    if let Err(err) = state.store.record_event(event).await {
        tracing::error!(error = %err, "could not write audit event");
    }
}
