//! Building the application: state from configuration, the router, the listener.

use crate::api;
use crate::config::Config;
use crate::edge::EdgeLayer;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::service::touches::{self, Touches};
use crate::sms::Outbox;
use crate::state::{AppState, Inner};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use twostep_core::crypto::SecretKey;
use twostep_core::domain::ClientName;
use twostep_core::policy::ClientRegistry;
use twostep_core::store::Store;
use twostep_core::{Clock, SystemClock};
use twostep_store::{DbOptions, SqlStore};

/// Everything needed to build the state, beyond the configuration.
pub struct Parts {
    pub store: Arc<dyn Store>,
    pub key: SecretKey,
    pub clock: Arc<dyn Clock>,
    pub demo: bool,
}

pub fn db_options(config: &Config) -> DbOptions {
    DbOptions {
        max_connections: config.database.max_connections,
        acquire_timeout: config.database.acquire_timeout,
        statement_timeout: config.database.statement_timeout,
    }
}

/// Connects to the database and runs the migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<SqlStore> {
    let store = SqlStore::connect(&config.database_url, &db_options(config)).await?;
    store.migrate().await?;
    Ok(store)
}

pub fn build_state(config: Config, parts: Parts) -> anyhow::Result<AppState> {
    let outbox = parts.demo.then(Outbox::default);
    let sms = crate::sms::provider(&config.sms, outbox.clone()).map_err(anyhow::Error::msg)?;
    let mut overrides = Vec::new();
    for (name, client) in &config.clients {
        overrides.push((ClientName::parse(name)?, client.two_step));
    }
    let trusted_proxies = config.trusted_proxies.iter().filter_map(|p| p.parse().ok()).collect();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let keyring = crate::key::keyring(parts.key.clone(), &config)?;
    Ok(AppState::new(Inner {
        store: parts.store,
        clock: parts.clock,
        key: parts.key,
        keyring,
        clients: ClientRegistry::with_overrides(overrides),
        metrics: Metrics::default(),
        sms,
        outbox,
        hash_permits: Semaphore::new(cores),
        trusted_proxies,
        touches: Touches::default(),
        config,
    }))
}

/// The API routes with their OpenAPI description: each handler's `#[utoipa::path]` names
/// its path, so the document and the router cannot disagree.
pub fn api_router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use crate::api::{admin, login, me, ops};
    use utoipa::OpenApi;
    use utoipa_axum::router::OpenApiRouter;
    use utoipa_axum::routes;
    OpenApiRouter::with_openapi(api::doc::ApiDoc::openapi())
        .routes(routes!(login::login))
        .routes(routes!(login::send_sms))
        .routes(routes!(login::verify))
        .routes(routes!(login::logout))
        .routes(routes!(login::session))
        .routes(routes!(me::overview))
        .routes(routes!(me::start_totp, me::delete_totp))
        .routes(routes!(me::confirm_totp))
        .routes(routes!(me::start_sms, me::delete_sms))
        .routes(routes!(me::confirm_sms))
        .routes(routes!(me::recovery_codes))
        .routes(routes!(me::step_up))
        .routes(routes!(me::step_up_sms))
        .routes(routes!(me::sessions))
        .routes(routes!(me::end_session))
        .routes(routes!(admin::two_step))
        .routes(routes!(admin::connect))
        .routes(routes!(admin::enable))
        .routes(routes!(admin::disable))
        .routes(routes!(admin::profile))
        .routes(routes!(admin::organization))
        .routes(routes!(admin::users))
        .routes(routes!(admin::reset))
        .routes(routes!(admin::audit))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .split_for_parts()
}

pub fn build_router(state: AppState) -> Router {
    let (api, openapi) = api_router();
    // Swagger UI serves the document at /api/openapi.json and the page at /api/docs.
    let docs: Router<AppState> =
        utoipa_swagger_ui::SwaggerUi::new("/api/docs").url("/api/openapi.json", openapi).into();
    Router::new()
        .merge(api)
        .merge(docs.layer(middleware::from_fn(docs_headers)))
        .merge(crate::web::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(api::BODY_LIMIT))
        .layer(EdgeLayer::new(state.metrics.clone()))
        .with_state(state)
}

/// Swagger UI (served from the binary) needs inline styles and its own scripts; nothing
/// is loaded from elsewhere.
async fn docs_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
             connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}

async fn not_found() -> ApiError {
    ApiError::NotFound("page".into())
}

async fn method_not_allowed() -> Response {
    let mut response = ApiError::InvalidRequest("this method is not allowed here".into()).into_response();
    *response.status_mut() = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    response
}

/// A bound, not yet serving, application.
pub struct App {
    listener: TcpListener,
    router: Router,
    pub state: AppState,
}

impl App {
    pub async fn bind(config: Config, parts: Parts) -> anyhow::Result<Self> {
        let listen = config.listen.clone();
        let state = build_state(config, parts)?;
        let listener =
            TcpListener::bind(&listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        let router = build_router(state.clone());
        Ok(Self { listener, router, state })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight and writes
    /// the `last_seen_at` moments still waiting.
    pub async fn serve(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let flusher = tokio::spawn(flush_touches(self.state.clone(), stopped));
        let served = axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await;
        let _ = stop.send(true);
        let _ = flusher.await;
        served
    }
}

/// Writes the noted `last_seen_at` moments every [`touches::FLUSH_EVERY`], and once more
/// when told to stop. A flush that fails keeps its moments for the next one.
async fn flush_touches(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut every = tokio::time::interval(touches::FLUSH_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.changed() => break,
        }
        if let Err(e) = state.touches.flush(state.store.as_ref()).await {
            tracing::warn!(error = %e, "could not write sessions' last use; will retry");
        }
    }
    if let Err(e) = state.touches.flush(state.store.as_ref()).await {
        tracing::warn!(error = %e, "could not write sessions' last use before stopping");
    }
}

pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}
