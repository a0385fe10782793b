//! Building the application: state from configuration, the router, the listener.

use crate::api;
use crate::api::error::ApiError;
use crate::config::Config;
use crate::edge::EdgeLayer;
use crate::metrics::Metrics;
use crate::service::Refusal;
use crate::sms_providers::Outbox;
use crate::state::{AppState, Inner};
use crate::touches::{self, Touches};
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
        ca_file: config.database.ca_file(),
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
    let sms = crate::sms_providers::provider(&config.sms, outbox.clone()).map_err(anyhow::Error::msg)?;
    let mailer = crate::email::provider(&config.email).map_err(anyhow::Error::msg)?;
    let mut overrides = Vec::new();
    for (name, client) in &config.clients {
        overrides.push((ClientName::parse(name)?, client.two_step));
    }
    let trusted_proxies = config
        .trusted_proxies
        .iter()
        .filter_map(|p| p.parse::<std::net::IpAddr>().ok())
        .map(|ip| ip.to_canonical())
        .collect();
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
        mailer,
        outbox,
        hash_permits: Arc::new(Semaphore::new(cores)),
        hash_queue: Arc::new(Semaphore::new(cores + config.server.password_queue)),
        hash_queue_capacity: cores + config.server.password_queue,
        trusted_proxies,
        touches: Touches::default(),
        webauthn: crate::service::webauthn::relying_party(&config.public_url, &config.issuer),
        config,
    }))
}

/// The API routes with their OpenAPI description: each handler's `#[utoipa::path]` names
/// its path, so the document and the router cannot disagree.
pub fn api_router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use crate::api::{admin, apps, login, me, ops, users};
    use utoipa::OpenApi;
    use utoipa_axum::router::OpenApiRouter;
    use utoipa_axum::routes;
    OpenApiRouter::with_openapi(api::doc::ApiDoc::openapi())
        .routes(routes!(login::login))
        .routes(routes!(login::send_sms))
        .routes(routes!(login::verify))
        .routes(routes!(login::webauthn))
        .routes(routes!(login::skip_enrollment))
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
        .routes(routes!(me::step_up_webauthn))
        .routes(routes!(me::start_webauthn))
        .routes(routes!(me::confirm_webauthn))
        .routes(routes!(me::delete_method))
        .routes(routes!(me::sessions))
        .routes(routes!(me::end_session))
        .routes(routes!(admin::two_step))
        .routes(routes!(admin::connect))
        .routes(routes!(admin::enable))
        .routes(routes!(admin::disable))
        .routes(routes!(admin::profile))
        .routes(routes!(admin::organization))
        .routes(routes!(admin::enrollment_period))
        .routes(routes!(admin::remember_device))
        .routes(routes!(me::devices))
        .routes(routes!(me::forget_device))
        .routes(routes!(admin::users))
        .routes(routes!(admin::reset))
        .routes(routes!(admin::audit))
        .routes(routes!(apps::list, apps::create))
        .routes(routes!(apps::delete))
        .routes(routes!(apps::secret))
        .routes(routes!(users::change_password))
        .routes(routes!(users::access_code))
        .routes(routes!(users::setup))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::update, users::delete))
        .routes(routes!(users::password_reset))
        .routes(routes!(users::access_code_issue))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .split_for_parts()
}

pub fn build_router(state: AppState) -> Router {
    let (api, openapi) = api_router();
    let docs: Router<AppState> = Router::new()
        .route(OPENAPI_PATH, axum::routing::get(openapi_document(&openapi)))
        .merge(utoipa_swagger_ui::SwaggerUi::new("/api/docs").config(utoipa_swagger_ui::Config::new([OPENAPI_PATH])));
    Router::new()
        .merge(api)
        .merge(docs.layer(middleware::from_fn(docs_headers)))
        .merge(crate::web::routes())
        .merge(crate::oidc::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(api::BODY_LIMIT))
        .layer(crate::edge::DurableLayer)
        .layer(EdgeLayer::new(state.metrics.clone(), state.config.public_url_is_https(), state.trusted_proxies.clone()))
        .with_state(state)
}

const OPENAPI_PATH: &str = "/api/openapi.json";

/// The handler of [`OPENAPI_PATH`] (Swagger UI at /api/docs reads it too): the document,
/// written as JSON once (70 KB). Swagger UI would otherwise keep the document's own tree
/// for the life of the process and write it out on each request; without it, the peak
/// of the sign-in load fell by about 2 MiB (bench/RESULTS.md, "Memory").
fn openapi_document(
    openapi: &utoipa::openapi::OpenApi,
) -> impl Fn() -> std::future::Ready<Response> + Clone + Send + Sync + 'static {
    let json = axum::body::Bytes::from(serde_json::to_vec(openapi).unwrap_or_default());
    move || {
        std::future::ready(
            ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], json.clone()).into_response(),
        )
    }
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
    Refusal::NotFound("page".into()).into()
}

async fn method_not_allowed() -> Response {
    let mut response = Refusal::InvalidRequest("this method is not allowed here".into()).into_response();
    *response.status_mut() = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    response
}

/// A bound, not yet serving, application.
pub struct App {
    listener: TcpListener,
    /// `metrics_listen`: the internal address that serves `/metrics` alone.
    metrics: Option<TcpListener>,
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
        let metrics_listen = state.config.metrics_listen.trim().to_owned();
        let metrics = if metrics_listen.is_empty() {
            None
        } else {
            Some(
                TcpListener::bind(&metrics_listen)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen on {metrics_listen} (metrics_listen): {e}"))?,
            )
        };
        Ok(Self { listener, metrics, router, state })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The bound address of `metrics_listen`, when it is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight and writes
    /// the `last_seen_at` moments still waiting. The purge task runs beside it.
    pub async fn serve(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let flusher = tokio::spawn(flush_touches(self.state.clone(), stopped.clone()));
        let purger = tokio::spawn(purge_every(self.state.clone(), stopped.clone()));
        if let Some(listener) = self.metrics {
            let state = self.state.clone();
            let internal: Router = Router::new()
                .route(
                    "/metrics",
                    axum::routing::get(|axum::extract::State(state): axum::extract::State<AppState>| async move {
                        crate::api::ops::render_metrics(&state)
                    }),
                )
                .with_state(state);
            let mut stopped = stopped;
            tokio::spawn(async move {
                let serving = axum::serve(listener, internal).with_graceful_shutdown(async move {
                    let _ = stopped.changed().await;
                });
                if let Err(e) = serving.await {
                    tracing::warn!(error = %e, "the metrics listener stopped");
                }
            });
        }
        let served = serve_connections(self.listener, self.router, &self.state.config.server, shutdown).await;
        let _ = stop.send(true);
        let _ = flusher.await;
        let _ = purger.await;
        served
    }
}

/// The accept loop (SPEC §11.7): at most `max_connections` connections at once (more
/// wait in the kernel's queue), headers within `header_read_timeout` (a client that
/// trickles them is cut off), each request answered within `request_timeout`. On
/// `shutdown` it stops accepting and waits for the requests in flight.
async fn serve_connections(
    listener: TcpListener,
    router: Router,
    limits: &crate::config::ServerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::extract::ConnectInfo;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt;

    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let request_timeout = limits.request_timeout;
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.map_err(std::io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, then accept again.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = tower::service_fn(move |mut request: axum::http::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(remote));
            let answer = router.clone().oneshot(request.map(axum::body::Body::new));
            async move {
                match tokio::time::timeout(request_timeout, answer).await {
                    Ok(response) => response,
                    Err(_) => Ok(Refusal::Busy { retry_after: 1 }.into_response()),
                }
            }
        });
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Deletes dead rows every `server.purge_interval` (SPEC §11.7), a batch per table at a
/// time until a pass finds less than a batch, so a backlog never holds a long lock.
async fn purge_every(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut every = tokio::time::interval(state.config.server.purge_interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.changed() => break,
        }
        if let Err(e) = crate::service::purge::run(&state).await {
            tracing::warn!(error = %e, "could not purge dead rows; will retry");
        }
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
