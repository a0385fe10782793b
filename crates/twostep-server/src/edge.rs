//! The layer every response passes through on its way out: SPEC §10's headers and the
//! request metrics. A plain tower service (no boxed `Next` per request, as
//! `axum::middleware::from_fn` has), since the session check that every request of
//! every client makes goes through it.

use crate::metrics::Metrics;
use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use pin_project_lite::pin_project;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;
use tower::{Layer, Service};

#[derive(Clone)]
pub struct EdgeLayer {
    metrics: Arc<Metrics>,
    hsts: bool,
    trusted_proxies: Arc<Vec<IpAddr>>,
}

impl EdgeLayer {
    /// `hsts`: send `Strict-Transport-Security` (when `public_url` is https, SPEC §11.9).
    /// `trusted_proxies`: whose `X-Request-Id` is kept (others get one of ours).
    pub fn new(metrics: Metrics, hsts: bool, trusted_proxies: Vec<IpAddr>) -> Self {
        Self { metrics: Arc::new(metrics), hsts, trusted_proxies: Arc::new(trusted_proxies) }
    }
}

/// The request's id: a trusted proxy's `X-Request-Id` when it is a sensible token,
/// otherwise a new random one.
fn request_id(request: &Request, trusted: &[IpAddr]) -> HeaderValue {
    let from_proxy = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|peer| trusted.contains(&peer.0.ip().to_canonical()));
    if from_proxy
        && let Some(id) = request.headers().get(REQUEST_ID)
        && (1..=64).contains(&id.len())
        && id.as_bytes().iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return id.clone();
    }
    let id = format!("{:032x}", rand::random::<u128>());
    HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("0"))
}

const REQUEST_ID: &str = "x-request-id";

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Edge<S> {
        Edge { inner, metrics: self.metrics.clone(), hsts: self.hsts, trusted_proxies: self.trusted_proxies.clone() }
    }
}

#[derive(Clone)]
pub struct Edge<S> {
    inner: S,
    metrics: Arc<Metrics>,
    hsts: bool,
    trusted_proxies: Arc<Vec<IpAddr>>,
}

impl<S> Service<Request> for Edge<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = EdgeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let route = request.extensions().get::<MatchedPath>().cloned();
        let method = request.method().clone();
        let id = request_id(&request, &self.trusted_proxies);
        request.headers_mut().insert(REQUEST_ID, id.clone());
        // Every log line of the request carries its id.
        let span = tracing::info_span!("request", id = id.to_str().unwrap_or_default());
        let inner = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        EdgeFuture {
            inner,
            span,
            id,
            route,
            method,
            started: Instant::now(),
            metrics: self.metrics.clone(),
            hsts: self.hsts,
        }
    }
}

pin_project! {
    pub struct EdgeFuture<F> {
        #[pin]
        inner: F,
        span: tracing::Span,
        id: HeaderValue,
        route: Option<MatchedPath>,
        method: Method,
        started: Instant,
        metrics: Arc<Metrics>,
        hsts: bool,
    }
}

impl<F, E> Future for EdgeFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = {
            let _entered = this.span.enter();
            ready!(this.inner.poll(cx))?
        };
        response.headers_mut().insert(REQUEST_ID, this.id.clone());
        security_headers(response.headers_mut());
        if *this.hsts {
            // Two years, the preload lists' minimum; subdomains are left to their owners.
            response
                .headers_mut()
                .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000"));
        }
        let route = this.route.as_ref().map_or("unmatched", |r| r.as_str());
        let elapsed = this.started.elapsed();
        this.metrics.request(route, this.method, response.status().as_u16(), elapsed.as_secs_f64());
        // The access log: the route template, never the path itself (it may hold a
        // setup token), and no header or body.
        tracing::info!(
            target: "twostep::access",
            method = %this.method,
            route,
            status = response.status().as_u16(),
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            request_id = this.id.to_str().unwrap_or_default(),
            "request"
        );
        Poll::Ready(Ok(response))
    }
}

/// SPEC §10: no caching of anything private, and strict page headers everywhere. A
/// route that set one of them itself (Swagger UI's page) keeps its own.
fn security_headers(headers: &mut HeaderMap) {
    const HEADERS: [(header::HeaderName, &str); 5] = [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ];
    for (name, value) in HEADERS {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
}

/// SQLite group commit: what a request wrote is on disk before its answer leaves, with one
/// shared WAL sync for all of its writes (and those of the requests answered beside it)
/// rather than one per write (`twostep_store::deferring_sync`; README, "Durability").
///
/// A plain tower layer rather than `axum::middleware::from_fn`, which clones the routes'
/// boxed services and boxes a `Next` for every request: the session check passes here too.
#[derive(Clone, Copy)]
pub struct DurableLayer;

impl<S> Layer<S> for DurableLayer {
    type Service = Durable<S>;

    fn layer(&self, inner: S) -> Durable<S> {
        Durable { inner }
    }
}

#[derive(Clone)]
pub struct Durable<S> {
    inner: S,
}

impl<S> Service<Request> for Durable<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let answer = self.inner.call(request);
        Box::pin(async move {
            let (response, pending) = twostep_store::deferring_sync(answer).await;
            let response = response?;
            Ok(match pending {
                None => response,
                Some(pending) => match pending.wait().await {
                    Ok(()) => response,
                    Err(e) => crate::api::error::ApiError::from(e).into_response(),
                },
            })
        })
    }
}
