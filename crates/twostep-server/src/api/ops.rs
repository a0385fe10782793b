//! Operations: `/healthz`, `/readyz`, `/metrics`.

use crate::api::error::ApiError;
use crate::service::Refusal;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    summary = "Liveness",
    responses(
        (status = 200, description = "ok", body = String),
    )
)]
pub async fn healthz() -> &'static str {
    "ok"
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    summary = "Readiness: the database answers",
    responses(
        (status = 200, description = "ready", body = String),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = crate::api::doc::ErrorBody),
    )
)]
/// Ready when the database answers.
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    match tokio::time::timeout(std::time::Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => Ok("ready"),
        _ => Err(Refusal::Unavailable.into()),
    }
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    summary = "Prometheus metrics",
    responses(
        (status = 200, description = "OpenMetrics text", body = String),
    )
)]
pub async fn metrics(State(state): State<AppState>) -> axum::response::Response {
    // With `metrics_listen` set, the metrics live only on that (internal) address.
    if !state.config.metrics_listen.trim().is_empty() {
        return Refusal::NotFound("page".into()).into_response();
    }
    render_metrics(&state).into_response()
}

/// The metrics text, with the gauges of what is held now.
pub fn render_metrics(state: &AppState) -> impl IntoResponse + use<> {
    let (pool_open, pool_idle) = state.store.pool_stats();
    let hashing = state.hash_queue_capacity.saturating_sub(state.hash_queue.available_permits());
    let acquire_waits = state.store.pool_acquire_waits();
    state.metrics.observe(crate::metrics::Snapshot { pool_open, pool_idle, hashing, acquire_waits });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        state.metrics.render(),
    )
}
