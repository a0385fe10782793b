//! The layer every response passes through on its way out: SPEC §10's headers and the
//! request metrics. A plain tower service (no boxed `Next` per request, as
//! `axum::middleware::from_fn` has), since the session check that every request of
//! every client makes goes through it.

use crate::metrics::Metrics;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::Response;
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;
use tower::{Layer, Service};

#[derive(Clone)]
pub struct EdgeLayer {
    metrics: Arc<Metrics>,
    hsts: bool,
}

impl EdgeLayer {
    /// `hsts`: send `Strict-Transport-Security` (when `public_url` is https, SPEC §11.9).
    pub fn new(metrics: Metrics, hsts: bool) -> Self {
        Self { metrics: Arc::new(metrics), hsts }
    }
}

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Edge<S> {
        Edge { inner, metrics: self.metrics.clone(), hsts: self.hsts }
    }
}

#[derive(Clone)]
pub struct Edge<S> {
    inner: S,
    metrics: Arc<Metrics>,
    hsts: bool,
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

    fn call(&mut self, request: Request) -> Self::Future {
        let route = request.extensions().get::<MatchedPath>().cloned();
        let method = request.method().clone();
        EdgeFuture {
            inner: self.inner.call(request),
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
        let mut response = ready!(this.inner.poll(cx))?;
        security_headers(response.headers_mut());
        if *this.hsts {
            // Two years, the preload lists' minimum; subdomains are left to their owners.
            response
                .headers_mut()
                .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000"));
        }
        let route = this.route.as_ref().map_or("unmatched", |r| r.as_str());
        this.metrics.request(route, this.method, response.status().as_u16(), this.started.elapsed().as_secs_f64());
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
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ];
    for (name, value) in HEADERS {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
}
