//! Prometheus metrics: requests by route and status, latency, sign-in outcomes, SMS.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;

type Labels = Vec<(&'static str, String)>;

fn latency_histogram() -> Histogram {
    // 1 ms … ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram, fn() -> Histogram>,
    sign_ins: Family<Labels, Counter>,
    second_steps: Family<Labels, Counter>,
    sms: Family<Labels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("twostep");
        let requests = Family::<Labels, Counter>::default();
        let latency = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let sign_ins = Family::<Labels, Counter>::default();
        let second_steps = Family::<Labels, Counter>::default();
        let sms = Family::<Labels, Counter>::default();
        registry.register("http_requests", "HTTP requests by route, method and status", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency by route", latency.clone());
        registry.register("sign_ins", "Sign-in outcomes", sign_ins.clone());
        registry.register("second_steps", "Second-step code checks", second_steps.clone());
        registry.register("sms", "Text messages sent, refused and failed", sms.clone());
        Self { registry: Arc::new(registry), requests, latency, sign_ins, second_steps, sms }
    }
}

impl Metrics {
    pub fn request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&vec![
                ("route", route.to_owned()),
                ("method", method.to_owned()),
                ("status", status.to_string()),
            ])
            .inc();
        self.latency.get_or_create(&vec![("route", route.to_owned())]).observe(seconds);
    }

    pub fn sign_in(&self, outcome: &str) {
        self.sign_ins.get_or_create(&vec![("outcome", outcome.to_owned())]).inc();
    }

    pub fn second_step(&self, outcome: &str) {
        self.second_steps.get_or_create(&vec![("outcome", outcome.to_owned())]).inc();
    }

    pub fn sms(&self, outcome: &str) {
        self.sms.get_or_create(&vec![("outcome", outcome.to_owned())]).inc();
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
